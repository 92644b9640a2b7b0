#!/bin/sh
# backstop-replay.sh: the backstop-replay admin tool on a store seeded by replay-seed, at a
# fixed BACKSTOP_NOW: each subcommand's output, the exit codes (0 ok, 1 failure, 2 usage),
# the messages an admin will meet, and that root runs it as the directory's owner. Prints TAP.
set -u

prog="${top_builddir:?}/src/backstop-replay"
seed="${top_builddir:?}/tests/unit/replay-seed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/backstop-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"

NOW=1764183600	# 2025-11-26T19:00:00Z, day 20418
DAY=86400
TODAY=$((NOW / DAY))
ALICE=prvs=0418a1b2c3=alice@example.com
BOB=prvs=0411a1b2c3=bob@example.com
CAROL=prvs=0418c0ffee=carol@example.com

now=$NOW
. "$top_srcdir/tests/unit/tap.sh"

# conf FILE REPLAYDATABASE
conf() {
	printf 'Domains example.com\nReplayDatabase %s\nMaxBouncesPerTag 3\nDurability write\n' \
		"$2" >"$1"
}

mkdir "$tmp/db"
conf "$tmp/c.conf" "$tmp/db"
C="-c $tmp/c.conf"

# usage and version
run -V
is "$rc" 0 "-V exits 0"
contains "$tmp/out" "backstop" "-V prints the package"
run -h
is "$rc" 0 "-h exits 0"
contains "$tmp/out" "forget ADDR" "-h lists the commands"
run $C
is "$rc" 2 "no command: usage error"
run $C frobnicate
is "$rc" 2 "unknown command: usage error"
contains "$tmp/err" "unknown command frobnicate" "the message names the command"
run $C show
is "$rc" 2 "show without an address: usage error"
run $C list --limit many
is "$rc" 2 "list --limit with a bad number: usage error"
run $C stats --over-limit
is "$rc" 2 "an option of another command: usage error"
run $C show a@example.com b@example.com
is "$rc" 2 "two addresses: usage error"

# configuration problems
run -c "$tmp/missing.conf" stats
is "$rc" 1 "a missing configuration file: failure"
contains "$tmp/err" "missing.conf" "the message names the file"
conf "$tmp/none.conf" none
run -c "$tmp/none.conf" stats
is "$rc" 1 "ReplayDatabase none: failure"
contains "$tmp/err" "replay tracking is disabled" "the message says tracking is disabled"
conf "$tmp/nodir.conf" "$tmp/nodir"
run -c "$tmp/nodir.conf" stats
is "$rc" 1 "a missing store directory: failure"
contains "$tmp/err" "$tmp/nodir: No such file or directory: create it" \
	"the message names the directory and the fix"

# an empty store
run $C stats
is "$rc" 0 "stats on an empty store"
contains "$tmp/out" "records:            0" "no records yet"
contains "$tmp/out" "sent records:       0" "no sent records yet"
contains "$tmp/out" "sent since:         -" "no sent mail recorded yet"

# seed: alice 5 bounces (over the limit of 3), carol 3 (at the limit), bob 1 (expired)
"$seed" "$tmp/db" $((NOW - 3600)) $((TODAY + 7)) 5 "$ALICE" &&
	"$seed" "$tmp/db" $NOW $((TODAY + 7)) 3 "$CAROL" &&
	"$seed" "$tmp/db" $((NOW - 9 * DAY)) $((TODAY - 3)) 1 "$BOB"
is "$?" 0 "seeded the store"

run $C stats
is "$rc" 0 "stats"
contains "$tmp/out" "records:            3" "stats: records"
contains "$tmp/out" "bounces counted:    9" "stats: bounces"
contains "$tmp/out" "over the limit:     2 (MaxBouncesPerTag 3)" "stats: over the limit"
contains "$tmp/out" "expired:            1" "stats: expired"
contains "$tmp/out" "oldest first seen:  2025-11-17T19:00:00Z" "stats: oldest"
contains "$tmp/out" "newest last seen:   2025-11-26T19:00:00Z" "stats: newest"
contains "$tmp/out" "database file:" "stats: file sizes"

# the sent record: two messages alice sent an hour ago, kept 30 days
"$seed" --sent "$tmp/db" $((NOW - 3600)) $((TODAY + 30)) Alice@Example.COM \
	20251126180000.1@mail.example.com 20251126180000.2@mail.example.com
