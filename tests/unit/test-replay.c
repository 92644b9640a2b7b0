/* test-replay: the replay store's contract on one process. Counting and keys, the record
 * layout, expiry (exactly the expired records go, in whole passes and in small batches), the
 * disabled store, and the clear errors: another Berkeley DB version, unwritable files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "replay-backend.h"
#include "replay.h"
#include "tap.h"

#define T0 1764183600	/* 2025-11-26 19:00:00 UTC */
#define DAY0 (T0 / CLOCK_DAY)

static char base[64];

static char *
mkstore(const char *name)
{
	static char buf[8][256];
	static int n;
	char *p = buf[n++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", base, name);
	if (mkdir(p, 0755) != 0)
		bail_out("mkdir");
	return p;
}

static struct replay *
open_ok(const char *dir, enum replay_durability dur)
{
	struct replay *r = NULL;
	char why[512];
	int rc = replay_open(dir, dur, &r, why, sizeof(why));

	if (rc != REPLAY_OK) {
		printf("# %s: %s\n", replay_strerror(rc), why);
		bail_out("replay_open");
	}
	return r;
}

static void
test_counting(void)
{
	struct replay *r = open_ok(mkstore("count"), REPLAY_DUR_WRITE);
	struct replay_entry e;
	char longaddr[REPLAY_ADDR_MAX + 2];
	uint32_t c = 99;
	int i;

	ok(replay_enabled(r), "a store with a directory is enabled");
	is_int(replay_check(r, "prvs=0730a1b2c3=alice@example.com", &c), REPLAY_OK, "check new");
	is_int(c, 0, "an unknown address has count 0");
	for (i = 1; i <= 5; i++) {
		if (replay_record(r, "prvs=0730a1b2c3=alice@example.com", T0 + i, DAY0 + 7, &c) !=
		    REPLAY_OK)
			break;
	}
	is_int(c, 5, "five records count 5");
	is_int(replay_record(r, "PRVS=0730A1B2C3=Alice@Example.COM", T0 + 10, DAY0 + 6, &c),
	    REPLAY_OK, "record in upper case");
	is_int(c, 6, "the key is case-insensitive");
	is_int(replay_get(r, "prvs=0730a1b2c3=alice@example.com", &e), REPLAY_OK, "get");
	is_int(e.count, 6, "get: count");
	is_int(e.first_seen, T0 + 1, "get: first seen");
	is_int(e.last_seen, T0 + 10, "get: last seen");
	is_int(e.expiry_day, DAY0 + 8, "get: expiry is the tag's expiry day plus one (the later)");
	is_int(replay_record(r, "prvs=0730a1b2c3=bob@example.com", T0, DAY0 + 7, &c), REPLAY_OK,
	    "another address");
	is_int(c, 1, "counts are per address");
	is_int(replay_record(r, "", T0, DAY0, &c), REPLAY_EADDR, "empty address refused");
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	is_int(replay_record(r, longaddr, T0, DAY0, &c), REPLAY_EADDR, "over-long address refused");
	longaddr[REPLAY_ADDR_MAX] = '\0';
	is_int(replay_record(r, longaddr, T0, DAY0, &c), REPLAY_OK, "longest address accepted");
	is_int(replay_forget(r, "prvs=0730a1b2c3=ALICE@example.com"), REPLAY_OK, "forget");
	is_int(replay_check(r, "prvs=0730a1b2c3=alice@example.com", &c), REPLAY_OK, "check after");
	is_int(c, 0, "a forgotten address counts from zero");
	is_int(replay_forget(r, "prvs=0730a1b2c3=alice@example.com"), REPLAY_ENOTFOUND,
	    "forget twice: not found");
	is_int(replay_get(r, "nobody@example.com", &e), REPLAY_ENOTFOUND, "get unknown: not found");
	is_int(replay_maintain(r, T0), REPLAY_OK, "maintain checkpoints");
	replay_close(r);
}

static void
test_reopen(void)
{
	const char *dir = mkstore("reopen");
	struct replay *r = open_ok(dir, REPLAY_DUR_SYNC);
	struct replay_stats st;
	uint32_t c;

	if (replay_record(r, "a@example.com", T0, DAY0, &c) != REPLAY_OK ||
	    replay_record(r, "a@example.com", T0 + 5, DAY0, &c) != REPLAY_OK ||
	    replay_record(r, "b@example.com", T0 + 9, DAY0 - 5, &c) != REPLAY_OK)
		bail_out("record");
	replay_close(r);
	r = open_ok(dir, REPLAY_DUR_NONE);
	is_int(replay_check(r, "a@example.com", &c), REPLAY_OK, "reopened: check");
	is_int(c, 2, "counts survive close and reopen");
	is_int(replay_stats(r, T0, 2, &st), REPLAY_OK, "stats");
	is_int((long long)st.records, 2, "stats: records");
	is_int((long long)st.bounces, 3, "stats: bounces");
	is_int((long long)st.over_limit, 1, "stats: over the limit of 2");
	is_int((long long)st.expired, 1, "stats: expired at now");
	is_int(st.oldest, T0, "stats: oldest first seen");
	is_int(st.newest, T0 + 9, "stats: newest last seen");
	ok(st.db_bytes > 0 && st.log_bytes > 0 && st.env_bytes > 0 && st.log_files >= 1,
	    "stats: file sizes");
	replay_close(r);
}

static void
test_layout(void)
{
	static const unsigned char want[REPLAY_PACKED_BYTES] = {
		0x01, 0x02, 0x03, 0x04,				/* count */
		0x00, 0x00, 0x00, 0x00, 0x69, 0x27, 0x4f, 0x70,	/* first seen */
		0x00, 0x00, 0x00, 0x00, 0x69, 0x27, 0x4f, 0x71,	/* last seen */
		0x00, 0x00, 0x50, 0x29,				/* expiry day */
	};
	struct replay_entry e = {0x01020304, 1764183920, 1764183921, 20521}, back;
	unsigned char buf[REPLAY_PACKED_BYTES];

	replay_entry_pack(&e, buf);
	ok(memcmp(buf, want, sizeof(buf)) == 0, "packed record: big-endian fixed layout");
	replay_entry_unpack(buf, &back);
	ok(back.count == e.count && back.first_seen == e.first_seen &&
	    back.last_seen == e.last_seen && back.expiry_day == e.expiry_day, "unpack round trip");
	e.count = UINT32_MAX;
	replay_entry_bump(&e, false, T0, 0);
	is_int(e.count, UINT32_MAX, "the count saturates instead of wrapping");
}

static void
test_disabled(void)
{
	struct replay *r = NULL;
	struct replay_entry e;
	struct replay_stats st;
	uint64_t n = 7;
	bool complete = false;
	char why[64];
	uint32_t c = 9;

	is_int(replay_open(NULL, REPLAY_DUR_WRITE, &r, why, sizeof(why)), REPLAY_OK,
	    "ReplayDatabase none: open succeeds");
	ok(r != NULL && !replay_enabled(r), "the handle is disabled");
	is_int(replay_record(r, "a@example.com", T0, DAY0, &c), REPLAY_OK, "disabled: record");
	is_int(c, 0, "disabled: nothing is counted");
	is_int(replay_check(r, "a@example.com", &c), REPLAY_OK, "disabled: check");
	is_int(c, 0, "disabled: every count is 0");
	is_int(replay_get(r, "a@example.com", &e), REPLAY_EDISABLED, "disabled: get says so");
	is_int(replay_forget(r, "a@example.com"), REPLAY_EDISABLED, "disabled: forget says so");
	is_int(replay_stats(r, T0, 1, &st), REPLAY_EDISABLED, "disabled: stats says so");
	is_int(replay_sweep(r, T0, 10, &n, &complete), REPLAY_OK, "disabled: sweep");
	ok(n == 0 && complete, "disabled: the sweep removes nothing");
	is_int(replay_maintain(r, T0), REPLAY_OK, "disabled: maintain");
	ok(!replay_err_temporary(REPLAY_EDISABLED), "disabled is not a temporary error");
	replay_close(r);
	ok(!replay_enabled(NULL), "NULL handle is disabled");
	replay_close(NULL);
}

struct seen {
	unsigned n;
	unsigned bad;
	char last[REPLAY_ADDR_MAX + 1];
};

static int
collect(const char *addr, const struct replay_entry *e, void *arg)
{
	struct seen *s = arg;

	if (strcmp(addr, s->last) <= 0 && s->n > 0)
		s->bad++;	/* not in key order, or seen twice */
	if (strncmp(addr, "keep", 4) != 0 || e->count != 1)
		s->bad++;	/* an expired record survived */
	snprintf(s->last, sizeof(s->last), "%s", addr);
	s->n++;
	return 0;
}

/* fill_expiring - n records that expire after DAY0 + 1, and (keep) n that live 30 days more */
static void
fill_expiring(struct replay *r, int n, bool keep)
{
	char key[64];
	uint32_t c;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "gone%04d@example.com", i);
		if (replay_record(r, key, T0, DAY0, &c) != REPLAY_OK)
			bail_out("record gone");
		snprintf(key, sizeof(key), "keep%04d@example.com", i);
		if (keep && replay_record(r, key, T0, DAY0 + 30, &c) != REPLAY_OK)
			bail_out("record keep");
	}
}

