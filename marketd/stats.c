/* stats.c: GET /v1/stats/agents?window=..., the agents' scorecards (docs/api.md,
 * "Statistics"), for supervisors and viewers.
 *
 * The figures are computed in SQL by the store (store_ops.agent_stats,
 * marketd/store_sqlite_stats.c) over every purchase of the window, on a read-only snapshot
 * (store_ops.reader_open) and without the market's lock: the lock is held only to open
 * the snapshot and read the clock, as a backtest does (marketd/policy_backtest.c), so no
 * decision or trade waits for a scorecard. A database that cannot have a second
 * connection (":memory:") is read under the lock instead. Here the agents' names, roles
 * and currencies are added (read on the same snapshot) and each figure put under its
 * documented name.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATS_BUCKETS   24              /* spend_series: the window in 24 equal spans */
#define STATS_DEFAULT   "24h"           /* the window when none is given */
#define STATS_MAX_MIN   (3650LL * 1440) /* the longest window short of all: ten years */
#define STATS_MINUTE_MS 60000LL

/* The window's length in ms from its text: "all" (0), or a whole number of minutes,
 * hours, days or weeks ("15m", "1h", "24h", "7d", "4w"), at most ten years. -1 when it
 * is none of these. */
static int64_t window_ms(const char *w)
{
    if (strcmp(w, "all") == 0)
        return 0;
    size_t n = strlen(w);
    if (n < 2 || n > 8 || w[0] == '0')
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return -1;
        v = v * 10 + (w[i] - '0');
    }
    static const struct {
        char unit;
        int64_t minutes;
    } units[] = {{'m', 1}, {'h', 60}, {'d', 1440}, {'w', 10080}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (w[n - 1] == units[i].unit)
            return v * units[i].minutes <= STATS_MAX_MIN ? v * units[i].minutes * STATS_MINUTE_MS
                                                         : -1;
    return -1;
}

/* What the store gave: each agent's figures by id. */
static int add_figures(void *ud, const char *json, int64_t n)
{
    (void)n;
    json_t *f = json ? json_loads(json, 0, NULL) : NULL;
    if (mkt_str(f, "agent_id"))
        json_object_set(ud, mkt_str(f, "agent_id"), f);
    json_decref(f);
    return f ? 0 : -1;
}

/* One agent's scorecard: its own fields and its figures f (NULL: no purchase in the
 * window), the series made dense. Owned. */
static json_t *scorecard(json_t *agent, json_t *f)
{
    bool seller = mkt_str(agent, "role") && strcmp(mkt_str(agent, "role"), "seller") == 0;
    int64_t amount = f ? mkt_int(f, "amount_minor") : 0;
    json_t *series = json_array();
    int64_t cells[STATS_BUCKETS] = {0};
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(f, "series"), i, cell)
    {
        json_int_t k = json_integer_value(json_array_get(cell, 0));
        if (k >= 0 && k < STATS_BUCKETS)
            cells[k] += json_integer_value(json_array_get(cell, 1));
    }
    for (int k = 0; k < STATS_BUCKETS; k++)
        json_array_append_new(series, json_integer(cells[k]));
    json_t *o = json_pack(
        "{sO sO sO sI sI sI sO}", "agent_id", json_object_get(agent, "id"), "name",
        json_object_get(agent, "name"), "role", json_object_get(agent, "role"), "deals",
        (json_int_t)(f ? mkt_int(f, "deals") : 0), "spend_minor", (json_int_t)(seller ? 0 : amount),
        "revenue_minor", (json_int_t)(seller ? amount : 0), "currency",
        json_object_get(agent, "currency"));
    if (!o) {
        json_decref(series);
        return NULL;
    }
    static const char *const counts[] = {"vetoed", "capped", "expired", "refunded", "disputed"};
    json_t *bp = json_object_get(f, "median_vs_ref_bp");
    json_object_set_new(o, "median_vs_ref_bp", json_is_integer(bp) ? json_copy(bp) : json_null());
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        json_object_set_new(o, counts[k], json_integer(f ? mkt_int(f, counts[k]) : 0));
    json_t *flags = json_object_get(f, "flags");
    json_object_set_new(o, "flags", json_is_object(flags) ? json_copy(flags) : json_object());
    static const char *const medians[] = {"median_rounds", "median_time_to_deal_ms"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(f, medians[k]);
        json_object_set_new(o, medians[k], json_is_integer(v) ? json_copy(v) : json_null());
    }
    json_object_set_new(o, "spend_series", series);
    return o;
}

/* Reads the agents and their figures for q from s into *agents and *figures. 0 or -1. */
static int read_stats(store *s, store_stats_q *q, json_t *agents, json_t *figures)
{
    q->fn = add_figures;
    q->ud = figures;
    return STORE(s, objects_each, "agent", mkt_collect, agents) < 0 || s->ops->agent_stats(s, q) < 0
               ? -1
               : 0;
}

/* Answers GET /v1/stats/agents into c, reading without the market's lock. */
static void agent_stats(mkt_ctx *c)
{
    char w[16] = STATS_DEFAULT;
    if (mkt_query_get(c->rq->query, "window", w, sizeof w) && !w[0])
        snprintf(w, sizeof w, "%s", STATS_DEFAULT);
    int64_t len = window_ms(w);
    if (len < 0) {
        mkt_fail(c, 400, "bad_request", "window", NULL,
                 "window must be all, or a whole number of m, h, d or w (15m, 24h, 7d) up to "
                 "ten years");
        return;
    }
    market *m = c->m;
    json_t *agents = json_array(), *figures = json_object();
    pthread_mutex_lock(&m->mu);
    int64_t now = mkt_now_ms();
    store *r = m->db->ops->reader_open(m->db);
    store_stats_q q = {.since = len ? now - len : -1, .until = now + 1, .buckets = STATS_BUCKETS};
    int rc = r ? 0 : read_stats(m->db, &q, agents, figures);
    pthread_mutex_unlock(&m->mu);
    if (r) {
        rc = read_stats(r, &q, agents, figures);
        r->ops->reader_close(r);
    }
    if (rc != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not read the purchases");
    } else {
        json_t *out = json_array(), *a;
        size_t i;
        json_array_foreach(agents, i, a)
            json_array_append_new(out, scorecard(a, json_object_get(figures, mkt_str(a, "id"))));
        mkt_ok(c, 200,
               json_pack("{ss so so so}", "window", w, "from", mkt_time_json(q.since), "to",
                         mkt_time_json(now), "agents", out));
    }
    json_decref(agents);
    json_decref(figures);
}

bool stats_take(market *m, const market_actor *a, const market_request *rq, market_response *rs)
{
    if (!rq->path || !rq->method || strcmp(rq->path, "/v1/stats/agents") != 0 ||
        (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0))
        return false;
    mkt_ctx c = {.m = m, .a = a, .rq = rq};
    if (a->role == ROLE_NONE)
        mkt_fail(&c, 401, "unauthorized", NULL, NULL, "a valid bearer token is required");
    else if (a->role != ROLE_SUPERVISOR && a->role != ROLE_VIEWER)
        mkt_fail(&c, 403, "forbidden", NULL, NULL, "operators only");
    else
        agent_stats(&c);
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
