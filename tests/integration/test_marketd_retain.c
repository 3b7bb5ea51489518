/* test_marketd_retain.c: the event log's retention (marketd --retain-events, issue 18;
 * marketd/retain.c), on both engines (tests/run.sh runs it on PostgreSQL too).
 *
 * By count: the newest N events stay and every older one goes, in batches; by age: the
 * events older than the age go, the newest always stays. A stream resuming from a
 * position no longer kept (after=, Last-Event-ID, from the start) gets `reset` and no
 * event; one resuming inside the kept range gets every later event once. An answer
 * kept for an Idempotency-Key whose events were pruned is replayed byte for byte (a
 * listing's answer is an event's data; an approval's answer holds two events' data).
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
#include <time.h>

#include "tests/lib/pgtest.h"
#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

/* What one stream read collected: the seqs of its ids, whether it got a reset. */
typedef struct sse {
    char *raw;
    size_t len;
    long long seqs[4096];
    int nseq;
    long long stop_at; /* stop once this seq has arrived (0: never) */
    bool reset;
} sse;

/* Scans the complete lines of the raw text. */
static void scan(sse *s)
{
    s->nseq = 0;
    s->reset = false;
    for (char *p = s->raw, *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        char *colon = strncmp(p, "id: ", 4) == 0 ? memchr(p + 4, ':', (size_t)(nl - p - 4)) : NULL;
        if (colon && s->nseq < 4096)
            s->seqs[s->nseq++] = atoll(colon + 1);
        if (strncmp(p, "event: reset", 12) == 0)
            s->reset = true;
    }
}

static size_t on_data(char *d, size_t size, size_t n, void *ud)
{
    sse *s = ud;
    size_t len = size * n;
    char *r = realloc(s->raw, s->len + len + 1);
    if (!r)
        return 0;
    memcpy(r + s->len, d, len);
    s->len += len;
    r[s->len] = '\0';
    s->raw = r;
    scan(s);
    return s->stop_at && s->nseq && s->seqs[s->nseq - 1] >= s->stop_at ? 0 : len;
}

/* Reads the stream of srv from query ("?after=3", "") with an optional Last-Event-ID
 * until stop_at arrived, the server closed it (a reset) or 10 s passed. */
static void read_stream(testsrv *srv, const char *query, const char *lei, sse *s)
{
    char url[256], line[200];
    snprintf(url, sizeof url, "%s/v1/events%s", srv->url, query);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    if (lei) {
        snprintf(line, sizeof line, "Last-Event-ID: %s", lei);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* Asserts that resuming after `after` gives exactly after+1 .. last, no reset. */
static void assert_resumes(testsrv *srv, long long after, long long last)
{
    sse s = {.stop_at = last};
    char q[64];
    snprintf(q, sizeof q, "?after=%lld", after);
    read_stream(srv, q, NULL, &s);
    assert_false(s.reset);
    assert_int_equal(s.nseq, last - after);
    for (int i = 0; i < s.nseq; i++)
        assert_int_equal(s.seqs[i], after + 1 + i);
    free(s.raw);
}

/* Asserts that resuming with query (and Last-Event-ID lei) gets a reset and no event. */
static void assert_reset(testsrv *srv, const char *query, const char *lei)
{
    sse s = {0};
    read_stream(srv, query, lei, &s);
    assert_true(s.reset);
    assert_int_equal(s.nseq, 0);
    assert_non_null(strstr(s.raw, "data: {\"epoch\":\""));
    free(s.raw);
}

/* Waits (up to 20 s) until marketd_events_pruned_total is at least n; returns it. */
static long long wait_pruned(testsrv *srv, long long n)
{
    long long v = -1;
    for (int i = 0; i < 2000 && (v = testsrv_metric(srv, "marketd_events_pruned_total")) < n; i++)
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    return v;
}

static void test_prune_by_count(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--retain-events 20"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    for (int i = 0; i < 8; i++) {
        char pur[72];
        assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    }
    long long last = testsrv_seq(&srv);
    assert_true(last > 40);
    /* the newest 20 stay: exactly last - 20 go, and no more */
    assert_int_equal(wait_pruned(&srv, last - 20), last - 20);
    assert_int_equal(testsrv_seq(&srv), last);
    assert_resumes(&srv, last - 20, last);
    assert_resumes(&srv, last - 5, last);
    /* before the kept range: reset, by after=, by Last-Event-ID, from the very start */
    char q[64], lei[80], epoch[40];
    snprintf(q, sizeof q, "?after=%lld", last - 21);
    assert_reset(&srv, q, NULL);
    assert_reset(&srv, "?after=0", NULL);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, NULL, "/v1/health", &r), 0);
    assert_true(testjson_str(r.body, "epoch", epoch, sizeof epoch));
    testhttp_resp_free(&r);
    snprintf(lei, sizeof lei, "%s:%lld", epoch, 1LL);
    assert_reset(&srv, "", lei);
    /* the snapshot is whole (its seq the last) and the market goes on */
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_VIEW1, "/v1/snapshot", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(testjson_int(r.body, "seq"), last);
    testhttp_resp_free(&r);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    long long now = testsrv_seq(&srv);
    assert_true(now > last);
    assert_int_equal(wait_pruned(&srv, now - 20), now - 20);
    assert_resumes(&srv, now - 20, now);
    /* restarted, the seq goes on from the last one kept */
    testsrv_kill9(&srv);
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_int_equal(testsrv_seq(&srv), now);
    assert_resumes(&srv, now - 20, now);
    testsrv_stop(&srv);
}

