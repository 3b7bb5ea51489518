/* test_marketd_decide.c: operator decisions against a real marketd.
 *
 * approve/veto/cap/refund on purchases, cap/hold/release/veto on negotiations,
 * pause/resume/limits on agents, fleet halt/resume, alert ack; If-Match (428/412),
 * expected_total_minor (412), state conflicts (409), Idempotency-Key replay and 422,
 * roles, expiry at decide_by, and If-Epoch (412 epoch_mismatch before anything else);
 * the spending cap at approval (409 budget_exceeded) and conditional fleet decisions.
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

/* Starts the server for the group. */
static int group_setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, "--decide-timeout 600");
}

/* Stops it. */
static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* POSTs body to path as token (If-Match: version when > 0) and asserts the answer's
 * status is want. */
static void post_expect(const char *token, const char *path, long long version, const char *body,
                        long want)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, token, path, version, body, &r), 0);
    assert_int_equal(r.status, want);
    testhttp_resp_free(&r);
}

/* A fresh market with a pending purchase (threshold 0: nothing settles by itself). */
static void pending(testsrv_market *t, char pur[72], char path[128])
{
    assert_int_equal(testsrv_market_setup(&srv, t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, t, 45000, 2, pur), 0);
    snprintf(path, 128, "/v1/purchases/%s", pur);
    char *b = testsrv_get_ok(&srv, path);
    char st[32];
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "pending_approval");
    free(b);
}

/* POSTs with explicit key and If-Match header text (either may be NULL). */
static void post_raw(const char *token, const char *path, const char *key, const char *ifmatch,
                     const char *body, testhttp_resp *r)
{
    char url[512], kh[200], ih[100];
    snprintf(url, sizeof url, "%s%s", srv.url, path);
    const char *h[3] = {NULL, NULL, NULL};
    int n = 0;
    if (key) {
        snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
        h[n++] = kh;
    }
    if (ifmatch) {
        snprintf(ih, sizeof ih, "If-Match: %s", ifmatch);
        h[n++] = ih;
    }
    assert_int_equal(testhttp("POST", url, token, h, body, r), 0);
}

static void test_approve_settles_with_preconditions(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], act[160];
    pending(&t, pur, path);
    long long v = testsrv_version_of(&srv, path);
    snprintf(act, sizeof act, "%s/approve", path);
    testhttp_resp r;
    char key[48];

    testsrv_key(key);
    post_raw(TESTSRV_TOKEN_SUP1, act, key, NULL, "{\"expected_total_minor\":90000}", &r);
    assert_int_equal(r.status, 428);
    char code[64];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "precondition_required");
    testhttp_resp_free(&r);

    assert_int_equal(
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v + 5, "{\"expected_total_minor\":90000}", &r),
        0);
    assert_int_equal(r.status, 412);
    assert_int_equal(testjson_int(r.body, "current.version"), v);
    testhttp_resp_free(&r);

    assert_int_equal(
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v, "{\"expected_total_minor\":9000}", &r), 0);
    assert_int_equal(r.status, 412);
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "precondition_failed");
    assert_int_equal(testjson_int(r.body, "current.total_minor"), 90000);
    /* the message is for people: money with its currency, no minor units */
    char msg[256];
    assert_true(testjson_str(r.body, "message", msg, sizeof msg));
    assert_string_equal(msg, "the total is $900.00 USD, not $90.00 USD");
    testhttp_resp_free(&r);

    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v,
                                  "{\"expected_total_minor\":90000,\"comment\":\"ok\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char st[32];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_string_equal(st, "settled");
    assert_true(testjson_str(r.body, "decision.by", st, sizeof st));
    assert_string_equal(st, "sup1");
    long long v2 = testjson_int(r.body, "version");
    testhttp_resp_free(&r);

    /* the buyer's spend moved and a balanced ledger entry exists */
    char apath[128];
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    char *b = testsrv_get_ok(&srv, apath);
    assert_int_equal(testjson_int(b, "spent_minor"), 90000);
    free(b);
    b = testsrv_get_ok(&srv, "/v1/snapshot");
    char acct[100];
    snprintf(acct, sizeof acct, "ledger.balances.agent:%s", t.seller_id);
    assert_int_equal(testjson_int(b, acct), 90000);
    free(b);

    /* deciding again: 409 with the current object */
    assert_int_equal(
        testsrv_post(&srv, TESTSRV_TOKEN_SUP2, act, v2, "{\"expected_total_minor\":90000}", &r), 0);
    assert_int_equal(r.status, 409);
    assert_true(testjson_str(r.body, "current.status", st, sizeof st));
    assert_string_equal(st, "settled");
    testhttp_resp_free(&r);
}

