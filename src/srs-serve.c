/* srs-serve: "srs-rewrite serve" answers Postfix socketmap (prvs, and forward/reverse when
 * SRSDomain is set) or, with --tcp-table, postsrsd 1.x's two tcp: maps (SRS only). Order: bind,
 * detach, pid file, drop privileges, start the workers; the main thread then only waits for
 * signals (SIGUSR1 reloads the configuration and keys) and key changes. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "keyring.h"
#include "keywatch.h"
#include "log.h"
#include "listenaddr.h"
#include "lookup.h"
#include "mapcodec.h"
#include "mapserver.h"
#include "policy.h"
#include "prvs.h"
#include "srs-serve.h"
#include "srs.h"

#define PROG "srs-rewrite"
#define EXIT_USAGE 2

struct serve_opts {
	bool tcp_table;
	bool foreground;
	bool check;		/* -n: check the configuration and keys, then exit */
	unsigned idle_s;
	unsigned request_s;
	unsigned max_conns;
	unsigned max_peer;
	unsigned threads;
};

#define SERVE_SLOTS_MAX 64	/* worker threads, at most (mapserver caps them there) */

/* A configuration snapshot; workers hold a reference until a reload bumps the generation. */
struct serve_cfg {
	atomic_uint refs;
	struct conf *conf;
	struct srs_params params;	/* points into conf */
};

/* A worker's key and configuration snapshot (see serve_batch_begin). */
struct serve_slot {
	struct keyring *kr;
	struct serve_cfg *cfg;
	unsigned gen;
	time_t now;
};

struct serve {
	const char *conf_path;
	struct conf *conf;		/* the start-up configuration: sockets, user, pid file */
	struct serve_cfg *boot;		/* owns conf */
	struct serve_cfg *cfg;		/* the current one (cfg_lock; only main writes it) */
	pthread_mutex_t cfg_lock;
	bool tcp_table;
	bool use_syslog;
	bool check;			/* -n: errors on stderr only, as "srs-rewrite: message" */
	struct keyring_holder *keys;	/* the current snapshot */
	atomic_uint gen;		/* bumped after each reload */
	pthread_mutex_t slots_lock;	/* guards slots, nslots */
	struct serve_slot *slots[SERVE_SLOTS_MAX];
	unsigned nslots;
	struct mapserver *ms;
	struct keywatch *watch;
	uid_t uid;
	gid_t gid;
	bool pid_written;
};

static void __attribute__((format(printf, 2, 3)))
serve_fail(const struct serve *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!s->check)
		log_msg(LOG_ERR, "%s", msg);
	if (s->use_syslog || s->check)
		fprintf(stderr, "%s: %s\n", PROG, msg);
}

/* ---- configuration snapshots ---- */

static struct serve_cfg *
serve_cfg_new(struct conf *c)
{
	struct serve_cfg *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	atomic_init(&cfg->refs, 1);
	cfg->conf = c;
	policy_srs_params(c, &cfg->params);
	return cfg;
}

