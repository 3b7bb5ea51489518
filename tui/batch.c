/* batch.c: marks on Pending rows and one decision about all of them (issue 15). A mark
 * is a purchase id (ui.marked), so it stays on its purchase through re-sorts and new
 * rows, and drops by itself when the purchase stops waiting (batch_prune, from the update
 * step). `a` or `v` with marks open one preview (how many, the total per currency, the
 * flags by rule, the five largest; a veto asks its one reason first) and one y/N box;
 * yes sends each purchase as its own decision through actions_send (journaled,
 * idempotent, bound by If-Match to the version and by expected_total_minor to the total
 * the preview showed), so each row shows its own outcome as a single decision's does;
 * when the last answer is in, the status line sums them up ("2 approved, 1 refused:
 * pur_88 changed since shown"). */
#include "tui/ui.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The index of id among the marks, or -1. */
static int mark_index(const ui *u, const char *id)
{
    for (size_t i = 0; i < u->nmarked; i++)
        if (strcmp(u->marked[i], id) == 0)
            return (int)i;
    return -1;
}

/* True when purchase id is marked; see ui.h. */
bool batch_is_marked(const ui *u, const char *id)
{
    return mark_index(u, id) >= 0;
}

/* Removes mark i (the order of the rest does not matter: rows show marks by id). */
static void unmark_at(ui *u, size_t i)
{
    if (i + 1 < u->nmarked)
        memcpy(u->marked[i], u->marked[u->nmarked - 1], sizeof u->marked[0]);
    u->nmarked--;
}

/* Marks purchase id; false when there is no room. */
static bool mark_id(ui *u, const char *id)
{
    if (batch_is_marked(u, id))
        return true;
    if (u->nmarked == UI_MAX_MARKS)
        return false;
    snprintf(u->marked[u->nmarked++], sizeof u->marked[0], "%s", id);
    return true;
}

/* True when a purchase can be marked: waiting for approval, nothing on its way. */
static bool markable(const ui *u, const model_purchase *p)
{
    return p->status == PUR_PENDING && !panes_inflight_label(u, p->id);
}

/* Space: marks or unmarks the selected Pending row; see ui.h. */
void batch_mark(ui *u, int arg)
{
    (void)arg;
    model_kind kind;
    const model_purchase *p = u->pane == PANE_PENDING ? panes_selected(u, &kind) : NULL;
    if (!p) {
        ui_status(u, true, "marks are for purchases waiting for approval (pane 1)");
        return;
    }
    int i = mark_index(u, p->id);
    if (i >= 0)
        unmark_at(u, (size_t)i);
    else if (!markable(u, p))
        ui_status(u, true, "%s is %s: only a waiting purchase can be marked", p->id,
                  panes_inflight_label(u, p->id) ? "on its way" : model_purchase_status_label(p));
    else if (!mark_id(u, p->id))
        ui_status(u, true, "at most %d marks", UI_MAX_MARKS);
    u->dirty = true;
}

/* Marks every waiting purchase the Pending pane's filter shows; see ui.h. */
void batch_mark_all(ui *u, int arg)
{
    (void)arg;
    if (u->pane != PANE_PENDING) {
        ui_status(u, true, "marks are for purchases waiting for approval (pane 1)");
        return;
    }
    panes_refresh(u, PANE_PENDING, false);
    const ui_pane *pn = &u->panes[PANE_PENDING];
    size_t added = 0;
    bool full = false;
    for (size_t i = 0; i < pn->table.nrows; i++) {
        const model_purchase *p = pn->rows[i];
        if (panes_is_status_row(p) || !markable(u, p) || batch_is_marked(u, p->id))
            continue;
        if (!mark_id(u, p->id)) {
            full = true;
            break;
        }
        added++;
    }
    ui_status(u, full, "marked %zu more, %zu in all%s", added, u->nmarked,
              full ? ": the most there can be" : "");
    u->dirty = true;
}

/* Clears the marks; see ui.h. */
void batch_unmark_all(ui *u, int arg)
{
    (void)arg;
    size_t n = u->nmarked;
    u->nmarked = 0;
    ui_status(u, false, "%zu mark%s cleared", n, n == 1 ? "" : "s");
    u->dirty = true;
}

