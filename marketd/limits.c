/* limits.c: the table of connections and what one client may hold (see limits.h).
 *
 * A handful of thousand connections at most: every rule scans the table, which costs
 * microseconds and needs no index. A connection is closed with shutdown(2) on its socket:
 * libmicrohttpd sees the end of the stream, frees the connection and tells http.c, which
 * calls lim_close() before libmicrohttpd closes the descriptor, so a descriptor shut down
 * here (under the table's mutex) is always still the connection's own.
 */
#include "marketd/limits.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>

#define ADDR_LEN       64  /* INET6_ADDRSTRLEN and more */
#define QUERY_ARGS_MAX 200 /* query parameters of one request */
#define MAX_HOLDERS    64  /* operator names with streams (marketd/mkt.h MKT_MAX_OPERATORS) */

struct lim_conn {
    lim_conn *next, *prev;
    const void *conn; /* the MHD_Connection */
    int fd;
    char addr[ADDR_LEN]; /* the client it counts under (addr_key; forwarded through the proxy) */
    bool proxied;        /* the peer is the trusted proxy */
    bool waiting;        /* waiting for a request's headers */
    bool reading;        /* reading a request (headers, then body): the deadline runs */
    bool is_operator;    /* it carried an operator token (through the proxy: its last request) */
    bool leaving;        /* refused on its headers: it closes after that answer */
    bool dead;           /* shut down here; libmicrohttpd has not freed it yet */
    int64_t since;       /* monotonic ms: when it began waiting for a request */
    int64_t body_since;  /* monotonic ms: when the request's headers were in */
    uint64_t body_bytes; /* the request's body bytes handed to http.c so far */
};

struct limits {
    pthread_mutex_t mu;
    lim_options o;
    char proxy[ADDR_LEN];
    lim_conn *head, *tail;
    struct {
        char name[65];
        int n;
    } holders[MAX_HOLDERS];
    lim_stats st;
};

/* Monotonic milliseconds. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats an IPv6 address (an IPv4-mapped one as its IPv4 address) into out. */
static void addr6_text(const struct in6_addr *a6, char out[ADDR_LEN])
{
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        struct in_addr a4;
        memcpy(&a4, a6->s6_addr + 12, sizeof a4);
        inet_ntop(AF_INET, &a4, out, ADDR_LEN);
    } else {
        inet_ntop(AF_INET6, a6, out, ADDR_LEN);
    }
}

/* Formats an address as text (the form inet_ntop gives); "" when unknown. */
static void addr_text(const struct sockaddr *sa, char out[ADDR_LEN])
{
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, ADDR_LEN);
    else if (sa && sa->sa_family == AF_INET6)
        addr6_text(&((const struct sockaddr_in6 *)sa)->sin6_addr, out);
}

/* Normalises an address given as text (v4 or v6) into out; false when it is not one. */
static bool addr_parse(const char *s, char out[ADDR_LEN])
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1)
        return inet_ntop(AF_INET, &a4, out, ADDR_LEN) != NULL;
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        addr6_text(&a6, out);
        return true;
    }
    return false;
}

/* The client a normalised address counts under, in place: an IPv4 address as itself, an
 * IPv6 address as its /64 ("2001:db8:0:1::/64"). One subscriber is commonly given a whole
 * /64: counted one address at a time, it could open the per-address limit 2^64 times. */
static void addr_key(char addr[ADDR_LEN])
{
    struct in6_addr a6;
    if (inet_pton(AF_INET6, addr, &a6) != 1)
        return;
    memset(a6.s6_addr + 8, 0, 8);
    char net[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &a6, net, sizeof net);
    snprintf(addr, ADDR_LEN, "%s/64", net);
}

