/* test_console_history.c: history read from the server a page at a time (issue 14), the
 * real dealdesk in a pty against a real marketd holding more threads and listings than
 * its snapshot carries (the newest 100 closed of each kind): scrolling down the Threads
 * pane reads the older threads, a filter finds an old thread by a word of its listing's
 * title (q=), a sort order brings an old listing first (sort=), a page that fails (the
 * market gone) shows its error in the pane while the screen keeps answering keys; and,
 * with the client alone, every sort order of every pane that pages orders the server's
 * rows exactly as the server does (the frontier cut relies on it). */
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
#include "tests/lib/e2e.h"
#include "tui/ui.h"

#define WAIT_MS 15000
#define OLD     130 /* closed threads: 30 more than the snapshot carries */

/* The market of the group and what the tests look for in it: ids as a table shows
 * them, followed by a space ("neg_1 " is not "neg_10"). */
typedef struct history_fx {
    e2e_market m;
    char oldest_thread[66];  /* about the "Zanzibar lantern", the most expensive listing */
    char oldest_listing[66]; /* that listing */
    char newest_thread[66];
    char newest_listing[66];
} history_fx;

/* The seller rejects the offer on the table: the thread is closed ("failed"). */
static int reject(e2e_market *m, const char *neg)
{
    char url[256], key[48], idem[80];
    snprintf(url, sizeof url, "%s/v1/negotiations/%s/messages", m->srv.url, neg);
    testsrv_key(key);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", key);
    const char *headers[] = {idem, "Content-Type: application/json", NULL};
    testhttp_resp r;
    if (testhttp("POST", url, m->seller.token, headers, "{\"kind\":\"reject\",\"text\":\"No.\"}",
                 &r) < 0)
        return -1;
    long st = r.status;
    testhttp_resp_free(&r);
    return st == 201 || st == 200 ? 0 : -1;
}

/* A listing and a thread on it that the seller turned down. */
static int closed_thread(e2e_market *m, const char *title, int64_t price, char *lst, char *neg)
{
    int st = e2e_listing(m, &m->seller, title, strlen(title), "books", price, 5, lst);
    if ((st != 200 && st != 201) || !lst[0])
        return -1;
    st = e2e_offer(m, &m->buyer, lst, price, 1, "Would you take this?", 20, neg);
    if ((st != 200 && st != 201) || !neg[0])
        return -1;
    return reject(m, neg);
}

/* Starts the market and fills it: two settled purchases (the ledger) and a flagged one
 * (alerts), then OLD closed threads, the first about the most expensive listing. */
static int group_setup(void **state)
{
    static history_fx fx;
    if (e2e_market_start(&fx.m, NULL) < 0)
        return -1;
    char lst[65], neg[65];
    for (int i = 0; i < 3; i++) {
        char pur[65], path[128];
        if (e2e_purchase(&fx.m, i ? "Road bike" : "H100 GPU hours", i ? "bikes" : "compute",
                         2000 + i * 500, 1, pur, neg))
            return -1;
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
        char body[80];
        snprintf(body, sizeof body, "{\"expected_total_minor\":%d}", 2000 + i * 500);
        if (i && e2e_decide(&fx.m, TESTSRV_TOKEN_SUP2, path, 1, body) != 200)
            return -1;
    }
    if (closed_thread(&fx.m, "Zanzibar lantern", 990000, lst, neg))
        return -1;
    snprintf(fx.oldest_thread, sizeof fx.oldest_thread, "%s ", neg);
    snprintf(fx.oldest_listing, sizeof fx.oldest_listing, "%s ", lst);
    for (int i = 1; i < OLD; i++) {
        char title[64];
        snprintf(title, sizeof title, "Item %03d", i);
        /* prices repeat: ties are ordered by creation, as the server orders them */
        if (closed_thread(&fx.m, title, 1000 + (i % 7) * 100, lst, neg))
            return -1;
    }
    snprintf(fx.newest_thread, sizeof fx.newest_thread, "%s ", neg);
    snprintf(fx.newest_listing, sizeof fx.newest_listing, "%s ", lst);
    *state = &fx;
    return 0;
}

static int group_teardown(void **state)
{
    e2e_market_stop(&((history_fx *)*state)->m);
    return 0;
}

/* The id a row of the table starts with, as drawn (after the pointer column). */
static int row_of(vt *t, const char *id)
{
    return vt_find_row(t, id);
}

