/* bench_marketd.c: measured figures for marketd on loopback.
 *
 *   events/s     agents' offers from LOAD_THREADS threads as fast as they go for a few
 *                seconds: committed events per second (from /v1/health seq)
 *   decisions    approvals of pending purchases by a supervisor while that load runs:
 *                round-trip latency p50/p99/max (each one a synchronous=FULL commit)
 *   streams      SSE clients connected at once, each receiving one live event
 *
 * Usage: bench_marketd [STREAM_CLIENTS]   (default 2000; MARKETD_BIN defaults to
 * build/marketd). Prints one line per figure.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define LOAD_THREADS 3
#define LOAD_SECONDS 4
#define DECISIONS    300

static testsrv srv;
static volatile int stop_load;

typedef struct loader {
    testsrv_market t;
    long requests;
} loader;

/* Offers back and forth on one negotiation until told to stop. */
static void *load_main(void *arg)
{
    loader *l = arg;
    char body[256], neg[72] = "", path[160];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"o\"}",
             l->t.listing_id);
    testhttp_resp r;
    testsrv_post(&srv, l->t.buyer_token, "/v1/negotiations", 0, body, &r);
    testjson_str(r.body, "negotiation.id", neg, sizeof neg);
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    for (int i = 0; !stop_load; i++) {
        snprintf(body, sizeof body,
                 "{\"kind\":\"counter\",\"unit_price_minor\":%d,\"quantity\":1,\"text\":\"c\"}",
                 40000 + i % 1000);
        testsrv_post(&srv, l->t.seller_token, path, 0, body, &r);
        testhttp_resp_free(&r);
        l->requests++;
    }
    return NULL;
}

typedef struct sse_count {
    long long want;
    bool got;
    char tail[48]; /* the end of the previous chunk, for a needle split across chunks */
} sse_count;

/* Stream callback: notes when the wanted seq's id line arrives. */
static size_t on_sse(char *d, size_t size, size_t n, void *ud)
{
    sse_count *c = ud;
    size_t len = size * n;
    char needle[48];
    snprintf(needle, sizeof needle, ":%lld\n", c->want);
    size_t tl = strlen(c->tail);
    char *buf = malloc(tl + len + 1);
    if (!buf)
        return 0;
    memcpy(buf, c->tail, tl);
    memcpy(buf + tl, d, len);
    buf[tl + len] = '\0';
    /* event data never holds a NUL, so strstr sees the whole chunk */
    if (strstr(buf, needle))
        c->got = true;
    size_t keep = tl + len < sizeof c->tail - 1 ? tl + len : sizeof c->tail - 1;
    memcpy(c->tail, buf + tl + len - keep, keep);
    c->tail[keep] = '\0';
    free(buf);
    return len;
}

/* Opens n streams at once, makes one event, counts the clients that received it. */
static void bench_streams(int n, testsrv_market *t)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    CURL **e = calloc((size_t)n, sizeof *e);
    sse_count *c = calloc((size_t)n, sizeof *c);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/events", srv.url);
    long long want = testsrv_seq(&srv) + 1;
    for (int i = 0; i < n; i++) {
        c[i].want = want;
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_sse);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &c[i]);
        curl_easy_setopt(e[i], CURLOPT_FORBID_REUSE, 1L);
        curl_multi_add_handle(m, e[i]);
    }
    double t0 = tproc_now_s(), connected_at = 0;
    long held = 0;
    int running = 1, got = 0;
    bool sent = false;
    while (running && tproc_now_s() - t0 < 60) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 20, NULL);
        if (!sent) {
            long k = testsrv_metric(&srv, "marketd_stream_clients");
            if (k >= n || tproc_now_s() - t0 > 30) {
                held = k;
                connected_at = tproc_now_s();
                char pur[72];
                testsrv_market_purchase(&srv, t, 45000, 1, pur);
                sent = true;
            }
        } else {
            got = 0;
            for (int i = 0; i < n; i++)
                got += c[i].got;
            if (got == n || tproc_now_s() - connected_at > 20)
                break;
        }
    }
    printf("stream clients held: %ld connected at once (of %d opened in %.1f s); %d received the "
           "live event within %.2f s\n",
           held, n, connected_at - t0, got, tproc_now_s() - connected_at);
    for (int i = 0; i < n; i++) {
        curl_multi_remove_handle(m, e[i]);
        curl_easy_cleanup(e[i]);
    }
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    free(e);
    free(c);
}

int main(int argc, char **argv)
{
    int nstreams = argc > 1 ? atoi(argv[1]) : 2000;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* its stream clients share one viewer token: admit them all (the default limit per
     * token is 128; tests/bench/bench_abuse measures the limits); the loaders are agents
     * at full speed on purpose: past the per-agent rate limit */
    if (testsrv_start(&srv,
                      "--decide-timeout 3600 --max-streams-per-token 100000 --agent-rate 0") != 0)
        return 1;
    printf("marketd %s, database %s\n", srv.url, srv.db);

    /* 1. events persisted per second under agent load */
    loader ls[LOAD_THREADS];
    pthread_t th[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++) {
        memset(&ls[i], 0, sizeof ls[i]);
        if (testsrv_market_setup(&srv, &ls[i].t, 0) != 0)
            return 1;
    }
    long long s0 = testsrv_seq(&srv);
    double t0 = tproc_now_s();
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_create(&th[i], NULL, load_main, &ls[i]);

    /* 2. decision latency while the load runs */
    testsrv_market d;
    testsrv_market_setup(&srv, &d, 0);
    double lat[DECISIONS];
    int nd = 0;
    double dl_start = tproc_now_s();
    for (int i = 0; i < DECISIONS && tproc_now_s() - dl_start < LOAD_SECONDS * 3; i++) {
        char pur[72], path[160], body[80];
        if (testsrv_market_purchase(&srv, &d, 1000 + i, 1, pur) != 0)
            break;
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
        snprintf(body, sizeof body, "{\"expected_total_minor\":%d}", 1000 + i);
        testhttp_resp r;
        double a = tproc_now_s();
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, 1, body, &r);
        double b = tproc_now_s();
        if (r.status == 200)
            lat[nd++] = (b - a) * 1000.0;
        testhttp_resp_free(&r);
    }
    double elapsed_dec = tproc_now_s() - dl_start;
    while (tproc_now_s() - t0 < LOAD_SECONDS) {
        struct timespec nap = {0, 50000000L};
        nanosleep(&nap, NULL);
    }
    stop_load = 1;
    long reqs = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(th[i], NULL);
        reqs += ls[i].requests;
    }
    double t1 = tproc_now_s();
    long long s1 = testsrv_seq(&srv);
    printf("events persisted: %lld in %.2f s = %.0f events/s (%ld agent counters + %d "
           "purchases/decisions, %d client threads)\n",
           s1 - s0, t1 - t0, (double)(s1 - s0) / (t1 - t0), reqs, nd, LOAD_THREADS + 1);
    qsort(lat, (size_t)nd, sizeof lat[0], tproc_cmp_double);
    if (nd > 0)
        printf("decision latency under load: n=%d p50 %.2f ms, p99 %.2f ms, max %.2f ms "
               "(%.1f decisions/s alongside the load)\n",
               nd, lat[nd / 2], lat[(nd * 99) / 100 < nd ? (nd * 99) / 100 : nd - 1], lat[nd - 1],
               nd / elapsed_dec);

    /* 3. stream clients held */
    bench_streams(nstreams, &d);
    testsrv_stop(&srv);
    curl_global_cleanup();
    return 0;
}
