/* clock: the current time, which tests set with BACKSTOP_NOW=<unix seconds>.
 * Every program reads time here so that no test ever has to sleep. */
#ifndef BACKSTOP_CLOCK_H
#define BACKSTOP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CLOCK_DAY 86400

/* clock_now - BACKSTOP_NOW if set and valid, else time(NULL) */
time_t clock_now(void);
/* clock_overridden - is BACKSTOP_NOW in force (daemons log a warning)? */
bool clock_overridden(void);
/* clock_day - the UTC day number of t */
long clock_day(time_t t);
/* clock_monotonic - milliseconds of a clock that never steps, to a few ms: for timeouts and
 * debouncing only (BACKSTOP_NOW does not move it) */
uint64_t clock_monotonic(void);

/* clock_monotonic_s - the same clock in whole seconds, as keywatch counts them */
static inline time_t
clock_monotonic_s(void)
{
	return (time_t)(clock_monotonic() / 1000);
}

#endif
