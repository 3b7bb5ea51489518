/* panes.c: the six panes as data (columns, sort orders, cells, filter text), their rows
 * recomputed from the store only when it changed, and the table drawing. */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/money.h"

/* One pane as a table of operations (habit 3). */
typedef struct pane_ops {
    const char *name;
    const widget_column *cols;
    int ncols;
    const char *const *sorts; /* sort order names, NULL-terminated */
    /* Fills u's rows for the pane from the store (unfiltered, unsorted). */
    size_t (*collect)(ui *u, const void ***rows, size_t *cap);
    /* Compares two rows under sort order `sort`. */
    int (*compare)(const ui *u, int sort, const void *a, const void *b);
    /* Fills one cell. */
    void (*cell)(const ui *u, const void *row, int col, char *buf, size_t size,
                 unsigned long *attr);
    /* The row's id (borrowed). */
    const char *(*id)(const void *row);
} pane_ops;

/* The in-flight label of a subject, or NULL. */
const char *panes_inflight_label(const ui *u, const char *id)
{
    for (size_t i = 0; i < u->ninflight; i++)
        if (strcmp(u->inflight[i].subject, id) == 0)
            return u->inflight[i].label;
    return NULL;
}

/* Compares two int64 values for qsort-style results. */
static int cmp64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* Grows a row array to hold n rows; returns false on out of memory. */
static bool rows_reserve(const void ***rows, size_t *cap, size_t n)
{
    if (n <= *cap)
        return true;
    size_t nc = *cap ? *cap : 256;
    while (nc < n)
        nc *= 2;
    const void **r = realloc(*rows, nc * sizeof *r);
    if (!r)
        return false;
    *rows = r;
    *cap = nc;
    return true;
}

/* Copies a borrowed store array into rows. */
static size_t copy_rows(const void *const *src, size_t n, const void ***rows, size_t *cap)
{
    if (!rows_reserve(rows, cap, n ? n : 1) || n == 0) /* an empty store may give NULL */
        return 0;
    memcpy(*rows, src, n * sizeof *src);
    return n;
}

/* ---- Pending ------------------------------------------------------------------------ */

/* At 80 columns FLAGS, then RISK, then BUYER drop (screens.md); ITEM shortens. Columns
 * of numbers are `whole` (last field): never cut, the text columns give way. */
static const widget_column pending_cols[] = {
    {"DUE", 5, 0, true, false, 0, true},      {"PURCHASE", 10, 0, false, false, 0, false},
    {"BUYER", 10, 1, false, false, 0, false}, {"ITEM", 12, 0, false, true, 48, false},
    {"QTY", 5, 0, true, false, 0, true},      {"TOTAL", 12, 0, true, false, 0, true},
    {"RISK", 4, 2, true, false, 0, true},     {"STATE", 10, 0, false, false, 0, false},
    {"FLAGS", 16, 3, false, false, 0, false},
};
static const char *const pending_sorts[] = {"deadline", "total", "risk", "buyer", NULL};

/* True when the purchase was decided from this console (kept on the pane). */
static bool is_recent(const ui *u, const char *id)
{
    for (size_t i = 0; i < u->nrecent; i++)
        if (strcmp(u->recent[i], id) == 0)
            return true;
    return false;
}

/* Pending purchases, plus the ones this console decided (to show the outcome), the
 * selected one and the one a confirmation is about: a purchase that expires or is decided
 * elsewhere under the operator's eyes stays where it is, showing what it is now, instead
 * of the selection and the detail silently moving to another purchase. */
static size_t pending_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n, k = 0;
    const model_purchase *const *p = store_purchases(u->st, &n);
    if (!rows_reserve(rows, cap, n ? n : 1))
        return 0;
    const char *sel = u->panes[PANE_PENDING].sel_id;
    const char *boxed = u->mode == MODE_CONFIRM ? u->confirm_req.subject_id : "";
    for (size_t i = 0; i < n; i++)
        if (p[i]->status == PUR_PENDING || is_recent(u, p[i]->id) ||
            panes_inflight_label(u, p[i]->id) || strcmp(p[i]->id, sel) == 0 ||
            strcmp(p[i]->id, boxed) == 0)
            (*rows)[k++] = p[i];
    return k;
}

