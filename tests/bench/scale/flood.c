/* flood.c: the stream of a steady market at 5,000 events/s in front of the real marketd;
 * see flood.h. */
#include "tests/bench/scale/flood.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"

/* ---- the market the flood changes (ids of tests/bench/scale/fixture.sql) ------------- */

typedef struct scale_market {
    long nopen, npend, nalr;  /* the working set's sizes (marketd's snapshot) */
    long open_id[SCALE_OPEN]; /* the open threads */
    long open_msgs[SCALE_OPEN];
    long lst[SCALE_OPEN];  /* the listing of each open thread */
    long lst0[SCALE_OPEN]; /* the listings of the snapshot's open threads */
    long pend_pur[SCALE_PENDING], pend_neg[SCALE_PENDING], pend_lst[SCALE_PENDING]; /* a ring */
    int pend_head;                                                                  /* the oldest */
    long alr[SCALE_ALERTS], alr_pur[SCALE_ALERTS]; /* open alerts, a ring */
    int alr_head;
    long next_neg, next_pur, next_led, next_dec, next_alr, next_lst;
    uint64_t rng;
} scale_market;

/* The market as the snapshot gave it; what the flood makes gets ids far past the
 * fixture's (tests/bench/scale/fixture.sql makes at most a few million of a kind). */
static void market_init(scale_market *mk, const scale_workset *ws)
{
    mk->nopen = ws->nopen < SCALE_OPEN ? ws->nopen : SCALE_OPEN;
    mk->npend = ws->npend < SCALE_PENDING ? ws->npend : SCALE_PENDING;
    mk->nalr = ws->nalr < SCALE_ALERTS ? ws->nalr : SCALE_ALERTS;
    for (long k = 0; k < mk->nopen; k++) {
        mk->open_id[k] = ws->open[k];
        mk->lst[k] = mk->lst0[k] = ws->open_lst[k];
        mk->open_msgs[k] = ws->open_msgs[k];
    }
    for (long k = 0; k < mk->npend; k++) {
        mk->pend_pur[k] = ws->pend[k];
        mk->pend_neg[k] = ws->pend_neg[k];
        mk->pend_lst[k] = ws->pend_lst[k];
    }
    for (long k = 0; k < mk->nalr; k++) {
        mk->alr[k] = ws->alr[k];
        mk->alr_pur[k] = ws->alr_pur[k];
    }
    mk->next_neg = 100000001;
    mk->next_pur = 100000001;
    mk->next_led = 1000000001;
    mk->next_dec = 100000001;
    mk->next_alr = 100000001;
    mk->next_lst = 200000001; /* listings made alone, apart from threads' */
    mk->rng = 0x5ca1e14;
}

/* A thread's parties, asking price and quantity (fixture.sql's blk view). */
static long buyer_of(long i)
{
    return 1 + (i * 7919) % (SCALE_AGENTS / 2);
}
static long seller_of(long i)
{
    return SCALE_AGENTS / 2 + 1 + (i * 6007) % (SCALE_AGENTS / 2);
}
static long price_of(long i)
{
    return 500 + (long)(((uint64_t)i * 2654435761u) % 4294967296u % 200000);
}
static long qty_of(long i)
{
    return 1 + (long)(((uint64_t)i * 2654435761u) % 4294967296u / 256 % 20);
}

/* ---- output ------------------------------------------------------------------------ */

typedef struct obuf {
    char *s;
    size_t len, cap;
} obuf;

