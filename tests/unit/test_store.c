/* test_store.c: the store's rules: seq order (duplicates dropped, gaps reported), an
 * object replaced only by a newer version, thread messages appended in order and kept
 * across versions, ledger balances, change counters, and the index at scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/model.h"

/* A listing event with a malloc'ed title. */
static model_event listing(int64_t seq, const char *id, int64_t version, const char *title)
{
    model_event ev = {.seq = seq, .kind = MODEL_LISTING};
    snprintf(ev.u.listing.id, sizeof ev.u.listing.id, "%s", id);
    ev.u.listing.version = version;
    ev.u.listing.title.s = strdup(title);
    memcpy(ev.u.listing.currency, "USD", 4);
    return ev;
}

static model_event negotiation(int64_t seq, const char *id, int64_t version)
{
    model_event ev = {.seq = seq, .kind = MODEL_NEGOTIATION};
    snprintf(ev.u.negotiation.id, sizeof ev.u.negotiation.id, "%s", id);
    ev.u.negotiation.version = version;
    return ev;
}

static model_event message(int64_t seq, const char *neg, int64_t mseq, const char *text)
{
    model_event ev = {.seq = seq, .kind = MODEL_MESSAGE};
    snprintf(ev.u.message.negotiation_id, sizeof ev.u.message.negotiation_id, "%s", neg);
    ev.u.message.seq = mseq;
    ev.u.message.text.s = strdup(text);
    return ev;
}

/* Applies and frees whatever the store did not take. */
static store_result apply(store *s, model_event ev)
{
    store_result r = store_apply(s, &ev);
    model_event_free(&ev);
    return r;
}

static void test_seq_rules(void **state)
{
    (void)state;
    store *s = store_new();
    store_reset(s, "e1", 10);
    uint64_t c0 = store_changes(s, MODEL_LISTING);
    assert_int_equal(apply(s, listing(11, "lst_a", 1, "one")), STORE_APPLIED);
    assert_int_equal(apply(s, listing(11, "lst_a", 2, "dup")), STORE_DUPLICATE);
    assert_int_equal(apply(s, listing(5, "lst_a", 2, "old")), STORE_DUPLICATE);
    assert_int_equal(apply(s, listing(13, "lst_a", 2, "gap")), STORE_GAP);
    assert_int_equal(store_seq(s), 11);
    assert_string_equal(store_listing(s, "lst_a")->title.s, "one");
    assert_true(store_changes(s, MODEL_LISTING) > c0);
    /* Stale version: dropped, but the position moves on. */
    assert_int_equal(apply(s, listing(12, "lst_a", 1, "stale")), STORE_STALE);
    assert_int_equal(store_seq(s), 12);
    assert_string_equal(store_listing(s, "lst_a")->title.s, "one");
    assert_int_equal(apply(s, listing(13, "lst_a", 5, "five")), STORE_APPLIED);
    assert_string_equal(store_listing(s, "lst_a")->title.s, "five");
    assert_int_equal(store_listing(s, "lst_a")->version, 5);
    size_t n;
    store_listings(s, &n);
    assert_int_equal(n, 1);
    store_skip(s, 20);
    assert_int_equal(store_seq(s), 20);
    store_skip(s, 3);
    assert_int_equal(store_seq(s), 20);
    store_free(s);
}

static void test_messages(void **state)
{
    (void)state;
    store *s = store_new();
    store_reset(s, "e", 0);
    assert_int_equal(apply(s, message(1, "neg_x", 1, "orphan")), STORE_STALE);
    assert_int_equal(apply(s, negotiation(2, "neg_x", 1)), STORE_APPLIED);
    assert_int_equal(apply(s, message(3, "neg_x", 1, "hello")), STORE_APPLIED);
    assert_int_equal(apply(s, message(4, "neg_x", 2, "counter")), STORE_APPLIED);
    assert_int_equal(apply(s, message(5, "neg_x", 2, "again")), STORE_STALE);
    assert_int_equal(apply(s, negotiation(6, "neg_x", 2)), STORE_APPLIED);
    const model_negotiation *n = store_negotiation(s, "neg_x");
    assert_int_equal(n->version, 2);
    assert_int_equal(n->nmessages, 2);
    assert_string_equal(n->messages[0].text.s, "hello");
    assert_string_equal(n->messages[1].text.s, "counter");
    for (int i = 0; i < 100; i++) {
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        assert_int_equal(apply(s, message(7 + i, "neg_x", 3 + i, t)), STORE_APPLIED);
    }
    n = store_negotiation(s, "neg_x");
    assert_int_equal(n->nmessages, 102);
    assert_string_equal(n->messages[101].text.s, "m99");
    store_free(s);

    /* History fetched after live messages arrived goes before them, once. */
    s = store_new();
    store_reset(s, "e", 0);
    assert_int_equal(apply(s, negotiation(1, "neg_h", 5)), STORE_APPLIED);
    assert_int_equal(apply(s, message(2, "neg_h", 7, "live7")), STORE_APPLIED);
    assert_int_equal(apply(s, message(3, "neg_h", 8, "live8")), STORE_APPLIED);
    for (int i = 1; i <= 7; i++) {
        char t[16];
        snprintf(t, sizeof t, "h%d", i);
        model_event ev = message(0, "neg_h", i, t);
        store_result r = store_load(s, &ev);
        model_event_free(&ev);
        assert_int_equal(r, i == 7 ? STORE_STALE : STORE_APPLIED);
    }
    n = store_negotiation(s, "neg_h");
    assert_int_equal(n->nmessages, 8);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(n->messages[i].seq, (int64_t)i + 1);
    assert_string_equal(n->messages[6].text.s, "live7");
    store_free(s);
}

