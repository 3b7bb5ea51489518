/* client.h: the connection to a marketplace, as a state machine driven by one wait.
 *
 * A client owns one libcurl multi handle with the event stream, the snapshot request and
 * any decision requests on it. The application's loop is:
 *
 *     for (;;) {
 *         int t = client_next_timeout_ms(c);          // and the loop's own timers
 *         client_wait(c, fds, nfds, t, &ready);       // THE one wait of the program
 *         client_run(c);                              // transfers, events -> store
 *         ... handle ready fds (keys, signals), repaint what changed ...
 *     }
 *
 * client_run() applies events to the store in seq order: a snapshot first, then the
 * stream from the snapshot's seq; duplicates are dropped; a gap, an epoch change or a
 * `reset` event trigger a fresh snapshot. A broken stream is reopened with Last-Event-ID
 * after an exponential backoff with jitter that honours the server's `retry:` within
 * [0.5 s, 60 s]; no bytes for three heartbeat periods counts as a dead connection.
 * libcurl's callbacks only hand bytes to the SSE parser and to buffers.
 *
 * Decisions are asynchronous: client_decide() journals the request (fsync) with a fresh
 * Idempotency-Key and returns at once; the outcome, a refusal before sending included,
 * arrives through its callback, called from a later client_run(). Transport errors are
 * retried with the same key (not while a fresh snapshot is due). Every decision is bound
 * to the market (its epoch, from the snapshot) and the operator (GET /v1/whoami): until
 * both are known a decision is refused before anything is sent, and nothing is ever sent
 * to another market or as another operator: every attempt carries `If-Epoch`, and another
 * market at the URL answers 412 epoch_mismatch (the outcome: nothing applied; not
 * retried). Journal entries an earlier session left without an answer are never sent
 * unasked: once bound, a console gets those of this market and operator from
 * client_unanswered(), shows them, and sends them again with the same key
 * (client_unanswered_send: the server answers a repeat with its first answer) or discards
 * them.
 *
 * With cfg->replay_file set, the client needs no server: it feeds a recorded stream (what
 * --record wrote) through the same parser, decoder and store at cfg->replay_speed, and
 * refuses decisions.
 *
 * A recording (cfg->record_file, appended to) is itself an SSE stream: every snapshot the
 * client applied as `event: snapshot` (its JSON as data lines), then each event that
 * moved the store's position, with its id, type and data exactly as the server sent them.
 */
#ifndef DEALDESK_API_CLIENT_H
#define DEALDESK_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/config.h"
#include "api/decision.h"
#include "api/json_policy.h"
#include "api/json_stats.h"
#include "api/model.h"
#include "api/pages.h"

typedef struct client client;

typedef enum conn_state {
    CONN_CONNECTING,   /* first snapshot/stream not yet up */
    CONN_LIVE,         /* snapshot applied and the stream open */
    CONN_RECONNECTING, /* the stream broke; waiting for next_retry_ms, then reconnecting */
    CONN_OFFLINE       /* nothing more will come (replay finished, fatal auth error) */
} conn_state;

/* Why the connection is not live: the last failure, kept until the stream is live again
 * (client_reason_name gives the word the header shows). */
typedef enum conn_reason {
    CONN_REASON_NONE,         /* live, or the first attempt has not failed yet */
    CONN_REASON_REFUSED,      /* nothing listens at the address (connection refused) */
    CONN_REASON_UNREACHABLE,  /* no route to the server */
    CONN_REASON_DNS,          /* the host name did not resolve */
    CONN_REASON_TLS,          /* the TLS handshake or the certificate failed */
    CONN_REASON_TIMEOUT,      /* connecting or the answer took too long */
    CONN_REASON_UNAUTHORIZED, /* 401: the token was refused (no retry) */
    CONN_REASON_FORBIDDEN,    /* 403: the token may not read the market (no retry) */
    CONN_REASON_HTTP,         /* another HTTP error status (http_status says which) */
    CONN_REASON_CLOSED,       /* the server closed the stream */
    CONN_REASON_STALLED,      /* no bytes for three heartbeat periods */
    CONN_REASON_BAD_ANSWER,   /* an answer outside the contract (snapshot rejected) */
    CONN_REASON_RESYNC,       /* a gap, reset or epoch change: a fresh snapshot is due */
    CONN_REASON_OTHER         /* anything else (last_error says what) */
} conn_reason;

