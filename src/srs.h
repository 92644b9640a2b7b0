/* srs: Sender Rewriting Scheme, SRS0/SRS1 in libsrs2's "guarded" layout with a
 * delimited, HMAC-SHA-256 base32 hash. README.md "Tag formats" describes them. */
#ifndef BACKSTOP_SRS_H
#define BACKSTOP_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "keyring.h"

struct srs_legacy;

struct srs_params {
	const char *domain;		/* SRSDomain */
	char *const *local_domains;	/* our Domains: senders there are not rewritten */
	size_t n_local_domains;
	char separator;			/* '=', '+' or '-' after SRS0/SRS1 */
	unsigned hash_length;		/* characters of hash written */
	unsigned hash_min;		/* characters of hash accepted at least */
	time_t hash_min_until;		/* a hash_min under hash_length holds until then (0: always) */
	unsigned max_age;		/* days */
	const struct srs_legacy *legacy;	/* postsrsd secrets, verify only (srs-legacy.h) */
};

/* Codes and their classes: the reason texts are those of the known-answer vectors. */
enum srs_err {
	SRS_OK = 0,
	SRS_ELOCAL = -1,	/* NOTFOUND "local domain" */
	SRS_ENOTSRS = -2,	/* NOTFOUND "not an SRS address" */
	SRS_ENOTOURS = -3,	/* NOTFOUND "not our SRS domain" */
	SRS_ETOOLONG = -4,	/* PERM "too long" */
	SRS_EEXPIRED = -5,	/* PERM "expired" */
	SRS_EBADHASH = -6,	/* PERM "bad hash" */
	SRS_ESHORTHASH = -7,	/* PERM "hash too short" */
	SRS_EMALFORMED0 = -8,	/* PERM "malformed SRS0" */
	SRS_EMALFORMED1 = -9,	/* PERM "malformed SRS1" */
	SRS_ENULL = -10,	/* NOTFOUND "null sender" */
	SRS_ENOKEY = -11,	/* TEMP "no signing key" */
	SRS_ECONFIG = -12,	/* TEMP "SRS is not configured" */
	SRS_EQUOTED = -13,	/* NOTFOUND "quoted local part or address literal": not rewritten */
};

enum srs_class { SRS_CLASS_OK, SRS_CLASS_NOTFOUND, SRS_CLASS_PERM, SRS_CLASS_TEMP };

/* srs_forward - rewrite a foreign sender to our SRS domain */
int srs_forward(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out) __attribute__((warn_unused_result));
/* srs_reverse - validate an address at our SRS domain and recover the previous one */
int srs_reverse(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out) __attribute__((warn_unused_result));
/* srs_addressed - SRS_OK when in may be an SRS address at domain (not null, not quoted) */
int srs_addressed(const char *domain, const struct addr *in) __attribute__((warn_unused_result));
/* srs_previous - the address an SRS one stands for: rest@host (kind 0, SRS0) or
 * SRS0rest@host (kind 1, SRS1, whose rest starts at the separator after the hop) */
int srs_previous(int kind, const char *host, size_t host_len, const char *rest,
    struct addr *out) __attribute__((warn_unused_result));
/* srs_is_srs - does the local part start with SRS0/SRS1 and a separator? */
bool srs_is_srs(const struct addr *a);
/* srs_strerror - the reason text for a code */
const char *srs_strerror(int err);
/* srs_err_class - NOTFOUND, PERM or TEMP for a code */
enum srs_class srs_err_class(int err);

#endif
