/* test_security_http.c: marketd's HTTP layer against a hostile network (issue 11, items 7,
 * 9, 10 and 12), over raw sockets to a real marketd.
 *
 * - Request smuggling: two Content-Length, Content-Length with Transfer-Encoding: chunked,
 *   an encoding other than chunked: each a 400 and the connection closed, nothing else
 *   served from the same bytes.
 * - Contract strictness: If-Match exactly "N"; after= and limit= cursors; %00 in a path;
 *   a declared body over the limit refused before it is sent; too many query parameters;
 *   totals that overflow; duplicate names or secrets in the tokens file.
 * - --verbose lines cannot be forged by a request path.
 * - The limits, each at small numbers, attacked from other loopback addresses (127.0.0.2
 *   and up): connections per address (a supervisor still gets in), the deadline on a
 *   request's headers, streams per token, a stream whose client stopped reading, and a
 *   trusted proxy's forwarded address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/rawhttp.h"
#include "tests/lib/testsrv.h"

/* Sends req from src and reads until the server closes (at most timeout_ms). */
static void exchange(const char *src, int port, const char *req, size_t len, rawans *a,
                     int timeout_ms)
{
    int fd = dial_from(src, port);
    assert_true(fd >= 0);
    assert_int_equal(tproc_send_all(fd, req, len), 0);
    read_raw(fd, a, timeout_ms, false);
    close(fd);
}

/* How many answers (status lines) a raw exchange holds. */
static int answers(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        n++;
    return n;
}

static testsrv srv;
static testsrv_market mkt;

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (testsrv_start(&srv, NULL) < 0 || testsrv_market_setup(&srv, &mkt, 0) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* ---- item 9: smuggling ---------------------------------------------------------- */

/* Ambiguous framing is a 400 and the connection closes: no second request is read out of
 * the same bytes, and an unknown encoding does not leave the client hanging. */
static void test_smuggling_refused(void **state)
{
    (void)state;
    char req[1024];
    long long before = testsrv_metric(&srv, "marketd_limited_total{limit=\"bad_framing\"}");
    /* Two Content-Length: the first (2) used to win and the rest was a second request. */
    snprintf(req, sizeof req,
             "POST /v1/listings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: smuggle-1\r\nContent-Length: 2\r\nContent-Length: 41\r\n\r\n"
             "{}GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
             mkt.seller_token);
    rawans a;
    exchange("127.0.0.1", srv.port, req, strlen(req), &a, 5000);
    printf("two Content-Length: %d answer(s), status %d, closed %d\n", answers(a.text),
           raw_status(a.text), a.closed);
    assert_int_equal(raw_status(a.text), 400);
    assert_int_equal(answers(a.text), 1);
    assert_non_null(strstr(a.text, "framing"));
    assert_true(a.closed);
    /* Content-Length with Transfer-Encoding: chunked. */
    snprintf(req, sizeof req,
             "POST /v1/listings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: smuggle-2\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"
             "\r\n0\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
             mkt.seller_token);
    exchange("127.0.0.1", srv.port, req, strlen(req), &a, 5000);
    printf("Content-Length and chunked: %d answer(s), status %d, closed %d\n", answers(a.text),
           raw_status(a.text), a.closed);
    assert_int_equal(raw_status(a.text), 400);
    assert_int_equal(answers(a.text), 1);
    assert_non_null(strstr(a.text, "framing"));
    assert_true(a.closed);
    /* An encoding other than chunked (it used to hang). */
    snprintf(req, sizeof req,
             "POST /v1/listings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: smuggle-3\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n"
             "\r\n",
             mkt.seller_token);
    exchange("127.0.0.1", srv.port, req, strlen(req), &a, 5000);
    printf("Transfer-Encoding: xchunked: status %d, closed %d\n", raw_status(a.text), a.closed);
    assert_int_equal(raw_status(a.text), 400);
    assert_true(a.closed);
    assert_int_equal(testsrv_metric(&srv, "marketd_limited_total{limit=\"bad_framing\"}"),
                     before + 3);
    /* Nothing was created by any of them. */
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, mkt.seller_token, "/v1/listings", &r), 0);
    assert_int_equal(testjson_len(r.body, "items"), 1);
    testhttp_resp_free(&r);
}

