/* presence.c: who is watching the market, and the unattended switch (issue 16).
 *
 * A supervisor is present while one of its consoles is connected (an event stream opened
 * with GET /v1/events?console=1: marketd/http.c calls market_console when it opens and
 * when it ends) and it has had keyboard input within the presence window (600 s unless
 * --presence-window; the console reports input with POST /v1/presence). A stream without
 * console=1 (`dealdesk tail` into a file) is never presence. A viewer's console counts
 * among the viewers (a viewer decides nothing: its input is not asked for). A change of
 * who is present, or of how many consoles and viewers, is a presence.updated event whose
 * data is GET /v1/presence's answer.
 *
 * The unattended switch (--unattended SECONDS[:restrict|halt]): once no supervisor has
 * been present for SECONDS, `restrict` stops policies and the approval threshold from
 * approving (trade.c asks presence_restrict) and refuses new negotiations (409
 * unattended), until a supervisor is present again; `halt` fires the fleet halt through
 * POST /v1/fleet/halt as the operator "market", once per unattended spell (a person
 * resumes it). The Fleet object carries {after_s, action, since|null}, so the state
 * survives a restart (the fleet is stored in meta).
 *
 * One process (SQLite) keeps who is present in memory (one entry per operator of the
 * tokens file). Several instances on one database (PostgreSQL, docs/scaling.md) share
 * it there (store.h's presence_* operations, marketd/store_pg_multi.c): each instance
 * writes its own consoles and the input reported to it, with the database's clock, and
 * beats once a second; everyone reads the union, in which the consoles of an instance
 * unseen for PRESENCE_TTL_MS no longer count. The switch, its stored state and the
 * presence.updated events are the leading instance's alone (mkt_leader, market.c);
 * the others follow the stored state (Fleet.unattended) to restrict. Every function
 * here runs with the market's lock held unless it says otherwise.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Several instances: one whose heartbeat is older than this is dead (its consoles stop
 * counting); each beats every PRESENCE_BEAT_MS. */
#define PRESENCE_TTL_MS  5000
#define PRESENCE_BEAT_MS 1000

/* One operator's presence (by its index in m->ops). */
typedef struct pres_op {
    int own;            /* its console streams connected to this instance */
    int64_t own_input;  /* ms of its last keyboard input reported here, 0 never */
    int consoles;       /* its connected consoles (on every live instance) */
    int64_t last_input; /* ms of its last reported keyboard input (anywhere), 0 never */
    int64_t since;      /* ms it became present, 0 while it is not */
} pres_op;

struct mkt_presence {
    pres_op ops[MKT_MAX_OPERATORS];
    int64_t window_ms;    /* keyboard input counts for this long */
    int64_t after_ms;     /* the switch acts after this long unwatched; 0: off */
    bool halt;            /* its action: halt (else restrict) */
    int64_t absent_since; /* ms since when no supervisor is present; 0 while one is */
    int64_t since;        /* the unattended state's since (Fleet.unattended), 0: attended */
    bool halt_done;       /* the halt of this unattended spell was fired (or not needed) */
    char *shown;          /* what the last presence.updated said (its key), owned */
    char instance[128];   /* several instances: this one's name in the database */
    int64_t beat_at;      /* its last heartbeat (host ms) */
    bool led;             /* it led at the last refresh */
};

/* True when presence is shared with other instances (in the database). */
static bool shared(const market *m)
{
    return m->db->ops->presence_each != NULL;
}

/* The index of operator name in m->ops, or -1. */
static int op_index(const market *m, const char *name)
{
    for (int i = 0; i < m->nops; i++)
        if (strcmp(m->ops[i].name, name) == 0)
            return i;
    return -1;
}

/* presence_each's callback: one operator's consoles and input across the instances. */
static int view_row(void *ud, const char *op, int64_t consoles, int64_t last_input)
{
    market *m = ud;
    int i = op_index(m, op);
    if (i >= 0) {
        m->pres->ops[i].consoles = (int)consoles;
        m->pres->ops[i].last_input = last_input;
    }
    return 0;
}

/* Brings the consoles and input counted up to date: this process's own, or on a shared
 * engine the union of every live instance's rows, m->now then being the database's
 * clock (inside a transaction it is already). 0 or -1. */
static int load_view(market *m)
{
    struct mkt_presence *p = m->pres;
    for (int i = 0; i < m->nops; i++) {
        p->ops[i].consoles = shared(m) ? 0 : p->ops[i].own;
        p->ops[i].last_input = shared(m) ? 0 : p->ops[i].own_input;
    }
    if (!shared(m))
        return 0;
    int64_t now = 0;
    if (m->db->ops->presence_each(m->db, PRESENCE_TTL_MS, &now, view_row, m) < 0)
        return -1;
    if (!m->in_tx)
        m->now = now;
    return 0;
}

