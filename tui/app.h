/* app.h: the dealdesk console (curses), and the demo that runs it against a bundled marketd.
 *
 * | file          | holds                                                         |
 * |---------------|---------------------------------------------------------------|
 * | app.c         | app_run: terminal setup/teardown, the one event loop (a turn, |
 * |               | timers as data), frames drawn from a const view, tabs, key    |
 * |               | hints, help screen, confirmation box                          |
 * | view.c        | the update step: after the client (role, ui.gen), and before  |
 * |               | a frame (the one layout rule, counts, rows, detail, history)  |
 * | header.c      | the two header lines: only what is known (connection reason,  |
 * |               | next try, unknown/stale marks, replay position); the clock    |
 * | ui.h          | what the files below share (the `ui` state, internal)         |
 * | panes.c       | the eight panes as data: named columns, sorts, collect, cells   |
 * | rows.c        | a pane's rows: recomputed, filtered, sorted (qsort_r), placed  |
 * |               | and drawn; the selection found again by its id                |
 * | position.c    | the selection as an object; the pane title (rows, sort, filter)|
 * | format.c      | quantities, money, countdowns, clock times, agent names       |
 * | detail.c      | the detail views (purchase: everything to decide on one screen)|
 * | commands.c    | every operator action, one table: name, keys, usage, help,    |
 * |               | decision, panes, handlers; key and command dispatch, the key  |
 * |               | bar and the help screen's lines are generated from it         |
 * | keymap.c      | the table's default keys; `bind KEY ACTION` from config       |
 * | actions.c     | decisions -> requests: prompts, confirmations, outcomes       |
 * | batch.c       | marks on Pending rows; one preview and y/N for a decision on  |
 * |               | all of them, each sent as its own bound decision; summary     |
 * | cmdline.c     | readline (callback interface): prompts, completion (the table)|
 * | session.c     | decisions across sessions: unanswered ones at start, at quit  |
 * | export.c      | :export ledger FILE.csv, :export threads FILE.json            |
 * | notify.c      | opt-in escalation at the terminal: the bell repeated while a  |
 * |               | critical alert is open, OSC 777/9 notifications, OSC 2 title  |
 * | disputes.c    | the Disputes pane, its evidence view (api/evidence.c), and    |
 * |               | resolving: refund, refund part (money), reject, confirmed     |
 * | headless_disputes.c | disputes show [--json]: the evidence, read with GETs    |
 * | demo.c        | demo_run: starts marketd with a simulated fleet and attaches  |
 * | main.c        | dealdesk's main (the client engineer's)                       |
 * | headless.c    | tail, snapshot, one-shot decisions, several ids at once       |
 */
#ifndef DEALDESK_TUI_APP_H
#define DEALDESK_TUI_APP_H

#include "api/config.h"

/* Runs the console against cfg's server until the operator quits, the terminal goes
 * away (SIGHUP, end of input) or a fatal error. Returns the process exit code
 * (0 ok, 1 runtime failure). */
int app_run(const config *cfg);

#endif
