/* test-addr: table-driven cases for addr_parse, addr_set, addr_format and the matchers,
 * including hostile input (NUL bytes, 1000-octet text, unbalanced quotes and brackets)
 * and the exact 64/65-octet local part and 255/256-octet domain boundaries. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "addr.h"
#include "tap.h"

struct parse_case {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int err;
	const char *local;	/* expected on success; NULL for the null path */
	const char *domain;
	bool quoted;
};

static const struct parse_case parse_cases[] = {
	{ "<user@example.com>", 0, ADDR_OK, "user", "example.com", false },
	{ "user@example.com", 0, ADDR_OK, "user", "example.com", false },
	{ "<>", 0, ADDR_OK, NULL, NULL, false },
	{ "First.Last@Example.COM", 0, ADDR_OK, "First.Last", "Example.COM", false },
	{ "!#$%&'*+-/=?^_`{|}~@x.org", 0, ADDR_OK, "!#$%&'*+-/=?^_`{|}~", "x.org", false },
	{ "o'brien@example.net", 0, ADDR_OK, "o'brien", "example.net", false },
	{ "user=name@example.com", 0, ADDR_OK, "user=name", "example.com", false },
	{ "\"john doe\"@example.com", 0, ADDR_OK, "\"john doe\"", "example.com", true },
	{ "<\"a\\\"b@c\"@example.com>", 0, ADDR_OK, "\"a\\\"b@c\"", "example.com", true },
	{ "\"a..b\"@example.com", 0, ADDR_OK, "\"a..b\"", "example.com", true },
	{ "j\xc3\xb6rg@b\xc3\xbc" "cher.de", 0, ADDR_OK, "j\xc3\xb6rg", "b\xc3\xbc" "cher.de",
	  false },
	{ "user@[192.0.2.1]", 0, ADDR_OK, "user", "[192.0.2.1]", false },
	{ "user@[IPv6:2001:db8::1]", 0, ADDR_OK, "user", "[IPv6:2001:db8::1]", false },
	{ "user@[ipv6:::1]", 0, ADDR_OK, "user", "[ipv6:::1]", false },
	{ "<@relay.example,@b.example:user@example.com>", 0, ADDR_OK, "user", "example.com",
	  false },
	{ "a@b", 0, ADDR_OK, "a", "b", false },
	{ "a-b@x-1.example", 0, ADDR_OK, "a-b", "x-1.example", false },
	{ "prvs=0123abcdef=@example.com", 0, ADDR_OK, "prvs=0123abcdef=", "example.com",
	  false },

	{ "", 0, ADDR_EEMPTY, NULL, NULL, false },
	{ "a\0b@example.com", 15, ADDR_ENUL, NULL, NULL, false },
	{ "ab@exa\0mple.com", 15, ADDR_ENUL, NULL, NULL, false },
	{ "<a@b.c>\0", 8, ADDR_ENUL, NULL, NULL, false },
	{ "\0", 1, ADDR_ENUL, NULL, NULL, false },
	{ "<user@example.com", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "user@example.com>", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "<", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ ">", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "<<a@b.c>>", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "<a@b.c> ", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "a<b@c.d", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "a@c>d.e", 0, ADDR_EBRACKET, NULL, NULL, false },
	{ "user", 0, ADDR_ENOAT, NULL, NULL, false },
	{ "<user>", 0, ADDR_ENOAT, NULL, NULL, false },
	{ "\"user\"", 0, ADDR_ENOAT, NULL, NULL, false },
	{ "@", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "<@>", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "a..b@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ ".ab@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "ab.@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "a b@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ " ab@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "a\tb@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "a(b)@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "a,b@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "\"\"@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "@a:user@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "\"abc@example.com", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "\"", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "\"a\"b@example.com", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "\"a\\", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "\"a\tb\"@example.com", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "\"a\\\x01\"@example.com", 0, ADDR_EQUOTE, NULL, NULL, false },
	{ "a\"b@example.com", 0, ADDR_ELOCAL, NULL, NULL, false },
	{ "user@", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "<user@>", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@example.com.", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@.example.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@example..com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@-example.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@example-.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@exa mple.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@example.com ", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@exa_mple.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "a@b@example.com", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@.", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[192.0.2.1", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@192.0.2.1]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[192.0.2.256]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[IPv6:zz::1]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[2001:db8::1]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "user@[x:y]", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "<@bad_relay:user@example.com>", 0, ADDR_EDOMAIN, NULL, NULL, false },
	{ "<@a,b:user@example.com>", 0, ADDR_EDOMAIN, NULL, NULL, false },
};

