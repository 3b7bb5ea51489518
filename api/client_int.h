/* client_int.h: what the files of the client share (not a public header: only
 * api/client*.c include it).
 *
 * | file            | holds                                                          |
 * |-----------------|----------------------------------------------------------------|
 * | client.c        | the stream state machine, applying items, the public API        |
 * | client_req.c    | requests beside the stream: decisions (journal, retries) and a  |
 * |                 | thread's history                                               |
 * | client_replay.c | recording the stream, and replaying a recording                |
 * | client_pages.c  | history a page at a time: the requests filling api/pages.c     |
 * | client_backfill.c | the rest of a staged snapshot's open threads, read after it    |
 */
#ifndef DEALDESK_API_CLIENT_INT_H
#define DEALDESK_API_CLIENT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api/client.h"
#include "api/clock.h"
#include "api/http.h"
#include "api/journal.h"
#include "api/pages.h"
#include "api/sse.h"

#define RETRY_MIN_MS        500
#define RETRY_MAX_MS        60000
#define RETRY_DEFAULT_MS    1000
#define DECISION_TIMEOUT    30000L
#define DECISION_ATTEMPTS   8
#define QUEUE_MAX           100000 /* items waiting: beyond this the stream is re-synced */
#define QUEUE_MAX_BYTES     (64u * 1024u * 1024u) /* and bytes waiting */
#define CLIENT_OPEN_THREADS 100 /* a console's snapshot: ?open_threads= (client_backfill.c) */

typedef struct item {
    struct item *next;
    char *type; /* owned: "snapshot" or the SSE event type */
    char *data; /* owned, NUL-terminated */
    size_t len;
    char id[SSE_MAX_ID + 1];
    int64_t due_ms; /* replay: monotonic time at which it is released */
} item;

typedef struct pending {
    struct pending *next;
    uint64_t id;
    char key[JOURNAL_KEY_MAX + 1];
    char action[24];
    char subject[65]; /* "" for the fleet */
    char epoch[65];   /* the market it is bound to: sent as If-Epoch on every attempt */
    model_kind kind;
    char path[256];
    char *body;
    int64_t version;
    decision_cb cb;
    void *ud;
    http_req *req;
    int attempts;
    int64_t next_try; /* monotonic ms; 0 = now */
    bool maybe_sent;  /* an attempt may have reached the server (else: never left) */
} pending;

/* A decision refused before anything was sent, its outcome waiting for the next
 * client_run: a callback never runs from inside client_decide. */
typedef struct refusal {
    struct refusal *next;
    decision_cb cb;
    void *ud;
    decision_outcome o;
} refusal;

/* A thread's history being fetched. */
typedef struct fetch {
    struct fetch *next;
    http_req *req;
    char neg[MODEL_ID_MAX + 1];
    int64_t after;
} fetch;

typedef enum phase {
    PH_IDLE,     /* nothing to do (no stream wanted, or offline) */
    PH_SNAPSHOT, /* GET /v1/snapshot in flight */
    PH_STREAM,   /* GET /v1/events open */
    PH_WAIT      /* waiting until retry_at to snapshot or stream */
} phase;

struct client {
    const config *cfg;
    store *st;
    http *h;
    sse_parser *sse;
    journal *j;
    FILE *rec;

    phase ph;
    bool need_snapshot;
    http_req *snap, *stream, *whoami;
    http_req *snap_held;  /* a snapshot answered before whoami: applied after it (client.c) */
    bool whoami_answered; /* the server answered whoami (even 404): not asked again */
    int attempt;          /* consecutive failed connections */
    int64_t retry_at;     /* monotonic ms */
    int64_t last_snapshot_ms;
    uint64_t seen_bytes;
    int64_t last_bytes_ms;
    bool stream_got_event;

    item *qhead, *qtail; /* to be applied */
    size_t qlen;
    bool overflow;

    bool replay;
    item *rp_head, *rp_tail; /* replay items not yet due */
    int64_t rp_start;
    int64_t rp_first_at, rp_last_at; /* the recording's clock: first and last `at` (-1 none) */

    pending *decs;
    refusal *refused; /* in the order refused */
    uint64_t next_dec_id;
    fetch *fetches;
    pages *pg;                  /* history read a page at a time (client_pages.c) */
    struct page_req *page_reqs; /* pages on their way */
    uint64_t overflows;
    size_t qbytes;

    client_event_cb hook;
    void *hook_ud;

    int64_t rate_sec;
    uint32_t rate_count;
    int64_t last_at; /* `at` of the last applied event */

    client_status s;
    int url_i; /* which of cfg->urls is in use (several: client.c, next_url) */

    /* Presence (api/client_presence.c): the report on its way, when input last came and
     * when it was last reported (monotonic ms), and whether this live spell reported. */
    http_req *presence;
    int64_t input_ms, reported_ms;
    bool presence_live;

    /* What decisions are bound to (api/client_req.c): the market's epoch (from the
     * snapshot, or given by client_bind) and the operator (whoami's name). */
    char bound_epoch[65];
    char bound_operator[65];
    bool offered;         /* the journal was looked at once both were known */
    journal_entry *offer; /* unanswered entries of an earlier session, this market */
    size_t noffer;
    size_t given_up;          /* decisions of this session retried to the end, outcome unknown */
    char given_up_list[200];  /* "veto pur_3, halt fleet" (as much as fits), named at quit */
    http_req *bt_req;         /* a backtest on its way (client_backtest.c) */
    client_backtest_state bt; /* the last one */
    http_req *stats_req;      /* the scorecards on their way (client_stats.c) */
    client_stats_state stats; /* the last ones */

