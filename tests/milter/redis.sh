#!/bin/bash
# redis.sh: two backstop-milter processes (two MX hosts) on one real redis-server, driven
# concurrently through miltertest: exactly MaxBouncesPerTag bounces to one tag get through
# in total, an aborted bounce gives its count back, and with Redis frozen (SIGSTOP), killed
# (SIGKILL) or replaced by its promoted replica every reply still comes, forged tags are
# still refused, valid ones are counted locally and added to Redis once it is back. -n says
# whether Redis answers and whether the password and the ACL user are right. Redis expires
# keys by its own clock, so the clock here is the real one. Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
here="$top_srcdir/tests/milter"
bin="$top_builddir/src"
unset BACKSTOP_NOW
work=$(mktemp -d /tmp/backstop-redis-test.XXXXXX)
pids=()
rpids=()
n=0
failed=0

cleanup() {
	for p in "${rpids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}" "${rpids[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# redis_start NAME [ARGS]: a redis-server on $work/NAME.sock with its data in $work/NAME,
# answering PING within 5 s
redis_start() {
	local name=$1 i; shift
	mkdir -p "$work/$name"
	redis-server --port 0 --unixsocket "$work/$name.sock" --dir "$work/$name" \
	    --appendonly yes --save '' --daemonize no "$@" > "$work/$name.redis.log" 2>&1 &
	rpids+=($!)
	eval "${name}_pid=$!"
	for ((i = 0; i < 100; i++)); do
		redis-cli -s "$work/$name.sock" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	echo "Bail out! redis-server $name did not answer PING in 5 s"
	exit 1
}
rcli() { local s=$1; shift; redis-cli -s "$work/$s.sock" "$@"; }

# write_conf NAME EXTRA: one milter (one MX host) with its own socket and fallback store
write_conf() {
	mkdir -p "$work/$1.db"
	cat > "$work/$1.conf" <<CONF
Socket unix:$work/$1.sock
KeyDirectory $work/keys
ReplayDatabase $work/$1.db
ReplayRedis unix:$work/redis.sock
ReplayRedisTimeout 200
Domains example.com
InternalHosts 127.0.0.0/8
TaggingSince 2020-01-01
MaxBouncesPerTag 5
Syslog no
Background no
LogLevel debug
$2
CONF
}

start() {
	"$bin/backstop-milter" -f -c "$work/$1.conf" 2> "$work/$1.log" &
	pids+=($!)
	for _ in $(seq 200); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
	echo "Bail out! milter $1 did not start: $(cat "$work/$1.log")"
	exit 1
}

# bounce MILTER TAG QID [abort]: one bounce; prints what happened to it
bounce() {
	miltertest -s "$here/redis-bounce.lua" -D sock="unix:$work/$1.sock" -D srcdir="$here" \
	    -D tag="$2" -D qid="$3" -D abort="${4:-no}" 2>&1 | tail -1
}
# burst N TAG PREFIX: N bounces at once, alternately to m1 and m2; what each got, one a line
burst() {
	local i bp=()
	for ((i = 1; i <= $1; i++)); do
		bounce "m$((i % 2 + 1))" "$2" "$3$i" > "$work/$3$i.res" &
		bp+=($!)
	done
	wait "${bp[@]}"
	cat "$work/$3"*.res
}
count_of() { rcli redis hget "backstop:r:$1" count; }
# ms: milliseconds on a monotonic-enough clock, for the longest reply
ms() { echo $(($(date +%s%N) / 1000000)); }

redis_start a
ln -s a.sock "$work/redis.sock"
write_conf m1 ""
write_conf m2 ""
"$bin/backstop-keys" -c "$work/m1.conf" init > "$work/init.out" 2>&1 ||
	{ echo "Bail out! backstop-keys init failed: $(cat "$work/init.out")"; exit 1; }
sign() { "$bin/backstop-keys" -c "$work/m1.conf" sign "$1"; }
t1=$(sign alice@example.com)
t2=$(sign bob@example.com)
t3=$(sign carol@example.com)
t4=$(sign dave@example.com)
t5=$(sign erin@example.com)
forged="${t1:0:10}$( [ "${t1:10:1}" = 0 ] && echo 1 || echo 0)${t1:11}"

# ---- -n: Redis answers, and the password and ACL are what backstop needs ----
"$bin/backstop-milter" -n -c "$work/m1.conf" > "$work/n.out" 2>&1
check "-n: Redis answers and the ACL allows everything: exit 0, says so" \
	'[ $? -eq 0 ] && grep -q "ReplayRedis unix:$work/redis.sock answers" "$work/n.out"'
rcli redis acl setuser bs on '>right-password' '~backstop:*' '+@all' > /dev/null
rcli redis acl setuser narrow on '>right-password' '~backstop:*' '+ping' '+hget' '+auth' \
	'+select' '+hello' > /dev/null
printf 'wrong-password\n' > "$work/wrong.pw"
printf 'right-password\n' > "$work/right.pw"
chmod 600 "$work/wrong.pw" "$work/right.pw"
write_conf badpw "ReplayRedisUser bs
ReplayRedisPasswordFile $work/wrong.pw"
"$bin/backstop-milter" -n -c "$work/badpw.conf" > "$work/badpw.n" 2>&1
check "-n: a wrong password: exit 1, names ReplayRedisPasswordFile" \
	'[ $? -eq 1 ] && grep -q "ReplayRedisPasswordFile" "$work/badpw.n"'
write_conf narrow "ReplayRedisUser narrow
ReplayRedisPasswordFile $work/right.pw"
"$bin/backstop-milter" -n -c "$work/narrow.conf" > "$work/narrow.n" 2>&1
check "-n: an ACL user without the commands backstop runs: exit 1, names ReplayRedisUser" \
	'[ $? -eq 1 ] && grep -q "ReplayRedisUser" "$work/narrow.n"'
sed 's/^/# /' "$work/badpw.n" "$work/narrow.n"
write_conf goodpw "ReplayRedisUser bs
ReplayRedisPasswordFile $work/right.pw"
"$bin/backstop-milter" -n -c "$work/goodpw.conf" > "$work/goodpw.n" 2>&1
check "-n: the right user and password: exit 0" '[ $? -eq 0 ]'

# ---- two hosts, one count ----
start m1
start m2
burst 16 "$t1" QB > "$work/burst1"
check "16 concurrent bounces to one tag through two milters: exactly MaxBouncesPerTag (5) accepted" \
	'[ "$(grep -c "^accepted$" "$work/burst1")" -eq 5 ]'
check "and the other 11 refused at RCPT" '[ "$(grep -c "^refused$" "$work/burst1")" -eq 11 ]'
check "Redis holds the count: 5" '[ "$(count_of "$t1")" = 5 ]'
check "both milters took part" \
	'grep -q "QB.*to=<$t1>" "$work/m1.log" && grep -q "QB.*to=<$t1>" "$work/m2.log"'
check "a refusal is logged as a replay" 'grep -q "verdict=replay action=reject" "$work/m1.log" "$work/m2.log"'

for i in 1 2 3 4 5 6; do bounce "m$((i % 2 + 1))" "$t2" "QAB$i" abort > /dev/null; done
check "6 bounces aborted after RCPT leave no count behind" '[ -z "$(count_of "$t2")" ]'
for i in 1 2 3 4 5 6; do bounce "m$((i % 2 + 1))" "$t2" "QAC$i"; done > "$work/after-abort"
check "so 5 bounces to that tag are still accepted after them, and the 6th refused" \
	'[ "$(grep -c "^accepted$" "$work/after-abort")" -eq 5 ] && [ "$(tail -1 "$work/after-abort")" = refused ]'

# ---- Redis frozen: replies still come, counts go to the local store ----
kill -STOP "$a_pid"
longest=0
: > "$work/frozen"
for i in 1 2 3 4 5 6 7; do
	s=$(ms)
	bounce "m$((i % 2 + 1))" "$t3" "QF$i" >> "$work/frozen"
	e=$(($(ms) - s))
	[ "$e" -gt "$longest" ] && longest=$e
done
s=$(ms)
bounce m1 "$forged" QFFORGED > "$work/frozen-forged"
e=$(($(ms) - s)); [ "$e" -gt "$longest" ] && longest=$e
echo "# Redis frozen: longest whole miltertest session $longest ms (ReplayRedisTimeout 200)"
check "Redis frozen: every bounce got an answer, none deferred" \
	'[ "$(grep -c -E "^(accepted|refused)$" "$work/frozen")" -eq 7 ]'
check "valid tags counted locally: all 7 accepted (4 and 3 per host, under each host's 5)" \
	'[ "$(grep -c "^accepted$" "$work/frozen")" -eq 7 ]'
check "a forged tag is still refused" '[ "$(cat "$work/frozen-forged")" = refused ]'
check "the fallback is logged" \
	'grep -q "Redis (ReplayRedis) did not answer" "$work/m1.log" "$work/m2.log"'
kill -CONT "$a_pid"
for ((i = 0; i < 300; i++)); do [ "$(count_of "$t3")" -ge 7 ] 2>/dev/null && break; sleep 0.1; done
echo "# after SIGCONT: Redis count of the tag $(count_of "$t3") after $((i / 10)) s"
# a reservation sent before the freeze and timed out is run by Redis when it wakes: the count
# can exceed what was accepted by the commands in flight (never the other way)
check "after SIGCONT the 7 local counts are added to Redis (at least 7)" '[ "$(count_of "$t3")" -ge 7 ]'
check "and the next bounce to that tag is a replay everywhere" \
	'[ "$(bounce m1 "$t3" QF8)" = refused ] && [ "$(bounce m2 "$t3" QF9)" = refused ]'

# ---- Redis killed and restarted with its data: NOSCRIPT, counts caught up ----
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
for i in 1 2 3; do bounce "m$((i % 2 + 1))" "$t4" "QK$i"; done > "$work/killed"
bounce m2 "$forged" QKFORGED > "$work/killed-forged"
check "Redis killed: bounces to a valid tag accepted (counted locally)" \
	'[ "$(grep -c "^accepted$" "$work/killed")" -eq 3 ]'
check "a forged tag still refused" '[ "$(cat "$work/killed-forged")" = refused ]'
redis_start a
for ((i = 0; i < 300; i++)); do [ "$(count_of "$t4")" = 3 ] && break; sleep 0.1; done
check "Redis restarted (its script cache empty): the 3 local counts are in Redis" \
	'[ "$(count_of "$t4")" = 3 ]'
check "and the count it kept from before the kill survived (appendonly)" '[ "$(count_of "$t1")" = 5 ]'
check "after the restart the scripts are loaded again and counting goes on" \
	'[ "$(bounce m1 "$t4" QK4)" = accepted ] && [ "$(count_of "$t4")" = 4 ]'

# ---- a replica promoted to master ----
redis_start b --replicaof localhost 0 > /dev/null 2>&1 || true
rcli b replicaof no one > /dev/null
# a replica of a unix-socket master needs a TCP port on it: give a one
aport=$(( (RANDOM % 20000) + 30000 ))
rcli a config set port "$aport" > /dev/null
rcli b replicaof 127.0.0.1 "$aport" > /dev/null
for ((i = 0; i < 100; i++)); do
	rcli b info replication | grep -q "master_link_status:up" && break
	sleep 0.1
done
check "a replica is in sync with Redis" 'rcli b info replication | grep -q "master_link_status:up"'
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null
rcli b replicaof no one > /dev/null
ln -sfn b.sock "$work/redis.sock"
# each pooled connection to the dead master fails once and opens the breaker for a second
# (those bounces are counted locally): warm up until both hosts count on the new master
for ((i = 0; i < 40; i++)); do
	warm=$(sign "warm$i@example.com")
	bounce m1 "$warm" "QW1$i" > /dev/null; bounce m2 "$warm" "QW2$i" > /dev/null
	[ "$(rcli b hget "backstop:r:$warm" count)" = 2 ] && break
	sleep 0.3
done
echo "# both hosts counted on the promoted replica after $i warm-up round(s)"
for i in 1 2 3 4 5 6; do bounce "m$((i % 2 + 1))" "$t5" "QP$i"; done > "$work/promoted"
check "on the promoted replica: exactly 5 of 6 bounces to a new tag accepted" \
	'[ "$(grep -c "^accepted$" "$work/promoted")" -eq 5 ] && [ "$(rcli b hget "backstop:r:$t5" count)" = 5 ]'
check "and the counts from before are there: the first tag is still at its limit" \
	'[ "$(bounce m2 "$t1" QP7)" = refused ]'

echo "1..$n"
[ "$failed" -eq 0 ]