static void test_idempotency_replay_and_mismatch(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], act[160], ifm[32], key[48];
    pending(&t, pur, path);
    snprintf(act, sizeof act, "%s/veto", path);
    snprintf(ifm, sizeof ifm, "\"%lld\"", testsrv_version_of(&srv, path));
    testsrv_key(key);
    testhttp_resp r1, r2, r3, r4;
    post_raw(TESTSRV_TOKEN_SUP1, act, NULL, ifm, "{\"reason\":\"too much\"}", &r4);
    assert_int_equal(r4.status, 400); /* no key */
    testhttp_resp_free(&r4);
    post_raw(TESTSRV_TOKEN_SUP1, act, "bad key!", ifm, "{\"reason\":\"too much\"}", &r4);
    assert_int_equal(r4.status, 400);
    testhttp_resp_free(&r4);

    post_raw(TESTSRV_TOKEN_SUP1, act, key, ifm, "{\"reason\":\"too much\"}", &r1);
    assert_int_equal(r1.status, 200);
    char h[32];
    assert_null(testhttp_header(&r1, "Idempotent-Replayed", h, sizeof h));
    post_raw(TESTSRV_TOKEN_SUP1, act, key, ifm, "{\"reason\":\"too much\"}", &r2);
    assert_int_equal(r2.status, 200);
    assert_non_null(testhttp_header(&r2, "Idempotent-Replayed", h, sizeof h));
    assert_string_equal(h, "true");
    assert_string_equal(r1.body, r2.body);
    post_raw(TESTSRV_TOKEN_SUP1, act, key, ifm, "{\"reason\":\"other\"}", &r3);
    assert_int_equal(r3.status, 422);
    char code[64];
    assert_true(testjson_str(r3.body, "error", code, sizeof code));
    assert_string_equal(code, "idempotency_mismatch");

    /* one decision recorded, one version step */
    char *b = testsrv_get_ok(&srv, "/v1/decisions?limit=1000");
    int n = 0;
    for (long long i = 0; i < testjson_len(b, "items"); i++) {
        char p[64], id[72];
        snprintf(p, sizeof p, "items.%lld.subject.id", i);
        if (testjson_str(b, p, id, sizeof id) && strcmp(id, pur) == 0)
            n++;
    }
    assert_int_equal(n, 1);
    free(b);
    /* the veto reached the buyer as a system message */
    char neg[72], mpath[160];
    assert_true(testjson_str(r1.body, "negotiation_id", neg, sizeof neg));
    snprintf(mpath, sizeof mpath, "/v1/negotiations/%s/messages", neg);
    b = testsrv_get_ok(&srv, mpath);
    long long nm = testjson_len(b, "items");
    char kp[64], kind[32], text[200];
    snprintf(kp, sizeof kp, "items.%lld.kind", nm - 1);
    assert_true(testjson_str(b, kp, kind, sizeof kind));
    assert_string_equal(kind, "system");
    snprintf(kp, sizeof kp, "items.%lld.text", nm - 1);
    assert_true(testjson_str(b, kp, text, sizeof text));
    assert_non_null(strstr(text, "too much"));
    free(b);
    testhttp_resp_free(&r1);
    testhttp_resp_free(&r2);
    testhttp_resp_free(&r3);
}

