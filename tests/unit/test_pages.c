/* test_pages.c: the cache of history pages (api/pages.c): a query's rows grow page by page
 * in the server's order, the cache holds at most PAGES_MAX_ROWS rows and PAGES_MAX_QUERIES
 * queries (the least recently asked dropped first), failures are kept with their error,
 * forgetting drops by kind; and the page decoder (json_decode_page) sanitises and checks
 * like the store's, and the snapshot's history totals (store_history_total). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/json.h"
#include "api/pages.h"
#include "api/text.h"

static page_query query(model_kind kind, const char *status, const char *q, const char *sort)
{
    page_query pq = {.kind = kind};
    snprintf(pq.status, sizeof pq.status, "%s", status);
    snprintf(pq.q, sizeof pq.q, "%s", q);
    snprintf(pq.sort, sizeof pq.sort, "%s", sort);
    return pq;
}

/* n listing events lst_<first>.. with malloc'ed titles (owned by the array). */
static model_event *listings(size_t first, size_t n)
{
    model_event *evs = calloc(n ? n : 1, sizeof *evs);
    assert_non_null(evs);
    for (size_t i = 0; i < n; i++) {
        evs[i].kind = MODEL_LISTING;
        snprintf(evs[i].u.listing.id, sizeof evs[i].u.listing.id, "lst_%zu", first + i);
        evs[i].u.listing.version = 1;
        evs[i].u.listing.title.s = strdup("a title");
    }
    return evs;
}

/* Adds a page of n listings to s, and frees what the cache did not take. */
static int add_page(pages *p, page_set *s, size_t first, size_t n, const char *next, int64_t seq)
{
    model_event *evs = listings(first, n);
    int rc = pages_add(p, s, evs, n, next, seq);
    for (size_t i = 0; i < n; i++)
        model_event_free(&evs[i]);
    free(evs);
    return rc;
}

static void test_pages_grow_in_order(void **state)
{
    (void)state;
    pages *p = pages_new();
    page_query q = query(MODEL_LISTING, "open", "", "newest");
    page_set *s = pages_get(p, &q);
    assert_non_null(s);
    page_result r;
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_int_equal(r.nrows, 0);
    assert_false(r.complete);
    assert_int_equal(r.read_seq, 0);
    assert_string_equal(pages_cursor(s), "");
    /* the same query is the same set; any field differing is another */
    assert_ptr_equal(pages_get(p, &q), s);
    page_query q2 = query(MODEL_LISTING, "open", "", "price");
    assert_ptr_not_equal(pages_get(p, &q2), s);
    q2 = query(MODEL_LISTING, "open", "abc", "newest");
    assert_ptr_not_equal(pages_get(p, &q2), s);
    q2 = query(MODEL_NEGOTIATION, "open", "", "newest");
    assert_ptr_not_equal(pages_get(p, &q2), s);
    assert_int_equal(pages_sets(p), 4);

    uint64_t c0 = pages_changes(p);
    pages_loading(p, s);
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_LOADING);
    assert_true(pages_changes(p) > c0);
    assert_int_equal(add_page(p, s, 0, PAGES_PAGE_ROWS, "c1", 42), 0);
    assert_int_equal(add_page(p, s, PAGES_PAGE_ROWS, 5, NULL, 99), 0);
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_int_equal(r.nrows, PAGES_PAGE_ROWS + 5);
    assert_true(r.complete);
    assert_int_equal(r.read_seq, 42); /* the first page's */
    for (size_t i = 0; i < r.nrows; i++) {
        char id[32];
        snprintf(id, sizeof id, "lst_%zu", i);
        assert_string_equal(((const model_listing *)r.rows[i])->id, id);
    }
    assert_string_equal(((const model_listing *)r.rows[3])->title.s, "a title");
    assert_int_equal(pages_rows(p), PAGES_PAGE_ROWS + 5);
    pages_free(p);
}

