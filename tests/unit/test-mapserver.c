/* test-mapserver: the socketmap and tcp_table frame parsers and reply formatters, table by
 * table (netstring lengths, commas, truncation, pipelining, %XX decoding), and the server
 * in process with a stub lookup: pipelining, error-then-close, idle timeout, connection limit;
 * and that the error codes of mapcodec, listenaddr and mapserver are told apart. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "listenaddr.h"
#include "mapcodec.h"
#include "mapserver.h"
#include "sockclient.h"
#include "tap.h"

struct ns_case {
	const char *in;
	size_t max;
	int rc;
	const char *data;
	size_t used;
};

static const struct ns_case ns_cases[] = {
	{ "5:hello,", 100, MAPCODEC_OK, "hello", 8 },
	{ "0:,", 100, MAPCODEC_OK, "", 3 },
	{ "05:hello,", 100, MAPCODEC_OK, "hello", 9 },
	{ "5:hello,3:abc,", 100, MAPCODEC_OK, "hello", 8 },
	{ "5:hel", 100, MAPCODEC_EMORE, NULL, 0 },
	{ "5:hello", 100, MAPCODEC_EMORE, NULL, 0 },
	{ "5", 100, MAPCODEC_EMORE, NULL, 0 },
	{ "", 100, MAPCODEC_EMORE, NULL, 0 },
	{ "5:hello;", 100, MAPCODEC_ECOMMA, NULL, 0 },
	{ "5:hellox,", 100, MAPCODEC_ECOMMA, NULL, 0 },
	{ "-5:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ "+5:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ "x:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ "5x:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ ":hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ " 5:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ "101:", 100, MAPCODEC_ETOOBIG, NULL, 0 },
	{ "99999999999999999999999999:", 100, MAPCODEC_ETOOBIG, NULL, 0 },
	{ "1000", 100, MAPCODEC_ETOOBIG, NULL, 0 },	/* known too big before the colon */
	{ "0000000000000000000000000005:hello,", 100, MAPCODEC_ELENGTH, NULL, 0 },
	{ "100:", 100, MAPCODEC_EMORE, NULL, 0 },
};

static void
test_netstring(void)
{
	size_t i, dlen, used;
	const char *data;

	for (i = 0; i < sizeof(ns_cases) / sizeof(ns_cases[0]); i++) {
		const struct ns_case *t = &ns_cases[i];
		int rc = mapcodec_netstring_parse(t->in, strlen(t->in), t->max, &data, &dlen,
		    &used);
		char got[128] = "";

		is_int(rc, t->rc, "netstring '%s': %s", t->in, mapcodec_strerror(t->rc));
		if (t->rc != MAPCODEC_OK || rc != MAPCODEC_OK)
			continue;
		snprintf(got, sizeof(got), "%.*s", (int)dlen, data);
		is_str(got, t->data, "netstring '%s' payload", t->in);
		is_int((long long)used, (long long)t->used, "netstring '%s' length used", t->in);
	}
}

/* Every prefix of a valid frame asks for more: EOF in the middle is the server's call. */
static void
test_netstring_prefixes(void)
{
	const char *f = "21:forward a@example.com,";
	size_t i, dlen, used, n = strlen(f);
	const char *data;
	int bad = 0;

	for (i = 0; i < n; i++)
		if (mapcodec_netstring_parse(f, i, 100, &data, &dlen, &used) != MAPCODEC_EMORE)
			bad++;
	is_int(bad, 0, "every proper prefix of a netstring is incomplete");
}

static void
test_pipeline(void)
{
	const char *in = "21:forward a@example.com,21:reverse b@example.com,3:x y,2:ab";
	size_t off = 0, len = strlen(in), dlen, used;
	const char *data;
	int n = 0, rc;

	while ((rc = mapcodec_netstring_parse(in + off, len - off, 100, &data, &dlen, &used)) ==
	    MAPCODEC_OK) {
		off += used;
		n++;
	}
	is_int(n, 3, "three pipelined netstrings found");
	is_int(rc, MAPCODEC_EMORE, "the fourth is incomplete");
	is_int((long long)(len - off), 4, "its 4 bytes remain");
}

