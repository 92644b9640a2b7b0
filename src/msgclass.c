/* msgclass: what a message is (a delivery report, a read receipt, an auto-reply) and what it
 * answers, from its top-level headers and at most scan_limit bytes of its body. The body is
 * read line by line through one fixed line buffer and one unfolded-header buffer, MIME parts
 * through a small stack of boundaries; nothing is allocated after msgclass_new. */
#include "config.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msgclass.h"

#define MC_LINE 2048		/* the longest body line looked at; the rest of it is skipped */
#define MC_HEADER 2048		/* the longest unfolded part header kept */
#define MC_DEPTH 8		/* nested multiparts followed */
#define MC_BOUNDARY 100		/* RFC 2046 allows 70 */
#define MC_ID_TEXT 998		/* a local part or domain longer than a line is no msg-id */

enum mode {
	MODE_SKIP,	/* content that does not matter: only boundaries are looked for */
	MODE_TEXT,	/* a plain-text body: qmail's, Exim's and Exchange's inline reports */
	MODE_PART,	/* a MIME part's headers */
	MODE_RETURNED,	/* a returned message's first header block: its Message-ID */
	MODE_MDN,	/* a disposition notification's fields: Original-Message-ID */
};

struct ctype {
	char type[16], subtype[32], report[40];
	char boundary[MC_BOUNDARY + 1];
	bool base64, qp;
};

struct msgclass {
	size_t limit, seen;
	bool eoh, done, truncated, finished;
	/* from the top-level headers */
	bool top_seen, bouncy;	/* bouncy: From a mailer-daemon or postmaster, a bounce Subject */
	const char *auto_marker;
	struct ctype top;
	/* from the body */
	bool report_dsn, report_mdn, qmail, exim_inline, exch_diag, exch_inline, mixed_bounce;
	enum mode mode;
	bool qp;		/* the current text is quoted-printable */
	bool block_started;	/* a header came: blank lines before a returned block are skipped */
	struct ctype part;	/* the part whose headers MODE_PART reads */
	char bnd[MC_DEPTH][MC_BOUNDARY + 1];
	size_t bndlen[MC_DEPTH], depth;
	char line[MC_LINE];
	size_t linelen;
	bool lineover;
	char hdr[MC_HEADER];
	size_t hdrlen;
	bool hdrover;
	struct msgclass_ref refs[MSGCLASS_REFS_MAX];
	size_t nrefs;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ci_eq - s[0..n) is want, in any case */
static bool
ci_eq(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/* ci_find - does s[0..n) hold want, in any case? */
static bool
ci_find(const char *s, size_t n, const char *want)
{
	size_t wl = strlen(want), i;

	for (i = 0; i + wl <= n; i++)
		if (strncasecmp(s + i, want, wl) == 0)
			return true;
	return false;
}

static size_t
trim_right(const char *s, size_t n)
{
	while (n > 0 && is_wsp(s[n - 1]))
		n--;
	return n;
}

/* skip_cfws - past white space, folds and (nested (comments)) */
static void
skip_cfws(const char *s, size_t n, size_t *i)
{
	size_t depth = 0;

	while (*i < n) {
		char c = s[*i];

		if (depth > 0 && c == '\\' && *i + 1 < n) {
			*i += 2;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_wsp(c))
			return;
		(*i)++;
	}
}

/* skip_quoted - past the quoted string at s[*i] (to the end when it has no end) */
static void
skip_quoted(const char *s, size_t n, size_t *i)
{
	for ((*i)++; *i < n; (*i)++) {
		if (s[*i] == '\\')
			(*i)++;
		else if (s[*i] == '"') {
			(*i)++;
			return;
		}
	}
	*i = n;
}

/* ---- Message-IDs (RFC 5322 3.6.4) ---- */

/* id_char - a character of an unquoted local part or domain: printable, no special of
 * msg-id syntax (lenient: real ids hold more than atext), or UTF-8 (RFC 6532) */
static bool
id_char(char c)
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x80)
		return true;
	return u > 0x20 && u != 0x7f && strchr("<>()@\"\\", c) == NULL;
}

static bool
atext(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x80 || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
	    (u >= '0' && u <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot_atom - may s[0..n) stand unquoted (RFC 5322 dot-atom-text)? */
static bool
dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == '.' ? s[i + 1] == '.' : !atext(s[i]))
			return false;
	return true;
}