/* Writes operator i's consoles here and (idle_ms >= 0) its input idle_ms ago to the
 * database, on a shared engine. 0 or -1. */
static int put_own(market *m, int i, int64_t idle_ms)
{
    if (!shared(m))
        return 0;
    return m->db->ops->presence_put(m->db, m->pres->instance, m->ops[i].name, m->pres->ops[i].own,
                                    idle_ms);
}

/* True when operator i is present at now. */
static bool present(const market *m, int i, int64_t now)
{
    const pres_op *o = &m->pres->ops[i];
    return m->ops[i].role == ROLE_SUPERVISOR && o->consoles > 0 && o->last_input > 0 &&
           now - o->last_input < m->pres->window_ms;
}

/* GET /v1/presence's answer (owned): the present supervisors and the viewers watching.
 * key (when not NULL) gets what a presence.updated event is about: names, consoles and
 * since, not last_seen, which moves with every report (owned text). */
static json_t *presence_doc(market *m, char **key)
{
    json_t *sups = json_array();
    int viewers = 0;
    for (int i = 0; i < m->nops; i++) {
        const pres_op *o = &m->pres->ops[i];
        if (m->ops[i].role == ROLE_VIEWER && o->consoles > 0)
            viewers++;
        if (!o->since)
            continue;
        json_array_append_new(sups, json_pack("{ss si so so}", "name", m->ops[i].name, "consoles",
                                              o->consoles, "since", mkt_time_json(o->since),
                                              "last_seen", mkt_time_json(o->last_input)));
    }
    json_t *doc = json_pack("{so si}", "supervisors", sups, "viewers", viewers);
    if (key) {
        size_t i;
        json_t *s;
        json_t *k = json_pack("{si}", "viewers", viewers);
        json_array_foreach(sups, i, s)
        {
            json_object_set_new(
                k, mkt_str(s, "name"),
                json_pack("[OO]", json_object_get(s, "consoles"), json_object_get(s, "since")));
        }
        *key = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(k);
    }
    return doc;
}

/* Runs change(m) in a transaction of its own, unless one is open (a POST's). 0 or -1. */
static int in_tx(market *m, bool durable, int (*change)(market *m))
{
    if (m->in_tx)
        return change(m);
    if (mkt_begin(m, durable) != 0)
        return -1;
    if (change(m) != 0 || mkt_commit(m) != 0) {
        mkt_rollback(m);
        return -1;
    }
    return 0;
}

/* Emits presence.updated when who is present (or the viewers) changed since the last,
 * in the open transaction or one of its own (none when nothing changed: the tick asks
 * ten times a second). 0 or -1. */
static int emit_if_changed(market *m)
{
    char *key = NULL;
    json_t *doc = presence_doc(m, &key);
    int rc = 0;
    if (key && (!m->pres->shown || strcmp(key, m->pres->shown) != 0)) {
        bool own = !m->in_tx;
        rc = own ? mkt_begin(m, false) : 0;
        if (rc == 0)
            rc = mkt_emit(m, "presence.updated", doc);
        if (own && rc == 0)
            rc = mkt_commit(m);
        if (own && rc != 0)
            mkt_rollback(m);
        if (rc == 0) {
            free(m->pres->shown);
            m->pres->shown = key;
            key = NULL;
        }
    }
    free(key);
    json_decref(doc);
    return rc;
}

/* The Fleet object's unattended member as the switch is now: null when it is off. */
static json_t *unattended_json(const struct mkt_presence *p)
{
    if (!p->after_ms)
        return json_null();
    return json_pack("{sI ss so}", "after_s", (json_int_t)(p->after_ms / 1000), "action",
                     p->halt ? "halt" : "restrict", "since",
                     p->since ? mkt_time_json(p->since) : json_null());
}

/* Stores the fleet with the switch's state as it is now (when it differs). 0 or -1. */
static int store_unattended(market *m)
{
    json_t *fleet = mkt_fleet(m), *u = unattended_json(m->pres);
    int rc = 0;
    if (!json_equal(json_object_get(fleet, "unattended"), u) &&
        !(json_is_null(u) && !json_object_get(fleet, "unattended"))) {
        json_object_set(fleet, "unattended", u);
        rc = mkt_set_fleet(m, fleet);
        /* a transition is escalated in the same transaction (marketd/webhook.c) */
        if (rc == 0 && !json_is_null(u))
            rc = webhook_enqueue(m, "market.unattended", u);
    }
    json_decref(u);
    json_decref(fleet);
    return rc;
}