static void
test_lines(void)
{
	const char *in = "get a@b\r\nget c@d\nget e", *line;
	size_t off = 0, len = strlen(in), llen, used;
	char got[64];
	int rc;

	rc = mapcodec_line_parse(in, len, 100, &line, &llen, &used);
	snprintf(got, sizeof(got), "%.*s", (int)llen, line);
	ok(rc == MAPCODEC_OK && strcmp(got, "get a@b") == 0 && used == 9, "CRLF line");
	off += used;
	rc = mapcodec_line_parse(in + off, len - off, 100, &line, &llen, &used);
	snprintf(got, sizeof(got), "%.*s", (int)llen, line);
	ok(rc == MAPCODEC_OK && strcmp(got, "get c@d") == 0, "LF line after it (pipelined)");
	off += used;
	is_int(mapcodec_line_parse(in + off, len - off, 100, &line, &llen, &used),
	    MAPCODEC_EMORE, "a line without newline is incomplete");
	is_int(mapcodec_line_parse("get 0123456789\n", 15, 8, &line, &llen, &used),
	    MAPCODEC_ETOOBIG, "a line over the limit is refused");
	is_int(mapcodec_line_parse("get 0123456789", 14, 8, &line, &llen, &used),
	    MAPCODEC_ETOOBIG, "over the limit without newline is refused early");
	is_int(mapcodec_line_parse("get 012\r\n", 9, 7, &line, &llen, &used), MAPCODEC_OK,
	    "CRLF does not count against the limit");
}

static void
test_socketmap_split(void)
{
	const char *name, *key;
	size_t nlen, klen;
	char got[128];

	ok(mapcodec_socketmap_split("forward a b@c", 13, &name, &nlen, &key, &klen) ==
	    MAPCODEC_OK && nlen == 7 && klen == 5, "split at the first space");
	snprintf(got, sizeof(got), "%.*s|%.*s", (int)nlen, name, (int)klen, key);
	is_str(got, "forward|a b@c", "name and key");
	is_int(mapcodec_socketmap_split("forward", 7, &name, &nlen, &key, &klen),
	    MAPCODEC_EREQUEST, "no key");
	is_int(mapcodec_socketmap_split("forward ", 8, &name, &nlen, &key, &klen),
	    MAPCODEC_EREQUEST, "empty key");
	is_int(mapcodec_socketmap_split(" a@b", 4, &name, &nlen, &key, &klen),
	    MAPCODEC_EREQUEST, "empty name");
	is_int(mapcodec_socketmap_split("fo\0rward a@b", 12, &name, &nlen, &key, &klen),
	    MAPCODEC_EREQUEST, "NUL byte");
}

struct url_case {
	const char *in;
	int rc;
	const char *out;
};

static const struct url_case url_cases[] = {
	{ "a@b.c", MAPCODEC_OK, "a@b.c" },
	{ "a+b=c@x.y", MAPCODEC_OK, "a+b=c@x.y" },	/* '+' is not a space here */
	{ "a%20b", MAPCODEC_OK, "a b" },
	{ "%41%62%3d", MAPCODEC_OK, "Ab=" },
	{ "%3D%3d", MAPCODEC_OK, "==" },
	{ "100%25", MAPCODEC_OK, "100%" },
	{ "%", MAPCODEC_EENCODING, NULL },
	{ "%4", MAPCODEC_EENCODING, NULL },
	{ "a%", MAPCODEC_EENCODING, NULL },
	{ "%G1", MAPCODEC_EENCODING, NULL },
	{ "%1G", MAPCODEC_EENCODING, NULL },
	{ "%00", MAPCODEC_EENCODING, NULL },
	{ "%%41", MAPCODEC_EENCODING, NULL },
};

static void
test_url(void)
{
	char out[64];
	size_t i, olen;
	int n;

	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		const struct url_case *t = &url_cases[i];
		int rc = mapcodec_url_decode(t->in, strlen(t->in), out, sizeof(out), &olen);

		is_int(rc, t->rc, "url decode '%s'", t->in);
		if (t->out != NULL && rc == MAPCODEC_OK)
			is_str(out, t->out, "url decode '%s' value", t->in);
	}
	is_int(mapcodec_url_decode("abcdef", 6, out, 4, &olen), MAPCODEC_ETOOBIG,
	    "url decode into a short buffer");
	n = mapcodec_url_encode("a b%c\n+=\x7f", 9, out, sizeof(out));
	is_str(out, "a%20b%25c%0A+=%7F", "url encode space, %%, newline, DEL; keep + and =");
	is_int(n, (long long)strlen("a%20b%25c%0A+=%7F"), "url encode length");
	is_int(mapcodec_url_encode("a b", 3, out, 4), MAPCODEC_ESPACE, "url encode overflow");
}

