/* proc.c: process and time helpers shared by the tests and benchmarks (see proc.h). */
#include "tests/lib/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/clock.h"

extern char **environ;

/* Monotonic clock in milliseconds: the program's own (api/clock.h). */
int64_t tproc_now_ms(void)
{
    return clock_mono_ms();
}

/* Monotonic clock in seconds (to the millisecond). */
double tproc_now_s(void)
{
    return (double)clock_mono_ms() / 1e3;
}

/* Sleeps ms milliseconds, resuming after a signal. */
void tproc_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Sleeps ms (fractional) milliseconds once, for pacing. */
void tproc_pace(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000),
                          (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
    nanosleep(&ts, NULL);
}

/* Starts $DEALDESK_BIN with args, stdout and stderr into files; returns its pid. */
pid_t tproc_spawn_dealdesk(const char *const *args, const char *out_path, const char *err_path)
{
    const char *bin = getenv("DEALDESK_BIN");
    assert_non_null(bin);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)(void *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    return pid;
}

/* Decodes a wait status: the exit code, or 128+signal. */
static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Waits up to ms for pid; its exit code, or -1 after a SIGKILL at the deadline. */
int tproc_wait_child(pid_t pid, int ms)
{
    int st = 0;
    int64_t deadline = tproc_now_ms() + ms;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (tproc_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        tproc_nap(2);
    }
    return exit_code(st);
}

/* SIGTERM, up to 10 s, then SIGKILL; returns the exit code (or 128+signal). */
int tproc_stop_child(pid_t pid)
{
    kill(pid, SIGTERM);
    int64_t deadline = tproc_now_ms() + 10000;
    int st = 0;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (tproc_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        tproc_nap(10);
    }
    return exit_code(st);
}

/* One step of xorshift64* on *state; returns the scrambled output. */
uint64_t tproc_rng(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ULL;
}

/* Reads a small file into out (NUL-terminated); the bytes read or -1. */
long tproc_slurp(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Writes all of buf to fd; -1 when the peer went away. */
int tproc_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The last seq of the complete lines of a tail output, and their count. */
int64_t tproc_last_seq(const char *path, size_t *lines)
{
    FILE *f = fopen(path, "r");
    int64_t seq = 0;
    size_t n = 0;
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t r;
        while ((r = getline(&line, &cap, f)) > 0 && line[r - 1] == '\n') {
            const char *p = strstr(line, "\"seq\":");
            if (p)
                seq = atoll(p + 6);
            n++;
        }
        free(line);
        fclose(f);
    }
    if (lines)
        *lines = n;
    return seq;
}

/* Sums the schedstat run time (ns) of every thread of pid. */
double tproc_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double sum = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        unsigned long long run = 0;
        if (f) {
            if (fscanf(f, "%llu", &run) == 1)
                sum += (double)run;
            fclose(f);
        }
    }
    if (d)
        closedir(d);
    return sum;
}

/* Orders two doubles ascending (for qsort). */
int tproc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted samples, or -1 when there are none. */
double tproc_quantile(const double *v, size_t n, double q)
{
    if (!n)
        return -1;
    size_t i = (size_t)(q * (double)n);
    return v[i < n ? i : n - 1];
}