/* Orders purchases: pending before decided, then by the chosen key. */
static int pending_compare(const ui *u, int sort, const void *a, const void *b)
{
    const model_purchase *x = a, *y = b;
    int px = x->status != PUR_PENDING, py = y->status != PUR_PENDING;
    if (px != py)
        return px - py;
    int r = 0;
    switch (sort) {
        case 1: r = -cmp64(x->total_minor, y->total_minor); break;
        case 2: r = -(x->risk_score > y->risk_score) + (x->risk_score < y->risk_score); break;
        case 3:
            r = strcmp(format_agent_name(u, x->buyer_id), format_agent_name(u, y->buyer_id));
            break;
        default: break;
    }
    if (!r)
        r = cmp64(x->decide_by ? x->decide_by : INT64_MAX, y->decide_by ? y->decide_by : INT64_MAX);
    return r ? r : strcmp(x->id, y->id);
}

/* Short names of the risk rules for the FLAGS column (screens.md: "qty mandate max"). */
static const char *flag_short_name(const char *rule)
{
    static const struct {
        const char *rule, *shortname;
    } names[] = {
        {"quantity_vs_intent", "qty"},     {"over_deal_max", "max"}, {"budget", "budget"},
        {"off_mandate", "mandate"},        {"below_floor", "floor"}, {"overpay", "overpay"},
        {"ship_to_unverified", "ship_to"}, {"terms_drift", "drift"}, {"duplicate", "dup"},
        {"hidden_text", "hidden"},         {"velocity", "velocity"}, {"below_reference", "cheap"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].rule, rule) == 0)
            return names[i].shortname;
    return rule;
}

/* The flags of a purchase, compact ("qty mandate max"). */
static void flags_short(const model_purchase *p, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->nflags; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "",
                         flag_short_name(p->flags[i].rule));
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

/* The worst severity among a purchase's flags, or -1. */
static int worst_flag(const model_purchase *p)
{
    int w = -1;
    for (size_t i = 0; i < p->nflags; i++)
        if ((int)p->flags[i].severity > w)
            w = (int)p->flags[i].severity;
    return w;
}

