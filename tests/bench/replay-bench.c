/* replay-bench: throughput of replay_record for each durability level with 1, 2 and 8 threads,
 * the cost of one record at 10^3, 10^5 and 10^6 records in the store, and the cost of one
 * replay_sent_record (the sent record, one per outbound message), as tables.
 * Not a test: run it with "make bench-replay" in tests/. Usage: replay-bench -h
 *
 * The store is built like a real one: with TagValidity 7 a record lives until a day after its
 * tag expires, so a store holds tags of 9 consecutive expiry days; record n carries expiry day
 * BENCH_DAY + n % 9. The cost is timed for two mixes of bounces: "uniform", each to any record
 * (no locality at all: the worst case), and "recent", 90% to a tag signed today (the newest
 * expiry day: most bounces and auto-replies come back within minutes) and 10% to any record
 * (late bounces, up to the MTA's 5-day queue lifetime, and replays of older tags). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

#define BENCH_KEYS 20000	/* distinct tagged addresses in the throughput runs */
#define BENCH_DAY 20500		/* the oldest expiry day in the store */
#define BENCH_DAYS 9		/* expiry days a store holds: TagValidity 7, plus today, plus one */
#define BENCH_RECENT 90		/* percent of "recent" bounces to a tag signed today */

enum pick { PICK_UNIFORM, PICK_RECENT, PICK_SEQUENTIAL };

static const char *bench_parent = ".";
static double bench_seconds = 1.5;
static double write2_rate;	/* Durability write, 2 threads: the goal's cell */

struct worker {
	struct replay *r;
	unsigned seed;
	unsigned long keys;	/* pick keys in [0, keys) as pick says */
	unsigned long first;	/* or, when sequential, write first, first + step, ... */
	unsigned long step;
	unsigned long limit;	/* sequential: stop before this key */
	enum pick pick;
	double deadline;
	unsigned long done;
	double cpu;		/* seconds of CPU the thread used */
	int err;
	bool sent;		/* replay_sent_record of a new Message-ID each call */
};

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_key - record n's tagged address; its tag's expiry day in *day */
static void
bench_key(char *buf, size_t size, unsigned long n, long *day)
{
	*day = BENCH_DAY + (long)(n % BENCH_DAYS);
	snprintf(buf, size, "prvs=1%03ld%06lx=user%lu@example.com", *day % 1000,
	    n * 2654435761ul & 0xffffff, n);
}

/* bench_pick - the next key of w's mix */
static unsigned long
bench_pick(struct worker *w)
{
	unsigned long r = (unsigned long)rand_r(&w->seed);

	if (w->pick == PICK_RECENT && w->keys >= BENCH_DAYS &&
	    (unsigned long)rand_r(&w->seed) % 100 < BENCH_RECENT)
		return r % (w->keys / BENCH_DAYS) * BENCH_DAYS + BENCH_DAYS - 1;
	return r % w->keys;
}

static double
bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bench_one - one call: a bounce to key n (or w's pick), or a message sent with a new id */
static int
bench_one(struct worker *w, unsigned long n, bool seq)
{
	char key[128];
	uint32_t count;
	long day;

	if (w->sent) {
		snprintf(key, sizeof(key), "%lx.%lu@mail.example.com", n * 2654435761ul, n);
		return replay_sent_record(w->r, key, "alice@example.com", 1, 1700000000,
		    BENCH_DAY + 30);
	}
	bench_key(key, sizeof(key), seq ? n : bench_pick(w), &day);
	return replay_record(w->r, key, 1700000000, day, &count);
}

static void *
bench_worker(void *arg)
{
	struct worker *w = arg;
	const bool seq = w->pick == PICK_SEQUENTIAL;
	unsigned long n = w->first;
	double c0 = bench_cpu();
	int rc;

	while (seq ? n < w->limit : bench_now() < w->deadline) {
		for (int i = 0; i < 64 && (!seq || n < w->limit); i++) {
			if ((rc = bench_one(w, n, seq)) != 0) {
				w->err = rc;
				return NULL;
			}
			w->done++;
			n += w->step;
		}
	}
	w->cpu = bench_cpu() - c0;
	return NULL;
}

/* bench_run - nthreads workers on r; records per second (-1: failed), CPU seconds per record */
static double
bench_run(struct replay *r, int nthreads, unsigned long keys, enum pick pick,
    unsigned long limit, unsigned long first, double *cpu_per_op, bool sent)
{
	double cpu = 0;
	pthread_t tid[8];
	struct worker w[8];
	unsigned long total = 0;
	double t0 = bench_now(), t1;
	int i, err = 0;

	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){r, 7919u * (unsigned)(i + 1), keys, first + (unsigned long)i,
		    (unsigned long)nthreads, limit, pick, t0 + bench_seconds, 0, 0, 0, sent};
		pthread_create(&tid[i], NULL, bench_worker, &w[i]);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		total += w[i].done;
		cpu += w[i].cpu;
		if (w[i].err != 0)
			err = w[i].err;
	}
	t1 = bench_now();
	if (cpu_per_op != NULL)
		*cpu_per_op = total > 0 ? cpu / (double)total : 0;
	if (err != 0) {
		fprintf(stderr, "replay-bench: %s\n", replay_strerror(err));
		return -1;
	}
	return (double)total / (t1 - t0);
}

