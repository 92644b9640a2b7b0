/* addr: RFC 5321 mailbox parsing.
 * A mailbox is split into a local part (kept as written, quotes included) and a domain.
 * Parsing never allocates; the 64/255-octet limits of RFC 5321 bound the buffers. */
#ifndef BACKSTOP_ADDR_H
#define BACKSTOP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
/* "local@domain" plus NUL: the longest text addr_format() writes. */
#define ADDR_TEXT_MAX (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX + 1)

enum addr_err {
	ADDR_OK = 0,
	ADDR_EEMPTY = -1,	/* nothing to parse */
	ADDR_ENUL = -2,		/* NUL byte inside the text */
	ADDR_EBRACKET = -3,	/* unbalanced or misplaced < > */
	ADDR_ENOAT = -4,	/* no @ between local part and domain */
	ADDR_ELOCAL = -5,	/* local part syntax (empty, bad dot, bad character) */
	ADDR_EQUOTE = -6,	/* unterminated or bad quoted string */
	ADDR_EDOMAIN = -7,	/* domain syntax (empty, bad dot, bad label, bad literal) */
	ADDR_ELOCALLONG = -8,	/* local part over 64 octets */
	ADDR_EDOMAINLONG = -9,	/* domain over 255 octets */
	ADDR_ESPACE = -10,	/* output buffer too small */
};

struct addr {
	bool null;			/* the null path <> */
	bool quoted;			/* local part is a quoted string */
	char local[ADDR_LOCAL_MAX + 1];	/* as written, quotes included */
	char domain[ADDR_DOMAIN_MAX + 1];
};

/* addr_parse - parse "<local@domain>", "local@domain" or "<>" of len bytes */
int addr_parse(struct addr *out, const char *text, size_t len)
	__attribute__((warn_unused_result));
/* addr_set - build an address from a local part and domain, checking both */
int addr_set(struct addr *out, const char *local, size_t local_len, const char *domain)
	__attribute__((warn_unused_result));
/* addr_format - write "local@domain" ("" for the null path) into buf */
int addr_format(const struct addr *a, char *buf, size_t size);
/* addr_domain_match - does domain match pattern (".example.com" = any subdomain)? */
bool addr_domain_match(const char *domain, const char *pattern);
/* addr_domain_in - does domain match any of n patterns? */
bool addr_domain_in(const char *domain, char *const *patterns, size_t n);
/* addr_match - does the address match "user@domain", "domain", ".domain" or "user@*"? */
bool addr_match(const struct addr *a, const char *pattern);
/* addr_strerror - text for an addr_err code */
const char *addr_strerror(int err);

/* addr_lower - c in ASCII lowercase: the case rule of every address comparison, key and MAC
 * input. Other bytes, UTF-8 included, stay as they are, whatever the locale. */
static inline char
addr_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* addr_lowercase - the n bytes of in, through addr_lower, into out (which may be in) */
static inline void
addr_lowercase(char *out, const char *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = addr_lower(in[i]);
}

#endif
