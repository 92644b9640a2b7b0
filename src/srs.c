/* placeholder: being written */
#include "config.h"
int srs_placeholder_(void);
int
srs_placeholder_(void)
{
	return 0;
}