static void
test_tcp_request(void)
{
	char key[64];

	ok(mapcodec_tcp_request("get a%2Bb@c", 11, key, sizeof(key)) == MAPCODEC_OK &&
	    strcmp(key, "a+b@c") == 0, "get with %%2B");
	ok(mapcodec_tcp_request("GET a+b@c", 9, key, sizeof(key)) == MAPCODEC_OK &&
	    strcmp(key, "a+b@c") == 0, "GET, literal +");
	ok(mapcodec_tcp_request("get a%20b@c", 11, key, sizeof(key)) == MAPCODEC_OK &&
	    strcmp(key, "a b@c") == 0, "encoded space");
	is_int(mapcodec_tcp_request("put a b", 7, key, sizeof(key)), MAPCODEC_EREQUEST, "put");
	is_int(mapcodec_tcp_request("get", 3, key, sizeof(key)), MAPCODEC_EREQUEST, "no key");
	is_int(mapcodec_tcp_request("get ", 4, key, sizeof(key)), MAPCODEC_EREQUEST,
	    "empty key");
	is_int(mapcodec_tcp_request("getx a", 6, key, sizeof(key)), MAPCODEC_EREQUEST, "getx");
	is_int(mapcodec_tcp_request("get a b", 7, key, sizeof(key)), MAPCODEC_EREQUEST,
	    "unencoded space inside the key");
	is_int(mapcodec_tcp_request("get a%zz", 8, key, sizeof(key)), MAPCODEC_EENCODING,
	    "invalid %%");
}

static void
test_replies(void)
{
	char out[128];

	mapcodec_socketmap_reply(MAPCODEC_FOUND, "x@y", out, sizeof(out));
	is_str(out, "6:OK x@y,", "socketmap OK");
	mapcodec_socketmap_reply(MAPCODEC_NOTFOUND, "local domain", out, sizeof(out));
	is_str(out, "21:NOTFOUND local domain,", "socketmap NOTFOUND");
	mapcodec_socketmap_reply(MAPCODEC_PERM, "bad hash", out, sizeof(out));
	is_str(out, "13:PERM bad hash,", "socketmap PERM");
	mapcodec_socketmap_reply(MAPCODEC_TEMP, "no signing key", out, sizeof(out));
	is_str(out, "19:TEMP no signing key,", "socketmap TEMP");
	mapcodec_tcp_reply(MAPCODEC_FOUND, "a b%@c", out, sizeof(out));
	is_str(out, "200 a%20b%25@c\n", "tcp 200 is encoded");
	mapcodec_tcp_reply(MAPCODEC_NOTFOUND, "local domain", out, sizeof(out));
	is_str(out, "500 local domain\n", "tcp NOTFOUND is 500");
	mapcodec_tcp_reply(MAPCODEC_PERM, "bad\nhash", out, sizeof(out));
	is_str(out, "500 bad?hash\n", "tcp PERM is 500, reason cannot break the line");
	mapcodec_tcp_reply(MAPCODEC_TEMP, "no signing key", out, sizeof(out));
	is_str(out, "400 no signing key\n", "tcp TEMP is 400");
	is_int(mapcodec_socketmap_reply(MAPCODEC_FOUND, "x@y", out, 5), MAPCODEC_ESPACE,
	    "socketmap reply overflow");
}

