#!/bin/bash
# run.sh: drive the real backstop-milter, with a real key store and replay store, through
# miltertest scripts, and check the decision log lines it writes. Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
here="$top_srcdir/tests/milter"
bin="$top_builddir/src"
export BACKSTOP_NOW=1764183600
work=$(mktemp -d /tmp/backstop-milter-test.XXXXXX)
pids=()
n=0
failed=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# write_conf NAME EXTRA: a configuration for one milter instance on its own socket
write_conf() {
	cat > "$work/$1.conf" <<CONF
Socket unix:$work/$1.sock
KeyDirectory $work/keys
ReplayDatabase $work/$1.db
Domains example.com
SRSDomain fwd.example.com
InternalHosts 127.0.0.0/8
ExemptSenders noreply@example.com
ExemptRecipients lists.example.org
TaggingSince 2020-01-01
UntaggedBounceDecision rcpt
Syslog no
Background no
LogLevel debug
$2
CONF
}

start() {
	mkdir -p "$work/$1.db"
	"$bin/backstop-milter" -f -c "$work/$1.conf" 2> "$work/$1.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
	echo "# $1 did not start:"; sed 's/^/#   /' "$work/$1.log"
	return 1
}

mt() {
	local inst=$1 script=$2; shift 2
	miltertest -s "$here/$script" -D sock="unix:$work/$inst.sock" -D srcdir="$here" \
	    -D valid="$valid" -D valid2="$valid2" -D expired="$expired" -D badmac="$badmac" \
	    -D unknown="$unknown" -D replaytag="$replaytag" -D srsvalid="$srsvalid" \
	    -D srsbad="$srsbad" "$@" > "$work/$script.out" 2>&1
}

run_script() {
	if mt "$@"; then ok "$2"; else not_ok "$2"; sed 's/^/#   /' "$work/$2.out"; fi
}

logged() { grep -q -- "$2" "$work/$1.log"; }
# await INST PATTERN: logged within 20 s (under valgrind a daemon logs seconds later)
await() {
	local i
	for ((i = 0; i < 400; i++)); do logged "$1" "$2" && return 0; sleep 0.05; done
	return 1
}

write_conf enforce "MaxBouncesPerTag 3"
write_conf dryrun "DryRun yes"
write_conf load "MaxBouncesPerTag 0"
BACKSTOP_NOW=$((BACKSTOP_NOW - 30 * 86400)) "$bin/backstop-keys" -c "$work/enforce.conf" init > "$work/init.out" 2>&1 ||
	{ echo "Bail out! backstop-keys init failed: $(cat "$work/init.out")"; exit 1; }
sign() { "$bin/backstop-keys" -c "$work/enforce.conf" sign "$1"; }
valid=$(sign alice@example.com)
valid2=$(sign dave@example.com)
replaytag=$(sign erin@example.com)
expired=$(BACKSTOP_NOW=$((BACKSTOP_NOW - 10 * 86400)) sign alice@example.com)
badmac="${valid:0:10}$( [ "${valid:10:1}" = 0 ] && echo 1 || echo 0)${valid:11}"
unknown="prvs=3123abcdef=alice@example.com"
srsvalid=$("$bin/srs-rewrite" -c "$work/enforce.conf" forward bob@other.example)
srsbad="SRS0=aaaaa=${srsvalid:11:2}=other.example=bob@fwd.example.com"
echo "# valid=$valid expired=$expired badmac=$badmac srs=$srsvalid"
case "$valid" in prvs=0?????????=alice@example.com) ;; *)
	echo "Bail out! backstop-keys sign gave '$valid'"; exit 1;; esac

# ---- -n: what would stop a start is found before it ----
nck() { "$bin/backstop-milter" -n -c "$work/$1.conf" > "$work/$1.n" 2>&1; r=$?; }
mkdir -p "$work/enforce.db"
nck enforce
check "-n: a good configuration: exit 0, says OK" \
	'[ $r -eq 0 ] && grep -q "configuration OK; 1 key(s)" "$work/enforce.n"'
write_conf nodb ""
sed -i "s|^ReplayDatabase .*|ReplayDatabase $work/no-such-dir|" "$work/nodb.conf"
nck nodb
check "-n: a missing ReplayDatabase directory: exit 1, says to create it" \
	'[ $r -eq 1 ] && grep -q "no-such-dir: No such file or directory: create it" "$work/nodb.n"'
