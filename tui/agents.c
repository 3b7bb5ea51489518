/* agents.c: the Agents pane (its columns, sorts, rows and cells; panes.c tables it) with
 * each agent's scorecard beside its limits (issue 17): deals, spend or revenue, the
 * median price against the reference, a spend sparkline, what was stopped (vetoed,
 * capped, expired), refunded and disputed, flags, and the pace of its deals. The
 * scorecards come from GET /v1/stats/agents (docs/api.md, "Statistics") through
 * api/client_stats.c, read beside the stream while the pane is shown (agents_stats_due:
 * at once on entering it, then every AGENTS_STATS_REFRESH_MS; nothing while it is
 * hidden: an idle console stays idle) and never waited for.
 *
 * The sort "losing" is the view of the agents losing money for their principals: the
 * buyers paying most over the reference and the sellers getting least, on one scale
 * (the median against the reference, a seller's sign turned), the worst first. */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

#define AGENTS_STATS_WINDOW     "24h"
#define AGENTS_STATS_REFRESH_MS 30000 /* a scorecard moves slowly: a read every 30 s */
#define AGENTS_LOSS_WARN_BP     500   /* 5% against its principal: the figure in THEME_WARN */

static int cmp64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* Columns give way in this order: DEAL MAX, CAP, SPENT, then the scorecard's details
 * (FLAGS, REF/DSP, PACE, VET/CAP/EXP), then SPEND / CAP (still there at 100 columns),
 * ROLE and STATUS; at 80 columns the scorecard's figures stay (DEALS, SPEND/REV, VS REF,
 * the 24H sparkline). */
const widget_column agents_cols[NC_COUNT] = {
    [NC_AGENT] = {.title = "AGENT", .width = 10},
    [NC_NAME] = {.title = "NAME", .width = 10, .flex = true, .max = 30},
    [NC_ROLE] = {.title = "ROLE", .width = 6, .drop = 5},
    [NC_STATUS] = {.title = "STATUS", .width = 7, .drop = 4},
    [NC_DEALS] = {.title = "DEALS", .width = 5, .right = true, .whole = true},
    [NC_AMOUNT] = {.title = "SPEND/REV", .width = 11, .right = true, .whole = true},
    [NC_VS_REF] = {.title = "VS REF", .width = 7, .right = true, .whole = true},
    [NC_TREND] = {.title = "24H", .width = 12, .drop = 3, .whole = true},
    [NC_STOPPED] = {.title = "VET/CAP/EXP", .width = 11, .drop = 7, .whole = true},
    [NC_AFTER] = {.title = "REF/DSP", .width = 7, .drop = 9, .whole = true},
    [NC_FLAGS] = {.title = "FLAGS", .width = 14, .drop = 10},
    [NC_PACE] = {.title = "PACE", .width = 9, .drop = 8, .whole = true},
    [NC_SPEND_BAR] = {.title = "SPEND / CAP", .width = 15, .drop = 6, .whole = true},
    [NC_SPENT] = {.title = "SPENT", .width = 13, .drop = 11, .right = true, .whole = true},
    [NC_CAP] = {.title = "CAP", .width = 13, .drop = 12, .right = true, .whole = true},
    [NC_DEAL_MAX] = {.title = "DEAL MAX", .width = 12, .drop = 13, .right = true, .whole = true},
};

enum agent_sort {
    NS_NAME,
    NS_SPEND_SHARE,
    NS_STATUS,
    NS_LOSING,
    NS_VS_REF,
    NS_AMOUNT,
    NS_DEALS,
    NS_FLAGS,
};
const char *const agents_sorts[] = {[NS_NAME] = "name",
                                    [NS_SPEND_SHARE] = "spend share",
                                    [NS_STATUS] = "status",
                                    [NS_LOSING] = "losing",
                                    [NS_VS_REF] = "vs ref",
                                    [NS_AMOUNT] = "spend/rev",
                                    [NS_DEALS] = "deals",
                                    [NS_FLAGS] = "flags",
                                    NULL};

/* The last scorecards read (NULL: none yet). */
static const stats_agents *scorecards(const ui *u)
{
    const client_stats_state *s = u->cl ? client_stats_last(u->cl) : NULL;
    return s && s->answered ? &s->result : NULL;
}

const stats_agent *agents_scorecard(const ui *u, const char *id)
{
    return stats_find(scorecards(u), id);
}

bool agents_is_seller(const stats_agent *s)
{
    return s && strcmp(s->role, "seller") == 0;
}

size_t agents_collect(const ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_agent *const *p = store_agents(u->st, &n);
    if (n > *cap) {
        const void **r = realloc(*rows, n * sizeof *r);
        if (!r)
            return 0;
        *rows = r;
        *cap = n;
    }
    if (n)
        memcpy(*rows, p, n * sizeof *p);
    return n;
}

/* Spend as a share of the cap in thousandths. */
static int64_t agent_share(const model_agent *a)
{
    return a->limits.spend_cap_minor > 0 ? a->spent_minor * 1000 / a->limits.spend_cap_minor : 0;
}

