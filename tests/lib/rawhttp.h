/* rawhttp.h: HTTP over raw sockets from chosen loopback addresses, for the tests of
 * marketd's connection limits (tests/integration/test_security_http.c and
 * test_security_conns.c): what libcurl would hide (a request held half sent, the moment
 * the server closes) is what those tests look at.
 */
#ifndef DEALDESK_TESTS_RAWHTTP_H
#define DEALDESK_TESTS_RAWHTTP_H

#include <stdbool.h>
#include <stddef.h>

/* A blocking TCP connection from address src (port chosen by the kernel) to
 * 127.0.0.1:port, or -1. */
int dial_from(const char *src, int port);

/* The first occurrence of needle in hay ignoring ASCII case, or NULL. */
const char *find_nocase(const char *hay, const char *needle);

/* What a raw exchange gave: the bytes (NUL-terminated) and whether the server closed. */
typedef struct rawans {
    char text[16384];
    size_t len;
    bool closed;
} rawans;

/* Reads from fd until the server closes or timeout_ms passes, or (when stop_complete) an
 * answer with its Content-Length body is in. */
void read_raw(int fd, rawans *a, int timeout_ms, bool stop_complete);

/* Reads from fd until the head of an answer (up to its blank line) is in, the server
 * closes or timeout_ms passes; a "100 Continue" counts as a head. */
void read_head(int fd, rawans *a, int timeout_ms);

/* The status of a raw answer, or 0. */
int raw_status(const char *ans);

/* Whether the server closed fd within ms (reading and dropping what it sends). */
bool closed_within(int fd, int ms);

#endif