static void
serve_cfg_put(struct serve_cfg *cfg)
{
	if (cfg == NULL || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	conf_free(cfg->conf);
	free(cfg);
}

/* serve_cfg_get - a new reference to the current configuration */
static struct serve_cfg *
serve_cfg_get(struct serve *s)
{
	struct serve_cfg *cfg;

	pthread_mutex_lock(&s->cfg_lock);
	cfg = s->cfg;
	atomic_fetch_add(&cfg->refs, 1);
	pthread_mutex_unlock(&s->cfg_lock);
	return cfg;
}

/* serve_maps - which maps answer, for the logs and -n */
static const char *
serve_maps(const struct serve_cfg *cfg, bool tcp_table)
{
	if (tcp_table)
		return "maps: forward, reverse (tcp_table)";
	if (cfg->params.domain == NULL)
		return "maps: prvs; forward and reverse answer NOTFOUND (SRS is off: no SRSDomain)";
	return "maps: prvs, forward, reverse";
}

/* ---- the lookup: runs in the worker threads ---- */

/* Each worker keeps a reference to the snapshot it last took and takes the holder's
 * again only when a reload has bumped the generation: no lock and no shared reference
 * count on the path of every request. A batch shares that snapshot and one clock reading. */
static _Thread_local struct serve_slot *serve_tl_slot;

static struct serve_slot *
serve_slot_get(struct serve *s)
{
	struct serve_slot *sl = serve_tl_slot;

	if (sl != NULL)
		return sl;
	sl = calloc(1, sizeof(*sl));
	if (sl == NULL)
		return NULL;
	pthread_mutex_lock(&s->slots_lock);
	if (s->nslots < SERVE_SLOTS_MAX) {
		s->slots[s->nslots++] = sl;
		serve_tl_slot = sl;
	}
	pthread_mutex_unlock(&s->slots_lock);
	if (serve_tl_slot != sl) {
		free(sl);
		return NULL;
	}
	return sl;
}

static void *
serve_batch_begin(void *ctx)
{
	struct serve *s = ctx;
	struct serve_slot *sl = serve_slot_get(s);
	unsigned gen = atomic_load_explicit(&s->gen, memory_order_acquire);

	if (sl == NULL)
		return NULL;	/* the lookup answers TEMP */
	if (sl->kr == NULL || sl->gen != gen) {
		keyring_unref(sl->kr);
		serve_cfg_put(sl->cfg);
		sl->kr = keyring_holder_get(s->keys);
		sl->cfg = serve_cfg_get(s);
		sl->gen = gen;
	}
	sl->now = clock_now();
	return sl;
}

/* serve_note - log what lookup_answer says to: the prvs tags Postfix will refuse (in the
 * milter's terms), and each reverse by postsrsd's hash */
static void
serve_note(const struct lookup_log *lg)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];

	switch (lg->note) {
	case LOOKUP_NOTE_NONE:
		return;
	case LOOKUP_NOTE_PRVS_REFUSED:
		addr_format(&lg->key, a, sizeof(a));
		log_msg(LOG_NOTICE, "prvs map: to=<%s> verdict=%s action=notfound: "
		    "not a tag of ours, the MTA refuses it as an unknown recipient", a,
		    prvs_verdict_name(lg->verdict));
		return;
	case LOOKUP_NOTE_PRVS_DRYRUN:
		addr_format(&lg->key, a, sizeof(a));
		log_msg(LOG_NOTICE, "prvs map: to=<%s> verdict=%s action=accept (DryRun: would be "
		    "notfound, and the MTA would refuse it as an unknown recipient)", a,
		    prvs_verdict_name(lg->verdict));
		return;
	case LOOKUP_NOTE_LEGACY:
		addr_format(&lg->key, a, sizeof(a));
		addr_format(&lg->result, b, sizeof(b));
		log_msg(LOG_INFO, "reverse <%s> to <%s>: legacy postsrsd hash", a, b);
		return;
	}
}

static enum mapcodec_status
serve_lookup(void *ctx, void *batch, const char *map, const char *key, char *out,
    size_t outsize)
{
	const struct serve_slot *b = batch;
	struct lookup_env env;
	struct lookup_log lg;
	enum mapcodec_status st;

	(void)ctx;
	if (b != NULL) {
		env.kr = b->kr;
		env.conf = b->cfg->conf;
		env.srs = &b->cfg->params;
		env.now = b->now;
	}
	st = lookup_answer(b != NULL ? &env : NULL, map, key, out, outsize, &lg);
	serve_note(&lg);
	return st;
}

/* ---- start-up ---- */

void
srs_serve_options(FILE *fp)
{
	fprintf(fp,
	    "  --tcp-table          postsrsd 1.x tcp: maps (SRS only): forward on MapSocket's\n"
	    "                       port, reverse on the next (default: socketmap on MapSocket,\n"
	    "                       maps prvs, and forward, reverse when SRSDomain is set)\n"
	    "  -f                   stay in the foreground (overrides Background)\n"
	    "  -n                   check the configuration, the key store and MapSocket,\n"
	    "                       then exit 0 (good) or 1\n"
	    "  --idle-timeout SEC   close connections idle this long between requests\n"
	    "                       (default %u)\n"
	    "  --request-timeout SEC  close a connection whose request is not complete SEC\n"
	    "                       after its first byte (default %u)\n"
	    "  --max-connections N  close new connections beyond N at once (default %u)\n"
	    "  --max-peer-connections N  at most N of them from one uid (unix socket) or one\n"
	    "                       address (inet) (default: half of --max-connections)\n"
	    "  --threads N          worker threads (default: one per two CPUs, at least one)\n",
	    MAPSERVER_IDLE_MS / 1000, MAPSERVER_REQUEST_MS / 1000, MAPSERVER_CONN_MAX);
}

