/* bench_abuse.c: marketd under a hostile network, with its default limits (issue 11,
 * item 7), on loopback.
 *
 *   attack     10,000 TCP connections opened and held without a byte sent, from 20
 *              loopback addresses (127.0.0.2 and up, 500 each), then 3,000 event streams
 *              of one viewer token that never read (127.0.0.50 and up), while a seller
 *              posts 4 KB listings (events the streams fall behind on)
 *   measured   meanwhile, from 127.0.0.1: GET /v1/health every 50 ms and a supervisor's
 *              approvals one after another: latency p50/p99/max and failures; marketd's
 *              resident memory (VmRSS) before, at its peak and after; what the limits
 *              did (/metrics marketd_limited_total)
 *
 * Prints the figures, and BENCH| lines for tests/bench/run.sh's table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define CONN_ADDRS    20
#define CONNS_PER     500
#define STREAMS       3000
#define STREAM_ADDRS  30
#define DECISIONS_MAX 400
#define ATTACK_S      45 /* past the default --stream-stall (30 s) */

static testsrv srv;
static testsrv_market mkt;
static atomic_bool stop;
static atomic_long conn_ok, conn_failed, streams_sent;

/* A non-blocking connection from src to the server (the handshake completes in the
 * kernel's backlog), or -1. */
static int dial_from(const char *src, bool small_window)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (small_window) {
        int small = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* marketd's VmRSS in kB, or -1. */
static long rss_kb(void)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
    if (tproc_slurp(path, text, sizeof text) <= 0)
        return -1;
    const char *p = strstr(text, "VmRSS:");
    return p ? atol(p + 6) : -1;
}

/* The attack: the connection flood, then the unread streams. Keeps every descriptor
 * until the end (the server closes what its limits close). */
static void *attack_main(void *arg)
{
    int *fds = arg;
    int n = 0;
    for (int a = 0; a < CONN_ADDRS && !atomic_load(&stop); a++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", 2 + a);
        for (int i = 0; i < CONNS_PER; i++) {
            int fd = dial_from(src, false);
            if (fd >= 0)
                atomic_fetch_add(&conn_ok, 1), fds[n++] = fd;
            else
                atomic_fetch_add(&conn_failed, 1);
        }
    }
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_VIEW1);
    for (int i = 0; i < STREAMS && !atomic_load(&stop); i++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", 50 + i % STREAM_ADDRS);
        int fd = dial_from(src, true);
        if (fd < 0)
            continue;
        if (tproc_send_all(fd, req, strlen(req)) == 0)
            atomic_fetch_add(&streams_sent, 1);
        fds[n++] = fd;
    }
    fds[n] = -1;
    return NULL;
}

/* A seller posting 4 KB listings about 20 times a second: events for the streams. */
static void *events_main(void *arg)
{
    (void)arg;
    static char body[4400];
    char desc[4001];
    memset(desc, 'x', 4000);
    desc[4000] = '\0';
    for (int i = 0; !atomic_load(&stop); i++) {
        snprintf(body, sizeof body,
                 "{\"title\":\"abuse %d\",\"description\":\"%s\",\"category\":\"bikes\","
                 "\"unit_price_minor\":100,\"currency\":\"USD\",\"quantity\":1}",
                 i, desc);
        testhttp_resp r = {0};
        testsrv_post(&srv, mkt.seller_token, "/v1/listings", 0, body, &r);
        testhttp_resp_free(&r);
        tproc_pace(50);
    }
    return NULL;
}

typedef struct probe {
    double ms[4000];
    int n, failed;
    long rss_peak;
} probe;

/* Health every 50 ms from 127.0.0.1, and marketd's RSS. */
static void *health_main(void *arg)
{
    probe *p = arg;
    while (!atomic_load(&stop) && p->n < 4000) {
        testhttp_resp r = {0};
        double t0 = tproc_now_s();
        int rc = testsrv_get(&srv, NULL, "/v1/health", &r);
        double ms = (tproc_now_s() - t0) * 1e3;
        if (rc == 0 && r.status == 200)
            p->ms[p->n++] = ms;
        else
            p->failed++;
        testhttp_resp_free(&r);
        long kb = rss_kb();
        if (kb > p->rss_peak)
            p->rss_peak = kb;
        tproc_pace(50);
    }
    return NULL;
}

