/* fleet_deal.c: one negotiation, from the buyer's opening offer to a purchase.
 *
 * The buyer opens, the seller answers with its tactic's counter (or meets the
 * buyer's price, or walks away at its deadline), the buyer counters or accepts
 * the terms on the table; an accepted deal is the buyer's purchase, checked by
 * the market's risk rules. Operator decisions come back as events: a veto ends
 * the deal and is remembered, a cap reopens it inside the cap, an expiry
 * abandons it, a hold or pause parks it.
 *
 * Faults: a deal may carry one injected fault, chosen so every kind gets its
 * turn. A clean deal stays inside every rule: mandate categories, verified
 * addresses, limits, prices under 1.45x the market's reference and at or above
 * the seller's floor, never the same terms on the same listing twice within the
 * duplicate window, and each agent under the velocity limit (fl_pace_ready).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/fleet_impl.h"

#define DUP_MEMORY 660.0 /* seconds: a little over the duplicate rule's 10 minutes */

/* ---- small helpers ---- */

/* Remembers something in a ring of FL_RECENT entries. */
void fl_remember(fl_recent *ring, int *n, fl_recent r)
{
    if (*n < FL_RECENT) {
        ring[(*n)++] = r;
        return;
    }
    /* Replace the oldest (smallest at). */
    int oldest = 0;
    for (int i = 1; i < FL_RECENT; i++)
        if (ring[i].at < ring[oldest].at)
            oldest = i;
    ring[oldest] = r;
}

/* True when buyer b bought listing li at exactly (price, qty) in the duplicate
 * window. */
static bool bought_recently(const fl_agent *b, int li, int64_t price, int64_t qty, double now)
{
    for (int i = 0; i < b->nbought; i++) {
        const fl_recent *r = &b->bought[i];
        if (r->listing == li && r->price == price && r->qty == qty && now - r->at < DUP_MEMORY)
            return true;
    }
    return false;
}

/* Rounds a classifieds offer the way people haggle: to $5 above $100, to $1 above $20,
 * else to 50 cents; down for a buyer, up for a seller (so a seller never goes under its
 * reservation by rounding). Business goods keep their cents. */
static int64_t round_offer(const fl_listing *l, int64_t v, bool up)
{
    if (sim_category_b2b(l->item.cat) || v <= 0)
        return v;
    int64_t unit = v >= 10000 ? 500 : v >= 2000 ? 100 : 50;
    int64_t r = up ? (v + unit - 1) / unit * unit : v / unit * unit;
    return r < 1 ? 1 : r;
}

/* Writes what the agent says into out. */
static void say(fleet *f, fl_deal *x, fl_agent *who, sim_say k, int64_t price, int64_t qty,
                char *out, size_t size)
{
    fl_listing *l = &f->listings[x->listing];
    sim_say_ctx c = {.cat = l->item.cat,
                     .mood = who->p.mood,
                     .noun = l->item.noun,
                     .price_minor = price,
                     .qty = qty,
                     .currency = "USD"};
    sim_say_text(&who->rng, k, &c, out, size);
}

/* Moves deal x into or out of waiting for a decision: a waiting deal is no live thread
 * (it does not hold back new ones) but still holds its listing. */
void fl_deal_set_waiting(fleet *f, fl_deal *x, bool wait)
{
    if ((x->state == DS_WAIT) == wait)
        return;
    fl_agent *b = &f->agents[x->buyer];
    fl_listing *l = &f->listings[x->listing];
    /* A listing with stock left is free for other buyers while this purchase waits; a
     * single item stays spoken for. */
    if (wait && x->holds_listing && l->stock > 1) {
        l->live_deals--;
        x->holds_listing = false;
    } else if (!wait && !x->holds_listing) {
        l->live_deals++;
        x->holds_listing = true;
    }
    if (wait) {
        b->live_deals--;
        f->live--;
        b->waiting_deals++;
        f->waiting++;
        x->state = DS_WAIT;
    } else {
        b->waiting_deals--;
        f->waiting--;
        b->live_deals++;
        f->live++;
        x->state = DS_BUYER;
    }
}