/* The unattended state's since as stored in the fleet (0: attended); an instance that
 * does not run the switch follows it, one that starts to takes it over. */
static void since_from_fleet(market *m)
{
    struct mkt_presence *p = m->pres;
    json_t *fleet = mkt_fleet(m);
    json_t *u = json_object_get(fleet, "unattended");
    const char *at = json_is_object(u) ? mkt_str(u, "since") : NULL;
    int64_t since = p->after_ms && at ? mkt_parse_time(at) : 0;
    since = since > 0 ? since : 0;
    if (since != p->since) {
        p->since = since;
        p->halt_done = since != 0; /* fired (or being fired) by whoever set it */
    }
    json_decref(fleet);
}

/* True when this instance runs the switch and emits presence.updated: the only one, or
 * the leader of several. */
static bool leads(market *m)
{
    return !shared(m) || mkt_leader(m);
}

/* Brings who is present up to date at m->now (since of each, absent_since); on the
 * instance that runs the switch, lifts the unattended state when a supervisor is
 * present and emits what changed. 0 or -1. */
static int refresh(market *m)
{
    struct mkt_presence *p = m->pres;
    if (load_view(m) != 0)
        return -1;
    bool lead = leads(m);
    if (!lead || !p->led)
        since_from_fleet(m);
    p->led = lead;
    bool any = false;
    for (int i = 0; i < m->nops; i++) {
        bool now_present = present(m, i, m->now);
        if (now_present && !p->ops[i].since)
            p->ops[i].since = m->now;
        else if (!now_present)
            p->ops[i].since = 0;
        any = any || now_present;
    }
    if (!any && !p->absent_since)
        p->absent_since = m->now;
    if (any)
        p->absent_since = 0;
    if (!lead)
        return 0;
    int rc = 0;
    if (any) {
        p->halt_done = false;
        if (p->since) {
            int64_t was = p->since;
            p->since = 0;
            if ((rc = in_tx(m, true, store_unattended)) != 0)
                p->since = was;
        }
    }
    return rc == 0 ? emit_if_changed(m) : rc;
}

int presence_open(market *m, const market_options *opt, char *err, size_t errsz)
{
    struct mkt_presence *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    m->pres = p;
    p->window_ms = (int64_t)(opt->presence_window_s > 0 ? opt->presence_window_s : 600) * 1000;
    p->after_ms = (int64_t)(opt->unattended_s > 0 ? opt->unattended_s : 0) * 1000;
    p->halt = opt->unattended_halt;
    m->now = p->absent_since = mkt_now_ms();
    /* an unattended market that restarts is still unattended (with the switch on) */
    since_from_fleet(m);
    p->led = !shared(m);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(p->instance, sizeof p->instance, "%s/%ld/%lld", host, (long)getpid(),
             (long long)m->now);
    json_decref(presence_doc(m, &p->shown)); /* nobody yet: no event for it */
    if (in_tx(m, true, store_unattended) != 0) {
        snprintf(err, errsz, "cannot store the unattended state");
        return -1;
    }
    return 0;
}

void presence_close(market *m)
{
    if (!m->pres)
        return;
    free(m->pres->shown);
    free(m->pres);
    m->pres = NULL;
}

void market_console(market *m, const market_actor *a, int delta)
{
    pthread_mutex_lock(&m->mu);
    int i = op_index(m, a->name);
    if (i >= 0 && m->pres) {
        m->now = mkt_now_ms();
        m->pres->ops[i].own += delta;
        if (m->pres->ops[i].own < 0)
            m->pres->ops[i].own = 0;
        if (put_own(m, i, -1) != 0 || refresh(m) != 0)
            fprintf(stderr, "marketd: cannot record presence: %s\n", m->db->ops->error(m->db));
    }
    pthread_mutex_unlock(&m->mu);
}

