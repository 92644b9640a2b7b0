/* placeholder: being written */
#include "config.h"
int addr_placeholder_(void);
int
addr_placeholder_(void)
{
	return 0;
}
