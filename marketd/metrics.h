/* metrics.h: the text of GET /metrics (marketd/metrics.c), for marketd/http.c. */
#ifndef DEALDESK_MARKETD_METRICS_H
#define DEALDESK_MARKETD_METRICS_H

#include <stdint.h>

#include "marketd/limits.h"
#include "marketd/market.h"

/* The HTTP server's own counters. */
typedef struct metrics_http {
    int streams;                         /* event stream clients connected */
    uint64_t streams_total;              /* event stream connections since start */
    uint64_t requests, r2xx, r4xx, r5xx; /* HTTP requests, all and by status class */
} metrics_http;

/* The Prometheus text of the market's, the server's (hm) and the limits' counters:
 * owned, or NULL when memory ran out. */
char *metrics_text(market *m, const metrics_http *hm, limits *lim);

#endif
