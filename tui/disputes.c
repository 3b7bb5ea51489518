/* disputes.c: the Disputes pane (issue 17; docs/api.md, Disputes): the disputes over
 * settled purchases with their status, reason, claim as money, parties, age and respond-by
 * countdown (an unanswered one marked); the evidence view of the selected one on one screen,
 * built by api/evidence.c (the one source, also of `dealdesk disputes show`); and the
 * resolve decision: refund the claim, refund part of it (the amount asked as money, in the
 * dispute's currency) or reject it, each with a reason, confirmed y/N and bound to the
 * version seen like every decision (actions.c sends it: journaled, If-Match, If-Epoch). */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/evidence.h"
#include "api/money.h"

/* ---- the pane ------------------------------------------------------------------------ */

/* On a narrow terminal SELLER drops first, then AGE, then BUYER (the highest .drop first):
 * the claim, the status and the deadline stay. Amounts and times are whole. */
const widget_column disputes_cols[DSC_COUNT] = {
    [DSC_DUE] = {.title = "DUE", .width = 5, .right = true, .whole = true},
    [DSC_MARK] = {.title = "!", .width = 1, .whole = true},
    [DSC_DISPUTE] = {.title = "DISPUTE", .width = 8},
    [DSC_STATUS] = {.title = "STATUS", .width = 14}, /* "partial_refund" */
    [DSC_REASON] = {.title = "REASON", .width = 12, .flex = true, .max = 18},
    [DSC_CLAIM] = {.title = "CLAIM", .width = 12, .right = true, .whole = true},
    [DSC_BUYER] = {.title = "BUYER", .width = 10, .flex = true, .max = 24, .drop = 1},
    [DSC_SELLER] = {.title = "SELLER", .width = 10, .flex = true, .max = 24, .drop = 3},
    [DSC_AGE] = {.title = "AGE", .width = 4, .right = true, .whole = true, .drop = 2},
};
enum dispute_sort { DS_WAITING, DS_NEWEST, DS_CLAIM };
/* "waiting" (the default): what waits for someone first, the unanswered first among them,
 * then the nearest respond-by; the resolved after, newest first. */
const char *const disputes_sorts[] = {
    [DS_WAITING] = "waiting", [DS_NEWEST] = "newest", [DS_CLAIM] = "claim", NULL};
/* "newest" pages from the server (its sort of the same name, docs/api.md); the others
 * order what the store holds: every open and responded dispute and the newest resolved. */
const pane_history disputes_history[] = {
    [DS_WAITING] = {NULL, NULL}, [DS_NEWEST] = {"newest", ""}, [DS_CLAIM] = {NULL, NULL}};

size_t disputes_collect(const ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_dispute *const *d = store_disputes(u->st, &n);
    if (*cap < n + 1) {
        const void **r = realloc(*rows, (n + 1) * sizeof *r);
        if (!r)
            return 0;
        *rows = r;
        *cap = n + 1;
    }
    if (n)
        memcpy(*rows, d, n * sizeof *d);
    return n;
}

/* Creation order of two ids of one kind (marketd numbers them: the shorter is older). */
static int created(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* Whether a dispute waits for someone (not resolved). */
static bool waiting(const model_dispute *d)
{
    return d->status != DSP_RESOLVED;
}

int disputes_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_dispute *x = a, *y = b;
    int r = 0;
    if (sort == DS_WAITING) {
        r = (int)!waiting(x) - (int)!waiting(y);
        if (!r && waiting(x))
            r = (int)y->unanswered - (int)x->unanswered;
        if (!r && waiting(x) && x->respond_by != y->respond_by)
            r = (x->respond_by ? x->respond_by : INT64_MAX) <
                        (y->respond_by ? y->respond_by : INT64_MAX)
                    ? -1
                    : 1;
    } else if (sort == DS_CLAIM && strcmp(x->currency, y->currency) != 0) {
        r = strcmp(x->currency, y->currency); /* no exchange rates: by currency first */
    } else if (sort == DS_CLAIM && x->claim_minor != y->claim_minor) {
        r = x->claim_minor > y->claim_minor ? -1 : 1;
    }
    return r ? r : -created(x->id, y->id);
}

/* An age in one short word: "45s", "12m", "3h", "2d". */
static void age_of(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 60)
        snprintf(buf, size, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, size, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(buf, size, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, size, "%lldd", (long long)(s / 86400));
}

/* The STATUS cell: in flight, "resolved refund", "partial_refund", "rejected", or the
 * status. */