/* ---- ending ---- */

/* Ends deal d and frees its slot. */
void fl_deal_end(fleet *f, int d)
{
    fl_deal *x = &f->deals[d];
    if (x->state == DS_FREE)
        return;
    fl_unschedule(f, d);
    if (x->neg[0] && fl_map_get(&f->neg_ids, x->neg) == d)
        fl_map_del(&f->neg_ids, x->neg);
    if (x->pur[0] && fl_map_get(&f->pur_ids, x->pur) == d)
        fl_map_del(&f->pur_ids, x->pur);
    if (x->state == DS_WAIT) {
        f->agents[x->buyer].waiting_deals--;
        f->waiting--;
    } else {
        f->agents[x->buyer].live_deals--;
        f->live--;
    }
    if (x->holds_listing)
        f->listings[x->listing].live_deals--;
    memset(x, 0, sizeof *x);
    x->state = DS_FREE;
    x->heap_pos = -1;
    f->free_ids[f->nfree++] = d;
}

/* A planned fault that never happened goes back to the pool so its kind gets
 * another turn. */
static void fault_unplanned(fleet *f, fl_deal *x)
{
    if (x->fault != FAULT_NONE && !x->fault_done && f->fault_counts[x->fault] > 0)
        f->fault_counts[x->fault]--;
    x->fault = FAULT_NONE;
}

/* Ends a deal that failed before its purchase. */
void fl_deal_fail(fleet *f, int d)
{
    fl_deal *x = &f->deals[d];
    if (x->fault == FAULT_VELOCITY && x->fault_done) {
        /* already recorded */
    } else if (x->fault == FAULT_HIDDEN_TEXT && x->hidden && !x->fault_done) {
        /* The hidden text was sent; it produced no purchase. */
        fl_fault(f, FAULT_HIDDEN_TEXT, NULL, x->neg, f->listings[x->listing].id,
                 f->agents[x->buyer].id);
        x->fault_done = true;
    } else {
        fault_unplanned(f, x);
    }
    f->failures++;
    fl_deal_end(f, d);
}

/* ---- talking ---- */

/* Sends a message in deal x's thread as agent who. price/qty < 0: none. ship_to
 * may be NULL. Returns the HTTP status; *answer is the parsed answer (owned)
 * when wanted. */
static int post_message(fleet *f, fl_deal *x, fl_agent *who, const char *kind, int64_t price,
                        int64_t qty, const char *text, const char *ship_to, double now,
                        json_t **answer)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", x->neg);
    json_t *body = json_pack("{s:s, s:s}", "kind", kind, "text", text);
    if (price >= 0)
        json_object_set_new(body, "unit_price_minor", json_integer(price));
    if (qty >= 0)
        json_object_set_new(body, "quantity", json_integer(qty));
    if (ship_to)
        json_object_set_new(body, "ship_to", json_string(ship_to));
    json_t *ans = NULL;
    int st = fl_call(f, who->id, "POST", path, body, NULL, &ans);
    if (strcmp(kind, "offer") == 0 || strcmp(kind, "counter") == 0)
        fl_pace_note(who, now);
    if (st / 100 == 2) {
        json_t *neg = json_object_get(ans, "negotiation");
        int64_t v = fl_int(neg, "version", 0);
        if (v > x->neg_version)
            x->neg_version = v;
        if (price >= 0 && strcmp(kind, "accept") != 0) {
            x->table_price = price;
            x->table_qty = qty;
        }
    }
    if (answer)
        *answer = ans;
    else
        json_decref(ans);
    return st;
}

/* Reacts to a refused message: a paused agent or held thread parks the deal
 * (events will wake it), anything else ends it. */
