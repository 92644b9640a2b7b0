/* keystore: operations that change the key store's files. Each loads the store afresh (the
 * directory is the truth, not a snapshot), decides with the keyring's pure functions, and
 * writes through keyfile's atomic writes; a failure's message names the file and the state. */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "keyring.h"
#include "keystore.h"

struct keystore {
	char *dir;
	struct keystore_options o;
	char why[512];
};

struct keystore *
keystore_open(const char *dir, const struct keystore_options *o)
{
	struct keystore *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	ks->dir = strdup(dir);
	if (ks->dir == NULL) {
		free(ks);
		return NULL;
	}
	ks->o = *o;
	return ks;
}

void
keystore_close(struct keystore *ks)
{
	if (ks == NULL)
		return;
	free(ks->dir);
	free(ks);
}

const char *
keystore_why(const struct keystore *ks)
{
	return ks->why;
}

static int
keystore_load(struct keystore *ks, struct keyring **kr)
{
	return keyring_load(ks->dir, ks->o.user, kr, ks->why, sizeof(ks->why));
}

/* keystore_write_random - a new random key into slot's file, active at activate */
static int
keystore_write_random(struct keystore *ks, int slot, time_t activate)
{
	unsigned char *secret = sodium_malloc(KEYRING_KEY_BYTES);
	int rc;

	if (secret == NULL)
		return keyfile_why(KEYRING_ENOMEM, ks->why, sizeof(ks->why), "out of memory");
	randombytes_buf(secret, KEYRING_KEY_BYTES);
	rc = keyfile_write_key(ks->dir, slot, secret, activate, ks->o.uid, ks->o.gid, ks->why,
	    sizeof(ks->why));
	sodium_free(secret);
	return rc;
}

int
keystore_init(struct keystore *ks)
{
	struct keyring *kr = NULL;
	int rc;

	ks->why[0] = '\0';
	rc = keyfile_mkdir(ks->dir, ks->o.uid, ks->o.gid, ks->why, sizeof(ks->why));
	if (rc == 0)
		rc = keystore_load(ks, &kr);
	if (rc == 0) {
		keyring_unref(kr);
		return keyfile_why(KEYRING_EEXIST, ks->why, sizeof(ks->why),
		    "%s already holds keys: nothing done", ks->dir);
	}
	if (rc != KEYRING_ENOKEYS)
		return rc;
	rc = keystore_write_random(ks, 0, ks->o.now);
	if (rc == 0)
		rc = keyfile_write_created(ks->dir, ks->o.now, ks->o.uid, ks->o.gid, ks->why,
		    sizeof(ks->why));
	return rc;
}

static int
keystore_busy_why(struct keystore *ks, const struct keyring *kr, int slot, time_t free_at)
{
	char t1[40], t2[40];
	time_t a = keyring_activate(kr, slot);

	if (free_at == 0 && a > ks->o.now)
		return keyfile_why(KEYRING_EBUSY, ks->why, sizeof(ks->why),
		    "slot %d holds a key that is pending (it activates at %s): nothing done; "
		    "rotate again after that", slot, keyring_time_text(a, t1, sizeof(t1)));
	if (free_at == 0)
		return keyfile_why(KEYRING_EBUSY, ks->why, sizeof(ks->why),
		    "slot %d holds a key (activation %s) that is not retired: nothing done", slot,
		    keyring_time_text(a, t1, sizeof(t1)));
	return keyfile_why(KEYRING_EBUSY, ks->why, sizeof(ks->why),
	    "slot %d holds a key that can verify live tags until %s (retired %s): "
	    "rotate again after that time, then prune", slot,
	    keyring_time_text(free_at, t1, sizeof(t1)),
	    keyring_time_text(keyring_retired(kr, slot), t2, sizeof(t2)));
}

/* t, or one second after the latest activation if t is not later than every key's */
static time_t
keystore_after_all(const struct keyring *kr, time_t t)
{
	int i;

	for (i = 0; i < KEYRING_SLOTS; i++)
		if (keyring_has(kr, i) && keyring_activate(kr, i) >= t)
			t = keyring_activate(kr, i) + 1;
	return t;
}

