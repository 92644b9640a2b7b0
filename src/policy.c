/* policy: the milter decisions backstop-milter(8) describes (DESCRIPTION), row by row, and at
 * end of message the replies table of README ("Replies, read receipts and auto-replies").
 * Everything here is a pure function of its arguments, so each row is unit-tested without an
 * MTA; the milter only gathers facts (client, macros, addresses, replay count, message kind
 * and references) and carries out the result. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "policy.h"
#include "srs-legacy.h"

bool
policy_outbound(const struct conf *c, sa_family_t family, const void *ip,
    const char *auth_authen, const char *daemon_name)
{
	if (auth_authen != NULL && *auth_authen != '\0')
		return true;
	if (c->outbound_daemon_name != NULL && daemon_name != NULL &&
	    strcmp(c->outbound_daemon_name, daemon_name) == 0)
		return true;
	return ip != NULL && cidr_list_contains(&c->internal_hosts, family, ip);
}

static bool
policy_match_any(const struct conf_list *l, const struct addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (addr_match(a, l->v[i]))
			return true;
	return false;
}

bool
policy_bounce(const struct conf *c, const struct addr *sender)
{
	return sender->null || policy_match_any(&c->bounce_senders, sender);
}

bool
policy_exempt_rcpt(const struct conf *c, const struct addr *rcpt)
{
	return policy_match_any(&c->exempt_recipients, rcpt);
}

enum policy_sign
policy_sign(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *sender, bool rcpt_exempt, struct addr *out)
{
	if (policy_bounce(c, sender))
		return POLICY_SIGN_BOUNCE;
	if (!addr_domain_in(sender->domain, c->domains.v, c->domains.n))
		return POLICY_SIGN_NOT_OURS;
	if (policy_match_any(&c->exempt_senders, sender))
		return POLICY_SIGN_EXEMPT_SENDER;
	if (rcpt_exempt)
		return POLICY_SIGN_EXEMPT_RCPT;
	if (kr == NULL)
		return POLICY_SIGN_NOKEY;
	switch (prvs_sign(kr, sender, now, c->tag_validity, out)) {
	case PRVS_OK: return POLICY_SIGN_OK;
	case PRVS_ETAGGED: return POLICY_SIGN_TAGGED;
	case PRVS_EQUOTED: return POLICY_SIGN_QUOTED;
	case PRVS_ETOOLONG: return POLICY_SIGN_TOOLONG;
	case PRVS_ENULL: return POLICY_SIGN_BOUNCE;
	default: return POLICY_SIGN_NOKEY;
	}
}

const char *
policy_sign_name(enum policy_sign s)
{
	switch (s) {
	case POLICY_SIGN_OK: return "signed";
	case POLICY_SIGN_NOT_OURS: return "sender not in Domains";
	case POLICY_SIGN_EXEMPT_SENDER: return "exempt sender";
	case POLICY_SIGN_EXEMPT_RCPT: return "exempt recipient";
	case POLICY_SIGN_TAGGED: return "already tagged";
	case POLICY_SIGN_QUOTED: return "quoted local part";
	case POLICY_SIGN_TOOLONG: return "tagged local part would pass 64 octets";
	case POLICY_SIGN_NOKEY: return "no signing key";
	case POLICY_SIGN_BOUNCE: return "bounce sender";
	}
	return "unknown";
}

void
policy_srs_params(const struct conf *c, struct srs_params *out)
{
	out->domain = c->srs_domain;
	out->local_domains = c->domains.v;
	out->n_local_domains = c->domains.n;
	out->separator = c->srs_separator;
	out->hash_length = c->srs_hash_length;
	out->hash_min = c->srs_hash_min;
	out->hash_min_until = c->srs_hash_min_until;
	out->max_age = c->srs_max_age;
	out->legacy = c->srs_legacy;
}

static void
policy_classify_srs(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *rcpt, struct policy_rcpt *out)
{
	struct srs_params p;

	policy_srs_params(c, &p);
	out->cls = POLICY_SRS;
	out->srs_err = kr == NULL ? SRS_ENOKEY :
	    srs_legacy_reverse(&p, kr, now, rcpt, &out->plain, &out->legacy);
	if (out->srs_err == SRS_ENOTSRS)
		out->cls = POLICY_UNTAGGED;	/* postmaster@ our SRS domain */
	out->has_plain = out->srs_err == SRS_OK;
}