/* ---- item 10: contract strictness ----------------------------------------------- */

/* POSTs to path as sup1 with If-Match: ifm (raw header text) and returns the status. */
static long post_if_match(const char *path, const char *ifm, const char *body)
{
    char url[256], key[48], hk[80], hi[120];
    snprintf(url, sizeof url, "%s%s", srv.url, path);
    testsrv_key(key);
    snprintf(hk, sizeof hk, "Idempotency-Key: %s", key);
    snprintf(hi, sizeof hi, "If-Match: %s", ifm);
    const char *hdrs[] = {hk, hi, "Content-Type: application/json", NULL};
    testhttp_resp r = {0};
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, hdrs, body, &r), 0);
    long st = r.status;
    testhttp_resp_free(&r);
    return st;
}

/* If-Match is exactly "N": anything else (weak, spaced, signed, overflowing) is 400. */
static void test_if_match_exact(void **state)
{
    (void)state;
    char pur[72], path[160];
    assert_int_equal(testsrv_market_fresh_purchase(&srv, &mkt, "If-Match bike", 5, 1, pur), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", pur);
    static const char *const bad[] = {
        "W/\"1\"",
        "\" 1\"",
        "\"+1\"",
        "\"1 \"",
        "1",
        "\"01\"",
        "\"\"",
        "\"99999999999999999999\"",
        "\"18446744073709551617\"",
        "\"1\", \"2\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long st = post_if_match(path, bad[i], "{\"reason\":\"strict\"}");
        if (st != 400)
            fail_msg("If-Match: %s gave %ld, want 400", bad[i], st);
    }
    assert_int_equal(post_if_match(path, "\"1\"", "{\"reason\":\"strict\"}"), 200);
}

/* GETs path as sup1 and checks the status. */
static void expect_get(const char *path, long status)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    if (r.status != status)
        fail_msg("GET %s: %ld %s, want %ld", path, r.status, r.body, status);
    testhttp_resp_free(&r);
}

/* after= and limit= are validated, and %00 in a path is a 400. */
static void test_cursors_and_nul(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/v1/listings?after=o",     "/v1/listings?after=o-1",
        "/v1/listings?after=o%2B1", "/v1/listings?after=o%201",
        "/v1/listings?after=o1x",   "/v1/listings?after=o99999999999999999999",
        "/v1/listings?limit=%2B5",  "/v1/listings?limit=%205",
        "/v1/listings?limit=5.0",   "/v1/listings%00/anything",
        "/v1/listings/lst_1%00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_get(bad[i], 400);
    expect_get("/v1/listings?after=o1&limit=5", 200);
    /* a negotiation's messages: after= a message seq */
    char pur[72], neg[72] = "", path[200];
    assert_int_equal(testsrv_market_fresh_purchase(&srv, &mkt, "Cursor bike", 5, 1, pur), 0);
    testhttp_resp r = {0};
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_true(testjson_str(r.body, "negotiation_id", neg, sizeof neg));
    testhttp_resp_free(&r);
    static const char *const mbad[] = {"%2B1", "%201", "-1", "99999999999999999999", "1x"};
    for (size_t i = 0; i < sizeof mbad / sizeof mbad[0]; i++) {
        snprintf(path, sizeof path, "/v1/negotiations/%s/messages?after=%s", neg, mbad[i]);
        expect_get(path, 400);
    }
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages?after=1", neg);
    expect_get(path, 200);
    /* %00 in a decision's path: refused, the purchase untouched */
    snprintf(path, sizeof path, "/v1/purchases/%s%%00/veto", pur);
    assert_int_equal(post_if_match(path, "\"1\"", "{\"reason\":\"nul\"}"), 400);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_int_equal(testjson_int(r.body, "version"), 1);
    testhttp_resp_free(&r);
}

/* A declared body over 64 KiB is refused on its headers (before a byte of it is sent),
 * and more than 200 query parameters is a 400 at once. */
