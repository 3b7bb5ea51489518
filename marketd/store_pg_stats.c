/* store_pg_stats.c: the agents' scorecards on PostgreSQL (store_ops.agent_stats; the
 * endpoint is marketd/stats.c, what each figure counts docs/api.md, "Statistics").
 *
 * The same answers as the SQLite engine's statement (store_sqlite_stats.c), step for
 * step: the purchases made in the window read once (MATERIALIZED, each one's JSON parsed
 * once as jsonb); each one a row of its buyer when that agent is a buyer and of its
 * seller when that agent is a seller; counts, sums and flags by rule grouped by agent.
 * A median is the middle value or the mean of the two middle ones rounded toward zero:
 * here (lower middle + upper middle) / 2 in bigint, the lower middle percentile_disc(0.5)
 * over the ascending order and the upper one over the descending order (the same value
 * for an odd count). Every lookup goes by a key the schema indexes (objects (kind, id),
 * messages (negotiation_id, seq)), as on SQLite. Text is ordered bytewise (COLLATE "C")
 * as SQLite's BINARY: the agents, and the rules inside an agent's flags.
 */
#include <stdio.h>

#include "marketd/store_pg.h"

/* The median of column col of the deals (NULLs left out: an ordered-set aggregate
 * ignores them), in a SELECT grouped by agent over d. */
#define MEDIAN(col)                                                                                \
    "(percentile_disc(0.5) WITHIN GROUP (ORDER BY " col ") + percentile_disc(0.5) WITHIN GROUP"    \
    " (ORDER BY " col " DESC)) / 2"

/* A purchase's field as a bigint (NULL when absent or JSON null). */
#define NUM(field) "(j->>'" field "')::bigint"

/* A deal: a purchase settled or refunded. */
#define DEAL "st IN ('settled','refunded')"

/* $1 since, $2 until (ms), $3 buckets */
/* clang-format off */
static const char stats_sql[] =
    "WITH v AS MATERIALIZED (SELECT p1 AS buyer, p2 AS seller, status AS st, created AS at,"
    " json::jsonb AS j FROM objects WHERE kind='purchase' AND created>=$1 AND created<$2),"
    " p AS MATERIALIZED (SELECT buyer, seller, st, at, " DEAL " AS deal,"
    " coalesce(" NUM("refunded_minor") ",0) AS rf, CASE st WHEN 'refunded' THEN 0 ELSE"
    " " NUM("total_minor") "-coalesce(" NUM("refunded_minor") ",0) END AS amount,"
    " j->>'dispute_id' IS NOT NULL AS disp,"
    " CASE jsonb_typeof(j->'flags') WHEN 'array' THEN j->'flags' END AS flags,"
    " CASE WHEN " DEAL " THEN (SELECT (" NUM("unit_price_minor") "-ref)*10000/ref FROM (SELECT"
    " (l.json::jsonb->>'reference_price_minor')::bigint AS ref FROM objects l WHERE"
    " l.kind='listing' AND l.id=j->>'listing_id') x WHERE ref>0) END AS bp,"
    " CASE WHEN " DEAL " THEN (SELECT count(*) FROM messages m WHERE"
    " m.negotiation_id=j->>'negotiation_id' AND m.kind IN ('offer','counter') AND m.at<=v.at)"
    " END AS rounds,"
    " CASE WHEN " DEAL " THEN v.at-(SELECT n.created FROM objects n WHERE n.kind='negotiation'"
    " AND n.id=j->>'negotiation_id') END AS ttd FROM v),"
    " r AS MATERIALIZED (SELECT id, json::jsonb->>'role' AS role FROM objects"
    " WHERE kind='agent'),"
    " f AS MATERIALIZED (SELECT p.buyer AS agent, p.* FROM p WHERE p.buyer IN (SELECT id"
    " FROM r WHERE role='buyer') UNION ALL SELECT p.seller AS agent, p.* FROM p WHERE"
    " p.seller IN (SELECT id FROM r WHERE role='seller')),"
    " d AS MATERIALIZED (SELECT agent, at, amount, bp, rounds, ttd FROM f WHERE deal),"
    " c AS (SELECT agent, count(*) FILTER (WHERE deal) AS n,"
    " sum(CASE WHEN deal THEN amount ELSE 0 END)::bigint AS amount,"
    " count(*) FILTER (WHERE st='vetoed') AS vetoed, count(*) FILTER (WHERE st='capped')"
    " AS capped, count(*) FILTER (WHERE st='expired') AS expired,"
    " count(*) FILTER (WHERE st='refunded' OR rf>0) AS refunded,"
    " count(*) FILTER (WHERE disp) AS disputed FROM f GROUP BY agent),"
    " md AS (SELECT agent, " MEDIAN("bp") " AS mb, " MEDIAN("rounds") " AS mr,"
    " " MEDIAN("ttd") " AS mt FROM d GROUP BY agent),"
    " fl AS (SELECT agent, json_object_agg(rule, k ORDER BY rule COLLATE \"C\") AS o FROM"
    " (SELECT f.agent, e->>'rule' AS rule, count(*) AS k FROM f,"
    " jsonb_array_elements(f.flags) e WHERE e->>'rule' IS NOT NULL GROUP BY 1, 2) x"
    " GROUP BY agent),"
    " s AS (SELECT agent, json_agg(json_build_array(k, a) ORDER BY k) AS o FROM (SELECT"
    " agent, (at-$1)*$3/($2-$1) AS k, sum(amount)::bigint AS a FROM d GROUP BY 1, 2) x"
    " GROUP BY agent)"
    " SELECT json_build_object('agent_id', c.agent, 'deals', c.n, 'amount_minor', c.amount,"
    " 'median_vs_ref_bp', md.mb, 'vetoed', c.vetoed, 'capped', c.capped, 'expired',"
    " c.expired, 'refunded', c.refunded, 'disputed', c.disputed,"
    " 'flags', coalesce(fl.o, '{}'::json), 'median_rounds', md.mr,"
    " 'median_time_to_deal_ms', md.mt, 'series', coalesce(s.o, '[]'::json))::text"
    " FROM c LEFT JOIN fl ON fl.agent=c.agent LEFT JOIN s ON s.agent=c.agent"
    " LEFT JOIN md ON md.agent=c.agent ORDER BY c.agent COLLATE \"C\"";
/* clang-format on */

int pg_agent_stats(store *s, store_stats_q *q)
{
    if (q->since < 0) {
        /* from the oldest purchase by its creation time (not the first row by ord: an
         * object's row may be rewritten); none: an empty window ending at until */
        int64_t at = q->until;
        if (pg_one_int(pg_query(PG(s),
                                "SELECT coalesce(min(created), $1) FROM objects WHERE "
                                "kind='purchase'",
                                "I", q->until),
                       &at) < 0)
            return -1;
        q->since = at < q->until ? at : q->until - 1;
    }
    if (q->until <= q->since || q->buckets < 1)
        return 0; /* an empty window */
    /* The planner prices the lookups of each purchase high and so compiles the statement
     * (JIT): 2.6 of 6.5 s over 100,000 purchases, measured; without, 3.6 s. For this
     * transaction only (a reader's snapshot: reader_open). */
    if (PQtransactionStatus(PG(s)->conn) == PQTRANS_INTRANS &&
        pg_exec(PG(s), "SET LOCAL jit = off") != 0)
        return -1;
    return pg_walk(pg_query(PG(s), stats_sql, "III", q->since, q->until, (int64_t)q->buckets),
                   q->fn, q->ud);
}
