/* replay-redis: the replay store and the sent record in Redis, shared by several MX hosts.
 * Keys under the prefix: r:ADDR a hash {count, first, last, expiry}, s:HEX a hash {sender,
 * sent, rcpts, answers, expiry}, both with EXPIREAT at the end of their expiry day (Redis
 * sweeps, by its own clock), and meta {secret, since}. Every read-modify-write is one Lua
 * script (EVALSHA, EVAL after NOSCRIPT), so each is one atomic round trip. A bounded pool of
 * connections serves the milter's threads; a failed connection is dropped and made afresh. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <nettle/sha1.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "replay-backend.h"

#define RDS_POOL_DEFAULT 8
#define RDS_TIMEOUT_DEFAULT 250
#define RDS_PREFIX_DEFAULT "backstop:"
#define RDS_PREFIX_MAX 64
#define RDS_PASSWORD_MAX 512
/* after a failed connection, calls fail at once for this long instead of each waiting */
#define RDS_BREAKER_MS 1000
#define RDS_SCAN_COUNT "500"
/* the most arguments a script takes (the sent record's) */
#define RDS_ARGS_MAX 5

/* a script and its SHA-1 in hex, as EVALSHA names it */
struct rds_script {
	const char *text;
	char sha[2 * SHA1_DIGEST_SIZE + 1];
};

enum rds_which {
	RDS_RESERVE, RDS_RELEASE, RDS_MERGE, RDS_SENT_RECORD, RDS_SENT_ANSWER, RDS_META, RDS_N
};

/* KEYS[1] the record; ARGV limit (0: none), now, expiry day, EXPIREAT time. {count, granted} */
static const char rds_reserve_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'count', 'first', 'last', 'expiry')\n"
    "local now, day, at = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local c = tonumber(v[1])\n"
    "if c == nil then\n"
    "  redis.call('HSET', KEYS[1], 'count', 1, 'first', now, 'last', now, 'expiry', day)\n"
    "  redis.call('EXPIREAT', KEYS[1], at)\n"
    "  return {1, 1}\n"
    "end\n"
    "local limit = tonumber(ARGV[1])\n"
    "if limit > 0 and c >= limit then return {c, 0} end\n"
    "if c < 4294967295 then c = c + 1 end\n"
    "local f, l, e = tonumber(v[2]) or now, tonumber(v[3]) or now, tonumber(v[4]) or day\n"
    "if now < f then f = now end\n"
    "if now > l then l = now end\n"
    "if day > e then e = day; redis.call('EXPIREAT', KEYS[1], at) end\n"
    "redis.call('HSET', KEYS[1], 'count', c, 'first', f, 'last', l, 'expiry', e)\n"
    "return {c, 1}\n";
/* KEYS[1] the record; ARGV how many: that many less, removed at 0 */
static const char rds_release_lua[] =
    "local c, n = tonumber(redis.call('HGET', KEYS[1], 'count')), tonumber(ARGV[1])\n"
    "if c == nil then return 0 end\n"
    "if c <= n then redis.call('DEL', KEYS[1]); return 0 end\n"
    "return redis.call('HINCRBY', KEYS[1], 'count', -n)\n";
/* KEYS[1] the record; ARGV count, first, last, expiry day: added to what is there */
static const char rds_merge_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'count', 'first', 'last', 'expiry')\n"
    "local c, f, l, e = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),\n"
    "  tonumber(ARGV[4])\n"
    "if tonumber(v[1]) ~= nil then\n"
    "  c = math.min(c + tonumber(v[1]), 4294967295)\n"
    "  f = math.min(f, tonumber(v[2]) or f)\n"
    "  l = math.max(l, tonumber(v[3]) or l)\n"
    "  e = math.max(e, tonumber(v[4]) or e)\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'count', c, 'first', f, 'last', l, 'expiry', e)\n"
    "redis.call('EXPIREAT', KEYS[1], (e + 1) * 86400)\n"
    "return c\n";
/* KEYS[1] the sent record; ARGV sender, sent, rcpts, expiry day, EXPIREAT time: merged as
 * replay_sent_merge does (the first sender and time, the most recipients, the later expiry) */
static const char rds_sent_record_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'sent', 'rcpts', 'expiry')\n"
    "if not v[1] then\n"
    "  redis.call('HSET', KEYS[1], 'sender', ARGV[1], 'sent', ARGV[2], 'rcpts', ARGV[3],\n"
    "    'answers', 0, 'expiry', ARGV[4])\n"
    "  redis.call('EXPIREAT', KEYS[1], ARGV[5])\n"
    "  return 1\n"
    "end\n"
    "if tonumber(ARGV[2]) < tonumber(v[1]) then redis.call('HSET', KEYS[1], 'sent', ARGV[2]) end\n"
    "if tonumber(ARGV[3]) > tonumber(v[2]) then redis.call('HSET', KEYS[1], 'rcpts', ARGV[3]) end\n"
    "if tonumber(ARGV[4]) > tonumber(v[3]) then\n"
    "  redis.call('HSET', KEYS[1], 'expiry', ARGV[4])\n"
    "  redis.call('EXPIREAT', KEYS[1], ARGV[5])\n"
    "end\n"
    "return 0\n";
