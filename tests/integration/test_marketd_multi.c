/* test_marketd_multi.c: several marketd instances on one PostgreSQL database serve one
 * market (issue 18; docs/scaling.md, marketd/store_pg_multi.c).
 *
 * - One decision raced through two and through three instances: exactly one 200, the
 *   others 409 or 412, one decision recorded per purchase.
 * - An Idempotency-Key answered on one instance is replayed by another, also when both
 *   get it at the same moment.
 * - Writes through three instances at once: one gapless seq, 1..N, each once, in order,
 *   and every instance's stream delivers all of them (LISTEN/NOTIFY fan-out).
 * - A stream read from one instance while decisions go through another: every seq
 *   exactly once, in order.
 * - The leader's death: kill -9 of the instance running expiry, and another instance
 *   expires a purchase past its decide_by.
 * - PostgreSQL restarted under writes and a stream (pg_ctl restart, tests/run.sh's
 *   TEST_PG_CTL): the writes get 503 with Retry-After meanwhile and go through when
 *   retried, nothing acknowledged is lost, and the stream goes on, whole.
 *
 * PostgreSQL only: on the SQLite run (or without the PostgreSQL run of tests/run.sh) each
 * test says it is skipped. Waits are for states (a seq reached, a status), bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/pgtest.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

/* Skips the running test (saying why) unless this is the PostgreSQL run. */
#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!pgtest_engine() || !pgtest_cluster()) {                                               \
            print_message("skipped: several instances need the PostgreSQL run of "                 \
                          "tests/run.sh\n");                                                       \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- decisions raced ------------------------------------------------------------ */

typedef struct shot {
    testsrv *s;
    const char *token;
    char path[160];
    char body[128];
    char key[48]; /* "" : a fresh one */
    long long version;
    pthread_barrier_t *go;
    testhttp_resp r;
} shot;

/* One POST, fired after the barrier. */
static void *fire(void *arg)
{
    shot *sh = arg;
    pthread_barrier_wait(sh->go);
    if (!sh->key[0]) {
        testsrv_post(sh->s, sh->token, sh->path, sh->version, sh->body, &sh->r);
        return NULL;
    }
    char url[256], k[80], v[40];
    snprintf(url, sizeof url, "%s%s", sh->s->url, sh->path);
    snprintf(k, sizeof k, "Idempotency-Key: %s", sh->key);
    snprintf(v, sizeof v, "If-Match: \"%lld\"", sh->version);
    const char *h[] = {k, v, NULL};
    testhttp("POST", url, sh->token, h, sh->body, &sh->r);
    return NULL;
}

/* Fires the shots at once and waits for their answers. */
static void fire_all(shot *sh, int n)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    pthread_t th[4];
    for (int i = 0; i < n; i++) {
        sh[i].go = &go;
        pthread_create(&th[i], NULL, fire, &sh[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
}

/* How many decisions the market holds (read through s). */
static long long decisions(testsrv *s)
{
    char *all = testsrv_list(s, TESTSRV_TOKEN_SUP1, "/v1/decisions");
    assert_non_null(all);
    long long n = testjson_len(all, "");
    free(all);
    return n;
}

/* The current version of purchase pur (read through s). */
static long long version_of(testsrv *s, const char *pur)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    testhttp_resp g;
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &g), 0);
    long long v = testjson_int(g.body, "version");
    testhttp_resp_free(&g);
    return v;
}

/* trials purchases, each decided through n instances at once (an approval through the
 * first, vetoes through the others): one winner each, one decision each. */