/* policy_expiry_day - the absolute UTC day that a valid tag's DDD names */
static long
policy_expiry_day(const struct addr *tagged, time_t now)
{
	long day = clock_day(now);
	long ddd = (tagged->local[6] - '0') * 100 + (tagged->local[7] - '0') * 10 +
	    (tagged->local[8] - '0');

	return day + ((ddd - day % 1000) % 1000 + 1000) % 1000;
}

static void
policy_classify_prvs(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *rcpt, struct policy_rcpt *out)
{
	struct addr stripped;

	if (strncasecmp(rcpt->local, "prvs=", 5) != 0) {
		out->cls = POLICY_UNTAGGED;
		return;
	}
	out->cls = POLICY_PRVS;
	out->prvs = kr == NULL ? PRVS_UNKNOWN_KEY :
	    prvs_verify(kr, rcpt, now, c->tag_validity, &out->plain);
	if (out->prvs == PRVS_VALID) {
		out->has_plain = true;
		out->expiry_day = policy_expiry_day(rcpt, now);
	} else if (prvs_strip(rcpt, &stripped) == 0) {
		out->plain = stripped;
		out->has_plain = true;
	}
}

/* the domain an unqualified recipient is delivered in: the first of Domains that is not a
 * ".sub" pattern, else the first one without its dot */
static const char *
policy_home_domain(const struct conf *c)
{
	size_t i;

	for (i = 0; i < c->domains.n; i++)
		if (c->domains.v[i][0] != '.')
			return c->domains.v[i];
	return c->domains.n > 0 ? c->domains.v[0] + 1 : NULL;
}

/* policy_bare - text without its angle brackets into buf; false if empty or too long */
static bool
policy_bare(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text);

	if (len >= 2 && text[0] == '<' && text[len - 1] == '>') {
		text++;
		len -= 2;
	}
	if (len == 0 || len >= size)
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return true;
}

int
policy_rcpt_parse(const struct conf *c, const char *text, struct addr *out)
{
	char buf[ADDR_TEXT_MAX + 1];
	const char *home;
	int rc = addr_parse(out, text, strlen(text));
	size_t len;

	/* the common case ends here: nothing more on the per-recipient path */
	if (rc == ADDR_OK || !policy_bare(text, buf, sizeof(buf)))
		return rc;
	len = strlen(buf);
	home = policy_home_domain(c);
	if (strchr(buf, '@') == NULL) {
		if (home == NULL || (size_t)snprintf(buf + len, sizeof(buf) - len, "@%s", home) >=
		    sizeof(buf) - len)
			return rc;
	} else if (len > 2 && buf[len - 1] == '.' && buf[len - 2] != '.' && buf[len - 2] != '@') {
		buf[len - 1] = '\0';
	} else {
		return rc;
	}
	return addr_parse(out, buf, strlen(buf)) == ADDR_OK ? ADDR_OK : rc;
}

void
policy_classify_unparsable(const struct conf *c, const char *text, struct policy_rcpt *out)
{
	char buf[ADDR_TEXT_MAX + 1];
	const char *at;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->cls = POLICY_NOT_OURS;
	if (!policy_bare(text, buf, sizeof(buf)))
		return;
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	at = strrchr(buf, '@');
	if (at == NULL ||
	    (c->srs_domain != NULL && strcasecmp(at + 1, c->srs_domain) == 0) ||
	    addr_domain_in(at + 1, c->domains.v, c->domains.n))
		out->cls = POLICY_UNPARSABLE;
}

void
policy_classify(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *rcpt, struct policy_rcpt *out)
{
	memset(out, 0, sizeof(*out));
	out->cls = POLICY_NOT_OURS;
	if (rcpt->null)
		return;
	if (c->srs_domain != NULL && strcasecmp(rcpt->domain, c->srs_domain) == 0)
		policy_classify_srs(c, kr, now, rcpt, out);
	else if (addr_domain_in(rcpt->domain, c->domains.v, c->domains.n))
		policy_classify_prvs(c, kr, now, rcpt, out);
}

