/* replay: the public face of the replay store. Normalises keys (lowercase, length-checked),
 * packs records, and hands each call to the backend (Berkeley DB, or Redis when ReplayRedis is
 * set); a handle opened without a directory is
 * disabled and answers every call with "nothing counted". The sent record's keys are hashed
 * here, so no backend ever sees a Message-ID; the store's secret is cached once known. */
#include "config.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "replay-backend.h"
#include "replay.h"

struct replay {
	const struct replay_backend *be;	/* NULL: disabled */
	void *state;
	void *local;				/* the fallback Berkeley DB store, or NULL */
	atomic_bool fell_back;			/* a call was taken by local since asked */
	pthread_mutex_t mu;			/* the three below */
	unsigned char *secret;			/* sodium_malloc'd; NULL until known */
	time_t since;
};

static int replay_sent_meta(struct replay *r, time_t now, bool create);

int
replay_open_opts(const struct replay_options *o, struct replay **out, char *why, size_t whylen)
{
	struct replay *r;
	int rc;

	*out = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if (o->dur != REPLAY_DUR_SYNC && o->dur != REPLAY_DUR_WRITE && o->dur != REPLAY_DUR_NONE)
		return REPLAY_EINVAL;
	/* the sent record's secret lives in sodium_malloc'd memory (idempotent, as in keyring) */
	if (sodium_init() < 0)
		return REPLAY_ENOMEM;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return REPLAY_ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	if (o->redis != NULL)
		r->be = &replay_redis_backend;
	else if (o->dir != NULL)
		r->be = &replay_bdb_backend;
	if (r->be != NULL && (rc = r->be->open(o, &r->state, why, whylen)) != REPLAY_OK) {
		pthread_mutex_destroy(&r->mu);
		free(r);
		return rc;
	}
	if (o->redis != NULL && o->redis_fallback_local && o->dir != NULL &&
	    (rc = replay_bdb_backend.open(o, &r->local, why, whylen)) != REPLAY_OK) {
		r->local = NULL;
		replay_close(r);
		return rc;
	}
	*out = r;
	return REPLAY_OK;
}

/* replay_local - should a call that failed with rc be taken by the fallback store? */
static bool
replay_local(struct replay *r, int rc)
{
	if (rc != REPLAY_EUNAVAIL || r->local == NULL)
		return false;
	atomic_store(&r->fell_back, true);
	return true;
}

bool
replay_fell_back(struct replay *r)
{
	return r != NULL && atomic_exchange(&r->fell_back, false);
}

int
replay_open(const char *dir, enum replay_durability dur, struct replay **out, char *why,
    size_t whylen)
{
	struct replay_options o;

	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.dur = dur;
	return replay_open_opts(&o, out, why, whylen);
}

const char *
replay_backend_name(const struct replay *r)
{
	return replay_enabled(r) ? r->be->name : "none";
}

