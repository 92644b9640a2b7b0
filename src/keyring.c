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

/* keyring_write_random - a new random key into slot's file, active at activate */
static int
keyring_write_random(const char *dir, int slot, time_t activate, uid_t uid, gid_t gid,
    char *why, size_t whylen)
{
	unsigned char *secret = sodium_malloc(KEYRING_KEY_BYTES);
	int rc;

	if (secret == NULL)
		return keyfile_why(KEYRING_ENOMEM, why, whylen, "out of memory");
	randombytes_buf(secret, KEYRING_KEY_BYTES);
	rc = keyfile_write_key(dir, slot, secret, activate, uid, gid, why, whylen);
	sodium_free(secret);
	return rc;
}

int
keyring_init(
    const char *dir, uid_t user, time_t now, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	struct keyring *kr = NULL;
	int rc;

	rc = keyfile_mkdir(dir, uid, gid, why, whylen);
	if (rc == 0)
		rc = keyring_load(dir, user, &kr, why, whylen);
	if (rc == 0) {
		keyring_unref(kr);
		return keyfile_why(KEYRING_EEXIST, why, whylen,
		    "%s already holds keys: nothing done (backstop-keys rotate makes a new key)",
		    dir);
	}
	if (rc != KEYRING_ENOKEYS)
		return rc;
	rc = keyring_write_random(dir, 0, now, uid, gid, why, whylen);
	if (rc == 0)
		rc = keyfile_write_created(dir, now, uid, gid, why, whylen);
	return rc;
}

static int
keyring_busy_why(const struct keyring *kr, int slot, time_t now, time_t free_at, char *why,
    size_t whylen)
{
	char t1[40], t2[40];

	if (free_at == 0 && keyring_activate(kr, slot) > now)
		return keyfile_why(KEYRING_EBUSY, why, whylen,
		    "slot %d holds a key that is pending (it activates at %s): nothing done; "
		    "rotate again after that", slot,
		    keyring_time_text(keyring_activate(kr, slot), t1, sizeof(t1)));
	if (free_at == 0)
		return keyfile_why(KEYRING_EBUSY, why, whylen,
		    "slot %d holds a key (activation %s) that is not retired: nothing done", slot,
		    keyring_time_text(keyring_activate(kr, slot), t1, sizeof(t1)));
	return keyfile_why(KEYRING_EBUSY, why, whylen,
	    "slot %d holds a key that can verify live tags until %s (retired %s): "
	    "rotate again after that time, then prune", slot,
	    keyring_time_text(free_at, t1, sizeof(t1)),
	    keyring_time_text(keyring_retired(kr, slot), t2, sizeof(t2)));
}

/* t, or one second after the latest activation if t is not later than every key's */
static time_t
keyring_after_all(const struct keyring *kr, time_t t)
{
	int i;

	for (i = 0; i < KEYRING_SLOTS; i++)
		if (kr->slot[i].present && kr->slot[i].activate >= t)
			t = kr->slot[i].activate + 1;
	return t;
}

static int
keyring_rotate_in(const struct keyring *kr, const char *dir, time_t now, time_t *activate,
    time_t window, uid_t uid, gid_t gid, int *slot, char *why, size_t whylen)
{
	time_t free_at;
	int rc;

	rc = keyring_rotate_slot(kr, now, window, &free_at);
	if (rc == KEYRING_ENOSIGNER)
		return keyfile_why(rc, why, whylen,
		    "no key in %s is active yet: wait for the pending key to activate", dir);
	if (rc == KEYRING_EBUSY)
		return keyring_busy_why(kr, (keyring_signer(kr, now) + 1) % KEYRING_SLOTS, now,
		    free_at, why, whylen);
	if (rc < 0)
		return keyfile_why(rc, why, whylen, "%s: %s", dir, keyring_strerror(rc));
	*slot = rc;
	/* two rotations within a second must still order their keys */
	*activate = keyring_after_all(kr, *activate);
	return keyring_write_random(dir, *slot, *activate, uid, gid, why, whylen);
}

