/* mapserver: Postfix socketmap and tcp_table lookup servers that answer through a lookup
 * callback, so the server knows nothing of SRS. It is epoll workers on non-blocking sockets;
 * the wire format is mapcodec's, the listen address grammar listenaddr's. */
#ifndef BACKSTOP_MAPSERVER_H
#define BACKSTOP_MAPSERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "mapcodec.h"

#define MAPSERVER_IDLE_MS 300000	/* default idle timeout: Postfix drops idle maps sooner */
#define MAPSERVER_CONN_MAX 4096		/* default connection limit */
#define MAPSERVER_REQUEST_MS 10000	/* default time from a request's first byte to its last */
#define MAPSERVER_OUTPUT_MAX 16384	/* default bound on replies queued for a client */

/* The server's own failures. mapserver_listen also returns a listenaddr_err, and a
 * connection's error reply names a mapcodec_err: the three are numbered apart. */
enum mapserver_err {
	MAPSERVER_OK = 0,
	MAPSERVER_ETRUNCATED = -7,	/* permanent: the client closed in the middle of a frame */
	MAPSERVER_EBIND = -9,		/* temporary: cannot create, bind or listen on the socket */
	MAPSERVER_EINUSE = -10,		/* permanent: another server answers on that unix socket */
	MAPSERVER_ENOMEM = -11,		/* temporary */
	MAPSERVER_ETHREAD = -12,	/* temporary: cannot start the worker threads */
};

enum mapserver_proto { MAPSERVER_SOCKETMAP, MAPSERVER_TCP_TABLE };

/* The lookup: map name and decoded key in, status and NUL-terminated value or reason out.
 * batch is what batch_begin returned for the requests read in one go (NULL without it). */
typedef enum mapcodec_status (*mapserver_lookup_fn)(void *ctx, void *batch, const char *map,
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
	size_t max_request;		/* 0: MAPCODEC_REQUEST_MAX */
	unsigned request_timeout_ms;	/* 0: MAPSERVER_REQUEST_MS */
	unsigned max_per_peer;		/* 0: half of max_connections, at least 1; a peer
					 * is a uid on a unix socket, an address on inet */
	size_t max_output;		/* 0: MAPSERVER_OUTPUT_MAX */
};

struct mapserver;

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
/* mapserver_strerror - text for a mapserver_err, mapcodec_err or listenaddr_err code */
const char *mapserver_strerror(int err);

#endif
