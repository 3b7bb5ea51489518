/* test_security_hostile.c: hostile text in every field that reaches the screen, beyond
 * the titles, agent names and offer texts of test_console_hostile.c.
 *
 * Against a real marketd, the corpus ($TESTDATA/hostile-text.txt) goes into listing
 * descriptions, principals, counter-offer texts, veto reasons (from a second operator),
 * cap reasons, pause reasons, alert acknowledgement notes and the fleet's halt reason
 * (which the header shows). Against a scripted hostile server (nothing a real marketd
 * would send, all of it what a compromised or buggy one could), the corpus goes into the
 * operator name and role of /v1/whoami, and the message of every error answer; both the
 * console and the one-shot commands' stderr are checked.
 *
 * In the terminal byte stream: nothing but well-formed sequences of the curses kind
 * (vt_check_stream); the header's first row intact, amounts unaltered, the confirmation
 * dialog's amount and counterparty as the server gave them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/e2e.h"
#include "tests/lib/hostile.h"

#define WAIT_MS 15000

extern char **environ;

/* POSTs body (stolen) to path as token, with a fresh key and If-Match when version > 0.
 * Returns the status; *out gets the parsed answer when not NULL (owned). */
static int post(e2e_market *m, const char *token, const char *path, long long version, json_t *body,
                json_t **out)
{
    static unsigned counter;
    char url[512], idem[96], ifm[64];
    snprintf(url, sizeof url, "%s%s", m->srv.url, path);
    snprintf(idem, sizeof idem, "Idempotency-Key: hostile-%d-%u", (int)getpid(), ++counter);
    const char *hdrs[4] = {idem, "Content-Type: application/json", NULL, NULL};
    if (version > 0) {
        snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"", version);
        hdrs[2] = ifm;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    testhttp_resp r = {0};
    int rc = text ? testhttp("POST", url, token, hdrs, text, &r) : -1;
    free(text);
    int st = rc == 0 ? (int)r.status : -1;
    if (out)
        *out = rc == 0 ? json_loads(r.body, 0, NULL) : NULL;
    testhttp_resp_free(&r);
    return st;
}

/* A JSON string of raw bytes (cut to max bytes); invalid UTF-8 is sent as it is (the
 * server refuses it: such cases test nothing further there). */
static json_t *raw(const hostile_case *c, size_t max)
{
    return json_stringn_nocheck(c->bytes, c->len < max ? c->len : max);
}

/* The version of an object (GET path as sup1), or -1. */
static long long version_of(e2e_market *m, const char *path)
{
    testhttp_resp r = {0};
    long long v = -1;
    if (testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r) == 0 && r.status == 200)
        v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    return v;
}

/* Asserts that the stream is clean and the header's first row intact. */
static void assert_clean(vt *t, const char *fleet)
{
    size_t len;
    const unsigned char *out = vt_output(t, &len);
    assert_true(len > 1000);
    const char *why = vt_check_stream(out, len, false);
    if (why) {
        fprintf(stderr, "stream problem: %s\n", why);
        vt_dump(t, "screen");
    }
    assert_null(why);
    char row[4096];
    vt_row(t, 0, row, sizeof row);
    if (!strstr(row, " dealdesk ") || !strstr(row, fleet)) {
        vt_dump(t, "header");
        fail_msg("header row altered: %s", row);
    }
}

/* Walks every pane, every row and its detail, so that everything gets drawn. */
static void walk_everything(vt *t, int rows)
{
    const char *panes[] = {"1", "2", "3", "4", "5", "6"};
    for (size_t p = 0; p < sizeof panes / sizeof panes[0]; p++) {
        vt_send(t, panes[p]);
        vt_wait_quiet(t, 60, 2000);
        for (int i = 0; i < rows; i++) {
            vt_send(t, "j");
            vt_pump(t, 10);
            if (i % 7 == 0) {
                vt_send(t, "\r"); /* a detail now and then */
                vt_wait_quiet(t, 40, 1000);
                vt_send(t, "\033");
                vt_pump(t, 10);
            }
        }
        vt_wait_quiet(t, 60, 2000);
    }
}

