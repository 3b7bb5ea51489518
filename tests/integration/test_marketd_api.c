/* test_marketd_api.c: marketd's API surface against a real server.
 *
 * Auth and roles, reading (lists with cursors, single objects, snapshot, messages,
 * metrics), agent registration and the agent endpoints with their error paths, bad
 * input of every kind (malformed JSON, wrong types, oversize bodies, bad ids, negative
 * and overflowing amounts, unknown currencies), text stored exactly as sent, and the
 * command line (--help, usage errors, a tokens file others can read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/testsrv.h"

static testsrv srv;

static int group_setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* GET path with token; asserts the status; returns the body (owned). */
static char *get_expect(const char *token, const char *path, long status)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, token, path, &r), 0);
    if (r.status != status)
        fail_msg("GET %s: %ld (want %ld): %s", path, r.status, status, r.body);
    char *b = r.body;
    r.body = NULL;
    testhttp_resp_free(&r);
    return b;
}

/* POST (fresh key, If-Match when version > 0); asserts status and, when code is not
 * NULL, the error code; returns the body (owned). */
static char *post_expect(const char *token, const char *path, long long version, const char *body,
                         long status, const char *code)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, token, path, version, body, &r), 0);
    if (r.status != status)
        fail_msg("POST %s %s: %ld (want %ld): %s", path, body ? body : "", r.status, status,
                 r.body);
    if (code) {
        char got[64] = "";
        testjson_str(r.body, "error", got, sizeof got);
        assert_string_equal(got, code);
        assert_true(testjson_str(r.body, "message", got, sizeof got));
    }
    char *b = r.body;
    r.body = NULL;
    testhttp_resp_free(&r);
    return b;
}

static void test_health_metrics_and_auth(void **state)
{
    (void)state;
    char *b = get_expect(NULL, "/v1/health", 200);
    char s[40];
    assert_true(testjson_str(b, "status", s, sizeof s));
    assert_string_equal(s, "ok");
    assert_true(testjson_str(b, "epoch", s, sizeof s));
    assert_true(testjson_int(b, "seq") >= 0);
    free(b);
    b = get_expect(NULL, "/metrics", 200);
    assert_non_null(strstr(b, "# TYPE marketd_events_total counter"));
    assert_non_null(strstr(b, "\nmarketd_stream_clients "));
    assert_non_null(strstr(b, "\nmarketd_decisions_total "));
    free(b);
    free(get_expect(NULL, "/v1/snapshot", 401));
    free(get_expect("wrong-token-000", "/v1/snapshot", 401));
    free(get_expect(TESTSRV_TOKEN_VIEW1, "/v1/snapshot", 200));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/nothing-here", 404));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v2/health", 404));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/pur_1/extra/more", 404));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/not%20an%20id", 400));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/lst_1", 400)); /* wrong prefix */
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/purchases/pur_424242", 404));
    free(post_expect(TESTSRV_TOKEN_VIEW1, "/v1/fleet/halt", 0, "{\"reason\":\"x\"}", 403,
                     "forbidden"));
    free(get_expect(TESTSRV_TOKEN_VIEW1, "/v1/sim/faults", 403));
    b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/sim/faults", 200);
    assert_int_equal(testjson_len(b, "items"), 0);
    free(b);
    /* whoami: the caller's name and role, never a token */
    b = get_expect(TESTSRV_TOKEN_VIEW1, "/v1/whoami", 200);
    assert_true(testjson_str(b, "name", s, sizeof s));
    assert_string_equal(s, "view1");
    assert_true(testjson_str(b, "role", s, sizeof s));
    assert_string_equal(s, "viewer");
    assert_null(strstr(b, TESTSRV_TOKEN_VIEW1));
    free(b);
    b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/whoami", 200);
    assert_true(testjson_str(b, "role", s, sizeof s));
    assert_string_equal(s, "supervisor");
    free(b);
    free(get_expect(NULL, "/v1/whoami", 401));
    b = get_expect(TESTSRV_TOKEN_VIEW1, "/v1/fleet", 200);
    assert_true(testjson_str(b, "status", s, sizeof s));
    assert_string_equal(s, "running");
    free(b);
    /* other methods */
    char url[256];
    snprintf(url, sizeof url, "%s/v1/agents", srv.url);
    testhttp_resp r;
    assert_int_equal(testhttp("DELETE", url, TESTSRV_TOKEN_SUP1, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 405);
    testhttp_resp_free(&r);
}