/* id_quoted - the quoted string at s[*i], unquoted onto buf (folds removed) */
static bool
id_quoted(const char *s, size_t n, size_t *i, char *buf, size_t *len)
{
	for ((*i)++; *i < n;) {
		unsigned char c = (unsigned char)s[(*i)++];

		if (c == '"')
			return true;
		if (c == '\\') {
			if (*i >= n)
				return false;
			c = (unsigned char)s[(*i)++];
		} else if (c == '\r' || c == '\n')
			continue;
		if ((c < 0x20 && c != '\t') || c == 0x7f || *len >= MC_ID_TEXT)
			return false;
		buf[(*len)++] = (char)c;
	}
	return false;
}

/* id_run - the dots and id characters at s[*i] onto buf, the domain's in lowercase */
static bool
id_run(const char *s, size_t n, size_t *i, char *buf, size_t *len, bool domain)
{
	while (*i < n && (s[*i] == '.' || id_char(s[*i]))) {
		if (*len >= MC_ID_TEXT)
			return false;
		buf[(*len)++] = domain ? lower(s[*i]) : s[*i];
		(*i)++;
	}
	return true;
}

/* id_words - words joined by dots, with CFWS between them, up to the char stop ('@' or
 * '>'); a quoted word only in the local part. Two words without a dot are no msg-id. */
static bool
id_words(const char *s, size_t n, size_t *i, char stop, char *buf, size_t *len, bool *quoted)
{
	bool after_word = false;

	for (;;) {
		skip_cfws(s, n, i);
		if (*i >= n)
			return false;
		if (s[*i] == stop)
			return *len > 0;
		if (s[*i] != '.' && after_word)
			return false;
		if (s[*i] == '"' && stop == '@') {
			if (!id_quoted(s, n, i, buf, len))
				return false;
			*quoted = true;
		} else if (s[*i] == '.' || id_char(s[*i])) {
			if (!id_run(s, n, i, buf, len, stop == '>'))
				return false;
		} else
			return false;
		after_word = *len > 0 && buf[*len - 1] != '.';
	}
}

/* id_compose - "local@domain", the local part quoted only when it cannot stand bare */
static int
id_compose(const char *loc, size_t ll, bool quoted, const char *dom, size_t dl, char *out,
    size_t outlen)
{
	bool q = quoted && !dot_atom(loc, ll);
	size_t need = ll + 1 + dl + 1, o = 0, k;

	if (q) {
		need += 2;
		for (k = 0; k < ll; k++)
			need += loc[k] == '"' || loc[k] == '\\';
	}
	if (need > outlen)
		return -1;
	if (q)
		out[o++] = '"';
	for (k = 0; k < ll; k++) {
		if (q && (loc[k] == '"' || loc[k] == '\\'))
			out[o++] = '\\';
		out[o++] = loc[k];
	}
	if (q)
		out[o++] = '"';
	out[o++] = '@';
	memcpy(out + o, dom, dl);
	o += dl;
	out[o] = '\0';
	return (int)o;
}

/* msgid_at - the msg-id whose '<' is at s[*i], normalised into out; *i moves past its '>' */
static int
msgid_at(const char *s, size_t n, size_t *i, char *out, size_t outlen)
{
	char loc[MC_ID_TEXT], dom[MC_ID_TEXT];
	size_t ll = 0, dl = 0;
	bool quoted = false, dq = false;

	(*i)++;
	if (!id_words(s, n, i, '@', loc, &ll, &quoted))
		return -1;
	(*i)++;
	if (!id_words(s, n, i, '>', dom, &dl, &dq))
		return -1;
	(*i)++;
	return id_compose(loc, ll, quoted, dom, dl, out, outlen);
}

/* msgid_next - the next msg-id from s[*pos], past comments and quoted phrases */
static int
msgid_next(const char *s, size_t n, size_t *pos, char *out, size_t outlen)
{
	while (*pos < n) {
		size_t at = *pos;
		int r;

		switch (s[at]) {
		case '(':
			skip_cfws(s, n, pos);
			break;
		case '"':
			skip_quoted(s, n, pos);
			break;
		case '<':
			if ((r = msgid_at(s, n, pos, out, outlen)) >= 0)
				return r;
			*pos = at + 1;
			break;
		default:
			(*pos)++;
		}
	}
	return -1;
}

int
msgclass_msgid(const char *text, size_t len, char *out, size_t outlen)
{
	size_t pos = 0;

	if (text == NULL || out == NULL || outlen == 0)
		return -1;
	return msgid_next(text, len, &pos, out, outlen);
}

