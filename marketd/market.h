/* market.h: the marketplace itself, independent of HTTP.
 *
 * Every API request, whether it came over HTTP (marketd/http.c) or from the simulated
 * fleet (marketd/fleet.c), goes through market_handle(): one entry point, one set of
 * rules, so nothing the fleet does can bypass a check a real agent would meet.
 * The market is thread-safe: market_handle() and market_tick() take its lock.
 */
#ifndef DEALDESK_MARKETD_MARKET_H
#define DEALDESK_MARKETD_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct market market;

typedef enum market_role { ROLE_NONE, ROLE_VIEWER, ROLE_SUPERVISOR, ROLE_AGENT } market_role;

/* Who is calling: an operator (name from the tokens file) or an agent (its id). */
typedef struct market_actor {
    market_role role;
    char name[65];     /* operator name, or the agent id for ROLE_AGENT */
    char agent_id[65]; /* set for ROLE_AGENT */
} market_actor;

/* One request, already taken apart by the caller. Strings are borrowed. */
typedef struct market_request {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* "/v1/purchases/pur_1/approve" (no query) */
    const char *query;  /* "status=open&limit=10" or NULL */
    const char *body;   /* request body or NULL */
    size_t body_len;
    const char *idempotency_key; /* header value or NULL */
    const char *if_match;        /* header value or NULL */
    const char *if_epoch;        /* If-Epoch: the market a POST is bound to, or NULL */
} market_request;

/* The answer. body is owned (malloc'd JSON text, NUL-terminated). */
typedef struct market_response {
    int status;
    char *body;
    bool replayed;   /* Idempotent-Replayed: true */
    int retry_after; /* seconds for a Retry-After header (429), 0 for none */
} market_response;

typedef struct market_options {
    const char *db_path;     /* file path or ":memory:" */
    int decide_timeout_s;    /* default 120 */
    const char *tokens_path; /* operator tokens file, or NULL */
    /* Per-agent limits (0 takes the default; a negative rate turns rate limiting off). */
    double agent_rate;        /* requests a second per agent, sustained (default 50) */
    int agent_burst;          /* requests per agent at once (default 1500) */
    int max_open_listings;    /* open listings per seller (default 1000) */
    int two_person_timeout_s; /* decision deadline of a two-person purchase (default 600) */
    int claim_s;              /* how long a claim lasts (default 120) */
    /* Presence and the unattended switch (marketd/presence.c). */
    int presence_window_s; /* keyboard input makes a supervisor present this long (600) */
    int unattended_s;      /* the switch acts after this long unwatched (0: off) */
    bool unattended_halt;  /* its action: halt the fleet (else restrict) */
    /* Disputes (marketd/dispute.c). */
    int dispute_window_days; /* opened this long after settlement (0: 30; negative: never) */
    int dispute_respond_s;   /* a dispute's respond_by after it opens (0: 172800, 48 h) */
} market_options;

#define MARKET_AGENT_RATE        50.0
#define MARKET_AGENT_BURST       1500
#define MARKET_MAX_OPEN_LISTINGS 1000

/* Opens (or creates and migrates) the database and returns the market (owned), or NULL
 * with a message in err (size errsz). */
market *market_open(const market_options *opt, char *err, size_t errsz);
void market_close(market *m);

/* Resolves a bearer token (the part after "Bearer ") to an actor. Returns false for no
 * or an unknown token. */
bool market_authenticate(market *m, const char *token, market_actor *out);

/* Handles one API request as actor a. Fills *rs (the caller frees rs->body with free()).
 * Always answers: errors are the contract's error bodies. */
void market_handle(market *m, const market_actor *a, const market_request *rq, market_response *rs);

/* Runs time-driven rules (expiry of purchases past decide_by, presence and the
 * unattended switch). Call about every 100 ms. */
void market_tick(market *m);

/* True when this instance runs what must run once per market (expiry, the simulated
 * fleet, webhook delivery): always with SQLite; with PostgreSQL, while it holds the
 * leader's lock (market_tick takes it: marketd/market.c). */
bool market_leading(market *m);

/* Operator a's console opened (delta +1) or ended (-1) its event stream (GET
 * /v1/events?console=1, marketd/http.c): presence follows it (marketd/presence.c). Takes
 * the market's lock. */
void market_console(market *m, const market_actor *a, int delta);

/* Called after every committed event, outside the market's lock, in commit order:
 * seq, type ("purchase.updated", ...) and the one-line JSON {seq,type,at,data}. */
typedef void (*market_event_fn)(void *ud, int64_t seq, const char *type, const char *json);
void market_subscribe(market *m, market_event_fn fn, void *ud);

/* Records one fault the simulated fleet injected on purpose (ground truth served by
 * GET /v1/sim/faults). kind is one of the contract's fault kinds; ids may be NULL. */
void market_record_fault(market *m, const char *kind, const char *purchase_id,
                         const char *negotiation_id, const char *listing_id, const char *agent_id);

/* Installs a set of policies ({"policies": [...]}, as `dealdesk policies export` writes
 * it) through POST /v1/policies as the operator "marketd": nothing when one is invalid;
 * a restart on the same database replays them (marketd/policy_load.c). 0, or -1 with a
 * message in err. */
int market_load_policies(market *m, const char *text, size_t len, char *err, size_t errsz);
/* The default set (--default-policies, make demo), as that JSON text. */
extern const char market_default_policies[];

/* Escalation (marketd/webhook.c, docs/api.md "Webhooks"): POSTs critical alerts,
 * purchases with under 30 s left and the unattended switch's transitions to each of the
 * n urls, signed with HMAC-SHA256 under secret (secretlen bytes), at least once, from a
 * thread of its own that never holds the market's lock while it sends. Call once, before
 * the market takes requests; market_close stops it. 0, or -1 with a message in err. */
int market_webhooks(market *m, const char *const *urls, int n, const char *secret, size_t secretlen,
                    char *err, size_t errsz);

/* Bounds the event log (--retain-events, marketd/retain.c): keep the newest count events
 * (0: any number) and those younger than age_ms (0: any age). Call before serving. */
void market_retain(market *m, int64_t count, int64_t age_ms);

/* The current epoch (borrowed) and last seq. */
const char *market_epoch(market *m);
int64_t market_seq(market *m);

/* ---- additions for the HTTP layer (marketd/http.c) ---- */

/* Calls fn for each stored event with seq > after, in order, at most max of them, with
 * the market's lock held (fn must not call into the market). Returns how many, or -1. */
int market_events_after(market *m, int64_t after, int max, market_event_fn fn, void *ud);

/* Removes a subscriber; when it returns, fn is not running and will not be called. */
void market_unsubscribe(market *m, market_event_fn fn, void *ud);

/* Counters for /metrics. */
typedef struct market_metrics {
    int64_t seq;
    uint64_t events, requests, errors, decisions, replays, conflicts, expired, purchases, flags,
        commit_failures;
    uint64_t rate_limited;                         /* agent requests refused with 429 */
    uint64_t webhook_deliveries, webhook_failures; /* webhook POSTs answered 2xx, and not */
    int64_t webhook_pending;                       /* outbox rows not yet delivered */
    double decision_seconds;                       /* total time spent in decision transactions */
    uint64_t events_pruned;                        /* deleted by --retain-events (retain.c) */
} market_metrics;
void market_stats(market *m, market_metrics *out);

#endif