static void refused(fleet *f, int d, int status, json_t *ans)
{
    fl_deal *x = &f->deals[d];
    const char *code = json_string_value(json_object_get(ans, "error"));
    json_t *cur = json_object_get(ans, "current");
    const char *st = json_string_value(json_object_get(cur, "status"));
    if (code && (strcmp(code, "agent_paused") == 0 || strcmp(code, "fleet_halted") == 0)) {
        x->parked = true;
        return;
    }
    if (status == 409 && st && strcmp(st, "held") == 0) {
        x->held = true;
        x->parked = true;
        return;
    }
    if (code && strcmp(code, "cap_exceeded") == 0 && cur) {
        json_t *cap = json_object_get(cur, "cap");
        x->cap_price = fl_int(cap, "max_unit_price_minor", -1);
        x->cap_qty = fl_int(cap, "max_quantity", -1);
        fl_schedule(f, d, fl_now() + fl_scaled(f, 2.0));
        return;
    }
    fl_deal_fail(f, d);
}

/* The faults a new purchase of deal x carries, each recorded with its ids. */
static void record_purchase_faults(fleet *f, fl_deal *x, bool first_shot)
{
    fl_listing *l = &f->listings[x->listing];
    fl_agent *b = &f->agents[x->buyer];
    bool hidden_done = false, mandate_done = false;
    if (first_shot && x->fault != FAULT_NONE && !x->fault_done) {
        const char *agent = x->fault == FAULT_BELOW_FLOOR ? f->agents[x->seller].id : b->id;
        fl_fault(f, x->fault, x->pur, x->neg, l->id, agent);
        hidden_done = x->fault == FAULT_HIDDEN_TEXT;
        mandate_done = x->fault == FAULT_OFF_MANDATE;
        x->fault_done = true;
    }
    /* Conditions that stay with a thread: hidden text in its listing or messages,
     * and a listing outside the mandate (after a cap the new purchase still
     * carries them). */
    if (!hidden_done && (l->hidden || x->hidden))
        fl_fault(f, FAULT_HIDDEN_TEXT, x->pur, x->neg, l->id,
                 l->hidden ? f->agents[l->seller].id : b->id);
    if (!mandate_done && !fl_in_mandate(b, l->item.cat))
        fl_fault(f, FAULT_OFF_MANDATE, x->pur, x->neg, l->id, b->id);
}

/* Takes a purchase answer: maps it to the deal, records faults, and decides
 * what the deal waits for. */
static void purchased(fleet *f, int d, json_t *p, double now, bool first_shot)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    if (x->pur[0] && fl_map_get(&f->pur_ids, x->pur) == d)
        fl_map_del(&f->pur_ids, x->pur);
    fl_str(p, "id", x->pur, sizeof x->pur);
    x->pur_version = fl_int(p, "version", 1);
    fl_map_put(&f->pur_ids, x->pur, d);
    f->purchases++;
    int64_t price = fl_int(p, "unit_price_minor", x->table_price);
    int64_t qty = fl_int(p, "quantity", x->table_qty);
    x->last_price = price;
    fl_remember(
        b->bought, &b->nbought,
        (fl_recent){
            .listing = x->listing, .seller = x->seller, .price = price, .qty = qty, .at = now});
    /* The duplicate fault is the second order, not the first. */
    bool shot = first_shot && (x->fault != FAULT_DUPLICATE || x->dup_placed);
    x->pur_fault = shot && !x->fault_done ? x->fault : FAULT_NONE;
    record_purchase_faults(f, x, shot);
    const char *st = json_string_value(json_object_get(p, "status"));
    if (x->fault == FAULT_DUPLICATE && !x->dup_placed) {
        /* The agent's order step misfires and places the same order again at once.
         */
        x->state = DS_DUPLICATE;
        fl_schedule(f, d, now);
        return;
    }
    if (st && strcmp(st, "pending_approval") == 0) {
        fl_deal_set_waiting(f, x, true);
        return;
    }
    if (st && strcmp(st, "settled") == 0)
        fl_dispute_settled(f, x, fl_int(p, "total_minor", 0), now);
    fl_deal_end(f, d);
}

