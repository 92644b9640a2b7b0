/* addr: RFC 5321 mailbox parsing and matching. The parser checks bytes, never allocates and
 * never reads past len; it accepts SMTPUTF8 (bytes >= 0x80 pass through) and drops a source
 * route as RFC 5321 4.1.2 allows. Case folding is ASCII-only, so it is locale-independent. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define ADDR_LABEL_MAX 63

/* addr_ieq - ASCII case-insensitive equality of n bytes */
static bool
addr_ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addr_lower(a[i]) != addr_lower(b[i]))
			return false;
	return true;
}

static bool
addr_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* addr_is_atext - RFC 5322 atext, widened by RFC 6531 to UTF-8 bytes */
static bool
addr_is_atext(unsigned char c)
{
	return addr_is_alnum(c) || c >= 0x80 ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* addr_dot_atom - check an unquoted local part */
static int
addr_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return ADDR_ELOCAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '<' || c == '>')
			return ADDR_EBRACKET;
		if (c == '.' && s[i + 1] == '.')
			return ADDR_ELOCAL;
		if (c != '.' && !addr_is_atext(c))
			return ADDR_ELOCAL;
	}
	return ADDR_OK;
}

/* addr_quoted_end - length of the quoted string at s (s[0] is '"'), or an error */
static long
addr_quoted_end(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return (long)i + 1;
		if (c == '\\') {
			/* quoted-pairSMTP: backslash and a printable ASCII byte */
			if (i + 1 >= n || (unsigned char)s[i + 1] < 32 ||
			    (unsigned char)s[i + 1] > 126)
				return ADDR_EQUOTE;
			i++;
		} else if (c < 32 || c == 127) {
			return ADDR_EQUOTE;
		}
	}
	return ADDR_EQUOTE;
}

/* addr_literal - check an address literal "[...]" of n bytes */
static int
addr_literal(const char *s, size_t n)
{
	char buf[ADDR_DOMAIN_MAX + 1];
	unsigned char bin[16];

	if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof(buf))
		return ADDR_EDOMAIN;
	memcpy(buf, s + 1, n - 2);
	buf[n - 2] = '\0';
	if (strlen(buf) > 5 && addr_ieq(buf, "IPv6:", 5))
		return inet_pton(AF_INET6, buf + 5, bin) == 1 ? ADDR_OK : ADDR_EDOMAIN;
	return inet_pton(AF_INET, buf, bin) == 1 ? ADDR_OK : ADDR_EDOMAIN;
}

/* addr_label - check one domain label of n bytes */
static int
addr_label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ADDR_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return ADDR_EDOMAIN;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '<' || c == '>')
			return ADDR_EBRACKET;
		if (!addr_is_alnum(c) && c != '-' && c < 0x80)
			return ADDR_EDOMAIN;
	}
	return ADDR_OK;
}

/* addr_domain - check a domain of n bytes: labels or an address literal */
static int
addr_domain(const char *s, size_t n)
{
	size_t start = 0, i;
	int err;

	if (n == 0)
		return ADDR_EDOMAIN;
	if (memchr(s, '\0', n) != NULL)
		return ADDR_ENUL;
	if (n > ADDR_DOMAIN_MAX)
		return ADDR_EDOMAINLONG;
	if (s[0] == '[')
		return addr_literal(s, n);
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		err = addr_label(s + start, i - start);
		if (err != ADDR_OK)
			return err;
		start = i + 1;
	}
	return ADDR_OK;
}

/* addr_local - check a local part of n bytes, dot-atom or quoted */
static int
addr_local(const char *s, size_t n, bool *quoted)
{
	long end;
	int err;

	if (memchr(s, '\0', n) != NULL)
		return ADDR_ENUL;
	*quoted = n > 0 && s[0] == '"';
	if (*quoted) {
		end = addr_quoted_end(s, n);
		if (end < 0)
			return (int)end;
		if ((size_t)end != n)
			return ADDR_EQUOTE;
		if (n == 2)
			return ADDR_ELOCAL;	/* "" */
	} else {
		err = addr_dot_atom(s, n);
		if (err != ADDR_OK)
			return err;
	}
	return n > ADDR_LOCAL_MAX ? ADDR_ELOCALLONG : ADDR_OK;
}

int
addr_set(struct addr *out, const char *local, size_t local_len, const char *domain)
{
	size_t dlen;
	bool quoted;
	int err;

	if (local == NULL || domain == NULL)
		return ADDR_EEMPTY;
	err = addr_local(local, local_len, &quoted);
	if (err != ADDR_OK)
		return err;
	dlen = strnlen(domain, ADDR_DOMAIN_MAX + 1);
	err = addr_domain(domain, dlen);
	if (err != ADDR_OK)
		return err;
	memset(out, 0, sizeof(*out));
	out->quoted = quoted;
	memcpy(out->local, local, local_len);
	memcpy(out->domain, domain, dlen);
	return ADDR_OK;
}

