/* bench_stats.c: GET /v1/stats/agents (docs/api.md, "Statistics") over a market of
 * 100,000 purchases, and what the market's lock does meanwhile.
 *
 * The market: a real marketd makes two deals through the agent endpoints (their rows are
 * the templates); it is stopped and the purchases are cloned in its SQLite file, in one
 * transaction, as marketd writes them (the same JSON with its fields changed, the same
 * indexed columns): 200 agents (100 buyers, 100 sellers), 1,000 listings with their
 * references, 100,000 negotiations with three messages each (offer, counter, accept) and
 * 100,000 purchases over the last seven days (70% settled, 5% each refunded, vetoed,
 * capped, expired, pending; one in five flagged). marketd is started again on it.
 * Decisions are not generated: the scorecards read none.
 *
 * Measured: the answer's time for the windows all, 7d and 24h (the median of three), and,
 * while one "all" read runs, GET /v1/health in a loop from three clients (each request
 * takes the market's lock): how many answered during the read, and how many of them in
 * under 50 ms (the read holds the lock only to open its snapshot; a held lock would let
 * none through). Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define PURCHASES 100000
#define AGENTS    100 /* buyers, and as many sellers */
#define LISTINGS  1000
#define SPAN_MS   (7LL * 86400000) /* the purchases' times spread over seven days */

static testsrv srv;

/* The clones, from the templates (the rows named by :pur, :neg, :lst, :buyer, :seller). */
static const char clone_sql[] =
    "CREATE TEMP TABLE g(i INTEGER PRIMARY KEY);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<100000)"
    " INSERT INTO g SELECT i FROM n;"
    "CREATE TEMP TABLE tpl AS SELECT"
    " (SELECT json FROM objects WHERE kind='agent' AND id=:buyer) AS buyer,"
    " (SELECT json FROM objects WHERE kind='agent' AND id=:seller) AS seller,"
    " (SELECT json FROM objects WHERE kind='listing' AND id=:lst) AS lst,"
    " (SELECT json FROM objects WHERE kind='negotiation' AND id=:neg) AS neg,"
    " (SELECT json FROM objects WHERE kind='purchase' AND id=:pur) AS pur,"
    " (SELECT json FROM messages WHERE negotiation_id=:neg ORDER BY seq LIMIT 1) AS msg,"
    " CAST(strftime('%s','now') AS INTEGER)*1000 AS now;"
    "INSERT INTO objects(kind,id,status,p1,p2,created,json) SELECT 'agent', 'agt_sb'||i,"
    " 'active', NULL, NULL, now, json_set(buyer,'$.id','agt_sb'||i,'$.name','bench buyer '||i)"
    " FROM g, tpl WHERE i<=100;"
    "INSERT INTO objects(kind,id,status,p1,p2,created,json) SELECT 'agent', 'agt_ss'||i,"
    " 'active', NULL, NULL, now, json_set(seller,'$.id','agt_ss'||i,'$.name','bench seller '||i)"
    " FROM g, tpl WHERE i<=100;"
    "INSERT INTO objects(kind,id,status,p1,p2,created,json) SELECT 'listing', 'lst_s'||i, 'open',"
    " 'agt_ss'||(i%100+1), NULL, now-8*86400000, json_set(lst,'$.id','lst_s'||i,"
    " '$.seller_id','agt_ss'||(i%100+1),'$.reference_price_minor',10000+i*100,"
    " '$.unit_price_minor',10000+i*100) FROM g, tpl WHERE i<=1000;"
    "INSERT INTO objects(kind,id,status,p1,p2,created,json) SELECT 'negotiation', 'neg_s'||i,"
    " 'agreed', 'agt_sb'||(i%100+1), 'agt_ss'||((i%1000+1)%100+1), now-i*6048-60000-(i%7)*1000,"
    " json_set(neg,'$.id','neg_s'||i,'$.listing_id','lst_s'||(i%1000+1),"
    " '$.buyer_id','agt_sb'||(i%100+1),'$.seller_id','agt_ss'||((i%1000+1)%100+1))"
    " FROM g, tpl;"
    "INSERT INTO messages(negotiation_id,seq,from_id,kind,at,json) SELECT 'neg_s'||i, k.s,"
    " CASE k.s WHEN 2 THEN 'agt_ss'||((i%1000+1)%100+1) ELSE 'agt_sb'||(i%100+1) END, k.kind,"
    " now-i*6048-30000*(3-k.s), json_set(msg,'$.negotiation_id','neg_s'||i,'$.seq',k.s,"
    " '$.kind',k.kind) FROM g, tpl, (SELECT 1 AS s, 'offer' AS kind UNION ALL SELECT 2,"
    " 'counter' UNION ALL SELECT 3, 'accept') k;"
    "INSERT INTO objects(kind,id,status,p1,p2,created,json) SELECT 'purchase', 'pur_s'||i, st,"
    " b, s, now-i*6048, json_set(pur,'$.id','pur_s'||i,'$.buyer_id',b,'$.seller_id',s,"
    " '$.listing_id','lst_s'||(i%1000+1),'$.negotiation_id','neg_s'||i,'$.status',st,"
    " '$.unit_price_minor',up,'$.total_minor',up*q,'$.quantity',q,'$.flags',json(fl))"
    " FROM (SELECT i, now, pur, 'agt_sb'||(i%100+1) AS b, 'agt_ss'||((i%1000+1)%100+1) AS s,"
    " (10000+(i%1000+1)*100)*(80+(i*7)%41)/100 AS up, 1+i%3 AS q,"
    " CASE i%20 WHEN 0 THEN 'refunded' WHEN 1 THEN 'vetoed' WHEN 2 THEN 'capped' WHEN 3 THEN"
    " 'expired' WHEN 4 THEN 'pending_approval' WHEN 5 THEN 'approved' ELSE 'settled' END AS st,"
    " CASE WHEN i%5=0 THEN '[{\"rule\":\"overpay\",\"severity\":\"warning\",\"detail\":\"x\"},"
    "{\"rule\":\"duplicate\",\"severity\":\"warning\",\"detail\":\"y\"}]' ELSE '[]' END AS fl"
    " FROM g, tpl);";

