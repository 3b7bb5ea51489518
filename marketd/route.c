/* route.c: market_handle(), the one entry point for every API request.
 *
 * It takes the path apart and routes it by two tables: methods[] (who may use a method
 * at all: a viewer never changes anything) and routes[] (per method and path pattern,
 * the roles that may take it, what the others get, and the handler). A POST is
 * idempotent (its Idempotency-Key's answer is looked up before, and stored in the same
 * transaction after) and runs inside one transaction; the read API is served here.
 */
#include "marketd/mkt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/text.h"

#define BODY_MAX   (64 * 1024)
#define LIST_LIMIT 1000

/* ---- reading ---------------------------------------------------------------- */

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

typedef mkt_kind kinddef;

static const char *const agent_st[] = {"active", "paused", NULL};
static const char *const listing_st[] = {"open", "sold", "withdrawn", NULL};
static const char *const neg_st[] = {"open", "agreed", "failed", "held", "vetoed", "expired", NULL};
static const char *const pur_st[] = {"pending_approval", "approved", "settled", "vetoed", "capped",
                                     "expired",          "refunded", "failed",  NULL};
static const char *const alert_st[] = {"open", "acked", "resolved", NULL};
static const char *const halt_st[] = {"active", "lifted", NULL};
static const char *const none_st[] = {NULL};
static const char *const claim_st[] = {"active", "released", "expired", NULL};
static const char *const dispute_st[] = {"open", "responded", "resolved", NULL};

static const kinddef kinds[] = {
    {"agents", "agent", "agt_", agent_st},           {"listings", "listing", "lst_", listing_st},
    {"negotiations", "negotiation", "neg_", neg_st}, {"purchases", "purchase", "pur_", pur_st},
    {"alerts", "alert", "alr_", alert_st},           {"ledger", "ledger", "led_", none_st},
    {"decisions", "decision", "dec_", none_st},      {"policies", "policy", "pol_", none_st},
    {"claims", "claim", "pur_", claim_st},           {"halts", "halt", "hlt_", halt_st},
    {"disputes", "dispute", "dsp_", dispute_st},
};

const mkt_kind *mkt_find_kind(const char *plural)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].plural, plural) == 0)
            return &kinds[i];
    return NULL;
}

/* True when an agent may read every object of kind; see mkt.h. */
bool mkt_agent_reads_all(const char *kind)
{
    return strcmp(kind, "listing") == 0 || strcmp(kind, "halt") == 0; /* halts: as in the Fleet */
}

/* True when objects of kind have parties, a buyer and a seller; see mkt.h. */
bool mkt_party_kind(const char *kind)
{
    return strcmp(kind, "negotiation") == 0 || strcmp(kind, "purchase") == 0 ||
           strcmp(kind, "dispute") == 0;
}

/* True when an agent may read this object. */
static bool agent_may_read(const market_actor *a, const char *kind, json_t *o)
{
    if (mkt_agent_reads_all(kind))
        return true;
    if (strcmp(kind, "agent") == 0)
        return strcmp(mkt_str(o, "id"), a->agent_id) == 0;
    if (mkt_party_kind(kind)) {
        const char *b = mkt_str(o, "buyer_id"), *s = mkt_str(o, "seller_id");
        return (b && strcmp(b, a->agent_id) == 0) || (s && strcmp(s, a->agent_id) == 0);
    }
    return false;
}

/* Object o (stolen) of kind as a may see it (owned): an agent never sees another party's
 * private limits, in a listing's floor (mkt_listing_view) or a flag's detail
 * (risk_purchase_view). */
json_t *mkt_object_view(const market_actor *a, const char *kind, json_t *o)
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

/* GET /v1/{kind}/{id} */
static bool get_one(mkt_ctx *c)
{
    const kinddef *k = mkt_find_kind(c->seg[0]);
    const char *id = c->seg[1];
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
    return mkt_ok(c, 200, mkt_object_view(c->a, k->kind, o));
}

