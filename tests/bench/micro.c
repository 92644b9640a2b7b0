/* micro: in-process operations per second on one core for prvs sign, prvs verify, SRS
 * forward and SRS reverse, with a key made here and the default configuration.
 * Prints one key=value line per operation. Usage: micro [-s SECONDS_PER_OP]. Not a test. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "keyring.h"
#include "policy.h"
#include "prvs.h"
#include "srs.h"

#define MICRO_ADDRS 1024	/* distinct inputs, cycled */
#define MICRO_BATCH 256		/* operations between clock reads */

struct micro {
	struct keyring *kr;
	struct conf *cf;
	struct srs_params srs;
	time_t now;
	struct addr plain[MICRO_ADDRS], tagged[MICRO_ADDRS];
	struct addr foreign[MICRO_ADDRS], srs0[MICRO_ADDRS];
};

static double seconds = 1.0;
static volatile unsigned long sink;

static double
micro_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
op_sign(const struct micro *m, size_t i)
{
	struct addr out;

	return prvs_sign(m->kr, &m->plain[i], m->now, m->cf->tag_validity, &out);
}

static int
op_verify(const struct micro *m, size_t i)
{
	struct addr orig;

	return prvs_verify(m->kr, &m->tagged[i], m->now, m->cf->tag_validity, &orig) ==
	    PRVS_VALID ? 0 : -1;
}

static int
op_forward(const struct micro *m, size_t i)
{
	struct addr out;

	return srs_forward(&m->srs, m->kr, m->now, &m->foreign[i], &out);
}

static int
op_reverse(const struct micro *m, size_t i)
{
	struct addr out;

	return srs_reverse(&m->srs, m->kr, m->now, &m->srs0[i], &out);
}

/* measure - run op in batches for the configured time; ops/s, or -1 if one failed */
static double
measure(const struct micro *m, int (*op)(const struct micro *, size_t))
{
	double t0 = micro_now(), t;
	unsigned long n = 0;
	size_t i = 0;

	do {
		for (int b = 0; b < MICRO_BATCH; b++) {
			if (op(m, i) != 0)
				return -1;
			i = (i + 1) % MICRO_ADDRS;
		}
		n += MICRO_BATCH;
		t = micro_now();
	} while (t - t0 < seconds);
	sink += n;
	return (double)n / (t - t0);
}

static int
setup(struct micro *m)
{
	static const char text[] = "Domains example.com\nSRSDomain fwd.example.com\n"
	    "KeyDirectory /nonexistent\n";
	unsigned char secret[KEYRING_KEY_BYTES];
	char err[256], local[32];

	m->now = 1764183600;
	if (conf_parse(text, sizeof(text) - 1, "micro", &m->cf, err, sizeof(err)) != 0) {
		fprintf(stderr, "micro: %s\n", err);
		return -1;
	}
	policy_srs_params(m->cf, &m->srs);
	randombytes_buf(secret, sizeof(secret));
	if ((m->kr = keyring_new()) == NULL || keyring_add(m->kr, 0, secret, m->now - 86400) != 0)
		return -1;
	sodium_memzero(secret, sizeof(secret));
	for (size_t i = 0; i < MICRO_ADDRS; i++) {
		snprintf(local, sizeof(local), "user%zu", i);
		if (addr_set(&m->plain[i], local, strlen(local), "example.com") != 0 ||
		    prvs_sign(m->kr, &m->plain[i], m->now, m->cf->tag_validity, &m->tagged[i]) != 0)
			return -1;
		snprintf(local, sizeof(local), "sender%zu", i);
		if (addr_set(&m->foreign[i], local, strlen(local), "other.example.net") != 0 ||
		    srs_forward(&m->srs, m->kr, m->now, &m->foreign[i], &m->srs0[i]) != 0)
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "prvs_sign", "prvs_verify", "srs_forward",
	    "srs_reverse" };
	int (*const ops[])(const struct micro *, size_t) = { op_sign, op_verify, op_forward,
	    op_reverse };
	static struct micro m;
	int ch;

	while ((ch = getopt(argc, argv, "s:hV")) != -1) {
		switch (ch) {
		case 's': seconds = atof(optarg); break;
		case 'h': printf("usage: micro [-s SECONDS_PER_OP]\n"); return 0;
		case 'V': printf("micro (%s)\n", PACKAGE_STRING); return 0;
		default: fprintf(stderr, "usage: micro [-s SECONDS_PER_OP]\n"); return 2;
		}
	}
	if (sodium_init() < 0 || setup(&m) != 0) {
		fprintf(stderr, "micro: setup failed (key, configuration or a first operation)\n");
		return 1;
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		double r = measure(&m, ops[k]);

		if (r < 0) {
			fprintf(stderr, "micro: %s failed\n", names[k]);
			return 1;
		}
		printf("op=%s ops_per_s=%.0f ns_per_op=%.0f\n", names[k], r, 1e9 / r);
		fflush(stdout);
	}
	keyring_unref(m.kr);
	conf_free(m.cf);
	return 0;
}
