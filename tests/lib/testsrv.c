/* testsrv.c: runs a real marketd for tests, and a small libcurl HTTP helper. */
#include "tests/lib/testsrv.h"
#include "tests/lib/pgtest.h"
#include "tests/lib/proc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTSRV_MAX_ARGS 48

/* Writes text into a new file at path with mode 0600. Returns 0 or -1. */
static int write_private_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    fchmod(fd, 0600);
    return close(fd);
}

/* Reaps s->pid, waiting up to ms milliseconds; returns its wait status, or -1 if it is
 * still running. */
static int reap_within(testsrv *s, int ms)
{
    int64_t deadline = tproc_now_ms() + ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid || (r < 0 && errno == ECHILD)) {
            s->pid = 0;
            return st;
        }
        if (tproc_now_ms() >= deadline)
            return -1;
        tproc_nap(10);
    }
}

/* Kills and reaps whatever is running, without a grace period. */
static void kill_now(testsrv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        s->pid = 0;
    }
}

/* Spawns marketd listening on listen_addr with s's files and args, reads the
 * listening line from its stdout and sets s->port and s->url. Returns 0 or -1. */
static int spawn_marketd(testsrv *s, const char *listen_addr)
{
    const char *bin = getenv("MARKETD_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "testsrv: MARKETD_BIN is not set\n");
        return -1;
    }
    char argbuf[sizeof s->args];
    snprintf(argbuf, sizeof argbuf, "%s", s->args);
    char *argv[TESTSRV_MAX_ARGS + 8];
    int argc = 0;
    char binbuf[1024], listen[64], o_listen[] = "--listen", o_db[] = "--db",
                                   o_tokens[] = "--tokens";
    snprintf(binbuf, sizeof binbuf, "%s", bin);
    snprintf(listen, sizeof listen, "%s", listen_addr);
    argv[argc++] = binbuf;
    argv[argc++] = o_listen;
    argv[argc++] = listen;
    argv[argc++] = o_db;
    argv[argc++] = s->db;
    argv[argc++] = o_tokens;
    argv[argc++] = s->tokens;
    char *save = NULL;
    for (char *t = strtok_r(argbuf, " \t", &save); t && argc < TESTSRV_MAX_ARGS + 7;
         t = strtok_r(NULL, " \t", &save))
        argv[argc++] = t;
    argv[argc] = NULL;

    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    /* fork + exec rather than posix_spawn: the child asks to be killed when the test
     * dies (PR_SET_PDEATHSIG), so that a failed assertion, which skips testsrv_stop,
     * never leaves a marketd running. Only async-signal-safe calls after fork. */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(pfd[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(bin, argv);
        _exit(127);
    }
    close(pfd[1]);
    if (pid < 0) {
        fprintf(stderr, "testsrv: cannot start %s: %s\n", bin, strerror(errno));
        close(pfd[0]);
        return -1;
    }
    s->pid = pid;

    /* Read until the listening line (or EOF, or the deadline). */
    char line[512];
    size_t len = 0;
    int64_t deadline = tproc_now_ms() + 20000;
    bool got = false;
    while (!got && tproc_now_ms() < deadline) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int n = poll(&p, 1, (int)(deadline - tproc_now_ms()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ssize_t r = read(pfd[0], line + len, sizeof line - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        line[len] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            const char *tag = "listening on http://127.0.0.1:";
            char *at = strstr(line, tag);
            if (at) {
                s->port = atoi(at + strlen(tag));
                got = s->port > 0;
                break;
            }
            size_t rest = len - (size_t)(nl + 1 - line);
            memmove(line, nl + 1, rest);
            len = rest;
            line[len] = '\0';
        }
        if (len >= sizeof line - 1)
            len = 0;
    }
    close(pfd[0]); /* marketd ignores SIGPIPE; it prints nothing else to stdout */
    if (!got) {
        fprintf(stderr, "testsrv: marketd did not report a listening port\n");
        kill_now(s);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);

    char health[128];
    snprintf(health, sizeof health, "%s/v1/health", s->url);
    while (tproc_now_ms() < deadline) {
        testhttp_resp r;
        if (testhttp("GET", health, NULL, NULL, NULL, &r) == 0 && r.status == 200) {
            testhttp_resp_free(&r);
            return 0;
        }
        testhttp_resp_free(&r);
        if (reap_within(s, 0) >= 0)
            break; /* it exited */
        tproc_nap(20);
    }
    fprintf(stderr, "testsrv: marketd did not become healthy\n");
    kill_now(s);
    return -1;
}

int testsrv_start(testsrv *s, const char *extra_args)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TEST_TMP");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(s->dir, sizeof s->dir, "%s/marketd.XXXXXX", tmp);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "testsrv: mkdtemp %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    snprintf(s->db, sizeof s->db, "%s/market.db", s->dir);
    /* the PostgreSQL run (tests/run.sh): a database of its own on the run's cluster */
    if (pgtest_engine() && pgtest_create(s->db, sizeof s->db) != 0)
        return -1;
    snprintf(s->tokens, sizeof s->tokens, "%s/tokens", s->dir);
    snprintf(s->args, sizeof s->args, "%s", extra_args ? extra_args : "");
    if (write_private_file(s->tokens, "# operators for tests\n"
                                      "sup1 supervisor " TESTSRV_TOKEN_SUP1 "\n"
                                      "sup2 supervisor " TESTSRV_TOKEN_SUP2 "\n"
                                      "view1 viewer " TESTSRV_TOKEN_VIEW1 "\n") != 0) {
        fprintf(stderr, "testsrv: cannot write %s\n", s->tokens);
        return -1;
    }
    return spawn_marketd(s, "127.0.0.1:0");
}

int testsrv_start_on(testsrv *s, const testsrv *first, const char *extra_args)
{
    return testsrv_start_on_port(s, first, 0, extra_args);
}

int testsrv_start_on_port(testsrv *s, const testsrv *first, int port, const char *extra_args)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TEST_TMP");
    snprintf(s->dir, sizeof s->dir, "%s/marketd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "testsrv: mkdtemp %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    s->guest = 1;
    snprintf(s->db, sizeof s->db, "%s", first->db);
    snprintf(s->tokens, sizeof s->tokens, "%s", first->tokens);
    snprintf(s->args, sizeof s->args, "%s", extra_args ? extra_args : "");
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    return spawn_marketd(s, addr);
}

int testsrv_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                       getsockname(fd, (struct sockaddr *)&a, &len) == 0
                   ? ntohs(a.sin_port)
                   : -1;
    if (fd >= 0)
        close(fd);
    return port;
}

