/* route.c: market_handle(), the one entry point for every API request.
 *
 * It takes the path apart, checks the caller's role for the route, handles
 * Idempotency-Key (lookup before, store in the same transaction after), runs the
 * handler inside one transaction for POSTs and serves the read API directly.
 */
#include "marketd/mkt.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/text.h"
#include "marketd/sha256.h"

#define BODY_MAX   (64 * 1024)
#define TEXT_MAX   4096
#define LIST_LIMIT 1000

/* Replaces, in place, every byte of s that does not begin or continue a well-formed
 * UTF-8 sequence with '?' (a sequence cut short at the end included): an error message
 * may quote the request (jansson's parse errors do), and jansson refuses to build a
 * string that is not UTF-8, which would turn a 400 into a 500. */
static void utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80                    ? 1
                : (*p >= 0xc2 && *p <= 0xdf) ? 2
                : (*p >= 0xe0 && *p <= 0xef) ? 3
                : (*p >= 0xf0 && *p <= 0xf4) ? 4
                                             : 0;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
        /* overlong 3/4-byte forms, surrogates and code points above U+10FFFF */
        if (ok && n == 3)
            ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
        if (ok && n == 4)
            ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

bool mkt_fail(mkt_ctx *c, int status, const char *code, const char *field, json_t *current,
              const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_repair(msg);
    json_decref(c->answer);
    c->status = status;
    c->answer = json_pack("{ss ss}", "error", code, "message", msg);
    if (field)
        json_object_set_new(c->answer, "field", json_string(field));
    if (current)
        json_object_set(c->answer, "current", current);
    return false;
}

bool mkt_ok(mkt_ctx *c, int status, json_t *body)
{
    json_decref(c->answer);
    c->status = status;
    c->answer = body;
    return true;
}

int64_t mkt_int(json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

const char *mkt_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int mkt_body_int(mkt_ctx *c, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(c->body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be an integer", key);
        return -1;
    }
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be between %lld and %lld", key,
                 (long long)min, (long long)max);
        return -1;
    }
    *out = x;
    return 1;
}

/* Counts UTF-8 characters (lead bytes) of s. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int mkt_body_str(mkt_ctx *c, const char *key, size_t minchars, size_t maxchars, bool required,
                 const char **out)
{
    json_t *v = json_object_get(c->body, key);
    if (!v || json_is_null(v)) {
        if (required) {
            mkt_fail(c, 400, "bad_request", key, NULL, "%s is required", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be a string", key);
        return -1;
    }
    size_t len = json_string_length(v);
    size_t chars = utf8_chars(json_string_value(v), len);
    if (len > TEXT_MAX || chars > maxchars || chars < minchars) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be %zu to %zu characters (and 4 KiB)",
                 key, minchars, maxchars);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

json_t *mkt_listing_view(const market_actor *a, json_t *listing)
{
    json_t *v = json_deep_copy(listing);
    if (a->role == ROLE_AGENT && v) {
        const char *seller = mkt_str(v, "seller_id");
        if (!seller || strcmp(seller, a->agent_id) != 0)
            json_object_set_new(v, "floor_minor", json_null());
    }
    return v;
}

/* ---- query strings and conditions ------------------------------------------- */

bool mkt_parse_count(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] != '\0')
        return false; /* empty, a sign, a space, a fraction or past 18 digits */
    *out = strtoll(s, NULL, 10);
    return true;
}

int mkt_parse_if_match(const char *h, int64_t *version)
{
    if (!h || !*h)
        return 0;
    size_t n = strlen(h);
    char digits[24];
    if (n < 3 || n - 2 >= sizeof digits || h[0] != '"' || h[n - 1] != '"')
        return -1; /* W/"1", 1, " 1" unquoted... */
    memcpy(digits, h + 1, n - 2);
    digits[n - 2] = '\0';
    int64_t v;
    if (digits[0] == '0' || !mkt_parse_count(digits, &v))
        return -1; /* a version is written without leading zeros, from 1 */
    *version = v;
    return 1;
}

/* Value of hex digit c, or -1. */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Finds key in a query string and percent-decodes its value into out. Returns true
 * when present. */
