/* replay-seed: a test helper, not a test. Records bounces in a replay store the way the milter
 * would, so that the backstop-replay script test has something to look at; or holds the store
 * open, as a running milter does, until its standard input closes.
 * Usage: replay-seed DIR NOW TAG_EXPIRY_DAY COUNT ADDR...  (COUNT bounces for each ADDR)
 *        replay-seed --sent DIR NOW EXPIRY_DAY SENDER MSGID...  (sent mail, 1 recipient each)
 *        replay-seed --hold DIR  (prints "open" once the store is open) */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

/* seed_hold - keep the store open until stdin reaches its end */
static int
seed_hold(struct replay *r)
{
	char buf[256];

	printf("open\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin) != NULL)
		continue;
	replay_close(r);
	return 0;
}

/* seed_sent - record each Message-ID in argv as sent at now by sender, until day */
static int
seed_sent(struct replay *r, time_t now, long day, const char *sender, int argc, char **argv)
{
	int rc, a;

	for (a = 0; a < argc; a++) {
		rc = replay_sent_record(r, argv[a], sender, 1, now, day);
		if (rc != REPLAY_OK) {
			fprintf(stderr, "replay-seed: %s: %s\n", argv[a], replay_strerror(rc));
			replay_close(r);
			return 1;
		}
	}
	replay_close(r);
	return 0;
}

int
main(int argc, char **argv)
{
	struct replay *r;
	char why[512];
	uint32_t c;
	long count, i;
	int rc, a;
	const bool hold = argc == 3 && strcmp(argv[1], "--hold") == 0;
	const bool sent = argc >= 7 && strcmp(argv[1], "--sent") == 0;

	if (argc < 6 && !hold) {
		fprintf(stderr, "usage: replay-seed DIR NOW TAG_EXPIRY_DAY COUNT ADDR...\n"
		    "       replay-seed --sent DIR NOW EXPIRY_DAY SENDER MSGID...\n"
		    "       replay-seed --hold DIR\n");
		return 2;
	}
	rc = replay_open(argv[hold || sent ? 2 : 1], REPLAY_DUR_WRITE, &r, why, sizeof(why));
	if (rc != REPLAY_OK) {
		fprintf(stderr, "replay-seed: %s\n", why);
		return 1;
	}
	if (hold)
		return seed_hold(r);
	if (sent)
		return seed_sent(r, (time_t)atoll(argv[3]), atol(argv[4]), argv[5], argc - 6,
		    argv + 6);
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
