/* fleet.c: the simulated fleet's lifecycle, its thread and its pacing.
 *
 * One thread acts for every agent. It sleeps on a condition variable (monotonic
 * clock) until the next deal is due, an event arrives or it is told to stop, so
 * stopping is prompt and nothing spins. The market's events (operator decisions
 * among them) are queued by fleet_on_event() in the market's delivery thread
 * and read here; the fleet never calls market_handle() from that callback.
 *
 * Pacing: at --rate 1.0 agents "think" for seconds between messages, a few
 * threads are live at once, and a purchase needing approval appears every 10-20
 * s. The rate divides every thinking time and multiplies the number of live
 * threads; each clean agent stays under FL_PACE_MSGS offers a minute, so large
 * rates need large fleets.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "marketd/fleet_impl.h"

/* ---- the market's events ---- */

/* Which events the fleet reacts to. Most negotiation and purchase events are the
 * fleet's own doings, which it already knows from the answers; only the operator's
 * marks are queued (a decision, an expiry, a hold, a veto, a cap), which spares the
 * fleet's thread a JSON parse per message at high rates. Once a hold or a halt has
 * been seen, every negotiation event is queued, so that no release is missed. */
static bool wanted(fleet *f, const char *type, const char *json)
{
    if (strcmp(type, "agent.updated") == 0 || strcmp(type, "listing.updated") == 0)
        return true;
    if (strcmp(type, "fleet.updated") == 0) {
        f->watch_all = true;
        return true;
    }
    if (strcmp(type, "purchase.updated") == 0)
        return !strstr(json, "\"decision\":null") || strstr(json, "\"status\":\"expired\"") ||
               strstr(json, "\"status\":\"failed\"");
    if (strcmp(type, "negotiation.updated") == 0) {
        if (strstr(json, "\"status\":\"held\""))
            f->watch_all = true;
        return f->watch_all || strstr(json, "\"status\":\"vetoed\"") ||
               strstr(json, "\"status\":\"expired\"") || strstr(json, "\"cap\":{");
    }
    return false;
}

/* The market's event callback: copies a wanted event into the fleet's queue and
 * wakes the fleet's thread. Runs in the market's delivery thread; does nothing
 * else. fleet_stop() unsubscribes before it frees the fleet: market_unsubscribe()
 * returns only when this is not running and will not be called again. */
static void fleet_on_event(void *ud, int64_t seq, const char *type, const char *json)
{
    (void)seq;
    fleet *f = ud;
    if (!type || !json || !wanted(f, type, json))
        return;
    fl_event *e = malloc(sizeof *e);
    char *copy = strdup(json);
    if (!e || !copy) {
        free(e);
        free(copy);
        return;
    }
    snprintf(e->type, sizeof e->type, "%s", type);
    e->json = copy;
    e->next = NULL;
    pthread_mutex_lock(&f->mu);
    if (f->q_tail)
        f->q_tail->next = e;
    else
        f->q_head = e;
    f->q_tail = e;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* ---- time and the schedule ---- */

/* Returns monotonic seconds. */
double fl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns seconds of thinking time at rate 1.0 scaled by the fleet's rate. */
double fl_scaled(const fleet *f, double seconds)
{
    return seconds / f->opt.rate;
}

/* Swaps heap entries i and j, keeping the deals' positions. */
static void heap_swap(fleet *f, int i, int j)
{
    int a = f->heap[i], b = f->heap[j];
    f->heap[i] = b;
    f->heap[j] = a;
    f->deals[b].heap_pos = i;
    f->deals[a].heap_pos = j;
}

/* Restores the heap order around position i. */
static void heap_fix(fleet *f, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (f->deals[f->heap[p]].due <= f->deals[f->heap[i]].due)
            break;
        heap_swap(f, i, p);
        i = p;
    }
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < f->heap_n && f->deals[f->heap[l]].due < f->deals[f->heap[m]].due)
            m = l;
        if (r < f->heap_n && f->deals[f->heap[r]].due < f->deals[f->heap[m]].due)
            m = r;
        if (m == i)
            break;
        heap_swap(f, i, m);
        i = m;
    }
}

