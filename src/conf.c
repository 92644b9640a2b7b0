/* conf: backstop.conf. One table of settings drives parsing, defaults and validation; the
 * result is a struct conf that callers only read. Nothing is logged here: a failure is a
 * conf_err code plus "file:line: message" in the caller's buffer. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "cidr.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "listenaddr.h"
#include "msgclass.h"
#include "replay.h"
#include "srs-legacy.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CONF_LINE_MAX 8192			/* bytes per line, CR LF excluded */
#define CONF_FILE_MAX (16 * 1024 * 1024)	/* the file and each file: list */
#define CONF_UNSIGNED_MAX 1000000u

enum conf_type {
	CT_STRING,	/* one word */
	CT_STRING_NONE,	/* one word; "none" stores NULL */
	CT_BOOL,
	CT_UNSIGNED,	/* decimal, between min and max */
	CT_LIST,	/* words separated by commas or blanks; file:/path reads more */
	CT_NETS,	/* a list of addresses and CIDR networks */
	CT_ACTION,
	CT_DURABILITY,
	CT_FACILITY,
	CT_LEVEL,
	CT_TIME,	/* auto, Unix seconds, or YYYY-MM-DD[THH:MM:SS] UTC */
	CT_TIME_NONE,	/* none (0), Unix seconds, or YYYY-MM-DD[THH:MM:SS] UTC */
	CT_CHAR,	/* one of = + - */
	CT_DECIDE,	/* eom or rcpt */
	CT_SIZE,	/* bytes, or with k (KiB) or M (MiB), between min and max bytes */
	CT_FALLBACK,	/* local, open or tempfail */
};

/* A validator returns NULL when the item is good (it may normalise it in place),
 * else the end of a sentence that starts with the quoted item. */
typedef const char *conf_check_fn(char *item);

struct conf_setting {
	const char *name;
	enum conf_type type;
	const char *def;	/* parsed like a value from the file; NULL: required */
	unsigned min, max;	/* CT_UNSIGNED and CT_SIZE only */
	conf_check_fn *check;	/* CT_STRING*, CT_LIST: each item; or NULL */
	size_t offset;		/* the field in struct conf */
	unsigned fixed;		/* its enum conf_fixed bit if only a restart applies it, else 0 */
};

struct conf_parser {
	struct conf *c;
	const char *file;	/* named in messages: the configuration or a file: list */
	unsigned line;
	bool in_list_file;
	unsigned *seen;		/* per setting: the line that set it, 0 if none */
	char *err;
	size_t errlen;
};

static conf_check_fn conf_check_domain, conf_check_domain_exact, conf_check_pattern,
    conf_check_milter_socket, conf_check_map_socket, conf_check_user, conf_check_redis,
    conf_check_abspath, conf_check_prefix;

#define F(field) offsetof(struct conf, field)

static const struct conf_setting conf_settings[] = {
	{ "Socket", CT_STRING, "inet:8891@127.0.0.1", 0, 0, conf_check_milter_socket, F(socket),
	    CONF_FIXED_SOCKET },
	{ "MapSocket", CT_STRING, "unix:/run/backstop/srs.sock", 0, 0, conf_check_map_socket,
	    F(map_socket), CONF_FIXED_MAP_SOCKET },
	{ "UserID", CT_STRING_NONE, "none", 0, 0, conf_check_user, F(user_id), CONF_FIXED_USER },
	{ "PidFile", CT_STRING_NONE, "none", 0, 0, NULL, F(pid_file), CONF_FIXED_PID_FILE },
	{ "Background", CT_BOOL, "yes", 0, 0, NULL, F(background), CONF_FIXED_BACKGROUND },
	{ "Syslog", CT_BOOL, "yes", 0, 0, NULL, F(syslog), CONF_FIXED_LOGGING },
	{ "SyslogFacility", CT_FACILITY, "mail", 0, 0, NULL, F(syslog_facility),
	    CONF_FIXED_LOGGING },
	{ "LogLevel", CT_LEVEL, "info", 0, 0, NULL, F(log_level), CONF_FIXED_LOGGING },
	{ "KeyDirectory", CT_STRING, SYSCONFDIR "/backstop/keys", 0, 0, NULL, F(key_directory), 0 },
	{ "ReplayDatabase", CT_STRING_NONE, LOCALSTATEDIR "/lib/backstop", 0, 0, NULL,
	    F(replay_database), CONF_FIXED_STORE },
	{ "Durability", CT_DURABILITY, "write", 0, 0, NULL, F(durability), CONF_FIXED_STORE },
	{ "ReplayRedis", CT_STRING_NONE, "none", 0, 0, conf_check_redis, F(replay_redis),
	    CONF_FIXED_STORE },
	{ "ReplayRedisUser", CT_STRING_NONE, "none", 0, 0, conf_check_user, F(replay_redis_user),
	    CONF_FIXED_STORE },
	{ "ReplayRedisPasswordFile", CT_STRING_NONE, "none", 0, 0, conf_check_abspath,
	    F(replay_redis_password_file), CONF_FIXED_STORE },
	{ "ReplayRedisDatabase", CT_UNSIGNED, "0", 0, 65535, NULL, F(replay_redis_database),
	    CONF_FIXED_STORE },
	{ "ReplayRedisPrefix", CT_STRING, "backstop:", 0, 0, conf_check_prefix,
	    F(replay_redis_prefix), CONF_FIXED_STORE },
	{ "ReplayRedisTimeout", CT_UNSIGNED, "250", 10, 60000, NULL, F(replay_redis_timeout),
	    CONF_FIXED_STORE },
	{ "ReplayRedisFallback", CT_FALLBACK, "local", 0, 0, NULL, F(replay_redis_fallback),
	    CONF_FIXED_STORE },
	{ "Domains", CT_LIST, NULL, 0, 0, conf_check_domain, F(domains), 0 },
	{ "InternalHosts", CT_NETS, "127.0.0.0/8, ::1", 0, 0, NULL, F(internal_hosts), 0 },
	{ "OutboundDaemonName", CT_STRING_NONE, "none", 0, 0, NULL, F(outbound_daemon_name), 0 },
	{ "TagValidity", CT_UNSIGNED, "7", 1, 365, NULL, F(tag_validity), 0 },
	{ "MaxBouncesPerTag", CT_UNSIGNED, "25", 0, CONF_UNSIGNED_MAX, NULL,
	    F(max_bounces_per_tag), 0 },
	{ "OnUntagged", CT_ACTION, "reject", 0, 0, NULL, F(on_untagged), 0 },
	{ "OnInvalid", CT_ACTION, "reject", 0, 0, NULL, F(on_invalid), 0 },
	{ "OnReplay", CT_ACTION, "reject", 0, 0, NULL, F(on_replay), 0 },
	{ "OnInternalError", CT_ACTION, "tempfail", 0, 0, NULL, F(on_internal_error), 0 },
	{ "TaggingSince", CT_TIME, "auto", 0, 0, NULL, F(tagging_since), 0 },
	{ "DryRun", CT_BOOL, "no", 0, 0, NULL, F(dry_run), 0 },
	{ "RecordSent", CT_BOOL, "yes", 0, 0, NULL, F(record_sent), 0 },
	{ "SentRetention", CT_UNSIGNED, "30", 1, 3650, NULL, F(sent_retention), 0 },
	{ "SentSince", CT_TIME, "auto", 0, 0, NULL, F(sent_since), 0 },
	{ "OnUnknownOriginal", CT_ACTION, "mark", 0, 0, NULL, F(on_unknown_original), 0 },
	{ "OnAutoReply", CT_ACTION, "mark", 0, 0, NULL, F(on_auto_reply), 0 },
	{ "UntaggedBounceDecision", CT_DECIDE, "eom", 0, 0, NULL, F(untagged_bounce_decision), 0 },
	/* "256k" is MSGCLASS_SCAN_DEFAULT (checked below) */
	{ "BounceScanLimit", CT_SIZE, "256k", 4096, 64u * 1024 * 1024, NULL, F(bounce_scan_limit),
	    0 },
	{ "ExemptSenders", CT_LIST, "", 0, 0, conf_check_pattern, F(exempt_senders), 0 },
	{ "ExemptRecipients", CT_LIST, "", 0, 0, conf_check_pattern, F(exempt_recipients), 0 },
	{ "BounceSenders", CT_LIST, "", 0, 0, conf_check_pattern, F(bounce_senders), 0 },
	{ "SRSDomain", CT_STRING_NONE, "none", 0, 0, conf_check_domain_exact, F(srs_domain), 0 },
	{ "SRSSeparator", CT_CHAR, "=", 0, 0, NULL, F(srs_separator), 0 },
	{ "SRSHashLength", CT_UNSIGNED, "5", 4, 32, NULL, F(srs_hash_length), 0 },
	/* the default is SRSHashLength's value (conf_check_srs): "5" is that default's */
	{ "SRSHashMin", CT_UNSIGNED, "5", 1, 32, NULL, F(srs_hash_min), 0 },
	{ "SRSHashLengthChanged", CT_TIME_NONE, "none", 0, 0, NULL, F(srs_hash_length_changed), 0 },
	{ "SRSMaxAge", CT_UNSIGNED, "21", 1, 1023, NULL, F(srs_max_age), 0 },
	{ "SRSLegacySecrets", CT_STRING_NONE, "none", 0, 0, NULL, F(srs_legacy_secrets), 0 },
};

