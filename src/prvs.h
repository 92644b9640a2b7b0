/* prvs: BATV tags, prvs=KDDDSSSSSS=local@domain (draft-levine-smtp-batv-01 syntax,
 * HMAC-SHA-256 truncated to 24 bits). README.md "Tag formats" describes them. */
#ifndef BACKSTOP_PRVS_H
#define BACKSTOP_PRVS_H

#include <time.h>

#include "addr.h"
#include "keyring.h"

/* "prvs=" + K + DDD + SSSSSS + "=" */
#define PRVS_TAG_LEN 16

enum prvs_verdict {
	PRVS_VALID = 0,
	PRVS_UNTAGGED,
	PRVS_MALFORMED,
	PRVS_UNKNOWN_KEY,
	PRVS_BADMAC,
	PRVS_EXPIRED,
};

enum prvs_err {
	PRVS_OK = 0,
	PRVS_ETOOLONG = -1,	/* permanent: tagged local part would pass 64 octets */
	PRVS_ETAGGED = -2,	/* permanent: already carries a prvs or SRS tag */
	PRVS_EQUOTED = -3,	/* permanent: quoted local parts are not signed */
	PRVS_ENULL = -4,	/* permanent: the null path has nothing to sign */
	PRVS_ENOKEY = -5,	/* temporary: no signing key at this time */
	PRVS_ENOTAG = -6,	/* permanent: nothing to strip */
};

/* prvs_sign - tag a with the signing key at now, valid for validity days */
int prvs_sign(const struct keyring *kr, const struct addr *a, time_t now, unsigned validity,
    struct addr *out) __attribute__((warn_unused_result));
/* prvs_verify - check a tagged address; on PRVS_VALID orig (if not NULL) is the untagged one */
enum prvs_verdict prvs_verify(const struct keyring *kr, const struct addr *a, time_t now,
    unsigned validity, struct addr *orig) __attribute__((warn_unused_result));
/* prvs_strip - remove a well-shaped tag without checking it (0, or PRVS_ENOTAG) */
int prvs_strip(const struct addr *a, struct addr *out) __attribute__((warn_unused_result));
/* prvs_verdict_name - "valid", "untagged", "malformed", "unknown-key", "badmac", "expired" */
const char *prvs_verdict_name(enum prvs_verdict v);
/* prvs_strerror - text for a prvs_err code */
const char *prvs_strerror(int err);

#endif
