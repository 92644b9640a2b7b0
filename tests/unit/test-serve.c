/* test-serve: "srs-rewrite serve" driven over raw sockets. Every row of the SRS vectors through
 * socketmap and tcp_table (one server per parameter set, time from BACKSTOP_NOW), 10,000
 * requests on one connection, 200 at once, malformed frames, reload on SIGUSR1 (keys and
 * configuration), a configuration without SRSDomain (the prvs map alone), SIGTERM. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockclient.h"
#include "tap.h"
#include "tsv.h"

#define MAXROWS 256
#define NCONN 200
#define NPIPE 10000

static char tmpdir[] = "/tmp/test-serve.XXXXXX";
static char prog[1024];
static int port_base;

/* ---- a tiny client: netstrings and lines over a socket, 5 s per read ---- */

struct client {
	int fd;
	size_t len, off;
	char buf[65536];
};

static int
dial_tcp(int port, int v6)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), rc;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	sin6.sin6_addr = in6addr_loopback;
	if (fd < 0)
		return -1;
	rc = v6 ? connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) :
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	if (rc != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
client_init(struct client *c, int fd)
{
	c->fd = fd;
	c->len = c->off = 0;
}

static int
send_str(int fd, const char *s)
{
	return sc_send_all(fd, s, strlen(s)) ? 0 : -1;
}

static int
send_ns(int fd, const char *s)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%zu:%s,", strlen(s), s);

	return sc_send_all(fd, buf, (size_t)n) ? 0 : -1;
}

/* client_fill - read more; 0 on EOF or timeout, -1 on error */
static int
client_fill(struct client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof(c->buf) || poll(&p, 1, 5000) != 1)
		return -1;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	c->len += (size_t)n;
	return 1;
}

/* read_ns - one netstring reply into out; 1 ok, 0 EOF, -1 error */
static int
read_ns(struct client *c, char *out, size_t size)
{
	char *colon;
	size_t n;
	int rc;

	for (;;) {
		colon = memchr(c->buf + c->off, ':', c->len - c->off);
		if (colon != NULL) {
			n = strtoul(c->buf + c->off, NULL, 10);
			if (c->len - (size_t)(colon + 1 - c->buf) >= n + 1) {
				if (n >= size || colon[1 + n] != ',')
					return -1;
				memcpy(out, colon + 1, n);
				out[n] = '\0';
				c->off = (size_t)(colon + 2 + n - c->buf);
				return 1;
			}
		}
		if ((rc = client_fill(c)) <= 0)
			return rc;
	}
}

/* read_line - one reply line without its newline; 1 ok, 0 EOF, -1 error */
static int
read_line(struct client *c, char *out, size_t size)
{
	char *nl;
	size_t n;
	int rc;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			n = (size_t)(nl - (c->buf + c->off));
			if (n >= size)
				return -1;
			memcpy(out, c->buf + c->off, n);
			out[n] = '\0';
			c->off += n + 1;
			return 1;
		}
		if ((rc = client_fill(c)) <= 0)
			return rc;
	}
}

/* at_eof - does the server hang up next (nothing more to read)? */
static int
at_eof(struct client *c)
{
	return c->off == c->len && client_fill(c) == 0;
}

/* ---- the server under test ---- */

enum mode { MODE_UNIX, MODE_TCP, MODE_V6 };	/* socketmap, tcp_table, socketmap on ::1 */

struct server {
	pid_t pid;
	char conf[512], sock[512], pidfile[512];
	char head[1536];	/* the configuration's lines before the caller's extra ones */
	enum mode mode;
	int port;
};

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0 || chmod(path, mode) != 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* write_keys - a key directory holding the comma-separated hex secrets in slots 0, 1, ... */
static void
write_keys(const char *dir, const char *secrets)
{
	char buf[1024], path[700], text[256], b64[64], *tok, *save = NULL;
	unsigned char key[32];
	int slot = 0;

	mkdir(dir, 0700);
	chmod(dir, 0700);
	for (slot = 0; slot < 10; slot++) {
		snprintf(path, sizeof(path), "%s/%d.key", dir, slot);
		unlink(path);
	}
	snprintf(buf, sizeof(buf), "%s", secrets);
	for (slot = 0, tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save), slot++) {
		if (hex_decode(tok, key, sizeof(key)) != 0) {
			printf("Bail out! bad secret %s\n", tok);
			exit(1);
		}
		sodium_bin2base64(b64, sizeof(b64), key, sizeof(key),
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(path, sizeof(path), "%s/%d.key", dir, slot);
		snprintf(text, sizeof(text), "# backstop key\nactivate 1\nsecret %s\n", b64);
		write_file(path, text, 0600);
	}
}

/* wait_ready - until the server accepts (or has died); 1 if it is up */
static int
wait_ready(struct server *s)
{
	int i, fd, status;

	for (i = 0; i < 500; i++) {
		fd = s->mode == MODE_UNIX ? sc_unix(s->sock) : dial_tcp(s->port,
		    s->mode == MODE_V6);
		if (fd >= 0 && s->mode == MODE_TCP) {	/* the reverse port is bound second */
			close(fd);
			fd = dial_tcp(s->port + 1, 0);
		}
		if (fd >= 0) {
			close(fd);
			return 1;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = -1;
			return 0;
		}
		usleep(10000);
	}
	return 0;
}

/* When set, servers log at LogLevel info to this file instead of at err to stderr. */
static const char *server_log;

