#!/bin/sh
# srs-rewrite.sh: the srs-rewrite program against a temporary key directory and configuration,
# at a fixed BACKSTOP_NOW: forward/reverse round trips, the exit codes (0 ok, 1 failure,
# 2 usage) and the messages of the errors an admin will meet. Prints TAP.
set -u

prog="${top_builddir:?}/src/srs-rewrite"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/srs-rewrite.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

NOW=1577836860	# day 18262: timestamp 2W
DAY=86400
# the secrets of the known-answer vectors, base64
KEY_A=WYjBg2FtRPw/SeIn1OFTe2oVutXu8sf3tHtthqLDLM0=	# 5988c183...
KEY_B=L9pQmPpMFyyhgYcGdFOhs9UQWoD499fA092L/qR/JaQ=	# 2fda5098...

now=$NOW
. "$top_srcdir/tests/unit/tap.sh"

# key SLOT BASE64 ACTIVATE
key() {
	printf '# backstop key\nactivate %s\nsecret %s\n' "$3" "$2" >"$tmp/keys/$1.key"
	chmod 600 "$tmp/keys/$1.key"
}

mkdir "$tmp/keys"
chmod 700 "$tmp/keys"
key 0 "$KEY_A" 1500000000
conf="$tmp/backstop.conf"
cat >"$conf" <<EOF
# srs-rewrite test
KeyDirectory $tmp/keys
Domains example.com, .example.org
SRSDomain fwd.example.com
EOF

fwd=SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com
srs1=SRS1=y54wb=otherdomain.com==opaque+string@fwd.example.com

# ---- round trips ----
run -c "$conf" forward test@otherdomain.com
is "$rc" 0 "forward: exit 0"
is "$out" "$fwd" "forward: the vector's SRS0 address"
run -c "$conf" reverse "$fwd"
is "$rc" 0 "reverse: exit 0"
is "$out" test@otherdomain.com "reverse: the original sender"
run -c "$conf" reverse "$(echo "$fwd" | tr a-z A-Z)"
is "$out" TEST@OTHERDOMAIN.COM "reverse: upper case"

run -c "$conf" forward SRS0=opaque+string@otherdomain.com
is "$out" "$srs1" "forward: a foreign SRS0 becomes SRS1"
run -c "$conf" reverse "$srs1"
is "$rc" 0 "reverse SRS1: exit 0"
is "$out" SRS0=opaque+string@otherdomain.com "reverse SRS1: the first hop's SRS0"

run -c "$conf" forward a@x.example user@example.com u@mx.example.org '<b@y.example>'
is "$rc" 0 "forward: local senders are not a failure"
is "$(sed -n 2,3p "$tmp/out" | tr '\n' ' ')" "user@example.com u@mx.example.org " \
    "forward: local senders are printed unchanged, in order"
is "$(wc -l <"$tmp/out" | tr -d ' ')" 4 "forward: one line per address"
run -c "$conf" reverse "$(sed -n 4p "$tmp/out")" "$(sed -n 1p "$tmp/out")"
is "$out" "b@y.example
a@x.example" "forward then reverse of two addresses"

run -c "$conf" forward -- test@otherdomain.com
is "$out" "$fwd" "forward: -- ends the options"

# ---- SRS0 age ----
now=$((NOW + 21 * DAY))
run -c "$conf" reverse "$fwd"
is "$rc" 0 "reverse: valid on day 21"
now=$((NOW + 22 * DAY))
run -c "$conf" reverse "$fwd"
is "$rc" 1 "reverse: exit 1 on day 22"
is "$(cat "$tmp/err")" "srs-rewrite: $fwd: expired" "reverse: expired message"
is "$out" "" "reverse: nothing on stdout for a failure"
run -c "$conf" reverse "$srs1"
is "$rc" 0 "reverse: SRS1 has no timestamp"
now=$NOW

# ---- failures ----
run -c "$conf" reverse plain@fwd.example.com
is "$rc" 1 "reverse of a plain address: exit 1"
is "$(cat "$tmp/err")" "srs-rewrite: plain@fwd.example.com: not an SRS address" \
    "reverse of a plain address: message"
run -c "$conf" reverse SRS0=axsu4=2W=otherdomain.com=test@fwd.example.com "$fwd"
is "$rc" 1 "reverse of a forged address: exit 1"
contains "$tmp/err" "axsu4=2W=otherdomain.com=test@fwd.example.com: bad hash" \
    "reverse of a forged address: bad hash"
