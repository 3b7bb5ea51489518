/* whrecv.h: a webhook receiver on loopback, for the tests and the benchmark of marketd
 * --webhook (tests/integration/test_marketd_webhooks.c, tests/bench/bench_webhooks.c).
 *
 * A real HTTP server on 127.0.0.1 (a thread of its own) that answers each POST 200 and
 * records its head, body and when it arrived. It can be taken down (its socket stops
 * listening but keeps its port: connections are refused) and brought up again on the
 * same port, or made to hang (it accepts and never answers, until released).
 */
#ifndef DEALDESK_TESTS_WHRECV_H
#define DEALDESK_TESTS_WHRECV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct whrecv whrecv;

/* Starts a receiver on a free loopback port (up). NULL on failure. */
whrecv *whrecv_start(void);
/* Stops it and frees everything it recorded. */
void whrecv_stop(whrecv *r);
int whrecv_port(const whrecv *r);
/* Takes it down (connections refused) / brings it up again on the same port. 0 or -1. */
int whrecv_down(whrecv *r);
int whrecv_up(whrecv *r);
/* Hang (accept and hold each connection unanswered) or answer again (releases the held
 * connections: they close unanswered). */
void whrecv_hang(whrecv *r, bool on);
/* Waits up to timeout_s until at least one connection is held unanswered; true then. */
bool whrecv_wait_hung(whrecv *r, double timeout_s);
/* How many deliveries it recorded. */
int whrecv_count(whrecv *r);
/* Waits up to timeout_s until it has recorded more than n; returns how many it has. */
int whrecv_wait(whrecv *r, int n, double timeout_s);
/* Delivery i: head and body (borrowed: valid until whrecv_stop) and when it arrived
 * (tproc_now_s). False when there is no delivery i. */
bool whrecv_get(whrecv *r, int i, const char **head, const char **body, double *at);
/* The value of header name in head, copied into out (size bytes), or NULL. */
char *whrecv_header(const char *head, const char *name, char *out, size_t size);

#endif