static void test_veto_needs_reason_and_roles(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], act[160];
    pending(&t, pur, path);
    long long v = testsrv_version_of(&srv, path);
    snprintf(act, sizeof act, "%s/veto", path);
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v, "{}", &r), 0);
    assert_int_equal(r.status, 400);
    char f[32];
    assert_true(testjson_str(r.body, "field", f, sizeof f));
    assert_string_equal(f, "reason");
    testhttp_resp_free(&r);
    post_expect(TESTSRV_TOKEN_VIEW1, act, v, "{\"reason\":\"x\"}", 403);
    post_expect(t.buyer_token, act, v, "{\"reason\":\"x\"}", 403);
    post_expect(NULL, act, v, "{\"reason\":\"x\"}", 401);
    post_expect("not-a-token", act, v, "{\"reason\":\"x\"}", 401);
    /* a reason over 500 characters */
    char big[700];
    memcpy(big, "{\"reason\":\"", 11);
    memset(big + 11, 'x', 501);
    memcpy(big + 512, "\"}", 3);
    post_expect(TESTSRV_TOKEN_SUP1, act, v, big, 400);
    /* unknown decision and bad id */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/frobnicate", path);
    post_expect(TESTSRV_TOKEN_SUP1, bad, v, "{}", 404);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/pur_%21x/veto", v, "{\"reason\":\"x\"}", 400);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/pur_999999/veto", v, "{\"reason\":\"x\"}", 404);
    /* the purchase is still pending after all of that */
    char *b = testsrv_get_ok(&srv, path);
    char st[32];
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "pending_approval");
    assert_int_equal(testjson_int(b, "version"), v);
    free(b);
}

static void test_cap_reopens_with_enforced_limits(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], act[160];
    pending(&t, pur, path);
    long long v = testsrv_version_of(&srv, path);
    snprintf(act, sizeof act, "%s/cap", path);
    testhttp_resp r;
    post_expect(TESTSRV_TOKEN_SUP1, act, v, "{\"reason\":\"x\"}", 400);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v,
                                  "{\"max_unit_price_minor\":40000,\"reason\":\"cheaper\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char st[32], neg[72], mpath[160];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_string_equal(st, "capped");
    assert_int_equal(testjson_int(r.body, "decision.cap.max_unit_price_minor"), 40000);
    assert_true(testjson_str(r.body, "negotiation_id", neg, sizeof neg));
    testhttp_resp_free(&r);
    snprintf(mpath, sizeof mpath, "/v1/negotiations/%s", neg);
    char *b = testsrv_get_ok(&srv, mpath);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "open");
    assert_int_equal(testjson_int(b, "cap.max_unit_price_minor"), 40000);
    free(b);
    snprintf(mpath, sizeof mpath, "/v1/negotiations/%s/messages", neg);
    assert_int_equal(testsrv_post(&srv, t.buyer_token, mpath, 0,
                                  "{\"kind\":\"offer\",\"unit_price_minor\":41000,\"quantity\":2,"
                                  "\"text\":\"x\"}",
                                  &r),
                     0);
    assert_int_equal(r.status, 409);
    char code[32], msg[256];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "cap_exceeded");
    assert_true(testjson_str(r.body, "message", msg, sizeof msg));
    assert_string_equal(msg, "the offer 2 x $410.00 USD is outside the supervisor's cap (unit "
                             "price at most $400.00 USD)");
    testhttp_resp_free(&r);
    /* the thread's system message says the cap in money too */
    b = testsrv_get_ok(&srv, mpath);
    long long nm = testjson_len(b, "items");
    char mp[64], text[300];
    snprintf(mp, sizeof mp, "items.%lld.text", nm - 1);
    assert_true(testjson_str(b, mp, text, sizeof text));
    assert_string_equal(text, "Capped by the supervisor (unit price at most $400.00 USD): "
                              "cheaper. Agree new terms inside the cap to buy.");
    free(b);
    assert_int_equal(testsrv_post(&srv, t.buyer_token, mpath, 0,
                                  "{\"kind\":\"offer\",\"unit_price_minor\":40000,\"quantity\":2,"
                                  "\"text\":\"x\"}",
                                  &r),
                     0);
    assert_int_equal(r.status, 201);
    testhttp_resp_free(&r);
    /* accepting at terms above the cap is refused too */
    assert_int_equal(testsrv_post(&srv, t.seller_token, mpath, 0,
                                  "{\"kind\":\"accept\",\"unit_price_minor\":45000,\"text\":\"x\"}",
                                  &r),
                     0);
    assert_int_equal(r.status, 409);
    testhttp_resp_free(&r);
    assert_int_equal(
        testsrv_post(&srv, t.seller_token, mpath, 0, "{\"kind\":\"accept\",\"text\":\"fine\"}", &r),
        0);
    assert_int_equal(r.status, 201);
    char pur2[72];
    assert_true(testjson_str(r.body, "purchase.id", pur2, sizeof pur2));
    assert_string_not_equal(pur2, pur);
    assert_int_equal(testjson_int(r.body, "purchase.total_minor"), 80000);
    testhttp_resp_free(&r);
}

