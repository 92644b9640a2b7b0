/* fuzz-conf: conf_parse on arbitrary text. Inputs that name a "file:" list are skipped: the
 * parser would open whatever path they name (a FIFO or terminal would block the fuzzer);
 * the list reader itself is the same code that splits inline lists.
 * Invariants: a failure has a code and a "fuzz:LINE: message" text; a success has the
 * required Domains and a hash minimum no longer than the hash; its MapSocket then goes
 * through listenaddr_parse, the other parser of configuration text; conf_risks writes a
 * NUL-terminated text whatever the values, and a configuration differs from itself in no
 * restart-only setting. */
#include "config.h"

#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "listenaddr.h"

int
fuzz_conf(const uint8_t *data, size_t size)
{
	char err[512];
	struct conf *c = NULL;
	struct listenaddr ma;
	int rc;

	if (size > 65536 || memmem(data, size, "file:", 5) != NULL)
		return 0;
	err[0] = '\0';
	rc = conf_parse((const char *)data, size, "fuzz", &c, err, sizeof(err));
	if (rc != CONF_OK) {
		FUZZ_CHECK(c == NULL && rc < 0 && rc >= CONF_EMISSING);
		FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0 && memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_CHECK(c != NULL && c->domains.n > 0);
	FUZZ_CHECK(c->srs_hash_min <= c->srs_hash_length);
	for (size_t i = 0; i < c->domains.n; i++)
		FUZZ_CHECK(c->domains.v[i] != NULL && c->domains.v[i][0] != '\0');
	FUZZ_CHECK(c->map_socket != NULL);
	rc = listenaddr_parse(c->map_socket, &ma);
	FUZZ_CHECK(rc == LISTENADDR_OK || rc == LISTENADDR_ESPEC);
	memset(err, 'x', sizeof(err));
	if (conf_risks(c, 1764201600, err, sizeof(err)) > 0)
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && strchr(err, '\n') != NULL);
	FUZZ_CHECK(conf_fixed_changes(c, c, ~0u) == 0);
	conf_free(c);
	return 0;
}

FUZZ_ENTRY(fuzz_conf)