static size_t
host_sanitise(const char *host, char *h, size_t hlen)
{
	size_t n = 0;

	for (; host != NULL && *host != '\0' && n + 1 < hlen; host++) {
		if (*host == '.' ? n > 0 && h[n - 1] != '.' :
		    atext(*host) && (unsigned char)*host < 0x80)
			h[n++] = *host;
	}
	while (n > 0 && h[n - 1] == '.')
		n--;
	h[n] = '\0';
	return n;
}

void
msgclass_msgid_make(const char *host, char *out, size_t outlen)
{
	static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
	unsigned char rnd[15];
	char h[254], id[25];
	size_t i;

	if (out == NULL || outlen == 0)
		return;
	if (host_sanitise(host, h, sizeof(h)) == 0 ||
	    1 + 24 + strlen(".backstop@") + strlen(h) + 2 > outlen)
		strcpy(h, "localhost");
	out[0] = '\0';
	if (1 + 24 + strlen(".backstop@") + strlen(h) + 2 > outlen)
		return;
	randombytes_buf(rnd, sizeof(rnd));
	for (i = 0; i < 24; i++) {
		size_t bit = i * 5, b = bit / 8;
		unsigned v = (unsigned)rnd[b] << 8 | (b + 1 < sizeof(rnd) ? rnd[b + 1] : 0);

		id[i] = b32[(v >> (11 - bit % 8)) & 31];
	}
	id[24] = '\0';
	snprintf(out, outlen, "<%s.backstop@%s>", id, h);
}

/* ---- references ---- */

static int
source_rank(enum msgclass_source s)
{
	return s == MSGCLASS_RETURNED ? 2 : s == MSGCLASS_IN_REPLY_TO ? 1 : 0;
}

/* refs_add - one reference; an id seen before keeps its place (and the stronger source),
 * and when full the oldest References one makes room */
static void
refs_add(struct msgclass *m, enum msgclass_source src, const char *id)
{
	size_t i;

	for (i = 0; i < m->nrefs; i++)
		if (strcmp(m->refs[i].id, id) == 0) {
			if (source_rank(src) > source_rank(m->refs[i].source))
				m->refs[i].source = src;
			return;
		}
	if (m->nrefs == MSGCLASS_REFS_MAX) {
		for (i = 0; i < m->nrefs && m->refs[i].source != MSGCLASS_REFERENCES; i++)
			;
		if (i == m->nrefs)
			return;
		memmove(&m->refs[i], &m->refs[i + 1], (m->nrefs - i - 1) * sizeof(m->refs[0]));
		m->nrefs--;
	}
	m->refs[m->nrefs].source = src;
	strcpy(m->refs[m->nrefs].id, id);
	m->nrefs++;
}

/* refs_scan - the msg-ids of a header value (only the first one when first); any found? */
static bool
refs_scan(struct msgclass *m, enum msgclass_source src, const char *v, size_t n, bool first)
{
	char id[MSGCLASS_ID_MAX + 1];
	size_t pos = 0;
	bool found = false;

	while (msgid_next(v, n, &pos, id, sizeof(id)) >= 0) {
		refs_add(m, src, id);
		found = true;
		if (first)
			break;
	}
	return found;
}

/* ---- top-level header markers ---- */

enum test {
	T_NOT_NO,	/* a first word other than "no" (RFC 3834 Auto-Submitted) */
	T_GENERATED,	/* a first word "auto-generated" */
	T_EXISTS,
	T_AUTO,		/* a first word starting "auto" (Precedence: auto_reply) */
	T_HAS,		/* holds the text arg */
	T_DIGIT,
	T_NONSPACE,
	T_TMDA,		/* TMDA's confirmation Message-ID: "...@host-tmda-confirm>" */
};

#define CR "challenge-response"

/* The auto-reply markers. After "Precedence" come the challenge-response systems that
 * SpamAssassin's 20_vbounce.cf recognises by a header alone. Not markers:
 * X-Auto-Response-Suppress (ordinary mail asks with it) and Precedence bulk/list/junk. */
