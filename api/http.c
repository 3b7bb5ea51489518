/* http.c: libcurl multi transfers (see http.h). */
#include "api/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A buffered answer larger than this is an error. A snapshot of a large market (100,000
 * listings and 100,000 threads: ~75 MB of JSON, tests/bench/bench_live.c) must fit. */
#define BODY_MAX (512u * 1024u * 1024u)

_Static_assert(sizeof((http_result *)0)->error >= CURL_ERROR_SIZE,
               "http_result.error holds libcurl's error buffer");

struct http_req {
    http *h;
    CURL *easy;
    struct curl_slist *hdrs;
    http_data_fn on_data;
    void *ud;
    uintptr_t tag;
    char *body;
    size_t len, cap;
    bool too_big;
    bool done;
    http_result res; /* error is libcurl's CURLOPT_ERRORBUFFER */
    uint64_t bytes;
    http_req *next;                  /* in the done list */
    http_req *live_prev, *live_next; /* in the list of transfers on the multi handle */
};

struct http {
    CURLM *multi;
    size_t running;
    http_req *live; /* transfers on the multi handle */
    http_req *done_head, *done_tail;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* curl_global_init, once. */
static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

http *http_new(void)
{
    pthread_once(&init_once, global_init);
    http *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h);
        return NULL;
    }
    return h;
}

/* Takes a transfer off the list of live ones. */
static void live_unlink(http_req *r)
{
    if (r->live_prev)
        r->live_prev->live_next = r->live_next;
    else if (r->h)
        r->h->live = r->live_next;
    if (r->live_next)
        r->live_next->live_prev = r->live_prev;
    r->live_prev = r->live_next = NULL;
}

void http_req_free(http_req *r)
{
    if (!r)
        return;
    if (r->easy) {
        if (!r->done && r->h) {
            curl_multi_remove_handle(r->h->multi, r->easy);
            r->h->running--;
            live_unlink(r);
        }
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r);
}

void http_free(http *h)
{
    if (!h)
        return;
    /* Transfers still running are found through the multi handle's easy handles. */
    while (h->live)
        http_req_free(h->live);
    while (h->done_head) {
        http_req *r = h->done_head;
        h->done_head = r->next;
        http_req_free(r);
    }
    curl_multi_cleanup(h->multi);
    free(h);
}

/* Appends to the buffered body, bounded. */
static void buffer_add(http_req *r, const char *p, size_t n)
{
    if (r->too_big)
        return;
    if (r->len + n + 1 > BODY_MAX) {
        r->too_big = true;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t nc = r->cap ? r->cap : 4096;
        while (nc < r->len + n + 1)
            nc *= 2;
        char *b = realloc(r->body, nc);
        if (!b) {
            r->too_big = true;
            return;
        }
        r->body = b;
        r->cap = nc;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
}

/* libcurl's write callback: hands bytes on, nothing else. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb;
    r->bytes += n;
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (r->on_data && code >= 200 && code < 300)
        r->on_data(r->ud, p, n);
    else
        buffer_add(r, p, n);
    return n;
}

/* libcurl's header callback: notes Idempotent-Replayed. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    http_req *r = ud;
    size_t n = size * nmemb;
    static const char name[] = "idempotent-replayed:";
    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        const char *v = p + sizeof name - 1;
        while (*v == ' ' || *v == '\t')
            v++;
        r->res.replayed = strncasecmp(v, "true", 4) == 0;
    }
    /* A new response (after a redirect or 100-continue) resets it. */
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        r->res.replayed = false;
    return n;
}

/* True when curl refused the server's certificate: never worth retrying. */
static bool is_tls_refusal(CURLcode res)
{
    return res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE ||
           res == CURLE_SSL_ISSUER_ERROR || res == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
}

/* True when a failed transfer certainly never delivered its request: no connection
 * (name not resolved, refused, TLS handshake failed or refused), or no byte of the request
 * written (libcurl's CURLINFO_REQUEST_SIZE counts what was sent). Used to tell a decision
 * "not sent" from "outcome unknown" (api/client_req.c). */
static bool is_not_sent(CURLcode res, CURL *e)
{
    if (res == CURLE_COULDNT_RESOLVE_HOST || res == CURLE_COULDNT_RESOLVE_PROXY ||
        res == CURLE_COULDNT_CONNECT || res == CURLE_SSL_CONNECT_ERROR || is_tls_refusal(res))
        return true;
    long sent = 1;
    return curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent == 0;
}

/* The kind of a transport failure (the OS error tells a refusal from no route). */
static http_failure failure_of(CURLcode res, long os_errno)
{
    switch (res) {
        case CURLE_OK: return HTTP_FAIL_NONE;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: return HTTP_FAIL_DNS;
        case CURLE_COULDNT_CONNECT:
            return os_errno == ECONNREFUSED || os_errno == 0 ? HTTP_FAIL_REFUSED
                                                             : HTTP_FAIL_UNREACHABLE;
        case CURLE_OPERATION_TIMEDOUT: return HTTP_FAIL_TIMEOUT;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER: return HTTP_FAIL_TLS;
        default: return HTTP_FAIL_OTHER;
    }
}

