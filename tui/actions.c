/* actions.c: keys and commands turned into decision requests. Money actions are bound
 * to what the operator saw (version via If-Match, total via expected_total_minor) and
 * confirmed with a default of no; nothing is shown as done until the server says so. */
#include "tui/ui.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/money.h"

/* Remembers a purchase decided here so that the Pending pane keeps showing it. */
static void remember(ui *u, const char *id)
{
    for (size_t i = 0; i < u->nrecent; i++)
        if (strcmp(u->recent[i], id) == 0)
            return;
    if (u->nrecent == sizeof u->recent / sizeof u->recent[0]) {
        memmove(u->recent[0], u->recent[1], sizeof u->recent - sizeof u->recent[0]);
        u->nrecent--;
    }
    snprintf(u->recent[u->nrecent++], sizeof u->recent[0], "%s", id);
}

/* Explains an outcome that changed nothing: what the server holds now. */
static void explain_current(const decision_outcome *o, char *out, size_t size)
{
    out[0] = '\0';
    if (!o->has_current)
        return;
    const model_event *ev = &o->current;
    if (ev->kind == MODEL_PURCHASE) {
        const model_purchase *p = &ev->u.purchase;
        char when[16] = "", total[48];
        format_money(p->total_minor, p->currency, total, sizeof total);
        if (p->decision.present) {
            format_clock(p->decision.at, when, sizeof when);
            char by[80];
            text_strip_marks(p->decision.by.s ? p->decision.by.s : "?", by, sizeof by);
            snprintf(out, size, "now %s (v%lld, %s by %s at %s), total %s",
                     model_purchase_status_label(p), (long long)p->version, p->decision.action, by,
                     when, total);
        } else {
            snprintf(out, size, "now %s (v%lld), total %s", model_purchase_status_label(p),
                     (long long)p->version, total);
        }
        char ap[200]; /* a first approval of two: it waits for another supervisor */
        size_t n = strlen(out);
        if (p->status == PUR_PENDING && twoperson_approvals(p, ap, sizeof ap)[0] && n < size)
            snprintf(out + n, size - n, ", %.120s", ap);
    } else if (ev->kind == MODEL_AGENT) {
        snprintf(out, size, "agent now %s (v%lld)", model_agent_status_label(&ev->u.agent),
                 (long long)ev->u.agent.version);
    } else if (ev->kind == MODEL_ALERT) {
        snprintf(out, size, "alert now %s (v%lld)", model_alert_status_label(&ev->u.alert),
                 (long long)ev->u.alert.version);
    } else if (ev->kind == MODEL_POLICY) {
        snprintf(out, size, "policy now %s, priority %lld (v%lld)",
                 ev->u.policy.enabled ? "enabled" : "disabled", (long long)ev->u.policy.priority,
                 (long long)ev->u.policy.version);
    } else if (ev->kind == MODEL_DISPUTE) {
        disputes_explain(&ev->u.dispute, out, size);
    } else if (ev->kind == MODEL_FLEET) {
        snprintf(out, size, "fleet now %s (v%lld)", ev->u.fleet.halted ? "halted" : "running",
                 (long long)ev->u.fleet.version);
    }
}

/* The decision callback (always from client_run): the server's outcome, or the client's
 * refusal before sending, shown as it is. */
static void on_outcome(void *ud, const decision_outcome *o)
{
    ui *u = ud;
    if (o->id == u->advance_id && o->delivery == DELIVERY_NOT_SENT)
        u->advance_from[0] = '\0'; /* nothing went: the selection stays on the purchase */
    char subject[65] = "";
    const char *label = "decision";
    for (size_t i = 0; i < u->ninflight; i++)
        if (u->inflight[i].id == o->id) {
            snprintf(subject, sizeof subject, "%s", u->inflight[i].subject);
            label = decision_action_verb(u->inflight[i].action); /* "resume", not fleet_resume */
            break;
        }
    actions_landed(u, o);
    char now[400];
    explain_current(o, now, sizeof now);
    if (o->ok) {
        ui_status(u, false, "%s %s: done (%d%s)%s%s", label, subject, o->http_status,
                  o->replayed ? ", replayed" : "", now[0] ? ", " : "", now);
    } else if (o->http_status == 409) {
        ui_status(u, true, "409 %s %s refused: %s%s%s", label, subject,
                  o->message[0] ? o->message : "no longer allowed", now[0] ? "; " : "", now);
    } else if (o->http_status == 412) {
        ui_status(u, true, "412 %s %s: it changed since you saw it; %s. Look again.", label,
                  subject, now[0] ? now : o->message);
    } else if (o->http_status == 0) {
        /* the client's words say which: nothing sent, or an outcome unknown */
        ui_status(u, true, "%s %s: %s", label, subject, o->message);
    } else {
        ui_status(u, true, "%d %s %s: %s %s", o->http_status, label, subject, o->error_code,
                  o->message);
    }
    u->marks++; /* what the row shows may have changed */
    u->dirty = true;
}

