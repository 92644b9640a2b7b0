#!/bin/bash
# postsrsd.sh: backstop beside Debian's real postsrsd 1.10, which runs on loopback here.
# 1. Known answers: two postsrsd instances (hash length 4 with "=", 8 with "+"; the second's
#    secrets file has a CRLF line, a blank line and the first's secret as its second line) sign
#    a table of senders; "srs-rewrite reverse" with that file as SRSLegacySecrets must print
#    exactly what postsrsd's own reverse gives, in any case, and both must refuse wrong and
#    stale hashes. 2. postsrsd as the previous hop: its SRS0 forwarded again by
#    "srs-rewrite serve" becomes SRS1; the bounce is reversed by us to postsrsd's SRS0, which
#    the real postsrsd reverses to the original sender. postsrsd reads the real clock, so
#    every time here is the current one; stale hashes are made with a wrong timestamp field
#    and, for ours, with BACKSTOP_NOW ahead. Prints TAP; root only (exit 77 otherwise).
set -u
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
. "${top_srcdir:?}/tests/e2e/lib.sh"
. "$top_srcdir/tests/e2e/tap.sh"
need postsrsd postmap
BACKSTOP_NOW=$(date +%s)	# only to date the key store; every lookup reads the clock
export BACKSTOP_NOW
bs_init "$(mktemp -d /tmp/backstop-postsrsd.XXXXXX)"
trap bs_cleanup EXIT
echo "# work dir $BS_W"

# The secrets files, postsrsd's format: one secret a line, the first one signs.
printf 'old-postsrsd-secret-A\n' > "$BS_W/secret-a"
printf 'new-postsrsd-secret-B\r\n\nold-postsrsd-secret-A\n' > "$BS_W/secret-b"
printf 'previous-hop-secret\n' > "$BS_W/secret-hop"
chmod 600 "$BS_W"/secret-*

# postsrsd_start NAME DOMAIN SECRET [OPTION...]: postsrsd in the foreground on two free
# ports, set as NAME_F and NAME_R
postsrsd_start() {
	local name=$1 domain=$2 secret=$3 f r
	shift 3
	f=$(bs_free_port)
	r=$(bs_free_port)
	/usr/sbin/postsrsd -s "$secret" -d "$domain" -l 127.0.0.1 -4 -f "$f" -r "$r" "$@" \
	    >> "$BS_W/postsrsd-$name.log" 2>&1 &
	BS_PIDS+=($!)
	bs_wait_port "$f" && bs_wait_port "$r" || bail "postsrsd $name did not start"
	eval "${name}_F=$f ${name}_R=$r"
}

# tcp_get PORT KEY: one tcp_table request ("get KEY"), the reply line decoded
tcp_get() {
	local reply=
	exec 3<> "/dev/tcp/127.0.0.1/$1" || return 1
	printf 'get %s\n' "${2//%/%25}" >&3
	IFS= read -r reply <&3
	exec 3<&-
	reply=${reply%$'\r'}
	printf '%s\n' "${reply//%25/%}"
}

# ours ADDR [DAYS_AHEAD]: srs-rewrite reverse now (or that many days ahead); sets rc, out, err
ours() {
	out=$(BACKSTOP_NOW=$(($(date +%s) + ${2:-0} * 86400)) \
	    "$BS_BIN/srs-rewrite" -c "$BS_CONF" reverse "$1" 2> "$BS_W/err")
	rc=$?
	err=$(cat "$BS_W/err")
}

# srs-rewrite serve --tcp-table answers forward on MapSocket's port, reverse on the next one
map_port=$(bs_free_port)
while ss -Hant "sport = :$((map_port + 1))" | grep -q .; do map_port=$(bs_free_port); done
bs_write_conf "SRSLegacySecrets file:$BS_W/secret-b"
sed -i "s|^MapSocket .*|MapSocket inet:127.0.0.1:$map_port|" "$BS_CONF"
bs_keys_init || bail "backstop-keys init failed: $(cat "$BS_W/keys-init.out")"
postsrsd_start A fwd.example.com "$BS_W/secret-a"
postsrsd_start B fwd.example.com "$BS_W/secret-b" -n 8 -a +
postsrsd_start P hop.example "$BS_W/secret-hop"	# the previous hop, a site of its own

