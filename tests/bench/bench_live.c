/* bench_live.c: the real console (build/dealdesk) in a 120x40 pseudo-terminal, fed by a
 * small SSE feeder in this process (tests/lib/feeder.c) that serves /v1/health,
 * /v1/whoami, /v1/snapshot and /v1/events as docs/api.md describes, at an exact rate.
 *
 *   flood    5,000 events/s for 30 s (a live market's mix): the console's CPU share of
 *            one core (/proc/PID/task/x/schedstat), frames per second (write() calls to
 *            drawn, from the console's opt-in DEALDESK_STATS_FILE), bytes
 *            written to the terminal per second, and the delay from a marked event's
 *            send to its appearance on screen (p50/p99). Every 250th event is a new
 *            purchase pending approval; the header's "N pending" counts them, so marker k
 *            is on screen once the header says k or more.
 *   idle     60 s connected with no events, 5 purchases pending (countdowns on screen):
 *            CPU time, bytes and frames.
 *   bulk     start-up with a snapshot of 100,000 listings and 100,000 threads (time to
 *            the first frame, and to the first full frame with the snapshot), then
 *            1,000,000 messages (10 per thread) and 1,000,000 ledger entries through the
 *            stream: resident memory (VmRSS) after each, as bytes per object.
 *
 * Prints human lines and machine lines "BENCH|section|metric|value|unit|goal|verdict".
 * Usage: bench_live [flood|idle|bulk]... (default all three). Needs DEALDESK_BIN
 * (default build/dealdesk) and TEST_TMP (default /tmp).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/feeder.h"
#include "tests/lib/vt.h"

#define ROWS 40
#define COLS 120

/* ---- small helpers ---------------------------------------------------------------- */

/* One machine-readable figure. */
static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

/* ---- /proc readings of the console -------------------------------------------------- */

/* A field of /proc/PID/io ("syscw", "wchar"). */
static long long proc_io(pid_t pid, const char *key)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    long long v = -1;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = atoll(line + kl + 1);
    if (f)
        fclose(f);
    return v;
}

/* VmRSS of pid in bytes. */
static long long rss_bytes(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atoll(line + 6);
    if (f)
        fclose(f);
    return kb * 1024;
}

/* ---- the console ---------------------------------------------------------------------- */

static char stats_path[600];

/* Frames drawn and events applied so far, from the console's DEALDESK_STATS_FILE. */
static void console_stats(long long *frames, long long *events)
{
    *frames = *events = -1;
    FILE *fp = fopen(stats_path, "r");
    if (fp) {
        if (fscanf(fp, "frames %lld events %lld", frames, events) != 2)
            *frames = *events = -1;
        fclose(fp);
    }
}

/* Starts dealdesk in a 120x40 pty against the feeder. */
static vt *console_start(const feeder *f)
{
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char tok[600], url[64];
    snprintf(tok, sizeof tok, "%s/bench-token", tmp);
    int fd = open(tok, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "bench-token-0123456789\n", 23) != 23) {
        perror(tok);
        return NULL;
    }
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    const char *argv[] = {bin, "--url", url, "--token-file", tok, NULL};
    char stats_env[640];
    snprintf(stats_path, sizeof stats_path, "%s/bench-stats", tmp);
    unlink(stats_path);
    snprintf(stats_env, sizeof stats_env, "DEALDESK_STATS_FILE=%s", stats_path);
    const char *env[] = {"TERM=xterm-256color", "DEALDESK_URL=", "DEALDESK_TOKEN=", stats_env,
                         NULL};
    return vt_spawn(ROWS, COLS, argv, env);
}

typedef struct want_pending {
    long n;
} want_pending;

static bool pending_at_least(vt *t, void *ud)
{
    return vt_number_before(t, 1, " pending") >= ((want_pending *)ud)->n;
}

/* Waits until the console has opened the event stream. */
static bool stream_open(const feeder *f, int timeout_ms)
{
    double end = tproc_now_s() + timeout_ms / 1000.0;
    while (tproc_now_s() < end) {
        if (atomic_load(&f->streams) > 0)
            return true;
        tproc_pace(5);
    }
    return false;
}