static bool query_get(const char *q, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n >= kl && strncmp(p, key, kl) == 0 && (n == kl || p[kl] == '=')) {
            size_t o = 0;
            for (size_t i = kl + 1; i < n && o + 1 < size; i++) {
                int ch = p[i];
                if (ch == '+')
                    ch = ' ';
                else if (ch == '%' && i + 2 < n + 1 && hexval(p[i + 1]) >= 0 &&
                         hexval(p[i + 2]) >= 0) {
                    ch = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
                    i += 2;
                }
                out[o++] = (char)ch;
            }
            out[o] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct kinddef {
    const char *plural; /* path segment */
    const char *kind;   /* objects.kind */
    const char *prefix; /* id prefix */
    const char *const *statuses;
} kinddef;

static const char *const agent_st[] = {"active", "paused", NULL};
static const char *const listing_st[] = {"open", "sold", "withdrawn", NULL};
static const char *const neg_st[] = {"open", "agreed", "failed", "held", "vetoed", "expired", NULL};
static const char *const pur_st[] = {"pending_approval", "approved", "settled", "vetoed", "capped",
                                     "expired",          "refunded", "failed",  NULL};
static const char *const alert_st[] = {"open", "acked", NULL};
static const char *const none_st[] = {NULL};

static const kinddef kinds[] = {
    {"agents", "agent", "agt_", agent_st},           {"listings", "listing", "lst_", listing_st},
    {"negotiations", "negotiation", "neg_", neg_st}, {"purchases", "purchase", "pur_", pur_st},
    {"alerts", "alert", "alr_", alert_st},           {"ledger", "ledger", "led_", none_st},
    {"decisions", "decision", "dec_", none_st},
};

/* The kind for a path segment, or NULL. */
static const kinddef *find_kind(const char *plural)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].plural, plural) == 0)
            return &kinds[i];
    return NULL;
}

/* True when an agent may read this object. */
static bool agent_may_read(const market_actor *a, const char *kind, json_t *o)
{
    if (strcmp(kind, "listing") == 0)
        return true;
    if (strcmp(kind, "agent") == 0)
        return strcmp(mkt_str(o, "id"), a->agent_id) == 0;
    if (strcmp(kind, "negotiation") == 0 || strcmp(kind, "purchase") == 0) {
        const char *b = mkt_str(o, "buyer_id"), *s = mkt_str(o, "seller_id");
        return (b && strcmp(b, a->agent_id) == 0) || (s && strcmp(s, a->agent_id) == 0);
    }
    return false;
}

/* Object o (stolen) of kind as a may see it (owned): an agent never sees another party's
 * private limits, in a listing's floor (mkt_listing_view) or a flag's detail
 * (risk_purchase_view). */
static json_t *object_view(const market_actor *a, const char *kind, json_t *o)
{
    json_t *v = o;
    if (strcmp(kind, "listing") == 0)
        v = mkt_listing_view(a, o);
    else if (strcmp(kind, "purchase") == 0)
        v = risk_purchase_view(a, o);
    if (v != o)
        json_decref(o);
    return v;
}

/* A page of a list being answered: the objects as the actor may see them. */
typedef struct page_walk {
    const market_actor *a;
    const char *kind;
    json_t *items;
    int limit;
    int64_t last; /* the order of the last object given */
    bool more;    /* there is one past the page */
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
    if (o)
        o = object_view(w->a, w->kind, o);
    if (o)
        json_array_append_new(w->items, o);
    return 0;
}