/* Takes an answered decision out of the in-flight list; see ui.h. */
bool actions_landed(ui *u, const decision_outcome *o)
{
    for (size_t i = 0; i < u->ninflight; i++)
        if (u->inflight[i].id == o->id) {
            u->inflight[i] = u->inflight[--u->ninflight];
            u->marks++; /* the row is no longer in flight */
            u->dirty = true;
            return true;
        }
    return false;
}

/* Sends a request and marks its subject in flight with label; see ui.h. */
uint64_t actions_send(ui *u, const decision_req *req, const char *label, decision_cb cb)
{
    if (u->read_only) {
        ui_status(u, true, "read-only: %s is unavailable", decision_action_verb(req->action));
        return 0;
    }
    char err[200];
    if (decision_validate(req, err, sizeof err) < 0) {
        ui_status(u, true, "not sent: %s", err);
        return 0;
    }
    if (req->action <= DEC_REFUND)
        remember(u, req->subject_id);
    /* the outcome (a refusal before sending too) comes later, from client_run */
    uint64_t id = client_decide(u->cl, req, cb ? cb : on_outcome, u);
    const char *subject = req->subject_id[0] ? req->subject_id : "fleet";
    if (id == 0) {
        ui_status(u, true, "%s %s: out of memory: nothing sent", label, subject);
        return 0;
    }
    if (u->ninflight < UI_MAX_INFLIGHT) {
        ui_inflight *f = &u->inflight[u->ninflight++];
        f->id = id;
        f->action = req->action;
        snprintf(f->subject, sizeof f->subject, "%s", subject);
        snprintf(f->label, sizeof f->label, "%s", label);
    }
    u->marks++;
    u->dirty = true;
    if (cb)
        return id; /* a batch: its own summary, the selection stays */
    ui_status(u, false, "%s %s: sending, no answer yet", label, subject);
    if (req->action == DEC_APPROVE || req->action == DEC_VETO || req->action == DEC_CAP) {
        /* on to the next waiting one, in the update step, once the client has run */
        u->advance_id = id;
        snprintf(u->advance_from, sizeof u->advance_from, "%s", req->subject_id);
    }
    return id;
}

/* Sends a request with the console's own outcome handling (actions_send). */
static void send_decision(ui *u, const decision_req *req, const char *label)
{
    actions_send(u, req, label, NULL);
}

/* Opens a y/N confirmation for req (title and lines already set). The box is tied to its
 * purchase: the Pending selection, and so the detail behind the box, moves to it and
 * stays on it (panes.c keeps it listed while the box is open), and an older status
 * message does not linger under it. */
static void confirm(ui *u, const decision_req *req, int64_t version)
{
    u->confirm_req = *req;
    u->confirm_version = version;
    u->batch.boxed = false;
    u->mode = MODE_CONFIRM;
    ui_status_clear(u);
    if (u->pane == PANE_PENDING && store_purchase(u->st, req->subject_id))
        panes_select_id(u, PANE_PENDING, req->subject_id);
    u->dirty = true;
}

/* Opens a confirmation; see ui.h. */
void actions_confirm(ui *u, const decision_req *req, int64_t version)
{
    confirm(u, req, version);
}

/* "Name (agt_3)" for prompts and boxes: the agent's sanitised name, without marks and
 * at most 32 columns, and its id; the id alone when it has no name. */
static void agent_label(const ui *u, const model_agent *a, char *out, size_t size)
{
    char plain[256], name[49]; /* whole characters only: text_truncate never splits one */
    text_strip_marks(format_agent_name(u, a->id), plain, sizeof plain);
    text_truncate(plain, 32, u->mode_text, name, sizeof name);
    if (strcmp(name, a->id) == 0)
        snprintf(out, size, "%.44s", a->id);
    else
        snprintf(out, size, "%s (%.44s)", name, a->id);
}