static void status_cell(const ui *u, const model_dispute *d, char *buf, size_t size,
                        unsigned long *attr)
{
    const char *fl = panes_inflight_label(u, d->id);
    if (fl) {
        snprintf(buf, size, "%s", fl);
        *attr = theme_attr(THEME_INFLIGHT);
    } else if (d->resolved) {
        snprintf(buf, size, "%s", model_dispute_outcome_label(d));
        *attr = theme_attr(THEME_DIM);
    } else {
        snprintf(buf, size, "%s", model_dispute_status_label(d));
        if (d->unanswered || d->status_raw[0])
            *attr = theme_attr(THEME_WARN);
    }
}

void disputes_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                   unsigned long *attr)
{
    const model_dispute *d = row;
    int64_t now = ui_clock_ms(u);
    switch (col) {
        case DSC_DUE: /* the respond-by countdown while nobody answered */
            if (waiting(d) && !d->nresponses && d->respond_by && !d->unanswered &&
                d->respond_by > now) {
                format_countdown(d->respond_by - now, buf, size);
                if (d->respond_by - now < 3600 * 1000)
                    *attr = theme_attr(THEME_WARN);
            } else {
                snprintf(buf, size, "%s", "");
            }
            break;
        case DSC_MARK:
            if (waiting(d) &&
                (d->unanswered || (!d->nresponses && d->respond_by && d->respond_by <= now))) {
                snprintf(buf, size, "%s", widget_glyph_str(GLYPH_WARN));
                *attr = theme_attr(THEME_WARN);
            } else {
                snprintf(buf, size, "%s", "");
            }
            break;
        case DSC_DISPUTE: snprintf(buf, size, "%s", d->id); break;
        case DSC_STATUS: status_cell(u, d, buf, size, attr); break;
        case DSC_REASON: snprintf(buf, size, "%s", model_dispute_reason_label(d)); break;
        case DSC_CLAIM:
            format_money(d->claim_minor, d->currency, buf, size);
            *attr = theme_attr(THEME_MONEY);
            break;
        case DSC_BUYER: snprintf(buf, size, "%s", format_agent_name(u, d->buyer_id)); break;
        case DSC_SELLER: snprintf(buf, size, "%s", format_agent_name(u, d->seller_id)); break;
        case DSC_AGE: age_of(now - d->created_at, buf, size); break;
        default: break;
    }
}

const char *disputes_row_id(const void *row)
{
    return ((const model_dispute *)row)->id;
}

const void *disputes_held(const ui *u, const void *row)
{
    return store_dispute(u->st, disputes_row_id(row));
}

/* ---- the evidence view ------------------------------------------------------------------ */

/* An agent's display name for the evidence (evidence_in.name). */
static const char *agent_name(void *ud, const char *id)
{
    return format_agent_name(ud, id);
}

/* A party's dispute history as read so far (GET /v1/disputes?party=ID), asked for when it is
 * not all here; rows borrowed until the next client_run. */
static void party_history(ui *u, const char *agent, evidence_history *h)
{
    memset(h, 0, sizeof *h);
    if (!u->cl)
        return;
    page_query q = {.kind = MODEL_DISPUTE};
    snprintf(q.party, sizeof q.party, "%s", agent);
    page_result res;
    client_history(u->cl, &q, PAGES_PAGE_ROWS, &res);
    h->known = res.state != PAGE_FAILED && (res.complete || res.nrows > 0);
    h->complete = res.complete;
    h->rows = (const model_dispute *const *)res.rows;
    h->n = res.nrows;
}

/* The dispute's purchase: the store's, else read from the market (a search of the purchases
 * by its id, q=: the store holds the working set, and an older settled purchase may be
 * history); NULL until it arrives. */
static const model_purchase *purchase_of(ui *u, const model_dispute *d)
{
    const model_purchase *p = store_purchase(u->st, d->purchase_id);
    if (p || !u->cl)
        return p;
    page_query q = {.kind = MODEL_PURCHASE};
    snprintf(q.q, sizeof q.q, "%s", d->purchase_id);
    page_result res;
    client_history(u->cl, &q, PAGES_PAGE_ROWS, &res);
    for (size_t i = 0; i < res.nrows; i++)
        if (!strcmp(((const model_purchase *)res.rows[i])->id, d->purchase_id))
            return res.rows[i];
    return NULL;
}