static void race(int n, int trials)
{
    testsrv srv[3];
    assert_int_equal(testsrv_start(&srv[0], "--decide-timeout 600"), 0);
    for (int i = 1; i < n; i++)
        assert_int_equal(testsrv_start_on(&srv[i], &srv[0], "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv[0], &t, 0), 0);
    long long before = decisions(&srv[n - 1]);
    int wins[3] = {0};
    for (int k = 0; k < trials; k++) {
        char pur[72];
        assert_int_equal(testsrv_market_purchase(&srv[k % n], &t, 40000 + k, 1, pur), 0);
        long long v = version_of(&srv[(k + 1) % n], pur);
        shot sh[3];
        memset(sh, 0, sizeof sh);
        for (int i = 0; i < n; i++) {
            sh[i].s = &srv[i];
            sh[i].token = i % 2 ? TESTSRV_TOKEN_SUP2 : TESTSRV_TOKEN_SUP1;
            sh[i].version = v;
            snprintf(sh[i].path, sizeof sh[i].path, "/v1/purchases/%s/%s", pur,
                     i ? "veto" : "approve");
            if (i)
                snprintf(sh[i].body, sizeof sh[i].body, "{\"reason\":\"race %d via %d\"}", k, i);
            else
                snprintf(sh[i].body, sizeof sh[i].body, "{\"expected_total_minor\":%d}", 40000 + k);
        }
        fire_all(sh, n);
        int won = -1;
        for (int i = 0; i < n; i++) {
            if (sh[i].r.status == 200) {
                if (won >= 0)
                    fail_msg("trial %d: instances %d and %d both won", k, won, i);
                won = i;
            } else if (sh[i].r.status != 409 && sh[i].r.status != 412) {
                fail_msg("trial %d: instance %d answered %ld: %s", k, i, sh[i].r.status,
                         sh[i].r.body);
            }
        }
        if (won < 0)
            fail_msg("trial %d: no winner", k);
        wins[won]++;
        for (int i = 0; i < n; i++)
            testhttp_resp_free(&sh[i].r);
    }
    assert_int_equal(decisions(&srv[0]) - before, trials);
    print_message("%d instances, %d trials: wins %d %d %d, one decision each\n", n, trials, wins[0],
                  wins[1], wins[2]);
    for (int i = n - 1; i >= 0; i--)
        testsrv_stop(&srv[i]);
}

static void test_race_two_instances(void **state)
{
    (void)state;
    NEED_PG();
    race(2, 20);
}

static void test_race_three_instances(void **state)
{
    (void)state;
    NEED_PG();
    race(3, 12);
}

/* ---- idempotency keys across instances -------------------------------------------- */

static void test_idempotency_key_on_another_instance(void **state)
{
    (void)state;
    NEED_PG();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--decide-timeout 600"), 0);
    assert_int_equal(testsrv_start_on(&b, &a, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0);
    long long before = decisions(&a);
    /* answered on a, then the same request with the same key on b: the same answer */
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&a, &t, 41000, 1, pur), 0);
    shot one = {.s = &a, .token = TESTSRV_TOKEN_SUP1, .version = version_of(&a, pur)};
    snprintf(one.path, sizeof one.path, "/v1/purchases/%s/veto", pur);
    snprintf(one.body, sizeof one.body, "{\"reason\":\"once\"}");
    snprintf(one.key, sizeof one.key, "multi-replay-1");
    fire_all(&one, 1);
    assert_int_equal(one.r.status, 200);
    shot again = one;
    memset(&again.r, 0, sizeof again.r);
    again.s = &b;
    fire_all(&again, 1);
    assert_int_equal(again.r.status, 200);
    assert_string_equal(again.r.body, one.r.body);
    char rep[16];
    assert_non_null(testhttp_header(&again.r, "Idempotent-Replayed", rep, sizeof rep));
    assert_string_equal(rep, "true");
    testhttp_resp_free(&one.r);
    testhttp_resp_free(&again.r);
    /* one key sent to both at the same moment: one decision, two equal answers */
    for (int k = 0; k < 10; k++) {
        assert_int_equal(testsrv_market_purchase(&b, &t, 42000 + k, 1, pur), 0);
        shot sh[2];
        memset(sh, 0, sizeof sh);
        for (int i = 0; i < 2; i++) {
            sh[i].s = i ? &b : &a;
            sh[i].token = TESTSRV_TOKEN_SUP1;
            sh[i].version = version_of(&a, pur);
            snprintf(sh[i].path, sizeof sh[i].path, "/v1/purchases/%s/approve", pur);
            snprintf(sh[i].body, sizeof sh[i].body, "{\"expected_total_minor\":%d}", 42000 + k);
            snprintf(sh[i].key, sizeof sh[i].key, "multi-both-%d", k);
        }
        fire_all(sh, 2);
        assert_int_equal(sh[0].r.status, 200);
        assert_int_equal(sh[1].r.status, 200);
        assert_string_equal(sh[0].r.body, sh[1].r.body);
        testhttp_resp_free(&sh[0].r);
        testhttp_resp_free(&sh[1].r);
    }
    assert_int_equal(decisions(&b) - before, 11);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

/* ---- the event log and the streams --------------------------------------------- */

/* What one stream read collected. */
typedef struct sse {
    char *raw;
    size_t len, scanned;
    long long seqs[8192];
    int nseq;
    long long stop_at; /* stop once this seq has arrived (0: not yet known; atomic) */
    bool bad;          /* a seq out of order or twice */
} sse;

/* libcurl write callback: appends, reads the ids of complete lines, stops at the goal. */
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
    char *p = s->raw + s->scanned, *nl;
    while ((nl = strchr(p, '\n'))) {
        char *colon = strncmp(p, "id: ", 4) == 0 ? memchr(p + 4, ':', (size_t)(nl - p - 4)) : NULL;
        if (colon && s->nseq < 8192) {
            long long seq = atoll(colon + 1);
            if (s->nseq && seq != s->seqs[s->nseq - 1] + 1)
                s->bad = true;
            s->seqs[s->nseq++] = seq;
        }
        p = nl + 1;
    }
    s->scanned = (size_t)(p - s->raw);
    long long stop = __atomic_load_n(&s->stop_at, __ATOMIC_ACQUIRE);
    if (stop && s->nseq && s->seqs[s->nseq - 1] >= stop)
        return 0;
    return len;
}

/* A stream read in a thread of its own: url, after. */
typedef struct reader {
    char url[200];
    sse s;
    pthread_t th;
} reader;

/* libcurl progress callback (called about once a second and on data): ends the read
 * once the goal, set after the last write, has arrived already. */
static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    sse *s = ud;
    long long stop = __atomic_load_n(&s->stop_at, __ATOMIC_ACQUIRE);
    return stop && s->nseq && s->seqs[s->nseq - 1] >= stop;
}

