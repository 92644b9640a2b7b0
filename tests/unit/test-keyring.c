/* test-keyring: the key store on disk and its snapshots. Loading good directories, the
 * signer by activation time, every permission refusal and corruption case (each message must
 * name the file), atomic writes, the key lifecycle, the snapshot holder and the watch. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "keyfile.h"
#include "keyring.h"
#include "keystore-args.h"
#include "keywatch.h"
#include "tap.h"

#define T0 1764183600	/* 2025-11-26 19:00:00 UTC */
#define DAY CLOCK_DAY

static char base[64];
static unsigned char key_a[KEYRING_KEY_BYTES], key_b[KEYRING_KEY_BYTES];

static char *
path_in(const char *dir, const char *name)
{
	static char buf[4][512];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void
write_raw(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0)
		bail_out("cannot write a test file");
	if (chmod(path, mode) != 0)
		bail_out("chmod");
}

static void
write_key(const char *dir, int slot, const unsigned char *secret, time_t activate, mode_t mode)
{
	char text[KEYFILE_TEXT_MAX], name[16];
	int n = keyfile_format(secret, activate, text, sizeof(text));

	if (n < 0)
		bail_out("keyfile_format");
	snprintf(name, sizeof(name), "%d.key", slot);
	write_raw(path_in(dir, name), text, (size_t)n, mode);
}

/* a fresh private directory under base */
static char *
new_dir(const char *name)
{
	static char buf[8][512];
	static int n;
	char *p = buf[n++ % 8];
	char cmd[600];

	snprintf(p, sizeof(buf[0]), "%s/%s", base, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0 || mkdir(p, 0700) != 0 || chmod(p, 0700) != 0)
		bail_out("mkdir");
	return p;
}

static int
load(const char *dir, struct keyring **kr, char *why, size_t whylen)
{
	why[0] = '\0';
	*kr = NULL;
	return keyring_load(dir, KEYRING_NO_USER, kr, why, whylen);
}

static void
test_format(void)
{
	const char *text = "# backstop key\nactivate 1764183600\n"
	    "secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	unsigned char want[KEYRING_KEY_BYTES], got[KEYRING_KEY_BYTES];
	char buf[KEYFILE_TEXT_MAX], why[256];
	time_t act = 0;
	int i;

	for (i = 0; i < KEYRING_KEY_BYTES; i++)
		want[i] = (unsigned char)i;
	is_int(keyfile_parse(text, strlen(text), "x", got, &act, why, sizeof(why)), 0,
	    "keys/README.md example parses");
	is_int(act, 1764183600, "activation read");
	ok(memcmp(got, want, sizeof(want)) == 0, "secret decoded");
	is_int(keyfile_format(want, 1764183600, buf, sizeof(buf)), (long long)strlen(text),
	    "format length");
	is_str(buf, text, "format is the keys/README.md text");
	is_int(keyfile_format(want, 1, buf, 20), KEYRING_ENOMEM, "format refuses a short buffer");
	text = "\n  # comment\r\nsecret  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=  \r\n"
	    "\tactivate\t7\r\n";
	is_int(keyfile_parse(text, strlen(text), "x", got, &act, why, sizeof(why)), 0,
	    "comments, blank lines, CRLF, tabs and any order are fine");
	is_int(act, 7, "activation read in the second form");
}