int
keyring_rotate(const char *dir, uid_t user, time_t now, time_t *activate, time_t window, uid_t uid,
    gid_t gid, int *slot, char *why, size_t whylen)
{
	struct keyring *kr;
	int rc;

	*slot = -1;
	rc = keyring_load(dir, user, &kr, why, whylen);
	if (rc != 0)
		return rc;
	rc = keyring_rotate_in(kr, dir, now, activate, window, uid, gid, slot, why, whylen);
	keyring_unref(kr);
	return rc;
}

int
keyring_prune(const char *dir, uid_t user, time_t now, time_t window, bool dry_run,
    unsigned *pruned, char *why, size_t whylen)
{
	struct keyring *kr;
	int i, rc;

	*pruned = 0;
	rc = keyring_load(dir, user, &kr, why, whylen);
	if (rc != 0)
		return rc;
	for (i = 0; i < KEYRING_SLOTS && rc == 0; i++) {
		if (keyring_state(kr, i, now, window) != KEYRING_PRUNABLE)
			continue;
		if (!dry_run)
			rc = keyfile_remove(dir, i, why, whylen);
		if (rc == 0)
			*pruned |= 1u << i;
	}
	keyring_unref(kr);
	return rc;
}

/* keyring_pending - a slot whose key activates after now, or -1 */
static int
keyring_pending(const struct keyring *kr, time_t now)
{
	int i;

	for (i = 0; i < KEYRING_SLOTS; i++)
		if (kr->slot[i].present && kr->slot[i].activate > now)
			return i;
	return -1;
}

static int
keyring_revoke_in(const struct keyring *kr, const char *dir, int slot, time_t now,
    time_t window, uid_t uid, gid_t gid, int *new_slot, time_t *activate, char *why,
    size_t whylen)
{
	char t[40];
	int pending, rc;

	if (!keyring_has(kr, slot))
		return keyfile_why(KEYRING_EEMPTY, why, whylen, "%s/%d.key: no key in slot %d",
		    dir, slot, slot);
	if (keyring_signer(kr, now) != slot && keyring_count(kr) == 1)
		return keyfile_why(KEYRING_EBUSY, why, whylen,
		    "slot %d holds the only key (pending until %s): nothing done; revoking it "
		    "would leave no key to sign with", slot,
		    keyring_time_text(keyring_activate(kr, slot), t, sizeof(t)));
	if (keyring_signer(kr, now) == slot) {
		pending = keyring_pending(kr, now);
		if (pending >= 0)
			return keyfile_why(KEYRING_EBUSY, why, whylen,
			    "slot %d signs, and slot %d holds a key pending until %s: a new key "
			    "could only sign after it, and the key before slot %d would sign again "
			    "meanwhile. Nothing done: revoke slot %d first (or wait until it signs), "
			    "then slot %d", slot, pending,
			    keyring_time_text(keyring_activate(kr, pending), t, sizeof(t)), slot,
			    pending, slot);
		*activate = now;
		rc = keyring_rotate_in(kr, dir, now, activate, window, uid, gid, new_slot, why,
		    whylen);
		if (rc != KEYRING_EBUSY)
			return rc != 0 ? rc : keyfile_remove(dir, slot, why, whylen);
		/* the next slot's key is still live: replace the revoked key in its own slot,
		 * in one rename, so that some key signs at every moment */
		*new_slot = slot;
		*activate = keyring_after_all(kr, now);
		return keyring_write_random(dir, slot, *activate, uid, gid, why, whylen);
	}
	return keyfile_remove(dir, slot, why, whylen);
}