/* Fills the confirmation text for a purchase action. */
static void confirm_purchase_text(ui *u, const model_purchase *p, const char *verb,
                                  const char *extra)
{
    const model_listing *l = store_listing(u->st, p->listing_id);
    char total[48], unit[40], title[200];
    format_money(p->total_minor, p->currency, total, sizeof total);
    format_money(p->unit_price_minor, p->currency, unit, sizeof unit);
    text_truncate(l && l->title.s ? l->title.s : p->listing_id, 40, u->mode_text, title,
                  sizeof title);
    int crit = 0, warn = 0;
    for (size_t i = 0; i < p->nflags; i++) {
        crit += p->flags[i].severity == SEV_CRITICAL;
        warn += p->flags[i].severity == SEV_WARNING;
    }
    /* Name the severities present: "no flags", "2 critical, 1 warning flags". */
    char flagtxt[64];
    if (crit && warn)
        snprintf(flagtxt, sizeof flagtxt, "%d critical, %d warning flag%s", crit, warn,
                 crit + warn == 1 ? "" : "s");
    else if (crit || warn)
        snprintf(flagtxt, sizeof flagtxt, "%d %s flag%s", crit ? crit : warn,
                 crit ? "critical" : "warning", (crit ? crit : warn) == 1 ? "" : "s");
    else if (p->nflags)
        snprintf(flagtxt, sizeof flagtxt, "%zu info flag%s", p->nflags, p->nflags == 1 ? "" : "s");
    else
        snprintf(flagtxt, sizeof flagtxt, "no flags");
    snprintf(u->confirm_title, sizeof u->confirm_title, "%s %s (version %lld)", verb, p->id,
             (long long)p->version);
    u->confirm_n = 0;
    char qty[32];
    format_qty(p->quantity, qty, sizeof qty);
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s buys %s %s %s from %s",
             format_agent_name(u, p->buyer_id), qty, widget_glyph_str(GLYPH_TIMES), title,
             format_agent_name(u, p->seller_id));
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s %s %s = total %s %s %s %s", qty,
             widget_glyph_str(GLYPH_TIMES), unit, total, p->currency,
             widget_glyph_str(GLYPH_MIDDOT), flagtxt);
    if (extra && extra[0])
        snprintf(u->confirm_lines[u->confirm_n++], 256, "%s", extra);
    if (twoperson_confirm_line(u, p, u->confirm_lines[u->confirm_n], 256))
        u->confirm_n++; /* "sup2 is reviewing: decide anyway?", "1 of 2 approvals" */
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s", "");
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s this?   y yes    N no (default)", verb);
}

/* The object a decision is about: the one of kind want named id, else the selection's,
 * followed where it points (a purchase or a thread to its buyer, a ledger entry or an
 * alert to its purchase); NULL when there is none. */
static const void *subject_of(ui *u, const char *id, model_kind want)
{
    if (id && id[0])
        return want == MODEL_PURCHASE ? (const void *)store_purchase(u->st, id)
               : want == MODEL_AGENT  ? (const void *)store_agent(u->st, id)
                                      : (const void *)store_alert(u->st, id);
    model_kind kind;
    const void *row = panes_selected(u, &kind);
    if (!row || kind == want)
        return row;
    if (want == MODEL_AGENT && kind == MODEL_PURCHASE)
        return store_agent(u->st, ((const model_purchase *)row)->buyer_id);
    if (want == MODEL_AGENT && kind == MODEL_NEGOTIATION)
        return store_agent(u->st, ((const model_negotiation *)row)->buyer_id);
    if (want == MODEL_PURCHASE && kind == MODEL_LEDGER)
        return store_purchase(u->st, ((const model_ledger_entry *)row)->purchase_id);
    if (want == MODEL_PURCHASE && kind == MODEL_ALERT &&
        strcmp(((const model_alert *)row)->subject_kind, "purchase") == 0)
        return store_purchase(u->st, ((const model_alert *)row)->subject_id);
    return NULL;
}

/* Looks up a purchase to decide on, by id or the selection; NULL with a status. */
static const model_purchase *target_purchase(ui *u, const char *id, bool want_pending)
{
    const model_purchase *p = subject_of(u, id, MODEL_PURCHASE);
    if (!p) {
        ui_status(u, true, "%s", id && id[0] ? "no such purchase" : "select a purchase first");
        return NULL;
    }
    if (want_pending && p->status != PUR_PENDING) {
        ui_status(u, true, "%s is %s, not waiting for approval", p->id,
                  model_purchase_status_label(p));
        return NULL;
    }
    if (panes_inflight_label(u, p->id)) {
        ui_status(u, true, "%s: a decision is already on its way", p->id);
        return NULL;
    }
    return p;
}