/* GET /v1/negotiations/{id}/messages?after=SEQ */
static bool get_messages(mkt_ctx *c)
{
    const char *id = c->seg[1];
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
    if (mkt_query_get(c->rq->query, "after", after, sizeof after) && after[0]) {
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

/* GET /v1/fleet */
static bool get_fleet(mkt_ctx *c)
{
    return mkt_ok(c, 200, mkt_fleet(c->m));
}

/* GET /v1/whoami: who the token belongs to, so that a console can show it and grey out
 * what the role may not do. Never the token itself. */
static bool get_whoami(mkt_ctx *c)
{
    static const char *const roles[] = {"none", "viewer", "supervisor", "agent"};
    json_t *who = json_pack("{ss ss}", "name", c->a->name, "role", roles[c->a->role]);
    if (c->a->role == ROLE_AGENT)
        json_object_set_new(who, "agent_id", json_string(c->a->agent_id));
    return mkt_ok(c, 200, who);
}

/* GET /v1/health, open to anyone. */
static bool get_health(mkt_ctx *c)
{
    return mkt_ok(c, 200,
                  json_pack("{ss ss sI}", "status", "ok", "epoch", c->m->epoch, "seq",
                            (json_int_t)c->m->seq));
}

/* ---- the routes ------------------------------------------------------------- */

/* Who may take a route: a set of roles. */
#define BY(role)    (1u << (role))
#define BY_ANYONE   (BY(ROLE_NONE) | BY_SIGNED)
#define BY_SIGNED   (BY_OPERATOR | BY(ROLE_AGENT)) /* any valid token */
#define BY_OPERATOR (BY(ROLE_VIEWER) | BY(ROLE_SUPERVISOR))
#define AGENTS_ONLY "agents may use only the agent endpoints"
#define NO_ENDPOINT "no such endpoint"

/* One route. path is the segments after /v1/: a word matches itself, "*" any one
 * segment, "{kind}" a kind's plural (kinds[] above), and a last "**" any further
 * segments, or none. The first route whose method and path match and that the caller's
 * role may take runs; when none may, the first whose path matches refuses it. */
typedef struct route {
    const char *method;          /* "GET" (HEAD too) or "POST" */
    const char *path;            /* the pattern */
    unsigned roles;              /* who may take it (BY_...) */
    int status;                  /* what the others get: 403 or 404 ... */
    const char *refusal;         /* ... with these words */
    bool trading;                /* an agent's trade: refused while halted or paused */
    bool (*handler)(mkt_ctx *c); /* answers the request */
} route;

/* clang-format off */
static const route routes[] = {
    {"GET",  "health",                  BY_ANYONE,              0,   NULL, false, get_health},
    {"GET",  "snapshot",                BY_OPERATOR,            403, "operators only", false,
     lists_snapshot},
    {"GET",  "fleet",                   BY_SIGNED,              0,   NULL, false, get_fleet},
    {"GET",  "presence",                BY_OPERATOR,            403, "operators only", false,
     presence_get},
    {"GET",  "whoami",                  BY_SIGNED,              0,   NULL, false, get_whoami},
    {"GET",  "sim/faults",              BY(ROLE_SUPERVISOR),    403, "supervisors only", false,
     get_faults},
    {"GET",  "audit",                   BY_OPERATOR,            403, "operators only", false,
     audit_get},
    {"GET",  "audit/head",              BY_OPERATOR,            403, "operators only", false,
     audit_get_head},
    {"GET",  "{kind}",                  BY_SIGNED,              0,   NULL, false, lists_get},
    {"GET",  "{kind}/*",                BY_SIGNED,              0,   NULL, false, get_one},
    {"GET",  "negotiations/*/messages", BY_SIGNED,              0,   NULL, false, get_messages},
    {"POST", "listings",                BY(ROLE_AGENT),         404, NO_ENDPOINT, true,
     trade_post_listing},
    {"POST", "listings/*/withdraw",     BY(ROLE_AGENT),         404, NO_ENDPOINT, true,
     trade_withdraw_listing},
    {"POST", "negotiations",            BY(ROLE_AGENT),         404, NO_ENDPOINT, true,
     trade_open_negotiation},
    {"POST", "negotiations/*/messages", BY(ROLE_AGENT),         404, NO_ENDPOINT, true,
     trade_post_message},
    {"POST", "agents",                  BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     agents_register},
    {"POST", "policies",                BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     policy_create},
    {"POST", "policies/*",              BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     policy_replace},
    {"POST", "purchases/*/claim",       BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     claims_post},
    {"POST", "halts",                   BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     halt_create},
    {"POST", "presence",                BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     presence_post},
    /* disputes (marketd/dispute.c): opened by a party or a supervisor, answered by the
     * parties (a supervisor is told so); resolved as a decision, below. Accepting an offer
     * moves money: like a trade, refused while the fleet is halted or the agent paused */
    {"POST", "purchases/*/disputes",    BY(ROLE_AGENT) | BY(ROLE_SUPERVISOR), 0, NULL, false,
     dispute_open},
    {"POST", "disputes/*/respond",      BY(ROLE_AGENT) | BY(ROLE_SUPERVISOR), 0, NULL, false,
     dispute_respond},
    {"POST", "disputes/*/accept-offer", BY(ROLE_AGENT) | BY(ROLE_SUPERVISOR), 0, NULL, true,
     dispute_accept_offer},
    /* the decisions (marketd/decide.c): an operator endpoint is forbidden to agents, any
     * other path missing */
    {"POST", "{kind}/**",               BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     decide_route},
    {"POST", "fleet/**",                BY(ROLE_SUPERVISOR),    403, AGENTS_ONLY, false,
     decide_route},
    {"POST", "**",                      BY(ROLE_SUPERVISOR),    404, AGENTS_ONLY, false,
     decide_route},
};
/* clang-format on */

/* True when the request's path matches pattern p (see route). */
static bool path_matches(const mkt_ctx *c, const char *p)
{
    for (int i = 0;; i++) {
        if (!*p)
            return i == c->nseg;
        if (strcmp(p, "**") == 0)
            return true;
        if (i == c->nseg)
            return false;
        size_t n = strcspn(p, "/");
        const char *seg = c->seg[i];
        bool ok = n == 1 && *p == '*';
        if (!ok && n == 6 && strncmp(p, "{kind}", 6) == 0)
            ok = mkt_find_kind(seg) != NULL;
        else if (!ok)
            ok = strlen(seg) == n && strncmp(p, seg, n) == 0;
        if (!ok)
            return false;
        p += n + (p[n] == '/');
    }
}

/* The route the caller may take for method and the request's path, or NULL; *refused is
 * then the first route whose path matches (NULL: none). */
static const route *find_route(const mkt_ctx *c, const char *method, const route **refused)
{
    *refused = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *r = &routes[i];
        if (strcmp(r->method, method) != 0 || !path_matches(c, r->path))
            continue;
        if (r->roles & BY(c->a->role))
            return r;
        if (!*refused)
            *refused = r;
    }
    return NULL;
}

/* Routes the request (method "GET" or "POST") and answers it. */
static void take_route(mkt_ctx *c, const char *method)
{
    const route *refused, *r = find_route(c, method, &refused);
    if (!r && refused)
        mkt_fail(c, refused->status, refused->status == 403 ? "forbidden" : "not_found", NULL, NULL,
                 "%s", refused->refusal);
    else if (!r)
        mkt_fail(c, 404, "not_found", NULL, NULL, NO_ENDPOINT);
    else if (r->trading && c->a->role == ROLE_AGENT && mkt_fleet_halted(c->m))
        mkt_fail(c, 409, "fleet_halted", NULL, NULL, "the fleet is halted");
    else if (r->trading && c->a->role == ROLE_AGENT && c->agent_paused)
        mkt_fail(c, 403, "agent_paused", NULL, NULL, "agent %s is paused", c->a->agent_id);
    else
        r->handler(c);
}

/* Routes a POST inside its transaction: an agent must exist (its pause is read once). */
static void route_post(mkt_ctx *c)
{
    if (c->a->role == ROLE_AGENT) {
        json_t *agent = mkt_get(c->m, "agent", c->a->agent_id);
        const char *status = agent ? mkt_str(agent, "status") : NULL;
        c->agent_paused = status && strcmp(status, "paused") == 0;
        json_decref(agent);
        if (!status) {
            mkt_fail(c, 401, "unauthorized", NULL, NULL, "unknown agent");
            return;
        }
    }
    take_route(c, "POST");
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

/* The fingerprint of a request (its path and body) as 64 hex digits into fp. */
static void fingerprint(const market_request *rq, char fp[65])
{
    unsigned char d[32] = {0};
    mkt_sha256(rq->path, strlen(rq->path) + 1, rq->body, rq->body ? rq->body_len : 0, d);
    for (int i = 0; i < 32; i++)
        snprintf(fp + 2 * i, 3, "%02x", d[i]);
}

/* Answers a POST from its stored answer when its Idempotency-Key was used before: true
 * when answered (a replay, or 422 for another request under that key). */
static bool replayed(mkt_ctx *c, const char *scope, const char *fp)
{
    int st = 0;
    char *stored = NULL;
    int found = mkt_idem_lookup(c->m, scope, c->rq->idempotency_key, fp, &st, &stored);
    if (found == 1) {
        json_t *b = json_loads(stored, 0, NULL);
        free(stored);
        c->m->st.replays++;
        mkt_ok(c, st, b ? b : json_object());
        c->status = -st; /* marks a replay for market_handle */
        return true;
    }
    if (found == 2) {
        mkt_fail(c, 422, "idempotency_mismatch", "Idempotency-Key", NULL,
                 "this Idempotency-Key was used with another request");
        return true;
    }
    return false;
}

/* Runs the POST (body parsed) in one transaction that also keeps its answer for its
 * Idempotency-Key; anything but a 2xx rolls it all back. */
static void post_in_transaction(mkt_ctx *c, const char *scope, const char *fp)
{
    market *m = c->m;
    bool durable = c->a->role != ROLE_AGENT ||
                   (mkt_str(c->body, "kind") && strcmp(mkt_str(c->body, "kind"), "accept") == 0);
    double t0 = mono_s();
    if (mkt_begin(m, durable) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "database busy");
        return;
    }
    /* several instances: another may have answered this key since the look before the
     * transaction (this one waited for its commit on the counter row: db.c) */
    if (m->shared && replayed(c, scope, fp)) {
        mkt_rollback(m);
        return;
    }
    route_post(c);
    if (c->status < 200 || c->status >= 300) {
        mkt_rollback(m);
        return;
    }
    char *text = json_dumps(c->replay ? c->replay : c->answer, JSON_COMPACT);
    if (!text || mkt_idem_store(m, scope, c->rq->idempotency_key, fp, c->status, text) != 0 ||
        mkt_commit(m) != 0) {
        mkt_rollback(m);
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not commit the change");
    } else if (c->a->role == ROLE_SUPERVISOR) {
        m->st.decisions++;
        m->st.decision_seconds += mono_s() - t0;
    }
    free(text);
}

/* True (and the answer set) when the POST is bound to another market than this one: its
 * If-Epoch is not this market's epoch. Checked before anything else, the Idempotency-Key
 * too (the same key, ids and versions may exist in both markets); the answer names this
 * market's epoch. No If-Epoch: not bound, taken as before (docs/api.md, "Writing"). */
static bool epoch_mismatch(mkt_ctx *c)
{
    if (!c->rq->if_epoch || strcmp(c->rq->if_epoch, c->m->epoch) == 0)
        return false;
    mkt_fail(c, 412, "epoch_mismatch", "If-Epoch", NULL,
             "this server serves market %s, not the one the request was made for: nothing "
             "applied",
             c->m->epoch);
    json_object_set_new(c->answer, "epoch", json_string(c->m->epoch));
    return true;
}

/* Handles a POST: If-Epoch, Idempotency-Key, body, then the change in its transaction. */
static void handle_post(mkt_ctx *c)
{
    const market_request *rq = c->rq;
    if (epoch_mismatch(c))
        return;
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
    fingerprint(rq, fp);
    if (replayed(c, scope, fp))
        return;
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
    post_in_transaction(c, scope, fp);
    c->body = NULL;
    json_decref(body);
    json_decref(c->replay);
    c->replay = NULL;
}

/* A GET (or HEAD): routed at once. */
static void handle_get(mkt_ctx *c)
{
    take_route(c, "GET");
}

/* The methods, and who may use each at all. */
typedef struct method {
    const char *name;
    const char *route_as; /* the method of its routes */
    unsigned roles;       /* who may use it */
    const char *refusal;  /* the others' 403 */
    void (*handle)(mkt_ctx *c);
} method;

static const method methods[] = {
    {"GET", "GET", BY_SIGNED, NULL, handle_get},
    {"HEAD", "GET", BY_SIGNED, NULL, handle_get},
    {"POST", "POST", BY(ROLE_AGENT) | BY(ROLE_SUPERVISOR), "viewers cannot make changes",
     handle_post},
};

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

/* Answers the request (its path split): a route open to anyone at once (health), then
 * the token, the method and who may use it, and the method's handling. */
static void dispatch(mkt_ctx *c)
{
    const market_request *rq = c->rq;
    const method *mt = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(methods[i].name, rq->method) == 0)
            mt = &methods[i];
    const route *refused, *open = mt ? find_route(c, mt->route_as, &refused) : NULL;
    if (open && (open->roles & BY(ROLE_NONE)))
        open->handler(c);
    else if (c->a->role == ROLE_NONE)
        mkt_fail(c, 401, "unauthorized", NULL, NULL, "a valid bearer token is required");
    else if (!mt)
        mkt_fail(c, 405, "bad_request", NULL, NULL, "method %s not allowed", rq->method);
    else if (!(mt->roles & BY(c->a->role)))
        mkt_fail(c, 403, "forbidden", NULL, NULL, "%s", mt->refusal);
    else
        mt->handle(c);
}

