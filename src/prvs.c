/* prvs: BATV tags prvs=KDDDSSSSSS=local@domain as README.md "Tag formats" describes them.
 * The MAC covers "K" "DDD" and the lowercased untagged address; verify parses the tag
 * case-insensitively and compares MACs in constant time. Nothing here allocates. */
#include "config.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "prvs.h"

#define PRVS_MAC_BYTES 3
#define PRVS_PREFIX "prvs="
#define PRVS_PREFIX_LEN 5
/* "K" "DDD" local "@" domain */
#define PRVS_MAC_INPUT_MAX (4 + ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

/* a parsed tag: slot, expiry day text, MAC hex, and where the untagged local part starts */
struct prvs_tag {
	int slot;
	unsigned ddd;
	const char *kddd;	/* the 4 characters K DDD, as written */
	const char *hex;	/* the 6 MAC characters, as written */
	struct addr plain;	/* the untagged address */
};

static bool
prvs_has_prefix(const char *local)
{
	return strncasecmp(local, PRVS_PREFIX, PRVS_PREFIX_LEN) == 0;
}

/* prvs_is_srs - SRS0/SRS1 and a separator; kept here so prvs does not depend on srs */
static bool
prvs_is_srs(const char *local)
{
	return (strncasecmp(local, "SRS0", 4) == 0 || strncasecmp(local, "SRS1", 4) == 0) &&
	    local[4] != '\0' && strchr("=+-", local[4]) != NULL;
}

/* prvs_mac_input - kddd and local@domain lowercased into in; its length, or -1 */
static int
prvs_mac_input(
    const char *kddd, const struct addr *plain, unsigned char in[PRVS_MAC_INPUT_MAX + 1])
{
	int n;

	n = snprintf((char *)in, PRVS_MAC_INPUT_MAX + 1, "%.4s%s@%s", kddd, plain->local,
	    plain->domain);
	if (n < 0 || (size_t)n >= PRVS_MAC_INPUT_MAX + 1)
		return -1;
	addr_lowercase((char *)in, (char *)in, (size_t)n);
	return n;
}

/* prvs_mac - the first 3 bytes of the tag's HMAC, over kddd and local@domain lowercased */
static int
prvs_mac(const struct keyring_subkey *key, const char *kddd, const struct addr *plain,
    unsigned char mac[PRVS_MAC_BYTES])
{
	unsigned char in[PRVS_MAC_INPUT_MAX + 1];
	unsigned char full[crypto_auth_hmacsha256_BYTES];
	int n = prvs_mac_input(kddd, plain, in);

	if (n < 0)
		return -1;
	keyring_hmac(key, in, (size_t)n, full);
	memcpy(mac, full, PRVS_MAC_BYTES);
	sodium_memzero(full, sizeof(full));
	sodium_memzero(in, sizeof(in));
	return 0;
}

int
prvs_sign(const struct keyring *kr, const struct addr *a, time_t now, unsigned validity,
    struct addr *out)
{
	unsigned char mac[PRVS_MAC_BYTES];
	char kddd[5], hex[2 * PRVS_MAC_BYTES + 1], local[PRVS_TAG_LEN + ADDR_LOCAL_MAX + 1];
	const struct keyring_subkey *key;
	long day = clock_day(now), ddd;
	int slot, err;

	if (a->null)
		return PRVS_ENULL;
	if (a->quoted)
		return PRVS_EQUOTED;
	if (prvs_has_prefix(a->local) || prvs_is_srs(a->local))
		return PRVS_ETAGGED;
	if (strlen(a->local) + PRVS_TAG_LEN > ADDR_LOCAL_MAX)
		return PRVS_ETOOLONG;
	slot = kr == NULL ? -1 : keyring_signer(kr, now);
	key = slot < 0 ? NULL : keyring_prvs_subkey(kr, slot);
	if (key == NULL)
		return PRVS_ENOKEY;
	ddd = ((day + (long)(validity % 1000)) % 1000 + 1000) % 1000;
	kddd[0] = (char)('0' + slot % 10);
	kddd[1] = (char)('0' + ddd / 100);
	kddd[2] = (char)('0' + ddd / 10 % 10);
	kddd[3] = (char)('0' + ddd % 10);
	kddd[4] = '\0';
	if (prvs_mac(key, kddd, a, mac) != 0)
		return PRVS_ETOOLONG;
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	snprintf(local, sizeof(local), PRVS_PREFIX "%s%s=%s", kddd, hex, a->local);
	err = addr_set(out, local, strlen(local), a->domain);
	sodium_memzero(hex, sizeof(hex));
	return err == ADDR_OK ? PRVS_OK : PRVS_ETOOLONG;
}

