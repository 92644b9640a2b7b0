/* replay-bdb: the Berkeley DB 5.3 backend of the replay store. One transactional environment
 * that every process joins with DB_REGISTER|DB_RECOVER, so recovery after a crash runs by itself
 * on the next open; one btree of packed records. Handles are shared by threads; after a panic
 * (another process ran recovery) the first thread to see it reopens the handles for everyone.
 * An open handle holds a shared flock on replay.lock; salvage takes it exclusively, because
 * DB_REGISTER cannot tell it that a process still has the file it renames open. */
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

#include "replay-backend.h"

#define BDB_FILE "replay.db"
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
	unsigned gen;		/* bumped by each reopen */
	char *dir;
	int lock_fd;		/* holds the shared lock on replay.lock; -1: salvage holds it */
	u_int32_t txn_flags;
	char sweep_key[REPLAY_ADDR_MAX + 1];
	size_t sweep_klen;	/* 0: the next sweep starts at the beginning */
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

/* bdb_handles_open - create and open the environment and the database */
static int
bdb_handles_open(struct bdb *b)
{
	const u_int32_t flags = DB_CREATE | DB_INIT_MPOOL | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_TXN | DB_THREAD | DB_REGISTER | DB_RECOVER;
	DB_ENV *env = NULL;
	DB *db = NULL;
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
	if ((rc = db_create(&db, env, 0)) != 0)
		goto fail;
	if ((rc = db->set_pagesize(db, BDB_PAGE_SIZE)) != 0 ||
	    (rc = db->open(db, NULL, BDB_FILE, NULL, DB_BTREE,
		DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600)) != 0)
		goto fail;
	b->env = env;
	b->db = db;
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
	if (b->db != NULL)
		b->db->close(b->db, 0);
	if (b->env != NULL)
		b->env->close(b->env, 0);
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
		snprintf(why, whylen, "%s/%s: not a readable Berkeley DB btree%s", b->dir, BDB_FILE,
		    hint);
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
bdb_open(const char *dir, enum replay_durability dur, void **state, char *why, size_t whylen)
{
	int rc, fd;

	if ((rc = bdb_check_version(why, whylen)) != REPLAY_OK ||
	    (rc = replay_check_dir(dir, why, whylen)) != REPLAY_OK)
		return rc;
	if ((fd = bdb_lock(dir, LOCK_SH, why, whylen)) < 0)
		return fd;
	return bdb_open_locked(dir, dur, fd, state, why, whylen);
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
	struct record_args a = {key, klen, now, expiry_day, 0};
	int rc = bdb_map(bdb_txn(state, bdb_record_txn, &a, 0));

	*count = rc == REPLAY_OK ? a.count : 0;
	return rc;
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
	struct walk w;		/* in: where to resume; out: where the next sweep resumes */
	uint64_t removed;
	bool complete;
};

static int
bdb_sweep_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	struct sweep_args *a = arg;
	unsigned char kbuf[REPLAY_ADDR_MAX + 1], dbuf[REPLAY_PACKED_BYTES];
	struct walk w = a->w;
	struct replay_entry e;
	bool first = true;
	unsigned seen;
	DBC *c;
	DBT k, d;
	int rc, crc;

	a->removed = 0;
	a->complete = false;
	if ((rc = b->db->cursor(b->db, txn, &c, 0)) != 0)
		return rc;
	bdb_dbt_out(&k, kbuf, REPLAY_ADDR_MAX);
	bdb_dbt_out(&d, dbuf, sizeof(dbuf));
	for (seen = 0; seen < a->batch; seen++) {
		rc = bdb_cursor_next(c, &a->w, &k, &d, (char *)kbuf, &first, DB_RMW);
		if (rc != 0)
			break;
		memcpy(w.key, k.data, k.size);
		w.klen = k.size;
		if (d.size != REPLAY_PACKED_BYTES)
			continue;	/* left for an admin to look at */
		replay_entry_unpack(dbuf, &e);
		if (replay_entry_expired(&e, a->now)) {
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

static int
bdb_sweep(void *state, time_t now, unsigned batch, bool from_start, uint64_t *removed,
    bool *complete)
{
	struct bdb *b = state;
	struct sweep_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.now = now;
	a.batch = batch;
	pthread_mutex_lock(&b->sweep_mu);
	if (!from_start) {
		memcpy(a.w.key, b->sweep_key, b->sweep_klen);
		a.w.klen = b->sweep_klen;
	}
	rc = bdb_txn(b, bdb_sweep_txn, &a, 0);
	if (rc == 0) {
		memcpy(b->sweep_key, a.w.key, a.w.klen);
		b->sweep_klen = a.w.klen;
	}
	pthread_mutex_unlock(&b->sweep_mu);
	*removed = rc == 0 ? a.removed : 0;
	*complete = rc == 0 ? a.complete : false;
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
		if (strcmp(de->d_name, BDB_FILE) == 0) {
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

/* bdb_file - the path of the database file in dir */
static int
bdb_file(const char *dir, char *path, size_t size)
{
	return snprintf(path, size, "%s/%s", dir, BDB_FILE) >= (int)size ? -1 : 0;
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

int
replay_verify(const char *dir, char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	FILE *errs;
	DB *db;
	int rc;

	if (bdb_file(dir, path, sizeof(path)) != 0)
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

/* one salvaged record */
struct salvaged {
	char key[REPLAY_ADDR_MAX + 1];
	size_t klen;
	struct replay_entry e;
};

struct salvage {
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

/* bdb_salvage_add - keep one key/data pair that looks like a record; twice: the higher count */
static int
bdb_salvage_add(struct salvage *sv, const unsigned char *k, long klen, const unsigned char *d,
    long dlen)
{
	struct salvaged *t;
	struct replay_entry e;
	size_t i;

	if (klen <= 0 || klen > REPLAY_ADDR_MAX || dlen != REPLAY_PACKED_BYTES)
		return 0;
	replay_entry_unpack(d, &e);
	for (i = 0; i < sv->n; i++) {
		if (sv->v[i].klen == (size_t)klen && memcmp(sv->v[i].key, k, (size_t)klen) == 0) {
			if (e.count > sv->v[i].e.count)
				sv->v[i].e = e;
			return 0;
		}
	}
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 64;

		if ((t = realloc(sv->v, cap * sizeof(*t))) == NULL)
			return -1;
		sv->v = t;
		sv->cap = cap;
	}
	t = &sv->v[sv->n++];
	memcpy(t->key, k, (size_t)klen);
	t->key[klen] = '\0';
	t->klen = (size_t)klen;
	t->e = e;
	return 0;
}

/* bdb_salvage_parse - the key/data pairs of DB->verify's salvage output (db_dump's format:
 * hex lines that start with a space, key then data; the header lines do not, and with a
 * damaged first page there is no header at all) */
static int
bdb_salvage_parse(FILE *dump, struct salvage *sv)
{
	unsigned char k[REPLAY_ADDR_MAX + 1], d[REPLAY_PACKED_BYTES + 1];
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

static int
bdb_put_txn(struct bdb *b, DB_TXN *txn, void *arg)
{
	const struct salvaged *t = arg;
	unsigned char buf[REPLAY_PACKED_BYTES];
	DBT k, d;

	replay_entry_pack(&t->e, buf);
	bdb_dbt(&k, t->key, t->klen);
	bdb_dbt(&d, buf, sizeof(buf));
	return b->db->put(b->db, txn, &k, &d, 0);
}

/* bdb_salvage_write - a new store in dir holding the salvaged records (the caller holds the
 * exclusive lock, so this handle takes none) */
static int
bdb_salvage_write(const char *dir, enum replay_durability dur, const struct salvage *sv,
    char *why, size_t whylen)
{
	void *state;
	size_t i;
	int rc;

	if ((rc = bdb_open_locked(dir, dur, -1, &state, why, whylen)) != REPLAY_OK)
		return rc;
	for (i = 0; i < sv->n && rc == 0; i++)
		rc = bdb_txn(state, bdb_put_txn, &sv->v[i], 0);
	bdb_close(state);
	if (rc != 0)
		snprintf(why, whylen, "%s: writing the salvaged records: %s", dir, db_strerror(rc));
	return bdb_map(rc);
}

int
replay_salvage(const char *dir, time_t now, enum replay_durability dur, char *aside,
    size_t asidelen, uint64_t *saved, char *why, size_t whylen)
{
	struct salvage sv = {NULL, 0, 0};
	char path[4096], stamp[32];
	struct tm tm;
	int rc, fd;

	*saved = 0;
	if (bdb_file(dir, path, sizeof(path)) != 0 || gmtime_r(&now, &tm) == NULL)
		return REPLAY_EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (snprintf(aside, asidelen, "%s.corrupt-%s", path, stamp) >= (int)asidelen)
		return REPLAY_EINVAL;
	if ((rc = replay_check_dir(dir, why, whylen)) != REPLAY_OK)
		return rc;
	/* held to the end: no process joins the environment while it is taken apart */
	if ((fd = bdb_lock(dir, LOCK_EX, why, whylen)) < 0)
		return fd;
	if ((rc = bdb_salvage_read(path, &sv)) != REPLAY_OK)
		goto done;
	if (rename(path, aside) != 0 || bdb_env_remove(dir) != 0) {
		snprintf(why, whylen, "%s: cannot set the old files aside: %s", dir, strerror(errno));
		rc = bdb_map(errno);
		goto done;
	}
	rc = bdb_salvage_write(dir, dur, &sv, why, whylen);
	if (rc == REPLAY_OK)
		*saved = sv.n;
done:
	free(sv.v);
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
	.sweep = bdb_sweep,
	.maintain = bdb_maintain,
	.iterate = bdb_iterate,
	.files = bdb_files,
};
