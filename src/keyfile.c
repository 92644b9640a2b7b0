/* keyfile: reading and writing the key store's files. Reads refuse what another user could
 * have changed or read (mode bits, symlinks, odd file types) and anything that does not parse;
 * writes are atomic (temp file in the same directory, fsync, rename, directory fsync). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

#define KEYFILE_B64_LEN 44	/* base64 of 32 bytes, with its one '=' */

struct keyfile_field {
	const char *name;
	const char *val;	/* NULL until seen */
	size_t len;
	unsigned line;
};

int
keyfile_why(int rc, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool
keyfile_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
keyfile_field_set(const char *word, size_t wlen, const char *val, size_t vlen, const char *name,
    unsigned line, struct keyfile_field *f, size_t nf, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < nf; i++) {
		if (strlen(f[i].name) != wlen || memcmp(f[i].name, word, wlen) != 0)
			continue;
		if (f[i].val != NULL)
			return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
			    "%s:%u: duplicate '%s' line (first on line %u)", name, line, f[i].name,
			    f[i].line);
		f[i].val = val;
		f[i].len = vlen;
		f[i].line = line;
		return KEYFILE_OK;
	}
	/* the word is not echoed: it may be a pasted secret */
	return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
	    "%s:%u: line not understood (the only fields are: %s%s%s)", name, line, f[0].name,
	    nf > 1 ? ", " : "", nf > 1 ? f[1].name : "");
}

/* One "name value" line between p and eol; blank lines and # comments are skipped. */
static int
keyfile_line(const char *p, const char *eol, const char *name, unsigned line,
    struct keyfile_field *f, size_t nf, char *why, size_t whylen)
{
	const char *word;
	size_t wlen;

	while (eol > p && keyfile_space(eol[-1]))
		eol--;
	while (p < eol && keyfile_space(*p))
		p++;
	if (p == eol || *p == '#')
		return KEYFILE_OK;
	word = p;
	while (p < eol && !keyfile_space(*p))
		p++;
	wlen = (size_t)(p - word);
	if (p == eol)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen, "%s:%u: a field without a value",
		    name, line);
	while (p < eol && keyfile_space(*p))
		p++;
	return keyfile_field_set(word, wlen, p, (size_t)(eol - p), name, line, f,
	    nf, why, whylen);
}

static unsigned
keyfile_line_of(const char *text, const char *at)
{
	unsigned line = 1;

	for (; text < at; text++)
		line += *text == '\n';
	return line;
}

/* Split text into the fields f[]; each must appear exactly once. */
static int
keyfile_fields(const char *text, size_t len, const char *name, struct keyfile_field *f,
    size_t nf, char *why, size_t whylen)
{
	const char *p = text, *end = text + len, *eol, *nul;
	unsigned line = 0;
	size_t i;
	int rc;

	nul = memchr(text, '\0', len);
	if (nul != NULL)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen, "%s:%u: NUL byte in the file",
		    name, keyfile_line_of(text, nul));
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		rc = keyfile_line(p, eol, name, ++line, f, nf, why, whylen);
		if (rc != 0)
			return rc;
		p = eol < end ? eol + 1 : end;
	}
	for (i = 0; i < nf; i++)
		if (f[i].val == NULL)
			return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
			    "%s:%u: no '%s' line before the end of the file", name, line + 1, f[i].name);
	return KEYFILE_OK;
}

/* A Unix time: decimal digits only, at most 18 of them. */
static int
keyfile_time(const struct keyfile_field *f, const char *name, time_t *out, char *why,
    size_t whylen)
{
	long long t = 0;
	size_t i;

	if (f->len == 0 || f->len > 18)
		goto fail;
	for (i = 0; i < f->len; i++) {
		if (f->val[i] < '0' || f->val[i] > '9')
			goto fail;
		t = t * 10 + (f->val[i] - '0');
	}
	*out = (time_t)t;
	return KEYFILE_OK;
fail:
	return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
	    "%s:%u: '%s' must be a Unix time in decimal digits", name, f->line, f->name);
}

static int
keyfile_secret(const struct keyfile_field *f, const char *name,
    unsigned char secret[KEYFILE_KEY_BYTES], char *why, size_t whylen)
{
	const char *b64_end = NULL;
	size_t binlen = 0;

	if (f->len != KEYFILE_B64_LEN)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
		    "%s:%u: secret is %zu characters, expected %d (base64 of %d bytes)", name,
		    f->line, f->len, KEYFILE_B64_LEN, KEYFILE_KEY_BYTES);
	if (sodium_base642bin(secret, KEYFILE_KEY_BYTES, f->val, f->len, NULL, &binlen, &b64_end,
		sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != KEYFILE_KEY_BYTES || b64_end != f->val + f->len)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
		    "%s:%u: secret is not valid base64 of %d bytes", name, f->line,
		    KEYFILE_KEY_BYTES);
	return KEYFILE_OK;
}

