/* test-cidr: table-driven cases for cidr_parse (IPv4, IPv6, bracketed IPv6, /0, /32, /128,
 * host bits, bad input) and cidr_list_contains (prefix edges, mapped IPv4-in-IPv6). */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"
#include "tap.h"

struct parse_case {
	const char *in;
	int err;
	int family;		/* on success */
	const char *net;	/* the network address after the host bits are cleared */
	unsigned prefix;
};

static const struct parse_case parse_cases[] = {
	{ "192.0.2.1", CIDR_OK, AF_INET, "192.0.2.1", 32 },
	{ "192.0.2.1/32", CIDR_OK, AF_INET, "192.0.2.1", 32 },
	{ "192.0.2.77/24", CIDR_OK, AF_INET, "192.0.2.0", 24 },
	{ "10.255.255.255/8", CIDR_OK, AF_INET, "10.0.0.0", 8 },
	{ "172.31.1.1/12", CIDR_OK, AF_INET, "172.16.0.0", 12 },
	{ "203.0.113.255/31", CIDR_OK, AF_INET, "203.0.113.254", 31 },
	{ "255.255.255.255/1", CIDR_OK, AF_INET, "128.0.0.0", 1 },
	{ "[192.0.2.1]/24", CIDR_OK, AF_INET, "192.0.2.0", 24 },	/* brackets are taken */
	{ "0.0.0.0/0", CIDR_OK, AF_INET, "0.0.0.0", 0 },
	{ "198.51.100.9/0", CIDR_OK, AF_INET, "0.0.0.0", 0 },
	{ "10.0.0.0/08", CIDR_OK, AF_INET, "10.0.0.0", 8 },
	{ "::1", CIDR_OK, AF_INET6, "::1", 128 },
	{ "::1/128", CIDR_OK, AF_INET6, "::1", 128 },
	{ "[::1]", CIDR_OK, AF_INET6, "::1", 128 },
	{ "[2001:db8::1]/32", CIDR_OK, AF_INET6, "2001:db8::", 32 },
	{ "2001:db8:ffff::1/33", CIDR_OK, AF_INET6, "2001:db8:8000::", 33 },
	{ "fe80::1234/10", CIDR_OK, AF_INET6, "fe80::", 10 },
	{ "fd00::/8", CIDR_OK, AF_INET6, "fd00::", 8 },
	{ "::/0", CIDR_OK, AF_INET6, "::", 0 },
	{ "2001:db8::1/0", CIDR_OK, AF_INET6, "::", 0 },
	{ "::ffff:192.0.2.1/128", CIDR_OK, AF_INET6, "::ffff:192.0.2.1", 128 },
	{ "::ffff:0:0/96", CIDR_OK, AF_INET6, "::ffff:0.0.0.0", 96 },
	{ "", CIDR_EINVAL, 0, NULL, 0 },
	{ "/8", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/33", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/-1", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/+8", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/ 8", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/8x", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/8/8", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.0/99999999999999999999", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0/8", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.256", CIDR_EINVAL, 0, NULL, 0 },
	{ "10.0.0.1 ", CIDR_EINVAL, 0, NULL, 0 },
	{ "::1/129", CIDR_EINVAL, 0, NULL, 0 },
	{ "[::1", CIDR_EINVAL, 0, NULL, 0 },
	{ "[::1]x", CIDR_EINVAL, 0, NULL, 0 },
	{ "::1]", CIDR_EINVAL, 0, NULL, 0 },
	{ "2001:db8:::1", CIDR_EINVAL, 0, NULL, 0 },
	{ "fe80::1%eth0", CIDR_EINVAL, 0, NULL, 0 },
	{ "example.com", CIDR_EINVAL, 0, NULL, 0 },
	{ "localhost/8", CIDR_EINVAL, 0, NULL, 0 },
	/* longer than any address with a prefix */
	{ "0000:0000:0000:0000:0000:0000:0000:0001/128/////////////////////////////",
	    CIDR_EINVAL, 0, NULL, 0 },
};

static void
test_parse(void)
{
	struct cidr_net net;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		int rc = cidr_parse(c->in, &net);

		is_int(rc, c->err, "parse '%s': %s", c->in, cidr_strerror(c->err));
		if (rc != CIDR_OK || c->err != CIDR_OK)
			continue;
		is_int(net.family, c->family, "'%s': family", c->in);
		is_int(net.prefix, c->prefix, "'%s': prefix", c->in);
		if (inet_ntop(net.family, net.addr, text, sizeof(text)) == NULL)
			bail_out("inet_ntop");
		is_str(text, c->net, "'%s': network address", c->in);
	}
}

struct contains_case {
	const char *addr;
	bool want;
};

