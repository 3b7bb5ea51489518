/* test_marketd_webhooks.c: marketd --webhook against a receiver of our own on loopback
 * (docs/api.md, "Webhooks").
 *
 * The receiver (below) is a real HTTP server on 127.0.0.1 that records what it gets; it
 * can be down (its port closed: connections refused), up, or hanging (it accepts and
 * never answers). The tests wait for states (a delivery recorded, a metric), never for
 * a guessed time. Also: an agent token stored as its hash before marketd hashed with
 * libcrypto still authenticates.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/lib/testsrv.h"

#define SECRET "whsec-test-4b1d9e2a7c"
#define MAXGOT 64

/* ---- the receiver ---------------------------------------------------------------- */

typedef struct got {
    char *head, *body;
} got;

typedef struct receiver {
    int port, lfd;
    bool hang; /* accept and never answer (until released) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    got items[MAXGOT];
    int n, hung; /* deliveries recorded; connections held unanswered */
    bool stop;
} receiver;

static receiver rcv;

/* Reads one request from fd: its head and Content-Length body (owned). 0 or -1. */
static int read_request(int fd, char **head, char **body)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1), *end = NULL;
    while (buf && len < cap) {
        ssize_t k = read(fd, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "Content-Length:");
            size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if (len - (size_t)(end + 4 - buf) >= want) {
                *head = strndup(buf, (size_t)(end - buf));
                *body = strndup(end + 4, want);
                free(buf);
                return 0;
            }
        }
    }
    free(buf);
    return -1;
}

static void *receiver_main(void *arg)
{
    receiver *r = arg;
    for (;;) {
        struct pollfd p = {.fd = r->lfd, .events = POLLIN};
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char *head = NULL, *body = NULL;
        pthread_mutex_lock(&r->mu);
        bool hang = r->hang;
        pthread_mutex_unlock(&r->mu);
        if (hang) { /* hold it, unanswered, until released */
            pthread_mutex_lock(&r->mu);
            r->hung++;
            pthread_cond_broadcast(&r->cv);
            while (r->hang && !r->stop)
                pthread_cond_wait(&r->cv, &r->mu);
            pthread_mutex_unlock(&r->mu);
            close(fd);
            continue;
        }
        if (read_request(fd, &head, &body) == 0) {
            const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            (void)!write(fd, ok, strlen(ok));
            pthread_mutex_lock(&r->mu);
            if (r->n < MAXGOT) {
                r->items[r->n++] = (got){head, body};
                head = body = NULL;
            }
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->mu);
        }
        free(head);
        free(body);
        close(fd);
    }
    return NULL;
}

/* Binds the receiver's socket to a free loopback port, named explicitly (so that the
 * port stays the socket's while it is down: see receiver_down). */
static void receiver_bind(receiver *r)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(probe, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(probe, (struct sockaddr *)&a, &al);
    close(probe);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    r->port = ntohs(a.sin_port);
}

/* Brings the receiver up: its socket listens, its thread answers. */
static void receiver_up(receiver *r)
{
    assert_int_equal(listen(r->lfd, 16), 0);
    r->stop = false;
    assert_int_equal(pthread_create(&r->thread, NULL, receiver_main, r), 0);
}

/* Takes it down: the socket stops listening but keeps its port (Linux: shutdown of a
 * listening socket), so connections to it are refused until it is up again. */
static void receiver_down(receiver *r)
{
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    r->hang = false;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    assert_int_equal(shutdown(r->lfd, SHUT_RDWR), 0);
}

/* Waits (up to 60 s) until the receiver has recorded more than n deliveries; returns how
 * many it has. */
static int wait_got(receiver *r, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&r->mu);
    while (r->n <= n && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    int got_n = r->n;
    pthread_mutex_unlock(&r->mu);
    return got_n;
}

/* The value of header name in head (copied into out), or NULL. */
static char *header(const char *head, const char *name, char *out, size_t size)
{
    const char *h = strcasestr(head, name);
    if (!h || h[strlen(name)] != ':')
        return NULL;
    h += strlen(name) + 1;
    h += strspn(h, " ");
    snprintf(out, size, "%.*s", (int)strcspn(h, "\r\n"), h);
    return out;
}