/* Sends u->line_req with its reason. */
static void send_reason(ui *u, const char *reason, const char *label)
{
    snprintf(u->line_req.reason, sizeof u->line_req.reason, "%s", reason);
    send_decision(u, &u->line_req, label);
}

/* Sends u->line_req with reason when one is given (a command's), else asks for it with
 * prompt (a key's); the answer comes back to actions_line_done as purpose. */
static void send_or_ask(ui *u, const char *reason, const char *label, ui_line_purpose purpose,
                        const char *prompt)
{
    if (reason && reason[0])
        send_reason(u, reason, label);
    else
        cmdline_start(u, purpose, prompt);
}

/* approve: a confirmation bound to version and total. */
void actions_approve(ui *u, const char *id)
{
    const model_purchase *p = target_purchase(u, id, true);
    if (!p)
        return;
    decision_req r;
    decision_req_init(&r, DEC_APPROVE, p->id);
    r.if_match_version = p->version;
    r.expected_total_minor = p->total_minor;
    /* the cap holds at approval on the buyer's spending now (409 budget_exceeded): said
     * before y, with what the detail's budget line reads (tui/detail.c) */
    const model_agent *b = store_agent(u->st, p->buyer_id);
    char extra[200] = "", spent[48], cap[48], total[48];
    if (b && b->spent_minor + p->total_minor > b->limits.spend_cap_minor) {
        format_money(b->spent_minor, b->currency, spent, sizeof spent);
        format_money(p->total_minor, p->currency, total, sizeof total);
        format_money(b->limits.spend_cap_minor, b->currency, cap, sizeof cap);
        snprintf(extra, sizeof extra, "over the spending cap: spent %s + %s > %s %s", spent, total,
                 cap, b->currency);
    }
    confirm_purchase_text(u, p, "Approve", extra);
    confirm(u, &r, p->version);
    twoperson_claim(u, p); /* opening the approve box claims it */
}

/* veto: asks the reason unless given. */
void actions_veto(ui *u, const char *id, const char *reason)
{
    const model_purchase *p = target_purchase(u, id, true);
    if (!p)
        return;
    decision_req_init(&u->line_req, DEC_VETO, p->id);
    u->line_req.if_match_version = p->version;
    char prompt[200], rv[96];
    /* another supervisor's claim is said before the reason is asked (tui/twoperson.c) */
    const char *who = twoperson_reviewer(u, p, rv, sizeof rv);
    snprintf(prompt, sizeof prompt, "veto %s%s%s%s  reason: ", p->id, who ? " (" : "",
             who ? who : "", who ? ")" : "");
    send_or_ask(u, reason, "vetoing…", LINE_VETO_REASON, prompt);
}

/* The confirmation for a cap, from u->line_req. */
static void confirm_cap(ui *u)
{
    const model_purchase *p = store_purchase(u->st, u->line_req.subject_id);
    if (!p) {
        ui_status(u, true, "the purchase is gone");
        return;
    }
    if (u->line_req.max_unit_price_minor < 0 && u->line_req.max_quantity < 0) {
        ui_status(u, true, "cap needs a unit price or a quantity; not sent");
        return;
    }
    char limits[128], extra[160];
    format_cap(u->line_req.max_unit_price_minor, u->line_req.max_quantity, p->currency, limits,
               sizeof limits);
    snprintf(extra, sizeof extra, "cap: %s", limits);
    confirm_purchase_text(u, p, "Cap", extra);
    u->line_req.if_match_version = p->version;
    confirm(u, &u->line_req, p->version);
}

/* cap: asks price and quantity unless given. */
void actions_cap(ui *u, const char *id, const char *price, const char *qty)
{
    const model_purchase *p = target_purchase(u, id, true);
    if (!p)
        return;
    decision_req_init(&u->line_req, DEC_CAP, p->id);
    u->line_req.if_match_version = p->version;
    if (price) {
        if (strcmp(price, "-") != 0) {
            money_err e = money_parse(price, p->currency, &u->line_req.max_unit_price_minor);
            if (e != MONEY_OK) {
                ui_status(u, true, "cap price '%s': %s", price, money_strerror(e));
                return;
            }
        }
        if (qty) {
            char *end;
            long long q = strtoll(qty, &end, 10);
            if (*end || q <= 0) {
                ui_status(u, true, "cap quantity must be a whole number above 0");
                return;
            }
            u->line_req.max_quantity = q;
        }
        confirm_cap(u);
        return;
    }
    char prompt[200], unit[40];
    format_money(p->unit_price_minor, p->currency, unit, sizeof unit);
    snprintf(prompt, sizeof prompt, "cap %s  max unit price (now %s): ", p->id, unit);
    cmdline_start(u, LINE_CAP_PRICE, prompt);
}

