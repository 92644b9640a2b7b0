/* clock: BACKSTOP_NOW or the system clock. Read on every call so a test can change it
 * between runs of a program; the cost is one getenv. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "clock.h"

static bool
clock_env(time_t *out)
{
	const char *s = getenv("BACKSTOP_NOW");
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return false;
	*out = (time_t)v;
	return true;
}

time_t
clock_now(void)
{
	time_t t;

	if (clock_env(&t))
		return t;
	return time(NULL);
}

bool
clock_overridden(void)
{
	time_t t;

	return clock_env(&t);
}

long
clock_day(time_t t)
{
	/* floor division: times before 1970 are not expected, but stay correct */
	long d = (long)(t / CLOCK_DAY);

	if (t < 0 && t % CLOCK_DAY != 0)
		d--;
	return d;
}

uint64_t
clock_monotonic(void)
{
	struct timespec ts;

	/* the coarse clock is read without a system call: the map server asks on every wakeup */
#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
