/* store.c: the marketplace state, indexed by id, changed only by store_apply().
 *
 * Each collection is an array in arrival order plus an open-addressing hash index from
 * id to array position. Objects of the versioned kinds live in their own allocation
 * (so that borrowed pointers survive the array growing); ledger entries and decision
 * records, which never change, are held by value. The store is pure: libc and the
 * domain types only.
 */
#include "api/store_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- collections ----------------------------------------------------------------- */

/* FNV-1a of a NUL-terminated string. */
static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* The element at i (the object itself, also for byptr collections). */
void *coll_at(const coll *c, size_t i)
{
    char *p = c->base + i * c->elem;
    return c->byptr ? *(void **)p : p;
}

/* Index of the element with key, or -1. */
long coll_find(const coll *c, const char *key)
{
    if (!c->nslots)
        return -1;
    size_t mask = c->nslots - 1;
    for (size_t h = hash(key) & mask;; h = (h + 1) & mask) {
        uint32_t v = c->slots[h];
        if (!v)
            return -1;
        if (strcmp((const char *)coll_at(c, v - 1), key) == 0)
            return (long)(v - 1);
    }
}

/* Puts index i into the hash index (which has room). */
void slot_put(coll *c, size_t i)
{
    size_t mask = c->nslots - 1;
    size_t h = hash((const char *)coll_at(c, i)) & mask;
    while (c->slots[h])
        h = (h + 1) & mask;
    c->slots[h] = (uint32_t)(i + 1);
}

/* Rebuilds the hash index for at least want elements. Returns 0 or -1. */
int coll_rehash(coll *c, size_t want)
{
    size_t ns = 16;
    while (ns < want * 2)
        ns *= 2;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    free(c->slots);
    c->slots = slots;
    c->nslots = ns;
    for (size_t i = 0; i < c->n; i++)
        slot_put(c, i);
    return 0;
}

/* Makes room for one more element. Returns 0 or -1. */
int coll_reserve(coll *c)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        char *b = realloc(c->base, nc * c->elem);
        if (!b)
            return -1;
        c->base = b;
        c->cap = nc;
    }
    if ((c->n + 1) * 2 > c->nslots && coll_rehash(c, c->n + 1) < 0)
        return -1;
    return 0;
}

/* Appends an element (bytes of c->elem: the value, or the pointer) whose key is not
 * present; coll_reserve() must have succeeded. */
void coll_append(coll *c, const void *elem)
{
    memcpy(c->base + c->n * c->elem, elem, c->elem);
    c->n++;
    slot_put(c, c->n - 1);
}

/* Frees the arrays (not the objects). */
void coll_free(coll *c)
{
    free(c->base);
    free(c->slots);
    size_t elem = c->elem;
    bool byptr = c->byptr;
    memset(c, 0, sizeof *c);
    c->elem = elem;
    c->byptr = byptr;
}

/* ---- the store ------------------------------------------------------------------- */

store *store_new(void)
{
    store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    coll *ptrs[] = {&s->agents, &s->listings, &s->negotiations, &s->purchases,
                    &s->alerts, &s->policies, &s->disputes};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        ptrs[i]->elem = sizeof(void *);
        ptrs[i]->byptr = true;
    }
    s->ledger.elem = sizeof(model_ledger_entry);
    s->decisions.elem = sizeof(model_decision);
    s->balances.elem = sizeof(balance);
    s->named.elem = sizeof(model_id);
    keep_init(s);
    return s;
}

/* Frees every object and empties every collection. */
static void store_clear(store *s)
{
    for (size_t i = 0; i < s->agents.n; i++) {
        model_agent_clear(coll_at(&s->agents, i));
        free(coll_at(&s->agents, i));
    }
    for (size_t i = 0; i < s->listings.n; i++) {
        model_listing_clear(coll_at(&s->listings, i));
        free(coll_at(&s->listings, i));
    }
    for (size_t i = 0; i < s->negotiations.n; i++) {
        model_negotiation_clear(coll_at(&s->negotiations, i));
        free(coll_at(&s->negotiations, i));
    }
    for (size_t i = 0; i < s->purchases.n; i++) {
        model_purchase_clear(coll_at(&s->purchases, i));
        free(coll_at(&s->purchases, i));
    }
    for (size_t i = 0; i < s->alerts.n; i++) {
        model_alert_clear(coll_at(&s->alerts, i));
        free(coll_at(&s->alerts, i));
    }
    for (size_t i = 0; i < s->policies.n; i++) {
        model_policy_clear(coll_at(&s->policies, i));
        free(coll_at(&s->policies, i));
    }
    for (size_t i = 0; i < s->disputes.n; i++) {
        model_dispute_clear(coll_at(&s->disputes, i));
        free(coll_at(&s->disputes, i));
    }
    for (size_t i = 0; i < s->decisions.n; i++)
        model_decision_clear(coll_at(&s->decisions, i));
    coll *all[] = {&s->agents, &s->listings, &s->negotiations, &s->purchases,
                   &s->alerts, &s->ledger,   &s->decisions,    &s->balances,
                   &s->named,  &s->policies, &s->disputes};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        coll_free(all[i]);
    model_fleet_clear(&s->fleet);
}