/* The route of a read served on the reader, without the market's lock, or NULL: a
 * list's page (GET or HEAD /v1/{kind}: lists.c, the route "{kind}" above, open to any
 * token) or the audit chain (audit.c, for the roles its routes name), when the market
 * has a reader to read it with. */
static const route *reader_route(mkt_ctx *c)
{
    const market_request *rq = c->rq;
    const route *refused, *r = NULL;
    if (c->m->rdb && c->a->role != ROLE_NONE && rq->path && rq->method &&
        (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0) &&
        split_path(c, rq->path))
        r = find_route(c, "GET", &refused);
    return r && (r->handler == lists_get || r->handler == audit_get || r->handler == audit_get_head)
               ? r
               : NULL;
}

/* Answers the request with the market's lock held (everything but a list's page). */
static void handle_locked(mkt_ctx *c, market_response *rs)
{
    market *m = c->m;
    const market_request *rq = c->rq;
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    m->st.requests++;
    /* several instances: the seq another may have moved, and a database that answers
     * (PostgreSQL restarting: 503 until marketd has connected again; market.c) */
    if (mkt_seq_refresh(m) != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "the database is unavailable: try again");
    else if (!rq->path || !split_path(c, rq->path))
        mkt_fail(c, 404, "not_found", NULL, NULL, "no such endpoint");
    else
        dispatch(c);
    /* a refusal made while the database failed under the request (a token or an agent
     * not found because nothing could be read) is no answer: 503 as well */
    if (m->shared && c->status >= 400 && c->status != 503 && mkt_seq_refresh(m) != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "the database is unavailable: try again");
    rs->replayed = c->status < 0;
    rs->retry_after = c->status == 503 ? 1 : 0; /* the database's failures pass */
    rs->status = c->status < 0 ? -c->status : c->status;
    if (rs->status >= 400)
        m->st.errors++;
    if (rs->status == 409 || rs->status == 412)
        m->st.conflicts++;
    pthread_mutex_unlock(&m->mu);
}

