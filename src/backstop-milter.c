/* backstop-milter: the MTA hook. The libmilter callbacks only gather facts (client, macros,
 * addresses, the replay count) and hand them to policy.c; this file carries out the answer
 * and owns the process: configuration and key snapshots, reload, daemon life. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <getopt.h>
#include <libmilter/mfapi.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "keyring.h"
#include "keywatch.h"
#include "log.h"
#include "msgclass.h"
#include "policy.h"
#include "replay.h"

#define HEADER_MAX 900
/* seconds between attempts to open a replay store that failed to open */
#define STORE_RETRY 60
/* Redis connections shared by libmilter's threads, at most */
#define STORE_REDIS_POOL 8

/* libmilter takes char * for what it never writes; -Wwrite-strings wants arrays for that. */
static char header_name[] = "X-Backstop";
static char header_msgid[] = "Message-ID";
static char filter_name[] = "backstop";
static char macro_qid[] = "i";
static char macro_auth[] = "{auth_authen}";
static char macro_daemon[] = "{daemon_name}";
static char macro_version[] = "v";
static char macro_myhostname[] = "j";
static char macro_daemon_addr[] = "{daemon_addr}";
static char macro_if_addr[] = "{if_addr}";
static char macro_rcpt_addr[] = "{rcpt_addr}";
static char macro_rcpt_mailer[] = "{rcpt_mailer}";
static char macro_rcpt_host[] = "{rcpt_host}";
static char code_reject[] = "550", xcode_reject[] = "5.7.1";
static char code_tempfail[] = "451", xcode_tempfail[] = "4.7.1";

/* Configuration and keys travel together: each message works on the snapshot that was
 * current at its MAIL FROM, however many reloads happen meanwhile; a long SMTP session
 * gets the new one with its next message, so a revoked key stops working at once. */
struct snap {
	atomic_int refs;
	struct conf *conf;
	struct keyring *kr;
};

struct rcpt {
	char *arg;		/* the recipient exactly as the MTA gave it */
	char key[ADDR_TEXT_MAX];	/* the replay store's key: the tagged address, lowercase */
	char owner[ADDR_TEXT_MAX];	/* whose sent mail answers it: the mailbox, lowercase */
	struct addr plain;
	bool rewrite, count, legacy;
	bool reserved;			/* its bounce is counted since RCPT (replay_reserve) */
	uint32_t counted;		/* reserved: the tag's count with it */
	long expiry_day;
	bool eom;			/* decided at end of message (policy_decide_eom) */
	bool judged;			/* judged is another spelling than arg */
	struct addr judged_as;
	struct policy_rcpt r;		/* eom: what it is */
	struct policy_decision d;	/* eom: the RCPT-time answer, then the final one */
};

struct msg {
	bool active, bounce, outbound, sender_ok, rcpt_exempt, mark;
	struct addr sender;
	unsigned forged_headers;
	unsigned accepted;		/* recipients the MTA took (ours or not) */
	unsigned pending;		/* of them, recipients decided at end of message */
	struct rcpt *rcpts;
	size_t n, cap;
	struct msgclass *mc;		/* inbound with pending recipients: what it is */
	bool want_body;			/* the body may still tell mc something */
	bool have_msgid;		/* outbound: msgid holds its Message-ID, normalised */
	bool saw_msgid;			/* outbound: it has a Message-ID header, parsed or not */
	unsigned removed;		/* recipients removed at end of message */
	char msgid[MSGCLASS_ID_MAX + 1];
	char header[HEADER_MAX];	/* X-Backstop: each verdict with its recipient */
	char brief[HEADER_MAX];		/* the same without the recipients, for a message
					 * that goes to several (no copy names the others) */
};

struct conn {
	struct snap *snap;
	unsigned long noreply;	/* SMFIP_NR_* the MTA agreed to */
	bool can_skip;		/* the MTA takes SMFIS_SKIP from the body callback */
	sa_family_t family;
	unsigned char ip[16];
	bool have_ip;
	bool reply_addr;	/* put the recipient in reply texts: Sendmail does it itself */
	char client[320];	/* "host[ip]", as Postfix logs a client */
	struct msg msg;
};

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap *snap_current;
/* NULL while a configured store could not be opened: housekeeping retries, and until then
 * bounces that need it get OnInternalError. Set once, by one thread, and never freed early. */
static _Atomic(struct replay *) store;
static const char *conf_path;
static atomic_bool stopping;
/* when the store began to record sent mail (SentSince auto); 0 until known */
static _Atomic time_t sent_since;

static struct snap *
snap_get(void)
{
	struct snap *s;

	pthread_mutex_lock(&snap_lock);
	s = snap_current;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	return s;
}

static void
snap_put(struct snap *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	keyring_unref(s->kr);
	conf_free(s->conf);
	free(s);
}

/* snap_load - read the configuration and its key store; NULL with a message on failure */
static struct snap *
snap_load(const char *path, char *why, size_t whylen)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	if (conf_load(path, &s->conf, why, whylen) != 0 ||
	    keyring_load(s->conf->key_directory, daemon_user_uid(s->conf->user_id), &s->kr, why,
		whylen) != 0) {
		snap_put(s);
		return NULL;
	}
	return s;
}

static const char *
queue_id(SMFICTX *ctx)
{
	const char *qid = smfi_getsymval(ctx, macro_qid);

	return qid != NULL && *qid != '\0' ? qid : "NOQUEUE";
}

static sfsistat
reply_none(const struct conn *c, unsigned long flag)
{
	return (c->noreply & flag) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* msg_release - give back the bounces reserved at RCPT for recipients the message was not
 * delivered to (aborted, refused or deferred at end of data): they did not arrive */
static void
msg_release(struct msg *m)
{
	struct replay *r = atomic_load(&store);
	size_t i;
	int rc;

	for (i = 0; i < m->n; i++) {
		struct rcpt *t = &m->rcpts[i];

		if (!t->reserved || r == NULL)
			continue;
		t->reserved = false;
		if ((rc = replay_release(r, t->key, clock_now())) != 0)
			log_msg(LOG_WARNING, "to=%s: the bounce counted at RCPT could not be given "
			    "back (%s): the message was not accepted, yet the tag's count stays one "
			    "higher", t->arg, replay_strerror(rc));
		else
			log_msg(LOG_DEBUG, "to=%s: the bounce counted at RCPT given back: the "
			    "message was not accepted", t->arg);
	}
}

static void
msg_reset(struct msg *m)
{
	size_t i;

	msg_release(m);
	for (i = 0; i < m->n; i++)
		free(m->rcpts[i].arg);
	free(m->rcpts);
	msgclass_free(m->mc);
	memset(m, 0, sizeof(*m));
}

static struct conn *
conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
		c->snap = snap_get();
		smfi_setpriv(ctx, c);
	}
	return c;
}

/* conn_refresh - at each new message, trade the connection's snapshot for the current one */
static void
conn_refresh(struct conn *c)
{
	struct snap *s;

	pthread_mutex_lock(&snap_lock);
	s = snap_current == c->snap ? NULL : snap_current;
	if (s != NULL)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&snap_lock);
	if (s == NULL)
		return;
	snap_put(c->snap);
	c->snap = s;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	const unsigned long actions = SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT |
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	/* the headers tell what a message is and answers, and the body of a bounce may hold
	 * the returned original's: mlfi_body skips the rest as soon as the facts are in */
	const unsigned long skip = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA;
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH;
	struct conn *c = conn_get(ctx);

	(void)f2;
	(void)f3;
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if ((f0 & actions) != actions) {
		log_msg(LOG_ERR, "the MTA does not offer the milter actions backstop needs "
		    "(change sender, add/delete recipient, add/change header): it is too old");
		return SMFIS_REJECT;
	}
	*pf0 = actions;
	*pf1 = f1 & (skip | noreply | SMFIP_SKIP);
	*pf2 = 0;
	*pf3 = 0;
	c->noreply = *pf1 & noreply;
	c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
	return SMFIS_CONTINUE;
}