int
keyfile_parse(const char *text, size_t len, const char *name,
    unsigned char secret[KEYFILE_KEY_BYTES], time_t *activate, char *why, size_t whylen)
{
	struct keyfile_field f[2] = { { .name = "activate" }, { .name = "secret" } };
	int rc;

	if (len > KEYFILE_MAX)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
		    "%s: too large (%zu bytes; a key file is under 100)", name, len);
	rc = keyfile_fields(text, len, name, f, 2, why, whylen);
	if (rc == 0)
		rc = keyfile_time(&f[0], name, activate, why, whylen);
	if (rc == 0)
		rc = keyfile_secret(&f[1], name, secret, why, whylen);
	if (rc != 0)
		sodium_memzero(secret, KEYFILE_KEY_BYTES);
	return rc;
}

int
keyfile_format(const unsigned char secret[KEYFILE_KEY_BYTES], time_t activate, char *buf,
    size_t size)
{
	return keyfile_format_slot(secret, activate, -1, buf, size);
}

int
keyfile_format_slot(const unsigned char secret[KEYFILE_KEY_BYTES], time_t activate, int slot,
    char *buf, size_t size)
{
	char b64[KEYFILE_B64_LEN + 1], head[32];
	int n;

	if (slot >= 0 && slot < KEYFILE_SLOTS)
		snprintf(head, sizeof(head), KEYFILE_SLOT_COMMENT "%d", slot);
	else
		snprintf(head, sizeof(head), "# backstop key");
	sodium_bin2base64(b64, sizeof(b64), secret, KEYFILE_KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(buf, size, "%s\nactivate %lld\nsecret %s\n", head, (long long)activate, b64);
	sodium_memzero(b64, sizeof(b64));
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			sodium_memzero(buf, size);
		return KEYFILE_ENOMEM;
	}
	return n;
}

/* The slot a comment line names: -1 if it is not a slot comment, -2 if it is a bad one. */
static int
keyfile_slot_line(const char *p, const char *eol)
{
	size_t plen = strlen(KEYFILE_SLOT_COMMENT);

	while (eol > p && keyfile_space(eol[-1]))
		eol--;
	while (p < eol && keyfile_space(*p))
		p++;
	if ((size_t)(eol - p) < plen || memcmp(p, KEYFILE_SLOT_COMMENT, plen) != 0)
		return -1;
	p += plen;
	if (eol - p != 1 || *p < '0' || *p > '9')
		return -2;
	return *p - '0';
}

int
keyfile_slot_named(const char *text, size_t len, const char *name, int *slot, char *why,
    size_t whylen)
{
	const char *p = text, *end = text + len, *eol;
	unsigned line = 0, first = 0;
	int s;

	*slot = -1;
	for (; p < end; p = eol < end ? eol + 1 : end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		line++;
		s = keyfile_slot_line(p, eol);
		if (s == -1)
			continue;
		if (s == -2)
			return keyfile_why(KEYFILE_ECORRUPT, why, whylen, "%s:%u: the comment '"
			    KEYFILE_SLOT_COMMENT "' must end in one slot digit 0-9", name, line);
		if (*slot >= 0 && s != *slot)
			return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
			    "%s:%u: names slot %d, but line %u names slot %d", name, line, s, first,
			    *slot);
		if (*slot < 0)
			first = line;
		*slot = s;
	}
	return KEYFILE_OK;
}

int
keyfile_path(const char *dir, int slot, char *buf, size_t size)
{
	int n;

	if (slot < 0 || slot >= KEYFILE_SLOTS)
		return KEYFILE_ESLOT;
	n = snprintf(buf, size, "%s/%d.key", dir, slot);
	return n < 0 || (size_t)n >= size ? KEYFILE_ENOMEM : KEYFILE_OK;
}

/* Who besides the owner may write a file of this mode, for messages. */
static const char *
keyfile_writers(mode_t mode)
{
	if ((mode & S_IWGRP) != 0 && (mode & S_IWOTH) != 0)
		return "its group and by others";
	return (mode & S_IWGRP) != 0 ? "its group" : "others";
}

