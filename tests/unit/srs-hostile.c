/* srs-hostile: random bytes over 1,000 connections to srs-rewrite serve while a well-formed
 * client keeps asking forward and reverse on its own connections and checks every answer.
 * Usage: srs-hostile socketmap unix:/path | tcp PORT  [SEED]. Prints TAP.
 * "srs-hostile slowloris unix:/path" crowds the server from uid 65534 with connections that
 * trickle a byte at a time while root's lookups must be answered; "srs-hostile noread
 * unix:/path N" opens N clients that send and never read, which the server must drop.
 * The hostile side sends garbage, broken netstrings and lines, absurd lengths, half frames,
 * then half-closes and reads to EOF, or drops the connection at once; up to 16 are open at a
 * time. The good side must see no error and no wrong answer, during and after. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockclient.h"
#include "tap.h"

#define HOSTILE_CONNS 1000
#define HOSTILE_OPEN 16
#define SENDER "bob@other.example"

static bool tcp;
static const char *unix_path;
static int port;
static atomic_bool hostile_done;

static int
dial(void)
{
	int fd;

	if (tcp) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return sc_unix(unix_path);
}

/* ---- the well-formed client ---- */

static void
copy_out(char *out, size_t size, const char *s, size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

/* ask - one request on fd; the reply's status word and value ("OK" / "200" ...) */
static bool
ask(int fd, const char *map, const char *key, char *out, size_t size)
{
	char req[1024], buf[2048];
	size_t len = 0;

	if (tcp)
		snprintf(req, sizeof(req), "get %s\n", key);
	else
		snprintf(req, sizeof(req), "%zu:%s %s,", strlen(map) + 1 + strlen(key), map, key);
	if (!sc_send_all(fd, req, strlen(req)))
		return false;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *colon;

		if (poll(&pf, 1, 10000) != 1)
			return false;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
		if (tcp && (colon = memchr(buf, '\n', len)) != NULL) {
			*colon = '\0';
			copy_out(out, size, buf, strlen(buf));
			return true;
		}
		if (!tcp && (colon = memchr(buf, ':', len)) != NULL) {
			size_t want = strtoul(buf, NULL, 10), have = len - (size_t)(colon + 1 - buf);

			if (have >= want + 1) {
				copy_out(out, size, colon + 1, want);
				return true;
			}
		}
		if (len >= sizeof(buf) - 1)
			return false;
	}
}

/* dial_map - tcp_table serves forward on port and reverse on port + 1 */
static int
dial_map(const char *map)
{
	int saved = port, fd;

	if (tcp && strcmp(map, "reverse") == 0)
		port++;
	fd = dial();
	port = saved;
	return fd;
}

/* good_round - forward SENDER, reverse the result, on fresh connections; false on a bad answer */
static bool
good_round(char *fwd, size_t fsize, char *why, size_t whylen)
{
	char ans[1100], rev[1100];
	const char *ok_word = tcp ? "200 " : "OK ";
	int fd = dial_map("forward");

	snprintf(why, whylen, "cannot connect for forward");
	if (fd < 0)
		return false;
	if (!ask(fd, "forward", SENDER, ans, sizeof(ans))) {
		snprintf(why, whylen, "no answer to forward");
		close(fd);
		return false;
	}
	close(fd);
	if (strncmp(ans, ok_word, strlen(ok_word)) != 0 ||
	    (fwd[0] != '\0' && strcmp(fwd, ans + strlen(ok_word)) != 0)) {
		snprintf(why, whylen, "forward answered '%.200s'", ans);
		return false;
	}
	snprintf(fwd, fsize, "%s", ans + strlen(ok_word));
	fd = dial_map("reverse");
	if (fd < 0 || !ask(fd, "reverse", fwd, rev, sizeof(rev))) {
		snprintf(why, whylen, "no answer to reverse");
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	snprintf(ans, sizeof(ans), "%s%s", ok_word, SENDER);
	if (strcmp(rev, ans) != 0) {
		snprintf(why, whylen, "reverse answered '%.200s'", rev);
		return false;
	}
	return true;
}

struct good_result {
	long rounds, bad;
	char why[512];
};

static void *
good_thread(void *arg)
{
	struct good_result *r = arg;
	char fwd[1024] = "", why[512];

	while (!atomic_load(&hostile_done) || r->rounds == 0) {
		r->rounds++;
		if (!good_round(fwd, sizeof(fwd), why, sizeof(why))) {
			if (r->bad++ == 0)
				snprintf(r->why, sizeof(r->why), "%s", why);
		}
	}
	return NULL;
}

/* ---- the hostile client ---- */

static unsigned long rng_state;

static unsigned
rng(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rng_state >> 33);
}