/* refund: reason, then a confirmation. */
void actions_refund(ui *u, const char *id, const char *reason)
{
    const model_purchase *p = target_purchase(u, id, false);
    if (!p)
        return;
    if (p->status != PUR_SETTLED) {
        ui_status(u, true, "%s is %s: only a settled purchase can be refunded", p->id,
                  model_purchase_status_label(p));
        return;
    }
    decision_req_init(&u->line_req, DEC_REFUND, p->id);
    u->line_req.if_match_version = p->version;
    if (reason && reason[0]) {
        snprintf(u->line_req.reason, sizeof u->line_req.reason, "%s", reason);
        char extra[300];
        snprintf(extra, sizeof extra, "reason: %s", reason);
        confirm_purchase_text(u, p, "Refund", extra);
        confirm(u, &u->line_req, p->version);
        return;
    }
    char prompt[200];
    snprintf(prompt, sizeof prompt, "refund %s  reason: ", p->id);
    cmdline_start(u, LINE_REFUND_REASON, prompt);
}

/* pause or resume an agent. */
void actions_pause(ui *u, const char *id, const char *reason, int force_resume)
{
    const model_agent *a = subject_of(u, id, MODEL_AGENT);
    if (!a) {
        ui_status(u, true, "select an agent first (pane 6)");
        return;
    }
    char who[96];
    agent_label(u, a, who, sizeof who);
    if (a->status_raw[0] && force_resume <= 0 && !(reason && reason[0])) {
        /* p toggles; for a status it does not know, the console does not guess which way */
        ui_status(u, true, "%s is %s, a status this console does not know: use :pause or :resume",
                  who, a->status_raw);
        return;
    }
    if (force_resume > 0 && !a->paused && !a->status_raw[0]) {
        ui_status(u, true, "%s is active: nothing to resume", who);
        return;
    }
    if (a->paused || force_resume > 0) { /* money may move again: asked like the fleet's resume */
        decision_req r;
        decision_req_init(&r, DEC_RESUME, a->id);
        r.if_match_version = a->version;
        snprintf(u->confirm_title, sizeof u->confirm_title, "Resume agent %s", who);
        u->confirm_n = 0;
        snprintf(u->confirm_lines[u->confirm_n++], 256, "%s may negotiate and spend again", who);
        snprintf(u->confirm_lines[u->confirm_n++], 256, "%s", "");
        snprintf(u->confirm_lines[u->confirm_n++], 256, "Resume?   y yes    N no (default)");
        confirm(u, &r, 0);
        return;
    }
    decision_req_init(&u->line_req, DEC_PAUSE, a->id);
    u->line_req.if_match_version = a->version;
    char prompt[300];
    snprintf(prompt, sizeof prompt, "pause %s  reason: ", who);
    send_or_ask(u, reason, "pausing…", LINE_PAUSE_REASON, prompt);
}

/* The resume box of a halted fleet f: which halt it lifts (its reason, who and when,
 * sanitised and without marks), bound to the version shown (If-Match: a later halt made
 * for another reason answers 412). */
static void confirm_fleet_resume(ui *u, const model_fleet *f)
{
    decision_req r;
    decision_req_init(&r, DEC_FLEET_RESUME, "");
    r.if_match_version = f->version;
    char by[48], why[400], reason[176], when[16] = "?"; /* the line fits its 256 bytes */
    text_strip_marks(f->by.s ? f->by.s : "?", why, sizeof why);
    text_truncate(why, 32, u->mode_text, by, sizeof by);
    text_strip_marks(f->reason.s ? f->reason.s : "no reason given", why, sizeof why);
    text_truncate(why, 60, u->mode_text, reason, sizeof reason);
    if (f->updated_at)
        format_clock(f->updated_at, when, sizeof when);
    snprintf(u->confirm_title, sizeof u->confirm_title, "Resume the fleet (version %lld)",
             (long long)f->version);
    u->confirm_n = 0;
    snprintf(u->confirm_lines[u->confirm_n++], 256, "halted by %s at %s: %s", by, when, reason);
    snprintf(u->confirm_lines[u->confirm_n++], 256, "every agent may trade again");
    snprintf(u->confirm_lines[u->confirm_n++], 256, "%s", "");
    snprintf(u->confirm_lines[u->confirm_n++], 256, "Resume?   y yes    N no (default)");
    confirm(u, &r, 0);
}

