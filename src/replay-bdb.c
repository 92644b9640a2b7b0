/* replay-bdb: the Berkeley DB 5.3 backend of the replay store. One transactional environment
 * that every process joins with DB_REGISTER|DB_RECOVER, so recovery after a crash runs by itself
 * on the next open; one btree of packed records. Handles are shared by threads; after a panic
 * (another process ran recovery) the first thread to see it reopens the handles for everyone.
 * An open handle holds a shared flock on replay.lock; salvage takes it exclusively, because
 * DB_REGISTER cannot tell it that a process still has the file it renames open.
 * The sent record is a second btree, sent.db, in the same environment (created on the first
 * open of an older store): 16-byte hashed keys, and one meta record under the 4-byte key "meta"
 * (which no hash equals) holding the hash secret and the since time. Salvage rebuilds both. */
#include "config.h"

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "replay-backend.h"

#define BDB_FILE "replay.db"
#define BDB_SENT_FILE "sent.db"
#define BDB_META_KEY "meta"
#define BDB_META_KLEN 4
/* the meta record: its version, the secret, the since time */
#define BDB_META_VERSION 1
#define BDB_META_BYTES (1 + REPLAY_SENT_SECRET_BYTES + 8)

/* the two files a sweep, a salvage or a put works on */
enum bdb_which { BDB_REPLAY = 0, BDB_SENT = 1 };
#define BDB_LOCK_FILE "replay.lock"
/* Region sizes must be the same in every process: recovery recreates the regions with the
 * values of the process that runs it. The cache holds about 10^6 records (see the bench).
 * A few hundred mutexes shared by the cache's hash buckets stay in the CPU cache, where one
 * per bucket would not. Pages stay at 4 KiB, one memory page each: larger ones cut a tree
 * level in cachegrind but cost more TLB misses on a real (virtual) machine, and a page lock
 * over fewer records lets more sync commits share one flush. */
#define BDB_CACHE_BYTES (160u << 20)
#define BDB_CACHE_MUTEXES 256
#define BDB_LOG_BUFFER (2u << 20)
#define BDB_PAGE_SIZE 4096
#define BDB_TX_MAX 1024
#define BDB_RETRIES 100
#define BDB_CHUNK 256
/* not a Berkeley DB code (those are -30800..-30999 or errno values): a record of bad size */
#define BDB_EBADREC (-1)

struct bdb {
	pthread_rwlock_t lock;	/* read: any operation; write: reopen after a panic */
	pthread_mutex_t mu;	/* checkpoint time and the error text */
	pthread_mutex_t sweep_mu; /* one sweep at a time, and its position */
	DB_ENV *env;		/* NULL after a failed reopen */
	DB *db;
	DB *sent;		/* the sent record */
	const char *bad_file;	/* the file an open failed on */
	unsigned gen;		/* bumped by each reopen */
	char *dir;
	int lock_fd;		/* holds the shared lock on replay.lock; -1: salvage holds it */
	u_int32_t txn_flags;
	char sweep_key[2][REPLAY_ADDR_MAX + 1];	/* by enum bdb_which */
	size_t sweep_klen[2];	/* 0: the next sweep starts at the beginning */
	time_t last_checkpoint;
	char errmsg[512];	/* the messages Berkeley DB gave, joined by "; " */
};

typedef int (*bdb_fn)(struct bdb *b, void *arg);
typedef int (*bdb_txn_fn)(struct bdb *b, DB_TXN *txn, void *arg);

static void
bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct bdb *b = env->app_private;

	(void)pfx;
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->errmsg[0] == '\0')
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", msg);
	else if (strlen(b->errmsg) + 2 < sizeof(b->errmsg))
		snprintf(b->errmsg + strlen(b->errmsg), sizeof(b->errmsg) - strlen(b->errmsg),
		    "; %s", msg);
	pthread_mutex_unlock(&b->mu);
}

static void
bdb_msgcall(const DB_ENV *env, const char *msg)
{
	(void)env;
	(void)msg;
}

static int
bdb_map(int rc)
{
	switch (rc) {
	case 0: return REPLAY_OK;
	case DB_NOTFOUND: case DB_KEYEMPTY: return REPLAY_ENOTFOUND;
	case DB_LOCK_DEADLOCK: case DB_LOCK_NOTGRANTED: return REPLAY_EBUSY;
	case DB_RUNRECOVERY: return REPLAY_ERECOVER;
	case DB_VERSION_MISMATCH: case DB_OLD_VERSION: return REPLAY_EVERSION;
	case DB_BUFFER_SMALL: case BDB_EBADREC: case DB_VERIFY_BAD: case DB_PAGE_NOTFOUND:
		return REPLAY_ECORRUPT;
	case ENOMEM: return REPLAY_ENOMEM;
	case EACCES: case EPERM: case EROFS: return REPLAY_EACCES;
	case ENOTDIR: case ENOENT: return REPLAY_ENOTDIR;
	case EIO: case ENOSPC: case EDQUOT: return REPLAY_EIO;
	default: return REPLAY_EDB;
	}
}

static void
bdb_dbt(DBT *t, const void *data, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->data = (void *)(uintptr_t)data;
	t->size = (u_int32_t)len;
}

static void
bdb_dbt_out(DBT *t, void *buf, size_t cap)
{
	memset(t, 0, sizeof(*t));
	t->data = buf;
	t->ulen = (u_int32_t)cap;
	t->flags = DB_DBT_USERMEM;
}

static uint64_t
bdb_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
bdb_put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* bdb_db_open - open (creating if needed) the btree file in env */
static int
bdb_db_open(DB_ENV *env, const char *file, DB **out)
{
	DB *db;
	int rc;

	*out = NULL;
	if ((rc = db_create(&db, env, 0)) != 0)
		return rc;
	if ((rc = db->set_pagesize(db, BDB_PAGE_SIZE)) != 0 ||
	    (rc = db->open(db, NULL, file, NULL, DB_BTREE,
		DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600)) != 0) {
		db->close(db, 0);
		return rc;
	}
	*out = db;
	return 0;
}

