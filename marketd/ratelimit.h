/* ratelimit.h: per-agent request rate limits, token buckets by agent id (ratelimit.c).
 * Thread-safe; it has its own lock and never takes the market's. */
#ifndef DEALDESK_MARKETD_RATELIMIT_H
#define DEALDESK_MARKETD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ratelimit ratelimit;

/* A limiter allowing burst requests at once and rate a second after that, per key.
 * Returns NULL when rate <= 0 (no limit) or memory ran out. */
ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(ratelimit *rl);

/* Takes one request for key at now_ms (a monotonic clock): 0 when allowed, otherwise
 * the whole seconds (>= 1) until the next one would be. A NULL limiter allows all. */
int ratelimit_take(ratelimit *rl, const char *key, int64_t now_ms);

/* Requests refused since the limiter was made. */
uint64_t ratelimit_refused(ratelimit *rl);

#endif
