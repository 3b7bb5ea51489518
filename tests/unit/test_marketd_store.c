/* test_marketd_store.c: marketd's storage interface (marketd/store.h), operation by
 * operation, against an engine's table.
 *
 * What the market's rules rely on from any engine: pages in creation order with a
 * cursor and their filters, the named queries (holders, live threads, an agent's live
 * alerts, due purchases,
 * counts, quantities, duplicates), the event log with lines stored whole or by
 * reference, idempotent answers, reference-price windows, transactions that roll back,
 * and a new database's seed that a reopen keeps. ENGINE is the table under test: the
 * SQLite engine, or on the PostgreSQL run of tests/run.sh (MARKETD_ENGINE=postgresql)
 * the PostgreSQL engine, each test on a database of its own (tests/lib/pgtest.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "marketd/store.h"
#include "tests/lib/pgtest.h"

#define ENGINE (pgtest_engine() ? &store_pg : &store_sqlite)

/* The database of the running test on PostgreSQL (dropped by teardown), or "". */
static char pg_url[512];

/* A new database's path into path (size bytes): on SQLite memory (file NULL) or the file
 * m.db in the new folder dir; on PostgreSQL a new database's URL. */
static void new_db(char *path, size_t size, char *dir)
{
    if (pgtest_engine()) {
        assert_int_equal(pgtest_create(path, size), 0);
        snprintf(pg_url, sizeof pg_url, "%s", path);
    } else if (!dir) {
        snprintf(path, size, ":memory:");
    } else {
        assert_non_null(mkdtemp(dir));
        snprintf(path, size, "%s/m.db", dir);
    }
}

/* Removes the database of new_db (and dir, the folder it made on SQLite). */
static void drop_db(char *dir)
{
    if (pg_url[0])
        pgtest_drop(pg_url);
    pg_url[0] = '\0';
    if (dir && !pgtest_engine()) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

static const store_seed seed = {"0123456789abcdef", "{\"status\":\"running\"}"};

/* Rows a walk gave, as "text/n" joined by spaces. */
typedef struct rows {
    char s[2048];
    int n;
    int stop_after; /* stop the walk after this many (0: never) */
} rows;
static int take(void *ud, const char *text, int64_t n)
{
    rows *r = ud;
    size_t len = strlen(r->s);
    snprintf(r->s + len, sizeof r->s - len, "%s%s/%lld", len ? " " : "", text ? text : "(null)",
             (long long)n);
    r->n++;
    return r->stop_after && r->n == r->stop_after ? 1 : 0;
}

static int setup(void **state)
{
    char err[256] = "", path[512];
    new_db(path, sizeof path, NULL);
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
    drop_db(NULL);
    return 0;
}

/* Stores an object with its columns; json is {"id":ID,"n":ORDER}. */
static void put(store *s, const char *kind, const char *id, const char *status, const char *p1,
                const char *p2, int64_t due, int64_t created)
{
    char json[256];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"status\":\"%s\",\"held_by\":[\"fleet\"]}", id,
             status ? status : "");
    store_object o = {kind, id, status, p1, p2, due, created, json, 0, {0}, NULL};
    assert_int_equal(STORE(s, object_put, &o), 0);
}

static void test_meta_and_seed(void **state)
{
    store *s = *state;
    rows r = {0};
    assert_int_equal(STORE(s, meta_get, "epoch", take, &r), 1);
    assert_string_equal(r.s, "0123456789abcdef/0");
    r = (rows){0};
    assert_int_equal(STORE(s, meta_get, "nothing", take, &r), 0);
    assert_int_equal(STORE(s, meta_set, "next:x_", "7"), 0);
    assert_int_equal(STORE(s, meta_set, "next:x_", "8"), 0);
    assert_int_equal(STORE(s, meta_get, "next:x_", take, &r), 1);
    assert_string_equal(r.s, "8/0");
}

