/* test_batch.c: marks and batch decisions (tui/batch.c, issue 15) on a console without a
 * terminal (tests/lib/consolefx): a mark is on a purchase, not a row (it stays through
 * re-sorts and new rows, and drops when the purchase stops waiting); the row shows it;
 * mark-all marks what the filter shows; `a` with marks opens one preview (count, totals
 * per currency, flags by rule, the five largest), default no; yes journals and sends one
 * decision per purchase bound to the version and total shown; a veto asks one reason for
 * all; the box says when a marked purchase changed since shown. The outcomes and their
 * summary come from a real market: tests/e2e/test_console_batch.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/consolefx.h"
#include "tests/lib/proc.h"

/* Applies purchase id (version v, status s) of total minor units of cur, with one flag
 * rule of severity sev (-1: none), as the stream would, then runs the update step's
 * reading of the store (view_after_client: the marks are pruned there). */
static void put(consolefx *f, const char *id, int64_t v, model_purchase_status s, int64_t total,
                const char *cur, const char *rule, int sev)
{
    model_event ev = {.seq = store_seq(f->u.st) + 1, .kind = MODEL_PURCHASE};
    model_purchase *p = &ev.u.purchase;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->version = v;
    snprintf(p->listing_id, sizeof p->listing_id, "lst_1");
    snprintf(p->buyer_id, sizeof p->buyer_id, "agt_1");
    snprintf(p->seller_id, sizeof p->seller_id, "agt_s");
    p->quantity = 1;
    p->unit_price_minor = p->total_minor = total;
    memcpy(p->currency, cur, 4);
    p->status = s;
    if (sev >= 0) {
        p->flags = calloc(1, sizeof *p->flags);
        assert_non_null(p->flags);
        p->nflags = 1;
        snprintf(p->flags[0].rule, sizeof p->flags[0].rule, "%s", rule);
        p->flags[0].severity = (model_severity)sev;
    }
    store_apply(f->u.st, &ev);
    model_event_free(&ev);
    view_after_client(&f->u);
}

/* The fixture's pur_1 ($40.00 USD) and three more: pur_a $15.00 USD (overpay warning),
 * pur_b $2,500.00 USD (off_mandate critical), pur_c €7.00 EUR (overpay warning). */
static consolefx *market(void)
{
    consolefx *f = consolefx_open(NULL, false);
    put(f, "pur_a", 1, PUR_PENDING, 1500, "USD", "overpay", SEV_WARNING);
    put(f, "pur_b", 4, PUR_PENDING, 250000, "USD", "off_mandate", SEV_CRITICAL);
    put(f, "pur_c", 2, PUR_PENDING, 700, "EUR", "overpay", SEV_WARNING);
    panes_refresh(&f->u, PANE_PENDING, true);
    return f;
}

/* Selects id on Pending and presses Space. */
static void space_on(consolefx *f, const char *id)
{
    consolefx_key_on(f, PANE_PENDING, id, ACT_MARK);
}

/* The mark column of purchase id's row, as drawn. */
static void mark_cell(consolefx *f, const char *id, char *out, size_t size)
{
    const model_purchase *p = store_purchase(f->u.st, id);
    assert_non_null(p);
    unsigned long attr = 0;
    out[0] = '\0';
    panes_ops[PANE_PENDING].cell(&f->u, p, 0, out, size, &attr);
}

/* Space marks and unmarks; the mark is the purchase's through a re-sort and a new row;
 * it drops by itself when the purchase is decided elsewhere. */
static void test_marks_follow_purchases(void **state)
{
    (void)state;
    consolefx *f = market();
    char cell[16];
    space_on(f, "pur_a");
    space_on(f, "pur_c");
    assert_int_equal(f->u.nmarked, 2);
    mark_cell(f, "pur_a", cell, sizeof cell);
    assert_string_equal(cell, "●");
    mark_cell(f, "pur_b", cell, sizeof cell);
    assert_string_equal(cell, "");
    assert_string_equal(panes_ops[PANE_PENDING].cols[0].title, " ");
    space_on(f, "pur_c"); /* again: unmarked */
    assert_false(batch_is_marked(&f->u, "pur_c"));
    commands_run(&f->u, "sort buyer");
    put(f, "pur_d", 1, PUR_PENDING, 100000, "USD", "overpay", SEV_CRITICAL); /* ranks first */
    panes_refresh(&f->u, PANE_PENDING, true);
    assert_true(batch_is_marked(&f->u, "pur_a"));
    assert_false(batch_is_marked(&f->u, "pur_d"));
    put(f, "pur_a", 2, PUR_VETOED, 1500, "USD", "overpay", SEV_WARNING); /* another operator */
    assert_int_equal(f->u.nmarked, 0);
    consolefx_close(f);
}

