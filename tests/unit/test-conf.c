/* test-conf: the configuration parser, table-driven: every default, good and bad values of
 * each type with the exact "file:line: message" texts, file: lists, line hazards (CRLF,
 * NUL, overlong lines), the shipped example, network matching, and log's name parsers. */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "tap.h"

#define D "Domains example.com\n"
#define MAPSOCK_WHY "is not a socket (unix:/path[:0660], inet:host:port, inet:[v6addr]:port)"

static int
parse(const char *text, struct conf **c, char *err, size_t errlen)
{
	return conf_parse(text, strlen(text), "t.conf", c, err, errlen);
}

typedef long long getter(const struct conf *c);
#define GET(f)                                                                                 \
	static long long get_##f(const struct conf *c)                                         \
	{                                                                                      \
		return (long long)c->f;                                                        \
	}
#define GETN(f)                                                                                \
	static long long get_##f##_n(const struct conf *c)                                     \
	{                                                                                      \
		return (long long)c->f.n;                                                      \
	}
GET(background)
GET(syslog)
GET(syslog_facility)
GET(log_level)
GET(durability)
GET(tag_validity)
GET(max_bounces_per_tag)
GET(on_untagged)
GET(on_invalid)
GET(on_replay)
GET(on_internal_error)
GET(tagging_since)
GET(dry_run)
GET(record_sent)
GET(sent_retention)
GET(sent_since)
GET(on_unknown_original)
GET(on_auto_reply)
GET(untagged_bounce_decision)
GET(bounce_scan_limit)
GET(srs_separator)
GET(srs_hash_length)
GET(srs_hash_min)
GET(srs_max_age)
GETN(domains)
GETN(internal_hosts)
GETN(exempt_senders)
GETN(exempt_recipients)
GETN(bounce_senders)

typedef const char *sgetter(const struct conf *c);
#define SGET(f)                                                                                \
	static const char *sget_##f(const struct conf *c)                                      \
	{                                                                                      \
		return c->f;                                                                   \
	}
SGET(socket)
SGET(map_socket)
SGET(user_id)
SGET(pid_file)
SGET(key_directory)
SGET(replay_database)
SGET(outbound_daemon_name)
SGET(srs_domain)
SGET(path)
static const char *
sget_domain0(const struct conf *c)
{
	return c->domains.n > 0 ? c->domains.v[0] : NULL;
}
static const char *
sget_domain_last(const struct conf *c)
{
	return c->domains.n > 0 ? c->domains.v[c->domains.n - 1] : NULL;
}
static const char *
sget_exempt0(const struct conf *c)
{
	return c->exempt_senders.n > 0 ? c->exempt_senders.v[0] : NULL;
}

/* Numbers: a configuration (Domains is added in front) and the field it must set. */
static const struct {
	const char *text;
	getter *get;
	long long want;
} nums[] = {
	/* defaults */
	{ "", get_background, 1 },
	{ "", get_syslog, 1 },
	{ "", get_syslog_facility, LOG_MAIL },
	{ "", get_log_level, LOG_INFO },
	{ "", get_durability, CONF_DUR_WRITE },
	{ "", get_tag_validity, 7 },
	{ "", get_max_bounces_per_tag, 25 },
	{ "", get_on_untagged, CONF_REJECT },
	{ "", get_on_invalid, CONF_REJECT },
	{ "", get_on_replay, CONF_REJECT },
	{ "", get_on_internal_error, CONF_TEMPFAIL },
	{ "", get_tagging_since, CONF_TAGGING_AUTO },
	{ "", get_dry_run, 0 },
	{ "", get_record_sent, 1 },
	{ "", get_sent_retention, 30 },
	{ "", get_sent_since, CONF_SENT_AUTO },
	{ "", get_on_unknown_original, CONF_MARK },
	{ "", get_on_auto_reply, CONF_MARK },
	{ "", get_untagged_bounce_decision, CONF_DECIDE_EOM },
	{ "", get_bounce_scan_limit, 256 * 1024 },
	{ "", get_srs_separator, '=' },
	{ "", get_srs_hash_length, 5 },
	{ "", get_srs_hash_min, 5 },
	{ "SRSHashLength 6\n", get_srs_hash_min, 6 },	/* the default follows SRSHashLength */
	{ "SRSHashLength 6\nSRSHashMin 5\nSRSHashLengthChanged 2025-11-20\n", get_srs_hash_min,
	    5 },
	{ "", get_srs_max_age, 21 },
	{ "", get_domains_n, 1 },
	{ "", get_internal_hosts_n, 2 },
	{ "", get_exempt_senders_n, 0 },
	{ "", get_exempt_recipients_n, 0 },
	{ "", get_bounce_senders_n, 0 },
	/* booleans, every spelling, any case */
	{ "DryRun yes\n", get_dry_run, 1 },
	{ "DryRun TRUE\n", get_dry_run, 1 },
	{ "DryRun on\n", get_dry_run, 1 },
	{ "DryRun 1\n", get_dry_run, 1 },
	{ "Background No\n", get_background, 0 },
	{ "Background false\n", get_background, 0 },
	{ "Background off\n", get_background, 0 },
	{ "Syslog 0\n", get_syslog, 0 },
	/* unsigned ranges, both ends */
	{ "TagValidity 1\n", get_tag_validity, 1 },
	{ "TagValidity 365\n", get_tag_validity, 365 },
	{ "TagValidity 0030\n", get_tag_validity, 30 },
	{ "MaxBouncesPerTag 0\n", get_max_bounces_per_tag, 0 },
	{ "SRSHashLength 32\nSRSHashMin 32\n", get_srs_hash_min, 32 },
	{ "SRSHashLength 4\n", get_srs_hash_length, 4 },
	{ "SRSMaxAge 1023\n", get_srs_max_age, 1023 },
	{ "SentRetention 1\n", get_sent_retention, 1 },
	{ "SentRetention 3650\n", get_sent_retention, 3650 },
	/* the replies settings */
	{ "RecordSent no\n", get_record_sent, 0 },
	{ "RecordSent YES\n", get_record_sent, 1 },
	{ "SentSince auto\n", get_sent_since, CONF_SENT_AUTO },
	{ "SentSince 2025-11-26\n", get_sent_since, 1764115200 },
	{ "SentSince 2025-11-26T19:00:00Z\n", get_sent_since, 1764183600 },
	{ "SentSince 1764183600\n", get_sent_since, 1764183600 },
	{ "OnUnknownOriginal reject\n", get_on_unknown_original, CONF_REJECT },
	{ "OnUnknownOriginal accept\n", get_on_unknown_original, CONF_ACCEPT },
	{ "OnAutoReply Reject\n", get_on_auto_reply, CONF_REJECT },
	{ "OnAutoReply tempfail\n", get_on_auto_reply, CONF_TEMPFAIL },
	{ "UntaggedBounceDecision rcpt\n", get_untagged_bounce_decision, CONF_DECIDE_RCPT },
	{ "UntaggedBounceDecision RCPT\n", get_untagged_bounce_decision, CONF_DECIDE_RCPT },
	{ "UntaggedBounceDecision eom\n", get_untagged_bounce_decision, CONF_DECIDE_EOM },
	{ "BounceScanLimit 4096\n", get_bounce_scan_limit, 4096 },
	{ "BounceScanLimit 4k\n", get_bounce_scan_limit, 4096 },
	{ "BounceScanLimit 512K\n", get_bounce_scan_limit, 512 * 1024 },
	{ "BounceScanLimit 1M\n", get_bounce_scan_limit, 1024 * 1024 },
	{ "BounceScanLimit 64M\n", get_bounce_scan_limit, 64 * 1024 * 1024 },
	{ "BounceScanLimit 300000\n", get_bounce_scan_limit, 300000 },
	{ "BounceScanLimit 0000065536\n", get_bounce_scan_limit, 65536 },
	/* enumerations */
	{ "OnUntagged tempfail\n", get_on_untagged, CONF_TEMPFAIL },
	{ "OnInvalid Accept\n", get_on_invalid, CONF_ACCEPT },
	{ "OnReplay mark\n", get_on_replay, CONF_MARK },
	{ "OnInternalError reject\n", get_on_internal_error, CONF_REJECT },
	{ "Durability sync\n", get_durability, CONF_DUR_SYNC },
	{ "Durability none\n", get_durability, CONF_DUR_NONE },
	{ "SyslogFacility local7\n", get_syslog_facility, LOG_LOCAL7 },
	{ "SyslogFacility DAEMON\n", get_syslog_facility, LOG_DAEMON },
	{ "LogLevel debug\n", get_log_level, LOG_DEBUG },
	{ "LogLevel err\n", get_log_level, LOG_ERR },
	{ "LogLevel warning\n", get_log_level, LOG_WARNING },
	{ "SRSSeparator +\n", get_srs_separator, '+' },
	{ "SRSSeparator -\n", get_srs_separator, '-' },
	/* times */
	{ "TaggingSince 1764183600\n", get_tagging_since, 1764183600 },
	{ "TaggingSince 0\n", get_tagging_since, 0 },
	{ "TaggingSince AUTO\n", get_tagging_since, CONF_TAGGING_AUTO },
	{ "TaggingSince 2025-11-26\n", get_tagging_since, 1764115200 },
	{ "TaggingSince 2025-11-26T19:00:00\n", get_tagging_since, 1764183600 },
	{ "TaggingSince 2025-11-26T19:00:00Z\n", get_tagging_since, 1764183600 },
	{ "TaggingSince 2024-02-29\n", get_tagging_since, 1709164800 },
	{ "TaggingSince 1970-01-01T00:00:00\n", get_tagging_since, 0 },
	/* lists: commas, blanks, both, "none" */
	{ "InternalHosts 10.0.0.0/8,192.168.0.0/16 fd00::/8\n", get_internal_hosts_n, 3 },
	{ "InternalHosts none\n", get_internal_hosts_n, 0 },
	{ "ExemptSenders a@example.com, b.example, .c.example ,postmaster@*\n",
	    get_exempt_senders_n, 4 },
	{ "BounceSenders mailer-daemon@*\n", get_bounce_senders_n, 1 },
	{ "ExemptRecipients\n", get_exempt_recipients_n, 0 },
	/* comments, case-insensitive names, blanks */
	{ "# whole line\n  # indented\n\n\t\ntagvalidity 9 # trailing\n", get_tag_validity, 9 },
	{ "TAGVALIDITY\t\t10\t\n", get_tag_validity, 10 },
};

