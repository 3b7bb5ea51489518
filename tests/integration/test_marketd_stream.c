/* test_marketd_stream.c: the event stream and durability against a real marketd.
 *
 * Resuming from any seq yields exactly the following events once each, in order;
 * Last-Event-ID wins over ?after=; an unknown epoch or a future seq gets one reset;
 * heartbeats arrive; many clients are served at once; after kill -9 and restart the
 * epoch and seq continue, and every acknowledged decision is still there.
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

#include "tests/lib/testsrv.h"

/* What one stream read collected. */
typedef struct sse {
    char *raw;
    size_t len;
    long long seqs[4096];
    int nseq;
    char epoch[40];
    long long stop_at; /* stop once this seq has arrived (0: never) */
    bool reset, heartbeat, retry;
    bool stop_on_hb;
} sse;

/* Scans complete lines of the raw text for ids, reset, heartbeats. */
static void scan(sse *s)
{
    s->nseq = 0;
    s->reset = s->heartbeat = s->retry = false;
    char *p = s->raw;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        if (strncmp(p, "id: ", 4) == 0) {
            char *colon = memchr(p + 4, ':', (size_t)(nl - p - 4));
            if (colon && s->nseq < 4096) {
                snprintf(s->epoch, sizeof s->epoch, "%.*s", (int)(colon - p - 4), p + 4);
                s->seqs[s->nseq++] = atoll(colon + 1);
            }
        } else if (strncmp(p, "event: reset", 12) == 0) {
            s->reset = true;
        } else if (strncmp(p, ": hb", 4) == 0) {
            s->heartbeat = true;
        } else if (strncmp(p, "retry: 2000", 11) == 0) {
            s->retry = true;
        }
        p = nl + 1;
    }
}

/* libcurl write callback: appends and stops the transfer when the goal is met. */
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
    if (s->stop_at && s->nseq && s->seqs[s->nseq - 1] >= s->stop_at)
        return 0;
    if (s->stop_on_hb && s->heartbeat)
        return 0;
    return len;
}

/* Reads the stream at url (query included) with an optional Last-Event-ID until the
 * goal, EOF or timeout_ms. */
static void read_stream(const char *url, const char *last_event_id, sse *s, long timeout_ms)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[200];
    h = curl_slist_append(h, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    if (last_event_id) {
        snprintf(line, sizeof line, "Last-Event-ID: %s", last_event_id);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* Makes some traffic: a market and n purchases (each several events). */
static void traffic(testsrv *srv, testsrv_market *t, int n)
{
    for (int i = 0; i < n; i++) {
        char pur[72];
        assert_int_equal(testsrv_market_purchase(srv, t, 45000, 1, pur), 0);
    }
}

/* Current seq and epoch from /v1/health. */
static long long health_seq(testsrv *srv, char epoch[40])
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(srv, NULL, "/v1/health", &r), 0);
    assert_int_equal(r.status, 200);
    long long seq = testjson_int(r.body, "seq");
    if (epoch)
        assert_true(testjson_str(r.body, "epoch", epoch, 40));
    testhttp_resp_free(&r);
    return seq;
}

/* Asserts that s holds exactly after+1 .. last, once each, in order. */
static void assert_exact(const sse *s, long long after, long long last)
{
    assert_int_equal(s->nseq, last - after);
    for (int i = 0; i < s->nseq; i++)
        assert_int_equal(s->seqs[i], after + 1 + i);
}

static void test_resume_from_any_seq(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, NULL), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    traffic(&srv, &t, 10);
    char epoch[40];
    long long last = health_seq(&srv, epoch);
    assert_true(last > 40);
    for (long long after = 0; after < last; after += (after < 5 ? 1 : 7)) {
        sse s = {.stop_at = last};
        char url[256];
        snprintf(url, sizeof url, "%s/v1/events?after=%lld", srv.url, after);
        read_stream(url, NULL, &s, 5000);
        assert_true(s.retry);
        assert_false(s.reset);
        assert_string_equal(s.epoch, epoch);
        assert_exact(&s, after, last);
        /* the data line carries the same seq */
        char want[64];
        snprintf(want, sizeof want, "data: {\"seq\":%lld,", after + 1);
        assert_non_null(strstr(s.raw, want));
        free(s.raw);
    }
    /* Last-Event-ID wins over ?after= */
    sse s = {.stop_at = last};
    char url[256], lei[80];
    snprintf(url, sizeof url, "%s/v1/events?after=3", srv.url);
    snprintf(lei, sizeof lei, "%s:%lld", epoch, last - 2);
    read_stream(url, lei, &s, 5000);
    assert_exact(&s, last - 2, last);
    free(s.raw);
    testsrv_stop(&srv);
}