static struct replay *
bench_open(const char *dir, enum replay_durability dur)
{
	struct replay *r;
	char why[512];
	int rc;

	if ((rc = replay_open(dir, dur, &r, why, sizeof(why))) != 0) {
		fprintf(stderr, "replay-bench: %s: %s\n", replay_strerror(rc), why);
		exit(1);
	}
	return r;
}

static char *
bench_dir(void)
{
	char tmpl[4096];
	char *d;

	snprintf(tmpl, sizeof(tmpl), "%s/replay-bench.XXXXXX", bench_parent);
	if ((d = mkdtemp(tmpl)) == NULL) {
		perror("replay-bench: mkdtemp");
		exit(1);
	}
	return strdup(d);
}

static void
bench_rmdir(char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "replay-bench: could not remove %s\n", dir);
	free(dir);
}

static const char *const dur_name[] = {"sync", "write", "none"};

static int
bench_throughput(void)
{
	static const int threads[] = {1, 2, 8};
	int d, t;

	printf("%-10s %8s %14s\n", "durability", "threads", "records/s");
	for (d = REPLAY_DUR_SYNC; d <= REPLAY_DUR_NONE; d++) {
		char *dir = bench_dir();
		struct replay *r = bench_open(dir, (enum replay_durability)d);

		for (t = 0; t < 3; t++) {
			double rate = bench_run(r, threads[t], BENCH_KEYS, PICK_UNIFORM, 0, 0, NULL,
			    false);

			if (rate < 0)
				return 1;
			printf("%-10s %8d %14.0f\n", dur_name[d], threads[t], rate);
			if (d == REPLAY_DUR_WRITE && threads[t] == 2)
				write2_rate = rate;
			fflush(stdout);
			if (replay_maintain(r, time(NULL)) != 0)
				return 1;
		}
		replay_close(r);
		bench_rmdir(dir);
	}
	return 0;
}

/* bench_fill - grow the store to n records (keys 0..n-1) with durability none */
static int
bench_fill(const char *dir, unsigned long have, unsigned long n)
{
	struct replay *r = bench_open(dir, REPLAY_DUR_NONE);
	int rc = bench_run(r, 2, 0, PICK_SEQUENTIAL, n, have, NULL, false) < 0 ? 1 : 0;

	if (rc == 0 && replay_maintain(r, time(NULL)) != 0)
		rc = 1;
	replay_close(r);
	return rc;
}

/* bench_cost - wall and CPU microseconds per record on n records with the mix pick: the best
 * of three runs after one that warms the cache */
static int
bench_cost(const char *dir, unsigned long n, enum pick pick, double *wall, double *cpu)
{
	struct replay *r = bench_open(dir, REPLAY_DUR_WRITE);
	double rate, c;
	int j;

	*wall = *cpu = 1e9;
	for (j = 0; j < 4; j++) {
		if ((rate = bench_run(r, 1, n, pick, 0, 0, &c, false)) <= 0) {
			replay_close(r);
			return 1;
		}
		if (j > 0 && 1e6 / rate < *wall)
			*wall = 1e6 / rate;
		if (j > 0 && c * 1e6 < *cpu)
			*cpu = c * 1e6;
	}
	replay_close(r);
	return 0;
}

