#!/bin/bash
# hostile.sh: backstop-milter against a hostile MTA (tests/milter/hostile.c: truncated and
# oversized packets, steps out of order, odd macros, random bytes) while miltertest sessions
# run beside it; both must keep getting the right answers, and the milter must stop cleanly
# (exit 0: under make check-valgrind that also means no valgrind error). Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
here="$top_srcdir/tests/milter"
bin="$top_builddir/src"
hostile="$top_builddir/tests/milter/hostile"
export BACKSTOP_NOW=1764183600
work=$(mktemp -d /tmp/backstop-hostile.XXXXXX)
milter_pid=
n=0
failed=0

cleanup() {
	[ -n "$milter_pid" ] && kill "$milter_pid" 2>/dev/null && wait "$milter_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

cat > "$work/m.conf" <<CONF
Socket unix:$work/m.sock
KeyDirectory $work/keys
ReplayDatabase $work/db
Domains example.com
SRSDomain fwd.example.com
InternalHosts 127.0.0.0/8
OutboundDaemonName ORIGINATING
TaggingSince 2020-01-01
UntaggedBounceDecision rcpt
MaxBouncesPerTag 0
Syslog no
Background no
LogLevel info
CONF
mkdir -p "$work/db"
BACKSTOP_NOW=$((BACKSTOP_NOW - 30 * 86400)) "$bin/backstop-keys" -c "$work/m.conf" init \
	> "$work/init.out" 2>&1 || { echo "Bail out! backstop-keys init: $(cat "$work/init.out")"; exit 1; }
valid=$("$bin/backstop-keys" -c "$work/m.conf" sign alice@example.com)

"$bin/backstop-milter" -f -c "$work/m.conf" 2> "$work/m.log" &
milter_pid=$!
for _ in $(seq 400); do [ -S "$work/m.sock" ] && break; sleep 0.05; done
[ -S "$work/m.sock" ] || { echo "Bail out! milter did not start"; cat "$work/m.log"; exit 1; }

mt() {
	miltertest -s "$here/$1" -D sock="unix:$work/m.sock" -D srcdir="$here" \
	    -D valid="$valid" > "$work/$1.$2.out" 2>&1
}

# Well-formed sessions, one after another, for as long as the hostile client runs.
good_loop() {
	local i=0 bad=0
	while [ ! -e "$work/hostile.done" ]; do
		i=$((i + 1))
		mt bounce-untagged.lua "$i" || { bad=$((bad + 1)); cp "$work/bounce-untagged.lua.$i.out" "$work/bad.$i"; }
		mt bounce-valid.lua "$i" || { bad=$((bad + 1)); cp "$work/bounce-valid.lua.$i.out" "$work/bad.v$i"; }
		rm -f "$work"/*.lua."$i".out
	done
	echo "$i $bad" > "$work/good.result"
}
good_loop &
good_pid=$!

"$hostile" "$work/m.sock" 7 2 > "$work/hostile.tap" 2>&1
hostile_rc=$?
touch "$work/hostile.done"
wait "$good_pid"
while IFS= read -r line; do
	case $line in
	"ok "*) ok "hostile: ${line#ok * - }" ;;
	"not ok "*) not_ok "hostile: ${line#not ok * - }" ;;
	"1.."*) ;;
	*) echo "# $line" ;;
	esac
done < "$work/hostile.tap"
check "hostile client ran to the end (exit $hostile_rc)" '[ "$hostile_rc" -eq 0 ]'
read -r rounds bad < "$work/good.result"
check "miltertest sessions during the attack: $rounds rounds, $bad failed" '[ "$rounds" -ge 1 ] && [ "$bad" -eq 0 ]'
for f in "$work"/bad.*; do [ -e "$f" ] && sed 's/^/#   /' "$f" | head -20; done
check "a miltertest session after the attack" 'mt bounce-untagged.lua after && mt bounce-valid.lua after'
check "the milter is still running" 'kill -0 "$milter_pid"'
check "hostile sessions were decided and logged" 'grep -q "QHOSTILE[0-9]*: to=<alice@example.com> .*verdict=untagged action=reject" "$work/m.log"'
kill -TERM "$milter_pid"
wait "$milter_pid"
rc=$?
milter_pid=
check "SIGTERM: the milter exits 0 (valgrind, when wrapped, found nothing)" '[ "$rc" -eq 0 ]'
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$work/m.log" | tail -30
check "no crash or sanitizer report in the log" '! grep -qE "Sanitizer|runtime error|assert|Segmentation" "$work/m.log"'
echo "1..$n"
[ "$failed" -eq 0 ]
