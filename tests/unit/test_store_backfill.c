/* test_store_backfill.c: the staging and merge rule of a staged snapshot's backfill
 * (issue 14; api/model.h, store_backfill; api/client_backfill.c reads the pages): a page's
 * thread or listing is applied only when newer than what the stream said of it since the
 * backfill began, whether the store applied that or dropped it: a thread the stream closed
 * while the store did not hold it stays out (the race: a page read before the event,
 * applied after it), a message raises the count of a thread not yet held, a listing the
 * stream changed while no held thread named it comes back at its newest version, and what
 * the stream applied meanwhile is not evicted before the backfill ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/model.h"

static model_event thread_ev(int64_t seq, const char *id, int64_t version, model_neg_status st,
                             const char *listing_id, int64_t messages)
{
    model_event ev = {.seq = seq, .kind = MODEL_NEGOTIATION};
    model_negotiation *n = &ev.u.negotiation;
    snprintf(n->id, sizeof n->id, "%s", id);
    snprintf(n->listing_id, sizeof n->listing_id, "%s", listing_id);
    n->version = version;
    n->status = st;
    n->updated_at = seq;
    n->message_count = messages;
    return ev;
}

static model_event listing_ev(int64_t seq, const char *id, int64_t version, const char *title)
{
    model_event ev = {.seq = seq, .kind = MODEL_LISTING};
    snprintf(ev.u.listing.id, sizeof ev.u.listing.id, "%s", id);
    ev.u.listing.version = version;
    ev.u.listing.updated_at = seq;
    ev.u.listing.title.s = strdup(title);
    memcpy(ev.u.listing.currency, "USD", 4);
    return ev;
}

static model_event message_ev(int64_t seq, const char *neg, int64_t mseq)
{
    model_event ev = {.seq = seq, .kind = MODEL_MESSAGE};
    snprintf(ev.u.message.negotiation_id, sizeof ev.u.message.negotiation_id, "%s", neg);
    ev.u.message.seq = mseq;
    ev.u.message.text.s = strdup("counter");
    return ev;
}

/* A stream event, applied; what the store did not take is freed. */
static store_result apply(store *s, model_event ev)
{
    store_result r = store_apply(s, &ev);
    model_event_free(&ev);
    return r;
}

/* A page's row, put through store_backfill; what the store did not take is freed. */
static store_result page_row(store *s, model_event ev)
{
    store_result r = store_backfill(s, &ev);
    model_event_free(&ev);
    return r;
}

/* A store as after a staged snapshot at seq 100: one held open thread (neg_h on lst_h). */
static store *staged(void)
{
    store *s = store_new();
    store_reset(s, "e", 100);
    model_event ev = thread_ev(0, "neg_h", 3, NEG_OPEN, "lst_h", 4);
    assert_int_equal(store_load(s, &ev), STORE_APPLIED);
    ev = listing_ev(0, "lst_h", 1, "held one");
    assert_int_equal(store_load(s, &ev), STORE_APPLIED);
    store_set_live_more(s, true);
    store_backfill_begin(s);
    return s;
}

/* The race: a page read before the stream closed a thread the store did not hold (so
 * the event was dropped), applied after it: the old open version must not come back. */
static void test_closed_meanwhile_stays_out(void **state)
{
    (void)state;
    store *s = staged();
    /* the page was read here: neg_a open at version 5 */
    assert_int_equal(apply(s, thread_ev(101, "neg_a", 6, NEG_VETOED, "lst_a", 5)), STORE_STALE);
    assert_null(store_negotiation(s, "neg_a")); /* dropped: closed and not held */
    assert_int_equal(page_row(s, thread_ev(0, "neg_a", 5, NEG_OPEN, "lst_a", 5)), STORE_STALE);
    assert_null(store_negotiation(s, "neg_a"));
    /* the same page's row of a thread the stream said nothing of is applied */
    assert_int_equal(page_row(s, thread_ev(0, "neg_b", 2, NEG_OPEN, "lst_b", 1)), STORE_APPLIED);
    assert_int_equal(store_negotiation(s, "neg_b")->status, NEG_OPEN);
    /* after the backfill, the rule is gone with it: a page row is a plain load again */
    store_backfill_end(s);
    assert_false(store_backfilling(s));
    assert_int_equal(page_row(s, thread_ev(0, "neg_a", 5, NEG_OPEN, "lst_a", 5)), STORE_APPLIED);
    store_free(s);
}

/* A thread the stream updated (applied: open) is newer than the page's row of it; a
 * page read after the event (a newer version) is applied. */
static void test_newer_wins(void **state)
{
    (void)state;
    store *s = staged();
    assert_int_equal(apply(s, thread_ev(101, "neg_c", 4, NEG_HELD, "lst_c", 2)), STORE_APPLIED);
    assert_int_equal(page_row(s, thread_ev(0, "neg_c", 3, NEG_OPEN, "lst_c", 2)), STORE_STALE);
    assert_int_equal(store_negotiation(s, "neg_c")->status, NEG_HELD);
    assert_int_equal(page_row(s, thread_ev(0, "neg_c", 4, NEG_HELD, "lst_c", 2)), STORE_STALE);
    assert_int_equal(page_row(s, thread_ev(0, "neg_c", 5, NEG_OPEN, "lst_c", 3)), STORE_APPLIED);
    assert_int_equal(store_negotiation(s, "neg_c")->version, 5);
    /* the snapshot's own thread: an older page row changes nothing */
    assert_int_equal(page_row(s, thread_ev(0, "neg_h", 2, NEG_OPEN, "lst_h", 1)), STORE_STALE);
    assert_int_equal(store_negotiation(s, "neg_h")->message_count, 4);
    /* only threads and listings come from a backfill */
    model_event ev = {.kind = MODEL_AGENT};
    snprintf(ev.u.agent.id, sizeof ev.u.agent.id, "agt_1");
    assert_int_equal(store_backfill(s, &ev), STORE_STALE);
    model_event_free(&ev);
    store_free(s);
}

