/* test_pending_rank.c: the Pending queue ranked by what is at stake (issue 15), on a
 * console without a terminal (tests/lib/consolefx): the order (severity band, then the
 * total within a currency, currencies by code, then the deadline), the rank explained in
 * the purchase's detail, the selected row holding its place while the cursor rests, and
 * the flags marker column that stays when FLAGS does not fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/consolefx.h"

/* Applies a pending purchase of total (minor units of cur) due in due_ms, with one flag
 * of severity sev (-1: none), and marks the store changed as the update step would. */
static void add(consolefx *f, const char *id, int sev, int64_t total, const char *cur,
                int64_t due_ms)
{
    model_event ev = {.seq = store_seq(f->u.st) + 1, .kind = MODEL_PURCHASE}; /* the next */
    model_purchase *p = &ev.u.purchase;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->version = 1;
    snprintf(p->listing_id, sizeof p->listing_id, "lst_1");
    snprintf(p->buyer_id, sizeof p->buyer_id, "agt_1");
    snprintf(p->seller_id, sizeof p->seller_id, "agt_s");
    p->quantity = 1;
    p->unit_price_minor = p->total_minor = total;
    memcpy(p->currency, cur, 4);
    p->status = PUR_PENDING;
    p->decide_by = ui_now_ms() + due_ms;
    if (sev >= 0) {
        p->flags = calloc(1, sizeof *p->flags);
        assert_non_null(p->flags);
        p->nflags = 1;
        snprintf(p->flags[0].rule, sizeof p->flags[0].rule, "%s",
                 sev == SEV_CRITICAL ? "off_mandate" : "overpay");
        p->flags[0].severity = (model_severity)sev;
    }
    store_apply(f->u.st, &ev);
    model_event_free(&ev);
    f->u.gen++;
}

/* Fails unless the Pending rows are exactly the ids given (NULL-terminated). */
static void rows_are(consolefx *f, const char *const *ids)
{
    const ui_pane *pn = &f->u.panes[PANE_PENDING];
    size_t n = 0;
    while (ids[n])
        n++;
    char got[512] = "";
    for (size_t i = 0; i < pn->table.nrows; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s ",
                 panes_row_id(PANE_PENDING, pn->rows[i]));
    for (size_t i = 0; i < n; i++)
        if (i >= pn->table.nrows || strcmp(panes_row_id(PANE_PENDING, pn->rows[i]), ids[i]) != 0)
            fail_msg("row %zu is not %s: the rows are %s", i, ids[i], got);
    if (pn->table.nrows != n)
        fail_msg("%zu rows, not %zu: %s", pn->table.nrows, n, got);
}

/* The queue of every test: the fixture's pur_1 ($40.00 USD, no flags, no deadline) and
 * five more. */
static consolefx *queue(void)
{
    consolefx *f = consolefx_open(NULL, false);
    f->u.pane = PANE_PENDING;
    add(f, "pur_10", SEV_CRITICAL, 500, "USD", 60000);
    add(f, "pur_11", SEV_WARNING, 2000000, "USD", 30000);
    add(f, "pur_12", -1, 90000, "USD", 10000);
    add(f, "pur_13", SEV_CRITICAL, 30000, "EUR", 90000);
    add(f, "pur_14", SEV_CRITICAL, 500, "USD", 30000);
    return f;
}

/* Critical first, then warning, then none; within a band EUR before USD (by code), the
 * larger total first, then the sooner deadline; "at stake" is the default order. */
static void test_rank_order(void **state)
{
    (void)state;
    consolefx *f = queue();
    assert_string_equal(panes_sort_name(PANE_PENDING, f->u.panes[PANE_PENDING].sort), "stake");
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_1"));
    rows_are(
        f, (const char *const[]){"pur_13", "pur_14", "pur_10", "pur_11", "pur_12", "pur_1", NULL});
    size_t of;
    const model_purchase *p = store_purchase(f->u.st, "pur_11");
    assert_int_equal(panes_pending_rank(&f->u, p, &of), 4);
    assert_int_equal(of, 6);
    assert_int_equal(panes_pending_rank(&f->u, store_purchase(f->u.st, "pur_13"), &of), 1);
    /* a purchase no longer pending has no rank */
    assert_int_equal(panes_pending_rank(&f->u, store_purchase(f->u.st, "pur_2"), &of), 0);
    consolefx_close(f);
}

