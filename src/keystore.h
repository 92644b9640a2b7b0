/* keystore: the key store's lifecycle on disk (keys/README.md): init, rotate, prune, revoke,
 * import. One handle holds the directory, the time the operations happen at and the owner
 * options, so each operation takes only what is its own; failures leave a message. */
#ifndef BACKSTOP_KEYSTORE_H
#define BACKSTOP_KEYSTORE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "keyring.h"

struct keystore_options {
	uid_t user;	/* the daemons' user (UserID), or KEYRING_NO_USER */
	uid_t uid;	/* owner of new files; (uid_t)-1 keeps the directory's */
	gid_t gid;	/* group of new files; (gid_t)-1 keeps the directory's */
	time_t now;	/* the clock: when the operations happen (BACKSTOP_NOW in tests) */
	time_t window;	/* how long a retired key still verifies (keyring_window) */
};

struct keystore;

/* keystore_open - a handle on the store in dir (nothing is read yet); NULL if out of memory */
struct keystore *keystore_open(const char *dir, const struct keystore_options *o);
/* keystore_close - free the handle */
void keystore_close(struct keystore *ks);
/* keystore_why - what the last failed operation found wrong ("" if none failed) */
const char *keystore_why(const struct keystore *ks);
/* keystore_init - create the store: directory 0700, a key in slot 0 active now, the record */
int keystore_init(struct keystore *ks) __attribute__((warn_unused_result));
/* keystore_rotate - a new random key in the next slot, active at *activate (moved to a second
 * after the latest key's if not later); *slot says which */
int keystore_rotate(struct keystore *ks, time_t *activate, int *slot)
    __attribute__((warn_unused_result));
/* keystore_prune - remove (or with dry_run only list) prunable keys; bit K of *pruned per slot */
int keystore_prune(struct keystore *ks, bool dry_run, unsigned *pruned)
    __attribute__((warn_unused_result));
/* keystore_revoke - delete slot's key at once, whatever it could still verify. When it is the
 * signing key, a new key in the next slot signs from now first, so that no older key signs
 * again: *new_slot says which (-1: none was needed), *activate when. Refused (EBUSY) while a
 * pending key would leave the new one waiting. */
int keystore_revoke(struct keystore *ks, int slot, int *new_slot, time_t *activate)
    __attribute__((warn_unused_result));
/* keystore_import - write a key into slot; a different key there needs force; same is a no-op;
 * refused (EEXIST, even with force) when another slot holds the same secret */
int keystore_import(struct keystore *ks, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate, bool force, bool *changed) __attribute__((warn_unused_result));

#endif
