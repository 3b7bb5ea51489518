/* test_policies_console.c: the Policies pane without a terminal (issue 15): its rows and
 * cells, the keys and the `:policy` command (each a confirmation bound to the policy's
 * version, nothing sent before y, bad input refused with a message), the backtest preview
 * written from a canned answer read by the real decoder, and automatic decisions named as
 * such in the purchase detail ("approved by policy small-clean-books", shadow verdicts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/json.h"
#include "api/json_policy.h"
#include "tests/lib/consolefx.h"

/* A console on consolefx's market with the default policies, on the Policies pane. */
static consolefx *open_policies(void)
{
    consolefx *f = consolefx_open(NULL, false);
    consolefx_policies(f);
    commands_do(&f->u, ACT_PANE7);
    assert_int_equal(f->u.pane, PANE_POLICIES);
    panes_refresh(&f->u, PANE_POLICIES, true);
    return f;
}

/* The cell col of the policy id. */
static const char *cell(consolefx *f, const char *id, int col, char *buf, size_t size)
{
    unsigned long attr = 0;
    policies_cell(&f->u, store_policy(f->u.st, id), col, buf, size, &attr);
    return buf;
}

/* Every policy, in the market's order (priority), with its columns. */
static void test_pane_rows(void **state)
{
    (void)state;
    consolefx *f = open_policies();
    const ui_pane *pn = &f->u.panes[PANE_POLICIES];
    assert_int_equal(pn->table.nrows, 4);
    static const char *const order[] = {"pol_1", "pol_2", "pol_3", "pol_4"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(panes_row_id(PANE_POLICIES, pn->rows[i]), order[i]);
    char b[400];
    assert_string_equal(cell(f, "pol_2", PLC_NAME, b, sizeof b), "small-clean-books");
    assert_string_equal(cell(f, "pol_2", PLC_PRIO, b, sizeof b), "20");
    assert_string_equal(cell(f, "pol_2", PLC_ACTION, b, sizeof b), "approve");
    assert_string_equal(cell(f, "pol_2", PLC_ENABLED, b, sizeof b), "enabled");
    assert_string_equal(cell(f, "pol_2", PLC_MATCH, b, sizeof b),
                        "USD, total<=$1,000.00, risk<=0, <60/h");
    assert_string_equal(cell(f, "pol_2", PLC_HITS, b, sizeof b), "7/0");
    assert_string_equal(cell(f, "pol_4", PLC_MODE, b, sizeof b), "shadow");
    assert_string_equal(cell(f, "pol_4", PLC_HITS, b, sizeof b), "0/2");
    /* no currency in the match: amounts in the one every agent holds (USD) */
    assert_string_equal(cell(f, "pol_3", PLC_MATCH, b, sizeof b), "total>=$1,000.01");
    assert_string_equal(cell(f, "pol_1", PLC_MATCH, b, sizeof b), "flags_any overpay budget");
    consolefx_close(f);
}

/* e on the selected policy opens a confirmation bound to its version with the backtest
 * running; y sends the disable, any other key nothing. */
static void test_toggle_confirms(void **state)
{
    (void)state;
    consolefx *f = open_policies();
    consolefx_key_on(f, PANE_POLICIES, "pol_2", ACT_POLICY_TOGGLE);
    consolefx_confirming(f, DEC_POLICY_DISABLE, "pol_2");
    assert_int_equal(f->u.confirm_req.if_match_version, 1);
    assert_string_equal(f->u.confirm_title, "Disable policy small-clean-books (version 1)");
    assert_non_null(strstr(f->u.confirm_lines[1], "backtest of the set as it would be: running"));
    assert_int_not_equal(f->u.confirm_backtest, 0);
    actions_confirm_key(&f->u, 'n', false);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_POLICY_TOGGLE);
    actions_confirm_key(&f->u, 'y', false);
    consolefx_sent(f, DEC_POLICY_DISABLE, "pol_2");
    assert_string_equal(f->u.inflight[0].label, "disabling…");
    consolefx_close(f);
}