static void test_reopen_keeps_the_seed(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_marketd_store.XXXXXX", path[512], err[256];
    new_db(path, sizeof path, dir);
    store *s = ENGINE->open(path, &seed, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(STORE(s, meta_set, "k", "v"), 0);
    s->ops->close(s);
    store_seed other = {"fedcba9876543210", "{}"};
    s = ENGINE->open(path, &other, err, sizeof err);
    assert_non_null(s);
    rows r = {0};
    assert_int_equal(STORE(s, meta_get, "epoch", take, &r), 1);
    assert_string_equal(r.s, "0123456789abcdef/0"); /* a reopen is no new database */
    s->ops->close(s);
    drop_db(dir);
}

static void test_transactions_roll_back(void **state)
{
    store *s = *state;
    assert_int_equal(s->ops->begin(s, true), 0);
    assert_int_equal(STORE(s, meta_set, "a", "1"), 0);
    s->ops->rollback(s);
    rows r = {0};
    assert_int_equal(STORE(s, meta_get, "a", take, &r), 0);
    assert_int_equal(s->ops->begin(s, false), 0);
    assert_int_equal(STORE(s, meta_set, "a", "2"), 0);
    assert_int_equal(s->ops->commit(s), 0);
    s->ops->rollback(s); /* none open: nothing happens */
    assert_int_equal(STORE(s, meta_get, "a", take, &r), 1);
    assert_string_equal(r.s, "2/0");
}

static void test_pages_and_lists(void **state)
{
    store *s = *state;
    put(s, "listing", "lst_1", "open", "agt_1", NULL, -1, 1);
    put(s, "listing", "lst_2", "sold", "agt_2", NULL, -1, 2);
    put(s, "listing", "lst_3", "open", "agt_1", NULL, -1, 3);
    put(s, "agent", "agt_1", "active", NULL, NULL, -1, 4);
    put(s, "listing", "lst_1", "withdrawn", "agt_1", NULL, -1, 9); /* replaced in place */
    rows r = {0};
    assert_int_equal(STORE(s, object_get, "listing", "lst_1", take, &r), 1);
    assert_non_null(strstr(r.s, "withdrawn"));
    assert_int_equal(STORE(s, object_get, "listing", "lst_9", take, &r), 0);

    /* a page: in creation order, limit, then the cursor (the order of the last row) */
    store_page q = {.kind = "listing", .limit = 2};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_non_null(strstr(r.s, "lst_1"));
    assert_non_null(strstr(r.s, "lst_2"));
    int64_t last = atoll(strrchr(r.s, '/') + 1);
    q.after = last;
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 1);
    assert_non_null(strstr(r.s, "lst_3"));
    /* filters: status, party, id */
    q = (store_page){.kind = "listing", .status = "open", .limit = 10};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 1);
    q = (store_page){.kind = "listing", .party = "agt_2", .limit = 10};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 1);
    q = (store_page){.kind = "agent", .id = "agt_1", .limit = 10};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 1);
    q = (store_page){.kind = "agent", .id = "agt_2", .limit = 10};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 0);
    /* a walk stops when its callback says so */
    q = (store_page){.kind = "listing", .limit = 10};
    r = (rows){.stop_after = 1};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 1);

    r = (rows){0};
    assert_int_equal(STORE(s, objects_each, "listing", take, &r), 3);
    assert_true(strstr(r.s, "lst_1") < strstr(r.s, "lst_3"));
    r = (rows){0};
    assert_int_equal(STORE(s, objects_newest, "listing", 2, take, &r), 2);
    assert_null(strstr(r.s, "lst_1"));
    assert_true(strstr(r.s, "lst_2") < strstr(r.s, "lst_3")); /* oldest of them first */
    assert_int_equal(STORE(s, listings_open, "agt_1", 10), 1);
    put(s, "listing", "lst_4", "open", "agt_1", NULL, -1, 5);
    put(s, "listing", "lst_5", "open", "agt_1", NULL, -1, 6);
    assert_int_equal(STORE(s, listings_open, "agt_1", 10), 3);
    assert_int_equal(STORE(s, listings_open, "agt_1", 2), 2); /* counts no further */
}

