/* mkt.h: the market's insides, shared by its files (not used outside marketd/).
 *
 *   market.c   open/close, tokens, event delivery, public odds and ends
 *   db.c       transactions, events, objects, ids, time: over the store, any engine
 *   store.h    the storage interface: one const table of operations per engine
 *   store_sqlite.c, store_sqlite_schema.c, store_sqlite_policy.c, store_sqlite_stats.c,
 *   store_sqlite_search.c
 *              the SQLite engine: its operations, and its file, schema migrations and
 *              statement cache, the policies' reads, the scorecards' SQL, how a search
 *              asks the trigram index (store_sqlite.h); the only files that call SQLite
 *   route.c    market_handle(): the tables of methods and routes (who may take each),
 *              idempotency and the POST transaction, the read API of one object
 *   lists.c    the reads of many: the snapshot (the working set) and the lists (their
 *              sorts, search and cursors)
 *   request.c  a request's pieces: error and success answers, body fields, query
 *              strings, counts, If-Match
 *   trade.c    agent endpoints: listings, negotiations, messages, accept -> purchase
 *   risk.c     the risk rules run on every new purchase
 *   alert.c    alerts: raised, grouped (repeats within ten minutes), resolved
 *   decide.c   operator decisions: one table of actions, taken the same way
 *   policy.c   policies: their objects, create and replace, their evaluation on a new
 *              purchase; policy_backtest.c replays a set over recent purchases
 *   agents.c   an agent's registration and its limits
 *   claims.c   a supervisor's claim on a pending purchase (its own object, kind "claim")
 *   settle.c   settlement, refunds, a purchase's thread after it, expiry (market_tick)
 *   http.c     libmicrohttpd server, the event stream; metrics.c the text of /metrics
 *   hold.c     holds: the set of holders (fleet halt, pauses, holds) of agents and threads
 *   halt.c     scoped halts: a halt's scope, what it holds and refuses, its lift
 *   listen.c   the listening socket (http_listen)
 *   limits.c   what one client may hold and send: connections per address, the header
 *              deadline, streams per token, request framing (marketd/limits.h)
 *   idem.c     the answers kept for Idempotency-Key, pruned after 48 hours
 *   retain.c   the event log's retention (--retain-events), in small batches
 *   ratelimit.c per-agent request rate limits
 *   crypto.c   SHA-256 (agent tokens, request fingerprints) and HMAC-SHA256 (webhook
 *              signatures) from OpenSSL's libcrypto
 *   webhook.c  webhooks: the outbox, written in the change's transaction, and its sender
 *   words.c    the words of messages: money with its currency, caps
 *   stats.c    the agents' scorecards (GET /v1/stats/agents), read without the lock
 *   presence.c who is watching (consoles with keyboard input), the unattended switch
 *   audit.c    the audit chain: every decision and ledger entry hashed into one chain
 *   dispute.c  disputes after a sale: open, respond, accept an offer, resolve, respond_by
 *   (the simulated fleet: marketd/fleet.h and fleet_impl.h; main.c the command line)
 *
 * Every function here runs with the market's lock held unless it says otherwise.
 * Objects are jansson values; the database stores each object's JSON with a few
 * indexed columns. The rules name no database engine: they call db.c and, for a named
 * query, STORE(m->db, op, ...) (marketd/store.h). A handler reports an error with
 * mkt_fail() and changes nothing durable: the caller rolls the transaction back.
 */
#ifndef DEALDESK_MARKETD_MKT_H
#define DEALDESK_MARKETD_MKT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "marketd/market.h"
#include "marketd/ratelimit.h"
#include "marketd/store.h"

/* The reference price is the median of the newest MKT_REF_WINDOW asking prices of a
 * category and currency (trade.c); the schema keeps that many per pair (market.c). */
#define MKT_REF_WINDOW     1024
#define MKT_STR_(x)        #x
#define MKT_STR(x)         MKT_STR_(x)
#define MKT_REF_WINDOW_STR MKT_STR(MKT_REF_WINDOW) /* "1024", for SQL text */

#define MKT_MAX_SUBSCRIBERS 8
#define MKT_QTY_MAX         1000000000LL /* the largest quantity a body may give */
#define MKT_MAX_OPERATORS   64

typedef struct webhook webhook; /* marketd/webhook.c */

typedef struct mkt_operator {
    char name[65];
    market_role role;
    char secret_hash[65]; /* SHA-256 of the secret, hex */
} mkt_operator;

/* One committed event waiting for delivery to subscribers. */
typedef struct mkt_evnode {
    struct mkt_evnode *next;
    int64_t seq;
    char type[32];
    char *json;                /* owned */
    size_t data_off, data_len; /* where the event's data is inside json */
} mkt_evnode;