static int
keystore_rotate_in(struct keystore *ks, const struct keyring *kr, time_t *activate, int *slot)
{
	time_t now = ks->o.now, free_at;
	int rc;

	rc = keyring_rotate_slot(kr, now, ks->o.window, &free_at);
	if (rc == KEYRING_ENOSIGNER)
		return keyfile_why(rc, ks->why, sizeof(ks->why),
		    "no key in %s is active yet: wait for the pending key to activate", ks->dir);
	if (rc == KEYRING_EBUSY)
		return keystore_busy_why(ks, kr, (keyring_signer(kr, now) + 1) % KEYRING_SLOTS,
		    free_at);
	if (rc < 0)
		return keyfile_why(rc, ks->why, sizeof(ks->why), "%s: %s", ks->dir,
		    keyring_strerror(rc));
	*slot = rc;
	/* two rotations within a second must still order their keys */
	*activate = keystore_after_all(kr, *activate);
	return keystore_write_random(ks, *slot, *activate);
}

int
keystore_rotate(struct keystore *ks, time_t *activate, int *slot)
{
	struct keyring *kr;
	int rc;

	ks->why[0] = '\0';
	*slot = -1;
	rc = keystore_load(ks, &kr);
	if (rc != 0)
		return rc;
	rc = keystore_rotate_in(ks, kr, activate, slot);
	keyring_unref(kr);
	return rc;
}

int
keystore_prune(struct keystore *ks, bool dry_run, unsigned *pruned)
{
	struct keyring *kr;
	int i, rc;

	ks->why[0] = '\0';
	*pruned = 0;
	rc = keystore_load(ks, &kr);
	if (rc != 0)
		return rc;
	for (i = 0; i < KEYRING_SLOTS && rc == 0; i++) {
		if (keyring_state(kr, i, ks->o.now, ks->o.window) != KEYRING_PRUNABLE)
			continue;
		if (!dry_run)
			rc = keyfile_remove(ks->dir, i, ks->why, sizeof(ks->why));
		if (rc == 0)
			*pruned |= 1u << i;
	}
	keyring_unref(kr);
	return rc;
}

/* keystore_pending - a slot whose key activates after now, or -1 */
static int
keystore_pending(const struct keyring *kr, time_t now)
{
	int i;

	for (i = 0; i < KEYRING_SLOTS; i++)
		if (keyring_has(kr, i) && keyring_activate(kr, i) > now)
			return i;
	return -1;
}

/* Revoking the signing key: a successor signs from now, then the key goes. */
static int
keystore_revoke_signer(struct keystore *ks, const struct keyring *kr, int slot, int *new_slot,
    time_t *activate)
{
	int pending = keystore_pending(kr, ks->o.now), rc;
	char t[40];

	if (pending >= 0)
		return keyfile_why(KEYRING_EBUSY, ks->why, sizeof(ks->why),
		    "slot %d signs, and slot %d holds a key pending until %s: a new key "
		    "could only sign after it, and the key before slot %d would sign again "
		    "meanwhile. Nothing done: revoke slot %d first (or wait until it signs), "
		    "then slot %d", slot, pending,
		    keyring_time_text(keyring_activate(kr, pending), t, sizeof(t)), slot,
		    pending, slot);
	*activate = ks->o.now;
	rc = keystore_rotate_in(ks, kr, activate, new_slot);
	if (rc != KEYRING_EBUSY)
		return rc != 0 ? rc : keyfile_remove(ks->dir, slot, ks->why, sizeof(ks->why));
	/* the next slot's key is still live: replace the revoked key in its own slot,
	 * in one rename, so that some key signs at every moment */
	ks->why[0] = '\0';
	*new_slot = slot;
	*activate = keystore_after_all(kr, ks->o.now);
	return keystore_write_random(ks, slot, *activate);
}

static int
keystore_revoke_in(struct keystore *ks, const struct keyring *kr, int slot, int *new_slot,
    time_t *activate)
{
	char t[40];

	if (!keyring_has(kr, slot))
		return keyfile_why(KEYRING_EEMPTY, ks->why, sizeof(ks->why),
		    "%s/%d.key: no key in slot %d", ks->dir, slot, slot);
	if (keyring_signer(kr, ks->o.now) == slot)
		return keystore_revoke_signer(ks, kr, slot, new_slot, activate);
	if (keyring_count(kr) == 1)
		return keyfile_why(KEYRING_EBUSY, ks->why, sizeof(ks->why),
		    "slot %d holds the only key (pending until %s): nothing done; revoking it "
		    "would leave no key to sign with", slot,
		    keyring_time_text(keyring_activate(kr, slot), t, sizeof(t)));
	return keyfile_remove(ks->dir, slot, ks->why, sizeof(ks->why));
}