limits *lim_new(const lim_options *o, char *err, size_t errsz)
{
    limits *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    l->o = *o;
    if (o->trusted_proxy && !addr_parse(o->trusted_proxy, l->proxy)) {
        snprintf(err, errsz, "--trusted-proxy wants an IPv4 or IPv6 address, not %s",
                 o->trusted_proxy);
        free(l);
        return NULL;
    }
    l->o.trusted_proxy = NULL; /* the caller's string; l->proxy holds it */
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

void lim_free(limits *l)
{
    if (!l)
        return;
    for (lim_conn *c = l->head, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The slots of the table kept for operators: a non-operator's request may hold at most
 * max_conns minus these, and a newcomer may be taken this far over max_conns while its
 * headers are not in (docs/api.md "Connections and request framing"). */
static int reserve_of(const limits *l)
{
    int r = l->o.max_conns / 16;
    return r > 0 ? r : 1;
}

/* True when c counts against address addr: alive, not an operator's, and attributed to
 * addr (a proxy's connection waiting for headers belongs to no client yet). */
static bool counts_for(const lim_conn *c, const char *addr)
{
    return !c->dead && !c->is_operator && !(c->proxied && c->waiting) && strcmp(c->addr, addr) == 0;
}

/* Shuts c down (libmicrohttpd frees it soon). Lock held. */
static void shut(lim_conn *c)
{
    c->dead = true;
    shutdown(c->fd, SHUT_RDWR);
}

/* A connection that may be closed for a newcomer: alive, never an operator's, not already
 * answered a refusal, and waiting for its headers or (when mid_request) still reading a
 * request, its body stuck halfway included. Lock held. */
static bool closable(const lim_conn *c, bool mid_request)
{
    return !c->dead && !c->is_operator && !c->leaving &&
           (c->waiting || (mid_request && c->reading));
}

/* The oldest closable connection (of addr when not NULL) other than self: one waiting for
 * its headers first, then (mid_request) one reading a request. NULL when none. Lock held. */
static lim_conn *victim(limits *l, const char *addr, bool mid_request, const lim_conn *self)
{
    lim_conn *best = NULL;
    for (lim_conn *c = l->head; c; c = c->next) {
        if (c == self || !closable(c, mid_request) || (addr && !counts_for(c, addr)))
            continue;
        if (!best || (c->waiting && !best->waiting) ||
            (c->waiting == best->waiting && c->since < best->since))
            best = c;
    }
    return best;
}

/* What the table holds (a count under the lock). */
typedef struct tally {
    int live;     /* connections alive */
    int for_addr; /* of them, counting against the address asked about */
    int busy;     /* non-operators' connections with a request's headers in, not refused */
    int leaving;  /* refused on their headers: they close after that answer */
} tally;

/* Counts the table; for_addr against addr (NULL: none). Lock held. */
static tally count(limits *l, const char *addr)
{
    tally t = {0, 0, 0, 0};
    for (lim_conn *c = l->head; c; c = c->next) {
        if (c->dead)
            continue;
        t.live++;
        if (addr && counts_for(c, addr))
            t.for_addr++;
        if (!c->is_operator && !c->waiting && !c->leaving)
            t.busy++;
        t.leaving += c->leaving;
    }
    return t;
}

/* Makes room for a newcomer under a limit: closes the oldest connection waiting for its
 * headers (of addr, or anywhere; never an operator's). False when there is none. Lock
 * held. */
static bool make_room(limits *l, const char *addr)
{
    lim_conn *v = victim(l, addr, false, NULL);
    if (!v)
        return false;
    shut(v);
    l->st.evicted++;
    return true;
}

lim_conn *lim_open(limits *l, void *conn, int fd, const struct sockaddr *sa)
{
    lim_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->conn = conn;
    c->fd = fd;
    addr_text(sa, c->addr);
    c->proxied = l->proxy[0] && strcmp(c->addr, l->proxy) == 0;
    addr_key(c->addr);
    c->waiting = c->reading = true;
    c->since = now_ms();
    pthread_mutex_lock(&l->mu);
    tally t = count(l, c->proxied ? NULL : c->addr);
    /* At the cap with nothing to close, the newcomer is taken into the operators' reserve
     * over it: an operator's token is known only once its headers are in (lim_request). */
    bool ok =
        t.live < l->o.max_conns || make_room(l, NULL) || t.live < l->o.max_conns + reserve_of(l);
    if (ok && !c->proxied && t.for_addr >= l->o.max_conns_per_addr)
        ok = make_room(l, c->addr);
    if (!ok) {
        l->st.refused++;
        pthread_mutex_unlock(&l->mu);
        free(c);
        return NULL;
    }
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->st.conns++;
    pthread_mutex_unlock(&l->mu);
    return c;
}

void lim_close(limits *l, lim_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&l->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    l->st.conns--;
    pthread_mutex_unlock(&l->mu);
    free(c);
}

/* The rightmost entry of an X-Forwarded-For value (the one the proxy added), normalised
 * into out; false when it is not an address. */
static bool forwarded_addr(const char *v, char out[ADDR_LEN])
{
    const char *comma = strrchr(v, ',');
    const char *p = comma ? comma + 1 : v;
    while (*p == ' ' || *p == '\t')
        p++;
    char buf[ADDR_LEN];
    size_t n = strcspn(p, " \t");
    if (n == 0 || n >= sizeof buf || p[n + strspn(p + n, " \t")] != '\0')
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return addr_parse(buf, out);
}

/* Through the proxy: the client is the forwarded address (the proxy's own when it
 * forwards none), and only now can its limit be checked. False when it is over. Lock
 * held. */
static bool proxied_within(limits *l, lim_conn *c, bool is_operator, const char *forwarded)
{
    if (!forwarded || !forwarded_addr(forwarded, c->addr))
        snprintf(c->addr, sizeof c->addr, "%s", l->proxy);
    addr_key(c->addr);
    return is_operator || count(l, c->addr).for_addr <= l->o.max_conns_per_addr;
}

int lim_request(limits *l, lim_conn *c, bool is_operator, const char *forwarded)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&l->mu);
    c->waiting = false;
    /* a direct connection that showed an operator token stays an operator's; a proxy's
     * carries one client's request after another */
    c->is_operator = is_operator || (c->is_operator && !c->proxied);
    c->body_since = now_ms();
    c->body_bytes = 0;
    int status = 0;
    tally t = count(l, NULL);
    bool over = t.live - t.leaving > l->o.max_conns; /* those refused are closing already */
    if (c->proxied && !proxied_within(l, c, is_operator, forwarded)) {
        status = 429;
        l->st.addr_429++;
    } else if (c->is_operator) {
        /* over the cap (it came in through the reserve): a non-operator's connection
         * makes room, one stuck in the middle of its body if need be */
        lim_conn *v = over ? victim(l, NULL, true, c) : NULL;
        if (v) {
            shut(v);
            l->st.pushed++;
        }
    } else {
        if (over || t.busy > l->o.max_conns - reserve_of(l)) {
            status = 503;
            l->st.share_refused++;
        }
    }
    c->leaving = status != 0;
    pthread_mutex_unlock(&l->mu);
    return status;
}

void lim_idle(limits *l, lim_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&l->mu);
    c->waiting = c->reading = true;
    c->since = now_ms();
    pthread_mutex_unlock(&l->mu);
}

