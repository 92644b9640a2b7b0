/* keyring: the key store, loaded into an immutable, reference-counted snapshot.
 * Up to ten slots (0-9), each a 32-byte secret in guarded memory with its activation time;
 * the prvs and SRS sub-keys are derived at load time with crypto_kdf. */
#ifndef BACKSTOP_KEYRING_H
#define BACKSTOP_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define KEYRING_SLOTS 10
#define KEYRING_KEY_BYTES 32
#define KEYRING_KDF_CONTEXT "backstop"
#define KEYRING_KDF_PRVS 1
#define KEYRING_KDF_SRS 2
/* The "user" of the loading functions: the daemons' user (UserID), whose files are trusted
 * beside root's and this process's; this value when there is none. */
#define KEYRING_NO_USER ((uid_t)-1)

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
	KEYRING_EBUSY = -10,	/* permanent: the slot's key can still verify live tags */
	KEYRING_EEMPTY = -11,	/* permanent: the slot holds no key */
	KEYRING_EBADMAC = -12,	/* permanent: the MAC does not match */
	KEYRING_EMACLEN = -13,	/* permanent: a MAC length outside 1-32 bytes */
};

/* What a slot's key does at a given time (keys/README.md). */
enum keyring_state {
	KEYRING_EMPTY,		/* no key in the slot */
	KEYRING_PENDING,	/* activates in the future; verifies already */
	KEYRING_SIGNING,	/* the latest key whose activation has come */
	KEYRING_VERIFYING,	/* retired, still inside the verification window */
	KEYRING_PRUNABLE,	/* retired longer ago than the window: verifies nothing live */
};

struct keyring;

/* keyring_new - an empty, unpublished snapshot to fill with keyring_add */
struct keyring *keyring_new(void);
/* keyring_add - put a secret in a slot of an unpublished snapshot */
int keyring_add(struct keyring *kr, int slot, const unsigned char secret[KEYRING_KEY_BYTES],
    time_t activate) __attribute__((warn_unused_result));
/* keyring_load - read a key directory whose files belong to root, this process's user or user
 * (the daemons', UserID); on failure why names the file and the fix */
int keyring_load(const char *dir, uid_t user, struct keyring **out, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* keyring_load_as - could uid/gid (the daemons' user) load dir? Asked in a child process
 * that becomes them; KEYRING_OK without asking when this process cannot become them */
int keyring_load_as(const char *dir, uid_t uid, gid_t gid, char *why, size_t whylen)
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

#define KEYRING_MAC_BYTES 32
struct keyring_subkey;
/* keyring_prvs_subkey - the prvs sub-key of slot, ready for keyring_hmac; NULL if none */
const struct keyring_subkey *keyring_prvs_subkey(const struct keyring *kr, int slot);
/* keyring_srs_subkey - the SRS sub-key of slot, ready for keyring_hmac; NULL if none */
const struct keyring_subkey *keyring_srs_subkey(const struct keyring *kr, int slot);
/* keyring_hmac - HMAC-SHA-256 of msg under a sub-key, from its state keyed at load time */
void keyring_hmac(const struct keyring_subkey *k, const void *msg, size_t len,
    unsigned char out[KEYRING_MAC_BYTES]);
/* keyring_prvs_verify - is mac (maclen bytes, 1-32) the start of the HMAC of msg under slot's
 * prvs sub-key? KEYRING_OK, EBADMAC, EMACLEN, EEMPTY or ESLOT; compared in constant time */
int keyring_prvs_verify(const struct keyring *kr, int slot, const void *msg, size_t len,
    const unsigned char *mac, size_t maclen) __attribute__((warn_unused_result));
/* keyring_srs_verify - as keyring_prvs_verify, under slot's SRS sub-key */
int keyring_srs_verify(const struct keyring *kr, int slot, const void *msg, size_t len,
    const unsigned char *mac, size_t maclen) __attribute__((warn_unused_result));
/* keyring_mac_equal - are the first len bytes of two MACs (or their encodings) equal? In
 * constant time: every MAC comparison of the project goes through here */
bool keyring_mac_equal(const void *given, const void *want, size_t len)
    __attribute__((warn_unused_result));
/* keyring_count - number of keys present */
int keyring_count(const struct keyring *kr);

/* keyring_window - how long a retired key still verifies: max(validity, max_age) + 1 days */
time_t keyring_window(unsigned tag_validity, unsigned srs_max_age);
/* keyring_retired - retirement time of slot's key (its successor's activation), 0 if none */
time_t keyring_retired(const struct keyring *kr, int slot);
/* keyring_state - what slot's key does at now, given the verification window */
enum keyring_state keyring_state(const struct keyring *kr, int slot, time_t now, time_t window);
/* keyring_state_name - "empty", "pending", "signing", "verifying", "prunable" */
const char *keyring_state_name(enum keyring_state st);
/* keyring_rotate_slot - the slot a rotation at now takes; KEYRING_EBUSY sets *free_at */
int keyring_rotate_slot(const struct keyring *kr, time_t now, time_t window, time_t *free_at);

/* A holder publishes the current snapshot to threads: readers take a reference under a
 * mutex, a reload swaps in a new snapshot; in-flight work keeps the one it took. */
struct keyring_holder;
/* keyring_holder_new - a holder publishing kr (the holder takes over the caller's reference) */
struct keyring_holder *keyring_holder_new(struct keyring *kr);
/* keyring_holder_get - a new reference to the current snapshot (keyring_unref when done) */
struct keyring *keyring_holder_get(struct keyring_holder *h);
/* keyring_holder_swap - publish kr (taking over the caller's reference), drop the old one */
void keyring_holder_swap(struct keyring_holder *h, struct keyring *kr);
/* keyring_holder_reload - load dir and publish it; on failure keep the old snapshot, say why */
int keyring_holder_reload(struct keyring_holder *h, uid_t user, const char *dir, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* keyring_holder_free - drop the holder's reference and free it */
void keyring_holder_free(struct keyring_holder *h);

/* keyring_time_text - "2026-11-26 19:00:00 UTC", for messages; returns buf */
const char *keyring_time_text(time_t t, char *buf, size_t size);
/* keyring_strerror - text for a keyring_err code */
const char *keyring_strerror(int err);
/* keyring_err_temporary - should the caller retry later (4xx) rather than fail (5xx)? */
bool keyring_err_temporary(int err);

#endif