void store_free(store *s)
{
    if (!s)
        return;
    store_clear(s);
    keep_backfill_end(s);
    free(s);
}

void store_reset(store *s, const char *epoch, int64_t seq)
{
    store_clear(s);
    size_t n = epoch ? strlen(epoch) : 0;
    if (n >= sizeof s->epoch)
        n = sizeof s->epoch - 1;
    memcpy(s->epoch, epoch ? epoch : "", n);
    s->epoch[n] = '\0';
    s->seq = seq;
    keep_init(s);
    for (int k = 0; k < MODEL_KIND_COUNT; k++)
        s->changes[k]++;
}

/* Puts a versioned object (id first, then version) into a byptr collection: inserts it,
 * or replaces the held one when the new version is newer. keep, when not NULL, moves
 * state from the old object into the new one before the old is cleared. */
static store_result put_versioned(coll *c, void *obj, size_t size, size_t voff,
                                  void (*clear)(void *), void (*keep)(void *nw, void *old))
{
    long i = coll_find(c, (const char *)obj);
    if (i >= 0) {
        void *old = coll_at(c, (size_t)i);
        int64_t held, version;
        memcpy(&held, (const char *)old + voff, sizeof held);
        memcpy(&version, (const char *)obj + voff, sizeof version);
        if (version <= held)
            return STORE_STALE;
        if (keep)
            keep(obj, old);
        clear(old);
        memcpy(old, obj, size);
        memset(obj, 0, size);
        return STORE_APPLIED;
    }
    if (coll_reserve(c) < 0)
        return STORE_NOMEM;
    void *copy = malloc(size);
    if (!copy)
        return STORE_NOMEM;
    memcpy(copy, obj, size);
    memset(obj, 0, size);
    coll_append(c, &copy);
    return STORE_APPLIED;
}

/* A new version of a purchase keeps the claim on it (put_versioned's keep). */
static void keep_claim(void *nw, void *old)
{
    model_purchase *n = nw, *o = old;
    n->claim_by = o->claim_by;
    n->claim_until = o->claim_until;
    n->claim_version = o->claim_version;
    memset(&o->claim_by, 0, sizeof o->claim_by);
}

/* A Claim is kept on the purchase it names, while the store holds that purchase (a claim
 * on a purchase out of the working set is dropped); a claim no longer active clears it.
 * The purchases' change counter moves too: the panes show it. */
static store_result put_claim(store *s, model_claim *cl)
{
    long i = coll_find(&s->purchases, cl->purchase_id);
    if (i < 0)
        return STORE_STALE;
    model_purchase *p = coll_at(&s->purchases, (size_t)i);
    if (cl->version <= p->claim_version)
        return STORE_STALE;
    free(p->claim_by.s);
    memset(&p->claim_by, 0, sizeof p->claim_by);
    p->claim_version = cl->version;
    p->claim_until = cl->active ? cl->until : 0;
    if (cl->active)
        p->claim_by = cl->by; /* taken */
    else
        free(cl->by.s); /* applied: the caller no longer frees the event's strings */
    memset(&cl->by, 0, sizeof cl->by);
    s->changes[MODEL_PURCHASE]++;
    return STORE_APPLIED;
}

/* Adapters with the signature put_versioned wants. */
static void clear_agent(void *p)
{
    model_agent_clear(p);
}
static void clear_listing(void *p)
{
    model_listing_clear(p);
}
static void clear_negotiation(void *p)
{
    model_negotiation_clear(p);
}
static void clear_purchase(void *p)
{
    model_purchase_clear(p);
}
static void clear_alert(void *p)
{
    model_alert_clear(p);
}
static void clear_policy(void *p)
{
    model_policy_clear(p);
}
static void clear_dispute(void *p)
{
    model_dispute_clear(p);
}

