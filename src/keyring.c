/* keyring: immutable snapshots of the key store. A snapshot is filled while unpublished
 * (keyring_new/keyring_add or keyring_load), then only read, so threads share it freely;
 * the reference count is the only thing that changes after publication. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "keyfile.h"
#include "keyring.h"

/* keyfile's codes pass through keyring_load unchanged (ENODIR reads as ENOKEYS). */
_Static_assert(KEYFILE_SLOTS == KEYRING_SLOTS && KEYFILE_KEY_BYTES == KEYRING_KEY_BYTES &&
    KEYFILE_NO_USER == KEYRING_NO_USER, "keyfile and keyring sizes");
_Static_assert((int)KEYFILE_ENOMEM == (int)KEYRING_ENOMEM &&
    (int)KEYFILE_EIO == (int)KEYRING_EIO && (int)KEYFILE_EPERM == (int)KEYRING_EPERM &&
    (int)KEYFILE_ECORRUPT == (int)KEYRING_ECORRUPT &&
    (int)KEYFILE_ENODIR == (int)KEYRING_ENOKEYS && (int)KEYFILE_ESLOT == (int)KEYRING_ESLOT,
    "keyfile codes");

struct keyslot {
	bool present;
	time_t activate;
	unsigned char *secret;	/* sodium_malloc: KEYRING_KEY_BYTES */
	unsigned char *prvs;	/* sodium_malloc: derived sub-keys */
	unsigned char *srs;
	struct keyring_subkey *prvs_mac;	/* sodium_malloc: HMAC states keyed with them */
	struct keyring_subkey *srs_mac;
};

/* An HMAC-SHA-256 state already keyed with a sub-key: each MAC copies it instead of
 * hashing the key's two pads again, which halves the work for the short inputs of tags. */
struct keyring_subkey {
	crypto_auth_hmacsha256_state st;
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
	sodium_free(ks->prvs_mac);
	sodium_free(ks->srs_mac);
	memset(ks, 0, sizeof(*ks));
}