void market_handle(market *m, const market_actor *a, const market_request *rq, market_response *rs)
{
    mkt_ctx c = {.m = m, .a = a, .rq = rq, .db = m->db};
    if (mkt_rate_refuse(m, a, rs))
        return; /* before the lock: a flooding agent slows no one else */
    if (policy_backtest_take(m, a, rq, rs))
        return; /* thousands of purchases read without the lock (marketd/policy_backtest.c) */
    if (stats_take(m, a, rq, rs)) /* the agents' scorecards, likewise (marketd/stats.c) */
        return;
    const route *read = reader_route(&c);
    if (read) { /* a page of a list, on the reader: no writer waits for it */
        pthread_mutex_lock(&m->rmu);
        c.db = m->rdb;
        read->handler(&c);
        pthread_mutex_unlock(&m->rmu);
        __atomic_add_fetch(&m->st.reads, 1, __ATOMIC_RELAXED);
        if (c.status >= 400)
            __atomic_add_fetch(&m->st.read_errors, 1, __ATOMIC_RELAXED);
        rs->replayed = false;
        rs->retry_after = 0;
        rs->status = c.status;
    } else {
        handle_locked(&c, rs);
    }
    rs->body = c.text ? c.text : c.answer ? json_dumps(c.answer, JSON_COMPACT) : NULL;
    json_decref(c.answer);
    if (!rs->body) {
        rs->status = 500;
        rs->body = strdup("{\"error\":\"unavailable\",\"message\":\"out of memory\"}");
    }
}
