/* http.h: HTTP transfers on one libcurl multi handle (the only file that sees libcurl).
 *
 * A transfer either streams its body to a callback (the event stream, whose bytes go to
 * the SSE parser) or collects it into a buffer. http_wait() is the program's one wait;
 * http_perform() moves the transfers on; finished ones are collected with
 * http_next_done(). TLS verification stays on; proxies come from the usual environment
 * variables (libcurl's default). The Authorization header is never logged.
 */
#ifndef DEALDESK_API_HTTP_H
#define DEALDESK_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http http;
typedef struct http_req http_req;

/* Receives body bytes of a streaming transfer (only when the status is 2xx; other
 * answers are buffered). Called from inside http_perform(): it must only record. */
typedef void (*http_data_fn)(void *ud, const char *buf, size_t n);

/* Returns a new multi handle (owned), or NULL. Initialises libcurl once per process. */
http *http_new(void);

/* Frees the handle and every transfer still on it. */
void http_free(http *h);

/* Starts a transfer. method "GET"/"POST"; token may be NULL; headers NULL-terminated
 * "Name: value" strings or NULL; body NULL for none; on_data NULL buffers the body;
 * timeout_ms 0 = none. tag is the caller's, given back by http_req_tag(). Returns the
 * transfer (owned by h until it is done and collected), or NULL. */
http_req *http_start(http *h, const char *method, const char *url, const char *token,
                     const char *const *headers, const char *body, http_data_fn on_data, void *ud,
                     long timeout_ms, uintptr_t tag);

/* Cancels a transfer and frees it (done or not). */
void http_cancel(http *h, http_req *r);

/* Waits for libcurl's sockets or the extra fds (bit i of *ready set when fds[i] is
 * readable) or timeout_ms. Returns 0 or -1. */
int http_wait(http *h, const int *fds, size_t nfds, int timeout_ms, unsigned *ready);

/* Wakes a http_wait() in progress (from another thread or a signal-safe context). */
void http_wakeup(http *h);

/* Moves every transfer on (never blocks). */
void http_perform(http *h);

/* Returns the next finished transfer (owned by the caller now: http_req_free), or NULL. */
http_req *http_next_done(http *h);

/* Number of transfers in progress. */
size_t http_running(const http *h);

/* Why a transfer got no HTTP answer, as a kind the caller can show and act on. */
typedef enum http_failure {
    HTTP_FAIL_NONE,        /* an HTTP answer came (or the transfer is not done) */
    HTTP_FAIL_REFUSED,     /* the server refused the connection (nothing listens) */
    HTTP_FAIL_UNREACHABLE, /* no route to the server */
    HTTP_FAIL_DNS,         /* the host name did not resolve */
    HTTP_FAIL_TLS,         /* the TLS handshake failed or the certificate was refused */
    HTTP_FAIL_TIMEOUT,     /* connecting or the answer took too long */
    HTTP_FAIL_OTHER        /* anything else (see error) */
} http_failure;

/* The result of a finished transfer (http_req_result). */
typedef struct http_result {
    long status;          /* the HTTP status; 0: no HTTP answer (transport error) */
    http_failure failure; /* why there was no answer */
    char error[256];      /* the transport's message when there was none, else "" */
    bool replayed;        /* Idempotent-Replayed: true */
    /* The server's certificate was not trusted: the TLS handshake failed, so no byte of
     * the request reached the server, and trying again cannot succeed. */
    bool tls_refused;
    /* The transfer failed before any byte of the request reached the network (no
     * connection, TLS refused, nothing written): the server cannot have acted on it. */
    bool not_sent;
} http_result;

/* The result of a finished transfer (borrowed, as long as the transfer lives). */
const http_result *http_req_result(const http_req *r);
/* The buffered body of a finished transfer (borrowed; NUL-terminated; "" for none). */
const char *http_req_body(const http_req *r, size_t *len);
/* The tag given to http_start(). */
uintptr_t http_req_tag(const http_req *r);
/* Bytes received so far (streaming transfers count what went to on_data). */
uint64_t http_req_bytes(const http_req *r);
/* The status of a transfer still running (0 before the headers). */
long http_req_status_now(const http_req *r);
void http_req_free(http_req *r);

/* host:port of a URL (for the header), or the URL itself. */
void http_url_hostport(const char *url, char *out, size_t size);

/* Percent-encodes s for a URL's query into out (RFC 3986's unreserved characters are
 * kept; what does not fit in size is cut at a whole character). */
void http_url_encode(const char *s, char *out, size_t size);

/* Blocking one-shot request for headless commands: returns 0 when an HTTP answer came
 * (status set, *body owned, NUL-terminated), -1 on a transport error worth retrying,
 * -2 when the server's certificate was refused (message in err either way). */
int http_request_sync(const char *method, const char *url, const char *token, const char *body,
                      long timeout_ms, long *status, char **resp, size_t *resplen, char *err,
                      size_t errsz);

#endif
