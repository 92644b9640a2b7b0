/* test-prvs: every row of the prvs-sign and prvs-verify known-answer vectors, then table
 * cases for the refusals, strip, rotation, and a sign/verify round trip over 2,100 days
 * that crosses the 1000-day wraparound of DDD twice. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "clock.h"
#include "keyring.h"
#include "prvs.h"
#include "tap.h"
#include "tsv.h"

static struct addr
parse(const char *s)
{
	struct addr a;

	if (addr_parse(&a, s, strlen(s)) != ADDR_OK) {
		printf("# cannot parse %s\n", s);
		bail_out("test address does not parse");
	}
	return a;
}

static const char *
fmt(const struct addr *a, char buf[ADDR_TEXT_MAX])
{
	if (addr_format(a, buf, ADDR_TEXT_MAX) != ADDR_OK)
		return "(format failed)";
	return buf;
}

/* key_seed - a keyring with one key in slot, secret bytes all equal to seed */
static struct keyring *
key_seed(int slot, unsigned char seed, time_t activate)
{
	unsigned char secret[KEYRING_KEY_BYTES];
	struct keyring *kr = keyring_new();

	memset(secret, seed, sizeof(secret));
	if (kr == NULL || keyring_add(kr, slot, secret, activate) != KEYRING_OK)
		bail_out("keyring setup failed");
	return kr;
}

static void
add_hex_key(struct keyring *kr, int slot, const char *hex, int lineno)
{
	unsigned char secret[KEYRING_KEY_BYTES];

	if (hex_decode(hex, secret, sizeof(secret)) != 0 ||
	    keyring_add(kr, slot, secret, 0) != KEYRING_OK) {
		printf("# line %d\n", lineno);
		bail_out("bad key in vectors");
	}
	sodium_memzero(secret, sizeof(secret));
}

static void
test_sign_vectors(void)
{
	struct tsv t;
	int rows = 0;

	tsv_open(&t, "prvs-sign.tsv");
	while (tsv_next(&t)) {
		struct keyring *kr = keyring_new();
		struct addr a = parse(tsv_col(&t, "address")), out;
		const char *want = tsv_col(&t, "expected");
		char buf[ADDR_TEXT_MAX];
		int err;

		if (kr == NULL)
			bail_out("keyring_new failed");
		add_hex_key(kr, atoi(tsv_col(&t, "slot")), tsv_col(&t, "secret_hex"), t.lineno);
		err = prvs_sign(kr, &a, (time_t)strtoll(tsv_col(&t, "now"), NULL, 10),
		    (unsigned)atoi(tsv_col(&t, "validity_days")), &out);
		if (strcmp(want, "ERROR too-long") == 0)
			is_int(err, PRVS_ETOOLONG, "sign line %d: too long", t.lineno);
		else if (is_int(err, PRVS_OK, "sign line %d: signs", t.lineno))
			is_str(fmt(&out, buf), want, "sign line %d: tag", t.lineno);
		keyring_unref(kr);
		rows++;
	}
	tsv_close(&t);
	ok(rows >= 64, "read %d prvs-sign rows", rows);
}

/* verify_keys - a keyring from "slot:hex,slot:hex" */
static struct keyring *
verify_keys(const char *spec, int lineno)
{
	struct keyring *kr = keyring_new();
	char copy[TSV_MAXLINE], *item, *save = NULL;

	if (kr == NULL)
		bail_out("keyring_new failed");
	snprintf(copy, sizeof(copy), "%s", spec);
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		if (item[0] < '0' || item[0] > '9' || item[1] != ':')
			bail_out("bad keys column in prvs-verify.tsv");
		add_hex_key(kr, item[0] - '0', item + 2, lineno);
	}
	return kr;
}