static const char *const pick_name[] = {"uniform", "recent"};

static int
bench_scaling(void)
{
	static const unsigned long sizes[] = {1000, 100000, 1000000};
	char *dir = bench_dir();
	double wall[3][2], cpu[3][2];
	unsigned long have = 0;
	int i, p;

	printf("\n%-10s %-8s %12s %8s %12s %8s\n", "records", "bounces", "wall us/rec", "vs 10^3",
	    "cpu us/rec", "vs 10^3");
	for (i = 0; i < 3; i++) {
		if (bench_fill(dir, have, sizes[i]) != 0)
			return 1;
		have = sizes[i];
		for (p = PICK_UNIFORM; p <= PICK_RECENT; p++) {
			if (bench_cost(dir, sizes[i], (enum pick)p, &wall[i][p], &cpu[i][p]) != 0)
				return 1;
			printf("%-10lu %-8s %12.2f %7.2fx %12.2f %7.2fx\n", sizes[i], pick_name[p],
			    wall[i][p], wall[i][p] / wall[0][p], cpu[i][p], cpu[i][p] / cpu[0][p]);
			fflush(stdout);
		}
	}
	printf("\ngoal: cost at 10^6 within 1.3x of 10^3, recent bounces: wall %.2fx, %s; "
	    "cpu %.2fx, %s\n", wall[2][1] / wall[0][1], wall[2][1] / wall[0][1] <= 1.3 ? "met" : "missed",
	    cpu[2][1] / cpu[0][1], cpu[2][1] / cpu[0][1] <= 1.3 ? "met" : "missed");
	printf("worst case, uniform bounces: wall %.2fx, cpu %.2fx\n", wall[2][0] / wall[0][0],
	    cpu[2][0] / cpu[0][0]);
	bench_rmdir(dir);
	return 0;
}

/* bench_sent - the cost of recording one outbound message (a new Message-ID each time), for
 * Durability sync and write, with 1 and 8 threads (the milter's connections) */
static int
bench_sent(void)
{
	static const int threads[] = {1, 8};
	int d, t;

	printf("\n%-10s %8s %14s %13s %12s\n", "sent", "threads", "messages/s", "wall us/call",
	    "cpu us/call");
	for (d = REPLAY_DUR_SYNC; d <= REPLAY_DUR_WRITE; d++) {
		char *dir = bench_dir();
		struct replay *r = bench_open(dir, (enum replay_durability)d);

		for (t = 0; t < 2; t++) {
			unsigned long first = (unsigned long)t << 32;
			double cpu, rate = bench_run(r, threads[t], 1, PICK_UNIFORM, 0, first, &cpu,
			    true);

			if (rate < 0)
				return 1;
			printf("%-10s %8d %14.0f %13.2f %12.2f\n", dur_name[d], threads[t], rate,
			    1e6 * threads[t] / rate, cpu * 1e6);
			fflush(stdout);
			if (replay_maintain(r, time(NULL)) != 0)
				return 1;
		}
		replay_close(r);
		bench_rmdir(dir);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int c, part = 0;

	while ((c = getopt(argc, argv, "d:s:tSmh")) != -1) {
		switch (c) {
		case 'd': bench_parent = optarg; break;
		case 's': bench_seconds = atof(optarg); break;
		case 't': part = 't'; break;
		case 'S': part = 's'; break;
		case 'm': part = 'm'; break;
		default:
			fprintf(stderr, "usage: replay-bench [-d PARENT_DIR] [-s SECONDS_PER_RUN] "
			    "[-t throughput only | -S scaling only | -m sent record only]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	printf("replay-bench: %s, %.1f s per run, store under %s\n\n", PACKAGE_STRING,
	    bench_seconds, bench_parent);
	if ((part == 0 || part == 't') && bench_throughput() != 0)
		return 1;
	if (part == 0 || part == 't')
		printf("\ngoal: write, 2 threads, >= 50000 records/s: %.0f, %s\n", write2_rate,
		    write2_rate >= 50000 ? "met" : "missed");
	if ((part == 0 || part == 's') && bench_scaling() != 0)
		return 1;
	if ((part == 0 || part == 'm') && bench_sent() != 0)
		return 1;
	return 0;
}