/* True when ids[0] is on screen and ids[1] is not. */
static bool shows_not(vt *t, void *ud)
{
    const char *const *ids = ud;
    return vt_contains(t, ids[0]) && !vt_contains(t, ids[1]);
}

/* True when the row right under the table's heading (ud: the heading's first column)
 * holds ids[1]. */
static bool first_row(vt *t, void *ud)
{
    const char *const *s = ud;
    int h = vt_find_row(t, s[0]);
    return h >= 0 && row_of(t, s[1]) == h + 1;
}

/* True when the header says the market is live again (not "FLEET RUNNING?", stale). */
static bool live(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "FLEET RUNNING") && !vt_contains(t, "FLEET RUNNING?");
}

/* Scrolling to the end of the Threads pane reads the older threads page by page, until
 * the oldest, which the snapshot did not carry; the title counts what the server holds. */
static void test_scroll_to_history(void **state)
{
    history_fx *fx = *state;
    vt *t = e2e_dealdesk(&fx->m, 30, 100, fx->m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "2");
    assert_true(e2e_wait(t, fx->newest_thread, WAIT_MS));
    assert_false(vt_contains(t, fx->oldest_thread));
    char total[32];
    snprintf(total, sizeof total, "of %d", OLD + 3);
    assert_true(e2e_wait(t, total, WAIT_MS)); /* the server's count, not the rows held */
    bool seen = false;
    for (int i = 0; i < 8 && !seen; i++) { /* End: to the last row read, which asks more */
        vt_send(t, "G");
        seen = vt_wait_text(t, fx->oldest_thread, 3000);
    }
    if (!seen)
        vt_dump(t, "waiting for the oldest thread at the end of the Threads pane");
    assert_true(seen);
    assert_false(vt_contains(t, "history:")); /* no error on the way */
    e2e_quit(t);
}

/* A filter of 3+ characters searches the server: the oldest thread is found by a word of
 * its listing's title; shorter, it filters what is held and says how to search. */
static void test_filter_finds_old_thread(void **state)
{
    history_fx *fx = *state;
    vt *t = e2e_dealdesk(&fx->m, 30, 100, fx->m.sup1_file, NULL, NULL);
    assert_non_null(t);
    vt_send(t, "2");
    assert_true(e2e_wait(t, fx->newest_thread, WAIT_MS));
    vt_send(t, "/za");
    assert_true(e2e_wait(t, "type 3 characters to search history", WAIT_MS));
    vt_send(t, "nzibar");
    const char *found[] = {fx->oldest_thread, fx->newest_thread};
    if (!vt_wait(t, shows_not, found, WAIT_MS)) {
        vt_dump(t, "waiting for the search to find the oldest thread");
        fail();
    }
    assert_false(vt_contains(t, "type 3 characters"));
    vt_send(t, "\r");
    e2e_quit(t);
}

/* Sorting the Listings by price brings the oldest listing, which the snapshot did not
 * carry, first; newest first again puts the newest there. */
static void test_sort_changes_what_comes_first(void **state)
{
    history_fx *fx = *state;
    vt *t = e2e_dealdesk(&fx->m, 30, 100, fx->m.sup1_file, NULL, NULL);
    assert_non_null(t);
    vt_send(t, "3");
    const char *newest[] = {"LISTING", fx->newest_listing};
    if (!vt_wait(t, first_row, (void *)newest, WAIT_MS)) {
        vt_dump(t, "waiting for the newest listing first");
        fail();
    }
    vt_send(t, ":sort price\r");
    assert_true(e2e_wait(t, "sorted by price", WAIT_MS));
    vt_send(t, "g"); /* the selection stayed on its listing, further down: to the top */
    const char *dearest[] = {"LISTING", fx->oldest_listing};
    if (!vt_wait(t, first_row, (void *)dearest, WAIT_MS)) {
        vt_dump(t, "waiting for the dearest (oldest) listing first");
        fail();
    }
    assert_true(e2e_wait(t, "Zanzibar lantern", WAIT_MS));
    vt_send(t, ":sort newest\r");
    vt_send(t, "g");
    if (!vt_wait(t, first_row, (void *)newest, WAIT_MS)) {
        vt_dump(t, "waiting for the newest listing first again");
        fail();
    }
    e2e_quit(t);
}

/* Reads a query's rows with the client alone (its one wait), up to want; fails the test
 * when the read fails. */