/* bdb_handles_open - create and open the environment and the databases */
static int
bdb_handles_open(struct bdb *b)
{
	const u_int32_t flags = DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_TXN | DB_THREAD | DB_REGISTER | DB_RECOVER;
	DB_ENV *env = NULL;
	DB *db = NULL, *sent = NULL;
	int rc;

	pthread_mutex_lock(&b->mu);
	b->errmsg[0] = '\0';
	pthread_mutex_unlock(&b->mu);
	if ((rc = db_env_create(&env, 0)) != 0)
		return rc;
	env->app_private = b;
	env->set_errcall(env, bdb_errcall);
	env->set_msgcall(env, bdb_msgcall);
	if ((rc = env->set_cachesize(env, 0, BDB_CACHE_BYTES, 1)) != 0 ||
	    (rc = env->set_lg_bsize(env, BDB_LOG_BUFFER)) != 0 ||
	    (rc = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (rc = env->set_tx_max(env, BDB_TX_MAX)) != 0 ||
	    (rc = env->set_mp_mtxcount(env, BDB_CACHE_MUTEXES)) != 0 ||
	    (rc = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (rc = env->open(env, b->dir, flags, 0600)) != 0)
		goto fail;
	b->bad_file = BDB_FILE;
	if ((rc = bdb_db_open(env, BDB_FILE, &db)) != 0)
		goto fail;
	b->bad_file = BDB_SENT_FILE;
	if ((rc = bdb_db_open(env, BDB_SENT_FILE, &sent)) != 0)
		goto fail;
	b->env = env;
	b->db = db;
	b->sent = sent;
	return 0;
fail:
	if (db != NULL)
		db->close(db, 0);
	env->close(env, 0);
	return rc;
}

static void
bdb_handles_close(struct bdb *b)
{
	if (b->sent != NULL)
		b->sent->close(b->sent, 0);
	if (b->db != NULL)
		b->db->close(b->db, 0);
	if (b->env != NULL)
		b->env->close(b->env, 0);
	b->sent = NULL;
	b->db = NULL;
	b->env = NULL;
}

/* bdb_reopen - after a panic: reopen unless another thread already did since gen */
static int
bdb_reopen(struct bdb *b, unsigned gen)
{
	int rc = 0;

	pthread_rwlock_wrlock(&b->lock);
	if (b->gen == gen) {
		bdb_handles_close(b);
		rc = bdb_handles_open(b);
		b->gen++;
	}
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

/* bdb_guard - run fn under the handle lock; after a panic reopen once and run it again */
static int
bdb_guard(struct bdb *b, bdb_fn fn, void *arg)
{
	unsigned gen;
	int rc, tries;

	for (tries = 0; tries < 2; tries++) {
		pthread_rwlock_rdlock(&b->lock);
		gen = b->gen;
		rc = b->env == NULL ? DB_RUNRECOVERY : fn(b, arg);
		pthread_rwlock_unlock(&b->lock);
		if (rc != DB_RUNRECOVERY || tries == 1)
			break;
		if ((rc = bdb_reopen(b, gen)) != 0)
			break;
	}
	return rc;
}

struct txn_call {
	bdb_txn_fn fn;
	void *arg;
	u_int32_t flags;
};

static void
bdb_backoff(int attempt)
{
	if (attempt < 4)
		sched_yield();
	else
		usleep((useconds_t)(50 * (attempt < 40 ? attempt : 40)));
}

/* bdb_txn_loop - fn in a transaction, retried when chosen as a deadlock victim */
static int
bdb_txn_loop(struct bdb *b, void *arg)
{
	struct txn_call *c = arg;
	DB_TXN *txn;
	int rc = DB_LOCK_DEADLOCK, attempt;

	for (attempt = 0; attempt < BDB_RETRIES; attempt++) {
		if ((rc = b->env->txn_begin(b->env, NULL, &txn, c->flags)) != 0)
			return rc;
		rc = c->fn(b, txn, c->arg);
		if (rc == 0)
			rc = txn->commit(txn, 0);
		else
			txn->abort(txn);
		if (rc != DB_LOCK_DEADLOCK && rc != DB_LOCK_NOTGRANTED)
			return rc;
		bdb_backoff(attempt);
	}
	return rc;
}

static int
bdb_txn(struct bdb *b, bdb_txn_fn fn, void *arg, u_int32_t extra)
{
	struct txn_call c = {fn, arg, b->txn_flags | extra};

	return bdb_guard(b, bdb_txn_loop, &c);
}

int
replay_check_dir(const char *dir, char *why, size_t whylen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		int e = errno;

		snprintf(why, whylen, "%s: %s: %s", dir, strerror(e), e == ENOENT ?
		    "create it, owned by the daemon's user" :
		    "the daemon's user must be able to reach it");
		return e == ENOENT || e == ENOTDIR ? REPLAY_ENOTDIR : REPLAY_EACCES;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s: not a directory: ReplayDatabase names a directory", dir);
		return REPLAY_ENOTDIR;
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(why, whylen, "%s: %s: the directory must be writable by the daemon's user",
		    dir, strerror(errno));
		return REPLAY_EACCES;
	}
	return REPLAY_OK;
}

static int
bdb_check_version(char *why, size_t whylen)
{
	int major, minor;

	db_version(&major, &minor, NULL);
	if (major == DB_VERSION_MAJOR && minor == DB_VERSION_MINOR)
		return REPLAY_OK;
	snprintf(why, whylen, "Berkeley DB library is %d.%d but backstop was built with %d.%d: "
	    "rebuild backstop", major, minor, DB_VERSION_MAJOR, DB_VERSION_MINOR);
	return REPLAY_EVERSION;
}

static void
bdb_open_why(struct bdb *b, int rc, char *why, size_t whylen)
{
	const char *hint = "";

	if (rc == EINVAL || rc == DB_VERIFY_BAD || rc == DB_PAGE_NOTFOUND)
		hint = ": the database may be corrupt: check it with backstop-replay verify, repair "
		    "it with backstop-replay salvage";
	else if (rc == DB_VERSION_MISMATCH || rc == DB_OLD_VERSION)
		hint = ": stop every process that uses it, then remove the files in the "
		    "directory (the counts start afresh), or upgrade them with that version's "
		    "db_recover and this version's db_upgrade";
	else if (rc == EACCES || rc == EPERM || rc == EROFS)
		hint = ": the files must belong to the daemon's user, on a writable file system";
	else if (rc == DB_RUNRECOVERY)
		hint = ": run db_recover -h on the directory";
	if (rc == EINVAL) {
		snprintf(why, whylen, "%s/%s: not a readable Berkeley DB btree%s", b->dir,
		    b->bad_file != NULL ? b->bad_file : BDB_FILE, hint);
		return;
	}
	snprintf(why, whylen, "%s: %s%s%s%s", b->dir, db_strerror(rc),
	    b->errmsg[0] != '\0' ? " (" : "", b->errmsg, b->errmsg[0] != '\0' ? ")" : "");
	if (strlen(why) + strlen(hint) < whylen)
		strcat(why, hint);
}

/* bdb_lock_why - why the lock on path is not ours: who holds it and what to do */
static void
bdb_lock_why(const char *dir, const char *path, int how, int e, char *why, size_t whylen)
{
	if (e != EWOULDBLOCK)
		snprintf(why, whylen, "%s: %s%s", path, strerror(e), e == ELOOP ?
		    ": a symbolic link in place of the store's lock file: remove it" :
		    e == EACCES || e == EPERM ? ": the file must belong to the daemon's user" : "");
	else if (how == LOCK_EX)
		snprintf(why, whylen, "%s: the replay store is open in another process (a running "
		    "backstop-milter, or another backstop-replay): stop it first, then run salvage",
		    dir);
	else
		snprintf(why, whylen, "%s: backstop-replay salvage is rebuilding the replay store "
		    "(it holds %s): try again when it is done", dir, path);
}

/* bdb_lock - lock dir's replay.lock (LOCK_SH or LOCK_EX, never waiting), creating it like the
 * store's other files; the descriptor holding the lock, or a replay_err with why */
static int
bdb_lock(const char *dir, int how, char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	int fd, e;

	if (snprintf(path, sizeof(path), "%s/%s", dir, BDB_LOCK_FILE) >= (int)sizeof(path))
		return REPLAY_EINVAL;
	/* O_NONBLOCK: a FIFO planted under the name must not hang the open */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "%s: not a regular file: remove it", path);
		return REPLAY_EACCES;
	}
	while (flock(fd, how | LOCK_NB) != 0) {
		if ((e = errno) == EINTR)
			continue;
		close(fd);
		goto fail;
	}
	return fd;
fail:
	bdb_lock_why(dir, path, how, e, why, whylen);
	return e == EWOULDBLOCK ? REPLAY_EINUSE : e == ENOSPC || e == EIO ? REPLAY_EIO :
	    e == ENOMEM || e == ENOLCK ? REPLAY_ENOMEM : REPLAY_EACCES;
}