static void test_prune_by_age(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--retain-events 3s"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    long long a = testsrv_seq(&srv);
    /* once older than 3 s, all of them go but the newest (the last seq stays known) */
    assert_int_equal(wait_pruned(&srv, a - 1), a - 1);
    assert_int_equal(testsrv_seq(&srv), a);
    char q[64];
    snprintf(q, sizeof q, "?after=%lld", a - 2);
    assert_reset(&srv, q, NULL);
    /* new events are young: all kept, the stream from a gives each once */
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    long long b = testsrv_seq(&srv);
    assert_true(b > a + 2);
    assert_resumes(&srv, a, b);
    testsrv_stop(&srv);
}

/* POSTs body to path as token with Idempotency-Key key and If-Match: version (> 0). */
static void post_keyed(testsrv *srv, const char *token, const char *path, const char *key,
                       long long version, const char *body, testhttp_resp *r)
{
    char url[512], kh[200], ih[64];
    snprintf(url, sizeof url, "%s%s", srv->url, path);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    snprintf(ih, sizeof ih, "If-Match: \"%lld\"", version);
    const char *h[3] = {kh, version > 0 ? ih : NULL, NULL};
    assert_int_equal(testhttp("POST", url, token, h, body, r), 0);
}

static void test_idempotent_replay_after_prune(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--retain-events 5 --decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    /* a listing: the whole answer is its event's data */
    const char *listing = "{\"title\":\"Kept answer\",\"description\":\"d\",\"category\":"
                          "\"bikes\",\"unit_price_minor\":50000,\"currency\":\"USD\","
                          "\"quantity\":9,\"floor_minor\":30000}";
    char lkey[48], akey[48];
    testsrv_key(lkey);
    testhttp_resp l1, a1, l2, a2;
    post_keyed(&srv, t.seller_token, "/v1/listings", lkey, 0, listing, &l1);
    assert_int_equal(l1.status, 201);
    long long lseq = testsrv_seq(&srv);
    /* an approval: its answer holds the purchase's and the decision's data */
    char pur[72], path[128], act[160];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 2, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    snprintf(act, sizeof act, "%s/approve", path);
    long long v = testsrv_version_of(&srv, path);
    testsrv_key(akey);
    post_keyed(&srv, TESTSRV_TOKEN_SUP1, act, akey, v, "{\"expected_total_minor\":90000}", &a1);
    assert_int_equal(a1.status, 200);
    long long aseq = testsrv_seq(&srv);
    /* more traffic, until both answers' events are gone */
    for (int i = 0; i < 3; i++)
        assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    long long last = testsrv_seq(&srv);
    assert_true(last - 5 > aseq);
    assert_int_equal(wait_pruned(&srv, last - 5), last - 5);
    char q[64];
    snprintf(q, sizeof q, "?after=%lld", lseq - 1);
    assert_reset(&srv, q, NULL);
    /* replayed byte for byte, and nothing ran twice */
    post_keyed(&srv, t.seller_token, "/v1/listings", lkey, 0, listing, &l2);
    assert_int_equal(l2.status, l1.status);
    assert_string_equal(l2.body, l1.body);
    post_keyed(&srv, TESTSRV_TOKEN_SUP1, act, akey, v, "{\"expected_total_minor\":90000}", &a2);
    assert_int_equal(a2.status, a1.status);
    assert_string_equal(a2.body, a1.body);
    assert_int_equal(testsrv_seq(&srv), last);
    assert_true(testsrv_metric(&srv, "marketd_idempotent_replays_total") >= 2);
    testhttp_resp_free(&l1);
    testhttp_resp_free(&l2);
    testhttp_resp_free(&a1);
    testhttp_resp_free(&a2);
    testsrv_stop(&srv);
}

