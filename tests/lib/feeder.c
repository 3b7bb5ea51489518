/* feeder.c: a small SSE feeder for the console benchmarks; see feeder.h. */
#include "tests/lib/feeder.h"
#include "tests/lib/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api/clock.h"

/* ---- small helpers ---------------------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

/* Appends formatted text (aborts on out of memory: a bench, not the product). */
static void add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(buf *b, const char *fmt, ...)
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
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
}

/* RFC 3339 UTC with milliseconds for now + offset_ms, into out[32]. */
static void rfc3339(int64_t offset_ms, char out[32])
{
    int64_t ms = clock_wall_ms() + offset_ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
}

#define EPOCH "b3nchf33d0000001"

/* Appends one agent object. */
static void j_agent(buf *b, int i, const char *at)
{
    add(b,
        "{\"id\":\"agt_%d\",\"version\":1,\"name\":\"%s-%d\",\"principal\":\"Sam Buyer\",\"role\":"
        "\"%s\",\"status\":\"active\",\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":5000000,"
        "\"per_deal_max_minor\":500000,\"approval_threshold_minor\":10000,\"max_quantity\":100},"
        "\"spent_minor\":0,\"mandate\":{\"categories\":[\"compute\",\"bikes\"]},\"addresses\":[\"1 "
        "Main St, Springfield\"],\"updated_at\":\"%s\"}",
        i, i % 2 ? "seller" : "buyer", i, i % 2 ? "seller" : "buyer", at);
}

static const char *const words[] = {"H100", "GPU",     "hours",  "bike",    "road",  "54cm",
                                    "API",  "credits", "lamp",   "vintage", "brass", "mint",
                                    "bulk", "block",   "tokens", "hybrid",  "Trek",  "FX"};

/* Appends a phrase of n words. */
static void phrase(buf *b, uint64_t *rng, int n)
{
    for (int i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        add(b, "%s%s", i ? " " : "", words[(*rng >> 33) % (sizeof words / sizeof words[0])]);
    }
}

/* Appends one listing (version v). */
static void j_listing(buf *b, int id, long long v, uint64_t *rng, const char *at)
{
    add(b, "{\"id\":\"lst_%d\",\"version\":%lld,\"seller_id\":\"agt_%d\",\"title\":\"", id, v,
        (id % 150) * 2 + 1);
    phrase(b, rng, 4);
    add(b, "\",\"description\":\"");
    phrase(b, rng, 18);
    add(b,
        "\",\"category\":\"compute\",\"unit_price_minor\":%d,\"currency\":\"USD\",\"quantity\":100,"
        "\"reference_price_minor\":1200,\"floor_minor\":900,\"status\":\"open\",\"created_at\":\"%"
        "s\","
        "\"updated_at\":\"%s\"}",
        1000 + id % 5000, at, at);
}

/* Appends one negotiation (version v). */
static void j_negotiation(buf *b, int id, long long v, int msgs, const char *at)
{
    add(b,
        "{\"id\":\"neg_%d\",\"version\":%lld,\"listing_id\":\"lst_%d\",\"buyer_id\":\"agt_%d\","
        "\"seller_id\":\"agt_%d\",\"status\":\"open\",\"terms\":{\"unit_price_minor\":%d,"
        "\"quantity\":10},\"agreed_terms\":null,\"cap\":null,\"currency\":\"USD\","
        "\"message_count\":%d,\"opened_at\":\"%s\",\"updated_at\":\"%s\"}",
        id, v, id, (id % 150) * 2, (id % 150) * 2 + 1, 1000 + id % 5000, msgs, at, at);
}

/* Appends one purchase; status "pending_approval" (decide_by in deadline_ms) or
 * "settled". */
static void j_purchase(buf *b, const char *id, long long v, bool pending, int64_t deadline_ms,
                       const char *at)
{
    char due[32];
    rfc3339(deadline_ms, due);
    add(b,
        "{\"id\":\"%s\",\"version\":%lld,\"negotiation_id\":\"neg_1\",\"listing_id\":\"lst_1\","
        "\"buyer_id\":\"agt_0\",\"seller_id\":\"agt_1\",\"unit_price_minor\":1250,\"quantity\":10,"
        "\"total_minor\":12500,\"currency\":\"USD\",\"ship_to\":\"1 Main St, Springfield\","
        "\"status\":\"%s\",\"flags\":[{\"rule\":\"overpay\",\"severity\":\"warning\",\"detail\":"
        "\"unit price above 1.5x the reference\"}],\"risk_score\":20,\"decide_by\":%s%s%s,"
        "\"default_on_timeout\":\"veto\",\"decision\":null,\"created_at\":\"%s\",\"updated_at\":"
        "\"%s\"}",
        id, v, pending ? "pending_approval" : "settled", pending ? "\"" : "",
        pending ? due : "null", pending ? "\"" : "", at, at);
}