/* Counters for /metrics (read with the lock held, or racily for display). */
typedef struct mkt_stats {
    uint64_t events;             /* events committed since start */
    uint64_t requests;           /* market_handle calls */
    uint64_t errors;             /* answers >= 400 */
    uint64_t decisions;          /* operator decisions committed */
    uint64_t replays;            /* idempotent replays */
    uint64_t conflicts;          /* 409/412 answers */
    uint64_t expired;            /* purchases expired by the clock */
    uint64_t purchases;          /* purchases created */
    uint64_t flags;              /* risk flags raised */
    uint64_t commit_failures;    /* transactions that failed to commit */
    uint64_t pruned;             /* events deleted by the retention (retain.c) */
    uint64_t reads, read_errors; /* list pages read on the reader (and answers >= 400), out
                                    of the lock: only through __atomic builtins */
    double decision_seconds;     /* total time inside decision transactions */
} mkt_stats;

struct market {
    pthread_mutex_t mu;
    store *db; /* the database, through its engine's operations (marketd/store.h) */
    /* A read-only handle on it (NULL: none), under rmu instead of mu: the lists are read
     * there (route.c, market_handle), so that no writer waits for a page. */
    store *rdb;
    pthread_mutex_t rmu;
    char epoch[33];
    int64_t seq;
    int decide_timeout_s;

    mkt_operator ops[MKT_MAX_OPERATORS];
    int nops;

    /* The current transaction. */
    int64_t now; /* ms since the Unix epoch, fixed for one request */
    bool in_tx;
    int64_t tx_seq0;
    mkt_evnode *tx_head, *tx_tail;

    /* Delivery of committed events, in commit order, by a thread of its own. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    mkt_evnode *q_head, *q_tail;
    bool q_stop;
    pthread_t q_thread;
    struct {
        market_event_fn fn;
        void *ud;
    } subs[MKT_MAX_SUBSCRIBERS];
    int nsubs;
    bool delivering; /* the delivery thread is calling subscribers */

    int64_t last_prune;
    /* The event log's retention (retain.c): keep the newest retain_count events and
     * those younger than retain_age_ms (0: no bound); when it last ran, whether its last
     * batch was full, and up to what time the answers referring to events are whole. */
    int64_t retain_count, retain_age_ms, retain_last, retain_idem_at;
    bool retain_more;
    mkt_stats st;
    struct mkt_refcache *refs; /* reference-price rings by category (trade.c) */
    int64_t ref_clock;         /* their use counter, for eviction */
    bool refs_dirty;           /* a ring changed in the current transaction */

    ratelimit *rl;             /* per-agent request limits (NULL: none) */
    int max_open_listings;     /* open listings per seller */
    int two_person_timeout_s;  /* a two-person purchase's decision deadline (decide.c) */
    int claim_s;               /* a claim's lifetime (claims.c) */
    int64_t claim_due;         /* the earliest until of an active claim (0: unknown) */
    webhook *wh;               /* --webhook: the outbox's sender (NULL: none) */
    struct mkt_presence *pres; /* who is watching, the unattended switch (presence.c) */
    int dispute_window_days;   /* disputes open this long after settlement (-1: never) */
    int dispute_respond_s;     /* a dispute's respond_by, after it opens (dispute.c) */
    int64_t dispute_due;       /* the earliest respond_by to look at (0: unknown) */

    /* Several instances on one database (db->ops->tx_lock set: PostgreSQL; market.c). */
    bool shared;
    store *ldb;        /* the leader's lock connection (mkt_leader_check), or NULL */
    bool leader;       /* this instance leads (read with __atomic by other threads) */
    store *listener;   /* the delivery thread's connection, woken by commits anywhere */
    int wake[2];       /* a local commit wakes the delivery thread (-1: none) */
    int64_t delivered; /* the last seq handed to the subscribers (delivery thread's) */
};

/* A request being handled: the parsed pieces and the answer being built. */
typedef struct mkt_ctx {
    market *m;
    store *db; /* where it reads: m->db, or m->rdb for a list (route.c) */
    const market_actor *a;
    const market_request *rq;
    char seg[6][72]; /* path segments after /v1 */
    int nseg;
    json_t *body;      /* parsed POST body (an object), borrowed */
    int status;        /* answer status */
    json_t *answer;    /* answer body (owned) */
    bool agent_paused; /* the calling agent is paused (POST, read once: route.c) */
    json_t *replay;    /* what a replay of this request answers instead, when the answer
                       holds something never stored (a token); owned, usually NULL */
    char *text;        /* the answer's body as JSON text, in place of answer (owned; a
                          large read written as text: lists.c) */
} mkt_ctx;