static void
test_addr(void)
{
	struct listenaddr a;

	ok(listenaddr_parse("unix:/run/x.sock", &a) == LISTENADDR_OK && a.family == AF_UNIX &&
	    strcmp(a.path, "/run/x.sock") == 0 && a.mode == 0660,
	    "unix:/path: mode 0660 by default");
	ok(listenaddr_parse("unix:/run/x.sock:0660", &a) == LISTENADDR_OK &&
	    strcmp(a.path, "/run/x.sock") == 0 && a.mode == 0660, "unix:/path:0660");
	ok(listenaddr_parse("inet:127.0.0.1:10001", &a) == LISTENADDR_OK &&
	    a.family == AF_INET, "inet:127.0.0.1:10001");
	ok(listenaddr_parse("inet:[::1]:10001", &a) == LISTENADDR_OK && a.family == AF_INET6,
	    "inet:[::1]:10001");
	is_int(listenaddr_parse("inet:127.0.0.1", &a), LISTENADDR_ESPEC, "no port");
	is_int(listenaddr_parse("inet:127.0.0.1:0", &a), LISTENADDR_ESPEC, "port 0");
	is_int(listenaddr_parse("inet:127.0.0.1:70000", &a), LISTENADDR_ESPEC, "port 70000");
	is_int(listenaddr_parse("inet:[::1:10001", &a), LISTENADDR_ESPEC, "unclosed [");
	is_int(listenaddr_parse("unix:relative", &a), LISTENADDR_ESPEC, "relative path");
	is_int(listenaddr_parse("tcp:x", &a), LISTENADDR_ESPEC, "unknown type");
	is_int(listenaddr_parse("unix:/x:0999", &a), LISTENADDR_EMODE, "bad mode");
	/* a mode typo must not become part of the path */
	is_int(listenaddr_parse("unix:/run/x.sock:660", &a), LISTENADDR_EMODE, ":660 refused");
	is_int(listenaddr_parse("unix:/run/x.sock:06600", &a), LISTENADDR_EMODE,
	    ":06600 refused");
	is_int(listenaddr_parse("unix:/run/x.sock:0660x", &a), LISTENADDR_EMODE,
	    ":0660x refused");
	is_int(listenaddr_parse("unix:/run/x.sock:", &a), LISTENADDR_EMODE,
	    "empty mode refused");
	ok(listenaddr_parse("unix:/run/a:b/x.sock", &a) == LISTENADDR_OK &&
	    strcmp(a.path, "/run/a:b/x.sock") == 0, "a colon in a directory name is path");
	ok(strstr(listenaddr_strerror(LISTENADDR_EMODE), "4 octal digits like 0660") != NULL,
	    "EMODE says what a mode looks like");
	is_int(listenaddr_check("inet:[::1:10001"), LISTENADDR_ESPEC, "check: unclosed [");
	is_int(listenaddr_check("unix:/x:660"), LISTENADDR_EMODE, "check: :660");
	is_int(listenaddr_check("inet:backstop.example:10001"), LISTENADDR_OK,
	    "check: a host name is not resolved");
	is_int(listenaddr_check("inet:bad_host!:10001"), LISTENADDR_ESPEC, "check: bad host");
	is_int(listenaddr_check("unix:/run/x.sock:0660"), LISTENADDR_OK, "check: unix mode");
}

/* The three modules number their codes apart, so mapserver_strerror (what srs-rewrite
 * prints when a listener fails, and what a protocol error reply says) names every one. */
static void
test_strerror(void)
{
	static const int codes[] = { MAPCODEC_EMORE, MAPCODEC_ELENGTH, MAPCODEC_ETOOBIG,
		MAPCODEC_ECOMMA, MAPCODEC_EREQUEST, MAPCODEC_EENCODING, MAPCODEC_ESPACE,
		LISTENADDR_ESPEC, LISTENADDR_EMODE, MAPSERVER_ETRUNCATED, MAPSERVER_EBIND,
		MAPSERVER_EINUSE, MAPSERVER_ENOMEM, MAPSERVER_ETHREAD };
	size_t i, j;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		for (j = 0; j < i && codes[j] != codes[i]; j++)
			;
		ok(j == i && strstr(mapserver_strerror(codes[i]), "unknown") == NULL,
		    "code %d is unique and named: %s", codes[i], mapserver_strerror(codes[i]));
	}
	is_str(mapserver_strerror(MAPCODEC_ETOOBIG), mapcodec_strerror(MAPCODEC_ETOOBIG),
	    "a codec error reads the same through the server");
	is_str(mapserver_strerror(LISTENADDR_ESPEC), listenaddr_strerror(LISTENADDR_ESPEC),
	    "an address error reads the same through the server");
	is_str(mapserver_strerror(-99), "unknown mapserver error", "an unknown code");
}

