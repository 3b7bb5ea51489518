/* test_console_two_person.c: the console shows two-person approval and claims (issue 16),
 * against a real marketd.
 *
 * A purchase at or above the buyer's two_person_minor that sup1 approved first shows, in
 * sup2's console, "1 of 2 approvals (sup1)" with "you:" (an approval sup2 can give),
 * which the filter finds; Enter on it claims it for sup2 (seen on the server). A purchase
 * sup1 claimed shows "sup1 is reviewing", and the approve box asks before deciding it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* Polls the claim on pur until it is active by who (15 s at most). */
static bool wait_claim(e2e_market *m, const char *pur, const char *who)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/claims/%s", pur);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        testhttp_resp r;
        char by[64] = "", st[32] = "";
        if (testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r) == 0 && r.status == 200) {
            testjson_str(r.body, "by", by, sizeof by);
            testjson_str(r.body, "status", st, sizeof st);
        }
        testhttp_resp_free(&r);
        if (!strcmp(by, who) && !strcmp(st, "active"))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 15)
            return false;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
}

static void quit(vt *t)
{
    e2e_quit(t);
}

static void test_second_approval_shown_and_claimed(void **state)
{
    e2e_market *m = *state;
    assert_int_equal(e2e_set_two_person(m, 50000), 200);
    char pur[65], neg[65], path[160];
    assert_int_equal(e2e_purchase(m, "Tandem bike", "bikes", 60000, 1, pur, neg), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP1, path, 1, "{\"expected_total_minor\":60000}"),
                     200);
    /* sup2's console: the row says it waits for sup2, the filter finds it */
    vt *t = e2e_dealdesk(m, 30, 140, m->sup2_file, NULL, NULL);
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "/you:\r");
    assert_true(e2e_wait_row(t, (const char *const[]){pur, "you: 1 of 2", NULL}, WAIT_MS));
    /* moving does not claim; Enter opens the detail and claims it */
    vt_send(t, "jk");
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/v1/claims/%s", pur);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, cpath, &r), 0);
    assert_int_equal(r.status, 404);
    testhttp_resp_free(&r);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "1 of 2 approvals (sup1): yours is needed", WAIT_MS));
    assert_true(wait_claim(m, pur, "sup2"));
    /* sup2's approval is the second: it settles */
    vt_send(t, "a");
    assert_true(e2e_wait(t, "1 of 2 approvals (sup1), yours settles it", WAIT_MS));
    vt_send(t, "y");
    char done[96], st[32];
    snprintf(done, sizeof done, "approve %s: done", pur);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_int_equal(e2e_purchase_status(m, pur, st, sizeof st, NULL), 0);
    assert_string_equal(st, "settled");
    quit(t);

    /* a first approval from the console: said, and the purchase stays pending */
    char pur2[65];
    assert_int_equal(e2e_purchase(m, "Cargo tandem", "bikes", 70000, 1, pur2, neg), 0);
    t = e2e_console_on(m, pur2, m->sup2_file, NULL);
    vt_send(t, "a");
    assert_true(e2e_wait(t, "0 of 2 approvals, yours is the first: it stays pending", WAIT_MS));
    vt_send(t, "y");
    assert_true(
        e2e_wait(t, "done (200), now pending_approval (v2), total $700.00, 1 of 2 approvals (sup2)",
                 WAIT_MS));
    assert_int_equal(e2e_purchase_status(m, pur2, st, sizeof st, NULL), 0);
    assert_string_equal(st, "pending_approval");
    quit(t);
}

static void test_claimed_by_another_asks(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[160];
    assert_int_equal(e2e_purchase(m, "Gravel bike", "bikes", 30000, 1, pur, neg), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/claim", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP1, path, 0, "{}"), 200);
    vt *t = e2e_console_on(m, pur, m->sup2_file, NULL);
    assert_true(e2e_wait(t, "sup1 is reviewing", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "sup1 is reviewing: decide anyway?", WAIT_MS));
    vt_send(t, "n");
    assert_true(e2e_wait(t, "not approved: nothing was sent", WAIT_MS));
    /* the veto's prompt says it too */
    vt_send(t, "v");
    assert_true(e2e_wait(t, "(sup1 is reviewing)  reason:", WAIT_MS));
    vt_send(t, "\x1b"); /* Esc: nothing sent */
    /* sup1's claim stands: sup2's box did not take it over */
    assert_true(wait_claim(m, pur, "sup1"));
    quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_approval_shown_and_claimed),
        cmocka_unit_test(test_claimed_by_another_asks),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
