/* replay-seed: a test helper, not a test. Records bounces in a replay store the way the milter
 * would, so that the backstop-replay script test has something to look at.
 * Usage: replay-seed DIR NOW TAG_EXPIRY_DAY COUNT ADDR...  (COUNT bounces for each ADDR) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "replay.h"

int
main(int argc, char **argv)
{
	struct replay *r;
	char why[512];
	uint32_t c;
	long count, i;
	int rc, a;

	if (argc < 6) {
		fprintf(stderr, "usage: replay-seed DIR NOW TAG_EXPIRY_DAY COUNT ADDR...\n");
		return 2;
	}
	if ((rc = replay_open(argv[1], REPLAY_DUR_WRITE, &r, why, sizeof(why))) != REPLAY_OK) {
		fprintf(stderr, "replay-seed: %s\n", why);
		return 1;
	}
	count = atol(argv[4]);
	for (a = 5; a < argc; a++) {
		for (i = 0; i < count; i++) {
			rc = replay_record(r, argv[a], (time_t)atoll(argv[2]), atol(argv[3]), &c);
			if (rc != REPLAY_OK) {
				fprintf(stderr, "replay-seed: %s: %s\n", argv[a], replay_strerror(rc));
				replay_close(r);
				return 1;
			}
		}
	}
	replay_close(r);
	return 0;
}
