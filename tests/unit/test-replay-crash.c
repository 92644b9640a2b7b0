/* test-replay-crash: the replay store shared by threads and processes. Exact counts when eight
 * threads and a second process increment the same and different keys at once; a writer killed
 * with SIGKILL mid-run loses no increment it saw committed (Durability write and sync), the next
 * process opens without manual recovery, and a process that kept its handle open carries on.
 * A killed process leaves what it wrote in the kernel's page cache, so this cannot tell sync
 * from write: only a machine crash (power loss) would, and nothing here simulates one. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "replay.h"
#include "tap.h"

#define T0 1764183600
#define DAY0 (T0 / CLOCK_DAY)
#define PER_THREAD 300
#define PARENT_THREADS 8
#define CHILD_THREADS 2
#define SAME "prvs=0730a1b2c3=same@example.com"

static char base[64];

/* Berkeley DB does not free the handles of an environment that panicked (another process ran
 * recovery under it): the keeper's first handles in test_crash stay allocated on purpose.
 * LeakSanitizer, in the sanitizer build, reads this; test-replay checks the ordinary paths. */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:bdb_handles_open\n";
}

/* the suppression needs whole stacks through libdb, which has no frame pointers */
const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static struct replay *
open_or_die(const char *dir, enum replay_durability dur)
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

struct worker {
	struct replay *r;
	int id;
	int failures;		/* errors, or an own-key count out of sequence */
	uint32_t last_same;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	char own[64];
	uint32_t c;
	int i;

	snprintf(own, sizeof(own), "prvs=0730a1b2c3=t%d@example.com", w->id);
	for (i = 0; i < PER_THREAD; i++) {
		if (replay_record(w->r, SAME, T0 + i, DAY0, &c) != REPLAY_OK || c <= w->last_same)
			w->failures++;
		w->last_same = c;
		if (replay_record(w->r, own, T0 + i, DAY0, &c) != REPLAY_OK ||
		    c != (uint32_t)i + 1)
			w->failures++;
	}
	return NULL;
}

/* run_workers - n threads numbered from first on r; the number of failures */
static int
run_workers(struct replay *r, int first, int n)
{
	pthread_t tid[PARENT_THREADS];
	struct worker w[PARENT_THREADS];
	int i, failures = 0;

	for (i = 0; i < n; i++) {
		w[i] = (struct worker){r, first + i, 0, 0};
		if (pthread_create(&tid[i], NULL, work, &w[i]) != 0)
			bail_out("pthread_create");
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		failures += w[i].failures;
	}
	return failures;
}

static void
test_concurrent(void)
{
	char dir[128], go;
	int gate[2], status, i, failures;
	struct replay *r;
	uint32_t c, want_own = PER_THREAD;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/concurrent", base);
	if (mkdir(dir, 0755) != 0 || pipe(gate) != 0)
		bail_out("mkdir/pipe");
	if ((pid = fork()) < 0)
		bail_out("fork");
	if (pid == 0) {
		/* the second process: both open the new store at the same moment */
		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(3);
		r = open_or_die(dir, REPLAY_DUR_WRITE);
		failures = run_workers(r, 100, CHILD_THREADS);
		replay_close(r);
		_exit(failures == 0 ? 0 : 1);
	}
	close(gate[0]);
	if (write(gate[1], "g", 1) != 1)
		bail_out("write");
	close(gate[1]);
	r = open_or_die(dir, REPLAY_DUR_WRITE);
	failures = run_workers(r, 0, PARENT_THREADS);
	waitpid(pid, &status, 0);
	is_int(failures, 0, "8 threads: every record succeeded, own counts in sequence");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "second process: the same");
	is_int(replay_check(r, SAME, &c), REPLAY_OK, "check the shared key");
	is_int(c, (PARENT_THREADS + CHILD_THREADS) * PER_THREAD,
	    "the shared key counts every increment of both processes exactly");
	failures = 0;
	for (i = 0; i < PARENT_THREADS + CHILD_THREADS; i++) {
		char own[64];

		snprintf(own, sizeof(own), "prvs=0730a1b2c3=t%d@example.com",
		    i < PARENT_THREADS ? i : 100 + i - PARENT_THREADS);
		if (replay_check(r, own, &c) != REPLAY_OK || c != want_own)
			failures++;
	}
	is_int(failures, 0, "each thread's own key counts exactly its increments");
	replay_close(r);
}

