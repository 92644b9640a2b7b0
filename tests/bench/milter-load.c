/* milter-load: a milter-protocol client (version 6, written for the bench) that drives N
 * concurrent connections of realistic transactions into one milter and prints one line of
 * key=value figures: messages/s, p50/p99 of the RCPT and EOM replies, what the milter did.
 * It honours the steps and no-reply flags the milter negotiates. Not a test: see run-all.sh. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfdef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "keyring.h"
#include "prvs.h"

#define LOAD_MAX_CONNS 1024
#define LOAD_OUT_CAP 32768
#define LOAD_IN_CAP 8192
#define LOAD_PKT_MAX 65536
#define LOAD_USERS 1000		/* distinct local users, so distinct tags */
#define LOAD_HEADERS 10
/* latency histogram: 1 us buckets to 10 ms, then 100 us buckets to 1 s, then overflow */
#define HIST_FINE 10000
#define HIST_N (HIST_FINE + 9900 + 1)

enum load_kind { LAT_RCPT, LAT_EOM, LAT_KINDS };
enum load_class { CLS_OUTBOUND, CLS_INBOUND, CLS_VALID_BOUNCE, CLS_FORGED_BOUNCE, CLS_N };
static const char *const class_name[CLS_N] = { "outbound", "inbound", "valid", "forged" };

/* What the MTA side offers: every step may be skipped and need no reply (no RCPT_REJ,
 * no SKIP, no leading space, no large data sizes: this client does not implement them). */
static const uint32_t offer_proto = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL |
    SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR |
    SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
    SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_SKIP;

struct opts {
	const char *sock;
	int conns;
	double seconds;		/* run at most this long */
	unsigned long total;	/* this many messages (0: no limit) */
	unsigned per_conn;	/* messages per milter connection */
	size_t body;
	const char *conf;
	unsigned seed;
};

struct stats {
	unsigned long msgs, conns, errors, rcpts, rcpt_rej, aborted;
	unsigned long cls[CLS_N];
	unsigned long chgfrom, addrcpt, delrcpt, addhdr, chghdr, other_mod;
	uint32_t proto, actions;
};

struct worker {
	pthread_t tid;
	int id;
	unsigned seed;
	uint32_t *hist[LAT_KINDS];
	struct stats st;
	char err[256];
};

struct conn {
	int fd;
	uint32_t proto;		/* what the milter negotiated */
	size_t olen, ipos, ilen;
	char out[LOAD_OUT_CAP];
	char in[LOAD_IN_CAP];
	char pkt[LOAD_PKT_MAX];
};

struct plan {
	enum load_class cls;
	char from[ADDR_TEXT_MAX + 2];
	int n;
	char rcpt[5][ADDR_TEXT_MAX + 2];
	bool auth;
};

static struct opts opt = { NULL, 8, 0, 0, 10, 4096, NULL, 1 };
static char tags[LOAD_USERS][ADDR_TEXT_MAX];
static char domain[ADDR_DOMAIN_MAX + 1] = "example.com";
static char *body_text;
static atomic_bool stop_flag;
static atomic_ulong claimed;
static atomic_ulong qid_seq;
static atomic_int running;	/* workers not yet finished */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
hist_add(uint32_t *h, uint64_t ns)
{
	uint64_t us = ns / 1000;
	size_t b;

	if (us < HIST_FINE)
		b = (size_t)us;
	else if (us < 1000000)
		b = HIST_FINE + (size_t)((us - HIST_FINE) / 100);
	else
		b = HIST_N - 1;
	h[b]++;
}

static double
hist_us(size_t b)
{
	if (b < HIST_FINE)
		return (double)b + 0.5;
	if (b < HIST_N - 1)
		return (double)HIST_FINE + (double)(b - HIST_FINE) * 100 + 50;
	return 1e6;
}