/* Asks for the word before a halt with reason (u->line_req holds the halt: the fleet's
 * or a scoped one). */
static void confirm_halt(ui *u, const char *reason)
{
    snprintf(u->line_req.reason, sizeof u->line_req.reason, "%s", reason);
    cmdline_start(u, LINE_HALT_CONFIRM,
                  u->line_req.action == DEC_HALT_SCOPE ? "type halt to stop what it names: "
                                                       : "type halt to stop every agent: ");
}

/* The scopes H offers for the selection (docs/api.md, "Halt"): the category of its
 * listing, its seller, and the principal of its agent (a purchase's or a thread's
 * buyer); "" where there is none. Texts are as shown, without the sanitiser's marks. */
static void halt_scopes(ui *u, char scope[3][201])
{
    static const char *const none = "";
    model_kind kind;
    const void *row = panes_selected(u, &kind);
    const char *lid = none, *sid = none, *aid = none;
    if (row && kind == MODEL_PURCHASE) {
        const model_purchase *p = row;
        lid = p->listing_id, sid = p->seller_id, aid = p->buyer_id;
    } else if (row && kind == MODEL_NEGOTIATION) {
        const model_negotiation *n = row;
        lid = n->listing_id, sid = n->seller_id, aid = n->buyer_id;
    } else if (row && kind == MODEL_LISTING) {
        lid = ((const model_listing *)row)->id, sid = ((const model_listing *)row)->seller_id;
    } else if (row && kind == MODEL_AGENT) {
        const model_agent *a = row;
        aid = a->id, sid = a->seller ? a->id : none;
    }
    const model_listing *l = lid[0] ? store_listing(u->st, lid) : NULL;
    const model_agent *a = aid[0] ? store_agent(u->st, aid) : NULL;
    scope[0][0] = scope[2][0] = '\0';
    if (l && l->category.s)
        text_strip_marks(l->category.s, scope[0], 201);
    snprintf(scope[1], 201, "%s", sid);
    if (a && a->principal.s)
        text_strip_marks(a->principal.s, scope[2], 201);
}

static const char *const scope_keys[3] = {"categories", "sellers", "principals"};
static const char *const scope_words[3] = {"category", "seller", "principal"};

/* H with a selection: asks what to halt, the fleet or one of the selection's scopes. */
static void ask_halt_scope(ui *u, char scope[3][201])
{
    char prompt[400], shown[3][100];
    for (int i = 0; i < 3; i++)
        text_truncate(scope[i], 30, u->mode_text, shown[i], sizeof shown[i]);
    int n = snprintf(prompt, sizeof prompt, "halt what?  f the fleet");
    for (int i = 0; i < 3; i++)
        if (scope[i][0] && n > 0 && (size_t)n < sizeof prompt)
            n += snprintf(prompt + n, sizeof prompt - (size_t)n, "  %c %s %s", scope_words[i][0],
                          scope_words[i], shown[i]);
    snprintf(prompt + n, n > 0 && (size_t)n < sizeof prompt ? sizeof prompt - (size_t)n : 0, ": ");
    cmdline_start(u, LINE_HALT_SCOPE, prompt);
}

/* The answer to "halt what?": f (or nothing) the fleet, c, s or p a scope offered. */
static void halt_scope_chosen(ui *u, const char *line)
{
    char scope[3][201], prompt[300], shown[100];
    halt_scopes(u, scope);
    if (!line[0] || !strcmp(line, "f")) {
        cmdline_start(u, LINE_HALT_REASON, "HALT THE FLEET  reason: ");
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (line[0] == scope_words[i][0] && !line[1] && scope[i][0]) {
            decision_req_init(&u->line_req, DEC_HALT_SCOPE, "");
            snprintf(u->line_req.scope_key, sizeof u->line_req.scope_key, "%s", scope_keys[i]);
            snprintf(u->line_req.scope_value, sizeof u->line_req.scope_value, "%s", scope[i]);
            text_truncate(scope[i], 40, u->mode_text, shown, sizeof shown);
            snprintf(prompt, sizeof prompt, "HALT %s %s  reason: ", scope_words[i], shown);
            cmdline_start(u, LINE_HALT_REASON, prompt);
            return;
        }
    }
    ui_status(u, true, "not halted: answer f, or a letter offered; nothing was sent");
}

