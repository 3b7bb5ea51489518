/* test_marketd_disputes.c: disputes after a sale against a real marketd (issue 17).
 *
 * POST /v1/purchases/{id}/disputes (a party or a supervisor, on a settled purchase,
 * within the window, one open at a time, the claim at most what is left unrefunded),
 * /v1/disputes/{id}/respond (the other party; both agents when a supervisor opened it),
 * /v1/disputes/{id}/accept-offer (the opener), /v1/disputes/{id}/resolve (a supervisor's
 * decision: If-Match, Idempotency-Key, If-Epoch, a Decision recorded); refunds post
 * reversing ledger entries and the ledger stays balanced; respond_by passing marks the
 * dispute unanswered with an alert; the dispute_burst rule; agents see their own; the
 * fleet's disputes are labelled in GET /v1/sim/faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
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

/* A purchase of 2 x 45000 on s between t's buyer and seller, approved by sup1: settled. */
static void settled(testsrv *s, testsrv_market *t, char pur[72])
{
    assert_int_equal(testsrv_market_purchase(s, t, 45000, 2, pur), 0);
    char path[128], act[160];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    snprintf(act, sizeof act, "%s/approve", path);
    char *p = testsrv_post_want(s, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(s, path),
                                "{\"expected_total_minor\":90000}", 200);
    testjson_want_str(p, "status", "settled");
    free(p);
}

/* Opens a dispute on pur as token with claim, wanting status want: the answer (owned). */
static char *open_dispute(testsrv *s, const char *token, const char *pur, const char *reason,
                          long long claim, long want)
{
    char path[128], body[256];
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", pur);
    snprintf(body, sizeof body,
             "{\"reason\":\"%s\",\"claim_minor\":%lld,\"text\":\"it never came\"}", reason, claim);
    return testsrv_post_want(s, token, path, 0, body, want);
}

/* POSTs body to /v1/disputes/{id}/{action} as token (If-Match: version when > 0). */
static char *dispute_post(testsrv *s, const char *token, const char *id, const char *action,
                          long long version, const char *body, long want)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/disputes/%s/%s", id, action);
    return testsrv_post_want(s, token, path, version, body, want);
}

/* GETs /v1/{plural}/{id} on s as sup1: the body (owned). */
static char *get(testsrv *s, const char *plural, const char *id)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/%s/%s", plural, id);
    return testsrv_get_ok(s, path);
}

/* Asserts that the ledger's balances sum to zero and returns agent's balance. */
static long long balanced(testsrv *s, const char *agent)
{
    char *snap = testsrv_get_ok(s, "/v1/snapshot");
    json_t *j = json_loads(snap, 0, NULL);
    free(snap);
    assert_non_null(j);
    json_t *bal = json_object_get(json_object_get(j, "ledger"), "balances");
    const char *k;
    json_t *v;
    long long sum = 0, mine = TESTJSON_NONE;
    char acct[100];
    snprintf(acct, sizeof acct, "agent:%s", agent);
    json_object_foreach(bal, k, v)
    {
        sum += json_integer_value(v);
        if (!strcmp(k, acct))
            mine = json_integer_value(v);
    }
    json_decref(j);
    assert_int_equal(sum, 0);
    return mine;
}

/* How many system messages of neg name dispute id. */
static int notes(testsrv *s, const char *neg, const char *id)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    char *b = testsrv_get_ok(s, path);
    json_t *j = json_loads(b, 0, NULL);
    free(b);
    int n = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j, "items"), i, m)
    {
        const char *text = json_string_value(json_object_get(m, "text"));
        const char *kind = json_string_value(json_object_get(m, "kind"));
        n += kind && !strcmp(kind, "system") && text && strstr(text, id);
    }
    json_decref(j);
    return n;
}

/* Whether the list at path (as token) holds an item whose id is id. */
static bool listed(testsrv *s, const char *token, const char *path, const char *id)
{
    char *b = testsrv_list(s, token, path);
    assert_non_null(b);
    char needle[100];
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
    bool found = strstr(b, needle) != NULL;
    free(b);
    return found;
}

