#!/bin/bash
# keydir.sh: after a reload moves KeyDirectory to another key store, the running
# backstop-milter watches the new directory (a rotation there is picked up by itself) and
# no longer the old one. Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
bin="$top_builddir/src"
export BACKSTOP_NOW=1764183600
work=$(mktemp -d /tmp/backstop-milter-keydir.XXXXXX)
pid=
n=0
failed=0
trap '[ -n "$pid" ] && kill "$pid" && wait "$pid"; [ "$failed" -eq 0 ] || sed "s/^/#   /" "$work/m.log"; rm -rf "$work"' EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
# await PATTERN: logged within 20 s (under valgrind a daemon logs seconds later)
await() {
	local i
	for ((i = 0; i < 400; i++)); do grep -qs -- "$1" "$work/m.log" && return 0; sleep 0.05; done
	return 1
}
count() { grep -c -- "$1" "$work/m.log"; }

write_conf() {
	cat > "$work/$1.conf" <<CONF
Socket unix:$work/m.sock
KeyDirectory $work/$1.keys
ReplayDatabase none
Domains example.com
TaggingSince 2020-01-01
Syslog no
Background no
LogLevel debug
CONF
}
write_conf a
write_conf b
for s in a b; do
	"$bin/backstop-keys" -c "$work/$s.conf" init > "$work/init-$s.out" 2>&1 ||
		{ echo "Bail out! backstop-keys init ($s): $(cat "$work/init-$s.out")"; exit 1; }
done
cp "$work/a.conf" "$work/m.conf"
"$bin/backstop-milter" -f -c "$work/m.conf" 2> "$work/m.log" &
pid=$!
await "starting on" || { echo "Bail out! the milter did not start: $(cat "$work/m.log")"; exit 1; }

cp "$work/b.conf" "$work/m.conf"
kill -USR1 "$pid"
check "SIGUSR1 reloads onto the other key store" 'await "reloaded .*(SIGUSR1): 1 key(s)"'
"$bin/backstop-keys" -c "$work/b.conf" rotate --activate-in 0s > "$work/rot-b.out" 2>&1
check "backstop-keys rotate in the new KeyDirectory" 'grep -q "slot 1" "$work/rot-b.out"'
check "the milter picks up a rotation in the new KeyDirectory by itself" \
	'await "reloaded .*(key directory changed): 2 key(s)"'
before=$(count "key directory changed")
"$bin/backstop-keys" -c "$work/a.conf" rotate --activate-in 0s > "$work/rot-a.out" 2>&1
sleep 3
check "a rotation in the old KeyDirectory no longer reloads it" \
	'[ "$(count "key directory changed")" -eq "$before" ]'
echo "1..$n"
[ "$failed" -eq 0 ]
