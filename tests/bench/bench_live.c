/* bench_live.c: the real console (build/dealdesk) in a 120x40 pseudo-terminal, fed by a
 * small SSE feeder in this process that serves /v1/health, /v1/whoami, /v1/snapshot and
 * /v1/events as docs/api.md describes, at an exact rate.
 *
 *   flood    5,000 events/s for 30 s (a live market's mix): the console's CPU share of
 *            one core (/proc/PID/task/x/schedstat), frames per second (write() calls to
 *            drawn, from the console's opt-in DEALDESK_STATS_FILE), bytes
 *            written to the terminal per second, and the delay from a marked event's
 *            send to its appearance on screen (p50/p99). Every 250th event is a new
 *            purchase pending approval; the header's "N pending" counts them, so marker k
 *            is on screen once the header says k or more.
 *   idle     60 s connected with no events, 5 purchases pending (countdowns on screen):
 *            CPU time, bytes and frames.
 *   bulk     start-up with a snapshot of 100,000 listings and 100,000 threads (time to
 *            the first frame, and to the first full frame with the snapshot), then
 *            1,000,000 messages (10 per thread) and 1,000,000 ledger entries through the
 *            stream: resident memory (VmRSS) after each, as bytes per object.
 *
 * Prints human lines and machine lines "BENCH|section|metric|value|unit|goal|verdict".
 * Usage: bench_live [flood|idle|bulk]... (default all three). Needs DEALDESK_BIN
 * (default build/dealdesk) and TEST_TMP (default /tmp).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/vt.h"

#define ROWS 40
#define COLS 120

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

/* Monotonic seconds. */
static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps ms milliseconds (pacing the feeder, not synchronising). */
static void nap_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000),
                          (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

/* RFC 3339 UTC with milliseconds for now + offset_ms, into out[32]. */
static void rfc3339(int64_t offset_ms, char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000 + 1000) % 1000);
}

/* One machine-readable figure. */
static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v[n]. */
static double quantile(const double *v, size_t n, double q)
{
    if (!n)
        return -1;
    size_t i = (size_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}

/* ---- /proc readings of the console -------------------------------------------------- */

/* CPU time of every thread of pid in ns (schedstat: time on a CPU). */
static double cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double sum = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        unsigned long long run = 0;
        if (f) {
            if (fscanf(f, "%llu", &run) == 1)
                sum += (double)run;
            fclose(f);
        }
    }
    if (d)
        closedir(d);
    return sum;
}

