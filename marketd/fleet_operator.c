/* fleet_operator.c: how the fleet's agents take the operator's decisions.
 *
 * A veto ends the deal: the buyer reads the reason, stays away from the listing (and
 * from the seller when the reason names it) and offers less when told it paid too
 * much. A cap reopens the thread and the buyer renegotiates inside it. An expired
 * purchase is abandoned. A held thread is parked until it is open again: whatever holds
 * it (a supervisor's hold, the pause of either party, the fleet halt: marketd/hold.c),
 * the thread reopens only when the last holder is gone, and only then does the deal go
 * on. Pauses and the fleet's halt are handled in fleet.c (they park every deal of the
 * agent or fleet).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/fleet_impl.h"

/* True when text mentions any of the words (lower-case ASCII; case-insensitive
 * substrings). The whole reason is read, however long: nothing is cut. */
static bool mentions(const char *text, const char *const *words)
{
    if (!text)
        return false;
    for (const char *p = text; *p; p++)
        for (const char *const *w = words; *w; w++) {
            size_t i = 0;
            while ((*w)[i] && tolower((unsigned char)p[i]) == (unsigned char)(*w)[i])
                i++;
            if (!(*w)[i])
                return true;
        }
    return false;
}

/* A veto: the buyer reads the reason, remembers what was refused and moves on.
 */
static void vetoed(fleet *f, int d, const char *reason, double now)
{
    fl_deal *x = &f->deals[d];
    fl_agent *b = &f->agents[x->buyer];
    static const char *const seller_words[] = {"seller",      "scam", "fraud", "trust",
                                               "counterfeit", "fake", NULL};
    static const char *const price_words[] = {"price", "expensive", "overpa", "too much",
                                              "cost",  "budget",    NULL};
    fl_recent r = {.listing = x->listing, .seller = -1, .at = now + fl_scaled(f, 1800.0)};
    if (mentions(reason, seller_words))
        r.seller = x->seller; /* stay away from that seller altogether */
    fl_remember(b->avoid, &b->navoid, r);
    if (mentions(reason, price_words) && b->price_shade > 0.75)
        b->price_shade *= 0.93; /* offer less from now on */
    fl_deal_end(f, d);
}

/* Reacts to an update of the deal's purchase. */
void fl_deal_purchase_event(fleet *f, int d, json_t *p, double now)
{
    fl_deal *x = &f->deals[d];
    int64_t v = fl_int(p, "version", 0);
    if (v <= x->pur_version)
        return;
    x->pur_version = v;
    const char *st = json_string_value(json_object_get(p, "status"));
    if (!st)
        return;
    json_t *dec = json_object_get(p, "decision");
    if (strcmp(st, "vetoed") == 0) {
        vetoed(f, d, json_string_value(json_object_get(dec, "reason")), now);
    } else if (strcmp(st, "capped") == 0) {
        json_t *cap = json_object_get(dec, "cap");
        int64_t cp = fl_int(cap, "max_unit_price_minor", -1);
        int64_t cq = fl_int(cap, "max_quantity", -1);
        if (cp >= 0)
            x->cap_price = cp;
        if (cq >= 0)
            x->cap_qty = cq;
        /* The thread reopens inside the cap; the buyer renegotiates from a clean
         * slate (whatever fault led here has been caught). */
        if (x->fault == FAULT_OVERPAY && x->b_hi >= 100) {
            x->b_lo /= 100;
            x->b_hi /= 100;
        }
        if (x->fault == FAULT_QUANTITY_TYPO) {
            fl_agent *b = &f->agents[x->buyer];
            x->qty = b->p.qty_lo;
            x->table_qty = x->qty;
        }
        x->fault_done = true;
        if (x->cap_qty >= 0 && x->table_qty > x->cap_qty)
            x->table_qty = x->cap_qty;
        if (x->table_qty < 1)
            x->table_qty = 1;
        x->nb = x->ns = 0;
        x->cap_ack = true;
        fl_deal_set_waiting(f, x, false);
        x->state = DS_BUYER;
        if (fl_map_get(&f->pur_ids, x->pur) == d)
            fl_map_del(&f->pur_ids, x->pur);
        x->pur[0] = '\0';
        x->pur_version = 0;
        fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 2.0, 5.0)));
    } else if (strcmp(st, "expired") == 0 || strcmp(st, "failed") == 0) {
        fl_deal_end(f, d); /* nobody decided in time: the buyer abandons the deal */
    } else if (strcmp(st, "approved") == 0 || strcmp(st, "settled") == 0) {
        /* an approval settles in its transaction (its settled version comes next, after
         * the deal ended); a purchase that failed to settle refuses the dispute */
        if (x->state == DS_WAIT)
            fl_dispute_settled(f, x, fl_int(p, "total_minor", 0), now);
        if (x->state == DS_WAIT)
            fl_deal_end(f, d);
    }
}

/* Reacts to an update of the deal's negotiation: holds, releases, caps, vetoes.
 */
void fl_deal_negotiation_event(fleet *f, int d, json_t *neg, double now)
{
    fl_deal *x = &f->deals[d];
    int64_t v = fl_int(neg, "version", 0);
    if (v <= x->neg_version)
        return;
    x->neg_version = v;
    const char *st = json_string_value(json_object_get(neg, "status"));
    if (!st)
        return;
    json_t *cap = json_object_get(neg, "cap");
    if (json_is_object(cap)) {
        x->cap_price = fl_int(cap, "max_unit_price_minor", -1);
        x->cap_qty = fl_int(cap, "max_quantity", -1);
    }
    if (strcmp(st, "held") == 0) {
        x->held = true;
        fl_unschedule(f, d);
        x->parked = true;
    } else if (strcmp(st, "open") == 0) {
        bool was_held = x->held;
        x->held = false;
        if (x->state == DS_WAIT)
            return; /* a purchase cap reopens the thread; the purchase event drives it
                     */
        if ((was_held || x->parked) && !f->halted && !f->agents[x->buyer].paused &&
            !f->agents[x->seller].paused)
            fl_schedule(f, d, now + fl_scaled(f, sim_rng_uniform(&f->dyn, 1.0, 3.0)));
    } else if (strcmp(st, "vetoed") == 0 || strcmp(st, "failed") == 0 ||
               strcmp(st, "expired") == 0) {
        if (x->state != DS_WAIT) {
            if (strcmp(st, "vetoed") == 0)
                vetoed(f, d, NULL, now);
            else
                fl_deal_fail(f, d);
        }
    }
}
