/* lists.c: reading many objects at once: GET /v1/snapshot (the working set) and
 * GET /v1/{kind} (a page of a list: its sorts, its search and its cursors).
 *
 * The snapshot holds what a console keeps in memory (docs/api.md, Reading): every agent,
 * everything pending or open, the newest MKT_SNAPSHOT_NEWEST of each closed kind, the
 * listings and threads those name, and how many of each kind the server holds; the rest
 * is paged with the lists. A list is sorted by one of its kind's sorts (sorts[] below:
 * a key of the store's rows, marketd/store.h, store_keys, read off each object by db.c),
 * ties by creation order in the same direction; its cursor `next` names the sort, the
 * last row's key and its creation order, so the next page starts right after that row
 * whatever was added meanwhile.
 */
#include "marketd/mkt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LIMIT       1000
#define Q_MIN            3      /* the shortest searched text (characters) ... */
#define Q_MAX            100    /* ... and the longest (bytes) */
#define OPEN_THREADS_MAX 100000 /* the snapshot's ?open_threads= at most */

/* One sort of a kind's list: the store's column and its direction. */
typedef struct sortdef {
    const char *kind, *name;
    store_col col;
    bool desc;
} sortdef;

/* clang-format off */
static const sortdef sorts[] = {
    {"listing",     "newest",   STORE_ORD, true}, {"listing",     "updated",  STORE_UPD, true},
    {"listing",     "price",    STORE_K1,  true},
    {"negotiation", "newest",   STORE_ORD, true}, {"negotiation", "activity", STORE_UPD, true},
    {"negotiation", "messages", STORE_K1,  true},
    {"purchase",    "newest",   STORE_ORD, true}, {"purchase",    "total",    STORE_K1,  true},
    {"purchase",    "deadline", STORE_K2,  false},
    {"alert",       "newest",   STORE_ORD, true}, {"alert",       "severity", STORE_K1,  true},
    {"ledger",      "newest",   STORE_ORD, true}, {"ledger",      "amount",   STORE_K1,  true},
    {"decision",    "newest",   STORE_ORD, true},
    {"agent",       "name",     STORE_TK,  false},
    {"dispute",     "newest",   STORE_ORD, true}, {"dispute",     "updated",  STORE_UPD, true},
    {"dispute",     "claim",    STORE_K1,  true}, {"dispute",     "respond_by", STORE_K2, false},
};
/* clang-format on */

/* The sort name of kind, or NULL. */
static const sortdef *find_sort(const char *kind, const char *name)
{
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (strcmp(sorts[i].kind, kind) == 0 && strcmp(sorts[i].name, name) == 0)
            return &sorts[i];
    return NULL;
}

/* ---- cursors ---------------------------------------------------------------- */

/* A cursor is "o<order>" in creation order (as before sorts existed), else
 * "<id prefix><sort>.<order>" for a sort by creation order and
 * "<id prefix><sort>.<key>.<order>" for a sort by a key: the key in decimal, or a text
 * key in hex. */

/* Parses a signed decimal integer that is all of s. */
static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || (*s != '-' && (*s < '0' || *s > '9')))
        return false;
    *out = v;
    return true;
}

/* Decodes hex text (size bytes out, NUL-terminated). */
static bool parse_hex(const char *s, size_t n, char *out, size_t size)
{
    if (n % 2 || n / 2 >= size)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1 || !strchr("0123456789abcdef", s[i]) ||
            !strchr("0123456789abcdef", s[i + 1]))
            return false;
        out[i / 2] = (char)v;
    }
    out[n / 2] = '\0';
    return memchr(out, '\0', n / 2) == NULL;
}

/* Reads cursor text into q for sort (NULL: creation order) of kind k; tbuf holds a
 * text key. False when it is not a cursor of this list's sort. */