static const struct marker {
	const char *name;
	enum test test;
	const char *arg, *marker;
} markers[] = {
	/* RFC 3834: auto-generated is a notice (cron, CI, tickets), auto-replied a reply; the
	 * milter judges a notice with a real sender as ordinary mail */
	{ "Auto-Submitted", T_GENERATED, NULL, "auto-generated" },
	{ "Auto-Submitted", T_NOT_NO, NULL, "auto-submitted" },
	{ "X-Autoreply", T_NOT_NO, NULL, "x-autoreply" },
	{ "X-Autorespond", T_NOT_NO, NULL, "x-autorespond" },
	{ "X-MS-Exchange-Parent-Message-Id", T_EXISTS, NULL, "x-ms-exchange-parent-message-id" },
	{ "Precedence", T_AUTO, NULL, "precedence" },
	{ "Precedence", T_HAS, "spam", CR },
	{ "X-Boxtrapper", T_EXISTS, NULL, CR },
	{ "X-Bluebottle-Request", T_EXISTS, NULL, CR },
	{ "X-Spamarrest-noauth", T_EXISTS, NULL, CR },
	{ "X-Choicemail-Registration-Request", T_EXISTS, NULL, CR },
	{ "X-AskVersion", T_DIGIT, NULL, CR },
	{ "X-Spamazoid-MD", T_DIGIT, NULL, CR },
	{ "Spamlion", T_NONSPACE, NULL, CR },
	{ "X-ExiSpam", T_HAS, "ExiSpam", CR },
	{ "Message-ID", T_TMDA, NULL, CR },
	{ "Content-Type", T_HAS, "mUlTiPaRtBoUnDaRy_MailInBlack", CR },
};

/* first_word - the first word of a value, past comments, up to white space, ';' or '(' */
static size_t
first_word(const char *v, size_t n, size_t *start)
{
	size_t i = 0, e;

	skip_cfws(v, n, &i);
	for (e = i; e < n && !is_wsp(v[e]) && v[e] != ';' && v[e] != '('; e++)
		;
	*start = i;
	return e - i;
}

static bool
marker_test(const struct marker *mk, const char *v, size_t n)
{
	size_t s, wl, i;

	switch (mk->test) {
	case T_NOT_NO:
		wl = first_word(v, n, &s);
		return wl > 0 && !ci_eq(v + s, wl, "no");
	case T_GENERATED:
		wl = first_word(v, n, &s);
		return ci_eq(v + s, wl, "auto-generated");
	case T_EXISTS: return true;
	case T_AUTO:
		wl = first_word(v, n, &s);
		return wl >= 4 && strncasecmp(v + s, "auto", 4) == 0;
	case T_HAS: return ci_find(v, n, mk->arg);
	case T_DIGIT:
		for (i = 0; i < n; i++)
			if (v[i] >= '0' && v[i] <= '9')
				return true;
		return false;
	case T_NONSPACE: return trim_right(v, n) > 0;
	case T_TMDA:
		n = trim_right(v, n);
		return n > 14 && ci_eq(v + n - 14, 14, "-tmda-confirm>") &&
		    memchr(v, '@', n) != NULL;
	}
	return false;
}

static const char *
marker_of(const char *name, const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		if (strcasecmp(name, markers[i].name) == 0 && marker_test(&markers[i], v, n))
			return markers[i].marker;
	return NULL;
}

/* word_find - does s hold want with no letter or digit just before it? */
static bool
word_find(const char *s, size_t n, const char *want)
{
	size_t wl = strlen(want), i;

	for (i = 0; i + wl <= n; i++)
		if (strncasecmp(s + i, want, wl) == 0 &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1])))
			return true;
	return false;
}

/* bouncy - a From or Subject that says the message is a bounce, for the formats that have
 * no report type: a plain multipart/mixed bounce, Exchange's inline report */
static bool
bouncy(const char *name, const char *v, size_t n)
{
	static const char *const subjects[] = { "undeliverable", "undelivered mail",
		"delivery status notification", "returned mail", "failure notice",
		"mail delivery failed", "delivery failure" };
	size_t i;

	if (strcasecmp(name, "From") == 0)
		return word_find(v, n, "mailer-daemon") || word_find(v, n, "postmaster@");
	if (strcasecmp(name, "Subject") != 0)
		return false;
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
		if (ci_find(v, n, subjects[i]))
			return true;
	return false;
}

/* ---- Content-Type ---- */

static size_t
token_end(const char *s, size_t n, size_t i, const char *stops)
{
	while (i < n && !is_wsp(s[i]) && s[i] != '(' && s[i] != '"' && s[i] != '\0' &&
	    strchr(stops, s[i]) == NULL)
		i++;
	return i;
}

/* copy_lower - s[0..n) into dst in lowercase; "" when it does not fit */
static void
copy_lower(char *dst, size_t dlen, const char *s, size_t n)
{
	size_t i;

	if (n >= dlen)
		n = 0;
	for (i = 0; i < n; i++)
		dst[i] = lower(s[i]);
	dst[n] = '\0';
}

