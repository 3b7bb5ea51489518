/* model.h: the marketplace as plain C data, and the store that holds it.
 *
 * The types mirror the objects of docs/api.md. Every string that came from the network
 * is sanitised (api/text.h) once, when it is decoded, and is owned by its object; its
 * TEXT_F_* flags are kept beside it so that a row can carry a "hidden" marker. Money is
 * int64_t minor units with the object's currency; times are milliseconds since the Unix
 * epoch (UTC).
 *
 * The store is pure: it includes only libc and these types. Its one mutator,
 * store_apply(), applies one decoded event; every collection has a change counter that
 * the panes compare to know when to recompute. Accessors return borrowed pointers that
 * stay valid until the next store_apply()/store_reset().
 */
#ifndef DEALDESK_API_MODEL_H
#define DEALDESK_API_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_ID_MAX 64 /* ids are 1..64 of [A-Za-z0-9_-] */

typedef char model_id[MODEL_ID_MAX + 1];

/* The value of an enumeration this client does not know (the server grows new ones: an
 * alert status `resolved`, a message kind, a rule), as sent but sanitised and without
 * marks (api/text.h), at most 32 bytes; "" when the value is a known one. The object is
 * kept and shows the value as it is; its enum holds *_UNKNOWN, which no decision
 * accepts (see json.h for the values that are refused instead). */
#define MODEL_RAW_MAX 32
typedef char model_raw[MODEL_RAW_MAX + 1];

/* A sanitised string from the network (owned) and what the sanitiser found in it. */
typedef struct model_text {
    char *s;        /* sanitised, NUL-terminated, may hold TEXT_MARK_ON/OFF */
    int width;      /* display columns */
    unsigned flags; /* TEXT_F_* */
    unsigned hidden;
} model_text;

typedef enum model_kind {
    MODEL_AGENT,
    MODEL_LISTING,
    MODEL_NEGOTIATION,
    MODEL_MESSAGE,
    MODEL_PURCHASE,
    MODEL_ALERT,
    MODEL_LEDGER,
    MODEL_DECISION,
    MODEL_FLEET,
    MODEL_CLAIM, /* a supervisor's claim on a pending purchase (claim.updated) */
    MODEL_POLICY,
    MODEL_DISPUTE, /* a dispute over a settled purchase (issue 17; dispute.updated) */
    MODEL_KIND_COUNT
} model_kind;

typedef struct model_limits {
    int64_t spend_cap_minor;
    int64_t per_deal_max_minor;
    int64_t approval_threshold_minor;
    int64_t max_quantity;
} model_limits;

typedef struct model_agent {
    model_id id;
    int64_t version;
    model_text name;
    model_text principal;
    bool seller;          /* role: "seller" (true) or "buyer" */
    model_raw role_raw;   /* an unknown role as sent (seller false), else "" */
    bool paused;          /* status: "paused" (true) or "active" */
    model_raw status_raw; /* an unknown status as sent (paused false), else "" */
    char currency[4];
    model_limits limits;
    int64_t spent_minor;
    model_text *categories; /* mandate.categories */
    size_t ncategories;
    model_text *addresses; /* verified ship-to addresses */
    size_t naddresses;
    int64_t updated_at;
} model_agent;

typedef enum model_listing_status {
    LISTING_OPEN,
    LISTING_SOLD,
    LISTING_WITHDRAWN,
    LISTING_UNKNOWN /* status_raw holds it */
} model_listing_status;

typedef struct model_listing {
    model_id id;
    int64_t version;
    model_id seller_id;
    model_text title;
    model_text description;
    model_text category;
    int64_t unit_price_minor;
    char currency[4];
    int64_t quantity;
    int64_t reference_price_minor;
    int64_t floor_minor; /* -1 when null */
    model_listing_status status;
    model_raw status_raw;
    int64_t created_at;
    int64_t updated_at;
} model_listing;

