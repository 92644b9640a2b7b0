#!/bin/bash
# rss.sh: the memory figures of backstop-milter under milter-load. Peak RSS (VmHWM) of a fresh
# milter after 100 concurrent connections; then, on another fresh milter, RSS after 10^4
# messages, 10^5 and RSS_MESSAGES (default 10^6, or as many as fit in RSS_SECONDS in all).
# The second milter gets a replay store of its own, created by it: a process that joins
# region files another one created faults their pages in as it touches them, and that
# showed as "growth" of a quarter of the RSS that was only the store's cache being mapped.
# Usage: rss.sh CONF (its Socket must be unix:); prints key=value lines. Called by run-all.sh.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
conf=${1:?usage: rss.sh CONF}
msgs=${RSS_MESSAGES:-1000000}
budget=${RSS_SECONDS:-150}
load="$top_builddir/tests/bench/milter-load"
sock=$(awk '$1 == "Socket" { sub(/^(unix|local):/, "", $2); print $2 }' "$conf")
pid=
tmp=$(mktemp -d "$(dirname "$conf")/rss.XXXXXX")	# beside the store, on the same file system

stop() {
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}
trap 'stop; rm -rf "$tmp"' EXIT

# start [CONF]: a milter on CONF (default: the one given)
start() {
	rm -f "$sock"
	"$top_builddir/src/backstop-milter" -f -c "${1:-$conf}" 2>/dev/null &
	pid=$!
	for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
	echo "rss.sh: backstop-milter did not start with ${1:-$conf}" >&2
	exit 1
}

# kb FIELD: a field of the milter's /proc status, in kB
kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< " $1"; }

start
out=$("$load" -s "$sock" -C "$conf" -c 100 -d 3 -m 10) || { echo "rss.sh: $out" >&2; exit 1; }
echo "peak100_kb=$(kb VmHWM) peak100_msgs=$(field "$out" msgs) start_errors=$(field "$out" errors)"
stop

mkdir "$tmp/db"
sed "s|^ReplayDatabase[[:space:]].*|ReplayDatabase $tmp/db|" "$conf" > "$tmp/growth.conf"
start "$tmp/growth.conf"
echo "start_kb=$(kb VmRSS)"
# Three checkpoints on one milter: 10^4, 10^5, then RSS_MESSAGES (or what fits the budget).
t0=$(date +%s)
sent=0
for goal in 10000 100000 "$msgs"; do
	[ "$goal" -gt "$sent" ] && [ "$goal" -le "$msgs" ] || continue
	left=$((budget - ($(date +%s) - t0)))
	[ "$left" -gt 1 ] || break
	out=$("$load" -s "$sock" -C "$conf" -c 8 -n $((goal - sent)) -d "$left" -m 50 -r "$goal") ||
		{ echo "rss.sh: $out" >&2; exit 1; }
	sent=$((sent + $(field "$out" msgs)))
	echo "msgs_$goal=$sent rss_${goal}_kb=$(kb VmRSS) anon_${goal}_kb=$(kb RssAnon)" \
		"file_${goal}_kb=$(kb RssFile) shmem_${goal}_kb=$(kb RssShmem)" \
		"rate_$goal=$(field "$out" rate) errors_$goal=$(field "$out" errors)"
done
echo "final_goal=$msgs"
stop