/* Postfix's resolver loops over its rewrites; a longer chain than this is not mail. */
#define POLICY_ROUTE_HOPS 10

/* A recipient's text while the MTA's rewrites are followed. */
struct policy_route {
	char buf[ADDR_TEXT_MAX + 1];
	bool routed;		/* a source route, % or ! was followed */
};

/* policy_self_literal - is "[ip]" or "[IPv6:ip]" the loopback or the MTA's own address? */
static bool
policy_self_literal(const struct policy_mta *m, const char *d)
{
	size_t len = strlen(d);

	if (len < 3 || d[0] != '[' || d[len - 1] != ']')
		return false;
	d++;
	len -= 2;
	if (len > 5 && strncasecmp(d, "IPv6:", 5) == 0) {
		d += 5;
		len -= 5;
	}
	if ((len == 9 && strncmp(d, "127.0.0.1", 9) == 0) ||
	    (len == 3 && strncmp(d, "::1", 3) == 0))
		return true;
	return m->self_addr != NULL && strlen(m->self_addr) == len &&
	    strncasecmp(d, m->self_addr, len) == 0;
}

/* policy_local_host - is domain one of the names the MTA strips before delivering the rest
 * itself (Postfix's default mydestination: $myhostname, localhost.$mydomain, localhost)? */
static bool
policy_local_host(const struct policy_mta *m, const char *d)
{
	const char *mydomain = m->myhostname != NULL ? strchr(m->myhostname, '.') : NULL;

	if (strcasecmp(d, "localhost") == 0 || policy_self_literal(m, d))
		return true;
	if (m->myhostname != NULL && m->myhostname[0] != '\0' && strcasecmp(d, m->myhostname) == 0)
		return true;
	return mydomain != NULL && strncasecmp(d, "localhost.", 10) == 0 &&
	    strcasecmp(d + 9, mydomain) == 0;
}

/* policy_route_start - the text bare of brackets and of a source route ("@a,@b:") */
static bool
policy_route_start(const char *text, struct policy_route *r)
{
	char *colon;

	r->routed = false;
	if (!policy_bare(text, r->buf, sizeof(r->buf)))
		return false;
	if (r->buf[0] == '@' && (colon = strchr(r->buf, ':')) != NULL) {
		memmove(r->buf, colon + 1, strlen(colon + 1) + 1);
		r->routed = true;
	}
	return r->buf[0] != '\0';
}

/* policy_has_route - does the local part before at hold a % or ! the MTA would follow? */
static bool
policy_has_route(const char *b, const char *at)
{
	return b[0] != '"' && strcspn(b, "%!") < (size_t)(at - b);
}

/* policy_route_step - one rewrite, as Postfix's resolver makes them: drop a root dot, strip
 * one of the MTA's own names before a route, then turn "host!rest" into "rest@host" or the
 * last % into @. False once nothing changes: an address with no route left, or a local part. */
static bool
policy_route_step(const struct policy_mta *m, struct policy_route *r)
{
	char tmp[ADDR_TEXT_MAX + 1], *b = r->buf, *at = strrchr(b, '@'), *p;
	size_t len = strlen(b);

	if (at != NULL && len > 2 && b[len - 1] == '.' && b[len - 2] != '.' && b[len - 2] != '@')
		b[--len] = '\0';
	if (at != NULL) {
		/* only with a route left to follow: alice@localhost or alice@$myhostname as
		 * written may be a sender that is not in Domains, never signed, whose bounces
		 * must pass */
		if (!policy_local_host(m, at + 1) || !policy_has_route(b, at))
			return false;
		*at = '\0';
		return true;
	}
	if (b[0] == '"')
		return false;	/* a quoted local part is delivered as it stands */
	if ((p = strchr(b, '!')) != NULL) {
		snprintf(tmp, sizeof(tmp), "%s@%.*s", p + 1, (int)(p - b), b);
		memcpy(b, tmp, len + 1);
	} else if ((p = strrchr(b, '%')) != NULL) {
		*p = '@';
	} else {
		return false;
	}
	r->routed = true;
	return true;
}