/* A message of a thread not held yet: dropped, but the page's row (read before it) gets
 * its count; one read after it keeps its own. */
static void test_message_count_raised(void **state)
{
    (void)state;
    store *s = staged();
    assert_int_equal(apply(s, message_ev(101, "neg_d", 7)), STORE_STALE);
    assert_int_equal(page_row(s, thread_ev(0, "neg_d", 2, NEG_OPEN, "lst_d", 6)), STORE_APPLIED);
    assert_int_equal(store_negotiation(s, "neg_d")->message_count, 7);
    assert_int_equal(apply(s, message_ev(102, "neg_e", 3)), STORE_STALE);
    assert_int_equal(page_row(s, thread_ev(0, "neg_e", 2, NEG_OPEN, "lst_e", 9)), STORE_APPLIED);
    assert_int_equal(store_negotiation(s, "neg_e")->message_count, 9);
    store_free(s);
}

/* A listing the stream changed while no held thread named it (dropped) comes back at the
 * stream's version when a page's thread names it; an older page row of a held listing
 * changes nothing. */
static void test_listing_parked(void **state)
{
    (void)state;
    store *s = staged();
    assert_int_equal(apply(s, listing_ev(101, "lst_f", 4, "newer title")), STORE_STALE);
    assert_null(store_listing(s, "lst_f"));
    assert_int_equal(apply(s, listing_ev(102, "lst_f", 3, "older still")), STORE_STALE);
    assert_int_equal(page_row(s, listing_ev(0, "lst_f", 3, "page title")), STORE_APPLIED);
    assert_int_equal(store_listing(s, "lst_f")->version, 4);
    assert_string_equal(store_listing(s, "lst_f")->title.s, "newer title");
    assert_int_equal(page_row(s, listing_ev(0, "lst_f", 3, "page again")), STORE_STALE);
    /* a page newer than what was parked is applied as it is */
    assert_int_equal(apply(s, listing_ev(103, "lst_g", 2, "parked")), STORE_STALE);
    assert_int_equal(page_row(s, listing_ev(0, "lst_g", 5, "page five")), STORE_APPLIED);
    assert_string_equal(store_listing(s, "lst_g")->title.s, "page five");
    assert_int_equal(page_row(s, listing_ev(0, "lst_h", 1, "same")), STORE_STALE);
    assert_string_equal(store_listing(s, "lst_h")->title.s, "held one");
    store_free(s);
}

/* What the stream applied during a backfill is not evicted before it ends (so an older
 * page row cannot come back after an eviction); after it ends the sweep runs again. */
static void test_no_eviction_while_backfilling(void **state)
{
    (void)state;
    store *s = staged();
    int64_t q = 100;
    char id[32], lst[32];
    size_t total = 4 * STORE_KEEP_CLOSED, n;
    for (size_t i = 0; i < total; i++) {
        snprintf(id, sizeof id, "neg_x%zu", i);
        snprintf(lst, sizeof lst, "lst_x%zu", i);
        assert_int_equal(apply(s, thread_ev(++q, id, 1, NEG_OPEN, lst, 0)), STORE_APPLIED);
        assert_int_equal(apply(s, thread_ev(++q, id, 2, NEG_EXPIRED, lst, 0)), STORE_APPLIED);
    }
    store_negotiations(s, &n);
    assert_int_equal(n, total + 1);
    assert_int_equal(page_row(s, thread_ev(0, "neg_x0", 1, NEG_OPEN, "lst_x0", 0)), STORE_STALE);
    assert_int_equal(store_negotiation(s, "neg_x0")->status, NEG_EXPIRED);
    store_backfill_end(s);
    assert_int_equal(apply(s, thread_ev(++q, "neg_y", 1, NEG_OPEN, "lst_y", 0)), STORE_APPLIED);
    assert_int_equal(apply(s, thread_ev(++q, "neg_y", 2, NEG_EXPIRED, "lst_y", 0)), STORE_APPLIED);
    store_negotiations(s, &n);
    assert_true(n < total);
    store_free(s);
}

/* A fresh snapshot (store_reset) ends a backfill and forgets what it noted and parked. */
static void test_reset_ends_backfill(void **state)
{
    (void)state;
    store *s = staged();
    assert_true(store_backfilling(s));
    assert_true(store_live_more(s));
    assert_int_equal(apply(s, thread_ev(101, "neg_a", 6, NEG_VETOED, "lst_a", 0)), STORE_STALE);
    assert_int_equal(apply(s, listing_ev(102, "lst_z", 2, "parked")), STORE_STALE);
    store_reset(s, "e", 200);
    assert_false(store_backfilling(s));
    assert_false(store_live_more(s));
    assert_int_equal(page_row(s, thread_ev(0, "neg_a", 5, NEG_OPEN, "lst_a", 0)), STORE_APPLIED);
    assert_int_equal(page_row(s, listing_ev(0, "lst_z", 1, "page")), STORE_APPLIED);
    assert_string_equal(store_listing(s, "lst_z")->title.s, "page");
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_meanwhile_stays_out),
        cmocka_unit_test(test_newer_wins),
        cmocka_unit_test(test_message_count_raised),
        cmocka_unit_test(test_listing_parked),
        cmocka_unit_test(test_no_eviction_while_backfilling),
        cmocka_unit_test(test_reset_ends_backfill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