void testsrv_kill9(testsrv *s)
{
    kill_now(s);
}

int testsrv_restart(testsrv *s)
{
    kill_now(s);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", s->port);
    int64_t deadline = tproc_now_ms() + 10000;
    while (tproc_now_ms() < deadline) {
        if (spawn_marketd(s, addr) == 0)
            return 0;
        tproc_nap(100); /* the port may still be in use for a moment */
    }
    return -1;
}

int testsrv_terminate(testsrv *s)
{
    if (s->pid <= 0)
        return -1;
    pid_t pid = s->pid;
    kill(pid, SIGTERM);
    int st = 0;
    int64_t deadline = tproc_now_ms() + 10000;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            s->pid = 0;
            return -1;
        }
        if (tproc_now_ms() >= deadline) {
            fprintf(stderr, "testsrv: marketd ignored SIGTERM for 10 s; killing it\n");
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        tproc_nap(10);
    }
    s->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

/* nftw callback: removes one entry. */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testsrv_stop(testsrv *s)
{
    if (s->pid > 0)
        testsrv_terminate(s);
    if (s->dir[0])
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    if (!s->guest && strncmp(s->db, "postgresql://", 13) == 0) { /* its database goes with it */
        pgtest_drop(s->db);
        s->db[0] = '\0';
    }
}

