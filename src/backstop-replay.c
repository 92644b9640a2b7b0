/* backstop-replay: the admin tool of the replay store (stats, list, show, forget, sent, expire,
 * and verify/salvage for a damaged database file).
 * Runs beside the milter on the same environment, but for salvage, which the store's lock file
 * refuses while any process has the store open; when started as root it becomes the owner
 * of ReplayDatabase first, so no file there ever ends up root's. With ReplayRedis set it works
 * on Redis (stats, list through SCAN, show, forget, sent). Exit: 0 ok, 1 failure, 2 usage. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "msgclass.h"
#include "replay.h"

#define EXIT_USAGE 2
#define PROG "backstop-replay"

struct replay_ctx {
	const char *conf_path;
	struct conf *conf;
	struct replay *r;
	enum replay_durability dur;
	time_t now;
	const char *addr;	/* show, forget; sent: the Message-ID */
	bool over_limit;	/* list --over-limit */
	unsigned long limit;	/* list --limit N; 0: all */
	unsigned long shown;
};

struct replay_cmd {
	const char *name;
	const char *arg;	/* what its one argument is ("an address"), or NULL: none */
	bool list_opts;
	bool no_open;		/* works on the files itself: the store may not open */
	int (*run)(struct replay_ctx *x);
};

static void
replay_usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] COMMAND [ARGS]\n"
	    "       " PROG " -h | -V\n"
	    "commands:\n"
	    "  stats                          records, bounces counted, tags over the limit,\n"
	    "                                 oldest and newest, sent records, file sizes\n"
	    "  list [--over-limit] [--limit N]  one line per tagged address\n"
	    "  show ADDR                      the record of one tagged address\n"
	    "  forget ADDR                    remove the record of ADDR (after a false positive)\n"
	    "  sent MSGID                     the sent record of one Message-ID (<id@host> or bare)\n"
	    "  expire                         remove every expired record now\n"
	    "  verify                         check the database file (exit 1: damaged)\n"
	    "  salvage                        rebuild the store from the records still readable,\n"
	    "                                 keeping the damaged file aside (milter stopped)\n"
	    "The configuration file defaults to %s.\n", conf_default_path());
}

static int __attribute__((format(printf, 1, 2)))
replay_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try " PROG " -h)\n");
	return EXIT_USAGE;
}

static int __attribute__((format(printf, 1, 2)))
replay_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_FAILURE;
}

/* replay_time - "2025-11-26T19:00:00Z", or "-" for 0 */
static const char *
replay_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *
replay_day(long day, char *buf, size_t size)
{
	time_t t = (time_t)day * CLOCK_DAY;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(buf, size, "%ld", day);
	else
		strftime(buf, size, "%Y-%m-%d", &tm);
	return buf;
}

/* replay_where - the store, for messages: the Redis server or the directory */
static const char *
replay_where(const struct replay_ctx *x)
{
	return x->conf->replay_redis != NULL ? x->conf->replay_redis : x->conf->replay_database;
}

static bool
replay_over(const struct replay_ctx *x, uint32_t count)
{
	unsigned max = x->conf->max_bounces_per_tag;

	return max > 0 && count >= max;
}

static int
replay_cmd_stats(struct replay_ctx *x)
{
	struct replay_stats st;
	char a[32], b[32];
	int rc;

	rc = replay_stats(x->r, x->now, x->conf->max_bounces_per_tag, &st);
	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", replay_where(x), replay_strerror(rc));
	if (x->conf->replay_redis != NULL)
		printf("store:              redis %s (prefix %s)\n", x->conf->replay_redis,
		    x->conf->replay_redis_prefix);
	else
		printf("directory:          %s\n", x->conf->replay_database);
	printf("records:            %" PRIu64 "\n", st.records);
	printf("bounces counted:    %" PRIu64 "\n", st.bounces);
	if (x->conf->max_bounces_per_tag > 0)
		printf("over the limit:     %" PRIu64 " (MaxBouncesPerTag %u)\n", st.over_limit,
		    x->conf->max_bounces_per_tag);
	else
		printf("over the limit:     0 (MaxBouncesPerTag 0: no limit)\n");
	printf("expired:            %" PRIu64 "\n", st.expired);
	printf("oldest first seen:  %s\n", replay_time(st.oldest, a, sizeof(a)));
	printf("newest last seen:   %s\n", replay_time(st.newest, b, sizeof(b)));
	printf("sent records:       %" PRIu64 "\n", st.sent_records);
	printf("sent since:         %s\n", replay_time(st.sent_since, a, sizeof(a)));
	if (x->conf->replay_redis != NULL)
		return EXIT_SUCCESS;	/* no files: Redis's INFO memory tells the size */
	printf("database file:      %" PRIu64 " bytes\n", st.db_bytes);
	printf("log files:          %u, %" PRIu64 " bytes\n", st.log_files, st.log_bytes);
	printf("environment files:  %" PRIu64 " bytes\n", st.env_bytes);
	return EXIT_SUCCESS;
}

