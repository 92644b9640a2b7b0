/* listenaddr: the one grammar for a listen address ("unix:/path[:MODE]", "inet:host:port",
 * "inet:[v6addr]:port"), used by conf.c to check MapSocket and by the map server to bind it,
 * so -n and serve cannot disagree. Pure apart from the resolver call in listenaddr_parse. */
#ifndef BACKSTOP_LISTENADDR_H
#define BACKSTOP_LISTENADDR_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Numbered apart from mapcodec_err and mapserver_err, so mapserver_strerror names all. */
enum listenaddr_err {
	LISTENADDR_OK = 0,
	LISTENADDR_ESPEC = -8,		/* permanent: the listen address does not parse */
	LISTENADDR_EMODE = -14,		/* permanent: socket mode not "0" and 3 octal digits */
};

/* A parsed listen address. */
struct listenaddr {
	sa_family_t family;		/* AF_UNIX, AF_INET or AF_INET6 */
	struct sockaddr_storage ss;
	socklen_t sslen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	mode_t mode;			/* unix socket mode, default 0660 */
};

/* listenaddr_parse - parse a listen address, resolving an inet host name */
int listenaddr_parse(const char *spec, struct listenaddr *out);
/* listenaddr_check - the same grammar, without resolving a host name */
int listenaddr_check(const char *spec);
/* listenaddr_strerror - text for a listenaddr_err code */
const char *listenaddr_strerror(int err);

#endif