static void
test_expiry(void)
{
	struct replay *r = open_ok(mkstore("expire"), REPLAY_DUR_NONE);
	struct seen s = {0};
	uint64_t removed, total = 0;
	bool complete = false;
	int calls = 0;

	fill_expiring(r, 700, true);
	is_int(replay_expire(r, T0 + 1 * CLOCK_DAY, &removed), REPLAY_OK, "expire the day after");
	is_int((long long)removed, 0, "a tag's record is kept through the day after its expiry");
	is_int(replay_expire(r, T0 + 2 * CLOCK_DAY, &removed), REPLAY_OK, "expire two days after");
	is_int((long long)removed, 700, "exactly the expired records are removed");
	is_int(replay_iterate(r, collect, &s), REPLAY_OK, "iterate");
	is_int(s.n, 700, "every live record is left");
	is_int(s.bad, 0, "only live records, each once, in key order");

	fill_expiring(r, 700, false);	/* the "gone" records again */
	while (!complete && calls < 1000) {
		if (replay_sweep(r, T0 + 2 * CLOCK_DAY, 37, &removed, &complete) != REPLAY_OK)
			break;
		total += removed;
		calls++;
	}
	/* the sweep resumed mid-tree; one more pass reaches the records before that point */
	complete = false;
	while (!complete && calls < 1000) {
		if (replay_sweep(r, T0 + 2 * CLOCK_DAY, 37, &removed, &complete) != REPLAY_OK)
			break;
		total += removed;
		calls++;
	}
	is_int((long long)total, 700, "batched sweeps remove exactly the expired records");
	ok(calls > 1400 / 37, "in batches of at most 37 records (%d calls)", calls);
	memset(&s, 0, sizeof(s));
	is_int(replay_iterate(r, collect, &s), REPLAY_OK, "iterate after sweeps");
	ok(s.n == 700 && s.bad == 0, "the live records are untouched");
	replay_close(r);
}