/* an exported key file names its slot in its first line, a comment the parser skips */
static void
test_slot_comment(void)
{
	const char *text = "# backstop key, slot 4\nactivate 1764183600\n"
	    "secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
	unsigned char want[KEYRING_KEY_BYTES], got[KEYRING_KEY_BYTES];
	char buf[KEYFILE_TEXT_MAX], why[256];
	time_t act = 0;
	int i, slot = 99;

	for (i = 0; i < KEYRING_KEY_BYTES; i++)
		want[i] = (unsigned char)i;
	is_int(keyfile_format_slot(want, 1764183600, 4, buf, sizeof(buf)), (long long)strlen(text),
	    "format with a slot: length");
	is_str(buf, text, "format with a slot: the slot in the first comment");
	is_int(keyfile_parse(text, strlen(text), "x", got, &act, why, sizeof(why)), 0,
	    "the slot comment is skipped by the parser");
	ok(memcmp(got, want, sizeof(want)) == 0 && act == 1764183600, "and the key reads back");
	is_int(keyfile_slot_named(text, strlen(text), "x", &slot, why, sizeof(why)), 0,
	    "slot comment read");
	is_int(slot, 4, "it names slot 4");
	is_int(keyfile_format_slot(want, 9, -1, buf, sizeof(buf)), keyfile_format(want, 9, why,
	    sizeof(why)), "slot -1: the plain format");
	is_str(buf, why, "the same text");
	is_int(keyfile_slot_named(buf, strlen(buf), "x", &slot, why, sizeof(why)), 0,
	    "no slot comment: fine");
	is_int(slot, -1, "no slot named");
	text = "# an old key, slot 3 on mx2\n  # backstop key, slot 7 \r\nactivate 1\n";
	is_int(keyfile_slot_named(text, strlen(text), "x", &slot, why, sizeof(why)), 0,
	    "other comments are not slot comments; spaces and CR around it are fine");
	is_int(slot, 7, "slot 7");
	text = "# backstop key, slot 1\n# backstop key, slot 2\n";
	is_int(keyfile_slot_named(text, strlen(text), "in", &slot, why, sizeof(why)),
	    KEYRING_ECORRUPT, "two slots named: refused");
	is_str(why, "in:2: names slot 2, but line 1 names slot 1", "says where");
	text = "# backstop key, slot 1\n# backstop key, slot 1\n";
	is_int(keyfile_slot_named(text, strlen(text), "in", &slot, why, sizeof(why)), 0,
	    "the same slot twice: fine");
	text = "activate 1\n# backstop key, slot 12\n";
	is_int(keyfile_slot_named(text, strlen(text), "in", &slot, why, sizeof(why)),
	    KEYRING_ECORRUPT, "slot 12: refused");
	ok(strstr(why, "in:2:") != NULL && strstr(why, "0-9") != NULL, "says so: %s", why);
}

static void
test_load_good(void)
{
	char *dir = new_dir("good"), why[512];
	struct keyring *kr;

	write_key(dir, 0, key_a, T0, 0600);
	write_key(dir, 3, key_b, T0 + 30 * DAY, 0640);
	write_key(dir, 7, key_a, T0 + 60 * DAY, 0400);
	write_raw(path_in(dir, "created"), "created 1764000000\n", 19, 0644);
	write_raw(path_in(dir, "README"), "not a key\n", 10, 0666);
	write_raw(path_in(dir, "0.key.tmp"), "junk", 4, 0666);
	write_raw(path_in(dir, ".0.key.AbC123"), "junk", 4, 0600);
	write_raw(path_in(dir, "12.key"), "junk", 4, 0666);
	write_raw(path_in(dir, "01.key"), "junk", 4, 0666);
	if (mkdir(path_in(dir, "sub"), 0777) != 0)
		bail_out("mkdir sub");
	if (!ok(load(dir, &kr, why, sizeof(why)) == 0, "good directory loads (other files ignored)"))
		printf("# %s\n", why);
	if (kr == NULL)
		bail_out("cannot go on");
	is_int(keyring_count(kr), 3, "three keys");
	ok(keyring_has(kr, 0) && keyring_has(kr, 3) && keyring_has(kr, 7) && !keyring_has(kr, 1),
	    "in slots 0, 3, 7");
	is_int(keyring_created(kr), 1764000000, "creation record read");
	is_int(keyring_activate(kr, 3), T0 + 30 * DAY, "activation of slot 3");
	is_int(keyring_signer(kr, T0 - 1), KEYRING_ENOSIGNER, "no signer before the first key");
	is_int(keyring_signer(kr, T0), 0, "slot 0 signs from its activation");
	is_int(keyring_signer(kr, T0 + 30 * DAY - 1), 0, "slot 0 until slot 3 activates");
	is_int(keyring_signer(kr, T0 + 30 * DAY), 3, "slot 3 from its activation");
	is_int(keyring_signer(kr, T0 + 60 * DAY - 1), 3, "future key 7 does not sign early");
	is_int(keyring_signer(kr, T0 + 60 * DAY), 7, "slot 7 from its activation");
	ok(keyring_prvs_key(kr, 7) != NULL && keyring_srs_key(kr, 7) != NULL,
	    "a pending key already verifies (sub-keys present)");
	ok(sodium_memcmp(keyring_prvs_key(kr, 0), keyring_prvs_key(kr, 7), 32) == 0,
	    "same secret, same sub-key");
	keyring_unref(kr);
	if (unlink(path_in(dir, "created")) != 0)
		bail_out("unlink");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_created(kr) == 0,
	    "no creation record: created is 0");
	keyring_unref(kr);
}

