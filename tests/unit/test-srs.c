/* test-srs: every row of srs-forward.tsv and srs-reverse.tsv, then table cases: input
 * separators and case, SRS1 chains across domains, the 64-octet boundary, key rotation,
 * bad parameters and garbage local parts (a code, never a crash). */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srs.h"
#include "tap.h"
#include "tsv.h"

#define NOW 1577836860	/* day 18262, timestamp "2W" */
#define DAY 86400

static const char *key_a = "5988c183616d44fc3f49e227d4e1537b6a15bad5eef2c7f7b47b6d86a2c32ccd";
static const char *key_b = "2fda5098fa4c172ca18187067453a1b3d5105a80f8f7d7c0d3dd8bfea47f25a4";
static const char *key_c = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static char dom1[] = "example.com", dom2[] = "example.org", dom3[] = ".example.net";
static char *our_domains[] = { dom1, dom2, dom3 };

/* keyring_from_hex - a keyring of comma-separated hex secrets in slots 0, 1, ... */
static struct keyring *
keyring_from_hex(const char *list, time_t activate)
{
	struct keyring *kr = keyring_new();
	char buf[1024], *tok, *save = NULL;
	int slot = 0;

	if (kr == NULL)
		bail_out("keyring_new");
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		unsigned char secret[KEYRING_KEY_BYTES];

		if (hex_decode(tok, secret, sizeof(secret)) != 0 ||
		    keyring_add(kr, slot++, secret, activate) != KEYRING_OK)
			bail_out("bad key in test data");
	}
	return kr;
}

static void
params_init(struct srs_params *p, const char *domain)
{
	memset(p, 0, sizeof(*p));
	p->domain = domain;
	p->local_domains = our_domains;
	p->n_local_domains = sizeof(our_domains) / sizeof(our_domains[0]);
	p->separator = '=';
	p->hash_length = 5;
	p->hash_min = 4;
	p->max_age = 21;
}

static const char *
class_name(int err)
{
	switch (srs_err_class(err)) {
	case SRS_CLASS_OK: return "OK";
	case SRS_CLASS_NOTFOUND: return "NOTFOUND";
	case SRS_CLASS_PERM: return "PERM";
	case SRS_CLASS_TEMP: return "TEMP";
	}
	return "?";
}

/* run - forward (dir 'f') or reverse ('r') text; value gets the address or the reason */
static int
run(char dir, const struct srs_params *p, const struct keyring *kr, time_t now,
    const char *text, char *value, size_t size)
{
	struct addr in, out;
	int err;

	if (addr_parse(&in, text, strlen(text)) != ADDR_OK) {
		snprintf(value, size, "(unparsable input)");
		return 1;
	}
	memset(&out, 0, sizeof(out));
	err = dir == 'f' ? srs_forward(p, kr, now, &in, &out) : srs_reverse(p, kr, now, &in, &out);
	if (err == SRS_OK)
		addr_format(&out, value, size);
	else
		snprintf(value, size, "%s", srs_strerror(err));
	return err;
}

/* expect - run and check the status class and the value */
static void
expect(char dir, const struct srs_params *p, const struct keyring *kr, time_t now,
    const char *text, const char *status, const char *want, const char *what)
{
	char value[ADDR_TEXT_MAX + 64];
	int err = run(dir, p, kr, now, text, value, sizeof(value));

	is_str(class_name(err), status, "%s: %s %s status", what,
	    dir == 'f' ? "forward" : "reverse", text);
	is_str(value, want, "%s: %s %s value", what, dir == 'f' ? "forward" : "reverse", text);
}

static void
test_forward_vectors(void)
{
	struct tsv t;
	int rows = 0;

	tsv_open(&t, "srs-forward.tsv");
	while (tsv_next(&t)) {
		struct srs_params p;
		char domains[512], *v[8], *tok, *save = NULL;
		struct keyring *kr = keyring_from_hex(tsv_col(&t, "secret_hex"), 0);
		char label[32];
		size_t n = 0;

		params_init(&p, tsv_col(&t, "srs_domain"));
		snprintf(domains, sizeof(domains), "%s", tsv_col(&t, "local_domains"));
		for (tok = strtok_r(domains, ",", &save); tok != NULL && n < 8;
		    tok = strtok_r(NULL, ",", &save))
			v[n++] = tok;
		p.local_domains = v;
		p.n_local_domains = n;
		p.hash_length = (unsigned)atoi(tsv_col(&t, "hash_length"));
		p.separator = tsv_col(&t, "separator")[0];
		snprintf(label, sizeof(label), "srs-forward.tsv:%d", t.lineno);
		expect('f', &p, kr, (time_t)atoll(tsv_col(&t, "now")), tsv_col(&t, "input"),
		    tsv_col(&t, "status"), tsv_col(&t, "value"), label);
		keyring_unref(kr);
		rows++;
	}
	tsv_close(&t);
	ok(rows >= 80, "srs-forward.tsv has its rows (%d)", rows);
}