static int
serve_usage(FILE *fp, int rc)
{
	fprintf(fp, "usage: %s [-c FILE] serve [--tcp-table] [-fn] [--idle-timeout SEC]\n"
	    "           [--request-timeout SEC] [--max-connections N]\n"
	    "           [--max-peer-connections N] [--threads N]\n", PROG);
	srs_serve_options(fp);
	return rc;
}

static bool
parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > max || s[0] == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

static const struct option serve_longopts[] = {
	{ "tcp-table", no_argument, NULL, 't' },
	{ "idle-timeout", required_argument, NULL, 'i' },
	{ "max-connections", required_argument, NULL, 'm' },
	{ "request-timeout", required_argument, NULL, 'r' },
	{ "max-peer-connections", required_argument, NULL, 'p' },
	{ "threads", required_argument, NULL, 'T' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* serve_args - parse the options after "serve"; -1 to go on, else an exit status */
static int
serve_args(int argc, char **argv, struct serve_opts *o)
{
	int ch;
	bool okv = true;

	optind = 0;	/* glibc: full re-initialisation after main's getopt */
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "+fnh", serve_longopts, NULL)) != -1) {
		switch (ch) {
		case 't': o->tcp_table = true; break;
		case 'f': o->foreground = true; break;
		case 'n': o->check = true; break;
		case 'i': okv = parse_uint(optarg, 86400, &o->idle_s); break;
		case 'm': okv = parse_uint(optarg, 1000000, &o->max_conns); break;
		case 'r': okv = parse_uint(optarg, 3600, &o->request_s); break;
		case 'p': okv = parse_uint(optarg, 1000000, &o->max_peer); break;
		case 'T': okv = parse_uint(optarg, 64, &o->threads); break;
		case 'h': return serve_usage(stdout, EXIT_SUCCESS);
		default: return serve_usage(stderr, EXIT_USAGE);
		}
		if (!okv) {
			fprintf(stderr, "%s: serve: bad number '%s'\n", PROG, optarg);
			return serve_usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: serve: unexpected argument '%s'\n", PROG, argv[optind]);
		return serve_usage(stderr, EXIT_USAGE);
	}
	return -1;
}

/* The port after MapSocket's, for the reverse tcp: map (postsrsd's 10001/10002 pair). */
/* The text of a tcp_table MapSocket that does not fit: -n's and the start's. */
#define SERVE_TCP_NEEDS_INET "--tcp-table needs inet:host:port with a port below 65535 " \
	"(reverse is served on the next port; postsrsd used inet:127.0.0.1:10001)"

static bool
tcp_reverse_spec(const char *fwd, char *out, size_t size)
{
	const char *colon = strrchr(fwd, ':');
	unsigned long port;
	char *end;

	if (strncmp(fwd, "inet", 4) != 0 || colon == NULL)
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port >= 65535)
		return false;
	snprintf(out, size, "%.*s:%lu", (int)(colon - fwd), fwd, port + 1);
	return true;
}

/* serve_risks - the settings that parse but are probably mistakes (conf_risks): on stderr
 * for -n, in the log at start */
static void
serve_risks(const struct serve *s, bool to_stderr)
{
	char buf[2048];

	if (conf_risks(s->conf, clock_now(), buf, sizeof(buf)) > 0)
		log_warnings(PROG, to_stderr, s->conf->path, buf);
}

/* serve_check - the -n answer: the configuration and keys loaded (serve_load), a key can
 * sign, and MapSocket is an address this mode can listen on. Binds nothing. */