/* param_value - the value at s[*i], quoted or not, into buf; false when it does not fit */
static bool
param_value(const char *s, size_t n, size_t *i, char *buf, size_t blen, size_t *len)
{
	bool fits = true;
	size_t e;

	*len = 0;
	if (*i < n && s[*i] == '"') {
		for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
			else if (s[*i] == '\r' || s[*i] == '\n')
				continue;
			if (*len + 1 >= blen)
				fits = false;
			else
				buf[(*len)++] = s[*i];
		}
		if (*i < n)
			(*i)++;
	} else {
		e = token_end(s, n, *i, ";");
		fits = e - *i < blen;
		*len = fits ? e - *i : 0;
		memcpy(buf, s + *i, *len);
		*i = e;
	}
	buf[*len] = '\0';
	return fits;
}

/* ctype_param - "attribute=value" at s[*i]: the boundary and the report type */
static void
ctype_param(const char *s, size_t n, size_t *i, struct ctype *ct)
{
	char attr[16], val[MC_BOUNDARY + 1];
	size_t e, vl;

	skip_cfws(s, n, i);
	e = token_end(s, n, *i, "=;");
	copy_lower(attr, sizeof(attr), s + *i, e - *i);
	*i = e;
	skip_cfws(s, n, i);
	if (*i >= n || s[*i] != '=')
		return;
	(*i)++;
	skip_cfws(s, n, i);
	if (!param_value(s, n, i, val, sizeof(val), &vl) || vl == 0)
		return;
	if (strcmp(attr, "boundary") == 0)
		memcpy(ct->boundary, val, vl + 1);
	else if (strcmp(attr, "report-type") == 0)
		copy_lower(ct->report, sizeof(ct->report), val, vl);
}

/* ctype_parse - type, subtype, boundary and report type of a Content-Type value */
static void
ctype_parse(const char *s, size_t n, struct ctype *ct)
{
	size_t i = 0, e;

	ct->type[0] = ct->subtype[0] = ct->report[0] = ct->boundary[0] = '\0';
	skip_cfws(s, n, &i);
	e = token_end(s, n, i, "/;");
	copy_lower(ct->type, sizeof(ct->type), s + i, e - i);
	i = e;
	skip_cfws(s, n, &i);
	if (i < n && s[i] == '/') {
		i++;
		skip_cfws(s, n, &i);
		e = token_end(s, n, i, ";");
		copy_lower(ct->subtype, sizeof(ct->subtype), s + i, e - i);
		i = e;
	}
	while (i < n) {
		if (s[i] == '"')
			skip_quoted(s, n, &i);
		else if (s[i] == ';') {
			i++;
			ctype_param(s, n, &i, ct);
		} else
			i++;
	}
}

static void
cte_parse(const char *s, size_t n, struct ctype *ct)
{
	size_t st, wl = first_word(s, n, &st);

	ct->base64 = ci_eq(s + st, wl, "base64");
	ct->qp = ci_eq(s + st, wl, "quoted-printable");
}

static bool
ctype_is(const struct ctype *ct, const char *type, const char *subtype)
{
	return strcmp(ct->type, type) == 0 && strcmp(ct->subtype, subtype) == 0;
}

/* ---- the body ---- */

/* bounce_context - may a returned message's Message-ID count here? A forwarded message is
 * not what the forward answers; a report's, a bounce's, or an auto-reply's is. */
static bool
bounce_context(const struct msgclass *m)
{
	return m->report_dsn || m->report_mdn || m->mixed_bounce || m->qmail || m->exim_inline ||
	    m->exch_inline || m->auto_marker != NULL;
}

static void
block_begin(struct msgclass *m, enum mode mode)
{
	m->mode = mode;
	m->block_started = false;
	m->hdrlen = 0;
	m->hdrover = false;
}

static void
multipart_enter(struct msgclass *m, const struct ctype *ct)
{
	m->mode = MODE_SKIP;
	if (strcmp(ct->subtype, "report") == 0) {
		/* the global- ones are RFC 6533's, for internationalised mail */
		if (strcmp(ct->report, "delivery-status") == 0 ||
		    strcmp(ct->report, "global-delivery-status") == 0)
			m->report_dsn = true;
		else if (strcmp(ct->report, "disposition-notification") == 0 ||
		    strcmp(ct->report, "global-disposition-notification") == 0)
			m->report_mdn = true;
	}
	if (ct->boundary[0] == '\0' || m->depth == MC_DEPTH)
		return;
	m->bndlen[m->depth] = strlen(ct->boundary);
	memcpy(m->bnd[m->depth], ct->boundary, m->bndlen[m->depth] + 1);
	m->depth++;
}

