/* fuzz-addr: addr_parse on arbitrary bytes, then addr_match/addr_domain_match against a
 * pattern. Input: "ADDRESS\nPATTERN" (no newline: the whole input is the address).
 * Invariants: a parsed address formats, re-parses to the same address, rebuilds with
 * addr_set, and matches its own "local@domain", its own domain, and "*@domain". */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "fuzz.h"

static void
fuzz_addr_roundtrip(const struct addr *a)
{
	char text[ADDR_TEXT_MAX], pat[ADDR_TEXT_MAX + 2];
	struct addr b;

	FUZZ_CHECK(strlen(a->local) <= ADDR_LOCAL_MAX && strlen(a->domain) <= ADDR_DOMAIN_MAX);
	FUZZ_CHECK(addr_format(a, text, sizeof(text)) == ADDR_OK);
	if (a->null) {
		FUZZ_CHECK(text[0] == '\0' && addr_match(a, "<>"));
		return;
	}
	FUZZ_CHECK(addr_parse(&b, text, strlen(text)) == ADDR_OK);
	FUZZ_CHECK(!b.null && b.quoted == a->quoted);
	FUZZ_CHECK(strcmp(a->local, b.local) == 0 && strcmp(a->domain, b.domain) == 0);
	FUZZ_CHECK(addr_set(&b, a->local, strlen(a->local), a->domain) == ADDR_OK);
	FUZZ_CHECK(strcmp(a->local, b.local) == 0 && strcmp(a->domain, b.domain) == 0);
	FUZZ_CHECK(addr_match(a, text));
	FUZZ_CHECK(addr_match(a, a->domain));
	FUZZ_CHECK(addr_domain_match(a->domain, a->domain));
	snprintf(pat, sizeof(pat), "*@%s", a->domain);
	FUZZ_CHECK(addr_match(a, pat));
	FUZZ_CHECK(!addr_match(a, "<>"));
}

int
fuzz_addr(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *nl = memchr(data, '\n', size);
	size_t alen = nl == NULL ? size : (size_t)(nl - text);
	char pattern[512];
	struct addr a;
	bool m;

	if (addr_parse(&a, text, alen) != ADDR_OK)
		return 0;
	fuzz_addr_roundtrip(&a);
	if (nl != NULL) {
		size_t plen = size - alen - 1;

		if (plen >= sizeof(pattern))
			plen = sizeof(pattern) - 1;
		memcpy(pattern, nl + 1, plen);
		pattern[plen] = '\0';
		m = addr_match(&a, pattern);
		FUZZ_CHECK(!m || !a.null || strcmp(pattern, "<>") == 0);
		(void)addr_domain_match(a.domain, pattern);
		(void)addr_domain_in(a.domain, (char *const[]){ pattern }, 1);
	}
	return 0;
}

FUZZ_ENTRY(fuzz_addr)
