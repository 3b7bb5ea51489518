/* tailjq.h: `dealdesk tail` against `jq -c .` over the fixture's own events
 * (tests/bench/bench_scale.c; the method of tests/bench/bench_tail.c).
 *
 * The data lines of n events after seq `after` are first read from marketd's stream into
 * a file; then `dealdesk tail --after AFTER` reads the same n events from marketd three
 * times, and `jq -c .` reads the file three times. Both write into a pipe this process
 * drains, so both pay the same output; each run's figure is the child's own CPU seconds
 * (user + system, from wait4), and the median of three is compared. Tail's figure
 * includes its start-up and the server's replay reaching it. Prints human lines and
 * "BENCH|tail|..." lines; returns 0, or -1 when a run could not be made.
 */
#ifndef DEALDESK_TESTS_BENCH_SCALE_TAILJQ_H
#define DEALDESK_TESTS_BENCH_SCALE_TAILJQ_H

/* port: marketd's; token: a supervisor's secret, and token_file the same in a 0600 file;
 * tmp: a scratch folder. */
int scale_tail_vs_jq(int port, const char *token, const char *token_file, long long after, long n,
                     const char *tmp);

#endif