/* Checks delivery i's signature as a receiver would: t=TS,v1=HMAC-SHA256(SECRET,
 * "TS.BODY"), TS within five minutes of now. */
static void verify_signature(const got *g)
{
    char sig[200], want[65];
    assert_non_null(header(g->head, "Dealdesk-Signature", sig, sizeof sig));
    long long ts = 0;
    char hex[100] = "";
    assert_int_equal(sscanf(sig, "t=%lld,v1=%64s", &ts, hex), 2);
    assert_true(llabs((long long)time(NULL) - ts) < 300);
    size_t blen = strlen(g->body);
    char *text = malloc(blen + 32);
    int n = snprintf(text, 32, "%lld.", ts);
    memcpy(text + n, g->body, blen);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)text,
                         (size_t)n + blen, d, &dl));
    free(text);
    for (unsigned i = 0; i < dl; i++)
        snprintf(want + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, want);
    /* a body changed by one byte no longer matches */
    char idh[100], id[100];
    assert_non_null(header(g->head, "Dealdesk-Event-Id", idh, sizeof idh));
    assert_true(testjson_str(g->body, "id", id, sizeof id));
    assert_string_equal(id, idh);
}

/* ---- the server -------------------------------------------------------------------- */

static testsrv srv;
static char secret_path[600];

