#!/bin/sh
# srs-legacy.sh: SRSLegacySecrets through srs-rewrite at a fixed BACKSTOP_NOW: known answers
# written by Debian's postsrsd 1.10 (secret "legacysecret1", default -n 4 and "=", on day
# 20789, timestamp JV), the errors of a bad secrets file (missing, readable by everyone, no
# secret, too long a line, not file:), and postsrsd's file rules (CRLF, blank lines, the first
# line signs and every line verifies). tests/e2e/postsrsd.sh checks the same against the
# running postsrsd. Prints TAP.
set -u

prog="${top_builddir:?}/src/srs-rewrite"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/srs-legacy.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
now=1796169600	# day 20789: 20789 mod 1024 = 309, postsrsd's "JV"
. "$top_srcdir/tests/unit/tap.sh"

mkdir "$tmp/keys"
chmod 700 "$tmp/keys"
printf '# backstop key\nactivate 1500000000\nsecret %s\n' \
    WYjBg2FtRPw/SeIn1OFTe2oVutXu8sf3tHtthqLDLM0= > "$tmp/keys/0.key"
chmod 600 "$tmp/keys/0.key"
# conf SECRETS-VALUE: a configuration with SRSLegacySecrets on line 4
conf() {
	printf 'KeyDirectory %s\nDomains example.com\nSRSDomain fwd.example.com\n' "$tmp/keys" \
	    > "$tmp/b.conf"
	[ -n "$1" ] && printf 'SRSLegacySecrets %s\n' "$1" >> "$tmp/b.conf"
}
printf '\r\nsome-newer-secret\r\n\nlegacysecret1\n' > "$tmp/secret"
chmod 600 "$tmp/secret"
conf "file:secret"	# relative: to the configuration file's directory

# what postsrsd 1.10 wrote (-d fwd.example.com -s secret) and gave back on reverse
while IFS='|' read -r what srs want; do
	run -c "$tmp/b.conf" reverse "$srs"
	is "$rc $out" "0 $want" "postsrsd's $what reverses"
	contains "$tmp/err" "legacy postsrsd hash" "$what: said to be legacy"
done <<'EOF2'
SRS0, plain|SRS0=UIMy=JV=example.net=alice@fwd.example.com|alice@example.net
SRS0, mixed case kept|SRS0=BmvH=JV=Example.NET=Bob.Smith+tag@fwd.example.com|Bob.Smith+tag@Example.NET
SRS0, = and / in the local part|SRS0=Ld8D=JV=example.net=weird/local=with=eq@fwd.example.com|weird/local=with=eq@example.net
SRS0, hash in lower case|SRS0=uimy=jv=example.net=alice@fwd.example.com|alice@example.net
SRS0, all upper case|SRS0=UIMY=JV=EXAMPLE.NET=ALICE@FWD.EXAMPLE.COM|ALICE@EXAMPLE.NET
SRS1 from an SRS0, "=="|SRS1=RLDX=hop.example==abcd=AB=first.example=joe@fwd.example.com|SRS0=abcd=AB=first.example=joe@hop.example
SRS1 from an SRS0, "=+"|SRS1=lBJj=hop.example=+abcd=AB=first.example=joe@fwd.example.com|SRS0+abcd=AB=first.example=joe@hop.example
SRS1 from an SRS1, "+" in the hash|SRS1=zVd+=first.example==joe@fwd.example.com|SRS0=joe@first.example
EOF2

# refused: postsrsd 1.10 refuses each of these too (tests/e2e/postsrsd.sh asks it)
while IFS='|' read -r what srs why; do
	run -c "$tmp/b.conf" reverse "$srs"
	is "$rc" 1 "$what: refused"
	contains "$tmp/err" "$why" "$what: $why"
done <<'EOF2'
one hash character changed|SRS0=UIMz=JV=example.net=alice@fwd.example.com|bad hash
another timestamp under the same hash|SRS0=UIMy=JW=example.net=alice@fwd.example.com|bad hash
hash of 3 characters|SRS0=UIM=JV=example.net=alice@fwd.example.com|hash too short
not at SRSDomain|SRS0=UIMy=JV=example.net=alice@elsewhere.example|not our SRS domain
EOF2
now=$((1796169600 + 21 * 86400))
run -c "$tmp/b.conf" reverse SRS0=UIMy=JV=example.net=alice@fwd.example.com
is "$rc $out" "0 alice@example.net" "SRSMaxAge 21: valid 21 days on"
now=$((1796169600 + 22 * 86400))
run -c "$tmp/b.conf" reverse SRS0=UIMy=JV=example.net=alice@fwd.example.com
is "$rc" 1 "22 days on: refused"
contains "$tmp/err" "expired" "22 days on: expired"
now=1796169600
run -c "$tmp/b.conf" reverse SRS1=RLDX=hop.example==abcd=AB=first.example=joe@fwd.example.com
run -c "$tmp/b.conf" forward alice@example.net
case $out in SRS0=?????=*) pass "forward signs with our key, never postsrsd's" ;;
	*) fail "forward signs with our key, never postsrsd's: $out" ;; esac

