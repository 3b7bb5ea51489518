/* feeder.h: a small SSE feeder for the console benchmarks (tests/bench/bench_live.c).
 *
 * It serves GET /v1/health, /v1/whoami, /v1/snapshot and /v1/events on a free loopback
 * port as docs/api.md describes (any token is accepted; whoami says "bench",
 * supervisor), with a snapshot and an event script chosen by the mode, so that a bench
 * can feed the real console at an exact rate. A benchmark tool: no test uses it in
 * place of marketd.
 *
 *   FEEDER_FLOOD  snapshot of nlist listings, nneg threads, 300 agents, 1000 ledger
 *                 entries; once go is set, `rate` events/s for `seconds` (a live market's
 *                 mix); every FEEDER_MARK_EVERY-th event is a new purchase pending
 *                 approval (a marker), its send time in mark_at[k]
 *   FEEDER_IDLE   the same snapshot with 5 pending purchases; then heartbeats only
 *   FEEDER_BULK   the snapshot with 1 pending purchase; once go is set, 10 messages per
 *                 thread, a 2nd pending purchase, 1,000,000 ledger entries, a 3rd
 *   FEEDER_EMPTY  a snapshot with 300 agents and 1 pending purchase
 * Every stream ends its script with a heartbeat every 15 s until feeder_stop().
 */
#ifndef DEALDESK_TESTS_FEEDER_H
#define DEALDESK_TESTS_FEEDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { FEEDER_FLOOD, FEEDER_IDLE, FEEDER_BULK, FEEDER_EMPTY } feeder_mode;

#define FEEDER_MARK_EVERY 250 /* flood: every 250th event (50 ms at 5,000/s) is a marker */
#define FEEDER_MAX_MARKS  4096

/* Times are CLOCK_MONOTONIC seconds. */
typedef struct feeder {
    feeder_mode mode;
    int lfd, port;
    pthread_t acceptor;
    atomic_int stop;
    atomic_int go; /* the stream starts its script when set */
    char *snap;    /* the snapshot body (owned) */
    size_t snaplen;
    long long snap_seq;
    int nlist, nneg;  /* objects in the snapshot */
    double rate;      /* flood: events per second */
    double seconds;   /* flood: how long */
    atomic_long sent; /* events written to the stream */
    atomic_int marks; /* markers written */
    double mark_at[FEEDER_MAX_MARKS];
    atomic_int script_done; /* the stream's script is over */
    atomic_int streams;     /* event streams opened */
    double script_start, script_end;
    double bulk_msgs_done; /* bulk: when the messages were all written */
} feeder;

/* Builds the mode's snapshot and starts serving on a free loopback port (f->port), with
 * rate 5,000/s and 30 s for a flood. Returns 0 or -1. */
int feeder_start(feeder *f, feeder_mode mode, int nlist, int nneg);

/* Stops the feeder (streams end within ~50 ms) and frees its snapshot. */
void feeder_stop(feeder *f);

#endif