static const char *const good_agent =
    "{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\",\"limits\":{"
    "\"spend_cap_minor\":1000,\"per_deal_max_minor\":1000,\"approval_threshold_minor\":10,"
    "\"max_quantity\":5},\"mandate\":{\"categories\":[\"x\"]},\"addresses\":[\"a\"]}";

static void test_register_agent_validation(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *field;
    } bad[] = {
        {"{}", "name"},
        {"{\"name\":\"\",\"principal\":\"P\"}", "name"},
        {"{\"name\":7,\"principal\":\"P\"}", "name"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"thief\",\"currency\":\"USD\"}", "role"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"usd\"}",
         "currency"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"XQQ\"}",
         "currency"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\"}", "limits"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\",\"limits\":{"
         "\"spend_cap_minor\":-1,\"per_deal_max_minor\":1,\"approval_threshold_minor\":1,"
         "\"max_quantity\":1}}",
         "spend_cap_minor"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\",\"limits\":{"
         "\"spend_cap_minor\":1.5,\"per_deal_max_minor\":1,\"approval_threshold_minor\":1,"
         "\"max_quantity\":1}}",
         "spend_cap_minor"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\",\"limits\":{"
         "\"spend_cap_minor\":10000000000000000,\"per_deal_max_minor\":1,"
         "\"approval_threshold_minor\":1,\"max_quantity\":1}}",
         "spend_cap_minor"},
        {"{\"name\":\"B\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\",\"limits\":{"
         "\"spend_cap_minor\":1,\"per_deal_max_minor\":1,\"approval_threshold_minor\":1,"
         "\"max_quantity\":1},\"mandate\":{\"categories\":[1]}}",
         "mandate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, bad[i].body, 400, "bad_request");
        char f[64] = "";
        testjson_str(b, "field", f, sizeof f);
        if (strcmp(f, bad[i].field) != 0)
            fail_msg("case %zu: field %s, want %s", i, f, bad[i].field);
        free(b);
    }
    free(post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, "{\"name\":", 400, "bad_request"));
    free(post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, "[1,2]", 400, "bad_request"));
    free(post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, "{\"a\":1,\"a\":2}", 400, "bad_request"));
    /* an oversize body: 413 */
    size_t n = 70 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    free(post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, big, 413, "too_large"));
    free(big);
    /* nothing above changed the state */
    char *b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/agents?limit=1000", 200);
    long long before = testjson_len(b, "items");
    free(b);
    b = post_expect(TESTSRV_TOKEN_SUP1, "/v1/agents", 0, good_agent, 201, NULL);
    char tok[128], id[72];
    assert_true(testjson_str(b, "token", tok, sizeof tok));
    assert_true(testjson_str(b, "agent.id", id, sizeof id));
    assert_int_equal(testjson_int(b, "agent.version"), 1);
    free(b);
    b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/agents?limit=1000", 200);
    assert_int_equal(testjson_len(b, "items"), before + 1);
    /* the token is never served again */
    assert_null(strstr(b, tok));
    free(b);
    b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/snapshot", 200);
    assert_null(strstr(b, tok));
    free(b);
    /* the agent reads itself, not others, not the snapshot */
    char path[128];
    snprintf(path, sizeof path, "/v1/agents/%s", id);
    free(get_expect(tok, path, 200));
    free(get_expect(tok, "/v1/snapshot", 403));
    free(get_expect(tok, "/v1/alerts", 403));
    free(post_expect(tok, "/v1/agents", 0, good_agent, 403, "forbidden"));
}

