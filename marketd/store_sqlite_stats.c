/* store_sqlite_stats.c: the agents' scorecards in SQL (store_ops.agent_stats; the
 * endpoint is marketd/stats.c, what each figure counts docs/api.md, "Statistics").
 *
 * One statement over the purchases made in the window, read once (MATERIALIZED): each
 * purchase becomes a row of its buyer when that agent is a buyer and of its seller when
 * that agent is a seller; counts, sums and flags by rule are grouped by agent, and the
 * three medians are taken with window functions (the middle row, or the mean of the two
 * middle rows rounded toward zero). A deal is a purchase settled or refunded; its price
 * against the reference is its unit price against its listing's reference_price_minor
 * (fixed when the listing was made: the reference the risk rules judged the purchase
 * by, marketd/risk.c), its rounds the offers and counters of its thread up to the
 * purchase, its time to deal from the thread's opening to the purchase. Every lookup
 * goes by a key the schema indexes (objects (kind, id), messages (negotiation, seq)):
 * no index is added for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/store_sqlite.h"

/* ?1 since, ?2 until (ms), ?3 buckets */
static const char stats_sql[] =
    "WITH p AS MATERIALIZED (SELECT p1 AS buyer, p2 AS seller, status AS st, created AS at,"
    " json_extract(json,'$.total_minor') AS total,"
    " coalesce(json_extract(json,'$.refunded_minor'),0) AS rf,"
    " json_extract(json,'$.unit_price_minor') AS up, json_extract(json,'$.listing_id') AS lid,"
    " json_extract(json,'$.negotiation_id') AS nid,"
    " json_type(json,'$.dispute_id') IS NOT NULL AND json_type(json,'$.dispute_id')<>'null'"
    " AS disp, json_extract(json,'$.flags') AS flags"
    " FROM objects WHERE kind='purchase' AND created>=?1 AND created<?2),"
    " r AS MATERIALIZED (SELECT id, json_extract(json,'$.role') AS role FROM objects"
    " WHERE kind='agent'),"
    " f AS MATERIALIZED (SELECT p.buyer AS agent, p.* FROM p JOIN r ON r.id=p.buyer AND"
    " r.role='buyer' UNION ALL SELECT p.seller AS agent, p.* FROM p JOIN r ON r.id=p.seller"
    " AND r.role='seller'),"
    " d AS MATERIALIZED (SELECT f.agent, f.at,"
    " CASE f.st WHEN 'refunded' THEN 0 ELSE f.total-f.rf END AS amount,"
    " (SELECT (f.up-ref)*10000/ref FROM (SELECT json_extract(l.json,"
    "'$.reference_price_minor') AS ref FROM objects l WHERE l.kind='listing' AND l.id=f.lid)"
    " WHERE ref>0) AS bp,"
    " (SELECT count(*) FROM messages m WHERE m.negotiation_id=f.nid AND"
    " m.kind IN ('offer','counter') AND m.at<=f.at) AS rounds,"
    " f.at-(SELECT n.created FROM objects n WHERE n.kind='negotiation' AND n.id=f.nid) AS ttd"
    " FROM f WHERE f.st IN ('settled','refunded')),"
    " b AS (SELECT agent, count(*) AS n, sum(amount) AS amount FROM d GROUP BY agent),"
    " c AS (SELECT agent, sum(st='vetoed') AS vetoed, sum(st='capped') AS capped,"
    " sum(st='expired') AS expired, sum(st='refunded' OR rf>0) AS refunded,"
    " sum(disp) AS disputed FROM f GROUP BY agent),"
    " mb AS (SELECT agent, bp AS v, row_number() OVER w AS i, count(*) OVER (PARTITION BY agent) "
    "AS n FROM d"
    " WHERE bp IS NOT NULL WINDOW w AS (PARTITION BY agent ORDER BY bp)),"
    " mr AS (SELECT agent, rounds AS v, row_number() OVER w AS i, count(*) OVER (PARTITION BY "
    "agent) AS n FROM d"
    " WINDOW w AS (PARTITION BY agent ORDER BY rounds)),"
    " mt AS (SELECT agent, ttd AS v, row_number() OVER w AS i, count(*) OVER (PARTITION BY agent) "
    "AS n FROM d"
    " WHERE ttd IS NOT NULL WINDOW w AS (PARTITION BY agent ORDER BY ttd)),"
    " fl AS (SELECT agent, json_group_object(rule, k) AS o FROM (SELECT f.agent,"
    " json_extract(j.value,'$.rule') AS rule, count(*) AS k FROM f, json_each(f.flags) j"
    " WHERE json_extract(j.value,'$.rule') IS NOT NULL GROUP BY 1, 2) GROUP BY agent),"
    " s AS (SELECT agent, json_group_array(json_array(k, a)) AS o FROM (SELECT agent,"
    " (at-?1)*?3/(?2-?1) AS k, sum(amount) AS a FROM d GROUP BY 1, 2) GROUP BY agent)"
    " SELECT json_object('agent_id', c.agent, 'deals', coalesce(b.n,0),"
    " 'amount_minor', coalesce(b.amount,0),"
    " 'median_vs_ref_bp', (SELECT sum(v)/count(*) FROM mb WHERE mb.agent=c.agent AND"
    " i IN ((n+1)/2, (n+2)/2)),"
    " 'vetoed', c.vetoed, 'capped', c.capped, 'expired', c.expired, 'refunded', c.refunded,"
    " 'disputed', c.disputed, 'flags', json(coalesce(fl.o,'{}')),"
    " 'median_rounds', (SELECT sum(v)/count(*) FROM mr WHERE mr.agent=c.agent AND"
    " i IN ((n+1)/2, (n+2)/2)),"
    " 'median_time_to_deal_ms', (SELECT sum(v)/count(*) FROM mt WHERE mt.agent=c.agent AND"
    " i IN ((n+1)/2, (n+2)/2)),"
    " 'series', json(coalesce(s.o,'[]')))"
    " FROM c LEFT JOIN b ON b.agent=c.agent LEFT JOIN fl ON fl.agent=c.agent"
    " LEFT JOIN s ON s.agent=c.agent ORDER BY c.agent";

/* The creation time of the oldest purchase into *at: 1, 0 none, -1. */
static int oldest_purchase(sq *q, int64_t *at)
{
    sqlite3_stmt *st =
        sq_stmt(q, "SELECT created FROM objects WHERE kind='purchase' ORDER BY ord LIMIT 1", "");
    if (!st)
        return -1;
    int rc = sqlite3_step(st), found = rc == SQLITE_ROW;
    if (found)
        *at = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return found || rc == SQLITE_DONE ? found : -1;
}

int sq_agent_stats(store *s, store_stats_q *q)
{
    sq *d = SQ(s);
    if (q->since < 0) {
        int64_t at = q->until;
        if (oldest_purchase(d, &at) < 0)
            return -1;
        q->since = at < q->until ? at : q->until - 1;
    }
    if (q->until <= q->since || q->buckets < 1)
        return 0; /* an empty window */
    sqlite3_stmt *st = sq_stmt(d, stats_sql, "III", q->since, q->until, (int64_t)q->buckets);
    if (!st)
        return -1;
    int n = 0, rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop = q->fn(q->ud, (const char *)sqlite3_column_text(st, 0), 0);
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE) ? -1 : n;
}
