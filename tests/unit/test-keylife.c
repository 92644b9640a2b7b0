/* test-keylife: the key lifecycle of issue 3, in process for speed. Two years of monthly
 * rotations with the clock moving day by day: every prvs tag and SRS address verifies until
 * the end of its validity window and not after, prune leaves exactly the keys that can still
 * verify something; slot reuse inside the window is refused; two hosts share keys. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "keyfile.h"
#include "keyring.h"
#include "keystore-args.h"
#include "prvs.h"
#include "srs.h"
#include "tap.h"

#define VALIDITY 7
#define MAX_AGE 21
#define DAY CLOCK_DAY
#define START (20000L * DAY)	/* 2024-10-04 00:00 UTC */
#define NOON (DAY / 2)
#define KEEP 400		/* records still being checked */

static char base[64];
static char local_domain[] = "example.com";
static char *const local_domains[] = { local_domain };
static const struct srs_params srs = {
	.domain = "srs.example.net",
	.local_domains = local_domains,
	.n_local_domains = 1,
	.separator = '=',
	.hash_length = 5,
	.hash_min = 4,
	.max_age = MAX_AGE,
};

struct record {
	bool srs;
	long day;		/* signed on */
	int slot;		/* by */
	struct addr signed_addr;
	struct addr plain;
};

struct walk {
	const char *dir;
	time_t window;
	struct record rec[KEEP];
	int n;
	int rotations, refused, checks, failures;
};

static struct keyring *
load_at(const char *dir)
{
	struct keyring *kr;
	char why[512];

	if (keyring_load(dir, KEYRING_NO_USER, &kr, why, sizeof(why)) != 0) {
		printf("# %s\n", why);
		bail_out("keyring_load");
	}
	return kr;
}

static void
sign_both(struct walk *w, struct keyring *kr, time_t now, int n)
{
	struct record *r;
	char local[32];
	int i;

	for (i = 0; i < 2; i++) {
		if (w->n == KEEP)
			bail_out("too many records");
		r = &w->rec[w->n++];
		memset(r, 0, sizeof(*r));
		r->srs = i == 1;
		r->day = clock_day(now);
		r->slot = keyring_signer(kr, now);
		snprintf(local, sizeof(local), "u%ld.%d", r->day, n);
		if (addr_set(&r->plain, local, strlen(local), r->srs ? "foreign.org" :
		    "example.com") != 0)
			bail_out("addr_set");
		if ((r->srs ? srs_forward(&srs, kr, now, &r->plain, &r->signed_addr) :
		    prvs_sign(kr, &r->plain, now, VALIDITY, &r->signed_addr)) != 0)
			bail_out("sign");
	}
}

/* does r verify at now, and should it? */
static void
check_one(struct walk *w, const struct record *r, struct keyring *kr, time_t now, long day)
{
	struct addr out;
	bool valid, want = day - r->day <= (r->srs ? MAX_AGE : VALIDITY);
	char a[ADDR_TEXT_MAX], b[ADDR_TEXT_MAX];

	if (r->srs)
		valid = srs_reverse(&srs, kr, now, &r->signed_addr, &out) == 0;
	else
		valid = prvs_verify(kr, &r->signed_addr, now, VALIDITY, &out) == PRVS_VALID;
	if (valid) {
		addr_format(&out, a, sizeof(a));
		addr_format(&r->plain, b, sizeof(b));
		valid = strcmp(a, b) == 0;
	}
	w->checks++;
	if (valid != want) {
		w->failures++;
		addr_format(&r->signed_addr, a, sizeof(a));
		printf("# day %ld: %s signed day %ld by slot %d: %s, want %s\n", day, a, r->day,
		    r->slot, valid ? "valid" : "invalid", want ? "valid" : "invalid");
	}
}

static void
check_all(struct walk *w, struct keyring *kr, time_t now)
{
	long day = clock_day(now);
	int i, j = 0;

	for (i = 0; i < w->n; i++) {
		check_one(w, &w->rec[i], kr, now, day);
		/* past its window it has been seen to fail: stop carrying it after 3 more days */
		if (day - w->rec[i].day <= MAX_AGE + 3)
			w->rec[j++] = w->rec[i];
	}
	w->n = j;
}

/* The keys present must be exactly the signer and those that can still verify a record. */
static bool
keys_exact(const struct walk *w, struct keyring *kr, time_t now)
{
	bool need[KEYRING_SLOTS] = { false };
	long day = clock_day(now);
	int i;

	need[keyring_signer(kr, now)] = true;
	for (i = 0; i < w->n; i++)
		if (day - w->rec[i].day <= (w->rec[i].srs ? MAX_AGE : VALIDITY))
			need[w->rec[i].slot] = true;
	for (i = 0; i < KEYRING_SLOTS; i++)
		if (need[i] != keyring_has(kr, i)) {
			printf("# day %ld: slot %d present %d, needed %d\n", day, i,
			    keyring_has(kr, i), need[i]);
			return false;
		}
	return true;
}