/* conn_client - "host[ip]" for the log lines, "host" when the MTA gave no address */
static void
conn_client(struct conn *c, const char *hostname)
{
	char ip[INET6_ADDRSTRLEN] = "";
	const char *h = hostname != NULL && hostname[0] != '\0' ? hostname : "unknown";

	if (c->have_ip && inet_ntop(c->family, c->ip, ip, sizeof(ip)) != NULL)
		snprintf(c->client, sizeof(c->client), "%.255s[%s]", h, ip);
	else
		snprintf(c->client, sizeof(c->client), "%.255s", h);
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn *c = conn_get(ctx);

	const char *v = smfi_getsymval(ctx, macro_version);

	(void)hostname;
	if (c == NULL)
		return SMFIS_TEMPFAIL;
	/* Postfix sends its name in "v" and quotes a milter's text as it is; Sendmail (no "v" by
	 * default, else a bare version number) writes "<addr>... " before it */
	c->reply_addr = v != NULL && strncmp(v, "Postfix", 7) == 0;
	c->have_ip = false;
	if (sa != NULL && sa->sa_family == AF_INET) {
		c->family = AF_INET;
		memcpy(c->ip, &((struct sockaddr_in *)(void *)sa)->sin_addr, 4);
		c->have_ip = true;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		c->family = AF_INET6;
		memcpy(c->ip, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, 16);
		c->have_ip = true;
	}
	conn_client(c, hostname);
	return reply_none(c, SMFIP_NR_CONN);
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	const struct conf *cf;
	struct msg *m;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	conn_refresh(c);
	cf = c->snap->conf;
	m = &c->msg;
	msg_reset(m);
	m->active = true;
	m->outbound = policy_outbound(cf, c->family, c->have_ip ? c->ip : NULL,
	    smfi_getsymval(ctx, macro_auth), smfi_getsymval(ctx, macro_daemon));
	/* Postfix hands sendmail(1)'s null sender to non_smtpd_milters as "", not "<>" */
	m->sender_ok = argv[0] != NULL && (argv[0][0] == '\0' ?
	    addr_parse(&m->sender, "<>", 2) : addr_parse(&m->sender, argv[0], strlen(argv[0]))) ==
	    ADDR_OK;
	m->bounce = m->sender_ok && policy_bounce(cf, &m->sender);
	if (!m->sender_ok)
		log_msg(LOG_INFO, "%s: sender %s does not parse: not signed, not a bounce",
		    queue_id(ctx), argv[0] != NULL ? argv[0] : "(none)");
	return reply_none(c, SMFIP_NR_MAIL);
}

/* replay_key - the store's key for a tagged recipient: the address in lowercase */
static void
replay_key(const struct addr *rcpt, char *key, size_t size)
{
	addr_format(rcpt, key, size);
	addr_lowercase(key, key, strlen(key));
}

/* header_add - append "; entry" to an X-Backstop text, or "; ..." once it is full */
static void
header_add(char *h, const char *entry)
{
	size_t len = strlen(h), need = strlen(entry) + (len ? 2 : 0);

	if (len >= 5 && strcmp(h + len - 5, "; ...") == 0)
		return;
	if (len + need + 6 > HEADER_MAX) {
		snprintf(h + len, HEADER_MAX - len, "%s...", len ? "; " : "");
		return;
	}
	snprintf(h + len, HEADER_MAX - len, "%s%s", len ? "; " : "", entry);
}

/* msg_mark - add a recipient's verdict to the X-Backstop header (ref: NULL, or the
 * reference that decided it) */
static void
msg_mark(struct msg *m, const char *verdict, const char *arg, const char *ref)
{
	char entry[ADDR_TEXT_MAX + 128];

	m->mark = true;
	snprintf(entry, sizeof(entry), "%s %s%s%s", verdict, arg, ref != NULL ? " ref=" : "",
	    ref != NULL ? ref : "");
	header_add(m->header, entry);
	snprintf(entry, sizeof(entry), "%s%s%s", verdict, ref != NULL ? " ref=" : "",
	    ref != NULL ? ref : "");
	header_add(m->brief, entry);
}

/* msg_note - remember for EOM what this recipient needs, and its verdict for the header;
 * judged: the address it was judged as, or NULL */
static int
msg_note(struct msg *m, const char *arg, const char *key, const struct addr *judged,
    const struct policy_rcpt *r, const struct policy_decision *d)
{
	struct rcpt *t;

	if (d->mark && !d->eom)
		msg_mark(m, d->verdict, arg, NULL);
	if (!d->rewrite && !d->count && !d->eom)
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct rcpt *v = realloc(m->rcpts, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		m->rcpts = v;
		m->cap = cap;
	}
	t = &m->rcpts[m->n];
	t->arg = strdup(arg);
	if (t->arg == NULL)
		return -1;
	snprintf(t->key, sizeof(t->key), "%s", key);
	t->plain = r->plain;
	t->rewrite = d->rewrite;
	t->count = d->count;
	t->legacy = r->legacy;
	t->expiry_day = r->expiry_day;
	t->eom = d->eom;
	t->reserved = false;	/* rcpt_hold sets it once the reservation is kept */
	t->counted = 0;
	t->judged = judged != NULL;
	if (judged != NULL)
		t->judged_as = *judged;
	t->r = *r;
	t->d = *d;
	t->owner[0] = '\0';
	if (r->has_plain || judged != NULL)
		replay_key(r->has_plain ? &r->plain : judged, t->owner, sizeof(t->owner));
	m->pending += d->eom;
	m->n++;
	return 0;
}

/* redis_away - ReplayRedisFallback open or local while Redis does not answer: say what went
 * without it, at most once a minute (each message would otherwise log it) */
static void
redis_away(const char *what)
{
	static _Atomic time_t last = -60;
	static atomic_uint quiet;
	time_t now = clock_monotonic_s(), was = atomic_load(&last);
	unsigned n;

	if (now - was < 60 || !atomic_compare_exchange_strong(&last, &was, now)) {
		atomic_fetch_add(&quiet, 1);
		return;
	}
	n = atomic_exchange(&quiet, 0);
	log_msg(LOG_WARNING, "Redis (ReplayRedis) did not answer: %s (ReplayRedisFallback); "
	    "%u more like it in the last minute", what, n);
}

/* redis_fallback - does this store error go on without Redis (the count's or the sent
 * record's fallback) rather than get OnInternalError? */
static bool
redis_fallback(const struct conf *cf, int rc)
{
	return rc == REPLAY_EUNAVAIL && cf->replay_redis_fallback != CONF_FALLBACK_TEMPFAIL;
}

/* rcpt_reserve - count a bounce to this valid tag now, if its count is below the limit, so
 * that concurrent sessions (here, or on the other hosts sharing Redis) cannot pass it; what
 * the store said goes to out, *granted when this bounce is now counted (*after: the count) */
static void
rcpt_reserve(const struct conf *cf, const char *key, long expiry_day,
    struct policy_replay *out, const char **err, bool *granted, uint32_t *after)
{
	struct replay *r = atomic_load(&store);
	int rc;

	out->state = POLICY_REPLAY_OFF;
	out->count = 0;
	*granted = false;
	if (r == NULL) {
		out->state = POLICY_REPLAY_ERROR;
		*err = "the replay store is not open (see the error logged at start)";
		return;
	}
	if (!replay_enabled(r))
		return;
	rc = replay_reserve(r, key, clock_now(), expiry_day, cf->max_bounces_per_tag, after,
	    granted);
	if (redis_fallback(cf, rc)) {
		redis_away("bounces to valid tags accepted uncounted");
		return;	/* open: the count is off, the tag is still checked */
	}
	if (rc != 0) {
		out->state = POLICY_REPLAY_ERROR;
		*err = replay_strerror(rc);
		return;
	}
	if (replay_fell_back(r))
		redis_away("bounces to valid tags counted in ReplayDatabase, added to Redis later");
	out->state = POLICY_REPLAY_COUNT;
	out->count = *granted ? *after - 1 : *after;	/* the count before this bounce */
}

/* rcpt_hold - keep a granted reservation for the recipient just noted, or give it back when
 * the decision does not count this bounce; false when it could not be kept */
static bool
rcpt_hold(struct msg *m, const char *key, const struct policy_decision *d, bool noted,
    uint32_t after)
{
	struct replay *r = atomic_load(&store);

	if (d->action == POLICY_ACCEPT && d->count && noted && m->n > 0 &&
	    strcmp(m->rcpts[m->n - 1].key, key) == 0) {
		m->rcpts[m->n - 1].reserved = true;
		m->rcpts[m->n - 1].counted = after;
		return true;
	}
	if (r != NULL && replay_release(r, key, clock_now()) != 0)
		return false;
	return true;
}

