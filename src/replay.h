/* replay: how many bounces each tagged address has collected, so that a leaked valid tag
 * cannot let a flood of backscatter through. A Berkeley DB environment shared by every
 * process that opens it (the threaded milter and the admin tool at once), or "disabled".
 * Each open handle holds a shared lock on DIR/replay.lock; replay_salvage takes it exclusively,
 * so that it never rebuilds the files under a process that has them open. */
#ifndef BACKSTOP_REPLAY_H
#define BACKSTOP_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* the longest key: an RFC 5321 mailbox, "local@domain" */
#define REPLAY_ADDR_MAX (64 + 1 + 255)
/* replay_maintain checkpoints and removes old logs at most this often */
#define REPLAY_CHECKPOINT_SECONDS 60
/* replay_maintain sweeps at most this many records each call */
#define REPLAY_SWEEP_BATCH 200

enum replay_err {
	REPLAY_OK = 0,
	REPLAY_ENOMEM = -1,	/* temporary */
	REPLAY_EBUSY = -2,	/* temporary: lock conflicts outlasted every retry */
	REPLAY_EIO = -3,	/* temporary: a read, write or sync failed (disk full?) */
	REPLAY_ERECOVER = -4,	/* temporary: the environment needs recovery; reopen it */
	REPLAY_EDB = -5,	/* temporary: another Berkeley DB failure */
	REPLAY_EACCES = -6,	/* permanent: the directory or its files cannot be written */
	REPLAY_ENOTDIR = -7,	/* permanent: the path is not a directory */
	REPLAY_EVERSION = -8,	/* permanent: files or library of another Berkeley DB version */
	REPLAY_ECORRUPT = -9,	/* permanent: the database or a record does not parse */
	REPLAY_EADDR = -10,	/* permanent: empty address or longer than REPLAY_ADDR_MAX */
	REPLAY_ENOTFOUND = -11,	/* permanent: no record for that address */
	REPLAY_EDISABLED = -12,	/* permanent: the store is disabled (ReplayDatabase none) */
	REPLAY_EINVAL = -13,	/* permanent: bad argument */
	REPLAY_EINUSE = -14,	/* temporary: another process holds the store's lock file */
	REPLAY_EUNAVAIL = -15,	/* temporary: Redis (ReplayRedis) did not answer in time */
	REPLAY_EAUTH = -16,	/* permanent: Redis refused the password (ReplayRedisPasswordFile) */
	REPLAY_ENOPERM = -17,	/* permanent: ReplayRedisUser's ACL forbids a command backstop needs */
};

enum replay_durability {
	REPLAY_DUR_SYNC,	/* every commit is flushed to disk: survives a power loss */
	REPLAY_DUR_WRITE,	/* every commit is written to the OS: survives a process crash */
	REPLAY_DUR_NONE,	/* commits stay in memory for a while: a crash may lose some */
};

/* one tagged address's record */
struct replay_entry {
	uint32_t count;		/* bounces recorded */
	time_t first_seen;	/* time of the first bounce */
	time_t last_seen;	/* time of the latest bounce */
	long expiry_day;	/* UTC day number after which the record is swept */
};

struct replay_stats {
	uint64_t records;	/* tagged addresses in the store */
	uint64_t bounces;	/* sum of all counts */
	uint64_t over_limit;	/* records whose count reached the limit given */
	uint64_t expired;	/* records a sweep at now would remove */
	time_t oldest;		/* earliest first_seen (0: no records) */
	time_t newest;		/* latest last_seen (0: no records) */
	uint64_t db_bytes;	/* size of the database files (replay.db and sent.db) */
	uint64_t log_bytes;	/* size of the transaction logs */
	uint64_t env_bytes;	/* size of the shared region files */
	unsigned log_files;	/* number of log files */
	uint64_t sent_records;	/* messages in the sent record */
	time_t sent_since;	/* when recording sent mail began (0: never) */
};

/* called by replay_iterate for each record; a non-zero return stops the walk */
typedef int (*replay_iter_fn)(const char *addr, const struct replay_entry *e, void *arg);

struct replay;

/* where the store is: Berkeley DB files in dir, or Redis when redis is set (dir is then not
 * used by the store itself; ReplayRedisFallback's local store is the caller's to open) */