/* halt the fleet (or resume it). A halt is bound to the version of the running fleet
 * seen when it was asked for (If-Match). */
void actions_halt(ui *u, const char *reason)
{
    const model_fleet *f = store_fleet(u->st);
    if (f && f->halted) {
        confirm_fleet_resume(u, f);
        return;
    }
    decision_req_init(&u->line_req, DEC_HALT, "");
    u->line_req.if_match_version = f ? f->version : 0;
    if (reason && reason[0]) { /* H's reason or ":halt REASON": then the word, for both */
        confirm_halt(u, reason);
        return;
    }
    char scope[3][201];
    halt_scopes(u, scope);
    if (!reason && (scope[0][0] || scope[1][0] || scope[2][0])) { /* the key, on a row */
        ask_halt_scope(u, scope);
        return;
    }
    cmdline_start(u, LINE_HALT_REASON, "HALT THE FLEET  reason: ");
}

/* acknowledge an alert. */
void actions_ack(ui *u, const char *id, const char *note)
{
    const model_alert *a = subject_of(u, id, MODEL_ALERT);
    if (!a) {
        ui_status(u, true, "select an alert first (pane 5)");
        return;
    }
    if (a->status == ALERT_ACKED) {
        ui_status(u, true, "%s is already acknowledged", a->id);
        return;
    }
    decision_req r;
    decision_req_init(&r, DEC_ACK, a->id);
    r.if_match_version = a->version;
    if (note)
        snprintf(r.reason, sizeof r.reason, "%s", note);
    send_decision(u, &r, "acking…");
}

/* Moves within the table, or scrolls the detail when it fills the screen. */
static void move_sel(ui *u, long delta, bool absolute)
{
    ui_pane *pn = &u->panes[u->pane];
    if (ui_layout_of(u, getmaxy(stdscr), getmaxx(stdscr)).detail_full) {
        if (absolute)
            pn->detail_scroll = delta < 0 ? 0 : 100000;
        else
            pn->detail_scroll += (int)delta;
        if (pn->detail_scroll < 0)
            pn->detail_scroll = 0;
    } else {
        if (absolute) {
            /* to an end of the order as ranked now, not of rows held in place around a
             * resting cursor (pane_ops.hold) */
            panes_refresh(u, u->pane, true);
            widget_table_move(&pn->table,
                              delta < 0 ? -(long)pn->table.nrows : (long)pn->table.nrows);
        } else
            widget_table_move(&pn->table, delta);
        pn->detail_scroll = 0;
        panes_note_selection(u, u->pane); /* the selection is an object, not a row number */
        if (pn->hist == PAGE_FAILED)
            pn->retry = true; /* a move asks a failed history read again */
    }
    u->dirty = true;
}

/* A movement key of the table (commands.c); see ui.h. */
void actions_move(ui *u, int how)
{
    const ui_pane *pn = &u->panes[u->pane];
    long page = pn->table.page > 1 ? pn->table.page - 1 : 1;
    switch ((ui_move)how) {
        case MOVE_UP: move_sel(u, -1, false); break;
        case MOVE_DOWN: move_sel(u, 1, false); break;
        case MOVE_PAGE_UP: move_sel(u, -page, false); break;
        case MOVE_PAGE_DOWN: move_sel(u, page, false); break;
        case MOVE_HOME: move_sel(u, -1, true); break;
        case MOVE_END: move_sel(u, 1, true); break;
    }
}

/* Switches the pane; see ui.h. */
void actions_switch_pane(ui *u, int p)
{
    u->pane = (p + PANE_COUNT) % PANE_COUNT;
    panes_refresh(u, u->pane, false);
    ui_status_clear(u); /* a message about the last pane does not follow to this one */
    u->dirty = true;
}

/* Parses an optional whole quantity; returns false on garbage. */
static bool parse_qty(const char *s, int64_t *out)
{
    while (*s == ' ')
        s++;
    if (!*s) {
        *out = -1;
        return true;
    }
    char *end;
    errno = 0;
    long long q = strtoll(s, &end, 10);
    while (*end == ' ')
        end++;
    if (*end || errno || q <= 0)
        return false;
    *out = q;
    return true;
}

