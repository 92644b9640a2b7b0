/* hostile: a raw-socket milter client that plays a hostile or broken MTA against
 * backstop-milter: truncated packets, absurd length fields, steps out of order, macros with
 * missing or odd values, random bytes. After every scenario a well-formed session must still
 * get the right answer (an untagged bounce rejected with 550). Prints TAP; usage:
 * hostile SOCKET_PATH [SEED]. The milter protocol is Sendmail's, version 6. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../unit/sockclient.h"
#include "../unit/tap.h"

/* Protocol constants (the values libmilter's mfdef.h gives them). */
#define P_NR_CONN 0x1000UL
#define P_NR_MAIL 0x4000UL
#define P_NR_RCPT 0x8000UL
#define P_NOMAIL 0x4UL
#define P_NORCPT 0x8UL
#define P_ALL 0x1FFFFFUL	/* every step and no-reply flag an MTA may offer */
#define ACT_ALL 0x1FFUL

static const char *sock_path;

/* packet - send one well-framed packet: 4-byte length, command, data */
static bool
packet(int fd, char cmd, const void *data, size_t len)
{
	unsigned char hdr[5];
	uint32_t n = (uint32_t)len + 1;

	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
	hdr[4] = (unsigned char)cmd;
	return sc_send_all(fd, hdr, 5) && (len == 0 || sc_send_all(fd, data, len));
}

/* raw_len - a header whose length field says n, whatever follows */
static bool
raw_len(int fd, uint32_t n, char cmd)
{
	unsigned char hdr[5] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
		(unsigned char)(n >> 8), (unsigned char)n, (unsigned char)cmd };

	return sc_send_all(fd, hdr, 5);
}

static bool
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, timeout_ms) != 1)
			return false;
		n = recv(fd, p, len, 0);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* reply - read one packet from the milter: its command, and its data into buf */
static int
reply(int fd, char *buf, size_t size, size_t *len, int timeout_ms)
{
	unsigned char hdr[5];
	uint32_t n;

	if (!read_full(fd, hdr, 5, timeout_ms))
		return -1;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n - 1 >= size)
		return -1;
	if (!read_full(fd, buf, n - 1, timeout_ms))
		return -1;
	buf[n - 1] = '\0';
	*len = n - 1;
	return hdr[4];
}