/* The theme role of an evidence line's mark. */
static theme_role role_of(evidence_mark m)
{
    switch (m) {
        case EVM_HEAD: return THEME_COLUMN;
        case EVM_MATTERS: return THEME_NORMAL;
        case EVM_WARN: return THEME_WARN;
        case EVM_CRIT: return THEME_CRIT;
        case EVM_DIM: return THEME_DIM;
        case EVM_MONEY: return THEME_MONEY;
        default: return THEME_NORMAL;
    }
}

void disputes_detail(ui *u, ui_detail *b, const model_dispute *d)
{
    const model_negotiation *n =
        d->negotiation_id[0] ? store_negotiation(u->st, d->negotiation_id) : NULL;
    evidence_in in = {.dispute = d,
                      .purchase = purchase_of(u, d),
                      .thread = n && store_thread_watched(u->st, n->id) ? n : NULL,
                      .name = agent_name,
                      .name_ud = u,
                      .now_ms = ui_clock_ms(u),
                      .ascii = u->mode_text == TEXT_ASCII};
    if (n)
        detail_show_thread(b, n); /* its messages are asked for (detail.c, want_history) */
    party_history(u, d->buyer_id, &in.buyer);
    party_history(u, d->seller_id, &in.seller);
    evidence e = {0};
    evidence_build(&in, &e);
    for (size_t i = 0; i < e.n; i++)
        detail_add_line(b, role_of(e.lines[i].mark), e.lines[i].soft, e.lines[i].text);
    evidence_free(&e);
}

/* ---- resolving ---------------------------------------------------------------------- */

/* The dispute to resolve: by id, else the Disputes pane's selection; NULL after a status
 * message. */
static const model_dispute *target(ui *u, const char *id)
{
    const model_dispute *d = NULL;
    if (id && id[0]) {
        d = store_dispute(u->st, id);
    } else if (u->pane == PANE_DISPUTES) {
        model_kind kind;
        const void *row = panes_selected(u, &kind);
        d = row && kind == MODEL_DISPUTE ? disputes_held(u, row) : NULL;
        if (row && kind == MODEL_DISPUTE && !d)
            d = row; /* a resolved one read from the server: refused below */
    }
    if (!d) {
        ui_status(u, true, "%s",
                  id && id[0] ? "no such dispute" : "select a dispute first (pane 8)");
        return NULL;
    }
    if (d->status == DSP_RESOLVED || d->status == DSP_UNKNOWN) {
        ui_status(u, true, "%s is %s: nothing to resolve", d->id, model_dispute_status_label(d));
        return NULL;
    }
    if (panes_inflight_label(u, d->id)) {
        ui_status(u, true, "%s: a decision is already on its way", d->id);
        return NULL;
    }
    return d;
}

/* The verb of an outcome for the box and the prompts. */
static const char *outcome_verb(const char *outcome)
{
    return !strcmp(outcome, "refund")           ? "Refund the claim of"
           : !strcmp(outcome, "partial_refund") ? "Refund part of"
                                                : "Reject";
}

/* Opens the y/N box for u->line_req on dispute d: who, what moves, the reason. */
static void confirm_resolve(ui *u, const model_dispute *d)
{
    const decision_req *r = &u->line_req;
    char claim[64], amount[64], buyer[200], seller[200];
    money_format(claim, sizeof claim, d->claim_minor, d->currency,
                 MONEY_FMT_SYMBOL | MONEY_FMT_CODE);
    bool partial = !strcmp(r->outcome, "partial_refund"), refund = !strcmp(r->outcome, "refund");
    money_format(amount, sizeof amount, partial ? r->amount_minor : d->claim_minor, d->currency,
                 MONEY_FMT_SYMBOL | MONEY_FMT_CODE);
    text_strip_marks(format_agent_name(u, d->buyer_id), buyer, sizeof buyer);
    text_strip_marks(format_agent_name(u, d->seller_id), seller, sizeof seller);
    snprintf(u->confirm_title, sizeof u->confirm_title, "%s %s (version %lld)",
             outcome_verb(r->outcome), d->id, (long long)d->version);
    u->confirm_n = 0;
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%.60s (buyer) disputes %s with %.60s: %s",
             buyer, d->purchase_id, seller, model_dispute_reason_label(d));
    snprintf(u->confirm_lines[u->confirm_n++], 256, "claim %s", claim);
    if (refund || partial)
        snprintf(u->confirm_lines[u->confirm_n++], 256, "refunds %s to %.60s, from %.60s", amount,
                 buyer, seller);
    else
        snprintf(u->confirm_lines[u->confirm_n++], 256, "rejects the claim: no money moves");
    char reason[220];
    text_truncate(r->reason, 200, u->mode_text, reason, sizeof reason);
    snprintf(u->confirm_lines[u->confirm_n++], 256, "reason: %s", reason);
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s", "");
    if (refund || partial)
        snprintf(u->confirm_lines[u->confirm_n++], 256, "Refund %s?   y yes    N no (default)",
                 amount);
    else
        snprintf(u->confirm_lines[u->confirm_n++], 256,
                 "Reject this claim?   y yes    N no (default)");
    actions_confirm(u, &u->line_req, d->version);
}

