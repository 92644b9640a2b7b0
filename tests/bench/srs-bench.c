/* srs-bench: requests per second of "srs-rewrite serve --tcp-table" against Debian's postsrsd
 * 1.x and a floor server that answers every line with "200 x" and does no work, at 1, 4 and 32
 * persistent connections, alternating the servers in each round; then socketmap on its own.
 * Loopback only; every loop is bounded by a deadline. Not part of "make check". */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXCONN 32
#define NADDR 1024
#define FLOOR_THREADS 2

static const int levels[] = { 1, 4, 32 };
#define NLEVELS (int)(sizeof(levels) / sizeof(levels[0]))

static const char *serve_threads = "0";	/* srs-rewrite serve --threads; 0: per CPU */
static double run_seconds = 0.6;
static int rounds = 7;
static char tmpdir[] = "/tmp/srs-bench.XXXXXX";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the floor: epoll, one listener per thread with SO_REUSEPORT, "200 x" per line ---- */

static int
listen_tcp(int port, bool reuseport)
{
	struct sockaddr_in sin;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
floor_conn(int ep, int fd)
{
	static const char reply[] = "200 x\n";
	char in[4096], out[4096];
	ssize_t n = read(fd, in, sizeof(in)), i;
	size_t o = 0;

	if (n <= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		close(fd);
		return;
	}
	for (i = 0; i < n; i++)
		if (in[i] == '\n' && o + 6 <= sizeof(out)) {
			memcpy(out + o, reply, 6);
			o += 6;
		}
	if (o > 0 && send(fd, out, o, MSG_NOSIGNAL) < 0)
		close(fd);
}

static void *
floor_thread(void *arg)
{
	int lfd = *(int *)arg, ep = epoll_create1(0), n, i, fd, one = 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[64];

	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 64, 1000);
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd != lfd) {
				floor_conn(ep, evs[i].data.fd);
				continue;
			}
			fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				continue;
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	return NULL;
}

/* floor_start - the floor server in a child process; its pid */
static pid_t
floor_start(int port)
{
	static int fds[FLOOR_THREADS];
	pthread_t t;
	pid_t pid = fork();
	int i;

	if (pid != 0)
		return pid;
	for (i = 0; i < FLOOR_THREADS; i++) {
		fds[i] = listen_tcp(port, true);
		if (fds[i] < 0)
			_exit(1);
	}
	for (i = 1; i < FLOOR_THREADS; i++)
		pthread_create(&t, NULL, floor_thread, &fds[i]);
	floor_thread(&fds[0]);
	_exit(0);
}

/* ---- the load client: C connections, one request in flight on each (as Postfix does) ---- */

enum proto { PROTO_TCP, PROTO_SOCKETMAP };

struct target {
	const char *name;
	int port;		/* tcp */
	const char *path;	/* unix socketmap */
	enum proto proto;
};

struct lconn {
	int fd;
	unsigned next;
	size_t have;
	char buf[1024];
};

static char reqs[NADDR][128];
static size_t reqlen[NADDR];

static void
make_requests(enum proto proto)
{
	char addr[96];
	int i;

	for (i = 0; i < NADDR; i++) {
		snprintf(addr, sizeof(addr), "user%d@sender%d.example.net", i, i % 97);
		if (proto == PROTO_TCP)
			snprintf(reqs[i], sizeof(reqs[i]), "get %s\n", addr);
		else
			snprintf(reqs[i], sizeof(reqs[i]), "%zu:forward %s,", strlen(addr) + 8,
			    addr);
		reqlen[i] = strlen(reqs[i]);
	}
}

