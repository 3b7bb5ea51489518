/* http.c: the HTTP front of marketd on libmicrohttpd.
 *
 * One internal polling thread pool serves every connection. API requests are collected
 * (at most 64 KiB of body) and handed to market_handle(). GET /v1/events streams
 * Server-Sent Events without a thread per client: its content reader reads stored
 * events after the client's position and, when there is nothing to send, suspends the
 * connection; a committed event (market_subscribe) or a due heartbeat (http_tick)
 * resumes it. A vanished client fails on the next write and is freed by libmicrohttpd.
 *
 * Hostile networks: marketd/limits.c keeps the table of connections (per address, the
 * operators' reserve, a header deadline, a minimum body rate, streams per token); a
 * stream whose client takes nothing for stream_stall_ms while events wait is closed (the
 * client resumes with Last-Event-ID).
 * A request whose framing is ambiguous (two Content-Length, Content-Length with
 * Transfer-Encoding, an encoding other than chunked), whose raw path holds %00, whose
 * declared body is over the limit or that has too many query parameters is refused on
 * its headers, before any body is read, and its connection is closed.
 */
#include "marketd/http.h"

#include "marketd/limits.h"
#include "marketd/metrics.h"

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
/* libmicrohttpd's memory pool per connection (headers, read and write buffers). It zeroes
 * the whole pool after every request, so an idle keep-alive connection costs all of it in
 * resident memory: 128 KiB made 2,872 refused streams cost 367 MB (tests/bench/
 * bench_abuse). Headers over about half of it are refused (431). */
#define CONN_POOL    (32 * 1024)
#define STREAM_BLOCK (8 * 1024) /* a stream's write block, taken from that pool */

typedef struct stream stream;

struct http_server {
    market *m;
    struct MHD_Daemon *d;
    int fd;
    int port;
    int heartbeat_ms;
    bool verbose;
    int stream_stall_ms;
    limits *lim;
    char nul_uri;        /* its address marks a request whose raw URI holds %00 (on_uri) */
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
    bool killed;    /* closed for stalling */
    char *buf;
    size_t len, off, cap;
    int64_t last_write; /* monotonic ms */
    int64_t woke;       /* monotonic ms of the last resume */
    char holder[65];    /* the operator's name (lim_stream_open) */
    bool console;       /* a console's stream (?console=1): presence (market_console) */
    market_actor who;   /* its operator, for market_console */
};

/* One request's state while its body arrives. */
typedef struct reqctx {
    market_actor actor;
    char *body;
    size_t len, cap;
    bool too_large;
    bool is_stream;
    bool answered; /* refused on its headers (gate) */
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
    if (s->full || s->reset || (s->len > 0 && s->len + strlen(json) > STREAM_BUF_MAX)) {
        s->full = true;
        return;
    }
    if (seq != s->last_seq + 1) { /* a gap: the events after last_seq are no longer kept */
        s->reset = true;          /* (--retain-events, marketd/retain.c) */
        return;
    }
    char head[160];
    int n = snprintf(head, sizeof head,
                     "id: %s:%" PRId64 "\nevent: %s\ndata: ", market_epoch(s->h->m), seq, type);
    if (n > 0 && sappend(s, head, (size_t)n) && sappend(s, json, strlen(json)) &&
        sappend(s, "\n\n", 2))
        s->last_seq = seq;
}

/* Ends the stream with a reset event: the client takes a fresh snapshot. */
static void stream_reset(stream *s)
{
    char line[200];
    int n = snprintf(line, sizeof line,
                     "event: reset\ndata: {\"epoch\":\"%s\",\"seq\":%" PRId64 "}\n\n",
                     market_epoch(s->h->m), market_seq(s->h->m));
    sappend(s, line, (size_t)n);
    s->done = true;
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
            if (s->reset)
                stream_reset(s);
        } else {
            s->full = false;
            market_events_after(h->m, s->last_seq, STREAM_BATCH, stream_event, s);
            if (s->reset)
                stream_reset(s);
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
    bool console = s->console;
    pthread_mutex_unlock(&h->smu);
    if (console)
        market_console(h->m, &s->who, -1);
    lim_stream_close(h->lim, s->holder);
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
        s->woke = now;
        MHD_resume_connection(s->conn);
    }
}

