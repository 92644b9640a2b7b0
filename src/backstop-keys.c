/* backstop-keys: the admin tool of the key store (init, list, rotate, prune, revoke, import,
 * export) and a single-address signer and checker for debugging. A thin main: the key rules live in
 * keyring and keyfile. Exit codes: 0 success, 1 failure (or a tag that is not valid), 2 usage. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "keyfile.h"
#include "keyring.h"
#include "keystore.h"
#include "prvs.h"

#define EXIT_USAGE 2
#define PROG "backstop-keys"
/* longest --activate-in: a pending key blocks rotate and revoke until it activates */
#define KEYS_MAX_DELAY_DAYS 30

/* which options a command takes */
enum { OPT_OWNER = 1, OPT_ACTIVATE = 2, OPT_FORCE = 4, OPT_DRY = 8 };

struct keys_ctx {
	const char *conf_path;
	const char *cmd;
	const char *arg;	/* ADDR or SLOT */
	const char *owner;
	const char *activate_in;
	bool force, dry_run;
	uid_t uid;
	gid_t gid;
	time_t delay;		/* --activate-in, seconds */
	uid_t user;		/* UserID's: key files it owns are trusted beside root's */
	struct conf *conf;
	time_t now;
	char why[1024];
};

struct keys_cmd {
	const char *name;
	const char *arg;	/* name of the positional argument, NULL: none */
	int opts;
	int (*run)(struct keys_ctx *k);
};

static void
keys_usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-c FILE] COMMAND [ARGS]\n"
	    "       " PROG " -h | -V\n"
	    "commands:\n"
	    "  init [--owner USER[:GROUP]]         create the key store and its first key\n"
	    "  list                                each key: activation, state, retirement\n"
	    "  rotate [--activate-in DURATION] [--owner USER[:GROUP]]\n"
	    "                                      a new key in the next slot\n"
	    "  prune [--dry-run]                   remove keys that can verify nothing live\n"
	    "  revoke SLOT [--owner USER[:GROUP]]  remove a stolen key now (a new key signs)\n"
	    "  export SLOT                         print a key file for another host\n"
	    "  import SLOT [--force] [--activate-in DURATION] [--owner USER[:GROUP]]\n"
	    "                                      store the key file read on stdin\n"
	    "  sign ADDR                           print the prvs form of ADDR\n"
	    "  verify ADDR                         print the verdict and the original address\n"
	    "DURATION is a number with s, m, h or d (3600s, 30m, 2h, 1d), at most 30d.\n"
	    "The output of export is a secret: pipe it, or (umask 077; ... > FILE).\n"
	    "The configuration file defaults to %s.\n", conf_default_path());
}

static int
keys_fail(struct keys_ctx *k, const char *why)
{
	(void)k;
	fprintf(stderr, "%s: %s\n", PROG, why);
	return EXIT_FAILURE;
}

static int __attribute__((format(printf, 1, 2)))
keys_bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try " PROG " -h)\n");
	return EXIT_USAGE;
}

/* "2h", "30m", "1d", "3600s" or plain seconds */
static int
keys_duration(const char *s, time_t *out)
{
	unsigned long long v = 0, unit = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > 100000000ull)
			return -1;
	}
	switch (*p) {
	case '\0': case 's': break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = CLOCK_DAY; break;
	default: return -1;
	}
	if (*p != '\0' && p[1] != '\0')
		return -1;
	*out = (time_t)(v * unit);
	return 0;
}

static int
keys_id(const char *s, bool group, unsigned long *id)
{
	char *end;
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	*id = strtoul(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0)
		return 0;
	if (group) {
		gr = getgrnam(s);
		if (gr != NULL)
			*id = gr->gr_gid;
		return gr != NULL ? 0 : -1;
	}
	pw = getpwnam(s);
	if (pw != NULL)
		*id = pw->pw_uid;
	return pw != NULL ? 0 : -1;
}