static void test_named_queries(void **state)
{
    store *s = *state;
    put(s, "negotiation", "neg_1", "open", "agt_1", "agt_2", -1, 1);
    put(s, "negotiation", "neg_2", "held", "agt_3", "agt_1", -1, 2);
    put(s, "negotiation", "neg_3", "agreed", "agt_1", "agt_2", -1, 3);
    put(s, "negotiation", "neg_4", "open", "agt_3", "agt_4", -1, 4);
    rows r = {0};
    assert_int_equal(STORE(s, threads_live, "agt_1", take, &r), 2);
    assert_int_equal(STORE(s, threads_live, NULL, take, &r), 3);
    r = (rows){0};
    assert_int_equal(STORE(s, objects_held_by, "negotiation", "held", "fleet", take, &r), 1);
    assert_non_null(strstr(r.s, "neg_2"));
    assert_int_equal(STORE(s, objects_held_by, "negotiation", "held", "hold", take, &r), 0);
    /* alerts: an agent's open and acknowledged ones (p2), oldest first */
    put(s, "alert", "alr_1", "open", "pur_1", "agt_1", -1, 5);
    put(s, "alert", "alr_2", "resolved", "pur_2", "agt_1", -1, 6);
    put(s, "alert", "alr_3", "acked", "agt_1", "agt_1", -1, 7);
    put(s, "alert", "alr_4", "open", "pur_4", "agt_2", -1, 8);
    put(s, "alert", "alr_5", "open", "agt_1", NULL, -1, 9); /* stored before alerts had agents */
    r = (rows){0};
    assert_int_equal(STORE(s, alerts_live, "agt_1", take, &r), 2);
    assert_true(strstr(r.s, "alr_1") && strstr(r.s, "alr_3") &&
                strstr(r.s, "alr_1") < strstr(r.s, "alr_3"));

    /* purchases: due ones soonest first; quantities newest first; duplicates */
    const char *pj[] = {"{\"id\":\"pur_1\",\"listing_id\":\"lst_1\",\"unit_price_minor\":5,"
                        "\"quantity\":2}",
                        "{\"id\":\"pur_2\",\"listing_id\":\"lst_1\",\"unit_price_minor\":5,"
                        "\"quantity\":3}",
                        "{\"id\":\"pur_3\",\"listing_id\":\"lst_2\",\"unit_price_minor\":5,"
                        "\"quantity\":4}"};
    const char *ids[] = {"pur_1", "pur_2", "pur_3"};
    const char *sts[] = {"pending_approval", "vetoed", "pending_approval"};
    int64_t due[] = {300, -1, 200};
    for (int i = 0; i < 3; i++) {
        store_object o = {"purchase", ids[i], sts[i], "agt_1", "agt_2", due[i],
                          1000 + i,   pj[i],  0,      {0},     NULL};
        assert_int_equal(STORE(s, object_put, &o), 0);
    }
    r = (rows){0};
    assert_int_equal(STORE(s, purchases_due, 250, 10, take, &r), 1);
    assert_non_null(strstr(r.s, "pur_3"));
    r = (rows){0};
    assert_int_equal(STORE(s, purchases_due, 400, 10, take, &r), 2);
    assert_true(strstr(r.s, "pur_3") < strstr(r.s, "pur_1"));
    assert_int_equal(STORE(s, purchases_due, 400, 1, take, &r), 1);
    int64_t q[8];
    assert_int_equal(STORE(s, purchase_quantities, "agt_1", q, 8), 3);
    assert_true(q[0] == 4 && q[1] == 3 && q[2] == 2);
    assert_int_equal(STORE(s, purchase_quantities, "agt_1", q, 2), 2);
    assert_int_equal(STORE(s, purchase_quantities, "agt_9", q, 8), 0);
    store_dup d = {"agt_1", "lst_1", 5, 2, 1000};
    assert_int_equal(STORE(s, purchase_duplicate, &d), 1);
    d.since = 1001;
    assert_int_equal(STORE(s, purchase_duplicate, &d), 0); /* made before the window */
    d = (store_dup){"agt_1", "lst_1", 5, 3, 0};
    assert_int_equal(STORE(s, purchase_duplicate, &d), 0); /* vetoed: no duplicate */
}

