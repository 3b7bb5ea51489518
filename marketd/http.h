/* http.h: marketd's HTTP server (libmicrohttpd): the API routes, the event stream and
 * /metrics, in front of market_handle(). */
#ifndef DEALDESK_MARKETD_HTTP_H
#define DEALDESK_MARKETD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "marketd/market.h"

typedef struct http_server http_server;

typedef struct http_options {
    const char *listen; /* "ADDR:PORT" (IPv4, or [IPv6]); port 0 picks a free one */
    int heartbeat_s;    /* seconds between ": hb" comments on idle streams */
    bool verbose;       /* one line per request on stderr */
    /* What one client may hold (marketd/limits.h; 0 takes the default there). */
    int max_conns, max_conns_per_addr, header_timeout_s, max_streams_per_token;
    int stream_stall_s;        /* close a stream whose client took nothing for this long */
    int min_body_rate;         /* body bytes a second at least (0: the default, -1: none) */
    const char *trusted_proxy; /* address whose X-Forwarded-For is believed, or NULL */
} http_options;

#define HTTP_STREAM_STALL_S 30 /* default of stream_stall_s */

/* Binds, listens and starts serving m. Returns the server (owned) or NULL with a
 * message in err. */
http_server *http_start(market *m, const http_options *opt, char *err, size_t errsz);

/* Opens a non-blocking listening socket on "ADDR:PORT" (IPv4, [IPv6] or localhost; port 0
 * picks a free one) with SO_REUSEADDR. Returns the fd, or -1 with a message in err
 * (marketd/listen.c). */
int http_listen(const char *spec, char *err, size_t errsz);

/* The port actually bound. */
int http_port(const http_server *h);

/* Time-driven work: heartbeats on idle streams, closing stalled streams and connections
 * past their header deadline. Call about every 100 ms. */
void http_tick(http_server *h);

/* Stops accepting, ends the streams, finishes in-flight requests and frees the server.
 * NULL is accepted. */
void http_stop(http_server *h);

#endif