/* A newer version of a negotiation keeps the messages received so far. */
static void keep_messages(void *nw, void *old)
{
    model_negotiation *n = nw, *o = old;
    for (size_t i = 0; i < n->nmessages; i++) /* an event never brings messages itself */
        model_message_clear(&n->messages[i]);
    free(n->messages);
    n->messages = o->messages;
    n->nmessages = o->nmessages;
    n->messages_cap = o->messages_cap;
    o->messages = NULL;
    o->nmessages = o->messages_cap = 0;
}

/* Puts a message into its thread in seq order: normally an append; a thread's history
 * fetched later (client_fetch_thread) is inserted before what the stream brought.
 * A message already held, or for a thread not held, is stale; so is one of a thread not
 * watched (model.h), whose message_count still moves. */
static store_result put_message(store *s, model_message *m)
{
    long i = coll_find(&s->negotiations, m->negotiation_id);
    if (i < 0)
        return STORE_STALE;
    if (!store_thread_watched(s, m->negotiation_id)) {
        keep_count_message(s, m);
        return STORE_STALE;
    }
    model_negotiation *n = coll_at(&s->negotiations, (size_t)i);
    size_t lo = 0, hi = n->nmessages; /* first position with seq >= m->seq */
    if (hi && n->messages[hi - 1].seq < m->seq) {
        lo = hi;
    } else {
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (n->messages[mid].seq < m->seq)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n->nmessages && n->messages[lo].seq == m->seq)
            return STORE_STALE;
    }
    if (n->nmessages == n->messages_cap) {
        size_t nc = n->messages_cap ? n->messages_cap * 2 : 4;
        model_message *b = realloc(n->messages, nc * sizeof *b);
        if (!b)
            return STORE_NOMEM;
        n->messages = b;
        n->messages_cap = nc;
    }
    memmove(&n->messages[lo + 1], &n->messages[lo], (n->nmessages - lo) * sizeof *m);
    n->messages[lo] = *m;
    n->nmessages++;
    memset(m, 0, sizeof *m);
    return STORE_APPLIED;
}

/* Inserts a ledger entry in seq order (entries usually arrive in order: an append). */
static store_result put_ledger(store *s, model_ledger_entry *e, bool post)
{
    if (coll_find(&s->ledger, e->id) >= 0)
        return STORE_STALE;
    if (post) {
        /* Reserve every balance first so that a failure leaves nothing half-posted. */
        for (size_t i = 0; i < e->npostings; i++) {
            if (coll_find(&s->balances, e->postings[i].account) >= 0)
                continue;
            if (coll_reserve(&s->balances) < 0)
                return STORE_NOMEM;
            balance b = {.amount_minor = 0};
            memcpy(b.account, e->postings[i].account, sizeof b.account);
            b.account[sizeof b.account - 1] = '\0';
            coll_append(&s->balances, &b);
        }
    }
    if (coll_reserve(&s->ledger) < 0)
        return STORE_NOMEM;
    size_t pos = s->ledger.n;
    model_ledger_entry *arr = (model_ledger_entry *)(void *)s->ledger.base;
    while (pos > 0 && arr[pos - 1].seq > e->seq)
        pos--;
    if (pos == s->ledger.n) {
        coll_append(&s->ledger, e);
    } else {
        memmove(&arr[pos + 1], &arr[pos], (s->ledger.n - pos) * sizeof *arr);
        arr[pos] = *e;
        s->ledger.n++;
        /* Positions moved: rebuild the index in place (it has room). */
        memset(s->ledger.slots, 0, s->ledger.nslots * sizeof *s->ledger.slots);
        for (size_t i = 0; i < s->ledger.n; i++)
            slot_put(&s->ledger, i);
    }
    if (post) {
        for (size_t i = 0; i < e->npostings; i++) {
            balance *b =
                coll_at(&s->balances, (size_t)coll_find(&s->balances, e->postings[i].account));
            b->amount_minor += e->postings[i].amount_minor;
        }
        s->changes[MODEL_LEDGER]++;
    }
    memset(e, 0, sizeof *e);
    return STORE_APPLIED;
}