/* Appends formatted text (aborts on out of memory: a bench). */
static void put(obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(obuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (b->s && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t want = b->len + (size_t)n + 1;
        b->cap = b->cap ? b->cap * 2 : 1 << 16;
        while (b->cap < want)
            b->cap *= 2;
        if (!(b->s = realloc(b->s, b->cap)))
            abort();
    }
}

/* One event's frame: the SSE lines around data (JSON text) of type at seq. */
typedef struct emit {
    scale_flood *f;
    obuf *out;
    long long seq; /* the last seq written */
    long n;        /* events written */
    char at[32];   /* now, RFC 3339 */
} emit;

static void event(emit *e, const char *type, const char *data)
{
    e->seq++;
    e->n++;
    put(e->out,
        "id: %s:%lld\nevent: %s\ndata: "
        "{\"seq\":%lld,\"type\":\"%s\",\"at\":\"%s\",\"data\":%s}\n\n",
        e->f->epoch, e->seq, type, e->seq, type, e->at, data);
}

/* ---- the objects, as marketd writes them ------------------------------------------------ */

static void ev_listing(emit *e, long id, long thread, const char *status)
{
    char d[768];
    long p = price_of(thread);
    snprintf(d, sizeof d,
             "{\"id\":\"lst_%ld\",\"version\":%lld,\"seller_id\":\"agt_%ld\",\"title\":\"spare "
             "GPU hours lot %ld\",\"description\":\"flood listing\",\"category\":\"compute\","
             "\"unit_price_minor\":%ld,\"currency\":\"USD\",\"quantity\":%ld,"
             "\"reference_price_minor\":%ld,\"floor_minor\":null,\"status\":\"%s\",\"created_at\":"
             "\"%s\",\"updated_at\":\"%s\"}",
             id, e->seq + 1, seller_of(thread), id % 100000, p, qty_of(thread), p, status, e->at,
             e->at);
    event(e, "listing.updated", d);
}

static void ev_thread(emit *e, long i, long lst, const char *status, long msgs)
{
    char d[768];
    long p = price_of(i), q = qty_of(i);
    bool agreed = strcmp(status, "agreed") == 0;
    char terms[128];
    snprintf(terms, sizeof terms, "{\"unit_price_minor\":%ld,\"quantity\":%ld,\"by\":\"agt_%ld\"}",
             p * 97 / 100, q, agreed ? buyer_of(i) : seller_of(i));
    snprintf(d, sizeof d,
             "{\"id\":\"neg_%ld\",\"version\":%lld,\"listing_id\":\"lst_%ld\",\"buyer_id\":\"agt_%"
             "ld\",\"seller_id\":\"agt_%ld\",\"status\":\"%s\",\"terms\":%s,\"agreed_terms\":%s,"
             "\"cap\":null,\"currency\":\"USD\",\"message_count\":%ld,\"opened_at\":\"%s\","
             "\"held_by\":[],\"updated_at\":\"%s\"}",
             i, e->seq + 1, lst, buyer_of(i), seller_of(i), status, terms, agreed ? terms : "null",
             msgs, e->at, e->at);
    event(e, "negotiation.updated", d);
}

static void ev_message(emit *e, long i, long seq)
{
    char d[512];
    snprintf(
        d, sizeof d,
        "{\"negotiation_id\":\"neg_%ld\",\"seq\":%ld,\"from\":\"agt_%ld\",\"kind\":\"counter\","
        "\"unit_price_minor\":%ld,\"quantity\":%ld,\"text\":\"Counter %ld: %ld x %ld, can "
        "ship this week\",\"at\":\"%s\"}",
        i, seq, seq % 2 ? buyer_of(i) : seller_of(i), price_of(i) * 97 / 100, qty_of(i), seq,
        qty_of(i), price_of(i) * 97 / 100, e->at);
    event(e, "negotiation.message", d);
}

static void ev_purchase(emit *e, long id, long thread, long lst, bool pending)
{
    char d[1400], due[40] = "null";
    long ap = price_of(thread) * 97 / 100, q = qty_of(thread);
    if (pending) { /* the console counts down to it; the flood decides it long before */
        time_t s = time(NULL) + 120;
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(due, sizeof due, "\"%Y-%m-%dT%H:%M:%S.000Z\"", &tm);
    }
    snprintf(
        d, sizeof d,
        "{\"id\":\"pur_%ld\",\"version\":%lld,\"negotiation_id\":\"neg_%ld\",\"listing_id\":"
        "\"lst_%ld\",\"buyer_id\":\"agt_%ld\",\"seller_id\":\"agt_%ld\",\"unit_price_minor\":"
        "%ld,\"quantity\":%ld,\"total_minor\":%ld,\"currency\":\"USD\",\"ship_to\":\"99 "
        "Unknown Rd, Nowhere\",\"status\":\"%s\",\"flags\":[{\"rule\":\"overpay\",\"severity\":"
        "\"warning\",\"detail\":\"the unit price is more than 1.5x the reference price\"},"
        "{\"rule\":\"ship_to_unverified\",\"severity\":\"critical\",\"detail\":\"the ship-to "
        "address is not one of the buyer's verified addresses\"}],\"risk_score\":60,"
        "\"decide_by\":%s,\"default_on_timeout\":\"veto\",\"decision\":%s%s%s,\"created_at\":"
        "\"%s\",\"updated_at\":\"%s\"}",
        id, e->seq + 1, thread, lst, buyer_of(thread), seller_of(thread), ap, q, ap * q,
        pending ? "pending_approval" : "settled", due,
        pending ? "null" : "{\"action\":\"approve\",\"by\":\"bench\",\"at\":\"",
        pending ? "" : e->at, pending ? "" : "\",\"reason\":null,\"cap\":null}", e->at, e->at);
    event(e, "purchase.updated", d);
}

static void ev_alert(emit *e, long id, long pur, bool open)
{
    char d[600];
    snprintf(d, sizeof d,
             "{\"id\":\"alr_%ld\",\"version\":%lld,\"severity\":\"%s\",\"rule\":\"%s\","
             "\"subject\":{\"kind\":\"purchase\",\"id\":\"pur_%ld\"},\"message\":\"flagged by the "
             "risk rules\",\"status\":\"%s\",\"acked_by\":%s,\"at\":\"%s\",\"updated_at\":\"%s\"}",
             id, e->seq + 1, id % 2 ? "warning" : "critical",
             id % 2 ? "overpay" : "ship_to_unverified", pur, open ? "open" : "acked",
             open ? "null" : "\"bench\"", e->at, e->at);
    event(e, "alert.updated", d);
}

static void ev_ledger(emit *e, long id, long pur, long thread)
{
    char d[600];
    long total = price_of(thread) * 97 / 100 * qty_of(thread);
    snprintf(d, sizeof d,
             "{\"id\":\"led_%ld\",\"seq\":%ld,\"kind\":\"settlement\",\"purchase_id\":\"pur_%ld\","
             "\"currency\":\"USD\",\"postings\":[{\"account\":\"agent:agt_%ld\",\"amount_minor\":"
             "%ld},{\"account\":\"agent:agt_%ld\",\"amount_minor\":%ld}],\"at\":\"%s\"}",
             id, id, pur, buyer_of(thread), -total, seller_of(thread), total, e->at);
    event(e, "ledger.posted", d);
}

static void ev_decision(emit *e, long id, long pur, long thread)
{
    char d[400];
    snprintf(d, sizeof d,
             "{\"id\":\"dec_%ld\",\"action\":\"approve\",\"subject\":{\"kind\":\"purchase\",\"id\":"
             "\"pur_%ld\"},\"by\":\"bench\",\"at\":\"%s\",\"reason\":null,\"params\":"
             "{\"expected_total_minor\":%ld}}",
             id, pur, e->at, price_of(thread) * 97 / 100 * qty_of(thread));
    event(e, "decision.recorded", d);
}

static void ev_agent(emit *e, long k)
{
    char d[700];
    bool buyer = k <= SCALE_AGENTS / 2;
    snprintf(d, sizeof d,
             "{\"id\":\"agt_%ld\",\"version\":%lld,\"name\":\"%s-%ld\",\"principal\":\"Principal "
             "%ld\",\"role\":\"%s\",\"status\":\"active\",\"currency\":\"USD\",\"limits\":{"
             "\"spend_cap_minor\":1000000000000,\"per_deal_max_minor\":50000000,"
             "\"approval_threshold_minor\":10000,\"max_quantity\":1000},\"spent_minor\":%lld,"
             "\"mandate\":{\"categories\":[\"compute\"]},\"addresses\":[\"%ld Market St, "
             "Springfield\"],\"held_by\":[],\"updated_at\":\"%s\"}",
             k, e->seq + 1, buyer ? "buyer" : "seller", k, k % 97, buyer ? "buyer" : "seller",
             buyer ? e->seq : 0, k, e->at);
    event(e, "agent.updated", d);
}

/* Opens a new thread in open slot k. */
static void thread_open(scale_market *mk, emit *e, long k)
{
    long n = mk->next_neg++;
    mk->lst[k] = mk->lst0[n % mk->nopen];
    ev_thread(e, n, mk->lst[k], "open", 0);
    mk->open_id[k] = n;
    mk->open_msgs[k] = 0;
}

/* The oldest pending purchase is approved and settled (its decision and entry), the
 * thread in open slot k agrees and makes a new one, pending, with its two alerts; the
 * two oldest alerts are acknowledged; a new thread takes slot k. */
static void purchase_cycle(scale_market *mk, emit *e, long k)
{
    int h = mk->pend_head;
    ev_purchase(e, mk->pend_pur[h], mk->pend_neg[h], mk->pend_lst[h], false);
    ev_decision(e, mk->next_dec++, mk->pend_pur[h], mk->pend_neg[h]);
    ev_ledger(e, mk->next_led++, mk->pend_pur[h], mk->pend_neg[h]);
    long thread = mk->open_id[k], pur = mk->next_pur++;
    ev_thread(e, thread, mk->lst[k], "agreed", mk->open_msgs[k]);
    ev_purchase(e, pur, thread, mk->lst[k], true);
    mk->pend_pur[h] = pur;
    mk->pend_neg[h] = thread;
    mk->pend_lst[h] = mk->lst[k];
    mk->pend_head = (int)((h + 1) % mk->npend);
    for (int a = 0; a < 2; a++) {
        int ah = mk->alr_head;
        ev_alert(e, mk->alr[ah], mk->alr_pur[ah], false);
        mk->alr[ah] = mk->next_alr++;
        mk->alr_pur[ah] = pur;
        ev_alert(e, mk->alr[ah], pur, true);
        mk->alr_head = (int)((ah + 1) % mk->nalr);
    }
    thread_open(mk, e, k);
}

/* Writes the market's next change (one or more events). */
static void next_change(scale_market *mk, emit *e)
{
    uint64_t r = tproc_rng(&mk->rng);
    unsigned op = (unsigned)(r % 1000);
    long k = (long)((r >> 16) % (uint64_t)mk->nopen), old = 1 + (long)((r >> 40) % SCALE_CLOSED);
    if (op < 400) {
        ev_message(e, mk->open_id[k], ++mk->open_msgs[k]);
    } else if (op < 600) {
        ev_thread(e, mk->open_id[k], mk->lst[k], "open", mk->open_msgs[k]);
    } else if (op < 630) {
        ev_thread(e, mk->open_id[k], mk->lst[k], "failed", mk->open_msgs[k]);
        thread_open(mk, e, k);
    } else if (op < 680) {
        long n = mk->next_lst++;
        ev_listing(e, n, n, "open");
    } else if (op < 695 && mk->npend > 0 && mk->nalr > 1) {
        purchase_cycle(mk, e, k);
    } else if (op < 775) {
        ev_ledger(e, mk->next_led++, old, old);
    } else if (op < 805) {
        ev_agent(e, 1 + (long)((r >> 24) % SCALE_AGENTS));
    } else if (op < 885) {
        ev_listing(e, old, old, "sold"); /* history: the console does not hold it */
    } else {
        ev_thread(e, old, old, "agreed", 10);
    }
}

/* ---- the event stream ------------------------------------------------------------------ */

static void now_rfc3339(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* Serves GET /v1/events: the flood at f->rate for f->seconds, then heartbeats. */
static void serve_events(scale_flood *f, int fd)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: "
                       "no-store\r\nConnection: close\r\n\r\nretry: 2000\n\n";
    if (tproc_send_all(fd, head, strlen(head)) != 0)
        return;
    atomic_fetch_add(&f->streams, 1);
    while (!atomic_load(&f->go) && !atomic_load(&f->stop))
        tproc_pace(2);
    pthread_mutex_lock(&f->mu);
    obuf out = {0};
    emit e = {.f = f, .out = &out, .seq = f->seq0 + atomic_load(&f->sent)};
    long total = (long)(f->rate * f->seconds);
    if (f->start == 0)
        f->start = tproc_now_s();
    while (atomic_load(&f->sent) < total && !atomic_load(&f->stop)) {
        long want = (long)((tproc_now_s() - f->start) * f->rate);
        want = want > total ? total : want;
        out.len = 0;
        e.n = 0;
        now_rfc3339(e.at);
        long base = atomic_load(&f->sent);
        while (base + e.n < want && out.len < (1 << 20))
            next_change(f->mk, &e);
        if (out.len && tproc_send_all(fd, out.s, out.len) != 0) {
            atomic_store(&f->sent, base + e.n); /* a new stream goes on from here */
            goto out;
        }
        atomic_store(&f->sent, base + e.n);
        tproc_pace(1);
    }
    if (atomic_load(&f->sent) >= total && !atomic_load(&f->script_done)) {
        f->end = tproc_now_s();
        atomic_store(&f->script_done, 1);
    }
    pthread_mutex_unlock(&f->mu);
    double last = tproc_now_s();
    while (!atomic_load(&f->stop)) { /* a heartbeat every 15 s, as marketd's default */
        tproc_pace(50);
        if (tproc_now_s() - last >= 15) {
            if (tproc_send_all(fd, ": hb\n\n", 6) != 0)
                break;
            last = tproc_now_s();
        }
    }
    free(out.s);
    return;
out:
    pthread_mutex_unlock(&f->mu);
    free(out.s);
}

/* ---- every other request: relayed to marketd ------------------------------------------- */

/* Sends the request head (its Connection header replaced by "close", so that marketd
 * ends the answer by closing) and the body bytes already read, then relays the rest of
 * the body and the whole answer. */
static void relay(scale_flood *f, int fd, char *req, size_t headlen, size_t have)
{
    int up = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->upstream)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (up < 0 || connect(up, (struct sockaddr *)&a, sizeof a) < 0) {
        if (up >= 0)
            close(up);
        return;
    }
    int one = 1;
    setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    obuf h = {0};
    long long body = 0;
    char *line = req, *end = req + headlen;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line + 1) : (size_t)(end - line);
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            body = atoll(line + 15);
        if (strncasecmp(line, "Connection:", 11) != 0 && !(n <= 2 && line > req))
            put(&h, "%.*s", (int)n, line);
        line += n;
    }
    put(&h, "Connection: close\r\n\r\n");
    bool ok = tproc_send_all(up, h.s, h.len) == 0 &&
              (have <= headlen || tproc_send_all(up, req + headlen, have - headlen) == 0);
    free(h.s);
    body -= (long long)(have - headlen);
    char buf[1 << 16];
    while (ok && body > 0) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        ok = r > 0 && tproc_send_all(up, buf, (size_t)r) == 0;
        body -= r;
    }
    for (ssize_t r; ok && (r = recv(up, buf, sizeof buf, 0)) > 0;)
        ok = tproc_send_all(fd, buf, (size_t)r) == 0;
    close(up);
}

