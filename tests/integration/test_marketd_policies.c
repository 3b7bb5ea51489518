/* test_marketd_policies.c: policies against a real marketd (docs/api.md, "Policies").
 *
 * Create and replace with Idempotency-Key and If-Match, enable and disable, each a
 * Decision and a policy.updated event; every condition of a match, each both holding and
 * not; priority order; a critical flag is never approved by a policy; shadow mode
 * records and decides nothing; the hour windows (twenty $49 purchases against a $50
 * rule); the backtest's counts, totals, differences and overridden approvals; viewers
 * and agents refused; dealdesk policies export, import (idempotent; an invalid file
 * changes nothing) and list. Each test has a server of its own (policies apply
 * market-wide).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/proc.h"
#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;
static testsrv_market mk;

/* A server and a market (threshold 0: without a policy every purchase waits). */
static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, "--decide-timeout 600") != 0)
        return -1;
    return testsrv_market_setup(&srv, &mk, 0);
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* Creates an enabled policy (body's fields inside {}) and writes its id. */
static void create(const char *fields, char id[72])
{
    char body[2048];
    snprintf(body, sizeof body, "{\"enabled\":true,%s}", fields);
    char *b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0, body, 201);
    assert_true(testjson_str(b, "id", id, 72));
    free(b);
}

/* Disables policy id (at its current version). */
static void disable(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/policies/%s", id);
    char *b = testsrv_get_ok(&srv, path);
    long long v = testjson_int(b, "version");
    free(b);
    snprintf(path, sizeof path, "/v1/policies/%s/disable", id);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, v, "{}", 200));
}

/* The seller lists a bike at price (floor 100: no floor or reference flag at $49) and
 * the buyer buys qty of it at that price: its purchase's JSON (owned). */