/* hist_pct - the value (us) under which fraction p of the samples lie */
static double
hist_pct(const uint64_t *h, double p)
{
	uint64_t total = 0, acc = 0, want;
	size_t b;

	for (b = 0; b < HIST_N; b++)
		total += h[b];
	if (total == 0)
		return 0;
	want = (uint64_t)(p * (double)total);
	if (want == 0)
		want = 1;
	for (b = 0; b < HIST_N; b++) {
		acc += h[b];
		if (acc >= want)
			return hist_us(b);
	}
	return hist_us(HIST_N - 1);
}

static int
fail(struct worker *w, const char *what)
{
	snprintf(w->err, sizeof(w->err), "%s%s%s", what, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	w->st.errors++;
	return -1;
}

/* out_packet - queue one command: 4-byte big-endian length, the command, the data */
static int
out_packet(struct conn *c, struct worker *w, char cmd, const char *data, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));

	if (c->olen + len + 5 > sizeof(c->out)) {
		errno = 0;
		return fail(w, "command does not fit the output buffer");
	}
	memcpy(c->out + c->olen, &n, 4);
	c->out[c->olen + 4] = cmd;
	memcpy(c->out + c->olen + 5, data, len);
	c->olen += len + 5;
	return 0;
}

static int
out_flush(struct conn *c, struct worker *w)
{
	size_t off = 0;

	while (off < c->olen) {
		ssize_t k = write(c->fd, c->out + off, c->olen - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fail(w, "write to the milter");
		off += (size_t)k;
	}
	c->olen = 0;
	return 0;
}

static int
in_read(struct conn *c, struct worker *w, char *dst, size_t len)
{
	while (len > 0) {
		size_t k;

		if (c->ipos == c->ilen) {
			ssize_t r = read(c->fd, c->in, sizeof(c->in));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (r == 0)
					errno = 0;
				return fail(w, r == 0 ? "the milter closed the connection" :
				    "read from the milter");
			}
			c->ipos = 0;
			c->ilen = (size_t)r;
		}
		k = c->ilen - c->ipos < len ? c->ilen - c->ipos : len;
		memcpy(dst, c->in + c->ipos, k);
		c->ipos += k;
		dst += k;
		len -= k;
	}
	return 0;
}

/* in_packet - read one reply; its data (NUL-terminated, truncated) lands in c->pkt */
static int
in_packet(struct conn *c, struct worker *w, char *cmd, size_t *len)
{
	uint32_t n;

	if (in_read(c, w, (char *)&n, 4) != 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n > LOAD_PKT_MAX) {
		errno = 0;
		return fail(w, "bad reply length from the milter");
	}
	if (in_read(c, w, cmd, 1) != 0 || in_read(c, w, c->pkt, n - 1) != 0)
		return -1;
	c->pkt[n - 1] = '\0';
	*len = n - 1;
	return 0;
}

static bool
reply_final(char r)
{
	return r == SMFIR_CONTINUE || r == SMFIR_ACCEPT || r == SMFIR_REJECT ||
	    r == SMFIR_TEMPFAIL || r == SMFIR_REPLYCODE || r == SMFIR_DISCARD ||
	    r == SMFIR_CONN_FAIL || r == SMFIR_SHUTDOWN || r == SMFIR_SKIP;
}

static void
count_mod(struct stats *st, char r)
{
	switch (r) {
	case SMFIR_CHGFROM: st->chgfrom++; break;
	case SMFIR_ADDRCPT: case SMFIR_ADDRCPT_PAR: st->addrcpt++; break;
	case SMFIR_DELRCPT: st->delrcpt++; break;
	case SMFIR_ADDHEADER: case SMFIR_INSHEADER: st->addhdr++; break;
	case SMFIR_CHGHEADER: st->chghdr++; break;
	default: st->other_mod++; break;
	}
}

/* wait_reply - send what is queued and read up to the final reply; kind < 0: not timed */
static int
wait_reply(struct conn *c, struct worker *w, int kind, char *final)
{
	uint64_t t0 = now_ns();
	size_t len;
	char r;

	if (out_flush(c, w) != 0)
		return -1;
	for (;;) {
		if (in_packet(c, w, &r, &len) != 0)
			return -1;
		if (r == SMFIR_PROGRESS)
			continue;
		if (reply_final(r))
			break;
		if (kind != LAT_EOM) {
			errno = 0;
			return fail(w, "modification reply outside end of message");
		}
		count_mod(&w->st, r);
	}
	if (r == SMFIR_REPLYCODE)
		r = c->pkt[0] == '5' ? SMFIR_REJECT : c->pkt[0] == '4' ? SMFIR_TEMPFAIL : r;
	if (kind >= 0)
		hist_add(w->hist[kind], now_ns() - t0);
	*final = r;
	return 0;
}