static bool parse_cursor(const char *text, const mkt_kind *k, const sortdef *sort, store_page *q,
                         char *tbuf, size_t tsize)
{
    if (!sort)
        return text[0] == 'o' && mkt_parse_count(text + 1, &q->after);
    size_t pl = strlen(k->prefix), nl = strlen(sort->name);
    if (strncmp(text, k->prefix, pl) != 0 || strncmp(text + pl, sort->name, nl) != 0 ||
        text[pl + nl] != '.')
        return false;
    const char *rest = text + pl + nl + 1, *dot = strrchr(rest, '.');
    if (sort->col == STORE_ORD)
        return mkt_parse_count(rest, &q->after);
    if (!dot || !mkt_parse_count(dot + 1, &q->after))
        return false;
    char key[40];
    if (sort->col == STORE_TK) {
        if (!parse_hex(rest, (size_t)(dot - rest), tbuf, tsize))
            return false;
        q->tkey = tbuf;
    } else {
        size_t n = (size_t)(dot - rest);
        if (n >= sizeof key)
            return false;
        memcpy(key, rest, n);
        key[n] = '\0';
        if (!parse_int(key, &q->key))
            return false;
    }
    q->has_key = true;
    return true;
}

/* The cursor after object o (order ord) into out (size bytes). */
static void make_cursor(const mkt_kind *k, const sortdef *sort, json_t *o, int64_t ord, char *out,
                        size_t size)
{
    if (!sort) {
        snprintf(out, size, "o%lld", (long long)ord);
        return;
    }
    int n = snprintf(out, size, "%s%s.", k->prefix, sort->name);
    store_keys keys = mkt_sort_keys(k->kind, o);
    int64_t key = sort->col == STORE_UPD ? keys.upd : sort->col == STORE_K1 ? keys.k1 : keys.k2;
    if (sort->col == STORE_TK) {
        for (const char *t = keys.tk ? keys.tk : ""; *t && n + 3 < (int)size; t++)
            n += snprintf(out + n, size - (size_t)n, "%02x", (unsigned char)*t);
        snprintf(out + n, size - (size_t)n, ".%lld", (long long)ord);
    } else if (sort->col == STORE_ORD) {
        snprintf(out + n, size - (size_t)n, "%lld", (long long)ord);
    } else {
        snprintf(out + n, size - (size_t)n, "%lld.%lld", (long long)key, (long long)ord);
    }
}

/* ---- rows as text ----------------------------------------------------------- */

/* Rows of a kind in creation order: each one's order and JSON text (owned). */
typedef struct rowset {
    int64_t *ord;
    char **text;
    size_t n, cap;
} rowset;
static int rowset_add(void *ud, const char *json, int64_t ord)
{
    rowset *r = ud;
    if (!json)
        return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        int64_t *no = realloc(r->ord, cap * sizeof *no);
        if (no)
            r->ord = no;
        char **nt = no ? realloc(r->text, cap * sizeof *nt) : NULL;
        if (!nt)
            return -1;
        r->text = nt;
        r->cap = cap;
    }
    if (!(r->text[r->n] = strdup(json)))
        return -1;
    r->ord[r->n++] = ord;
    return 0;
}
static void rowset_free(rowset *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->text[i]);
    free(r->text);
    free(r->ord);
    *r = (rowset){0};
}

/* ---- GET /v1/{kind} --------------------------------------------------------- */

/* A page of a list being answered: the objects as the actor may see them. */
typedef struct page_walk {
    const market_actor *a;
    const char *kind;
    json_t *items;
    int limit;
    int64_t last;   /* the order of the last object given */
    json_t *last_o; /* and that object as stored (owned) */
    bool more;      /* there is one past the page */
} page_walk;
static int page_item(void *ud, const char *json, int64_t ord)
{
    page_walk *w = ud;
    if ((int)json_array_size(w->items) == w->limit) {
        w->more = true;
        return 1;
    }
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    w->last = ord;
    json_decref(w->last_o);
    w->last_o = json_incref(o);
    if (o)
        o = mkt_object_view(w->a, w->kind, o);
    if (o)
        json_array_append_new(w->items, o);
    return 0;
}

/* Reads q= of a list of kind into out (lower case, ASCII): 1 given, 0 absent, -1 bad
 * (answer set). */
static int list_search(mkt_ctx *c, const char *kind, char *out, size_t size)
{
    if (!mkt_query_get(c->rq->query, "q", out, size))
        return 0;
    if (!mkt_searchable(kind)) {
        mkt_fail(c, 400, "bad_request", "q", NULL, "this list is not searched");
        return -1;
    }
    size_t n = strlen(out), chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)out[i] & 0xc0) != 0x80;
    if (n > Q_MAX || chars < Q_MIN) {
        mkt_fail(c, 400, "bad_request", "q", NULL,
                 "q must be %d to %d bytes and hold at least %d characters", Q_MIN, Q_MAX, Q_MIN);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return 1;
}