/* crash_writer - the child: record forever, reporting each committed count on fd */
static void __attribute__((noreturn))
crash_writer(const char *dir, enum replay_durability dur, int fd)
{
	struct replay *r = open_or_die(dir, dur);
	char other[64];
	uint32_t c, i;

	for (i = 0;; i++) {
		if (replay_record(r, SAME, T0, DAY0, &c) != REPLAY_OK)
			_exit(2);
		if (write(fd, &c, sizeof(c)) != sizeof(c))
			_exit(3);
		snprintf(other, sizeof(other), "other%u@example.com", i % 50);
		if (replay_record(r, other, T0, DAY0, &c) != REPLAY_OK)
			_exit(2);
	}
}

/* reopen_count - in a fresh process, open the store and report the shared key's count */
static int
reopen_count(const char *dir, enum replay_durability dur, uint32_t *count)
{
	int fd[2], status;
	pid_t pid = -1;

	if (pipe(fd) != 0 || (pid = fork()) < 0)
		bail_out("pipe/fork");
	if (pid == 0) {
		struct replay *r;
		char why[512];
		uint32_t c = 0;
		int rc;

		close(fd[0]);
		rc = replay_open(dir, dur, &r, why, sizeof(why));
		if (rc == REPLAY_OK)
			rc = replay_check(r, SAME, &c);
		else
			printf("# reopen: %s\n", why);
		if (write(fd[1], &c, sizeof(c)) != sizeof(c))
			_exit(100);
		_exit(-rc);
	}
	close(fd[1]);
	if (read(fd[0], count, sizeof(*count)) != sizeof(*count))
		*count = 0;
	close(fd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -999;
}

static void
test_crash(enum replay_durability dur, const char *name)
{
	struct replay *keeper;
	char dir[128];
	uint32_t c, last = 0, after;
	int fd[2], status, reports = 0, rc;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/crash-%s", base, name);
	if (mkdir(dir, 0755) != 0 || pipe(fd) != 0)
		bail_out("mkdir/pipe");
	keeper = open_or_die(dir, dur);	/* a process that stays through the crash */
	if ((pid = fork()) < 0)
		bail_out("fork");
	if (pid == 0) {
		close(fd[0]);
		crash_writer(dir, dur, fd[1]);
	}
	close(fd[1]);
	while (reports < 400 && read(fd[0], &c, sizeof(c)) == sizeof(c)) {
		last = c;
		reports++;
	}
	kill(pid, SIGKILL);
	while (read(fd[0], &c, sizeof(c)) == sizeof(c))
		last = c;	/* reports written before the kill */
	close(fd[0]);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "%s: the writer was killed mid-run after %u commits", name, last);
	rc = reopen_count(dir, dur, &c);
	is_int(rc, REPLAY_OK, "%s: another process opens the store without manual recovery", name);
	ok(c >= last && c <= last + 1,
	    "%s: every increment reported committed is there (%u, last reported %u)", name, c,
	    last);
	is_int(replay_record(keeper, SAME, T0, DAY0, &after), REPLAY_OK,
	    "%s: a handle open through the crash and the recovery still works", name);
	is_int(after, c + 1, "%s: and sees the recovered count", name);
	replay_close(keeper);
}

int
main(void)
{
	char cmd[128];

	snprintf(base, sizeof(base), "test-replay-crash.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	test_concurrent();
	test_crash(REPLAY_DUR_WRITE, "write");
	test_crash(REPLAY_DUR_SYNC, "sync");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
