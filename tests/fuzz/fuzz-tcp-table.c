/* fuzz-tcp-table: the tcp_table request path of the map server over arbitrary bytes, as a
 * connection's read buffer: lines one after another, each "get KEY" with KEY URL-encoded.
 * Byte 0 picks the line limit (the default 4096, or a small one to reach its edges).
 * Invariants: the parser always advances inside the buffer; a decoded key encodes and
 * decodes back to itself; every reply is exactly one line, whatever the text. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "mapcodec.h"

/* fuzz_tcp_key - the key survives encode and decode, and replies keep the framing */
static void
fuzz_tcp_key(const char *key)
{
	char enc[3 * MAPCODEC_REQUEST_MAX + 1], dec[MAPCODEC_REQUEST_MAX + 1];
	char out[3 * MAPCODEC_REQUEST_MAX + 8];
	size_t klen = strlen(key), dlen;
	int n, st;

	n = mapcodec_url_encode(key, klen, enc, sizeof(enc));
	FUZZ_CHECK(n >= 0 && (size_t)n == strlen(enc));
	FUZZ_CHECK(strpbrk(enc, " \t\r\n") == NULL);
	FUZZ_CHECK(mapcodec_url_decode(enc, (size_t)n, dec, sizeof(dec), &dlen) == MAPCODEC_OK);
	FUZZ_CHECK(dlen == klen && memcmp(dec, key, klen) == 0);
	for (st = MAPCODEC_FOUND; st <= MAPCODEC_TEMP; st++) {
		n = mapcodec_tcp_reply((enum mapcodec_status)st, key, out, sizeof(out));
		FUZZ_CHECK(n > 5 && out[n - 1] == '\n' && memchr(out, '\n', (size_t)n - 1) == NULL);
		FUZZ_CHECK(memchr(out, '\r', (size_t)n) == NULL);
	}
}

int
fuzz_tcp_table(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1, *line;
	char key[MAPCODEC_REQUEST_MAX + 1];
	size_t len, max, llen, used;
	int rc;

	if (size < 1)
		return 0;
	max = data[0] & 1 ? MAPCODEC_REQUEST_MAX : data[0] >> 1;
	len = size - 1;
	while (len > 0) {
		rc = mapcodec_line_parse(buf, len, max, &line, &llen, &used);
		if (rc == MAPCODEC_EMORE)
			break;
		if (rc == MAPCODEC_ETOOBIG)
			break;	/* the server answers and closes */
		FUZZ_CHECK(rc == MAPCODEC_OK && used > 0 && used <= len && llen <= max);
		FUZZ_CHECK(line == buf && buf[used - 1] == '\n');
		rc = mapcodec_tcp_request(line, llen, key, sizeof(key));
		if (rc == MAPCODEC_OK)
			fuzz_tcp_key(key);
		else
			FUZZ_CHECK(rc == MAPCODEC_EREQUEST || rc == MAPCODEC_EENCODING ||
			    rc == MAPCODEC_ETOOBIG);
		buf += used;
		len -= used;
	}
	return 0;
}

FUZZ_ENTRY(fuzz_tcp_table)