static void
bdb_free(struct bdb *b)
{
	pthread_rwlock_destroy(&b->lock);
	pthread_mutex_destroy(&b->mu);
	pthread_mutex_destroy(&b->sweep_mu);
	/* after the handles are closed: the lock says "open" until nothing is */
	if (b->lock_fd >= 0)
		close(b->lock_fd);
	free(b->dir);
	free(b);
}

/* bdb_open_locked - open the store in dir; lock_fd (closed on failure) holds its lock */
static int
bdb_open_locked(const char *dir, enum replay_durability dur, int lock_fd, void **state,
    char *why, size_t whylen)
{
	struct bdb *b;
	int rc;

	if ((b = calloc(1, sizeof(*b))) == NULL || (b->dir = strdup(dir)) == NULL) {
		free(b);
		if (lock_fd >= 0)
			close(lock_fd);
		return REPLAY_ENOMEM;
	}
	b->lock_fd = lock_fd;
	pthread_rwlock_init(&b->lock, NULL);
	pthread_mutex_init(&b->mu, NULL);
	pthread_mutex_init(&b->sweep_mu, NULL);
	b->txn_flags = dur == REPLAY_DUR_SYNC ? DB_TXN_SYNC :
	    dur == REPLAY_DUR_WRITE ? DB_TXN_WRITE_NOSYNC : DB_TXN_NOSYNC;
	if ((rc = bdb_handles_open(b)) != 0) {
		bdb_open_why(b, rc, why, whylen);
		bdb_free(b);
		/* "unexpected file type or format": the database file does not parse */
		return rc == EINVAL ? REPLAY_ECORRUPT : bdb_map(rc);
	}
	*state = b;
	return REPLAY_OK;
}

static int
bdb_open(const struct replay_options *o, void **state, char *why, size_t whylen)
{
	const char *dir = o->dir;
	int rc, fd;

	if ((rc = bdb_check_version(why, whylen)) != REPLAY_OK ||
	    (rc = replay_check_dir(dir, why, whylen)) != REPLAY_OK)
		return rc;
	if ((fd = bdb_lock(dir, LOCK_SH, why, whylen)) < 0)
		return fd;
	return bdb_open_locked(dir, o->dur, fd, state, why, whylen);
}

static void
bdb_close(void *state)
{
	struct bdb *b = state;

	bdb_handles_close(b);
	bdb_free(b);
}

struct get_args {
	const char *key;
	size_t klen;
	struct replay_entry *e;
};

/* bdb_read - the record under key into e; DB_NOTFOUND if none */
static int
bdb_read(struct bdb *b, DB_TXN *txn, const char *key, size_t klen, u_int32_t flags,
    struct replay_entry *e)
{
	unsigned char buf[REPLAY_PACKED_BYTES];
	DBT k, d;
	int rc;

	bdb_dbt(&k, key, klen);
	bdb_dbt_out(&d, buf, sizeof(buf));
	if ((rc = b->db->get(b->db, txn, &k, &d, flags)) != 0)
		return rc;
	if (d.size != REPLAY_PACKED_BYTES)
		return BDB_EBADREC;
	replay_entry_unpack(buf, e);
	return 0;
}

static int
bdb_get_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct get_args *a = arg;

	return bdb_read(b, txn, a->key, a->klen, 0, a->e);
}

static int
bdb_get(void *state, const char *key, size_t klen, struct replay_entry *e)
{
	struct get_args a = {key, klen, e};

	return bdb_map(bdb_txn(state, bdb_get_txn, &a, 0));
}

struct record_args {
	const char *key;
	size_t klen;
	time_t now;
	long expiry_day;
	uint32_t count;
	uint32_t limit;		/* reserve: 0 no limit; record: always 0 */
	bool granted;
};

/* One search of the tree: the cursor that read the record with a write lock (DB_RMW)
 * overwrites it in place. */
static int
bdb_record_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct record_args *a = arg;
	unsigned char buf[REPLAY_PACKED_BYTES];
	struct replay_entry e;
	DBC *c;
	DBT k, d;
	int rc, crc;

	a->granted = false;	/* a deadlock victim's earlier run does not count */
	if ((rc = b->db->cursor(b->db, txn, &c, 0)) != 0)
		return rc;
	bdb_dbt(&k, a->key, a->klen);
	bdb_dbt_out(&d, buf, sizeof(buf));
	rc = c->get(c, &k, &d, DB_SET | DB_RMW);
	if (rc == 0 && d.size != REPLAY_PACKED_BYTES)
		rc = BDB_EBADREC;
	if (rc != 0 && rc != DB_NOTFOUND)
		goto done;
	if (rc == 0)
		replay_entry_unpack(buf, &e);
	if (rc == 0 && a->limit > 0 && e.count >= a->limit) {
		a->count = e.count;	/* refused: the write lock is dropped unused */
		rc = 0;
		goto done;
	}
	a->granted = true;
	replay_entry_bump(&e, rc == DB_NOTFOUND, a->now, a->expiry_day);
	replay_entry_pack(&e, buf);
	bdb_dbt(&d, buf, sizeof(buf));
	rc = c->put(c, &k, &d, rc == 0 ? DB_CURRENT : DB_KEYFIRST);
	if (rc == 0)
		a->count = e.count;
done:
	crc = c->close(c);
	return rc != 0 ? rc : crc;
}

static int
bdb_record(void *state, const char *key, size_t klen, time_t now, long expiry_day,
    uint32_t *count)
{
	struct record_args a = {key, klen, now, expiry_day, 0, 0, false};
	int rc = bdb_map(bdb_txn(state, bdb_record_txn, &a, 0));

	*count = rc == REPLAY_OK ? a.count : 0;
	return rc;
}

