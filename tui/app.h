/* app.h: the dealdesk console (curses), and the demo that runs it against a bundled marketd.
 *
 * | file          | holds                                                         |
 * |---------------|---------------------------------------------------------------|
 * | app.c         | app_run: terminal setup/teardown, the one event loop, frames  |
 * | demo.c        | demo_run: starts marketd with a simulated fleet and attaches  |
 */
#ifndef DEALDESK_TUI_APP_H
#define DEALDESK_TUI_APP_H

#if __has_include("api/config.h")
#include "api/config.h"
#else
typedef struct config config;
#endif

/* Runs the console against cfg's server until the operator quits, the terminal goes
 * away (SIGHUP, end of input) or a fatal error. Returns the process exit code
 * (0 ok, 1 runtime failure). */
int app_run(const config *cfg);

#endif