/* Appends one message of a thread. */
static void j_message(buf *b, int neg, int seq, uint64_t *rng, const char *at)
{
    add(b,
        "{\"negotiation_id\":\"neg_%d\",\"seq\":%d,\"from\":\"agt_%d\",\"kind\":\"counter\","
        "\"unit_price_minor\":%d,\"quantity\":10,\"text\":\"",
        neg, seq, (neg % 150) * 2 + seq % 2, 1000 + seq);
    phrase(b, rng, 9);
    add(b, "\",\"at\":\"%s\"}", at);
}

/* Appends one ledger entry. */
static void j_ledger(buf *b, long long id, long long lseq, const char *at)
{
    add(b,
        "{\"id\":\"led_%lld\",\"seq\":%lld,\"kind\":\"settlement\",\"purchase_id\":\"pur_%lld\","
        "\"currency\":\"USD\",\"postings\":[{\"account\":\"agent:agt_%lld\",\"amount_minor\":-"
        "12500},"
        "{\"account\":\"agent:agt_%lld\",\"amount_minor\":12500}],\"at\":\"%s\"}",
        id, lseq, id, (id % 150) * 2, (id % 150) * 2 + 1, at);
}

/* Builds the snapshot of the feeder's mode. */
static void build_snapshot(feeder *f)
{
    buf b = {0};
    char at[32];
    rfc3339(-60000, at);
    uint64_t rng = 7;
    int npend = f->mode == FEEDER_IDLE ? 5 : (f->mode == FEEDER_FLOOD ? 0 : 1);
    f->snap_seq = 1000000;
    add(&b,
        "{\"epoch\":\"" EPOCH "\",\"seq\":%lld,\"fleet\":{\"status\":\"running\",\"reason\":null,"
        "\"by\":null,\"updated_at\":\"%s\"},\"agents\":[",
        f->snap_seq, at);
    for (int i = 0; i < 300; i++) {
        if (i)
            add(&b, ",");
        j_agent(&b, i, at);
    }
    add(&b, "],\"listings\":[");
    for (int i = 0; i < f->nlist; i++) {
        if (i)
            add(&b, ",");
        j_listing(&b, i, 1, &rng, at);
    }
    add(&b, "],\"negotiations\":[");
    for (int i = 0; i < f->nneg; i++) {
        if (i)
            add(&b, ",");
        j_negotiation(&b, i, 1, 0, at);
    }
    add(&b, "],\"purchases\":[");
    for (int i = 0; i < npend; i++) {
        char id[32];
        snprintf(id, sizeof id, "pur_snap%d", i);
        if (i)
            add(&b, ",");
        j_purchase(&b, id, 1, true, 3600000 - i * 60000, at);
    }
    add(&b, "],\"alerts\":[],\"ledger\":{\"entries\":[");
    for (int i = 0; i < 1000; i++) {
        if (i)
            add(&b, ",");
        j_ledger(&b, i + 1, i + 1, at);
    }
    add(&b, "],\"balances\":{");
    for (int i = 0; i < 300; i++)
        add(&b, "%s\"agent:agt_%d\":%d", i ? "," : "", i, i % 2 ? 100000 : -100000);
    add(&b, "}},\"decisions\":[]}");
    f->snap = b.s;
    f->snaplen = b.len;
}

/* Appends one SSE event holding data (a JSON object) of type at seq. */
static void sse_event(buf *b, long long seq, const char *type, const char *data, const char *at)
{
    add(b,
        "id: " EPOCH ":%lld\nevent: %s\ndata: {\"seq\":%lld,\"type\":\"%s\",\"at\":\"%s\","
        "\"data\":%s}\n\n",
        seq, type, seq, type, at, data);
}

