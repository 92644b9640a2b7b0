/* fuzz-legacy-secrets: srs_legacy_parse on arbitrary postsrsd secrets-file text, then a
 * postsrsd-shaped address verified with what it read. Invariants: a failure names a code
 * (and a line for a long one); a success holds at least one secret; the verify returns a
 * code, and a success recovers an address that parses back. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "srs-legacy.h"

int
fuzz_legacy_secrets(const uint8_t *data, size_t size)
{
	static const char *const probes[] = { "SRS0=UIMy=JV=example.net=alice",
	    "SRS1=RLDX=hop.example==abcd=AB=first.example=joe" };
	struct srs_params p = { .domain = "fwd.example.com", .separator = '=', .hash_length = 5,
	    .hash_min = 5, .max_age = 21 };
	struct srs_legacy *lg;
	struct addr in, out, back;
	char text[ADDR_TEXT_MAX];
	unsigned line;
	size_t i;
	int rc;

	FUZZ_CHECK(sodium_init() >= 0);	/* sodium_malloc holds the secrets */
	rc = srs_legacy_parse((const char *)data, size, &lg, &line);
	if (rc != SRS_LEGACY_OK) {
		FUZZ_CHECK(rc < 0 && lg == NULL && (rc != SRS_LEGACY_ELINE || line > 0));
		return 0;
	}
	FUZZ_CHECK(srs_legacy_count(lg) >= 1);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		FUZZ_CHECK(addr_set(&in, probes[i], strlen(probes[i]), p.domain) == ADDR_OK);
		rc = srs_legacy_verify(&p, lg, 1796169600, &in, &out);
		FUZZ_CHECK(rc <= 0);
		if (rc == SRS_OK) {
			addr_format(&out, text, sizeof(text));
			FUZZ_CHECK(addr_parse(&back, text, strlen(text)) == ADDR_OK);
		}
	}
	srs_legacy_free(lg);
	return 0;
}

FUZZ_ENTRY(fuzz_legacy_secrets)
