/* demo.h: `dealdesk --demo`: a bundled marketd with a simulated fleet on a free
 * loopback port, a generated supervisor token, and the console attached to it. */
#ifndef DEALDESK_TUI_DEMO_H
#define DEALDESK_TUI_DEMO_H

#include "tui/app.h"

/* Starts marketd, waits until it is healthy, points cfg at it, runs app_run(), stops
 * marketd and removes its temporary folder. Returns the process exit code. */
int demo_run(config *cfg);

#endif