/* What the stored answer of POST /v1/agents says in place of the token (docs/api.md). */
#define MKT_TOKEN_NOTE                                                                             \
    "the token was shown once, in the first answer to this request; marketd keeps only its "       \
    "hash"
/* Answers 429 rate_limited (with Retry-After) into rs when agent a is over its rate
 * limit and returns true; false (rs untouched) otherwise. Without the market's lock
 * (ratelimit.c). */
bool mkt_rate_refuse(market *m, const market_actor *a, market_response *rs);

/* True when this instance runs the jobs that must run once (expiry, claims, webhooks,
 * the simulated fleet): always on an engine of one process, on PostgreSQL the holder of
 * the leader's advisory lock (market.c). mkt_leader_check asks the database (the timer
 * thread, market_tick, only); mkt_leader gives its last answer (any thread). */
bool mkt_leader_check(market *m);
bool mkt_leader(market *m);
/* On a shared engine, outside a transaction: m->seq from the database (another
 * instance may have appended). Market's lock held. 0, or -1 when the database does
 * not answer (it is connected again on the next try). */
int mkt_seq_refresh(market *m);

/* Frees the reference-price rings (trade.c). */
void mkt_refcache_free(market *m);

/* ---- errors and answers (request.c) ---- */

/* Sets an error answer: status, contract code, message, optional field and the
 * current object (borrowed; copied). Returns false so handlers can `return mkt_fail()`. */