/* GET /v1/{kind}?status=&after=&limit= */
static bool get_list(mkt_ctx *c, const kinddef *k)
{
    const market_actor *a = c->a;
    const char *q = c->rq->query;
    char status[64] = "", after[64] = "", limit[32] = "";
    store_page lq = {.kind = k->kind, .limit = 100};
    if (query_get(q, "status", status, sizeof status) && status[0]) {
        bool ok = false;
        for (const char *const *s = k->statuses; *s; s++)
            ok = ok || strcmp(*s, status) == 0;
        if (!ok)
            return mkt_fail(c, 400, "bad_request", "status", NULL, "unknown status for %s",
                            k->plural);
        lq.status = status;
    }
    if (query_get(q, "after", after, sizeof after) && after[0]) {
        int64_t v;
        if (after[0] != 'o' || !mkt_parse_count(after + 1, &v))
            return mkt_fail(c, 400, "bad_request", "after", NULL,
                            "after must be a cursor from next");
        lq.after = v;
    }
    if (query_get(q, "limit", limit, sizeof limit)) {
        int64_t v;
        if (!mkt_parse_count(limit, &v) || v < 1 || v > LIST_LIMIT)
            return mkt_fail(c, 400, "bad_request", "limit", NULL, "limit must be 1 to %d",
                            LIST_LIMIT);
        lq.limit = (int)v;
    }
    if (a->role == ROLE_AGENT) {
        if (strcmp(k->kind, "agent") == 0)
            lq.id = a->agent_id;
        else if (strcmp(k->kind, "negotiation") == 0 || strcmp(k->kind, "purchase") == 0)
            lq.party = a->agent_id;
        else if (strcmp(k->kind, "listing") != 0)
            return mkt_fail(c, 403, "forbidden", NULL, NULL, "agents may not read %s", k->plural);
    }
    page_walk w = {a, k->kind, json_array(), lq.limit, 0, false};
    lq.limit += 1;
    if (STORE(c->m->db, objects_page, &lq, page_item, &w) < 0 && json_array_size(w.items) == 0) {
        json_decref(w.items);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database: %s",
                        c->m->db->ops->error(c->m->db));
    }
    json_t *next = json_null();
    if (w.more) {
        char cur[32];
        snprintf(cur, sizeof cur, "o%lld", (long long)w.last);
        next = json_string(cur);
    }
    return mkt_ok(c, 200, json_pack("{so so}", "items", w.items, "next", next));
}

/* GET /v1/{kind}/{id} */
static bool get_one(mkt_ctx *c, const kinddef *k, const char *id)
{
    if (!text_valid_id(id, k->prefix))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid %s id", k->kind);
    json_t *o = mkt_get(c->m, k->kind, id);
    if (!o)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such %s", k->kind);
    if (c->a->role == ROLE_AGENT && !agent_may_read(c->a, k->kind, o)) {
        json_decref(o);
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "agents may read only their own %s",
                        k->plural);
    }
    return mkt_ok(c, 200, object_view(c->a, k->kind, o));
}

/* GET /v1/negotiations/{id}/messages?after=SEQ */
static bool get_messages(mkt_ctx *c, const char *id)
{
    if (!text_valid_id(id, "neg_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid negotiation id");
    json_t *neg = mkt_get(c->m, "negotiation", id);
    if (!neg)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such negotiation");
    bool may = c->a->role != ROLE_AGENT || agent_may_read(c->a, "negotiation", neg);
    json_decref(neg);
    if (!may)
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "not a party to this negotiation");
    char after[32] = "";
    int64_t from = 0;
    if (query_get(c->rq->query, "after", after, sizeof after) && after[0]) {
        int64_t v;
        if (!mkt_parse_count(after, &v))
            return mkt_fail(c, 400, "bad_request", "after", NULL, "after must be a message seq");
        from = v;
    }
    json_t *items = json_array();
    STORE(c->m->db, messages_page, id, from, LIST_LIMIT + 1, mkt_collect, items);
    json_t *next = json_null();
    if (json_array_size(items) > LIST_LIMIT) {
        json_array_remove(items, LIST_LIMIT);
        char cur[32];
        snprintf(cur, sizeof cur, "%lld",
                 (long long)mkt_int(json_array_get(items, LIST_LIMIT - 1), "seq"));
        next = json_string(cur);
    }
    return mkt_ok(c, 200, json_pack("{so so}", "items", items, "next", next));
}

/* Sets balances[account] = amount. */
static int add_balance(void *balances, const char *account, int64_t amount)
{
    if (account)
        json_object_set_new(balances, account, json_integer(amount));
    return 0;
}