static bool
returned_type(const struct ctype *ct)
{
	return ctype_is(ct, "message", "rfc822") || ctype_is(ct, "message", "global") ||
	    ctype_is(ct, "text", "rfc822-headers") || ctype_is(ct, "message", "global-headers") ||
	    ctype_is(ct, "message", "rfc822-headers");
}

/* part_enter - the content of a part (or of the message) begins: how to read it */
static void
part_enter(struct msgclass *m, const struct ctype *ct)
{
	m->qp = ct->qp;
	if (strcmp(ct->type, "multipart") == 0) {
		multipart_enter(m, ct);
		return;
	}
	m->mode = MODE_SKIP;
	if (ct->base64)
		return;
	if (returned_type(ct)) {
		if (ctype_is(&m->top, "multipart", "mixed") && m->bouncy && !m->report_dsn &&
		    !m->report_mdn)
			m->mixed_bounce = true;
		if (bounce_context(m))
			block_begin(m, MODE_RETURNED);
	} else if (ctype_is(ct, "message", "disposition-notification") ||
	    ctype_is(ct, "message", "global-disposition-notification")) {
		if (m->report_mdn)
			block_begin(m, MODE_MDN);
	} else if (ct->type[0] == '\0' || ctype_is(ct, "text", "plain"))
		m->mode = MODE_TEXT;
}

/* header_take - one unfolded header of a part, a returned message or an MDN */
static void
header_take(struct msgclass *m, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t nl, vl;

	if (colon == NULL)
		return;
	nl = trim_right(s, (size_t)(colon - s));
	vl = n - (size_t)(colon - s) - 1;
	if (m->mode == MODE_PART) {
		if (ci_eq(s, nl, "Content-Type"))
			ctype_parse(colon + 1, vl, &m->part);
		else if (ci_eq(s, nl, "Content-Transfer-Encoding"))
			cte_parse(colon + 1, vl, &m->part);
	} else if (ci_eq(s, nl, m->mode == MODE_MDN ? "Original-Message-ID" : "Message-ID")) {
		if (refs_scan(m, MSGCLASS_RETURNED, colon + 1, vl, true))
			m->done = true;
	}
}

static void
block_flush(struct msgclass *m)
{
	if (m->hdrlen > 0 && !m->hdrover)
		header_take(m, m->hdr, m->hdrlen);
	m->hdrlen = 0;
	m->hdrover = false;
}

static void
hdr_append(struct msgclass *m, const char *s, size_t n, bool over)
{
	if (over || m->hdrover || m->hdrlen + n > sizeof(m->hdr)) {
		m->hdrover = true;
		return;
	}
	memcpy(m->hdr + m->hdrlen, s, n);
	m->hdrlen += n;
}

/* block_line - a line of a header block; a blank one ends it */
static void
block_line(struct msgclass *m, const char *s, size_t n, bool over)
{
	if (n == 0) {
		if (m->mode != MODE_PART && !m->block_started)
			return;
		block_flush(m);
		if (m->mode == MODE_PART)
			part_enter(m, &m->part);
		else {
			m->mode = MODE_SKIP;
			m->done = m->depth == 0;
		}
		return;
	}
	if (s[0] == ' ' || s[0] == '\t') {
		if (m->hdrlen > 0 || m->hdrover)
			hdr_append(m, s, n, over);
		return;
	}
	block_flush(m);
	m->block_started = true;
	hdr_append(m, s, n, over);
}

static bool
starts(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && memcmp(s, prefix, pl) == 0;
}

/* text_line - a line of plain text: qmail's bounce (Yahoo's too, without the greeting),
 * Exim's plain-text one, Exchange's inline report. In an RFC report the text is for people;
 * its returned part is the one read. */
