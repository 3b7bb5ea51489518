/* test_console_numbers.c: never cut a number (issue 12). The console against a real
 * marketd, in a pty at 80x24 and 200x50, with a purchase of 13,333 units and one of
 * $20,000.00 over the buyer's $5,000.00 deal maximum: the Pending rows, the detail and
 * the approve box show every quantity, amount, limit and both parties whole, and no
 * number anywhere on screen ends in an ellipsis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* The two purchases every test here looks at (made once, by the first test). */
static char big_pur[65], many_pur[65];

/* Makes the purchases once: $20,000.00 for one bike with a long title, and 13,333 books
 * at $1.50 (= $19,999.50, far over the buyer's max quantity of 100). */
static void make_purchases(e2e_market *m)
{
    if (big_pur[0])
        return;
    char neg[65];
    assert_int_equal(
        e2e_purchase(m, "Touring bike with rack, fenders, a dynamo hub and a leather saddle",
                     "bikes", 2000000, 1, big_pur, neg),
        0);
    assert_int_equal(e2e_purchase(m, "Paperbacks", "books", 150, 13333, many_pur, neg), 0);
}

/* Fails when a number on screen ends in an ellipsis ("13,3…", "$2…", "$…"). */
static void assert_no_cut_number(vt *t)
{
    char *s = vt_screen(t);
    const char *el = "…";
    for (char *p = strstr(s, el); p; p = strstr(p + 1, el)) {
        char before = p > s ? p[-1] : ' ';
        if ((before >= '0' && before <= '9') || before == ',' || before == '.' || before == '$') {
            vt_dump(t, "a number cut");
            fail_msg("a number ends in an ellipsis: \"%.20s\"", p > s + 12 ? p - 12 : s);
        }
    }
    free(s);
}

/* Filters the Pending pane to one purchase and opens its detail (keys are handled in
 * order: the caller waits for the detail's first line). */
static void open_detail(vt *t, const char *pur)
{
    vt_send(t, "/");
    vt_send(t, pur);
    vt_send(t, "\r\r");
}

/* At 80x24: the quantity whole in its row, the row count as "N rows", the detail with
 * the total, unit price, limits and both parties whole, and the approve box with the
 * seller and the total. */
static void test_80x24_numbers_whole(void **state)
{
    e2e_market *m = *state;
    make_purchases(m);
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, big_pur, WAIT_MS));
    assert_true(e2e_wait(t, many_pur, WAIT_MS));
    assert_true(e2e_wait(t, "13,333", WAIT_MS)); /* was "13,3…" */
    assert_true(e2e_wait(t, "$20,000.00", WAIT_MS));
    assert_true(e2e_wait(t, "$19,999.50", WAIT_MS));
    assert_no_cut_number(t);
    /* the pane's row count is labelled, never a bare number */
    assert_true(e2e_wait(t, "2 rows", WAIT_MS));
    assert_int_equal(vt_find_row(t, "2 rows"), 2);

    /* the detail, full screen at 80x24 */
    open_detail(t, big_pur);
    char want[80];
    snprintf(want, sizeof want, "%s v", big_pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    assert_true(e2e_wait(t, "1 × $20,000.00 = $20,000.00 USD", WAIT_MS));
    assert_true(e2e_wait(t, "deal max $5,000.00", WAIT_MS));
    assert_true(e2e_wait(t, "$20,000.00 over the $5,000.00 deal maximum", WAIT_MS));
    assert_true(e2e_wait(t, "buyer-e2e for", WAIT_MS));
    assert_true(e2e_wait(t, "seller-e2e for", WAIT_MS));
    assert_true(e2e_wait(t, "of $50,000.00 left after this", WAIT_MS));
    assert_no_cut_number(t);

    /* the approve box names both parties and the whole total */
    vt_send(t, "\033");
    assert_true(e2e_wait(t, "DUE", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "Approve this?", WAIT_MS));
    assert_true(e2e_wait(t, "seller-e2e", WAIT_MS));
    assert_true(e2e_wait(t, "total $20,000.00 USD", WAIT_MS));
    assert_no_cut_number(t);
    vt_send(t, "n");
    assert_true(e2e_wait(t, "DUE", WAIT_MS));

    /* the other purchase: 13,333 units in the detail and the box */
    vt_send(t, "\033");
    open_detail(t, many_pur);
    snprintf(want, sizeof want, "%s v", many_pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    assert_true(e2e_wait(t, "13,333 × $1.50 = $19,999.50 USD", WAIT_MS));
    assert_true(e2e_wait(t, "quantity 13,333 against the buyer's max of 100", WAIT_MS));
    assert_no_cut_number(t);
    vt_send(t, "\033");
    assert_true(e2e_wait(t, "DUE", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "13,333 × $1.50 = total $19,999.50 USD", WAIT_MS));
    assert_no_cut_number(t);
    vt_send(t, "n");
    e2e_quit(t);
}

/* At 200x50: the quantity whole, and the text columns use the width (the long title
 * and the names whole, not cut at their 80-column widths). */
static void test_200x50_wide_columns(void **state)
{
    e2e_market *m = *state;
    make_purchases(m);
    vt *t = e2e_dealdesk(m, 50, 200, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, many_pur, WAIT_MS));
    assert_true(e2e_wait(t, "13,333", WAIT_MS));
    /* the whole row at once (a wait on the title alone could read the row half drawn) */
    const char *row[] = {"Touring bike with rack, fenders, a dynamo hub and a leather saddle",
                         "$20,000.00", "buyer-e2e", NULL};
    assert_true(e2e_wait_row(t, row, WAIT_MS));
    assert_no_cut_number(t);
    e2e_quit(t);
}

