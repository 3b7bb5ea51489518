/* test_marketd_claims.c: claims on pending purchases against a real marketd (issue 16).
 *
 * POST /v1/purchases/{id}/claim makes a Claim {purchase_id, by, until, status}, its own
 * object (GET /v1/claims, the snapshot's claims, claim.updated) that never changes the
 * purchase's version; the same supervisor renews it, another gets 409 claimed; a
 * decision releases it; its lifetime (--claim-seconds) expires it, seen as a state.
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

#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

static int group_setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, "--decide-timeout 600");
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* A fresh pending purchase on s: its id, its path, its claim path. */
static void pending(testsrv *s, char pur[72], char path[128], char claim[160])
{
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(s, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(s, &t, 45000, 2, pur), 0);
    snprintf(path, 128, "/v1/purchases/%s", pur);
    snprintf(claim, 160, "/v1/purchases/%s/claim", pur);
}

/* Whether the JSON array at key of b holds an object whose purchase_id is pur. */
static bool lists(const char *b, const char *key, const char *pur)
{
    for (long long i = 0; i < testjson_len(b, key); i++) {
        char k[80], id[72];
        snprintf(k, sizeof k, "%s.%lld.purchase_id", key, i);
        if (testjson_str(b, k, id, sizeof id) && !strcmp(id, pur))
            return true;
    }
    return false;
}

static void test_claim_renew_refuse_release(void **state)
{
    (void)state;
    char pur[72], path[128], claim[160], cpath[128];
    pending(&srv, pur, path, claim);
    snprintf(cpath, sizeof cpath, "/v1/claims/%s", pur);
    char *p = testsrv_get_ok(&srv, path);
    long long v = testjson_int(p, "version");
    free(p);
    long long seq0 = testsrv_seq(&srv);

    char *c = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, claim, 0, "{}", 200);
    testjson_want_str(c, "purchase_id", pur);
    testjson_want_str(c, "by", "sup1");
    testjson_want_str(c, "status", "active");
    char until1[40];
    assert_true(testjson_str(c, "until", until1, sizeof until1));
    assert_int_equal(testjson_int(c, "version"), 1);
    free(c);
    assert_int_equal(testsrv_seq(&srv), seq0 + 1); /* claim.updated and nothing else */
    p = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(p, "version"), v); /* the purchase did not change */
    free(p);

    /* listed, and in the snapshot */
    c = testsrv_get_ok(&srv, "/v1/claims?status=active");
    assert_true(lists(c, "items", pur));
    free(c);
    c = testsrv_get_ok(&srv, "/v1/snapshot");
    assert_true(lists(c, "claims", pur));
    free(c);

    /* another supervisor: 409 claimed, with the claim */
    c = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, claim, 0, "{}", 409);
    testjson_want_str(c, "error", "claimed");
    testjson_want_str(c, "current.by", "sup1");
    free(c);
    /* viewers and agents may not claim */
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_VIEW1, claim, 0, "{}", 403));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/purchases/pur_999999/claim", 0, "{}",
                           404));

    /* the same supervisor renews it: a later until, the next version */
    nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL); /* a later ms for until */
    c = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, claim, 0, "{}", 200);
    assert_int_equal(testjson_int(c, "version"), 2);
    char until2[40];
    assert_true(testjson_str(c, "until", until2, sizeof until2));
    assert_true(strcmp(until2, until1) > 0);
    free(c);

    /* a decision by the other supervisor (on the version it saw) releases it */
    char act[160];
    snprintf(act, sizeof act, "%s/approve", path);
    p = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, act, v, "{\"expected_total_minor\":90000}",
                          200);
    testjson_want_str(p, "status", "settled");
    free(p);
    c = testsrv_get_ok(&srv, cpath);
    testjson_want_str(c, "status", "released");
    free(c);
    c = testsrv_get_ok(&srv, "/v1/snapshot");
    assert_false(lists(c, "claims", pur));
    free(c);
    /* a decided purchase cannot be claimed */
    c = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, claim, 0, "{}", 409);
    testjson_want_str(c, "current.status", "settled");
    free(c);
}

static void test_claim_expires(void **state)
{
    (void)state;
    testsrv fast;
    assert_int_equal(testsrv_start(&fast, "--decide-timeout 600 --claim-seconds 1"), 0);
    char pur[72], path[128], claim[160], cpath[128];
    pending(&fast, pur, path, claim);
    snprintf(cpath, sizeof cpath, "/v1/claims/%s", pur);
    char *c = testsrv_post_want(&fast, TESTSRV_TOKEN_SUP1, claim, 0, "{}", 200);
    free(c);
    assert_true(testsrv_wait_status(&fast, cpath, "expired"));
    c = testsrv_get_ok(&fast, "/v1/snapshot");
    assert_false(lists(c, "claims", pur));
    free(c);
    /* the purchase is still pending, and another supervisor may claim it now */
    c = testsrv_get_ok(&fast, path);
    testjson_want_str(c, "status", "pending_approval");
    free(c);
    c = testsrv_post_want(&fast, TESTSRV_TOKEN_SUP2, claim, 0, "{}", 200);
    testjson_want_str(c, "by", "sup2");
    testjson_want_str(c, "status", "active");
    free(c);
    testsrv_stop(&fast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_renew_refuse_release),
        cmocka_unit_test(test_claim_expires),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