/* Appends a decision record (immutable; one seen before is stale). */
static store_result put_decision(store *s, model_decision *d)
{
    if (coll_find(&s->decisions, d->id) >= 0)
        return STORE_STALE;
    if (coll_reserve(&s->decisions) < 0)
        return STORE_NOMEM;
    coll_append(&s->decisions, d);
    memset(d, 0, sizeof *d);
    return STORE_APPLIED;
}

/* Whether the store holds the object an event is about (versioned kinds; the others:
 * true, their own put decides). */
static bool held(const store *s, const model_event *ev)
{
    switch (ev->kind) {
        case MODEL_LISTING: return coll_find(&s->listings, ev->u.listing.id) >= 0;
        case MODEL_NEGOTIATION: return coll_find(&s->negotiations, ev->u.negotiation.id) >= 0;
        case MODEL_PURCHASE: return coll_find(&s->purchases, ev->u.purchase.id) >= 0;
        case MODEL_ALERT: return coll_find(&s->alerts, ev->u.alert.id) >= 0;
        case MODEL_DISPUTE: return coll_find(&s->disputes, ev->u.dispute.id) >= 0;
        default: return true;
    }
}

/* The policy of id as the store holds it (writable), or NULL. */
static model_policy *policy_at(store *s, const char *id)
{
    long i = coll_find(&s->policies, id);
    return i >= 0 ? (model_policy *)coll_at(&s->policies, (size_t)i) : NULL;
}

/* A new purchase (version 1 on the stream) counts the hits of the policies it names, as
 * marketd counted them when it made it (marketd/policy.c: the live policy that decided,
 * each shadow one that matched): marketd keeps hit counts without a new version or an
 * event, so the console adds what the stream shows to the snapshot's counts. Counted
 * whether or not the purchase is then held. */
static void count_policy_hits(store *s, const model_purchase *p)
{
    bool counted = false;
    model_policy *pol = p->policy.id[0] ? policy_at(s, p->policy.id) : NULL;
    if (pol) {
        pol->hits++;
        counted = true;
    }
    for (size_t i = 0; i < p->npolicy_shadow; i++)
        if ((pol = policy_at(s, p->policy_shadow[i].id))) {
            pol->shadow_hits++;
            counted = true;
        }
    if (counted)
        s->changes[MODEL_POLICY]++;
}

/* A stream event about an object neither held nor in the working set: dropped
 * (STORE_STALE), but while a backfill runs a listing is parked (its newest version), for
 * a page's thread that will name it (store_backfill). */
static store_result park(store *s, model_event *ev)
{
    if (s->backfill && ev->kind == MODEL_LISTING &&
        put_versioned(&s->parked, &ev->u.listing, sizeof ev->u.listing,
                      offsetof(model_listing, version), clear_listing, NULL) == STORE_APPLIED)
        memset(&ev->u, 0, sizeof ev->u);
    return STORE_STALE;
}

/* Puts one object into the store, whatever its kind; post says whether it is a stream
 * event (a ledger entry changes the balances; an object not held is applied only when it
 * belongs to the working set) or a snapshot's (entries come with their balances). */