typedef enum model_neg_status {
    NEG_OPEN,
    NEG_AGREED,
    NEG_FAILED,
    NEG_HELD,
    NEG_VETOED,
    NEG_EXPIRED,
    NEG_UNKNOWN /* status_raw holds it */
} model_neg_status;

typedef enum model_msg_kind {
    MSG_OFFER,
    MSG_COUNTER,
    MSG_ACCEPT,
    MSG_REJECT,
    MSG_NOTE,
    MSG_SYSTEM,
    MSG_UNKNOWN /* kind_raw holds it */
} model_msg_kind;

typedef struct model_terms {
    bool present; /* false when null */
    int64_t unit_price_minor;
    int64_t quantity;
} model_terms;

typedef struct model_cap {
    bool present;
    int64_t max_unit_price_minor; /* -1 when null */
    int64_t max_quantity;         /* -1 when null */
} model_cap;

/* A message of a thread (immutable). unit_price_minor and quantity are -1 when null. */
typedef struct model_message {
    model_id negotiation_id;
    int64_t seq;
    model_id from;
    model_msg_kind kind;
    model_raw kind_raw;
    int64_t unit_price_minor;
    int64_t quantity;
    model_text text;
    int64_t at;
} model_message;

typedef struct model_negotiation {
    model_id id;
    int64_t version;
    model_id listing_id;
    model_id buyer_id;
    model_id seller_id;
    model_neg_status status;
    model_raw status_raw;
    model_terms terms;
    model_terms agreed_terms;
    model_cap cap;
    char currency[4];
    int64_t message_count;
    int64_t opened_at;
    int64_t updated_at;
    /* Messages received so far, in seq order (owned by the store). */
    model_message *messages;
    size_t nmessages;
    size_t messages_cap;
} model_negotiation;

/* An unknown severity counts as SEV_CRITICAL (the safe side for every count and colour)
 * and is shown as sent (severity_raw). */
typedef enum model_severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL } model_severity;

typedef struct model_flag {
    model_raw rule; /* any rule, known or not, as sent (sanitised) */
    model_severity severity;
    model_raw severity_raw;
    model_text detail;
} model_flag;

typedef enum model_purchase_status {
    PUR_PENDING, /* pending_approval */
    PUR_APPROVED,
    PUR_SETTLED,
    PUR_VETOED,
    PUR_CAPPED,
    PUR_EXPIRED,
    PUR_REFUNDED,
    PUR_FAILED,
    PUR_UNKNOWN /* status_raw holds it; never decidable */
} model_purchase_status;

typedef struct model_decision_summary {
    bool present;
    char action[16];
    model_text by;
    int64_t at;
    model_text reason; /* s == NULL when null */
    model_cap cap;
} model_decision_summary;

/* A policy a purchase names: the live one that decided it (`policy`) or a shadow one
 * that matched (`policy_shadow`); docs/api.md, Policies. action is a word as sent. */
typedef struct model_policy_ref {
    model_id id;
    model_text name;
    char action[16];
} model_policy_ref;

typedef struct model_purchase {
    model_id id;
    int64_t version;
    model_id negotiation_id;
    model_id listing_id;
    model_id buyer_id;
    model_id seller_id;
    int64_t unit_price_minor;
    int64_t quantity;
    int64_t total_minor;
    char currency[4];
    model_text ship_to;
    model_purchase_status status;
    model_raw status_raw;
    model_flag *flags;
    size_t nflags;
    int risk_score;
    int64_t decide_by; /* 0 when null */
    bool default_veto; /* default_on_timeout == "veto" */
    model_decision_summary decision;
    model_policy_ref policy;         /* id "" when no live policy matched */
    model_policy_ref *policy_shadow; /* owned: the shadow policies that matched */
    size_t npolicy_shadow;
    int64_t created_at;
    int64_t updated_at;
    /* two-person approval (docs/api.md): 2 when it needs two supervisors' approvals,
     * else 1; the approvals so far (by, the first MODEL_APPROVALS_MAX of them) */
    int approvals_required;
    int napprovals;
    model_text approved_by[2];
    /* the claim on it (a Claim: store_apply of a MODEL_CLAIM keeps it here, with its
     * purchase; a new version of the purchase keeps it): by (s NULL: none) and until */
    model_text claim_by;
    int64_t claim_until;
    int64_t claim_version;
    /* disputes (issue 17): refunded so far (0 when none) and the latest dispute ("") */
    int64_t refunded_minor;
    model_id dispute_id;
} model_purchase;