void lim_kill(limits *l, const void *conn)
{
    pthread_mutex_lock(&l->mu);
    for (lim_conn *c = l->head; c; c = c->next) {
        if (c->conn == conn && !c->dead) {
            /* An abortive close (RST when libmicrohttpd closes it): what the kernel still
             * holds for a client that does not read is dropped, not kept until it drains. */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            shut(c);
        }
    }
    pthread_mutex_unlock(&l->mu);
}

/* True when c, reading a request's body, is below the minimum body rate: after a grace of
 * LIM_BODY_GRACE_MS from its headers, it must have sent min_body_rate bytes a second.
 * Bytes already in its socket count (a busy server thread has not read them yet). Lock
 * held. */
static bool body_too_slow(const limits *l, const lim_conn *c, int64_t now)
{
    int64_t t = now - c->body_since - LIM_BODY_GRACE_MS;
    if (l->o.min_body_rate <= 0 || c->waiting || t <= 0)
        return false;
    uint64_t want = (uint64_t)t * (uint64_t)l->o.min_body_rate / 1000;
    if (c->body_bytes >= want)
        return false;
    int queued = 0;
    if (ioctl(c->fd, FIONREAD, &queued) < 0 || queued < 0)
        queued = 0;
    return c->body_bytes + (uint64_t)queued < want;
}