static store_result put(store *s, model_event *ev, bool post)
{
    store_result r = STORE_STALE;
    if (post && ev->kind == MODEL_PURCHASE && ev->u.purchase.version == 1)
        count_policy_hits(s, &ev->u.purchase);
    if (post && s->backfill)
        keep_note_seen(s, ev);
    if (post && !held(s, ev) && !keep_admits(s, ev))
        return park(s, ev);
    model_id named = "";
    if (ev->kind == MODEL_NEGOTIATION)
        memcpy(named, ev->u.negotiation.listing_id, sizeof named);
    else if (ev->kind == MODEL_PURCHASE)
        memcpy(named, ev->u.purchase.listing_id, sizeof named);
    switch (ev->kind) {
        case MODEL_AGENT:
            r = put_versioned(&s->agents, &ev->u.agent, sizeof ev->u.agent,
                              offsetof(model_agent, version), clear_agent, NULL);
            break;
        case MODEL_LISTING:
            r = put_versioned(&s->listings, &ev->u.listing, sizeof ev->u.listing,
                              offsetof(model_listing, version), clear_listing, NULL);
            break;
        case MODEL_NEGOTIATION:
            r = put_versioned(&s->negotiations, &ev->u.negotiation, sizeof ev->u.negotiation,
                              offsetof(model_negotiation, version), clear_negotiation,
                              keep_messages);
            break;
        case MODEL_MESSAGE: r = put_message(s, &ev->u.message); break;
        case MODEL_PURCHASE:
            r = put_versioned(&s->purchases, &ev->u.purchase, sizeof ev->u.purchase,
                              offsetof(model_purchase, version), clear_purchase, keep_claim);
            break;
        case MODEL_CLAIM: r = put_claim(s, &ev->u.claim); break;
        case MODEL_ALERT:
            r = put_versioned(&s->alerts, &ev->u.alert, sizeof ev->u.alert,
                              offsetof(model_alert, version), clear_alert, NULL);
            break;
        case MODEL_POLICY: /* every policy is in the working set (store_keep.c admits it) */
            r = put_versioned(&s->policies, &ev->u.policy, sizeof ev->u.policy,
                              offsetof(model_policy, version), clear_policy, NULL);
            break;
        case MODEL_DISPUTE:
            r = put_versioned(&s->disputes, &ev->u.dispute, sizeof ev->u.dispute,
                              offsetof(model_dispute, version), clear_dispute, NULL);
            break;
        case MODEL_LEDGER: r = put_ledger(s, &ev->u.ledger, post); break;
        case MODEL_DECISION: r = put_decision(s, &ev->u.decision); break;
        case MODEL_FLEET:
            /* an older version is not applied; a fleet without one (an older server)
             * follows the stream's order */
            if (ev->u.fleet.version && ev->u.fleet.version < s->fleet.version) {
                r = STORE_STALE;
                break;
            }
            model_fleet_clear(&s->fleet);
            s->fleet = ev->u.fleet;
            memset(&ev->u.fleet, 0, sizeof ev->u.fleet);
            r = STORE_APPLIED;
            break;
        case MODEL_KIND_COUNT: break;
    }
    if (r == STORE_APPLIED) {
        s->changes[ev->kind]++;
        memset(&ev->u, 0, sizeof ev->u); /* its strings are the store's now */
        if (named[0])
            keep_note_named(s, named);
        if (post) /* a snapshot is the server's working set: its objects all stay */
            keep_sweep(s, ev->kind);
    }
    return r;
}

/* Takes the parked listing at i out (into *l; the collection's last moves into i). */
static void unpark(store *s, long i, model_listing *l)
{
    model_listing *p = coll_at(&s->parked, (size_t)i);
    *l = *p;
    free(p);
    coll *c = &s->parked;
    if ((size_t)i != c->n - 1)
        memcpy(c->base + (size_t)i * c->elem, c->base + (c->n - 1) * c->elem, c->elem);
    c->n--;
    memset(c->slots, 0, c->nslots * sizeof *c->slots); /* the slots again, in place */
    for (size_t k = 0; k < c->n; k++)
        slot_put(c, k);
}

store_result store_backfill(store *s, model_event *ev)
{
    if (ev->kind == MODEL_NEGOTIATION) {
        model_negotiation *n = &ev->u.negotiation;
        const seen_thread *t = keep_seen(s, n->id);
        if (t && t->version >= n->version)
            return STORE_STALE; /* the stream said newer (maybe closed, and dropped) */
        if (t && t->messages > n->message_count)
            n->message_count = t->messages;
    } else if (ev->kind == MODEL_LISTING) {
        long i = s->backfill ? coll_find(&s->parked, ev->u.listing.id) : -1;
        if (i >= 0 &&
            ((model_listing *)coll_at(&s->parked, (size_t)i))->version >= ev->u.listing.version) {
            model_listing_clear(&ev->u.listing); /* the stream's newer one instead */
            unpark(s, i, &ev->u.listing);
        }
    } else {
        return STORE_STALE; /* a backfill brings threads and their listings only */
    }
    return put(s, ev, false);
}

store_result store_load(store *s, model_event *ev)
{
    return put(s, ev, false);
}

store_result store_apply(store *s, model_event *ev)
{
    if (ev->seq <= s->seq)
        return STORE_DUPLICATE;
    if (ev->seq > s->seq + 1)
        return STORE_GAP;
    int64_t seq = ev->seq;
    store_result r = put(s, ev, true);
    if (r != STORE_NOMEM)
        s->seq = seq; /* a stale object still moves the position */
    return r;
}