/* Reads the event stream after seq until it holds want lines naming text, or 10 s: how
 * many it held. */
typedef struct stream {
    char *raw;
    size_t len;
    const char *text;
    int want;
} stream;
static int count_in(const char *raw, const char *text)
{
    int got = 0;
    for (const char *p = raw; p && (p = strstr(p, text)); p++)
        got++;
    return got;
}
static size_t on_data(char *d, size_t size, size_t n, void *ud)
{
    stream *s = ud;
    char *r = realloc(s->raw, s->len + size * n + 1);
    if (!r)
        return 0;
    memcpy(r + s->len, d, size * n);
    s->len += size * n;
    r[s->len] = '\0';
    s->raw = r;
    return count_in(r, s->text) >= s->want ? 0 : size * n;
}
static int count_events(testsrv *s, long long after, const char *text, int want)
{
    char url[200];
    snprintf(url, sizeof url, "%s/v1/events?after=%lld", s->url, after);
    stream st = {NULL, 0, text, want};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    int got = count_in(st.raw, text);
    free(st.raw);
    return got;
}

/* Open, respond with an offer, accept it: a partial refund, the purchase still settled,
 * the ledger balanced, a system message each step, dispute.updated each step. */
static void test_open_respond_accept_offer(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], id[72], neg[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    settled(&srv, &t, pur);
    long long seq0 = testsrv_seq(&srv);

    char *d = open_dispute(&srv, t.buyer_token, pur, "not_received", 90000, 201);
    assert_true(testjson_str(d, "id", id, sizeof id));
    assert_true(testjson_str(d, "negotiation_id", neg, sizeof neg));
    assert_int_equal(strncmp(id, "dsp_", 4), 0);
    testjson_want_str(d, "purchase_id", pur);
    testjson_want_str(d, "opened_by", t.buyer_id);
    testjson_want_str(d, "buyer_id", t.buyer_id);
    testjson_want_str(d, "seller_id", t.seller_id);
    testjson_want_str(d, "reason", "not_received");
    testjson_want_str(d, "status", "open");
    testjson_want_str(d, "currency", "USD");
    testjson_want_str(d, "text", "it never came");
    assert_int_equal(testjson_int(d, "claim_minor"), 90000);
    assert_int_equal(testjson_int(d, "version"), 1);
    assert_true(testjson_null(d, "response"));
    assert_true(testjson_null(d, "resolution"));
    assert_int_equal(testjson_len(d, "responses"), 0);
    char by[40], created[40];
    assert_true(testjson_str(d, "respond_by", by, sizeof by));
    assert_true(testjson_str(d, "created_at", created, sizeof created));
    assert_true(strcmp(by, created) > 0);
    free(d);
    char *p = get(&srv, "purchases", pur);
    testjson_want_str(p, "dispute_id", id);
    assert_int_equal(testjson_int(p, "refunded_minor"), 0);
    free(p);
    assert_int_equal(notes(&srv, neg, id), 1);

    /* a second one while it is open: 409 with it; accept-offer with no offer: 409 */
    d = open_dispute(&srv, t.seller_token, pur, "other", 100, 409);
    testjson_want_str(d, "current.id", id);
    free(d);
    d = dispute_post(&srv, t.buyer_token, id, "accept-offer", 0, "{}", 409);
    free(d);
    /* the opener does not respond, nor does a supervisor; a second response is refused */
    free(dispute_post(&srv, t.buyer_token, id, "respond", 0, "{\"text\":\"me\"}", 403));
    free(dispute_post(&srv, TESTSRV_TOKEN_SUP1, id, "respond", 0, "{\"text\":\"me\"}", 403));
    free(dispute_post(&srv, t.seller_token, id, "respond", 0,
                      "{\"text\":\"sorry\",\"offer_minor\":90001}", 400)); /* over the claim */
    d = dispute_post(&srv, t.seller_token, id, "respond", 0,
                     "{\"text\":\"shipped, but here is a goodwill offer\",\"offer_minor\":30000}",
                     200);
    testjson_want_str(d, "status", "responded");
    testjson_want_str(d, "response.by", t.seller_id);
    assert_int_equal(testjson_int(d, "response.offer_minor"), 30000);
    assert_int_equal(testjson_len(d, "responses"), 1);
    free(d);
    free(dispute_post(&srv, t.seller_token, id, "respond", 0, "{\"text\":\"again\"}", 409));
    assert_int_equal(notes(&srv, neg, id), 2);

    /* only the opener accepts; not while the fleet is halted (money moves) */
    free(dispute_post(&srv, t.seller_token, id, "accept-offer", 0, "{}", 403));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                           "{\"reason\":\"look first\"}", 200));
    d = dispute_post(&srv, t.buyer_token, id, "accept-offer", 0, "{}", 409);
    testjson_want_str(d, "error", "fleet_halted");
    free(d);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume",
                           testsrv_fleet_version(&srv), "{}", 200));
    d = dispute_post(&srv, t.buyer_token, id, "accept-offer", 0, "{}", 200);
    testjson_want_str(d, "status", "resolved");
    testjson_want_str(d, "resolution.outcome", "partial_refund");
    testjson_want_str(d, "resolution.via", "offer");
    testjson_want_str(d, "resolution.by", t.buyer_id);
    assert_int_equal(testjson_int(d, "resolution.amount_minor"), 30000);
    free(d);
    free(dispute_post(&srv, t.buyer_token, id, "accept-offer", 0, "{}", 409)); /* resolved */
    assert_int_equal(notes(&srv, neg, id), 3);

    p = get(&srv, "purchases", pur);
    testjson_want_str(p, "status", "settled");
    assert_int_equal(testjson_int(p, "refunded_minor"), 30000);
    free(p);
    assert_int_equal(balanced(&srv, t.buyer_id), -60000);
    assert_int_equal(balanced(&srv, t.seller_id), 60000);
    char *agent = get(&srv, "agents", t.buyer_id);
    assert_int_equal(testjson_int(agent, "spent_minor"), 60000);
    free(agent);
    /* the refund entry: kind refund, 30000 back to the buyer */
    char q[160];
    snprintf(q, sizeof q, "/v1/ledger?q=%s", pur);
    char *l = testsrv_list(&srv, TESTSRV_TOKEN_SUP1, q);
    assert_non_null(l);
    assert_non_null(strstr(l, "\"kind\":\"refund\""));
    assert_non_null(strstr(l, "\"amount_minor\":30000"));
    free(l);
    /* dispute.updated for the opening, the response and the resolution */
    assert_int_equal(count_events(&srv, seq0, "\"type\":\"dispute.updated\"", 3), 3);
}