/* USER[:GROUP]; without a group, the user's primary group */
static int
keys_owner(struct keys_ctx *k)
{
	char user[256], *colon;
	unsigned long uid, gid;
	struct passwd *pw;

	if (snprintf(user, sizeof(user), "%s", k->owner) >= (int)sizeof(user))
		return -1;
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if (keys_id(user, false, &uid) != 0)
		return -1;
	if (colon != NULL && *colon != '\0') {
		if (keys_id(colon, true, &gid) != 0)
			return -1;
	} else {
		pw = getpwuid((uid_t)uid);
		gid = pw != NULL ? pw->pw_gid : (unsigned long)KEYFILE_KEEP_GID;
	}
	k->uid = (uid_t)uid;
	k->gid = (gid_t)gid;
	return 0;
}

static int
keys_option(struct keys_ctx *k, const struct keys_cmd *c, char **argv, int *i, int argc)
{
	const char *a = argv[*i];
	const char **val = NULL;
	int need = 0;

	if (strcmp(a, "--force") == 0 && (c->opts & OPT_FORCE) != 0) {
		k->force = true;
		return 0;
	}
	if (strcmp(a, "--dry-run") == 0 && (c->opts & OPT_DRY) != 0) {
		k->dry_run = true;
		return 0;
	}
	if (strcmp(a, "--owner") == 0 && (c->opts & OPT_OWNER) != 0) {
		val = &k->owner;
		need = OPT_OWNER;
	} else if (strcmp(a, "--activate-in") == 0 && (c->opts & OPT_ACTIVATE) != 0) {
		val = &k->activate_in;
		need = OPT_ACTIVATE;
	}
	if (val == NULL)
		return keys_bad_usage("unknown option %s for this command", a);
	if (*i + 1 >= argc)
		return keys_bad_usage("%s needs a value", a);
	*val = argv[++*i];
	if (need == OPT_OWNER && keys_owner(k) != 0)
		return keys_bad_usage("--owner %s: no such user or group", *val);
	if (need == OPT_ACTIVATE && keys_duration(*val, &k->delay) != 0)
		return keys_bad_usage("--activate-in %s: want a duration like 2h, 30m, 1d, 3600s",
		    *val);
	if (need == OPT_ACTIVATE && k->delay > KEYS_MAX_DELAY_DAYS * CLOCK_DAY)
		return keys_bad_usage("--activate-in %s: at most %dd (a pending key blocks rotate "
		    "and revoke until it activates)", *val, KEYS_MAX_DELAY_DAYS);
	return 0;
}

/* The command's own arguments: options anywhere, one positional if it takes one. */
static int
keys_args(struct keys_ctx *k, const struct keys_cmd *c, int argc, char **argv)
{
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
			rc = keys_option(k, c, argv, &i, argc);
			if (rc != 0)
				return rc;
		} else if (c->arg != NULL && k->arg == NULL) {
			k->arg = argv[i];
		} else {
			return keys_bad_usage("unexpected argument %s", argv[i]);
		}
	}
	if (c->arg != NULL && k->arg == NULL)
		return keys_bad_usage("%s needs an argument", c->name);
	return 0;
}

static int
keys_slot(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] != '\0')
		return -1;
	return s[0] - '0';
}

static time_t
keys_window(const struct keys_ctx *k)
{
	return keyring_window(k->conf->tag_validity, k->conf->srs_max_age);
}

/* keys_store - a handle on the configured key store, with this run's time and owner */
static struct keystore *
keys_store(const struct keys_ctx *k)
{
	struct keystore_options o = { .user = k->user, .uid = k->uid, .gid = k->gid,
		.now = k->now, .window = keys_window(k) };

	return keystore_open(k->conf->key_directory, &o);
}

/* keys_store_done - close ks; on failure report what it says, with advice the command adds */
static int
keys_store_done(struct keys_ctx *k, struct keystore *ks, int rc, const char *advice)
{
	if (ks == NULL)
		return keys_fail(k, "out of memory");
	if (rc != 0)
		snprintf(k->why, sizeof(k->why), "%s%s", keystore_why(ks),
		    advice != NULL ? advice : "");
	keystore_close(ks);
	return rc != 0 ? keys_fail(k, k->why) : EXIT_SUCCESS;
}