is "$out" test@otherdomain.com "reverse: the good address after a bad one still prints"
run -c "$conf" reverse "$(echo "$fwd" | sed 's/@fwd/@other/')"
contains "$tmp/err" ": not our SRS domain" "reverse at another domain"
run -c "$conf" reverse SRS0=abcd=XX=@fwd.example.com
contains "$tmp/err" ": malformed SRS0" "reverse: malformed SRS0"
run -c "$conf" reverse SRS0=jxs=2W=otherdomain.com=test@fwd.example.com
contains "$tmp/err" ": hash too short" "reverse: hash too short"

run -c "$conf" forward 'bad@@x.example' ok@x.example
is "$rc" 1 "forward of an unparsable address: exit 1"
contains "$tmp/err" "srs-rewrite: bad@@x.example: " "forward: the message names the address"
is "$out" SRS0=lnetj=2W=x.example=ok@fwd.example.com "forward: the good address still prints"
long=yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy@long-domain-name.example.net
run -c "$conf" forward "$long"
is "$rc" 1 "forward too long: exit 1"
is "$(cat "$tmp/err")" "srs-rewrite: $long: too long" "forward too long: message"

# ---- configuration ----
run -c "$tmp/missing.conf" forward a@x.example
is "$rc" 1 "missing configuration: exit 1"
contains "$tmp/err" "$tmp/missing.conf" "missing configuration: the message names the file"
grep -v '^SRSDomain' "$conf" >"$tmp/nosrs.conf"
run -c "$tmp/nosrs.conf" forward a@x.example
is "$rc" 1 "SRS off: exit 1"
contains "$tmp/err" "SRSDomain is not set in $tmp/nosrs.conf" "SRS off: message"
printf 'SRSHashLength 8\nSRSSeparator +\n' | cat "$conf" - >"$tmp/plus.conf"
run -c "$tmp/plus.conf" forward test@otherdomain.com
is "$out" SRS0+jxsu43tb=2W=otherdomain.com=test@fwd.example.com \
    "SRSSeparator and SRSHashLength are read"
printf 'SRSHashMin 5\n' | cat "$conf" - >"$tmp/min.conf"
run -c "$tmp/min.conf" reverse SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com
contains "$tmp/err" ": hash too short" "SRSHashMin is read"
# a 4-character prefix of the 5 we sign is forgeable by enumeration (2^20 tries)
run -c "$conf" reverse SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com
is "$rc" 1 "by default a hash shorter than SRSHashLength is refused: exit 1"
contains "$tmp/err" ": hash too short" "by default SRSHashMin is SRSHashLength"
printf 'SRSHashMin 4\n' | cat "$conf" - >"$tmp/min4.conf"
run -c "$tmp/min4.conf" reverse "$fwd"
is "$rc" 1 "SRSHashMin under SRSHashLength without SRSHashLengthChanged: exit 1"
contains "$tmp/err" "$tmp/min4.conf:5: SRSHashMin: '4' is less than SRSHashLength (5)" \
    "and the file:line says why"
printf 'SRSHashLength 6\nSRSHashMin 5\nSRSHashLengthChanged 2019-12-25\n' | cat "$conf" - \
    >"$tmp/changed.conf"
run -c "$tmp/changed.conf" reverse "$fwd"
is "$out" test@otherdomain.com "within SRSMaxAge days of SRSHashLengthChanged: the old 5 verify"
now=$((NOW + 20 * DAY))
run -c "$conf" forward test@otherdomain.com
run -c "$tmp/changed.conf" reverse "$out"
is "$rc" 1 "after those days: hashes of the old length are refused again"
contains "$tmp/err" ": hash too short" "after those days: hash too short"
now=$NOW
printf 'SRSMaxAge 1\n' | cat "$conf" - >"$tmp/age.conf"
now=$((NOW + 2 * DAY))
run -c "$tmp/age.conf" reverse "$fwd"
contains "$tmp/err" ": expired" "SRSMaxAge is read"
now=$NOW

# ---- keys ----
key 1 "$KEY_B" $((NOW - DAY))
run -c "$conf" forward test@otherdomain.com
new=$out
if [ "$rc" = 0 ] && [ "$new" != "$fwd" ]; then
	pass "the newer key signs"
else
	fail "the newer key signs (got '$new', rc $rc)"
