/* srs-legacy: verify-only SRS addresses signed by postsrsd 1.x/2.x, so the bounces of mail
 * forwarded before a switch to backstop still reverse for SRSMaxAge days. backstop never
 * signs with these secrets. The hash is postsrsd's: HMAC-SHA1, base64, compared without case. */
#ifndef BACKSTOP_SRS_LEGACY_H
#define BACKSTOP_SRS_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "keyring.h"
#include "srs.h"

#define SRS_LEGACY_LINE_MAX 1023	/* postsrsd reads secrets with fgets into 1024 bytes */
#define SRS_LEGACY_FILE_MAX 65536
#define SRS_LEGACY_HASH_MIN 4		/* postsrsd's default -n and -N */

enum srs_legacy_err {
	SRS_LEGACY_OK = 0,
	SRS_LEGACY_ENOMEM = -1,		/* temporary */
	SRS_LEGACY_EOPEN = -2,		/* permanent: missing or unreadable (errno says why) */
	SRS_LEGACY_EMODE = -3,		/* permanent: readable by everyone */
	SRS_LEGACY_ENOTFILE = -4,	/* permanent: not a regular file */
	SRS_LEGACY_ELARGE = -5,		/* permanent: larger than SRS_LEGACY_FILE_MAX */
	SRS_LEGACY_ELINE = -6,		/* permanent: a line longer than SRS_LEGACY_LINE_MAX */
	SRS_LEGACY_EEMPTY = -7,		/* permanent: no secret in it */
	SRS_LEGACY_ESPEC = -8,		/* permanent: the value is not file:PATH */
};

struct srs_legacy;

/* srs_legacy_parse - the secrets of a postsrsd secrets file's text; *line is the bad line */
int srs_legacy_parse(const char *text, size_t len, struct srs_legacy **out, unsigned *line)
	__attribute__((warn_unused_result));
/* srs_legacy_load - read "file:PATH" (relative to the directory of base); why gets a reason */
int srs_legacy_load(const char *spec, const char *base, struct srs_legacy **out, char *why,
    size_t whylen) __attribute__((warn_unused_result));
/* srs_legacy_count - how many secrets were read */
size_t srs_legacy_count(const struct srs_legacy *lg);
/* srs_legacy_free - wipe and release the secrets */
void srs_legacy_free(struct srs_legacy *lg);
/* srs_legacy_verify - postsrsd's check of an SRS0/SRS1 address at p->domain, and its reverse */
int srs_legacy_verify(const struct srs_params *p, const struct srs_legacy *lg, time_t now,
    const struct addr *in, struct addr *out) __attribute__((warn_unused_result));
/* srs_legacy_reverse - srs_reverse, then p->legacy when our hash fails; *legacy says which */
int srs_legacy_reverse(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out, bool *legacy) __attribute__((warn_unused_result));
/* srs_legacy_strerror - text for an srs_legacy_err code */
const char *srs_legacy_strerror(int err);

#endif