/* Prints p50/p99/max of n samples (sorted here) as a line and BENCH lines. */
static void report(const char *what, double *v, int n, int failed, const char *goal)
{
    qsort(v, (size_t)n, sizeof *v, tproc_cmp_double);
    double p50 = tproc_quantile(v, (size_t)n, 0.5), p99 = tproc_quantile(v, (size_t)n, 0.99);
    double mx = n ? v[n - 1] : -1;
    printf("%s under attack: %d answered, %d failed: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what,
           n, failed, p50, p99, mx);
    printf("BENCH|abuse|%s p50|%.3f|ms|-|info\n", what, p50);
    printf("BENCH|abuse|%s p99|%.3f|ms|%s|%s\n", what, p99, goal,
           failed == 0 && p99 < 100 ? "met" : "missed");
    printf("BENCH|abuse|%s failures|%d|count|0|%s\n", what, failed, failed ? "missed" : "met");
}

/* The limited_total counter of limit name. */
static long long limited(const char *name)
{
    char m[96];
    snprintf(m, sizeof m, "marketd_limited_total{limit=\"%s\"}", name);
    return testsrv_metric(&srv, m);
}

int main(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (testsrv_start(&srv, NULL) != 0 || testsrv_market_setup(&srv, &mkt, 0) != 0) {
        fprintf(stderr, "bench_abuse: marketd did not start\n");
        return 1;
    }
    /* Pending purchases for the supervisor to approve during the attack. */
    static char pur[DECISIONS_MAX][72];
    int npur = 0;
    for (; npur < DECISIONS_MAX; npur++)
        if (testsrv_market_purchase(&srv, &mkt, 50000, 1, pur[npur]) != 0)
            break;
    long rss0 = rss_kb();
    printf("marketd before the attack: VmRSS %ld kB; %d pending purchases to approve\n", rss0,
           npur);

    int *fds = malloc(sizeof(int) * (CONN_ADDRS * CONNS_PER + STREAMS + 1));
    static probe hp;
    pthread_t at, et, ht;
    pthread_create(&ht, NULL, health_main, &hp);
    pthread_create(&et, NULL, events_main, NULL);
    pthread_create(&at, NULL, attack_main, fds);
    static double dec[DECISIONS_MAX];
    int nd = 0, dfail = 0;
    double t0 = tproc_now_s();
    for (int i = 0; i < npur && tproc_now_s() - t0 < ATTACK_S; i++) {
        char path[128];
        snprintf(path, sizeof path, "/v1/purchases/%.71s/approve", pur[i]);
        testhttp_resp r = {0};
        double d0 = tproc_now_s();
        int rc =
            testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, 1, "{\"expected_total_minor\":50000}", &r);
        double ms = (tproc_now_s() - d0) * 1e3;
        if (rc == 0 && r.status == 200)
            dec[nd++] = ms;
        else
            dfail++;
        testhttp_resp_free(&r);
        tproc_pace(100);
    }
    while (tproc_now_s() - t0 < ATTACK_S)
        tproc_nap(100);
    long long conns = testsrv_metric(&srv, "marketd_connections");
    long long sclients = testsrv_metric(&srv, "marketd_stream_clients");
    atomic_store(&stop, true);
    pthread_join(at, NULL);
    pthread_join(et, NULL);
    pthread_join(ht, NULL);
    long rss1 = rss_kb();

    printf("attack: %ld connections opened (%ld failed to open) from %d addresses, %ld "
           "stream requests sent from %d addresses, over %d s\n",
           atomic_load(&conn_ok), atomic_load(&conn_failed), CONN_ADDRS, atomic_load(&streams_sent),
           STREAM_ADDRS, ATTACK_S);
    printf("limits: %lld idle connections closed for newcomers, %lld newcomers refused, %lld "
           "closed at the header deadline, %lld streams refused (per token), %lld stalled "
           "streams closed; at the end %lld connections and %lld streams open\n",
           limited("conns_evicted"), limited("conns_refused"), limited("header_timeout"),
           limited("streams_per_token"), limited("stream_stall"), conns, sclients);
    report("health", hp.ms, hp.n, hp.failed, "< 100 ms");
    report("decision", dec, nd, dfail, "< 100 ms");
    printf("marketd VmRSS: %ld kB before, %ld kB at the peak, %ld kB at the end of the attack\n",
           rss0, hp.rss_peak, rss1);
    printf("BENCH|abuse|marketd RSS before|%ld|kB|-|info\n", rss0);
    printf("BENCH|abuse|marketd RSS peak under attack|%ld|kB|396 MB before the limits|%s\n",
           hp.rss_peak, hp.rss_peak < 100 * 1024 ? "met" : "missed");
    printf("BENCH|abuse|connections opened by the attack|%ld|count|10,000 attempts|info\n",
           atomic_load(&conn_ok));
    printf("BENCH|abuse|streams refused (per token)|%lld|count|of 3,000 unread|info\n",
           limited("streams_per_token"));
    for (int i = 0; fds[i] >= 0; i++)
        close(fds[i]);
    free(fds);
    testsrv_stop(&srv);
    return nd > 0 && hp.n > 0 ? 0 : 1;
}
