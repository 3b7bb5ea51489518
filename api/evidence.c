/* evidence.c: the evidence of one dispute as lines and figures (see evidence.h): the one
 * source for the Disputes pane's evidence view and `dealdesk disputes show`. */
#include "api/evidence.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/money.h"

/* The program's own symbols and their ASCII forms (widgets/widgets.h's glyphs): a terminal
 * without UTF-8 gets the ASCII ones. Network text, sanitised in that mode, holds none of
 * them, so replacing them in a whole line touches only the program's own. */
static const char *const glyphs[][2] = {{"✗", "x"}, {"✓", "ok"}, {"▶", ">"},
                                        {"×", "x"}, {"·", "."},  {"⚠", "!"}};

/* Replaces the symbols of line by their ASCII forms, in place (never longer). */
static void to_ascii(char *line)
{
    for (size_t g = 0; g < sizeof glyphs / sizeof glyphs[0]; g++) {
        size_t from = strlen(glyphs[g][0]), to = strlen(glyphs[g][1]);
        for (char *p = strstr(line, glyphs[g][0]); p; p = strstr(p + to, glyphs[g][0])) {
            memcpy(p, glyphs[g][1], to);
            memmove(p + to, p + from, strlen(p + from) + 1);
        }
    }
}

/* Where a line goes when there is no memory for it (evidence_build then fails). */
static evidence_line lost;

/* Appends a line (printf-style; network text goes in as %s of sanitised text); out of
 * memory: the line is lost (e->failed). */
static evidence_line *add(evidence *e, const char *section, evidence_mark mark, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static evidence_line *add(evidence *e, const char *section, evidence_mark mark, const char *fmt,
                          ...)
{
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 32;
        evidence_line *l = realloc(e->lines, nc * sizeof *l);
        if (!l) {
            e->failed = true;
            return &lost;
        }
        e->lines = l;
        e->cap = nc;
    }
    evidence_line *l = &e->lines[e->n++];
    memset(l, 0, sizeof *l);
    snprintf(l->section, sizeof l->section, "%s", section);
    l->mark = mark;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->text, sizeof l->text, fmt, ap);
    va_end(ap);
    if (e->ascii)
        to_ascii(l->text);
    return l;
}

/* Money in the dispute's currency with its symbol ("$1,200.00"); code: " USD" after. */
static const char *money(char *buf, size_t size, int64_t minor, const char *currency, bool code)
{
    money_format(buf, size, minor, currency, MONEY_FMT_SYMBOL | (code ? MONEY_FMT_CODE : 0));
    return buf;
}

/* A text or "" (sanitised strings only). */
static const char *txt(const model_text *t)
{
    return t->s ? t->s : "";
}

/* "Atlas shopper-8 (agt_3)", or the id alone when no name is known. */
static const char *who(const evidence_in *in, const char *id, char *buf, size_t size)
{
    const char *n = in->name && id[0] ? in->name(in->name_ud, id) : NULL;
    if (n && n[0] && strcmp(n, id) != 0)
        snprintf(buf, size, "%s (%s)", n, id);
    else
        snprintf(buf, size, "%s", id[0] ? id : "?");
    return buf;
}

/* A time of day, UTC ("14:02:11"); "?" for none. */
static const char *clock_of(int64_t ms, char *buf, size_t size)
{
    if (ms <= 0) {
        snprintf(buf, size, "?");
        return buf;
    }
    int64_t s = (ms / 1000) % 86400;
    snprintf(buf, size, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    return buf;
}

/* A date and time, UTC ("2026-12-03 20:59 UTC"): for a deadline more than a day away. */
static const char *date_of(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, size, "?");
    return buf;
}

/* A span in words: "1:05:09", "4:09", "0:00". */
static const char *span_of(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s >= 3600)
        snprintf(buf, size, "%lld:%02d:%02d", (long long)(s / 3600), (int)(s / 60 % 60),
                 (int)(s % 60));
    else
        snprintf(buf, size, "%d:%02d", (int)(s / 60), (int)(s % 60));
    return buf;
}