/* The opening's refusals: not settled, bad bodies, wrong party, viewers, unknown ids. */
static void test_open_refusals(void **state)
{
    (void)state;
    testsrv_market t, other;
    char pending[72], pur[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_setup(&srv, &other, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 2, pending), 0);
    char *d = open_dispute(&srv, t.buyer_token, pending, "not_received", 100, 409);
    testjson_want_str(d, "current.status", "pending_approval");
    free(d);
    settled(&srv, &t, pur);
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", pur);
    const char *bad[] = {
        "{\"reason\":\"bored\",\"claim_minor\":100,\"text\":\"x\"}",
        "{\"reason\":\"other\",\"claim_minor\":0,\"text\":\"x\"}",
        "{\"reason\":\"other\",\"text\":\"x\"}",
        "{\"reason\":\"other\",\"claim_minor\":100}",
        "{\"reason\":\"other\",\"claim_minor\":100,\"text\":\"\"}",
        "{\"reason\":\"other\",\"claim_minor\":\"100\",\"text\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        free(testsrv_post_want(&srv, t.buyer_token, path, 0, bad[i], 400));
    d = open_dispute(&srv, t.buyer_token, pur, "wrong_quantity", 90001, 400); /* over the total */
    testjson_want_str(d, "field", "claim_minor");
    free(d);
    free(open_dispute(&srv, other.buyer_token, pur, "other", 100, 403)); /* not a party */
    free(open_dispute(&srv, TESTSRV_TOKEN_VIEW1, pur, "other", 100, 403));
    free(open_dispute(&srv, TESTSRV_TOKEN_SUP1, "pur_999999", "other", 100, 404));
    free(open_dispute(&srv, TESTSRV_TOKEN_SUP1, "dsp_1", "other", 100, 400));
    free(dispute_post(&srv, TESTSRV_TOKEN_SUP1, "dsp_999999", "resolve", 1,
                      "{\"outcome\":\"rejected\",\"reason\":\"x\"}", 404));
    free(dispute_post(&srv, t.buyer_token, "dsp_999999", "respond", 0, "{\"text\":\"x\"}", 404));

    /* refunded in full by a supervisor's refund: no dispute any more */
    char act[160];
    snprintf(act, sizeof act, "/v1/purchases/%s/refund", pur);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    char *p = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path),
                                "{\"reason\":\"goodwill\"}", 200);
    testjson_want_str(p, "status", "refunded");
    assert_int_equal(testjson_int(p, "refunded_minor"), 90000);
    free(p);
    d = open_dispute(&srv, t.buyer_token, pur, "other", 100, 409);
    testjson_want_str(d, "current.status", "refunded");
    free(d);
    balanced(&srv, t.buyer_id);
}

