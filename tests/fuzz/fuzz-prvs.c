/* fuzz-prvs: prvs_verify and prvs_strip on arbitrary addresses with the fixed keyring.
 * Input: byte 0 picks TagValidity (0-31), byte 1 shifts "now" by -128..127 days, the rest
 * is the address. Invariants: a valid tag strips to the address verify returned; signing
 * an address that signs gives a tag that verifies as valid and strips back to it. */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "fuzz.h"
#include "prvs.h"

static bool
fuzz_addr_eq(const struct addr *a, const struct addr *b)
{
	return a->null == b->null && a->quoted == b->quoted && strcmp(a->local, b->local) == 0 &&
	    strcmp(a->domain, b->domain) == 0;
}

/* fuzz_prvs_sign - sign a, then the tag must verify, strip back to a, and be signed no more */
static void
fuzz_prvs_sign(const struct addr *a, time_t now, unsigned validity)
{
	const struct keyring *kr = fuzz_keyring();
	struct addr tagged, back, again;

	if (prvs_sign(kr, a, now, validity, &tagged) != PRVS_OK)
		return;
	FUZZ_CHECK(strlen(tagged.local) <= ADDR_LOCAL_MAX);
	FUZZ_CHECK(prvs_verify(kr, &tagged, now, validity, &back) == PRVS_VALID);
	FUZZ_CHECK(fuzz_addr_eq(a, &back));
	FUZZ_CHECK(prvs_strip(&tagged, &back) == PRVS_OK && fuzz_addr_eq(a, &back));
	FUZZ_CHECK(prvs_sign(kr, &tagged, now, validity, &again) == PRVS_ETAGGED);
}

int
fuzz_prvs(const uint8_t *data, size_t size)
{
	const struct keyring *kr = fuzz_keyring();
	struct addr a, orig, plain;
	enum prvs_verdict v;
	unsigned validity;
	time_t now;
	int err;

	if (size < 2)
		return 0;
	validity = data[0] % 32;
	now = FUZZ_NOW + (time_t)(int8_t)data[1] * 86400;
	if (addr_parse(&a, (const char *)data + 2, size - 2) != ADDR_OK)
		return 0;
	v = prvs_verify(kr, &a, now, validity, &orig);
	FUZZ_CHECK(v >= PRVS_VALID && v <= PRVS_EXPIRED);
	FUZZ_CHECK(strcmp(prvs_verdict_name(v), "unknown") != 0);
	err = prvs_strip(&a, &plain);
	FUZZ_CHECK(err == PRVS_OK || err == PRVS_ENOTAG);
	if (v == PRVS_VALID)
		FUZZ_CHECK(err == PRVS_OK && fuzz_addr_eq(&orig, &plain));
	if (v == PRVS_UNTAGGED)
		FUZZ_CHECK(err == PRVS_ENOTAG);
	if (err == PRVS_OK) {
		FUZZ_CHECK(!plain.null && strlen(plain.local) + PRVS_TAG_LEN == strlen(a.local));
		fuzz_prvs_sign(&plain, now, validity);
	} else {
		fuzz_prvs_sign(&a, now, validity);
	}
	return 0;
}

FUZZ_ENTRY(fuzz_prvs)