/* KEYS[1] the sent record: one more answer, -1 when there is none */
static const char rds_sent_answer_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "return redis.call('HINCRBY', KEYS[1], 'answers', 1)\n";
/* KEYS[1] meta; ARGV fresh secret (or empty: only read), now: {secret, since} */
static const char rds_meta_lua[] =
    "if ARGV[1] ~= '' and redis.call('HSETNX', KEYS[1], 'secret', ARGV[1]) == 1 then\n"
    "  redis.call('HSET', KEYS[1], 'since', ARGV[2])\n"
    "end\n"
    "return redis.call('HMGET', KEYS[1], 'secret', 'since')\n";

struct rds {
	pthread_mutex_t mu;		/* the pool and the breaker */
	pthread_cond_t freed;
	redisContext **idle;		/* connections not in use */
	unsigned nidle, live, max;	/* live: idle plus in use */
	struct timespec down_until;	/* the breaker: CLOCK_MONOTONIC */
	struct timeval tv;
	char *path;			/* unix socket, or NULL */
	char *host;
	int port;
	char *user, *password;		/* password: sodium_malloc'd, or NULL */
	unsigned database;
	char prefix[RDS_PREFIX_MAX + 1];
	struct rds_script scripts[RDS_N];
};

/* ---- errors ---- */

/* rds_reply_err - the replay_err of an error reply: an ACL or password refusal is permanent
 * (the setting must change), anything else (LOADING, READONLY, OOM...) temporary */
static int
rds_reply_err(const redisReply *rep)
{
	if (strncmp(rep->str, "WRONGPASS", 9) == 0 || strncmp(rep->str, "NOAUTH", 6) == 0)
		return REPLAY_EAUTH;
	if (strncmp(rep->str, "NOPERM", 6) == 0)
		return REPLAY_ENOPERM;
	return REPLAY_EUNAVAIL;
}

static void
rds_why(const struct rds *s, int rc, const char *detail, char *why, size_t whylen)
{
	const char *where = s->path != NULL ? s->path : s->host;

	if (rc == REPLAY_EAUTH)
		snprintf(why, whylen, "Redis %s: %s: check ReplayRedisPasswordFile (and "
		    "ReplayRedisUser)", where, detail);
	else if (rc == REPLAY_ENOPERM)
		snprintf(why, whylen, "Redis %s: %s: the ACL of ReplayRedisUser must allow EVALSHA, "
		    "EVAL, HMGET, DEL, SCAN, SELECT and PING on the ReplayRedisPrefix keys", where,
		    detail);
	else
		snprintf(why, whylen, "Redis %s: %s", where, detail);
}

/* ---- connections ---- */

/* rds_call - one command on c; the reply (the caller frees it) or NULL with c->err set.
 * hiredis writes with write(2): to a server that died that raises SIGPIPE, which would kill
 * a process that has not ignored it (the admin tool). A library does not change the signal's
 * disposition, so the thread blocks it for the call and takes back one it raised. */
static redisReply *
rds_call(redisContext *c, int argc, const char **argv, const size_t *lens)
{
	static const struct timespec zero = {0, 0};
	sigset_t pipe, old, pending;
	redisReply *rep;
	bool was_pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	rep = redisCommandArgv(c, argc, argv, lens);
	if (rep == NULL && !was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE) == 1)
			while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
				;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rep;
}

/* rds_simple - a command whose reply only says yes or no; a replay_err */
static int
rds_simple(redisContext *c, int argc, const char **argv, char *detail, size_t dlen)
{
	size_t lens[4];
	redisReply *rep;
	int i, rc = REPLAY_OK;

	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = rds_call(c, argc, argv, lens)) == NULL) {
		snprintf(detail, dlen, "%s", c->errstr);
		return REPLAY_EUNAVAIL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		rc = rds_reply_err(rep);
		snprintf(detail, dlen, "%s: %s", argv[0], rep->str);
	}
	freeReplyObject(rep);
	return rc;
}

/* rds_login - AUTH, SELECT and PING on a new connection */
static int
rds_login(struct rds *s, redisContext *c, char *detail, size_t dlen)
{
	char db[16];
	const char *auth[3] = {"AUTH", s->user, s->password};
	const char *sel[2] = {"SELECT", db};
	const char *ping[1] = {"PING"};
	int rc;

	if (s->password != NULL) {
		if (s->user == NULL)
			auth[1] = s->password;
		if ((rc = rds_simple(c, s->user != NULL ? 3 : 2, auth, detail, dlen)) != 0)
			return rc;
	}
	snprintf(db, sizeof(db), "%u", s->database);
	if (s->database != 0 && (rc = rds_simple(c, 2, sel, detail, dlen)) != 0)
		return rc;
	return rds_simple(c, 1, ping, detail, dlen);
}