static int
serve_check(const struct serve *s, const struct serve_opts *o)
{
	struct listenaddr a;
	struct keyring *kr = keyring_holder_get(s->keys);
	int signer = keyring_signer(kr, clock_now()), n = keyring_count(kr), err;
	char rev[512], why[1024];

	keyring_unref(kr);
	if (signer < 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, s->conf->key_directory,
		    keyring_strerror(signer));
		return EXIT_FAILURE;
	}
	if (s->conf->user_id != NULL && keyring_load_as(s->conf->key_directory, s->uid, s->gid,
	    why, sizeof(why)) != KEYRING_OK) {
		fprintf(stderr, "%s: %s: UserID %s cannot load the key store, so every reload "
		    "would fail: %s\n", PROG, s->conf->path, s->conf->user_id, why);
		return EXIT_FAILURE;
	}
	if (s->conf->user_id != NULL &&
	    conf_load_as(s->conf->path, s->uid, s->gid, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: UserID %s cannot load the configuration, so every reload "
		    "(SIGUSR1) would fail: %s\n", PROG, s->conf->user_id, why);
		return EXIT_FAILURE;
	}
	if ((err = listenaddr_parse(s->conf->map_socket, &a)) != LISTENADDR_OK) {
		fprintf(stderr, "%s: %s: MapSocket %s: %s\n", PROG, s->conf->path,
		    s->conf->map_socket, listenaddr_strerror(err));
		return EXIT_FAILURE;
	}
	/* a missing directory is a warning: systemd makes RuntimeDirectory before the start */
	if (s->conf->pid_file != NULL &&
	    (err = daemon_path_check(s->conf->pid_file, false)) != DAEMON_OK) {
		fprintf(stderr, "%s: %s%s: PidFile %s: %s\n", PROG, err == DAEMON_ENODIR ?
		    "warning: " : "", s->conf->path, s->conf->pid_file, daemon_strerror(err));
		if (err != DAEMON_ENODIR)
			return EXIT_FAILURE;
	}
	if (a.family == AF_UNIX && (err = daemon_path_check(a.path, true)) != DAEMON_OK) {
		fprintf(stderr, "%s: %s%s: MapSocket %s: %s\n", PROG, err == DAEMON_ENODIR ?
		    "warning: " : "", s->conf->path, s->conf->map_socket, daemon_strerror(err));
		if (err != DAEMON_ENODIR)
			return EXIT_FAILURE;
	} else if (a.family == AF_UNIX &&
	    daemon_dir_check_as(a.path, s->conf->user_id != NULL ? s->uid : geteuid(),
	    s->conf->user_id != NULL ? s->gid : getegid(), rev, sizeof(rev)) != DAEMON_OK) {
		fprintf(stderr, "%s: %s: MapSocket %s: %s%s cannot create the socket in %s: %s\n",
		    PROG, s->conf->path, s->conf->map_socket, s->conf->user_id != NULL ?
		    "UserID " : "this user", s->conf->user_id != NULL ? s->conf->user_id : "", rev,
		    daemon_strerror(DAEMON_EDIRWRITE));
		return EXIT_FAILURE;
	}
	if (o->tcp_table && !tcp_reverse_spec(s->conf->map_socket, rev, sizeof(rev))) {
		fprintf(stderr, "%s: %s: MapSocket %s: " SERVE_TCP_NEEDS_INET "\n", PROG,
		    s->conf->path, s->conf->map_socket);
		return EXIT_FAILURE;
	}
	if (s->conf->srs_domain != NULL)
		printf("%s: %s: configuration OK; SRS for %s%s; ", PROG, s->conf->path,
		    s->conf->srs_domain, s->conf->srs_legacy != NULL ?
		    " (postsrsd's legacy secrets verify too)" : "");
	else
		printf("%s: %s: configuration OK; SRS is off (no SRSDomain); ", PROG,
		    s->conf->path);
	printf("%d key(s) in %s, slot %d signs; would serve %s on %s; %s\n", n,
	    s->conf->key_directory, signer, o->tcp_table ? "tcp_table" : "socketmap",
	    s->conf->map_socket, serve_maps(s->boot, o->tcp_table));
	return EXIT_SUCCESS;
}

static int
serve_listen(struct serve *s, const struct serve_opts *o)
{
	const char *spec = s->conf->map_socket;
	char rev[512], why[512];
	int rc;

	if (!o->tcp_table)
		rc = mapserver_listen(s->ms, spec, MAPSERVER_SOCKETMAP, NULL, s->uid, s->gid, why,
		    sizeof(why));
	else if (!tcp_reverse_spec(spec, rev, sizeof(rev))) {
		serve_fail(s, "%s: MapSocket %s: " SERVE_TCP_NEEDS_INET, s->conf->path, spec);
		return EXIT_FAILURE;
	} else if ((rc = mapserver_listen(s->ms, spec, MAPSERVER_TCP_TABLE, "forward", s->uid,
	    s->gid, why, sizeof(why))) == MAPSERVER_OK)
		rc = mapserver_listen(s->ms, rev, MAPSERVER_TCP_TABLE, "reverse", s->uid, s->gid,
		    why, sizeof(why));
	if (rc != MAPSERVER_OK) {
		serve_fail(s, "%s (MapSocket in %s): %s", why, s->conf->path,
		    mapserver_strerror(rc));
		return EXIT_FAILURE;
	}
	log_msg(LOG_INFO, "listening on %s%s%s (%s)", spec, o->tcp_table ? " and " : "",
	    o->tcp_table ? rev : "", o->tcp_table ? "tcp_table" : "socketmap");
	return EXIT_SUCCESS;
}