/* Fills a Pending cell. */
static void pending_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                         unsigned long *attr)
{
    const model_purchase *p = row;
    const model_listing *l = store_listing(u->st, p->listing_id);
    const char *fl = panes_inflight_label(u, p->id);
    switch (col) {
        case 0:
            if (p->status == PUR_PENDING && p->decide_by) {
                int64_t left = p->decide_by - ui_clock_ms(u);
                format_countdown(left, buf, size);
                if (left < 30000)
                    *attr = theme_attr(THEME_CRIT);
            } else
                snprintf(buf, size, "%s", p->status == PUR_PENDING ? "-" : "done");
            break;
        case 1: snprintf(buf, size, "%s", p->id); break;
        case 2: snprintf(buf, size, "%s", format_agent_name(u, p->buyer_id)); break;
        case 3: snprintf(buf, size, "%s", l && l->title.s ? l->title.s : p->listing_id); break;
        case 4: format_qty(p->quantity, buf, size); break;
        case 5:
            format_money(p->total_minor, p->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case 6:
            snprintf(buf, size, "%d", p->risk_score);
            if (p->risk_score >= 70)
                *attr = theme_attr(THEME_CRIT);
            else if (p->risk_score >= 30)
                *attr = theme_attr(THEME_WARN);
            break;
        case 7:
            if (fl) {
                snprintf(buf, size, "%s", fl);
                *attr = theme_attr(THEME_INFLIGHT);
            } else {
                snprintf(buf, size, "%s",
                         p->status == PUR_PENDING ? "waiting" : model_purchase_status_label(p));
                if (p->status == PUR_SETTLED || p->status == PUR_APPROVED)
                    *attr = theme_attr(THEME_OK);
                else if (p->status != PUR_PENDING)
                    *attr = theme_attr(THEME_WARN);
            }
            break;
        case 8: {
            flags_short(p, buf, size);
            int w = worst_flag(p);
            if (w == SEV_CRITICAL)
                *attr = theme_attr(THEME_CRIT);
            else if (w == SEV_WARNING)
                *attr = theme_attr(THEME_WARN);
            break;
        }
        default: break;
    }
}

/* ---- Threads ------------------------------------------------------------------------ */

static const widget_column thread_cols[] = {
    {"THREAD", 12, 0, false, false, 0, false}, {"ITEM", 14, 0, false, true, 40, false},
    {"BUYER", 12, 2, false, false, 0, false},  {"SELLER", 12, 3, false, false, 0, false},
    {"STATUS", 8, 0, false, false, 0, false},  {"TERMS", 18, 1, true, false, 0, true},
    {"MSGS", 4, 4, true, false, 0, true},      {"UPDATED", 8, 5, false, false, 0, true},
};
/* "opened" (newest first) is the default: it only changes when a thread opens, so rows
 * do not move under the cursor with every message; "activity" (last update first) re-sorts
 * as the market talks, and is asked for explicitly. */
static const char *const thread_sorts[] = {"opened", "activity", "status", "messages", NULL};

/* Every negotiation. */
static size_t thread_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_negotiation *const *p = store_negotiations(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* Orders threads. */
static int thread_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_negotiation *x = a, *y = b;
    int r = 0;
    if (sort == 1)
        r = -cmp64(x->updated_at, y->updated_at);
    else if (sort == 2)
        r = (int)x->status - (int)y->status;
    else if (sort == 3)
        r = -cmp64(x->message_count, y->message_count);
    if (!r)
        r = -cmp64(x->opened_at, y->opened_at);
    return r ? r : strcmp(x->id, y->id);
}

/* Formats terms "1,000 × $12.50". */
static void terms_text(const model_terms *t, const char *currency, char *buf, size_t size)
{
    if (!t->present) {
        snprintf(buf, size, "-");
        return;
    }
    char price[40];
    format_money(t->unit_price_minor, currency, price, sizeof price);
    char q[32];
    snprintf(buf, size, "%s %s %s", format_qty(t->quantity, q, sizeof q),
             widget_glyph_str(GLYPH_TIMES), price);
}

/* Fills a Threads cell. */
static void thread_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                        unsigned long *attr)
{
    const model_negotiation *n = row;
    const model_listing *l = store_listing(u->st, n->listing_id);
    switch (col) {
        case 0: snprintf(buf, size, "%s", n->id); break;
        case 1: snprintf(buf, size, "%s", l && l->title.s ? l->title.s : n->listing_id); break;
        case 2: snprintf(buf, size, "%s", format_agent_name(u, n->buyer_id)); break;
        case 3: snprintf(buf, size, "%s", format_agent_name(u, n->seller_id)); break;
        case 4:
            snprintf(buf, size, "%s", model_neg_status_label(n));
            if (n->status == NEG_AGREED)
                *attr = theme_attr(THEME_OK);
            else if (n->status == NEG_HELD || n->status == NEG_VETOED)
                *attr = theme_attr(THEME_WARN);
            break;
        case 5:
            terms_text(n->status == NEG_AGREED && n->agreed_terms.present ? &n->agreed_terms
                                                                          : &n->terms,
                       n->currency, buf, size);
            break;
        case 6: snprintf(buf, size, "%lld", (long long)n->message_count); break;
        case 7: format_clock(n->updated_at, buf, size); break;
        default: break;
    }
}

/* ---- Listings ----------------------------------------------------------------------- */

static const widget_column listing_cols[] = {
    {"LISTING", 12, 0, false, false, 0, false}, {"SELLER", 12, 2, false, false, 0, false},
    {"TITLE", 16, 0, false, true, 60, false},   {"CATEGORY", 10, 3, false, false, 0, false},
    {"QTY", 6, 4, true, false, 0, true},        {"PRICE", 12, 0, true, false, 0, true},
    {"STATUS", 9, 1, false, false, 0, false},   {"HIDDEN", 10, 0, false, false, 0, false},
};
/* "newest" (by creation) by default, stable while sales change quantities. */
static const char *const listing_sorts[] = {"newest", "updated", "price", "hidden", NULL};

/* Every listing. */
static size_t listing_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_listing *const *p = store_listings(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* Hidden placeholders in a listing's texts. */
static unsigned listing_hidden(const model_listing *l)
{
    return l->title.hidden + l->description.hidden + l->category.hidden;
}

/* Orders listings. */
static int listing_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_listing *x = a, *y = b;
    int r = 0;
    if (sort == 1)
        r = -cmp64(x->updated_at, y->updated_at);
    else if (sort == 2)
        r = -cmp64(x->unit_price_minor, y->unit_price_minor);
    else if (sort == 3)
        r = -cmp64(listing_hidden(x), listing_hidden(y));
    if (!r)
        r = -cmp64(x->created_at, y->created_at);
    return r ? r : strcmp(x->id, y->id);
}

