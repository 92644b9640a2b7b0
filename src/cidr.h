/* cidr: lists of IPv4 and IPv6 networks, as InternalHosts names them, and the question
 * whether an address is in one. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) also matches
 * the IPv4 networks. Nothing is logged: failures are cidr_err codes. */
#ifndef BACKSTOP_CIDR_H
#define BACKSTOP_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum cidr_err {
	CIDR_OK = 0,
	CIDR_ENOMEM = -1,	/* temporary */
	CIDR_EINVAL = -2,	/* permanent: not an address or network */
};

struct cidr_net {
	sa_family_t family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network byte order, host bits zero */
	unsigned prefix;
};

struct cidr_list {
	size_t n;
	struct cidr_net *v;
};

/* cidr_parse - "a.b.c.d", "x:y::z" or "[x:y::z]", each with an optional "/prefix" */
int cidr_parse(const char *text, struct cidr_net *net) __attribute__((warn_unused_result));
/* cidr_list_add - parse text and append it to l */
int cidr_list_add(struct cidr_list *l, const char *text) __attribute__((warn_unused_result));
/* cidr_list_contains - is the address (struct in_addr/in6_addr bytes) in l? */
bool cidr_list_contains(const struct cidr_list *l, sa_family_t family, const void *addr);
/* cidr_list_equal - do a and b hold the same networks in the same order? */
bool cidr_list_equal(const struct cidr_list *a, const struct cidr_list *b);
/* cidr_list_free - release the networks of l (not l itself) and empty it */
void cidr_list_free(struct cidr_list *l);
/* cidr_strerror - text for a cidr_err code */
const char *cidr_strerror(int err);

#endif
