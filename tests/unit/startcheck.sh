#!/bin/bash
# startcheck.sh: what -n says before a start, for backstop-milter and srs-rewrite serve alike:
# a unix socket in a directory UserID cannot write (the units start as UserID and bind
# there), a UserID the running user cannot switch to, a numeric UserID, errors in the
# "prog: message" form, the Syslog no / Background yes warning and -n -f (the units' check),
# and Syslog yes with no /dev/log (in a mount namespace without one). Prints TAP; needs root.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root: it switches to the user nobody"; exit 77; }
. "$top_srcdir/tests/e2e/tap.sh"
need setpriv
work=$(mktemp -d /tmp/backstop-startcheck.XXXXXX) || bail "mktemp"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
export BACKSTOP_NOW=1577836860
chmod 711 "$work"
# the binaries next to the files, so that nobody can run them wherever the build tree lives
for p in backstop-milter srs-rewrite; do
	cp "$top_builddir/src/$p" "$work/$p" && chmod 755 "$work/$p" || bail "cp $p"
done
mkdir "$work/rootdir" "$work/run" && chown nobody:nogroup "$work/run"
nobody_uid=$(id -u nobody) nobody_gid=$(id -g nobody)

# conf NAME DIR USER [SYSLOG BACKGROUND KEYDIR]: both daemons' settings, sockets in DIR
conf() {
	{
		printf 'KeyDirectory %s\nReplayDatabase none\nDomains example.com\n' \
		    "${6:-$work/keys}"
		printf 'SRSDomain fwd.example.com\nSyslog %s\nBackground %s\nUserID %s\n' \
		    "${4:-no}" "${5:-no}" "$3"
		printf 'Socket unix:%s/milter.sock\nMapSocket unix:%s/srs.sock\n' "$2" "$2"
	} > "$work/$1.conf"
}
# ncheck PROG NAME [ARGS]: PROG -n on NAME.conf as root; rc and the output in work/NAME.PROG
ncheck() {
	local prog=$1 name=$2
	shift 2
	if [ "$prog" = milter ]; then
		"$work/backstop-milter" -n "$@" -c "$work/$name.conf"
	else
		"$work/srs-rewrite" -c "$work/$name.conf" serve -n "$@"
	fi > "$work/$name.$prog" 2>&1
	rc=$?
	sed "s/^/#   /" "$work/$name.$prog"
}

conf rootdir "$work/rootdir" nobody
"$top_builddir/src/backstop-keys" -c "$work/rootdir.conf" init --owner nobody \
	    > "$work/init.out" 2>&1 || bail "backstop-keys init: $(cat "$work/init.out")"
for d in milter srs; do
	ncheck $d rootdir
	check "$d -n: a socket directory UserID cannot write: exit 1 (exit $rc)" '[ "$rc" = 1 ]'
	check "$d -n: and says who cannot write where" \
		'grep -q "UserID nobody cannot create the socket in $work/rootdir" "$work/rootdir.$d"'
done
conf run "$work/run" nobody
for d in milter srs; do
	ncheck $d run
	check "$d -n: the directory is UserID's: OK (exit $rc)" '[ "$rc" = 0 ]'
done

# a UserID the running user cannot switch to
conf asroot "$work/run" root
for d in milter srs; do
	if [ $d = milter ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$work/backstop-milter" -n \
		    -c "$work/asroot.conf"
	else
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$work/srs-rewrite" \
		    -c "$work/asroot.conf" serve -n
	fi > "$work/asroot.$d" 2>&1
	rc=$?
	sed "s/^/#   /" "$work/asroot.$d"
	check "$d -n as nobody with UserID root: exit 1 (exit $rc)" '[ "$rc" = 1 ]'
	check "$d -n: says it cannot switch" 'grep -q "cannot switch to it" "$work/asroot.$d"'
done

# a numeric UserID, alone and with its group
for u in "$nobody_uid" "$nobody_uid:$nobody_gid"; do
	conf numeric "$work/run" "$u"
	for d in milter srs; do
		ncheck $d numeric
		check "$d -n: UserID $u: OK (exit $rc)" '[ "$rc" = 0 ]'
	done
done

# srs-rewrite -n's errors read as the other tools': "prog: file: message", not log lines
conf nokeys "$work/run" nobody no no /nonexistent/keys
ncheck srs nokeys
check "srs -n: a missing key directory: exit 1 (exit $rc)" '[ "$rc" = 1 ]'
check "srs -n: the error is 'srs-rewrite: ...', as the other tools print it" \
	'grep -q "^srs-rewrite: .*/nonexistent/keys" "$work/nokeys.srs" && ! grep -q "^srs-rewrite\[" "$work/nokeys.srs"'

# Syslog no with Background yes: -n cannot know whether -f follows; -n -f is the units' check
conf quiet "$work/run" nobody no yes
ncheck milter quiet
check "milter -n: Syslog no, Background yes: a warning that names -f" \
	'[ "$rc" = 0 ] && grep -q "warning: Syslog no with Background yes.*-f" "$work/quiet.milter"'
ncheck milter quiet -f
check "milter -n -f (the unit's check of its -f start): no such warning" \
	'[ "$rc" = 0 ] && ! grep -q "Syslog no" "$work/quiet.milter"'
for u in "$top_srcdir"/contrib/systemd/backstop-milter.service*; do :; done
check "the milter unit's check is -n -f" 'grep -q "^ExecStartPre=.*backstop-milter -n -f" "$u"'

# Syslog yes and nothing at /dev/log: said on stderr at the start
if unshare -m true 2> /dev/null; then
	conf loud "$work/run" nobody yes no
	conf loudbg "$work/run" nobody yes yes
	nodevlog() { unshare -m sh -c 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 &&
		exec "$@"' sh "$@"; }
	for d in milter srs; do
		if [ $d = milter ]; then set -- "$work/backstop-milter" -c; else
			set -- "$work/srs-rewrite" -c; fi
		a=(); [ $d = srs ] && a=(serve)
		{ cat "$work/loudbg.conf"; printf 'PidFile %s\n' "$work/run/bg.pid"; } \
		    > "$work/loudbg.$d.conf"
		nodevlog "$@" "$work/loudbg.$d.conf" "${a[@]}" > "$work/loudbg.$d" 2>&1
		rc=$?
		sleep 0.5	# a daemon that did detach writes its pid file; stop it
		[ -s "$work/run/bg.pid" ] && kill "$(cat "$work/run/bg.pid")"
		rm -f "$work/run/bg.pid"
		sed "s/^/#   /" "$work/loudbg.$d"
		check "$d: Syslog yes, no /dev/log, Background yes: exit 1 before detaching (exit $rc)" \
			'[ "$rc" = 1 ] && grep -q "/dev/log" "$work/loudbg.$d"'
		timeout 3 unshare -m sh -c 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 &&
			exec "$@"' sh "$@" "$work/loud.conf" "${a[@]}" -f > "$work/loud.$d" 2>&1
		check "$d: in the foreground it says so and logs to stderr instead" \
			'grep -q "/dev/log" "$work/loud.$d" && grep -Eq "\[[0-9]+\]: (notice|info): " "$work/loud.$d"'
		sed "s/^/#   /" "$work/loud.$d"
	done
else
	ok "# SKIP unshare -m is not allowed here"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