static void test_declared_body_and_many_params(void **state)
{
    (void)state;
    char req[512];
    snprintf(req, sizeof req,
             "POST /v1/listings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Idempotency-Key: big-1\r\nContent-Length: 10000000\r\n\r\n",
             mkt.seller_token);
    int fd = dial_from("127.0.0.1", srv.port);
    assert_true(fd >= 0);
    assert_int_equal(tproc_send_all(fd, req, strlen(req)), 0);
    rawans a;
    int64_t t0 = tproc_now_ms();
    read_raw(fd, &a, 5000, false); /* no body is ever sent */
    close(fd);
    printf("declared 10 MB body, none sent: status %d after %lld ms, closed %d\n",
           raw_status(a.text), (long long)(tproc_now_ms() - t0), a.closed);
    assert_int_equal(raw_status(a.text), 413);
    assert_true(a.closed);
    /* 300 query parameters */
    static char big[300 * 12 + 128];
    size_t n = (size_t)snprintf(big, sizeof big, "%s/v1/health?", srv.url), q = n;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%sp%d=1", i ? "&" : "", i);
    testhttp_resp r = {0};
    assert_int_equal(testhttp("GET", big, NULL, NULL, NULL, &r), 0);
    printf("300 query parameters: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 400);
    testhttp_resp_free(&r);
    big[q + 100 * 6] = '\0'; /* far fewer: fine */
    assert_int_equal(testhttp("GET", big, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
}

/* A listing whose whole stock would overflow a total is 400 at creation; an accept whose
 * total overflows is 400 (it was a 503). */
static void test_total_overflow(void **state)
{
    (void)state;
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&srv, mkt.seller_token, "/v1/listings", 0,
                                  "{\"title\":\"Gold\",\"description\":\"d\",\"category\":"
                                  "\"bikes\",\"unit_price_minor\":1000000000000000,"
                                  "\"currency\":\"USD\",\"quantity\":2}",
                                  &r),
                     0);
    if (r.status != 400)
        fail_msg("overflowing listing: %ld %s", r.status, r.body);
    testhttp_resp_free(&r);
    char body[256], neg[72] = "", path[160];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":1,\"quantity\":2,\"text\":\"o\"}",
             mkt.listing_id);
    assert_int_equal(testsrv_post(&srv, mkt.buyer_token, "/v1/negotiations", 0, body, &r), 0);
    assert_int_equal(r.status, 201);
    assert_true(testjson_str(r.body, "negotiation.id", neg, sizeof neg));
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    assert_int_equal(testsrv_post(&srv, mkt.seller_token, path, 0,
                                  "{\"kind\":\"accept\",\"unit_price_minor\":1000000000000000}",
                                  &r),
                     0);
    if (r.status != 400)
        fail_msg("overflowing accept: %ld %s", r.status, r.body);
    testhttp_resp_free(&r);
}

/* Runs marketd with a tokens file of text and returns its exit code (its stderr in
 * err, size bytes). */
static int run_with_tokens(const char *text, char *err, size_t size)
{
    char tok[600], errp[600];
    snprintf(tok, sizeof tok, "%s/dup-tokens", srv.dir);
    snprintf(errp, sizeof errp, "%s/dup-tokens.err", srv.dir);
    int fd = open(tok, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDWR);
        dup2(e, 2);
        dup2(nul, 1);
        execl(getenv("MARKETD_BIN"), "marketd", "--listen", "127.0.0.1:0", "--db",
              ":memory:", "--tokens", tok, (char *)NULL);
        _exit(127);
    }
    int code = tproc_wait_child(pid, 10000);
    tproc_slurp(errp, err, size);
    return code;
}

/* Two operators with one name, or one secret, refuse to start. */
static void test_tokens_file_duplicates(void **state)
{
    (void)state;
    char err[1024];
    int code = run_with_tokens("alice supervisor secret-aaaa-1111\n"
                               "alice viewer secret-bbbb-2222\n",
                               err, sizeof err);
    printf("duplicate name: exit %d: %s", code, err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "same name"));
    code = run_with_tokens("alice supervisor secret-aaaa-1111\n"
                           "bob viewer secret-aaaa-1111\n",
                           err, sizeof err);
    printf("duplicate secret: exit %d: %s", code, err);
    assert_int_equal(code, 1);
    assert_non_null(strstr(err, "same secret"));
    assert_null(strstr(err, "secret-aaaa")); /* never the secret itself */
}

/* ---- item 12: --verbose lines --------------------------------------------------- */

/* A request path with ESC ] 0;...BEL and a newline followed by a fake log line: the log
 * holds neither raw control bytes nor that line. */
