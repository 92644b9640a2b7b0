/* srs-rewrite: SRS from the command line. "forward ADDR..." and "reverse ADDR..." print one
 * result a line; failures go to stderr and make the exit status 1 (2 for usage errors).
 * Each subcommand is a row of one dispatch table, so a server subcommand slots in beside them. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "keyring.h"
#include "policy.h"
#include "srs-legacy.h"
#include "srs-serve.h"
#include "srs.h"

#define PROG "srs-rewrite"
#define EXIT_USAGE 2

/* What a subcommand gets: the configuration file named on the command line, and the loaded
 * configuration and keys when the subcommand asked for them. */
struct cmd_ctx {
	const char *conf_path;
	struct conf *conf;
	struct keyring *kr;
	struct srs_params params;
	time_t now;
};

struct subcommand {
	const char *name;
	const char *args;	/* for the usage line */
	const char *help;
	int min_args;		/* arguments needed after the name */
	bool needs_srs;		/* load the configuration and keys before running */
	int (*run)(struct cmd_ctx *ctx, int argc, char **argv);
};

static int cmd_forward(struct cmd_ctx *ctx, int argc, char **argv);
static int cmd_reverse(struct cmd_ctx *ctx, int argc, char **argv);
static int cmd_serve(struct cmd_ctx *ctx, int argc, char **argv);

static const struct subcommand subcommands[] = {
	{ "forward", "ADDR...", "rewrite senders into the SRS domain", 1, true, cmd_forward },
	{ "reverse", "ADDR...", "validate SRS addresses and print the previous address", 1, true,
	    cmd_reverse },
	{ "serve", "[OPTION...]", "answer Postfix socketmap: or tcp: lookups (options below)", 0,
	    false, cmd_serve },
};

/* cmd_serve - the lookup daemon, in srs-serve.c */
static int
cmd_serve(struct cmd_ctx *ctx, int argc, char **argv)
{
	return srs_serve(ctx->conf_path, argc, argv);
}

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: %s [-c FILE] COMMAND [ARG...]\n       %s -h | -V\n\n", PROG, PROG);
	fprintf(fp, "commands:\n");
	for (i = 0; i < N_SUBCOMMANDS; i++)
		fprintf(fp, "  %-7s %-11s %s\n", subcommands[i].name, subcommands[i].args,
		    subcommands[i].help);
	fprintf(fp, "\nserve options (srs-rewrite serve -h shows them too):\n");
	srs_serve_options(fp);
	fprintf(fp, "\noptions:\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -h       show this help\n"
	    "  -V       show the version\n"
	    "\nBACKSTOP_NOW=<unix seconds> sets the current time, for tests.\n",
	    conf_default_path());
}

/* ctx_load - read the configuration and keys; an error message names the file and the fix */
static int
ctx_load(struct cmd_ctx *ctx)
{
	char why[1024];
	int err;

	err = conf_load(ctx->conf_path, &ctx->conf, why, sizeof(why));
	if (err != CONF_OK) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return EXIT_FAILURE;
	}
	if (ctx->conf->srs_domain == NULL) {
		fprintf(stderr, "%s: SRSDomain is not set in %s: SRS is off; set SRSDomain to "
		    "the domain that SRS addresses use\n", PROG, ctx->conf_path);
		return EXIT_FAILURE;
	}
	err = keyring_load(ctx->conf->key_directory, daemon_user_uid(ctx->conf->user_id), &ctx->kr,
	    why, sizeof(why));
	if (err != KEYRING_OK) {
		fprintf(stderr, "%s: %s\n", PROG, why);
		return EXIT_FAILURE;
	}
	policy_srs_params(ctx->conf, &ctx->params);
	ctx->now = clock_now();
	return EXIT_SUCCESS;
}

static void
ctx_free(struct cmd_ctx *ctx)
{
	keyring_unref(ctx->kr);
	if (ctx->conf != NULL)
		conf_free(ctx->conf);
}

typedef int (*srs_fn)(const struct srs_params *, const struct keyring *, time_t,
    const struct addr *, struct addr *);

