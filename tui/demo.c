/* demo.c: `dealdesk --demo` (being written; see demo.h). */
#include "tui/demo.h"

#include <stdio.h>

/* Runs the demo; until it lands this reports that it is not available. */
int demo_run(config *cfg)
{
    (void)cfg;
    fprintf(stderr, "dealdesk: --demo is not built yet\n");
    return 1;
}