static int
keys_load(struct keys_ctx *k, struct keyring **kr)
{
	int rc = keyring_load(k->conf->key_directory, k->user, kr, k->why, sizeof(k->why));

	if (rc != 0)
		keys_fail(k, k->why);
	return rc;
}

/* The daemons reload the store as UserID: a change that user cannot read leaves them on the
 * old keys (a revoked one included), so it must not pass in silence. 0 if they can read it,
 * or if there is no UserID (they read as whoever started them). */
static int
keys_daemons_read(struct keys_ctx *k, const char *kept)
{
	const char *dir = k->conf->key_directory, *user = k->conf->user_id;
	char why[1024];
	uid_t uid;
	gid_t gid;

	if (user == NULL)
		return 0;
	if (daemon_user(user, &uid, &gid) != DAEMON_OK) {
		fprintf(stderr, "%s: UserID %s in %s: no such user: the daemons cannot run as it\n",
		    PROG, user, k->conf->path);
		return -1;
	}
	if (keyring_load_as(dir, uid, gid, why, sizeof(why)) == KEYRING_OK)
		return 0;
	fprintf(stderr, "%s: the daemons' user %s (UserID in %s) cannot load the key store after "
	    "this change: %s\n%s: the running daemons keep their old keys%s. Give the store to "
	    "that user: chown -R %s %s (or use --owner %s)\n", PROG, user, k->conf->path, why,
	    PROG, kept, user, dir, user);
	return -1;
}

/* A store created now belongs to UserID, unless --owner says otherwise: the daemons must
 * read it. An existing directory keeps its owner (keyfile_write follows it). */
static void
keys_default_owner(struct keys_ctx *k)
{
	struct stat st;

	if (k->owner != NULL || k->conf->user_id == NULL ||
	    stat(k->conf->key_directory, &st) == 0 || errno != ENOENT)
		return;
	if (daemon_user(k->conf->user_id, &k->uid, &k->gid) != DAEMON_OK) {
		k->uid = KEYFILE_KEEP_UID;
		k->gid = KEYFILE_KEEP_GID;
	}
}

