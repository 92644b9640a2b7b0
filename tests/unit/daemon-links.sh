#!/bin/bash
# daemon-links.sh: backstop-milter and srs-rewrite serve, started as root, meet a symlink that
# the daemon's user (nobody here) planted in the directory backstop.conf(5) has it own, at the
# pid file's path or at the unix socket's, pointing at a file of root's. Each start must refuse
# and say why, and the file must be left as it was. Then a start with nothing planted works.
# Prints TAP; needs root (it starts the daemons as root and plants files as another user).
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root: it starts the daemons as root"; exit 77; }
. "$top_srcdir/tests/e2e/tap.sh"
bin="$top_builddir/src"
work=$(mktemp -d /tmp/backstop-links.XXXXXX) || bail "mktemp"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
export BACKSTOP_NOW=1577836860
chmod 711 "$work"
mkdir "$work/run" && chown nobody:nogroup "$work/run"	# the daemon user's, as advised
printf 'root:precious\n' > "$work/precious" && chmod 600 "$work/precious"
cp -p "$work/precious" "$work/precious.orig"

# common USER: the milter's UserID is nobody by name, srs-rewrite's by number (uid:gid)
common() {
	printf 'KeyDirectory %s\nReplayDatabase none\nDomains example.com\n' "$work/keys"
	printf 'SRSDomain fwd.example.com\nSyslog no\nBackground no\nUserID %s\n' "$1"
}
{ common nobody; printf 'Socket unix:%s\nPidFile %s\n' "$work/run/milter.sock" "$work/run/m.pid"; } \
	> "$work/milter.conf"
{ common "$(id -u nobody):$(id -g nobody)"; printf 'MapSocket unix:%s\nPidFile %s\n' "$work/run/srs.sock" "$work/run/s.pid"; } \
	> "$work/srs.conf"
"$bin/backstop-keys" -c "$work/milter.conf" init --owner nobody > "$work/init.out" 2>&1 ||
	bail "backstop-keys init: $(cat "$work/init.out")"

# start NAME: the daemon in the foreground, its stderr in work/NAME.log; rc is its exit
# status, or "running" if it was still up after 10 s (then it is stopped)
start() {
	local i
	if [ "$1" = milter ]; then
		"$bin/backstop-milter" -f -c "$work/milter.conf" 2> "$work/$1.log" &
	else
		"$bin/srs-rewrite" -c "$work/srs.conf" serve -f 2> "$work/$1.log" &
	fi
	pid=$!
	for i in $(seq 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2> /dev/null; then
		kill "$pid"
		wait "$pid"
		rc=running
	else
		wait "$pid"
		rc=$?
	fi
	pid=
}
untouched() { cmp -s "$work/precious" "$work/precious.orig" &&
	[ "$(stat -c '%a %U' "$work/precious")" = "600 root" ]; }
# plant NAME: the symlink, made by nobody in the directory nobody owns
plant() { rm -f "$work/run/$1"; setpriv --reuid=nobody --regid=nogroup --clear-groups \
	ln -s "$work/precious" "$work/run/$1"; }

for d in milter srs; do
	[ $d = milter ] && pidf=m.pid sock=milter.sock || { pidf=s.pid; sock=srs.sock; }
	cp -p "$work/precious.orig" "$work/precious"
	plant $pidf
	start $d
	check "$d: a symlink at the pid file's path: start refuses (exit $rc)" '[ "$rc" = 1 ]'
	check "$d: and says why" 'grep -q "symbolic link" "$work/$d.log"'
	sed "s/^/#   /" "$work/$d.log"
	check "$d: the file it points at is unchanged" untouched
	rm -f "$work/run/$pidf"

	cp -p "$work/precious.orig" "$work/precious"
	plant $sock
	start $d
	check "$d: a symlink at the socket's path: start refuses (exit $rc)" '[ "$rc" = 1 ]'
	check "$d: and says why" 'grep -qi "not a.*socket" "$work/$d.log"'
	sed "s/^/#   /" "$work/$d.log"
	check "$d: the file it points at is unchanged" untouched
	rm -f "$work/run/$sock"

	# nothing planted; a stale pid file of root's from an earlier run is reused
	printf '999999\n' > "$work/run/$pidf"
	if [ $d = milter ]; then
		"$bin/backstop-milter" -f -c "$work/milter.conf" 2> "$work/$d.log" &
	else
		"$bin/srs-rewrite" -c "$work/srs.conf" serve -f 2> "$work/$d.log" &
	fi
	pid=$!
	for _ in $(seq 200); do [ -S "$work/run/$sock" ] && grep -q "^$pid$" "$work/run/$pidf" &&
		break; sleep 0.05; done
	check "$d: with nothing planted it starts and writes its pid" \
		'kill -0 "$pid" && grep -qx "$pid" "$work/run/$pidf"'
	check "$d: its socket is nobody's, mode 660" \
		'[ "$(stat -c "%U %a" "$work/run/$sock")" = "nobody 660" ]'
	kill "$pid"
	wait "$pid"
	pid=
done
echo "1..$n"
[ "$failed" -eq 0 ]