static const struct {
	const char *text;
	sgetter *get;
	const char *want;	/* NULL: the field must be NULL */
} strs[] = {
	{ "", sget_socket, "inet:8891@127.0.0.1" },
	{ "", sget_map_socket, "unix:/run/backstop/srs.sock" },
	{ "", sget_user_id, NULL },
	{ "", sget_pid_file, NULL },
	{ "", sget_outbound_daemon_name, NULL },
	{ "", sget_srs_domain, NULL },
	{ "", sget_path, "t.conf" },
	{ "", sget_domain0, "example.com" },
	{ "Socket unix:/run/backstop/milter.sock\n", sget_socket,
	    "unix:/run/backstop/milter.sock" },
	{ "Socket inet6:8891@[::1]\n", sget_socket, "inet6:8891@[::1]" },
	{ "Socket inet:8891\n", sget_socket, "inet:8891" },
	{ "MapSocket inet:127.0.0.1:10001\n", sget_map_socket, "inet:127.0.0.1:10001" },
	{ "MapSocket inet:[::1]:10001\n", sget_map_socket, "inet:[::1]:10001" },
	{ "MapSocket unix:/run/b/srs.sock:0660\n", sget_map_socket, "unix:/run/b/srs.sock:0660" },
	{ "UserID backstop:mail\n", sget_user_id, "backstop:mail" },
	{ "UserID none\n", sget_user_id, NULL },
	{ "PidFile /run/backstop/milter.pid\n", sget_pid_file, "/run/backstop/milter.pid" },
	{ "ReplayDatabase none\n", sget_replay_database, NULL },
	{ "ReplayDatabase /var/db/bs\n", sget_replay_database, "/var/db/bs" },
	{ "KeyDirectory /etc/bs/keys\n", sget_key_directory, "/etc/bs/keys" },
	{ "OutboundDaemonName ORIGINATING\n", sget_outbound_daemon_name, "ORIGINATING" },
	{ "SRSDomain SRS.Example.NET\n", sget_srs_domain, "srs.example.net" },
	{ "ExemptSenders Postmaster@Example.COM\n", sget_exempt0, "Postmaster@Example.COM" },
	{ "Domains Example.COM .Sub.Example.org\n", sget_domain_last, ".sub.example.org" },
	{ "Domains a.example #b.example\n", sget_domain_last, "a.example" },
	{ "OutboundDaemonName ORIG#1\n", sget_outbound_daemon_name, "ORIG#1" },
};