fi
run -c "$conf" reverse "$new" "$fwd"
is "$out" "test@otherdomain.com
test@otherdomain.com" "both keys verify"
key 1 "$KEY_B" $((NOW + DAY))
run -c "$conf" forward test@otherdomain.com
is "$out" "$fwd" "a key that is not active yet does not sign"
rm "$tmp/keys/1.key"
chmod 777 "$tmp/keys"
run -c "$conf" forward test@otherdomain.com
is "$rc" 1 "world-writable key directory: exit 1"
contains "$tmp/err" "$tmp/keys" "world-writable key directory: the message names it"
chmod 700 "$tmp/keys"
rm "$tmp/keys/0.key"
run -c "$conf" forward test@otherdomain.com
is "$rc" 1 "no keys: exit 1"
contains "$tmp/err" "$tmp/keys" "no keys: the message names the directory"
key 0 "$KEY_A" 1500000000

# ---- usage ----
run
is "$rc" 2 "no command: exit 2"
contains "$tmp/err" "usage:" "no command: usage on stderr"
run -c "$conf" frobnicate a@x.example
is "$rc" 2 "unknown command: exit 2"
contains "$tmp/err" "unknown command 'frobnicate'" "unknown command: message"
run -c "$conf" forward
is "$rc" 2 "forward without addresses: exit 2"
run -x
is "$rc" 2 "unknown option: exit 2"
contains "$tmp/err" "unknown option -x" "unknown option: message"
run -h
is "$rc" 0 "-h: exit 0"
contains "$tmp/out" "forward ADDR" "-h: lists forward"
contains "$tmp/out" "reverse ADDR" "-h: lists reverse"
contains "$tmp/out" "serve   [OPTION...]" "-h: lists serve"
contains "$tmp/out" "  -n " "-h: lists serve's -n"
contains "$tmp/out" "--max-connections N  close new connections beyond N at once" \
    "-h: lists serve's --max-connections, worded as the man page"
contains "$tmp/out" "--tcp-table" "-h: lists serve's --tcp-table"
run -V
is "$rc" 0 "-V: exit 0"
contains "$tmp/out" "backstop" "-V: the package"

# ---- serve -n: check the configuration, the keys and MapSocket; bind nothing ----
printf 'MapSocket inet:127.0.0.1:1\n' >>"$conf"
run -c "$conf" serve -n
is "$rc" 0 "serve -n: exit 0 on a good configuration"
contains "$tmp/out" "configuration OK; SRS for fwd.example.com; 1 key(s)" \
    "serve -n: says what it checked"
contains "$tmp/out" "would serve socketmap on inet:127.0.0.1:1" "serve -n: the socket, unbound"
run -c "$conf" serve --tcp-table -n
is "$rc" 0 "serve --tcp-table -n: exit 0 with an inet MapSocket"
contains "$tmp/out" "would serve tcp_table" "serve --tcp-table -n: the mode"
sed 's|^MapSocket .*|MapSocket unix:'"$tmp"'/srs.sock|' "$conf" >"$tmp/unix.conf"
run -c "$tmp/unix.conf" serve --tcp-table -n
is "$rc" 1 "serve --tcp-table -n: exit 1 with a unix MapSocket"
contains "$tmp/err" "--tcp-table needs inet:host:port" "serve --tcp-table -n: why"
sed 's|^MapSocket .*|MapSocket inet:127.0.0.1:65535|' "$conf" >"$tmp/top.conf"
run -c "$tmp/top.conf" serve --tcp-table -n
is "$rc" 1 "serve --tcp-table -n: exit 1 with port 65535 (reverse would need 65536)"
contains "$tmp/err" "top.conf: MapSocket inet:127.0.0.1:65535: --tcp-table needs inet:host:port with a port below 65535" \
    "serve --tcp-table -n: says the port is the problem"
run -c "$tmp/unix.conf" serve -n
is "$rc" 0 "serve -n: exit 0 with a unix MapSocket"
is "$(ls "$tmp" | grep -c srs.sock)" 0 "serve -n: no socket created"
# the listen address has one grammar, the map server's: -n refuses what serve could not bind
sed 's|^MapSocket .*|MapSocket unix:'"$tmp"'/srs.sock:660|' "$conf" >"$tmp/mode.conf"
run -c "$tmp/mode.conf" serve -n
is "$rc" 1 "serve -n: exit 1 on a mode typo (:660)"
contains "$tmp/err" "the mode must be 4 octal digits like 0660" "serve -n: says what a mode is"
sed 's|^MapSocket .*|MapSocket inet:[::1:10001|' "$conf" >"$tmp/v6.conf"
run -c "$tmp/v6.conf" serve -n
is "$rc" 1 "serve -n: exit 1 on inet:[::1:10001"
contains "$tmp/err" "'inet:[::1:10001' is not a socket" "serve -n: names the bad address"
if [ -x "$top_builddir/src/backstop-milter" ]; then
	"$top_builddir/src/backstop-milter" -c "$tmp/v6.conf" -n >"$tmp/out" 2>"$tmp/err"
	is "$?" 1 "backstop-milter -n: exit 1 on the same MapSocket"
	contains "$tmp/err" "'inet:[::1:10001' is not a socket" "backstop-milter -n: the same words"
