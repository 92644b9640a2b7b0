/* test-lookup: every answer of srs-rewrite serve's maps, a row per case, against real keys,
 * tags and SRS addresses: what the prvs map lets through, how forward and reverse answer
 * each SRS failure, SRS off, an unknown map, a key that is no address, and what each answer
 * tells the caller to log (refused tags, postsrsd's legacy hash). */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "lookup.h"
#include "policy.h"
#include "tap.h"

#define NOW ((time_t)1764183600)	/* 2025-11-26 */
#define DAY ((time_t)86400)
#define LEGACY_NOW ((time_t)1796169600)	/* day 20789, postsrsd's "JV" (see srs-legacy.sh) */

/* The snapshot a row runs against. */
enum env_kind { E_KEYS, E_NOKEYS, E_SRS_OFF, E_LEGACY, E_DRYRUN, E_NONE };

/* The key a row asks for: written out, or made with the keys. */
enum key_kind {
	K_TEXT, K_PRVS_VALID, K_PRVS_EXPIRED, K_PRVS_BADMAC, K_SRS_FRESH, K_SRS_OLD,
};

struct row {
	enum env_kind env;
	const char *map;
	enum key_kind kind;
	const char *key;		/* K_TEXT */
	enum mapcodec_status st;
	const char *want;		/* the answer text; a trailing '*' matches a prefix */
	enum lookup_note note;
	const char *verdict;		/* LOOKUP_NOTE_PRVS_REFUSED, _PRVS_DRYRUN */
	const char *result;		/* LOOKUP_NOTE_LEGACY */
};