static void test_verbose_cannot_be_forged(void **state)
{
    (void)state;
    char log[600];
    snprintf(log, sizeof log, "%s/marketd-forge.log", getenv("TEST_TMP"));
    fflush(stderr);
    int saved = dup(2);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    testsrv v;
    int rc = testsrv_start(&v, "--verbose");
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, 0);
    const char *fake = "marketd: POST /v1/purchases/pur_1/approve 200 1.0ms alice";
    const char *req = "GET /v1/x%1b%5d0%3bpwned%07%0amarketd:%20POST%20/v1/purchases/pur_1/"
                      "approve%20200%201.0ms%20alice HTTP/1.1\r\nHost: x\r\n\r\n";
    rawans a;
    int c = dial_from("127.0.0.1", v.port);
    assert_true(c >= 0);
    assert_int_equal(tproc_send_all(c, req, strlen(req)), 0);
    read_raw(c, &a, 5000, true);
    close(c);
    assert_int_equal(raw_status(a.text), 401);
    testsrv_stop(&v);
    char text[8192];
    assert_true(tproc_slurp(log, text, sizeof text) > 0);
    bool ctl = false, forged = false;
    for (const char *p = text; *p; p++)
        ctl = ctl || (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        forged = forged || strncmp(line, fake, strlen(fake)) == 0;
    const char *got = strstr(text, "pwned") ? strstr(text, "pwned") : text;
    printf("--verbose log after a forging path: control bytes %d, forged line %d; logged as: "
           "...%.*s\n",
           ctl, forged, (int)strcspn(got, "\n"), got);
    assert_false(ctl);
    assert_false(forged);
    assert_non_null(strstr(text, "\\x1b]0;pwned\\x07\\x0amarketd: POST"));
}

/* ---- item 7: the limits ----------------------------------------------------------- */

/* Starts a server with args (tests below use their own limits). */
static void start_with(testsrv *s, const char *args)
{
    assert_int_equal(testsrv_start(s, args), 0);
}

/* Sends req on fd and reads one answer (up to 5 s). Returns its status. */
static int ask(int fd, const char *req, rawans *a)
{
    assert_int_equal(tproc_send_all(fd, req, strlen(req)), 0);
    read_raw(fd, a, 5000, true);
    return raw_status(a->text);
}

/* The limited_total counter of limit name. */
static long long limited(testsrv *s, const char *name)
{
    char m[96];
    snprintf(m, sizeof m, "marketd_limited_total{limit=\"%s\"}", name);
    return testsrv_metric(s, m);
}

/* An address at its limit of idle connections: the oldest are closed for newcomers, and a
 * supervisor from the same address still gets in; other addresses are not affected. */
static void test_conns_per_addr(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--max-conns-per-addr 4");
    enum { N = 10 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = dial_from("127.0.0.2", s.port);
        assert_true(fds[i] >= 0);
    }
    /* Wait until the server has seen them all (6 evicted) and those 6 are closed (which 6
     * depends on the order in which its threads took them: the oldest it saw). */
    int64_t deadline = tproc_now_ms() + 10000;
    while (limited(&s, "conns_evicted") < N - 4 && tproc_now_ms() < deadline)
        tproc_nap(20);
    long long evicted = limited(&s, "conns_evicted");
    bool gone[N] = {false};
    int closed = 0;
    deadline = tproc_now_ms() + 10000;
    while (closed < N - 4 && tproc_now_ms() < deadline) {
        for (int i = 0; i < N; i++)
            if (!gone[i] && closed_within(fds[i], 0 + 1))
                gone[i] = true, closed++;
        tproc_nap(20);
    }
    for (int i = 0; i < N; i++) /* the other 4 are open */
        if (!gone[i])
            closed += closed_within(fds[i], 1);
    printf("10 idle connections from 127.0.0.2 at --max-conns-per-addr 4: %lld evicted, %d "
           "closed\n",
           evicted, closed);
    assert_int_equal(evicted, N - 4);
    assert_int_equal(closed, N - 4);
    /* A supervisor from the same address, while it is at its limit. */
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_SUP1);
    int sup = dial_from("127.0.0.2", s.port);
    assert_true(sup >= 0);
    rawans a;
    assert_int_equal(ask(sup, req, &a), 200);
    assert_non_null(strstr(a.text, "\"supervisor\""));
    /* its connection, once it showed the token, does not count: it survives newcomers */
    int more[6];
    for (int i = 0; i < 6; i++)
        assert_true((more[i] = dial_from("127.0.0.2", s.port)) >= 0);
    deadline = tproc_now_ms() + 10000;
    while (limited(&s, "conns_evicted") < evicted + 6 && tproc_now_ms() < deadline)
        tproc_nap(20);
    assert_int_equal(ask(sup, req, &a), 200);
    /* another address is not affected */
    int other = dial_from("127.0.0.3", s.port);
    assert_true(other >= 0);
    assert_int_equal(ask(other, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &a), 200);
    close(other);
    close(sup);
    for (int i = 0; i < 6; i++)
        close(more[i]);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    testsrv_stop(&s);
}