int store_set_balance(store *s, const char *account, int64_t amount_minor)
{
    long i = coll_find(&s->balances, account);
    if (i < 0) {
        if (coll_reserve(&s->balances) < 0)
            return -1;
        balance b = {.amount_minor = 0};
        size_t n = strlen(account);
        if (n >= sizeof b.account)
            return -1;
        memcpy(b.account, account, n + 1);
        coll_append(&s->balances, &b);
        i = (long)s->balances.n - 1;
    }
    ((balance *)coll_at(&s->balances, (size_t)i))->amount_minor = amount_minor;
    s->changes[MODEL_LEDGER]++;
    return 0;
}

void store_skip(store *s, int64_t seq)
{
    if (seq > s->seq)
        s->seq = seq;
}

void store_set_epoch(store *s, const char *epoch)
{
    size_t n = strlen(epoch);
    if (n >= sizeof s->epoch)
        n = sizeof s->epoch - 1;
    memcpy(s->epoch, epoch, n);
    s->epoch[n] = '\0';
}

const char *store_epoch(const store *s)
{
    return s->epoch;
}

int64_t store_seq(const store *s)
{
    return s->seq;
}

uint64_t store_changes(const store *s, model_kind kind)
{
    return (unsigned)kind < MODEL_KIND_COUNT ? s->changes[kind] : 0;
}

/* Lookup in a byptr collection. */
static const void *find_ptr(const coll *c, const char *id)
{
    long i = coll_find(c, id);
    return i < 0 ? NULL : coll_at(c, (size_t)i);
}

const model_agent *store_agent(const store *s, const char *id)
{
    return find_ptr(&s->agents, id);
}

const model_listing *store_listing(const store *s, const char *id)
{
    return find_ptr(&s->listings, id);
}

const model_negotiation *store_negotiation(const store *s, const char *id)
{
    return find_ptr(&s->negotiations, id);
}

const model_purchase *store_purchase(const store *s, const char *id)
{
    return find_ptr(&s->purchases, id);
}

const model_alert *store_alert(const store *s, const char *id)
{
    return find_ptr(&s->alerts, id);
}

const model_policy *store_policy(const store *s, const char *id)
{
    return find_ptr(&s->policies, id);
}

const model_dispute *store_dispute(const store *s, const char *id)
{
    return find_ptr(&s->disputes, id);
}

const model_fleet *store_fleet(const store *s)
{
    return &s->fleet;
}

const model_agent *const *store_agents(const store *s, size_t *n)
{
    *n = s->agents.n;
    return (const model_agent *const *)(const void *)s->agents.base;
}

const model_policy *const *store_policies(const store *s, size_t *n)
{
    *n = s->policies.n;
    return (const model_policy *const *)(const void *)s->policies.base;
}

const model_listing *const *store_listings(const store *s, size_t *n)
{
    *n = s->listings.n;
    return (const model_listing *const *)(const void *)s->listings.base;
}

const model_negotiation *const *store_negotiations(const store *s, size_t *n)
{
    *n = s->negotiations.n;
    return (const model_negotiation *const *)(const void *)s->negotiations.base;
}

const model_purchase *const *store_purchases(const store *s, size_t *n)
{
    *n = s->purchases.n;
    return (const model_purchase *const *)(const void *)s->purchases.base;
}

const model_alert *const *store_alerts(const store *s, size_t *n)
{
    *n = s->alerts.n;
    return (const model_alert *const *)(const void *)s->alerts.base;
}

const model_dispute *const *store_disputes(const store *s, size_t *n)
{
    *n = s->disputes.n;
    return (const model_dispute *const *)(const void *)s->disputes.base;
}

const model_ledger_entry *store_ledger(const store *s, size_t *n)
{
    *n = s->ledger.n;
    return (const model_ledger_entry *)(const void *)s->ledger.base;
}

const model_decision *store_decisions(const store *s, size_t *n)
{
    *n = s->decisions.n;
    return (const model_decision *)(const void *)s->decisions.base;
}

int64_t store_balance(const store *s, const char *account)
{
    long i = coll_find(&s->balances, account);
    return i < 0 ? 0 : ((const balance *)coll_at(&s->balances, (size_t)i))->amount_minor;
}

size_t store_balances(const store *s, const char **accounts, int64_t *amounts, size_t max)
{
    size_t n = s->balances.n < max ? s->balances.n : max;
    for (size_t i = 0; i < n; i++) {
        const balance *b = coll_at(&s->balances, i);
        accounts[i] = b->account;
        amounts[i] = b->amount_minor;
    }
    return s->balances.n;
}
