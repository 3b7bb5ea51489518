/* test_client_backfill.c: a console's staged snapshot against a real marketd (issue 14;
 * docs/api.md, Reading: ?open_threads=; api/client_backfill.c): the snapshot holds only
 * the N most recently updated open threads (and the newest others), says how many are open
 * and that there are more, and the client reads the rest afterwards while the stream is
 * applied; with threads vetoed, held and countered while it reads, it ends with exactly
 * the server's open and held threads, each at the server's version and message count,
 * with the listings they name. A server that answers no page (a proxy drops the
 * answers) gets a fresh snapshot after BACKFILL_FAILS pages in a row, whose backfill then
 * completes. The server's side of the contract: ?open_threads= and include=listings, and
 * their 400s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/client.h"
#include "api/config.h"

#include "tests/lib/faultproxy.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define NTHREADS 160 /* open threads: more than the snapshot's newest 100 and N */
#define STAGED_N 3   /* the client's ?open_threads= */
#define NMUTATE  24  /* of the oldest (read by the backfill): vetoed, held or countered */

static testsrv srv;
static testsrv_market mk;
static char ids[NTHREADS][72]; /* the threads, in creation order */

static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, "--agent-rate 0 --max-open-listings 1000000") < 0 ||
        testsrv_market_setup(&srv, &mk, 100000000) < 0)
        return -1;
    for (int i = 0; i < NTHREADS; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"listing_id\":\"%s\",\"unit_price_minor\":%d,\"quantity\":1,"
                 "\"text\":\"thread %d\"}",
                 mk.listing_id, 40000 + i, i);
        testhttp_resp r = {0};
        if (testsrv_post(&srv, mk.buyer_token, "/v1/negotiations", 0, body, &r) < 0 ||
            r.status != 201 || !testjson_str(r.body, "negotiation.id", ids[i], sizeof ids[i])) {
            fprintf(stderr, "negotiation %d: HTTP %ld %s\n", i, r.status, r.body ? r.body : "");
            testhttp_resp_free(&r);
            return -1;
        }
        testhttp_resp_free(&r);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* The version of thread id as the server has it. */
static long long version_of(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/negotiations/%s", id);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_int_equal(r.status, 200);
    long long v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    return v;
}

/* Changes the i-th oldest thread (one the backfill reads): vetoes it (closed: an event
 * about a thread the store may not hold yet), holds it, or has the seller counter. */
static void mutate(int i)
{
    char path[160];
    const char *what[] = {"veto", "hold", "messages"};
    snprintf(path, sizeof path, "/v1/negotiations/%s/%s", ids[i], what[i % 3]);
    testhttp_resp r = {0};
    if (i % 3 == 2)
        assert_int_equal(testsrv_post(&srv, mk.seller_token, path, 0,
                                      "{\"kind\":\"counter\",\"unit_price_minor\":45000,"
                                      "\"quantity\":1,\"text\":\"counter\"}",
                                      &r),
                         0);
    else
        assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, version_of(ids[i]),
                                      "{\"reason\":\"backfill test\"}", &r),
                         0);
    if (r.status != 200 && r.status != 201)
        fail_msg("%s: HTTP %ld %s", path, r.status, r.body);
    testhttp_resp_free(&r);
}

/* How many open or held threads the store holds. */
static size_t live_held(const store *st)
{
    size_t n, live = 0;
    const model_negotiation *const *all = store_negotiations(st, &n);
    for (size_t i = 0; i < n; i++)
        live += all[i]->status == NEG_OPEN || all[i]->status == NEG_HELD;
    return live;
}

/* The server's open and held threads (every page) into one JSON array (owned). */
static json_t *server_live(void)
{
    json_t *all = json_array();
    const char *paths[] = {"/v1/negotiations?status=open", "/v1/negotiations?status=held"};
    for (int i = 0; i < 2; i++) {
        char *text = testsrv_list(&srv, TESTSRV_TOKEN_SUP1, paths[i]);
        assert_non_null(text);
        json_t *a = json_loads(text, 0, NULL);
        free(text);
        assert_true(json_is_array(a));
        json_array_extend(all, a);
        json_decref(a);
    }
    return all;
}

/* Runs the client once (100 ms at most waiting). */
static void step(client *c)
{
    client_wait(c, NULL, 0, 100, NULL);
    client_run(c);
}