/* marketd's VmRSS in kB, or -1. */
static long rss_kb(pid_t pid)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (tproc_slurp(path, text, sizeof text) <= 0)
        return -1;
    const char *p = strstr(text, "VmRSS:");
    return p ? atol(p + 6) : -1;
}

/* Idle keep-alive connections that made one request each cost little memory: libmicrohttpd
 * zeroes a connection's whole memory pool after a request, so the pool's size is what each
 * one costs (it was 128 KiB: 400 of them took 51 MB). Loose under a sanitizer. */
static void test_idle_connections_memory(void **state)
{
    (void)state;
    enum { N = 400 };
    const char *san = getenv("SAN"), *vg = getenv("VALGRIND");
    long factor = (san && !strcmp(san, "1")) || (vg && !strcmp(vg, "1")) ? 8 : 1;
    long rss0 = rss_kb(srv.pid);
    int fds[N];
    rawans a;
    for (int i = 0; i < N; i++) {
        fds[i] = dial_from("127.0.0.9", srv.port);
        assert_true(fds[i] >= 0);
        assert_int_equal(ask(fds[i], "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &a), 200);
    }
    long rss1 = rss_kb(srv.pid);
    printf("%d idle keep-alive connections after one request each: marketd RSS %ld kB -> %ld "
           "kB (%ld kB each)\n",
           N, rss0, rss1, (rss1 - rss0) / N);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    assert_true(rss1 - rss0 < N * 64 * factor);
}

/* A connection sending a header line every 300 ms is closed at the header deadline
 * (libmicrohttpd's inactivity timeout alone never closes it). */
static void test_header_deadline(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--header-timeout 1");
    int fd = dial_from("127.0.0.4", s.port);
    assert_true(fd >= 0);
    assert_int_equal(tproc_send_all(fd, "GET /v1/health HTTP/1.1\r\n", 25), 0);
    int64_t t0 = tproc_now_ms();
    bool closed = false;
    int lines = 0;
    while (!closed && tproc_now_ms() - t0 < 10000) {
        if (tproc_send_all(fd, "X-Slow: a\r\n", 11) != 0)
            break;
        lines++;
        closed = closed_within(fd, 300);
    }
    closed = closed || closed_within(fd, 2000);
    int64_t took = tproc_now_ms() - t0;
    printf("a header line every 300 ms at --header-timeout 1: closed %d after %lld ms (%d "
           "lines)\n",
           closed, (long long)took, lines);
    assert_true(closed);
    assert_true(took < 5000);
    assert_true(limited(&s, "header_timeout") >= 1);
    close(fd);
    /* A body trickled after its headers is held to the same deadline. */
    fd = dial_from("127.0.0.4", s.port);
    assert_true(fd >= 0);
    const char *post = "POST /v1/listings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
    assert_int_equal(tproc_send_all(fd, post, strlen(post)), 0);
    t0 = tproc_now_ms();
    closed = false;
    while (!closed && tproc_now_ms() - t0 < 10000) {
        if (tproc_send_all(fd, "x", 1) != 0)
            break;
        closed = closed_within(fd, 300);
    }
    closed = closed || closed_within(fd, 2000);
    took = tproc_now_ms() - t0;
    printf("a body byte every 300 ms: closed %d after %lld ms\n", closed, (long long)took);
    assert_true(closed);
    assert_true(took < 5000);
    close(fd);
    testsrv_stop(&s);
}

/* Opens a stream as token from src. Returns the fd (the answer's head read into a). */
static int open_stream(testsrv *s, const char *src, const char *token, rawans *a)
{
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", token);
    int fd = dial_from(src, s->port);
    assert_true(fd >= 0);
    assert_int_equal(tproc_send_all(fd, req, strlen(req)), 0);
    /* the head, and for a stream its first bytes ("retry: 2000") */
    a->len = 0;
    a->text[0] = '\0';
    int64_t deadline = tproc_now_ms() + 5000;
    while (!strstr(a->text, "\r\n\r\n") && tproc_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(fd, a->text + a->len, sizeof a->text - 1 - a->len, 0);
        if (r <= 0)
            break;
        a->len += (size_t)r;
        a->text[a->len] = '\0';
    }
    return fd;
}

/* A viewer token at its stream limit gets 429; a supervisor's token still streams; a
 * stream released makes room again. */
static void test_streams_per_token(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--max-streams-per-token 3 --heartbeat 1");
    int fds[3];
    rawans a;
    for (int i = 0; i < 3; i++) {
        fds[i] = open_stream(&s, "127.0.0.5", TESTSRV_TOKEN_VIEW1, &a);
        assert_int_equal(raw_status(a.text), 200);
    }
    int over = open_stream(&s, "127.0.0.5", TESTSRV_TOKEN_VIEW1, &a);
    printf("4th stream of one token at --max-streams-per-token 3: %d\n", raw_status(a.text));
    assert_int_equal(raw_status(a.text), 429);
    assert_non_null(find_nocase(a.text, "Retry-After:"));
    assert_true(closed_within(over, 5000)); /* a refused stream keeps no connection */
    close(over);
    assert_int_equal(limited(&s, "streams_per_token"), 1);
    int sup = open_stream(&s, "127.0.0.5", TESTSRV_TOKEN_SUP1, &a);
    assert_int_equal(raw_status(a.text), 200);
    close(fds[0]);
    /* the server notices the client went (at its next heartbeat write at the latest) */
    int64_t deadline = tproc_now_ms() + 40000;
    int again = -1;
    while (tproc_now_ms() < deadline) {
        again = open_stream(&s, "127.0.0.5", TESTSRV_TOKEN_VIEW1, &a);
        if (raw_status(a.text) == 200)
            break;
        close(again);
        again = -1;
        tproc_nap(200);
    }
    assert_true(again >= 0);
    close(again);
    close(sup);
    close(fds[1]);
    close(fds[2]);
    testsrv_stop(&s);
}

/* A stream whose client stopped reading is closed once it took nothing for --stream-stall
 * seconds while events waited, instead of being buffered for; a reading stream is not. */
static void test_stalled_stream_closed(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--stream-stall 1 --heartbeat 1");
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&s, &t, 0), 0);
    rawans a;
    int stalled = dial_from("127.0.0.6", s.port);
    assert_true(stalled >= 0);
    int small = 4096;
    setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_VIEW1);
    assert_int_equal(tproc_send_all(stalled, req, strlen(req)), 0);
    int reader = open_stream(&s, "127.0.0.7", TESTSRV_TOKEN_SUP1, &a);
    assert_int_equal(raw_status(a.text), 200);
    int64_t deadline = tproc_now_ms() + 10000;
    while (testsrv_metric(&s, "marketd_stream_clients") < 2 && tproc_now_ms() < deadline)
        tproc_nap(20);
    assert_int_equal(testsrv_metric(&s, "marketd_stream_clients"), 2);
    /* Events of 4 KB each until the server gives up on the stream that does not read. */
    char desc[4001], body[4400];
    memset(desc, 'x', 4000);
    desc[4000] = '\0';
    int posted = 0;
    deadline = tproc_now_ms() + 60000;
    static char sink[1 << 16];
    while (limited(&s, "stream_stall") < 1 && tproc_now_ms() < deadline) {
        snprintf(body, sizeof body,
                 "{\"title\":\"stall %d\",\"description\":\"%s\",\"category\":\"bikes\","
                 "\"unit_price_minor\":100,\"currency\":\"USD\",\"quantity\":1}",
                 posted, desc);
        testhttp_resp r = {0};
        assert_int_equal(testsrv_post(&s, t.seller_token, "/v1/listings", 0, body, &r), 0);
        assert_int_equal(r.status, 201);
        testhttp_resp_free(&r);
        posted++;
        /* the reader reads */
        struct pollfd p = {.fd = reader, .events = POLLIN};
        while (poll(&p, 1, 0) > 0 && recv(reader, sink, sizeof sink, 0) > 0)
            ;
        tproc_nap(20);
    }
    printf("a stream that never reads at --stream-stall 1: closed after %d events of 4 KB\n",
           posted);
    assert_int_equal(limited(&s, "stream_stall"), 1);
    deadline = tproc_now_ms() + 10000;
    while (testsrv_metric(&s, "marketd_stream_clients") > 1 && tproc_now_ms() < deadline)
        tproc_nap(20);
    assert_int_equal(testsrv_metric(&s, "marketd_stream_clients"), 1); /* the reader's */
    assert_true(closed_within(stalled, 10000));
    close(stalled);
    close(reader);
    testsrv_stop(&s);
}