/* Schedules deal d at due (the heap has room for every deal). */
void fl_schedule(fleet *f, int d, double due)
{
    fl_deal *x = &f->deals[d];
    x->due = due;
    x->parked = false;
    if (x->heap_pos < 0) {
        x->heap_pos = f->heap_n;
        f->heap[f->heap_n++] = d;
    }
    heap_fix(f, x->heap_pos);
}

/* Removes deal d from the schedule. */
void fl_unschedule(fleet *f, int d)
{
    int i = f->deals[d].heap_pos;
    if (i < 0)
        return;
    f->heap_n--;
    if (i != f->heap_n) {
        heap_swap(f, i, f->heap_n);
        heap_fix(f, i);
    }
    f->deals[d].heap_pos = -1;
}

/* ---- reactions to events ---- */

/* Re-schedules every parked deal whose agents may act again. */
static void unpark(fleet *f, double now)
{
    if (f->halted)
        return;
    for (int d = 0; d < f->ndeals; d++) {
        fl_deal *x = &f->deals[d];
        if (x->state == DS_FREE || x->state == DS_DONE || x->state == DS_WAIT || !x->parked ||
            x->held)
            continue;
        if (f->agents[x->buyer].paused || f->agents[x->seller].paused)
            continue;
        fl_schedule(f, d, now + fl_scaled(f, 1.0 + sim_rng_unit(&f->dyn) * 2.0));
    }
}

/* Tops up a buyer's budget the way its principal would (a monthly allowance),
 * so a long run never trips the budget rule by accident. Only while the spend
 * cap is still the one the fleet set: a cap an operator changed is the
 * operator's. */
static void refill(fleet *f, fl_agent *a)
{
    if (a->p.seller || a->refill_pending || a->spend_cap != a->cap_we_set ||
        a->spent * 2 < a->spend_cap)
        return;
    char path[128], ifm[32];
    snprintf(path, sizeof path, "/v1/agents/%s/limits", a->id);
    snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)a->version);
    int64_t cap = a->spent + a->p.spend_cap_minor;
    json_t *ans = NULL;
    int st = fl_call(f, NULL, "POST", path, json_pack("{s:I}", "spend_cap_minor", (json_int_t)cap),
                     ifm, &ans);
    if (st / 100 == 2) {
        a->cap_we_set = cap;
        a->refill_pending = true; /* until the agent.updated event shows it */
    }
    json_decref(ans);
}

/* Applies an agent.updated event. */
static void on_agent(fleet *f, json_t *ag, double now)
{
    char id[FL_ID];
    fl_str(ag, "id", id, sizeof id);
    int i = fl_map_get(&f->agent_ids, id);
    if (i < 0)
        return;
    fl_agent *a = &f->agents[i];
    int64_t v = fl_int(ag, "version", 0);
    if (v <= a->version && v != 0)
        return;
    a->version = v;
    const char *st = json_string_value(json_object_get(ag, "status"));
    bool was = a->paused;
    a->paused = st && strcmp(st, "paused") == 0;
    a->spent = fl_int(ag, "spent_minor", a->spent);
    json_t *lim = json_object_get(ag, "limits");
    a->spend_cap = fl_int(lim, "spend_cap_minor", a->spend_cap);
    a->per_deal_max = fl_int(lim, "per_deal_max_minor", a->per_deal_max);
    a->approval_threshold = fl_int(lim, "approval_threshold_minor", a->approval_threshold);
    a->max_quantity = fl_int(lim, "max_quantity", a->max_quantity);
    if (a->spend_cap == a->cap_we_set)
        a->refill_pending = false;
    if (was && !a->paused)
        unpark(f, now);
    refill(f, a);
}