int
keyring_revoke(const char *dir, uid_t user, int slot, time_t now, time_t window, uid_t uid,
    gid_t gid, int *new_slot, time_t *activate, char *why, size_t whylen)
{
	struct keyring *kr;
	int rc;

	*new_slot = -1;
	*activate = 0;
	if (slot < 0 || slot >= KEYRING_SLOTS)
		return keyfile_why(KEYRING_ESLOT, why, whylen, "bad slot %d: want 0-9", slot);
	rc = keyring_load(dir, user, &kr, why, whylen);
	if (rc != 0)
		return rc;
	rc = keyring_revoke_in(kr, dir, slot, now, window, uid, gid, new_slot, activate, why,
	    whylen);
	keyring_unref(kr);
	return rc;
}

/* Is slot's file this very key? *present says whether there is one. */
static int
keyring_import_same(const char *dir, uid_t user, int slot, const unsigned char *secret,
    time_t activate, bool *present, bool *same, char *why, size_t whylen)
{
	unsigned char *old = sodium_malloc(KEYRING_KEY_BYTES);
	time_t old_activate = 0;
	int rc;

	*same = false;
	if (old == NULL)
		return keyfile_why(KEYRING_ENOMEM, why, whylen, "out of memory");
	rc = keyfile_read(dir, user, slot, old, &old_activate, present, why, whylen);
	if (rc == 0 && *present)
		*same = sodium_memcmp(old, secret, KEYRING_KEY_BYTES) == 0 &&
		    old_activate == activate;
	sodium_free(old);
	return rc;
}

/* Another slot of dir that holds secret already: *other, or -1. */
static int
keyring_import_dup(const char *dir, uid_t user, int slot, const unsigned char *secret, int *other,
    char *why, size_t whylen)
{
	unsigned char *old = sodium_malloc(KEYRING_KEY_BYTES);
	time_t activate;
	bool present;
	int i, rc = KEYRING_OK;

	*other = -1;
	if (old == NULL)
		return keyfile_why(KEYRING_ENOMEM, why, whylen, "out of memory");
	for (i = 0; i < KEYRING_SLOTS && rc == 0 && *other < 0; i++) {
		if (i == slot)
			continue;
		rc = keyfile_read(dir, user, i, old, &activate, &present, why, whylen);
		if (rc == 0 && present && sodium_memcmp(old, secret, KEYRING_KEY_BYTES) == 0)
			*other = i;
	}
	sodium_free(old);
	return rc;
}

int
keyring_import(const char *dir, uid_t user, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate, bool force, time_t now, uid_t uid, gid_t gid, bool *changed, char *why,
    size_t whylen)
{
	time_t created;
	bool present, same;
	int other, rc;

	*changed = false;
	if (slot < 0 || slot >= KEYRING_SLOTS)
		return keyfile_why(KEYRING_ESLOT, why, whylen, "bad slot %d (0-9)", slot);
	rc = keyfile_mkdir(dir, uid, gid, why, whylen);
	if (rc == 0)
		rc = keyfile_check_dir(dir, user, why, whylen);
	if (rc == 0)
		rc = keyring_import_same(
		    dir, user, slot, secret, activate, &present, &same, why, whylen);
	if (rc != 0 || same)
		return rc;
	rc = keyring_import_dup(dir, user, slot, secret, &other, why, whylen);
	if (rc != 0)
		return rc;
	if (other >= 0)
		return keyfile_why(KEYRING_EEXIST, why, whylen,
		    "%s/%d.key holds this key already: nothing done, and --force does not change "
		    "that (one key in two slots confuses list and rotation); a key keeps its slot "
		    "on every host: import it as slot %d", dir, other, other);
	if (present && !force)
		return keyfile_why(KEYRING_EEXIST, why, whylen,
		    "%s/%d.key holds a different key: nothing done (import into another slot, "
		    "prune it when it is prunable, or use --force)", dir, slot);
	rc = keyfile_write_key(dir, slot, secret, activate, uid, gid, why, whylen);
	if (rc == 0)
		rc = keyfile_read_created(dir, user, &created, why, whylen);
	if (rc == 0 && created == 0)
		rc = keyfile_write_created(dir, now, uid, gid, why, whylen);
	*changed = rc == 0;
	return rc;
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
