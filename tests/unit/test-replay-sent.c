/* test-replay-sent: the sent record of the replay store (the replies issue), on real Berkeley
 * DB files. Round trip, exact keys, answer counting, re-recording, expiry at the day boundary
 * and by the sweep, the since time and the hash key across reopens, the disabled store, two
 * processes at once, an old store without sent.db, and verify/salvage with it. */
#include "config.h"

#include <db.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "replay-backend.h"
#include "replay.h"
#include "tap.h"

#define T0 1764183600	/* 2025-11-26 19:00:00 UTC */
#define DAY0 (T0 / CLOCK_DAY)
#define ID1 "<20251126190000.1234@mail.example.com>"

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
open_ok(const char *dir)
{
	struct replay *r = NULL;
	char why[512];
	int rc = replay_open(dir, REPLAY_DUR_WRITE, &r, why, sizeof(why));

	if (rc != REPLAY_OK) {
		printf("# %s: %s\n", replay_strerror(rc), why);
		bail_out("replay_open");
	}
	return r;
}

static bool
file_exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void
test_layout(void)
{
	static const unsigned char want[] = {
		1,					/* version */
		0, 0, 0, 0, 0x69, 0x27, 0x4e, 0x30,	/* sent: T0 */
		0, 0, 0, 3,				/* rcpts */
		0, 0, 0, 7,				/* answers */
		0, 0, 0x4f, 0xc0,			/* expiry day 20416 */
		0, 3, 'a', '@', 'b',			/* the sender */
	};
	struct replay_sent s = {"a@b", T0, 3, 7, 20416}, u;
	unsigned char buf[REPLAY_SENT_PACKED_MAX], bad[sizeof(want)];
	size_t n = replay_sent_pack(&s, buf);

	is_int(n, sizeof(want), "packed sent record: 23 bytes and the sender");
	ok(n == sizeof(want) && memcmp(buf, want, n) == 0, "packed sent record: network order");
	is_int(replay_sent_unpack(want, sizeof(want), &u), 0, "unpack");
	ok(strcmp(u.sender, "a@b") == 0 && u.sent == T0 && u.rcpts == 3 && u.answers == 7 &&
	    u.expiry_day == 20416, "unpack round trip");
	is_int(replay_sent_unpack(want, sizeof(want) - 1, &u), -1, "a short record is refused");
	memcpy(bad, want, sizeof(bad));
	bad[0] = 2;
	is_int(replay_sent_unpack(bad, sizeof(bad), &u), -1, "another version is refused");
	memcpy(bad, want, sizeof(bad));
	bad[22] = 0;
	is_int(replay_sent_unpack(bad, REPLAY_SENT_HEAD_BYTES, &u), -1, "an empty sender is refused");
	memcpy(bad, want, sizeof(bad));
	bad[24] = '\0';
	is_int(replay_sent_unpack(bad, sizeof(bad), &u), -1, "a NUL in the sender is refused");
}

static void
test_round_trip(void)
{
	struct replay *r = open_ok(mkstore("trip"));
	struct replay_sent s;

	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_ENOTFOUND, "no record before recording");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 3, T0, DAY0 + 30), REPLAY_OK,
	    "record");
	is_int(replay_sent_get(r, ID1, T0 + 5, &s), REPLAY_OK, "get");
	is_str(s.sender, "alice@example.com", "get: sender");
	is_int(s.sent, T0, "get: sent time");
	is_int(s.rcpts, 3, "get: recipients");
	is_int(s.answers, 0, "get: no answers yet");
	is_int(s.expiry_day, DAY0 + 30, "get: expiry day");
	is_int(replay_sent_record(r, "<b@x>", "", 1, T0, DAY0), REPLAY_EADDR, "empty sender");
	is_int(replay_sent_record(r, "", "alice@example.com", 1, T0, DAY0), REPLAY_EINVAL,
	    "empty Message-ID");
	is_int(replay_sent_record(r, "<c@x>", "Bob@Example.COM", 1, T0, DAY0), REPLAY_OK,
	    "record with a mixed-case sender");
	is_int(replay_sent_get(r, "<c@x>", T0, &s), REPLAY_OK, "get it");
	is_str(s.sender, "bob@example.com", "the sender is kept lowercase");
	ok(file_exists(base, "trip/sent.db"), "the sent record is a second file, sent.db");
	replay_close(r);
}