/* The id is hashed as given: the milter normalises it (RFC 5322 3.6.4) before it records, so
 * give it as the milter logs it. */
static int
replay_cmd_sent(struct replay_ctx *x)
{
	struct replay_sent s;
	char id[MSGCLASS_ID_MAX + 1];
	/* as the log prints it (<id@host>) or bare: normalised as the milter records it */
	const char *key = msgclass_msgid(x->addr, strlen(x->addr), id, sizeof(id)) > 0 ? id :
	    x->addr;
	char a[32], d[16];
	int rc = replay_sent_get(x->r, key, x->now, &s);

	if (rc == REPLAY_ENOTFOUND)
		return replay_fail("%s: no record (not sent from here, or expired)", x->addr);
	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", x->addr, replay_strerror(rc));
	printf("message-id:  %s\n", x->addr);
	printf("sender:      %s\n", s.sender);
	printf("sent:        %s\n", replay_time(s.sent, a, sizeof(a)));
	printf("recipients:  %" PRIu32 "\n", s.rcpts);
	printf("answers:     %" PRIu32 "\n", s.answers);
	printf("expires:     %s\n", replay_day(s.expiry_day, d, sizeof(d)));
	return EXIT_SUCCESS;
}

static void
replay_print_line(const char *addr, const struct replay_entry *e)
{
	char a[32], b[32], d[16];

	printf("%6" PRIu32 "  %s  %s  %s  %s\n", e->count, replay_time(e->first_seen, a, sizeof(a)),
	    replay_time(e->last_seen, b, sizeof(b)), replay_day(e->expiry_day, d, sizeof(d)), addr);
}

static int
replay_list_one(const char *addr, const struct replay_entry *e, void *arg)
{
	struct replay_ctx *x = arg;

	if (x->over_limit && !replay_over(x, e->count))
		return 0;
	replay_print_line(addr, e);
	x->shown++;
	return x->limit > 0 && x->shown >= x->limit;
}

static int
replay_cmd_list(struct replay_ctx *x)
{
	int rc;

	printf("%6s  %-20s  %-20s  %-10s  %s\n", "count", "first seen", "last seen", "expires",
	    "address");
	rc = replay_iterate(x->r, replay_list_one, x);
	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", replay_where(x), replay_strerror(rc));
	return EXIT_SUCCESS;
}

static int
replay_cmd_show(struct replay_ctx *x)
{
	struct replay_entry e;
	char a[32], d[16];
	int rc = replay_get(x->r, x->addr, &e);

	if (rc == REPLAY_ENOTFOUND)
		return replay_fail("%s: no record (no bounce counted)", x->addr);
	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", x->addr, replay_strerror(rc));
	printf("address:     %s\n", x->addr);
	printf("count:       %" PRIu32, e.count);
	if (x->conf->max_bounces_per_tag > 0)
		printf(" of %u%s", x->conf->max_bounces_per_tag,
		    replay_over(x, e.count) ? " (limit reached: further bounces are replays)" : "");
	printf("\nfirst seen:  %s\n", replay_time(e.first_seen, a, sizeof(a)));
	printf("last seen:   %s\n", replay_time(e.last_seen, a, sizeof(a)));
	printf("expires:     %s%s\n", replay_day(e.expiry_day, d, sizeof(d)),
	    clock_day(x->now) > e.expiry_day ? " (expired)" : "");
	return EXIT_SUCCESS;
}