int
keystore_revoke(struct keystore *ks, int slot, int *new_slot, time_t *activate)
{
	struct keyring *kr;
	int rc;

	ks->why[0] = '\0';
	*new_slot = -1;
	*activate = 0;
	if (slot < 0 || slot >= KEYRING_SLOTS)
		return keyfile_why(KEYRING_ESLOT, ks->why, sizeof(ks->why), "bad slot %d: want 0-9",
		    slot);
	rc = keystore_load(ks, &kr);
	if (rc != 0)
		return rc;
	rc = keystore_revoke_in(ks, kr, slot, new_slot, activate);
	keyring_unref(kr);
	return rc;
}

/* Is slot's file this very key? *present says whether there is one. */
static int
keystore_import_same(struct keystore *ks, int slot, const unsigned char *secret,
    time_t activate, bool *present, bool *same)
{
	unsigned char *old = sodium_malloc(KEYRING_KEY_BYTES);
	time_t old_activate = 0;
	int rc;

	*same = false;
	if (old == NULL)
		return keyfile_why(KEYRING_ENOMEM, ks->why, sizeof(ks->why), "out of memory");
	rc = keyfile_read(ks->dir, ks->o.user, slot, old, &old_activate, present, ks->why,
	    sizeof(ks->why));
	if (rc == 0 && *present)
		*same = keyring_mac_equal(old, secret, KEYRING_KEY_BYTES) &&
		    old_activate == activate;
	sodium_free(old);
	return rc;
}

/* Another slot of the store that holds secret already: *other, or -1. */
static int
keystore_import_dup(struct keystore *ks, int slot, const unsigned char *secret, int *other)
{
	unsigned char *old = sodium_malloc(KEYRING_KEY_BYTES);
	time_t activate;
	bool present;
	int i, rc = KEYRING_OK;

	*other = -1;
	if (old == NULL)
		return keyfile_why(KEYRING_ENOMEM, ks->why, sizeof(ks->why), "out of memory");
	for (i = 0; i < KEYRING_SLOTS && rc == 0 && *other < 0; i++) {
		if (i == slot)
			continue;
		rc = keyfile_read(ks->dir, ks->o.user, i, old, &activate, &present, ks->why,
		    sizeof(ks->why));
		if (rc == 0 && present && keyring_mac_equal(old, secret, KEYRING_KEY_BYTES))
			*other = i;
	}
	sodium_free(old);
	return rc;
}

/* May secret go into slot? *same: it is there already. */
static int
keystore_import_check(struct keystore *ks, int slot, const unsigned char *secret,
    time_t activate, bool force, bool *same)
{
	bool present;
	int other, rc;

	rc = keyfile_mkdir(ks->dir, ks->o.uid, ks->o.gid, ks->why, sizeof(ks->why));
	if (rc == 0)
		rc = keyfile_check_dir(ks->dir, ks->o.user, ks->why, sizeof(ks->why));
	if (rc == 0)
		rc = keystore_import_same(ks, slot, secret, activate, &present, same);
	if (rc != 0 || *same)
		return rc;
	rc = keystore_import_dup(ks, slot, secret, &other);
	if (rc != 0)
		return rc;
	if (other >= 0)
		return keyfile_why(KEYRING_EEXIST, ks->why, sizeof(ks->why),
		    "%s/%d.key holds this key already: nothing done, and --force does not change "
		    "that (one key in two slots confuses list and rotation); a key keeps its slot "
		    "on every host: import it as slot %d", ks->dir, other, other);
	if (present && !force)
		return keyfile_why(KEYRING_EEXIST, ks->why, sizeof(ks->why),
		    "%s/%d.key holds a different key: nothing done (import into another slot, "
		    "prune it when it is prunable, or use --force)", ks->dir, slot);
	return KEYRING_OK;
}

int
keystore_import(struct keystore *ks, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate, bool force, bool *changed)
{
	time_t created;
	bool same = false;
	int rc;

	ks->why[0] = '\0';
	*changed = false;
	if (slot < 0 || slot >= KEYRING_SLOTS)
		return keyfile_why(KEYRING_ESLOT, ks->why, sizeof(ks->why), "bad slot %d (0-9)",
		    slot);
	rc = keystore_import_check(ks, slot, secret, activate, force, &same);
	if (rc != 0 || same)
		return rc;
	rc = keyfile_write_key(ks->dir, slot, secret, activate, ks->o.uid, ks->o.gid, ks->why,
	    sizeof(ks->why));
	if (rc == 0)
		rc = keyfile_read_created(ks->dir, ks->o.user, &created, ks->why, sizeof(ks->why));
	if (rc == 0 && created == 0)
		rc = keyfile_write_created(ks->dir, ks->o.now, ks->o.uid, ks->o.gid, ks->why,
		    sizeof(ks->why));
	*changed = rc == 0;
	return rc;
}
