/* log: one line per call, to syslog or to stderr as "ident[pid]: level: message".
 * log_open runs once in main before any thread starts; log_msg is then thread-safe:
 * it only reads that state and emits each line with a single syslog() or write(2). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#define LOG_LINE_MAX 2048

static struct {
	bool use_syslog;
	int level;
	char ident[64];
} log_state = { false, LOG_INFO, "backstop" };

struct log_name {
	const char *name;
	int value;
};

static const struct log_name log_levels[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
	{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
	{ "warn", LOG_WARNING }, { "notice", LOG_NOTICE }, { "info", LOG_INFO },
	{ "debug", LOG_DEBUG }, { NULL, -1 },
};

static const struct log_name log_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 }, { NULL, -1 },
};

/* Names printed on stderr, indexed by priority. */
static const char *const log_prio_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

static int
log_lookup(const struct log_name *table, const char *name)
{
	if (name == NULL)
		return -1;
	for (; table->name != NULL; table++)
		if (strcasecmp(table->name, name) == 0)
			return table->value;
	return -1;
}

int
log_facility_parse(const char *name)
{
	return log_lookup(log_facilities, name);
}

int
log_level_parse(const char *name)
{
	return log_lookup(log_levels, name);
}

void
log_open(const char *ident, bool use_syslog, int facility, int level)
{
	snprintf(log_state.ident, sizeof(log_state.ident), "%s", ident ? ident : "backstop");
	log_state.use_syslog = use_syslog;
	log_state.level = level < LOG_EMERG ? LOG_EMERG : level > LOG_DEBUG ? LOG_DEBUG : level;
	if (use_syslog)
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, facility);
}

/* Control characters (an address from the network may hold a CR or LF) become '?'
 * so that one call is always one line. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void
log_stderr(int prio, const char *msg)
{
	char line[LOG_LINE_MAX + 128];
	int n;

	n = snprintf(line, sizeof(line) - 1, "%s[%ld]: %s: %s", log_state.ident, (long)getpid(),
	    log_prio_names[prio], msg);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	prio &= LOG_PRIMASK;
	if (prio > log_state.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_sanitize(msg);
	if (log_state.use_syslog)
		syslog(prio, "%s", msg);
	else
		log_stderr(prio, msg);
}

void
log_restart_needed(unsigned changes, const char *path)
{
	unsigned bit;

	for (bit = 1; bit <= CONF_FIXED_LAST; bit <<= 1)
		if ((changes & bit) != 0)
			log_msg(LOG_WARNING, "%s changed in %s: it takes effect at restart",
			    conf_fixed_name(bit), path);
}

void
log_warnings(const char *prog, bool to_stderr, const char *path, const char *text)
{
	const char *p = text, *nl;
	int len;

	for (; *p != '\0'; p = *nl == '\n' ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		len = (int)(nl - p);
		if (len == 0)
			continue;
		if (to_stderr)
			fprintf(stderr, "%s: warning: %s: %.*s\n", prog, path, len, p);
		else
			log_msg(LOG_WARNING, "%s: %.*s", path, len, p);
	}
}