static void test_refund_only_settled(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], act[160];
    pending(&t, pur, path);
    long long v = testsrv_version_of(&srv, path);
    snprintf(act, sizeof act, "%s/refund", path);
    testhttp_resp r;
    post_expect(TESTSRV_TOKEN_SUP1, act, v, "{\"reason\":\"x\"}", 409);
    char ap[160];
    snprintf(ap, sizeof ap, "%s/approve", path);
    assert_int_equal(
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, ap, v, "{\"expected_total_minor\":90000}", &r), 0);
    assert_int_equal(r.status, 200);
    v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP2, act, v, "{\"reason\":\"damaged\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char st[32];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_string_equal(st, "refunded");
    testhttp_resp_free(&r);
    char apath[128];
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    char *b = testsrv_get_ok(&srv, apath);
    assert_int_equal(testjson_int(b, "spent_minor"), 0);
    free(b);
    b = testsrv_get_ok(&srv, "/v1/snapshot");
    char acct[100];
    snprintf(acct, sizeof acct, "ledger.balances.agent:%s", t.buyer_id);
    assert_int_equal(testjson_int(b, acct), 0);
    free(b);
    /* every ledger entry balances */
    b = testsrv_get_ok(&srv, "/v1/ledger?limit=1000");
    for (long long i = 0; i < testjson_len(b, "items"); i++) {
        char p[64];
        long long sum = 0;
        for (int k = 0; k < 2; k++) {
            snprintf(p, sizeof p, "items.%lld.postings.%d.amount_minor", i, k);
            sum += testjson_int(b, p);
        }
        assert_int_equal(sum, 0);
    }
    free(b);
}

static void test_negotiation_hold_release_veto_cap(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char body[256], neg[72], npath[128], act[160], mpath[160];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"hi\"}",
             t.listing_id);
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, t.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_true(testjson_str(r.body, "negotiation.id", neg, sizeof neg));
    testhttp_resp_free(&r);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    snprintf(mpath, sizeof mpath, "%s/messages", npath);

    snprintf(act, sizeof act, "%s/release", npath);
    assert_int_equal(
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{}", &r), 0);
    assert_int_equal(r.status, 409); /* not held */
    testhttp_resp_free(&r);
    snprintf(act, sizeof act, "%s/hold", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{\"reason\":\"look\"}",
                200);
    assert_int_equal(testsrv_post(&srv, t.seller_token, mpath, 0,
                                  "{\"kind\":\"counter\",\"unit_price_minor\":48000,\"quantity\":1,"
                                  "\"text\":\"x\"}",
                                  &r),
                     0);
    assert_int_equal(r.status, 409);
    testhttp_resp_free(&r);
    snprintf(act, sizeof act, "%s/cap", npath);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath),
                                  "{\"max_quantity\":1}", &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(testjson_int(r.body, "cap.max_quantity"), 1);
    assert_true(testjson_null(r.body, "cap.max_unit_price_minor"));
    testhttp_resp_free(&r);
    snprintf(act, sizeof act, "%s/release", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{}", 200);
    assert_int_equal(testsrv_post(&srv, t.seller_token, mpath, 0,
                                  "{\"kind\":\"counter\",\"unit_price_minor\":48000,\"quantity\":2,"
                                  "\"text\":\"x\"}",
                                  &r),
                     0);
    assert_int_equal(r.status, 409); /* over the quantity cap */
    testhttp_resp_free(&r);
    snprintf(act, sizeof act, "%s/veto", npath);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath),
                                  "{\"reason\":\"no\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char st[32];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_string_equal(st, "vetoed");
    testhttp_resp_free(&r);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"?\"}", 409);
}

