/* metrics.c: GET /metrics in the Prometheus text format: the market's counters
 * (market_stats), the HTTP server's (marketd/http.c) and the limits' (marketd/limits.c).
 */
#include "marketd/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

char *metrics_text(market *m, const metrics_http *hm, limits *lim)
{
    market_metrics mm;
    market_stats(m, &mm);
    enum { MSIZE = 6144 };
    char *b = malloc(MSIZE);
    if (!b)
        return NULL;
    int n = snprintf(
        b, MSIZE,
        "# HELP marketd_seq Last committed event seq.\n# TYPE marketd_seq gauge\n"
        "marketd_seq %" PRId64 "\n"
        "# HELP marketd_events_total Events committed since start.\n"
        "# TYPE marketd_events_total counter\nmarketd_events_total %" PRIu64 "\n"
        "# HELP marketd_stream_clients Event stream clients connected.\n"
        "# TYPE marketd_stream_clients gauge\nmarketd_stream_clients %d\n"
        "# HELP marketd_streams_total Event stream connections since start.\n"
        "# TYPE marketd_streams_total counter\nmarketd_streams_total %" PRIu64 "\n"
        "# HELP marketd_http_requests_total HTTP requests by status class.\n"
        "# TYPE marketd_http_requests_total counter\n"
        "marketd_http_requests_total{code=\"2xx\"} %" PRIu64 "\n"
        "marketd_http_requests_total{code=\"4xx\"} %" PRIu64 "\n"
        "marketd_http_requests_total{code=\"5xx\"} %" PRIu64 "\n"
        "marketd_http_requests_total{code=\"all\"} %" PRIu64 "\n"
        "# HELP marketd_requests_total API requests handled by the market (HTTP and "
        "fleet).\n# TYPE marketd_requests_total counter\nmarketd_requests_total %" PRIu64 "\n"
        "# HELP marketd_errors_total API answers with status >= 400.\n"
        "# TYPE marketd_errors_total counter\nmarketd_errors_total %" PRIu64 "\n"
        "# HELP marketd_decisions_total Operator decisions committed.\n"
        "# TYPE marketd_decisions_total counter\nmarketd_decisions_total %" PRIu64 "\n"
        "# HELP marketd_decision_seconds_total Time spent in decision transactions.\n"
        "# TYPE marketd_decision_seconds_total counter\n"
        "marketd_decision_seconds_total %.6f\n"
        "# HELP marketd_idempotent_replays_total Answers replayed for a repeated "
        "Idempotency-Key.\n# TYPE marketd_idempotent_replays_total counter\n"
        "marketd_idempotent_replays_total %" PRIu64 "\n"
        "# HELP marketd_conflicts_total 409 and 412 answers.\n"
        "# TYPE marketd_conflicts_total counter\nmarketd_conflicts_total %" PRIu64 "\n"
        "# HELP marketd_purchases_total Purchases created.\n"
        "# TYPE marketd_purchases_total counter\nmarketd_purchases_total %" PRIu64 "\n"
        "# HELP marketd_purchases_expired_total Purchases expired at decide_by.\n"
        "# TYPE marketd_purchases_expired_total counter\n"
        "marketd_purchases_expired_total %" PRIu64 "\n"
        "# HELP marketd_risk_flags_total Risk flags raised.\n"
        "# TYPE marketd_risk_flags_total counter\nmarketd_risk_flags_total %" PRIu64 "\n"
        "# HELP marketd_commit_failures_total Transactions that failed to commit.\n"
        "# TYPE marketd_commit_failures_total counter\n"
        "marketd_commit_failures_total %" PRIu64 "\n"
        "# HELP marketd_rate_limited_total Agent requests refused with 429.\n"
        "# TYPE marketd_rate_limited_total counter\n"
        "marketd_rate_limited_total %" PRIu64 "\n"
        "# HELP marketd_webhook_deliveries_total Webhook POSTs answered 2xx.\n"
        "# TYPE marketd_webhook_deliveries_total counter\n"
        "marketd_webhook_deliveries_total %" PRIu64 "\n"
        "# HELP marketd_webhook_failures_total Webhook POSTs that failed (each retried).\n"
        "# TYPE marketd_webhook_failures_total counter\n"
        "marketd_webhook_failures_total %" PRIu64 "\n"
        "# HELP marketd_webhook_pending Webhook outbox rows not yet delivered.\n"
        "# TYPE marketd_webhook_pending gauge\nmarketd_webhook_pending %" PRId64 "\n",
        mm.seq, mm.events, hm->streams, hm->streams_total, hm->r2xx, hm->r4xx, hm->r5xx,
        hm->requests, mm.requests, mm.errors, mm.decisions, mm.decision_seconds, mm.replays,
        mm.conflicts, mm.purchases, mm.expired, mm.flags, mm.commit_failures, mm.rate_limited,
        mm.webhook_deliveries, mm.webhook_failures, mm.webhook_pending);
    if (n > 0 && n < MSIZE) /* the event log's retention (marketd/retain.c) */
        n += snprintf(b + n, (size_t)(MSIZE - n),
                      "# HELP marketd_events_pruned_total Events deleted by --retain-events.\n"
                      "# TYPE marketd_events_pruned_total counter\n"
                      "marketd_events_pruned_total %" PRIu64 "\n",
                      mm.events_pruned);
    if (n > 0 && n < MSIZE)
        lim_metrics(lim, b + n, (size_t)(MSIZE - n));
    return b;
}