static const struct row rows[] = {
	/* prvs: a tag whose MAC verifies goes through untagged, valid or expired */
	{ E_KEYS, "prvs", K_PRVS_VALID, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "prvs", K_PRVS_EXPIRED, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "prvs", K_PRVS_BADMAC, NULL, MAPCODEC_NOTFOUND, "badmac",
	    LOOKUP_NOTE_PRVS_REFUSED, "badmac", NULL },
	{ E_KEYS, "prvs", K_TEXT, "prvs=3123abcdef=alice@example.com", MAPCODEC_NOTFOUND,
	    "unknown-key", LOOKUP_NOTE_PRVS_REFUSED, "unknown-key", NULL },
	{ E_KEYS, "prvs", K_TEXT, "prvs=12=alice@example.com", MAPCODEC_NOTFOUND, "malformed",
	    LOOKUP_NOTE_PRVS_REFUSED, "malformed", NULL },
	{ E_KEYS, "prvs", K_TEXT, "alice@example.com", MAPCODEC_NOTFOUND, "untagged",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	/* a routed spelling fails here, and Postfix asks again with the address it rewrites it
	 * to (allow_percent_hack, swap_bangpath), which the milter judges: not a forgery */
	{ E_KEYS, "prvs", K_TEXT, "prvs=3123abcdef=alice%example.com@localhost",
	    MAPCODEC_NOTFOUND, "unknown-key", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "prvs", K_TEXT, "prvs=3123abcdef=example.com!alice@localhost",
	    MAPCODEC_NOTFOUND, "unknown-key", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_SRS_OFF, "prvs", K_PRVS_VALID, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "prvs", K_TEXT, "not an address", MAPCODEC_NOTFOUND, "not an address: *",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	/* DryRun refuses nothing: a tag that fails goes through untagged, noted as what would
	 * have been refused; one with no address in it (malformed) has nothing to give */
	{ E_DRYRUN, "prvs", K_PRVS_BADMAC, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_PRVS_DRYRUN, "badmac", NULL },
	{ E_DRYRUN, "prvs", K_TEXT, "prvs=3123abcdef=alice@example.com", MAPCODEC_FOUND,
	    "alice@example.com", LOOKUP_NOTE_PRVS_DRYRUN, "unknown-key", NULL },
	{ E_DRYRUN, "prvs", K_PRVS_EXPIRED, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_DRYRUN, "prvs", K_PRVS_VALID, NULL, MAPCODEC_FOUND, "alice@example.com",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_DRYRUN, "prvs", K_TEXT, "prvs=12=alice@example.com", MAPCODEC_NOTFOUND, "malformed",
	    LOOKUP_NOTE_PRVS_REFUSED, "malformed", NULL },
	{ E_DRYRUN, "prvs", K_TEXT, "alice@example.com", MAPCODEC_NOTFOUND, "untagged",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_DRYRUN, "prvs", K_TEXT, "prvs=3123abcdef=alice%example.com@localhost",
	    MAPCODEC_NOTFOUND, "unknown-key", LOOKUP_NOTE_NONE, NULL, NULL },
	/* forward */
	{ E_KEYS, "forward", K_TEXT, "bob@other.org", MAPCODEC_FOUND, "SRS0=*",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "forward", K_TEXT, "alice@example.com", MAPCODEC_NOTFOUND, "local domain",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "forward", K_TEXT, "<>", MAPCODEC_NOTFOUND, "null sender",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_NOKEYS, "forward", K_TEXT, "bob@other.org", MAPCODEC_TEMP, "no signing key",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_SRS_OFF, "forward", K_TEXT, "bob@other.org", MAPCODEC_NOTFOUND,
	    "SRS is off: SRSDomain is not set", LOOKUP_NOTE_NONE, NULL, NULL },
	/* reverse: a failed hash or age is NOTFOUND, never PERM (Postfix: a broken table) */
	{ E_KEYS, "reverse", K_SRS_FRESH, NULL, MAPCODEC_FOUND, "bob@other.org",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "reverse", K_TEXT, "postmaster@fwd.example.com", MAPCODEC_NOTFOUND,
	    "not an SRS address", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "reverse", K_TEXT, "SRS0=aaaaa=2W=other.org=bob@fwd.example.com",
	    MAPCODEC_NOTFOUND, "bad hash", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "reverse", K_SRS_OLD, NULL, MAPCODEC_NOTFOUND, "expired",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_SRS_OFF, "reverse", K_TEXT, "SRS0=aaaaa=2W=other.org=bob@fwd.example.com",
	    MAPCODEC_NOTFOUND, "SRS is off: SRSDomain is not set", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_KEYS, "reverse", K_TEXT, "bob@", MAPCODEC_NOTFOUND, "not an address: *",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	/* postsrsd 1.10's own answer (secret "legacysecret1"): reversed, and flagged for the log */
	{ E_LEGACY, "reverse", K_TEXT, "SRS0=UIMy=JV=example.net=alice@fwd.example.com",
	    MAPCODEC_FOUND, "alice@example.net", LOOKUP_NOTE_LEGACY, NULL, "alice@example.net" },
	{ E_LEGACY, "reverse", K_TEXT, "SRS0=UIMz=JV=example.net=alice@fwd.example.com",
	    MAPCODEC_NOTFOUND, "bad hash", LOOKUP_NOTE_NONE, NULL, NULL },
	/* the map name is checked first, then the snapshot */
	{ E_KEYS, "nosuch", K_TEXT, "bob@other.org", MAPCODEC_PERM,
	    "unknown map 'nosuch': use forward, reverse or prvs", LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_NONE, "nosuch", K_TEXT, "bob@other.org", MAPCODEC_PERM, "unknown map *",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_NONE, "prvs", K_PRVS_VALID, NULL, MAPCODEC_TEMP, "out of memory",
	    LOOKUP_NOTE_NONE, NULL, NULL },
	{ E_NONE, "reverse", K_SRS_FRESH, NULL, MAPCODEC_TEMP, "out of memory",
	    LOOKUP_NOTE_NONE, NULL, NULL },
};

static const char *const status_name[] = { "FOUND", "NOTFOUND", "PERM", "TEMP" };
static const char *const note_name[] = { "none", "prvs-refused", "legacy", "prvs-dryrun" };

/* name_of - a table entry, or "?" for a value out of it (an unset note must not crash) */
static const char *
name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}
#define STATUS(v) name_of(status_name, 4, (unsigned)(v))
#define NOTE(v) name_of(note_name, 4, (unsigned)(v))

static struct keyring *kr, *empty;
static struct conf *c_srs, *c_off, *c_legacy, *c_dry;
static struct srs_params p_srs, p_off, p_legacy;

static struct conf *
conf_of(const char *text)
{
	char err[512];
	struct conf *c = NULL;

	if (conf_parse(text, strlen(text), "test.conf", &c, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		bail_out("test configuration does not parse");
	}
	return c;
}

static void
setup_confs(const char *dir)
{
	char path[512], text[1024];
	const char *base = "Domains example.com, .example.net\nReplayDatabase /nonexistent\n";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/secret", dir);
	if ((fp = fopen(path, "w")) == NULL || fputs("legacysecret1\n", fp) < 0 ||
	    fclose(fp) != 0 || chmod(path, 0600) != 0)
		bail_out("legacy secrets file");
	snprintf(text, sizeof(text), "%sSRSDomain fwd.example.com\n", base);
	c_srs = conf_of(text);
	c_off = conf_of(base);
	snprintf(text, sizeof(text), "%sSRSDomain fwd.example.com\nDryRun yes\n", base);
	c_dry = conf_of(text);
	snprintf(text, sizeof(text), "%sSRSDomain fwd.example.com\nSRSLegacySecrets file:%s\n",
	    base, path);
	c_legacy = conf_of(text);
	policy_srs_params(c_srs, &p_srs);
	policy_srs_params(c_off, &p_off);
	policy_srs_params(c_legacy, &p_legacy);
}

static const struct lookup_env *
env_of(enum env_kind k, struct lookup_env *e)
{
	e->kr = k == E_NOKEYS ? empty : kr;
	e->conf = k == E_SRS_OFF ? c_off : k == E_LEGACY ? c_legacy : k == E_DRYRUN ? c_dry :
	    c_srs;
	e->srs = k == E_SRS_OFF ? &p_off : k == E_LEGACY ? &p_legacy : &p_srs;
	e->now = k == E_LEGACY ? LEGACY_NOW : NOW;
	return k == E_NONE ? NULL : e;
}

static struct addr
parse(const char *s)
{
	struct addr a;

	if (addr_parse(&a, s, strlen(s)) != 0)
		bail_out(s);
	return a;
}

/* key_of - the row's key as text, made with the same keys the lookup holds */
static void
key_of(const struct row *r, char *out, size_t outsize)
{
	struct addr plain = parse(r->kind == K_SRS_FRESH || r->kind == K_SRS_OLD ?
	    "bob@other.org" : "alice@example.com"), a = plain;
	int err = 0;

	switch (r->kind) {
	case K_TEXT:
		snprintf(out, outsize, "%s", r->key);
		return;
	case K_PRVS_VALID: err = prvs_sign(kr, &plain, NOW, 7, &a); break;
	case K_PRVS_EXPIRED: err = prvs_sign(kr, &plain, NOW - 10 * DAY, 7, &a); break;
	case K_PRVS_BADMAC:
		err = prvs_sign(kr, &plain, NOW, 7, &a);
		a.local[14] = a.local[14] == '0' ? '1' : '0';
		break;
	case K_SRS_FRESH: err = srs_forward(&p_srs, kr, NOW, &plain, &a); break;
	case K_SRS_OLD: err = srs_forward(&p_srs, kr, NOW - 30 * DAY, &plain, &a); break;
	}
	if (err != 0)
		bail_out("cannot make the row's key");
	addr_format(&a, out, outsize);
}

static int
text_matches(const char *got, const char *want)
{
	size_t n = strlen(want);

	if (n > 0 && want[n - 1] == '*')
		return strncmp(got, want, n - 1) == 0;
	return strcmp(got, want) == 0;
}

static void
check_note(const struct row *r, const char *key, const struct lookup_log *lg)
{
	char text[ADDR_TEXT_MAX];

	is_str(NOTE(lg->note), NOTE(r->note), "%s %s: log note", r->map, key);
	if ((r->note == LOOKUP_NOTE_PRVS_REFUSED || r->note == LOOKUP_NOTE_PRVS_DRYRUN) &&
	    lg->note == r->note) {
		is_str(prvs_verdict_name(lg->verdict), r->verdict, "%s %s: verdict to log",
		    r->map, key);
		addr_format(&lg->key, text, sizeof(text));
		is_str(text, key, "%s %s: the address to log is the key", r->map, key);
	}
	if (r->note == LOOKUP_NOTE_LEGACY && lg->note == r->note) {
		addr_format(&lg->result, text, sizeof(text));
		is_str(text, r->result, "%s %s: the reversed address to log", r->map, key);
	}
}

static void
test_table(void)
{
	char key[ADDR_TEXT_MAX], out[MAPCODEC_VALUE_MAX];
	struct lookup_env e;
	struct lookup_log lg;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		enum mapcodec_status st;

		key_of(r, key, sizeof(key));
		memset(&lg, 0xa5, sizeof(lg));	/* the answer must set the note itself */
		st = lookup_answer(env_of(r->env, &e), r->map, key, out, sizeof(out), &lg);
		is_str(STATUS(st), STATUS(r->st), "%s %s: status", r->map, key);
		ok(text_matches(out, r->want), "%s %s: answer '%s' (want '%s')", r->map, key, out,
		    r->want);
		check_note(r, key, &lg);
	}
}

/* What forward answers, reverse takes back; and an answer too long for out is PERM. */
static void
test_round_trip(void)
{
	char fwd[MAPCODEC_VALUE_MAX], back[MAPCODEC_VALUE_MAX], tiny[8];
	struct lookup_env e;
	struct lookup_log lg;

	is_int(lookup_answer(env_of(E_KEYS, &e), "forward", "Bob.Smith+x@Other.ORG", fwd,
	    sizeof(fwd), &lg), MAPCODEC_FOUND, "forward: %s", fwd);
	is_int(lookup_answer(env_of(E_KEYS, &e), "reverse", fwd, back, sizeof(back), &lg),
	    MAPCODEC_FOUND, "reverse of the forward answer");
	is_str(back, "Bob.Smith+x@Other.ORG", "reverse gives the original sender, case kept");
	is_int(lookup_answer(env_of(E_KEYS, &e), "forward", "bob@other.org", tiny, sizeof(tiny),
	    &lg), MAPCODEC_PERM, "an answer that does not fit is PERM: %s", tiny);
}

static void
test_srs_status(void)
{
	is_int(lookup_srs_status(SRS_OK), MAPCODEC_FOUND, "SRS_OK: FOUND");
	is_int(lookup_srs_status(SRS_ENOTOURS), MAPCODEC_NOTFOUND, "not ours: NOTFOUND");
	is_int(lookup_srs_status(SRS_EBADHASH), MAPCODEC_NOTFOUND, "bad hash: NOTFOUND");
	is_int(lookup_srs_status(SRS_EEXPIRED), MAPCODEC_NOTFOUND, "expired: NOTFOUND");
	is_int(lookup_srs_status(SRS_ENOKEY), MAPCODEC_TEMP, "no key: TEMP");
	is_int(lookup_srs_status(SRS_ECONFIG), MAPCODEC_TEMP, "not configured: TEMP");
}

int
main(void)
{
	unsigned char secret[KEYRING_KEY_BYTES];
	char dir[] = "/tmp/test-lookup.XXXXXX", path[600];

	if (sodium_init() < 0)
		bail_out("sodium_init");
	if (mkdtemp(dir) == NULL)
		bail_out("mkdtemp");
	memset(secret, 0x42, sizeof(secret));
	kr = keyring_new();
	empty = keyring_new();
	if (kr == NULL || empty == NULL || keyring_add(kr, 0, secret, 0) != 0)
		bail_out("keyring");
	setup_confs(dir);
	test_table();
	test_round_trip();
	test_srs_status();
	snprintf(path, sizeof(path), "%s/secret", dir);
	unlink(path);
	rmdir(dir);
	conf_free(c_srs);
	conf_free(c_off);
	conf_free(c_legacy);
	conf_free(c_dry);
	keyring_unref(kr);
	keyring_unref(empty);
	return done_testing();
}