/* Errors: the whole text, code and message. */
static const struct {
	const char *text;
	int rc;
	const char *err;
} errs[] = {
	{ "", CONF_EMISSING, "t.conf: Domains is required" },
	{ "# only a comment\n", CONF_EMISSING, "t.conf: Domains is required" },
	{ "Domains\n", CONF_EVALUE, "t.conf:1: Domains: needs at least one value" },
	{ "Domains none\n", CONF_EVALUE, "t.conf:1: Domains: needs at least one value" },
	{ D "Foo bar\n", CONF_EUNKNOWN, "t.conf:2: unknown setting 'Foo'" },
	{ D "\n\nSocket inet:1@h\nsocket inet:2@h\n", CONF_ESYNTAX,
	    "t.conf:5: Socket set twice (first at line 4)" },
	{ D "Domains b.example\n", CONF_ESYNTAX, "t.conf:2: Domains set twice (first at line 1)" },
	{ D "TagValidity 0\n", CONF_EVALUE, "t.conf:2: TagValidity: '0' is not between 1 and 365" },
	{ D "TagValidity 366\n", CONF_EVALUE,
	    "t.conf:2: TagValidity: '366' is not between 1 and 365" },
	{ D "TagValidity 99999999999999999999\n", CONF_EVALUE,
	    "t.conf:2: TagValidity: '99999999999999999999' is not between 1 and 365" },
	{ D "TagValidity -1\n", CONF_EVALUE, "t.conf:2: TagValidity: '-1' is not a number" },
	{ D "TagValidity 7d\n", CONF_EVALUE, "t.conf:2: TagValidity: '7d' is not a number" },
	{ D "TagValidity\n", CONF_EVALUE, "t.conf:2: TagValidity: missing value" },
	{ D "TagValidity 7 8\n", CONF_EVALUE, "t.conf:2: TagValidity: takes one value, not '7 8'" },
	{ D "SRSHashLength 3\n", CONF_EVALUE,
	    "t.conf:2: SRSHashLength: '3' is not between 4 and 32" },
	{ D "SRSHashLength 33\n", CONF_EVALUE,
	    "t.conf:2: SRSHashLength: '33' is not between 4 and 32" },
	{ D "SRSHashMin 0\n", CONF_EVALUE, "t.conf:2: SRSHashMin: '0' is not between 1 and 32" },
	{ D "SRSHashMin 6\n", CONF_EVALUE,
	    "t.conf:2: SRSHashMin: '6' is more than SRSHashLength (5)" },
	{ D "SRSHashLength 4\nSRSHashMin 5\n", CONF_EVALUE,
	    "t.conf:3: SRSHashMin: '5' is more than SRSHashLength (4)" },
	{ D "SRSHashMin 4\n", CONF_EVALUE,
	    "t.conf:2: SRSHashMin: '4' is less than SRSHashLength (5): a shorter hash is "
	    "forgeable by enumeration, and only hashes of an older SRSHashLength need it: set "
	    "SRSHashLengthChanged to the day SRSHashLength changed (it then applies for "
	    "SRSMaxAge days), or remove SRSHashMin" },
	{ D "SRSHashLength 6\nSRSHashMin 5\nSRSHashLengthChanged soon\n", CONF_EVALUE,
	    "t.conf:4: SRSHashLengthChanged: 'soon' is not none, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ "Domains example.com\nSRSDomain Example.COM\n", CONF_EVALUE,
	    "t.conf:2: SRSDomain: 'example.com' is in Domains (line 1): prvs tags to it would "
	    "be read as SRS addresses and refused as untagged; give SRS a domain of its own "
	    "(srs.example.com)" },
	{ "SRSDomain example.org\n\nDomains .example.com, Example.ORG\n", CONF_EVALUE,
	    "t.conf:1: SRSDomain: 'example.org' is in Domains (line 3): prvs tags to it would "
	    "be read as SRS addresses and refused as untagged; give SRS a domain of its own "
	    "(srs.example.org)" },
	{ D "SRSMaxAge 1024\n", CONF_EVALUE, "t.conf:2: SRSMaxAge: '1024' is not between 1 and 1023" },
	{ D "SentRetention 0\n", CONF_EVALUE,
	    "t.conf:2: SentRetention: '0' is not between 1 and 3650" },
	{ D "SentRetention 3651\n", CONF_EVALUE,
	    "t.conf:2: SentRetention: '3651' is not between 1 and 3650" },
	{ D "SentRetention 30d\n", CONF_EVALUE, "t.conf:2: SentRetention: '30d' is not a number" },
	{ D "RecordSent maybe\n", CONF_EVALUE, "t.conf:2: RecordSent: 'maybe' is not yes or no" },
	{ D "SentSince yesterday\n", CONF_EVALUE,
	    "t.conf:2: SentSince: 'yesterday' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ D "SentSince 2025-13-01\n", CONF_EVALUE,
	    "t.conf:2: SentSince: '2025-13-01' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ D "OnUnknownOriginal drop\n", CONF_EVALUE,
	    "t.conf:2: OnUnknownOriginal: 'drop' is not reject, tempfail, accept or mark" },
	{ D "OnAutoReply discard\n", CONF_EVALUE,
	    "t.conf:2: OnAutoReply: 'discard' is not reject, tempfail, accept or mark" },
	{ D "UntaggedBounceDecision data\n", CONF_EVALUE,
	    "t.conf:2: UntaggedBounceDecision: 'data' is not eom or rcpt" },
	{ D "UntaggedBounceDecision\n", CONF_EVALUE,
	    "t.conf:2: UntaggedBounceDecision: missing value" },
	{ D "BounceScanLimit 4095\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '4095' is not between 4k and 64M" },
	{ D "BounceScanLimit 3k\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '3k' is not between 4k and 64M" },
	{ D "BounceScanLimit 65M\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '65M' is not between 4k and 64M" },
	{ D "BounceScanLimit 99999999999999999999k\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '99999999999999999999k' is not between 4k and 64M" },
	{ D "BounceScanLimit 1G\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '1G' is not a size (bytes, or with k or M: 256k)" },
	{ D "BounceScanLimit 256kb\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '256kb' is not a size (bytes, or with k or M: 256k)" },
	{ D "BounceScanLimit 1m\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '1m' is not a size (bytes, or with k or M: 256k)" },
	{ D "BounceScanLimit k\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: 'k' is not a size (bytes, or with k or M: 256k)" },
	{ D "BounceScanLimit -4k\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: '-4k' is not a size (bytes, or with k or M: 256k)" },
	{ D "BounceScanLimit 256 k\n", CONF_EVALUE,
	    "t.conf:2: BounceScanLimit: takes one value, not '256 k'" },
	{ D "DryRun maybe\n", CONF_EVALUE, "t.conf:2: DryRun: 'maybe' is not yes or no" },
	{ D "DryRun 2\n", CONF_EVALUE, "t.conf:2: DryRun: '2' is not yes or no" },
	{ D "OnReplay drop\n", CONF_EVALUE,
	    "t.conf:2: OnReplay: 'drop' is not reject, tempfail, accept or mark" },
	{ D "Durability fsync\n", CONF_EVALUE,
	    "t.conf:2: Durability: 'fsync' is not sync, write or none" },
	{ D "SyslogFacility mial\n", CONF_EVALUE,
	    "t.conf:2: SyslogFacility: 'mial' is not a syslog facility "
	    "(mail, daemon, user, auth, authpriv, local0 ... local7)" },
	{ D "LogLevel loud\n", CONF_EVALUE,
	    "t.conf:2: LogLevel: 'loud' is not a log level (err, warning, notice, info, debug)" },
	{ D "SRSSeparator *\n", CONF_EVALUE, "t.conf:2: SRSSeparator: '*' is not one of = + -" },
	{ D "SRSSeparator ==\n", CONF_EVALUE, "t.conf:2: SRSSeparator: '==' is not one of = + -" },
	{ D "TaggingSince yesterday\n", CONF_EVALUE,
	    "t.conf:2: TaggingSince: 'yesterday' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ D "TaggingSince 2025-02-29\n", CONF_EVALUE,
	    "t.conf:2: TaggingSince: '2025-02-29' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ D "TaggingSince 2025-11-26T24:00:00\n", CONF_EVALUE,
	    "t.conf:2: TaggingSince: '2025-11-26T24:00:00' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ D "TaggingSince 1969-12-31\n", CONF_EVALUE,
	    "t.conf:2: TaggingSince: '1969-12-31' is not auto, a Unix time or a date "
	    "YYYY-MM-DD[THH:MM:SS]" },
	{ "Domains example..com\n", CONF_EVALUE,
	    "t.conf:1: Domains: 'example..com' is not a domain name (or .domain for its "
	    "subdomains)" },
	{ "Domains ok.example, -bad.example\n", CONF_EVALUE,
	    "t.conf:1: Domains: '-bad.example' is not a domain name (or .domain for its "
	    "subdomains)" },
	{ "Domains user@example.com\n", CONF_EVALUE,
	    "t.conf:1: Domains: 'user@example.com' is not a domain name (or .domain for its "
	    "subdomains)" },
	{ D "SRSDomain .srs.example\n", CONF_EVALUE,
	    "t.conf:2: SRSDomain: '.srs.example' is not a domain name" },
	{ D "ExemptSenders @example.com\n", CONF_EVALUE,
	    "t.conf:2: ExemptSenders: '@example.com' is not an address pattern (user@domain, "
	    "domain, .domain, user@*)" },
	{ D "BounceSenders mailer-daemon@\n", CONF_EVALUE,
	    "t.conf:2: BounceSenders: 'mailer-daemon@' is not an address pattern (user@domain, "
	    "domain, .domain, user@*)" },
	{ D "InternalHosts 10.0.0.0/33\n", CONF_EVALUE,
	    "t.conf:2: InternalHosts: '10.0.0.0/33' is not an address or network "
	    "(192.0.2.0/24, 2001:db8::/32)" },
	{ D "InternalHosts ::1/129\n", CONF_EVALUE,
	    "t.conf:2: InternalHosts: '::1/129' is not an address or network "
	    "(192.0.2.0/24, 2001:db8::/32)" },
	{ D "InternalHosts 10.0.0/8\n", CONF_EVALUE,
	    "t.conf:2: InternalHosts: '10.0.0/8' is not an address or network "
	    "(192.0.2.0/24, 2001:db8::/32)" },
	{ D "InternalHosts 10.0.0.0/\n", CONF_EVALUE,
	    "t.conf:2: InternalHosts: '10.0.0.0/' is not an address or network "
	    "(192.0.2.0/24, 2001:db8::/32)" },
	{ D "Socket tcp:8891\n", CONF_EVALUE,
	    "t.conf:2: Socket: 'tcp:8891' is not a milter socket (unix:/path, inet:port@host, "
	    "inet6:port@host)" },
	{ D "Socket inet:99999@localhost\n", CONF_EVALUE,
	    "t.conf:2: Socket: 'inet:99999@localhost' is not a milter socket (unix:/path, "
	    "inet:port@host, inet6:port@host)" },
	{ D "MapSocket inet:10001\n", CONF_EVALUE,
	    "t.conf:2: MapSocket: 'inet:10001' " MAPSOCK_WHY },
	{ D "MapSocket unix:relative.sock\n", CONF_EVALUE,
	    "t.conf:2: MapSocket: 'unix:relative.sock' " MAPSOCK_WHY },
	{ D "MapSocket inet:[::1:10001\n", CONF_EVALUE,
	    "t.conf:2: MapSocket: 'inet:[::1:10001' " MAPSOCK_WHY },
	{ D "MapSocket unix:/run/backstop/srs.sock:660\n", CONF_EVALUE,
	    "t.conf:2: MapSocket: 'unix:/run/backstop/srs.sock:660' is not a socket: the mode "
	    "must be 4 octal digits like 0660" },
	{ D "UserID bob smith\n", CONF_EVALUE,
	    "t.conf:2: UserID: takes one value, not 'bob smith'" },
	{ D "UserID bob:\n", CONF_EVALUE, "t.conf:2: UserID: 'bob:' is not user[:group]" },
	{ D "ExemptSenders file:\n", CONF_EVALUE, "t.conf:2: ExemptSenders: file: needs a path" },
	{ D "ExemptSenders file:/nonexistent/backstop-list\n", CONF_EIO,
	    "t.conf:2: ExemptSenders: cannot read '/nonexistent/backstop-list': No such file or "
	    "directory" },
	{ D "Socket inet:1@h\rDryRun yes\n", CONF_ESYNTAX,
	    "t.conf:2: control character 0x0d in line" },
	{ D "DryRun\x1byes\n", CONF_ESYNTAX, "t.conf:2: control character 0x1b in line" },
};