static void test_agent_pause_resume_limits(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char apath[128], act[160], body[256];
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    testhttp_resp r;
    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"odd\"}",
                200);
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"hi\"}",
             t.listing_id);
    assert_int_equal(testsrv_post(&srv, t.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_int_equal(r.status, 403);
    char code[32];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "agent_paused");
    testhttp_resp_free(&r);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"odd\"}",
                409);
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200);
    post_expect(t.buyer_token, "/v1/negotiations", 0, body, 201);
    snprintf(act, sizeof act, "%s/limits", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 400);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"max_quantity\":-1}",
                400);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath),
                                  "{\"max_quantity\":5,\"per_deal_max_minor\":123}", &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(testjson_int(r.body, "limits.max_quantity"), 5);
    assert_int_equal(testjson_int(r.body, "limits.per_deal_max_minor"), 123);
    assert_int_equal(testjson_int(r.body, "limits.spend_cap_minor"), 100000000);
    testhttp_resp_free(&r);
}

static void test_fleet_halt_and_resume(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char body[256], neg[72], npath[128];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"hi\"}",
             t.listing_id);
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, t.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_true(testjson_str(r.body, "negotiation.id", neg, sizeof neg));
    testhttp_resp_free(&r);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&srv), "{}", &r),
                     0);
    assert_int_equal(r.status, 400); /* reason required */
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&srv), "{\"reason\":\"stop\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char st[32];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_string_equal(st, "halted");
    testhttp_resp_free(&r);
    char *b = testsrv_get_ok(&srv, npath);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "held");
    free(b);
    assert_int_equal(testsrv_post(&srv, t.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_int_equal(r.status, 409);
    char code[32];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "fleet_halted");
    testhttp_resp_free(&r);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"stop\"}", 409);
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200);
    b = testsrv_get_ok(&srv, npath);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "open");
    free(b);
    char apath[128];
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    b = testsrv_get_ok(&srv, apath);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "active");
    free(b);
    post_expect(t.buyer_token, "/v1/negotiations", 0, body, 201);
}

static void test_alert_ack(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char pur[72];
    /* quantity 200 > max_quantity 100: a critical flag and its alert */
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 200, pur), 0);
    char *b = testsrv_get_ok(&srv, "/v1/alerts?status=open&limit=1000");
    char id[72] = "";
    for (long long i = 0; i < testjson_len(b, "items"); i++) {
        char p[64], sid[72];
        snprintf(p, sizeof p, "items.%lld.subject.id", i);
        if (testjson_str(b, p, sid, sizeof sid) && strcmp(sid, pur) == 0) {
            snprintf(p, sizeof p, "items.%lld.id", i);
            assert_true(testjson_str(b, p, id, sizeof id));
        }
    }
    free(b);
    assert_true(id[0]);
    char apath[128], act[160];
    snprintf(apath, sizeof apath, "/v1/alerts/%s", id);
    snprintf(act, sizeof act, "%s/ack", apath);
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath),
                                  "{\"note\":\"seen\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    char who[32];
    assert_true(testjson_str(r.body, "acked_by", who, sizeof who));
    assert_string_equal(who, "sup1");
    testhttp_resp_free(&r);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 409);
}

static void test_expiry_at_decide_by(void **state)
{
    (void)state;
    testsrv fast;
    assert_int_equal(testsrv_start(&fast, "--decide-timeout 1"), 0);
    testsrv_market t;
    char pur[72], path[128], act[160];
    assert_int_equal(testsrv_market_setup(&fast, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&fast, &t, 45000, 2, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_true(testsrv_wait_status(&fast, path, "expired"));
    testhttp_resp r;
    assert_int_equal(testsrv_get(&fast, TESTSRV_TOKEN_SUP1, path, &r), 0);
    char a[32], neg[72];
    assert_true(testjson_str(r.body, "decision.action", a, sizeof a));
    assert_string_equal(a, "expire");
    assert_true(testjson_str(r.body, "negotiation_id", neg, sizeof neg));
    long long v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    snprintf(act, sizeof act, "%s/approve", path);
    assert_int_equal(
        testsrv_post(&fast, TESTSRV_TOKEN_SUP1, act, v, "{\"expected_total_minor\":90000}", &r), 0);
    assert_int_equal(r.status, 409);
    testhttp_resp_free(&r);
    char npath[128];
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    assert_true(testsrv_wait_status(&fast, npath, "expired"));
    testsrv_stop(&fast);
}

/* POSTs body to path as sup1 (no If-Match) and asserts the answer: status, and the
 * error's message and field (field NULL: none). */
static void post_error(const char *path, const char *body, long status, const char *message,
                       const char *field)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, 0, body, &r), 0);
    assert_int_equal(r.status, status);
    char got[200] = "";
    assert_true(testjson_str(r.body, "message", got, sizeof got));
    assert_string_equal(got, message);
    got[0] = '\0';
    assert_int_equal(testjson_str(r.body, "field", got, sizeof got), field != NULL);
    if (field)
        assert_string_equal(got, field);
    testhttp_resp_free(&r);
}