/* policy_mta_local - does the MTA say it delivers this recipient to a local mailbox? */
static bool
policy_mta_local(const struct policy_mta *m)
{
	return (m->rcpt_mailer != NULL && strcasecmp(m->rcpt_mailer, "local") == 0) ||
	    (m->rcpt_host != NULL && m->rcpt_host[0] != '\0' && policy_local_host(m, m->rcpt_host));
}

/* policy_classify_mta - classify the address the MTA resolved, if it is one of ours */
static bool
policy_classify_mta(const struct conf *c, const struct keyring *kr, time_t now,
    const char *judged, const struct policy_mta *m, struct addr *rcpt, struct policy_rcpt *out)
{
	struct addr a;

	/* the usual case, the MTA resolved it to what we judged already: no second parse */
	if (m->rcpt_addr == NULL || strcasecmp(m->rcpt_addr, judged) == 0 ||
	    addr_parse(&a, m->rcpt_addr, strlen(m->rcpt_addr)) != ADDR_OK)
		return false;	/* Sendmail's is a bare user name for its local mailer */
	policy_classify(c, kr, now, &a, out);
	if (out->cls == POLICY_NOT_OURS)
		return false;
	*rcpt = a;
	return true;
}

bool
policy_rcpt_resolve(const struct conf *c, const struct keyring *kr, time_t now,
    const char *text, const struct policy_mta *m, struct addr *rcpt, struct policy_rcpt *out)
{
	struct policy_route r;
	int hops = 0;

	memset(out, 0, sizeof(*out));
	out->cls = POLICY_NOT_OURS;
	if (!policy_route_start(text, &r)) {
		policy_classify_unparsable(c, text, out);
		return false;
	}
	while (policy_route_step(m, &r))
		if (++hops > POLICY_ROUTE_HOPS) {
			out->cls = POLICY_UNRESOLVED;
			return false;
		}
	if (policy_rcpt_parse(c, r.buf, rcpt) != ADDR_OK) {
		policy_classify_unparsable(c, r.buf, out);
		if (out->cls == POLICY_NOT_OURS && r.routed && policy_mta_local(m))
			out->cls = POLICY_UNRESOLVED;
		return false;
	}
	policy_classify(c, kr, now, rcpt, out);
	if (out->cls != POLICY_NOT_OURS || policy_classify_mta(c, kr, now, r.buf, m, rcpt, out))
		return true;
	/* routed through our own names to a local mailbox of a domain not in Domains: whose
	 * mailbox that is, only the MTA's tables know */
	if (r.routed && policy_mta_local(m))
		out->cls = POLICY_UNRESOLVED;
	return out->cls != POLICY_UNRESOLVED;
}

bool
policy_needs_replay(const struct conf *c, bool bounce, const struct policy_rcpt *r)
{
	return bounce && conf_store_on(c) && r->cls == POLICY_PRVS &&
	    r->prvs == PRVS_VALID;
}

/* policy_apply - turn a configured On* action into the RCPT answer, honouring DryRun */
static void
policy_apply(const struct conf *c, enum conf_action a, const char *verdict, const char *why,
    struct policy_decision *out)
{
	out->verdict = verdict;
	out->why = why;
	switch (a) {
	case CONF_REJECT: out->action = POLICY_REJECT; break;
	case CONF_TEMPFAIL: out->action = POLICY_TEMPFAIL; break;
	case CONF_MARK: out->mark = true; out->action = POLICY_ACCEPT; break;
	case CONF_ACCEPT: out->action = POLICY_ACCEPT; break;
	}
	if (c->dry_run && out->action != POLICY_ACCEPT) {
		out->action = POLICY_ACCEPT;
		out->dry_run = true;
		out->mark = true;
	}
}

static const char *
policy_prvs_why(enum prvs_verdict v)
{
	switch (v) {
	case PRVS_EXPIRED: return "bounce to an expired address tag (backscatter)";
	case PRVS_BADMAC: return "bounce to a forged address tag (backscatter)";
	case PRVS_UNKNOWN_KEY: return "bounce to an address tag of an unknown key (backscatter)";
	case PRVS_MALFORMED: return "bounce to a malformed address tag (backscatter)";
	default: return "bounce to an invalid address tag (backscatter)";
	}
}