/* On PostgreSQL, two instances of one market, both with the bound: whichever leads
 * prunes (once for the market); a resume on either before the kept range gets reset, and
 * an answer given by one is replayed whole by the other after its events went. */
static void test_two_instances(void **state)
{
    (void)state;
    if (!pgtest_engine())
        skip(); /* one SQLite file is one instance */
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--retain-events 10"), 0);
    assert_int_equal(testsrv_start_on(&b, &a, "--retain-events 10"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 100000000), 0);
    const char *listing = "{\"title\":\"On A\",\"description\":\"d\",\"category\":"
                          "\"bikes\",\"unit_price_minor\":50000,\"currency\":\"USD\","
                          "\"quantity\":9,\"floor_minor\":30000}";
    char key[48], pur[72];
    testsrv_key(key);
    testhttp_resp l1, l2;
    post_keyed(&a, t.seller_token, "/v1/listings", key, 0, listing, &l1);
    assert_int_equal(l1.status, 201);
    for (int i = 0; i < 3; i++)
        assert_int_equal(testsrv_market_purchase(&b, &t, 45000, 1, pur), 0);
    long long last = testsrv_seq(&b);
    assert_int_equal(testsrv_seq(&a), last);
    /* one of them prunes, the other not at all */
    long long pa = -1, pb = -1;
    for (int i = 0; i < 2000; i++) {
        pa = testsrv_metric(&a, "marketd_events_pruned_total");
        pb = testsrv_metric(&b, "marketd_events_pruned_total");
        if (pa + pb >= last - 10)
            break;
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    }
    assert_int_equal(pa + pb, last - 10);
    assert_true(pa == 0 || pb == 0);
    assert_reset(&a, "?after=0", NULL);
    assert_reset(&b, "?after=0", NULL);
    assert_resumes(&b, last - 10, last);
    post_keyed(&b, t.seller_token, "/v1/listings", key, 0, listing, &l2);
    assert_int_equal(l2.status, l1.status);
    assert_string_equal(l2.body, l1.body);
    testhttp_resp_free(&l1);
    testhttp_resp_free(&l2);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

static void test_bad_flag(void **state)
{
    (void)state;
    testsrv srv;
    /* refused at start: marketd exits 2 and testsrv_start fails */
    assert_int_equal(testsrv_start(&srv, "--retain-events 7w"), -1);
    assert_int_equal(testsrv_start(&srv, "--retain-events 0"), -1);
    assert_int_equal(testsrv_start(&srv, "--retain-events -3"), -1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_by_count),
        cmocka_unit_test(test_prune_by_age),
        cmocka_unit_test(test_idempotent_replay_after_prune),
        cmocka_unit_test(test_two_instances),
        cmocka_unit_test(test_bad_flag),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