/* reply_escape - text with each % doubled: libmilter's reply text is a format, and a single %
 * ("alice%example.com@localhost") would be dropped or void the reply */
static void
reply_escape(const char *text, char *out, size_t size)
{
	size_t o = 0;

	for (; *text != '\0' && o + 2 < size; text++) {
		if (*text == '%')
			out[o++] = '%';
		out[o++] = *text;
	}
	out[o] = '\0';
}

static sfsistat
rcpt_answer(SMFICTX *ctx, const struct conn *c, const char *arg,
    const struct policy_decision *d)
{
	char raw[512], text[1024];

	if (d->action == POLICY_ACCEPT)
		return SMFIS_CONTINUE;
	if (c->reply_addr)
		snprintf(raw, sizeof(raw), "%s: %s", arg, d->why);
	else
		snprintf(raw, sizeof(raw), "%s", d->why);
	reply_escape(raw, text, sizeof(text));
	if (d->action == POLICY_REJECT) {
		smfi_setreply(ctx, code_reject, xcode_reject, text);
		return SMFIS_REJECT;
	}
	smfi_setreply(ctx, code_tempfail, xcode_tempfail, text);
	return SMFIS_TEMPFAIL;
}

/* rcpt_log - the one line that says what happened to this recipient and why, and which
 * address it was judged as when the MTA's rewriting makes that another (judged may be NULL) */
static void
rcpt_log(SMFICTX *ctx, const struct conn *c, const char *arg, const struct policy_decision *d,
    const char *store_err, const struct addr *judged, const char *ref)
{
	const struct msg *m = &c->msg;
	char from[ADDR_TEXT_MAX] = "", as[ADDR_TEXT_MAX] = "";
	size_t len = strlen(arg);
	int prio = d->action != POLICY_ACCEPT ? LOG_NOTICE :
	    d->eom || (!m->bounce && !d->mark) ? LOG_DEBUG : LOG_INFO;

	if (m->sender_ok)
		addr_format(&m->sender, from, sizeof(from));
	if (judged != NULL)
		addr_format(judged, as, sizeof(as));
	if (len >= 2 && arg[0] == '<' && strlen(as) == len - 2 &&
	    strncmp(arg + 1, as, len - 2) == 0)
		as[0] = '\0';	/* judged as written: nothing to add */
	log_msg(prio,
	    "%s: to=%s from=<%s> client=%s bounce=%s verdict=%s action=%s%s: %s%s%s%s%s%s%s%s",
	    queue_id(ctx), arg, from, c->client, m->bounce ? "yes" : "no", d->verdict,
	    d->eom ? "pending" : policy_action_name(d->action),
	    d->dry_run ? " (DryRun: would have refused)" : "", d->why, store_err ? ": " : "",
	    store_err ? store_err : "", as[0] ? "; judged as <" : "", as, as[0] ? ">" : "",
	    ref != NULL ? "; " : "", ref != NULL ? ref : "");
}

/* rcpt_mta - what the MTA says about this recipient and itself */
static void
rcpt_mta(SMFICTX *ctx, struct policy_mta *m)
{
	m->myhostname = smfi_getsymval(ctx, macro_myhostname);
	m->self_addr = smfi_getsymval(ctx, macro_daemon_addr);
	if (m->self_addr == NULL)
		m->self_addr = smfi_getsymval(ctx, macro_if_addr);
	m->rcpt_addr = smfi_getsymval(ctx, macro_rcpt_addr);
	m->rcpt_mailer = smfi_getsymval(ctx, macro_rcpt_mailer);
	m->rcpt_host = smfi_getsymval(ctx, macro_rcpt_host);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_get(ctx);
	struct addr rcpt;
	struct policy_rcpt r;
	struct policy_replay rp = { POLICY_REPLAY_OFF, 0 };
	struct policy_decision d;
	struct policy_mta mta;
	const char *store_err = NULL;
	char key[ADDR_TEXT_MAX] = "";
	time_t now = clock_now();
	uint32_t after = 0;
	bool judged, granted = false, noted;

	if (c == NULL || !c->msg.active || argv[0] == NULL)
		return SMFIS_CONTINUE;
	if (c->msg.outbound) {
		if (policy_rcpt_parse(c->snap->conf, argv[0], &rcpt) == ADDR_OK &&
		    policy_exempt_rcpt(c->snap->conf, &rcpt))
			c->msg.rcpt_exempt = true;
		c->msg.accepted++;
		return SMFIS_CONTINUE;
	}
	/* the MTA answers for syntax, but a bounce it still delivers to one of our domains
	 * must not pass unjudged: "x..y@example.com", "alice%example.com@localhost" */
	rcpt_mta(ctx, &mta);
	judged = policy_rcpt_resolve(c->snap->conf, c->snap->kr, now, argv[0], &mta, &rcpt, &r);
	if (policy_needs_replay(c->snap->conf, c->msg.bounce, &r)) {
		replay_key(&rcpt, key, sizeof(key));
		rcpt_reserve(c->snap->conf, key, r.expiry_day, &rp, &store_err, &granted, &after);
	}
	policy_decide(c->snap->conf, keyring_created(c->snap->kr), now, c->msg.bounce, &r, &rp,
	    &d);
	if (r.cls != POLICY_NOT_OURS || store_err != NULL)
		rcpt_log(ctx, c, argv[0], &d, store_err, judged ? &rcpt : NULL, NULL);
	noted = d.action == POLICY_ACCEPT &&
	    msg_note(&c->msg, argv[0], key, judged ? &rcpt : NULL, &r, &d) == 0;
	if (granted && !rcpt_hold(&c->msg, key, &d, noted, after))
		return SMFIS_TEMPFAIL;
	if (d.action == POLICY_ACCEPT && !noted)
		return SMFIS_TEMPFAIL;
	if (d.action == POLICY_ACCEPT)
		c->msg.accepted++;
	return rcpt_answer(ctx, c, argv[0], &d);
}

/* msg_classify - hand an inbound header to the classifier, made at the first one; false
 * when it cannot be made (the pending recipients then get OnInternalError) */
static bool
msg_classify(struct msg *m, const struct conf *cf, const char *name, const char *value)
{
	if (m->mc == NULL && msgclass_new(cf->bounce_scan_limit, &m->mc) != MSGCLASS_OK)
		return false;
	msgclass_header(m->mc, name, value);
	return true;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_get(ctx);
	struct msg *m;

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	m = &c->msg;
	if (strcasecmp(name, header_name) == 0)
		m->forged_headers++;
	if (m->outbound && !m->have_msgid && strcasecmp(name, header_msgid) == 0) {
		m->saw_msgid = true;
		m->have_msgid = msgclass_msgid(value, strlen(value), m->msgid,
		    sizeof(m->msgid)) > 0;
	}
	if (!m->outbound && m->pending > 0 && !msg_classify(m, c->snap->conf, name, value))
		return SMFIS_TEMPFAIL;
	return reply_none(c, SMFIP_NR_HDR);
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	if (c->msg.pending > 0 && c->msg.mc == NULL &&
	    msgclass_new(c->snap->conf->bounce_scan_limit, &c->msg.mc) != MSGCLASS_OK)
		return SMFIS_TEMPFAIL;
	c->msg.want_body = c->msg.mc != NULL && msgclass_eoh(c->msg.mc);
	return reply_none(c, SMFIP_NR_EOH);
}

/* mlfi_body - only a message whose references may be in its body is read, and only until
 * they are found or BounceScanLimit is reached */
static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_get(ctx);

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	if (c->msg.want_body && msgclass_body(c->msg.mc, chunk, len))
		c->msg.want_body = false;
	return !c->msg.want_body && c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
}

