/* lookup: the answers of srs-rewrite serve's maps (prvs, forward, reverse) as a pure function
 * of a map name, a key and a snapshot of keys, configuration and time: no I/O, no clock, no
 * logging. srs-serve.c takes the snapshot, asks here, and logs what the answer says to log. */
#ifndef BACKSTOP_LOOKUP_H
#define BACKSTOP_LOOKUP_H

#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "conf.h"
#include "keyring.h"
#include "mapcodec.h"
#include "prvs.h"
#include "srs.h"

/* What a lookup sees: one snapshot, shared by the requests of a batch. */
struct lookup_env {
	const struct keyring *kr;
	const struct conf *conf;	/* TagValidity, DryRun */
	const struct srs_params *srs;	/* domain NULL: SRS is off */
	time_t now;
};

/* What the caller should log about an answer. */
enum lookup_note {
	LOOKUP_NOTE_NONE,
	LOOKUP_NOTE_PRVS_REFUSED,	/* a prvs tag not of ours: .key and .verdict */
	LOOKUP_NOTE_LEGACY,		/* reversed with postsrsd's hash: .key and .result */
	LOOKUP_NOTE_PRVS_DRYRUN,	/* DryRun: a tag PRVS_REFUSED would refuse, let through */
};

struct lookup_log {
	enum lookup_note note;
	enum prvs_verdict verdict;	/* LOOKUP_NOTE_PRVS_REFUSED, LOOKUP_NOTE_PRVS_DRYRUN */
	struct addr key;		/* the key, as parsed */
	struct addr result;		/* LOOKUP_NOTE_LEGACY: what it reversed to */
};

/* lookup_answer - the status and the value or reason (into out) for key in map; env NULL
 * when the caller could take no snapshot. *log says what to log (always set). */
enum mapcodec_status lookup_answer(const struct lookup_env *env, const char *map,
    const char *key, char *out, size_t outsize, struct lookup_log *log);
/* lookup_srs_status - the map status for an srs_err (PERM-class failures are NOTFOUND) */
enum mapcodec_status lookup_srs_status(int err);

#endif