/* addr_skip_route - length of a source route "@a,@b:" at s, 0 if none, or an error */
static long
addr_skip_route(const char *s, size_t n)
{
	const char *colon, *p, *comma;
	int err;

	if (n == 0 || s[0] != '@' || (colon = memchr(s, ':', n)) == NULL)
		return 0;
	for (p = s; p < colon; p = comma + 1) {
		if (*p != '@')
			return ADDR_EDOMAIN;
		comma = memchr(p, ',', (size_t)(colon - p));
		if (comma == NULL)
			comma = colon;
		err = addr_domain(p + 1, (size_t)(comma - p - 1));
		if (err != ADDR_OK)
			return err;
	}
	return colon - s + 1;
}

/* addr_split - parse a bare "local@domain" of n bytes into out */
static int
addr_split(struct addr *out, const char *s, size_t n)
{
	const char *at;
	size_t llen;
	long end;
	char domain[ADDR_DOMAIN_MAX + 1];
	int err;

	if (n > 0 && s[0] == '"') {
		end = addr_quoted_end(s, n);
		if (end < 0)
			return (int)end;
		if ((size_t)end == n)
			return ADDR_ENOAT;
		if (s[end] != '@')
			return ADDR_EQUOTE;
		llen = (size_t)end;
	} else {
		at = memchr(s, '@', n);
		llen = at == NULL ? n : (size_t)(at - s);
		err = addr_dot_atom(s, llen);
		if (err != ADDR_OK)
			return err;
		if (at == NULL)
			return ADDR_ENOAT;
	}
	if (n - llen - 1 > ADDR_DOMAIN_MAX)
		return ADDR_EDOMAINLONG;
	err = addr_domain(s + llen + 1, n - llen - 1);
	if (err != ADDR_OK)
		return err;
	memcpy(domain, s + llen + 1, n - llen - 1);
	domain[n - llen - 1] = '\0';
	return addr_set(out, s, llen, domain);
}

int
addr_parse(struct addr *out, const char *text, size_t len)
{
	long route = 0;

	if (text == NULL || len == 0)
		return ADDR_EEMPTY;
	if (memchr(text, '\0', len) != NULL)
		return ADDR_ENUL;
	if (text[0] == '<' || text[len - 1] == '>') {
		if (len < 2 || text[0] != '<' || text[len - 1] != '>')
			return ADDR_EBRACKET;
		text++;
		len -= 2;
		if (len == 0) {
			memset(out, 0, sizeof(*out));
			out->null = true;
			return ADDR_OK;
		}
		route = addr_skip_route(text, len);
		if (route < 0)
			return (int)route;
	}
	return addr_split(out, text + route, len - (size_t)route);
}

int
addr_format(const struct addr *a, char *buf, size_t size)
{
	int n;

	if (size == 0)
		return ADDR_ESPACE;
	if (a->null) {
		buf[0] = '\0';
		return ADDR_OK;
	}
	n = snprintf(buf, size, "%s@%s", a->local, a->domain);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return ADDR_ESPACE;
	}
	return ADDR_OK;
}

bool
addr_domain_match(const char *domain, const char *pattern)
{
	size_t dlen, plen;

	if (domain == NULL || pattern == NULL || *pattern == '\0' || *domain == '\0')
		return false;
	dlen = strlen(domain);
	plen = strlen(pattern);
	if (pattern[0] == '.')
		return dlen > plen && addr_ieq(domain + dlen - plen, pattern, plen);
	return dlen == plen && addr_ieq(domain, pattern, plen);
}

bool
addr_domain_in(const char *domain, char *const *patterns, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addr_domain_match(domain, patterns[i]))
			return true;
	return false;
}

bool
addr_match(const struct addr *a, const char *pattern)
{
	const char *at;
	size_t llen;

	if (a == NULL || pattern == NULL)
		return false;
	if (strcmp(pattern, "<>") == 0)
		return a->null;
	if (a->null)
		return false;
	at = strrchr(pattern, '@');
	if (at == NULL)
		return addr_domain_match(a->domain, pattern);
	llen = (size_t)(at - pattern);
	if (!(llen == 1 && pattern[0] == '*') &&
	    !(llen == strlen(a->local) && addr_ieq(a->local, pattern, llen)))
		return false;
	return strcmp(at + 1, "*") == 0 || addr_domain_match(a->domain, at + 1);
}

const char *
addr_strerror(int err)
{
	switch (err) {
	case ADDR_OK: return "success";
	case ADDR_EEMPTY: return "empty address";
	case ADDR_ENUL: return "NUL byte in address";
	case ADDR_EBRACKET: return "unbalanced or misplaced angle bracket";
	case ADDR_ENOAT: return "no @ between local part and domain";
	case ADDR_ELOCAL: return "bad local part";
	case ADDR_EQUOTE: return "unterminated or bad quoted string";
	case ADDR_EDOMAIN: return "bad domain";
	case ADDR_ELOCALLONG: return "local part longer than 64 octets";
	case ADDR_EDOMAINLONG: return "domain longer than 255 octets";
	case ADDR_ESPACE: return "output buffer too small";
	}
	return "unknown address error";
}