bool mkt_fail(mkt_ctx *c, int status, const char *code, const char *field, json_t *current,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Sets a success answer; steals body. Returns true. */
bool mkt_ok(mkt_ctx *c, int status, json_t *body);
/* Sets a success answer whose body is JSON text (stolen). Returns true. */
bool mkt_ok_text(mkt_ctx *c, int status, char *text);

/* ---- time, ids, meta (db.c) ---- */
/* Reads meta[key] into out (size bytes); true when present. */
bool mkt_meta_get(market *m, const char *key, char *out, size_t size);
/* Writes meta[key] = value. 0 or -1. */
int mkt_meta_set(market *m, const char *key, const char *value);
int64_t mkt_now_ms(void);
/* Parses our own RFC 3339 form ("2026-01-02T03:04:05.678Z") back to ms; -1 when it is
 * not one. */
int64_t mkt_parse_time(const char *s);
/* True when objects of kind have a searchable text (q= of the lists; db.c's
 * search_fields): policies have none, being few and listed whole. */
bool mkt_searchable(const char *kind);
/* Formats ms since the Unix epoch as RFC 3339 UTC with milliseconds into out[32]. */
void mkt_time_str(int64_t ms, char out[32]);
/* A new json string of that time. */
json_t *mkt_time_json(int64_t ms);
/* Returns the next id with the prefix ("pur_") into out[72]; 0 or -1. */
int mkt_new_id(market *m, const char *prefix, char out[72]);

/* ---- objects and events (db.c) ---- */

/* Loads one object (kind "agent", "listing", ...) by id: owned, or NULL if absent. */
json_t *mkt_get(market *m, const char *kind, const char *id);
/* Stores obj (insert or replace) with its indexed columns, without an event. The event
 * that carried the version it replaces gets that version's text (each version of an
 * object is stored once: the current one in its row, each earlier one in its event).
 * Returns 0 or -1. */
int mkt_put(market *m, const char *kind, json_t *obj);
/* Creates obj: created_key, if given (e.g. "created_at"), version 1 and updated_at, in
 * that order; stores it and emits "<kind>.updated", whose data stays in the object's
 * row while it is the current version. Returns 0 or -1. */
int mkt_create(market *m, const char *kind, json_t *obj, const char *created_key);
/* Bumps version and updated_at, stores obj and emits "<kind>.updated". 0 or -1. */
int mkt_update(market *m, const char *kind, json_t *obj);
/* Appends one event (data borrowed) with the next seq in the current transaction. */
int mkt_emit(market *m, const char *type, json_t *data);
/* Calls fn for each stored event with seq > after, in order, at most max: the same line
 * that was delivered live, whether its data is stored in the event or elsewhere (an
 * object's row, a message's). Returns how many, or -1. */
int mkt_events_each(market *m, int64_t after, int max, market_event_fn fn, void *ud);
/* The same on handle db (the delivery thread's listener: market.c). */
int mkt_store_events(store *db, int64_t after, int max, market_event_fn fn, void *ud);
/* The data of stored event seq as JSON text (owned), or NULL. */
char *mkt_event_data(market *m, int64_t seq);

/* Idempotency-Key answers (idem.c), scope "agent:ID" or "op:NAME". mkt_idem_lookup: 1 found with
 * this fingerprint (*status, *body owned: the answer's text, byte for byte as it was
 * first given), 2 found with another fingerprint, 0 none. mkt_idem_store keeps body
 * (the answer's text) inside the current transaction, the parts of it that are the
 * data of an event of that transaction as references to the event. 0 or -1. */
int mkt_idem_lookup(market *m, const char *scope, const char *key, const char *fp, int *status,
                    char **body);
int mkt_idem_store(market *m, const char *scope, const char *key, const char *fp, int status,
                   const char *body);
/* Deletes the answers kept for keys older than 48 hours, at most once an hour
 * (market_tick). */
void mkt_idem_prune(market *m);
/* Makes the answers holding references to events, stored after time after and at or
 * before upto, whole (before retain.c deletes those events). 0 or -1. */
int mkt_idem_inline(market *m, int64_t after, int64_t upto);
/* Deletes a batch of the events that --retain-events no longer keeps (market_tick). */
void mkt_retain_prune(market *m);
/* Stores a message of a negotiation (already complete) and emits negotiation.message. */
int mkt_put_message(market *m, json_t *msg);
/* A store walk (marketd/store.h) that appends each row's JSON, parsed, to the array arr
 * (rows that do not parse are left out). */
int mkt_collect(void *arr, const char *json, int64_t n);

/* Transactions: begin (durable = synchronous=FULL), commit (0 or -1), rollback. */
int mkt_begin(market *m, bool durable);
int mkt_commit(market *m);
void mkt_rollback(market *m);

/* ---- a request's fields (request.c; the views: route.c) ---- */
/* Gets an integer field: 1 present and valid, 0 absent/null, -1 wrong type or range
 * (mkt_fail already called). min/max inclusive. */
int mkt_body_int(mkt_ctx *c, const char *key, int64_t min, int64_t max, int64_t *out);
/* Gets a string field of at most maxchars characters (and 4 KiB): 1, 0 absent/null,
 * -1 bad (mkt_fail called). required: absent is an error too. */
int mkt_body_str(mkt_ctx *c, const char *key, size_t minchars, size_t maxchars, bool required,
                 const char **out);
int64_t mkt_int(json_t *obj, const char *key);
/* Finds key in a query string (may be NULL) and percent-decodes its value into out
 * (size bytes). True when present. */
bool mkt_query_get(const char *q, const char *key, char *out, size_t size);
/* Parses a count: 1 to 18 decimal digits and nothing else (no sign, space or overflow).
 * True with *out set, else false. */
bool mkt_parse_count(const char *s, int64_t *out);
/* Parses an If-Match header: exactly "N" (quoted, N >= 1 in digits without a leading
 * zero: not W/"1", " 1", "+1", "01" or a version past 18 digits). 1 with *version, 0 when absent,
 * -1 malformed. */
int mkt_parse_if_match(const char *h, int64_t *version);
const char *mkt_str(json_t *obj, const char *key);

/* ---- tokens (market.c), the fleet singleton (db.c) ---- */
/* Issues a new agent token for agent_id: stores only its hash and returns the token
 * (owned) in *out. 0 or -1. */
int mkt_issue_token(market *m, const char *agent_id, char **out);
/* Stores the fleet object (borrowed) at its next version and emits fleet.updated. 0 or
 * -1. */
int mkt_set_fleet(market *m, json_t *fleet);
/* Fleet state (the singleton, {version, status, reason, by, updated_at}), owned; a fleet
 * stored before it had a version reads as version 1. */
json_t *mkt_fleet(market *m);
bool mkt_fleet_halted(market *m);

/* Listing JSON for actor a (floor_minor hidden from agents other than the seller;
 * route.c). */
json_t *mkt_listing_view(const market_actor *a, json_t *listing);

/* ---- reading (route.c, lists.c) ---- */
/* A kind of object as the API names it (route.c's table). */
typedef struct mkt_kind {
    const char *plural; /* path segment */
    const char *kind;   /* objects.kind */
    const char *prefix; /* id prefix */
    const char *const *statuses;
} mkt_kind;
/* True when an agent may read every object of kind (listings, halts); of the others only
 * its own (route.c, agent_may_read; the lists of lists.c). */
bool mkt_agent_reads_all(const char *kind);
/* True when objects of kind have a buyer and a seller (negotiations, purchases,
 * disputes): an agent reads those it is a party to, stored as the row's parties. */
bool mkt_party_kind(const char *kind);
/* The kind for a path segment ("listings"), or NULL. */
const mkt_kind *mkt_find_kind(const char *plural);
/* Object o (stolen) of kind as a may see it (owned). */
json_t *mkt_object_view(const market_actor *a, const char *kind, json_t *o);
/* How many of each closed kind the snapshot holds beyond the working set (lists.c). */
#define MKT_SNAPSHOT_NEWEST 100
/* GET /v1/snapshot and GET /v1/{kind} (lists.c). */
bool lists_snapshot(mkt_ctx *c);
bool lists_get(mkt_ctx *c);
/* The sort keys of obj, of kind, as stored with its row (db.c; text borrowed from obj). */
store_keys mkt_sort_keys(const char *kind, json_t *obj);

/* ---- trade.c ---- */
bool trade_post_listing(mkt_ctx *c);
bool trade_withdraw_listing(mkt_ctx *c);
bool trade_open_negotiation(mkt_ctx *c);
bool trade_post_message(mkt_ctx *c);
/* Adds a system message to a negotiation (its message_count is bumped by the caller's
 * update of neg). */
int trade_system_message(market *m, json_t *neg, const char *text);

/* ---- words.c ---- */
#define MKT_MONEY_LEN 48
/* Formats minor units of currency as "$1,000.00 USD" into out; returns out. Every
 * amount in a message a person reads goes through it. */
const char *mkt_money(char out[MKT_MONEY_LEN], int64_t minor, const char *currency);
#define MKT_COUNT_LEN 32
/* Formats a quantity with grouped thousands ("13,333") into out; returns out. */
const char *mkt_count(char out[MKT_COUNT_LEN], int64_t n);
/* Describes a cap {max_unit_price_minor|null, max_quantity|null} in words ("unit price
 * at most $10.00 USD, quantity at most 5") into out; returns out. */
const char *mkt_cap_words(char *out, size_t size, json_t *cap, const char *currency);

/* ---- risk.c ---- */
/* Runs every rule on the new purchase p (borrowed; its flags and risk_score are set).
 * Returns 0 or -1. */
int risk_check(market *m, json_t *p, json_t *buyer, json_t *listing, json_t *neg);
/* The budget rule: true when buyer's spent_minor + p's total_minor is over its
 * spend_cap_minor (or out of range); why (size bytes) then says so in money ("spent
 * $1,000.00 USD + total $900.00 USD is over the $1,500.00 USD spending cap"). Checked when a
 * purchase is made (its critical budget flag), when it is approved (409 budget_exceeded:
 * decide.c) and by settlement itself (settle.c), each time on the buyer as it is now. */
bool risk_over_cap(json_t *buyer, json_t *p, char *why, size_t size);
/* Counts the agent's offers in the last minute and raises a velocity alert when it
 * passes the limit (once a minute). Returns 0 or -1. */
int risk_velocity(market *m, const char *agent_id);
/* A copy (owned) of purchase p as agent a may see it: each flag's detail is the rule's
 * fixed sentence for agents, so that no party's private limit (the seller's floor, the
 * buyer's limits) reaches another agent, and without the policies that matched (policy,
 * policy_shadow: what would let an agent probe them). Operators get p as it is. */
json_t *risk_purchase_view(const market_actor *a, json_t *p);

/* The dispute_burst rule: an alert about agent_id when it has DISPUTE_BURST or more
 * disputes against it (dispute_against) opened in the last 24 hours. 0 or -1. */
#define DISPUTE_BURST 3
int risk_dispute_burst(market *m, const char *agent_id);

/* True when name is one of the rules that flag purchases (docs/api.md's rules table). */
bool risk_rule_known(const char *name);

/* ---- alert.c ---- */
/* Raises an alert about purchase p (borrowed; its buyer is the alert's agent) or, when p
 * is NULL, about agent agent_id: a repeat of the same rule and severity for the same
 * agent within ten minutes updates that agent's open alert (count, last_at,
 * purchase_ids) instead. Returns 0 or -1. */
int risk_alert(market *m, const char *severity, const char *rule, json_t *p, const char *agent_id,
               const char *message);
/* Raises (or groups) one alert per flag of the stored purchase p; when p no longer
 * waits (decided as it was made), resolves them at once. Returns 0 or -1. */
int risk_raise(market *m, json_t *p);
/* Resolves every open or acknowledged alert about purchase p (just stored, mkt_update)
 * once p is out of pending_approval and none of the alert's purchases still waits.
 * Returns 0 or -1. */
int risk_resolve(market *m, json_t *p);

/* ---- crypto.c (OpenSSL's libcrypto) ---- */
/* SHA-256 of a's alen bytes followed by b's blen (b may be NULL when blen is 0) into
 * out. 0 or -1. */
int mkt_sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32]);
/* SHA-256 of data as 64 lower-case hex digits and a NUL ("" on failure). */
void mkt_sha256_hex(const void *data, size_t len, char hex[65]);
/* HMAC-SHA256 of data under key as 64 lower-case hex digits and a NUL. 0 or -1. */
int mkt_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len, char hex[65]);