static char *buy(long long price, long long qty)
{
    char body[400], path[128], pur[72];
    snprintf(body, sizeof body,
             "{\"title\":\"Bell\",\"category\":\"bikes\",\"unit_price_minor\":%lld,"
             "\"currency\":\"USD\",\"quantity\":1000,\"floor_minor\":100}",
             price);
    char *b = testsrv_post_want(&srv, mk.seller_token, "/v1/listings", 0, body, 201);
    assert_true(testjson_str(b, "id", mk.listing_id, sizeof mk.listing_id));
    free(b);
    assert_int_equal(testsrv_market_purchase(&srv, &mk, price, qty, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    return testsrv_get_ok(&srv, path);
}

/* The status of purchase JSON b into out[32]; frees b. */
static const char *status_of(char *b, char out[32])
{
    assert_true(testjson_str(b, "status", out, 32));
    free(b);
    return out;
}

/* ---- the tests ---- */

/* Reads the event stream after seq until it holds n lines of type, or 10 s. */
typedef struct stream {
    char *raw;
    size_t len;
    const char *type;
    int want;
} stream;
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
    int got = 0;
    for (const char *p = r; (p = strstr(p, s->type)); p++)
        got++;
    return got >= s->want ? 0 : size * n;
}
static int count_events(long long after, const char *type, int want)
{
    char url[200];
    snprintf(url, sizeof url, "%s/v1/events?after=%lld", srv.url, after);
    stream s = {NULL, 0, type, want};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    int got = 0;
    for (const char *p = s.raw; p && (p = strstr(p, type)); p++)
        got++;
    free(s.raw);
    return got;
}

static void test_crud_if_match_idempotency_events(void **state)
{
    (void)state;
    long long seq0 = testsrv_seq(&srv);
    const char *body = "{\"name\":\"small\",\"action\":\"approve\",\"match\":{\"total_max_minor\":"
                       "5000}}";
    const char *k1[] = {"Idempotency-Key: pol-k1", NULL};
    testhttp_resp r, r2;
    char url[200], id[72], path[128];
    snprintf(url, sizeof url, "%s/v1/policies", srv.url);
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, k1, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_true(testjson_str(r.body, "id", id, sizeof id));
    assert_memory_equal(id, "pol_", 4);
    assert_int_equal(testjson_int(r.body, "version"), 1);
    assert_int_equal(testjson_int(r.body, "hits"), 0);
    char s[32];
    assert_true(testjson_str(r.body, "mode", s, sizeof s));
    assert_string_equal(s, "live");
    assert_true(strstr(r.body, "\"enabled\":false") != NULL); /* enabled only when said */
    /* the same key and body: the same answer, replayed; another body: 422 */
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, k1, body, &r2), 0);
    assert_int_equal(r2.status, 201);
    assert_string_equal(r2.body, r.body);
    testhttp_resp_free(&r2);
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, k1, "{\"name\":\"x\"}", &r2), 0);
    assert_int_equal(r2.status, 422);
    testhttp_resp_free(&r2);
    testhttp_resp_free(&r);
    /* bad bodies change nothing */
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0,
                           "{\"action\":\"approve\",\"match\":{}}", 400));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0,
                           "{\"name\":\"v\",\"action\":\"veto\",\"match\":{}}",
                           400)); /* no reason */
    free(testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0,
        "{\"name\":\"v\",\"action\":\"approve\",\"match\":{\"colour\":[\"red\"]}}", 400));
    free(testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0,
        "{\"name\":\"v\",\"action\":\"approve\",\"match\":{\"flags_any\":[\"nope\"]}}", 400));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies", 0, body,
                           409)); /* the name is taken */
    /* replace: If-Match required, checked */
    snprintf(path, sizeof path, "/v1/policies/%s", id);
    const char *rep = "{\"name\":\"small\",\"priority\":7,\"action\":\"review\",\"match\":{}}";
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 0, rep, 428));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 5, rep, 412));
    char *b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 1, rep, 200);
    assert_int_equal(testjson_int(b, "version"), 2);
    assert_int_equal(testjson_int(b, "priority"), 7);
    free(b);
    /* enable, again (409), disable, each conditional */
    snprintf(path, sizeof path, "/v1/policies/%s/enable", id);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 0, "{}", 428));
    b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 2, "{}", 200);
    assert_true(strstr(b, "\"enabled\":true") != NULL);
    free(b);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 3, "{}", 409));
    snprintf(path, sizeof path, "/v1/policies/%s/disable", id);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 2, "{}", 412));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 3, "{}", 200));
    /* the list, the Decisions and the events */
    b = testsrv_get_ok(&srv, "/v1/policies");
    assert_int_equal(testjson_len(b, "items"), 1);
    assert_int_equal(testjson_int(b, "items.0.version"), 4);
    free(b);
    b = testsrv_get_ok(&srv, "/v1/decisions");
    static const char *const acts[] = {"create", "replace", "enable", "disable"};
    int seen = 0;
    for (long long i = 0; i < testjson_len(b, "items"); i++) {
        char k[40], a[32], kind[32];
        snprintf(k, sizeof k, "items.%lld.subject.kind", i);
        if (!testjson_str(b, k, kind, sizeof kind) || strcmp(kind, "policy") != 0)
            continue;
        snprintf(k, sizeof k, "items.%lld.action", i);
        assert_true(testjson_str(b, k, a, sizeof a));
        assert_true(seen < 4);
        assert_string_equal(a, acts[seen++]);
    }
    assert_int_equal(seen, 4);
    free(b);
    assert_int_equal(count_events(seq0, "\"type\":\"policy.updated\"", 4), 4);
}

static void test_viewers_and_agents_refused(void **state)
{
    (void)state;
    const char *body = "{\"name\":\"a\",\"action\":\"approve\",\"match\":{}}";
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_VIEW1, "/v1/policies", 0, body, 403));
    free(testsrv_post_want(&srv, mk.buyer_token, "/v1/policies", 0, body, 403));
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_VIEW1, "/v1/policies/backtest", 0,
                           "{\"policies\":[]}", 403));
    free(testsrv_post_want(&srv, mk.buyer_token, "/v1/policies/backtest", 0, "{\"policies\":[]}",
                           403));
    free(testsrv_post_want(&srv, NULL, "/v1/policies/backtest", 0, "{\"policies\":[]}", 401));
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, mk.buyer_token, "/v1/policies", &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_VIEW1, "/v1/policies", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(testjson_len(r.body, "items"), 0); /* nothing was created */
    testhttp_resp_free(&r);
}

/* Creates a veto policy with match `match` scoped to the buyer, buys (price, qty) and
 * asserts whether the policy decided (vetoed, by policy:<id>) or not (pending). */