/* Appends the flood's next event (a live market's mix) or a marker. */
static void flood_event(feeder *f, buf *b, long long seq, long i, uint64_t *rng, const char *at)
{
    buf d = {0};
    const char *type;
    if (i % FEEDER_MARK_EVERY == FEEDER_MARK_EVERY - 1) {
        int k = atomic_load(&f->marks);
        char id[32];
        snprintf(id, sizeof id, "pur_m%06d", k);
        j_purchase(&d, id, 1, true, 600000 - k * 10, at);
        sse_event(b, seq, "purchase.updated", d.s, at);
        if (k < FEEDER_MAX_MARKS)
            f->mark_at[k] = tproc_now_s();
        atomic_store(&f->marks, k + 1);
        free(d.s);
        return;
    }
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned r = (unsigned)(*rng >> 40) % 100;
    int id = (int)((*rng >> 8) % (uint64_t)f->nneg);
    if (r < 40) {
        type = "negotiation.message";
        j_message(&d, id, (int)(seq % 1000000000), rng, at);
    } else if (r < 65) {
        type = "negotiation.updated";
        j_negotiation(&d, id, seq, 5, at);
    } else if (r < 75) {
        type = "listing.updated";
        j_listing(&d, id, seq, rng, at);
    } else if (r < 85) {
        char pid[32];
        snprintf(pid, sizeof pid, "pur_%d", id);
        type = "purchase.updated";
        j_purchase(&d, pid, seq, false, 0, at);
    } else if (r < 90) {
        type = "alert.updated";
        add(&d,
            "{\"id\":\"alr_%d\",\"version\":%lld,\"severity\":\"warning\",\"rule\":\"overpay\","
            "\"subject\":{\"kind\":\"purchase\",\"id\":\"pur_%d\"},\"message\":\"",
            id, seq, id);
        phrase(&d, rng, 7);
        add(&d, "\",\"status\":\"open\",\"acked_by\":null,\"at\":\"%s\",\"updated_at\":\"%s\"}", at,
            at);
    } else if (r < 95) {
        type = "ledger.posted";
        j_ledger(&d, seq, seq, at);
    } else {
        type = "agent.updated";
        buf a = {0};
        j_agent(&a, id % 300, at);
        /* version: newer each time */
        char *v = strstr(a.s, "\"version\":1,");
        add(&d, "%.*s\"version\":%lld,%s", (int)(v - a.s), a.s, seq, v + strlen("\"version\":1,"));
        free(a.s);
    }
    sse_event(b, seq, type, d.s, at);
    free(d.s);
}

/* The event stream: the mode's script, then heartbeats until the feeder stops. */
static void serve_events(feeder *f, int fd)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: "
                       "no-store\r\nConnection: close\r\n\r\nretry: 2000\n\n";
    if (tproc_send_all(fd, head, strlen(head)) != 0)
        return;
    atomic_fetch_add(&f->streams, 1);
    while (!atomic_load(&f->go) && !atomic_load(&f->stop))
        tproc_pace(2);
    long long seq = f->snap_seq;
    uint64_t rng = 99;
    char at[32];
    buf b = {0};
    f->script_start = tproc_now_s();
    if (f->mode == FEEDER_FLOOD) {
        long total = (long)(f->rate * f->seconds), i = 0;
        while (i < total && !atomic_load(&f->stop)) {
            long want = (long)((tproc_now_s() - f->script_start) * f->rate);
            if (want > total)
                want = total;
            b.len = 0;
            rfc3339(0, at);
            /* at most ~1 MB a round: an unpaced flood (bench_tail) stays bounded */
            for (; i < want && b.len < (1 << 20); i++)
                flood_event(f, &b, ++seq, i, &rng, at);
            if (b.len && tproc_send_all(fd, b.s, b.len) != 0)
                goto out;
            atomic_store(&f->sent, i);
            tproc_pace(1);
        }
    } else if (f->mode == FEEDER_BULK) {
        rfc3339(0, at);
        long n = 0;
        for (int t = 0; t < f->nneg && !atomic_load(&f->stop); t++) {
            for (int m = 1; m <= 10; m++) {
                buf d = {0};
                j_message(&d, t, m, &rng, at);
                sse_event(&b, ++seq, "negotiation.message", d.s, at);
                free(d.s);
                n++;
            }
            if (b.len > (1 << 20)) {
                if (tproc_send_all(fd, b.s, b.len) != 0)
                    goto out;
                b.len = 0;
                atomic_store(&f->sent, n);
            }
        }
        buf d = {0};
        j_purchase(&d, "pur_bulk2", 1, true, 3000000, at);
        sse_event(&b, ++seq, "purchase.updated", d.s, at);
        d.len = 0;
        f->bulk_msgs_done = tproc_now_s();
        for (long l = 0; l < 1000000 && !atomic_load(&f->stop); l++) {
            d.len = 0;
            j_ledger(&d, 1001 + l, 1001 + l, at);
            sse_event(&b, ++seq, "ledger.posted", d.s, at);
            n++;
            if (b.len > (1 << 20)) {
                if (tproc_send_all(fd, b.s, b.len) != 0)
                    goto out;
                b.len = 0;
                atomic_store(&f->sent, n);
            }
        }
        d.len = 0;
        j_purchase(&d, "pur_bulk3", 1, true, 3000000, at);
        sse_event(&b, ++seq, "purchase.updated", d.s, at);
        free(d.s);
        if (tproc_send_all(fd, b.s, b.len) != 0)
            goto out;
        atomic_store(&f->sent, n);
    }
    f->script_end = tproc_now_s();
    atomic_store(&f->script_done, 1);
    /* idle: a heartbeat every 15 s, as marketd's default --heartbeat */
    double last = tproc_now_s();
    while (!atomic_load(&f->stop)) {
        tproc_pace(50);
        if (tproc_now_s() - last >= 15) {
            if (tproc_send_all(fd, ": hb\n\n", 6) != 0)
                break;
            last = tproc_now_s();
        }
    }