static void test_messages(void **state)
{
    store *s = *state;
    const char *texts[] = {"{\"seq\":1,\"text\":\"hi\"}", "{\"seq\":2}",
                           "{\"seq\":3,\"text\":\"x\"}"};
    const char *kinds[] = {"offer", "note", "counter"};
    for (int i = 0; i < 3; i++) {
        store_message m = {"neg_1", i + 1, "agt_1", kinds[i], 1000 + i, texts[i]};
        assert_int_equal(STORE(s, message_put, &m), 0);
    }
    store_message dup = {"neg_1", 1, "agt_1", "offer", 5, "{}"};
    assert_int_equal(STORE(s, message_put, &dup), -1); /* (negotiation, seq) is unique */
    rows r = {0};
    assert_int_equal(STORE(s, messages_page, "neg_1", 1, 10, take, &r), 2);
    assert_true(strstr(r.s, "/2 ") && strstr(r.s, "/3"));
    r = (rows){0};
    assert_int_equal(STORE(s, message_texts, "neg_1", take, &r), 3);
    assert_string_equal(r.s, "hi/1 (null)/2 x/3");
    assert_int_equal(STORE(s, offers_since, "agt_1", 999), 2);
    assert_int_equal(STORE(s, offers_since, "agt_1", 1000), 1);
}

/* Events read back, as "seq:type:line-or-data" joined by spaces. */
static int take_event(void *ud, const store_evrow *e)
{
    rows *r = ud;
    size_t len = strlen(r->s);
    snprintf(r->s + len, sizeof r->s - len, "%s%lld:%s:%s:%s", len ? " " : "", (long long)e->seq,
             e->type, e->line ? "line" : "data", e->line ? e->line : e->data);
    r->n++;
    return 0;
}

static void test_event_log(void **state)
{
    store *s = *state;
    int64_t seq = -1;
    assert_int_equal(STORE(s, last_seq, &seq), 0);
    assert_int_equal(seq, 0);
    /* an object whose current version is event 2's data, a message that is event 3's */
    store_object o = {"alert", "alr_1", "open", NULL, NULL, -1, 1, "{\"v\":1}", 2, {0}, NULL};
    assert_int_equal(STORE(s, object_put, &o), 0);
    store_message m = {"neg_1", 1, "agt_1", "offer", 1, "{\"m\":1}"};
    assert_int_equal(STORE(s, message_put, &m), 0);
    store_event e1 = {1, "fleet.updated", 10, "{\"seq\":1,\"data\":{}}", NULL, NULL, 0};
    store_event e2 = {2, "alert.updated", 11, NULL, "alert", "alr_1", 0};
    store_event e3 = {3, "negotiation.message", 12, NULL, "message", "neg_1", 1};
    assert_int_equal(STORE(s, event_append, &e1), 0);
    assert_int_equal(STORE(s, event_append, &e2), 0);
    assert_int_equal(STORE(s, event_append, &e3), 0);
    assert_int_equal(STORE(s, event_append, &e3), -1); /* one event a seq */
    assert_int_equal(STORE(s, last_seq, &seq), 0);
    assert_int_equal(seq, 3);
    rows r = {0};
    assert_int_equal(STORE(s, events_each, 0, 10, take_event, &r), 3);
    assert_string_equal(r.s, "1:fleet.updated:line:{\"seq\":1,\"data\":{}} "
                             "2:alert.updated:data:{\"v\":1} 3:negotiation.message:data:{\"m\":1}");
    r = (rows){0};
    assert_int_equal(STORE(s, events_each, 1, 1, take_event, &r), 1);
    assert_int_equal(STORE(s, event_get, 3, take_event, &r), 1);
    assert_int_equal(STORE(s, event_get, 9, take_event, &r), 0);
    /* the object's row is about to change: the event that refers to it is found, and
     * gets its whole line */
    r = (rows){0};
    assert_int_equal(STORE(s, event_of_object, "alert", "alr_1", take_event, &r), 1);
    assert_string_equal(r.s, "2:alert.updated:data:{\"v\":1}");
    assert_int_equal(STORE(s, event_set_line, 2, "{\"seq\":2,\"data\":{\"v\":1}}"), 0);
    assert_int_equal(STORE(s, event_of_object, "alert", "alr_1", take_event, &r), 0);
    r = (rows){0};
    assert_int_equal(STORE(s, event_get, 2, take_event, &r), 1);
    assert_string_equal(r.s, "2:alert.updated:line:{\"seq\":2,\"data\":{\"v\":1}}");
}

