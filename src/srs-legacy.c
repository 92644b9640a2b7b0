/* srs-legacy: postsrsd's secrets file and its SRS hash, verify only (README.md "Tag formats").
 * postsrsd (both generations, libsrs2's algorithm) signs with HMAC-SHA1 keyed by one line of
 * its secrets file over the lowercased fields joined without separators, writes the first
 * -n characters of the digest's base64, and compares a received hash without case. SHA-1 is
 * Nettle's; base64 and every comparison are libsodium's. No I/O but srs_legacy_load. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "keyring.h"
#include "srs-legacy.h"

#define LEGACY_B64_FULL 27	/* base64 characters of a 20-byte digest, unpadded */
#define LEGACY_TS_PERIOD 1024

struct srs_legacy {
	size_t n;
	size_t *off, *len;	/* secret i is data[off[i]], len[i] bytes */
	unsigned char *data;	/* sodium_malloc */
	size_t size;
};

static const char legacy_ts[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* ---- the secrets file ---- */

/* legacy_secret - the secret on one line as postsrsd takes it: strtok(line, "\r\n") of
 * what fgets read, so leading CRs are skipped and the secret ends at a CR or a NUL */
static void
legacy_secret(const char *line, size_t n, size_t *start, size_t *len)
{
	size_t i = 0, j;

	while (i < n && line[i] == '\r')
		i++;
	for (j = i; j < n && line[j] != '\r' && line[j] != '\0'; j++)
		;
	*start = i;
	*len = j - i;
}

static struct srs_legacy *
legacy_alloc(size_t lines, size_t bytes)
{
	struct srs_legacy *lg = calloc(1, sizeof(*lg));

	if (lg == NULL)
		return NULL;
	lg->off = calloc(lines, sizeof(*lg->off));
	lg->len = calloc(lines, sizeof(*lg->len));
	lg->data = sodium_malloc(bytes == 0 ? 1 : bytes);
	lg->size = bytes == 0 ? 1 : bytes;
	if (lg->off == NULL || lg->len == NULL || lg->data == NULL) {
		srs_legacy_free(lg);
		return NULL;
	}
	return lg;
}

int
srs_legacy_parse(const char *text, size_t len, struct srs_legacy **out, unsigned *line)
{
	const char *p = text, *end = text + len, *nl;
	size_t lines = 1, used = 0, start, n, i;
	struct srs_legacy *lg;

	*out = NULL;
	*line = 0;
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';
	if ((lg = legacy_alloc(lines, len)) == NULL)
		return SRS_LEGACY_ENOMEM;
	while (p < end) {
		(*line)++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > SRS_LEGACY_LINE_MAX) {	/* postsrsd would have cut it into two secrets */
			srs_legacy_free(lg);
			return SRS_LEGACY_ELINE;
		}
		legacy_secret(p, n, &start, &n);
		if (n > 0) {
			memcpy(lg->data + used, p + start, n);
			lg->off[lg->n] = used;
			lg->len[lg->n++] = n;
			used += n;
		}
		p += (nl != NULL ? nl - p + 1 : end - p);
	}
	*line = 0;
	if (lg->n == 0) {
		srs_legacy_free(lg);
		return SRS_LEGACY_EEMPTY;
	}
	*out = lg;
	return SRS_LEGACY_OK;
}