/* Builds the easy handle of a request. Returns 0 or -1. */
static int setup(http_req *r, const char *method, const char *url, const char *token,
                 const char *const *headers, const char *body, long timeout_ms)
{
    CURL *e = r->easy = curl_easy_init();
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->res.error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "dealdesk/1");
    /* TLS verification is libcurl's default (on); nothing here turns it off. */
    if (timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    struct curl_slist *l = NULL, *t;
    if (token && *token) {
        char auth[600];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        t = curl_slist_append(l, auth);
        memset(auth, 0, sizeof auth);
        if (!t)
            return -1;
        l = t;
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        if (!(t = curl_slist_append(l, headers[i]))) {
            curl_slist_free_all(l);
            return -1;
        }
        l = t;
    }
    if (body) {
        if (!(t = curl_slist_append(l, "Content-Type: application/json"))) {
            curl_slist_free_all(l);
            return -1;
        }
        l = t;
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (!(t = curl_slist_append(l, "Expect:"))) {
        curl_slist_free_all(l);
        return -1;
    }
    l = t;
    r->hdrs = l;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
    if (strcmp(method, "GET") != 0 && !body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    return 0;
}

http_req *http_start(http *h, const char *method, const char *url, const char *token,
                     const char *const *headers, const char *body, http_data_fn on_data, void *ud,
                     long timeout_ms, uintptr_t tag)
{
    http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->on_data = on_data;
    r->ud = ud;
    r->tag = tag;
    if (setup(r, method, url, token, headers, body, timeout_ms) < 0 ||
        curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        r->done = true; /* never added */
        http_req_free(r);
        return NULL;
    }
    r->h = h;
    h->running++;
    r->live_next = h->live;
    if (h->live)
        h->live->live_prev = r;
    h->live = r;
    return r;
}

uintptr_t http_req_tag(const http_req *r)
{
    return r->tag;
}

void http_cancel(http *h, http_req *r)
{
    if (!r)
        return;
    if (r->done) {
        /* Finished but maybe not collected: unlink it from the done list. */
        http_req **pp = &h->done_head;
        h->done_tail = NULL;
        while (*pp) {
            if (*pp == r)
                *pp = r->next;
            else {
                h->done_tail = *pp;
                pp = &(*pp)->next;
            }
        }
    }
    http_req_free(r);
}

int http_wait(http *h, const int *fds, size_t nfds, int timeout_ms, unsigned *ready)
{
    struct curl_waitfd w[32];
    if (nfds > 32)
        nfds = 32;
    for (size_t i = 0; i < nfds; i++) {
        w[i].fd = fds[i];
        w[i].events = CURL_WAIT_POLLIN;
        w[i].revents = 0;
    }
    if (timeout_ms < 0)
        timeout_ms = 60000;
    int numfds = 0;
    CURLMcode rc = curl_multi_poll(h->multi, w, (unsigned)nfds, timeout_ms, &numfds);
    unsigned bits = 0;
    for (size_t i = 0; i < nfds; i++)
        if (w[i].revents)
            bits |= 1u << i;
    if (ready)
        *ready = bits;
    return rc == CURLM_OK ? 0 : -1;
}

void http_wakeup(http *h)
{
    curl_multi_wakeup(h->multi);
}

void http_perform(http *h)
{
    int still = 0;
    curl_multi_perform(h->multi, &still);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        http_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        CURLcode res = m->data.result;
        curl_multi_remove_handle(h->multi, r->easy);
        h->running--;
        live_unlink(r);
        r->done = true;
        if (res == CURLE_OK) {
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->res.status);
            if (r->too_big) {
                r->res.status = 0;
                r->res.failure = HTTP_FAIL_OTHER;
                snprintf(r->res.error, sizeof r->res.error, "answer too large");
            }
        } else {
            r->res.status = 0;
            r->res.tls_refused = is_tls_refusal(res);
            r->res.not_sent = is_not_sent(res, r->easy);
            long os_errno = 0;
            curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
            r->res.failure = failure_of(res, os_errno);
            if (!r->res.error[0])
                snprintf(r->res.error, sizeof r->res.error, "%s", curl_easy_strerror(res));
        }
        r->next = NULL;
        if (h->done_tail)
            h->done_tail->next = r;
        else
            h->done_head = r;
        h->done_tail = r;
    }
}

http_req *http_next_done(http *h)
{
    http_req *r = h->done_head;
    if (!r)
        return NULL;
    h->done_head = r->next;
    if (!h->done_head)
        h->done_tail = NULL;
    r->next = NULL;
    r->h = NULL;
    return r;
}

size_t http_running(const http *h)
{
    return h->running;
}

const http_result *http_req_result(const http_req *r)
{
    return &r->res;
}

const char *http_req_body(const http_req *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->body ? r->body : "";
}

uint64_t http_req_bytes(const http_req *r)
{
    return r->bytes;
}

long http_req_status_now(const http_req *r)
{
    long code = 0;
    if (r->easy)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

void http_url_hostport(const char *url, char *out, size_t size)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(out, size, "%s:%s", host, port);
    else
        snprintf(out, size, "%s", url);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

int http_request_sync(const char *method, const char *url, const char *token, const char *body,
                      long timeout_ms, long *status, char **resp, size_t *resplen, char *err,
                      size_t errsz)
{
    pthread_once(&init_once, global_init);
    http_req *r = calloc(1, sizeof *r);
    *resp = NULL;
    *status = 0;
    if (!r || setup(r, method, url, token, NULL, body, timeout_ms) < 0) {
        snprintf(err, errsz, "out of memory");
        if (r)
            r->done = true;
        http_req_free(r);
        return -1;
    }
    r->done = true; /* not on a multi handle */
    CURLcode res = curl_easy_perform(r->easy);
    int rc = 0;
    if (res != CURLE_OK || r->too_big) {
        snprintf(err, errsz, "%s",
                 r->too_big        ? "answer too large"
                 : r->res.error[0] ? r->res.error
                                   : curl_easy_strerror(res));
        rc = !r->too_big && is_tls_refusal(res) ? -2 : -1;
    } else {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, status);
        *resp = r->body ? r->body : strdup("");
        if (resplen)
            *resplen = r->len;
        r->body = NULL;
    }
    http_req_free(r);
    return rc;
}

void http_url_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}