void
replay_close(struct replay *r)
{
	if (r == NULL)
		return;
	if (r->be != NULL)
		r->be->close(r->state);
	if (r->local != NULL)
		replay_bdb_backend.close(r->local);
	sodium_free(r->secret);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

bool
replay_enabled(const struct replay *r)
{
	return r != NULL && r->be != NULL;
}

/* replay_key - lowercase addr into buf (REPLAY_ADDR_MAX + 1 bytes), its length in *len */
static int
replay_key(const char *addr, char *buf, size_t *len)
{
	size_t i;

	if (addr == NULL)
		return REPLAY_EADDR;
	for (i = 0; addr[i] != '\0'; i++) {
		if (i == REPLAY_ADDR_MAX)
			return REPLAY_EADDR;
		buf[i] = addr_lower(addr[i]);
	}
	if (i == 0)
		return REPLAY_EADDR;
	buf[i] = '\0';
	*len = i;
	return REPLAY_OK;
}

int
replay_check(struct replay *r, const char *addr, uint32_t *count)
{
	struct replay_entry e;
	int rc;

	*count = 0;
	rc = replay_get(r, addr, &e);
	if (rc == REPLAY_ENOTFOUND || rc == REPLAY_EDISABLED)
		return REPLAY_OK;
	if (rc == REPLAY_OK)
		*count = e.count;
	return rc;
}

int
replay_get(struct replay *r, const char *addr, struct replay_entry *e)
{
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	int rc;

	memset(e, 0, sizeof(*e));
	if ((rc = replay_key(addr, key, &klen)) != REPLAY_OK)
		return rc;
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	rc = r->be->get(r->state, key, klen, e);
	if (replay_local(r, rc))
		rc = replay_bdb_backend.get(r->local, key, klen, e);
	return rc;
}

int
replay_record(struct replay *r, const char *addr, time_t now, long tag_expiry_day,
    uint32_t *count)
{
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	int rc;

	*count = 0;
	if ((rc = replay_key(addr, key, &klen)) != REPLAY_OK)
		return rc;
	if (!replay_enabled(r))
		return REPLAY_OK;
	rc = r->be->record(r->state, key, klen, now, tag_expiry_day + 1, count);
	if (replay_local(r, rc))
		rc = replay_bdb_backend.record(r->local, key, klen, now, tag_expiry_day + 1, count);
	return rc;
}

int
replay_reserve(struct replay *r, const char *addr, time_t now, long tag_expiry_day,
    uint32_t limit, uint32_t *count, bool *granted)
{
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	int rc;

	*count = 0;
	*granted = false;
	if ((rc = replay_key(addr, key, &klen)) != REPLAY_OK)
		return rc;
	if (!replay_enabled(r)) {
		*granted = true;
		return REPLAY_OK;
	}
	rc = r->be->reserve(r->state, key, klen, now, tag_expiry_day + 1, limit, count, granted);
	if (replay_local(r, rc))
		rc = replay_bdb_backend.reserve(r->local, key, klen, now, tag_expiry_day + 1, limit,
		    count, granted);
	return rc;
}

int
replay_release(struct replay *r, const char *addr, time_t now)
{
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	int rc;

	if ((rc = replay_key(addr, key, &klen)) != REPLAY_OK)
		return rc;
	if (!replay_enabled(r))
		return REPLAY_OK;
	rc = r->be->release(r->state, key, klen, now, 1);
	if (replay_local(r, rc))
		rc = replay_bdb_backend.release(r->local, key, klen, now, 1);
	return rc;
}

int
replay_forget(struct replay *r, const char *addr)
{
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	int rc;

	if ((rc = replay_key(addr, key, &klen)) != REPLAY_OK)
		return rc;
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	return r->be->forget(r->state, key, klen);
}

/* replay_sweep_both - a sweep batch of the replay records, then one of the sent record */
static int
replay_sweep_both(struct replay *r, time_t now, unsigned batch, bool from_start,
    uint64_t *removed, bool *complete)
{
	uint64_t n = 0, m = 0;
	bool c1 = false, c2 = false;
	int rc;

	rc = r->be->sweep(r->state, now, batch, from_start, &n, &c1);
	if (rc == REPLAY_OK)
		rc = r->be->sent_sweep(r->state, now, batch, from_start, &m, &c2);
	*removed = n + m;
	*complete = rc == REPLAY_OK && c1 && c2;
	return rc;
}

int
replay_sweep(struct replay *r, time_t now, unsigned batch, uint64_t *removed, bool *complete)
{
	*removed = 0;
	*complete = true;
	if (!replay_enabled(r))
		return REPLAY_OK;
	if (batch == 0)
		return REPLAY_EINVAL;
	return replay_sweep_both(r, now, batch, false, removed, complete);
}

int
replay_expire(struct replay *r, time_t now, uint64_t *removed)
{
	bool complete = false, first = true;
	uint64_t n;
	int rc;

	*removed = 0;
	if (!replay_enabled(r))
		return REPLAY_OK;
	while (!complete) {
		rc = replay_sweep_both(r, now, REPLAY_SWEEP_BATCH, first, &n, &complete);
		if (rc != REPLAY_OK)
			return rc;
		*removed += n;
		first = false;
	}
	return REPLAY_OK;
}

struct push {
	struct replay *r;
	time_t now;
	int rc;
};

/* replay_push_one - add one fallback record to Redis, then take exactly that many off it (a
 * bounce counted there meanwhile stays for the next push) */
static int
replay_push_one(const char *addr, const struct replay_entry *e, void *arg)
{
	struct push *p = arg;
	size_t klen = strlen(addr);

	p->rc = p->r->be->merge(p->r->state, addr, klen, e);
	if (p->rc == REPLAY_OK)
		p->rc = replay_bdb_backend.release(p->r->local, addr, klen, p->now, e->count);
	return p->rc != REPLAY_OK;
}

/* replay_push - the fallback store's counts into Redis; Redis still away is no error */
static int
replay_push(struct replay *r, time_t now)
{
	struct push p = {r, now, REPLAY_OK};
	uint64_t removed;
	bool complete;
	int rc;

	if (r->be->merge == NULL)
		return REPLAY_OK;
	rc = replay_bdb_backend.iterate(r->local, replay_push_one, &p);
	if (rc == REPLAY_OK)
		rc = p.rc;
	if (rc == REPLAY_OK || rc == REPLAY_EUNAVAIL)
		rc = replay_bdb_backend.maintain(r->local, now);
	if (rc == REPLAY_OK)	/* sent records made there while Redis was away expire there */
		rc = replay_bdb_backend.sent_sweep(r->local, now, REPLAY_SWEEP_BATCH, false,
		    &removed, &complete);
	return rc;
}

int
replay_maintain(struct replay *r, time_t now)
{
	uint64_t removed;
	bool complete;
	int rc;

	if (!replay_enabled(r))
		return REPLAY_OK;
	rc = replay_sweep_both(r, now, REPLAY_SWEEP_BATCH, false, &removed, &complete);
	if (rc == REPLAY_OK)
		rc = r->be->maintain(r->state, now);
	if (rc == REPLAY_OK && r->local != NULL)
		rc = replay_push(r, now);
	return rc;
}

int
replay_iterate(struct replay *r, replay_iter_fn fn, void *arg)
{
	if (!replay_enabled(r))
		return REPLAY_OK;
	return r->be->iterate(r->state, fn, arg);
}

int
replay_probe(struct replay *r, time_t now, char *why, size_t whylen)
{
	if (whylen > 0)
		why[0] = '\0';
	if (!replay_enabled(r) || r->be->probe == NULL)
		return REPLAY_OK;
	return r->be->probe(r->state, now, why, whylen);
}

/* replay_sent_known - ask the backend for the secret and since time, offering a fresh secret
 * when create; the caller holds r->mu */
static int
replay_sent_known(struct replay *r, time_t now, bool create)
{
	unsigned char fresh[REPLAY_SENT_SECRET_BYTES], secret[REPLAY_SENT_SECRET_BYTES];
	time_t since;
	int rc;

	if (create)
		randombytes_buf(fresh, sizeof(fresh));
	rc = r->be->sent_meta(r->state, now, create ? fresh : NULL, secret, &since);
	sodium_memzero(fresh, sizeof(fresh));
	if (rc == REPLAY_OK && (r->secret = sodium_malloc(sizeof(secret))) == NULL)
		rc = REPLAY_ENOMEM;
	if (rc == REPLAY_OK) {
		memcpy(r->secret, secret, sizeof(secret));
		sodium_mprotect_readonly(r->secret);
		r->since = since;
	}
	sodium_memzero(secret, sizeof(secret));
	return rc;
}

/* replay_sent_meta - the store's secret and since time into the handle's cache (made by the
 * backend when create and the store has none); REPLAY_ENOTFOUND when none and !create */
static int
replay_sent_meta(struct replay *r, time_t now, bool create)
{
	int rc = REPLAY_OK;

	pthread_mutex_lock(&r->mu);
	if (r->secret == NULL)
		rc = replay_sent_known(r, now, create);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* replay_sent_key - the key of msgid: its keyed hash under the store's secret */
static int
replay_sent_key(struct replay *r, const char *msgid, time_t now, bool create,
    unsigned char key[REPLAY_SENT_KEY_BYTES])
{
	int rc;

	if (msgid == NULL || msgid[0] == '\0')
		return REPLAY_EINVAL;
	if ((rc = replay_sent_meta(r, now, create)) != REPLAY_OK)
		return rc;
	/* the secret never changes once known, so it is read without the lock */
	if (crypto_generichash(key, REPLAY_SENT_KEY_BYTES, (const unsigned char *)msgid,
	    strlen(msgid), r->secret, REPLAY_SENT_SECRET_BYTES) != 0)
		return REPLAY_EINVAL;
	return REPLAY_OK;
}

int
replay_sent_record(struct replay *r, const char *msgid, const char *sender, uint32_t rcpts,
    time_t now, long expiry_day)
{
	unsigned char key[REPLAY_SENT_KEY_BYTES];
	struct replay_sent s;
	size_t len;
	int rc;

	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	memset(&s, 0, sizeof(s));
	if ((rc = replay_key(sender, s.sender, &len)) != REPLAY_OK)
		return rc;
	s.sent = now;
	s.rcpts = rcpts;
	s.expiry_day = expiry_day;
	if ((rc = replay_sent_key(r, msgid, now, true, key)) != REPLAY_OK)
		return rc;
	rc = r->be->sent_record(r->state, key, &s);
	if (replay_local(r, rc))
		rc = replay_bdb_backend.sent_record(r->local, key, &s);
	return rc;
}

/* replay_sent_local - a sent record Redis does not have (or cannot say) may be in the
 * fallback store, recorded there while Redis was away, under the same key */
static bool
replay_sent_local(const struct replay *r, int rc)
{
	return (rc == REPLAY_EUNAVAIL || rc == REPLAY_ENOTFOUND) && r->local != NULL;
}

int
replay_sent_get(struct replay *r, const char *msgid, time_t now, struct replay_sent *out)
{
	unsigned char key[REPLAY_SENT_KEY_BYTES];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	if ((rc = replay_sent_key(r, msgid, now, false, key)) != REPLAY_OK)
		return rc;
	rc = r->be->sent_get(r->state, key, out);
	if (replay_sent_local(r, rc) &&
	    replay_bdb_backend.sent_get(r->local, key, out) == REPLAY_OK)
		rc = REPLAY_OK;
	if (rc != REPLAY_OK)
		return rc;
	if (replay_sent_expired(out, now)) {
		memset(out, 0, sizeof(*out));
		return REPLAY_ENOTFOUND;
	}
	return REPLAY_OK;
}

int
replay_sent_answer(struct replay *r, const char *msgid, time_t now, uint32_t *count)
{
	unsigned char key[REPLAY_SENT_KEY_BYTES];
	int rc;

	*count = 0;
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	if ((rc = replay_sent_key(r, msgid, now, false, key)) != REPLAY_OK)
		return rc;
	rc = r->be->sent_answer(r->state, key, now, count);
	if (replay_sent_local(r, rc) &&
	    replay_bdb_backend.sent_answer(r->local, key, now, count) == REPLAY_OK)
		rc = REPLAY_OK;
	return rc;
}

int
replay_sent_since(struct replay *r, time_t now, time_t *since)
{
	int rc;

	*since = 0;
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	if ((rc = replay_sent_meta(r, now, true)) == REPLAY_OK)
		*since = r->since;
	return rc;
}

struct stats_walk {
	struct replay_stats *st;
	time_t now;
	uint32_t limit;
};

static int
replay_stats_one(const char *addr, const struct replay_entry *e, void *arg)
{
	struct stats_walk *w = arg;
	struct replay_stats *st = w->st;

	(void)addr;
	st->records++;
	st->bounces += e->count;
	if (w->limit > 0 && e->count >= w->limit)
		st->over_limit++;
	if (replay_entry_expired(e, w->now))
		st->expired++;
	if (st->oldest == 0 || e->first_seen < st->oldest)
		st->oldest = e->first_seen;
	if (e->last_seen > st->newest)
		st->newest = e->last_seen;
	return 0;
}

int
replay_stats(struct replay *r, time_t now, uint32_t limit, struct replay_stats *st)
{
	struct stats_walk w = {st, now, limit};
	int rc;

	memset(st, 0, sizeof(*st));
	if (!replay_enabled(r))
		return REPLAY_EDISABLED;
	rc = r->be->iterate(r->state, replay_stats_one, &w);
	if (rc == REPLAY_OK)
		rc = r->be->sent_count(r->state, &st->sent_records);
	if (rc == REPLAY_OK)
		rc = replay_sent_meta(r, now, false);
	if (rc == REPLAY_ENOTFOUND)
		rc = REPLAY_OK;		/* nothing recorded yet: since stays 0 */
	if (rc != REPLAY_OK)
		return rc;
	st->sent_since = r->since;
	return r->be->files(r->state, st);
}

static void
put_be(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

void
replay_entry_pack(const struct replay_entry *e, unsigned char out[REPLAY_PACKED_BYTES])
{
	put_be(out, e->count, 4);
	put_be(out + 4, (uint64_t)(int64_t)e->first_seen, 8);
	put_be(out + 12, (uint64_t)(int64_t)e->last_seen, 8);
	put_be(out + 20, (uint32_t)(int32_t)e->expiry_day, 4);
}

void
replay_entry_unpack(const unsigned char in[REPLAY_PACKED_BYTES], struct replay_entry *e)
{
	e->count = (uint32_t)get_be(in, 4);
	e->first_seen = (time_t)(int64_t)get_be(in + 4, 8);
	e->last_seen = (time_t)(int64_t)get_be(in + 12, 8);
	e->expiry_day = (long)(int32_t)(uint32_t)get_be(in + 20, 4);
}

void
replay_entry_bump(struct replay_entry *e, bool is_new, time_t now, long expiry_day)
{
	if (is_new) {
		memset(e, 0, sizeof(*e));
		e->first_seen = now;
		e->expiry_day = expiry_day;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	if (now > e->last_seen)
		e->last_seen = now;
	if (now < e->first_seen)
		e->first_seen = now;
	if (expiry_day > e->expiry_day)
		e->expiry_day = expiry_day;
}

bool
replay_entry_expired(const struct replay_entry *e, time_t now)
{
	return clock_day(now) > e->expiry_day;
}

size_t
replay_sent_pack(const struct replay_sent *s, unsigned char *out)
{
	size_t n = strnlen(s->sender, REPLAY_ADDR_MAX);

	out[0] = REPLAY_SENT_VERSION;
	put_be(out + 1, (uint64_t)(int64_t)s->sent, 8);
	put_be(out + 9, s->rcpts, 4);
	put_be(out + 13, s->answers, 4);
	put_be(out + 17, (uint32_t)(int32_t)s->expiry_day, 4);
	put_be(out + 21, n, 2);
	memcpy(out + REPLAY_SENT_HEAD_BYTES, s->sender, n);
	return REPLAY_SENT_HEAD_BYTES + n;
}

int
replay_sent_unpack(const unsigned char *in, size_t len, struct replay_sent *s)
{
	size_t n;

	if (len < REPLAY_SENT_HEAD_BYTES || in[0] != REPLAY_SENT_VERSION)
		return -1;
	n = (size_t)get_be(in + 21, 2);
	if (n == 0 || n > REPLAY_ADDR_MAX || len != REPLAY_SENT_HEAD_BYTES + n ||
	    memchr(in + REPLAY_SENT_HEAD_BYTES, '\0', n) != NULL)
		return -1;
	s->sent = (time_t)(int64_t)get_be(in + 1, 8);
	s->rcpts = (uint32_t)get_be(in + 9, 4);
	s->answers = (uint32_t)get_be(in + 13, 4);
	s->expiry_day = (long)(int32_t)(uint32_t)get_be(in + 17, 4);
	memcpy(s->sender, in + REPLAY_SENT_HEAD_BYTES, n);
	s->sender[n] = '\0';
	return 0;
}

/* A message is recorded again when it leaves twice (a retry after a temporary failure, or
 * copies through two hosts): the recipients are the larger figure, not the sum, so that a
 * retry cannot double what the record allows. */
void
replay_sent_merge(struct replay_sent *old, bool is_new, const struct replay_sent *s)
{
	if (is_new) {
		*old = *s;
		old->answers = 0;
		return;
	}
	if (s->sent < old->sent)
		old->sent = s->sent;
	if (s->rcpts > old->rcpts)
		old->rcpts = s->rcpts;
	if (s->expiry_day > old->expiry_day)
		old->expiry_day = s->expiry_day;
}

bool
replay_sent_expired(const struct replay_sent *s, time_t now)
{
	return clock_day(now) > s->expiry_day;
}

const char *
replay_strerror(int err)
{
	switch (err) {
	case REPLAY_OK: return "success";
	case REPLAY_ENOMEM: return "out of memory";
	case REPLAY_EBUSY: return "the replay store stayed locked through every retry";
	case REPLAY_EIO: return "the replay store could not read or write its files";
	case REPLAY_ERECOVER: return "the replay store needs recovery; reopen it";
	case REPLAY_EDB: return "Berkeley DB failed";
	case REPLAY_EACCES: return "the replay store's directory or files cannot be written";
	case REPLAY_ENOTDIR: return "the replay store's path is not an existing directory";
	case REPLAY_EVERSION: return "the replay store was made by another Berkeley DB version";
	case REPLAY_ECORRUPT: return "the replay store is corrupt";
	case REPLAY_EADDR: return "empty or over-long address";
	case REPLAY_ENOTFOUND: return "no record for that address";
	case REPLAY_EDISABLED: return "replay tracking is disabled (ReplayDatabase none)";
	case REPLAY_EINVAL: return "invalid argument";
	case REPLAY_EINUSE: return "the replay store is locked by another process";
	case REPLAY_EUNAVAIL: return "Redis (ReplayRedis) did not answer in time";
	case REPLAY_EAUTH: return "Redis refused the password: check ReplayRedisPasswordFile "
	    "(and ReplayRedisUser)";
	case REPLAY_ENOPERM: return "Redis refused a command: the ACL of ReplayRedisUser must allow "
	    "what backstop runs";
	default: return "unknown replay error";
	}
}

bool
replay_err_temporary(int err)
{
	return err == REPLAY_ENOMEM || err == REPLAY_EBUSY || err == REPLAY_EIO ||
	    err == REPLAY_ERECOVER || err == REPLAY_EDB || err == REPLAY_EINUSE ||
	    err == REPLAY_EUNAVAIL;
}
