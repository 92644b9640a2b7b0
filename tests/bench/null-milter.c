/* null-milter: the floor for milter-load. A libmilter filter that registers backstop-milter's
 * actions, negotiates the same steps and no-reply flags, and accepts everything without
 * looking at it. Usage: null-milter -s SOCKET; stops on SIGTERM. Not a test: see run-all.sh. */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char filter_name[] = "null";

/* The no-reply flags agreed on travel in the connection's private pointer. */
static sfsistat
null_reply(SMFICTX *ctx, unsigned long flag)
{
	uintptr_t noreply = (uintptr_t)smfi_getpriv(ctx);

	return (noreply & flag) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	/* the same sets as backstop-milter's mlfi_negotiate */
	const unsigned long actions = SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT |
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS;
	const unsigned long skip = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA;
	const unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH;

	(void)f2;
	(void)f3;
	if ((f0 & actions) != actions)
		return SMFIS_REJECT;
	*pf0 = actions;
	*pf1 = f1 & (skip | noreply | SMFIP_SKIP);
	*pf2 = 0;
	*pf3 = 0;
	smfi_setpriv(ctx, (void *)(uintptr_t)(*pf1 & noreply));
	return SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	(void)hostname;
	(void)sa;
	return null_reply(ctx, SMFIP_NR_CONN);
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return null_reply(ctx, SMFIP_NR_MAIL);
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return null_reply(ctx, SMFIP_NR_HDR);
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
	return null_reply(ctx, SMFIP_NR_EOH);
}

/* null_body - as backstop-milter with nothing to look for: the first chunk, then skip */
static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_SKIP;
}

static sfsistat
null_continue(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_ADDHDRS |
	    SMFIF_CHGHDRS,
	.xxfi_connect = null_connect,
	.xxfi_envfrom = null_envfrom,
	.xxfi_envrcpt = null_envrcpt,
	.xxfi_header = null_header,
	.xxfi_eoh = null_eoh,
	.xxfi_body = null_body,
	.xxfi_eom = null_continue,
	.xxfi_abort = null_continue,
	.xxfi_close = null_close,
	.xxfi_negotiate = null_negotiate,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "s:hV")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'h': printf("usage: null-milter -s SOCKET\n"); return 0;
		case 'V': printf("null-milter (%s)\n", PACKAGE_STRING); return 0;
		default: fprintf(stderr, "usage: null-milter -s SOCKET\n"); return 2;
		}
	}
	if (sock == NULL || optind != argc) {
		fprintf(stderr, "usage: null-milter -s SOCKET\n");
		return 2;
	}
	if (smfi_register(filter) != MI_SUCCESS || smfi_setconn((char *)(uintptr_t)sock) !=
	    MI_SUCCESS || smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "null-milter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