/* The detail says why the purchase stands where it does. */
static void test_rank_explained(void **state)
{
    (void)state;
    consolefx *f = queue();
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_11"));
    assert_true(detail_update(&f->u, 100, 30) > 0);
    const char *line = NULL;
    for (int i = 0; (line = detail_line(&f->u, i)); i++)
        if (strncmp(line, "ranked ", 7) == 0)
            break;
    assert_non_null(line);
    if (strncmp(line, "ranked 4 of 6: warning, $20,000.00 USD, 0:", 42) != 0 ||
        strcmp(line + strlen(line) - 5, " left") != 0)
        fail_msg("the rank line reads '%s'", line);
    assert_true(panes_select_id(&f->u, PANE_PENDING, "pur_1"));
    detail_update(&f->u, 100, 30);
    for (int i = 0; (line = detail_line(&f->u, i)); i++)
        if (strncmp(line, "ranked ", 7) == 0)
            break;
    assert_non_null(line);
    assert_string_equal(line, "ranked 6 of 6: no flags, $40.00 USD, no deadline");
    detail_free(&f->u);
    consolefx_close(f);
}

/* While the cursor rests on a row, a purchase ranked above it arrives and the row under
 * the cursor keeps its place (the new one is shown, the row ranked just above goes in
 * below); once the cursor moves, the next change ranks the queue whole again. */
static void test_rank_holds_under_resting_cursor(void **state)
{
    (void)state;
    consolefx *f = queue();
    ui *u = &f->u;
    ui_pane *pn = &u->panes[PANE_PENDING];
    assert_true(panes_select_id(u, PANE_PENDING, "pur_10"));
    assert_int_equal(pn->table.sel, 2);
    add(f, "pur_15", SEV_CRITICAL, 5000000, "USD", 120000); /* ranks second */
    panes_refresh(u, PANE_PENDING, false);
    assert_int_equal(pn->table.sel, 2);
    rows_are(f, (const char *const[]){"pur_13", "pur_15", "pur_10", "pur_14", "pur_11", "pur_12",
                                      "pur_1", NULL});
    /* a second arrival ranked first: still in place */
    add(f, "pur_16", SEV_CRITICAL, 100, "CHF", 120000);
    panes_refresh(u, PANE_PENDING, false);
    assert_int_equal(pn->table.sel, 2);
    assert_string_equal(panes_row_id(PANE_PENDING, pn->rows[2]), "pur_10");
    assert_string_equal(panes_row_id(PANE_PENDING, pn->rows[0]), "pur_16");
    /* the cursor moves on: the next change ranks the queue whole */
    widget_table_move(&pn->table, 1);
    panes_note_selection(u, PANE_PENDING);
    add(f, "pur_17", -1, 1, "USD", 300000);
    panes_refresh(u, PANE_PENDING, false);
    rows_are(f, (const char *const[]){"pur_16", "pur_13", "pur_15", "pur_14", "pur_10", "pur_11",
                                      "pur_12", "pur_1", "pur_17", NULL});
    consolefx_close(f);
}

/* The marker column: one character, never dropped, the worst flag's mark in its colour
 * (✗ critical, ⚠ warning, nothing without flags), and so is the purchase's id. */
static void test_flags_marker(void **state)
{
    (void)state;
    consolefx *f = queue();
    const pane_ops *ops = &panes_ops[PANE_PENDING];
    int mark = -1, flags = -1, id = -1;
    for (int c = 0; c < ops->ncols; c++) {
        if (!strcmp(ops->cols[c].title, "!"))
            mark = c;
        if (!strcmp(ops->cols[c].title, "FLAGS"))
            flags = c;
        if (!strcmp(ops->cols[c].title, "PURCHASE"))
            id = c;
    }
    assert_true(mark >= 0 && flags >= 0 && id >= 0);
    assert_int_equal(ops->cols[mark].drop, 0);
    assert_int_equal(ops->cols[mark].width, 1);
    assert_true(ops->cols[flags].drop > 0);
    static const struct {
        const char *id, *mark;
        theme_role role;
    } want[] = {
        {"pur_13", "✗", THEME_CRIT}, {"pur_11", "⚠", THEME_WARN}, {"pur_12", "", THEME_NORMAL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char buf[64];
        unsigned long attr = theme_attr(THEME_NORMAL);
        const model_purchase *p = store_purchase(f->u.st, want[i].id);
        ops->cell(&f->u, p, mark, buf, sizeof buf, &attr);
        assert_string_equal(buf, want[i].mark);
        assert_int_equal(attr, theme_attr(want[i].role));
        attr = theme_attr(THEME_NORMAL);
        ops->cell(&f->u, p, id, buf, sizeof buf, &attr);
        assert_string_equal(buf, want[i].id);
        assert_int_equal(attr, theme_attr(want[i].role));
    }
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_order),
        cmocka_unit_test(test_rank_explained),
        cmocka_unit_test(test_rank_holds_under_resting_cursor),
        cmocka_unit_test(test_flags_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
