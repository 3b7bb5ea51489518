/* test_panes.c: the panes' logic without a terminal (no curses screen is opened): the
 * filter searches what the cells show, the sort orders, the selection kept on its object
 * while rows arrive, leave or re-sort, the move to the next waiting purchase after a
 * decision, the layout rule, and the header's counts; for the panes that page from the
 * server (issue 14): the store's rows merged with the rows read (the store's version
 * wins), cut at the frontier while the server has more, the status row, the search, the
 * comparators' ties by creation order, and the query each sort order makes. A store is
 * filled as a snapshot fills it (store_load) and the panes are recomputed as the update
 * step does; the rows read are given as the client gives them (a page_result). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/model.h"
#include "api/text.h"
#include "tests/lib/proc.h"
#include "tests/lib/consolefx.h"
#include "tui/ui.h"

static ui U; /* large: static, one per test (reset by setup) */

/* A sanitised text field. */
static model_text mk(const char *s)
{
    model_text t = {0};
    t.s = text_sanitize_str(s, TEXT_UTF8, &t.flags, &t.width);
    return t;
}

/* Loads version `version` of a listing created at `created`. */
static void load_listing(ui *u, const char *id, const char *title, int64_t price, int64_t created,
                         int64_t version)
{
    model_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MODEL_LISTING;
    model_listing *l = &ev.u.listing;
    snprintf(l->id, sizeof l->id, "%s", id);
    snprintf(l->seller_id, sizeof l->seller_id, "agt_1");
    l->version = version;
    l->title = mk(title);
    l->description = mk("");
    l->category = mk("home");
    l->unit_price_minor = price;
    memcpy(l->currency, "USD", 4);
    l->quantity = 1;
    l->floor_minor = -1;
    l->created_at = created;
    l->updated_at = created;
    store_load(u->st, &ev);
    model_event_free(&ev);
    u->gen++; /* the store changed */
}

/* Loads a listing created at `created`. */
static void add_listing(ui *u, const char *id, const char *title, int64_t price, int64_t created)
{
    load_listing(u, id, title, price, created, 1);
}

/* Loads a purchase with a deadline `due` ms from now (0: none), a total and a risk. */
static void add_purchase(ui *u, const char *id, model_purchase_status status, int64_t due,
                         int64_t total, int risk, int64_t version)
{
    model_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MODEL_PURCHASE;
    model_purchase *p = &ev.u.purchase;
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->listing_id, sizeof p->listing_id, "lst_1");
    snprintf(p->buyer_id, sizeof p->buyer_id, "agt_2");
    snprintf(p->seller_id, sizeof p->seller_id, "agt_1");
    p->version = version;
    p->status = status;
    p->quantity = 1;
    p->unit_price_minor = total;
    p->total_minor = total;
    memcpy(p->currency, "USD", 4);
    p->risk_score = risk;
    p->decide_by = due ? ui_now_ms() + due : 0;
    store_load(u->st, &ev);
    model_event_free(&ev);
    u->gen++;
}

/* Loads an alert of severity sev in status st. */
static void add_alert(ui *u, const char *id, model_severity sev, model_alert_status st)
{
    model_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MODEL_ALERT;
    model_alert *a = &ev.u.alert;
    snprintf(a->id, sizeof a->id, "%s", id);
    a->version = 1;
    a->severity = sev;
    a->status = st;
    a->count = 1;
    store_load(u->st, &ev);
    model_event_free(&ev);
    u->gen++;
}

/* A listing as a page from the server holds it (not in the store); free with
 * model_listing_clear. */
static model_listing page_listing(const char *id, const char *title, int64_t price)
{
    model_listing l;
    memset(&l, 0, sizeof l);
    snprintf(l.id, sizeof l.id, "%s", id);
    snprintf(l.seller_id, sizeof l.seller_id, "agt_1");
    l.version = 1;
    l.title = mk(title);
    l.description = mk("");
    l.category = mk("home");
    l.unit_price_minor = price;
    memcpy(l.currency, "USD", 4);
    l.quantity = 1;
    l.floor_minor = -1;
    return l;
}

/* A thread about listing_id (held by the store when load). */
static model_negotiation thread(const char *id, const char *listing_id, model_neg_status st)
{
    model_negotiation n;
    memset(&n, 0, sizeof n);
    snprintf(n.id, sizeof n.id, "%s", id);
    snprintf(n.listing_id, sizeof n.listing_id, "%s", listing_id);
    snprintf(n.buyer_id, sizeof n.buyer_id, "agt_2");
    snprintf(n.seller_id, sizeof n.seller_id, "agt_1");
    n.version = 1;
    n.status = st;
    memcpy(n.currency, "USD", 4);
    return n;
}

