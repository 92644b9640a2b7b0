/* test-keyverify: the keyring's MAC verification, the one place where tags are compared.
 * The expected MACs are computed here from the KDF and HMAC directly, not with the keyring;
 * each row flips one bit of a good MAC, changes its length or asks the wrong slot. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "keyring.h"
#include "tap.h"

#define MSG "1234foo@example.com"

static unsigned char secret0[KEYRING_KEY_BYTES], secret3[KEYRING_KEY_BYTES];

/* The MAC keyring_*_verify must accept: HMAC-SHA-256 under the derived sub-key. */
static void
expected_mac(const unsigned char *secret, uint64_t id, unsigned char out[KEYRING_MAC_BYTES])
{
	unsigned char sub[KEYRING_KEY_BYTES];

	if (crypto_kdf_derive_from_key(sub, sizeof(sub), id, KEYRING_KDF_CONTEXT, secret) != 0)
		bail_out("crypto_kdf_derive_from_key");
	crypto_auth_hmacsha256(out, (const unsigned char *)MSG, strlen(MSG), sub);
	sodium_memzero(sub, sizeof(sub));
}

typedef int (*verify_fn)(const struct keyring *, int, const void *, size_t,
    const unsigned char *, size_t);

struct row {
	const char *name;
	int slot;
	size_t maclen;
	int flip_byte;	/* -1: none; else the byte whose bit flip_bit is flipped */
	int flip_bit;
	int want;
};

/* Position classes: the first byte, one in the middle, the last one compared (a truncated
 * MAC's last byte, as prvs's 3 bytes), the last of a full MAC; low and high bits. */
static const struct row rows[] = {
	{ "good full MAC", 0, 32, -1, 0, KEYRING_OK },
	{ "good 3-byte prefix (prvs)", 0, 3, -1, 0, KEYRING_OK },
	{ "good 1-byte prefix", 0, 1, -1, 0, KEYRING_OK },
	{ "good MAC in slot 3", 3, 32, -1, 0, KEYRING_OK },
	{ "first byte, low bit", 0, 32, 0, 0, KEYRING_EBADMAC },
	{ "first byte, high bit", 0, 32, 0, 7, KEYRING_EBADMAC },
	{ "middle byte", 0, 32, 16, 3, KEYRING_EBADMAC },
	{ "last byte of a full MAC", 0, 32, 31, 7, KEYRING_EBADMAC },
	{ "last byte of a 3-byte prefix", 0, 3, 2, 0, KEYRING_EBADMAC },
	{ "first byte of a 3-byte prefix", 0, 3, 0, 7, KEYRING_EBADMAC },
	{ "only byte of a 1-byte prefix", 0, 1, 0, 4, KEYRING_EBADMAC },
	{ "length 0", 0, 0, -1, 0, KEYRING_EMACLEN },
	{ "length 33", 0, 33, -1, 0, KEYRING_EMACLEN },
	{ "length far too long", 0, 1000, -1, 0, KEYRING_EMACLEN },
	{ "empty slot", 1, 32, -1, 0, KEYRING_EEMPTY },
	{ "slot -1", -1, 32, -1, 0, KEYRING_ESLOT },
	{ "slot 10", 10, 32, -1, 0, KEYRING_ESLOT },
};

static void
run_rows(const struct keyring *kr, const char *what, verify_fn verify, uint64_t id)
{
	unsigned char mac[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		memset(mac, 0, sizeof(mac));
		expected_mac(r->slot == 3 ? secret3 : secret0, id, mac);
		if (r->flip_byte >= 0)
			mac[r->flip_byte] ^= (unsigned char)(1u << r->flip_bit);
		is_int(verify(kr, r->slot, MSG, strlen(MSG), mac, r->maclen), r->want, "%s: %s",
		    what, r->name);
	}
}

static void
test_wrong_key(const struct keyring *kr)
{
	unsigned char mac[KEYRING_MAC_BYTES];

	expected_mac(secret0, KEYRING_KDF_PRVS, mac);
	is_int(keyring_prvs_verify(kr, 3, MSG, strlen(MSG), mac, sizeof(mac)), KEYRING_EBADMAC,
	    "slot 0's MAC asked of slot 3");
	is_int(keyring_srs_verify(kr, 0, MSG, strlen(MSG), mac, sizeof(mac)), KEYRING_EBADMAC,
	    "a prvs MAC asked of the SRS sub-key");
	is_int(keyring_prvs_verify(kr, 0, "1234foo@example.net", 19, mac, sizeof(mac)),
	    KEYRING_EBADMAC, "another message");
	is_int(keyring_prvs_verify(NULL, 0, MSG, strlen(MSG), mac, sizeof(mac)), KEYRING_ENOKEYS,
	    "no keyring");
}

static void
test_equal(void)
{
	ok(keyring_mac_equal("abcdef", "abcdef", 6), "equal texts");
	ok(!keyring_mac_equal("abcdef", "abcdeg", 6), "last character differs");
	ok(!keyring_mac_equal("bbcdef", "abcdef", 6), "first character differs");
	ok(keyring_mac_equal("abcdef", "abcxyz", 3), "equal prefixes of the given length");
}

int
main(void)
{
	struct keyring *kr;

	if (sodium_init() < 0)
		bail_out("sodium_init failed");
	memset(secret0, 0x5a, sizeof(secret0));
	memset(secret3, 0xc3, sizeof(secret3));
	kr = keyring_new();
	if (kr == NULL || keyring_add(kr, 0, secret0, 100) != 0 ||
	    keyring_add(kr, 3, secret3, 200) != 0)
		bail_out("keyring setup");
	run_rows(kr, "prvs", keyring_prvs_verify, KEYRING_KDF_PRVS);
	run_rows(kr, "srs", keyring_srs_verify, KEYRING_KDF_SRS);
	test_wrong_key(kr);
	test_equal();
	keyring_unref(kr);
	return done_testing();
}