/* Root, this process, and the daemons' user (UserID) may own the store; a file of anyone
 * else's could be a key that user put there, or one that user can read. */
static int
keyfile_check_owner(const char *what, const char *path, const struct stat *st, uid_t user,
    char *why, size_t whylen)
{
	struct passwd *pw;

	if (st->st_uid == 0 || st->st_uid == geteuid() ||
	    (user != KEYFILE_NO_USER && st->st_uid == user))
		return KEYFILE_OK;
	pw = getpwuid(st->st_uid);
	return keyfile_why(KEYFILE_EPERM, why, whylen,
	    "%s%s belongs to %s (uid %ld), not to root or the daemons' user (UserID): another user "
	    "could have written it; check it, then chown it to root or to UserID",
	    what, path, pw != NULL ? pw->pw_name : "an unknown user", (long)st->st_uid);
}

int
keyfile_check_dir(const char *dir, uid_t user, char *why, size_t whylen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return keyfile_why(KEYFILE_ENODIR, why, whylen,
			    "key directory %s does not exist: run backstop-keys init", dir);
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot read key directory %s: %s",
		    dir, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return keyfile_why(KEYFILE_EPERM, why, whylen,
		    "%s is not a directory: KeyDirectory must name the key directory", dir);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return keyfile_why(KEYFILE_EPERM, why, whylen,
		    "key directory %s is writable by %s (mode %04o): run chmod 700 %s", dir,
		    keyfile_writers(st.st_mode), (unsigned)(st.st_mode & 07777), dir);
	if (faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) != 0 && errno == EACCES)
		return keyfile_why(KEYFILE_EPERM, why, whylen, "cannot search key directory %s "
		    "(uid %ld, mode %04o): give it to the daemon's user (chown -R USER %s)", dir,
		    (long)st.st_uid, (unsigned)(st.st_mode & 07777), dir);
	return keyfile_check_owner("key directory ", dir, &st, user, why, whylen);
}

/* Open path without following a symlink; *fd is -1 (and 0 returned) when it does not exist. */
static int
keyfile_open(const char *path, int *fd, struct stat *st, char *why, size_t whylen)
{
	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		if (errno == ENOENT)
			return KEYFILE_OK;
		if (errno == ELOOP)
			return keyfile_why(KEYFILE_EPERM, why, whylen,
			    "%s is a symbolic link: replace it with the file itself", path);
		if (errno == EACCES)
			return keyfile_why(KEYFILE_EPERM, why, whylen,
			    "cannot read %s: permission denied: give it to the daemon's user "
			    "(backstop-keys --owner USER)", path);
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
	}
	if (fstat(*fd, st) != 0) {
		close(*fd);
		*fd = -1;
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot stat %s: %s", path,
		    strerror(errno));
	}
	if (!S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return keyfile_why(KEYFILE_EPERM, why, whylen,
		    "%s is not a regular file: remove it", path);
	}
	return KEYFILE_OK;
}

static int
keyfile_check_mode(const char *path, const struct stat *st, bool secret, char *why,
    size_t whylen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	const char *fix = secret ? "600" : "644";

	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return keyfile_why(KEYFILE_EPERM, why, whylen,
		    "%s is writable by %s (mode %04o): run chmod %s %s", path,
		    keyfile_writers(st->st_mode), mode, fix, path);
	if (secret && (st->st_mode & S_IROTH) != 0)
		return keyfile_why(KEYFILE_EPERM, why, whylen,
		    "%s is readable by others (mode %04o): run chmod %s %s", path, mode, fix, path);
	return KEYFILE_OK;
}