#define CONF_NSETTINGS (sizeof(conf_settings) / sizeof(conf_settings[0]))

static const char *const conf_action_names[] = { "reject", "tempfail", "accept", "mark" };
static const char *const conf_durability_names[] = { "sync", "write", "none" };
static const char *const conf_decide_names[] = { "eom", "rcpt" };
static const char *const conf_fallback_names[] = { "local", "open", "tempfail" };

_Static_assert(MSGCLASS_SCAN_DEFAULT == 256 * 1024, "BounceScanLimit's default is 256k");
/* SentSince and TaggingSince share conf_set_time's "auto" */
_Static_assert(CONF_SENT_AUTO == CONF_TAGGING_AUTO, "one auto value for CT_TIME");

/* ---- errors ---- */

static int __attribute__((format(printf, 3, 4)))
conf_fail(struct conf_parser *p, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->err == NULL || p->errlen == 0)
		return code;
	if (p->line > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return code;
}

const char *
conf_strerror(int err)
{
	switch (err) {
	case CONF_OK: return "success";
	case CONF_ENOMEM: return "out of memory";
	case CONF_EIO: return "cannot read the configuration";
	case CONF_ESYNTAX: return "syntax error in the configuration";
	case CONF_EUNKNOWN: return "unknown setting in the configuration";
	case CONF_EVALUE: return "bad value in the configuration";
	case CONF_EMISSING: return "required setting missing from the configuration";
	default: return "unknown configuration error";
	}
}

const char *
conf_action_name(enum conf_action a)
{
	if ((unsigned)a >= sizeof(conf_action_names) / sizeof(conf_action_names[0]))
		return "unknown";
	return conf_action_names[a];
}

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/backstop/backstop.conf";
}

/* ---- validators ---- */

static bool
conf_is_label_char(int ch)
{
	return isascii(ch) && (isalnum(ch) || ch == '-');
}

/* A DNS name of letters, digits and hyphens; lowercased in place. */
static bool
conf_domain_ok(char *d)
{
	size_t label = 0, total = strlen(d);
	char *s;

	if (total == 0 || total > 255)
		return false;
	for (s = d; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0 || s[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!conf_is_label_char((unsigned char)*s) || (label == 0 && *s == '-'))
			return false;
		if (++label > 63)
			return false;
		*s = addr_lower(*s);
	}
	return label > 0 && s[-1] != '-';
}

static const char *
conf_check_domain_exact(char *item)
{
	return conf_domain_ok(item) ? NULL : "is not a domain name";
}

static const char *
conf_check_domain(char *item)
{
	return conf_domain_ok(item[0] == '.' ? item + 1 : item) ? NULL :
	    "is not a domain name (or .domain for its subdomains)";
}

/* "user@domain", "domain", ".domain" or "user@*", as addr_match takes them. */
static const char *
conf_check_pattern(char *item)
{
	static const char why[] = "is not an address pattern (user@domain, domain, .domain, user@*)";
	char *at = strrchr(item, '@'), *dom = item, copy[256];
	const char *s;

	if (at != NULL) {
		if (at == item)
			return why;
		for (s = item; s < at; s++)
			if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>')
				return why;
		dom = at + 1;
		if (strcmp(dom, "*") == 0)
			return NULL;
	}
	if (strlen(dom) >= sizeof(copy))
		return why;
	strcpy(copy, dom[0] == '.' ? dom + 1 : dom);
	return conf_domain_ok(copy) ? NULL : why;
}

