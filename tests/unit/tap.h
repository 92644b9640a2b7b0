/* tap.h: a minimal Test Anything Protocol emitter for the unit tests.
 * "plan" comes last (done_testing) so table-driven tests need not count rows. */
#ifndef BACKSTOP_TAP_H
#define BACKSTOP_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* is_str - ok() on string equality, printing both sides on failure */
static inline int __attribute__((format(printf, 3, 4)))
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int cond = got != NULL && want != NULL && strcmp(got, want) == 0;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   got:  '%s'\n#   want: '%s'\n", got ? got : "(null)",
		    want ? want : "(null)");
	fflush(stdout);
	return cond;
}

/* is_int - ok() on integer equality */
static inline int __attribute__((format(printf, 3, 4)))
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
	fflush(stdout);
	return cond;
}

static inline void __attribute__((noreturn))
bail_out(const char *why)
{
	printf("Bail out! %s\n", why);
	exit(1);
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed == 0 && tap_n > 0 ? 0 : 1;
}

#endif