/* Applies a listing.updated event to one of the fleet's listings. */
static void on_listing(fleet *f, json_t *l)
{
    char id[FL_ID];
    fl_str(l, "id", id, sizeof id);
    int i = fl_map_get(&f->listing_ids, id);
    if (i < 0)
        return;
    fl_listing *x = &f->listings[i];
    x->stock = fl_int(l, "quantity", x->stock);
    const char *st = json_string_value(json_object_get(l, "status"));
    bool open = st && strcmp(st, "open") == 0 && x->stock > 0;
    if (x->open && !open) {
        fl_listing_closed(f, i);
        if (st && strcmp(st, "open") != 0)
            fl_map_del(&f->listing_ids, x->id);
    }
}

/* Applies a fleet.updated event: a halt parks everything, a resume wakes it. */
static void on_fleet(fleet *f, json_t *fl, double now)
{
    const char *st = json_string_value(json_object_get(fl, "status"));
    bool halted = st && strcmp(st, "halted") == 0;
    if (halted && !f->halted) {
        f->halted = true;
        for (int d = 0; d < f->ndeals; d++) {
            if (f->deals[d].heap_pos >= 0) {
                fl_unschedule(f, d);
                f->deals[d].parked = true;
            }
        }
    } else if (!halted && f->halted) {
        f->halted = false;
        unpark(f, now);
    }
}

/* Handles one queued event. */
static void handle_event(fleet *f, fl_event *e, double now)
{
    json_t *root = json_loads(e->json, 0, NULL);
    json_t *data = json_object_get(root, "data");
    if (!json_is_object(data)) {
        json_decref(root);
        return;
    }
    char id[FL_ID];
    if (strcmp(e->type, "agent.updated") == 0)
        on_agent(f, data, now);
    else if (strcmp(e->type, "fleet.updated") == 0)
        on_fleet(f, data, now);
    else if (strcmp(e->type, "listing.updated") == 0)
        on_listing(f, data);
    else if (strcmp(e->type, "purchase.updated") == 0) {
        fl_str(data, "id", id, sizeof id);
        int d = fl_map_get(&f->pur_ids, id);
        if (d >= 0 && strcmp(f->deals[d].pur, id) == 0)
            fl_deal_purchase_event(f, d, data, now);
    } else if (strcmp(e->type, "negotiation.updated") == 0) {
        fl_str(data, "id", id, sizeof id);
        int d = fl_map_get(&f->neg_ids, id);
        if (d >= 0 && strcmp(f->deals[d].neg, id) == 0)
            fl_deal_negotiation_event(f, d, data, now);
    }
    json_decref(root);
}

/* ---- upkeep ---- */

/* Sellers keep a few listings open: classifieds sell out and are replaced. A
 * new listing now and then carries hidden text (a hidden_text fault planted by
 * the seller). */
static void upkeep(fleet *f, double now)
{
    for (int i = 0; i < f->nagents; i++) {
        fl_agent *a = &f->agents[i];
        if (!a->p.seller || a->paused || f->halted)
            continue;
        int want = sim_category_b2b(a->p.cats[0]) ? 2 : 3;
        if (a->open_listings >= want || now < a->next_list_at)
            continue;
        bool hidden = f->opt.faults > 0 && sim_rng_chance(&f->dyn, f->opt.faults / 12.0);
        fl_post_listing(f, i, hidden);
        a->next_list_at = now + fl_scaled(f, sim_rng_uniform(&f->dyn, 4.0, 15.0));
    }
}

/* How many threads should be live: a handful at rate 1, more with the rate, at
 * most two per buyer. */
static int live_target(const fleet *f)
{
    double t = 4.0 + 4.0 * f->opt.rate;
    int cap = FL_MAX_LIVE * f->nbuyers;
    return t > cap ? cap : (int)t;
}

/* ---- the thread ---- */

/* True when fleet_stop() has been called (for long loops outside the wait). */
bool fl_stopping(fleet *f)
{
    pthread_mutex_lock(&f->mu);
    bool stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    return stop;
}

