/* mapcodec: the socketmap netstring and tcp_table line formats. Every function is pure over
 * the caller's buffers: a parser reports MAPCODEC_EMORE for an incomplete frame rather than
 * guess, and a formatter reports MAPCODEC_ESPACE rather than truncate. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mapcodec.h"

int
mapcodec_netstring_parse(const char *buf, size_t len, size_t max, const char **data,
    size_t *dlen, size_t *used)
{
	size_t i = 0, n = 0;

	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		n = n * 10 + (size_t)(buf[i] - '0');
		if (n > max)
			return MAPCODEC_ETOOBIG;
	}
	if (i > 20)
		return MAPCODEC_ELENGTH;	/* only leading zeros can get here */
	if (i == len)
		return MAPCODEC_EMORE;
	if (i == 0 || buf[i] != ':')
		return MAPCODEC_ELENGTH;
	i++;
	if (len - i < n + 1)
		return MAPCODEC_EMORE;
	if (buf[i + n] != ',')
		return MAPCODEC_ECOMMA;
	*data = buf + i;
	*dlen = n;
	*used = i + n + 1;
	return MAPCODEC_OK;
}

int
mapcodec_line_parse(const char *buf, size_t len, size_t max, const char **line, size_t *llen,
    size_t *used)
{
	const char *nl = memchr(buf, '\n', len < max + 2 ? len : max + 2);
	size_t n;

	if (nl == NULL)
		return len >= max + 2 ? MAPCODEC_ETOOBIG : MAPCODEC_EMORE;
	n = (size_t)(nl - buf);
	*used = n + 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n > max)
		return MAPCODEC_ETOOBIG;
	*line = buf;
	*llen = n;
	return MAPCODEC_OK;
}

int
mapcodec_socketmap_split(const char *data, size_t len, const char **name, size_t *nlen,
    const char **key, size_t *klen)
{
	const char *sp = memchr(data, ' ', len);

	if (sp == NULL || sp == data || (size_t)(sp - data) > MAPCODEC_NAME_MAX)
		return MAPCODEC_EREQUEST;
	if (memchr(data, '\0', len) != NULL)
		return MAPCODEC_EREQUEST;
	*name = data;
	*nlen = (size_t)(sp - data);
	*key = sp + 1;
	*klen = len - *nlen - 1;
	return *klen == 0 ? MAPCODEC_EREQUEST : MAPCODEC_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mapcodec_url_decode(const char *in, size_t len, char *out, size_t outsize, size_t *outlen)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '%') {
			if (len - i < 3)
				return MAPCODEC_EENCODING;
			hi = hexval(in[i + 1]);
			lo = hexval(in[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return MAPCODEC_EENCODING;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '\0') {
			return MAPCODEC_EENCODING;
		}
		if (o + 1 >= outsize)
			return MAPCODEC_ETOOBIG;
		out[o++] = c;
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return MAPCODEC_OK;
}

int
mapcodec_url_encode(const char *in, size_t len, char *out, size_t outsize)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > ' ' && c < 0x7f && c != '%') {
			if (o + 1 >= outsize)
				return MAPCODEC_ESPACE;
			out[o++] = (char)c;
			continue;
		}
		if (o + 3 >= outsize)
			return MAPCODEC_ESPACE;
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (outsize == 0)
		return MAPCODEC_ESPACE;
	out[o] = '\0';
	return (int)o;
}

int
mapcodec_tcp_request(const char *line, size_t len, char *key, size_t keysize)
{
	size_t i = 4;

	if (len < 4 || strncasecmp(line, "get", 3) != 0 || (line[3] != ' ' && line[3] != '\t'))
		return MAPCODEC_EREQUEST;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (i == len || memchr(line + i, ' ', len - i) != NULL)
		return MAPCODEC_EREQUEST;
	return mapcodec_url_decode(line + i, len - i, key, keysize, NULL);
}

static const char *const socketmap_word[] = { "OK", "NOTFOUND", "PERM", "TEMP" };
static const char *const tcp_code[] = { "200", "500", "500", "400" };

/* Reasons go out raw, so nothing in them may break the framing. */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			*s = '?';
}

/* put_decimal - v in decimal at out (room for 20 digits assumed); the length */
static size_t
put_decimal(char *out, size_t v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

int
mapcodec_socketmap_reply(enum mapcodec_status st, const char *text, char *out,
    size_t outsize)
{
	const char *w = socketmap_word[(unsigned)st <= MAPCODEC_TEMP ? st : MAPCODEC_TEMP];
	size_t wlen = strlen(w), tlen = strlen(text), plen = wlen + 1 + tlen, o;

	if (outsize < plen + 24)
		return MAPCODEC_ESPACE;
	o = put_decimal(out, plen);
	out[o++] = ':';
	memcpy(out + o, w, wlen);
	o += wlen;
	out[o++] = ' ';
	memcpy(out + o, text, tlen);
	o += tlen;
	out[o++] = ',';
	out[o] = '\0';
	return (int)o;
}

int
mapcodec_tcp_reply(enum mapcodec_status st, const char *text, char *out, size_t outsize)
{
	int n;

	if (outsize < 6)
		return MAPCODEC_ESPACE;
	if ((unsigned)st > MAPCODEC_TEMP)
		st = MAPCODEC_TEMP;	/* a lookup's bad status is no reason to read past the table */
	memcpy(out, tcp_code[st], 3);
	out[3] = ' ';
	if (st == MAPCODEC_FOUND) {
		n = mapcodec_url_encode(text, strlen(text), out + 4, outsize - 5);
		if (n < 0)
			return n;
	} else {
		n = snprintf(out + 4, outsize - 5, "%s", text);
		if (n < 0 || (size_t)n >= outsize - 5)
			return MAPCODEC_ESPACE;
		sanitize(out + 4);
	}
	out[4 + n] = '\n';
	out[5 + n] = '\0';
	return n + 5;
}

const char *
mapcodec_strerror(int err)
{
	switch (err) {
	case MAPCODEC_OK: return "success";
	case MAPCODEC_EMORE: return "incomplete frame";
	case MAPCODEC_ELENGTH: return "bad netstring length";
	case MAPCODEC_ETOOBIG: return "request too long";
	case MAPCODEC_ECOMMA: return "netstring not terminated by a comma";
	case MAPCODEC_EREQUEST: return "malformed request";
	case MAPCODEC_EENCODING: return "bad %XX encoding";
	case MAPCODEC_ESPACE: return "output buffer too small";
	}
	return "unknown mapcodec error";
}
