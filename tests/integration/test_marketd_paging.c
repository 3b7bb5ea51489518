/* test_marketd_paging.c: reading a large market a page at a time (issue 14), against a
 * real marketd.
 *
 * The snapshot holds the working set (every agent, everything pending or open, the
 * newest of each closed kind and what those name) and history totals; every sort of
 * every list pages to its end with no row missed or doubled while rows are added
 * between pages, in the order docs/api.md gives; q= finds each searchable field, in any
 * ASCII case, and nothing else; bad sorts, searches and cursors are 400s naming the
 * parameter; and a database of schema 1 is migrated to all this (its rows sorted and
 * searched like new ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/listmodel.h"
#include "tests/lib/pgtest.h"
#include "tests/lib/testsrv.h"

#define NEWEST  100 /* marketd's MKT_SNAPSHOT_NEWEST */
#define SETTLED 130 /* settled purchases made: more than NEWEST */
#define FLAGGED 8   /* pending purchases with critical flags (and their alerts) */

static testsrv srv;
static testsrv_market ta; /* a buyer whose purchases settle at once */
static testsrv_market tb; /* a buyer whose purchases wait for approval */
static char old_pending[72], first_settled[72], neg_open[72], neg_held[72], old_listing[72];

/* ---- requests ------------------------------------------------------------------ */

/* GET path on s as sup1: the answer's status into *status, its body parsed (owned). */
static json_t *get_on(testsrv *s, const char *path, long *status)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    *status = r.status;
    if (!j)
        fail_msg("GET %s: %ld %s", path, r.status, r.body);
    testhttp_resp_free(&r);
    return j;
}

/* GET path on s, which must answer 200. */
static json_t *get_ok(testsrv *s, const char *path)
{
    long st;
    json_t *j = get_on(s, path, &st);
    if (st != 200)
        fail_msg("GET %s: %ld %s", path, st, json_string_value(json_object_get(j, "message")));
    return j;
}

/* POST body to path as token, which must answer 201 or 200; the answer (owned). */
static json_t *post_ok(testsrv *s, const char *token, const char *path, long long version,
                       const char *body)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(s, token, path, version, body, &r), 0);
    if (r.status != 200 && r.status != 201)
        fail_msg("POST %s %s: %ld %s", path, body, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    testhttp_resp_free(&r);
    assert_non_null(j);
    return j;
}

/* Percent-encodes s (every byte but A-Z a-z 0-9 - _ . ~) into out. */
static void url_encode(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s && n + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-_.~", c))
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* Every item of list path ("/v1/listings?q=x": with its query), paged to the end. */
static json_t *list_all(testsrv *s, const char *path)
{
    char *text = testsrv_list(s, TESTSRV_TOKEN_SUP1, path);
    json_t *items = text ? json_loads(text, 0, NULL) : NULL;
    if (!items)
        fail_msg("GET %s: no list", path);
    free(text);
    return items;
}

/* ---- the market -------------------------------------------------------------- */

/* Registers an agent (a buyer in USD) named name for principal as sup1. */
static void register_on(testsrv *s, const char *name, const char *principal)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"principal\":\"%s\",\"role\":\"buyer\",\"currency\":\"USD\","
             "\"limits\":{\"spend_cap_minor\":1000,\"per_deal_max_minor\":1000,"
             "\"approval_threshold_minor\":0,\"max_quantity\":1},\"mandate\":{\"categories\":"
             "[\"bikes\"]},\"addresses\":[\"1 Main St\"]}",
             name, principal);
    json_decref(post_ok(s, TESTSRV_TOKEN_SUP1, "/v1/agents", 0, body));
}

/* Lists a bike titled title at price with stock as t's seller (its id into t). */
static void list_bike(testsrv_market *t, const char *title, long long price, long long stock)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"title\":\"%s\",\"description\":\"d\",\"category\":\"bikes\","
             "\"unit_price_minor\":%lld,\"currency\":\"USD\",\"quantity\":%lld,"
             "\"floor_minor\":1000}",
             title, price, stock);
    json_t *l = post_ok(&srv, t->seller_token, "/v1/listings", 0, body);
    snprintf(t->listing_id, sizeof t->listing_id, "%s",
             json_string_value(json_object_get(l, "id")));
    json_decref(l);
}