/* garbage - one of several kinds of bad request into buf; its length */
static size_t
garbage(char *buf, size_t size)
{
	size_t len = 1 + rng() % (size - 1), i;

	for (i = 0; i < len; i++)
		buf[i] = (char)rng();
	switch (rng() % 8) {
	case 0: return (size_t)snprintf(buf, size, "99999999999999999999999:");
	case 1: return (size_t)snprintf(buf, size, "5:forwa");	/* half a frame */
	case 2: return (size_t)snprintf(buf, size, "12:forward a@b;");	/* no comma */
	case 3: return (size_t)snprintf(buf, size, "get %%zz%%\n");
	case 4: return (size_t)snprintf(buf, size, "4:   ,4:\x01\x02\x03\x04,");
	case 5:	/* a netstring whose payload is random */
		i = (size_t)snprintf(buf, size, "%zu:", len / 2);
		return i + len / 2 + 1 < size ? i + len / 2 + 1 : size;
	default: return len;	/* pure random bytes */
	}
}

/* finish - half-close and read to EOF (the server must close), or drop it at once */
static void
finish(int fd, bool drop)
{
	char buf[4096];
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	if (!drop) {
		shutdown(fd, SHUT_WR);
		while (poll(&pf, 1, 5000) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
			;
	}
	close(fd);
}

struct hostile_result {
	int opened, refused;
};

static void *
hostile_thread(void *arg)
{
	struct hostile_result *r = arg;
	int open_fds[HOSTILE_OPEN], i, j;
	char buf[3000];

	for (j = 0; j < HOSTILE_OPEN; j++)
		open_fds[j] = -1;
	for (i = 0; i < HOSTILE_CONNS; i++) {
		int fd = dial(), slot = i % HOSTILE_OPEN;

		if (fd < 0) {
			r->refused++;
			continue;
		}
		r->opened++;
		sc_send_all(fd, buf, garbage(buf, sizeof(buf)));
		if (open_fds[slot] >= 0)
			finish(open_fds[slot], rng() % 4 == 0);
		open_fds[slot] = fd;
	}
	for (j = 0; j < HOSTILE_OPEN; j++)
		if (open_fds[j] >= 0)
			finish(open_fds[j], false);
	atomic_store(&hostile_done, true);
	return NULL;
}

/* ---- slow clients and clients that never read ---- */

#define LORIS_CONNS 8

/* loris - as uid 65534: keep LORIS_CONNS connections open, each trickling a request that
 * never ends, dialling again whenever the server closes one, until stop is readable */
static void
loris(int ready, int stop)
{
	int fds[LORIS_CONNS], i, held = 0;
	struct pollfd pf = { .fd = stop, .events = POLLIN };

	if (setgid(65534) != 0 || setuid(65534) != 0)
		_exit(1);
	for (i = 0; i < LORIS_CONNS; i++) {
		fds[i] = dial();
		held += fds[i] >= 0 && sc_send_all(fds[i], "900:prvs ", 9);
	}
	if (write(ready, &held, sizeof(held)) != sizeof(held))
		_exit(1);
	while (poll(&pf, 1, 200) == 0) {
		for (i = 0; i < LORIS_CONNS; i++) {
			if (fds[i] >= 0 && send(fds[i], "x", 1, MSG_NOSIGNAL) == 1)
				continue;
			if (fds[i] >= 0)
				close(fds[i]);
			if ((fds[i] = dial()) >= 0)
				sc_send_all(fds[i], "900:prvs ", 9);
		}
	}
	_exit(0);
}

static int
slowloris(void)
{
	int ready[2], stop[2], held = 0, i, good = 0;
	char fwd[1024] = "", why[512] = "";
	pid_t pid;

	if (pipe(ready) != 0 || pipe(stop) != 0 || (pid = fork()) < 0) {
		bail_out("pipe/fork");
		return 1;
	}
	if (pid == 0) {
		close(ready[0]);
		close(stop[1]);	/* else the parent's close would never reach it */
		loris(ready[1], stop[0]);
	}
	close(ready[1]);
	close(stop[0]);
	if (read(ready[0], &held, sizeof(held)) != sizeof(held))
		held = -1;
	printf("# uid 65534 opened %d slow connections\n", held);
	for (i = 0; i < 10; i++) {
		good += good_round(fwd, sizeof(fwd), why, sizeof(why));
	}
	close(stop[1]);
	waitpid(pid, NULL, 0);
	/* connections past its per-peer cap (half of --max-connections) are closed by the
	 * server, sooner or later than the first byte is sent: only its share is sure */
	ok(held >= LORIS_CONNS / 2 && held <= LORIS_CONNS,
	    "slowloris: uid 65534 holds at least its share of slow connections (%d of %d)", held,
	    LORIS_CONNS);
	ok(good == 10, "slowloris: root's lookups answered beside them: %d of 10%s%s", good,
	    good < 10 ? ": " : "", good < 10 ? why : "");
	return done_testing();
}

/* one client that sends requests until the socket takes no more, never reading */
static int
noread_client(void)
{
	char req[64], batch[64 * 100];
	int fd = dial(), small = 4096, i, n;
	size_t len = 0;
	struct pollfd pf;

	if (fd < 0)
		return -1;
	n = snprintf(req, sizeof(req), "%zu:forward %s,", strlen(SENDER) + 8, SENDER);
	for (i = 0; i < 100; i++, len += (size_t)n)
		memcpy(batch + len, req, (size_t)n);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	pf.fd = fd;
	pf.events = POLLOUT;
	for (i = 0; i < 100000 && poll(&pf, 1, 200) == 1; i++)
		if (send(fd, batch, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			break;
	return fd;
}

static int
noread(int n)
{
	int *fds = calloc((size_t)n, sizeof(*fds)), i, dropped = 0, eof;
	char buf[65536];
	struct pollfd pf = { .events = POLLIN };

	if (fds == NULL) {
		bail_out("calloc");
		return 1;
	}
	for (i = 0; i < n; i++)
		fds[i] = noread_client();
	printf("# %d clients sent until the server stopped reading\n", n);
	fflush(stdout);
	/* the script measures the server, then says go */
	if (read(STDIN_FILENO, buf, 1) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		pf.fd = fds[i];
		eof = fds[i] < 0;
		while (!eof && poll(&pf, 1, 5000) == 1)
			eof = read(fds[i], buf, sizeof(buf)) <= 0;
		dropped += eof;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(fds);
	ok(dropped == n, "noread: %d of %d clients that never read were disconnected", dropped, n);
	return done_testing();
}

int
main(int argc, char **argv)
{
	struct good_result good = { 0 };
	struct hostile_result bad = { 0 };
	pthread_t g, h;
	char fwd[1024] = "", why[512];
	bool res;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "slowloris") == 0) {
		unix_path = argv[2] + (strncmp(argv[2], "unix:", 5) == 0 ? 5 : 0);
		return slowloris();
	}
	if (argc >= 4 && strcmp(argv[1], "noread") == 0) {
		unix_path = argv[2] + (strncmp(argv[2], "unix:", 5) == 0 ? 5 : 0);
		return noread(atoi(argv[3]));
	}
	if (argc < 3 || (strcmp(argv[1], "socketmap") != 0 && strcmp(argv[1], "tcp") != 0)) {
		fprintf(stderr, "usage: srs-hostile socketmap unix:/path | tcp PORT [SEED]\n");
		return 2;
	}
	tcp = strcmp(argv[1], "tcp") == 0;
	if (tcp)
		port = atoi(argv[2]);
	else
		unix_path = strncmp(argv[2], "unix:", 5) == 0 ? argv[2] + 5 : argv[2];
	rng_state = argc > 3 ? strtoul(argv[3], NULL, 10) : 1;
	signal(SIGPIPE, SIG_IGN);
	res = good_round(fwd, sizeof(fwd), why, sizeof(why));
	ok(res, "%s: well-formed round before: %s", argv[1], res ? fwd : why);
	if (pthread_create(&h, NULL, hostile_thread, &bad) != 0) {
		bail_out("pthread_create");
		return 1;
	}
	if (pthread_create(&g, NULL, good_thread, &good) != 0) {
		bail_out("pthread_create");
		return 1;
	}
	pthread_join(h, NULL);
	pthread_join(g, NULL);
	ok(bad.opened == HOSTILE_CONNS, "%s: %d hostile connections accepted, %d refused",
	    argv[1], bad.opened, bad.refused);
	ok(good.rounds > 0 && good.bad == 0,
	    "%s: %ld well-formed rounds beside them, %ld bad%s%s", argv[1], good.rounds,
	    good.bad, good.bad ? ": " : "", good.why);
	res = good_round(fwd, sizeof(fwd), why, sizeof(why));
	ok(res, "%s: well-formed round after: %s", argv[1], res ? fwd : why);
	return done_testing();
}
