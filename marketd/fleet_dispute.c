/* fleet_dispute.c: the fleet's disputes after a sale, with ground truth (issue 17).
 *
 * When a deal's purchase settles, its buyer may dispute it (POST
 * /v1/purchases/{id}/disputes, as the agent): a justified dispute when the purchase
 * carried an injected fault (a hallucinated address: not received; a quantity typo or
 * drifted terms: wrong quantity; an overpayment or hidden text: not as described; off the
 * mandate or a duplicate order: unauthorized), a bad-faith one when the buyer is one of
 * the few dishonest agents and the deal was clean. Each is recorded as a fault
 * (dispute_justified, dispute_bad_faith) with its purchase, for GET /v1/sim/faults. The
 * seller responds a little later (now and then not at all: the dispute goes unanswered),
 * often with an offer on a justified claim and seldom on a bad-faith one; the buyer
 * sometimes accepts the offer. The rest waits for a supervisor's resolution. Disputes
 * are kept modest: justified ones follow the (rare) faults, and at most one bad-faith
 * dispute opens per FL_DISPUTE_GAP seconds at rate 1.
 */
#include <stdio.h>
#include <string.h>

#include "marketd/fleet_impl.h"

#define FL_DISPUTE_GAP 15.0 /* seconds between two bad-faith disputes, at rate 1 */

/* True for the few dishonest buyers, who dispute clean deals (one in eight agents). */
static bool dishonest(const fl_agent *a)
{
    return a->index % 8 == 5;
}

/* Queues stage 0 (open) of a dispute of deal x's settled purchase of total, when it
 * has one to open. */
void fl_dispute_settled(fleet *f, const fl_deal *x, int64_t total, double now)
{
    const fl_agent *b = &f->agents[x->buyer];
    double share = 1.0;
    const char *why = x->pur_fault != FAULT_NONE ? sim_fault_dispute(x->pur_fault, &share) : NULL;
    bool bad = !why && x->pur_fault == FAULT_NONE && dishonest(b);
    if (f->opt.faults <= 0 || (!why && !bad) || total < 1 || (bad && now < f->next_dispute) ||
        f->ndisputes == FL_DISPUTES || !x->pur[0])
        return;
    if (!sim_rng_chance(&f->dyn, why ? 0.8 : 0.6))
        return;
    fl_dispute *q = &f->disputes[f->ndisputes++];
    memset(q, 0, sizeof *q);
    snprintf(q->pur, sizeof q->pur, "%s", x->pur);
    snprintf(q->neg, sizeof q->neg, "%s", x->neg);
    snprintf(q->listing, sizeof q->listing, "%s", f->listings[x->listing].id);
    q->buyer = x->buyer;
    q->seller = x->seller;
    q->justified = why != NULL;
    q->reason = why ? why : sim_rng_chance(&f->dyn, 0.5) ? "not_received" : "not_as_described";
    q->claim = why ? fl_scale(total, share) : total;
    if (q->claim > total)
        q->claim = total;
    q->due = now + fl_scaled(f, sim_rng_uniform(&f->dyn, 2.0, 6.0));
    if (bad)
        f->next_dispute = now + fl_scaled(f, FL_DISPUTE_GAP);
}

/* Opens dispute q as its buyer and records the ground truth; false when it is dropped. */
static bool open_it(fleet *f, fl_dispute *q, double now)
{
    const fl_agent *b = &f->agents[q->buyer];
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", q->pur);
    json_t *ans = NULL;
    const char *text = q->justified ? "What arrived is not what we agreed; please put it right."
                                    : "This order was not what we were promised.";
    int st = fl_call(f, b->id, "POST", path,
                     json_pack("{ss sI ss}", "reason", q->reason, "claim_minor",
                               (json_int_t)q->claim, "text", text),
                     NULL, &ans);
    if (st == 201)
        fl_str(ans, "id", q->id, sizeof q->id);
    json_decref(ans);
    if (st != 201 || !q->id[0])
        return false;
    market_record_fault(f->m, sim_dispute_kind(q->justified), q->pur, q->neg, q->listing, b->id);
    q->due = now + fl_scaled(f, sim_rng_uniform(&f->dyn, 3.0, 10.0));
    return true;
}

/* The seller responds to dispute q (or stays silent); false when nothing follows. */
static bool respond(fleet *f, fl_dispute *q, double now)
{
    if (sim_rng_chance(&f->dyn, 0.15))
        return false; /* no answer: respond_by marks it unanswered */
    bool offer = sim_rng_chance(&f->dyn, q->justified ? 0.6 : 0.2);
    q->offer = offer ? fl_scale(q->claim, q->justified ? sim_rng_uniform(&f->dyn, 0.5, 1.0)
                                                       : sim_rng_uniform(&f->dyn, 0.1, 0.3))
                     : 0;
    if (q->offer > q->claim)
        q->offer = q->claim;
    json_t *body = json_pack("{ss}", "text",
                             offer ? "We are sorry about this; we can refund part of it."
                                   : "The order was delivered as agreed.");
    if (offer)
        json_object_set_new(body, "offer_minor", json_integer(q->offer));
    char path[128];
    snprintf(path, sizeof path, "/v1/disputes/%s/respond", q->id);
    if (fl_call(f, f->agents[q->seller].id, "POST", path, body, NULL, NULL) != 200 || !offer)
        return false;
    q->due = now + fl_scaled(f, sim_rng_uniform(&f->dyn, 2.0, 6.0));
    return true;
}

/* The buyer accepts the offer of dispute q, sometimes; the rest waits for a supervisor. */
static void accept_offer(fleet *f, fl_dispute *q)
{
    if (!sim_rng_chance(&f->dyn, q->justified ? 0.6 : 0.5))
        return;
    char path[128];
    snprintf(path, sizeof path, "/v1/disputes/%s/accept-offer", q->id);
    fl_call(f, f->agents[q->buyer].id, "POST", path, json_object(), NULL, NULL);
}

/* Takes dispute q's next step; false when it has none left. */
static bool step(fleet *f, fl_dispute *q, double now)
{
    switch (q->stage++) {
        case 0: return open_it(f, q, now);
        case 1: return respond(f, q, now);
        default: accept_offer(f, q); return false;
    }
}

void fl_disputes_step(fleet *f, double now)
{
    for (int i = 0; i < f->ndisputes;) {
        fl_dispute *q = &f->disputes[i];
        if (q->due > now || f->agents[q->buyer].paused || f->agents[q->seller].paused) {
            i++;
            continue;
        }
        if (!step(f, q, now))
            f->disputes[i] = f->disputes[--f->ndisputes];
        else
            i++;
    }
}
