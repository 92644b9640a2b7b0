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
	postfix miltertest swaks postsrsd
	clang libclang-rt-14-dev valgrind"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
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
cleanup() { [ "$made_policy" = yes ] && rm -f "$policy"; }
trap cleanup EXIT

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: installed$missing"
