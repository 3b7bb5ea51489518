/* test_marketd_two_person.c: two-person approval against a real marketd (issue 16).
 *
 * An agent limit two_person_minor: a purchase whose total is at or above it needs two
 * different supervisors' approvals (the first answers 200, still pending, with
 * approvals [{by, at}]; the same supervisor again gets 409 same_approver; a second one
 * settles it); a veto by either ends it; its longer deadline still fails closed; neither
 * the approval threshold nor a policy approves it; changing the limit once set needs a
 * second supervisor's identical call. Two supervisors approving at once: exactly one
 * settlement.
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

#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

static int group_setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, "--decide-timeout 600 --two-person-timeout 1200");
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* Sets (as token) the buyer's limits to body; asserts want, returns the agent (owned). */
static char *limits(testsrv *s, const char *token, testsrv_market *t, const char *body, long want)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/agents/%s", t->buyer_id);
    char *b = testsrv_get_ok(s, path);
    long long v = testjson_int(b, "version");
    free(b);
    strcat(path, "/limits");
    return testsrv_post_want(s, token, path, v, body, want);
}

/* A market whose buyer has approval threshold thr and two_person_minor 50000 (USD 500). */
static void setup_two(testsrv *s, testsrv_market *t, long long thr)
{
    assert_int_equal(testsrv_market_setup(s, t, thr), 0);
    free(limits(s, TESTSRV_TOKEN_SUP1, t, "{\"two_person_minor\":50000}", 200));
}

/* Makes a purchase of 2 x price; path gets /v1/purchases/ID, returns its body (owned). */
static char *buy(testsrv *s, testsrv_market *t, long long price, char path[128])
{
    char pur[72];
    assert_int_equal(testsrv_market_purchase(s, t, price, 2, pur), 0);
    snprintf(path, 128, "/v1/purchases/%s", pur);
    return testsrv_get_ok(s, path);
}

/* The same with quantity 1. */
static char *buy1(testsrv *s, testsrv_market *t, long long price, char path[128])
{
    char pur[72];
    assert_int_equal(testsrv_market_purchase(s, t, price, 1, pur), 0);
    snprintf(path, 128, "/v1/purchases/%s", pur);
    return testsrv_get_ok(s, path);
}

/* Approves the purchase at path as token at version v (total 2 x 45000). */
static char *approve(testsrv *s, const char *token, const char *path, long long v, long want)
{
    char act[160];
    snprintf(act, sizeof act, "%.127s/approve", path);
    return testsrv_post_want(s, token, act, v, "{\"expected_total_minor\":90000}", want);
}

static void test_two_supervisors_settle(void **state)
{
    (void)state;
    testsrv_market t;
    char path[128];
    setup_two(&srv, &t, 0);
    char *p = buy(&srv, &t, 45000, path);
    testjson_want_str(p, "status", "pending_approval");
    assert_int_equal(testjson_int(p, "approvals_required"), 2);
    assert_int_equal(testjson_len(p, "approvals"), 0);
    long long v = testjson_int(p, "version");
    free(p);
    long long seq0 = testsrv_seq(&srv);

    /* the first approval: 200, still pending, a version step and an event */
    p = approve(&srv, TESTSRV_TOKEN_SUP1, path, v, 200);
    testjson_want_str(p, "status", "pending_approval");
    assert_int_equal(testjson_len(p, "approvals"), 1);
    testjson_want_str(p, "approvals.0.by", "sup1");
    assert_int_equal(testjson_int(p, "version"), v + 1);
    assert_true(testjson_str(p, "approvals.0.at", (char[40]){0}, 40));
    free(p);
    assert_true(testsrv_seq(&srv) > seq0);
    char bpath[128];
    snprintf(bpath, sizeof bpath, "/v1/agents/%s", t.buyer_id);
    p = testsrv_get_ok(&srv, bpath);
    assert_int_equal(testjson_int(p, "spent_minor"), 0); /* nothing moved */
    free(p);

    /* the same supervisor again: 409 same_approver, nothing changes */
    p = approve(&srv, TESTSRV_TOKEN_SUP1, path, v + 1, 409);
    testjson_want_str(p, "error", "same_approver");
    testjson_want_str(p, "current.status", "pending_approval");
    free(p);
    p = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(p, "version"), v + 1);
    free(p);

    /* a second supervisor settles it */
    p = approve(&srv, TESTSRV_TOKEN_SUP2, path, v + 1, 200);
    testjson_want_str(p, "status", "settled");
    assert_int_equal(testjson_len(p, "approvals"), 2);
    testjson_want_str(p, "approvals.1.by", "sup2");
    testjson_want_str(p, "decision.by", "sup2");
    free(p);
    p = testsrv_get_ok(&srv, bpath);
    assert_int_equal(testjson_int(p, "spent_minor"), 90000);
    free(p);
}