struct replay_options {
	const char *dir;		/* ReplayDatabase; NULL (and no redis): disabled */
	enum replay_durability dur;	/* Berkeley DB only */
	const char *redis;		/* ReplayRedis: "unix:/path" or "host:port"; NULL: none */
	const char *redis_user;		/* ReplayRedisUser; NULL: the default user */
	const char *redis_password_file; /* ReplayRedisPasswordFile; NULL: no AUTH */
	unsigned redis_database;	/* ReplayRedisDatabase */
	const char *redis_prefix;	/* ReplayRedisPrefix; NULL: "backstop:" */
	unsigned redis_timeout_ms;	/* ReplayRedisTimeout, connect and each command; 0: 250 */
	unsigned redis_pool;		/* connections at most, shared by threads; 0: 8 */
	bool redis_fallback_local;	/* ReplayRedisFallback local: see below */
};
/* With redis_fallback_local and a dir, the handle also opens the Berkeley DB store in dir: a
 * count that Redis cannot take (REPLAY_EUNAVAIL) is taken there instead (each host then holds
 * the limit on its own counts), and replay_maintain adds those counts to Redis once it answers
 * again, removing them from dir. Without it a call that Redis cannot answer fails with
 * REPLAY_EUNAVAIL, for ReplayRedisFallback open or tempfail to decide. A sent record Redis
 * cannot take while its secret is known (Redis answered once since the open) is kept in dir,
 * under the same key, and looked up there when Redis does not have it; it is not copied to
 * Redis later, so a reply to it is known on this host only. */

/* replay_fell_back - has a call been taken by the local fallback store since the last time
 * this was asked (Redis did not answer)? For the caller's log */
bool replay_fell_back(struct replay *r);
/* replay_check_dir - can this process keep a store in dir (an existing directory it can
 * write)? REPLAY_OK, or REPLAY_ENOTDIR/EACCES with why naming the fix */
int replay_check_dir(const char *dir, char *why, size_t whylen);
/* replay_open - open (creating if needed) the store in directory dir; dir NULL: a disabled
 * handle on which every call succeeds and counts nothing. On failure why names the cause
 * (REPLAY_EINUSE: a salvage is running). The handle holds the shared lock until replay_close. */