/* POSTs a resolve of dispute id with an explicit key, If-Match version and If-Epoch
 * (NULL: none), answering into r. */
static void resolve_raw(const char *id, long long version, const char *key, const char *epoch,
                        const char *body, testhttp_resp *r)
{
    char url[256], kh[100], im[64], ep[100];
    snprintf(url, sizeof url, "%s/v1/disputes/%s/resolve", srv.url, id);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    snprintf(im, sizeof im, "If-Match: \"%lld\"", version);
    snprintf(ep, sizeof ep, "If-Epoch: %s", epoch ? epoch : "");
    const char *h[] = {kh, im, epoch ? ep : NULL, NULL};
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, h, body, r), 0);
}

/* A supervisor opens; both agents respond; resolve as a decision: its refusals, If-Match,
 * If-Epoch, the idempotent replay, the Decision; then a second dispute for the rest,
 * refunded in full: the purchase refunded; a rejection refunds nothing. */
static void test_resolve_decision(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72], id[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    settled(&srv, &t, pur);
    char *d = open_dispute(&srv, TESTSRV_TOKEN_SUP1, pur, "not_as_described", 50000, 201);
    assert_true(testjson_str(d, "id", id, sizeof id));
    testjson_want_str(d, "opened_by", "operator:sup1");
    free(d);
    free(dispute_post(&srv, t.buyer_token, id, "respond", 0, "{\"text\":\"it was fine\"}", 200));
    d = dispute_post(&srv, t.seller_token, id, "respond", 0, "{\"text\":\"as listed\"}", 200);
    assert_int_equal(testjson_len(d, "responses"), 2);
    testjson_want_str(d, "response.by", t.buyer_id); /* the first */
    long long v = testjson_int(d, "version");
    free(d);
    /* nobody accepts an offer of a supervisor's dispute, and there is none */
    free(dispute_post(&srv, t.buyer_token, id, "accept-offer", 0, "{}", 403));

    const char *partial = "{\"outcome\":\"partial_refund\",\"amount_minor\":20000,"
                          "\"reason\":\"half the box was missing\"}";
    free(dispute_post(&srv, TESTSRV_TOKEN_SUP1, id, "resolve", 0, partial, 428));
    d = dispute_post(&srv, TESTSRV_TOKEN_SUP1, id, "resolve", v + 1, partial, 412);
    assert_int_equal(testjson_int(d, "current.version"), v);
    free(d);
    free(dispute_post(&srv, t.buyer_token, id, "resolve", v, partial, 403));
    free(dispute_post(&srv, TESTSRV_TOKEN_VIEW1, id, "resolve", v, partial, 403));
    const char *bad[] = {
        "{\"outcome\":\"partial_refund\",\"reason\":\"x\"}",
        "{\"outcome\":\"refund\",\"amount_minor\":5,\"reason\":\"x\"}",
        "{\"outcome\":\"maybe\",\"reason\":\"x\"}",
        "{\"outcome\":\"rejected\"}",
        "{\"outcome\":\"partial_refund\",\"amount_minor\":50001,\"reason\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        free(dispute_post(&srv, TESTSRV_TOKEN_SUP1, id, "resolve", v, bad[i], 400));
    testhttp_resp r;
    resolve_raw(id, v, "resolve-other-epoch", "not-this-market", partial, &r);
    assert_int_equal(r.status, 412);
    testjson_want_str(r.body, "error", "epoch_mismatch");
    testhttp_resp_free(&r);

    char epoch[64];
    char *h = testsrv_get_ok(&srv, "/v1/health");
    assert_true(testjson_str(h, "epoch", epoch, sizeof epoch));
    free(h);
    char key[48];
    testsrv_key(key);
    resolve_raw(id, v, key, epoch, partial, &r);
    assert_int_equal(r.status, 200);
    testjson_want_str(r.body, "status", "resolved");
    testjson_want_str(r.body, "resolution.outcome", "partial_refund");
    testjson_want_str(r.body, "resolution.via", "supervisor");
    testjson_want_str(r.body, "resolution.by", "sup1");
    testjson_want_str(r.body, "resolution.reason", "half the box was missing");
    assert_int_equal(testjson_int(r.body, "resolution.amount_minor"), 20000);
    char *first = strdup(r.body);
    testhttp_resp_free(&r);
    long long seq = testsrv_seq(&srv);
    resolve_raw(id, v, key, epoch, partial, &r); /* the same request again: replayed */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, first);
    char rep[16];
    assert_non_null(testhttp_header(&r, "Idempotent-Replayed", rep, sizeof rep));
    testhttp_resp_free(&r);
    free(first);
    assert_int_equal(testsrv_seq(&srv), seq); /* nothing applied twice */
    /* another supervisor deciding on the version it saw before: 412, the resolved dispute */
    d = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, "/v1/disputes/x/resolve", 0, "{}", 400);
    free(d);
    char rpath[160];
    snprintf(rpath, sizeof rpath, "/v1/disputes/%s/resolve", id);
    d = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, rpath, v, partial, 412);
    testjson_want_str(d, "current.status", "resolved");
    free(d);
    d = dispute_post(&srv, TESTSRV_TOKEN_SUP1, id, "resolve", v + 1, partial, 409);
    free(d);

    /* the Decision */
    char *decs = testsrv_get_ok(&srv, "/v1/decisions?sort=newest&limit=5");
    json_t *j = json_loads(decs, 0, NULL);
    free(decs);
    json_t *dec = NULL, *it;
    size_t i;
    json_array_foreach(json_object_get(j, "items"), i, it)
    {
        json_t *subj = json_object_get(it, "subject");
        if (!dec && !strcmp(json_string_value(json_object_get(subj, "id")), id))
            dec = it;
    }
    assert_non_null(dec);
    assert_string_equal(json_string_value(json_object_get(dec, "action")), "resolve");
    assert_string_equal(json_string_value(json_object_get(json_object_get(dec, "subject"), "kind")),
                        "dispute");
    assert_string_equal(json_string_value(json_object_get(dec, "by")), "sup1");
    json_t *params = json_object_get(dec, "params");
    assert_int_equal(json_integer_value(json_object_get(params, "amount_minor")), 20000);
    json_decref(j);

    char *p = get(&srv, "purchases", pur);
    testjson_want_str(p, "status", "settled");
    assert_int_equal(testjson_int(p, "refunded_minor"), 20000);
    free(p);
    assert_int_equal(balanced(&srv, t.buyer_id), -70000);

    /* a second dispute: at most the 70000 left; refunded in full, the purchase refunded */
    free(open_dispute(&srv, t.buyer_token, pur, "not_received", 70001, 400));
    d = open_dispute(&srv, t.buyer_token, pur, "not_received", 70000, 201);
    char id2[72];
    assert_true(testjson_str(d, "id", id2, sizeof id2));
    free(d);
    d = dispute_post(&srv, TESTSRV_TOKEN_SUP1, id2, "resolve", 1,
                     "{\"outcome\":\"refund\",\"reason\":\"never delivered\"}", 200);
    assert_int_equal(testjson_int(d, "resolution.amount_minor"), 70000);
    testjson_want_str(d, "resolution.outcome", "refund");
    free(d);
    p = get(&srv, "purchases", pur);
    testjson_want_str(p, "status", "refunded");
    testjson_want_str(p, "dispute_id", id2);
    assert_int_equal(testjson_int(p, "refunded_minor"), 90000);
    free(p);
    assert_int_equal(balanced(&srv, t.buyer_id), 0);
    assert_int_equal(balanced(&srv, t.seller_id), 0);
    free(open_dispute(&srv, t.buyer_token, pur, "other", 1, 409));

    /* rejected: nothing refunded */
    char pur2[72], id3[72];
    settled(&srv, &t, pur2);
    d = open_dispute(&srv, t.seller_token, pur2, "unauthorized", 90000, 201);
    assert_true(testjson_str(d, "id", id3, sizeof id3));
    free(d);
    d = dispute_post(&srv, TESTSRV_TOKEN_SUP1, id3, "resolve", 1,
                     "{\"outcome\":\"rejected\",\"reason\":\"the buyer did pay\"}", 200);
    testjson_want_str(d, "resolution.outcome", "rejected");
    assert_int_equal(testjson_int(d, "resolution.amount_minor"), 0);
    free(d);
    p = get(&srv, "purchases", pur2);
    testjson_want_str(p, "status", "settled");
    assert_int_equal(testjson_int(p, "refunded_minor"), 0);
    free(p);
    assert_int_equal(balanced(&srv, t.buyer_id), -90000);
}