static void
eom_sign(SMFICTX *ctx, struct conn *c)
{
	struct msg *m = &c->msg;
	struct addr tagged;
	char from[ADDR_TEXT_MAX], to[ADDR_TEXT_MAX + 2];
	enum policy_sign s;

	if (!m->sender_ok || m->bounce)
		return;
	s = policy_sign(c->snap->conf, c->snap->kr, clock_now(), &m->sender, m->rcpt_exempt,
	    &tagged);
	addr_format(&m->sender, from, sizeof(from));
	if (s == POLICY_SIGN_NOT_OURS) {
		/* outbound mail from a foreign sender (a list, a forward): normal, but an admin
		 * who forgot a domain in Domains looks for this line */
		log_msg(LOG_DEBUG, "%s: from=<%s> not signed: the sender's domain is not in Domains",
		    queue_id(ctx), from);
		return;
	}
	if (s != POLICY_SIGN_OK) {
		log_msg(s == POLICY_SIGN_NOKEY ? LOG_ERR : LOG_INFO, "%s: from=<%s> not signed: %s",
		    queue_id(ctx), from, policy_sign_name(s));
		return;
	}
	to[0] = '<';
	addr_format(&tagged, to + 1, sizeof(to) - 2);
	strcat(to, ">");
	if (smfi_chgfrom(ctx, to, NULL) != MI_SUCCESS) {
		log_msg(LOG_ERR, "%s: from=<%s> not signed: the MTA refused the sender change",
		    queue_id(ctx), from);
		return;
	}
	log_msg(LOG_INFO, "%s: from=<%s> signed as %s", queue_id(ctx), from, to);
}

/* eom_count - add this bounce to its tag's count; -1 (logged) if the store could not */
static int
eom_count(SMFICTX *ctx, const struct rcpt *t, const char **err)
{
	struct replay *r = atomic_load(&store);
	uint32_t count = 0;
	int rc;

	if (r == NULL) {
		*err = "the replay store is not open";
		return -1;
	}
	rc = replay_record(r, t->key, clock_now(), t->expiry_day, &count);
	if (rc != 0) {
		*err = replay_strerror(rc);
		return -1;
	}
	log_msg(LOG_DEBUG, "%s: to=%s: bounce %u to this tag", queue_id(ctx), t->arg, count);
	return 0;
}

/* eom_store_failed - a message the store failed for gets OnInternalError's answer: a bounce
 * accepted uncounted would let a harvested tag past the replay limit, and mail sent
 * unrecorded would have its replies refused. what: "to=<x>: replay count not recorded". */
