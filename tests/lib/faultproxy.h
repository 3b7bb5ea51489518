/* faultproxy.h: a TCP proxy on loopback that misbehaves on purpose.
 *
 * It sits between dealdesk and marketd in the fault tests: it can split every write
 * into single bytes, delay data, cut every connection, refuse new ones, stall (stop
 * forwarding without closing, like a server under SIGSTOP) and, the case that matters
 * most for money, forward a decision to the server and then drop the server's answer,
 * so that the client cannot know whether its decision was applied.
 *
 * It runs in its own thread; every setter is safe to call from the test's thread.
 */
#ifndef DEALDESK_TESTS_FAULTPROXY_H
#define DEALDESK_TESTS_FAULTPROXY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct faultproxy faultproxy;

enum faultproxy_mode {
    FAULTPROXY_SPLIT = 1u << 0,  /* forward one byte per write, both directions */
    FAULTPROXY_REFUSE = 1u << 1, /* accept and close new connections at once */
    FAULTPROXY_STALL = 1u << 2,  /* hold all data (connections stay open) */
};

typedef struct faultproxy_stats {
    uint64_t connections;       /* accepted */
    uint64_t bytes_up;          /* client -> server, forwarded */
    uint64_t bytes_down;        /* server -> client, forwarded */
    uint64_t responses_dropped; /* answers swallowed by faultproxy_drop_responses */
    uint64_t cuts;              /* connections closed by faultproxy_cut_all */
} faultproxy_stats;

/* Starts a proxy on 127.0.0.1 (a free port) to 127.0.0.1:upstream_port. Returns the
 * proxy (owned) or NULL. */
faultproxy *faultproxy_start(int upstream_port);

/* The port the proxy listens on. */
int faultproxy_port(const faultproxy *p);

/* Sets the mode bits (FAULTPROXY_*) and a delay applied to every chunk forwarded. */
void faultproxy_set(faultproxy *p, unsigned mode, int delay_ms);

/* For the next n requests whose request line contains needle (e.g. "/approve"):
 * forward the request, let the server answer, then close the client's connection
 * without passing a byte of the answer on. */
void faultproxy_drop_responses(faultproxy *p, int n, const char *needle);

/* Once a request whose bytes contain needle has been read, connects every new connection
 * to 127.0.0.1:upstream_port instead (open connections keep their server): another market
 * appears at the proxy's URL between two requests. */
void faultproxy_switch_after(faultproxy *p, const char *needle, int upstream_port);

/* Closes every open connection (both sides) now. */
void faultproxy_cut_all(faultproxy *p);

/* Copies the counters. */
void faultproxy_stats_get(faultproxy *p, faultproxy_stats *out);

/* Stops the thread, closes everything and frees the proxy. NULL is accepted. */
void faultproxy_stop(faultproxy *p);

#endif
