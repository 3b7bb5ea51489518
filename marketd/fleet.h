/* fleet.h: the simulated fleet of buyer and seller agents.
 *
 * The fleet trades only through market_handle() (the agent endpoints' code paths), in
 * its own thread, so that nothing it does bypasses a rule a real agent meets.
 */
#ifndef DEALDESK_MARKETD_FLEET_H
#define DEALDESK_MARKETD_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "marketd/market.h"

typedef struct fleet fleet;

typedef struct fleet_options {
    int size;      /* number of agents (--fleet N), buyers and sellers together */
    double rate;   /* scales the pace: 1.0 is a watchable demo (about one action a second, a
                    * purchase waiting for approval every 10-20 s); thinking times divide
                    * and live threads multiply with it. Each clean agent stays under 27
                    * offers a minute (the velocity rule fires past 30), so N agents trade
                    * at most about 0.6 N actions a second: 2,000 a second needs about
                    * 5,000 agents. */
    uint64_t seed; /* --seed: same seed, same catalogue, agents and strategies */
    double faults; /* --faults P: probability in [0,1] that a deal carries an injected fault */
} fleet_options;

/* Generates the fleet from the seed and starts its thread, which registers the agents
 * (POST /v1/agents, idempotent per seed), lists the sellers' goods and trades; it
 * returns at once, without waiting for the registrations. Returns the fleet (owned) or
 * NULL with a message in err (bad options, out of memory). */
fleet *fleet_start(market *m, const fleet_options *opt, char *err, size_t errsz);

/* Stops the thread and frees the fleet. NULL is accepted. */
void fleet_stop(fleet *f);

/* Agent actions performed so far (for --verbose and benchmarks). */
uint64_t fleet_actions(const fleet *f);

#endif