/* Drops marks whose purchase no longer waits; see ui.h. */
void batch_prune(ui *u)
{
    for (size_t i = u->nmarked; i-- > 0;) {
        const model_purchase *p = store_purchase(u->st, u->marked[i]);
        if (!p || p->status != PUR_PENDING)
            unmark_at(u, i);
    }
}

/* Orders purchases as the queue's stake does for money: currencies by code (there are
 * no exchange rates), the larger total first. */
static int by_total(const void *a, const void *b)
{
    const model_purchase *x = *(const model_purchase *const *)a;
    const model_purchase *y = *(const model_purchase *const *)b;
    int r = strcmp(x->currency, y->currency);
    if (r)
        return r;
    return x->total_minor < y->total_minor ? 1 : x->total_minor > y->total_minor ? -1 : 0;
}

/* Appends printf-style text to out (of size), cut at its end. */
static void append(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t size, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, size - used, fmt, ap);
    va_end(ap);
}

/* The totals per currency of purchases p[0..n) (sorted by currency): "$40.00 USD + …". */
static void totals_line(const model_purchase *const *p, size_t n, char *out, size_t size)
{
    snprintf(out, size, "total ");
    for (size_t i = 0; i < n;) {
        int64_t sum = 0;
        size_t j = i;
        for (; j < n && strcmp(p[j]->currency, p[i]->currency) == 0; j++)
            sum += p[j]->total_minor; /* below INT64_MAX: each total is bounded (marketd) */
        char money[48];
        format_money(sum, p[i]->currency, money, sizeof money);
        append(out, size, "%s%s %s", i ? " + " : "", money, p[i]->currency);
        i = j;
    }
}

/* The flags of purchases p[0..n) counted by rule: "flags: 2 over_deal_max (critical),
 * 1 overpay" ("no flags"). */
static void flags_line(const model_purchase *const *p, size_t n, char *out, size_t size)
{
    struct rule_count {
        const char *rule;
        int count;
        bool critical;
    } seen[24];
    size_t nseen = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < p[i]->nflags; f++) {
            const model_flag *fl = &p[i]->flags[f];
            size_t k = 0;
            while (k < nseen && strcmp(seen[k].rule, fl->rule) != 0)
                k++;
            if (k == nseen) {
                if (nseen == sizeof seen / sizeof seen[0])
                    continue;
                seen[nseen++] = (struct rule_count){fl->rule, 0, false};
            }
            seen[k].count++;
            seen[k].critical |= fl->severity == SEV_CRITICAL;
        }
    snprintf(out, size, "%s", nseen ? "flags:" : "no flags");
    for (size_t k = 0; k < nseen; k++)
        append(out, size, "%s %d %s%s", k ? "," : "", seen[k].count, seen[k].rule,
               seen[k].critical ? " (critical)" : "");
}

/* One of the five largest: "pur_7  $16,919.00 USD  GoPro Hero 11…  Atlas shopper-8",
 * its texts shortened to fit the box at 80 columns (wider on a wide terminal). */
static void largest_line(const ui *u, const model_purchase *p, char *out, size_t size)
{
    const model_listing *l = store_listing(u->st, p->listing_id);
    bool wide = u->lay.cols >= 120;
    char money[48], title[160], buyer[120];
    format_money(p->total_minor, p->currency, money, sizeof money);
    text_truncate(l && l->title.s ? l->title.s : p->listing_id, wide ? 40 : 22, u->mode_text, title,
                  sizeof title);
    text_truncate(format_agent_name(u, p->buyer_id), wide ? 24 : 16, u->mode_text, buyer,
                  sizeof buyer);
    out[0] = '\0';
    append(out, size, "  %-9s %12s %s  %s  %s", p->id, money, p->currency, title, buyer);
}

/* Fills the preview box from the marked purchases p[0..n) (sorted by_total) and keeps
 * what it shows in u->batch. */
