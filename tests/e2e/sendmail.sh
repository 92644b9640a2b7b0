#!/bin/bash
# sendmail.sh: backstop-milter in front of a private Sendmail 8.17 (Debian's, unpacked by
# contrib/install-deps.sh since its package conflicts with postfix), configured with
# contrib/sendmail/backstop.mc itself: outbound senders signed, valid bounces to a relayed and
# to a local domain delivered once and untagged, forged bounces refused at RCPT and untagged
# ones at end of data, an out-of-office judged by the message it answers,
# mail to a tagged address stripped. Sendmail listens on loopback, relays to smtp-sink and
# delivers local mail with a script into BS_W/local. Prints TAP. Needs root (else exit 77).
set -u
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a private Sendmail daemon)"; exit 77; }
SM_ROOT=${BACKSTOP_SENDMAIL_ROOT:-/opt/backstop-sendmail}
SM="$SM_ROOT/usr/libexec/sendmail/sendmail"
SM_CF="$SM_ROOT/usr/share/sendmail/cf"
[ -x "$SM" ] && [ -f "$SM_CF/m4/cf.m4" ] ||
	{ echo "Bail out! no Sendmail in $SM_ROOT: run contrib/install-deps.sh"; exit 1; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
. "$(cd "$(dirname "$0")" && pwd)/tap.sh"
need m4 smtp-sink swaks ss
export BACKSTOP_NOW=1764183600
bs_init "$(mktemp -d /tmp/backstop-sendmail.XXXXXX)"
SM_PORT=$(bs_free_port)

finish() {
	local rc=$?
	if [ -f "$BS_W/sm/sendmail.pid" ]; then
		kill "$(head -1 "$BS_W/sm/sendmail.pid")" 2>/dev/null
		bs_poll "! kill -0 $(head -1 "$BS_W/sm/sendmail.pid") 2>/dev/null"
	fi
	if [ "$failed" -ne 0 ]; then
		echo "# ---- milter log (tail)"; tail -20 "$BS_W/milter.log" | sed 's/^/#   /'
		echo "# ---- last SMTP dialogue"; sed 's/^/#   /' "$BS_W/last.smtp"
	fi
	bs_cleanup
	exit $rc
}
trap finish EXIT
trap 'exit 1' INT TERM


# ---- backstop, the sink, and Sendmail built from the contrib snippet ----
bs_write_conf "SentSince 2020-01-01"
bs_keys_init || bail "backstop-keys init failed: $(cat "$BS_W/keys-init.out")"
sink_start || bail "smtp-sink did not start"
milter_start || bail "backstop-milter did not start: $(cat "$BS_W/milter.log")"

mkdir -p "$BS_W/sm/q" "$BS_W/local"
chmod 700 "$BS_W/sm/q"
printf 'postmaster: root\nalice: root\n' > "$BS_W/sm/aliases"	# alice: no system user
touch "$BS_W/sm/statistics"
cat > "$BS_W/sm/deliver" <<'EOF'
#!/bin/sh
# the local mailer: one file per recipient and message; the user is the last argument
# (Sendmail puts "-f sender" before it)
for u; do :; done
cat > "$(dirname "$0")/../local/$u.$$"
EOF
chmod 755 "$BS_W/sm/deliver"
# the test's own frame: private paths and ports, example.net relayed to the sink,
# example.com local; then the snippet exactly as shipped, with the milter's port
{
	cat <<MC
divert(-1)
include(\`$SM_CF/m4/cf.m4')
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.example.com')dnl
define(\`QUEUE_DIR', \`$BS_W/sm/q')dnl
define(\`ALIAS_FILE', \`$BS_W/sm/aliases')dnl
define(\`STATUS_FILE', \`$BS_W/sm/statistics')dnl
define(\`confPID_FILE', \`$BS_W/sm/sendmail.pid')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,TrustStickyBit,MapInUnsafeDirPath')dnl
define(\`confDELIVERY_MODE', \`interactive')dnl
define(\`LOCAL_MAILER_PATH', \`$BS_W/sm/deliver')dnl
define(\`LOCAL_MAILER_ARGS', \`deliver \$u')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK_PORT')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
LOCAL_DOMAIN(\`example.com')dnl
RELAY_DOMAIN(\`example.net')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
MC
	sed "s/inet:8891@127\.0\.0\.1/inet:$MILTER_PORT@127.0.0.1/" \
	    "$BS_CONTRIB/sendmail/backstop.mc"
	printf "MAILER(\`local')dnl\nMAILER(\`smtp')dnl\n"
} > "$BS_W/sm/test.mc"
m4 "$BS_W/sm/test.mc" > "$BS_W/sm/test.cf" 2> "$BS_W/sm/m4.err" ||
	bail "m4: $(cat "$BS_W/sm/m4.err")"
check "the snippet declares the milter on backstop's socket" \
    "grep -q '^Xbackstop, S=inet:$MILTER_PORT@127.0.0.1, F=T' '$BS_W/sm/test.cf'"
check "the snippet adds {daemon_name} to the MAIL macros" \
    "grep -q '^O Milter.macros.envfrom=.*{daemon_name}' '$BS_W/sm/test.cf'"
parsed=$(echo '3,0 prvs=0123abcdef=alice@example.com' | "$SM" -C "$BS_W/sm/test.cf" -bt 2>&1 |
	grep '^parse ' | tail -1)
check "the snippet's rule strips the tag of a local address (sendmail -bt)" \
    "[[ '$parsed' == *'\$# local \$: alice' ]]"
"$SM" -C "$BS_W/sm/test.cf" -bi > "$BS_W/sm/newaliases.out" 2>&1 ||
	bail "newaliases: $(cat "$BS_W/sm/newaliases.out")"
"$SM" -C "$BS_W/sm/test.cf" -bd -q30m > "$BS_W/sm/daemon.out" 2>&1 ||
	bail "sendmail -bd: $(cat "$BS_W/sm/daemon.out")"
bs_wait_port "$SM_PORT" || bail "Sendmail did not listen on $SM_PORT: $(cat "$BS_W/sm/daemon.out")"

smt() { pf_send "$SM_PORT" "$@"; }
ext() { local f=$1 t=$2; shift 2; smt "$f" "$t" --local-interface "$BS_EXT_IP" "$@"; }
local_count() { find "$BS_W/local" -type f -name "$1.*" | wc -l; }

# ---- outbound: signed ----
smt carol@example.com dave@example.net
check "outbound: accepted" "smtp_said '250 2.0.0'"
sink_wait 1
f=$(sink_grep 'X-Rcpt-Args: <dave@example.net>' | head -1)
check "outbound: left with a prvs= sender" \
    "grep -q -E '^X-Mail-Args: <prvs=[0-9]{4}[0-9a-f]{6}=carol@example.com>' '$f'"
check "outbound: the decision is logged with Sendmail's queue id" \
    "milterlog_has '[0-9A-Za-z]{14}: from=<carol@example.com> signed as <prvs='"

# ---- bounces to the local domain ----
tag=$(bs_sign alice@example.com 1)
ext '' "$tag"
check "valid bounce to a local tag: 250 at RCPT" "smtp_said '250 2.1.5'"
bs_poll "[ \$(local_count root) -ge 1 ]"
check "valid bounce: delivered once, to alice (aliased to root)" "[ \$(local_count root) -eq 1 ]"
f=$(find "$BS_W/local" -type f -name 'root.*' | head -1)
check "valid bounce: X-Backstop says it was valid" \
    "grep -q '^X-Backstop: valid <$tag>' '$f'"
ext '' alice@example.com
check "untagged bounce: 550 5.7.1 at end of data (UntaggedBounceDecision eom)" \
    "smtp_said '550 5\.7\.1 bounce to an unsigned address \(backscatter\)\$' && ! smtp_said '250 2.0.0'"
c=${tag:14:1}	# the last character of the MAC: changed, the tag is forged
forged="${tag:0:14}$([ "$c" = 0 ] && echo 1 || echo 0)${tag:15}"
ext '' "$forged"
check "forged tag ($forged): 550 5.7.1 at RCPT" "smtp_said '550 5.7.1'"
ext '' "$(bs_sign nosuchuser@example.com)"
check "a valid tag of a user Sendmail does not know: still 550 5.1.1" "smtp_said '550 5.1.1'"
ext bob@example.org "$tag"
check "non-bounce to a tag: accepted" "smtp_said '250 2.1.5'"
bs_poll "[ \$(local_count root) -ge 2 ]"
check "non-bounce to a tag: delivered to alice, tag stripped" "[ \$(local_count root) -eq 2 ]"
check "nothing went to a mailbox named after the tag" \
    "[ -z \"\$(find '$BS_W/local' -name 'prvs*')\" ]"
check "the milter refused two bounces and accepted one" \
    "[ \$(grep -c 'action=reject' '$BS_W/milter.log') -eq 2 ] &&
     [ \$(grep -c 'bounce=yes verdict=valid action=accept' '$BS_W/milter.log') -eq 1 ]"

# ---- an Exchange-style out-of-office answering alice's message, through Sendmail ----
smt alice@example.com dave@example.net --header "Message-Id: <sm.hello.1@example.com>"
check "outbound with a Message-ID: recorded" \
    "bs_poll \"milterlog_has 'from=<alice@example.com> message-id=<sm.hello.1@example.com> recorded'\""
before=$(local_count root)
oof() {
	printf 'From: dave@example.net\nTo: alice@example.com\nSubject: Automatic reply: test\n'
	printf 'Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\nIn-Reply-To: %s\n' "$1"
	printf '\nI am out of the office.\n'
}
oof "<sm.hello.1@example.com>" > "$BS_W/oof.eml"
ext '' alice@example.com --data "@$BS_W/oof.eml"
check "an out-of-office answering alice's message: accepted at end of data" "smtp_said '250 2.0.0'"
bs_poll "[ \$(local_count root) -gt $before ]"
check "... and delivered" "[ \$(local_count root) -eq $((before + 1)) ]"
check "... logged proven, by In-Reply-To" \
    "milterlog_has 'to=<alice@example.com> from=<> .*verdict=proven action=accept.*ref=in-reply-to:known'"
oof "<never.sent@example.com>" > "$BS_W/oof2.eml"
ext '' alice@example.com --data "@$BS_W/oof2.eml"
check "one answering a message alice never sent: 550 5.7.1 at end of data" \
    "smtp_said '550 5\.7\.1' && ! smtp_said '250 2.0.0'"

echo "1..$n"
[ "$failed" -eq 0 ]