/* Fills a Listings cell. */
static void listing_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                         unsigned long *attr)
{
    const model_listing *l = row;
    switch (col) {
        case 0: snprintf(buf, size, "%s", l->id); break;
        case 1: snprintf(buf, size, "%s", format_agent_name(u, l->seller_id)); break;
        case 2: snprintf(buf, size, "%s", l->title.s ? l->title.s : ""); break;
        case 3: snprintf(buf, size, "%s", l->category.s ? l->category.s : ""); break;
        case 4: format_qty(l->quantity, buf, size); break;
        case 5:
            format_money(l->unit_price_minor, l->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case 6: snprintf(buf, size, "%s", model_listing_status_label(l)); break;
        case 7: {
            unsigned h = listing_hidden(l);
            if (h) {
                snprintf(buf, size, "%s %u hidden", widget_glyph_str(GLYPH_WARN), h);
                *attr = theme_attr(THEME_WARN);
            }
            break;
        }
        default: break;
    }
}

/* ---- Ledger ------------------------------------------------------------------------- */

static const widget_column ledger_cols[] = {
    {"SEQ", 6, 3, true, false, 0, true},     {"ENTRY", 12, 0, false, false, 0, false},
    {"KIND", 10, 0, false, false, 0, false}, {"PURCHASE", 12, 2, false, false, 0, false},
    {"FROM", 12, 0, false, true, 24, false}, {"TO", 12, 0, false, false, 0, false},
    {"AMOUNT", 13, 0, true, false, 0, true}, {"AT", 8, 1, false, false, 0, true},
};
static const char *const ledger_sorts[] = {"newest", "oldest", "amount", NULL};

/* Every ledger entry. */
static size_t ledger_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_ledger_entry *e = store_ledger(u->st, &n);
    if (!rows_reserve(rows, cap, n ? n : 1))
        return 0;
    for (size_t i = 0; i < n; i++)
        (*rows)[i] = &e[i];
    return n;
}

/* The amount an entry moves (the sum of its positive postings). */
static int64_t ledger_amount(const model_ledger_entry *e)
{
    int64_t s = 0;
    for (size_t i = 0; i < e->npostings; i++)
        if (e->postings[i].amount_minor > 0)
            s += e->postings[i].amount_minor;
    return s;
}

/* Orders ledger entries. */
static int ledger_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_ledger_entry *x = a, *y = b;
    if (sort == 2) {
        int r = -cmp64(ledger_amount(x), ledger_amount(y));
        if (r)
            return r;
    }
    return sort == 1 ? cmp64(x->seq, y->seq) : -cmp64(x->seq, y->seq);
}

/* The account of the first posting with the given sign, without "agent:". */
static const char *ledger_side(const model_ledger_entry *e, bool positive)
{
    for (size_t i = 0; i < e->npostings; i++)
        if ((e->postings[i].amount_minor > 0) == positive) {
            const char *acc = e->postings[i].account;
            return strncmp(acc, "agent:", 6) == 0 ? acc + 6 : acc;
        }
    return "";
}