static void
test_reverse_vectors(void)
{
	struct tsv t;
	int rows = 0;

	tsv_open(&t, "srs-reverse.tsv");
	while (tsv_next(&t)) {
		struct srs_params p;
		struct keyring *kr = keyring_from_hex(tsv_col(&t, "secrets_hex"), 0);
		char label[32];

		params_init(&p, tsv_col(&t, "srs_domain"));
		p.max_age = (unsigned)atoi(tsv_col(&t, "max_age_days"));
		p.hash_min = (unsigned)atoi(tsv_col(&t, "hash_min"));
		snprintf(label, sizeof(label), "srs-reverse.tsv:%d", t.lineno);
		expect('r', &p, kr, (time_t)atoll(tsv_col(&t, "now")), tsv_col(&t, "input"),
		    tsv_col(&t, "status"), tsv_col(&t, "value"), label);
		keyring_unref(kr);
		rows++;
	}
	tsv_close(&t);
	ok(rows >= 70, "srs-reverse.tsv has its rows (%d)", rows);
}

static void
test_separators(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;

	params_init(&p, "fwd.example.com");
	expect('r', &p, kr, NOW, "SRS0+jxsu4=2W=otherdomain.com=test@fwd.example.com", "OK",
	    "test@otherdomain.com", "'+' after SRS0");
	expect('r', &p, kr, NOW, "SRS0-jxsu4=2W=otherdomain.com=test@fwd.example.com", "OK",
	    "test@otherdomain.com", "'-' after SRS0");
	expect('r', &p, kr, NOW, "SRS1+y54wb=otherdomain.com==opaque+string@fwd.example.com",
	    "OK", "SRS0=opaque+string@otherdomain.com", "'+' after SRS1");
	expect('r', &p, kr, NOW, "srs1-y54wb=otherdomain.com==opaque+string@fwd.example.com",
	    "OK", "SRS0=opaque+string@otherdomain.com", "'-' after srs1");
	expect('r', &p, kr, NOW, "SRS0=jxsu4+2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "malformed SRS0", "only '=' after the hash");
	p.separator = '+';
	expect('f', &p, kr, NOW, "test@otherdomain.com", "OK",
	    "SRS0+jxsu4=2W=otherdomain.com=test@fwd.example.com", "SRSSeparator +");
	expect('f', &p, kr, NOW, "SRS0=opaque+string@otherdomain.com", "OK",
	    "SRS1+y54wb=otherdomain.com==opaque+string@fwd.example.com", "SRSSeparator + on SRS1");
	p.separator = '-';
	expect('f', &p, kr, NOW, "test@otherdomain.com", "OK",
	    "SRS0-jxsu4=2W=otherdomain.com=test@fwd.example.com", "SRSSeparator -");
	expect('f', &p, kr, NOW, "SRS0+x@a.example", "OK",
	    "SRS1-g75vb=a.example=+x@fwd.example.com", "foreign '+' kept");
	keyring_unref(kr);
}

static void
test_case(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;

	params_init(&p, "fwd.example.com");
	expect('f', &p, kr, NOW, "TEST@OTHERDOMAIN.COM", "OK",
	    "SRS0=jxsu4=2W=OTHERDOMAIN.COM=TEST@fwd.example.com", "upper case keeps the hash");
	expect('r', &p, kr, NOW, "Srs0=JxSu4=2w=OtherDomain.Com=TeSt@Fwd.Example.Com", "OK",
	    "TeSt@OtherDomain.Com", "mixed case reverses as written");
	expect('f', &p, kr, NOW, "user@EXAMPLE.ORG", "NOTFOUND", "local domain",
	    "local domain in upper case");
	expect('f', &p, kr, NOW, "user@mx.example.net", "NOTFOUND", "local domain",
	    "subdomain pattern");
	keyring_unref(kr);
}

/* chain_step - forward text at a domain with a key, into buf */
static void
chain_step(const char *domain, const char *key, const char *text, char *buf, size_t size,
    const char *what)
{
	struct keyring *kr = keyring_from_hex(key, 0);
	struct srs_params p;
	int err;

	params_init(&p, domain);
	err = run('f', &p, kr, NOW, text, buf, size);
	is_int(err, SRS_OK, "chain %s: forward %s -> %s", what, text, buf);
	keyring_unref(kr);
}

static void
chain_back(const char *domain, const char *key, const char *text, const char *want,
    const char *what)
{
	struct keyring *kr = keyring_from_hex(key, 0);
	struct srs_params p;

	params_init(&p, domain);
	expect('r', &p, kr, NOW + DAY, text, "OK", want, what);
	keyring_unref(kr);
}

static void
test_chains(void)
{
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX], c[ADDR_TEXT_MAX];

	chain_step("a.example", key_a, "alice@orig.example", a, sizeof(a), "hop 1");
	ok(strncmp(a, "SRS0=", 5) == 0 && strstr(a, "@a.example") != NULL, "hop 1 is SRS0");
	chain_step("b.example", key_b, a, b, sizeof(b), "hop 2");
	ok(strncmp(b, "SRS1=", 5) == 0 && strstr(b, "=a.example==") != NULL &&
	    strstr(b, "@b.example") != NULL, "hop 2 is SRS1 naming hop 1");
	chain_step("c.example", key_c, b, c, sizeof(c), "hop 3");
	ok(strncmp(c, "SRS1=", 5) == 0 && strstr(c, "=a.example==") != NULL &&
	    strstr(c, "@c.example") != NULL, "hop 3 re-hashes, still naming hop 1");
	ok(strcmp(strchr(b + 5, '='), strchr(c + 5, '=')) != 0, "hop 3 text differs by domain");
	chain_back("c.example", key_c, c, a, "hop 3 back to hop 1");
	chain_back("b.example", key_b, b, a, "hop 2 back to hop 1");
	chain_back("a.example", key_a, a, "alice@orig.example", "hop 1 back to the sender");
	{
		struct keyring *kr = keyring_from_hex(key_a, 0);
		struct srs_params p;

		params_init(&p, "b.example");
		expect('r', &p, kr, NOW, b, "PERM", "bad hash", "hop 2 needs hop 2's key");
		params_init(&p, "a.example");
		expect('r', &p, kr, NOW, b, "NOTFOUND", "not our SRS domain",
		    "hop 2's address at hop 1");
		keyring_unref(kr);
	}
}

