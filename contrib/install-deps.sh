#!/bin/sh
# Install every Debian 12 package that backstop's build, tests, benches and demo need.
# Idempotent and non-interactive; Postfix is installed without configuring or starting
# the system instance (backstop's tests and demo run private instances of their own).
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get needs it)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
PACKAGES="build-essential autoconf automake libtool pkgconf make
	libsodium-dev libdb5.3-dev db5.3-util libmilter-dev
	postfix miltertest swaks postsrsd iproute2 mount nettle-dev postgrey
	clang libclang-rt-14-dev valgrind
	libhiredis-dev redis-server redis-tools
	m4 libwrap0 libldap-2.5-0 libsasl2-2 libnsl2 libssl3"
# Sendmail for tests/e2e/sendmail.sh. Its package conflicts with postfix, so its binary
# and m4 files are unpacked (not installed) here; the list above has what it links to.
SENDMAIL_ROOT=${BACKSTOP_SENDMAIL_ROOT:-/opt/backstop-sendmail}

sendmail_unpack() {
	[ -x "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" ] &&
		[ -f "$SENDMAIL_ROOT/usr/share/sendmail/cf/m4/cf.m4" ] && return 0
	d=$(mktemp -d)
	chown _apt "$d" 2>/dev/null || chmod 777 "$d"	# apt-get downloads as the _apt user
	(cd "$d" && apt-get download -qq sendmail-bin sendmail-cf) || { rm -rf "$d"; return 1; }
	mkdir -p "$SENDMAIL_ROOT"
	for f in "$d"/*.deb; do dpkg -x "$f" "$SENDMAIL_ROOT"; done
	rm -rf "$d"
	echo "install-deps: Sendmail unpacked in $SENDMAIL_ROOT (not installed)"
}

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	sendmail_unpack || { apt-get update -qq && sendmail_unpack; }
	exit $?
fi

# Postfix asks debconf how to configure itself: say "No configuration" so the
# system instance is left alone, and keep any service from starting during install.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
policy=/usr/sbin/policy-rc.d
made_policy=no
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 755 "$policy"
	made_policy=yes
fi
# keep the script's own exit status: a last "[ ... ] && ..." that is false would become it
cleanup() {
	status=$?
	if [ "$made_policy" = yes ]; then rm -f "$policy"; fi
	exit "$status"
}
trap cleanup EXIT

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: installed$missing"
sendmail_unpack
