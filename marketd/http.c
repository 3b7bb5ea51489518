/* http.c: the HTTP front of marketd on libmicrohttpd.
 *
 * One internal polling thread pool serves every connection. API requests are collected
 * (at most 64 KiB of body) and handed to market_handle(). GET /v1/events streams
 * Server-Sent Events without a thread per client: its content reader reads stored
 * events after the client's position and, when there is nothing to send, suspends the
 * connection; a committed event (market_subscribe) or a due heartbeat (http_tick)
 * resumes it. A vanished client fails on the next write and is freed by libmicrohttpd.
 */
#include "marketd/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX     (64 * 1024)
#define STREAM_BATCH 256
/* A stream's buffer takes more events only while it holds less than this: a client that
 * stops reading costs a bounded amount of memory, however many events it falls behind. */
#define STREAM_BUF_MAX (32 * 1024)

typedef struct stream stream;

struct http_server {
    market *m;
    struct MHD_Daemon *d;
    int fd;
    int port;
    int heartbeat_ms;
    bool verbose;
    pthread_mutex_t smu; /* guards the stream list and every stream */
    stream *streams;
    int nstreams;
    bool closing;
    uint64_t streams_total;
    uint64_t http_requests, http_2xx, http_4xx, http_5xx;
};

struct stream {
    stream *next, *prev;
    http_server *h;
    struct MHD_Connection *conn;
    int64_t last_seq;
    bool reset;     /* send a reset event and close */
    bool started;   /* retry sent */
    bool suspended; /* waiting for an event or a heartbeat */
    bool done;      /* close after the buffer drains */
    bool full;      /* the buffer took no more events in this fill (see stream_event) */
    char *buf;
    size_t len, off, cap;
    int64_t last_write; /* monotonic ms */
};

/* One request's state while its body arrives. */
typedef struct reqctx {
    char *body;
    size_t len, cap;
    bool too_large;
    bool is_stream;
    struct timespec t0;
} reqctx;

/* Monotonic milliseconds. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends text to a stream's buffer. Returns false when memory ran out. */
static bool sappend(stream *s, const char *text, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return false;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    return true;
}

/* market_events_after callback: formats one event into the stream's buffer. */
static void stream_event(void *ud, int64_t seq, const char *type, const char *json)
{
    stream *s = ud;
    /* Full: this event and every later one of the batch (even a smaller one that would
     * fit: events go out in seq order, without a gap) are read again on the next fill,
     * after the client has taken what is buffered. */
    if (s->full || (s->len > 0 && s->len + strlen(json) > STREAM_BUF_MAX)) {
        s->full = true;
        return;
    }
    char head[160];
    int n = snprintf(head, sizeof head,
                     "id: %s:%" PRId64 "\nevent: %s\ndata: ", market_epoch(s->h->m), seq, type);
    if (n > 0 && sappend(s, head, (size_t)n) && sappend(s, json, strlen(json)) &&
        sappend(s, "\n\n", 2))
        s->last_seq = seq;
}

