/* test-fuzz-regress: feed every seed (tests/fuzz/corpus/TARGET/) and every input that once
 * crashed a fuzz target (tests/fuzz/regress/TARGET/) to the same entry points the libFuzzer
 * targets use, built with the normal compiler; each input runs in a child process so that a
 * crash or a broken invariant (abort) fails that input alone. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "tap.h"

struct target {
	const char *name;
	int (*fn)(const uint8_t *, size_t);
};

static const struct target targets[] = {
	{ "addr", fuzz_addr },
	{ "cidr", fuzz_cidr },
	{ "prvs", fuzz_prvs },
	{ "srs-forward", fuzz_srs_forward },
	{ "srs-reverse", fuzz_srs_reverse },
	{ "conf", fuzz_conf },
	{ "keyfile", fuzz_keyfile },
	{ "socketmap", fuzz_socketmap },
	{ "tcp-table", fuzz_tcp_table },
	{ "rcpt", fuzz_rcpt },
	{ "legacy-secrets", fuzz_legacy_secrets },
	{ "msgclass", fuzz_msgclass },
};

/* read_file - the whole file into a malloc'ed buffer (never NULL on success, even empty) */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto fail;
	}
	*len = (size_t)n;
fail:
	fclose(f);
	return buf;
}

/* run_one - the entry point on one file, in a child; true if it returned normally */
static int
run_one(const struct target *t, const char *path)
{
	size_t len = 0;
	uint8_t *data = read_file(path, &len);
	int status;
	pid_t pid;

	if (data == NULL)
		return 0;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(t->fn(data, len) == 0 ? 0 : 1);
	free(data);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* run_dir - every regular file of dir/name (a missing directory has none); returns how many */
static int
run_dir(const struct target *t, const char *kind)
{
	char dir[4096], path[8192], *names[1024];
	struct dirent *de;
	size_t n = 0, i;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_DIR, kind, t->name);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0]))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "README") != 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			ok(run_one(t, path), "%s: %s/%s", t->name, kind, names[i]);
		free(names[i]);
	}
	return (int)n;
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		int seeds = run_dir(&targets[i], "corpus");

		ok(seeds > 0, "%s: has a seed corpus (%d inputs)", targets[i].name, seeds);
		run_dir(&targets[i], "regress");
	}
	return done_testing();
}
