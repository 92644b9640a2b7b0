#!/bin/bash
# postfix.sh: backstop end to end with a real, private Postfix instance (tests/e2e/lib.sh)
# wired with the contrib/postfix snippets themselves. Every scenario is asserted on what
# Postfix delivered (mailboxes) or relayed (the sink's envelopes) and on its log. Prints TAP.
# Needs root (exit 77 otherwise), postfix, smtp-sink, swaks.
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a private Postfix instance)"; exit 77; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$(cd "$(dirname "$0")" && pwd)/tap.sh"
need postfix postconf smtp-sink swaks ss script
export BACKSTOP_NOW=1764183600
export BS_TIMEOUT=10
bs_init "$(mktemp -d /tmp/backstop-e2e.XXXXXX)"

finish() {
	local rc=$?
	[ "$failed" -eq 0 ] || bs_dump
	bs_cleanup
	exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM

# check DESC COND [TODO-REASON]: one TAP line; with a reason, a failure is a known TODO
check() {
	if eval "$2"; then
		if [ -n "${3:-}" ]; then n=$((n + 1)); echo "ok $n - $1 # TODO ${3}"; else ok "$1"; fi
	elif [ -n "${3:-}" ]; then
		n=$((n + 1)); echo "not ok $n - $1 # TODO ${3}"
	else
		not_ok "$1"
		echo "#   failed: $2"
		bs_alive || bail "a daemon died: $(bs_alive 2>&1)"
		sed -n '/^ -> RCPT/,$p' "$BS_W/last.smtp" | head -6 | sed 's/^/#   smtp: /'
	fi
}
# bs_alive: the milter, the SRS server and Postfix's master still run (else say which died)
bs_alive() {
	kill -0 "$BS_MILTER_PID" 2>/dev/null || { echo "backstop-milter died" >&2; return 1; }
	kill -0 "$BS_SRS_PID" 2>/dev/null || { echo "srs-rewrite serve died" >&2; return 1; }
	postfix -c "$PF_DIR" status > /dev/null 2>&1 || { echo "Postfix died" >&2; return 1; }
}

# bs_dump: the logs, for a failed run
bs_dump() {
	echo "# ---- milter log (tail)"; tail -25 "$BS_W/milter.log" | sed 's/^/#   /'
	echo "# ---- srs log (tail)"; tail -5 "$BS_W/srs.log" | sed 's/^/#   /'
	echo "# ---- maillog (tail)"; tail -40 "$BS_W/maillog" | sed 's/^/#   /'
	echo "# ---- queue"; postqueue -c "$PF_DIR" -p 2>&1 | head -20 | sed 's/^/#   /'
}

# queued: the last SMTP transaction got a queue id; refused CODE: the RCPT got CODE
queued() { grep -q -E '^<- +250 2\.0\.0 Ok: queued as' "$BS_W/last.smtp"; }
queue_id() { sed -n -E 's/^<- +250 2\.0\.0 Ok: queued as ([0-9A-F]+).*/\1/p' "$BS_W/last.smtp"; }
rcpt_refused() { sed -n '/^ -> RCPT/{n;p;}' "$BS_W/last.smtp" | grep -q -E "^<\*\* +$1"; }
# sink_last: the sink file that arrived last; sink_from FILE: its MAIL FROM address
sink_last() { ls -t "$BS_W"/sink/* 2>/dev/null | head -1; }
sink_from() { sed -n -E 's/^X-Mail-Args: <([^>]*)>.*/\1/p' "$1"; }
sink_rcpt() { sed -n -E 's/^X-Rcpt-Args: <([^>]*)>.*/\1/p' "$1"; }
# hdr USER NAME: header NAME of USER's last message
hdr() { mbox_last "$1" | sed -n -E "1,/^\$/s/^$2: (.*)/\\1/p"; }
# send_and_sink DESC SENDCMD...: run a send that must reach the sink; sets $S (the sink file)
send_and_sink() {
	local before
	before=$(sink_count)
	"$@" && sink_wait $((before + 1))
	local rc=$?
	S=$(sink_last)
	return $rc
}
# refused_57 ADDR: the last RCPT got 550 5.7.1 from the milter and nothing was queued
refused_57() {
	rcpt_refused '550 5.7.1' || { echo "#   not refused with 550 5.7.1"; return 1; }
	refused_nothing "NOQUEUE: milter-reject: RCPT from .*550 5\.7\.1 <$1>"
}
# refused_57_eom ADDR: the last message got 550 5.7.1 at end of data (a recipient decided
# there: UntaggedBounceDecision eom), naming ADDR, and nothing was queued
refused_57_eom() {
	grep -q -E "^<\*\* +550 5\.7\.1 <$1>: " "$BS_W/last.smtp" ||
		{ echo "#   not refused with 550 5.7.1 <$1> at end of data"; return 1; }
	refused_nothing "milter-reject: END-OF-MESSAGE from .*: 5\.7\.1 <$1>: "
}
# refused_nothing PATTERN: nothing queued or delivered, and Postfix logged PATTERN
refused_nothing() {
	! queued || { echo "#   queued"; return 1; }
	queue_wait_empty || { echo "#   the queue is not empty"; return 1; }
	[ "$(mbox_count alice)" -eq "$alice_n" ] ||
		{ echo "#   alice has $(mbox_count alice) messages, not $alice_n"; return 1; }
	maillog_has "$1" || { echo "#   no line $1 in the maillog"; return 1; }
}

## ---- set-up: key stores, daemons, the instance ----

bs_write_conf "MaxBouncesPerTag 3"
bs_keys_init || bail "backstop-keys init failed: $(cat "$BS_W/keys-init.out")"
# another site's key store, for wrong-key tags
sed -e "s|^KeyDirectory .*|KeyDirectory $BS_W/keys-other|" "$BS_CONF" > "$BS_W/other.conf"
mkdir -p "$BS_W/keys-other"
BACKSTOP_NOW=$((BACKSTOP_NOW - 2592000)) "$BS_BIN/backstop-keys" -c "$BS_W/other.conf" init \
    > /dev/null 2>&1 || bail "backstop-keys init (other key store) failed"

sink_start || bail "smtp-sink did not start: $(cat "$BS_W/sink.log")"
milter_start || bail "backstop-milter did not start: $(cat "$BS_W/milter.log")"
srs_start || bail "srs-rewrite serve did not start: $(cat "$BS_W/srs.log")"

pf_init || bail "could not write main.cf"
P="$BS_CONTRIB/postfix"
pf_apply_main "$P/main.cf-milter" || bail "main.cf-milter"
pf_apply_main "$P/main.cf-prvs-regexp" || bail "main.cf-prvs-regexp"
# the snippet's map goes after the site's own aliases, as its comment says
pf_conf "virtual_alias_maps = texthash:$PF_DIR/virtual, $(pf_get virtual_alias_maps)"
pf_apply_main "$P/main.cf-srs-postsrsd" || bail "main.cf-srs-postsrsd"
# the submission service of contrib, on our port, without TLS and SASL (no certificates or
# SASL server here): what makes it outbound is its milter_macro_daemon_name
pf_apply_master "$P/master.cf-submission" "s/^submission /$PF_SUBMIT /;/tls\\|sasl/d"
# Postfix's own default, so that its name and localhost.$mydomain are local as on most sites
pf_conf 'mydestination = $myhostname, localhost.$mydomain, localhost'
pf_start || bail "Postfix did not start: $(cat "$BS_W/postfix.out")"
check "postfix check is clean with the contrib snippets" \
    '! grep -q -E "warning|fatal" "$BS_W/postfix.out"'
check "the submission smtpd listens" 'bs_wait_port $PF_SUBMIT'

alice_n=0
valid_tag=""

## ---- wiring (a): prvs regexp; SRS (1): postsrsd-style canonical maps ----

echo "# wiring: virtual_alias_maps regexp (main.cf-prvs-regexp), SRS canonical maps (main.cf-srs-postsrsd)"
send_and_sink pf_send_int alice@example.com carol@outside.example --header "Subject: outbound"
check "internal client: accepted" 'queued'
check "internal client: relayed with a prvs= sender" \
    '[[ "$(sink_from "$S")" =~ ^prvs=0[0-9]{3}[0-9a-f]{6}=alice@example\.com$ ]]'
valid_tag=$(sink_from "$S")
check "internal client: the milter logged the signature" \
    'milterlog_has "$(queue_id): from=<alice@example.com> signed as <$valid_tag>"'

pf_send "$PF_SUBMIT" dave@example.com bob@example.com --local-interface "$BS_EXT_IP"
check "submission (ORIGINATING) from a non-internal address: accepted" 'queued'
check "submission: delivered to bob with a prvs= Return-Path" \
    'mbox_wait bob 1 && [[ "$(hdr bob Return-Path)" =~ ^\<prvs=0[0-9]{3}[0-9a-f]{6}=dave@example\.com\>$ ]]'

send_and_sink pf_sendmail bob@example.com carol@outside.example "via sendmail"
check "sendmail(1): relayed with a prvs= sender" \
    '[[ "$(sink_from "$S")" =~ ^prvs=0[0-9]{3}[0-9a-f]{6}=bob@example\.com$ ]]'
check "sendmail(1): signed by the milter through non_smtpd_milters" \
    'milterlog_has ": from=<bob@example.com> signed as <prvs="'
pf_sendmail '<>' alice@example.com "null sender via sendmail"
check "sendmail(1): a null-sender message to an unsigned address is not refused" \
    'mbox_wait alice 1 && [ "$(hdr alice Subject)" = "null sender via sendmail" ]'
alice_n=$(mbox_count alice)

pf_send_ext '' "$valid_tag" --header "Subject: valid bounce"
check "bounce to the signed address: accepted at RCPT and queued" 'queued'
qid=$(queue_id)
check "bounce: delivered to alice's mailbox, once" \
    'mbox_wait alice $((alice_n + 1)) && queue_wait_empty && [ "$(mbox_count alice)" -eq $((alice_n + 1)) ]'
alice_n=$(mbox_count alice)
check "bounce: untagged (Delivered-To alice), null Return-Path" \
    '[ "$(hdr alice Delivered-To)" = alice@example.com ] && [ "$(hdr alice Return-Path)" = "<>" ] && [ "$(hdr alice Subject)" = "valid bounce" ]'
check "bounce: X-Backstop header names the verdict" \
    '[ "$(hdr alice X-Backstop)" = "valid <$valid_tag>" ]'
check "bounce: Postfix logged the delivery to alice" \
    'maillog_has "$qid: to=<alice@example.com>.*status=sent \\(delivered to mailbox\\)"'
check "bounce: the milter logged verdict=valid and the untagging" \
    'milterlog_has "to=<$valid_tag> from=<> client=[^ ]* bounce=yes verdict=valid action=accept" && milterlog_has "$qid: to=<$valid_tag> rewritten to <alice@example.com>"'

pf_send_ext '' alice@example.com
check "untagged bounce: 550 5.7.1 at end of data, nothing queued" 'refused_57_eom alice@example\.com'
check "untagged bounce: the reply names the address once, as Postfix's own do" \
    "smtp_said '550 5\.7\.1 <alice@example\.com>: bounce to an unsigned address \(backscatter\)\$'"
# spellings Postfix still delivers to alice (it drops a root dot, appends myorigin)
pf_send_ext '' alice@example.com.
check "untagged bounce to alice@example.com.: 550 5.7.1 at end of data, nothing queued" \
    'refused_57_eom "alice@example\.com\."'
pf_send_ext '' alice
check "untagged bounce to an unqualified alice: 550 5.7.1 at end of data, nothing queued" \
    'refused_57_eom alice'
forged="${valid_tag:0:10}$([ "${valid_tag:10:1}" = 0 ] && echo 1 || echo 0)${valid_tag:11}"
pf_send_ext '' "$forged"
check "forged bounce: 550 5.7.1 at RCPT, nothing queued" 'refused_57 "$forged"'
expired=$(bs_sign alice@example.com 10)
pf_send_ext '' "$expired"
check "expired bounce: 550 5.7.1 at RCPT, nothing queued" 'refused_57 "$expired"'
wrongkey=$(BS_CONF="$BS_W/other.conf" bs_sign alice@example.com)
pf_send_ext '' "$wrongkey"
check "wrong-key bounce: 550 5.7.1 at RCPT, nothing queued" 'refused_57 "$wrongkey"'
check "the milter logged each refusal with its verdict" \
    'milterlog_has "to=<alice@example.com> from=<> client=[^ ]*\[127\.0\.0\.2\] bounce=yes verdict=untagged action=reject" && milterlog_has "to=<$expired> from=<> client=[^ ]* bounce=yes verdict=expired action=reject" && milterlog_has "to=<$forged> from=<> client=[^ ]* bounce=yes verdict=badmac action=reject" && milterlog_has "to=<$wrongkey> from=<> client=[^ ]* bounce=yes verdict=(badmac|unknown-key) action=reject"'

dave_tag=$(bs_sign dave@example.com)
for i in 1 2 3; do
	pf_send_ext '' "$dave_tag" --header "Subject: replay $i"
	queued || break
done
check "MaxBouncesPerTag (3) bounces to one tag are accepted" 'queued && mbox_wait dave 3'
pf_send_ext '' "$dave_tag" --header "Subject: replay 4"
check "the 4th bounce to that tag gets 550 5.7.1, nothing queued" \
    'rcpt_refused "550 5\.7\.1" && ! queued && queue_wait_empty && [ "$(mbox_count dave)" -eq 3 ] && maillog_has "milter-reject: RCPT .*550 5\.7\.1 <$dave_tag>"'
check "the milter logged verdict=replay" 'milterlog_has "to=<$dave_tag> from=<> client=[^ ]* bounce=yes verdict=replay action=reject"'

# spellings Postfix rewrites before delivery: the % hack, bang paths, a source route, its own
# names and loopback literal; all reach alice@example.com (or dave's tag) unless refused
dave_local=${dave_tag%@example.com}
routed=('alice%example.com@localhost' 'example.com!alice@localhost'
    'alice%example.com@mx.example.com' 'alice%example.com@localhost.example.com'
    'alice%example.com@[127.0.0.1]' '@hop.example.org:alice%example.com@localhost'
    'ALICE%EXAMPLE.COM@LOCALHOST' "$dave_local%example.com@localhost"
    "example.com!$dave_local@localhost" "${dave_local^^}%EXAMPLE.COM@MX.EXAMPLE.COM")
# re: the address as a pattern for the maillog
re() { sed -e 's/[]$^.[]/\\&/g' <<< "$1"; }
for to in "${routed[@]:0:3}"; do
	pf_send_ext '' "$to"
	check "main.cf-milter's allow_percent_hack/swap_bangpath = no: Postfix itself refuses $to" \
	    'rcpt_refused "554 5\.7\.1" && smtp_said ".*Relay access denied" && ! queued && queue_wait_empty'
done
echo "# Postfix's defaults: allow_percent_hack = yes, swap_bangpath = yes"
postconf -c "$PF_DIR" -X allow_percent_hack swap_bangpath
pf_run check && pf_reload || bail "reload failed: $(cat "$BS_W/postfix.out")"
for to in "${routed[@]:0:7}"; do	# untagged: judged at end of data
	pf_send_ext '' "$to"
	check "bounce to $to: 550 5.7.1 at end of data, nothing queued" \
	    'refused_57_eom "$(re "$to")"'
done
for to in "${routed[@]:7}"; do	# dave's tag, over its limit: at RCPT
	pf_send_ext '' "$to"
	check "bounce to $to: 550 5.7.1 at RCPT, nothing queued" 'refused_57 "$(re "$to")"'
done
check "none reached dave either" '[ "$(mbox_count dave)" -eq 3 ]'
check "the milter judged each as alice@example.com, or as dave's tag: a replay" \
    'milterlog_has "to=<$(re "${routed[0]}")> from=<> .* verdict=untagged action=reject.*judged as <alice@example\.com>" && milterlog_has "to=<$(re "${routed[7]}")> from=<> .* verdict=replay action=reject.*judged as <$dave_tag>" && milterlog_has "to=<$(re "${routed[9]}")> from=<> .* verdict=replay action=reject"'
pf_send_ext bob@other.example 'alice%example.com@localhost' --header "Subject: routed inbound"
check "ordinary mail to alice%example.com@localhost: delivered to alice" \
    'queued && mbox_wait alice $((alice_n + 1)) && [ "$(hdr alice Subject)" = "routed inbound" ]'
alice_n=$(mbox_count alice)
pf_apply_main "$P/main.cf-milter" || bail "main.cf-milter"
pf_run check && pf_reload || bail "reload failed: $(cat "$BS_W/postfix.out")"

send_and_sink pf_send_ext bob@other.example away@example.com --header "Subject: forwarded"
check "alias to an outside address: relayed to carol" '[ "$(sink_rcpt "$S")" = carol@outside.example ]'
srs_addr=$(sink_from "$S")
check "alias to an outside address: leaves with an SRS0 sender" \
    '[[ "$srs_addr" =~ ^SRS0=[a-z0-9]{4,5}=[A-Za-z0-9]{2}=other\.example=bob@fwd\.example\.com$ ]]'
pf_send_ext bob@other.example alice@example.com --header "Subject: plain inbound 1"
check "postsrsd-style wiring: local delivery gets an SRS0 Return-Path too (the known drawback)" \
    'mbox_wait alice $((alice_n + 1)) && [[ "$(hdr alice Return-Path)" =~ ^\<SRS0=.*=bob@fwd\.example\.com\>$ ]]'
alice_n=$(mbox_count alice)
check "plain inbound mail: no X-Backstop header" '[ -z "$(hdr alice X-Backstop)" ]'

send_and_sink pf_send_ext '' "$srs_addr" --header "Subject: bounce to SRS"
check "bounce to the SRS address: accepted and relayed to the original sender" \
    '[ "$(sink_rcpt "$S")" = bob@other.example ] && [ "$(sink_from "$S")" = "" ]'
check "bounce to the SRS address: the milter logged srs-valid" \
    'milterlog_has "to=<$srs_addr> from=<> client=[^ ]* bounce=yes verdict=srs-valid action=accept"'
srs_forged="SRS0=$([ "${srs_addr:5:5}" = aaaaa ] && echo bbbbb || echo aaaaa)${srs_addr:10}"
pf_send_ext '' "$srs_forged"
# the reverse map answers NOTFOUND for a bad hash, so Postfix's own recipient check refuses
# it (a PERM answer would be a broken table to Postfix: 451 4.3.5 and a retry loop)
check "forged SRS bounce: 550 5.1.1 at RCPT, nothing queued" \
    'rcpt_refused "550 5\.1\.1" && ! queued && queue_wait_empty'
check "forged SRS bounce: no table error in Postfix's log" '! maillog_has "4\.3\.5|lookup error"'

## ---- wiring (b): the prvs socketmap of "srs-rewrite serve" ----

echo "# wiring: virtual_alias_maps socketmap prvs (main.cf-prvs-socketmap)"
regexp_maps=$(pf_get virtual_alias_maps)
bob_tag=$(bs_sign bob@example.com)
check "srs-rewrite serve answers the prvs map with the untagged address" \
    '[ "$(postmap -q "$bob_tag" "socketmap:unix:$SRS_SOCK:prvs" 2>/dev/null)" = bob@example.com ]'
pf_apply_main "$P/main.cf-prvs-socketmap" || bail "main.cf-prvs-socketmap"
pf_conf "virtual_alias_maps = texthash:$PF_DIR/virtual, $(pf_get virtual_alias_maps)"
pf_run check && pf_reload || bail "reload failed: $(cat "$BS_W/postfix.out")"
bob_n=$(mbox_count bob)
pf_send_ext '' "$bob_tag" --header "Subject: valid bounce (b)"
check "prvs map: a valid bounce is delivered, untagged, with the header" \
    'queued && mbox_wait bob $((bob_n + 1)) && [ "$(hdr bob Delivered-To)" = bob@example.com ] && [ "$(hdr bob X-Backstop)" = "valid <$bob_tag>" ]'
for t in forged wrongkey; do
	pf_send_ext '' "${!t}"
	check "prvs map: a $t bounce gets Postfix's 550 5.1.1 at RCPT, nothing queued" \
	    'rcpt_refused "550 5\.1\.1" && ! queued && queue_wait_empty && maillog_has "NOQUEUE: reject: RCPT from .*550 5\.1\.1 <${!t}>"'
done
check "prvs map: the milter never saw them" \
    '[ "$(grep -c -F "to=<$forged>" "$BS_W/milter.log")" -eq 1 ] && [ "$(grep -c -F "to=<$wrongkey>" "$BS_W/milter.log")" -eq 1 ]'
pf_send_ext '' "$expired"
check "prvs map: an expired bounce passes Postfix and gets 550 5.7.1 from the milter" \
    'refused_57 "$expired"'
pf_send_ext '' alice@example.com
check "prvs map: an untagged bounce to a real user gets 550 5.7.1 from the milter" \
    'refused_57_eom alice@example\.com'

# DryRun refuses nothing with this wiring either: the prvs map answers a forged tag with the
# plain address (and logs what it would have refused), the milter accepts and logs the rest
echo "# DryRun with the prvs socketmap"
cp "$BS_CONF" "$BS_W/enforcing.conf"
printf 'DryRun yes\n' >> "$BS_CONF"
milter_reloads=$(grep -c "reloaded" "$BS_W/milter.log")
kill -USR1 "$BS_MILTER_PID" "$BS_SRS_PID"
bs_poll '[ "$(postmap -q "$forged" "socketmap:unix:$SRS_SOCK:prvs" 2>/dev/null)" = alice@example.com ]'
bs_poll '[ "$(grep -c "reloaded" "$BS_W/milter.log")" -gt "$milter_reloads" ]'
check "DryRun: the prvs map answers a forged tag with the plain address" \
    '[ "$(postmap -q "$forged" "socketmap:unix:$SRS_SOCK:prvs" 2>/dev/null)" = alice@example.com ]'
for t in forged wrongkey expired; do
	pf_send_ext '' "${!t}" --header "Subject: DryRun $t bounce"
	check "DryRun: a $t bounce is accepted (250), not refused" 'queued'
done
check "DryRun: srs-rewrite serve logs the forged and wrong-key tags it would have refused" \
    'grep -q -F "prvs map: to=<$forged> verdict=badmac action=accept (DryRun" "$BS_W/srs.log" &&
     grep -F "prvs map: to=<$wrongkey> verdict=" "$BS_W/srs.log" | grep -q -F "action=accept (DryRun"'
dry_logged() { milterlog_has "to=<$1> .*verdict=$2 action=accept \(DryRun: would have refused\)"; }
check "DryRun: the milter logs the expired one as it would have refused" \
    'dry_logged "$expired" expired'
pf_send_ext '' alice@example.com --header "Subject: DryRun untagged bounce"
check "DryRun: an untagged bounce is accepted (250), not refused" 'queued'
check "DryRun: the milter logs the untagged bounce it would have refused" \
    'bs_poll "dry_logged alice@example.com untagged"'
cp "$BS_W/enforcing.conf" "$BS_CONF"
kill -USR1 "$BS_MILTER_PID" "$BS_SRS_PID"
bs_poll '[ -z "$(postmap -q "$forged" "socketmap:unix:$SRS_SOCK:prvs" 2>/dev/null)" ]'
queue_wait_empty
alice_n=$(mbox_count alice)
pf_conf "virtual_alias_maps = $regexp_maps"
pf_run check && pf_reload || bail "reload failed: $(cat "$BS_W/postfix.out")"

## ---- SRS (2): SRS on the way out only ----

echo "# wiring: SRS on the way out only (main.cf-srs-outbound, master.cf-srs-outbound)"
postconf -c "$PF_DIR" -X sender_canonical_maps sender_canonical_classes
pf_apply_main "$P/main.cf-srs-outbound" || bail "main.cf-srs-outbound"
pf_apply_master "$P/master.cf-srs-outbound" "s/^127\\.0\\.0\\.1:10027 /127.0.0.1:$PF_REENTRY /"
pf_run check && pf_reload || bail "reload failed: $(cat "$BS_W/postfix.out")"
check "postfix check is clean with the SRS-outbound wiring" \
    '! grep -q -E "warning|fatal" "$BS_W/postfix.out"'
check "the re-entry smtpd listens" 'bs_wait_port $PF_REENTRY'

fwd_n=$(mbox_count fwd)
send_and_sink pf_send_ext bob@other.example fwd@example.com --header "Subject: forwarded 2"
check "alias with a local and an outside copy: the outside copy leaves with SRS0" \
    '[ "$(sink_rcpt "$S")" = carol@outside.example ] && [[ "$(sink_from "$S")" =~ ^SRS0=.*=other\.example=bob@fwd\.example\.com$ ]]'
srs_addr2=$(sink_from "$S")
check "the outside copy passed the re-entry smtpd and its SRS cleanup" \
    'maillog_has "postfix/backstop-srs-cleanup/cleanup.*message-id" && grep -q "by mx.example.com (Postfix)" "$S"'
check "the local copy keeps the original sender" \
    'mbox_wait fwd $((fwd_n + 1)) && [ "$(hdr fwd Return-Path)" = "<bob@other.example>" ]'

pf_send_ext bob@other.example alice@example.com --header "Subject: plain inbound 2"
check "ordinary inbound mail: delivered with its sender unchanged" \
    'mbox_wait alice $((alice_n + 1)) && [ "$(hdr alice Return-Path)" = "<bob@other.example>" ] && [ "$(hdr alice Subject)" = "plain inbound 2" ]'
alice_n=$(mbox_count alice)
check "ordinary inbound mail: no X-Backstop header" '[ -z "$(hdr alice X-Backstop)" ]'

send_and_sink pf_send_int alice@example.com carol@outside.example --header "Subject: outbound 2"
check "outbound mail through the re-entry: keeps its prvs= sender, no SRS" \
    '[[ "$(sink_from "$S")" =~ ^prvs=0[0-9]{3}[0-9a-f]{6}=alice@example\.com$ ]]'

send_and_sink pf_send_ext '' "$srs_addr2" --header "Subject: bounce to SRS 2"
check "bounce to the SRS address: reversed and relayed to the original sender" \
    '[ "$(sink_rcpt "$S")" = bob@other.example ] && [ "$(sink_from "$S")" = "" ]'

pf_send_ext '' "$valid_tag" --header "Subject: valid bounce 2"
check "bounce to the signed address still lands in alice's mailbox" \
    'queued && mbox_wait alice $((alice_n + 1)) && [ "$(hdr alice Delivered-To)" = alice@example.com ]'
alice_n=$(mbox_count alice)

## ---- daemons down: mail waits, nothing slips through ----

kill "$BS_MILTER_PID"; wait "$BS_MILTER_PID" 2>/dev/null
pf_send_ext '' "$forged"
check "milter down: a bounce gets 4xx (milter_default_action = tempfail), nothing queued" \
    'grep -q -E "^<\*\* +4[0-9][0-9] 4\." "$BS_W/last.smtp" && ! queued && queue_wait_empty'
milter_start || bail "backstop-milter did not restart"
kill "$BS_SRS_PID"; wait "$BS_SRS_PID" 2>/dev/null
pf_send_ext bob@other.example alice@example.com
check "SRS server down: mail gets 4xx at RCPT (recipient_canonical_maps lookup fails), nothing queued" \
    'rcpt_refused "4[0-9][0-9] 4\." && ! queued && queue_wait_empty'
srs_start || bail "srs-rewrite serve did not restart"
pf_send_ext bob@other.example alice@example.com --header "Subject: after restarts"
check "both back: mail flows again" \
    'queued && mbox_wait alice $((alice_n + 1)) && [ "$(hdr alice Subject)" = "after restarts" ]'

## ---- the end ----

check "the queue is empty at the end" 'queue_wait_empty'
check "no mail loop, no deferral, no bounce generated by Postfix" \
    '! maillog_has "loops back to myself|status=(deferred|bounced)"'
check "the milter logged no error" '! grep -q -E "error|failed" "$BS_W/milter.log"'
echo "1..$n"
[ "$failed" -eq 0 ]