static bool
prvs_all(const char *s, size_t n, int (*pred)(int))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return false;
	return true;
}

static int
prvs_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
prvs_isxdigit(int c)
{
	return prvs_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* prvs_parse - split a well-shaped tag; false if a's local part does not have the shape */
static bool
prvs_parse(const struct addr *a, struct prvs_tag *t)
{
	const char *l = a->local;
	size_t n = strlen(l);

	if (a->null || n <= PRVS_TAG_LEN || !prvs_has_prefix(l))
		return false;
	if (!prvs_all(l + 5, 4, prvs_isdigit) || !prvs_all(l + 9, 6, prvs_isxdigit) ||
	    l[15] != '=')
		return false;
	if (addr_set(&t->plain, l + PRVS_TAG_LEN, n - PRVS_TAG_LEN, a->domain) != ADDR_OK)
		return false;
	t->slot = l[5] - '0';
	t->ddd = (unsigned)((l[6] - '0') * 100 + (l[7] - '0') * 10 + (l[8] - '0'));
	t->kddd = l + 5;
	t->hex = l + 9;
	return true;
}

/* prvs_mac_ok - does the tag's MAC match? The keyring compares, in constant time. */
static bool
prvs_mac_ok(const struct keyring *kr, const struct prvs_tag *t)
{
	unsigned char in[PRVS_MAC_INPUT_MAX + 1], got[PRVS_MAC_BYTES];
	size_t len = 0;
	bool match;
	int n;

	if (sodium_hex2bin(got, sizeof(got), t->hex, 2 * PRVS_MAC_BYTES, NULL, &len,
	    NULL) != 0 || len != sizeof(got))
		return false;
	n = prvs_mac_input(t->kddd, &t->plain, in);
	match = n >= 0 && keyring_prvs_verify(kr, t->slot, in, (size_t)n, got, sizeof(got)) ==
	    KEYRING_OK;
	sodium_memzero(in, sizeof(in));
	sodium_memzero(got, sizeof(got));
	return match;
}

enum prvs_verdict
prvs_verify(const struct keyring *kr, const struct addr *a, time_t now, unsigned validity,
    struct addr *orig)
{
	struct prvs_tag t;
	long today = clock_day(now) % 1000, diff;

	if (a->null || !prvs_has_prefix(a->local))
		return PRVS_UNTAGGED;
	if (!prvs_parse(a, &t))
		return PRVS_MALFORMED;
	if (kr == NULL || !keyring_has(kr, t.slot))
		return PRVS_UNKNOWN_KEY;
	if (!prvs_mac_ok(kr, &t))
		return PRVS_BADMAC;
	diff = (((long)t.ddd - today) % 1000 + 1000) % 1000;
	if (diff > (long)validity)
		return PRVS_EXPIRED;
	if (orig != NULL)
		*orig = t.plain;
	return PRVS_VALID;
}

int
prvs_strip(const struct addr *a, struct addr *out)
{
	struct prvs_tag t;

	if (!prvs_parse(a, &t))
		return PRVS_ENOTAG;
	*out = t.plain;
	return PRVS_OK;
}

const char *
prvs_verdict_name(enum prvs_verdict v)
{
	switch (v) {
	case PRVS_VALID: return "valid";
	case PRVS_UNTAGGED: return "untagged";
	case PRVS_MALFORMED: return "malformed";
	case PRVS_UNKNOWN_KEY: return "unknown-key";
	case PRVS_BADMAC: return "badmac";
	case PRVS_EXPIRED: return "expired";
	}
	return "unknown";
}

const char *
prvs_strerror(int err)
{
	switch (err) {
	case PRVS_OK: return "success";
	case PRVS_ETOOLONG: return "tagged local part would pass 64 octets";
	case PRVS_ETAGGED: return "address already carries a prvs or SRS tag";
	case PRVS_EQUOTED: return "quoted local parts are not signed";
	case PRVS_ENULL: return "the null path has nothing to sign";
	case PRVS_ENOKEY: return "no signing key at this time";
	case PRVS_ENOTAG: return "no prvs tag to strip";
	}
	return "unknown prvs error";
}