/* server_start - write a configuration with extra lines and run serve -f with now */
static int
server_start(struct server *s, const char *name, const char *extra, const char *now,
    enum mode mode)
{
	char text[2048], spec[600];
	int attempt;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	snprintf(s->conf, sizeof(s->conf), "%s/%s.conf", tmpdir, name);
	snprintf(s->sock, sizeof(s->sock), "%s/%s.sock", tmpdir, name);
	snprintf(s->pidfile, sizeof(s->pidfile), "%s/%s.pid", tmpdir, name);
	for (attempt = 0; attempt < 5; attempt++) {
		s->port = port_base + 2 * attempt;
		if (mode == MODE_TCP)
			snprintf(spec, sizeof(spec), "inet:127.0.0.1:%d", s->port);
		else if (mode == MODE_V6)
			snprintf(spec, sizeof(spec), "inet:[::1]:%d", s->port);
		else
			snprintf(spec, sizeof(spec), "unix:%s:0600", s->sock);
		snprintf(s->head, sizeof(s->head), "MapSocket %s\nPidFile %s\nSyslog no\n"
		    "LogLevel %s\nBackground yes\n", spec, s->pidfile,
		    server_log != NULL ? "info" : "err");
		snprintf(text, sizeof(text), "%s%s", s->head, extra);
		write_file(s->conf, text, 0644);
		s->pid = fork();
		if (s->pid == 0) {
			int fd = server_log != NULL ? open(server_log, O_WRONLY | O_CREAT |
			    O_TRUNC, 0644) : -1;

			if (fd >= 0)
				dup2(fd, 2);
			if (now != NULL)
				setenv("BACKSTOP_NOW", now, 1);
			execl(prog, prog, "-c", s->conf, "serve", "-f",
			    mode == MODE_TCP ? "--tcp-table" : NULL, (char *)NULL);
			_exit(127);
		}
		if (wait_ready(s))
			return 1;
		if (mode == MODE_UNIX)
			break;
	}
	return 0;
}

/* server_stop - SIGTERM; the exit status */
static int
server_stop(struct server *s)
{
	int status = -1, i;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid)
			break;
		usleep(10000);
	}
	if (i == 500) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
	}
	s->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the vectors, grouped by the parameters one server can hold ---- */

struct row {
	char group[1700];	/* secrets, now and configuration: one server each */
	char secrets[600];
	char now[32];
	char extra[1024];
	char map[16];
	char input[512];
	char want[600];		/* "STATUS value" as a socketmap reply carries it */
};

static struct row rows[MAXROWS];
static int nrows;

static void
load_vectors(const char *file, int forward)
{
	struct tsv t;
	struct row *r;
	char group[sizeof(r->group)];

	tsv_open(&t, file);
	while (tsv_next(&t) && nrows < MAXROWS) {
		r = &rows[nrows++];
		snprintf(r->map, sizeof(r->map), "%s", forward ? "forward" : "reverse");
		snprintf(r->secrets, sizeof(r->secrets), "%s",
		    tsv_col(&t, forward ? "secret_hex" : "secrets_hex"));
		snprintf(r->now, sizeof(r->now), "%s", tsv_col(&t, "now"));
		if (forward)
			snprintf(r->extra, sizeof(r->extra), "SRSDomain %s\nDomains %s\n"
			    "SRSHashLength %s\nSRSSeparator %s\n", tsv_col(&t, "srs_domain"),
			    tsv_col(&t, "local_domains"), tsv_col(&t, "hash_length"),
			    tsv_col(&t, "separator"));
		else
			/* SRSHashLength as short as the row's minimum: these servers only
			 * reverse, and a shorter SRSHashMin would need SRSHashLengthChanged */
			snprintf(r->extra, sizeof(r->extra), "SRSDomain %s\nDomains example.com\n"
			    "SRSMaxAge %s\nSRSHashLength %s\nSRSHashMin %s\n",
			    tsv_col(&t, "srs_domain"), tsv_col(&t, "max_age_days"),
			    tsv_col(&t, "hash_min"), tsv_col(&t, "hash_min"));
		snprintf(group, sizeof(group), "%.16s|%.600s|%.32s|%.1000s", r->map, r->secrets,
		    r->now, r->extra);
		memcpy(r->group, group, sizeof(r->group));
		snprintf(r->input, sizeof(r->input), "%s", tsv_col(&t, "input"));
		/* the server answers a PERM verdict (bad hash, expired...) as NOTFOUND with the
		 * reason: Postfix takes PERM for a broken table (see srs-serve.c) */
		snprintf(r->want, sizeof(r->want), "%s %s",
		    strcmp(tsv_col(&t, "status"), "PERM") == 0 ? "NOTFOUND" : tsv_col(&t, "status"),
		    tsv_col(&t, "value"));
	}
	tsv_close(&t);
}

/* url_encode - the test's own encoder: everything but letters, digits, '.' and '@' */
static void
url_encode(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0' && o + 4 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '@')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "%%%02x", ch);
	}
	out[o] = '\0';
}

/* tcp_want - the tcp_table reply line for a socketmap-style "STATUS value" */
static void
tcp_want(const char *want, char *out, size_t size)
{
	const char *sp = strchr(want, ' ');
	const char *code = strncmp(want, "OK ", 3) == 0 ? "200" :
	    strncmp(want, "TEMP ", 5) == 0 ? "400" : "500";

	snprintf(out, size, "%s %s", code, sp != NULL ? sp + 1 : "");
}

static char keydir[600];