void lim_tick(limits *l)
{
    int64_t now = now_ms(), limit = (int64_t)l->o.header_timeout_s * 1000;
    pthread_mutex_lock(&l->mu);
    for (lim_conn *c = l->head; c; c = c->next) {
        if (c->dead || !c->reading)
            continue;
        if (now - c->since > limit) {
            shut(c);
            l->st.header_timeouts++;
        } else if (body_too_slow(l, c, now)) {
            shut(c);
            l->st.body_rate++;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

bool lim_stream_open(limits *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    int slot = -1;
    for (int i = 0; i < MAX_HOLDERS; i++) {
        if (l->holders[i].n > 0 && strcmp(l->holders[i].name, name) == 0) {
            slot = i;
            break;
        }
        if (slot < 0 && l->holders[i].n == 0)
            slot = i; /* the first free one, unless the name holds one below */
    }
    bool ok = slot >= 0 && l->holders[slot].n < l->o.max_streams_per_token;
    if (ok) {
        if (l->holders[slot].n == 0)
            snprintf(l->holders[slot].name, sizeof l->holders[slot].name, "%s", name);
        l->holders[slot].n++;
    } else {
        l->st.streams_refused++;
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void lim_stream_close(limits *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < MAX_HOLDERS; i++) {
        if (l->holders[i].n > 0 && strcmp(l->holders[i].name, name) == 0) {
            l->holders[i].n--;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

void lim_count_stalled(limits *l)
{
    pthread_mutex_lock(&l->mu);
    l->st.streams_stalled++;
    pthread_mutex_unlock(&l->mu);
}

void lim_count_framing(limits *l)
{
    pthread_mutex_lock(&l->mu);
    l->st.bad_framing++;
    pthread_mutex_unlock(&l->mu);
}

void lim_stats_get(limits *l, lim_stats *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->st;
    pthread_mutex_unlock(&l->mu);
}

int lim_metrics(limits *l, char *out, size_t size)
{
    lim_stats s;
    lim_stats_get(l, &s);
    return snprintf(out, size,
                    "# HELP marketd_connections HTTP connections open.\n"
                    "# TYPE marketd_connections gauge\nmarketd_connections %d\n"
                    "# HELP marketd_limited_total Connections, requests and streams refused or "
                    "closed by a limit (docs/marketd.1).\n"
                    "# TYPE marketd_limited_total counter\n"
                    "marketd_limited_total{limit=\"conns_refused\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"conns_evicted\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"header_timeout\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"conns_per_addr\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"streams_per_token\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"stream_stall\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"bad_framing\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"conns_share\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"conns_pushed\"} %" PRIu64 "\n"
                    "marketd_limited_total{limit=\"body_rate\"} %" PRIu64 "\n",
                    s.conns, s.refused, s.evicted, s.header_timeouts, s.addr_429, s.streams_refused,
                    s.streams_stalled, s.bad_framing, s.share_refused, s.pushed, s.body_rate);
}

/* ---- on libmicrohttpd's side ------------------------------------------------- */

void lim_notify(limits *l, struct MHD_Connection *c, void **socket_context,
                enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        lim_close(l, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *fi =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!fi)
        return;
    *socket_context = lim_open(l, c, fi->connect_fd, ai ? ai->client_addr : NULL);
    if (!*socket_context)
        shutdown(fi->connect_fd, SHUT_RDWR); /* refused: libmicrohttpd frees it */
}

void lim_request_done(limits *l, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci)
        lim_idle(l, ci->socket_context);
}

void lim_request_body(limits *l, struct MHD_Connection *c, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    lim_conn *lc = ci ? ci->socket_context : NULL;
    if (!lc)
        return;
    pthread_mutex_lock(&l->mu);
    lc->body_bytes += n;
    pthread_mutex_unlock(&l->mu);
}

void lim_request_read(limits *l, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    lim_conn *lc = ci ? ci->socket_context : NULL;
    if (!lc)
        return;
    pthread_mutex_lock(&l->mu);
    lc->reading = false;
    pthread_mutex_unlock(&l->mu);
}

bool lim_uri_has_nul(const char *uri)
{
    for (const char *p = uri; (p = strchr(p, '%')) != NULL; p++)
        if (p[1] == '0' && p[2] == '0')
            return true;
    return false;
}

/* What the framing headers of a request say (frame_scan). */
typedef struct framing {
    int n_length, n_encoding;
    bool chunked;   /* the Transfer-Encoding is exactly "chunked" */
    bool length_ok; /* the Content-Length is digits only */
    unsigned long long length;
    const char *forwarded; /* the last X-Forwarded-For */
} framing;

static enum MHD_Result frame_scan(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    framing *f = cls;
    value = value ? value : "";
    if (strcasecmp(key, "Content-Length") == 0) {
        size_t n = strspn(value, "0123456789");
        f->n_length++;
        f->length_ok = n > 0 && n <= 18 && value[n] == '\0';
        f->length = f->length_ok ? strtoull(value, NULL, 10) : 0;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->n_encoding++;
        f->chunked = strcasecmp(value, "chunked") == 0;
    } else if (strcasecmp(key, "X-Forwarded-For") == 0) {
        f->forwarded = value;
    }
    return MHD_YES;
}

int lim_check_request(limits *l, struct MHD_Connection *c, bool nul_uri, bool is_operator,
                      size_t body_max, const char **code, const char **why)
{
    framing f = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, frame_scan, &f);
    *code = "bad_request";
    if (f.n_length > 1 || f.n_encoding > 1 || (f.n_length && f.n_encoding) ||
        (f.n_encoding && !f.chunked) || (f.n_length && !f.length_ok)) {
        /* a proxy and marketd could read two different requests into these bytes */
        lim_count_framing(l);
        *why = "ambiguous framing: send one Content-Length, or Transfer-Encoding: chunked alone";
        return 400;
    }
    if (nul_uri) {
        *why = "%00 in the request URI";
        return 400;
    }
    if (f.n_length && f.length > body_max) {
        *code = "too_large";
        *why = "request body over 64 KiB";
        return 413;
    }
    if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > QUERY_ARGS_MAX) {
        *why = "more than 200 query parameters";
        return 400;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    int status = ci ? lim_request(l, ci->socket_context, is_operator, f.forwarded) : 0;
    *code = "too_many_connections";
    *why = status == 429 ? "this client address holds as many connections as it may"
                         : "the server holds as many connections as it may: retry later";
    return status;
}