static void test_listings_and_floor_visibility(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/listings/%s", t.listing_id);
    char *b = get_expect(TESTSRV_TOKEN_VIEW1, path, 200);
    assert_int_equal(testjson_int(b, "floor_minor"), 30000);
    assert_int_equal(testjson_int(b, "reference_price_minor") > 0, 1);
    free(b);
    b = get_expect(t.seller_token, path, 200);
    assert_int_equal(testjson_int(b, "floor_minor"), 30000);
    free(b);
    b = get_expect(t.buyer_token, path, 200);
    assert_true(testjson_null(b, "floor_minor"));
    free(b);

    const char *L = "/v1/listings";
    free(post_expect(t.buyer_token, L, 0,
                     "{\"title\":\"x\",\"category\":\"bikes\",\"unit_price_minor\":1,\"currency\":"
                     "\"USD\",\"quantity\":1}",
                     403, "forbidden"));
    char title[400];
    memset(title, 'T', 201);
    title[201] = '\0';
    char body[6000];
    snprintf(body, sizeof body,
             "{\"title\":\"%s\",\"category\":\"bikes\",\"unit_price_minor\":1,\"currency\":\"USD\","
             "\"quantity\":1}",
             title);
    free(post_expect(t.seller_token, L, 0, body, 400, "bad_request"));
    char desc[4200];
    memset(desc, 'd', 4097);
    desc[4097] = '\0';
    snprintf(
        body, sizeof body,
        "{\"title\":\"t\",\"description\":\"%s\",\"category\":\"bikes\",\"unit_price_minor\":1,"
        "\"currency\":\"USD\",\"quantity\":1}",
        desc);
    free(post_expect(t.seller_token, L, 0, body, 400, "bad_request"));
    static const char *const bad[] = {
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":-5,\"currency\":\"USD\","
        "\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":10000000000000001,"
        "\"currency\":\"USD\",\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":99999999999999999999999,"
        "\"currency\":\"USD\",\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":\"12.50\",\"currency\":"
        "\"USD\",\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":1250,\"currency\":\"USD\","
        "\"quantity\":0}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":1250,\"currency\":\"EUR\","
        "\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"unit_price_minor\":1250,\"currency\":\"ZZZ\","
        "\"quantity\":1}",
        "{\"title\":\"t\",\"unit_price_minor\":1250,\"currency\":\"USD\",\"quantity\":1}",
        "{\"title\":\"t\",\"category\":\"bikes\",\"currency\":\"USD\",\"quantity\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        free(post_expect(t.seller_token, L, 0, bad[i], 400, "bad_request"));

    /* text is stored and served exactly as sent, hostile bytes included */
    const char *hostile = "{\"title\":\"Bike \\u001b[31mRED\\u001b[0m \\u202egnp.exe\","
                          "\"description\":\"zero\\u200bwidth\",\"category\":\"bikes\","
                          "\"unit_price_minor\":100,\"currency\":\"USD\",\"quantity\":1}";
    b = post_expect(t.seller_token, L, 0, hostile, 201, NULL);
    char id[72], got[200];
    assert_true(testjson_str(b, "id", id, sizeof id));
    free(b);
    snprintf(path, sizeof path, "/v1/listings/%s", id);
    b = get_expect(TESTSRV_TOKEN_SUP1, path, 200);
    assert_true(testjson_str(b, "title", got, sizeof got));
    assert_string_equal(got, "Bike \x1b[31mRED\x1b[0m \xe2\x80\xaegnp.exe");
    assert_true(testjson_str(b, "description", got, sizeof got));
    assert_string_equal(got, "zero\xe2\x80\x8bwidth");
    free(b);

    /* withdraw: only the seller, only once; then nobody can negotiate on it */
    char w[160];
    snprintf(w, sizeof w, "%s/withdraw", path);
    free(post_expect(t.buyer_token, w, 0, "{}", 403, "forbidden"));
    b = post_expect(t.seller_token, w, 0, "{}", 200, NULL);
    assert_true(testjson_str(b, "status", got, sizeof got));
    assert_string_equal(got, "withdrawn");
    free(b);
    free(post_expect(t.seller_token, w, 0, "{}", 409, "conflict"));
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":100,\"quantity\":1,\"text\":\"\"}", id);
    free(post_expect(t.buyer_token, "/v1/negotiations", 0, body, 409, "conflict"));
}