/* ---- audit.c: the audit chain (docs/api.md, "Audit") ---- */
/* Links obj, a new object of kind, into the audit chain when kind is chained (decisions,
 * ledger entries): sets its chain_n, prev_hash and hash and moves the head (meta), in
 * the current transaction. Called by mkt_create only. 0 or -1 (the caller rolls back). */
int audit_chain(market *m, const char *kind, json_t *obj);
/* True when objects of kind are links of the chain: created once, never changed (db.c's
 * mkt_put and mkt_update refuse them). */
bool audit_chained(const char *kind);
/* GET /v1/audit/head and GET /v1/audit?after=N&limit=L (route.c). */
bool audit_get_head(mkt_ctx *c);
bool audit_get(mkt_ctx *c);

/* ---- webhook.c, webhook_send.c ---- */
/* Escalates an event to every --webhook receiver, at least once: writes its outbox rows
 * (an event {id: "whe_…", type, created_at, data}) in the current transaction, so that
 * the POST goes out when, and only when, the change commits, and survives a crash;
 * nothing when marketd has no --webhook. type names what happened ("alert.critical",
 * "purchase.deadline", "unattended.started", ...: docs/api.md, "Webhooks"), data
 * (borrowed; may be NULL) is what it is about. Call it with the lock held, inside the
 * transaction of the change (mkt_begin). 0 or -1 (the caller rolls back). */