/* The same transaction as a record: the read under DB_RMW holds the write lock on the record,
 * so no other reservation reads the count between this one's check and its write. */
static int
bdb_reserve(void *state, const char *key, size_t klen, time_t now, long expiry_day,
    uint32_t limit, uint32_t *count, bool *granted)
{
	struct record_args a = {key, klen, now, expiry_day, 0, limit, false};
	int rc;

	rc = bdb_map(bdb_txn(state, bdb_record_txn, &a, 0));
	*count = rc == REPLAY_OK ? a.count : 0;
	*granted = rc == REPLAY_OK && a.granted;
	return rc;
}

static int
bdb_release_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct record_args *a = arg;
	unsigned char buf[REPLAY_PACKED_BYTES];
	struct replay_entry e;
	DBC *c;
	DBT k, d;
	int rc, crc;

	if ((rc = b->db->cursor(b->db, txn, &c, 0)) != 0)
		return rc;
	bdb_dbt(&k, a->key, a->klen);
	bdb_dbt_out(&d, buf, sizeof(buf));
	rc = c->get(c, &k, &d, DB_SET | DB_RMW);
	if (rc == 0 && d.size != REPLAY_PACKED_BYTES)
		rc = BDB_EBADREC;
	if (rc == DB_NOTFOUND)
		rc = 0;		/* nothing to give back */
	else if (rc == 0) {
		replay_entry_unpack(buf, &e);
		if (e.count <= a->limit) {
			rc = c->del(c, 0);
		} else {
			e.count -= a->limit;
			replay_entry_pack(&e, buf);
			bdb_dbt(&d, buf, sizeof(buf));
			rc = c->put(c, &k, &d, DB_CURRENT);
		}
	}
	crc = c->close(c);
	return rc != 0 ? rc : crc;
}

/* limit carries how many to give back */
static int
bdb_release(void *state, const char *key, size_t klen, time_t now, uint32_t n)
{
	struct record_args a = {key, klen, now, 0, 0, n, false};

	return bdb_map(bdb_txn(state, bdb_release_txn, &a, 0));
}

static int
bdb_forget_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct get_args *a = arg;
	DBT k;

	bdb_dbt(&k, a->key, a->klen);
	return b->db->del(b->db, txn, &k, 0);
}

static int
bdb_forget(void *state, const char *key, size_t klen)
{
	struct get_args a = {key, klen, NULL};

	return bdb_map(bdb_txn(state, bdb_forget_txn, &a, 0));
}

/* a walk visits records in key order from just after a resume key, in chunks */
struct walk {
	char key[REPLAY_ADDR_MAX + 1];	/* the last key handled */
	size_t klen;			/* 0: start at the beginning */
	bool started;
};

/* bdb_cursor_next - first record after w's key (or the first one) into k/d */
static int
bdb_cursor_next(DBC *c, const struct walk *w, DBT *k, DBT *d, char *kbuf, bool *first,
    u_int32_t rmw)
{
	int rc;

	if (!*first)
		return c->get(c, k, d, DB_NEXT | rmw);
	*first = false;
	if (w->klen == 0)
		return c->get(c, k, d, DB_FIRST | rmw);
	memcpy(kbuf, w->key, w->klen);
	k->size = (u_int32_t)w->klen;
	rc = c->get(c, k, d, DB_SET_RANGE | rmw);
	if (rc == 0 && k->size == w->klen && memcmp(k->data, w->key, w->klen) == 0)
		rc = c->get(c, k, d, DB_NEXT | rmw);
	return rc;
}

struct chunk {
	struct walk *w;
	size_t n;
	bool end;
	char keys[BDB_CHUNK][REPLAY_ADDR_MAX + 1];
	struct replay_entry e[BDB_CHUNK];
};

static int
bdb_chunk_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct chunk *ch = arg;
	unsigned char kbuf[REPLAY_ADDR_MAX + 1], dbuf[REPLAY_PACKED_BYTES];
	bool first = true;
	DBC *c;
	DBT k, d;
	int rc, crc;

	ch->n = 0;
	ch->end = false;
	if ((rc = b->db->cursor(b->db, txn, &c, DB_READ_COMMITTED)) != 0)
		return rc;
	bdb_dbt_out(&k, kbuf, REPLAY_ADDR_MAX);
	bdb_dbt_out(&d, dbuf, sizeof(dbuf));
	while (ch->n < BDB_CHUNK) {
		rc = bdb_cursor_next(c, ch->w, &k, &d, (char *)kbuf, &first, 0);
		if (rc == DB_NOTFOUND) {
			ch->end = true;
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (d.size != REPLAY_PACKED_BYTES || k.size == 0) {
			rc = BDB_EBADREC;
			break;
		}
		memcpy(ch->keys[ch->n], k.data, k.size);
		ch->keys[ch->n][k.size] = '\0';
		replay_entry_unpack(dbuf, &ch->e[ch->n]);
		ch->n++;
	}
	crc = c->close(c);
	return rc != 0 ? rc : crc;
}

static int
bdb_iterate(void *state, replay_iter_fn fn, void *arg)
{
	struct walk w = {{0}, 0, false};
	struct chunk *ch = malloc(sizeof(*ch));
	bool stop = false;
	size_t i;
	int rc = 0;

	if (ch == NULL)
		return REPLAY_ENOMEM;
	ch->w = &w;
	do {
		if ((rc = bdb_txn(state, bdb_chunk_txn, ch, DB_READ_COMMITTED)) != 0)
			break;
		for (i = 0; i < ch->n && !stop; i++)
			stop = fn(ch->keys[i], &ch->e[i], arg) != 0;
		if (ch->n > 0) {
			w.klen = strlen(ch->keys[ch->n - 1]);
			memcpy(w.key, ch->keys[ch->n - 1], w.klen);
		}
	} while (!stop && !ch->end);
	free(ch);
	return bdb_map(rc);
}

struct sweep_args {
	time_t now;
	unsigned batch;
	enum bdb_which which;
	struct walk w;		/* in: where to resume; out: where the next sweep resumes */
	uint64_t removed;
	bool complete;
};

/* bdb_expired - is the pair under the cursor a record of its file, expired at now? Anything
 * else (the meta record, a record of bad size) is left for an admin to look at. */
static bool
bdb_expired(enum bdb_which which, const DBT *k, const DBT *d, time_t now)
{
	struct replay_entry e;
	struct replay_sent s;

	if (which == BDB_REPLAY) {
		if (d->size != REPLAY_PACKED_BYTES)
			return false;
		replay_entry_unpack(d->data, &e);
		return replay_entry_expired(&e, now);
	}
	if (k->size != REPLAY_SENT_KEY_BYTES || replay_sent_unpack(d->data, d->size, &s) != 0)
		return false;
	return replay_sent_expired(&s, now);
}

