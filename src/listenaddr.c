/* listenaddr: parse a listen address into a sockaddr ready for bind(). The grammar is the
 * one conf.c checks MapSocket against, so a file that passes -n binds; only
 * listenaddr_parse resolves a host name, listenaddr_check never touches the network. */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "listenaddr.h"

/* unix:/path[:0MODE]. A colon after the last '/' starts the mode, and a mode must be
 * exactly "0" and three octal digits: a typo such as ":660" is refused rather than
 * silently made part of the path. Without a mode the socket is 0660: the MTA reaches it
 * through the group (UserID's), no other local user at all. */
static int
addr_parse_unix(const char *p, struct listenaddr *out)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	const char *colon = strrchr(p, ':');
	size_t n = strlen(p);

	out->mode = 0660;
	if (colon != NULL && strchr(colon, '/') == NULL) {
		if (strlen(colon + 1) != 4 || colon[1] != '0' ||
		    strspn(colon + 1, "01234567") != 4)
			return LISTENADDR_EMODE;
		out->mode = (mode_t)strtoul(colon + 1, NULL, 8);
		n = (size_t)(colon - p);
	}
	if (n == 0 || p[0] != '/' || n >= sizeof(out->path))
		return LISTENADDR_ESPEC;
	memcpy(out->path, p, n);
	out->path[n] = '\0';
	out->family = AF_UNIX;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, out->path, n + 1);
	out->sslen = (socklen_t)sizeof(*sun);
	return LISTENADDR_OK;
}

/* inet:host:port or inet:[v6]:port: host and port into the buffers, nothing resolved */
static int
addr_split_inet(const char *p, char *host, size_t hostsize, const char **port)
{
	const char *colon, *h = p;
	size_t hlen;
	char *end;
	unsigned long v;

	if (*p == '[') {
		colon = strchr(p, ']');
		if (colon == NULL || colon[1] != ':')
			return LISTENADDR_ESPEC;
		h = p + 1;
		hlen = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL)
			return LISTENADDR_ESPEC;
		hlen = (size_t)(colon - p);
	}
	v = strtoul(colon + 1, &end, 10);
	if (!(colon[1] >= '0' && colon[1] <= '9') || *end != '\0' || v == 0 || v > 65535 ||
	    hlen == 0 || hlen >= hostsize)
		return LISTENADDR_ESPEC;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = colon + 1;
	return LISTENADDR_OK;
}

static int
addr_parse_inet(const char *p, struct listenaddr *out)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res = NULL;
	int rc = addr_split_inet(p, host, sizeof(host), &port);

	if (rc != LISTENADDR_OK)
		return rc;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &res) != 0 ||
	    res == NULL)
		return LISTENADDR_ESPEC;
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->sslen = res->ai_addrlen;
	out->family = (sa_family_t)res->ai_family;
	freeaddrinfo(res);
	return LISTENADDR_OK;
}

/* A host that is "*", a numeric address, or could be a DNS name: checked, not looked up. */
static int
addr_check_inet(const char *p)
{
	char host[256];
	const char *port;
	struct in6_addr a6;
	int rc = addr_split_inet(p, host, sizeof(host), &port);

	(void)port;
	if (rc != LISTENADDR_OK)
		return rc;
	if (strcmp(host, "*") == 0 || inet_pton(AF_INET6, host, &a6) == 1 ||
	    inet_pton(AF_INET, host, &a6) == 1)
		return LISTENADDR_OK;
	if (p[0] == '[' || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != strlen(host))
		return LISTENADDR_ESPEC;
	return LISTENADDR_OK;
}

int
listenaddr_parse(const char *spec, struct listenaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (strncasecmp(spec, "unix:", 5) == 0)
		return addr_parse_unix(spec + 5, out);
	if (strncasecmp(spec, "local:", 6) == 0)
		return addr_parse_unix(spec + 6, out);
	if (strncasecmp(spec, "inet:", 5) == 0)
		return addr_parse_inet(spec + 5, out);
	if (strncasecmp(spec, "inet6:", 6) == 0)
		return addr_parse_inet(spec + 6, out);
	return LISTENADDR_ESPEC;
}

int
listenaddr_check(const char *spec)
{
	struct listenaddr a;

	if (strncasecmp(spec, "inet:", 5) == 0)
		return addr_check_inet(spec + 5);
	if (strncasecmp(spec, "inet6:", 6) == 0)
		return addr_check_inet(spec + 6);
	return listenaddr_parse(spec, &a);
}

const char *
listenaddr_strerror(int err)
{
	switch (err) {
	case LISTENADDR_OK: return "success";
	case LISTENADDR_ESPEC:
		return "bad listen address (use unix:/path[:0660], inet:host:port or "
		       "inet:[v6addr]:port)";
	case LISTENADDR_EMODE:
		return "the mode must be 4 octal digits like 0660 (unix:/path:0660)";
	}
	return "unknown listenaddr error";
}