/* Fills a Ledger cell. */
static void ledger_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                        unsigned long *attr)
{
    const model_ledger_entry *e = row;
    switch (col) {
        case 0: snprintf(buf, size, "%lld", (long long)e->seq); break;
        case 1: snprintf(buf, size, "%s", e->id); break;
        case 2:
            snprintf(buf, size, "%s", model_ledger_kind_label(e));
            if (e->refund)
                *attr = theme_attr(THEME_WARN);
            break;
        case 3: snprintf(buf, size, "%s", e->purchase_id); break;
        case 4: snprintf(buf, size, "%s", format_agent_name(u, ledger_side(e, false))); break;
        case 5: snprintf(buf, size, "%s", format_agent_name(u, ledger_side(e, true))); break;
        case 6:
            format_money(ledger_amount(e), e->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case 7: format_clock(e->at, buf, size); break;
        default: break;
    }
}

/* ---- Alerts ------------------------------------------------------------------------- */

static const widget_column alert_cols[] = {
    {"SEV", 8, 0, false, false, 0, false},      {"AT", 8, 2, false, false, 0, true},
    {"ALERT", 12, 3, false, false, 0, false},   {"RULE", 18, 1, false, false, 0, false},
    {"SUBJECT", 12, 4, false, false, 0, false}, {"MESSAGE", 16, 0, false, true, 0, false},
    {"STATUS", 12, 0, false, false, 0, false},
};
static const char *const alert_sorts[] = {"open first", "severity", "newest", NULL};

/* Every alert. */
static size_t alert_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_alert *const *p = store_alerts(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* Orders alerts. */
static int alert_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_alert *x = a, *y = b;
    int r = 0;
    if (sort == 0)
        r = (int)x->status - (int)y->status;
    if (!r && sort != 2)
        r = (int)y->severity - (int)x->severity;
    if (!r)
        r = -cmp64(x->at, y->at);
    return r ? r : strcmp(x->id, y->id);
}

/* Fills an Alerts cell. */
static void alert_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                       unsigned long *attr)
{
    const model_alert *a = row;
    switch (col) {
        case 0:
            snprintf(buf, size, "%s", model_alert_severity_label(a));
            if (a->status == ALERT_OPEN)
                *attr = theme_attr(a->severity == SEV_CRITICAL  ? THEME_CRIT
                                   : a->severity == SEV_WARNING ? THEME_WARN
                                                                : THEME_NORMAL);
            break;
        case 1: format_clock(a->at, buf, size); break;
        case 2: snprintf(buf, size, "%s", a->id); break;
        case 3: snprintf(buf, size, "%s", a->rule); break;
        case 4: snprintf(buf, size, "%s", a->subject_id); break;
        case 5: snprintf(buf, size, "%s", a->message.s ? a->message.s : ""); break;
        case 6: {
            const char *fl = panes_inflight_label(u, a->id);
            if (fl) {
                snprintf(buf, size, "%s", fl);
                *attr = theme_attr(THEME_INFLIGHT);
            } else if (a->status == ALERT_ACKED)
                snprintf(buf, size, "acked %s", a->acked_by.s ? a->acked_by.s : "");
            else
                snprintf(buf, size, "%s", model_alert_status_label(a));
            break;
        }
        default: break;
    }
}

/* ---- Agents ------------------------------------------------------------------------- */

static const widget_column agent_cols[] = {
    {"AGENT", 12, 0, false, false, 0, false},      {"NAME", 12, 0, false, true, 30, false},
    {"ROLE", 6, 3, false, false, 0, false},        {"STATUS", 9, 0, false, false, 0, false},
    {"SPEND / CAP", 15, 1, false, false, 0, true}, {"SPENT", 13, 0, true, false, 0, true},
    {"CAP", 13, 2, true, false, 0, true},          {"DEAL MAX", 12, 4, true, false, 0, true},
};
static const char *const agent_sorts[] = {"name", "spend share", "status", NULL};

