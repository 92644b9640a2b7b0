# lib.sh: a private Postfix instance, backstop-milter, "srs-rewrite serve" and an SMTP sink
# under one temporary directory, as bash functions to source (tests/e2e/postfix.sh, the demo).
# Everything listens on loopback only, on free high ports; bs_cleanup (run it from an EXIT
# trap) stops all that was started. Needs root, Postfix >= 3.4, smtp-sink and swaks.
#
# Typical use:
#   . tests/e2e/lib.sh
#   bs_init "$(mktemp -d /tmp/backstop-e2e.XXXXXX)"; trap bs_cleanup EXIT
#   bs_keys_init; sink_start; milter_start; srs_start; pf_init; pf_start
#   pf_send_ext '<>' "$(bs_sign alice@example.com)"     # an outside client's bounce
#   mbox_wait alice 1 && sink_wait 1 ...
#
# Variables set by bs_init: BS_W (the work dir), BS_BIN (built programs), BS_SRC (source
# tree), BS_CONTRIB, PF_DIR (Postfix config dir), PF_PORT (inbound smtpd), PF_SUBMIT (the
# ORIGINATING submission smtpd), PF_REENTRY (the SRS re-entry smtpd), SINK_PORT, MILTER_PORT,
# SRS_SOCK (srs-rewrite serve's socketmap), BS_CONF (backstop.conf), BS_EXT_IP (the address "outside" clients connect from).

: "${top_builddir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
BS_BIN="$top_builddir/src"
BS_SRC="$top_srcdir"
BS_CONTRIB="$top_srcdir/contrib"
BS_EXT_IP=127.0.0.2
BS_PIDS=()
PF_STARTED=0

bs_log() { echo "# $*"; }

# bs_free_port: print a TCP port that no socket uses (and we did not hand out yet), below
# the kernel's ephemeral range so that no outgoing connection takes it meanwhile
bs_free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	while :; do
		p=$((10240 + RANDOM % (lo - 10240)))
		case " ${BS_PORTS:-} " in *" $p "*) continue ;; esac
		if ! ss -Hant "sport = :$p" 2>/dev/null | grep -q .; then
			BS_PORTS="${BS_PORTS:-} $p"
			echo "$p"
			return 0
		fi
	done
}

# bs_init WORKDIR: lay out the work directory and pick the ports
bs_init() {
	BS_W=$1
	chmod 755 "$BS_W"	# Postfix's unprivileged processes must traverse it
	mkdir -p "$BS_W/etc" "$BS_W/spool" "$BS_W/data" "$BS_W/mail" "$BS_W/sink" "$BS_W/keys" \
	    "$BS_W/replay" "$BS_W/run"
	chown nobody:nogroup "$BS_W/mail"
	chown postfix "$BS_W/sink" "$BS_W/data"
	PF_DIR="$BS_W/etc"
	BS_CONF="$BS_W/backstop.conf"
	PF_PORT=$(bs_free_port)
	PF_SUBMIT=$(bs_free_port)
	PF_REENTRY=$(bs_free_port)
	SINK_PORT=$(bs_free_port)
	MILTER_PORT=$(bs_free_port)
	SRS_SOCK="$BS_W/spool/backstop/srs.sock"	# backstop_srs_socket = unix:backstop/srs.sock
	mkdir -p "$BS_W/spool/backstop"
	export MAIL_CONFIG="$PF_DIR"
}

# bs_write_conf [EXTRA...]: backstop.conf for the milter and the SRS server; extra lines last
bs_write_conf() {
	{
		cat <<CONF
Socket inet:$MILTER_PORT@127.0.0.1
MapSocket unix:$BS_W/spool/backstop/srs.sock
KeyDirectory $BS_W/keys
ReplayDatabase $BS_W/replay
Domains example.com, .example.com
SRSDomain fwd.example.com
InternalHosts 127.0.0.1/32
OutboundDaemonName ORIGINATING
TaggingSince 2020-01-01
Syslog no
Background no
LogLevel debug
CONF
		printf '%s\n' "$@"
	} > "$BS_CONF"
}

# bs_keys_init: a key store whose first key is active BS_KEY_AGE seconds before BACKSTOP_NOW
bs_keys_init() {
	[ -f "$BS_CONF" ] || bs_write_conf
	BACKSTOP_NOW=$((BACKSTOP_NOW - ${BS_KEY_AGE:-2592000})) \
	    "$BS_BIN/backstop-keys" -c "$BS_CONF" init > "$BS_W/keys-init.out" 2>&1
}