char *testsrv_token_file(testsrv *s, const char *token)
{
    static int counter;
    char path[700];
    snprintf(path, sizeof path, "%s/token-%d", s->dir, __atomic_add_fetch(&counter, 1, 0));
    size_t n = strlen(token);
    char *text = malloc(n + 2);
    if (!text)
        return NULL;
    memcpy(text, token, n);
    memcpy(text + n, "\n", 2);
    int rc = write_private_file(path, text);
    free(text);
    return rc == 0 ? strdup(path) : NULL;
}

/* ---- HTTP ---------------------------------------------------------------- */

typedef struct membuf {
    char *p;
    size_t len;
} membuf;

/* libcurl write/header callback: appends to a membuf. */
static size_t collect(char *data, size_t size, size_t nmemb, void *ud)
{
    membuf *b = ud;
    size_t n = size * nmemb;
    char *q = realloc(b->p, b->len + n + 1);
    if (!q)
        return 0;
    memcpy(q + b->len, data, n);
    b->len += n;
    q[b->len] = '\0';
    b->p = q;
    return n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

/* Initialises libcurl once per process. */
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int testhttp(const char *method, const char *url, const char *token, const char *const *headers,
             const char *body, testhttp_resp *out)
{
    memset(out, 0, sizeof *out);
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    membuf b = {0}, h = {0};
    struct curl_slist *hl = NULL;
    char auth[600];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, auth);
    }
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    out->body = b.p ? b.p : strdup("");
    out->headers = h.p ? h.p : strdup("");
    if (rc != CURLE_OK) {
        out->status = 0;
        return -1;
    }
    return 0;
}

void testhttp_resp_free(testhttp_resp *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

char *testhttp_header(const testhttp_resp *r, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\n");
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        if (linelen > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = linelen - (size_t)(v - p);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (size > 0) {
                size_t c = vl < size - 1 ? vl : size - 1;
                memcpy(out, v, c);
                out[c] = '\0';
            }
            return out;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    return NULL;
}

/* ---- conveniences ---------------------------------------------------------- */

void testsrv_key(char out[48])
{
    static unsigned long counter;
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST);
    snprintf(out, 48, "test-%ld-%lu-%lld", (long)getpid(), n, (long long)tproc_now_ms());
}

int testsrv_get(testsrv *s, const char *token, const char *path, testhttp_resp *out)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    return testhttp("GET", url, token, NULL, NULL, out);
}

int testsrv_post(testsrv *s, const char *token, const char *path, long long version,
                 const char *body, testhttp_resp *out)
{
    char url[1024], key[48], kh[80], ifm[64];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    testsrv_key(key);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"", version);
    const char *hdrs[3] = {kh, version > 0 ? ifm : NULL, NULL};
    return testhttp("POST", url, token, hdrs, body ? body : "{}", out);
}

long long testsrv_fleet_version(testsrv *s)
{
    testhttp_resp r = {0};
    long long v = 0;
    if (testsrv_get(s, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r) == 0 && r.status == 200)
        v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    return v > 0 ? v : 0;
}

/* Registers an agent from body; copies its id and token. Returns 0 or -1. */
static int register_agent(testsrv *s, const char *body, char id[72], char token[128])
{
    testhttp_resp r;
    int rc = -1;
    if (testsrv_post(s, TESTSRV_TOKEN_SUP1, "/v1/agents", 0, body, &r) == 0 && r.status == 201) {
        json_t *j = json_loads(r.body, 0, NULL);
        const char *i = json_string_value(json_object_get(json_object_get(j, "agent"), "id"));
        const char *t = json_string_value(json_object_get(j, "token"));
        if (i && t) {
            snprintf(id, 72, "%s", i);
            snprintf(token, 128, "%s", t);
            rc = 0;
        }
        json_decref(j);
    } else {
        fprintf(stderr, "testsrv: register agent: %ld %s\n", r.status, r.body);
    }
    testhttp_resp_free(&r);
    return rc;
}

