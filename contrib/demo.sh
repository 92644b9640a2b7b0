#!/bin/bash
# demo.sh: backstop's main job on a working default, for a newcomer on Debian 12 (as root).
# Installs the packages, builds, then runs backstop-milter and "srs-rewrite serve" in front of
# a private Postfix instance on 127.0.0.1 (its own configuration and queue under
# /var/tmp/backstop-demo; the system's Postfix is never touched), sends the scenario mail and
# prints what was sent, what was expected and what happened. Everything keeps running so
# you can send more; "contrib/demo.sh stop" stops it and removes the directory.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${BACKSTOP_DEMO_DIR:-/var/tmp/backstop-demo}

die() { echo "demo: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run me as root: Postfix's private instance and apt-get need it"

# the build directory: _build, or the source tree itself when it was configured in place
# (README's "./configure && make"), where a second, separate build is refused by configure
builddir() { if [ -f "$top/config.status" ]; then echo "$top"; else echo "$top/_build"; fi; }

load_lib() {
	top_builddir=$(builddir) top_srcdir="$top"
	export top_builddir top_srcdir
	# shellcheck source=../tests/e2e/lib.sh
	. "$top/tests/e2e/lib.sh"
}

# stop_demo: stop what a previous run left running, from the state it saved
stop_demo() {
	[ -f "$DEMO/demo.env" ] || return 0
	load_lib
	# shellcheck disable=SC1091
	. "$DEMO/demo.env"
	PF_STARTED=1
	bs_cleanup > /dev/null 2>&1
	for p in "${BS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$DEMO"
	echo "demo: stopped, $DEMO removed"
}

if [ "${1:-}" = stop ]; then
	stop_demo
	exit 0
fi
[ $# -eq 0 ] || die "usage: contrib/demo.sh [stop]"
stop_demo > /dev/null

echo "== installing the Debian packages backstop needs"
"$top/contrib/install-deps.sh" || die "package installation failed"
b=$(builddir)
echo "== building backstop in $b"
(
	cd "$top" && { [ -x configure ] || autoreconf -fi > /dev/null 2>&1; } &&
	mkdir -p "$b" && cd "$b" &&
	{ [ -f Makefile ] || "$top/configure" > configure.out 2>&1; } && make -j2 > make.out 2>&1
) || die "the build failed: see $b/configure.out and $b/make.out"

load_lib
unset BACKSTOP_NOW	# real time: the milter warns about a frozen clock
rm -rf "$DEMO"
mkdir -p "$DEMO"
bs_init "$DEMO"
bs_write_conf "MaxBouncesPerTag 25" "LogLevel info"
sed -i '/^LogLevel debug$/d' "$BS_CONF"
"$BS_BIN/backstop-keys" -c "$BS_CONF" init > "$DEMO/keys-init.out" 2>&1 ||
	die "backstop-keys init: $(cat "$DEMO/keys-init.out")"

echo "== starting an SMTP sink (the outside world), backstop-milter, srs-rewrite serve, Postfix"
# the daemons outlive this script: keep them off its standard output (a pipe into tee or
# less would otherwise never see the end)
sink_start > /dev/null || die "smtp-sink did not start: $(cat "$DEMO/sink.log")"
milter_start > /dev/null || die "backstop-milter did not start: $(cat "$DEMO/milter.log")"
srs_start > /dev/null || die "srs-rewrite serve did not start: $(cat "$DEMO/srs.log")"
pf_init || die "could not write the Postfix configuration"
P="$top/contrib/postfix"
pf_apply_main "$P/main.cf-milter" && pf_apply_main "$P/main.cf-prvs-socketmap" &&
	pf_conf "virtual_alias_maps = texthash:$PF_DIR/virtual, $(pf_get virtual_alias_maps)" &&
	pf_apply_main "$P/main.cf-srs-outbound" &&
	pf_apply_master "$P/master.cf-srs-outbound" "s/^127\\.0\\.0\\.1:10027 /127.0.0.1:$PF_REENTRY /" ||
	die "could not apply contrib/postfix"
pf_start > /dev/null || die "Postfix did not start: $(cat "$DEMO/postfix.out")"
{
	echo "BS_W='$BS_W' PF_DIR='$PF_DIR'"
	echo "BS_PIDS=(${BS_PIDS[*]})"
} > "$DEMO/demo.env"

rows=()
failures=0
# row SENT EXPECTED HAPPENED GOOD: one line of the table
row() {
	local verdict=PASS
	[ "$4" = yes ] || { verdict=FAIL; failures=$((failures + 1)); }
	rows+=("$1|$2|$3|$verdict")
}
# refusal: the first refusal of the last transaction (at RCPT, or at end of data)
refusal() { sed -n -E 's/^<\*\* +//p' "$BS_W/last.smtp" | head -1; }
last_sink() { ls -t "$BS_W"/sink/* 2>/dev/null | head -1; }
sink_from() { sed -n -E 's/^X-Mail-Args: <([^>]*)>.*/\1/p' "$1"; }
sink_rcpt() { sed -n -E 's/^X-Rcpt-Args: <([^>]*)>.*/\1/p' "$1"; }
hdr() { mbox_last "$1" | sed -n -E "1,/^\$/s/^$2: (.*)/\\1/p"; }

echo "== sending the scenario mail"
# 1. outbound mail from an internal client leaves with a prvs= sender
n=$(sink_count)
pf_send_int alice@example.com carol@outside.example --header "Subject: hello from alice" \
    --header "Message-Id: <hello.1@example.com>"
sink_wait $((n + 1))
S=$(last_sink)
tag=$(sink_from "$S")
good=no; [[ "$tag" =~ ^prvs=[0-9]{4}[0-9a-f]{6}=alice@example\.com$ ]] && good=yes
row "alice@example.com -> carol@outside.example (internal client)" \
    "leaves signed: prvs=KDDDSSSSSS=alice@..." "left as MAIL FROM:<$tag>" "$good"

# 2. the bounce to that signed address is accepted and reaches alice, untagged
n=$(mbox_count alice)
pf_send_ext '' "$tag" --header "Subject: Undelivered Mail Returned to Sender"
good=no
mbox_wait alice $((n + 1)) && [ "$(hdr alice Delivered-To)" = alice@example.com ] && good=yes
row "bounce <> -> $tag" "accepted, delivered to alice untagged" \
    "in alice's mailbox, X-Backstop: $(hdr alice X-Backstop | cut -c1-20)..." "$good"

# 3. a forged bounce to alice's plain address is refused
pf_send_ext '' alice@example.com --header "Subject: forged bounce"
r=$(refusal)
good=no; [[ "$r" =~ ^550\ 5\.7\.1 ]] && good=yes
row "forged bounce <> -> alice@example.com (no tag)" "550 5.7.1 at end of data" "${r:0:70}" "$good"

# 3b. an out-of-office reply (Exchange's: null sender, to the untagged address) that answers
# alice's message is delivered: the milter recorded that message's Message-ID
n=$(mbox_count alice)
printf '%s\n' "From: carol@outside.example" "To: alice@example.com" \
    "Subject: Automatic reply: hello from alice" "Auto-Submitted: auto-generated" \
    "In-Reply-To: <hello.1@example.com>" "" "I am out of the office." > "$BS_W/oof.eml"
pf_send_ext '' alice@example.com --data "@$BS_W/oof.eml"
good=no
mbox_wait alice $((n + 1)) && [[ "$(hdr alice X-Backstop)" == proven* ]] && good=yes
row "out-of-office <> -> alice@example.com, answering row 1" "delivered: it answers mail alice sent" \
    "in alice's mailbox, X-Backstop: $(hdr alice X-Backstop | cut -c1-26)..." "$good"

# 4. a bounce to a tag with a forged MAC is refused, by Postfix itself: the prvs map of
# srs-rewrite serve (main.cf-prvs-socketmap, as README recommends) knows only tags that verify
forged="${tag:0:10}$([ "${tag:10:1}" = 0 ] && echo 1 || echo 0)${tag:11}"
pf_send_ext '' "$forged"
r=$(refusal)
good=no; [[ "$r" =~ ^550\ 5\.1\.1 ]] && good=yes
row "forged bounce <> -> $forged" "550 5.1.1 at RCPT (prvs map)" "${r:0:70}" "$good"

# 5. mail to an alias forwarding off-site leaves with an SRS sender
n=$(sink_count)
pf_send_ext bob@other.example away@example.com --header "Subject: to be forwarded"
sink_wait $((n + 1))
S=$(last_sink)
srs=$(sink_from "$S")
good=no; [[ "$srs" =~ ^SRS0=.*=other\.example=bob@fwd\.example\.com$ ]] && good=yes
row "bob@other.example -> away@example.com (alias to carol@outside.example)" \
    "forwarded with an SRS0= sender" "left as MAIL FROM:<$srs>" "$good"

# 6. the bounce to that SRS address goes back to bob
n=$(sink_count)
pf_send_ext '' "$srs" --header "Subject: bounce of the forwarded mail"
sink_wait $((n + 1))
S=$(last_sink)
good=no; [ "$(sink_rcpt "$S")" = bob@other.example ] && good=yes
row "bounce <> -> $srs" "validated, reversed, relayed to bob" "relayed to <$(sink_rcpt "$S")>" "$good"

# 7. ordinary inbound mail is untouched
n=$(mbox_count bob)
pf_send_ext friend@other.example bob@example.com --header "Subject: ordinary mail"
good=no
mbox_wait bob $((n + 1)) && [ -z "$(hdr bob X-Backstop)" ] &&
    [ "$(hdr bob Return-Path)" = "<friend@other.example>" ] && good=yes
row "friend@other.example -> bob@example.com" "delivered untouched" \
    "in bob's mailbox, Return-Path $(hdr bob Return-Path)" "$good"

echo
printf '%-4s | %-62s | %-40s | %-60s | %s\n' "#" "sent" "expected" "happened" "result"
printf '%s\n' "$(printf -- '-%.0s' $(seq 185))"
i=0
for r in "${rows[@]}"; do
	i=$((i + 1))
	IFS='|' read -r sent exp got res <<< "$r"
	printf '%-4s | %-62s | %-40s | %-60s | %s\n' "$i" "${sent:0:62}" "$exp" "${got:0:60}" "$res"
done
cat <<MSG

The milter's decisions, one line each (from $DEMO/milter.log):
$(grep -E 'verdict=|signed as' "$DEMO/milter.log" | grep -v 'verdict=untagged action=accept' | sed 's/^/  /' | tail -8)

backstop keeps running: Postfix on 127.0.0.1:$PF_PORT (mail from 127.0.0.2 counts as outside,
from 127.0.0.1 as internal), the milter on 127.0.0.1:$MILTER_PORT, the SRS server on
$SRS_SOCK. Only mail that leaves the site gets an SRS sender (contrib/postfix/*srs-outbound).
Send more, for example a forged bounce (swaks needs '<>' for the null sender):
  swaks --server 127.0.0.1:$PF_PORT --local-interface 127.0.0.2 --from '<>' --to alice@example.com
and a bounce to a freshly signed address:
  tag=\$($BS_BIN/backstop-keys -c $BS_CONF sign alice@example.com)
  swaks --server 127.0.0.1:$PF_PORT --local-interface 127.0.0.2 --from '<>' --to "\$tag"
Watch: $DEMO/milter.log (decisions), $DEMO/maillog (Postfix), $DEMO/mail/ (mailboxes),
$DEMO/sink/ (mail that left the site). Configuration: $BS_CONF.
Stop it all: contrib/demo.sh stop
MSG
if [ "$failures" -ne 0 ]; then
	echo "demo: $failures scenario(s) did not go as expected" >&2
	exit 1
fi