/* Reads party= of a list of kind k into lq (buf: the caller's, 72 bytes): the objects
 * that agent is a party to, for the kinds with parties (mkt_party_kind). An agent reads
 * only its own: its party is itself, and another's is refused. False: answer set. */
static bool list_party(mkt_ctx *c, const mkt_kind *k, store_page *lq, char buf[72])
{
    bool agent = c->a->role == ROLE_AGENT;
    if (!mkt_query_get(c->rq->query, "party", buf, 72) || !buf[0]) {
        lq->party = agent && mkt_party_kind(k->kind) ? c->a->agent_id : NULL;
        return true;
    }
    if (!mkt_party_kind(k->kind))
        return mkt_fail(c, 400, "bad_request", "party", NULL, "%s have no parties", k->plural);
    if (agent && strcmp(buf, c->a->agent_id) != 0)
        return mkt_fail(c, 403, "forbidden", "party", NULL, "agents may read only their own %s",
                        k->plural);
    lq->party = buf;
    return true;
}

/* Reads status=, party=, sort=, q=, after= and limit= of kind k into lq (buffers: the
 * caller's, living as long as lq); *sort the sort (NULL: creation order). False: answer
 * set. */
static bool list_query(mkt_ctx *c, const mkt_kind *k, store_page *lq, const sortdef **sort,
                       char status[64], char qtext[256], char tkey[1024], char party[72])
{
    const char *q = c->rq->query;
    char text[2200] = "";
    if (!list_party(c, k, lq, party))
        return false;
    if (mkt_query_get(q, "status", status, 64) && status[0]) {
        bool ok = false;
        for (const char *const *s = k->statuses; *s; s++)
            ok = ok || strcmp(*s, status) == 0;
        if (!ok)
            return mkt_fail(c, 400, "bad_request", "status", NULL, "unknown status for %s",
                            k->plural);
        lq->status = status;
    }
    *sort = NULL;
    if (mkt_query_get(q, "sort", text, sizeof text) && text[0]) {
        if (!(*sort = find_sort(k->kind, text)))
            return mkt_fail(c, 400, "bad_request", "sort", NULL, "unknown sort for %s", k->plural);
        lq->col = (*sort)->col;
        lq->desc = (*sort)->desc;
    }
    int has_q = list_search(c, k->kind, qtext, 256);
    if (has_q < 0)
        return false;
    lq->q = has_q ? qtext : NULL;
    if (mkt_query_get(q, "after", text, sizeof text) && text[0] &&
        !parse_cursor(text, k, *sort, lq, tkey, 1024))
        return mkt_fail(c, 400, "bad_request", "after", NULL,
                        "after must be the next of a page of this list and sort");
    if (mkt_query_get(q, "limit", text, 32)) {
        int64_t v;
        if (!mkt_parse_count(text, &v) || v < 1 || v > LIST_LIMIT)
            return mkt_fail(c, 400, "bad_request", "limit", NULL, "limit must be 1 to %d",
                            LIST_LIMIT);
        lq->limit = (int)v;
    }
    return true;
}

/* Reads include= of a list of kind k: 1 include=listings (negotiations and purchases:
 * the listings the page's objects name come with it, docs/api.md), 0 absent, -1 bad
 * (answer set). */
static int list_include(mkt_ctx *c, const mkt_kind *k)
{
    char text[32];
    if (!mkt_query_get(c->rq->query, "include", text, sizeof text))
        return 0;
    bool names = strcmp(k->kind, "negotiation") == 0 || strcmp(k->kind, "purchase") == 0;
    if (strcmp(text, "listings") != 0 || !names) {
        mkt_fail(c, 400, "bad_request", "include", NULL,
                 "include=listings is the only one, on negotiations and purchases");
        return -1;
    }
    return 1;
}

/* The listings the objects of items name (listing_id), as c's actor may see them, oldest
 * first (owned; an empty array when the database fails: the page stands without them). */
