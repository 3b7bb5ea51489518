/* trade.c: the agent endpoints, where agents (simulated or real) trade.
 *
 * Listings (sellers), negotiations opened by buyers, offers, counters, notes, rejects,
 * and accept, which makes the buyer's purchase at once and runs the risk rules on it.
 * Every check a real agent meets is here; the fleet goes through the same code.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define QTY_MAX 1000000000LL

/* Loads the calling agent (owned) or fails with 401. */
static json_t *self_agent(mkt_ctx *c)
{
    json_t *ag = mkt_get(c->m, "agent", c->a->agent_id);
    if (!ag)
        mkt_fail(c, 401, "unauthorized", NULL, NULL, "unknown agent");
    return ag;
}

/* The reference price is the median asking price of the newest MKT_REF_WINDOW listings
 * of the same category and currency, plus the new one. Each (category, currency) keeps
 * its window in the tables ref_prices (a ring of slots) and ref_keys (how many prices
 * it has seen), written in the listing's own transaction, so a restart gives the same
 * figures and nothing ever scans the listings (that scan under the market's lock cost
 * 33 ms a listing at 10k listings once a seller rotated through more categories than
 * the memory holds: issue 11). The newest REF_KEYS windows are also held in memory, as
 * the ring and the same values sorted; one not there is loaded by its primary key
 * (at most MKT_REF_WINDOW rows). A failed transaction drops the memory (mkt_rollback),
 * so memory and tables never disagree. */
#define REF_KEYS 256

struct mkt_refcache {
    char category[260], currency[4];
    int64_t ring[MKT_REF_WINDOW];   /* by slot: the price seen when total % W was slot */
    int64_t sorted[MKT_REF_WINDOW]; /* the same n values, ascending */
    int n;                          /* values held: min(total, W) */
    int64_t total;                  /* prices ever added */
    int64_t used;                   /* for evicting the least recently used window */
};

