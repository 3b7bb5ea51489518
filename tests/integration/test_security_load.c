/* test_security_load.c: one agent must not slow everyone or grow the database without
 * bound (issue 11, item 8), against a real marketd.
 *
 * An agent past its rate limit gets 429 rate_limited with Retry-After, counted in
 * /metrics, while other agents and supervisors go on; a seller at its cap of open
 * listings gets 409 too_many_listings until it withdraws one; the reference price stays
 * the category's median across more categories than marketd holds in memory and after
 * a crash; each body (a listing's, a message's) is stored once, and idempotent replays
 * and the event stream still give the very bytes first given, after later changes and
 * after a crash; a database of the schema before all this opens, and goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

/* tight: bursts of 8 and one request per 100 s after that, 3 open listings a seller */
static testsrv tight;
/* the defaults */
static testsrv dflt;

static int group_setup(void **state)
{
    (void)state;
    if (testsrv_start(&tight, "--agent-rate 0.01 --agent-burst 8 --max-open-listings 3") != 0)
        return -1;
    return testsrv_start(&dflt, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&tight);
    testsrv_stop(&dflt);
    return 0;
}

/* POST body to path on s with token and a fresh key; asserts the status; returns the
 * body (owned). */
static char *post_expect(testsrv *s, const char *token, const char *path, const char *body,
                         long status)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(s, token, path, 0, body, &r), 0);
    if (r.status != status)
        fail_msg("POST %s %s: %ld (want %ld): %s", path, body, r.status, status, r.body);
    char *b = r.body;
    r.body = NULL;
    testhttp_resp_free(&r);
    return b;
}

/* POST body to path on s with token and Idempotency-Key key into *r. */
static void post_keyed(testsrv *s, const char *token, const char *path, const char *key,
                       const char *body, testhttp_resp *r)
{
    assert_int_equal(testsrv_post_key(s, token, path, key, body, r), 0);
}

static void test_rate_limit_429(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&tight, &t, 0), 0);
    long long before = testsrv_metric(&tight, "marketd_rate_limited_total");
    assert_int_equal(before, 0);
    testhttp_resp r;
    for (int i = 0; i < 8; i++) { /* the burst */
        assert_int_equal(testsrv_get(&tight, t.buyer_token, "/v1/listings?limit=1", &r), 0);
        assert_int_equal(r.status, 200);
        testhttp_resp_free(&r);
    }
    assert_int_equal(testsrv_get(&tight, t.buyer_token, "/v1/listings?limit=1", &r), 0);
    assert_int_equal(r.status, 429);
    char code[40], ra[16];
    assert_true(testjson_str(r.body, "error", code, sizeof code));
    assert_string_equal(code, "rate_limited");
    assert_non_null(testhttp_header(&r, "Retry-After", ra, sizeof ra));
    long long wait = testjson_int(r.body, "retry_after_s");
    assert_int_equal(atoll(ra), wait);
    assert_true(wait >= 1 && wait <= 100); /* one request per 100 s */
    testhttp_resp_free(&r);
    /* a write is refused too, and changes nothing */
    long long seq = testsrv_seq(&tight);
    char body[200];
    snprintf(body, sizeof body, "{\"listing_id\":\"%s\",\"unit_price_minor\":100,\"quantity\":1}",
             t.listing_id);
    free(post_expect(&tight, t.buyer_token, "/v1/negotiations", body, 429));
    assert_int_equal(testsrv_seq(&tight), seq);
    assert_int_equal(testsrv_metric(&tight, "marketd_rate_limited_total"), 2);
    /* the limit is the agent's own: its seller and the supervisors go on */
    assert_int_equal(testsrv_get(&tight, t.seller_token, "/v1/listings?limit=1", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(testsrv_get(&tight, TESTSRV_TOKEN_SUP1, "/v1/listings?limit=1", &r), 0);
        assert_int_equal(r.status, 200);
        testhttp_resp_free(&r);
    }
}