static void
test_verify_vectors(void)
{
	struct tsv t;
	int rows = 0;

	tsv_open(&t, "prvs-verify.tsv");
	while (tsv_next(&t)) {
		struct keyring *kr = verify_keys(tsv_col(&t, "keys"), t.lineno);
		struct addr a = parse(tsv_col(&t, "input")), orig;
		const char *want = tsv_col(&t, "verdict");
		char buf[ADDR_TEXT_MAX];
		enum prvs_verdict v;

		v = prvs_verify(kr, &a, (time_t)strtoll(tsv_col(&t, "now"), NULL, 10),
		    (unsigned)atoi(tsv_col(&t, "validity_days")), &orig);
		is_str(prvs_verdict_name(v), want, "verify line %d: %s", t.lineno,
		    tsv_col(&t, "input"));
		if (v == PRVS_VALID)
			is_str(fmt(&orig, buf), tsv_col(&t, "original"), "verify line %d: original",
			    t.lineno);
		else
			is_str(tsv_col(&t, "original"), "-", "verify line %d: no original",
			    t.lineno);
		keyring_unref(kr);
		rows++;
	}
	tsv_close(&t);
	ok(rows >= 41, "read %d prvs-verify rows", rows);
}

struct refuse_case {
	const char *addr;
	int err;
};

static const struct refuse_case refuse_cases[] = {
	{ "<>", PRVS_ENULL },
	{ "\"john doe\"@example.com", PRVS_EQUOTED },
	{ "\"plain\"@example.com", PRVS_EQUOTED },
	{ "prvs=0123abcdef=user@example.com", PRVS_ETAGGED },
	{ "PRVS=0123ABCDEF=user@example.com", PRVS_ETAGGED },
	{ "prvs=junk@example.com", PRVS_ETAGGED },
	{ "SRS0=hash=TT=foreign.example=user@example.com", PRVS_ETAGGED },
	{ "srs0+hash=TT=foreign.example=user@example.com", PRVS_ETAGGED },
	{ "SRS1-hash=hop=foo@example.com", PRVS_ETAGGED },
	{ "Srs1=x@example.com", PRVS_ETAGGED },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com", PRVS_ETOOLONG },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com",
	  PRVS_ETOOLONG },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx@example.com", PRVS_OK },
	{ "srs0@example.com", PRVS_OK },
	{ "srs2=x@example.com", PRVS_OK },
	{ "srs0.x@example.com", PRVS_OK },
	{ "prvsuser@example.com", PRVS_OK },
	{ "prv=x@example.com", PRVS_OK },
	{ "user@[192.0.2.1]", PRVS_OK },
	{ "j\xc3\xb6rg@example.com", PRVS_OK },
};

static void
test_refusals(void)
{
	struct keyring *kr = key_seed(3, 0x42, 1000), *future = key_seed(0, 1, 2000000000);
	struct keyring *empty = keyring_new();
	struct addr a = parse("alice@example.com"), out;
	size_t i;
	time_t now = 1700000000;

	if (empty == NULL)
		bail_out("keyring_new failed");
	for (i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
		struct addr in = parse(refuse_cases[i].addr);

		is_int(prvs_sign(kr, &in, now, 7, &out), refuse_cases[i].err, "sign %s: %s",
		    refuse_cases[i].addr, prvs_strerror(refuse_cases[i].err));
	}
	is_int(prvs_sign(empty, &a, now, 7, &out), PRVS_ENOKEY, "empty keyring: no key");
	is_int(prvs_sign(future, &a, now, 7, &out), PRVS_ENOKEY, "future key: no signer yet");
	is_int(prvs_sign(future, &a, 2000000000, 7, &out), PRVS_OK, "future key once active");
	is_int(prvs_sign(kr, &a, 999, 7, &out), PRVS_ENOKEY, "before activation: no key");
	is_int(prvs_sign(NULL, &a, now, 7, &out), PRVS_ENOKEY, "no keyring: no key");
	is_int(prvs_sign(kr, &a, now, 7, &out), PRVS_OK, "signs");
	ok(out.local[5] == '3' && !out.quoted && !out.null, "slot digit 3 in the tag");
	is_int((long long)strlen(out.local), 16 + 5, "tag adds 16 octets");
	ok(strcmp(prvs_strerror(PRVS_ENOKEY), prvs_strerror(PRVS_ETOOLONG)) != 0,
	    "distinct error texts");
	is_str(prvs_strerror(-99), "unknown prvs error", "unknown error code");
	keyring_unref(kr);
	keyring_unref(future);
	keyring_unref(empty);
}

struct strip_case {
	const char *in;
	const char *want;	/* NULL: PRVS_ENOTAG */
};

