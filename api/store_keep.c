/* store_keep.c: the working set (issue 14; the rules are in model.h): which events about
 * objects the store does not hold are applied, the amortised sweep that evicts closed
 * objects beyond the newest STORE_KEEP_CLOSED, the ledger's and decisions' newest
 * STORE_KEEP_RECORDS, the watched threads whose messages are kept, and the snapshot's
 * history totals. Pure, like store.c. */
#include "api/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void keep_init(store *s)
{
    for (int k = 0; k < MODEL_KIND_COUNT; k++) {
        s->history[k] = -1;
        s->sweep_at[k] = 2 * (size_t)STORE_KEEP_CLOSED;
    }
    keep_backfill_end(s);
    s->live_more = false;
}

/* Whether a set of ids (a by-value collection of model_id) holds id. */
static bool ids_has(const coll *ids, const char *id)
{
    return id[0] && coll_find(ids, id) >= 0;
}

/* Adds id to a set of ids. Returns 0 or -1 (memory). */
static int ids_add(coll *ids, const char *id)
{
    if (!id[0] || coll_find(ids, id) >= 0)
        return 0;
    if (coll_reserve(ids) < 0)
        return -1;
    model_id v;
    memcpy(v, id, sizeof v);
    v[MODEL_ID_MAX] = '\0';
    coll_append(ids, v);
    return 0;
}

bool keep_admits(const store *s, const model_event *ev)
{
    switch (ev->kind) {
        case MODEL_LISTING:
            /* one just created is among the newest (as the snapshot's newest listings) */
            return ev->u.listing.version == 1 || ids_has(&s->named, ev->u.listing.id);
        /* a status this build does not know may need the operator: taken (the safe side),
         * and evicted as a closed one is, so that what is held stays bounded */
        case MODEL_NEGOTIATION:
            return ev->u.negotiation.status == NEG_OPEN || ev->u.negotiation.status == NEG_HELD ||
                   ev->u.negotiation.status == NEG_UNKNOWN;
        /* one a policy decided is a recent automatic decision the console shows as such
         * (issue 15): held, and evicted as closed ones are */
        /* one under dispute (issue 17) is what a dispute's evidence shows: held, and evicted
         * as closed ones are */
        case MODEL_PURCHASE:
            return ev->u.purchase.status == PUR_PENDING || ev->u.purchase.status == PUR_UNKNOWN ||
                   ev->u.purchase.policy.id[0] || ev->u.purchase.dispute_id[0];
        case MODEL_ALERT:
            return ev->u.alert.status == ALERT_OPEN || ev->u.alert.status == ALERT_UNKNOWN;
        case MODEL_DISPUTE: /* open and responded ones wait for someone (issue 17) */
            return ev->u.dispute.status != DSP_RESOLVED;
        default: return true; /* agents, policies, the fleet, new entries, decisions, messages */
    }
}

void keep_note_named(store *s, const char *listing_id)
{
    (void)ids_add(&s->named, listing_id); /* out of memory: a listing event dropped */
}

void keep_count_message(store *s, const model_message *m)
{
    long i = coll_find(&s->negotiations, m->negotiation_id);
    if (i < 0)
        return;
    model_negotiation *n = coll_at(&s->negotiations, (size_t)i);
    if (m->seq > n->message_count) {
        n->message_count = m->seq;
        s->changes[MODEL_NEGOTIATION]++;
    }
}

/* Rebuilds the set of listing ids the held threads and purchases name. Returns 0 or -1. */
static int rebuild_named(store *s)
{
    s->named.n = 0; /* its arrays are kept: the set has about the same size again */
    if (s->named.nslots)
        memset(s->named.slots, 0, s->named.nslots * sizeof *s->named.slots);
    for (size_t i = 0; i < s->negotiations.n; i++)
        if (ids_add(&s->named, ((model_negotiation *)coll_at(&s->negotiations, i))->listing_id) < 0)
            return -1;
    for (size_t i = 0; i < s->purchases.n; i++)
        if (ids_add(&s->named, ((model_purchase *)coll_at(&s->purchases, i))->listing_id) < 0)
            return -1;
    return 0;
}