static void
test_no_keys(void)
{
	char *dir = new_dir("empty"), why[512];
	struct keyring *kr;

	write_raw(path_in(dir, "README"), "x", 1, 0644);
	is_int(load(dir, &kr, why, sizeof(why)), KEYRING_ENOKEYS, "empty directory: ENOKEYS");
	ok(strstr(why, dir) != NULL && strstr(why, "backstop-keys init") != NULL,
	    "message names the directory and says to run init: %s", why);
	ok(kr == NULL, "no snapshot on failure");
	is_int(load(path_in(dir, "nope"), &kr, why, sizeof(why)), KEYRING_ENOKEYS,
	    "missing directory: ENOKEYS");
	ok(strstr(why, "nope") != NULL && strstr(why, "backstop-keys init") != NULL,
	    "message names it and says to run init: %s", why);
}

/* load must fail with rc and a message holding each of the needles */
static void
refused(const char *dir, int rc, const char *n1, const char *n2, const char *what)
{
	struct keyring *kr;
	char why[512];
	int got = load(dir, &kr, why, sizeof(why));

	is_int(got, rc, "%s: refused", what);
	ok(strstr(why, n1) != NULL && (n2 == NULL || strstr(why, n2) != NULL),
	    "%s: message names %s: %s", what, n1, why);
	if (got == 0)
		keyring_unref(kr);
}

static void
test_permissions(void)
{
	static const struct { mode_t mode; const char *fix; const char *what; } bad[] = {
		{ 0644, "readable by others (mode 0644)", "world-readable key" },
		{ 0604, "readable by others (mode 0604)", "world-readable only" },
		{ 0620, "is writable by its group (mode 0620)", "group-writable key" },
		{ 0602, "is writable by others (mode 0602)", "world-writable key" },
		{ 0666, "writable by its group and by others (mode 0666)", "0666 key" },
	};
	char *dir = new_dir("perm"), *key = path_in(dir, "4.key"), fix[600];
	struct keyring *kr;
	char why[512];
	size_t i;

	write_key(dir, 4, key_a, T0, 0600);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (chmod(key, bad[i].mode) != 0)
			bail_out("chmod");
		snprintf(fix, sizeof(fix), "run chmod 600 %s", key);
		refused(dir, KEYRING_EPERM, bad[i].fix, fix, bad[i].what);
	}
	if (chmod(key, 0640) != 0)
		bail_out("chmod");
	ok(load(dir, &kr, why, sizeof(why)) == 0, "group-readable 0640 is allowed (--owner u:g)");
	keyring_unref(kr);
	if (chmod(dir, 0770) != 0)
		bail_out("chmod");
	snprintf(fix, sizeof(fix), "run chmod 700 %s", dir);
	refused(dir, KEYRING_EPERM, "is writable by its group (mode 0770)", fix, "group-writable dir");
	if (chmod(dir, 0703) != 0)
		bail_out("chmod");
	refused(dir, KEYRING_EPERM, "is writable by others (mode 0703)", fix, "world-writable dir");
	if (chmod(dir, 0755) != 0)
		bail_out("chmod");
	ok(load(dir, &kr, why, sizeof(why)) == 0, "a 0755 directory is allowed");
	keyring_unref(kr);
	write_raw(path_in(dir, "created"), "created 5\n", 10, 0666);
	refused(dir, KEYRING_EPERM, "created is writable by its group and by others", "chmod 644",
	    "writable creation record");
}

static void
test_file_types(void)
{
	char *dir = new_dir("types"), *other = path_in(base, "elsewhere.key");
	struct keyring *kr;
	char why[512];

	write_key(dir, 0, key_a, T0, 0600);
	write_key(base, 9, key_a, T0, 0600);
	if (rename(path_in(base, "9.key"), other) != 0 || symlink(other, path_in(dir, "1.key")) != 0)
		bail_out("symlink");
	refused(dir, KEYRING_EPERM, "1.key is a symbolic link", "replace it",
	    "symlink to elsewhere");
	unlink(path_in(dir, "1.key"));
	if (mkdir(path_in(dir, "2.key"), 0700) != 0)
		bail_out("mkdir");
	refused(dir, KEYRING_EPERM, "2.key is not a regular file", NULL, "directory as key");
	rmdir(path_in(dir, "2.key"));
	if (mkfifo(path_in(dir, "3.key"), 0600) != 0)
		bail_out("mkfifo");
	refused(dir, KEYRING_EPERM, "3.key is not a regular file", NULL, "fifo (no hang)");
	unlink(path_in(dir, "3.key"));
	write_raw(path_in(base, "notadir"), "x", 1, 0600);
	refused(path_in(base, "notadir"), KEYRING_EPERM, "is not a directory", NULL,
	    "KeyDirectory is a file");
	ok(load(dir, &kr, why, sizeof(why)) == 0, "clean again after the odd files are gone");
	keyring_unref(kr);
}

