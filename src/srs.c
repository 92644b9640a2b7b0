/* srs: SRS0/SRS1 forward and reverse in the guarded layout, the hash being the base32
 * HMAC-SHA-256 of the lowercased text after it (README.md "Tag formats"). Pure functions of
 * their arguments: no I/O, no state; every failure is a code, never a crash. */
#include "config.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "srs.h"

#define SRS_HASH_FULL 52	/* base32 characters of a 32-byte MAC */
#define SRS_TAG_LEN 4		/* "SRS0" or "SRS1" */
#define SRS_TS_PERIOD 1024	/* two base32 characters of day number */
/* the text after the hash: at most a domain, a local part and a few separators */
#define SRS_TEXT_MAX (ADDR_DOMAIN_MAX + ADDR_LOCAL_MAX + 8)

static const char srs_b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char srs_ts[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* The fields of a received SRS local part, pointers into it. */
struct srs_parts {
	int kind;		/* 0 or 1 */
	const char *hash;	/* hash_len characters */
	size_t hash_len;
	const char *text;	/* everything after the hash and its '=': the MAC input */
	const char *ts;		/* SRS0: two timestamp characters */
	const char *host;	/* SRS0: the original domain; SRS1: the first hop */
	size_t host_len;
	const char *rest;	/* SRS0: the original local part; SRS1: after "SRS0" */
};

static bool
srs_is_sep(char c)
{
	return c == '=' || c == '+' || c == '-';
}

/* srs_cat - the strings up to a NULL, joined into out; their length, or -1 when they do not
 * fit (out is then empty). snprintf without the format parser, on the path of every lookup. */
static int
srs_cat(char *out, size_t size, ...)
{
	const char *part;
	size_t n = 0, len;
	va_list ap;

	va_start(ap, size);
	while ((part = va_arg(ap, const char *)) != NULL) {
		len = strlen(part);
		if (len >= size - n) {
			va_end(ap);
			out[0] = '\0';
			return -1;
		}
		memcpy(out + n, part, len);
		n += len;
	}
	va_end(ap);
	out[n] = '\0';
	return (int)n;
}

/* srs_kind - 0 for "SRS0<sep>...", 1 for "SRS1<sep>...", -1 otherwise (any case) */
static int
srs_kind(const char *local)
{
	if (strncasecmp(local, "SRS", 3) != 0 || (local[3] != '0' && local[3] != '1'))
		return -1;
	if (!srs_is_sep(local[4]))
		return -1;
	return local[3] - '0';
}

bool
srs_is_srs(const struct addr *a)
{
	return a != NULL && !a->null && !a->quoted && srs_kind(a->local) >= 0;
}

static void
srs_base32(const unsigned char *in, size_t n, char *out)
{
	unsigned buf = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		buf = ((buf << 8) | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			out[o++] = srs_b32[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = srs_b32[(buf << (5 - bits)) & 31];
	out[o] = '\0';
}

/* srs_hash - the full base32 MAC of lowercase(text) under an SRS sub-key */
static void
srs_hash(const struct keyring_subkey *key, const char *text, char out[SRS_HASH_FULL + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char low[SRS_TEXT_MAX];
	size_t n = strnlen(text, sizeof(low) - 1);

	addr_lowercase(low, text, n);
	keyring_hmac(key, low, n, mac);
	srs_base32(mac, sizeof(mac), out);
	sodium_memzero(mac, sizeof(mac));
}

static int
srs_ts_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(srs_ts, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	return p == NULL ? -1 : (int)(p - srs_ts);
}

/* srs_day_mod - day number of now modulo the timestamp period */
static int
srs_day_mod(time_t now)
{
	long d = clock_day(now) % SRS_TS_PERIOD;

	return (int)(d < 0 ? d + SRS_TS_PERIOD : d);
}

/* ---- forward ---- */

static bool
srs_domain_local(const struct srs_params *p, const char *domain)
{
	if (strcasecmp(domain, p->domain) == 0)
		return true;
	return addr_domain_in(domain, p->local_domains, p->n_local_domains);
}

/* srs_srs1_reversible - is "SRS0" rest @ hop an address? If not, the SRS1 made from a foreign
 * SRS1 would be refused by our own reverse (found by fuzzing: a first hop of stray bytes). */
static bool
srs_srs1_reversible(const char *hop, size_t hop_len, const char *rest)
{
	char local[ADDR_LOCAL_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	struct addr prev;
	int n;

	if (hop_len >= sizeof(domain))
		return false;
	memcpy(domain, hop, hop_len);
	domain[hop_len] = '\0';
	n = srs_cat(local, sizeof(local), "SRS0", rest, (char *)NULL);
	if (n < 0)
		return true;	/* longer still as SRS1: srs_compose says "too long" */
	return addr_set(&prev, local, (size_t)n, domain) == ADDR_OK;
}

/* srs_text_srs1 - the MAC input for a foreign SRS1 "SRS1<sep>h=firsthop=rest": "firsthop=rest" */
static int
srs_text_srs1(const char *local, char *text, size_t size)
{
	const char *hop = strchr(local + SRS_TAG_LEN + 1, '=');
	const char *rest;

	if (hop == NULL)
		return SRS_EMALFORMED1;
	hop++;
	rest = strchr(hop, '=');
	if (rest == NULL || rest == hop || rest[1] == '\0')
		return SRS_EMALFORMED1;
	if (!srs_srs1_reversible(hop, (size_t)(rest - hop), rest + 1))
		return SRS_EMALFORMED1;
	if (srs_cat(text, size, hop, (char *)NULL) < 0)
		return SRS_ETOOLONG;
	return SRS_OK;
}

/* srs_text_forward - the MAC input for the address to rewrite, and whether it makes an SRS1 */
static int
srs_text_forward(const struct addr *in, time_t now, char *text, size_t size, int *kind)
{
	int day = srs_day_mod(now);
	const char ts[] = {srs_ts[day >> 5], srs_ts[day & 31], '=', '\0'};
	int n;

	*kind = srs_kind(in->local);
	if (*kind == 1)
		return srs_text_srs1(in->local, text, size);
	if (*kind == 0)	/* keep the sender's own separator: "hop=" "<sep>rest" */
		n = srs_cat(text, size, in->domain, "=", in->local + SRS_TAG_LEN, (char *)NULL);
	else
		n = srs_cat(text, size, ts, in->domain, "=", in->local, (char *)NULL);
	if (n < 0)
		return SRS_ETOOLONG;
	*kind = *kind == 0 ? 1 : 0;
	return SRS_OK;
}

/* srs_compose - "SRSk<sep>HASH=text" at the SRS domain into out */
static int
srs_compose(const struct srs_params *p, const struct keyring_subkey *key, int kind, const char *text,
    struct addr *out)
{
	char hash[SRS_HASH_FULL + 1];
	char local[ADDR_LOCAL_MAX + 1];
	const char head[] = {'S', 'R', 'S', (char)('0' + kind), p->separator, '\0'};
	size_t len = SRS_TAG_LEN + 1 + p->hash_length + 1 + strlen(text);
	int err;

	if (len > ADDR_LOCAL_MAX)
		return SRS_ETOOLONG;
	srs_hash(key, text, hash);
	hash[p->hash_length] = '\0';
	srs_cat(local, sizeof(local), head, hash, "=", text, (char *)NULL);
	err = addr_set(out, local, len, p->domain);
	if (err == ADDR_EDOMAIN || err == ADDR_EDOMAINLONG)
		return SRS_ECONFIG;
	return err == ADDR_OK ? SRS_OK : SRS_EQUOTED;
}

static bool
srs_params_ok(const struct srs_params *p)
{
	return p != NULL && p->domain != NULL && p->domain[0] != '\0' &&
	    srs_is_sep(p->separator) && p->hash_min >= 1 && p->hash_min <= SRS_HASH_FULL &&
	    (p->n_local_domains == 0 || p->local_domains != NULL);
}

int
srs_forward(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out)
{
	char text[SRS_TEXT_MAX];
	int kind, slot, err;

	if (!srs_params_ok(p) || p->hash_length < 1 || p->hash_length > SRS_HASH_FULL)
		return SRS_ECONFIG;
	if (in->null)
		return SRS_ENULL;
	if (srs_domain_local(p, in->domain))
		return SRS_ELOCAL;
	if (in->quoted || in->domain[0] == '[')
		return SRS_EQUOTED;
	err = srs_text_forward(in, now, text, sizeof(text), &kind);
	if (err != SRS_OK)
		return err;
	slot = kr == NULL ? -1 : keyring_signer(kr, now);
	if (slot < 0)
		return SRS_ENOKEY;
	return srs_compose(p, keyring_srs_subkey(kr, slot), kind, text, out);
}

/* ---- reverse ---- */

/* srs_split0 - "TT=domain=local" */
static int
srs_split0(struct srs_parts *s)
{
	const char *t = s->text, *end;

	if (srs_ts_value(t[0]) < 0 || srs_ts_value(t[1]) < 0 || t[2] != '=')
		return SRS_EMALFORMED0;
	s->ts = t;
	s->host = t + 3;
	end = strchr(s->host, '=');
	if (end == NULL || end == s->host || end[1] == '\0')
		return SRS_EMALFORMED0;
	s->host_len = (size_t)(end - s->host);
	s->rest = end + 1;
	return SRS_OK;
}

/* srs_split1 - "firsthop=rest", rest being what follows "SRS0" at the first hop */
static int
srs_split1(struct srs_parts *s)
{
	const char *end = strchr(s->text, '=');

	if (end == NULL || end == s->text || end[1] == '\0')
		return SRS_EMALFORMED1;
	s->host = s->text;
	s->host_len = (size_t)(end - s->text);
	s->rest = end + 1;
	return SRS_OK;
}

/* srs_split - the fields of "SRSk<sep>hash=text"; ENOTSRS when there is no hash field */
static int
srs_split(const char *local, struct srs_parts *s)
{
	const char *eq;

	memset(s, 0, sizeof(*s));
	s->kind = srs_kind(local);
	if (s->kind < 0)
		return SRS_ENOTSRS;
	s->hash = local + SRS_TAG_LEN + 1;
	eq = strchr(s->hash, '=');
	if (eq == NULL)
		return SRS_ENOTSRS;
	s->hash_len = (size_t)(eq - s->hash);
	s->text = eq + 1;
	return s->kind == 0 ? srs_split0(s) : srs_split1(s);
}

/* srs_hash_min_at - the shortest hash accepted at now. A hash_min under hash_length serves
 * only the addresses of an older, shorter SRSHashLength, so it holds until hash_min_until and
 * never for longer than such an address lives (max_age days, plus the day of the change). */
static size_t
srs_hash_min_at(const struct srs_params *p, time_t now)
{
	time_t left = p->hash_min_until - now;

	if (p->hash_min_until == 0 || p->hash_min >= p->hash_length)
		return p->hash_min;
	if (left > 0 && left <= ((time_t)p->max_age + 1) * CLOCK_DAY)
		return p->hash_min;
	return p->hash_length;
}

/* srs_check_hash - does the hash prefix match the MAC under any key in the ring? */
static int
srs_check_hash(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct srs_parts *s)
{
	char given[SRS_HASH_FULL + 1], want[SRS_HASH_FULL + 1];
	bool match = false;
	int slot;

	if (s->hash_len < srs_hash_min_at(p, now))
		return SRS_ESHORTHASH;
	if (kr == NULL || keyring_count(kr) == 0)
		return SRS_ENOKEY;
	if (s->hash_len > SRS_HASH_FULL)
		return SRS_EBADHASH;
	addr_lowercase(given, s->hash, s->hash_len);
	for (slot = 0; slot < KEYRING_SLOTS; slot++) {
		if (!keyring_has(kr, slot))
			continue;
		srs_hash(keyring_srs_subkey(kr, slot), s->text, want);
		if (keyring_mac_equal(given, want, s->hash_len))
			match = true;
	}
	return match ? SRS_OK : SRS_EBADHASH;
}

static bool
srs_expired(const struct srs_params *p, time_t now, const char *ts)
{
	int stamp = srs_ts_value(ts[0]) * 32 + srs_ts_value(ts[1]);
	int age = (srs_day_mod(now) - stamp + SRS_TS_PERIOD) % SRS_TS_PERIOD;

	return (unsigned)age > p->max_age;
}

int
srs_previous(int kind, const char *host, size_t host_len, const char *rest, struct addr *out)
{
	char local[ADDR_LOCAL_MAX + 1], domain[ADDR_DOMAIN_MAX + 1];
	int n, bad = kind == 0 ? SRS_EMALFORMED0 : SRS_EMALFORMED1;

	if (host_len >= sizeof(domain))
		return bad;
	memcpy(domain, host, host_len);
	domain[host_len] = '\0';
	n = srs_cat(local, sizeof(local), kind == 0 ? "" : "SRS0", rest, (char *)NULL);
	if (n < 0)
		return bad;
	return addr_set(out, local, (size_t)n, domain) == ADDR_OK ? SRS_OK : bad;
}

int
srs_addressed(const char *domain, const struct addr *in)
{
	if (in->null)
		return SRS_ENULL;
	if (strcasecmp(in->domain, domain) != 0)
		return SRS_ENOTOURS;
	return in->quoted ? SRS_ENOTSRS : SRS_OK;
}

int
srs_reverse(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out)
{
	struct srs_parts s;
	int err;

	if (!srs_params_ok(p))
		return SRS_ECONFIG;
	err = srs_addressed(p->domain, in);
	if (err == SRS_OK)
		err = srs_split(in->local, &s);
	if (err == SRS_OK)
		err = srs_check_hash(p, kr, now, &s);
	if (err == SRS_OK && s.kind == 0 && srs_expired(p, now, s.ts))
		err = SRS_EEXPIRED;
	if (err == SRS_OK)
		err = srs_previous(s.kind, s.host, s.host_len, s.rest, out);
	return err;
}

/* ---- codes ---- */

const char *
srs_strerror(int err)
{
	switch (err) {
	case SRS_OK: return "success";
	case SRS_ELOCAL: return "local domain";
	case SRS_ENOTSRS: return "not an SRS address";
	case SRS_ENOTOURS: return "not our SRS domain";
	case SRS_ETOOLONG: return "too long";
	case SRS_EEXPIRED: return "expired";
	case SRS_EBADHASH: return "bad hash";
	case SRS_ESHORTHASH: return "hash too short";
	case SRS_EMALFORMED0: return "malformed SRS0";
	case SRS_EMALFORMED1: return "malformed SRS1";
	case SRS_ENULL: return "null sender";
	case SRS_ENOKEY: return "no signing key";
	case SRS_ECONFIG: return "SRS is not configured";
	case SRS_EQUOTED: return "quoted local part or address literal";
	}
	return "unknown SRS error";
}

enum srs_class
srs_err_class(int err)
{
	switch (err) {
	case SRS_OK:
		return SRS_CLASS_OK;
	case SRS_ELOCAL:
	case SRS_ENOTSRS:
	case SRS_ENOTOURS:
	case SRS_ENULL:
	case SRS_EQUOTED:
		return SRS_CLASS_NOTFOUND;
	case SRS_ENOKEY:
	case SRS_ECONFIG:
		return SRS_CLASS_TEMP;
	}
	return SRS_CLASS_PERM;
}
