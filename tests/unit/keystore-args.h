/* keystore-args.h: the key-store operations with every argument spelled out, as the tests
 * of the lifecycle were written: each call opens a keystore with those options, runs the
 * operation, and copies its message into why. */
#ifndef BACKSTOP_KEYSTORE_ARGS_H
#define BACKSTOP_KEYSTORE_ARGS_H

#include <stdio.h>

#include "keystore.h"

static inline struct keystore *
ks_args_open(const char *dir, uid_t user, time_t now, time_t window, uid_t uid, gid_t gid)
{
	struct keystore_options o = { .user = user, .uid = uid, .gid = gid, .now = now,
		.window = window };
	struct keystore *ks = keystore_open(dir, &o);

	if (ks == NULL) {
		printf("Bail out! keystore_open\n");
		exit(1);
	}
	return ks;
}

static inline int
ks_args_close(struct keystore *ks, int rc, char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", keystore_why(ks));
	keystore_close(ks);
	return rc;
}

static inline int
ks_init(const char *dir, uid_t user, time_t now, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	struct keystore *ks = ks_args_open(dir, user, now, 0, uid, gid);

	return ks_args_close(ks, keystore_init(ks), why, whylen);
}

static inline int
ks_rotate(const char *dir, uid_t user, time_t now, time_t *activate, time_t window, uid_t uid,
    gid_t gid, int *slot, char *why, size_t whylen)
{
	struct keystore *ks = ks_args_open(dir, user, now, window, uid, gid);

	return ks_args_close(ks, keystore_rotate(ks, activate, slot), why, whylen);
}

static inline int
ks_prune(const char *dir, uid_t user, time_t now, time_t window, bool dry_run, unsigned *pruned,
    char *why, size_t whylen)
{
	struct keystore *ks = ks_args_open(dir, user, now, window, (uid_t)-1, (gid_t)-1);

	return ks_args_close(ks, keystore_prune(ks, dry_run, pruned), why, whylen);
}

static inline int
ks_revoke(const char *dir, uid_t user, int slot, time_t now, time_t window, uid_t uid, gid_t gid,
    int *new_slot, time_t *activate, char *why, size_t whylen)
{
	struct keystore *ks = ks_args_open(dir, user, now, window, uid, gid);

	return ks_args_close(ks, keystore_revoke(ks, slot, new_slot, activate), why, whylen);
}

static inline int
ks_import(const char *dir, uid_t user, int slot, const unsigned char *secret, time_t activate,
    bool force, time_t now, uid_t uid, gid_t gid, bool *changed, char *why, size_t whylen)
{
	struct keystore *ks = ks_args_open(dir, user, now, 0, uid, gid);

	return ks_args_close(ks, keystore_import(ks, slot, secret, activate, force, changed), why,
	    whylen);
}

#endif