static void *read_main(void *arg)
{
    reader *rd = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_VIEW1);
    curl_easy_setopt(c, CURLOPT_URL, rd->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &rd->s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L); /* a failure's bound, not a wait */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &rd->s);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

/* Sets the reader's goal, waits for it and checks after+1 .. last, once each, in order. */
static void read_check(reader *rd, long long after, long long last)
{
    __atomic_store_n(&rd->s.stop_at, last, __ATOMIC_RELEASE);
    pthread_join(rd->th, NULL);
    if (rd->s.bad || rd->s.nseq != last - after || (rd->s.nseq && rd->s.seqs[0] != after + 1))
        fail_msg("stream %s: %d events from %lld to %lld, wanted %lld..%lld%s", rd->url, rd->s.nseq,
                 rd->s.nseq ? rd->s.seqs[0] : 0, rd->s.nseq ? rd->s.seqs[rd->s.nseq - 1] : 0,
                 after + 1, last, rd->s.bad ? " (out of order)" : "");
    free(rd->s.raw);
}

/* The epoch and seq of s (GET /v1/health). */
static long long health(testsrv *s, char epoch[40])
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, NULL, "/v1/health", &r), 0);
    assert_int_equal(r.status, 200);
    long long seq = testjson_int(r.body, "seq");
    if (epoch)
        assert_true(testjson_str(r.body, "epoch", epoch, 40));
    testhttp_resp_free(&r);
    return seq;
}

/* The stream's url with the epoch in its position (after=EPOCH:SEQ). */
static void read_from(reader *rd, testsrv *s, const char *epoch, long long after)
{
    memset(rd, 0, sizeof *rd);
    snprintf(rd->url, sizeof rd->url, "%s/v1/events?after=%s:%lld", s->url, epoch, after);
    pthread_create(&rd->th, NULL, read_main, rd);
}

/* Purchases made through one instance (a thread each). */
typedef struct writer {
    testsrv *s;
    testsrv_market *t;
    int n, base;
    int failed;
} writer;

static void *write_main(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < w->n; i++) {
        char pur[72];
        if (testsrv_market_purchase(w->s, w->t, w->base + i, 1, pur) != 0)
            w->failed++;
    }
    return NULL;
}