typedef struct conn {
    scale_flood *f;
    int fd;
} conn;

/* One connection (a thread): one request, then closed. */
static void *serve_conn(void *arg)
{
    conn *c = arg;
    scale_flood *f = c->f;
    int fd = c->fd;
    free(c);
    char req[65536];
    size_t n = 0;
    char *eoh = NULL;
    while (n < sizeof req - 1 && !eoh) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        eoh = strstr(req, "\r\n\r\n");
    }
    if (eoh) {
        if (strncmp(req, "GET /v1/events", 14) == 0)
            serve_events(f, fd);
        else
            relay(f, fd, req, (size_t)(eoh + 4 - req), n);
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    scale_flood *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = malloc(sizeof *c);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (!c)
            abort();
        *c = (conn){f, fd};
        if (pthread_create(&th, &at, serve_conn, c) != 0) {
            close(fd);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

int scale_flood_start(scale_flood *f, int upstream, const char *epoch, long long seq0,
                      const scale_workset *ws, double rate, double seconds)
{
    if (ws->nopen < 1)
        return -1;
    memset(f, 0, sizeof *f);
    f->upstream = upstream;
    snprintf(f->epoch, sizeof f->epoch, "%s", epoch);
    f->seq0 = seq0;
    f->rate = rate;
    f->seconds = seconds;
    pthread_mutex_init(&f->mu, NULL);
    if (!(f->mk = calloc(1, sizeof *f->mk)))
        return -1;
    market_init(f->mk, ws);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->lfd, 64) < 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &al) < 0) {
        perror("bench-scale flood");
        return -1;
    }
    struct timeval tv = {0, 100000}; /* accept() wakes every 100 ms to notice stop */
    setsockopt(f->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->acceptor, NULL, accept_main, f) == 0 ? 0 : -1;
}

void scale_flood_stop(scale_flood *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    tproc_pace(300); /* detached connection threads notice stop within 50 ms */
    pthread_mutex_lock(&f->mu);
    free(f->mk);
    f->mk = NULL;
    pthread_mutex_unlock(&f->mu);
}