static const char policy_untagged_why[] = "bounce to an unsigned address (backscatter)";
static const char policy_window_why[] =
    "bounce to an unsigned address, accepted while TaggingSince + TagValidity has not passed";

static bool
policy_in_window(const struct conf *c, time_t created, time_t now)
{
	time_t since = c->tagging_since == CONF_TAGGING_AUTO ? created : c->tagging_since;

	if (since <= 0)
		return false;
	return now < since + (time_t)c->tag_validity * 86400;
}

static void
policy_decide_prvs_bounce(const struct conf *c, const struct policy_rcpt *r,
    const struct policy_replay *replay, struct policy_decision *out)
{
	if (r->prvs != PRVS_VALID) {
		policy_apply(c, c->on_invalid, prvs_verdict_name(r->prvs),
		    policy_prvs_why(r->prvs), out);
		return;
	}
	if (replay->state == POLICY_REPLAY_ERROR) {
		policy_internal_error(c, "the replay store failed", out);
		return;
	}
	out->count = replay->state == POLICY_REPLAY_COUNT;
	if (out->count && c->max_bounces_per_tag != 0 &&
	    replay->count >= c->max_bounces_per_tag) {
		policy_apply(c, c->on_replay, "replay",
		    "too many bounces to this address tag (backscatter)", out);
		return;
	}
	policy_apply(c, CONF_ACCEPT, "valid", "bounce to a valid address tag", out);
	/* a delivery report's returned original is judged at EOM (policy_eom_prvs) */
	out->eom = c->on_unknown_original != CONF_ACCEPT;
}

/* policy_untagged - OnUntagged, unless the TaggingSince window still accepts */
static void
policy_untagged(const struct conf *c, time_t created, time_t now, const char *why,
    struct policy_decision *out)
{
	if (policy_in_window(c, created, now))
		policy_apply(c, CONF_ACCEPT, "untagged-window", policy_window_why, out);
	else
		policy_apply(c, c->on_untagged, "untagged", why, out);
}

/* policy_decide_untagged_bounce - RCPT time: after the TaggingSince window, leave it to EOM
 * (UntaggedBounceDecision eom), or answer now (rcpt) */
static void
policy_decide_untagged_bounce(const struct conf *c, time_t created, time_t now,
    struct policy_decision *out)
{
	if (policy_in_window(c, created, now) || c->untagged_bounce_decision != CONF_DECIDE_EOM) {
		policy_untagged(c, created, now, policy_untagged_why, out);
		return;
	}
	policy_apply(c, CONF_ACCEPT, "pending",
	    "bounce to an unsigned address, judged at end of message by what it answers", out);
	out->eom = true;
}

static void
policy_decide_bounce(const struct conf *c, time_t created, time_t now,
    const struct policy_rcpt *r, const struct policy_replay *replay,
    struct policy_decision *out)
{
	if (r->cls == POLICY_NOT_OURS)
		return;
	out->mark = true;
	switch (r->cls) {
	case POLICY_PRVS:
		policy_decide_prvs_bounce(c, r, replay, out);
		break;
	case POLICY_SRS:
		if (r->srs_err == SRS_OK)
			policy_apply(c, CONF_ACCEPT, "srs-valid", "bounce to a valid SRS address", out);
		else if (srs_err_class(r->srs_err) == SRS_CLASS_TEMP)
			policy_internal_error(c, srs_strerror(r->srs_err), out);
		else
			policy_apply(c, c->on_invalid, "srs-invalid",
			    "bounce to an invalid SRS address (backscatter)", out);
		break;
	case POLICY_UNTAGGED:
		policy_decide_untagged_bounce(c, created, now, out);
		break;
	case POLICY_UNPARSABLE:
		policy_apply(c, c->on_invalid, "malformed",
		    "bounce to an address of ours that does not parse (backscatter)", out);
		break;
	case POLICY_UNRESOLVED:
		policy_apply(c, c->on_invalid, "unresolved",
		    "bounce to a routed address whose mailbox cannot be judged (backscatter)", out);
		break;
	case POLICY_NOT_OURS:
		break;
	}
}