static void test_below_limit_needs_one(void **state)
{
    (void)state;
    testsrv_market t;
    char path[128];
    setup_two(&srv, &t, 0);
    char *p = buy(&srv, &t, 24000, path); /* 48000 < 50000 */
    assert_int_equal(testjson_int(p, "approvals_required"), 1);
    long long v = testjson_int(p, "version");
    free(p);
    char act[160];
    snprintf(act, sizeof act, "%.127s/approve", path);
    p = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, act, v, "{\"expected_total_minor\":48000}",
                          200);
    testjson_want_str(p, "status", "settled");
    free(p);
    /* exactly at the limit: two */
    p = buy(&srv, &t, 25000, path);
    assert_int_equal(testjson_int(p, "approvals_required"), 2);
    free(p);
}

static void test_veto_by_either(void **state)
{
    (void)state;
    const char *vetoer[] = {TESTSRV_TOKEN_SUP1, TESTSRV_TOKEN_SUP2};
    for (int i = 0; i < 2; i++) {
        testsrv_market t;
        char path[128], act[160];
        setup_two(&srv, &t, 0);
        char *p = buy(&srv, &t, 45000, path);
        long long v = testjson_int(p, "version");
        free(p);
        free(approve(&srv, TESTSRV_TOKEN_SUP1, path, v, 200));
        snprintf(act, sizeof act, "%s/veto", path);
        p = testsrv_post_want(&srv, vetoer[i], act, v + 1, "{\"reason\":\"no\"}", 200);
        testjson_want_str(p, "status", "vetoed");
        free(p);
        /* and no approval settles it after that */
        free(approve(&srv, TESTSRV_TOKEN_SUP2, path, v + 2, 409));
    }
}

static void test_longer_deadline_fails_closed(void **state)
{
    (void)state;
    /* the deadline is the longer one: 1200 s here, against 600 s for one approval */
    testsrv_market t;
    char path[128];
    setup_two(&srv, &t, 0);
    char *p = buy(&srv, &t, 45000, path);
    char created[40], due[40];
    assert_true(testjson_str(p, "created_at", created, sizeof created));
    assert_true(testjson_str(p, "decide_by", due, sizeof due));
    free(p);
    struct tm a = {0}, b = {0};
    assert_non_null(strptime(created, "%Y-%m-%dT%H:%M:%S", &a));
    assert_non_null(strptime(due, "%Y-%m-%dT%H:%M:%S", &b));
    assert_int_equal((long)difftime(timegm(&b), timegm(&a)), 1200);

    /* one approval and the clock: it expires, never settles */
    testsrv fast;
    assert_int_equal(testsrv_start(&fast, "--decide-timeout 600 --two-person-timeout 1"), 0);
    setup_two(&fast, &t, 0);
    p = buy(&fast, &t, 45000, path);
    long long v = testjson_int(p, "version");
    free(p);
    free(approve(&fast, TESTSRV_TOKEN_SUP1, path, v, 200));
    assert_true(testsrv_wait_status(&fast, path, "expired"));
    p = testsrv_get_ok(&fast, path);
    testjson_want_str(p, "decision.action", "expire");
    assert_int_equal(testjson_len(p, "approvals"), 1);
    free(p);
    testsrv_stop(&fast);
}

