/* panes.c: the seven panes as data (the Policies pane's own parts: policies.c; the Agents
 * pane's: agents.c): for each, its
 * columns (an enum and a table with designated initialisers, so that a cell names its column), its
 * sort orders and how it compares rows, how it collects its rows from the store, and its cells; for
 * the four that page from the server, the query of each sort order (the server's sort its
 * comparator agrees with, ties by creation order) and the store's version of a row read.
 * The machinery that recomputes, filters, sorts and draws the rows is rows.c. */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

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

/* Compares two ids of one kind by creation order: marketd numbers them in order
 * (marketd/db.c, mkt_new_id: the prefix and a counter), so the shorter is the older. */
static int cmp_created(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
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

/* At 80 columns FLAGS, then RISK, then BUYER drop (the README, "What you see"); ITEM
 * shortens; the one-character marker `!` of the worst flag (✗ critical, ⚠ warning)
 * stays at every width. Columns of numbers are `whole` (last field): never cut, the text
 * columns give way. */
enum pending_col {
    PC_MARKED, /* ● a mark for a batch decision (batch.c) */
    PC_DUE,
    PC_MARK,
    PC_PURCHASE,
    PC_BUYER,
    PC_ITEM,
    PC_QTY,
    PC_TOTAL,
    PC_RISK,
    PC_STATE,
    PC_FLAGS,
    PC_COUNT
};
static const widget_column pending_cols[PC_COUNT] = {
    [PC_MARKED] = {.title = " ", .width = 1, .whole = true},
    [PC_DUE] = {.title = "DUE", .width = 5, .right = true, .whole = true},
    [PC_MARK] = {.title = "!", .width = 1, .whole = true},
    [PC_PURCHASE] = {.title = "PURCHASE", .width = 10},
    [PC_BUYER] = {.title = "BUYER", .width = 10, .drop = 1},
    [PC_ITEM] = {.title = "ITEM", .width = 12, .flex = true, .max = 48},
    [PC_QTY] = {.title = "QTY", .width = 5, .right = true, .whole = true},
    [PC_TOTAL] = {.title = "TOTAL", .width = 12, .right = true, .whole = true},
    [PC_RISK] = {.title = "RISK", .width = 4, .drop = 2, .right = true, .whole = true},
    [PC_STATE] = {.title = "STATE", .width = 10},
    [PC_FLAGS] = {.title = "FLAGS", .width = 16, .drop = 3},
};
/* "stake" (what is at stake) is the default (issue 15): what a person must see first is what can go
 * most wrong, not what expires first. */
enum pending_sort { PS_STAKE, PS_DEADLINE, PS_TOTAL, PS_RISK, PS_BUYER };
static const char *const pending_sorts[] = {
    [PS_STAKE] = "stake", [PS_DEADLINE] = "deadline", [PS_TOTAL] = "total",
    [PS_RISK] = "risk",   [PS_BUYER] = "buyer",       NULL};

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
static size_t pending_collect(const ui *u, const void ***rows, size_t *cap)
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

/* The severity band of a purchase; see ui.h. */
int panes_pending_band(const model_purchase *p)
{
    int w = -1;
    for (size_t i = 0; i < p->nflags; i++)
        if ((int)p->flags[i].severity > w)
            w = (int)p->flags[i].severity;
    return w >= SEV_WARNING ? w : -1; /* an info flag is no band of its own */
}

/* What is at stake, most first: the severity band (critical, warning, none), then the
 * total within a currency (no exchange rates: currencies in the order of their codes),
 * larger first. 0 when alike (the deadline decides). */
static int stake_compare(const model_purchase *x, const model_purchase *y)
{
    int r = panes_pending_band(y) - panes_pending_band(x);
    if (!r)
        r = strcmp(x->currency, y->currency);
    return r ? r : -cmp64(x->total_minor, y->total_minor);
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
        case PS_STAKE: r = stake_compare(x, y); break;
        case PS_TOTAL: r = -cmp64(x->total_minor, y->total_minor); break;
        case PS_RISK: r = -cmp64(x->risk_score, y->risk_score); break;
        case PS_BUYER:
            r = strcmp(format_agent_name(u, x->buyer_id), format_agent_name(u, y->buyer_id));
            break;
        default: break;
    }
    if (!r)
        r = cmp64(x->decide_by ? x->decide_by : INT64_MAX, y->decide_by ? y->decide_by : INT64_MAX);
    return r ? r : strcmp(x->id, y->id);
}