/* The stream's content reader (see the file comment). */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    stream *s = cls;
    http_server *h = s->h;
    pthread_mutex_lock(&h->smu);
    if (s->off >= s->len) {
        s->off = s->len = 0;
        if (s->done || (h->closing && s->started)) {
            pthread_mutex_unlock(&h->smu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (!s->started) {
            s->started = true;
            sappend(s, "retry: 2000\n\n", 13);
            if (s->reset) {
                char line[200];
                int n = snprintf(line, sizeof line,
                                 "event: reset\ndata: {\"epoch\":\"%s\",\"seq\":%" PRId64 "}\n\n",
                                 market_epoch(h->m), market_seq(h->m));
                sappend(s, line, (size_t)n);
                s->done = true;
            }
        } else {
            s->full = false;
            market_events_after(h->m, s->last_seq, STREAM_BATCH, stream_event, s);
            if (s->len == 0 && mono_ms() - s->last_write >= h->heartbeat_ms)
                sappend(s, ": hb\n\n", 6);
        }
        if (s->len == 0) {
            s->suspended = true;
            MHD_suspend_connection(s->conn);
            pthread_mutex_unlock(&h->smu);
            return 0;
        }
    }
    size_t n = s->len - s->off;
    if (n > max)
        n = max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    s->last_write = mono_ms();
    pthread_mutex_unlock(&h->smu);
    return (ssize_t)n;
}

/* Frees a stream when libmicrohttpd is done with it (client gone or stream ended). */
static void stream_free(void *cls)
{
    stream *s = cls;
    http_server *h = s->h;
    pthread_mutex_lock(&h->smu);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nstreams--;
    pthread_mutex_unlock(&h->smu);
    free(s->buf);
    free(s);
}

/* Resumes every suspended stream (or only those due a heartbeat). Lock held. */
static void wake_streams(http_server *h, bool only_due)
{
    int64_t now = mono_ms();
    for (stream *s = h->streams; s; s = s->next) {
        if (!s->suspended)
            continue;
        if (only_due && now - s->last_write < h->heartbeat_ms)
            continue;
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

/* market_subscribe callback: a committed event wakes the streams. */
static void on_event(void *ud, int64_t seq, const char *type, const char *json)
{
    (void)seq;
    (void)type;
    (void)json;
    http_server *h = ud;
    pthread_mutex_lock(&h->smu);
    wake_streams(h, false);
    pthread_mutex_unlock(&h->smu);
}

void http_tick(http_server *h)
{
    pthread_mutex_lock(&h->smu);
    wake_streams(h, true);
    pthread_mutex_unlock(&h->smu);
}

/* Parses a resume position "EPOCH:SEQ" or "SEQ". Returns false when malformed;
 * *epoch_ok is false when an epoch is given and differs. */
static bool parse_position(const char *v, const char *epoch, int64_t *seq, bool *epoch_ok)
{
    const char *colon = strrchr(v, ':');
    const char *num = v;
    *epoch_ok = true;
    if (colon) {
        size_t el = (size_t)(colon - v);
        *epoch_ok = strlen(epoch) == el && strncmp(v, epoch, el) == 0;
        num = colon + 1;
    }
    char *end;
    errno = 0;
    long long x = strtoll(num, &end, 10);
    if (!*num || *end || errno || x < 0)
        return false;
    *seq = x;
    return true;
}

/* Adds the common headers to a response. */
static void common_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
}

/* Queues a JSON answer (body is taken over). */
static enum MHD_Result answer_json(struct MHD_Connection *c, int status, char *body, bool replayed,
                                   int retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    common_headers(r, "application/json");
    if (replayed)
        MHD_add_response_header(r, "Idempotent-Replayed", "true");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"marketd\"");
    if (retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Queues a contract error body. */
static enum MHD_Result answer_error(struct MHD_Connection *c, int status, const char *code,
                                    const char *msg)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
    char *b = strdup(buf);
    return b ? answer_json(c, status, b, false, 0) : MHD_NO;
}

/* GET /metrics in the Prometheus text format. */
static enum MHD_Result answer_metrics(http_server *h, struct MHD_Connection *c)
{
    market_metrics mm;
    market_stats(h->m, &mm);
    pthread_mutex_lock(&h->smu);
    int nstreams = h->nstreams;
    uint64_t stotal = h->streams_total, req = h->http_requests, r2 = h->http_2xx, r4 = h->http_4xx,
             r5 = h->http_5xx;
    pthread_mutex_unlock(&h->smu);
    char *b = malloc(4096);
    if (!b)
        return MHD_NO;
    snprintf(b, 4096,
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
             "marketd_rate_limited_total %" PRIu64 "\n",
             mm.seq, mm.events, nstreams, stotal, r2, r4, r5, req, mm.requests, mm.errors,
             mm.decisions, mm.decision_seconds, mm.replays, mm.conflicts, mm.purchases, mm.expired,
             mm.flags, mm.commit_failures, mm.rate_limited);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(b), b, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(b);
        return MHD_NO;
    }
    common_headers(r, "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* Starts an event stream for an authenticated operator. */
static enum MHD_Result answer_stream(http_server *h, struct MHD_Connection *c)
{
    stream *s = calloc(1, sizeof *s);
    if (!s)
        return MHD_NO;
    s->h = h;
    s->conn = c;
    s->last_write = mono_ms();
    const char *lei = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    const char *pos = lei && *lei ? lei : after;
    int64_t cur = market_seq(h->m);
    s->last_seq = cur;
    if (pos && *pos) {
        bool epoch_ok;
        int64_t seq;
        if (!parse_position(pos, market_epoch(h->m), &seq, &epoch_ok) || !epoch_ok || seq > cur)
            s->reset = true;
        else
            s->last_seq = seq;
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, s, stream_free);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    common_headers(r, "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    pthread_mutex_lock(&h->smu);
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->nstreams++;
    h->streams_total++;
    pthread_mutex_unlock(&h->smu);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

typedef struct qbuf {
    char s[2048];
    size_t n;
} qbuf;

/* Re-encodes one query argument into a query string for market_handle. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    qbuf *q = cls;
    const char *parts[2] = {key, value ? value : ""};
    if (q->n && q->n < sizeof q->s - 1)
        q->s[q->n++] = '&';
    for (int i = 0; i < 2; i++) {
        if (i == 1 && q->n < sizeof q->s - 1)
            q->s[q->n++] = '=';
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            if (q->n + 4 >= sizeof q->s)
                return MHD_NO;
            if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.')
                q->s[q->n++] = (char)*p;
            else
                q->n += (size_t)snprintf(q->s + q->n, 4, "%%%02X", *p);
        }
    }
    q->s[q->n] = '\0';
    return MHD_YES;
}

/* Counts an answer's status class. */
static void count_status(http_server *h, int status)
{
    pthread_mutex_lock(&h->smu);
    h->http_requests++;
    if (status < 300)
        h->http_2xx++;
    else if (status < 500)
        h->http_4xx++;
    else
        h->http_5xx++;
    pthread_mutex_unlock(&h->smu);
}

/* libmicrohttpd's access handler: collects the body, then answers. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *h = cls;
    reqctx *rc = *con_cls;
    if (!rc) {
        rc = calloc(1, sizeof *rc);
        if (!rc)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &rc->t0);
        *con_cls = rc;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rc->too_large) {
            if (rc->len + *upload_size > BODY_MAX) {
                rc->too_large = true;
            } else {
                if (rc->len + *upload_size + 1 > rc->cap) {
                    size_t cap = (rc->len + *upload_size + 1) * 2;
                    char *b = realloc(rc->body, cap);
                    if (!b)
                        return MHD_NO;
                    rc->body = b;
                    rc->cap = cap;
                }
                memcpy(rc->body + rc->len, upload, *upload_size);
                rc->len += *upload_size;
                rc->body[rc->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }

    /* The whole request is here. */
    market_actor actor = {.role = ROLE_NONE};
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        market_authenticate(h->m, auth + 7, &actor);
    int status;
    enum MHD_Result ret;
    if (rc->too_large) {
        status = 413;
        ret = answer_error(c, 413, "too_large", "request body over 64 KiB");
    } else if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        status = 200;
        ret = answer_metrics(h, c);
    } else if (strcmp(url, "/v1/events") == 0 && strcmp(method, "GET") == 0) {
        if (actor.role == ROLE_NONE) {
            status = 401;
            ret = answer_error(c, 401, "unauthorized", "a valid bearer token is required");
        } else if (actor.role == ROLE_AGENT) {
            status = 403;
            ret = answer_error(c, 403, "forbidden", "the event stream is for operators");
        } else {
            status = 200;
            rc->is_stream = true;
            ret = answer_stream(h, c);
        }
    } else {
        qbuf q = {.n = 0};
        q.s[0] = '\0';
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
        market_request rq = {
            .method = method,
            .path = url,
            .query = q.s,
            .body = rc->body,
            .body_len = rc->len,
            .idempotency_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
            .if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match"),
        };
        market_response rs = {0};
        market_handle(h->m, &actor, &rq, &rs);
        status = rs.status;
        ret = answer_json(c, rs.status, rs.body, rs.replayed, rs.retry_after);
    }
    count_status(h, status);
    if (h->verbose) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms =
            (double)(t1.tv_sec - rc->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - rc->t0.tv_nsec) / 1e6;
        /* the actor's name, never its token */
        fprintf(stderr, "marketd: %s %s %d %.1fms %s\n", method, url, status, ms,
                actor.role == ROLE_NONE ? "-" : actor.name);
    }
    return ret;
}

/* Frees a request's state when it completes. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    reqctx *rc = *con_cls;
    if (rc) {
        free(rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

/* Opens the listening socket for "ADDR:PORT". Returns the fd or -1 with err. */
static int open_listener(const char *spec, char *err, size_t errsz)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host) {
        snprintf(err, errsz, "--listen wants ADDR:PORT, not %s", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, errsz, "bad port in --listen %s", spec);
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    int fam;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            snprintf(err, errsz, "bad IPv6 address in --listen %s", spec);
            return -1;
        }
        sl = sizeof *a6;
        fam = AF_INET6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            snprintf(err, errsz, "bad IPv4 address in --listen %s", spec);
            return -1;
        }
        sl = sizeof *a4;
        fam = AF_INET;
    }
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errsz, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    /* SO_REUSEADDR: a restart (even after kill -9) can bind the same port at once */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 511) != 0) {
        snprintf(err, errsz, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

http_server *http_start(market *m, const http_options *opt, char *err, size_t errsz)
{
    http_server *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    h->m = m;
    h->verbose = opt->verbose;
    h->heartbeat_ms = (opt->heartbeat_s > 0 ? opt->heartbeat_s : 15) * 1000;
    pthread_mutex_init(&h->smu, NULL);
    h->fd = open_listener(opt->listen ? opt->listen : "127.0.0.1:8080", err, errsz);
    if (h->fd < 0)
        goto fail;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(h->fd, (struct sockaddr *)&ss, &sl);
    h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    unsigned timeout = (unsigned)(h->heartbeat_ms / 1000) * 4;
    if (timeout < 60)
        timeout = 60;
    market_subscribe(m, on_event, h);
    /* libmicrohttpd's own messages (a stream client that went away, ...) only at --verbose */
    h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                                (opt->verbose ? MHD_USE_ERROR_LOG : 0),
                            0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
                            MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, 10000u,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, h, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
                            MHD_OPTION_END);
    if (!h->d) {
        market_unsubscribe(m, on_event, h);
        snprintf(err, errsz, "cannot start the HTTP server on port %d", h->port);
        close(h->fd);
        goto fail;
    }
    return h;
fail:
    pthread_mutex_destroy(&h->smu);
    free(h);
    return NULL;
}

int http_port(const http_server *h)
{
    return h->port;
}

void http_stop(http_server *h)
{
    if (!h)
        return;
    market_unsubscribe(h->m, on_event, h);
    MHD_socket fd = MHD_quiesce_daemon(h->d); /* stop accepting new connections */
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    pthread_mutex_lock(&h->smu);
    h->closing = true;
    wake_streams(h, false);
    pthread_mutex_unlock(&h->smu);
    /* give the streams a moment to end cleanly before the daemon closes them */
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&h->smu);
        int n = h->nstreams;
        pthread_mutex_unlock(&h->smu);
        if (n == 0)
            break;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->smu);
    free(h);
}