/* qsort order of int64_t values, ascending. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The first index of sorted values v[0..n) not below x. */
static int lower_bound(const int64_t *v, int n, int64_t x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Loads window r (category and currency set) from its tables. Returns 0 or -1. */
static int ref_load(market *m, struct mkt_refcache *r)
{
    int got =
        STORE(m->db, ref_window, r->category, r->currency, &r->total, r->ring, MKT_REF_WINDOW);
    r->n = r->total < MKT_REF_WINDOW ? (int)r->total : MKT_REF_WINDOW;
    if (got != r->n)
        return -1;
    memcpy(r->sorted, r->ring, (size_t)r->n * sizeof r->sorted[0]);
    qsort(r->sorted, (size_t)r->n, sizeof r->sorted[0], cmp_i64);
    return 0;
}

/* Finds or loads the window of a category and currency (borrowed; NULL on failure). */
static struct mkt_refcache *ref_window(market *m, const char *category, const char *currency)
{
    if (!m->refs && !(m->refs = calloc(REF_KEYS, sizeof *m->refs)))
        return NULL;
    struct mkt_refcache *r = NULL, *lru = &m->refs[0];
    for (int i = 0; i < REF_KEYS && !r; i++) {
        struct mkt_refcache *e = &m->refs[i];
        if (e->used && strcmp(e->category, category) == 0 && strcmp(e->currency, currency) == 0)
            r = e;
        else if (e->used < lru->used)
            lru = e;
    }
    if (!r) {
        r = lru;
        memset(r, 0, sizeof *r);
        snprintf(r->category, sizeof r->category, "%s", category);
        snprintf(r->currency, sizeof r->currency, "%s", currency);
        if (strcmp(r->category, category) != 0 || ref_load(m, r) != 0) {
            memset(r, 0, sizeof *r);
            return NULL;
        }
    }
    r->used = ++m->ref_clock;
    return r;
}

/* Adds price to window r, in memory and in its tables. Returns 0 or -1. */
static int ref_add(market *m, struct mkt_refcache *r, int64_t price)
{
    int slot = (int)(r->total % MKT_REF_WINDOW);
    m->refs_dirty = true;
    if (r->n == MKT_REF_WINDOW) { /* the oldest leaves */
        int i = lower_bound(r->sorted, r->n, r->ring[slot]);
        memmove(&r->sorted[i], &r->sorted[i + 1], (size_t)(r->n - i - 1) * sizeof r->sorted[0]);
        r->n--;
    }
    int i = lower_bound(r->sorted, r->n, price);
    memmove(&r->sorted[i + 1], &r->sorted[i], (size_t)(r->n - i) * sizeof r->sorted[0]);
    r->sorted[i] = price;
    r->n++;
    r->ring[slot] = price;
    r->total++;
    return STORE(m->db, ref_put, r->category, r->currency, slot, price, r->total);
}

/* Median unit price of the category's listings in currency with own counted (own is
 * then remembered for the next listing) into *out. Returns 0 or -1. */
static int reference_price(market *m, const char *category, const char *currency, int64_t own,
                           int64_t *out)
{
    struct mkt_refcache *r = ref_window(m, category, currency);
    if (!r)
        return -1;
    /* the k-th smallest of the window's values and own, without building that array */
    int n = r->n + 1, p = lower_bound(r->sorted, r->n, own);
#define KTH(k) ((k) < p ? r->sorted[(k)] : (k) == p ? own : r->sorted[(k)-1])
    int64_t lo = KTH(n % 2 ? n / 2 : n / 2 - 1), hi = KTH(n / 2);
#undef KTH
    *out = n % 2 ? hi : lo + (hi - lo) / 2;
    return ref_add(m, r, own);
}

/* Frees the reference-price windows (market_close, or a failed transaction). */
void mkt_refcache_free(market *m)
{
    free(m->refs);
    m->refs = NULL;
    m->refs_dirty = false;
}

/* True when agent id is paused (by anything: marketd/hold.c). */
static bool agent_paused(market *m, const char *id)
{
    json_t *ag = id ? mkt_get(m, "agent", id) : NULL;
    const char *st = mkt_str(ag, "status");
    bool paused = st && strcmp(st, "paused") == 0;
    json_decref(ag);
    return paused;
}

/* Reads and checks a currency field. Returns 1 ok, -1 failed. */
static int body_currency(mkt_ctx *c, const char **out)
{
    if (mkt_body_str(c, "currency", 3, 3, true, out) < 0)
        return -1;
    if (!money_currency_valid(*out)) {
        mkt_fail(c, 400, "bad_request", "currency", NULL, "unknown currency");
        return -1;
    }
    return 1;
}

/* How many open listings the seller has, counting no further than the cap (a partial
 * index holds only open listings, so this reads at most max_open_listings entries), or
 * -1. */
static int open_listings(market *m, const char *seller)
{
    return STORE(m->db, listings_open, seller, m->max_open_listings);
}

bool trade_post_listing(mkt_ctx *c)
{
    json_t *ag = self_agent(c);
    if (!ag)
        return false;
    const char *role = mkt_str(ag, "role"), *agcur = mkt_str(ag, "currency");
    bool seller = role && strcmp(role, "seller") == 0;
    char agcurrency[8];
    snprintf(agcurrency, sizeof agcurrency, "%s", agcur ? agcur : "");
    json_decref(ag);
    if (!seller)
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "only seller agents post listings");
    const char *title, *desc = "", *category, *currency;
    int64_t price, qty, floor = -1;
    if (mkt_body_str(c, "title", 1, 200, true, &title) < 0 ||
        mkt_body_str(c, "description", 0, 4096, false, &desc) < 0 ||
        mkt_body_str(c, "category", 1, 64, true, &category) < 0 || body_currency(c, &currency) < 0)
        return false;
    int r1 = mkt_body_int(c, "unit_price_minor", 0, MONEY_MAX_MINOR, &price);
    if (r1 < 0)
        return false;
    int r2 = mkt_body_int(c, "quantity", 1, QTY_MAX, &qty);
    if (r2 < 0)
        return false;
    if (mkt_body_int(c, "floor_minor", 0, MONEY_MAX_MINOR, &floor) < 0)
        return false;
    if (r1 == 0)
        return mkt_fail(c, 400, "bad_request", "unit_price_minor", NULL,
                        "unit_price_minor is required");
    if (r2 == 0)
        return mkt_fail(c, 400, "bad_request", "quantity", NULL, "quantity is required");
    int64_t whole; /* buying all of it must be a representable total */
    if (!money_mul(price, qty, &whole))
        return mkt_fail(c, 400, "bad_request", "quantity", NULL, "the total is out of range");
    if (strcmp(currency, agcurrency) != 0)
        return mkt_fail(c, 400, "bad_request", "currency", NULL,
                        "the listing's currency must be the agent's (%s)", agcurrency);
    int open = open_listings(c->m, c->a->agent_id);
    if (open < 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    if (open >= c->m->max_open_listings)
        return mkt_fail(c, 409, "too_many_listings", NULL, NULL,
                        "the seller has %d open listings, the most allowed; withdraw one first",
                        open);
    char id[72];
    int64_t ref;
    if (mkt_new_id(c->m, "lst_", id) != 0 || reference_price(c->m, category, currency, price, &ref))
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    json_t *l =
        json_pack("{ss sI ss ss ss ss sI ss sI sI so ss}", "id", id, "version", 1, "seller_id",
                  c->a->agent_id, "title", title, "description", desc, "category", category,
                  "unit_price_minor", (json_int_t)price, "currency", currency, "quantity",
                  (json_int_t)qty, "reference_price_minor", (json_int_t)ref, "floor_minor",
                  floor >= 0 ? json_integer(floor) : json_null(), "status", "open");
    if (!l || mkt_create(c->m, "listing", l, "created_at") != 0) {
        json_decref(l);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the listing");
    }
    return mkt_ok(c, 201, l);
}

bool trade_withdraw_listing(mkt_ctx *c)
{
    const char *id = c->seg[1];
    if (!text_valid_id(id, "lst_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid listing id");
    json_t *l = mkt_get(c->m, "listing", id);
    if (!l)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such listing");
    bool ok = false;
    if (strcmp(mkt_str(l, "seller_id"), c->a->agent_id) != 0)
        mkt_fail(c, 403, "forbidden", NULL, NULL, "only the seller may withdraw a listing");
    else if (strcmp(mkt_str(l, "status"), "open") != 0)
        mkt_fail(c, 409, "conflict", NULL, l, "the listing is %s", mkt_str(l, "status"));
    else {
        json_object_set_new(l, "status", json_string("withdrawn"));
        if (mkt_update(c->m, "listing", l) != 0)
            mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the listing");
        else
            ok = mkt_ok(c, 200, json_incref(l));
    }
    json_decref(l);
    return ok;
}

/* Builds and stores the next message of neg (borrowed; its message_count is bumped
 * but not stored). price/qty < 0 mean null. Returns the message (owned) or NULL. */
static json_t *add_message(market *m, json_t *neg, const char *from, const char *kind,
                           int64_t price, int64_t qty, const char *text)
{
    int64_t seq = mkt_int(neg, "message_count") + 1;
    json_t *msg = json_pack("{ss sI ss ss so so ss so}", "negotiation_id", mkt_str(neg, "id"),
                            "seq", (json_int_t)seq, "from", from, "kind", kind, "unit_price_minor",
                            price >= 0 ? json_integer(price) : json_null(), "quantity",
                            qty >= 0 ? json_integer(qty) : json_null(), "text", text, "at",
                            mkt_time_json(m->now));
    if (!msg || mkt_put_message(m, msg) != 0) {
        json_decref(msg);
        return NULL;
    }
    json_object_set_new(neg, "message_count", json_integer(seq));
    return msg;
}

int trade_system_message(market *m, json_t *neg, const char *text)
{
    json_t *msg = add_message(m, neg, "market", "system", -1, -1, text);
    json_decref(msg);
    return msg ? 0 : -1;
}

/* Puts terms (price, qty) on neg's table, put there by agent `by`: the one place that
 * records who made the current terms, which decides who may accept them (only the other
 * party). A note, a reject or a system message leaves the terms and their author as they
 * are; a purchase cap takes them off the table (marketd/settle.c, settle_thread). */
static void put_terms(json_t *neg, const char *by, int64_t price, int64_t qty)
{
    json_object_set_new(neg, "terms",
                        json_pack("{sI sI ss}", "unit_price_minor", (json_int_t)price, "quantity",
                                  (json_int_t)qty, "by", by));
}

/* True when (price, qty) is inside the negotiation's cap. */
static bool inside_cap(json_t *neg, int64_t price, int64_t qty)
{
    json_t *cap = json_object_get(neg, "cap");
    if (!json_is_object(cap))
        return true;
    json_t *mp = json_object_get(cap, "max_unit_price_minor");
    json_t *mq = json_object_get(cap, "max_quantity");
    if (json_is_integer(mp) && price > json_integer_value(mp))
        return false;
    if (json_is_integer(mq) && qty > json_integer_value(mq))
        return false;
    return true;
}

/* Answers 409 cap_exceeded for terms (price, qty) outside neg's cap, in words. */
static bool cap_exceeded(mkt_ctx *c, json_t *neg, const char *what, int64_t price, int64_t qty)
{
    char unit[MKT_MONEY_LEN], words[160], n[MKT_COUNT_LEN];
    const char *cur = mkt_str(neg, "currency");
    return mkt_fail(c, 409, "cap_exceeded", NULL, neg,
                    "%s %s x %s is outside the supervisor's cap (%s)", what, mkt_count(n, qty),
                    mkt_money(unit, price, cur),
                    mkt_cap_words(words, sizeof words, json_object_get(neg, "cap"), cur));
}

bool trade_open_negotiation(mkt_ctx *c)
{
    market *m = c->m;
    json_t *ag = self_agent(c);
    if (!ag)
        return false;
    bool buyer = strcmp(mkt_str(ag, "role"), "buyer") == 0;
    char agcur[8];
    snprintf(agcur, sizeof agcur, "%s", mkt_str(ag, "currency"));
    json_decref(ag);
    if (!buyer)
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "only buyer agents open negotiations");
    if (presence_refuse_negotiation(c)) /* 409 unattended (marketd/presence.c) */
        return false;
    const char *lid, *text = "";
    int64_t price, qty;
    if (mkt_body_str(c, "listing_id", 1, 64, true, &lid) < 0)
        return false;
    if (!text_valid_id(lid, "lst_"))
        return mkt_fail(c, 400, "bad_request", "listing_id", NULL, "not a valid listing id");
    int r1 = mkt_body_int(c, "unit_price_minor", 0, MONEY_MAX_MINOR, &price);
    if (r1 < 0)
        return false;
    int r2 = mkt_body_int(c, "quantity", 1, QTY_MAX, &qty);
    if (r2 < 0 || mkt_body_str(c, "text", 0, 4096, false, &text) < 0)
        return false;
    if (r1 == 0 || r2 == 0)
        return mkt_fail(c, 400, "bad_request", r1 == 0 ? "unit_price_minor" : "quantity", NULL,
                        "an opening offer needs a unit price and a quantity");
    int64_t total;
    if (!money_mul(price, qty, &total))
        return mkt_fail(c, 400, "bad_request", "quantity", NULL, "the total is out of range");
    json_t *l = mkt_get(m, "listing", lid);
    if (!l)
        return mkt_fail(c, 404, "not_found", "listing_id", NULL, "no such listing");
    bool ok = false;
    if (strcmp(mkt_str(l, "status"), "open") != 0) {
        mkt_fail(c, 409, "conflict", "listing_id", NULL, "the listing is %s", mkt_str(l, "status"));
    } else if (strcmp(mkt_str(l, "currency"), agcur) != 0) {
        mkt_fail(c, 409, "conflict", "listing_id", NULL, "the listing is in %s, the agent in %s",
                 mkt_str(l, "currency"), agcur);
    } else if (strcmp(mkt_str(l, "seller_id"), c->a->agent_id) == 0) {
        mkt_fail(c, 409, "conflict", "listing_id", NULL, "an agent cannot buy from itself");
    } else if (halt_refuse(c, lid, c->a->agent_id)) {
        /* answered 409 halted (marketd/halt.c) */
    } else if (agent_paused(m, mkt_str(l, "seller_id"))) {
        mkt_fail(c, 409, "conflict", "listing_id", NULL,
                 "the seller %s is paused: nothing trades with it until it is resumed",
                 mkt_str(l, "seller_id"));
    } else {
        char id[72];
        json_t *neg = NULL, *msg = NULL;
        if (mkt_new_id(m, "neg_", id) == 0)
            neg = json_pack("{ss sI ss ss ss ss sn sn sn ss sI so s[]}", "id", id, "version", 1,
                            "listing_id", lid, "buyer_id", c->a->agent_id, "seller_id",
                            mkt_str(l, "seller_id"), "status", "open", "terms", "agreed_terms",
                            "cap", "currency", agcur, "message_count", (json_int_t)0, "opened_at",
                            mkt_time_json(m->now), "held_by");
        if (neg)
            put_terms(neg, c->a->agent_id, price, qty);
        /* the negotiation first, so that its first message follows it on the stream */
        if (neg && mkt_create(m, "negotiation", neg, NULL) == 0 &&
            (msg = add_message(m, neg, c->a->agent_id, "offer", price, qty, text)) &&
            mkt_update(m, "negotiation", neg) == 0 && risk_velocity(m, c->a->agent_id) == 0)
            ok = mkt_ok(c, 201, json_pack("{sO sO}", "negotiation", neg, "message", msg));
        else
            mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the negotiation");
        json_decref(neg);
        json_decref(msg);
    }
    json_decref(l);
    return ok;
}

/* True (with its id in out) when a party of neg is paused: no purchase may involve a
 * paused agent. Its threads are held while it is paused (marketd/hold.c), so this is the
 * last line, for what a hold cannot cover (a database from before holds). */
static bool paused_party(market *m, json_t *neg, char out[72])
{
    static const char *const sides[] = {"buyer_id", "seller_id"};
    for (int i = 0; i < 2; i++) {
        if (agent_paused(m, mkt_str(neg, sides[i]))) {
            snprintf(out, 72, "%s", mkt_str(neg, sides[i]));
            return true;
        }
    }
    return false;
}

/* Makes the purchase for an accepted negotiation; returns it (owned) or NULL. */
static json_t *make_purchase(mkt_ctx *c, json_t *neg, int64_t price, int64_t qty,
                             const char *ship_to)
{
    market *m = c->m;
    json_t *buyer = mkt_get(m, "agent", mkt_str(neg, "buyer_id"));
    json_t *l = mkt_get(m, "listing", mkt_str(neg, "listing_id"));
    json_t *p = NULL;
    int64_t total;
    char id[72];
    policy_verdict pv = {0};
    if (!buyer || !l || !money_mul(price, qty, &total) || mkt_new_id(m, "pur_", id) != 0)
        goto out;
    if (!ship_to) {
        json_t *addrs = json_object_get(buyer, "addresses");
        ship_to = json_string_value(json_array_get(addrs, 0));
    }
    p = json_pack("{ss sI ss ss ss ss sI sI sI ss so ss s[] sI sn ss sn sI sn}", "id", id,
                  "version", 1, "negotiation_id", mkt_str(neg, "id"), "listing_id",
                  mkt_str(neg, "listing_id"), "buyer_id", mkt_str(neg, "buyer_id"), "seller_id",
                  mkt_str(neg, "seller_id"), "unit_price_minor", (json_int_t)price, "quantity",
                  (json_int_t)qty, "total_minor", (json_int_t)total, "currency",
                  mkt_str(neg, "currency"), "ship_to", ship_to ? json_string(ship_to) : json_null(),
                  "status", "pending_approval", "flags", "risk_score", (json_int_t)0, "decide_by",
                  "default_on_timeout", "veto", "decision", "refunded_minor", (json_int_t)0,
                  "dispute_id"); /* refunds and disputes after it: marketd/dispute.c */
    if (!p || risk_check(m, p, buyer, l, neg) != 0 || policy_decide(m, p, buyer, l, &pv) != 0)
        goto fail;
    /* the first live policy that matches decides (marketd/policy.c); none: the threshold.
     * At or above two_person_minor nothing automatic approves: a policy's approve waits
     * for two supervisors instead (decide.c), with the longer deadline. */
    int64_t threshold = mkt_int(json_object_get(buyer, "limits"), "approval_threshold_minor");
    bool two = agents_two_person(buyer, total);
    if (two && pv.action && !strcmp(pv.action, "approve"))
        pv.action = "review";
    bool clean =
        pv.action ? !strcmp(pv.action, "approve")
                  : !two && json_array_size(json_object_get(p, "flags")) == 0 && total <= threshold;
    json_object_set_new(p, "approvals_required", json_integer(two ? 2 : 1));
    json_object_set_new(p, "approvals", json_array());
    presence_restrict(m, p, &pv, &clean); /* unattended: a person decides */
    if (clean) {
        json_object_set_new(p, "status", json_string("approved"));
    } else {
        int64_t wait_s = two ? m->two_person_timeout_s : m->decide_timeout_s;
        json_object_set_new(p, "decide_by", mkt_time_json(m->now + wait_s * 1000));
    }
    policy_apply(m, p, &pv);
    if (mkt_create(m, "purchase", p, "created_at") != 0 || risk_raise(m, p) != 0)
        goto fail;
    m->st.purchases++;
    if ((clean && settle_purchase(m, p) != 0) || policy_follow(m, p, &pv) != 0)
        goto fail;
    goto out;
fail:
    json_decref(p);
    p = NULL;
out:
    json_decref(pv.policy);
    json_decref(buyer);
    json_decref(l);
    return p;
}

/* A message's body: its kind, text, ship_to, and terms (-1: none given). */
typedef struct msgbody {
    const char *kind, *text, *ship_to;
    bool offer, accept; /* an offer or counter; an accept */
    int64_t price, qty;
} msgbody;

/* Reads and checks a message's body. False: answered (400). */
static bool message_body(mkt_ctx *c, msgbody *b)
{
    *b = (msgbody){.text = "", .price = -1, .qty = -1};
    if (mkt_body_str(c, "kind", 1, 16, true, &b->kind) < 0 ||
        mkt_body_str(c, "text", 0, 4096, false, &b->text) < 0 ||
        mkt_body_str(c, "ship_to", 1, 500, false, &b->ship_to) < 0)
        return false;
    const char *kind = b->kind;
    b->offer = !strcmp(kind, "offer") || !strcmp(kind, "counter");
    b->accept = !strcmp(kind, "accept");
    if (!b->offer && !b->accept && strcmp(kind, "reject") != 0 && strcmp(kind, "note") != 0)
        return mkt_fail(c, 400, "bad_request", "kind", NULL,
                        "kind must be offer, counter, accept, reject or note");
    int r1 = mkt_body_int(c, "unit_price_minor", 0, MONEY_MAX_MINOR, &b->price);
    if (r1 < 0)
        return false;
    int r2 = mkt_body_int(c, "quantity", 1, QTY_MAX, &b->qty);
    if (r2 < 0)
        return false;
    if (b->offer && (r1 == 0 || r2 == 0))
        return mkt_fail(c, 400, "bad_request", r1 == 0 ? "unit_price_minor" : "quantity", NULL,
                        "an %s needs a unit price and a quantity", kind);
    int64_t total;
    if (b->price >= 0 && b->qty >= 0 && !money_mul(b->price, b->qty, &total))
        return mkt_fail(c, 400, "bad_request", "quantity", NULL, "the total is out of range");
    return true;
}

/* Checks that the caller may accept the terms on neg's table, and fills in b's terms
 * from them where the body gave none. False: answered (409, 400). */
static bool may_accept(mkt_ctx *c, json_t *neg, msgbody *b)
{
    json_t *terms = json_object_get(neg, "terms");
    if (!json_is_object(terms))
        return mkt_fail(c, 409, "conflict", NULL, neg, "there are no terms on the table to accept");
    const char *by = mkt_str(terms, "by");
    if (!by || strcmp(by, c->a->agent_id) == 0)
        return mkt_fail(c, 409, "own_offer", NULL, neg,
                        "these are the caller's own terms: only the party that did not put them "
                        "on the table may accept them");
    char paused[72];
    if (paused_party(c->m, neg, paused))
        return mkt_fail(c, 409, "conflict", NULL, neg,
                        "agent %s is paused: no purchase can involve it until it is resumed",
                        paused);
    if (halt_refuse(c, mkt_str(neg, "listing_id"), mkt_str(neg, "buyer_id")))
        return false;
    if (b->price < 0)
        b->price = mkt_int(terms, "unit_price_minor");
    if (b->qty < 0)
        b->qty = mkt_int(terms, "quantity");
    int64_t total;
    if (!money_mul(b->price, b->qty, &total))
        return mkt_fail(c, 400, "bad_request", "quantity", NULL, "the total is out of range");
    if (!inside_cap(neg, b->price, b->qty))
        return cap_exceeded(c, neg, "the terms", b->price, b->qty);
    return true;
}

/* Checks that the caller may post message b on neg: a party, the negotiation open, an
 * offer inside its cap, an accept of the other party's terms. False: answered. */
static bool may_post(mkt_ctx *c, json_t *neg, msgbody *b)
{
    const char *me = c->a->agent_id, *status = mkt_str(neg, "status");
    if (strcmp(mkt_str(neg, "buyer_id"), me) != 0 && strcmp(mkt_str(neg, "seller_id"), me) != 0)
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "not a party to this negotiation");
    if (strcmp(status, "open") != 0) {
        char who[400] = "";
        if (strcmp(status, "held") == 0)
            hold_describe(neg, who, sizeof who);
        return mkt_fail(c, 409, "conflict", NULL, neg, "the negotiation is %s%s%s", status,
                        who[0] ? " by " : "", who);
    }
    if (b->offer && !inside_cap(neg, b->price, b->qty))
        return cap_exceeded(c, neg, "the offer", b->price, b->qty);
    return !b->accept || may_accept(c, neg, b);
}