/* ---- the server in process, with a lookup that echoes ---- */

static enum mapcodec_status
echo_lookup(void *ctx, void *batch, const char *map, const char *key, char *out,
    size_t outsize)
{
	(void)ctx;
	(void)batch;
	if (strcmp(key, "temp") == 0) {
		snprintf(out, outsize, "try later");
		return MAPCODEC_TEMP;
	}
	if (strcmp(map, "forward") != 0 && strcmp(map, "reverse") != 0) {
		snprintf(out, outsize, "unknown map");
		return MAPCODEC_PERM;
	}
	snprintf(out, outsize, "%s:%s", map, key);
	return MAPCODEC_FOUND;
}

/* Read until EOF or until want bytes arrived, with a 5 s guard; returns bytes read. */
static size_t
recv_upto(int fd, char *buf, size_t size, size_t want, int *eof)
{
	size_t got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	*eof = 0;
	while (got < want && got + 1 < size && poll(&p, 1, 5000) == 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n <= 0) {
			*eof = 1;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* The workers see hang-ups a moment after close(): wait for them (2 s at most). */
static void
wait_idle(struct mapserver *ms)
{
	int i;

	for (i = 0; i < 2000 && mapserver_connections(ms) > 0; i++)
		usleep(1000);
}

static void
test_server(const char *dir)
{
	struct mapserver_config cfg = { .lookup = echo_lookup, .threads = 2,
		.max_connections = 3, .max_per_peer = 3, .idle_timeout_ms = 300,
		.max_request = 64 };
	struct mapserver *ms;
	char path[256], spec[300], why[256], buf[4096];
	const char *req = "21:forward a@example.com,3:x y,5:x tem,";
	const char *want = "24:OK forward:a@example.com,16:PERM unknown map,16:PERM unknown map,";
	int fd, fds[4], eof, i, open_n = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/ms.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s:0600", path);
	ok(mapserver_new(&cfg, &ms) == MAPSERVER_OK, "server created");
	ok(mapserver_listen(ms, spec, MAPSERVER_SOCKETMAP, NULL, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why)) == MAPSERVER_OK, "listening on %s (%s)", spec, why);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "socket mode 0600");
	ok(mapserver_start(ms) == MAPSERVER_OK, "workers started");

	fd = sc_unix(path);
	sc_send_all(fd, req, strlen(req));
	recv_upto(fd, buf, sizeof(buf), strlen(want), &eof);
	ok(strncmp(buf, want, strlen(want)) == 0, "pipelined replies in order: %s", buf);
	sc_send_all(fd, "4:temp,", 7);	/* "temp" has no space: malformed request */
	recv_upto(fd, buf, sizeof(buf), 1000, &eof);
	is_str(buf, "38:PERM protocol error: malformed request,", "bad request: PERM");
	ok(eof, "and the connection is closed");
	close(fd);

	fd = sc_unix(path);
	sc_send_all(fd, "9:forward x", 11);
	shutdown(fd, SHUT_WR);
	recv_upto(fd, buf, sizeof(buf), 1000, &eof);
	ok(strstr(buf, "closed in the middle") != NULL && eof, "EOF mid-frame: %s", buf);
	close(fd);

	fd = sc_unix(path);
	sc_send_all(fd, "65:", 3);
	recv_upto(fd, buf, sizeof(buf), 1000, &eof);
	ok(strstr(buf, "request too long") != NULL && eof, "over max_request: %s", buf);
	close(fd);

	wait_idle(ms);
	for (i = 0; i < 4; i++)
		fds[i] = sc_unix(path);
	for (i = 0; i < 4; i++) {
		sc_send_all(fds[i], "11:forward a@b,", 15);
		recv_upto(fds[i], buf, sizeof(buf), 18, &eof);
		printf("# conn %d: '%s'%s\n", i, buf, eof ? " EOF" : "");
		open_n += strcmp(buf, "14:OK forward:a@b,") == 0;
	}
	is_int(open_n, 3, "connection limit 3: three of four are served");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	wait_idle(ms);

	fd = sc_unix(path);
	recv_upto(fd, buf, sizeof(buf), 1000, &eof);	/* idle 300 ms, swept within 250 */
	ok(eof && buf[0] == '\0', "idle connection closed by the server");
	close(fd);

	mapserver_free(ms);
	ok(stat(path, &st) != 0 && errno == ENOENT, "socket removed on shutdown");
}