/* Read all of fd into guarded memory (it holds a secret), refusing files over KEYFILE_MAX. */
static int
keyfile_slurp(int fd, const char *path, char **buf, size_t *len, char *why, size_t whylen)
{
	ssize_t n;

	*len = 0;
	*buf = sodium_malloc(KEYFILE_MAX + 1);
	if (*buf == NULL)
		return keyfile_why(KEYFILE_ENOMEM, why, whylen, "%s: out of memory", path);
	do {
		n = read(fd, *buf + *len, KEYFILE_MAX + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return keyfile_why(KEYFILE_EIO, why, whylen, "cannot read %s: %s", path,
			    strerror(errno));
		*len += (size_t)n;
	} while (n > 0 && *len <= KEYFILE_MAX);
	if (*len > KEYFILE_MAX)
		return keyfile_why(KEYFILE_ECORRUPT, why, whylen,
		    "%s: too large (over %d bytes; a key file is under 100): not a key file", path,
		    KEYFILE_MAX);
	return KEYFILE_OK;
}

/* Open, check and read path; *buf is NULL when the file does not exist. */
static int
keyfile_load(
    const char *path, uid_t user, bool secret, char **buf, size_t *len, char *why, size_t whylen)
{
	struct stat st;
	int fd, rc;

	*buf = NULL;
	rc = keyfile_open(path, &fd, &st, why, whylen);
	if (rc != 0 || fd < 0)
		return rc;
	rc = keyfile_check_mode(path, &st, secret, why, whylen);
	if (rc == 0)
		rc = keyfile_check_owner("", path, &st, user, why, whylen);
	if (rc == 0)
		rc = keyfile_slurp(fd, path, buf, len, why, whylen);
	close(fd);
	if (rc != 0) {
		sodium_free(*buf);
		*buf = NULL;
	}
	return rc;
}

int
keyfile_read(const char *dir, uid_t user, int slot, unsigned char secret[KEYFILE_KEY_BYTES],
    time_t *activate, bool *present, char *why, size_t whylen)
{
	char path[PATH_MAX], *buf;
	size_t len;
	int rc;

	*present = false;
	if (keyfile_path(dir, slot, path, sizeof(path)) != 0)
		return keyfile_why(KEYFILE_ESLOT, why, whylen, "%s: bad slot %d", dir, slot);
	rc = keyfile_load(path, user, true, &buf, &len, why, whylen);
	if (rc != 0 || buf == NULL)
		return rc;
	rc = keyfile_parse(buf, len, path, secret, activate, why, whylen);
	sodium_free(buf);
	*present = rc == 0;
	return rc;
}

int
keyfile_read_created(const char *dir, uid_t user, time_t *created, char *why, size_t whylen)
{
	struct keyfile_field f[1] = { { .name = "created" } };
	char path[PATH_MAX], *buf;
	size_t len;
	int rc;

	*created = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, KEYFILE_CREATED) >= (int)sizeof(path))
		return keyfile_why(KEYFILE_ENOMEM, why, whylen, "%s: path too long", dir);
	rc = keyfile_load(path, user, false, &buf, &len, why, whylen);
	if (rc != 0 || buf == NULL)
		return rc;
	rc = keyfile_fields(buf, len, path, f, 1, why, whylen);
	if (rc == 0)
		rc = keyfile_time(&f[0], path, created, why, whylen);
	sodium_free(buf);
	return rc;
}

static int
keyfile_chown(const char *path, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	if (uid == KEYFILE_KEEP_UID && gid == KEYFILE_KEEP_GID)
		return KEYFILE_OK;
	if (chown(path, uid, gid) != 0)
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot chown %s: %s", path,
		    strerror(errno));
	return KEYFILE_OK;
}

int
keyfile_mkdir(const char *dir, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	char path[PATH_MAX], *p;

	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len >= sizeof(path))
		return keyfile_why(KEYFILE_ENOMEM, why, whylen, "%s: path too long", dir);
	memcpy(path, dir, len);
	path[len] = '\0';
	/* parents as mkdir -p would make them; the key directory itself is private */
	for (p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return keyfile_why(KEYFILE_EIO, why, whylen, "cannot create %s: %s", path,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0700) == 0) {
		if (chmod(path, 0700) != 0)
			return keyfile_why(KEYFILE_EIO, why, whylen, "cannot chmod %s: %s", dir,
			    strerror(errno));
	} else if (errno != EEXIST) {
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot create %s: %s", dir,
		    strerror(errno));
	}
	return keyfile_chown(dir, uid, gid, why, whylen);
}

static int
keyfile_sync_dir(const char *dir, char *why, size_t whylen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot sync directory %s: %s", dir,
		    strerror(e));
	}
	close(fd);
	return KEYFILE_OK;
}

/* Give the open temp file uid/gid, unless it has them already: a user who is not root may
 * then still write into a directory of its own. */
static int
keyfile_fchown(int fd, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if ((uid == KEYFILE_KEEP_UID || uid == st.st_uid) &&
	    (gid == KEYFILE_KEEP_GID || gid == st.st_gid))
		return 0;
	return fchown(fd, uid, gid);
}

/* Mode, owner, contents and fsync of the open temp file. */
static int
keyfile_fill(int fd, const char *tmp, const void *text, size_t len, mode_t mode, uid_t uid,
    gid_t gid, char *why, size_t whylen)
{
	const char *p = text;
	ssize_t n;

	if (fchmod(fd, mode) != 0)
		goto fail;
	if (keyfile_fchown(fd, uid, gid) != 0)
		goto fail;
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	return KEYFILE_OK;
fail:
	return keyfile_why(KEYFILE_EIO, why, whylen, "cannot write %s: %s", tmp, strerror(errno));
}

