/* format.c: how the console writes numbers, money, times and names (shared by the
 * panes, the details, the confirmations and the header). */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/money.h"

/* Formats money with its symbol and grouping. */
void format_money(int64_t minor, const char *currency, char *out, size_t size)
{
    money_format(out, size, minor, currency, MONEY_FMT_SYMBOL);
}

/* Formats a quantity with grouping; returns out. */
const char *format_qty(int64_t q, char *out, size_t size)
{
    return money_format_count(out, size, q);
}

/* Formats a countdown: "m:ss" under an hour, "h:mm:ss" under a day, then days and hours
 * ("3d 04h"), and days alone from 100 days on ("26692d"): a deadline far away reads as
 * days, not as "640628:18:29". Seconds are rounded up (a deadline 0.2 s away is not
 * "0:00" yet). */
void format_countdown(int64_t ms, char *out, size_t size)
{
    if (ms < 0)
        ms = 0;
    int64_t s = ms / 1000 + (ms % 1000 != 0), day = 86400;
    if (s >= 100 * day)
        snprintf(out, size, "%lldd", (long long)(s / day));
    else if (s >= day)
        snprintf(out, size, "%lldd %02dh", (long long)(s / day), (int)(s / 3600 % 24));
    else if (s >= 3600)
        snprintf(out, size, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    else
        snprintf(out, size, "%d:%02d", (int)(s / 60), (int)(s % 60));
}

/* Formats a time as HH:MM:SS UTC. */
void format_clock(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, size, "--:--:--");
        return;
    }
    snprintf(out, size, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* An agent's display name (borrowed). */
const char *format_agent_name(const ui *u, const char *id)
{
    const model_agent *a = store_agent(u->st, id);
    return (a && a->name.s && a->name.s[0]) ? a->name.s : id;
}

/* The limits of a cap in words; see ui.h. */
void format_cap(int64_t max_unit_price_minor, int64_t max_quantity, const char *currency, char *out,
                size_t size)
{
    char price[80] = "any unit price", qty[64] = "any quantity";
    if (max_unit_price_minor >= 0) {
        char m[48];
        format_money(max_unit_price_minor, currency, m, sizeof m);
        snprintf(price, sizeof price, "unit price at most %s", m);
    }
    if (max_quantity >= 0) {
        char q[32];
        snprintf(qty, sizeof qty, "quantity at most %s", format_qty(max_quantity, q, sizeof q));
    }
    snprintf(out, size, "%s, %s", price, qty);
}
