/* keyring: immutable snapshots of the key store. A snapshot is filled while unpublished
 * (keyring_new/keyring_add or keyring_load), then only read, so threads share it freely;
 * the reference count is the only thing that changes after publication. */
#include "config.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"

struct keyslot {
	bool present;
	time_t activate;
	unsigned char *secret;	/* sodium_malloc: KEYRING_KEY_BYTES */
	unsigned char *prvs;	/* sodium_malloc: derived sub-keys */
	unsigned char *srs;
};

struct keyring {
	atomic_int refs;
	time_t created;
	struct keyslot slot[KEYRING_SLOTS];
};

struct keyring *
keyring_new(void)
{
	struct keyring *kr;

	if (sodium_init() < 0)
		return NULL;
	kr = calloc(1, sizeof(*kr));
	if (kr == NULL)
		return NULL;
	atomic_init(&kr->refs, 1);
	return kr;
}

static void
keyslot_clear(struct keyslot *ks)
{
	sodium_free(ks->secret);
	sodium_free(ks->prvs);
	sodium_free(ks->srs);
	memset(ks, 0, sizeof(*ks));
}

static unsigned char *
keyslot_derive(const unsigned char *secret, uint64_t id)
{
	unsigned char *sub = sodium_malloc(KEYRING_KEY_BYTES);

	if (sub == NULL)
		return NULL;
	if (crypto_kdf_derive_from_key(sub, KEYRING_KEY_BYTES, id, KEYRING_KDF_CONTEXT,
	    secret) != 0) {
		sodium_free(sub);
		return NULL;
	}
	sodium_mprotect_readonly(sub);
	return sub;
}

int
keyring_add(struct keyring *kr, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate)
{
	struct keyslot *ks;

	if (slot < 0 || slot >= KEYRING_SLOTS)
		return KEYRING_ESLOT;
	ks = &kr->slot[slot];
	keyslot_clear(ks);
	ks->secret = sodium_malloc(KEYRING_KEY_BYTES);
	if (ks->secret == NULL)
		return KEYRING_ENOMEM;
	memcpy(ks->secret, secret, KEYRING_KEY_BYTES);
	ks->prvs = keyslot_derive(ks->secret, KEYRING_KDF_PRVS);
	ks->srs = keyslot_derive(ks->secret, KEYRING_KDF_SRS);
	sodium_mprotect_readonly(ks->secret);
	if (ks->prvs == NULL || ks->srs == NULL) {
		keyslot_clear(ks);
		return KEYRING_ENOMEM;
	}
	ks->present = true;
	ks->activate = activate;
	return KEYRING_OK;
}

struct keyring *
keyring_ref(struct keyring *kr)
{
	if (kr != NULL)
		atomic_fetch_add(&kr->refs, 1);
	return kr;
}

void
keyring_unref(struct keyring *kr)
{
	int i;

	if (kr == NULL || atomic_fetch_sub(&kr->refs, 1) != 1)
		return;
	for (i = 0; i < KEYRING_SLOTS; i++)
		keyslot_clear(&kr->slot[i]);
	free(kr);
}

int
keyring_signer(const struct keyring *kr, time_t now)
{
	int i, best = -1;

	for (i = 0; i < KEYRING_SLOTS; i++) {
		const struct keyslot *ks = &kr->slot[i];

		if (!ks->present || ks->activate > now)
			continue;
		if (best < 0 || ks->activate > kr->slot[best].activate)
			best = i;
	}
	if (best >= 0)
		return best;
	return keyring_count(kr) == 0 ? KEYRING_ENOKEYS : KEYRING_ENOSIGNER;
}

bool
keyring_has(const struct keyring *kr, int slot)
{
	return slot >= 0 && slot < KEYRING_SLOTS && kr->slot[slot].present;
}

time_t
keyring_activate(const struct keyring *kr, int slot)
{
	return keyring_has(kr, slot) ? kr->slot[slot].activate : 0;
}

time_t
keyring_created(const struct keyring *kr)
{
	return kr->created;
}

void
keyring_set_created(struct keyring *kr, time_t created)
{
	kr->created = created;
}

const unsigned char *
keyring_prvs_key(const struct keyring *kr, int slot)
{
	return keyring_has(kr, slot) ? kr->slot[slot].prvs : NULL;
}

const unsigned char *
keyring_srs_key(const struct keyring *kr, int slot)
{
	return keyring_has(kr, slot) ? kr->slot[slot].srs : NULL;
}

int
keyring_count(const struct keyring *kr)
{
	int i, n = 0;

	for (i = 0; i < KEYRING_SLOTS; i++)
		n += kr->slot[i].present;
	return n;
}

const char *
keyring_strerror(int err)
{
	switch (err) {
	case KEYRING_OK: return "success";
	case KEYRING_ENOMEM: return "out of memory";
	case KEYRING_EIO: return "cannot read or write the key store";
	case KEYRING_EPERM: return "unsafe permissions on the key store";
	case KEYRING_ECORRUPT: return "corrupt key file";
	case KEYRING_ENOKEYS: return "no keys in the key store";
	case KEYRING_ESLOT: return "bad key slot (0-9)";
	case KEYRING_EEXIST: return "the slot already holds a different key";
	case KEYRING_ENOSIGNER: return "no key is active yet";
	case KEYRING_ESODIUM: return "libsodium failed to initialise";
	}
	return "unknown key store error";
}

bool
keyring_err_temporary(int err)
{
	return err == KEYRING_ENOMEM || err == KEYRING_EIO || err == KEYRING_ENOSIGNER;
}
