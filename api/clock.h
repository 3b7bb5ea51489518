/* clock.h: time in api/, tui/ and the tests' harness: the one monotonic and the one
 * wall clock, and the contract's RFC 3339 times read into milliseconds.
 *
 * Every time the program keeps is int64_t milliseconds: since an arbitrary start for the
 * monotonic clock (timeouts, backoff, rates: it never jumps), since the Unix epoch (UTC)
 * for the wall clock and for the times of docs/api.md (deadlines, `at`). libc only.
 */
#ifndef DEALDESK_API_CLOCK_H
#define DEALDESK_API_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC): for intervals and timeouts. */
int64_t clock_mono_ms(void);

/* Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME): for what is compared
 * with the market's times. */
int64_t clock_wall_ms(void);

/* Parses an RFC 3339 time ("2026-11-26T10:02:11.345Z", offsets allowed; digits past
 * milliseconds are dropped) into ms since the Unix epoch. Returns 0 or -1. */
int clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
