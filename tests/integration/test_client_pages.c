/* test_client_pages.c: history read a page at a time from a real marketd (issue 14;
 * api/client_pages.c): client_history asks without blocking and fills page by page in the
 * server's order (creation order with after= cursors, as every marketd answers), up to
 * what is wanted and no further; a status filter; an answer refused by the server is a
 * PAGE_FAILED with its sanitised error; a server gone away fails the read and a later ask
 * reads again; forgetting and a fresh snapshot drop the rows. Sorting and searching
 * (sort=, q=) are checked when the server answers them (a marketd with issue 14's list
 * endpoint), and a server that refuses them gives a clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/client.h"
#include "api/config.h"
#include "api/pages.h"

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define NLISTINGS 250 /* two full pages and a half */

static testsrv srv;
static testsrv_market mk;
static char ids[NLISTINGS][72]; /* the listings' ids, in creation order */

/* Lists NLISTINGS - 1 more listings "page item NNN" (the market's first is the Trek). */
static void make_listings(void)
{
    snprintf(ids[0], sizeof ids[0], "%s", mk.listing_id);
    for (int i = 1; i < NLISTINGS; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"title\":\"page item %03d\",\"description\":\"d\",\"category\":\"bikes\","
                 "\"unit_price_minor\":%d,\"currency\":\"USD\",\"quantity\":5,"
                 "\"floor_minor\":100}",
                 i, 1000 + (i * 37) % 5000);
        testhttp_resp r = {0};
        assert_int_equal(testsrv_post(&srv, mk.seller_token, "/v1/listings", 0, body, &r), 0);
        assert_int_equal(r.status, 201);
        assert_true(testjson_str(r.body, "id", ids[i], sizeof ids[i]));
        testhttp_resp_free(&r);
    }
}

static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, "--agent-rate 0 --max-open-listings 1000000") < 0)
        return -1;
    if (testsrv_market_setup(&srv, &mk, 100000000) < 0)
        return -1;
    make_listings();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

typedef struct conn {
    config cfg;
    store *st;
    client *c;
} conn;