static void test_nothing_automatic_at_or_above(void **state)
{
    (void)state;
    testsrv own;
    assert_int_equal(testsrv_start(&own, NULL), 0);
    testsrv_market t;
    char path[128];
    /* the threshold would approve anything under USD 1,000,000 */
    setup_two(&own, &t, 100000000);
    char *p = buy1(&own, &t, 40000, path); /* below: the threshold approves */
    testjson_want_str(p, "status", "settled");
    free(p);
    p = buy(&own, &t, 45000, path); /* above: waits for two people */
    testjson_want_str(p, "status", "pending_approval");
    free(p);
    /* a policy that approves everything approves nothing at or above the limit */
    free(testsrv_post_want(
        &own, TESTSRV_TOKEN_SUP1, "/v1/policies", 0,
        "{\"name\":\"all\",\"action\":\"approve\",\"enabled\":true,\"match\":{}}", 201));
    free(limits(&own, TESTSRV_TOKEN_SUP1, &t, "{\"approval_threshold_minor\":0}", 200));
    p = buy1(&own, &t, 41000, path);
    testjson_want_str(p, "status", "settled");
    free(p);
    p = buy(&own, &t, 46000, path);
    testjson_want_str(p, "status", "pending_approval");
    assert_int_equal(testjson_int(p, "approvals_required"), 2);
    assert_int_equal(testjson_len(p, "approvals"), 0);
    free(p);
    testsrv_stop(&own);
}

static void test_changing_the_limit_needs_a_second(void **state)
{
    (void)state;
    testsrv_market t;
    char path[128];
    setup_two(&srv, &t, 0);
    /* clearing it: held until another supervisor confirms */
    char *a = limits(&srv, TESTSRV_TOKEN_SUP1, &t, "{\"two_person_minor\":0}", 200);
    assert_int_equal(testjson_int(a, "limits.two_person_minor"), 50000);
    assert_int_equal(testjson_int(a, "pending_limits.two_person_minor"), 0);
    testjson_want_str(a, "pending_limits.by", "sup1");
    free(a);
    char *p = buy(&srv, &t, 45000, path);
    assert_int_equal(testjson_int(p, "approvals_required"), 2); /* still in force */
    free(p);
    a = limits(&srv, TESTSRV_TOKEN_SUP1, &t, "{\"two_person_minor\":0}", 409);
    testjson_want_str(a, "error", "same_approver");
    free(a);
    /* another supervisor's different call is a new proposal, not a confirmation */
    a = limits(&srv, TESTSRV_TOKEN_SUP2, &t, "{\"two_person_minor\":80000}", 200);
    assert_int_equal(testjson_int(a, "limits.two_person_minor"), 50000);
    testjson_want_str(a, "pending_limits.by", "sup2");
    free(a);
    a = limits(&srv, TESTSRV_TOKEN_SUP1, &t, "{\"two_person_minor\":80000}", 200);
    assert_int_equal(testjson_int(a, "limits.two_person_minor"), 80000);
    assert_int_equal(testjson_len(a, "pending_limits"), -1);
    free(a);
    /* lowering it is held too */
    a = limits(&srv, TESTSRV_TOKEN_SUP2, &t, "{\"two_person_minor\":30000}", 200);
    assert_int_equal(testjson_int(a, "limits.two_person_minor"), 80000);
    free(a);
    a = limits(&srv, TESTSRV_TOKEN_SUP1, &t, "{\"two_person_minor\":30000}", 200);
    assert_int_equal(testjson_int(a, "limits.two_person_minor"), 30000);
    free(a);
    /* other limits change at once */
    a = limits(&srv, TESTSRV_TOKEN_SUP1, &t, "{\"max_quantity\":50}", 200);
    assert_int_equal(testjson_int(a, "limits.max_quantity"), 50);
    free(a);
}

