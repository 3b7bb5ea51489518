/* policy_backtest.c: POST /v1/policies/backtest, a candidate set of policies replayed
 * over the market's recent purchases before it is enabled (docs/api.md, "Policies").
 *
 * The set is the whole set as it would be (a new policy, an edit, a reorder, a disable),
 * evaluated by the same policy_order() and policy_matches() as a live purchase, on each
 * of the newest `limit` purchases with its flags as they were; a purchase no policy
 * decides gets today's rule (no flags and a total at most the buyer's
 * approval_threshold_minor, as the buyer's limits are now). The hour windows count the
 * purchases replayed and, before the oldest of them, each buyer's purchases of the hour
 * before it (at most BACKTEST_HISTORY in all), as the live windows do. The answer compares that
 * with what happened to each purchase (decided automatically, by a policy or the threshold, or left
 * to a person) and lists every purchase the set would have approved that a person vetoed, capped or
 * refunded, or that the simulation injected a fault into (GET /v1/sim/faults).
 *
 * It runs without the market's lock: the lock is held only to open a read-only snapshot
 * (store_ops.reader_open) and read the agents; the purchases and faults are read from
 * the snapshot while the market goes on. A database that cannot have a second
 * connection (":memory:") is read under the lock instead.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/money.h"

#define BACKTEST_DEFAULT  10000
#define BACKTEST_MAX      100000
#define BACKTEST_POLICIES 100
#define BACKTEST_BODY_MAX (64 * 1024)
#define BACKTEST_LIST_MAX 1000 /* purchases listed in approved_but */
#define BACKTEST_HOUR_MS  3600000
#define BACKTEST_HISTORY  1000000 /* earlier purchases read for the hour windows */

/* An earlier purchase, counted in the hour windows only. */
typedef struct bt_past {
    const char *buyer; /* borrowed from a purchase of the set */
    int64_t at, total, seq;
} bt_past;

/* What was read for a backtest. */
typedef struct bt_data {
    json_t *agents;    /* id -> agent */
    json_t *faults;    /* purchase id -> the fault's kind */
    json_t *purchases; /* oldest first */
    int64_t first_ord; /* the order of the oldest */
    bool windows;      /* the set has an hour condition: read past */
    bt_past *past;     /* the buyers' purchases in the hour before the oldest */
    size_t npast, cap;
    const char *buyer; /* the buyer being read */
} bt_data;

static int add_agent(void *ud, const char *json, int64_t n)
{
    (void)n;
    json_t *a = json ? json_loads(json, 0, NULL) : NULL;
    if (mkt_str(a, "id"))
        json_object_set(ud, mkt_str(a, "id"), a);
    json_decref(a);
    return 0;
}

static int add_fault(void *ud, const store_fault *f)
{
    if (f->purchase_id && !json_object_get(ud, f->purchase_id))
        json_object_set_new(ud, f->purchase_id, json_string(f->kind));
    return 0;
}

/* Appends a purchase of the set (and keeps the oldest's order). */
static int add_purchase(void *ud, const char *json, int64_t ord)
{
    bt_data *d = ud;
    if (json_array_size(d->purchases) == 0)
        d->first_ord = ord;
    return mkt_collect(d->purchases, json, ord);
}

/* Keeps one earlier purchase of d->buyer. */
static int add_past(void *ud, int64_t at, int64_t total)
{
    bt_data *d = ud;
    if (d->npast == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 1024;
        bt_past *p = realloc(d->past, cap * sizeof *p);
        if (!p)
            return -1;
        d->past = p;
        d->cap = cap;
    }
    d->past[d->npast] = (bt_past){d->buyer, at, total, -(int64_t)d->npast - 1};
    d->npast++;
    return 0;
}

/* Reads each buyer's purchases in the hour before the set's oldest (what its hour windows
 * count there), at most BACKTEST_HISTORY in all. 0 or -1. */
