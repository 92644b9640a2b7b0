/* fuzz-srs-params: SRS parameters within what conf.c accepts (SRSHashLength 4-32, SRSHashMin
 * not above it), drawn from one byte so the fuzzer explores them along with the address. */
#include "config.h"

#include <string.h>

#include "fuzz-srs.h"

static char fuzz_dom1[] = "example.com", fuzz_dom2[] = ".example.org";
static char *fuzz_domains[] = { fuzz_dom1, fuzz_dom2 };

void
fuzz_srs_params(struct srs_params *p, uint8_t b)
{
	memset(p, 0, sizeof(*p));
	p->domain = FUZZ_SRS_DOMAIN;
	p->local_domains = fuzz_domains;
	p->n_local_domains = 2;
	p->separator = "=+-="[b & 3];
	p->hash_length = 4 + ((b >> 2) & 7);
	p->hash_min = 1 + (unsigned)(b >> 5) % p->hash_length;
	p->max_age = 21;
}