/* Closes the streams whose client took nothing for stream_stall_ms while there was
 * something to send (not suspended): buffering for them would cost memory without end;
 * the client resumes from its Last-Event-ID. Lock held. */
static void close_stalled(http_server *h)
{
    int64_t now = mono_ms();
    for (stream *s = h->streams; s; s = s->next) {
        int64_t last = s->last_write > s->woke ? s->last_write : s->woke;
        if (s->suspended || s->killed || now - last < h->stream_stall_ms)
            continue;
        s->killed = true;
        lim_kill(h->lim, s->conn);
        lim_count_stalled(h->lim);
    }
}

/* Ends the presence of the consoles whose client has gone (its end of the connection
 * closed) while their stream waits, suspended, for an event: a suspended connection is
 * not read by libmicrohttpd, which would notice only at the next write (a heartbeat), and
 * presence must end when the console does (marketd/presence.c). The stream then ends.
 * Lock held; returns how many ended, each then in ended[] to be told to the market. */
static int close_gone_consoles(http_server *h, market_actor *ended, int max)
{
    int n = 0;
    for (stream *s = h->streams; s && n < max; s = s->next) {
        if (!s->console || !s->suspended)
            continue;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        char b;
        ssize_t r = ci ? recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) : 1;
        if (r != 0 && !(r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            continue;
        s->console = false;
        ended[n++] = s->who;
        s->done = true;
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
    return n;
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
    market_actor ended[16];
    pthread_mutex_lock(&h->smu);
    int n = close_gone_consoles(h, ended, 16);
    wake_streams(h, true);
    close_stalled(h);
    pthread_mutex_unlock(&h->smu);
    for (int i = 0; i < n; i++)
        market_console(h->m, &ended[i], -1);
    lim_tick(h->lim);
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
    /* digits only (no sign, no space), at most 18: never an overflow */
    size_t n = strspn(num, "0123456789");
    if (n == 0 || n > 18 || num[n] != '\0')
        return false;
    *seq = strtoll(num, NULL, 10);
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

/* Queues a contract error body; close: the connection closes after it (the rest of
 * what the client sent cannot be trusted to start the next request). */
static enum MHD_Result answer_error_on(struct MHD_Connection *c, int status, const char *code,
                                       const char *msg, bool close)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"error\":\"%s\",\"message\":\"%s\"}", code, msg);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(buf), buf, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    common_headers(r, "application/json");
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"marketd\"");
    if (status == 429 || status == 503)
        MHD_add_response_header(r, "Retry-After", "5");
    if (close)
        MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer_error(struct MHD_Connection *c, int status, const char *code,
                                    const char *msg)
{
    return answer_error_on(c, status, code, msg, false);
}

/* GET /metrics in the Prometheus text format (marketd/metrics.c). */
static enum MHD_Result answer_metrics(http_server *h, struct MHD_Connection *c)
{
    metrics_http hm;
    pthread_mutex_lock(&h->smu);
    hm.streams = h->nstreams;
    hm.streams_total = h->streams_total;
    hm.requests = h->http_requests;
    hm.r2xx = h->http_2xx;
    hm.r4xx = h->http_4xx;
    hm.r5xx = h->http_5xx;
    pthread_mutex_unlock(&h->smu);
    char *b = metrics_text(h->m, &hm, h->lim);
    if (!b)
        return MHD_NO;
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

/* Starts an event stream for an authenticated operator (at most max_streams_per_token
 * for one token: 429 too_many_streams past it). Sets *status. */
static enum MHD_Result answer_stream(http_server *h, struct MHD_Connection *c,
                                     const market_actor *a, int *status)
{
    if (!lim_stream_open(h->lim, a->name)) {
        /* and the connection closes: it asked for a stream, not for keep-alive */
        *status = 429;
        return answer_error_on(c, 429, "too_many_streams",
                               "this token holds as many event streams as it may", true);
    }
    *status = 200;
    stream *s = calloc(1, sizeof *s);
    if (!s) {
        lim_stream_close(h->lim, a->name);
        return MHD_NO;
    }
    snprintf(s->holder, sizeof s->holder, "%s", a->name);
    const char *console = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "console");
    s->console = console && strcmp(console, "1") == 0;
    s->who = *a;
    s->h = h;
    s->conn = c;
    s->last_write = s->woke = mono_ms();
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
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                               stream_read, s, stream_free);
    if (!r) {
        lim_stream_close(h->lim, a->name);
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
    if (s->console) /* counted before its first byte: the free callback uncounts it */
        market_console(h->m, a, +1);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

typedef struct qbuf {
    char s[2048];
    size_t n;
    bool overflow;
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
            if (q->n + 4 >= sizeof q->s) {
                q->overflow = true;
                return MHD_NO;
            }
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

/* libmicrohttpd's URI logger: marks a request whose raw URI holds %00 (con_cls =
 * &h->nul_uri), refused when its headers are in (lim_uri_has_nul). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    http_server *h = cls;
    return lim_uri_has_nul(uri) ? &h->nul_uri : NULL;
}

/* Checks a request on its headers (lim_check_request) and queues the refusal, the
 * connection closing after it. Returns the refusal's status, or 0 when it may go on. */
static int gate(http_server *h, struct MHD_Connection *c, bool nul_uri, const reqctx *rc,
                enum MHD_Result *ret)
{
    const char *code, *why;
    bool op = rc->actor.role == ROLE_SUPERVISOR || rc->actor.role == ROLE_VIEWER;
    int status = lim_check_request(h->lim, c, nul_uri, op, BODY_MAX, &code, &why);
    if (status)
        *ret = answer_error_on(c, status, code, why, true);
    return status;
}

/* Copies s into out (size bytes) with every byte outside printable ASCII, and the
 * backslash, written as \xHH: a logged request path or name cannot move the cursor,
 * retitle a terminal or start a line of its own. */
static const char *log_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < size; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
    }
    out[o] = '\0';
    return out;
}

/* One --verbose line for a request. */
static void log_request(const reqctx *rc, const char *method, const char *url, int status)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms =
        (double)(t1.tv_sec - rc->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - rc->t0.tv_nsec) / 1e6;
    char m[64], u[1024], n[300];
    /* the actor's name, never its token */
    fprintf(stderr, "marketd: %s %s %d %.1fms %s\n", log_escape(method, m, sizeof m),
            log_escape(url, u, sizeof u), status, ms,
            rc->actor.role == ROLE_NONE ? "-" : log_escape(rc->actor.name, n, sizeof n));
}