/* The threads never evicted: the watched ones and those a held pending purchase names.
 * Returns 0 or -1 (memory). */
static int kept_threads(const store *s, coll *ids)
{
    for (size_t i = 0; i < s->nwatched; i++)
        if (ids_add(ids, s->watched[i]) < 0)
            return -1;
    for (size_t i = 0; i < s->purchases.n; i++) {
        const model_purchase *p = coll_at(&s->purchases, i);
        if (p->status == PUR_PENDING && ids_add(ids, p->negotiation_id) < 0)
            return -1;
    }
    return 0;
}

/* Whether a held object of kind k may be evicted, and its time of last change. */
static bool evictable(const store *s, model_kind k, const void *o, const coll *kept, int64_t *at)
{
    switch (k) {
        case MODEL_LISTING: {
            const model_listing *l = o;
            *at = l->updated_at;
            return !ids_has(&s->named, l->id);
        }
        case MODEL_NEGOTIATION: {
            const model_negotiation *n = o;
            *at = n->updated_at;
            return n->status != NEG_OPEN && n->status != NEG_HELD && !ids_has(kept, n->id);
        }
        case MODEL_PURCHASE: {
            const model_purchase *p = o;
            *at = p->updated_at;
            return p->status != PUR_PENDING;
        }
        case MODEL_ALERT: {
            const model_alert *a = o;
            *at = a->updated_at;
            return a->status != ALERT_OPEN;
        }
        case MODEL_DISPUTE: {
            const model_dispute *d = o;
            *at = d->updated_at;
            return d->status == DSP_RESOLVED;
        }
        default: return false;
    }
}

/* Frees a held object of kind k. */
static void drop_object(model_kind k, void *o)
{
    switch (k) {
        case MODEL_LISTING: model_listing_clear(o); break;
        case MODEL_NEGOTIATION: model_negotiation_clear(o); break;
        case MODEL_PURCHASE: model_purchase_clear(o); break;
        case MODEL_ALERT: model_alert_clear(o); break;
        case MODEL_DISPUTE: model_dispute_clear(o); break;
        default: break;
    }
    free(o);
}

typedef struct cand {
    int64_t at;
    size_t i;
} cand;

/* Newest first: by time of last change, then by arrival. */
static int newest_first(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? 1 : -1;
    return x->i < y->i ? 1 : (x->i > y->i ? -1 : 0);
}

/* Rebuilds a collection's index in place after its elements moved (it has room). */
static void reindex(coll *c)
{
    if (!c->nslots)
        return;
    memset(c->slots, 0, c->nslots * sizeof *c->slots);
    for (size_t i = 0; i < c->n; i++)
        slot_put(c, i);
}

/* Keeps, of the objects of c that may be evicted, the newest STORE_KEEP_CLOSED; the
 * others are freed and the rest keep their order. */
static void evict(store *s, model_kind k, coll *c, const coll *kept)
{
    cand *cs = malloc((c->n ? c->n : 1) * sizeof *cs);
    bool *drop = calloc(c->n ? c->n : 1, sizeof *drop);
    size_t m = 0;
    if (!cs || !drop)
        goto done; /* out of memory: tried again at the next mark */
    for (size_t i = 0; i < c->n; i++)
        if (evictable(s, k, coll_at(c, i), kept, &cs[m].at))
            cs[m++].i = i;
    if (m <= STORE_KEEP_CLOSED)
        goto done;
    qsort(cs, m, sizeof *cs, newest_first);
    for (size_t j = STORE_KEEP_CLOSED; j < m; j++)
        drop[cs[j].i] = true;
    void **arr = (void **)(void *)c->base;
    size_t w = 0;
    bool messages = false;
    for (size_t i = 0; i < c->n; i++) {
        if (!drop[i]) {
            arr[w++] = arr[i];
            continue;
        }
        if (k == MODEL_NEGOTIATION && ((model_negotiation *)arr[i])->nmessages)
            messages = true;
        drop_object(k, arr[i]);
    }
    c->n = w;
    reindex(c);
    s->changes[k]++;
    if (messages)
        s->changes[MODEL_MESSAGE]++;
done:
    free(cs);
    free(drop);
}