/* A field of /proc/PID/io ("syscw", "wchar"). */
static long long proc_io(pid_t pid, const char *key)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = atoll(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

/* VmRSS of pid in bytes. */
static long long rss_bytes(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atoll(line + 6);
    if (f)
        fclose(f);
    return kb * 1024;
}

/* ---- the feeder ----------------------------------------------------------------------- */

enum { MODE_FLOOD, MODE_IDLE, MODE_BULK, MODE_EMPTY };

#define MARK_EVERY 250 /* flood: every 250th event (50 ms at 5,000/s) is a marker */
#define MAX_MARKS  4096

typedef struct feeder {
    int mode;
    int lfd, port;
    pthread_t acceptor;
    atomic_int stop;
    atomic_int go; /* the stream starts its script when set */
    char *snap;    /* the snapshot body (owned) */
    size_t snaplen;
    long long snap_seq;
    int nlist, nneg;  /* objects in the snapshot */
    double rate;      /* flood: events per second */
    double seconds;   /* flood: how long */
    atomic_long sent; /* events written to the stream */
    atomic_int marks; /* markers written */
    double mark_at[MAX_MARKS];
    atomic_int script_done; /* the stream's script is over */
    atomic_int streams;     /* event streams opened */
    double script_start, script_end;
    double bulk_msgs_done; /* bulk: when the messages were all written */
} feeder;

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
    int npend = f->mode == MODE_IDLE ? 5 : (f->mode == MODE_FLOOD ? 0 : 1);
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

/* Writes all of b to fd; false when the peer went away. */
static bool send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
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
    if (i % MARK_EVERY == MARK_EVERY - 1) {
        int k = atomic_load(&f->marks);
        char id[32];
        snprintf(id, sizeof id, "pur_m%06d", k);
        j_purchase(&d, id, 1, true, 600000 - k * 10, at);
        sse_event(b, seq, "purchase.updated", d.s, at);
        if (k < MAX_MARKS)
            f->mark_at[k] = mono();
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
    if (!send_all(fd, head, strlen(head)))
        return;
    atomic_fetch_add(&f->streams, 1);
    while (!atomic_load(&f->go) && !atomic_load(&f->stop))
        nap_ms(2);
    long long seq = f->snap_seq;
    uint64_t rng = 99;
    char at[32];
    buf b = {0};
    f->script_start = mono();
    if (f->mode == MODE_FLOOD) {
        long total = (long)(f->rate * f->seconds), i = 0;
        while (i < total && !atomic_load(&f->stop)) {
            long want = (long)((mono() - f->script_start) * f->rate);
            if (want > total)
                want = total;
            b.len = 0;
            rfc3339(0, at);
            for (; i < want; i++)
                flood_event(f, &b, ++seq, i, &rng, at);
            if (b.len && !send_all(fd, b.s, b.len))
                goto out;
            atomic_store(&f->sent, i);
            nap_ms(1);
        }
    } else if (f->mode == MODE_BULK) {
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
                if (!send_all(fd, b.s, b.len))
                    goto out;
                b.len = 0;
                atomic_store(&f->sent, n);
            }
        }
        buf d = {0};
        j_purchase(&d, "pur_bulk2", 1, true, 3000000, at);
        sse_event(&b, ++seq, "purchase.updated", d.s, at);
        d.len = 0;
        f->bulk_msgs_done = mono();
        for (long l = 0; l < 1000000 && !atomic_load(&f->stop); l++) {
            d.len = 0;
            j_ledger(&d, 1001 + l, 1001 + l, at);
            sse_event(&b, ++seq, "ledger.posted", d.s, at);
            n++;
            if (b.len > (1 << 20)) {
                if (!send_all(fd, b.s, b.len))
                    goto out;
                b.len = 0;
                atomic_store(&f->sent, n);
            }
        }
        d.len = 0;
        j_purchase(&d, "pur_bulk3", 1, true, 3000000, at);
        sse_event(&b, ++seq, "purchase.updated", d.s, at);
        free(d.s);
        if (!send_all(fd, b.s, b.len))
            goto out;
        atomic_store(&f->sent, n);
    }
    f->script_end = mono();
    atomic_store(&f->script_done, 1);
    /* idle: a heartbeat every 15 s, as marketd's default --heartbeat */
    double last = mono();
    while (!atomic_load(&f->stop)) {
        nap_ms(50);
        if (mono() - last >= 15) {
            if (!send_all(fd, ": hb\n\n", 6))
                break;
            last = mono();
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
    if (send_all(fd, head, (size_t)hl))
        send_all(fd, payload, plen);
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
                nap_ms(5);
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

/* Starts a feeder on a free loopback port. Returns 0 or -1. */
static int feeder_start(feeder *f, int mode, int nlist, int nneg)
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

/* Stops the feeder (streams end within ~50 ms) and frees it. */
static void feeder_stop(feeder *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->acceptor, NULL);
    close(f->lfd);
    nap_ms(200); /* detached connection threads notice stop within 50 ms */
    free(f->snap);
    f->snap = NULL;
}

/* ---- the console ---------------------------------------------------------------------- */

static char stats_path[600];

/* Frames drawn and events applied so far, from the console's DEALDESK_STATS_FILE. */
static void console_stats(long long *frames, long long *events)
{
    *frames = *events = -1;
    FILE *fp = fopen(stats_path, "r");
    if (fp) {
        if (fscanf(fp, "frames %lld events %lld", frames, events) != 2)
            *frames = *events = -1;
        fclose(fp);
    }
}

/* Starts dealdesk in a 120x40 pty against the feeder. */
static vt *console_start(const feeder *f)
{
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char tok[600], url[64];
    snprintf(tok, sizeof tok, "%s/bench-token", tmp);
    int fd = open(tok, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "bench-token-0123456789\n", 23) != 23) {
        perror(tok);
        return NULL;
    }
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    const char *argv[] = {bin, "--url", url, "--token-file", tok, NULL};
    char stats_env[640];
    snprintf(stats_path, sizeof stats_path, "%s/bench-stats", tmp);
    unlink(stats_path);
    snprintf(stats_env, sizeof stats_env, "DEALDESK_STATS_FILE=%s", stats_path);
    const char *env[] = {"TERM=xterm-256color", "DEALDESK_URL=", "DEALDESK_TOKEN=", stats_env,
                         NULL};
    return vt_spawn(ROWS, COLS, argv, env);
}

