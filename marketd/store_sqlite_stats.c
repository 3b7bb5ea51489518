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

/* The median of column col of the deals, per agent, as CTE name(agent, med): the middle
 * row by the column's order, or the mean of the two middle rows (rounded toward zero). */
#define MEDIAN(name, col)                                                                          \
    " " name " AS MATERIALIZED (SELECT agent, sum(v)/count(*) AS med FROM (SELECT agent, " col     \
    " AS v, row_number() OVER w AS i, count(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND"       \
    " UNBOUNDED FOLLOWING) AS n FROM d WHERE " col " IS NOT NULL WINDOW w AS (PARTITION BY agent"  \
    " ORDER BY " col ")) WHERE i IN ((n+1)/2, (n+2)/2) GROUP BY agent)"

/* ?1 since, ?2 until (ms), ?3 buckets */
static const char stats_sql[] =
    "WITH v AS MATERIALIZED (SELECT p1 AS buyer, p2 AS seller, status AS st, created AS at,"
    " json_extract(json,'$.total_minor','$.refunded_minor','$.unit_price_minor',"
    "'$.listing_id','$.negotiation_id','$.dispute_id','$.flags') AS v"
    " FROM objects WHERE kind='purchase' AND created>=?1 AND created<?2),"
    " p AS MATERIALIZED (SELECT buyer, seller, st, at, st IN ('settled','refunded') AS deal,"
    " coalesce(v->>1,0) AS rf, CASE st WHEN 'refunded' THEN 0 ELSE v->>0-coalesce(v->>1,0)"
    " END AS amount, v->>5 IS NOT NULL AS disp, v->6 AS flags,"
    " CASE WHEN st IN ('settled','refunded') THEN (SELECT (v->>2-ref)*10000/ref FROM (SELECT"
    " json_extract(l.json,'$.reference_price_minor') AS ref FROM objects l WHERE"
    " l.kind='listing' AND l.id=v->>3) WHERE ref>0) END AS bp,"
    " CASE WHEN st IN ('settled','refunded') THEN (SELECT count(*) FROM messages m WHERE"
    " m.negotiation_id=v->>4 AND m.kind IN ('offer','counter') AND m.at<=v.at) END AS rounds,"
    " CASE WHEN st IN ('settled','refunded') THEN v.at-(SELECT n.created FROM objects n WHERE"
    " n.kind='negotiation' AND n.id=v->>4) END AS ttd FROM v),"
    " r AS MATERIALIZED (SELECT id, json_extract(json,'$.role') AS role FROM objects"
    " WHERE kind='agent'),"
    " f AS MATERIALIZED (SELECT p.buyer AS agent, p.* FROM p WHERE p.buyer IN (SELECT id"
    " FROM r WHERE role='buyer') UNION ALL SELECT p.seller AS agent, p.* FROM p WHERE"
    " p.seller IN (SELECT id FROM r WHERE role='seller')),"
    " d AS MATERIALIZED (SELECT agent, at, amount, bp, rounds, ttd FROM f WHERE deal),"
    " c AS MATERIALIZED (SELECT agent, sum(deal) AS n, sum(CASE WHEN deal THEN amount ELSE 0"
    " END) AS amount, sum(st='vetoed') AS vetoed, sum(st='capped') AS capped,"
    " sum(st='expired') AS expired, sum(st='refunded' OR rf>0) AS refunded,"
    " sum(disp) AS disputed FROM f GROUP BY agent)," MEDIAN("mb", "bp") "," MEDIAN(
        "mr",
        "rounds") "," MEDIAN("mt",
                             "ttd") ","
                                    " fl AS MATERIALIZED (SELECT agent, json_group_object(rule, k) "
                                    "AS o FROM (SELECT f.agent,"
                                    " json_extract(j.value,'$.rule') AS rule, count(*) AS k FROM "
                                    "f, json_each(f.flags) j"
                                    " WHERE json_extract(j.value,'$.rule') IS NOT NULL GROUP BY 1, "
                                    "2) GROUP BY agent),"
                                    " s AS MATERIALIZED (SELECT agent, "
                                    "json_group_array(json_array(k, a)) AS o FROM (SELECT"
                                    " agent, (at-?1)*?3/(?2-?1) AS k, sum(amount) AS a FROM d "
                                    "GROUP BY 1, 2) GROUP BY agent)"
                                    " SELECT json_object('agent_id', c.agent, 'deals', c.n, "
                                    "'amount_minor', c.amount,"
                                    " 'median_vs_ref_bp', mb.med,"
                                    " 'vetoed', c.vetoed, 'capped', c.capped, 'expired', "
                                    "c.expired, 'refunded', c.refunded,"
                                    " 'disputed', c.disputed, 'flags', json(coalesce(fl.o,'{}')),"
                                    " 'median_rounds', mr.med, 'median_time_to_deal_ms', mt.med,"
                                    " 'series', json(coalesce(s.o,'[]')))"
                                    " FROM c LEFT JOIN fl ON fl.agent=c.agent"
                                    " LEFT JOIN s ON s.agent=c.agent LEFT JOIN mb ON "
                                    "mb.agent=c.agent"
                                    " LEFT JOIN mr ON mr.agent=c.agent LEFT JOIN mt ON "
                                    "mt.agent=c.agent ORDER BY c.agent";

/* The creation time of the oldest purchase into *at: 1, 0 none, -1. */
static int oldest_purchase(sq *q, int64_t *at)
{
    /* not the first row by ord: an object's row may be rewritten, and so renumbered */
    sqlite3_stmt *st = sq_stmt(q, "SELECT min(created) FROM objects WHERE kind='purchase'", "");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
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
