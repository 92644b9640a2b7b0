/* fuzz-srs: the SRS parameters both SRS targets draw from one input byte. */
#ifndef BACKSTOP_FUZZ_SRS_H
#define BACKSTOP_FUZZ_SRS_H

#include <stdint.h>

#include "srs.h"

#define FUZZ_SRS_DOMAIN "fwd.example.com"

/* fuzz_srs_params - separator, hash length (4-11) and minimum (<= length) from b */
void fuzz_srs_params(struct srs_params *p, uint8_t b);

#endif
