#!/bin/sh
# backstop-keys.sh: the backstop-keys program against temporary key directories, time set with
# BACKSTOP_NOW: init, list, rotate, prune, revoke, export/import between two hosts, --owner, the
# refusals an admin will meet, exit codes (0 ok, 1 failure, 2 usage), and every row of the
# prvs known-answer vectors through sign and verify. Prints TAP.
set -u

prog="${top_builddir:?}/src/backstop-keys"
vectors="${top_srcdir:?}/tests/vectors"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/backstop-keys.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 022

NOW=1764201600	# 2025-11-27 00:00:00 UTC
DAY=86400

now=$NOW
. "$top_srcdir/tests/unit/tap.sh"

# mkconf NAME KEYDIR [VALIDITY]: a configuration file $tmp/NAME.conf
mkconf() {
	printf 'Domains example.com\nKeyDirectory %s\nTagValidity %s\n' "$2" "${3:-7}" \
	    >"$tmp/$1.conf"
}

mode() {
	stat -c %a "$1"
}

a="$tmp/a/keys"
b="$tmp/b/keys"
mkconf a "$a"
mkconf b "$b"
A="$tmp/a.conf"
B="$tmp/b.conf"

# ---- usage ----
run
is "$rc" 2 "no command: exit 2"
contains "$tmp/err" "usage:" "no command: usage on stderr"
run -h
is "$rc" 0 "-h: exit 0"
case "$out" in *"rotate [--activate-in DURATION]"*) pass "-h: lists the commands" ;;
*) fail "-h: lists the commands" ;; esac
run -V
is "$out" "backstop 0.1.0" "-V: PACKAGE_STRING"
run -c "$A" frobnicate
is "$rc" 2 "unknown command: exit 2"
contains "$tmp/err" "unknown command frobnicate" "unknown command: named"
run -c "$A" export 12
is "$rc" 2 "bad slot: exit 2"
contains "$tmp/err" "bad slot 12" "bad slot: named"
run -c "$A" rotate --activate-in 2x
is "$rc" 2 "bad duration: exit 2"
contains "$tmp/err" "--activate-in 2x" "bad duration: named"
run -c "$A" rotate --activate-in 99999999d
is "$rc" 2 "rotate --activate-in 99999999d: exit 2"
contains "$tmp/err" "--activate-in 99999999d: at most 30d" "--activate-in too long: names the limit"
run -c "$A" rotate --activate-in 721h
is "$rc" 2 "rotate --activate-in 721h (30 days and an hour): exit 2"
run -c "$A" import 3 --activate-in 31d </dev/null
is "$rc" 2 "import --activate-in 31d: exit 2"
contains "$tmp/err" "at most 30d" "import --activate-in too long: names the limit"
[ -e "$a" ] && fail "refused usage created nothing" || pass "refused usage created nothing"
run -c "$A" prune --force
is "$rc" 2 "option of another command: exit 2"
run -c "$A" init --owner no-such-user-here
is "$rc" 2 "unknown owner: exit 2"
contains "$tmp/err" "no-such-user-here" "unknown owner: named"
run -c "$A" sign
is "$rc" 2 "sign without an address: exit 2"
run -c "$tmp/missing.conf" list
is "$rc" 1 "missing configuration: exit 1"
contains "$tmp/err" "$tmp/missing.conf" "missing configuration: the message names the file"

# ---- init ----
run -c "$A" list
is "$rc" 1 "list before init: exit 1"
contains "$tmp/err" "run backstop-keys init" "list before init: says to run init"
run -c "$A" init
is "$rc" 0 "init: exit 0"
is "$(mode "$a")" 700 "init: directory mode 0700"
is "$(mode "$a/0.key")" 600 "init: key mode 0600"
is "$(sed -n 2p "$a/0.key")" "activate $NOW" "init: the first key activates now"
is "$(grep -c '^secret [A-Za-z0-9+/]\{43\}=$' "$a/0.key")" 1 "init: a base64 secret"
contains "$a/created" "created $NOW" "init: the creation record"
run -c "$A" init
is "$rc" 1 "second init: exit 1"
contains "$tmp/err" "already holds keys" "second init: says so"
run -c "$A" list
is "$rc" 0 "list: exit 0"
contains "$tmp/out" "0    signing    2025-11-27 00:00:00 UTC" "list: slot 0 signing"
contains "$tmp/out" "created 2025-11-27 00:00:00 UTC" "list: the creation time"