/* ---- hostile clients: slow senders, one peer's crowd, clients that never read ---- */

/* dial_tcp - a connection to 127.0.0.1:port from the loopback address src; -1 if none */
static int
dial_tcp(const char *src, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, src, &sin.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* answered - one socketmap request on fd: true when the echo answer came back */
static bool
answered(int fd)
{
	char buf[256];
	int eof;

	if (fd < 0 || !sc_send_all(fd, "11:forward a@b,", 15))
		return false;
	recv_upto(fd, buf, sizeof(buf), 18, &eof);
	return strcmp(buf, "14:OK forward:a@b,") == 0;
}

/* closed_by_server - poll fd for up to 10 s: true when the server hung up */
static bool
closed_by_server(int fd, bool trickle)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	int i;

	for (i = 0; i < 200; i++) {
		if (trickle && send(fd, "x", 1, MSG_NOSIGNAL) != 1)
			return true;
		if (poll(&p, 1, 50) == 1 && read(fd, buf, sizeof(buf)) <= 0)
			return true;
	}
	return false;
}

/* A partial request that grows by a byte at a time is closed at the request deadline,
 * though every byte is well within the idle timeout. */
static void
test_slow_request(const char *path)
{
	int fd = sc_unix(path);

	ok(fd >= 0 && sc_send_all(fd, "900:forward ", 12), "slow client connected");
	ok(closed_by_server(fd, true), "a request trickled a byte at a time is cut off");
	close(fd);
}