/* One approval fired after the barrier. */
typedef struct shot {
    testsrv *s;
    const char *token;
    char path[160];
    long long version;
    pthread_barrier_t *go;
    testhttp_resp r;
} shot;

static void *fire(void *arg)
{
    shot *sh = arg;
    pthread_barrier_wait(sh->go);
    testsrv_post(sh->s, sh->token, sh->path, sh->version, "{\"expected_total_minor\":90000}",
                 &sh->r);
    return NULL;
}

/* Fires a and b at once. */
static void race(shot *a, shot *b)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    a->go = b->go = &go;
    pthread_t ta, tb;
    pthread_create(&ta, NULL, fire, a);
    pthread_create(&tb, NULL, fire, b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&go);
}

/* Two supervisors approve at the same version at once: one first approval, the other
 * 412; the loser approves again and settles it. After a first approval by sup1, sup1 and
 * sup2 at once: exactly one settlement. (tests/bench/bench_two_person.c: 200 trials.) */
static void test_two_at_once_one_settlement(void **state)
{
    (void)state;
    testsrv_market t;
    setup_two(&srv, &t, 0);
    char paths[20][128];
    for (int i = 0; i < 20; i++) {
        char *path = paths[i];
        char *p = buy(&srv, &t, 45000, path);
        long long v = testjson_int(p, "version");
        free(p);
        shot a = {.s = &srv, .token = TESTSRV_TOKEN_SUP1, .version = v};
        shot b = {.s = &srv, .token = TESTSRV_TOKEN_SUP2, .version = v};
        snprintf(a.path, sizeof a.path, "%.127s/approve", path);
        snprintf(b.path, sizeof b.path, "%.127s/approve", path);
        if (i % 2 == 1) { /* sup1 approved first; both fire at the next version */
            free(approve(&srv, TESTSRV_TOKEN_SUP1, path, v, 200));
            a.version = b.version = v + 1;
        }
        race(&a, &b);
        int ok = (a.r.status == 200) + (b.r.status == 200);
        assert_int_equal(ok, 1);
        shot *lose = a.r.status == 200 ? &b : &a;
        assert_true(lose->r.status == 412 || lose->r.status == 409);
        p = testsrv_get_ok(&srv, path);
        char st[32];
        assert_true(testjson_str(p, "status", st, sizeof st));
        long long nv = testjson_int(p, "version");
        free(p);
        if (strcmp(st, "pending_approval") == 0) /* the loser decides again */
            free(approve(&srv, lose->token, path, nv, 200));
        p = testsrv_get_ok(&srv, path);
        testjson_want_str(p, "status", "settled");
        free(p);
        testhttp_resp_free(&a.r);
        testhttp_resp_free(&b.r);
    }
    /* one ledger entry per purchase: 20 settlements */
    char *l = testsrv_get_ok(&srv, "/v1/ledger?limit=1000");
    long long n = testjson_len(l, "items"), mine = 0;
    for (long long i = 0; i < n; i++) {
        char k[64], id[72];
        snprintf(k, sizeof k, "items.%lld.purchase_id", i);
        for (int j = 0; j < 20 && testjson_str(l, k, id, sizeof id); j++)
            mine += strcmp(paths[j] + strlen("/v1/purchases/"), id) == 0;
    }
    free(l);
    assert_int_equal(mine, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_supervisors_settle),
        cmocka_unit_test(test_below_limit_needs_one),
        cmocka_unit_test(test_veto_by_either),
        cmocka_unit_test(test_longer_deadline_fails_closed),
        cmocka_unit_test(test_nothing_automatic_at_or_above),
        cmocka_unit_test(test_changing_the_limit_needs_a_second),
        cmocka_unit_test(test_two_at_once_one_settlement),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