static int take_answer(void *ud, const store_answer *a)
{
    rows *r = ud;
    snprintf(r->s, sizeof r->s, "%s %d %s %s", a->fingerprint, a->status, a->body,
             a->refs ? a->refs : "(null)");
    return 0;
}

static void test_idempotent_answers(void **state)
{
    store *s = *state;
    store_answer a = {"fp1", 201, "{\"x\":null}", "x=4"}, b = {"fp2", 200, "{}", NULL};
    assert_int_equal(STORE(s, idem_put, "agent:agt_1", "k1", &a, 1000), 0);
    assert_int_equal(STORE(s, idem_put, "op:ann", "k1", &b, 5000), 0);
    assert_int_equal(STORE(s, idem_put, "op:ann", "k1", &b, 5000), -1); /* kept once */
    rows r = {0};
    assert_int_equal(STORE(s, idem_get, "agent:agt_1", "k1", take_answer, &r), 1);
    assert_string_equal(r.s, "fp1 201 {\"x\":null} x=4");
    assert_int_equal(STORE(s, idem_get, "op:ann", "k1", take_answer, &r), 1);
    assert_string_equal(r.s, "fp2 200 {} (null)");
    assert_int_equal(STORE(s, idem_get, "op:bob", "k1", take_answer, &r), 0);
    assert_int_equal(STORE(s, idem_prune, 2000), 0);
    assert_int_equal(STORE(s, idem_get, "agent:agt_1", "k1", take_answer, &r), 0);
    assert_int_equal(STORE(s, idem_get, "op:ann", "k1", take_answer, &r), 1);
}

/* Retention (marketd/retain.c): the answers holding references, by time, made whole;
 * the events below a seq deleted, the rest and the last seq kept. */
static int take_idem(void *ud, const char *scope, const char *key, const store_answer *a)
{
    rows *r = ud;
    size_t len = strlen(r->s);
    snprintf(r->s + len, sizeof r->s - len, "%s%s/%s/%s", len ? " " : "", scope, key, a->refs);
    r->n++;
    return 0;
}

static void test_retention_ops(void **state)
{
    store *s = *state;
    store_answer a = {"fp1", 201, "{\"x\":null}", "x=1"}, b = {"fp2", 200, "", "=2"},
                 c = {"fp3", 200, "{}", NULL};
    assert_int_equal(STORE(s, idem_put, "op:ann", "k1", &a, 1000), 0);
    assert_int_equal(STORE(s, idem_put, "op:ann", "k2", &b, 2000), 0);
    assert_int_equal(STORE(s, idem_put, "op:ann", "k3", &c, 2000), 0);
    rows r = {0};
    assert_int_equal(STORE(s, idem_refs_each, 0, 1999, take_idem, &r), 1);
    assert_string_equal(r.s, "op:ann/k1/x=1");
    r = (rows){0};
    assert_int_equal(STORE(s, idem_refs_each, 1000, 5000, take_idem, &r), 1);
    assert_string_equal(r.s, "op:ann/k2/=2");
    assert_int_equal(STORE(s, idem_inline, "op:ann", "k2", "{\"whole\":1}"), 0);
    r = (rows){0};
    assert_int_equal(STORE(s, idem_refs_each, 0, 5000, take_idem, &r), 1);
    assert_int_equal(STORE(s, idem_get, "op:ann", "k2", take_answer, &r), 1);
    assert_string_equal(r.s, "fp2 200 {\"whole\":1} (null)");

    for (int64_t i = 1; i <= 5; i++) {
        store_event e = {i, "fleet.updated", 10 * i, "{\"data\":{}}", NULL, NULL, 0};
        assert_int_equal(STORE(s, event_append, &e), 0);
    }
    assert_int_equal(STORE(s, events_prune, 4), 0);
    r = (rows){0};
    assert_int_equal(STORE(s, events_each, 0, 10, take_event, &r), 2);
    assert_int_equal(STORE(s, event_get, 3, take_event, &r), 0);
    int64_t seq = 0;
    assert_int_equal(STORE(s, last_seq, &seq), 0);
    assert_int_equal(seq, 5);
}

