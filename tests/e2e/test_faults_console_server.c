/* test_faults_console_server.c: the console while a fleet trades fast and marketd is
 * killed (-9) and restarted, and stopped then continued: the header says OFFLINE (why, and the next
 * try) (a stall noticed within three heartbeat periods), comes back live, and at the end shows the
 * server's pending count and open alerts by severity.
 *
 * SOAK=1: 30 server faults instead of 4.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* Quits a console with q and frees it. */
static void quit(vt *t)
{
    e2e_quit(t);
}

/* Counts of the server: pending purchases, open critical and warning alerts. */
static void server_counts(e2e_market *m, long *pending, long *crit, long *warn,
                          long long *purchases)
{
    testhttp_resp r = {0};
    assert_non_null(r.body = testsrv_state(&m->srv, TESTSRV_TOKEN_SUP1));
    *pending = *crit = *warn = 0;
    long long n = testjson_len(r.body, "purchases");
    *purchases = n;
    for (long long i = 0; i < n; i++) {
        char p[64], s[32] = "";
        snprintf(p, sizeof p, "purchases.%lld.status", i);
        testjson_str(r.body, p, s, sizeof s);
        *pending += !strcmp(s, "pending_approval");
    }
    n = testjson_len(r.body, "alerts");
    for (long long i = 0; i < n; i++) {
        char p[64], s[32] = "", sev[32] = "";
        snprintf(p, sizeof p, "alerts.%lld.status", i);
        testjson_str(r.body, p, s, sizeof s);
        snprintf(p, sizeof p, "alerts.%lld.severity", i);
        testjson_str(r.body, p, sev, sizeof sev);
        if (!strcmp(s, "open")) {
            *crit += !strcmp(sev, "critical");
            *warn += !strcmp(sev, "warning");
        }
    }
    testhttp_resp_free(&r);
}

/* A fast fleet, the server killed and stopped under the console. */
static void test_console_through_server_faults(void **state)
{
    (void)state;
    int rounds = getenv("SOAK") ? 30 : 4;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--fleet 12 --seed 9 --rate 30 --faults 0.3 "
                                          "--heartbeat 1 --decide-timeout 3600"),
                     0);
    const char *args[] = {"--heartbeat", "1", NULL};
    vt *t = e2e_dealdesk(&m, 30, 120, m.sup1_file, args, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "live", WAIT_MS));
    int64_t worst_stall = 0;
    int kills = 0, stops = 0;
    for (int k = 0; k < rounds; k++) {
        tproc_nap(300 + 97 * (k % 5));
        if (k % 2 == 0) {
            testsrv_kill9(&m.srv);
            kills++;
            assert_true(e2e_wait(t, "OFFLINE", WAIT_MS));
            assert_int_equal(testsrv_restart(&m.srv), 0);
        } else {
            kill(m.srv.pid, SIGSTOP);
            stops++;
            int64_t t0 = tproc_now_ms();
            bool seen = vt_wait_text(t, "OFFLINE", WAIT_MS);
            int64_t took = tproc_now_ms() - t0;
            kill(m.srv.pid, SIGCONT);
            if (!seen) {
                vt_dump(t, "after SIGSTOP");
                fail_msg("stop %d: the console never said OFFLINE", stops);
            }
            if (took > worst_stall)
                worst_stall = took;
        }
        assert_true(e2e_wait(t, "live", 30000));
        /* and a purchase of the test's own between faults (waiting for approval) */
        char pur[65], neg[65];
        assert_int_equal(e2e_purchase(&m, "Fault bike", "bikes", 40000 + k, 1, pur, neg), 0);
    }
    /* Quiet the market, then the header must match the server. */
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&m.srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&m.srv), "{\"reason\":\"drill\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
    long long seq = testsrv_seq(&m.srv);
    int64_t since = tproc_now_ms(), deadline = tproc_now_ms() + 30000;
    while (tproc_now_ms() - since < 1000 && tproc_now_ms() < deadline) {
        tproc_nap(100);
        long long s = testsrv_seq(&m.srv);
        if (s != seq) {
            seq = s;
            since = tproc_now_ms();
        }
    }
    long pending, crit, warn, shown_p = -1, shown_c = -1, shown_w = -1;
    long long purchases = 0;
    server_counts(&m, &pending, &crit, &warn, &purchases);
    deadline = tproc_now_ms() + WAIT_MS;
    while (tproc_now_ms() < deadline) {
        vt_pump(t, 100);
        shown_p = vt_number_before(t, 1, " pending");
        shown_c = vt_number_before(t, 1, " critical");
        shown_w = vt_number_before(t, 1, " warning");
        if (shown_p == pending && shown_c == crit && shown_w == warn)
            break;
    }
    printf("console through %d kills and %d stops of marketd under a fleet: OFFLINE shown "
           "%lld ms after SIGSTOP at worst; at the end %ld pending, %ld critical, %ld warning on "
           "screen vs %ld, %ld, %ld on the server (seq %lld)\n",
           kills, stops, (long long)worst_stall, shown_p, shown_c, shown_w, pending, crit, warn,
           seq);
    if (shown_p != pending || shown_c != crit || shown_w != warn)
        vt_dump(t, "header differs from the server");
    assert_int_equal(shown_p, pending);
    assert_int_equal(shown_c, crit);
    assert_int_equal(shown_w, warn);
    assert_true(purchases >= rounds); /* the test's own, and the fleet's */
    assert_true(worst_stall <= 3000 + 1500);
    quit(t);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_console_through_server_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