/* One list of every kind of network, asked about the addresses at and beside each edge. */
static const char *const list_items[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.0.2.77", "198.51.100.128/25", "2001:db8::/32",
	"::1", "fe80::/10",
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0", true },
	{ "10.255.255.255", true },
	{ "9.255.255.255", false },
	{ "11.0.0.0", false },
	{ "172.16.0.0", true },
	{ "172.31.255.255", true },
	{ "172.32.0.0", false },
	{ "172.15.255.255", false },
	{ "192.0.2.77", true },	/* /32 */
	{ "192.0.2.76", false },
	{ "192.0.2.78", false },
	{ "198.51.100.128", true },	/* /25: the prefix ends inside a byte */
	{ "198.51.100.255", true },
	{ "198.51.100.127", false },
	{ "2001:db8::", true },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "2001:db9::", false },
	{ "2001:db7:ffff::", false },
	{ "::1", true },	/* /128 */
	{ "::2", false },
	{ "::", false },
	{ "fe80::1", true },
	{ "febf:ffff::1", true },
	{ "fec0::1", false },
	{ "::ffff:10.1.2.3", true },	/* mapped IPv4 matches the IPv4 networks */
	{ "::ffff:192.0.2.77", true },
	{ "::ffff:192.0.2.78", false },
	{ "::ffff:11.0.0.1", false },
	{ "::a01:203", false },	/* IPv4-compatible (::10.1.2.3) is not mapped */
	{ "64:ff9b::a01:203", false },	/* nor is NAT64 */
};

static bool
contains(const struct cidr_list *l, const char *text)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, text, buf) == 1)
		return cidr_list_contains(l, AF_INET, buf);
	if (inet_pton(AF_INET6, text, buf) == 1)
		return cidr_list_contains(l, AF_INET6, buf);
	bail_out(text);
}

static void
test_contains(void)
{
	struct cidr_list l = { 0 }, all4 = { 0 }, all6 = { 0 }, empty = { 0 };
	size_t i;

	for (i = 0; i < sizeof(list_items) / sizeof(list_items[0]); i++)
		if (cidr_list_add(&l, list_items[i]) != CIDR_OK)
			bail_out(list_items[i]);
	is_int((long)l.n, (long)(sizeof(list_items) / sizeof(list_items[0])), "list holds them all");
	for (i = 0; i < sizeof(contains_cases) / sizeof(contains_cases[0]); i++)
		is_int(contains(&l, contains_cases[i].addr), contains_cases[i].want, "%s %s the list",
		    contains_cases[i].addr, contains_cases[i].want ? "is in" : "is not in");
	is_int(cidr_list_add(&l, "10.0.0.0/33"), CIDR_EINVAL, "a bad item is refused");
	is_int((long)l.n, (long)(sizeof(list_items) / sizeof(list_items[0])), "and not added");

	if (cidr_list_add(&all4, "0.0.0.0/0") != CIDR_OK || cidr_list_add(&all6, "::/0") != 0)
		bail_out("/0");
	ok(contains(&all4, "203.0.113.1") && contains(&all4, "::ffff:203.0.113.1"),
	    "0.0.0.0/0 holds every IPv4 address, mapped or not");
	ok(!contains(&all4, "2001:db8::1"), "but no IPv6 address");
	ok(contains(&all6, "2001:db8::1") && contains(&all6, "::ffff:203.0.113.1"),
	    "::/0 holds every IPv6 address");
	ok(!contains(&all6, "203.0.113.1"), "but no IPv4 address");
	ok(!contains(&empty, "127.0.0.1") && !contains(&empty, "::1"), "an empty list holds none");
	ok(!cidr_list_contains(NULL, AF_INET, "\x7f\0\0\1"), "nor does no list");
	ok(!cidr_list_contains(&l, AF_INET, NULL), "nor is no address in a list");
	ok(!cidr_list_contains(&all4, AF_UNIX, "\x7f\0\0\1"), "other families are in none");

	cidr_list_free(&l);
	cidr_list_free(&all4);
	cidr_list_free(&all6);
	ok(l.n == 0 && l.v == NULL, "a freed list is empty");
}

static void
test_equal(void)
{
	struct cidr_list a = { 0 }, b = { 0 };

	ok(cidr_list_equal(&a, &b), "two empty lists are equal");
	if (cidr_list_add(&a, "10.1.2.3/8") != 0 || cidr_list_add(&b, "10.0.0.0/8") != 0)
		bail_out("add");
	ok(cidr_list_equal(&a, &b), "the same network, written with host bits, is equal");
	if (cidr_list_add(&a, "::1") != 0 || cidr_list_add(&b, "::1/127") != 0)
		bail_out("add");
	ok(!cidr_list_equal(&a, &b), "another prefix is not");
	cidr_list_free(&b);
	if (cidr_list_add(&b, "10.0.0.0/8") != 0 || cidr_list_add(&b, "::1") != 0)
		bail_out("add");
	ok(cidr_list_equal(&a, &b), "nor does the list differ then");
	if (cidr_list_add(&b, "::2") != 0)
		bail_out("add");
	ok(!cidr_list_equal(&a, &b), "a longer list differs");
	cidr_list_free(&a);
	cidr_list_free(&b);
}

int
main(void)
{
	test_parse();
	test_contains();
	test_equal();
	is_str(cidr_strerror(CIDR_ENOMEM), "out of memory", "strerror");
	return done_testing();
}