/* GET /v1/snapshot: everything, consistent as of seq (we hold the lock). */
static bool get_snapshot(mkt_ctx *c)
{
    market *m = c->m;
    json_t *snap = json_pack("{ss sI so}", "epoch", m->epoch, "seq", (json_int_t)m->seq, "fleet",
                             mkt_fleet(m));
    static const char *const names[][2] = {{"agents", "agent"},
                                           {"listings", "listing"},
                                           {"negotiations", "negotiation"},
                                           {"purchases", "purchase"},
                                           {"alerts", "alert"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *arr = json_array();
        STORE(m->db, objects_each, names[i][1], mkt_collect, arr);
        json_object_set_new(snap, names[i][0], arr);
    }
    json_t *entries = json_array(), *decisions = json_array(), *balances = json_object();
    STORE(m->db, objects_newest, "ledger", 1000, mkt_collect, entries);
    STORE(m->db, objects_newest, "decision", 1000, mkt_collect, decisions);
    STORE(m->db, balances_each, add_balance, balances);
    json_object_set_new(snap, "ledger",
                        json_pack("{so so}", "entries", entries, "balances", balances));
    json_object_set_new(snap, "decisions", decisions);
    return mkt_ok(c, 200, snap);
}

/* Appends fault f to the array ud. */
static int add_fault(void *ud, const store_fault *f)
{
    json_t *o = json_object();
    const char *const cols[][2] = {{"kind", f->kind},
                                   {"purchase_id", f->purchase_id},
                                   {"negotiation_id", f->negotiation_id},
                                   {"listing_id", f->listing_id},
                                   {"agent_id", f->agent_id}};
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, cols[i][0], cols[i][1] ? json_string(cols[i][1]) : json_null());
    json_object_set_new(o, "at", mkt_time_json(f->at));
    json_array_append_new(ud, o);
    return 0;
}

/* GET /v1/sim/faults */
static bool get_faults(mkt_ctx *c)
{
    json_t *items = json_array();
    if (STORE(c->m->db, faults_each, add_fault, items) < 0 && json_array_size(items) == 0) {
        json_decref(items);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    }
    return mkt_ok(c, 200, json_pack("{so}", "items", items));
}

/* Routes a GET. */
static void route_get(mkt_ctx *c)
{
    const market_actor *a = c->a;
    bool op = a->role == ROLE_SUPERVISOR || a->role == ROLE_VIEWER;
    if (c->nseg == 1 && strcmp(c->seg[0], "snapshot") == 0) {
        if (!op)
            mkt_fail(c, 403, "forbidden", NULL, NULL, "operators only");
        else
            get_snapshot(c);
        return;
    }
    if (c->nseg == 1 && strcmp(c->seg[0], "fleet") == 0) {
        mkt_ok(c, 200, mkt_fleet(c->m));
        return;
    }
    if (c->nseg == 1 && strcmp(c->seg[0], "whoami") == 0) {
        /* Who the token belongs to, so that a console can show it and grey out what
         * the role may not do. Never the token itself. */
        static const char *const roles[] = {"none", "viewer", "supervisor", "agent"};
        json_t *who = json_pack("{ss ss}", "name", a->name, "role", roles[a->role]);
        if (a->role == ROLE_AGENT)
            json_object_set_new(who, "agent_id", json_string(a->agent_id));
        mkt_ok(c, 200, who);
        return;
    }
    if (c->nseg == 2 && strcmp(c->seg[0], "sim") == 0 && strcmp(c->seg[1], "faults") == 0) {
        if (a->role != ROLE_SUPERVISOR)
            mkt_fail(c, 403, "forbidden", NULL, NULL, "supervisors only");
        else
            get_faults(c);
        return;
    }
    const kinddef *k = c->nseg >= 1 ? find_kind(c->seg[0]) : NULL;
    if (!k) {
        mkt_fail(c, 404, "not_found", NULL, NULL, "no such endpoint");
        return;
    }
    if (c->nseg == 1)
        get_list(c, k);
    else if (c->nseg == 2)
        get_one(c, k, c->seg[1]);
    else if (c->nseg == 3 && strcmp(k->kind, "negotiation") == 0 &&
             strcmp(c->seg[2], "messages") == 0)
        get_messages(c, c->seg[1]);
    else
        mkt_fail(c, 404, "not_found", NULL, NULL, "no such endpoint");
}

/* ---- posting ---------------------------------------------------------------- */