/* The rank of a purchase in the queue at stake; see ui.h. */
size_t panes_pending_rank(const ui *u, const model_purchase *p, size_t *of)
{
    size_t n, before = 0, pending = 0;
    const model_purchase *const *all = store_purchases(u->st, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->status == PUR_PENDING) {
            pending++;
            before += all[i] != p && pending_compare(u, PS_STAKE, all[i], p) < 0;
        }
    *of = pending;
    return p->status == PUR_PENDING ? before + 1 : 0;
}

/* Short names of the risk rules for the FLAGS column ("qty mandate max"). */
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
        case PC_MARKED:
            if (batch_is_marked(u, p->id)) {
                snprintf(buf, size, "%s", widget_glyph_str(GLYPH_DOT));
                *attr = theme_attr(THEME_INFLIGHT);
            }
            break;
        case PC_DUE:
            if (p->status == PUR_PENDING && p->decide_by) {
                int64_t left = p->decide_by - ui_clock_ms(u);
                format_countdown(left, buf, size);
                if (left < 30000)
                    *attr = theme_attr(THEME_CRIT);
            } else
                snprintf(buf, size, "%s", p->status == PUR_PENDING ? "-" : "done");
            break;
        case PC_MARK: /* the worst flag, where FLAGS does not fit */
        case PC_PURCHASE: {
            int band = panes_pending_band(p);
            if (col == PC_MARK)
                snprintf(buf, size, "%s",
                         band == SEV_CRITICAL  ? widget_glyph_str(GLYPH_CROSS)
                         : band == SEV_WARNING ? widget_glyph_str(GLYPH_WARN)
                                               : "");
            else
                snprintf(buf, size, "%s", p->id);
            /* high stakes stand out at every width */
            if (band == SEV_CRITICAL)
                *attr = theme_attr(THEME_CRIT);
            else if (band == SEV_WARNING)
                *attr = theme_attr(THEME_WARN);
            break;
        }
        case PC_BUYER: snprintf(buf, size, "%s", format_agent_name(u, p->buyer_id)); break;
        case PC_ITEM:
            snprintf(buf, size, "%s", l && l->title.s ? l->title.s : p->listing_id);
            break;
        case PC_QTY: format_qty(p->quantity, buf, size); break;
        case PC_TOTAL:
            format_money(p->total_minor, p->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case PC_RISK:
            snprintf(buf, size, "%d", p->risk_score);
            if (p->risk_score >= 70)
                *attr = theme_attr(THEME_CRIT);
            else if (p->risk_score >= 30)
                *attr = theme_attr(THEME_WARN);
            break;
        case PC_STATE:
            if (fl) {
                snprintf(buf, size, "%s", fl);
                *attr = theme_attr(THEME_INFLIGHT);
            } else if (p->decision.present && p->decision.by.s &&
                       !strncmp(p->decision.by.s, "policy:", 7)) { /* automatic (policies.c) */
                snprintf(buf, size, "by policy");
                *attr = theme_attr(strcmp(p->decision.action, "approve") ? THEME_WARN : THEME_OK);
            } else if (!twoperson_state(u, p, buf, size)) { /* approvals, claims */
                snprintf(buf, size, "%s",
                         p->status == PUR_PENDING ? "waiting" : model_purchase_status_label(p));
                if (p->status == PUR_SETTLED || p->status == PUR_APPROVED)
                    *attr = theme_attr(THEME_OK);
                else if (p->status != PUR_PENDING)
                    *attr = theme_attr(THEME_WARN);
            }
            break;
        case PC_FLAGS: {
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

enum thread_col {
    TC_THREAD,
    TC_ITEM,
    TC_BUYER,
    TC_SELLER,
    TC_STATUS,
    TC_TERMS,
    TC_MSGS,
    TC_UPDATED,
    TC_COUNT
};
static const widget_column thread_cols[TC_COUNT] = {
    [TC_THREAD] = {.title = "THREAD", .width = 12},
    [TC_ITEM] = {.title = "ITEM", .width = 14, .flex = true, .max = 40},
    [TC_BUYER] = {.title = "BUYER", .width = 12, .drop = 2},
    [TC_SELLER] = {.title = "SELLER", .width = 12, .drop = 3},
    [TC_STATUS] = {.title = "STATUS", .width = 13}, /* "agreed·policy" */
    [TC_TERMS] = {.title = "TERMS", .width = 18, .drop = 1, .right = true, .whole = true},
    [TC_MSGS] = {.title = "MSGS", .width = 4, .drop = 4, .right = true, .whole = true},
    [TC_UPDATED] = {.title = "UPDATED", .width = 8, .drop = 5, .whole = true},
};
/* "opened" (newest first) is the default: it only changes when a thread opens, so rows
 * do not move under the cursor with every message; "activity" (last update first) re-sorts
 * as the market talks, and is asked for explicitly; "status" puts the threads that may
 * still move (open, then held: all held by the store) before the closed ones, newest
 * first. Each agrees with the server's sort of its query (thread_history). */
enum thread_sort { TS_OPENED, TS_ACTIVITY, TS_STATUS, TS_MESSAGES };
static const char *const thread_sorts[] = {[TS_OPENED] = "opened",
                                           [TS_ACTIVITY] = "activity",
                                           [TS_STATUS] = "status",
                                           [TS_MESSAGES] = "messages",
                                           NULL};
static const pane_history thread_history[] = {[TS_OPENED] = {"newest", ""},
                                              [TS_ACTIVITY] = {"activity", ""},
                                              [TS_STATUS] = {"newest", ""},
                                              [TS_MESSAGES] = {"messages", ""}};

/* Every negotiation. */
static size_t thread_collect(const ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_negotiation *const *p = store_negotiations(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* A thread's place under "status": open, held, then the closed ones. */
static int thread_status_rank(const model_negotiation *n)
{
    return n->status == NEG_OPEN ? 0 : n->status == NEG_HELD ? 1 : 2;
}

/* Orders threads as the server's sort of the order does, ties newest first. */
static int thread_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_negotiation *x = a, *y = b;
    int r = 0;
    if (sort == TS_ACTIVITY)
        r = -cmp64(x->updated_at, y->updated_at);
    else if (sort == TS_STATUS)
        r = thread_status_rank(x) - thread_status_rank(y);
    else if (sort == TS_MESSAGES)
        r = -cmp64(x->message_count, y->message_count);
    return r ? r : -cmp_created(x->id, y->id);
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
    const model_listing *l = NULL;
    switch (col) {
        case TC_THREAD: snprintf(buf, size, "%s", n->id); break;
        case TC_ITEM: /* the one cell that names the listing: looked up here only */
            l = store_listing(u->st, n->listing_id);
            snprintf(buf, size, "%s", l && l->title.s ? l->title.s : n->listing_id);
            break;
        case TC_BUYER: snprintf(buf, size, "%s", format_agent_name(u, n->buyer_id)); break;
        case TC_SELLER: snprintf(buf, size, "%s", format_agent_name(u, n->seller_id)); break;
        case TC_STATUS: /* "agreed·policy": its purchase decided by a policy (policies.c) */
            if (policies_thread_purchase(u, n))
                snprintf(buf, size, "%s%spolicy", model_neg_status_label(n),
                         widget_glyph_str(GLYPH_MIDDOT));
            else
                snprintf(buf, size, "%s", model_neg_status_label(n));
            if (n->status == NEG_AGREED)
                *attr = theme_attr(THEME_OK);
            else if (n->status == NEG_HELD || n->status == NEG_VETOED)
                *attr = theme_attr(THEME_WARN);
            break;
        case TC_TERMS:
            terms_text(n->status == NEG_AGREED && n->agreed_terms.present ? &n->agreed_terms
                                                                          : &n->terms,
                       n->currency, buf, size);
            break;
        case TC_MSGS: snprintf(buf, size, "%lld", (long long)n->message_count); break;
        case TC_UPDATED: format_clock(n->updated_at, buf, size); break;
        default: break;
    }
}

/* ---- Listings ----------------------------------------------------------------------- */

enum listing_col {
    LC_LISTING,
    LC_SELLER,
    LC_TITLE,
    LC_CATEGORY,
    LC_QTY,
    LC_PRICE,
    LC_STATUS,
    LC_HIDDEN,
    LC_COUNT
};
static const widget_column listing_cols[LC_COUNT] = {
    [LC_LISTING] = {.title = "LISTING", .width = 12},
    [LC_SELLER] = {.title = "SELLER", .width = 12, .drop = 2},
    [LC_TITLE] = {.title = "TITLE", .width = 16, .flex = true, .max = 60},
    [LC_CATEGORY] = {.title = "CATEGORY", .width = 10, .drop = 3},
    [LC_QTY] = {.title = "QTY", .width = 6, .drop = 4, .right = true, .whole = true},
    [LC_PRICE] = {.title = "PRICE", .width = 12, .right = true, .whole = true},
    [LC_STATUS] = {.title = "STATUS", .width = 9, .drop = 1},
    [LC_HIDDEN] = {.title = "HIDDEN", .width = 10},
};
/* "newest" (by creation) by default, stable while sales change quantities. "hidden" has
 * no server sort: it orders the listings the store holds. */
enum listing_sort { LS_NEWEST, LS_UPDATED, LS_PRICE, LS_HIDDEN };
static const char *const listing_sorts[] = {[LS_NEWEST] = "newest",
                                            [LS_UPDATED] = "updated",
                                            [LS_PRICE] = "price",
                                            [LS_HIDDEN] = "hidden",
                                            NULL};
static const pane_history listing_history[] = {[LS_NEWEST] = {"newest", ""},
                                               [LS_UPDATED] = {"updated", ""},
                                               [LS_PRICE] = {"price", ""},
                                               [LS_HIDDEN] = {NULL, NULL}};

/* Every listing. */
static size_t listing_collect(const ui *u, const void ***rows, size_t *cap)
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

/* Orders listings as the server's sort of the order does, ties newest first. */
static int listing_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_listing *x = a, *y = b;
    int r = 0;
    if (sort == LS_UPDATED)
        r = -cmp64(x->updated_at, y->updated_at);
    else if (sort == LS_PRICE)
        r = -cmp64(x->unit_price_minor, y->unit_price_minor);
    else if (sort == LS_HIDDEN)
        r = -cmp64(listing_hidden(x), listing_hidden(y));
    return r ? r : -cmp_created(x->id, y->id);
}

/* Fills a Listings cell. */
static void listing_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                         unsigned long *attr)
{
    const model_listing *l = row;
    switch (col) {
        case LC_LISTING: snprintf(buf, size, "%s", l->id); break;
        case LC_SELLER: snprintf(buf, size, "%s", format_agent_name(u, l->seller_id)); break;
        case LC_TITLE: snprintf(buf, size, "%s", l->title.s ? l->title.s : ""); break;
        case LC_CATEGORY: snprintf(buf, size, "%s", l->category.s ? l->category.s : ""); break;
        case LC_QTY: format_qty(l->quantity, buf, size); break;
        case LC_PRICE:
            format_money(l->unit_price_minor, l->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case LC_STATUS: snprintf(buf, size, "%s", model_listing_status_label(l)); break;
        case LC_HIDDEN: {
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

enum ledger_col {
    GC_SEQ,
    GC_ENTRY,
    GC_KIND,
    GC_PURCHASE,
    GC_FROM,
    GC_TO,
    GC_AMOUNT,
    GC_AT,
    GC_COUNT
};
static const widget_column ledger_cols[GC_COUNT] = {
    [GC_SEQ] = {.title = "SEQ", .width = 6, .drop = 3, .right = true, .whole = true},
    [GC_ENTRY] = {.title = "ENTRY", .width = 12},
    [GC_KIND] = {.title = "KIND", .width = 10},
    [GC_PURCHASE] = {.title = "PURCHASE", .width = 12, .drop = 2},
    [GC_FROM] = {.title = "FROM", .width = 12, .flex = true, .max = 24},
    [GC_TO] = {.title = "TO", .width = 12},
    [GC_AMOUNT] = {.title = "AMOUNT", .width = 13, .right = true, .whole = true},
    [GC_AT] = {.title = "AT", .width = 8, .drop = 1, .whole = true},
};
enum ledger_sort { GS_NEWEST, GS_OLDEST, GS_AMOUNT };
static const char *const ledger_sorts[] = {
    [GS_NEWEST] = "newest", [GS_OLDEST] = "oldest", [GS_AMOUNT] = "amount", NULL};
static const pane_history ledger_history[] = {
    [GS_NEWEST] = {"newest", ""}, [GS_OLDEST] = {"", ""}, [GS_AMOUNT] = {"amount", ""}};

/* Every ledger entry. */
static size_t ledger_collect(const ui *u, const void ***rows, size_t *cap)
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

/* The largest posting of an entry (the greatest amount, as signed): what the server's
 * "amount" sort orders by (marketd/db.c, the ledger's sort key). */
static int64_t ledger_largest(const model_ledger_entry *e)
{
    int64_t m = e->npostings ? e->postings[0].amount_minor : 0;
    for (size_t i = 1; i < e->npostings; i++)
        if (e->postings[i].amount_minor > m)
            m = e->postings[i].amount_minor;
    return m;
}

/* Orders ledger entries as the server's sort of the order does (ties newest first;
 * "oldest" is creation order). */
static int ledger_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_ledger_entry *x = a, *y = b;
    if (sort == GS_AMOUNT) {
        int r = -cmp64(ledger_largest(x), ledger_largest(y));
        if (r)
            return r;
    }
    return sort == GS_OLDEST ? cmp_created(x->id, y->id) : -cmp_created(x->id, y->id);
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
        case GC_SEQ: snprintf(buf, size, "%lld", (long long)e->seq); break;
        case GC_ENTRY: snprintf(buf, size, "%s", e->id); break;
        case GC_KIND:
            snprintf(buf, size, "%s", model_ledger_kind_label(e));
            if (e->refund)
                *attr = theme_attr(THEME_WARN);
            break;
        case GC_PURCHASE: snprintf(buf, size, "%s", e->purchase_id); break;
        case GC_FROM: snprintf(buf, size, "%s", format_agent_name(u, ledger_side(e, false))); break;
        case GC_TO: snprintf(buf, size, "%s", format_agent_name(u, ledger_side(e, true))); break;
        case GC_AMOUNT:
            format_money(ledger_amount(e), e->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case GC_AT: format_clock(e->at, buf, size); break;
        default: break;
    }
}

/* ---- Alerts ------------------------------------------------------------------------- */

enum alert_col { AC_SEV, AC_AT, AC_ALERT, AC_RULE, AC_SUBJECT, AC_MESSAGE, AC_STATUS, AC_COUNT };
static const widget_column alert_cols[AC_COUNT] = {
    [AC_SEV] = {.title = "SEV", .width = 8},
    [AC_AT] = {.title = "AT", .width = 8, .drop = 2, .whole = true},
    [AC_ALERT] = {.title = "ALERT", .width = 12, .drop = 3},
    [AC_RULE] = {.title = "RULE", .width = 18, .drop = 1},
    [AC_SUBJECT] = {.title = "SUBJECT", .width = 12, .drop = 4},
    [AC_MESSAGE] = {.title = "MESSAGE", .width = 16, .flex = true},
    [AC_STATUS] = {.title = "STATUS", .width = 15}, /* "resolved vetoed" */
};
enum alert_sort { AS_OPEN_FIRST, AS_SEVERITY, AS_NEWEST };
static const char *const alert_sorts[] = {
    [AS_OPEN_FIRST] = "open first", [AS_SEVERITY] = "severity", [AS_NEWEST] = "newest", NULL};
/* "open first" reads the server's "severity": the open alerts all come first, and the
 * store holds every one of them, so the closed ones follow in the server's order. */
static const pane_history alert_history[] = {[AS_OPEN_FIRST] = {"severity", ""},
                                             [AS_SEVERITY] = {"severity", ""},
                                             [AS_NEWEST] = {"newest", ""}};

/* Every alert. */
static size_t alert_collect(const ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_alert *const *p = store_alerts(u->st, &n);
    return copy_rows((const void *const *)p, n, rows, cap);
}

/* Orders alerts as the server's sort of the order does: critical first, ties newest
 * first ("open first": the open ones before the rest, then the same). */
static int alert_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_alert *x = a, *y = b;
    int r = 0;
    if (sort == AS_OPEN_FIRST)
        r = (x->status != ALERT_OPEN) - (y->status != ALERT_OPEN);
    if (!r && sort != AS_NEWEST)
        r = (int)y->severity - (int)x->severity;
    return r ? r : -cmp_created(x->id, y->id);
}

/* Fills an Alerts cell. */
static void alert_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                       unsigned long *attr)
{
    const model_alert *a = row;
    switch (col) {
        case AC_SEV:
            snprintf(buf, size, "%s", model_alert_severity_label(a));
            if (a->status == ALERT_OPEN)
                *attr = theme_attr(a->severity == SEV_CRITICAL  ? THEME_CRIT
                                   : a->severity == SEV_WARNING ? THEME_WARN
                                                                : THEME_NORMAL);
            break;
        case AC_AT: format_clock(a->at, buf, size); break;
        case AC_ALERT: snprintf(buf, size, "%s", a->id); break;
        case AC_RULE: /* a group of repeats: "off_mandate ×3" */
            if (a->count > 1)
                snprintf(buf, size, "%s %s%lld", a->rule, widget_glyph_str(GLYPH_TIMES),
                         (long long)a->count);
            else
                snprintf(buf, size, "%s", a->rule);
            break;
        case AC_SUBJECT: snprintf(buf, size, "%s", a->subject_id); break;
        case AC_MESSAGE: snprintf(buf, size, "%s", a->message.s ? a->message.s : ""); break;
        case AC_STATUS: {
            const char *fl = panes_inflight_label(u, a->id);
            if (fl) {
                snprintf(buf, size, "%s", fl);
                *attr = theme_attr(THEME_INFLIGHT);
            } else if (a->status == ALERT_ACKED) {
                snprintf(buf, size, "acked %s", a->acked_by.s ? a->acked_by.s : "");
            } else if (a->status == ALERT_RESOLVED) { /* "resolved vetoed" */
                snprintf(buf, size, "resolved%s%s", a->resolved_status[0] ? " " : "",
                         a->resolved_status);
                *attr = theme_attr(THEME_DIM);
            } else
                snprintf(buf, size, "%s", model_alert_status_label(a));
            break;
        }
        default: break;
    }
}

/* ---- ids ------------------------------------------------------------------------------ */

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

/* ---- the store's version of a row read from the server ------------------------------- */

static const void *listing_held(const ui *u, const void *r)
{
    return store_listing(u->st, listing_id(r));
}
static const void *neg_held(const ui *u, const void *r)
{
    return store_negotiation(u->st, neg_id(r));
}
static const void *alert_held(const ui *u, const void *r)
{
    return store_alert(u->st, alert_id(r));
}
/* The store's ledger is in seq order: a binary search (entries never change). */
static const void *ledger_held(const ui *u, const void *r)
{
    const model_ledger_entry *e = r;
    size_t n;
    const model_ledger_entry *all = store_ledger(u->st, &n);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (all[mid].seq < e->seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(all[lo].id, e->id) == 0 ? &all[lo] : NULL;
}

const pane_ops panes_ops[PANE_COUNT] = {
    [PANE_PENDING] = {"Pending", MODEL_PURCHASE, pending_cols, PC_COUNT, pending_sorts,
                      pending_collect, pending_compare, pending_cell, purchase_id, .hold = true},
    [PANE_THREADS] = {"Threads", MODEL_NEGOTIATION, thread_cols, TC_COUNT, thread_sorts,
                      thread_collect, thread_compare, thread_cell, neg_id,
                      .history = thread_history, .held = neg_held},
    [PANE_LISTINGS] = {"Listings", MODEL_LISTING, listing_cols, LC_COUNT, listing_sorts,
                       listing_collect, listing_compare, listing_cell, listing_id,
                       .history = listing_history, .held = listing_held},
    [PANE_LEDGER] = {"Ledger", MODEL_LEDGER, ledger_cols, GC_COUNT, ledger_sorts, ledger_collect,
                     ledger_compare, ledger_cell, ledger_id, .history = ledger_history,
                     .held = ledger_held},
    [PANE_ALERTS] = {"Alerts", MODEL_ALERT, alert_cols, AC_COUNT, alert_sorts, alert_collect,
                     alert_compare, alert_cell, alert_id, .history = alert_history,
                     .held = alert_held},
    [PANE_AGENTS] = {"Agents", MODEL_AGENT, agents_cols, NC_COUNT, agents_sorts, agents_collect,
                     agents_compare, agents_cell, agents_row_id},
    [PANE_POLICIES] = {"Policies", MODEL_POLICY, policies_cols, PLC_COUNT, policies_sorts,
                       policies_collect, policies_compare, policies_cell, policies_row_id},
    [PANE_DISPUTES] = {"Disputes", MODEL_DISPUTE, disputes_cols, DSC_COUNT, disputes_sorts,
                       disputes_collect, disputes_compare, disputes_cell, disputes_row_id,
                       .history = disputes_history, .held = disputes_held},
};
