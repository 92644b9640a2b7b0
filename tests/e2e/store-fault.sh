#!/bin/bash
# store-fault.sh: the replay store on a file system that fills up, under a private Postfix
# (tests/e2e/lib.sh). Once the disk is full a bounce to a valid tag cannot be counted, and it
# must get OnInternalError's answer (tempfail: 4xx), not be delivered uncounted; outbound
# mail, whose Message-ID cannot be recorded either, gets the same answer (sent unrecorded,
# the replies to it would be refused); once space is back, both are accepted again and the
# bounces counted. Prints TAP. Needs root (a tmpfs mount; else exit 77).
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a private Postfix and a tmpfs)"; exit 77; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$(cd "$(dirname "$0")" && pwd)/tap.sh"
need postfix postconf smtp-sink swaks ss script mount umount
export BACKSTOP_NOW=1764183600
export BS_TIMEOUT=15
bs_init "$(mktemp -d /tmp/backstop-fault.XXXXXX)"
mounted=

finish() {
	local rc=$?
	if [ "$failed" -ne 0 ]; then
		echo "# ---- milter log (tail)"; tail -20 "$BS_W/milter.log" | sed 's/^/#   /'
		echo "# ---- maillog (tail)"; tail -20 "$BS_W/maillog" | sed 's/^/#   /'
	fi
	pf_stop
	[ -n "${BS_MILTER_PID:-}" ] && kill "$BS_MILTER_PID" 2>/dev/null &&
		bs_poll "! kill -0 $BS_MILTER_PID 2>/dev/null"
	[ -n "$mounted" ] && umount "$BS_W/replay"
	bs_cleanup
	exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM

queued() { grep -q -E '^<- +250 2\.0\.0 Ok: queued as' "$BS_W/last.smtp"; }
tempfailed() { grep -q -E '^<\*\* +4[0-9][0-9] 4\.' "$BS_W/last.smtp"; }
count_of() {
	"$BS_BIN/backstop-replay" -c "$BS_CONF" show "$1" 2>/dev/null |
		sed -n -E 's/^count: +([0-9]+).*/\1/p'
}
# fill: a file that takes every free block of the store's file system
fill() { dd if=/dev/zero of="$BS_W/replay/filler" bs=64k > /dev/null 2>&1; sync; }

# the store on its own small tmpfs: the environment's region files are sparse and the
# database tiny, so 64 MiB is room enough until the filler takes the rest
mount -t tmpfs -o size=64m,mode=0755 tmpfs "$BS_W/replay" || bail "cannot mount a tmpfs"
mounted=1
bs_write_conf "MaxBouncesPerTag 100"
bs_start_regexp_site

tag=$(bs_sign alice@example.com)
case $tag in prvs=*=alice@example.com) ;; *) bail "backstop-keys sign gave '$tag'" ;; esac

pf_send_ext '' "$tag" --header "Subject: before the disk fills"
check "with space: a bounce to a valid tag is accepted" 'queued'
check "with space: delivered" 'mbox_wait alice 1'
check "with space: counted" '[ "$(count_of "$tag")" = 1 ]'

fill
check "the store's file system is full" '[ "$(df --output=avail "$BS_W/replay" | tail -1)" -lt 64 ]'
# the log's current page still had room: bounces go on being accepted (and counted) until a
# commit needs a new block; from then on every one must be refused
accepted=0 run=0 sends=0
while [ "$run" -lt 8 ] && [ "$sends" -lt 80 ]; do
	sends=$((sends + 1))
	pf_send_ext '' "$tag" --header "Subject: disk full $sends"
	if queued; then
		accepted=$((accepted + 1)); run=0
	elif tempfailed; then
		run=$((run + 1))
	else
		break
	fi
done
check "disk full: 8 bounces in a row to the tag got OnInternalError's tempfail (4xx)" \
	'[ "$run" -eq 8 ]'
check "disk full: the answer is the milter's 451 at RCPT, where the bounce is counted" \
	'grep -q -E "^<\*\* +451 4\.7\.1 .*replay store failed" "$BS_W/last.smtp"'
check "disk full: nothing refused was delivered, the queue is empty" \
	'queue_wait_empty && [ "$(mbox_count alice)" -eq $((1 + accepted)) ]'
check "disk full: the milter logged why, naming the message's recipient" \
	'milterlog_has "to=<$tag> .*verdict=error action=tempfail: the replay store failed: "'
check "disk full: the milter is still running" 'kill -0 "$BS_MILTER_PID"'

before=$(sink_count)
pf_send_int alice@example.com carol@outside.example --header "Subject: outbound, disk full"
check "disk full: outbound mail gets OnInternalError's 451 4.3.0 at end of data" \
	'grep -q "^<\*\* *451 4.3.0" "$BS_W/last.smtp" && ! queued'
check "disk full: ... logged, naming the sender" \
	'milterlog_has "from=<alice@example.com>: sent message not recorded: .*temporarily refused \(OnInternalError\)"'

rm -f "$BS_W/replay/filler"
ok=0
for i in $(seq 20); do
	pf_send_ext '' "$tag" --header "Subject: space again"
	if queued; then ok=1; break; fi
	sleep 0.5
done
check "space again: a bounce to the tag is accepted" '[ "$ok" = 1 ]'
check "space again: delivered" 'mbox_wait alice $((2 + accepted))'
check "space again: no accepted bounce went uncounted" \
	'[ "$(count_of "$tag")" -ge $((2 + accepted)) ]'
before=$(sink_count)
pf_send_int alice@example.com carol@outside.example --header "Subject: outbound, space again"
check "space again: outbound mail is accepted, recorded" \
	'queued && milterlog_has "from=<alice@example.com> message-id=<.*> recorded"'
check "space again: ... and relayed with a prvs= sender" \
	'sink_wait $((before + 1)) && grep -q -E "^X-Mail-Args: <prvs=0[0-9]{3}[0-9a-f]{6}=alice@example\.com>" "$(ls -t "$BS_W"/sink/* | head -1)"'
echo "1..$n"
[ "$failed" -eq 0 ]
