/* test_marketd_halts.c: scoped halts against a real marketd (docs/api.md, "Halts").
 *
 * A halt holds the open negotiations its scope matches (holder "halt:<id>"), refuses new
 * negotiations in scope with 409 halted naming it, leaves pending purchases pending, is
 * listed in the Fleet object and GET /v1/halts, and its lift releases exactly what it
 * held: a negotiation also held by a pause or the fleet halt stays held until they go.
 * Each test gets a fresh server (halts are market-wide).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

static int setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, "--decide-timeout 600");
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* Asserts that the object at path has status want. */
static void expect_status(const char *path, const char *want)
{
    char *b = testsrv_get_ok(&srv, path), st[32] = "";
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, want);
    free(b);
}

/* POSTs body to path as token (If-Match: version when > 0); asserts status want and
 * copies the answer's field (NULL: none) into out[72]. */
static void post_expect(const char *token, const char *path, long long version, const char *body,
                        long want, const char *field, char out[72])
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, token, path, version, body, &r), 0);
    if (r.status != want)
        fprintf(stderr, "POST %s: %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, want);
    if (field)
        assert_true(testjson_str(r.body, field, out, 72));
    testhttp_resp_free(&r);
}

/* The buyer opens a negotiation on listing; its id into neg[72], its path into npath. */
static void open_neg(testsrv_market *t, const char *listing, char neg[72], char npath[128])
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"hi\"}",
             listing);
    post_expect(t->buyer_token, "/v1/negotiations", 0, body, 201, "negotiation.id", neg);
    snprintf(npath, 128, "/v1/negotiations/%s", neg);
}

/* Creates a halt with scope (JSON) and returns its id in id[72]. */
static void halt(const char *scope, char id[72])
{
    char body[512];
    snprintf(body, sizeof body, "{\"reason\":\"stop it\",\"scope\":%s}", scope);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/halts", 0, body, 201, "id", id);
}

/* Lifts halt id (If-Match: its version); asserts want. */
static void lift(const char *id, long want)
{
    char path[128], act[160];
    snprintf(path, sizeof path, "/v1/halts/%s", id);
    snprintf(act, sizeof act, "%s/lift", path);
    post_expect(TESTSRV_TOKEN_SUP2, act, testsrv_version_of(&srv, path), "{}", want, NULL, NULL);
}

/* The seller posts a listing in category; its id into out[72]. */
static void listing_in(testsrv_market *t, const char *category, char out[72])
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"title\":\"Tent\",\"description\":\"d\",\"category\":\"%s\","
             "\"unit_price_minor\":50000,\"currency\":\"USD\",\"quantity\":10,"
             "\"floor_minor\":30000}",
             category);
    post_expect(t->seller_token, "/v1/listings", 0, body, 201, "id", out);
}

static void test_halt_holds_refuses_and_lifts_what_it_held(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char tents[72], n1[72], p1[128], n2[72], p2[128], id[72];
    listing_in(&t, "tents", tents);
    open_neg(&t, t.listing_id, n1, p1); /* bikes */
    open_neg(&t, tents, n2, p2);

    /* bad requests change nothing */
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/halts", 0, "{\"reason\":\"x\",\"scope\":{}}", 400, NULL,
                NULL);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/halts", 0,
                "{\"reason\":\"x\",\"scope\":{\"colours\":[\"red\"]}}", 400, NULL, NULL);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/halts", 0, "{\"scope\":{\"categories\":[\"bikes\"]}}", 400,
                NULL, NULL);
    post_expect(TESTSRV_TOKEN_VIEW1, "/v1/halts", 0,
                "{\"reason\":\"x\",\"scope\":{\"categories\":[\"bikes\"]}}", 403, NULL, NULL);
    post_expect(t.buyer_token, "/v1/halts", 0,
                "{\"reason\":\"x\",\"scope\":{\"categories\":[\"bikes\"]}}", 403, NULL, NULL);
    expect_status(p1, "open");

    halt("{\"categories\":[\"bikes\"]}", id);
    expect_status(p1, "held");
    expect_status(p2, "open");
    char *b = testsrv_get_ok(&srv, p1), holder[80], want[80];
    snprintf(want, sizeof want, "halt:%s", id);
    assert_true(testjson_str(b, "held_by.0", holder, sizeof holder));
    assert_string_equal(holder, want);
    free(b);

    /* a new negotiation in scope is refused, naming the halt; out of scope it is not */
    char body[256], named[72];
    snprintf(body, sizeof body, "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1}",
             t.listing_id);
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, t.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_int_equal(r.status, 409);
    char code[32];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "halted");
    assert_true(testjson_str(r.body, "halt.id", named, sizeof named));
    assert_string_equal(named, id);
    assert_non_null(strstr(r.body, id));
    testhttp_resp_free(&r);
    char n3[72], p3[128];
    open_neg(&t, tents, n3, p3);

    /* listed in the Fleet object and GET /v1/halts */
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_len(b, "halts"), 1);
    assert_true(testjson_str(b, "halts.0.id", named, sizeof named));
    assert_string_equal(named, id);
    free(b);
    assert_int_equal(testsrv_get(&srv, t.buyer_token, "/v1/halts", &r), 0);
    assert_int_equal(r.status, 200); /* agents see them, as in the Fleet */
    testhttp_resp_free(&r);
    b = testsrv_get_ok(&srv, "/v1/halts");
    assert_int_equal(testjson_len(b, "items"), 1);
    assert_true(testjson_str(b, "items.0.scope.categories.0", named, sizeof named));
    assert_string_equal(named, "bikes");
    free(b);

    /* the lift is conditional, releases what it held, and happens once */
    char path[128], act[160];
    snprintf(path, sizeof path, "/v1/halts/%s", id);
    snprintf(act, sizeof act, "%s/lift", path);
    post_expect(TESTSRV_TOKEN_SUP2, act, 0, "{}", 428, NULL, NULL);
    post_expect(TESTSRV_TOKEN_SUP2, act, testsrv_version_of(&srv, path) + 3, "{}", 412, NULL, NULL);
    expect_status(p1, "held");
    lift(id, 200);
    expect_status(p1, "open");
    expect_status(path, "lifted");
    lift(id, 409);
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_len(b, "halts"), 0);
    free(b);
    post_expect(t.buyer_token, "/v1/negotiations", 0, body, 201, NULL, NULL);
    /* both were decisions */
    b = testsrv_get_ok(&srv, "/v1/decisions");
    assert_non_null(strstr(b, "\"action\":\"halt\""));
    assert_non_null(strstr(b, "\"action\":\"lift\""));
    free(b);
}

