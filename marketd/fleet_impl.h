/* fleet_impl.h: the fleet's insides, shared by its files (not used outside them).
 *
 *   fleet.c           lifecycle, the thread, pacing, the event queue, pauses and halts
 *   fleet_plan.c      choosing the next deal: buyer, listing, fault, price ranges
 *   fleet_deal.c      one negotiation from opening offer to purchase, and the faults
 *   fleet_operator.c  the agents' reactions to vetoes, caps, expiries and holds
 *   fleet_io.c        market_handle() calls with JSON bodies, agent registration,
 *                     listings, id maps and the per-agent offer pacing
 *   fleet_dispute.c   disputes after settlement, justified or in bad faith (issue 17)
 *
 * Everything here runs in the fleet's own thread, except the event callback in
 * fleet.c, which runs in the market's delivery thread and only enqueues.
 */
#ifndef DEALDESK_MARKETD_FLEET_IMPL_H
#define DEALDESK_MARKETD_FLEET_IMPL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "marketd/fleet.h"
#include "marketd/sim.h"

#define FL_ID 72 /* room for a 64-character id */

/* A buyer negotiates at most FL_MAX_LIVE threads at once and keeps buying while up to
 * FL_MAX_WAITING of its purchases wait for a supervisor. */
#define FL_MAX_LIVE    2
#define FL_MAX_WAITING 64

/* A clean agent sends at most FL_PACE_MSGS offers (opening offers, offers,
 * counters) in any FL_PACE_WINDOW seconds, under the velocity rule's "more than
 * 30 offers a minute", and spaces its offers at least FL_PACE_GAP seconds apart
 * so that a busy agent slows down evenly instead of stopping for a minute. */
#define FL_PACE_MSGS   27
#define FL_PACE_WINDOW 61.0
#define FL_PACE_GAP    (FL_PACE_WINDOW / FL_PACE_MSGS)

/* A string-to-int hash map (open addressing, tombstones); keys are copied. */
typedef struct fl_map {
    char **keys;
    int *vals;
    size_t cap, used, live;
} fl_map;

/* Returns the value of key, or -1. */
int fl_map_get(const fl_map *m, const char *key);
/* Sets key to val (copying key). Returns 0 or -1 on out of memory. */
int fl_map_put(fl_map *m, const char *key, int val);
/* Removes key if present. */
void fl_map_del(fl_map *m, const char *key);
void fl_map_free(fl_map *m);

/* A buyer's memory of one recent purchase (to never repeat identical terms
 * within the duplicate rule's 10 minutes) or of one veto (to stay away from
 * what was refused). */
typedef struct fl_recent {
    int listing;
    int seller;
    int64_t price, qty;
    double at;
} fl_recent;

#define FL_RECENT 16

typedef struct fl_agent {
    sim_agent p;
    int index;
    char id[FL_ID];
    sim_rng rng; /* this agent's own stream: its items and its words */
    bool paused;
    int64_t version;
    int64_t spent;
    int64_t spend_cap, per_deal_max, approval_threshold, max_quantity; /* current limits */
    int64_t cap_we_set; /* the spend cap the fleet last gave it (refills only then) */
    bool refill_pending;
    double sent[FL_PACE_MSGS]; /* ring of recent message times */
    int sent_head, sent_n;
    double quiet_until;
    int live_deals;    /* threads being negotiated */
    int waiting_deals; /* purchases waiting for a decision */
    int open_listings;
    double next_list_at;
    double price_shade; /* a buyer that was told "too expensive" offers less */
    fl_recent bought[FL_RECENT];
    int nbought;
    fl_recent avoid[FL_RECENT]; /* vetoed: listing or seller to avoid until at */
    int navoid;
} fl_agent;

typedef struct fl_listing {
    char id[FL_ID];
    int seller;
    sim_item item;
    int64_t market_ref; /* reference_price_minor as the market computed it */
    int64_t stock;
    bool open;
    bool hidden; /* planted hidden text (a hidden_text fault) */
    int live_deals;
    int open_pos; /* position in fleet.open_list, -1 when closed */
} fl_listing;