static void
policy_decide_mail(const struct conf *c, const struct policy_rcpt *r,
    struct policy_decision *out)
{
	switch (r->cls) {
	case POLICY_PRVS:
		out->mark = true;
		if (r->prvs == PRVS_VALID)
			policy_apply(c, CONF_ACCEPT, "valid", "mail to a valid address tag", out);
		else
			policy_apply(c, CONF_ACCEPT, prvs_verdict_name(r->prvs),
			    "mail (not a bounce) to an invalid address tag", out);
		break;
	case POLICY_SRS:
		out->mark = true;
		if (r->srs_err == SRS_OK)
			policy_apply(c, CONF_ACCEPT, "srs-valid", "mail to a valid SRS address", out);
		else if (srs_err_class(r->srs_err) == SRS_CLASS_TEMP)
			policy_internal_error(c, srs_strerror(r->srs_err), out);
		else
			policy_apply(c, c->on_invalid, "srs-invalid",
			    "mail to an invalid SRS address", out);
		break;
	case POLICY_UNTAGGED:
		/* an auto-reply is known only from its content (policy_eom_untagged_mail) */
		out->eom = c->on_auto_reply != CONF_ACCEPT;
		break;
	case POLICY_UNPARSABLE:
	case POLICY_UNRESOLVED:
	case POLICY_NOT_OURS:
		break;
	}
}

void
policy_decide(const struct conf *c, time_t created, time_t now, bool bounce,
    const struct policy_rcpt *r, const struct policy_replay *replay,
    struct policy_decision *out)
{
	memset(out, 0, sizeof(*out));
	out->action = POLICY_ACCEPT;
	out->verdict = r->cls == POLICY_NOT_OURS ? "not-ours" : "untagged";
	out->why = "no tag to check";
	if (bounce)
		policy_decide_bounce(c, created, now, r, replay, out);
	else
		policy_decide_mail(c, r, out);
	out->rewrite = out->action == POLICY_ACCEPT && r->has_plain;
	if (out->action != POLICY_ACCEPT)
		out->count = false;
	if (c->dry_run && r->cls != POLICY_NOT_OURS)
		out->mark = true;
}

void
policy_internal_error(const struct conf *c, const char *why, struct policy_decision *out)
{
	policy_apply(c, c->on_internal_error, "error", why, out);
}

const char *
policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_ACCEPT: return "accept";
	case POLICY_REJECT: return "reject";
	case POLICY_TEMPFAIL: return "tempfail";
	}
	return "unknown";
}

/* What each kind of answer is called in a reason: when it answers a message the recipient
 * sent, one it never sent, or names none the record can vouch for. */
struct policy_answer_why {
	const char *proven, *unknown, *absent;
};

static const struct policy_answer_why policy_answer_whys[] = {
	[MSGCLASS_NONE] = { "mail from <> that answers a message this address sent",
	    "bounce to an unsigned address, answering a message this address never sent "
	    "(backscatter)", policy_untagged_why },
	[MSGCLASS_DSN] = { "bounce of a message this address sent",
	    "bounce of a message this address never sent (backscatter)", policy_untagged_why },
	[MSGCLASS_MDN] = { "read receipt of a message this address sent",
	    "read receipt of a message this address never sent (backscatter)",
	    "read receipt that names no message this address is known to have sent" },
	[MSGCLASS_AUTOREPLY] = { "auto-reply to a message this address sent",
	    "auto-reply to a message this address never sent (backscatter)",
	    "auto-reply that names no message this address is known to have sent" },
};

static const struct policy_answer_why *
policy_why_of(enum msgclass_kind k)
{
	if ((unsigned)k >= sizeof(policy_answer_whys) / sizeof(policy_answer_whys[0]))
		k = MSGCLASS_NONE;
	return &policy_answer_whys[k];
}

/* policy_eom_prvs - a delivery report to a valid tag: its returned original must be ours */
static void
policy_eom_prvs(const struct conf *c, bool bounce, const struct policy_rcpt *r,
    const struct policy_answer *a, struct policy_decision *out)
{
	if (!bounce || r->prvs != PRVS_VALID || a->kind != MSGCLASS_DSN)
		return;
	out->mark = true;
	if (a->error)
		policy_internal_error(c, "the sent record could not be read", out);
	else if (a->ref == POLICY_REF_UNKNOWN)
		policy_apply(c, c->on_unknown_original, "unknown-original",
		    policy_why_of(a->kind)->unknown, out);
}