static const struct {
	const char *text;
	size_t len;	/* 0: strlen */
	const char *where;	/* "0.key:LINE:" expected in the message */
	const char *what;
} corrupt[] = {
	{ "", 0, "0.key:1:", "no 'activate' line" },
	{ "# backstop key\n", 0, "0.key:2:", "no 'activate' line" },
	{ "activate 5\n", 0, "0.key:2:", "no 'secret' line" },
	{ "secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:2:",
	    "no 'activate' line" },
	{ "activate 5\nactivate 6\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0,
	    "0.key:2:", "duplicate 'activate' line (first on line 1)" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
	  "secret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:3:",
	    "duplicate 'secret' line" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 0, "0.key:2:",
	    "secret is 43 characters, expected 44" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxA=\n", 0, "0.key:2:",
	    "secret is 24 characters" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==\n", 0,
	    "0.key:2:", "secret is 48 characters" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 0, "0.key:2:",
	    "not valid base64" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH!8=\n", 0, "0.key:2:",
	    "not valid base64" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-_8=\n", 0, "0.key:2:",
	    "not valid base64" },
	{ "activate 12x\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:",
	    "'activate' must be a Unix time" },
	{ "activate -5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:",
	    "'activate' must be a Unix time" },
	{ "activate 99999999999999999999\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	    0, "0.key:1:", "'activate' must be a Unix time" },
	{ "activate 5 6\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:",
	    "'activate' must be a Unix time" },
	{ "activate\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:",
	    "a field without a value" },
	{ "activate 5\nhello world\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0,
	    "0.key:2:", "line not understood" },
	{ "\x01\x02\xff\xfe garbage\n", 0, "0.key:1:", "line not understood" },
	{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:", "a field without" },
	{ "activate 5\nsecret AAECAwQFBgcICQoLDA0O\0DxAREhMUFRYXGBkaGxwdHh8=\n", 57, "0.key:2:",
	    "NUL byte" },
	{ "Activate 5\nsecret AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0, "0.key:1:",
	    "line not understood" },
};

static void
test_corrupt(void)
{
	char *dir = new_dir("corrupt"), *key = path_in(dir, "0.key"), big[KEYFILE_MAX + 10];
	char where[600];
	size_t i;

	for (i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		size_t len = corrupt[i].len != 0 ? corrupt[i].len : strlen(corrupt[i].text);

		write_raw(key, corrupt[i].text, len, 0600);
		snprintf(where, sizeof(where), "%s/%s", dir, corrupt[i].where);
		refused(dir, KEYRING_ECORRUPT, where, corrupt[i].what, corrupt[i].what);
	}
	memset(big, '#', sizeof(big));
	write_raw(key, big, sizeof(big), 0600);
	refused(dir, KEYRING_ECORRUPT, key, "too large", "huge file");
	write_key(dir, 0, key_a, T0, 0600);
	write_raw(path_in(dir, "created"), "created soon\n", 13, 0644);
	refused(dir, KEYRING_ECORRUPT, "/created:1:", "Unix time", "corrupt creation record");
	write_raw(path_in(dir, "created"), "created 1\ncreated 2\n", 20, 0644);
	refused(dir, KEYRING_ECORRUPT, "/created:2:", "duplicate", "two creation lines");
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_write(void)
{
	char *dir = new_dir("write"), why[512];
	struct keyring *kr;
	struct stat st;
	int i;

	for (i = 0; i < 5; i++)
		is_int(keyfile_write_key(dir, 2, i % 2 ? key_a : key_b, T0 + i, KEYFILE_KEEP_UID,
		    KEYFILE_KEEP_GID, why, sizeof(why)), 0, "write %d of slot 2", i);
	is_int(count_entries(dir), 1, "only 2.key in the directory: no temp files left");
	ok(stat(path_in(dir, "2.key"), &st) == 0 && (st.st_mode & 07777) == 0600,
	    "written with mode 0600");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_activate(kr, 2) == T0 + 4,
	    "the last write is what loads");
	keyring_unref(kr);
	is_int(keyfile_write_created(dir, 42, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why,
	    sizeof(why)), 0, "creation record written");
	ok(stat(path_in(dir, "created"), &st) == 0 && (st.st_mode & 07777) == 0644,
	    "creation record mode 0644");
	is_int(keyfile_write_key(path_in(dir, "missing"), 1, key_a, T0, KEYFILE_KEEP_UID,
	    KEYFILE_KEEP_GID, why, sizeof(why)), KEYRING_EIO, "write into a missing directory");
	ok(strstr(why, "missing") != NULL, "message names it: %s", why);
	is_int(keyfile_write_key(dir, 10, key_a, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why,
	    sizeof(why)), KEYRING_ESLOT, "slot 10 refused");
	is_int(count_entries(dir), 2, "failed writes leave nothing behind");
	is_int(keyfile_remove(dir, 2, why, sizeof(why)), 0, "remove slot 2");
	is_int(keyfile_remove(dir, 2, why, sizeof(why)), 0, "removing an absent key is fine");
	is_int(count_entries(dir), 1, "only the creation record is left");
}

static struct keyring *
ring(const time_t act[KEYRING_SLOTS])
{
	struct keyring *kr = keyring_new();
	int i;

	for (i = 0; i < KEYRING_SLOTS; i++)
		if (act[i] != 0 && keyring_add(kr, i, key_a, act[i]) != 0)
			bail_out("keyring_add");
	return kr;
}

static void
test_lifecycle(void)
{
	/* slot 8 old, 9 retired at +30d, 0 signing from +60d, 1 pending at +90d */
	const time_t act[KEYRING_SLOTS] = { T0 + 60 * DAY, T0 + 90 * DAY, 0, 0, 0, 0, 0, 0, T0,
		T0 + 30 * DAY };
	const time_t w = keyring_window(7, 21);
	struct keyring *kr = ring(act);
	time_t now = T0 + 61 * DAY, free_at;

	is_int(w, 22 * DAY, "window: max(7, 21) + 1 days");
	is_int(keyring_window(30, 21), 31 * DAY, "window: max(30, 21) + 1 days");
	is_int(keyring_retired(kr, 8), T0 + 30 * DAY, "8 retires when 9 activates");
	is_int(keyring_retired(kr, 0), T0 + 90 * DAY, "0 retires when pending 1 activates");
	is_int(keyring_retired(kr, 1), 0, "the newest key is not retired");
	is_int(keyring_retired(kr, 5), 0, "an empty slot is not retired");
	is_str(keyring_state_name(keyring_state(kr, 8, now, w)), "prunable", "8 prunable");
	is_str(keyring_state_name(keyring_state(kr, 9, now, w)), "verifying", "9 verifying");
	is_str(keyring_state_name(keyring_state(kr, 0, now, w)), "signing", "0 signing");
	is_str(keyring_state_name(keyring_state(kr, 1, now, w)), "pending", "1 pending");
	is_str(keyring_state_name(keyring_state(kr, 2, now, w)), "empty", "2 empty");
	is_str(keyring_state_name(keyring_state(kr, 9, T0 + 82 * DAY - 1, w)), "verifying",
	    "9 verifies until 22 days after its retirement");
	is_str(keyring_state_name(keyring_state(kr, 9, T0 + 82 * DAY, w)), "prunable",
	    "9 prunable 22 days after its retirement");
	is_int(keyring_rotate_slot(kr, now, w, &free_at), KEYRING_EBUSY,
	    "next slot holds a pending key: busy");
	is_int(free_at, 0, "a pending key has no free time");
	keyring_unref(kr);
	{
		const time_t act2[KEYRING_SLOTS] = { T0 + 10 * DAY, 0, 0, 0, 0, 0, 0, 0, 0, T0 };
		struct keyring *k2 = ring(act2);

		is_int(keyring_rotate_slot(k2, T0 + 5 * DAY, w, &free_at), KEYRING_EBUSY,
		    "9 signs, the next slot wraps to 0, which holds a pending key: busy");
		keyring_unref(k2);
	}
}

static void
test_rotate_slot(void)
{
	const time_t act[KEYRING_SLOTS] = { T0 + 9 * DAY, T0, 0, 0, 0, 0, 0, 0, 0, 0 };
	const time_t w = keyring_window(7, 21);
	struct keyring *kr = ring(act);
	time_t free_at;

	/* slot 0 signs (activated at +9d); the next slot is 1, retired at +9d */
	is_int(keyring_rotate_slot(kr, T0 + 10 * DAY, w, &free_at), KEYRING_EBUSY,
	    "slot 1 still verifies: busy");
	is_int(free_at, T0 + 31 * DAY, "free 22 days after its retirement");
	is_int(keyring_rotate_slot(kr, T0 + 31 * DAY, w, &free_at), 1, "free at that moment");
	keyring_unref(kr);
	kr = keyring_new();
	is_int(keyring_rotate_slot(kr, T0, w, &free_at), KEYRING_ENOKEYS, "empty ring: ENOKEYS");
	keyring_unref(kr);
}

static void
test_store_ops(void)
{
	char *dir = path_in(base, "ops/deeper/keys"), why[512];
	const time_t w = keyring_window(7, 21);
	struct keyring *kr;
	unsigned pruned;
	bool changed;
	struct stat st;
	time_t at;
	int slot;

	is_int(ks_init(
		   dir, KEYRING_NO_USER, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why, sizeof(why)),
	    0, "init creates the directory and the first key");
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "directory mode 0700");
	is_int(ks_init(path_in(base, "slash/keys//"), KEYRING_NO_USER, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, why, sizeof(why)),
	    0, "init of a path with trailing slashes");
	ok(stat(path_in(base, "slash/keys"), &st) == 0 && (st.st_mode & 07777) == 0700,
	    "still a 0700 directory");
	is_int(ks_init(
		   dir, KEYRING_NO_USER, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why, sizeof(why)),
	    KEYRING_EEXIST, "a second init is refused");
	ok(strstr(why, dir) != NULL && strstr(why, "already holds keys") != NULL, "and says so");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_created(kr) == T0 &&
	    keyring_signer(kr, T0) == 0, "init: slot 0 signs now, created recorded");
	keyring_unref(kr);
	at = T0 + DAY + 7200;
	is_int(ks_rotate(dir, KEYRING_NO_USER, T0 + DAY, &at, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    0, "rotate with a delay");
	is_int(slot, 1, "into slot 1");
	is_int(at, T0 + DAY + 7200, "activation as asked");
	at = T0 + DAY;
	is_int(ks_rotate(dir, KEYRING_NO_USER, T0 + DAY, &at, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    KEYRING_EBUSY, "a second rotation before activation: busy");
	ok(strstr(why, "slot 1") != NULL && strstr(why, "pending") != NULL, "says why: %s", why);
	is_int(ks_prune(
		   dir, KEYRING_NO_USER, T0 + 23 * DAY + 7200, w, true, &pruned, why, sizeof(why)),
	    0, "prune --dry-run");
	is_int(pruned, 1, "would prune slot 0");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_has(kr, 0), "dry run keeps it");
	keyring_unref(kr);
	is_int(ks_prune(
		   dir, KEYRING_NO_USER, T0 + 23 * DAY + 7199, w, false, &pruned, why, sizeof(why)),
	    0, "prune a second early");
	is_int(pruned, 0, "nothing yet");
	is_int(ks_prune(
		   dir, KEYRING_NO_USER, T0 + 23 * DAY + 7200, w, false, &pruned, why, sizeof(why)),
	    0, "prune on time");
	is_int(pruned, 1, "slot 0 pruned");
	is_int(ks_import(dir, KEYRING_NO_USER, 1, key_a, T0, false, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    KEYRING_EEXIST, "import over a different key: refused");
	ok(strstr(why, "1.key") != NULL && strstr(why, "--force") != NULL, "says so: %s", why);
	is_int(ks_import(dir, KEYRING_NO_USER, 4, key_a, T0, false, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    0, "import into a free slot");
	ok(changed, "changed");
	is_int(ks_import(dir, KEYRING_NO_USER, 4, key_a, T0, false, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    0, "the same key again");
	ok(!changed, "is a no-op");
	is_int(ks_import(dir, KEYRING_NO_USER, 4, key_b, T0, true, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    0, "a different key with force");
	ok(changed, "replaces it");
	is_int(ks_import(dir, KEYRING_NO_USER, 6, key_b, T0, false, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    KEYRING_EEXIST, "the key of slot 4 into slot 6: refused");
	ok(strstr(why, "4.key holds this key already") != NULL &&
	    strstr(why, "import it as slot 4") != NULL, "says which slot holds it: %s", why);
	is_int(ks_import(dir, KEYRING_NO_USER, 6, key_b, T0 + 5, true, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    KEYRING_EEXIST, "with force and another activation too");
	ok(!changed && access(path_in(dir, "6.key"), F_OK) != 0, "nothing written");
	is_int(ks_import(dir, KEYRING_NO_USER, 1, key_b, T0, true, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    KEYRING_EEXIST, "nor over another key with force");
	is_int(ks_import(dir, KEYRING_NO_USER, 4, key_b, T0 + 9, true, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    0, "its own slot with a new activation and force: fine");
	is_int(ks_import(path_in(base, "fresh"), KEYRING_NO_USER, 0, key_a, T0, false, T0 + 5,
		   KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, &changed, why, sizeof(why)),
	    0, "import into a new store creates it");
	ok(load(path_in(base, "fresh"), &kr, why, sizeof(why)) == 0 &&
	    keyring_created(kr) == T0 + 5, "with a creation record");
	keyring_unref(kr);
}

/* same_key - does slot of dir hold the key that slot of kr held? */
static bool
same_key(const struct keyring *kr, const char *dir, int slot)
{
	struct keyring *now;
	char why[512];
	bool same;

	if (load(dir, &now, why, sizeof(why)) != 0)
		return false;
	same = keyring_has(now, slot) && keyring_activate(now, slot) == keyring_activate(kr, slot) &&
	    sodium_memcmp(keyring_prvs_key(now, slot), keyring_prvs_key(kr, slot),
		KEYRING_KEY_BYTES) == 0;
	keyring_unref(now);
	return same;
}

static void
test_revoke(void)
{
	char *dir = path_in(base, "revoke/keys"), why[512];
	const time_t w = keyring_window(7, 21);
	struct keyring *kr, *before;
	time_t at;
	int slot;

	is_int(ks_init(
		   dir, KEYRING_NO_USER, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why, sizeof(why)),
	    0, "revoke: a store");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 3, T0 + 60, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    KEYRING_EEMPTY, "revoke an empty slot: refused");
	ok(strstr(why, "3.key") != NULL && strstr(why, "no key in slot 3") != NULL, "says so: %s",
	    why);
	is_int(ks_revoke(dir, KEYRING_NO_USER, 10, T0 + 60, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    KEYRING_ESLOT, "revoke slot 10: refused");
	/* the signing key: a new key signs from now, then the old one is gone */
	is_int(ks_revoke(dir, KEYRING_NO_USER, 0, T0 + 60, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    0, "revoke the signing key");
	is_int(slot, 1, "a new key in the next slot");
	is_int(at, T0 + 60, "signing from now");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && !keyring_has(kr, 0) &&
	    keyring_signer(kr, T0 + 60) == 1 && keyring_count(kr) == 1, "slot 0 gone, slot 1 signs");
	keyring_unref(kr);
	/* a verifying key goes, the signer stays */
	at = T0 + DAY;
	is_int(ks_rotate(dir, KEYRING_NO_USER, T0 + DAY, &at, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    0, "rotate again");
	ok(load(dir, &before, why, sizeof(why)) == 0, "load");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 1, T0 + DAY + 60, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    0, "revoke a verifying key");
	is_int(slot, -1, "no new key needed");
	ok(load(dir, &kr, why, sizeof(why)) == 0 && !keyring_has(kr, 1) &&
	    keyring_signer(kr, T0 + DAY + 60) == 2, "slot 1 gone, slot 2 still signs");
	keyring_unref(kr);
	ok(same_key(before, dir, 2), "and slot 2 is the same key");
	keyring_unref(before);
	/* a pending key blocks revoking the signer; revoking the pending key itself is fine */
	at = T0 + 2 * DAY + 7200;
	is_int(ks_rotate(dir, KEYRING_NO_USER, T0 + 2 * DAY, &at, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, why, sizeof(why)),
	    0, "rotate with a delay");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 2, T0 + 2 * DAY, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    KEYRING_EBUSY, "revoke the signer while slot 3 is pending: refused");
	ok(strstr(why, "slot 3") != NULL && strstr(why, "pending") != NULL &&
	    strstr(why, "revoke slot 3 first") != NULL, "says what to do: %s", why);
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_has(kr, 2) && keyring_has(kr, 3),
	    "nothing done");
	keyring_unref(kr);
	is_int(ks_revoke(dir, KEYRING_NO_USER, 3, T0 + 2 * DAY, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    0, "revoke the pending key");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 2, T0 + 2 * DAY, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    0, "then the signer");
	is_int(slot, 3, "a new key in slot 3");
	/* the next slot still verifies: the new key takes the revoked key's own slot */
	at = T0 + 2 * DAY + 60;
	is_int(ks_import(dir, KEYRING_NO_USER, 4, key_a, T0 + 2 * DAY - 30, false,
		   T0 + 2 * DAY + 60, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, &(bool){false}, why,
		   sizeof(why)),
	    0, "an older key in slot 4 (as if imported from another host)");
	ok(load(dir, &before, why, sizeof(why)) == 0 && keyring_signer(before, T0 + 2 * DAY + 60) == 3,
	    "slot 3 signs, slot 4 verifies");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 3, T0 + 2 * DAY + 60, w, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &slot, &at, why, sizeof(why)),
	    0, "revoke slot 3 when slot 4 is busy");
	is_int(slot, 3, "the new key replaces it in slot 3");
	ok(!same_key(before, dir, 3), "a different key");
	keyring_unref(before);
	ok(load(dir, &kr, why, sizeof(why)) == 0 && keyring_signer(kr, at) == 3 && at == T0 + 2 * DAY + 60,
	    "signing from now");
	keyring_unref(kr);
	/* the only key, pending: refused */
	dir = path_in(base, "revoke-one/keys");
	is_int(ks_import(dir, KEYRING_NO_USER, 5, key_b, T0 + DAY, false, T0, KEYFILE_KEEP_UID,
		   KEYFILE_KEEP_GID, &(bool){false}, why, sizeof(why)),
	    0, "a store with one pending key");
	is_int(ks_revoke(dir, KEYRING_NO_USER, 5, T0, w, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID,
		   &slot, &at, why, sizeof(why)),
	    KEYRING_EBUSY, "revoking the only key: refused");
	ok(strstr(why, "only key") != NULL, "says so: %s", why);
}

struct reader_arg {
	struct keyring_holder *h;
	int bad;
};

static void *
reader(void *p)
{
	struct reader_arg *a = p;
	int i;

	for (i = 0; i < 20000; i++) {
		struct keyring *kr = keyring_holder_get(a->h);

		if (kr == NULL || keyring_count(kr) != 1 || keyring_prvs_key(kr, 0) == NULL)
			a->bad++;
		keyring_unref(kr);
	}
	return NULL;
}

static void
test_holder(void)
{
	const time_t act[KEYRING_SLOTS] = { T0 };
	struct keyring_holder *h = keyring_holder_new(ring(act));
	struct keyring *old, *cur;
	struct reader_arg ra = { h, 0 };
	pthread_t th[3];
	char why[512];
	int i;

	old = keyring_holder_get(h);
	keyring_holder_swap(h, ring(act));
	cur = keyring_holder_get(h);
	ok(old != cur, "swap publishes a new snapshot");
	ok(keyring_prvs_key(old, 0) != NULL, "in-flight work keeps the old one alive");
	keyring_unref(old);
	keyring_unref(cur);
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, reader, &ra);
	for (i = 0; i < 2000; i++)
		keyring_holder_swap(h, ring(act));
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	is_int(ra.bad, 0, "readers always saw a whole snapshot during 2000 swaps");
	cur = keyring_holder_get(h);
	is_int(
	    keyring_holder_reload(h, KEYRING_NO_USER, path_in(base, "corrupt"), why, sizeof(why)),
	    KEYRING_ECORRUPT, "a failed reload reports why");
	old = keyring_holder_get(h);
	ok(old == cur, "and keeps the old snapshot");
	keyring_unref(old);
	keyring_unref(cur);
	is_int(keyring_holder_reload(h, KEYRING_NO_USER, path_in(base, "good"), why, sizeof(why)),
	    0, "a good reload");
	cur = keyring_holder_get(h);
	is_int(keyring_count(cur), 3, "publishes the new store");
	keyring_unref(cur);
	keyring_holder_free(h);
}

static void
test_watch(void)
{
	char *dir = new_dir("watch"), why[512];
	struct keywatch *w;

	write_key(dir, 0, key_a, T0, 0600);
	w = keywatch_open(dir, 100);
	ok(w != NULL, "watch opened");
	ok(!keywatch_changed(w, 101), "nothing changed");
	is_int(keyfile_write_key(dir, 1, key_b, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why,
	    sizeof(why)), 0, "a key is added");
	ok(!keywatch_changed(w, 101), "not looked at again within the second");
	ok(keywatch_changed(w, 102), "seen a second later");
	ok(!keywatch_changed(w, 103), "reported once");
	is_int(keyfile_write_key(dir, 1, key_a, T0, KEYFILE_KEEP_UID, KEYFILE_KEEP_GID, why,
	    sizeof(why)), 0, "a key is replaced by one of the same size");
	ok(keywatch_changed(w, 104), "seen");
	chmod(path_in(dir, "0.key"), 0640);
	ok(keywatch_changed(w, 105), "a chmod is seen (a fixed permission triggers a reload)");
	write_raw(path_in(dir, "README"), "x", 1, 0644);
	ok(keywatch_changed(w, 106), "any change of the directory is seen");
	ok(!keywatch_changed(w, 107), "then quiet");
	is_int(keyfile_remove(dir, 1, why, sizeof(why)), 0, "a key is removed");
	ok(keywatch_changed(w, 108), "seen");
	keywatch_close(w);
}

int
main(void)
{
	char cmd[128];

	if (sodium_init() < 0)
		bail_out("sodium_init");
	umask(022);
	snprintf(base, sizeof(base), "/tmp/test-keyring.XXXXXX");
	if (mkdtemp(base) == NULL)
		bail_out("mkdtemp");
	randombytes_buf(key_a, sizeof(key_a));
	randombytes_buf(key_b, sizeof(key_b));
	test_format();
	test_slot_comment();
	test_load_good();
	test_no_keys();
	test_permissions();
	test_file_types();
	test_corrupt();
	test_write();
	test_lifecycle();
	test_rotate_slot();
	test_store_ops();
	test_revoke();
	test_holder();
	test_watch();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return done_testing();
}