/* Parses a partial refund's amount typed for dispute d into u->line_req: money in its
 * currency, above zero and at most the claim. False after the status message. */
static bool take_amount(ui *u, const model_dispute *d, const char *text)
{
    int64_t v;
    money_err e = money_parse(text, d->currency, &v);
    char claim[64];
    money_format(claim, sizeof claim, d->claim_minor, d->currency, MONEY_FMT_SYMBOL);
    if (e != MONEY_OK) {
        ui_status(u, true, "amount: %s; nothing was sent", money_strerror(e));
        return false;
    }
    if (v <= 0 || v > d->claim_minor) {
        ui_status(u, true,
                  "a partial refund is above zero and at most the claim %s; nothing was sent",
                  claim);
        return false;
    }
    u->line_req.amount_minor = v;
    return true;
}

/* Asks for the reason of u->line_req's resolution of d. */
static void ask_reason(ui *u, const model_dispute *d)
{
    char prompt[200], amount[64] = "";
    if (u->line_req.amount_minor >= 0)
        money_format(amount, sizeof amount, u->line_req.amount_minor, d->currency,
                     MONEY_FMT_SYMBOL);
    snprintf(prompt, sizeof prompt, "%s %s%s%s  reason: ", u->line_req.outcome, d->id,
             amount[0] ? " " : "", amount);
    cmdline_start(u, LINE_DISPUTE_REASON, prompt);
}

void disputes_resolve(ui *u, const char *id, const char *outcome, const char *amount,
                      const char *reason)
{
    const model_dispute *d = target(u, id);
    if (!d)
        return;
    decision_req_init(&u->line_req, DEC_RESOLVE, d->id);
    u->line_req.if_match_version = d->version;
    snprintf(u->line_req.outcome, sizeof u->line_req.outcome, "%s", outcome);
    bool partial = !strcmp(outcome, "partial_refund");
    if (partial && !amount) {
        char prompt[200], claim[64];
        money_format(claim, sizeof claim, d->claim_minor, d->currency,
                     MONEY_FMT_SYMBOL | MONEY_FMT_CODE);
        snprintf(prompt, sizeof prompt, "refund part of %s (claim %s)  amount: ", d->id, claim);
        cmdline_start(u, LINE_DISPUTE_AMOUNT, prompt);
        return;
    }
    if (partial && !take_amount(u, d, amount))
        return;
    if (!reason || !reason[0]) {
        ask_reason(u, d);
        return;
    }
    snprintf(u->line_req.reason, sizeof u->line_req.reason, "%s", reason);
    confirm_resolve(u, d);
}

void disputes_line_done(ui *u, const char *line)
{
    const model_dispute *d = store_dispute(u->st, u->line_req.subject_id);
    if (!d || d->version != u->line_req.if_match_version) {
        ui_status(u, true, "%s changed while you typed; nothing was sent. Look again.",
                  u->line_req.subject_id);
        return;
    }
    if (u->line_purpose == LINE_DISPUTE_AMOUNT) {
        if (take_amount(u, d, line))
            ask_reason(u, d);
        return;
    }
    snprintf(u->line_req.reason, sizeof u->line_req.reason, "%s", line);
    confirm_resolve(u, d);
}

void disputes_explain(const model_dispute *d, char *out, size_t size)
{
    char amount[64] = "";
    if (d->resolved && d->outcome != DSP_REJECTED)
        money_format(amount, sizeof amount, d->resolved_minor, d->currency, MONEY_FMT_SYMBOL);
    snprintf(out, size, "dispute now %s%s%s%s%s (v%lld)", model_dispute_status_label(d),
             d->resolved ? " " : "", model_dispute_outcome_label(d), amount[0] ? " " : "", amount,
             (long long)d->version);
}
