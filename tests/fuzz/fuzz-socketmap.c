/* fuzz-socketmap: the socketmap request path of the map server over arbitrary bytes, as a
 * connection's read buffer: netstrings one after another, each split into "name key".
 * Byte 0 picks the size limit (the default 4096, or a small one to reach its edges).
 * Invariants: a frame lies inside the buffer and the parser always advances; the reply
 * built from the request's key is one netstring that parses back whole. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "mapcodec.h"

/* fuzz_socketmap_reply - answer with the key as text; the reply must parse back */
static void
fuzz_socketmap_reply(const char *key, size_t klen, int status)
{
	char text[MAPCODEC_VALUE_MAX], out[MAPCODEC_VALUE_MAX + 64];
	const char *d;
	size_t dlen, used;
	int n;

	if (klen >= sizeof(text))
		klen = sizeof(text) - 1;
	memcpy(text, key, klen);
	text[klen] = '\0';
	n = mapcodec_socketmap_reply((enum mapcodec_status)status, text, out, sizeof(out));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(out));
	FUZZ_CHECK(mapcodec_netstring_parse(out, (size_t)n, sizeof(out), &d, &dlen, &used) ==
	    MAPCODEC_OK);
	FUZZ_CHECK(used == (size_t)n && dlen >= strlen(text));
}

int
fuzz_socketmap(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1, *d, *name, *key;
	size_t len, max, dlen, used, nlen, klen;
	int rc;

	if (size < 1)
		return 0;
	max = data[0] & 1 ? MAPCODEC_REQUEST_MAX : data[0] >> 1;
	len = size - 1;
	while (len > 0) {
		rc = mapcodec_netstring_parse(buf, len, max, &d, &dlen, &used);
		if (rc != MAPCODEC_OK) {
			FUZZ_CHECK(rc == MAPCODEC_EMORE || rc == MAPCODEC_ELENGTH ||
			    rc == MAPCODEC_ETOOBIG || rc == MAPCODEC_ECOMMA);
			break;
		}
		FUZZ_CHECK(used > 0 && used <= len && dlen <= max);
		FUZZ_CHECK(d >= buf && d + dlen < buf + used && d[dlen] == ',');
		rc = mapcodec_socketmap_split(d, dlen, &name, &nlen, &key, &klen);
		if (rc == MAPCODEC_OK) {
			FUZZ_CHECK(nlen > 0 && nlen <= MAPCODEC_NAME_MAX && klen > 0);
			FUZZ_CHECK(name == d && key + klen == d + dlen);
			fuzz_socketmap_reply(key, klen, (int)(klen % 4));
		} else {
			FUZZ_CHECK(rc == MAPCODEC_EREQUEST);
		}
		buf += used;
		len -= used;
	}
	return 0;
}

FUZZ_ENTRY(fuzz_socketmap)
