/* test_console_presence.c: the console and presence (issue 16), the real dealdesk in a
 * pty against a real marketd.
 *
 * A console is presence (its stream says console=1, it reports its start and keys): the
 * header counts who is watching and says what the unattended switch will do ("restricts
 * after 10 min unwatched"); quitting the last present console says what the market does
 * without it and asks; `dealdesk tail` is not a console (a viewer's tail is not among the
 * viewers, its console is); a console that returns to an unattended market explains it on
 * the status line, and its presence lifts the restriction. Every wait is for a state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until GET /v1/presence has the integer at jpath (or, len: the array's size)
 * equal to want. */
static void wait_presence(e2e_market *m, const char *jpath, bool len, long long want)
{
    int64_t t0 = mono_ms();
    for (;;) {
        testhttp_resp r;
        assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/presence", &r), 0);
        long long v = len ? testjson_len(r.body, jpath) : testjson_int(r.body, jpath);
        testhttp_resp_free(&r);
        if (v == want)
            return;
        if (mono_ms() - t0 > WAIT_MS)
            fail_msg("presence %s stayed %lld, not %lld", jpath, v, want);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The header counts the watching supervisors and names the switch; q on the last present
 * console asks, saying what the market will do; N stays, y quits, and presence ends. */
static void test_header_and_quit_box(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--unattended 600"), 0);
    vt *t = e2e_dealdesk(&m, 30, 100, m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "1 watching", WAIT_MS));
    assert_true(e2e_wait(t, "restricts after 10 min unwatched", WAIT_MS));
    wait_presence(&m, "supervisors", true, 1);
    vt_send(t, "q");
    assert_true(e2e_wait(t, "Quit the last console watching?", WAIT_MS));
    assert_true(e2e_wait(t, "10 min after you leave", WAIT_MS));
    vt_send(t, "N");
    assert_true(e2e_wait(t, "not quitting: still watching", WAIT_MS));
    vt_send(t, "q");
    assert_true(e2e_wait(t, "Quit the last console watching?", WAIT_MS));
    vt_send(t, "y");
    assert_int_equal(vt_wait_exit(t, WAIT_MS), 0);
    vt_free(t);
    wait_presence(&m, "supervisors", true, 0); /* gone with its console */
    e2e_market_stop(&m);
}

/* A viewer's tail is not a console; its console is (viewers: 1). */
static void test_tail_is_not_presence(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, NULL), 0);
    const char *tail_args[] = {"tail", NULL};
    vt *tail = e2e_dealdesk(&m, 24, 80, m.view_file, tail_args, NULL);
    assert_non_null(tail);
    vt *con = e2e_dealdesk(&m, 24, 80, m.view_file, NULL, NULL);
    assert_non_null(con);
    wait_presence(&m, "viewers", false, 1);
    char pur[72], neg[72];
    assert_int_equal(e2e_purchase(&m, "Trek", "bikes", 50000, 1, pur, neg), 0);
    assert_true(vt_wait_text(tail, pur, WAIT_MS)); /* the tail streams, counted nowhere */
    vt_free(con);
    wait_presence(&m, "viewers", false, 0);
    vt_free(tail);
    e2e_market_stop(&m);
}

/* A console that comes back to a market unattended since a time explains it on the status
 * line; its presence lifts the restriction (the header then names the switch again). */
static void test_return_explained(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--unattended 1"), 0);
    int64_t t0 = mono_ms();
    for (;;) { /* nobody watched for 1 s */
        testhttp_resp r;
        assert_int_equal(testsrv_get(&m.srv, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r), 0);
        int null = testjson_null(r.body, "unattended.since");
        testhttp_resp_free(&r);
        if (null == 0)
            break;
        assert_true(mono_ms() - t0 < WAIT_MS);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* a viewer's console watches the restriction, and cannot lift it */
    vt *v = e2e_dealdesk(&m, 30, 100, m.view_file, NULL, NULL);
    assert_non_null(v);
    assert_true(e2e_wait(v, "unattended: restricting since", WAIT_MS));
    assert_true(e2e_wait(v, "a supervisor lifts it", WAIT_MS));
    assert_true(e2e_wait(v, "0 watching", WAIT_MS));
    vt *t = e2e_dealdesk(&m, 30, 100, m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "no auto-approvals or new negotiations", WAIT_MS));
    assert_true(e2e_wait(t, "you lift it", WAIT_MS));
    assert_true(e2e_wait(t, "restricts after 1 s unwatched", WAIT_MS)); /* lifted */
    assert_true(e2e_wait(t, "1 watching", WAIT_MS));
    assert_true(e2e_wait(v, "restricts after 1 s unwatched", WAIT_MS)); /* the viewer sees it */
    assert_true(e2e_wait(v, "1 watching", WAIT_MS));
    vt_free(t);
    vt_free(v);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_quit_box),
        cmocka_unit_test(test_tail_is_not_presence),
        cmocka_unit_test(test_return_explained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
