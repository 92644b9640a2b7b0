/* placeholder: being written */
#include "config.h"
int prvs_placeholder_(void);
int
prvs_placeholder_(void)
{
	return 0;
}