bool presence_get(mkt_ctx *c)
{
    if (shared(c->m) && refresh(c->m) != 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not read the presence");
    return mkt_ok(c, 200, presence_doc(c->m, NULL));
}

bool presence_post(mkt_ctx *c)
{
    market *m = c->m;
    int64_t idle = 0;
    int i = op_index(m, c->a->name);
    if (i < 0)
        return mkt_fail(c, 403, "forbidden", NULL, NULL,
                        "only an operator of the tokens file reports presence");
    if (mkt_body_int(c, "idle_s", 0, 86400 * 365, &idle) < 0)
        return false;
    int64_t at = m->now - idle * 1000;
    if (at > m->pres->ops[i].own_input)
        m->pres->ops[i].own_input = at;
    if (put_own(m, i, idle * 1000) != 0 || refresh(m) != 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the presence");
    return mkt_ok(c, 200, presence_doc(m, NULL));
}

/* The unattended state's since at m->now: set (and the fleet stored) once no supervisor
 * has been present for after_s. True when the halt is now due. */
static bool switch_due(market *m)
{
    struct mkt_presence *p = m->pres;
    if (!p->after_ms || !p->absent_since || m->now - p->absent_since < p->after_ms)
        return false;
    if (!p->since) {
        p->since = m->now;
        if (in_tx(m, true, store_unattended) != 0) {
            p->since = 0;
            return false;
        }
        fprintf(stderr, "marketd: unattended: no supervisor present for %llds: %s\n",
                (long long)(p->after_ms / 1000), p->halt ? "halting the fleet" : "restricting");
    }
    return p->halt && !p->halt_done;
}

/* Writes how long after_ms is in words ("10 min", "90 s") into out[24]. */
static const char *span_words(int64_t ms, char out[24])
{
    int64_t s = ms / 1000;
    if (s >= 60 && s % 60 == 0)
        snprintf(out, 24, "%lld min", (long long)(s / 60));
    else
        snprintf(out, 24, "%lld s", (long long)s);
    return out;
}

/* Fires the fleet halt as the operator "market", through the decision every halt takes
 * (marketd/decide.c: If-Match, holders, the Decision record). Without the lock. A fleet
 * already halted stays as it is. True when the halt is done (or was not needed). */
static bool fire_halt(market *m, int64_t since, int64_t after_ms, int64_t version)
{
    static const market_actor self = {.role = ROLE_SUPERVISOR, .name = "market"};
    char key[64], ifm[32], at[32], span[24], body[400];
    mkt_time_str(since, at);
    snprintf(key, sizeof key, "unattended-halt-%lld", (long long)since);
    snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)version);
    snprintf(body, sizeof body,
             "{\"reason\":\"unattended: no supervisor present for %s (no console with keyboard "
             "input since %.19sZ); a person must resume the fleet\"}",
             span_words(after_ms, span), at);
    market_request rq = {.method = "POST",
                         .path = "/v1/fleet/halt",
                         .body = body,
                         .body_len = strlen(body),
                         .idempotency_key = key,
                         .if_match = ifm};
    market_response rs = {0};
    market_handle(m, &self, &rq, &rs);
    bool done = rs.status == 200 || rs.status == 409; /* 409: already halted */
    if (!done)
        fprintf(stderr, "marketd: unattended: the halt failed: %d %s\n", rs.status,
                rs.body ? rs.body : "");
    free(rs.body);
    return done;
}

void presence_tick(market *m)
{
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    bool halt = false;
    int64_t since = 0, after = 0, version = 0;
    struct mkt_presence *p = m->pres;
    if (p && shared(m) && m->now - p->beat_at >= PRESENCE_BEAT_MS) {
        if (m->db->ops->presence_beat(m->db, p->instance) == 0)
            p->beat_at = m->now;
    }
    if (p && refresh(m) == 0) {
        halt = leads(m) && switch_due(m);
        since = m->pres->since;
        after = m->pres->after_ms;
        if (halt) {
            json_t *f = mkt_fleet(m);
            version = mkt_int(f, "version");
            json_decref(f);
        }
    }
    pthread_mutex_unlock(&m->mu);
    if (!halt)
        return;
    bool done = fire_halt(m, since, after, version);
    pthread_mutex_lock(&m->mu);
    if (m->pres->since == since)
        m->pres->halt_done = done;
    pthread_mutex_unlock(&m->mu);
}

bool presence_restricting(market *m)
{
    if (m->pres && !leads(m))
        since_from_fleet(m); /* the leader's state as stored, not as of the last tick */
    return m->pres && m->pres->after_ms && !m->pres->halt && m->pres->since;
}

bool presence_refuse_negotiation(mkt_ctx *c)
{
    if (!presence_restricting(c->m))
        return false;
    char at[32], span[24];
    mkt_time_str(c->m->pres->since, at);
    mkt_fail(c, 409, "unattended", NULL, NULL,
             "the market is unattended (no supervisor present for %s, since %.19sZ): no new "
             "negotiations until a supervisor is back",
             span_words(c->m->pres->after_ms, span), at);
    return true;
}

void presence_restrict(market *m, json_t *p, policy_verdict *v, bool *approve)
{
    if (!*approve || !presence_restricting(m))
        return;
    *approve = false;
    if (v->action && strcmp(v->action, "approve") == 0)
        v->action = "review"; /* its policy is still named in p.policy */
    json_object_set_new(p, "unattended", json_true());
}
