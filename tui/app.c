/* app.c: the console's event loop (being written; see app.h). */
#include "tui/app.h"

#include <stdio.h>

/* Runs the console; until the loop lands this reports that it is not available. */
int app_run(const config *cfg)
{
    (void)cfg;
    fprintf(stderr, "dealdesk: the console is not built yet\n");
    return 1;
}
