/* test_marketd_store_stats.c: the agents' scorecards in the store (store_ops.agent_stats,
 * marketd/store.h; docs/api.md, "Statistics"), on a set of objects written here.
 *
 * The same expected figures, as the same JSON text, on each engine: SQLite's statement
 * (store_sqlite_stats.c) is the definition, and on the PostgreSQL run of tests/run.sh
 * (MARKETD_ENGINE=postgresql) the PostgreSQL engine's (store_pg_stats.c) must give them
 * exactly. The data reaches the edges where two ways of computing a figure part: medians
 * of an even count whose mean is a half (negative and positive: rounded toward zero, not
 * down), basis points rounded toward zero (-0.2 is 0), deals without a reference (no
 * median value), a refund that counts 0 in its bucket, partial refunds, a null
 * dispute_id, a flag without a rule, rounds after the purchase, an agent
 * on a side its role is not, and the window's two ends.
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

#include "marketd/store.h"
#include "tests/lib/pgtest.h"

#define ENGINE (pgtest_engine() ? &store_pg : &store_sqlite)

static char pg_url[512]; /* the test's database on PostgreSQL (dropped by teardown) */

static const store_seed seed = {"0123456789abcdef", "{\"status\":\"running\"}"};

static int setup(void **state)
{
    char err[256] = "", path[512] = ":memory:";
    if (pgtest_engine()) {
        assert_int_equal(pgtest_create(path, sizeof path), 0);
        snprintf(pg_url, sizeof pg_url, "%s", path);
    }
    store *s = ENGINE->open(path, &seed, err, sizeof err);
    if (!s)
        fprintf(stderr, "open: %s\n", err);
    *state = s;
    return s ? 0 : -1;
}

static int teardown(void **state)
{
    store *s = *state;
    s->ops->close(s);
    if (pg_url[0])
        pgtest_drop(pg_url);
    pg_url[0] = '\0';
    return 0;
}

/* Stores object (kind, id) made at created with its parties and JSON. */
static void put(store *s, const char *kind, const char *id, const char *status, const char *p1,
                const char *p2, int64_t created, const char *json)
{
    store_object o = {kind, id, status, p1, p2, -1, created, json, 0, {0}, NULL};
    assert_int_equal(STORE(s, object_put, &o), 0);
}

/* An agent of role. */
static void agent(store *s, const char *id, const char *role)
{
    char json[128];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"role\":\"%s\"}", id, role);
    put(s, "agent", id, "active", NULL, NULL, 1, json);
}

/* A negotiation opened at `at`, with messages of the kinds in kinds (one letter each: o
 * offer, c counter, a accept, t text) 100 ms apart from `at`. */
static void thread(store *s, const char *id, int64_t at, const char *kinds)
{
    char json[96];
    snprintf(json, sizeof json, "{\"id\":\"%s\"}", id);
    put(s, "negotiation", id, "closed", "agt_b1", "agt_s1", at, json);
    for (int i = 0; kinds[i]; i++) {
        const char *kind = kinds[i] == 'o'   ? "offer"
                           : kinds[i] == 'c' ? "counter"
                           : kinds[i] == 'a' ? "accept"
                                             : "text";
        store_message m = {id, i + 1, "agt_b1", kind, at + 100 * i, "{}"};
        assert_int_equal(STORE(s, message_put, &m), 0);
    }
}

/* A purchase by buyer from seller made at `at`; more: its JSON's other fields. */
static void purchase(store *s, const char *id, const char *status, const char *buyer,
                     const char *seller, int64_t at, long long unit, long long total,
                     const char *listing, const char *neg, const char *more)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"unit_price_minor\":%lld,\"total_minor\":%lld,\"listing_id\":"
             "\"%s\",\"negotiation_id\":\"%s\"%s%s}",
             id, unit, total, listing, neg, more ? "," : "", more ? more : "");
    put(s, "purchase", id, status, buyer, seller, at, json);
}

/* The market of the test: two buyers, a seller, and a "seller" whose role is buyer. */
static void market(store *s)
{
    agent(s, "agt_b1", "buyer");
    agent(s, "agt_b2", "buyer");
    agent(s, "agt_s1", "seller");
    agent(s, "agt_s2", "seller"); /* no purchase: not in the answer */
    agent(s, "agt_s3", "buyer");  /* sells below, but is no seller */
    put(s, "listing", "lst_1", "open", "agt_s1", NULL, 1, "{\"reference_price_minor\":50000}");
    put(s, "listing", "lst_2", "open", "agt_s1", NULL, 1, "{\"title\":\"no reference\"}");
    put(s, "listing", "lst_3", "open", "agt_s3", NULL, 1, "{\"reference_price_minor\":50000}");
    thread(s, "neg_1", 1500, "oa");       /* 1 round */
    thread(s, "neg_2", 3000, "ocotttoo"); /* 3 by the purchase at 3500, 2 after */
    thread(s, "neg_3", 9000, "oca");      /* 2 */
    thread(s, "neg_4", 24000, "oa");      /* 1 */
    thread(s, "neg_5", 11000, "o");       /* 1 */
    thread(s, "neg_6", 12500, "oc");      /* 2 */
    /* agt_b1 from agt_s1; the window is [1000, 25000) */
    purchase(s, "pur_01", "settled", "agt_b1", "agt_s1", 2000, 45000, 90000, "lst_1", "neg_1",
             "\"flags\":[{\"rule\":\"overpay\"},{\"rule\":\"budget\"}],\"dispute_id\":null");
    purchase(s, "pur_02", "refunded", "agt_b1", "agt_s1", 3500, 55001, 55001, "lst_1", "neg_2",
             "\"refunded_minor\":55001");
    purchase(s, "pur_03", "settled", "agt_b1", "agt_s1", 10500, 49999, 49999, "lst_1", "neg_3",
             "\"refunded_minor\":1000,\"dispute_id\":\"dsp_1\"");
    purchase(s, "pur_04", "settled", "agt_b1", "agt_s1", 24999, 7000, 7000, "lst_2", "neg_4", NULL);
    purchase(s, "pur_05", "vetoed", "agt_b1", "agt_s1", 5000, 80000, 80000, "lst_1", "neg_1",
             "\"flags\":[{\"rule\":\"overpay\"},{\"x\":1},{\"rule\":\"below_reference\"}]");
    purchase(s, "pur_06", "capped", "agt_b1", "agt_s1", 6000, 1, 1, "lst_1", "neg_1", NULL);
    purchase(s, "pur_07", "expired", "agt_b1", "agt_s1", 7000, 1, 1, "lst_1", "neg_1",
             "\"refunded_minor\":0,\"flags\":[]");
    purchase(s, "pur_08", "settled", "agt_b1", "agt_s1", 999, 1, 1, "lst_1", "neg_1", NULL);
    purchase(s, "pur_09", "settled", "agt_b1", "agt_s1", 25000, 1, 1, "lst_1", "neg_1", NULL);
    purchase(s, "pur_10", "pending_approval", "agt_b1", "agt_s1", 8000, 1, 1, "lst_1", "neg_1",
             "\"flags\":[{\"rule\":\"overpay\"}]");
    /* agt_b2 from agt_s3 (no seller) */
    purchase(s, "pur_11", "settled", "agt_b2", "agt_s3", 12000, 44995, 44995, "lst_3", "neg_5",
             NULL);
    purchase(s, "pur_12", "settled", "agt_b2", "agt_s3", 13000, 50000, 50000, "lst_3", "neg_6",
             NULL);
}