/* Behind a trusted proxy: the proxy's own connections are not limited as one client, and
 * each forwarded client is held to its own limit. It waits on states, never on a guess:
 * the held requests' headers are known to be in when their "100 Continue" comes. */
static void test_trusted_proxy(void **state)
{
    (void)state;
    testsrv s;
    /* the held requests send no body: no minimum body rate (test_security_conns has it) */
    start_with(&s, "--trusted-proxy 127.0.0.8 --max-conns-per-addr 2 --min-body-rate 0");
    /* Six idle connections from the proxy: none is closed for another. */
    int idle[6];
    for (int i = 0; i < 6; i++)
        assert_true((idle[i] = dial_from("127.0.0.8", s.port)) >= 0);
    int chk = dial_from("127.0.0.8", s.port);
    rawans a;
    assert_int_equal(ask(chk, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &a), 200);
    assert_int_equal(limited(&s, "conns_evicted"), 0);
    /* One forwarded client holding two requests open (their bodies not sent): its third
     * is 429; another forwarded client still gets through. */
    const char *hold = "POST /v1/listings HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1, "
                       "192.0.2.7\r\nIdempotency-Key: p-1\r\nExpect: 100-continue\r\n"
                       "Content-Length: 2\r\n\r\n";
    int h1 = dial_from("127.0.0.8", s.port), h2 = dial_from("127.0.0.8", s.port);
    assert_int_equal(tproc_send_all(h1, hold, strlen(hold)), 0);
    assert_int_equal(tproc_send_all(h2, hold, strlen(hold)), 0);
    read_head(h1, &a, 10000);
    assert_int_equal(raw_status(a.text), 100);
    read_head(h2, &a, 10000);
    assert_int_equal(raw_status(a.text), 100);
    int h3 = dial_from("127.0.0.8", s.port);
    int st =
        ask(h3, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.7\r\n\r\n", &a);
    close(h3);
    printf("a forwarded client holding 2 requests at --max-conns-per-addr 2: its third %d\n", st);
    assert_int_equal(st, 429);
    assert_int_equal(limited(&s, "conns_per_addr"), 1);
    int h4 = dial_from("127.0.0.8", s.port);
    assert_int_equal(
        ask(h4, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.8\r\n\r\n", &a),
        200);
    /* a supervisor behind the proxy from that same client is not refused */
    char req[256];
    snprintf(req, sizeof req,
             "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.7\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_SUP1);
    assert_int_equal(ask(h4, req, &a), 200);
    close(h4);
    close(h1);
    close(h2);
    close(chk);
    for (int i = 0; i < 6; i++)
        close(idle[i]);
    testsrv_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_smuggling_refused),
        cmocka_unit_test(test_if_match_exact),
        cmocka_unit_test(test_cursors_and_nul),
        cmocka_unit_test(test_declared_body_and_many_params),
        cmocka_unit_test(test_total_overflow),
        cmocka_unit_test(test_tokens_file_duplicates),
        cmocka_unit_test(test_verbose_cannot_be_forged),
        cmocka_unit_test(test_conns_per_addr),
        cmocka_unit_test(test_idle_connections_memory),
        cmocka_unit_test(test_header_deadline),
        cmocka_unit_test(test_streams_per_token),
        cmocka_unit_test(test_stalled_stream_closed),
        cmocka_unit_test(test_trusted_proxy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