static int
replay_cmd_forget(struct replay_ctx *x)
{
	int rc = replay_forget(x->r, x->addr);

	if (rc == REPLAY_ENOTFOUND)
		return replay_fail("%s: no record to forget", x->addr);
	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", x->addr, replay_strerror(rc));
	printf("forgot %s\n", x->addr);
	return EXIT_SUCCESS;
}

static int
replay_cmd_expire(struct replay_ctx *x)
{
	uint64_t removed;
	int rc = replay_expire(x->r, x->now, &removed);

	if (rc != REPLAY_OK)
		return replay_fail("%s: %s", replay_where(x), replay_strerror(rc));
	printf("removed %" PRIu64 " expired record%s\n", removed, removed == 1 ? "" : "s");
	return EXIT_SUCCESS;
}

static int
replay_cmd_verify(struct replay_ctx *x)
{
	char why[1024] = "";
	int rc = replay_verify(x->conf->replay_database, why, sizeof(why));

	if (rc == REPLAY_ENOTFOUND) {
		printf("%s: no database file yet: nothing to check\n", x->conf->replay_database);
		return EXIT_SUCCESS;
	}
	if (rc == REPLAY_ECORRUPT)
		return replay_fail("%s; keep the milter stopped (or let it answer OnInternalError) "
		    "and run " PROG " salvage", why);
	if (rc != REPLAY_OK)
		return replay_fail("%s", why[0] != '\0' ? why : replay_strerror(rc));
	printf("%s/replay.db: OK\n", x->conf->replay_database);
	return EXIT_SUCCESS;
}

static int
replay_cmd_salvage(struct replay_ctx *x)
{
	char why[1024] = "", aside[4200];
	uint64_t saved;
	int rc = replay_salvage(x->conf->replay_database, clock_now(), x->dur, aside,
	    sizeof(aside), &saved, why, sizeof(why));

	if (rc != REPLAY_OK)
		return replay_fail("%s", why[0] != '\0' ? why : replay_strerror(rc));
	printf("salvaged %" PRIu64 " record%s into %s/replay.db; the damaged file is kept as %s\n",
	    saved, saved == 1 ? "" : "s", x->conf->replay_database, aside);
	/* the lock was free, so a milter now running is one that could not open the old file */
	printf("no process had the store open; a backstop-milter running without it opens it on "
	    "SIGUSR1, or by itself within a minute\n");
	return EXIT_SUCCESS;
}

static const struct replay_cmd replay_cmds[] = {
	{"stats", NULL, false, false, replay_cmd_stats},
	{"list", NULL, true, false, replay_cmd_list},
	{"show", "an address", false, false, replay_cmd_show},
	{"forget", "an address", false, false, replay_cmd_forget},
	{"sent", "a Message-ID", false, false, replay_cmd_sent},
	{"expire", NULL, false, false, replay_cmd_expire},
	{"verify", NULL, false, true, replay_cmd_verify},
	{"salvage", NULL, false, true, replay_cmd_salvage},
};

static const struct replay_cmd *
replay_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(replay_cmds) / sizeof(replay_cmds[0]); i++)
		if (strcmp(replay_cmds[i].name, name) == 0)
			return &replay_cmds[i];
	return NULL;
}

static int
replay_number(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	*out = strtoul(s, &end, 10);
	return errno != 0 || *end != '\0' || *out == 0 ? -1 : 0;
}

/* replay_args - the command's own arguments; 0 or an exit code */
static int
replay_args(struct replay_ctx *x, const struct replay_cmd *c, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (c->list_opts && strcmp(argv[i], "--over-limit") == 0) {
			x->over_limit = true;
		} else if (c->list_opts && strcmp(argv[i], "--limit") == 0) {
			if (i + 1 >= argc || replay_number(argv[++i], &x->limit) != 0)
				return replay_bad_usage("--limit needs a positive number");
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return replay_bad_usage("unknown option %s for %s", argv[i], c->name);
		} else if (c->arg != NULL && x->addr == NULL) {
			x->addr = argv[i];
		} else {
			return replay_bad_usage("unexpected argument %s for %s", argv[i], c->name);
		}
	}
	if (c->arg != NULL && x->addr == NULL)
		return replay_bad_usage("%s needs %s", c->name, c->arg);
	return 0;
}

