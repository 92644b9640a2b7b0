#!/bin/bash
# postgrey.sh: backstop's BATV tags beside Debian's real postgrey, its policy daemon on
# loopback, spoken to in Postfix's policy protocol over its socket. Our tag changes every day
# (prvs=KDDDSSSSSS=), so postgrey must see prvs=<tag of day 1>=alice and prvs=<tag of day 2>=alice
# as one greylisting triplet, or our users are greylisted again each day. What postgrey makes
# of each sender is read back from its own database, one key a triplet (its log says "new"
# for every request within the first second, so it cannot tell). Prints TAP; root only (exit 77 otherwise).
set -u
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tap.sh"
need postgrey db5.3_dump
BACKSTOP_NOW=$(date +%s)	# postgrey reads the real clock; our tags are dated from it
export BACKSTOP_NOW
bs_init "$(mktemp -d /tmp/backstop-postgrey.XXXXXX)"
trap bs_cleanup EXIT
echo "# work dir $BS_W"
bs_keys_init || bail "backstop-keys init failed: $(cat "$BS_W/keys-init.out")"

mkdir "$BS_W/pg" && chown postgrey:postgrey "$BS_W/pg"
PG_PORT=$(bs_free_port)
# --delay long enough that every second request of a triplet is an early retry
postgrey --inet="127.0.0.1:$PG_PORT" --dbdir="$BS_W/pg" --delay=3600 --user=postgrey \
    --group=postgrey --pidfile="$BS_W/pg/pid" -v 2>> "$BS_W/postgrey.log" &
BS_PIDS+=($!)
PG_PID=$!
bs_wait_port "$PG_PORT" || bail "postgrey did not start: $(cat "$BS_W/postgrey.log")"

# policy SENDER RECIPIENT: one smtpd_access_policy request at RCPT, as Postfix sends it
policy() {
	local reply=
	exec 3<> "/dev/tcp/127.0.0.1/$PG_PORT" || return 1
	printf '%s\n' request=smtpd_access_policy protocol_state=RCPT protocol_name=ESMTP \
	    client_address=192.0.2.25 client_name=mx.outside.example \
	    helo_name=mx.outside.example "sender=$1" "recipient=$2" instance="$RANDOM.$3" "" >&3
	IFS= read -r reply <&3
	exec 3<&-
	printf '%s\n' "$reply"
}

# triplets RECIPIENT: the senders postgrey stored for mail to RECIPIENT, one a line
triplets() {
	db5.3_dump -p "$BS_W/pg/postgrey.db" | sed -n "s|^ [0-9./]*/\(.*\)/$1\$|\1|p" | sort
}

day1=$(bs_sign alice@example.com 1)
day2=$(bs_sign alice@example.com 0)
check "our tags of two days differ, in our exact shape" \
    '[ "$day1" != "$day2" ] && [[ $day1 =~ ^prvs=[0-9a-f]{10}=alice@example.com$ ]] &&
     [[ $day2 =~ ^prvs=[0-9a-f]{10}=alice@example.com$ ]]'
r1=$(policy "$day1" bob@dest.example 1)
check "postgrey greylists the first message ($day1)" '[[ $r1 == action=DEFER_IF_PERMIT* ]]'
policy "$day2" bob@dest.example 2 > /dev/null
policy alice@example.com bob@dest.example 3 > /dev/null

# Other signers: the same draft's tag with upper-case hex, and PRVS= in upper case.
policy prvs=0730A1B2C3=dave@other.example bob@dest.example 4 > /dev/null
policy prvs=0731D4E5F6=dave@other.example bob@dest.example 5 > /dev/null
policy PRVS=0730A1B2C3=carol@other.example bob@dest.example 6 > /dev/null
policy PRVS=0731D4E5F6=carol@other.example bob@dest.example 7 > /dev/null
# its database, closed, for db_dump. Net::Server::Multiplex takes a signal only at its
# next event: a connection wakes it.
kill "$PG_PID"
bs_poll "{ : <> /dev/tcp/127.0.0.1/$PG_PORT; } 2> /dev/null; ! kill -0 $PG_PID 2> /dev/null" ||
    bail "postgrey does not stop"
wait "$PG_PID" 2> /dev/null
got=$(triplets bob@dest.example | tr '\n' ' ')
echo "# postgrey's triplets for bob@dest.example: $got"
check "two days of our tags and the plain address: postgrey stored one triplet, untagged" \
    '[ "$(triplets bob@dest.example | grep -c "alice@example.com")" -eq 1 ] &&
     triplets bob@dest.example | grep -qx alice@example.com'
check "prvs= with upper-case hex from another signer: one triplet too" \
    '[ "$(triplets bob@dest.example | grep -c dave@other.example)" -eq 1 ] &&
     triplets bob@dest.example | grep -qx dave@other.example'
# postgrey 1.37 matches /^prvs=/ with case, then lowercases the key: an upper-case PRVS=
# keeps its tag, so each day's tag is a new triplet. backstop never writes PRVS= (it signs
# in lower case), so only other signers' users meet this; MIGRATING-postsrsd.md says so.
check "PRVS= in upper case (other signers): postgrey 1.37 keeps the tag, one triplet a tag" \
    '[ "$(triplets bob@dest.example | grep -c "^prvs=07[0-9a-f]*=carol@other.example$")" -eq 2 ]'
check "backstop signs in lower case only, so its users never meet that" \
    '[[ $(bs_sign ALICE@EXAMPLE.COM) == prvs=* ]]'

echo "1..$n"
[ "$failed" -eq 0 ]