/* policy_eom_proven - a null-sender answer to a message the recipient sent: accepted, and
 * counted against that message, up to MaxBouncesPerTag answers or two per recipient it had
 * (an out-of-office and a read receipt from each), whichever is more */
static void
policy_eom_proven(const struct conf *c, const struct policy_answer *a,
    struct policy_decision *out)
{
	unsigned long limit = c->max_bounces_per_tag;

	if (limit != 0 && a->rcpts > limit / 2)
		limit = a->rcpts * 2;
	out->answer = true;
	if (limit != 0 && a->answers >= limit)
		policy_apply(c, c->on_replay, "replay",
		    "too many answers to one message this address sent (backscatter)", out);
	else
		policy_apply(c, CONF_ACCEPT, "proven", policy_why_of(a->kind)->proven, out);
}

/* policy_eom_untagged_bounce - null-sender mail to an untagged address, by what it answers */
static void
policy_eom_untagged_bounce(const struct conf *c, time_t created, time_t now,
    const struct policy_answer *a, struct policy_decision *out)
{
	const struct policy_answer_why *w = policy_why_of(a->kind);

	out->mark = true;
	/* a report of mail sent unsigned (ExemptRecipients, before the rollout) proves itself
	 * as a reply does: its returned original is a message this address sent */
	if (a->kind == MSGCLASS_DSN && (a->error || a->ref != POLICY_REF_KNOWN))
		policy_untagged(c, created, now, policy_untagged_why, out);
	else if (a->error)
		policy_internal_error(c, "the sent record could not be read", out);
	else if (a->ref == POLICY_REF_KNOWN)
		policy_eom_proven(c, a, out);
	else if (a->ref == POLICY_REF_UNKNOWN)
		policy_untagged(c, created, now, w->unknown, out);
	else if (a->kind == MSGCLASS_NONE)
		policy_untagged(c, created, now, w->absent, out);
	else
		policy_apply(c, c->on_auto_reply, "auto-reply", w->absent, out);
}

/* policy_eom_untagged_mail - an auto-reply with a sender to an untagged address; other mail
 * stays as RCPT left it */
static void
policy_eom_untagged_mail(const struct conf *c, const struct policy_answer *a,
    struct policy_decision *out)
{
	const struct policy_answer_why *w = policy_why_of(a->kind);

	if (a->kind != MSGCLASS_AUTOREPLY || a->generated)
		return;
	out->mark = true;
	if (a->error)
		policy_internal_error(c, "the sent record could not be read", out);
	else if (a->ref == POLICY_REF_KNOWN)
		policy_apply(c, CONF_ACCEPT, "proven", w->proven, out);
	else
		policy_apply(c, c->on_auto_reply, "auto-reply",
		    a->ref == POLICY_REF_UNKNOWN ? w->unknown : w->absent, out);
}

void
policy_decide_eom(const struct conf *c, time_t created, time_t now, bool bounce,
    const struct policy_rcpt *r, const struct policy_answer *a, struct policy_decision *out)
{
	if (!out->eom || out->action != POLICY_ACCEPT)
		return;
	if (r->cls == POLICY_PRVS)
		policy_eom_prvs(c, bounce, r, a, out);
	else if (r->cls == POLICY_UNTAGGED && bounce)
		policy_eom_untagged_bounce(c, created, now, a, out);
	else if (r->cls == POLICY_UNTAGGED)
		policy_eom_untagged_mail(c, a, out);
	out->rewrite = out->action == POLICY_ACCEPT && r->has_plain;
	if (out->action != POLICY_ACCEPT)
		out->count = out->answer = false;
}

bool
policy_ref_counts(const struct conf *c, time_t store_since, time_t now)
{
	time_t since = c->sent_since == CONF_SENT_AUTO ? store_since : c->sent_since;

	/* no record (off), or with SentSince auto nothing recorded yet: it vouches for nothing;
	 * a SentSince date is the admin's word that the record is complete from then */
	if (!c->record_sent || !conf_store_on(c) || since <= 0)
		return false;
	return now >= since + (time_t)c->sent_retention * CLOCK_DAY;
}
