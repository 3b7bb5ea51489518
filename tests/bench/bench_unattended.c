/* bench_unattended.c: how long after the last console disconnects the unattended switch
 * acts (issue 16), against a real marketd on loopback with --unattended 5.
 *
 * Each trial: a console (an event stream with ?console=1, on a raw socket) reports
 * keyboard input (POST /v1/presence), so a supervisor is present and the market attended;
 * the bench notes the wall clock, closes the console's socket, and reads the Fleet until
 * its unattended.since is set. The figure is since (marketd's clock, the same machine)
 * minus the moment of the close: the 5 s of the flag plus how late marketd noticed the
 * console had gone (it looks at suspended console streams every tick, 100 ms) and the
 * tick that acts. Then with 5:halt, until the fleet is halted by "market".
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_unattended [N] (trials of restrict, default 5). Needs MARKETD_BIN.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/clock.h"
#include "tests/lib/rawhttp.h"
#include "tests/lib/testsrv.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A console of sup1 that has reported input: its socket, or -1. */
static int console_open(testsrv *s)
{
    int fd = dial_from("127.0.0.1", s->port);
    if (fd < 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events?console=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                     "Bearer %s\r\n\r\n",
                     TESTSRV_TOKEN_SUP1);
    rawans a;
    if (write(fd, req, (size_t)n) != n || (read_head(fd, &a, 5000), raw_status(a.text) != 200)) {
        close(fd);
        return -1;
    }
    testhttp_resp r;
    bool ok = testsrv_post(s, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", &r) == 0 &&
              r.status == 200 && testjson_len(r.body, "supervisors") == 1;
    testhttp_resp_free(&r);
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads the fleet until pred holds (30 s at most): the fleet's JSON (owned), or NULL. */
static char *fleet_until(testsrv *s, bool (*pred)(const char *fleet))
{
    int64_t t0 = wall_ms();
    while (wall_ms() - t0 < 30000) {
        testhttp_resp r;
        if (testsrv_get(s, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r) == 0 && r.status == 200 &&
            pred(r.body)) {
            char *b = r.body;
            r.body = NULL;
            testhttp_resp_free(&r);
            return b;
        }
        testhttp_resp_free(&r);
        nap_ms(10);
    }
    return NULL;
}

static bool attended(const char *f)
{
    return testjson_null(f, "unattended.since") == 1;
}
static bool unattended(const char *f)
{
    return testjson_null(f, "unattended.since") == 0;
}
static bool halted(const char *f)
{
    char st[16];
    return testjson_str(f, "status", st, sizeof st) && strcmp(st, "halted") == 0;
}

/* One trial: present, then the console closes; ms from the close to since (and, with
 * halt, to the fleet's updated_at of the halt). -1 on failure. */
static double trial(testsrv *s, bool halt)
{
    int fd = console_open(s);
    char *f = fd >= 0 ? fleet_until(s, attended) : NULL;
    if (!f)
        return -1;
    free(f);
    int64_t closed = wall_ms();
    close(fd);
    f = fleet_until(s, halt ? halted : unattended);
    char at[40];
    int64_t ms = -1;
    if (f && testjson_str(f, halt ? "updated_at" : "unattended.since", at, sizeof at))
        clock_parse_rfc3339(at, &ms);
    free(f);
    return ms < 0 ? -1 : (double)(ms - closed);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    if (n < 1 || n > 100)
        n = 5;
    testsrv s;
    if (testsrv_start(&s, "--unattended 5") != 0)
        return 1;
    double v[100];
    for (int i = 0; i < n; i++) {
        if ((v[i] = trial(&s, false)) < 0) {
            fprintf(stderr, "bench_unattended: trial %d failed\n", i);
            testsrv_stop(&s);
            return 1;
        }
        printf("restrict trial %d: acted %.0f ms after the last console closed\n", i + 1, v[i]);
    }
    testsrv_stop(&s);
    qsort(v, (size_t)n, sizeof v[0], cmp_d);
    if (testsrv_start(&s, "--unattended 5:halt") != 0)
        return 1;
    double h = trial(&s, true);
    testsrv_stop(&s);
    if (h < 0) {
        fprintf(stderr, "bench_unattended: the halt trial failed\n");
        return 1;
    }
    printf("halt: the fleet halted %.0f ms after the last console closed\n", h);
    printf(
        "BENCH|unattended|--unattended 5: close to restrict, min|%.0f|ms|5000 + detection|info\n",
        v[0]);
    printf("BENCH|unattended|--unattended 5: close to restrict, median of %d|%.0f|ms|< 5200|%s\n",
           n, v[n / 2], v[n / 2] < 5200 ? "met" : "missed");
    printf("BENCH|unattended|--unattended 5: close to restrict, max|%.0f|ms|< 5200|%s\n", v[n - 1],
           v[n - 1] < 5200 ? "met" : "missed");
    printf("BENCH|unattended|--unattended 5:halt: close to halted|%.0f|ms|< 5200|%s\n", h,
           h < 5200 ? "met" : "missed");
    return 0;
}