# ---- sign and verify ----
run -c "$A" sign alice@example.com
is "$rc" 0 "sign: exit 0"
tag=$out
case "$tag" in prvs=0?????????=alice@example.com) pass "sign: a slot-0 tag" ;;
*) fail "sign: a slot-0 tag (got $tag)" ;; esac
run -c "$A" verify "$tag"
is "$rc" 0 "verify: exit 0"
is "$out" "valid alice@example.com" "verify: verdict and original address"
now=$((NOW + 7 * DAY))
run -c "$A" verify "$tag"
is "$out" "valid alice@example.com" "verify: still valid on day 7"
now=$((NOW + 8 * DAY))
run -c "$A" verify "$tag"
is "$rc" 1 "verify expired: exit 1"
is "$out" "expired alice@example.com" "verify: expired on day 8"
now=$NOW
run -c "$A" verify alice@example.com
is "$out" "untagged alice@example.com" "verify: untagged"
is "$rc" 1 "verify untagged: exit 1"
run -c "$A" verify 'bad@@example.com'
is "$rc" 1 "verify of an unparsable address: exit 1"
contains "$tmp/err" "bad@@example.com" "verify: the message names the address"
mkconf a30 "$a" 30
run -c "$tmp/a30.conf" sign alice@example.com
now=$((NOW + 30 * DAY))
tag30=$(cat "$tmp/out")
run -c "$tmp/a30.conf" verify "$tag30"
is "$rc" 0 "sign and verify use TagValidity from the configuration"
now=$NOW

# ---- rotate ----
run -c "$A" rotate --activate-in 2h
is "$rc" 0 "rotate --activate-in 2h: exit 0"
contains "$tmp/out" "slot 1: new key, signing from 2025-11-27 02:00:00 UTC" "rotate: slot and time"
is "$(mode "$a/1.key")" 600 "rotate: key mode 0600"
run -c "$A" list
contains "$tmp/out" "1    pending    2025-11-27 02:00:00 UTC" "list: slot 1 pending"
contains "$tmp/out" "0    signing    2025-11-27 00:00:00 UTC  2025-11-27 02:00:00 UTC  2025-12-19 02:00:00 UTC" \
    "list: slot 0 signs, retires at 02:00, prunable 22 days later"
run -c "$A" rotate
is "$rc" 1 "rotate while a key is pending: exit 1"
contains "$tmp/err" "slot 1 holds a key that is pending" "rotate: says why"
run -c "$A" sign alice@example.com
case "$out" in prvs=0*) pass "before the activation slot 0 signs" ;;
*) fail "before the activation slot 0 signs ($out)" ;; esac
now=$((NOW + 7200))
run -c "$A" sign alice@example.com
tag1=$out
case "$tag1" in prvs=1*) pass "from the activation slot 1 signs" ;;
*) fail "from the activation slot 1 signs ($tag1)" ;; esac
run -c "$A" verify "$tag"
is "$out" "valid alice@example.com" "the retired key still verifies"
run -c "$A" list
contains "$tmp/out" "0    verifying" "list: slot 0 verifying"
now=$((NOW + 3 * DAY))
run -c "$A" rotate --activate-in 30m
is "$out" "slot 2: new key, signing from 2025-11-30 00:30:00 UTC" "rotate --activate-in 30m"
now=$((NOW + 4 * DAY))
run -c "$A" rotate --activate-in 1d
is "$out" "slot 3: new key, signing from 2025-12-02 00:00:00 UTC" "rotate --activate-in 1d"
now=$((NOW + 6 * DAY))
run -c "$A" rotate --activate-in 3600s
is "$out" "slot 4: new key, signing from 2025-12-03 01:00:00 UTC" "rotate --activate-in 3600s"

# ---- two hosts: export, import, staged switch ----
now=$NOW
BACKSTOP_NOW=$now "$prog" -c "$A" export 0 | BACKSTOP_NOW=$now "$prog" -c "$B" import 0 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "host b starts with host a's first key"
(umask 077; BACKSTOP_NOW=$now "$prog" -c "$A" export 1 >"$tmp/k1")
is "$?" 0 "export into a private file: exit 0"
is "$(sed -n 1,2p "$tmp/k1" | tr '\n' ' ')" "# backstop key, slot 1 activate $((NOW + 7200)) " \
    "export: a key file naming its slot, with its activation"