fi
mkdir "$tmp/nokeys"
chmod 700 "$tmp/nokeys"
sed 's|^KeyDirectory .*|KeyDirectory '"$tmp"'/nokeys|' "$conf" >"$tmp/nokeys.conf"
run -c "$tmp/nokeys.conf" serve -n
is "$rc" 1 "serve -n: exit 1 without keys"
contains "$tmp/err" "no keys in $tmp/nokeys" "serve -n: names the empty key directory"
run -c "$conf" serve -h
contains "$tmp/out" "-n " "serve -h: lists -n"

# ---- serve without SRSDomain: the prvs map alone; tcp_table (SRS only) refuses ----
grep -v '^SRSDomain' "$conf" >"$tmp/nosrs-serve.conf"
run -c "$tmp/nosrs-serve.conf" serve -n
is "$rc" 0 "serve -n without SRSDomain: exit 0"
contains "$tmp/out" "configuration OK; SRS is off (no SRSDomain); 1 key(s)" \
    "serve -n without SRSDomain: says SRS is off"
contains "$tmp/out" "maps: prvs; forward and reverse answer NOTFOUND" \
    "serve -n without SRSDomain: names the maps on"
run -c "$conf" serve -n
contains "$tmp/out" "maps: prvs, forward, reverse" "serve -n with SRSDomain: all three maps"
# what a start by hand would stop at: a MapSocket or PidFile in a missing directory (a
# warning: systemd makes RuntimeDirectory first); a symlink there is an error
{ grep -v '^MapSocket' "$conf"; echo "MapSocket unix:$tmp/no-such-dir/s.sock"; } > "$tmp/nodir.conf"
run -c "$tmp/nodir.conf" serve -n
is "$rc" 0 "serve -n: a unix MapSocket in a missing directory: exit 0 (systemd may make it)"
contains "$tmp/err" "MapSocket unix:$tmp/no-such-dir/s.sock: its directory does not exist" \
    "serve -n: with a warning"
{ cat "$conf"; echo "PidFile $tmp/no-such-dir/s.pid"; } > "$tmp/nodir.conf"
run -c "$tmp/nodir.conf" serve -n
is "$rc" 0 "serve -n: a PidFile in a missing directory: exit 0"
contains "$tmp/err" "PidFile $tmp/no-such-dir/s.pid: its directory does not exist" "serve -n: says which"
ln -s /etc/hostname "$tmp/link.pid"
{ cat "$conf"; echo "PidFile $tmp/link.pid"; } > "$tmp/nodir.conf"
run -c "$tmp/nodir.conf" serve -n
is "$rc" 1 "serve -n: a symbolic link at PidFile (the start refuses it): exit 1"
contains "$tmp/err" "PidFile $tmp/link.pid: a symbolic link" "serve -n: says so"
# the warnings of backstop-milter -n (conf_risks) come from serve -n too
{ grep -v '^MapSocket' "$conf"; echo "MapSocket unix:$tmp/open.sock:0666"; } > "$tmp/risky.conf"
run -c "$tmp/risky.conf" serve -n
is "$rc" 0 "serve -n with a probable mistake: exit 0 (a warning, not an error)"
contains "$tmp/err" "srs-rewrite: warning: $tmp/risky.conf: MapSocket mode 0666 lets every local user" \
    "serve -n: warns of a map socket every local user can ask"
run -c "$tmp/nosrs-serve.conf" serve --tcp-table -n
is "$rc" 1 "serve --tcp-table -n without SRSDomain: exit 1"
contains "$tmp/err" "--tcp-table serves SRS only, and SRSDomain is not set in $tmp/nosrs-serve.conf" \
    "serve --tcp-table -n without SRSDomain: why"
run -c "$tmp/nosrs-serve.conf" serve --tcp-table -f
is "$rc" 1 "serve --tcp-table without SRSDomain: refuses to start, exit 1"
contains "$tmp/err" "--tcp-table serves SRS only, and SRSDomain is not set in $tmp/nosrs-serve.conf" \
    "serve --tcp-table without SRSDomain: why, and what to do"

tap_done
