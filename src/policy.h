/* policy: the milter's per-message decisions (backstop-milter(8) and README.md) as pure
 * functions of facts: no libmilter, no I/O, no clock. backstop-milter.c gathers the facts,
 * asks here, and carries out the answer; the unit tests ask the same questions directly. */
#ifndef BACKSTOP_POLICY_H
#define BACKSTOP_POLICY_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "conf.h"
#include "keyring.h"
#include "msgclass.h"
#include "prvs.h"
#include "srs.h"

/* What a recipient is, before the replay store is asked. */
enum policy_class {
	POLICY_NOT_OURS,	/* neither in Domains nor at SRSDomain: no opinion */
	POLICY_UNTAGGED,	/* ours, no tag */
	POLICY_PRVS,		/* ours, prvs tagged (see .prvs) */
	POLICY_SRS,		/* at SRSDomain (see .srs_err) */
	POLICY_UNPARSABLE,	/* ours (a domain of ours, or unqualified) but does not parse */
	POLICY_UNRESOLVED,	/* routed (%, !, source route) to a local box not in Domains */
};

/* What the MTA says about a recipient and itself (Sendmail macro names; any may be NULL). */
struct policy_mta {
	const char *myhostname;		/* j */
	const char *self_addr;		/* {daemon_addr} or {if_addr}: its own IP address */
	const char *rcpt_addr;		/* {rcpt_addr}: Postfix's is the address resolved */
	const char *rcpt_mailer;	/* {rcpt_mailer}: the delivery agent ("local", "virtual") */
	const char *rcpt_host;		/* {rcpt_host}: the next hop ($myhostname: local) */
};

struct policy_rcpt {
	enum policy_class cls;
	enum prvs_verdict prvs;	/* POLICY_PRVS */
	int srs_err;		/* POLICY_SRS: 0 or an srs_err */
	bool has_plain;		/* plain holds the stripped or reversed address */
	bool legacy;		/* POLICY_SRS: reversed by a postsrsd secret (srs-legacy.h) */
	struct addr plain;
	long expiry_day;	/* POLICY_PRVS valid: the UTC day the tag expires */
};

/* What the replay store said about a valid tag. */
enum policy_replay_state { POLICY_REPLAY_OFF, POLICY_REPLAY_COUNT, POLICY_REPLAY_ERROR };

struct policy_replay {
	enum policy_replay_state state;
	unsigned long count;	/* bounces already accepted for this tag */
};

enum policy_action { POLICY_ACCEPT, POLICY_REJECT, POLICY_TEMPFAIL };

struct policy_decision {
	enum policy_action action;	/* what the MTA is told at RCPT */
	bool rewrite;			/* at EOM: delete the recipient, add rcpt.plain */
	bool count;			/* at EOM: count one bounce against the tag */
	bool mark;			/* add the X-Backstop header */
	bool dry_run;			/* action was softened from reject/tempfail by DryRun */
	bool eom;			/* accepted for now: policy_decide_eom has the last word */
	bool answer;			/* at EOM: count one answer against the sent message the
					 * message answers (replay_sent_answer) */
	const char *verdict;		/* one word for logs and the header */
	const char *why;		/* the reason, for the reply text and the log */
};

/* What the sent record says of a message's references, for one recipient. */
enum policy_ref {
	POLICY_REF_ABSENT,	/* no reference, or none the record can vouch for yet (SentSince) */
	POLICY_REF_UNKNOWN,	/* references, none of them sent by this recipient */
	POLICY_REF_KNOWN,	/* a reference to a message this recipient sent */
};

/* What a message is and what it answers, gathered at end of message for one recipient. */
struct policy_answer {
	enum msgclass_kind kind;
	enum policy_ref ref;
	enum msgclass_source source;	/* POLICY_REF_KNOWN/UNKNOWN: where the reference was */
	unsigned long answers;		/* POLICY_REF_KNOWN: answers already accepted to it */
	bool error;			/* the sent record failed: OnInternalError */
	unsigned long rcpts;		/* POLICY_REF_KNOWN: the recipients it was sent to */
	bool generated;			/* the only auto-reply sign is Auto-Submitted:
					 * auto-generated: a notice (RFC 3834), not a reply */
};