static int
run_group_socketmap(struct server *s, int first, int *done)
{
	struct client *c = malloc(sizeof(*c));
	char reply[1024], req[1024];
	int i, bad = 0, rc;

	client_init(c, sc_unix(s->sock));
	for (i = first; i < nrows; i++)
		if (strcmp(rows[i].group, rows[first].group) == 0) {
			snprintf(req, sizeof(req), "%s %s", rows[i].map, rows[i].input);
			send_ns(c->fd, req);
		}
	for (i = first; i < nrows; i++) {
		if (strcmp(rows[i].group, rows[first].group) != 0)
			continue;
		rc = read_ns(c, reply, sizeof(reply));
		bad += !is_str(rc == 1 ? reply : "(no reply)", rows[i].want,
		    "socketmap %s %s (now %s)", rows[i].map, rows[i].input, rows[i].now);
		done[i] = 1;
	}
	close(c->fd);
	free(c);
	return bad;
}

static void
run_group_tcp(struct server *s, int first)
{
	struct client *c = malloc(sizeof(*c));
	char reply[1024], enc[1024], want[1024], req[1100];
	int i, rc, rev = strcmp(rows[first].map, "reverse") == 0;

	client_init(c, dial_tcp(s->port + rev, 0));
	for (i = first; i < nrows; i++) {
		if (strcmp(rows[i].group, rows[first].group) != 0)
			continue;
		url_encode(rows[i].input, enc, sizeof(enc));
		snprintf(req, sizeof(req), "get %s\n", enc);
		sc_send_all(c->fd, req, strlen(req));
		rc = read_line(c, reply, sizeof(reply));
		tcp_want(rows[i].want, want, sizeof(want));
		is_str(rc == 1 ? reply : "(no reply)", want, "tcp_table %s %s (now %s)",
		    rows[i].map, rows[i].input, rows[i].now);
	}
	close(c->fd);
	free(c);
}

static void
test_vectors(void)
{
	static int done[MAXROWS];
	struct server s;
	int i, groups = 0;

	load_vectors("srs-forward.tsv", 1);
	load_vectors("srs-reverse.tsv", 0);
	snprintf(keydir, sizeof(keydir), "%s/keys", tmpdir);
	for (i = 0; i < nrows; i++) {
		char extra[1700];

		if (done[i])
			continue;
		groups++;
		write_keys(keydir, rows[i].secrets);
		snprintf(extra, sizeof(extra), "%sKeyDirectory %s\n", rows[i].extra, keydir);
		if (!ok(server_start(&s, "vec", extra, rows[i].now, MODE_UNIX), "socketmap server up"))
			break;
		run_group_socketmap(&s, i, done);
		server_stop(&s);
		if (!ok(server_start(&s, "vectcp", extra, rows[i].now, MODE_TCP), "tcp_table server up"))
			break;
		run_group_tcp(&s, i);
		server_stop(&s);
	}
	ok(nrows > 150, "%d vector rows in %d server configurations", nrows, groups);
}

/* ---- load, concurrency and malformed frames, on the first forward configuration ---- */

static char base_extra[1700];

/* pipelined - NPIPE requests on one connection, 100 in flight at a time */
static void
test_pipelined(struct server *s, int first, int n_group)
{
	struct client *c = malloc(sizeof(*c));
	char reply[1024], req[1024];
	int sent = 0, got = 0, bad = 0, i;

	client_init(c, sc_unix(s->sock));
	while (got < NPIPE) {
		for (i = 0; i < 100 && sent < NPIPE; i++, sent++) {
			const struct row *r = &rows[first + sent % n_group];

			snprintf(req, sizeof(req), "%s %s", r->map, r->input);
			send_ns(c->fd, req);
		}
		for (; got < sent; got++)
			if (read_ns(c, reply, sizeof(reply)) != 1 ||
			    strcmp(reply, rows[first + got % n_group].want) != 0)
				bad++;
	}
	is_int(bad, 0, "%d pipelined requests on one connection, every reply right", NPIPE);
	close(c->fd);
	free(c);
}

/* one_request - a request on an open connection; 1 if the reply is right */
static int
one_request(struct client *c, const struct row *r)
{
	char reply[1024], req[1024];

	snprintf(req, sizeof(req), "%s %s", r->map, r->input);
	return send_ns(c->fd, req) == 0 && read_ns(c, reply, sizeof(reply)) == 1 &&
	    strcmp(reply, r->want) == 0;
}

struct bad_frame {
	const char *bytes;
	int eof_after;		/* half-close after sending (EOF mid-frame) */
	const char *reason;
};

static const struct bad_frame bad_frames[] = {
	{ "99999999:forward a@b,", 0, "request too long" },
	{ "5000:", 0, "request too long" },
	{ "-1:x,", 0, "bad netstring length" },
	{ "x:forward a@b,", 0, "bad netstring length" },
	{ ":forward a@b,", 0, "bad netstring length" },
	{ "13:forward a@b.cX", 0, "not terminated by a comma" },
	{ "20:forward a@b", 1, "closed in the middle of a request" },
	{ "7:forward,", 0, "malformed request" },
};

static void
test_malformed(struct server *s)
{
	struct client *c = malloc(sizeof(*c));
	char reply[1024], want[256];
	size_t i;

	for (i = 0; i < sizeof(bad_frames) / sizeof(bad_frames[0]); i++) {
		const struct bad_frame *b = &bad_frames[i];

		client_init(c, sc_unix(s->sock));
		sc_send_all(c->fd, b->bytes, strlen(b->bytes));
		if (b->eof_after)
			shutdown(c->fd, SHUT_WR);
		snprintf(want, sizeof(want), "PERM protocol error: ");
		ok(read_ns(c, reply, sizeof(reply)) == 1 && strncmp(reply, want,
		    strlen(want)) == 0 && strstr(reply, b->reason) != NULL,
		    "malformed '%s': %s", b->bytes, reply);
		ok(at_eof(c), "malformed '%s': then the server hangs up", b->bytes);
		close(c->fd);
	}
	client_init(c, sc_unix(s->sock));
	send_ns(c->fd, "nosuchmap a@b.c");
	ok(read_ns(c, reply, sizeof(reply)) == 1 && strncmp(reply, "PERM unknown map", 16) == 0,
	    "unknown map name: %s", reply);
	ok(one_request(c, &rows[0]), "an unknown map is no protocol error: the connection lives");
	close(c->fd);
	free(c);
}