static void test_open_listing_cap(void **state)
{
    (void)state;
    testsrv_market t; /* its seller has one open listing */
    assert_int_equal(testsrv_market_setup(&tight, &t, 0), 0);
    const char *item = "{\"title\":\"Lamp\",\"category\":\"lamps\",\"unit_price_minor\":100,"
                       "\"currency\":\"USD\",\"quantity\":1}";
    free(post_expect(&tight, t.seller_token, "/v1/listings", item, 201));
    free(post_expect(&tight, t.seller_token, "/v1/listings", item, 201));
    char *b = post_expect(&tight, t.seller_token, "/v1/listings", item, 409);
    char code[40];
    assert_true(testjson_str(b, "error", code, sizeof code));
    assert_string_equal(code, "too_many_listings");
    free(b);
    char path[120];
    snprintf(path, sizeof path, "/v1/listings/%s/withdraw", t.listing_id);
    free(post_expect(&tight, t.seller_token, path, "{}", 200));
    free(post_expect(&tight, t.seller_token, "/v1/listings", item, 201));
}

/* Posts a listing in category "cat-N" at price as seller token on dflt; returns its
 * reference_price_minor. */
static long long post_in(const char *token, int cat, long long price)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"title\":\"Item\",\"category\":\"cat-%d\",\"unit_price_minor\":%lld,"
             "\"currency\":\"USD\",\"quantity\":1}",
             cat, price);
    char *b = post_expect(&dflt, token, "/v1/listings", body, 201);
    long long ref = testjson_int(b, "reference_price_minor");
    free(b);
    return ref;
}

#define NCATS 300 /* more than the 256 windows marketd keeps in memory */

static void test_reference_price_many_categories(void **state)
{
    (void)state;
    testsrv_market s[3]; /* a seller a round, each within its burst */
    for (int i = 0; i < 3; i++)
        assert_int_equal(testsrv_market_setup(&dflt, &s[i], 0), 0);
    for (int round = 0; round < 3; round++)
        for (int c = 0; c < NCATS; c++) {
            long long ref = post_in(s[round].seller_token, c, 1000LL * (round + 1) + c);
            /* round 0: alone; 1: (1000+c + 2000+c)/2; 2: the middle of three */
            long long want = round == 0 ? 1000 + c : round == 1 ? 1500 + c : 2000 + c;
            if (ref != want)
                fail_msg("round %d category %d: reference %lld, want %lld", round, c, ref, want);
        }
    /* cat-0 left memory long ago: its window comes back from the database */
    assert_int_equal(post_in(s[0].seller_token, 0, 10), 1500);     /* 10 1000 2000 3000 */
    assert_int_equal(post_in(s[0].seller_token, 299, 5000), 2799); /* 1299 2299 3299 5000 */
    testsrv_kill9(&dflt);
    assert_int_equal(testsrv_restart(&dflt), 0);
    assert_int_equal(post_in(s[1].seller_token, 0, 4000), 2000); /* 10 1000 2000 3000 4000 */
    assert_int_equal(post_in(s[1].seller_token, 5, 5), 1505);    /* 5 1005 2005 3005 */
}

/* How many rows of the server's database hold text (objects, events, stored answers,
 * messages). */
static int copies_of(testsrv *s, const char *text)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT COUNT(*) FROM objects WHERE instr(json,?1)) + (SELECT "
                           "COUNT(*) FROM events WHERE instr(json,?1)) + (SELECT COUNT(*) FROM "
                           "idem WHERE instr(body,?1)) + (SELECT COUNT(*) FROM messages WHERE "
                           "instr(json,?1))",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Events read from the stream. */
typedef struct sse {
    char *raw;
    size_t len;
    long long stop_at;
} sse;

static size_t on_sse(char *d, size_t size, size_t n, void *ud)
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
    char needle[40];
    snprintf(needle, sizeof needle, ":%lld\nevent:", s->stop_at);
    const char *hit = strstr(r, needle);
    return hit && strstr(hit, "\n\n") ? 0 : len; /* that event is complete: stop */
}