bool trade_post_message(mkt_ctx *c)
{
    market *m = c->m;
    const char *id = c->seg[1];
    if (!text_valid_id(id, "neg_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid negotiation id");
    msgbody b;
    if (!message_body(c, &b))
        return false;
    json_t *neg = mkt_get(m, "negotiation", id);
    if (!neg)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such negotiation");
    bool ok = false;
    const char *me = c->a->agent_id;
    json_t *terms = json_object_get(neg, "terms");
    json_t *msg = NULL, *p = NULL;
    if (!may_post(c, neg, &b))
        goto out;
    msg = add_message(m, neg, me, b.kind, b.price, b.qty, b.text);
    if (!msg)
        goto fail;
    if (b.offer) {
        put_terms(neg, me, b.price, b.qty);
    } else if (b.accept) {
        json_object_set_new(neg, "status", json_string("agreed"));
        json_object_set(neg, "agreed_terms", terms);
    } else if (!strcmp(b.kind, "reject")) {
        json_object_set_new(neg, "status", json_string("failed"));
    }
    if (mkt_update(m, "negotiation", neg) != 0)
        goto fail;
    if (b.offer && risk_velocity(m, me) != 0)
        goto fail;
    if (b.accept && !(p = make_purchase(c, neg, b.price, b.qty, b.ship_to)))
        goto fail;
    json_t *ans = json_pack("{sO sO}", "message", msg, "negotiation", neg);
    if (p)
        json_object_set_new(ans, "purchase", risk_purchase_view(c->a, p));
    ok = mkt_ok(c, 201, ans);
    goto out;
fail:
    mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the message");
out:
    json_decref(msg);
    json_decref(p);
    json_decref(neg);
    return ok;
}