/* Loads a thread into the store. */
static void add_thread(ui *u, const char *id, const char *listing_id, model_neg_status st)
{
    model_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = MODEL_NEGOTIATION;
    ev.u.negotiation = thread(id, listing_id, st);
    store_load(u->st, &ev);
    model_event_free(&ev);
    u->gen++;
}

static int setup(void **state)
{
    (void)state;
    memset(&U, 0, sizeof U);
    U.mode_text = TEXT_UTF8;
    U.st = store_new();
    if (!U.st)
        return -1;
    store_reset(U.st, "test", 0);
    for (int p = 0; p < PANE_COUNT; p++)
        U.panes[p].table.page = 10;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int p = 0; p < PANE_COUNT; p++) {
        free(U.panes[p].rows);
        panes_texts_free(&U.panes[p]);
    }
    detail_free(&U);
    store_free(U.st);
    return 0;
}

/* The id of row i of pane p. */
static const char *row(int p, size_t i)
{
    assert_true(i < U.panes[p].table.nrows);
    return panes_row_id(p, U.panes[p].rows[i]);
}

/* The id of the selected row of pane p. */
static const char *selected(int p)
{
    return row(p, U.panes[p].table.sel);
}

/* The filter searches the cells as shown, folding ASCII case; typing narrows. */
static void test_filter(void **state)
{
    (void)state;
    add_listing(&U, "lst_1", "Desk lamp", 1200, 1);
    add_listing(&U, "lst_2", "Road bike", 61500, 2);
    add_listing(&U, "lst_3", "Reading LAMP", 900, 3);
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 3);
    snprintf(pn->filter, sizeof pn->filter, "La");
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 2);
    snprintf(pn->filter, sizeof pn->filter, "Lamp");
    panes_refresh(&U, PANE_LISTINGS, false); /* narrowing what is shown */
    assert_int_equal(pn->table.nrows, 2);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_3"); /* newest first */
    assert_string_equal(row(PANE_LISTINGS, 1), "lst_1");
    /* money as formatted on screen */
    snprintf(pn->filter, sizeof pn->filter, "$615.00");
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 1);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_2");
    pn->filter[0] = '\0';
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 3);
}

/* The filter's text of a row is made once and kept while typing (rows.c row_text), and
 * made again when the row changes in the store or the marks change: a new title, or a
 * new mark, is searched at once, the old one no more; a match never spans two cells. */
static void test_filter_follows_changes(void **state)
{
    (void)state;
    add_listing(&U, "lst_1", "Desk lamp", 1200, 1);
    add_listing(&U, "lst_2", "Road bike", 61500, 2);
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    snprintf(pn->filter, sizeof pn->filter, "bike");
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 1);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_2");
    load_listing(&U, "lst_2", "Road trike", 61500, 2, 2); /* the same listings, new titles */
    load_listing(&U, "lst_1", "Desk bike", 1200, 1, 2);
    panes_refresh(&U, PANE_LISTINGS, false); /* the same filter, the store changed */
    assert_int_equal(pn->table.nrows, 1);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_1");
    snprintf(pn->filter, sizeof pn->filter, "trike");
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 1);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_2");
    snprintf(pn->filter, sizeof pn->filter, "ke road"); /* the end of a cell, the next */
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 0);
}

/* Pending: waiting purchases first, at stake (the default), by deadline, total or risk;
 * the names of the orders. */
static void test_sort(void **state)
{
    (void)state;
    add_purchase(&U, "pur_1", PUR_PENDING, 90000, 5000, 10, 1);
    add_purchase(&U, "pur_2", PUR_PENDING, 30000, 100, 80, 1);
    add_purchase(&U, "pur_3", PUR_PENDING, 60000, 90000, 40, 1);
    ui_pane *pn = &U.panes[PANE_PENDING];
    panes_refresh(&U, PANE_PENDING, false);
    assert_string_equal(panes_sort_name(PANE_PENDING, pn->sort), "stake");
    assert_string_equal(row(PANE_PENDING, 0), "pur_3"); /* no flags: the largest total */
    assert_string_equal(row(PANE_PENDING, 1), "pur_1");
    assert_string_equal(row(PANE_PENDING, 2), "pur_2");
    pn->sort = 1;
    panes_refresh(&U, PANE_PENDING, true);
    assert_string_equal(panes_sort_name(PANE_PENDING, pn->sort), "deadline");
    assert_string_equal(row(PANE_PENDING, 0), "pur_2");
    assert_string_equal(row(PANE_PENDING, 1), "pur_3");
    assert_string_equal(row(PANE_PENDING, 2), "pur_1");
    pn->sort = 2;
    panes_refresh(&U, PANE_PENDING, true);
    assert_string_equal(panes_sort_name(PANE_PENDING, pn->sort), "total");
    assert_string_equal(row(PANE_PENDING, 0), "pur_3");
    assert_string_equal(row(PANE_PENDING, 2), "pur_2");
    pn->sort = 3;
    panes_refresh(&U, PANE_PENDING, true);
    assert_string_equal(panes_sort_name(PANE_PENDING, pn->sort), "risk");
    assert_string_equal(row(PANE_PENDING, 0), "pur_2");
    assert_string_equal(row(PANE_PENDING, 2), "pur_1");
    assert_int_equal(panes_sort_count(PANE_PENDING), 5);
    assert_string_equal(panes_sort_name(PANE_PENDING, 5), "?");
    assert_string_equal(panes_name(PANE_AGENTS), "Agents");
}

