/* model.c: freeing the domain objects, and the one table of their enumerations' names. */
#include "api/model.h"

#include <stdlib.h>
#include <string.h>

/* Frees one text's string. */
static void text_free(model_text *t)
{
    free(t->s);
    t->s = NULL;
}

/* Frees an array of texts. */
static void texts_free(model_text *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].s);
    free(a);
}

void model_agent_clear(model_agent *a)
{
    text_free(&a->name);
    text_free(&a->principal);
    texts_free(a->categories, a->ncategories);
    texts_free(a->addresses, a->naddresses);
    memset(a, 0, sizeof *a);
}

void model_listing_clear(model_listing *l)
{
    text_free(&l->title);
    text_free(&l->description);
    text_free(&l->category);
    memset(l, 0, sizeof *l);
}

void model_message_clear(model_message *m)
{
    text_free(&m->text);
    memset(m, 0, sizeof *m);
}

void model_negotiation_clear(model_negotiation *n)
{
    for (size_t i = 0; i < n->nmessages; i++)
        model_message_clear(&n->messages[i]);
    free(n->messages);
    memset(n, 0, sizeof *n);
}

void model_purchase_clear(model_purchase *p)
{
    text_free(&p->ship_to);
    for (size_t i = 0; i < p->nflags; i++)
        text_free(&p->flags[i].detail);
    free(p->flags);
    text_free(&p->decision.by);
    text_free(&p->decision.reason);
    for (int i = 0; i < MODEL_APPROVALS_MAX; i++)
        text_free(&p->approved_by[i]);
    text_free(&p->claim_by);
    text_free(&p->policy.name);
    for (size_t i = 0; i < p->npolicy_shadow; i++)
        text_free(&p->policy_shadow[i].name);
    free(p->policy_shadow);
    memset(p, 0, sizeof *p);
}

const char *model_claimed_by_other(const model_purchase *p, const char *me, int64_t now_ms)
{
    if (!p->claim_by.s || p->claim_until <= now_ms || p->status != PUR_PENDING)
        return NULL;
    return me && strcmp(p->claim_by.s, me) == 0 ? NULL : p->claim_by.s;
}

bool model_awaits_approval_by(const model_purchase *p, const char *me)
{
    if (p->status != PUR_PENDING || p->approvals_required < 2 ||
        p->napprovals >= p->approvals_required)
        return false;
    for (int i = 0; i < p->napprovals && i < MODEL_APPROVALS_MAX; i++)
        if (me && p->approved_by[i].s && strcmp(p->approved_by[i].s, me) == 0)
            return false;
    return true;
}

void model_alert_clear(model_alert *a)
{
    text_free(&a->message);
    text_free(&a->acked_by);
    text_free(&a->resolved_by);
    free(a->purchase_ids);
    memset(a, 0, sizeof *a);
}

void model_decision_clear(model_decision *d)
{
    text_free(&d->by);
    text_free(&d->reason);
    memset(d, 0, sizeof *d);
}

void model_policy_clear(model_policy *p)
{
    text_free(&p->name);
    text_free(&p->reason);
    text_free(&p->match_text);
    free(p->def);
    memset(p, 0, sizeof *p);
}

void model_dispute_clear(model_dispute *d)
{
    text_free(&d->opened_by);
    text_free(&d->text);
    for (size_t i = 0; i < d->nresponses; i++) {
        text_free(&d->responses[i].by);
        text_free(&d->responses[i].text);
    }
    free(d->responses);
    text_free(&d->resolution_reason);
    text_free(&d->resolved_by);
    memset(d, 0, sizeof *d);
}

void model_fleet_clear(model_fleet *f)
{
    text_free(&f->reason);
    text_free(&f->by);
    memset(f, 0, sizeof *f);
}

void model_event_free(model_event *ev)
{
    switch (ev->kind) {
        case MODEL_AGENT: model_agent_clear(&ev->u.agent); break;
        case MODEL_LISTING: model_listing_clear(&ev->u.listing); break;
        case MODEL_NEGOTIATION: model_negotiation_clear(&ev->u.negotiation); break;
        case MODEL_MESSAGE: model_message_clear(&ev->u.message); break;
        case MODEL_PURCHASE: model_purchase_clear(&ev->u.purchase); break;
        case MODEL_ALERT: model_alert_clear(&ev->u.alert); break;
        case MODEL_LEDGER: break;
        case MODEL_DECISION: model_decision_clear(&ev->u.decision); break;
        case MODEL_FLEET: model_fleet_clear(&ev->u.fleet); break;
        case MODEL_CLAIM: text_free(&ev->u.claim.by); break;
        case MODEL_POLICY: model_policy_clear(&ev->u.policy); break;
        case MODEL_DISPUTE: model_dispute_clear(&ev->u.dispute); break;
        case MODEL_KIND_COUNT: break;
    }
    memset(ev, 0, sizeof *ev);
}

const model_policy_cond model_policy_conds[MODEL_POLICY_CONDS] = {
    {"total_min_minor", true}, {"total_max_minor", true}, {"unit_price_max_minor", true},
    {"risk_max", false},       {"max_per_hour", false},   {"max_spend_per_hour_minor", true}};

/* The one table of each enumeration's names (model.h). */
const char *const model_purchase_status_names[PUR_UNKNOWN] = {[PUR_PENDING] = "pending_approval",
                                                              [PUR_APPROVED] = "approved",
                                                              [PUR_SETTLED] = "settled",
                                                              [PUR_VETOED] = "vetoed",
                                                              [PUR_CAPPED] = "capped",
                                                              [PUR_EXPIRED] = "expired",
                                                              [PUR_REFUNDED] = "refunded",
                                                              [PUR_FAILED] = "failed"};
