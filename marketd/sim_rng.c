/* sim_rng.c: the fleet's randomness, xoshiro256** seeded through splitmix64.
 *
 * Never rand(): the same --seed must give the same catalogue, agents and strategies on
 * every platform, so the generator is ours and fully specified.
 */
#include "marketd/sim.h"

/* splitmix64 step: advances *x and returns the next output (Vigna's seeding generator). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Rotates x left by k bits. */
static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Seeds r from one 64-bit seed. */
void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Returns the next 64 random bits. */
uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Returns a uniform integer in [lo, hi] by rejection (no modulo bias). */
int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0) /* the whole 64-bit range */
        return (int64_t)sim_rng_next(r);
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do
        x = sim_rng_next(r);
    while (x >= limit);
    return (int64_t)((uint64_t)lo + x % span);
}

/* Returns a uniform double in [0, 1) from the top 53 bits. */
double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Returns a uniform double in [lo, hi). */
double sim_rng_uniform(sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_unit(r);
}

/* Returns true with probability p. */
bool sim_rng_chance(sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

/* Returns an index in [0, n). */
size_t sim_rng_pick(sim_rng *r, size_t n)
{
    return n ? (size_t)sim_rng_range(r, 0, (int64_t)n - 1) : 0;
}

/* Derives an independent generator for stream number stream, leaving r untouched. */
void sim_rng_fork(const sim_rng *r, uint64_t stream, sim_rng *out)
{
    uint64_t x = r->s[0] ^ rotl(r->s[1], 13) ^ rotl(r->s[2], 29) ^ rotl(r->s[3], 47);
    x ^= splitmix64(&stream);
    sim_rng_seed(out, x);
}
