/* test_console_batch.c: a batch decision from the console, end to end (issue 15): the
 * real dealdesk in a pty against a real marketd. Three pending purchases are marked
 * (`*` marks what the filter shows, Space unmarks and marks one again, the title counts
 * them), `a` opens one preview of all three; meanwhile another operator vetoes one of
 * them (the box says it changed); y sends each as its own decision bound to what the box
 * showed: the summary names the one refused as changed since shown, the other two
 * settle, and each row shows its own outcome. */
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

/* Asserts that the server holds purchase pur in status want. */
static void assert_status(e2e_market *m, const char *pur, const char *want)
{
    char status[32];
    assert_int_equal(e2e_purchase_status(m, pur, status, sizeof status, NULL), 0);
    assert_string_equal(status, want);
}

/* Waits until one row shows pur with text. */
static void row_shows(vt *t, const char *pur, const char *text)
{
    const char *const both[] = {pur, text, NULL};
    assert_true(e2e_wait_row(t, both, WAIT_MS));
}

static void test_batch_approve_with_one_changed(void **state)
{
    e2e_market *m = *state;
    char pur[3][65], neg[65];
    assert_int_equal(e2e_purchase(m, "Batch bike red", "bikes", 41000, 1, pur[0], neg), 0);
    assert_int_equal(e2e_purchase(m, "Batch bike blue", "bikes", 52000, 1, pur[1], neg), 0);
    assert_int_equal(e2e_purchase(m, "Batch bike green", "bikes", 33000, 2, pur[2], neg), 0);
    for (int i = 0; i < 3; i++)
        assert_status(m, pur[i], "pending_approval");
    vt *t = e2e_dealdesk(m, 30, 120, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    for (int i = 0; i < 3; i++)
        assert_true(e2e_wait(t, pur[i], WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "/Batch bike\r");
    assert_true(e2e_wait(t, "3 rows", WAIT_MS));
    vt_send(t, "*");
    assert_true(e2e_wait(t, "3 marked", WAIT_MS));
    vt_send(t, " "); /* the selected row: unmarked, then marked again */
    assert_true(e2e_wait(t, "2 marked", WAIT_MS));
    vt_send(t, " ");
    assert_true(e2e_wait(t, "3 marked", WAIT_MS));

    vt_send(t, "a");
    assert_true(e2e_wait(t, "Approve 3 marked purchases", WAIT_MS));
    assert_true(e2e_wait(t, "total $1,590.00 USD", WAIT_MS));
    assert_true(e2e_wait(t, "Approve all 3?", WAIT_MS));
    /* another operator vetoes the blue one while the box is open */
    char path[160];
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", pur[1]);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"reason\":\"not ours\"}"), 200);
    char changed[120];
    snprintf(changed, sizeof changed, "CHANGED since shown: %s now v", pur[1]);
    assert_true(e2e_wait(t, changed, WAIT_MS));
    vt_send(t, "y");

    char summary[200];
    snprintf(summary, sizeof summary, "2 approved, 1 refused: %s changed since shown (now vetoed)",
             pur[1]);
    assert_true(e2e_wait(t, summary, WAIT_MS));
    assert_status(m, pur[0], "settled");
    assert_status(m, pur[2], "settled");
    assert_status(m, pur[1], "vetoed");
    row_shows(t, pur[0], "settled");
    row_shows(t, pur[2], "settled");
    row_shows(t, pur[1], "vetoed");
    assert_false(vt_contains(t, "marked ·")); /* the marks were spent */
    e2e_quit(t);
}

/* With the buyer's two_person_minor at $500.00, a batch approval of a $410.00 and a
 * $520.00 purchase settles the first and gives the second its first approval of two: the
 * summary counts them apart (issue 16). */
static void test_batch_counts_first_approvals(void **state)
{
    e2e_market *m = *state;
    assert_int_equal(e2e_set_two_person(m, 50000), 200);
    char small[65], large[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Pair lamp small", "bikes", 41000, 1, small, neg), 0);
    assert_int_equal(e2e_purchase(m, "Pair lamp large", "bikes", 52000, 1, large, neg), 0);
    assert_status(m, small, "pending_approval");
    assert_status(m, large, "pending_approval");
    vt *t = e2e_dealdesk(m, 30, 120, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, large, WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "/Pair lamp\r");
    assert_true(e2e_wait(t, "2 rows", WAIT_MS));
    vt_send(t, "*");
    assert_true(e2e_wait(t, "2 marked", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "Approve all 2?", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t, "1 approved, 1 first approval of two", WAIT_MS));
    assert_status(m, small, "settled");
    assert_status(m, large, "pending_approval");
    vt_send(t, "q");
    vt_send(t, "y"); /* a quit box may ask about the purchase still waiting: quit */
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_approve_with_one_changed),
        cmocka_unit_test(test_batch_counts_first_approvals),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