/* Opens a negotiation as t's buyer on t's listing: its id into id. */
static void open_thread(testsrv_market *t, long long price, char id[72])
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":%lld,\"quantity\":1,\"text\":\"hi\"}",
             t->listing_id, price);
    json_t *n = post_ok(&srv, t->buyer_token, "/v1/negotiations", 0, body);
    snprintf(id, 72, "%s",
             json_string_value(json_object_get(json_object_get(n, "negotiation"), "id")));
    json_decref(n);
}

/* A settled purchase i of ta on a listing of its own (price and quantity vary). */
static void settled(int i, char pur[72])
{
    char title[64];
    long long price = 40000 + (i * 7919) % 20000, qty = 1 + i % 4;
    snprintf(title, sizeof title, "Gravel bike %d Quokka", i);
    list_bike(&ta, title, price, qty + i % 2);
    assert_int_equal(testsrv_market_purchase(&srv, &ta, price, qty, pur), 0);
}

/* A purchase of tb over its deal maximum (critical flags, alerts): pending. */
static void flagged(char pur[72])
{
    assert_int_equal(testsrv_market_purchase(&srv, &tb, 200000, 60, pur), 0);
}

/* New rows of every kind, made between pages. */
static int added;
static void add_rows(testsrv *s)
{
    char name[64], pur[72];
    snprintf(name, sizeof name, "Added agent %d", added);
    register_on(s, name, "Added principal");
    if (s == &srv) {
        settled(1000 + added, pur);
        if (added % 3 == 0)
            flagged(pur);
    }
    added++;
}

/* Holds negotiation id as sup1. */
static void hold(const char *id)
{
    char path[128];
    long st;
    snprintf(path, sizeof path, "/v1/negotiations/%s", id);
    json_t *n = get_on(&srv, path, &st);
    long long v = json_integer_value(json_object_get(n, "version"));
    json_decref(n);
    snprintf(path, sizeof path, "/v1/negotiations/%s/hold", id);
    json_decref(post_ok(&srv, TESTSRV_TOKEN_SUP1, path, v, "{\"reason\":\"Zanzibar hold\"}"));
}

/* Vetoes purchase id as sup1 with a reason. */
static void veto(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", id);
    json_decref(
        post_ok(&srv, TESTSRV_TOKEN_SUP1, path, 1, "{\"reason\":\"Zanzibar check failed\"}"));
}

/* Builds the market once (the tests share it): old rows of the working set, then more
 * closed ones than the snapshot's newest, flagged purchases (alerts), vetoes. */
static void market(void)
{
    static bool built;
    if (built)
        return;
    built = true;
    assert_int_equal(testsrv_market_setup(&srv, &ta, 100000000), 0);
    assert_int_equal(testsrv_market_setup(&srv, &tb, 0), 0);
    snprintf(old_listing, sizeof old_listing, "%s", tb.listing_id);
    assert_int_equal(testsrv_market_purchase(&srv, &tb, 50000, 1, old_pending), 0);
    open_thread(&tb, 41000, neg_open);
    open_thread(&tb, 42000, neg_held);
    hold(neg_held);
    register_on(&srv, "Zed \\\"quoted\\\" Agent", "Ophelia Principal");
    register_on(&srv, "alpha lower agent", "Ophelia Principal");
    char pur[72];
    for (int i = 0; i < SETTLED; i++)
        settled(i, i == 0 ? first_settled : pur);
    snprintf(tb.listing_id, sizeof tb.listing_id, "%s", old_listing);
    for (int i = 0; i < FLAGGED; i++) {
        flagged(pur);
        if (i % 3 == 0)
            veto(pur);
    }
}

static int group_setup(void **state)
{
    (void)state;
    return testsrv_start(&srv, "--agent-rate 0");
}

static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* ---- reading objects ----------------------------------------------------------- */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* The number of an id ("lst_12": 12): the creation order within a kind. */
static long long idn(json_t *o)
{
    const char *u = strrchr(str(o, "id"), '_');
    return u ? atoll(u + 1) : -1;
}

/* The ids of the objects of arr, in order, joined by spaces (owned). */
static char *ids_text(json_t *arr)
{
    size_t i, n = 1;
    json_t *o;
    json_array_foreach(arr, i, o) n += strlen(str(o, "id")) + 1;
    char *t = calloc(1, n);
    json_array_foreach(arr, i, o)
    {
        strcat(t, str(o, "id"));
        strcat(t, " ");
    }
    return t;
}