static void test_reference_windows(void **state)
{
    store *s = *state;
    int64_t total = -1, ring[4] = {0};
    assert_int_equal(STORE(s, ref_window, "tools", "USD", &total, ring, 4), 0);
    assert_int_equal(total, 0);
    for (int64_t i = 0; i < 6; i++) /* a ring of 4: slots 0 and 1 written twice */
        assert_int_equal(STORE(s, ref_put, "tools", "USD", i % 4, 100 + i, i + 1), 0);
    assert_int_equal(STORE(s, ref_window, "tools", "USD", &total, ring, 4), 4);
    assert_int_equal(total, 6);
    assert_true(ring[0] == 104 && ring[1] == 105 && ring[2] == 102 && ring[3] == 103);
    assert_int_equal(STORE(s, ref_window, "tools", "EUR", &total, ring, 4), 0);
    assert_int_equal(total, 0);
}

/* Faults read back, as "kind,purchase,negotiation,listing,agent@at". */
static int take_fault(void *ud, const store_fault *f)
{
    rows *r = ud;
    size_t len = strlen(r->s);
    snprintf(r->s + len, sizeof r->s - len, "%s%s,%s,%s,%s,%s@%lld", len ? " " : "", f->kind,
             f->purchase_id ? f->purchase_id : "-", f->negotiation_id ? f->negotiation_id : "-",
             f->listing_id ? f->listing_id : "-", f->agent_id ? f->agent_id : "-",
             (long long)f->at);
    return 0;
}

static void test_balances_tokens_faults(void **state)
{
    store *s = *state;
    assert_int_equal(STORE(s, balance_add, "agent:b", 500), 0);
    assert_int_equal(STORE(s, balance_add, "agent:a", -500), 0);
    assert_int_equal(STORE(s, balance_add, "agent:b", -200), 0);
    rows r = {0};
    assert_int_equal(STORE(s, balances_each, take, &r), 2);
    assert_string_equal(r.s, "agent:a/-500 agent:b/300");
    assert_int_equal(STORE(s, token_put, "h1", "agt_1"), 0);
    r = (rows){0};
    assert_int_equal(STORE(s, token_agent, "h1", take, &r), 1);
    assert_string_equal(r.s, "agt_1/0");
    assert_int_equal(STORE(s, token_agent, "h2", take, &r), 0);
    store_fault f1 = {"duplicate", "pur_1", NULL, NULL, "agt_1", 7};
    store_fault f2 = {"overpay", NULL, "neg_1", "lst_1", NULL, 8};
    assert_int_equal(STORE(s, fault_put, &f1), 0);
    assert_int_equal(STORE(s, fault_put, &f2), 0);
    r = (rows){0};
    assert_int_equal(STORE(s, faults_each, take_fault, &r), 2);
    assert_string_equal(r.s, "duplicate,pur_1,-,-,agt_1@7 overpay,-,neg_1,lst_1,-@8");
}

/* Stores a listing whose first sort key is price, and its searchable text when new. */
static void put_keyed(store *s, const char *id, const char *status, int64_t price,
                      const char *search)
{
    char json[128];
    snprintf(json, sizeof json, "{\"id\":\"%s\"}", id);
    store_object o = {
        "listing", id, status, "agt_1", NULL,
        -1,        1,  json,   0,       {.has_k1 = true, .k1 = price, .has_upd = true, .upd = 5},
        search};
    assert_int_equal(STORE(s, object_put, &o), 0);
}

/* A search is the text itself: no character of it is a wildcard or an escape of the
 * engine's (PostgreSQL's LIKE: %, _ and \\). */