# ---- 1. known answers ----
# what each row exercises: plain; upper case (hash input lowercased); mixed case and a plus;
# odd local-part characters (= / % ! ' & { } ~: postsrsd keeps everything after the
# domain's "="); a subdomain; SRS0 inputs with each separator and in lower case (SRS1 with
# the hop's separator kept, "=="/"=+"); SRS1 inputs (re-hashed: the first hop and the rest)
rows=(
	"plain|alice@example.net"
	"upper case|ALICE@EXAMPLE.NET"
	"mixed case, plus|Bob.Smith+tag@Example.NET"
	"odd local part|a=b/c%d!e'f&g{h}~i@example.org"
	"dots, hyphen, underscore, subdomain|first.last-x_y@mx.sub.example.net"
	"SRS0 input, = separator|SRS0=abcd=AB=first.example=joe@hop.example"
	"SRS0 input, + separator|SRS0+Abc/=XY=first.example=Joe@Hop.Example"
	"SRS0 input, lower-case srs0, - separator|srs0-abcd=AB=first.example=joe@hop.example"
	"SRS1 input|SRS1=xyzw=first.example==joe@hop.example"
	"SRS1 input, + after the first hop|SRS1=xyzw=First.Example=+joe@hop.example"
)
legacy_noted=0
for row in "${rows[@]}"; do
	what=${row%%|*}
	sender=${row#*|}
	for inst in A B; do
		eval "fport=\$${inst}_F"
		fwd=$(tcp_get "$fport" "$sender")
		check "$what ($inst): postsrsd forwards <$sender>" '[ "${fwd%% *}" = 200 ]'
		srs=${fwd#200 }
		for variant in "$srs" "${srs^^}" "${srs,,}"; do
			theirs=$(tcp_get "$B_R" "$variant")
			ours "$variant"
			check "$what ($inst): reverse <$variant> as postsrsd does" \
			    '[ "${theirs%% *}" = 200 ] && [ "$rc" -eq 0 ] && [ "200 $out" = "$theirs" ]'
			case $err in *"legacy postsrsd hash"*) legacy_noted=$((legacy_noted + 1)) ;; esac
		done
	done
done
check "every legacy reverse says so on stderr" '[ "$legacy_noted" -eq $((${#rows[@]} * 6)) ]'

# b32ts DAY: postsrsd's two-character timestamp of a day number
b32ts() {
	local c=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567 d=$(($1 % 1024))
	printf '%s%s' "${c:$((d / 32)):1}" "${c:$((d % 32)):1}"
}

# refused WHAT ADDR: postsrsd (B, which holds both secrets) and we both refuse ADDR
refused() {
	theirs=$(tcp_get "$B_R" "$2")
	ours "$2"
	check "$1: postsrsd refuses <$2>" '[ "${theirs%% *}" = 500 ]'
	check "$1: we refuse it too" '[ "$rc" -ne 0 ] && [ -z "$out" ]'
}

for inst in A B; do
	eval "fport=\$${inst}_F"
	srs=$(tcp_get "$fport" alice@example.net)
	srs=${srs#200 }
	local_part=${srs%@*}
	hash=${local_part:5}
	hash=${hash%%=*}
	rest=${local_part#SRS0?"$hash"=}	# TT=example.net=alice
	c=${hash:0:1}
	if [ "${c,,}" = a ]; then r=b; else r=a; fi
	refused "wrong hash ($inst)" "SRS0${local_part:4:1}$r${hash:1}=$rest@fwd.example.com"
	refused "hash cut to 3 characters ($inst)" \
	    "SRS0${local_part:4:1}${hash:0:3}=$rest@fwd.example.com"
	stale=$(b32ts $(($(date +%s) / 86400 - 30)))
	refused "timestamp 30 days old, hash of today's ($inst)" \
	    "SRS0${local_part:4:1}$hash=$stale=${rest#??=}@fwd.example.com"
	refused "another secret ($inst)" \
	    "$(tcp_get "$P_F" alice@example.net 2>/dev/null | sed 's/^200 //;s/@.*/@fwd.example.com/')"
	# postsrsd reads the real clock; ours can be moved: SRSMaxAge 21 days, then expired
	ours "$srs" 21
	check "$inst: still valid 21 days on (SRSMaxAge)" '[ "$rc" -eq 0 ] && [ "$out" = alice@example.net ]'
	ours "$srs" 22
	check "$inst: expired 22 days on" '[ "$rc" -ne 0 ] && [[ $err == *expired* ]]'
	# postsrsd's reverse ignores the domain; ours answers only at SRSDomain
	ours "${srs%@*}@elsewhere.example"
	check "$inst: not at SRSDomain: not ours" '[ "$rc" -ne 0 ] && [[ $err == *"not our SRS domain"* ]]'
done

# ---- 2. postsrsd as the previous hop ----
# Postfix's own tcp: client (postmap -q) asks the maps, as cleanup would.
mkdir -p "$BS_W/pq" && : > "$BS_W/pq/main.cf"
pq() { postmap -c "$BS_W/pq" -q "$1" "tcp:127.0.0.1:$2"; }
"$BS_BIN/srs-rewrite" -c "$BS_CONF" serve -f --tcp-table 2>> "$BS_W/srs.log" &
BS_PIDS+=($!)
bs_wait_port "$map_port" && bs_wait_port $((map_port + 1)) || bail "srs-rewrite serve did not start"
s0=$(pq alice@origin.example "$P_F")
s0=${s0%@hop.example}	# the local part; the checks add the domains
check "the previous hop (postsrsd) forwards alice@origin.example as SRS0 at hop.example" \
    '[[ $s0 == SRS0=*=origin.example=alice ]]'
s1=$(pq "$s0@hop.example" "$map_port")
s1=${s1%@fwd.example.com}
check "we forward its SRS0 again as SRS1, keeping postsrsd's hash and timestamp" \
    '[[ $s1 == SRS1=*=hop.example==${s0#SRS0=} ]]'
back=$(pq "$s1@fwd.example.com" $((map_port + 1)))
check "a bounce to our SRS1 is reversed by us to postsrsd's SRS0" '[ "$back" = "$s0@hop.example" ]'
orig=$(pq "$back" "$P_R")
check "the real postsrsd reverses that to the original sender" '[ "$orig" = alice@origin.example ]'
s1b=$(pq "${s0^^}@HOP.EXAMPLE" "$map_port")
check "an upper-case SRS0 from the hop is forwarded and reversed the same way" \
    '[ "$(pq "$(pq "$s1b" $((map_port + 1)))" "$P_R")" = ALICE@ORIGIN.EXAMPLE ]'
check "the hop's own secret is not one of ours: its SRS0 is not valid here" \
    '! "$BS_BIN/srs-rewrite" -c "$BS_CONF" reverse "$s0@fwd.example.com" 2>/dev/null'
check "a legacy reverse by serve is logged with the word legacy" \
    '{ pq "$(tcp_get "$A_F" carol@example.net | sed "s/^200 //")" $((map_port + 1)) >/dev/null;
       bs_poll "grep -q \"legacy postsrsd hash\" \"$BS_W/srs.log\""; }'

echo "1..$n"
[ "$failed" -eq 0 ]
