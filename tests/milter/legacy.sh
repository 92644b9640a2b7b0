#!/bin/bash
# legacy.sh: the real backstop-milter with SRSLegacySecrets validates bounces to the SRS
# addresses postsrsd handed out before the switch, through a miltertest script, and its log
# says legacy. The addresses are Debian's postsrsd 1.10 output for the secret below, dated
# day 20789 (timestamp JV), so the milter runs at that day. Prints TAP.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
here="$top_srcdir/tests/milter"
bin="$top_builddir/src"
export BACKSTOP_NOW=1796169600
work=$(mktemp -d /tmp/backstop-milter-legacy.XXXXXX)
pid=
n=0
failed=0
trap '[ -n "$pid" ] && kill "$pid" && wait "$pid"; rm -rf "$work"' EXIT
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

printf 'legacysecret1\n' > "$work/postsrsd.secret"
chmod 600 "$work/postsrsd.secret"
cat > "$work/b.conf" <<CONF
Socket unix:$work/m.sock
KeyDirectory $work/keys
ReplayDatabase $work/db
Domains example.com
SRSDomain fwd.example.com
SRSLegacySecrets file:$work/postsrsd.secret
TaggingSince 2020-01-01
Syslog no
Background no
LogLevel debug
CONF
mkdir "$work/db"
BACKSTOP_NOW=$((BACKSTOP_NOW - 30 * 86400)) "$bin/backstop-keys" -c "$work/b.conf" init \
    > "$work/init.out" 2>&1 || { echo "Bail out! backstop-keys init: $(cat "$work/init.out")"; exit 1; }
"$bin/backstop-milter" -n -c "$work/b.conf" > "$work/n.out" 2>&1
r=$?
check "-n: a good secrets file passes" '[ $r -eq 0 ]'
"$bin/backstop-milter" -f -c "$work/b.conf" 2> "$work/m.log" &
pid=$!
for _ in $(seq 100); do [ -S "$work/m.sock" ] && break; sleep 0.05; done

legacy0=SRS0=BmvH=JV=Example.NET=Bob.Smith+tag@fwd.example.com
legacy1=SRS1=RLDX=hop.example==abcd=AB=first.example=joe@fwd.example.com
if miltertest -s "$here/bounce-legacy.lua" -D sock="unix:$work/m.sock" -D srcdir="$here" \
    -D legacy0="$legacy0" -D legacy0plain=Bob.Smith+tag@Example.NET \
    -D legacy1="${legacy1^^}" -D legacy1plain=SRS0=ABCD=AB=FIRST.EXAMPLE=JOE@HOP.EXAMPLE \
    -D legacybad=SRS0=BmvI=JV=Example.NET=Bob.Smith+tag@fwd.example.com > "$work/mt.out" 2>&1
then ok "bounce-legacy.lua"; else not_ok "bounce-legacy.lua"; sed 's/^/#   /' "$work/mt.out"; fi
check "the rewrite is logged as legacy" \
    'grep -q "QLEGACY: to=<$legacy0> rewritten to <Bob.Smith+tag@Example.NET> (legacy postsrsd hash" "$work/m.log"'
check "the forged one is logged as an invalid SRS address" \
    'grep -q "QLEGACY: .*verdict=srs-invalid action=reject" "$work/m.log"'
chmod 644 "$work/postsrsd.secret"
"$bin/backstop-milter" -n -c "$work/b.conf" > "$work/n.out" 2>&1
r=$?
check "-n: a world-readable secrets file is an error with the reason" \
    '[ $r -ne 0 ] && grep -q "b.conf:6: SRSLegacySecrets: .* is readable by everyone" "$work/n.out"'
[ "$failed" -eq 0 ] || sed 's/^/# log: /' "$work/m.log" | tail -20
echo "1..$n"
[ "$failed" -eq 0 ]
