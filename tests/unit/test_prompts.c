/* test_prompts.c: the keys and prompts of the console without a terminal: the
 * veto/cap/pause/halt/refund prompts take their answers or refuse them (sending nothing),
 * confirmations answer y or no, a decision's key acts on the selection, the command
 * prompt runs its line, and the keys reach their entries of the table (tui/commands.c,
 * tui/actions.c). The console is tests/lib's consolefx: nothing leaves the process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "api/json.h"
#include "tests/lib/consolefx.h"

/* ---- the prompts ---- */

static void test_veto_prompt(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_VETO);
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_VETO_REASON);
    assert_string_equal(cmdline_prompt(), "veto pur_1  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a veto needs a reason; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_VETO);
    consolefx_answer(f, NULL); /* Esc */
    consolefx_says(f, "cancelled: nothing was sent", false);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_VETO);
    consolefx_answer(f, "too pricey");
    consolefx_sent(f, DEC_VETO, "pur_1");
    assert_int_equal(f->u.inflight[0].id != 0, 1);
    consolefx_close(f);
}

/* Answers the cap prompts: price, then quantity. */
static void cap_answers(consolefx *f, const char *price, const char *qty)
{
    commands_do(&f->u, ACT_CAP);
    assert_int_equal(f->u.line_purpose, LINE_CAP_PRICE);
    assert_string_equal(cmdline_prompt(), "cap pur_1  max unit price (now $20.00): ");
    consolefx_answer(f, price);
    if (!qty)
        return;
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_CAP_QTY);
    assert_string_equal(cmdline_prompt(), "cap pur_1  max quantity (now 2): ");
    consolefx_answer(f, qty);
}