/* Asserts that arrays a and b hold the same ids in the same order. */
static void same_ids(json_t *a, json_t *b, const char *what)
{
    char *x = ids_text(a), *y = ids_text(b);
    if (strcmp(x, y) != 0)
        fail_msg("%s: got [%s], want [%s]", what, x, y);
    free(x);
    free(y);
}

/* The whole state of s (every object: tests/lib/testsrv.c) and its snapshot, of the
 * same seq. */
static json_t *whole_state(testsrv *s, json_t **snap)
{
    for (int i = 0; i < 20; i++) {
        *snap = get_ok(s, "/v1/snapshot");
        char *text = testsrv_state(s, TESTSRV_TOKEN_SUP1);
        assert_non_null(text);
        json_t *st = json_loads(text, 0, NULL);
        free(text);
        if (num(st, "seq") == num(*snap, "seq"))
            return st;
        json_decref(st);
        json_decref(*snap);
    }
    fail_msg("the market never stood still");
    return NULL;
}

/* The objects of state of the list plural (the ledger's entries for "ledger"). */
static json_t *all_of(json_t *state, const char *plural)
{
    if (strcmp(plural, "ledger") == 0)
        return json_object_get(json_object_get(state, "ledger"), "entries");
    return json_object_get(state, plural);
}

/* ---- the working set -------------------------------------------------------- */

/* The working set of all (in creation order): status s1 or s2, the newest NEWEST
 * others, and those whose id is in named (an object used as a set; may be NULL). */
static json_t *expected_set(json_t *all, const char *s1, const char *s2, json_t *named)
{
    size_t n = json_array_size(all), others = 0;
    json_t *keep = json_array(), *o;
    bool *in = calloc(n + 1, sizeof *in);
    for (size_t i = n; i-- > 0;) {
        o = json_array_get(all, i);
        const char *st = str(o, "status");
        bool live = (s1 && !strcmp(st, s1)) || (s2 && !strcmp(st, s2));
        in[i] = live || (others < NEWEST) || (named && json_object_get(named, str(o, "id")));
        others += !live;
    }
    for (size_t i = 0; i < n; i++)
        if (in[i])
            json_array_append(keep, json_array_get(all, i));
    free(in);
    return keep;
}

/* The ids that the objects of a (and b) name in field key, as a set. */
static json_t *named_set(json_t *a, json_t *b, const char *key)
{
    json_t *set = json_object(), *o;
    size_t i;
    json_array_foreach(a, i, o) json_object_set_new(set, str(o, key), json_true());
    if (b)
        json_array_foreach(b, i, o) json_object_set_new(set, str(o, key), json_true());
    return set;
}

/* The snapshot of s is its working set: checked against every object it holds. */
static void check_working_set(testsrv *s)
{
    json_t *snap, *state = whole_state(s, &snap);
    json_t *pur = expected_set(all_of(state, "purchases"), "pending_approval", NULL, NULL);
    json_t *named = named_set(pur, NULL, "negotiation_id");
    json_t *neg = expected_set(all_of(state, "negotiations"), "open", "held", named);
    json_decref(named);
    named = named_set(neg, pur, "listing_id");
    json_t *lst = expected_set(all_of(state, "listings"), NULL, NULL, named);
    json_decref(named);
    json_t *alr = expected_set(all_of(state, "alerts"), "open", NULL, NULL);
    same_ids(json_object_get(snap, "purchases"), pur, "snapshot purchases");
    same_ids(json_object_get(snap, "negotiations"), neg, "snapshot negotiations");
    same_ids(json_object_get(snap, "listings"), lst, "snapshot listings");
    same_ids(json_object_get(snap, "alerts"), alr, "snapshot alerts");
    same_ids(json_object_get(snap, "agents"), json_object_get(state, "agents"), "agents");
    json_t *none = expected_set(all_of(state, "ledger"), NULL, NULL, NULL);
    same_ids(json_object_get(json_object_get(snap, "ledger"), "entries"), none, "ledger");
    json_decref(none);
    none = expected_set(all_of(state, "decisions"), NULL, NULL, NULL);
    same_ids(json_object_get(snap, "decisions"), none, "decisions");
    json_decref(none);
    static const char *const kinds[] = {"listings", "negotiations", "purchases",
                                        "alerts",   "ledger",       "decisions"};
    for (int i = 0; i < 6; i++) {
        json_t *h = json_object_get(json_object_get(snap, "history"), kinds[i]);
        if (num(h, "total") != (long long)json_array_size(all_of(state, kinds[i])))
            fail_msg("history.%s.total %lld, the server holds %zu", kinds[i], num(h, "total"),
                     json_array_size(all_of(state, kinds[i])));
    }
    json_decref(pur);
    json_decref(neg);
    json_decref(lst);
    json_decref(alr);
    json_decref(snap);
    json_decref(state);
}

