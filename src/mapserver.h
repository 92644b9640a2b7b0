/* mapserver: Postfix socketmap (netstring) and tcp_table lookup servers that answer through
 * a lookup callback, so the server knows nothing of SRS. The frame parsers are pure functions
 * over a buffer (unit-tested and fuzzed); the server is epoll workers on non-blocking sockets. */
#ifndef BACKSTOP_MAPSERVER_H
#define BACKSTOP_MAPSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#define MAPSERVER_REQUEST_MAX 4096	/* default bound on a netstring payload or a line */
#define MAPSERVER_VALUE_MAX 1024	/* room for the value or reason a lookup writes */
#define MAPSERVER_NAME_MAX 64		/* longest socketmap name */
#define MAPSERVER_IDLE_MS 300000	/* default idle timeout: Postfix drops idle maps sooner */
#define MAPSERVER_CONN_MAX 4096		/* default connection limit */
#define MAPSERVER_REQUEST_MS 10000	/* default time from a request's first byte to its last */
#define MAPSERVER_OUTPUT_MAX 16384	/* default bound on replies queued for a client */

enum mapserver_err {
	MAPSERVER_OK = 0,
	MAPSERVER_EMORE = -1,		/* not a failure: the frame is incomplete, read more */
	MAPSERVER_ELENGTH = -2,		/* permanent: netstring length empty or not digits */
	MAPSERVER_ETOOBIG = -3,		/* permanent: request over the size limit */
	MAPSERVER_ECOMMA = -4,		/* permanent: netstring not closed by a comma */
	MAPSERVER_EREQUEST = -5,	/* permanent: not "name key" or "get key" */
	MAPSERVER_EENCODING = -6,	/* permanent: bad %XX (or %00) in a tcp_table key */
	MAPSERVER_ETRUNCATED = -7,	/* permanent: the client closed in the middle of a frame */
	MAPSERVER_ESPEC = -8,		/* permanent: the listen address does not parse */
	MAPSERVER_EBIND = -9,		/* temporary: cannot create, bind or listen on the socket */
	MAPSERVER_EINUSE = -10,		/* permanent: another server answers on that unix socket */
	MAPSERVER_ENOMEM = -11,		/* temporary */
	MAPSERVER_ETHREAD = -12,	/* temporary: cannot start the worker threads */
	MAPSERVER_ESPACE = -13,		/* permanent: output buffer too small */
	MAPSERVER_EMODE = -14,		/* permanent: socket mode not "0" and 3 octal digits */
};

/* What a lookup found; the socketmap and tcp_table replies are made from it. */
enum mapserver_status {
	MAPSERVER_FOUND,	/* socketmap OK, tcp 200 */
	MAPSERVER_NOTFOUND,	/* socketmap NOTFOUND, tcp 500 */
	MAPSERVER_PERM,		/* socketmap PERM, tcp 500 */
	MAPSERVER_TEMP,		/* socketmap TEMP, tcp 400 */
};

enum mapserver_proto { MAPSERVER_SOCKETMAP, MAPSERVER_TCP_TABLE };

/* A parsed listen address: "unix:/path[:MODE]", "inet:host:port", "inet:[v6addr]:port". */
struct mapserver_addr {
	sa_family_t family;		/* AF_UNIX, AF_INET or AF_INET6 */
	struct sockaddr_storage ss;
	socklen_t sslen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	mode_t mode;			/* unix socket mode, default 0660 */
};

/* The lookup: map name and decoded key in, status and NUL-terminated value or reason out.
 * batch is what batch_begin returned for the requests read in one go (NULL without it). */
typedef enum mapserver_status (*mapserver_lookup_fn)(void *ctx, void *batch, const char *map,
    const char *key, char *out, size_t outsize);
typedef void *(*mapserver_batch_begin_fn)(void *ctx);
typedef void (*mapserver_batch_end_fn)(void *ctx, void *batch);

struct mapserver_config {
	mapserver_lookup_fn lookup;
	mapserver_batch_begin_fn batch_begin;	/* optional: e.g. take a key snapshot */
	mapserver_batch_end_fn batch_end;	/* optional: release it */
	void *ctx;
	unsigned threads;		/* 0: one per two online CPUs, at least one */
	unsigned max_connections;	/* 0: MAPSERVER_CONN_MAX */
	unsigned idle_timeout_ms;	/* 0: MAPSERVER_IDLE_MS; between requests */
	size_t max_request;		/* 0: MAPSERVER_REQUEST_MAX */
	unsigned request_timeout_ms;	/* 0: MAPSERVER_REQUEST_MS */
	unsigned max_per_peer;		/* 0: half of max_connections, at least 1; a peer
					 * is a uid on a unix socket, an address on inet */
	size_t max_output;		/* 0: MAPSERVER_OUTPUT_MAX */
};

struct mapserver;

/* mapserver_netstring_parse - find the netstring at the start of buf ("len:data,") */
int mapserver_netstring_parse(const char *buf, size_t len, size_t max, const char **data,
    size_t *dlen, size_t *used);
/* mapserver_line_parse - find the newline-terminated line at the start of buf (CR stripped) */
int mapserver_line_parse(const char *buf, size_t len, size_t max, const char **line,
    size_t *llen, size_t *used);
/* mapserver_socketmap_split - split a socketmap request "name key" at its first space */
int mapserver_socketmap_split(const char *data, size_t len, const char **name, size_t *nlen,
    const char **key, size_t *klen);
/* mapserver_tcp_request - check "get KEY" and URL-decode KEY into a NUL-terminated key */
int mapserver_tcp_request(const char *line, size_t len, char *key, size_t keysize);
/* mapserver_url_decode - decode %XX (any case; '+' stays '+'), refusing bad escapes and %00 */
int mapserver_url_decode(const char *in, size_t len, char *out, size_t outsize, size_t *outlen);
/* mapserver_url_encode - encode %, whitespace and non-printing bytes as %XX; length or ESPACE */
int mapserver_url_encode(const char *in, size_t len, char *out, size_t outsize);
/* mapserver_socketmap_reply - format the netstring reply for a status; length or ESPACE */
int mapserver_socketmap_reply(enum mapserver_status st, const char *text, char *out,
    size_t outsize);
/* mapserver_tcp_reply - format the tcp_table reply line for a status; length or ESPACE */
int mapserver_tcp_reply(enum mapserver_status st, const char *text, char *out, size_t outsize);
/* mapserver_addr_parse - parse a MapSocket listen address */
int mapserver_addr_parse(const char *spec, struct mapserver_addr *out);
/* mapserver_addr_check - the same grammar, without resolving a host name */
int mapserver_addr_check(const char *spec);

/* mapserver_new - a server with no listeners yet */
int mapserver_new(const struct mapserver_config *cfg, struct mapserver **out)
	__attribute__((warn_unused_result));
/* mapserver_listen - bind a listener; tcp_table requests carry no map name, so give one */
int mapserver_listen(struct mapserver *ms, const char *spec, enum mapserver_proto proto,
    const char *map, uid_t owner, gid_t group, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* mapserver_start - start the worker threads; they serve until mapserver_stop */
int mapserver_start(struct mapserver *ms) __attribute__((warn_unused_result));
/* mapserver_stop - stop accepting, close every connection, join the workers */
void mapserver_stop(struct mapserver *ms);
/* mapserver_free - close the listeners, remove unix sockets, free everything */
void mapserver_free(struct mapserver *ms);
/* mapserver_connections - connections open now */
unsigned mapserver_connections(const struct mapserver *ms);
/* mapserver_strerror - text for a mapserver_err code */
const char *mapserver_strerror(int err);

#endif
