/* placeholder: being written */
#include "config.h"
int log_placeholder_(void);
int
log_placeholder_(void)
{
	return 0;
}