static struct keyring_subkey *
keyslot_mac_state(const unsigned char *subkey)
{
	struct keyring_subkey *k = sodium_malloc(sizeof(*k));

	if (k == NULL)
		return NULL;
	if (crypto_auth_hmacsha256_init(&k->st, subkey, KEYRING_KEY_BYTES) != 0) {
		sodium_free(k);
		return NULL;
	}
	sodium_mprotect_readonly(k);
	return k;
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
	if (ks->prvs != NULL && ks->srs != NULL) {
		ks->prvs_mac = keyslot_mac_state(ks->prvs);
		ks->srs_mac = keyslot_mac_state(ks->srs);
	}
	if (ks->prvs_mac == NULL || ks->srs_mac == NULL) {
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

const struct keyring_subkey *
keyring_prvs_subkey(const struct keyring *kr, int slot)
{
	return keyring_has(kr, slot) ? kr->slot[slot].prvs_mac : NULL;
}

const struct keyring_subkey *
keyring_srs_subkey(const struct keyring *kr, int slot)
{
	return keyring_has(kr, slot) ? kr->slot[slot].srs_mac : NULL;
}

void
keyring_hmac(const struct keyring_subkey *k, const void *msg, size_t len,
    unsigned char out[KEYRING_MAC_BYTES])
{
	crypto_auth_hmacsha256_state st;

	memcpy(&st, &k->st, sizeof(st));
	crypto_auth_hmacsha256_update(&st, msg, (unsigned long long)len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

bool
keyring_mac_equal(const void *given, const void *want, size_t len)
{
	return sodium_memcmp(given, want, len) == 0;
}

static int
keyring_verify(const struct keyring *kr, int slot, bool srs, const void *msg, size_t len,
    const unsigned char *mac, size_t maclen)
{
	unsigned char want[KEYRING_MAC_BYTES];
	bool match;

	if (kr == NULL)
		return KEYRING_ENOKEYS;
	if (slot < 0 || slot >= KEYRING_SLOTS)
		return KEYRING_ESLOT;
	if (!kr->slot[slot].present)
		return KEYRING_EEMPTY;
	if (maclen == 0 || maclen > KEYRING_MAC_BYTES)
		return KEYRING_EMACLEN;
	keyring_hmac(srs ? kr->slot[slot].srs_mac : kr->slot[slot].prvs_mac, msg, len, want);
	match = keyring_mac_equal(mac, want, maclen);
	sodium_memzero(want, sizeof(want));
	return match ? KEYRING_OK : KEYRING_EBADMAC;
}

int
keyring_prvs_verify(const struct keyring *kr, int slot, const void *msg, size_t len,
    const unsigned char *mac, size_t maclen)
{
	return keyring_verify(kr, slot, false, msg, len, mac, maclen);
}

int
keyring_srs_verify(const struct keyring *kr, int slot, const void *msg, size_t len,
    const unsigned char *mac, size_t maclen)
{
	return keyring_verify(kr, slot, true, msg, len, mac, maclen);
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
keyring_time_text(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
	return buf;
}

static int
keyring_load_slots(struct keyring *kr, const char *dir, uid_t user, unsigned char *secret,
    char *why, size_t whylen)
{
	time_t activate;
	bool present;
	int i, rc;

	for (i = 0; i < KEYRING_SLOTS; i++) {
		rc = keyfile_read(dir, user, i, secret, &activate, &present, why, whylen);
		if (rc != 0)
			return rc;
		if (present)
			rc = keyring_add(kr, i, secret, activate);
		sodium_memzero(secret, KEYRING_KEY_BYTES);
		if (rc != 0)
			return keyfile_why(rc, why, whylen, "%s/%d.key: %s", dir, i,
			    keyring_strerror(rc));
	}
	return KEYRING_OK;
}

int
keyring_load(const char *dir, uid_t user, struct keyring **out, char *why, size_t whylen)
{
	unsigned char *secret = NULL;
	struct keyring *kr = NULL;
	time_t created;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return keyfile_why(KEYRING_ESODIUM, why, whylen, "libsodium failed to initialise");
	rc = keyfile_check_dir(dir, user, why, whylen);
	if (rc != 0)
		return rc;
	kr = keyring_new();
	secret = sodium_malloc(KEYRING_KEY_BYTES);
	if (kr == NULL || secret == NULL) {
		rc = keyfile_why(KEYRING_ENOMEM, why, whylen, "out of memory loading %s", dir);
		goto fail;
	}
	rc = keyring_load_slots(kr, dir, user, secret, why, whylen);
	if (rc == 0)
		rc = keyfile_read_created(dir, user, &created, why, whylen);
	if (rc != 0)
		goto fail;
	if (keyring_count(kr) == 0) {
		rc = keyfile_why(KEYRING_ENOKEYS, why, whylen,
		    "no keys in %s: run backstop-keys init", dir);
		goto fail;
	}
	keyring_set_created(kr, created);
	sodium_free(secret);
	*out = kr;
	return KEYRING_OK;
fail:
	sodium_free(secret);
	keyring_unref(kr);
	return rc;
}

/* keyring_load_check - the check keyring_load_as runs as the daemons' user */
static int
keyring_load_check(const void *arg, char *why, size_t whylen)
{
	struct keyring *kr;
	int rc = keyring_load(arg, geteuid(), &kr, why, whylen);

	if (rc == KEYRING_OK)
		keyring_unref(kr);
	return rc;
}

int
keyring_load_as(const char *dir, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	return daemon_check_as(uid, gid, keyring_load_check, dir, KEYRING_EIO, why,
	    whylen);
}

time_t
keyring_window(unsigned tag_validity, unsigned srs_max_age)
{
	unsigned days = tag_validity > srs_max_age ? tag_validity : srs_max_age;

	return ((time_t)days + 1) * CLOCK_DAY;
}

time_t
keyring_retired(const struct keyring *kr, int slot)
{
	time_t a, best = 0;
	int i;

	if (!keyring_has(kr, slot))
		return 0;
	a = kr->slot[slot].activate;
	for (i = 0; i < KEYRING_SLOTS; i++) {
		const struct keyslot *ks = &kr->slot[i];

		if (ks->present && ks->activate > a && (best == 0 || ks->activate < best))
			best = ks->activate;
	}
	return best;
}

enum keyring_state
keyring_state(const struct keyring *kr, int slot, time_t now, time_t window)
{
	time_t retired;

	if (!keyring_has(kr, slot))
		return KEYRING_EMPTY;
	if (kr->slot[slot].activate > now)
		return KEYRING_PENDING;
	if (keyring_signer(kr, now) == slot)
		return KEYRING_SIGNING;
	retired = keyring_retired(kr, slot);
	/* a tag signed just before retirement lives until the end of its last valid day,
	 * which window (one day more than the longest validity) covers */
	if (retired != 0 && retired <= now && now - retired >= window)
		return KEYRING_PRUNABLE;
	return KEYRING_VERIFYING;
}

const char *
keyring_state_name(enum keyring_state st)
{
	switch (st) {
	case KEYRING_EMPTY: return "empty";
	case KEYRING_PENDING: return "pending";
	case KEYRING_SIGNING: return "signing";
	case KEYRING_VERIFYING: return "verifying";
	case KEYRING_PRUNABLE: return "prunable";
	}
	return "unknown";
}

int
keyring_rotate_slot(const struct keyring *kr, time_t now, time_t window, time_t *free_at)
{
	int signer = keyring_signer(kr, now), next;
	time_t retired;

	*free_at = 0;
	if (signer < 0)
		return signer;
	next = (signer + 1) % KEYRING_SLOTS;
	switch (keyring_state(kr, next, now, window)) {
	case KEYRING_EMPTY:
	case KEYRING_PRUNABLE:
		return next;
	default:
		break;
	}
	retired = keyring_retired(kr, next);
	*free_at = retired != 0 ? retired + window : 0;
	return KEYRING_EBUSY;
}

struct keyring_holder {
	pthread_mutex_t lock;
	struct keyring *kr;
};

struct keyring_holder *
keyring_holder_new(struct keyring *kr)
{
	struct keyring_holder *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->kr = kr;
	return h;
}

struct keyring *
keyring_holder_get(struct keyring_holder *h)
{
	struct keyring *kr;

	pthread_mutex_lock(&h->lock);
	kr = keyring_ref(h->kr);
	pthread_mutex_unlock(&h->lock);
	return kr;
}

void
keyring_holder_swap(struct keyring_holder *h, struct keyring *kr)
{
	struct keyring *old;

	pthread_mutex_lock(&h->lock);
	old = h->kr;
	h->kr = kr;
	pthread_mutex_unlock(&h->lock);
	keyring_unref(old);
}

int
keyring_holder_reload(
    struct keyring_holder *h, uid_t user, const char *dir, char *why, size_t whylen)
{
	struct keyring *kr;
	int rc;

	rc = keyring_load(dir, user, &kr, why, whylen);
	if (rc == 0)
		keyring_holder_swap(h, kr);
	return rc;
}

void
keyring_holder_free(struct keyring_holder *h)
{
	if (h == NULL)
		return;
	keyring_unref(h->kr);
	pthread_mutex_destroy(&h->lock);
	free(h);
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
	case KEYRING_EBUSY: return "the slot's key can still verify live tags";
	case KEYRING_EEMPTY: return "the slot holds no key";
	case KEYRING_EBADMAC: return "the MAC does not match";
	case KEYRING_EMACLEN: return "bad MAC length (1-32 bytes)";
	}
	return "unknown key store error";
}

bool
keyring_err_temporary(int err)
{
	return err == KEYRING_ENOMEM || err == KEYRING_EIO || err == KEYRING_ENOSIGNER;
}