/* The command: enable/disable say when it is so already; up and down are a replacement
 * of the priority; set validates locally and reads amounts as money. */
static void test_policy_command(void **state)
{
    (void)state;
    static const struct {
        const char *line, *says;
    } bad[] = {
        {"policy enable small-clean-books", "pol_2 is already enabled"},
        {"policy set small-clean-books risk_max 101", "risk_max: a whole number from 0 to 100"},
        {"policy set small-clean-books total_max 1.234", "total_max: "},
        {"policy set small-clean-books action allow", "action: one of approve, veto"},
        {"policy set small-clean-books flags_any over pay", "flags_any: words separated"},
        {"policy set small-clean-books colour red", "no field 'colour'"},
        {"policy set no-such-policy priority 3", "no policy named 'no-such-policy'"},
        {"policy up flagged-to-a-person", "already first"},
        {"policy set small-clean-books name -", "a policy must have a name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        consolefx *f = open_policies();
        commands_run(&f->u, bad[i].line);
        consolefx_says(f, bad[i].says, true);
        assert_true(consolefx_nothing_sent(f));
        consolefx_close(f);
    }
    consolefx *f = open_policies();
    commands_run(&f->u, "policy up small-clean-books");
    consolefx_confirming(f, DEC_POLICY_REPLACE, "pol_2");
    assert_non_null(strstr(f->u.confirm_req.policy, "\"priority\":9"));
    assert_string_equal(f->u.confirm_lines[0], "priority 20 → 9: before flagged-to-a-person");
    actions_confirm_key(&f->u, 'y', false);
    consolefx_sent(f, DEC_POLICY_REPLACE, "pol_2");
    consolefx_close(f);
    f = open_policies();
    commands_run(&f->u, "policy set overpay-veto-shadow flags_any overpay,budget");
    consolefx_confirming(f, DEC_POLICY_REPLACE, "pol_4");
    assert_non_null(strstr(f->u.confirm_req.policy, "\"flags_any\":[\"overpay\",\"budget\"]"));
    assert_non_null(strstr(f->u.confirm_req.policy, "\"mode\":\"shadow\""));
    consolefx_close(f);
    f = open_policies();
    commands_run(&f->u, "policy set small-clean-books risk_max -"); /* a condition taken away */
    consolefx_confirming(f, DEC_POLICY_REPLACE, "pol_2");
    assert_null(strstr(f->u.confirm_req.policy, "risk_max"));
    consolefx_close(f);
    f = open_policies();
    char **words = NULL; /* Tab completes the policies' names */
    assert_int_equal(cmdline_completions(&f->u, "policy disable sm", 15, "sm", &words), 1);
    assert_string_equal(words[0], "small-clean-books");
    for (size_t i = 0; words[i]; i++)
        free(words[i]);
    free(words);
    commands_run(&f->u, "policy disable large-to-a-person");
    consolefx_confirming(f, DEC_POLICY_DISABLE, "pol_3");
    consolefx_close(f);
}

/* A backtest's answer as the market gives it (docs/api.md, Backtest). */
static const char canned[] =
    "{\"limit\":10000,\"purchases\":10000,"
    "\"approve\":{\"count\":812,\"totals\":{\"USD\":4123400}},"
    "\"veto\":{\"count\":3,\"totals\":{\"USD\":12000,\"EUR\":500}},"
    "\"review\":{\"count\":95,\"totals\":{\"USD\":21000000}},\"differ\":3,"
    "\"policies\":[{\"id\":\"pol_2\",\"name\":\"small-clean-books\",\"hits\":812,"
    "\"shadow_hits\":0}],"
    "\"approved_but\":[{\"purchase_id\":\"pur_88\",\"buyer_id\":\"agt_1\",\"total_minor\":4500,"
    "\"currency\":\"USD\",\"by\":\"small-clean-books\",\"outcome\":\"vetoed\",\"fault\":null},"
    "{\"purchase_id\":\"pur_91\",\"buyer_id\":\"agt_2\",\"total_minor\":1200,\"currency\":\"USD\","
    "\"by\":\"threshold\",\"outcome\":null,\"fault\":\"overpay\"}],"
    "\"approved_but_more\":1,\"elapsed_ms\":41,\"cpu_ms\":40}";

/* The preview: running, failed, and the counts of an answer decoded by the real decoder. */
static void test_preview_text(void **state)
{
    (void)state;
    client_backtest_state bt = {.id = 1};
    char lines[4][256];
    assert_int_equal(policies_preview(&bt, lines, 4), 1);
    assert_string_equal(lines[0], "backtest of the set as it would be: running…");
    bt.done = true;
    snprintf(bt.error, sizeof bt.error, "HTTP 400: policies.0: bad");
    assert_int_equal(policies_preview(&bt, lines, 4), 2);
    assert_string_equal(lines[0], "backtest failed: HTTP 400: policies.0: bad");
    char err[200];
    assert_int_equal(
        json_policy_backtest_parse(canned, strlen(canned), TEXT_UTF8, &bt.result, err, sizeof err),
        0);
    bt.ok = true;
    assert_int_equal(policies_preview(&bt, lines, 4), 4);
    assert_string_equal(lines[0],
                        "backtest over the last 10000 purchases: 3 differ from what happened");
    assert_string_equal(lines[1], "approve 812 ($41,234.00) · veto 3 ($120.00 + €5.00) · review 95 "
                                  "($210,000.00)");
    assert_string_equal(
        lines[2], "would approve 3 that a person vetoed, capped or refunded, or with a fault:");
    assert_string_equal(lines[3], "  pur_88 $45.00 vetoed; pur_91 $12.00 fault overpay");
    /* an answer outside the contract is refused */
    assert_int_equal(
        json_policy_backtest_parse("{\"approve\":1}", 13, TEXT_UTF8, &bt.result, err, sizeof err),
        -1);
}

/* Applies a purchase.updated event (JSON data) to the console's store; the result. */
static store_result offer_purchase(consolefx *f, const char *data)
{
    char ev[2000], err[200];
    snprintf(ev, sizeof ev,
             "{\"seq\":%lld,\"type\":\"purchase.updated\",\"at\":\"2026-01-01T00:00:00Z\","
             "\"data\":%s}",
             (long long)store_seq(f->u.st) + 1, data);
    model_event e;
    assert_int_equal(
        json_decode_event("purchase.updated", ev, strlen(ev), TEXT_UTF8, &e, err, sizeof err),
        JSON_OK);
    store_result r = store_apply(f->u.st, &e);
    model_event_free(&e);
    return r;
}

/* Applies a purchase.updated event (JSON data) that the store keeps. */
static void put_purchase(consolefx *f, const char *data)
{
    assert_int_equal(offer_purchase(f, data), STORE_APPLIED);
}

/* The detail line that starts with prefix, or NULL. */
static const char *detail_with(consolefx *f, const char *prefix)
{
    const char *line;
    for (int i = 0; (line = detail_line(&f->u, i)); i++)
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return line;
    return NULL;
}

/* A purchase a policy approved is held (a recent automatic decision) and named as such;
 * a shadow verdict shows in the detail. */
static void test_decided_by_policy(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_policies(f);
    put_purchase(f,
                 "{\"id\":\"pur_9\",\"version\":1,\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_1\","
                 "\"seller_id\":\"agt_2\",\"unit_price_minor\":500,\"quantity\":1,"
                 "\"total_minor\":500,\"currency\":\"USD\",\"status\":\"approved\","
                 "\"updated_at\":\"2026-01-01T00:00:00Z\",\"decision\":{\"action\":\"approve\","
                 "\"by\":\"policy:pol_2\",\"at\":\"2026-01-01T00:00:00Z\",\"reason\":null},"
                 "\"policy\":{\"id\":\"pol_2\",\"name\":\"small-clean-books\",\"action\":"
                 "\"approve\"},\"policy_shadow\":[{\"policy_id\":\"pol_4\",\"name\":"
                 "\"overpay-veto-shadow\",\"action\":\"veto\"}]}");
    const model_purchase *p = store_purchase(f->u.st, "pur_9");
    assert_non_null(p);
    char by[200];
    assert_string_equal(policies_decided_by(&f->u, p, by, sizeof by),
                        "approved by policy small-clean-books");
    assert_null(policies_decided_by(&f->u, store_purchase(f->u.st, "pur_2"), by, sizeof by));
    unsigned long attr = 0;
    char state_cell[64];
    int col = 0; /* Pending's STATE column, by its title */
    while (col < panes_ops[PANE_PENDING].ncols &&
           strcmp(panes_ops[PANE_PENDING].cols[col].title, "STATE") != 0)
        col++;
    panes_ops[PANE_PENDING].cell(&f->u, p, col, state_cell, sizeof state_cell, &attr);
    assert_string_equal(state_cell, "by policy");
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_9"));
    assert_true(detail_update(&f->u, 100, 40) > 0);
    assert_non_null(detail_with(f, "approved by policy small-clean-books at "));
    assert_non_null(detail_with(f, "shadow: overpay-veto-shadow would veto"));
    detail_free(&f->u);
    consolefx_close(f);
}

/* The hits the pane shows follow the stream (marketd counts them without an event): a
 * new purchase counts one hit for the live policy that decided it and one shadow hit for
 * each shadow policy that matched, once (not again at its next version), also when the
 * store does not keep the purchase. */
static void test_hits_follow_the_stream(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_policies(f); /* pol_2 7 hits, pol_4 2 shadow hits */
    static const char fmt[] =
        "{\"id\":\"pur_%d\",\"version\":%d,\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_1\","
        "\"seller_id\":\"agt_2\",\"unit_price_minor\":500,\"quantity\":1,"
        "\"total_minor\":500,\"currency\":\"USD\",\"status\":\"%s\","
        "\"updated_at\":\"2026-01-01T00:00:00Z\"%s,\"policy_shadow\":[{\"policy_id\":"
        "\"pol_4\",\"name\":\"overpay-veto-shadow\",\"action\":\"veto\"}]}";
    static const char by_pol2[] =
        ",\"decision\":{\"action\":\"approve\",\"by\":\"policy:pol_2\","
        "\"at\":\"2026-01-01T00:00:00Z\",\"reason\":null},\"policy\":{\"id\":\"pol_2\","
        "\"name\":\"small-clean-books\",\"action\":\"approve\"}";
    char data[1500];
    snprintf(data, sizeof data, fmt, 31, 1, "approved", by_pol2);
    put_purchase(f, data);
    snprintf(data, sizeof data, fmt, 31, 2, "settled", by_pol2); /* the same purchase again */
    put_purchase(f, data);
    assert_int_equal(store_policy(f->u.st, "pol_2")->hits, 8);
    assert_int_equal(store_policy(f->u.st, "pol_4")->shadow_hits, 3);
    /* settled at once by the threshold: not kept, its shadow hit still counted */
    snprintf(data, sizeof data, fmt, 32, 1, "settled", "");
    offer_purchase(f, data);
    assert_int_equal(store_policy(f->u.st, "pol_4")->shadow_hits, 4);
    assert_int_equal(store_policy(f->u.st, "pol_2")->hits, 8);
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pane_rows),         cmocka_unit_test(test_toggle_confirms),
        cmocka_unit_test(test_policy_command),    cmocka_unit_test(test_preview_text),
        cmocka_unit_test(test_decided_by_policy), cmocka_unit_test(test_hits_follow_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
