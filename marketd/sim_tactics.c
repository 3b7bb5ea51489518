/* sim_tactics.c: negotiation tactics from the literature.
 *
 * Time-dependent tactics (P. Faratin, C. Sierra, N. R. Jennings, "Negotiation decision
 * functions for autonomous agents", 1998): at round t of a deadline T an agent has
 * conceded alpha(t) = k + (1 - k)(t/T)^(1/beta) of its range. beta < 1 is Boulware (holds
 * firm, concedes at the end), beta = 1 linear, beta > 1 conceder (gives ground early).
 * Relative tit-for-tat (same paper, imitative tactics) concedes in proportion to what
 * the opponent conceded last. Acceptance: take the opponent's offer when it is at least
 * as good as what we would offer next.
 */
#include "marketd/sim.h"

#include <math.h>

/* Returns alpha(t) in [k, 1]. */
double sim_alpha(const sim_strategy *s, int t)
{
    int T = s->deadline > 0 ? s->deadline : 1;
    double x = t <= 0 ? 0.0 : t >= T ? 1.0 : (double)t / (double)T;
    double beta = s->beta > 0.01 ? s->beta : 0.01;
    double k = s->k < 0 ? 0 : s->k > 1 ? 1 : s->k;
    double a = k + (1.0 - k) * pow(x, 1.0 / beta);
    return a < k ? k : a > 1.0 ? 1.0 : a;
}

/* Clamps v into [lo, hi]. */
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Returns the time-dependent offer at round t (buyer up from lo, seller down from hi). */
int64_t sim_offer_time(const sim_strategy *s, bool seller, int64_t lo, int64_t hi, int t)
{
    if (hi < lo)
        hi = lo;
    double a = sim_alpha(s, t);
    double span = (double)(hi - lo);
    int64_t v = seller ? lo + (int64_t)llround((1.0 - a) * span) : lo + (int64_t)llround(a * span);
    return clamp64(v, lo, hi);
}

/* Returns the relative tit-for-tat offer: own_prev scaled by the opponent's last move. */
int64_t sim_offer_tft(bool seller, int64_t lo, int64_t hi, int64_t own_prev, int64_t opp_prev2,
                      int64_t opp_prev)
{
    if (hi < lo)
        hi = lo;
    if (opp_prev2 <= 0 || opp_prev <= 0 || own_prev <= 0)
        return clamp64(own_prev, lo, hi);
    /* A seller faced with a buyer who went from opp_prev2 up to opp_prev lowers its own
     * price by the same ratio; a buyer raises by the seller's ratio. */
    double ratio = (double)opp_prev2 / (double)opp_prev;
    double v = (double)own_prev * ratio;
    (void)seller;
    return clamp64((int64_t)llround(v), lo, hi);
}

/* Returns the agent's next offer at round t given both histories (oldest first). */
int64_t sim_next_offer(const sim_strategy *s, bool seller, int64_t lo, int64_t hi, int t,
                       const int64_t *own, int nown, const int64_t *opp, int nopp)
{
    if (s->kind == TACTIC_TFT && nown >= 1 && nopp >= 2) {
        int64_t v = sim_offer_tft(seller, lo, hi, own[nown - 1], opp[nopp - 2], opp[nopp - 1]);
        /* Pure imitation deadlocks against a stubborn opponent; near the deadline the
         * agent falls back on its time-dependent schedule (Faratin's weighted mix). */
        int64_t tv = sim_offer_time(s, seller, lo, hi, t);
        if (t * 4 >= s->deadline * 3)
            v = seller ? (v < tv ? v : tv) : (v > tv ? v : tv);
        return v;
    }
    return sim_offer_time(s, seller, lo, hi, t);
}

/* Returns true when the opponent's offer is at least as good as our next one. */
bool sim_acceptable(bool seller, int64_t opp_offer, int64_t own_next)
{
    return seller ? opp_offer >= own_next : opp_offer <= own_next;
}

/* Generates a strategy: a third Boulware, a fifth linear, a quarter conceder, the rest
 * tit-for-tat; deadlines of 3-10 rounds; a few agents prone to long pauses. */
void sim_strategy_generate(sim_rng *r, sim_strategy *out)
{
    double u = sim_rng_unit(r);
    out->kind = TACTIC_TIME;
    if (u < 0.33)
        out->beta = sim_rng_uniform(r, 0.15, 0.6); /* Boulware */
    else if (u < 0.53)
        out->beta = 1.0; /* linear */
    else if (u < 0.78)
        out->beta = sim_rng_uniform(r, 2.0, 6.0); /* conceder */
    else {
        out->kind = TACTIC_TFT;
        out->beta = sim_rng_uniform(r, 0.8, 1.5);
    }
    out->k = sim_rng_uniform(r, 0.0, 0.15);
    out->deadline = (int)sim_rng_range(r, 3, 10);
    out->stall = sim_rng_chance(r, 0.25) ? sim_rng_uniform(r, 0.1, 0.3) : 0.02;
}
