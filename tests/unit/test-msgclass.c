/* test-msgclass: the classifier on realistic messages (tests/unit/samples/msgclass/), each
 * fed whole and in 1, 7, 64-byte and random chunks the way the milter feeds it (headers one
 * by one, the body until msgclass_body says enough), which must all give the same answer;
 * then Message-ID normalisation row by row, the header markers, the reference limits, the
 * scan limit, folding and quoting, and made Message-IDs. */
#include "config.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgclass.h"
#include "tap.h"

#ifndef SAMPLES_DIR
#define SAMPLES_DIR "unit/samples/msgclass"
#endif

/* what one run found, flattened so that runs compare with strcmp */
struct result {
	enum msgclass_kind kind;
	char marker[64];
	char refs[(MSGCLASS_ID_MAX + 16) * MSGCLASS_REFS_MAX];
	bool eoh, truncated;
};

struct sample {
	const char *file;
	enum msgclass_kind kind;
	const char *marker;
	bool eoh;
	const char *refs;	/* "source:id" joined by spaces, in the order found */
};

static const struct sample samples[] = {
	{ "postfix-dsn-headers.eml", MSGCLASS_DSN, "report-type=delivery-status", true,
	    "returned:20251126185958.GA1234@mail.example.com" },
	{ "postfix-dsn-full.eml", MSGCLASS_DSN, "report-type=delivery-status", true,
	    "returned:CAF=x9q+Slides.7Q@mail.example.com" },
	/* the QP text part's "Original message headers" are not read in an RFC 3464 report */
	{ "exchange-online-ndr.eml", MSGCLASS_DSN, "report-type=delivery-status", true,
	    "returned:20251126191955.C0FFEE@mail.example.com" },
	{ "exchange-ooo.eml", MSGCLASS_AUTOREPLY, "auto-generated", false,
	    "in-reply-to:20251126192950.D00D@mail.example.com" },
	{ "gmail-vacation.eml", MSGCLASS_AUTOREPLY, "auto-submitted", false,
	    "references:20251126193000.AAAA@mail.example.com "
	    "in-reply-to:20251126194000.BBBB@mail.example.com" },
	{ "thunderbird-mdn.eml", MSGCLASS_MDN, "disposition-notification", true,
	    "returned:9b8c7d6e-minutes@mail.example.com" },
	{ "qmail-bounce.eml", MSGCLASS_DSN, "qmail", true,
	    "returned:Invoice42.7f3e@mail.example.com" },
	{ "exim-bounce.eml", MSGCLASS_DSN, "report-type=delivery-status", true,
	    "returned:20251126195958.E1E1@mail.example.com" },
	/* qmail's copy marker without qmail's greeting, from a mailer-daemon */
	{ "yahoo-bounce.eml", MSGCLASS_DSN, "qmail", true,
	    "returned:20251126212000.T1CK@mail.example.com" },
	{ "exim-plain-bounce.eml", MSGCLASS_DSN, "exim-inline", true,
	    "returned:20251126213000.S1BY@mail.example.com" },
	{ "tmda-challenge.eml", MSGCLASS_AUTOREPLY, "challenge-response", true,
	    "returned:20251126201000.F00F@mail.example.com" },
	{ "ordinary-reply.eml", MSGCLASS_NONE, "", false,
	    "in-reply-to:20251126201500.G00G@mail.example.com "
	    "references:20251126200000.ROOT@mail.example.com" },
	{ "ordinary-suppress.eml", MSGCLASS_NONE, "", true, "" },
	{ "dsn-autosubmitted-nested.eml", MSGCLASS_DSN, "report-type=delivery-status", true,
	    "returned:20251126204000.K3Y5@mail.example.com" },
	{ "exchange-inline-ndr.eml", MSGCLASS_DSN, "exchange-inline", true,
	    "returned:20251126205000.Q4R7@mail.example.com" },
	{ "mixed-bounce.eml", MSGCLASS_DSN, "mixed-bounce", true,
	    "returned:20251126210000.O5C4@mail.example.com" },
	/* a forwarded message is not what the forward answers */
	{ "forward-attached.eml", MSGCLASS_NONE, "", true, "" },
};

