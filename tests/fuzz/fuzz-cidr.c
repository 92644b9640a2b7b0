/* fuzz-cidr: cidr_parse on arbitrary bytes (a NUL ends the text, as in a configuration).
 * Invariants: a parsed network has a family, a prefix within it and no host bits; it
 * writes back as "address/prefix" that parses to the same network; a list of it holds its
 * own address, and an IPv4 network holds that address mapped into IPv6 too. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "fuzz.h"

static void
fuzz_cidr_check(const struct cidr_net *net)
{
	unsigned max = net->family == AF_INET ? 32 : 128, i;
	char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];
	unsigned char mapped[16] = { [10] = 0xff, [11] = 0xff };
	struct cidr_list l = { 0 }, again = { 0 };

	FUZZ_CHECK(net->family == AF_INET || net->family == AF_INET6);
	FUZZ_CHECK(net->prefix <= max);
	for (i = net->prefix; i < max; i++)
		FUZZ_CHECK((net->addr[i / 8] & (0x80u >> (i % 8))) == 0);
	FUZZ_CHECK(inet_ntop(net->family, net->addr, addr, sizeof(addr)) != NULL);
	snprintf(text, sizeof(text), "%s/%u", addr, net->prefix);
	FUZZ_CHECK(cidr_list_add(&l, text) == CIDR_OK);
	FUZZ_CHECK(l.n == 1 && l.v[0].family == net->family && l.v[0].prefix == net->prefix);
	FUZZ_CHECK(memcmp(l.v[0].addr, net->addr, sizeof(net->addr)) == 0);
	FUZZ_CHECK(cidr_list_contains(&l, net->family, net->addr));
	if (net->family == AF_INET) {
		memcpy(mapped + 12, net->addr, 4);
		FUZZ_CHECK(cidr_list_contains(&l, AF_INET6, mapped));
	}
	FUZZ_CHECK(cidr_list_add(&again, text) == CIDR_OK && cidr_list_equal(&l, &again));
	cidr_list_free(&l);
	cidr_list_free(&again);
}

int
fuzz_cidr(const uint8_t *data, size_t size)
{
	char text[256];
	struct cidr_net net;
	int rc;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = cidr_parse(text, &net);
	FUZZ_CHECK(rc == CIDR_OK || rc == CIDR_EINVAL);
	if (rc == CIDR_OK)
		fuzz_cidr_check(&net);
	return 0;
}

FUZZ_ENTRY(fuzz_cidr)
