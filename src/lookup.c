/* lookup: what srs-rewrite serve answers. prvs lets through exactly the tags whose MAC
 * verifies with a key we hold; forward and reverse are srs_forward and srs_reverse (with
 * postsrsd's hash, SRSLegacySecrets). A failed address is NOTFOUND, never PERM: Postfix
 * takes PERM for a broken table. Nothing here logs; the caller is told what to. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lookup.h"
#include "srs-legacy.h"

enum mapcodec_status
lookup_srs_status(int err)
{
	switch (srs_err_class(err)) {
	case SRS_CLASS_OK: return MAPCODEC_FOUND;
	case SRS_CLASS_NOTFOUND: return MAPCODEC_NOTFOUND;
	/* An address that does not verify is not an error of the table: Postfix takes a PERM
	 * answer for a broken map, defers every message to that address (451 4.3.5) and mails
	 * the postmaster. NOTFOUND (with the reason) lets its own recipient check refuse it. */
	case SRS_CLASS_PERM: return MAPCODEC_NOTFOUND;
	case SRS_CLASS_TEMP: return MAPCODEC_TEMP;
	}
	return MAPCODEC_TEMP;
}

/* lookup_format - "local@domain" into out; addr_format without printf, on the hot path */
static enum mapcodec_status
lookup_format(const struct addr *a, char *out, size_t outsize)
{
	size_t ll = strlen(a->local), dl = strlen(a->domain);

	if (a->null && outsize > 0) {
		out[0] = '\0';
		return MAPCODEC_FOUND;
	}
	if (ll + dl + 2 > outsize) {
		snprintf(out, outsize, "result too long");
		return MAPCODEC_PERM;
	}
	memcpy(out, a->local, ll);
	out[ll] = '@';
	memcpy(out + ll + 1, a->domain, dl + 1);
	return MAPCODEC_FOUND;
}

/* lookup_prvs - the untagged address when the tag's MAC verifies with a key we hold (valid
 * or expired), so Postfix's recipient check lets exactly those through and the milter then
 * judges expiry and replays; NOTFOUND for forged, unknown-key, malformed. Postfix refuses
 * those itself and the milter never sees them, so a failed tag is noted for the log: that
 * is where a stream of guesses shows. In DryRun nothing is refused: a failed tag with an
 * address in it goes through untagged too, noted as what would have been refused. */
static enum mapcodec_status
lookup_prvs(const struct lookup_env *env, char *out, size_t outsize, struct lookup_log *log)
{
	struct addr plain;
	enum prvs_verdict v = prvs_verify(env->kr, &log->key, env->now, env->conf->tag_validity,
	    &plain);
	bool routed = strpbrk(log->key.local, "%!") != NULL;

	if (v == PRVS_EXPIRED && prvs_strip(&log->key, &plain) != 0)
		v = PRVS_MALFORMED;
	if (env->conf->dry_run && v != PRVS_VALID && v != PRVS_EXPIRED && v != PRVS_UNTAGGED &&
	    !routed && prvs_strip(&log->key, &plain) == 0) {
		log->note = LOOKUP_NOTE_PRVS_DRYRUN;
		log->verdict = v;
		return lookup_format(&plain, out, outsize);
	}
	if (v != PRVS_VALID && v != PRVS_EXPIRED) {
		snprintf(out, outsize, "%s", prvs_verdict_name(v));
		/* a routed local part (alice%example.com@localhost) is asked again as the MTA
		 * rewrites it, and judged then: its failure here says nothing of a forgery */
		if (v != PRVS_UNTAGGED && !routed) {
			log->note = LOOKUP_NOTE_PRVS_REFUSED;
			log->verdict = v;
		}
		return MAPCODEC_NOTFOUND;
	}
	return lookup_format(&plain, out, outsize);
}

/* lookup_srs - forward or reverse; a reverse by postsrsd's hash is noted, so that an admin
 * sees when the last one arrived */
static enum mapcodec_status
lookup_srs(const struct lookup_env *env, bool forward, char *out, size_t outsize,
    struct lookup_log *log)
{
	bool legacy = false;
	int err;

	if (forward)
		err = srs_forward(env->srs, env->kr, env->now, &log->key, &log->result);
	else
		err = srs_legacy_reverse(env->srs, env->kr, env->now, &log->key, &log->result,
		    &legacy);
	if (legacy)
		log->note = LOOKUP_NOTE_LEGACY;
	if (err != SRS_OK) {
		snprintf(out, outsize, "%s", srs_strerror(err));
		return lookup_srs_status(err);
	}
	return lookup_format(&log->result, out, outsize);
}

enum mapcodec_status
lookup_answer(const struct lookup_env *env, const char *map, const char *key, char *out,
    size_t outsize, struct lookup_log *log)
{
	bool prvs = strcmp(map, "prvs") == 0, forward = strcmp(map, "forward") == 0;
	bool srs = forward || strcmp(map, "reverse") == 0;
	int err;

	log->note = LOOKUP_NOTE_NONE;
	if (!srs && !prvs) {
		snprintf(out, outsize, "unknown map '%.64s': use forward, reverse or prvs", map);
		return MAPCODEC_PERM;
	}
	if (env == NULL) {
		snprintf(out, outsize, "out of memory");
		return MAPCODEC_TEMP;
	}
	/* NOTFOUND, not PERM: Postfix takes PERM for a broken table (see lookup_srs_status) */
	if (srs && env->srs->domain == NULL) {
		snprintf(out, outsize, "SRS is off: SRSDomain is not set");
		return MAPCODEC_NOTFOUND;
	}
	err = addr_parse(&log->key, key, strlen(key));
	if (err != ADDR_OK) {
		snprintf(out, outsize, "not an address: %s", addr_strerror(err));
		return MAPCODEC_NOTFOUND;
	}
	if (prvs)
		return lookup_prvs(env, out, outsize, log);
	return lookup_srs(env, forward, out, outsize, log);
}
