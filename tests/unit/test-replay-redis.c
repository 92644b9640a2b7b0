/* test-replay-redis: the replay store on a real redis-server that this test starts on a unix
 * socket in a temporary directory. Records, reservations exact under 8 threads, the EVAL path
 * after SCRIPT FLUSH, the sent record, refused credentials and ACLs, and a server frozen or
 * killed: every call comes back with a temporary error (the longest call is printed). Redis
 * expires keys by its own clock, so times here are the real time, not an injected one. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "replay.h"
#include "tap.h"

#define THREADS 8
#define EACH 40
#define LIMIT 25
#define ADDR "prvs=0730a1b2c3=alice@example.com"
#define TIMEOUT_MS 250

static char dir[64], sock[128];
static pid_t server;
static time_t now0;
static long day0;

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* start_server - redis-server on dir/r.sock, and a bounded wait for its PING */
static void
start_server(void)
{
	int i;

	if ((server = fork()) < 0)
		bail_out("fork");
	if (server == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock,
		    "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (sh("redis-cli -s %s ping 2>/dev/null | grep -q PONG", sock) == 0)
			return;
		usleep(50000);
	}
	bail_out("redis-server did not answer PING within 5 s");
}

static void
stop_server(int sig)
{
	int st;

	kill(server, SIGCONT);
	kill(server, sig);
	waitpid(server, &st, 0);
	server = 0;
}

/* at exit, a bail_out too: no server outlives the test */
static void
cleanup(void)
{
	if (server > 0)
		stop_server(SIGKILL);
	if (dir[0] != '\0' && sh("rm -rf '%s'", dir) != 0)
		printf("# could not remove %s\n", dir);
}

static struct replay *
open_with(const char *user, const char *pwfile, int *rc, char *why, size_t whylen)
{
	struct replay_options o;
	struct replay *r = NULL;
	char spec[160];

	snprintf(spec, sizeof(spec), "unix:%s", sock);
	memset(&o, 0, sizeof(o));
	o.dur = REPLAY_DUR_WRITE;
	o.redis = spec;
	o.redis_user = user;
	o.redis_password_file = pwfile;
	o.redis_timeout_ms = TIMEOUT_MS;
	*rc = replay_open_opts(&o, &r, why, whylen);
	return r;
}

static struct replay *
open_ok(void)
{
	char why[512];
	struct replay *r;
	int rc;

	r = open_with(NULL, NULL, &rc, why, sizeof(why));
	if (rc != REPLAY_OK) {
		printf("# %s: %s\n", replay_strerror(rc), why);
		bail_out("replay_open_opts");
	}
	return r;
}

static int
count_one(const char *addr, const struct replay_entry *e, void *arg)
{
	(void)addr, (void)e;
	(*(int *)arg)++;
	return 0;
}

static void
test_records(void)
{
	struct replay *r = open_ok();
	struct replay_stats st;
	struct replay_entry e;
	uint32_t c = 0;
	int i, n = 0;

	is_str(replay_backend_name(r), "redis", "ReplayRedis selects the Redis backend");
	for (i = 1; i <= 3; i++)
		if (replay_record(r, ADDR, now0 + i, day0 + 7, &c) != REPLAY_OK)
			break;
	is_int(c, 3, "three records count 3");
	is_int(replay_record(r, "PRVS=0730A1B2C3=Alice@Example.COM", now0 + 9, day0 + 6, &c),
	    REPLAY_OK, "record in upper case");
	is_int(c, 4, "the key is case-insensitive");
	is_int(replay_get(r, ADDR, &e), REPLAY_OK, "get");
	ok(e.count == 4 && e.first_seen == now0 + 1 && e.last_seen == now0 + 9,
	    "get: count, first and last seen");
	is_int(e.expiry_day, day0 + 8, "get: the later expiry, one day past the tag's");
	ok(sh("test \"$(redis-cli -s %s ttl 'backstop:r:%s')\" -gt 0", sock, ADDR) == 0,
	    "the key carries an expiry (EXPIREAT)");
	is_int(replay_record(r, "bob@example.com", now0, day0 + 7, &c), REPLAY_OK, "another");
	is_int(replay_iterate(r, count_one, &n), REPLAY_OK, "iterate");
	is_int(n, 2, "iterate sees both records");
	is_int(replay_stats(r, now0, 4, &st), REPLAY_OK, "stats");
	ok(st.records == 2 && st.bounces == 5 && st.over_limit == 1 && st.db_bytes == 0,
	    "stats: 2 records, 5 bounces, 1 at the limit, no files");
	is_int(replay_forget(r, "bob@example.com"), REPLAY_OK, "forget");
	is_int(replay_forget(r, "bob@example.com"), REPLAY_ENOTFOUND, "forget again");
	is_int(replay_get(r, "bob@example.com", &e), REPLAY_ENOTFOUND, "gone");
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
		if (replay_reserve(x->r, "race@example.com", now0, day0 + 7, LIMIT, &c, &g) !=
		    REPLAY_OK)
			x->errors++;
		else
			x->granted += g;
	}
	return NULL;
}