/* text with newlines shown as \\n, for test names */
static const char *
show(const char *text)
{
	static char buf[256];
	size_t i, n = 0;

	for (i = 0; text[i] != '\0' && n + 3 < sizeof(buf); i++) {
		if (text[i] == '\n' || text[i] == '\r' || text[i] == '\t') {
			buf[n++] = '\\';
			buf[n++] = text[i] == '\n' ? 'n' : text[i] == '\r' ? 'r' : 't';
		} else {
			buf[n++] = text[i];
		}
	}
	buf[n] = '\0';
	return n == 0 ? "(defaults)" : buf;
}

static void
test_tables(void)
{
	char err[512], text[1024];
	struct conf *c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(text, sizeof(text), D "%s", nums[i].text);
		rc = parse(text, &c, err, sizeof(err));
		if (!is_int(rc, CONF_OK, "num %zu parses: %s", i, err))
			continue;
		is_int(nums[i].get(c), nums[i].want, "num %zu: %s", i, show(nums[i].text));
		conf_free(c);
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", strncmp(strs[i].text, "Domains", 7) == 0 ?
		    "" : D, strs[i].text);
		rc = parse(text, &c, err, sizeof(err));
		if (!is_int(rc, CONF_OK, "str %zu parses: %s", i, err))
			continue;
		if (strs[i].want == NULL)
			ok(strs[i].get(c) == NULL, "str %zu: %s gives NULL", i, show(strs[i].text));
		else
			is_str(strs[i].get(c), strs[i].want, "str %zu: %s", i, show(strs[i].text));
		conf_free(c);
	}
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		c = (struct conf *)1;
		rc = parse(errs[i].text, &c, err, sizeof(err));
		is_int(rc, errs[i].rc, "err %zu: code", i);
		ok(c == NULL, "err %zu: no configuration returned", i);
		is_str(err, errs[i].err, "err %zu: message for %s", i, show(errs[i].text));
	}
}

static void
expect_error(const char *text, size_t len, int want_rc, const char *want_err, const char *what)
{
	struct conf *c;
	char err[512];
	int rc = conf_parse(text, len, "t.conf", &c, err, sizeof(err));

	is_int(rc, want_rc, "%s: code", what);
	is_str(err, want_err, "%s: message", what);
	conf_free(c);
}

