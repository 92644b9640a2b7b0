#!/bin/sh
# backstop-replay-redis.sh: backstop-replay against a real redis-server (ReplayRedis) that
# this script starts on a unix socket in a temporary directory: stats, list, show and forget
# see the records the milter's library wrote, verify says the files are not Redis's, and a
# server away is a failure that names it. Redis expires keys by its own clock: now is real.
set -u

prog="${top_builddir:?}/src/backstop-replay"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/backstop-replay-redis.XXXXXX") || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "1..0 # SKIP redis-server or redis-cli is not installed"
	exit 0
fi
now=$(date +%s)
. "$top_srcdir/tests/unit/tap.sh"

sock=$tmp/r.sock
redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no --daemonize no \
	--dir "$tmp" >/dev/null &
pid=$!
i=0
until redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "Bail out! redis-server did not answer PING in 5 s"; exit 1; }
	sleep 0.05
done

ALICE=prvs=0418a1b2c3=alice@example.com
BOB=prvs=0411a1b2c3=bob@example.com
day=$((now / 86400 + 8))
# the records as replay-redis.c writes them
redis-cli -s "$sock" hset "backstop:r:$ALICE" count 3 first "$now" last "$now" expiry "$day" \
	>/dev/null
redis-cli -s "$sock" hset "backstop:r:$BOB" count 1 first "$now" last "$now" expiry "$day" \
	>/dev/null
redis-cli -s "$sock" hset "other:r:carol@example.com" count 9 first "$now" last "$now" \
	expiry "$day" >/dev/null

printf 'Domains example.com\nReplayDatabase none\nReplayRedis unix:%s\nReplayRedisFallback open\nMaxBouncesPerTag 3\n' \
	"$sock" >"$tmp/c.conf"
C="-c $tmp/c.conf"

run $C stats
is "$rc" 0 "stats exits 0"
contains "$tmp/out" "store:              redis unix:$sock" "stats names the Redis server"
contains "$tmp/out" "records:            2" "stats counts the records under the prefix only"
contains "$tmp/out" "bounces counted:    4" "and their bounces"
contains "$tmp/out" "over the limit:     1 (MaxBouncesPerTag 3)" "and the tag at the limit"
run $C list
is "$rc" 0 "list exits 0"
contains "$tmp/out" "$ALICE" "list shows alice's tag"
contains "$tmp/out" "$BOB" "and bob's"
run $C list --over-limit
contains "$tmp/out" "$ALICE" "list --over-limit shows alice's tag"
if grep -q "$BOB" "$tmp/out"; then fail "but not bob's"; else pass "but not bob's"; fi
run $C show "$ALICE"
is "$rc" 0 "show exits 0"
contains "$tmp/out" "count:       3 of 3 (limit reached" "show gives the count against the limit"
run $C forget "$BOB"
is "$rc" 0 "forget exits 0"
is "$(redis-cli -s "$sock" exists "backstop:r:$BOB")" 0 "the key is gone from Redis"
run $C forget "$BOB"
is "$rc" 1 "forget again: failure"
contains "$tmp/err" "no record to forget" "the message says so"
run $C verify
is "$rc" 1 "verify with ReplayRedis: failure"
contains "$tmp/err" "ReplayRedis" "the message says the store is Redis"

kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
run $C show "$ALICE"
is "$rc" 1 "Redis away: failure"
contains "$tmp/err" "Redis (ReplayRedis) did not answer" "the message names ReplayRedis"
tap_done