/* What the agent costs its principal against the reference, in bp: a buyer's median over
 * it, a seller's under it. has false without deals. */
static int64_t loss_bp(const stats_agent *s, bool *has)
{
    *has = s && s->has_bp;
    return !*has ? 0 : agents_is_seller(s) ? -s->bp : s->bp;
}

/* The scorecard order of x and y under sort (the larger figure first; an agent without
 * the figure last), 0 when they tie. */
static int scorecard_compare(const ui *u, int sort, const model_agent *x, const model_agent *y)
{
    const stats_agent *a = agents_scorecard(u, x->id), *b = agents_scorecard(u, y->id);
    bool ha = a != NULL, hb = b != NULL;
    int64_t va = 0, vb = 0;
    if (sort == NS_LOSING) {
        va = loss_bp(a, &ha);
        vb = loss_bp(b, &hb);
    } else if (sort == NS_VS_REF) {
        ha = a && a->has_bp;
        hb = b && b->has_bp;
        va = ha ? a->bp : 0;
        vb = hb ? b->bp : 0;
    } else if (ha && hb) {
        va = sort == NS_AMOUNT ? a->amount_minor : sort == NS_DEALS ? a->deals : a->flags;
        vb = sort == NS_AMOUNT ? b->amount_minor : sort == NS_DEALS ? b->deals : b->flags;
    }
    if (ha != hb)
        return ha ? -1 : 1;
    return -cmp64(va, vb);
}

int agents_compare(const ui *u, int sort, const void *a, const void *b)
{
    const model_agent *x = a, *y = b;
    int r = 0;
    if (sort == NS_SPEND_SHARE)
        r = -cmp64(agent_share(x), agent_share(y));
    else if (sort == NS_STATUS)
        r = (int)y->paused - (int)x->paused;
    else if (sort != NS_NAME)
        r = scorecard_compare(u, sort, x, y);
    if (!r)
        r = strcmp(x->name.s ? x->name.s : "", y->name.s ? y->name.s : "");
    return r ? r : strcmp(x->id, y->id);
}

void agents_format_bp(int64_t bp, char *buf, size_t size)
{
    int64_t m = bp < 0 ? -bp : bp;
    snprintf(buf, size, "%s%lld.%lld%%",
             bp > 0   ? "+"
             : bp < 0 ? "-"
                      : "",
             (long long)(m / 100), (long long)(m % 100 / 10));
}

void agents_format_ms(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
}

/* The limits' cells (the pane's columns before the scorecard). */
static void limit_cell(const ui *u, const model_agent *a, int col, char *buf, size_t size,
                       unsigned long *attr)
{
    switch (col) {
        case NC_AGENT: snprintf(buf, size, "%s", a->id); break;
        case NC_NAME: snprintf(buf, size, "%s", a->name.s ? a->name.s : ""); break;
        case NC_ROLE: snprintf(buf, size, "%s", model_agent_role_label(a)); break;
        case NC_STATUS: {
            const char *fl = panes_inflight_label(u, a->id);
            snprintf(buf, size, "%s", fl ? fl : model_agent_status_label(a));
            if (fl)
                *attr = theme_attr(THEME_INFLIGHT);
            else if (a->paused || a->status_raw[0])
                *attr = theme_attr(THEME_WARN);
            break;
        }
        case NC_SPEND_BAR: {
            /* the bar never claims more than the share; the exact figure follows it */
            widget_bar_str(10, a->spent_minor, a->limits.spend_cap_minor, buf, size);
            size_t used = strlen(buf);
            int64_t sh = agent_share(a);
            if (sh == 0 && a->spent_minor > 0)
                snprintf(buf + used, size - used, " <0.1%%");
            else if (sh < 100)
                snprintf(buf + used, size - used, " %lld.%lld%%", (long long)(sh / 10),
                         (long long)(sh % 10));
            else
                snprintf(buf + used, size - used, " %3lld%%", (long long)(sh / 10));
            if (sh >= 800)
                *attr = theme_attr(sh >= 1000 ? THEME_CRIT : THEME_WARN);
            break;
        }
        case NC_SPENT: format_money(a->spent_minor, a->currency, buf, size); break;
        case NC_CAP: format_money(a->limits.spend_cap_minor, a->currency, buf, size); break;
        case NC_DEAL_MAX: format_money(a->limits.per_deal_max_minor, a->currency, buf, size); break;
        default: break;
    }
}