/* Reads a string field of a JSON body (path of up to two keys) into out. */
static int body_field(const char *body, const char *k1, const char *k2, char *out, size_t size)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *v = json_object_get(j, k1);
    if (k2)
        v = json_object_get(v, k2);
    int rc = json_is_string(v) ? 0 : -1;
    if (rc == 0)
        snprintf(out, size, "%s", json_string_value(v));
    json_decref(j);
    return rc;
}

int testsrv_market_setup(testsrv *s, testsrv_market *t, long long approval_threshold_minor)
{
    memset(t, 0, sizeof *t);
    char body[1024];
    if (register_agent(
            s,
            "{\"name\":\"Seller\",\"principal\":\"Shop Ltd\",\"role\":\"seller\","
            "\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":0,"
            "\"per_deal_max_minor\":0,\"approval_threshold_minor\":0,\"max_quantity\":0},"
            "\"mandate\":{\"categories\":[]},\"addresses\":[]}",
            t->seller_id, t->seller_token) != 0)
        return -1;
    snprintf(body, sizeof body,
             "{\"name\":\"Buyer\",\"principal\":\"Ann\",\"role\":\"buyer\",\"currency\":\"USD\","
             "\"limits\":{\"spend_cap_minor\":100000000,\"per_deal_max_minor\":10000000,"
             "\"approval_threshold_minor\":%lld,\"max_quantity\":100},"
             "\"mandate\":{\"categories\":[\"bikes\"]},\"addresses\":[\"" TESTSRV_ADDRESS "\"]}",
             approval_threshold_minor);
    if (register_agent(s, body, t->buyer_id, t->buyer_token) != 0)
        return -1;
    testhttp_resp r;
    int rc = -1;
    if (testsrv_post(s, t->seller_token, "/v1/listings", 0,
                     "{\"title\":\"Trek FX 3 hybrid bike\",\"description\":\"Good condition\","
                     "\"category\":\"bikes\",\"unit_price_minor\":50000,\"currency\":\"USD\","
                     "\"quantity\":1000,\"floor_minor\":30000}",
                     &r) == 0 &&
        r.status == 201)
        rc = body_field(r.body, "id", NULL, t->listing_id, sizeof t->listing_id);
    else
        fprintf(stderr, "testsrv: listing: %ld %s\n", r.status, r.body);
    testhttp_resp_free(&r);
    return rc;
}

int testsrv_market_purchase(testsrv *s, testsrv_market *t, long long price, long long qty,
                            char pur_id[72])
{
    char body[512], neg[72], path[128];
    snprintf(
        body, sizeof body,
        "{\"listing_id\":\"%s\",\"unit_price_minor\":%lld,\"quantity\":%lld,\"text\":\"offer\"}",
        t->listing_id, price, qty);
    testhttp_resp r;
    if (testsrv_post(s, t->buyer_token, "/v1/negotiations", 0, body, &r) != 0 || r.status != 201 ||
        body_field(r.body, "negotiation", "id", neg, sizeof neg) != 0) {
        fprintf(stderr, "testsrv: negotiation: %ld %s\n", r.status, r.body);
        testhttp_resp_free(&r);
        return -1;
    }
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    int rc = -1;
    if (testsrv_post(s, t->seller_token, path, 0, "{\"kind\":\"accept\",\"text\":\"deal\"}", &r) ==
            0 &&
        r.status == 201)
        rc = body_field(r.body, "purchase", "id", pur_id, 72);
    else
        fprintf(stderr, "testsrv: accept: %ld %s\n", r.status, r.body);
    testhttp_resp_free(&r);
    return rc;
}