typedef struct client_status {
    conn_state state;
    conn_reason reason;      /* why it is not live (CONN_REASON_NONE when live) */
    bool retrying;           /* a connection attempt is in flight after a failure */
    bool replay;             /* the events come from a recording, not a server */
    double replay_speed;     /* replay: the speed factor (0: as fast as possible) */
    uint64_t replay_played;  /* replay: events of the recording played so far */
    uint64_t replay_total;   /* replay: events in the recording */
    int64_t stale_since_ms;  /* wall ms at which a live stream was lost (0: live or never) */
    int64_t next_retry_ms;   /* ms until the next reconnection attempt (0 when none) */
    int64_t lag_ms;          /* now minus the `at` of the last applied event (0 none) */
    char server[128];        /* host:port of the server (or "replay FILE") */
    char operator_name[65];  /* from GET /v1/whoami (sanitised), "" until known */
    char role[16];           /* "supervisor", "viewer", ... or "unknown" */
    int64_t seq;             /* the last applied seq */
    uint64_t events;         /* events applied */
    uint64_t errors_decode;  /* events rejected by the decoder (outside the contract) */
    uint64_t errors_sse;     /* SSE events/fields dropped for size */
    uint64_t events_dropped; /* duplicates and stale versions */
    uint64_t snapshots;      /* snapshots applied (0 until the first) */
    bool threads_loading;    /* a staged snapshot's other open threads are being read
                                (api/client_backfill.c): the Threads pane is not whole yet */
    uint64_t reconnects;     /* stream (re)connections after the first */
    uint32_t events_per_s;   /* events applied during the last whole second */
    int http_status;         /* of the last failed request, 0 none */
    bool auth_failed;        /* 401/403 on the stream: the client stops retrying */
    /* Presence (GET /v1/presence, presence.updated): supervisors present (-1 unknown),
     * viewers watching, and whether this operator is among the present. */
    int presence_supervisors, presence_viewers;
    bool presence_me;
    char last_error[256]; /* sanitised; never holds the token */
} client_status;

/* Called from client_run() after each event is applied to the store: seq and type, and
 * the raw JSON of the event ({seq, type, at, data}, borrowed, as the server sent it —
 * untrusted: print it through json_print_event_decoded(), since json_decode_event
 * accepted it). */
typedef void (*client_event_cb)(void *ud, int64_t seq, const char *type, const char *raw,
                                size_t rawlen);

/* Returns a new client on the config (borrowed; must outlive it) and the store
 * (borrowed; the client is its only writer), or NULL with a message in err. Starts the
 * first snapshot and stream (or the replay), and re-sends unsettled journal entries. */
client *client_new(const config *cfg, store *st, char *err, size_t errsz);

/* Closes every transfer and frees the client (the store is left as it is). */
void client_free(client *c);

/* Sets the hook called for each applied event (NULL to remove). */
void client_set_event_hook(client *c, client_event_cb cb, void *ud);

/* Waits until libcurl has work, one of extra_fds is readable, or timeout_ms passes
 * (-1: the client's own next timer only). Sets bit i of *ready (may be NULL) when
 * extra_fds[i] is readable (at most 32 fds). Returns 0, or -1 on a poll error.
 * Signal-safe to interrupt (EINTR returns 0). */
int client_wait(client *c, const int *extra_fds, size_t nfds, int timeout_ms, unsigned *ready);

/* Performs pending transfers and timers, applies every event that arrived to the store,
 * and calls decision callbacks. Never blocks. */