static sfsistat
eom_store_failed(SMFICTX *ctx, const struct conn *c, const char *what, const char *err,
    const char *unjudged)
{
	static char code_err[] = "451", xcode_err[] = "4.3.0";
	static char code_perm[] = "550", xcode_perm[] = "5.3.0";
	static char text_bounce[] = "the replay store failed: bounce not accepted";
	static char text_mail[] = "the replay store failed: message not accepted";
	char *text = c->msg.outbound ? text_mail : text_bounce;
	struct policy_decision d;

	memset(&d, 0, sizeof(d));	/* policy_apply sets only what the action needs */
	policy_internal_error(c->snap->conf, "the replay store failed", &d);
	log_msg(LOG_ERR, "%s: %s: %s: message %s%s (OnInternalError)", queue_id(ctx), what, err,
	    d.action == POLICY_ACCEPT ? unjudged : d.action == POLICY_REJECT ?
	    "rejected" : "temporarily refused", d.dry_run ? " (DryRun: would have refused)" : "");
	if (d.action == POLICY_REJECT) {
		smfi_setreply(ctx, code_perm, xcode_perm, text);
		return SMFIS_REJECT;
	}
	if (d.action == POLICY_TEMPFAIL) {
		smfi_setreply(ctx, code_err, xcode_err, text);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

/* eom_msgid - the Message-ID the outbound message leaves with: its own, or one added now
 * (false when there is none and the MTA refused the new header) */
static bool
eom_msgid(SMFICTX *ctx, struct msg *m)
{
	char made[MSGCLASS_ID_MAX + 3];
	const char *host = smfi_getsymval(ctx, macro_myhostname);

	if (m->have_msgid)
		return true;
	if (m->saw_msgid) {	/* a second one would break RFC 5322's one Message-ID */
		log_msg(LOG_WARNING, "%s: the message's Message-ID does not parse: not recorded, so "
		    "replies to it will be unknown", queue_id(ctx));
		return false;
	}
	msgclass_msgid_make(host != NULL ? host : "localhost", made, sizeof(made));
	if (msgclass_msgid(made, strlen(made), m->msgid, sizeof(m->msgid)) <= 0 ||
	    smfi_addheader(ctx, header_msgid, made) != MI_SUCCESS) {
		log_msg(LOG_WARNING, "%s: the message has no Message-ID and the MTA refused the "
		    "one made for it: not recorded, so replies to it will be unknown", queue_id(ctx));
		return false;
	}
	log_msg(LOG_INFO, "%s: the message had no Message-ID: added %s", queue_id(ctx), made);
	return m->have_msgid = true;
}

/* sent_since_learn - once this process has recorded a message, learn when the store began
 * to record (SentSince auto): the time kept in the store, set by its first record ever. A
 * host that never records (an inbound-only MX) never learns it, so there every reference
 * the record does not know counts as absent rather than unknown. */
static void
sent_since_learn(struct replay *r, time_t now)
{
	time_t since = 0;
	int rc;

	if (atomic_load(&sent_since) != 0)
		return;
	if ((rc = replay_sent_since(r, now, &since)) != 0) {
		log_msg(LOG_ERR, "replay store: cannot read when the sent record began: %s",
		    replay_strerror(rc));
		return;
	}
	atomic_store(&sent_since, since);
}

/* eom_record - remember an outbound message, so that the replies, receipts and bounces it
 * gets are known for SentRetention days */
static sfsistat
eom_record(SMFICTX *ctx, struct conn *c)
{
	const struct conf *cf = c->snap->conf;
	struct msg *m = &c->msg;
	struct replay *r = atomic_load(&store);
	char from[ADDR_TEXT_MAX], what[ADDR_TEXT_MAX + 64];
	time_t now = clock_now();
	int rc;

	if (!cf->record_sent || !m->sender_ok || m->bounce || (r != NULL && !replay_enabled(r)))
		return SMFIS_CONTINUE;
	if (!eom_msgid(ctx, m))
		return SMFIS_CONTINUE;
	replay_key(&m->sender, from, sizeof(from));
	snprintf(what, sizeof(what), "from=<%s>: sent message not recorded", from);
	if (r == NULL)
		return eom_store_failed(ctx, c, what, "the replay store is not open",
		    "sent unrecorded");
	rc = replay_sent_record(r, m->msgid, from, m->accepted, now,
	    clock_day(now) + (long)cf->sent_retention);
	if (redis_fallback(cf, rc)) {
		redis_away("outbound mail sent unrecorded, so replies to it will be unknown");
		return SMFIS_CONTINUE;
	}
	if (rc != 0)
		return eom_store_failed(ctx, c, what, replay_strerror(rc), "sent unrecorded");
	log_msg(LOG_DEBUG, "%s: from=<%s> message-id=<%s> recorded (%u recipient(s))",
	    queue_id(ctx), from, m->msgid, m->accepted);
	sent_since_learn(r, now);
	return SMFIS_CONTINUE;
}

/* eom_refs - what the sent record says of the message's references for recipient t; *known
 * points to the reference it knows (POLICY_REF_KNOWN), *err says why a->error was set */
static void
eom_refs(const struct conn *c, const struct rcpt *t, time_t now, struct policy_answer *a,
    const char **known, const char **err, bool *window)
{
	const struct msgclass_ref *refs;
	struct replay *r = atomic_load(&store);
	struct replay_sent e;
	size_t i, n = msgclass_refs(c->msg.mc, &refs);
	bool ours = false;
	int rc;

	for (i = 0; i < n; i++) {
		if (r == NULL) {
			a->error = true;
			*err = "the replay store is not open";
			return;
		}
		rc = replay_sent_get(r, refs[i].id, now, &e);
		if (rc == REPLAY_EDISABLED)
			return;	/* no record to ask: every reference is absent */
		if (redis_fallback(c->snap->conf, rc)) {
			redis_away("references not looked up: unknown ones counted as absent");
			*window = true;	/* as on a host whose record vouches for nothing yet */
			a->source = refs[0].source;
			return;
		}
		if (rc != 0 && rc != REPLAY_ENOTFOUND) {
			a->error = true;
			*err = replay_strerror(rc);
			return;
		}
		if (rc == 0 && strcmp(e.sender, t->owner) == 0) {
			a->ref = POLICY_REF_KNOWN;
			a->source = refs[i].source;
			a->answers = e.answers;
			a->rcpts = e.rcpts;
			*known = refs[i].id;
			return;
		}
		/* sent by another of our senders (a shared mailbox, Send-As, a ticket system
		 * writing as sales@): not proof for this recipient, nor forgery */
		ours = ours || rc == 0;
	}
	if (n == 0 || ours)
		return;
	if (policy_ref_counts(c->snap->conf, atomic_load(&sent_since), now)) {
		a->ref = POLICY_REF_UNKNOWN;
		a->source = refs[0].source;
	} else {
		*window = true;	/* unknown, but the record may predate nothing yet */
		a->source = refs[0].source;
	}
}

/* eom_ref_text - "kind=auto-reply (auto-submitted) ref=in-reply-to:known" for the log;
 * window: an unknown reference counted as absent (SentSince + SentRetention not yet past) */
static void
eom_ref_text(const struct msgclass *mc, const struct policy_answer *a, bool window, char *out,
    size_t size)
{
	static const char *const ref[] = { "absent", "unknown", "known" };
	const char *marker = msgclass_marker(mc);
	bool named = a->ref != POLICY_REF_ABSENT || window;

	snprintf(out, size, "kind=%s%s%s%s ref=%s%s%s%s", msgclass_kind_name(a->kind),
	    marker[0] != '\0' ? " (" : "", marker, marker[0] != '\0' ? ")" : "",
	    named ? msgclass_source_name(a->source) : "", named ? ":" : "", ref[a->ref],
	    window ? " (unknown, counted as absent until SentSince + SentRetention)" : "");
}

/* eom_judge - the final decision for one pending recipient, logged and marked */
static void
eom_judge(SMFICTX *ctx, struct conn *c, struct rcpt *t, time_t now)
{
	struct msg *m = &c->msg;
	struct policy_answer a = { msgclass_kind(m->mc), POLICY_REF_ABSENT, MSGCLASS_IN_REPLY_TO,
		0, false, 0, strcmp(msgclass_marker(m->mc), "auto-generated") == 0 };
	const char *known = NULL, *err = NULL;
	char text[200], ref[64];
	uint32_t count = 0;
	bool window = false;
	int rc;

	eom_refs(c, t, now, &a, &known, &err, &window);
	policy_decide_eom(c->snap->conf, keyring_created(c->snap->kr), now, m->bounce, &t->r, &a,
	    &t->d);
	if (t->d.action == POLICY_ACCEPT && t->d.answer && known != NULL &&
	    (rc = replay_sent_answer(atomic_load(&store), known, now, &count)) != 0) {
		err = replay_strerror(rc);
		if (redis_fallback(c->snap->conf, rc))
			redis_away("answers accepted uncounted");
		else
			policy_internal_error(c->snap->conf, "the replay store failed", &t->d);
	}
	t->d.eom = false;
	t->rewrite = t->d.action == POLICY_ACCEPT && t->d.rewrite;
	t->count = t->d.action == POLICY_ACCEPT && t->d.count;
	eom_ref_text(m->mc, &a, window, text, sizeof(text));
	rcpt_log(ctx, c, t->arg, &t->d, err, t->judged ? &t->judged_as : NULL, text);
	/* a reference that decided nothing (mail with none, to a valid tag) goes unsaid */
	snprintf(ref, sizeof(ref), "%s", strstr(text, "ref=") + 4);
	ref[strcspn(ref, " ")] = '\0';
	if (t->d.mark)
		msg_mark(m, t->d.verdict, t->arg, a.kind == MSGCLASS_NONE &&
		    a.ref == POLICY_REF_ABSENT ? NULL : ref);
}

/* eom_keep_refused - a message with a sender whose recipients are refused only in part:
 * removing some at end of data would tell the sender nothing (the others' copies are
 * accepted), so they are kept, and marked */
static void
eom_keep_refused(SMFICTX *ctx, struct msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct rcpt *t = &m->rcpts[i];

		if (!t->eom || t->d.action != POLICY_REJECT)
			continue;
		t->d.action = POLICY_ACCEPT;
		t->d.mark = true;
		m->mark = true;
		log_msg(LOG_NOTICE, "%s: to=%s kept and marked, not removed: the message has a "
		    "sender and other recipients it was accepted for, and a removal at end of data "
		    "would tell the sender nothing", queue_id(ctx), t->arg);
	}
}

/* eom_decide - the end-of-message decisions: refuse the message when every recipient is
 * refused, else remove the refused ones; a temporary failure defers the whole message */
static sfsistat
eom_decide(SMFICTX *ctx, struct conn *c)
{
	static char text_some[] = "some recipients were refused";
	struct msg *m = &c->msg;
	const struct rcpt *first = NULL;
	unsigned refused = 0, deferred = 0;
	time_t now = clock_now();
	size_t i;

	if (m->mc == NULL && msgclass_new(c->snap->conf->bounce_scan_limit, &m->mc) != 0)
		return SMFIS_TEMPFAIL;
	msgclass_finish(m->mc);
	for (i = 0; i < m->n; i++) {
		struct rcpt *t = &m->rcpts[i];

		if (!t->eom)
			continue;
		eom_judge(ctx, c, t, now);
		refused += t->d.action == POLICY_REJECT;
		deferred += t->d.action == POLICY_TEMPFAIL;
		if (t->d.action != POLICY_ACCEPT && (first == NULL ||
		    (first->d.action == POLICY_REJECT && t->d.action == POLICY_TEMPFAIL)))
			first = t;
	}
	if (first == NULL)
		return SMFIS_CONTINUE;
	if (deferred > 0 || refused == m->accepted) {
		log_msg(LOG_NOTICE, "%s: message %s: %s", queue_id(ctx), deferred > 0 ?
		    "temporarily refused" : "refused: every recipient was refused", first->d.why);
		return rcpt_answer(ctx, c, first->arg, &first->d);
	}
	if (!m->bounce) {
		eom_keep_refused(ctx, m);
		return SMFIS_CONTINUE;
	}
	for (i = 0; i < m->n; i++) {
		const struct rcpt *t = &m->rcpts[i];

		if (!t->eom || t->d.action != POLICY_REJECT)
			continue;
		if (smfi_delrcpt(ctx, t->arg) != MI_SUCCESS) {
			log_msg(LOG_ERR, "%s: to=%s: the MTA refused to remove it: message "
			    "temporarily refused", queue_id(ctx), t->arg);
			smfi_setreply(ctx, code_tempfail, xcode_tempfail, text_some);
			return SMFIS_TEMPFAIL;
		}
		log_msg(LOG_INFO, "%s: to=%s removed from the message", queue_id(ctx), t->arg);
		m->removed++;
	}
	return SMFIS_CONTINUE;
}

/* eom_rewrite - swap the tagged recipient for the plain one; -1 if the MTA refused. Delete
 * first: Sendmail's delrcpt removes every recipient that resolves like the one named, which
 * after an add would include the plain one. */
static int
eom_rewrite(SMFICTX *ctx, const struct rcpt *t)
{
	char plain[ADDR_TEXT_MAX + 2];

	plain[0] = '<';
	addr_format(&t->plain, plain + 1, sizeof(plain) - 2);
	strcat(plain, ">");
	if (smfi_delrcpt(ctx, t->arg) != MI_SUCCESS || smfi_addrcpt(ctx, plain) != MI_SUCCESS) {
		log_msg(LOG_ERR, "%s: to=%s: the MTA refused to replace it with %s: message "
		    "temporarily refused, so that nothing is lost", queue_id(ctx), t->arg, plain);
		return -1;
	}
	log_msg(LOG_INFO, "%s: to=%s rewritten to %s%s", queue_id(ctx), t->arg, plain,
	    t->legacy ? " (legacy postsrsd hash, SRSLegacySecrets)" : "");
	return 0;
}

/* eom_keep_reserved - the message is accepted: the bounces counted at RCPT stay counted for
 * the recipients it goes to; those refused at end of data are given back by msg_reset */
static void
eom_keep_reserved(SMFICTX *ctx, struct msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		struct rcpt *t = &m->rcpts[i];

		if (!t->reserved || !t->count)
			continue;
		t->reserved = false;
		log_msg(LOG_DEBUG, "%s: to=%s: bounce %u to this tag", queue_id(ctx), t->arg,
		    t->counted);
	}
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	struct msg *m;
	sfsistat st;
	size_t i;

	if (c == NULL || !c->msg.active)
		return SMFIS_CONTINUE;
	m = &c->msg;
	if (m->outbound) {
		eom_sign(ctx, c);
		if ((st = eom_record(ctx, c)) != SMFIS_CONTINUE) {
			msg_reset(m);
			return st;
		}
	}
	if (m->pending > 0 && (st = eom_decide(ctx, c)) != SMFIS_CONTINUE) {
		msg_reset(m);
		return st;
	}
	for (i = 0; i < m->n; i++) {
		if (m->rcpts[i].rewrite && eom_rewrite(ctx, &m->rcpts[i]) != 0) {
			msg_reset(m);
			return SMFIS_TEMPFAIL;	/* before counting: the retry will count */
		}
	}
	for (i = 0; i < m->n; i++) {
		const char *err = NULL;
		char what[ADDR_TEXT_MAX + 64];

		if (!m->rcpts[i].count || m->rcpts[i].reserved ||
		    eom_count(ctx, &m->rcpts[i], &err) == 0)
			continue;
		snprintf(what, sizeof(what), "to=%s: replay count not recorded", m->rcpts[i].arg);
		if ((st = eom_store_failed(ctx, c, what, err, "accepted uncounted")) !=
		    SMFIS_CONTINUE) {
			msg_reset(m);
			return st;
		}
	}
	eom_keep_reserved(ctx, m);
	for (i = m->forged_headers; i > 0; i--)
		smfi_chgheader(ctx, header_name, (int)i, NULL);
	if (m->forged_headers > 0)
		log_msg(LOG_INFO, "%s: removed %u incoming %s header(s)", queue_id(ctx),
		    m->forged_headers, header_name);
	if (m->mark)
		smfi_addheader(ctx, header_name, m->accepted - m->removed > 1 ? m->brief : m->header);
	msg_reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_reset(&c->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	msg_reset(&c->msg);
	snap_put(c->snap);
	free(c);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_ADDHDRS |
	    SMFIF_CHGHDRS,
	.xxfi_connect = mlfi_connect,
	.xxfi_envfrom = mlfi_envfrom,
	.xxfi_envrcpt = mlfi_envrcpt,
	.xxfi_header = mlfi_header,
	.xxfi_eoh = mlfi_eoh,
	.xxfi_body = mlfi_body,
	.xxfi_eom = mlfi_eom,
	.xxfi_abort = mlfi_abort,
	.xxfi_close = mlfi_close,
	.xxfi_negotiate = mlfi_negotiate,
};

/* reload_warn_fixed - name the settings a running milter cannot change */
static void
reload_warn_fixed(const struct conf *old, const struct conf *new)
{
	const unsigned fixed = CONF_FIXED_SOCKET | CONF_FIXED_USER | CONF_FIXED_PID_FILE |
	    CONF_FIXED_STORE | CONF_FIXED_BACKGROUND | CONF_FIXED_LOGGING;

	log_restart_needed(conf_fixed_changes(old, new, fixed), new->path);
}

/* reload - swap in a new snapshot; a failure keeps the old one and says why */
static void
reload(const char *trigger)
{
	char why[512];
	struct snap *s = snap_load(conf_path, why, sizeof(why)), *old;

	if (s == NULL) {
		log_msg(LOG_ERR, "reload (%s) failed, keeping the running configuration and keys: %s",
		    trigger, why);
		return;
	}
	pthread_mutex_lock(&snap_lock);
	old = snap_current;
	snap_current = s;
	pthread_mutex_unlock(&snap_lock);
	reload_warn_fixed(old->conf, s->conf);
	log_msg(LOG_NOTICE, "reloaded %s (%s): %d key(s), signing slot %d", conf_path, trigger,
	    keyring_count(s->kr), keyring_signer(s->kr, clock_now()));
	snap_put(old);
}

/* store_name - "/var/lib/backstop", or "redis unix:/run/redis.sock (ReplayRedisFallback
 * local in DIR)", for the log */
static void
store_name(const struct conf *cf, char *out, size_t size)
{
	bool local = cf->replay_redis_fallback == CONF_FALLBACK_LOCAL &&
	    cf->replay_database != NULL;

	if (cf->replay_redis == NULL)
		snprintf(out, size, "%s", cf->replay_database != NULL ? cf->replay_database : "off");
	else
		snprintf(out, size, "redis %s (ReplayRedisFallback %s%s%s)", cf->replay_redis,
		    cf->replay_redis_fallback == CONF_FALLBACK_LOCAL ? "local" :
		    cf->replay_redis_fallback == CONF_FALLBACK_OPEN ? "open" : "tempfail",
		    local ? " in " : "", local ? cf->replay_database : "");
}

/* store_open - open the configured replay store; on failure say so at prio, with the fix,
 * and leave store NULL (bounces to valid tags then get OnInternalError). A Redis that does
 * not answer yet is no failure: ReplayRedisFallback decides until it does. */
static void
store_open(const struct conf *cf, int prio)
{
	struct replay *r = NULL;
	struct replay_options o;
	char why[1024], name[1024];
	int rc;

	conf_replay_options(cf, STORE_REDIS_POOL, &o);
	why[0] = '\0';
	rc = replay_open_opts(&o, &r, why, sizeof(why));
	store_name(cf, name, sizeof(name));
	if (rc != 0) {
		log_msg(prio, "replay store unavailable (%s): %s; until it opens, bounces to valid "
		    "tags, replies whose reference must be looked up%s get OnInternalError and other "
		    "mail flows; once it is fixed, send SIGUSR1 (or wait: it is retried every %d s)",
		    replay_strerror(rc), why[0] != '\0' ? why : name,
		    cf->record_sent ? " and outbound mail (RecordSent yes)" : "", STORE_RETRY);
		return;
	}
	atomic_store(&store, r);
	if (why[0] != '\0')
		log_msg(LOG_WARNING, "replay store %s: %s; until it answers, ReplayRedisFallback "
		    "decides", name, why);
	if (prio != LOG_ERR)
		log_msg(LOG_NOTICE, "replay store %s opened", name);
}

/* watch_follow - after a reload to another KeyDirectory, watch that one instead (only the
 * housekeeping thread changes snap_current, so reading it here needs no lock) */
static void
watch_follow(struct keywatch **w, char **watched, time_t now)
{
	const char *dir = snap_current->conf->key_directory;
	char *copy;

	if (*watched != NULL && strcmp(*watched, dir) == 0)
		return;
	if ((copy = strdup(dir)) == NULL)
		return;	/* out of memory: keep the old watch, try again next second */
	keywatch_close(*w);
	*w = keywatch_open(dir, now);
	free(*watched);
	*watched = copy;
	log_msg(LOG_INFO, "watching the key directory %s for changes", dir);
}

/* housekeeping - the one thread that reloads (SIGUSR1, or the key directory changed) and
 * keeps the replay store tidy. SIGUSR1 is blocked everywhere and taken here by sigtimedwait,
 * so no signal handler runs at all; libmilter keeps SIGHUP/SIGTERM/SIGINT for stopping. */
static void *
housekeeping(void *arg)
{
	sigset_t set;
	const struct timespec second = { 1, 0 };
	struct keywatch *w = arg;
	char *watched = strdup(snap_current->conf->key_directory);
	time_t last_upkeep = 0, last_open = clock_monotonic_s();

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (!atomic_load(&stopping)) {
		struct replay *r;
		bool usr1 = false;
		time_t now;

		if (sigtimedwait(&set, NULL, &second) == SIGUSR1) {
			reload("SIGUSR1");
			usr1 = true;
		} else if (w != NULL && keywatch_changed(w, clock_monotonic_s())) {
			reload("key directory changed");
		}
		now = clock_monotonic_s();
		watch_follow(&w, &watched, now);
		if (atomic_load(&store) == NULL && (usr1 || now - last_open >= STORE_RETRY)) {
			store_open(snap_current->conf, LOG_WARNING);
			last_open = now;
		}
		r = atomic_load(&store);
		if (r != NULL && now - last_upkeep >= 5) {
			int rc = replay_maintain(r, clock_now());

			if (rc != 0)
				log_msg(LOG_ERR, "replay store upkeep failed: %s", replay_strerror(rc));
			last_upkeep = now;
		}
	}
	keywatch_close(w);
	free(watched);
	return NULL;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: backstop-milter [-fnhV] [-c FILE]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground, whatever Background says\n"
	    "  -n       check the configuration and the key store, then exit 0 (good) or 1\n"
	    "           (with -f: for a start with -f)\n"
	    "  -h       this help\n"
	    "  -V       print the version\n"
	    "Signs outbound envelope senders with BATV tags and rejects bounces to addresses\n"
	    "that are not validly signed. See backstop-milter(8) and backstop.conf(5).\n",
	    conf_default_path());
}