static bool
conf_port_ok(const char *s)
{
	char *end;
	unsigned long port;

	if (*s == '\0')
		return false;
	if (!isdigit((unsigned char)*s)) {
		for (; *s != '\0'; s++)
			if (!conf_is_label_char((unsigned char)*s))
				return false;
		return true;	/* a service name */
	}
	errno = 0;
	port = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

/* libmilter's syntax: {unix|local}:/path, inet:port[@host], inet6:port[@host], or /path. */
static const char *
conf_check_milter_socket(char *item)
{
	static const char why[] = "is not a milter socket (unix:/path, inet:port@host, "
	    "inet6:port@host)";
	char port[64], *at;
	const char *rest;

	if (item[0] == '/')
		return NULL;
	if (strncasecmp(item, "unix:", 5) == 0 || strncasecmp(item, "local:", 6) == 0)
		return strchr(item, ':')[1] == '/' ? NULL : why;
	if (strncasecmp(item, "inet:", 5) == 0)
		rest = item + 5;
	else if (strncasecmp(item, "inet6:", 6) == 0)
		rest = item + 6;
	else
		return why;
	snprintf(port, sizeof(port), "%s", rest);
	at = strchr(port, '@');
	if (at != NULL) {
		if (at[1] == '\0')
			return why;
		*at = '\0';
	}
	return conf_port_ok(port) ? NULL : why;
}

/* srs-rewrite's listener, in the map server's own grammar (one parser, so -n and serve
 * agree); a host name is checked for form here and resolved only when serve binds. */
static const char *
conf_check_map_socket(char *item)
{
	switch (listenaddr_check(item)) {
	case LISTENADDR_OK:
		return NULL;
	case LISTENADDR_EMODE:
		return "is not a socket: the mode must be 4 octal digits like 0660";
	default:
		return "is not a socket (unix:/path[:0660], inet:host:port, inet:[v6addr]:port)";
	}
}

static bool
conf_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || strchr("._-$", s[i]) != NULL))
			return false;
	return true;
}

/* user[:group], names or numeric ids. */
static const char *
conf_check_user(char *item)
{
	const char *colon = strchr(item, ':');

	if (colon == NULL)
		return conf_name_ok(item, strlen(item)) ? NULL : "is not user[:group]";
	return conf_name_ok(item, (size_t)(colon - item)) && conf_name_ok(colon + 1,
	    strlen(colon + 1)) ? NULL : "is not user[:group]";
}

/* The Redis server: unix:/path, host:port or [v6addr]:port (replay-redis.c reads the same). */
static const char *
conf_check_redis(char *item)
{
	static const char why[] = "is not a Redis server (unix:/path, host:port, [v6addr]:port)";
	const char *colon = strrchr(item, ':');
	char port[8];

	if (strncmp(item, "unix:", 5) == 0)
		return item[5] == '/' ? NULL : why;
	if (colon == NULL || colon == item || strlen(colon + 1) >= sizeof(port) ||
	    !isdigit((unsigned char)colon[1]))
		return why;
	strcpy(port, colon + 1);
	if (!conf_port_ok(port))
		return why;
	if (item[0] == '[')
		return colon[-1] == ']' && colon - item > 2 ? NULL : why;
	return memchr(item, ':', (size_t)(colon - item)) == NULL ? NULL : why;
}

static const char *
conf_check_abspath(char *item)
{
	return item[0] == '/' ? NULL : "is not an absolute path";
}

/* Key names stay plain: no blanks, no glob characters (SCAN MATCH takes the prefix). */
static const char *
conf_check_prefix(char *item)
{
	size_t i, n = strlen(item);

	for (i = 0; i < n; i++)
		if (!isascii((unsigned char)item[i]) ||
		    !(isalnum((unsigned char)item[i]) || strchr("._:-", item[i]) != NULL))
			break;
	return n >= 1 && n <= 64 && i == n ? NULL :
	    "is not 1 to 64 letters, digits or . _ : -";
}

/* ---- scalar types ---- */

static int
conf_word(const char *const *names, size_t n, const char *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(names[i], value) == 0)
			return (int)i;
	return -1;
}

static int
conf_set_bool(struct conf_parser *p, const struct conf_setting *s, const char *v, bool *out)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };
	int i = conf_word(words, 8, v);

	if (i < 0)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not yes or no", s->name, v);
	*out = (i % 2) == 1;
	return CONF_OK;
}

static int
conf_set_unsigned(struct conf_parser *p, const struct conf_setting *s, const char *v,
    unsigned *out)
{
	unsigned long n = 0;
	const char *c;

	for (c = v; *c != '\0'; c++) {
		if (!isdigit((unsigned char)*c))
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not a number", s->name, v);
		if (n <= CONF_UNSIGNED_MAX)
			n = n * 10 + (unsigned long)(*c - '0');
	}
	if (n < s->min || n > s->max)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not between %u and %u", s->name, v,
		    s->min, s->max);
	*out = (unsigned)n;
	return CONF_OK;
}

static int
conf_set_enum(struct conf_parser *p, const struct conf_setting *s, const char *v, int *out)
{
	int i;

	if (s->type == CT_ACTION) {
		i = conf_word(conf_action_names, 4, v);
		if (i < 0)
			return conf_fail(p, CONF_EVALUE,
			    "%s: '%s' is not reject, tempfail, accept or mark", s->name, v);
	} else if (s->type == CT_FALLBACK) {
		i = conf_word(conf_fallback_names, 3, v);
		if (i < 0)
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not local, open or tempfail",
			    s->name, v);
	} else if (s->type == CT_DECIDE) {
		i = conf_word(conf_decide_names, 2, v);
		if (i < 0)
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not eom or rcpt", s->name, v);
	} else {
		i = conf_word(conf_durability_names, 3, v);
		if (i < 0)
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not sync, write or none",
			    s->name, v);
	}
	*out = i;
	return CONF_OK;
}

/* conf_size_text - a byte count as the file would write it: 64M, 4k or 300000 */
static const char *
conf_size_text(unsigned n, char *buf, size_t size)
{
	if (n != 0 && n % (1024u * 1024) == 0)
		snprintf(buf, size, "%uM", n / (1024u * 1024));
	else if (n != 0 && n % 1024 == 0)
		snprintf(buf, size, "%uk", n / 1024);
	else
		snprintf(buf, size, "%u", n);
	return buf;
}