static void check_match(const char *match, long long price, long long qty, bool decides)
{
    static int n;
    char fields[1024], id[72], st[32];
    snprintf(fields, sizeof fields,
             "\"name\":\"m%d\",\"action\":\"veto\",\"reason\":\"r\",\"match\":{%s}", n++, match);
    create(fields, id);
    char *b = buy(price, qty), by[80], want[80];
    snprintf(want, sizeof want, "policy:%s", id);
    if (decides) {
        assert_true(testjson_str(b, "decision.by", by, sizeof by));
        assert_string_equal(by, want);
    }
    if (strcmp(status_of(b, st), decides ? "vetoed" : "pending_approval") != 0)
        fail_msg("match {%s} at %lld x %lld: %s", match, price, qty, st);
    disable(id);
}

static void test_every_match_field(void **state)
{
    (void)state;
    char m[400];
    snprintf(m, sizeof m, "\"agents\":[\"%s\"]", mk.buyer_id);
    check_match(m, 4900, 1, true);
    check_match("\"agents\":[\"agt_999\"]", 4900, 1, false);
    check_match("\"principals\":[\"Ann\"]", 4900, 1, true);
    check_match("\"principals\":[\"Bob\"]", 4900, 1, false);
    snprintf(m, sizeof m, "\"sellers\":[\"%s\"]", mk.seller_id);
    check_match(m, 4900, 1, true);
    check_match("\"sellers\":[\"agt_999\"]", 4900, 1, false);
    check_match("\"categories\":[\"bikes\"]", 4900, 1, true);
    check_match("\"categories\":[\"books\"]", 4900, 1, false);
    check_match("\"currency\":\"USD\"", 4900, 1, true);
    check_match("\"currency\":\"EUR\"", 4900, 1, false);
    check_match("\"total_min_minor\":9800", 4900, 2, true);
    check_match("\"total_min_minor\":9801", 4900, 2, false);
    check_match("\"total_max_minor\":9800", 4900, 2, true);
    check_match("\"total_max_minor\":9799", 4900, 2, false);
    check_match("\"unit_price_max_minor\":4900", 4900, 2, true);
    check_match("\"unit_price_max_minor\":4899", 4900, 2, false);
    check_match("\"risk_max\":0", 4900, 1, true);
    check_match("\"flags_none\":[\"overpay\"]", 4900, 1, true);
    check_match("\"flags_any\":[\"overpay\"]", 4900, 1, false);
    /* overpay: 20,000 against a reference price of 5,000 (the median of these listings) */
    check_match("\"flags_any\":[\"overpay\"]", 200000, 1, true);
    check_match("\"flags_none\":[\"overpay\"]", 200000, 1, false);
    check_match("\"risk_max\":19", 200000, 1, false);
    check_match("\"risk_max\":20", 200000, 1, true);
    /* 23 purchases so far, all within the hour: fewer than 24, then not */
    check_match("\"max_per_hour\":24", 4900, 1, true);
    check_match("\"max_per_hour\":24", 4900, 1, false);
    check_match("\"max_spend_per_hour_minor\":100000000", 4900, 1, true);
    check_match("\"max_spend_per_hour_minor\":4900", 4900, 1, false);
}

static void test_priority_order(void **state)
{
    (void)state;
    char a[72], v[72], path[128], st[32], fields[400];
    snprintf(fields, sizeof fields,
             "\"name\":\"approve-all\",\"priority\":20,\"action\":\"approve\",\"match\":{}");
    create(fields, a);
    snprintf(fields, sizeof fields,
             "\"name\":\"veto-all\",\"priority\":10,\"action\":\"veto\",\"reason\":\"no\","
             "\"match\":{}");
    create(fields, v);
    assert_string_equal(status_of(buy(4900, 1), st), "vetoed");
    /* the approve policy first now: the purchase settles by it */
    snprintf(path, sizeof path, "/v1/policies/%s", a);
    free(testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, path, 1,
        "{\"name\":\"approve-all\",\"priority\":5,\"action\":\"approve\",\"match\":{}}", 200));
    char *b = buy(4901, 1), by[80], want[80];
    snprintf(want, sizeof want, "policy:%s", a);
    assert_true(testjson_str(b, "decision.by", by, sizeof by));
    assert_string_equal(by, want);
    assert_true(testjson_str(b, "policy.name", by, sizeof by));
    assert_string_equal(by, "approve-all");
    assert_string_equal(status_of(b, st), "settled");
    /* equal priorities: the one created first */
    free(testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, path, 2,
        "{\"name\":\"approve-all\",\"priority\":10,\"action\":\"approve\",\"match\":{}}", 200));
    assert_string_equal(status_of(buy(4902, 1), st), "settled");
    b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "hits"), 2);
    free(b);
}