static void test_cap_prompts(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_NONE);
    cap_answers(f, "abc", NULL);
    consolefx_says(f, "unit price: ", true);
    consolefx_says(f, "; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    cap_answers(f, "1.50", "none");
    consolefx_says(f, "quantity must be a whole number above 0; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    cap_answers(f, "1.50", "0");
    consolefx_says(f, "quantity must be a whole number above 0; nothing was sent", true);
    cap_answers(f, "", "");
    consolefx_says(f, "cap needs a unit price or a quantity; not sent", true);
    assert_true(consolefx_nothing_sent(f));
    cap_answers(f, "", " 1 ");
    consolefx_confirming(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, -1);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
    actions_confirm_key(&f->u, 'n', false);
    consolefx_says(f, "not capped: nothing was sent", false);
    assert_true(consolefx_nothing_sent(f));
    cap_answers(f, "1.50", "");
    consolefx_confirming(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, 150);
    assert_int_equal(f->u.confirm_req.max_quantity, -1);
    assert_int_equal(f->u.confirm_req.if_match_version, 3);
    actions_confirm_key(&f->u, 'y', false);
    consolefx_sent(f, DEC_CAP, "pur_1");
    assert_string_equal(f->u.inflight[0].label, "capping…");
    consolefx_close(f);
}

static void test_pause_prompt(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_key_on(f, PANE_AGENTS, "agt_1", ACT_PAUSE);
    assert_int_equal(f->u.line_purpose, LINE_PAUSE_REASON);
    assert_string_equal(cmdline_prompt(), "pause agt_1  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a pause needs a reason; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    consolefx_key_on(f, PANE_AGENTS, "agt_2", ACT_PAUSE); /* paused: p resumes, asked y/N */
    consolefx_confirming(f, DEC_RESUME, "agt_2");
    assert_string_equal(f->u.confirm_title, "Resume agent agt_2");
    actions_confirm_key(&f->u, 'x', false);
    consolefx_says(f, "not resumed: nothing was sent", false);
    consolefx_key_on(f, PANE_AGENTS, "agt_1", ACT_PAUSE);
    consolefx_answer(f, "lunch break");
    consolefx_sent(f, DEC_PAUSE, "agt_1");
    assert_string_equal(f->u.line_req.reason, "lunch break");
    consolefx_close(f);
}

/* H on a purchase offers its seller (the fixture's listing has no category, its buyer no
 * principal: not offered); the scoped halt asks a reason and the word, and sends POST
 * /v1/halts with the one scope chosen. */
static void test_halt_scope_prompt(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_HALT);
    assert_int_equal(f->u.line_purpose, LINE_HALT_SCOPE);
    assert_string_equal(cmdline_prompt(), "halt what?  f the fleet  s seller agt_s: ");
    consolefx_answer(f, "c"); /* not offered */
    consolefx_says(f, "not halted: answer f, or a letter offered; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_HALT);
    consolefx_answer(f, "s");
    assert_string_equal(cmdline_prompt(), "HALT seller agt_s  reason: ");
    consolefx_answer(f, "bad seller");
    assert_int_equal(f->u.line_purpose, LINE_HALT_CONFIRM);
    assert_string_equal(cmdline_prompt(), "type halt to stop what it names: ");
    char *body = json_decision_body(&f->u.line_req), path[64];
    assert_string_equal(body, "{\"reason\":\"bad seller\",\"scope\":{\"sellers\":[\"agt_s\"]}}");
    free(body);
    assert_int_equal(decision_path(&f->u.line_req, path, sizeof path), 0);
    assert_string_equal(path, "/v1/halts");
    consolefx_answer(f, "halt");
    consolefx_sent(f, DEC_HALT_SCOPE, "fleet");
    consolefx_close(f);
}

static void test_halt_and_refund_prompts(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    commands_do(&f->u, ACT_HALT); /* on a row: the fleet, or the row's scopes (issue 16) */
    assert_int_equal(f->u.line_purpose, LINE_HALT_SCOPE);
    consolefx_answer(f, "f");
    assert_int_equal(f->u.line_purpose, LINE_HALT_REASON);
    assert_string_equal(cmdline_prompt(), "HALT THE FLEET  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a halt needs a reason; the fleet keeps running", true);
    commands_do(&f->u, ACT_HALT);
    consolefx_answer(f, ""); /* Enter: the fleet */
    consolefx_answer(f, "storm");
    assert_int_equal(f->u.line_purpose, LINE_HALT_CONFIRM);
    assert_int_equal(f->u.line_req.if_match_version, 1); /* the running fleet H saw */
    consolefx_answer(f, "HALT");
    consolefx_says(f, "not halted: you typed something other than 'halt'", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "halt storm");
    consolefx_answer(f, "halt");
    consolefx_sent(f, DEC_HALT, "fleet");
    consolefx_close(f);

    f = consolefx_open(NULL, false);
    commands_run(&f->u, "refund pur_2");
    assert_int_equal(f->u.line_purpose, LINE_REFUND_REASON);
    assert_string_equal(cmdline_prompt(), "refund pur_2  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a refund needs a reason; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "refund pur_2");
    consolefx_answer(f, "broken");
    consolefx_confirming(f, DEC_REFUND, "pur_2");
    assert_string_equal(f->u.confirm_req.reason, "broken");
    assert_int_equal(f->u.confirm_req.if_match_version, 7);
    consolefx_close(f);
}

/* A decision's key acts on the selection (following it to the purchase's buyer, the
 * alert's purchase) and asks the rest; H resumes a halted fleet. */
static void test_decision_keys(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_APPROVE);
    consolefx_confirming(f, DEC_APPROVE, "pur_1");
    assert_string_equal(f->u.confirm_title, "Approve pur_1 (version 3)");
    assert_int_equal(f->u.confirm_req.expected_total_minor, 4000);
    actions_confirm_key(&f->u, KEY_ENTER, true); /* anything but y: no */
    consolefx_says(f, "not approved: nothing was sent", false);
    commands_do(&f->u, ACT_PAUSE); /* the buyer of the selected purchase */
    assert_int_equal(f->u.line_purpose, LINE_PAUSE_REASON);
    assert_string_equal(f->u.line_req.subject_id, "agt_1");
    consolefx_answer(f, NULL);
    consolefx_key_on(f, PANE_ALERTS, "alr_1", ACT_CAP); /* the alert's purchase */
    assert_int_equal(f->u.line_purpose, LINE_CAP_PRICE);
    assert_string_equal(f->u.line_req.subject_id, "pur_1");
    consolefx_answer(f, NULL);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_REFUND); /* pur_1 is not settled */
    consolefx_says(f, "only a settled purchase can be refunded", true);
    commands_do(&f->u, ACT_ACK);
    consolefx_sent(f, DEC_ACK, "alr_1");
    consolefx_key_on(f, PANE_LEDGER, "led_1", ACT_REFUND); /* the entry's purchase */
    assert_int_equal(f->u.line_purpose, LINE_REFUND_REASON);
    assert_string_equal(cmdline_prompt(), "refund pur_2  reason: ");
    consolefx_answer(f, NULL);
    consolefx_key_on(f, PANE_LISTINGS, "lst_1", ACT_PAUSE); /* a listing: no agent */
    consolefx_says(f, "select an agent first (pane 6)", true);
    consolefx_close(f);

    f = consolefx_open(NULL, false);
    consolefx_halt_fleet(f);
    commands_do(&f->u, ACT_HALT);
    consolefx_confirming(f, DEC_FLEET_RESUME, "");
    /* the box names the halt it lifts and is bound to its version (review finding 5) */
    assert_string_equal(f->u.confirm_title, "Resume the fleet (version 2)");
    assert_int_equal(f->u.confirm_req.if_match_version, 2);
    assert_non_null(strstr(f->u.confirm_lines[0], "halted by sup1 at "));
    assert_non_null(strstr(f->u.confirm_lines[0], ": storm"));
    actions_confirm_key(&f->u, 'y', false);
    consolefx_sent(f, DEC_FLEET_RESUME, "fleet");
    consolefx_close(f);
}

/* A line typed at the command prompt runs as a command. */
static void test_command_prompt(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    commands_do(&f->u, ACT_COMMAND);
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_COMMAND);
    assert_string_equal(cmdline_prompt(), ":");
    consolefx_answer(f, "pane 3");
    assert_int_equal(f->u.pane, PANE_LISTINGS);
    consolefx_answer(f, NULL); /* Esc on the command line: no message */
    assert_string_equal(f->u.status, "");
    consolefx_close(f);
}