/* risks_report - conf_risks, on stderr (for -n) or in the log */
static void
risks_report(const struct conf *cf, bool to_stderr)
{
	char buf[2048];

	if (conf_risks(cf, clock_now(), buf, sizeof(buf)) > 0)
		log_warnings("backstop-milter", to_stderr, conf_path, buf);
}

/* check_redis - for -n: does Redis answer, and may ReplayRedisUser run what backstop runs?
 * An unanswering Redis is a warning (ReplayRedisFallback takes over), a refusal an error */
static int
check_redis(const struct conf *cf)
{
	struct replay *r = NULL;
	struct replay_options o;
	char why[1024] = "";
	int rc;

	conf_replay_options(cf, 1, &o);
	o.redis_fallback_local = false;
	if ((rc = replay_open_opts(&o, &r, why, sizeof(why))) == REPLAY_OK)
		rc = replay_probe(r, clock_now(), why, sizeof(why));
	replay_close(r);
	if (rc == REPLAY_OK) {
		printf("backstop-milter: ReplayRedis %s answers; the ACL allows what backstop runs\n",
		    cf->replay_redis);
		return 0;
	}
	fprintf(stderr, "backstop-milter: %sReplayRedis %s in %s: %s%s\n",
	    rc == REPLAY_EUNAVAIL ? "warning: " : "", cf->replay_redis, conf_path,
	    why[0] != '\0' ? why : replay_strerror(rc), rc == REPLAY_EUNAVAIL ?
	    "; until it answers, ReplayRedisFallback decides" : "");
	return rc == REPLAY_EUNAVAIL ? 0 : -1;
}