/* The header's "N pending" count, or -1 when not on screen. */
static long header_pending(vt *t)
{
    char row[4096];
    vt_row(t, 1, row, sizeof row);
    char *p = strstr(row, " pending");
    if (!p)
        return -1;
    char *q = p;
    while (q > row && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q == p ? -1 : atol(q);
}

typedef struct want_pending {
    long n;
} want_pending;

static bool pending_at_least(vt *t, void *ud)
{
    return header_pending(t) >= ((want_pending *)ud)->n;
}

/* Waits until the console has opened the event stream. */
static bool stream_open(const feeder *f, int timeout_ms)
{
    double end = mono() + timeout_ms / 1000.0;
    while (mono() < end) {
        if (atomic_load(&f->streams) > 0)
            return true;
        nap_ms(5);
    }
    return false;
}

/* Quits the console with q and frees it. */
static void console_quit(vt *t)
{
    vt_send(t, "q");
    if (vt_wait_exit(t, 5000) < 0)
        fprintf(stderr, "bench: dealdesk did not exit on q\n");
    vt_free(t);
}

/* ---- the scenarios ---------------------------------------------------------------------- */

/* 5,000 events/s for 30 s. */
static int run_flood(void)
{
    feeder f;
    if (feeder_start(&f, MODE_FLOOD, 20000, 20000) < 0)
        return -1;
    vt *t = console_start(&f);
    want_pending w0 = {0};
    if (!t || !vt_wait(t, pending_at_least, &w0, 20000) || !stream_open(&f, 20000)) {
        fprintf(stderr, "bench flood: the console did not come up\n");
        if (t)
            vt_dump(t, "flood");
        feeder_stop(&f);
        return -1;
    }
    vt_wait_quiet(t, 300, 3000);
    pid_t pid = vt_pid(t);
    vt_clear_output(t);
    double c0 = cpu_ns(pid);
    long long w0c, ev0, w1c = 0, ev1 = 0;
    console_stats(&w0c, &ev0);
    long long wb0 = proc_io(pid, "wchar");
    double t0 = mono();
    atomic_store(&f.go, 1);
    double *delay = calloc(MAX_MARKS, sizeof *delay);
    long seen = 0;
    long long bytes = 0;
    double c1 = 0, t1 = 0;
    long long wb1 = 0;
    bool window_done = false;
    for (;;) {
        long r = vt_pump(t, 10);
        if (r < 0)
            break;
        bytes += window_done ? 0 : r;
        double now = mono();
        long shown = header_pending(t);
        int marks = atomic_load(&f.marks);
        for (; seen < shown && seen < marks && seen < MAX_MARKS; seen++)
            delay[seen] = (now - f.mark_at[seen]) * 1000.0;
        size_t cap;
        vt_output(t, &cap);
        if (cap > (8u << 20))
            vt_clear_output(t);
        if (!window_done && now - t0 >= f.seconds) {
            c1 = cpu_ns(pid);
            console_stats(&w1c, &ev1);
            wb1 = proc_io(pid, "wchar");
            t1 = now;
            window_done = true;
        }
        if (window_done && (seen >= marks || now - t1 > 5))
            break;
    }
    double secs = t1 - t0;
    long sent = atomic_load(&f.sent);
    int marks = atomic_load(&f.marks);
    double cpu_share = (c1 - c0) / 1e9 / secs * 100.0;
    double fps = (double)(w1c - w0c) / secs;
    qsort(delay, (size_t)seen, sizeof *delay, cmp_d);
    double p50 = quantile(delay, (size_t)seen, 0.50), p99 = quantile(delay, (size_t)seen, 0.99);
    char footer[4096];
    vt_row(t, ROWS - 1, footer, sizeof footer);
    printf("flood: %ld events sent in %.1f s (%.0f/s) to dealdesk at %dx%d; markers %d sent, %ld "
           "seen\n",
           sent, f.script_end > 0 ? f.script_end - f.script_start : secs,
           (double)sent / (f.script_end > 0 ? f.script_end - f.script_start : secs), COLS, ROWS,
           marks, seen);
    printf("flood: CPU %.2f s of %.1f s = %.1f%% of one core; %.1f frames/s; %lld events applied "
           "(%.0f/s); %.0f bytes/s to the terminal (pty read %lld, wchar %lld)\n",
           (c1 - c0) / 1e9, secs, cpu_share, fps, ev1 - ev0, (double)(ev1 - ev0) / secs,
           (double)bytes / secs, bytes, wb1 - wb0);
    printf("flood: arrival-to-screen delay p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%ld)\n", p50,
           p99, seen ? delay[seen - 1] : -1.0, seen);
    bench_line("flood", "events fed", (double)sent / secs, "events/s", "5000/s for 30 s", "info");
    bench_line("flood", "console CPU", cpu_share, "% of a core", "< 15%",
               cpu_share < 15 ? "met" : "missed");
    bench_line("flood", "frames", fps, "frames/s", "<= 30", fps <= 30.5 ? "met" : "missed");
    bench_line("flood", "terminal output", (double)bytes / secs / 1024.0, "KiB/s", "-", "info");
    bench_line("flood", "delay p50", p50, "ms", "-", "info");
    bench_line("flood", "delay p99", p99, "ms", "< 100 ms",
               seen > 0 && p99 < 100 && seen >= marks - 1 ? "met" : "missed");
    free(delay);
    console_quit(t);
    feeder_stop(&f);
    return 0;
}

/* 60 s connected, nothing happening, 5 countdowns on screen. */
static int run_idle(void)
{
    feeder f;
    if (feeder_start(&f, MODE_IDLE, 20000, 20000) < 0)
        return -1;
    atomic_store(&f.go, 1);
    vt *t = console_start(&f);
    want_pending w5 = {5};
    if (!t || !vt_wait(t, pending_at_least, &w5, 20000) || !stream_open(&f, 20000) ||
        !vt_wait_text(t, "live", 20000)) {
        fprintf(stderr, "bench idle: the console did not come up\n");
        if (t)
            vt_dump(t, "idle");
        feeder_stop(&f);
        return -1;
    }
    vt_wait_quiet(t, 1500, 5000);
    pid_t pid = vt_pid(t);
    double secs = getenv("BENCH_IDLE_SECONDS") ? atof(getenv("BENCH_IDLE_SECONDS")) : 60;
    double c0 = cpu_ns(pid), t0 = mono();
    long long w0, e0, w1, e1;
    console_stats(&w0, &e0);
    long long bytes = 0;
    vt_clear_output(t);
    while (mono() - t0 < secs) {
        long r = vt_pump(t, 200);
        if (r < 0)
            break;
        bytes += r;
    }
    double el = mono() - t0, c1 = cpu_ns(pid);
    console_stats(&w1, &e1);
    double share = (c1 - c0) / 1e9 / el * 100.0;
    printf("idle: %.0f s connected, no events, 5 countdowns: CPU %.1f ms = %.3f%% of one core; "
           "%lld bytes written (%.0f bytes/s) in %lld frames (%.2f/s)\n",
           el, (c1 - c0) / 1e6, share, bytes, (double)bytes / el, w1 - w0, (double)(w1 - w0) / el);
    bench_line("idle", "console CPU", share, "% of a core", "< 0.1%",
               share < 0.1 ? "met" : "missed");
    bench_line("idle", "CPU time", (c1 - c0) / 1e6, "ms/60s", "-", "info");
    bench_line("idle", "terminal output", (double)bytes / el, "bytes/s", "countdowns only", "info");
    bench_line("idle", "frames", (double)(w1 - w0) / el, "frames/s", "1/s (countdowns)",
               (double)(w1 - w0) / el <= 1.1 ? "met" : "missed");
    console_quit(t);
    feeder_stop(&f);
    return 0;
}

/* Resident memory of a console that has applied a snapshot with one pending purchase. */
static long long rss_empty(void)
{
    feeder f;
    if (feeder_start(&f, MODE_EMPTY, 0, 0) < 0)
        return -1;
    vt *t = console_start(&f);
    want_pending w1 = {1};
    long long r = -1;
    if (t && vt_wait(t, pending_at_least, &w1, 20000)) {
        vt_wait_quiet(t, 500, 3000);
        r = rss_bytes(vt_pid(t));
    }
    if (t)
        console_quit(t);
    feeder_stop(&f);
    return r;
}

/* Start-up with 100k listings and 100k threads, then 1M messages and 1M ledger entries. */
static int run_bulk(void)
{
    long long r0 = rss_empty();
    feeder f;
    double b0 = mono();
    if (feeder_start(&f, MODE_BULK, 100000, 100000) < 0)
        return -1;
    printf("bulk: snapshot of %d listings, %d threads, 300 agents, 1000 ledger entries: %.1f MB "
           "JSON (built in %.1f s)\n",
           f.nlist, f.nneg, (double)f.snaplen / 1e6, mono() - b0);
    double t0 = mono();
    vt *t = console_start(&f);
    if (!t || !vt_wait_text(t, "dealdesk", 20000)) {
        feeder_stop(&f);
        return -1;
    }
    double first = mono() - t0;
    want_pending w = {1};
    if (!vt_wait(t, pending_at_least, &w, 60000)) {
        vt_dump(t, "bulk");
        console_quit(t);
        feeder_stop(&f);
        return -1;
    }
    double full = mono() - t0;
    vt_wait_quiet(t, 500, 5000);
    pid_t pid = vt_pid(t);
    long long r1 = rss_bytes(pid);
    atomic_store(&f.go, 1);
    double s0 = mono();
    w.n = 2;
    bool ok2 = vt_wait(t, pending_at_least, &w, 180000);
    double s1 = mono();
    vt_wait_quiet(t, 300, 3000);
    long long r2 = rss_bytes(pid);
    w.n = 3;
    bool ok3 = ok2 && vt_wait(t, pending_at_least, &w, 180000);
    double s2 = mono();
    vt_wait_quiet(t, 300, 3000);
    long long r3 = rss_bytes(pid);
    if (!ok3) {
        fprintf(stderr, "bench bulk: the console did not show the markers\n");
        vt_dump(t, "bulk");
    }
    printf("bulk: first frame %.3f s after start, first full frame with the snapshot %.3f s\n",
           first, full);
    printf("bulk: RSS %.1f MB (empty store) -> %.1f MB (snapshot) -> %.1f MB (+1M messages in "
           "%.1f s) -> %.1f MB (+1M ledger entries in %.1f s)\n",
           (double)r0 / 1e6, (double)r1 / 1e6, (double)r2 / 1e6, s1 - s0, (double)r3 / 1e6,
           s2 - s1);
    double per_pair = (double)(r1 - r0) / 100000.0;
    double per_msg = (double)(r2 - r1) / 1e6, per_led = (double)(r3 - r2) / 1e6;
    double total_objs = 100000.0 + 100000.0 + 1e6 + 1e6;
    printf("bulk: %.0f bytes per listing+thread pair, %.0f per message, %.0f per ledger entry; "
           "%.0f per object over all %.0f\n",
           per_pair, per_msg, per_led, (double)(r3 - r0) / total_objs, total_objs);
    bench_line("startup", "first frame", first * 1000, "ms", "-", "info");
    bench_line("startup", "first full frame (100k listings+threads)", full * 1000, "ms",
               "< 1000 ms", full < 1.0 ? "met" : "missed");
    bench_line("memory", "RSS, all loaded", (double)r3 / 1048576.0, "MiB",
               "100k listings, 100k threads x 10 msgs, 1M ledger", "info");
    bench_line("memory", "per listing+thread", per_pair, "bytes", "-", "info");
    bench_line("memory", "per message", per_msg, "bytes", "-", "info");
    bench_line("memory", "per ledger entry", per_led, "bytes", "-", "info");
    bench_line("memory", "per object (all)", (double)(r3 - r0) / total_objs, "bytes", "-", "info");
    if (ok3) {
        bench_line("ingest", "console applying messages", 1e6 / (s1 - s0), "events/s",
                   "stream as fast as read", "info");
        bench_line("ingest", "console applying ledger", 1e6 / (s2 - s1), "events/s",
                   "stream as fast as read", "info");
    }
    console_quit(t);
    feeder_stop(&f);
    return ok3 ? 0 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    for (int i = 1; i <= (argc > 1 ? argc - 1 : 3); i++) {
        const char *what = argc > 1 ? argv[i] : (i == 1 ? "flood" : i == 2 ? "idle" : "bulk");
        if (strcmp(what, "flood") == 0)
            rc |= run_flood() != 0;
        else if (strcmp(what, "idle") == 0)
            rc |= run_idle() != 0;
        else if (strcmp(what, "bulk") == 0)
            rc |= run_bulk() != 0;
        else {
            fprintf(stderr, "usage: bench_live [flood|idle|bulk]...\n");
            return 2;
        }
    }
    return rc;
}