static void
test_keys(void)
{
	struct replay *r = open_ok(mkstore("keys"));
	struct replay_sent s;
	char path[512], cmd[600];

	is_int(replay_sent_record(r, "<Abc@example.com>", "alice@example.com", 1, T0, DAY0 + 30),
	    REPLAY_OK, "record <Abc@...>");
	is_int(replay_sent_record(r, "<abc@example.com>", "bob@example.com", 2, T0, DAY0 + 30),
	    REPLAY_OK, "record <abc@...>");
	is_int(replay_sent_get(r, "<Abc@example.com>", T0, &s), REPLAY_OK, "get <Abc@...>");
	is_str(s.sender, "alice@example.com", "ids that differ by case are two records (1)");
	is_int(replay_sent_get(r, "<abc@example.com>", T0, &s), REPLAY_OK, "get <abc@...>");
	is_str(s.sender, "bob@example.com", "ids that differ by case are two records (2)");
	is_int(replay_sent_get(r, "<abc@example.com", T0, &s), REPLAY_ENOTFOUND,
	    "a prefix of an id is another key");
	replay_close(r);
	snprintf(path, sizeof(path), "%s/keys/sent.db", base);
	snprintf(cmd, sizeof(cmd), "grep -q 'abc@example' '%s'", path);
	ok(system(cmd) != 0, "the Message-ID itself is not in the file");
}

static void
test_answers(void)
{
	struct replay *r = open_ok(mkstore("answers"));
	struct replay_sent s;
	uint32_t c = 99;
	int i;

	is_int(replay_sent_answer(r, ID1, T0, &c), REPLAY_ENOTFOUND, "answer to no record");
	is_int(c, 0, "count 0 when not found");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0 + 30), REPLAY_OK,
	    "record");
	for (i = 1; i <= 3; i++)
		if (replay_sent_answer(r, ID1, T0 + i, &c) != REPLAY_OK)
			break;
	is_int(c, 3, "three answers count 3");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 2, T0 + 60, DAY0 + 29), REPLAY_OK,
	    "record the same id again (another copy), with an earlier expiry");
	is_int(replay_sent_get(r, ID1, T0 + 60, &s), REPLAY_OK, "get");
	is_int(s.answers, 3, "re-recording keeps the answers");
	is_int(s.expiry_day, DAY0 + 30, "re-recording keeps the later expiry");
	is_int(s.sent, T0, "re-recording keeps the first time it left");
	is_int(s.rcpts, 2, "and the larger number of recipients (a retry does not add up)");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 2, T0 + 90, DAY0 + 31), REPLAY_OK,
	    "record again with a later expiry");
	is_int(replay_sent_get(r, ID1, T0 + 90, &s), REPLAY_OK, "get");
	is_int(s.expiry_day, DAY0 + 31, "a later expiry wins");
	is_int(replay_sent_answer(r, ID1, T0 + 100, &c), REPLAY_OK, "one more answer");
	is_int(c, 4, "and the count goes on");
	replay_close(r);
}