static void
check_parse(const struct parse_case *c, size_t i)
{
	struct addr a;
	size_t len = c->len != 0 ? c->len : strlen(c->in);
	int err;

	memset(&a, 0x55, sizeof(a));
	err = addr_parse(&a, c->in, len);
	if (!is_int(err, c->err, "parse case %zu: %s", i, addr_strerror(c->err)))
		return;
	if (err != ADDR_OK)
		return;
	if (c->local == NULL) {
		ok(a.null && a.local[0] == '\0' && a.domain[0] == '\0', "case %zu is null", i);
		return;
	}
	ok(!a.null, "case %zu is not null", i);
	is_str(a.local, c->local, "case %zu local part", i);
	is_str(a.domain, c->domain, "case %zu domain", i);
	is_int(a.quoted, c->quoted, "case %zu quoted flag", i);
}

/* run_sized - parse local part of nl 'a's at a domain of nd bytes */
static int
run_sized(size_t nl, size_t nd, bool brackets)
{
	char buf[2100];
	struct addr a;
	size_t n = 0, i;

	if (brackets)
		buf[n++] = '<';
	memset(buf + n, 'a', nl);
	n += nl;
	buf[n++] = '@';
	/* labels of 49 'b' and a dot, ending on a non-dot */
	for (i = 0; i < nd; i++)
		buf[n + i] = (i % 50 == 49 && i != nd - 1) ? '.' : 'b';
	n += nd;
	if (brackets)
		buf[n++] = '>';
	return addr_parse(&a, buf, n);
}

static void
test_sizes(void)
{
	char big[1001];
	struct addr a;

	is_int(run_sized(64, 11, false), ADDR_OK, "64-octet local part");
	is_int(run_sized(64, 11, true), ADDR_OK, "64-octet local part in brackets");
	is_int(run_sized(65, 11, false), ADDR_ELOCALLONG, "65-octet local part");
	is_int(run_sized(1, 255, false), ADDR_OK, "255-octet domain");
	is_int(run_sized(1, 256, false), ADDR_EDOMAINLONG, "256-octet domain");
	is_int(run_sized(64, 255, true), ADDR_OK, "longest address");
	is_int(run_sized(1000, 11, false), ADDR_ELOCALLONG, "1000-octet local part");
	is_int(run_sized(1, 1000, false), ADDR_EDOMAINLONG, "1000-octet domain");
	memset(big, 'a', 1000);
	is_int(addr_parse(&a, big, 1000), ADDR_ENOAT, "1000 octets without @");
	big[0] = '"';
	is_int(addr_parse(&a, big, 1000), ADDR_EQUOTE, "1000 octets, unterminated quote");
	big[0] = '<';
	is_int(addr_parse(&a, big, 1000), ADDR_EBRACKET, "1000 octets, unbalanced <");
	memset(big, '@', 1000);
	is_int(addr_parse(&a, big, 1000), ADDR_ELOCAL, "1000 @ signs");
	memset(big, '.', 1000);
	is_int(addr_parse(&a, big, 1000), ADDR_ELOCAL, "1000 dots");
	/* a 64-octet label is too long even though the domain is short */
	is_int(run_sized(1, 0, false), ADDR_EDOMAIN, "empty domain");
	memset(big, 'c', 64);
	big[64] = '\0';
	is_int(addr_set(&a, "u", 1, big), ADDR_EDOMAIN, "64-octet label");
	big[63] = '\0';
	is_int(addr_set(&a, "u", 1, big), ADDR_OK, "63-octet label");
}

static void
test_set_format(void)
{
	struct addr a;
	char buf[ADDR_TEXT_MAX];
	char small[8];

	is_int(addr_set(&a, "alice", 5, "example.com"), ADDR_OK, "addr_set plain");
	ok(addr_format(&a, buf, sizeof(buf)) == ADDR_OK, "format ok");
	is_str(buf, "alice@example.com", "format text");
	is_int(addr_format(&a, small, sizeof(small)), ADDR_ESPACE, "format into small buffer");
	is_str(small, "", "small buffer left empty");
	is_int(addr_set(&a, "alice@x", 5, "example.com"), ADDR_OK, "addr_set uses local_len");
	is_str(a.local, "alice", "local part cut at local_len");
	is_int(addr_set(&a, "\"a b\"", 5, "example.com"), ADDR_OK, "addr_set quoted");
	ok(a.quoted, "addr_set sets quoted");
	is_int(addr_set(&a, "a\0b", 3, "example.com"), ADDR_ENUL, "addr_set NUL");
	is_int(addr_set(&a, "", 0, "example.com"), ADDR_ELOCAL, "addr_set empty local");
	is_int(addr_set(&a, "a", 1, ""), ADDR_EDOMAIN, "addr_set empty domain");
	is_int(addr_set(&a, "a..b", 4, "x.org"), ADDR_ELOCAL, "addr_set double dot");
	is_int(addr_set(&a, "a", 1, "x.org."), ADDR_EDOMAIN, "addr_set trailing dot");
	is_int(addr_set(&a, "\"ab", 3, "x.org"), ADDR_EQUOTE, "addr_set open quote");
	is_int(addr_parse(&a, "<>", 2), ADDR_OK, "parse null path");
	is_int(addr_format(&a, buf, sizeof(buf)), ADDR_OK, "format null path");
	is_str(buf, "", "null path formats empty");
	is_int(addr_parse(&a, "<@r.example:\"x y\"@[IPv6:::1]>", 29), ADDR_OK,
	    "route, quoted, literal");
	addr_format(&a, buf, sizeof(buf));
	is_str(buf, "\"x y\"@[IPv6:::1]", "route dropped on format");
	ok(strcmp(addr_strerror(ADDR_ELOCALLONG), addr_strerror(ADDR_EDOMAINLONG)) != 0,
	    "distinct error texts");
	is_str(addr_strerror(12345), "unknown address error", "unknown code");
}