/* The selection is an object: it stays on it while rows arrive above it, when the order
 * changes, and while a filter hides other rows. */
static void test_selection_stays_on_its_object(void **state)
{
    (void)state;
    add_listing(&U, "lst_1", "Desk lamp", 1200, 1);
    add_listing(&U, "lst_2", "Road bike", 61500, 2);
    add_listing(&U, "lst_3", "Reading lamp", 900, 3);
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    U.pane = PANE_LISTINGS;
    assert_true(panes_select_id(&U, PANE_LISTINGS, "lst_2"));
    assert_int_equal(pn->table.sel, 1);
    add_listing(&U, "lst_4", "Floor lamp", 4000, 4); /* above it: newest first */
    add_listing(&U, "lst_5", "Gravel bike", 90000, 5);
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 5);
    assert_int_equal(pn->table.sel, 3);
    assert_string_equal(selected(PANE_LISTINGS), "lst_2");
    pn->sort = 2; /* by price: lst_5, lst_2, ... */
    panes_refresh(&U, PANE_LISTINGS, true);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_5");
    assert_string_equal(selected(PANE_LISTINGS), "lst_2");
    snprintf(pn->filter, sizeof pn->filter, "bike"); /* lst_5 and lst_2 stay */
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_int_equal(pn->table.nrows, 2);
    assert_string_equal(selected(PANE_LISTINGS), "lst_2");
    /* a move records the object at the new row */
    widget_table_move(&pn->table, -1);
    panes_note_selection(&U, PANE_LISTINGS);
    assert_string_equal(pn->sel_id, "lst_5");
    pn->filter[0] = '\0';
    panes_refresh(&U, PANE_LISTINGS, false);
    assert_string_equal(selected(PANE_LISTINGS), "lst_5");
    model_kind kind;
    const model_listing *l = panes_current(&U, &kind);
    assert_int_equal(kind, MODEL_LISTING);
    assert_string_equal(l->id, "lst_5");
}

/* Rows that leave the pane (decided elsewhere, not selected) move the selected row, not
 * the selection: it stays on its purchase at its new place. */
static void test_selection_when_rows_leave(void **state)
{
    (void)state;
    add_purchase(&U, "pur_1", PUR_PENDING, 30000, 100, 0, 1);
    add_purchase(&U, "pur_2", PUR_PENDING, 60000, 100, 0, 1);
    add_purchase(&U, "pur_3", PUR_PENDING, 90000, 100, 0, 1);
    ui_pane *pn = &U.panes[PANE_PENDING];
    assert_true(panes_select_id(&U, PANE_PENDING, "pur_3"));
    assert_int_equal(pn->table.sel, 2);
    add_purchase(&U, "pur_1", PUR_SETTLED, 0, 100, 0, 2); /* approved by another operator */
    add_purchase(&U, "pur_2", PUR_VETOED, 0, 100, 0, 2);
    panes_refresh(&U, PANE_PENDING, false);
    assert_int_equal(pn->table.nrows, 1);
    assert_int_equal(pn->table.sel, 0);
    assert_string_equal(selected(PANE_PENDING), "pur_3");
    /* one that ranks above it arrives: the resting cursor's row keeps its place, the
     * new one goes in below it (issue 15; test_pending_rank.c) */
    add_purchase(&U, "pur_4", PUR_PENDING, 10000, 100, 0, 1);
    panes_refresh(&U, PANE_PENDING, false);
    assert_string_equal(row(PANE_PENDING, 0), "pur_3");
    assert_string_equal(row(PANE_PENDING, 1), "pur_4");
    assert_string_equal(selected(PANE_PENDING), "pur_3");
}

/* A purchase decided elsewhere stays listed while selected (showing what it is now);
 * after a decision from here the selection moves on to the next waiting purchase below,
 * else the nearest above, skipping those in flight. */