static void
test_expiry(void)
{
	struct replay *r = open_ok(mkstore("expiry"));
	time_t last = (time_t)(DAY0 + 2) * CLOCK_DAY + CLOCK_DAY - 1;
	struct replay_stats st;
	struct replay_sent s;
	uint64_t removed = 0;
	char id[64];
	uint32_t c;
	int i;

	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0 + 2), REPLAY_OK,
	    "record until day +2");
	is_int(replay_sent_get(r, ID1, last, &s), REPLAY_OK, "found at the last second of +2");
	is_int(replay_sent_get(r, ID1, last + 1, &s), REPLAY_ENOTFOUND, "gone at +3 00:00:00");
	is_int(replay_sent_answer(r, ID1, last + 1, &c), REPLAY_ENOTFOUND,
	    "no answer to an expired record");
	for (i = 0; i < 500; i++) {
		snprintf(id, sizeof(id), "<%d@mail.example.com>", i);
		if (replay_sent_record(r, id, "bob@example.com", 1, T0, DAY0 + 1 + i % 2) !=
		    REPLAY_OK)
			break;
	}
	is_int(i, 500, "500 more records, half until +1, half until +2");
	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 501, "stats counts every sent record");
	is_int(st.records, 0, "and no replay records");
	is_int(replay_expire(r, (time_t)(DAY0 + 2) * CLOCK_DAY, &removed), REPLAY_OK, "expire at +2");
	is_int(removed, 250, "expire removes exactly the sent records expired");
	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 251, "251 are left");
	for (i = 0; i < 20; i++)
		if (replay_maintain(r, last + 1) != REPLAY_OK)
			break;
	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 0, "small sweep batches remove the rest at +3");
	replay_close(r);
}

static void
test_since_and_key(void)
{
	char *dir = mkstore("since");
	struct replay *r = open_ok(dir);
	struct replay_stats st;
	struct replay_sent s;
	time_t since = 0;

	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats of a new store");
	is_int(st.sent_since, 0, "a new store has no since time");
	is_int(replay_sent_since(r, T0 + 100, &since), REPLAY_OK, "since");
	is_int(since, T0 + 100, "the first call sets since to now");
	is_int(replay_sent_since(r, T0 + 200, &since), REPLAY_OK, "since again");
	is_int(since, T0 + 100, "and it stays");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0 + 300, DAY0 + 30), REPLAY_OK,
	    "record");
	replay_close(r);
	r = open_ok(dir);
	is_int(replay_sent_since(r, T0 + 400, &since), REPLAY_OK, "since after reopen");
	is_int(since, T0 + 100, "since survives reopen");
	is_int(replay_stats(r, T0 + 400, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_since, T0 + 100, "stats shows since");
	is_int(replay_sent_get(r, ID1, T0 + 400, &s), REPLAY_OK,
	    "a record written before reopen is found: the hash key survives");
	replay_close(r);
	r = open_ok(mkstore("since2"));
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0 + 50, DAY0 + 30), REPLAY_OK,
	    "a first record");
	is_int(replay_sent_since(r, T0 + 500, &since), REPLAY_OK, "since");
	is_int(since, T0 + 50, "recording began with the first record");
	replay_close(r);
}

static void
test_disabled(void)
{
	struct replay *r = NULL;
	struct replay_sent s;
	time_t since = 1;
	uint32_t c = 1;
	char why[64];

	is_int(replay_open(NULL, REPLAY_DUR_WRITE, &r, why, sizeof(why)), REPLAY_OK, "disabled");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0), REPLAY_EDISABLED,
	    "record: disabled");
	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_EDISABLED, "get: disabled");
	is_int(replay_sent_answer(r, ID1, T0, &c), REPLAY_EDISABLED, "answer: disabled");
	is_int(replay_sent_since(r, T0, &since), REPLAY_EDISABLED, "since: disabled");
	is_int(since, 0, "since 0 when disabled");
	replay_close(r);
}

/* child_record - in another process: open dir, record id, exit 0 on success */
static void
child_record(const char *dir, const char *id)
{
	struct replay *r = NULL;
	char why[256];
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) < 0)
		bail_out("fork");
	if (pid == 0) {
		if (replay_open(dir, REPLAY_DUR_WRITE, &r, why, sizeof(why)) != REPLAY_OK ||
		    replay_sent_record(r, id, "carol@example.com", 1, T0, DAY0 + 30) != REPLAY_OK)
			_exit(1);
		replay_close(r);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "another process records %s", id);
}