static void
test_concurrent(struct server *s, int first, int n_group)
{
	struct client *cs = calloc(NCONN, sizeof(*cs));
	int i, opened = 0, good = 0, again = 0;

	for (i = 0; i < NCONN; i++) {
		client_init(&cs[i], sc_unix(s->sock));
		opened += cs[i].fd >= 0;
	}
	is_int(opened, NCONN, "%d connections open at once", NCONN);
	for (i = 0; i < NCONN; i++)
		good += one_request(&cs[i], &rows[first + i % n_group]);
	is_int(good, NCONN, "each of the %d answers", NCONN);
	test_malformed(s);
	for (i = 0; i < NCONN; i++)
		again += one_request(&cs[i], &rows[first + (i + 1) % n_group]);
	is_int(again, NCONN, "after the malformed clients, all %d still answer", NCONN);
	for (i = 0; i < NCONN; i++)
		close(cs[i].fd);
	free(cs);
}

/* tcp_table specifics: %XX keys, the reverse port, protocol errors with 400 and a hang-up */
static void
test_tcp_details(void)
{
	struct server s;
	struct client *c = malloc(sizeof(*c));
	char reply[1024];

	ok(server_start(&s, "tcp", base_extra, "1577836860", MODE_TCP), "tcp_table server up");
	client_init(c, dial_tcp(s.port, 0));
	send_str(c->fd, "get a%2Bb%3dc@x.y\nget a+b=c@x.y\r\nget a%20b@x.y\n");
	ok(read_line(c, reply, sizeof(reply)) == 1 &&
	    strcmp(reply, "200 SRS0=x2lu=2W=x.y=a+b=c@fwd.example.com") == 0,
	    "%%2B and %%3d decode: %s", reply);
	ok(read_line(c, reply, sizeof(reply)) == 1 &&
	    strcmp(reply, "200 SRS0=x2lu=2W=x.y=a+b=c@fwd.example.com") == 0,
	    "a literal + is not a space (CRLF line): %s", reply);
	ok(read_line(c, reply, sizeof(reply)) == 1 && strncmp(reply, "500 ", 4) == 0,
	    "%%20 decodes to a space, not an address: %s", reply);
	send_str(c->fd, "get %zz\n");
	ok(read_line(c, reply, sizeof(reply)) == 1 &&
	    strcmp(reply, "400 protocol error: bad %XX encoding") == 0, "invalid %%: %s", reply);
	ok(at_eof(c), "invalid %%: then the server hangs up");
	close(c->fd);
	client_init(c, dial_tcp(s.port + 1, 0));
	send_str(c->fd, "get SRS0%3Dx2lu%3D2W%3Dx.y%3Da%2Bb%3Dc@fwd.example.com\n");
	ok(read_line(c, reply, sizeof(reply)) == 1 && strcmp(reply, "200 a+b=c@x.y") == 0,
	    "reverse on the next port: %s", reply);
	send_str(c->fd, "put a b\n");
	ok(read_line(c, reply, sizeof(reply)) == 1 && strncmp(reply, "400 ", 4) == 0 &&
	    at_eof(c), "put: 400 and hang-up: %s", reply);
	close(c->fd);
	client_init(c, dial_tcp(s.port, 0));
	memset(c->buf, 'a', 6000);
	sc_send_all(c->fd, c->buf, 6000);
	ok(read_line(c, reply, sizeof(reply)) == 1 &&
	    strcmp(reply, "400 protocol error: request too long") == 0 && at_eof(c),
	    "a 6000-byte line: 400, hang-up");
	close(c->fd);
	is_int(server_stop(&s), 0, "tcp_table server exits 0 on SIGTERM");
	free(c);
}

/* IPv6 loopback socketmap */
static void
test_ipv6(void)
{
	struct server s;
	struct client *c = malloc(sizeof(*c));

	ok(server_start(&s, "v6", base_extra, "1577836860", MODE_V6), "server on inet:[::1]");
	client_init(c, dial_tcp(s.port, 1));
	ok(c->fd >= 0 && one_request(c, &rows[0]), "socketmap over inet:[::1]:%d", s.port);
	close(c->fd);
	is_int(server_stop(&s), 0, "IPv6 server exits 0");
	free(c);
}

