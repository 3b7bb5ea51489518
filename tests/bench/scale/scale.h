/* scale.h: what the parts of bench-scale share (tests/bench/bench_scale.c): marketd on the
 * fixture, the console in a pty, the header's truth and the figures' lines. */
#ifndef DEALDESK_TESTS_BENCH_SCALE_SCALE_H
#define DEALDESK_TESTS_BENCH_SCALE_SCALE_H

#include <stdbool.h>
#include <sys/types.h>

#include "tests/lib/vt.h"

/* marketd running on the fixture. */
typedef struct scale_server {
    pid_t pid;
    int port;
    char url[64];
    char tokens[600];     /* its operators (one supervisor) */
    char token_file[600]; /* that supervisor's secret, for dealdesk --token-file */
    char epoch[40];
    long long seq; /* at start (/v1/health) */
} scale_server;

/* One machine-readable figure: BENCH|section|metric|value|unit|goal|verdict. */
void scale_bench_line(const char *section, const char *metric, double value, const char *unit,
                      const char *goal, const char *verdict);

/* Starts the real dealdesk in a 120x40 pty against url as s's supervisor. */
vt *scale_console_start(const scale_server *s, const char *url);

/* Quits it with q and frees it. */
void scale_console_quit(vt *t);

/* True when the header is: live, the fixture's 500 pending, its 1,000 open alerts. */
bool scale_header_true(vt *t, void *ud);

/* The keys figures (tests/bench/scale/keys.c): 0, or -1 when they could not be taken. */
int scale_run_keys(const scale_server *s);

#endif
