/* audit.c: the tamper-evident audit trail (docs/api.md, "Audit").
 *
 * Every decision and every ledger entry is a link of one chain, in commit order: when it
 * is created (mkt_create in db.c, the one place both kinds are made: decide.c,
 * settle.c, and whatever else records a decision or posts an entry) it gets chain_n (its
 * place, from 1), prev_hash (the hash of the entry before it; 64 zeros for the first)
 * and hash: SHA-256, hex, of its canonical JSON (RFC 8785, api/json_canon.h) without the
 * hash field. The head {n, hash, at} is kept in the store's meta ("audit_head"), written
 * in the entry's own transaction, so a rollback takes both back. Entries stored before
 * the chain existed have none of these fields: the chain starts at the first one hashed.
 *
 * The chain is read in order by chain_n (GET /v1/audit?after=N): its entries are the
 * objects of both kinds in creation order (their ord, which the market's lock makes the
 * commit order), so the place of entry N is found by a binary search over ord, and a
 * page is the merge of the two kinds' pages after it. No column of its own: the schema
 * is unchanged. Both reads run on the market's reader when it has one (route.c,
 * reader_route), without its lock: an export of the whole chain keeps no writer
 * waiting.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_canon.h"

#define AUDIT_HEAD_KEY "audit_head"
#define AUDIT_LIMIT    1000 /* the most entries of one page */
#define AUDIT_GENESIS  "0000000000000000000000000000000000000000000000000000000000000000"

/* The kinds chained, in the order of a page's merge. */
static const char *const chained[] = {"decision", "ledger"};
#define NCHAINED (sizeof chained / sizeof chained[0])

/* The head: n (0 when the chain is empty) and its hash and time ("" then). */
typedef struct audit_head {
    int64_t n;
    char hash[65];
    char at[32];
} audit_head;

/* Parses a row's JSON into *(json_t **)ud (NULL when it does not parse). */
static int parse_row(void *ud, const char *text, int64_t n)
{
    (void)n;
    *(json_t **)ud = text ? json_loads(text, 0, NULL) : NULL;
    return 0;
}

/* Reads the head from meta. 0, or -1 when it does not parse. */
static int head_read(store *db, audit_head *h)
{
    json_t *o = NULL;
    *h = (audit_head){0};
    int found = STORE(db, meta_get, AUDIT_HEAD_KEY, parse_row, &o);
    if (found == 0)
        return 0;
    const char *hash = mkt_str(o, "hash"), *at = mkt_str(o, "at");
    int rc = found == 1 && hash && at && mkt_int(o, "n") > 0 ? 0 : -1;
    if (rc == 0) {
        h->n = mkt_int(o, "n");
        snprintf(h->hash, sizeof h->hash, "%s", hash);
        snprintf(h->at, sizeof h->at, "%s", at);
    }
    json_decref(o);
    return rc;
}

bool audit_chained(const char *kind)
{
    for (size_t i = 0; i < NCHAINED; i++)
        if (strcmp(kind, chained[i]) == 0)
            return true;
    return false;
}

int audit_chain(market *m, const char *kind, json_t *obj)
{
    if (!audit_chained(kind))
        return 0;
    audit_head h;
    if (head_read(m->db, &h) != 0)
        return -1;
    json_object_del(obj, "hash");
    json_object_set_new(obj, "chain_n", json_integer(h.n + 1));
    json_object_set_new(obj, "prev_hash", json_string(h.n ? h.hash : AUDIT_GENESIS));
    size_t len;
    char *canon = json_canon(obj, &len), hex[65];
    if (!canon)
        return -1;
    mkt_sha256_hex(canon, len, hex);
    free(canon);
    if (strlen(hex) != 64)
        return -1;
    json_object_set_new(obj, "hash", json_string(hex));
    char at[32];
    const char *when = mkt_str(obj, "at");
    if (!when) {
        mkt_time_str(m->now, at);
        when = at;
    }
    json_t *head = json_pack("{sI ss ss}", "n", (json_int_t)(h.n + 1), "hash", hex, "at", when);
    char *text = head ? json_dumps(head, JSON_COMPACT) : NULL;
    int rc = text ? mkt_meta_set(m, AUDIT_HEAD_KEY, text) : -1;
    free(text);
    json_decref(head);
    return rc;
}

/* GET /v1/audit/head: {n, hash, at}; n 0 and nulls before the first entry. */
bool audit_get_head(mkt_ctx *c)
{
    audit_head h;
    if (head_read(c->db, &h) != 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "the audit head does not read");
    return mkt_ok(c, 200,
                  json_pack("{sI so so}", "n", (json_int_t)h.n, "hash",
                            h.n ? json_string(h.hash) : json_null(), "at",
                            h.n ? json_string(h.at) : json_null()));
}

/* Objects of one kind after an ord, read in creation order. */
typedef struct rowlist {
    json_t **obj;
    int64_t *ord;
    int n, cap;
} rowlist;

static int rowlist_add(void *ud, const char *json, int64_t ord)
{
    rowlist *r = ud;
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    if (!o || r->n == r->cap) {
        json_decref(o);
        return o ? 0 : -1;
    }
    r->obj[r->n] = o;
    r->ord[r->n++] = ord;
    return 0;
}