/* step - queue a command unless the milter skips it; wait for a reply unless it needs none.
 * *final is 'c' when nothing came back. */
static int
step(struct conn *c, struct worker *w, char cmd, const char *data, size_t len,
    uint32_t skip, uint32_t noreply, int kind, char *final)
{
	*final = SMFIR_CONTINUE;
	if ((c->proto & skip) != 0)
		return 0;
	if (out_packet(c, w, cmd, data, len) != 0)
		return -1;
	if ((c->proto & noreply) != 0)
		return 0;
	return wait_reply(c, w, kind, final);
}

/* macros - queue a 'D' packet for the step cmd from NULL-terminated name, value pairs */
static int
macros(struct conn *c, struct worker *w, char cmd, const char *const *nv)
{
	char buf[1024];
	size_t len = 1;

	buf[0] = cmd;
	for (; nv[0] != NULL; nv += 2) {
		size_t a = strlen(nv[0]) + 1, b = strlen(nv[1]) + 1;

		if (len + a + b > sizeof(buf))
			break;
		memcpy(buf + len, nv[0], a);
		memcpy(buf + len + a, nv[1], b);
		len += a + b;
	}
	return out_packet(c, w, SMFIC_MACRO, buf, len);
}

static int
conn_open(struct conn *c, struct worker *w)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = opt.sock;

	if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	else if (strncmp(path, "local:", 6) == 0)
		path += 6;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	c->olen = c->ipos = c->ilen = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c->fd < 0)
		return fail(w, "socket");
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(c->fd);
		c->fd = -1;
		return fail(w, opt.sock);
	}
	return 0;
}

static int
negotiate(struct conn *c, struct worker *w)
{
	uint32_t v[3] = { htonl(SMFI_PROT_VERSION), htonl(SMFI_CURR_ACTS), htonl(offer_proto) };
	size_t len;
	char r;

	if (out_packet(c, w, SMFIC_OPTNEG, (const char *)v, sizeof(v)) != 0 ||
	    out_flush(c, w) != 0 || in_packet(c, w, &r, &len) != 0)
		return -1;
	if (r != SMFIC_OPTNEG || len < 12) {
		errno = 0;
		return fail(w, "bad option negotiation reply");
	}
	memcpy(v, c->pkt, sizeof(v));
	w->st.actions = ntohl(v[1]);
	c->proto = w->st.proto = ntohl(v[2]);
	return 0;
}

/* greet - connect (from an internal or an outside address) and HELO, as smtpd would */
static int
greet(struct conn *c, struct worker *w, bool internal)
{
	static const char *const cmac[] = { "j", "mx.example.com", "{daemon_name}", "smtpd",
	    "{daemon_addr}", "127.0.0.1", "v", "Postfix 3.7", "_", "client [192.0.2.1]", NULL };
	char data[128], addr[40];
	uint16_t port = htons(25000);
	size_t len;
	char r;

	if (internal)
		snprintf(addr, sizeof(addr), "10.1.%d.%d", w->id % 250, rand_r(&w->seed) % 250);
	else
		snprintf(addr, sizeof(addr), "192.0.2.%d", rand_r(&w->seed) % 250);
	len = (size_t)snprintf(data, sizeof(data), "client%d.example.net", w->id) + 1;
	data[len++] = SMFIA_INET;
	memcpy(data + len, &port, 2);
	len += 2;
	memcpy(data + len, addr, strlen(addr) + 1);
	len += strlen(addr) + 1;
	if ((c->proto & SMFIP_NOCONNECT) == 0 && macros(c, w, SMFIC_CONNECT, cmac) != 0)
		return -1;
	if (step(c, w, SMFIC_CONNECT, data, len, SMFIP_NOCONNECT, SMFIP_NR_CONN, -1, &r) != 0)
		return -1;
	return step(c, w, SMFIC_HELO, "client.example.net", 19, SMFIP_NOHELO, SMFIP_NR_HELO, -1,
	    &r);
}