static void test_pages_failure_kept(void **state)
{
    (void)state;
    pages *p = pages_new();
    page_query q = query(MODEL_ALERT, "", "", "");
    page_set *s = pages_get(p, &q);
    assert_int_equal(pages_failed_at(s), 0);
    pages_failed(p, s, "history: HTTP 503: database busy", 1234);
    page_result r;
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_string_equal(r.error, "history: HTTP 503: database busy");
    assert_int_equal(pages_failed_at(s), 1234);
    /* a page that then arrives clears the failure */
    model_event ev = {.kind = MODEL_ALERT};
    snprintf(ev.u.alert.id, sizeof ev.u.alert.id, "alr_1");
    ev.u.alert.message.s = strdup("overpay");
    assert_int_equal(pages_add(p, s, &ev, 1, "x", 7), 0);
    model_event_free(&ev);
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_IDLE);
    assert_string_equal(r.error, "");
    assert_int_equal(pages_failed_at(s), 0);
    assert_string_equal(((const model_alert *)r.rows[0])->message.s, "overpay");
    assert_string_equal(pages_cursor(s), "x");
    /* a cursor longer than kept fails the set, and the rows stay the caller's */
    char longc[PAGES_CURSOR_MAX + 2];
    memset(longc, 'a', sizeof longc - 1);
    longc[sizeof longc - 1] = '\0';
    model_event ev2 = {.kind = MODEL_ALERT};
    snprintf(ev2.u.alert.id, sizeof ev2.u.alert.id, "alr_2");
    assert_int_equal(pages_add(p, s, &ev2, 1, longc, 7), -1);
    assert_string_equal(ev2.u.alert.id, "alr_2");
    pages_result(s, &r);
    assert_int_equal(r.state, PAGE_FAILED);
    assert_int_equal(r.nrows, 1);
    pages_free(p);
}

/* At most PAGES_MAX_ROWS rows: the least recently asked query goes first. */
static void test_pages_bounded_rows(void **state)
{
    (void)state;
    pages *p = pages_new();
    page_query qa = query(MODEL_LISTING, "", "", ""), qb = query(MODEL_LISTING, "sold", "", ""),
               qc = query(MODEL_LISTING, "", "", "price");
    page_set *a = pages_get(p, &qa);
    uint64_t sa = pages_serial(a);
    for (size_t i = 0; i < 120; i++)
        assert_int_equal(add_page(p, a, i * PAGES_PAGE_ROWS, PAGES_PAGE_ROWS, "n", 1), 0);
    page_set *b = pages_get(p, &qb);
    uint64_t sb = pages_serial(b);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(add_page(p, b, i * PAGES_PAGE_ROWS, PAGES_PAGE_ROWS, "n", 1), 0);
    assert_int_equal(pages_rows(p), 17000);
    /* a asked again: b is now the least recently asked */
    assert_ptr_equal(pages_get(p, &qa), a);
    page_set *c = pages_get(p, &qc);
    uint64_t changes = pages_changes(p);
    for (size_t i = 0; i < 40; i++) {
        assert_int_equal(add_page(p, c, i * PAGES_PAGE_ROWS, PAGES_PAGE_ROWS, "n", 1), 0);
        assert_true(pages_rows(p) <= PAGES_MAX_ROWS);
    }
    assert_null(pages_find(p, sb));
    assert_ptr_equal(pages_find(p, sa), a); /* a went after b */
    assert_true(pages_changes(p) > changes);
    /* the set being filled is never dropped for its own rows */
    for (size_t i = 40; i < 200 && pages_rows(p) <= PAGES_MAX_ROWS; i++)
        assert_int_equal(add_page(p, c, i * PAGES_PAGE_ROWS, PAGES_PAGE_ROWS, "n", 1), 0);
    assert_null(pages_find(p, sa));
    assert_non_null(pages_find(p, pages_serial(c)));
    pages_free(p);
}