static void
test_threads(void)
{
	struct replay *r = open_ok();
	struct racer x[THREADS];
	pthread_t t[THREADS];
	int i, granted = 0, errors = 0;
	uint32_t c = 0;

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
	is_int(replay_check(r, "race@example.com", &c), REPLAY_OK, "check");
	is_int(c, LIMIT, "the count is the limit");
	is_int(replay_release(r, "race@example.com", now0), REPLAY_OK, "release");
	is_int(replay_check(r, "race@example.com", &c), REPLAY_OK, "check");
	is_int(c, LIMIT - 1, "a release gives one back");
	replay_close(r);
}

static void
test_noscript(void)
{
	struct replay *r = open_ok();
	uint32_t c = 0;
	bool g = false;

	is_int(replay_reserve(r, "flush@example.com", now0, day0, 5, &c, &g), REPLAY_OK,
	    "reserve");
	ok(sh("redis-cli -s %s script flush | grep -q OK", sock) == 0, "SCRIPT FLUSH");
	ok(sh("redis-cli -s %s config resetstat | grep -q OK", sock) == 0, "CONFIG RESETSTAT");
	is_int(replay_reserve(r, "flush@example.com", now0, day0, 5, &c, &g), REPLAY_OK,
	    "reserve after the flush");
	ok(g && c == 2, "granted, count 2 (%u)", c);
	ok(sh("redis-cli -s %s info commandstats | grep -q '^cmdstat_eval:calls=1,'", sock) == 0,
	    "the NOSCRIPT answer was followed by one EVAL");
	is_int(replay_reserve(r, "flush@example.com", now0, day0, 5, &c, &g), REPLAY_OK,
	    "and the next");
	ok(sh("redis-cli -s %s info commandstats | grep -q '^cmdstat_eval:calls=1,'", sock) == 0,
	    "goes by EVALSHA again");
	replay_close(r);
}

static void
test_sent(void)
{
	struct replay *r = open_ok();
	struct replay_sent s;
	struct replay_stats st;
	uint32_t c = 0;
	time_t since = 0;

	is_int(replay_sent_record(r, "<m1@example.com>", "Alice@Example.com", 3, now0, day0 + 30),
	    REPLAY_OK, "sent record");
	is_int(replay_sent_record(r, "<m1@example.com>", "alice@example.com", 5, now0 + 5,
	    day0 + 31), REPLAY_OK, "recorded again");
	is_int(replay_sent_get(r, "<m1@example.com>", now0, &s), REPLAY_OK, "sent get");
	ok(strcmp(s.sender, "alice@example.com") == 0 && s.sent == now0 && s.rcpts == 5 &&
	    s.answers == 0 && s.expiry_day == day0 + 31,
	    "merged: the first time, the most recipients, the later expiry");
	is_int(replay_sent_answer(r, "<m1@example.com>", now0, &c), REPLAY_OK, "answer");
	is_int(replay_sent_answer(r, "<m1@example.com>", now0, &c), REPLAY_OK, "answer");
	is_int(c, 2, "two answers");
	is_int(replay_sent_answer(r, "<none@example.com>", now0, &c), REPLAY_ENOTFOUND,
	    "no answer to what was not sent");
	is_int(replay_sent_get(r, "<none@example.com>", now0, &s), REPLAY_ENOTFOUND, "not found");
	is_int(replay_sent_since(r, now0 + 100, &since), REPLAY_OK, "since");
	is_int(since, now0, "since is the first record's time");
	ok(sh("redis-cli -s %s --raw keys 'backstop:s:*' | grep -qE '^backstop:s:[0-9a-f]{32}$'",
	    sock) == 0, "the key is the keyed hash in hex, not the Message-ID");
	is_int(replay_stats(r, now0, 0, &st), REPLAY_OK, "stats");
	is_int(st.sent_records, 1, "one sent record");
	replay_close(r);
	r = open_ok();
	is_int(replay_sent_get(r, "<m1@example.com>", now0, &s), REPLAY_OK,
	    "another handle finds it: the secret is the store's");
	replay_close(r);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) != 0)
		bail_out("write_file");
}

