#!/bin/bash
# replies.sh: the real backstop-milter with a real store judges replies, read receipts,
# auto-replies and bounces at end of message by the sent record (replies.lua, one case per
# row of the decisions table), and logs each decision with its reference. Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
here="$top_srcdir/tests/milter"
bin="$top_builddir/src"
export BACKSTOP_NOW=1764183600
work=$(mktemp -d /tmp/backstop-milter-replies.XXXXXX)
pids=()
n=0
failed=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
logged() { grep -qs -- "$2" "$work/$1.log"; }
await() {
	local i
	for ((i = 0; i < 400; i++)); do logged "$1" "$2" && return 0; sleep 0.05; done
	return 1
}

write_conf() {
	cat > "$work/$1.conf" <<CONF
Socket unix:$work/$1.sock
KeyDirectory $work/keys
ReplayDatabase $work/$1.db
Domains example.com
InternalHosts 127.0.0.0/8
TaggingSince 2020-01-01
SentSince 2020-01-01
OnUntagged reject
MaxBouncesPerTag 2
Syslog no
Background no
LogLevel debug
$2
CONF
	mkdir -p "$work/$1.db"
}
start() {
	"$bin/backstop-milter" -f -c "$work/$1.conf" 2> "$work/$1.log" &
	pids+=($!)
	for _ in $(seq 200); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
	echo "Bail out! $1 did not start: $(cat "$work/$1.log")"
	exit 1
}
mt() {
	local inst=$1 script=$2
	if miltertest -s "${scriptdir:-$here}/$script" -D sock="unix:$work/$inst.sock" -D srcdir="$here" \
	    -D valid="$valid" -D dry="${dry:-no}" > "$work/$inst-$script.out" 2>&1
	then ok "$script ($inst)"; else not_ok "$script ($inst)"; sed 's/^/#   /' "$work/$inst-$script.out"; fi
}

write_conf main ""
write_conf strict "OnAutoReply reject
OnUnknownOriginal reject"
write_conf rcpt "UntaggedBounceDecision rcpt"
write_conf dry "DryRun yes
OnAutoReply reject
OnUnknownOriginal reject"
BACKSTOP_NOW=$((BACKSTOP_NOW - 30 * 86400)) "$bin/backstop-keys" -c "$work/main.conf" init \
    > "$work/init.out" 2>&1 || { echo "Bail out! backstop-keys init: $(cat "$work/init.out")"; exit 1; }
valid=$("$bin/backstop-keys" -c "$work/main.conf" sign alice@example.com)
write_conf inonly ""
sed -i '/^SentSince/d' "$work/inonly.conf"	# auto: an inbound-only MX records nothing
for i in main strict rcpt dry inonly; do start "$i"; done

mt main replies.lua
line() { grep -s -- "$1: to=" "$work/main.log" | grep -v "action=pending" | head -1; }
row() { # row QID VERDICT ACTION REF what: the EOM line of QID says so
	if line "$1" | grep -q "verdict=$2 action=$3.*; kind=.* ref=$4"; then
		ok "$5: logged $2/$3 with $4"
	else
		not_ok "$5: logged $2/$3 with $4"; echo "#   $(line "$1")"
	fi
}
check "outbound mail recorded with its Message-ID, normalised" \
	'logged main "QSENT1: from=<alice@example.com> message-id=<sent1.Alice@example.com> recorded (1 recipient(s))"'
check "a message without Message-ID gets one, recorded" \
	'logged main "QSENTN: the message had no Message-ID: added <" && logged main "QSENTN: from=<alice@example.com> message-id=<.*> recorded"'
row QOOF1 proven accept in-reply-to:known "null-sender out-of-office answering alice's mail"
row QOOF2 untagged reject in-reply-to:unknown "null-sender out-of-office answering unsent mail"
row QOOF3 auto-reply accept absent "one answering mail bob (another of ours) sent, to alice"
row QOOF4 auto-reply accept absent "an auto-reply with no reference"
row QMDN1 proven accept returned:known "a read receipt of alice's mail"
row QOTHER1 proven accept references:known "a null-sender reply by References"
row QOTHER2 untagged reject in-reply-to:unknown "a null-sender message answering unsent mail"
row QLIMIT2 replay reject in-reply-to:known "the third answer to one message (MaxBouncesPerTag 2)"
row QDSN1 proven accept returned:known "an untagged delivery report of mail alice sent unsigned"
row QDSN1B untagged reject returned:unknown "an untagged delivery report of mail never sent"
row QDSN2 valid accept returned:known "a delivery report to a valid tag, original known"
row QDSN3 unknown-original accept returned:unknown "one whose original was never sent"
row QAUTO1 proven accept in-reply-to:known "a non-null auto-reply answering alice's mail"
row QAUTO2 auto-reply accept in-reply-to:unknown "a non-null auto-reply answering unsent mail"
check "a refused message is logged as refused, with the reason" \
	'logged main "QOOF2: message refused: every recipient was refused"'
check "a notice with a sender (auto-generated) is judged as ordinary mail" \
	'logged main "QNOTICE: to=<alice@example.com> .*verdict=untagged action=accept.*kind=auto-reply (auto-generated)"'
check "a refused recipient of an accepted message is removed, and logged" \
	'logged main "QMIX: to=<carol@example.com> removed from the message"'
check "the pending RCPT line is at debug level" \
	'logged main "debug: QOOF1: to=<alice@example.com> .*action=pending"'
mt strict replies-strict.lua
check "OnAutoReply reject: logged" 'logged strict "QSTRICT1: to=<alice@example.com> .*verdict=auto-reply action=reject"'
check "a partial refusal of mail with a sender: kept and marked, logged" \
	'logged strict "QSTRICT3: to=<alice@example.com> kept and marked, not removed"'
check "a Message-ID that does not parse: no second one added, said why" \
	'logged main "QSENTBAD: the message.s Message-ID does not parse: not recorded"'
check "OnUnknownOriginal reject: logged" 'logged strict "QSTRICT2: to=<$valid> .*verdict=unknown-original action=reject"'
mt rcpt bounce-untagged.lua
check "UntaggedBounceDecision rcpt: refused at RCPT as before" \
	'logged rcpt "QUNTAGGED: to=<alice@example.com> .*verdict=untagged action=reject"'
dry=yes mt dry replies-strict.lua
check "DryRun: what it would have refused is logged so" \
	'logged dry "QSTRICT1: to=<alice@example.com> .*verdict=auto-reply action=accept (DryRun: would have refused)"'
cat > "$work/inonly.lua" <<'LUA'
dofile(srcdir .. "/common.lua")
local conn = open("192.0.2.32")
mail(conn, "<>", "QINONLY")
check(rcpt(conn, "<alice@example.com>") == SMFIR_CONTINUE, "refused at RCPT")
check(mt.header(conn, "Auto-Submitted", "auto-replied") == nil, "header")
check(mt.header(conn, "In-Reply-To", "<sent.elsewhere@example.com>") == nil, "header")
check(mt.eom(conn) == nil, "eom")
check(mt.getreply(conn) == SMFIR_CONTINUE, "refused: an unknown reference counted")
mt.disconnect(conn)
LUA
scriptdir="$work" mt inonly inonly.lua
check "SentSince auto on a host that recorded nothing: an unknown reference counts as absent" \
	'logged inonly "QINONLY: to=<alice@example.com> .*verdict=auto-reply action=accept.* ref=in-reply-to:absent (unknown, counted as absent until SentSince + SentRetention)"'
echo "1..$n"
[ "$failed" -eq 0 ]