static int
dial(const struct target *t)
{
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	int fd, one = 1, rc;

	if (t->path != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)t->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (rc != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* reply_done - is there one complete reply in the buffer? its length, else 0 */
static size_t
reply_done(const struct lconn *c, enum proto proto, bool *good)
{
	const char *colon, *nl;
	size_t n;

	if (proto == PROTO_TCP) {
		nl = memchr(c->buf, '\n', c->have);
		if (nl == NULL)
			return 0;
		*good = strncmp(c->buf, "200 ", 4) == 0;
		return (size_t)(nl - c->buf) + 1;
	}
	colon = memchr(c->buf, ':', c->have);
	if (colon == NULL)
		return 0;
	n = strtoul(c->buf, NULL, 10);
	if ((size_t)(colon - c->buf) + n + 2 > c->have)
		return 0;
	*good = strncmp(colon + 1, "OK ", 3) == 0;
	return (size_t)(colon - c->buf) + n + 2;
}

/* conn_reply - read, count complete replies, send the next request; -1 if the conn died */
static int
conn_reply(struct lconn *c, enum proto proto, long *done, long *bad)
{
	ssize_t n;
	size_t used;
	bool good = false;

	errno = 0;
	n = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);

	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	while ((used = reply_done(c, proto, &good)) > 0) {
		(*done)++;
		*bad += !good;
		memmove(c->buf, c->buf + used, c->have - used);
		c->have -= used;
		c->next = (c->next + 1) % NADDR;
		if (send(c->fd, reqs[c->next], reqlen[c->next], MSG_NOSIGNAL) < 0)
			return -1;
	}
	return 0;
}

/* server_cpu - CPU seconds used so far by pid and its children (postsrsd forks one per
 * connection), from /proc: what a request costs, whatever else the machine runs */
static double
server_cpu(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], buf[1024], *p;
	unsigned long ut, st;
	long ppid, self;
	double sum = 0;
	FILE *fp;

	if (d == NULL || pid <= 0) {
		if (d != NULL)
			closedir(d);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), fp) != NULL ? strrchr(buf, ')') : NULL;
		fclose(fp);
		self = atol(e->d_name);
		if (p == NULL || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		    &ppid, &ut, &st) != 3)
			continue;
		if (self == pid || ppid == pid)
			sum += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	closedir(d);
	return sum;
}

/* load - requests per second over run_seconds at nconn connections; < 0 on failure */
static double
load(const struct target *t, pid_t pid, int nconn, long *bad_out, double *cpu_us)
{
	struct lconn conns[MAXCONN];
	struct epoll_event ev, evs[MAXCONN];
	int ep = epoll_create1(0), i, n;
	long done = 0, bad = 0, base = 0;
	double start, t0 = 0, end, now, cpu0 = 0;

	make_requests(t->proto);
	for (i = 0; i < nconn; i++) {
		conns[i].fd = dial(t);
		conns[i].have = 0;
		conns[i].next = (unsigned)(i * 31) % NADDR;
		if (conns[i].fd < 0) {
			fprintf(stderr, "srs-bench: %s: connection %d: %s\n", t->name, i,
			    strerror(errno));
			nconn = i;
			done = -1;
			goto out;
		}
		ev.events = EPOLLIN;
		ev.data.ptr = &conns[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
		send(conns[i].fd, reqs[conns[i].next], reqlen[conns[i].next], MSG_NOSIGNAL);
	}
	start = now_s();	/* after connecting: postsrsd forks per connection, slowly */
	end = start + 0.2 + run_seconds;
	while ((now = now_s()) < end) {
		if (t0 == 0 && now >= start + 0.2) {	/* warm-up done */
			t0 = now;
			base = done;
			cpu0 = server_cpu(pid);
		}
		n = epoll_wait(ep, evs, MAXCONN, 100);
		for (i = 0; i < n; i++)
			if (conn_reply(evs[i].data.ptr, t->proto, &done, &bad) < 0) {
				fprintf(stderr, "srs-bench: %s: a connection failed: %s\n",
				    t->name, errno != 0 ? strerror(errno) : "closed by the server");
				done = -1;
				goto out;
			}
	}
out:
	*cpu_us = done > base ? 1e6 * (server_cpu(pid) - cpu0) / (double)(done - base) : 0;
	for (i = 0; i < nconn; i++)
		close(conns[i].fd);
	close(ep);
	*bad_out = bad;
	return done < 0 || t0 == 0 ? -1 : (double)(done - base) / (now_s() - t0);
}

/* ---- the servers under test ---- */

static pid_t
spawn(const char *const argv[])
{
	char *v[32];
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		for (i = 0; i < 31 && argv[i] != NULL; i++)
			v[i] = strdup(argv[i]);
		v[i] = NULL;
		execv(v[0], v);
		fprintf(stderr, "srs-bench: cannot run %s\n", argv[0]);
		_exit(127);
	}
	return pid;
}

static bool
wait_up(const struct target *t, pid_t pid)
{
	int i, fd, st;

	for (i = 0; i < 300; i++) {
		fd = dial(t);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			return false;
		usleep(10000);
	}
	return false;
}

static void
stop(pid_t pid)
{
	int st, i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 200 && waitpid(pid, &st, WNOHANG) != pid; i++)
		usleep(10000);
	if (i == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
}