/* The first call for a request: its headers are in. Authenticates, checks the request
 * (gate) and sets up its state. */
static enum MHD_Result on_headers(http_server *h, struct MHD_Connection *c, const char *url,
                                  const char *method, void **con_cls)
{
    bool nul_uri = *con_cls == &h->nul_uri;
    *con_cls = NULL;
    reqctx *rc = calloc(1, sizeof *rc);
    if (!rc)
        return MHD_NO;
    clock_gettime(CLOCK_MONOTONIC, &rc->t0);
    rc->actor.role = ROLE_NONE;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        market_authenticate(h->m, auth + 7, &rc->actor);
    *con_cls = rc;
    enum MHD_Result ret = MHD_YES;
    int status = gate(h, c, nul_uri, rc, &ret);
    if (status) {
        rc->answered = true;
        count_status(h, status);
        if (h->verbose)
            log_request(rc, method, url, status);
    }
    return ret;
}

/* libmicrohttpd's access handler: checks the headers, collects the body, then answers. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    http_server *h = cls;
    reqctx *rc = *con_cls;
    if (!rc || rc == (reqctx *)&h->nul_uri)
        return on_headers(h, c, url, method, con_cls);
    if (rc->answered) {
        *upload_size = 0; /* refused on its headers: nothing more is read */
        return MHD_YES;
    }
    if (*upload_size > 0) {
        lim_request_body(h->lim, c, *upload_size);
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
    lim_request_read(h->lim, c);
    const market_actor *actor = &rc->actor;
    int status;
    enum MHD_Result ret;
    if (rc->too_large) {
        status = 413;
        ret = answer_error(c, 413, "too_large", "request body over 64 KiB");
    } else if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0) {
        status = 200;
        ret = answer_metrics(h, c);
    } else if (strcmp(url, "/v1/events") == 0 && strcmp(method, "GET") == 0) {
        if (actor->role == ROLE_NONE) {
            status = 401;
            ret = answer_error(c, 401, "unauthorized", "a valid bearer token is required");
        } else if (actor->role == ROLE_AGENT) {
            status = 403;
            ret = answer_error(c, 403, "forbidden", "the event stream is for operators");
        } else {
            rc->is_stream = true;
            ret = answer_stream(h, c, actor, &status);
        }
    } else {
        qbuf q = {.n = 0};
        q.s[0] = '\0';
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
        if (q.overflow) {
            status = 400;
            ret = answer_error(c, 400, "bad_request", "query string too long");
        } else {
            market_request rq = {
                .method = method,
                .path = url,
                .query = q.s,
                .body = rc->body,
                .body_len = rc->len,
                .idempotency_key =
                    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key"),
                .if_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match"),
                .if_epoch = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Epoch"),
            };
            market_response rs = {0};
            market_handle(h->m, actor, &rq, &rs);
            status = rs.status;
            ret = answer_json(c, rs.status, rs.body, rs.replayed, rs.retry_after);
        }
    }
    count_status(h, status);
    if (h->verbose)
        log_request(rc, method, url, status);
    return ret;
}