/* One moment: prune, take a snapshot, sign, check everything carried, check the key set. */
static void
pass(struct walk *w, time_t now, int n, bool exact)
{
	struct keyring *kr;
	unsigned pruned;
	char why[512];

	if (ks_prune(
		w->dir, KEYRING_NO_USER, now, w->window, false, &pruned, why, sizeof(why)) != 0)
		printf("# %lld: prune: %s\n", (long long)now, why);
	kr = load_at(w->dir);
	sign_both(w, kr, now, n);
	check_all(w, kr, now);
	if (exact && !keys_exact(w, kr, now))
		w->failures++;
	keyring_unref(kr);
}

/* A day: its first second (the old key still signs), a rotation at the next second, and the
 * day's last second. A rotation just after midnight is the worst case for the window: a tag
 * signed at 00:00:00 lives until the end of its last valid day. The key set is checked
 * at the second and the last second of each day: at the first second a key retired at 00:00:01
 * twenty-two days ago is one second short of prunable, and that second is all the slack. */
static void
step(struct walk *w, long d, bool rotate)
{
	time_t first = START + d * DAY, now = first + 1, last = first + DAY - 1, at = now;
	char why[512];
	int slot;

	pass(w, first, 0, false);
	if (rotate) {
		if (ks_rotate(w->dir, KEYRING_NO_USER, now, &at, w->window, KEYFILE_KEEP_UID,
			KEYFILE_KEEP_GID, &slot, why, sizeof(why)) != 0)
			printf("# day %ld: rotate: %s\n", d, why);
		else
			w->rotations++;
	}
	pass(w, now, 1, true);
	pass(w, last, 2, true);
}

static void
test_two_years(void)
{
	static struct walk w;
	char why[512], dir[128];
	long d;

	snprintf(dir, sizeof(dir), "%s/walk", base);
	w.dir = dir;
	w.window = keyring_window(VALIDITY, MAX_AGE);
	if (ks_init(dir, KEYRING_NO_USER, START, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why,
		sizeof(why)) != 0)
		bail_out(why);
	for (d = 0; d <= 24 * 30 + 40; d++) {
		int before = w.failures;

		step(&w, d, d > 0 && d % 30 == 0 && d <= 24 * 30);
		if (d % 30 == 29 || before != w.failures)
			ok(before == w.failures, "through day %ld: %d checks, %d rotations", d,
			    w.checks, w.rotations);
	}
	is_int(w.rotations, 24, "24 monthly rotations");
	is_int(w.failures, 0, "every tag and SRS address valid exactly within its window");
}