write_conf nouser "UserID no-such-user"
nck nouser
check "-n: an unknown UserID: exit 1, named" \
	'[ $r -eq 1 ] && grep -q "UserID no-such-user in .*: no such user" "$work/nouser.n"'
write_conf quiet ""
sed -i 's/^Background no$/Background yes/' "$work/quiet.conf"
mkdir -p "$work/quiet.db"
nck quiet
check "-n: Syslog no with Background yes: still 0, but a warning that logs would go nowhere" \
	'[ $r -eq 0 ] && grep -q "warning: Syslog no with Background yes" "$work/quiet.n"'
write_conf redis "ReplayRedis unix:$work/no-redis.sock"
mkdir -p "$work/redis.db"
nck redis
check "-n: a ReplayRedis that does not answer: still 0 (the fallback takes over), with a warning naming it" \
	'[ $r -eq 0 ] && grep -q "warning: ReplayRedis unix:$work/no-redis.sock in .*: .*until it answers, ReplayRedisFallback decides" "$work/redis.n"'
write_conf risky "InternalHosts 0.0.0.0/0"
sed -i '/^InternalHosts 127.0.0.0\/8$/d' "$work/risky.conf"
mkdir -p "$work/risky.db"
nck risky
check "-n: InternalHosts 0.0.0.0/0: still 0, but a warning that no bounce would be checked" \
	'[ $r -eq 0 ] && grep -q "warning: .*InternalHosts has a /0 network" "$work/risky.n"'
write_conf rodb "UserID nobody"
mkdir -p "$work/rodb.db"
nck rodb
check "-n: a store UserID cannot reach: exit 1, says so" \
	'[ $r -eq 1 ] && grep -q "ReplayDatabase in .*rodb.db: .*daemon.s user" "$work/rodb.n"'

write_conf overlap ""
sed -i 's/^SRSDomain .*/SRSDomain example.com/' "$work/overlap.conf"
nck overlap
check "-n: SRSDomain one of Domains: exit 1, says where and why" \
	'[ $r -eq 1 ] && grep -q "overlap.conf:5: SRSDomain: .example.com. is in Domains (line 4): prvs tags to it would be read as SRS addresses and refused as untagged" "$work/overlap.n"'
write_conf nopiddir "PidFile $work/no-such-dir/milter.pid"
mkdir -p "$work/nopiddir.db"
nck nopiddir
check "-n: a PidFile in a missing directory: exit 0 (systemd may make it), with a warning" \
	'[ $r -eq 0 ] && grep -q "warning: PidFile .*no-such-dir/milter.pid in .*: its directory does not exist" "$work/nopiddir.n"'
write_conf pidlink "PidFile $work/pidlink.pid"
mkdir -p "$work/pidlink.db"
ln -s /etc/hostname "$work/pidlink.pid"
nck pidlink
check "-n: a symbolic link at PidFile (the start refuses it): exit 1, says so" \
	'[ $r -eq 1 ] && grep -q "PidFile .*pidlink.pid in .*: a symbolic link" "$work/pidlink.n"'
write_conf nosockdir ""
sed -i "s|^Socket .*|Socket unix:$work/no-such-dir/m.sock|" "$work/nosockdir.conf"
mkdir -p "$work/nosockdir.db"
nck nosockdir
check "-n: a unix Socket in a missing directory: exit 0, with a warning" \
	'[ $r -eq 0 ] && grep -q "warning: Socket unix:.*no-such-dir/m.sock in .*: its directory does not exist" "$work/nosockdir.n"'

start enforce || { echo "Bail out! milter did not start"; exit 1; }
start dryrun || { echo "Bail out! DryRun milter did not start"; exit 1; }
start load || { echo "Bail out! load milter did not start"; exit 1; }

run_script enforce bounce-untagged.lua
check "untagged bounce logged with the reason" \
	'logged enforce "QUNTAGGED: to=<alice@example.com> from=<> client=client.example.net\[192.0.2.10\] bounce=yes verdict=untagged action=reject: bounce to an unsigned address (backscatter)"'
check "a root dot does not get past: judged as untagged" \
	'logged enforce "QUNTAGGED: to=<alice@example.com.> from=<> .* bounce=yes verdict=untagged action=reject"'
check "nor a recipient without a domain" \
	'logged enforce "QUNTAGGED: to=<alice> from=<> .* bounce=yes verdict=untagged action=reject"'
check "an unparsable address of ours: logged, refused as malformed" \
	'logged enforce "QUNTAGGED: to=<x..y@example.com> .*verdict=malformed action=reject: bounce to an address of ours that does not parse"'