int webhook_enqueue(market *m, const char *type, json_t *data);
/* Reports the pending purchases with under 30 s left, once each (market_tick). */
void webhook_tick(market *m);
/* Stops the sender and frees the webhooks (market_close; without the lock). */
void webhook_stop(market *m);
void webhook_free(market *m);
/* The sender's counters (any thread). */
void webhook_stats(market *m, uint64_t *deliveries, uint64_t *failures, int64_t *pending);
/* curl_global_init, once, before any thread sends (market_webhooks). 0 or -1. */
int webhook_send_init(void);
/* POSTs body to url, signed with secret (webhook_send.c). 0 on a 2xx answer, else -1.
 * Without the market's lock. */
int webhook_send(const char *url, const char *event_id, const char *body, const char *secret,
                 size_t secretlen);

/* ---- hold.c ---- */
/* Holders: "fleet" (the fleet halt), "pause:<agent id>" (a supervisor's pause: the agent
 * and its open negotiations), "hold" (a supervisor's hold of one negotiation),
 * "halt:<halt id>" (a scoped halt: marketd/halt.c). */

/* True when holder is in obj's held_by. */
bool hold_has(json_t *obj, const char *holder);
/* Writes who holds obj in words ("the fleet halt, the pause of agt_3") into out. */
void hold_describe(json_t *obj, char *out, size_t size);
/* Adds holder to obj (kind "agent", or "negotiation" while open or held): the first
 * holder makes it paused/held; a negotiation gets text as a system message (may be
 * NULL). Stores it. Returns 1 when added, 0 when it already had it (or a negotiation is
 * no longer negotiating), -1 on failure. */
int hold_add(market *m, const char *kind, json_t *obj, const char *holder, const char *text);
/* Removes holder from obj; the last one reopens it (active/open). A negotiation gets text
 * (and who still holds it) as a system message. Stores it. 1 removed, 0 absent, -1. */
int hold_remove(market *m, const char *kind, json_t *obj, const char *holder, const char *text);
/* Adds holder to every open or held negotiation of agent_id (of everyone when NULL). */
int hold_threads(market *m, const char *agent_id, const char *holder, const char *text);
/* Removes holder from every object of kind that has it. 0 or -1. */
int hold_release(market *m, const char *kind, const char *holder, const char *text);
/* A negotiation that reopens takes the holders of its two parties (held, with a system
 * message, when there are any); the caller stores it. 0 or -1. */
int hold_inherit(market *m, json_t *neg);

/* ---- halt.c: scoped halts (holder "halt:<id>") ---- */
/* POST /v1/halts: creates a halt, holds the open negotiations in its scope, lists it in
 * the Fleet object and records the Decision. */
bool halt_create(mkt_ctx *c);
/* Lifts halt h (borrowed, stored here): releases exactly what it held and takes it out
 * of the Fleet object (the lift decision of marketd/decide.c). 0 or -1. */
