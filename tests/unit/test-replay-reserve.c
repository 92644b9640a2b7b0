/* test-replay-reserve: the atomic reservation of the replay store on Berkeley DB files. Check
 * and increment are one step: N threads taking M reservations each on one key with limit L
 * are granted exactly L in total; a release gives one back. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "replay.h"
#include "tap.h"

#define T0 1764183600	/* 2025-11-26 19:00:00 UTC */
#define DAY0 (T0 / CLOCK_DAY)
#define THREADS 8
#define EACH 40
#define LIMIT 25
#define ADDR "prvs=0730a1b2c3=alice@example.com"

static char base[64];

static struct replay *
open_store(const char *name)
{
	struct replay *r = NULL;
	char dir[256], why[512];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", base, name);
	if (mkdir(dir, 0755) != 0)
		bail_out("mkdir");
	rc = replay_open(dir, REPLAY_DUR_NONE, &r, why, sizeof(why));
	if (rc != REPLAY_OK) {
		printf("# %s: %s\n", replay_strerror(rc), why);
		bail_out("replay_open");
	}
	return r;
}

static void
test_reserve(void)
{
	struct replay *r = open_store("one");
	struct replay_entry e;
	uint32_t c = 99;
	bool g = false;
	int i, granted = 0;

	for (i = 0; i < 5; i++) {
		if (replay_reserve(r, ADDR, T0 + i, DAY0 + 7, 3, &c, &g) != REPLAY_OK)
			break;
		granted += g;
	}
	is_int(i, 5, "five reservations answer");
	is_int(granted, 3, "limit 3: three granted");
	is_int(c, 3, "a refused reservation reports the count");
	ok(!g, "the last one is refused");
	is_int(replay_get(r, ADDR, &e), REPLAY_OK, "the record is there");
	is_int(e.count, 3, "refusals do not count");
	is_int(e.first_seen, T0, "first seen");
	is_int(e.last_seen, T0 + 2, "last seen is the last grant");
	is_int(e.expiry_day, DAY0 + 8, "kept one day past the tag's expiry");
	is_int(replay_release(r, ADDR, T0 + 9), REPLAY_OK, "release");
	is_int(replay_check(r, ADDR, &c), REPLAY_OK, "check");
	is_int(c, 2, "a release gives one back");
	is_int(replay_reserve(r, ADDR, T0 + 10, DAY0 + 7, 3, &c, &g), REPLAY_OK, "reserve again");
	ok(g && c == 3, "the slot given back is granted again (%u)", c);
	is_int(replay_reserve(r, "PRVS=0730A1B2C3=Alice@Example.COM", T0, DAY0, 0, &c, &g),
	    REPLAY_OK, "limit 0");
	ok(g && c == 4, "limit 0: no limit, case-insensitive key (%u)", c);
	is_int(replay_reserve(r, "", T0, DAY0, 3, &c, &g), REPLAY_EADDR, "empty address");
	replay_close(r);
}

static void
test_release_edges(void)
{
	struct replay *r = open_store("edges");
	uint32_t c = 99;
	bool g = false;

	is_int(replay_release(r, "nobody@example.com", T0), REPLAY_OK,
	    "releasing what has no record is no error");
	is_int(replay_check(r, "nobody@example.com", &c), REPLAY_OK, "check");
	is_int(c, 0, "and makes no record");
	is_int(replay_reserve(r, "once@example.com", T0, DAY0, 1, &c, &g), REPLAY_OK, "reserve");
	is_int(replay_release(r, "once@example.com", T0), REPLAY_OK, "release it");
	is_int(replay_release(r, "once@example.com", T0), REPLAY_OK, "release it twice");
	is_int(replay_check(r, "once@example.com", &c), REPLAY_OK, "check");
	is_int(c, 0, "the count never goes below 0");
	replay_close(r);
	is_int(replay_open(NULL, REPLAY_DUR_WRITE, &r, NULL, 0), REPLAY_OK, "disabled store");
	g = false;
	is_int(replay_reserve(r, "a@example.com", T0, DAY0, 1, &c, &g), REPLAY_OK, "reserve");
	ok(g && c == 0, "a disabled store grants and counts nothing");
	is_int(replay_release(r, "a@example.com", T0), REPLAY_OK, "release on a disabled store");
	replay_close(r);
}

struct racer {
	struct replay *r;
	int granted, errors;
};

static void *
race(void *arg)
{
	struct racer *x = arg;
	uint32_t c;
	bool g;
	int i;

	for (i = 0; i < EACH; i++) {
		if (replay_reserve(x->r, ADDR, T0 + i, DAY0 + 7, LIMIT, &c, &g) != REPLAY_OK)
			x->errors++;
		else
			x->granted += g;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct replay *r = open_store("threads");
	struct racer x[THREADS];
	pthread_t t[THREADS];
	int i, granted = 0, errors = 0;
	uint32_t c;

	for (i = 0; i < THREADS; i++) {
		x[i].r = r;
		x[i].granted = x[i].errors = 0;
		if (pthread_create(&t[i], NULL, race, &x[i]) != 0)
			bail_out("pthread_create");
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		granted += x[i].granted;
		errors += x[i].errors;
	}
	is_int(errors, 0, "%d threads x %d reservations: no errors", THREADS, EACH);
	is_int(granted, LIMIT, "exactly the limit (%d) granted in total", LIMIT);
	is_int(replay_check(r, ADDR, &c), REPLAY_OK, "check");
	is_int(c, LIMIT, "the count is the limit");
	replay_close(r);
}

int
main(void)
{
	char cmd[128];

	snprintf(base, sizeof(base), "/tmp/backstop-reserve.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	test_reserve();
	test_release_edges();
	test_threads();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