typedef enum fl_state {
    DS_FREE,
    DS_OPEN,      /* buyer about to send the opening offer */
    DS_SELLER,    /* seller's turn */
    DS_BUYER,     /* buyer's turn */
    DS_BURST,     /* buyer in a runaway offer loop (velocity fault) */
    DS_DUPLICATE, /* buyer about to place the same order again (duplicate fault)
                   */
    DS_WAIT,      /* purchase pending approval */
    DS_DONE
} fl_state;

#define FL_HIST 24

typedef struct fl_deal {
    fl_state state;
    bool parked; /* actor paused, negotiation held or fleet halted: not in the
                    heap */
    bool held;
    int heap_pos; /* -1 when not scheduled */
    double due;
    int buyer, seller, listing;
    char neg[FL_ID], pur[FL_ID];
    int64_t neg_version, pur_version;
    sim_fault fault; /* the one-shot fault this deal carries, or FAULT_NONE */
    bool fault_done; /* the fault has produced its purchase (or ended) */
    bool hidden;     /* the thread holds hidden text */
    int64_t qty;
    int64_t b_lo, b_hi, s_lo, s_hi;
    int64_t bo[FL_HIST], so[FL_HIST]; /* offers so far */
    int nb, ns;
    int64_t table_price, table_qty;
    int64_t cap_price, cap_qty; /* -1 when none */
    int64_t last_price;         /* terms of the last purchase (duplicate fault) */
    int burst_left;
    bool stalled;        /* the actor just took a long pause */
    bool cap_ack;        /* the buyer's next offer answers an operator's cap */
    bool dup_placed;     /* the duplicate order has been placed */
    bool holds_listing;  /* counted in its listing's live_deals */
    sim_fault pur_fault; /* the fault its current purchase carries, or FAULT_NONE */
} fl_deal;

/* A dispute the fleet is taking through its steps (fleet_dispute.c). */
typedef struct fl_dispute {
    char pur[FL_ID], neg[FL_ID], listing[FL_ID];
    char id[FL_ID]; /* once opened */
    int buyer, seller;
    bool justified;     /* the purchase carried a fault; else bad faith */
    const char *reason; /* static */
    int64_t claim, offer;
    int stage; /* 0: to open, 1: the seller to respond, 2: the buyer to accept the offer */
    double due;
} fl_dispute;

#define FL_DISPUTES 64

/* One queued event from the market. */
typedef struct fl_event {
    struct fl_event *next;
    char type[32];
    char *json;
} fl_event;

struct fleet {
    market *m;
    fleet_options opt;
    char nonce[24]; /* per-run prefix of Idempotency-Keys */
    uint64_t keyno;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards stop, the event queue */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    bool stop;
    fl_event *q_head, *q_tail;
    bool watch_all;  /* queue every negotiation event (after a hold or a halt); only the
                        market's delivery thread reads or writes it (fleet.c) */
    bool subscribed; /* to the market's events (market_subscribe) */

    uint64_t actions; /* atomically updated */
    uint64_t purchases, failures, errors;

    sim_rng rng; /* master: catalogue and agents */
    sim_rng dyn; /* dynamics: deal choices (depends on timing) */
    bool halted;

    fl_agent *agents;
    int nagents;
    int *buyers, nbuyers;

    fl_listing *listings;
    int nlistings, listings_cap;

    fl_deal *deals;
    int ndeals, deals_cap;
    int *heap, heap_n;
    int *free_ids, nfree;
    int live;                        /* deals being negotiated */
    int waiting;                     /* deals whose purchase waits for a decision */
    int *open_list, nopen, open_cap; /* indices of open listings */

    fl_map agent_ids, listing_ids, neg_ids, pur_ids;

    fl_dispute disputes[FL_DISPUTES]; /* in progress */
    int ndisputes;
    double next_dispute; /* no new bad-faith dispute before (fleet_dispute.c) */

    int fault_counts[FAULT_COUNT];
    int fault_cursor;
    double next_spawn, next_maint;
};

