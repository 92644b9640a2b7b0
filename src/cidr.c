/* cidr: network lists. Parsed once into bytes with the host bits cleared, so that a lookup
 * is a prefix comparison per network. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int
cidr_parse(const char *text, struct cidr_net *net)
{
	char buf[64], *slash, *addr = buf, *end;
	unsigned long prefix;
	unsigned i, max;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return CIDR_EINVAL;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (addr[0] == '[') {
		end = strchr(addr, ']');
		if (end == NULL || end[1] != '\0')
			return CIDR_EINVAL;
		*end = '\0';
		addr++;
	}
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, addr, net->addr) == 1)
		net->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, addr, net->addr) == 1)
		net->family = AF_INET6, max = 128;
	else
		return CIDR_EINVAL;
	prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			return CIDR_EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || prefix > max)
			return CIDR_EINVAL;
	}
	net->prefix = (unsigned)prefix;
	for (i = net->prefix; i < max; i++)	/* clear the host bits */
		net->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return CIDR_OK;
}

int
cidr_list_add(struct cidr_list *l, const char *text)
{
	struct cidr_net net, *nv;
	size_t cap;
	int rc;

	if ((rc = cidr_parse(text, &net)) != CIDR_OK)
		return rc;
	if ((l->n & (l->n - 1)) == 0) {	/* 0, 1, 2, 4, ...: full, double it */
		cap = l->n == 0 ? 1 : 2 * l->n;
		if (cap > SIZE_MAX / sizeof(*nv) || (nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return CIDR_ENOMEM;
		l->v = nv;
	}
	l->v[l->n++] = net;
	return CIDR_OK;
}

static bool
cidr_prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xffu << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool
cidr_list_contains(const struct cidr_list *l, sa_family_t family, const void *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char *a = addr, *a4 = NULL;
	size_t i;

	if (l == NULL || addr == NULL)
		return false;
	if (family == AF_INET)
		a4 = a;
	else if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		a4 = a + 12;	/* ::ffff:a.b.c.d also matches IPv4 networks */
	for (i = 0; i < l->n; i++) {
		const struct cidr_net *n = &l->v[i];

		if (n->family == family && cidr_prefix_match(n->addr, a, n->prefix))
			return true;
		if (n->family == AF_INET && a4 != NULL && cidr_prefix_match(n->addr, a4, n->prefix))
			return true;
	}
	return false;
}

bool
cidr_list_equal(const struct cidr_list *a, const struct cidr_list *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->v[i].family != b->v[i].family || a->v[i].prefix != b->v[i].prefix ||
		    memcmp(a->v[i].addr, b->v[i].addr, sizeof(a->v[i].addr)) != 0)
			return false;
	return true;
}

void
cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *
cidr_strerror(int err)
{
	switch (err) {
	case CIDR_OK: return "success";
	case CIDR_ENOMEM: return "out of memory";
	case CIDR_EINVAL: return "not an address or network";
	default: return "unknown network list error";
	}
}