/* A ledger entry moving amount from buyer to seller. */
static model_event entry(int64_t seq, const char *id, int64_t lseq, int64_t amount)
{
    model_event ev = {.seq = seq, .kind = MODEL_LEDGER};
    snprintf(ev.u.ledger.id, sizeof ev.u.ledger.id, "%s", id);
    ev.u.ledger.seq = lseq;
    ev.u.ledger.npostings = 2;
    snprintf(ev.u.ledger.postings[0].account, sizeof ev.u.ledger.postings[0].account,
             "agent:agt_b");
    ev.u.ledger.postings[0].amount_minor = -amount;
    snprintf(ev.u.ledger.postings[1].account, sizeof ev.u.ledger.postings[1].account,
             "agent:agt_s");
    ev.u.ledger.postings[1].amount_minor = amount;
    return ev;
}

static void test_ledger(void **state)
{
    (void)state;
    store *s = store_new();
    store_reset(s, "e", 0);
    /* Snapshot entries (newest first) keep seq order and do not post. */
    model_event a = entry(0, "led_3", 3, 30), b = entry(0, "led_1", 1, 10),
                c = entry(0, "led_2", 2, 20);
    store_load(s, &a);
    store_load(s, &b);
    store_load(s, &c);
    assert_int_equal(store_set_balance(s, "agent:agt_b", -60), 0);
    size_t n;
    const model_ledger_entry *l = store_ledger(s, &n);
    assert_int_equal(n, 3);
    assert_int_equal(l[0].seq, 1);
    assert_int_equal(l[2].seq, 3);
    assert_int_equal(store_balance(s, "agent:agt_b"), -60);
    assert_int_equal(store_balance(s, "agent:agt_s"), 0);
    assert_int_equal(apply(s, entry(1, "led_4", 4, 7)), STORE_APPLIED);
    assert_int_equal(apply(s, entry(2, "led_4", 4, 7)), STORE_STALE); /* same id */
    assert_int_equal(store_balance(s, "agent:agt_b"), -67);
    assert_int_equal(store_balance(s, "agent:agt_s"), 7);
    l = store_ledger(s, &n);
    assert_int_equal(n, 4);
    assert_string_equal(l[1].id, "led_2");
    const char *acc[4];
    int64_t amt[4];
    assert_int_equal(store_balances(s, acc, amt, 4), 2);
    store_free(s);
}

/* Many objects: every one is found, views hold them in arrival order. */
static void test_scale(void **state)
{
    (void)state;
    store *s = store_new();
    store_reset(s, "e", 0);
    int64_t seq = 0;
    for (int i = 0; i < 20000; i++) {
        char id[32];
        snprintf(id, sizeof id, "lst_%d", i);
        assert_int_equal(apply(s, listing(++seq, id, 1, "t")), STORE_APPLIED);
    }
    for (int i = 0; i < 20000; i += 7) {
        char id[32];
        snprintf(id, sizeof id, "lst_%d", i);
        assert_int_equal(apply(s, listing(++seq, id, 2, "u")), STORE_APPLIED);
    }
    size_t n;
    const model_listing *const *v = store_listings(s, &n);
    assert_int_equal(n, 20000);
    assert_string_equal(v[12345]->id, "lst_12345");
    assert_int_equal(store_listing(s, "lst_14")->version, 2);
    assert_int_equal(store_listing(s, "lst_15")->version, 1);
    assert_null(store_listing(s, "lst_20000"));
    store_reset(s, "e2", 5);
    store_listings(s, &n);
    assert_int_equal(n, 0);
    assert_string_equal(store_epoch(s), "e2");
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_rules),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