/* The fleet's thread: waits for the next due time or an event, then acts. */
static void *fleet_main(void *arg)
{
    fleet *f = arg;
    /* One fleet per market: it starts on the instance that leads (marketd/market.c) */
    pthread_mutex_lock(&f->mu);
    while (!f->stop && !market_leading(f->m)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts); /* f->cv's clock (fleet_start) */
        ts.tv_sec += 1;
        pthread_cond_timedwait(&f->cv, &f->mu, &ts);
    }
    pthread_mutex_unlock(&f->mu);
    /* Registration runs here, not in fleet_start(), so that marketd serves at once even
     * with thousands of agents to register. */
    char err[256];
    if (fl_register_agents(f, err, sizeof err) != 0) {
        if (!fl_stopping(f))
            fprintf(stderr, "marketd: fleet: %s\n", err);
        pthread_mutex_lock(&f->mu);
        while (!f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        pthread_mutex_unlock(&f->mu);
        return NULL;
    }
    double now = fl_now();
    /* Initial listings: each seller opens shop. */
    for (int i = 0; i < f->nagents && !fl_stopping(f); i++)
        if (f->agents[i].p.seller) {
            int want = sim_category_b2b(f->agents[i].p.cats[0]) ? 2 : 3;
            for (int k = 0; k < want; k++)
                fl_post_listing(f, i, false);
        }
    f->next_spawn = now;
    f->next_maint = now;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        for (;;) {
            if (f->stop || f->q_head)
                break;
            now = fl_now();
            double next = f->next_maint;
            if (!f->halted) {
                if (f->heap_n && f->deals[f->heap[0]].due < next)
                    next = f->deals[f->heap[0]].due;
                if (f->live < live_target(f) && f->next_spawn < next)
                    next = f->next_spawn;
            }
            if (next <= now)
                break;
            struct timespec ts;
            double whole = floor(next);
            ts.tv_sec = (time_t)whole;
            ts.tv_nsec = (long)((next - whole) * 1e9);
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_nsec = 999999999L;
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        }
        bool stop = f->stop;
        fl_event *q = f->q_head;
        f->q_head = f->q_tail = NULL;
        pthread_mutex_unlock(&f->mu);
        if (stop) {
            while (q) {
                fl_event *n = q->next;
                free(q->json);
                free(q);
                q = n;
            }
            break;
        }
        now = fl_now();
        while (q) {
            fl_event *n = q->next;
            handle_event(f, q, now);
            free(q->json);
            free(q);
            q = n;
        }
        if (now >= f->next_maint) {
            upkeep(f, now);
            f->next_maint = now + (f->opt.rate > 4 ? 0.25 : 1.0);
        }
        if (f->halted)
            continue;
        fl_disputes_step(f, now); /* marketd/fleet_dispute.c */
        /* Due deals, a bounded batch at a time so that events and stop stay prompt.
         */
        for (int n = 0; n < 64 && f->heap_n; n++) {
            int d = f->heap[0];
            if (f->deals[d].due > now)
                break;
            fl_unschedule(f, d);
            fl_deal_step(f, d, now);
            if (f->halted)
                break;
        }
        now = fl_now();
        if (f->live < live_target(f) && now >= f->next_spawn) {
            bool ok = fl_deal_spawn(f, now);
            /* A new thread every 1-4 s at rate 1; when no buyer could start one, look
             * again a little later rather than spinning. */
            f->next_spawn = now + (ok ? fl_scaled(f, sim_rng_uniform(&f->dyn, 1.0, 4.0))
                                      : fl_scaled(f, 0.5) + 0.01);
        }
    }
    return NULL;
}

/* ---- lifecycle ---- */

/* Frees a fleet's memory (not its thread). */
/* Stops the market's events to f: when it returns, fleet_on_event() is not running for
 * f and will not be called for it again. */
static void fleet_unsubscribe(fleet *f)
{
    if (f->subscribed)
        market_unsubscribe(f->m, fleet_on_event, f);
    f->subscribed = false;
}

