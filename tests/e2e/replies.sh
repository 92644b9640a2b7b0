#!/bin/bash
# replies.sh: replies, receipts and bounces judged by what they answer, end to end with two
# real Postfix instances: the site (with backstop-milter) and a remote site, whose own bounce
# daemon makes the delivery report. alice's mail to an unknown user there comes back as a
# real DSN, delivered to her; a forged DSN to the same tag, an Exchange-style out-of-office
# and a non-null auto-reply get what the decisions table says. Prints TAP. Needs root.
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (private Postfix instances)"; exit 77; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$(cd "$(dirname "$0")" && pwd)/tap.sh"
need postfix postconf smtp-sink swaks ss script
export BACKSTOP_NOW=1764183600
export BS_TIMEOUT=20
bs_init "$(mktemp -d /tmp/backstop-e2e-replies.XXXXXX)"
R="$BS_W/remote"
R_PORT=$(bs_free_port)
R_STARTED=0

r_run() { script -qec "postfix -c '$R/etc' $*" /dev/null > "$BS_W/remote.out" 2>&1 < /dev/null; }
finish() {
	local rc=$?
	if [ "$failed" -ne 0 ]; then
		echo "# ---- milter log (tail)"; tail -30 "$BS_W/milter.log" | sed 's/^/#   /'
		echo "# ---- site maillog (tail)"; tail -30 "$BS_W/maillog" | sed 's/^/#   /'
		echo "# ---- remote maillog (tail)"; tail -20 "$R/maillog" | sed 's/^/#   /'
	fi
	[ "$R_STARTED" = 1 ] && r_run stop
	bs_cleanup
	exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM

# remote_start: the remote site, remote.example on R_PORT. It takes mail for any user and
# bounces the unknown ones from its virtual(8) agent, as a site with a catch-all front does;
# its mail goes to our site's inbound smtpd from 127.0.0.2, an outside address.
remote_start() {
	mkdir -p "$R/etc" "$R/spool" "$R/data" "$R/mail"
	chown postfix "$R/data"
	chown nobody:nogroup "$R/mail"
	(PF_DIR="$R/etc" PF_PORT=$R_PORT; pf_write_master)
	: > "$R/etc/main.cf"
	postconf -c "$R/etc" -e "compatibility_level = 3.6" "queue_directory = $R/spool" \
	    "data_directory = $R/data" "mail_owner = postfix" "setgid_group = postdrop" \
	    "maillog_file = $R/maillog" "maillog_file_prefixes = $BS_W" \
	    "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
	    "myhostname = mx.remote.example" "mydomain = remote.example" \
	    "myorigin = remote.example" "mydestination =" "mynetworks = 127.0.0.0/8" \
	    "alias_maps =" "alias_database =" "local_recipient_maps =" \
	    "virtual_mailbox_domains = remote.example" \
	    "virtual_mailbox_maps = texthash:$R/etc/vmailbox" "virtual_mailbox_base = $R/mail" \
	    "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" \
	    "smtpd_reject_unlisted_recipient = no" \
	    "relayhost = [127.0.0.1]:$PF_PORT" "smtp_bind_address = $BS_EXT_IP" \
	    "smtp_dns_support_level = disabled" "smtp_tls_security_level = none" \
	    "smtpd_tls_security_level = none" "biff = no" "smtputf8_enable = no" \
	    "queue_run_delay = 2s" "minimal_backoff_time = 2s" "maximal_backoff_time = 4s" \
	    "delay_warning_time = 0" || return 1
	echo "friend@remote.example friend" > "$R/etc/vmailbox"
	r_run check && r_run start || return 1
	R_STARTED=1
	bs_wait_port "$R_PORT" 200
}

bs_write_conf "MaxBouncesPerTag 3" "SentSince 2020-01-01" "OnUntagged reject"
bs_start_regexp_site
remote_start || bail "the remote Postfix did not start: $(cat "$BS_W/remote.out")"
pf_conf "relayhost = [127.0.0.1]:$R_PORT"
pf_reload || bail "site reload failed"

# alice's mail, with its own Message-ID, to a user the remote site does not have
alice_n=0
pf_send_int alice@example.com nobody@remote.example --header "Subject: hello there" \
    --header "Message-Id: <Hello.1@Example.COM>"
check "alice's message: accepted by the site" 'grep -q "250 2.0.0 Ok: queued" "$BS_W/last.smtp"'
check "the milter recorded its Message-ID" \
    'bs_poll "milterlog_has \"from=<alice@example.com> message-id=<Hello.1@example.com> recorded\""'
check "the remote Postfix bounced it (its own DSN)" \
    'bs_poll "grep -q \"status=bounced\" \"$R/maillog\""'
check "the real DSN came back to the tag and reached alice" \
    'mbox_wait alice 1 && mbox_last alice | grep -q "report-type=delivery-status"'
check "... judged valid, its returned original known" \
    'milterlog_has "to=<prvs=[0-9a-f]{10}=alice@example\.com> from=<> .*verdict=valid action=accept.*kind=delivery-report.*ref=returned:known"'
alice_n=$(mbox_count alice)
tag=$(sed -n -E 's/.*to=<(prvs=[0-9a-f]{10}=alice@example\.com)> from=<> .*verdict=valid.*/\1/p' \
    "$BS_W/milter.log" | head -1)

# the same DSN, forged: another original Message-ID, sent to the same valid tag
mbox_last alice | sed -e '1d' -e '/^Return-Path:/d' -e '/^Delivered-To:/d' -e '/^X-Backstop:/d' \
    -e 's/Hello\.1@Example\.COM/forged.9@example.com/g' > "$BS_W/forged.eml"
pf_send_ext '' "$tag" --data "@$BS_W/forged.eml"
check "a forged DSN to the valid tag: delivered (OnUnknownOriginal mark)" \
    'mbox_wait alice $((alice_n + 1)) && mbox_last alice | grep -q "^X-Backstop: unknown-original"'
check "... logged as unknown-original with the reference" \
    'milterlog_has "verdict=unknown-original action=accept.*ref=returned:unknown"'
alice_n=$(mbox_count alice)

# an Exchange-style out-of-office: null sender, untagged To, answering alice's message
oof() {
	cat <<MSG
From: Friend <friend@remote.example>
To: alice@example.com
Subject: Automatic reply: hello there
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
In-Reply-To: $1
References: $1
Thread-Topic: hello there
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

I am out of the office until Monday.
MSG
}
oof "<Hello.1@example.com>" > "$BS_W/oof.eml"
pf_send_ext '' alice@example.com --data "@$BS_W/oof.eml"
check "an out-of-office answering alice's message: delivered" \
    'mbox_wait alice $((alice_n + 1)) && mbox_last alice | grep -q "^Subject: Automatic reply"'
check "... logged proven, by In-Reply-To" \
    'milterlog_has "to=<alice@example.com> from=<> .*verdict=proven action=accept.*kind=auto-reply \(auto-generated\) ref=in-reply-to:known"'
alice_n=$(mbox_count alice)
oof "<never.sent@example.com>" > "$BS_W/oof2.eml"
pf_send_ext '' alice@example.com --data "@$BS_W/oof2.eml"
check "an out-of-office answering a message alice never sent: 550 5.7.1 at end of data" \
    'grep -q "^<\*\* *550 5.7.1" "$BS_W/last.smtp" && ! grep -q "queued as" "$BS_W/last.smtp"'
check "... Postfix logged the milter's refusal" \
    'maillog_has "milter-reject: END-OF-MESSAGE from .*: 5\.7\.1 <alice@example\.com>: auto-reply to a message this address never sent \(backscatter\)"'
check "... and alice got nothing" 'sleep 1; [ "$(mbox_count alice)" -eq "$alice_n" ]'

# a vacation responder with a real sender, answering a spam forged as alice
sed -e 's/^Auto-Submitted: .*/Auto-Submitted: auto-replied/' "$BS_W/oof2.eml" > "$BS_W/vac.eml"
pf_send_ext robot@remote.example alice@example.com --data "@$BS_W/vac.eml"
check "a non-null auto-reply answering unsent mail: delivered, marked auto-reply" \
    'mbox_wait alice $((alice_n + 1)) && mbox_last alice | grep -q "^X-Backstop: auto-reply"'
alice_n=$(mbox_count alice)
echo "OnAutoReply reject" >> "$BS_CONF"
kill -USR1 "$BS_MILTER_PID"
bs_poll 'milterlog_has "reloaded .*\(SIGUSR1\)"' || bail "the milter did not reload"
pf_send_ext robot@remote.example alice@example.com --data "@$BS_W/vac.eml"
check "with OnAutoReply reject: the same auto-reply gets 550 5.7.1 at end of data" \
    'grep -q "^<\*\* *550 5.7.1 <alice@example.com>: auto-reply to a message this address never sent" "$BS_W/last.smtp"'
check "... and alice got nothing" 'sleep 1; [ "$(mbox_count alice)" -eq "$alice_n" ]'
echo "1..$n"