/* Reads the stream of s after seq `after` until seq `upto` has arrived (10 s at most);
 * the raw text (owned). */
static char *read_events(testsrv *s, long long after, long long upto)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/events?after=%lld", s->url, after);
    sse ev = {.stop_at = upto};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " TESTSRV_TOKEN_SUP1);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ev);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    assert_non_null(ev.raw);
    return ev.raw;
}

/* The data line of event seq in raw stream text (owned), or NULL. */
static char *event_data(const char *raw, long long seq)
{
    char needle[40];
    snprintf(needle, sizeof needle, ":%lld\nevent:", seq);
    const char *p = strstr(raw, needle);
    if (!p || !(p = strstr(p, "\ndata: ")))
        return NULL;
    p += 7;
    const char *end = strchr(p, '\n');
    return end ? strndup(p, (size_t)(end - p)) : NULL;
}

/* Asserts that the stream after `after` up to `upto` holds each seq once, in order. */
static void assert_gapless(const char *raw, long long after, long long upto)
{
    long long want = after + 1;
    for (const char *p = raw; (p = strstr(p, "\nid: ")); p += 5) {
        const char *eol = strchr(p + 1, '\n'), *colon = NULL;
        for (const char *q = p + 5; eol && q < eol; q++)
            if (*q == ':')
                colon = q;
        assert_non_null(colon);
        assert_int_equal(atoll(colon + 1), want);
        want++;
    }
    assert_int_equal(want, upto + 1);
}

/* A seq's data must be the listing (id) at version, with the marker text. */
static void assert_listing_event(const char *raw, long long seq, const char *id, int version,
                                 const char *marker)
{
    char *d = event_data(raw, seq);
    assert_non_null(d);
    char got[72];
    assert_true(testjson_str(d, "data.id", got, sizeof got));
    assert_string_equal(got, id);
    assert_int_equal(testjson_int(d, "data.version"), version);
    assert_non_null(strstr(d, marker));
    assert_int_equal(testjson_int(d, "seq"), seq);
    free(d);
}