is "$(sed 1d "$tmp/k1")" "$(sed 1d "$a/1.key")" "export: the key file's fields"
BACKSTOP_NOW=$now "$prog" -c "$A" export 1 >"$tmp/k1-open" 2>"$tmp/err"
is "$?" 1 "export into a file others can read: exit 1"
contains "$tmp/err" "standard output is a file that others can read (mode 0644)" \
    "export into a 0644 file: says so"
contains "$tmp/err" "(umask 077; backstop-keys export 1 > 1.key)" "export into a 0644 file: the fix"
is "$(wc -c <"$tmp/k1-open")" 0 "export into a 0644 file: the secret is not written"
is "$(BACKSTOP_NOW=$now "$prog" -c "$A" export 1 | sed 1d)" "$(sed 1d "$a/1.key")" \
    "export into a pipe"
BACKSTOP_NOW=$now "$prog" -c "$B" import 1 <"$tmp/k1" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "import on host b: exit 0"
is "$(cat "$tmp/out")" "slot 1: key imported" "import: says so"
is "$(mode "$b/1.key")" 600 "import: key mode 0600"
BACKSTOP_NOW=$now "$prog" -c "$B" import 1 <"$tmp/k1" >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "import of the same key again: exit 0"
contains "$tmp/out" "already holds this key" "import again: a no-op"
BACKSTOP_NOW=$now "$prog" -c "$A" export 2 | sed 1d | BACKSTOP_NOW=$now "$prog" -c "$B" import 1 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of a different key over slot 1: exit 1"
contains "$tmp/err" "$b/1.key holds a different key" "import over a different key: names the file"
contains "$tmp/err" "--force" "import over a different key: names --force"
BACKSTOP_NOW=$now "$prog" -c "$A" export 2 | BACKSTOP_NOW=$now "$prog" -c "$B" import 5 --force \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "import into a free slot with --force: exit 0"
printf 'activate 5\nsecret AAAA\n' | BACKSTOP_NOW=$now "$prog" -c "$B" import 6 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of a corrupt key file: exit 1"
contains "$tmp/err" "(standard input):2: secret is 4 characters" "import: names the line"
head -c 5000 /dev/zero | BACKSTOP_NOW=$now "$prog" -c "$B" import 6 >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of a huge file: exit 1"
contains "$tmp/err" "(standard input): too large" "import of a huge file: says so"
BACKSTOP_NOW=$now "$prog" -c "$A" export 7 2>"$tmp/err" | cat >"$tmp/out"
is "$(wc -c <"$tmp/out")" 0 "export of an empty slot: no output"
contains "$tmp/err" "no key in $a/7.key" "export of an empty slot: names the file"
# a key keeps its slot: an export names it, import refuses another slot without --force
BACKSTOP_NOW=$now "$prog" -c "$A" export 3 | BACKSTOP_NOW=$now "$prog" -c "$B" import 4 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of slot 3's export as slot 4: exit 1"
contains "$tmp/err" "is the key of slot 3, not slot 4: nothing done" \
    "import into another slot: names both slots"
contains "$tmp/err" "import 3, or import 4 --force" "import into another slot: names --force"
[ -e "$b/4.key" ] && fail "import into another slot: nothing written" ||
    pass "import into another slot: nothing written"
BACKSTOP_NOW=$now "$prog" -c "$A" export 3 | sed 1d | BACKSTOP_NOW=$now "$prog" -c "$B" import 4 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "a key file without the slot comment imports into any slot"
printf '# backstop key, slot 3\n# backstop key, slot 4\n%s\n' "$(sed 1d "$tmp/k1")" |
    BACKSTOP_NOW=$now "$prog" -c "$B" import 6 >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "a key file naming two slots: exit 1"
contains "$tmp/err" "(standard input):2: names slot 4, but line 1 names slot 3" \
    "a key file naming two slots: says where"
# one key in two slots: refused, --force or not
BACKSTOP_NOW=$now "$prog" -c "$A" export 3 | BACKSTOP_NOW=$now "$prog" -c "$B" import 7 --force \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of a key held in another slot, with --force: exit 1"
contains "$tmp/err" "$b/4.key holds this key already: nothing done, and --force does not" \
    "the same key in two slots: names the other slot's file"