/* What cannot be marked says why and changes nothing; mark-all marks the waiting rows
 * the filter shows; unmark-all clears. */
static void test_mark_all_and_refusals(void **state)
{
    (void)state;
    consolefx *f = market();
    put(f, "pur_s", 1, PUR_PENDING, 900, "USD", "", -1);
    put(f, "pur_s", 2, PUR_SETTLED, 900, "USD", "", -1);
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_1"));
    commands_run(&f->u, "approve pur_1"); /* in flight: not markable */
    actions_confirm_key(&f->u, 'y', false);
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_1"));
    commands_do(&f->u, ACT_MARK);
    consolefx_says(f, "pur_1 is on its way: only a waiting purchase can be marked", true);
    assert_int_equal(f->u.nmarked, 0);
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_s")); /* settled, kept in view */
    commands_do(&f->u, ACT_MARK);
    assert_int_equal(f->u.nmarked, 0);
    commands_do(&f->u, ACT_PANE2);
    commands_do(&f->u, ACT_MARK);
    consolefx_says(f, "marks are for purchases waiting for approval (pane 1)", true);
    commands_run(&f->u, "mark-all");
    consolefx_says(f, "marks are for purchases waiting for approval (pane 1)", true);
    assert_int_equal(f->u.nmarked, 0);
    commands_do(&f->u, ACT_PANE1);
    commands_run(&f->u, "filter $"); /* pur_1 (in flight), pur_a, pur_b; not pur_c (EUR) */
    commands_do(&f->u, ACT_MARK_ALL);
    consolefx_says(f, "marked 2 more, 2 in all", false);
    assert_true(batch_is_marked(&f->u, "pur_a") && batch_is_marked(&f->u, "pur_b"));
    assert_false(batch_is_marked(&f->u, "pur_1"));
    assert_false(batch_is_marked(&f->u, "pur_c"));
    commands_do(&f->u, ACT_UNMARK_ALL);
    consolefx_says(f, "2 marks cleared", false);
    assert_int_equal(f->u.nmarked, 0);
    consolefx_close(f);
}

/* `a` with marks: one preview of them all; anything but y sends nothing and keeps the
 * marks. Without marks `a` is the single approve. */
static void test_preview(void **state)
{
    (void)state;
    consolefx *f = market();
    commands_do(&f->u, ACT_APPROVE); /* no marks: the selection's own box */
    consolefx_confirming(f, DEC_APPROVE, panes_row_id(PANE_PENDING, panes_current(&f->u, NULL)));
    assert_false(f->u.batch.boxed);
    actions_confirm_key(&f->u, 'n', false);
    commands_do(&f->u, ACT_MARK_ALL);
    commands_do(&f->u, ACT_APPROVE);
    assert_int_equal(f->u.mode, MODE_CONFIRM);
    assert_true(f->u.batch.boxed);
    assert_string_equal(f->u.confirm_title, "Approve 4 marked purchases");
    const char(*l)[256] = f->u.confirm_lines;
    assert_string_equal(l[0], "4 purchases, each sent on its own at the version and total shown");
    assert_string_equal(l[1], "total €7.00 EUR + $2,555.00 USD");
    assert_string_equal(l[2], "flags: 2 overpay, 1 off_mandate (critical)");
    assert_string_equal(l[3], "largest first:");
    assert_non_null(strstr(l[4], "pur_c"));
    assert_non_null(strstr(l[5], "pur_b"));
    assert_non_null(strstr(l[5], "$2,500.00 USD  Gravel bike"));
    assert_non_null(strstr(l[6], "pur_1"));
    assert_non_null(strstr(l[7], "pur_a"));
    assert_string_equal(l[9], "Approve all 4?   y yes    N no (default)");
    assert_int_equal(f->u.confirm_n, 10);
    char changed[256];
    batch_changed(&f->u, changed, sizeof changed);
    assert_string_equal(changed, "");
    actions_confirm_key(&f->u, KEY_ENTER, true); /* not y: no */
    assert_true(consolefx_nothing_sent(f));
    consolefx_says(f, "not approved: nothing was sent (the marks stay)", false);
    assert_int_equal(f->u.nmarked, 4);
    consolefx_close(f);
}

