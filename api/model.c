/* model.c: freeing the domain objects, and the names of their enumerations. */
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
    memset(p, 0, sizeof *p);
}

void model_alert_clear(model_alert *a)
{
    text_free(&a->message);
    text_free(&a->acked_by);
    memset(a, 0, sizeof *a);
}

void model_decision_clear(model_decision *d)
{
    text_free(&d->by);
    text_free(&d->reason);
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
        case MODEL_KIND_COUNT: break;
    }
    memset(ev, 0, sizeof *ev);
}

const char *model_purchase_status_name(model_purchase_status s)
{
    static const char *const names[] = {"pending_approval", "approved", "settled",  "vetoed",
                                        "capped",           "expired",  "refunded", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *model_neg_status_name(model_neg_status s)
{
    static const char *const names[] = {"open", "agreed", "failed", "held", "vetoed", "expired"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *model_listing_status_name(model_listing_status s)
{
    static const char *const names[] = {"open", "sold", "withdrawn"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *model_msg_kind_name(model_msg_kind k)
{
    static const char *const names[] = {"offer", "counter", "accept", "reject", "note", "system"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

const char *model_severity_name(model_severity s)
{
    static const char *const names[] = {"info", "warning", "critical"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *model_kind_event_type(model_kind k)
{
    static const char *const names[] = {
        "agent.updated",       "listing.updated",   "negotiation.updated",
        "negotiation.message", "purchase.updated",  "alert.updated",
        "ledger.posted",       "decision.recorded", "fleet.updated"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* The raw value when one was kept, else the known name. */
static const char *label(const char *raw, const char *name)
{
    return raw[0] ? raw : name;
}

const char *model_purchase_status_label(const model_purchase *p)
{
    return label(p->status_raw, model_purchase_status_name(p->status));
}

const char *model_neg_status_label(const model_negotiation *n)
{
    return label(n->status_raw, model_neg_status_name(n->status));
}

const char *model_listing_status_label(const model_listing *l)
{
    return label(l->status_raw, model_listing_status_name(l->status));
}

const char *model_msg_kind_label(const model_message *m)
{
    return label(m->kind_raw, model_msg_kind_name(m->kind));
}

const char *model_flag_severity_label(const model_flag *f)
{
    return label(f->severity_raw, model_severity_name(f->severity));
}

const char *model_alert_severity_label(const model_alert *a)
{
    return label(a->severity_raw, model_severity_name(a->severity));
}

const char *model_alert_status_label(const model_alert *a)
{
    return label(a->status_raw, a->status == ALERT_ACKED ? "acked" : "open");
}

const char *model_agent_role_label(const model_agent *a)
{
    return label(a->role_raw, a->seller ? "seller" : "buyer");
}

const char *model_agent_status_label(const model_agent *a)
{
    return label(a->status_raw, a->paused ? "paused" : "active");
}

const char *model_ledger_kind_label(const model_ledger_entry *e)
{
    return label(e->kind_raw, e->refund ? "refund" : "settlement");
}