static int
conf_set_size(struct conf_parser *p, const struct conf_setting *s, const char *v, size_t *out)
{
	unsigned long long n = 0, unit = 1;
	char lo[16], hi[16];
	const char *c;

	for (c = v; isdigit((unsigned char)*c); c++)
		if (n <= s->max)
			n = n * 10 + (unsigned long long)(*c - '0');
	if (*c == 'k' || *c == 'K')
		unit = 1024, c++;
	else if (*c == 'M')
		unit = 1024 * 1024, c++;
	if (!isdigit((unsigned char)v[0]) || *c != '\0')
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not a size (bytes, or with k or M: "
		    "256k)", s->name, v);
	n *= unit;
	if (n < s->min || n > s->max)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not between %s and %s", s->name, v,
		    conf_size_text(s->min, lo, sizeof(lo)), conf_size_text(s->max, hi, sizeof(hi)));
	*out = (size_t)n;
	return CONF_OK;
}

static int
conf_set_syslog(struct conf_parser *p, const struct conf_setting *s, const char *v, int *out)
{
	int n;

	if (s->type == CT_FACILITY) {
		n = log_facility_parse(v);
		if (n < 0)
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not a syslog facility "
			    "(mail, daemon, user, auth, authpriv, local0 ... local7)", s->name, v);
	} else {
		n = log_level_parse(v);
		if (n < 0)
			return conf_fail(p, CONF_EVALUE, "%s: '%s' is not a log level "
			    "(err, warning, notice, info, debug)", s->name, v);
	}
	*out = n;
	return CONF_OK;
}

static int
conf_set_char(struct conf_parser *p, const struct conf_setting *s, const char *v, char *out)
{
	if (strlen(v) != 1 || strchr("=+-", v[0]) == NULL)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not one of = + -", s->name, v);
	*out = v[0];
	return CONF_OK;
}

static int
conf_set_string(struct conf_parser *p, const struct conf_setting *s, char *v, char **out)
{
	const char *why;

	free(*out);
	*out = NULL;
	if (s->type == CT_STRING_NONE && strcasecmp(v, "none") == 0)
		return CONF_OK;
	if (s->check != NULL && (why = s->check(v)) != NULL)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' %s", s->name, v, why);
	*out = strdup(v);
	return *out == NULL ? conf_fail(p, CONF_ENOMEM, "out of memory") : CONF_OK;
}

/* ---- time ---- */

/* n decimal digits at s, or -1 */
static long
conf_digits(const char *s, int n)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (y >= 1970). */
static long
conf_days_from_civil(long y, long m, long d)
{
	long yoe, doy, doe;

	y -= m <= 2;
	yoe = y % 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (y / 400) * 146097 + doe - 719468;
}

static bool
conf_parse_date(const char *v, time_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long y, m, d, hh = 0, mm = 0, ss = 0;
	size_t len = strlen(v);
	bool leap;

	if (len != 10 && len != 19 && !(len == 20 && v[19] == 'Z'))
		return false;
	y = conf_digits(v, 4), m = conf_digits(v + 5, 2), d = conf_digits(v + 8, 2);
	if (v[4] != '-' || v[7] != '-' || y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return false;
	if (len > 10) {
		if (v[10] != 'T' || v[13] != ':' || v[16] != ':')
			return false;
		hh = conf_digits(v + 11, 2), mm = conf_digits(v + 14, 2);
		ss = conf_digits(v + 17, 2);
		if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
			return false;
	}
	*out = (time_t)(conf_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss);
	return true;
}

static int
conf_set_time(struct conf_parser *p, const struct conf_setting *s, const char *v, time_t *out)
{
	const char *c;
	long long n = 0;

	const char *word = s->type == CT_TIME ? "auto" : "none";

	if (strcasecmp(v, word) == 0) {
		*out = s->type == CT_TIME ? CONF_TAGGING_AUTO : 0;
		return CONF_OK;
	}
	if (conf_parse_date(v, out))
		return CONF_OK;
	for (c = v; isdigit((unsigned char)*c) && n <= 253402300799LL; c++)
		n = n * 10 + (*c - '0');
	if (c == v || *c != '\0' || n > 253402300799LL)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not %s, a Unix time or a date "
		    "YYYY-MM-DD[THH:MM:SS]", s->name, v, word);
	*out = (time_t)n;
	return CONF_OK;
}

/* ---- lists ---- */

/* Grow v (elements of size) so that one more fits after n: capacities are powers of two. */
static int
conf_grow(void **v, size_t n, size_t size)
{
	void *nv;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0;
	if (n > SIZE_MAX / 2 / size)
		return -1;
	nv = realloc(*v, (n == 0 ? 1 : 2 * n) * size);
	if (nv == NULL)
		return -1;
	*v = nv;
	return 0;
}

static int
conf_list_add(struct conf_parser *p, const struct conf_setting *s, char *item,
    struct conf_list *l)
{
	const char *why;
	void *v = l->v;

	if (s->check != NULL && (why = s->check(item)) != NULL)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' %s", s->name, item, why);
	if (conf_grow(&v, l->n, sizeof(*l->v)) < 0)
		return conf_fail(p, CONF_ENOMEM, "out of memory");
	l->v = v;
	l->v[l->n] = strdup(item);
	if (l->v[l->n] == NULL)
		return conf_fail(p, CONF_ENOMEM, "out of memory");
	l->n++;
	return CONF_OK;
}

static int
conf_nets_add(struct conf_parser *p, const struct conf_setting *s, const char *item,
    struct cidr_list *nets)
{
	int rc = cidr_list_add(nets, item);

	if (rc == CIDR_ENOMEM)
		return conf_fail(p, CONF_ENOMEM, "out of memory");
	if (rc != CIDR_OK)
		return conf_fail(p, CONF_EVALUE, "%s: '%s' is not an address or network "
		    "(192.0.2.0/24, 2001:db8::/32)", s->name, item);
	return CONF_OK;
}

static int conf_list_file(struct conf_parser *p, const struct conf_setting *s, const char *path,
    void *field);

/* One item of a list: a file: reference, an address network or a word. */
static int
conf_list_item(struct conf_parser *p, const struct conf_setting *s, char *item, void *field)
{
	if (strncmp(item, "file:", 5) == 0) {
		if (p->in_list_file)
			return conf_fail(p, CONF_EVALUE, "%s: '%s': file: lists do not nest",
			    s->name, item);
		return conf_list_file(p, s, item + 5, field);
	}
	if (s->type == CT_NETS)
		return conf_nets_add(p, s, item, field);
	return conf_list_add(p, s, item, field);
}