/* rds_connect - a new logged-in connection. Always a new context, never redisReconnect:
 * hiredis 0.14.1 forgets the command timeout on redisReconnect (fixed in 1.1.0), and a
 * connection without one would hang a milter thread on a frozen server. */
static int
rds_connect(struct rds *s, redisContext **out, char *detail, size_t dlen)
{
	redisContext *c;
	int rc;

	*out = NULL;
	c = s->path != NULL ? redisConnectUnixWithTimeout(s->path, s->tv) :
	    redisConnectWithTimeout(s->host, s->port, s->tv);
	if (c == NULL) {
		snprintf(detail, dlen, "out of memory");
		return REPLAY_ENOMEM;
	}
	if (c->err != 0) {
		snprintf(detail, dlen, "%s", c->errstr);
		redisFree(c);
		return REPLAY_EUNAVAIL;
	}
	if (redisSetTimeout(c, s->tv) != REDIS_OK) {
		snprintf(detail, dlen, "cannot set the timeout: %s", c->errstr);
		redisFree(c);
		return REPLAY_EUNAVAIL;
	}
	if ((rc = rds_login(s, c, detail, dlen)) != REPLAY_OK) {
		redisFree(c);
		return rc;
	}
	*out = c;
	return REPLAY_OK;
}

static void
rds_deadline(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool
rds_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* rds_take - an idle connection, or a slot to make one (*c NULL), waiting at most the
 * timeout for a busy pool; REPLAY_EUNAVAIL while the breaker is open or the wait ran out */
static int
rds_take(struct rds *s, redisContext **c)
{
	struct timespec now, until;
	int rc = REPLAY_OK;

	*c = NULL;
	rds_deadline(&until, s->tv.tv_sec * 1000 + s->tv.tv_usec / 1000);
	pthread_mutex_lock(&s->mu);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (rds_before(&now, &s->down_until))
		rc = REPLAY_EUNAVAIL;
	while (rc == REPLAY_OK && s->nidle == 0 && s->live == s->max)
		if (pthread_cond_timedwait(&s->freed, &s->mu, &until) == ETIMEDOUT)
			rc = REPLAY_EUNAVAIL;
	if (rc == REPLAY_OK && s->nidle > 0)
		*c = s->idle[--s->nidle];
	else if (rc == REPLAY_OK)
		s->live++;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* rds_give - return c to the pool; NULL (a connection that failed) frees its slot, and a
 * server that could not be reached opens the breaker */
static void
rds_give(struct rds *s, redisContext *c, bool unreachable)
{
	pthread_mutex_lock(&s->mu);
	if (c != NULL && c->err == 0) {
		s->idle[s->nidle++] = c;
	} else {
		if (c != NULL)
			redisFree(c);
		s->live--;
	}
	if (unreachable)
		rds_deadline(&s->down_until, RDS_BREAKER_MS);
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->mu);
}

/* rds_run - one command on a pooled connection: the reply, or a replay_err */
static int
rds_run(struct rds *s, int argc, const char **argv, const size_t *lens, redisReply **out)
{
	char detail[256];
	redisContext *c;
	redisReply *rep;
	int rc;

	*out = NULL;
	if ((rc = rds_take(s, &c)) != REPLAY_OK)
		return rc;
	if (c == NULL && (rc = rds_connect(s, &c, detail, sizeof(detail))) != REPLAY_OK) {
		rds_give(s, NULL, rc == REPLAY_EUNAVAIL);
		return rc;
	}
	rep = rds_call(c, argc, argv, lens);
	rds_give(s, c, rep == NULL);
	if (rep == NULL)
		return REPLAY_EUNAVAIL;
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) != 0) {
		rc = rds_reply_err(rep);
		freeReplyObject(rep);
		return rc;
	}
	*out = rep;
	return REPLAY_OK;
}

/* rds_eval - run a script on one key with nargs arguments: EVALSHA, and EVAL (which loads it
 * again) when the server does not know it (after a restart, SCRIPT FLUSH or a failover) */