/* read_sample - a sample file, its LF line ends turned into CRLF as they travel */
static char *
read_sample(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	size_t n = 0, cap = 4096;
	int c;

	snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf = malloc(cap);
	while (buf != NULL && (c = getc(f)) != EOF) {
		if (n + 3 > cap)
			buf = realloc(buf, cap *= 2);
		if (buf == NULL)
			break;
		if (c == '\n')
			buf[n++] = '\r';
		buf[n++] = (char)c;
	}
	fclose(f);
	if (buf != NULL)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* feed_headers - each header to msgclass_header as libmilter hands it: name, and the value
 * after ": " with its folds as "\n" + the continuation; returns where the body starts */
static size_t
feed_headers(struct msgclass *m, const char *msg, size_t len)
{
	static char name[256], value[16384];
	size_t i = 0;

	while (i < len && !(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n')) {
		size_t nl = 0, vl = 0;

		while (i < len && msg[i] != ':' && nl < sizeof(name) - 1)
			name[nl++] = msg[i++];
		name[nl] = '\0';
		i++;
		if (i < len && msg[i] == ' ')
			i++;
		for (;;) {
			while (i < len && msg[i] != '\r' && vl < sizeof(value) - 2)
				value[vl++] = msg[i++];
			i += 2;
			if (i >= len || (msg[i] != ' ' && msg[i] != '\t'))
				break;
			value[vl++] = '\n';
		}
		value[vl] = '\0';
		msgclass_header(m, name, value);
	}
	return i + 2 <= len ? i + 2 : len;
}

static void
result_take(struct msgclass *m, struct result *r)
{
	const struct msgclass_ref *refs;
	size_t n = msgclass_refs(m, &refs), i, off = 0;

	r->kind = msgclass_kind(m);
	snprintf(r->marker, sizeof(r->marker), "%s", msgclass_marker(m));
	r->refs[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(r->refs + off, sizeof(r->refs) - off, "%s%s:%s",
		    i > 0 ? " " : "", msgclass_source_name(refs[i].source), refs[i].id);
	r->truncated = msgclass_truncated(m);
}

/* classify - a whole message through the parser; chunk 0 means random chunk sizes */
static int
classify(const char *msg, size_t len, size_t limit, size_t chunk, struct result *r)
{
	struct msgclass *m;
	size_t body;
	unsigned seed = 12345;

	if (msgclass_new(limit, &m) != MSGCLASS_OK)
		return -1;
	body = feed_headers(m, msg, len);
	r->eoh = msgclass_eoh(m);
	while (r->eoh && body < len) {
		size_t n = chunk;

		if (n == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 200;
		}
		if (n > len - body)
			n = len - body;
		if (msgclass_body(m, msg + body, n))
			break;
		body += n;
	}
	msgclass_finish(m);
	result_take(m, r);
	msgclass_free(m);
	return 0;
}

static void
test_samples(void)
{
	static const size_t chunks[] = { 1, 7, 64, 0 };
	size_t i, j;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		struct result whole, part;
		size_t len;
		char *msg = read_sample(s->file, &len);

		if (msg == NULL || classify(msg, len, MSGCLASS_SCAN_DEFAULT, 65536, &whole) != 0) {
			ok(0, "%s: read and classified", s->file);
			free(msg);
			continue;
		}
		is_str(msgclass_kind_name(whole.kind), msgclass_kind_name(s->kind), "%s: kind",
		    s->file);
		is_str(whole.marker, s->marker, "%s: marker", s->file);
		is_str(whole.refs, s->refs, "%s: references", s->file);
		is_int(whole.eoh, s->eoh, "%s: the body may matter after the headers", s->file);
		ok(!whole.truncated, "%s: not truncated", s->file);
		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			classify(msg, len, MSGCLASS_SCAN_DEFAULT, chunks[j], &part);
			ok(part.kind == whole.kind && strcmp(part.marker, whole.marker) == 0 &&
			    strcmp(part.refs, whole.refs) == 0 && !part.truncated,
			    "%s: %s chunks give the same answer (%s)", s->file,
			    chunks[j] == 0 ? "random" : chunks[j] == 1 ? "1-byte" :
			    chunks[j] == 7 ? "7-byte" : "64-byte", part.refs);
		}
		free(msg);
	}
}

/* the scan limit: a returned Message-ID past it is not found, and truncated says so */
static void
test_limit(void)
{
	struct result r;
	size_t len, blen, slen;
	char *msg = read_sample("postfix-dsn-full.eml", &len);
	char *plain = read_sample("ordinary-suppress.eml", &slen);
	const char *at = msg == NULL ? NULL : strstr(msg, "\r\nMessage-ID:\r\n <CAF");
	const char *body = msg == NULL ? NULL : strstr(msg, "\r\n\r\n");
	const char *pbody = plain == NULL ? NULL : strstr(plain, "\r\n\r\n");

	if (at == NULL || body == NULL || pbody == NULL) {
		ok(0, "the samples of the limit test");
		free(msg);
		free(plain);
		return;
	}
	classify(msg, len, (size_t)(at - body) - 4, 64, &r);
	is_str(r.refs, "", "limit before the returned Message-ID: not found");
	ok(r.truncated, "limit before the returned Message-ID: truncated");
	is_str(msgclass_kind_name(r.kind), "delivery-report", "limit: still a delivery report");
	classify(msg, len, (size_t)(at - body) + 100, 7, &r);
	is_str(r.refs, "returned:CAF=x9q+Slides.7Q@mail.example.com",
	    "limit just past the returned Message-ID: found");
	ok(!r.truncated, "found before the limit: not truncated");
	blen = slen - (size_t)(pbody + 4 - plain);
	classify(plain, slen, blen, 1, &r);
	ok(!r.truncated, "limit exactly the body: not truncated");
	classify(plain, slen, blen - 1, 1, &r);
	ok(r.truncated, "limit one byte short of the body: truncated");
	classify(msg, len, 0, 64, &r);
	ok(r.truncated && strcmp(r.refs, "") == 0, "limit 0: nothing read, truncated");
	free(msg);
	free(plain);
}

struct hdr_row {
	const char *name, *value;
	enum msgclass_kind kind;
	const char *marker;
};

static const struct hdr_row hdr_rows[] = {
	{ "Auto-Submitted", "no", MSGCLASS_NONE, "" },
	{ "auto-submitted", " No (a person wrote this)", MSGCLASS_NONE, "" },
	{ "Auto-Submitted", "(comment) NO", MSGCLASS_NONE, "" },
	{ "Auto-Submitted", "auto-replied", MSGCLASS_AUTOREPLY, "auto-submitted" },
	{ "Auto-Submitted", "Auto-Generated; owner-email=\"x@example.org\"", MSGCLASS_AUTOREPLY,
	    "auto-generated" },
	{ "Auto-Submitted", "auto-notified (sieve)", MSGCLASS_AUTOREPLY, "auto-submitted" },
	{ "Auto-Submitted", "", MSGCLASS_NONE, "" },
	{ "X-Autoreply", "yes", MSGCLASS_AUTOREPLY, "x-autoreply" },
	{ "X-Autorespond", "Out of office", MSGCLASS_AUTOREPLY, "x-autorespond" },
	{ "Precedence", "auto_reply", MSGCLASS_AUTOREPLY, "precedence" },
	{ "Precedence", "bulk", MSGCLASS_NONE, "" },
	{ "Precedence", "list", MSGCLASS_NONE, "" },
	{ "Precedence", "junk", MSGCLASS_NONE, "" },
	{ "X-Auto-Response-Suppress", "All", MSGCLASS_NONE, "" },
	{ "X-MS-Exchange-Parent-Message-Id", "<abc@example.org>", MSGCLASS_AUTOREPLY,
	    "x-ms-exchange-parent-message-id" },
	{ "X-Boxtrapper", "abc123", MSGCLASS_AUTOREPLY, "challenge-response" },
	{ "X-Bluebottle-Request", "sender-verify", MSGCLASS_AUTOREPLY, "challenge-response" },
	{ "X-Spamarrest-noauth", "1", MSGCLASS_AUTOREPLY, "challenge-response" },
	{ "X-AskVersion", "2.1", MSGCLASS_AUTOREPLY, "challenge-response" },
	{ "X-AskVersion", "none", MSGCLASS_NONE, "" },
	{ "Message-ID", "<123.456@example.net-tmda-confirm>", MSGCLASS_AUTOREPLY,
	    "challenge-response" },
	{ "Message-ID", "<tmda-confirm@example.net>", MSGCLASS_NONE, "" },
	{ "X-Mailer", "Apple Mail", MSGCLASS_NONE, "" },
	{ "Content-Type", "multipart/report; report-type=delivery-status; boundary=x",
	    MSGCLASS_DSN, "report-type=delivery-status" },
	{ "Content-Type", "Multipart/Report;\n\tboundary=\"x\"; Report-Type=\"Delivery-Status\"",
	    MSGCLASS_DSN, "report-type=delivery-status" },
	{ "Content-Type", "multipart/report; report-type=disposition-notification; boundary=y",
	    MSGCLASS_MDN, "disposition-notification" },
	{ "Content-Type", "multipart/report; report-type=global-delivery-status; boundary=y",
	    MSGCLASS_DSN, "report-type=delivery-status" },
	{ "Content-Type", "multipart/report; report-type=feedback-report; boundary=y",
	    MSGCLASS_NONE, "" },
	{ "Content-Type", "text/plain; report-type=delivery-status", MSGCLASS_NONE, "" },
};

/* single top-level headers (after a Subject) and what they make of a message */
static void
test_headers(void)
{
	size_t i;

	for (i = 0; i < sizeof(hdr_rows) / sizeof(hdr_rows[0]); i++) {
		const struct hdr_row *h = &hdr_rows[i];
		struct msgclass *m;

		if (msgclass_new(MSGCLASS_SCAN_DEFAULT, &m) != MSGCLASS_OK)
			bail_out("msgclass_new");
		msgclass_header(m, "Subject", "Hello");
		msgclass_header(m, h->name, h->value);
		(void)msgclass_eoh(m);
		msgclass_finish(m);
		ok(msgclass_kind(m) == h->kind && strcmp(msgclass_marker(m), h->marker) == 0,
		    "%s: %s -> %s %s (got %s %s)", h->name, h->value, msgclass_kind_name(h->kind),
		    h->marker, msgclass_kind_name(msgclass_kind(m)), msgclass_marker(m));
		msgclass_free(m);
	}
}

/* a delivery report stays one whatever Auto-Submitted says, before or after it */
static void
test_report_wins(void)
{
	struct msgclass *m;

	if (msgclass_new(MSGCLASS_SCAN_DEFAULT, &m) != MSGCLASS_OK)
		bail_out("msgclass_new");
	msgclass_header(m, "Auto-Submitted", "auto-replied");
	msgclass_header(m, "X-Autoreply", "yes");
	msgclass_header(m, "Content-Type",
	    "multipart/report; boundary=\"b\"; report-type=delivery-status");
	ok(msgclass_eoh(m), "report: the body matters");
	msgclass_finish(m);
	is_str(msgclass_kind_name(msgclass_kind(m)), "delivery-report",
	    "Auto-Submitted does not make a delivery report an auto-reply");
	msgclass_free(m);
}

static const char *
refs_of(struct msgclass *m)
{
	static struct result r;

	result_take(m, &r);
	return r.refs;
}

/* References keeps its last ids, In-Reply-To is not pushed out, duplicates count once */
static void
test_refs(void)
{
	char refs[8192], want[8192];
	size_t off = 0, woff = 0;
	struct msgclass *m;
	int i;

	if (msgclass_new(MSGCLASS_SCAN_DEFAULT, &m) != MSGCLASS_OK)
		bail_out("msgclass_new");
	msgclass_header(m, "In-Reply-To", "<last@example.com> <Other@Example.COM>");
	for (i = 0; i < 30; i++)
		off += (size_t)snprintf(refs + off, sizeof(refs) - off, "%s<r%d@example.com>",
		    i > 0 ? "\r\n " : "", i);
	msgclass_header(m, "References", refs);
	msgclass_header(m, "References", "<LAST@example.com> <last@EXAMPLE.com>");
	woff += (size_t)snprintf(want, sizeof(want),
	    "in-reply-to:last@example.com in-reply-to:Other@example.com");
	for (i = 17; i < 30; i++)
		woff += (size_t)snprintf(want + woff, sizeof(want) - woff,
		    " references:r%d@example.com", i);
	(void)snprintf(want + woff, sizeof(want) - woff, " references:LAST@example.com");
	is_str(refs_of(m), want, "16 references: the In-Reply-To ones and the last References");
	ok(!msgclass_eoh(m), "an ordinary reply with references: the body does not matter");
	ok(msgclass_body(m, "x\r\n", 3), "a body after eoh said no: nothing more needed");
	msgclass_finish(m);
	msgclass_free(m);
}

/* folding (CRLF and LF), a quoted boundary with a space and '=', nesting, a long line */
static void
test_mime(void)
{
	static const char body[] =
	    "preamble\r\n"
	    "--=_outer 1\r\n"
	    "Content-Type: multipart/report;\r\n"
	    "\treport-type=delivery-status;\r\n"
	    " boundary=\"inner\\\"q\"\r\n"
	    "\r\n"
	    "--inner\"q\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "%s\r\n"
	    "--inner\"q   \r\n"
	    "Content-Type: message/rfc822\r\n"
	    "\r\n"
	    "Subject: x\r\n"
	    "Message-ID:\r\n"
	    "\t(a comment) <  \"dotted.atom\" @ (domain) Example.Org >\r\n"
	    "\r\n"
	    "--inner\"q--\r\n"
	    "--=_outer 1--\r\n";
	static char text[sizeof(body) + 4096], longline[3001];
	struct msgclass *m;

	memset(longline, 'x', sizeof(longline) - 1);
	snprintf(text, sizeof(text), body, longline);
	if (msgclass_new(MSGCLASS_SCAN_DEFAULT, &m) != MSGCLASS_OK)
		bail_out("msgclass_new");
	msgclass_header(m, "From", "MAILER-DAEMON@example.org");
	msgclass_header(m, "Content-Type", "multipart/mixed;\r\n boundary=\"=_outer 1\"");
	ok(msgclass_eoh(m), "multipart/mixed: the body matters");
	ok(msgclass_body(m, text, strlen(text)), "found the returned Message-ID");
	msgclass_finish(m);
	is_str(refs_of(m), "returned:dotted.atom@example.org", "nested, folded, quoted: the id");
	is_str(msgclass_kind_name(msgclass_kind(m)), "delivery-report", "nested report");
	msgclass_free(m);
}

struct id_row {
	const char *in;
	const char *want;	/* NULL: -1 */
};

static const struct id_row id_rows[] = {
	{ "<ABC@Example.COM>", "ABC@example.com" },
	{ "< ABC@example.com >", "ABC@example.com" },
	{ "<abc@example.com>", "abc@example.com" },
	{ " (comment (nested)) <a.b+c@example.com> (trailing)", "a.b+c@example.com" },
	{ "<\"abc\"@example.com>", "abc@example.com" },
	{ "<\"a.b\"@example.com>", "a.b@example.com" },
	{ "<\"a b\"@example.com>", "\"a b\"@example.com" },
	{ "<\"a..b\"@example.com>", "\"a..b\"@example.com" },
	{ "<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com" },
	{ "<\"\\a\"@example.com>", "a@example.com" },
	{ "<abc@[192.0.2.1]>", "abc@[192.0.2.1]" },
	{ "<abc@\r\n example.com>", "abc@example.com" },
	{ "Your message of Monday <id@Host.Example>", "id@host.example" },
	{ "\"<not@this>\" <but@this.example>", "but@this.example" },
	{ "(<not@this>) <but@this.example>", "but@this.example" },
	{ "<a@b@c> <ok@example.com>", "ok@example.com" },
	{ "<no-at-sign>", NULL },
	{ "abc@example.com", NULL },
	{ "<abc@example.com", NULL },
	{ "<@example.com>", NULL },
	{ "<abc@>", NULL },
	{ "<\"\"@example.com>", NULL },
	{ "", NULL },
	{ "<ab c@example.com>", NULL },
};

static void
test_msgid(void)
{
	char out[MSGCLASS_ID_MAX + 1], big[600];
	size_t i;
	int n;

	for (i = 0; i < sizeof(id_rows) / sizeof(id_rows[0]); i++) {
		const struct id_row *r = &id_rows[i];

		n = msgclass_msgid(r->in, strlen(r->in), out, sizeof(out));
		if (r->want == NULL)
			is_int(n, -1, "msgid '%s': none", r->in);
		else
			ok(n == (int)strlen(r->want) && strcmp(out, r->want) == 0,
			    "msgid '%s' -> '%s' (got %d '%s')", r->in, r->want, n,
			    n >= 0 ? out : "");
	}
	n = msgclass_msgid("<ABC@Example.COM>", 17, out, sizeof(out));
	ok(n > 0 && msgclass_msgid("< ABC@example.com >", 19, big, sizeof(big)) == n &&
	    strcmp(out, big) == 0, "<ABC@Example.COM> and < ABC@example.com > compare equal");
	msgclass_msgid("<abc@example.com>", 17, big, sizeof(big));
	ok(strcmp(out, big) != 0, "<abc@example.com> and <ABC@example.com> differ");
	is_int(msgclass_msgid("<abc@example.com>", 5, out, sizeof(out)), -1,
	    "the length given is the end of the text");
	is_int(msgclass_msgid("<abc@example.com>", 17, out, 15), -1, "no room: none");
	is_int(msgclass_msgid("<abc@example.com>", 17, out, 16), 15, "just room: found");
	big[0] = '<';
	memset(big + 1, 'a', 300);
	memcpy(big + 301, "@example.com>", 14);
	is_int(msgclass_msgid(big, strlen(big), out, sizeof(out)), -1, "too long: none");
}

static void
test_make(void)
{
	char a[300], b[300];
	const char *p;
	size_t i;
	int good = 1;

	msgclass_msgid_make("mail.example.com", a, sizeof(a));
	msgclass_msgid_make("mail.example.com", b, sizeof(b));
	ok(strlen(a) == 1 + 24 + strlen(".backstop@mail.example.com>") && a[0] == '<',
	    "made: %s", a);
	for (i = 1; i <= 24; i++)
		if (strchr("0123456789abcdefghijklmnopqrstuv", a[i]) == NULL || a[i] == '\0')
			good = 0;
	ok(good, "made: 24 base32 characters");
	p = strchr(a, '.');
	is_str(p, ".backstop@mail.example.com>", "made: .backstop@host>");
	ok(strcmp(a, b) != 0, "made twice: two ids");
	msgclass_msgid_make("bad host..name.", a, sizeof(a));
	is_str(strchr(a, '.'), ".backstop@badhost.name>", "made: host sanitised");
	msgclass_msgid_make("", a, sizeof(a));
	is_str(strchr(a, '.'), ".backstop@localhost>", "made: empty host -> localhost");
	msgclass_msgid_make(NULL, a, sizeof(a));
	is_str(strchr(a, '.'), ".backstop@localhost>", "made: no host -> localhost");
	msgclass_msgid_make("mail.example.com", a, 20);
	is_str(a, "", "made: no room -> empty");
	msgclass_msgid_make("mail.example.com", a, sizeof(a));
	ok(msgclass_msgid(a, strlen(a), b, sizeof(b)) == (int)strlen(a) - 2,
	    "made: a msg-id msgclass_msgid reads");
}

static void
test_names(void)
{
	is_str(msgclass_kind_name(MSGCLASS_NONE), "none", "kind name none");
	is_str(msgclass_kind_name(MSGCLASS_DSN), "delivery-report", "kind name dsn");
	is_str(msgclass_kind_name(MSGCLASS_MDN), "read-receipt", "kind name mdn");
	is_str(msgclass_kind_name(MSGCLASS_AUTOREPLY), "auto-reply", "kind name auto-reply");
	is_str(msgclass_source_name(MSGCLASS_IN_REPLY_TO), "in-reply-to", "source name irt");
	is_str(msgclass_source_name(MSGCLASS_REFERENCES), "references", "source name refs");
	is_str(msgclass_source_name(MSGCLASS_RETURNED), "returned", "source name returned");
	msgclass_free(NULL);
	ok(1, "msgclass_free(NULL)");
}

int
main(void)
{
	if (sodium_init() < 0)
		bail_out("sodium_init");
	test_samples();
	test_limit();
	test_headers();
	test_report_wins();
	test_refs();
	test_mime();
	test_msgid();
	test_make();
	test_names();
	return done_testing();
}
