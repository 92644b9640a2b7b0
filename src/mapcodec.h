/* mapcodec: the Postfix socketmap (netstring) and tcp_table wire formats, as pure functions
 * over a caller's buffer: frame parsers that say "read more" rather than block, and reply
 * formatters. No I/O, no allocation; unit-tested and fuzzed. */
#ifndef BACKSTOP_MAPCODEC_H
#define BACKSTOP_MAPCODEC_H

#include <stddef.h>

#define MAPCODEC_REQUEST_MAX 4096	/* default bound on a netstring payload or a line */
#define MAPCODEC_VALUE_MAX 1024		/* room for the value or reason a lookup writes */
#define MAPCODEC_NAME_MAX 64		/* longest socketmap name */

/* Numbered apart from listenaddr_err and mapserver_err, so mapserver_strerror names all. */
enum mapcodec_err {
	MAPCODEC_OK = 0,
	MAPCODEC_EMORE = -1,		/* not a failure: the frame is incomplete, read more */
	MAPCODEC_ELENGTH = -2,		/* permanent: netstring length empty or not digits */
	MAPCODEC_ETOOBIG = -3,		/* permanent: request over the size limit */
	MAPCODEC_ECOMMA = -4,		/* permanent: netstring not closed by a comma */
	MAPCODEC_EREQUEST = -5,		/* permanent: not "name key" or "get key" */
	MAPCODEC_EENCODING = -6,	/* permanent: bad %XX (or %00) in a tcp_table key */
	MAPCODEC_ESPACE = -13,		/* permanent: output buffer too small */
};

/* What a lookup found; the socketmap and tcp_table replies are made from it. */
enum mapcodec_status {
	MAPCODEC_FOUND,		/* socketmap OK, tcp 200 */
	MAPCODEC_NOTFOUND,	/* socketmap NOTFOUND, tcp 500 */
	MAPCODEC_PERM,		/* socketmap PERM, tcp 500 */
	MAPCODEC_TEMP,		/* socketmap TEMP, tcp 400 */
};

/* mapcodec_netstring_parse - find the netstring at the start of buf ("len:data,") */
int mapcodec_netstring_parse(const char *buf, size_t len, size_t max, const char **data,
    size_t *dlen, size_t *used);
/* mapcodec_line_parse - find the newline-terminated line at the start of buf (CR stripped) */
int mapcodec_line_parse(const char *buf, size_t len, size_t max, const char **line,
    size_t *llen, size_t *used);
/* mapcodec_socketmap_split - split a socketmap request "name key" at its first space */
int mapcodec_socketmap_split(const char *data, size_t len, const char **name, size_t *nlen,
    const char **key, size_t *klen);
/* mapcodec_tcp_request - check "get KEY" and URL-decode KEY into a NUL-terminated key */
int mapcodec_tcp_request(const char *line, size_t len, char *key, size_t keysize);
/* mapcodec_url_decode - decode %XX (any case; '+' stays '+'), refusing bad escapes and %00 */
int mapcodec_url_decode(const char *in, size_t len, char *out, size_t outsize, size_t *outlen);
/* mapcodec_url_encode - encode %, whitespace and non-printing bytes as %XX; length or ESPACE */
int mapcodec_url_encode(const char *in, size_t len, char *out, size_t outsize);
/* mapcodec_socketmap_reply - format the netstring reply for a status; length or ESPACE */
int mapcodec_socketmap_reply(enum mapcodec_status st, const char *text, char *out,
    size_t outsize);
/* mapcodec_tcp_reply - format the tcp_table reply line for a status; length or ESPACE */
int mapcodec_tcp_reply(enum mapcodec_status st, const char *text, char *out, size_t outsize);
/* mapcodec_strerror - text for a mapcodec_err code */
const char *mapcodec_strerror(int err);

#endif