static void
test_lines(void)
{
	static const char crlf[] = "# dos\r\nDomains example.com\r\nTagValidity 12\r\n\r\n";
	static const char nul[] = "Domains example.com\nTagValidity 1\0002\n";
	char err[512], *big;
	struct conf *c;
	int rc;

	rc = conf_parse(crlf, strlen(crlf), "t.conf", &c, err, sizeof(err));
	if (is_int(rc, CONF_OK, "CRLF file parses: %s", err)) {
		is_int(c->tag_validity, 12, "CRLF: value without the CR");
		is_str(c->domains.v[0], "example.com", "CRLF: list item without the CR");
		conf_free(c);
	}
	rc = conf_parse("Domains example.com", 19, "t.conf", &c, err, sizeof(err));
	ok(rc == CONF_OK && c->domains.n == 1, "last line without a newline");
	conf_free(c);
	expect_error(nul, sizeof(nul) - 1, CONF_ESYNTAX, "t.conf:2: NUL byte in line", "NUL byte");

	big = malloc(9000);
	if (big == NULL)
		bail_out("malloc");
	memset(big, 'x', 9000);
	memcpy(big, D "ExemptSenders ", 34);
	expect_error(big, 9000, CONF_ESYNTAX, "t.conf:2: line longer than 8192 bytes",
	    "overlong line");
	/* exactly 8192 bytes plus CR LF is still fine */
	memset(big + 20, ' ', 8192);
	memcpy(big + 20, "# comment", 9);
	memcpy(big + 20 + 8192, "\r\n", 2);
	rc = conf_parse(big, 20 + 8194, "t.conf", &c, err, sizeof(err));
	is_int(rc, CONF_OK, "8192-byte line is accepted: %s", err);
	conf_free(c);
	free(big);
}

static char tmpdir[] = "/tmp/test-conf.XXXXXX";

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		bail_out("cannot write a temporary file");
}

static void
test_file_lists(void)
{
	char path[256], err[512], text[512];
	struct conf *c;
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		bail_out("mkdtemp");
	write_file("domains", "# our domains\none.example, two.example\n\n"
	    "three.example # trailing\n.four.example five.example\r\n");
	write_file("nets", "10.0.0.0/8\n2001:db8::/32 # docs\n");
	write_file("bad", "ok.example\n\nnot_a_domain\n");
	write_file("nest", "file:domains\n");
	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);

	write_file("main.conf", "Domains first.example, file:domains, last.example\n"
	    "InternalHosts file:nets ::1\n");
	rc = conf_load(path, &c, err, sizeof(err));
	if (is_int(rc, CONF_OK, "file: lists load: %s", err)) {
		is_int(c->domains.n, 7, "file: items join the inline ones");
		is_str(c->domains.v[1], "one.example", "file: first item");
		is_str(c->domains.v[4], ".four.example", "file: item after a trailing comment");
		is_str(c->domains.v[6], "last.example", "inline item after file:");
		is_int(c->internal_hosts.n, 3, "file: network list");
		is_str(c->path, path, "path is kept");
		conf_free(c);
	}
	snprintf(text, sizeof(text), "Domains file:%s/domains\n", tmpdir);
	rc = parse(text, &c, err, sizeof(err));
	ok(rc == CONF_OK && c->domains.n == 5, "file: with an absolute path");
	conf_free(c);

	write_file("main.conf", "\nDomains file:bad\n");
	rc = conf_load(path, &c, err, sizeof(err));
	is_int(rc, CONF_EVALUE, "error inside a file: list");
	snprintf(text, sizeof(text), "%s/bad:3: Domains: 'not_a_domain' is not a domain name "
	    "(or .domain for its subdomains)", tmpdir);
	is_str(err, text, "the message names the list file and its line");

	write_file("main.conf", "Domains file:nest\n");
	rc = conf_load(path, &c, err, sizeof(err));
	snprintf(text, sizeof(text), "%s/nest:1: Domains: 'file:domains': file: lists do not "
	    "nest", tmpdir);
	ok(rc == CONF_EVALUE && strcmp(err, text) == 0, "file: lists do not nest");

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	rc = conf_load(path, &c, err, sizeof(err));
	snprintf(text, sizeof(text), "%s: cannot read: No such file or directory", path);
	ok(rc == CONF_EIO && c == NULL, "missing file: CONF_EIO");
	is_str(err, text, "missing file: message");

	rc = conf_load(tmpdir, &c, err, sizeof(err));
	is_int(rc, CONF_EIO, "a directory is not a configuration");

	snprintf(text, sizeof(text), "rm -rf '%s'", tmpdir);
	(void)!system(text);
}

/* Every "#Name value" line of the example, uncommented, must parse too. */
static void
test_example_uncommented(const char *path)
{
	char *text = NULL, err[512];
	size_t len, i, n = 0;
	struct conf *c;
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL || (text = malloc(65536)) == NULL)
		bail_out("cannot read the example");
	len = fread(text, 1, 65535, f);
	fclose(f);
	for (i = 0; i + 1 < len; i++)
		if (text[i] == '#' && (i == 0 || text[i - 1] == '\n') && text[i + 1] >= 'A' &&
		    text[i + 1] <= 'Z') {
			text[i] = ' ';
			n++;
		}
	rc = conf_parse(text, len, path, &c, err, sizeof(err));
	is_int(rc, CONF_OK, "the example with its %zu commented settings enabled parses: %s", n,
	    err);
	ok(n >= 36, "the example shows every setting (%zu)", n);
	if (rc == CONF_OK)
		ok(c->exempt_senders.n == 1 && c->bounce_senders.n == 1, "and sets them");
	conf_free(c);
	free(text);
}

static void
test_example(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024], err[512];
	struct conf *c;
	int rc;

	if (top != NULL)
		snprintf(path, sizeof(path), "%s/contrib/backstop.conf", top);
	else
		snprintf(path, sizeof(path), "%s/../../contrib/backstop.conf", VECTORS_DIR);
	rc = conf_load(path, &c, err, sizeof(err));
	if (!is_int(rc, CONF_OK, "contrib/backstop.conf loads: %s", err))
		return;
	ok(c->domains.n > 0, "the example names domains");
	is_int(c->tag_validity, 7, "the example keeps the default TagValidity");
	conf_free(c);
	test_example_uncommented(path);
}