/* The scorecard's cells ("" until the first scorecards arrive). */
static void scorecard_cell(const stats_agent *s, int col, char *buf, size_t size,
                           unsigned long *attr)
{
    bool has;
    switch (col) {
        case NC_DEALS: snprintf(buf, size, "%lld", (long long)s->deals); break;
        case NC_AMOUNT: format_money(s->amount_minor, s->currency, buf, size); break;
        case NC_VS_REF:
            if (!s->has_bp) {
                snprintf(buf, size, "-");
                break;
            }
            agents_format_bp(s->bp, buf, size);
            if (loss_bp(s, &has) >= AGENTS_LOSS_WARN_BP)
                *attr = theme_attr(THEME_WARN);
            break;
        case NC_TREND: widget_sparkline_sum(s->series, STATS_SERIES, 12, buf, size); break;
        case NC_STOPPED:
            snprintf(buf, size, "%lld/%lld/%lld", (long long)s->vetoed, (long long)s->capped,
                     (long long)s->expired);
            break;
        case NC_AFTER:
            snprintf(buf, size, "%lld/%lld", (long long)s->refunded, (long long)s->disputed);
            break;
        case NC_FLAGS:
            if (s->nrules)
                snprintf(buf, size, "%lld %s", (long long)s->flags, s->rules[0].rule);
            else
                snprintf(buf, size, "0");
            break;
        case NC_PACE: {
            char t[24] = "-";
            if (s->has_ttd)
                agents_format_ms(s->ttd_ms, t, sizeof t);
            if (s->has_rounds)
                snprintf(buf, size, "%lldr %s", (long long)s->rounds, t);
            else
                snprintf(buf, size, "-");
            break;
        }
        default: break;
    }
}

void agents_cell(const ui *u, const void *row, int col, char *buf, size_t size, unsigned long *attr)
{
    const model_agent *a = row;
    if (col >= NC_DEALS && col <= NC_PACE) {
        const stats_agent *s = agents_scorecard(u, a->id);
        if (s)
            scorecard_cell(s, col, buf, size, attr);
        else
            snprintf(buf, size, "%s", "");
        return;
    }
    limit_cell(u, a, col, buf, size, attr);
}

const char *agents_row_id(const void *r)
{
    return ((const model_agent *)r)->id;
}

/* ---- the scorecards' reads ------------------------------------------------------------ */

/* True while the scorecards are on screen: the Agents pane in front, not under help. */
static bool shown(const ui *u)
{
    return u->cl && u->pane == PANE_AGENTS && u->mode != MODE_HELP;
}

int64_t agents_stats_due(const ui *u, int64_t now)
{
    if (!shown(u))
        return -1;
    const client_stats_state *s = client_stats_last(u->cl);
    if (s->id && !s->done)
        return -1; /* on its way: its answer wakes the loop */
    return u->stats_asked_ms ? u->stats_asked_ms + AGENTS_STATS_REFRESH_MS : now;
}

void agents_stats_fire(ui *u, int64_t now)
{
    if (client_stats(u->cl, AGENTS_STATS_WINDOW))
        u->stats_asked_ms = now;
}

void agents_after_client(ui *u)
{
    const client_stats_state *s = u->cl ? client_stats_last(u->cl) : NULL;
    if (!s || s->answered == u->stats_seen)
        return;
    u->stats_seen = s->answered;
    u->gen++; /* the rows sort and show what came */
    if (u->pane == PANE_AGENTS)
        u->dirty = true;
}

int agents_scorecard_lines(const ui *u, const model_agent *a, char lines[][256], int max)
{
    const stats_agent *s = agents_scorecard(u, a->id);
    int n = 0;
    if (max < 4)
        return 0;
    if (!s) {
        const client_stats_state *st = u->cl ? client_stats_last(u->cl) : NULL;
        snprintf(lines[n++], 256, "scorecard %s: %s", AGENTS_STATS_WINDOW,
                 st && st->done && !st->ok ? st->error : "not read yet");
        return n;
    }
    char amount[40], bp[24] = "-", ttd[24] = "-";
    format_money(s->amount_minor, s->currency, amount, sizeof amount);
    if (s->has_bp)
        agents_format_bp(s->bp, bp, sizeof bp);
    if (s->has_ttd)
        agents_format_ms(s->ttd_ms, ttd, sizeof ttd);
    snprintf(lines[n++], 256, "scorecard %s: %lld deals, %s %s, median %s against the reference",
             AGENTS_STATS_WINDOW, (long long)s->deals, agents_is_seller(s) ? "revenue" : "spend",
             amount, bp);
    char rounds[24] = "-";
    if (s->has_rounds)
        snprintf(rounds, sizeof rounds, "%lld", (long long)s->rounds);
    snprintf(lines[n++], 256,
             "vetoed %lld, capped %lld, expired %lld, refunded %lld, disputed %lld; median %s "
             "rounds, %s to a deal",
             (long long)s->vetoed, (long long)s->capped, (long long)s->expired,
             (long long)s->refunded, (long long)s->disputed, rounds, ttd);
    size_t used = (size_t)snprintf(lines[n], 256, "flags %lld", (long long)s->flags);
    for (size_t i = 0; i < s->nrules && used < 250; i++)
        used += (size_t)snprintf(lines[n] + used, 256 - used, "%s %s %lld", i ? "," : ":",
                                 s->rules[i].rule, (long long)s->rules[i].n);
    n++;
    return n;
}