/* Every other field, through the real API, while a console watches. */
static void test_hostile_in_every_field(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--decide-timeout 3600"), 0);
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    assert_true(n > 20);
    /* A purchase whose amounts the test checks on screen at the end. */
    char anchor[65], aneg[65];
    assert_int_equal(e2e_purchase(&m, "Anchor bike", "bikes", 78900, 3, anchor, aneg), 0);
    /* The console's own bell (new pending, critical alerts) is a BEL byte by design:
     * turned off, so that any BEL in the stream would be the corpus's. */
    char cfgp[700];
    snprintf(cfgp, sizeof cfgp, "%s/no-bell.conf", getenv("TEST_TMP"));
    FILE *cf = fopen(cfgp, "w");
    assert_non_null(cf);
    fputs("bell = false\n", cf);
    fclose(cf);
    const char *args[] = {"--config", cfgp, NULL};
    vt *t = e2e_dealdesk(&m, 30, 110, m.sup1_file, args, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    int accepted = 0, tried = 0;
    for (int i = 0; i < n; i++) {
        const hostile_case *c = &cases[i];
        /* an agent with a hostile principal */
        json_t *res = NULL;
        json_t *agent =
            json_pack("{s:s, s:o, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:{s:[s]}, s:[s]}", "name",
                      "seller-h", "principal", raw(c, 200), "role", "seller", "currency", "USD",
                      "limits", "spend_cap_minor", (json_int_t)0, "per_deal_max_minor",
                      (json_int_t)0, "approval_threshold_minor", (json_int_t)0, "max_quantity",
                      (json_int_t)0, "mandate", "categories", "bikes", "addresses", "1 Main St");
        tried++;
        int st = post(&m, TESTSRV_TOKEN_SUP1, "/v1/agents", 0, agent, &res);
        e2e_agent seller = m.seller;
        if (st == 201) {
            accepted++;
            snprintf(seller.id, sizeof seller.id, "%s",
                     json_string_value(json_object_get(json_object_get(res, "agent"), "id")));
            snprintf(seller.token, sizeof seller.token, "%s",
                     json_string_value(json_object_get(res, "token")));
        }
        json_decref(res);
        /* a listing with a plain title and a hostile description */
        json_t *listing =
            json_pack("{s:s, s:o, s:s, s:I, s:s, s:I}", "title", "Plain lamp", "description",
                      raw(c, 4000), "category", "bikes", "unit_price_minor", (json_int_t)1000,
                      "currency", "USD", "quantity", (json_int_t)10);
        tried++;
        st = post(&m, seller.token, "/v1/listings", 0, listing, &res);
        char lst[72] = "";
        if (st == 201) {
            accepted++;
            snprintf(lst, sizeof lst, "%s", json_string_value(json_object_get(res, "id")));
        }
        json_decref(res);
        if (!lst[0])
            continue;
        /* an offer, a hostile counter-offer, the buyer's accept (only the party that did
         * not make the terms may accept them): a pending purchase */
        char neg[65] = "", pur[65] = "";
        if (e2e_offer(&m, &m.buyer, lst, 900, 1, "offer", 5, neg) != 201 || !neg[0])
            continue;
        char path[256];
        snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
        json_t *counter =
            json_pack("{s:s, s:I, s:I, s:o}", "kind", "counter", "unit_price_minor",
                      (json_int_t)950, "quantity", (json_int_t)1, "text", raw(c, 4000));
        tried++;
        accepted += post(&m, seller.token, path, 0, counter, NULL) == 201;
        if (e2e_accept(&m, &m.buyer, neg, pur) != 201 || !pur[0])
            continue;
        /* the operator's reasons: veto (by sup2), cap or hold, by turns */
        snprintf(path, sizeof path, "/v1/purchases/%s", pur);
        long long v = version_of(&m, path);
        char dpath[256];
        tried++;
        if (i % 2 == 0) {
            snprintf(dpath, sizeof dpath, "/v1/purchases/%s/veto", pur);
            accepted += post(&m, TESTSRV_TOKEN_SUP2, dpath, v,
                             json_pack("{s:o}", "reason", raw(c, 500)), NULL) == 200;
        } else {
            snprintf(dpath, sizeof dpath, "/v1/purchases/%s/cap", pur);
            accepted += post(&m, TESTSRV_TOKEN_SUP2, dpath, v,
                             json_pack("{s:I, s:o}", "max_unit_price_minor", (json_int_t)800,
                                       "reason", raw(c, 500)),
                             NULL) == 200;
        }
    }
    /* pause reasons, alert notes and the halt reason, with a few cases each */
    for (int i = 0; i < n; i += 3) {
        char path[256];
        snprintf(path, sizeof path, "/v1/agents/%s", m.buyer.id);
        long long v = version_of(&m, path);
        snprintf(path, sizeof path, "/v1/agents/%s/pause", m.buyer.id);
        tried++;
        accepted += post(&m, TESTSRV_TOKEN_SUP1, path, v,
                         json_pack("{s:o}", "reason", raw(&cases[i], 500)), NULL) == 200;
        snprintf(path, sizeof path, "/v1/agents/%s", m.buyer.id);
        v = version_of(&m, path);
        snprintf(path, sizeof path, "/v1/agents/%s/resume", m.buyer.id);
        post(&m, TESTSRV_TOKEN_SUP1, path, v, json_object(), NULL);
    }
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m.srv, TESTSRV_TOKEN_SUP1, "/v1/alerts?limit=1000", &r), 0);
    long long nalerts = testjson_len(r.body, "items");
    for (long long i = 0; i < nalerts && i < n; i++) {
        char p[64], id[72] = "", path[256];
        snprintf(p, sizeof p, "items.%lld.id", i);
        testjson_str(r.body, p, id, sizeof id);
        snprintf(p, sizeof p, "items.%lld.version", i);
        long long v = testjson_int(r.body, p);
        snprintf(path, sizeof path, "/v1/alerts/%s/ack", id);
        tried++;
        accepted += post(&m, TESTSRV_TOKEN_SUP2, path, v,
                         json_pack("{s:o}", "note", raw(&cases[i], 500)), NULL) == 200;
    }
    testhttp_resp_free(&r);
    /* the header shows the halt reason: the nastiest case that the server took */
    int halted_with = -1;
    for (int i = 0; i < n && halted_with < 0; i++) {
        if (strcmp(cases[i].name, "osc52_clipboard") && strcmp(cases[i].name, "csi_clear") &&
            strcmp(cases[i].name, "cr_overwrite"))
            continue;
        if (post(&m, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&m.srv),
                 json_pack("{s:o}", "reason", raw(&cases[i], 500)), NULL) == 200)
            halted_with = i;
    }
    assert_true(halted_with >= 0);
    tried++;
    accepted++;
    printf("hostile fields: %d objects and decisions tried, %d accepted by marketd (%d cases; "
           "halted with %s)\n",
           tried, accepted, n, cases[halted_with].name);
    assert_true(accepted > n * 2);
    assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
    walk_everything(t, n + 10);
    assert_clean(t, "FLEET HALTED");
    /* The anchor's amounts, unaltered, in its confirmation. */
    vt_send(t, "1");
    vt_send(t, "/");
    vt_send(t, anchor);
    vt_send(t, "\r");
    char want[96];
    snprintf(want, sizeof want, "%s v1", anchor);
    assert_true(e2e_wait(t, want, WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "total $2,367.00 USD", WAIT_MS));
    assert_true(e2e_wait(t, "from seller-e2e", WAIT_MS));
    vt_send(t, "n");
    assert_clean(t, "FLEET HALTED");
    vt_send(t, "\033q");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
    hostile_free(cases, n);
    e2e_market_stop(&m);
}