static int
conf_list_items(struct conf_parser *p, const struct conf_setting *s, char *value, void *field)
{
	char *item, *save = NULL;
	int rc;

	for (item = strtok_r(value, ", \t", &save); item != NULL;
	    item = strtok_r(NULL, ", \t", &save))
		if ((rc = conf_list_item(p, s, item, field)) != CONF_OK)
			return rc;
	return CONF_OK;
}

static int
conf_set_list(struct conf_parser *p, const struct conf_setting *s, char *value, void *field)
{
	if (strcasecmp(value, "none") == 0)
		value[0] = '\0';
	if (value[strspn(value, ", \t")] == '\0')
		return s->def == NULL ?
		    conf_fail(p, CONF_EVALUE, "%s: needs at least one value", s->name) : CONF_OK;
	return conf_list_items(p, s, value, field);
}

/* ---- lines ---- */

typedef int conf_line_fn(struct conf_parser *p, char *line, const void *arg, void *field);

/* Cut a comment ('#' first on the line or after a blank) and the blanks around the text. */
static char *
conf_trim(char *s)
{
	char *c, *end;

	for (c = s; *c != '\0'; c++)
		if (*c == '#' && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = '\0';
			break;
		}
	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Check one raw line and copy it, NUL-terminated, into buf. */
static int
conf_line_copy(struct conf_parser *p, const char *text, size_t n, char *buf)
{
	size_t i;

	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n > CONF_LINE_MAX)
		return conf_fail(p, CONF_ESYNTAX, "line longer than %d bytes", CONF_LINE_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\0')
			return conf_fail(p, CONF_ESYNTAX, "NUL byte in line");
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return conf_fail(p, CONF_ESYNTAX, "control character 0x%02x in line", ch);
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	return CONF_OK;
}

/* Call fn for every line of text that is not blank or a comment. */
static int
conf_lines(struct conf_parser *p, const char *text, size_t len, conf_line_fn *fn,
    const void *arg, void *field)
{
	char *buf = malloc(CONF_LINE_MAX + 1), *line;
	const char *nl;
	size_t pos = 0, n;
	int rc = CONF_OK;

	if (buf == NULL)
		return conf_fail(p, CONF_ENOMEM, "out of memory");
	for (p->line = 1; pos < len && rc == CONF_OK; p->line++) {
		nl = memchr(text + pos, '\n', len - pos);
		n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		rc = conf_line_copy(p, text + pos, n, buf);
		pos += n + 1;
		if (rc != CONF_OK)
			break;
		line = conf_trim(buf);
		if (*line != '\0')
			rc = fn(p, line, arg, field);
	}
	free(buf);
	return rc;
}

/* Read a whole file (at most CONF_FILE_MAX bytes) into a malloc'ed buffer. */
static int
conf_read(const char *path, char **text, size_t *len, const char **why)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, saved, rc = CONF_EIO;

	*why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return CONF_EIO;
	for (;;) {
		if (buf == NULL || n == cap) {
			if (buf != NULL)
				cap *= 2;
			if (cap > CONF_FILE_MAX + 1) {
				*why = "file larger than 16 MiB";
				goto fail;
			}
			if ((nb = realloc(buf, cap)) == NULL) {
				rc = CONF_ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*text = buf;
	*len = n;
	return CONF_OK;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return rc;
}

static int
conf_list_file_line(struct conf_parser *p, char *line, const void *arg, void *field)
{
	return conf_list_items(p, arg, line, field);
}

/* file:/path, relative to the configuration file's directory when not absolute. */
static int
conf_list_file(struct conf_parser *p, const struct conf_setting *s, const char *path,
    void *field)
{
	char *full = NULL, *text = NULL;
	const char *slash = strrchr(p->file, '/'), *why, *saved_file = p->file;
	unsigned saved_line = p->line;
	size_t len;
	int rc, e;

	if (*path == '\0')
		return conf_fail(p, CONF_EVALUE, "%s: file: needs a path", s->name);
	if (path[0] != '/' && slash != NULL &&
	    asprintf(&full, "%.*s/%s", (int)(slash - p->file), p->file, path) < 0)
		return conf_fail(p, CONF_ENOMEM, "out of memory");
	rc = conf_read(full != NULL ? full : path, &text, &len, &why);
	e = errno;
	if (rc != CONF_OK) {
		rc = conf_fail(p, rc, "%s: cannot read '%s': %s", s->name,
		    full != NULL ? full : path, why != NULL ? why : strerror(e));
		goto out;
	}
	p->file = full != NULL ? full : path;
	p->in_list_file = true;
	rc = conf_lines(p, text, len, conf_list_file_line, s, field);
	p->in_list_file = false;
	p->file = saved_file;
	p->line = saved_line;
out:
	free(text);
	free(full);
	return rc;
}

/* ---- settings ---- */

static int
conf_set(struct conf_parser *p, const struct conf_setting *s, char *value)
{
	void *field = (char *)p->c + s->offset;

	if (s->type == CT_LIST || s->type == CT_NETS)
		return conf_set_list(p, s, value, field);
	if (*value == '\0')
		return conf_fail(p, CONF_EVALUE, "%s: missing value", s->name);
	if (value[strcspn(value, " \t")] != '\0')
		return conf_fail(p, CONF_EVALUE, "%s: takes one value, not '%s'", s->name, value);
	switch (s->type) {
	case CT_STRING:
	case CT_STRING_NONE: return conf_set_string(p, s, value, field);
	case CT_BOOL: return conf_set_bool(p, s, value, field);
	case CT_UNSIGNED: return conf_set_unsigned(p, s, value, field);
	case CT_ACTION:
	case CT_DURABILITY:
	case CT_FALLBACK:
	case CT_DECIDE: return conf_set_enum(p, s, value, field);
	case CT_SIZE: return conf_set_size(p, s, value, field);
	case CT_FACILITY:
	case CT_LEVEL: return conf_set_syslog(p, s, value, field);
	case CT_TIME:
	case CT_TIME_NONE: return conf_set_time(p, s, value, field);
	case CT_CHAR: return conf_set_char(p, s, value, field);
	default: return conf_fail(p, CONF_EVALUE, "%s: internal error: bad type", s->name);
	}
}

static int
conf_setting_line(struct conf_parser *p, char *line, const void *arg, void *field)
{
	size_t namelen = strcspn(line, " \t"), i;
	char *value = line + namelen;

	(void)arg, (void)field;
	value += strspn(value, " \t");
	line[namelen] = '\0';
	for (i = 0; i < CONF_NSETTINGS; i++)
		if (strcasecmp(conf_settings[i].name, line) == 0)
			break;
	if (i == CONF_NSETTINGS)
		return conf_fail(p, CONF_EUNKNOWN, "unknown setting '%s'", line);
	if (p->seen[i] != 0)
		return conf_fail(p, CONF_ESYNTAX, "%s set twice (first at line %u)",
		    conf_settings[i].name, p->seen[i]);
	p->seen[i] = p->line;
	return conf_set(p, &conf_settings[i], value);
}

/* Settings the file did not name get their defaults; a required one is an error. */
static int
conf_defaults(struct conf_parser *p)
{
	char *value;
	size_t i;
	int rc;

	p->line = 0;
	for (i = 0; i < CONF_NSETTINGS; i++) {
		const struct conf_setting *s = &conf_settings[i];

		if (p->seen[i] != 0)
			continue;
		if (s->def == NULL)
			return conf_fail(p, CONF_EMISSING, "%s is required", s->name);
		if ((value = strdup(s->def)) == NULL)
			return conf_fail(p, CONF_ENOMEM, "out of memory");
		rc = conf_set(p, s, value);
		free(value);
		if (rc != CONF_OK)
			return rc;
	}
	return CONF_OK;
}

static size_t
conf_index(const char *name)
{
	size_t i;

	for (i = 0; i < CONF_NSETTINGS; i++)
		if (strcmp(conf_settings[i].name, name) == 0)
			break;
	return i;
}

/* SRSHashMin defaults to SRSHashLength. A shorter minimum is forgeable by enumeration (4
 * characters fell in 123,587 tries) and only ever served addresses signed under an older,
 * shorter SRSHashLength, which live SRSMaxAge days: so it needs the day of that change, and
 * srs_reverse stops applying it after those days (srs_hash_min_until). */
static int
conf_check_srs(struct conf_parser *p)
{
	struct conf *c = p->c;
	size_t min = conf_index("SRSHashMin"), len = conf_index("SRSHashLength");

	p->line = p->seen[min] != 0 ? p->seen[min] : p->seen[len];
	if (p->seen[min] == 0)
		c->srs_hash_min = c->srs_hash_length;
	if (c->srs_hash_min > c->srs_hash_length)
		return conf_fail(p, CONF_EVALUE, "SRSHashMin: '%u' is more than SRSHashLength (%u)",
		    c->srs_hash_min, c->srs_hash_length);
	if (c->srs_hash_min == c->srs_hash_length)
		return CONF_OK;
	if (c->srs_hash_length_changed == 0)
		return conf_fail(p, CONF_EVALUE, "SRSHashMin: '%u' is less than SRSHashLength (%u): "
		    "a shorter hash is forgeable by enumeration, and only hashes of an older "
		    "SRSHashLength need it: set SRSHashLengthChanged to the day SRSHashLength changed "
		    "(it then applies for SRSMaxAge days), or remove SRSHashMin", c->srs_hash_min,
		    c->srs_hash_length);
	c->srs_hash_min_until = ((time_t)clock_day(c->srs_hash_length_changed) +
	    (time_t)c->srs_max_age + 1) * CLOCK_DAY;
	return CONF_OK;
}

/* SRSDomain listed in Domains (postsrsd's usual default): the milter takes every recipient
 * there for an SRS address, so the bounce to a valid prvs tag of our users would be refused
 * as untagged. A .domain entry that covers SRSDomain is left alone: nobody sends from it. */
static int
conf_check_srs_domain(struct conf_parser *p)
{
	const struct conf *c = p->c;
	size_t i;

	for (i = 0; c->srs_domain != NULL && i < c->domains.n; i++)
		if (strcmp(c->domains.v[i], c->srs_domain) == 0)
			break;
	if (c->srs_domain == NULL || i == c->domains.n)
		return CONF_OK;
	p->line = p->seen[conf_index("SRSDomain")];
	return conf_fail(p, CONF_EVALUE, "SRSDomain: '%s' is in Domains (line %u): prvs tags to "
	    "it would be read as SRS addresses and refused as untagged; give SRS a domain of its "
	    "own (srs.%s)", c->srs_domain, p->seen[conf_index("Domains")], c->srs_domain);
}

/* Checks that involve more than one setting. */
static int
conf_check_all(struct conf_parser *p)
{
	int rc = conf_check_srs(p);

	if (rc == CONF_OK)
		rc = conf_check_srs_domain(p);
	return rc;
}

/* conf_legacy - read SRSLegacySecrets now, so that -n and a reload report a bad file */
static int
conf_legacy(struct conf_parser *p)
{
	char why[400];
	int rc;

	if (p->c->srs_legacy_secrets == NULL)
		return CONF_OK;
	p->line = p->seen[conf_index("SRSLegacySecrets")];
	if (p->c->srs_domain == NULL)
		return conf_fail(p, CONF_EVALUE, "SRSLegacySecrets: needs SRSDomain, the domain "
		    "postsrsd signed for (its -d)");
	rc = srs_legacy_load(p->c->srs_legacy_secrets, p->file, &p->c->srs_legacy, why,
	    sizeof(why));
	if (rc == SRS_LEGACY_OK)
		return CONF_OK;
	return conf_fail(p, rc == SRS_LEGACY_ENOMEM ? CONF_ENOMEM : CONF_EVALUE,
	    "SRSLegacySecrets: %s", why);
}

int
conf_parse(const char *text, size_t len, const char *name, struct conf **out, char *err,
    size_t errlen)
{
	unsigned seen[CONF_NSETTINGS] = { 0 };
	struct conf_parser p = { .file = name, .seen = seen, .err = err, .errlen = errlen };
	int rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		p.file = name = "(configuration)";
	if ((p.c = calloc(1, sizeof(*p.c))) == NULL || (p.c->path = strdup(name)) == NULL) {
		rc = conf_fail(&p, CONF_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = conf_lines(&p, text, len, conf_setting_line, NULL, NULL)) != CONF_OK)
		goto fail;
	if ((rc = conf_defaults(&p)) != CONF_OK || (rc = conf_check_all(&p)) != CONF_OK)
		goto fail;
	if ((rc = conf_legacy(&p)) != CONF_OK)
		goto fail;
	*out = p.c;
	return CONF_OK;
fail:
	conf_free(p.c);
	return rc;
}

int
conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	struct conf_parser p = { .file = path, .err = err, .errlen = errlen };
	const char *why;
	char *text = NULL;
	size_t len = 0;
	int rc, e;

	*out = NULL;
	rc = conf_read(path, &text, &len, &why);
	e = errno;
	if (rc != CONF_OK)
		return conf_fail(&p, rc, "cannot read: %s", why != NULL ? why : strerror(e));
	rc = conf_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

static void
conf_list_free(struct conf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CONF_NSETTINGS; i++) {
		void *field = (char *)c + conf_settings[i].offset;

		switch (conf_settings[i].type) {
		case CT_STRING:
		case CT_STRING_NONE: free(*(char **)field); break;
		case CT_LIST: conf_list_free(field); break;
		case CT_NETS: cidr_list_free(field); break;
		default: break;
		}
	}
	srs_legacy_free(c->srs_legacy);
	free(c->path);
	free(c);
}

static bool
conf_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool
conf_list_differs(const struct conf_list *a, const struct conf_list *b)
{
	size_t i;

	if (a->n != b->n)
		return true;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return true;
	return false;
}

/* conf_field_differs - does the field of setting s hold different values in a and b? */
static bool
conf_field_differs(const struct conf_setting *s, const struct conf *a, const struct conf *b)
{
	const void *fa = (const char *)a + s->offset, *fb = (const char *)b + s->offset;

	switch (s->type) {
	case CT_STRING:
	case CT_STRING_NONE:
		return conf_str_differs(*(char *const *)fa, *(char *const *)fb);
	case CT_BOOL: return *(const bool *)fa != *(const bool *)fb;
	case CT_UNSIGNED: return *(const unsigned *)fa != *(const unsigned *)fb;
	case CT_ACTION:
	case CT_DURABILITY:
	case CT_FALLBACK:
	case CT_DECIDE:
	case CT_FACILITY:
	case CT_LEVEL: return *(const int *)fa != *(const int *)fb;
	case CT_SIZE: return *(const size_t *)fa != *(const size_t *)fb;
	case CT_TIME:
	case CT_TIME_NONE: return *(const time_t *)fa != *(const time_t *)fb;
	case CT_CHAR: return *(const char *)fa != *(const char *)fb;
	case CT_LIST: return conf_list_differs(fa, fb);
	case CT_NETS: return !cidr_list_equal(fa, fb);
	}
	return true;
}

/* The restart-only column of the table says which settings to compare. */
unsigned
conf_fixed_changes(const struct conf *a, const struct conf *b, unsigned which)
{
	unsigned d = 0;
	size_t i;

	for (i = 0; i < CONF_NSETTINGS; i++) {
		const struct conf_setting *s = &conf_settings[i];

		if ((s->fixed & which) != 0 && (d & s->fixed) == 0 && conf_field_differs(s, a, b))
			d |= s->fixed;
	}
	return d;
}

const char *
conf_fixed_name(unsigned bit)
{
	switch (bit) {
	case CONF_FIXED_SOCKET: return "Socket";
	case CONF_FIXED_MAP_SOCKET: return "MapSocket";
	case CONF_FIXED_USER: return "UserID";
	case CONF_FIXED_PID_FILE: return "PidFile";
	case CONF_FIXED_STORE: return "ReplayDatabase, Durability or a ReplayRedis setting";
	case CONF_FIXED_BACKGROUND: return "Background";
	case CONF_FIXED_LOGGING: return "Syslog, SyslogFacility or LogLevel";
	}
	return "a setting";
}

/* conf_risk_add - one more line of conf_risks into buf */
static unsigned __attribute__((format(printf, 3, 4)))
conf_risk_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return 1;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	used = strlen(buf);
	if (used + 1 < size)
		strcat(buf, "\n");
	return 1;
}

/* A SRSHashMin under SRSHashLength whose days are over, or not begun: it does nothing. */
static unsigned
conf_risks_srs_min(const struct conf *c, time_t now, char *buf, size_t size)
{
	char day[16];
	time_t t = c->srs_hash_min_until;
	struct tm tm;

	if (c->srs_domain == NULL || c->srs_hash_min >= c->srs_hash_length)
		return 0;
	if (c->srs_hash_length_changed > now)
		return conf_risk_add(buf, size, "SRSHashLengthChanged is in the future: SRSHashMin "
		    "%u does not apply (it covers the SRSMaxAge days after a change that happened)",
		    c->srs_hash_min);
	if (now < t)
		return 0;
	if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
		snprintf(day, sizeof(day), "@%lld", (long long)t);
	return conf_risk_add(buf, size, "SRSHashMin %u has not applied since %s (SRSMaxAge days "
	    "after SRSHashLengthChanged): hashes shorter than SRSHashLength (%u) are refused; "
	    "remove SRSHashMin and SRSHashLengthChanged", c->srs_hash_min, day,
	    c->srs_hash_length);
}

/* conf_loopback - is ss a loopback address (127/8, ::1, or 127/8 mapped into IPv6)? */
static bool
conf_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const uint8_t *b = s6->sin6_addr.s6_addr;

	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
	    (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127);
}