static void test_negotiation_paths(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char body[512];
    const char *N = "/v1/negotiations";
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":100,\"quantity\":1,\"text\":\"\"}",
             t.listing_id);
    free(post_expect(t.seller_token, N, 0, body, 403, "forbidden"));
    free(post_expect(t.buyer_token, N, 0,
                     "{\"listing_id\":\"lst_../../x\",\"unit_price_minor\":1,\"quantity\":1}", 400,
                     "bad_request"));
    free(post_expect(t.buyer_token, N, 0,
                     "{\"listing_id\":\"lst_99999\",\"unit_price_minor\":1,\"quantity\":1}", 404,
                     "not_found"));
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":1000000000000000,\"quantity\":2}",
             t.listing_id);
    free(post_expect(t.buyer_token, N, 0, body, 400, "bad_request"));
    snprintf(body, sizeof body, "{\"listing_id\":\"%s\",\"quantity\":2}", t.listing_id);
    free(post_expect(t.buyer_token, N, 0, body, 400, "bad_request"));
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"hi\"}",
             t.listing_id);
    char *b = post_expect(t.buyer_token, N, 0, body, 201, NULL);
    char neg[72], s[64];
    assert_true(testjson_str(b, "negotiation.id", neg, sizeof neg));
    assert_true(testjson_str(b, "message.kind", s, sizeof s));
    assert_string_equal(s, "offer");
    assert_int_equal(testjson_int(b, "message.seq"), 1);
    assert_int_equal(testjson_int(b, "negotiation.terms.unit_price_minor"), 40000);
    free(b);
    char mp[160];
    snprintf(mp, sizeof mp, "/v1/negotiations/%s/messages", neg);
    /* another buyer is not a party */
    testsrv_market o;
    assert_int_equal(testsrv_market_setup(&srv, &o, 0), 0);
    free(post_expect(o.buyer_token, mp, 0, "{\"kind\":\"note\",\"text\":\"x\"}", 403, "forbidden"));
    char np[128];
    snprintf(np, sizeof np, "/v1/negotiations/%s", neg);
    free(get_expect(o.buyer_token, np, 403));
    free(get_expect(t.buyer_token, np, 200));
    free(post_expect(t.seller_token, mp, 0, "{\"kind\":\"system\",\"text\":\"x\"}", 400,
                     "bad_request"));
    free(post_expect(t.seller_token, mp, 0, "{\"kind\":\"counter\",\"text\":\"x\"}", 400,
                     "bad_request"));
    free(post_expect(t.seller_token, mp, 0, "{\"text\":\"x\"}", 400, "bad_request"));
    b = post_expect(
        t.seller_token, mp, 0,
        "{\"kind\":\"counter\",\"unit_price_minor\":48000,\"quantity\":1,\"text\":\"no\"}", 201,
        NULL);
    assert_int_equal(testjson_int(b, "negotiation.terms.unit_price_minor"), 48000);
    assert_int_equal(testjson_int(b, "message.seq"), 2);
    assert_int_equal(testjson_len(b, "purchase"), -1);
    free(b);
    free(post_expect(t.buyer_token, mp, 0, "{\"kind\":\"note\",\"text\":\"thinking\"}", 201, NULL));
    b = get_expect(t.buyer_token, mp, 200);
    assert_int_equal(testjson_len(b, "items"), 3);
    free(b);
    char after[200];
    snprintf(after, sizeof after, "%s?after=2", mp);
    b = get_expect(TESTSRV_TOKEN_SUP1, after, 200);
    assert_int_equal(testjson_len(b, "items"), 1);
    assert_int_equal(testjson_int(b, "items.0.seq"), 3);
    free(b);
    b = post_expect(t.buyer_token, mp, 0, "{\"kind\":\"reject\",\"text\":\"bye\"}", 201, NULL);
    assert_true(testjson_str(b, "negotiation.status", s, sizeof s));
    assert_string_equal(s, "failed");
    free(b);
    free(post_expect(t.seller_token, mp, 0, "{\"kind\":\"accept\",\"text\":\"wait\"}", 409,
                     "conflict"));
}

