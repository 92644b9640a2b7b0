#!/bin/bash
# run-all.sh: every backstop benchmark in one run ("make bench"), printed at the end as one
# Markdown report: the machine, backstop-milter against the null milter (alternating rounds,
# medians), the in-process micro figures, memory, Postfix end to end, and the other benches.
# Knobs (environment): BENCH_ROUNDS BENCH_SECONDS BENCH_CONNS RSS_MESSAGES RSS_SECONDS
# BENCH_OTHERS (make targets of the other benches) BENCH_E2E=no BENCH_RSS=no BENCH_DIR (where
# the stores live: on disk, /var/tmp, by default). Loopback/unix sockets only.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
export top_builddir top_srcdir
rounds=${BENCH_ROUNDS:-5}
secs=${BENCH_SECONDS:-1.5}
levels=${BENCH_CONNS:-1 8 64}
others=${BENCH_OTHERS-bench-replay bench-srs}
export RSS_MESSAGES=${RSS_MESSAGES:-1000000} RSS_SECONDS=${RSS_SECONDS:-150}
export BACKSTOP_NOW=${BACKSTOP_NOW:-1764183600}
bin="$top_builddir/src"
bench="$top_builddir/tests/bench"
parent=${BENCH_DIR:-/var/tmp}
[ -d "$parent" ] && [ -w "$parent" ] || parent=/tmp
work=$(mktemp -d "$parent/backstop-bench.XXXXXX")
pids=()
t_start=$(date +%s)

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