static void test_selection_after_decision(void **state)
{
    (void)state;
    add_purchase(&U, "pur_1", PUR_PENDING, 30000, 100, 0, 1);
    add_purchase(&U, "pur_2", PUR_PENDING, 60000, 100, 0, 1);
    add_purchase(&U, "pur_3", PUR_PENDING, 90000, 100, 0, 1);
    add_purchase(&U, "pur_4", PUR_PENDING, 120000, 100, 0, 1);
    assert_true(panes_select_id(&U, PANE_PENDING, "pur_2"));
    /* pur_3 is in flight already: the next waiting one is pur_4 */
    U.inflight[U.ninflight++] = (ui_inflight){.id = 7, .action = DEC_VETO, .subject = "pur_3"};
    U.inflight[U.ninflight++] = (ui_inflight){.id = 8, .action = DEC_APPROVE, .subject = "pur_2"};
    U.marks++;
    panes_select_after_decision(&U, "pur_2");
    assert_string_equal(selected(PANE_PENDING), "pur_4");
    /* pur_4 decided (no longer waiting) while selected: it stays, showing its state */
    add_purchase(&U, "pur_4", PUR_SETTLED, 0, 100, 0, 2);
    panes_refresh(&U, PANE_PENDING, false);
    assert_string_equal(selected(PANE_PENDING), "pur_4");
    /* deciding the last one: the nearest waiting one above */
    U.inflight[U.ninflight++] = (ui_inflight){.id = 9, .action = DEC_APPROVE, .subject = "pur_4"};
    U.marks++;
    panes_select_after_decision(&U, "pur_4");
    assert_string_equal(selected(PANE_PENDING), "pur_1");
    /* a decision on a purchase the operator is not on leaves the selection alone */
    panes_select_after_decision(&U, "pur_3");
    assert_string_equal(selected(PANE_PENDING), "pur_1");
    /* the in-flight label is what the STATE cell shows */
    assert_null(panes_inflight_label(&U, "pur_1"));
    snprintf(U.inflight[0].label, sizeof U.inflight[0].label, "vetoing…");
    assert_string_equal(panes_inflight_label(&U, "pur_3"), "vetoing…");
}

/* The one layout rule: the detail fills the pane area when both do not fit (80x24),
 * the table takes two fifths beside it otherwise, six rows when the detail is open. */
static void test_layout(void **state)
{
    (void)state;
    add_purchase(&U, "pur_1", PUR_PENDING, 30000, 100, 0, 1);
    panes_refresh(&U, PANE_PENDING, false);
    ui_layout l = ui_layout_of(&U, 24, 80);
    assert_false(l.too_small);
    assert_int_equal(l.top, 3);
    assert_int_equal(l.height, 19);
    assert_int_equal(l.table_h, 19);
    assert_int_equal(l.detail_h, 0);
    U.panes[PANE_PENDING].detail = true;
    l = ui_layout_of(&U, 24, 80);
    assert_true(l.detail_full);
    assert_int_equal(l.table_h, 0);
    assert_int_equal(l.detail_top, 3);
    assert_int_equal(l.detail_h, 19);
    l = ui_layout_of(&U, 30, 100); /* 25 rows: both */
    assert_false(l.detail_full);
    assert_int_equal(l.table_h, 6);
    assert_int_equal(l.detail_top, 3 + 6 + 1);
    assert_int_equal(l.detail_h, 25 - 6 - 1);
    U.panes[PANE_PENDING].detail = false;
    l = ui_layout_of(&U, 30, 100);
    assert_int_equal(l.table_h, 10);
    assert_int_equal(l.detail_h, 25 - 10 - 1);
    assert_true(ui_layout_of(&U, 9, 80).too_small);
    assert_true(ui_layout_of(&U, 24, 39).too_small);
}

/* The update step places the table in the layout (its page) and builds the detail,
 * keeping the detail's scroll inside its lines: the drawing then only reads. */
