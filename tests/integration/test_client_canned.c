/* test_client_canned.c: the client against a scripted server (canned answers, the exact
 * requests checked), for the cases a well-behaved marketd rarely produces: duplicates,
 * an event outside the contract, a gap, a `reset`, an epoch change, a server `retry:`,
 * a 401 on the stream. The client runs in-process through its public API and the one
 * wait, as the console drives it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/client.h"
#include "tests/lib/proc.h"

#define AT "\"2026-11-26T10:02:11.345Z\""

/* One request as the server saw it. */
typedef struct seen {
    char path[256];
    char last_event_id[128];
    bool auth;
    int64_t at_ms;
} seen;

/* The scripted server: answer i is given to the i-th request on its path kind. */
typedef struct canned {
    int fd, port;
    pthread_t th;
    pthread_mutex_t mu;
    const char *const *snapshots; /* bodies for GET /v1/snapshot, in order */
    const char *const *streams;   /* SSE bodies for GET /v1/events, in order; a body
                                     starting with "HTTP/" is sent as is */
    size_t nsnap, nstream, isnap, istream;
    seen reqs[64];
    size_t nreqs;
} canned;

/* Serves one connection: reads the request head, answers, closes. */
static void serve(canned *c, int fd)
{
    char req[8192];
    size_t len = 0;
    while (len < sizeof req - 1) {
        ssize_t r = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    seen s = {.at_ms = tproc_now_ms()};
    sscanf(req, "%*s %255s", s.path);
    const char *lei = strstr(req, "\r\nLast-Event-ID: ");
    if (lei)
        sscanf(lei + 17, "%127[^\r]", s.last_event_id);
    s.auth = strstr(req, "\r\nAuthorization: Bearer canned-token\r\n") != NULL;
    const char *body = NULL, *ctype = "application/json";
    static const char notfound[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                                   "Connection: close\r\n\r\n{\"error\":\"not_found\","
                                   "\"message\":\"no whoami here\"}";
    pthread_mutex_lock(&c->mu);
    if (c->nreqs < 64)
        c->reqs[c->nreqs++] = s;
    if (!strncmp(s.path, "/v1/snapshot", 12) && c->isnap < c->nsnap)
        body = c->snapshots[c->isnap++];
    else if (!strncmp(s.path, "/v1/events", 10) && c->istream < c->nstream) {
        body = c->streams[c->istream++];
        ctype = "text/event-stream";
    } else
        body = notfound;
    pthread_mutex_unlock(&c->mu);
    if (!strncmp(body, "HTTP/", 5)) {
        tproc_send_all(fd, body, strlen(body));
        return;
    }
    char head[256];
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
             ctype);
    tproc_send_all(fd, head, strlen(head));
    tproc_send_all(fd, body, strlen(body));
}

static void *canned_main(void *ud)
{
    canned *c = ud;
    for (;;) {
        int fd = accept(c->fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        serve(c, fd);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}

/* Starts the server on a free loopback port. */
static void canned_start(canned *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(c->fd, 16), 0);
    socklen_t al = sizeof a;
    getsockname(c->fd, (struct sockaddr *)&a, &al);
    c->port = ntohs(a.sin_port);
    pthread_mutex_init(&c->mu, NULL);
    pthread_create(&c->th, NULL, canned_main, c);
}

static void canned_stop(canned *c)
{
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    pthread_join(c->th, NULL);
    pthread_mutex_destroy(&c->mu);
}

/* Runs the client until cond(c, cl) holds or ms pass; returns whether it held. */
static bool run_until(client *cl, canned *c, bool (*cond)(client *, canned *), int ms)
{
    int64_t deadline = tproc_now_ms() + ms;
    while (tproc_now_ms() < deadline) {
        client_wait(cl, NULL, 0, 50, NULL);
        client_run(cl);
        if (getenv("CANNED_DEBUG")) {
            static char last[256];
            client_status s;
            client_status_get(cl, &s);
            if (strcmp(last, s.last_error)) {
                fprintf(stderr, "  status: %s (seq %lld)\n", s.last_error, (long long)s.seq);
                snprintf(last, sizeof last, "%s", s.last_error);
            }
        }
        if (cond(cl, c))
            return true;
    }
    return false;
}

/* A listing event (its JSON data line) at seq with version. */
static char *listing_event(char *out, size_t size, const char *epoch, int seq, const char *id,
                           int version, const char *currency)
{
    snprintf(out, size,
             "id: %s:%d\nevent: listing.updated\ndata: {\"seq\":%d,\"type\":\"listing.updated\","
             "\"at\":" AT ",\"data\":{\"id\":\"%s\",\"version\":%d,\"seller_id\":\"agt_s\","
             "\"title\":\"t%d\",\"description\":null,\"category\":\"c\",\"unit_price_minor\":5,"
             "\"currency\":\"%s\",\"quantity\":1,\"reference_price_minor\":5,\"floor_minor\":"
             "null,\"status\":\"open\",\"created_at\":" AT ",\"updated_at\":" AT "}}\n\n",
             epoch, seq, seq, id, version, seq, currency);
    return out;
}

static const char snap1[] = "{\"epoch\":\"e1\",\"seq\":5,\"listings\":[]}";
static const char snap2[] = "{\"epoch\":\"e1\",\"seq\":20,\"listings\":[]}";
static const char snap3[] = "{\"epoch\":\"e2\",\"seq\":3,\"listings\":[]}";
static const char snap4[] = "{\"epoch\":\"e3\",\"seq\":30,\"listings\":[]}";

static bool snapshots_4(client *cl, canned *c)
{
    (void)c;
    client_status s;
    client_status_get(cl, &s);
    return s.snapshots >= 4 && s.seq == 31;
}

static void test_resync_rules(void **state)
{
    (void)state;
    char e6[1024], e7[1024], e7dup[1024], e8bad[1024], e9[1024], e11[1024], e21[1024], e4x[1024],
        e31[1024], s1[8192], s2[2048], s3[2048], s4[2048], s5[2048];
    listing_event(e6, sizeof e6, "e1", 6, "lst_a", 1, "USD");
    listing_event(e7, sizeof e7, "e1", 7, "lst_a", 2, "USD");
    listing_event(e7dup, sizeof e7dup, "e1", 7, "lst_a", 2, "USD");
    listing_event(e8bad, sizeof e8bad, "e1", 8, "lst_b", 1, "ZZZ"); /* not a currency */
    listing_event(e9, sizeof e9, "e1", 9, "lst_b", 1, "USD");
    listing_event(e11, sizeof e11, "e1", 11, "lst_c", 1, "USD"); /* a gap: 10 is missing */
    listing_event(e21, sizeof e21, "e1", 21, "lst_d", 1, "USD");
    listing_event(e4x, sizeof e4x, "e9", 4, "lst_e", 1, "USD"); /* another epoch */
    listing_event(e31, sizeof e31, "e3", 31, "lst_f", 1, "USD");
    /* 1: events, a duplicate, one outside the contract; then the server closes. */
    snprintf(s1, sizeof s1, "retry: 500\n\n: hb\n\n%s%s%s%s%s", e6, e7, e7dup, e8bad, e9);
    /* 2: a gap -> fresh snapshot (snap2). 3: a reset -> snapshot (snap3). 4: an event of
     * another epoch -> snapshot (snap4). 5: live again. */
    snprintf(s2, sizeof s2, "retry: 500\n\n%s", e11);
    snprintf(s3, sizeof s3, "%sevent: reset\ndata: {\"epoch\":\"e2\",\"seq\":3}\n\n", e21);
    snprintf(s4, sizeof s4, "%s", e4x);
    snprintf(s5, sizeof s5, "%s", e31);
    const char *snaps[] = {snap1, snap2, snap3, snap4};
    const char *streams[] = {s1, s2, s3, s4, s5};
    canned c = {.snapshots = snaps, .nsnap = 4, .streams = streams, .nstream = 5};
    canned_start(&c);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", c.port);
    snprintf(cfg.token, sizeof cfg.token, "canned-token");
    snprintf(cfg.journal_path, sizeof cfg.journal_path, "%s/canned-journal",
             getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp");
    store *st = store_new();
    char err[256];
    client *cl = client_new(&cfg, st, err, sizeof err);
    assert_non_null(cl);
    bool ok = run_until(cl, &c, snapshots_4, 20000);
    client_status s;
    client_status_get(cl, &s);
    if (!ok || getenv("CANNED_DEBUG")) {
        for (size_t i = 0; i < c.nreqs; i++)
            fprintf(stderr, "req %zu %s lei=%s\n", i, c.reqs[i].path, c.reqs[i].last_event_id);
        fprintf(stderr, "last error: %s; snapshots %llu seq %lld\n", s.last_error,
                (unsigned long long)s.snapshots, (long long)s.seq);
    }
    assert_true(ok);
    assert_int_equal(s.errors_decode, 1);
    assert_true(s.events_dropped >= 1);
    assert_string_equal(s.role, "unknown"); /* whoami: 404 */
    assert_string_equal(store_epoch(st), "e3");
    assert_non_null(store_listing(st, "lst_f"));
    assert_null(store_listing(st, "lst_b")); /* gone with the snapshot after the gap */
    /* The requests, in order. */
    pthread_mutex_lock(&c.mu);
    const char *want[] = {"/v1/snapshot",       "/v1/events?after=5",  "/v1/events?after=9",
                          "/v1/snapshot",       "/v1/events?after=20", "/v1/snapshot",
                          "/v1/events?after=3", "/v1/snapshot",        "/v1/events?after=30"};
    size_t w = 0;
    for (size_t i = 0; i < c.nreqs && w < sizeof want / sizeof want[0]; i++) {
        if (!strcmp(c.reqs[i].path, "/v1/whoami"))
            continue;
        assert_true(c.reqs[i].auth);
        if (strcmp(c.reqs[i].path, want[w]) != 0)
            fail_msg("request %zu: %s, expected %s", i, c.reqs[i].path, want[w]);
        if (w == 2) {
            /* The reconnection names the last applied event and honours retry: 500. */
            assert_string_equal(c.reqs[i].last_event_id, "e1:9");
            int64_t gap = c.reqs[i].at_ms - c.reqs[i - 1].at_ms;
            if (gap < 400 || gap > 2000)
                fail_msg("reconnected after %lld ms with retry: 500", (long long)gap);
        }
        w++;
    }
    assert_int_equal(w, sizeof want / sizeof want[0]);
    pthread_mutex_unlock(&c.mu);
    client_free(cl);
    store_free(st);
    config_free(&cfg);
    canned_stop(&c);
}

static bool offline(client *cl, canned *c)
{
    (void)c;
    client_status s;
    client_status_get(cl, &s);
    return s.state == CONN_OFFLINE;
}

/* 401 on the stream: the client stops, says why (sanitised), and does not hammer. */
static void test_unauthorized_stops(void **state)
{
    (void)state;
    const char *snaps[] = {snap1};
    const char *streams[] = {"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                             "Connection: close\r\n\r\n{\"error\":\"unauthorized\",\"message\":"
                             "\"bad token\\u001b[2J\"}"};
    canned c = {.snapshots = snaps, .nsnap = 1, .streams = streams, .nstream = 1};
    canned_start(&c);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", c.port);
    snprintf(cfg.journal_path, sizeof cfg.journal_path, "%s/canned-journal2",
             getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp");
    store *st = store_new();
    char err[256];
    client *cl = client_new(&cfg, st, err, sizeof err);
    assert_true(run_until(cl, &c, offline, 10000));
    client_status s;
    client_status_get(cl, &s);
    assert_true(s.auth_failed);
    assert_int_equal(s.http_status, 401);
    assert_non_null(strstr(s.last_error, "bad token"));
    assert_null(strchr(s.last_error, 0x1b));
    assert_int_equal(client_next_timeout_ms(cl), -1);
    /* Refusals come back at once, through the callback. */
    size_t before = c.nreqs;
    client_wait(cl, NULL, 0, 300, NULL);
    client_run(cl);
    assert_int_equal(c.nreqs, before);
    client_free(cl);
    store_free(st);
    config_free(&cfg);
    canned_stop(&c);
}

static bool reconnecting(client *cl, canned *c)
{
    (void)c;
    client_status s;
    client_status_get(cl, &s);
    return s.state == CONN_RECONNECTING && s.next_retry_ms > 0;
}

static bool three_streams(client *cl, canned *c)
{
    (void)cl;
    pthread_mutex_lock(&c->mu);
    bool done = c->istream >= 3;
    pthread_mutex_unlock(&c->mu);
    return done;
}

/* The server's retry: is honoured within [0.5 s, 60 s]: 10 ms is raised to 500 ms, and
 * 100 s is cut to 60 s (with jitter in the upper half). */
static void test_retry_bounds(void **state)
{
    (void)state;
    const char *snaps[] = {snap1};
    const char *streams[] = {"retry: 10\n\n", "retry: 10\n\n", "retry: 100000\n\n"};
    canned c = {.snapshots = snaps, .nsnap = 1, .streams = streams, .nstream = 3};
    canned_start(&c);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", c.port);
    snprintf(cfg.journal_path, sizeof cfg.journal_path, "%s/canned-journal3",
             getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp");
    store *st = store_new();
    char err[256];
    client *cl = client_new(&cfg, st, err, sizeof err);
    assert_true(run_until(cl, &c, three_streams, 10000));
    pthread_mutex_lock(&c.mu);
    size_t n = 0;
    int64_t at[3];
    for (size_t i = 0; i < c.nreqs; i++)
        if (!strncmp(c.reqs[i].path, "/v1/events", 10) && n < 3)
            at[n++] = c.reqs[i].at_ms;
    pthread_mutex_unlock(&c.mu);
    assert_int_equal(n, 3);
    /* Two failures in a row: 500 ms, then doubled (1 s), each jittered in its upper half
     * and never under 500 ms. */
    assert_true(at[1] - at[0] >= 450);
    assert_true(at[2] - at[1] >= 450);
    assert_true(at[2] - at[0] <= 3000);
    assert_true(run_until(cl, &c, reconnecting, 5000));
    client_status s;
    client_status_get(cl, &s);
    if (s.next_retry_ms < 29000 || s.next_retry_ms > 60000)
        fail_msg("next retry in %lld ms after retry: 100000", (long long)s.next_retry_ms);
    assert_true(client_next_timeout_ms(cl) <= 60000);
    client_free(cl);
    store_free(st);
    config_free(&cfg);
    canned_stop(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resync_rules),
        cmocka_unit_test(test_unauthorized_stops),
        cmocka_unit_test(test_retry_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
