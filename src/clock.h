/* clock: the current time, which tests set with BACKSTOP_NOW=<unix seconds>.
 * Every program reads time here so that no test ever has to sleep. */
#ifndef BACKSTOP_CLOCK_H
#define BACKSTOP_CLOCK_H

#include <stdbool.h>
#include <time.h>

#define CLOCK_DAY 86400

/* clock_now - BACKSTOP_NOW if set and valid, else time(NULL) */
time_t clock_now(void);
/* clock_overridden - is BACKSTOP_NOW in force (daemons log a warning)? */
bool clock_overridden(void);
/* clock_day - the UTC day number of t */
long clock_day(time_t t);

#endif