static json_t *named_listings(mkt_ctx *c, json_t *items)
{
    json_t *ids = json_array(), *out = json_array(), *o;
    size_t i;
    json_array_foreach(items, i, o)
    {
        json_t *id = json_object_get(o, "listing_id");
        if (json_is_string(id))
            json_array_append(ids, id);
    }
    char *text = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(ids);
    rowset r = {0};
    if (text)
        STORE(c->db, objects_named, "listing", text, rowset_add, &r);
    free(text);
    for (i = 0; i < r.n; i++) {
        json_t *l = json_loads(r.text[i], 0, NULL);
        if (l && (l = mkt_object_view(c->a, "listing", l)))
            json_array_append_new(out, l);
    }
    rowset_free(&r);
    return out;
}

bool lists_get(mkt_ctx *c)
{
    const mkt_kind *k = mkt_find_kind(c->seg[0]);
    const market_actor *a = c->a;
    char status[64] = "", qtext[256] = "", tkey[1024] = "", party[72] = "";
    const sortdef *sort = NULL;
    store_page lq = {.kind = k->kind, .limit = 100};
    if (!list_query(c, k, &lq, &sort, status, qtext, tkey, party))
        return false;
    int include = list_include(c, k);
    if (include < 0)
        return false;
    if (a->role == ROLE_AGENT) { /* its own: the parties' kinds by list_party */
        if (strcmp(k->kind, "agent") == 0)
            lq.id = a->agent_id;
        else if (!mkt_party_kind(k->kind) && !mkt_agent_reads_all(k->kind))
            return mkt_fail(c, 403, "forbidden", NULL, NULL, "agents may not read %s", k->plural);
    }
    page_walk w = {a, k->kind, json_array(), lq.limit, 0, NULL, false};
    lq.limit += 1;
    if (STORE(c->db, objects_page, &lq, page_item, &w) < 0 && json_array_size(w.items) == 0) {
        json_decref(w.items);
        json_decref(w.last_o);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database: %s",
                        c->db->ops->error(c->db));
    }
    json_t *next = json_null();
    if (w.more) {
        char cur[2200];
        make_cursor(k, sort, w.last_o, w.last, cur, sizeof cur);
        next = json_string(cur);
    }
    json_decref(w.last_o);
    json_t *ans = json_pack("{so so}", "items", w.items, "next", next);
    if (include && ans)
        json_object_set_new(ans, "listings", named_listings(c, w.items));
    return mkt_ok(c, 200, ans);
}

/* ---- GET /v1/snapshot ----------------------------------------------------------- */

/* The snapshot is written as text: its objects are the stored JSON texts as they are
 * (a working set of 20,000 threads is megabytes: parsing it only to print it again
 * took most of the time), the few small parts through jansson. */

/* A growing text; failed once memory ran out (everything after is dropped). */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool failed;
} sbuf;
static void sb_add(sbuf *b, const char *text, size_t len)
{
    if (b->failed)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, text, len);
    b->n += len;
    b->p[b->n] = '\0';
}
static void sb_str(sbuf *b, const char *text)
{
    sb_add(b, text, strlen(text));
}
/* Appends v (stolen) as JSON. */
static void sb_json(sbuf *b, json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!t)
        b->failed = true;
    else
        sb_str(b, t);
    free(t);
    json_decref(v);
}

/* Merges a and b (each in creation order; each row once) into a: b is emptied. */
static void rowset_merge(rowset *a, rowset *b)
{
    rowset m = {0};
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        bool take_a = j == b->n || (i < a->n && a->ord[i] <= b->ord[j]);
        bool same = i < a->n && j < b->n && a->ord[i] == b->ord[j];
        rowset_add(&m, take_a ? a->text[i] : b->text[j], take_a ? a->ord[i] : b->ord[j]);
        take_a ? i++ : j++;
        j += same;
    }
    rowset_free(a);
    rowset_free(b);
    *a = m;
}

/* The string value of top-level key of the JSON object text (without escapes: an id)
 * into out (size bytes): true when there is one. A scan, not a parse: the ids of 20,000
 * threads are read this way in a fraction of what parsing them took. */
