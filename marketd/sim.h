/* sim.h: the pure parts of the simulated fleet (no market, no threads, no I/O).
 *
 *   sim_rng.c        xoshiro256** seeded through splitmix64: the fleet's only randomness
 *   sim_catalogue.c  item templates, sellers, buyers and listings generated from a seed
 *   sim_tactics.c    time-dependent concession tactics (Faratin, Sierra and Jennings)
 *                    and relative tit-for-tat, with deadlines and acceptance
 *   sim_text.c       natural-language message, title and description text from phrase
 *                    banks chosen by kind, category and mood
 *   sim_fault.c      the fault kinds, their names, and the hidden characters they plant
 *
 * marketd/fleet*.c drive these against the market. Everything here is deterministic for
 * a given seed: same seed, same catalogue, agents and strategies.
 */
#ifndef DEALDESK_MARKETD_SIM_H
#define DEALDESK_MARKETD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- randomness (sim_rng.c) --------------------------------------------------------- */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

/* Seeds the generator from one 64-bit seed (splitmix64 expands it). */
void sim_rng_seed(sim_rng *r, uint64_t seed);
/* Returns the next 64 random bits (xoshiro256**). */
uint64_t sim_rng_next(sim_rng *r);
/* Returns a uniform integer in [lo, hi] (inclusive; lo <= hi), without modulo bias. */
int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi);
/* Returns a uniform double in [0, 1). */
double sim_rng_unit(sim_rng *r);
/* Returns a uniform double in [lo, hi). */
double sim_rng_uniform(sim_rng *r, double lo, double hi);
/* Returns true with probability p. */
bool sim_rng_chance(sim_rng *r, double p);
/* Returns an index in [0, n) (n > 0). */
size_t sim_rng_pick(sim_rng *r, size_t n);
/* Derives an independent generator for a named stream (e.g. one per agent). */
void sim_rng_fork(const sim_rng *r, uint64_t stream, sim_rng *out);

/* ---- catalogue and agents (sim_catalogue.c) ----------------------------------------- */

#define SIM_NAME_MAX  96
#define SIM_TITLE_MAX 160
#define SIM_DESC_MAX  480
#define SIM_ADDR_MAX  120
#define SIM_MAX_ADDR  3
#define SIM_MAX_CATS  4

typedef enum sim_category {
    CAT_BIKES,
    CAT_FURNITURE,
    CAT_ELECTRONICS,
    CAT_BOOKS,
    CAT_TICKETS,
    CAT_GPU_HOURS,
    CAT_COMPUTE,
    CAT_API_CREDITS,
    CAT_COUNT
} sim_category;

/* The category's name as the market knows it ("gpu-hours"), static. */
const char *sim_category_name(sim_category c);
/* True for the business-to-business goods (bought by the hour, vCPU or million tokens). */
bool sim_category_b2b(sim_category c);
/* The unit one quantity buys, for text ("hour", "vCPU-month", "1M tokens", "item"). */
const char *sim_category_unit(sim_category c, bool plural);

/* A listing the fleet will post: every amount in USD minor units. */
typedef struct sim_item {
    sim_category cat;
    char title[SIM_TITLE_MAX];
    char description[SIM_DESC_MAX];
    char noun[48];           /* short name for messages: "the Trek hybrid", "A100 hours" */
    int64_t reference_minor; /* the market's reference unit price */
    int64_t floor_minor;     /* the seller's cost basis (< reference) */
    int64_t list_minor;      /* the asking unit price (>= reference) */
    int64_t quantity;        /* units in stock */
} sim_item;

/* Generates one item of category c. */
void sim_item_generate(sim_rng *r, sim_category c, sim_item *out);

typedef enum sim_mood { MOOD_FRIENDLY, MOOD_TERSE, MOOD_FORMAL, MOOD_HAGGLER, MOOD_COUNT } sim_mood;

/* Which concession tactic an agent uses. */
typedef enum sim_tactic_kind { TACTIC_TIME, TACTIC_TFT } sim_tactic_kind;

/* One negotiator's strategy: Faratin et al.'s time-dependent family (beta < 1 Boulware,
 * = 1 linear, > 1 conceder; k the initial concession), or relative tit-for-tat, with a
 * deadline in rounds and a share of "stalls" (long pauses). */
typedef struct sim_strategy {
    sim_tactic_kind kind;
    double beta;
    double k;
    int deadline; /* rounds (own offers) before walking away */
    double stall; /* probability that a step is a long pause */
} sim_strategy;

typedef struct sim_agent {
    bool seller;
    char name[SIM_NAME_MAX];      /* "Atlas Procurement Bot 3" */
    char principal[SIM_NAME_MAX]; /* "Northwind Robotics Ltd" or "Maya Chen" */
    sim_mood mood;
    sim_strategy strategy;
    sim_category cats[SIM_MAX_CATS]; /* mandate (buyers) or what they sell (sellers) */
    int ncats;
    char addresses[SIM_MAX_ADDR][SIM_ADDR_MAX]; /* verified ship-to addresses (buyers) */
    int naddresses;
    int64_t qty_lo, qty_hi;  /* typical purchase quantity (buyers); qty_hi < 10 * qty_lo */
    int64_t spend_cap_minor; /* budget */
    int64_t per_deal_max_minor;
    int64_t approval_threshold_minor;
    int64_t max_quantity;
} sim_agent;

/* Generates agent number index of a fleet (sellers and buyers alternate so that any
 * fleet size has both). Deterministic in (r's state, index). */
void sim_agent_generate(sim_rng *r, int index, sim_agent *out);