/* ---- a hostile server ------------------------------------------------------- */

typedef struct evil {
    int fd, port;
    pthread_t th;
    atomic_bool stop;
    const char *text; /* the hostile bytes (NUL-free part), JSON-escaped for bodies */
    char snapshot[32768];
    atomic_int posts;
} evil;

/* Sends one answer with a JSON body. */
static void answer(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     status, strlen(body));
    tproc_send_all(fd, head, (size_t)n);
    tproc_send_all(fd, body, strlen(body));
}

/* Serves one connection: whoami, snapshot, empty lists, a stream of heartbeats, and a
 * hostile 409 for every POST. */
static void evil_serve(evil *e, int fd)
{
    char req[16384];
    size_t n = 0;
    while (n < sizeof req - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return;
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (r <= 0)
            return;
        n += (size_t)r;
        req[n] = '\0';
        const char *end = strstr(req, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(req, "Content-Length: ");
            size_t body = cl ? (size_t)atol(cl + 16) : 0;
            if (n >= (size_t)(end + 4 - req) + body)
                break;
        }
    }
    char body[16384];
    if (!strncmp(req, "POST ", 5)) {
        atomic_fetch_add(&e->posts, 1);
        snprintf(body, sizeof body, "{\"error\":\"conflict\",\"message\":\"%s\"}", e->text);
        answer(fd, 409, body);
    } else if (strstr(req, "GET /v1/health")) { /* the market one-shot decisions bind to */
        answer(fd, 200, "{\"status\":\"ok\",\"epoch\":\"00000000000e0111\",\"seq\":0}");
    } else if (strstr(req, "GET /v1/whoami")) {
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"%s\"}", e->text, e->text);
        answer(fd, 200, body);
    } else if (strstr(req, "GET /v1/snapshot")) {
        answer(fd, 200, e->snapshot);
    } else if (!strncmp(req, "GET /v1/", 8) && strstr(req, "?limit=")) {
        answer(fd, 200, "{\"items\":[],\"next\":null}"); /* the lists `snapshot` pages */
    } else if (strstr(req, "GET /v1/events")) {
        const char *head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 2000\n\n";
        tproc_send_all(fd, head, strlen(head));
        while (!atomic_load(&e->stop)) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 300) > 0) {
                char b[256];
                if (recv(fd, b, sizeof b, 0) <= 0)
                    return;
            }
            tproc_send_all(fd, ": hb\n\n", 6);
        }
    } else {
        snprintf(body, sizeof body, "{\"error\":\"not_found\",\"message\":\"%s\"}", e->text);
        answer(fd, 404, body);
    }
}