run -c "$tmp/b.conf" serve -n
is "$rc" 0 "serve -n: a good secrets file passes"
contains "$tmp/out" "SRS for fwd.example.com (postsrsd's legacy secrets verify too)" \
    "serve -n: says the legacy secrets verify"

# ---- the secrets file ----
# bad VALUE TEXT NAME: srs-rewrite names the line and the reason, exit 1
bad() {
	conf "$1"
	run -c "$tmp/b.conf" reverse SRS0=UIMy=JV=example.net=alice@fwd.example.com
	is "$rc" 1 "$3: exit 1"
	contains "$tmp/err" "b.conf:4: SRSLegacySecrets: $2" "$3: the reason"
}
bad "file:$tmp/nosuch" "cannot read '$tmp/nosuch': No such file or directory" "missing file"
chmod 644 "$tmp/secret"
bad "file:$tmp/secret" "'$tmp/secret' is readable by everyone (mode 0644)" "world-readable file"
chmod 600 "$tmp/secret"
printf '\n\r\n\n' > "$tmp/empty"
chmod 600 "$tmp/empty"
bad "file:$tmp/empty" "'$tmp/empty': holds no secret" "no secret in it"
head -c 1024 /dev/zero | tr '\0' x > "$tmp/long"
chmod 600 "$tmp/long"
bad "file:$tmp/long" "$tmp/long:1: a line longer than the 1023 bytes postsrsd reads" "a long line"
bad "$tmp/secret" "'$tmp/secret': use file:PATH" "no file: prefix"
bad "file:$tmp" "'$tmp': not a regular file" "a directory"
chmod 644 "$tmp/secret"
conf "file:secret"
run -c "$tmp/b.conf" serve -n
is "$rc" 1 "serve -n: a world-readable secrets file fails"
contains "$tmp/err" "b.conf:4: SRSLegacySecrets: '$tmp/secret' is readable by everyone" \
    "serve -n: with the reason"
chmod 600 "$tmp/secret"
printf 'KeyDirectory %s\nDomains example.com\nSRSLegacySecrets file:%s\n' "$tmp/keys" \
    "$tmp/secret" > "$tmp/b.conf"
run -c "$tmp/b.conf" reverse x@y.example
contains "$tmp/err" "b.conf:3: SRSLegacySecrets: needs SRSDomain" "SRSLegacySecrets without SRSDomain"

# ---- a secrets file the daemons' user cannot read: every reload would fail ----
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$tmp"
	cp -a "$tmp/keys" "$tmp/keys-nobody"
	chown -R nobody "$tmp/keys-nobody"
	printf 'KeyDirectory %s\nDomains example.com\nSRSDomain fwd.example.com\nUserID nobody\n' \
	    "$tmp/keys-nobody" > "$tmp/u.conf"
	printf 'ReplayDatabase none\nSRSLegacySecrets file:%s\n' "$tmp/secret" >> "$tmp/u.conf"
	chmod 644 "$tmp/u.conf"
	chown root "$tmp/secret"
	chmod 600 "$tmp/secret"
	run -c "$tmp/u.conf" serve -n
	is "$rc" 1 "serve -n: a secrets file UserID cannot read fails (root reads it, reloads not)"
	contains "$tmp/err" "UserID nobody cannot load the configuration, so every reload" \
	    "serve -n: says reloads would fail"
	contains "$tmp/err" "Permission denied" "serve -n: and why"
	"$top_builddir/src/backstop-milter" -c "$tmp/u.conf" -n > "$tmp/out" 2> "$tmp/err"
	is "$?" 1 "backstop-milter -n: the same"
	contains "$tmp/err" "UserID nobody cannot load the configuration" "backstop-milter -n: says so"
	chown nobody "$tmp/secret"
	run -c "$tmp/u.conf" serve -n
	is "$rc" 0 "serve -n: once the file is UserID's, OK"
	chown root "$tmp/secret"
fi

tap_done