static void test_search_is_literal(void **state)
{
    store *s = *state;
    put_keyed(s, "lst_1", "open", 1, "lst_1\nsale 50% off");
    put_keyed(s, "lst_2", "open", 2, "lst_2\nsale 500 off");
    put_keyed(s, "lst_3", "open", 3, "lst_3\nback\\slash");
    static const char *const cases[][2] = {
        {"50%", "{\"id\":\"lst_1\"}/1"}, /* not 500 */
        {"e_5", ""},                     /* not "e 5" */
        {"k\\s", "{\"id\":\"lst_3\"}/3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_page q = {.kind = "listing", .limit = 10, .q = cases[i][0]};
        rows r = {0};
        assert_true(STORE(s, objects_page, &q, take, &r) >= 0);
        assert_string_equal(r.s, cases[i][1]);
    }
}

static void test_sorts_search_working_set_totals(void **state)
{
    store *s = *state;
    put_keyed(s, "lst_1", "open", 300, "lst_1\nred bike");
    put_keyed(s, "lst_2", "sold", 100, "lst_2\nblue bike");
    put_keyed(s, "lst_3", "open", 300, "lst_3\nred lamp");
    put_keyed(s, "lst_4", "sold", 200, "lst_4\ngreen chair");
    put_keyed(s, "lst_2", "withdrawn", 900, NULL); /* a key changes; its text stays */

    /* by price, highest first, ties by creation order in the same direction */
    store_page q = {.kind = "listing", .limit = 10, .col = STORE_K1, .desc = true};
    rows r = {0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 4);
    assert_string_equal(r.s, "{\"id\":\"lst_2\"}/2 {\"id\":\"lst_3\"}/3 {\"id\":\"lst_1\"}/1 "
                             "{\"id\":\"lst_4\"}/4");
    /* after a cursor (key 300, order 3): the rows after it */
    q.has_key = true;
    q.key = 300;
    q.after = 3;
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_1\"}/1 {\"id\":\"lst_4\"}/4");
    /* ascending, with a status */
    q = (store_page){.kind = "listing", .status = "open", .limit = 10, .col = STORE_K1};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_1\"}/1 {\"id\":\"lst_3\"}/3");
    /* newest first, in creation order */
    q = (store_page){.kind = "listing", .limit = 2, .desc = true};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_4\"}/4 {\"id\":\"lst_3\"}/3");
    q.after = 3;
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_2\"}/2 {\"id\":\"lst_1\"}/1");

    /* search: a substring of the searchable text, in creation order or another sort */
    q = (store_page){.kind = "listing", .limit = 10, .q = "bike"};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_1\"}/1 {\"id\":\"lst_2\"}/2");
    q = (store_page){.kind = "listing", .limit = 10, .q = "red", .col = STORE_K1, .desc = true};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_3\"}/3 {\"id\":\"lst_1\"}/1");
    q = (store_page){.kind = "listing", .limit = 10, .q = "d b\"x"};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 0);
    q = (store_page){.kind = "listing", .limit = 10, .q = "ed b", .after = 1};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 0); /* red bike is order 1 */

    /* the working set: status open, and the newest 1 other; named ones; totals */
    r = (rows){0};
    assert_int_equal(STORE(s, objects_working, "listing", "open", NULL, 1, take, &r), 3);
    assert_string_equal(r.s, "{\"id\":\"lst_1\"}/1 {\"id\":\"lst_3\"}/3 {\"id\":\"lst_4\"}/4");
    r = (rows){0};
    assert_int_equal(
        STORE(s, objects_named, "listing", "[\"lst_4\",\"lst_2\",\"lst_9\"]", take, &r), 2);
    assert_string_equal(r.s, "{\"id\":\"lst_2\"}/2 {\"id\":\"lst_4\"}/4");
    int64_t n = -1;
    assert_int_equal(STORE(s, objects_total, "listing", &n), 0);
    assert_int_equal(n, 4); /* stored four, one of them twice */
    assert_int_equal(STORE(s, objects_total, "alert", &n), 0);
    assert_int_equal(n, 0);
    /* a rolled-back insert is not counted */
    assert_int_equal(STORE(s, begin, false), 0);
    put_keyed(s, "lst_5", "open", 1, "lst_5\nx");
    s->ops->rollback(s);
    assert_int_equal(STORE(s, objects_total, "listing", &n), 0);
    assert_int_equal(n, 4);
}

/* A search in a sort that matches many rows (more than the engine sorts after the
 * trigram index: SQLite's 4,000) is answered the same way as one that matches few. */