/* Handles the answer to a prompt; see ui.h. */
void actions_line_done(ui *u, const char *line)
{
    if (!line) {
        if (u->line_purpose != LINE_COMMAND)
            ui_status(u, false, "cancelled: nothing was sent");
        return;
    }
    /* the prompts that ask for a reason, and what an empty answer says */
    static const char *const needs_reason[] = {
        [LINE_VETO_REASON] = "a veto needs a reason; nothing was sent",
        [LINE_REFUND_REASON] = "a refund needs a reason; nothing was sent",
        [LINE_PAUSE_REASON] = "a pause needs a reason; nothing was sent",
        [LINE_HALT_REASON] = "a halt needs a reason; the fleet keeps running",
        [LINE_BATCH_VETO_REASON] = "a veto needs a reason; nothing was sent",
        [LINE_DISPUTE_REASON] = "a resolution needs a reason; nothing was sent",
    };
    if (!line[0] && (size_t)u->line_purpose < sizeof needs_reason / sizeof needs_reason[0] &&
        needs_reason[u->line_purpose]) {
        ui_status(u, true, "%s", needs_reason[u->line_purpose]);
        return;
    }
    switch (u->line_purpose) {
        case LINE_COMMAND: commands_run(u, line); break;
        case LINE_VETO_REASON: send_reason(u, line, "vetoing…"); break;
        case LINE_CAP_PRICE: {
            const model_purchase *p = store_purchase(u->st, u->line_req.subject_id);
            if (!p)
                return;
            if (line[0]) {
                money_err e = money_parse(line, p->currency, &u->line_req.max_unit_price_minor);
                if (e != MONEY_OK) {
                    ui_status(u, true, "unit price: %s; nothing was sent", money_strerror(e));
                    return;
                }
            }
            char prompt[200];
            snprintf(prompt, sizeof prompt, "cap %s  max quantity (now %lld): ", p->id,
                     (long long)p->quantity);
            cmdline_start(u, LINE_CAP_QTY, prompt);
            break;
        }
        case LINE_CAP_QTY:
            if (!parse_qty(line, &u->line_req.max_quantity)) {
                ui_status(u, true, "quantity must be a whole number above 0; nothing was sent");
                return;
            }
            confirm_cap(u);
            break;
        case LINE_REFUND_REASON: actions_refund(u, u->line_req.subject_id, line); break;
        case LINE_PAUSE_REASON: send_reason(u, line, "pausing…"); break;
        case LINE_BATCH_VETO_REASON: batch_decide(u, DEC_VETO, line); break;
        case LINE_HALT_SCOPE: halt_scope_chosen(u, line); break;
        case LINE_DISPUTE_AMOUNT:
        case LINE_DISPUTE_REASON: disputes_line_done(u, line); break;
        case LINE_HALT_REASON: confirm_halt(u, line); break; /* the version H saw */
        case LINE_HALT_CONFIRM:
            if (strcmp(line, "halt") != 0) {
                ui_status(u, true, "not halted: you typed something other than 'halt'");
                return;
            }
            send_decision(u, &u->line_req, "halting…");
            break;
    }
}

/* Handles a key in a confirmation: y sends, anything else cancels (default no). */
void actions_confirm_key(ui *u, wint_t ch, bool is_key)
{
    u->mode = MODE_BROWSE;
    u->dirty = true;
    if (u->batch.boxed) {
        batch_confirm(u, !is_key && (ch == 'y' || ch == 'Y'));
        return;
    }
    if (!is_key && (ch == 'y' || ch == 'Y')) {
        const char *label = "deciding…";
        switch (u->confirm_req.action) {
            case DEC_APPROVE: label = "approving…"; break;
            case DEC_CAP: label = "capping…"; break;
            case DEC_REFUND: label = "refunding…"; break;
            case DEC_RESUME:
            case DEC_FLEET_RESUME: label = "resuming…"; break;
            case DEC_POLICY_ENABLE: label = "enabling…"; break;
            case DEC_POLICY_DISABLE: label = "disabling…"; break;
            case DEC_POLICY_REPLACE: label = "changing…"; break;
            case DEC_RESOLVE: label = "resolving…"; break;
            default: break;
        }
        send_decision(u, &u->confirm_req, label);
    } else {
        decision_action ca = u->confirm_req.action;
        ui_status(u, false, "not %s: nothing was sent",
                  ca == DEC_APPROVE                            ? "approved"
                  : ca == DEC_CAP                              ? "capped"
                  : ca == DEC_RESUME || ca == DEC_FLEET_RESUME ? "resumed"
                  : ca == DEC_RESOLVE                          ? "resolved"
                                                               : "done");
    }
}