/* SIGUSR1 reloads the keys: a new secret changes the forward result at once */
static void
test_reload(struct server *s)
{
	struct client *c = malloc(sizeof(*c));
	char before[1024], after[1024], req[1100];
	int i;

	client_init(c, sc_unix(s->sock));
	send_ns(c->fd, "forward test@otherdomain.com");
	read_ns(c, before, sizeof(before));
	write_keys(keydir, "2fda5098fa4c172ca18187067453a1b3d5105a80f8f7d7c0d3dd8bfea47f25a4");
	kill(s->pid, SIGUSR1);
	for (i = 0; i < 300; i++) {
		send_ns(c->fd, "forward test@otherdomain.com");
		if (read_ns(c, after, sizeof(after)) != 1 || strcmp(after, before) != 0)
			break;
		usleep(10000);
	}
	ok(strncmp(after, "OK SRS0=", 8) == 0 && strcmp(after, before) != 0,
	    "SIGUSR1: new key, new hash (%s -> %s)", before, after);
	snprintf(req, sizeof(req), "reverse %s", after + 3);
	send_ns(c->fd, req);
	ok(read_ns(c, after, sizeof(after)) == 1 && strcmp(after, "OK test@otherdomain.com") == 0,
	    "the new address reverses: %s", after);
	snprintf(req, sizeof(req), "reverse %s", before + 3);
	send_ns(c->fd, req);
	ok(read_ns(c, after, sizeof(after)) == 1 && strcmp(after, "NOTFOUND bad hash") == 0,
	    "the old key is gone: %s", after);
	/* No signal now: the server notices the directory (it looks once a second). */
	write_keys(keydir, rows[0].secrets);
	for (i = 0; i < 400; i++) {
		send_ns(c->fd, "forward test@otherdomain.com");
		if (read_ns(c, after, sizeof(after)) != 1 || strcmp(after, before) == 0)
			break;
		usleep(10000);
	}
	is_str(after, before, "key directory change: the first key is back without a signal");
	close(c->fd);
	free(c);
}

/* running - is pid alive? A zombie waiting for init to reap it is not. */
static int
running(pid_t pid)
{
	char path[64], line[256];
	FILE *fp;
	int alive = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "State:", 6) == 0)
			alive = strchr(line, 'Z') == NULL && strchr(line, 'X') == NULL;
	fclose(fp);
	return alive;
}

/* Background yes and UserID: the parent returns at once, the daemon runs as nobody,
 * answers, and goes on SIGTERM */
static void
test_daemon(void)
{
	char conf[600], sock[600], pidfile[600], text[3000], cmd[2400], line[256];
	struct client *c = malloc(sizeof(*c));
	FILE *fp;
	pid_t pid = 0;
	long uid = -1;
	int i;

	snprintf(conf, sizeof(conf), "%s/daemon.conf", tmpdir);
	snprintf(sock, sizeof(sock), "%s/daemon.sock", tmpdir);
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tmpdir);
	snprintf(text, sizeof(text), "MapSocket unix:%s\nPidFile %s\nSyslog no\nLogLevel err\n"
	    "Background yes\nUserID nobody\n%s", sock, pidfile, base_extra);
	write_file(conf, text, 0644);
	snprintf(cmd, sizeof(cmd), "BACKSTOP_NOW=1577836860 %s -c %s serve", prog, conf);
	is_int(WEXITSTATUS(system(cmd)), 0, "Background: the starting process exits 0");
	for (i = 0; i < 300 && pid <= 0; i++, usleep(10000))
		if ((fp = fopen(pidfile, "r")) != NULL) {
			if (fscanf(fp, "%d", &pid) != 1)
				pid = 0;
			fclose(fp);
		}
	ok(pid > 0, "Background: pid file written");
	client_init(c, sc_unix(sock));
	ok(c->fd >= 0 && one_request(c, &rows[0]), "the daemon answers");
	close(c->fd);
	/* answering means the workers run, and they start after the drop */
	snprintf(cmd, sizeof(cmd), "/proc/%d/status", (int)pid);
	for (fp = fopen(cmd, "r"); fp != NULL && fgets(line, sizeof(line), fp) != NULL;)
		if (strncmp(line, "Uid:", 4) == 0)
			uid = strtol(line + 4, NULL, 10);
	if (fp != NULL)
		fclose(fp);
	ok(uid > 0, "UserID nobody: the daemon runs as uid %ld", uid);
	if (pid > 0)
		kill(pid, SIGTERM);
	for (i = 0; i < 300 && pid > 0 && running(pid); i++)
		usleep(10000);
	ok(pid > 0 && !running(pid), "the daemon stops on SIGTERM");
	free(c);
}

/* prvs_ask - one "prvs" map request on its own connection; the reply in out */
static void
prvs_ask(struct server *s, const char *addr, char *out, size_t size)
{
	struct client c;
	char req[600];

	client_init(&c, sc_unix(s->sock));
	snprintf(req, sizeof(req), "prvs %s", addr);
	send_ns(c.fd, req);
	if (read_ns(&c, out, size) != 1)
		snprintf(out, size, "(no reply)");
	close(c.fd);
}

/* test_prvs_map - the map Postfix's recipient check uses: the plain address for a tag whose
 * MAC verifies with a key we hold, valid or expired; NOTFOUND for everything else
 * (tags from tests/vectors/prvs-verify.tsv, key slot 0 = the vectors' first secret) */
static int log_has(const char *needle);