static void test_pages_bounded_queries(void **state)
{
    (void)state;
    pages *p = pages_new();
    uint64_t first = 0;
    for (int i = 0; i < PAGES_MAX_QUERIES + 10; i++) {
        char text[16];
        snprintf(text, sizeof text, "abc%d", i);
        page_query q = query(MODEL_NEGOTIATION, "", text, "");
        page_set *s = pages_get(p, &q);
        assert_non_null(s);
        if (!first)
            first = pages_serial(s);
        assert_true(pages_sets(p) <= PAGES_MAX_QUERIES);
    }
    assert_null(pages_find(p, first));
    pages_free(p);
}

static void test_pages_forget(void **state)
{
    (void)state;
    pages *p = pages_new();
    page_query ql = query(MODEL_LISTING, "", "", ""), qd = query(MODEL_DECISION, "", "", "");
    page_set *l = pages_get(p, &ql), *d = pages_get(p, &qd);
    uint64_t sl = pages_serial(l), sd = pages_serial(d);
    assert_int_equal(add_page(p, l, 0, 3, NULL, 1), 0);
    uint64_t c0 = pages_changes(p);
    pages_forget(p, MODEL_LISTING);
    assert_true(pages_changes(p) > c0);
    assert_null(pages_find(p, sl));
    assert_non_null(pages_find(p, sd));
    assert_int_equal(pages_rows(p), 0);
    /* asked again: a new, empty set */
    page_set *l2 = pages_get(p, &ql);
    assert_int_not_equal(pages_serial(l2), sl);
    page_result r;
    pages_result(l2, &r);
    assert_int_equal(r.nrows, 0);
    pages_forget(p, MODEL_KIND_COUNT);
    assert_int_equal(pages_sets(p), 0);
    assert_true(pages_kind_ok(MODEL_LEDGER));
    assert_false(pages_kind_ok(MODEL_AGENT));
    assert_false(pages_kind_ok(MODEL_MESSAGE));
    assert_string_equal(pages_kind_path(MODEL_LEDGER), "ledger");
    pages_free(p);
}

#define AT "\"2026-11-26T10:00:00Z\""

/* A page is decoded and sanitised like the store's objects; items outside the contract
 * are skipped and counted; the cursor is checked. */