static void preview(ui *u, decision_action a, const model_purchase **p, size_t n)
{
    ui_batch *b = &u->batch;
    b->action = a;
    b->n = 0;
    for (size_t i = 0; i < n; i++) {
        ui_batch_item *it = &b->items[b->n++];
        *it = (ui_batch_item){.version = p[i]->version, .total_minor = p[i]->total_minor};
        snprintf(it->id, sizeof it->id, "%s", p[i]->id);
        memcpy(it->currency, p[i]->currency, sizeof it->currency);
    }
    const char *verb = a == DEC_APPROVE ? "Approve" : "Veto";
    snprintf(u->confirm_title, sizeof u->confirm_title, "%s %zu marked purchase%s", verb, n,
             n == 1 ? "" : "s");
    int k = 0;
    const int W = (int)sizeof u->confirm_lines[0];
    snprintf(u->confirm_lines[k++], W,
             "%zu purchase%s, each sent on its own at the version and "
             "total shown",
             n, n == 1 ? "" : "s");
    totals_line(p, n, u->confirm_lines[k++], (size_t)W);
    flags_line(p, n, u->confirm_lines[k++], (size_t)W);
    snprintf(u->confirm_lines[k++], W, "%s:", n > 5 ? "the five largest" : "largest first");
    for (size_t i = 0; i < n && i < 5; i++)
        largest_line(u, p[i], u->confirm_lines[k++], (size_t)W);
    if (a == DEC_VETO)
        snprintf(u->confirm_lines[k++], W, "reason: %.200s", b->reason);
    snprintf(u->confirm_lines[k++], W, "%s", "");
    snprintf(u->confirm_lines[k++], W, "%s all %zu?   y yes    N no (default)", verb, n);
    u->confirm_n = k;
    decision_req_init(&u->confirm_req, a, "");
    u->confirm_version = 0;
    u->mode = MODE_CONFIRM;
    b->boxed = true;
    ui_status_clear(u);
    u->dirty = true;
}

/* Approve or veto the marks; see ui.h. */
bool batch_decide(ui *u, decision_action a, const char *reason)
{
    if (u->pane != PANE_PENDING || u->nmarked == 0)
        return false;
    if (u->batch.open) {
        ui_status(u, true, "the last batch has %zu answer%s to come: nothing sent", u->batch.open,
                  u->batch.open == 1 ? "" : "s");
        return true;
    }
    const model_purchase *p[UI_MAX_MARKS];
    size_t n = 0;
    for (size_t i = 0; i < u->nmarked; i++) {
        const model_purchase *x = store_purchase(u->st, u->marked[i]);
        if (x && markable(u, x))
            p[n++] = x;
    }
    if (n == 0) {
        ui_status(u, true, "no marked purchase is waiting: nothing sent");
        return true;
    }
    if (a == DEC_VETO && !(reason && reason[0])) {
        char prompt[100];
        snprintf(prompt, sizeof prompt, "veto %zu marked purchase%s  reason: ", n,
                 n == 1 ? "" : "s");
        cmdline_start(u, LINE_BATCH_VETO_REASON, prompt);
        return true;
    }
    snprintf(u->batch.reason, sizeof u->batch.reason, "%s", a == DEC_VETO ? reason : "");
    qsort(p, n, sizeof p[0], by_total);
    preview(u, a, p, n);
    return true;
}

/* Why the decision on item it was refused, in a few words: "changed since shown (now
 * vetoed)" when the purchase is no longer what the preview showed (412, or a 409 with
 * another version), else the server's code. */
static void refusal(const ui_batch_item *it, const decision_outcome *o, char *out, size_t size)
{
    const model_purchase *now =
        o->has_current && o->current.kind == MODEL_PURCHASE ? &o->current.u.purchase : NULL;
    if (o->http_status == 412 || (o->http_status == 409 && now && now->version != it->version))
        snprintf(out, size, "changed since shown%s%s%s", now ? " (now " : "",
                 now ? model_purchase_status_label(now) : "", now ? ")" : "");
    else if (o->http_status)
        snprintf(out, size, "%d %s", o->http_status, o->error_code);
    else
        snprintf(out, size, "%.90s", o->message);
}

/* The summary of a batch whose answers are all in: "2 approved, 1 refused: pur_3
 * changed since shown". */