static void
test_prvs_map(void)
{
	static const struct {
		const char *now, *addr, *want;
	} cases[] = {
		{ "1577836860", "prvs=02697ff83e=userx@test.ex", "OK userx@test.ex" },
		{ "1577836860", "PRVS=02697FF83E=USERX@TEST.EX", "OK USERX@TEST.EX" },
		{ "1578528060", "prvs=02697ff83e=userx@test.ex", "OK userx@test.ex" },
		{ "1577836860", "prvs=02697f083e=userx@test.ex", "NOTFOUND badmac" },
		{ "1577836860", "prvs=02697ff83e=userxx@test.ex", "NOTFOUND badmac" },
		{ "1577836860", "prvs=32697ff83e=userx@test.ex", "NOTFOUND unknown-key" },
		{ "1577836860", "prvs=0123=user@example.com", "NOTFOUND malformed" },
		{ "1577836860", "userx@test.ex", "NOTFOUND untagged" },
	};
	struct server s;
	char reply[1024], logpath[600];
	size_t i;

	/* the refusals are Postfix's with this wiring: the map's log is where badmac shows */
	snprintf(logpath, sizeof(logpath), "%s/prvs-map.log", tmpdir);
	server_log = logpath;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (i == 0 || strcmp(cases[i].now, cases[i - 1].now) != 0) {
			if (i > 0)
				server_stop(&s);
			if (!ok(server_start(&s, "prvs", base_extra, cases[i].now, MODE_UNIX),
			    "prvs map server up (now %s)", cases[i].now))
				return;
		}
		prvs_ask(&s, cases[i].addr, reply, sizeof(reply));
		is_str(reply, cases[i].want, "prvs map: %s at %s", cases[i].addr, cases[i].now);
	}
	ok(log_has("prvs map: to=<prvs=02697f083e=userx@test.ex> verdict=badmac action=notfound"),
	    "prvs map: a forged tag is logged with verdict=badmac");
	ok(log_has("prvs map: to=<prvs=32697ff83e=userx@test.ex> verdict=unknown-key"),
	    "prvs map: a tag of an unknown key is logged");
	ok(log_has("prvs map: to=<prvs=0123=user@example.com> verdict=malformed"),
	    "prvs map: a malformed tag is logged");
	ok(!log_has("to=<userx@test.ex>") && !log_has("to=<prvs=02697ff83e=userx@test.ex>"),
	    "prvs map: untagged addresses and tags that verify are not logged");
	server_stop(&s);
	server_log = NULL;
}

/* ---- no SRSDomain, and SIGUSR1 reloading the configuration ---- */

/* ask - one request "map addr" on its own connection; the reply in out */
static void
ask(struct server *s, const char *map, const char *addr, char *out, size_t size)
{
	struct client c;
	char req[600];

	client_init(&c, sc_unix(s->sock));
	snprintf(req, sizeof(req), "%s %s", map, addr);
	send_ns(c.fd, req);
	if (read_ns(&c, out, size) != 1)
		snprintf(out, size, "(no reply)");
	close(c.fd);
}

/* ask_changed - ask until the reply differs from old (a reload has taken), 3 s at most */
static void
ask_changed(struct server *s, const char *map, const char *addr, const char *old, char *out,
    size_t size)
{
	int i;

	for (i = 0; i < 300; i++) {
		ask(s, map, addr, out, size);
		if (strcmp(out, old) != 0)
			return;
		usleep(10000);
	}
}