/* legacy_read - the whole of an open regular file, not readable by everyone */
static int
legacy_read(int fd, char **text, size_t *len, mode_t *mode)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;

	if (fstat(fd, &st) != 0)
		return SRS_LEGACY_EOPEN;
	*mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode))
		return SRS_LEGACY_ENOTFILE;
	if ((st.st_mode & S_IROTH) != 0)
		return SRS_LEGACY_EMODE;
	if (st.st_size > SRS_LEGACY_FILE_MAX)
		return SRS_LEGACY_ELARGE;
	if ((*text = sodium_malloc((size_t)st.st_size + 1)) == NULL)
		return SRS_LEGACY_ENOMEM;
	while (n < (size_t)st.st_size) {
		r = read(fd, *text + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return SRS_LEGACY_OK;
}

/* legacy_path - PATH of "file:PATH", joined to base's directory when relative */
static char *
legacy_path(const char *spec, const char *base)
{
	const char *path = spec + 5, *slash = base == NULL ? NULL : strrchr(base, '/');
	char *full;

	if (strncmp(spec, "file:", 5) != 0 || *path == '\0')
		return NULL;
	if (path[0] == '/' || slash == NULL)
		return strdup(path);
	if (asprintf(&full, "%.*s/%s", (int)(slash - base), base, path) < 0)
		return NULL;
	return full;
}

static void
legacy_why(int err, const char *path, mode_t mode, unsigned line, int e, char *why, size_t n)
{
	switch (err) {
	case SRS_LEGACY_EOPEN:
		snprintf(why, n, "cannot read '%s': %s", path, strerror(e));
		break;
	case SRS_LEGACY_EMODE:
		snprintf(why, n, "'%s' is readable by everyone (mode %04o): whoever reads it can "
		    "forge SRS addresses; chmod o-r it", path, (unsigned)mode);
		break;
	case SRS_LEGACY_ELINE:
		snprintf(why, n, "%s:%u: a line longer than the %d bytes postsrsd reads", path,
		    line, SRS_LEGACY_LINE_MAX);
		break;
	default:
		snprintf(why, n, "'%s': %s", path, srs_legacy_strerror(err));
	}
}

int
srs_legacy_load(const char *spec, const char *base, struct srs_legacy **out, char *why,
    size_t whylen)
{
	char *path = legacy_path(spec, base), *text = NULL;
	size_t len = 0;
	unsigned line = 0;
	mode_t mode = 0;
	int fd, err, e = 0;

	*out = NULL;
	if (path == NULL) {
		snprintf(why, whylen, "'%s': %s", spec, srs_legacy_strerror(SRS_LEGACY_ESPEC));
		return SRS_LEGACY_ESPEC;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	err = fd < 0 ? SRS_LEGACY_EOPEN : legacy_read(fd, &text, &len, &mode);
	e = errno;
	if (fd >= 0)
		close(fd);
	if (err == SRS_LEGACY_OK)
		err = srs_legacy_parse(text, len, out, &line);
	if (err != SRS_LEGACY_OK)
		legacy_why(err, path, mode, line, e, why, whylen);
	if (text != NULL)
		sodium_free(text);
	free(path);
	return err;
}

size_t
srs_legacy_count(const struct srs_legacy *lg)
{
	return lg == NULL ? 0 : lg->n;
}

void
srs_legacy_free(struct srs_legacy *lg)
{
	if (lg == NULL)
		return;
	if (lg->data != NULL)
		sodium_free(lg->data);	/* sodium_free wipes it */
	free(lg->off);
	free(lg->len);
	free(lg);
}

/* ---- the hash ---- */

/* legacy_update - feed a field, lowercased the way postsrsd does (ASCII only) */
static void
legacy_update(struct hmac_sha1_ctx *ctx, const char *s, size_t n)
{
	char low[ADDR_LOCAL_MAX + ADDR_DOMAIN_MAX + 1];

	if (n > sizeof(low))
		n = sizeof(low);
	addr_lowercase(low, s, n);
	hmac_sha1_update(ctx, n, (const uint8_t *)low);
}

/* legacy_hash - base64 of HMAC-SHA1(secret, lc(f0) lc(f1) [lc(f2)]) */
static void
legacy_hash(const struct srs_legacy *lg, size_t i, const char *const f[3], const size_t fl[3],
    char out[LEGACY_B64_FULL + 2])
{
	struct hmac_sha1_ctx ctx;
	uint8_t mac[SHA1_DIGEST_SIZE];
	size_t k;

	hmac_sha1_set_key(&ctx, lg->len[i], lg->data + lg->off[i]);
	for (k = 0; k < 3 && f[k] != NULL; k++)
		legacy_update(&ctx, f[k], fl[k]);
	hmac_sha1_digest(&ctx, sizeof(mac), mac);
	sodium_bin2base64(out, LEGACY_B64_FULL + 2, mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_memzero(&ctx, sizeof(ctx));
	sodium_memzero(mac, sizeof(mac));
}

/* legacy_check - does the hash match any secret, compared as postsrsd does, without case? */
static int
legacy_check(const struct srs_legacy *lg, const char *hash, size_t hl, const char *const f[3],
    const size_t fl[3])
{
	char given[LEGACY_B64_FULL], want[LEGACY_B64_FULL + 2];
	bool match = false;
	size_t i;

	if (hl < SRS_LEGACY_HASH_MIN)
		return SRS_ESHORTHASH;
	if (hl > LEGACY_B64_FULL)
		return SRS_EBADHASH;
	addr_lowercase(given, hash, hl);
	for (i = 0; i < lg->n; i++) {
		legacy_hash(lg, i, f, fl, want);
		addr_lowercase(want, want, hl);
		if (keyring_mac_equal(given, want, hl))
			match = true;
	}
	sodium_memzero(want, sizeof(want));
	return match ? SRS_OK : SRS_EBADHASH;
}

/* ---- reverse ---- */

/* The fields of a postsrsd address: SRS0<sep>HASH=TT=HOST=USER or SRS1<sep>HASH=HOST=USER. */
struct legacy_parts {
	int kind;
	const char *hash, *ts, *host, *user;
	size_t hash_len, host_len;
};

static int
legacy_split(const char *local, struct legacy_parts *s)
{
	const char *eq;
	int bad;

	memset(s, 0, sizeof(*s));
	if (strncasecmp(local, "SRS", 3) != 0 || (local[3] != '0' && local[3] != '1') ||
	    local[4] == '\0' || strchr("=+-", local[4]) == NULL)
		return SRS_ENOTSRS;
	s->kind = local[3] - '0';
	bad = s->kind == 0 ? SRS_EMALFORMED0 : SRS_EMALFORMED1;
	s->hash = local + 5;
	if ((eq = strchr(s->hash, '=')) == NULL)
		return SRS_ENOTSRS;
	s->hash_len = (size_t)(eq - s->hash);
	if (s->kind == 0) {
		s->ts = eq + 1;
		if ((eq = strchr(s->ts, '=')) == NULL || eq - s->ts != 2)
			return bad;
	}
	s->host = eq + 1;
	if ((eq = strchr(s->host, '=')) == NULL || eq == s->host || eq[1] == '\0')
		return bad;
	s->host_len = (size_t)(eq - s->host);
	s->user = eq + 1;
	return SRS_OK;
}

/* legacy_expired - postsrsd's timestamp check: base32 day, at most max_age days old */
static int
legacy_expired(const struct srs_params *p, time_t now, const char *ts)
{
	const char *a = strchr(legacy_ts, ts[0] >= 'a' && ts[0] <= 'z' ? ts[0] - 32 : ts[0]);
	const char *b = strchr(legacy_ts, ts[1] >= 'a' && ts[1] <= 'z' ? ts[1] - 32 : ts[1]);
	long then, day;

	if (ts[0] == '\0' || ts[1] == '\0' || a == NULL || b == NULL)
		return SRS_EMALFORMED0;
	then = (long)(a - legacy_ts) * 32 + (long)(b - legacy_ts);
	day = clock_day(now) % LEGACY_TS_PERIOD;
	if (day < 0)
		day += LEGACY_TS_PERIOD;
	return (day - then + LEGACY_TS_PERIOD) % LEGACY_TS_PERIOD <= (long)p->max_age ?
	    SRS_OK : SRS_EEXPIRED;
}

int
srs_legacy_verify(const struct srs_params *p, const struct srs_legacy *lg, time_t now,
    const struct addr *in, struct addr *out)
{
	struct legacy_parts s;
	const char *f[3];
	size_t fl[3];
	int err;

	if (p == NULL || p->domain == NULL)
		return SRS_ECONFIG;
	if (lg == NULL || lg->n == 0)
		return SRS_ENOKEY;
	if ((err = srs_addressed(p->domain, in)) != SRS_OK)
		return err;
	if ((err = legacy_split(in->local, &s)) != SRS_OK)
		return err;
	f[0] = s.kind == 0 ? s.ts : s.host;
	fl[0] = s.kind == 0 ? 2 : s.host_len;
	f[1] = s.kind == 0 ? s.host : s.user;
	fl[1] = s.kind == 0 ? s.host_len : strlen(s.user);
	f[2] = s.kind == 0 ? s.user : NULL;
	fl[2] = s.kind == 0 ? strlen(s.user) : 0;
	if ((err = legacy_check(lg, s.hash, s.hash_len, f, fl)) != SRS_OK)
		return err;
	if (s.kind == 0 && (err = legacy_expired(p, now, s.ts)) != SRS_OK)
		return err;
	return srs_previous(s.kind, s.host, s.host_len, s.user, out);
}

int
srs_legacy_reverse(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out, bool *legacy)
{
	int err = srs_reverse(p, kr, now, in, out), lerr;

	*legacy = false;
	if (p == NULL || p->legacy == NULL)
		return err;
	/* only a hash of ours that failed may be postsrsd's: the layouts are the same */
	if (err != SRS_EBADHASH && err != SRS_ESHORTHASH && err != SRS_ENOKEY)
		return err;
	lerr = srs_legacy_verify(p, p->legacy, now, in, out);
	if (lerr == SRS_OK)
		*legacy = true;
	/* a hash too short for ours but long enough for postsrsd's failed as postsrsd's */
	if (err == SRS_ESHORTHASH && lerr == SRS_EBADHASH)
		return lerr;
	return lerr == SRS_OK || lerr == SRS_EEXPIRED ? lerr : err;
}

const char *
srs_legacy_strerror(int err)
{
	switch (err) {
	case SRS_LEGACY_OK: return "success";
	case SRS_LEGACY_ENOMEM: return "out of memory";
	case SRS_LEGACY_EOPEN: return "cannot read the file";
	case SRS_LEGACY_EMODE: return "readable by everyone";
	case SRS_LEGACY_ENOTFILE: return "not a regular file";
	case SRS_LEGACY_ELARGE: return "larger than 64 KiB: not a postsrsd secrets file";
	case SRS_LEGACY_ELINE: return "a line longer than postsrsd reads";
	case SRS_LEGACY_EEMPTY: return "holds no secret (postsrsd needs one a line)";
	case SRS_LEGACY_ESPEC: return "use file:PATH, PATH being postsrsd's secrets file";
	}
	return "unknown error";
}