/* Outcome of trying to sign an outbound sender. */
enum policy_sign {
	POLICY_SIGN_OK,			/* out holds the tagged sender */
	POLICY_SIGN_NOT_OURS,		/* sender not in Domains */
	POLICY_SIGN_EXEMPT_SENDER,
	POLICY_SIGN_EXEMPT_RCPT,
	POLICY_SIGN_TAGGED,		/* already carries prvs or SRS */
	POLICY_SIGN_QUOTED,
	POLICY_SIGN_TOOLONG,
	POLICY_SIGN_NOKEY,
	POLICY_SIGN_BOUNCE,		/* null or bounce sender: nothing to sign */
};

/* policy_outbound - is mail from this client outbound (InternalHosts, auth, daemon name)? */
bool policy_outbound(const struct conf *c, sa_family_t family, const void *ip,
    const char *auth_authen, const char *daemon_name);
/* policy_bounce - is this sender a bounce (<> or BounceSenders)? */
bool policy_bounce(const struct conf *c, const struct addr *sender);
/* policy_exempt_rcpt - does this recipient leave the message unsigned? */
bool policy_exempt_rcpt(const struct conf *c, const struct addr *rcpt);
/* policy_sign - the tagged form of an outbound sender, or why not */
enum policy_sign policy_sign(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *sender, bool rcpt_exempt, struct addr *out);
/* policy_sign_name - a word for each policy_sign outcome, for the log */
const char *policy_sign_name(enum policy_sign s);
/* policy_rcpt_parse - a recipient as the MTA will deliver it: as addr_parse, but a root dot
 * after the domain is dropped and an unqualified local part gets the first of Domains (as
 * Postfix's append_at_myorigin or Sendmail's local delivery would); 0 or addr_parse's error */
int policy_rcpt_parse(const struct conf *c, const char *text, struct addr *out);
/* policy_classify_unparsable - what a recipient policy_rcpt_parse refused is: POLICY_UNPARSABLE
 * when its domain is ours (or it has none), else POLICY_NOT_OURS */
void policy_classify_unparsable(const struct conf *c, const char *text, struct policy_rcpt *out);
/* policy_rcpt_resolve - classify an inbound recipient as the MTA will deliver it: through
 * source routes, the % hack, bang paths and the MTA's own names, else as its {rcpt_addr};
 * true when *rcpt holds the address judged (the replay store's key) */
bool policy_rcpt_resolve(const struct conf *c, const struct keyring *kr, time_t now,
    const char *text, const struct policy_mta *m, struct addr *rcpt, struct policy_rcpt *out);
/* policy_classify - what an inbound recipient is, and its plain form */
void policy_classify(const struct conf *c, const struct keyring *kr, time_t now,
    const struct addr *rcpt, struct policy_rcpt *out);
/* policy_needs_replay - should the store be asked before policy_decide? */
bool policy_needs_replay(const struct conf *c, bool bounce, const struct policy_rcpt *r);
/* policy_decide - the RCPT-time decision for one inbound recipient */
void policy_decide(const struct conf *c, time_t created, time_t now, bool bounce,
    const struct policy_rcpt *r, const struct policy_replay *replay,
    struct policy_decision *out);
/* policy_decide_eom - the end-of-message decision for a recipient that policy_decide accepted
 * with eom set, from what the message is and answers (the replies issue's table); out starts
 * as policy_decide's answer and is left alone when eom is not set. a->error counts only where
 * the reference decides (a delivery report to a valid tag, null-sender mail other than a
 * delivery report to an untagged address, an auto-reply); eom stays set. */
void policy_decide_eom(const struct conf *c, time_t created, time_t now, bool bounce,
    const struct policy_rcpt *r, const struct policy_answer *a, struct policy_decision *out);
/* policy_ref_counts - until SentSince + SentRetention has passed, a reference the record does
 * not know says nothing (it may predate the record): is the record complete at now? With
 * SentSince auto, store_since (0: this process recorded nothing yet) is where it began */
bool policy_ref_counts(const struct conf *c, time_t store_since, time_t now);
/* policy_internal_error - the decision when the keys or the store failed */
void policy_internal_error(const struct conf *c, const char *why, struct policy_decision *out);
/* policy_srs_params - the SRS parameters of a configuration */
void policy_srs_params(const struct conf *c, struct srs_params *out);
/* policy_action_name - "accept", "reject", "tempfail" */
const char *policy_action_name(enum policy_action a);

#endif
