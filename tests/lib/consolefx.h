/* consolefx.h: a console without a terminal, for unit tests of the logic of tui/ (the
 * command table, keys, prompts, confirmations): the real ui, store, keymap and client,
 * the client bound to a market but never run, so that a decision is journaled and queued
 * and nothing leaves the process. No curses call is made (cmdline.c's readline is not set
 * up: a prompt records its purpose and text only).
 *
 * The market it holds: lst_1 (a listing), pur_1 pending (version 3, 2 x $20.00 = $40.00, bought by
 * agt_1), pur_2 settled (version 7), agt_1 active, agt_2 paused, alr_1 open and alr_2 acknowledged
 * (both about pur_1), led_1 (pur_2's settlement), the fleet running.
 */
#ifndef DEALDESK_TESTS_CONSOLEFX_H
#define DEALDESK_TESTS_CONSOLEFX_H

#include <stdbool.h>

#include "tui/ui.h"

typedef struct consolefx {
    config cfg;
    ui u;
    char dir[512]; /* a scratch folder of its own (the journal, exports) */
} consolefx;

/* Opens a console on the market above; binds are `bind` lines of a config file as pairs
 * ("x", "quit", ...) ending with NULL (or binds NULL). Fails the test when it cannot. */
consolefx *consolefx_open(const char *const *binds, bool read_only);
/* The same; bound false: the client has not read the market (nor who the operator is). */
consolefx *consolefx_open_as(const char *const *binds, bool read_only, bool bound);
/* Frees everything and removes its folder. */
void consolefx_close(consolefx *f);
/* Halts the fleet (a fleet event applied to the store). */
void consolefx_halt_fleet(consolefx *f);

/* Adds the four policies of marketd's default set (docs/api.md, Policies) as pol_1..pol_4,
 * each a policy.updated event read by the real decoder (version 1, enabled; pol_4
 * overpay-veto-shadow in shadow mode; pol_2 small-clean-books with 7 hits). */
void consolefx_policies(consolefx *f);

/* Adds dsp_1 (issue 17), a dispute.updated read by the real decoder: open, version 1, over
 * pur_2, wrong_quantity, claim $30.00 USD, opened by agt_1 against agt_2, respond-by far ahead. */
void consolefx_dispute(consolefx *f);

/* True when nothing was sent or queued and the console is back to browsing. */
bool consolefx_nothing_sent(const consolefx *f);
/* Fails unless the status line holds want (its marks stripped) and is (not) an error. */
void consolefx_says(const consolefx *f, const char *want, bool error);
/* Fails unless a y/N confirmation of action a on subject is open, nothing sent. */
void consolefx_confirming(const consolefx *f, decision_action a, const char *subject);
/* Fails unless exactly one decision, a on subject, is in flight and queued. */
void consolefx_sent(const consolefx *f, decision_action a, const char *subject);
/* Switches to pane p, selects the row id there and runs the key action a. */
void consolefx_key_on(consolefx *f, int p, const char *id, ui_action a);
/* Answers the open prompt with line (NULL: Esc), as cmdline.c does. */
void consolefx_answer(consolefx *f, const char *line);

#endif