static void
test_credentials(void)
{
	char pw[128], bad[128], open_pw[128], why[512];
	struct replay *r;
	uint32_t c = 0;
	bool g = false;
	int rc;

	ok(sh("redis-cli -s %s acl setuser bs on '>s3cret' '~backstop:*' +@all | grep -q OK &&"
	    " redis-cli -s %s acl setuser noeval on '>s3cret' '~backstop:*' +@all -evalsha -eval |"
	    " grep -q OK", sock, sock) == 0, "ACL users made");
	snprintf(pw, sizeof(pw), "%s/pw", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(open_pw, sizeof(open_pw), "%s/open", dir);
	write_file(pw, "s3cret\n", 0600);
	write_file(bad, "wrong\n", 0600);
	write_file(open_pw, "s3cret\n", 0644);
	r = open_with("bs", pw, &rc, why, sizeof(why));
	is_int(rc, REPLAY_OK, "the right password opens (%s)", why);
	is_int(replay_record(r, "auth@example.com", now0, day0, &c), REPLAY_OK, "and counts");
	is_int(replay_probe(r, now0, why, sizeof(why)), REPLAY_OK, "the probe passes (%s)", why);
	ok(sh("test \"$(redis-cli -s %s exists backstop:r:backstop-probe)\" = 0", sock) == 0,
	    "and leaves no probe key");
	replay_close(r);
	r = open_with("bs", bad, &rc, why, sizeof(why));
	is_int(rc, REPLAY_EAUTH, "a wrong password: REPLAY_EAUTH");
	ok(!replay_err_temporary(rc), "which is permanent");
	ok(strstr(why, "ReplayRedisPasswordFile") != NULL, "why names the setting: %s", why);
	ok(strstr(replay_strerror(rc), "ReplayRedisPasswordFile") != NULL, "so does strerror");
	replay_close(r);
	r = open_with("bs", open_pw, &rc, why, sizeof(why));
	ok(rc == REPLAY_EACCES && strstr(why, "chmod o-r") != NULL,
	    "a password file everyone may read is refused: %s", why);
	replay_close(r);
	r = open_with("bs", NULL, &rc, why, sizeof(why));
	ok(rc == REPLAY_EINVAL && strstr(why, "ReplayRedisPasswordFile") != NULL,
	    "a user without a password file is refused: %s", why);
	replay_close(r);
	r = open_with("noeval", pw, &rc, why, sizeof(why));
	is_int(rc, REPLAY_OK, "an ACL user without EVALSHA logs in");
	is_int(replay_probe(r, now0, why, sizeof(why)), REPLAY_ENOPERM,
	    "the probe of -n finds the missing permission");
	ok(strstr(why, "ReplayRedisUser") != NULL, "and names the setting: %s", why);
	is_int(replay_reserve(r, "acl@example.com", now0, day0, 5, &c, &g), REPLAY_ENOPERM,
	    "a reservation gets REPLAY_ENOPERM");
	ok(!replay_err_temporary(REPLAY_ENOPERM) &&
	    strstr(replay_strerror(REPLAY_ENOPERM), "ReplayRedisUser") != NULL,
	    "permanent, naming ReplayRedisUser: %s", replay_strerror(REPLAY_ENOPERM));
	replay_close(r);
}

/* redis_count - the count Redis holds for addr (-1: none) */
static long
redis_count(const char *addr)
{
	char cmd[512], buf[32] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "redis-cli -s %s hget 'backstop:r:%s' count", sock, addr);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	pclose(f);
	return buf[0] >= '0' && buf[0] <= '9' ? strtol(buf, NULL, 10) : -1;
}

/* ReplayRedisFallback local: while the server is frozen the counts go to the local store,
 * and replay_maintain adds them to Redis once it answers again. */