/* Frees a request's state when it completes; its connection waits for the next
 * request's headers from now on (the header deadline starts again). */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    http_server *h = cls;
    reqctx *rc = *con_cls;
    if (rc && rc != (reqctx *)&h->nul_uri) {
        free(rc->body);
        free(rc);
    }
    *con_cls = NULL;
    lim_request_done(h->lim, c);
}

/* libmicrohttpd's connection notifier: the table of marketd/limits.c. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *h = cls;
    lim_notify(h->lim, c, socket_context, toe);
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
    h->stream_stall_ms =
        (opt->stream_stall_s > 0 ? opt->stream_stall_s : HTTP_STREAM_STALL_S) * 1000;
    lim_options lo = {
        .max_conns = opt->max_conns > 0 ? opt->max_conns : LIM_MAX_CONNS,
        .max_conns_per_addr =
            opt->max_conns_per_addr > 0 ? opt->max_conns_per_addr : LIM_MAX_CONNS_PER_ADDR,
        .header_timeout_s =
            opt->header_timeout_s > 0 ? opt->header_timeout_s : LIM_HEADER_TIMEOUT_S,
        .max_streams_per_token =
            opt->max_streams_per_token > 0 ? opt->max_streams_per_token : LIM_STREAMS_PER_TOKEN,
        .min_body_rate = opt->min_body_rate < 0   ? 0
                         : opt->min_body_rate > 0 ? opt->min_body_rate
                                                  : LIM_MIN_BODY_RATE,
        .trusted_proxy = opt->trusted_proxy,
    };
    h->lim = lim_new(&lo, err, errsz);
    if (!h->lim) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->smu, NULL);
    h->fd = http_listen(opt->listen ? opt->listen : "127.0.0.1:8080", err, errsz);
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
    /* libmicrohttpd's own limit sits above ours: a newcomer must reach on_connection for
     * limits.c to close an older idle connection in its favour (those it shut down are
     * counted by libmicrohttpd until it frees them). */
    unsigned mhd_limit = (unsigned)(lo.max_conns + lo.max_conns / 2 + 64);
    market_subscribe(m, on_event, h);
    /* libmicrohttpd's own messages (a stream client that went away, ...) only at --verbose */
    h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                                (opt->verbose ? MHD_USE_ERROR_LOG : 0),
                            0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
                            MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL, MHD_OPTION_END);
    if (!h->d) {
        market_unsubscribe(m, on_event, h);
        snprintf(err, errsz, "cannot start the HTTP server on port %d", h->port);
        close(h->fd);
        goto fail;
    }
    return h;
fail:
    pthread_mutex_destroy(&h->smu);
    lim_free(h->lim);
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
    lim_free(h->lim);
    free(h);
}