static const struct strip_case strip_cases[] = {
	{ "prvs=0123abcdef=user@example.com", "user@example.com" },
	{ "PRVS=0123ABCDEF=User@Example.com", "User@Example.com" },
	{ "prvs=9999ffffff=a.b+c@x.org", "a.b+c@x.org" },
	{ "prvs=0123abcdef=prvs=0123abcdef=u@x.org", "prvs=0123abcdef=u@x.org" },
	{ "user@example.com", NULL },
	{ "<>", NULL },
	{ "prvs=0123abcdef=@example.com", NULL },
	{ "prvs=0123abcdeg=user@example.com", NULL },
	{ "prvs=0123abcdefuser@example.com", NULL },
	{ "prvs=012abcdef=user@example.com", NULL },
	{ "prvs=a123abcdef=user@example.com", NULL },
	{ "prvs==user@example.com", NULL },
	{ "prvs=0123abcdef=.user@example.com", NULL },
	{ "\"prvs=0123abcdef=user\"@example.com", NULL },
	{ "xprvs=0123abcdef=user@example.com", NULL },
};

static void
test_strip(void)
{
	size_t i;
	char buf[ADDR_TEXT_MAX];

	for (i = 0; i < sizeof(strip_cases) / sizeof(strip_cases[0]); i++) {
		const struct strip_case *c = &strip_cases[i];
		struct addr in = parse(c->in), out;
		int err = prvs_strip(&in, &out);

		if (c->want == NULL)
			is_int(err, PRVS_ENOTAG, "strip %s: no tag", c->in);
		else if (is_int(err, PRVS_OK, "strip %s", c->in))
			is_str(fmt(&out, buf), c->want, "strip %s: result", c->in);
	}
}

/* round_trip_day - sign at day d, check verdicts on the days around it; 0 if all match */
static int
round_trip_day(const struct keyring *kr, long d, unsigned validity)
{
	const long v = (long)validity;
	const struct {
		long offset;
		enum prvs_verdict want;
	} checks[] = {
		{ 0, PRVS_VALID }, { v / 2, PRVS_VALID }, { v, PRVS_VALID },
		{ v + 1, PRVS_EXPIRED }, { 500, PRVS_EXPIRED }, { 999, PRVS_EXPIRED },
		{ -1, PRVS_EXPIRED },
		{ 1000, PRVS_VALID },	/* DDD is mod 1000: the known wraparound */
		{ 1000 + v, PRVS_VALID }, { 1001 + v, PRVS_EXPIRED },
	};
	struct addr a = parse("Round.Trip@Example.org"), tagged, orig;
	time_t now = (time_t)d * CLOCK_DAY + (d * 7919) % CLOCK_DAY;
	size_t i;

	if (prvs_sign(kr, &a, now, validity, &tagged) != PRVS_OK)
		return 1;
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		time_t then = now + (time_t)checks[i].offset * CLOCK_DAY;

		memset(&orig, 0, sizeof(orig));
		if (prvs_verify(kr, &tagged, then, validity, &orig) != checks[i].want)
			return 2;
		if (checks[i].want == PRVS_VALID && (strcmp(orig.local, "Round.Trip") != 0 ||
		    strcmp(orig.domain, "Example.org") != 0))
			return 3;
	}
	return 0;
}

/* round_trip - run round_trip_day over days [from, to); ok() once with the first failure */
static void
round_trip(const struct keyring *kr, long from, long to, unsigned validity)
{
	long d, bad = -1;
	int why = 0;

	for (d = from; d < to && bad < 0; d++)
		if ((why = round_trip_day(kr, d, validity)) != 0)
			bad = d;
	ok(bad < 0, "round trip, validity %u, days %ld-%ld (first failure day %ld, reason %d)",
	    validity, from, to - 1, bad, why);
}

static void
test_round_trip(void)
{
	struct keyring *kr = key_seed(5, 0x5a, 0);

	round_trip(kr, 18000, 20100, 7);	/* crosses days 19000 and 20000 */
	round_trip(kr, 18990, 19010, 0);
	round_trip(kr, 18990, 19010, 30);
	round_trip(kr, 0, 20, 7);
	keyring_unref(kr);
}

