/* bench_tail.c: `dealdesk tail` against `jq -c .` over the same events (issue 14).
 *
 * A feeder in this process (tests/lib/feeder.c) serves a small snapshot and an unpaced
 * flood (a live market's mix) on loopback. The events' JSON (the SSE data lines) is first
 * captured once into a file; then `dealdesk tail` reads N events from the feeder three
 * times, and `jq -c .` reads the captured file three times. Both write into a pipe this
 * process drains (counting lines), so both pay the same output; each run's CPU seconds
 * (user + system, from wait4) are the child's alone. Tail's figure includes its start-up
 * and its small snapshot (300 agents, 1,000 listings and threads).
 *
 * Prints human lines and machine lines "BENCH|section|metric|value|unit|goal|verdict".
 * Usage: bench_tail [N] (default 200,000 events). Needs DEALDESK_BIN (default
 * build/dealdesk), TEST_TMP (default /tmp) and jq on PATH (else only tail is measured).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/feeder.h"
#include "tests/lib/proc.h"

extern char **environ;

#define RUNS 3

/* One machine-readable figure. */
static void bench_line(const char *metric, double value, const char *unit, const char *goal,
                       const char *verdict)
{
    printf("BENCH|tail|%s|%.6g|%s|%s|%s\n", metric, value, unit, goal, verdict);
    fflush(stdout);
}

/* Reads the feeder's event stream on a plain socket and writes the data line of each of
 * the first n events to path, one per line. Returns 0 or -1. */
static int capture(const feeder *f, long n, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FILE *out = fopen(path, "w");
    if (fd < 0 || !out || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("capture");
        if (fd >= 0)
            close(fd);
        if (out)
            fclose(out);
        return -1;
    }
    const char *req = "GET /v1/events?after=1000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    tproc_send_all(fd, req, strlen(req));
    static char buf[1 << 20];
    size_t have = 0;
    long got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
        char *p = buf, *nl;
        while (got < n && (nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
            if (strncmp(p, "data: ", 6) == 0) {
                fwrite(p + 6, 1, (size_t)(nl + 1 - p - 6), out);
                got++;
            }
            p = nl + 1;
        }
        have -= (size_t)(p - buf);
        memmove(buf, p, have);
    }
    close(fd);
    fclose(out);
    return got == n ? 0 : -1;
}

/* Runs argv with stdin from in_path (or inherited when NULL) and stdout into a pipe this
 * process drains until `lines` lines came (then SIGTERM, and drained until it exits) or
 * the child exits; stderr into
 * err_path. Returns the child's CPU seconds (user + system), or -1 when it printed fewer
 * lines or could not start. */
static double run_counted(const char **argv, const char *in_path, const char *err_path, long lines)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_path)
        posix_spawn_file_actions_addopen(&fa, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    posix_spawn_file_actions_addclose(&fa, p[1]);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(void *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    static char buf[1 << 16];
    long got = 0;
    double deadline = tproc_now_s() + 300;
    while (got < lines && tproc_now_s() < deadline) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (poll(&pf, 1, 1000) <= 0)
            continue;
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            got += buf[i] == '\n';
    }
    kill(pid, SIGTERM);
    while (read(p[0], buf, sizeof buf) > 0) /* until it exits: it may be writing */
        ;
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        ;
    close(p[0]);
    if (got < lines) {
        fprintf(stderr, "bench_tail: %s printed %ld of %ld lines (see %s)\n", argv[0], got, lines,
                err_path);
        return -1;
    }
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Runs argv RUNS times; prints each run and returns the median CPU seconds (-1 on a
 * failed run). */
static double median_of_runs(const char *name, const char **argv, const char *in_path,
                             const char *err_path, long n)
{
    double s[RUNS];
    for (int i = 0; i < RUNS; i++) {
        s[i] = run_counted(argv, in_path, err_path, n);
        if (s[i] < 0)
            return -1;
    }
    qsort(s, RUNS, sizeof s[0], tproc_cmp_double);
    printf("%s: %ld events, CPU %.3f %.3f %.3f s, median %.3f s: %.0f events/s\n", name, n, s[0],
           s[1], s[2], s[1], n / s[1]);
    return s[1];
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    long n = argc > 1 ? atol(argv[1]) : 200000;
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    char tok[600], url[64], events[600], err[600];
    snprintf(tok, sizeof tok, "%s/bench-tail-token", tmp);
    snprintf(events, sizeof events, "%s/bench-tail-events.jsonl", tmp);
    snprintf(err, sizeof err, "%s/bench-tail.err", tmp);
    FILE *t = fopen(tok, "w");
    if (!t || fputs("bench-token-0123456789\n", t) < 0 || fclose(t) != 0) {
        perror(tok);
        return 1;
    }
    chmod(tok, 0600);
    feeder f;
    if (feeder_start(&f, FEEDER_FLOOD, 1000, 1000) < 0)
        return 1;
    f.rate = 1e7; /* unpaced: every stream sends as fast as its reader takes */
    f.seconds = (double)(n + 10000) / f.rate;
    atomic_store(&f.go, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    int rc = 1;
    if (capture(&f, n, events) < 0) {
        fprintf(stderr, "bench_tail: could not capture %ld events\n", n);
        goto out;
    }
    const char *tail_argv[] = {bin, "--url", url, "--token-file", tok, "tail", NULL};
    double ts = median_of_runs("dealdesk tail", tail_argv, NULL, err, n);
    if (ts < 0)
        goto out;
    bench_line("dealdesk tail (CPU, median of 3)", n / ts, "events/s", "-", "info");
    rc = 0;
    const char *jq_argv[] = {"jq", "-c", ".", NULL};
    double js = median_of_runs("jq -c .", jq_argv, events, err, n);
    if (js < 0) {
        printf("jq: not installed or failed (tools/deps.sh bench installs it)\n");
        goto out;
    }
    bench_line("jq -c . over the same events (median of 3)", n / js, "events/s", "-", "info");
    printf("dealdesk tail is %.2fx jq -c . (CPU seconds %.3f against %.3f)\n", js / ts, ts, js);
    bench_line("tail speed against jq -c .", js / ts, "x", ">= 1.2x",
               js / ts >= 1.2 ? "met" : "missed");
out:
    feeder_stop(&f);
    unlink(events);
    return rc;
}