/* Agents read their own disputes only; the list's filters, sorts and search; the
 * snapshot holds the open ones and the total. */
static void test_reading(void **state)
{
    (void)state;
    testsrv_market t, other;
    char pur[72], id[72], path[160];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_setup(&srv, &other, 0), 0);
    settled(&srv, &t, pur);
    char *d = open_dispute(&srv, t.buyer_token, pur, "wrong_quantity", 1000, 201);
    assert_true(testjson_str(d, "id", id, sizeof id));
    free(d);
    snprintf(path, sizeof path, "/v1/disputes/%s", id);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, other.buyer_token, path, &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, t.seller_token, path, &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    /* an agent of neither side neither responds nor accepts */
    free(dispute_post(&srv, other.seller_token, id, "respond", 0, "{\"text\":\"x\"}", 403));
    free(dispute_post(&srv, other.buyer_token, id, "accept-offer", 0, "{}", 403));

    assert_true(listed(&srv, t.buyer_token, "/v1/disputes", id));
    assert_true(listed(&srv, t.seller_token, "/v1/disputes?status=open", id));
    assert_false(listed(&srv, other.buyer_token, "/v1/disputes", id));
    snprintf(path, sizeof path, "/v1/disputes?party=%s", t.buyer_id);
    assert_int_equal(testsrv_get(&srv, other.buyer_token, path, &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_true(listed(&srv, TESTSRV_TOKEN_SUP1, path, id));
    snprintf(path, sizeof path, "/v1/disputes?party=%s", other.buyer_id);
    assert_false(listed(&srv, TESTSRV_TOKEN_SUP1, path, id));
    assert_false(listed(&srv, TESTSRV_TOKEN_SUP1, "/v1/disputes?status=resolved", id));
    snprintf(path, sizeof path, "/v1/disputes?q=%s", pur);
    assert_true(listed(&srv, TESTSRV_TOKEN_VIEW1, path, id));
    assert_false(listed(&srv, TESTSRV_TOKEN_VIEW1, "/v1/disputes?q=no-such-thing", id));
    const char *sorts[] = {"newest", "updated", "claim", "respond_by"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "/v1/disputes?sort=%s", sorts[i]);
        assert_true(listed(&srv, TESTSRV_TOKEN_SUP1, path, id));
    }
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/disputes?sort=price", &r), 0);
    assert_int_equal(r.status, 400);
    testhttp_resp_free(&r);

    char *snap = testsrv_get_ok(&srv, "/v1/snapshot");
    char needle[100];
    snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
    assert_non_null(strstr(snap, needle));
    assert_true(testjson_int(snap, "history.disputes.total") >= 1);
    free(snap);
}