/* Whether the array of objects arr holds id. */
static bool holds(json_t *arr, const char *id)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) if (!strcmp(str(o, "id"), id)) return true;
    return false;
}

static void test_snapshot_is_the_working_set(void **state)
{
    (void)state;
    market();
    check_working_set(&srv);
    /* what the market made: old live rows in, an old closed one out, history beyond */
    json_t *snap = get_ok(&srv, "/v1/snapshot");
    json_t *pur = json_object_get(snap, "purchases");
    assert_true(holds(pur, old_pending));
    assert_false(holds(pur, first_settled));
    assert_true(holds(json_object_get(snap, "negotiations"), neg_open));
    assert_true(holds(json_object_get(snap, "negotiations"), neg_held));
    assert_true(holds(json_object_get(snap, "listings"), old_listing));
    json_t *h = json_object_get(snap, "history");
    assert_true(num(json_object_get(h, "purchases"), "total") > (long long)json_array_size(pur));
    assert_true(num(json_object_get(h, "ledger"), "total") >= SETTLED);
    assert_int_equal(json_array_size(json_object_get(json_object_get(snap, "ledger"), "entries")),
                     NEWEST);
    /* repeats of a rule for one agent group into one alert (marketd/alert.c): the
     * flagged purchases are all named by the alerts the server holds */
    char *text = testsrv_state(&srv, TESTSRV_TOKEN_SUP1);
    json_t *all = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    assert_non_null(all);
    long long named = 0;
    size_t i;
    json_t *a;
    json_array_foreach(all_of(all, "alerts"), i, a) named +=
        (long long)json_array_size(json_object_get(a, "purchase_ids"));
    assert_true(named >= FLAGGED);
    assert_int_equal(num(json_object_get(h, "alerts"), "total"),
                     (long long)json_array_size(all_of(all, "alerts")));
    json_decref(all);
    json_decref(snap);
}

/* ---- sorts ------------------------------------------------------------------- */

/* Every sort of every list ("": creation order). */
static const struct {
    const char *plural, *sort;
} sorts[] = {
    {"listings", ""},
    {"listings", "newest"},
    {"listings", "updated"},
    {"listings", "price"},
    {"negotiations", ""},
    {"negotiations", "newest"},
    {"negotiations", "activity"},
    {"negotiations", "messages"},
    {"purchases", ""},
    {"purchases", "newest"},
    {"purchases", "total"},
    {"purchases", "deadline"},
    {"alerts", ""},
    {"alerts", "newest"},
    {"alerts", "severity"},
    {"ledger", ""},
    {"ledger", "newest"},
    {"ledger", "amount"},
    {"decisions", ""},
    {"decisions", "newest"},
    {"agents", ""},
    {"agents", "name"},
};

/* Pages list plural in sort with limit, adding rows between its first pages when add: no row
 * doubled, each in sort's order, and every object of before (the list as it was)
 * given. How many pages. */
static int page_through(testsrv *s, const char *plural, const char *sort, int limit, json_t *before,
                        bool add)
{
    json_t *seen = json_object(), *prev = NULL;
    char next[2400] = "", url[3000];
    int pages = 0;
    for (;; pages++) {
        snprintf(url, sizeof url, "/v1/%s?limit=%d%s%s%s%s", plural, limit, *sort ? "&sort=" : "",
                 sort, next[0] ? "&after=" : "", next);
        json_t *page = get_ok(s, url), *o;
        size_t i;
        json_array_foreach(json_object_get(page, "items"), i, o)
        {
            if (json_object_get(seen, str(o, "id")))
                fail_msg("%s sort=%s: %s given twice (page %d)", plural, sort, str(o, "id"), pages);
            json_object_set_new(seen, str(o, "id"), json_true());
            if (prev && listmodel_order(sort, prev, o) >= 0)
                fail_msg("%s sort=%s: %s before %s", plural, sort, str(prev, "id"), str(o, "id"));
            json_decref(prev);
            prev = json_incref(o);
        }
        const char *n = json_string_value(json_object_get(page, "next"));
        if (n)
            url_encode(n, next, sizeof next);
        json_decref(page);
        if (!n)
            break;
        if (add && pages < 4) /* new rows while a list is being read */
            add_rows(s);
    }
    size_t i;
    json_t *o;
    json_array_foreach(before, i, o)
    {
        if (!json_object_get(seen, str(o, "id")))
            fail_msg("%s sort=%s: %s never given", plural, sort, str(o, "id"));
    }
    json_decref(prev);
    json_decref(seen);
    return pages + 1;
}

