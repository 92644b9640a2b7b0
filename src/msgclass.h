/* msgclass: what an inbound message is, from its content (a delivery report, a read receipt,
 * an auto-reply, or none of these) and which sent messages it answers (its references). A
 * streaming parser: fed the top-level headers, then the body in chunks, it keeps a bounded
 * state, reads at most scan_limit body bytes and never fails on bad input. */
#ifndef BACKSTOP_MSGCLASS_H
#define BACKSTOP_MSGCLASS_H

#include <stdbool.h>
#include <stddef.h>

enum msgclass_kind {
	MSGCLASS_NONE,		/* an ordinary message, as far as its content tells */
	MSGCLASS_DSN,		/* a delivery report: RFC 3464, or qmail's, or Exchange's inline */
	MSGCLASS_MDN,		/* a read receipt: RFC 3798 report-type=disposition-notification */
	MSGCLASS_AUTOREPLY,	/* Auto-Submitted (not "no"), X-Autoreply, vacation, challenge */
};

enum msgclass_source {
	MSGCLASS_IN_REPLY_TO,	/* the In-Reply-To header */
	MSGCLASS_REFERENCES,	/* the References header */
	MSGCLASS_RETURNED,	/* the returned original's headers, or an MDN's Original-Message-ID */
};

/* the longest normalised Message-ID kept (without the angle brackets) */
#define MSGCLASS_ID_MAX 250
/* at most this many references are kept (a References header keeps its last ones) */
#define MSGCLASS_REFS_MAX 16
/* BounceScanLimit's default */
#define MSGCLASS_SCAN_DEFAULT (256 * 1024)

struct msgclass_ref {
	enum msgclass_source source;
	char id[MSGCLASS_ID_MAX + 1];	/* normalised: see msgclass_msgid */
};

enum msgclass_err {
	MSGCLASS_OK = 0,
	MSGCLASS_ENOMEM = -1,	/* temporary */
};

struct msgclass;

/* msgclass_new - a parser that reads at most scan_limit bytes of body */
int msgclass_new(size_t scan_limit, struct msgclass **out) __attribute__((warn_unused_result));
/* msgclass_free - release a parser (NULL is fine) */
void msgclass_free(struct msgclass *m);
/* msgclass_header - one top-level header, as the MTA hands it (value may hold folded lines) */
void msgclass_header(struct msgclass *m, const char *name, const char *value);
/* msgclass_eoh - end of the headers: may the body still change the kind or add a reference? */
bool msgclass_eoh(struct msgclass *m);
/* msgclass_body - the next chunk of body; true when nothing more is needed (all found, or
 * scan_limit reached: a byte past it was offered, so a body of exactly scan_limit bytes is
 * read whole and not truncated) */
bool msgclass_body(struct msgclass *m, const void *chunk, size_t len);
/* msgclass_finish - end of message: settle the kind and the references */
void msgclass_finish(struct msgclass *m);
/* msgclass_kind - what the message is */
enum msgclass_kind msgclass_kind(const struct msgclass *m);
/* msgclass_marker - what said so ("auto-submitted", "report-type=delivery-status", "qmail"...),
 * "" for MSGCLASS_NONE; "auto-generated" when Auto-Submitted says so (RFC 3834: a notice) */
const char *msgclass_marker(const struct msgclass *m);
/* msgclass_refs - the references found, in the order found; *refs points into m */
size_t msgclass_refs(const struct msgclass *m, const struct msgclass_ref **refs);
/* msgclass_truncated - did scan_limit stop the body scan before the end? */
bool msgclass_truncated(const struct msgclass *m);
/* msgclass_kind_name - "delivery-report", "read-receipt", "auto-reply", "none" */
const char *msgclass_kind_name(enum msgclass_kind k);
/* msgclass_source_name - "in-reply-to", "references", "returned" */
const char *msgclass_source_name(enum msgclass_source s);
/* msgclass_msgid - the first msg-id in text, normalised as RFC 5322 3.6.4 compares them:
 * angle brackets, comments and folding white space removed, a quoted local part unquoted
 * when that changes nothing, the domain in lowercase. Its length, or -1 when text holds no
 * msg-id that fits in outlen. */
int msgclass_msgid(const char *text, size_t len, char *out, size_t outlen);
/* msgclass_msgid_make - a new Message-ID "<random@host>" for a message that has none */
void msgclass_msgid_make(const char *host, char *out, size_t outlen);

#endif
