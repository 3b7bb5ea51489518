/* test_faults_console_server.c: the console while a fleet trades fast and marketd is
 * killed (-9) and restarted, and stopped then continued: the header says reconnecting
 * (a stall noticed within three heartbeat periods), comes back live, and at the end
 * shows the server's pending count and open alerts by severity.
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

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* Monotonic ms. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms (between polls, or to aim at a deadline). */
static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Quits a console with q and frees it. */
static void quit(vt *t)
{
    vt_send(t, "q");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
}

/* The number after which needle stands on row r ("12 pending" -> 12), or -1. */
static long number_before(vt *t, int r, const char *needle)
{
    char row[2048];
    vt_row(t, r, row, sizeof row);
    const char *p = strstr(row, needle);
    if (!p)
        return -1;
    while (p > row && p[-1] == ' ')
        p--;
    const char *e = p;
    while (p > row && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return p < e ? atol(p) : -1;
}

/* Counts of the server: pending purchases, open critical and warning alerts. */
static void server_counts(e2e_market *m, long *pending, long *crit, long *warn,
                          long long *purchases)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
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

/* The server's seq, or -1 while it is down. */
static long long server_seq(e2e_market *m)
{
    testhttp_resp r = {0};
    long long seq = -1;
    if (testsrv_get(&m->srv, NULL, "/v1/health", &r) == 0 && r.status == 200)
        seq = testjson_int(r.body, "seq");
    testhttp_resp_free(&r);
    return seq;
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
        nap(300 + 97 * (k % 5));
        if (k % 2 == 0) {
            testsrv_kill9(&m.srv);
            kills++;
            assert_true(e2e_wait(t, "reconnecting", WAIT_MS));
            assert_int_equal(testsrv_restart(&m.srv), 0);
        } else {
            kill(m.srv.pid, SIGSTOP);
            stops++;
            int64_t t0 = now_ms();
            bool seen = vt_wait_text(t, "reconnecting", WAIT_MS);
            int64_t took = now_ms() - t0;
            kill(m.srv.pid, SIGCONT);
            if (!seen) {
                vt_dump(t, "after SIGSTOP");
                fail_msg("stop %d: the console never said reconnecting", stops);
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
    assert_int_equal(
        testsrv_post(&m.srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", 0, "{\"reason\":\"drill\"}", &r),
        0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
    long long seq = server_seq(&m);
    int64_t since = now_ms(), deadline = now_ms() + 30000;
    while (now_ms() - since < 1000 && now_ms() < deadline) {
        nap(100);
        long long s = server_seq(&m);
        if (s != seq) {
            seq = s;
            since = now_ms();
        }
    }
    long pending, crit, warn, shown_p = -1, shown_c = -1, shown_w = -1;
    long long purchases = 0;
    server_counts(&m, &pending, &crit, &warn, &purchases);
    deadline = now_ms() + WAIT_MS;
    while (now_ms() < deadline) {
        vt_pump(t, 100);
        shown_p = number_before(t, 1, " pending");
        shown_c = number_before(t, 1, " critical");
        shown_w = number_before(t, 1, " warning");
        if (shown_p == pending && shown_c == crit && shown_w == warn)
            break;
    }
    printf("console through %d kills and %d stops of marketd under a fleet: reconnecting shown "
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
