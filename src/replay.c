/* replay: the public face of the replay store. Normalises keys (lowercase, length-checked),
 * packs records, and hands each call to the backend; a handle opened without a directory is
 * disabled and answers every call with "nothing counted". */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "replay-backend.h"
#include "replay.h"

struct replay {
	const struct replay_backend *be;	/* NULL: disabled */
	void *state;
};

int
replay_open(const char *dir, enum replay_durability dur, struct replay **out, char *why,
    size_t whylen)
{
	struct replay *r;
	int rc;

	*out = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if (dur != REPLAY_DUR_SYNC && dur != REPLAY_DUR_WRITE && dur != REPLAY_DUR_NONE)
		return REPLAY_EINVAL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return REPLAY_ENOMEM;
	if (dir != NULL) {
		r->be = &replay_bdb_backend;
		rc = r->be->open(dir, dur, &r->state, why, whylen);
		if (rc != REPLAY_OK) {
			free(r);
			return rc;
		}
	}
	*out = r;
	return REPLAY_OK;
}

void
replay_close(struct replay *r)
{
	if (r == NULL)
		return;
	if (r->be != NULL)
		r->be->close(r->state);
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
	return r->be->get(r->state, key, klen, e);
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
	return r->be->record(r->state, key, klen, now, tag_expiry_day + 1, count);
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

int
replay_sweep(struct replay *r, time_t now, unsigned batch, uint64_t *removed, bool *complete)
{
	*removed = 0;
	*complete = true;
	if (!replay_enabled(r))
		return REPLAY_OK;
	if (batch == 0)
		return REPLAY_EINVAL;
	return r->be->sweep(r->state, now, batch, false, removed, complete);
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
		rc = r->be->sweep(r->state, now, REPLAY_SWEEP_BATCH, first, &n, &complete);
		if (rc != REPLAY_OK)
			return rc;
		*removed += n;
		first = false;
	}
	return REPLAY_OK;
}

int
replay_maintain(struct replay *r, time_t now)
{
	uint64_t removed;
	bool complete;
	int rc;

	if (!replay_enabled(r))
		return REPLAY_OK;
	rc = r->be->sweep(r->state, now, REPLAY_SWEEP_BATCH, false, &removed, &complete);
	if (rc != REPLAY_OK)
		return rc;
	return r->be->maintain(r->state, now);
}

int
replay_iterate(struct replay *r, replay_iter_fn fn, void *arg)
{
	if (!replay_enabled(r))
		return REPLAY_OK;
	return r->be->iterate(r->state, fn, arg);
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
	if (rc != REPLAY_OK)
		return rc;
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
	default: return "unknown replay error";
	}
}

bool
replay_err_temporary(int err)
{
	return err == REPLAY_ENOMEM || err == REPLAY_EBUSY || err == REPLAY_EIO ||
	    err == REPLAY_ERECOVER || err == REPLAY_EDB || err == REPLAY_EINUSE;
}