static void
test_nets(void)
{
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		{ "10.1.2.3", 1 }, { "11.0.0.1", 0 }, { "172.16.0.1", 1 }, { "172.31.255.255", 1 },
		{ "172.32.0.0", 0 }, { "192.0.2.77", 1 }, { "192.0.2.78", 0 },
		{ "2001:db8::1", 1 }, { "2001:db9::1", 0 }, { "::1", 1 }, { "::2", 0 },
		{ "::ffff:10.9.9.9", 1 }, { "::ffff:11.9.9.9", 0 }, { "::ffff:192.0.2.77", 1 },
		{ "fe80::1", 1 }, { "fec0::1", 0 }, { "::a01:203", 0 },
	};
	const char *text = D "InternalHosts 10.255.255.255/8, 172.16.0.0/12 192.0.2.77 "
	    "2001:db8::/32 [::1] [fe80::]/10\n";
	unsigned char buf[16];
	struct conf *c;
	char err[512];
	size_t i;
	int fam;

	if (!is_int(parse(text, &c, err, sizeof(err)), CONF_OK, "networks parse: %s", err))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fam = strchr(cases[i].addr, ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(fam, cases[i].addr, buf) != 1)
			bail_out("inet_pton");
		is_int(conf_nets_contain(&c->internal_hosts, (sa_family_t)fam, buf), cases[i].want,
		    "nets: %s", cases[i].addr);
	}
	conf_free(c);

	text = D "InternalHosts 0.0.0.0/0\n";
	if (parse(text, &c, err, sizeof(err)) != CONF_OK)
		bail_out(err);
	inet_pton(AF_INET, "203.0.113.9", buf);
	ok(conf_nets_contain(&c->internal_hosts, AF_INET, buf), "0.0.0.0/0 holds every IPv4");
	inet_pton(AF_INET6, "2001:db8::9", buf);
	ok(!conf_nets_contain(&c->internal_hosts, AF_INET6, buf), "but no IPv6");
	conf_free(c);

	if (parse(D, &c, err, sizeof(err)) != CONF_OK)
		bail_out(err);
	inet_pton(AF_INET, "127.0.0.53", buf);
	ok(conf_nets_contain(&c->internal_hosts, AF_INET, buf), "default holds 127.0.0.53");
	inet_pton(AF_INET6, "::1", buf);
	ok(conf_nets_contain(&c->internal_hosts, AF_INET6, buf), "default holds ::1");
	inet_pton(AF_INET6, "::ffff:127.0.0.1", buf);
	ok(conf_nets_contain(&c->internal_hosts, AF_INET6, buf), "default holds mapped 127.0.0.1");
	inet_pton(AF_INET, "192.0.2.1", buf);
	ok(!conf_nets_contain(&c->internal_hosts, AF_INET, buf), "default lacks 192.0.2.1");
	conf_free(c);
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* SYSCONFDIR and LOCALSTATEDIR are the library's: compare the parts around them. */
static void
test_default_paths(void)
{
	const char *def = conf_default_path();
	char want[1024], err[512];
	struct conf *c;

	ok(def[0] == '/' && ends_with(def, "/backstop/backstop.conf"), "default path %s", def);
	snprintf(want, sizeof(want), "%.*s/keys", (int)(strlen(def) - strlen("/backstop.conf")),
	    def);
	if (parse(D, &c, err, sizeof(err)) != CONF_OK)
		bail_out(err);
	is_str(c->key_directory, want, "default KeyDirectory beside the configuration");
	ok(c->replay_database != NULL && c->replay_database[0] == '/' &&
	    ends_with(c->replay_database, "/lib/backstop"), "default ReplayDatabase %s",
	    c->replay_database);
	conf_free(c);
}

static void
test_names(void)
{
	is_str(conf_action_name(CONF_REJECT), "reject", "action name reject");
	is_str(conf_action_name(CONF_MARK), "mark", "action name mark");
	test_default_paths();
	ok(strcmp(conf_strerror(CONF_EMISSING), conf_strerror(CONF_EVALUE)) != 0, "strerror");
	is_int(log_facility_parse("mail"), LOG_MAIL, "facility mail");
	is_int(log_facility_parse("LOCAL0"), LOG_LOCAL0, "facility LOCAL0");
	is_int(log_facility_parse("local8"), -1, "facility local8");
	is_int(log_facility_parse(""), -1, "facility empty");
	is_int(log_level_parse("notice"), LOG_NOTICE, "level notice");
	is_int(log_level_parse("Info"), LOG_INFO, "level Info");
	is_int(log_level_parse("error"), LOG_ERR, "level error");
	is_int(log_level_parse("verbose"), -1, "level verbose");
}

/* log_msg on stderr: one line "ident[pid]: level: message", levels above the limit
 * dropped, control characters replaced so that one call stays one line. */
static void
test_log_stderr(void)
{
	char path[] = "/tmp/test-log.XXXXXX", got[512], want[512];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	if (fd < 0 || saved < 0 || dup2(fd, STDERR_FILENO) < 0)
		bail_out("cannot redirect stderr");
	log_open("tlog", false, LOG_MAIL, LOG_NOTICE);
	log_msg(LOG_INFO, "dropped %d", 1);
	log_msg(LOG_WARNING, "kept %s", "a\r\nb");
	log_msg(LOG_DEBUG, "dropped too");
	log_msg(LOG_ERR, "last");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	got[n < 0 ? 0 : n] = '\0';
	close(fd);
	unlink(path);
	snprintf(want, sizeof(want), "tlog[%ld]: warning: kept a??b\ntlog[%ld]: error: last\n",
	    (long)getpid(), (long)getpid());
	is_str(got, want, "log to stderr: format, level filter, control characters");
	log_open("backstop", false, LOG_MAIL, LOG_INFO);
}

/* What a reload cannot apply: each restart-only setting is seen, and only when asked for. */
static void
test_fixed_changes(void)
{
	static const struct {
		const char *extra;
		unsigned bit;
	} rows[] = {
		{ "Socket inet:9999@127.0.0.1\n", CONF_FIXED_SOCKET },
		{ "MapSocket inet:127.0.0.1:9998\n", CONF_FIXED_MAP_SOCKET },
		{ "UserID nobody\n", CONF_FIXED_USER },
		{ "PidFile /run/x.pid\n", CONF_FIXED_PID_FILE },
		{ "ReplayDatabase /var/lib/other\n", CONF_FIXED_STORE },
		{ "Durability sync\n", CONF_FIXED_STORE },
		{ "Background no\n", CONF_FIXED_BACKGROUND },
		{ "LogLevel debug\n", CONF_FIXED_LOGGING },
		{ "SyslogFacility local3\n", CONF_FIXED_LOGGING },
		{ "Domains example.org\nTagValidity 9\n", 0 },
	};
	const char *base = "Domains example.com\n";
	struct conf *a = NULL, *b = NULL;
	char text[256], err[256];
	size_t i;

	if (parse(base, &a, err, sizeof(err)) != 0)
		bail_out(err);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", strncmp(rows[i].extra, "Domains", 7) == 0 ?
		    "" : base, rows[i].extra);
		if (parse(text, &b, err, sizeof(err)) != 0)
			bail_out(err);
		is_int((long)conf_fixed_changes(a, b, ~0u), (long)rows[i].bit,
		    "reload with %.*s: restart-only change %s", (int)strcspn(rows[i].extra, "\n"),
		    rows[i].extra, rows[i].bit != 0 ? conf_fixed_name(rows[i].bit) : "none");
		is_int((long)conf_fixed_changes(a, b, ~0u & ~rows[i].bit), 0,
		    "and nothing when that one is not asked for");
		conf_free(b);
		b = NULL;
	}
	is_str(conf_fixed_name(CONF_FIXED_LOGGING), "Syslog, SyslogFacility or LogLevel",
	    "the logging settings are named together");
	conf_free(a);
}

/* The restart-only column: a change of each flagged setting is reported under its bit (whose
 * warning names it), and a change of any other setting, of every type, is not. */