check "an unparsable foreign address: not logged, none of ours" '! logged enforce "x..y@elsewhere"'
run_script enforce bounce-routed.lua
for to in 'alice%example.com@localhost' 'example.com!alice@localhost' \
    'alice%example.com@mx.example.com' 'ALICE%EXAMPLE.COM@LOCALHOST' \
    'alice%example.com@\[192.0.2.25\]' '@hop.example.org:alice%example.com@localhost'; do
	as=alice@example.com
	[[ $to == *ALICE* ]] && as=ALICE@EXAMPLE.COM
	check "routed spelling $to: judged as untagged, refused" \
	    'logged enforce "QROUTED: to=<$to> from=<> .* verdict=untagged action=reject: bounce to an unsigned address (backscatter); judged as <$as>"'
done
check "routed to a foreign domain, or the MTA's names as written: not logged, none of ours" \
	'! logged enforce "to=<bob%elsewhere.example@localhost>" && ! logged enforce "to=<alice@localhost>" && ! logged enforce "to=<alice@mx.example.com>"'
check "resolved by the MTA's {rcpt_addr}: judged as that" \
	'logged enforce "QROUTED2: to=<alice%example.com@relay.example.org> .* verdict=untagged action=reject.*judged as <alice@example.com>"'
check "a routed form the milter cannot resolve to one of Domains: refused, says why" \
	'logged enforce "QROUTED3: to=<alice%mail.example.org@localhost> .* verdict=unresolved action=reject: bounce to a routed address whose mailbox cannot be judged (backscatter)"'
check "ordinary mail to it: accepted" \
	'! logged enforce "QROUTED4: .*action=reject"'
run_script enforce bounce-valid.lua
check "valid bounce logged, stripped" 'logged enforce "QVALID: to=<$valid> .*verdict=valid action=accept" && logged enforce "QVALID: to=<$valid> rewritten to <alice@example.com>"'
run_script enforce bounce-invalid.lua
for v in expired badmac unknown-key malformed; do
	check "$v tag logged as rejected" 'logged enforce "QINVALID: .*verdict=$v action=reject"'
done
run_script enforce bounce-replay.lua
check "replay logged" 'logged enforce "QREPLAY4: .*verdict=replay action=reject: too many bounces"'
check "the same tag spelled otherwise is the same record: replay" \
	'logged enforce "QREPLAY5: .*verdict=replay action=reject"'
for i in 1 2 3; do
	check "the same tag routed through localhost (spelling $i) is the same record: replay" \
	    'logged enforce "QREPLAYR$i: .*verdict=replay action=reject"'
done
run_script enforce bounce-srs.lua
check "SRS decisions logged" 'logged enforce "QSRS: .*verdict=srs-invalid action=reject" && logged enforce "QSRS: .*verdict=srs-valid action=accept"'
run_script enforce bounce-mixed.lua
run_script enforce mail-tagged.lua
check "forged headers removal logged" 'logged enforce "QMAIL: removed 2 incoming X-Backstop"'
run_script enforce outbound.lua
check "internal client's sender signed" 'logged enforce "QOUT1: from=<alice@example.com> signed as <prvs=0"'
check "exempt sender not signed" 'logged enforce "QOUT2: from=<noreply@example.com> not signed: exempt sender"'
check "exempt recipient leaves it unsigned" 'logged enforce "QOUT3: from=<alice@example.com> not signed: exempt recipient"'
check "outbound null sender not rejected nor signed" '! logged enforce "QOUT4: .*action=reject"'
check "an empty sender is the null sender, not a parse error" '! logged enforce "QOUT6: sender"'
check "a foreign sender is left unsigned, and the debug log says why" \
	'logged enforce "QOUT7: from=<someone@other.example> not signed: the sender.s domain is not in Domains"'
check "the unix socket is open to the MTA's user (0666 without UserID)" '[ "$(stat -c %a "$work/enforce.sock")" = 666 ]'
check "authenticated sender signed" 'logged enforce "QOUT5: from=<bob@example.com> signed as <prvs="'
count=$("$bin/backstop-replay" -c "$work/enforce.conf" show "$replaytag" 2>&1)
check "replay store counted 3 bounces to the tag" '[[ "$count" =~ (count|bounces)[:=\ ]+3 ]]'
[[ "$count" =~ (count|bounces)[:=\ ]+3 ]] || echo "# backstop-replay show: $count"

