/* conf: backstop.conf, "Name value" per line, parsed once by one table of
 * {name, type, default, validator} into a const struct. Errors read "file:line: message". */
#ifndef BACKSTOP_CONF_H
#define BACKSTOP_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "cidr.h"

enum conf_err {
	CONF_OK = 0,
	CONF_ENOMEM = -1,	/* temporary */
	CONF_EIO = -2,		/* temporary: cannot read the file */
	CONF_ESYNTAX = -3,	/* permanent: a line does not parse */
	CONF_EUNKNOWN = -4,	/* permanent: unknown name */
	CONF_EVALUE = -5,	/* permanent: a value fails its validator */
	CONF_EMISSING = -6,	/* permanent: a required name is missing */
};

enum conf_action { CONF_REJECT, CONF_TEMPFAIL, CONF_ACCEPT, CONF_MARK };
enum conf_durability { CONF_DUR_SYNC, CONF_DUR_WRITE, CONF_DUR_NONE };
enum conf_decide { CONF_DECIDE_EOM, CONF_DECIDE_RCPT };
/* ReplayRedisFallback: what counts while Redis does not answer */
enum conf_fallback { CONF_FALLBACK_LOCAL, CONF_FALLBACK_OPEN, CONF_FALLBACK_TEMPFAIL };

struct conf_list {
	size_t n;
	char **v;
};

struct conf {
	char *path;			/* the file it came from */
	char *socket;
	char *map_socket;
	char *user_id;			/* NULL: stay as started */
	char *pid_file;			/* NULL: none */
	bool background;
	bool syslog;
	int syslog_facility;		/* LOG_MAIL ... */
	int log_level;			/* LOG_ERR ... LOG_DEBUG */
	char *key_directory;
	char *replay_database;		/* NULL when "none" */
	enum conf_durability durability;
	/* the shared store of several MX hosts (issue 16) */
	char *replay_redis;		/* ReplayRedis: unix:/path or host:port; NULL: none */
	char *replay_redis_user;	/* ReplayRedisUser; NULL: the default user */
	char *replay_redis_password_file; /* ReplayRedisPasswordFile; NULL: no AUTH */
	unsigned replay_redis_database;	/* ReplayRedisDatabase */
	char *replay_redis_prefix;	/* ReplayRedisPrefix */
	unsigned replay_redis_timeout;	/* ReplayRedisTimeout, ms */
	enum conf_fallback replay_redis_fallback;
	struct conf_list domains;
	struct cidr_list internal_hosts;
	char *outbound_daemon_name;
	unsigned tag_validity;
	unsigned max_bounces_per_tag;	/* 0: no limit */
	enum conf_action on_untagged, on_invalid, on_replay, on_internal_error;
	time_t tagging_since;		/* CONF_TAGGING_AUTO: the key store's creation time */
	bool dry_run;
	/* replies, receipts and auto-replies (the replies issue) */
	bool record_sent;		/* RecordSent */
	unsigned sent_retention;	/* SentRetention, days */
	time_t sent_since;		/* SentSince; CONF_SENT_AUTO: the store's own start */
	enum conf_action on_unknown_original, on_auto_reply;
	enum conf_decide untagged_bounce_decision;
	size_t bounce_scan_limit;	/* BounceScanLimit, bytes */
	struct conf_list exempt_senders, exempt_recipients, bounce_senders;
	char *srs_domain;		/* NULL: SRS off */
	char srs_separator;
	unsigned srs_hash_length, srs_hash_min, srs_max_age;
	time_t srs_hash_length_changed;	/* SRSHashLengthChanged; 0: none */
	time_t srs_hash_min_until;	/* a SRSHashMin under SRSHashLength holds until then */
	char *srs_legacy_secrets;	/* "file:PATH" of postsrsd secrets, or NULL */
	struct srs_legacy *srs_legacy;	/* read from it by conf_parse */
};

#define CONF_TAGGING_AUTO ((time_t)-1)
#define CONF_SENT_AUTO ((time_t)-1)

/* conf_load - read and check a file; on failure err holds "file:line: message" */
int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* conf_parse - parse text as if read from a file called name */
int conf_parse(const char *text, size_t len, const char *name, struct conf **out, char *err,
    size_t errlen) __attribute__((warn_unused_result));
/* conf_free - release a configuration */
void conf_free(struct conf *c);
/* conf_load_as - can uid/gid load path as a reload will (in a child that becomes them)? */
int conf_load_as(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Settings a running daemon cannot take over on a reload: it bound, switched to or opened
 * them at start. The restart-only column of conf.c's table gives each such setting its bit;
 * settings that take effect together share one. */
enum conf_fixed {
	CONF_FIXED_SOCKET = 1,		/* Socket */
	CONF_FIXED_MAP_SOCKET = 2,	/* MapSocket */
	CONF_FIXED_USER = 4,		/* UserID */
	CONF_FIXED_PID_FILE = 8,	/* PidFile */
	CONF_FIXED_STORE = 16,		/* ReplayDatabase, Durability, ReplayRedis* */
	CONF_FIXED_BACKGROUND = 32,	/* Background */
	CONF_FIXED_LOGGING = 64,	/* Syslog, SyslogFacility, LogLevel */
	CONF_FIXED_LAST = CONF_FIXED_LOGGING
};
/* conf_risks - settings that parse but are probably mistakes, as lines "Name ...: why" into
 * buf (each ending in a newline); returns how many */
unsigned conf_risks(const struct conf *c, time_t now, char *buf, size_t size);
/* conf_fixed_changes - which of the settings in the set which differ between a and b */
unsigned conf_fixed_changes(const struct conf *a, const struct conf *b, unsigned which);
/* conf_fixed_name - the setting names of one enum conf_fixed bit, for a log line */
const char *conf_fixed_name(unsigned bit);
/* conf_nets_contain - is the address (struct in_addr/in6_addr bytes) in the list? The
 * name older callers use for cidr_list_contains. */
static inline bool
conf_nets_contain(const struct cidr_list *nets, sa_family_t family, const void *addr)
{
	return cidr_list_contains(nets, family, addr);
}
/* conf_action_name - "reject", "tempfail", "accept", "mark" */
const char *conf_action_name(enum conf_action a);
/* conf_default_path - the compiled-in default configuration file */
const char *conf_default_path(void);
struct replay_options;
/* conf_replay_options - where the replay store is, as the settings say (ReplayDatabase,
 * Durability, ReplayRedis*), for replay_open_opts; pool: Redis connections at most */
void conf_replay_options(const struct conf *c, unsigned pool, struct replay_options *o);
/* conf_store_on - does the configuration keep a replay store (a directory, or Redis)? */
bool conf_store_on(const struct conf *c);
/* conf_strerror - text for a conf_err code */
const char *conf_strerror(int err);

#endif
