/* store.h: marketd's storage behind one seam, whatever the database engine.
 *
 * The market's rules (trade.c, decide.c, settle.c, hold.c, risk.c, route.c, agents.c,
 * idem.c, market.c) never name an engine: they call the operations of a store_ops table,
 * through db.c (transactions, objects, the event log) or STORE() for a named query. An
 * engine is one const table of these operations and the files behind it (SQLite:
 * store_sqlite.c, its schema in store_sqlite_schema.c, the policies' reads in
 * store_sqlite_policy.c, the webhook outbox in store_sqlite_webhook.c, the agents'
 * scorecards in store_sqlite_stats.c: the only files that call the SQLite library, as
 * tools/check-layers.sh checks). The second engine, PostgreSQL (issue 18: store_pg.c,
 * store_pg_schema.c, store_pg_more.c, store_pg_stats.c; the only files that call libpq),
 * is a second table with the same answers.
 *
 * What is stored (each body once; see db.c and idem.c):
 *   objects   one row per object (kind, id): its JSON, a few indexed columns (status, the
 *             parties p1 and p2, the decide_by deadline as due, the creation time, the
 *             sort keys of the lists: see store_keys) and the seq of the event whose data
 *             is this version (0: none); how many of each kind were ever stored, kept in
 *             the transaction that inserts; and each object's searchable text, indexed
 *             for substring search (the lists' q=);
 *   events    the gapless log: seq, type, time, and either the whole line or, when its
 *             data is an object's current row or a message, where that data lives;
 *   messages  a negotiation's messages, by (negotiation, seq);
 *   idem      the answers kept for Idempotency-Key, with references to events;
 *   meta      small named values (ids, the epoch, the fleet singleton);
 *   and the reference-price windows, balances, agent token hashes, injected faults.
 *
 * Text handed to a callback is borrowed for the call only. A walk calls its callback
 * once a row, in the order the operation states; the callback returns 0 to go on, more
 * than 0 to stop, less than 0 to stop with an error. A walk returns how many rows it gave,
 * or -1 (an engine error, or the callback's). Every operation runs inside the caller's
 * transaction when there is one, with the market's lock held (on the long-lived reader,
 * open_reader: with the reader's lock held instead; on a one-read reader, reader_open: in
 * its own read transaction, without a lock).
 */
#ifndef DEALDESK_MARKETD_STORE_H
#define DEALDESK_MARKETD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_ops store_ops;

/* Every engine's handle begins with this (the engine's own state follows). */
struct store {
    const store_ops *ops;
};

/* Calls operation op of store s: STORE(m->db, listings_open, seller, max). */
#define STORE(s, op, ...) ((s)->ops->op((s), __VA_ARGS__))

/* One row of a walk: a text (JSON, an account, a message's text) and a number (the row's
 * order, a seq, an amount). */
typedef int (*store_row_fn)(void *ud, const char *text, int64_t n);

/* What a new database starts with (written with its first schema). */
typedef struct store_seed {
    const char *epoch; /* meta "epoch" */
    const char *fleet; /* meta "fleet": the fleet singleton's JSON */
} store_seed;

/* The sort keys of an object's row, read off the object by db.c (mkt_sort_keys): which
 * field each one holds depends on the kind (marketd/lists.c names the sorts). */
typedef struct store_keys {
    bool has_upd, has_k1, has_k2;
    int64_t upd;    /* updated_at, ms (listings, negotiations) */
    int64_t k1;     /* the kind's first number (a price, a count, a total, a rank, an amount) */
    int64_t k2;     /* its second (a purchase's deadline) */
    const char *tk; /* a text key (an agent's name), or NULL */
} store_keys;

/* An object's row. */
typedef struct store_object {
    const char *kind, *id;
    const char *status;  /* or NULL */
    const char *p1, *p2; /* its parties (seller; buyer and seller; an alert's subject and
                            agent), or NULL */
    int64_t due;         /* a pending purchase's decide_by in ms, or -1 */
    int64_t created;     /* ms; kept from the first store of the row */
    const char *json;
    int64_t seq; /* the event whose data this version is, or 0 */
    store_keys keys;
    /* The searchable text (lower case: ASCII), given when the row is new (NULL: leave it
     * as it is; an object's searchable text never changes once it exists). */
    const char *search;
} store_object;

/* An event to append: line is the whole line, or NULL when the data lives in the row
 * named by src ("message": messages (src_id, src_n); else objects (src, src_id)). */