say() { echo "run-all: $*" >&2; }
die() { say "$*"; exit 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<< " $1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2)
	print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# write_conf NAME: a backstop.conf on its own socket and replay store, sharing the keys
write_conf() {
	mkdir -p "$work/$1.db"
	cat > "$work/$1.conf" <<CONF
Socket unix:$work/$1.sock
KeyDirectory $work/keys
ReplayDatabase $work/$1.db
Durability write
Domains example.com
SRSDomain fwd.example.com
InternalHosts 10.0.0.0/8
MaxBouncesPerTag 0
TaggingSince 2020-01-01
Syslog no
Background no
LogLevel info
CONF
}

wait_sock() {
	for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done
	return 1
}

start_backstop() {
	"$bin/backstop-milter" -f -c "$work/$1.conf" 2>/dev/null &
	pids+=($!)
	wait_sock "$work/$1.sock" || die "backstop-milter did not start ($work/$1.conf)"
}

start_null() {
	"$bench/null-milter" -s "unix:$work/$1.sock" &
	pids+=($!)
	wait_sock "$work/$1.sock" || die "null-milter did not start"
}

machine() {
	local mem
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "Machine: $(nproc) CPUs (nproc), $(sed -n 's/^model name[[:space:]]*: //p' \
		/proc/cpuinfo | head -1), $mem memory, Linux $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# run_others: the other benches, through their own make targets, output kept verbatim
run_others() {
	local t
	for t in $others; do
		if ! (cd "$top_builddir/tests" && ${MAKE:-make} -n "$t" > /dev/null 2>&1); then
			echo "($t: no such make target)" > "$work/other.$t"
			continue
		fi
		say "running $t"
		(cd "$top_builddir/tests" && ${MAKE:-make} -s "$t") > "$work/other.$t" 2>&1 ||
			echo "($t failed: exit $?)" >> "$work/other.$t"
	done
}

# cpu_ticks PID: user + system CPU of a process so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# milter_round NAME PID CONNS: one milter-load run against NAME (process PID), its line
# with the milter's CPU time in microseconds appended to res.NAME.CONNS
milter_round() {
	local out c0 c1
	c0=$(cpu_ticks "$2")
	out=$("$bench/milter-load" -s "$work/$1.sock" -C "$work/backstop.conf" -c "$3" \
		-d "$secs" -m 10 -r "$RANDOM") || say "milter-load against $1 at $3: errors: $out"
	c1=$(cpu_ticks "$2")
	echo "$out cpu_us=$(((c1 - c0) * 1000000 / $(getconf CLK_TCK)))" >> "$work/res.$1.$3"
}

# cpu_per_msg NAME CONNS: the milter's CPU microseconds per message over all rounds
cpu_per_msg() {
	while read -r l; do echo "$(field "$l" cpu_us) $(field "$l" msgs)"; done \
		< "$work/res.$1.$2" | awk '{ c += $1; m += $2 } END { printf "%.0f", m ? c / m : 0 }'
}

# steps_skipped FLAGS: what the negotiated protocol flags leave out, in words
steps_skipped() {
	local f=$(($1)) out="" name bit
	for name in HELO:0x2 DATA:0x200 EOH:0x40 BODY:0x10 unknown:0x100; do
		bit=$((${name#*:}))
		[ $((f & bit)) -ne 0 ] && out="$out${out:+, }${name%%:*}"
	done
	if [ $((f & 0x10)) -ne 0 ]; then
		echo "both skip ${out:-nothing}, so neither is sent the 4 KB bodies"
	else
		echo "both skip ${out:-nothing} and take the body, which both end at the first chunk" \
		    "with SMFIS_SKIP (backstop reads on only when a bounce's returned headers may be in it)"
	fi
}

run_milters() {
	local c r pb pn
	write_conf backstop
	start_backstop backstop
	pb=${pids[-1]}
	start_null null
	pn=${pids[-1]}
	for c in $levels; do
		say "milters at $c connection(s): $rounds rounds of ${secs}s each, alternating"
		for r in $(seq "$rounds"); do
			if [ $((r % 2)) -eq 1 ]; then
				milter_round null "$pn" "$c"; milter_round backstop "$pb" "$c"
			else
				milter_round backstop "$pb" "$c"; milter_round null "$pn" "$c"
			fi
		done
	done
}

# med NAME CONNS KEY: the median of one figure over the rounds
med() { while read -r l; do field "$l" "$3"; done < "$work/res.$1.$2" | median; }

milter_table() {
	local c n b
	echo "| connections | null msg/s | backstop msg/s | ratio | RCPT p50/p99 us null | RCPT p50/p99 us backstop | EOM p50/p99 us null | EOM p50/p99 us backstop | milter CPU us/msg null | backstop |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for c in $levels; do
		n=$(med null "$c" rate)
		b=$(med backstop "$c" rate)
		printf '| %s | %s | %s | %sx | %s/%s | %s/%s | %s/%s | %s/%s | %s | %s |\n' "$c" "$n" "$b" \
			"$(awk -v a="$b" -v b="$n" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
			"$(med null "$c" rcpt_p50_us)" "$(med null "$c" rcpt_p99_us)" \
			"$(med backstop "$c" rcpt_p50_us)" "$(med backstop "$c" rcpt_p99_us)" \
			"$(med null "$c" eom_p50_us)" "$(med null "$c" eom_p99_us)" \
			"$(med backstop "$c" eom_p50_us)" "$(med backstop "$c" eom_p99_us)" \
			"$(cpu_per_msg null "$c")" "$(cpu_per_msg backstop "$c")"
	done
}

# milter_notes: what the traffic was and whether both milters saw the same protocol
milter_notes() {
	local first b n pn pb errs
	first=$(head -1 "$work/res.backstop.${levels%% *}")
	b=$(cat "$work"/res.backstop.*)
	n=$(cat "$work"/res.null.*)
	pn=$(field "$(head -1 "$work/res.null.${levels%% *}")" proto)
	pb=$(field "$first" proto)
	errs=$(cat "$work"/res.*.* | while read -r l; do field "$l" errors; done |
		awk '{ s += $1 } END { print s + 0 }')
	sum() { while read -r l; do field "$l" "$1"; done <<< "$2" | awk '{ s += $1 } END { print s + 0 }'; }
	echo
	echo "Median of $rounds rounds of ${secs} s per milter and level, the two milters alternating" \
		"(null first in odd rounds); 10 messages per milter connection. Traffic: connections" \
		"from 10.0.0.0/8 (40%, InternalHosts) send outbound mail from user@example.com;" \
		"the others send inbound mail (50%), bounces to valid prvs tags (33%) and forged" \
		"bounces (17%: untagged or a bad MAC); 1-5 recipients, 10 headers, macros i," \
		"{daemon_name}, {auth_authen} (half the outbound), 1000 users' tags."
	echo "Negotiated protocol flags: null 0x${pn#0x}, backstop 0x${pb#0x}" \
		"$([ "$pn" = "$pb" ] && echo "(the same steps)" || echo "(DIFFERENT: the comparison is off)");" \
		"$(steps_skipped "$pb")." \
		"The MTA side aborts a message whose recipients were all refused, as Postfix" \
		"does: backstop refused $(sum rcpt_rejected "$b") of $(sum rcpts "$b") recipients" \
		"and so skipped $(sum aborted "$b") messages' headers and EOM that the null milter got."
	echo "backstop did its work: $(sum chgfrom "$b") senders signed, $(sum delrcpt "$b")" \
		"tags stripped, $(sum addheader "$b") headers added (null: $(sum chgfrom "$n")," \
		"$(sum delrcpt "$n"), $(sum addheader "$n")). Protocol errors: $errs." \
		"ReplayDatabase on $parent, Durability write, MaxBouncesPerTag 0, LogLevel info to /dev/null."
}

run_micro() {
	say "micro figures"
	"$bench/micro" -s 1 > "$work/micro" || die "micro failed"
}

micro_table() {
	local l
	echo "| operation (one core, in process) | ops/s | ns/op |"
	echo "|---|---:|---:|"
	while read -r l; do
		echo "| $(field "$l" op) | $(field "$l" ops_per_s) | $(field "$l" ns_per_op) |"
	done < "$work/micro"
}

run_rss() {
	[ "${BENCH_RSS:-yes}" = no ] && return 0
	say "memory: 100 connections, then up to $RSS_MESSAGES messages (at most ${RSS_SECONDS}s)"
	write_conf rss
	bash "$top_srcdir/tests/bench/rss.sh" "$work/rss.conf" > "$work/rss" || say "rss.sh failed"
}

rss_table() {
	local r g f a b ma mb
	[ -s "$work/rss" ] || { echo "(memory skipped: BENCH_RSS=no, or rss.sh failed)"; return 0; }
	r=$(tr '\n' ' ' < "$work/rss")
	f=$(field "$r" final_goal)
	echo "| memory of backstop-milter (kB) | RSS | anonymous | file | shared (replay store regions) |"
	echo "|---|---:|---:|---:|---:|"
	echo "| at start | $(field "$r" start_kb) | | | |"
	echo "| peak (VmHWM) with 100 concurrent connections | $(field "$r" peak100_kb) | | | |"
	for g in $(printf '%s\n' 10000 100000 "$f" | awk '!seen[$0]++'); do
		[ -n "$(field "$r" "msgs_$g")" ] || continue
		echo "| after $(field "$r" "msgs_$g") messages | $(field "$r" "rss_${g}_kb") |" \
			"$(field "$r" "anon_${g}_kb") | $(field "$r" "file_${g}_kb") |" \
			"$(field "$r" "shmem_${g}_kb") |"
	done
	a=$(field "$r" rss_10000_kb)
	b=$(field "$r" "rss_${f}_kb")
	ma=$(field "$r" msgs_10000)
	mb=$(field "$r" "msgs_$f")
	if [ -z "$b" ]; then
		g=$(grep -o 'msgs_[0-9]*' "$work/rss" | tail -1)
		b=$(field "$r" "rss_${g#msgs_}_kb")
		mb=$(field "$r" "$g")
	fi
	echo
	echo "RSS growth from $ma to $mb messages: $(awk -v a="$a" -v b="$b" \
		'BEGIN { if (a > 0) printf "%+.2f%%", (b - a) * 100 / a; else print "-" }')" \
		"$([ "${mb:-0}" -lt "$RSS_MESSAGES" ] 2>/dev/null &&
		echo "(only $mb of $RSS_MESSAGES messages fit in ${RSS_SECONDS} s)")" \
		"(anonymous memory: $(field "$r" anon_10000_kb) to $(field "$r" "anon_${f}_kb") kB);" \
		"8 connections of 50 messages each, at $(field "$r" "rate_$f") msg/s;" \
		"errors: $(field "$r" "errors_$f")."
}

# run_e2e: Postfix end to end with the e2e harness's private Postfix, if it is there
run_e2e() {
	if [ "${BENCH_E2E:-yes}" = no ] || [ ! -f "$top_srcdir/tests/e2e/lib.sh" ] ||
	    [ "$(id -u)" != 0 ] || ! command -v smtp-source > /dev/null ||
	    ! command -v postfix > /dev/null ||
	    [ ! -f "$top_srcdir/tests/bench/e2e-bench.sh" ]; then
		echo "skipped=yes" > "$work/e2e"
		return 0
	fi
	say "Postfix end to end"
	E2E_ROUNDS=${E2E_ROUNDS:-5} E2E_MESSAGES=${E2E_MESSAGES:-800} \
		bash "$top_srcdir/tests/bench/e2e-bench.sh" > "$work/e2e" 2> "$work/e2e.err" ||
		echo "failed=yes" >> "$work/e2e"
}

e2e_table() {
	local r k
	r=$(tr '\n' ' ' < "$work/e2e")
	if [ -n "$(field "$r" skipped)" ]; then
		echo "(Postfix end to end skipped: needs root, Postfix, smtp-source and tests/e2e/lib.sh; or BENCH_E2E=no)"
		return
	fi
	if [ -n "$(field "$r" failed)" ]; then
		echo "(Postfix end to end failed:"; sed 's/^/    /' "$work/e2e.err" | tail -5; echo ")"
	fi
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
	echo "| traffic (smtp-source, $(field "$r" sessions) sessions) | no milter msg/s | null milter | ratio | backstop, unix socket | ratio | backstop, TCP loopback | ratio | milter CPU us/msg null | backstop |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for k in outbound bounce; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" \
			"$(field "$r" ${k}_none_rate)" "$(field "$r" ${k}_null_rate)" \
			"$(ratio "$(field "$r" ${k}_null_rate)" "$(field "$r" ${k}_none_rate)")" \
			"$(field "$r" ${k}_unix_rate)" \
			"$(ratio "$(field "$r" ${k}_unix_rate)" "$(field "$r" ${k}_none_rate)")" \
			"$(field "$r" ${k}_inet_rate)" \
			"$(ratio "$(field "$r" ${k}_inet_rate)" "$(field "$r" ${k}_none_rate)")" \
			"$(field "$r" ${k}_null_cpu_us)" "$(field "$r" ${k}_unix_cpu_us)"
	done
	echo
	echo "Median of $(field "$r" rounds) alternating rounds; each run: smtp-source -s" \
		"$(field "$r" sessions) -l 4096, $(field "$r" msgs) messages ($(field "$r" inet_msgs)" \
		"over TCP), one message per SMTP session, into the e2e harness's private Postfix" \
		"(deliveries discarded, so intake is timed). Outbound: alice@example.com from an" \
		"ORIGINATING smtpd, signed; bounce: <> to a valid tag, checked, counted and stripped." \
		"Milter work seen: $(field "$r" signed) signed, $(field "$r" stripped) stripped." \
		"Runs (none; null; unix; TCP): outbound $(field "$r" outbound_none_runs);" \
		"$(field "$r" outbound_null_runs); $(field "$r" outbound_unix_runs);" \
		"$(field "$r" outbound_inet_runs), bounce $(field "$r" bounce_none_runs);" \
		"$(field "$r" bounce_null_runs); $(field "$r" bounce_unix_runs);" \
		"$(field "$r" bounce_inet_runs)."
}

report() {
	local t
	echo
	echo "## backstop benchmarks ($(sed -n 's/.*(\(.*\)).*/\1/p' <<< "$("$bin/backstop-milter" -V)"))"
	echo
	cat "$work/machine.txt"
	echo
	echo "### Milter: backstop-milter against the null milter"
	echo
	milter_table
	milter_notes
	echo
	echo "### In-process operations"
	echo
	micro_table
	echo
	echo "### Memory"
	echo
	rss_table
	echo
	echo "### Postfix end to end"
	echo
	e2e_table
	for t in $others; do
		echo
		echo "### $t"
		echo
		echo '```'
		cat "$work/other.$t"
		echo '```'
	done
	echo
	echo "Total bench time: $(($(date +%s) - t_start)) s; load average at the end:" \
		"$(cut -d' ' -f1-3 /proc/loadavg)."
}

[ -x "$bench/milter-load" ] && [ -x "$bench/null-milter" ] && [ -x "$bench/micro" ] ||
	die "build first: make (in $top_builddir)"
write_conf keys
BACKSTOP_NOW=$((BACKSTOP_NOW - 30 * 86400)) "$bin/backstop-keys" -c "$work/keys.conf" init \
	> /dev/null || die "backstop-keys init failed"
machine > "$work/machine.txt"
run_others
run_micro
run_milters
for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
pids=()
run_rss
run_e2e
report