static void
text_line(struct msgclass *m, const char *s, size_t n)
{
	if (m->report_dsn || m->report_mdn)
		return;
	n = trim_right(s, n);
	while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, n--;
	if (starts(s, n, "Hi. This is the qmail-send program at"))
		m->qmail = true;
	else if ((m->qmail || m->bouncy) &&
	    starts(s, n, "--- Below this line is a copy of the message")) {
		m->qmail = true;
		block_begin(m, MODE_RETURNED);
	} else if (m->bouncy && starts(s, n, "------ This is a copy of the message, including")) {
		m->exim_inline = true;
		block_begin(m, MODE_RETURNED);
	} else if (ci_eq(s, n, "Diagnostic information for administrators:"))
		m->exch_diag = true;
	else if ((m->bouncy || m->exch_diag) && (ci_eq(s, n, "Original message headers:") ||
	    ci_eq(s, n, "Original message headers"))) {
		m->exch_inline = true;
		block_begin(m, MODE_RETURNED);
	}
}

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* qp_decode - a quoted-printable line decoded in place (a soft break just ends it) */
static size_t
qp_decode(char *s, size_t n)
{
	size_t i, o = 0, end = trim_right(s, n);

	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			s[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else if (s[i] == '=' && i + 1 == end)
			break;
		else
			s[o++] = s[i];
	}
	return o;
}

/* boundary_take - a delimiter of the multipart at stack level k */
static void
boundary_take(struct msgclass *m, size_t k, bool close)
{
	block_flush(m);
	if (m->done)
		return;
	if (close) {
		m->depth = k;
		m->mode = MODE_SKIP;
		m->done = k == 0;
		return;
	}
	m->depth = k + 1;
	memset(&m->part, 0, sizeof(m->part));
	block_begin(m, MODE_PART);
}

/* boundary_line - is this line a delimiter of an open multipart? (innermost first) */
static bool
boundary_line(struct msgclass *m, const char *s, size_t n)
{
	size_t k = m->depth;

	while (k-- > 0) {
		size_t bl = m->bndlen[k], j = 2 + bl;
		bool close = false;

		if (n < j || memcmp(s + 2, m->bnd[k], bl) != 0)
			continue;
		if (j + 2 <= n && s[j] == '-' && s[j + 1] == '-') {
			close = true;
			j += 2;
		}
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j != n)
			continue;
		boundary_take(m, k, close);
		return true;
	}
	return false;
}

/* line_end - a whole body line is in m->line (only its start when lineover) */
static void
line_end(struct msgclass *m)
{
	char *s = m->line;
	size_t n = m->linelen;
	bool over = m->lineover;

	m->linelen = 0;
	m->lineover = false;
	if (!over && n > 0 && s[n - 1] == '\r')
		n--;
	if (!over && n >= 2 && s[0] == '-' && s[1] == '-' && boundary_line(m, s, n))
		return;
	if (m->qp && (m->mode == MODE_TEXT || m->mode == MODE_RETURNED))
		n = qp_decode(s, n);
	switch (m->mode) {
	case MODE_SKIP: return;
	case MODE_TEXT:
		if (!over)
			text_line(m, s, n);
		return;
	default: block_line(m, s, n, over);
	}
}

static void
line_append(struct msgclass *m, const char *p, size_t n)
{
	if (m->lineover || m->linelen + n > sizeof(m->line)) {
		n = m->lineover ? 0 : sizeof(m->line) - m->linelen;
		m->lineover = true;
	}
	memcpy(m->line + m->linelen, p, n);
	m->linelen += n;
}

/* ---- the interface ---- */

int
msgclass_new(size_t scan_limit, struct msgclass **out)
{
	struct msgclass *m = calloc(1, sizeof(*m));

	*out = m;
	if (m == NULL)
		return MSGCLASS_ENOMEM;
	m->limit = scan_limit;
	return MSGCLASS_OK;
}

void
msgclass_free(struct msgclass *m)
{
	free(m);
}

void
msgclass_header(struct msgclass *m, const char *name, const char *value)
{
	size_t n;

	if (m == NULL || name == NULL || m->eoh)
		return;
	if (value == NULL)
		value = "";
	n = strlen(value);
	/* Exchange names the message an out-of-office answers in its own header too, and some
	 * of its replies carry nothing else */
	if (strcasecmp(name, "In-Reply-To") == 0 ||
	    strcasecmp(name, "X-MS-Exchange-Parent-Message-Id") == 0)
		(void)refs_scan(m, MSGCLASS_IN_REPLY_TO, value, n, false);
	else if (strcasecmp(name, "References") == 0)
		(void)refs_scan(m, MSGCLASS_REFERENCES, value, n, false);
	else if (strcasecmp(name, "Content-Type") == 0 && !m->top_seen) {
		ctype_parse(value, n, &m->top);
		m->top_seen = true;
	} else if (strcasecmp(name, "Content-Transfer-Encoding") == 0)
		cte_parse(value, n, &m->top);
	m->bouncy = m->bouncy || bouncy(name, value, n);
	if (m->auto_marker == NULL)
		m->auto_marker = marker_of(name, value, n);
}