typedef struct store_event {
    int64_t seq;
    const char *type;
    int64_t at;
    const char *line;
    const char *src, *src_id;
    int64_t src_n;
} store_event;

/* An event read back: line, or (line NULL) its data from where it lives. */
typedef struct store_evrow {
    int64_t seq;
    const char *type;
    int64_t at;
    const char *line, *data;
} store_evrow;
typedef int (*store_event_fn)(void *ud, const store_evrow *e);

/* A negotiation's message. */
typedef struct store_message {
    const char *negotiation_id;
    int64_t seq;
    const char *from, *kind;
    int64_t at;
    const char *json;
} store_message;

/* A stored idempotent answer (idem.c): refs NULL when it holds no reference. */
typedef struct store_answer {
    const char *fingerprint;
    int status;
    const char *body, *refs;
} store_answer;
typedef int (*store_answer_fn)(void *ud, const store_answer *a);
/* A stored answer with its scope and key (the event log's retention, marketd/retain.c). */
typedef int (*store_idem_fn)(void *ud, const char *scope, const char *key, const store_answer *a);

/* A fault the simulated fleet injected (ids NULL when absent). */
typedef struct store_fault {
    const char *kind, *purchase_id, *negotiation_id, *listing_id, *agent_id;
    int64_t at;
} store_fault;
typedef int (*store_fault_fn)(void *ud, const store_fault *f);

/* What a list is sorted by: the creation order, or a sort key of store_keys (ties by
 * creation order, in the same direction). */
typedef enum store_col { STORE_ORD, STORE_UPD, STORE_K1, STORE_K2, STORE_TK } store_col;

/* A page of a list (GET /v1/{kind}): objects of kind in the order of col (desc: highest
 * first) after the cursor, at most limit of them, filtered by status, by party (p1 or
 * p2), by id and by searchable text. */
typedef struct store_page {
    const char *kind;
    const char *status; /* or NULL: any */
    const char *party;  /* or NULL: anyone's */
    const char *id;     /* or NULL: any (the agent reading the list of agents: itself) */
    int64_t after;      /* the cursor: the order of the last row of the page before (0: the
                           first page; with has_key, paired with the key below) */
    int limit;
    store_col col;
    bool desc;
    bool has_key;     /* the cursor holds the last row's sort key too (not for STORE_ORD) */
    int64_t key;      /* its number (STORE_UPD, K1, K2) */
    const char *tkey; /* its text (STORE_TK) */
    const char *q;    /* searched text (lower case, at least 3 characters), or NULL */
} store_page;

/* A question for the agents' scorecards (store_ops.agent_stats; marketd/stats.c). */
typedef struct store_stats_q {
    int64_t since;   /* ms: purchases made at or after it (-1: from the oldest purchase, and
                        set to that purchase's creation time, or to until - 1 when none) */
    int64_t until;   /* ms: and before it */
    int buckets;     /* the series: [since, until) in this many equal spans (1..1000) */
    store_row_fn fn; /* each agent's figures as a JSON object (n 0), by agent id */
    void *ud;
} store_stats_q;

/* The terms of a purchase that would repeat an earlier one (risk.c's duplicate rule). */
typedef struct store_dup {
    const char *buyer, *listing_id;
    int64_t unit_price, quantity;
    int64_t since; /* ms: made at or after */
} store_dup;

struct store_ops {
    const char *name; /* the engine's name, for messages ("sqlite") */

    /* ---- the database ---- */
    /* Opens (creating and migrating it to this marketd's schema, seeded with seed when
     * new) the database at path: the handle (owned), or NULL with a message in err. */
    store *(*open)(const char *path, const store_seed *seed, char *err, size_t errsz);
    /* A second handle on the same database, for reading only: read without the market's
     * lock (under a lock of its own), it sees every transaction committed before each
     * read began and keeps no writer waiting. NULL when there is none (":memory:"; an
     * error: err says why); closed with close. */
    store *(*open_reader)(store *s, char *err, size_t errsz);
    /* Closes it (after making the file whole: no journal left beside it). */
    void (*close)(store *s);
    /* The engine's last error message, for a log line or a 503's words. */
    const char *(*error)(store *s);

    /* ---- transactions ---- */
    /* Begins one; durable: it must survive a power loss once committed. 0 or -1. */
    int (*begin)(store *s, bool durable);
    /* Commits it. 0 or -1 (then it is still open: the caller rolls it back). */
    int (*commit)(store *s);
    /* Rolls back the open transaction, if there is one. */
    void (*rollback)(store *s);

