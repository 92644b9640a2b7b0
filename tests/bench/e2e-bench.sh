#!/bin/bash
# e2e-bench.sh: Postfix end to end. smtp-source into the private Postfix of the e2e harness
# (tests/e2e/lib.sh) without milters, with the null milter (the floor of any libmilter
# filter), with backstop-milter on a unix socket, and with it on a loopback TCP socket,
# alternating in the same run. Deliveries are discarded so that intake
# (smtpd, milter, cleanup) is what is timed. Two kinds of traffic: outbound mail (signed)
# and bounces to a valid tag (checked, counted, stripped). Prints key=value lines for
# run-all.sh. Needs root and Postfix.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export BACKSTOP_NOW=${BACKSTOP_NOW:-1764183600}
rounds=${E2E_ROUNDS:-3}
msgs=${E2E_MESSAGES:-1000}
inet_msgs=${E2E_INET_MESSAGES:-$msgs}	# as many: shorter runs weigh the ramp-up and tail more
sessions=${E2E_SESSIONS:-32}
. "$top_srcdir/tests/e2e/lib.sh"
bs_init "$(mktemp -d /tmp/backstop-e2e-bench.XXXXXX)"
trap 'bs_cleanup > /dev/null' EXIT
chown postfix "$BS_W/data" 2>/dev/null	# Postfix keeps its lock files there
chmod 755 "$BS_W/run"

die() { echo "e2e-bench: $*" >&2; exit 1; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2)
	print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# write_conf FILE SOCKET DB: our own backstop.conf (the harness's logs at debug level);
# 127.0.0.1 is not internal here, what is outbound is decided by the daemon name.
write_conf() {
	mkdir -p "$3"
	cat > "$1" <<CONF
Socket $2
KeyDirectory $BS_W/keys
ReplayDatabase $3
Durability write
Domains example.com
SRSDomain fwd.example.com
InternalHosts 192.0.2.0/24
OutboundDaemonName ORIGINATING
MaxBouncesPerTag 0
TaggingSince 2020-01-01
Syslog no
Background no
LogLevel info
CONF
}

# start_milter CONF SOCKET N: backstop-milter, writable by smtpd's user; N-th one started
start_milter() {
	touch "$BS_W/milter.log"
	(umask 0; exec "$BS_BIN/backstop-milter" -f -c "$1" 2>> "$BS_W/milter.log") &
	BS_PIDS+=($!)
	bs_poll "[ \$(grep -c ' starting on ' '$BS_W/milter.log') -ge $3 ]"
}

write_conf "$BS_CONF" "unix:$BS_W/run/milter.sock" "$BS_W/replay"
write_conf "$BS_W/inet.conf" "inet:$MILTER_PORT@127.0.0.1" "$BS_W/replay-inet"
bs_keys_init || die "backstop-keys init: $(cat "$BS_W/keys-init.out")"
start_milter "$BS_CONF" "unix:$BS_W/run/milter.sock" 1 || die "backstop-milter did not start"
pid_unix=${BS_PIDS[-1]}
start_milter "$BS_W/inet.conf" "inet:$MILTER_PORT@127.0.0.1" 2 ||
	die "backstop-milter (inet) did not start"
(umask 0; exec "$top_builddir/tests/bench/null-milter" -s "unix:$BS_W/run/null.sock") &
BS_PIDS+=($!)
pid_null=$!
bs_poll "[ -S '$BS_W/run/null.sock' ]" || die "null-milter did not start"
pf_init || die "Postfix configuration failed"
pf_conf "default_transport = discard" "relay_transport = discard" \
    "virtual_transport = discard" \
    "virtual_alias_maps = texthash:$PF_DIR/virtual, regexp:$BS_CONTRIB/postfix/backstop-prvs.regexp" \
    "milter_default_action = tempfail" "smtpd_milters =" \
    "default_process_limit = 100" || die "Postfix configuration failed"
pf_start || die "Postfix did not start: $(cat "$BS_W/postfix.out" 2>/dev/null)"
tag=$(bs_sign alice@example.com) || die "backstop-keys sign failed"

# cpu_ticks PID: user + system CPU of a process so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# setup MODE KIND: smtpd_milters for the mode, and whether smtpd says ORIGINATING (outbound)
setup() {
	local daemon='$myhostname' milters=
	[ "$2" = outbound ] && daemon=ORIGINATING
	case $1 in
	unix) milters="unix:$BS_W/run/milter.sock" ;;
	null) milters="unix:$BS_W/run/null.sock" ;;
	inet) milters="inet:127.0.0.1:$MILTER_PORT" ;;
	esac
	pf_conf "smtpd_milters = $milters" "milter_macro_daemon_name = $daemon" && pf_reload
}

# source_run KIND N: time smtp-source sending N messages; prints messages per second
source_run() {
	local from=alice@example.com to=carol@outside.example t0 t1 out
	[ "$1" = bounce ] && { from=''; to=$tag; }
	t0=$(date +%s.%N)
	out=$(smtp-source -s "$sessions" -m "$2" -l 4096 -f "$from" -t "$to" \
	    "127.0.0.1:$PF_PORT" 2>&1) || { echo "e2e-bench: smtp-source: $out" >&2; return 1; }
	[ -z "$out" ] || { echo "e2e-bench: smtp-source: $out" >&2; return 1; }
	t1=$(date +%s.%N)
	awk -v n="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}

for kind in outbound bounce; do
	for r in $(seq "$rounds"); do
		order="none null unix inet"
		[ $((r % 2)) -eq 0 ] && order="inet unix null none"
		for m in $order; do
			n=$msgs
			[ "$m" = inet ] && n=$inet_msgs
			setup "$m" "$kind" || die "postfix reload failed"
			pid=$pid_unix
			[ "$m" = null ] && pid=$pid_null
			c0=$(cpu_ticks "$pid")
			rate=$(source_run "$kind" "$n") || die "smtp-source failed ($kind, milter $m)"
			echo "$rate" >> "$BS_W/rate.$kind.$m"
			echo "$(($(cpu_ticks "$pid") - c0)) $n" >> "$BS_W/cpu.$kind.$m"
		done
	done
done
queue_wait_empty || echo "e2e-bench: the queue did not drain" >&2
for kind in outbound bounce; do
	for m in none null unix inet; do
		echo "${kind}_${m}_rate=$(median < "$BS_W/rate.$kind.$m")" \
		    "${kind}_${m}_runs=$(paste -sd/ "$BS_W/rate.$kind.$m")"
	done
	for m in null unix; do
		echo "${kind}_${m}_cpu_us=$(awk -v hz="$(getconf CLK_TCK)" '{ t += $1; n += $2 }
		    END { printf "%.0f", n ? t * 1e6 / hz / n : 0 }' "$BS_W/cpu.$kind.$m")"
	done
done
echo "signed=$(grep -c "signed as <prvs=" "$BS_W/milter.log")" \
    "stripped=$(grep -c "rewritten to <alice@example.com>" "$BS_W/milter.log")" \
    "rounds=$rounds msgs=$msgs inet_msgs=$inet_msgs sessions=$sessions"