/* ---- the steps ---- */

/* The buyer's opening offer. */
static void step_open(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    fl_listing *l = &f->listings[x->listing];
    if (fl_avoided(b, x->listing, x->seller, now) || !l->open) {
        fl_deal_fail(f, d); /* a veto or a sale since the deal was planned */
        return;
    }
    int64_t price = round_offer(
        l, sim_next_offer(&b->p.strategy, false, x->b_lo, x->b_hi, 0, NULL, 0, NULL, 0), false);
    int64_t qty = x->qty;
    switch (x->fault) {
        case FAULT_OVERPAY:
            /* Dollars typed where cents were meant: every amount is 100x. */
            x->b_lo *= 100;
            x->b_hi *= 100;
            price *= 100;
            break;
        case FAULT_QUANTITY_TYPO:
            qty = x->qty * 100 > b->max_quantity ? x->qty * 100 : b->max_quantity + 1;
            x->qty = qty;
            break;
        case FAULT_BELOW_FLOOR:
            price = fl_scale(l->item.floor_minor, sim_rng_uniform(&f->dyn, 0.6, 0.9));
            if (price >= l->item.floor_minor)
                price = l->item.floor_minor - 1;
            if (price < 1) {
                price = 1;
            }
            break;
        default: break;
    }
    char text[512];
    say(f, x, b, SAY_OPEN, price, qty, text, sizeof text);
    if (x->fault == FAULT_HIDDEN_TEXT) {
        sim_fault_hide(&f->dyn, text, sizeof text);
        x->hidden = true;
    }
    json_t *body = json_pack("{s:s, s:I, s:I, s:s}", "listing_id", l->id, "unit_price_minor",
                             (json_int_t)price, "quantity", (json_int_t)qty, "text", text);
    json_t *ans = NULL;
    int st = fl_call(f, b->id, "POST", "/v1/negotiations", body, NULL, &ans);
    fl_pace_note(b, now);
    json_t *neg = json_object_get(ans, "negotiation");
    fl_str(neg, "id", x->neg, sizeof x->neg);
    if (st / 100 != 2 || !x->neg[0]) {
        json_decref(ans);
        x->hidden = false; /* nothing was said */
        if (st / 100 != 2 && x->fault == FAULT_BELOW_FLOOR && l->item.floor_minor <= 1)
            x->fault = FAULT_NONE;
        fl_deal_fail(f, d);
        return;
    }
    x->neg_version = fl_int(neg, "version", 1);
    json_decref(ans);
    fl_map_put(&f->neg_ids, x->neg, d);
    x->bo[x->nb++] = price;
    x->table_price = price;
    x->table_qty = qty;
    if (x->fault == FAULT_VELOCITY) {
        x->state = DS_BURST;
        x->burst_left = (int)sim_rng_range(&f->dyn, 32, 38);
        fl_schedule(f, d, now);
        return;
    }
    x->state = DS_SELLER;
    fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 1.0, 4.0)));
}

