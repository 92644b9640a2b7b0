/* fuzz-msgclass: a message through the classifier as the milter feeds it. Input: headers up
 * to the first blank line (each "Name: value" line, continuation lines folded in with "\n"),
 * then the body, fed twice: whole and in chunks whose sizes come from the input; the scan
 * limit comes from the input too. Invariants: both feeds give the same kind, marker,
 * references and truncation; every reference is a normalised msg-id that normalises to
 * itself; msgclass_msgid on the whole input gives the same kind of answer. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "msgclass.h"

struct fuzz_msg {
	const char *head, *body;
	size_t headlen, bodylen;
	size_t limit;
};

/* fuzz_msgclass_split - headers and body at the first blank line */
static void
fuzz_msgclass_split(const uint8_t *data, size_t size, struct fuzz_msg *fm)
{
	const char *s = (const char *)data;
	size_t i;

	fm->head = s;
	fm->headlen = size;
	fm->body = s + size;
	fm->bodylen = 0;
	for (i = 0; i + 1 < size; i++) {
		size_t skip = s[i + 1] == '\n' ? 2 :
		    s[i + 1] == '\r' && i + 2 < size && s[i + 2] == '\n' ? 3 : 0;

		if (s[i] == '\n' && skip > 0) {
			fm->headlen = i + 1;
			fm->body = s + i + skip;
			fm->bodylen = size - i - skip;
			return;
		}
	}
}

/* fuzz_msgclass_headers - each header line, with its continuations, to msgclass_header */
static void
fuzz_msgclass_headers(struct msgclass *m, const char *s, size_t n)
{
	static char name[128], value[8192];
	size_t i = 0;

	while (i < n) {
		size_t nl = 0, vl = 0;

		while (i < n && s[i] != ':' && s[i] != '\n' && nl < sizeof(name) - 1)
			name[nl++] = s[i++];
		name[nl] = '\0';
		if (i < n && s[i] == ':')
			i++;
		for (;;) {
			for (; i < n && s[i] != '\n' && vl < sizeof(value) - 2; i++)
				value[vl++] = s[i] == '\0' ? ' ' : s[i];
			while (i < n && s[i] != '\n')
				i++;
			i++;
			if (i >= n || (s[i] != ' ' && s[i] != '\t'))
				break;
			value[vl++] = '\n';
		}
		value[vl] = '\0';
		msgclass_header(m, name, value);
	}
}

struct fuzz_answer {
	enum msgclass_kind kind;
	const char *marker;
	bool truncated, eoh;
	size_t nrefs;
	struct msgclass_ref refs[MSGCLASS_REFS_MAX];
};

static void
fuzz_msgclass_check_refs(const struct msgclass_ref *refs, size_t n)
{
	char again[MSGCLASS_ID_MAX + 3], norm[MSGCLASS_ID_MAX + 1];
	size_t i, j, len;

	FUZZ_CHECK(n <= MSGCLASS_REFS_MAX);
	for (i = 0; i < n; i++) {
		len = strnlen(refs[i].id, sizeof(refs[i].id));
		FUZZ_CHECK(len > 0 && len <= MSGCLASS_ID_MAX && strchr(refs[i].id, '@') != NULL);
		FUZZ_CHECK(refs[i].source == MSGCLASS_IN_REPLY_TO ||
		    refs[i].source == MSGCLASS_REFERENCES || refs[i].source == MSGCLASS_RETURNED);
		snprintf(again, sizeof(again), "<%s>", refs[i].id);
		FUZZ_CHECK(msgclass_msgid(again, len + 2, norm, sizeof(norm)) == (int)len);
		FUZZ_CHECK(strcmp(norm, refs[i].id) == 0);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(refs[i].id, refs[j].id) != 0);
	}
}

/* fuzz_msgclass_run - one feed of the message; chunk 0: the body in one piece */
static void
fuzz_msgclass_run(const struct fuzz_msg *fm, const uint8_t *sizes, size_t nsizes,
    struct fuzz_answer *a)
{
	const struct msgclass_ref *refs;
	struct msgclass *m;
	size_t off = 0, k = 0;

	FUZZ_CHECK(msgclass_new(fm->limit, &m) == MSGCLASS_OK);
	fuzz_msgclass_headers(m, fm->head, fm->headlen);
	a->eoh = msgclass_eoh(m);
	while (a->eoh && off < fm->bodylen) {
		size_t n = nsizes == 0 ? fm->bodylen : 1 + (size_t)sizes[k++ % nsizes] % 97;

		if (n > fm->bodylen - off)
			n = fm->bodylen - off;
		if (msgclass_body(m, fm->body + off, n))
			break;
		off += n;
	}
	msgclass_finish(m);
	a->kind = msgclass_kind(m);
	a->marker = msgclass_marker(m);
	a->truncated = msgclass_truncated(m);
	a->nrefs = msgclass_refs(m, &refs);
	fuzz_msgclass_check_refs(refs, a->nrefs);
	memcpy(a->refs, refs, a->nrefs * sizeof(refs[0]));
	FUZZ_CHECK(a->marker != NULL && (a->kind == MSGCLASS_NONE) == (a->marker[0] == '\0'));
	msgclass_free(m);
}

int
fuzz_msgclass(const uint8_t *data, size_t size)
{
	char id[MSGCLASS_ID_MAX + 1];
	struct fuzz_answer whole, chunked;
	struct fuzz_msg fm;
	size_t i;
	int n;

	fuzz_msgclass_split(data, size, &fm);
	fm.limit = size > 0 && data[0] < 16 ? (size_t)data[0] * 64 : MSGCLASS_SCAN_DEFAULT;
	fuzz_msgclass_run(&fm, NULL, 0, &whole);
	fuzz_msgclass_run(&fm, data, size < 8 ? size : 8, &chunked);
	FUZZ_CHECK(whole.kind == chunked.kind && strcmp(whole.marker, chunked.marker) == 0);
	FUZZ_CHECK(whole.truncated == chunked.truncated && whole.nrefs == chunked.nrefs);
	for (i = 0; i < whole.nrefs; i++)
		FUZZ_CHECK(whole.refs[i].source == chunked.refs[i].source &&
		    strcmp(whole.refs[i].id, chunked.refs[i].id) == 0);
	n = msgclass_msgid((const char *)data, size, id, sizeof(id));
	FUZZ_CHECK(n == -1 || (n > 0 && (size_t)n == strlen(id) && strchr(id, '@') != NULL));
	return 0;
}

FUZZ_ENTRY(fuzz_msgclass)