static int
rds_eval(struct rds *s, enum rds_which w, const char *key, size_t klen, int nargs,
    const char **args, const size_t *alens, redisReply **out)
{
	const char *argv[4 + RDS_ARGS_MAX];
	size_t lens[4 + RDS_ARGS_MAX];
	int i, rc;

	argv[0] = "EVALSHA", lens[0] = 7;
	argv[1] = s->scripts[w].sha, lens[1] = strlen(s->scripts[w].sha);
	argv[2] = "1", lens[2] = 1;
	argv[3] = key, lens[3] = klen;
	for (i = 0; i < nargs && i < RDS_ARGS_MAX; i++)
		argv[4 + i] = args[i], lens[4 + i] = alens[i];
	if ((rc = rds_run(s, 4 + i, argv, lens, out)) != REPLAY_OK)
		return rc;
	if ((*out)->type != REDIS_REPLY_ERROR)
		return REPLAY_OK;
	freeReplyObject(*out);
	argv[0] = "EVAL", lens[0] = 4;
	argv[1] = s->scripts[w].text, lens[1] = strlen(s->scripts[w].text);
	if ((rc = rds_run(s, 4 + i, argv, lens, out)) != REPLAY_OK)
		return rc;
	if ((*out)->type == REDIS_REPLY_ERROR) {
		freeReplyObject(*out);
		*out = NULL;
		return REPLAY_EUNAVAIL;
	}
	return REPLAY_OK;
}

/* ---- keys and numbers ---- */

/* rds_key - prefix, kind ("r:" or "s:") and name into buf; its length */
static size_t
rds_key(const struct rds *s, const char *kind, const char *name, size_t nlen, char *buf)
{
	size_t p = strlen(s->prefix), k = strlen(kind);

	memcpy(buf, s->prefix, p);
	memcpy(buf + p, kind, k);
	memcpy(buf + p + k, name, nlen);
	buf[p + k + nlen] = '\0';
	return p + k + nlen;
}

#define RDS_KEY_MAX (RDS_PREFIX_MAX + 2 + REPLAY_ADDR_MAX + 1)

/* rds_sent_name - the sent record's key: prefix s: and the hash in hex */
static size_t
rds_sent_name(const struct rds *s, const unsigned char *key, char *buf)
{
	char hex[2 * REPLAY_SENT_KEY_BYTES + 1];

	sodium_bin2hex(hex, sizeof(hex), key, REPLAY_SENT_KEY_BYTES);
	return rds_key(s, "s:", hex, strlen(hex), buf);
}

static long long
rds_num(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

/* the end of an expiry day, when Redis removes the record */
static long long
rds_expire_at(long expiry_day)
{
	return ((long long)expiry_day + 1) * CLOCK_DAY;
}

/* ---- the replay records ---- */

static int
rds_reserve(void *state, const char *key, size_t klen, time_t now, long expiry_day,
    uint32_t limit, uint32_t *count, bool *granted)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX], a[4][24];
	const char *args[4] = {a[0], a[1], a[2], a[3]};
	size_t lens[4];
	redisReply *rep;
	int i, rc;

	*count = 0;
	*granted = false;
	snprintf(a[0], sizeof(a[0]), "%u", limit);
	snprintf(a[1], sizeof(a[1]), "%lld", (long long)now);
	snprintf(a[2], sizeof(a[2]), "%ld", expiry_day);
	snprintf(a[3], sizeof(a[3]), "%lld", rds_expire_at(expiry_day));
	for (i = 0; i < 4; i++)
		lens[i] = strlen(a[i]);
	rc = rds_eval(s, RDS_RESERVE, k, rds_key(s, "r:", key, klen, k), 4, args, lens, &rep);
	if (rc != REPLAY_OK)
		return rc;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		rc = REPLAY_ECORRUPT;
	else {
		*count = (uint32_t)rds_num(rep->element[0]);
		*granted = rds_num(rep->element[1]) == 1;
	}
	freeReplyObject(rep);
	return rc;
}

static int
rds_record(void *state, const char *key, size_t klen, time_t now, long expiry_day,
    uint32_t *count)
{
	bool granted;

	return rds_reserve(state, key, klen, now, expiry_day, 0, count, &granted);
}

static int
rds_release(void *state, const char *key, size_t klen, time_t now, uint32_t n)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX], a[16];
	const char *args[1] = {a};
	size_t lens[1];
	redisReply *rep;
	int rc;

	(void)now;
	lens[0] = (size_t)snprintf(a, sizeof(a), "%u", n);
	rc = rds_eval(s, RDS_RELEASE, k, rds_key(s, "r:", key, klen, k), 1, args, lens, &rep);
	if (rc == REPLAY_OK)
		freeReplyObject(rep);
	return rc;
}

static int
rds_merge(void *state, const char *key, size_t klen, const struct replay_entry *e)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX], a[4][24];
	const char *args[4] = {a[0], a[1], a[2], a[3]};
	size_t lens[4];
	redisReply *rep;
	int i, rc;

	snprintf(a[0], sizeof(a[0]), "%u", e->count);
	snprintf(a[1], sizeof(a[1]), "%lld", (long long)e->first_seen);
	snprintf(a[2], sizeof(a[2]), "%lld", (long long)e->last_seen);
	snprintf(a[3], sizeof(a[3]), "%ld", e->expiry_day);
	for (i = 0; i < 4; i++)
		lens[i] = strlen(a[i]);
	rc = rds_eval(s, RDS_MERGE, k, rds_key(s, "r:", key, klen, k), 4, args, lens, &rep);
	if (rc == REPLAY_OK)
		freeReplyObject(rep);
	return rc;
}