static void test_prepare(void **state)
{
    (void)state;
    add_purchase(&U, "pur_1", PUR_PENDING, 30000, 100, 0, 1);
    add_purchase(&U, "pur_2", PUR_PENDING, 60000, 100, 0, 1);
    add_purchase(&U, "pur_3", PUR_SETTLED, 0, 700, 0, 2);
    U.pane = PANE_PENDING;
    view_prepare(&U, 30, 100);
    ui_pane *pn = &U.panes[PANE_PENDING];
    assert_int_equal(pn->table.nrows, 2); /* a settled purchase is not listed */
    assert_int_equal(pn->table.page, U.lay.table_h - 1);
    assert_int_equal(U.counts.pending, 2);
    assert_true(U.counts.nearest > 0);
    pn->detail = true;
    pn->detail_scroll = 100000; /* End */
    view_prepare(&U, 24, 80);
    assert_true(U.lay.detail_full);
    int n = detail_update(&U, 80, U.lay.detail_h);
    assert_true(n > 0);
    assert_int_equal(pn->detail_scroll, n > U.lay.detail_h ? n - U.lay.detail_h : 0);
    ui_counts c = ui_count(&U);
    assert_int_equal(c.pending, 2);
    assert_int_equal(c.sev[SEV_CRITICAL], 0);
    /* open alerts count; acknowledged and resolved ones do not (issue 15) */
    add_alert(&U, "alr_1", SEV_CRITICAL, ALERT_OPEN);
    add_alert(&U, "alr_2", SEV_CRITICAL, ALERT_RESOLVED);
    add_alert(&U, "alr_3", SEV_WARNING, ALERT_RESOLVED);
    add_alert(&U, "alr_4", SEV_WARNING, ALERT_ACKED);
    c = ui_count(&U);
    assert_int_equal(c.sev[SEV_CRITICAL], 1);
    assert_int_equal(c.sev[SEV_WARNING], 0);
}

/* The rows of a pane that pages: the store's rows merged by id with the rows read, the
 * store's version shown; the rows that sort after the last row read are cut while the
 * server has more; the status row while a page is on its way or failed, the rows read
 * next taking its place; all the rows once the server has no more. */
static void test_merge_and_frontier(void **state)
{
    (void)state;
    add_listing(&U, "lst_12", "Lamp (held)", 500, 12);
    add_listing(&U, "lst_10", "Desk lamp (held)", 1200, 10);
    add_listing(&U, "lst_3", "Old chair", 300, 3); /* held: a thread names it */
    model_listing read[4] = {
        page_listing("lst_12", "Lamp (read)", 500), page_listing("lst_11", "Kettle", 800),
        page_listing("lst_10", "Desk lamp (read)", 1200), page_listing("lst_9", "Rug", 700)};
    const void *rows[4] = {&read[0], &read[1], &read[2], &read[3]};
    page_result res = {.state = PAGE_IDLE, .rows = rows, .nrows = 4, .read_seq = 5};
    U.pane = PANE_LISTINGS;
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    assert_string_equal(panes_sort_name(PANE_LISTINGS, pn->sort), "newest");
    panes_compute(&U, PANE_LISTINGS, &res);
    assert_int_equal(pn->table.nrows, 4); /* lst_3 is past the frontier (lst_9) */
    assert_int_equal(panes_objects(&U, PANE_LISTINGS), 4);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_12");
    assert_string_equal(row(PANE_LISTINGS, 1), "lst_11");
    assert_string_equal(row(PANE_LISTINGS, 2), "lst_10");
    assert_string_equal(row(PANE_LISTINGS, 3), "lst_9");
    assert_ptr_equal(pn->rows[0], store_listing(U.st, "lst_12")); /* the store's version */
    assert_ptr_equal(pn->rows[2], store_listing(U.st, "lst_10"));
    assert_ptr_equal(pn->rows[1], &read[1]);
    assert_true(pn->hist_more);

    /* a page on its way: the status row last; selected, it is no object */
    res.state = PAGE_LOADING;
    panes_compute(&U, PANE_LISTINGS, &res);
    assert_int_equal(pn->table.nrows, 5);
    assert_int_equal(panes_objects(&U, PANE_LISTINGS), 4);
    assert_true(panes_is_status_row(pn->rows[4]));
    widget_table_move(&pn->table, 10);
    panes_note_selection(&U, PANE_LISTINGS);
    assert_int_equal(pn->table.sel, 4);
    assert_null(panes_current(&U, NULL));
    /* the page arrived, the last: the held lst_3 shows, where the status row was */
    res.state = PAGE_IDLE;
    res.complete = true;
    panes_compute(&U, PANE_LISTINGS, &res);
    assert_int_equal(pn->table.nrows, 5);
    assert_false(panes_is_status_row(pn->rows[4]));
    assert_string_equal(selected(PANE_LISTINGS), "lst_3");
    assert_false(pn->hist_more);

    /* a failure: the error in the status row; the rows read stay */
    res.state = PAGE_FAILED;
    res.complete = false;
    snprintf(res.error, sizeof res.error, "HTTP 503 from the market");
    panes_compute(&U, PANE_LISTINGS, &res);
    assert_int_equal(pn->hist, PAGE_FAILED);
    assert_string_equal(pn->hist_error, "HTTP 503 from the market");
    assert_true(panes_is_status_row(pn->rows[pn->table.nrows - 1]));
    assert_string_equal(row(PANE_LISTINGS, 3), "lst_9");

    /* nothing read yet (the first page on its way): the held rows, then the status row */
    page_result none = {.state = PAGE_LOADING};
    panes_compute(&U, PANE_LISTINGS, &none);
    assert_int_equal(panes_objects(&U, PANE_LISTINGS), 3);
    assert_true(panes_is_status_row(pn->rows[3]));
    for (int i = 0; i < 4; i++)
        model_listing_clear(&read[i]);
}

