/* fuzz-srs-reverse: srs_reverse on arbitrary local parts at the SRS domain with the fixed
 * keyring. Input: byte 0 picks the parameters, byte 1 shifts "now" by -128..127 days, the
 * rest is an address, or a local part to which "@fwd.example.com" is added when it has no @.
 * Invariants: a code with a class and a reason; a recovered address formats and re-parses. */
#include "config.h"

#include <string.h>

#include "addr.h"
#include "fuzz-srs.h"
#include "fuzz.h"

int
fuzz_srs_reverse(const uint8_t *data, size_t size)
{
	char text[600], back[ADDR_TEXT_MAX];
	struct srs_params p;
	struct addr in, out, again;
	size_t n;
	time_t now;
	int err;

	if (size < 2 || size - 2 > 512)
		return 0;
	fuzz_srs_params(&p, data[0]);
	now = FUZZ_NOW + (time_t)(int8_t)data[1] * 86400;
	n = size - 2;
	memcpy(text, data + 2, n);
	if (memchr(text, '@', n) == NULL) {
		memcpy(text + n, "@" FUZZ_SRS_DOMAIN, sizeof("@" FUZZ_SRS_DOMAIN) - 1);
		n += sizeof("@" FUZZ_SRS_DOMAIN) - 1;
	}
	if (addr_parse(&in, text, n) != ADDR_OK)
		return 0;
	err = srs_reverse(&p, fuzz_keyring(), now, &in, &out);
	FUZZ_CHECK(strcmp(srs_strerror(err), "unknown SRS error") != 0);
	FUZZ_CHECK(err != SRS_ENOKEY && err != SRS_ECONFIG);
	if (err != SRS_OK) {
		FUZZ_CHECK(srs_err_class(err) != SRS_CLASS_OK);
		return 0;
	}
	FUZZ_CHECK(srs_is_srs(&in));
	FUZZ_CHECK(addr_format(&out, back, sizeof(back)) == ADDR_OK);
	FUZZ_CHECK(addr_parse(&again, back, strlen(back)) == ADDR_OK);
	return 0;
}

FUZZ_ENTRY(fuzz_srs_reverse)