/* Every sort of every list of s pages through (with rows added between pages). */
static void check_sorts(testsrv *s, int limit)
{
    for (size_t k = 0; k < sizeof sorts / sizeof sorts[0]; k++) {
        json_t *snap, *state = whole_state(s, &snap);
        json_decref(snap);
        json_t *before = all_of(state, sorts[k].plural);
        int pages = page_through(s, sorts[k].plural, sorts[k].sort, limit, before, true);
        if (json_array_size(before) > (size_t)limit * 2)
            assert_true(pages > 2);
        json_decref(state);
    }
}

static void test_every_sort_pages_through(void **state)
{
    (void)state;
    market();
    check_sorts(&srv, 9);
}

/* ---- search ------------------------------------------------------------------- */

/* Searches list plural of s for q (extra: more of the query, "" for none): the answer must
 * be exactly the objects of all that match, in the order of sort (a sort name, "" for
 * creation order), with status when given. */
static void search_for(testsrv *s, const char *plural, json_t *all, json_t *listings, const char *q,
                       const char *sort, const char *status)
{
    char enc[400], path[600];
    url_encode(q, enc, sizeof enc);
    snprintf(path, sizeof path, "/v1/%s?q=%s%s%s%s%s", plural, enc, *sort ? "&sort=" : "", sort,
             *status ? "&status=" : "", status);
    json_t *got = list_all(s, path), *want = json_array(), *o;
    size_t i;
    json_array_foreach(all, i, o) if (listmodel_matches(plural, o, listings, q) &&
                                      (!*status || !strcmp(str(o, "status"), status)))
        json_array_append(want, o);
    /* in sort's order: an insertion sort of the expected rows */
    for (size_t a = 1; a < json_array_size(want); a++)
        for (size_t b = a; b > 0 && listmodel_order(sort, json_array_get(want, b - 1),
                                                    json_array_get(want, b)) > 0;
             b--) {
            json_t *x = json_incref(json_array_get(want, b - 1));
            json_array_set(want, b - 1, json_array_get(want, b));
            json_array_set_new(want, b, x);
        }
    char what[700];
    snprintf(what, sizeof what, "GET %s", path);
    same_ids(got, want, what);
    json_decref(got);
    json_decref(want);
}

/* A piece of value v to search for (into q): all of it when short, else 8 bytes from
 * its middle; its letters' case flipped when flip. False when v is too short or not
 * ASCII. */
static bool piece(const char *v, bool flip, char q[32])
{
    size_t n = strlen(v), from = n <= 12 ? 0 : n / 2 - 4, len = n <= 12 ? n : 8;
    if (n < 3)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] >= 0x80)
            return false;
    snprintf(q, 32, "%.*s", (int)len, v + from);
    for (char *c = q; flip && *c; c++)
        *c = (char)(isupper((unsigned char)*c) ? tolower((unsigned char)*c)
                                               : toupper((unsigned char)*c));
    return true;
}

/* q= on every searchable field of a few objects of every list of s. */
static void check_search(testsrv *s)
{
    json_t *snap, *state = whole_state(s, &snap);
    json_decref(snap);
    json_t *listings = all_of(state, "listings");
    for (const char *const *pl = listmodel_lists; *pl; pl++) {
        json_t *all = all_of(state, *pl);
        const char *const *fields = listmodel_fields(*pl);
        size_t n = json_array_size(all);
        size_t samples[] = {0, n / 2, n ? n - 1 : 0};
        for (int si = 0; si < 3 && n; si++) {
            json_t *o = json_array_get(all, samples[si]);
            for (int f = 0; fields[f]; f++) {
                json_t *vals = json_array(), *v;
                size_t i;
                char q[32];
                listmodel_values(o, fields[f], listings, vals);
                json_array_foreach(vals, i, v) if (piece(json_string_value(v), si == 1, q))
                    search_for(s, *pl, all, listings, q, "", "");
                json_decref(vals);
            }
        }
    }
    json_decref(state);
}