is "$?" 0 "seeded the sent record"
run $C stats
contains "$tmp/out" "sent records:       2" "stats: sent records"
contains "$tmp/out" "sent since:         2025-11-26T18:00:00Z" "stats: when recording began"
run $C sent 20251126180000.1@mail.example.com
is "$rc" 0 "sent: one record"
contains "$tmp/out" "sender:      alice@example.com" "sent: the sender, lowercase"
contains "$tmp/out" "sent:        2025-11-26T18:00:00Z" "sent: when it left"
contains "$tmp/out" "recipients:  1" "sent: its recipients"
contains "$tmp/out" "answers:     0" "sent: no answers accepted yet"
contains "$tmp/out" "expires:     2025-12-26" "sent: the expiry day"
run $C sent '<20251126180000.1@MAIL.Example.com> (as the log writes it)'
is "$rc" 0 "sent: the id as the header or log writes it, normalised"
run $C sent 20251126180000.3@mail.example.com
is "$rc" 1 "sent of an unknown Message-ID: failure"
contains "$tmp/err" "20251126180000.3@mail.example.com: no record" "the message names the id"
run $C sent
is "$rc" 2 "sent without a Message-ID: usage error"

run $C list
is "$rc" 0 "list"
is "$(wc -l <"$tmp/out")" 4 "list: a header and three records"
is "$(grep alice "$tmp/out")" \
	"     5  2025-11-26T18:00:00Z  2025-11-26T18:00:00Z  2025-12-04  $ALICE" \
	"list: count, first seen, last seen, expiry day, address"
is "$(tail -n +2 "$tmp/out" | awk '{print $5}' | tr '\n' ' ')" "$BOB $ALICE $CAROL " \
	"list: in key order"
run $C list --over-limit
is "$(tail -n +2 "$tmp/out" | awk '{print $5}' | tr '\n' ' ')" "$ALICE $CAROL " \
	"list --over-limit: the tags at or over the limit"
run $C list --limit 1
is "$(tail -n +2 "$tmp/out" | wc -l)" 1 "list --limit 1: one record"

run $C show "PRVS=0418A1B2C3=Alice@Example.COM"
is "$rc" 0 "show, in another case"
contains "$tmp/out" "count:       5 of 3 (limit reached" "show: the count against the limit"
contains "$tmp/out" "expires:     2025-12-04" "show: the expiry day"
run $C show "$BOB"
contains "$tmp/out" "2025-11-24 (expired)" "show: an expired record says so"
run $C show nobody@example.com
is "$rc" 1 "show an unknown address: failure"
contains "$tmp/err" "nobody@example.com: no record" "the message names the address"

run $C forget "$ALICE"
is "$rc" 0 "forget"
contains "$tmp/out" "forgot $ALICE" "forget says what it did"
run $C show "$ALICE"
is "$rc" 1 "a forgotten address has no record"
run $C forget "$ALICE"
is "$rc" 1 "forget twice: failure"

run $C expire
is "$rc" 0 "expire"
contains "$tmp/out" "removed 1 expired record" "expire removes exactly bob's record"
run $C list
is "$(tail -n +2 "$tmp/out" | awk '{print $5}')" "$CAROL" "only carol is left"

# root runs the tool as the owner of the directory, so no file there becomes root's
mkdir "$tmp/owned"
chown 65534:65534 "$tmp/owned"
conf "$tmp/owned.conf" "$tmp/owned"
run -c "$tmp/owned.conf" stats
is "$rc" 0 "stats on a directory owned by another user"
is "$(find "$tmp/owned" -mindepth 1 ! -user 65534 | wc -l)" 0 \
	"every file it created belongs to the directory's owner"
is "$(find "$tmp/owned" -mindepth 1 -name 'replay.db' | wc -l)" 1 "the database was created"

# a file where the directory should be
: >"$tmp/plain"
conf "$tmp/plain.conf" "$tmp/plain"
run -c "$tmp/plain.conf" stats
is "$rc" 1 "a file in place of the directory: failure"
contains "$tmp/err" "not a directory" "the message says so"

# a corrupt database file: verify says so, salvage rebuilds the store from what is readable
mkdir "$tmp/bad"
conf "$tmp/bad.conf" "$tmp/bad"
run -c "$tmp/bad.conf" verify
is "$rc" 0 "verify with no database file yet: nothing to check"
"$seed" "$tmp/bad" $NOW $((TODAY + 7)) 4 "$ALICE" && "$seed" "$tmp/bad" $NOW $((TODAY + 7)) 2 "$CAROL"
is "$?" 0 "seeded the store to corrupt"
run -c "$tmp/bad.conf" verify
is "$rc" 0 "verify: a sound store"
contains "$tmp/out" "$tmp/bad/replay.db: OK" "verify says OK"
printf '\0\0\0\0' | dd of="$tmp/bad/replay.db" bs=1 seek=12 conv=notrunc 2>/dev/null
run -c "$tmp/bad.conf" verify
is "$rc" 1 "verify: a corrupt file: failure"
contains "$tmp/err" "$tmp/bad/replay.db: corrupt: " "verify names the file and what is wrong"
contains "$tmp/err" "backstop-replay salvage" "verify names the repair"
run -c "$tmp/bad.conf" stats
is "$rc" 1 "stats on the corrupt store: failure"
contains "$tmp/err" "check it with backstop-replay verify, repair it with backstop-replay salvage" \
	"the open failure names verify and salvage"
