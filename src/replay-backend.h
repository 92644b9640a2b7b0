/* replay-backend: the interface a replay store backend implements (Berkeley DB now, a shared
 * Redis store for several MX hosts). Internal to the replay module: callers use replay.h.
 * Keys reach a backend already lowercased and length-checked; counts saturate at UINT32_MAX.
 * The sent record's keys reach it already hashed; its hash secret and since time are the
 * backend's to keep, made once per store (the front end offers a fresh secret). */
#ifndef BACKSTOP_REPLAY_BACKEND_H
#define BACKSTOP_REPLAY_BACKEND_H

#include "replay.h"

/* the packed record: count, first seen, last seen, expiry day, in network byte order */
#define REPLAY_PACKED_BYTES 24
/* a sent record's key: BLAKE2b of the normalised Message-ID under the store's secret */
#define REPLAY_SENT_KEY_BYTES 16
#define REPLAY_SENT_SECRET_BYTES 32
/* a packed sent record (version 1): version, sent, rcpts, answers, expiry day, the sender's
 * length (2 bytes) and the sender, in network byte order */
#define REPLAY_SENT_VERSION 1
#define REPLAY_SENT_HEAD_BYTES 23
#define REPLAY_SENT_PACKED_MAX (REPLAY_SENT_HEAD_BYTES + REPLAY_ADDR_MAX)

struct replay_backend {
	const char *name;
	int (*open)(const struct replay_options *o, void **state, char *why, size_t whylen);
	void (*close)(void *state);
	int (*get)(void *state, const char *key, size_t klen, struct replay_entry *e);
	int (*record)(void *state, const char *key, size_t klen, time_t now, long expiry_day,
	    uint32_t *count);
	int (*forget)(void *state, const char *key, size_t klen);
	/* one atomic step: bump as record does when the count is below limit (0: none) */
	int (*reserve)(void *state, const char *key, size_t klen, time_t now, long expiry_day,
	    uint32_t limit, uint32_t *count, bool *granted);
	/* n less, never below 0; a record at 0 is removed; no record: REPLAY_OK */
	int (*release)(void *state, const char *key, size_t klen, time_t now, uint32_t n);
	/* add e's count to the record, keeping the earlier first, later last and expiry (the
	 * counts a fallback store kept while the shared one was away); NULL: not offered */
	int (*merge)(void *state, const char *key, size_t klen, const struct replay_entry *e);
	int (*sweep)(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
	    bool *complete);
	int (*maintain)(void *state, time_t now);
	int (*iterate)(void *state, replay_iter_fn fn, void *arg);
	int (*files)(void *state, struct replay_stats *st);
	/* may the store be used now (replay_probe)? NULL: nothing to probe */
	int (*probe)(void *state, time_t now, char *why, size_t whylen);
	/* the sent record: key is REPLAY_SENT_KEY_BYTES long */
	int (*sent_record)(void *state, const unsigned char *key, const struct replay_sent *s);
	int (*sent_get)(void *state, const unsigned char *key, struct replay_sent *s);
	int (*sent_answer)(void *state, const unsigned char *key, time_t now, uint32_t *count);
	int (*sent_sweep)(void *state, time_t now, unsigned batch, bool from_start,
	    uint64_t *removed, bool *complete);
	int (*sent_count)(void *state, uint64_t *records);
	/* the store's secret and since time; when the store has none yet: fresh NULL gives
	 * REPLAY_ENOTFOUND, else fresh and now are kept (once, whoever comes first) and returned */
	int (*sent_meta)(void *state, time_t now, const unsigned char *fresh,
	    unsigned char secret[REPLAY_SENT_SECRET_BYTES], time_t *since);
};

extern const struct replay_backend replay_bdb_backend;
extern const struct replay_backend replay_redis_backend;

/* replay_entry_pack - write e as REPLAY_PACKED_BYTES bytes */
void replay_entry_pack(const struct replay_entry *e, unsigned char out[REPLAY_PACKED_BYTES]);
/* replay_entry_unpack - read REPLAY_PACKED_BYTES bytes into e */
void replay_entry_unpack(const unsigned char in[REPLAY_PACKED_BYTES], struct replay_entry *e);
/* replay_entry_bump - add one bounce at now to e (new when is_new), keeping the later expiry */
void replay_entry_bump(struct replay_entry *e, bool is_new, time_t now, long expiry_day);
/* replay_entry_expired - is the record past its expiry day at now? */
bool replay_entry_expired(const struct replay_entry *e, time_t now);
/* replay_sent_pack - write s into out (REPLAY_SENT_PACKED_MAX bytes); its length */
size_t replay_sent_pack(const struct replay_sent *s, unsigned char *out);
/* replay_sent_unpack - read len bytes into s: 0, or -1 if they are not a sent record */
int replay_sent_unpack(const unsigned char *in, size_t len, struct replay_sent *s);
/* replay_sent_merge - old (the stored record, or nothing when is_new) recorded again as s:
 * the first sender and time, the most recipients, the answers and the later expiry stay */
void replay_sent_merge(struct replay_sent *old, bool is_new, const struct replay_sent *s);
/* replay_sent_expired - is the sent record past its expiry day at now? */
bool replay_sent_expired(const struct replay_sent *s, time_t now);

#endif