static void test_critical_flag_never_approved(void **state)
{
    (void)state;
    char a[72], r[72], st[32];
    create("\"name\":\"approve-all\",\"priority\":1,\"action\":\"approve\",\"match\":{}", a);
    /* quantity 150 is over the buyer's max_quantity 100: quantity_vs_intent, critical */
    char *b = buy(100, 150);
    assert_true(strstr(b, "\"severity\":\"critical\"") != NULL);
    assert_true(testjson_null(b, "decision"));
    assert_string_equal(status_of(b, st), "pending_approval");
    /* the next policy in order decides it */
    create("\"name\":\"review-it\",\"priority\":2,\"action\":\"review\",\"match\":{}", r);
    b = buy(100, 150);
    char name[64];
    assert_true(testjson_str(b, "policy.name", name, sizeof name));
    assert_string_equal(name, "review-it");
    assert_string_equal(status_of(b, st), "pending_approval");
    char path[128];
    snprintf(path, sizeof path, "/v1/policies/%s", a);
    b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "hits"), 0);
    free(b);
}

static void test_shadow_mode(void **state)
{
    (void)state;
    char s[72], st[32], path[128], pid[72];
    create("\"name\":\"shadow-veto\",\"mode\":\"shadow\",\"action\":\"veto\",\"reason\":\"x\","
           "\"match\":{}",
           s);
    char *b = buy(4900, 1);
    assert_int_equal(testjson_len(b, "policy_shadow"), 1);
    assert_true(testjson_str(b, "policy_shadow.0.policy_id", pid, sizeof pid));
    assert_string_equal(pid, s);
    assert_true(testjson_str(b, "policy_shadow.0.action", pid, sizeof pid));
    assert_string_equal(pid, "veto");
    assert_true(testjson_null(b, "decision"));
    char pur[72];
    assert_true(testjson_str(b, "id", pur, sizeof pur));
    assert_string_equal(status_of(b, st), "pending_approval");
    /* the buyer does not see which policies matched */
    testhttp_resp r;
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_int_equal(testsrv_get(&srv, mk.buyer_token, path, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "policy_shadow"));
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/policies/%s", s);
    b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "shadow_hits"), 1);
    assert_int_equal(testjson_int(b, "hits"), 0);
    free(b);
}

static void test_hour_windows(void **state)
{
    (void)state;
    char a[72], v[72], st[32], path[128];
    create("\"name\":\"under-50\",\"action\":\"approve\",\"match\":{\"max_spend_per_hour_minor\":"
           "5000}",
           a);
    int settled = 0;
    for (int i = 0; i < 20; i++) /* twenty $49 purchases against a $50 rule: one */
        settled += strcmp(status_of(buy(4900, 1), st), "settled") == 0;
    assert_int_equal(settled, 1);
    snprintf(path, sizeof path, "/v1/policies/%s", a);
    char *b = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(b, "hits"), 1);
    free(b);
    /* a backtest of the newest 5 counts the hour before them too: none approved, as live */
    b = testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0,
        "{\"limit\":5,\"policies\":[{\"name\":\"under-50\",\"action\":\"approve\","
        "\"match\":{\"max_spend_per_hour_minor\":5000}}]}",
        200);
    assert_int_equal(testjson_int(b, "approve.count"), 0);
    assert_int_equal(testjson_int(b, "review.count"), 5);
    assert_int_equal(testjson_int(b, "differ"), 0);
    free(b);
    /* fewer than N purchases in the previous hour: 20 made, so 20 does not hold, 21 does */
    create("\"name\":\"pace\",\"priority\":1,\"action\":\"veto\",\"reason\":\"pace\",\"match\":{"
           "\"max_per_hour\":20}",
           v);
    assert_string_equal(status_of(buy(4900, 1), st), "pending_approval");
    snprintf(path, sizeof path, "/v1/policies/%s", v);
    free(testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, path, 1,
        "{\"name\":\"pace\",\"priority\":1,\"action\":\"veto\",\"reason\":\"pace\",\"match\":"
        "{\"max_per_hour\":22}}",
        200));
    assert_string_equal(status_of(buy(4900, 1), st), "vetoed");
}