/* Quits the console with q and frees it. */
static void console_quit(vt *t)
{
    vt_send(t, "q");
    if (vt_wait_exit(t, 5000) < 0)
        fprintf(stderr, "bench: dealdesk did not exit on q\n");
    vt_free(t);
}

/* ---- the scenarios ---------------------------------------------------------------------- */

/* 5,000 events/s for 30 s. */
static int run_flood(void)
{
    feeder f;
    if (feeder_start(&f, FEEDER_FLOOD, 20000, 20000) < 0)
        return -1;
    vt *t = console_start(&f);
    want_pending w0 = {0};
    if (!t || !vt_wait(t, pending_at_least, &w0, 20000) || !stream_open(&f, 20000)) {
        fprintf(stderr, "bench flood: the console did not come up\n");
        if (t)
            vt_dump(t, "flood");
        feeder_stop(&f);
        return -1;
    }
    vt_wait_quiet(t, 300, 3000);
    pid_t pid = vt_pid(t);
    vt_clear_output(t);
    double c0 = tproc_cpu_ns(pid);
    long long w0c, ev0, w1c = 0, ev1 = 0;
    console_stats(&w0c, &ev0);
    long long wb0 = proc_io(pid, "wchar");
    double t0 = tproc_now_s();
    atomic_store(&f.go, 1);
    double *delay = calloc(FEEDER_MAX_MARKS, sizeof *delay);
    long seen = 0;
    long long bytes = 0;
    double c1 = 0, t1 = 0;
    long long wb1 = 0;
    bool window_done = false;
    for (;;) {
        long r = vt_pump(t, 10);
        if (r < 0)
            break;
        bytes += window_done ? 0 : r;
        double now = tproc_now_s();
        long shown = vt_number_before(t, 1, " pending");
        int marks = atomic_load(&f.marks);
        for (; seen < shown && seen < marks && seen < FEEDER_MAX_MARKS; seen++)
            delay[seen] = (now - f.mark_at[seen]) * 1000.0;
        size_t cap;
        vt_output(t, &cap);
        if (cap > (8u << 20))
            vt_clear_output(t);
        if (!window_done && now - t0 >= f.seconds) {
            c1 = tproc_cpu_ns(pid);
            console_stats(&w1c, &ev1);
            wb1 = proc_io(pid, "wchar");
            t1 = now;
            window_done = true;
        }
        if (window_done && (seen >= marks || now - t1 > 5))
            break;
    }
    double secs = t1 - t0;
    long sent = atomic_load(&f.sent);
    int marks = atomic_load(&f.marks);
    double cpu_share = (c1 - c0) / 1e9 / secs * 100.0;
    double fps = (double)(w1c - w0c) / secs;
    qsort(delay, (size_t)seen, sizeof *delay, tproc_cmp_double);
    double p50 = tproc_quantile(delay, (size_t)seen, 0.50),
           p99 = tproc_quantile(delay, (size_t)seen, 0.99);
    char footer[4096];
    vt_row(t, ROWS - 1, footer, sizeof footer);
    printf("flood: %ld events sent in %.1f s (%.0f/s) to dealdesk at %dx%d; markers %d sent, %ld "
           "seen\n",
           sent, f.script_end > 0 ? f.script_end - f.script_start : secs,
           (double)sent / (f.script_end > 0 ? f.script_end - f.script_start : secs), COLS, ROWS,
           marks, seen);
    printf("flood: CPU %.2f s of %.1f s = %.1f%% of one core; %.1f frames/s; %lld events applied "
           "(%.0f/s); %.0f bytes/s to the terminal (pty read %lld, wchar %lld)\n",
           (c1 - c0) / 1e9, secs, cpu_share, fps, ev1 - ev0, (double)(ev1 - ev0) / secs,
           (double)bytes / secs, bytes, wb1 - wb0);
    printf("flood: arrival-to-screen delay p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%ld)\n", p50,
           p99, seen ? delay[seen - 1] : -1.0, seen);
    bench_line("flood", "events fed", (double)sent / secs, "events/s", "5000/s for 30 s", "info");
    bench_line("flood", "console CPU", cpu_share, "% of a core", "< 15%",
               cpu_share < 15 ? "met" : "missed");
    bench_line("flood", "frames", fps, "frames/s", "<= 30", fps <= 30.5 ? "met" : "missed");
    bench_line("flood", "terminal output", (double)bytes / secs / 1024.0, "KiB/s", "-", "info");
    bench_line("flood", "delay p50", p50, "ms", "-", "info");
    bench_line("flood", "delay p99", p99, "ms", "< 100 ms",
               seen > 0 && p99 < 100 && seen >= marks - 1 ? "met" : "missed");
    free(delay);
    console_quit(t);
    feeder_stop(&f);
    return 0;
}