static void test_live_events_and_reset(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--heartbeat 1"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    char epoch[40];
    long long last = health_seq(&srv, epoch);
    char url[256], lei[80];

    /* an unknown epoch: one reset, then the server closes */
    sse s = {0};
    snprintf(url, sizeof url, "%s/v1/events", srv.url);
    read_stream(url, "0000000000000000:3", &s, 5000);
    assert_true(s.reset);
    assert_int_equal(s.nseq, 0);
    assert_non_null(strstr(s.raw, "\"epoch\":\""));
    free(s.raw);
    /* a seq from the future: reset */
    memset(&s, 0, sizeof s);
    snprintf(url, sizeof url, "%s/v1/events?after=%lld", srv.url, last + 1000);
    read_stream(url, NULL, &s, 5000);
    assert_true(s.reset);
    free(s.raw);
    /* a heartbeat on an idle stream */
    memset(&s, 0, sizeof s);
    s.stop_on_hb = true;
    snprintf(url, sizeof url, "%s/v1/events", srv.url);
    read_stream(url, NULL, &s, 5000);
    assert_true(s.heartbeat);
    free(s.raw);
    /* an agent may not stream; no token: 401 */
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, t.buyer_token, "/v1/events", &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, NULL, "/v1/events", &r), 0);
    assert_int_equal(r.status, 401);
    testhttp_resp_free(&r);
    (void)lei;
    testsrv_stop(&srv);
}

#define CLIENTS 100

static void test_many_clients_receive_live_event(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, NULL), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    long long last = health_seq(&srv, NULL);
    CURLM *multi = curl_multi_init();
    static sse ss[CLIENTS];
    CURL *easy[CLIENTS];
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    char url[256];
    snprintf(url, sizeof url, "%s/v1/events", srv.url);
    for (int i = 0; i < CLIENTS; i++) {
        memset(&ss[i], 0, sizeof ss[i]);
        ss[i].stop_at = last + 1;
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &ss[i]);
        curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 20000L);
        curl_multi_add_handle(multi, easy[i]);
    }
    /* wait until the server reports every client connected */
    int running = 1;
    bool sent = false;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (running) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
        if (!sent) {
            testhttp_resp r;
            assert_int_equal(testsrv_get(&srv, NULL, "/metrics", &r), 0);
            char *p = strstr(r.body, "\nmarketd_stream_clients ");
            int n = p ? atoi(p + 24) : 0;
            testhttp_resp_free(&r);
            if (n >= CLIENTS) {
                char pur[72];
                assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
                sent = true;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(t1.tv_sec - t0.tv_sec < 30);
    }
    for (int i = 0; i < CLIENTS; i++) {
        assert_true(ss[i].nseq >= 1);
        assert_int_equal(ss[i].seqs[0], last + 1);
        curl_multi_remove_handle(multi, easy[i]);
        curl_easy_cleanup(easy[i]);
        free(ss[i].raw);
    }
    curl_slist_free_all(h);
    curl_multi_cleanup(multi);
    /* the server noticed they left */
    int n = -1;
    for (int k = 0; k < 200 && n != 0; k++) {
        testhttp_resp r;
        assert_int_equal(testsrv_get(&srv, NULL, "/metrics", &r), 0);
        char *p = strstr(r.body, "\nmarketd_stream_clients ");
        n = p ? atoi(p + 24) : -1;
        testhttp_resp_free(&r);
        if (n != 0) {
            /* a departed client is noticed when the next event or heartbeat is written */
            char pur[72];
            assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
            struct timespec nap = {0, 20000000L};
            nanosleep(&nap, NULL);
        }
    }
    assert_int_equal(n, 0);
    testsrv_stop(&srv);
}