static int
bdb_sweep_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct sweep_args *a = arg;
	unsigned char kbuf[REPLAY_ADDR_MAX + 1], dbuf[REPLAY_SENT_PACKED_MAX];
	DB *db = a->which == BDB_REPLAY ? b->db : b->sent;
	struct walk w = a->w;
	bool first = true;
	unsigned seen;
	DBC *c;
	DBT k, d;
	int rc, crc;

	a->removed = 0;
	a->complete = false;
	if ((rc = db->cursor(db, txn, &c, 0)) != 0)
		return rc;
	bdb_dbt_out(&k, kbuf, REPLAY_ADDR_MAX);
	bdb_dbt_out(&d, dbuf, sizeof(dbuf));
	for (seen = 0; seen < a->batch; seen++) {
		rc = bdb_cursor_next(c, &a->w, &k, &d, (char *)kbuf, &first, DB_RMW);
		if (rc != 0)
			break;
		memcpy(w.key, k.data, k.size);
		w.klen = k.size;
		if (bdb_expired(a->which, &k, &d, a->now)) {
			if ((rc = c->del(c, 0)) != 0)
				break;
			a->removed++;
		}
	}
	if (rc == DB_NOTFOUND) {
		a->complete = true;
		w.klen = 0;
		rc = 0;
	}
	crc = c->close(c);
	if (rc == 0 && (rc = crc) == 0)
		a->w = w;
	return rc;
}

/* bdb_sweep_one - a sweep batch of one file */
static int
bdb_sweep_one(struct bdb *b, enum bdb_which which, time_t now, unsigned batch, bool from_start,
    uint64_t *removed, bool *complete)
{
	struct sweep_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.now = now;
	a.batch = batch;
	a.which = which;
	pthread_mutex_lock(&b->sweep_mu);
	if (!from_start) {
		memcpy(a.w.key, b->sweep_key[which], b->sweep_klen[which]);
		a.w.klen = b->sweep_klen[which];
	}
	rc = bdb_txn(b, bdb_sweep_txn, &a, 0);
	if (rc == 0) {
		memcpy(b->sweep_key[which], a.w.key, a.w.klen);
		b->sweep_klen[which] = a.w.klen;
	}
	pthread_mutex_unlock(&b->sweep_mu);
	*removed = rc == 0 ? a.removed : 0;
	*complete = rc == 0 ? a.complete : false;
	return bdb_map(rc);
}

static int
bdb_sweep(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
    bool *complete)
{
	return bdb_sweep_one(state, BDB_REPLAY, now, batch, from_start, removed, complete);
}

static int
bdb_sent_sweep(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
    bool *complete)
{
	return bdb_sweep_one(state, BDB_SENT, now, batch, from_start, removed, complete);
}

struct sent_args {
	const unsigned char *key;
	const struct replay_sent *in;	/* sent_record */
	time_t now;			/* sent_answer */
	struct replay_sent out;
};

/* bdb_sent_cursor - a cursor on key in sent.db, write-locked (DB_RMW); *found says whether the
 * record is there, and s holds it when it parses (*bad when it does not) */
static int
bdb_sent_cursor(struct bdb *b, DB_TXN *txn, const unsigned char *key, DBC **c, bool *found,
    bool *bad, struct replay_sent *s)
{
	unsigned char buf[REPLAY_SENT_PACKED_MAX];
	DBT k, d;
	int rc;

	*found = *bad = false;
	if ((rc = b->sent->cursor(b->sent, txn, c, 0)) != 0)
		return rc;
	bdb_dbt(&k, key, REPLAY_SENT_KEY_BYTES);
	bdb_dbt_out(&d, buf, sizeof(buf));
	rc = (*c)->get(*c, &k, &d, DB_SET | DB_RMW);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc == DB_BUFFER_SMALL) {
		rc = 0;
		d.size = 0;	/* too long to be a record: bad */
	}
	if (rc != 0) {
		(*c)->close(*c);
		return rc;
	}
	*found = true;
	*bad = replay_sent_unpack(buf, d.size, s) != 0;
	return 0;
}

/* bdb_sent_put - write s at the cursor (over the record it found, or as a new one) */
static int
bdb_sent_put(DBC *c, const unsigned char *key, bool found, const struct replay_sent *s)
{
	unsigned char buf[REPLAY_SENT_PACKED_MAX];
	DBT k, d;

	bdb_dbt(&k, key, REPLAY_SENT_KEY_BYTES);
	bdb_dbt(&d, buf, replay_sent_pack(s, buf));
	return c->put(c, &k, &d, found ? DB_CURRENT : DB_KEYFIRST);
}

/* A record that does not parse is written over: the message left again, so this one is right. */
static int
bdb_sent_record_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct sent_args *a = arg;
	bool found, bad;
	DBC *c;
	int rc, crc;

	if ((rc = bdb_sent_cursor(b, txn, a->key, &c, &found, &bad, &a->out)) != 0)
		return rc;
	replay_sent_merge(&a->out, !found || bad, a->in);
	rc = bdb_sent_put(c, a->key, found, &a->out);
	crc = c->close(c);
	return rc != 0 ? rc : crc;
}

static int
bdb_sent_record(void *state, const unsigned char *key, const struct replay_sent *s)
{
	struct sent_args a = {key, s, 0, {{0}, 0, 0, 0, 0}};

	return bdb_map(bdb_txn(state, bdb_sent_record_txn, &a, 0));
}

static int
bdb_sent_answer_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct sent_args *a = arg;
	bool found, bad;
	DBC *c;
	int rc, crc;

	if ((rc = bdb_sent_cursor(b, txn, a->key, &c, &found, &bad, &a->out)) != 0)
		return rc;
	if (!found || (!bad && replay_sent_expired(&a->out, a->now)))
		rc = DB_NOTFOUND;
	else if (bad)
		rc = BDB_EBADREC;
	else {
		if (a->out.answers < UINT32_MAX)
			a->out.answers++;
		rc = bdb_sent_put(c, a->key, true, &a->out);
	}
	crc = c->close(c);
	return rc != 0 ? rc : crc;
}

static int
bdb_sent_answer(void *state, const unsigned char *key, time_t now, uint32_t *count)
{
	struct sent_args a = {key, NULL, now, {{0}, 0, 0, 0, 0}};
	int rc = bdb_map(bdb_txn(state, bdb_sent_answer_txn, &a, 0));

	*count = rc == REPLAY_OK ? a.out.answers : 0;
	return rc;
}

static int
bdb_sent_get_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct sent_args *a = arg;
	unsigned char buf[REPLAY_SENT_PACKED_MAX];
	DBT k, d;
	int rc;

	bdb_dbt(&k, a->key, REPLAY_SENT_KEY_BYTES);
	bdb_dbt_out(&d, buf, sizeof(buf));
	if ((rc = b->sent->get(b->sent, txn, &k, &d, 0)) != 0)
		return rc;
	return replay_sent_unpack(buf, d.size, &a->out) == 0 ? 0 : BDB_EBADREC;
}