/* conf_risks_sockets - sockets that other users or other hosts can reach: the maps answer
 * whoever asks (an SRS relay address minted, a prvs tag tested), and so does the milter */
static unsigned
conf_risks_sockets(const struct conf *c, char *buf, size_t size)
{
	struct listenaddr a;
	const char *host;
	unsigned n = 0;

	if (c->map_socket != NULL && listenaddr_parse(c->map_socket, &a) == LISTENADDR_OK) {
		if (a.family == AF_UNIX && (a.mode & 0007) != 0)
			n += conf_risk_add(buf, size, "MapSocket mode %04o lets every local user ask "
			    "the maps (mint SRS addresses, test prvs tags): use 0660 and put the MTA's "
			    "user in UserID's group", (unsigned)a.mode);
		else if (a.family != AF_UNIX && !conf_loopback(&a.ss))
			n += conf_risk_add(buf, size, "MapSocket %s is reachable from other hosts: "
			    "the maps answer whoever asks; listen on loopback or a unix socket",
			    c->map_socket);
	}
	if (c->socket != NULL && strncmp(c->socket, "inet", 4) == 0) {
		host = strchr(c->socket, '@');
		if (host == NULL || strcmp(host + 1, "0.0.0.0") == 0 || strcmp(host + 1, "::") == 0 ||
		    strcmp(host + 1, "*") == 0)
			n += conf_risk_add(buf, size, "Socket %s listens on every interface: the "
			    "milter is for the MTA only; give a loopback address (inet:8891@127.0.0.1)",
			    c->socket);
	}
	return n;
}