/* Clones the market in the stopped server's file. 0 or -1. */
static int clone(const char *pur, const char *neg, const char *lst, const char *buyer,
                 const char *seller)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    const char *tail = clone_sql;
    int rc = sqlite3_open(srv.db, &db) == SQLITE_OK &&
                     sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : -1;
    while (rc == 0 && *tail) {
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            rc = -1;
            break;
        }
        if (!st)
            break;
        const char *names[][2] = {
            {":pur", pur}, {":neg", neg}, {":lst", lst}, {":buyer", buyer}, {":seller", seller}};
        for (int k = 0; k < 5; k++) {
            int at = sqlite3_bind_parameter_index(st, names[k][0]);
            if (at)
                sqlite3_bind_text(st, at, names[k][1], -1, SQLITE_STATIC);
        }
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc != 0)
        fprintf(stderr, "bench_stats: clone: %s\n", sqlite3_errmsg(db));
    rc = rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    sqlite3_close(db);
    return rc;
}

/* Appends what curl received to the size_t ud points at (the answer's length). */
static size_t count_body(char *buf, size_t size, size_t n, void *ud)
{
    (void)buf;
    *(size_t *)ud += size * n;
    return size * n;
}

/* One timed GET of the scorecards over window w as sup1: ms, or -1. Its own transfer with
 * a two-minute timeout (testhttp's is 10 s: an "all" read on a loaded machine can take
 * longer, and a request given up would leave the read running in the server). */
static double stats_ms(const char *w, size_t *bytes)
{
    char url[160], auth[128];
    snprintf(url, sizeof url, "%s/v1/stats/agents?window=%s", srv.url, w);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", TESTSRV_TOKEN_SUP1);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    size_t got = 0;
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    double t0 = tproc_now_s();
    CURLcode rc = curl_easy_perform(c);
    double ms = (tproc_now_s() - t0) * 1000.0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "bench_stats: window=%s: %s, HTTP %ld\n", w, curl_easy_strerror(rc),
                status);
        ms = -1;
    }
    if (bytes)
        *bytes = got;
    return ms;
}

static volatile int reading; /* a stats read in the thread is running */

#define HEALTH_CLIENTS 3

/* One client's GET /v1/health in a loop while the read runs. */
typedef struct health_probe {
    int answered, fast; /* answers, and those in under 50 ms */
} health_probe;