contains "$tmp/err" "import it as slot 4" "the same key in two slots: says which slot"
[ -e "$b/7.key" ] && fail "the same key in two slots: nothing written" ||
    pass "the same key in two slots: nothing written"
BACKSTOP_NOW=$now "$prog" -c "$B" export 0 | sed 1d | BACKSTOP_NOW=$now "$prog" -c "$B" import 1 \
    --force >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "export 0 | import 1 --force on one host: exit 1"
contains "$tmp/err" "$b/0.key holds this key already" "export 0 | import 1: names 0.key"
BACKSTOP_NOW=$now "$prog" -c "$B" export 1 | BACKSTOP_NOW=$now "$prog" -c "$B" import 1 \
    >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "the key already in that very slot: still a no-op"
rm "$b/4.key"
# an imported key that would stay pending for longer than --activate-in allows
printf '# backstop key\nactivate %s\nsecret %s\n' $((now + 31 * DAY)) \
    "$(head -c 32 /dev/urandom | base64)" |
    BACKSTOP_NOW=$now "$prog" -c "$B" import 8 >"$tmp/out" 2>"$tmp/err"
is "$?" 1 "import of a key activating in 31 days: exit 1"
contains "$tmp/err" "activates at 2025-12-28 00:00:00 UTC, more than 30d from now" \
    "import of a key activating in 31 days: says so"
[ -e "$b/8.key" ] && fail "a key activating in 31 days: nothing written" ||
    pass "a key activating in 31 days: nothing written"
now=$((NOW + 3600))
run -c "$B" sign bob@example.com
btag0=$out
case "$btag0" in prvs=0*) pass "host b signs with slot 0 before the switch" ;;
*) fail "host b signs with slot 0 before the switch ($btag0)" ;; esac
run -c "$A" verify "$btag0"
is "$out" "valid bob@example.com" "host a verifies host b's tag before the switch"
run -c "$B" verify "$tag"
is "$out" "valid alice@example.com" "host b verifies host a's tag before the switch"
now=$((NOW + 7200))
run -c "$B" sign bob@example.com
btag1=$out
case "$btag1" in prvs=1*) pass "host b switches to slot 1 at the activation" ;;
*) fail "host b switches to slot 1 at the activation ($btag1)" ;; esac
run -c "$A" verify "$btag1"
is "$out" "valid bob@example.com" "host a verifies host b's tag after the switch"
run -c "$B" verify "$tag1"
is "$out" "valid alice@example.com" "host b verifies host a's tag after the switch"
now=$((NOW + 7 * DAY))
run -c "$A" verify "$btag1"
is "$rc" 0 "and still a week later"
run -c "$A" verify "$btag0"
is "$rc" 0 "the tag signed before the switch too"
run -c "$B" verify "$tag"
is "$rc" 0 "on both hosts"

# ---- prune ----
now=$((NOW + 22 * DAY + 7199))
run -c "$A" prune
is "$out" "nothing to prune" "prune a second before slot 0's window ends"
now=$((NOW + 22 * DAY + 7200))
run -c "$A" list
contains "$tmp/out" "0    prunable" "list: slot 0 prunable"
run -c "$A" prune --dry-run
is "$out" "would prune slot 0" "prune --dry-run"
[ -f "$a/0.key" ] && pass "prune --dry-run removes nothing" || fail "prune --dry-run removes nothing"
run -c "$A" prune
is "$rc" 0 "prune: exit 0"
is "$out" "pruned slot 0" "prune: slot 0"
[ -f "$a/0.key" ] && fail "prune removed 0.key" || pass "prune removed 0.key"
run -c "$A" verify "$tag"
is "$out" "unknown-key alice@example.com" "a pruned key verifies nothing"
is "$(ls -A "$a" | tr '\n' ' ')" "1.key 2.key 3.key 4.key created " "no temp files left behind"

# import --activate-in: a third host takes the key and its own activation time
c="$tmp/c/keys"
mkconf c "$c"
now=$NOW
BACKSTOP_NOW=$now "$prog" -c "$A" export 1 | \
    BACKSTOP_NOW=$now "$prog" -c "$tmp/c.conf" import 1 --activate-in 1h >"$tmp/out" 2>"$tmp/err"