int halt_lift(mkt_ctx *c, json_t *h);
/* True (answered 409 halted, naming the halt) when an active halt's scope matches a
 * trade on listing_id between buyer_id and the listing's seller: a new negotiation or
 * purchase there is refused. */
bool halt_refuse(mkt_ctx *c, const char *listing_id, const char *buyer_id);
/* Appends to holders (an array) the holder of each active halt whose scope matches
 * negotiation neg and that neg does not have yet (hold_inherit). 0 or -1. */
int halt_inherit(market *m, json_t *neg, json_t *holders);

/* ---- decide.c ---- */
/* Routes a supervisor's POST (route.c takes no one else's here) to its decision. */
bool decide_route(mkt_ctx *c);
/* Writes a Decision record (decision.recorded) by the request's actor. params is stolen
 * (may be NULL). 0 or -1. */
int decide_record(mkt_ctx *c, const char *action, const char *kind, const char *id,
                  const char *reason, json_t *params);
/* Checks If-Match against obj's version, as every decision does: true when it matches
 * (else the answer is set: 428 missing, 400 malformed, 412 stale with obj). */
bool decide_if_match(mkt_ctx *c, json_t *obj);

/* ---- dispute.c ---- */
/* POST /v1/purchases/{id}/disputes, /v1/disputes/{id}/respond and
 * /v1/disputes/{id}/accept-offer. */
bool dispute_open(mkt_ctx *c);
bool dispute_respond(mkt_ctx *c);
bool dispute_accept_offer(mkt_ctx *c);
/* The resolve decision (decide.c's table): its body {outcome, amount_minor?, reason} as
 * the Decision's params {outcome, amount_minor} (owned; *reason borrowed from the body),
 * or NULL (answered 400); its check on dispute d (the amount: the claim for a refund, at
 * most the claim and what is left unrefunded; params' amount_minor set); its change. */
json_t *dispute_resolution_parse(mkt_ctx *c, const char **reason);
bool dispute_resolution_check(mkt_ctx *c, json_t *d, json_t *params);
int dispute_resolve(mkt_ctx *c, json_t *d, json_t *params, const char *reason);
/* A refund decision on purchase p (its whole rest, marketd/decide.c) resolves p's open
 * dispute, if any, as a refund of the claim by who, via "refund", with the decision's
 * reason and a system message. 0 (also when none is open) or -1. */
int dispute_refunded(market *m, json_t *p, const char *by, const char *reason);
/* The agent a dispute is against: the party that did not open it (the seller when a
 * supervisor opened it). Borrowed from d. */
const char *dispute_against(json_t *d);
/* Marks the disputes past respond_by unanswered, with an alert (own transaction;
 * market_tick). */
void dispute_tick(market *m);

/* ---- policy.c, policy_backtest.c ---- */
/* What the live policies decided about a new purchase: action NULL when none matched
 * (today's rule, approval_threshold_minor, decides), else "approve", "veto" or
 * "review" by policy (id, name) with its reason (owned strings in a json object). */
typedef struct policy_verdict {
    const char *action;
    json_t *policy; /* the deciding policy (owned), or NULL */
} policy_verdict;
/* POST /v1/policies and POST /v1/policies/{id}. */
bool policy_create(mkt_ctx *c);
bool policy_replace(mkt_ctx *c);
/* Reads a policy's definition from c->body (name, mode, priority, match, action, reason,
 * enabled): the normalised definition (owned), or NULL with the answer set (400). */
json_t *policy_parse(mkt_ctx *c);
/* The facts a policy's match is checked against: a purchase, its buyer and listing, and
 * the buyer's purchases in the 60 minutes before it (count, sum of totals), read once
 * when a condition needs them: by window(ud) when set, else given. */
typedef struct policy_facts {
    json_t *p; /* the purchase (its flags and risk_score set) */
    const char *principal, *category;
    bool have_window;
    int64_t hour_count, hour_sum;
    int (*window)(void *ud, struct policy_facts *f); /* 0 or -1 */
    void *ud;
    int failed; /* a window could not be read */
} policy_facts;
/* True when every condition of policy pol's match holds for f (an approve never holds
 * for a purchase with a critical flag). */
bool policy_matches(json_t *pol, policy_facts *f);
/* The enabled policies of set (an array), live or shadow, in the order they are
 * evaluated: priority ascending, then their order in set. Owned. */
json_t *policy_order(json_t *set);
/* Evaluates the enabled policies on new purchase p (not yet stored) of buyer from
 * listing: the first live one that matches decides (*v; its hits counted), every shadow
 * one that matches is recorded in p's policy_shadow (its shadow_hits counted). 0 or -1;
 * the caller frees v->policy. */
