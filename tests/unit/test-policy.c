/* test-policy: every row of the milter's decisions (backstop-milter(8), README.md), for bounces and
 * non-bounces, under each On* value, DryRun, the TaggingSince window, exemptions,
 * BounceSenders and the outbound test, against real keys, tags and SRS addresses; and the
 * replies issue's end-of-message table (policy_decide_eom) row by row. */
#include "config.h"

#include <arpa/inet.h>
#include <sodium.h>

#include "clock.h"
#include "conf.h"
#include "policy.h"
#include "tap.h"

#define NOW ((time_t)1764183600)	/* 2025-11-26 */
#define DAY ((time_t)86400)

static struct keyring *kr;

enum kind {
	K_VALID, K_EXPIRED, K_BADMAC, K_UNKNOWN, K_MALFORMED, K_UNTAGGED, K_NOT_OURS,
	K_SRS_VALID, K_SRS_BAD, K_SRS_PLAIN, K_SUBDOMAIN,
};

static const char *kind_name[] = {
	"valid", "expired", "badmac", "unknown-key", "malformed", "untagged", "not-ours",
	"srs-valid", "srs-bad", "srs-plain", "subdomain-valid",
};

static struct conf *
conf_of(const char *extra)
{
	char text[2048], err[512];
	struct conf *c = NULL;

	/* duplicates are errors, so a default here yields to the row's own setting */
	snprintf(text, sizeof(text),
	    "Domains example.com, .example.net\nSRSDomain fwd.example.com\n%s%s%s%s", extra,
	    strstr(extra, "ReplayDatabase") ? "" : "ReplayDatabase /nonexistent\n",
	    strstr(extra, "MaxBouncesPerTag") ? "" : "MaxBouncesPerTag 3\n",
	    strstr(extra, "TaggingSince") ? "" : "TaggingSince 1000000\n");
	if (conf_parse(text, strlen(text), "test.conf", &c, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		bail_out("test configuration does not parse");
	}
	return c;
}

static struct addr
parse(const char *s)
{
	struct addr a;

	if (addr_parse(&a, s, strlen(s)) != 0)
		bail_out(s);
	return a;
}

static struct addr
make_rcpt(const struct conf *c, enum kind k)
{
	struct addr plain = parse("alice@example.com"), out;
	struct srs_params p;

	policy_srs_params(c, &p);
	switch (k) {
	case K_VALID:
		if (prvs_sign(kr, &plain, NOW, 7, &out) != 0)
			bail_out("sign");
		return out;
	case K_SUBDOMAIN:
		plain = parse("carol@mx.example.net");
		if (prvs_sign(kr, &plain, NOW, 7, &out) != 0)
			bail_out("sign");
		return out;
	case K_EXPIRED:
		if (prvs_sign(kr, &plain, NOW - 10 * DAY, 7, &out) != 0)
			bail_out("sign");
		return out;
	case K_BADMAC:
		if (prvs_sign(kr, &plain, NOW, 7, &out) != 0)
			bail_out("sign");
		out.local[14] = out.local[14] == '0' ? '1' : '0';
		return out;
	case K_UNKNOWN: return parse("prvs=3123abcdef=alice@example.com");
	case K_MALFORMED: return parse("prvs=12=alice@example.com");
	case K_UNTAGGED: return plain;
	case K_NOT_OURS: return parse("bob@other.org");
	case K_SRS_VALID:
		plain = parse("bob@other.org");
		if (srs_forward(&p, kr, NOW, &plain, &out) != 0)
			bail_out("srs forward");
		return out;
	case K_SRS_BAD: return parse("SRS0=aaaaa=2W=other.org=bob@fwd.example.com");
	case K_SRS_PLAIN: return parse("postmaster@fwd.example.com");
	}
	return plain;
}

struct row {
	const char *conf;
	int bounce;
	enum kind kind;
	enum policy_replay_state replay;
	unsigned long count;
	enum policy_action action;
	int rewrite, count_it, mark;
	const char *verdict;
};

static const struct row rows[] = {
	/* bounces, default actions */
	{ "", 1, K_VALID, POLICY_REPLAY_COUNT, 0, POLICY_ACCEPT, 1, 1, 1, "valid" },
	{ "", 1, K_SUBDOMAIN, POLICY_REPLAY_COUNT, 0, POLICY_ACCEPT, 1, 1, 1, "valid" },
	{ "", 1, K_VALID, POLICY_REPLAY_COUNT, 2, POLICY_ACCEPT, 1, 1, 1, "valid" },
	{ "", 1, K_VALID, POLICY_REPLAY_COUNT, 3, POLICY_REJECT, 0, 0, 1, "replay" },
	{ "", 1, K_VALID, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "valid" },
	{ "", 1, K_VALID, POLICY_REPLAY_ERROR, 0, POLICY_TEMPFAIL, 0, 0, 1, "error" },
	{ "", 1, K_EXPIRED, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "expired" },
	{ "", 1, K_BADMAC, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "badmac" },
	{ "", 1, K_UNKNOWN, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "unknown-key" },
	{ "", 1, K_MALFORMED, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "malformed" },
	/* untagged: decided at EOM (UntaggedBounceDecision eom, the default; see eom_rows) */
	{ "", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "pending" },
	{ "UntaggedBounceDecision rcpt\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "untagged" },
	{ "", 1, K_NOT_OURS, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 0, "not-ours" },
	{ "", 1, K_SRS_VALID, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "srs-valid" },
	{ "", 1, K_SRS_BAD, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "srs-invalid" },
	{ "", 1, K_SRS_PLAIN, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "pending" },
	{ "UntaggedBounceDecision rcpt\n", 1, K_SRS_PLAIN, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "untagged" },
	/* non-bounces */
	{ "", 0, K_VALID, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "valid" },
	{ "", 0, K_EXPIRED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "expired" },
	{ "", 0, K_BADMAC, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "badmac" },
	{ "", 0, K_UNKNOWN, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "unknown-key" },
	{ "", 0, K_MALFORMED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "malformed" },
	{ "", 0, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 0, "untagged" },
	{ "", 0, K_NOT_OURS, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 0, "not-ours" },
	{ "", 0, K_SRS_VALID, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "srs-valid" },
	{ "", 0, K_SRS_BAD, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "srs-invalid" },
	{ "", 0, K_SRS_PLAIN, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 0, "untagged" },
	/* each On* value */
	{ "UntaggedBounceDecision rcpt\nOnUntagged tempfail\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_TEMPFAIL, 0, 0, 1, "untagged" },
	{ "UntaggedBounceDecision rcpt\nOnUntagged accept\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "untagged" },
	{ "UntaggedBounceDecision rcpt\nOnUntagged mark\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "untagged" },
	{ "OnInvalid tempfail\n", 1, K_BADMAC, POLICY_REPLAY_OFF, 0, POLICY_TEMPFAIL, 0, 0, 1, "badmac" },
	{ "OnInvalid accept\n", 1, K_EXPIRED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "expired" },
	{ "OnInvalid mark\n", 1, K_EXPIRED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "expired" },
	{ "OnInvalid tempfail\n", 0, K_SRS_BAD, POLICY_REPLAY_OFF, 0, POLICY_TEMPFAIL, 0, 0, 1, "srs-invalid" },
	{ "OnReplay tempfail\n", 1, K_VALID, POLICY_REPLAY_COUNT, 3, POLICY_TEMPFAIL, 0, 0, 1, "replay" },
	{ "OnReplay accept\n", 1, K_VALID, POLICY_REPLAY_COUNT, 9, POLICY_ACCEPT, 1, 1, 1, "replay" },
	{ "OnReplay mark\n", 1, K_VALID, POLICY_REPLAY_COUNT, 3, POLICY_ACCEPT, 1, 1, 1, "replay" },
	{ "MaxBouncesPerTag 0\n", 1, K_VALID, POLICY_REPLAY_COUNT, 99999, POLICY_ACCEPT, 1, 1, 1, "valid" },
	{ "OnInternalError reject\n", 1, K_VALID, POLICY_REPLAY_ERROR, 0, POLICY_REJECT, 0, 0, 1, "error" },
	{ "OnInternalError accept\n", 1, K_VALID, POLICY_REPLAY_ERROR, 0, POLICY_ACCEPT, 1, 0, 1, "error" },
	/* DryRun rejects nothing and marks everything it has an opinion on */
	{ "DryRun yes\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "pending" },
	{ "UntaggedBounceDecision rcpt\nDryRun yes\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "untagged" },
	{ "DryRun yes\n", 1, K_BADMAC, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "badmac" },
	{ "DryRun yes\n", 1, K_VALID, POLICY_REPLAY_COUNT, 3, POLICY_ACCEPT, 1, 1, 1, "replay" },
	{ "DryRun yes\n", 1, K_SRS_BAD, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "srs-invalid" },
	{ "DryRun yes\n", 0, K_VALID, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 1, 0, 1, "valid" },
	{ "DryRun yes\n", 1, K_NOT_OURS, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 0, "not-ours" },
	/* the TaggingSince window: explicit, and auto from the key store's creation */
	{ "TaggingSince 1764000000\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "untagged-window" },
	{ "TaggingSince 2025-11-20\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "untagged-window" },
	{ "TaggingSince 1763000000\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1, "pending" },
	{ "UntaggedBounceDecision rcpt\nTaggingSince 1763000000\n", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "untagged" },
	{ "TaggingSince 1764000000\n", 1, K_BADMAC, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1, "badmac" },
};

static void
check_row(size_t i, const struct row *r, time_t created, const char *extra)
{
	struct conf *c = conf_of(extra);
	struct addr rcpt = make_rcpt(c, r->kind);
	struct policy_rcpt pr;
	struct policy_replay rp = { r->replay, r->count };
	struct policy_decision d;
	char what[256];

	snprintf(what, sizeof(what), "row %zu: %s %s [%.*s]", i, r->bounce ? "bounce" : "mail",
	    kind_name[r->kind], (int)strcspn(extra, "\n"), extra);
	policy_classify(c, kr, NOW, &rcpt, &pr);
	policy_decide(c, created, NOW, r->bounce, &pr, &rp, &d);
	is_str(policy_action_name(d.action), policy_action_name(r->action), "%s: action", what);
	is_str(d.verdict, r->verdict, "%s: verdict", what);
	ok(d.rewrite == r->rewrite && d.count == r->count_it && d.mark == r->mark,
	    "%s: rewrite %d count %d mark %d", what, d.rewrite, d.count, d.mark);
	if (d.rewrite && (r->kind == K_VALID || r->kind == K_EXPIRED))
		is_str(pr.plain.local, "alice", "%s: stripped to alice", what);
	conf_free(c);
}

static void
test_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(i, &rows[i], 0, rows[i].conf);
}

/* The replies issue's decisions table, one row per row of it, plus DryRun, the TaggingSince
 * window, the answer limit, a failing sent record and UntaggedBounceDecision rcpt: the RCPT
 * answer (left to EOM or not), then the final one after policy_decide_eom. */
struct eom_row {
	const char *conf;
	int bounce;
	enum kind kind;
	unsigned long count;		/* bounces already accepted for the tag */
	enum msgclass_kind mk;
	enum policy_ref ref;
	unsigned long answers;		/* answers already accepted to the referenced message */
	int error;			/* the sent record failed */
	int rcpt_eom;			/* policy_decide left it to EOM */
	enum policy_action action;	/* the final answer */
	const char *verdict;
	int mark, count_it, answer, dry_run;
	const char *why;		/* a part of the reason given, or NULL */
};

/* names for test output (msgclass.c's own are not this test's subject) */
static const char *mk_name[] = { "none", "delivery-report", "read-receipt", "auto-reply" };

#define DSN MSGCLASS_DSN
#define MDN MSGCLASS_MDN
#define AUTO MSGCLASS_AUTOREPLY
#define OTHER MSGCLASS_NONE
#define KNOWN POLICY_REF_KNOWN
#define UNKNOWN POLICY_REF_UNKNOWN
#define ABSENT POLICY_REF_ABSENT
#define ACC POLICY_ACCEPT
#define REJ POLICY_REJECT
#define TMP POLICY_TEMPFAIL

static const struct eom_row eom_rows[] = {
	/* valid tag, delivery report, known: accept, as today (counted) */
	{ "", 1, K_VALID, 0, DSN, KNOWN, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, "valid address tag" },
	/* valid tag, delivery report, unknown: OnUnknownOriginal (mark) */
	{ "", 1, K_VALID, 0, DSN, UNKNOWN, 0, 0, 1, ACC, "unknown-original", 1, 1, 0, 0,
	    "bounce of a message this address never sent (backscatter)" },
	{ "OnUnknownOriginal reject\n", 1, K_VALID, 0, DSN, UNKNOWN, 0, 0, 1, REJ,
	    "unknown-original", 1, 0, 0, 0, "never sent" },
	{ "OnUnknownOriginal tempfail\n", 1, K_VALID, 2, DSN, UNKNOWN, 0, 0, 1, TMP,
	    "unknown-original", 1, 0, 0, 0, NULL },
	{ "OnUnknownOriginal accept\n", 1, K_VALID, 0, DSN, UNKNOWN, 0, 0, 0, ACC, "valid", 1, 1,
	    0, 0, NULL },
	{ "DryRun yes\nOnUnknownOriginal reject\n", 1, K_VALID, 0, DSN, UNKNOWN, 0, 0, 1, ACC,
	    "unknown-original", 1, 1, 0, 1, NULL },
	/* valid tag, other, or reference absent: as today */
	{ "", 1, K_VALID, 0, DSN, ABSENT, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, NULL },
	{ "", 1, K_VALID, 0, MDN, UNKNOWN, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, NULL },
	{ "", 1, K_VALID, 0, AUTO, UNKNOWN, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, NULL },
	{ "", 1, K_VALID, 0, OTHER, UNKNOWN, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, NULL },
	{ "", 1, K_VALID, 0, OTHER, KNOWN, 0, 0, 1, ACC, "valid", 1, 1, 0, 0, NULL },
	{ "", 0, K_VALID, 0, AUTO, UNKNOWN, 0, 0, 0, ACC, "valid", 1, 0, 0, 0, NULL },
	/* valid tag: OnReplay stays at RCPT; a failing record only matters for a report */
	{ "", 1, K_VALID, 3, DSN, UNKNOWN, 0, 0, 0, REJ, "replay", 1, 0, 0, 0, NULL },
	{ "", 1, K_VALID, 0, DSN, UNKNOWN, 0, 1, 1, TMP, "error", 1, 0, 0, 0, NULL },
	{ "", 1, K_VALID, 0, MDN, ABSENT, 0, 1, 1, ACC, "valid", 1, 1, 0, 0, NULL },

	/* untagged, null sender, delivery report, any reference: as today (OnUntagged) */
	{ "", 1, K_UNTAGGED, 0, DSN, KNOWN, 0, 0, 1, ACC, "proven", 1, 0, 1, 0,
	    "bounce of a message this address sent" },	/* sent unsigned: proven (review) */
	{ "", 1, K_UNTAGGED, 0, DSN, KNOWN, 3, 0, 1, REJ, "replay", 1, 0, 0, 0, NULL },
	{ "", 1, K_UNTAGGED, 0, DSN, UNKNOWN, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0, NULL },
	{ "", 1, K_UNTAGGED, 0, DSN, ABSENT, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0, NULL },
	{ "", 1, K_UNTAGGED, 0, DSN, ABSENT, 0, 1, 1, REJ, "untagged", 1, 0, 0, 0, NULL },
	{ "OnUntagged mark\n", 1, K_UNTAGGED, 0, DSN, ABSENT, 0, 0, 1, ACC, "untagged", 1, 0, 0,
	    0, NULL },
	{ "TaggingSince 1764000000\n", 1, K_UNTAGGED, 0, DSN, UNKNOWN, 0, 0, 0, ACC,
	    "untagged-window", 1, 0, 0, 0, NULL },
	/* untagged, null sender, read receipt, auto-reply, other, known: proven, then OnReplay */
	{ "", 1, K_UNTAGGED, 0, MDN, KNOWN, 0, 0, 1, ACC, "proven", 1, 0, 1, 0,
	    "read receipt of a message this address sent" },
	{ "", 1, K_UNTAGGED, 0, AUTO, KNOWN, 0, 0, 1, ACC, "proven", 1, 0, 1, 0,
	    "auto-reply to a message this address sent" },
	{ "", 1, K_UNTAGGED, 0, OTHER, KNOWN, 2, 0, 1, ACC, "proven", 1, 0, 1, 0, NULL },
	{ "", 1, K_UNTAGGED, 0, MDN, KNOWN, 3, 0, 1, REJ, "replay", 1, 0, 0, 0,
	    "too many answers to one message this address sent (backscatter)" },
	{ "OnReplay mark\n", 1, K_UNTAGGED, 0, AUTO, KNOWN, 3, 0, 1, ACC, "replay", 1, 0, 1, 0,
	    NULL },
	{ "MaxBouncesPerTag 0\n", 1, K_UNTAGGED, 0, OTHER, KNOWN, 99999, 0, 1, ACC, "proven", 1,
	    0, 1, 0, NULL },
	{ "DryRun yes\n", 1, K_UNTAGGED, 0, MDN, KNOWN, 3, 0, 1, ACC, "replay", 1, 0, 1, 1, NULL },
	/* untagged, null sender, read receipt, auto-reply, unknown: OnUntagged */
	{ "", 1, K_UNTAGGED, 0, MDN, UNKNOWN, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0,
	    "read receipt of a message this address never sent (backscatter)" },
	{ "", 1, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0,
	    "auto-reply to a message this address never sent (backscatter)" },
	{ "OnUntagged tempfail\n", 1, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 1, TMP, "untagged", 1,
	    0, 0, 0, NULL },
	{ "DryRun yes\n", 1, K_UNTAGGED, 0, MDN, UNKNOWN, 0, 0, 1, ACC, "untagged", 1, 0, 0, 1,
	    NULL },
	/* untagged, null sender, read receipt, auto-reply, absent: OnAutoReply (mark) */
	{ "", 1, K_UNTAGGED, 0, MDN, ABSENT, 0, 0, 1, ACC, "auto-reply", 1, 0, 0, 0,
	    "read receipt that names no message this address is known to have sent" },
	{ "", 1, K_UNTAGGED, 0, AUTO, ABSENT, 0, 0, 1, ACC, "auto-reply", 1, 0, 0, 0,
	    "auto-reply that names no message this address is known to have sent" },
	{ "OnAutoReply reject\n", 1, K_UNTAGGED, 0, AUTO, ABSENT, 0, 0, 1, REJ, "auto-reply", 1,
	    0, 0, 0, NULL },
	/* untagged, null sender, other, unknown or absent: OnUntagged */
	{ "", 1, K_UNTAGGED, 0, OTHER, UNKNOWN, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0,
	    "never sent" },
	{ "", 1, K_UNTAGGED, 0, OTHER, ABSENT, 0, 0, 1, REJ, "untagged", 1, 0, 0, 0,
	    "bounce to an unsigned address (backscatter)" },
	{ "OnUntagged accept\n", 1, K_UNTAGGED, 0, OTHER, ABSENT, 0, 0, 1, ACC, "untagged", 1, 0,
	    0, 0, NULL },
	/* untagged, null sender: a failing record, the window, UntaggedBounceDecision rcpt */
	{ "", 1, K_UNTAGGED, 0, MDN, KNOWN, 0, 1, 1, TMP, "error", 1, 0, 0, 0, NULL },
	{ "OnInternalError accept\n", 1, K_UNTAGGED, 0, AUTO, ABSENT, 0, 1, 1, ACC, "error", 1, 0,
	    0, 0, NULL },
	{ "TaggingSince 1764000000\n", 1, K_UNTAGGED, 0, MDN, UNKNOWN, 0, 0, 0, ACC,
	    "untagged-window", 1, 0, 0, 0, NULL },
	{ "UntaggedBounceDecision rcpt\n", 1, K_UNTAGGED, 0, MDN, KNOWN, 0, 0, 0, REJ, "untagged",
	    1, 0, 0, 0, "bounce to an unsigned address (backscatter)" },

	/* untagged, non-null sender, auto-reply, known: accept (proven), no answer limit */
	{ "", 0, K_UNTAGGED, 0, AUTO, KNOWN, 0, 0, 1, ACC, "proven", 1, 0, 0, 0,
	    "auto-reply to a message this address sent" },
	{ "", 0, K_UNTAGGED, 0, AUTO, KNOWN, 99, 0, 1, ACC, "proven", 1, 0, 0, 0, NULL },
	/* untagged, non-null sender, auto-reply, unknown or absent: OnAutoReply (mark) */
	{ "", 0, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 1, ACC, "auto-reply", 1, 0, 0, 0,
	    "auto-reply to a message this address never sent (backscatter)" },
	{ "", 0, K_UNTAGGED, 0, AUTO, ABSENT, 0, 0, 1, ACC, "auto-reply", 1, 0, 0, 0,
	    "auto-reply that names no message this address is known to have sent" },
	{ "OnAutoReply reject\n", 0, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 1, REJ, "auto-reply", 1,
	    0, 0, 0, NULL },
	{ "OnAutoReply tempfail\n", 0, K_UNTAGGED, 0, AUTO, ABSENT, 0, 0, 1, TMP, "auto-reply", 1,
	    0, 0, 0, NULL },
	{ "DryRun yes\nOnAutoReply reject\n", 0, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 1, ACC,
	    "auto-reply", 1, 0, 0, 1, NULL },
	{ "OnAutoReply accept\n", 0, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 0, 0, ACC, "untagged", 0, 0,
	    0, 0, NULL },
	{ "", 0, K_UNTAGGED, 0, AUTO, UNKNOWN, 0, 1, 1, TMP, "error", 1, 0, 0, 0, NULL },
	/* untagged, non-null sender, other kinds: as today */
	{ "", 0, K_UNTAGGED, 0, OTHER, KNOWN, 0, 0, 1, ACC, "untagged", 0, 0, 0, 0, NULL },
	{ "", 0, K_UNTAGGED, 0, OTHER, UNKNOWN, 0, 0, 1, ACC, "untagged", 0, 0, 0, 0, NULL },
	{ "", 0, K_UNTAGGED, 0, MDN, UNKNOWN, 0, 0, 1, ACC, "untagged", 0, 0, 0, 0, NULL },
	{ "", 0, K_UNTAGGED, 0, DSN, ABSENT, 0, 0, 1, ACC, "untagged", 0, 0, 0, 0, NULL },
	{ "", 0, K_UNTAGGED, 0, OTHER, ABSENT, 0, 1, 1, ACC, "untagged", 0, 0, 0, 0, NULL },

	/* not ours, and SRS: never left to EOM */
	{ "", 1, K_NOT_OURS, 0, DSN, UNKNOWN, 0, 0, 0, ACC, "not-ours", 0, 0, 0, 0, NULL },
	{ "", 0, K_NOT_OURS, 0, AUTO, UNKNOWN, 0, 0, 0, ACC, "not-ours", 0, 0, 0, 0, NULL },
	{ "", 1, K_SRS_VALID, 0, AUTO, UNKNOWN, 0, 0, 0, ACC, "srs-valid", 1, 0, 0, 0, NULL },
};

static void
check_eom_row(size_t i, const struct eom_row *e)
{
	struct conf *c = conf_of(e->conf);
	struct addr rcpt = make_rcpt(c, e->kind);
	struct policy_rcpt pr;
	struct policy_replay rp = { POLICY_REPLAY_COUNT, e->count };
	struct policy_answer a = { e->mk, e->ref, MSGCLASS_IN_REPLY_TO, e->answers, e->error,
		1, false };
	struct policy_decision d;
	char what[256];

	snprintf(what, sizeof(what), "eom row %zu: %s %s %s ref %d answers %lu%s [%.*s]", i,
	    e->bounce ? "null sender" : "sender", kind_name[e->kind], mk_name[e->mk],
	    (int)e->ref, e->answers, e->error ? " error" : "", (int)strcspn(e->conf, "\n"),
	    e->conf);
	policy_classify(c, kr, NOW, &rcpt, &pr);
	policy_decide(c, 0, NOW, e->bounce, &pr, &rp, &d);
	ok(d.eom == e->rcpt_eom && (!d.eom || d.action == POLICY_ACCEPT),
	    "%s: RCPT %s, eom %d", what, policy_action_name(d.action), d.eom);
	/* a decision RCPT made final is left alone */
	policy_decide_eom(c, 0, NOW, e->bounce, &pr, &a, &d);
	is_str(policy_action_name(d.action), policy_action_name(e->action), "%s: action", what);
	is_str(d.verdict, e->verdict, "%s: verdict", what);
	ok(d.mark == e->mark && d.count == e->count_it && d.answer == e->answer &&
	    d.dry_run == e->dry_run, "%s: mark %d count %d answer %d dry_run %d", what, d.mark,
	    d.count, d.answer, d.dry_run);
	ok(d.rewrite == (d.action == POLICY_ACCEPT && pr.has_plain), "%s: rewrite %d", what,
	    d.rewrite);
	ok(d.why != NULL && (e->why == NULL ? d.why[0] != '\0' : strstr(d.why, e->why) != NULL),
	    "%s: why '%s'", what, d.why != NULL ? d.why : "(null)");
	conf_free(c);
}

static void
test_eom_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(eom_rows) / sizeof(eom_rows[0]); i++)
		check_eom_row(i, &eom_rows[i]);
}

/* eom_answer - policy_decide then policy_decide_eom for an untagged recipient */
static void
eom_answer(const char *text, int bounce, const struct policy_answer *a,
    struct policy_decision *d)
{
	struct conf *c = conf_of(text);
	struct addr rcpt = make_rcpt(c, K_UNTAGGED);
	struct policy_rcpt pr;
	struct policy_replay rp = { POLICY_REPLAY_COUNT, 0 };

	policy_classify(c, kr, NOW, &rcpt, &pr);
	policy_decide(c, 0, NOW, bounce, &pr, &rp, d);
	policy_decide_eom(c, 0, NOW, bounce, &pr, a, d);
	conf_free(c);
}

/* The answer limit grows with the recipients the message had; a notice with a sender
 * (Auto-Submitted: auto-generated: cron, CI, ticket systems) is not judged as a reply. */
static void
test_eom_review(void)
{
	struct policy_answer a = { MSGCLASS_AUTOREPLY, POLICY_REF_KNOWN, MSGCLASS_IN_REPLY_TO, 24,
		false, 50, false };
	struct policy_decision d;

	eom_answer("", 1, &a, &d);
	is_str(d.verdict, "proven", "answer 25 of a message to 50 recipients: proven");
	a.answers = 99;
	eom_answer("", 1, &a, &d);
	is_str(d.verdict, "proven", "answer 100 of a message to 50 recipients: proven");
	a.answers = 100;
	eom_answer("", 1, &a, &d);
	is_str(d.verdict, "replay", "answer 101 of a message to 50 recipients: OnReplay");
	a.answers = 25;
	a.rcpts = 1;
	eom_answer("", 1, &a, &d);
	is_str(d.verdict, "replay", "answer 26 of a message to one recipient: OnReplay");
	a.ref = POLICY_REF_ABSENT;
	a.generated = true;
	eom_answer("OnAutoReply reject\n", 0, &a, &d);
	ok(d.action == POLICY_ACCEPT && !d.mark, "a notice with a sender (auto-generated): "
	    "untouched, not refused by OnAutoReply reject (%s)", d.verdict);
	a.generated = false;
	eom_answer("OnAutoReply reject\n", 0, &a, &d);
	is_str(policy_action_name(d.action), "reject", "the same as an auto-reply: refused");
}

/* Until SentSince (auto: the store's own start) + SentRetention, an unknown reference says
 * nothing; with no record at all it never does. */
static void
test_ref_counts(void)
{
	static const struct {
		const char *conf;
		time_t store_since;
		int want;
	} since[] = {
		{ "", 0, 0 },
		{ "", -1, 0 },
		{ "", NOW - 31 * DAY, 1 },
		{ "", NOW - 30 * DAY, 1 },
		{ "", NOW - 30 * DAY + 1, 0 },
		{ "", NOW, 0 },
		{ "SentRetention 1\n", NOW - 2 * DAY, 1 },
		{ "SentRetention 60\n", NOW - 31 * DAY, 0 },
		{ "RecordSent no\n", NOW - 100 * DAY, 0 },
		{ "ReplayDatabase none\n", NOW - 100 * DAY, 0 },
		{ "SentSince 2025-10-01\n", NOW - DAY, 1 },
		{ "SentSince 2025-11-20\n", NOW - 100 * DAY, 0 },
		{ "SentSince 2025-10-27T19:00:00\n", NOW - DAY, 1 },
		{ "SentSince 2025-10-27T19:00:01\n", NOW - DAY, 0 },
		{ "SentSince 2025-10-01\n", 0, 1 },	/* a date: the admin vouches, recorded or not */
	};
	size_t i;

	for (i = 0; i < sizeof(since) / sizeof(since[0]); i++) {
		struct conf *c = conf_of(since[i].conf);

		is_int(policy_ref_counts(c, since[i].store_since, NOW), since[i].want,
		    "ref counts [%.*s] store since now%+lld s", (int)strcspn(since[i].conf, "\n"),
		    since[i].conf, (long long)(since[i].store_since - NOW));
		conf_free(c);
	}
}

static void
test_auto_window(void)
{
	static const struct row in = { "", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_ACCEPT, 0, 0, 1,
		"untagged-window" };
	static const struct row after = { "", 1, K_UNTAGGED, POLICY_REPLAY_OFF, 0, POLICY_REJECT, 0, 0, 1,
		"untagged" };
	static const char *rcpt = "TaggingSince auto\nUntaggedBounceDecision rcpt\n";

	check_row(100, &in, NOW - 6 * DAY, rcpt);
	check_row(101, &after, NOW - 8 * DAY, rcpt);
	check_row(102, &after, 0, rcpt);
}

static void
test_needs_replay(void)
{
	struct conf *c = conf_of(""), *off = conf_of("ReplayDatabase none\n");
	struct addr valid = make_rcpt(c, K_VALID), bad = make_rcpt(c, K_BADMAC);
	struct policy_rcpt pv, pb;

	policy_classify(c, kr, NOW, &valid, &pv);
	policy_classify(c, kr, NOW, &bad, &pb);
	ok(policy_needs_replay(c, true, &pv), "a valid bounce asks the store");
	ok(!policy_needs_replay(c, false, &pv), "mail to a valid tag does not");
	ok(!policy_needs_replay(c, true, &pb), "an invalid tag does not");
	ok(!policy_needs_replay(off, true, &pv), "ReplayDatabase none does not");
	conf_free(c);
	conf_free(off);
}

static void
test_outbound(void)
{
	struct conf *c = conf_of("InternalHosts 10.0.0.0/8, 2001:db8::/32\n"
	    "OutboundDaemonName ORIGINATING\n");
	struct in_addr v4;
	struct in6_addr v6;

	inet_pton(AF_INET, "10.1.2.3", &v4);
	ok(policy_outbound(c, AF_INET, &v4, NULL, NULL), "internal IPv4 client is outbound");
	inet_pton(AF_INET, "192.0.2.1", &v4);
	ok(!policy_outbound(c, AF_INET, &v4, NULL, NULL), "external IPv4 client is inbound");
	ok(policy_outbound(c, AF_INET, &v4, "alice", NULL), "authenticated client is outbound");
	ok(!policy_outbound(c, AF_INET, &v4, "", NULL), "empty {auth_authen} is not auth");
	ok(policy_outbound(c, AF_INET, &v4, NULL, "ORIGINATING"), "daemon name marks outbound");
	ok(!policy_outbound(c, AF_INET, &v4, NULL, "smtpd"), "other daemon name does not");
	inet_pton(AF_INET6, "2001:db8::25", &v6);
	ok(policy_outbound(c, AF_INET6, &v6, NULL, NULL), "internal IPv6 client is outbound");
	inet_pton(AF_INET6, "2001:db9::25", &v6);
	ok(!policy_outbound(c, AF_INET6, &v6, NULL, NULL), "external IPv6 client is inbound");
	ok(!policy_outbound(c, AF_INET, NULL, NULL, NULL), "unknown client address is inbound");
	conf_free(c);
}

static void
test_bounce_senders(void)
{
	struct conf *c = conf_of("BounceSenders mailer-daemon@*, postmaster@bounce.example.org\n");
	struct addr null = parse("<>"), md = parse("MAILER-DAEMON@mx.other.org"),
		pm = parse("postmaster@bounce.example.org"), user = parse("user@other.org");

	ok(policy_bounce(c, &null), "<> is a bounce");
	ok(policy_bounce(c, &md), "mailer-daemon@* matches any domain, any case");
	ok(policy_bounce(c, &pm), "an exact BounceSenders address matches");
	ok(!policy_bounce(c, &user), "an ordinary sender is not a bounce");
	conf_free(c);
}

static void
check_sign(const char *extra, const char *sender, bool rcpt_exempt, enum policy_sign want)
{
	struct conf *c = conf_of(extra);
	struct addr a = parse(sender), out;
	enum policy_sign got = policy_sign(c, kr, NOW, &a, rcpt_exempt, &out);

	is_str(policy_sign_name(got), policy_sign_name(want), "sign %s [%.*s]%s", sender,
	    (int)strcspn(extra, "\n"), extra, rcpt_exempt ? " exempt rcpt" : "");
	if (got == POLICY_SIGN_OK)
		ok(strncmp(out.local, "prvs=", 5) == 0 && strcmp(out.domain, a.domain) == 0,
		    "signed sender %s@%s", out.local, out.domain);
	conf_free(c);
}

static void
test_sign(void)
{
	check_sign("", "alice@example.com", false, POLICY_SIGN_OK);
	check_sign("", "alice@mx.example.net", false, POLICY_SIGN_OK);
	check_sign("", "alice@example.net", false, POLICY_SIGN_NOT_OURS);
	check_sign("", "alice@other.org", false, POLICY_SIGN_NOT_OURS);
	check_sign("", "<>", false, POLICY_SIGN_BOUNCE);
	check_sign("BounceSenders mailer-daemon@*\n", "mailer-daemon@example.com", false,
	    POLICY_SIGN_BOUNCE);
	check_sign("ExemptSenders noreply@example.com\n", "noreply@example.com", false,
	    POLICY_SIGN_EXEMPT_SENDER);
	check_sign("ExemptSenders .example.net\n", "alice@mx.example.net", false,
	    POLICY_SIGN_EXEMPT_SENDER);
	check_sign("", "alice@example.com", true, POLICY_SIGN_EXEMPT_RCPT);
	check_sign("", "prvs=0123abcdef=alice@example.com", false, POLICY_SIGN_TAGGED);
	check_sign("", "SRS0=abcd=2W=other.org=bob@example.com", false, POLICY_SIGN_TAGGED);
	check_sign("", "\"alice smith\"@example.com", false, POLICY_SIGN_QUOTED);
	check_sign("",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com", false,
	    POLICY_SIGN_TOOLONG);
}

static void
test_mixed_recipients(void)
{
	struct conf *c = conf_of("ExemptRecipients lists.example.org\n");
	struct addr r1 = parse("someone@lists.example.org"), r2 = parse("x@other.org");
	struct addr good = make_rcpt(c, K_VALID), bad = make_rcpt(c, K_BADMAC);
	struct policy_rcpt p1, p2;
	struct policy_replay rp = { POLICY_REPLAY_COUNT, 0 };
	struct policy_decision d1, d2;

	ok(policy_exempt_rcpt(c, &r1), "exempt recipient domain matches");
	ok(!policy_exempt_rcpt(c, &r2), "other recipient is not exempt");
	policy_classify(c, kr, NOW, &good, &p1);
	policy_classify(c, kr, NOW, &bad, &p2);
	policy_decide(c, 0, NOW, true, &p1, &rp, &d1);
	policy_decide(c, 0, NOW, true, &p2, &rp, &d2);
	ok(d1.action == POLICY_ACCEPT && d2.action == POLICY_REJECT,
	    "one bounce, two recipients: the valid one accepted, the forged one rejected");
	conf_free(c);
}

/* The spellings an MTA still delivers to one of our users must be judged like the plain form. */
static void
test_rcpt_spellings(void)
{
	static const struct {
		const char *text;
		int rc;			/* of policy_rcpt_parse */
		const char *as;		/* what it parses to */
	} spell[] = {
		{ "alice@example.com", ADDR_OK, "alice@example.com" },
		{ "<alice@example.com.>", ADDR_OK, "alice@example.com" },
		{ "alice@EXAMPLE.COM.", ADDR_OK, "alice@EXAMPLE.COM" },
		{ "<alice>", ADDR_OK, "alice@example.com" },
		{ "postmaster", ADDR_OK, "postmaster@example.com" },
		{ "<@hop.example:alice@example.com>", ADDR_OK, "alice@example.com" },
		{ "alice@example.com..", ADDR_EDOMAIN, NULL },
		{ "alice@.", ADDR_EDOMAIN, NULL },
		{ "x..y@example.com", ADDR_ELOCAL, NULL },
	};
	static const struct {
		const char *text;
		enum policy_class cls;
	} unparsable[] = {
		{ "x..y@example.com", POLICY_UNPARSABLE },
		{ "<x..y@EXAMPLE.com.>", POLICY_UNPARSABLE },
		{ "x..y@sub.example.net", POLICY_UNPARSABLE },
		{ "x..y@fwd.example.com", POLICY_UNPARSABLE },
		{ "x..y", POLICY_UNPARSABLE },
		{ "x..y@example.org", POLICY_NOT_OURS },
		{ "<>", POLICY_NOT_OURS },
		{ "", POLICY_NOT_OURS },
	};
	struct conf *c = conf_of("");
	const char *wild_text = "Domains .example.org\n";
	struct conf *wild = NULL;
	struct policy_replay rp = { POLICY_REPLAY_OFF, 0 };
	struct policy_decision d;
	struct policy_rcpt r;
	struct addr a;
	char buf[ADDR_TEXT_MAX];
	size_t i;

	if (conf_parse(wild_text, strlen(wild_text), "wild.conf", &wild, buf, sizeof(buf)) != 0)
		bail_out(buf);
	for (i = 0; i < sizeof(spell) / sizeof(spell[0]); i++) {
		int rc = policy_rcpt_parse(c, spell[i].text, &a);

		is_int(rc, spell[i].rc, "policy_rcpt_parse(%s)", spell[i].text);
		if (spell[i].as != NULL && rc == ADDR_OK) {
			addr_format(&a, buf, sizeof(buf));
			is_str(buf, spell[i].as, "%s is delivered as %s", spell[i].text, spell[i].as);
		}
	}
	ok(policy_rcpt_parse(wild, "bob", &a) == ADDR_OK && strcmp(a.domain, "example.org") == 0,
	    "only .example.org in Domains: bob is bob@example.org");
	for (i = 0; i < sizeof(unparsable) / sizeof(unparsable[0]); i++) {
		policy_classify_unparsable(c, unparsable[i].text, &r);
		is_int(r.cls, unparsable[i].cls, "%s is %s", unparsable[i].text,
		    unparsable[i].cls == POLICY_NOT_OURS ? "none of ours" : "ours, unparsable");
	}
	/* a bounce to "alice@example.com." is an untagged bounce, judged as one */
	if (policy_rcpt_parse(c, "alice@example.com.", &a) != ADDR_OK)
		bail_out("alice@example.com.");
	policy_classify(c, kr, NOW, &a, &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_ACCEPT && d.eom && strcmp(d.verdict, "pending") == 0,
	    "bounce to alice@example.com.: an untagged bounce, left to EOM");
	policy_classify_unparsable(c, "x..y@example.com", &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_REJECT && strcmp(d.verdict, "malformed") == 0 && d.mark &&
	    !d.rewrite && !d.count, "bounce to an unparsable address of ours: OnInvalid, malformed");
	policy_decide(c, 0, NOW, false, &r, &rp, &d);
	ok(d.action == POLICY_ACCEPT && !d.rewrite && !d.count,
	    "mail (not a bounce) to it: the MTA's business");
	conf_free(c);
	c = conf_of("OnInvalid tempfail\n");
	policy_classify_unparsable(c, "x..y@example.com", &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_TEMPFAIL, "OnInvalid tempfail applies to it");
	conf_free(c);
	conf_free(wild);
}

/* Spellings the MTA rewrites before delivery (Postfix's resolver with allow_percent_hack and
 * swap_bangpath, its default; Sendmail's local rules) are judged as the address they reach. */
static void
test_rcpt_routed(void)
{
	enum mta { M_NONE, M_NAMED, M_LOCAL, M_VIRTUAL, M_RELAY };
	static const struct policy_mta mtas[] = {
		[M_NONE] = { NULL, NULL, NULL, NULL, NULL },
		[M_NAMED] = { "mx.example.com", "192.0.2.25", NULL, NULL, NULL },
		[M_LOCAL] = { "mx.example.com", "192.0.2.25", "alice@mail.example.org", "local",
		    "mx.example.com" },
		[M_VIRTUAL] = { "mx.example.com", NULL, "alice@example.com", "virtual",
		    "example.com" },
		[M_RELAY] = { "mx.example.com", NULL, "bob@elsewhere.example", "smtp",
		    "elsewhere.example" },
	};
	static const struct {
		const char *text;
		enum mta mta;
		enum policy_class cls;
		const char *as;		/* the address judged, NULL when none */
	} row[] = {
		{ "alice@example.com", M_NONE, POLICY_UNTAGGED, "alice@example.com" },
		{ "<alice%example.com@localhost>", M_NONE, POLICY_UNTAGGED, "alice@example.com" },
		{ "example.com!alice@localhost", M_NONE, POLICY_UNTAGGED, "alice@example.com" },
		{ "alice%example.com@mx.example.com", M_NAMED, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "alice%example.com@mx.example.com", M_NONE, POLICY_NOT_OURS,
		    "alice%example.com@mx.example.com" },
		{ "alice%example.com@MX.EXAMPLE.COM.", M_NAMED, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "ALICE%EXAMPLE.COM@LOCALHOST", M_NONE, POLICY_UNTAGGED, "ALICE@EXAMPLE.COM" },
		{ "alice%example.com@localhost.example.com", M_NAMED, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "alice%localhost.example.com@localhost", M_LOCAL, POLICY_UNRESOLVED, NULL },
		/* as written, the MTA's own names are a domain like any other: a sender there is
		 * not in Domains, never signed, and its bounces must pass */
		{ "alice@localhost", M_NONE, POLICY_NOT_OURS, "alice@localhost" },
		{ "alice@localhost.", M_NONE, POLICY_NOT_OURS, "alice@localhost" },
		{ "alice@mx.example.com", M_NAMED, POLICY_NOT_OURS, "alice@mx.example.com" },
		{ "alice@mx.example.com", M_LOCAL, POLICY_NOT_OURS, "alice@mx.example.com" },
		{ "localhost!alice@localhost", M_NONE, POLICY_NOT_OURS, "alice@localhost" },
		{ "alice%example.com@[127.0.0.1]", M_NONE, POLICY_UNTAGGED, "alice@example.com" },
		{ "alice%example.com@[IPv6:::1]", M_NONE, POLICY_UNTAGGED, "alice@example.com" },
		{ "alice%example.com@[192.0.2.25]", M_NAMED, POLICY_UNTAGGED, "alice@example.com" },
		{ "alice%example.com@[192.0.2.26]", M_NAMED, POLICY_NOT_OURS,
		    "alice%example.com@[192.0.2.26]" },
		{ "<@hop.example.org:alice%example.com@localhost>", M_NONE, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "@a.example,@b.example:alice@example.com", M_NONE, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "alice%example.com%localhost@localhost", M_NONE, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "localhost!example.com!alice@localhost", M_NONE, POLICY_UNTAGGED,
		    "alice@example.com" },
		{ "alice%sub.example.net@localhost", M_NONE, POLICY_UNTAGGED,
		    "alice@sub.example.net" },
		/* a quoted local part is delivered as it stands, to a user of that name */
		{ "\"alice%example.com\"@localhost", M_NONE, POLICY_NOT_OURS,
		    "\"alice%example.com\"@localhost" },
		{ "bob%fwd.example.com@localhost", M_NONE, POLICY_UNTAGGED, "bob@fwd.example.com" },
		{ "a.example!b.example!alice@localhost", M_NONE, POLICY_NOT_OURS,
		    "b.example!alice@a.example" },
		{ "bob%elsewhere.example@localhost", M_NONE, POLICY_NOT_OURS,
		    "bob@elsewhere.example" },
		{ "alice%example.com@relay.example.org", M_NONE, POLICY_NOT_OURS,
		    "alice%example.com@relay.example.org" },
		/* the MTA's {rcpt_addr} tells more */
		{ "alice%example.com@relay.example.org", M_VIRTUAL, POLICY_UNTAGGED,
		    "alice@example.com" },
		/* routed to a local mailbox in a domain not in Domains: cannot be judged */
		{ "alice%mail.example.org@localhost", M_LOCAL, POLICY_UNRESOLVED, NULL },
		{ "bob%elsewhere.example@localhost", M_LOCAL, POLICY_UNRESOLVED, NULL },
		{ "@hop.example.org:root@mail.example.org", M_LOCAL, POLICY_UNRESOLVED, NULL },
		{ "localhost!alice@localhost", M_LOCAL, POLICY_UNRESOLVED, NULL },
		{ "x..y%mail.example.org@localhost", M_LOCAL, POLICY_UNRESOLVED, NULL },
		{ "localhost!localhost!localhost!" "localhost!localhost!localhost!alice@localhost",
		    M_NONE, POLICY_UNRESOLVED, NULL },
		/* but not an address as it stands, nor one the MTA does not deliver itself */
		{ "root@mail.example.org", M_LOCAL, POLICY_NOT_OURS, "root@mail.example.org" },
		{ "bob%elsewhere.example@localhost", M_RELAY, POLICY_NOT_OURS,
		    "bob@elsewhere.example" },
		{ "x..y%example.com@localhost", M_NONE, POLICY_UNPARSABLE, NULL },
		{ "<>", M_NONE, POLICY_NOT_OURS, NULL },
	};
	struct conf *c = conf_of("");
	struct addr a;
	struct policy_rcpt r;
	char buf[ADDR_TEXT_MAX];
	size_t i;

	for (i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
		const struct policy_mta *m = &mtas[row[i].mta];
		bool judged = policy_rcpt_resolve(c, kr, NOW, row[i].text, m, &a, &r);

		is_int(r.cls, row[i].cls, "%s (MTA facts %d): class", row[i].text, (int)row[i].mta);
		ok(judged == (row[i].as != NULL), "%s: %s", row[i].text,
		    row[i].as != NULL ? "an address judged" : "no address judged");
		if (judged && row[i].as != NULL) {
			addr_format(&a, buf, sizeof(buf));
			is_str(buf, row[i].as, "%s is judged as %s", row[i].text, row[i].as);
		}
	}
	conf_free(c);
}

/* A tag routed through localhost is the same tag: valid, and the same replay record. */
static void
routed_tag_forms(const struct conf *c, const struct addr *tag)
{
	static const struct policy_mta mx = { "mx.example.com", NULL, NULL, NULL, NULL };
	static const char *const form[][2] = { { "", "%example.com@localhost" },
	    { "example.com!", "@localhost" }, { "", "%example.com@mx.example.com" },
	    { "@hop.example.org:", "%example.com@localhost" } };
	struct policy_replay rp = { POLICY_REPLAY_COUNT, 3 };
	struct policy_decision d;
	struct policy_rcpt r;
	struct addr a;
	char text[2 * ADDR_TEXT_MAX], tagged[ADDR_TEXT_MAX], buf[ADDR_TEXT_MAX];
	size_t i, j;

	addr_format(tag, tagged, sizeof(tagged));
	for (i = 0; i < 2 * sizeof(form) / sizeof(form[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s", form[i / 2][0], tag->local, form[i / 2][1]);
		for (j = 0; i % 2 == 1 && text[j] != '\0'; j++)
			text[j] = (char)(text[j] >= 'a' && text[j] <= 'z' ? text[j] - 32 : text[j]);
		if (!policy_rcpt_resolve(c, kr, NOW, text, &mx, &a, &r))
			bail_out(text);
		addr_format(&a, buf, sizeof(buf));
		ok(r.cls == POLICY_PRVS && r.prvs == PRVS_VALID && strcasecmp(buf, tagged) == 0,
		    "%s: the valid tag %s (the same replay key)", text, tagged);
		policy_decide(c, 0, NOW, true, &r, &rp, &d);
		ok(d.action == POLICY_REJECT && strcmp(d.verdict, "replay") == 0,
		    "%s: a bounce past MaxBouncesPerTag is a replay", text);
	}
	if (!policy_rcpt_resolve(c, kr, NOW, "alice@mx.example.com", &mx, &a, &r))
		bail_out("alice@mx.example.com");
	addr_format(&a, buf, sizeof(buf));
	is_str(buf, "alice@mx.example.com", "alice@mx.example.com, no route: judged as written");
}

static void
test_rcpt_routed_tag(void)
{
	/* the second has the MTA's own name among Domains, as a site's wildcard may */
	static const char *const text[] = { "Domains example.com\nMaxBouncesPerTag 3\n",
	    "Domains example.com, .example.com\nMaxBouncesPerTag 3\n" };
	struct addr plain = parse("alice@example.com"), tag;
	char err[ADDR_TEXT_MAX];
	struct conf *c;
	size_t i;

	if (prvs_sign(kr, &plain, NOW, 7, &tag) != 0)
		bail_out("sign");
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		c = NULL;
		if (conf_parse(text[i], strlen(text[i]), "routed.conf", &c, err, sizeof(err)) != 0)
			bail_out(err);
		printf("# %s", text[i]);
		routed_tag_forms(c, &tag);
		conf_free(c);
	}
}

/* A bounce to a spelling that cannot be judged is refused per OnInvalid; nothing else is. */
static void
test_rcpt_unresolved(void)
{
	static const struct policy_mta local = { "mx.example.com", NULL, "bob@mail.example.org",
	    "local", "mx.example.com" };
	const char *text = "bob%mail.example.org@localhost";
	struct policy_replay rp = { POLICY_REPLAY_OFF, 0 };
	struct conf *c = conf_of("");
	struct policy_decision d;
	struct policy_rcpt r;
	struct addr a;

	(void)policy_rcpt_resolve(c, kr, NOW, text, &local, &a, &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_REJECT && strcmp(d.verdict, "unresolved") == 0 && d.mark &&
	    !d.rewrite && !d.count, "bounce to %s: refused, unresolved", text);
	ok(strstr(d.why, "cannot be judged") != NULL, "the reason says why: %s", d.why);
	policy_decide(c, 0, NOW, false, &r, &rp, &d);
	ok(d.action == POLICY_ACCEPT && !d.rewrite && !d.count,
	    "mail (not a bounce) to it: accepted");
	conf_free(c);
	c = conf_of("DryRun yes\n");
	(void)policy_rcpt_resolve(c, kr, NOW, text, &local, &a, &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_ACCEPT && d.dry_run && d.mark,
	    "DryRun: logged and marked, not refused");
	conf_free(c);
	c = conf_of("OnInvalid tempfail\n");
	(void)policy_rcpt_resolve(c, kr, NOW, text, &local, &a, &r);
	policy_decide(c, 0, NOW, true, &r, &rp, &d);
	ok(d.action == POLICY_TEMPFAIL, "OnInvalid tempfail applies to it");
	conf_free(c);
}

int
main(void)
{
	unsigned char secret[KEYRING_KEY_BYTES];

	if (sodium_init() < 0)
		bail_out("sodium_init");
	memset(secret, 0x42, sizeof(secret));
	kr = keyring_new();
	if (kr == NULL || keyring_add(kr, 0, secret, 0) != 0)
		bail_out("keyring");
	test_table();
	test_eom_table();
	test_eom_review();
	test_ref_counts();
	test_auto_window();
	test_needs_replay();
	test_outbound();
	test_bounce_senders();
	test_sign();
	test_mixed_recipients();
	test_rcpt_spellings();
	test_rcpt_routed();
	test_rcpt_routed_tag();
	test_rcpt_unresolved();
	keyring_unref(kr);
	return done_testing();
}