/* The seller's answer: meet the buyer's price, counter, or walk away. */
static void step_seller(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *s = &f->agents[x->seller];
    int64_t bp = x->table_price, qty = x->table_qty;
    int t = x->ns;
    int64_t next =
        sim_next_offer(&s->p.strategy, true, x->s_lo, x->s_hi, t, x->so, x->ns, x->bo, x->nb);
    bool walk = false, agree = false;
    next = round_offer(&f->listings[x->listing], next, true);
    if (next > x->s_hi)
        next = x->s_hi;
    if (x->cap_price >= 0 && next > x->cap_price)
        next = x->cap_price;
    if (x->cap_qty >= 0 && qty > x->cap_qty)
        qty = x->cap_qty;
    bool below_cost = next < x->s_lo; /* a cap under the seller's reservation */
    if (x->fault == FAULT_BELOW_FLOOR && !x->fault_done)
        agree = true; /* a seller agent with a wrong cost basis takes the lowball */
    else if (!below_cost && sim_acceptable(true, bp, next))
        agree = true;
    else if (below_cost || t > s->p.strategy.deadline)
        walk = true;
    char text[512];
    json_t *ans = NULL;
    int st;
    if (agree) {
        say(f, x, s, SAY_SELLER_AGREE, bp, qty, text, sizeof text);
        st = post_message(f, x, s, "counter", bp, qty, text, NULL, now, &ans);
        if (st / 100 == 2 && x->ns < FL_HIST)
            x->so[x->ns++] = bp;
    } else if (walk) {
        say(f, x, s, SAY_SELLER_WALK, 0, qty, text, sizeof text);
        st = post_message(f, x, s, "reject", -1, -1, text, NULL, now, &ans);
        json_decref(ans);
        fl_deal_fail(f, d);
        return;
    } else {
        say(f, x, s, SAY_SELLER_COUNTER, next, qty, text, sizeof text);
        st = post_message(f, x, s, "counter", next, qty, text, NULL, now, &ans);
        if (st / 100 == 2 && x->ns < FL_HIST)
            x->so[x->ns++] = next;
    }
    if (st / 100 != 2) {
        refused(f, d, st, ans);
        json_decref(ans);
        return;
    }
    json_decref(ans);
    x->state = DS_BUYER;
    fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 1.5, 5.0)));
}

/* The buyer accepts the terms on the table (or, with a fault, states other
 * terms or a hallucinated address). */
static void buyer_accept(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    bool shot = !x->fault_done;
    int64_t price = -1, qty = -1;
    char ship[SIM_ADDR_MAX];
    snprintf(
        ship, sizeof ship, "%s",
        b->p.addresses[sim_rng_pick(&f->dyn, (size_t)(b->p.naddresses ? b->p.naddresses : 1))]);
    if (shot && x->fault == FAULT_BAD_SHIP_TO)
        sim_address_hallucinate(&f->dyn, &b->p, ship, sizeof ship);
    if (shot && x->fault == FAULT_TERMS_DRIFT) {
        /* Misremembering: the buyer states its own earlier offer, or a round 5%
         * less. */
        price = x->nb >= 1 ? x->bo[x->nb - 1] : fl_scale(x->table_price, 0.95);
        if (price == x->table_price)
            price = x->table_price > 1 ? fl_scale(x->table_price, 0.95) : x->table_price + 1;
        if (price == x->table_price)
            price = x->table_price - 1;
        qty = x->table_qty;
    }
    char text[512];
    say(f, x, b, SAY_ACCEPT, price >= 0 ? price : x->table_price, x->table_qty, text, sizeof text);
    json_t *ans = NULL;
    int st = post_message(f, x, b, "accept", price, qty, text, ship, now, &ans);
    json_t *p = json_object_get(ans, "purchase");
    if (st / 100 != 2 || !json_is_object(p)) {
        refused(f, d, st, ans);
        json_decref(ans);
        return;
    }
    purchased(f, d, p, now, shot);
    json_decref(ans);
}