/* The decision table's routes (marketd/decide.c): an action a subject does not have is
 * "no such decision", except on alerts; a path of the wrong length is "no such
 * endpoint"; the body is read before the id is. */
static void test_decision_routes(void **state)
{
    (void)state;
    post_error("/v1/purchases/pur_1/frobnicate", "{}", 404, "no such decision", NULL);
    post_error("/v1/negotiations/neg_1/approve", "{}", 404, "no such decision", NULL);
    post_error("/v1/agents/agt_1/ack", "{}", 404, "no such decision", NULL);
    post_error("/v1/fleet/pause", "{}", 404, "no such decision", NULL);
    post_error("/v1/alerts/alr_1/close", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/fleet/halt/now", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/fleet", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/purchases/pur_1", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/agents/agt_1", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/ledger/led_1/refund", "{}", 404, "no such endpoint", NULL);
    post_error("/v1/purchases/nope/veto", "{}", 400, "reason is required", "reason");
    post_error("/v1/purchases/nope/veto", "{\"reason\":\"r\"}", 400, "not a valid purchase id",
               "id");
    post_error("/v1/negotiations/neg_999999/release", "{}", 404, "no such negotiation", NULL);
    post_error("/v1/agents/agt_1/limits", "{}", 400, "give at least one limit", "spend_cap_minor");
    post_error("/v1/fleet/resume", "{}", 428, "If-Match: \"<version>\" is required", "If-Match");
}

/* Asserts an error answer's code and (when given) message, and that its current object's
 * field holds want. */
static void expect_error(testhttp_resp *r, long status, const char *code, const char *message,
                         const char *field, const char *want)
{
    char got[300] = "";
    assert_int_equal(r->status, status);
    assert_true(testjson_str(r->body, "error", got, sizeof got));
    assert_string_equal(got, code);
    if (message) {
        assert_true(testjson_str(r->body, "message", got, sizeof got));
        assert_string_equal(got, message);
    }
    assert_true(testjson_str(r->body, field, got, sizeof got));
    assert_string_equal(got, want);
    testhttp_resp_free(r);
}

/* Review finding 4 (tests/integration/test_rev_market.c on rev-review): the spending cap
 * holds at approval, on the buyer's spending as it is then. Two purchases, each inside a
 * $1,500 cap alone and without flags: the first approval settles, the second is 409
 * budget_exceeded (in money, with the purchase still pending) and nothing moves; after
 * the supervisor raises the cap it approves. */
static void test_spend_cap_checked_at_approval(void **state)
{
    (void)state;
    testsrv_market m;
    assert_int_equal(testsrv_market_setup(&srv, &m, 1000), 0);
    char path[160], p1[72], p2[72], body[200];
    snprintf(path, sizeof path, "/v1/agents/%s", m.buyer_id);
    snprintf(body, sizeof body, "%s/limits", path);
    post_expect(TESTSRV_TOKEN_SUP1, body, testsrv_version_of(&srv, path),
                "{\"spend_cap_minor\":150000}", 200);
    assert_int_equal(testsrv_market_purchase(&srv, &m, 50000, 2, p1), 0); /* $1,000 */
    assert_int_equal(testsrv_market_purchase(&srv, &m, 45000, 2, p2), 0); /* $900 */
    const char *ps[] = {p1, p2};
    testhttp_resp r;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/v1/purchases/%s", ps[i]);
        char *b = testsrv_get_ok(&srv, path);
        assert_int_equal(testjson_len(b, "flags"), 0);
        long long v = testjson_int(b, "version"), total = testjson_int(b, "total_minor");
        free(b);
        snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", total);
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", ps[i]);
        assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, v, body, &r), 0);
        if (i == 0) {
            assert_int_equal(r.status, 200);
            testhttp_resp_free(&r);
        } else {
            expect_error(&r, 409, "budget_exceeded",
                         "spent $1,000.00 USD + total $900.00 USD is over the $1,500.00 USD "
                         "spending cap",
                         "current.status", "pending_approval");
        }
    }
    snprintf(path, sizeof path, "/v1/agents/%s", m.buyer_id);
    char *b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "spent_minor"), 100000);
    free(b);
    /* a person raises the cap and approves: now it settles */
    char lim[200];
    snprintf(lim, sizeof lim, "%s/limits", path);
    post_expect(TESTSRV_TOKEN_SUP1, lim, testsrv_version_of(&srv, path),
                "{\"spend_cap_minor\":200000}", 200);
    snprintf(path, sizeof path, "/v1/purchases/%s", p2);
    snprintf(lim, sizeof lim, "%s/approve", path);
    post_expect(TESTSRV_TOKEN_SUP1, lim, testsrv_version_of(&srv, path),
                "{\"expected_total_minor\":90000}", 200);
    snprintf(path, sizeof path, "/v1/agents/%s", m.buyer_id);
    b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "spent_minor"), 190000);
    free(b);
}