static void test_backfill_ends_with_working_set(void **state)
{
    (void)state;
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    cfg.console = true;
    cfg.open_threads = STAGED_N;
    store *st = store_new();
    char err[256];
    client *c = client_new(&cfg, st, err, sizeof err);
    assert_non_null(c);
    client_status s;
    int64_t deadline = tproc_now_ms() + 20000;
    do {
        step(c);
        client_status_get(c, &s);
    } while (s.snapshots == 0 && tproc_now_ms() < deadline);
    assert_int_equal(s.snapshots, 1);
    /* the staged snapshot: the newest 100 and N more, and that there are more */
    assert_true(store_live_more(st));
    assert_true(live_held(st) < NTHREADS);
    assert_null(store_negotiation(st, ids[0]));
    assert_true(s.threads_loading);
    /* events while the rest is read: half before the first page is asked (it is asked
     * once the stream is live), half as the client runs */
    for (int i = 0; i < NMUTATE / 2; i++)
        mutate(i);
    for (int i = NMUTATE / 2; i < NMUTATE || s.threads_loading; i++) {
        if (i < NMUTATE)
            mutate(i);
        step(c);
        client_status_get(c, &s);
        assert_true(tproc_now_ms() < deadline);
    }
    /* the market is quiet now: the client catches up with it */
    long long seq = testsrv_seq(&srv);
    while (store_seq(st) < seq && tproc_now_ms() < deadline)
        step(c);
    assert_int_equal(store_seq(st), seq);
    json_t *live = server_live();
    assert_int_equal(testsrv_seq(&srv), seq); /* nothing moved while it was read */
    assert_int_equal(json_array_size(live), live_held(st));
    size_t i;
    json_t *o;
    json_array_foreach(live, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "id"));
        const model_negotiation *n = store_negotiation(st, id);
        if (!n)
            fail_msg("%s is open or held on the server, not in the console", id);
        assert_int_equal(n->version, json_integer_value(json_object_get(o, "version")));
        assert_int_equal(n->message_count, json_integer_value(json_object_get(o, "message_count")));
        assert_int_equal(n->status,
                         strcmp(json_string_value(json_object_get(o, "status")), "held") == 0
                             ? NEG_HELD
                             : NEG_OPEN);
        assert_non_null(store_listing(st, n->listing_id));
    }
    json_decref(live);
    assert_false(store_backfilling(st));
    client_free(c);
    store_free(st);
    config_free(&cfg);
}

/* Pages that do not answer: after 10 in a row (api/client_backfill.c, BACKFILL_FAILS) the
 * client takes a fresh snapshot, and that one's backfill reads every open thread. */
static void test_failed_pages_resync(void **state)
{
    (void)state;
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    /* libcurl may send a request again once when its reused connection closes with no
     * answer: 20 answers dropped are 10 to 20 failed pages */
    faultproxy_drop_responses(fp, 20, "include=listings");
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", faultproxy_port(fp));
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    cfg.console = true;
    cfg.open_threads = STAGED_N;
    store *st = store_new();
    char err[256];
    client *c = client_new(&cfg, st, err, sizeof err);
    assert_non_null(c);
    json_t *live = server_live();
    client_status s;
    int64_t deadline = tproc_now_ms() + 60000;
    do {
        step(c);
        client_status_get(c, &s);
    } while ((s.snapshots < 2 || s.threads_loading || live_held(st) < json_array_size(live)) &&
             tproc_now_ms() < deadline);
    faultproxy_stats fs;
    faultproxy_stats_get(fp, &fs);
    assert_int_equal(fs.responses_dropped, 20);
    assert_true(s.snapshots >= 2);
    assert_false(s.threads_loading);
    assert_int_equal(live_held(st), json_array_size(live));
    json_decref(live);
    client_free(c);
    store_free(st);
    config_free(&cfg);
    faultproxy_stop(fp);
}

/* The server's side: ?open_threads= and include=listings as docs/api.md says. */
static void test_server_contract(void **state)
{
    (void)state;
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot?open_threads=1", &r), 0);
    assert_int_equal(r.status, 200);
    json_t *snap = json_loads(r.body, 0, NULL);
    testhttp_resp_free(&r);
    assert_true(json_is_true(json_object_get(json_object_get(snap, "open_threads"), "more")));
    size_t live = 0, i;
    json_t *o;
    json_array_foreach(json_object_get(snap, "negotiations"), i, o)
    {
        const char *st = json_string_value(json_object_get(o, "status"));
        live += strcmp(st, "open") == 0 || strcmp(st, "held") == 0;
    }
    json_decref(snap);
    assert_true(live < NTHREADS);
    /* without it, the whole working set as before, and no open_threads member */
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
    assert_int_equal(testjson_len(r.body, "open_threads"), -1);
    testhttp_resp_free(&r);
    const char *bad[][2] = {{"/v1/snapshot?open_threads=x", "open_threads"},
                            {"/v1/snapshot?open_threads=100001", "open_threads"},
                            {"/v1/alerts?include=listings", "include"},
                            {"/v1/negotiations?include=agents", "include"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, bad[k][0], &r), 0);
        assert_int_equal(r.status, 400);
        char field[32];
        assert_true(testjson_str(r.body, "field", field, sizeof field));
        assert_string_equal(field, bad[k][1]);
        testhttp_resp_free(&r);
    }
    /* include=listings: the listings the page's threads name, once each */
    assert_int_equal(
        testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/negotiations?include=listings&limit=5", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(testjson_len(r.body, "items"), 5);
    assert_int_equal(testjson_len(r.body, "listings"), 1);
    char lid[72];
    assert_true(testjson_str(r.body, "listings.0.id", lid, sizeof lid));
    assert_string_equal(lid, mk.listing_id);
    testhttp_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_contract),
        cmocka_unit_test(test_backfill_ends_with_working_set),
        cmocka_unit_test(test_failed_pages_resync),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