/* 60 s connected, nothing happening, 5 countdowns on screen. */
static int run_idle(void)
{
    feeder f;
    if (feeder_start(&f, FEEDER_IDLE, 20000, 20000) < 0)
        return -1;
    atomic_store(&f.go, 1);
    vt *t = console_start(&f);
    want_pending w5 = {5};
    if (!t || !vt_wait(t, pending_at_least, &w5, 20000) || !stream_open(&f, 20000) ||
        !vt_wait_text(t, "live", 20000)) {
        fprintf(stderr, "bench idle: the console did not come up\n");
        if (t)
            vt_dump(t, "idle");
        feeder_stop(&f);
        return -1;
    }
    vt_wait_quiet(t, 1500, 5000);
    pid_t pid = vt_pid(t);
    double secs = getenv("BENCH_IDLE_SECONDS") ? atof(getenv("BENCH_IDLE_SECONDS")) : 60;
    double c0 = tproc_cpu_ns(pid), t0 = tproc_now_s();
    long long w0, e0, w1, e1;
    console_stats(&w0, &e0);
    long long bytes = 0;
    vt_clear_output(t);
    while (tproc_now_s() - t0 < secs) {
        long r = vt_pump(t, 200);
        if (r < 0)
            break;
        bytes += r;
    }
    double el = tproc_now_s() - t0, c1 = tproc_cpu_ns(pid);
    console_stats(&w1, &e1);
    double share = (c1 - c0) / 1e9 / el * 100.0;
    printf("idle: %.0f s connected, no events, 5 countdowns: CPU %.1f ms = %.3f%% of one core; "
           "%lld bytes written (%.0f bytes/s) in %lld frames (%.2f/s)\n",
           el, (c1 - c0) / 1e6, share, bytes, (double)bytes / el, w1 - w0, (double)(w1 - w0) / el);
    bench_line("idle", "console CPU", share, "% of a core", "< 0.1%",
               share < 0.1 ? "met" : "missed");
    bench_line("idle", "CPU time", (c1 - c0) / 1e6, "ms/60s", "-", "info");
    bench_line("idle", "terminal output", (double)bytes / el, "bytes/s", "countdowns only", "info");
    bench_line("idle", "frames", (double)(w1 - w0) / el, "frames/s", "1/s (countdowns)",
               (double)(w1 - w0) / el <= 1.1 ? "met" : "missed");
    console_quit(t);
    feeder_stop(&f);
    return 0;
}

/* Resident memory of a console that has applied a snapshot with one pending purchase. */
static long long rss_empty(void)
{
    feeder f;
    if (feeder_start(&f, FEEDER_EMPTY, 0, 0) < 0)
        return -1;
    vt *t = console_start(&f);
    want_pending w1 = {1};
    long long r = -1;
    if (t && vt_wait(t, pending_at_least, &w1, 20000)) {
        vt_wait_quiet(t, 500, 3000);
        r = rss_bytes(vt_pid(t));
    }
    if (t)
        console_quit(t);
    feeder_stop(&f);
    return r;
}