#define MODEL_APPROVALS_MAX 2

/* A Claim {purchase_id, by, until, status}: a supervisor reviewing a pending purchase. */
typedef struct model_claim {
    model_id purchase_id;
    int64_t version;
    model_text by;
    int64_t until;
    bool active; /* status "active" (else released or expired) */
} model_claim;

typedef enum model_alert_status {
    ALERT_OPEN,
    ALERT_ACKED,
    ALERT_RESOLVED, /* its purchases left pending_approval: readable, not open */
    ALERT_UNKNOWN   /* status_raw holds it */
} model_alert_status;

/* The most purchase ids an alert's group keeps here (marketd's cap is 100). */
#define MODEL_ALERT_PURCHASES_MAX 1000

typedef struct model_alert {
    model_id id;
    int64_t version;
    model_severity severity;
    model_raw severity_raw;
    model_raw rule;
    char subject_kind[16];
    model_id subject_id;
    model_text message;
    model_alert_status status;
    model_raw status_raw;
    model_text acked_by; /* s == NULL when null */
    int64_t at;
    int64_t updated_at;
    /* Grouping (docs/api.md, Alert): repeats of the rule for the agent; an alert from
     * before grouping reads count 1, last_at = at, no purchase ids. */
    model_id agent_id;      /* "" when absent */
    int64_t count;          /* >= 1 */
    int64_t last_at;        /* the last repeat */
    model_id *purchase_ids; /* owned, in the order raised */
    size_t npurchase_ids;
    /* resolution (status resolved): the purchase whose change resolved it, the status
     * it left for, who decided (s NULL when null or absent) and when */
    model_id resolved_purchase;
    model_raw resolved_status;
    model_text resolved_by;
    int64_t resolved_at; /* 0 when not resolved */
} model_alert;

typedef struct model_posting {
    char account[MODEL_ID_MAX + 8]; /* "agent:<id>" */
    int64_t amount_minor;
} model_posting;

typedef struct model_ledger_entry {
    model_id id;
    int64_t seq;
    bool refund;        /* kind: "refund" (true) or "settlement" */
    model_raw kind_raw; /* an unknown kind as sent (refund false), else "" */
    model_id purchase_id;
    char currency[4];
    model_posting postings[4];
    size_t npostings;
    int64_t at;
} model_ledger_entry;

typedef struct model_decision {
    model_id id;
    char action[24];
    char subject_kind[16];
    model_id subject_id;
    model_text by;
    int64_t at;
    model_text reason; /* s == NULL when null */
} model_decision;

typedef struct model_fleet {
    int64_t version; /* 0 from a server that gives none (then decisions send no If-Match) */
    bool halted;
    model_text reason; /* s == NULL when null */
    model_text by;     /* s == NULL when null */
    int64_t updated_at;
    int halts; /* active scoped halts (the Fleet's `halts`: docs/api.md, "Halt") */
    /* The unattended switch (marketd --unattended; docs/api.md, "Presence"): after_s 0
     * when it is off; since 0 while the market is attended. */
    int64_t unattended_after_s;
    bool unattended_halt; /* its action: halt (else restrict) */
    int64_t unattended_since;
} model_fleet;

/* The numeric conditions of a policy's match, by index into model_policy.cond: the key
 * each has in the match, and whether it is an amount (minor units of the purchase's
 * currency). */
#define MODEL_POLICY_CONDS 6
typedef struct model_policy_cond {
    const char *key;
    bool money;
} model_policy_cond;
extern const model_policy_cond model_policy_conds[MODEL_POLICY_CONDS];

