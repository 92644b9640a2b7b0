/* stub: the failing run before the implementation */
#include "config.h"

#include <stdlib.h>

#include "msgclass.h"

struct msgclass {
	int x;
};

int
msgclass_new(size_t scan_limit, struct msgclass **out)
{
	(void)scan_limit;
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? MSGCLASS_ENOMEM : MSGCLASS_OK;
}

void
msgclass_free(struct msgclass *m)
{
	free(m);
}

void
msgclass_header(struct msgclass *m, const char *name, const char *value)
{
	(void)m, (void)name, (void)value;
}

bool
msgclass_eoh(struct msgclass *m)
{
	(void)m;
	return false;
}

bool
msgclass_body(struct msgclass *m, const void *chunk, size_t len)
{
	(void)m, (void)chunk, (void)len;
	return false;
}

void
msgclass_finish(struct msgclass *m)
{
	(void)m;
}

enum msgclass_kind
msgclass_kind(const struct msgclass *m)
{
	(void)m;
	return MSGCLASS_NONE;
}

const char *
msgclass_marker(const struct msgclass *m)
{
	(void)m;
	return "";
}

size_t
msgclass_refs(const struct msgclass *m, const struct msgclass_ref **refs)
{
	(void)m;
	*refs = NULL;
	return 0;
}

bool
msgclass_truncated(const struct msgclass *m)
{
	(void)m;
	return false;
}

const char *
msgclass_kind_name(enum msgclass_kind k)
{
	(void)k;
	return "none";
}

const char *
msgclass_source_name(enum msgclass_source s)
{
	(void)s;
	return "";
}

int
msgclass_msgid(const char *text, size_t len, char *out, size_t outlen)
{
	(void)text, (void)len, (void)out, (void)outlen;
	return -1;
}

void
msgclass_msgid_make(const char *host, char *out, size_t outlen)
{
	(void)host;
	if (outlen > 0)
		out[0] = '\0';
}