/* conf_risks_lists - a BounceSenders or ExemptSenders item that matches every sender */
static unsigned
conf_risks_lists(const struct conf *c, char *buf, size_t size)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < c->bounce_senders.n; i++)
		if (strcmp(c->bounce_senders.v[i], "*@*") == 0)
			n += conf_risk_add(buf, size, "BounceSenders *@*: every message counts as a "
			    "bounce, so all inbound mail to an untagged address is judged as backscatter");
	for (i = 0; i < c->exempt_senders.n; i++)
		if (strcmp(c->exempt_senders.v[i], "*@*") == 0)
			n += conf_risk_add(buf, size, "ExemptSenders *@*: no sender is ever signed, so "
			    "every real bounce is refused once TaggingSince's window ends");
	return n;
}

/* conf_risks_no_record - without a sent record no reference is ever known: an OnAutoReply
 * that refuses takes every auto-reply and read receipt, and OnUnknownOriginal never applies */
static unsigned
conf_risks_no_record(const struct conf *c, char *buf, size_t size)
{
	const char *why = c->record_sent ? "ReplayDatabase none" : "RecordSent no";
	const char *ar = conf_action_name(c->on_auto_reply);
	unsigned n = 0;

	if (c->on_auto_reply == CONF_REJECT || c->on_auto_reply == CONF_TEMPFAIL)
		n += conf_risk_add(buf, size, "%s: no reference is ever known, so OnAutoReply %s "
		    "refuses every auto-reply, and every null-sender read receipt or out-of-office "
		    "reply to an untagged address, the real ones too; keep OnAutoReply mark", why,
		    ar);
	if (c->on_unknown_original == CONF_REJECT || c->on_unknown_original == CONF_TEMPFAIL)
		n += conf_risk_add(buf, size, "%s: OnUnknownOriginal %s never applies (without a "
		    "sent record no returned original is unknown)", why,
		    conf_action_name(c->on_unknown_original));
	return n;
}