static void
test_fixed_column(void)
{
	static const struct {
		const char *extra;
		unsigned bit;
	} rows[] = {
		{ "Socket unix:/run/backstop/milter.sock\n", CONF_FIXED_SOCKET },
		{ "MapSocket unix:/run/other.sock\n", CONF_FIXED_MAP_SOCKET },
		{ "PidFile /run/y.pid\n", CONF_FIXED_PID_FILE },
		{ "Durability none\n", CONF_FIXED_STORE },
		{ "Background no\n", CONF_FIXED_BACKGROUND },
		{ "Syslog no\n", CONF_FIXED_LOGGING },
		{ "SyslogFacility daemon\n", CONF_FIXED_LOGGING },
		{ "LogLevel err\n", CONF_FIXED_LOGGING },
		{ "UserID none\n", 0 },	/* the default, named */
		{ "UserID backstop:mail\n", CONF_FIXED_USER },
		{ "ReplayDatabase none\n", CONF_FIXED_STORE },
		{ "Background no\nLogLevel debug\n", CONF_FIXED_BACKGROUND | CONF_FIXED_LOGGING },
		{ "KeyDirectory /etc/other/keys\n", 0 },
		{ "InternalHosts 127.0.0.0/8, ::1, 10.0.0.0/8\n", 0 },
		{ "InternalHosts 127.0.0.0/9, ::1\n", 0 },
		{ "OutboundDaemonName ORIGINATING\n", 0 },
		{ "TagValidity 8\n", 0 },
		{ "MaxBouncesPerTag 3\n", 0 },
		{ "OnUntagged mark\n", 0 },
		{ "OnInvalid tempfail\n", 0 },
		{ "OnReplay accept\n", 0 },
		{ "OnInternalError accept\n", 0 },
		{ "TaggingSince 2020-01-01\n", 0 },
		{ "DryRun yes\n", 0 },
		{ "ExemptSenders a@example.net\n", 0 },
		{ "ExemptRecipients b@example.net\n", 0 },
		{ "BounceSenders mailer-daemon@*\n", 0 },
		{ "SRSDomain srs.example.net\n", 0 },
		{ "SRSSeparator +\n", 0 },
		{ "SRSHashLength 6\nSRSHashMin 6\n", 0 },
		{ "SRSHashLength 6\nSRSHashMin 5\nSRSHashLengthChanged 2025-11-20\n", 0 },
		{ "SRSMaxAge 30\n", 0 },
		{ "RecordSent no\n", 0 },
		{ "SentRetention 60\n", 0 },
		{ "SentSince 2026-01-01\n", 0 },
		{ "OnUnknownOriginal reject\n", 0 },
		{ "OnAutoReply accept\n", 0 },
		{ "UntaggedBounceDecision rcpt\n", 0 },
		{ "BounceScanLimit 1M\n", 0 },
	};
	const char *base = "Domains example.com\n";
	struct conf *a = NULL, *b = NULL;
	char text[256], err[256];
	size_t i;

	if (parse(base, &a, err, sizeof(err)) != 0)
		bail_out(err);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, rows[i].extra);
		if (parse(text, &b, err, sizeof(err)) != 0)
			bail_out(err);
		is_int((long)conf_fixed_changes(a, b, ~0u), (long)rows[i].bit,
		    "reload with %.*s: restart-only bits %#x", (int)strcspn(rows[i].extra, "\n"),
		    rows[i].extra, rows[i].bit);
		is_int((long)conf_fixed_changes(b, a, ~0u), (long)rows[i].bit, "and back again");
		snprintf(text, sizeof(text), "%.*s", (int)strcspn(rows[i].extra, " "), rows[i].extra);
		if (rows[i].bit != 0 && (rows[i].bit & (rows[i].bit - 1)) == 0)
			ok(strstr(conf_fixed_name(rows[i].bit), text) != NULL,
			    "the restart warning names %s", text);
		conf_free(b);
		b = NULL;
	}
	conf_free(a);
}

/* Settings that parse but are probably mistakes are named, and a sane file gets none. */
static void
test_risks(void)
{
	static const struct {
		const char *extra;
		const char *says;	/* NULL: no warning */
	} rows[] = {
		{ "", NULL },
		{ "InternalHosts 127.0.0.0/8, 192.0.2.0/24\n", NULL },
		{ "InternalHosts 127.0.0.0/8, 0.0.0.0/0\n", "InternalHosts has a /0 network" },
		{ "InternalHosts ::/0\n", "every client is internal" },
		{ "SRSDomain fwd.example.com\nSRSHashLength 4\nSRSHashMin 2\n"
		    "SRSHashLengthChanged 2025-11-20\n", "SRSHashMin 2: a forged SRS address "
		    "passes 1 time in 2^10" },
		{ "SRSDomain fwd.example.com\nSRSHashLength 6\nSRSHashMin 5\n"
		    "SRSHashLengthChanged 2025-11-20\n", NULL },
		{ "SRSDomain fwd.example.com\nSRSHashLength 6\nSRSHashMin 5\n"
		    "SRSHashLengthChanged 2025-11-05\n", "SRSHashMin 5 has not applied since "
		    "2025-11-27 (SRSMaxAge days after SRSHashLengthChanged): hashes shorter than "
		    "SRSHashLength (6) are refused; remove SRSHashMin and SRSHashLengthChanged" },
		{ "SRSDomain fwd.example.com\nSRSHashLength 6\nSRSHashMin 5\n"
		    "SRSHashLengthChanged 2025-12-01\n", "SRSHashLengthChanged is in the future: "
		    "SRSHashMin 5 does not apply" },
		{ "SRSHashLength 4\nSRSHashMin 1\nSRSHashLengthChanged 2025-11-20\n", NULL },
		/* SRS is off: nothing to forge */
		{ "TaggingSince 2099-01-01\n", "TaggingSince is in the future" },
		{ "TaggingSince 2020-01-01\n", NULL },
		/* sockets others can reach */
		{ "MapSocket unix:/run/b/srs.sock\n", NULL },
		{ "MapSocket unix:/run/b/srs.sock:0660\n", NULL },
		{ "MapSocket unix:/run/b/srs.sock:0666\n", "MapSocket mode 0666 lets every local "
		    "user ask the maps" },
		{ "MapSocket unix:/run/b/srs.sock:0604\n", "MapSocket mode 0604" },
		{ "MapSocket inet:127.0.0.1:10001\n", NULL },
		{ "MapSocket inet:[::1]:10001\n", NULL },
		{ "MapSocket inet:0.0.0.0:10001\n", "MapSocket inet:0.0.0.0:10001 is reachable "
		    "from other hosts" },
		{ "MapSocket inet:[::]:10001\n", "is reachable from other hosts" },
		{ "MapSocket inet:192.0.2.1:10001\n", "is reachable from other hosts" },
		{ "Socket inet:8891@127.0.0.1\n", NULL },
		{ "Socket inet:8891\n", "Socket inet:8891 listens on every interface" },
		{ "Socket inet:8891@0.0.0.0\n", "listens on every interface" },
		/* lists that match every sender */
		{ "BounceSenders mailer-daemon@*\n", NULL },
		{ "BounceSenders *@*\n", "BounceSenders *@*: every message counts as a bounce" },
		{ "ExemptSenders *@*\n", "ExemptSenders *@*: no sender is ever signed" },
		/* the replies settings */
		{ "OnUnknownOriginal mark\n", NULL },
		{ "OnUnknownOriginal reject\n", "OnUnknownOriginal reject: right only when every "
		    "outbound host records into one store" },
		{ "OnUnknownOriginal tempfail\n", "OnUnknownOriginal tempfail: right only when" },
		{ "RecordSent no\n", NULL },
		{ "RecordSent no\nOnAutoReply reject\n", "RecordSent no: no reference is ever "
		    "known, so OnAutoReply reject refuses every auto-reply" },
		{ "ReplayDatabase none\nOnAutoReply tempfail\n", "ReplayDatabase none: no reference "
		    "is ever known, so OnAutoReply tempfail refuses" },
		{ "RecordSent no\nOnUnknownOriginal reject\n", "RecordSent no: OnUnknownOriginal "
		    "reject never applies" },
		{ "OnAutoReply reject\n", NULL },
		{ "SentSince 2099-01-01\n", "SentSince is in the future" },
		{ "SentSince 2020-01-01\n", NULL },
		{ "SentRetention 5\n", "SentRetention 5 is shorter than TagValidity (7)" },
		{ "SentRetention 5\nOnUnknownOriginal accept\n", NULL },
		{ "SentRetention 7\n", NULL },
		{ "UntaggedBounceDecision rcpt\n", NULL },
		{ "BounceScanLimit 4k\n", NULL },
	};
	char text[256], err[256], buf[512];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned n;

		snprintf(text, sizeof(text), "Domains example.com\n%s", rows[i].extra);
		if (parse(text, &c, err, sizeof(err)) != 0)
			bail_out(err);
		n = conf_risks(c, 1764201600, buf, sizeof(buf));
		if (rows[i].says == NULL)
			is_int(n, 0, "no warning for '%.*s'", (int)strcspn(rows[i].extra, "\n"),
			    rows[i].extra);
		else
			ok(n == 1 && strstr(buf, rows[i].says) != NULL && buf[strlen(buf) - 1] == '\n',
			    "'%.*s' warned: %s", (int)strcspn(rows[i].extra, "\n"), rows[i].extra, buf);
		conf_free(c);
	}
}

