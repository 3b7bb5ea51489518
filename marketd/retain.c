/* retain.c: the event log's retention (marketd --retain-events; docs/api.md "The event
 * stream", docs/scaling.md "Retention").
 *
 * With a count N, the newest N events are kept; with an age, the events younger than it
 * (both may be set: an event goes when either says so). market_tick runs the pruning
 * with the jobs that run once per market (on the leading instance on PostgreSQL:
 * mkt_leader_check in market.c) about once a second, one small batch (RETAIN_BATCH events) in one
 * transaction, again on the next tick while a batch was full, so no delete holds the market's lock
 * for long. The newest event is never deleted, so the last seq stays known to every engine.
 *
 * What refers to events: the idempotent answers kept as references (idem.c) get their
 * whole body back before the events they refer to go (mkt_idem_inline), so a replay
 * answers the same text; an object's row naming a pruned event (its seq) is simply not
 * that event's data any more (db.c keep_superseded finds none); the snapshot's seq is
 * the newest, always kept. A stream reading past the kept range (a resume from a pruned
 * position, or a reader that fell behind the pruning) finds a gap in the seqs and gets
 * `reset` (marketd/http.c, stream_event).
 */
#include <stdint.h>
#include <stdio.h>

#include "marketd/mkt.h"

#define RETAIN_BATCH    500
#define RETAIN_EVERY_MS 1000
/* An answer and its events carry the same request time; the margin covers a clock that
 * moved between requests (an answer inlined early is harmless). */
#define RETAIN_IDEM_MARGIN_MS (60 * 1000)

void market_retain(market *m, int64_t count, int64_t age_ms)
{
    pthread_mutex_lock(&m->mu);
    m->retain_count = count > 0 ? count : 0;
    m->retain_age_ms = age_ms > 0 ? age_ms : 0;
    pthread_mutex_unlock(&m->mu);
}

/* The batch of events to delete: the oldest ones with seq below `below`, stored before
 * `before` and older than the newest (`last`); hi is the seq to delete below. */
typedef struct cut {
    int64_t below, before, last;
    int64_t hi, at_max;
    int n;
} cut;
static int cut_event(void *ud, const store_evrow *e)
{
    cut *c = ud;
    if (e->seq >= c->below || e->at >= c->before || e->seq >= c->last)
        return 1;
    c->hi = e->seq + 1;
    if (e->at > c->at_max)
        c->at_max = e->at;
    c->n++;
    return 0;
}

void mkt_retain_prune(market *m)
{
    if (!m->retain_count && !m->retain_age_ms)
        return;
    if (!m->retain_more && m->now - m->retain_last < RETAIN_EVERY_MS)
        return;
    m->retain_last = m->now;
    m->retain_more = false;
    int64_t last = 0;
    if (STORE(m->db, last_seq, &last) != 0 || last < 2)
        return;
    cut c = {.below = m->retain_count ? last - m->retain_count + 1 : INT64_MAX,
             .before = m->retain_age_ms ? m->now - m->retain_age_ms : INT64_MAX,
             .last = last,
             .at_max = INT64_MIN};
    if (mkt_begin(m, true) != 0)
        return;
    int rc = STORE(m->db, events_each, 0, RETAIN_BATCH, cut_event, &c) < 0 ? -1 : 0;
    int64_t from = m->retain_idem_at - RETAIN_IDEM_MARGIN_MS;
    if (rc == 0 && c.n > 0)
        rc = mkt_idem_inline(m, from, c.at_max + RETAIN_IDEM_MARGIN_MS);
    if (rc == 0 && c.n > 0)
        rc = STORE(m->db, events_prune, c.hi);
    if (rc != 0 || mkt_commit(m) != 0) {
        fprintf(stderr, "marketd: cannot prune the event log: %s\n", m->db->ops->error(m->db));
        mkt_rollback(m);
        return;
    }
    if (c.n > 0 && c.at_max > m->retain_idem_at)
        m->retain_idem_at = c.at_max;
    m->retain_more = c.n == RETAIN_BATCH;
    m->st.pruned += (uint64_t)c.n;
}
