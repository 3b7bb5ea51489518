/* test_marketd_race.c: decisions under races against a real marketd.
 *
 * Two supervisors approve and veto the same purchase at the same moment, 200 times:
 * exactly one wins each time and the other gets 409 or 412 with the current object.
 * An approval fired around the purchase's decide_by races the expiry clock: exactly
 * one terminal state, and the answer agrees with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/testsrv.h"

#define TRIALS 200

typedef struct shot {
    testsrv *s;
    const char *token;
    char path[160];
    char body[128];
    long long version;
    pthread_barrier_t *go;
    struct timespec at; /* CLOCK_REALTIME to fire at (0: at once) */
    testhttp_resp r;
} shot;

/* One decision, fired after the barrier (and at its time, if set). */
static void *fire(void *arg)
{
    shot *sh = arg;
    if (sh->go)
        pthread_barrier_wait(sh->go);
    if (sh->at.tv_sec)
        clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &sh->at, NULL);
    testsrv_post(sh->s, sh->token, sh->path, sh->version, sh->body, &sh->r);
    return NULL;
}

static void test_two_supervisors_200_trials(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    int approvals = 0, vetoes = 0;
    for (int i = 0; i < TRIALS; i++) {
        char pur[72], path[128];
        /* quantity 1 each time so that the listing (1000) never runs out */
        assert_int_equal(testsrv_market_purchase(&srv, &t, 40000 + i, 1, pur), 0);
        snprintf(path, sizeof path, "/v1/purchases/%s", pur);
        testhttp_resp g;
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &g), 0);
        long long v = testjson_int(g.body, "version");
        testhttp_resp_free(&g);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        shot a = {.s = &srv, .token = TESTSRV_TOKEN_SUP1, .version = v, .go = &go};
        shot b = {.s = &srv, .token = TESTSRV_TOKEN_SUP2, .version = v, .go = &go};
        snprintf(a.path, sizeof a.path, "%s/approve", path);
        snprintf(a.body, sizeof a.body, "{\"expected_total_minor\":%d}", 40000 + i);
        snprintf(b.path, sizeof b.path, "%s/veto", path);
        snprintf(b.body, sizeof b.body, "{\"reason\":\"race %d\"}", i);
        pthread_t ta, tb;
        pthread_create(&ta, NULL, fire, &a);
        pthread_create(&tb, NULL, fire, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        bool aw = a.r.status == 200, bw = b.r.status == 200;
        if (aw == bw)
            fail_msg("trial %d: approve %ld, veto %ld", i, a.r.status, b.r.status);
        shot *loser = aw ? &b : &a;
        assert_true(loser->r.status == 409 || loser->r.status == 412);
        char st[32];
        assert_true(testjson_str(loser->r.body, "current.status", st, sizeof st));
        assert_string_equal(st, aw ? "settled" : "vetoed");
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &g), 0);
        assert_true(testjson_str(g.body, "status", st, sizeof st));
        assert_string_equal(st, aw ? "settled" : "vetoed");
        testhttp_resp_free(&g);
        approvals += aw;
        vetoes += bw;
        testhttp_resp_free(&a.r);
        testhttp_resp_free(&b.r);
    }
    /* The ledger holds exactly one settlement per approval. */
    testhttp_resp g;
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/ledger?limit=1000", &g), 0);
    assert_int_equal(testjson_len(g.body, "items"), approvals);
    testhttp_resp_free(&g);
    print_message("approvals %d, vetoes %d\n", approvals, vetoes);
    testsrv_stop(&srv);
}

/* Parses our RFC 3339 time into a timespec. */
static struct timespec parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
           &tm.tm_min, &tm.tm_sec, &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    struct timespec ts = {timegm(&tm), (long)ms * 1000000L};
    return ts;
}

#define CLOCK_TRIALS 12

static void test_decision_against_expiry(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--decide-timeout 1"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    shot shots[CLOCK_TRIALS];
    pthread_t th[CLOCK_TRIALS];
    char purs[CLOCK_TRIALS][72];
    for (int i = 0; i < CLOCK_TRIALS; i++) {
        assert_int_equal(testsrv_market_purchase(&srv, &t, 30000 + i, 1, purs[i]), 0);
        char path[128];
        snprintf(path, sizeof path, "/v1/purchases/%.71s", purs[i]);
        testhttp_resp g;
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &g), 0);
        char db[40];
        assert_true(testjson_str(g.body, "decide_by", db, sizeof db));
        shot *sh = &shots[i];
        memset(sh, 0, sizeof *sh);
        sh->s = &srv;
        sh->token = TESTSRV_TOKEN_SUP1;
        sh->version = testjson_int(g.body, "version");
        testhttp_resp_free(&g);
        snprintf(sh->path, sizeof sh->path, "%s/approve", path);
        snprintf(sh->body, sizeof sh->body, "{\"expected_total_minor\":%d}", 30000 + i);
        /* fire from 350 ms before to 200 ms after the deadline */
        sh->at = parse_rfc3339(db);
        long off_ms = -350 + i * 50;
        long long ns = (long long)sh->at.tv_nsec + off_ms * 1000000LL;
        while (ns < 0) {
            ns += 1000000000LL;
            sh->at.tv_sec--;
        }
        while (ns >= 1000000000LL) {
            ns -= 1000000000LL;
            sh->at.tv_sec++;
        }
        sh->at.tv_nsec = (long)ns;
    }
    for (int i = 0; i < CLOCK_TRIALS; i++)
        pthread_create(&th[i], NULL, fire, &shots[i]);
    int won = 0, lost = 0;
    for (int i = 0; i < CLOCK_TRIALS; i++) {
        pthread_join(th[i], NULL);
        char path[128], st[32];
        snprintf(path, sizeof path, "/v1/purchases/%.71s", purs[i]);
        /* wait for a terminal state: settled or expired, never both, never pending */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            testhttp_resp g;
            assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &g), 0);
            assert_true(testjson_str(g.body, "status", st, sizeof st));
            testhttp_resp_free(&g);
            if (strcmp(st, "pending_approval") != 0)
                break;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            assert_true(t1.tv_sec - t0.tv_sec < 10);
            struct timespec nap = {0, 20000000L};
            nanosleep(&nap, NULL);
        }
        if (shots[i].r.status == 200) {
            assert_string_equal(st, "settled");
            won++;
        } else {
            /* 409 when the approval itself found it past due, 412 when the clock had
             * already expired it (its version moved on) */
            assert_true(shots[i].r.status == 409 || shots[i].r.status == 412);
            assert_string_equal(st, "expired");
            char cur[32];
            assert_true(testjson_str(shots[i].r.body, "current.status", cur, sizeof cur));
            assert_string_equal(cur, "expired");
            lost++;
        }
        testhttp_resp_free(&shots[i].r);
    }
    print_message("before the deadline %d, after %d\n", won, lost);
    assert_true(won > 0 && lost > 0); /* the window straddles the deadline */
    testsrv_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_supervisors_200_trials),
        cmocka_unit_test(test_decision_against_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