/* Routes a POST inside its transaction. */
static void route_post(mkt_ctx *c)
{
    const market_actor *a = c->a;
    if (a->role == ROLE_VIEWER) {
        mkt_fail(c, 403, "forbidden", NULL, NULL, "viewers cannot make changes");
        return;
    }
    if (a->role == ROLE_AGENT) {
        json_t *agent = mkt_get(c->m, "agent", a->agent_id);
        const char *status = agent ? mkt_str(agent, "status") : NULL;
        bool paused = status && strcmp(status, "paused") == 0;
        json_decref(agent);
        if (!status) {
            mkt_fail(c, 401, "unauthorized", NULL, NULL, "unknown agent");
            return;
        }
        bool listing = c->nseg >= 1 && strcmp(c->seg[0], "listings") == 0;
        bool neg = c->nseg >= 1 && strcmp(c->seg[0], "negotiations") == 0;
        if (!(listing && c->nseg == 1) &&
            !(listing && c->nseg == 3 && !strcmp(c->seg[2], "withdraw")) &&
            !(neg && c->nseg == 1) && !(neg && c->nseg == 3 && !strcmp(c->seg[2], "messages"))) {
            /* An operator endpoint (a kind's, or the fleet's) is forbidden, not missing. */
            bool known = c->nseg >= 1 && (find_kind(c->seg[0]) || strcmp(c->seg[0], "fleet") == 0);
            mkt_fail(c, known ? 403 : 404, known ? "forbidden" : "not_found", NULL, NULL,
                     "agents may use only the agent endpoints");
            return;
        }
        if (mkt_fleet_halted(c->m)) {
            mkt_fail(c, 409, "fleet_halted", NULL, NULL, "the fleet is halted");
            return;
        }
        if (paused) {
            mkt_fail(c, 403, "agent_paused", NULL, NULL, "agent %s is paused", a->agent_id);
            return;
        }
        if (listing && c->nseg == 1)
            trade_post_listing(c);
        else if (listing)
            trade_withdraw_listing(c, c->seg[1]);
        else if (c->nseg == 1)
            trade_open_negotiation(c);
        else
            trade_post_message(c, c->seg[1]);
        return;
    }
    /* Supervisors. */
    decide_route(c);
}

/* The idempotency scope of an actor. */
static void actor_scope(const market_actor *a, char out[80])
{
    snprintf(out, 80, "%s:%s", a->role == ROLE_AGENT ? "agent" : "op",
             a->role == ROLE_AGENT ? a->agent_id : a->name);
}

/* True when key is 1..128 of [A-Za-z0-9_-]. */
static bool valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '-')
            return false;
    return true;
}

/* Monotonic seconds, for decision timing. */
static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Handles a POST: idempotency, body, transaction. */
static void handle_post(mkt_ctx *c)
{
    market *m = c->m;
    const market_request *rq = c->rq;
    if (c->a->role == ROLE_VIEWER) {
        mkt_fail(c, 403, "forbidden", NULL, NULL, "viewers cannot make changes");
        return;
    }
    if (!rq->idempotency_key || !valid_key(rq->idempotency_key)) {
        mkt_fail(c, 400, "bad_request", "Idempotency-Key", NULL,
                 "Idempotency-Key header (1-128 of A-Z a-z 0-9 _ -) is required");
        return;
    }
    if (rq->body_len > BODY_MAX) {
        mkt_fail(c, 413, "too_large", NULL, NULL, "request body over 64 KiB");
        return;
    }
    char scope[80], fp[65];
    actor_scope(c->a, scope);
    sha256_ctx h;
    uint8_t d[32];
    sha256_init(&h);
    sha256_update(&h, rq->path, strlen(rq->path) + 1);
    if (rq->body)
        sha256_update(&h, rq->body, rq->body_len);
    sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(fp + 2 * i, 3, "%02x", d[i]);
    int st = 0;
    char *stored = NULL;
    int found = mkt_idem_lookup(m, scope, rq->idempotency_key, fp, &st, &stored);
    if (found == 1) {
        json_t *b = json_loads(stored, 0, NULL);
        free(stored);
        m->st.replays++;
        mkt_ok(c, st, b ? b : json_object());
        c->status = -st; /* marks a replay for market_handle */
        return;
    }
    if (found == 2) {
        mkt_fail(c, 422, "idempotency_mismatch", "Idempotency-Key", NULL,
                 "this Idempotency-Key was used with another request");
        return;
    }
    json_error_t jerr;
    json_t *body = rq->body_len ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr)
                                : json_object();
    if (!body || !json_is_object(body)) {
        json_decref(body);
        mkt_fail(c, 400, "bad_request", NULL, NULL, "the body must be a JSON object%s%s",
                 body ? "" : ": ", body ? "" : jerr.text);
        return;
    }
    c->body = body;
    bool durable = c->a->role != ROLE_AGENT ||
                   (mkt_str(body, "kind") && strcmp(mkt_str(body, "kind"), "accept") == 0);
    double t0 = mono_s();
    if (mkt_begin(m, durable) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "database busy");
    } else {
        route_post(c);
        if (c->status >= 200 && c->status < 300) {
            char *text = json_dumps(c->replay ? c->replay : c->answer, JSON_COMPACT);
            if (!text || mkt_idem_store(m, scope, rq->idempotency_key, fp, c->status, text) != 0 ||
                mkt_commit(m) != 0) {
                mkt_rollback(m);
                mkt_fail(c, 503, "unavailable", NULL, NULL, "could not commit the change");
            } else if (c->a->role == ROLE_SUPERVISOR) {
                m->st.decisions++;
                m->st.decision_seconds += mono_s() - t0;
            }
            free(text);
        } else {
            mkt_rollback(m);
        }
    }
    c->body = NULL;
    json_decref(body);
    json_decref(c->replay);
    c->replay = NULL;
}