static void read_all(client *c, const page_query *q, size_t want, page_result *res)
{
    for (int i = 0; i < 2000; i++) {
        client_history(c, q, want, res);
        if (res->state == PAGE_FAILED)
            fail_msg("reading %s sort=%s q=%s: %s", model_kind_event_type(q->kind), q->sort, q->q,
                     res->error);
        if (res->state == PAGE_IDLE && (res->complete || res->nrows >= want))
            return;
        client_wait(c, NULL, 0, 50, NULL);
        client_run(c);
    }
    fail_msg("the rows of %s sort=%s never came", model_kind_event_type(q->kind), q->sort);
}

/* Every sort order of every pane that pages orders the server's rows as the server does:
 * each row read compares before the next (ties by creation order). */
static void test_comparators_agree_with_server(void **state)
{
    history_fx *fx = *state;
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", fx->m.srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    snprintf(cfg.journal_path, sizeof cfg.journal_path, "%s/journal.history", fx->m.srv.dir);
    cfg.no_stream = true;
    store *st = store_new();
    char err[256];
    client *c = client_new(&cfg, st, err, sizeof err);
    if (!c)
        fail_msg("client_new: %s", err);
    static ui u;
    memset(&u, 0, sizeof u);
    u.st = st;
    u.cl = c;
    size_t checked = 0;
    for (int p = 0; p < PANE_COUNT; p++)
        for (int s = 0; s < panes_sort_count(p); s++) {
            u.panes[p].sort = s;
            for (int search = 0; search < 2; search++) {
                snprintf(u.panes[p].filter, sizeof u.panes[p].filter, "%s", search ? "item" : "");
                page_query q;
                if (!panes_query(&u, p, &q))
                    continue;
                page_result res;
                read_all(c, &q, 1000, &res);
                for (size_t i = 1; i < res.nrows; i++)
                    if (panes_ops[p].compare(&u, s, res.rows[i - 1], res.rows[i]) >= 0)
                        fail_msg("%s by %s%s: %s before %s on the server", panes_name(p),
                                 panes_sort_name(p, s), search ? " (q=item)" : "",
                                 panes_ops[p].id(res.rows[i - 1]), panes_ops[p].id(res.rows[i]));
                checked += res.nrows;
            }
        }
    assert_true(checked > 4 * OLD); /* something was compared */
    client_free(c);
    store_free(st);
    config_free(&cfg);
}

/* The market gone: a page asked for fails and the pane says why in its last row, while
 * the screen keeps answering keys; the market back, refresh reads the history again. */
static void test_failed_page_shows_error(void **state)
{
    history_fx *fx = *state;
    vt *t = e2e_dealdesk(&fx->m, 30, 100, fx->m.sup1_file, NULL, NULL);
    assert_non_null(t);
    vt_send(t, "3");
    const char *newest[] = {"LISTING", fx->newest_listing};
    if (!vt_wait(t, first_row, (void *)newest, WAIT_MS)) {
        vt_dump(t, "waiting for the listings");
        fail();
    }
    testsrv_kill9(&fx->m.srv);
    vt_send(t, ":sort updated\r"); /* a query not read yet: its first page fails */
    assert_true(e2e_wait(t, "sorted by updated", WAIT_MS));
    vt_send(t, "G"); /* the rows held, then the failure in the last row */
    assert_true(e2e_wait(t, "history:", WAIT_MS));
    vt_send(t, "6"); /* the screen answers */
    assert_true(e2e_wait(t, "SPEND / CAP", WAIT_MS));
    vt_send(t, "3");
    assert_true(e2e_wait(t, "history:", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET RUNNING?", WAIT_MS)); /* stale: the stream is gone */
    assert_int_equal(testsrv_restart(&fx->m.srv), 0);
    if (!vt_wait(t, live, NULL, 30000)) {
        vt_dump(t, "waiting for the market live again");
        fail();
    }
    vt_send(t, "r");
    const char *back[] = {"Zanzibar lantern", "history:"};
    for (int i = 0; i < 4 && !vt_wait(t, shows_not, back, 3000); i++)
        vt_send(t, "G"); /* the lantern is the oldest: at the end */
    if (!vt_wait(t, shows_not, back, WAIT_MS)) {
        vt_dump(t, "waiting for the history read again");
        fail();
    }
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scroll_to_history),
        cmocka_unit_test(test_filter_finds_old_thread),
        cmocka_unit_test(test_sort_changes_what_comes_first),
        cmocka_unit_test(test_comparators_agree_with_server),
        cmocka_unit_test(test_failed_page_shows_error),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