/* A supervisors' policy (docs/api.md, Policies). def is its definition as
 * api/json_policy.c makes it (compact JSON with sorted keys, not sanitised: never shown,
 * only sent back in a replacement or a backtest); its match is kept as what the console
 * shows: the numeric conditions and the lists in words (sanitised). */
typedef struct model_policy {
    model_id id;
    int64_t version;
    model_text name;
    bool enabled;
    bool shadow;        /* mode "shadow" (else "live") */
    model_raw mode_raw; /* an unknown mode as sent (shadow false), else "" */
    char action[16];    /* approve, veto, review, or another word as sent */
    int64_t priority;
    model_text reason;     /* s == NULL when null */
    model_text match_text; /* the match's lists in words ("flags_any overpay"), or "" */
    char currency[4];      /* match.currency, "" when the match holds every currency */
    /* its numeric conditions (-1: none), in the order of model_policy_conds */
    int64_t cond[MODEL_POLICY_CONDS];
    char *def;
    int64_t hits, shadow_hits;
    int64_t updated_at;
} model_policy;

/* A dispute over a settled purchase (issue 17; docs/api.md, Disputes). */
typedef enum model_dispute_status {
    DSP_OPEN,
    DSP_RESPONDED,
    DSP_RESOLVED,
    DSP_UNKNOWN /* status_raw holds it */
} model_dispute_status;

typedef enum model_dispute_reason {
    DSP_NOT_RECEIVED,
    DSP_NOT_AS_DESCRIBED,
    DSP_WRONG_QUANTITY,
    DSP_UNAUTHORIZED,
    DSP_OTHER,
    DSP_REASON_UNKNOWN /* reason_raw holds it */
} model_dispute_reason;

typedef enum model_dispute_outcome {
    DSP_REFUND,
    DSP_PARTIAL_REFUND,
    DSP_REJECTED,
    DSP_OUTCOME_UNKNOWN /* outcome_raw holds it */
} model_dispute_outcome;

/* A response {by, text, offer_minor (-1 when null), at}. */
typedef struct model_dispute_response {
    model_text by;
    model_text text;
    int64_t offer_minor;
    int64_t at;
} model_dispute_response;

/* The most responses a dispute keeps (both agents answer when a supervisor opened it). */
#define MODEL_DISPUTE_RESPONSES_MAX 16

typedef struct model_dispute {
    model_id id;
    int64_t version;
    model_id purchase_id;
    model_id negotiation_id; /* "" when null */
    model_id buyer_id;
    model_id seller_id;
    model_text opened_by; /* an agent id, or "operator:NAME" */
    model_dispute_reason reason;
    model_raw reason_raw;
    int64_t claim_minor;
    char currency[4];
    model_text text;
    model_dispute_status status;
    model_raw status_raw;
    model_dispute_response *responses; /* owned, in order (the first is `response`) */
    size_t nresponses;
    /* resolution (resolved: present) */
    bool resolved;
    model_dispute_outcome outcome;
    model_raw outcome_raw;
    int64_t resolved_minor; /* resolution.amount_minor (0 for rejected) */
    model_text resolution_reason;
    model_text resolved_by;
    int64_t resolved_at;
    char via[16]; /* "supervisor" or "offer" (as sent, sanitised) */
    bool unanswered;
    int64_t respond_by; /* 0 when null */
    int64_t created_at;
    int64_t updated_at;
} model_dispute;

/* One event of the stream, decoded. Exactly the member named by kind is set; the
 * event owns its strings until store_apply() takes them (see store_apply). */
typedef struct model_event {
    int64_t seq;
    int64_t at;
    model_kind kind;
    union {
        model_agent agent;
        model_listing listing;
        model_negotiation negotiation;
        model_message message;
        model_purchase purchase;
        model_alert alert;
        model_ledger_entry ledger;
        model_decision decision;
        model_fleet fleet;
        model_claim claim;
        model_policy policy;
        model_dispute dispute;
    } u;
} model_event;

