/* limits.h: what one client may hold of marketd's HTTP server (marketd/limits.c).
 *
 * libmicrohttpd 0.9.75 has a per-IP connection limit (blind to tokens and proxies) and an
 * inactivity timeout (a header line every 25 s keeps a connection forever), but no total
 * deadline on a request's headers. So http.c tells this module when a connection opens,
 * when its request's headers are in (and whose token they carry), when the request ends
 * and when the connection closes; the module keeps the table of connections and closes
 * (shutdown(2), libmicrohttpd then frees) those past a limit:
 *
 *  - total connections and connections per client address (an IPv6 client counts as its
 *    /64): a newcomer at a limit closes the oldest connection (of that address, or
 *    anywhere) still waiting for its headers. A connection that showed an operator token
 *    is never closed for another, and does not count against its address (a supervisor
 *    behind the same proxy or NAT as an attacker still gets in); connections from the
 *    trusted proxy count under the address it forwards (X-Forwarded-For, rightmost entry)
 *    once their headers are in.
 *  - the operators' reserve (max_conns / 16, at least 1): a non-operator's request may
 *    hold at most max_conns minus the reserve (past it, 503 at its headers), so requests
 *    stuck mid-body cannot fill the table; at the cap with nothing to close, a newcomer is
 *    taken up to the reserve over it, and at its headers an operator's closes a
 *    non-operator's connection (one stuck mid-body if need be) while anyone else's is
 *    refused (503). A token is known only once the headers are in.
 *  - a total deadline on reading a request (its headers, and its body after them), from
 *    the accept or the previous answer, and a minimum rate for its body: a trickle cannot
 *    hold a connection.
 *  - event streams per operator token.
 *
 * Every function is thread-safe (one mutex of its own).
 */
#ifndef DEALDESK_MARKETD_LIMITS_H
#define DEALDESK_MARKETD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <microhttpd.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct lim_options {
    int max_conns;             /* connections in all */
    int max_conns_per_addr;    /* connections of one client address (operators aside) */
    int header_timeout_s;      /* seconds to send a request's headers (and body) */
    int max_streams_per_token; /* event streams of one operator token */
    int min_body_rate;         /* body bytes a second after LIM_BODY_GRACE_MS; 0: no minimum */
    const char *trusted_proxy; /* the proxy's address (IPv4 or IPv6), or NULL */
} lim_options;

/* Defaults (docs/marketd.1). */
#define LIM_MAX_CONNS          4096
#define LIM_MAX_CONNS_PER_ADDR 256
#define LIM_HEADER_TIMEOUT_S   10
#define LIM_STREAMS_PER_TOKEN  128
#define LIM_MIN_BODY_RATE      1024
#define LIM_BODY_GRACE_MS      2000 /* from a request's headers, before the rate applies */

typedef struct limits limits;
typedef struct lim_conn lim_conn;

/* Counters for /metrics. */
typedef struct lim_stats {
    int conns;                /* connections open now */
    uint64_t refused;         /* newcomers refused: nothing to close at a limit */
    uint64_t evicted;         /* connections waiting for headers closed for a newcomer */
    uint64_t header_timeouts; /* connections closed past the header deadline */
    uint64_t body_rate;       /* connections closed for sending a body below the minimum rate */
    uint64_t share_refused;   /* requests refused (503): non-operators held their share */
    uint64_t pushed;          /* non-operators' connections closed for an operator's request */
    uint64_t addr_429;        /* requests refused: their forwarded client was at its limit */
    uint64_t streams_refused; /* streams refused: their token was at its limit */
    uint64_t streams_stalled; /* streams closed because their client stopped reading */
    uint64_t bad_framing;     /* requests refused for ambiguous framing (http.c) */
} lim_stats;

/* A new table. NULL with a message in err when trusted_proxy is not an address. */
limits *lim_new(const lim_options *o, char *err, size_t errsz);
void lim_free(limits *l);

/* A connection was accepted on fd from sa. Returns its record, or NULL when it is refused
 * (the caller closes it); may close an older connection waiting for its headers (never an
 * operator's). */
lim_conn *lim_open(limits *l, void *conn, int fd, const struct sockaddr *sa);
/* The connection closed: forgets it (c may be NULL). */
void lim_close(limits *l, lim_conn *c);
/* A request's headers are in: is_operator when they carry an operator token, forwarded the
 * X-Forwarded-For value (NULL if none). An operator's request over the cap closes a
 * non-operator's connection. Returns 0 when it may go on, 429 when its (forwarded) client
 * is over its limit, 503 when it is not an operator's and the table is over the
 * non-operators' share or the cap (answer and close). */
int lim_request(limits *l, lim_conn *c, bool is_operator, const char *forwarded);
/* The request was answered: the connection waits for its next headers from now on. */
void lim_idle(limits *l, lim_conn *c);
/* Closes connection conn (the MHD_Connection given to lim_open) if it is still open,
 * abortively: what its socket still holds to send is dropped. */
void lim_kill(limits *l, const void *conn);
/* Closes the connections past the header deadline or below the minimum body rate. Call
 * about every 100 ms. */
void lim_tick(limits *l);

/* An event stream for the operator name: false when the name holds its limit already. */
bool lim_stream_open(limits *l, const char *name);
void lim_stream_close(limits *l, const char *name);

/* Counts one stream closed because its client stopped reading. */
void lim_count_stalled(limits *l);
/* Counts one request refused for its framing (two lengths, an unknown encoding, ...). */
void lim_count_framing(limits *l);

void lim_stats_get(limits *l, lim_stats *out);
/* ---- on libmicrohttpd's side (what http.c calls) ---- */

/* MHD_OPTION_NOTIFY_CONNECTION: lim_open on a new connection (shut down at once when it is
 * refused), lim_close on a closed one. The record is the socket context. */
void lim_notify(limits *l, struct MHD_Connection *c, void **socket_context,
                enum MHD_ConnectionNotificationCode toe);
/* A request on c was answered (MHD_OPTION_NOTIFY_COMPLETED): lim_idle. */
void lim_request_done(limits *l, struct MHD_Connection *c);
/* n more bytes of the body of the request on c were read (the minimum body rate). */
void lim_request_body(limits *l, struct MHD_Connection *c, size_t n);
/* The whole request on c (headers and body) is in: its deadline stops. */
void lim_request_read(limits *l, struct MHD_Connection *c);
/* True when a raw request URI holds %00 (which would cut the decoded path short). */
bool lim_uri_has_nul(const char *uri);
/* Checks a request once its headers are in, before its body is read: ambiguous framing
 * (two Content-Length, Content-Length with Transfer-Encoding, an encoding other than
 * chunked) and nul_uri are 400, a declared body over body_max 413, more than 200 query
 * parameters 400, a client over its limit (lim_request) 429, a non-operator over the
 * table's share 503 (both too_many_connections). Returns 0 when the request
 * may go on, else the status with the contract's *code and a message *why. */
int lim_check_request(limits *l, struct MHD_Connection *c, bool nul_uri, bool is_operator,
                      size_t body_max, const char **code, const char **why);

/* Writes the counters in the Prometheus text format (for /metrics); like snprintf. */
int lim_metrics(limits *l, char *out, size_t size);

#endif