static void test_halt_is_idempotent(void **state)
{
    (void)state;
    const char *body = "{\"reason\":\"gpu\",\"scope\":{\"categories\":[\"gpu-hours\"]}}";
    char key[48];
    testsrv_key(key);
    testhttp_resp a, b;
    assert_int_equal(testsrv_post_key(&srv, TESTSRV_TOKEN_SUP1, "/v1/halts", key, body, &a), 0);
    assert_int_equal(testsrv_post_key(&srv, TESTSRV_TOKEN_SUP1, "/v1/halts", key, body, &b), 0);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 201);
    assert_string_equal(a.body, b.body);
    testhttp_resp_free(&a);
    testhttp_resp_free(&b);
    char *l = testsrv_get_ok(&srv, "/v1/halts");
    assert_int_equal(testjson_len(l, "items"), 1);
    free(l);
}

static void test_principals_match_either_party_and_pending_stays(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char pur[72], ppath[128], n1[72], p1[128], id[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    snprintf(ppath, sizeof ppath, "/v1/purchases/%s", pur);
    open_neg(&t, t.listing_id, n1, p1);

    halt("{\"principals\":[\"Shop Ltd\"]}", id); /* the seller's principal */
    expect_status(p1, "held");
    expect_status(ppath, "pending_approval"); /* for a person to decide */
    lift(id, 200);
    expect_status(p1, "open");

    halt("{\"principals\":[\"Nobody\"],\"sellers\":[\"agt_none\"]}", id);
    expect_status(p1, "open");
    lift(id, 200);

    halt("{\"principals\":[\"Ann\"]}", id); /* the buyer's */
    expect_status(p1, "held");
    /* an accept in scope is refused: no new purchase */
    char mpath[160];
    snprintf(mpath, sizeof mpath, "%s/messages", p1);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, NULL, NULL);
    /* a pending purchase is still decided by a person */
    char act[160];
    snprintf(act, sizeof act, "%s/approve", ppath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, ppath),
                "{\"expected_total_minor\":45000}", 200, NULL, NULL);
    expect_status(ppath, "settled");
    lift(id, 200);
    expect_status(p1, "open");
}

static void test_overlaps_with_a_pause_and_the_fleet_halt(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char n1[72], p1[128], id[72], scope[160], apath[128], act[160];
    open_neg(&t, t.listing_id, n1, p1);
    snprintf(scope, sizeof scope, "{\"sellers\":[\"%s\"]}", t.seller_id);
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);

    /* halt, pause, fleet halt: each release leaves it held until the last */
    halt(scope, id);
    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"odd\"}",
                200, NULL, NULL);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"all\"}", 200, NULL, NULL);
    char *b = testsrv_get_ok(&srv, p1);
    assert_int_equal(testjson_len(b, "held_by"), 3);
    free(b);
    lift(id, 200);
    expect_status(p1, "held");
    b = testsrv_get_ok(&srv, p1);
    assert_int_equal(testjson_len(b, "held_by"), 2);
    free(b);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL, NULL);
    expect_status(p1, "held");
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200, NULL, NULL);
    expect_status(p1, "open");

    /* the other way round: the pause goes first, the halt still holds */
    halt(scope, id);
    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"odd\"}",
                200, NULL, NULL);
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200, NULL, NULL);
    expect_status(p1, "held");
    /* two halts over one thread: lifting one leaves the other's hold */
    char id2[72];
    halt("{\"categories\":[\"bikes\"]}", id2);
    lift(id, 200);
    expect_status(p1, "held");
    lift(id2, 200);
    expect_status(p1, "open");
}

static void test_a_thread_that_reopens_in_scope_is_held(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char pur[72], ppath[128], id[72], neg[72], npath[128], act[160];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 2, pur), 0);
    snprintf(ppath, sizeof ppath, "/v1/purchases/%s", pur);
    halt("{\"categories\":[\"bikes\"]}", id);
    expect_status(ppath, "pending_approval");
    /* a cap reopens the thread: the halt holds it as it reopens */
    snprintf(act, sizeof act, "%s/cap", ppath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, ppath),
                "{\"max_unit_price_minor\":40000,\"reason\":\"cheaper\"}", 200, "negotiation_id",
                neg);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    expect_status(npath, "held");
    lift(id, 200);
    expect_status(npath, "open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_halt_holds_refuses_and_lifts_what_it_held, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_halt_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_principals_match_either_party_and_pending_stays, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overlaps_with_a_pause_and_the_fleet_halt, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_thread_that_reopens_in_scope_is_held, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
