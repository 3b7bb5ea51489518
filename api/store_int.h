/* store_int.h: what the store's files share (not a public header: only api/store*.c
 * include it). store.c holds the collections and store_apply(); store_keep.c the
 * working-set rules of issue 14 (model.h: which events are applied, eviction, the watched
 * threads, the history totals). */
#ifndef DEALDESK_API_STORE_INT_H
#define DEALDESK_API_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/model.h"

/* One collection: elements of elem bytes whose first member is the NUL-terminated key
 * (model_id or the account name), either by value or (byptr) as pointers to them. */
typedef struct coll {
    char *base;
    size_t n, cap;
    size_t elem;
    bool byptr;
    uint32_t *slots; /* index + 1, 0 = empty */
    size_t nslots;   /* a power of two, at least twice n */
} coll;

typedef struct balance {
    char account[MODEL_ID_MAX + 8];
    int64_t amount_minor;
} balance;

struct store {
    char epoch[64];
    int64_t seq;
    uint64_t changes[MODEL_KIND_COUNT];
    coll agents, listings, negotiations, purchases, alerts; /* by pointer */
    coll policies;                                          /* by pointer, every one */
    coll disputes;                                          /* by pointer */
    coll ledger, decisions, balances;                       /* by value */
    model_fleet fleet;
    /* the working set (store_keep.c) */
    int64_t history[MODEL_KIND_COUNT];      /* the snapshot's totals, -1 unknown */
    size_t sweep_at[MODEL_KIND_COUNT];      /* sweep a collection when it passes this */
    coll named;                             /* listing ids held threads/purchases name */
    model_id watched[STORE_WATCH_MAX];      /* threads whose messages are kept */
    uint64_t watched_tick[STORE_WATCH_MAX]; /* last marked (least: forgotten first) */
    size_t nwatched;
    uint64_t tick;
    /* a staged snapshot's backfill (store_keep.c; model.h) */
    bool live_more; /* the snapshot's open_threads.more: some open threads are not in it */
    bool backfill;  /* pages of the rest are being read */
    coll seen;      /* by value, seen_thread: what the stream said of threads meanwhile */
    coll parked;    /* by pointer, model_listing: listings it gave that were not held */
};

/* What the stream said of a thread while a backfill ran: its newest version and message. */
typedef struct seen_thread {
    model_id id;
    int64_t version;
    int64_t messages;
} seen_thread;

/* Collections (store.c). */
void *coll_at(const coll *c, size_t i);
long coll_find(const coll *c, const char *key);
void slot_put(coll *c, size_t i);
int coll_rehash(coll *c, size_t want);
int coll_reserve(coll *c);
void coll_append(coll *c, const void *elem);
void coll_free(coll *c);

/* Working-set rules (store_keep.c). */

/* Sets the store's working-set state to its start (store_new): totals unknown. */
void keep_init(store *s);

/* Whether an event about an object the store does not hold belongs to the working set
 * (then it is applied; else dropped). */
bool keep_admits(const store *s, const model_event *ev);

/* Notes a new thread's or purchase's listing as named (until the next sweep rebuilds). */
void keep_note_named(store *s, const char *listing_id);

/* Evicts what lies beyond the working set in kind's collection when it has grown past its
 * mark (amortised: a sweep after at least STORE_KEEP_CLOSED insertions). */
void keep_sweep(store *s, model_kind kind);

/* A message for a thread not watched: moves the held thread's message_count. */
void keep_count_message(store *s, const model_message *m);

/* While a backfill runs: notes what a stream event says of a thread (its version, or a
 * message's seq as its message_count), applied or not. */
void keep_note_seen(store *s, const model_event *ev);

/* What the stream said of thread id while the backfill runs, or NULL. */
const seen_thread *keep_seen(const store *s, const char *id);

/* Ends the backfill: frees what it noted (and the parked listings). */
void keep_backfill_end(store *s);

#endif
