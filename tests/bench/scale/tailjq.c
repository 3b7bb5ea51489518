/* tailjq.c: `dealdesk tail` against `jq -c .` on the fixture's events; see tailjq.h. */
#include "tests/bench/scale/tailjq.h"

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
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/proc.h"

extern char **environ;

#define RUNS 3

static void bench_line(const char *metric, double value, const char *unit, const char *goal,
                       const char *verdict)
{
    printf("BENCH|tail|%s|%.6g|%s|%s|%s\n", metric, value, unit, goal, verdict);
    fflush(stdout);
}

/* Reads marketd's stream after seq `after` on a plain socket and writes the data line of
 * each of the first n events to path, one per line. Returns 0 or -1. */
static int capture(int port, const char *token, long long after, long n, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FILE *out = fopen(path, "w");
    if (fd < 0 || !out || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bench-scale capture");
        if (fd >= 0)
            close(fd);
        if (out)
            fclose(out);
        return -1;
    }
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET /v1/events?after=%lld HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: "
                      "Bearer %s\r\n\r\n",
                      after, token);
    tproc_send_all(fd, req, (size_t)rl);
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

/* Runs argv with stdin from in_path (or inherited) and stdout into a pipe drained here
 * until `lines` lines came (then SIGTERM, drained until it exits); stderr to err_path.
 * The child's CPU seconds, or -1 when it printed fewer lines or did not start. */
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
    double deadline = tproc_now_s() + 600;
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
    while (read(p[0], buf, sizeof buf) > 0)
        ;
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        ;
    close(p[0]);
    if (got < lines) {
        fprintf(stderr, "bench-scale: %s printed %ld of %ld lines (see %s)\n", argv[0], got, lines,
                err_path);
        return -1;
    }
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* The median CPU seconds of RUNS runs of argv (each printed), or -1. */
static double median_of_runs(const char *name, const char **argv, const char *in_path,
                             const char *err_path, long n)
{
    double s[RUNS];
    for (int i = 0; i < RUNS; i++)
        if ((s[i] = run_counted(argv, in_path, err_path, n)) < 0)
            return -1;
    qsort(s, RUNS, sizeof s[0], tproc_cmp_double);
    printf("%s: %ld events, CPU %.3f %.3f %.3f s, median %.3f s: %.0f events/s\n", name, n, s[0],
           s[1], s[2], s[1], n / s[1]);
    return s[1];
}

int scale_tail_vs_jq(int port, const char *token, const char *token_file, long long after, long n,
                     const char *tmp)
{
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    char events[600], err[600], url[64], after_s[32];
    snprintf(events, sizeof events, "%s/scale-tail-events.jsonl", tmp);
    snprintf(err, sizeof err, "%s/scale-tail.err", tmp);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    snprintf(after_s, sizeof after_s, "%lld", after);
    double t0 = tproc_now_s();
    if (capture(port, token, after, n, events) < 0) {
        fprintf(stderr, "bench-scale: could not read %ld events after seq %lld\n", n, after);
        unlink(events);
        return -1;
    }
    printf("tail: %ld events after seq %lld read from marketd in %.1f s (the fixture's mix: "
           "listings, threads, messages, purchases, alerts, decisions, ledger entries)\n",
           n, after, tproc_now_s() - t0);
    const char *tail_argv[] = {bin,       "--url", url, "--token-file", token_file, "tail",
                               "--after", after_s, NULL};
    int rc = -1;
    double ts = median_of_runs("dealdesk tail --after", tail_argv, NULL, err, n);
    if (ts < 0)
        goto out;
    bench_line("dealdesk tail, 1M-thread market (CPU, median of 3)", n / ts, "events/s", "-",
               "info");
    const char *jq_argv[] = {"jq", "-c", ".", NULL};
    double js = median_of_runs("jq -c .", jq_argv, events, err, n);
    if (js < 0) {
        printf("jq: not installed or failed (tools/deps.sh bench installs it)\n");
        goto out;
    }
    rc = 0;
    bench_line("jq -c . over the same events (median of 3)", n / js, "events/s", "-", "info");
    printf("dealdesk tail is %.2fx jq -c . (CPU seconds %.3f against %.3f)\n", js / ts, ts, js);
    bench_line("tail against jq -c ., fixture events", js / ts, "x", ">= 1.2x",
               js / ts >= 1.2 ? "met" : "missed");
out:
    unlink(events);
    return rc;
}