static void rowlist_free(rowlist *r)
{
    for (int i = 0; i < r->n; i++)
        json_decref(r->obj[i]);
    free(r->obj);
    free(r->ord);
}

/* Reads at most max objects of kind with ord > after into r (empty, allocated here). 0
 * or -1. */
static int read_after(store *db, const char *kind, int64_t after, int max, rowlist *r)
{
    *r = (rowlist){calloc((size_t)max, sizeof(json_t *)), calloc((size_t)max, sizeof(int64_t)), 0,
                   max};
    store_page q = {.kind = kind, .after = after, .limit = max, .col = STORE_ORD};
    if (!r->obj || !r->ord || STORE(db, objects_page, &q, rowlist_add, r) < 0) {
        rowlist_free(r);
        *r = (rowlist){0};
        return -1;
    }
    return 0;
}

/* The chain_n of the first chained entry with ord > after (0: one from before the chain;
 * INT64_MAX: none). -1 on a failed read. */
static int64_t first_after(store *db, int64_t after)
{
    int64_t best_ord = INT64_MAX, n = INT64_MAX;
    for (size_t k = 0; k < NCHAINED; k++) {
        rowlist r;
        if (read_after(db, chained[k], after, 1, &r) != 0)
            return -1;
        if (r.n == 1 && r.ord[0] < best_ord) {
            best_ord = r.ord[0];
            n = mkt_int(r.obj[0], "chain_n");
        }
        rowlist_free(&r);
    }
    return n;
}

/* The ord after which the chain's entry n + 1 comes first (the smallest x whose first
 * entry after it is past n), found by a binary search over ord: entries are in ord
 * order. -1 on a failed read. */
static int64_t ord_after(store *db, int64_t n)
{
    int64_t lo = 0, hi = 0;
    for (size_t k = 0; k < NCHAINED; k++) { /* hi: the newest entry's ord */
        rowlist r;
        store_page q = {.kind = chained[k], .limit = 1, .col = STORE_ORD, .desc = true};
        r = (rowlist){calloc(1, sizeof(json_t *)), calloc(1, sizeof(int64_t)), 0, 1};
        if (!r.obj || !r.ord || STORE(db, objects_page, &q, rowlist_add, &r) < 0) {
            rowlist_free(&r);
            return -1;
        }
        if (r.n == 1 && r.ord[0] > hi)
            hi = r.ord[0];
        rowlist_free(&r);
    }
    while (lo < hi) { /* invariant: first_after(hi) > n */
        int64_t mid = lo + (hi - lo) / 2, f = first_after(db, mid);
        if (f < 0)
            return -1;
        if (f > n)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Appends to items the chained entries after ord x, in ord order, at most limit. 0/-1. */
static int page_after(store *db, int64_t x, int limit, json_t *items)
{
    rowlist r[NCHAINED];
    int rc = 0;
    size_t got = 0;
    for (size_t k = 0; k < NCHAINED; k++)
        if (rc == 0 && read_after(db, chained[k], x, limit, &r[k]) == 0)
            got++;
        else
            rc = -1;
    int at[NCHAINED] = {0};
    while (rc == 0 && (int)json_array_size(items) < limit) {
        size_t pick = NCHAINED;
        for (size_t k = 0; k < NCHAINED; k++)
            if (at[k] < r[k].n && (pick == NCHAINED || r[k].ord[at[k]] < r[pick].ord[at[pick]]))
                pick = k;
        if (pick == NCHAINED)
            break;
        json_t *o = r[pick].obj[at[pick]++];
        if (json_is_integer(json_object_get(o, "chain_n")))
            json_array_append(items, o);
    }
    for (size_t k = 0; k < got; k++)
        rowlist_free(&r[k]);
    return rc;
}

/* GET /v1/audit?after=N&limit=L: the chain's entries N+1.. in order, {items, next}. */
bool audit_get(mkt_ctx *c)
{
    char text[32];
    int64_t after = 0, limit = 500;
    if (mkt_query_get(c->rq->query, "after", text, sizeof text) && text[0] &&
        !mkt_parse_count(text, &after))
        return mkt_fail(c, 400, "bad_request", "after", NULL,
                        "after must be a chain_n (0: from the start)");
    if (mkt_query_get(c->rq->query, "limit", text, sizeof text) &&
        (!mkt_parse_count(text, &limit) || limit < 1 || limit > AUDIT_LIMIT))
        return mkt_fail(c, 400, "bad_request", "limit", NULL, "limit must be 1 to %d", AUDIT_LIMIT);
    audit_head h;
    json_t *items = json_array();
    int64_t x = 0;
    if (head_read(c->db, &h) != 0 ||
        (after < h.n &&
         ((x = ord_after(c->db, after)) < 0 || page_after(c->db, x, (int)limit, items) != 0))) {
        json_decref(items);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "the audit chain does not read");
    }
    int64_t last = after;
    if (json_array_size(items) > 0)
        last = mkt_int(json_array_get(items, json_array_size(items) - 1), "chain_n");
    json_t *next = json_null();
    if (last < h.n && json_array_size(items) > 0) {
        snprintf(text, sizeof text, "%lld", (long long)last);
        next = json_string(text);
    }
    return mkt_ok(c, 200, json_pack("{so so}", "items", items, "next", next));
}