static void test_common_search_in_a_sort(void **state)
{
    store *s = *state;
    assert_int_equal(STORE(s, begin, false), 0);
    for (int i = 1; i <= 4100; i++) {
        char id[32], text[64];
        snprintf(id, sizeof id, "lst_%d", i);
        snprintf(text, sizeof text, "%s\ncommon word %d", id, i);
        put_keyed(s, id, i % 2 ? "open" : "sold", i % 97, text);
    }
    assert_int_equal(s->ops->commit(s), 0);
    /* "common": every row; price 96 first (the newest of them first), then 95 */
    store_page q = {.kind = "listing", .limit = 3, .col = STORE_K1, .desc = true, .q = "common"};
    rows r = {0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 3);
    assert_string_equal(r.s, "{\"id\":\"lst_4073\"}/4073 {\"id\":\"lst_3976\"}/3976 "
                             "{\"id\":\"lst_3879\"}/3879");
    q.has_key = true; /* after a cursor, with a status */
    q.key = 96;
    q.after = 3879;
    q.status = "sold";
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 3);
    assert_string_equal(r.s, "{\"id\":\"lst_3782\"}/3782 {\"id\":\"lst_3588\"}/3588 "
                             "{\"id\":\"lst_3394\"}/3394");
    /* in creation order with a status: the same rows as the trigram index would give */
    q = (store_page){.kind = "listing", .limit = 3, .status = "sold", .q = "common", .after = 2};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 3);
    assert_string_equal(r.s, "{\"id\":\"lst_4\"}/4 {\"id\":\"lst_6\"}/6 {\"id\":\"lst_8\"}/8");
    /* "word 409": a few rows (409, 4090..4099), the same order */
    q = (store_page){
        .kind = "listing", .limit = 20, .col = STORE_K1, .desc = true, .q = "word 409"};
    r = (rows){0};
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 11);
    assert_true(strstr(r.s, "lst_4095\"}/4095 {\"id\":\"lst_409\"}/409 ") != NULL);  /* 21, 21 */
    assert_true(strstr(r.s, "lst_4092\"}/4092 {\"id\":\"lst_4091\"}/4091") != NULL); /* 18, 17 */
    /* the text is matched exactly (no row holds "word 4101"; "lst_1\n" is not "lst_10") */
    q.q = "word 4101";
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 0);
    q.q = "ommon word 1\n";
    assert_int_equal(STORE(s, objects_page, &q, take, &r), 0);
}

/* A reader sees what was committed before each read, never a transaction still open,
 * and writes nothing; an in-memory database has none. */
static void test_reader(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_marketd_store.XXXXXX", path[512], err[256];
    new_db(path, sizeof path, dir);
    store *s = ENGINE->open(path, &seed, err, sizeof err);
    assert_non_null(s);
    store *rd = s->ops->open_reader(s, err, sizeof err);
    assert_non_null(rd);
    put_keyed(s, "lst_1", "open", 5, "lst_1\nlamp");
    store_page q = {.kind = "listing", .limit = 10, .q = "lamp"};
    rows r = {0};
    assert_int_equal(STORE(rd, objects_page, &q, take, &r), 1);
    assert_int_equal(STORE(s, begin, false), 0);
    put_keyed(s, "lst_2", "open", 5, "lst_2\nlamp");
    r = (rows){0};
    assert_int_equal(STORE(rd, objects_page, &q, take, &r), 1); /* not yet committed */
    assert_int_equal(s->ops->commit(s), 0);
    r = (rows){0};
    assert_int_equal(STORE(rd, objects_page, &q, take, &r), 2);
    int64_t n = 0;
    assert_int_equal(STORE(rd, objects_total, "listing", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(STORE(rd, meta_set, "k", "v"), -1); /* read only */
    rd->ops->close(rd);
    s->ops->close(s);
    drop_db(dir);
    if (pgtest_engine())
        return; /* PostgreSQL has no database in memory */
    s = ENGINE->open(":memory:", &seed, err, sizeof err);
    assert_null(s->ops->open_reader(s, err, sizeof err));
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meta_and_seed, setup, teardown),
        cmocka_unit_test(test_reopen_keeps_the_seed),
        cmocka_unit_test_setup_teardown(test_transactions_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_and_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_windows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_balances_tokens_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sorts_search_working_set_totals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_is_literal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_search_in_a_sort, setup, teardown),
        cmocka_unit_test(test_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
