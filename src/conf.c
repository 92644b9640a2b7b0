/* placeholder: being written */
#include "config.h"
int conf_placeholder_(void);
int
conf_placeholder_(void)
{
	return 0;
}