/* A paged pane keeps its held rows sorted and narrows the last filter's rows as keys are
 * typed (rows.c, struct pane_sorted), merging the rows read in: whatever is typed, in
 * whatever sort, the rows are those a fresh computation gives (its cache dropped), and
 * in the pane's order. Random titles and keys (seeded); held and read rows. */
static void test_filter_narrowing_is_a_fresh_filter(void **state)
{
    (void)state;
    static const char abc[] = "qxzj";
    uint64_t rng = 77;
    char title[16], id[32];
    for (int i = 1; i <= 200; i++) {
        for (int k = 0; k < 6; k++)
            title[k] = abc[tproc_rng(&rng) % 4];
        title[6] = '\0';
        snprintf(id, sizeof id, "lst_%d", i);
        add_listing(&U, id, title, (int64_t)(tproc_rng(&rng) % 50) * 100, i);
    }
    model_listing read[60];
    const void *rows[60];
    for (int i = 0; i < 60; i++) { /* every other one held (a newer version in the store) */
        for (int k = 0; k < 6; k++)
            title[k] = abc[tproc_rng(&rng) % 4];
        title[6] = '\0';
        snprintf(id, sizeof id, "lst_%d", i % 2 ? 150 + i : 201 + i);
        read[i] = page_listing(id, title, (int64_t)(tproc_rng(&rng) % 50) * 100);
        rows[i] = &read[i];
    }
    page_result res = {.state = PAGE_IDLE, .rows = rows, .nrows = 60, .complete = true};
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    const void *warm[400];
    for (int step = 0; step < 600; step++) {
        size_t len = strlen(pn->filter);
        uint64_t r = tproc_rng(&rng) % 10;
        if (r < 6 && len < 8) {
            pn->filter[len] = abc[tproc_rng(&rng) % 4];
            pn->filter[len + 1] = '\0';
        } else if (r < 9 && len) {
            pn->filter[len - 1] = '\0';
        } else {
            pn->filter[0] = '\0';
        }
        if (step % 100 == 0) /* another sort: newest, updated, price */
            pn->sort = (step / 100) % 3;
        panes_compute(&U, PANE_LISTINGS, &res);
        size_t n = pn->table.nrows;
        assert_true(n <= 400);
        memcpy(warm, pn->rows, n * sizeof *warm);
        for (size_t i = 1; i < n; i++)
            assert_true(panes_ops[PANE_LISTINGS].compare(&U, pn->sort, warm[i - 1], warm[i]) <= 0);
        panes_texts_free(pn);
        panes_compute(&U, PANE_LISTINGS, &res);
        assert_int_equal(pn->table.nrows, n);
        assert_memory_equal(pn->rows, warm, n * sizeof *warm);
    }
    for (int i = 0; i < 60; i++)
        model_listing_clear(&read[i]);
}

/* The frontier under another order: by price, the rows cheaper than the last read are
 * cut; equal prices are ordered by creation, newest first, as the server orders them
 * (lst_10 was created after lst_9: numbers, not strings). */
static void test_frontier_by_price(void **state)
{
    (void)state;
    add_listing(&U, "lst_9", "Nine", 700, 9);
    add_listing(&U, "lst_10", "Ten", 700, 10);
    add_listing(&U, "lst_2", "Cheap", 100, 2);
    add_listing(&U, "lst_1", "Dear", 90000, 1);
    ui_pane *pn = &U.panes[PANE_LISTINGS];
    pn->sort = 2;
    assert_string_equal(panes_sort_name(PANE_LISTINGS, pn->sort), "price");
    model_listing read[2] = {page_listing("lst_1", "Dear", 90000),
                             page_listing("lst_10", "Ten", 700)};
    const void *rows[2] = {&read[0], &read[1]};
    page_result res = {.state = PAGE_IDLE, .rows = rows, .nrows = 2};
    panes_compute(&U, PANE_LISTINGS, &res);
    /* lst_9 has lst_10's price but is older: after it, past the frontier, as lst_2 */
    assert_int_equal(pn->table.nrows, 2);
    assert_string_equal(row(PANE_LISTINGS, 0), "lst_1");
    assert_string_equal(row(PANE_LISTINGS, 1), "lst_10");
    res.complete = true;
    panes_compute(&U, PANE_LISTINGS, &res);
    assert_int_equal(pn->table.nrows, 4);
    assert_string_equal(row(PANE_LISTINGS, 2), "lst_9");
    assert_string_equal(row(PANE_LISTINGS, 3), "lst_2");
    for (int i = 0; i < 2; i++)
        model_listing_clear(&read[i]);
}