/* fill - n copies of c */
static char *
fill(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
test_lengths(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;
	char local[80], in[200], out[ADDR_TEXT_MAX + 64], want[200];

	params_init(&p, "fwd.example.com");
	/* "SRS0=" 5, hash 5, "=2W=" 4, "d.example=" 10: 24 octets before the local part */
	snprintf(in, sizeof(in), "%s@d.example", fill(local, 'u', 40));
	is_int(run('f', &p, kr, NOW, in, out, sizeof(out)), SRS_OK, "64-octet SRS0 is written");
	is_int((long long)(strchr(out, '@') - out), 64, "and its local part is 64 octets");
	snprintf(want, sizeof(want), "%s@d.example", local);
	expect('r', &p, kr, NOW, out, "OK", want, "64-octet SRS0 reverses");
	snprintf(in, sizeof(in), "%s@d.example", fill(local, 'u', 41));
	expect('f', &p, kr, NOW, in, "PERM", "too long", "65-octet SRS0");
	p.hash_length = 4;
	is_int(run('f', &p, kr, NOW, in, out, sizeof(out)), SRS_OK, "shorter hash makes it fit");
	p.hash_length = 5;
	/* "SRS1=" 5, hash 5, "=" 1, "h.example=" 10: 21, then "=" and the 42 x of "SRS0=x..." */
	snprintf(in, sizeof(in), "SRS0=%s@h.example", fill(local, 'x', 42));
	is_int(run('f', &p, kr, NOW, in, out, sizeof(out)), SRS_OK, "64-octet SRS1 is written");
	is_int((long long)(strchr(out, '@') - out), 64, "and its local part is 64 octets");
	expect('r', &p, kr, NOW, out, "OK", in, "64-octet SRS1 reverses");
	snprintf(in, sizeof(in), "SRS0=%s@h.example", fill(local, 'x', 43));
	expect('f', &p, kr, NOW, in, "PERM", "too long", "65-octet SRS1");
	snprintf(in, sizeof(in), "u@%s.example", fill(local, 'd', 60));
	expect('f', &p, kr, NOW, in, "PERM", "too long", "long domain");
	keyring_unref(kr);
}

static void
test_hash_prefix(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;

	params_init(&p, "fwd.example.com");
	expect('r', &p, kr, NOW, "SRS0=jxsu43tbrxtcccplcsqa=2W=otherdomain.com=test@fwd.example.com",
	    "OK", "test@otherdomain.com", "20-character hash");
	expect('r', &p, kr, NOW, "SRS0=jxsu43tbrxtcccplcsqb=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "bad hash", "20-character hash, last one wrong");
	p.hash_min = 5;
	expect('r', &p, kr, NOW, "SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "hash too short", "HashMin 5");
	/* HashMin 4 under HashLength 5 only until hash_min_until (SRSHashLengthChanged) */
	p.hash_min = 4;
	p.hash_min_until = NOW + DAY;
	expect('r', &p, kr, NOW, "SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com",
	    "OK", "test@otherdomain.com", "HashMin 4 before hash_min_until");
	expect('r', &p, kr, NOW + DAY, "SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "hash too short", "HashMin 4 no more from hash_min_until");
	expect('r', &p, kr, NOW + DAY, "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com",
	    "OK", "test@otherdomain.com", "the full length still verifies after it");
	p.hash_min_until = NOW + 23 * DAY;
	expect('r', &p, kr, NOW, "SRS0=jxsu=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "hash too short", "a window ending past MaxAge + 1 days from now is none");
	p.hash_min_until = 0;
	expect('r', &p, kr, NOW, "SRS0=jxsu4=2X=otherdomain.com=test@fwd.example.com",
	    "PERM", "bad hash", "timestamp is under the hash");
	expect('r', &p, kr, NOW - 30 * DAY, "SRS0=jxsu4=2X=otherdomain.com=test@fwd.example.com",
	    "PERM", "bad hash", "a forged hash is bad before it is expired");
	p.max_age = 0;
	expect('r', &p, kr, NOW, "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com",
	    "OK", "test@otherdomain.com", "MaxAge 0: the same day");
	expect('r', &p, kr, NOW + DAY, "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "expired", "MaxAge 0: the next day");
	expect('r', &p, kr, NOW - DAY, "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com",
	    "PERM", "expired", "a timestamp from the future");
	keyring_unref(kr);
}

static void
test_keys(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0), *two;
	struct srs_params p;
	unsigned char secret[KEYRING_KEY_BYTES];
	char out[ADDR_TEXT_MAX + 64];

	params_init(&p, "fwd.example.com");
	/* key_b in slot 1, newer: it signs, and key_a still verifies */
	two = keyring_from_hex(key_a, 0);
	if (hex_decode(key_b, secret, sizeof(secret)) != 0 ||
	    keyring_add(two, 1, secret, NOW - DAY) != KEYRING_OK)
		bail_out("keyring_add");
	is_int(run('f', &p, two, NOW, "test@otherdomain.com", out, sizeof(out)), SRS_OK,
	    "forward with two keys");
	expect('r', &p, kr, NOW, out, "PERM", "bad hash", "signed by the newer key");
	expect('r', &p, two, NOW, out, "OK", "test@otherdomain.com", "newer key verifies");
	expect('r', &p, two, NOW, "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com", "OK",
	    "test@otherdomain.com", "older key still verifies");
	keyring_unref(two);
	/* a key that activates tomorrow verifies but does not sign */
	two = keyring_new();
	if (two == NULL || keyring_add(two, 3, secret, NOW + DAY) != KEYRING_OK)
		bail_out("keyring_add");
	expect('f', &p, two, NOW, "test@otherdomain.com", "TEMP", "no signing key",
	    "only a future key");
	expect('r', &p, two, NOW, out, "OK", "test@otherdomain.com", "a future key verifies");
	keyring_unref(two);
	two = keyring_new();
	expect('f', &p, two, NOW, "test@otherdomain.com", "TEMP", "no signing key", "no keys");
	expect('r', &p, two, NOW, out, "TEMP", "no signing key", "no keys to verify");
	expect('f', &p, NULL, NOW, "test@otherdomain.com", "TEMP", "no signing key", "NULL ring");
	keyring_unref(two);
	keyring_unref(kr);
	sodium_memzero(secret, sizeof(secret));
}

static void
test_params(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;
	const char *good = "SRS0=jxsu4=2W=otherdomain.com=test@fwd.example.com";

	params_init(&p, NULL);
	expect('f', &p, kr, NOW, "a@b.example", "TEMP", "SRS is not configured", "no SRSDomain");
	expect('r', &p, kr, NOW, good, "TEMP", "SRS is not configured", "no SRSDomain");
	params_init(&p, "fwd.example.com");
	p.separator = '!';
	expect('f', &p, kr, NOW, "a@b.example", "TEMP", "SRS is not configured", "separator !");
	params_init(&p, "fwd.example.com");
	p.hash_length = 0;
	expect('f', &p, kr, NOW, "a@b.example", "TEMP", "SRS is not configured", "HashLength 0");
	p.hash_length = 53;
	expect('f', &p, kr, NOW, "a@b.example", "TEMP", "SRS is not configured", "HashLength 53");
	params_init(&p, "fwd.example.com");
	p.hash_min = 0;
	expect('r', &p, kr, NOW, good, "TEMP", "SRS is not configured", "HashMin 0");
	params_init(&p, "bad..domain");
	expect('f', &p, kr, NOW, "a@b.example", "TEMP", "SRS is not configured",
	    "SRSDomain that is no domain");
	params_init(&p, "fwd.example.com");
	p.local_domains = NULL;
	p.n_local_domains = 0;
	expect('f', &p, kr, NOW, "a@example.com", "OK",
	    "SRS0=3zpln=2W=example.com=a@fwd.example.com", "no local domains");
	keyring_unref(kr);
}

struct garbage {
	char dir;
	const char *in, *status, *value;
};

static const struct garbage garbage[] = {
	{ 'r', "SRS0=@fwd.example.com", "NOTFOUND", "not an SRS address" },
	{ 'r', "SRS0@fwd.example.com", "NOTFOUND", "not an SRS address" },
	{ 'r', "SRS0x=a=2W=d=u@fwd.example.com", "NOTFOUND", "not an SRS address" },
	{ 'r', "SRS2=abcd=2W=d=u@fwd.example.com", "NOTFOUND", "not an SRS address" },
	{ 'r', "SRS=abcd@fwd.example.com", "NOTFOUND", "not an SRS address" },
	{ 'r', "\"SRS0=jxsu4=2W=otherdomain.com=test\"@fwd.example.com", "NOTFOUND",
	    "not an SRS address" },
	{ 'r', "<>", "NOTFOUND", "null sender" },
	{ 'r', "SRS0==@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0===@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2W@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2W=d.example@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2W=d.example=@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2W==u@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2=d.example=u@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2WW=d.example=u@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=1W=d.example=u@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS0=abcd=2!=d.example=u@fwd.example.com", "PERM", "malformed SRS0" },
	{ 'r', "SRS1==@fwd.example.com", "PERM", "malformed SRS1" },
	{ 'r', "SRS1=abcd==rest@fwd.example.com", "PERM", "malformed SRS1" },
	{ 'r', "SRS1=abcd=hop=@fwd.example.com", "PERM", "malformed SRS1" },
	{ 'r', "SRS1=abc==@fwd.example.com", "PERM", "malformed SRS1" },
	{ 'r', "SRS1=abcd=hop.example=x@fwd.example.com", "PERM", "bad hash" },
	{ 'r', "SRS0=abcd=2W=d.example=u@fwd.example.com", "PERM", "bad hash" },
	{ 'r', "SRS0=a=2W=d.example=u@fwd.example.com", "PERM", "hash too short" },
	{ 'f', "<>", "NOTFOUND", "null sender" },
	{ 'f', "\"a b\"@x.example", "NOTFOUND", "quoted local part or address literal" },
	{ 'f', "u@[192.0.2.1]", "NOTFOUND", "quoted local part or address literal" },
	{ 'f', "SRS1=x@hop.example", "PERM", "malformed SRS1" },
	{ 'f', "SRS1=x=hop.example@hop.example", "PERM", "malformed SRS1" },
	{ 'f', "SRS1=x==rest@hop.example", "PERM", "malformed SRS1" },
	{ 'f', "SRS1=x=hop.example=@hop.example", "PERM", "malformed SRS1" },
	{ 'f', "SRS1==hop.example=rest@x.example", "OK",
	    "SRS1=3s4xy=hop.example=rest@fwd.example.com" },
	{ 'f', "SRS0=@x.example", "OK", "SRS1=24vm6=x.example==@fwd.example.com" },
	{ 'f', "SRS2=x@x.example", "OK", "SRS0=k73pr=2W=x.example=SRS2=x@fwd.example.com" },
	{ 'f', "u@fwd.example.com", "NOTFOUND", "local domain" },
};

static void
test_garbage(void)
{
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;
	size_t i;

	params_init(&p, "fwd.example.com");
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		expect(garbage[i].dir, &p, kr, NOW, garbage[i].in, garbage[i].status,
		    garbage[i].value, "garbage");
	keyring_unref(kr);
}

/* test_random - local parts made of the characters that matter never crash either way */
static void
test_random(void)
{
	static const char chars[] = "SRS01sr=+-=.=a2W";
	struct keyring *kr = keyring_from_hex(key_a, 0);
	struct srs_params p;
	int i, bad = 0;

	params_init(&p, "fwd.example.com");
	for (i = 0; i < 20000; i++) {
		char in[ADDR_TEXT_MAX], out[ADDR_TEXT_MAX + 64];
		size_t j, n = 1 + randombytes_uniform(40);
		int e1, e2;

		for (j = 0; j < n; j++)
			in[j] = chars[randombytes_uniform(sizeof(chars) - 1)];
		if (randombytes_uniform(3) == 0)
			memcpy(in, "SRS", 3);
		snprintf(in + n, sizeof(in) - n, "@fwd.example.com");
		e1 = run('r', &p, kr, NOW, in, out, sizeof(out));
		in[n] = '\0';
		strcat(in, "@x.example");
		e2 = run('f', &p, kr, NOW, in, out, sizeof(out));
		if (e1 > 0 || e2 > 0)
			continue;	/* not a valid address */
		if (e1 == SRS_OK || srs_err_class(e1) == SRS_CLASS_TEMP ||
		    srs_err_class(e2) == SRS_CLASS_TEMP || e2 == SRS_EQUOTED)
			bad++;
	}
	is_int(bad, 0, "random local parts: no forged pass, no odd codes");
	keyring_unref(kr);
}

static void
test_misc(void)
{
	struct addr a;
	int i;

	ok(addr_parse(&a, "srs0-x@y.example", 16) == ADDR_OK && srs_is_srs(&a),
	    "srs_is_srs: srs0-");
	ok(addr_parse(&a, "SRS1+x@y.example", 16) == ADDR_OK && srs_is_srs(&a),
	    "srs_is_srs: SRS1+");
	ok(addr_parse(&a, "SRS2=x@y.example", 16) == ADDR_OK && !srs_is_srs(&a),
	    "srs_is_srs: not SRS2");
	ok(addr_parse(&a, "SRS0x@y.example", 15) == ADDR_OK && !srs_is_srs(&a),
	    "srs_is_srs: needs a separator");
	ok(addr_parse(&a, "<>", 2) == ADDR_OK && !srs_is_srs(&a), "srs_is_srs: not <>");
	for (i = SRS_OK; i >= SRS_EQUOTED; i--)
		ok(strcmp(srs_strerror(i), "unknown SRS error") != 0, "srs_strerror(%d) = %s", i,
		    srs_strerror(i));
	is_str(srs_strerror(-99), "unknown SRS error", "srs_strerror of an unknown code");
	is_int(srs_err_class(SRS_EEXPIRED), SRS_CLASS_PERM, "expired is PERM");
	is_int(srs_err_class(SRS_ENOKEY), SRS_CLASS_TEMP, "no key is TEMP");
	is_int(srs_err_class(SRS_ENOTOURS), SRS_CLASS_NOTFOUND, "not ours is NOTFOUND");
}

int
main(void)
{
	if (sodium_init() < 0)
		bail_out("sodium_init");
	test_forward_vectors();
	test_reverse_vectors();
	test_separators();
	test_case();
	test_chains();
	test_lengths();
	test_hash_prefix();
	test_keys();
	test_params();
	test_garbage();
	test_random();
	test_misc();
	return done_testing();
}