/* test_checkpoint - the log grows past one file; maintain's checkpoint lets the old go */
static void
test_checkpoint(void)
{
	struct replay *r = open_ok(mkstore("logs"), REPLAY_DUR_NONE);
	struct replay_stats st = {0};
	char key[64];
	uint32_t c;
	int i;

	for (i = 0; i < 400000; i++) {
		snprintf(key, sizeof(key), "prvs=0730%06x=user%d@example.com", i % 5000, i % 5000);
		if (replay_record(r, key, T0, DAY0, &c) != REPLAY_OK)
			bail_out("record");
		if (i % 10000 == 9999 && (replay_stats(r, T0, 0, &st) != REPLAY_OK ||
		    st.log_files >= 3))
			break;
	}
	ok(st.log_files >= 3, "the log grew to %u files", st.log_files);
	is_int(replay_maintain(r, T0), REPLAY_OK, "maintain");
	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats");
	is_int(st.log_files, 1, "the checkpoint removed the logs it no longer needs");
	is_int(replay_check(r, "prvs=0730000007=user7@example.com", &c), REPLAY_OK, "check");
	ok(c >= 2, "the records are still there (%u)", c);
	replay_close(r);
}

static int
stop_at_three(const char *addr, const struct replay_entry *e, void *arg)
{
	(void)addr;
	(void)e;
	return ++*(int *)arg == 3;
}

static void
test_iterate_stop(void)
{
	struct replay *r = open_ok(mkstore("stop"), REPLAY_DUR_NONE);
	int n = 0;

	fill_expiring(r, 10, true);
	is_int(replay_iterate(r, stop_at_three, &n), REPLAY_OK, "iterate stopped by the callback");
	is_int(n, 3, "the walk stops when the callback says so");
	replay_close(r);
}

