/* replay-backend: the interface a replay store backend implements (Berkeley DB now, a shared
 * Redis store for several MX hosts later). Internal to the replay module: callers use replay.h.
 * Keys reach a backend already lowercased and length-checked; counts saturate at UINT32_MAX. */
#ifndef BACKSTOP_REPLAY_BACKEND_H
#define BACKSTOP_REPLAY_BACKEND_H

#include "replay.h"

/* the packed record: count, first seen, last seen, expiry day, in network byte order */
#define REPLAY_PACKED_BYTES 24

struct replay_backend {
	const char *name;
	int (*open)(const char *where, enum replay_durability dur, void **state, char *why,
	    size_t whylen);
	void (*close)(void *state);
	int (*get)(void *state, const char *key, size_t klen, struct replay_entry *e);
	int (*record)(void *state, const char *key, size_t klen, time_t now, long expiry_day,
	    uint32_t *count);
	int (*forget)(void *state, const char *key, size_t klen);
	int (*sweep)(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
	    bool *complete);
	int (*maintain)(void *state, time_t now);
	int (*iterate)(void *state, replay_iter_fn fn, void *arg);
	int (*files)(void *state, struct replay_stats *st);
};

extern const struct replay_backend replay_bdb_backend;

/* replay_entry_pack - write e as REPLAY_PACKED_BYTES bytes */
void replay_entry_pack(const struct replay_entry *e, unsigned char out[REPLAY_PACKED_BYTES]);
/* replay_entry_unpack - read REPLAY_PACKED_BYTES bytes into e */
void replay_entry_unpack(const unsigned char in[REPLAY_PACKED_BYTES], struct replay_entry *e);
/* replay_entry_bump - add one bounce at now to e (new when is_new), keeping the later expiry */
void replay_entry_bump(struct replay_entry *e, bool is_new, time_t now, long expiry_day);
/* replay_entry_expired - is the record past its expiry day at now? */
bool replay_entry_expired(const struct replay_entry *e, time_t now);

#endif