/* Every agent. */
static size_t agent_collect(ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_agent *const *p = store_agents(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* Spend as a share of the cap in thousandths. */
static int64_t agent_share(const model_agent *a)
{
    return a->limits.spend_cap_minor > 0 ? a->spent_minor * 1000 / a->limits.spend_cap_minor : 0;
}

/* Orders agents. */
static int agent_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_agent *x = a, *y = b;
    int r = 0;
    if (sort == 1)
        r = -cmp64(agent_share(x), agent_share(y));
    else if (sort == 2)
        r = (int)y->paused - (int)x->paused;
    if (!r)
        r = strcmp(x->name.s ? x->name.s : "", y->name.s ? y->name.s : "");
    return r ? r : strcmp(x->id, y->id);
}

/* Fills an Agents cell. */
static void agent_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                       unsigned long *attr)
{
    const model_agent *a = row;
    switch (col) {
        case 0: snprintf(buf, size, "%s", a->id); break;
        case 1: snprintf(buf, size, "%s", a->name.s ? a->name.s : ""); break;
        case 2: snprintf(buf, size, "%s", model_agent_role_label(a)); break;
        case 3: {
            const char *fl = panes_inflight_label(u, a->id);
            snprintf(buf, size, "%s", fl ? fl : model_agent_status_label(a));
            if (fl)
                *attr = theme_attr(THEME_INFLIGHT);
            else if (a->paused || a->status_raw[0])
                *attr = theme_attr(THEME_WARN);
            break;
        }
        case 4: {
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
        case 5: format_money(a->spent_minor, a->currency, buf, size); break;
        case 6: format_money(a->limits.spend_cap_minor, a->currency, buf, size); break;
        case 7: format_money(a->limits.per_deal_max_minor, a->currency, buf, size); break;
        default: break;
    }
}

/* ---- ids and filter text -------------------------------------------------------------- */

static const char *purchase_id(const void *r)
{
    return ((const model_purchase *)r)->id;
}
static const char *neg_id(const void *r)
{
    return ((const model_negotiation *)r)->id;
}
static const char *listing_id(const void *r)
{
    return ((const model_listing *)r)->id;
}
static const char *ledger_id(const void *r)
{
    return ((const model_ledger_entry *)r)->id;
}
static const char *alert_id(const void *r)
{
    return ((const model_alert *)r)->id;
}
static const char *agent_id(const void *r)
{
    return ((const model_agent *)r)->id;
}

/* True when any cell of the row, as shown, holds needle (already lower case, ASCII
 * case folding): the filter searches what the operator sees. */
static bool row_matches(const ui *u, const pane_ops *ops, const void *row, const char *needle)
{
    for (int c = 0; c < ops->ncols; c++) {
        char cell[512];
        cell[0] = '\0';
        unsigned long a = 0;
        ops->cell(u, row, c, cell, sizeof cell, &a);
        for (char *p = cell; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        if (strstr(cell, needle))
            return true;
    }
    return false;
}

static const pane_ops panes[PANE_COUNT] = {
    [PANE_PENDING] = {"Pending", pending_cols, 9, pending_sorts, pending_collect, pending_compare,
                      pending_cell, purchase_id},
    [PANE_THREADS] = {"Threads", thread_cols, 8, thread_sorts, thread_collect, thread_compare,
                      thread_cell, neg_id},
    [PANE_LISTINGS] = {"Listings", listing_cols, 8, listing_sorts, listing_collect, listing_compare,
                       listing_cell, listing_id},
    [PANE_LEDGER] = {"Ledger", ledger_cols, 8, ledger_sorts, ledger_collect, ledger_compare,
                     ledger_cell, ledger_id},
    [PANE_ALERTS] = {"Alerts", alert_cols, 7, alert_sorts, alert_collect, alert_compare, alert_cell,
                     alert_id},
    [PANE_AGENTS] = {"Agents", agent_cols, 8, agent_sorts, agent_collect, agent_compare, agent_cell,
                     agent_id},
};

/* The pane's name. */
const char *panes_name(int p)
{
    return (p >= 0 && p < PANE_COUNT) ? panes[p].name : "?";
}

/* Number of sort orders. */
int panes_sort_count(int p)
{
    int n = 0;
    while (panes[p].sorts[n])
        n++;
    return n;
}

/* Name of a sort order. */
const char *panes_sort_name(int p, int sort)
{
    return (sort >= 0 && sort < panes_sort_count(p)) ? panes[p].sorts[sort] : "?";
}

/* qsort has no context argument: the pane being sorted. */
static const ui *sort_ui;
static int sort_pane, sort_order;

/* qsort adaptor. */
static int sort_cmp(const void *a, const void *b)
{
    return panes[sort_pane].compare(sort_ui, sort_order, *(const void *const *)a,
                                    *(const void *const *)b);
}

/* Recomputes a pane's rows; see ui.h. */
void panes_refresh(ui *u, int p, bool force)
{
    ui_pane *pn = &u->panes[p];
    bool same_data = pn->computed_gen == u->gen && pn->rows;
    if (!force && same_data && strcmp(pn->filtered_by, pn->filter) == 0)
        return;
    const pane_ops *ops = &panes[p];
    char needle[128];
    snprintf(needle, sizeof needle, "%s", pn->filter);
    for (char *c = needle; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    /* Typing one more character of a filter narrows the rows already shown (same data,
     * already sorted): no collect, no sort. */
    bool narrowing = same_data && !force && pn->filtered_by[0] &&
                     strncmp(pn->filter, pn->filtered_by, strlen(pn->filtered_by)) == 0;
    size_t n = narrowing ? pn->table.nrows : ops->collect(u, &pn->rows, &pn->cap);
    if (needle[0]) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (row_matches(u, ops, pn->rows[i], needle))
                pn->rows[k++] = pn->rows[i];
        n = k;
    }
    memcpy(pn->filtered_by, pn->filter, sizeof pn->filtered_by); /* same size, NUL inside */
    sort_ui = u;
    sort_pane = p;
    sort_order = pn->sort;
    if (n > 1 && !narrowing)
        qsort(pn->rows, n, sizeof *pn->rows, sort_cmp);
    pn->table.nrows = n;
    /* keep the selection on the same object */
    if (pn->sel_id[0]) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(ops->id(pn->rows[i]), pn->sel_id) == 0) {
                pn->table.sel = i;
                break;
            }
    }
    widget_table_clamp(&pn->table);
    if (n)
        snprintf(pn->sel_id, sizeof pn->sel_id, "%s", ops->id(pn->rows[pn->table.sel]));
    pn->computed_gen = u->gen;
}