/* Each comparator orders ties by creation (the id's number) in its direction: threads
 * by "status" put open, then held, then the rest newest first; alerts "open first". */
static void test_comparators(void **state)
{
    (void)state;
    add_thread(&U, "neg_8", "lst_1", NEG_AGREED);
    add_thread(&U, "neg_10", "lst_1", NEG_EXPIRED);
    add_thread(&U, "neg_9", "lst_1", NEG_HELD);
    add_thread(&U, "neg_2", "lst_1", NEG_OPEN);
    ui_pane *pn = &U.panes[PANE_THREADS];
    panes_refresh(&U, PANE_THREADS, true); /* opened: newest first */
    assert_string_equal(row(PANE_THREADS, 0), "neg_10");
    assert_string_equal(row(PANE_THREADS, 1), "neg_9");
    assert_string_equal(row(PANE_THREADS, 3), "neg_2");
    pn->sort = 2;
    assert_string_equal(panes_sort_name(PANE_THREADS, pn->sort), "status");
    panes_refresh(&U, PANE_THREADS, true);
    assert_string_equal(row(PANE_THREADS, 0), "neg_2");
    assert_string_equal(row(PANE_THREADS, 1), "neg_9");
    assert_string_equal(row(PANE_THREADS, 2), "neg_10");
    assert_string_equal(row(PANE_THREADS, 3), "neg_8");
}

/* A filter of PAGES_Q_MIN+ characters searched the server: what it found stays whatever
 * the cells show (an old thread whose listing the store does not hold shows the listing's
 * id), the store's rows are filtered; a shorter filter filters everything held. */
static void test_search(void **state)
{
    (void)state;
    add_listing(&U, "lst_1", "Gravel bike", 90000, 1);
    add_listing(&U, "lst_2", "Desk lamp", 1200, 2);
    add_thread(&U, "neg_5", "lst_1", NEG_OPEN);
    add_thread(&U, "neg_6", "lst_2", NEG_OPEN);
    model_negotiation read[2] = {thread("neg_5", "lst_1", NEG_OPEN),
                                 thread("neg_2", "lst_77", NEG_AGREED)};
    const void *rows[2] = {&read[0], &read[1]};
    page_result res = {.state = PAGE_IDLE, .rows = rows, .nrows = 2, .complete = true};
    ui_pane *pn = &U.panes[PANE_THREADS];
    snprintf(pn->filter, sizeof pn->filter, "bike");
    panes_compute(&U, PANE_THREADS, &res);
    assert_int_equal(pn->table.nrows, 2);
    assert_string_equal(row(PANE_THREADS, 0), "neg_5");
    assert_ptr_equal(pn->rows[0], store_negotiation(U.st, "neg_5"));
    assert_string_equal(row(PANE_THREADS, 1), "neg_2");
    snprintf(pn->filter, sizeof pn->filter, "bi");
    panes_compute(&U, PANE_THREADS, &res);
    assert_int_equal(pn->table.nrows, 1);
    assert_string_equal(row(PANE_THREADS, 0), "neg_5");
}

/* With a client, each paged pane's sort order makes its query (one table: kind, status,
 * the server's sort); a sort without a server sort and the local panes make none; a filter
 * of PAGES_Q_MIN+ characters is the query's q. The first read asks for a page: the status
 * row shows "loading" while it is on its way (the client is never run here). */