/* A fresh "bikes" listing of stock at 50000 and a purchase of qty on it. */
int testsrv_market_fresh_purchase(testsrv *s, testsrv_market *t, const char *title, long long stock,
                                  long long qty, char pur_id[72])
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"title\":\"%s\",\"description\":\"d\",\"category\":\"bikes\","
             "\"unit_price_minor\":50000,\"currency\":\"USD\",\"quantity\":%lld,"
             "\"floor_minor\":30000}",
             title, stock);
    testhttp_resp r = {0};
    if (testsrv_post(s, t->seller_token, "/v1/listings", 0, body, &r) != 0 || r.status != 201 ||
        !testjson_str(r.body, "id", t->listing_id, sizeof t->listing_id)) {
        fprintf(stderr, "testsrv: listing: %ld %s\n", r.status, r.body ? r.body : "");
        testhttp_resp_free(&r);
        return -1;
    }
    testhttp_resp_free(&r);
    return testsrv_market_purchase(s, t, 50000, qty, pur_id);
}

/* GET /v1/health's seq, or -1. */
long long testsrv_seq(testsrv *s)
{
    testhttp_resp r = {0};
    long long seq = -1;
    if (testsrv_get(s, NULL, "/v1/health", &r) == 0 && r.status == 200)
        seq = testjson_int(r.body, "seq");
    testhttp_resp_free(&r);
    return seq;
}

/* One metric's value from GET /metrics, or -1. */
long long testsrv_metric(testsrv *s, const char *name)
{
    testhttp_resp r = {0};
    long long n = -1;
    char key[96];
    snprintf(key, sizeof key, "\n%s ", name);
    if (testsrv_get(s, NULL, "/metrics", &r) == 0 && r.status == 200) {
        const char *p = strstr(r.body, key);
        if (p)
            n = atoll(p + strlen(key));
    }
    testhttp_resp_free(&r);
    return n;
}

/* ---- JSON paths -------------------------------------------------------------- */

/* Walks a dotted path in root (borrowed result, or NULL). */
static json_t *walk(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
        if (json_is_array(v)) {
            char *end;
            long i = strtol(k, &end, 10);
            v = *end ? NULL : json_array_get(v, (size_t)i);
        } else {
            v = json_object_get(v, k);
        }
    }
    return v;
}

long long testjson_int(const char *json, const char *path)
{
    json_t *root = json_loads(json ? json : "", 0, NULL);
    json_t *v = walk(root, path);
    long long r = json_is_integer(v) ? (long long)json_integer_value(v) : TESTJSON_NONE;
    json_decref(root);
    return r;
}

int testjson_str(const char *json, const char *path, char *out, size_t size)
{
    json_t *root = json_loads(json ? json : "", 0, NULL);
    json_t *v = walk(root, path);
    int ok = json_is_string(v);
    if (ok && size)
        snprintf(out, size, "%s", json_string_value(v));
    json_decref(root);
    return ok;
}

long long testjson_len(const char *json, const char *path)
{
    json_t *root = json_loads(json ? json : "", 0, NULL);
    json_t *v = walk(root, path);
    long long n = json_is_array(v)    ? (long long)json_array_size(v)
                  : json_is_object(v) ? (long long)json_object_size(v)
                                      : -1;
    json_decref(root);
    return n;
}

int testjson_null(const char *json, const char *path)
{
    json_t *root = json_loads(json ? json : "", 0, NULL);
    int r = json_is_null(walk(root, path));
    json_decref(root);
    return r;
}

/* Every item of the list path ("/v1/decisions", "/v1/listings?q=bike") as token reads
 * it, paged to the end, appended to arr. 0 or -1. */