static bool top_string(const char *text, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    int depth = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            depth--;
        } else if (*p == '"') {
            const char *start = ++p;
            while (*p && *p != '"')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (!*p)
                return false;
            bool is_key = depth == 1 && p[1] == ':' && (size_t)(p - start) == kl &&
                          strncmp(start, key, kl) == 0;
            if (is_key && p[2] == '"') {
                const char *v = p + 3, *e = strchr(v, '"');
                if (!e || memchr(v, '\\', (size_t)(e - v)) || (size_t)(e - v) >= size)
                    return false;
                memcpy(out, v, (size_t)(e - v));
                out[e - v] = '\0';
                return true;
            }
        }
    }
    return false;
}

/* Appends the ids that the objects of r name in field key to the JSON array ids. */
static void named_ids(const rowset *r, const char *key, json_t *ids)
{
    char id[80];
    for (size_t i = 0; i < r->n; i++)
        if (top_string(r->text[i], key, id, sizeof id))
            json_array_append_new(ids, json_string(id));
}

/* The working set of kind: statuses s1, s2, the newest others, and the objects of kind
 * whose ids are in ids (a JSON array, stolen; may be empty). */
static rowset working_set(market *m, const char *kind, const char *s1, const char *s2, json_t *ids)
{
    rowset a = {0}, b = {0};
    STORE(m->db, objects_working, kind, s1, s2, MKT_SNAPSHOT_NEWEST, rowset_add, &a);
    char *text = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    if (text)
        STORE(m->db, objects_named, kind, text, rowset_add, &b);
    free(text);
    json_decref(ids);
    rowset_merge(&a, &b);
    return a;
}

/* Appends "name":[rows] (and frees r). */
static void sb_rows(sbuf *b, const char *name, rowset *r)
{
    sb_str(b, ",\"");
    sb_str(b, name);
    sb_str(b, "\":[");
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            sb_str(b, ",");
        sb_str(b, r->text[i]);
    }
    sb_str(b, "]");
    rowset_free(r);
}

/* Sets balances[account] = amount. */
static int add_balance(void *balances, const char *account, int64_t amount)
{
    if (account)
        json_object_set_new(balances, account, json_integer(amount));
    return 0;
}

/* {kind: {total}} for each kind of history. */
static json_t *history(market *m)
{
    static const char *const names[][2] = {
        {"listings", "listing"},   {"negotiations", "negotiation"},
        {"purchases", "purchase"}, {"alerts", "alert"},
        {"ledger", "ledger"},      {"decisions", "decision"},
        {"disputes", "dispute"}};
    json_t *h = json_object();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int64_t n = 0;
        STORE(m->db, objects_total, names[i][1], &n);
        json_object_set_new(h, names[i][0], json_pack("{sI}", "total", (json_int_t)n));
    }
    return h;
}

/* Orders r by creation order (a page sorted otherwise). */
static void rowset_sort(rowset *r)
{
    for (size_t i = 1; i < r->n; i++) /* insertion: a few thousand rows at most */
        for (size_t j = i; j > 0 && r->ord[j - 1] > r->ord[j]; j--) {
            int64_t o = r->ord[j];
            char *t = r->text[j];
            r->ord[j] = r->ord[j - 1];
            r->text[j] = r->text[j - 1];
            r->ord[j - 1] = o;
            r->text[j - 1] = t;
        }
}

/* The staged snapshot's threads (?open_threads=n, docs/api.md): the n most recently
 * updated open ones and the n most recently updated held ones, the newest
 * MKT_SNAPSHOT_NEWEST of any status and those ids (stolen) name; *more whether an open or
 * held one is left out (a status had more than n). Not counted: a count of every open
 * thread reads all of them, most of this answer's time at 20,000. */
static rowset staged_threads(market *m, int n, json_t *ids, bool *more)
{
    rowset a = {0}, b = {0};
    static const char *const live[] = {"open", "held"};
    *more = false;
    for (size_t i = 0; i < 2; i++) {
        size_t before = b.n;
        store_page q = {.kind = "negotiation",
                        .status = live[i],
                        .limit = n + 1,
                        .col = STORE_UPD,
                        .desc = true};
        STORE(m->db, objects_page, &q, rowset_add, &b);
        if (b.n - before > (size_t)n) { /* one past n: there are more (it is not sent) */
            *more = true;
            free(b.text[--b.n]);
        }
    }
    rowset_sort(&b);
    /* the newest of any status (objects_working with no status: objects_newest gives no
     * creation order, which the merges need) */
    STORE(m->db, objects_working, "negotiation", NULL, NULL, MKT_SNAPSHOT_NEWEST, rowset_add, &a);
    rowset_merge(&a, &b);
    char *text = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    if (text)
        STORE(m->db, objects_named, "negotiation", text, rowset_add, &b);
    free(text);
    json_decref(ids);
    rowset_merge(&a, &b);
    return a;
}