is "$?" 0 "import --activate-in into a new store: exit 0"
is "$(mode "$c")" 700 "import created the directory 0700"
is "$(sed -n 2p "$c/1.key")" "activate $((NOW + 3600))" "import --activate-in sets the activation"
contains "$c/created" "created $NOW" "import into a new store writes the creation record"

# ---- --owner ----
d="$tmp/d/keys"
mkconf d "$d"
chmod 711 "$tmp"	# the checks as nobody must reach the stores in it
run -c "$tmp/d.conf" init --owner nobody:nogroup
is "$rc" 1 "init --owner nobody without UserID nobody: exit 1"
contains "$tmp/err" "key directory $d belongs to nobody (uid $(id -u nobody)), not to root or the daemons' user (UserID): another user could have written it" \
    "a store of a user who is neither root nor UserID is refused"
rm -rf "$tmp/d"
printf 'UserID nobody\n' >>"$tmp/d.conf"
run -c "$tmp/d.conf" init --owner nobody:nogroup
is "$rc" 0 "init --owner nobody:nogroup: exit 0"
is "$(stat -c %U:%G "$d/0.key")" nobody:nogroup "--owner: the key file's owner"
is "$(stat -c %U:%G "$d")" nobody:nogroup "--owner: the directory's owner"
is "$(stat -c %U "$d/created")" nobody "--owner: the creation record's owner"
run -c "$tmp/d.conf" rotate --owner nobody
is "$(stat -c %U:%G "$d/1.key")" nobody:nogroup "rotate --owner USER: the user's group"
is "$out" "slot 1: new key, signing from 2025-11-27 00:00:01 UTC" \
    "rotate in the second of the last activation: a second later"
now=$((NOW + 1))
run -c "$tmp/d.conf" rotate --owner 0:0
is "$out" "slot 2: new key, signing from 2025-11-27 00:00:02 UTC" \
    "and again: the keys keep their order"
now=$NOW
is "$(stat -c %U:%G "$d/2.key")" root:root "--owner with numeric ids"
# files of a third user, neither root nor UserID, are refused (they were accepted)
chown daemon "$d/1.key"
run -c "$tmp/d.conf" list
is "$rc" 1 "a key file of another user: exit 1"
contains "$tmp/err" "$d/1.key belongs to daemon (uid $(id -u daemon)), not to root or the daemons' user (UserID)" \
    "a key file of another user: names the file and its owner"
chown nobody "$d/1.key"
chown daemon "$d/created"
run -c "$tmp/d.conf" list
contains "$tmp/err" "$d/created belongs to daemon" "the creation record of another user: refused"
chown nobody "$d/created"
run -c "$tmp/d.conf" list
is "$rc" 0 "root's and UserID's files: accepted"

# ---- new files: the directory's owner; a new store: UserID's ----
e="$tmp/e/keys"
E="$tmp/e.conf"
printf 'Domains example.com\nKeyDirectory %s\nUserID nobody\n' "$e" >"$E"
now=$NOW
run -c "$E" init
is "$rc" 0 "init with UserID nobody, without --owner: exit 0"
is "$(stat -c %U:%G "$e" "$e/0.key" | sort -u)" nobody:nogroup \
    "init without --owner: a new store and its key belong to UserID"
now=$((NOW + 60))
run -c "$E" rotate
is "$rc" 0 "rotate by root without --owner: exit 0"
is "$(stat -c %U:%G "$e/1.key")" nobody:nogroup \
    "rotate by root without --owner: the directory's owner and group"
now=$((NOW + 120))
run -c "$E" rotate --owner root:root
is "$rc" 1 "rotate --owner root, which UserID cannot read: exit 1"
contains "$tmp/err" "the daemons' user nobody (UserID in $E) cannot load the key store after this change: cannot read $e/2.key: permission denied" \
    "and it names the file the daemons cannot read"
contains "$tmp/err" "the running daemons keep their old keys, without the new one. Give the store to that user: chown -R nobody $e" \
    "and what the daemons do, and the fix"
