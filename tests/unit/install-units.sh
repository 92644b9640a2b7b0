#!/bin/bash
# install-units.sh: "make install" puts the systemd units, made from contrib/systemd/*.in with
# configure's paths, into systemd's unit directory (pkg-config's, or --with-systemdsystemunitdir),
# and none with --with-systemdsystemunitdir=no. A fresh configure --prefix=/usr in a scratch
# build tree, installing only the units (no program is built). Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/e2e/tap.sh"
work=$(mktemp -d /tmp/backstop-units.XXXXXX) || bail "mktemp"
trap 'rm -rf "$work"' EXIT
units="backstop-milter.service backstop-srs.service backstop-keys-rotate.service
backstop-keys-prune.service backstop-keys-rotate.timer backstop-keys-prune.timer"

# install NAME [CONFIGURE-ARG...]: configure in work/NAME, make install of the units into
# work/NAME.root; rc is make's
install_units() {
	local name=$1
	shift
	mkdir "$work/$name" && cd "$work/$name" &&
		"$top_srcdir/configure" --prefix=/usr --sysconfdir=/etc "$@" > configure.out 2>&1 ||
		{ cd /; bail "configure $*: $(tail -3 "$work/$name/configure.out")"; }
	make install-data-am DESTDIR="$work/$name.root" > make.out 2>&1
	rc=$?
	cd /
}

dir=/etc/systemd/system
install_units override --with-systemdsystemunitdir=$dir
check "make install with --with-systemdsystemunitdir: exit 0 (exit $rc)" '[ "$rc" = 0 ]'
for u in $units; do
	check "$u installed under $dir" '[ -f "$work/override.root$dir/$u" ]'
done
f=$work/override.root$dir
check "the milter unit runs /usr/sbin/backstop-milter" \
	'grep -qx "ExecStart=/usr/sbin/backstop-milter -f" "$f/backstop-milter.service"'
check "the milter unit checks with -n -f" \
	'grep -qx "ExecStartPre=/usr/sbin/backstop-milter -n -f" "$f/backstop-milter.service"'
check "the lookup server unit runs /usr/bin/srs-rewrite" \
	'grep -qx "ExecStart=/usr/bin/srs-rewrite serve -f" "$f/backstop-srs.service"'
check "the key units run /usr/sbin/backstop-keys" \
	'grep -q "^ExecStart=/usr/sbin/backstop-keys rotate" "$f/backstop-keys-rotate.service" &&
	 grep -q "^ExecStart=/usr/sbin/backstop-keys prune" "$f/backstop-keys-prune.service"'
check "no unit names /usr/local or an unreplaced @variable@" \
	'[ -d "$f" ] && ! grep -rqE "/usr/local|@[a-z]+@" "$f"'

install_units none --with-systemdsystemunitdir=no
check "--with-systemdsystemunitdir=no: make install exit 0 (exit $rc)" '[ "$rc" = 0 ]'
check "and no unit is installed" \
	'[ -z "$(find "$work/none.root" -name "*.service" -o -name "*.timer" 2>/dev/null)" ]'

known=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
install_units auto
if [ -n "$known" ]; then
	check "without the option: the units go to systemd's $known" \
		'[ -f "$work/auto.root$known/backstop-milter.service" ]'
else
	check "without the option, systemd unknown: no unit installed" \
		'[ -z "$(find "$work/auto.root" -name "*.service" 2>/dev/null)" ]'
fi
echo "1..$n"
[ "$failed" -eq 0 ]
