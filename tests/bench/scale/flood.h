/* flood.h: a flood of 5,000 events/s for the real console in front of the real marketd
 * (tests/bench/bench_scale.c, the RSS figure of issue 14).
 *
 * marketd cannot make 5,000 events/s by itself (each event is a committed SQLite write;
 * docs/benchmarks.md), so the bench puts this in front of it on a free loopback port:
 * every request but the event stream is relayed to marketd as it is (the snapshot, the
 * health and whoami answers, history pages, searches: all real), and GET /v1/events is
 * answered here with marketd's epoch, from the seq of marketd's snapshot on, by a live
 * market's mix at an exact rate over the working set of marketd's snapshot:
 * messages and updates on the open threads, threads opening and closing, new listings,
 * purchases made pending and decided (with their decision and ledger entry), alerts
 * raised and acknowledged, ledger entries, agents' spending, and updates of closed
 * objects of history that the console does not hold. The working set keeps its size
 * (the fixture's: 20,000 open threads, 500 pending purchases, 1,000 open alerts) while
 * every object keeps changing, so the console's memory is that of a steady market.
 * A benchmark tool: no test uses it in place of marketd.
 */
#ifndef DEALDESK_TESTS_BENCH_SCALE_FLOOD_H
#define DEALDESK_TESTS_BENCH_SCALE_FLOOD_H

#include <pthread.h>
#include <stdatomic.h>

/* The fixture's sizes (the cfg row of tests/bench/scale/fixture.sql). */
#define SCALE_THREADS 1000000L
#define SCALE_OPEN    20000L
#define SCALE_PENDING 500L
#define SCALE_LEDGER  10000000L
#define SCALE_AGENTS  2000L
#define SCALE_CLOSED  (SCALE_THREADS - SCALE_OPEN - SCALE_PENDING)
#define SCALE_ALERTS  (2 * SCALE_PENDING) /* open ones */

/* The working set the flood starts from, read from marketd's snapshot (numbers of the
 * ids: 123 for neg_123); arrays owned by the caller. */
typedef struct scale_workset {
    long nopen, *open, *open_lst, *open_msgs; /* open threads, their listings, messages */
    long npend, *pend, *pend_neg, *pend_lst;  /* pending purchases, threads, listings */
    long nalr, *alr, *alr_pur;                /* open alerts and their purchases */
} scale_workset;

typedef struct scale_flood {
    int lfd, port;        /* where the console connects */
    int upstream;         /* marketd's port */
    char epoch[40];       /* marketd's */
    long long seq0;       /* the first event sent is seq0 + 1 */
    double rate, seconds; /* events per second, for how long */
    pthread_t acceptor;
    atomic_int stop, go;
    atomic_int streams;     /* event streams opened */
    atomic_long sent;       /* events written */
    atomic_int script_done; /* the flood is over (heartbeats follow) */
    double start, end;      /* tproc_now_s() of the flood's first and last event */
    pthread_mutex_t mu;     /* the market's state below, one stream at a time */
    struct scale_market *mk;
} scale_flood;

/* Starts serving on a free loopback port (f->port) in front of marketd on upstream,
 * whose epoch and seq (its snapshot's) and working set are given (at most the fixture's
 * sizes of it are used: 20,000 open threads, 500 pending purchases, 1,000 open alerts);
 * the flood starts when f->go is set. Returns 0 or -1 (no open thread to work on). */
int scale_flood_start(scale_flood *f, int upstream, const char *epoch, long long seq0,
                      const scale_workset *ws, double rate, double seconds);

/* Stops it (streams end within ~50 ms) and frees it. */
void scale_flood_stop(scale_flood *f);

#endif
