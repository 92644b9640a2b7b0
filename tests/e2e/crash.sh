#!/bin/bash
# crash.sh: backstop-milter killed with SIGKILL while a private Postfix (tests/e2e/lib.sh) is
# taking a stream of valid bounces, then restarted. Checks that it starts again with no
# manual recovery of its Berkeley DB store, that the mail which had to wait goes through
# (the bounces an outside MTA retried after its 4xx, and the mail submitted with sendmail(1)
# that Postfix kept in its maildrop), and that no committed replay count was lost: each tag's
# count is at least the bounces to it that got a 250. Prints TAP. Needs root (else exit 77).
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a private Postfix instance)"; exit 77; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$(cd "$(dirname "$0")" && pwd)/tap.sh"
need postfix postconf postkick smtp-sink swaks ss
export BACKSTOP_NOW=1764183600
export BS_TIMEOUT=30
BOUNCES=30
bs_init "$(mktemp -d /tmp/backstop-crash.XXXXXX)"
push_pid=

finish() {
	local rc=$?
	[ -n "$push_pid" ] && kill "$push_pid" 2>/dev/null
	if [ "$failed" -ne 0 ]; then
		echo "# ---- milter log (tail)"; tail -20 "$BS_W/milter.log" | sed 's/^/#   /'
		echo "# ---- maillog (tail)"; tail -30 "$BS_W/maillog" | sed 's/^/#   /'
	fi
	bs_cleanup
	exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM

lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

bs_write_conf "MaxBouncesPerTag 1000" "Durability write"
bs_start_regexp_site

# three valid tags of alice's (signed today, yesterday, the day before)
tags=("$(bs_sign alice@example.com 0)" "$(bs_sign alice@example.com 1)" "$(bs_sign alice@example.com 2)")
for t in "${tags[@]}"; do
	case $t in prvs=*=alice@example.com) ;; *) bail "backstop-keys sign gave '$t'" ;; esac
done

# push: BOUNCES bounces from outside, round robin over the tags; like a sending MTA, retry
# after a 4xx until accepted. Each 250 is one line "I TAG" in BS_W/accepted.
push() {
	local i tries tag out="$BS_W/push.smtp"
	for ((i = 0; i < BOUNCES; i++)); do
		tag=${tags[i % 3]}
		for ((tries = 0; tries < 400; tries++)); do
			swaks --server 127.0.0.1 --port "$PF_PORT" --from '<>' --to "$tag" \
			    --local-interface "$BS_EXT_IP" --helo mx.outside.example --timeout 20 \
			    --header "Subject: crash test bounce $i" > "$out" 2>&1
			if grep -q -E '^<- +250 2\.0\.0 Ok: queued' "$out"; then
				echo "$i $tag" >> "$BS_W/accepted"
				break
			fi
			grep -q -E '^<\*\* +4[0-9][0-9] ' "$out" && echo "$i" >> "$BS_W/tempfailed"
			sleep 0.1
		done
	done
	touch "$BS_W/push.done"
}
alice_before=$(mbox_count alice)
push &
push_pid=$!

bs_poll '[ "$(lines "$BS_W/accepted")" -ge 8 ]' || bail "the first bounces were not accepted"
kill -KILL "$BS_MILTER_PID"
wait "$BS_MILTER_PID" 2>/dev/null
accepted_at_kill=$(lines "$BS_W/accepted")
ok "SIGKILL to backstop-milter after $accepted_at_kill bounces were accepted"

# outbound mail submitted while the milter is down: Postfix must keep it, not send it unsigned
pf_sendmail alice@example.com bob@other.example "sent while the milter was down"
bs_poll '[ "$(lines "$BS_W/tempfailed")" -ge 2 ]'
check "while it is down, bounces get 4xx (milter_default_action = tempfail) and are retried" \
	'[ "$(lines "$BS_W/tempfailed")" -ge 1 ]'
check "while it is down, nothing reaches the sink unsigned" \
	'! grep -l "sent while the milter was down" "$BS_W"/sink/* 2>/dev/null'

milter_start || bail "backstop-milter did not restart: $(tail -5 "$BS_W/milter.log")"
check "it restarts with no manual recovery of the replay store" \
	'bs_poll "[ \$(grep -c \"starting on\" \"$BS_W/milter.log\") -eq 2 ]" && ! grep -qiE "panic|DB_RUNRECOVERY|run recovery" "$BS_W/milter.log"'
postkick -c "$PF_DIR" public pickup W 2>/dev/null
postqueue -c "$PF_DIR" -f 2>/dev/null

BS_TIMEOUT=120 bs_poll '[ -e "$BS_W/push.done" ]'
wait "$push_pid"
push_pid=
check "all $BOUNCES bounces accepted in the end ($(lines "$BS_W/tempfailed") 4xx on the way)" \
	'[ "$(lines "$BS_W/accepted")" -eq "$BOUNCES" ]'
check "all $BOUNCES delivered to alice" 'mbox_wait alice $((alice_before + BOUNCES))'
BS_TIMEOUT=60 bs_poll 'grep -l "sent while the milter was down" "$BS_W"/sink/* > /dev/null 2>&1'
S=$(grep -l "sent while the milter was down" "$BS_W"/sink/* 2>/dev/null | head -1)
check "the mail Postfix kept while the milter was down went out afterwards, signed" \
	'[ -n "$S" ] && grep -q -E "^X-Mail-Args: <prvs=[0-9]{4}[0-9a-f]{6}=alice@example.com>" "$S"'
check "the queue is empty" 'queue_wait_empty'

# replay counts: nothing committed is lost (at least one per 250); a bounce counted just as
# the milter died may be counted again when retried, so at most one more in all
total=0
for t in "${tags[@]}"; do
	got=$("$BS_BIN/backstop-replay" -c "$BS_CONF" show "$t" 2>&1)
	count=$(echo "$got" | grep -oE '(count|bounces)[:= ]+[0-9]+' | grep -oE '[0-9]+$' | head -1)
	want=$(grep -c " $t\$" "$BS_W/accepted")
	check "replay count of tag $t: ${count:-none}, bounces accepted to it: $want" \
		'[ -n "$count" ] && [ "$count" -ge "$want" ]'
	[ -n "$count" ] || echo "#   backstop-replay show: $got"
	total=$((total + ${count:-0}))
done
check "counts add up to the bounces accepted ($total for $BOUNCES, at most one more)" \
	'[ "$total" -ge "$BOUNCES" ] && [ "$total" -le $((BOUNCES + 1)) ]'
echo "1..$n"
[ "$failed" -eq 0 ]