static int
keys_init(struct keys_ctx *k)
{
	const char *dir = k->conf->key_directory;
	struct keystore *ks;
	int rc;

	keys_default_owner(k);
	ks = keys_store(k);
	rc = ks == NULL ? KEYRING_ENOMEM : keystore_init(ks);
	if (keys_store_done(k, ks, rc, rc == KEYRING_EEXIST ?
	    " (backstop-keys rotate makes a new key)" : NULL) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	printf("created %s: a key in slot 0, signing from now\n", dir);
	return keys_daemons_read(k, "") == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void
keys_list_slot(const struct keyring *kr, int i, time_t now, time_t window)
{
	char t1[40], t2[40], t3[40];
	time_t retired = keyring_retired(kr, i);

	printf("%-4d %-9s  %-23s  %-23s  %s\n", i,
	    keyring_state_name(keyring_state(kr, i, now, window)),
	    keyring_time_text(keyring_activate(kr, i), t1, sizeof(t1)),
	    retired != 0 ? keyring_time_text(retired, t2, sizeof(t2)) : "-",
	    retired != 0 ? keyring_time_text(retired + window, t3, sizeof(t3)) : "-");
}

static int
keys_list(struct keys_ctx *k)
{
	struct keyring *kr;
	char t[40];
	int i;

	if (keys_load(k, &kr) != 0)
		return EXIT_FAILURE;
	if (keyring_created(kr) != 0)
		printf("# store %s created %s\n", k->conf->key_directory,
		    keyring_time_text(keyring_created(kr), t, sizeof(t)));
	printf("%-4s %-9s  %-23s  %-23s  %s\n", "slot", "state", "activation", "retirement",
	    "prunable from");
	for (i = 0; i < KEYRING_SLOTS; i++)
		if (keyring_has(kr, i))
			keys_list_slot(kr, i, k->now, keys_window(k));
	keyring_unref(kr);
	return EXIT_SUCCESS;
}

static int
keys_rotate(struct keys_ctx *k)
{
	time_t activate = k->now + k->delay;
	struct keystore *ks;
	char t[40];
	int slot, rc;

	ks = keys_store(k);
	rc = ks == NULL ? KEYRING_ENOMEM : keystore_rotate(ks, &activate, &slot);
	if (keys_store_done(k, ks, rc, NULL) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	printf("slot %d: new key, signing from %s\n", slot, keyring_time_text(activate, t, sizeof(t)));
	return keys_daemons_read(k, ", without the new one") == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int
keys_prune(struct keys_ctx *k)
{
	struct keystore *ks;
	unsigned pruned;
	int i, rc;

	ks = keys_store(k);
	rc = ks == NULL ? KEYRING_ENOMEM : keystore_prune(ks, k->dry_run, &pruned);
	if (keys_store_done(k, ks, rc, NULL) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	for (i = 0; i < KEYRING_SLOTS; i++)
		if ((pruned & (1u << i)) != 0)
			printf("%s slot %d\n", k->dry_run ? "would prune" : "pruned", i);
	if (pruned == 0)
		printf("nothing to prune\n");
	return EXIT_SUCCESS;
}

static int
keys_revoke(struct keys_ctx *k)
{
	int slot = keys_slot(k->arg), new_slot;
	time_t activate;
	char t[40], kept[120];
	struct keystore *ks;
	int rc;

	ks = keys_store(k);
	rc = ks == NULL ? KEYRING_ENOMEM : keystore_revoke(ks, slot, &new_slot, &activate);
	if (keys_store_done(k, ks, rc, NULL) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	snprintf(kept, sizeof(kept), ", the revoked slot %d included: its tags and SRS addresses "
	    "still verify there", slot);
	if (keys_daemons_read(k, kept) != 0)
		return EXIT_FAILURE;
	keyring_time_text(activate, t, sizeof(t));
	if (new_slot == slot)
		printf("slot %d: revoked, and a new key in its place signing from %s\n", slot, t);
	else if (new_slot >= 0)
		printf("slot %d: new key, signing from %s\nslot %d: revoked\n", new_slot, t, slot);
	else
		printf("slot %d: revoked\n", slot);
	printf("tags and SRS addresses signed with the old slot %d key no longer verify\n", slot);
	if (new_slot >= 0)
		printf("on every other host: first import the new key (export %d here, import %d "
		    "there), then revoke %d\n", new_slot, new_slot, slot);
	else
		printf("on every other host: revoke %d\n", slot);
	return EXIT_SUCCESS;
}

/* A file others could read must not receive a secret: 0 if standard output may. */
static int
keys_stdout_private(int slot)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return 0;
	fprintf(stderr, "%s: standard output is a file that others can read (mode %04o): "
	    "nothing written, as the key is a secret. Write it with (umask 077; " PROG
	    " export %d > %d.key), or pipe it: " PROG " export %d | ssh HOST " PROG " import %d\n",
	    PROG, (unsigned)(st.st_mode & 07777), slot, slot, slot, slot);
	return -1;
}

static int
keys_export(struct keys_ctx *k)
{
	unsigned char *secret = sodium_malloc(KEYRING_KEY_BYTES);
	char *text = sodium_malloc(KEYFILE_TEXT_MAX);
	int slot = keys_slot(k->arg), rc = EXIT_FAILURE, n;
	time_t activate;
	bool present;

	if (secret == NULL || text == NULL) {
		keys_fail(k, "out of memory");
		goto done;
	}
	if (keys_stdout_private(slot) != 0)
		goto done;
	if (keyfile_read(k->conf->key_directory, k->user, slot, secret, &activate, &present, k->why,
		sizeof(k->why)) != 0) {
		keys_fail(k, k->why);
		goto done;
	}
	if (!present) {
		fprintf(stderr, "%s: no key in %s/%d.key\n", PROG, k->conf->key_directory, slot);
		goto done;
	}
	n = keyfile_format_slot(secret, activate, slot, text, KEYFILE_TEXT_MAX);
	if (n > 0 && fwrite(text, 1, (size_t)n, stdout) == (size_t)n && fflush(stdout) == 0)
		rc = EXIT_SUCCESS;
	else
		keys_fail(k, "cannot write the key to standard output");
done:
	sodium_free(secret);
	sodium_free(text);
	return rc;
}

/* stdin into guarded memory, without stdio's buffer: it holds a secret */
static int
keys_read_stdin(char **buf, size_t *len)
{
	ssize_t n;

	*len = 0;
	*buf = sodium_malloc(KEYFILE_MAX + 1);
	if (*buf == NULL)
		return -1;
	do {
		n = read(STDIN_FILENO, *buf + *len, KEYFILE_MAX + 1 - *len);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n > 0)
			*len += (size_t)n;
	} while (n != 0 && *len <= KEYFILE_MAX);
	return 0;
}

/* an imported key file that would stay pending for too long */
static int
keys_too_late(struct keys_ctx *k, time_t activate)
{
	char when[40];

	snprintf(k->why, sizeof(k->why), "the key file on standard input activates at %s, more "
	    "than %dd from now (a pending key blocks rotate and revoke): nothing done; check the "
	    "clocks, or set the time with --activate-in",
	    keyring_time_text(activate, when, sizeof(when)), KEYS_MAX_DELAY_DAYS);
	return keys_fail(k, k->why);
}

static int
keys_import_secret(struct keys_ctx *k, int slot, const unsigned char *secret, time_t activate)
{
	struct keystore *ks;
	bool changed;
	int rc;

	keys_default_owner(k);
	if (k->activate_in != NULL)
		activate = k->now + k->delay;
	else if (activate > k->now + KEYS_MAX_DELAY_DAYS * CLOCK_DAY)
		return keys_too_late(k, activate);
	ks = keys_store(k);
	rc = ks == NULL ? KEYRING_ENOMEM :
	    keystore_import(ks, slot, secret, activate, k->force, &changed);
	if (keys_store_done(k, ks, rc, NULL) != EXIT_SUCCESS)
		return EXIT_FAILURE;
	if (changed)
		printf("slot %d: key imported\n", slot);
	else
		printf("slot %d already holds this key: nothing to do\n", slot);
	return keys_daemons_read(k, ", without this one") == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define STDIN_NAME "(standard input)"

static int
keys_import(struct keys_ctx *k)
{
	unsigned char *secret = sodium_malloc(KEYRING_KEY_BYTES);
	int slot = keys_slot(k->arg), rc = EXIT_FAILURE, named;
	char *text = NULL;
	time_t activate;
	size_t len;

	if (secret == NULL || keys_read_stdin(&text, &len) != 0) {
		keys_fail(k, "cannot read the key file from standard input");
		goto done;
	}
	if (keyfile_parse(text, len, STDIN_NAME, secret, &activate, k->why, sizeof(k->why)) != 0 ||
	    keyfile_slot_named(text, len, STDIN_NAME, &named, k->why, sizeof(k->why)) != 0) {
		keys_fail(k, k->why);
		goto done;
	}
	if (named >= 0 && named != slot && !k->force) {
		fprintf(stderr, "%s: the key file on standard input is the key of slot %d, not slot "
		    "%d: nothing done. A key keeps its slot on every host (else the others' tags "
		    "are unknown-key here): import %d, or import %d --force if you mean it\n", PROG,
		    named, slot, named, slot);
		goto done;
	}
	rc = keys_import_secret(k, slot, secret, activate);
done:
	sodium_free(secret);
	sodium_free(text);
	return rc;
}

static int
keys_addr(const char *text, struct addr *a)
{
	int rc = addr_parse(a, text, strlen(text));

	if (rc != 0)
		fprintf(stderr, "%s: %s: %s\n", PROG, text, addr_strerror(rc));
	return rc;
}

static int
keys_sign(struct keys_ctx *k)
{
	struct keyring *kr;
	struct addr a, out;
	char buf[ADDR_TEXT_MAX];
	int rc;

	if (keys_addr(k->arg, &a) != 0 || keys_load(k, &kr) != 0)
		return EXIT_FAILURE;
	rc = prvs_sign(kr, &a, k->now, k->conf->tag_validity, &out);
	keyring_unref(kr);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, k->arg, prvs_strerror(rc));
		return EXIT_FAILURE;
	}
	addr_format(&out, buf, sizeof(buf));
	printf("%s\n", buf);
	if (!addr_domain_in(a.domain, k->conf->domains.v, k->conf->domains.n))
		fprintf(stderr, "%s: note: %s is not in Domains of %s: backstop-milter would not "
		    "sign this sender\n", PROG, a.domain, k->conf->path);
	return EXIT_SUCCESS;
}

static int
keys_verify(struct keys_ctx *k)
{
	struct keyring *kr;
	struct addr a, orig;
	enum prvs_verdict v;
	char buf[ADDR_TEXT_MAX];

	if (keys_addr(k->arg, &a) != 0 || keys_load(k, &kr) != 0)
		return EXIT_FAILURE;
	v = prvs_verify(kr, &a, k->now, k->conf->tag_validity, &orig);
	keyring_unref(kr);
	/* the original address: for any verdict but valid, what stripping the tag gives */
	if (v != PRVS_VALID && prvs_strip(&a, &orig) != 0)
		orig = a;
	addr_format(&orig, buf, sizeof(buf));
	printf("%s %s\n", prvs_verdict_name(v), buf);
	return v == PRVS_VALID ? EXIT_SUCCESS : EXIT_FAILURE;
}

static const struct keys_cmd keys_cmds[] = {
	{ "init", NULL, OPT_OWNER, keys_init },
	{ "list", NULL, 0, keys_list },
	{ "rotate", NULL, OPT_ACTIVATE | OPT_OWNER, keys_rotate },
	{ "prune", NULL, OPT_DRY, keys_prune },
	{ "revoke", "SLOT", OPT_OWNER, keys_revoke },
	{ "export", "SLOT", 0, keys_export },
	{ "import", "SLOT", OPT_FORCE | OPT_ACTIVATE | OPT_OWNER, keys_import },
	{ "sign", "ADDR", 0, keys_sign },
	{ "verify", "ADDR", 0, keys_verify },
};

static const struct keys_cmd *
keys_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys_cmds) / sizeof(keys_cmds[0]); i++)
		if (strcmp(keys_cmds[i].name, name) == 0)
			return &keys_cmds[i];
	return NULL;
}