/* Outside the window (--dispute-window-days 0: none may be opened): 409. */
static void test_window(void **state)
{
    (void)state;
    testsrv s;
    assert_int_equal(testsrv_start(&s, "--decide-timeout 600 --dispute-window-days 0"), 0);
    testsrv_market t;
    char pur[72];
    assert_int_equal(testsrv_market_setup(&s, &t, 0), 0);
    settled(&s, &t, pur);
    char *d = open_dispute(&s, t.buyer_token, pur, "not_received", 100, 409);
    testjson_want_str(d, "current.id", pur);
    free(d);
    testsrv_stop(&s);
}

/* Waits (10 s at most) until the dispute at path is marked unanswered. */
static bool wait_unanswered(testsrv *s, const char *path)
{
    for (int i = 0; i < 500; i++) {
        char *d = testsrv_get_ok(s, path);
        json_t *j = json_loads(d, 0, NULL);
        free(d);
        bool un = json_is_true(json_object_get(j, "unanswered"));
        json_decref(j);
        if (un)
            return true;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return false;
}

/* The number of open alerts of rule about agent (their agent_id) on s. */
static int alerts_of(testsrv *s, const char *rule, const char *agent)
{
    char *b = testsrv_list(s, TESTSRV_TOKEN_SUP1, "/v1/alerts");
    json_t *j = json_loads(b, 0, NULL);
    free(b);
    int n = 0;
    size_t i;
    json_t *a;
    json_array_foreach(j, i, a)
    {
        n += !strcmp(json_string_value(json_object_get(a, "rule")), rule) &&
             !strcmp(json_string_value(json_object_get(a, "agent_id")), agent);
    }
    json_decref(j);
    return n;
}

/* respond_by passes with no response: unanswered, an alert about the seller; a late
 * response still counts. */
static void test_respond_by(void **state)
{
    (void)state;
    testsrv s;
    assert_int_equal(testsrv_start(&s, "--decide-timeout 600 --dispute-respond-seconds 1"), 0);
    testsrv_market t;
    char pur[72], id[72], path[128];
    assert_int_equal(testsrv_market_setup(&s, &t, 0), 0);
    settled(&s, &t, pur);
    char *d = open_dispute(&s, t.buyer_token, pur, "not_received", 5000, 201);
    assert_true(testjson_str(d, "id", id, sizeof id));
    free(d);
    assert_int_equal(alerts_of(&s, "dispute_unanswered", t.seller_id), 0);
    snprintf(path, sizeof path, "/v1/disputes/%s", id);
    assert_true(wait_unanswered(&s, path));
    d = testsrv_get_ok(&s, path);
    testjson_want_str(d, "status", "open");
    free(d);
    assert_int_equal(alerts_of(&s, "dispute_unanswered", t.seller_id), 1);
    d = dispute_post(&s, t.seller_token, id, "respond", 0, "{\"text\":\"late\"}", 200);
    testjson_want_str(d, "status", "responded");
    free(d);
    testsrv_stop(&s);
}

/* Three disputes against one seller within a day: a dispute_burst alert (none before). */
static void test_dispute_burst(void **state)
{
    (void)state;
    testsrv s;
    assert_int_equal(testsrv_start(&s, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&s, &t, 0), 0);
    for (int i = 0; i < 3; i++) {
        char pur[72];
        settled(&s, &t, pur);
        assert_int_equal(alerts_of(&s, "dispute_burst", t.seller_id), 0);
        free(open_dispute(&s, t.buyer_token, pur, "not_as_described", 100, 201));
    }
    assert_int_equal(alerts_of(&s, "dispute_burst", t.seller_id), 1);
    assert_int_equal(alerts_of(&s, "dispute_burst", t.buyer_id), 0);
    testsrv_stop(&s);
}

/* Approves (as sup1) every purchase waiting on s, as a supervisor at the console would,
 * so that deals with faults settle too; refusals (a budget, a race) are left as they
 * are. */
static void approve_waiting(testsrv *s)
{
    char *b = testsrv_list(s, TESTSRV_TOKEN_SUP1, "/v1/purchases?status=pending_approval");
    json_t *j = b ? json_loads(b, 0, NULL) : NULL;
    free(b);
    size_t i;
    json_t *p;
    json_array_foreach(j, i, p)
    {
        char path[160], body[80];
        snprintf(path, sizeof path, "/v1/purchases/%s/approve",
                 json_string_value(json_object_get(p, "id")));
        snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}",
                 (long long)json_integer_value(json_object_get(p, "total_minor")));
        testhttp_resp r;
        testsrv_post(s, TESTSRV_TOKEN_SUP1, path,
                     (long long)json_integer_value(json_object_get(p, "version")), body, &r);
        testhttp_resp_free(&r);
    }
    json_decref(j);
}