/* conf_risks_replies - the replies settings: the sent record and what it decides */
static unsigned
conf_risks_replies(const struct conf *c, time_t now, char *buf, size_t size)
{
	unsigned n = 0;

	if (!c->record_sent || (c->replay_database == NULL && c->replay_redis == NULL))
		return conf_risks_no_record(c, buf, size);
	if (c->replay_redis == NULL &&
	    (c->on_unknown_original == CONF_REJECT || c->on_unknown_original == CONF_TEMPFAIL))
		n += conf_risk_add(buf, size, "OnUnknownOriginal %s: right only when every outbound "
		    "host records into one store; a real bounce of mail that left through a host "
		    "with another store is refused", conf_action_name(c->on_unknown_original));
	if (c->on_unknown_original != CONF_ACCEPT && c->sent_retention < c->tag_validity)
		n += conf_risk_add(buf, size, "SentRetention %u is shorter than TagValidity (%u): "
		    "a real bounce to a tag still valid, of mail sent more than %u days ago, finds "
		    "no record and gets OnUnknownOriginal", c->sent_retention, c->tag_validity,
		    c->sent_retention);
	if (c->sent_since != CONF_SENT_AUTO && c->sent_since > now)
		n += conf_risk_add(buf, size, "SentSince is in the future: references the sent "
		    "record does not know count as absent until %u days after it",
		    c->sent_retention);
	return n;
}

unsigned
conf_risks(const struct conf *c, time_t now, char *buf, size_t size)
{
	unsigned n = 0;
	size_t i;

	if (size == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < c->internal_hosts.n; i++)
		if (c->internal_hosts.v[i].prefix == 0)
			n += conf_risk_add(buf, size, "InternalHosts has a /0 network: every client is "
			    "internal, so all mail counts as outbound and no bounce is checked");
	if (c->srs_domain != NULL && c->srs_hash_min < 4)
		n += conf_risk_add(buf, size, "SRSHashMin %u: a forged SRS address passes 1 time in "
		    "2^%u; keep 4 or more", c->srs_hash_min, 5 * c->srs_hash_min);
	n += conf_risks_srs_min(c, now, buf, size);
	n += conf_risks_sockets(c, buf, size);
	n += conf_risks_lists(c, buf, size);
	if (c->tagging_since != CONF_TAGGING_AUTO && c->tagging_since > now)
		n += conf_risk_add(buf, size, "TaggingSince is in the future: untagged bounces are "
		    "accepted until %u days after it", c->tag_validity);
	n += conf_risks_replies(c, now, buf, size);
	if (c->replay_redis != NULL && c->replay_database == NULL &&
	    c->replay_redis_fallback == CONF_FALLBACK_LOCAL)
		n += conf_risk_add(buf, size, "ReplayRedisFallback local with ReplayDatabase none: "
		    "there is no local store to count in while Redis is away; name a directory, or "
		    "choose open or tempfail");
	return n;
}

/* conf_load_check - the check conf_load_as runs as the daemons' user */
static int
conf_load_check(const void *arg, char *why, size_t whylen)
{
	struct conf *c;
	int rc = conf_load(arg, &c, why, whylen);

	if (rc == CONF_OK)
		conf_free(c);
	return rc;
}

int
conf_load_as(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	return daemon_check_as(uid, gid, conf_load_check, path, CONF_EIO, err, errlen);
}

void
conf_replay_options(const struct conf *c, unsigned pool, struct replay_options *o)
{
	memset(o, 0, sizeof(*o));
	o->dir = c->replay_database;
	o->dur = c->durability == CONF_DUR_SYNC ? REPLAY_DUR_SYNC :
	    c->durability == CONF_DUR_NONE ? REPLAY_DUR_NONE : REPLAY_DUR_WRITE;
	o->redis = c->replay_redis;
	o->redis_user = c->replay_redis_user;
	o->redis_password_file = c->replay_redis_password_file;
	o->redis_database = c->replay_redis_database;
	o->redis_prefix = c->replay_redis_prefix;
	o->redis_timeout_ms = c->replay_redis_timeout;
	o->redis_pool = pool;
	o->redis_fallback_local = c->replay_redis_fallback == CONF_FALLBACK_LOCAL;
}

bool
conf_store_on(const struct conf *c)
{
	return c->replay_database != NULL || c->replay_redis != NULL;
}