/* ---- fleet.c ---- */
/* Monotonic seconds. */
double fl_now(void);
/* Seconds of "thinking time" at rate 1.0, scaled by the fleet's rate. */
double fl_scaled(const fleet *f, double seconds);
/* True once fleet_stop() was called. */
bool fl_stopping(fleet *f);
/* Schedules deal d at time due (re-schedules if already queued). */
void fl_schedule(fleet *f, int d, double due);
/* Removes deal d from the schedule. */
void fl_unschedule(fleet *f, int d);

/* ---- fleet_io.c ---- */
/* Performs one request as an agent (agent_id) or, with agent_id NULL, as the
 * fleet's supervisor identity. body is stolen (may be NULL). Returns the HTTP
 * status and sets *answer to the parsed answer (owned; NULL if none). */
int fl_call(fleet *f, const char *agent_id, const char *method, const char *path, json_t *body,
            const char *if_match, json_t **answer);
/* Registers every agent (same seed, same agents), in the fleet's thread; stops early
 * when the fleet is stopped. Returns 0 or -1 with err. */
int fl_register_agents(fleet *f, char *err, size_t errsz);
/* Posts one new listing for seller s (hidden: plant hidden text). Returns its
 * index or -1. */
int fl_post_listing(fleet *f, int s, bool hidden);
/* Earliest time agent a may send another offer without nearing the velocity
 * rule. */
double fl_pace_ready(const fl_agent *a, double now);
/* Notes that agent a sent an offer now. */
void fl_pace_note(fl_agent *a, double now);
/* Adds listing i to the open list / removes it. */
void fl_listing_opened(fleet *f, int i);
void fl_listing_closed(fleet *f, int i);
/* Records a fault with the market (ids may be NULL). */
void fl_fault(fleet *f, sim_fault k, const char *purchase, const char *neg, const char *listing,
              const char *agent);
/* Copies a string member of obj into out (size bytes); "" when absent. */
void fl_str(json_t *obj, const char *key, char *out, size_t size);
/* True when string member key of obj equals value. */
bool fl_str_is(json_t *obj, const char *key, const char *value);
/* Integer member of obj, or dflt when absent or not an integer. */
int64_t fl_int(json_t *obj, const char *key, int64_t dflt);

/* ---- fleet_plan.c ---- */
/* Tries to start a new deal for some buyer. Returns true when one was started. */
bool fl_deal_spawn(fleet *f, double now);
/* True when category c is in agent a's mandate. */
bool fl_in_mandate(const fl_agent *a, sim_category c);
/* True when buyer b should stay away from listing li or seller (a recent veto). */
bool fl_avoided(const fl_agent *b, int li, int seller, double now);
/* Scales an amount by a factor, at least 1 minor unit. */
int64_t fl_scale(int64_t v, double k);

/* ---- fleet_deal.c ---- */
/* Performs deal d's next step (its time has come). */
void fl_deal_step(fleet *f, int d, double now);
/* Ends deal d and frees its slot. */
void fl_deal_end(fleet *f, int d);
/* Ends a deal that failed before its purchase (a planned fault that never happened
 * goes back to the pool). */
void fl_deal_fail(fleet *f, int d);
/* Moves deal x into or out of waiting for a decision. */
void fl_deal_set_waiting(fleet *f, fl_deal *x, bool wait);
/* Remembers r in a ring of FL_RECENT entries (replacing the oldest). */
void fl_remember(fl_recent *ring, int *n, fl_recent r);

/* ---- fleet_operator.c ---- */
/* Reacts to an update of deal d's purchase (veto, cap, expiry, approval). */
void fl_deal_purchase_event(fleet *f, int d, json_t *purchase, double now);
/* Reacts to an update of deal d's negotiation (hold, release, cap, veto). */
void fl_deal_negotiation_event(fleet *f, int d, json_t *neg, double now);

/* ---- fleet_dispute.c ---- */
/* Deal x's purchase (of total) settled: its buyer may dispute it, justified when it
 * carried a fault (x->pur_fault), in bad faith when the buyer is dishonest. */
void fl_dispute_settled(fleet *f, const fl_deal *x, int64_t total, double now);
/* Takes the disputes' steps that are due (open, the seller's response, the offer's
 * acceptance). */
void fl_disputes_step(fleet *f, double now);

#endif
