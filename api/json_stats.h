/* json_stats.h: the agents' scorecards, GET /v1/stats/agents (docs/api.md, "Statistics"),
 * decoded for the console's Agents pane (tui/agents.c) by api/json_stats.c. Text is kept
 * sanitised (api/text.h); an agent whose id or currency is outside the contract is left
 * out, an unknown field ignored. */
#ifndef DEALDESK_API_JSON_STATS_H
#define DEALDESK_API_JSON_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/model.h"
#include "api/text.h"

#define STATS_SERIES 24 /* spend_series' spans */
#define STATS_RULES  12 /* flags by rule kept per agent (the most frequent first) */

typedef struct stats_rule {
    char rule[40];
    int64_t n;
} stats_rule;

/* One agent's scorecard; a median absent (null: no deals) has its has_ false. */
typedef struct stats_agent {
    model_id id;
    char role[16];
    char currency[4];
    int64_t deals;
    int64_t amount_minor; /* spend_minor for a buyer, revenue_minor for a seller */
    bool has_bp, has_rounds, has_ttd;
    int64_t bp, rounds, ttd_ms; /* median_vs_ref_bp, median_rounds, median_time_to_deal_ms */
    int64_t vetoed, capped, expired, refunded, disputed;
    int64_t flags; /* every flag, all rules */
    stats_rule rules[STATS_RULES];
    size_t nrules;
    int64_t series[STATS_SERIES];
} stats_agent;

/* The answer: the window and each agent's scorecard, sorted by id (stats_find). */
typedef struct stats_agents {
    char window[16];
    stats_agent *items; /* owned */
    size_t n;
} stats_agents;

/* Reads an answer into out (freed with json_stats_free). 0, or -1 with the reason in err. */
int json_stats_parse(const char *text, size_t len, text_mode mode, stats_agents *out, char *err,
                     size_t errsz);
void json_stats_free(stats_agents *s);

/* The scorecard of agent id in s (sorted by id), or NULL. */
const stats_agent *stats_find(const stats_agents *s, const char *id);

#endif
