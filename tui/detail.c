/* detail.c: the detail view of the selected row. The purchase detail holds everything
 * needed to decide on one screen: parties, terms, ship-to, flags, risk, the countdown
 * and what happens then, the buyer's budget, and the thread with its price path as a
 * sparkline. The update step builds the lines (detail_update: it also asks for a shown
 * thread's earlier messages and keeps the scroll inside the lines), then the drawing
 * wraps them to the width and draws the visible rows (detail_draw, which only reads): a
 * line is never cut (an amount, a limit or a party must be read whole); only "soft"
 * lines (messages, descriptions) are cut to one row when wrapping them all would not fit
 * the height. */
#include "tui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

#define DETAIL_MAX_LINES 400

/* One line: sanitised text in a role, or a bar followed by text. */
typedef struct dline {
    char text[480];
    theme_role role;
    bool bar;
    const char *label; /* before a bar ("budget"), static */
    int64_t part, whole;
    bool soft;   /* a message or description: wrapped only when there is room */
    int indent;  /* columns before the text of a continuation row (0: 2) */
    size_t tail; /* when the line does not fit, text[tail..] starts a row of its own */
} dline;

/* The detail's lines (ui.h's ui_detail), built by the update step, drawn as they are. */
struct ui_detail {
    dline *l; /* DETAIL_MAX_LINES of them */
    int n;
    bool wrap_soft;                  /* messages and descriptions wrap (everything fits) */
    const model_negotiation *thread; /* the thread shown, whose history is asked for */
};
typedef struct ui_detail dbuf;

/* Appends a line (printf-style; strings from the network go in as %s of sanitised text). */
static dline *add(dbuf *b, theme_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static dline *add(dbuf *b, theme_role role, const char *fmt, ...)
{
    if (b->n >= DETAIL_MAX_LINES)
        return NULL;
    dline *d = &b->l[b->n++];
    memset(d, 0, sizeof *d);
    d->role = role;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof d->text, fmt, ap);
    va_end(ap);
    return d;
}