run -c "$tmp/bad.conf" salvage
is "$rc" 0 "salvage"
contains "$tmp/out" "salvaged 2 records into $tmp/bad/replay.db" "salvage keeps both readable records"
is "$(ls "$tmp/bad" | grep -c '^replay\.db\.corrupt-[0-9]\{8\}T[0-9]\{6\}Z$')" 1 \
	"the damaged file is kept aside as replay.db.corrupt-DATE"
run -c "$tmp/bad.conf" verify
is "$rc" 0 "verify after salvage: sound"
run -c "$tmp/bad.conf" list
is "$(tail -n +2 "$tmp/out" | awk '{print $1, $5}' | tr '\n' ' ')" "4 $ALICE 2 $CAROL " \
	"the salvaged store holds the records with their counts"

# salvage refuses a store that another process holds open (it would rename the file under
# that process, which would go on counting into the renamed file); with no holder it runs
mkfifo "$tmp/hold.in" "$tmp/hold.out"
"$seed" --hold "$tmp/bad" <"$tmp/hold.in" >"$tmp/hold.out" 2>"$tmp/hold.err" &
holder=$!
exec 3>"$tmp/hold.in" 4<"$tmp/hold.out"
read -r held <&4
is "$held" "open" "a second process holds the store open"
ino=$(stat -c %i "$tmp/bad/replay.db")
asides=$(ls "$tmp/bad" | grep -c '^replay\.db\.corrupt-')
run -c "$tmp/bad.conf" salvage
is "$rc" 1 "salvage while another process has the store open: failure"
contains "$tmp/err" "$tmp/bad: the replay store is open in another process (a running backstop-milter, or another backstop-replay): stop it first, then run salvage" \
	"the message says who may hold it and what to do"
is "$(stat -c %i "$tmp/bad/replay.db")" "$ino" "the refused salvage left replay.db in place"
is "$(ls "$tmp/bad" | grep -c '^replay\.db\.corrupt-')" "$asides" "and set no file aside"
run -c "$tmp/bad.conf" list
is "$(tail -n +2 "$tmp/out" | awk '{print $1, $5}' | tr '\n' ' ')" "4 $ALICE 2 $CAROL " \
	"the counts are intact beside the holder"
exec 3>&- 4<&-
wait "$holder"
is "$?" 0 "the holder closed the store"
now=$((NOW + 1))	# the file set aside gets another name than the first salvage's
run -c "$tmp/bad.conf" salvage
now=$NOW
is "$rc" 0 "salvage once no process holds the store"
contains "$tmp/out" "salvaged 2 records into $tmp/bad/replay.db" "it keeps both records"
is "$(ls "$tmp/bad" | grep -c '^replay\.db\.corrupt-')" "$((asides + 1))" "and sets the old file aside"
run -c "$tmp/bad.conf" list
is "$(tail -n +2 "$tmp/out" | awk '{print $1, $5}' | tr '\n' ' ')" "4 $ALICE 2 $CAROL " \
	"with their counts"

# while a salvage holds the lock exclusively (flock(1) takes it here, as salvage does), the
# other commands do not join the half-rebuilt store: they fail and say why
mkfifo "$tmp/ex.in" "$tmp/ex.out"
flock -x -n "$tmp/bad/replay.lock" sh -c 'echo locked; cat >/dev/null' <"$tmp/ex.in" >"$tmp/ex.out" &
exlock=$!
exec 3>"$tmp/ex.in" 4<"$tmp/ex.out"
read -r held <&4
is "$held" "locked" "the lock file is held exclusively"
run -c "$tmp/bad.conf" stats
is "$rc" 1 "stats during a salvage: failure"
contains "$tmp/err" "$tmp/bad: backstop-replay salvage is rebuilding the replay store" \
	"the message says a salvage is running"
exec 3>&- 4<&-
wait "$exlock"
run -c "$tmp/bad.conf" stats
is "$rc" 0 "stats once the salvage is done"

tap_done