/* Start-up with 100k listings and 100k threads, then 1M messages and 1M ledger entries. */
static int run_bulk(void)
{
    long long r0 = rss_empty();
    feeder f;
    double b0 = tproc_now_s();
    if (feeder_start(&f, FEEDER_BULK, 100000, 100000) < 0)
        return -1;
    printf("bulk: snapshot of %d listings, %d threads, 300 agents, 1000 ledger entries: %.1f MB "
           "JSON (built in %.1f s)\n",
           f.nlist, f.nneg, (double)f.snaplen / 1e6, tproc_now_s() - b0);
    double t0 = tproc_now_s();
    vt *t = console_start(&f);
    if (!t || !vt_wait_text(t, "dealdesk", 20000)) {
        feeder_stop(&f);
        return -1;
    }
    double first = tproc_now_s() - t0;
    want_pending w = {1};
    if (!vt_wait(t, pending_at_least, &w, 60000)) {
        vt_dump(t, "bulk");
        console_quit(t);
        feeder_stop(&f);
        return -1;
    }
    double full = tproc_now_s() - t0;
    vt_wait_quiet(t, 500, 5000);
    pid_t pid = vt_pid(t);
    long long r1 = rss_bytes(pid);
    atomic_store(&f.go, 1);
    double s0 = tproc_now_s();
    w.n = 2;
    bool ok2 = vt_wait(t, pending_at_least, &w, 180000);
    double s1 = tproc_now_s();
    vt_wait_quiet(t, 300, 3000);
    long long r2 = rss_bytes(pid);
    w.n = 3;
    bool ok3 = ok2 && vt_wait(t, pending_at_least, &w, 180000);
    double s2 = tproc_now_s();
    vt_wait_quiet(t, 300, 3000);
    long long r3 = rss_bytes(pid);
    if (!ok3) {
        fprintf(stderr, "bench bulk: the console did not show the markers\n");
        vt_dump(t, "bulk");
    }
    printf("bulk: first frame %.3f s after start, first full frame with the snapshot %.3f s\n",
           first, full);
    printf("bulk: RSS %.1f MB (empty store) -> %.1f MB (snapshot) -> %.1f MB (+1M messages in "
           "%.1f s) -> %.1f MB (+1M ledger entries in %.1f s)\n",
           (double)r0 / 1e6, (double)r1 / 1e6, (double)r2 / 1e6, s1 - s0, (double)r3 / 1e6,
           s2 - s1);
    double per_pair = (double)(r1 - r0) / 100000.0;
    double per_msg = (double)(r2 - r1) / 1e6, per_led = (double)(r3 - r2) / 1e6;
    double total_objs = 100000.0 + 100000.0 + 1e6 + 1e6;
    printf("bulk: %.0f bytes per listing+thread pair, %.0f per message, %.0f per ledger entry; "
           "%.0f per object over all %.0f\n",
           per_pair, per_msg, per_led, (double)(r3 - r0) / total_objs, total_objs);
    bench_line("startup", "first frame", first * 1000, "ms", "-", "info");
    bench_line("startup", "first full frame (100k listings+threads)", full * 1000, "ms",
               "< 1000 ms", full < 1.0 ? "met" : "missed");
    bench_line("memory", "RSS, all loaded", (double)r3 / 1048576.0, "MiB",
               "100k listings, 100k threads x 10 msgs, 1M ledger", "info");
    bench_line("memory", "per listing+thread", per_pair, "bytes", "-", "info");
    bench_line("memory", "per message", per_msg, "bytes", "-", "info");
    bench_line("memory", "per ledger entry", per_led, "bytes", "-", "info");
    bench_line("memory", "per object (all)", (double)(r3 - r0) / total_objs, "bytes", "-", "info");
    if (ok3) {
        bench_line("ingest", "console applying messages", 1e6 / (s1 - s0), "events/s",
                   "stream as fast as read", "info");
        bench_line("ingest", "console applying ledger", 1e6 / (s2 - s1), "events/s",
                   "stream as fast as read", "info");
    }
    console_quit(t);
    feeder_stop(&f);
    return ok3 ? 0 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    int rc = 0;
    for (int i = 1; i <= (argc > 1 ? argc - 1 : 3); i++) {
        const char *what = argc > 1 ? argv[i] : (i == 1 ? "flood" : i == 2 ? "idle" : "bulk");
        if (strcmp(what, "flood") == 0)
            rc |= run_flood() != 0;
        else if (strcmp(what, "idle") == 0)
            rc |= run_idle() != 0;
        else if (strcmp(what, "bulk") == 0)
            rc |= run_bulk() != 0;
        else {
            fprintf(stderr, "usage: bench_live [flood|idle|bulk]...\n");
            return 2;
        }
    }
    return rc;
}