/* The server thread: one connection at a time, each in a detached worker. */
typedef struct conn_arg {
    evil *e;
    int fd;
} conn_arg;

static void *evil_conn(void *ud)
{
    conn_arg *a = ud;
    evil_serve(a->e, a->fd);
    close(a->fd);
    free(a);
    return NULL;
}

static void *evil_main(void *ud)
{
    evil *e = ud;
    while (!atomic_load(&e->stop)) {
        struct pollfd p = {.fd = e->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(e->fd, NULL, NULL);
        if (c < 0)
            continue;
        conn_arg *a = malloc(sizeof *a);
        a->e = e;
        a->fd = c;
        pthread_t th;
        pthread_create(&th, NULL, evil_conn, a);
        pthread_detach(th);
    }
    return NULL;
}

/* JSON-escapes raw bytes for a body (\u00XX for controls; other bytes, even invalid
 * UTF-8, as they are: the client must cope with whatever arrives). */
static void json_escape(const char *s, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, size - o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

/* Fails unless the file (a process's stderr) holds no control byte but newline, no DEL,
 * and nothing vt_check_stream objects to. */
static void assert_stderr_clean(const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    static unsigned char buf[65536];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    for (size_t k = 0; k < len; k++)
        if ((buf[k] < 0x20 && buf[k] != '\n') || buf[k] == 0x7f)
            fail_msg("%s: control byte 0x%02x at %zu in dealdesk's stderr", name, buf[k], k);
    const char *why = vt_check_stream(buf, len, false);
    if (why)
        fail_msg("%s: stderr: %s", name, why);
}

/* Runs argv to its end with stdout and stderr into files; returns its exit status. */
static int run_to_end(const char *const *argv, const char *out, const char *err)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const char *av[32];
    size_t n = 0;
    for (; argv[n] && n < 31; n++)
        av[n] = argv[n];
    av[n] = NULL;
    pid_t pid;
    int rc = posix_spawn(&pid, av[0], &fa, NULL, (char *const *)(void *)av, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A server that says hostile things in its whoami, fleet reason and errors: the
 * console and the one-shot commands show them sanitised. */
static void test_hostile_server_messages(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    assert_true(n > 20);
    /* one real purchase object, from a real marketd, to put in the snapshot */
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--decide-timeout 3600"), 0);
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(&m, "Evil bike", "bikes", 12345, 2, pur, neg), 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m.srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    char *purchase = strdup(r.body);
    testhttp_resp_free(&r);
    const char *tmp = getenv("TEST_TMP");
    int checked = 0, rejected = 0;
    static const char *const picks[] = {"osc52_clipboard", "csi_clear", "raw_c1_csi",
                                        "cr_overwrite",    "bidi_rlo",  "invalid_overlong"};
    for (int i = 0; i < n; i++) {
        bool picked = false;
        for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
            picked |= !strcmp(cases[i].name, picks[k]);
        if (!picked)
            continue;
        static char esc[4096];
        json_escape(cases[i].bytes, cases[i].len > 600 ? 600 : cases[i].len, esc, sizeof esc);
        evil e = {.text = esc};
        snprintf(e.snapshot, sizeof e.snapshot,
                 "{\"epoch\":\"evil\",\"seq\":5,\"fleet\":{\"status\":\"halted\",\"reason\":\"%s\","
                 "\"by\":\"%s\",\"updated_at\":\"2026-11-26T10:02:11.345Z\"},\"purchases\":[%s]}",
                 esc, esc, purchase);
        e.fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(e.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t sl = sizeof sa;
        assert_int_equal(bind(e.fd, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_int_equal(listen(e.fd, 16), 0);
        getsockname(e.fd, (struct sockaddr *)&sa, &sl);
        e.port = ntohs(sa.sin_port);
        pthread_create(&e.th, NULL, evil_main, &e);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", e.port);

        /* headless first: the snapshot is taken (and printed as escaped JSON) */
        char sout[600], serr[600];
        snprintf(sout, sizeof sout, "%s/evil-snap.out", tmp);
        snprintf(serr, sizeof serr, "%s/evil-snap.err", tmp);
        const char *sargv[] = {
            getenv("DEALDESK_BIN"), "--url", url, "--token-file", m.sup1_file, "snapshot", NULL};
        int sst = run_to_end(sargv, sout, serr);
        assert_stderr_clean(serr, cases[i].name);
        if (sst != 0) {
            /* bytes that are not UTF-8 make the answer not JSON: refused, and said so */
            char e2[4096] = "";
            FILE *ef = fopen(serr, "r");
            if (ef) {
                e2[fread(e2, 1, sizeof e2 - 1, ef)] = '\0';
                fclose(ef);
            }
            if (!strstr(e2, "rejected"))
                fail_msg("%s: snapshot from the hostile server: exit %d: %s", cases[i].name, sst,
                         e2);
            rejected++;
            atomic_store(&e.stop, true);
            pthread_join(e.th, NULL);
            close(e.fd);
            continue;
        }

        /* the console: header, the purchase, an approval answered with a hostile 409 */
        vt *t = e2e_dealdesk_at(&m, url, 30, 100, m.sup1_file, NULL, NULL);
        assert_non_null(t);
        assert_true(e2e_wait(t, pur, WAIT_MS));
        assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
        vt_send(t, "a");
        assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
        vt_send(t, "y");
        int64_t deadline = tproc_now_ms() + WAIT_MS;
        while (atomic_load(&e.posts) == 0 && tproc_now_ms() < deadline)
            vt_pump(t, 50);
        assert_true(atomic_load(&e.posts) > 0);
        assert_true(e2e_wait(t, "409", WAIT_MS));
        vt_wait_quiet(t, 200, 3000);
        vt_send(t, "\r"); /* the detail, where the fleet reason and messages may show */
        vt_wait_quiet(t, 100, 2000);
        vt_send(t, "\033");
        vt_wait_quiet(t, 100, 2000);
        assert_clean(t, "FLEET HALTED");
        vt_send(t, "q");
        assert_int_equal(vt_wait_exit(t, 5000), 0);
        vt_free(t);

        /* one-shot commands: the server's message on stderr, sanitised */
        char out[600], err[600];
        snprintf(out, sizeof out, "%s/evil.out", tmp);
        snprintf(err, sizeof err, "%s/evil.err", tmp);
        const char *argv[] = {getenv("DEALDESK_BIN"),
                              "--url",
                              url,
                              "--token-file",
                              m.sup1_file,
                              "veto",
                              pur,
                              "--reason",
                              "x",
                              "--if-match",
                              "1",
                              NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        pid_t pid;
        assert_int_equal(
            posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(void *)argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        int st = 0;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        assert_stderr_clean(err, cases[i].name);
        char said[4096] = "";
        FILE *f = fopen(err, "r");
        if (f) {
            said[fread(said, 1, sizeof said - 1, f)] = '\0';
            fclose(f);
        }
        assert_non_null(strstr(said, "409"));
        atomic_store(&e.stop, true);
        pthread_join(e.th, NULL);
        close(e.fd);
        checked++;
    }
    printf("hostile server: %d cases in whoami, the fleet's reason and error messages: console "
           "stream clean, stderr clean; %d more not UTF-8: refused as not JSON, stderr clean\n",
           checked, rejected);
    assert_int_equal(checked + rejected, (int)(sizeof picks / sizeof picks[0]));
    assert_true(checked >= 4);
    free(purchase);
    hostile_free(cases, n);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_in_every_field),
        cmocka_unit_test(test_hostile_server_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