static void test_search_every_field(void **state)
{
    (void)state;
    market();
    check_search(&srv);
    /* with a sort and a status; a quote and case in the text searched */
    json_t *snap, *st = whole_state(&srv, &snap);
    json_decref(snap);
    search_for(&srv, "listings", all_of(st, "listings"), all_of(st, "listings"), "qUOKKA", "price",
               "open");
    search_for(&srv, "listings", all_of(st, "listings"), all_of(st, "listings"), "QUOKKA",
               "updated", "sold");
    search_for(&srv, "negotiations", all_of(st, "negotiations"), all_of(st, "listings"), "quokka",
               "messages", "");
    search_for(&srv, "agents", all_of(st, "agents"), NULL, "\"QUOTED\"", "name", "");
    search_for(&srv, "decisions", all_of(st, "decisions"), NULL, "zanzibar", "newest", "");
    search_for(&srv, "alerts", all_of(st, "alerts"), NULL, "OVER_DEAL", "severity", "open");
    search_for(&srv, "purchases", all_of(st, "purchases"), NULL, tb.buyer_id, "deadline",
               "pending_approval");
    search_for(&srv, "ledger", all_of(st, "ledger"), NULL, "AGENT:", "amount", "");
    search_for(&srv, "listings", all_of(st, "listings"), NULL, "no such text anywhere", "", "");
    json_decref(st);
}

/* ---- bad requests ------------------------------------------------------------------- */

/* GET path answers 400 bad_request naming field. */
static void refused(const char *path, const char *field)
{
    long st;
    json_t *j = get_on(&srv, path, &st);
    if (st != 400 || strcmp(str(j, "field"), field) != 0 || strcmp(str(j, "error"), "bad_request"))
        fail_msg("GET %s: %ld %s %s (want 400 naming %s)", path, st, str(j, "field"),
                 str(j, "message"), field);
    json_decref(j);
}

/* The next of the first page (limit 1) of path. */
static void first_next(const char *path, char out[256])
{
    json_t *j = get_ok(&srv, path);
    const char *n = json_string_value(json_object_get(j, "next"));
    assert_non_null(n);
    url_encode(n, out, 256);
    json_decref(j);
}