static int
bdb_sent_get(void *state, const unsigned char *key, struct replay_sent *s)
{
	struct sent_args a = {key, NULL, 0, {{0}, 0, 0, 0, 0}};
	int rc = bdb_map(bdb_txn(state, bdb_sent_get_txn, &a, 0));

	if (rc == REPLAY_OK)
		*s = a.out;
	return rc;
}

struct meta_args {
	time_t now;
	const unsigned char *fresh;
	unsigned char secret[REPLAY_SENT_SECRET_BYTES];
	time_t since;
};

static int
bdb_meta_read(struct bdb *b, DB_TXN *txn, u_int32_t flags, struct meta_args *a)
{
	unsigned char buf[BDB_META_BYTES];
	DBT k, d;
	int rc;

	bdb_dbt(&k, BDB_META_KEY, BDB_META_KLEN);
	bdb_dbt_out(&d, buf, sizeof(buf));
	rc = b->sent->get(b->sent, txn, &k, &d, flags);
	if (rc == 0 && (d.size != BDB_META_BYTES || buf[0] != BDB_META_VERSION))
		rc = BDB_EBADREC;
	if (rc == 0) {
		memcpy(a->secret, buf + 1, REPLAY_SENT_SECRET_BYTES);
		a->since = (time_t)(int64_t)bdb_be64(buf + 1 + REPLAY_SENT_SECRET_BYTES);
	}
	sodium_memzero(buf, sizeof(buf));
	return rc == DB_BUFFER_SMALL ? BDB_EBADREC : rc;
}

/* Two processes that find no meta record at once: the write lock of DB_RMW on the page makes
 * the second wait, then DB_NOOVERWRITE tells it to read what the first wrote. */
static int
bdb_sent_meta_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct meta_args *a = arg;
	unsigned char buf[BDB_META_BYTES];
	DBT k, d;
	int rc;

	rc = bdb_meta_read(b, txn, DB_RMW, a);
	if (rc != DB_NOTFOUND || a->fresh == NULL)
		return rc;
	buf[0] = BDB_META_VERSION;
	memcpy(buf + 1, a->fresh, REPLAY_SENT_SECRET_BYTES);
	bdb_put_be64(buf + 1 + REPLAY_SENT_SECRET_BYTES, (uint64_t)(int64_t)a->now);
	bdb_dbt(&k, BDB_META_KEY, BDB_META_KLEN);
	bdb_dbt(&d, buf, sizeof(buf));
	rc = b->sent->put(b->sent, txn, &k, &d, DB_NOOVERWRITE);
	sodium_memzero(buf, sizeof(buf));
	if (rc == DB_KEYEXIST)
		return bdb_meta_read(b, txn, 0, a);
	if (rc == 0) {
		memcpy(a->secret, a->fresh, REPLAY_SENT_SECRET_BYTES);
		a->since = a->now;
	}
	return rc;
}

static int
bdb_sent_meta(void *state, time_t now, const unsigned char *fresh,
    unsigned char secret[REPLAY_SENT_SECRET_BYTES], time_t *since)
{
	struct meta_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.now = now;
	a.fresh = fresh;
	rc = bdb_map(bdb_txn(state, bdb_sent_meta_txn, &a, 0));
	if (rc == REPLAY_OK) {
		memcpy(secret, a.secret, REPLAY_SENT_SECRET_BYTES);
		*since = a.since;
	}
	sodium_memzero(&a, sizeof(a));
	return rc;
}

struct count_args {
	struct walk w;
	uint64_t n;
	bool end;
};

/* bdb_count_txn - count the sent records of the next chunk of keys (not the meta record) */
static int
bdb_count_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct count_args *a = arg;
	unsigned char kbuf[REPLAY_ADDR_MAX + 1], dbuf[REPLAY_SENT_PACKED_MAX];
	struct walk w = a->w;
	bool first = true;
	unsigned seen;
	uint64_t n = 0;
	DBC *c;
	DBT k, d;
	int rc, crc;

	if ((rc = b->sent->cursor(b->sent, txn, &c, DB_READ_COMMITTED)) != 0)
		return rc;
	bdb_dbt_out(&k, kbuf, REPLAY_ADDR_MAX);
	bdb_dbt_out(&d, dbuf, sizeof(dbuf));
	for (seen = 0; seen < 4 * BDB_CHUNK; seen++) {
		if ((rc = bdb_cursor_next(c, &a->w, &k, &d, (char *)kbuf, &first, 0)) != 0)
			break;
		memcpy(w.key, k.data, k.size);
		w.klen = k.size;
		n += k.size == REPLAY_SENT_KEY_BYTES;
	}
	if (rc == DB_NOTFOUND) {
		a->end = true;
		rc = 0;
	}
	crc = c->close(c);
	if (rc == 0 && (rc = crc) == 0) {
		a->w = w;	/* only now: a deadlock victim runs this again from a->w */
		a->n += n;
	}
	return rc;
}

static int
bdb_sent_count(void *state, uint64_t *records)
{
	struct count_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	do
		rc = bdb_txn(state, bdb_count_txn, &a, DB_READ_COMMITTED);
	while (rc == 0 && !a.end);
	*records = rc == 0 ? a.n : 0;
	return bdb_map(rc);
}

static int
bdb_checkpoint(struct bdb *b, void *arg)
{
	int rc;

	(void)arg;
	if ((rc = b->env->txn_checkpoint(b->env, 0, 0, 0)) != 0)
		return rc;
	return b->env->log_archive(b->env, NULL, DB_ARCH_REMOVE);
}

static int
bdb_maintain(void *state, time_t now)
{
	struct bdb *b = state;
	bool due;

	pthread_mutex_lock(&b->mu);
	due = b->last_checkpoint == 0 || now < b->last_checkpoint ||
	    now - b->last_checkpoint >= REPLAY_CHECKPOINT_SECONDS;
	if (due)
		b->last_checkpoint = now;
	pthread_mutex_unlock(&b->mu);
	if (!due)
		return REPLAY_OK;
	return bdb_map(bdb_guard(b, bdb_checkpoint, NULL));
}

static int
bdb_files(void *state, struct replay_stats *st)
{
	struct bdb *b = state;
	char path[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(b->dir)) == NULL)
		return bdb_map(errno);
	while ((de = readdir(d)) != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", b->dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (strcmp(de->d_name, BDB_FILE) == 0 || strcmp(de->d_name, BDB_SENT_FILE) == 0) {
			st->db_bytes += (uint64_t)sb.st_size;
		} else if (strncmp(de->d_name, "log.", 4) == 0) {
			st->log_bytes += (uint64_t)sb.st_blocks * 512;	/* sparse until written */
			st->log_files++;
		} else if (strncmp(de->d_name, "__db.", 5) == 0) {
			st->env_bytes += (uint64_t)sb.st_blocks * 512;
		}
	}
	closedir(d);
	return REPLAY_OK;
}

/* bdb_file - the path of the database file name in dir */
static int
bdb_file(const char *dir, const char *name, char *path, size_t size)
{
	return snprintf(path, size, "%s/%s", dir, name) >= (int)size ? -1 : 0;
}

