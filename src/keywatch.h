/* keywatch: notices that the key directory changed, so a daemon can take a new keyring
 * snapshot. A cheap stat of the directory and of each file the store reads, at most once a
 * second; the daemon asks from its own loop or timer, nothing polls in a busy loop. */
#ifndef BACKSTOP_KEYWATCH_H
#define BACKSTOP_KEYWATCH_H

#include <stdbool.h>
#include <time.h>

struct keywatch;

/* keywatch_open - watch dir; now is a monotonic seconds count (it only rate-limits) */
struct keywatch *keywatch_open(const char *dir, time_t now);
/* keywatch_changed - has anything changed since the last call that looked (at most once a second)? */
bool keywatch_changed(struct keywatch *w, time_t now);
/* keywatch_close - free the watch */
void keywatch_close(struct keywatch *w);

#endif