int replay_open(const char *dir, enum replay_durability dur, struct replay **out, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* replay_open_opts - replay_open for either backend. With Redis, a server that does not answer
 * yet is no error (calls give REPLAY_EUNAVAIL until it does, why says what happened); a
 * password or ACL it refuses is (REPLAY_EAUTH, REPLAY_ENOPERM), and so is a password file
 * that everyone may read (REPLAY_EACCES) */
int replay_open_opts(const struct replay_options *o, struct replay **out, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* replay_backend_name - "bdb", "redis", or "none" for a disabled handle */
const char *replay_backend_name(const struct replay *r);
/* replay_close - close the handle (NULL is fine); the files stay for the next open */
void replay_close(struct replay *r);
/* replay_enabled - does this handle count anything (false for ReplayDatabase none)? */
bool replay_enabled(const struct replay *r);
/* replay_check - the count recorded for addr (0 if none, and always 0 when disabled) */
int replay_check(struct replay *r, const char *addr, uint32_t *count)
	__attribute__((warn_unused_result));
/* replay_record - add one bounce to addr at now; *count gets the new count (0 if disabled).
 * tag_expiry_day is the tag's expiry day; the record is kept one day past it. */
int replay_record(struct replay *r, const char *addr, time_t now, long tag_expiry_day,
    uint32_t *count) __attribute__((warn_unused_result));
/* replay_reserve - in one atomic step, if addr's count is below limit (limit 0: no limit), add
 * one bounce at now as replay_record does and set *granted; else change nothing. *count gets
 * the count after the step. Taken at RCPT, it keeps concurrent sessions (on one host, or on
 * several sharing Redis) from passing the limit by as many as are in flight. A granted
 * reservation counts as a bounce from then on: a message aborted afterwards (xxfi_abort, or
 * its recipient refused at end of data) should give it back with replay_release, else it
 * stays counted. A disabled store grants everything and counts nothing. */
int replay_reserve(struct replay *r, const char *addr, time_t now, long tag_expiry_day,
    uint32_t limit, uint32_t *count, bool *granted) __attribute__((warn_unused_result));
/* replay_release - give back one granted reservation of addr (the message did not arrive):
 * the count goes down by one, never below 0, and a record left at 0 is removed. Releasing
 * where there is no record (forgotten, or expired meanwhile) is not an error. */
int replay_release(struct replay *r, const char *addr, time_t now)
	__attribute__((warn_unused_result));
/* replay_get - the whole record of addr, or REPLAY_ENOTFOUND */
int replay_get(struct replay *r, const char *addr, struct replay_entry *e)
	__attribute__((warn_unused_result));
/* replay_forget - remove the record of addr (after a false positive), or REPLAY_ENOTFOUND */
int replay_forget(struct replay *r, const char *addr) __attribute__((warn_unused_result));
/* replay_sweep - look at up to batch more records, and as many sent records, resuming where
 * the last sweep stopped, and remove those expired at now; *complete is set when both walks
 * reached the end */
int replay_sweep(struct replay *r, time_t now, unsigned batch, uint64_t *removed,
    bool *complete) __attribute__((warn_unused_result));
/* replay_expire - remove every record expired at now, in small transactions */
int replay_expire(struct replay *r, time_t now, uint64_t *removed)
	__attribute__((warn_unused_result));
/* replay_maintain - periodic upkeep: a sweep batch, and a checkpoint with log removal when
 * REPLAY_CHECKPOINT_SECONDS have passed since the last one; call it every few seconds. With a
 * local fallback it also adds the counts kept there to Redis (a Redis still away is no error:
 * the next call tries again) */
int replay_maintain(struct replay *r, time_t now) __attribute__((warn_unused_result));
/* replay_iterate - call fn for each record in key order (a consistent view is not promised) */
int replay_iterate(struct replay *r, replay_iter_fn fn, void *arg)
	__attribute__((warn_unused_result));
/* replay_stats - counts, times and file sizes; over_limit counts records with count >= limit
 * (limit 0: none are over) */
int replay_stats(struct replay *r, time_t now, uint32_t limit, struct replay_stats *st)
	__attribute__((warn_unused_result));

/* One sent message, as the sent record keeps it (the replies issue): who sent it, when, to how
 * many recipients, and how many replies, receipts and bounces to it were accepted as proven. */
struct replay_sent {
	char sender[REPLAY_ADDR_MAX + 1];	/* the envelope sender, untagged, lowercase */
	time_t sent;				/* when it left */
	uint32_t rcpts;				/* how many recipients it had */
	uint32_t answers;			/* answers accepted as proven (replay_sent_answer) */
	long expiry_day;			/* UTC day number after which it is swept */
};

/* The sent record lives in the same store (a second database of the same environment, behind
 * the same backend), keyed by a keyed hash of the normalised Message-ID (msgclass_msgid) under
 * a random key the store makes when it is created. On a disabled store every call below
 * returns REPLAY_EDISABLED. */

/* replay_sent_record - remember that msgid left from sender (untagged) to rcpts recipients at
 * now, until expiry_day; recording the same msgid again keeps its answers */
int replay_sent_record(struct replay *r, const char *msgid, const char *sender, uint32_t rcpts,
    time_t now, long expiry_day) __attribute__((warn_unused_result));
/* replay_sent_get - the record of msgid, or REPLAY_ENOTFOUND (an expired one is not found) */
int replay_sent_get(struct replay *r, const char *msgid, time_t now, struct replay_sent *out)
	__attribute__((warn_unused_result));
/* replay_sent_answer - count one more accepted answer to msgid; *count gets the new count,
 * REPLAY_ENOTFOUND when there is no record */
int replay_sent_answer(struct replay *r, const char *msgid, time_t now, uint32_t *count)
	__attribute__((warn_unused_result));
/* replay_sent_since - when this store began to record sent mail (SentSince auto): the time
 * kept in the store, set to now by the first call that finds none */
int replay_sent_since(struct replay *r, time_t now, time_t *since)
	__attribute__((warn_unused_result));

/* replay_verify - check the database files of the store in dir (replay.db, and sent.db when
 * there is one), without the environment (no process should be writing them): REPLAY_OK,
 * REPLAY_ENOTFOUND (no replay.db yet) or REPLAY_ECORRUPT, with what is wrong in why */
int replay_verify(const char *dir, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* replay_salvage - rebuild the store in dir from every record still readable in its database
 * files; the old files are kept as replay.db.corrupt-DATE (named in aside) and, when there is
 * one, sent.db.corrupt-DATE, and the environment is made afresh. A key found twice keeps its
 * higher count (sent records: more answers). REPLAY_EINUSE, touching nothing, when another
 * process has the store open. *saved gets the number of records in the new replay.db. */
int replay_salvage(const char *dir, time_t now, enum replay_durability dur, char *aside,
    size_t asidelen, uint64_t *saved, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* replay_probe - for -n: can the handle do its work now? With Redis: the server answers, and
 * ReplayRedisUser may run what backstop runs (a reservation and its release on a probe key
 * under the prefix, a read, a SCAN step, the sent record's scripts). REPLAY_OK, or the error
 * with why naming the setting to fix; Berkeley DB and disabled handles: REPLAY_OK */
int replay_probe(struct replay *r, time_t now, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* replay_strerror - text for a replay_err code */
const char *replay_strerror(int err);
/* replay_err_temporary - should the caller retry later (4xx) rather than fail (5xx)? */
bool replay_err_temporary(int err);

#endif