/* Drops the oldest records of a by-value collection beyond the newest STORE_KEEP_RECORDS
 * (the ledger is in seq order, the decisions in arrival order). */
static void trim_records(store *s, model_kind k, coll *c)
{
    size_t n = c->n - STORE_KEEP_RECORDS;
    if (k == MODEL_DECISION)
        for (size_t i = 0; i < n; i++)
            model_decision_clear(coll_at(c, i));
    memmove(c->base, c->base + n * c->elem, STORE_KEEP_RECORDS * c->elem);
    c->n = STORE_KEEP_RECORDS;
    reindex(c);
    s->changes[k]++;
}

/* The collection of a kind the sweep looks at, or NULL (agents and the fleet: never). */
static coll *coll_of(store *s, model_kind k)
{
    switch (k) {
        case MODEL_LISTING: return &s->listings;
        case MODEL_NEGOTIATION: return &s->negotiations;
        case MODEL_PURCHASE: return &s->purchases;
        case MODEL_ALERT: return &s->alerts;
        case MODEL_DISPUTE: return &s->disputes;
        case MODEL_LEDGER: return &s->ledger;
        case MODEL_DECISION: return &s->decisions;
        default: return NULL;
    }
}

void keep_sweep(store *s, model_kind k)
{
    coll *c = coll_of(s, k);
    if (!c || c->n <= s->sweep_at[k])
        return;
    /* while a backfill runs, what the stream applied stays held (until it ends), so that a
     * page read before it cannot bring back an older version (store_backfill) */
    if (s->backfill && (k == MODEL_LISTING || k == MODEL_NEGOTIATION))
        return;
    if (k == MODEL_LEDGER || k == MODEL_DECISION) {
        trim_records(s, k, c);
    } else {
        coll kept = {.elem = sizeof(model_id)};
        /* the named set is rebuilt before listings are swept (it must be exact then), and
         * when it has grown to twice what the held threads and purchases name (each new
         * one adds to it: so it stays bounded without listing events) */
        int rc = 0;
        if (k == MODEL_LISTING ||
            s->named.n > 2 * (s->negotiations.n + s->purchases.n) + STORE_KEEP_CLOSED)
            rc = rebuild_named(s);
        if (rc == 0 && k == MODEL_NEGOTIATION)
            rc = kept_threads(s, &kept);
        if (rc == 0)
            evict(s, k, c, &kept);
        coll_free(&kept);
    }
    s->sweep_at[k] = store_sweep_mark(
        c->n, k == MODEL_LEDGER || k == MODEL_DECISION ? STORE_KEEP_RECORDS : STORE_KEEP_CLOSED);
}

/* ---- watched threads --------------------------------------------------------------- */

/* The position of a watched thread, or -1. */
static long watched_at(const store *s, const char *id)
{
    for (size_t i = 0; i < s->nwatched; i++)
        if (strcmp(s->watched[i], id) == 0)
            return (long)i;
    return -1;
}

bool store_thread_watched(const store *s, const char *negotiation_id)
{
    return watched_at(s, negotiation_id) >= 0;
}

/* Frees a held thread's messages (it is no longer watched). */
static void forget_messages(store *s, const char *id)
{
    long i = coll_find(&s->negotiations, id);
    if (i < 0)
        return;
    model_negotiation *n = coll_at(&s->negotiations, (size_t)i);
    for (size_t j = 0; j < n->nmessages; j++)
        model_message_clear(&n->messages[j]);
    free(n->messages);
    n->messages = NULL;
    n->nmessages = n->messages_cap = 0;
    s->changes[MODEL_MESSAGE]++;
}