/* try_open - open dir in a child process after prep (uid change, mount namespace...) */
static int
try_open_child(const char *dir, int (*prep)(const char *dir), char *why, size_t whylen)
{
	int fd[2], status;
	pid_t pid = -1;
	ssize_t n;

	if (pipe(fd) != 0 || (pid = fork()) < 0)
		bail_out("pipe/fork");
	if (pid == 0) {
		struct replay *r;
		char msg[600];
		int rc;

		close(fd[0]);
		rc = prep(dir);
		if (rc == 0)
			rc = replay_open(dir, REPLAY_DUR_WRITE, &r, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "prep failed: %s", strerror(errno));
		if (write(fd[1], msg, strlen(msg) + 1) < 0)
			_exit(126);
		_exit(rc == 0 ? 0 : -rc);
	}
	close(fd[1]);
	n = read(fd[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -999;
}

static int
prep_nobody(const char *dir)
{
	(void)dir;
	return setgid(65534) != 0 || setuid(65534) != 0 ? -1 : 0;
}

static int
prep_readonly(const char *dir)
{
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return -1;
	if (mount(dir, dir, NULL, MS_BIND, NULL) != 0 ||
	    mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
		return -1;
	return 0;
}

static int
prep_none(const char *dir)
{
	(void)dir;
	return 0;
}

static void
test_unwritable(void)
{
	const char *dir = mkstore("rootfiles");
	struct replay *r = open_ok(dir, REPLAY_DUR_WRITE);
	char why[600], file[300];
	uint32_t c;
	int rc, fd;

	if (replay_record(r, "a@example.com", T0, DAY0, &c) != REPLAY_OK)
		bail_out("record");
	replay_close(r);
	chmod(dir, 0777);
	/* root made the files (mode 0600); the daemon's user cannot use them */
	rc = try_open_child(dir, prep_nobody, why, sizeof(why));
	is_int(rc, REPLAY_EACCES, "files of another user: permission error");
	ok(strstr(why, dir) != NULL && strstr(why, "daemon's user") != NULL,
	    "the message names the directory and the fix: %s", why);
	chmod(dir, 0755);
	rc = try_open_child(dir, prep_nobody, why, sizeof(why));
	is_int(rc, REPLAY_EACCES, "a directory the user cannot write: permission error");
	ok(strstr(why, dir) != NULL, "the message names the directory: %s", why);
	rc = try_open_child(dir, prep_readonly, why, sizeof(why));
	is_int(rc, REPLAY_EACCES, "a read-only file system: permission error");
	ok(strstr(why, "Read-only") != NULL, "the message says read-only: %s", why);

	snprintf(file, sizeof(file), "%s/plainfile", base);
	if ((fd = open(file, O_CREAT | O_WRONLY, 0644)) < 0)
		bail_out("open");
	close(fd);
	rc = try_open_child(file, prep_none, why, sizeof(why));
	is_int(rc, REPLAY_ENOTDIR, "a regular file in place of the directory");
	ok(strstr(why, "not a directory") != NULL, "the message says so: %s", why);
	snprintf(file, sizeof(file), "%s/missing", base);
	rc = try_open_child(file, prep_none, why, sizeof(why));
	is_int(rc, REPLAY_ENOTDIR, "a missing directory");
	ok(strstr(why, "create it") != NULL, "the message says what to do: %s", why);
	ok(!replay_err_temporary(REPLAY_EACCES) && !replay_err_temporary(REPLAY_ENOTDIR),
	    "permission errors are permanent");
}

/* patch - overwrite bytes of a file */
static void
patch(const char *path, off_t at, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, bytes, len, at) != (ssize_t)len || close(fd) != 0)
		bail_out("patch");
}

static void
test_version(void)
{
	const char *dir = mkstore("version");
	struct replay *r = open_ok(dir, REPLAY_DUR_WRITE);
	/* the environment region starts with its magic and the major/minor/patch version that
	 * made it: what a Berkeley DB 4.8 environment left on disk looks like to 5.3 */
	const uint32_t v48[2] = {4, 8};
	char why[600], region[300];
	uint32_t c;
	int rc;

	if (replay_record(r, "a@example.com", T0, DAY0, &c) != REPLAY_OK)
		bail_out("record");
	replay_close(r);
	snprintf(region, sizeof(region), "%s/__db.001", dir);
	patch(region, 8, v48, sizeof(v48));
	rc = try_open_child(dir, prep_none, why, sizeof(why));
	is_int(rc, REPLAY_EVERSION, "an environment of Berkeley DB 4.8: version error");
	ok(strstr(why, "4.8") != NULL && strstr(why, dir) != NULL,
	    "the message names the directory and the versions: %s", why);
	ok(!replay_err_temporary(REPLAY_EVERSION), "a version error is permanent");
}

static void
test_strerror(void)
{
	int e, temporary = 0;

	for (e = REPLAY_OK; e >= REPLAY_EINUSE; e--) {
		ok(strcmp(replay_strerror(e), "unknown replay error") != 0, "strerror %d", e);
		temporary += replay_err_temporary(e);
	}
	is_int(temporary, 6, "six codes are temporary");
	ok(replay_err_temporary(REPLAY_EBUSY) && replay_err_temporary(REPLAY_ERECOVER),
	    "lock conflicts and recovery are temporary");
}

int
main(void)
{
	char cmd[128];

	snprintf(base, sizeof(base), "test-replay.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	chmod(base, 0755);	/* the child that becomes "nobody" must reach the stores */
	test_layout();
	test_counting();
	test_reopen();
	test_disabled();
	test_expiry();
	test_iterate_stop();
	test_checkpoint();
	test_unwritable();
	test_version();
	test_strerror();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