/* Counts the journal's D lines of action on subject bound to version with body. */
static int journaled(consolefx *f, const char *action, const char *subject, int64_t version,
                     const char *body)
{
    char path[600], text[65536], want[300];
    snprintf(path, sizeof path, "%s/journal", f->dir);
    tproc_slurp(path, text, sizeof text);
    snprintf(want, sizeof want, "\t%s\t%s\t%lld\t", action, subject, (long long)version);
    int n = 0;
    for (char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : 0) {
        size_t len = strcspn(line, "\n");
        char one[2048];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), line);
        n += one[0] == 'D' && strstr(one, want) && strstr(one, body);
    }
    return n;
}

/* y: each purchase its own decision, journaled, bound to the version and total the box
 * showed, its row in flight; the marks are spent. The box warns of a change meanwhile. */
static void test_yes_sends_each(void **state)
{
    (void)state;
    consolefx *f = market();
    space_on(f, "pur_a");
    space_on(f, "pur_b");
    commands_run(&f->u, "approve");
    assert_true(f->u.batch.boxed);
    put(f, "pur_b", 5, PUR_PENDING, 250000, "USD", "off_mandate", SEV_CRITICAL); /* meanwhile */
    char changed[256];
    batch_changed(&f->u, changed, sizeof changed);
    assert_string_equal(changed, "CHANGED since shown: pur_b now v5 pending_approval; y sends "
                                 "it anyway and it will be refused");
    actions_confirm_key(&f->u, 'y', false);
    assert_int_equal(f->u.mode, MODE_BROWSE);
    assert_int_equal(client_pending_decisions(f->u.cl), 2);
    assert_int_equal(f->u.ninflight, 2);
    assert_string_equal(panes_inflight_label(&f->u, "pur_a"), "approving…");
    assert_string_equal(panes_inflight_label(&f->u, "pur_b"), "approving…");
    assert_int_equal(journaled(f, "approve", "pur_a", 1, "\"expected_total_minor\":1500"), 1);
    assert_int_equal(journaled(f, "approve", "pur_b", 4, "\"expected_total_minor\":250000"), 1);
    assert_int_equal(f->u.nmarked, 0);
    assert_int_equal(f->u.batch.open, 2);
    consolefx_says(f, "approving… 2 purchases: sending, no answers yet", false);
    commands_do(&f->u, ACT_MARK_ALL); /* a new batch waits for the last one's answers */
    commands_do(&f->u, ACT_APPROVE);
    consolefx_says(f, "the last batch has 2 answers to come: nothing sent", true);
    assert_int_equal(client_pending_decisions(f->u.cl), 2);
    consolefx_close(f);
}

/* v with marks asks one reason (none: nothing sent), then the preview with it; yes
 * vetoes each with that reason. */
static void test_veto_one_reason(void **state)
{
    (void)state;
    consolefx *f = market();
    space_on(f, "pur_a");
    space_on(f, "pur_c");
    commands_do(&f->u, ACT_VETO);
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_BATCH_VETO_REASON);
    assert_string_equal(cmdline_prompt(), "veto 2 marked purchases  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a veto needs a reason; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_VETO);
    consolefx_answer(f, "duplicate orders");
    assert_true(f->u.batch.boxed);
    assert_string_equal(f->u.confirm_title, "Veto 2 marked purchases");
    assert_string_equal(f->u.confirm_lines[f->u.confirm_n - 3], "reason: duplicate orders");
    actions_confirm_key(&f->u, 'y', false);
    assert_int_equal(client_pending_decisions(f->u.cl), 2);
    assert_int_equal(journaled(f, "veto", "pur_a", 1, "duplicate orders"), 1);
    assert_int_equal(journaled(f, "veto", "pur_c", 2, "duplicate orders"), 1);
    assert_string_equal(panes_inflight_label(&f->u, "pur_c"), "vetoing…");
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks_follow_purchases),
        cmocka_unit_test(test_mark_all_and_refusals),
        cmocka_unit_test(test_preview),
        cmocka_unit_test(test_yes_sends_each),
        cmocka_unit_test(test_veto_one_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