/* Whether lower-cased s holds one of the words that make a message matter. */
static bool mentions_terms(const char *s)
{
    static const char *const words[] = {"quantit", "qty",   "units",   "address", "ship",
                                        "deliver", "terms", "receive", "wrong"};
    char low[512];
    size_t n = 0;
    for (; s && *s && n + 1 < sizeof low; s++)
        low[n++] = (char)tolower((unsigned char)*s);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

bool evidence_message_matters(const model_message *m)
{
    return m->kind == MSG_OFFER || m->kind == MSG_COUNTER || m->kind == MSG_ACCEPT ||
           (m->kind != MSG_SYSTEM && mentions_terms(m->text.s));
}

/* The first line, the claim, the responses and the resolution. */
static void dispute_lines(const evidence_in *in, evidence *e)
{
    const model_dispute *d = in->dispute;
    char a[64], b[64], w1[160], w2[160], t[32];
    bool buyer_opened = strcmp(txt(&d->opened_by), d->buyer_id) == 0;
    add(e, "dispute", EVM_HEAD, "%s v%lld · %s · %s · claim %s of %s paid", d->id,
        (long long)d->version, model_dispute_status_label(d), model_dispute_reason_label(d),
        money(a, sizeof a, d->claim_minor, d->currency, true),
        e->f.total_minor >= 0 ? money(b, sizeof b, e->f.total_minor, d->currency, false) : "?");
    const char *against = buyer_opened ? d->seller_id : d->buyer_id;
    bool agent = strncmp(txt(&d->opened_by), "agt_", 4) == 0;
    add(e, "dispute", EVM_PLAIN, "opened by %s at %s%s%s · purchase %s",
        agent ? who(in, txt(&d->opened_by), w1, sizeof w1) : txt(&d->opened_by),
        clock_of(d->created_at, t, sizeof t), agent ? " against " : "",
        agent ? who(in, against, w2, sizeof w2) : "", d->purchase_id);
    if (d->status != DSP_RESOLVED && d->respond_by) {
        char left[32];
        if (d->unanswered || (!d->nresponses && d->respond_by <= in->now_ms))
            add(e, "dispute", EVM_WARN, "UNANSWERED: respond-by %s passed with no response",
                clock_of(d->respond_by, t, sizeof t));
        else if (!d->nresponses)
            add(e, "dispute", EVM_PLAIN, "respond by %s (%s left)",
                d->respond_by - in->now_ms > 86400 * 1000LL ? date_of(d->respond_by, w1, sizeof w1)
                                                            : clock_of(d->respond_by, t, sizeof t),
                span_of(d->respond_by - in->now_ms, left, sizeof left));
    }
    add(e, "claim", EVM_PLAIN, "claim %s: %s",
        money(a, sizeof a, d->claim_minor, d->currency, false),
        d->text.s && d->text.s[0] ? d->text.s : "(no text)")
        ->soft = true;
    if (!d->nresponses)
        add(e, "response", d->status == DSP_RESOLVED ? EVM_DIM : EVM_WARN, "no response");
    for (size_t i = 0; i < d->nresponses; i++) {
        const model_dispute_response *r = &d->responses[i];
        char offer[96] = "";
        if (r->offer_minor >= 0)
            snprintf(offer, sizeof offer, " · offers %s",
                     money(a, sizeof a, r->offer_minor, d->currency, false));
        const char *by = txt(&r->by);
        add(e, "response", EVM_PLAIN, "response by %s at %s%s: %s",
            strncmp(by, "agt_", 4) == 0 ? who(in, by, w1, sizeof w1) : by,
            clock_of(r->at, t, sizeof t), offer,
            r->text.s && r->text.s[0] ? r->text.s : "(no text)")
            ->soft = true;
    }
    if (d->resolved)
        add(e, "resolution", EVM_PLAIN, "resolved %s%s%s by %s via %s at %s: %s",
            model_dispute_outcome_label(d), d->outcome == DSP_REJECTED ? "" : " ",
            d->outcome == DSP_REJECTED ? ""
                                       : money(a, sizeof a, d->resolved_minor, d->currency, false),
            txt(&d->resolved_by), d->via[0] ? d->via : "?", clock_of(d->resolved_at, t, sizeof t),
            txt(&d->resolution_reason));
}

/* The terms of the accept: its own, else the last offer or counter before it (an accept
 * takes the terms on the table), else the thread's agreed terms. */
static void agreed_terms(const evidence_in *in, evidence_facts *f, char *from, size_t size)
{
    const model_negotiation *n = in->thread;
    snprintf(from, size, "not known");
    if (!n)
        return;
    int64_t unit = -1, qty = -1;
    long seq = -1;
    for (size_t i = 0; i < n->nmessages; i++) {
        const model_message *m = &n->messages[i];
        if (m->kind == MSG_OFFER || m->kind == MSG_COUNTER || m->kind == MSG_ACCEPT) {
            if (m->unit_price_minor >= 0)
                unit = m->unit_price_minor;
            if (m->quantity >= 0)
                qty = m->quantity;
        }
        if (m->kind == MSG_ACCEPT && unit >= 0 && qty >= 0) {
            f->agreed_unit_minor = unit;
            f->agreed_qty = qty;
            seq = (long)m->seq;
        }
    }
    if (seq >= 0) {
        snprintf(from, size, "the accept, message %ld", seq);
    } else if (n->agreed_terms.present) {
        f->agreed_unit_minor = n->agreed_terms.unit_price_minor;
        f->agreed_qty = n->agreed_terms.quantity;
        snprintf(from, size, "the thread's agreed terms");
    }
    if (f->agreed_qty >= 0 &&
        !money_mul(f->agreed_unit_minor, f->agreed_qty, &f->agreed_total_minor))
        f->agreed_total_minor = -1;
}

/* What was bought against what was agreed, the ship-to, the flags and the decision. */
static void purchase_lines(const evidence_in *in, evidence *e)
{
    const model_purchase *p = in->purchase;
    const char *cur = in->dispute->currency;
    evidence_facts *f = &e->f;
    char a[64], b[64], c[64], q[32], from[64], t[32];
    agreed_terms(in, f, from, sizeof from);
    if (!p) {
        add(e, "bought", EVM_DIM, "purchase %s not read yet", in->dispute->purchase_id);
        return;
    }
    add(e, "bought", EVM_PLAIN, "bought   %s × %s = %s · refunded so far %s · refundable %s",
        money_format_count(q, sizeof q, p->quantity),
        money(a, sizeof a, p->unit_price_minor, cur, false),
        money(b, sizeof b, p->total_minor, cur, false),
        money(c, sizeof c, p->refunded_minor, cur, false),
        money(t, sizeof t, f->refundable_minor, cur, false));
    if (f->agreed_qty >= 0) {
        f->qty_differs = f->agreed_qty != p->quantity;
        f->price_differs = f->agreed_unit_minor != p->unit_price_minor;
        add(e, "terms", f->qty_differs || f->price_differs ? EVM_WARN : EVM_PLAIN,
            "agreed   %s × %s = %s (%s)%s%s%s", money_format_count(q, sizeof q, f->agreed_qty),
            money(a, sizeof a, f->agreed_unit_minor, cur, false),
            f->agreed_total_minor >= 0 ? money(b, sizeof b, f->agreed_total_minor, cur, false)
                                       : "?",
            from, f->qty_differs || f->price_differs ? " ✗" : " ✓ as bought",
            f->qty_differs ? " quantity differs" : "",
            f->price_differs ? " unit price differs" : "");
    } else {
        add(e, "terms", EVM_DIM, "agreed   %s",
            in->thread ? "no accepted offer in the thread" : "thread not read yet");
    }
    for (size_t i = 0; i < p->nflags; i++)
        if (strcmp(p->flags[i].rule, "ship_to_unverified") == 0)
            f->ship_to_unverified = true;
    add(e, "ship_to", f->ship_to_unverified ? EVM_WARN : EVM_PLAIN, "ship to  %s %s",
        p->ship_to.s ? p->ship_to.s : "(none)", f->ship_to_unverified ? "✗ unverified" : "✓");
    if (!p->nflags)
        add(e, "flags", EVM_PLAIN, "flags    none at purchase time (risk %d)", p->risk_score);
    for (size_t i = 0; i < p->nflags; i++) {
        const model_flag *fl = &p->flags[i];
        bool crit = fl->severity == SEV_CRITICAL;
        if (f->nflag_rules < EVIDENCE_RULES_MAX)
            memcpy(f->flag_rules[f->nflag_rules++], fl->rule, sizeof fl->rule);
        f->flags_critical += crit;
        f->flags_warning += fl->severity == SEV_WARNING;
        add(e, "flags",
            crit                          ? EVM_CRIT
            : fl->severity == SEV_WARNING ? EVM_WARN
                                          : EVM_PLAIN,
            "%s %-8s %s: %s", crit ? "✗" : "⚠", model_flag_severity_label(fl), fl->rule,
            txt(&fl->detail));
    }
    const model_decision_summary *ds = &p->decision;
    if (ds->present)
        add(e, "decision", EVM_PLAIN, "decision %s by %s at %s%s%s%s%s", ds->action, txt(&ds->by),
            clock_of(ds->at, t, sizeof t), ds->reason.s ? ": " : "", txt(&ds->reason),
            p->policy.id[0] ? " · policy " : "",
            p->policy.id[0] ? (p->policy.name.s ? p->policy.name.s : p->policy.id) : "");
    else
        add(e, "decision", EVM_DIM, "decision none recorded on the purchase");
    for (int i = 0; i < p->napprovals && i < MODEL_APPROVALS_MAX; i++)
        add(e, "decision", EVM_PLAIN, "approval %d of %d by %s", i + 1, p->approvals_required,
            txt(&p->approved_by[i]));
}

/* The thread, its messages that matter marked ▶. */
static void thread_lines(const evidence_in *in, evidence *e)
{
    const model_negotiation *n = in->thread;
    const char *cur = in->dispute->currency;
    if (!n) {
        add(e, "thread", EVM_DIM, "thread %s not read yet",
            in->dispute->negotiation_id[0] ? in->dispute->negotiation_id : "(none)");
        return;
    }
    e->f.messages = n->nmessages;
    for (size_t i = 0; i < n->nmessages; i++)
        e->f.marked += evidence_message_matters(&n->messages[i]);
    add(e, "thread", EVM_PLAIN, "thread %s · %s · %zu of %zu messages marked%s", n->id,
        model_neg_status_label(n), e->f.marked, n->nmessages,
        (int64_t)n->nmessages < n->message_count ? " (more not read yet)" : "");
    for (size_t i = 0; i < n->nmessages; i++) {
        const model_message *m = &n->messages[i];
        bool matters = evidence_message_matters(m);
        char terms[96] = "", w[160], q[32], a[64];
        if (m->quantity >= 0 && m->unit_price_minor >= 0)
            snprintf(terms, sizeof terms, " %s × %s", money_format_count(q, sizeof q, m->quantity),
                     money(a, sizeof a, m->unit_price_minor, cur, false));
        else if (m->unit_price_minor >= 0)
            snprintf(terms, sizeof terms, " %s",
                     money(a, sizeof a, m->unit_price_minor, cur, false));
        add(e, "thread", matters ? EVM_MATTERS : EVM_PLAIN, "%s %lld %s %s%s  %s",
            matters ? "▶" : " ", (long long)m->seq,
            m->from[0] ? who(in, m->from, w, sizeof w) : "market", model_msg_kind_label(m), terms,
            txt(&m->text))
            ->soft = true;
    }
}

/* Counts a party's disputes other than this one: opened by it (opened) or against it,
 * and how those ended. */
static void tally(const evidence_in *in, const evidence_history *h, const char *agent, bool opened,
                  int64_t *count, int64_t *refunded, int64_t *rejected)
{
    *count = *refunded = *rejected = h->known ? 0 : -1;
    for (size_t i = 0; h->known && i < h->n; i++) {
        const model_dispute *d = h->rows[i];
        if (strcmp(d->id, in->dispute->id) == 0)
            continue;
        bool by = strcmp(txt(&d->opened_by), agent) == 0;
        bool party = !strcmp(d->buyer_id, agent) || !strcmp(d->seller_id, agent);
        if (!party || by != opened)
            continue;
        (*count)++;
        *refunded += d->resolved && (d->outcome == DSP_REFUND || d->outcome == DSP_PARTIAL_REFUND);
        *rejected += d->resolved && d->outcome == DSP_REJECTED;
    }
}

/* One party's history in words. */
static void history_line(const evidence_in *in, evidence *e, const evidence_history *h,
                         const char *agent, bool opened, int64_t c, int64_t r, int64_t j)
{
    char w[160];
    if (!h->known) {
        add(e, "history", EVM_DIM, "%s: history not read yet", who(in, agent, w, sizeof w));
        return;
    }
    add(e, "history", c > 0 && (opened ? j : r) * 2 >= c ? EVM_WARN : EVM_PLAIN,
        "%s: %lld%s other dispute%s %s (%lld refunded, %lld rejected)", who(in, agent, w, sizeof w),
        (long long)c, h->complete ? "" : "+", c == 1 ? "" : "s", opened ? "opened" : "against it",
        (long long)r, (long long)j);
}

int evidence_build(const evidence_in *in, evidence *out)
{
    evidence_free(out);
    out->ascii = in->ascii;
    evidence_facts *f = &out->f;
    const model_dispute *d = in->dispute;
    const model_purchase *p = in->purchase;
    f->claim_minor = d->claim_minor;
    f->offer_minor = d->nresponses ? d->responses[d->nresponses - 1].offer_minor : -1;
    f->total_minor = p ? p->total_minor : -1;
    f->refunded_minor = p ? p->refunded_minor : -1;
    f->refundable_minor = p ? p->total_minor - p->refunded_minor : -1;
    f->bought_qty = p ? p->quantity : -1;
    f->bought_unit_minor = p ? p->unit_price_minor : -1;
    f->agreed_qty = f->agreed_unit_minor = f->agreed_total_minor = -1;
    dispute_lines(in, out);
    purchase_lines(in, out);
    tally(in, &in->buyer, d->buyer_id, true, &f->buyer_opened, &f->buyer_opened_refunded,
          &f->buyer_opened_rejected);
    tally(in, &in->seller, d->seller_id, false, &f->seller_against, &f->seller_against_refunded,
          &f->seller_against_rejected);
    history_line(in, out, &in->buyer, d->buyer_id, true, f->buyer_opened, f->buyer_opened_refunded,
                 f->buyer_opened_rejected);
    history_line(in, out, &in->seller, d->seller_id, false, f->seller_against,
                 f->seller_against_refunded, f->seller_against_rejected);
    thread_lines(in, out); /* the longest part last: the rest fits one screen first */
    return out->failed ? -1 : 0;
}

void evidence_free(evidence *e)
{
    free(e->lines);
    memset(e, 0, sizeof *e);
}