/* Splits "/v1/a/b/c" into segments. Returns false when it is not a /v1 path. */
static bool split_path(mkt_ctx *c, const char *path)
{
    if (strncmp(path, "/v1/", 4) != 0)
        return false;
    const char *p = path + 4;
    c->nseg = 0;
    while (*p) {
        const char *sl = strchr(p, '/');
        size_t n = sl ? (size_t)(sl - p) : strlen(p);
        if (n == 0 || n >= sizeof c->seg[0] || c->nseg == 6)
            return false;
        memcpy(c->seg[c->nseg], p, n);
        c->seg[c->nseg][n] = '\0';
        c->nseg++;
        if (!sl)
            break;
        p = sl + 1;
        if (!*p)
            return false;
    }
    return c->nseg > 0;
}

void market_handle(market *m, const market_actor *a, const market_request *rq, market_response *rs)
{
    mkt_ctx c = {.m = m, .a = a, .rq = rq};
    if (mkt_rate_refuse(m, a, rs))
        return; /* before the lock: a flooding agent slows no one else */
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    m->st.requests++;
    bool isget = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
    bool ispost = strcmp(rq->method, "POST") == 0;
    if (!rq->path || !split_path(&c, rq->path)) {
        mkt_fail(&c, 404, "not_found", NULL, NULL, "no such endpoint");
    } else if (c.nseg == 1 && strcmp(c.seg[0], "health") == 0 && isget) {
        mkt_ok(
            &c, 200,
            json_pack("{ss ss sI}", "status", "ok", "epoch", m->epoch, "seq", (json_int_t)m->seq));
    } else if (a->role == ROLE_NONE) {
        mkt_fail(&c, 401, "unauthorized", NULL, NULL, "a valid bearer token is required");
    } else if (isget) {
        route_get(&c);
    } else if (ispost) {
        handle_post(&c);
    } else {
        mkt_fail(&c, 405, "bad_request", NULL, NULL, "method %s not allowed", rq->method);
    }
    rs->replayed = c.status < 0;
    rs->retry_after = 0;
    rs->status = c.status < 0 ? -c.status : c.status;
    if (rs->status >= 400)
        m->st.errors++;
    if (rs->status == 409 || rs->status == 412)
        m->st.conflicts++;
    pthread_mutex_unlock(&m->mu);
    rs->body = c.answer ? json_dumps(c.answer, JSON_COMPACT) : NULL;
    json_decref(c.answer);
    if (!rs->body) {
        rs->status = 500;
        rs->body = strdup("{\"error\":\"unavailable\",\"message\":\"out of memory\"}");
    }
}
