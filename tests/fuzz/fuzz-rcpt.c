/* fuzz-rcpt: policy_rcpt_resolve, the following of an MTA's rewrites (source routes, the %
 * hack, bang paths, its own names) on hostile recipients. Input: "RCPT\nj\n{rcpt_addr}\n
 * {rcpt_mailer}" (missing lines are absent macros). Invariants: an address judged formats
 * and re-parses; one judged as ours is in Domains or at SRSDomain; unresolved judges none. */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "fuzz.h"
#include "policy.h"

static const struct conf *
fuzz_rcpt_conf(void)
{
	static const char text[] = "Domains example.com, .example.net\n"
	    "SRSDomain fwd.example.com\nReplayDatabase none\n";
	static struct conf *c;
	char err[256];

	if (c == NULL && conf_parse(text, strlen(text), "fuzz.conf", &c, err, sizeof(err)) != 0)
		FUZZ_CHECK(!"the fuzz configuration parses");
	return c;
}

/* fuzz_rcpt_field - the next newline-ended field of the input into buf; NULL at its end */
static const char *
fuzz_rcpt_field(const char **p, const char *end, char *buf, size_t size)
{
	const char *nl;
	size_t len;

	if (*p >= end)
		return NULL;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	len = (size_t)((nl == NULL ? end : nl) - *p);
	if (len >= size)
		len = size - 1;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	*p = nl == NULL ? end : nl + 1;
	return buf;
}

int
fuzz_rcpt(const uint8_t *data, size_t size)
{
	const struct conf *c = fuzz_rcpt_conf();
	const char *p = (const char *)data, *end = p + size;
	char text[1024], host[300], raddr[1024], mailer[64], out[ADDR_TEXT_MAX];
	struct policy_mta m = { NULL, NULL, NULL, NULL, NULL };
	struct policy_rcpt r;
	struct addr a, b;
	bool judged;

	if (fuzz_rcpt_field(&p, end, text, sizeof(text)) == NULL)
		return 0;
	m.myhostname = fuzz_rcpt_field(&p, end, host, sizeof(host));
	m.rcpt_addr = fuzz_rcpt_field(&p, end, raddr, sizeof(raddr));
	m.rcpt_mailer = fuzz_rcpt_field(&p, end, mailer, sizeof(mailer));
	m.rcpt_host = m.myhostname;
	judged = policy_rcpt_resolve(c, fuzz_keyring(), FUZZ_NOW, text, &m, &a, &r);
	FUZZ_CHECK(!judged || r.cls != POLICY_UNRESOLVED);
	if (!judged || a.null)
		return 0;
	FUZZ_CHECK(addr_format(&a, out, sizeof(out)) == ADDR_OK);
	FUZZ_CHECK(addr_parse(&b, out, strlen(out)) == ADDR_OK);
	if (r.cls != POLICY_NOT_OURS)
		FUZZ_CHECK(strcasecmp(a.domain, "fwd.example.com") == 0 ||
		    addr_domain_in(a.domain, c->domains.v, c->domains.n));
	return 0;
}

FUZZ_ENTRY(fuzz_rcpt)