# a second milter started on a Socket that a running one serves must not take it over:
# libmilter would unlink the live socket, and the MTA could reach neither
sed "s#^ReplayDatabase .*#ReplayDatabase $work/second.db#" "$work/enforce.conf" > "$work/second.conf"
mkdir -p "$work/second.db"
ino=$(stat -c %i "$work/enforce.sock")
rc2=0
timeout 10 "$bin/backstop-milter" -f -c "$work/second.conf" 2> "$work/second.log" || rc2=$?
check "a second milter on the running one's unix Socket exits 1 (got $rc2)" '[ "$rc2" -eq 1 ]'
check "... saying another milter answers there" 'logged second "another milter answers on it"'
check "... and the running milter keeps its socket" '[ "$(stat -c %i "$work/enforce.sock")" = "$ino" ]'
run_script enforce mail-tagged.lua

run_script dryrun dryrun.lua
check "DryRun logs what it would have refused" 'logged dryrun "QDRY: to=<alice@example.com> .*verdict=untagged action=accept (DryRun"'
check "DryRun logs an unjudgeable routed bounce it would have refused" \
	'logged dryrun "QDRY: to=<alice%mail.example.org@localhost> .*verdict=unresolved action=accept (DryRun"'

for i in $(seq 20); do
	mt load load.lua -D client="$i" &
	loaders+=($!)
done
lfail=0
for p in "${loaders[@]}"; do wait "$p" || lfail=$((lfail + 1)); done
check "200 messages over 20 parallel connections, no error" '[ "$lfail" -eq 0 ]'
[ "$lfail" -eq 0 ] || sed 's/^/#   /' "$work/load.lua.out"
check "every load message decided" '[ "$(grep -c "QLOAD.*verdict=" "$work/load.log")" -ge 140 ]'
check "no errors in the logs" '! grep -qiE "error|failed" "$work/enforce.log" "$work/load.log"'

# a corrupt replay.db: the milter starts all the same, answers OnInternalError only where the
# store is needed, and picks the store up after backstop-replay salvage and SIGUSR1
write_conf corrupt "MaxBouncesPerTag 3"
mkdir -p "$work/corrupt.db"
"$top_builddir/tests/unit/replay-seed" "$work/corrupt.db" "$BACKSTOP_NOW" 20425 2 "$valid" ||
	echo "# replay-seed failed"
printf '\0\0\0\0' | dd of="$work/corrupt.db/replay.db" bs=1 seek=12 conv=notrunc 2>/dev/null
if start corrupt; then ok "a corrupt replay.db: the milter starts"; else not_ok "a corrupt replay.db: the milter starts"; fi
corrupt_pid=${pids[-1]}
check "... and logs at error level what is wrong and the commands that fix it" \
	'await corrupt "error: replay store unavailable (the replay store is corrupt): .*corrupt.db/replay.db: .*backstop-replay verify.*backstop-replay salvage.*SIGUSR1"'
run_script corrupt corrupt-store.lua -D phase=broken
check "a bounce to a valid tag gets OnInternalError, logged with the reason" \
	'logged corrupt "QCORRUPT1: to=<$valid> .*verdict=error action=tempfail: the replay store failed: the replay store is not open"'
check "an untagged bounce is still refused as such" 'logged corrupt "QCORRUPT2: .*verdict=untagged action=reject"'
check "outbound mail is still signed" 'logged corrupt "QCORRUPT3: from=<alice@example.com> signed as <prvs=0"'
check "... and, unrecorded, gets OnInternalError, logged with the reason" \
	'logged corrupt "QCORRUPT3: from=<alice@example.com>: sent message not recorded: the replay store is not open: message temporarily refused (OnInternalError)"'
"$bin/backstop-replay" -c "$work/corrupt.conf" salvage > "$work/salvage.out" 2>&1
check "backstop-replay salvage beside the running milter keeps the readable record" \
	'grep -q "salvaged 1 record into" "$work/salvage.out"'
check "... and says that no process had the store open" \
	'grep -q "no process had the store open; a backstop-milter running without it opens it on SIGUSR1" "$work/salvage.out"'
kill -USR1 "$corrupt_pid"
await corrupt "replay store .* opened"
check "SIGUSR1: the milter opens the repaired store" 'logged corrupt "notice: replay store .*corrupt.db opened"'
run_script corrupt corrupt-store.lua -D phase=repaired
check "after the repair a bounce to the tag is accepted and counted on top of the salvaged count" \
	'[[ "$("$bin/backstop-replay" -c "$work/corrupt.conf" show "$valid")" =~ count:\ +3 ]]'