    /* ---- meta ---- */
    /* Gives meta[key] to fn (n 0): 1 found, 0 absent, -1. */
    int (*meta_get)(store *s, const char *key, store_row_fn fn, void *ud);
    /* Sets meta[key] = value. 0 or -1. */
    int (*meta_set)(store *s, const char *key, const char *value);

    /* ---- objects ---- */
    /* Gives object (kind, id)'s JSON to fn (n 0): 1 found, 0 absent, -1. */
    int (*object_get)(store *s, const char *kind, const char *id, store_row_fn fn, void *ud);
    /* Inserts or replaces the row (kind, id); created is kept from the first insert. 0/-1. */
    int (*object_put)(store *s, const store_object *o);
    /* A page of a list: fn gets each object's JSON and its order (the next cursor). */
    int (*objects_page)(store *s, const store_page *q, store_row_fn fn, void *ud);
    /* Every object of kind, oldest first. */
    int (*objects_each)(store *s, const char *kind, store_row_fn fn, void *ud);
    /* The newest max objects of kind, oldest of them first (the snapshot's ledger). */
    int (*objects_newest)(store *s, const char *kind, int max, store_row_fn fn, void *ud);
    /* The working set of kind (the snapshot's, marketd/lists.c): every object whose
     * status is s1 or s2 (either may be NULL) and the newest max others, oldest first;
     * n is each one's order. */
    int (*objects_working)(store *s, const char *kind, const char *s1, const char *s2, int max,
                           store_row_fn fn, void *ud);
    /* The objects of kind whose ids are in ids (a JSON array of strings), oldest first;
     * n is each one's order. */
    int (*objects_named)(store *s, const char *kind, const char *ids, store_row_fn fn, void *ud);
    /* How many objects of kind were ever stored into *n (a counter, not a count). 0/-1. */
    int (*objects_total)(store *s, const char *kind, int64_t *n);
    /* Objects of kind in status whose held_by holds holder, oldest first (hold.c). */
    int (*objects_held_by)(store *s, const char *kind, const char *status, const char *holder,
                           store_row_fn fn, void *ud);
    /* Negotiations open or held of agent_id (a party; NULL: everyone's), oldest first. */
    int (*threads_live)(store *s, const char *agent_id, store_row_fn fn, void *ud);
    /* The open and acknowledged alerts of agent_id (their p2: alert.c), oldest first. */
    int (*alerts_live)(store *s, const char *agent_id, store_row_fn fn, void *ud);
    /* At most max pending purchases whose deadline is at or before now, soonest first. */
    int (*purchases_due)(store *s, int64_t now, int max, store_row_fn fn, void *ud);
    /* How many open listings seller has, counting no further than max (or -1). */
    int (*listings_open)(store *s, const char *seller, int max);
    /* The quantities of buyer's newest max purchases into out, newest first: how many, or
     * -1 (their median is risk.c's rule). */
    int (*purchase_quantities)(store *s, const char *buyer, int64_t *out, int max);
    /* 1 when a purchase like q (pending, approved or settled) exists, 0 when not, -1. */
    int (*purchase_duplicate)(store *s, const store_dup *q);

    /* ---- messages ---- */
    /* Stores a message. 0 or -1. */
    int (*message_put)(store *s, const store_message *msg);
    /* Messages of negotiation neg after seq after, at most max, in order: fn gets each
     * one's JSON and seq. */
    int (*messages_page)(store *s, const char *neg, int64_t after, int max, store_row_fn fn,
                         void *ud);
    /* Each message's text (NULL when it has none) and seq, in order (risk.c). */
    int (*message_texts)(store *s, const char *neg, store_row_fn fn, void *ud);
    /* How many offers and counters agent from sent after time since (ms), or -1. */
    int (*offers_since)(store *s, const char *from, int64_t since);

    /* ---- the event log ---- */
    /* Appends event e (seq is the next one). 0 or -1. */
    int (*event_append)(store *s, const store_event *e);
    /* Events with seq > after, in order, at most max. */
    int (*events_each)(store *s, int64_t after, int max, store_event_fn fn, void *ud);
    /* Gives event seq to fn: 1 found, 0 absent, -1. */
    int (*event_get)(store *s, int64_t seq, store_event_fn fn, void *ud);
    /* Gives the event whose data is the current row of object (kind, id) (its line NULL,
     * its data the row's JSON) to fn: 1 found, 0 none, -1. */
    int (*event_of_object)(store *s, const char *kind, const char *id, store_event_fn fn, void *ud);
    /* Stores event seq's whole line in place of a reference to its data. 0 or -1. */
    int (*event_set_line)(store *s, int64_t seq, const char *line);
    /* The last seq stored (0 when none) into *seq. 0 or -1. */
    int (*last_seq)(store *s, int64_t *seq);
    /* Retention (--retain-events, marketd/retain.c): deletes the events with seq below
     * `below` (the caller keeps the batch small and never names the newest event). 0/-1. */
    int (*events_prune)(store *s, int64_t below);