/* The Redis settings of issue 16: defaults, each value's form, restart-only, and the risk of
 * a local fallback without a local store. */
static void
test_redis(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "ReplayRedis redis.example.net\n", "t.conf:2: ReplayRedis: 'redis.example.net' is "
		    "not a Redis server (unix:/path, host:port, [v6addr]:port)" },
		{ "ReplayRedis unix:r.sock\n", "t.conf:2: ReplayRedis: 'unix:r.sock' is not a Redis "
		    "server (unix:/path, host:port, [v6addr]:port)" },
		{ "ReplayRedisFallback maybe\n", "t.conf:2: ReplayRedisFallback: 'maybe' is not "
		    "local, open or tempfail" },
		{ "ReplayRedisTimeout 5\n", "t.conf:2: ReplayRedisTimeout: '5' is not between 10 "
		    "and 60000" },
		{ "ReplayRedisPasswordFile relative\n", "t.conf:2: ReplayRedisPasswordFile: "
		    "'relative' is not an absolute path" },
		{ "ReplayRedisPrefix a{b\n", "t.conf:2: ReplayRedisPrefix: 'a{b' is not 1 to 64 "
		    "letters, digits or . _ : -" },
	};
	char err[512], risks[2048];
	struct conf *c, *d;
	size_t i;

	if (parse(D, &c, err, sizeof(err)) != CONF_OK)
		bail_out(err);
	ok(c->replay_redis == NULL && c->replay_redis_user == NULL &&
	    c->replay_redis_password_file == NULL && c->replay_redis_database == 0,
	    "Redis defaults: none, no user, no password, database 0");
	is_str(c->replay_redis_prefix, "backstop:", "ReplayRedisPrefix defaults to backstop:");
	is_int(c->replay_redis_timeout, 250, "ReplayRedisTimeout defaults to 250 ms");
	is_int(c->replay_redis_fallback, CONF_FALLBACK_LOCAL, "ReplayRedisFallback local");
	is_int(parse(D "ReplayRedis unix:/run/redis/redis.sock\nReplayRedisUser backstop\n"
	    "ReplayRedisPasswordFile /etc/backstop/redis.pw\nReplayRedisDatabase 3\n"
	    "ReplayRedisPrefix mx:\nReplayRedisTimeout 100\nReplayRedisFallback tempfail\n",
	    &d, err, sizeof(err)), CONF_OK, "every Redis setting parses: %s", err);
	ok(strcmp(d->replay_redis, "unix:/run/redis/redis.sock") == 0 &&
	    strcmp(d->replay_redis_user, "backstop") == 0 &&
	    strcmp(d->replay_redis_password_file, "/etc/backstop/redis.pw") == 0 &&
	    d->replay_redis_database == 3 && strcmp(d->replay_redis_prefix, "mx:") == 0 &&
	    d->replay_redis_timeout == 100 && d->replay_redis_fallback == CONF_FALLBACK_TEMPFAIL,
	    "and holds its values");
	is_int((long)conf_fixed_changes(c, d, ~0u), CONF_FIXED_STORE,
	    "the Redis settings take a restart, as the store does");
	ok(strstr(conf_fixed_name(CONF_FIXED_STORE), "ReplayRedis") != NULL,
	    "and the warning names them");
	conf_free(d);
	is_int(parse(D "ReplayRedis 192.0.2.7:6379\nReplayRedisFallback open\n", &d, err,
	    sizeof(err)), CONF_OK, "host:port parses: %s", err);
	is_int(d->replay_redis_fallback, CONF_FALLBACK_OPEN, "fallback open");
	conf_free(d);
	is_int(parse(D "ReplayRedis [2001:db8::7]:6379\n", &d, err, sizeof(err)), CONF_OK,
	    "[v6]:port parses: %s", err);
	conf_free(d);
	is_int(parse(D "ReplayRedis 127.0.0.1:6379\nReplayDatabase none\n", &d, err,
	    sizeof(err)), CONF_OK, "Redis without a local store parses");
	conf_risks(d, 0, risks, sizeof(risks));
	ok(strstr(risks, "ReplayRedisFallback local") != NULL,
	    "but the local fallback without ReplayDatabase is a risk: %s", risks);
	conf_free(d);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), D "%s", bad[i].text);
		d = NULL;
		is_int(parse(text, &d, err, sizeof(err)), CONF_EVALUE, "redis bad %zu refused", i);
		is_str(err, bad[i].err, "redis bad %zu: message", i);
		conf_free(d);
	}
	conf_free(c);
}

int
main(void)
{
	test_risks();
	test_fixed_changes();
	test_fixed_column();
	test_tables();
	test_lines();
	test_file_lists();
	test_example();
	test_nets();
	test_names();
	test_log_stderr();
	test_redis();
	return done_testing();
}