/* rds_entry - an HMGET count first last expiry reply into e */
static int
rds_entry(const redisReply *rep, struct replay_entry *e)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 4)
		return REPLAY_ECORRUPT;
	if (rep->element[0]->type == REDIS_REPLY_NIL)
		return REPLAY_ENOTFOUND;
	e->count = (uint32_t)rds_num(rep->element[0]);
	e->first_seen = (time_t)rds_num(rep->element[1]);
	e->last_seen = (time_t)rds_num(rep->element[2]);
	e->expiry_day = (long)rds_num(rep->element[3]);
	return REPLAY_OK;
}

/* rds_hmget_entry - the record under the full key k */
static int
rds_hmget_entry(struct rds *s, const char *k, size_t klen, struct replay_entry *e)
{
	const char *argv[6] = {"HMGET", k, "count", "first", "last", "expiry"};
	size_t lens[6] = {5, klen, 5, 5, 4, 6};
	redisReply *rep;
	int rc;

	if ((rc = rds_run(s, 6, argv, lens, &rep)) != REPLAY_OK)
		return rc;
	rc = rds_entry(rep, e);
	freeReplyObject(rep);
	return rc;
}

static int
rds_get(void *state, const char *key, size_t klen, struct replay_entry *e)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX];

	return rds_hmget_entry(s, k, rds_key(s, "r:", key, klen, k), e);
}

static int
rds_forget(void *state, const char *key, size_t klen)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX];
	const char *argv[2] = {"DEL", k};
	size_t lens[2] = {3, 0};
	redisReply *rep;
	int rc;

	lens[1] = rds_key(s, "r:", key, klen, k);
	if ((rc = rds_run(s, 2, argv, lens, &rep)) != REPLAY_OK)
		return rc;
	rc = rds_num(rep) == 1 ? REPLAY_OK : REPLAY_ENOTFOUND;
	freeReplyObject(rep);
	return rc;
}

/* Redis removes expired keys itself: there is nothing to sweep or checkpoint. */
static int
rds_sweep(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
    bool *complete)
{
	(void)state, (void)now, (void)batch, (void)from_start;
	*removed = 0;
	*complete = true;
	return REPLAY_OK;
}

static int
rds_maintain(void *state, time_t now)
{
	(void)state, (void)now;
	return REPLAY_OK;
}

typedef int (*rds_key_fn)(struct rds *s, const char *key, size_t klen, void *arg);

/* rds_scan - call fn for every key that matches prefix kind*, with SCAN (a key may come twice
 * or, when made during the walk, not at all: the consistency SCAN offers) */
static int
rds_scan(struct rds *s, const char *kind, rds_key_fn fn, void *arg)
{
	char cursor[32] = "0", match[RDS_PREFIX_MAX + 4];
	const char *argv[6] = {"SCAN", cursor, "MATCH", match, "COUNT", RDS_SCAN_COUNT};
	size_t lens[6] = {4, 1, 5, 0, 5, strlen(RDS_SCAN_COUNT)}, i;
	redisReply *rep, *keys;
	int rc = REPLAY_OK, stop = 0;

	lens[3] = (size_t)snprintf(match, sizeof(match), "%s%s*", s->prefix, kind);
	do {
		lens[1] = strlen(cursor);
		if ((rc = rds_run(s, 6, argv, lens, &rep)) != REPLAY_OK)
			return rc;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			return REPLAY_ECORRUPT;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		keys = rep->element[1];
		for (i = 0; i < keys->elements && rc == REPLAY_OK && !stop; i++)
			rc = fn(s, keys->element[i]->str, keys->element[i]->len, arg);
		stop = rc == 1;
		freeReplyObject(rep);
	} while (rc == REPLAY_OK && strcmp(cursor, "0") != 0);
	return stop ? REPLAY_OK : rc;
}

struct rds_iter {
	replay_iter_fn fn;
	void *arg;
};

/* rds_iter_one - one record of the walk; 1 stops it */
static int
rds_iter_one(struct rds *s, const char *key, size_t klen, void *arg)
{
	struct rds_iter *it = arg;
	size_t skip = strlen(s->prefix) + 2;
	struct replay_entry e;
	int rc;

	if (klen <= skip || klen - skip > REPLAY_ADDR_MAX)
		return REPLAY_OK;
	rc = rds_hmget_entry(s, key, klen, &e);
	if (rc == REPLAY_ENOTFOUND)
		return REPLAY_OK;	/* expired or forgotten since SCAN saw it */
	if (rc != REPLAY_OK)
		return rc;
	return it->fn(key + skip, &e, it->arg) != 0 ? 1 : REPLAY_OK;
}