# bs_sign ADDR [AGE_DAYS]: the prvs-tagged form of ADDR, signed AGE_DAYS days ago
bs_sign() {
	BACKSTOP_NOW=$((BACKSTOP_NOW - ${2:-0} * 86400)) \
	    "$BS_BIN/backstop-keys" -c "$BS_CONF" sign "$1"
}

# bs_srs ADDR: the SRS form of ADDR, as the site would write it
bs_srs() { "$BS_BIN/srs-rewrite" -c "$BS_CONF" forward "$1"; }

# bs_wait_port PORT [TRIES]: wait until something listens on 127.0.0.1:PORT
bs_wait_port() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# sink_start: smtp-sink on SINK_PORT, one file per message in BS_W/sink
sink_start() {
	/usr/sbin/smtp-sink -u postfix -h sink.outside.example -d "$BS_W/sink/%H%M%S." \
	    "127.0.0.1:$SINK_PORT" 64 > "$BS_W/sink.log" 2>&1 &
	BS_PIDS+=($!)
	bs_wait_port "$SINK_PORT"
}

# sink_count: messages the sink has received
sink_count() { find "$BS_W/sink" -type f | wc -l; }

# sink_wait N: wait (at most BS_TIMEOUT seconds) until the sink holds N messages
sink_wait() { bs_poll "[ \$(sink_count) -ge $1 ]"; }