/* Frees the strings an event still owns and zeroes it. */
void model_event_free(model_event *ev);

/* Free what one object owns and zero it (the object itself is not freed). */
void model_agent_clear(model_agent *a);
void model_listing_clear(model_listing *l);
void model_message_clear(model_message *m);
void model_negotiation_clear(model_negotiation *n); /* and its messages */
void model_purchase_clear(model_purchase *p);
void model_alert_clear(model_alert *a);
void model_decision_clear(model_decision *d);
void model_fleet_clear(model_fleet *f);
void model_policy_clear(model_policy *p);
void model_dispute_clear(model_dispute *d);

/* Each enumeration's names as docs/api.md spells them, indexed by value: the one table
 * that json.c decodes with and the labels below show (marketd, which may not include
 * this header, keeps its own in marketd/route.c). A value past a table (*_UNKNOWN) is
 * shown from its raw string. The two-valued ones are indexed by their bool. */
extern const char *const model_purchase_status_names[PUR_UNKNOWN];
extern const char *const model_neg_status_names[NEG_UNKNOWN];
extern const char *const model_listing_status_names[LISTING_UNKNOWN];
extern const char *const model_msg_kind_names[MSG_UNKNOWN];
extern const char *const model_alert_status_names[ALERT_UNKNOWN];
extern const char *const model_severity_names[SEV_CRITICAL + 1];
extern const char *const model_agent_role_names[2];   /* by model_agent.seller */
extern const char *const model_agent_status_names[2]; /* by model_agent.paused */
extern const char *const model_ledger_kind_names[2];  /* by model_ledger_entry.refund */
extern const char *const model_fleet_status_names[2]; /* by model_fleet.halted */
extern const char *const model_kind_event_types[MODEL_KIND_COUNT];
extern const char *const model_dispute_status_names[DSP_UNKNOWN];
extern const char *const model_dispute_reason_names[DSP_REASON_UNKNOWN];
extern const char *const model_dispute_outcome_names[DSP_OUTCOME_UNKNOWN];

/* How many names a table above holds. */
#define MODEL_NAMES_COUNT(table) ((int)(sizeof(table) / sizeof(table)[0]))

/* The stream's event type for a kind ("purchase.updated", ...; "?" for none; static). */
const char *model_kind_event_type(model_kind k);

/* An object's value as it is to be shown: the known name from its table, or the unknown
 * value as sent (sanitised). Borrowed from the object or static. */
const char *model_purchase_status_label(const model_purchase *p);
const char *model_neg_status_label(const model_negotiation *n);
const char *model_listing_status_label(const model_listing *l);
const char *model_msg_kind_label(const model_message *m);
const char *model_flag_severity_label(const model_flag *f);
const char *model_alert_severity_label(const model_alert *a);
const char *model_alert_status_label(const model_alert *a);
const char *model_agent_role_label(const model_agent *a);
const char *model_agent_status_label(const model_agent *a);
const char *model_ledger_kind_label(const model_ledger_entry *e);
const char *model_dispute_status_label(const model_dispute *d);
const char *model_dispute_reason_label(const model_dispute *d);
const char *model_dispute_outcome_label(const model_dispute *d); /* "" when not resolved */

/* ---- the store --------------------------------------------------------------------- */

typedef struct store store;

typedef enum store_result {
    STORE_APPLIED,   /* the event changed the store */
    STORE_DUPLICATE, /* seq <= last applied: dropped */
    STORE_STALE,     /* an object at this or a newer version is already held: dropped */
    STORE_GAP,       /* seq > last + 1: the caller must take a fresh snapshot */
    STORE_NOMEM
} store_result;

/* Returns a new, empty store (owned; NULL on out of memory). */
store *store_new(void);
void store_free(store *s);

/* Empties the store and sets its position to (epoch, seq), ready for a snapshot's
 * objects to be loaded with store_load() and then for events after seq. */
void store_reset(store *s, const char *epoch, int64_t seq);