struct match_case {
	const char *addr;
	const char *pattern;
	bool domain_only;	/* use addr_domain_match on the domain */
	bool want;
};

static const struct match_case match_cases[] = {
	{ "u@example.com", "example.com", true, true },
	{ "u@EXAMPLE.com", "example.COM", true, true },
	{ "u@sub.example.com", "example.com", true, false },
	{ "u@sub.example.com", ".example.com", true, true },
	{ "u@a.b.example.com", ".example.com", true, true },
	{ "u@example.com", ".example.com", true, false },
	{ "u@badexample.com", ".example.com", true, false },
	{ "u@badexample.com", "example.com", true, false },
	{ "u@example.com", "", true, false },
	{ "u@example.com", "example.com", false, true },
	{ "u@x.example.com", ".example.com", false, true },
	{ "u@example.com", ".example.com", false, false },
	{ "Alice@Example.com", "alice@example.com", false, true },
	{ "alice@example.com", "ALICE@EXAMPLE.COM", false, true },
	{ "alice@example.com", "bob@example.com", false, false },
	{ "alice@example.com", "alic@example.com", false, false },
	{ "alice@example.com", "alice@example.org", false, false },
	{ "alice@sub.example.com", "alice@.example.com", false, true },
	{ "MAILER-DAEMON@mx.example.net", "mailer-daemon@*", false, true },
	{ "mailer-daemon2@mx.example.net", "mailer-daemon@*", false, false },
	{ "anyone@example.org", "*@example.org", false, true },
	{ "anyone@example.net", "*@example.org", false, false },
	{ "anyone@x.example.org", "*@.example.org", false, true },
	{ "anyone@anywhere", "*@*", false, true },
	{ "\"a@b\"@example.com", "\"a@b\"@example.com", false, true },
	{ "<>", "<>", false, true },
	{ "<>", "example.com", false, false },
	{ "<>", "*@*", false, false },
	{ "u@example.com", "<>", false, false },
};

static void
test_match(void)
{
	size_t i;
	char org[] = "example.org", net[] = ".example.net";
	char *list[] = { org, net };

	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct addr a;
		bool got;

		if (addr_parse(&a, c->addr, strlen(c->addr)) != ADDR_OK) {
			ok(0, "match case %zu: %s parses", i, c->addr);
			continue;
		}
		got = c->domain_only ? addr_domain_match(a.domain, c->pattern) :
		    addr_match(&a, c->pattern);
		is_int(got, c->want, "match %s against %s", c->addr, c->pattern);
	}
	ok(addr_domain_in("example.org", list, 2), "domain_in exact");
	ok(addr_domain_in("a.example.net", list, 2), "domain_in subdomain");
	ok(!addr_domain_in("example.net", list, 2), "domain_in bare domain of .pattern");
	ok(!addr_domain_in("example.org", list, 0), "domain_in empty list");
	ok(!addr_domain_match(NULL, "x"), "domain_match NULL domain");
	ok(!addr_match(NULL, "x"), "match NULL address");
}

/* The one ASCII case rule: A-Z only, every other byte (UTF-8, @, [, `) as it is. */
static void
test_lower(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "User@Example.COM", "user@example.com" },
		{ "AZaz09", "azaz09" },
		{ "@[`{\x7f", "@[`{\x7f" },	/* the bytes beside A-Z and a-z */
		{ "\xc3\x89T\xc3\xa9", "\xc3\x89t\xc3\xa9" },	/* UTF-8 É stays */
		{ "\xc0\xdf\xff", "\xc0\xdf\xff" },	/* Latin-1 capitals too, in any locale */
		{ "", "" },
	};
	char buf[64];
	size_t i, n;
	int c, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].in);
		memset(buf, 0, sizeof(buf));
		addr_lowercase(buf, cases[i].in, n);
		is_str(buf, cases[i].want, "addr_lowercase case %zu", i);
		addr_lowercase(buf, buf, n);
		is_str(buf, cases[i].want, "and in place, again, the same");
	}
	for (c = 0; c < 256; c++)
		bad += (unsigned char)addr_lower((char)c) !=
		    (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	is_int(bad, 0, "addr_lower moves A-Z and no other of the 256 bytes");
}

int
main(void)
{
	size_t i;

	if (sodium_init() < 0)
		bail_out("sodium_init failed");
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++)
		check_parse(&parse_cases[i], i);
	test_sizes();
	test_set_format();
	test_match();
	test_lower();
	return done_testing();
}
