/* proc.h: process and time helpers shared by the tests and benchmarks.
 *
 * A monotonic clock, a sleep for polling loops, $DEALDESK_BIN started with its output in
 * files, children stopped or awaited with a deadline, a seeded random number generator,
 * small files read whole, a `dealdesk tail` output's last seq, and sorted-sample
 * quantiles for the benchmarks.
 */
#ifndef DEALDESK_TESTS_PROC_H
#define DEALDESK_TESTS_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic clock in milliseconds. */
int64_t tproc_now_ms(void);

/* Monotonic clock in seconds. */
double tproc_now_s(void);

/* Sleeps ms milliseconds (resumed after a signal), between polls of a condition that
 * has a deadline. */
void tproc_nap(int ms);

/* Sleeps ms milliseconds (a fraction allowed), once: for pacing a load, not for
 * synchronising (a signal may cut it short). */
void tproc_pace(double ms);

/* Starts $DEALDESK_BIN with args (NULL-terminated, at most 30) and its stdout and stderr
 * truncated into out_path and err_path. Fails the running cmocka test when it cannot.
 * Returns the child's pid. */
pid_t tproc_spawn_dealdesk(const char *const *args, const char *out_path, const char *err_path);

/* Waits up to ms for child pid to exit; returns its exit code (128+signal when killed),
 * or -1 when it had to be killed (SIGKILL) at the deadline. */
int tproc_wait_child(pid_t pid, int ms);

/* Sends SIGTERM to child pid and waits up to 10 s (then SIGKILL); returns its exit code
 * (128+signal when killed). */
int tproc_stop_child(pid_t pid);

/* The next number of a xorshift64* generator whose state (non-zero) is *state. */
uint64_t tproc_rng(uint64_t *state);

/* Reads at most size-1 bytes of the file at path into out, NUL-terminated (out is ""
 * when the file cannot be opened). Returns the bytes read, or -1 when it cannot. */
long tproc_slurp(const char *path, char *out, size_t size);

/* Sends all len bytes of buf on socket fd (MSG_NOSIGNAL, resumed after a signal).
 * Returns 0, or -1 when the peer went away. */
int tproc_send_all(int fd, const void *buf, size_t len);

/* The last "seq" among the complete lines of a `dealdesk tail` output file (0 when
 * none), and, when lines is not NULL, the number of complete lines. */
int64_t tproc_last_seq(const char *path, size_t *lines);

/* The CPU time every thread of process pid has had so far, in nanoseconds (the sum of
 * /proc/PID/task/TID/schedstat), or 0 when it cannot be read. */
double tproc_cpu_ns(pid_t pid);

/* qsort comparator for doubles, ascending. */
int tproc_cmp_double(const void *a, const void *b);

/* The q-quantile (0..1) of n ascending samples v, or -1 when n is 0. */
double tproc_quantile(const double *v, size_t n, double q);

#endif
