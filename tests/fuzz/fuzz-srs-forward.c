/* fuzz-srs-forward: srs_forward on arbitrary senders with the fixed keyring. Input: byte 0
 * picks the parameters, byte 1 shifts "now" by -128..127 days, the rest is the address.
 * Invariants: a rewritten address is an SRS address at the SRS domain, within the limits,
 * and srs_reverse takes it back: to the sender itself, or for a foreign SRS0 sender to it
 * (the "SRS0" prefix may change case). */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "fuzz-srs.h"
#include "fuzz.h"

static void
fuzz_srs_back(const struct srs_params *p, time_t now, const struct addr *in,
    const struct addr *out)
{
	struct addr back;
	int err;

	err = srs_reverse(p, fuzz_keyring(), now, out, &back);
	if (err != SRS_OK)
		fprintf(stderr, "reverse of %s@%s: %s\n", out->local, out->domain, srs_strerror(err));
	FUZZ_CHECK(err == SRS_OK);
	FUZZ_CHECK(!back.null && back.quoted == in->quoted);
	if (!srs_is_srs(in))
		FUZZ_CHECK(strcmp(back.local, in->local) == 0 && strcmp(back.domain, in->domain) == 0);
	else if (strncasecmp(in->local, "SRS0", 4) == 0)
		FUZZ_CHECK(strcasecmp(back.local, in->local) == 0 &&
		    strcmp(back.domain, in->domain) == 0);
	else
		FUZZ_CHECK(strncmp(back.local, "SRS0", 4) == 0);
}

int
fuzz_srs_forward(const uint8_t *data, size_t size)
{
	struct srs_params p;
	struct addr in, out;
	time_t now;
	int err;

	if (size < 2)
		return 0;
	fuzz_srs_params(&p, data[0]);
	now = FUZZ_NOW + (time_t)(int8_t)data[1] * 86400;
	if (addr_parse(&in, (const char *)data + 2, size - 2) != ADDR_OK)
		return 0;
	err = srs_forward(&p, fuzz_keyring(), now, &in, &out);
	FUZZ_CHECK(strcmp(srs_strerror(err), "unknown SRS error") != 0);
	FUZZ_CHECK(err != SRS_ENOKEY && err != SRS_ECONFIG);
	if (err != SRS_OK) {
		FUZZ_CHECK(srs_err_class(err) != SRS_CLASS_OK);
		return 0;
	}
	FUZZ_CHECK(srs_is_srs(&out) && strcasecmp(out.domain, FUZZ_SRS_DOMAIN) == 0);
	FUZZ_CHECK(strlen(out.local) <= ADDR_LOCAL_MAX);
	fuzz_srs_back(&p, now, &in, &out);
	return 0;
}

FUZZ_ENTRY(fuzz_srs_forward)