static void test_backtest(void **state)
{
    (void)state;
    char st[32], pur[72], path[160];
    for (int i = 0; i < 3; i++)
        free(buy(4900, 1)); /* all three wait for a person (threshold 0) */
    char *b = buy(6000, 1);
    assert_true(testjson_str(b, "id", pur, sizeof pur));
    free(b);
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", pur);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, path, 1, "{\"reason\":\"too dear\"}", 200));
    long long n0 = testjson_len(b = testsrv_get_ok(&srv, "/v1/purchases"), "items");
    free(b);
    assert_int_equal(n0, 4);
    long long seq = testsrv_seq(&srv);
    b = testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0,
        "{\"policies\":[{\"name\":\"small\",\"action\":\"approve\",\"match\":{"
        "\"total_max_minor\":5000}},{\"name\":\"dear\",\"action\":\"veto\",\"reason\":\"r\","
        "\"match\":{\"total_min_minor\":5500}}]}",
        200);
    assert_int_equal(testjson_int(b, "purchases"), 4);
    assert_int_equal(testjson_int(b, "approve.count"), 3);
    assert_int_equal(testjson_int(b, "approve.totals.USD"), 14700);
    assert_int_equal(testjson_int(b, "veto.count"), 1);
    assert_int_equal(testjson_int(b, "veto.totals.USD"), 6000);
    assert_int_equal(testjson_int(b, "review.count"), 0);
    assert_int_equal(testjson_int(b, "differ"), 4); /* all four went to a person */
    assert_int_equal(testjson_len(b, "approved_but"), 0);
    assert_int_equal(testjson_int(b, "policies.0.hits"), 3);
    free(b);
    /* a set that approves everything would have approved the one a person vetoed */
    b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0,
                          "{\"policies\":[{\"name\":\"all\",\"action\":\"approve\",\"match\":{}}]}",
                          200);
    assert_int_equal(testjson_len(b, "approved_but"), 1);
    char id[72], out[32];
    assert_true(testjson_str(b, "approved_but.0.purchase_id", id, sizeof id));
    assert_string_equal(id, pur);
    assert_true(testjson_str(b, "approved_but.0.outcome", out, sizeof out));
    assert_string_equal(out, "vetoed");
    free(b);
    /* a disabled candidate decides nothing; limit takes the newest */
    b = testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0,
        "{\"limit\":2,\"policies\":[{\"name\":\"all\",\"enabled\":false,\"action\":"
        "\"approve\",\"match\":{}}]}",
        200);
    assert_int_equal(testjson_int(b, "purchases"), 2);
    assert_int_equal(testjson_int(b, "review.count"), 2);
    assert_int_equal(testjson_int(b, "differ"), 0);
    free(b);
    /* an invalid candidate: 400 naming it; nothing changed (no event, no policy) */
    b = testsrv_post_want(
        &srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0,
        "{\"policies\":[{\"name\":\"a\",\"action\":\"approve\",\"match\":{}},{\"name\":\"b\","
        "\"action\":\"approve\",\"match\":{\"risk_max\":101}}]}",
        400);
    assert_true(testjson_str(b, "field", out, sizeof out));
    assert_string_equal(out, "policies.1.match.risk_max");
    free(b);
    assert_int_equal(testsrv_seq(&srv), seq);
    assert_int_equal(testjson_len(b = testsrv_get_ok(&srv, "/v1/policies"), "items"), 0);
    free(b);
    (void)st;
}

/* What one run of dealdesk printed. */
typedef struct run_out {
    int status;
    char out[8192], err[4096];
} run_out;