/* The buyer's turn: accept, counter, or walk away at its deadline. */
static void step_buyer(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    int64_t sp = x->table_price, qty = x->table_qty;
    int64_t hi = x->b_hi;
    if (x->cap_price >= 0 && x->cap_price < hi)
        hi = x->cap_price;
    /* The buyer's limits as they are now (an operator may have lowered them while the
     * thread ran), except where breaking them is the injected fault. */
    bool keeps_limits =
        x->fault_done || (x->fault != FAULT_QUANTITY_TYPO && x->fault != FAULT_OVERPAY &&
                          x->fault != FAULT_BELOW_FLOOR);
    if (keeps_limits) {
        if (qty > b->max_quantity)
            qty = b->max_quantity;
        if (qty >= 1 && b->per_deal_max / qty < hi)
            hi = b->per_deal_max / qty;
        if (qty < 1 || hi < 1) {
            char text[512];
            say(f, x, b, SAY_BUYER_WALK, sp, x->table_qty, text, sizeof text);
            json_t *ans = NULL;
            post_message(f, x, b, "reject", -1, -1, text, NULL, now, &ans);
            json_decref(ans);
            fl_deal_fail(f, d);
            return;
        }
    }
    int64_t lo = x->b_lo < hi ? x->b_lo : hi;
    int t = x->nb;
    int64_t next = round_offer(
        &f->listings[x->listing],
        sim_next_offer(&b->p.strategy, false, lo, hi, t, x->bo, x->nb, x->so, x->ns), false);
    if (x->cap_qty >= 0 && qty > x->cap_qty)
        qty = x->cap_qty;
    bool capped_now = x->cap_ack;
    bool table_ok =
        (x->cap_price < 0 || sp <= x->cap_price) && (x->cap_qty < 0 || x->table_qty <= x->cap_qty);
    if (keeps_limits)
        table_ok = table_ok && x->table_qty <= b->max_quantity &&
                   sp <= b->per_deal_max / (x->table_qty > 0 ? x->table_qty : 1);
    if (!capped_now && table_ok && (sp <= next || (x->nb && sp == x->bo[x->nb - 1]))) {
        bool clean_shot = x->fault_done || x->fault == FAULT_NONE || x->fault == FAULT_DUPLICATE ||
                          x->fault == FAULT_VELOCITY;
        if (!(clean_shot && bought_recently(b, x->listing, sp, x->table_qty, now))) {
            buyer_accept(f, d, now);
            return;
        }
        next = sp > 1 ? sp - 1 : sp; /* never the same terms twice: ask a cent less */
    }
    if (!capped_now && t > b->p.strategy.deadline) {
        char text[512];
        say(f, x, b, SAY_BUYER_WALK, sp, qty, text, sizeof text);
        json_t *ans = NULL;
        post_message(f, x, b, "reject", -1, -1, text, NULL, now, &ans);
        json_decref(ans);
        fl_deal_fail(f, d);
        return;
    }
    if (x->stalled && sim_rng_chance(&f->dyn, 0.5)) {
        char note[512];
        say(f, x, b, SAY_NUDGE, sp, qty, note, sizeof note);
        json_t *ans = NULL;
        post_message(f, x, b, "note", -1, -1, note, NULL, now, &ans);
        json_decref(ans);
    }
    x->stalled = false;
    char text[512];
    say(f, x, b, capped_now ? SAY_CAP_ACK : SAY_BUYER_COUNTER, next, qty, text, sizeof text);
    json_t *ans = NULL;
    int st = post_message(f, x, b, "counter", next, qty, text, NULL, now, &ans);
    if (st / 100 != 2) {
        refused(f, d, st, ans);
        json_decref(ans);
        return;
    }
    json_decref(ans);
    x->cap_ack = false;
    if (x->nb < FL_HIST)
        x->bo[x->nb++] = next;
    x->state = DS_SELLER;
    fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 1.0, 4.0)));
}

/* A runaway offer loop: one offer after another, far past the velocity limit,
 * then the agent notices and withdraws. The fault is recorded once the burst is
 * sent. */
static void step_burst(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    char text[512];
    while (x->burst_left > 0) {
        int64_t price = fl_scale(x->table_price, sim_rng_uniform(&f->dyn, 0.98, 1.02));
        say(f, x, b, SAY_BUYER_COUNTER, price, x->qty, text, sizeof text);
        json_t *ans = NULL;
        int st = post_message(f, x, b, "offer", price, x->qty, text, NULL, now, &ans);
        json_decref(ans);
        if (st / 100 != 2)
            break;
        x->burst_left--;
    }
    x->fault_done = x->burst_left == 0;
    if (x->fault_done)
        fl_fault(f, FAULT_VELOCITY, NULL, x->neg, f->listings[x->listing].id, b->id);
    /* The agent stays quiet until the burst has left the velocity window. */
    b->quiet_until = fl_now() + 65.0;
    say(f, x, b, SAY_BUYER_WALK, x->table_price, x->qty, text, sizeof text);
    json_t *ans = NULL;
    post_message(f, x, b, "reject", -1, -1, text, NULL, now, &ans);
    json_decref(ans);
    fl_deal_fail(f, d);
}