/* setup - one secret for both: raw bytes in our key store, its base64 in postsrsd's file */
static void
setup(int port, const char *sock)
{
	unsigned char key[32];
	char b64[64], path[512], text[1024];

	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	snprintf(path, sizeof(path), "%s/keys", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys/0.key", tmpdir);
	snprintf(text, sizeof(text), "# backstop key\nactivate 1\nsecret %s\n", b64);
	write_text(path, text, 0600);
	snprintf(path, sizeof(path), "%s/postsrsd.secret", tmpdir);
	snprintf(text, sizeof(text), "%s\n", b64);
	write_text(path, text, 0600);
	snprintf(path, sizeof(path), "%s/tcp.conf", tmpdir);
	snprintf(text, sizeof(text), "MapSocket inet:127.0.0.1:%d\nKeyDirectory %s/keys\n"
	    "Domains example.com\nSRSDomain fwd.example.com\nSRSHashLength 4\nSyslog no\n"
	    "LogLevel err\n", port, tmpdir);
	write_text(path, text, 0644);
	snprintf(path, sizeof(path), "%s/sm.conf", tmpdir);
	snprintf(text, sizeof(text), "MapSocket unix:%s\nKeyDirectory %s/keys\n"
	    "Domains example.com\nSRSDomain fwd.example.com\nSRSHashLength 4\nSyslog no\n"
	    "LogLevel err\n", sock, tmpdir);
	write_text(path, text, 0644);
}

/* ---- the run ---- */

#define MAXROUNDS 10

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median - of n samples (0 if none): one slow or fast run does not decide */
static double
median(double *v, int n)
{
	if (n == 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { S_FLOOR, S_OURS, S_POSTSRSD, NSERVERS };
static const char *const server_names[NSERVERS] = { "floor", "srs-rewrite", "postsrsd" };

static void
print_table(double rps[NSERVERS][NLEVELS], double cpu[NSERVERS][NLEVELS], long bad[NSERVERS])
{
	int l;
	bool met = true;

	printf("\ntcp_table (forward lookups; median of %d alternating runs of %.1f s)\n",
	    rounds, run_seconds);
	printf("%-6s %12s %12s %12s %11s %14s\n", "conns", "floor", "srs-rewrite", "postsrsd",
	    "ours/floor", "ours/postsrsd");
	for (l = 0; l < NLEVELS; l++) {
		double f = rps[S_FLOOR][l], o = rps[S_OURS][l], p = rps[S_POSTSRSD][l];
		double need = levels[l] >= 4 ? 1.5 : 1.0;
		bool good = o >= 0.9 * f && (p <= 0 || o >= need * p);

		met = met && good;
		printf("%-6d %12.0f %12.0f %12.0f %10.1f%% %13.2fx  %s\n", levels[l], f, o, p,
		    f > 0 ? 100 * o / f : 0, p > 0 ? o / p : 0, good ? "goal met" : "GOAL MISSED");
	}
	printf("\nserver CPU per request (user + system, microseconds; median)\n");
	printf("%-6s %12s %12s %12s\n", "conns", "floor", "srs-rewrite", "postsrsd");
	for (l = 0; l < NLEVELS; l++)
		printf("%-6d %12.1f %12.1f %12.1f\n", levels[l], cpu[S_FLOOR][l], cpu[S_OURS][l],
		    cpu[S_POSTSRSD][l]);
	printf("non-200 replies: srs-rewrite %ld, postsrsd %ld\n", bad[S_OURS], bad[S_POSTSRSD]);
	printf("goal (>= 90%% of the floor everywhere, >= 1.5x postsrsd at 4 and 32): %s\n",
	    met ? "met" : "MISSED");
}

static void
bench_tcp(const char *ours, const char *postsrsd, int base)
{
	struct target t[NSERVERS] = {
		{ "floor", base, NULL, PROTO_TCP },
		{ "srs-rewrite", base + 2, NULL, PROTO_TCP },
		{ "postsrsd", base + 4, NULL, PROTO_TCP },
	};
	char conf[512], secret[512], fp[16], rp[16];
	const char *ours_argv[] = { ours, "-c", conf, "serve", "-f", "--tcp-table",
		strcmp(serve_threads, "0") != 0 ? "--threads" : NULL, serve_threads, NULL };
	const char *pss_argv[] = { postsrsd, "-s", secret, "-d", "fwd.example.com", "-f", fp,
		"-r", rp, "-l", "127.0.0.1", "-u", "nobody", "-4", "-Xexample.com", NULL };
	pid_t pids[NSERVERS];
	double samples[NSERVERS][NLEVELS][MAXROUNDS], rps[NSERVERS][NLEVELS] = { { 0 } }, r, c;
	double cpus[NSERVERS][NLEVELS][MAXROUNDS], cpu[NSERVERS][NLEVELS] = { { 0 } };
	long bad[NSERVERS] = { 0 }, b;
	int s, l, k, round, nsamp[NSERVERS][NLEVELS] = { { 0 } };

	snprintf(conf, sizeof(conf), "%s/tcp.conf", tmpdir);
	snprintf(secret, sizeof(secret), "%s/postsrsd.secret", tmpdir);
	snprintf(fp, sizeof(fp), "%d", base + 4);
	snprintf(rp, sizeof(rp), "%d", base + 5);
	pids[S_FLOOR] = floor_start(base);
	pids[S_OURS] = spawn(ours_argv);
	pids[S_POSTSRSD] = access(postsrsd, X_OK) == 0 ? spawn(pss_argv) : -1;
	for (s = 0; s < NSERVERS; s++)
		if (pids[s] > 0 && !wait_up(&t[s], pids[s])) {
			fprintf(stderr, "srs-bench: %s did not come up\n", server_names[s]);
			pids[s] = -1;
		}
	for (round = 0; round < rounds; round++)
		for (l = 0; l < NLEVELS; l++)
			for (k = 0; k < NSERVERS; k++) {
				s = (k + round + l) % NSERVERS;	/* alternate the order */
				if (pids[s] <= 0)
					continue;
				r = load(&t[s], pids[s], levels[l], &b, &c);
				if (r > 0) {
					cpus[s][l][nsamp[s][l]] = c;
					samples[s][l][nsamp[s][l]++] = r;
				}
				bad[s] += b;
				fprintf(stderr, "  round %d, %2d conns, %-11s %9.0f req/s %6.1f us "
				    "CPU/req\n", round + 1, levels[l], server_names[s], r, c);
			}
	for (s = 0; s < NSERVERS; s++)
		stop(pids[s]);
	for (s = 0; s < NSERVERS; s++)
		for (l = 0; l < NLEVELS; l++)
		for (l = 0; l < NLEVELS; l++) {
			rps[s][l] = median(samples[s][l], nsamp[s][l]);
			cpu[s][l] = median(cpus[s][l], nsamp[s][l]);
		}
	print_table(rps, cpu, bad);
}

static void
bench_socketmap(const char *ours, const char *sock)
{
	struct target t = { "srs-rewrite", 0, sock, PROTO_SOCKETMAP };
	char conf[512];
	const char *argv[] = { ours, "-c", conf, "serve", "-f",
		strcmp(serve_threads, "0") != 0 ? "--threads" : NULL, serve_threads, NULL };
	pid_t pid;
	long bad;
	int l;

	snprintf(conf, sizeof(conf), "%s/sm.conf", tmpdir);
	pid = spawn(argv);
	if (!wait_up(&t, pid)) {
		fprintf(stderr, "srs-bench: srs-rewrite serve (socketmap) did not come up\n");
		return;
	}
	printf("\nsocketmap over a unix socket (srs-rewrite serve alone, forward lookups)\n");
	printf("%-6s %12s %10s %10s\n", "conns", "srs-rewrite", "non-OK", "us CPU/req");
	for (l = 0; l < NLEVELS; l++) {
		double c, r = load(&t, pid, levels[l], &bad, &c);

		printf("%-6d %12.0f %10ld %10.1f\n", levels[l], r, bad, c);
	}
	stop(pid);
}

/* print_load - the machine's load average: the numbers mean little on a busy machine */
static void
print_load(const char *when)
{
	char buf[128] = "?";
	FILE *fp = fopen("/proc/loadavg", "r");

	if (fp != NULL) {
		if (fgets(buf, sizeof(buf), fp) == NULL)
			snprintf(buf, sizeof(buf), "?\n");
		fclose(fp);
	}
	printf("load average %s: %s", when, buf);
}

static int
usage(void)
{
	fprintf(stderr, "usage: srs-bench --srs-rewrite PATH [--postsrsd PATH] [--seconds S] "
	    "[--rounds N] [--threads N]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *ours = NULL, *postsrsd = "/usr/sbin/postsrsd";
	char sock[512], cmd[600];
	int i, base = 18000 + (int)(getpid() % 500) * 8;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--srs-rewrite") == 0)
			ours = argv[i + 1];
		else if (strcmp(argv[i], "--postsrsd") == 0)
			postsrsd = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			run_seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			serve_threads = argv[i + 1];
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else
			return usage();
	}
	if (ours == NULL || i != argc || run_seconds <= 0 || run_seconds > 10 || rounds < 1 ||
	    rounds > 10)
		return usage();
	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "%s/srs.sock", tmpdir);
	setup(base + 2, sock);
	if (access(postsrsd, X_OK) != 0)
		printf("postsrsd not found at %s: comparing with the floor only\n", postsrsd);
	print_load("before");
	bench_tcp(ours, postsrsd, base);
	bench_socketmap(ours, sock);
	print_load("after");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}