void client_run(client *c);

/* Milliseconds until the client's next timer (retry, heartbeat deadline, replay pacing),
 * or -1 when it has none. */
int client_next_timeout_ms(const client *c);

/* Copies the current status into *st. */
void client_status_get(const client *c, client_status *st);

/* Sends a decision: validates it, journals it (fsync) with a fresh Idempotency-Key,
 * then sends it. Returns the decision's id (> 0; 0 only when out of memory, and cb is
 * then never called). Completion is always asynchronous: cb is called from a later
 * client_run(), never from inside this call, also for a decision refused before
 * anything was sent (read-only, replay, invalid, not bound: http_status 0, delivery
 * DELIVERY_NOT_SENT and a message saying so). */
uint64_t client_decide(client *c, const decision_req *req, decision_cb cb, void *ud);

/* Claims pending purchase purchase_id (POST /v1/purchases/{id}/claim: "I am reviewing
 * it", docs/api.md, Claims) without waiting: the answer is not read, the claim arrives
 * through the stream (claim.updated), someone else's claim stays as it is. Not a
 * decision: nothing journaled. Returns 0 when sent, -1 when it cannot be (replay,
 * read-only, not bound, a bad id). */
int client_claim(client *c, const char *purchase_id);

/* Number of decisions sent and not yet answered (journal replays included). */
size_t client_pending_decisions(const client *c);

/* Binds decisions to the market's epoch and the operator's name when they were read
 * without the client (one-shot commands: GET /v1/health and /v1/whoami). Returns 0, or -1
 * when either is empty. */
int client_bind(client *c, const char *epoch, const char *operator_name);

/* True once decisions can be bound (the market and the operator are known). */
bool client_bound(const client *c);

/* The decisions an earlier session left without an answer, for this market and operator
 * (known once bound; a console only): their number, and "halt fleet, approve pur_3" in
 * summary (may be NULL). */
size_t client_unanswered(const client *c, char *summary, size_t size);

/* Sends them again with their keys (outcomes to cb; the journal records that this session
 * took them over), settles them as abandoned (never sent again), or leaves them in the
 * journal unsettled, to be offered at the next start (keep); each empties the list. The
 * list is also emptied (kept) when the URL starts serving another market, and the journal
 * is then read again for that market. */
void client_unanswered_send(client *c, decision_cb cb, void *ud);
void client_unanswered_discard(client *c);
void client_unanswered_keep(client *c);

/* The decisions of this session whose outcome is unknown (in flight, waiting to be
 * retried after an attempt that may have reached the server, or retried to the end with
 * no answer): their number, and a summary as above. Those never sent are settled as not sent by
 * client_free; the others stay in the journal for the next start (a console), or are settled as
 * abandoned (a one-shot command, cfg->no_stream). */
size_t client_unknown_outcomes(const client *c, char *summary, size_t size);

/* Fetches a thread's earlier messages (the snapshot carries threads, not their
 * messages) into the store, page by page, in the background; the MODEL_MESSAGE change
 * counter moves when they arrive. Marks the thread watched (store_watch_thread: only the
 * STORE_WATCH_MAX most recently fetched threads keep their messages), so a pane calls it
 * whenever it shows a thread's messages. Returns 0, or -1 (bad id, replay, memory). A
 * fetch already running for the thread is not started twice; a thread already watched
 * whose messages are held is only marked (nothing is fetched). */
int client_fetch_thread(client *c, const char *negotiation_id);

/* ---- history, a page at a time (issue 14; api/pages.h) ------------------------------ */