/* log_has - does the server's log (server_log) hold needle within 3 s? */
static int
log_has(const char *needle)
{
	char buf[16384];
	size_t n;
	FILE *fp;
	int i;

	for (i = 0; i < 300; i++) {
		if ((fp = fopen(server_log, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, fp);
			buf[n] = '\0';
			fclose(fp);
			if (strstr(buf, needle) != NULL)
				return 1;
		}
		usleep(10000);
	}
	return 0;
}

/* rewrite_conf - the server's configuration with new extra lines (head kept) */
static void
rewrite_conf(const struct server *s, const char *head, const char *extra)
{
	char text[3000];

	snprintf(text, sizeof(text), "%s%s", head, extra);
	write_file(s->conf, text, 0644);
}

#define FWD_SRS0 "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com"
#define SRS_OFF "NOTFOUND SRS is off: SRSDomain is not set"

/* A configuration without SRSDomain: prvs answers, forward and reverse are NOTFOUND. */
static void
nosrs_answers(struct server *s, const char *when)
{
	char reply[1024];

	ask(s, "prvs", "prvs=02697ff83e=userx@test.ex", reply, sizeof(reply));
	is_str(reply, "OK userx@test.ex", "no SRSDomain (%s): prvs map, valid tag", when);
	ask(s, "prvs", "prvs=02697f083e=userx@test.ex", reply, sizeof(reply));
	is_str(reply, "NOTFOUND badmac", "no SRSDomain (%s): prvs map, forged tag", when);
	ask(s, "forward", "test@otherdomain.com", reply, sizeof(reply));
	is_str(reply, SRS_OFF, "no SRSDomain (%s): forward is NOTFOUND, not PERM", when);
	ask(s, "reverse", FWD_SRS0, reply, sizeof(reply));
	is_str(reply, SRS_OFF, "no SRSDomain (%s): reverse is NOTFOUND, not PERM", when);
}

/* tcp_get - "get key" on the tcp_table port; the reply line in out */
static void
tcp_get(int port, const char *key, char *out, size_t size)
{
	struct client c;
	char req[600];

	client_init(&c, dial_tcp(port, 0));
	snprintf(req, sizeof(req), "get %s\n", key);
	send_str(c.fd, req);
	if (read_line(&c, out, size) != 1)
		snprintf(out, size, "(no reply)");
	close(c.fd);
}

/* test_tcp_reload - tcp_table is SRS only: a reload to a file without SRSDomain is refused */
static void
test_tcp_reload(const char *srs, const char *nosrs)
{
	struct server s;
	char reply[1024];

	if (!ok(server_start(&s, "tcpreload", srs, "1577836860", MODE_TCP),
	    "tcp_table server up (for reloads)"))
		return;
	rewrite_conf(&s, s.head, nosrs);
	kill(s.pid, SIGUSR1);
	ok(log_has("reload (SIGUSR1) failed, keeping the running configuration and keys: "
	    "--tcp-table serves SRS only, and SRSDomain is not set in "),
	    "tcp_table: a reload without SRSDomain is refused, and the log says why");
	tcp_get(s.port, "test@otherdomain.com", reply, sizeof(reply));
	is_str(reply, "200 " FWD_SRS0, "tcp_table: the running configuration stays");
	is_int(server_stop(&s), 0, "tcp_table server exits 0");
}

/* test_nosrs_reload - serve without SRSDomain, then SIGUSR1 after changing SRSDomain and
 * Domains, an invalid file (kept out, logged), MapSocket (needs a restart), SRS off again */
static void
test_nosrs_reload(void)
{
	char logpath[600], nosrs[700], srs1[800], srs2[800], head[1600], reply[1024], *p;
	struct server s;

	snprintf(logpath, sizeof(logpath), "%s/reload.log", tmpdir);
	server_log = logpath;
	snprintf(nosrs, sizeof(nosrs), "Domains example.com\nKeyDirectory %s\n", keydir);
	snprintf(srs1, sizeof(srs1), "SRSDomain fwd.example.com\n%s", nosrs);
	snprintf(srs2, sizeof(srs2), "SRSDomain srs.example.net\nDomains example.org\n"
	    "KeyDirectory %s\n", keydir);
	write_keys(keydir, rows[0].secrets);
	if (!ok(server_start(&s, "nosrs", nosrs, "1577836860", MODE_UNIX),
	    "serve starts without SRSDomain")) {
		server_log = NULL;
		return;
	}
	ok(log_has("maps: prvs; forward and reverse answer NOTFOUND (SRS is off"),
	    "the start-up log names the maps on");
	nosrs_answers(&s, "at start");

	rewrite_conf(&s, s.head, srs1);
	kill(s.pid, SIGUSR1);
	ask_changed(&s, "forward", "test@otherdomain.com", SRS_OFF, reply, sizeof(reply));
	is_str(reply, "OK " FWD_SRS0, "SIGUSR1 after setting SRSDomain: forward rewrites");
	ask(&s, "reverse", FWD_SRS0, reply, sizeof(reply));
	is_str(reply, "OK test@otherdomain.com", "SIGUSR1 after setting SRSDomain: reverse");
	ask(&s, "forward", "user@example.com", reply, sizeof(reply));
	is_str(reply, "NOTFOUND local domain", "Domains example.com: not rewritten");
	ok(log_has("maps: prvs, forward, reverse; 1 key(s)"), "the reload is logged");

	rewrite_conf(&s, s.head, srs2);
	kill(s.pid, SIGUSR1);
	ask_changed(&s, "forward", "user@example.com", "NOTFOUND local domain", reply,
	    sizeof(reply));
	ok(strncmp(reply, "OK SRS0=", 8) == 0 && (p = strstr(reply, "=example.com=user@")) !=
	    NULL && strcmp(p, "=example.com=user@srs.example.net") == 0,
	    "SIGUSR1 after changing Domains and SRSDomain: rewritten into the new domain: %s",
	    reply);
	ask(&s, "reverse", FWD_SRS0, reply, sizeof(reply));
	is_str(reply, "NOTFOUND not our SRS domain", "the old SRSDomain is no longer ours");

	rewrite_conf(&s, s.head, "SRSDomain broken.example\nNoSuchSetting 1\n");
	kill(s.pid, SIGUSR1);
	ok(log_has("reload (SIGUSR1) failed, keeping the running configuration and keys: ") &&
	    log_has("NoSuchSetting"), "an invalid file: the reload fails and the log says why");
	ask(&s, "forward", "user@example.com", reply, sizeof(reply));
	ok((p = strchr(reply, '@')) != NULL && strcmp(p, "@srs.example.net") == 0,
	    "an invalid file: the running configuration stays: %s", reply);

	snprintf(head, sizeof(head), "%s", s.head);
	if ((p = strstr(head, "nosrs.sock")) != NULL)
		memcpy(p, "other", 5);
	rewrite_conf(&s, head, srs2);
	kill(s.pid, SIGUSR1);
	ok(log_has("MapSocket changed in ") && log_has("it takes effect at restart"),
	    "a new MapSocket: the log says a restart applies it");
	ask(&s, "prvs", "prvs=02697ff83e=userx@test.ex", reply, sizeof(reply));
	is_str(reply, "OK userx@test.ex", "a new MapSocket: the old socket still answers");

	ask(&s, "forward", "test@otherdomain.com", head, sizeof(head));
	rewrite_conf(&s, s.head, nosrs);
	kill(s.pid, SIGUSR1);
	ask_changed(&s, "forward", "test@otherdomain.com", head, reply, sizeof(reply));
	nosrs_answers(&s, "after a reload");
	is_int(server_stop(&s), 0, "the server without SRSDomain exits 0 on SIGTERM");
	test_tcp_reload(srs1, nosrs);
	server_log = NULL;
}

/* ---- the key store of a daemon that runs as another user (UserID) ---- */

static char keys_prog[1024];

/* keys_run - backstop-keys -c conf ARGS at now, output and errors into tmpdir/keys.out;
 * its exit status */
static int
keys_run(const char *conf, const char *now, const char *args)
{
	char cmd[3000];
	int rc;

	snprintf(cmd, sizeof(cmd), "BACKSTOP_NOW=%s %s -c %s %s >%s/keys.out 2>&1", now,
	    keys_prog, conf, args, tmpdir);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* keys_said - does tmpdir/keys.out hold needle? */
static int
keys_said(const char *needle)
{
	char path[700], buf[4096];
	size_t n = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/keys.out", tmpdir);
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	if (strstr(buf, needle) == NULL)
		printf("# backstop-keys said: %s\n", buf);
	return strstr(buf, needle) != NULL;
}

/* test_revoke_as_user - the key directory belongs to nobody, the server runs as nobody, root
 * revokes the signing key without --owner: the stolen key's tags must stop verifying in the
 * running server, which reloads as nobody. An --owner the daemons cannot read is refused
 * loudly, and -n says so. */
static void
test_revoke_as_user(void)
{
	char dir[700], extra[1000], conf[700], logpath[700], tag[600], reply[1024], cmd[2000];
	const char *now = "1764201600";
	struct server s;
	FILE *fp;
	int rc;

	if (geteuid() != 0) {
		ok(1, "# SKIP the store of a daemon running as nobody needs root");
		return;
	}
	chmod(tmpdir, 0711);	/* nobody must reach the key directory inside it */
	snprintf(dir, sizeof(dir), "%s/userkeys", tmpdir);
	snprintf(extra, sizeof(extra), "Domains example.com\nKeyDirectory %s\nUserID nobody\n",
	    dir);
	snprintf(conf, sizeof(conf), "%s/asuser.conf", tmpdir);
	snprintf(cmd, sizeof(cmd), "MapSocket unix:%s/asuser.sock\n%s", tmpdir, extra);
	write_file(conf, cmd, 0644);
	is_int(keys_run(conf, now, "init --owner nobody"), 0, "init --owner nobody");
	is_int(keys_run(conf, now, "sign alice@example.com"), 0, "a tag of slot 0");
	snprintf(cmd, sizeof(cmd), "%s/keys.out", tmpdir);
	tag[0] = '\0';
	if ((fp = fopen(cmd, "r")) != NULL) {
		if (fgets(tag, sizeof(tag), fp) == NULL)
			tag[0] = '\0';
		fclose(fp);
	}
	tag[strcspn(tag, "\n")] = '\0';
	snprintf(logpath, sizeof(logpath), "%s/asuser.log", tmpdir);
	server_log = logpath;
	if (!ok(server_start(&s, "asuser", extra, now, MODE_UNIX), "server as nobody up")) {
		server_log = NULL;
		return;
	}
	prvs_ask(&s, tag, reply, sizeof(reply));
	is_str(reply, "OK alice@example.com", "the slot-0 tag verifies: %s", tag);
	is_int(keys_run(conf, now, "revoke 0"), 0, "root: revoke 0, without --owner");
	ask_changed(&s, "prvs", tag, "OK alice@example.com", reply, sizeof(reply));
	is_str(reply, "NOTFOUND unknown-key",
	    "the server running as nobody took the revocation: the stolen key's tag is refused");
	ok(!log_has("failed"), "no failed reload in the log");

	rc = keys_run(conf, "1764201700", "rotate --owner root:root");
	is_int(rc, 1, "rotate --owner root, which the daemons' user cannot read: exit 1");
	ok(keys_said("the daemons' user nobody (UserID in ") &&
	    keys_said("cannot load the key store"), "and it says the daemons keep their old keys");
	ok(log_has("key reload (key directory changed) failed, keeping the loaded keys: "),
	    "the server's failed reload is logged");
	snprintf(cmd, sizeof(cmd), "%s -c %s serve -n >%s/n.out 2>&1", prog, s.conf, tmpdir);
	rc = system(cmd);
	is_int(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, 1, "serve -n: exit 1");
	snprintf(cmd, sizeof(cmd), "grep -q \"UserID nobody cannot load\" %s/n.out", tmpdir);
	ok(system(cmd) == 0, "serve -n says the daemons' user cannot load the keys");
	is_int(server_stop(&s), 0, "the server as nobody exits 0");
	server_log = NULL;
}

static void
test_server(void)
{
	struct server s;
	struct stat st;
	int first = 0, n = 0, i;

	for (i = 0; i < nrows && strcmp(rows[i].group, rows[0].group) == 0; i++)
		n++;
	write_keys(keydir, rows[first].secrets);
	snprintf(base_extra, sizeof(base_extra), "%.1000sKeyDirectory %.600s\n",
	    rows[first].extra, keydir);
	if (!ok(server_start(&s, "main", base_extra, rows[first].now, MODE_UNIX), "server up"))
		return;
	ok(stat(s.sock, &st) == 0 && (st.st_mode & 0777) == 0600, "unix socket mode 0600");
	/* connect() succeeds once the socket listens, a moment before the pid file is written */
	for (i = 0; i < 500 && stat(s.pidfile, &st) != 0; i++)
		usleep(10000);
	ok(stat(s.pidfile, &st) == 0, "pid file written");
	test_pipelined(&s, first, n);
	test_concurrent(&s, first, n);
	test_prvs_map();
	test_tcp_details();
	test_ipv6();
	test_reload(&s);
	test_nosrs_reload();
	test_daemon();
	test_revoke_as_user();
	is_int(server_stop(&s), 0, "SIGTERM: exit status 0");
	ok(stat(s.sock, &st) != 0, "SIGTERM: unix socket removed");
	ok(stat(s.pidfile, &st) != 0, "SIGTERM: pid file removed");
}

static void
test_usage(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "%s serve --bogus 2>/dev/null", prog);
	is_int(WEXITSTATUS(system(cmd)), 2, "serve --bogus: usage error, exit 2");
	snprintf(cmd, sizeof(cmd), "%s -c %s/nonexistent.conf serve -f 2>/dev/null", prog,
	    tmpdir);
	is_int(WEXITSTATUS(system(cmd)), 1, "serve with a missing configuration: exit 1");
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
}

int
main(void)
{
	const char *top = getenv("top_builddir");

	if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL) {
		printf("Bail out! sodium_init or mkdtemp failed\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(prog, sizeof(prog), "%s/src/srs-rewrite", top != NULL ? top : "..");
	snprintf(keys_prog, sizeof(keys_prog), "%s/src/backstop-keys",
	    top != NULL ? top : "..");
	port_base = 10000 + (int)(getpid() % 5000) * 4;
	test_usage();
	test_vectors();
	test_server();
	cleanup();
	return done_testing();
}