# sink_grep PATTERN: print the sink files (names) whose envelope/headers match PATTERN
sink_grep() { grep -l -E -- "$1" "$BS_W"/sink/* 2>/dev/null; }

# sink_env FILE: the envelope lines of one sink file (X-Mail-Args, X-Rcpt-Args)
sink_env() { grep -E '^X-(Mail|Rcpt)-Args:' "$1"; }

# milter_start: backstop-milter in the foreground, its log in BS_W/milter.log
milter_start() {
	"$BS_BIN/backstop-milter" -f -c "$BS_CONF" 2>> "$BS_W/milter.log" &
	BS_PIDS+=($!)
	BS_MILTER_PID=$!
	bs_wait_port "$MILTER_PORT"
}

# srs_start: "srs-rewrite serve" in the foreground, its log in BS_W/srs.log
srs_start() {
	rm -f "$SRS_SOCK"
	"$BS_BIN/srs-rewrite" -c "$BS_CONF" serve -f 2>> "$BS_W/srs.log" &
	BS_PIDS+=($!)
	BS_SRS_PID=$!
	bs_poll '[ -S "$SRS_SOCK" ]' || return 1
	# The socket is 0660 and, with no UserID here, root's: give its group to Postfix, as a
	# site does with "UserID backstop" and postfix in group backstop.
	chgrp postfix "$SRS_SOCK"
}

# pf_conf "name = value"...: set main.cf parameters
pf_conf() { postconf -c "$PF_DIR" -e "$@"; }

# pf_get NAME: a main.cf parameter's value
pf_get() { postconf -c "$PF_DIR" -h "$1"; }

# pf_apply_main SNIPPET: set every "name = value" line of a contrib main.cf snippet; the
# tables it names in /etc/postfix/ are read from the contrib directory itself, and its
# backstop_milter and backstop_srs_reentry point at our ports (backstop_srs_socket, relative
# to queue_directory, is used as it stands)
pf_apply_main() {
	local line
	while IFS= read -r line; do
		line=${line//\/etc\/postfix\//$BS_CONTRIB\/postfix\/}
		case "$line" in
		"backstop_milter "*) line="backstop_milter = inet:127.0.0.1:$MILTER_PORT" ;;
		"backstop_srs_reentry "*) line="backstop_srs_reentry = [127.0.0.1]:$PF_REENTRY" ;;
		esac
		case "$line" in
		'#'* | '') ;;
		[a-z]*=*) pf_conf "$line" || return 1 ;;
		*) echo "# $1: cannot apply line '$line'" >&2; return 1 ;;
		esac
	done < "$1"
}

# pf_apply_master SNIPPET [SED]: append the entries of a contrib master.cf snippet (comments
# dropped), after the optional sed expression (e.g. to move a port)
pf_apply_master() {
	grep -v -E '^#|^$' "$1" | sed -e "${2:-}" >> "$PF_DIR/master.cf"
}

# pf_init: main.cf, master.cf and the lookup tables of the private instance
pf_init() {
	pf_write_master
	: > "$PF_DIR/main.cf"
	pf_conf "compatibility_level = 3.6" \
	    "queue_directory = $BS_W/spool" \
	    "data_directory = $BS_W/data" \
	    "mail_owner = postfix" "setgid_group = postdrop" \
	    "maillog_file = $BS_W/maillog" "maillog_file_prefixes = $BS_W" \
	    "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
	    "myhostname = mx.example.com" "mydomain = example.com" "myorigin = example.com" \
	    "mydestination = localhost" "mynetworks = 127.0.0.1/32" \
	    "alias_maps =" "alias_database =" "local_recipient_maps =" \
	    "virtual_mailbox_domains = example.com" \
	    "virtual_mailbox_maps = texthash:$PF_DIR/vmailbox" \
	    "virtual_alias_domains = fwd.example.com" \
	    "virtual_alias_maps = texthash:$PF_DIR/virtual" \
	    "virtual_mailbox_base = $BS_W/mail" \
	    "virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" \
	    "relayhost = [127.0.0.1]:$SINK_PORT" \
	    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination" \
	    "biff = no" "append_dot_mydomain = no" "smtputf8_enable = no" \
	    "smtp_dns_support_level = disabled" "smtp_tls_security_level = none" \
	    "smtpd_tls_security_level = none" \
	    "queue_run_delay = 2s" "minimal_backoff_time = 2s" "maximal_backoff_time = 4s" \
	    "smtpd_error_sleep_time = 0" "smtpd_soft_error_limit = 100" \
	    "smtpd_hard_error_limit = 100" "delay_warning_time = 0" || return 1
	printf '%s\n' "alice@example.com alice" "bob@example.com bob" "dave@example.com dave" \
	    "fwd@example.com fwd" "postmaster@example.com postmaster" > "$PF_DIR/vmailbox"
	printf '%s\n' "postmaster postmaster@example.com" \
	    "fwd@example.com fwd@example.com, carol@outside.example" \
	    "away@example.com carol@outside.example" > "$PF_DIR/virtual"
}

# pf_write_master: master.cf with the stock services, unchrooted, smtpd on PF_PORT
pf_write_master() {
	cat > "$PF_DIR/master.cf" <<MASTER
$PF_PORT inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
MASTER
}

# pf_run ARGS...: the postfix command on the instance; its errors go to syslog when standard
# error is not a terminal, so give it one (script) and keep what it says in BS_W/postfix.out
pf_run() {
	script -qec "postfix -c '$PF_DIR' $*" /dev/null > "$BS_W/postfix.out" 2>&1 < /dev/null
}

# pf_start: check and start the instance; wait until its smtpd answers
pf_start() {
	pf_run check || return 1
	pf_run start || return 1
	PF_STARTED=1
	bs_wait_port "$PF_PORT" 200
}

# bs_start_regexp_site: keys, the sink, the milter and Postfix with contrib's milter and
# prvs-regexp wiring (texthash virtual aliases first); bails (tap.sh) naming what failed
bs_start_regexp_site() {
	local P="$BS_CONTRIB/postfix"
	bs_keys_init || bail "backstop-keys init failed: $(cat "$BS_W/keys-init.out")"
	sink_start || bail "smtp-sink did not start"
	milter_start || bail "backstop-milter did not start: $(cat "$BS_W/milter.log")"
	pf_init || bail "could not write main.cf"
	pf_apply_main "$P/main.cf-milter" || bail "main.cf-milter"
	pf_apply_main "$P/main.cf-prvs-regexp" || bail "main.cf-prvs-regexp"
	pf_conf "virtual_alias_maps = texthash:$PF_DIR/virtual, $(pf_get virtual_alias_maps)"
	pf_start || bail "Postfix did not start: $(cat "$BS_W/postfix.out")"
}

# pf_reload: reread main.cf and master.cf; wait for listeners named in master.cf
pf_reload() {
	pf_run reload || return 1
	sleep 0.5
}

# pf_stop: stop the instance, and kill what it left behind
pf_stop() {
	[ "$PF_STARTED" = 1 ] || return 0
	pf_run stop
	PF_STARTED=0
	local pid i
	pid=$(head -1 "$BS_W/spool/pid/master.pid" 2>/dev/null | tr -d ' ')
	for ((i = 0; i < 100; i++)); do
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	# children of a killed master hold the queue directory open: find them by their cwd
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
		"$BS_W/spool"*) kill -9 "$pid" 2>/dev/null ;;
		esac
	done
}

# bs_cleanup: stop everything started here (for an EXIT trap); keeps BS_W if BS_KEEP is set
bs_cleanup() {
	local p
	pf_stop
	for p in "${BS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BS_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# "wait" knows only this shell's children ("demo.sh stop" is another shell): the
	# files go only once every process is gone (libmilter takes up to 5 s to stop)
	for p in "${BS_PIDS[@]}"; do
		bs_poll "! kill -0 $p 2>/dev/null" || kill -9 "$p" 2>/dev/null
	done
	BS_PIDS=()
	if [ -n "${BS_KEEP:-}" ]; then
		echo "# kept $BS_W"
	elif [ -n "${BS_W:-}" ]; then
		rm -rf "$BS_W"
	fi
}

# bs_poll COND: evaluate COND every 0.1 s until true or BS_TIMEOUT (default 15) seconds
bs_poll() {
	local i
	for ((i = 0; i < ${BS_TIMEOUT:-15} * 10; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}

# pf_send PORT FROM TO [SWAKS-OPTIONS...]: one SMTP transaction from 127.0.0.1; the dialogue
# goes to BS_W/last.smtp; returns swaks's status. FROM '' is the null sender.
pf_send() {
	local port=$1 from=${2:-<>} to=$3
	shift 3
	if [ -z "$to" ]; then	# swaks would ask for one
		echo "=== pf_send: no recipient given" > "$BS_W/last.smtp"
		return 2
	fi
	swaks --server 127.0.0.1 --port "$port" --from "$from" --to "$to" --helo client.test \
	    --timeout 20 "$@" > "$BS_W/last.smtp" 2>&1 < /dev/null
}

# pf_send_ext FROM TO [OPTIONS...]: as an outside client (BS_EXT_IP) to the inbound smtpd
pf_send_ext() {
	local from=$1 to=$2
	shift 2
	pf_send "$PF_PORT" "$from" "$to" --local-interface "$BS_EXT_IP" --helo mx.outside.example "$@"
}

# pf_send_int FROM TO [OPTIONS...]: as an internal client (127.0.0.1) to the inbound smtpd
pf_send_int() { local f=$1 t=$2; shift 2; pf_send "$PF_PORT" "$f" "$t" "$@"; }

# pf_sendmail FROM TO [SUBJECT]: submit with the instance's sendmail(1)
pf_sendmail() {
	printf 'From: %s\nTo: %s\nSubject: %s\n\nsent with sendmail(1)\n' "$1" "$2" "${3:-test}" |
	    /usr/sbin/sendmail -C "$PF_DIR" -f "$1" -- "$2"
}

# smtp_reply: the server's last reply lines in BS_W/last.smtp
smtp_said() { grep -q -E -- "^<[-~*]{1,2} +$1" "$BS_W/last.smtp"; }

# mbox USER: the mailbox file of USER@example.com
mbox() { echo "$BS_W/mail/$1"; }

# mbox_count USER: messages in USER's mailbox
mbox_count() { grep -c '^From ' "$(mbox "$1")" 2>/dev/null || echo 0; }

# mbox_wait USER N: wait until USER's mailbox holds N messages
mbox_wait() { bs_poll "[ \$(mbox_count $1) -ge $2 ]"; }

# mbox_last USER: the last message in USER's mailbox
mbox_last() { awk '/^From /{m=""} {m=m $0 "\n"} END{printf "%s", m}' "$(mbox "$1")" 2>/dev/null; }

# queue_empty: the instance's queue holds nothing
queue_empty() { postqueue -c "$PF_DIR" -p 2>/dev/null | grep -q 'Mail queue is empty'; }

# queue_wait_empty: wait until the queue is empty
queue_wait_empty() { bs_poll queue_empty; }

# maillog_has PATTERN: the Postfix log has a line matching PATTERN (extended regexp)
maillog_has() { grep -q -E -- "$1" "$BS_W/maillog" 2>/dev/null; }

# milterlog_has PATTERN: the milter's log has a line matching PATTERN
milterlog_has() { grep -q -E -- "$1" "$BS_W/milter.log" 2>/dev/null; }