int store_watch_thread(store *s, const char *negotiation_id)
{
    size_t len = negotiation_id ? strlen(negotiation_id) : 0;
    if (len == 0 || len > MODEL_ID_MAX)
        return -1;
    long i = watched_at(s, negotiation_id);
    if (i < 0 && s->nwatched < STORE_WATCH_MAX) {
        i = (long)s->nwatched++;
    } else if (i < 0) {
        i = 0; /* the least recently watched makes room */
        for (size_t j = 1; j < s->nwatched; j++)
            if (s->watched_tick[j] < s->watched_tick[i])
                i = (long)j;
        forget_messages(s, s->watched[i]);
    }
    memcpy(s->watched[i], negotiation_id, len + 1);
    s->watched_tick[i] = ++s->tick;
    return 0;
}

/* ---- totals ------------------------------------------------------------------------ */

int64_t store_history_total(const store *s, model_kind k)
{
    return (unsigned)k < MODEL_KIND_COUNT ? s->history[k] : -1;
}

void store_set_history_total(store *s, model_kind k, int64_t total)
{
    if ((unsigned)k < MODEL_KIND_COUNT)
        s->history[k] = total < 0 ? -1 : total;
}

size_t store_held(const store *s)
{
    size_t n = s->agents.n + s->listings.n + s->negotiations.n + s->purchases.n + s->alerts.n +
               s->ledger.n + s->decisions.n + s->policies.n + s->disputes.n;
    for (size_t i = 0; i < s->negotiations.n; i++)
        n += ((const model_negotiation *)coll_at(&s->negotiations, i))->nmessages;
    return n;
}

/* ---- a staged snapshot's backfill (model.h) ------------------------------------------ */

void store_set_live_more(store *s, bool more)
{
    s->live_more = more;
}

bool store_live_more(const store *s)
{
    return s->live_more;
}

void store_backfill_begin(store *s)
{
    keep_backfill_end(s);
    s->seen.elem = sizeof(seen_thread);
    s->parked.elem = sizeof(void *);
    s->parked.byptr = true;
    s->backfill = true;
}

bool store_backfilling(const store *s)
{
    return s->backfill;
}

void store_backfill_end(store *s)
{
    keep_backfill_end(s);
}

void keep_backfill_end(store *s)
{
    for (size_t i = 0; i < s->parked.n; i++) {
        model_listing_clear(coll_at(&s->parked, i));
        free(coll_at(&s->parked, i));
    }
    coll_free(&s->parked);
    coll_free(&s->seen);
    s->backfill = false;
}

const seen_thread *keep_seen(const store *s, const char *id)
{
    long i = s->backfill ? coll_find(&s->seen, id) : -1;
    return i >= 0 ? coll_at(&s->seen, (size_t)i) : NULL;
}

void keep_note_seen(store *s, const model_event *ev)
{
    const char *id = ev->kind == MODEL_NEGOTIATION ? ev->u.negotiation.id
                     : ev->kind == MODEL_MESSAGE   ? ev->u.message.negotiation_id
                                                   : NULL;
    if (!s->backfill || !id || !id[0])
        return;
    long i = coll_find(&s->seen, id);
    if (i < 0) {
        if (coll_reserve(&s->seen) < 0)
            return; /* out of memory: a page row may then be older than the stream */
        seen_thread t = {.version = 0};
        snprintf(t.id, sizeof t.id, "%s", id);
        coll_append(&s->seen, &t);
        i = (long)s->seen.n - 1;
    }
    seen_thread *t = coll_at(&s->seen, (size_t)i);
    if (ev->kind == MODEL_NEGOTIATION && ev->u.negotiation.version > t->version)
        t->version = ev->u.negotiation.version;
    if (ev->kind == MODEL_MESSAGE && ev->u.message.seq > t->messages)
        t->messages = ev->u.message.seq;
}