static void test_decode_page(void **state)
{
    (void)state;
    static const char body[] =
        "{\"items\":[{\"id\":\"lst_1\",\"version\":1,\"seller_id\":\"agt_s\",\"title\":"
        "\"evil \\u001b]0;pwn\\u0007 title\",\"description\":\"d\",\"category\":\"gpu\","
        "\"unit_price_minor\":1250,\"currency\":\"USD\",\"quantity\":3,"
        "\"reference_price_minor\":1200,\"floor_minor\":null,\"status\":\"sold\",\"created_at\":" AT
        ",\"updated_at\":" AT "},{\"id\":\"lst_2\",\"version\":1,\"unit_price_minor\":\"lots\"}],"
        "\"next\":\"o17\",\"seq\":88}";
    model_event *rows;
    size_t n;
    char next[PAGES_CURSOR_MAX + 1], err[160];
    int64_t seq;
    uint64_t rejected = 0;
    assert_int_equal(json_decode_page(MODEL_LISTING, body, strlen(body), TEXT_UTF8, &rows, &n, next,
                                      sizeof next, &seq, &rejected, err, sizeof err),
                     JSON_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rejected, 1);
    assert_string_equal(next, "o17");
    assert_int_equal(seq, 88);
    assert_string_equal(rows[0].u.listing.id, "lst_1");
    assert_null(strchr(rows[0].u.listing.title.s, 0x1b));
    assert_null(strchr(rows[0].u.listing.title.s, 0x07));
    assert_true(rows[0].u.listing.title.flags != 0);
    /* into the cache */
    pages *p = pages_new();
    page_query q = query(MODEL_LISTING, "sold", "", "");
    page_set *s = pages_get(p, &q);
    assert_int_equal(pages_add(p, s, rows, n, next, seq), 0);
    for (size_t i = 0; i < n; i++)
        model_event_free(&rows[i]);
    free(rows);
    page_result r;
    pages_result(s, &r);
    assert_int_equal(r.nrows, 1);
    assert_null(strchr(((const model_listing *)r.rows[0])->title.s, 0x1b));
    pages_free(p);

    /* the last page; an answer without seq; cursors that are not cursors */
    static const char last[] = "{\"items\":[],\"next\":null}";
    assert_int_equal(json_decode_page(MODEL_LISTING, last, strlen(last), TEXT_UTF8, &rows, &n, next,
                                      sizeof next, &seq, &rejected, err, sizeof err),
                     JSON_OK);
    assert_int_equal(n, 0);
    assert_string_equal(next, "");
    assert_int_equal(seq, 0);
    free(rows);
    static const char *const bad[] = {"{\"items\":[],\"next\":\"a b\"}",
                                      "{\"items\":[],\"next\":\"\"}", "{\"items\":[],\"next\":17}",
                                      "{\"items\":{},\"next\":null}", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rows = NULL;
        assert_int_equal(json_decode_page(MODEL_LISTING, bad[i], strlen(bad[i]), TEXT_UTF8, &rows,
                                          &n, next, sizeof next, &seq, &rejected, err, sizeof err),
                         JSON_BAD);
        free(rows);
    }
    /* an error answer's code and field */
    static const char e400[] =
        "{\"error\":\"bad_request\",\"message\":\"unknown sort\",\"field\":\"sort\"}";
    char code[32], field[32];
    json_decode_error(e400, strlen(e400), TEXT_UTF8, code, sizeof code, field, sizeof field);
    assert_string_equal(code, "bad_request");
    assert_string_equal(field, "sort");
    json_decode_error("", 0, TEXT_UTF8, code, sizeof code, field, sizeof field);
    assert_string_equal(field, "");
}

/* The snapshot's history: {kind: {total}} read into store_history_total. */
static void test_snapshot_history(void **state)
{
    (void)state;
    static const char snap[] =
        "{\"epoch\":\"e1\",\"seq\":5,\"history\":{\"listings\":{\"total\":1000000},"
        "\"negotiations\":{\"total\":999},\"ledger\":{\"total\":0},\"alerts\":{\"total\":-3},"
        "\"decisions\":{\"total\":\"many\"}}}";
    store *st = store_new();
    uint64_t rejected = 0;
    char err[256];
    assert_int_equal(
        json_decode_snapshot(snap, strlen(snap), TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_OK);
    assert_int_equal(store_history_total(st, MODEL_LISTING), 1000000);
    assert_int_equal(store_history_total(st, MODEL_NEGOTIATION), 999);
    assert_int_equal(store_history_total(st, MODEL_LEDGER), 0);
    assert_int_equal(store_history_total(st, MODEL_ALERT), -1);    /* not a count */
    assert_int_equal(store_history_total(st, MODEL_DECISION), -1); /* not a count */
    assert_int_equal(store_history_total(st, MODEL_PURCHASE), -1); /* absent */
    /* an older server's snapshot: every total unknown */
    static const char old[] = "{\"epoch\":\"e1\",\"seq\":6}";
    assert_int_equal(
        json_decode_snapshot(old, strlen(old), TEXT_UTF8, st, &rejected, err, sizeof err), JSON_OK);
    assert_int_equal(store_history_total(st, MODEL_LISTING), -1);
    store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_grow_in_order), cmocka_unit_test(test_pages_failure_kept),
        cmocka_unit_test(test_pages_bounded_rows),  cmocka_unit_test(test_pages_bounded_queries),
        cmocka_unit_test(test_pages_forget),        cmocka_unit_test(test_decode_page),
        cmocka_unit_test(test_snapshot_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