static int read_past(store *s, bt_data *d)
{
    json_t *p = json_array_get(d->purchases, 0), *seen = json_object();
    int64_t since = mkt_parse_time(mkt_str(p, "created_at")) - BACKTEST_HOUR_MS;
    size_t i;
    int rc = 0;
    json_array_foreach(d->purchases, i, p)
    {
        const char *b = mkt_str(p, "buyer_id");
        if (rc != 0 || !b || json_object_get(seen, b))
            continue;
        json_object_set_new(seen, b, json_true());
        d->buyer = b;
        int left = (int)(BACKTEST_HISTORY - d->npast);
        if (left > 0 && STORE(s, purchases_history, b, d->first_ord, since, left, add_past, d) < 0)
            rc = -1;
    }
    json_decref(seen);
    return rc;
}

/* Reads the purchases, the hour before them and the faults from s. 0 or -1. */
static int read_rest(store *s, bt_data *d, int limit)
{
    if (STORE(s, purchases_recent, limit, add_purchase, d) < 0 ||
        STORE(s, faults_each, add_fault, d->faults) < 0)
        return -1;
    return d->windows && json_array_size(d->purchases) ? read_past(s, d) : 0;
}

/* Reads what a backtest needs, the purchases without the market's lock. 0 or -1. */
static int bt_read(market *m, bt_data *d, int limit)
{
    /* (d->windows is set by the caller) */
    d->agents = json_object();
    d->faults = json_object();
    d->purchases = json_array();
    pthread_mutex_lock(&m->mu);
    store *r = m->db->ops->reader_open(m->db);
    int rc = STORE(r ? r : m->db, objects_each, "agent", add_agent, d->agents) < 0 ? -1 : 0;
    if (!r && rc == 0)
        rc = read_rest(m->db, d, limit);
    pthread_mutex_unlock(&m->mu);
    if (r) {
        if (rc == 0)
            rc = read_rest(r, d, limit);
        r->ops->reader_close(r);
    }
    return rc;
}

/* ---- the replay ---- */

/* One purchase replayed (p), or an earlier one counted in the windows (p NULL). */
typedef struct bt_row {
    json_t *p;
    const char *buyer;
    int64_t at, total, seq; /* seq: the order of purchases made at the same time */
    int64_t hour_count, hour_sum;
} bt_row;