/* plan_make - one message of the mix: internal clients send outbound mail; outside ones
 * send inbound mail, bounces to valid tags, and forged bounces (untagged or a bad MAC). */
static void
plan_make(struct plan *p, struct worker *w, bool internal)
{
	unsigned r = (unsigned)rand_r(&w->seed) % 100;
	int i;

	p->n = 1 + (int)((unsigned)rand_r(&w->seed) % 5);
	p->auth = internal && r % 2 == 0;
	p->cls = internal ? CLS_OUTBOUND : r < 50 ? CLS_INBOUND : r < 83 ? CLS_VALID_BOUNCE :
	    CLS_FORGED_BOUNCE;
	if (p->cls == CLS_OUTBOUND)
		snprintf(p->from, sizeof(p->from), "<user%u@%s>",
		    (unsigned)rand_r(&w->seed) % LOAD_USERS, domain);
	else if (p->cls == CLS_INBOUND)
		snprintf(p->from, sizeof(p->from), "<sender%u@other%u.example.net>",
		    (unsigned)rand_r(&w->seed) % 1000, (unsigned)rand_r(&w->seed) % 50);
	else
		snprintf(p->from, sizeof(p->from), "<>");
	for (i = 0; i < p->n; i++) {
		unsigned u = (unsigned)rand_r(&w->seed) % LOAD_USERS;

		if (p->cls == CLS_OUTBOUND)
			snprintf(p->rcpt[i], sizeof(p->rcpt[i]), "<friend%u@dest%u.example.org>", u,
			    u % 37);
		else if (p->cls == CLS_VALID_BOUNCE)
			snprintf(p->rcpt[i], sizeof(p->rcpt[i]), "<%s>", tags[u]);
		else if (p->cls == CLS_FORGED_BOUNCE && u % 2 == 0)
			snprintf(p->rcpt[i], sizeof(p->rcpt[i]), "<prvs=0%.3s%s=user%u@%s>",
			    tags[u] + 6, "abcdef", u, domain);
		else
			snprintf(p->rcpt[i], sizeof(p->rcpt[i]), "<user%u@%s>", u, domain);
	}
}

static int
send_mail(struct conn *c, struct worker *w, const struct plan *p, const char *qid)
{
	const char *mmac[] = { "i", qid, "{mail_addr}", p->from + 1, p->auth ? "{auth_authen}" :
	    NULL, "user", NULL };
	char data[ADDR_TEXT_MAX + 32];
	size_t len = strlen(p->from) + 1;
	char r;

	memcpy(data, p->from, len);
	memcpy(data + len, "SIZE=5000", 10);
	len += 10;
	if ((c->proto & SMFIP_NOMAIL) == 0 && macros(c, w, SMFIC_MAIL, mmac) != 0)
		return -1;
	if (step(c, w, SMFIC_MAIL, data, len, SMFIP_NOMAIL, SMFIP_NR_MAIL, -1, &r) != 0)
		return -1;
	return r == SMFIR_CONTINUE || r == SMFIR_ACCEPT ? 0 : 1;
}

/* send_rcpts - returns how many recipients the milter let through */
static int
send_rcpts(struct conn *c, struct worker *w, const struct plan *p, const char *qid)
{
	int i, good = 0;
	char r;

	for (i = 0; i < p->n; i++) {
		const char *rmac[] = { "i", qid, "{rcpt_addr}", p->rcpt[i] + 1, NULL };

		if ((c->proto & SMFIP_NORCPT) == 0 && macros(c, w, SMFIC_RCPT, rmac) != 0)
			return -1;
		if (step(c, w, SMFIC_RCPT, p->rcpt[i], strlen(p->rcpt[i]) + 1, SMFIP_NORCPT,
		    SMFIP_NR_RCPT, LAT_RCPT, &r) != 0)
			return -1;
		w->st.rcpts++;
		if (r == SMFIR_CONTINUE || r == SMFIR_ACCEPT)
			good++;
		else
			w->st.rcpt_rej++;
	}
	return good;
}