/* replay_become_owner - as root, take the identity of the directory's owner */
static int
replay_become_owner(const char *dir)
{
	struct stat st;
	int rc;

	if (geteuid() != 0 || stat(dir, &st) != 0 || st.st_uid == 0)
		return 0;
	if ((rc = daemon_drop(st.st_uid, st.st_gid)) != DAEMON_OK)
		return replay_fail("%s: cannot become its owner (uid %lu): %s", dir,
		    (unsigned long)st.st_uid, daemon_strerror(rc));
	return 0;
}

/* replay_store_check - is there a store this command works on? 0 or an exit code */
static int
replay_store_check(const struct replay_ctx *x, const struct replay_cmd *c)
{
	if (x->conf->replay_redis != NULL && c->no_open)
		return replay_fail("%s: %s checks Berkeley DB files, and the store is Redis "
		    "(ReplayRedis %s): Redis keeps its own files", x->conf_path, c->name,
		    x->conf->replay_redis);
	if (x->conf->replay_redis == NULL && x->conf->replay_database == NULL)
		return replay_fail("%s: ReplayDatabase is none: replay tracking is disabled",
		    x->conf_path);
	return 0;
}

/* replay_open_conf - open the store the configuration names: Redis, or the directory */
static int
replay_open_conf(struct replay_ctx *x, char *err, size_t errlen)
{
	const struct conf *cf = x->conf;
	struct replay_options o;

	memset(&o, 0, sizeof(o));
	o.dir = cf->replay_database;
	o.dur = x->dur;
	o.redis = cf->replay_redis;
	o.redis_user = cf->replay_redis_user;
	o.redis_password_file = cf->replay_redis_password_file;
	o.redis_database = cf->replay_redis_database;
	o.redis_prefix = cf->replay_redis_prefix;
	o.redis_timeout_ms = cf->replay_redis_timeout;
	o.redis_pool = 1;
	return replay_open_opts(&o, &x->r, err, errlen);
}

static int
replay_run(struct replay_ctx *x, const struct replay_cmd *c)
{
	struct replay_options o;
	char err[1024];
	int rc;

	if (conf_load(x->conf_path, &x->conf, err, sizeof(err)) != CONF_OK)
		return replay_fail("%s", err);
	if ((rc = replay_store_check(x, c)) != 0)
		goto done;
	if (x->conf->replay_redis == NULL &&
	    (rc = replay_become_owner(x->conf->replay_database)) != 0)
		goto done;
	conf_replay_options(x->conf, 1, &o);
	x->dur = o.dur;
	x->now = clock_now();
	if (c->no_open) {
		rc = c->run(x);
		goto done;
	}
	rc = replay_open_conf(x, err, sizeof(err));
	if (rc != REPLAY_OK) {
		rc = replay_fail("%s", err[0] != '\0' ? err : replay_strerror(rc));
		goto done;
	}
	rc = c->run(x);
	replay_close(x->r);
done:
	conf_free(x->conf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct replay_ctx x = {0};
	const struct replay_cmd *c;
	int opt, rc;

	x.conf_path = conf_default_path();
	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c': x.conf_path = optarg; break;
		case 'h': replay_usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("%s\n", PACKAGE_STRING); return EXIT_SUCCESS;
		default: replay_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return replay_bad_usage("no command");
	if ((c = replay_find(argv[optind])) == NULL)
		return replay_bad_usage("unknown command %s", argv[optind]);
	if ((rc = replay_args(&x, c, argc - optind - 1, argv + optind + 1)) != 0)
		return rc;
	rc = replay_run(&x, c);
	if (fflush(stdout) != 0 || ferror(stdout))
		return replay_fail("cannot write the output: %s", strerror(errno));
	return rc;
}