static void test_bodies_stored_once_replays_identical(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&dflt, &t, 0), 0);
    /* a 4 KB listing */
    char marker[40], desc[4100], body[4400];
    snprintf(marker, sizeof marker, "MARK%08x", (unsigned)tproc_now_ms());
    memset(desc, 'd', 4000);
    memcpy(desc + 100, marker, strlen(marker));
    desc[4000] = '\0';
    snprintf(body, sizeof body,
             "{\"title\":\"Big\",\"description\":\"%s\",\"category\":\"bikes\","
             "\"unit_price_minor\":50000,\"currency\":\"USD\",\"quantity\":5}",
             desc);
    long long seq0 = testsrv_seq(&dflt);
    testhttp_resp l1, rr;
    post_keyed(&dflt, t.seller_token, "/v1/listings", "big-listing-1", body, &l1);
    assert_int_equal(l1.status, 201);
    char lid[72];
    assert_true(testjson_str(l1.body, "id", lid, sizeof lid));
    assert_int_equal(copies_of(&dflt, marker), 1); /* was 3: object, event, answer */

    /* an opening offer with a 4 KB text: the message's row only */
    char mark2[40], text[4100], nbody[4400];
    snprintf(mark2, sizeof mark2, "OFFER%08x", (unsigned)tproc_now_ms());
    memset(text, 't', 4000);
    memcpy(text + 50, mark2, strlen(mark2));
    text[4000] = '\0';
    snprintf(nbody, sizeof nbody,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":40000,\"quantity\":1,\"text\":\"%s\"}",
             lid, text);
    testhttp_resp n1;
    post_keyed(&dflt, t.buyer_token, "/v1/negotiations", "big-offer-1", nbody, &n1);
    assert_int_equal(n1.status, 201);
    char nid[72], path[160];
    assert_true(testjson_str(n1.body, "negotiation.id", nid, sizeof nid));
    assert_int_equal(copies_of(&dflt, mark2), 1);

    /* later versions: a counter, and the listing withdrawn */
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", nid);
    free(post_expect(&dflt, t.seller_token, path,
                     "{\"kind\":\"counter\",\"unit_price_minor\":45000,\"quantity\":1}", 201));
    snprintf(path, sizeof path, "/v1/listings/%s/withdraw", lid);
    free(post_expect(&dflt, t.seller_token, path, "{}", 200));
    long long seq1 = testsrv_seq(&dflt);
    /* two versions of the listing now, each once: v1 in its event, v2 in the row */
    assert_int_equal(copies_of(&dflt, marker), 2);

    for (int pass = 0; pass < 2; pass++) {
        /* the replays are the very bytes first given */
        post_keyed(&dflt, t.seller_token, "/v1/listings", "big-listing-1", body, &rr);
        assert_int_equal(rr.status, 201);
        char rep[16];
        assert_non_null(testhttp_header(&rr, "Idempotent-Replayed", rep, sizeof rep));
        assert_string_equal(rr.body, l1.body);
        testhttp_resp_free(&rr);
        post_keyed(&dflt, t.buyer_token, "/v1/negotiations", "big-offer-1", nbody, &rr);
        assert_int_equal(rr.status, 201);
        assert_string_equal(rr.body, n1.body);
        testhttp_resp_free(&rr);
        /* the stream from before the listing: every seq once, the listing's first event
         * still its version 1 (open), the withdrawal its version 2 */
        char *raw = read_events(&dflt, seq0, seq1);
        assert_gapless(raw, seq0, seq1);
        assert_listing_event(raw, seq0 + 1, lid, 1, marker);
        assert_listing_event(raw, seq1, lid, 2, marker);
        char *d = event_data(raw, seq0 + 1);
        assert_non_null(strstr(d, "\"status\":\"open\""));
        /* the event's data is the answer's listing, byte for byte */
        assert_non_null(strstr(d, l1.body));
        free(d);
        free(raw);
        assert_int_equal(testsrv_seq(&dflt), seq1); /* replays changed nothing */
        testsrv_kill9(&dflt);
        assert_int_equal(testsrv_restart(&dflt), 0);
    }
    testhttp_resp_free(&l1);
    testhttp_resp_free(&n1);
}

/* Reads a whole file (owned, NUL-terminated), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t n = 0, cap = 0, r;
    char chunk[4096];
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + r + 1 > cap) {
            cap = (n + r + 1) * 2;
            char *nb = realloc(b, cap);
            if (!nb)
                break;
            b = nb;
        }
        memcpy(b + n, chunk, r);
        n += r;
        b[n] = '\0';
    }
    fclose(f);
    return b;
}

/* Column 0 of the first row of sql on db (owned), or NULL. */
static char *db_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    char *out = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

#define OLD_SELLER "agt-tok-155545ba7424415fb1c0ec558fec5f86003d44693dfd9377"
#define OLD_BUYER  "agt-tok-e2f82b443b40d937459f116f41efed8e8627e89c38387fbb"

/* A replay on s of a request the schema-1 database answered: want is its stored body. */
static void assert_old_replay(testsrv *s, const char *token, const char *path, const char *key,
                              const char *body, const char *want)
{
    testhttp_resp r;
    post_keyed(s, token, path, key, body, &r);
    char rep[16];
    if (!testhttp_header(&r, "Idempotent-Replayed", rep, sizeof rep))
        fail_msg("POST %s (key %s) was not replayed: %ld %s", path, key, r.status, r.body);
    assert_string_equal(r.body, want);
    testhttp_resp_free(&r);
}