static int setup(void **state)
{
    (void)state;
    memset(&rcv, 0, sizeof rcv);
    pthread_mutex_init(&rcv.mu, NULL);
    pthread_cond_init(&rcv.cv, NULL);
    receiver_bind(&rcv);
    receiver_up(&rcv);
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    snprintf(secret_path, sizeof secret_path, "%s/whsecret.%d", tmp, (int)getpid());
    FILE *f = fopen(secret_path, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    char args[800];
    snprintf(args, sizeof args,
             "--decide-timeout 20 --webhook http://127.0.0.1:%d/hook --webhook-secret-file %s",
             rcv.port, secret_path);
    return testsrv_start(&srv, args);
}

static int teardown(void **state)
{
    (void)state;
    if (!rcv.stop)
        receiver_down(&rcv);
    close(rcv.lfd);
    testsrv_stop(&srv);
    unlink(secret_path);
    for (int i = 0; i < rcv.n; i++) {
        free(rcv.items[i].head);
        free(rcv.items[i].body);
    }
    pthread_cond_destroy(&rcv.cv);
    pthread_mutex_destroy(&rcv.mu);
    return 0;
}

/* The index of the first delivery of type for subject id (data.id), or -1. */
static int find_got(const char *type, const char *id)
{
    pthread_mutex_lock(&rcv.mu);
    int at = -1;
    for (int i = 0; i < rcv.n && at < 0; i++) {
        char t[64] = "", d[80] = "";
        testjson_str(rcv.items[i].body, "type", t, sizeof t);
        testjson_str(rcv.items[i].body, "data.id", d, sizeof d);
        if (!strcmp(t, type) && (!id || !strcmp(d, id)))
            at = i;
    }
    pthread_mutex_unlock(&rcv.mu);
    return at;
}

/* Waits until a delivery of type about id is recorded; its index. */
static int wait_for_type(const char *type, const char *id)
{
    int i, n = 0;
    while ((i = find_got(type, id)) < 0) {
        int now = wait_got(&rcv, n);
        assert_true(now > n); /* something new came in 60 s */
        n = now;
    }
    return i;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void test_deadline_and_critical_alert_are_signed(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    /* 201 x $500.00 = $100,500.00: over the buyer's deal maximum, a critical flag */
    assert_int_equal(testsrv_market_purchase(&srv, &t, 50000, 201, pur), 0);
    int i = wait_for_type("purchase.deadline", pur); /* decide_by is 20 s away */
    verify_signature(&rcv.items[i]);
    char path[160];
    assert_true(testjson_str(rcv.items[i].body, "data.status", path, sizeof path));
    assert_string_equal(path, "pending_approval");
    int j = wait_for_type("alert.critical", NULL);
    verify_signature(&rcv.items[j]);
    char rule[64];
    assert_true(testjson_str(rcv.items[j].body, "data.rule", rule, sizeof rule));
    assert_true(testsrv_metric(&srv, "marketd_webhook_deliveries_total") >= 2);
    /* once each */
    pthread_mutex_lock(&rcv.mu);
    int deadlines = 0;
    for (int k = 0; k < rcv.n; k++)
        deadlines += strstr(rcv.items[k].body, "\"purchase.deadline\"") != NULL;
    pthread_mutex_unlock(&rcv.mu);
    assert_int_equal(deadlines, 1);
}

static void test_receiver_down_then_up_is_delivered_after_retry(void **state)
{
    (void)state;
    receiver_down(&rcv);
    testsrv_market t;
    char pur[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    /* failures are counted, and the market answers meanwhile */
    while (testsrv_metric(&srv, "marketd_webhook_failures_total") < 2)
        usleep(50 * 1000);
    assert_true(testsrv_metric(&srv, "marketd_webhook_pending") >= 1);
    assert_true(testsrv_seq(&srv) > 0);
    receiver_up(&rcv);
    int i = wait_for_type("purchase.deadline", pur);
    verify_signature(&rcv.items[i]);
    while (testsrv_metric(&srv, "marketd_webhook_pending") != 0)
        usleep(50 * 1000);
}

static void test_crash_with_undelivered_outbox_delivers_after_restart(void **state)
{
    (void)state;
    receiver_down(&rcv);
    testsrv_market t;
    char pur[72], path[128], act[160];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    while (testsrv_metric(&srv, "marketd_webhook_failures_total") < 1)
        usleep(50 * 1000);
    /* decided: no rescan after the restart can find it again; only the outbox has it */
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    snprintf(act, sizeof act, "%s/veto", path);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    long long v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v, "{\"reason\":\"no\"}", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    testsrv_kill9(&srv);
    receiver_up(&rcv);
    assert_int_equal(testsrv_restart(&srv), 0);
    int i = wait_for_type("purchase.deadline", pur);
    verify_signature(&rcv.items[i]);
}

static void test_market_answers_while_the_receiver_hangs(void **state)
{
    (void)state;
    pthread_mutex_lock(&rcv.mu);
    rcv.hang = true;
    pthread_mutex_unlock(&rcv.mu);
    testsrv_market t;
    char pur[72], pur2[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    pthread_mutex_lock(&rcv.mu);
    while (rcv.hung == 0)
        pthread_cond_wait(&rcv.cv, &rcv.mu);
    pthread_mutex_unlock(&rcv.mu);
    /* the sender is inside a POST that gets no answer: the market still takes writes */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(testsrv_market_fresh_purchase(&srv, &t, "Second bike", 5, 1, pur2), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(s < 5.0); /* well under the sender's 10 s timeout */
    pthread_mutex_lock(&rcv.mu);
    assert_int_equal(rcv.n, 0);
    rcv.hang = false;
    pthread_cond_broadcast(&rcv.cv);
    pthread_mutex_unlock(&rcv.mu);
    wait_for_type("purchase.deadline", pur);
    wait_for_type("purchase.deadline", pur2);
}

/* The SHA-256 of "agt-tok-stored-before-3f9a1c0d7e5b2a48", as marketd stored agent
 * tokens before it used libcrypto (computed with sha256sum, independently of both). */
#define OLD_TOKEN "agt-tok-stored-before-3f9a1c0d7e5b2a48"
#define OLD_HASH  "5b79cef16f31e64b933ea127897c42f1c08fa958b198a3797b59f6ef927b9aa8"

static void test_token_stored_before_still_works(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_terminate(&srv), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(srv.db, &db), SQLITE_OK);
    char sql[300];
    snprintf(sql, sizeof sql, "INSERT INTO agent_tokens(hash, agent_id) VALUES('%s','%s')",
             OLD_HASH, t.buyer_id);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(testsrv_restart(&srv), 0);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, OLD_TOKEN, "/v1/whoami", &r), 0);
    assert_int_equal(r.status, 200);
    char id[72];
    assert_true(testjson_str(r.body, "agent_id", id, sizeof id));
    assert_string_equal(id, t.buyer_id);
    testhttp_resp_free(&r);
    /* and a token issued now is found by the same hash */
    assert_int_equal(testsrv_get(&srv, t.seller_token, "/v1/whoami", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deadline_and_critical_alert_are_signed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receiver_down_then_up_is_delivered_after_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_with_undelivered_outbox_delivers_after_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_market_answers_while_the_receiver_hangs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_stored_before_still_works, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