/* A purchase below the approval threshold that would take the buyer past its cap does not
 * settle by itself: the budget rule flags it (critical) and it waits for a person. */
static void test_automatic_settlement_within_cap(void **state)
{
    (void)state;
    testsrv_market m;
    assert_int_equal(testsrv_market_setup(&srv, &m, 1000000), 0);
    char path[160], pur[72];
    snprintf(path, sizeof path, "/v1/agents/%s", m.buyer_id);
    char lim[200];
    snprintf(lim, sizeof lim, "%s/limits", path);
    post_expect(TESTSRV_TOKEN_SUP1, lim, testsrv_version_of(&srv, path),
                "{\"spend_cap_minor\":150000}", 200);
    assert_int_equal(testsrv_market_purchase(&srv, &m, 50000, 2, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    char *b = testsrv_get_ok(&srv, path), st[32], rule[32];
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "settled");
    free(b);
    assert_int_equal(testsrv_market_purchase(&srv, &m, 45000, 2, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    b = testsrv_get_ok(&srv, path);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "pending_approval");
    assert_true(testjson_str(b, "flags.0.rule", rule, sizeof rule));
    assert_string_equal(rule, "budget");
    free(b);
    snprintf(path, sizeof path, "/v1/agents/%s", m.buyer_id);
    b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "spent_minor"), 100000);
    free(b);
}

/* Review finding 5: a fleet halt or resume holds only for the version the operator saw.
 * Without If-Match: 428; a resume decided on one halt, after a resume and a second halt
 * for another reason: 412 with the fleet as it is (halted for incident 2). */
static void test_fleet_decisions_conditional(void **state)
{
    (void)state;
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", 0,
                                  "{\"reason\":\"incident 1\"}", &r),
                     0);
    expect_error(&r, 428, "precondition_required", NULL, "current.status", "running");
    long long v = testsrv_fleet_version(&srv);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", v, "{\"reason\":\"incident 1\"}", 200);
    long long seen = testsrv_fleet_version(&srv); /* sup2's resume box shows incident 1 */
    assert_int_equal(seen, v + 1);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", seen, "{}", 200);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", seen + 1,
                "{\"reason\":\"incident 2: card fraud\"}", 200);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", seen, "{}", &r), 0);
    expect_error(&r, 412, "precondition_failed", NULL, "current.reason", "incident 2: card fraud");
    char *b = testsrv_get_ok(&srv, "/v1/fleet");
    char st[32];
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "halted");
    free(b);
    /* the current version resumes; a resume of the running fleet at its version is 409 */
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", seen + 2, "{}", 200);
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", seen + 3, "{}", 409);
}

/* POSTs body to path as sup1 with key, If-Match: version (when > 0) and, when epoch is
 * not NULL, If-Epoch: epoch. */