/* A console's client on the server, live (its snapshot applied). */
static void conn_open(conn *k)
{
    config_init(&k->cfg);
    snprintf(k->cfg.url, sizeof k->cfg.url, "%s", srv.url);
    snprintf(k->cfg.token, sizeof k->cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    k->st = store_new();
    char err[256];
    k->c = client_new(&k->cfg, k->st, err, sizeof err);
    assert_non_null(k->c);
    int64_t deadline = tproc_now_ms() + 20000;
    client_status s;
    do {
        client_wait(k->c, NULL, 0, 100, NULL);
        client_run(k->c);
        client_status_get(k->c, &s);
    } while (s.state != CONN_LIVE && tproc_now_ms() < deadline);
    assert_int_equal(s.state, CONN_LIVE);
}

static void conn_close(conn *k)
{
    client_free(k->c);
    store_free(k->st);
    config_free(&k->cfg);
}

/* Asks for want rows of q until the answer is no longer loading (20 s at most); the last
 * result in out. */
static void ask_until_settled(conn *k, const page_query *q, size_t want, page_result *out)
{
    int64_t deadline = tproc_now_ms() + 20000;
    client_history(k->c, q, want, out);
    while (out->state == PAGE_LOADING && tproc_now_ms() < deadline) {
        client_wait(k->c, NULL, 0, 100, NULL);
        client_run(k->c);
        client_history(k->c, q, want, out);
    }
    assert_int_not_equal(out->state, PAGE_LOADING);
}

/* Asks until at least want rows are here or the server has no more. */
static void ask_until_rows(conn *k, const page_query *q, size_t want, page_result *out)
{
    int64_t deadline = tproc_now_ms() + 20000;
    do {
        ask_until_settled(k, q, want, out);
    } while (out->state == PAGE_IDLE && !out->complete && out->nrows < want &&
             tproc_now_ms() < deadline);
}

static page_query query(model_kind kind, const char *status, const char *q, const char *sort)
{
    page_query pq = {.kind = kind};
    snprintf(pq.status, sizeof pq.status, "%s", status);
    snprintf(pq.q, sizeof pq.q, "%s", q);
    snprintf(pq.sort, sizeof pq.sort, "%s", sort);
    return pq;
}

static const model_listing *row(const page_result *r, size_t i)
{
    return (const model_listing *)r->rows[i];
}

/* Rows come page by page in creation order, up to what is wanted; never blocking. */
static void test_pages_in_creation_order(void **state)
{
    (void)state;
    conn k;
    conn_open(&k);
    page_query q = query(MODEL_LISTING, "", "", "");
    page_result r;
    uint64_t ch = client_history_changes(k.c);
    client_history(k.c, &q, 150, &r); /* returns at once: the page is on its way */
    assert_int_equal(r.state, PAGE_LOADING);
    assert_int_equal(r.nrows, 0);
    assert_true(client_history_changes(k.c) > ch);
    ask_until_rows(&k, &q, 150, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_int_equal(r.nrows, 2 * PAGES_PAGE_ROWS); /* two pages: no more than wanted */
    assert_false(r.complete);
    assert_true(r.read_seq > 0);
    for (size_t i = 0; i < r.nrows; i++)
        assert_string_equal(row(&r, i)->id, ids[i]);
    assert_string_equal(row(&r, 5)->title.s, "page item 005");
    /* asking for no more than is here asks nothing */
    client_history(k.c, &q, 10, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    /* everything: the last page completes the query */
    ask_until_rows(&k, &q, 1000, &r);
    assert_true(r.complete);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_int_equal(r.nrows, NLISTINGS);
    for (size_t i = 0; i < r.nrows; i++)
        assert_string_equal(row(&r, i)->id, ids[i]);
    /* a status filter is the server's */
    page_query qs = query(MODEL_LISTING, "withdrawn", "", "");
    ask_until_rows(&k, &qs, 100, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_true(r.complete);
    assert_int_equal(r.nrows, 0);
    conn_close(&k);
}

/* A refused query fails with the server's reason; a server gone away fails the read, and
 * a later ask reads again once it is back. */
static void test_pages_failures(void **state)
{
    (void)state;
    conn k;
    conn_open(&k);
    page_query bad = query(MODEL_LISTING, "bogus", "", "");
    page_result r;
    ask_until_settled(&k, &bad, 100, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_non_null(strstr(r.error, "HTTP 400"));
    assert_non_null(strstr(r.error, "status"));
    /* asked again at once: kept as failed, not asked in a loop */
    client_history(k.c, &bad, 100, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    /* refused before anything is sent: a search shorter than PAGES_Q_MIN, a kind without
     * history */
    page_query shortq = query(MODEL_LISTING, "", "ab", "");
    client_history(k.c, &shortq, 100, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_non_null(strstr(r.error, "3 characters"));
    page_query agents = query(MODEL_AGENT, "", "", "");
    client_history(k.c, &agents, 100, &r);
    assert_int_equal(r.state, PAGE_FAILED);

    /* the server goes away: the next page fails, with the rows read so far kept */
    page_query q = query(MODEL_DECISION, "", "", "");
    page_query ql = query(MODEL_LISTING, "", "", "");
    ask_until_rows(&k, &ql, 100, &r);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    testsrv_kill9(&srv);
    ask_until_settled(&k, &ql, 200, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    assert_non_null(strstr(r.error, "history"));
    ask_until_settled(&k, &q, 10, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_int_equal(testsrv_restart(&srv), 0);
    /* back: asking again (after the retry pause) reads; a snapshot taken meanwhile may
     * have dropped the rows: either way the wanted rows come */
    int64_t deadline = tproc_now_ms() + 20000;
    do {
        client_wait(k.c, NULL, 0, 100, NULL);
        client_run(k.c);
        client_history(k.c, &ql, 200, &r);
    } while ((r.nrows < 200 || r.state != PAGE_IDLE) && tproc_now_ms() < deadline);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_int_equal(r.nrows, 2 * PAGES_PAGE_ROWS);
    for (size_t i = 0; i < r.nrows; i++)
        assert_string_equal(row(&r, i)->id, ids[i]);
    conn_close(&k);
}

/* Forgetting a kind, and a fresh snapshot, drop the rows: the next ask reads fresh. */
static void test_pages_dropped(void **state)
{
    (void)state;
    conn k;
    conn_open(&k);
    page_query q = query(MODEL_LISTING, "", "", "");
    page_result r;
    ask_until_rows(&k, &q, 100, &r);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    uint64_t ch = client_history_changes(k.c);
    client_history_forget(k.c, MODEL_NEGOTIATION); /* another kind: kept */
    client_history(k.c, &q, 100, &r);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    client_history_forget(k.c, MODEL_LISTING);
    assert_true(client_history_changes(k.c) > ch);
    client_history(k.c, &q, 100, &r);
    assert_int_equal(r.nrows, 0);
    assert_int_equal(r.state, PAGE_LOADING);
    ask_until_rows(&k, &q, 100, &r);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    /* a fresh snapshot (as at a reset or another epoch) drops every query */
    client_status s;
    client_status_get(k.c, &s);
    uint64_t snaps = s.snapshots;
    ch = client_history_changes(k.c);
    client_resync(k.c);
    int64_t deadline = tproc_now_ms() + 20000;
    do {
        client_wait(k.c, NULL, 0, 100, NULL);
        client_run(k.c);
        client_status_get(k.c, &s);
    } while (s.snapshots == snaps && tproc_now_ms() < deadline);
    assert_true(s.snapshots > snaps);
    assert_true(client_history_changes(k.c) > ch);
    client_history(k.c, &q, 100, &r);
    assert_int_equal(r.nrows, 0);
    ask_until_rows(&k, &q, 100, &r);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS);
    conn_close(&k);
}

/* Whether the server answers sort=newest (a marketd with issue 14's list endpoint): its
 * first listing is then the newest. */
static bool server_sorts(void)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/listings?sort=newest&limit=1", &r),
                     0);
    char first[72] = "";
    bool yes = r.status == 200 && testjson_str(r.body, "items.0.id", first, sizeof first) &&
               strcmp(first, ids[NLISTINGS - 1]) == 0;
    testhttp_resp_free(&r);
    return yes;
}

/* sort= and q=: rows in the server's order for the sort, searched by text; a sort the
 * server refuses is a clear error. */
static void test_pages_sort_and_search(void **state)
{
    (void)state;
    if (!server_sorts()) {
        print_message("this marketd does not sort lists (sort=): sort and search not tested\n");
        skip();
    }
    conn k;
    conn_open(&k);
    page_query q = query(MODEL_LISTING, "", "", "newest");
    page_result r;
    ask_until_rows(&k, &q, 1000, &r);
    assert_true(r.complete);
    assert_int_equal(r.nrows, NLISTINGS);
    for (size_t i = 0; i < r.nrows; i++)
        assert_string_equal(row(&r, i)->id, ids[NLISTINGS - 1 - i]);
    /* price: highest unit price first, across the pages */
    page_query qp = query(MODEL_LISTING, "", "", "price");
    ask_until_rows(&k, &qp, 1000, &r);
    assert_int_equal(r.nrows, NLISTINGS);
    for (size_t i = 1; i < r.nrows; i++)
        assert_true(row(&r, i - 1)->unit_price_minor >= row(&r, i)->unit_price_minor);
    /* search: case-insensitive substring of the title */
    page_query qq = query(MODEL_LISTING, "", "PAGE ITEM 12", "");
    ask_until_rows(&k, &qq, 1000, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_true(r.complete);
    assert_int_equal(r.nrows, 10); /* 120..129 */
    for (size_t i = 0; i < r.nrows; i++)
        assert_non_null(strstr(row(&r, i)->title.s, "page item "));
    /* with a status and a sort */
    page_query qboth = query(MODEL_LISTING, "open", "page item 2", "newest");
    ask_until_rows(&k, &qboth, 1000, &r);
    assert_true(r.complete);
    assert_int_equal(r.nrows, 50); /* 200..249 */
    assert_string_equal(row(&r, 0)->id, ids[NLISTINGS - 1]);
    /* a sort the server does not know for the kind: 400 naming sort, said clearly */
    page_query qbad = query(MODEL_LISTING, "", "", "severity");
    ask_until_settled(&k, &qbad, 100, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_non_null(strstr(r.error, "cannot sort history this way (sort= refused"));
    /* the snapshot's history totals (a server that sorts gives them) */
    assert_true(store_history_total(k.st, MODEL_LISTING) >= NLISTINGS);
    assert_true(store_history_total(k.st, MODEL_NEGOTIATION) >= 0);
    conn_close(&k);
}

/* One search of a kind on its way at a time (api/client_pages.c): searches asked
 * meanwhile wait, coalesced into the newest, which is sent when the answer comes; the
 * ones in between are never sent; a list without q= does not wait. */
static void test_searches_coalesce(void **state)
{
    (void)state;
    if (!server_sorts()) {
        print_message("this marketd does not search lists (q=): not tested\n");
        skip();
    }
    conn k;
    conn_open(&k);
    page_query q1 = query(MODEL_LISTING, "", "page item 00", "newest");
    page_query q2 = query(MODEL_LISTING, "", "page item 01", "newest");
    page_query q3 = query(MODEL_LISTING, "", "page item 02", "newest");
    page_query q4 = query(MODEL_LISTING, "", "page item 03", "newest");
    page_query plain = query(MODEL_LISTING, "", "", "newest");
    page_result r;
    /* typed one after the other, the client not run between: q1 goes, the rest wait */
    client_history(k.c, &q1, 100, &r);
    assert_int_equal(r.state, PAGE_LOADING);
    client_history(k.c, &q2, 100, &r);
    assert_int_equal(r.state, PAGE_LOADING);
    client_history(k.c, &q3, 100, &r);
    assert_int_equal(r.state, PAGE_LOADING);
    client_history(k.c, &q4, 100, &r);
    assert_int_equal(r.state, PAGE_LOADING);
    client_history(k.c, &q2, 0, &r); /* coalesced into q4: no longer waiting */
    assert_int_equal(r.state, PAGE_IDLE);
    ask_until_rows(&k, &plain, 10, &r); /* a list without q= is read meanwhile */
    assert_true(r.nrows >= 10);
    ask_until_settled(&k, &q4, 100, &r); /* sent when q1's answer came */
    assert_true(r.complete);
    assert_int_equal(r.nrows, 10); /* 030..039 */
    assert_non_null(strstr(row(&r, 0)->title.s, "page item 039"));
    client_history(k.c, &q1, 0, &r); /* q1's answer is kept in its own set */
    assert_true(r.complete);
    assert_int_equal(r.nrows, 9); /* 001..009 */
    page_query skipped[] = {q2, q3};
    for (int i = 0; i < 2; i++) { /* never sent: no rows, not complete, nothing on its way */
        client_history(k.c, &skipped[i], 0, &r);
        assert_int_equal(r.state, PAGE_IDLE);
        assert_int_equal(r.nrows, 0);
        assert_false(r.complete);
    }
    /* asked again, the query that is on its way keeps nothing else waiting */
    client_history(k.c, &q2, 100, &r);
    client_history(k.c, &q3, 100, &r);
    assert_int_equal(r.state, PAGE_LOADING); /* waits for q2 */
    client_history(k.c, &q2, 100, &r);
    client_history(k.c, &q3, 0, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    ask_until_settled(&k, &q2, 100, &r);
    assert_int_equal(r.nrows, 10);
    conn_close(&k);
}

/* `dealdesk snapshot` prints the whole state, the lists read page by page from the server
 * (the snapshot holds only the working set), as one line of ASCII JSON. */
static void test_snapshot_command_pages(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mk, 50000, 1, pur), 0);
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    assert_non_null(tok);
    const char *tmp = getenv("TEST_TMP");
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/snapshot.out", tmp);
    snprintf(ep, sizeof ep, "%s/snapshot.err", tmp);
    const char *args[] = {"--url", srv.url, "--token-file", tok, "snapshot", NULL};
    int status = tproc_wait_child(tproc_spawn_dealdesk(args, op, ep), 30000);
    size_t size = 8u << 20;
    char *out = malloc(size), err[2048];
    assert_non_null(out);
    long n = tproc_slurp(op, out, size);
    tproc_slurp(ep, err, sizeof err);
    if (status != 0)
        fail_msg("dealdesk snapshot: status %d: %s", status, err);
    assert_true(n > 0 && (size_t)n < size - 1);
    /* one line of printable ASCII */
    assert_int_equal(out[n - 1], '\n');
    for (long i = 0; i < n - 1; i++)
        assert_true(out[i] >= 0x20 && out[i] < 0x7f);
    /* every listing once, in creation order, whatever the snapshot held */
    assert_int_equal(testjson_len(out, "listings"), NLISTINGS);
    for (int i = 0; i < NLISTINGS; i++) {
        char path[64], id[72] = "";
        snprintf(path, sizeof path, "listings.%d.id", i);
        assert_true(testjson_str(out, path, id, sizeof id));
        assert_string_equal(id, ids[i]);
    }
    /* the other lists and the snapshot's own members are there */
    assert_true(testjson_len(out, "negotiations") >= 1);
    assert_true(testjson_len(out, "purchases") >= 1);
    assert_true(testjson_len(out, "ledger.entries") >= 1);
    assert_true(testjson_len(out, "ledger.balances") >= 1);
    assert_true(testjson_len(out, "agents") >= 2);
    assert_true(testjson_len(out, "alerts") >= 0);
    assert_true(testjson_len(out, "decisions") >= 0);
    assert_true(testjson_int(out, "seq") > 0);
    char fleet[16];
    assert_true(testjson_str(out, "fleet.status", fleet, sizeof fleet));
    free(out);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_in_creation_order),
        cmocka_unit_test(test_pages_failures),
        cmocka_unit_test(test_pages_dropped),
        cmocka_unit_test(test_pages_sort_and_search),
        cmocka_unit_test(test_searches_coalesce),
        cmocka_unit_test(test_snapshot_command_pages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