int policy_decide(market *m, json_t *p, json_t *buyer, json_t *listing, policy_verdict *v);
/* Applies verdict v to purchase p before it is stored: approve and veto decide it (its
 * status and decision, by "policy:<id>"), review leaves it pending. */
void policy_apply(market *m, json_t *p, const policy_verdict *v);
/* What follows a policy's veto once p is stored: the reason goes back to the agent in
 * its thread, as an operator's veto does. 0 or -1. */
int policy_follow(market *m, json_t *p, const policy_verdict *v);
/* POST /v1/policies/backtest, taken without the market's lock (its reads go through a
 * read-only snapshot: store_ops.reader_open): true when rq is that request (answered
 * into rs), false otherwise. */
bool policy_backtest_take(market *m, const market_actor *a, const market_request *rq,
                          market_response *rs);

/* ---- stats.c ---- */
/* GET /v1/stats/agents, the agents' scorecards, read on a snapshot without the market's
 * lock (store_ops.reader_open): true when rq is that request (answered into rs), false
 * otherwise. */
bool stats_take(market *m, const market_actor *a, const market_request *rq, market_response *rs);

/* ---- presence.c ---- */
/* Sets up presence and the unattended switch (opt's presence_window_s, unattended_s,
 * unattended_halt) and stores the switch's state in the Fleet object (the since of an
 * unattended market survives a restart). 0, or -1 with err. */
int presence_open(market *m, const market_options *opt, char *err, size_t errsz);
void presence_close(market *m);
/* GET /v1/presence and POST /v1/presence (a supervisor's keyboard input, idle_s ago). */
bool presence_get(mkt_ctx *c);
bool presence_post(mkt_ctx *c);
/* Presence at the clock (input past the window) and the switch: without the lock (it
 * fires a halt through market_handle). */
void presence_tick(market *m);
/* True when the switch restricts now (restrict, and no supervisor present for after_s). */
bool presence_restricting(market *m);
/* True (and the answer set: 409 unattended) when a new negotiation is refused now. */
bool presence_refuse_negotiation(mkt_ctx *c);
/* While restricting, nothing automatic approves new purchase p: *approve (a policy's
 * approve or the approval threshold) becomes false, a policy's approve a review, and p
 * is marked unattended. */
void presence_restrict(market *m, json_t *p, policy_verdict *v, bool *approve);

/* ---- agents.c ---- */
/* POST /v1/agents: registers an agent and issues its token. */
bool agents_register(mkt_ctx *c);
/* The limits in object src (all four required, or any), owned; NULL when one is
 * invalid (the answer is set). */
json_t *agents_limits(mkt_ctx *c, json_t *src, bool required);
/* True when a purchase of total by buyer needs two supervisors' approvals: its limit
 * two_person_minor is set (not 0) and total is at or above it. */
bool agents_two_person(json_t *buyer, int64_t total);

/* ---- claims.c ---- */
/* POST /v1/purchases/{id}/claim: claims (or renews the claim on) a pending purchase. */
bool claims_post(mkt_ctx *c);
/* Releases the active claim on purchase p (just changed: db.c's mkt_update). 0 or -1. */
int claims_release(market *m, json_t *p);
/* Expires the claims past their until (own transaction; market_tick). */
void claims_tick(market *m);

/* ---- settle.c ---- */
/* Settles purchase p (approved): ledger entry, spent, listing quantity. 0, 1 when that
 * would take the buyer over its spending cap (risk_over_cap on the buyer as it is now:
 * nothing changed; the callers check it first), or -1. */
int settle_purchase(market *m, json_t *p);
/* Refunds amount (0..what is left unrefunded) of settled purchase p: a reversing ledger
 * entry (kind "refund") for amount, the buyer's spending back by it, p's refunded_minor
 * up by it and, once all of its total is back, p's status refunded; stores p. The one
 * place a purchase's money goes back (a refund decision, a dispute). 0 or -1. */
int settle_refund(market *m, json_t *p, int64_t amount);
/* Sets purchase p's negotiation to status with a system message text; a cap (borrowed,
 * may be NULL) reopens it inside the cap. 0 or -1. */
int settle_thread(market *m, json_t *p, const char *status, const char *text, json_t *cap);
/* Expires every pending purchase past decide_by (own transactions). */
void settle_expire_due(market *m);
/* Expires purchase p inside the current transaction. 0 or -1. */
int settle_expire(market *m, json_t *p);
/* True (and expires it in this transaction) when pending purchase p is past due. */
bool settle_expire_if_due(market *m, json_t *p);

#endif