/* bdb_first_line - the first line Berkeley DB wrote to its error stream, into why */
static void
bdb_first_line(FILE *errs, const char *path, char *why, size_t whylen)
{
	char line[400] = "";

	rewind(errs);
	if (fgets(line, sizeof(line), errs) == NULL)
		snprintf(line, sizeof(line), "the file does not verify");
	line[strcspn(line, "\n")] = '\0';
	snprintf(why, whylen, "%s: corrupt: %s", path, line);
}

/* bdb_verify_file - check one database file: REPLAY_OK, REPLAY_ENOTFOUND or REPLAY_ECORRUPT */
static int
bdb_verify_file(const char *dir, const char *name, char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	FILE *errs;
	DB *db;
	int rc;

	if (bdb_file(dir, name, path, sizeof(path)) != 0)
		return REPLAY_EINVAL;
	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? REPLAY_ENOTFOUND : REPLAY_EACCES;
	}
	if ((errs = tmpfile()) == NULL)
		return REPLAY_EIO;
	if ((rc = db_create(&db, NULL, 0)) != 0) {
		fclose(errs);
		return bdb_map(rc);
	}
	db->set_errfile(db, errs);
	rc = db->verify(db, path, NULL, NULL, 0);	/* destroys the handle */
	if (rc != 0)
		bdb_first_line(errs, path, why, whylen);
	fclose(errs);
	if (rc == 0)
		return REPLAY_OK;
	return rc == ENOENT ? REPLAY_ENOTFOUND : REPLAY_ECORRUPT;
}

/* A store from before the sent record has no sent.db: that is not damage. */
int
replay_verify(const char *dir, char *why, size_t whylen)
{
	int rc;

	if ((rc = bdb_verify_file(dir, BDB_FILE, why, whylen)) != REPLAY_OK)
		return rc;
	rc = bdb_verify_file(dir, BDB_SENT_FILE, why, whylen);
	if (rc == REPLAY_ENOTFOUND) {
		if (whylen > 0)
			why[0] = '\0';
		return REPLAY_OK;
	}
	return rc;
}

/* one salvaged key/data pair, and its rank when the key is found twice: a replay record's
 * count, a sent record's answers */
struct salvaged {
	unsigned char key[REPLAY_ADDR_MAX];
	size_t klen;
	unsigned char d[REPLAY_SENT_PACKED_MAX];
	size_t dlen;
	uint32_t rank;
	size_t seq;		/* order found: of equal ranks the first stays */
};

/* the pairs of one file */
struct salvage {
	enum bdb_which which;
	struct salvaged *v;
	size_t n, cap;
};

/* bdb_hex - decode a salvage line " 6162..." into out; its length, or -1 */
static long
bdb_hex(const char *line, unsigned char *out, size_t cap)
{
	size_t n = 0;
	unsigned hi, lo;

	for (line++; line[0] != '\0' && line[0] != '\n'; line += 2) {
		if (sscanf(line, "%1x%1x", &hi, &lo) != 2 || n == cap)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
	}
	return (long)n;
}

/* bdb_salvage_rank - is this pair a record of sv's file? 0 and its rank, or -1 */
static int
bdb_salvage_rank(const struct salvage *sv, const unsigned char *k, long klen,
    const unsigned char *d, long dlen, uint32_t *rank)
{
	struct replay_entry e;
	struct replay_sent s;

	*rank = 0;
	if (klen <= 0 || klen > REPLAY_ADDR_MAX || dlen <= 0)
		return -1;
	if (sv->which == BDB_REPLAY) {
		if (dlen != REPLAY_PACKED_BYTES)
			return -1;
		replay_entry_unpack(d, &e);
		*rank = e.count;
		return 0;
	}
	if (klen == BDB_META_KLEN && memcmp(k, BDB_META_KEY, BDB_META_KLEN) == 0)
		return dlen == BDB_META_BYTES && d[0] == BDB_META_VERSION ? 0 : -1;
	if (klen != REPLAY_SENT_KEY_BYTES || replay_sent_unpack(d, (size_t)dlen, &s) != 0)
		return -1;
	*rank = s.answers;
	return 0;
}

/* bdb_salvage_add - keep one key/data pair that looks like a record */
static int
bdb_salvage_add(struct salvage *sv, const unsigned char *k, long klen, const unsigned char *d,
    long dlen)
{
	struct salvaged *t;
	uint32_t rank;

	if (bdb_salvage_rank(sv, k, klen, d, dlen, &rank) != 0)
		return 0;
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 64;

		if ((t = realloc(sv->v, cap * sizeof(*t))) == NULL)
			return -1;
		sv->v = t;
		sv->cap = cap;
	}
	t = &sv->v[sv->n];
	memcpy(t->key, k, (size_t)klen);
	t->klen = (size_t)klen;
	memcpy(t->d, d, (size_t)dlen);
	t->dlen = (size_t)dlen;
	t->rank = rank;
	t->seq = sv->n++;
	return 0;
}

/* by key, then the higher rank first, then the first found */
static int
bdb_salvaged_cmp(const void *pa, const void *pb)
{
	const struct salvaged *a = pa, *b = pb;
	int c;

	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	if ((c = memcmp(a->key, b->key, a->klen)) != 0)
		return c;
	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* bdb_salvage_dedup - each key once, with its higher rank: a sort, not a search per pair, so
 * that a month of sent mail salvages in seconds */
static void
bdb_salvage_dedup(struct salvage *sv)
{
	size_t i, n = 0;

	if (sv->n == 0)
		return;
	qsort(sv->v, sv->n, sizeof(sv->v[0]), bdb_salvaged_cmp);
	for (i = 1; i < sv->n; i++) {
		if (sv->v[i].klen == sv->v[n].klen &&
		    memcmp(sv->v[i].key, sv->v[n].key, sv->v[n].klen) == 0)
			continue;
		if (++n != i)
			sv->v[n] = sv->v[i];
	}
	sv->n = n + 1;
}

/* bdb_salvage_parse - the key/data pairs of DB->verify's salvage output (db_dump's format:
 * hex lines that start with a space, key then data; the header lines do not, and with a
 * damaged first page there is no header at all) */
static int
bdb_salvage_parse(FILE *dump, struct salvage *sv)
{
	unsigned char k[REPLAY_ADDR_MAX + 1], d[REPLAY_SENT_PACKED_MAX + 1];
	char line[2 * (REPLAY_ADDR_MAX + 64)];
	bool have_key = false;
	long klen = 0;

	rewind(dump);
	while (fgets(line, sizeof(line), dump) != NULL) {
		if (line[0] != ' ') {
			have_key = false;	/* HEADER=END, DATA=END, or a header line */
		} else if (!have_key) {
			klen = bdb_hex(line, k, sizeof(k));
			have_key = true;
		} else {
			if (bdb_salvage_add(sv, k, klen, d, bdb_hex(line, d, sizeof(d))) != 0)
				return REPLAY_ENOMEM;
			have_key = false;
		}
	}
	return REPLAY_OK;
}

/* bdb_salvage_read - every record DB->verify can still find in the file at path */
static int
bdb_salvage_read(const char *path, struct salvage *sv)
{
	FILE *dump = tmpfile();
	DB *db;
	int rc;

	if (dump == NULL)
		return REPLAY_EIO;
	if ((rc = db_create(&db, NULL, 0)) != 0) {
		fclose(dump);
		return bdb_map(rc);
	}
	db->set_errfile(db, NULL);
	/* DB_AGGRESSIVE also reads pages the tree no longer reaches: the point of a salvage.
	 * Its error status only says the file was damaged, which is known. */
	(void)db->verify(db, path, NULL, dump, DB_SALVAGE | DB_AGGRESSIVE);
	fflush(dump);
	rc = bdb_salvage_parse(dump, sv);
	fclose(dump);
	if (rc == REPLAY_OK)
		bdb_salvage_dedup(sv);
	return rc;
}

/* bdb_env_remove - the environment's files (regions, registry, logs): made afresh at open */
static int
bdb_env_remove(const char *dir)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "__db.", 5) != 0 && strncmp(de->d_name, "log.", 4) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    unlink(path) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

