/* fleet_plan.c: choosing the fleet's next deal: a buyer, a listing it may buy, the
 * fault it carries (every kind in its turn) and the price ranges of both sides, then
 * its first step (marketd/fleet_deal.c takes it from there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/fleet_impl.h"

/* ---- what a buyer may buy ---- */

/* True when category c is in agent a's mandate. */
bool fl_in_mandate(const fl_agent *a, sim_category c)
{
    for (int i = 0; i < a->p.ncats; i++)
        if (a->p.cats[i] == c)
            return true;
    return false;
}

/* True when buyer b should stay away from listing li (a recent veto). */
bool fl_avoided(const fl_agent *b, int li, int seller, double now)
{
    for (int i = 0; i < b->navoid; i++) {
        const fl_recent *r = &b->avoid[i];
        if (r->at > now && (r->listing == li || r->seller == seller))
            return true;
    }
    return false;
}

/* Scales an amount by a factor, at least 1 minor unit. */
int64_t fl_scale(int64_t v, double k)
{
    int64_t r = (int64_t)((double)v * k + 0.5);
    return r < 1 ? 1 : r;
}

/* ---- choosing a deal ---- */

/* Picks an open listing for buyer b: in its mandate (or, for the off_mandate
 * fault, outside it), not its own, not avoided, with stock for qty_need.
 * Returns -1 if none. */
static int pick_listing(fleet *f, const fl_agent *b, bool off_mandate, int64_t qty_need, double now)
{
    if (!f->nopen)
        return -1;
    for (int tries = 0; tries < 32; tries++) {
        int li = f->open_list[sim_rng_pick(&f->dyn, (size_t)f->nopen)];
        fl_listing *l = &f->listings[li];
        if (fl_in_mandate(b, l->item.cat) == off_mandate)
            continue;
        /* Off the mandate means business goods nobody asked for (GPU hours bought by a
         * bike shopper), at the buyer's usual quantity: a B2B buyer buying one bike
         * would skew its median quantity and make its next clean order look like a
         * typo. */
        if (off_mandate && !sim_category_b2b(l->item.cat))
            continue;
        if (f->agents[l->seller].paused || fl_avoided(b, li, l->seller, now))
            continue;
        /* A single bike is haggled over by one buyer at a time; stock by several.
         */
        if (l->stock < qty_need || l->live_deals >= (l->stock < 3 ? l->stock : 3))
            continue;
        /* Prefer sellers that have time to answer. */
        if (tries < 16 && fl_pace_ready(&f->agents[l->seller], now) > now + 3.0)
            continue;
        return li;
    }
    return -1;
}

/* The fault kinds in the order to try them: fewest injected first, so that each
 * kind gets its turn even in a short run. */