static void summarise(ui *u)
{
    const ui_batch *b = &u->batch;
    size_t done = 0, refused = 0, unknown = 0;
    for (size_t i = 0; i < b->n; i++) {
        done += b->items[i].result == BATCH_DONE;
        refused += b->items[i].result == BATCH_REFUSED;
        unknown += b->items[i].result == BATCH_UNKNOWN;
    }
    char text[sizeof u->status];
    snprintf(text, sizeof text, "%zu %s", done, b->action == DEC_APPROVE ? "approved" : "vetoed");
    for (int pass = 0; pass < 2; pass++) {
        ui_batch_result want = pass == 0 ? BATCH_REFUSED : BATCH_UNKNOWN;
        size_t count = pass == 0 ? refused : unknown;
        if (!count)
            continue;
        append(text, sizeof text, ", %zu %s:", count, pass == 0 ? "refused" : "without an answer");
        bool first = true;
        for (size_t i = 0; i < b->n; i++)
            if (b->items[i].result == want) {
                append(text, sizeof text, "%s %s %s", first ? "" : ";", b->items[i].id,
                       b->items[i].why);
                first = false;
            }
    }
    ui_status(u, refused + unknown > 0, "%s", text);
}

/* A batch decision's callback (from client_run): its item's result; the summary once
 * the last is in. */
static void on_batch_outcome(void *ud, const decision_outcome *o)
{
    ui *u = ud;
    actions_landed(u, o);
    ui_batch *b = &u->batch;
    for (size_t i = 0; i < b->n; i++) {
        ui_batch_item *it = &b->items[i];
        if (it->dec != o->id || it->result != BATCH_WAITING)
            continue;
        it->result = o->ok                             ? BATCH_DONE
                     : o->delivery == DELIVERY_UNKNOWN ? BATCH_UNKNOWN
                                                       : BATCH_REFUSED;
        if (!o->ok)
            refusal(it, o, it->why, sizeof it->why);
        if (b->open && --b->open == 0)
            summarise(u);
        break;
    }
    u->marks++;
    u->dirty = true;
}

/* The answer to the box; see ui.h. */
void batch_confirm(ui *u, bool yes)
{
    ui_batch *b = &u->batch;
    b->boxed = false;
    if (!yes) {
        ui_status(u, false, "not %s: nothing was sent (the marks stay)",
                  b->action == DEC_APPROVE ? "approved" : "vetoed");
        return;
    }
    const char *label = b->action == DEC_APPROVE ? "approving…" : "vetoing…";
    b->open = 0;
    for (size_t i = 0; i < b->n; i++) {
        ui_batch_item *it = &b->items[i];
        decision_req r;
        decision_req_init(&r, b->action, it->id);
        r.if_match_version = it->version;
        if (b->action == DEC_APPROVE)
            r.expected_total_minor = it->total_minor;
        else
            snprintf(r.reason, sizeof r.reason, "%s", b->reason);
        it->dec = actions_send(u, &r, label, on_batch_outcome);
        it->result = it->dec ? BATCH_WAITING : BATCH_REFUSED;
        if (it->dec)
            b->open++;
        else
            snprintf(it->why, sizeof it->why, "not sent");
    }
    u->nmarked = 0; /* the marks are spent; each row now shows its own outcome */
    if (b->open)
        ui_status(u, false, "%s %zu purchases: sending, no answers yet", label, b->open);
    else
        summarise(u);
}

/* The box's warning about changes since the preview; see ui.h. */
void batch_changed(const ui *u, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < u->batch.n; i++) {
        const model_purchase *p = store_purchase(u->st, u->batch.items[i].id);
        if (p && p->version == u->batch.items[i].version)
            continue;
        if (p)
            append(out, size, "%s %s now v%lld %s",
                   n++ ? "," : "CHANGED since shown:", u->batch.items[i].id, (long long)p->version,
                   model_purchase_status_label(p));
        else
            append(out, size, "%s %s gone",
                   n++ ? "," : "CHANGED since shown:", u->batch.items[i].id);
    }
    if (n)
        append(out, size, "; y sends %s anyway and %s refused", n == 1 ? "it" : "them",
               n == 1 ? "it will be" : "they will be");
}