/* The duplicate fault: the same order placed again, in a new thread, at once.
 */
static void step_duplicate(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    fl_agent *s = &f->agents[x->seller];
    fl_listing *l = &f->listings[x->listing];
    x->dup_placed = true;
    int64_t price = x->last_price, qty = x->table_qty;
    char text[512];
    say(f, x, b, SAY_OPEN, price, qty, text, sizeof text);
    json_t *ans = NULL;
    int st = fl_call(f, b->id, "POST", "/v1/negotiations",
                     json_pack("{s:s, s:I, s:I, s:s}", "listing_id", l->id, "unit_price_minor",
                               (json_int_t)price, "quantity", (json_int_t)qty, "text", text),
                     NULL, &ans);
    fl_pace_note(b, now);
    if (x->neg[0] && fl_map_get(&f->neg_ids, x->neg) == d)
        fl_map_del(&f->neg_ids, x->neg);
    fl_str(json_object_get(ans, "negotiation"), "id", x->neg, sizeof x->neg);
    x->neg_version = fl_int(json_object_get(ans, "negotiation"), "version", 1);
    json_decref(ans);
    if (st / 100 != 2 || !x->neg[0]) {
        fl_deal_end(f, d); /* the first purchase stands; the fault did not happen */
        return;
    }
    fl_map_put(&f->neg_ids, x->neg, d);
    x->table_price = price;
    x->table_qty = qty;
    say(f, x, s, SAY_SELLER_AGREE, price, qty, text, sizeof text);
    st = post_message(f, x, s, "counter", price, qty, text, NULL, now, &ans);
    json_decref(ans);
    if (st / 100 != 2) {
        fl_deal_end(f, d);
        return;
    }
    say(f, x, b, SAY_ACCEPT, price, qty, text, sizeof text);
    st = post_message(f, x, b, "accept", -1, -1, text, b->p.addresses[0], now, &ans);
    json_t *p = json_object_get(ans, "purchase");
    if (st / 100 == 2 && json_is_object(p)) {
        x->fault_done = false; /* this purchase is the fault's */
        purchased(f, d, p, now, true);
    } else {
        fl_deal_end(f, d);
    }
    json_decref(ans);
}

/* Performs deal d's next step. */
void fl_deal_step(fleet *f, int d, double now)
{
    fl_deal *x = &f->deals[d];
    if (x->state == DS_FREE || x->state == DS_WAIT || x->state == DS_DONE)
        return;
    if (x->held) {
        x->parked = true;
        return;
    }
    fl_agent *actor = &f->agents[x->state == DS_SELLER ? x->seller : x->buyer];
    if (actor->paused || f->agents[x->buyer].paused) {
        x->parked = true;
        return;
    }
    if (x->state != DS_BURST && x->state != DS_DUPLICATE) {
        double ready = fl_pace_ready(actor, now);
        if (ready > now) {
            fl_schedule(f, d, ready + fl_scaled(f, sim_rng_uniform(&f->dyn, 0.0, 1.0)));
            return;
        }
        /* Now and then an agent goes quiet for a while: a thread that stalls. */
        if (!x->stalled && x->state != DS_OPEN &&
            sim_rng_chance(&f->dyn, actor->p.strategy.stall)) {
            x->stalled = true;
            fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 10.0, 30.0)));
            return;
        }
    }
    switch (x->state) {
        case DS_OPEN: step_open(f, d, now); break;
        case DS_SELLER:
            x->stalled = false;
            step_seller(f, d, now);
            break;
        case DS_BUYER: step_buyer(f, d, now); break;
        case DS_BURST: step_burst(f, d, now); break;
        case DS_DUPLICATE: step_duplicate(f, d, now); break;
        default: break;
    }
}