/* A cap that leaves a limit out says so in the thread's detail, never "at most none"
 * or "at most -1". */
static void test_cap_limit_left_out(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[128];
    assert_int_equal(e2e_purchase(m, "Box of atlases", "books", 1200, 40, pur, neg), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/cap", pur);
    assert_int_equal(
        e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"max_quantity\":20,\"reason\":\"fewer\"}"),
        200);
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "2");
    assert_true(e2e_wait(t, neg, WAIT_MS));
    open_detail(t, neg);
    assert_true(e2e_wait(t, "capped: any unit price, quantity at most 20", WAIT_MS));
    assert_no_cut_number(t);
    e2e_quit(t);
}

/* True when the cells beside the box's edges on row (its first and last "│", "┌",
 * "┐", "└" or "┘") are blank: no fragment of the rows under the box ("┘00", "│54", "│ng"
 * or half a wide character) is glued to it. */
static bool box_row_clean(const char *row)
{
    static const char *const edges[] = {"│", "┐", "┘", "┌", "└"};
    const char *right = NULL, *left = NULL;
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++)
        for (const char *p = strstr(row, edges[e]); p; p = strstr(p + 1, edges[e])) {
            if (!right || p > right)
                right = p;
            if (!left || p < left)
                left = p;
        }
    if (!right)
        return true;
    const char *after = right + strlen("│");
    return (*after == '\0' || *after == ' ') && (left == row || left[-1] == ' ');
}

/* True when the box is drawn whole: its top edge, and below it its bottom edge with both
 * corners (the last cells a frame draws of it). */
static bool box_drawn(vt *t, void *ud)
{
    (void)ud;
    int top = vt_find_row(t, "┌"), bottom = vt_find_row(t, "└");
    if (top <= 0 || bottom <= top || !vt_contains(t, "Approve this?"))
        return false;
    char row[2048];
    vt_row(t, bottom, row, sizeof row);
    return strstr(row, "┘") != NULL;
}

/* The approve box over a full Pending table (countdowns, amounts, states and titles in
 * wide characters under both of its edges): every row of the box on the real screen has
 * a blank beside each edge. */
static void test_box_leaves_no_fragments(void **state)
{
    e2e_market *m = *state;
    char pur[65] = "", neg[65];
    for (int i = 0; i < 10; i++) {
        char title[80];
        snprintf(title, sizeof title, "漢字 %d", i + 1); /* short: a narrow box */
        assert_int_equal(e2e_purchase(m, title, "books", 1234567 + i, 1, pur, neg), 0);
    }
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    assert_true(e2e_wait(t, "$12,345.76", WAIT_MS));
    char cmd[100];
    snprintf(cmd, sizeof cmd, ":approve %s\r", pur);
    vt_send(t, cmd);
    assert_true(e2e_wait(t, "Approve this?", WAIT_MS));
    /* the whole box on screen (its bottom edge drawn), not a guessed 100 ms of quiet */
    if (!vt_wait(t, box_drawn, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for the box's bottom edge");
        fail();
    }
    int top = vt_find_row(t, "┌"), bottom = vt_find_row(t, "└");
    assert_true(top > 0 && bottom > top);
    for (int r = top; r <= bottom; r++) {
        char row[2048];
        vt_row(t, r, row, sizeof row);
        if (!box_row_clean(row)) {
            vt_dump(t, "box edge");
            fail_msg("row %d: a fragment beside the box", r);
        }
    }
    assert_no_cut_number(t);
    vt_send(t, "n");
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_80x24_numbers_whole),
        cmocka_unit_test(test_200x50_wide_columns),
        cmocka_unit_test(test_cap_limit_left_out),
        cmocka_unit_test(test_box_leaves_no_fragments),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