    /* ---- idempotency ---- */
    /* Gives the answer kept for (scope, key) to fn: 1 found, 0 none, -1. */
    int (*idem_get)(store *s, const char *scope, const char *key, store_answer_fn fn, void *ud);
    /* Keeps an answer for (scope, key), stored at time at. 0 or -1. */
    int (*idem_put)(store *s, const char *scope, const char *key, const store_answer *a,
                    int64_t at);
    /* Forgets the answers stored before time before. 0 or -1. */
    int (*idem_prune)(store *s, int64_t before);
    /* The answers holding references to events (refs not NULL) stored after time after
     * and at or before time upto, oldest first (retention: marketd/retain.c). */
    int (*idem_refs_each)(store *s, int64_t after, int64_t upto, store_idem_fn fn, void *ud);
    /* Replaces the answer kept for (scope, key) by body holding no reference. 0 or -1. */
    int (*idem_inline)(store *s, const char *scope, const char *key, const char *body);

    /* ---- reference prices (trade.c) ---- */
    /* Reads the window of (category, currency): *total prices ever added (0: none yet),
     * ring[slot] for each slot stored below min(*total, size). How many slots, or -1. */
    int (*ref_window)(store *s, const char *category, const char *currency, int64_t *total,
                      int64_t *ring, int size);
    /* Stores price in slot and the window's new total. 0 or -1. */
    int (*ref_put)(store *s, const char *category, const char *currency, int64_t slot,
                   int64_t price, int64_t total);

    /* ---- balances, tokens, faults ---- */
    /* Adds delta to account's balance (from 0). 0 or -1. */
    int (*balance_add)(store *s, const char *account, int64_t delta);
    /* Each balance: account and amount, by account. */
    int (*balances_each)(store *s, store_row_fn fn, void *ud);
    /* Stores an agent token's hash. 0 or -1. */
    int (*token_put)(store *s, const char *hash, const char *agent_id);
    /* Gives the agent id of a token hash to fn: 1 found, 0 none, -1. */
    int (*token_agent)(store *s, const char *hash, store_row_fn fn, void *ud);
    /* Records an injected fault. 0 or -1. */
    int (*fault_put)(store *s, const store_fault *f);
    /* Each recorded fault, in order. */
    int (*faults_each)(store *s, store_fault_fn fn, void *ud);

    /* ---- policies (marketd/policy.c) ---- */
    /* How many purchases buyer made at or after time since (ms) into *count, and the sum
     * of their totals into *sum: read newest first, stopping at the first older one (a
     * policy's hour window). 0 or -1. */
    int (*purchases_window)(store *s, const char *buyer, int64_t since, int64_t *count,
                            int64_t *sum);
    /* A read-only handle on the same database, inside one read transaction (a snapshot
     * that no writer waits for), for work done without the market's lock (a backtest);
     * any read operation works on it; closed with reader_close. NULL when there cannot
     * be a second connection (":memory:") or on failure. */
    store *(*reader_open)(store *s);
    void (*reader_close)(store *r);
    /* The newest max purchases, oldest of them first: each one's JSON with its listing's
     * "category" added, and its order (n: an ord below is an older purchase). */
    int (*purchases_recent)(store *s, int max, store_row_fn fn, void *ud);
    /* buyer's purchases older than order before_ord made at or after since (ms), newest
     * first, at most max: fn gets each one's creation time (ms) and total. How many, or
     * -1 (a backtest's hour windows before its first purchase). */
    int (*purchases_history)(store *s, const char *buyer, int64_t before_ord, int64_t since,
                             int max, int (*fn)(void *ud, int64_t at, int64_t total), void *ud);
    /* The webhook outbox (marketd/webhook.c): one row per event id and receiver url.
     * outbox_put adds one (body: the JSON text POSTed) due at `at`, nothing when that
     * pair is there already; outbox_due gives the undelivered rows due by now, earliest
     * first, at most max, each as JSON {n, event_id, url, body, attempts, created};
     * outbox_next the earliest next attempt of an undelivered row into *at and how many
     * wait into *pending (1 some, 0 none, -1); outbox_done marks row n delivered at `at`;
     * outbox_retry counts a failed attempt of row n and sets its next one. 0 or -1 (due:
     * how many, or -1). */
    int (*outbox_put)(store *s, const char *event_id, const char *url, const char *body,
                      int64_t at);
    int (*outbox_due)(store *s, int64_t now, int max, store_row_fn fn, void *ud);
    int (*outbox_next)(store *s, int64_t *at, int64_t *pending);
    int (*outbox_done)(store *s, int64_t n, int64_t at);
    int (*outbox_retry)(store *s, int64_t n, int64_t next_at);