static void test_kill9_restart_continues(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    traffic(&srv, &t, 3);
    /* acknowledged decisions, then a crash straight after the last answer */
    char purs[5][72];
    for (int i = 0; i < 5; i++)
        assert_int_equal(testsrv_market_purchase(&srv, &t, 41000 + i, 1, purs[i]), 0);
    for (int i = 0; i < 5; i++) {
        char path[160];
        snprintf(path, sizeof path, "/v1/purchases/%.71s/%s", purs[i], i % 2 ? "veto" : "approve");
        testhttp_resp r;
        char body[80];
        if (i % 2)
            snprintf(body, sizeof body, "{\"reason\":\"no %d\"}", i);
        else
            snprintf(body, sizeof body, "{\"expected_total_minor\":%d}", 41000 + i);
        assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, 1, body, &r), 0);
        assert_int_equal(r.status, 200);
        testhttp_resp_free(&r);
    }
    /* one more decision with a key of our own, to replay after the crash */
    char extra[72], url0[256], first_body[4096];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 47000, 1, extra), 0);
    snprintf(url0, sizeof url0, "%s/v1/purchases/%s/veto", srv.url, extra);
    const char *hdrs[] = {"Idempotency-Key: crash-replay-1", "If-Match: \"1\"", NULL};
    testhttp_resp r0;
    assert_int_equal(testhttp("POST", url0, TESTSRV_TOKEN_SUP2, hdrs, "{\"reason\":\"r\"}", &r0),
                     0);
    assert_int_equal(r0.status, 200);
    snprintf(first_body, sizeof first_body, "%s", r0.body);
    testhttp_resp_free(&r0);

    char epoch[40], epoch2[40];
    long long last = health_seq(&srv, epoch);
    int port = srv.port;
    testsrv_kill9(&srv);
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_int_equal(srv.port, port);
    assert_int_equal(health_seq(&srv, epoch2), last);
    assert_string_equal(epoch, epoch2);
    for (int i = 0; i < 5; i++) {
        char path[160], st[32];
        snprintf(path, sizeof path, "/v1/purchases/%.71s", purs[i]);
        testhttp_resp r;
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
        assert_true(testjson_str(r.body, "status", st, sizeof st));
        assert_string_equal(st, i % 2 ? "vetoed" : "settled");
        testhttp_resp_free(&r);
    }
    /* the stored answer survived too: the same key replays it, changing nothing */
    assert_int_equal(testhttp("POST", url0, TESTSRV_TOKEN_SUP2, hdrs, "{\"reason\":\"r\"}", &r0),
                     0);
    assert_int_equal(r0.status, 200);
    char replayed[16];
    assert_non_null(testhttp_header(&r0, "Idempotent-Replayed", replayed, sizeof replayed));
    assert_string_equal(r0.body, first_body);
    testhttp_resp_free(&r0);
    assert_int_equal(health_seq(&srv, NULL), last);

    /* resume across the crash: the old events, then a new one with the next seq */
    char lei[80], url[256];
    snprintf(lei, sizeof lei, "%s:%lld", epoch, last - 5);
    snprintf(url, sizeof url, "%s/v1/events", srv.url);
    sse s = {.stop_at = last};
    read_stream(url, lei, &s, 5000);
    assert_exact(&s, last - 5, last);
    free(s.raw);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    long long now = health_seq(&srv, NULL);
    assert_true(now > last);
    memset(&s, 0, sizeof s);
    s.stop_at = now;
    snprintf(lei, sizeof lei, "%s:%lld", epoch, last);
    read_stream(url, lei, &s, 5000);
    assert_exact(&s, last, now);
    free(s.raw);
    /* a clean stop and start keep them too */
    assert_int_equal(testsrv_terminate(&srv), 0);
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_int_equal(health_seq(&srv, epoch2), now);
    assert_string_equal(epoch, epoch2);
    testsrv_stop(&srv);
}

static void test_new_database_new_epoch(void **state)
{
    (void)state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    char ea[40], eb[40];
    health_seq(&a, ea);
    health_seq(&b, eb);
    assert_string_not_equal(ea, eb);
    testsrv_stop(&a);
    testsrv_stop(&b);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_from_any_seq),
        cmocka_unit_test(test_live_events_and_reset),
        cmocka_unit_test(test_many_clients_receive_live_event),
        cmocka_unit_test(test_kill9_restart_continues),
        cmocka_unit_test(test_new_database_new_epoch),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