/* serve_fd_limit - room for want connections: raise the soft limit on open files, or
 * serve fewer connections than asked rather than spin on EMFILE */
static unsigned
serve_fd_limit(unsigned want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need :
		    rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return want;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return want;
	log_msg(LOG_WARNING, "open files are limited to %llu: serving at most %llu connections",
	    (unsigned long long)rl.rlim_cur, (unsigned long long)(rl.rlim_cur / 2));
	return (unsigned)(rl.rlim_cur / 2);
}

static int
serve_server(struct serve *s, const struct serve_opts *o)
{
	struct mapserver_config mc = {
		.lookup = serve_lookup,
		.batch_begin = serve_batch_begin,
		.ctx = s,
		.threads = o->threads,
		.max_connections = serve_fd_limit(o->max_conns != 0 ? o->max_conns :
		    MAPSERVER_CONN_MAX),
		.idle_timeout_ms = o->idle_s * 1000,
		.request_timeout_ms = o->request_s * 1000,
		.max_per_peer = o->max_peer,
	};

	if (mapserver_new(&mc, &s->ms) != MAPSERVER_OK) {
		serve_fail(s, "out of memory");
		return EXIT_FAILURE;
	}
	return serve_listen(s, o);
}

/* The text of a tcp_table mode without SRSDomain: the start-up error and the reload's. */
#define SERVE_TCP_NEEDS_SRS "--tcp-table serves SRS only, and SRSDomain is not set in %s: " \
	"set SRSDomain, or serve the prvs map without --tcp-table"

/* serve_log_open - syslog, or stderr when Syslog yes finds nothing at /dev/log in the
 * foreground; false (said on stderr) when a start in the background would log nothing */
static bool
serve_log_open(struct serve *s, bool foreground)
{
	bool bg = s->conf->background && !foreground;
	int rc;

	s->use_syslog = s->conf->syslog;
	if (s->use_syslog && !s->check && (rc = daemon_syslog_check(_PATH_LOG)) != DAEMON_OK) {
		fprintf(stderr, "%s: %sSyslog yes in %s: %s%s\n", PROG, bg ? "" : "warning: ",
		    s->conf->path, daemon_strerror(rc), bg ? ": not starting in the background; "
		    "start a syslog daemon, or set Syslog no and start with -f (or Background no)" :
		    "; logging to stderr instead");
		s->use_syslog = false;
		if (bg)
			return false;
	}
	log_open(PROG, s->use_syslog, s->conf->syslog_facility, s->conf->log_level);
	return true;
}