chown nobody: "$e/2.key"
run -c "$E" revoke 1
is "$rc" 0 "revoke by root without --owner: exit 0"
is "$(stat -c %U "$e"/*.key | sort -u)" nobody "revoke: every key still the daemons' user's"
g="$tmp/g/keys"
mkdir -p "$g" && chgrp nogroup "$g" && chmod 750 "$g"
printf 'Domains example.com\nKeyDirectory %s\nUserID nobody\n' "$g" >"$tmp/g.conf"
now=$NOW
run -c "$tmp/g.conf" init
is "$rc" 0 "init into a root:nogroup 0750 directory: exit 0"
is "$(stat -c %U:%G:%a "$g/0.key")" root:nogroup:640 \
    "a key in a 0750 directory: its owner and group, mode 0640 for the group"

# ---- revoke: a stolen key ----
r="$tmp/r/keys"
mkconf r "$r"
R="$tmp/r.conf"
now=$NOW
run -c "$R" init
now=$((NOW + DAY))
run -c "$R" sign alice@example.com
stolen=$out
run -c "$R" revoke
is "$rc" 2 "revoke without a slot: exit 2"
run -c "$R" revoke 4
is "$rc" 1 "revoke an empty slot: exit 1"
contains "$tmp/err" "no key in slot 4" "revoke an empty slot: says so"
r2="$tmp/r2/keys"
mkconf r2 "$r2"
mkdir -p "$tmp/r2" && cp -a "$r" "$r2"
run -c "$R" revoke 0
is "$rc" 0 "revoke the signing key: exit 0"
contains "$tmp/out" "slot 1: new key, signing from 2025-11-28 00:00:00 UTC" \
    "revoke: a new key signs from now"
contains "$tmp/out" "slot 0: revoked" "revoke: slot 0 revoked"
contains "$tmp/out" "on every other host: first import the new key (export 1 here, import 1 there), then revoke 0" \
    "revoke: says what to do on the other hosts"
[ -f "$r/0.key" ] && fail "revoke removed 0.key" || pass "revoke removed 0.key"
is "$(mode "$r/1.key")" 600 "revoke: the new key's mode 0600"
run -c "$R" verify "$stolen"
is "$out" "unknown-key alice@example.com" "a tag of the revoked key verifies no more"
run -c "$R" sign alice@example.com
case "$out" in prvs=1?????????=alice@example.com) pass "the new key signs" ;;
*) fail "the new key signs (got $out)" ;; esac
is "$(cat "$tmp/err")" "" "sign inside Domains: no note"
run -c "$R" sign bob@other.example
is "$rc" 0 "sign outside Domains: exit 0"
contains "$tmp/err" "note: other.example is not in Domains of $R: backstop-milter would not sign" \
    "sign outside Domains: a note on stderr"
# a second host that shared slot 0: import the new key, then revoke 0 only removes it
is "$(BACKSTOP_NOW=$now "$prog" -c "$R" export 1 |
    BACKSTOP_NOW=$now "$prog" -c "$tmp/r2.conf" import 1)" "slot 1: key imported" \
    "second host: import the new key"
run -c "$tmp/r2.conf" revoke 0
is "$(head -1 "$tmp/out")" "slot 0: revoked" "second host: revoke 0 makes no key of its own"
is "$(ls "$r2" | tr '\n' ' ')" "1.key created " "second host: only the shared new key"
run -c "$tmp/r2.conf" verify "$stolen"
is "$out" "unknown-key alice@example.com" "second host: the stolen key's tag verifies no more"
run -c "$R" rotate --activate-in 1h
run -c "$R" revoke 1
is "$rc" 1 "revoke the signer while a key is pending: exit 1"
contains "$tmp/err" "revoke slot 2 first" "and says what to do"
[ -f "$r/1.key" ] && pass "nothing removed" || fail "nothing removed"
run -c "$R" revoke 2
is "$out" "slot 2: revoked
tags and SRS addresses signed with the old slot 2 key no longer verify
on every other host: revoke 2" \
    "revoke a pending key: no new key needed"
run -c "$R" list
is "$(grep -c '^[0-9]' "$tmp/out")" 1 "one key left"
contains "$tmp/out" "1    signing" "slot 1 still signs"

# ---- permissions and corruption ----
chmod 644 "$a/1.key"
run -c "$A" list
is "$rc" 1 "world-readable key: exit 1"
contains "$tmp/err" "$a/1.key is readable by others (mode 0644): run chmod 600 $a/1.key" \
    "world-readable key: names the file and the fix"