static int
send_headers(struct conn *c, struct worker *w, const struct plan *p, const char *qid)
{
	static const char *const names[LOAD_HEADERS] = { "Received", "From", "To", "Subject",
	    "Date", "Message-ID", "MIME-Version", "Content-Type", "X-Mailer", "List-Unsubscribe" };
	char data[600];
	char r;
	int i;

	for (i = 0; i < LOAD_HEADERS; i++) {
		size_t a = strlen(names[i]) + 1;
		int b = snprintf(data + a, sizeof(data) - a,
		    "value %d of message %s for %s, long enough to look like a real header line "
		    "that an MTA would pass on to its milters", i, qid, p->rcpt[0]);

		memcpy(data, names[i], a);
		if (step(c, w, SMFIC_HEADER, data, a + (size_t)b + 1, SMFIP_NOHDRS, SMFIP_NR_HDR,
		    -1, &r) != 0)
			return -1;
		if (r != SMFIR_CONTINUE)
			return 1;
	}
	return 0;
}

/* send_content - DATA, headers, EOH, body, EOM; returns 1 when a step ended the message */
static int
send_content(struct conn *c, struct worker *w, const struct plan *p, const char *qid)
{
	const char *emac[] = { "i", qid, NULL };
	char r;
	int rc;

	if (step(c, w, SMFIC_DATA, "", 0, SMFIP_NODATA, SMFIP_NR_DATA, -1, &r) != 0)
		return -1;
	if (r != SMFIR_CONTINUE)
		return 1;
	if ((rc = send_headers(c, w, p, qid)) != 0)
		return rc;
	if (step(c, w, SMFIC_EOH, "", 0, SMFIP_NOEOH, SMFIP_NR_EOH, -1, &r) != 0)
		return -1;
	if (r != SMFIR_CONTINUE)
		return 1;
	if (opt.body > 0 && step(c, w, SMFIC_BODY, body_text, opt.body, SMFIP_NOBODY,
	    SMFIP_NR_BODY, -1, &r) != 0)
		return -1;
	if (macros(c, w, SMFIC_BODYEOB, emac) != 0 || out_packet(c, w, SMFIC_BODYEOB, "", 0) != 0)
		return -1;
	return wait_reply(c, w, LAT_EOM, &r);
}

/* message - one transaction; an MTA aborts it when no recipient is left */
static int
message(struct conn *c, struct worker *w, bool internal)
{
	struct plan p;
	char qid[24];
	int rc;

	plan_make(&p, w, internal);
	snprintf(qid, sizeof(qid), "4B%010lX", atomic_fetch_add(&qid_seq, 1));
	rc = send_mail(c, w, &p, qid);
	if (rc == 0) {
		rc = send_rcpts(c, w, &p, qid);
		rc = rc > 0 ? send_content(c, w, &p, qid) : rc == 0 ? 1 : rc;
	}
	if (rc < 0)
		return -1;
	if (rc > 0) {
		w->st.aborted++;
		if (out_packet(c, w, SMFIC_ABORT, "", 0) != 0)
			return -1;
	}
	w->st.cls[p.cls]++;
	w->st.msgs++;
	return 0;
}

static bool
claim(void)
{
	if (atomic_load(&stop_flag))
		return false;
	if (opt.total == 0)
		return true;
	return atomic_fetch_add(&claimed, 1) < opt.total;
}