/* Loads one object of a snapshot (ev->seq is ignored). Takes ownership of the event's
 * strings and zeroes *ev. */
store_result store_load(store *s, model_event *ev);

/* Applies one stream event. Takes ownership of the event's strings (and zeroes *ev)
 * when it returns STORE_APPLIED; otherwise the caller still owns them. */
store_result store_apply(store *s, model_event *ev);

/* Moves the position to seq without applying anything (an event rejected by the
 * decoder, or a replay starting mid-stream). Does nothing when seq <= the position. */
void store_skip(store *s, int64_t seq);

/* Sets the epoch when it was unknown (a stream started with ?after= and no snapshot). */
void store_set_epoch(store *s, const char *epoch);

/* Position: the epoch string (borrowed) and the last applied seq. */
const char *store_epoch(const store *s);
int64_t store_seq(const store *s);

/* Change counter of a collection: increases whenever anything in it changes. */
uint64_t store_changes(const store *s, model_kind kind);

/* Whether purchase p is claimed at now_ms by someone other than me: its claim's by
 * (borrowed), or NULL. */
const char *model_claimed_by_other(const model_purchase *p, const char *me, int64_t now_ms);
/* Whether pending purchase p waits for an approval that operator me can give: it needs
 * two, has fewer, and me has not given one. */
bool model_awaits_approval_by(const model_purchase *p, const char *me);

/* Lookup by id (borrowed; NULL when absent). */
const model_agent *store_agent(const store *s, const char *id);
const model_listing *store_listing(const store *s, const char *id);
const model_negotiation *store_negotiation(const store *s, const char *id);
const model_purchase *store_purchase(const store *s, const char *id);
const model_alert *store_alert(const store *s, const char *id);
const model_fleet *store_fleet(const store *s);
const model_policy *store_policy(const store *s, const char *id);
const model_dispute *store_dispute(const store *s, const char *id);

/* Ordered views (borrowed arrays of borrowed pointers, in arrival order of first
 * sight; the panes sort and filter their own copies). */
const model_agent *const *store_agents(const store *s, size_t *n);
const model_policy *const *store_policies(const store *s, size_t *n); /* every one, always */
const model_listing *const *store_listings(const store *s, size_t *n);
const model_negotiation *const *store_negotiations(const store *s, size_t *n);
const model_purchase *const *store_purchases(const store *s, size_t *n);
const model_alert *const *store_alerts(const store *s, size_t *n);
const model_dispute *const *store_disputes(const store *s, size_t *n);
const model_ledger_entry *store_ledger(const store *s, size_t *n); /* by seq */
const model_decision *store_decisions(const store *s, size_t *n);  /* by arrival */

/* Ledger balance of an account ("agent:<id>"), in minor units; 0 when unknown. */
int64_t store_balance(const store *s, const char *account);

/* Sets a balance (from a snapshot's ledger.balances). Returns 0 or -1 (memory). */
int store_set_balance(store *s, const char *account, int64_t amount_minor);

/* Fills up to max accounts (borrowed) and amounts; returns how many balances there are. */
size_t store_balances(const store *s, const char **accounts, int64_t *amounts, size_t max);