const char *const model_neg_status_names[NEG_UNKNOWN] = {
    [NEG_OPEN] = "open", [NEG_AGREED] = "agreed", [NEG_FAILED] = "failed",
    [NEG_HELD] = "held", [NEG_VETOED] = "vetoed", [NEG_EXPIRED] = "expired"};
const char *const model_listing_status_names[LISTING_UNKNOWN] = {
    [LISTING_OPEN] = "open", [LISTING_SOLD] = "sold", [LISTING_WITHDRAWN] = "withdrawn"};
const char *const model_msg_kind_names[MSG_UNKNOWN] = {
    [MSG_OFFER] = "offer",   [MSG_COUNTER] = "counter", [MSG_ACCEPT] = "accept",
    [MSG_REJECT] = "reject", [MSG_NOTE] = "note",       [MSG_SYSTEM] = "system"};
const char *const model_alert_status_names[ALERT_UNKNOWN] = {
    [ALERT_OPEN] = "open", [ALERT_ACKED] = "acked", [ALERT_RESOLVED] = "resolved"};
const char *const model_severity_names[SEV_CRITICAL + 1] = {
    [SEV_INFO] = "info", [SEV_WARNING] = "warning", [SEV_CRITICAL] = "critical"};
const char *const model_agent_role_names[2] = {"buyer", "seller"};
const char *const model_agent_status_names[2] = {"active", "paused"};
const char *const model_ledger_kind_names[2] = {"settlement", "refund"};
const char *const model_fleet_status_names[2] = {"running", "halted"};
const char *const model_kind_event_types[MODEL_KIND_COUNT] = {
    [MODEL_AGENT] = "agent.updated",
    [MODEL_LISTING] = "listing.updated",
    [MODEL_NEGOTIATION] = "negotiation.updated",
    [MODEL_MESSAGE] = "negotiation.message",
    [MODEL_PURCHASE] = "purchase.updated",
    [MODEL_ALERT] = "alert.updated",
    [MODEL_LEDGER] = "ledger.posted",
    [MODEL_DECISION] = "decision.recorded",
    [MODEL_FLEET] = "fleet.updated",
    [MODEL_CLAIM] = "claim.updated",
    [MODEL_POLICY] = "policy.updated",
    [MODEL_DISPUTE] = "dispute.updated"};
const char *const model_dispute_status_names[DSP_UNKNOWN] = {
    [DSP_OPEN] = "open", [DSP_RESPONDED] = "responded", [DSP_RESOLVED] = "resolved"};
const char *const model_dispute_reason_names[DSP_REASON_UNKNOWN] = {
    [DSP_NOT_RECEIVED] = "not_received",
    [DSP_NOT_AS_DESCRIBED] = "not_as_described",
    [DSP_WRONG_QUANTITY] = "wrong_quantity",
    [DSP_UNAUTHORIZED] = "unauthorized",
    [DSP_OTHER] = "other"};
const char *const model_dispute_outcome_names[DSP_OUTCOME_UNKNOWN] = {
    [DSP_REFUND] = "refund", [DSP_PARTIAL_REFUND] = "partial_refund", [DSP_REJECTED] = "rejected"};

/* names[v] of a table of n names, or "?" past it. */
static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

const char *model_kind_event_type(model_kind k)
{
    return name_of(model_kind_event_types, MODEL_KIND_COUNT, (int)k);
}

/* The raw value when one was kept, else the known name of v in a table. */
#define LABEL(raw, table, v) ((raw)[0] ? (raw) : name_of(table, MODEL_NAMES_COUNT(table), (int)(v)))

const char *model_purchase_status_label(const model_purchase *p)
{
    return LABEL(p->status_raw, model_purchase_status_names, p->status);
}

const char *model_neg_status_label(const model_negotiation *n)
{
    return LABEL(n->status_raw, model_neg_status_names, n->status);
}

const char *model_listing_status_label(const model_listing *l)
{
    return LABEL(l->status_raw, model_listing_status_names, l->status);
}

const char *model_msg_kind_label(const model_message *m)
{
    return LABEL(m->kind_raw, model_msg_kind_names, m->kind);
}

const char *model_flag_severity_label(const model_flag *f)
{
    return LABEL(f->severity_raw, model_severity_names, f->severity);
}

const char *model_alert_severity_label(const model_alert *a)
{
    return LABEL(a->severity_raw, model_severity_names, a->severity);
}

const char *model_alert_status_label(const model_alert *a)
{
    return LABEL(a->status_raw, model_alert_status_names, a->status);
}

const char *model_agent_role_label(const model_agent *a)
{
    return LABEL(a->role_raw, model_agent_role_names, a->seller);
}

const char *model_agent_status_label(const model_agent *a)
{
    return LABEL(a->status_raw, model_agent_status_names, a->paused);
}

const char *model_ledger_kind_label(const model_ledger_entry *e)
{
    return LABEL(e->kind_raw, model_ledger_kind_names, e->refund);
}

const char *model_dispute_status_label(const model_dispute *d)
{
    return LABEL(d->status_raw, model_dispute_status_names, d->status);
}

const char *model_dispute_reason_label(const model_dispute *d)
{
    return LABEL(d->reason_raw, model_dispute_reason_names, d->reason);
}

const char *model_dispute_outcome_label(const model_dispute *d)
{
    return d->resolved ? LABEL(d->outcome_raw, model_dispute_outcome_names, d->outcome) : "";
}