struct put_args {
	enum bdb_which which;
	const struct salvaged *t;
};

static int
bdb_put_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	const struct put_args *a = arg;
	DB *db = a->which == BDB_REPLAY ? b->db : b->sent;
	DBT k, d;

	bdb_dbt(&k, a->t->key, a->t->klen);
	bdb_dbt(&d, a->t->d, a->t->dlen);
	return db->put(db, txn, &k, &d, 0);
}

/* bdb_salvage_write - a new store in dir holding the salvaged records of both files (the
 * caller holds the exclusive lock, so this handle takes none) */
static int
bdb_salvage_write(const char *dir, enum replay_durability dur, const struct salvage sv[2],
    char *why, size_t whylen)
{
	struct put_args a;
	void *state;
	size_t i;
	int rc, f;	/* f: an enum bdb_which */

	if ((rc = bdb_open_locked(dir, dur, -1, &state, why, whylen)) != REPLAY_OK)
		return rc;
	for (f = 0; f < 2 && rc == 0; f++) {
		a.which = f;
		for (i = 0; i < sv[f].n && rc == 0; i++) {
			a.t = &sv[f].v[i];
			rc = bdb_txn(state, bdb_put_txn, &a, 0);
		}
	}
	bdb_close(state);
	if (rc != 0)
		snprintf(why, whylen, "%s: writing the salvaged records: %s", dir, db_strerror(rc));
	return bdb_map(rc);
}

/* one file being salvaged: where it is, where it goes aside, whether it is there */
struct salvage_file {
	char path[4096];
	char aside[4096];
	bool absent;		/* a sent.db not made yet: no error */
};

/* bdb_salvage_take - read the records of dir's file name into sv */
static int
bdb_salvage_take(const char *dir, const char *name, const char *stamp, struct salvage *sv,
    struct salvage_file *f)
{
	struct stat st;

	if (bdb_file(dir, name, f->path, sizeof(f->path)) != 0 ||
	    snprintf(f->aside, sizeof(f->aside), "%s.corrupt-%s", f->path, stamp) >=
	    (int)sizeof(f->aside))
		return REPLAY_EINVAL;
	f->absent = sv->which == BDB_SENT && stat(f->path, &st) != 0 && errno == ENOENT;
	return f->absent ? REPLAY_OK : bdb_salvage_read(f->path, sv);
}

/* bdb_salvage_aside - rename the files read to their aside names, and remove the environment */
static int
bdb_salvage_aside(const char *dir, const struct salvage_file f[2], char *why, size_t whylen)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (f[i].absent || rename(f[i].path, f[i].aside) == 0)
			continue;
		snprintf(why, whylen, "%s: cannot set the old file aside: %s", f[i].path,
		    strerror(errno));
		return bdb_map(errno);
	}
	if (bdb_env_remove(dir) != 0) {
		snprintf(why, whylen, "%s: cannot remove the old environment: %s", dir,
		    strerror(errno));
		return bdb_map(errno);
	}
	return REPLAY_OK;
}

/* Both files are rebuilt: the sent record keeps its meta record (the hash secret), or every
 * sent record salvaged would be unreachable. sent.db is kept aside beside replay.db's. */
int
replay_salvage(const char *dir, time_t now, enum replay_durability dur, char *aside,
    size_t asidelen, uint64_t *saved, char *why, size_t whylen)
{
	struct salvage sv[2] = {{BDB_REPLAY, NULL, 0, 0}, {BDB_SENT, NULL, 0, 0}};
	struct salvage_file *f;
	char stamp[32];
	struct tm tm;
	int rc, fd;

	*saved = 0;
	if (gmtime_r(&now, &tm) == NULL)
		return REPLAY_EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if ((rc = replay_check_dir(dir, why, whylen)) != REPLAY_OK)
		return rc;
	if ((f = calloc(2, sizeof(*f))) == NULL)
		return REPLAY_ENOMEM;
	/* held to the end: no process joins the environment while it is taken apart */
	if ((fd = bdb_lock(dir, LOCK_EX, why, whylen)) < 0) {
		free(f);
		return fd;
	}
	if ((rc = bdb_salvage_take(dir, BDB_FILE, stamp, &sv[BDB_REPLAY], &f[0])) != REPLAY_OK ||
	    (rc = bdb_salvage_take(dir, BDB_SENT_FILE, stamp, &sv[BDB_SENT], &f[1])) != REPLAY_OK)
		goto done;
	if (snprintf(aside, asidelen, "%s", f[0].aside) >= (int)asidelen) {
		rc = REPLAY_EINVAL;
		goto done;
	}
	if ((rc = bdb_salvage_aside(dir, f, why, whylen)) != REPLAY_OK)
		goto done;
	rc = bdb_salvage_write(dir, dur, sv, why, whylen);
	if (rc == REPLAY_OK)
		*saved = sv[0].n;
done:
	free(sv[0].v);
	free(sv[1].v);
	free(f);
	close(fd);
	return rc;
}

const struct replay_backend replay_bdb_backend = {
	.name = "bdb",
	.open = bdb_open,
	.close = bdb_close,
	.get = bdb_get,
	.record = bdb_record,
	.forget = bdb_forget,
	.reserve = bdb_reserve,
	.release = bdb_release,
	.sweep = bdb_sweep,
	.maintain = bdb_maintain,
	.iterate = bdb_iterate,
	.files = bdb_files,
	.sent_record = bdb_sent_record,
	.sent_get = bdb_sent_get,
	.sent_answer = bdb_sent_answer,
	.sent_sweep = bdb_sent_sweep,
	.sent_count = bdb_sent_count,
	.sent_meta = bdb_sent_meta,
};