/* body_may_matter - after the headers: can the body change the kind or add a reference? */
static bool
body_may_matter(const struct msgclass *m)
{
	if (m->mode == MODE_SKIP && m->depth == 0)
		return false;
	if (m->report_dsn || m->report_mdn || ctype_is(&m->top, "multipart", "report") ||
	    ctype_is(&m->top, "multipart", "mixed"))
		return true;
	return m->nrefs == 0 && m->auto_marker == NULL;
}

bool
msgclass_eoh(struct msgclass *m)
{
	if (m == NULL)
		return false;
	if (!m->eoh) {
		m->eoh = true;
		part_enter(m, &m->top);
		if (!body_may_matter(m))
			m->done = true;
	}
	return !m->done;
}

bool
msgclass_body(struct msgclass *m, const void *chunk, size_t len)
{
	const char *p = chunk;
	bool cut = false;

	if (m == NULL || m->done || !msgclass_eoh(m))
		return true;
	if (len > m->limit - m->seen) {
		len = m->limit - m->seen;
		cut = true;
	}
	while (len > 0 && !m->done) {
		const char *nl = memchr(p, '\n', len);
		size_t take = nl == NULL ? len : (size_t)(nl - p) + 1;

		line_append(m, p, nl == NULL ? take : take - 1);
		if (nl != NULL)
			line_end(m);
		m->seen += take;
		p += take;
		len -= take;
	}
	if (cut && !m->done)
		m->truncated = true;
	return m->done || m->truncated;
}

void
msgclass_finish(struct msgclass *m)
{
	if (m == NULL || m->finished)
		return;
	(void)msgclass_eoh(m);
	m->finished = true;
	if (m->done)
		return;
	if (!m->truncated && (m->linelen > 0 || m->lineover))
		line_end(m);
	if (!m->done && m->mode != MODE_SKIP && m->mode != MODE_TEXT)
		block_flush(m);
}

/* kind_of - the kind and what said so: a report type wins over everything (bounces carry
 * Auto-Submitted too), then the formats without one, then the auto-reply markers */
static enum msgclass_kind
kind_of(const struct msgclass *m, const char **marker)
{
	enum msgclass_kind k = MSGCLASS_DSN;

	if (m->report_dsn)
		*marker = "report-type=delivery-status";
	else if (m->report_mdn) {
		*marker = "disposition-notification";
		k = MSGCLASS_MDN;
	} else if (m->qmail)
		*marker = "qmail";
	else if (m->exim_inline)
		*marker = "exim-inline";
	else if (m->exch_inline)
		*marker = "exchange-inline";
	else if (m->mixed_bounce)
		*marker = "mixed-bounce";
	else if (m->auto_marker != NULL) {
		*marker = m->auto_marker;
		k = MSGCLASS_AUTOREPLY;
	} else {
		*marker = "";
		k = MSGCLASS_NONE;
	}
	return k;
}

enum msgclass_kind
msgclass_kind(const struct msgclass *m)
{
	const char *marker;

	return m == NULL ? MSGCLASS_NONE : kind_of(m, &marker);
}

const char *
msgclass_marker(const struct msgclass *m)
{
	const char *marker = "";

	if (m != NULL)
		(void)kind_of(m, &marker);
	return marker;
}

size_t
msgclass_refs(const struct msgclass *m, const struct msgclass_ref **refs)
{
	*refs = m == NULL ? NULL : m->refs;
	return m == NULL ? 0 : m->nrefs;
}

bool
msgclass_truncated(const struct msgclass *m)
{
	return m != NULL && m->truncated;
}

const char *
msgclass_kind_name(enum msgclass_kind k)
{
	switch (k) {
	case MSGCLASS_DSN: return "delivery-report";
	case MSGCLASS_MDN: return "read-receipt";
	case MSGCLASS_AUTOREPLY: return "auto-reply";
	default: return "none";
	}
}

const char *
msgclass_source_name(enum msgclass_source s)
{
	switch (s) {
	case MSGCLASS_IN_REPLY_TO: return "in-reply-to";
	case MSGCLASS_REFERENCES: return "references";
	case MSGCLASS_RETURNED: return "returned";
	default: return "unknown";
	}
}