static void
test_two_processes(void)
{
	char *dir = mkstore("two");
	struct replay *r = open_ok(dir);
	struct replay_sent s;
	time_t since;

	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0 + 30), REPLAY_OK,
	    "this process records first");
	child_record(dir, "<other@example.com>");
	is_int(replay_sent_get(r, "<other@example.com>", T0, &s), REPLAY_OK,
	    "the open handle sees the other process's record");
	is_str(s.sender, "carol@example.com", "with its sender");
	child_record(dir, ID1);
	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_OK, "one record for the id both recorded");
	replay_close(r);
	dir = mkstore("two-first");
	r = open_ok(dir);
	child_record(dir, ID1);
	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_OK,
	    "a handle opened before the other process made the key finds its record");
	is_int(replay_sent_since(r, T0 + 999, &since), REPLAY_OK, "since");
	is_int(since, T0, "since is the other process's first record");
	replay_close(r);
}

struct racer {
	struct replay *r;
	int n;
	int rc;
};

static void *
race_record(void *arg)
{
	struct racer *t = arg;
	char id[64];
	int i;

	for (i = 0; i < 50 && t->rc == REPLAY_OK; i++) {
		snprintf(id, sizeof(id), "<%d.%d@race.example.com>", t->n, i);
		t->rc = replay_sent_record(t->r, id, "alice@example.com", 1, T0, DAY0 + 30);
	}
	return NULL;
}

/* eight threads on a new store at once: one secret is made, and every record is found */
static void
test_threads(void)
{
	struct replay *r = open_ok(mkstore("threads"));
	struct racer t[8];
	pthread_t tid[8];
	struct replay_sent s;
	struct replay_stats st;
	char id[64];
	int i, j, found = 0, failed = 0;

	for (i = 0; i < 8; i++) {
		t[i] = (struct racer){r, i, REPLAY_OK};
		pthread_create(&tid[i], NULL, race_record, &t[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		failed += t[i].rc != REPLAY_OK;
	}
	is_int(failed, 0, "eight threads record at once on a new store");
	for (i = 0; i < 8; i++)
		for (j = 0; j < 50; j++) {
			snprintf(id, sizeof(id), "<%d.%d@race.example.com>", i, j);
			found += replay_sent_get(r, id, T0, &s) == REPLAY_OK;
		}
	is_int(found, 400, "every record is found under the one secret");
	is_int(replay_stats(r, T0, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 400, "and counted once");
	replay_close(r);
}

static void
test_old_store(void)
{
	char *dir = mkstore("old");
	char cmd[600], why[256];
	struct replay *r = open_ok(dir);
	struct replay_sent s;
	uint32_t c;

	is_int(replay_record(r, "prvs=0730a1b2c3=alice@example.com", T0, DAY0 + 7, &c), REPLAY_OK,
	    "a replay record");
	replay_close(r);
	snprintf(cmd, sizeof(cmd), "rm -f '%s/sent.db'", dir);
	if (system(cmd) != 0)
		bail_out("rm");
	ok(!file_exists(dir, "sent.db"), "an old store: replay.db without sent.db");
	r = open_ok(dir);
	is_int(replay_check(r, "prvs=0730a1b2c3=alice@example.com", &c), REPLAY_OK, "check");
	is_int(c, 1, "the old record is kept");
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0 + 30), REPLAY_OK,
	    "a sent record in the upgraded store");
	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_OK, "and found");
	ok(file_exists(dir, "sent.db"), "sent.db was created");
	replay_close(r);
	is_int(replay_verify(dir, why, sizeof(why)), REPLAY_OK, "verify with sent.db");
}