static int cmp_rows(const void *a, const void *b)
{
    const bt_row *x = *(bt_row *const *)a, *y = *(bt_row *const *)b;
    int c = strcmp(x->buyer, y->buyer);
    if (c)
        return c;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Each row's hour window: the same buyer's purchases of the previous 60 minutes. */
static void windows(bt_row *rows, size_t n)
{
    bt_row **by = malloc((n ? n : 1) * sizeof *by);
    if (!by)
        return;
    for (size_t i = 0; i < n; i++)
        by[i] = &rows[i];
    qsort(by, n, sizeof *by, cmp_rows);
    size_t left = 0;
    int64_t sum = 0;
    for (size_t j = 0; j < n; j++) {
        if (j > 0 && strcmp(by[j]->buyer, by[j - 1]->buyer) != 0) {
            left = j;
            sum = 0;
        }
        while (left < j && by[left]->at < by[j]->at - BACKTEST_HOUR_MS)
            sum -= by[left++]->total;
        by[j]->hour_count = (int64_t)(j - left);
        by[j]->hour_sum = sum;
        sum += by[j]->total;
    }
    free(by);
}

/* What happened to p: "approve" (a policy or the threshold approved it), "veto" (a
 * policy vetoed it) or "review" (it was left to a person, or still is). */
static const char *actual(json_t *p)
{
    json_t *pol = json_object_get(p, "policy");
    if (json_is_object(pol) && mkt_str(pol, "action"))
        return mkt_str(pol, "action");
    json_t *dec = json_object_get(p, "decision");
    const char *st = mkt_str(p, "status");
    if (!json_is_object(dec))
        return st && !strcmp(st, "pending_approval") ? "review" : "approve";
    return "review";
}

/* What a person (or the simulation) said about p that an approval would have
 * overridden: "vetoed", "capped", "refunded", or NULL. */
static const char *overridden(json_t *p)
{
    const char *st = mkt_str(p, "status");
    json_t *dec = json_object_get(p, "decision");
    const char *by = mkt_str(dec, "by"), *act = mkt_str(dec, "action");
    bool person = by && strncmp(by, "policy:", 7) != 0 && strcmp(by, "market") != 0;
    if (st && !strcmp(st, "refunded"))
        return "refunded";
    if (person && act && (!strcmp(act, "veto") || !strcmp(act, "cap")))
        return !strcmp(act, "veto") ? "vetoed" : "capped";
    return NULL;
}

/* Adds p (its total in its currency) to outcome out[action]. */
static void tally(json_t *out, const char *action, json_t *p)
{
    json_t *o = json_object_get(out, action);
    json_t *totals = json_object_get(o, "totals");
    const char *cur = mkt_str(p, "currency");
    int64_t t = mkt_int(totals, cur ? cur : "?"), sum;
    if (!money_add(t, mkt_int(p, "total_minor"), &sum))
        sum = MONEY_MAX_MINOR;
    json_object_set_new(totals, cur ? cur : "?", json_integer(sum));
    json_object_set_new(o, "count", json_integer(mkt_int(o, "count") + 1));
}

/* The candidate set's verdict on row r: the first live policy that matches (its index
 * in set into *which), or -1 and today's rule. Shadow matches are counted in shadow[]. */
static const char *verdict(json_t *set, bt_row *r, json_t *agents, int64_t *hits, int64_t *shadow,
                           size_t *which)
{
    json_t *buyer = json_object_get(agents, r->buyer);
    policy_facts f = {.p = r->p,
                      .principal = mkt_str(buyer, "principal"),
                      .category = mkt_str(r->p, "category"),
                      .have_window = true,
                      .hour_count = r->hour_count,
                      .hour_sum = r->hour_sum};
    const char *action = NULL;
    size_t i;
    json_t *pol;
    json_array_foreach(set, i, pol)
    {
        bool live = !strcmp(mkt_str(pol, "mode"), "live");
        if ((live && action) || !policy_matches(pol, &f))
            continue;
        if (live) {
            action = mkt_str(pol, "action");
            *which = i;
            hits[i]++;
        } else {
            shadow[i]++;
        }
    }
    if (action)
        return action;
    *which = (size_t)-1;
    int64_t threshold = mkt_int(json_object_get(buyer, "limits"), "approval_threshold_minor");
    return json_array_size(json_object_get(r->p, "flags")) == 0 &&
                   mkt_int(r->p, "total_minor") <= threshold
               ? "approve"
               : "review";
}

/* Lists purchase r (that set would approve) when a person overrode it or it carried
 * a fault. */
static void note_approved(json_t *ans, json_t *set, size_t which, bt_row *r, json_t *faults)
{
    const char *why = overridden(r->p);
    const char *fault = json_string_value(json_object_get(faults, mkt_str(r->p, "id")));
    if (!why && !fault)
        return;
    json_t *list = json_object_get(ans, "approved_but");
    if (json_array_size(list) >= BACKTEST_LIST_MAX) {
        json_object_set_new(ans, "approved_but_more",
                            json_integer(mkt_int(ans, "approved_but_more") + 1));
        return;
    }
    json_t *pol = json_array_get(set, which); /* NULL: the threshold */
    json_array_append_new(
        list, json_pack("{ss ss sI ss so so so}", "purchase_id", mkt_str(r->p, "id"), "buyer_id",
                        r->buyer, "total_minor", (json_int_t)mkt_int(r->p, "total_minor"),
                        "currency", mkt_str(r->p, "currency"), "by",
                        pol ? json_string(mkt_str(pol, "name")) : json_string("threshold"),
                        "outcome", why ? json_string(why) : json_null(), "fault",
                        fault ? json_string(fault) : json_null()));
}

/* Replays set over d's purchases into the answer ans. */
static void replay(json_t *set, bt_data *d, json_t *ans)
{
    size_t n = json_array_size(d->purchases), np = json_array_size(set);
    bt_row *rows = calloc(n + d->npast + 1, sizeof *rows);
    int64_t *hits = calloc(np ? np : 1, sizeof *hits),
            *shadow = calloc(np ? np : 1, sizeof *shadow);
    if (!rows || !hits || !shadow)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(d->purchases, i);
        const char *b = mkt_str(p, "buyer_id");
        rows[i] = (bt_row){p,
                           b ? b : "",
                           mkt_parse_time(mkt_str(p, "created_at")),
                           mkt_int(p, "total_minor"),
                           (int64_t)i,
                           0,
                           0};
    }
    for (size_t i = 0; i < d->npast; i++) {
        const bt_past *q = &d->past[i];
        rows[n + i] = (bt_row){NULL, q->buyer, q->at, q->total, q->seq, 0, 0};
    }
    windows(rows, n + d->npast);
    int64_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        size_t which;
        const char *v = verdict(set, &rows[i], d->agents, hits, shadow, &which);
        tally(ans, v, rows[i].p);
        differ += strcmp(v, actual(rows[i].p)) != 0;
        if (!strcmp(v, "approve"))
            note_approved(ans, set, which, &rows[i], d->faults);
    }
    json_object_set_new(ans, "differ", json_integer(differ));
    json_t *per = json_array(), *pol;
    size_t i;
    json_array_foreach(set, i, pol)
    {
        json_array_append_new(per,
                              json_pack("{sO sO sI sI}", "id", json_object_get(pol, "id"), "name",
                                        json_object_get(pol, "name"), "hits", (json_int_t)hits[i],
                                        "shadow_hits", (json_int_t)shadow[i]));
    }
    json_object_set_new(ans, "policies", per);