/* Posts a listing of category "lamps" at price; returns its reference price. */
static long long post_lamp(const char *token, long long price)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"title\":\"Lamp\",\"description\":\"d\",\"category\":\"lamps\","
             "\"unit_price_minor\":%lld,\"currency\":\"USD\",\"quantity\":1}",
             price);
    char *b = post_expect(token, "/v1/listings", 0, body, 201, NULL);
    long long ref = testjson_int(b, "reference_price_minor");
    free(b);
    return ref;
}

/* The reference price is the median asking price of the category's listings, the new
 * one included, and stays so across a crash and restart. */
static void test_reference_price_is_the_median(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(post_lamp(t.seller_token, 100), 100);
    assert_int_equal(post_lamp(t.seller_token, 300), 200); /* (100+300)/2 */
    assert_int_equal(post_lamp(t.seller_token, 200), 200);
    assert_int_equal(post_lamp(t.seller_token, 1000), 250); /* (200+300)/2 */
    testsrv_kill9(&srv);
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_int_equal(post_lamp(t.seller_token, 50), 200); /* 50 100 200 300 1000 */
}

static void test_lists_and_cursors(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    for (int i = 0; i < 6; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"title\":\"Item %d\",\"category\":\"bikes\",\"unit_price_minor\":%d,"
                 "\"currency\":\"USD\",\"quantity\":1}",
                 i, 1000 + i);
        free(post_expect(t.seller_token, "/v1/listings", 0, body, 201, NULL));
    }
    char *all = get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?limit=1000", 200);
    long long total = testjson_len(all, "items");
    assert_true(total >= 7);
    assert_true(testjson_null(all, "next"));
    /* walk in pages of 2: the same items, in the same order, once each */
    char path[200] = "/v1/listings?limit=2";
    long long seen = 0;
    for (int guard = 0; guard < 1000; guard++) {
        char *b = get_expect(TESTSRV_TOKEN_SUP1, path, 200);
        long long n = testjson_len(b, "items");
        assert_true(n <= 2);
        for (long long i = 0; i < n; i++) {
            char p1[40], p2[40], a[72], c[72];
            snprintf(p1, sizeof p1, "items.%lld.id", i);
            snprintf(p2, sizeof p2, "items.%lld.id", seen + i);
            assert_true(testjson_str(b, p1, a, sizeof a));
            assert_true(testjson_str(all, p2, c, sizeof c));
            assert_string_equal(a, c);
        }
        seen += n;
        char next[64];
        bool more = testjson_str(b, "next", next, sizeof next);
        free(b);
        if (!more)
            break;
        snprintf(path, sizeof path, "/v1/listings?limit=2&after=%s", next);
    }
    assert_int_equal(seen, total);
    free(all);
    char *b = get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?status=withdrawn&limit=1000", 200);
    for (long long i = 0; i < testjson_len(b, "items"); i++) {
        char p[40], s[32];
        snprintf(p, sizeof p, "items.%lld.status", i);
        assert_true(testjson_str(b, p, s, sizeof s));
        assert_string_equal(s, "withdrawn");
    }
    free(b);
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?status=bogus", 400));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?limit=0", 400));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?limit=1001", 400));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?limit=abc", 400));
    free(get_expect(TESTSRV_TOKEN_SUP1, "/v1/listings?after=zzz", 400));
    /* agents see their own negotiations only */
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    b = get_expect(t.buyer_token, "/v1/purchases?limit=1000", 200);
    assert_int_equal(testjson_len(b, "items"), 1);
    free(b);
    /* the snapshot is complete and consistent with health */
    b = get_expect(TESTSRV_TOKEN_VIEW1, "/v1/snapshot", 200);
    static const char *const keys[] = {"epoch",    "seq",          "fleet",     "agents",
                                       "listings", "negotiations", "purchases", "alerts",
                                       "ledger",   "decisions",    "history"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        bool present = testjson_len(b, keys[i]) >= 0 || testjson_int(b, keys[i]) != TESTJSON_NONE ||
                       testjson_str(b, keys[i], NULL, 0);
        if (!present)
            fail_msg("snapshot lacks %s", keys[i]);
    }
    assert_true(testjson_len(b, "ledger.entries") >= 0);
    assert_true(testjson_len(b, "ledger.balances") >= 0);
    free(b);
}