/* -c FILE, -h, -V before the command; returns -1 to go on, else an exit code */
static int
keys_global(struct keys_ctx *k, int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c': k->conf_path = optarg; break;
		case 'h': keys_usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("%s\n", PACKAGE_STRING); return EXIT_SUCCESS;
		default: keys_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		keys_usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static int
keys_run(struct keys_ctx *k, const struct keys_cmd *c)
{
	int rc;

	if (c->arg != NULL && strcmp(c->arg, "SLOT") == 0 && keys_slot(k->arg) < 0)
		return keys_bad_usage("bad slot %s: want a digit 0-9", k->arg);
	if (sodium_init() < 0)
		return keys_fail(k, "libsodium failed to initialise");
	rc = conf_load(k->conf_path, &k->conf, k->why, sizeof(k->why));
	if (rc != 0)
		return keys_fail(k, k->why);
	k->now = clock_now();
	k->user = daemon_user_uid(k->conf->user_id);
	rc = c->run(k);
	conf_free(k->conf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct keys_ctx k = { .uid = KEYFILE_KEEP_UID, .gid = KEYFILE_KEEP_GID };
	const struct keys_cmd *c;
	int rc;

	k.conf_path = conf_default_path();
	rc = keys_global(&k, argc, argv);
	if (rc >= 0)
		return rc;
	k.cmd = argv[optind];
	c = keys_find(k.cmd);
	if (c == NULL)
		return keys_bad_usage("unknown command %s", k.cmd);
	rc = keys_args(&k, c, argc - optind - 1, argv + optind + 1);
	if (rc != 0)
		return rc;
	return keys_run(&k, c);
}