/* Appends to a line (printf-style, same rules as add). */
static void append(dline *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(dline *d, const char *fmt, ...)
{
    size_t used = strlen(d->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text + used, sizeof d->text - used, fmt, ap);
    va_end(ap);
}

/* A text field or "" (sanitised strings only). */
static const char *txt(const model_text *t)
{
    return t->s ? t->s : "";
}

/* Cuts sanitised text to exactly cols columns (padded with spaces) without ever
 * splitting a character or a placeholder; returns out. */
static const char *fit(const char *safe, int cols, char *out, size_t size)
{
    int w = text_truncate(safe ? safe : "", cols, widget_mode(), out, size);
    size_t len = strlen(out);
    while (w < cols && len + 1 < size) {
        out[len++] = ' ';
        w++;
    }
    out[len] = '\0';
    return out;
}

/* Asks the client for a shown thread's messages: the snapshot carries threads, not their
 * messages, and the store keeps them only for the threads watched (api/model.h,
 * store_watch_thread). Asked when the detail shows another thread, or the thread shown
 * is no longer watched; they arrive in the background. */
static void want_history(ui *u, const model_negotiation *n)
{
    if (!u->cl || (strcmp(u->watching, n->id) == 0 && store_thread_watched(u->st, n->id)))
        return;
    snprintf(u->watching, sizeof u->watching, "%s", n->id);
    client_fetch_thread(u->cl, n->id);
}

/* The thread's price path and message lines. */
static void thread_lines(const ui *u, dbuf *b, const model_negotiation *n, size_t max_msgs)
{
    if (!n)
        return;
    b->thread = n;
    int64_t prices[512] = {0};
    size_t np = 0;
    for (size_t i = 0; i < n->nmessages && np < 512; i++)
        if (n->messages[i].unit_price_minor >= 0)
            prices[np++] = n->messages[i].unit_price_minor;
    /* before this session's messages arrive, the terms on the table are the path */
    if (np == 0 && n->terms.present)
        prices[np++] = n->terms.unit_price_minor;
    if (n->agreed_terms.present && (np == 0 || prices[np - 1] != n->agreed_terms.unit_price_minor))
        prices[np++] = n->agreed_terms.unit_price_minor;
    char spark[256] = "", first[40] = "-", last[40] = "-";
    widget_sparkline(prices, np, 24, spark, sizeof spark);
    if (np) {
        format_money(prices[0], n->currency, first, sizeof first);
        format_money(prices[np - 1], n->currency, last, sizeof last);
    }
    add(b, THEME_HEADER, "thread %s  %s  %s %s %s in %lld messages (%s)", n->id, spark, first,
        widget_glyph_str(GLYPH_ARROW), last, (long long)n->message_count,
        model_neg_status_label(n));
    if (n->cap.present) {
        char limits[128];
        format_cap(n->cap.max_unit_price_minor, n->cap.max_quantity, n->currency, limits,
                   sizeof limits);
        add(b, THEME_WARN, "  capped: %s", limits);
    }
    size_t start = n->nmessages > max_msgs ? n->nmessages - max_msgs : 0;
    if (start)
        add(b, THEME_DIM, "  %s %zu earlier message%s", widget_glyph_str(GLYPH_ELLIPSIS), start,
            start == 1 ? "" : "s");
    long long missing = n->message_count - (long long)n->nmessages;
    if (missing > 0 && u->cs.replay) /* nothing to fetch them from */
        add(b, THEME_DIM, "  (%lld earlier message%s not in the recording)", missing,
            missing == 1 ? "" : "s");
    else if (missing > 0 && !store_negotiation(u->st, n->id)) /* a row read from history */
        add(b, THEME_DIM,
            "  (%lld message%s: a thread read from history; its messages are not "
            "kept here)",
            (long long)n->message_count, n->message_count == 1 ? "" : "s");
    else if (missing > 0 && n->nmessages == 0)
        add(b, THEME_DIM, "  (loading %lld earlier message%s%s)", (long long)n->message_count,
            n->message_count == 1 ? "" : "s", widget_glyph_str(GLYPH_ELLIPSIS));
    for (size_t i = start; i < n->nmessages; i++) {
        const model_message *m = &n->messages[i];
        char terms[80] = "";
        if (m->unit_price_minor >= 0 && m->quantity >= 0) {
            char price[40];
            format_money(m->unit_price_minor, n->currency, price, sizeof price);
            char q[32];
            snprintf(terms, sizeof terms, "%s %s %s", format_qty(m->quantity, q, sizeof q),
                     widget_glyph_str(GLYPH_TIMES), price);
        }
        char who[80];
        dline *d = add(b, m->kind == MSG_SYSTEM ? THEME_WARN : THEME_NORMAL, "  %s %-7s %16s  %s",
                       fit(format_agent_name(u, m->from), 12, who, sizeof who),
                       model_msg_kind_label(m), terms, txt(&m->text));
        if (d) {
            d->soft = true;
            d->indent = 2 + 12 + 1 + 7 + 1 + 16 + 2; /* under the message's text */
        }
    }
}

/* Explains a risk flag in the console's own words, with amounts formatted here: the
 * contract sends no display strings for money, so the server's detail is shown only
 * for rules this console does not know. Writes sanitised text to out. */
static void flag_explain(const ui *u, const model_purchase *p, const model_flag *f, char *out,
                         size_t size)
{
    const model_agent *buyer = store_agent(u->st, p->buyer_id);
    const model_listing *l = store_listing(u->st, p->listing_id);
    const model_negotiation *n = store_negotiation(u->st, p->negotiation_id);
    char a[48], b[48], c[48], q[32], q2[32];
    const char *rule = f->rule;
    if (strcmp(rule, "quantity_vs_intent") == 0 && buyer) {
        snprintf(out, size, "quantity %s against the buyer's max of %s",
                 format_qty(p->quantity, q, sizeof q),
                 format_qty(buyer->limits.max_quantity, q2, sizeof q2));
    } else if (strcmp(rule, "over_deal_max") == 0 && buyer) {
        format_money(p->total_minor, p->currency, a, sizeof a);
        format_money(buyer->limits.per_deal_max_minor, buyer->currency, b, sizeof b);
        snprintf(out, size, "%s over the %s deal maximum", a, b);
    } else if (strcmp(rule, "budget") == 0 && buyer) {
        format_money(buyer->spent_minor, buyer->currency, a, sizeof a);
        format_money(p->total_minor, p->currency, b, sizeof b);
        format_money(buyer->limits.spend_cap_minor, buyer->currency, c, sizeof c);
        snprintf(out, size, "spent %s + %s against a cap of %s", a, b, c);
    } else if (strcmp(rule, "off_mandate") == 0 && buyer && l) {
        char cats[160] = "";
        size_t o = 0;
        for (size_t i = 0; i < buyer->ncategories && o + 2 < sizeof cats; i++) {
            int k = snprintf(cats + o, sizeof cats - o, "%s%s", i ? ", " : "",
                             txt(&buyer->categories[i]));
            if (k < 0 || (size_t)k >= sizeof cats - o)
                break;
            o += (size_t)k;
        }
        snprintf(out, size, "%s is not in the mandate (%s)", txt(&l->category), cats);
    } else if (strcmp(rule, "below_floor") == 0 && l && l->floor_minor >= 0) {
        format_money(p->unit_price_minor, p->currency, a, sizeof a);
        format_money(l->floor_minor, l->currency, b, sizeof b);
        snprintf(out, size, "unit %s below the seller's floor %s", a, b);
    } else if (strcmp(rule, "below_reference") == 0 && l && l->reference_price_minor > 0) {
        format_money(p->unit_price_minor, p->currency, a, sizeof a);
        format_money(l->reference_price_minor, l->currency, b, sizeof b);
        snprintf(out, size, "unit %s under half the reference %s, and no floor", a, b);
    } else if (strcmp(rule, "overpay") == 0 && l && l->reference_price_minor > 0) {
        format_money(p->unit_price_minor, p->currency, a, sizeof a);
        format_money(l->reference_price_minor, l->currency, b, sizeof b);
        /* Integer percent: no float near money. */
        int64_t pct =
            p->unit_price_minor / l->reference_price_minor * 100 +
            p->unit_price_minor % l->reference_price_minor * 100 / l->reference_price_minor;
        snprintf(out, size, "unit %s is %s%% of the reference %s", a, format_qty(pct, q, sizeof q),
                 b);
    } else if (strcmp(rule, "ship_to_unverified") == 0) {
        snprintf(out, size, "not among the buyer's %zu verified addresses",
                 buyer ? buyer->naddresses : (size_t)0);
    } else if (strcmp(rule, "terms_drift") == 0 && n && n->agreed_terms.present) {
        format_money(n->agreed_terms.unit_price_minor, n->currency, a, sizeof a);
        format_money(p->unit_price_minor, p->currency, b, sizeof b);
        snprintf(out, size, "agreed %s %s %s, purchase says %s %s %s",
                 format_qty(n->agreed_terms.quantity, q, sizeof q), widget_glyph_str(GLYPH_TIMES),
                 a, format_qty(p->quantity, q2, sizeof q2), widget_glyph_str(GLYPH_TIMES), b);
    } else {
        snprintf(out, size, "%s", txt(&f->detail));
    }
}

/* The purchase detail. */
/* Why a pending purchase stands where it does in the queue at stake (tui/panes.c):
 * "ranked 3 of 12: critical, $20,000.00 USD, 1:40 left". */
static void rank_line(const ui *u, dbuf *b, const model_purchase *p, const char *total,
                      const char *left)
{
    size_t of, rank = panes_pending_rank(u, p, &of);
    int band = panes_pending_band(p);
    add(b,
        band == SEV_CRITICAL  ? THEME_CRIT
        : band == SEV_WARNING ? THEME_WARN
                              : THEME_DIM,
        "ranked %zu of %zu: %s, %s %s, %s%s", rank, of,
        band == SEV_CRITICAL  ? "critical"
        : band == SEV_WARNING ? "warning"
                              : "no flags",
        total, p->currency, left, strcmp(left, "no deadline") ? " left" : "");
}

static void purchase_lines(const ui *u, dbuf *b, const model_purchase *p)
{
    char total[48], unit[40];
    format_money(p->total_minor, p->currency, total, sizeof total);
    format_money(p->unit_price_minor, p->currency, unit, sizeof unit);
    const char *fl = panes_inflight_label(u, p->id);
    if (p->status == PUR_PENDING) {
        char left[24];
        format_countdown(p->decide_by ? p->decide_by - ui_clock_ms(u) : 0, left, sizeof left);
        add(b, THEME_HEADER, "%s v%lld %s waiting for approval %s %s left, then %s%s%s", p->id,
            (long long)p->version, widget_glyph_str(GLYPH_MIDDOT), widget_glyph_str(GLYPH_MIDDOT),
            p->decide_by ? left : "no deadline",
            p->default_veto ? "EXPIRES (vetoed, fail closed)" : "expires", fl ? "  " : "",
            fl ? fl : "");
        rank_line(u, b, p, total, p->decide_by ? left : "no deadline");
        char ap[200], rv[96];
        if (twoperson_approvals(p, ap, sizeof ap)[0])
            add(b, twoperson_mine(u, p) ? THEME_WARN : THEME_NORMAL, "%s%s", ap,
                twoperson_mine(u, p) ? ": yours is needed" : "");
        if (twoperson_reviewer(u, p, rv, sizeof rv))
            add(b, THEME_WARN, "%s", rv);
    } else {
        add(b, THEME_HEADER, "%s v%lld %s %s%s%s", p->id, (long long)p->version,
            widget_glyph_str(GLYPH_MIDDOT), model_purchase_status_label(p), fl ? "  " : "",
            fl ? fl : "");
        if (p->status == PUR_UNKNOWN)
            add(b, THEME_WARN, "a status this console does not know: no decision is offered");
    }
    const model_agent *buyer = store_agent(u->st, p->buyer_id);
    const model_agent *seller = store_agent(u->st, p->seller_id);
    dline *d = add(b, THEME_NORMAL, "%s for %s  ", format_agent_name(u, p->buyer_id),
                   buyer ? txt(&buyer->principal) : "?");
    if (d) { /* the seller's side starts a row of its own when both do not fit */
        d->tail = strlen(d->text);
        append(d, "%s  %s for %s", widget_glyph_str(GLYPH_LARROW),
               format_agent_name(u, p->seller_id), seller ? txt(&seller->principal) : "?");
    }
    const model_listing *l = store_listing(u->st, p->listing_id);
    bool verified = false;
    if (buyer && p->ship_to.s)
        for (size_t i = 0; i < buyer->naddresses; i++)
            if (buyer->addresses[i].s && strcmp(buyer->addresses[i].s, p->ship_to.s) == 0)
                verified = true;
    d = add(b, THEME_MONEY, "%s   ", l ? txt(&l->title) : p->listing_id);
    if (d) { /* the terms and the total stay together */
        char qty[32];
        d->tail = strlen(d->text);
        append(d, "%s %s %s = %s %s", format_qty(p->quantity, qty, sizeof qty),
               widget_glyph_str(GLYPH_TIMES), unit, total, p->currency);
    }
    add(b, verified ? THEME_NORMAL : THEME_CRIT, "ship to %s %s", txt(&p->ship_to),
        widget_glyph_str(verified ? GLYPH_CHECK : GLYPH_CROSS));
    if (buyer) {
        int64_t cap = buyer->limits.spend_cap_minor;
        int64_t after = cap - buyer->spent_minor - (p->status == PUR_PENDING ? p->total_minor : 0);
        char a[48], c[48], dm[48];
        format_money(after, buyer->currency, a, sizeof a);
        format_money(cap, buyer->currency, c, sizeof c);
        format_money(buyer->limits.per_deal_max_minor, buyer->currency, dm, sizeof dm);
        d = add(b, after < 0 ? THEME_CRIT : THEME_NORMAL, "%s of %s left after this %s ", a, c,
                widget_glyph_str(GLYPH_MIDDOT));
        if (d) {
            d->tail = strlen(d->text);
            append(d, "deal max %s %s", dm,
                   widget_glyph_str(p->total_minor > buyer->limits.per_deal_max_minor
                                        ? GLYPH_CROSS
                                        : GLYPH_CHECK));
            d->bar = true;
            d->label = "budget";
            d->part = after > 0 ? after : 0;
            d->whole = cap;
        }
    }
    add(b,
        p->risk_score >= 70   ? THEME_CRIT
        : p->risk_score >= 30 ? THEME_WARN
                              : THEME_NORMAL,
        "risk %d/100 %s %zu flag%s", p->risk_score, widget_glyph_str(GLYPH_MIDDOT), p->nflags,
        p->nflags == 1 ? "" : "s");
    for (size_t i = 0; i < p->nflags; i++) {
        const model_flag *f = &p->flags[i];
        char why[320];
        flag_explain(u, p, f, why, sizeof why);
        d = add(b,
                f->severity == SEV_CRITICAL  ? THEME_CRIT
                : f->severity == SEV_WARNING ? THEME_WARN
                                             : THEME_NORMAL,
                "  %s %-8s %-18s %s", widget_glyph_str(GLYPH_CROSS), model_flag_severity_label(f),
                f->rule, why);
        if (d)
            d->indent = 2 + 1 + 1 + 8 + 1 + 18 + 1; /* under the explanation */
    }
    if (p->decision.present) {
        char when[16], auto_by[200];
        format_clock(p->decision.at, when, sizeof when);
        if (policies_decided_by(u, p, auto_by, sizeof auto_by)) /* an automatic decision */
            add(b, THEME_WARN, "%s at %s%s%s", auto_by, when, p->decision.reason.s ? " · " : "",
                p->decision.reason.s ? p->decision.reason.s : "");
        else
            add(b, THEME_WARN, "decision: %s by %s at %s%s%s", p->decision.action,
                txt(&p->decision.by), when, p->decision.reason.s ? " · " : "",
                p->decision.reason.s ? p->decision.reason.s : "");
    } else if (p->policy.id[0]) /* a review policy sent it to a person */
        add(b, THEME_NORMAL, "sent to a person by policy %s (%s)", txt(&p->policy.name),
            p->policy.action);
    for (size_t i = 0; i < p->npolicy_shadow; i++) /* what shadow policies would have done */
        add(b, THEME_DIM, "shadow: %s would %s", txt(&p->policy_shadow[i].name),
            p->policy_shadow[i].action);
    thread_lines(u, b, store_negotiation(u->st, p->negotiation_id), 12);
}

/* The listing detail, with what its text hides. */
static void listing_lines(const ui *u, dbuf *b, const model_listing *l)
{
    char price[40], ref[40], floor[40] = "none";
    format_money(l->unit_price_minor, l->currency, price, sizeof price);
    format_money(l->reference_price_minor, l->currency, ref, sizeof ref);
    if (l->floor_minor >= 0)
        format_money(l->floor_minor, l->currency, floor, sizeof floor);
    add(b, THEME_HEADER, "%s v%lld %s %s", l->id, (long long)l->version,
        widget_glyph_str(GLYPH_MIDDOT), model_listing_status_label(l));
    add(b, THEME_NORMAL, "title    %s", txt(&l->title));
    add(b, THEME_NORMAL, "seller   %s (%s)", format_agent_name(u, l->seller_id), l->seller_id);
    add(b, THEME_NORMAL, "category %s", txt(&l->category));
    char qty[32];
    add(b, THEME_MONEY, "price    %s %s × %s · reference %s · floor %s", price, l->currency,
        format_qty(l->quantity, qty, sizeof qty), ref, floor);
    unsigned flags = l->title.flags | l->description.flags | l->category.flags;
    if (flags & TEXT_F_HIDDEN_MASK) {
        char why[160];
        text_flags_describe(flags, why, sizeof why);
        add(b, THEME_WARN, "%s hidden or control characters, shown marked: %s",
            widget_glyph_str(GLYPH_WARN), why);
    }
    add(b, THEME_NORMAL, "%s", "");
    dline *d = add(b, THEME_NORMAL, "%s", txt(&l->description));
    if (d)
        d->soft = true;
}

/* The thread detail. */
static void thread_detail(const ui *u, dbuf *b, const model_negotiation *n)
{
    const model_listing *l = store_listing(u->st, n->listing_id);
    add(b, THEME_HEADER, "%s v%lld %s %s %s %s", n->id, (long long)n->version,
        widget_glyph_str(GLYPH_MIDDOT), model_neg_status_label(n), widget_glyph_str(GLYPH_MIDDOT),
        l ? txt(&l->title) : n->listing_id);
    add(b, THEME_NORMAL, "buyer %s  %s  seller %s", format_agent_name(u, n->buyer_id),
        widget_glyph_str(GLYPH_LARROW), format_agent_name(u, n->seller_id));
    const model_purchase *p = policies_thread_purchase(u, n);
    char auto_by[200];
    if (p && policies_decided_by(u, p, auto_by, sizeof auto_by)) /* decided automatically */
        add(b, THEME_WARN, "%s: %s", p->id, auto_by);
    thread_lines(u, b, n, 200);
}

/* The agent detail. */
static void agent_lines(const ui *u, dbuf *b, const model_agent *a)
{
    char spent[40], cap[40], dm[40], thr[40];
    format_money(a->spent_minor, a->currency, spent, sizeof spent);
    format_money(a->limits.spend_cap_minor, a->currency, cap, sizeof cap);
    format_money(a->limits.per_deal_max_minor, a->currency, dm, sizeof dm);
    format_money(a->limits.approval_threshold_minor, a->currency, thr, sizeof thr);
    add(b, THEME_HEADER, "%s v%lld %s %s %s %s", a->id, (long long)a->version,
        widget_glyph_str(GLYPH_MIDDOT), model_agent_role_label(a), widget_glyph_str(GLYPH_MIDDOT),
        a->paused ? "PAUSED" : model_agent_status_label(a));
    add(b, THEME_NORMAL, "%s for %s", txt(&a->name), txt(&a->principal));
    dline *d = add(b, THEME_NORMAL, "%s spent of %s", spent, cap);
    if (d) {
        d->bar = true;
        d->label = "spend";
        d->part = a->spent_minor;
        d->whole = a->limits.spend_cap_minor;
    }
    char mq[32] = "no limit";
    if (a->limits.max_quantity >= 0)
        format_qty(a->limits.max_quantity, mq, sizeof mq);
    add(b, THEME_NORMAL, "deal max %s · approval above %s · max quantity %s", dm, thr, mq);
    char cats[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < a->ncategories && used + 2 < sizeof cats; i++)
        used += (size_t)snprintf(cats + used, sizeof cats - used, "%s%s", i ? ", " : "",
                                 txt(&a->categories[i]));
    add(b, THEME_NORMAL, "mandate  %s", cats);
    for (size_t i = 0; i < a->naddresses; i++)
        add(b, THEME_NORMAL, "ship-to  %s", txt(&a->addresses[i]));
    char acct[80];
    snprintf(acct, sizeof acct, "agent:%s", a->id);
    char bal[40];
    format_money(store_balance(u->st, acct), a->currency, bal, sizeof bal);
    add(b, THEME_MONEY, "ledger balance %s", bal);
    char sc[4][256];
    int nsc = agents_scorecard_lines(u, a, sc, 4);
    for (int i = 0; i < nsc; i++)
        add(b, i ? THEME_NORMAL : THEME_MONEY, "%s", sc[i]);
}

/* The policy detail: what it matches and does, and how often it did (docs/api.md). */
static void policy_lines(const ui *u, dbuf *b, const model_policy *p)
{
    const char *fl = panes_inflight_label(u, p->id);
    add(b, THEME_HEADER, "%s v%lld %s %s %s %s%s%s", p->id, (long long)p->version,
        widget_glyph_str(GLYPH_MIDDOT), txt(&p->name), widget_glyph_str(GLYPH_MIDDOT),
        p->enabled ? "enabled" : "DISABLED", fl ? "  " : "", fl ? fl : "");
    add(b, THEME_NORMAL, "priority %lld %s %s %s %s", (long long)p->priority,
        widget_glyph_str(GLYPH_MIDDOT),
        p->mode_raw[0] ? p->mode_raw
        : p->shadow    ? "shadow"
                       : "live",
        widget_glyph_str(GLYPH_MIDDOT), p->action);
    char match[480];
    policies_match(u, p, match, sizeof match);
    add(b, THEME_NORMAL, "match   %s", match);
    add(b, THEME_NORMAL, "reason  %s", p->reason.s ? p->reason.s : "(none)");
    /* a hit moves no version and sends no event (docs/api.md): the counts are the last
     * snapshot's or change's */
    add(b, THEME_MONEY, "hits %lld %s shadow hits %lld (as of the last change or snapshot)",
        (long long)p->hits, widget_glyph_str(GLYPH_MIDDOT), (long long)p->shadow_hits);
    add(b, THEME_DIM, "e enables/disables, K/J move it, :policy set %s FIELD VALUE changes it",
        p->id);
}

/* The ledger entry detail, and the balances of every agent. */
static void ledger_lines(const ui *u, dbuf *b, const model_ledger_entry *e)
{
    char when[16];
    format_clock(e->at, when, sizeof when);
    add(b, THEME_HEADER, "%s seq %lld %s %s for %s at %s", e->id, (long long)e->seq,
        widget_glyph_str(GLYPH_MIDDOT), model_ledger_kind_label(e), e->purchase_id, when);
    for (size_t i = 0; i < e->npostings; i++) {
        char amt[40];
        format_money(e->postings[i].amount_minor, e->currency, amt, sizeof amt);
        add(b, THEME_MONEY, "  %-30s %16s", e->postings[i].account, amt);
    }
    add(b, THEME_COLUMN, "%s", "balances");
    size_t n;
    const model_agent *const *ag = store_agents(u->st, &n);
    for (size_t i = 0; i < n; i++) {
        char acct[80], bal[40];
        snprintf(acct, sizeof acct, "agent:%s", ag[i]->id);
        int64_t v = store_balance(u->st, acct);
        if (!v)
            continue;
        format_money(v, ag[i]->currency, bal, sizeof bal);
        char name[80];
        add(b, THEME_MONEY, "  %-14.14s %s %16s", ag[i]->id,
            fit(txt(&ag[i]->name), 16, name, sizeof name), bal);
    }
}

/* An alert's repeats and resolution: "3 times, last 10:09:00", "purchases pur_3 pur_5
 * pur_8", "resolved 10:12:30: pur_8 expired (market)". */
static void alert_group_lines(dbuf *b, const model_alert *a)
{
    char when[16], ids[160] = "";
    if (a->count > 1) {
        size_t o = 0;
        for (size_t i = 0; i < a->npurchase_ids && o + 2 < sizeof ids; i++) {
            int n = snprintf(ids + o, sizeof ids - o, " %s", a->purchase_ids[i]);
            if (n < 0 || (size_t)n >= sizeof ids - o) {
                ids[o] = '\0'; /* a whole id or none */
                snprintf(ids + o, sizeof ids - o, " %s", widget_glyph_str(GLYPH_ELLIPSIS));
                break;
            }
            o += (size_t)n;
        }
        format_clock(a->last_at, when, sizeof when);
        add(b, THEME_NORMAL, "%lld times, last %s", (long long)a->count, when);
        if (ids[0])
            add(b, THEME_DIM, "purchases%s", ids);
    }
    if (a->status == ALERT_RESOLVED) {
        format_clock(a->resolved_at, when, sizeof when);
        add(b, THEME_DIM, "resolved %s: %s %s%s%s%s", when, a->resolved_purchase,
            a->resolved_status, a->resolved_by.s ? " (" : "",
            a->resolved_by.s ? a->resolved_by.s : "", a->resolved_by.s ? ")" : "");
    }
}

/* The alert detail. */
static void alert_lines(const ui *u, dbuf *b, const model_alert *a)
{
    char when[16];
    format_clock(a->at, when, sizeof when);
    add(b, a->severity == SEV_CRITICAL ? THEME_CRIT : THEME_WARN, "%s %s %s at %s %s %s", a->id,
        model_alert_severity_label(a), a->rule, when, widget_glyph_str(GLYPH_MIDDOT),
        model_alert_status_label(a));
    add(b, THEME_NORMAL, "subject  %s %s", a->subject_kind, a->subject_id);
    add(b, THEME_NORMAL, "%s", txt(&a->message));
    if (a->acked_by.s)
        add(b, THEME_DIM, "acknowledged by %s", a->acked_by.s);
    alert_group_lines(b, a);
    if (strcmp(a->subject_kind, "purchase") == 0) {
        const model_purchase *p = store_purchase(u->st, a->subject_id);
        if (p) {
            add(b, THEME_NORMAL, "%s", "");
            purchase_lines(u, b, p);
        }
    }
}

/* Where a line's text starts on screen (after a bar and its label). */
static int text_x(const dline *d, int width)
{
    if (!d->bar)
        return 1;
    int lw = d->label ? text_width(d->label) : 0;
    return 1 + (lw < 8 ? lw : 8) + 2 + (width >= 100 ? 16 : 10) + 1;
}

/* Lays a piece of a line (bytes [off, end) of its text) out in rows from row r: the
 * first at x0, continuations at xc. Rows in [from, from + height) are drawn at top.
 * Returns the row after the last. */
static int piece_rows(WINDOW *w, const dline *d, size_t off, size_t end, int x0, int xc, int r,
                      int top, int from, int height, int width)
{
    char part[sizeof d->text];
    bool first = true;
    do {
        int x = first ? x0 : xc;
        size_t next;
        memcpy(part, d->text + off, end - off);
        part[end - off] = '\0';
        size_t take = widget_wrap(part, width - x - 1, &next);
        if (r >= from && r < from + height && w) {
            part[take] = '\0';
            widget_text(w, top + r - from, x, width - x - 1, part, theme_attr(d->role));
        }
        off += next ? next : end - off;
        first = false;
        r++;
    } while (off < end);
    return r;
}

/* Lays the lines out in rows (drawing those in [from, from + height) when w is set);
 * soft lines wrap only when wrap_soft. Returns the number of rows. */
static int detail_rows(WINDOW *w, const dbuf *b, int width, bool wrap_soft, int top, int from,
                       int height)
{
    int r = 0;
    for (int i = 0; i < b->n; i++) {
        const dline *d = &b->l[i];
        int x0 = text_x(d, width);
        int xc = d->bar ? x0 : 1 + (d->indent ? d->indent : 2);
        if (width - xc - 1 < 20)
            xc = x0 + 2 < width - 21 ? x0 + 2 : x0;
        bool draw = w && r >= from && r < from + height;
        if (draw && d->bar) {
            int y = top + r - from, lw = d->label ? text_width(d->label) : 0;
            widget_text(w, y, 1, 8, d->label ? d->label : "", theme_attr(d->role));
            widget_bar(w, y, 1 + (lw < 8 ? lw : 8) + 2, width >= 100 ? 16 : 10, d->part, d->whole);
        }
        size_t len = strlen(d->text);
        if (d->soft && !wrap_soft) {
            if (draw)
                widget_text(w, top + r - from, x0, width - x0 - 1, d->text, theme_attr(d->role));
            r++;
        } else if (d->tail && d->tail < len && text_width(d->text) > width - x0 - 1) {
            r = piece_rows(w, d, 0, d->tail, x0, xc, r, top, from, height, width);
            r = piece_rows(w, d, d->tail, len, xc, xc, r, top, from, height, width);
        } else {
            r = piece_rows(w, d, 0, len, x0, xc, r, top, from, height, width);
        }
    }
    return r;
}

/* Builds the detail; see ui.h. */
int detail_update(ui *u, int width, int height)
{
    if (!u->detail) {
        u->detail = calloc(1, sizeof *u->detail);
        if (u->detail && !(u->detail->l = calloc(DETAIL_MAX_LINES, sizeof(dline)))) {
            free(u->detail);
            u->detail = NULL;
        }
        if (!u->detail)
            return 0;
    }
    dbuf *b = u->detail;
    b->n = 0;
    b->thread = NULL;
    model_kind kind;
    const void *row = panes_current(u, &kind);
    if (!row)
        return 0;
    switch (kind) {
        case MODEL_PURCHASE: purchase_lines(u, b, row); break;
        case MODEL_NEGOTIATION: thread_detail(u, b, row); break;
        case MODEL_LISTING: listing_lines(u, b, row); break;
        case MODEL_LEDGER: ledger_lines(u, b, row); break;
        case MODEL_ALERT: alert_lines(u, b, row); break;
        case MODEL_AGENT: agent_lines(u, b, row); break;
        case MODEL_POLICY: policy_lines(u, b, row); break;
        case MODEL_DISPUTE: disputes_detail(u, b, row); break;
        default: break;
    }
    if (b->thread)
        want_history(u, b->thread);
    /* messages and descriptions wrap when everything then still fits */
    b->wrap_soft = detail_rows(NULL, b, width, true, 0, 0, 0) <= height;
    int n = detail_rows(NULL, b, width, b->wrap_soft, 0, 0, 0);
    ui_pane *pn = &u->panes[u->pane];
    if (pn->detail_scroll > n - height)
        pn->detail_scroll = n - height;
    if (pn->detail_scroll < 0)
        pn->detail_scroll = 0;
    return n;
}

/* A pane's own line; see ui.h. */
void detail_add_line(dbuf *b, theme_role role, bool soft, const char *text)
{
    dline *d = add(b, role, "%s", text);
    if (d)
        d->soft = soft;
}

/* The thread a pane's own detail shows; see ui.h. */
void detail_show_thread(dbuf *b, const model_negotiation *n)
{
    b->thread = n;
}

/* Draws the detail; see ui.h. */
void detail_draw(const ui *u, WINDOW *w, int top, int height)
{
    int width = getmaxx(w);
    for (int i = 0; i < height; i++)
        widget_fill(w, top + i, 0, width, theme_attr(THEME_NORMAL));
    const dbuf *b = u->detail;
    if (b && b->n)
        detail_rows(w, b, width, b->wrap_soft, top, u->panes[u->pane].detail_scroll, height);
}

/* A line of the detail; see ui.h. */
const char *detail_line(const ui *u, int i)
{
    return u->detail && i >= 0 && i < u->detail->n ? u->detail->l[i].text : NULL;
}

/* Frees the detail's lines; see ui.h. */
void detail_free(ui *u)
{
    if (u->detail)
        free(u->detail->l);
    free(u->detail);
    u->detail = NULL;
}