static void
test_fallback(void)
{
	struct replay_options o;
	struct replay *r = NULL, *l = NULL;
	struct replay_entry e;
	char spec[160], local[128], why[512];
	uint32_t c = 0;
	bool g = false;
	int i, granted = 0;
	long before, after = -1;

	snprintf(spec, sizeof(spec), "unix:%s", sock);
	snprintf(local, sizeof(local), "%s/local", dir);
	if (mkdir(local, 0700) != 0)
		bail_out("mkdir local");
	memset(&o, 0, sizeof(o));
	o.dir = local;
	o.dur = REPLAY_DUR_WRITE;
	o.redis = spec;
	o.redis_timeout_ms = TIMEOUT_MS;
	o.redis_fallback_local = true;
	is_int(replay_open_opts(&o, &r, why, sizeof(why)), REPLAY_OK, "open with a local fallback");
	for (i = 0; i < 2; i++)
		granted += replay_reserve(r, "fb@example.com", now0, day0 + 7, 10, &c, &g) ==
		    REPLAY_OK && g;
	is_int(granted, 2, "two reservations on Redis");
	kill(server, SIGSTOP);
	for (i = 0, granted = 0; i < 3; i++)
		granted += replay_reserve(r, "fb@example.com", now0 + 1, day0 + 7, 10, &c, &g) ==
		    REPLAY_OK && g;
	is_int(granted, 3, "server frozen: three reservations granted by the local store");
	is_int(replay_check(r, "fb@example.com", &c), REPLAY_OK, "check while frozen");
	is_int(c, 3, "answers the local count");
	kill(server, SIGCONT);
	before = redis_count("fb@example.com");
	/* the breaker keeps Redis shut for a second: a bounded wait for the push */
	for (i = 0; i < 60 && (after = redis_count("fb@example.com")) != before + 3; i++) {
		if (replay_maintain(r, now0 + 2) != REPLAY_OK)
			break;
		usleep(50000);
	}
	printf("# catch-up: Redis count %ld before, %ld after\n", before, after);
	/* The first call sent while frozen timed out unanswered, and the server ran it when
	 * thawed: a timeout cannot tell whether a command ran, so that bounce counts twice (at
	 * most one per connection that timed out: an over-count, never an under-count). */
	ok(before == 2 || before == 3, "Redis held 2, or 3 with the command that timed out (%ld)",
	    before);
	is_int(after, before + 3, "after the catch-up the 3 local counts were added");
	is_int(replay_maintain(r, now0 + 3), REPLAY_OK, "another maintain");
	is_int(redis_count("fb@example.com"), before + 3, "adds nothing twice");
	replay_close(r);
	is_int(replay_open(local, REPLAY_DUR_WRITE, &l, why, sizeof(why)), REPLAY_OK,
	    "open the local store");
	is_int(replay_get(l, "fb@example.com", &e), REPLAY_ENOTFOUND,
	    "the pushed counts left the local store");
	replay_close(l);
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* faults - 20 reservations: how many failed, temporarily, and the longest call */
static void
faults(struct replay *r, const char *what)
{
	struct timespec t0;
	double longest = 0, t;
	int i, temp = 0, other = 0, rc;
	uint32_t c;
	bool g;

	for (i = 0; i < 20; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = replay_reserve(r, "fault@example.com", now0, day0, 100, &c, &g);
		if ((t = ms_since(&t0)) > longest)
			longest = t;
		if (rc != REPLAY_OK && replay_err_temporary(rc))
			temp++;
		else
			other++;
	}
	is_int(temp, 20, "%s: every call gets a temporary error", what);
	is_int(other, 0, "%s: none succeeds or fails for good", what);
	printf("# %s: longest call %.1f ms (ReplayRedisTimeout %d ms)\n", what, longest,
	    TIMEOUT_MS);
}

static void
test_frozen_and_killed(void)
{
	struct replay *r = open_ok();
	char why[512];
	uint32_t c = 0;
	bool g = false;
	int rc;

	is_int(replay_reserve(r, "fault@example.com", now0, day0, 100, &c, &g), REPLAY_OK,
	    "reserve while the server runs");
	kill(server, SIGSTOP);
	faults(r, "server frozen (SIGSTOP)");
	kill(server, SIGCONT);
	stop_server(SIGKILL);
	faults(r, "server killed (SIGKILL)");
	replay_close(r);
	r = open_with(NULL, NULL, &rc, why, sizeof(why));
	is_int(rc, REPLAY_OK, "a handle opens while the server is away (%s)", why);
	faults(r, "server away, a fresh handle (connection refused)");
	replay_close(r);
	/* a pooled connection to a server killed since: the write meets a closed socket, which
	 * must be an error, not a SIGPIPE that kills the process */
	start_server();
	r = open_ok();
	is_int(replay_reserve(r, "pipe@example.com", now0, day0, 100, &c, &g), REPLAY_OK,
	    "a restarted server counts again");
	stop_server(SIGKILL);
	rc = replay_reserve(r, "pipe@example.com", now0, day0, 100, &c, &g);
	ok(rc != REPLAY_OK && replay_err_temporary(rc),
	    "a pooled connection to a killed server: a temporary error, no SIGPIPE (%s)",
	    replay_strerror(rc));
	replay_close(r);
}

int
main(void)
{
	if (system("command -v redis-server >/dev/null && command -v redis-cli >/dev/null") != 0) {
		printf("1..0 # SKIP redis-server or redis-cli is not installed\n");
		return 0;
	}
	snprintf(dir, sizeof(dir), "/tmp/backstop-redis.XXXXXX");
	if (mkdtemp(dir) == NULL)
		bail_out("mkdtemp");
	snprintf(sock, sizeof(sock), "%s/r.sock", dir);
	now0 = time(NULL);
	day0 = (long)(now0 / CLOCK_DAY);
	atexit(cleanup);
	start_server();
	test_records();
	test_threads();
	test_noscript();
	test_sent();
	test_credentials();
	test_fallback();
	test_frozen_and_killed();
	return done_testing();
}