chmod 660 "$a/1.key"
run -c "$A" sign alice@example.com
is "$rc" 1 "group-writable key: sign fails"
contains "$tmp/err" "$a/1.key is writable by its group (mode 0660)" "group-writable key: says so"
chmod 602 "$a/1.key"
run -c "$A" list
contains "$tmp/err" "$a/1.key is writable by others (mode 0602)" "world-writable key: says so"
chmod 666 "$a/1.key"
run -c "$A" list
contains "$tmp/err" "$a/1.key is writable by its group and by others (mode 0666)" \
    "group- and world-writable key: says so"
chmod 600 "$a/1.key"
chmod 775 "$a"
run -c "$A" verify "$tag1"
is "$rc" 1 "group-writable directory: exit 1"
contains "$tmp/err" "key directory $a is writable by its group (mode 0775): run chmod 700 $a" \
    "group-writable directory: names it and the fix"
chmod 703 "$a"
run -c "$A" list
contains "$tmp/err" "key directory $a is writable by others (mode 0703)" \
    "world-writable directory: says so"
chmod 700 "$a"
cp "$a/2.key" "$tmp/2.key.good"
printf 'activate 5\nsecret %s\n' 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' >>"$a/2.key"
run -c "$A" list
is "$rc" 1 "corrupt key: exit 1"
contains "$tmp/err" "$a/2.key:4: duplicate 'activate' line (first on line 2)" \
    "corrupt key: file:line: what"
cp "$tmp/2.key.good" "$a/2.key"
ln -s "$tmp/2.key.good" "$a/5.key"
run -c "$A" list
contains "$tmp/err" "$a/5.key is a symbolic link" "symlinked key: refused, named"
rm "$a/5.key"
run -c "$A" list
is "$rc" 0 "clean again"

# ---- the prvs known-answer vectors through the program ----
v="$tmp/v/keys"
mkdir -p "$v"
chmod 700 "$v"
mkconf v "$v"
b64() {
	printf %s "$1" | tr a-f A-F | basenc --base16 -d | base64 -w0
}
bad=0
rows=0
while IFS='	' read -r secret slot vnow validity addr expected; do
	[ "$secret" = secret_hex ] && continue
	rm -f "$v"/*.key
	printf '# backstop key\nactivate 0\nsecret %s\n' "$(b64 "$secret")" >"$v/$slot.key"
	chmod 600 "$v/$slot.key"
	mkconf v "$v" "$validity"
	got=$(BACKSTOP_NOW=$vnow "$prog" -c "$tmp/v.conf" sign "$addr" 2>"$tmp/err")
	src=$?
	rows=$((rows + 1))
	case "$expected" in
	ERROR*) [ $src = 1 ] && grep -q "would pass 64 octets" "$tmp/err" || { bad=$((bad + 1));
		echo "# sign $addr: rc $src, $(cat "$tmp/err")"; } ;;
	*) [ $src = 0 ] && [ "$got" = "$expected" ] || { bad=$((bad + 1));
		echo "# sign $addr: got '$got', want '$expected'"; } ;;
	esac
done <"$vectors/prvs-sign.tsv"
is "$bad" 0 "every row of prvs-sign.tsv through backstop-keys sign ($rows rows)"
bad=0
rows=0
while IFS='	' read -r keys vnow validity input verdict original; do
	[ "$keys" = keys ] && continue
	rm -f "$v"/*.key
	for k in $(echo "$keys" | tr , ' '); do
		printf '# backstop key\nactivate 0\nsecret %s\n' "$(b64 "${k#*:}")" >"$v/${k%%:*}.key"
		chmod 600 "$v/${k%%:*}.key"
	done
	mkconf v "$v" "$validity"
	got=$(BACKSTOP_NOW=$vnow "$prog" -c "$tmp/v.conf" verify "$input" 2>"$tmp/err")
	src=$?
	rows=$((rows + 1))
	want_rc=1
	[ "$verdict" = valid ] && want_rc=0
	if [ $src != $want_rc ] || [ "${got%% *}" != "$verdict" ] ||
	    { [ "$verdict" = valid ] && [ "${got#* }" != "$original" ]; }; then
		bad=$((bad + 1))
		echo "# verify $input at $vnow: rc $src, got '$got', want '$verdict $original'"
	fi
done <"$vectors/prvs-verify.tsv"
is "$bad" 0 "every row of prvs-verify.tsv through backstop-keys verify ($rows rows)"

tap_done