static void
test_salvage(void)
{
	char *dir = mkstore("salvage");
	char aside[512], why[512], path[512];
	struct replay *r = open_ok(dir);
	struct replay_sent s;
	uint64_t saved = 0;
	FILE *f;
	uint32_t c;

	is_int(replay_sent_record(r, ID1, "alice@example.com", 2, T0, DAY0 + 30), REPLAY_OK,
	    "record");
	is_int(replay_sent_answer(r, ID1, T0, &c), REPLAY_OK, "answer");
	is_int(replay_record(r, "prvs=0730a1b2c3=alice@example.com", T0, DAY0 + 7, &c), REPLAY_OK,
	    "a replay record");
	replay_close(r);
	is_int(replay_salvage(dir, T0, REPLAY_DUR_WRITE, aside, sizeof(aside), &saved, why,
	    sizeof(why)), REPLAY_OK, "salvage");
	is_int(saved, 1, "the replay record is saved");
	r = open_ok(dir);
	is_int(replay_sent_get(r, ID1, T0, &s), REPLAY_OK, "the sent record survives salvage");
	is_int(s.answers, 1, "with its answers");
	replay_close(r);
	is_int(replay_verify(dir, why, sizeof(why)), REPLAY_OK, "verify after salvage");
	snprintf(path, sizeof(path), "%s/sent.db", dir);
	if ((f = fopen(path, "r+")) == NULL)
		bail_out("open sent.db");
	fseek(f, 0, SEEK_SET);
	fwrite("garbage garbage garbage garbage", 1, 31, f);
	fclose(f);
	is_int(replay_verify(dir, why, sizeof(why)), REPLAY_ECORRUPT, "verify checks sent.db too");
	ok(strstr(why, "sent.db") != NULL, "and names it: %s", why);
}

/* write_dups - a btree file name in dir with duplicate keys allowed, holding the n pairs */
static void
write_dups(const char *dir, const char *name, const void *const *k, const size_t *klen,
    const void *const *d, const size_t *dlen, int n)
{
	char path[512];
	DB *db;
	DBT kt, dt;
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (db_create(&db, NULL, 0) != 0 || db->set_flags(db, DB_DUP) != 0 ||
	    db->open(db, NULL, path, NULL, DB_BTREE, DB_CREATE, 0600) != 0)
		bail_out("write_dups: open");
	for (i = 0; i < n; i++) {
		memset(&kt, 0, sizeof(kt));
		memset(&dt, 0, sizeof(dt));
		kt.data = (void *)(uintptr_t)k[i];
		kt.size = (u_int32_t)klen[i];
		dt.data = (void *)(uintptr_t)d[i];
		dt.size = (u_int32_t)dlen[i];
		if (db->put(db, NULL, &kt, &dt, 0) != 0)
			bail_out("write_dups: put");
	}
	db->close(db, 0);
}

/* read_answers - the answers of the sent record under the raw 16-byte key, read from dir's
 * sent.db with no environment (no process has it open); -1 if none */
static long
read_answers(const char *dir, const char *key)
{
	unsigned char buf[REPLAY_SENT_PACKED_MAX];
	struct replay_sent s;
	char path[512];
	long answers = -1;
	DB *db;
	DBT kt, dt;

	snprintf(path, sizeof(path), "%s/sent.db", dir);
	if (db_create(&db, NULL, 0) != 0)
		return -1;
	memset(&kt, 0, sizeof(kt));
	memset(&dt, 0, sizeof(dt));
	kt.data = (void *)(uintptr_t)key;
	kt.size = REPLAY_SENT_KEY_BYTES;
	dt.data = buf;
	dt.ulen = sizeof(buf);
	dt.flags = DB_DBT_USERMEM;
	if (db->open(db, NULL, path, NULL, DB_BTREE, DB_RDONLY, 0) == 0 &&
	    db->get(db, NULL, &kt, &dt, 0) == 0 && replay_sent_unpack(buf, dt.size, &s) == 0)
		answers = s.answers;
	db->close(db, 0);
	return answers;
}