static void test_gapless_seq_under_concurrent_writes(void **state)
{
    (void)state;
    NEED_PG();
    testsrv srv[3];
    assert_int_equal(testsrv_start(&srv[0], "--decide-timeout 600"), 0);
    for (int i = 1; i < 3; i++)
        assert_int_equal(testsrv_start_on(&srv[i], &srv[0], "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv[1], &t, 0), 0);
    char epoch[40];
    long long seq0 = health(&srv[0], epoch);
    /* each instance's stream, from before the writes */
    reader rd[3];
    for (int i = 0; i < 3; i++)
        read_from(&rd[i], &srv[i], epoch, seq0);
    writer w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (writer){&srv[i], &t, 8, 43000 + 100 * i, 0};
        pthread_create(&th[i], NULL, write_main, &w[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failed, 0);
    }
    long long last = health(&srv[2], NULL);
    assert_true(last > seq0 + 24);
    for (int i = 0; i < 3; i++) /* one seq: the same on every instance */
        assert_int_equal(health(&srv[i], NULL), last);
    for (int i = 0; i < 3; i++)
        read_check(&rd[i], seq0, last);
    /* and the whole log, read back from the start, has no gap */
    reader all;
    read_from(&all, &srv[0], epoch, 0);
    read_check(&all, 0, last);
    print_message("%lld events through 3 instances, each stream 1..%lld once, in order\n",
                  last - seq0, last);
    for (int i = 2; i >= 0; i--)
        testsrv_stop(&srv[i]);
}

static void test_stream_on_one_decisions_through_another(void **state)
{
    (void)state;
    NEED_PG();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--decide-timeout 600"), 0);
    assert_int_equal(testsrv_start_on(&b, &a, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&b, &t, 0), 0);
    char epoch[40];
    long long seq0 = health(&a, epoch);
    reader rd;
    read_from(&rd, &a, epoch, seq0);
    for (int k = 0; k < 10; k++) {
        char pur[72];
        assert_int_equal(testsrv_market_purchase(&b, &t, 44000 + k, 1, pur), 0);
        shot sh = {.s = &b, .token = TESTSRV_TOKEN_SUP1, .version = version_of(&b, pur)};
        snprintf(sh.path, sizeof sh.path, "/v1/purchases/%s/%s", pur, k % 2 ? "veto" : "approve");
        if (k % 2)
            snprintf(sh.body, sizeof sh.body, "{\"reason\":\"no %d\"}", k);
        else
            snprintf(sh.body, sizeof sh.body, "{\"expected_total_minor\":%d}", 44000 + k);
        fire_all(&sh, 1);
        assert_int_equal(sh.r.status, 200);
        testhttp_resp_free(&sh.r);
    }
    long long last = health(&b, NULL);
    read_check(&rd, seq0, last);
    print_message("a stream on one instance: %lld events committed through the other, once "
                  "each, in order\n",
                  last - seq0);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

/* ---- the leader --------------------------------------------------------------------- */

/* Waits (bounded) until purchase pur, read through s, is no longer pending: its status. */
static void wait_status(testsrv *s, const char *pur, char st[32])
{
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    int64_t deadline = tproc_now_ms() + 30000;
    for (;;) {
        testhttp_resp g;
        assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &g), 0);
        assert_true(testjson_str(g.body, "status", st, 32));
        testhttp_resp_free(&g);
        if (strcmp(st, "pending_approval") != 0)
            return;
        if (tproc_now_ms() > deadline)
            fail_msg("%s still pending 30 s after its decide_by", pur);
        tproc_nap(50);
    }
}

/* The metric of purchases expired by an instance (marketd/metrics.c). */
#define EXPIRED "marketd_purchases_expired_total"

static void test_leader_death_another_expires(void **state)
{
    (void)state;
    NEED_PG();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--decide-timeout 1"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0);
    /* a alone: it leads, and expires */
    char pur[72], st[32];
    assert_int_equal(testsrv_market_purchase(&a, &t, 45000, 1, pur), 0);
    wait_status(&a, pur, st);
    assert_string_equal(st, "expired");
    /* b joins (a keeps the lead), then a dies without a word */
    assert_int_equal(testsrv_start_on(&b, &a, "--decide-timeout 1"), 0);
    assert_int_equal(testsrv_market_purchase(&b, &t, 45001, 1, pur), 0);
    wait_status(&b, pur, st);
    assert_string_equal(st, "expired");
    /* ... by a, the leader: b ran no expiry (each instance counts its own) */
    assert_int_equal(testsrv_metric(&a, EXPIRED), 2);
    assert_int_equal(testsrv_metric(&b, EXPIRED), 0);
    testsrv_kill9(&a);
    /* b takes the lead when PostgreSQL ends a's session, and expires what is due */
    assert_int_equal(testsrv_market_purchase(&b, &t, 45002, 1, pur), 0);
    wait_status(&b, pur, st);
    assert_string_equal(st, "expired");
    assert_int_equal(testsrv_metric(&b, EXPIRED), 1);
    testsrv_stop(&b);
    testsrv_stop(&a); /* its folder and the database */
}

/* ---- PostgreSQL restarted ------------------------------------------------------- */

/* A seller posting listings through one instance, each retried with its own
 * Idempotency-Key until it is acknowledged (201): through a restart of PostgreSQL. */
typedef struct lister {
    testsrv *s;
    testsrv_market *t;
    int n;
    int acked;          /* acknowledged so far (atomic) */
    int unavailable;    /* 503 answers (with Retry-After) and transport failures */
    int no_retry_after; /* 503 answers without it */
    char ids[40][72];
    int failed;
} lister;

static void *list_main(void *arg)
{
    lister *l = arg;
    for (int i = 0; i < l->n && !l->failed; i++) {
        char key[48], url[256], k[80], body[256];
        testsrv_key(key);
        snprintf(url, sizeof url, "%s/v1/listings", l->s->url);
        snprintf(k, sizeof k, "Idempotency-Key: %s", key);
        snprintf(body, sizeof body,
                 "{\"title\":\"restart %d\",\"description\":\"d\",\"category\":\"bikes\","
                 "\"unit_price_minor\":50000,\"currency\":\"USD\",\"quantity\":1,"
                 "\"floor_minor\":30000}",
                 i);
        const char *h[] = {k, NULL};
        int64_t deadline = tproc_now_ms() + 60000;
        for (;;) {
            testhttp_resp r = {0};
            int rc = testhttp("POST", url, l->t->seller_token, h, body, &r);
            char ra[16];
            if (rc == 0 && r.status == 201) {
                testjson_str(r.body, "id", l->ids[i], sizeof l->ids[i]);
                testhttp_resp_free(&r);
                break;
            }
            if (rc != 0 || r.status == 503) {
                l->unavailable++;
                if (rc == 0 && !testhttp_header(&r, "Retry-After", ra, sizeof ra))
                    l->no_retry_after++;
            } else {
                fprintf(stderr, "listing %d: %ld %s\n", i, r.status, r.body);
                l->failed = 1;
            }
            testhttp_resp_free(&r);
            if (l->failed || tproc_now_ms() > deadline) {
                l->failed = 1;
                break;
            }
            tproc_nap(50);
        }
        __atomic_add_fetch(&l->acked, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* The seq of s once its /v1/health answers 200 again (bounded). */
static long long health_when_up(testsrv *s)
{
    int64_t deadline = tproc_now_ms() + 30000;
    long long seq;
    while ((seq = testsrv_seq(s)) < 0) {
        assert_true(tproc_now_ms() < deadline);
        tproc_nap(50);
    }
    return seq;
}

static void test_postgresql_restarted_mid_stream(void **state)
{
    (void)state;
    NEED_PG();
    const char *ctl = getenv("TEST_PG_CTL"); /* tests/run.sh: pg_ctl on the run's cluster */
    if (!ctl || !*ctl) {
        print_message("skipped: TEST_PG_CTL (tests/run.sh) names no pg_ctl to restart with\n");
        skip();
    }
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--decide-timeout 600"), 0);
    assert_int_equal(testsrv_start_on(&b, &a, "--decide-timeout 600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0);
    char epoch[40];
    long long seq0 = health(&a, epoch);
    reader rd;
    read_from(&rd, &a, epoch, seq0);
    lister l = {.s = &b, .t = &t, .n = 30};
    pthread_t th;
    pthread_create(&th, NULL, list_main, &l);
    int64_t deadline = tproc_now_ms() + 30000;
    while (__atomic_load_n(&l.acked, __ATOMIC_ACQUIRE) < 5) { /* under way */
        assert_true(tproc_now_ms() < deadline);
        tproc_nap(10);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -m fast -w -t 60 restart >/dev/null 2>&1", ctl);
    assert_int_equal(system(cmd), 0);
    pthread_join(th, NULL);
    assert_int_equal(l.failed, 0);
    assert_int_equal(l.no_retry_after, 0);
    long long last = health_when_up(&b);
    assert_int_equal(health_when_up(&a), last);
    read_check(&rd, seq0, last);    /* the stream on a went on: every seq once, in order */
    for (int i = 0; i < l.n; i++) { /* nothing acknowledged was lost */
        char path[128];
        snprintf(path, sizeof path, "/v1/listings/%s", l.ids[i]);
        testhttp_resp g;
        assert_int_equal(testsrv_get(&a, TESTSRV_TOKEN_SUP1, path, &g), 0);
        assert_int_equal(g.status, 200);
        testhttp_resp_free(&g);
    }
    print_message("PostgreSQL restarted under %d listings: %d answers 503 (Retry-After) or no "
                  "connection, all %d acknowledged kept, the stream 1..%lld whole\n",
                  l.n, l.unavailable, l.n, last);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_race_two_instances),
        cmocka_unit_test(test_race_three_instances),
        cmocka_unit_test(test_idempotency_key_on_another_instance),
        cmocka_unit_test(test_gapless_seq_under_concurrent_writes),
        cmocka_unit_test(test_stream_on_one_decisions_through_another),
        cmocka_unit_test(test_leader_death_another_expires),
        cmocka_unit_test(test_postgresql_restarted_mid_stream),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