/* Runs marketd with args (a shell fragment) and returns its exit status; its stderr
 * goes to errfile. */
static int run_marketd(const char *args, const char *errfile)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 10 \"%s\" %s >/dev/null 2>\"%s\"", getenv("MARKETD_BIN"),
             args, errfile);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command_line(void **state)
{
    (void)state;
    char err[700], tok[700], args[2048];
    snprintf(err, sizeof err, "%s/cli.err", srv.dir);
    assert_int_equal(run_marketd("--help", err), 0);
    assert_int_equal(run_marketd("--bogus", err), 2);
    assert_int_equal(run_marketd("--fleet lots", err), 2);
    assert_int_equal(run_marketd("--faults 2", err), 2);
    snprintf(tok, sizeof tok, "%s/open-tokens", srv.dir);
    FILE *f = fopen(tok, "w");
    assert_non_null(f);
    fputs("op supervisor abcdefgh12345\n", f);
    fclose(f);
    chmod(tok, 0644);
    snprintf(args, sizeof args, "--listen 127.0.0.1:0 --db :memory: --tokens \"%s\"", tok);
    assert_int_equal(run_marketd(args, err), 1);
    /* the same file private, but with a role that is not an operator's: refused too */
    f = fopen(tok, "w");
    assert_non_null(f);
    fputs("op agent abcdefgh12345\n", f);
    fclose(f);
    chmod(tok, 0600);
    char err2[800];
    snprintf(err2, sizeof err2, "%s.2", err);
    assert_int_equal(run_marketd(args, err2), 1);
    char buf[512] = "";
    f = fopen(err, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "readable by group or others"));
    assert_null(strstr(buf, "abcdefgh12345")); /* never the secret */
}

/* Every POST endpoint gets every hostile body: each answer is a contract error (or,
 * for the few bodies that happen to be valid, a success), and the server stays up. */