out:
    free(rows);
    free(hits);
    free(shadow);
}

/* ---- the request ---- */

/* The candidate set of the body: each policy parsed as POST /v1/policies parses it
 * (enabled unless it says not), the whole set in evaluation order (owned), or NULL
 * with the answer set (a field named "policies.N.<field>"). */
static json_t *candidate_set(mkt_ctx *c, json_t *body)
{
    json_t *list = json_object_get(body, "policies");
    if (!json_is_array(list) || json_array_size(list) > BACKTEST_POLICIES) {
        mkt_fail(c, 400, "bad_request", "policies", NULL, "policies must be a list of at most %d",
                 BACKTEST_POLICIES);
        return NULL;
    }
    json_t *defs = json_array(), *item;
    size_t i;
    json_array_foreach(list, i, item)
    {
        c->body = item;
        json_t *def = json_is_object(item) ? policy_parse(c) : NULL;
        c->body = body;
        if (!def) {
            char field[96];
            const char *f = c->answer ? mkt_str(c->answer, "field") : NULL;
            snprintf(field, sizeof field, "policies.%zu%s%s", i, f ? "." : "", f ? f : "");
            if (!c->answer)
                mkt_fail(c, 400, "bad_request", NULL, NULL, "a policy must be an object");
            char msg[700]; /* the message names the policy too, for a client without field */
            snprintf(msg, sizeof msg, "policies.%zu: %s", i, mkt_str(c->answer, "message"));
            json_object_set_new(c->answer, "message", json_string(msg));
            json_object_set_new(c->answer, "field", json_string(field));
            json_decref(defs);
            return NULL;
        }
        if (!json_object_get(def, "enabled"))
            json_object_set_new(def, "enabled", json_true());
        json_t *id = json_object_get(item, "id");
        json_object_set(def, "id", json_is_string(id) ? id : json_null());
        json_array_append_new(defs, def);
    }
    json_t *set = policy_order(defs);
    json_decref(defs);
    return set;
}