/* session - one milter connection with up to per_conn messages */
static int
session(struct conn *c, struct worker *w)
{
	bool internal = rand_r(&w->seed) % 100 < 40;
	unsigned i;
	int rc = 0;

	if (conn_open(c, w) != 0)
		return -1;
	w->st.conns++;
	if (negotiate(c, w) != 0 || greet(c, w, internal) != 0)
		rc = -1;
	for (i = 0; rc == 0 && i < opt.per_conn; i++) {
		if (!claim()) {
			rc = 1;
			break;
		}
		rc = message(c, w, internal);
	}
	if (rc >= 0 && (out_packet(c, w, SMFIC_QUIT, "", 0) != 0 || out_flush(c, w) != 0))
		rc = -1;
	close(c->fd);
	return rc;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct conn *c = malloc(sizeof(*c));

	if (c == NULL) {
		w->st.errors++;
		return NULL;
	}
	while (!atomic_load(&stop_flag)) {
		int rc = session(c, w);

		if (rc > 0)
			break;
		if (rc < 0 && w->st.errors >= 10)
			break;
	}
	free(c);
	atomic_fetch_sub(&running, 1);
	return NULL;
}

/* load_tags - sign one tag per user with the configuration's keys, as the milter would */
static int
load_tags(const char *path)
{
	struct conf *cf = NULL;
	struct keyring *kr = NULL;
	char why[512];
	int i, rc = -1;

	if (conf_load(path, &cf, why, sizeof(why)) != 0 ||
	    keyring_load(cf->key_directory, daemon_user_uid(cf->user_id), &kr, why, sizeof(why)) !=
		0) {
		fprintf(stderr, "milter-load: %s\n", why);
		goto fail;
	}
	if (cf->domains.n > 0)
		snprintf(domain, sizeof(domain), "%s", cf->domains.v[0]);
	for (i = 0; i < LOAD_USERS; i++) {
		struct addr a, t;
		char local[32];

		snprintf(local, sizeof(local), "user%d", i);
		if (addr_set(&a, local, strlen(local), domain) != 0 ||
		    prvs_sign(kr, &a, clock_now(), cf->tag_validity, &t) != 0) {
			fprintf(stderr, "milter-load: cannot sign %s@%s with %s\n", local, domain,
			    cf->key_directory);
			goto fail;
		}
		addr_format(&t, tags[i], sizeof(tags[i]));
	}
	rc = 0;
fail:
	keyring_unref(kr);
	conf_free(cf);
	return rc;
}

static void
fake_tags(void)
{
	int i;

	for (i = 0; i < LOAD_USERS; i++)
		snprintf(tags[i], sizeof(tags[i]), "prvs=0%03d%06x=user%d@%s", i % 1000,
		    (unsigned)i * 2654435761u & 0xffffff, i, domain);
}

static void
stats_add(struct stats *a, const struct stats *b)
{
	int k;

	a->msgs += b->msgs;
	a->conns += b->conns;
	a->errors += b->errors;
	a->rcpts += b->rcpts;
	a->rcpt_rej += b->rcpt_rej;
	a->aborted += b->aborted;
	for (k = 0; k < CLS_N; k++)
		a->cls[k] += b->cls[k];
	a->chgfrom += b->chgfrom;
	a->addrcpt += b->addrcpt;
	a->delrcpt += b->delrcpt;
	a->addhdr += b->addhdr;
	a->chghdr += b->chghdr;
	a->other_mod += b->other_mod;
	if (b->proto != 0) {
		a->proto = b->proto;
		a->actions = b->actions;
	}
}

static void
report(struct worker *w, double secs)
{
	static uint64_t h[LAT_KINDS][HIST_N];
	struct stats st = { 0 };
	int i, k;
	size_t b;

	for (i = 0; i < opt.conns; i++) {
		stats_add(&st, &w[i].st);
		for (k = 0; k < LAT_KINDS; k++)
			for (b = 0; b < HIST_N; b++)
				h[k][b] += w[i].hist[k][b];
		if (w[i].err[0] != '\0')
			fprintf(stderr, "milter-load: connection %d: %s\n", i, w[i].err);
	}
	printf("conns=%d msgs=%lu secs=%.3f rate=%.0f rcpt_p50_us=%.0f rcpt_p99_us=%.0f "
	    "eom_p50_us=%.0f eom_p99_us=%.0f", opt.conns, st.msgs, secs, (double)st.msgs / secs,
	    hist_pct(h[LAT_RCPT], 0.5), hist_pct(h[LAT_RCPT], 0.99), hist_pct(h[LAT_EOM], 0.5),
	    hist_pct(h[LAT_EOM], 0.99));
	for (k = 0; k < CLS_N; k++)
		printf(" %s=%lu", class_name[k], st.cls[k]);
	printf(" milter_conns=%lu rcpts=%lu rcpt_rejected=%lu aborted=%lu chgfrom=%lu addrcpt=%lu "
	    "delrcpt=%lu addheader=%lu chgheader=%lu othermod=%lu errors=%lu "
	    "actions=0x%x proto=0x%x\n", st.conns, st.rcpts, st.rcpt_rej, st.aborted, st.chgfrom,
	    st.addrcpt, st.delrcpt, st.addhdr, st.chghdr, st.other_mod, st.errors, st.actions,
	    st.proto);
}

