/* bench_decide.c: decisions through the real console against a real marketd on loopback.
 *
 * A purchase pending approval is made through the agent endpoints (testsrv_market_purchase:
 * the buyer offers, the seller accepts; approval threshold 0, so each one waits for an
 * operator). When the console shows it, the bench presses a (the confirmation opens,
 * bound to the version and amount), then y, and times from the y to the server's outcome
 * on screen (g first: the Pending pane keeps the settled ones below) : the status line's "approve
 * ID: done" (the server's answer) and the header's pending count back at 0 (the settled purchase
 * arrived through the event stream). Repeated N times (default 1,000); p50/p99/max of each.
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_decide [N]. Needs MARKETD_BIN and DEALDESK_BIN (defaults build/...).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"
#include "tests/lib/vt.h"

typedef struct outcome {
    const char *done; /* the status text of the server's answer */
    double t_done, t_gone;
} outcome;

/* vt_wait predicate: notes when the answer and the empty Pending count appear; true
 * when both did. */
static bool both_shown(vt *t, void *ud)
{
    outcome *o = ud;
    double now = tproc_now_s();
    if (o->t_done == 0 && vt_contains(t, o->done))
        o->t_done = now;
    if (o->t_gone == 0 && vt_number_before(t, 1, " pending") == 0)
        o->t_gone = now;
    return o->t_done > 0 && o->t_gone > 0;
}

static bool one_pending(vt *t, void *ud)
{
    (void)ud;
    return vt_number_before(t, 1, " pending") == 1;
}

static bool none_pending(vt *t, void *ud)
{
    (void)ud;
    return vt_number_before(t, 1, " pending") == 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n < 1 || n > 1000) /* the test listing holds 1,000 units: one per purchase */
        n = 1000;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    testsrv srv;
    if (testsrv_start(&srv, "--decide-timeout 3600") != 0)
        return 1;
    testsrv_market m;
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    if (!tok || testsrv_market_setup(&srv, &m, 0) != 0) {
        testsrv_stop(&srv);
        return 1;
    }
    const char *args[] = {bin, "--url", srv.url, "--token-file", tok, NULL};
    const char *env[] = {"TERM=xterm-256color", "DEALDESK_URL=", "DEALDESK_TOKEN=", NULL};
    vt *t = vt_spawn(40, 120, args, env);
    if (!t || !vt_wait(t, none_pending, NULL, 20000)) {
        fprintf(stderr, "bench_decide: the console did not come up\n");
        if (t)
            vt_dump(t, "decide");
        testsrv_stop(&srv);
        return 1;
    }
    double *done = calloc((size_t)n, sizeof *done), *gone = calloc((size_t)n, sizeof *gone);
    double *make = calloc((size_t)n, sizeof *make);
    int nd = 0, failed = 0;
    double start = tproc_now_s();
    for (int i = 0; i < n; i++) {
        char pur[72], title[128], msg[128];
        double a = tproc_now_s();
        if (testsrv_market_purchase(&srv, &m, 40000 + i, 1, pur) != 0) {
            fprintf(stderr, "bench_decide: purchase %d failed\n", i);
            break;
        }
        make[i] = (tproc_now_s() - a) * 1000.0;
        snprintf(title, sizeof title, "Approve %s (version 1)", pur);
        if (!vt_wait(t, one_pending, NULL, 10000)) {
            failed++;
            vt_dump(t, "decide: the purchase did not show");
            break;
        }
        vt_send(t, "g"); /* the top row: the one pending purchase (sorted by deadline) */
        vt_send(t, "a");
        if (!vt_wait_text(t, title, 10000) || !vt_wait_text(t, "N no (default)", 10000)) {
            failed++;
            vt_dump(t, "decide: no confirmation");
            break;
        }
        /* a person reads the box before pressing y: the screen is still for 100 ms */
        vt_wait_quiet(t, 100, 2000);
        snprintf(msg, sizeof msg, "approve %s: done", pur);
        outcome o = {.done = msg};
        double t0 = tproc_now_s();
        vt_send(t, "y");
        if (!vt_wait(t, both_shown, &o, 10000)) {
            failed++;
            vt_dump(t, "decide: no outcome");
            break;
        }
        done[nd] = (o.t_done - t0) * 1000.0;
        gone[nd] = (o.t_gone - t0) * 1000.0;
        nd++;
        size_t cap;
        vt_output(t, &cap);
        if (cap > (4u << 20))
            vt_clear_output(t);
    }
    double el = tproc_now_s() - start;
    qsort(done, (size_t)nd, sizeof *done, tproc_cmp_double);
    qsort(gone, (size_t)nd, sizeof *gone, tproc_cmp_double);
    qsort(make, (size_t)nd, sizeof *make, tproc_cmp_double);
    double full[2] = {tproc_quantile(done, nd, 0.99), tproc_quantile(gone, nd, 0.99)};
    double p99 = full[0] > full[1] ? full[0] : full[1];
    printf("decisions: %d approved through the console in %.1f s (%d failed)\n", nd, el, failed);
    printf("decisions: y -> server's answer on screen: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
           tproc_quantile(done, nd, 0.5), tproc_quantile(done, nd, 0.99), nd ? done[nd - 1] : -1);
    printf("decisions: y -> settled purchase off Pending (event stream): p50 %.1f ms, p99 %.1f "
           "ms, max %.1f ms\n",
           tproc_quantile(gone, nd, 0.5), tproc_quantile(gone, nd, 0.99), nd ? gone[nd - 1] : -1);
    printf("decisions: making each purchase (offer + accept, 2 HTTP requests): p50 %.1f ms, p99 "
           "%.1f ms\n",
           tproc_quantile(make, nd, 0.5), tproc_quantile(make, nd, 0.99));
    printf("BENCH|decide|decisions|%d|count|1000|%s\n", nd, nd == 1000 ? "info" : "missed");
    printf("BENCH|decide|y to answer p50|%.6g|ms|-|info\n", tproc_quantile(done, nd, 0.5));
    printf("BENCH|decide|y to answer p99|%.6g|ms|< 20 ms|%s\n", tproc_quantile(done, nd, 0.99),
           nd && tproc_quantile(done, nd, 0.99) < 20 ? "met" : "missed");
    printf("BENCH|decide|y to settled on screen p50|%.6g|ms|-|info\n",
           tproc_quantile(gone, nd, 0.5));
    printf("BENCH|decide|y to settled on screen p99|%.6g|ms|< 20 ms|%s\n",
           tproc_quantile(gone, nd, 0.99), nd && p99 < 20 ? "met" : "missed");
    vt_send(t, "q");
    vt_wait_exit(t, 5000);
    vt_free(t);
    free(done);
    free(gone);
    free(make);
    free(tok);
    testsrv_stop(&srv);
    return failed || nd < n ? 1 : 0;
}