static void
test_rotation(void)
{
	unsigned char s0[KEYRING_KEY_BYTES], s1[KEYRING_KEY_BYTES];
	struct keyring *both = keyring_new(), *newonly = key_seed(1, 0x11, 1700500000);
	struct keyring *other = key_seed(0, 0x99, 0);
	struct addr a = parse("alice@example.com"), old, cur, orig;
	char buf[ADDR_TEXT_MAX];

	memset(s0, 0x10, sizeof(s0));
	memset(s1, 0x11, sizeof(s1));
	if (both == NULL || keyring_add(both, 0, s0, 0) != 0 ||
	    keyring_add(both, 1, s1, 1700500000) != 0)
		bail_out("keyring setup failed");
	is_int(prvs_sign(both, &a, 1700400000, 7, &old), PRVS_OK, "sign before rotation");
	ok(old.local[5] == '0', "old key signs before its successor activates");
	is_int(prvs_sign(both, &a, 1700600000, 7, &cur), PRVS_OK, "sign after rotation");
	ok(cur.local[5] == '1', "new key signs after activation");
	is_int(prvs_verify(both, &old, 1700600000, 7, &orig), PRVS_VALID,
	    "old tag verifies after rotation");
	is_str(fmt(&orig, buf), "alice@example.com", "old tag's original");
	is_int(prvs_verify(both, &cur, 1700600000, 7, NULL), PRVS_VALID,
	    "new tag verifies, orig NULL allowed");
	is_int(prvs_verify(newonly, &old, 1700600000, 7, NULL), PRVS_UNKNOWN_KEY,
	    "old tag after its key is pruned");
	is_int(prvs_verify(other, &old, 1700600000, 7, NULL), PRVS_BADMAC,
	    "different key in the same slot");
	is_int(prvs_verify(NULL, &old, 1700600000, 7, NULL), PRVS_UNKNOWN_KEY, "no keyring");
	keyring_unref(both);
	keyring_unref(newonly);
	keyring_unref(other);
}

/* test_verify_cases - case folding, tampering and shapes beyond the vectors */
static void
test_verify_cases(void)
{
	struct keyring *kr = key_seed(2, 0x77, 0);
	struct addr a = parse("Bob.Smith@Example.COM"), tagged, t2, orig;
	char buf[ADDR_TEXT_MAX], text[ADDR_TEXT_MAX];
	time_t now = 1700000000;
	size_t i;

	if (prvs_sign(kr, &a, now, 7, &tagged) != PRVS_OK)
		bail_out("sign failed");
	fmt(&tagged, text);
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] >= 'a' && text[i] <= 'z')
			text[i] = (char)(text[i] - 'a' + 'A');
	t2 = parse(text);
	is_int(prvs_verify(kr, &t2, now, 7, &orig), PRVS_VALID, "all upper case verifies");
	is_str(fmt(&orig, buf), "BOB.SMITH@EXAMPLE.COM", "original case kept");
	t2 = tagged;
	t2.local[9] = t2.local[9] == '0' ? '1' : '0';
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_BADMAC, "flipped MAC digit");
	t2 = tagged;
	t2.local[8] = t2.local[8] == '0' ? '1' : '0';
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_BADMAC, "changed expiry day");
	t2 = tagged;
	snprintf(t2.domain, sizeof(t2.domain), "example.net");
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_BADMAC, "changed domain");
	t2 = parse("<>");
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_UNTAGGED, "null path is untagged");
	t2 = parse("\"prvs=0123abcdef=x\"@example.com");
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_UNTAGGED, "quoted is untagged");
	t2 = parse("Prvs=2123abcdef=.x@example.com");
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_MALFORMED, "rest is no local part");
	t2 = parse("prvs=@example.com");
	is_int(prvs_verify(kr, &t2, now, 7, NULL), PRVS_MALFORMED, "bare prvs=");
	is_str(prvs_verdict_name(PRVS_UNKNOWN_KEY), "unknown-key", "verdict name");
	is_str(prvs_verdict_name((enum prvs_verdict)42), "unknown", "unknown verdict name");
	keyring_unref(kr);
}

int
main(void)
{
	if (sodium_init() < 0)
		bail_out("sodium_init failed");
	test_sign_vectors();
	test_verify_vectors();
	test_refusals();
	test_strip();
	test_round_trip();
	test_rotation();
	test_verify_cases();
	return done_testing();
}
