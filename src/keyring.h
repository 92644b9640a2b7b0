/* keyring: the key store, loaded into an immutable, reference-counted snapshot.
 * Up to ten slots (0-9), each a 32-byte secret in guarded memory with its activation time;
 * the prvs and SRS sub-keys are derived at load time with crypto_kdf. */
#ifndef BACKSTOP_KEYRING_H
#define BACKSTOP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define KEYRING_SLOTS 10
#define KEYRING_KEY_BYTES 32
#define KEYRING_KDF_CONTEXT "backstop"
#define KEYRING_KDF_PRVS 1
#define KEYRING_KDF_SRS 2

enum keyring_err {
	KEYRING_OK = 0,
	KEYRING_ENOMEM = -1,	/* temporary */
	KEYRING_EIO = -2,	/* temporary: read or write failed */
	KEYRING_EPERM = -3,	/* permanent: unsafe permissions */
	KEYRING_ECORRUPT = -4,	/* permanent: a key file does not parse */
	KEYRING_ENOKEYS = -5,	/* permanent: no key in the store */
	KEYRING_ESLOT = -6,	/* permanent: bad slot number */
	KEYRING_EEXIST = -7,	/* permanent: the slot holds a different key */
	KEYRING_ENOSIGNER = -8,	/* temporary: every key activates in the future */
	KEYRING_ESODIUM = -9,	/* permanent: sodium_init failed */
};

struct keyring;

/* keyring_new - an empty, unpublished snapshot to fill with keyring_add */
struct keyring *keyring_new(void);
/* keyring_add - put a secret in a slot of an unpublished snapshot */
int keyring_add(struct keyring *kr, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate) __attribute__((warn_unused_result));
/* keyring_load - read a key directory; on failure why names the file and the fix */
int keyring_load(const char *dir, struct keyring **out, char *why, size_t whylen)
	__attribute__((warn_unused_result));
/* keyring_ref - take a reference to a snapshot */
struct keyring *keyring_ref(struct keyring *kr);
/* keyring_unref - drop a reference; the last one wipes and frees the snapshot */
void keyring_unref(struct keyring *kr);

/* keyring_signer - the slot that signs at now, or KEYRING_ENOKEYS/ENOSIGNER */
int keyring_signer(const struct keyring *kr, time_t now);
/* keyring_has - is there a key in slot? */
bool keyring_has(const struct keyring *kr, int slot);
/* keyring_activate - activation time of the key in slot (0 if none) */
time_t keyring_activate(const struct keyring *kr, int slot);
/* keyring_created - creation time of the store (0 if unknown) */
time_t keyring_created(const struct keyring *kr);
/* keyring_set_created - record the creation time in an unpublished snapshot */
void keyring_set_created(struct keyring *kr, time_t created);
/* keyring_prvs_key - the prvs sub-key of slot, NULL if no key there */
const unsigned char *keyring_prvs_key(const struct keyring *kr, int slot);
/* keyring_srs_key - the SRS sub-key of slot, NULL if no key there */
const unsigned char *keyring_srs_key(const struct keyring *kr, int slot);
/* keyring_count - number of keys present */
int keyring_count(const struct keyring *kr);

/* keyring_strerror - text for a keyring_err code */
const char *keyring_strerror(int err);
/* keyring_err_temporary - should the caller retry later (4xx) rather than fail (5xx)? */
bool keyring_err_temporary(int err);

#endif
