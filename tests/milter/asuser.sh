#!/bin/bash
# asuser.sh: backstop-milter started as an unprivileged user, as systemd's User=backstop does
# (the test user here is nobody): with that very user as UserID it runs; with another it
# refuses at once and says why. The binary is copied next to the test's files, so nobody can
# reach it wherever the build tree lives. Prints TAP; needs root (setpriv, chown).
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root: it switches to the user nobody"; exit 77; }
. "$top_srcdir/tests/e2e/tap.sh"
need setpriv
bin="$top_builddir/src"
work=$(mktemp -d /tmp/backstop-asuser.XXXXXX) || bail "mktemp"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
chmod 711 "$work"
cp "$bin/backstop-milter" "$work/backstop-milter" && chmod 755 "$work/backstop-milter" ||
	bail "cannot copy backstop-milter"
mkdir "$work/run" && chown nobody:nogroup "$work/run"	# what systemd's RuntimeDirectory= makes
base() {
	printf 'Socket unix:%s\nKeyDirectory %s\nReplayDatabase none\nDomains example.com\n' \
	    "$work/run/milter.sock" "$work/keys"
	printf 'Syslog no\nBackground no\nUserID %s\n' "$1"
}
base nobody > "$work/nobody.conf"
base root > "$work/root.conf"
base "$(id -u nobody)" > "$work/numeric.conf"	# a number, as backstop.conf(5) allows
"$bin/backstop-keys" -c "$work/nobody.conf" init --owner nobody > "$work/init.out" 2>&1 ||
	bail "backstop-keys init: $(cat "$work/init.out")"
# an array, not a function: "as_nobody ... &" must be the milter's own pid (setpriv execs it)
as_nobody=(setpriv --reuid=nobody --regid=nogroup --init-groups "$work/backstop-milter")

"${as_nobody[@]}" -n -c "$work/nobody.conf" > "$work/n.out" 2>&1
rc=$?
check "-n as nobody with UserID nobody: OK" '[ $rc -eq 0 ] && grep -q "configuration OK" "$work/n.out"'
"${as_nobody[@]}" -n -c "$work/numeric.conf" > "$work/n-num.out" 2>&1
rc=$?
check "-n as nobody with UserID $(id -u nobody) (its uid): OK" \
	'[ $rc -eq 0 ] && grep -q "configuration OK" "$work/n-num.out"'
"${as_nobody[@]}" -f -c "$work/nobody.conf" 2> "$work/nobody.log" &
pid=$!
for _ in $(seq 200); do grep -q "starting on" "$work/nobody.log" && break; sleep 0.05; done
check "started as nobody with UserID nobody: it runs" \
	'[ -S "$work/run/milter.sock" ] && grep -q "starting on" "$work/nobody.log"'
check "its socket is nobody's" '[ "$(stat -c %U "$work/run/milter.sock")" = nobody ]'
kill "$pid"
wait "$pid"
rc=$?
check "and stops cleanly on SIGTERM" '[ $rc -eq 0 ] && grep -q "stopped" "$work/nobody.log"'
pid=
"${as_nobody[@]}" -f -c "$work/root.conf" > "$work/root.log" 2>&1
rc=$?
check "started as nobody with UserID root: exit 1 at once" '[ $rc -eq 1 ]'
check "and says why" \
	'grep -q "UserID root in .*root.conf: started as uid [0-9]*, which cannot switch to it: start as root, or as that user" "$work/root.log"'
"${as_nobody[@]}" -n -c "$work/root.conf" > "$work/n-root.out" 2>&1
rc=$?
check "-n as nobody with UserID root: exit 1, says why" \
	'[ $rc -eq 1 ] && grep -q "UserID root in .*: this user (uid [0-9]*) cannot switch to it" "$work/n-root.out"'
chown root:root "$work/keys/0.key"
"$work/backstop-milter" -n -c "$work/nobody.conf" > "$work/n-keys.out" 2>&1
rc=$?
check "-n as root, a key UserID nobody cannot read: exit 1, says so" \
	'[ $rc -eq 1 ] && grep -q "UserID nobody cannot load the key store, so every reload would fail: cannot read .*0.key: permission denied" "$work/n-keys.out"'
# a key directory UserID cannot search: the directory is named, not a key file in it
chown root:root "$work/keys" "$work/keys/0.key"
chmod 700 "$work/keys"
"$work/backstop-milter" -n -c "$work/nobody.conf" > "$work/n-dir.out" 2>&1
rc=$?
check "-n as root, a key directory UserID nobody cannot search: exit 1, names the directory" \
	'[ $rc -eq 1 ] && grep -q "UserID nobody cannot load the key store, so every reload would fail: cannot search key directory .*keys" "$work/n-dir.out"'
echo "1..$n"
[ "$failed" -eq 0 ]