/* Milliseconds of clock id (CLOCK_MONOTONIC; CLOCK_THREAD_CPUTIME_ID: this thread's CPU,
 * what the replay cost whatever else the machine runs). */
static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* True when a policy of set has an hour condition (then the hour before the oldest
 * purchase replayed is read too). */
static bool hour_conditions(json_t *set)
{
    size_t i;
    json_t *pol;
    json_array_foreach(set, i, pol)
    {
        json_t *m = json_object_get(pol, "match");
        if (json_object_get(m, "max_per_hour") || json_object_get(m, "max_spend_per_hour_minor"))
            return true;
    }
    return false;
}

/* Answers the backtest of c->rq. */
static void backtest(mkt_ctx *c)
{
    const market_request *rq = c->rq;
    double t0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    if (rq->body_len > BACKTEST_BODY_MAX) {
        mkt_fail(c, 413, "too_large", NULL, NULL, "request body over 64 KiB");
        return;
    }
    json_t *body =
        rq->body_len ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    int64_t limit = BACKTEST_DEFAULT;
    json_t *set = NULL;
    bt_data d = {0};
    c->body = body;
    if (!json_is_object(body))
        mkt_fail(c, 400, "bad_request", NULL, NULL, "the body must be a JSON object");
    else if (mkt_body_int(c, "limit", 1, BACKTEST_MAX, &limit) >= 0 &&
             (set = candidate_set(c, body))) {
        d.windows = hour_conditions(set);
        if (bt_read(c->m, &d, (int)limit) != 0) {
            mkt_fail(c, 503, "unavailable", NULL, NULL, "could not read the purchases");
        } else {
            json_t *ans =
                json_pack("{sI sI s{sI s{}} s{sI s{}} s{sI s{}} s[] sI}", "limit",
                          (json_int_t)limit, "purchases", (json_int_t)json_array_size(d.purchases),
                          "approve", "count", (json_int_t)0, "totals", "veto", "count",
                          (json_int_t)0, "totals", "review", "count", (json_int_t)0, "totals",
                          "approved_but", "approved_but_more", (json_int_t)0);
            replay(set, &d, ans);
            json_object_set_new(ans, "elapsed_ms",
                                json_integer((json_int_t)(clock_ms(CLOCK_MONOTONIC) - t0)));
            json_object_set_new(ans, "cpu_ms",
                                json_integer((json_int_t)(clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0)));
            mkt_ok(c, 200, ans);
        }
    }
    c->body = NULL;
    json_decref(set);
    json_decref(d.agents);
    json_decref(d.faults);
    json_decref(d.purchases);
    free(d.past);
    json_decref(body);
}

bool policy_backtest_take(market *m, const market_actor *a, const market_request *rq,
                          market_response *rs)
{
    if (!rq->path || !rq->method || strcmp(rq->method, "POST") != 0 ||
        strcmp(rq->path, "/v1/policies/backtest") != 0)
        return false;
    mkt_ctx c = {.m = m, .a = a, .rq = rq};
    if (a->role == ROLE_NONE)
        mkt_fail(&c, 401, "unauthorized", NULL, NULL, "a valid bearer token is required");
    else if (a->role != ROLE_SUPERVISOR)
        mkt_fail(&c, 403, "forbidden", NULL, NULL, "%s",
                 a->role == ROLE_AGENT ? "agents may use only the agent endpoints"
                                       : "viewers cannot make changes");
    else
        backtest(&c);
    pthread_mutex_lock(&m->mu);
    m->st.requests++;
    m->st.errors += c.status >= 400;
    pthread_mutex_unlock(&m->mu);
    *rs = (market_response){.status = c.status};
    rs->body = c.answer ? json_dumps(c.answer, JSON_COMPACT) : NULL;
    json_decref(c.answer);
    if (!rs->body) {
        rs->status = 500;
        rs->body = strdup("{\"error\":\"unavailable\",\"message\":\"out of memory\"}");
    }
    return true;
}