/* ---- the working set (issue 14; docs/api.md, Reading) ------------------------------
 *
 * The store holds the working set, not history: every agent, the fleet, the balances,
 * every pending purchase, open or held thread and open alert, the listings a held thread
 * or purchase names, and the newest of the rest. store_apply() applies an event about an
 * object the store does not hold only when the new version belongs to the working set
 * (a pending purchase, a purchase a policy decided (recent automatic decisions, evicted as
 * closed ones are), an open or held thread, an open alert, any agent or policy, the fleet, a
 * listing a held thread or purchase names or one just created, a new ledger entry or
 * decision; and an object in a status this build does not know, on the safe side, which
 * is then evicted as a closed one); otherwise it returns STORE_STALE (the object is read from the
 * server when a pane pages through history: api/pages.h). Closed objects beyond the newest
 * STORE_KEEP_CLOSED of each kind (by updated_at) are evicted by an amortised sweep inside
 * store_apply()/store_load(), which bumps the kind's change counter: a pointer borrowed
 * before is then invalid (as documented for every accessor). A closed thread a held
 * pending purchase names, and a watched thread, are never evicted. The ledger and the
 * decisions keep their newest STORE_KEEP_RECORDS (balances are kept whole).
 * Disputes (issue 17): every open and responded one is held, a resolved one only while
 * held (the newest STORE_KEEP_CLOSED stay), and a purchase under dispute (dispute_id set)
 * is applied like one in the working set, evicted as a closed one is.
 *
 * A thread's messages are kept only while it is watched: the STORE_WATCH_MAX threads most
 * recently marked with store_watch_thread() (client_fetch_thread marks its thread). A
 * message of a thread not watched is dropped (STORE_STALE), but the held thread's
 * message_count still moves to it; a thread that falls out of the watched set loses its
 * messages (the MODEL_MESSAGE counter moves). */
/* The size past which a collection of n objects after a sweep is swept again: at least
 * keep insertions later, and n/8 for a large working set (20,000 open threads), so that a
 * sweep's O(n) costs O(1) per event. */
#define store_sweep_mark(n, keep) ((n) + ((n) / 8 > (keep) ? (n) / 8 : (keep)))
#define STORE_KEEP_CLOSED         500
#define STORE_KEEP_RECORDS        500
#define STORE_WATCH_MAX           16

/* Marks a thread watched (the most recently watched; the least recently watched beyond
 * STORE_WATCH_MAX is forgotten and its messages freed). The thread need not be held yet.
 * The set survives store_reset(). Returns 0, or -1 on a bad id. */
int store_watch_thread(store *s, const char *negotiation_id);

/* Whether a thread is watched (its messages are kept). */
bool store_thread_watched(const store *s, const char *negotiation_id);

/* How many objects of a kind the server holds, from the last snapshot's `history`
 * ({kind: {total}}); -1 when unknown (an older server, or before the first snapshot).
 * Kinds: MODEL_LISTING, _NEGOTIATION, _PURCHASE, _ALERT, _LEDGER, _DECISION, _DISPUTE. */
int64_t store_history_total(const store *s, model_kind k);

/* Sets a kind's total (the snapshot decoder; store_reset() makes every total -1). */
void store_set_history_total(store *s, model_kind k, int64_t total);

/* ---- a staged snapshot (issue 14; docs/api.md, Reading: ?open_threads=) -----------------
 *
 * A console's snapshot may hold only the most recently updated open and held threads; the
 * rest are read afterwards a page at a time (api/client_backfill.c) while the stream is
 * applied. Between store_backfill_begin() and _end() the store notes what the stream says
 * of every thread (its newest version, its newest message) whether it applied it or not,
 * parks the newest version of each listing event it drops, and evicts no listing or thread;
 * store_backfill() then applies a page's row only when it is newer than all of that: a
 * page read before an event but applied after it never brings an older version back (a
 * thread the stream closed while the store did not hold it stays out). store_reset() ends
 * a backfill. */

/* The snapshot's open_threads.more: some open or held threads are not in it (then a
 * backfill reads them). store_reset() makes it false. */
void store_set_live_more(store *s, bool more);
bool store_live_more(const store *s);

/* Starts, ends, and says whether a backfill runs (as above). */
void store_backfill_begin(store *s);
void store_backfill_end(store *s);
bool store_backfilling(const store *s);

/* Puts a page's thread or listing (the other kinds: STORE_STALE) as store_load() does,
 * unless the stream said newer meanwhile: STORE_STALE (a thread), or the parked newer
 * listing is put instead. A thread's message_count is raised to the stream's newest. */
store_result store_backfill(store *s, model_event *ev);

/* How many objects the store holds over every kind (messages included): a measure for
 * tests and benchmarks that the working set stays bounded. */
size_t store_held(const store *s);

#endif