/* Checks the fleet's dispute fault f (kind dispute_*) on s: its purchase names a dispute
 * opened by the fault's agent (the buyer) on that purchase. */
static void check_fleet_dispute(testsrv *s, json_t *f)
{
    const char *pid = json_string_value(json_object_get(f, "purchase_id"));
    const char *agent = json_string_value(json_object_get(f, "agent_id"));
    assert_non_null(pid);
    assert_non_null(agent);
    char *p = get(s, "purchases", pid);
    char did[72];
    assert_true(testjson_str(p, "dispute_id", did, sizeof did));
    testjson_want_str(p, "buyer_id", agent);
    free(p);
    char *d = get(s, "disputes", did);
    testjson_want_str(d, "purchase_id", pid);
    testjson_want_str(d, "opened_by", agent);
    free(d);
}

/* The simulated fleet opens disputes with ground truth: justified ones on deals that
 * carried a fault, bad-faith ones from its dishonest buyers, each labelled in
 * GET /v1/sim/faults with its purchase; sellers respond. */
static void test_fleet_disputes(void **state)
{
    (void)state;
    testsrv s;
    assert_int_equal(
        testsrv_start(&s, "--fleet 40 --seed 3 --faults 0.3 --rate 20 --decide-timeout 600"), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool justified = false, bad = false, responded = false;
    for (;;) {
        approve_waiting(&s);
        char *b = testsrv_get_ok(&s, "/v1/sim/faults");
        json_t *j = json_loads(b, 0, NULL);
        free(b);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(j, "items"), i, f)
        {
            const char *kind = json_string_value(json_object_get(f, "kind"));
            bool jus = !strcmp(kind, "dispute_justified"), bf = !strcmp(kind, "dispute_bad_faith");
            if (jus || bf)
                check_fleet_dispute(&s, f);
            justified |= jus;
            bad |= bf;
        }
        json_decref(j);
        char *r = testsrv_list(&s, TESTSRV_TOKEN_SUP1, "/v1/disputes");
        responded = responded || (r && strstr(r, "\"responses\":[{"));
        free(r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((justified && bad && responded) || t1.tv_sec - t0.tv_sec > 90)
            break;
        nanosleep(&(struct timespec){0, 250 * 1000000L}, NULL);
    }
    testsrv_stop(&s);
    if (!justified || !bad || !responded)
        fail_msg("after 90 s: a justified dispute %s, a bad-faith one %s, a response %s",
                 justified ? "yes" : "no", bad ? "yes" : "no", responded ? "yes" : "no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_respond_accept_offer),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_resolve_decision),
        cmocka_unit_test(test_reading),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_respond_by),
        cmocka_unit_test(test_dispute_burst),
        cmocka_unit_test(test_fleet_disputes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