static void fleet_free(fleet *f)
{
    fleet_unsubscribe(f);
    fl_map_free(&f->agent_ids);
    fl_map_free(&f->listing_ids);
    fl_map_free(&f->neg_ids);
    fl_map_free(&f->pur_ids);
    free(f->agents);
    free(f->buyers);
    free(f->listings);
    free(f->deals);
    free(f->heap);
    free(f->free_ids);
    free(f->open_list);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Generates the fleet and starts its thread (which registers the agents, opens the
 * sellers' shops, then trades); returns the fleet (owned) or NULL with a message in
 * err. */
fleet *fleet_start(market *m, const fleet_options *opt, char *err, size_t errsz)
{
    if (!m || !opt || opt->size < 2 || opt->size > 100000 || !(opt->rate > 0) || opt->rate > 1e6 ||
        !(opt->faults >= 0) || opt->faults > 1) {
        snprintf(err, errsz,
                 "fleet: need --fleet 2..100000, --rate > 0 and --faults between 0 "
                 "and 1");
        return NULL;
    }
    fleet *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    f->m = m;
    f->opt = *opt;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);

    /* Idempotency keys of this run must not collide with an earlier run's on the
     * same database: a per-run nonce (the catalogue itself depends only on the
     * seed). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sim_rng nr;
    sim_rng_seed(&nr, (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
                          ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)f);
    snprintf(f->nonce, sizeof f->nonce, "%016llx", (unsigned long long)sim_rng_next(&nr));

    sim_rng_seed(&f->rng, opt->seed);
    sim_rng_fork(&f->rng, 0xd1ce, &f->dyn);
    f->nagents = opt->size;
    f->agents = calloc((size_t)f->nagents, sizeof *f->agents);
    f->buyers = calloc((size_t)f->nagents, sizeof *f->buyers);
    f->deals_cap = 4 * f->nagents + 8; /* grows when purchases wait long */
    f->deals = calloc((size_t)f->deals_cap, sizeof *f->deals);
    f->heap = calloc((size_t)f->deals_cap, sizeof *f->heap);
    f->free_ids = calloc((size_t)f->deals_cap, sizeof *f->free_ids);
    if (!f->agents || !f->buyers || !f->deals || !f->heap || !f->free_ids) {
        snprintf(err, errsz, "out of memory");
        fleet_free(f);
        return NULL;
    }
    for (int d = f->deals_cap - 1; d >= 0; d--) {
        f->deals[d].heap_pos = -1;
        f->free_ids[f->nfree++] = d;
    }
    f->ndeals = f->deals_cap;
    for (int i = 0; i < f->nagents; i++) {
        fl_agent *a = &f->agents[i];
        a->index = i;
        sim_agent_generate(&f->rng, i, &a->p);
        sim_rng_fork(&f->rng, 0x100000000ULL + (uint64_t)i, &a->rng);
        a->price_shade = 1.0;
        if (!a->p.seller)
            f->buyers[f->nbuyers++] = i;
    }

    market_subscribe(m, fleet_on_event, f);
    f->subscribed = true;
    if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
        snprintf(err, errsz, "cannot start the fleet thread");
        fleet_free(f);
        return NULL;
    }
    f->started = true;
    return f;
}

/* Stops the thread promptly and frees the fleet; NULL is accepted. */
void fleet_stop(fleet *f)
{
    if (!f)
        return;
    fleet_unsubscribe(f);
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (f->started)
        pthread_join(f->thread, NULL);
    while (f->q_head) {
        fl_event *n = f->q_head->next;
        free(f->q_head->json);
        free(f->q_head);
        f->q_head = n;
    }
    fleet_free(f);
}

/* Returns the number of agent actions the market accepted so far. */
uint64_t fleet_actions(const fleet *f)
{
    return f ? __atomic_load_n(&f->actions, __ATOMIC_RELAXED) : 0;
}