/* In SCAN order, not key order: Redis has no ordered walk of a key space. */
static int
rds_iterate(void *state, replay_iter_fn fn, void *arg)
{
	struct rds_iter it = {fn, arg};

	return rds_scan(state, "r:", rds_iter_one, &it);
}

/* No files: the sizes stay 0 (the server's INFO memory tells what the records take). */
static int
rds_files(void *state, struct replay_stats *st)
{
	(void)state, (void)st;
	return REPLAY_OK;
}

/* ---- the sent record ---- */

static int
rds_sent_record(void *state, const unsigned char *key, const struct replay_sent *sent)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX], a[4][24];
	const char *args[5] = {sent->sender, a[0], a[1], a[2], a[3]};
	size_t lens[5], klen = rds_sent_name(s, key, k);
	redisReply *rep;
	int i, rc;

	snprintf(a[0], sizeof(a[0]), "%lld", (long long)sent->sent);
	snprintf(a[1], sizeof(a[1]), "%u", sent->rcpts);
	snprintf(a[2], sizeof(a[2]), "%ld", sent->expiry_day);
	snprintf(a[3], sizeof(a[3]), "%lld", rds_expire_at(sent->expiry_day));
	for (i = 0; i < 5; i++)
		lens[i] = strlen(args[i]);
	rc = rds_eval(s, RDS_SENT_RECORD, k, klen, 5, args, lens, &rep);
	if (rc == REPLAY_OK)
		freeReplyObject(rep);
	return rc;
}

static int
rds_sent_get(void *state, const unsigned char *key, struct replay_sent *out)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX];
	const char *argv[7] = {"HMGET", k, "sender", "sent", "rcpts", "answers", "expiry"};
	size_t lens[7] = {5, 0, 6, 4, 5, 7, 6};
	redisReply *rep, **el;
	int rc;

	lens[1] = rds_sent_name(s, key, k);
	if ((rc = rds_run(s, 7, argv, lens, &rep)) != REPLAY_OK)
		return rc;
	el = rep->element;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 5)
		rc = REPLAY_ECORRUPT;
	else if (el[0]->type == REDIS_REPLY_NIL)
		rc = REPLAY_ENOTFOUND;
	else if (el[0]->type != REDIS_REPLY_STRING || el[0]->len == 0 ||
	    el[0]->len > REPLAY_ADDR_MAX)
		rc = REPLAY_ECORRUPT;
	else {
		memcpy(out->sender, el[0]->str, el[0]->len);
		out->sender[el[0]->len] = '\0';
		out->sent = (time_t)rds_num(el[1]);
		out->rcpts = (uint32_t)rds_num(el[2]);
		out->answers = (uint32_t)rds_num(el[3]);
		out->expiry_day = (long)rds_num(el[4]);
	}
	freeReplyObject(rep);
	return rc;
}

static int
rds_sent_answer(void *state, const unsigned char *key, time_t now, uint32_t *count)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX];
	redisReply *rep;
	long long n;
	int rc;

	(void)now;	/* Redis removed the record at the end of its expiry day */
	*count = 0;
	rc = rds_eval(s, RDS_SENT_ANSWER, k, rds_sent_name(s, key, k), 0, NULL, NULL, &rep);
	if (rc != REPLAY_OK)
		return rc;
	n = rds_num(rep);
	freeReplyObject(rep);
	if (n < 0)
		return REPLAY_ENOTFOUND;
	*count = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	return REPLAY_OK;
}

static int
rds_sweep_none(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
    bool *complete)
{
	return rds_sweep(state, now, batch, from_start, removed, complete);
}

static int
rds_count_one(struct rds *s, const char *key, size_t klen, void *arg)
{
	(void)s, (void)key, (void)klen;
	(*(uint64_t *)arg)++;
	return REPLAY_OK;
}

static int
rds_sent_count(void *state, uint64_t *records)
{
	*records = 0;
	return rds_scan(state, "s:", rds_count_one, records);
}