/* The figures given, as compact JSON (the engine's key order kept), one a line. */
typedef struct figures {
    char s[4096];
    int n;
} figures;
static int take(void *ud, const char *text, int64_t n)
{
    figures *f = ud;
    assert_int_equal(n, 0);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    char *c = json_dumps(j, JSON_COMPACT);
    size_t len = strlen(f->s);
    snprintf(f->s + len, sizeof f->s - len, "%s\n", c);
    free(c);
    json_decref(j);
    f->n++;
    return 0;
}

/* agt_b1's figures (and agt_s1's: the same purchases from the other side) in [1000,
 * 25000): the deals pur_01 to pur_04, at -1000, +1000 (1000.2), 0 (-0.2) bp and none; 1,
 * 3, 2, 1 rounds; 500, 500, 1500, 999 ms. */
#define B1_FIGURES(id)                                                                             \
    "{\"agent_id\":\"" id "\",\"deals\":4,\"amount_minor\":145999,\"median_vs_ref_bp\":0,"         \
    "\"vetoed\":1,\"capped\":1,\"expired\":1,\"refunded\":2,\"disputed\":1,\"flags\":{"            \
    "\"below_reference\":1,\"budget\":1,\"overpay\":3},\"median_rounds\":1,"                       \
    "\"median_time_to_deal_ms\":749,\"series\":[[1,90000],[2,0],[9,48999],[23,7000]]}\n"

static void test_figures_match_the_definition(void **state)
{
    store *s = *state;
    market(s);
    figures f = {0};
    store_stats_q q = {.since = 1000, .until = 25000, .buckets = 24, .fn = take, .ud = &f};
    assert_int_equal(s->ops->agent_stats(s, &q), 3);
    /* agt_b2: -1001 and 0 bp (a mean of -500.5), 1 and 2 rounds, 1000 and 500 ms */
    assert_string_equal(
        f.s, B1_FIGURES("agt_b1") "{\"agent_id\":\"agt_b2\",\"deals\":2,\"amount_minor\":"
                                  "94995,\"median_vs_ref_bp\":-500,\"vetoed\":0,"
                                  "\"capped\":0,\"expired\":0,\"refunded\":0,"
                                  "\"disputed\":0,\"flags\":{},\"median_rounds\":1,"
                                  "\"median_time_to_deal_ms\":750,\"series\":[[11,"
                                  "44995],[12,50000]]}\n" B1_FIGURES("agt_s1"));
}

/* On a reader's snapshot as stats.c reads it; "all" starts at the oldest purchase. */
static void test_all_and_empty_windows(void **state)
{
    store *s = *state;
    figures f = {0};
    store_stats_q q = {.since = -1, .until = 5000, .buckets = 24, .fn = take, .ud = &f};
    assert_int_equal(s->ops->agent_stats(s, &q), 0); /* no purchase yet */
    assert_int_equal(q.since, 4999);
    market(s);
    store *r = s->ops->reader_open(s);
    store *on = r ? r : s; /* SQLite in memory has no second connection */
    q = (store_stats_q){.since = -1, .until = 25001, .buckets = 24, .fn = take, .ud = &f};
    assert_int_equal(on->ops->agent_stats(on, &q), 3);
    assert_int_equal(q.since, 999);
    assert_non_null(strstr(f.s, "{\"agent_id\":\"agt_b1\",\"deals\":6,\"amount_minor\":146001,"));
    f = (figures){0};
    q = (store_stats_q){.since = 25000, .until = 25000, .buckets = 24, .fn = take, .ud = &f};
    assert_int_equal(on->ops->agent_stats(on, &q), 0);
    q = (store_stats_q){.since = 13001, .until = 24000, .buckets = 24, .fn = take, .ud = &f};
    assert_int_equal(on->ops->agent_stats(on, &q), 0); /* no purchase made in it */
    assert_string_equal(f.s, "");
    if (r)
        r->ops->reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_figures_match_the_definition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_and_empty_windows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