static void test_keys_dispatch(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    commands_do(&f->u, keymap_lookup('6', false));
    assert_int_equal(f->u.pane, PANE_AGENTS);
    assert_int_equal(keymap_lookup(KEY_BTAB, true), ACT_PREV_PANE);
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_POLICIES);
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_DISPUTES); /* the last pane */
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_PENDING);
    commands_do(&f->u, ACT_PREV_PANE);
    assert_int_equal(f->u.pane, PANE_DISPUTES);
    commands_do(&f->u, ACT_PREV_PANE);
    assert_int_equal(f->u.pane, PANE_POLICIES);
    commands_do(&f->u, ACT_PREV_PANE);
    assert_int_equal(f->u.pane, PANE_AGENTS);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.nrows, 2);
    commands_do(&f->u, keymap_lookup('G', false));
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 1);
    commands_do(&f->u, keymap_lookup(KEY_UP, true));
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 0);
    commands_do(&f->u, ACT_PGDN);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 1);
    commands_do(&f->u, ACT_HOME);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 0);
    commands_do(&f->u, keymap_lookup('\r', false)); /* Enter, as a terminal sends it */
    assert_true(f->u.panes[PANE_AGENTS].detail);
    commands_do(&f->u, ACT_BACK);
    assert_false(f->u.panes[PANE_AGENTS].detail);
    commands_do(&f->u, ACT_FILTER);
    assert_int_equal(f->u.mode, MODE_FILTER);
    f->u.mode = MODE_BROWSE;
    snprintf(f->u.panes[PANE_AGENTS].filter, sizeof f->u.panes[0].filter, "agt_2");
    commands_do(&f->u, ACT_BACK);
    consolefx_says(f, "filter cleared", false);
    commands_do(&f->u, keymap_lookup('s', false));
    consolefx_says(f, "Agents sorted by ", false);
    commands_do(&f->u, keymap_lookup(KEY_F(1), true));
    assert_int_equal(f->u.mode, MODE_HELP);
    f->u.mode = MODE_BROWSE;
    commands_do(&f->u, ACT_NONE); /* unbound: nothing */
    commands_do(&f->u, ACT_COUNT);
    commands_do(&f->u, keymap_lookup('q', false));
    assert_true(f->u.quit);
    consolefx_close(f);
}

/* Before the market has been read, a decision is refused before any prompt or box opens:
 * the operator is never asked to confirm what cannot be sent. */
static void test_decisions_refused_before_the_market_is_read(void **state)
{
    (void)state;
    consolefx *f = consolefx_open_as(NULL, false, false);
    consolefx_key_on(f, PANE_PENDING, "pur_1", ACT_APPROVE);
    consolefx_says(f, "approve: not connected: nothing sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "halt drill");
    consolefx_says(f, "halt: not connected: nothing sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "veto pur_1 too dear");
    consolefx_says(f, "veto: not connected: nothing sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "pane 2"); /* what is not a decision still works */
    assert_int_equal(f->u.pane, PANE_THREADS);
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_veto_prompt),
        cmocka_unit_test(test_cap_prompts),
        cmocka_unit_test(test_pause_prompt),
        cmocka_unit_test(test_halt_and_refund_prompts),
        cmocka_unit_test(test_halt_scope_prompt),
        cmocka_unit_test(test_decision_keys),
        cmocka_unit_test(test_command_prompt),
        cmocka_unit_test(test_keys_dispatch),
        cmocka_unit_test(test_decisions_refused_before_the_market_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