/* One address holds the connections it may; another address is still answered. */
static void
test_peer_cap_tcp(int port)
{
	int fds[8], i, served = 0, fd;

	for (i = 0; i < 8; i++) {
		fds[i] = dial_tcp("127.0.0.2", port);
		served += answered(fds[i]);
	}
	printf("# 127.0.0.2 was served on %d of 8 connections\n", served);
	ok(served == 4, "per-peer cap: 127.0.0.2 holds 4 connections, not all 8 (%d)", served);
	fd = dial_tcp("127.0.0.1", port);
	ok(answered(fd), "another address is answered while 127.0.0.2 holds its share");
	close(fd);
	for (i = 0; i < 8; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The same on the unix socket, by peer uid: a local user (nobody, in a child) cannot crowd
 * out root's (the MTA's) lookups. */
static void
test_peer_cap_unix(const char *path)
{
	int up[2], down[2], served = -1, fd;
	char c;
	pid_t pid;

	if (pipe(up) != 0 || pipe(down) != 0 || (pid = fork()) < 0) {
		ok(0, "pipe/fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int fds[8], i, n = 0;

		close(up[0]);
		close(down[1]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(1);
		for (i = 0; i < 8; i++)
			n += answered(fds[i] = sc_unix(path));
		if (write(up[1], &n, sizeof(n)) != sizeof(n))
			_exit(1);
		(void)!read(down[0], &c, 1);	/* hold them until the parent has asked */
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &served, sizeof(served)) != sizeof(served))
		served = -1;
	ok(served == 4, "per-peer cap: uid 65534 holds 4 connections, not all 8 (%d)", served);
	fd = sc_unix(path);
	ok(answered(fd), "root is answered while uid 65534 holds its share");
	close(fd);
	close(down[1]);
	close(up[0]);
	waitpid(pid, NULL, 0);
}

/* A client that sends and never reads is dropped once its queued replies pass the bound,
 * instead of the server keeping them (and reading on) without limit. */
static void
test_never_reads(const char *path)
{
	char req[1100], key[1001], buf[65536];
	int fd = sc_unix(path), small = 4096, n, hung_up = 0, i;
	size_t sent = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	n = snprintf(req, sizeof(req), "%zu:forward %s,", strlen(key) + 8, key);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	while (sent < 64u * 1024 * 1024 && poll(&p, 1, 2000) == 1) {
		if ((p.revents & (POLLERR | POLLHUP)) != 0 ||
		    send(fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN)
				continue;
			hung_up = 1;
			break;
		}
		sent += (size_t)n;
	}
	printf("# sent %zu bytes of requests without reading\n", sent);
	p.events = POLLIN;
	for (i = 0; !hung_up && i < 100000 && poll(&p, 1, 3000) == 1; i++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			hung_up = 1;
	ok(hung_up, "a client that never reads is disconnected");
	close(fd);
}

static void
test_hostile(const char *dir)
{
	struct mapserver_config cfg = { .lookup = echo_lookup, .threads = 2,
		.max_connections = 8, .max_per_peer = 4, .idle_timeout_ms = 60000,
		.request_timeout_ms = 300, .max_request = 2048, .max_output = 16384 };
	struct mapserver *ms;
	char path[256], open_path[256], spec[300], why[256];
	int port = 20000 + (int)(getpid() % 5000) * 2, i, rc = -1;
	struct stat st;

	chmod(dir, 0711);	/* the unix-socket test's child, uid 65534, must reach open.sock */
	snprintf(path, sizeof(path), "%s/def.sock", dir);
	snprintf(open_path, sizeof(open_path), "%s/open.sock", dir);
	ok(mapserver_new(&cfg, &ms) == MAPSERVER_OK, "hostile: server created");
	snprintf(spec, sizeof(spec), "unix:%s", path);
	ok(mapserver_listen(ms, spec, MAPSERVER_SOCKETMAP, NULL, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why)) == MAPSERVER_OK, "listening on %s (%s)", spec, why);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0660, "socket mode 0660 by default (%o)",
	    (unsigned)(st.st_mode & 0777));
	snprintf(spec, sizeof(spec), "unix:%s:0666", open_path);
	ok(mapserver_listen(ms, spec, MAPSERVER_SOCKETMAP, NULL, (uid_t)-1, (gid_t)-1, why,
	    sizeof(why)) == MAPSERVER_OK, "listening on %s (%s)", spec, why);
	for (i = 0; i < 20 && rc != MAPSERVER_OK; i++, port += 2) {
		snprintf(spec, sizeof(spec), "inet:127.0.0.1:%d", port);
		rc = mapserver_listen(ms, spec, MAPSERVER_SOCKETMAP, NULL, (uid_t)-1, (gid_t)-1,
		    why, sizeof(why));
	}
	port -= 2;
	ok(rc == MAPSERVER_OK, "listening on %s (%s)", spec, why);
	ok(mapserver_start(ms) == MAPSERVER_OK, "hostile: workers started");
	test_slow_request(path);
	wait_idle(ms);
	test_peer_cap_tcp(port);
	wait_idle(ms);
	test_peer_cap_unix(open_path);
	wait_idle(ms);
	test_never_reads(path);
	mapserver_free(ms);
}

/* Between bind and chmod, whoever can write the directory may swap the socket for a symlink
 * to a file of root's: the chmod/chown must then refuse, and the file keep its mode. */
static void
test_socket_own(const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char target[256];
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), tfd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/own.sock", dir);
	snprintf(target, sizeof(target), "%s/root-file", dir);
	tfd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ok(fd >= 0 && tfd >= 0 && bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "socket bound");
	is_int(daemon_socket_own(sun.sun_path, (uid_t)-1, (gid_t)-1, 0640, &st), DAEMON_OK,
	    "the socket just bound gets its mode");
	ok(stat(sun.sun_path, &st) == 0 && (st.st_mode & 0777) == 0640, "mode 0640");
	unlink(sun.sun_path);
	ok(symlink(target, sun.sun_path) == 0, "the socket swapped for a symlink to a root file");
	is_int(daemon_socket_own(sun.sun_path, 65534, 65534, 0666, &st), DAEMON_ESOCKSWAP,
	    "chmod/chown refuse the swapped path");
	ok(stat(target, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == geteuid(),
	    "and the file it points at keeps its mode and owner");
	unlink(sun.sun_path);
	unlink(target);
	close(tfd);
	close(fd);
}

int
main(void)
{
	char dir[] = "/tmp/test-mapserver.XXXXXX";

	signal(SIGPIPE, SIG_IGN);
	test_netstring();
	test_netstring_prefixes();
	test_pipeline();
	test_lines();
	test_socketmap_split();
	test_url();
	test_tcp_request();
	test_replies();
	test_addr();
	test_strerror();
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_server(dir);
	test_hostile(dir);
	test_socket_own(dir);
	rmdir(dir);
	return done_testing();
}