/* check_store_as - can uid/gid keep the replay store in ReplayDatabase, and reach Redis with
 * the password file? Asked in a child that becomes that user, so that supplementary groups
 * count as they will. */
static int
check_store_as(const struct conf *cf, uid_t uid, gid_t gid)
{
	char why[512];
	pid_t pid;
	int status;

	fflush(stdout);
	if ((pid = fork()) < 0)
		return 0;	/* cannot tell; the start will */
	if (pid == 0) {
		if (geteuid() != uid && daemon_drop(uid, gid) != 0)
			_exit(0);
		if (cf->replay_database != NULL &&
		    replay_check_dir(cf->replay_database, why, sizeof(why)) != REPLAY_OK) {
			fprintf(stderr, "backstop-milter: ReplayDatabase in %s: %s\n", conf_path, why);
			_exit(1);
		}
		if (cf->replay_redis != NULL && check_redis(cf) != 0)
			_exit(1);
		fflush(stdout);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* check_paths - the pid file and a unix Socket can be made where they are configured, the
 * socket by uid/gid (UserID), who binds it when the unit starts as that user */
static int
check_paths(const struct conf *cf, uid_t uid, gid_t gid)
{
	const char *sock = strncmp(cf->socket, "unix:", 5) == 0 ? cf->socket + 5 :
	    strncmp(cf->socket, "local:", 6) == 0 ? cf->socket + 6 :
	    cf->socket[0] == '/' ? cf->socket : NULL;
	char dir[4096];
	int rc;

	/* a missing directory is a warning: systemd makes RuntimeDirectory before the start */
	if (cf->pid_file != NULL && (rc = daemon_path_check(cf->pid_file, false)) != DAEMON_OK) {
		fprintf(stderr, "backstop-milter: %sPidFile %s in %s: %s\n", rc == DAEMON_ENODIR ?
		    "warning: " : "", cf->pid_file, conf_path, daemon_strerror(rc));
		if (rc != DAEMON_ENODIR)
			return -1;
	}
	if (sock != NULL && (rc = daemon_path_check(sock, true)) != DAEMON_OK) {
		fprintf(stderr, "backstop-milter: %sSocket %s in %s: %s\n", rc == DAEMON_ENODIR ?
		    "warning: " : "", cf->socket, conf_path, daemon_strerror(rc));
		return rc == DAEMON_ENODIR ? 0 : -1;
	}
	if (sock != NULL && daemon_dir_check_as(sock, uid, gid, dir, sizeof(dir)) != DAEMON_OK) {
		fprintf(stderr, "backstop-milter: Socket %s in %s: %s%s cannot create the socket in "
		    "%s: %s\n", cf->socket, conf_path, cf->user_id != NULL ? "UserID " : "this user",
		    cf->user_id != NULL ? cf->user_id : "", dir, daemon_strerror(DAEMON_EDIRWRITE));
		return -1;
	}
	return 0;
}

/* check_user - UserID exists and this process can become it; its ids in uid/gid */
static int
check_user(const struct conf *cf, uid_t *uid, gid_t *gid)
{
	int rc;

	*uid = geteuid();
	*gid = getegid();
	if (cf->user_id == NULL)
		return 0;
	if ((rc = daemon_user_check(cf->user_id, uid, gid)) == DAEMON_EUSER) {
		fprintf(stderr, "backstop-milter: UserID %s in %s: %s\n", cf->user_id, conf_path,
		    daemon_strerror(rc));
		return -1;
	}
	if (rc == DAEMON_ESWITCH) {
		fprintf(stderr, "backstop-milter: UserID %s in %s: this user (uid %ld) cannot switch "
		    "to it: start as root, or as that user\n", cf->user_id, conf_path,
		    (long)getuid());
		return -1;
	}
	return 0;
}

/* syslog_check - Syslog yes and nothing at /dev/log: said on stderr; false when the start is
 * to stop there (in the background nothing would ever show), true to log to stderr. For -n
 * (check) only a warning of what the start would do. */
static bool
syslog_check(const struct conf *cf, bool foreground, bool check, bool *use_syslog)
{
	bool bg = cf->background && !foreground;
	int rc;

	*use_syslog = cf->syslog;
	if (!cf->syslog || (rc = daemon_syslog_check(_PATH_LOG)) == DAEMON_OK)
		return true;
	fprintf(stderr, "backstop-milter: %sSyslog yes in %s: %s%s%s\n", bg && !check ? "" :
	    "warning: ", conf_path, daemon_strerror(rc), check ? "; a start would " : "",
	    bg ? (check ? "refuse to start in the background" : ": not starting in the "
	    "background; start a syslog daemon, or set Syslog no and start with -f (or "
	    "Background no)") : (check ? "log to stderr instead" : "; logging to stderr instead"));
	*use_syslog = false;
	return !bg || check;
}

static int
check_only(bool foreground)
{
	const struct snap *s = snap_current;
	int signer = keyring_signer(s->kr, clock_now());
	char why[1024];
	bool use_syslog;
	uid_t uid;
	gid_t gid;

	if (signer < 0) {
		fprintf(stderr, "backstop-milter: %s: %s\n", s->conf->key_directory,
		    keyring_strerror(signer));
		return 1;
	}
	/* -n cannot know whether -f follows: the units check with -n -f */
	if (s->conf->background && !s->conf->syslog && !foreground)
		fprintf(stderr, "backstop-milter: warning: Syslog no with Background yes in %s: "
		    "once detached, log lines go nowhere; fine if the start has -f, as the systemd "
		    "unit's does (check that start with -n -f)\n", conf_path);
	(void)syslog_check(s->conf, foreground, true, &use_syslog);
	risks_report(s->conf, true);
	if (check_user(s->conf, &uid, &gid) != 0 || (conf_store_on(s->conf) &&
	    check_store_as(s->conf, uid, gid) != 0))
		return 1;
	if (s->conf->user_id != NULL && keyring_load_as(s->conf->key_directory, uid, gid, why,
	    sizeof(why)) != KEYRING_OK) {
		fprintf(stderr, "backstop-milter: %s: UserID %s cannot load the key store, so every "
		    "reload would fail: %s\n", conf_path, s->conf->user_id, why);
		return 1;
	}
	if (check_paths(s->conf, uid, gid) != 0)
		return 1;
	if (s->conf->user_id != NULL && conf_load_as(conf_path, uid, gid, why, sizeof(why)) != 0) {
		fprintf(stderr, "backstop-milter: UserID %s cannot load the configuration, so every "
		    "reload (SIGUSR1) would fail: %s\n", s->conf->user_id, why);
		return 1;
	}
	printf("backstop-milter: %s: configuration OK; %d key(s) in %s, slot %d signs\n",
	    conf_path, keyring_count(s->kr), s->conf->key_directory, signer);
	return 0;
}

/* nodelay_listeners - TCP_NODELAY on libmilter's listening sockets (accepted ones inherit
 * it on Linux). The milter protocol is small request/reply exchanges: with Nagle's algorithm
 * and the MTA's delayed ACKs a reply can wait 40 ms. libmilter does not hand out its socket,
 * so it is found among our descriptors: the only listening TCP socket we have. */
static void
nodelay_listeners(void)
{
	const int one = 1;
	int fd, listening, type;
	socklen_t len;
	struct sockaddr_storage ss;

	for (fd = 3; fd < 1024; fd++) {
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
			continue;
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_msg(LOG_WARNING, "cannot set TCP_NODELAY on the milter socket: %s",
			    strerror(errno));
	}
}

/* listen_socket - bind the milter socket as root, and hand a unix socket to UserID */
static int
listen_socket(const struct conf *cf, bool have_user, uid_t uid, gid_t gid)
{
	const char *path = NULL;
	struct stat st;
	int e, rc;

	if (strncmp(cf->socket, "unix:", 5) == 0)
		path = cf->socket + 5;
	else if (strncmp(cf->socket, "local:", 6) == 0)
		path = cf->socket + 6;
	else if (cf->socket[0] == '/')
		path = cf->socket;	/* libmilter's bare path is a unix socket too */
	/* libmilter replaces a stale socket but, given anything else, says only that it failed */
	if (path != NULL && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_msg(LOG_ERR, "cannot listen on %s (Socket in %s): %s is not a socket (%s): "
		    "refusing to replace it", cf->socket, conf_path, path,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "a file or directory");
		return -1;
	}
	/* libmilter unlinks whatever socket is there, a running milter's too */
	if (path != NULL && daemon_socket_answers(path)) {
		log_msg(LOG_ERR, "cannot listen on %s (Socket in %s): another milter answers on it: "
		    "stop it first (is backstop-milter already running?)", cf->socket, conf_path);
		return -1;
	}
	errno = 0;
	if (smfi_setconn(cf->socket) != MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
		e = errno;
		log_msg(LOG_ERR, "cannot listen on %s (Socket in %s): %s", cf->socket, conf_path,
		    e == EADDRINUSE ? "the address is in use: is another milter running?" :
		    e != 0 ? strerror(e) : "libmilter could not open it");
		return -1;
	}
	nodelay_listeners();
	if (path == NULL)
		return 0;
	/* The MTA connects as its own user. With UserID the socket is that group's (make the
	 * MTA's user a member: usermod -aG backstop postfix); without, it is open to every local
	 * user, as the default inet socket on loopback is. */
	rc = daemon_socket_own(path, have_user ? uid : (uid_t)-1, have_user ? gid : (gid_t)-1,
	    have_user ? 0660 : 0666, &st);	/* through no symlink: see daemon.c */
	if (rc != DAEMON_OK) {
		log_msg(LOG_ERR, "cannot set the owner or mode of %s: %s%s%s", path,
		    daemon_strerror(rc), rc == DAEMON_ESOCKET ? ": " : "",
		    rc == DAEMON_ESOCKET ? strerror(errno) : "");
		return -1;
	}
	return 0;
}

/* become_daemon - detach, pid file, drop privileges, then open the store as that user */
static int
become_daemon(const struct conf *cf, bool foreground, bool have_user, uid_t uid, gid_t gid)
{
	int rc;

	if (cf->background && !foreground && !cf->syslog)
		log_msg(LOG_WARNING, "Syslog no with Background yes in %s: once detached, log lines "
		    "go nowhere; set Syslog yes, or Background no (or -f)", conf_path);
	if (cf->background && !foreground && (rc = daemon_detach()) != 0) {
		log_msg(LOG_ERR, "%s", daemon_strerror(rc));
		return -1;
	}
	if (cf->pid_file != NULL && (rc = daemon_pidfile_write(cf->pid_file)) != 0) {
		log_msg(LOG_ERR, "%s: %s", cf->pid_file, daemon_strerror(rc));
		return -1;
	}
	if (have_user && (rc = daemon_drop(uid, gid)) != 0) {
		log_msg(LOG_ERR, "UserID %s: %s", cf->user_id, daemon_strerror(rc));
		return -1;
	}
	/* a store that does not open (a corrupt file, a full disk) must not stop the mail that
	 * does not need it: Postfix would tempfail everything while the milter is down */
	store_open(cf, LOG_ERR);
	return 0;
}

static int
run(bool foreground)
{
	const struct conf *cf = snap_current->conf;
	struct keywatch *w = NULL;
	bool have_user = cf->user_id != NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	pthread_t hk;
	sigset_t set;
	char name[1024];
	int rc;

	if (have_user && (rc = daemon_user_check(cf->user_id, &uid, &gid)) == DAEMON_EUSER) {
		log_msg(LOG_ERR, "UserID %s in %s: %s", cf->user_id, conf_path, daemon_strerror(rc));
		return 1;
	}
	if (have_user && rc == DAEMON_ESWITCH) {
		log_msg(LOG_ERR, "UserID %s in %s: started as uid %ld, which cannot switch to it: "
		    "start as root, or as that user", cf->user_id, conf_path, (long)getuid());
		return 1;
	}
	if (smfi_register(filter) != MI_SUCCESS) {
		log_msg(LOG_ERR, "libmilter refused to register the filter");
		return 1;
	}
	if (listen_socket(cf, have_user, uid, gid) != 0 ||
	    become_daemon(cf, foreground, have_user, uid, gid) != 0)
		return 1;
	if (clock_overridden())
		log_msg(LOG_WARNING, "BACKSTOP_NOW is set: the clock is frozen at %lld (tests only)",
		    (long long)clock_now());
	/* Blocked before any thread starts, so that only sigwait-style waiters ever see them:
	 * libmilter's signal thread takes HUP, TERM and INT, housekeeping takes USR1. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	w = keywatch_open(cf->key_directory, clock_monotonic_s());
	if (pthread_create(&hk, NULL, housekeeping, w) != 0) {
		log_msg(LOG_ERR, "cannot start the housekeeping thread");
		return 1;
	}
	store_name(cf, name, sizeof(name));
	log_msg(LOG_NOTICE, "%s starting on %s: %d key(s), replay store %s%s", PACKAGE_STRING,
	    cf->socket, keyring_count(snap_current->kr), name,
	    cf->dry_run ? ", DryRun: nothing will be refused" : "");
	rc = smfi_main();
	atomic_store(&stopping, true);
	pthread_join(hk, NULL);
	replay_close(atomic_load(&store));
	daemon_pidfile_remove(snap_current->conf->pid_file);
	log_msg(LOG_NOTICE, "stopped");
	return rc == MI_SUCCESS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	bool foreground = false, check = false, use_syslog;
	char why[512];
	int ch;

	conf_path = conf_default_path();
	while ((ch = getopt(argc, argv, "c:fnhV")) != -1) {
		switch (ch) {
		case 'c': conf_path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("backstop-milter (%s)\n", PACKAGE_STRING); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
#ifdef M_ARENA_MAX
	/* libmilter runs a thread per connection; glibc's default of 8 malloc arenas per core
	 * lets the heap creep under that churn (BENCHMARKS.md, "Memory"). */
	mallopt(M_ARENA_MAX, 2);
#endif
	if (sodium_init() < 0) {
		fprintf(stderr, "backstop-milter: libsodium failed to initialise\n");
		return 1;
	}
	snap_current = snap_load(conf_path, why, sizeof(why));
	if (snap_current == NULL) {
		fprintf(stderr, "backstop-milter: %s\n", why);
		return 1;
	}
	if (check)
		return check_only(foreground);
	if (!syslog_check(snap_current->conf, foreground, false, &use_syslog))
		return 1;
	log_open("backstop-milter", use_syslog,
	    snap_current->conf->syslog_facility, snap_current->conf->log_level);
	risks_report(snap_current->conf, false);
	return run(foreground);
}