    /* The rest of a staged snapshot's open threads (client_backfill.c): the page on its
     * way, the list being read (an index, -1: none), its cursor, the market, and when a
     * failed page is asked again. */
    http_req *bf_req;
    int bf_list;
    char bf_after[PAGES_CURSOR_MAX + 1];
    char bf_epoch[64];
    int64_t bf_retry_at;
    int bf_fails; /* pages failed in a row */
};

/* The backfill (client_backfill.c): started after each snapshot is applied (reads the
 * rest when the snapshot says there is more), stopped at a re-sync and at client_free;
 * run from client_run (asks a failed page again when due: client_backfill_due's monotonic
 * ms, -1 none); a finished request handled if it is its own (true; freed). */
void client_backfill_start(client *c, int64_t now);
/* Gives the heap's free pages back (after a snapshot, or a backfill, has been decoded). */
void client_trim(void);
void client_backfill_stop(client *c);
void client_backfill_run(client *c, int64_t now);
int64_t client_backfill_due(const client *c);
bool client_backfill_done(client *c, http_req *r, int64_t now);

/* A finished transfer that is the backtest's: handled (true), else false. */
bool client_backtest_done(client *c, http_req *r);

/* A finished transfer that is the scorecards': handled (true), else false; and the
 * scorecards' end (client_free). */
bool client_stats_done(client *c, http_req *r);
void client_stats_end(client *c);

/* Delivers the outcomes of decisions refused since the last client_run (client_req.c). */
void client_deliver_refusals(client *c);

/* Frees refusals not delivered (client_free). */
void client_refusals_free(client *c);

/* A uniformly random number in [0, n) (n > 0), for jitter. */
uint32_t client_rnd(uint32_t n);

/* Records the last error (already safe text: our own words or sanitised). */
void client_set_error(client *c, const char *msg);

/* Sanitises an error answer into a short, mark-free message: the server's "message"
 * when the body is the contract's error JSON, else the start of the body. */
void client_safe_msg(client *c, const char *prefix, const char *body, size_t len);

/* Frees one item. */
void client_item_free(item *it);

/* Makes an item from copies of its parts; NULL on out of memory. */
item *client_item_new(const char *type, const char *data, size_t len, const char *id);

/* Appends to the apply queue. */
void client_enqueue(client *c, item *it);

/* The URL in use: one of cfg->urls when several are given, else cfg->url. */
const char *client_base(const client *c);

/* Builds base + path into out. */
void client_url_of(const client *c, const char *path, char *out, size_t size);

/* Writes an item to the record file as an SSE event (each line of data a data line). */
void client_record_item(client *c, const item *it);

/* The market's epoch, known from a snapshot (a changed epoch stops the decisions bound to
 * the old one from being sent here). */
void client_bind_epoch(client *c, const char *epoch);

/* The operator's name from GET /v1/whoami (NULL: the server did not say). */
void client_bind_operator(client *c, const char *name);

/* Presence (api/client_presence.c): reports it when due (from client_run); true when r
 * was its request (then handled and freed); a presence.updated event's JSON. */
void client_presence_run(client *c, int64_t now);
bool client_presence_done(client *c, http_req *r);
void client_presence_event(client *c, const char *json, size_t len);

/* Handles a finished request that is neither the stream, the snapshot nor whoami (a
 * decision or a history page); frees it. */
void client_req_done(client *c, http_req *r, int64_t now);

/* History pages (client_pages.c): the cache made at client_new (0 or -1: memory); a
 * finished request handled if it is a page's (true; freed), and everything freed at
 * client_free. */
int client_pages_init(client *c);
bool client_page_done(client *c, http_req *r);
void client_pages_end(client *c);

/* At client_free: settles what will never be sent (and, for one-shot commands, whatever
 * has no answer) and frees the offer. */
void client_decisions_end(client *c);

/* Handles the end of a decision request. */
void client_decision_done(client *c, pending *p, http_req *r, int64_t now);

/* Finds a pending decision by its request. */
pending *client_pending_of(client *c, const http_req *r);

/* Unlinks and frees a pending decision. */
void client_pending_remove(client *c, pending *p);

/* The fetch a transfer belongs to, or NULL. */
fetch *client_fetch_of(client *c, const http_req *r);

/* Handles a page of history: loads it and asks for the next page when there is one. */
void client_fetch_done(client *c, fetch *f, http_req *r);

/* Unlinks and frees a fetch. */
void client_fetch_remove(client *c, fetch *f);

/* Opens cfg->record_file for appending (created 0600; refused when group or others
 * can read it). Returns 0, or -1 with a message in err. */
int client_open_record(client *c, char *err, size_t errsz);

/* Reads a recording through the SSE parser and sets each item's release time from the
 * events' `at` and the speed. Returns 0 or -1. */
int client_load_replay(client *c, char *err, size_t errsz);

/* Moves due replay items to the apply queue. */
void client_replay_release(client *c, int64_t now);

/* Sends (or re-sends) a decision with its key, If-Match and If-Epoch. */
void client_send_decision(client *c, pending *p);

/* True while decisions must not be retried: a fresh snapshot is due (the stream saw a
 * gap, a reset or another epoch), so the market at the URL may not be the one they are
 * bound to; they go again once it is read (or are dropped by client_bind_epoch). */
bool client_retries_held(const client *c);

/* The server answered 412 epoch_mismatch: it serves another market than the one the
 * client has read. Takes a fresh snapshot (once: not while one is due already). */
void client_market_changed(client *c);

#endif