/* The selected object of the current pane. */
const void *panes_selected(ui *u, model_kind *kind)
{
    static const model_kind kinds[PANE_COUNT] = {MODEL_PURCHASE, MODEL_NEGOTIATION, MODEL_LISTING,
                                                 MODEL_LEDGER,   MODEL_ALERT,       MODEL_AGENT};
    ui_pane *pn = &u->panes[u->pane];
    panes_refresh(u, u->pane, false);
    if (kind)
        *kind = kinds[u->pane];
    if (pn->table.nrows == 0)
        return NULL;
    return pn->rows[pn->table.sel];
}

/* The id of a row of pane p (borrowed); see ui.h. */
const char *panes_row_id(int p, const void *row)
{
    return panes[p].id(row);
}

/* Table callbacks: the ui and pane travel through ud. */
typedef struct cell_ctx {
    ui *u;
    int pane;
} cell_ctx;

/* widget_cell_fn adaptor. */
static void cell_adaptor(void *ud, size_t row, int col, char *buf, size_t size, unsigned long *attr)
{
    cell_ctx *c = ud;
    panes[c->pane].cell(c->u, c->u->panes[c->pane].rows[row], col, buf, size, attr);
}

/* widget_row_attr_fn adaptor: in-flight rows stand out. */
static unsigned long row_attr_adaptor(void *ud, size_t row)
{
    cell_ctx *c = ud;
    const char *id = panes[c->pane].id(c->u->panes[c->pane].rows[row]);
    return panes_inflight_label(c->u, id) ? theme_attr(THEME_INFLIGHT) : theme_attr(THEME_NORMAL);
}

/* Draws the current pane: table, and the detail below it when there is room or open. */
void panes_draw(ui *u, WINDOW *w, int top, int height)
{
    ui_pane *pn = &u->panes[u->pane];
    int width = getmaxx(w);
    panes_refresh(u, u->pane, false);
    if (height <= 0)
        return;
    bool split = height >= 20; /* room for table and detail together */
    if (pn->detail && !split) {
        detail_draw(u, w, top, height);
        return;
    }
    int table_h = height;
    if (split && pn->table.nrows > 0) {
        table_h = pn->detail ? 6 : height * 2 / 5; /* Enter: the detail gets the room */
        if (table_h < 6)
            table_h = 6;
    }
    cell_ctx ctx = {u, u->pane};
    widget_table_draw(w, top, 0, width, table_h, &pn->table, panes[u->pane].cols,
                      panes[u->pane].ncols, cell_adaptor, row_attr_adaptor, &ctx);
    if (pn->table.nrows)
        snprintf(pn->sel_id, sizeof pn->sel_id, "%s", panes[u->pane].id(pn->rows[pn->table.sel]));
    if (pn->table.nrows == 0) {
        const char *msg = pn->filter[0]          ? "no rows match the filter (Esc clears it)"
                          : u->cs.snapshots == 0 ? "waiting for the first snapshot…"
                                                 : "nothing here yet";
        widget_text(w, top + 2, 2, width - 4, msg, theme_attr(THEME_DIM));
    }
    if (split && table_h < height) {
        widget_hline(w, top + table_h, 0, width, theme_attr(THEME_RULE));
        detail_draw(u, w, top + table_h + 1, height - table_h - 1);
    }
}