static void *health_loop(void *ud)
{
    health_probe *p = ud;
    while (__atomic_load_n(&reading, __ATOMIC_SEQ_CST)) {
        testhttp_resp r;
        double a = tproc_now_s();
        if (testsrv_get(&srv, NULL, "/v1/health", &r) == 0 && r.status == 200 &&
            __atomic_load_n(&reading, __ATOMIC_SEQ_CST)) {
            p->answered++;
            p->fast += (tproc_now_s() - a) * 1000.0 < 50.0;
        }
        testhttp_resp_free(&r);
    }
    return NULL;
}

static void *read_all(void *ud)
{
    *(double *)ud = stats_ms("all", NULL);
    __atomic_store_n(&reading, 0, __ATOMIC_SEQ_CST);
    return NULL;
}

/* The template deals: two purchases of t's buyer, one settled. 0 or -1. */
static int templates(testsrv_market *t, char pur[72], char neg[72])
{
    if (testsrv_market_setup(&srv, t, 100000000) != 0 ||
        testsrv_market_purchase(&srv, t, 45000, 1, pur) != 0)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    testhttp_resp r;
    int rc = testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r) == 0 && r.status == 200 &&
                     testjson_str(r.body, "negotiation_id", neg, 72)
                 ? 0
                 : -1;
    testhttp_resp_free(&r);
    return rc;
}

int main(void)
{
    testsrv_market t;
    char pur[72], neg[72];
    if (testsrv_start(&srv, NULL) != 0 || templates(&t, pur, neg) != 0) {
        fprintf(stderr, "bench_stats: the template market could not be made\n");
        return 1;
    }
    double t0 = tproc_now_s();
    if (testsrv_terminate(&srv) != 0 ||
        clone(pur, neg, t.listing_id, t.buyer_id, t.seller_id) != 0 || testsrv_restart(&srv) != 0) {
        fprintf(stderr, "bench_stats: the market could not be cloned\n");
        testsrv_stop(&srv);
        return 1;
    }
    printf("market: %d purchases, %d negotiations (%d messages), %d listings, %d agents made "
           "in %.1f s\n",
           PURCHASES, PURCHASES, 3 * PURCHASES, LISTINGS, 2 * AGENTS, tproc_now_s() - t0);
    static const char *const windows[] = {"all", "7d", "24h"};
    int failed = 0;
    for (size_t w = 0; w < 3; w++) {
        double runs[3];
        size_t bytes = 0;
        for (int k = 0; k < 3; k++)
            failed += (runs[k] = stats_ms(windows[w], &bytes)) < 0;
        qsort(runs, 3, sizeof runs[0], tproc_cmp_double);
        printf("stats/agents window=%s: %.1f ms (median of 3: %.1f, %.1f, %.1f), %zu bytes\n",
               windows[w], runs[1], runs[0], runs[1], runs[2], bytes);
        printf("BENCH|stats|stats/agents over %d purchases, window %s|%.1f|ms|-|info\n", PURCHASES,
               windows[w], runs[1]);
    }
    /* the lock meanwhile: GET /v1/health takes it on every request, from HEALTH_CLIENTS
     * clients at once (a connection that marketd's pool put on the thread doing the read
     * waits for that thread, lock or not: docs/benchmarks.md) */
    double all = 0;
    pthread_t th, hc[HEALTH_CLIENTS];
    health_probe probes[HEALTH_CLIENTS] = {0};
    __atomic_store_n(&reading, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&th, NULL, read_all, &all) != 0)
        return 1;
    for (int i = 0; i < HEALTH_CLIENTS; i++)
        pthread_create(&hc[i], NULL, health_loop, &probes[i]);
    pthread_join(th, NULL);
    int answered = 0, fast = 0;
    for (int i = 0; i < HEALTH_CLIENTS; i++) {
        pthread_join(hc[i], NULL);
        answered += probes[i].answered;
        fast += probes[i].fast;
    }
    printf("during one %.1f ms read (window all): %d health requests answered (each takes the "
           "market's lock), %d of them in under 50 ms\n",
           all, answered, fast);
    printf("BENCH|stats|GET /v1/health answered during one stats read|%d|count|more than 1: the "
           "lock is free|%s\n",
           answered, fast > 1 ? "met" : "missed");
    testsrv_stop(&srv);
    return failed || all < 0 ? 1 : 0;
}
