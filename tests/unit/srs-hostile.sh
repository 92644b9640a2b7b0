#!/bin/bash
# srs-hostile.sh: srs-rewrite serve, as a socketmap on a unix socket and as a tcp_table on
# loopback, takes random bytes and broken frames over 1,000 connections (tests/unit/
# srs-hostile.c) while a well-formed client keeps checking its answers; then the server must
# still answer and stop cleanly (exit 0: under make check-valgrind, no valgrind error).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
prog="$top_builddir/src/srs-rewrite"
client="$top_builddir/tests/unit/srs-hostile"
work=$(mktemp -d "${TMPDIR:-/tmp}/srs-hostile.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
export BACKSTOP_NOW=1577836860
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

mkdir -m 700 "$work/keys"
printf '# backstop key\nactivate 1500000000\nsecret WYjBg2FtRPw/SeIn1OFTe2oVutXu8sf3tHtthqLDLM0=\n' \
	> "$work/keys/0.key"
chmod 600 "$work/keys/0.key"

# serve NAME MAPSOCKET [--tcp-table]: start the server and wait until it answers
serve() {
	local name=$1 spec=$2
	shift 2
	cat > "$work/$name.conf" <<CONF
MapSocket $spec
KeyDirectory $work/keys
Domains example.com
SRSDomain fwd.example.com
Syslog no
LogLevel info
CONF
	"$prog" -c "$work/$name.conf" serve -f "$@" 2> "$work/$name.log" &
	pid=$!
}

# relay the client's TAP lines into ours
relay() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok * - }" ;;
		"not ok "*) not_ok "${line#not ok * - }" ;;
		"1.."*) ;;
		*) echo "# $line" ;;
		esac
	done < "$1"
}

# stop NAME: SIGTERM, exit status 0, nothing alarming in the log
stop() {
	local rc name=$1
	check "$1: server still running after the attack" 'kill -0 "$pid"'
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
	check "$1: SIGTERM, exit 0 (valgrind, when wrapped, found nothing)" '[ "$rc" -eq 0 ]'
	check "$1: no crash or sanitizer report in the log" \
		'! grep -qE "Sanitizer|runtime error|Segmentation|assert" "$work/$name.log"'
	[ "$rc" -eq 0 ] || sed 's/^/#   /' "$work/$name.log" | tail -20
}

serve sm "unix:$work/srs.sock:0600"
for _ in $(seq 300); do [ -S "$work/srs.sock" ] && break; sleep 0.05; done
"$client" socketmap "unix:$work/srs.sock" 11 > "$work/sm.tap" 2>&1
rc=$?
relay "$work/sm.tap"
check "socketmap: the client ran to the end (exit $rc)" '[ "$rc" -eq 0 ]'
stop sm

port=$((20000 + ($$ % 5000) * 2))
for attempt in 1 2 3 4 5; do
	serve tcp "inet:127.0.0.1:$port" --tcp-table
	up=no
	for _ in $(seq 300); do
		grep -q "listening" "$work/tcp.log" 2>/dev/null && { up=yes; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ "$up" = yes ] && break
	wait "$pid" 2>/dev/null
	pid=
	port=$((port + 2))
done
check "tcp_table server up on 127.0.0.1:$port" '[ "$up" = yes ]'
"$client" tcp "$port" 13 > "$work/tcp.tap" 2>&1
rc=$?
relay "$work/tcp.tap"
check "tcp_table: the client ran to the end (exit $rc)" '[ "$rc" -eq 0 ]'
stop tcp

# Slow clients: uid 65534 holds every connection it may with requests that grow by a byte at
# a time, past the idle timeout; root's lookups (the MTA's, in a real site) must be answered.
chmod 711 "$work"
serve loris "unix:$work/loris.sock:0666" --max-connections 8 --idle-timeout 2 \
	--request-timeout 1
for _ in $(seq 300); do [ -S "$work/loris.sock" ] && break; sleep 0.05; done
"$client" slowloris "unix:$work/loris.sock" > "$work/loris.tap" 2>&1
relay "$work/loris.tap"
stop loris

# Clients that send and never read: each is dropped once its replies back up, so the server's
# peak memory grows by far less than the 256 kB each it once cost (not checked when
# valgrind runs the server: its memory is valgrind's).
serve nr "unix:$work/nr.sock" --max-connections 400
for _ in $(seq 300); do [ -S "$work/nr.sock" ] && break; sleep 0.05; done
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status"; }
before=$(hwm)
mkfifo "$work/go"
"$client" noread "unix:$work/nr.sock" 100 < "$work/go" > "$work/nr.tap" 2>&1 &
cpid=$!
exec 9> "$work/go"
for _ in $(seq 600); do grep -q "clients sent" "$work/nr.tap" && break; sleep 0.05; done
after=$(hwm)
echo >&9
exec 9>&-
wait "$cpid"
relay "$work/nr.tap"
echo "# server peak memory: ${before} kB before 100 clients that never read, ${after} kB with them"
case $(readlink "/proc/$pid/exe") in
*/srs-rewrite) check "noread: 100 of them cost the server under 12 MB" \
	'[ $((after - before)) -lt 12288 ]' ;;
esac
stop nr

echo "1..$n"
[ "$failed" -eq 0 ]