out:
    free(b.s);
}

typedef struct conn_arg {
    feeder *f;
    int fd;
} conn_arg;

/* Serves one connection (a thread). */
static void *serve_conn(void *arg)
{
    conn_arg *ca = arg;
    feeder *f = ca->f;
    int fd = ca->fd;
    free(ca);
    char req[8192];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    char method[16] = "", path[1024] = "";
    sscanf(req, "%15s %1023s", method, path);
    char head[256], body[256];
    const char *payload = body;
    size_t plen;
    if (strncmp(path, "/v1/events", 10) == 0) {
        serve_events(f, fd);
        close(fd);
        return NULL;
    } else if (strcmp(path, "/v1/snapshot") == 0) {
        payload = f->snap;
        plen = f->snaplen;
    } else if (strcmp(path, "/v1/whoami") == 0) {
        plen = (size_t)snprintf(body, sizeof body, "{\"name\":\"bench\",\"role\":\"supervisor\"}");
    } else if (strcmp(path, "/v1/health") == 0) {
        plen = (size_t)snprintf(body, sizeof body,
                                "{\"status\":\"ok\",\"epoch\":\"" EPOCH "\",\"seq\":%lld}",
                                f->snap_seq);
    } else {
        plen = (size_t)snprintf(
            body, sizeof body, "{\"error\":\"not_found\",\"message\":\"not in the bench feeder\"}");
    }
    int hl = snprintf(
        head, sizeof head,
        "HTTP/1.1 %s\r\nContent-Type: application/json\r\nCache-Control: "
        "no-store\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
        payload == body && strncmp(body, "{\"error\"", 8) == 0 ? "404 Not Found" : "200 OK", plen);
    if (tproc_send_all(fd, head, (size_t)hl) == 0)
        tproc_send_all(fd, payload, plen);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

/* Accepts connections until the feeder stops. */
static void *accept_main(void *arg)
{
    feeder *f = arg;
    while (!atomic_load(&f->stop)) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                tproc_pace(5);
                continue;
            }
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_arg *ca = malloc(sizeof *ca);
        if (!ca)
            abort();
        ca->f = f;
        ca->fd = fd;
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, serve_conn, ca) != 0) {
            close(fd);
            free(ca);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

int feeder_start(feeder *f, feeder_mode mode, int nlist, int nneg)
{
    memset(f, 0, sizeof *f);
    f->mode = mode;
    f->nlist = nlist;
    f->nneg = nneg;
    f->rate = 5000;
    f->seconds = 30;
    build_snapshot(f);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->lfd, 64) < 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &al) < 0) {
        perror("bench feeder");
        return -1;
    }
    /* accept() wakes every 100 ms to notice stop */
    struct timeval tv = {0, 100000};
    setsockopt(f->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->acceptor, NULL, accept_main, f) == 0 ? 0 : -1;
}

void feeder_stop(feeder *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    tproc_pace(200); /* detached connection threads notice stop within 50 ms */
    free(f->snap);
    f->snap = NULL;
}
