/* test_console_policies.c: the Policies pane against a real marketd with
 * --default-policies (issue 15): the pane lists the four default policies; disabling one
 * shows the backtest preview of the set as it would be, `y` sends it and the pane then
 * shows it disabled (and the server holds it so); a purchase a policy approved is shown
 * as "approved by policy small-clean-books". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* Quits the console with q and asserts a clean exit. */
static void quit(vt *t)
{
    e2e_quit(t);
}

/* The id of the policy named name on the server (GET /v1/policies), into id. */
static void policy_id(e2e_market *m, const char *name, char *id, size_t size)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/policies", &r), 0);
    assert_int_equal(r.status, 200);
    char path[80];
    for (int i = 0; i < 10; i++) {
        char got[80];
        snprintf(path, sizeof path, "items.%d.name", i);
        if (testjson_str(r.body, path, got, sizeof got) && !strcmp(got, name)) {
            snprintf(path, sizeof path, "items.%d.id", i);
            assert_true(testjson_str(r.body, path, id, size));
            testhttp_resp_free(&r);
            return;
        }
    }
    testhttp_resp_free(&r);
    fail_msg("no policy %s on the server", name);
}

/* The pane, the preview, y, the pane after; the policy's purchase named as such. */
static void test_policies_pane(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--default-policies"), 0);
    char pur[65], neg[65], status[32];
    /* a small, clean purchase in the buyer's mandate: small-clean-books approves it */
    assert_int_equal(e2e_purchase(&m, "Touring bike", "bikes", 5000, 1, pur, neg), 0);
    assert_int_equal(e2e_purchase_status(&m, pur, status, sizeof status, NULL), 0);
    assert_string_not_equal(status, "pending_approval");
    char id[80];
    policy_id(&m, "small-clean-books", id, sizeof id);

    vt *t = e2e_dealdesk(&m, 40, 120, m.sup1_file, NULL, NULL);
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "7");
    assert_true(e2e_wait_row(t, (const char *const[]){"10", "flagged-to-a-person", "review", NULL},
                             WAIT_MS));
    assert_true(e2e_wait_row(
        t,
        (const char *const[]){"20", "small-clean-books", "enabled", "approve", "$1,000.00", NULL},
        WAIT_MS));
    assert_true(e2e_wait_row(t, (const char *const[]){"30", "large-to-a-person", NULL}, WAIT_MS));
    assert_true(e2e_wait_row(
        t, (const char *const[]){"overpay-veto-shadow", "shadow", "veto", NULL}, WAIT_MS));

    vt_send(t, "j"); /* small-clean-books: the second by priority */
    vt_send(t, "e");
    assert_true(e2e_wait(t, "Disable policy small-clean-books (version 1)", WAIT_MS));
    /* the answer of the backtest replaces "running…": the set without it over the purchase */
    assert_true(e2e_wait(t, "backtest over the last 1 purchases: ", WAIT_MS));
    assert_true(e2e_wait(t, "would approve none that a person vetoed", WAIT_MS));
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "y");
    char done[96];
    snprintf(done, sizeof done, "disable %s: done", id);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_true(
        e2e_wait_row(t, (const char *const[]){"small-clean-books", "disabled", NULL}, WAIT_MS));
    testhttp_resp r = {0};
    char path[120];
    snprintf(path, sizeof path, "/v1/policies/%s", id);
    assert_int_equal(testsrv_get(&m.srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"enabled\":false"));
    testhttp_resp_free(&r);

    /* the thread of the purchase it approved, and its detail */
    vt_send(t, "2");
    assert_true(e2e_wait_row(t, (const char *const[]){neg, "agreed·policy", NULL}, WAIT_MS));
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "approved by policy small-clean-books", WAIT_MS));
    quit(t);
    e2e_market_stop(&m);
}

/* A policy changed by another operator under the open confirmation: the box says so, and
 * y is refused by the server (412: the change was bound to the version shown). */
static void test_changed_under_the_box(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--default-policies"), 0);
    char id[80], path[120];
    policy_id(&m, "large-to-a-person", id, sizeof id);
    vt *t = e2e_dealdesk(&m, 30, 100, m.sup1_file, NULL, NULL);
    assert_true(e2e_wait_operator(t, WAIT_MS));
    /* the command names a policy the console must hold first: wait for the snapshot's */
    vt_send(t, "7");
    assert_true(e2e_wait_row(t, (const char *const[]){"30", "large-to-a-person", NULL}, WAIT_MS));
    vt_send(t, ":policy disable large-to-a-person\r");
    assert_true(e2e_wait(t, "Disable policy large-to-a-person (version 1)", WAIT_MS));
    snprintf(path, sizeof path, "/v1/policies/%s/disable", id);
    assert_int_equal(e2e_decide(&m, TESTSRV_TOKEN_SUP2, path, 1, "{}"), 200);
    assert_true(e2e_wait(t, "CHANGED since shown: now v2 disabled; y will be refused", WAIT_MS));
    vt_send(t, "y");
    char refused[96];
    snprintf(refused, sizeof refused, "412 disable %s", id);
    assert_true(e2e_wait(t, refused, WAIT_MS));
    quit(t);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policies_pane),
        cmocka_unit_test(test_changed_under_the_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