static void post_bound(const char *path, const char *key, long long version, const char *epoch,
                       const char *body, testhttp_resp *r)
{
    char url[512], k[96], ifm[48], ife[96];
    snprintf(url, sizeof url, "%s%s", srv.url, path);
    snprintf(k, sizeof k, "Idempotency-Key: %s", key);
    snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"", version);
    snprintf(ife, sizeof ife, "If-Epoch: %s", epoch ? epoch : "");
    const char *hdrs[4] = {k, NULL, NULL, NULL};
    int n = 1;
    if (version > 0)
        hdrs[n++] = ifm;
    if (epoch)
        hdrs[n++] = ife;
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, hdrs, body, r), 0);
}

/* If-Epoch binds a decision to a market: another epoch is 412 epoch_mismatch with the
 * market's epoch, before anything else (a key already used is not replayed, a stale
 * If-Match is not looked at), and nothing changes; the market's own epoch, or none, is
 * taken as always. */
static void test_if_epoch_mismatch_refused_first(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], path[128], epoch[65], key[48], cur[65] = "", st[32] = "";
    pending(&t, pur, path);
    char *h = testsrv_get_ok(&srv, "/v1/health");
    assert_true(testjson_str(h, "epoch", epoch, sizeof epoch));
    free(h);
    char apath[160];
    snprintf(apath, sizeof apath, "%s/approve", path);
    testsrv_key(key);
    testhttp_resp r = {0};
    /* Another market's epoch: refused, whatever the rest says. */
    post_bound(apath, key, 1, "00000000deadbeef", "{\"expected_total_minor\":90000}", &r);
    assert_int_equal(r.status, 412);
    assert_non_null(strstr(r.body, "\"epoch_mismatch\""));
    assert_true(testjson_str(r.body, "epoch", cur, sizeof cur));
    assert_string_equal(cur, epoch);
    assert_true(testjson_str(r.body, "field", st, sizeof st));
    assert_string_equal(st, "If-Epoch");
    testhttp_resp_free(&r);
    post_bound(apath, key, 99, "0", "{\"expected_total_minor\":1}", &r); /* stale too */
    assert_int_equal(r.status, 412);
    assert_non_null(strstr(r.body, "\"epoch_mismatch\""));
    testhttp_resp_free(&r);
    char *b = testsrv_get_ok(&srv, path);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "pending_approval");
    free(b);
    /* This market's epoch: applied (the key was left free by the refusals). */
    post_bound(apath, key, 1, epoch, "{\"expected_total_minor\":90000}", &r);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    /* Its replay under another epoch: refused before the idempotency lookup. */
    post_bound(apath, key, 1, "00000000deadbeef", "{\"expected_total_minor\":90000}", &r);
    assert_int_equal(r.status, 412);
    assert_non_null(strstr(r.body, "\"epoch_mismatch\""));
    assert_null(testhttp_header(&r, "Idempotent-Replayed", st, sizeof st));
    testhttp_resp_free(&r);
    /* Without If-Epoch (curl): the replay as before. */
    post_bound(apath, key, 1, NULL, "{\"expected_total_minor\":90000}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(testhttp_header(&r, "Idempotent-Replayed", st, sizeof st));
    testhttp_resp_free(&r);
    /* The fleet too (no If-Match): refused, the fleet still running. */
    testsrv_key(key);
    post_bound("/v1/fleet/halt", key, 0, "00000000deadbeef", "{\"reason\":\"x\"}", &r);
    assert_int_equal(r.status, 412);
    testhttp_resp_free(&r);
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "running");
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approve_settles_with_preconditions),
        cmocka_unit_test(test_idempotency_replay_and_mismatch),
        cmocka_unit_test(test_veto_needs_reason_and_roles),
        cmocka_unit_test(test_cap_reopens_with_enforced_limits),
        cmocka_unit_test(test_refund_only_settled),
        cmocka_unit_test(test_negotiation_hold_release_veto_cap),
        cmocka_unit_test(test_agent_pause_resume_limits),
        cmocka_unit_test(test_fleet_halt_and_resume),
        cmocka_unit_test(test_alert_ack),
        cmocka_unit_test(test_expiry_at_decide_by),
        cmocka_unit_test(test_decision_routes),
        cmocka_unit_test(test_if_epoch_mismatch_refused_first),
        cmocka_unit_test(test_spend_cap_checked_at_approval),
        cmocka_unit_test(test_automatic_settlement_within_cap),
        cmocka_unit_test(test_fleet_decisions_conditional),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