/* Rotating every day runs out of free slots: the tenth rotation must wait for slot 0. */
static void
test_reuse_refused(void)
{
	const time_t window = keyring_window(VALIDITY, MAX_AGE);
	char why[512], dir[128], want[64];
	struct keyring *kr;
	unsigned pruned;
	struct tm tm;
	time_t now, at, free_at = START + DAY + NOON + window;
	int d, slot, ok_days = 0, refused_days = 0, rc;

	snprintf(dir, sizeof(dir), "%s/reuse", base);
	if (ks_init(dir, KEYRING_NO_USER, START + NOON, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID,
		why, sizeof(why)) != 0)
		bail_out(why);
	for (d = 1; d < 10; d++) {
		now = at = START + d * DAY + NOON;
		ok_days += ks_rotate(dir, KEYRING_NO_USER, now, &at, window, KEYFILE_KEEP_UID,
			       KEYFILE_KEEP_GID, &slot, why, sizeof(why)) == 0 &&
			   slot == d;
	}
	is_int(ok_days, 9, "nine daily rotations fill slots 1-9");
	gmtime_r(&free_at, &tm);
	strftime(want, sizeof(want), "until %Y-%m-%d %H:%M:%S UTC", &tm);
	for (d = 10; START + d * DAY + NOON < free_at; d++) {
		now = at = START + d * DAY + NOON;
		rc = ks_rotate(dir, KEYRING_NO_USER, now, &at, window, KEYFILE_KEEP_UID,
		    KEYFILE_KEEP_GID, &slot, why, sizeof(why));
		refused_days += rc == KEYRING_EBUSY && strstr(why, want) != NULL &&
		    strstr(why, "slot 0") != NULL;
	}
	is_int(refused_days, 13, "reusing slot 0 refused on each of the 13 days before it is free");
	ok(strstr(why, want) != NULL, "the refusal says when: %s", why);
	kr = load_at(dir);
	ok(keyring_has(kr, 0) && keyring_signer(kr, now) == 9, "nothing was written meanwhile");
	keyring_unref(kr);
	now = at = free_at - 1;
	is_int(ks_rotate(dir, KEYRING_NO_USER, now, &at, window, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    KEYRING_EBUSY, "still refused a second early");
	now = at = free_at;
	is_int(ks_rotate(dir, KEYRING_NO_USER, now, &at, window, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    0, "allowed at the announced time");
	is_int(slot, 0, "into slot 0");
	is_int(ks_prune(dir, KEYRING_NO_USER, now, window, false, &pruned, why, sizeof(why)),
	    0, "prune");
	is_int(pruned, 0, "slot 1, retired a day after slot 0, is not prunable yet");
	is_int(ks_prune(
		   dir, KEYRING_NO_USER, now + DAY, window, false, &pruned, why, sizeof(why)),
	    0, "prune a day later");
	is_int(pruned, 1u << 1, "slot 1 pruned then");
}

static int
export_import(const char *from, const char *to, int slot, time_t activate, time_t now)
{
	unsigned char *secret = sodium_malloc(KEYRING_KEY_BYTES);
	char why[512];
	time_t act;
	bool present, changed;
	int rc;

	rc = keyfile_read(from, KEYRING_NO_USER, slot, secret, &act, &present, why, sizeof(why));
	if (rc == 0 && present)
		rc = ks_import(to, KEYRING_NO_USER, slot, secret,
		    activate != 0 ? activate : act, false, now, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID,
		    &changed, why, sizeof(why));
	if (rc != 0)
		printf("# %s\n", why);
	sodium_free(secret);
	return rc != 0 || !present ? -1 : 0;
}

/* Sign on a, verify on b at each of the times; 0 when every one is valid. */
static int
cross_check(const char *a, const char *b, time_t signed_at, time_t *checks, int n)
{
	struct keyring *ka = load_at(a), *kb;
	struct addr plain, p, s, out;
	int i, bad = 0;

	if (addr_set(&plain, "alice", 5, "example.com") != 0 ||
	    prvs_sign(ka, &plain, signed_at, VALIDITY, &p) != 0)
		bail_out("prvs_sign");
	if (addr_set(&plain, "bob", 3, "foreign.org") != 0 ||
	    srs_forward(&srs, ka, signed_at, &plain, &s) != 0)
		bail_out("srs_forward");
	keyring_unref(ka);
	for (i = 0; i < n; i++) {
		kb = load_at(b);
		bad += prvs_verify(kb, &p, checks[i], VALIDITY, &out) != PRVS_VALID;
		bad += srs_reverse(&srs, kb, checks[i], &s, &out) != 0;
		keyring_unref(kb);
	}
	return bad;
}

static void
test_two_hosts(void)
{
	const time_t window = keyring_window(VALIDITY, MAX_AGE);
	char a[128], b[128], why[512];
	time_t t0 = START + NOON, rot = t0 + 30 * DAY, act = rot + 7200, h;
	struct keyring *ka, *kb;
	int slot = -1, bad = 0, moved = 0;

	snprintf(a, sizeof(a), "%s/host-a", base);
	snprintf(b, sizeof(b), "%s/host-b", base);
	if (ks_init(
		a, KEYRING_NO_USER, t0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why, sizeof(why)) != 0)
		bail_out(why);
	is_int(export_import(a, b, 0, 0, t0), 0, "host b imports slot 0 from host a");
	/* every ten minutes from a day before the rotation to a day after the activation: host a
	 * rotates with --activate-in 2h, host b imports ten minutes later */
	for (h = rot - DAY; h <= act + DAY; h += 600) {
		time_t checks[] = { h, h + 3600, h + VALIDITY * DAY };

		if (h == rot)
			moved +=
			    ks_rotate(a, KEYRING_NO_USER, rot, &act, window, KEYFILE_KEEP_UID,
				KEYFILE_KEEP_GID, &slot, why, sizeof(why)) == 0;
		if (h == rot + 600)
			moved += export_import(a, b, slot, 0, h) == 0;
		bad += cross_check(a, b, h, checks, 3);
		bad += cross_check(b, a, h, checks, 3);
		bad += cross_check(a, a, h, checks, 3);
		bad += cross_check(b, b, h, checks, 3);
	}
	is_int(moved, 2, "host a rotated, host b imported the new key before its activation");
	is_int(slot, 1, "the new key is in slot 1 on both");
	is_int(bad, 0, "tags and SRS addresses signed by either host verify on both, around the "
	    "switch and until they expire");
	ka = load_at(a);
	kb = load_at(b);
	ok(keyring_signer(ka, act - 1) == 0 && keyring_signer(kb, act - 1) == 0,
	    "both hosts sign with slot 0 until the activation");
	ok(keyring_signer(ka, act) == 1 && keyring_signer(kb, act) == 1,
	    "both switch to slot 1 at the same second");
	keyring_unref(ka);
	keyring_unref(kb);
	is_int(export_import(a, b, slot, act + 60, act), -1,
	    "importing the same secret with another activation is a different key: refused");
}

int
main(void)
{
	char cmd[128];

	if (sodium_init() < 0)
		bail_out("sodium_init");
	umask(022);
	snprintf(base, sizeof(base), "/tmp/test-keylife.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	test_two_years();
	test_reuse_refused();
	test_two_hosts();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