/* Salvage of files where a key appears more than once (as DB_AGGRESSIVE finds in pages the
 * tree let go), and of many records: each key once, with its higher count or more answers. */
static void
test_salvage_dups(void)
{
	char *dir = mkstore("dups");
	char aside[512], why[512], id[64];
	struct replay_entry e2 = {2, T0, T0, DAY0 + 7}, e5 = {5, T0, T0, DAY0 + 7};
	struct replay_sent s1 = {"alice@example.com", T0, 1, 1, DAY0 + 30}, s4 = s1, got;
	unsigned char p2[REPLAY_PACKED_BYTES], p5[REPLAY_PACKED_BYTES];
	unsigned char q1[REPLAY_SENT_PACKED_MAX], q4[REPLAY_SENT_PACKED_MAX];
	struct replay *r = open_ok(dir);
	struct replay_stats st;
	struct replay_entry e;
	uint64_t saved = 0;
	int i, found = 0;

	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "<%d@many.example.com>", i);
		if (replay_sent_record(r, id, "bob@example.com", 1, T0, DAY0 + 30) != REPLAY_OK)
			break;
	}
	is_int(i, 3000, "3000 sent records");
	/* the key of ID1, as the backend sees it, from a record and a look at the file */
	is_int(replay_sent_record(r, ID1, "alice@example.com", 1, T0, DAY0 + 30), REPLAY_OK,
	    "and ID1");
	replay_close(r);
	is_int(replay_salvage(dir, T0, REPLAY_DUR_WRITE, aside, sizeof(aside), &saved, why,
	    sizeof(why)), REPLAY_OK, "salvage a store of 3001 sent records");
	r = open_ok(dir);
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "<%d@many.example.com>", i);
		found += replay_sent_get(r, id, T0, &got) == REPLAY_OK;
	}
	is_int(found, 3000, "every one is found after the salvage");
	replay_close(r);

	replay_entry_pack(&e2, p2);
	replay_entry_pack(&e5, p5);
	s4.answers = 4;
	{
		const void *k[] = {"a@example.com", "a@example.com", "b@example.com"};
		const size_t kl[] = {13, 13, 13};
		const void *d[] = {p2, p5, p2};
		const size_t dl[] = {sizeof(p2), sizeof(p5), sizeof(p2)};
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -f '%s/replay.db' '%s/sent.db'", dir, dir);
		if (system(cmd) != 0)
			bail_out("rm");
		write_dups(dir, "replay.db", k, kl, d, dl, 3);
	}
	{
		const void *k[] = {"0123456789abcdef", "0123456789abcdef"};
		const size_t kl[] = {16, 16};
		const void *d[] = {q1, q4};
		const size_t dl[] = {replay_sent_pack(&s1, q1), replay_sent_pack(&s4, q4)};

		write_dups(dir, "sent.db", k, kl, d, dl, 2);
	}
	is_int(replay_salvage(dir, T0 + 1, REPLAY_DUR_WRITE, aside, sizeof(aside), &saved, why,
	    sizeof(why)), REPLAY_OK, "salvage files with keys found twice");
	is_int(saved, 2, "each replay key once");
	r = open_ok(dir);
	is_int(replay_get(r, "a@example.com", &e), REPLAY_OK, "get the doubled key");
	is_int(e.count, 5, "it keeps its higher count");
	is_int(replay_stats(r, T0 + 1, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 1, "the doubled sent key is one record");
	replay_close(r);
	is_int(read_answers(dir, "0123456789abcdef"), 4, "it keeps the one with more answers");
}

int
main(void)
{
	char cmd[128];

	if (sodium_init() < 0)
		bail_out("sodium_init");
	snprintf(base, sizeof(base), "test-replay-sent.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	test_layout();
	test_round_trip();
	test_keys();
	test_answers();
	test_expiry();
	test_since_and_key();
	test_disabled();
	test_two_processes();
	test_threads();
	test_old_store();
	test_salvage();
	test_salvage_dups();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