static int
run(void)
{
	static struct worker w[LOAD_MAX_CONNS];
	double t0, t1;
	int i, k;

	for (i = 0; i < opt.conns; i++) {
		w[i].id = i;
		w[i].seed = opt.seed * 7919u + (unsigned)i;
		for (k = 0; k < LAT_KINDS; k++)
			if ((w[i].hist[k] = calloc(HIST_N, sizeof(uint32_t))) == NULL)
				return 1;
	}
	t0 = now_s();
	atomic_store(&running, opt.conns);
	for (i = 0; i < opt.conns; i++)
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "milter-load: cannot start thread %d\n", i);
			return 1;
		}
	while (atomic_load(&running) > 0 && now_s() - t0 < opt.seconds) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	atomic_store(&stop_flag, true);
	for (i = 0; i < opt.conns; i++)
		pthread_join(w[i].tid, NULL);
	t1 = now_s();
	report(w, t1 - t0);
	for (i = 0; i < opt.conns; i++) {
		for (k = 0; k < LAT_KINDS; k++)
			free(w[i].hist[k]);
		if (w[i].st.errors != 0)
			return 1;
	}
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: milter-load -s SOCKET [-C CONF] [-c CONNS] [-d SECONDS] [-n MESSAGES]\n"
	    "                   [-m PER_CONNECTION] [-b BODY_BYTES] [-r SEED]\n"
	    "  -s SOCKET  the milter's socket: unix:/path or /path\n"
	    "  -C CONF    backstop.conf whose keys sign the valid bounce tags (BACKSTOP_NOW applies)\n"
	    "  -c CONNS   concurrent milter connections (default 8, at most %d)\n"
	    "  -d SECONDS run this long (default 2)\n"
	    "  -n N       send N messages in all, or as many as fit in -d SECONDS if it is given\n"
	    "  -m N       messages per milter connection before it is closed (default 10)\n"
	    "  -b BYTES   body size, sent only if the milter wants bodies (default 4096)\n",
	    LOAD_MAX_CONNS);
}

int
main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "s:C:c:d:n:m:b:r:hV")) != -1) {
		switch (ch) {
		case 's': opt.sock = optarg; break;
		case 'C': opt.conf = optarg; break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'd': opt.seconds = atof(optarg); break;
		case 'n': opt.total = strtoul(optarg, NULL, 10); break;
		case 'm': opt.per_conn = (unsigned)atoi(optarg); break;
		case 'b': opt.body = (size_t)atol(optarg); break;
		case 'r': opt.seed = (unsigned)atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("milter-load (%s)\n", PACKAGE_STRING); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.sock == NULL || optind != argc || opt.conns < 1 || opt.conns > LOAD_MAX_CONNS ||
	    opt.per_conn < 1 || opt.seconds < 0 || opt.body > MILTER_CHUNK_SIZE) {
		usage(stderr);
		return 2;
	}
	if (opt.seconds == 0)
		opt.seconds = opt.total == 0 ? 2.0 : 1e9;
	if ((body_text = malloc(opt.body + 1)) == NULL)
		return 1;
	for (size_t i = 0; i < opt.body; i++)
		body_text[i] = i % 72 == 71 ? '\n' : (char)('a' + i % 26);
	if (opt.conf == NULL)
		fake_tags();
	else if (load_tags(opt.conf) != 0)
		return 1;
	return run();
}