static int
rds_sent_meta(void *state, time_t now, const unsigned char *fresh,
    unsigned char secret[REPLAY_SENT_SECRET_BYTES], time_t *since)
{
	struct rds *s = state;
	char k[RDS_KEY_MAX], t[24];
	const char *args[2] = {fresh != NULL ? (const char *)fresh : "", t};
	size_t lens[2] = {fresh != NULL ? REPLAY_SENT_SECRET_BYTES : 0, 0};
	redisReply *rep, **el;
	int rc;

	lens[1] = (size_t)snprintf(t, sizeof(t), "%lld", (long long)now);
	rc = rds_eval(s, RDS_META, k, rds_key(s, "", "meta", 4, k), 2, args, lens, &rep);
	if (rc != REPLAY_OK)
		return rc;
	el = rep->element;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		rc = REPLAY_ECORRUPT;
	else if (el[0]->type == REDIS_REPLY_NIL)
		rc = REPLAY_ENOTFOUND;
	else if (el[0]->type != REDIS_REPLY_STRING || el[0]->len != REPLAY_SENT_SECRET_BYTES)
		rc = REPLAY_ECORRUPT;
	else {
		memcpy(secret, el[0]->str, REPLAY_SENT_SECRET_BYTES);
		*since = (time_t)rds_num(el[1]);
	}
	freeReplyObject(rep);
	return rc;
}

/* rds_probe_step - one SCAN step over the prefix (a whole walk could be long) */
static int
rds_probe_scan(struct rds *s)
{
	char match[RDS_PREFIX_MAX + 4];
	const char *argv[6] = {"SCAN", "0", "MATCH", match, "COUNT", "1"};
	size_t lens[6] = {4, 1, 5, 0, 5, 1};
	redisReply *rep;
	int rc;

	lens[3] = (size_t)snprintf(match, sizeof(match), "%sr:*", s->prefix);
	if ((rc = rds_run(s, 6, argv, lens, &rep)) == REPLAY_OK)
		freeReplyObject(rep);
	return rc;
}

/* The probe key has no @: no tagged address is ever named so. */
static int
rds_probe(void *state, time_t now, char *why, size_t whylen)
{
	static const char key[] = "backstop-probe";
	static const unsigned char none[REPLAY_SENT_KEY_BYTES];
	unsigned char secret[REPLAY_SENT_SECRET_BYTES];
	struct rds *s = state;
	struct replay_entry e;
	uint32_t count;
	bool granted;
	time_t since;
	int rc;

	rc = rds_reserve(s, key, sizeof(key) - 1, now, clock_day(now), 1, &count, &granted);
	if (rc == REPLAY_OK)
		rc = rds_release(s, key, sizeof(key) - 1, now, 1);
	if (rc == REPLAY_OK && (rc = rds_get(s, key, sizeof(key) - 1, &e)) == REPLAY_ENOTFOUND)
		rc = REPLAY_OK;
	if (rc == REPLAY_OK)
		rc = rds_probe_scan(s);
	if (rc == REPLAY_OK && (rc = rds_sent_answer(s, none, now, &count)) == REPLAY_ENOTFOUND)
		rc = REPLAY_OK;
	if (rc == REPLAY_OK &&
	    (rc = rds_sent_meta(s, now, NULL, secret, &since)) == REPLAY_ENOTFOUND)
		rc = REPLAY_OK;
	sodium_memzero(secret, sizeof(secret));
	if (rc != REPLAY_OK)
		rds_why(s, rc, rc == REPLAY_EUNAVAIL ? "no answer within ReplayRedisTimeout" :
		    replay_strerror(rc), why, whylen);
	return rc;
}

/* ---- open and close ---- */

/* rds_password - the first line of the password file, which must not be readable by all */
static int
rds_password(struct rds *s, const char *path, char *why, size_t whylen)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) != 0) {
		snprintf(why, whylen, "ReplayRedisPasswordFile %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return REPLAY_EACCES;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & S_IROTH) != 0) {
		snprintf(why, whylen, "ReplayRedisPasswordFile %s: %s", path, S_ISREG(st.st_mode) ?
		    "readable by everyone: chmod o-r it" : "not a regular file");
		close(fd);
		return REPLAY_EACCES;
	}
	if ((s->password = sodium_malloc(RDS_PASSWORD_MAX + 1)) == NULL) {
		close(fd);
		return REPLAY_ENOMEM;
	}
	n = read(fd, s->password, RDS_PASSWORD_MAX);
	close(fd);
	s->password[n > 0 ? n : 0] = '\0';
	s->password[strcspn(s->password, "\r\n")] = '\0';
	if (s->password[0] == '\0') {
		snprintf(why, whylen, "ReplayRedisPasswordFile %s: empty", path);
		return REPLAY_EINVAL;
	}
	return REPLAY_OK;
}

/* rds_where - unix:/path, or host:port ([v6]:port) */
static int
rds_where(struct rds *s, const char *where, char *why, size_t whylen)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(where, "unix:", 5) == 0 && where[5] == '/')
		return (s->path = strdup(where + 5)) == NULL ? REPLAY_ENOMEM : REPLAY_OK;
	colon = strrchr(where, ':');
	if (colon != NULL && colon != where) {
		port = strtol(colon + 1, &end, 10);
		if (*end == '\0' && port > 0 && port < 65536) {
			s->port = (int)port;
			if (where[0] == '[' && colon[-1] == ']')
				s->host = strndup(where + 1, (size_t)(colon - where) - 2);
			else
				s->host = strndup(where, (size_t)(colon - where));
			return s->host == NULL ? REPLAY_ENOMEM : REPLAY_OK;
		}
	}
	snprintf(why, whylen, "ReplayRedis '%s' is not unix:/path or host:port", where);
	return REPLAY_EINVAL;
}