/* drain - read and drop whatever the milter says until it closes or is quiet for ms */
static void
drain(int fd, int ms)
{
	char buf[4096];
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	while (poll(&pf, 1, ms) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* optneg - negotiate version 6, everything offered; the milter's protocol flags or -1 */
static long
optneg(int fd)
{
	unsigned char o[12];
	char buf[256];
	size_t len;

	put32(o, 6);
	put32(o + 4, ACT_ALL);
	put32(o + 8, P_ALL);
	if (!packet(fd, 'O', o, sizeof(o)))
		return -1;
	if (reply(fd, buf, sizeof(buf), &len, 5000) != 'O' || len < 12)
		return -1;
	return (long)get32(buf + 8);
}

/* macro - a 'D' packet for step cmd from a NUL-separated list given with its length */
static bool
macro(int fd, char cmd, const char *pairs, size_t len)
{
	char buf[8192];

	if (len + 1 > sizeof(buf))
		return false;
	buf[0] = cmd;
	memcpy(buf + 1, pairs, len);
	return packet(fd, 'D', buf, len + 1);
}

#define MACRO(fd, cmd, lit) macro(fd, cmd, lit, sizeof(lit) - 1)
/* PACKET - a literal with its final NUL (steps carry NUL-terminated strings) */
#define PACKET(fd, cmd, lit) packet(fd, cmd, lit, sizeof(lit))

/* expect - read the reply to a step unless it was negotiated away; its command or -1 */
static int
expect(int fd, long proto, unsigned long nr, char *buf, size_t size)
{
	size_t len;

	if (proto & (long)nr)
		return 'c';
	return reply(fd, buf, size, &len, 5000);
}

/* good_session - a well-formed inbound bounce to an unsigned address: must get a 550 */
static bool
good_session(const char *qid, char *why, size_t whylen)
{
	char buf[4096], m[64];
	int fd = sc_unix(sock_path), r;
	long proto;
	bool res = false;

	snprintf(why, whylen, "cannot connect");
	if (fd < 0)
		return false;
	snprintf(why, whylen, "option negotiation failed");
	if ((proto = optneg(fd)) < 0)
		goto done;
	snprintf(why, whylen, "connect step failed");
	if (!MACRO(fd, 'C', "j\0mx.example.com\0{daemon_name}\0smtpd\0") ||
	    !PACKET(fd, 'C', "client.example.net\0004\0\031192.0.2.20") ||
	    expect(fd, proto, P_NR_CONN, buf, sizeof(buf)) != 'c')
		goto done;
	snprintf(why, whylen, "mail step failed");
	r = snprintf(m, sizeof(m), "i%c%s", '\0', qid);
	if (!macro(fd, 'M', m, (size_t)r + 1) || !PACKET(fd, 'M', "<>") ||
	    expect(fd, proto, P_NR_MAIL, buf, sizeof(buf)) != 'c')
		goto done;
	if (!PACKET(fd, 'R', "<alice@example.com>"))
		goto done;
	r = reply(fd, buf, sizeof(buf), &(size_t){ 0 }, 5000);
	snprintf(why, whylen, "rcpt reply '%c' %.100s, want 'y' 550", r < 0 ? '?' : r, buf);
	res = r == 'y' && strncmp(buf, "550", 3) == 0;
	packet(fd, 'A', NULL, 0);
	packet(fd, 'Q', NULL, 0);
done:
	close(fd);
	return res;
}

/* A scenario sends its bytes on a fresh connection; the milter may answer or hang up. */
struct scenario {
	const char *name;
	void (*run)(int fd);
};

static void
sc_close_at_once(int fd)
{
	(void)fd;
}

static void
sc_half_header(int fd)
{
	sc_send_all(fd, "\0\0", 2);
}

static void
sc_truncated_body(int fd)
{
	raw_len(fd, 100, 'M');
	sc_send_all(fd, "<short", 6);
}

static void
sc_huge_length(int fd)
{
	raw_len(fd, 0x7fffffff, 'O');
	sc_send_all(fd, "\0\0\0\6", 4);
	drain(fd, 300);
}

static void
sc_max_length(int fd)
{
	raw_len(fd, 0xffffffff, 'R');
	drain(fd, 300);
}

static void
sc_zero_length(int fd)
{
	sc_send_all(fd, "\0\0\0\0", 4);
	drain(fd, 300);
}

static void
sc_unknown_command(int fd)
{
	PACKET(fd, 'Z', "whatever");
	drain(fd, 300);
}

static void
sc_rcpt_before_optneg(int fd)
{
	PACKET(fd, 'R', "<alice@example.com>");
	drain(fd, 300);
}

/* session - negotiate and connect from an outside address; the protocol flags */
static long
session(int fd)
{
	char buf[4096];
	long proto = optneg(fd);

	if (proto < 0)
		return -1;
	MACRO(fd, 'C', "j\0mx.example.com\0");
	PACKET(fd, 'C', "evil.example.net\0004\0\031198.51.100.7");
	if (expect(fd, proto, P_NR_CONN, buf, sizeof(buf)) < 0)
		return -1;
	return proto;
}

static void
sc_rcpt_before_mail(int fd)
{
	if (session(fd) < 0)
		return;
	PACKET(fd, 'R', "<alice@example.com>");
	drain(fd, 300);
}

static void
sc_eom_without_mail(int fd)
{
	if (session(fd) < 0)
		return;
	packet(fd, 'E', NULL, 0);
	drain(fd, 300);
}

static void
sc_body_and_eoh_out_of_order(int fd)
{
	if (session(fd) < 0)
		return;
	PACKET(fd, 'B', "body before mail\r\n");
	packet(fd, 'N', NULL, 0);
	PACKET(fd, 'L', "X-Backstop\0forged");
	packet(fd, 'E', NULL, 0);
	drain(fd, 300);
}

static void
sc_second_optneg(int fd)
{
	unsigned char o[12];

	if (session(fd) < 0)
		return;
	PACKET(fd, 'M', "<>");
	put32(o, 2);
	put32(o + 4, 0);
	put32(o + 8, 0);
	packet(fd, 'O', o, sizeof(o));
	PACKET(fd, 'R', "<alice@example.com>");
	drain(fd, 300);
}

static void
sc_short_optneg(int fd)
{
	packet(fd, 'O', "\0\0\0\6\0", 5);
	drain(fd, 300);
}

static void
sc_old_version(int fd)
{
	unsigned char o[12];

	put32(o, 1);
	put32(o + 4, 0);
	put32(o + 8, 0);
	packet(fd, 'O', o, sizeof(o));
	PACKET(fd, 'M', "<>");
	drain(fd, 300);
}

static void
sc_odd_connect(int fd)
{
	char buf[4096];
	long proto = optneg(fd);

	if (proto < 0)
		return;
	packet(fd, 'C', NULL, 0);	/* no data at all */
	expect(fd, proto, P_NR_CONN, buf, sizeof(buf));
	drain(fd, 200);
}

/* odd_family - a connect step with an unknown or mismatched address */
static void
odd_family(int fd, const char *data, size_t len)
{
	char buf[4096];
	long proto = optneg(fd);

	if (proto < 0)
		return;
	packet(fd, 'C', data, len);
	expect(fd, proto, P_NR_CONN, buf, sizeof(buf));
	MACRO(fd, 'M', "i\0QODD\0");
	PACKET(fd, 'M', "<>");
	expect(fd, proto, P_NR_MAIL, buf, sizeof(buf));
	PACKET(fd, 'R', "<alice@example.com>");
	drain(fd, 300);
}

#define ODD_FAMILY(fd, lit) odd_family(fd, lit, sizeof(lit))

static void
sc_family_unknown(int fd)
{
	ODD_FAMILY(fd, "host\0U");
}

static void
sc_family_bad_ipv4(int fd)
{
	ODD_FAMILY(fd, "host\0004\0\031not-an-ip");
}

static void
sc_family_bad_ipv6(int fd)
{
	ODD_FAMILY(fd, "host\0006\0\031:::::zz");
}

static void
sc_family_unix(int fd)
{
	ODD_FAMILY(fd, "localhost\0L\0\0/var/run/x");
}

static void
sc_family_no_port(int fd)
{
	odd_family(fd, "host\0004", 6);	/* no NUL after the family */
}

/* odd_mail - a whole message with sender and recipients as given */
static void
odd_mail(int fd, const char *mail, size_t mlen, const char *rcpt, size_t rlen)
{
	char buf[4096];
	long proto = session(fd);

	if (proto < 0)
		return;
	MACRO(fd, 'M', "i\0QODDMAIL\0");
	packet(fd, 'M', mail, mlen);
	expect(fd, proto, P_NR_MAIL, buf, sizeof(buf));
	packet(fd, 'R', rcpt, rlen);
	expect(fd, proto, P_NR_RCPT, buf, sizeof(buf));
	PACKET(fd, 'L', "From\0x@y");
	packet(fd, 'E', NULL, 0);
	drain(fd, 300);
}

/* ODD_MAIL - sender and recipient literals, each with its final NUL */
#define ODD_MAIL(fd, m, r) odd_mail(fd, m, sizeof(m), r, sizeof(r))

static void
sc_mail_empty(int fd)
{
	odd_mail(fd, "", 0, "", 0);
}

static void
sc_mail_no_nul(int fd)
{
	odd_mail(fd, "<a@b", 4, "<alice@example.com", 18);
}

static void
sc_mail_brackets(int fd)
{
	ODD_MAIL(fd, "<<>>", "<");
}

static void
sc_rcpt_nul_inside(int fd)
{
	ODD_MAIL(fd, "<>", "<prvs=0123abcdef=al\0ice@example.com>");
}

static void
sc_rcpt_bad_tags(int fd)
{
	ODD_MAIL(fd, "<>", "<prvs=9999zzzzzz=alice@example.com>\0SIZE=1\0");
}

static void
sc_rcpt_bad_prvs(int fd)
{
	ODD_MAIL(fd, "<>", "<prvs==alice@example.com>");
}

static void
sc_rcpt_bad_srs0(int fd)
{
	ODD_MAIL(fd, "<>", "<SRS0=@fwd.example.com>");
}

static void
sc_rcpt_bad_srs1(int fd)
{
	ODD_MAIL(fd, "<>", "<SRS1=x=y=@fwd.example.com>");
}

static void
sc_rcpt_long(int fd)
{
	char r[3000];

	memset(r, 'a', sizeof(r));
	memcpy(r, "<prvs=0123abcdef=", 17);
	memcpy(r + sizeof(r) - 14, "@example.com>", 14);
	odd_mail(fd, "<>", 3, r, sizeof(r));
}

static void
sc_macro_odd(int fd)
{
	char buf[4096], big[7000];
	long proto = optneg(fd);

	if (proto < 0)
		return;
	packet(fd, 'D', NULL, 0);			/* no step letter */
	MACRO(fd, 'C', "j");				/* name without value or NUL */
	MACRO(fd, 'C', "{daemon_name}\0");		/* name, no value */
	MACRO(fd, 'Z', "i\0x\0");			/* unknown step */
	PACKET(fd, 'C', "h\0004\0\031192.0.2.9");
	expect(fd, proto, P_NR_CONN, buf, sizeof(buf));
	MACRO(fd, 'M', "{auth_authen}\0\0i\0\0{mail_addr}\0");	/* empty values */
	PACKET(fd, 'M', "<>");
	expect(fd, proto, P_NR_MAIL, buf, sizeof(buf));
	memset(big, 'q', sizeof(big));
	memcpy(big, "i", 2);
	big[sizeof(big) - 1] = '\0';
	macro(fd, 'R', big, sizeof(big));		/* a 7000-byte queue id */
	PACKET(fd, 'R', "<alice@example.com>");
	expect(fd, proto, P_NR_RCPT, buf, sizeof(buf));
	packet(fd, 'E', NULL, 0);
	drain(fd, 300);
}

static void
sc_abort_then_rcpt(int fd)
{
	if (session(fd) < 0)
		return;
	PACKET(fd, 'M', "<>");
	packet(fd, 'A', NULL, 0);
	PACKET(fd, 'R', "<alice@example.com>");
	packet(fd, 'E', NULL, 0);
	packet(fd, 'A', NULL, 0);
	packet(fd, 'A', NULL, 0);
	drain(fd, 300);
}

static void
sc_quit_nc_reuse(int fd)
{
	if (session(fd) < 0)
		return;
	packet(fd, 'K', NULL, 0);	/* quit, new connection follows on this socket */
	session(fd);
	PACKET(fd, 'M', "<>");
	PACKET(fd, 'R', "<alice@example.com>");
	drain(fd, 300);
}

static unsigned long rng_state;

static unsigned
rng(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(rng_state >> 33);
}

static void
sc_random_packets(int fd)
{
	static const char cmds[] = "ABCDEHKLMNOQRTUZ\x01\xff";
	char data[512];
	int i, j;

	if (session(fd) < 0)
		return;
	for (i = 0; i < 200; i++) {
		size_t len = rng() % sizeof(data);

		for (j = 0; j < (int)len; j++)
			data[j] = (char)rng();
		if (!packet(fd, cmds[rng() % (sizeof(cmds) - 1)], data, len))
			break;
	}
	drain(fd, 300);
}

static void
sc_random_bytes(int fd)
{
	char data[2048];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)rng();
	sc_send_all(fd, data, sizeof(data));
	drain(fd, 300);
}

static const struct scenario scenarios[] = {
	{ "connect and close at once", sc_close_at_once },
	{ "half a length field, then EOF", sc_half_header },
	{ "length 100, 6 bytes, then EOF", sc_truncated_body },
	{ "length field 0x7fffffff", sc_huge_length },
	{ "length field 0xffffffff", sc_max_length },
	{ "length field 0", sc_zero_length },
	{ "unknown command", sc_unknown_command },
	{ "RCPT before option negotiation", sc_rcpt_before_optneg },
	{ "RCPT before MAIL", sc_rcpt_before_mail },
	{ "EOM without MAIL", sc_eom_without_mail },
	{ "body, EOH and header before MAIL", sc_body_and_eoh_out_of_order },
	{ "second option negotiation mid-message", sc_second_optneg },
	{ "option negotiation 5 bytes long", sc_short_optneg },
	{ "protocol version 1", sc_old_version },
	{ "connect step with no data", sc_odd_connect },
	{ "connect family U (unknown)", sc_family_unknown },
	{ "connect family 4 with a bad address", sc_family_bad_ipv4 },
	{ "connect family 6 with a bad address", sc_family_bad_ipv6 },
	{ "connect family L (unix socket)", sc_family_unix },
	{ "connect family 4 without port or address", sc_family_no_port },
	{ "empty MAIL and RCPT", sc_mail_empty },
	{ "MAIL and RCPT without their NUL", sc_mail_no_nul },
	{ "MAIL <<>> and RCPT <", sc_mail_brackets },
	{ "RCPT with a NUL inside a tag", sc_rcpt_nul_inside },
	{ "RCPT with a non-hex tag and ESMTP arguments", sc_rcpt_bad_tags },
	{ "RCPT prvs==", sc_rcpt_bad_prvs },
	{ "RCPT SRS0= with nothing after", sc_rcpt_bad_srs0 },
	{ "RCPT SRS1 without a first hop", sc_rcpt_bad_srs1 },
	{ "RCPT of 3000 bytes", sc_rcpt_long },
	{ "macros: no step, no value, unknown step, empty values, 7000 bytes", sc_macro_odd },
	{ "ABORT then RCPT and EOM, double ABORT", sc_abort_then_rcpt },
	{ "QUIT_NC and a second session on the socket", sc_quit_nc_reuse },
	{ "200 random packets after connect", sc_random_packets },
	{ "2048 random bytes", sc_random_bytes },
};

/* idle_flood - n connections that negotiate and then say nothing, held while we test */
static int
idle_flood(int *fds, int n)
{
	int i, opened = 0;

	for (i = 0; i < n; i++) {
		fds[i] = sc_unix(sock_path);
		if (fds[i] >= 0 && optneg(fds[i]) >= 0)
			opened++;
	}
	return opened;
}

int
main(int argc, char **argv)
{
	char why[256], qid[32];
	int fds[50], i, rounds;
	size_t s;

	if (argc < 2) {
		fprintf(stderr, "usage: hostile SOCKET_PATH [SEED] [ROUNDS]\n");
		return 2;
	}
	sock_path = argv[1];
	rng_state = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
	rounds = argc > 3 ? atoi(argv[3]) : 1;
	signal(SIGPIPE, SIG_IGN);
	ok(good_session("QHOSTILE0", why, sizeof(why)), "well-formed session before: %s",
	    why);
	for (i = 0; i < rounds; i++)
		for (s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
			int fd = sc_unix(sock_path);

			if (fd >= 0) {
				scenarios[s].run(fd);
				close(fd);
			}
			snprintf(qid, sizeof(qid), "QHOSTILE%zu", s + 1);
			ok(fd >= 0 && good_session(qid, why, sizeof(why)),
			    "after %s: well-formed session answered (%s)", scenarios[s].name,
			    fd >= 0 ? why : "cannot connect");
		}
	ok(idle_flood(fds, 50) == 50, "50 idle connections accepted");
	ok(good_session("QHOSTILEIDLE", why, sizeof(why)),
	    "well-formed session beside 50 idle ones: %s", why);
	for (i = 0; i < 50; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	ok(good_session("QHOSTILEEND", why, sizeof(why)), "well-formed session after: %s", why);
	return done_testing();
}