/* The rows of query q read so far (out: borrowed until the next client_run() or
 * client_history_forget()). When fewer than `want` rows are here, the server has more and
 * no page is on its way, asks for the next page (GET /v1/{kind}?status=&q=&sort=&limit=100
 * &after=) on the client's one multi handle; never blocks. A failed read (PAGE_FAILED,
 * out->error) is tried again by the next call that wants more, once a second has passed
 * since the failure (a pane that asks at every frame does not hammer a server that is
 * down; nothing wakes the loop for it: the next ask retries). The query becomes the most
 * recently used; the cache drops the least recently used queries beyond PAGES_MAX_ROWS
 * rows (one query reads no more than that: past it, PAGE_FAILED says to narrow it).
 * Every query is dropped at a new snapshot, a reset or another epoch. A query of an
 * unsupported kind, or with q of 1..PAGES_Q_MIN-1 bytes, fails at once (PAGE_FAILED); in a
 * replay (no server) every query fails so. */
void client_history(client *c, const page_query *q, size_t want, page_result *out);

/* Drops every query of a kind (MODEL_KIND_COUNT: of every kind), cancelling the pages on
 * their way: the next client_history() reads them fresh. */
void client_history_forget(client *c, model_kind kind);

/* ---- a policy backtest (POST /v1/policies/backtest; api/client_backtest.c) ----------
 *
 * One at a time, beside the stream, never blocking: client_backtest() starts one (a
 * running one is cancelled), client_run() collects its answer, client_backtest_last()
 * tells where it is. A backtest changes nothing: it is neither journaled nor retried. */
typedef struct client_backtest_state {
    uint64_t id;     /* what client_backtest() returned (0: none asked) */
    bool done;       /* answered or failed */
    bool ok;         /* result holds the answer */
    char error[240]; /* why not (sanitised), when done and not ok */
    policy_backtest result;
} client_backtest_state;

/* Starts a backtest of body (json_policy_backtest_defs). Returns its id (> 0), or 0 when
 * none could start (a replay, no server, out of memory: the state says why). */
uint64_t client_backtest(client *c, const char *body);

/* The last backtest asked for (borrowed; id 0 when none). */
const client_backtest_state *client_backtest_last(const client *c);

/* ---- the agents' scorecards (GET /v1/stats/agents; api/client_stats.c) -------------
 *
 * One read at a time, beside the stream, never blocking: client_stats() asks (nothing
 * when one is on its way), client_run() collects the answer, client_stats_last() holds
 * the last good answer (kept through a failed read) and where the last read stands. */
typedef struct client_stats_state {
    uint64_t id;       /* the last read asked for (0: none) */
    uint64_t answered; /* moves when an answer changed the figures (0: none yet) */
    bool done;         /* the last read answered or failed */
    bool ok;           /* ... and result holds its answer */
    char error[240];   /* why not (sanitised), when done and not ok */
    stats_agents result;
} client_stats_state;

/* Asks for the scorecards over window ("24h", docs/api.md "Statistics"). Returns the
 * read's id, or 0 when one is already on its way. */
uint64_t client_stats(client *c, const char *window);

/* The scorecards' state (borrowed). */
const client_stats_state *client_stats_last(const client *c);

/* Moves whenever a page arrives, fails or is dropped: the panes compare it to know when
 * to ask client_history() again. */
uint64_t client_history_changes(const client *c);

/* Notes keyboard input at a console (cfg->console): reported to the market with POST
 * /v1/presence at most once a minute, never blocking (a supervisor is present while its
 * console is connected and had input in the last ten minutes; docs/api.md, "Presence").
 * Starting the console counts as input; each live spell reports once at its start. */
void client_presence_input(client *c);

/* Asks for a fresh snapshot now (as a `reset` would). */
void client_resync(client *c);

/* The market's clock in ms since the epoch, against which deadlines count: the wall
 * clock, or in a replay the recording's (the `at` of the event being played, moving at
 * the replay's speed between events and stopping at the end of the recording). */
int64_t client_clock_ms(const client *c);

/* The word for a reason ("refused", "unauthorized", "TLS", ...); static. */
const char *client_reason_name(conn_reason r);

/* The name of a state ("live", "reconnecting", ...); static. */
const char *client_state_name(conn_state s);

#endif