/* The owner a new file gets: the one asked for, else the directory's. A file created by
 * root in a store that belongs to the daemons' user would be one the daemons cannot read:
 * their reload would fail, and they would go on with the old keys, a revoked one included. */
static int
keyfile_owner(const char *dir, uid_t *uid, gid_t *gid, char *why, size_t whylen)
{
	struct stat st;

	if (*uid != KEYFILE_KEEP_UID || *gid != KEYFILE_KEEP_GID)
		return KEYFILE_OK;
	if (stat(dir, &st) != 0)
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot stat %s: %s", dir,
		    strerror(errno));
	*uid = st.st_uid;
	*gid = st.st_gid;
	return KEYFILE_OK;
}

int
keyfile_write(const char *dir, const char *name, const void *text, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char *why, size_t whylen)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc;

	rc = keyfile_owner(dir, &uid, &gid, why, whylen);
	if (rc != 0)
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= (int)sizeof(tmp))
		return keyfile_why(KEYFILE_ENOMEM, why, whylen, "%s/%s: path too long", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot create a file in %s: %s", dir,
		    strerror(errno));
	rc = keyfile_fill(fd, tmp, text, len, mode, uid, gid, why, whylen);
	if (close(fd) != 0 && rc == 0)
		rc = keyfile_why(KEYFILE_EIO, why, whylen, "cannot write %s: %s", tmp,
		    strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = keyfile_why(KEYFILE_EIO, why, whylen, "cannot rename %s to %s: %s", tmp, path,
		    strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	return keyfile_sync_dir(dir, why, whylen);
}

/* 0600, or 0640 in a directory its group may read (0750): the group is then the daemons'
 * way in (root:backstop), and a new key must keep it. */
static mode_t
keyfile_key_mode(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 && (st.st_mode & S_IRGRP) != 0 && (st.st_mode & S_IXGRP) != 0)
		return 0640;
	return 0600;
}

int
keyfile_write_key(const char *dir, int slot, const unsigned char secret[KEYFILE_KEY_BYTES],
    time_t activate, uid_t uid, gid_t gid, char *why, size_t whylen)
{
	char text[KEYFILE_TEXT_MAX], name[16];
	int n, rc;

	if (slot < 0 || slot >= KEYFILE_SLOTS)
		return keyfile_why(KEYFILE_ESLOT, why, whylen, "bad slot %d (0-9)", slot);
	snprintf(name, sizeof(name), "%d.key", slot);
	n = keyfile_format(secret, activate, text, sizeof(text));
	if (n < 0)
		return keyfile_why(n, why, whylen, "%s/%s: cannot format the key", dir, name);
	rc = keyfile_write(dir, name, text, (size_t)n, keyfile_key_mode(dir), uid, gid, why,
	    whylen);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int
keyfile_write_created(const char *dir, time_t created, uid_t uid, gid_t gid, char *why,
    size_t whylen)
{
	char text[96];
	int n;

	n = snprintf(text, sizeof(text), "# backstop key store: creation time (TaggingSince auto)\n"
	    "created %lld\n", (long long)created);
	return keyfile_write(dir, KEYFILE_CREATED, text, (size_t)n, 0644, uid, gid, why, whylen);
}

int
keyfile_remove(const char *dir, int slot, char *why, size_t whylen)
{
	char path[PATH_MAX];

	if (keyfile_path(dir, slot, path, sizeof(path)) != 0)
		return keyfile_why(KEYFILE_ESLOT, why, whylen, "%s: bad slot %d", dir, slot);
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return KEYFILE_OK;
		return keyfile_why(KEYFILE_EIO, why, whylen, "cannot remove %s: %s", path,
		    strerror(errno));
	}
	return keyfile_sync_dir(dir, why, whylen);
}

const char *
keyfile_strerror(int err)
{
	switch (err) {
	case KEYFILE_OK: return "success";
	case KEYFILE_ENOMEM: return "out of memory";
	case KEYFILE_EIO: return "cannot read or write the key store";
	case KEYFILE_EPERM: return "unsafe permissions on the key store";
	case KEYFILE_ECORRUPT: return "corrupt key file";
	case KEYFILE_ENODIR: return "the key directory does not exist";
	case KEYFILE_ESLOT: return "bad key slot (0-9)";
	}
	return "unknown key file error";
}