    /* ---- the agents' scorecards (marketd/stats.c) ---- */
    /* The figures of each agent party to purchases made in q's window, counted on its own
     * side (a buyer's purchases as buyer, a seller's as seller): q->fn gets one JSON
     * object per agent {agent_id, deals, amount_minor, median_vs_ref_bp, vetoed, capped,
     * expired, refunded, disputed, flags: {rule: n}, median_rounds,
     * median_time_to_deal_ms, series: [[bucket, amount_minor], ...]} (docs/api.md,
     * "Statistics", says what each counts; a bucket without deals is left out). How many
     * agents, or -1. Meant for a reader (reader_open): it reads every purchase of the
     * window. */
    int (*agent_stats)(store *s, store_stats_q *q);

    /* ---- several instances on one database (issue 18, docs/scaling.md) ----
     * NULL on an engine that one process has alone (SQLite: the seq, the caches and the
     * jobs stay in memory, the fast path); set on one that several instances may share
     * (PostgreSQL: store_pg_multi.c). tx_lock set means shared. */
    /* Right after begin: locks the event counter (a writer of any instance waits here
     * until the one before commits: commit order is seq order) and gives the last seq
     * taken and the database's clock in ms. 0 or -1. */
    int (*tx_lock)(store *s, int64_t *seq, int64_t *now);
    /* Before commit, when events were appended: stores seq as the last one taken and
     * wakes every instance's listener at commit. 0 or -1. */
    int (*tx_seq_set)(store *s, int64_t seq);
    /* A connection of its own that listens for commits (closed with close): NULL with
     * err set. listen_wait waits on it until a commit anywhere, wake_fd readable (-1:
     * none; drained) or timeout_ms: 0, or -1 when the connection was lost (it connects
     * again on the next call; the caller reads the table all the same). */
    store *(*listen_open)(store *s, char *err, size_t errsz);
    int (*listen_wait)(store *l, int wake_fd, int timeout_ms);
    /* On a handle of its own (open_reader): 1 when this process holds the leader's lock
     * (taking it when free; held until the process or its connection dies), 0 when
     * another one does, -1 on error. */
    int (*leader_try)(store *l);
    /* Presence shared by the instances (marketd/presence.c; a table per instance and
     * operator, and one of the instances' heartbeats), times by the database's clock.
     * presence_put records instance's console count for operator op and, when idle_ms >= 0,
     * keyboard input idle_ms before now (kept when later than the one recorded), and marks
     * the instance alive. presence_beat marks it alive (and forgets the rows of instances
     * unseen for a day). presence_each gives the database's clock in ms into *now and, per
     * operator with rows, fn(ud, op, the consoles of the instances seen within ttl_ms, its
     * latest input in ms, 0 none): how many operators, or -1. 0 or -1. */
    int (*presence_put)(store *s, const char *instance, const char *op, int64_t consoles,
                        int64_t idle_ms);
    int (*presence_beat)(store *s, const char *instance);
    int (*presence_each)(store *s, int64_t ttl_ms, int64_t *now,
                         int (*fn)(void *ud, const char *op, int64_t consoles, int64_t last_input),
                         void *ud);
    /* Per-agent rate limits shared by the instances (marketd/ratelimit.c). rate_open: a
     * writable connection of its own (closed with close), NULL with err set. rate_take
     * on it: takes one request from key's token bucket (burst at most, refilled at rate a
     * second, by the database's clock), in one statement, so that instances racing on one
     * agent each see the other's take: 1 taken, 0 refused (the tokens left into *tokens,
     * below 1), -1 error. */
    store *(*rate_open)(store *s, char *err, size_t errsz);
    int (*rate_take)(store *w, const char *key, double rate, double burst, double *tokens);
};

/* The SQLite engine (store_sqlite.c) and the PostgreSQL engine (store_pg.c). */
extern const store_ops store_sqlite;
extern const store_ops store_pg;

#endif