/* True when agent index of a fleet is a seller. */
bool sim_agent_is_seller(int index);

/* Writes a plausible address that is not a verified one of a (the "hallucinated"
 * ship-to of the bad_ship_to fault). */
void sim_address_hallucinate(sim_rng *r, const sim_agent *a, char *out, size_t size);

/* ---- tactics (sim_tactics.c) -------------------------------------------------------- */

/* alpha(t) = k + (1 - k) * (min(t, T) / T)^(1/beta): the share of the range conceded at
 * round t of deadline T. Returns a value in [k, 1]. */
double sim_alpha(const sim_strategy *s, int t);

/* The time-dependent offer at round t. A buyer moves up from lo towards hi; a seller
 * moves down from hi towards lo. Returns minor units in [lo, hi]. */
int64_t sim_offer_time(const sim_strategy *s, bool seller, int64_t lo, int64_t hi, int t);

/* Relative tit-for-tat: concede in proportion to the opponent's last concession.
 * own_prev is our last offer, opp_prev2/opp_prev the opponent's last two offers.
 * Returns the next offer clamped to [lo, hi]. */
int64_t sim_offer_tft(bool seller, int64_t lo, int64_t hi, int64_t own_prev, int64_t opp_prev2,
                      int64_t opp_prev);

/* The next offer of an agent with strategy s at round t, given the history (the
 * opponent's offers so far, oldest first; own offers so far). */
int64_t sim_next_offer(const sim_strategy *s, bool seller, int64_t lo, int64_t hi, int t,
                       const int64_t *own, int nown, const int64_t *opp, int nopp);

/* Faratin's acceptance: accept the opponent's offer when it is at least as good as our
 * own next one. */
bool sim_acceptable(bool seller, int64_t opp_offer, int64_t own_next);

/* Generates a strategy for an agent (mix of Boulware, linear, conceder and TFT). */
void sim_strategy_generate(sim_rng *r, sim_strategy *out);

/* ---- text (sim_text.c) -------------------------------------------------------------- */

typedef enum sim_say {
    SAY_OPEN,          /* buyer's opening offer */
    SAY_BUYER_COUNTER, /* buyer raises */
    SAY_SELLER_COUNTER,
    SAY_SELLER_AGREE, /* seller meets the buyer's price: "works for me, confirm" */
    SAY_ACCEPT,       /* buyer accepts the terms on the table */
    SAY_BUYER_WALK,   /* buyer walks away at the deadline */
    SAY_SELLER_WALK,  /* seller refuses to go lower */
    SAY_NUDGE,        /* a note after a stall */
    SAY_CAP_ACK,      /* buyer renegotiating inside an operator's cap */
    SAY_COUNT
} sim_say;

typedef struct sim_say_ctx {
    sim_category cat;
    sim_mood mood;
    const char *noun;     /* "the Trek hybrid" */
    int64_t price_minor;  /* unit price being offered (or 0) */
    int64_t qty;          /* quantity (or 0) */
    const char *currency; /* "USD" */
} sim_say_ctx;

/* Writes a message of kind k into out (size bytes). Plain printable text, no control
 * or invisible characters. Returns out. */
char *sim_say_text(sim_rng *r, sim_say k, const sim_say_ctx *c, char *out, size_t size);

/* ---- faults (sim_fault.c) ----------------------------------------------------------- */

typedef enum sim_fault {
    FAULT_NONE = -1,
    FAULT_QUANTITY_TYPO,
    FAULT_OVERPAY,
    FAULT_OFF_MANDATE,
    FAULT_BELOW_FLOOR,
    FAULT_BAD_SHIP_TO,
    FAULT_TERMS_DRIFT,
    FAULT_DUPLICATE,
    FAULT_HIDDEN_TEXT,
    FAULT_VELOCITY,
    FAULT_COUNT
} sim_fault;

/* The fault's name for GET /v1/sim/faults ("quantity_typo"), static. */
const char *sim_fault_name(sim_fault f);
/* The risk rule that must catch it ("quantity_vs_intent"), static. */
const char *sim_fault_rule(sim_fault f);
/* Parses a fault name; FAULT_NONE when unknown. */
sim_fault sim_fault_parse(const char *name);

/* No fault kind takes more than this share (%) of the faults injected (issue 15). */
#define SIM_FAULT_SHARE_MAX 30
/* True when one more fault of kind k, with counts[] injected so far by kind, would take
 * k past SIM_FAULT_SHARE_MAX of them all; a kind's first fault never does. The fleet
 * skips such a kind for the next (marketd/fleet_plan.c): a kind every buyer can always
 * make (off_mandate) would otherwise take the turns of kinds a buyer cannot make just now,
 * and 79% of the demo's alerts were off_mandate. */
bool sim_fault_over_share(const int counts[FAULT_COUNT], sim_fault k);

/* A dispute after settlement (issue 17): the reason a justified dispute of a purchase
 * that carried fault f gives ("not_received" for bad_ship_to, ...) and the share of the
 * total it claims (*share), or NULL when the fault leaves the buyer nothing to claim. */
const char *sim_fault_dispute(sim_fault f, double *share);
/* The ground truth's kind of a fleet's dispute: "dispute_justified" or
 * "dispute_bad_faith" (GET /v1/sim/faults). */
const char *sim_dispute_kind(bool justified);

/* Inserts one hidden sequence (a zero-width space, a bidi override, a C0 control, ...)
 * into text at a random word boundary, in place (size bytes). Returns text. */
char *sim_fault_hide(sim_rng *r, char *text, size_t size);

#endif