/* Load the configuration and keys, and resolve UserID: everything that can fail early. */
static int
serve_load(struct serve *s, const char *conf_path, bool foreground)
{
	char why[1024];
	struct keyring *kr;
	struct conf *c;
	int err = conf_load(conf_path, &c, why, sizeof(why));

	if (err != CONF_OK) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return EXIT_FAILURE;
	}
	if ((s->boot = serve_cfg_new(c)) == NULL) {
		conf_free(c);
		fprintf(stderr, "%s: out of memory\n", PROG);
		return EXIT_FAILURE;
	}
	s->conf = c;
	s->cfg = s->boot;
	atomic_fetch_add(&s->boot->refs, 1);	/* one for boot, one for cfg */
	if (!serve_log_open(s, foreground))
		return EXIT_FAILURE;
	if (s->tcp_table && s->conf->srs_domain == NULL) {
		serve_fail(s, SERVE_TCP_NEEDS_SRS, conf_path);
		return EXIT_FAILURE;
	}
	err = keyring_load(
	    s->conf->key_directory, daemon_user_uid(s->conf->user_id), &kr, why, sizeof(why));
	if (err != KEYRING_OK) {
		serve_fail(s, "%s", why);
		return EXIT_FAILURE;
	}
	s->keys = keyring_holder_new(kr);
	if (s->keys == NULL) {
		keyring_unref(kr);
		serve_fail(s, "out of memory");
		return EXIT_FAILURE;
	}
	if (s->conf->user_id != NULL &&
	    (err = daemon_user_check(s->conf->user_id, &s->uid, &s->gid)) != DAEMON_OK) {
		serve_fail(s, "%s: UserID %s: %s%s", conf_path, s->conf->user_id, err ==
		    DAEMON_ESWITCH ? "started as a user who " : "", err == DAEMON_ESWITCH ?
		    "cannot switch to it: start as root, or as that user" : daemon_strerror(err));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* Detach, write the pid file, drop root: after binding, before the threads. */
static int
serve_daemonize(struct serve *s, const struct serve_opts *o)
{
	int err;

	if (s->conf->background && !o->foreground && (err = daemon_detach()) != DAEMON_OK) {
		serve_fail(s, "%s", daemon_strerror(err));
		return EXIT_FAILURE;
	}
	if (s->conf->pid_file != NULL) {
		err = daemon_pidfile_write(s->conf->pid_file);
		if (err != DAEMON_OK) {
			serve_fail(s, "PidFile %s: %s", s->conf->pid_file, daemon_strerror(err));
			return EXIT_FAILURE;
		}
		s->pid_written = true;
	}
	if (s->conf->user_id != NULL && (err = daemon_drop(s->uid, s->gid)) != DAEMON_OK) {
		serve_fail(s, "UserID %s: %s", s->conf->user_id, daemon_strerror(err));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/* ---- running ---- */

static void
serve_reload_keys(struct serve *s, const char *trigger)
{
	struct keyring *kr;
	char why[1024];

	if (keyring_holder_reload(s->keys, daemon_user_uid(s->cfg->conf->user_id),
		s->cfg->conf->key_directory, why, sizeof(why)) != KEYRING_OK) {
		log_msg(LOG_ERR, "key reload (%s) failed, keeping the loaded keys: %s", trigger,
		    why);
		return;
	}
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	kr = keyring_holder_get(s->keys);
	log_msg(LOG_INFO, "keys reloaded (%s): %d key(s)", trigger, keyring_count(kr));
	keyring_unref(kr);
}

/* serve_warn_fixed - name the settings that differ from those the server started with: they
 * need a restart (the sockets are bound, the user dropped to, the logging opened) */
static void
serve_warn_fixed(const struct conf *boot, const struct conf *c)
{
	const unsigned fixed = CONF_FIXED_MAP_SOCKET | CONF_FIXED_USER | CONF_FIXED_PID_FILE |
	    CONF_FIXED_BACKGROUND | CONF_FIXED_LOGGING;

	log_restart_needed(conf_fixed_changes(boot, c, fixed), c->path);
}

/* serve_load_new - the configuration file and its key store, ready to swap in; why on failure */
static struct serve_cfg *
serve_load_new(const struct serve *s, struct keyring **kr, char *why, size_t whylen)
{
	struct conf *c;
	struct serve_cfg *cfg;

	if (conf_load(s->conf_path, &c, why, whylen) != CONF_OK)
		return NULL;
	if (s->tcp_table && c->srs_domain == NULL) {
		snprintf(why, whylen, SERVE_TCP_NEEDS_SRS, c->path);
		conf_free(c);
		return NULL;
	}
	if (keyring_load(c->key_directory, daemon_user_uid(c->user_id), kr, why, whylen) !=
	    KEYRING_OK) {
		conf_free(c);
		return NULL;
	}
	if ((cfg = serve_cfg_new(c)) == NULL) {
		snprintf(why, whylen, "out of memory");
		keyring_unref(*kr);
		conf_free(c);
	}
	return cfg;
}

/* serve_reload - SIGUSR1: the configuration and keys together, or neither (and say why) */
static void
serve_reload(struct serve *s, const char *trigger)
{
	char why[1024];
	struct keyring *kr = NULL;
	struct serve_cfg *cfg = serve_load_new(s, &kr, why, sizeof(why)), *old;

	if (cfg == NULL) {
		log_msg(LOG_ERR, "reload (%s) failed, keeping the running configuration and keys: "
		    "%s", trigger, why);
		return;
	}
	pthread_mutex_lock(&s->cfg_lock);
	old = s->cfg;
	s->cfg = cfg;
	pthread_mutex_unlock(&s->cfg_lock);
	keyring_holder_swap(s->keys, kr);
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	if (strcmp(old->conf->key_directory, cfg->conf->key_directory) != 0) {
		if (s->watch != NULL)
			keywatch_close(s->watch);
		s->watch = keywatch_open(cfg->conf->key_directory, clock_monotonic_s());
	}
	serve_warn_fixed(s->conf, cfg->conf);
	kr = keyring_holder_get(s->keys);
	log_msg(LOG_NOTICE, "reloaded %s (%s): %s; %d key(s)", cfg->conf->path, trigger,
	    serve_maps(cfg, s->tcp_table), keyring_count(kr));
	keyring_unref(kr);
	serve_cfg_put(old);
}

/* The main thread's loop: signals arrive through sigtimedwait, never in a handler. */
static void
serve_loop(struct serve *s, const sigset_t *set)
{
	struct timespec tick = { 1, 0 };
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_msg(LOG_INFO, "signal %d: stopping", sig);
			return;
		}
		if (sig == SIGUSR1)
			serve_reload(s, "SIGUSR1");
		else if (s->watch != NULL && keywatch_changed(s->watch, clock_monotonic_s()))
			serve_reload_keys(s, "key directory changed");
	}
}

static void
serve_cleanup(struct serve *s)
{
	unsigned i;

	mapserver_free(s->ms);	/* stops the workers, removes a unix socket */
	for (i = 0; i < s->nslots; i++) {
		keyring_unref(s->slots[i]->kr);
		serve_cfg_put(s->slots[i]->cfg);
		free(s->slots[i]);
	}
	pthread_mutex_destroy(&s->slots_lock);
	pthread_mutex_destroy(&s->cfg_lock);
	if (s->pid_written)
		daemon_pidfile_remove(s->conf->pid_file);
	if (s->watch != NULL)
		keywatch_close(s->watch);
	if (s->keys != NULL)
		keyring_holder_free(s->keys);
	serve_cfg_put(s->cfg);
	serve_cfg_put(s->boot);	/* owns s->conf */
}

static int
serve_run(struct serve *s, const struct serve_opts *o)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* the workers inherit the mask */
	signal(SIGPIPE, SIG_IGN);
	if (serve_daemonize(s, o) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	if (clock_overridden())
		log_msg(LOG_WARNING, "BACKSTOP_NOW is set: the clock is fixed at %lld",
		    (long long)clock_now());
	s->watch = keywatch_open(s->conf->key_directory, clock_monotonic_s());
	if (mapserver_start(s->ms) != MAPSERVER_OK) {
		serve_fail(s, "cannot start the worker threads");
		return EXIT_FAILURE;
	}
	if (s->conf->srs_domain != NULL)
		log_msg(LOG_INFO, "serving SRS for %s%s; %s", s->conf->srs_domain,
		    s->conf->srs_legacy != NULL ? " (postsrsd's legacy secrets verify too)" : "",
		    serve_maps(s->cfg, o->tcp_table));
	else
		log_msg(LOG_INFO, "SRS is off (no SRSDomain in %s); %s", s->conf->path,
		    serve_maps(s->cfg, o->tcp_table));
	serve_loop(s, &set);
	mapserver_stop(s->ms);
	return EXIT_SUCCESS;
}

int
srs_serve(const char *conf_path, int argc, char **argv)
{
	struct serve_opts o = { 0 };
	struct serve s;
	int rc = serve_args(argc, argv, &o);

	if (rc >= 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.uid = (uid_t)-1;
	s.gid = (gid_t)-1;
	atomic_init(&s.gen, 0);
	pthread_mutex_init(&s.slots_lock, NULL);
	pthread_mutex_init(&s.cfg_lock, NULL);
	s.conf_path = conf_path;
	s.tcp_table = o.tcp_table;
	s.check = o.check;
	rc = serve_load(&s, conf_path, o.foreground);
	if (rc == EXIT_SUCCESS)
		serve_risks(&s, o.check);
	if (rc == EXIT_SUCCESS && o.check) {
		rc = serve_check(&s, &o);
		serve_cleanup(&s);
		return rc;
	}
	if (rc == EXIT_SUCCESS)
		rc = serve_server(&s, &o);
	if (rc == EXIT_SUCCESS)
		rc = serve_run(&s, &o);
	serve_cleanup(&s);
	return rc;
}