static void test_queries_and_loading(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    ui *u = &f->u;
    page_query q;
    static const struct {
        int pane, sort;
        const char *name, *server;
        model_kind kind;
    } want[] = {
        {PANE_THREADS, 0, "opened", "newest", MODEL_NEGOTIATION},
        {PANE_THREADS, 1, "activity", "activity", MODEL_NEGOTIATION},
        {PANE_THREADS, 2, "status", "newest", MODEL_NEGOTIATION},
        {PANE_THREADS, 3, "messages", "messages", MODEL_NEGOTIATION},
        {PANE_LISTINGS, 0, "newest", "newest", MODEL_LISTING},
        {PANE_LISTINGS, 1, "updated", "updated", MODEL_LISTING},
        {PANE_LISTINGS, 2, "price", "price", MODEL_LISTING},
        {PANE_LISTINGS, 3, "hidden", NULL, MODEL_LISTING},
        {PANE_LEDGER, 0, "newest", "newest", MODEL_LEDGER},
        {PANE_LEDGER, 1, "oldest", "", MODEL_LEDGER},
        {PANE_LEDGER, 2, "amount", "amount", MODEL_LEDGER},
        {PANE_ALERTS, 0, "open first", "severity", MODEL_ALERT},
        {PANE_ALERTS, 1, "severity", "severity", MODEL_ALERT},
        {PANE_ALERTS, 2, "newest", "newest", MODEL_ALERT},
        {PANE_PENDING, 0, "stake", NULL, MODEL_PURCHASE},
        {PANE_AGENTS, 0, "name", NULL, MODEL_AGENT},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        u->panes[want[i].pane].sort = want[i].sort;
        assert_string_equal(panes_sort_name(want[i].pane, want[i].sort), want[i].name);
        bool paged = panes_query(u, want[i].pane, &q);
        assert_int_equal(paged, want[i].server != NULL);
        if (paged) {
            assert_int_equal(q.kind, want[i].kind);
            assert_string_equal(q.sort, want[i].server);
            assert_string_equal(q.q, "");
        }
        u->panes[want[i].pane].sort = 0;
    }
    snprintf(u->panes[PANE_THREADS].filter, sizeof u->panes[0].filter, "gr");
    assert_true(panes_query(u, PANE_THREADS, &q));
    assert_string_equal(q.q, "");
    snprintf(u->panes[PANE_THREADS].filter, sizeof u->panes[0].filter, "gravel");
    assert_true(panes_query(u, PANE_THREADS, &q));
    assert_string_equal(q.q, "gravel");
    u->panes[PANE_THREADS].filter[0] = '\0';

    commands_do(u, ACT_PANE2);
    view_prepare(u, 24, 80);
    ui_pane *pn = &u->panes[PANE_THREADS];
    assert_int_equal(pn->hist, PAGE_LOADING);
    assert_true(pn->table.nrows >= 1);
    assert_true(panes_is_status_row(pn->rows[pn->table.nrows - 1]));
    assert_true(pn->asked >= 2 * (size_t)pn->table.page); /* two screens */
    consolefx_close(f);
}

/* A page that failed is not asked again by itself (a failing server would be asked in a
 * loop, every failure changing what the panes show): the next frames keep the failure,
 * with its error in the status row; a move keeps the operator's ask until the client's
 * pause after a failure is over; refresh asks again at once. Nothing listens at the
 * market's address (loopback port 9): the read fails at once. */
static void test_failure_asked_again(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    ui *u = &f->u;
    ui_pane *pn = &u->panes[PANE_THREADS];
    commands_do(u, ACT_PANE2);
    view_prepare(u, 24, 80);
    assert_int_equal(pn->hist, PAGE_LOADING);
    for (int i = 0; i < 200 && pn->hist != PAGE_FAILED; i++) { /* until the answer */
        client_wait(u->cl, NULL, 0, 50, NULL);
        client_run(u->cl);
        if (view_after_client(u))
            view_prepare(u, 24, 80);
    }
    assert_int_equal(pn->hist, PAGE_FAILED);
    assert_true(pn->hist_error[0]);
    assert_true(panes_is_status_row(pn->rows[pn->table.nrows - 1]));
    /* past the client's pause after a failure (a second), anything else changing
     * computes the pane again: the failure is kept, not asked again */
    int64_t failed_by = ui_now_ms();
    while (ui_now_ms() < failed_by + 1200)
        client_wait(u->cl, NULL, 0, 100, NULL);
    client_run(u->cl);
    u->gen++;
    view_prepare(u, 24, 80);
    assert_int_equal(pn->hist, PAGE_FAILED);
    commands_do(u, ACT_DOWN); /* a move asks again: kept while the client pauses */
    assert_true(pn->retry);
    view_prepare(u, 24, 80);
    assert_true(pn->retry || pn->hist == PAGE_LOADING);
    commands_do(u, ACT_REFRESH); /* read afresh, now */
    view_prepare(u, 24, 80);
    assert_int_equal(pn->hist, PAGE_LOADING);
    assert_false(pn->retry);
    consolefx_close(f);
}

/* An export writes what the console holds; when the market holds more (its history
 * total), the status line says so and where the whole of it is. */
static void test_export_says_what_is_held(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    char line[700];
    snprintf(line, sizeof line, "export ledger %s/ledger.csv", f->dir);
    commands_run(&f->u, line);
    consolefx_says(f, "exported 1 ledger entries to ", false); /* the total unknown */
    store_set_history_total(f->u.st, MODEL_LEDGER, 900);
    commands_run(&f->u, line);
    consolefx_says(f, "exported the 1 ledger entries held (of 900; `dealdesk snapshot` prints",
                   false);
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_follows_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_narrowing_is_a_fresh_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selection_stays_on_its_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selection_when_rows_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_selection_after_decision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_and_frontier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frontier_by_price, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test(test_queries_and_loading),
        cmocka_unit_test(test_failure_asked_again),
        cmocka_unit_test(test_export_says_what_is_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