/* A database marketd c00d8cd wrote (schema 1: tests/data/marketd-schema1-load.sql) opens:
 * its stored answers replay byte for byte, its events stream as they were stored, and
 * the reference price goes on from its listings. */
static void test_schema1_database_opens(void **state)
{
    (void)state;
    testsrv s;
    assert_int_equal(testsrv_start(&s, NULL), 0);
    assert_int_equal(testsrv_terminate(&s), 0);
    char path[700], *fixture;
    snprintf(path, sizeof path, "%s/data/marketd-schema1-load.sql", getenv("TESTS_DIR"));
    assert_non_null(fixture = slurp(path));
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", s.db, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
        unlink(path);
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(s.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, fixture, NULL, NULL, NULL), SQLITE_OK);
    free(fixture);
    /* stored answers are kept 48 hours: make the fixture's recent */
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE idem SET at=%lld", (long long)time(NULL) * 1000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    char *listing5 = db_text(db, "SELECT body FROM idem WHERE key='old-listing-5'");
    char *offer = db_text(db, "SELECT body FROM idem WHERE key='old-offer-1'");
    char *withdraw = db_text(db, "SELECT body FROM idem WHERE key='old-withdraw-2'");
    char *events = db_text(db, "SELECT group_concat(json, char(10)) FROM (SELECT json FROM "
                               "events ORDER BY seq)");
    char *last = db_text(db, "SELECT MAX(seq) FROM events");
    sqlite3_close(db);
    assert_true(listing5 && offer && withdraw && events && last);

    assert_int_equal(testsrv_restart(&s), 0);
    assert_old_replay(&s, OLD_SELLER, "/v1/listings", "old-listing-5",
                      "{\"title\":\"Lamp 5\",\"description\":\"old \\\"lamp\\\" \\u00e9 5\","
                      "\"category\":\"lamps\",\"unit_price_minor\":500,\"currency\":\"USD\","
                      "\"quantity\":3}",
                      listing5);
    assert_old_replay(&s, OLD_BUYER, "/v1/negotiations", "old-offer-1",
                      "{\"listing_id\":\"lst_1\",\"unit_price_minor\":90,\"quantity\":1,"
                      "\"text\":\"hello\"}",
                      offer);
    assert_old_replay(&s, OLD_SELLER, "/v1/listings/lst_2/withdraw", "old-withdraw-2", "{}",
                      withdraw);
    /* the stream gives each stored line as it was */
    char *raw = read_events(&s, 0, atoll(last));
    assert_gapless(raw, 0, atoll(last));
    size_t k = 0;
    char *got = calloc(1, strlen(raw) + 1);
    for (const char *p = raw; (p = strstr(p, "\ndata: ")); p += 7) {
        const char *eol = strchr(p + 7, '\n');
        assert_non_null(eol);
        if (k)
            got[k++] = '\n';
        memcpy(got + k, p + 7, (size_t)(eol - p - 7));
        k += (size_t)(eol - p - 7);
    }
    assert_string_equal(got, events);
    /* listings at 100..500 in "lamps", one more at 50: (200+300)/2 */
    char *b = post_expect(&s, OLD_SELLER, "/v1/listings",
                          "{\"title\":\"Lamp 6\",\"category\":\"lamps\",\"unit_price_minor\":50,"
                          "\"currency\":\"USD\",\"quantity\":1}",
                          201);
    assert_int_equal(testjson_int(b, "reference_price_minor"), 250);
    free(b);
    free(got);
    free(raw);
    free(listing5);
    free(offer);
    free(withdraw);
    free(events);
    free(last);
    testsrv_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit_429),
        cmocka_unit_test(test_open_listing_cap),
        cmocka_unit_test(test_reference_price_many_categories),
        cmocka_unit_test(test_bodies_stored_once_replays_identical),
        cmocka_unit_test(test_schema1_database_opens),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