static void test_bad_sorts_searches_and_cursors(void **state)
{
    (void)state;
    market();
    static const char *const bad[][2] = {
        {"/v1/listings?sort=bogus", "sort"},
        {"/v1/negotiations?sort=price", "sort"},
        {"/v1/agents?sort=newest", "sort"},
        {"/v1/decisions?sort=amount", "sort"},
        {"/v1/listings?q=ab", "q"},
        {"/v1/listings?q=", "q"},
        {"/v1/listings?q=%C3%A9a", "q"}, /* 3 bytes, 2 characters */
        {"/v1/listings?q=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         "q"}, /* 101 bytes */
        {"/v1/listings?after=garbage", "after"},
        {"/v1/listings?sort=price&after=o5", "after"},
        {"/v1/listings?after=lst_price.5.5", "after"},
        {"/v1/listings?sort=price&after=lst_price.x.5", "after"},
        {"/v1/listings?sort=price&after=lst_price.5", "after"},
        {"/v1/agents?sort=name&after=agt_name.zz.1", "after"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i][0], bad[i][1]);
    char price[256], agents[256], url[600];
    first_next("/v1/listings?sort=price&limit=1", price);
    first_next("/v1/agents?sort=name&limit=1", agents);
    snprintf(url, sizeof url, "/v1/listings?sort=price&after=%s", price);
    json_decref(get_ok(&srv, url)); /* its own sort takes it */
    snprintf(url, sizeof url, "/v1/listings?sort=updated&after=%s", price);
    refused(url, "after"); /* another sort's */
    snprintf(url, sizeof url, "/v1/negotiations?sort=messages&after=%s", price);
    refused(url, "after"); /* another list's */
    snprintf(url, sizeof url, "/v1/listings?after=%s", price);
    refused(url, "after"); /* no sort */
    snprintf(url, sizeof url, "/v1/agents?sort=name&after=%s", agents);
    json_decref(get_ok(&srv, url));
    /* without sort=, as before: creation order and cursors "o<order>" */
    json_t *j = get_ok(&srv, "/v1/listings?limit=2");
    assert_true(idn(json_array_get(json_object_get(j, "items"), 0)) <
                idn(json_array_get(json_object_get(j, "items"), 1)));
    assert_int_equal(str(j, "next")[0], 'o');
    json_decref(j);
}

/* An agent's sorted and searched lists page through its own rows only, in order. */
static void test_agent_lists_its_own(void **state)
{
    (void)state;
    market();
    static const char *const lists[][2] = {{"negotiations", "activity"},
                                           {"purchases", "total"},
                                           {"negotiations", ""},
                                           {"purchases", "deadline&q=pur_1"}};
    json_t *snap, *st = whole_state(&srv, &snap);
    json_decref(snap);
    for (int i = 0; i < 4; i++) {
        const char *sort = lists[i][1], *amp = strchr(sort, '&');
        char sortname[32], next[256] = "", url[600];
        snprintf(sortname, sizeof sortname, "%.*s", amp ? (int)(amp - sort) : (int)strlen(sort),
                 sort);
        json_t *want = json_array(), *o, *prev = NULL;
        size_t k, n = 0;
        json_array_foreach(all_of(st, lists[i][0]), k,
                           o) if ((!strcmp(str(o, "buyer_id"), ta.buyer_id) ||
                                   !strcmp(str(o, "seller_id"), ta.buyer_id)) &&
                                  (!amp || strstr(str(o, "id"), "pur_1")))
            json_array_append(want, o);
        do {
            snprintf(url, sizeof url, "%s/v1/%s?limit=7%s%s%s%s", srv.url, lists[i][0],
                     *sort ? "&sort=" : "", sort, next[0] ? "&after=" : "", next);
            testhttp_resp r = {0};
            assert_int_equal(testhttp("GET", url, ta.buyer_token, NULL, NULL, &r), 0);
            assert_int_equal(r.status, 200);
            json_t *page = json_loads(r.body, 0, NULL);
            testhttp_resp_free(&r);
            json_array_foreach(json_object_get(page, "items"), k, o)
            {
                assert_true(holds(want, str(o, "id")));
                if (prev)
                    assert_true(listmodel_order(sortname, prev, o) < 0);
                json_decref(prev);
                prev = json_incref(o);
                n++;
            }
            const char *nx = json_string_value(json_object_get(page, "next"));
            snprintf(next, sizeof next, "%s", nx ? nx : "");
            json_decref(page);
        } while (next[0]);
        assert_int_equal(n, json_array_size(want));
        assert_true(n > 0);
        json_decref(prev);
        json_decref(want);
    }
    json_decref(st);
}

/* A database of schema 1 (each fixture) opens at the current schema (5): its snapshot is its
 * working set with its totals, its rows sort and page like new ones, and q= finds them (the
 * migration filled the keys and the search index from the rows there). */
static void test_schema1_migrates_to_pages(void **state)
{
    (void)state;
    static const char *const fixtures[] = {"marketd-schema1.sql", "marketd-schema1-load.sql"};
    if (pgtest_engine()) { /* the fixtures are older marketd's SQLite files */
        print_message("skipped on PostgreSQL: a SQLite migration (a PostgreSQL database "
                      "starts at schema 5)\n");
        skip();
    }
    for (int i = 0; i < 2; i++) {
        testsrv s2;
        assert_int_equal(testsrv_start(&s2, "--agent-rate 0"), 0);
        assert_int_equal(testsrv_terminate(&s2), 0);
        char path[600];
        snprintf(path, sizeof path, "%s/data/%s",
                 getenv("TESTS_DIR") ? getenv("TESTS_DIR") : "tests", fixtures[i]);
        assert_int_equal(testsrv_load_sql(&s2, path), 0);
        assert_int_equal(testsrv_restart(&s2), 0);
        check_working_set(&s2);
        check_search(&s2);
        check_sorts(&s2, 2); /* agents registered between pages: new rows among old */
        check_search(&s2);
        check_working_set(&s2);
        sqlite3 *db = NULL;
        assert_int_equal(testsrv_terminate(&s2), 0);
        assert_int_equal(sqlite3_open(s2.db, &db), SQLITE_OK);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 5);
        sqlite3_finalize(st);
        sqlite3_close(db);
        testsrv_stop(&s2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_is_the_working_set),
        cmocka_unit_test(test_every_sort_pages_through),
        cmocka_unit_test(test_search_every_field),
        cmocka_unit_test(test_bad_sorts_searches_and_cursors),
        cmocka_unit_test(test_agent_lists_its_own),
        cmocka_unit_test(test_schema1_migrates_to_pages),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