/* Runs dealdesk --url ... --token-file ... policies WHAT [FILE] as sup1. */
static run_out policies_cmd(const char *what, const char *file)
{
    static run_out r;
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1), op[600], ep[600];
    const char *args[] = {"--url", srv.url, "--token-file", tok, "policies", what, file, NULL};
    snprintf(op, sizeof op, "%s/pol.out", srv.dir);
    snprintf(ep, sizeof ep, "%s/pol.err", srv.dir);
    r.status = tproc_wait_child(tproc_spawn_dealdesk(args, op, ep), 30000);
    tproc_slurp(op, r.out, sizeof r.out);
    tproc_slurp(ep, r.err, sizeof r.err);
    free(tok);
    return r;
}

/* Writes text to file dir/name; its path into out[600]. */
static const char *write_file(const char *name, const char *text, char out[600])
{
    snprintf(out, 600, "%s/%s", srv.dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return out;
}

static void test_headless_export_import_round_trip(void **state)
{
    (void)state;
    char a[72], b[72], file[600], other[600];
    create("\"name\":\"small\",\"priority\":20,\"action\":\"approve\",\"match\":{"
           "\"total_max_minor\":5000,\"flags_none\":[\"overpay\"]}",
           a);
    create("\"name\":\"flagged\",\"priority\":10,\"action\":\"review\",\"reason\":\"look\","
           "\"match\":{\"flags_any\":[\"overpay\"]}",
           b);
    snprintf(file, sizeof file, "%s/set.json", srv.dir);
    run_out r = policies_cmd("export", file);
    assert_int_equal(r.status, 0);
    char text[8192];
    tproc_slurp(file, text, sizeof text);
    assert_int_equal(testjson_len(text, "policies"), 2);
    assert_int_equal(testjson_int(text, "policies.0.match.total_max_minor"), 5000);
    assert_true(strstr(text, "\"id\"") == NULL); /* a definition, not the server's object */
    /* the same set: nothing changes */
    long long seq = testsrv_seq(&srv);
    r = policies_cmd("import", file);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "unchanged small"));
    assert_int_equal(testsrv_seq(&srv), seq);
    /* an invalid file (a condition out of range, or not JSON) changes nothing, says why */
    r = policies_cmd("import",
                     write_file("bad.json",
                                "{\"policies\":[{\"name\":\"small\",\"action\":\"approve\","
                                "\"match\":{\"risk_max\":500}}]}",
                                other));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "risk_max"));
    assert_non_null(strstr(r.err, "nothing changed"));
    r = policies_cmd("import", write_file("junk.json", "{\"policies\":[", other));
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "nothing changed"));
    assert_int_equal(testsrv_seq(&srv), seq);
    /* an edited set: small replaced, flagged disabled (not in the file), big created */
    const char *edited =
        "{\"policies\":[{\"name\":\"small\",\"enabled\":true,\"priority\":5,\"action\":"
        "\"approve\",\"match\":{\"total_max_minor\":6000}},{\"name\":\"big\",\"enabled\":"
        "true,\"action\":\"review\",\"match\":{\"total_min_minor\":100000}}]}";
    r = policies_cmd("import", write_file("edited.json", edited, other));
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "replaced small"));
    assert_non_null(strstr(r.out, "created big"));
    assert_non_null(strstr(r.out, "disabled (not in the file) flagged"));
    char path[128];
    snprintf(path, sizeof path, "/v1/policies/%s", a);
    char *body = testsrv_get_ok(&srv, path);
    assert_int_equal(testjson_int(body, "priority"), 5);
    assert_int_equal(testjson_int(body, "version"), 2);
    free(body);
    snprintf(path, sizeof path, "/v1/policies/%s", b);
    assert_non_null(strstr(body = testsrv_get_ok(&srv, path), "\"enabled\":false"));
    free(body);
    /* again: idempotent */
    seq = testsrv_seq(&srv);
    r = policies_cmd("import", other);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "replaced"));
    assert_int_equal(testsrv_seq(&srv), seq);
    /* rolled back to the exported set */
    r = policies_cmd("import", file);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "replaced flagged"));
    assert_non_null(strstr(r.out, "disabled (not in the file) big"));
    r = policies_cmd("list", NULL);
    assert_int_equal(r.status, 0);
    assert_true(strstr(r.out, "flagged") < strstr(r.out, "small")); /* evaluation order */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud_if_match_idempotency_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_viewers_and_agents_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_match_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_critical_flag_never_approved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shadow_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hour_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backtest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headless_export_import_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