/* ?open_threads= of the snapshot: 1 given (into *n), 0 absent, -1 bad (answer set). */
static int snapshot_query(mkt_ctx *c, int *n)
{
    char text[32];
    int64_t v;
    if (!mkt_query_get(c->rq->query, "open_threads", text, sizeof text))
        return 0;
    if (!mkt_parse_count(text, &v) || v > OPEN_THREADS_MAX) {
        mkt_fail(c, 400, "bad_request", "open_threads", NULL, "open_threads must be 0 to %d",
                 OPEN_THREADS_MAX);
        return -1;
    }
    *n = (int)v;
    return 1;
}

bool lists_snapshot(mkt_ctx *c)
{
    market *m = c->m;
    int staged_n = 0, staged = snapshot_query(c, &staged_n);
    if (staged < 0)
        return false;
    rowset agents = {0}, entries = {0}, decisions = {0}, policies = {0};
    STORE(m->db, objects_each, "agent", rowset_add, &agents);
    STORE(m->db, objects_each, "policy", rowset_add, &policies); /* every one (policy.c) */
    rowset pur = working_set(m, "purchase", "pending_approval", NULL, NULL);
    json_t *ids = json_array();
    named_ids(&pur, "negotiation_id", ids);
    bool live_more = false;
    rowset neg = staged ? staged_threads(m, staged_n, ids, &live_more)
                        : working_set(m, "negotiation", "open", "held", ids);
    ids = json_array();
    named_ids(&neg, "listing_id", ids);
    named_ids(&pur, "listing_id", ids);
    rowset lst = working_set(m, "listing", NULL, NULL, ids);
    rowset alr = working_set(m, "alert", "open", NULL, NULL);
    rowset dsp = working_set(m, "dispute", "open", "responded", NULL); /* marketd/dispute.c */
    rowset clm = {0}; /* the active claims only (marketd/claims.c) */
    STORE(m->db, objects_working, "claim", "active", NULL, 0, rowset_add, &clm);
    STORE(m->db, objects_newest, "ledger", MKT_SNAPSHOT_NEWEST, rowset_add, &entries);
    STORE(m->db, objects_newest, "decision", MKT_SNAPSHOT_NEWEST, rowset_add, &decisions);
    json_t *balances = json_object();
    STORE(m->db, balances_each, add_balance, balances);

    sbuf b = {0};
    sb_str(&b, "{\"epoch\":");
    sb_json(&b, json_string(m->epoch));
    sb_str(&b, ",\"seq\":");
    sb_json(&b, json_integer(m->seq));
    sb_str(&b, ",\"fleet\":");
    sb_json(&b, mkt_fleet(m));
    sb_rows(&b, "agents", &agents);
    sb_rows(&b, "listings", &lst);
    sb_rows(&b, "negotiations", &neg);
    sb_rows(&b, "purchases", &pur);
    sb_rows(&b, "alerts", &alr);
    sb_rows(&b, "claims", &clm);
    sb_rows(&b, "disputes", &dsp);
    sb_str(&b, ",\"ledger\":{\"balances\":");
    sb_json(&b, balances);
    sb_rows(&b, "entries", &entries);
    sb_str(&b, "}");
    sb_rows(&b, "decisions", &decisions);
    sb_rows(&b, "policies", &policies);
    sb_str(&b, ",\"history\":");
    sb_json(&b, history(m));
    if (staged) {
        sb_str(&b, ",\"open_threads\":");
        sb_json(&b, json_pack("{sb}", "more", live_more));
    }
    sb_str(&b, "}");
    if (b.failed) {
        free(b.p);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "out of memory");
    }
    return mkt_ok_text(c, 200, b.p);
}
