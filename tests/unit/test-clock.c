/* test-clock: the monotonic clock never goes back, its seconds are its milliseconds cut, and
 * BACKSTOP_NOW, which moves clock_now, leaves it alone. No test reads a wall time. */
#include "config.h"

#include <stdlib.h>

#include "clock.h"
#include "tap.h"

int
main(void)
{
	uint64_t prev, now;
	time_t s;
	int i, back = 0;

	prev = clock_monotonic();
	for (i = 0; i < 100000; i++) {
		now = clock_monotonic();
		back += now < prev;
		prev = now;
	}
	is_int(back, 0, "clock_monotonic never goes back in 100000 reads");
	now = clock_monotonic();
	s = clock_monotonic_s();
	ok((uint64_t)s >= now / 1000 && (uint64_t)s <= clock_monotonic() / 1000,
	    "clock_monotonic_s is the same clock in seconds");
	if (setenv("BACKSTOP_NOW", "1", 1) != 0)
		bail_out("setenv");
	is_int((long long)clock_now(), 1, "BACKSTOP_NOW sets clock_now");
	ok(clock_monotonic() >= now, "but not the monotonic clock");
	return done_testing();
}