static void
rds_scripts(struct rds *s)
{
	static const char *const text[RDS_N] = {rds_reserve_lua, rds_release_lua, rds_merge_lua,
	    rds_sent_record_lua, rds_sent_answer_lua, rds_meta_lua};
	uint8_t d[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;
	int i;

	for (i = 0; i < RDS_N; i++) {
		s->scripts[i].text = text[i];
		sha1_init(&ctx);
		sha1_update(&ctx, strlen(text[i]), (const uint8_t *)text[i]);
		sha1_digest(&ctx, sizeof(d), d);
		sodium_bin2hex(s->scripts[i].sha, sizeof(s->scripts[i].sha), d, sizeof(d));
	}
}

static void
rds_close(void *state)
{
	struct rds *s = state;

	if (s == NULL)
		return;
	while (s->nidle > 0)
		redisFree(s->idle[--s->nidle]);
	free(s->idle);
	free(s->path);
	free(s->host);
	free(s->user);
	if (s->password != NULL)
		sodium_free(s->password);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->freed);
	free(s);
}

/* rds_settings - the options into s */
static int
rds_settings(struct rds *s, const struct replay_options *o, char *why, size_t whylen)
{
	unsigned ms = o->redis_timeout_ms != 0 ? o->redis_timeout_ms : RDS_TIMEOUT_DEFAULT;
	const char *prefix = o->redis_prefix != NULL ? o->redis_prefix : RDS_PREFIX_DEFAULT;
	int rc;

	if (strlen(prefix) > RDS_PREFIX_MAX) {
		snprintf(why, whylen, "ReplayRedisPrefix is longer than %d bytes", RDS_PREFIX_MAX);
		return REPLAY_EINVAL;
	}
	strcpy(s->prefix, prefix);
	s->tv.tv_sec = ms / 1000;
	s->tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	s->database = o->redis_database;
	s->max = o->redis_pool != 0 ? o->redis_pool : RDS_POOL_DEFAULT;
	if ((s->idle = calloc(s->max, sizeof(*s->idle))) == NULL)
		return REPLAY_ENOMEM;
	if (o->redis_user != NULL && o->redis_password_file == NULL) {
		snprintf(why, whylen, "ReplayRedisUser %s needs ReplayRedisPasswordFile: Redis "
		    "takes a user only with AUTH", o->redis_user);
		return REPLAY_EINVAL;
	}
	if (o->redis_user != NULL && (s->user = strdup(o->redis_user)) == NULL)
		return REPLAY_ENOMEM;
	if ((rc = rds_where(s, o->redis, why, whylen)) != REPLAY_OK)
		return rc;
	if (o->redis_password_file != NULL)
		return rds_password(s, o->redis_password_file, why, whylen);
	return REPLAY_OK;
}

/* A server that does not answer yet is no error (mail goes on, calls fail temporarily until it
 * does); credentials it refuses are: they will not get better by themselves. */
static int
rds_open(const struct replay_options *o, void **state, char *why, size_t whylen)
{
	char detail[256];
	redisContext *c;
	struct rds *s;
	int rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return REPLAY_ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->freed, NULL);
	rds_scripts(s);
	if ((rc = rds_settings(s, o, why, whylen)) != REPLAY_OK)
		goto fail;
	rc = rds_connect(s, &c, detail, sizeof(detail));
	if (rc == REPLAY_OK) {
		s->idle[s->nidle++] = c;
		s->live = 1;
	} else if (rc != REPLAY_EUNAVAIL) {
		rds_why(s, rc, detail, why, whylen);
		goto fail;
	} else {
		rds_why(s, rc, detail, why, whylen);	/* for the caller's log: not an error */
	}
	*state = s;
	return REPLAY_OK;
fail:
	rds_close(s);
	return rc;
}

const struct replay_backend replay_redis_backend = {
	.name = "redis",
	.open = rds_open,
	.close = rds_close,
	.get = rds_get,
	.record = rds_record,
	.forget = rds_forget,
	.reserve = rds_reserve,
	.release = rds_release,
	.merge = rds_merge,
	.probe = rds_probe,
	.sweep = rds_sweep,
	.maintain = rds_maintain,
	.iterate = rds_iterate,
	.files = rds_files,
	.sent_record = rds_sent_record,
	.sent_get = rds_sent_get,
	.sent_answer = rds_sent_answer,
	.sent_sweep = rds_sweep_none,
	.sent_count = rds_sent_count,
	.sent_meta = rds_sent_meta,
};
