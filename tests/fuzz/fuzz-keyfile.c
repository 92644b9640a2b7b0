/* fuzz-keyfile: keyfile_parse on arbitrary key file text.
 * Invariants: a failure says why, naming the file; a parsed key formats with keyfile_format
 * and parses back to the same secret and activation time. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "keyfile.h"

int
fuzz_keyfile(const uint8_t *data, size_t size)
{
	unsigned char secret[KEYFILE_KEY_BYTES], again[KEYFILE_KEY_BYTES];
	char why[512], text[KEYFILE_TEXT_MAX];
	time_t activate, activate2;
	int rc, n;

	why[0] = '\0';
	rc = keyfile_parse((const char *)data, size, "fuzz.key", secret, &activate, why,
	    sizeof(why));
	if (rc != KEYFILE_OK) {
		FUZZ_CHECK(rc < 0 && strstr(why, "fuzz.key") != NULL);
		return 0;
	}
	n = keyfile_format(secret, activate, text, sizeof(text));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(text));
	rc = keyfile_parse(text, (size_t)n, "again.key", again, &activate2, why, sizeof(why));
	if (rc != KEYFILE_OK)
		fprintf(stderr, "re-parse failed: %s\n", why);
	FUZZ_CHECK(rc == KEYFILE_OK);
	FUZZ_CHECK(activate == activate2 && sodium_memcmp(secret, again, sizeof(secret)) == 0);
	return 0;
}

FUZZ_ENTRY(fuzz_keyfile)