# now the milter has the store open: a second salvage would rename the file it counts into
ino=$(stat -c %i "$work/corrupt.db/replay.db")
"$bin/backstop-replay" -c "$work/corrupt.conf" salvage > "$work/salvage2.out" 2>&1
check "backstop-replay salvage refuses the store the running milter has open" \
	'[ $? -eq 1 ] && grep -q "open in another process (a running backstop-milter.*stop it first" "$work/salvage2.out"'
check "... and leaves its file in place" '[ "$(stat -c %i "$work/corrupt.db/replay.db")" = "$ino" ]'
check "... and the counts in it" \
	'[[ "$("$bin/backstop-replay" -c "$work/corrupt.conf" show "$valid")" =~ count:\ +3 ]]'
"$bin/backstop-replay" -c "$work/corrupt.conf" forget "$valid" > /dev/null	# under the limit again
run_script corrupt corrupt-store.lua -D phase=repaired
check "the milter keeps counting into the store backstop-replay reads" \
	'[[ "$("$bin/backstop-replay" -c "$work/corrupt.conf" show "$valid")" =~ count:\ +1 ]]'

# a milter that starts while a salvage holds the store (flock(1) holds the lock exclusively, as
# salvage does) runs without it, and opens it on SIGUSR1 once the salvage is done
write_conf locked "MaxBouncesPerTag 3"
mkdir -p "$work/locked.db"
mkfifo "$work/ex.in" "$work/ex.out"
flock -x -n "$work/locked.db/replay.lock" sh -c 'echo locked; cat >/dev/null' <"$work/ex.in" >"$work/ex.out" &
exlock=$!
exec 3>"$work/ex.in" 4<"$work/ex.out"
read -r _ <&4	# the milter started below must not inherit these ends, or cat never sees EOF
if start locked 3>&- 4<&-; then ok "a store held by a salvage: the milter starts"; else not_ok "a store held by a salvage: the milter starts"; fi
locked_pid=${pids[-1]}
check "... and logs that the store is locked by a salvage" \
	'logged locked "error: replay store unavailable (the replay store is locked by another process): .*locked.db: backstop-replay salvage is rebuilding the replay store"'
exec 3>&- 4<&-
wait "$exlock"
kill -USR1 "$locked_pid"
for _ in $(seq 100); do logged locked "replay store .* opened" && break; sleep 0.05; done
check "SIGUSR1 after the salvage: the milter opens the store" 'logged locked "notice: replay store .*locked.db opened"'

kill -USR1 "${pids[0]}"
check "SIGUSR1 reloads" 'await enforce "reloaded .*(SIGUSR1)"'
# a session that stays open across the revocation (bounce-revoked-open.lua waits for the flag)
mt enforce bounce-revoked-open.lua -D flag="$work/revoked.flag" &
openpid=$!
await enforce "QOPEN1: to=<$valid2> rewritten"
"$bin/backstop-keys" -c "$work/enforce.conf" revoke 0 > "$work/revoke.out" 2>&1
check "backstop-keys revoke 0 beside the running milter" 'grep -q "slot 0: revoked" "$work/revoke.out"'
newtag=$(sign alice@example.com)
await enforce "reloaded .*(key directory changed)"
check "the milter picked up the revocation by itself" \
	'logged enforce "reloaded .*(key directory changed): 1 key(s), signing slot 1"'
touch "$work/revoked.flag"
if wait "$openpid"; then ok bounce-revoked-open.lua; else
	not_ok bounce-revoked-open.lua; sed 's/^/#   /' "$work/bounce-revoked-open.lua.out"; fi
check "a session opened before the revocation: the revoked key's tag refused on its next message" \
	'logged enforce "QOPEN2: to=<$valid2> .*verdict=unknown-key action=reject"'
run_script enforce bounce-revoked.lua -D newtag="$newtag"
check "the revoked key's tag logged as refused" \
	'logged enforce "QREVOKED: to=<$valid> .*verdict=unknown-key action=reject"'
check "the new key's tag logged as valid (accepted, the last word at end of message)" \
	'logged enforce "QREVOKED2: to=<$newtag> .*verdict=valid action=pending: bounce to a valid address tag"'
kill -TERM "${pids[@]}"
for p in "${pids[@]}"; do wait "$p"; done
pids=()
check "SIGTERM stops cleanly" 'logged enforce "stopped"'
grep -qiE "error|failed" "$work/enforce.log" && sed 's/^/#   /' "$work/enforce.log" | grep -iE "error|failed"
echo "1..$n"
[ "$failed" -eq 0 ]