static void test_garbage_never_crashes(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    char paths[24][160];
    int np = 0;
    static const char *const pdec[] = {"approve", "veto", "cap", "refund"};
    for (int i = 0; i < 4; i++)
        snprintf(paths[np++], sizeof paths[0], "/v1/purchases/%s/%s", pur, pdec[i]);
    snprintf(paths[np++], sizeof paths[0], "/v1/agents/%s/limits", t.buyer_id);
    snprintf(paths[np++], sizeof paths[0], "/v1/agents/%s/pause", t.buyer_id);
    snprintf(paths[np++], sizeof paths[0], "/v1/agents");
    snprintf(paths[np++], sizeof paths[0], "/v1/listings");
    snprintf(paths[np++], sizeof paths[0], "/v1/negotiations");
    snprintf(paths[np++], sizeof paths[0], "/v1/negotiations/neg_1/messages");
    snprintf(paths[np++], sizeof paths[0], "/v1/negotiations/neg_1/cap");
    snprintf(paths[np++], sizeof paths[0], "/v1/alerts/alr_1/ack");
    snprintf(paths[np++], sizeof paths[0], "/v1/listings/%s/withdraw", t.listing_id);
    static const char *const bodies[] = {
        "",
        "null",
        "0",
        "\"str\"",
        "{",
        "}",
        "{\"reason\":null,\"expected_total_minor\":null}",
        "{\"reason\":[],\"expected_total_minor\":{}}",
        "{\"reason\":\"\",\"expected_total_minor\":-1}",
        "{\"expected_total_minor\":1e3}",
        "{\"expected_total_minor\":9223372036854775807}",
        "{\"expected_total_minor\":-9223372036854775808}",
        "{\"expected_total_minor\":123456789012345678901234567890}",
        "{\"max_unit_price_minor\":true,\"max_quantity\":false}",
        "{\"max_quantity\":0}",
        "{\"kind\":\"accept\",\"unit_price_minor\":1000000000000000,\"quantity\":1000000000}",
        "{\"kind\":\"offer\",\"unit_price_minor\":-1,\"quantity\":1}",
        "{\"kind\":\"\\u0000\"}",
        "{\"kind\":\"\\ud800\"}",
        "{\"listing_id\":\"lst_\\u202e1\",\"unit_price_minor\":1,\"quantity\":1}",
        "{\"listing_id\":\"lst_"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
        "{\"limits\":[],\"mandate\":\"x\",\"addresses\":{}}",
        "{\"name\":\"a\",\"principal\":\"b\",\"role\":\"buyer\",\"currency\":\"USD\","
        "\"limits\":{\"spend_cap_minor\":1,\"per_deal_max_minor\":1,\"approval_threshold_minor\""
        ":1,\"max_quantity\":1},\"mandate\":{\"categories\":\"x\"}}",
        "\xff\xfe{}",
        "{\"title\":\"\xc3\x28\"}",
    };
    /* deep nesting */
    static char deep[20000];
    size_t k = 0;
    for (int i = 0; i < 5000; i++)
        deep[k++] = '[';
    for (int i = 0; i < 5000; i++)
        deep[k++] = ']';
    deep[k] = '\0';
    const char *tokens[] = {TESTSRV_TOKEN_SUP1, t.buyer_token, t.seller_token};
    for (int p = 0; p < np; p++)
        for (size_t b = 0; b < sizeof bodies / sizeof bodies[0] + 1; b++)
            for (int tk = 0; tk < 3; tk++) {
                const char *body = b < sizeof bodies / sizeof bodies[0] ? bodies[b] : deep;
                testhttp_resp r;
                assert_int_equal(testsrv_post(&srv, tokens[tk], paths[p], 1, body, &r), 0);
                if (r.status >= 500 || r.status < 200)
                    fail_msg("POST %s %s: %ld %s", paths[p], body, r.status, r.body);
                if (r.status >= 400) {
                    char code[40];
                    if (!testjson_str(r.body, "error", code, sizeof code))
                        fail_msg("POST %s: %ld without an error body: %s", paths[p], r.status,
                                 r.body);
                }
                testhttp_resp_free(&r);
            }
    free(get_expect(NULL, "/v1/health", 200));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_metrics_and_auth),
        cmocka_unit_test(test_register_agent_validation),
        cmocka_unit_test(test_listings_and_floor_visibility),
        cmocka_unit_test(test_negotiation_paths),
        cmocka_unit_test(test_reference_price_is_the_median),
        cmocka_unit_test(test_lists_and_cursors),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_garbage_never_crashes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