static void fault_order(fleet *f, sim_fault *out)
{
    for (int i = 0; i < FAULT_COUNT; i++)
        out[i] = (sim_fault)((f->fault_cursor + i) % FAULT_COUNT);
    for (int i = 1; i < FAULT_COUNT; i++)
        for (int j = i; j > 0 && f->fault_counts[out[j - 1]] > f->fault_counts[out[j]]; j--) {
            sim_fault t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    f->fault_cursor = (f->fault_cursor + 1) % FAULT_COUNT;
}

/* Sets up the clean price ranges of deal x (buyer b, listing l). Returns false
 * when no clean deal is possible within the buyer's limits. */
static bool price_ranges(fleet *f, fl_deal *x, fl_agent *b, fl_listing *l)
{
    int64_t worth = l->item.reference_minor;
    double shade = b->price_shade;
    x->b_lo = fl_scale(worth, sim_rng_uniform(&f->dyn, 0.6, 0.85) * shade);
    x->b_hi = fl_scale(worth, sim_rng_uniform(&f->dyn, 0.95, 1.12) * shade);
    /* Never more than 1.45x the market's reference (the overpay rule is 1.5x). */
    int64_t ref_cap = l->market_ref > 0 ? l->market_ref * 145 / 100 : x->b_hi;
    if (x->b_hi > ref_cap)
        x->b_hi = ref_cap;
    if (x->b_lo > x->b_hi)
        x->b_lo = fl_scale(x->b_hi, 0.8);
    x->s_lo = fl_scale(worth, sim_rng_uniform(&f->dyn, 0.85, 0.95));
    if (l->item.floor_minor >= x->s_lo)
        x->s_lo = l->item.floor_minor + 1;
    x->s_hi = l->item.list_minor > x->s_lo ? l->item.list_minor : x->s_lo;
    /* Limits: the dearest this buyer could pay must fit its per-deal maximum and
     * leave the budget under the rule's 80% warning. */
    if (x->qty > b->max_quantity)
        x->qty = b->max_quantity;
    if (x->qty < 1)
        return false;
    while (x->qty > 1 && x->b_hi * x->qty > b->per_deal_max)
        x->qty--;
    int64_t dearest = x->b_hi * x->qty;
    if (dearest > b->per_deal_max)
        return false;
    if ((double)(b->spent + dearest) > 0.7 * (double)b->spend_cap)
        return false;
    return true;
}

/* Sets up deal x for buyer b with fault k (or FAULT_NONE). Returns false when
 * this buyer cannot make such a deal now. */
static bool plan(fleet *f, fl_deal *x, int bi, sim_fault k, double now)
{
    fl_agent *b = &f->agents[bi];
    bool b2b = b->p.qty_lo >= 10;
    if (k == FAULT_QUANTITY_TYPO && !b2b)
        return false;
    int64_t qty = sim_rng_range(&f->dyn, b->p.qty_lo, b->p.qty_hi);
    int64_t need = k == FAULT_DUPLICATE ? 2 * qty : 1;
    int li = pick_listing(f, b, k == FAULT_OFF_MANDATE, need, now);
    if (li < 0)
        return false;
    fl_listing *l = &f->listings[li];
    if (!b2b && qty > l->stock)
        qty = l->stock;
    memset(x, 0, sizeof *x);
    x->heap_pos = -1;
    x->buyer = bi;
    x->listing = li;
    x->seller = l->seller;
    x->qty = qty;
    x->fault = k;
    x->cap_price = x->cap_qty = -1;
    /* A faulty deal may break a limit as well (an extra flag); a clean one never.
     */
    if (!price_ranges(f, x, b, l))
        return k != FAULT_NONE && x->qty >= 1;
    return true;
}

/* Doubles the room for deals (purchases waiting for a decision pile up when nobody
 * decides). Returns 0 or -1 on out of memory. Only called between steps: no deal
 * pointer is held across it. */
static int grow_deals(fleet *f)
{
    int cap = f->deals_cap * 2;
    fl_deal *deals = realloc(f->deals, (size_t)cap * sizeof *deals);
    if (!deals)
        return -1;
    f->deals = deals;
    int *heap = realloc(f->heap, (size_t)cap * sizeof *heap);
    if (!heap)
        return -1;
    f->heap = heap;
    int *free_ids = realloc(f->free_ids, (size_t)cap * sizeof *free_ids);
    if (!free_ids)
        return -1;
    f->free_ids = free_ids;
    for (int d = cap - 1; d >= f->deals_cap; d--) {
        memset(&f->deals[d], 0, sizeof f->deals[d]);
        f->deals[d].state = DS_FREE;
        f->deals[d].heap_pos = -1;
        f->free_ids[f->nfree++] = d;
    }
    f->deals_cap = f->ndeals = cap;
    return 0;
}

/* Tries to start a new deal. Returns true when one was started. */
bool fl_deal_spawn(fleet *f, double now)
{
    if (!f->nbuyers || f->halted || (!f->nfree && grow_deals(f) != 0))
        return false;
    for (int tries = 0; tries < 8; tries++) {
        int bi = f->buyers[sim_rng_pick(&f->dyn, (size_t)f->nbuyers)];
        fl_agent *b = &f->agents[bi];
        if (b->paused || b->live_deals >= FL_MAX_LIVE || b->waiting_deals >= FL_MAX_WAITING ||
            fl_pace_ready(b, now) > now)
            continue;
        fl_deal tmp;
        bool ok = false;
        if (f->opt.faults > 0 && sim_rng_chance(&f->dyn, f->opt.faults)) {
            sim_fault order[FAULT_COUNT];
            fault_order(f, order);
            for (int i = 0; i < FAULT_COUNT && !ok; i++)
                if (!sim_fault_over_share(f->fault_counts, order[i]) &&
                    (ok = plan(f, &tmp, bi, order[i], now)))
                    f->fault_counts[order[i]]++; /* the fault plan() gave the deal */
        }
        if (!ok)
            ok = plan(f, &tmp, bi, FAULT_NONE, now);
        if (!ok)
            continue;
        int d = f->free_ids[--f->nfree];
        fl_deal *x = &f->deals[d];
        *x = tmp;
        x->state = DS_OPEN;
        x->holds_listing = true;
        b->live_deals++;
        f->listings[x->listing].live_deals++;
        f->live++;
        fl_schedule(f, d, now);
        return true;
    }
    return false;
}