/* rewrite_one - run fn on one address and print the result; false on a failure */
static bool
rewrite_one(const struct cmd_ctx *ctx, srs_fn fn, bool notfound_ok, const char *text)
{
	struct addr in, out;
	char buf[ADDR_TEXT_MAX];
	int err;

	err = addr_parse(&in, text, strlen(text));
	if (err != ADDR_OK) {
		fprintf(stderr, "%s: %s: %s\n", PROG, text, addr_strerror(err));
		return false;
	}
	err = fn(&ctx->params, ctx->kr, ctx->now, &in, &out);
	if (err == SRS_OK) {
		addr_format(&out, buf, sizeof(buf));
		printf("%s\n", buf);
		return true;
	}
	if (notfound_ok && srs_err_class(err) == SRS_CLASS_NOTFOUND) {
		printf("%s\n", text);
		return true;
	}
	fprintf(stderr, "%s: %s: %s\n", PROG, text, srs_strerror(err));
	return false;
}

/* rewrite_all - every address argument through fn; "--" may end the options */
static int
rewrite_all(const struct cmd_ctx *ctx, srs_fn fn, bool notfound_ok, int argc, char **argv)
{
	bool failed = false;
	int i = 1;

	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i == argc) {
		fprintf(stderr, "%s: %s needs ADDR...\n", PROG, argv[0]);
		return EXIT_USAGE;
	}
	for (; i < argc; i++)
		if (!rewrite_one(ctx, fn, notfound_ok, argv[i]))
			failed = true;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the results\n", PROG);
		return EXIT_FAILURE;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* cmd_forward - a sender that is ours or not rewritable is printed unchanged */
static int
cmd_forward(struct cmd_ctx *ctx, int argc, char **argv)
{
	return rewrite_all(ctx, srs_forward, true, argc, argv);
}

/* reverse_any - srs_reverse, or postsrsd's hash (SRSLegacySecrets), said on stderr */
static int
reverse_any(const struct srs_params *p, const struct keyring *kr, time_t now,
    const struct addr *in, struct addr *out)
{
	char buf[ADDR_TEXT_MAX];
	bool legacy;
	int err = srs_legacy_reverse(p, kr, now, in, out, &legacy);

	if (legacy) {
		addr_format(in, buf, sizeof(buf));
		fprintf(stderr, "%s: %s: legacy postsrsd hash\n", PROG, buf);
	}
	return err;
}

/* cmd_reverse - anything but a valid SRS address at our SRS domain is a failure */
static int
cmd_reverse(struct cmd_ctx *ctx, int argc, char **argv)
{
	return rewrite_all(ctx, reverse_any, false, argc, argv);
}

static const struct subcommand *
subcommand_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_SUBCOMMANDS; i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return &subcommands[i];
	return NULL;
}

/* dispatch - run the subcommand named by argv[0] with its own arguments */
static int
dispatch(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct subcommand *sc;
	int rc;

	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	sc = subcommand_find(argv[0]);
	if (sc == NULL) {
		fprintf(stderr, "%s: unknown command '%s' (try %s -h)\n", PROG, argv[0], PROG);
		return EXIT_USAGE;
	}
	if (argc - 1 < sc->min_args) {
		fprintf(stderr, "%s: %s needs %s (try %s -h)\n", PROG, sc->name, sc->args, PROG);
		return EXIT_USAGE;
	}
	if (sc->needs_srs && (rc = ctx_load(ctx)) != EXIT_SUCCESS)
		return rc;
	return sc->run(ctx, argc, argv);
}

int
main(int argc, char **argv)
{
	struct cmd_ctx ctx;
	int ch, rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.conf_path = conf_default_path();
	opterr = 0;
	while ((ch = getopt(argc, argv, "+c:hV")) != -1) {
		switch (ch) {
		case 'c':
			ctx.conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s\n", PACKAGE_STRING);
			return EXIT_SUCCESS;
		default:
			if (optopt == 'c')
				fprintf(stderr, "%s: -c needs a FILE\n", PROG);
			else
				fprintf(stderr, "%s: unknown option -%c\n", PROG, optopt);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n", PROG);
		return EXIT_FAILURE;
	}
	rc = dispatch(&ctx, argc - optind, argv + optind);
	ctx_free(&ctx);
	return rc;
}