static int list_all(testsrv *s, const char *token, const char *path, json_t *arr)
{
    char next[2200] = "";
    for (;;) {
        char url[4000];
        snprintf(url, sizeof url, "%s%slimit=1000%s%s", path, strchr(path, '?') ? "&" : "?",
                 next[0] ? "&after=" : "", next);
        testhttp_resp r = {0};
        json_t *page = NULL;
        if (testsrv_get(s, token, url, &r) == 0 && r.status == 200)
            page = json_loads(r.body, 0, NULL);
        else
            fprintf(stderr, "testsrv: GET %s: %ld %s\n", url, r.status, r.body ? r.body : "");
        testhttp_resp_free(&r);
        if (!page)
            return -1;
        json_array_extend(arr, json_object_get(page, "items"));
        const char *n = json_string_value(json_object_get(page, "next"));
        snprintf(next, sizeof next, "%s", n ? n : ""); /* a cursor needs no escaping */
        json_decref(page);
        if (!n)
            return 0;
    }
}

char *testsrv_list(testsrv *s, const char *token, const char *path)
{
    json_t *arr = json_array();
    char *text = list_all(s, token, path, arr) == 0 ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

char *testsrv_state(testsrv *s, const char *token)
{
    static const char *const lists[][2] = {{"listings", "/v1/listings"},
                                           {"negotiations", "/v1/negotiations"},
                                           {"purchases", "/v1/purchases"},
                                           {"alerts", "/v1/alerts"},
                                           {"decisions", "/v1/decisions"}};
    for (int attempt = 0; attempt < 50; attempt++) {
        testhttp_resp r = {0};
        json_t *snap = NULL;
        if (testsrv_get(s, token, "/v1/snapshot", &r) == 0 && r.status == 200)
            snap = json_loads(r.body, 0, NULL);
        testhttp_resp_free(&r);
        if (!snap)
            return NULL;
        bool ok = true;
        for (size_t i = 0; ok && i < sizeof lists / sizeof lists[0]; i++) {
            json_t *arr = json_array();
            ok = list_all(s, token, lists[i][1], arr) == 0;
            json_object_set_new(snap, lists[i][0], arr);
        }
        json_t *entries = json_array();
        ok = ok && list_all(s, token, "/v1/ledger", entries) == 0;
        json_object_set_new(json_object_get(snap, "ledger"), "entries", entries);
        /* the lists were read after the snapshot: the same state only when nothing moved */
        if (ok && testsrv_seq(s) == json_integer_value(json_object_get(snap, "seq"))) {
            char *text = json_dumps(snap, JSON_COMPACT);
            json_decref(snap);
            return text;
        }
        json_decref(snap);
    }
    return NULL;
}

int testsrv_load_sql(testsrv *s, const char *path)
{
    for (int i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", s->db, i == 0 ? "" : i == 1 ? "-wal" : "-shm");
        unlink(p);
    }
    FILE *f = fopen(path, "rb");
    char *text = f ? calloc(1, 1 << 22) : NULL;
    size_t n = text ? fread(text, 1, (1 << 22) - 1, f) : 0;
    if (f)
        fclose(f);
    sqlite3 *db = NULL;
    char *err = NULL;
    int rc = n > 0 && sqlite3_open(s->db, &db) == SQLITE_OK &&
                     sqlite3_exec(db, text, NULL, NULL, &err) == SQLITE_OK
                 ? 0
                 : -1;
    if (rc != 0)
        fprintf(stderr, "testsrv: %s: %s\n", path, err ? err : "cannot read it");
    sqlite3_free(err);
    sqlite3_close(db);
    free(text);
    return rc == 0 && chmod(s->db, 0600) == 0 ? 0 : -1;
}

int testsrv_sql(testsrv *s, const char *sqlite_sql, const char *pg_sql)
{
    if (strncmp(s->db, "postgresql://", 13) == 0)
        return pgtest_sql(s->db, pg_sql);
    sqlite3 *db = NULL;
    char *err = NULL;
    int n = -1;
    if (sqlite3_open(s->db, &db) == SQLITE_OK &&
        sqlite3_exec(db, sqlite_sql, NULL, NULL, &err) == SQLITE_OK)
        n = sqlite3_changes(db);
    else
        fprintf(stderr, "testsrv: %.80s: %s\n", sqlite_sql, err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return n;
}
