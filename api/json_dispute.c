/* json_dispute.c: the Dispute of issue 17 decoded (docs/api.md, Disputes), with json.c's field
 * readers (json_int.h): every text sanitised, every amount an integer within money_in_range in
 * the dispute's currency, a status, reason or outcome this build does not know kept as sent;
 * and a dispute's evidence (api/evidence.h) printed as one line of JSON for `dealdesk
 * disputes show --json`. */
#include "api/json.h"
#include "api/json_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/evidence.h"
#include "api/money.h"

/* A table of model.h's names and its length, as jc_get_enum_raw takes them. */
#define NAMES(table) (table), MODEL_NAMES_COUNT(table)

/* One response {by, text, offer_minor|null, at}. */
static int dec_response(jctx *c, json_t *o, model_dispute_response *r)
{
    if (!json_is_object(o))
        return jc_fail(c, "responses: not an object");
    return jc_get_text(c, o, "by", &r->by, false) < 0 ||
                   jc_get_text(c, o, "text", &r->text, true) < 0 ||
                   jc_get_money(c, o, "offer_minor", &r->offer_minor, true) < 0 ||
                   jc_get_time(c, o, "at", &r->at, true) < 0
               ? -1
               : 0;
}

/* `responses` (every one, in order), or, from a server that sends only `response`, that
 * one. */
static int dec_responses(jctx *c, json_t *o, model_dispute *d)
{
    json_t *list = json_object_get(o, "responses"), *one = json_object_get(o, "response");
    json_t *single = NULL;
    if (!list || json_is_null(list)) {
        if (!one || json_is_null(one))
            return 0;
        single = json_array();
        json_array_append(single, one);
        list = single;
    }
    int rc = 0;
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n > MODEL_DISPUTE_RESPONSES_MAX)
        rc = jc_fail(c, "responses: not an array of at most %d", MODEL_DISPUTE_RESPONSES_MAX);
    else if (n && !(d->responses = calloc(n, sizeof *d->responses)))
        rc = jc_fail(c, "responses: out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        d->nresponses++;
        rc = dec_response(c, json_array_get(list, i), &d->responses[i]);
    }
    json_decref(single);
    return rc;
}

/* resolution {outcome, amount_minor, reason, by, at, via} | null */
static int dec_resolution(jctx *c, json_t *o, model_dispute *d)
{
    json_t *r = json_object_get(o, "resolution");
    if (!r || json_is_null(r))
        return 0;
    if (!json_is_object(r))
        return jc_fail(c, "resolution: not an object");
    int outcome = 0;
    d->resolved = true;
    if (jc_get_enum_raw(c, r, "outcome", NAMES(model_dispute_outcome_names), DSP_OUTCOME_UNKNOWN,
                        &outcome, d->outcome_raw) < 0 ||
        jc_get_money(c, r, "amount_minor", &d->resolved_minor, true) < 0 ||
        jc_get_text(c, r, "reason", &d->resolution_reason, true) < 0 ||
        jc_get_text(c, r, "by", &d->resolved_by, true) < 0 ||
        jc_get_time(c, r, "at", &d->resolved_at, true) < 0)
        return -1;
    d->outcome = (model_dispute_outcome)outcome;
    if (d->resolved_minor < 0)
        d->resolved_minor = 0;
    jc_safe_copy(json_object_get(r, "via"), c->mode, d->via, sizeof d->via);
    return 0;
}

int jc_dec_dispute(jctx *c, json_t *o, model_dispute *d)
{
    int status = 0, reason = 0;
    json_t *un = json_object_get(o, "unanswered");
    if (jc_get_id(c, o, "id", "dsp_", d->id, false) < 0 ||
        jc_get_int(c, o, "version", 1, INT64_MAX, &d->version, false, 0) < 0 ||
        jc_get_time(c, o, "updated_at", &d->updated_at, false) < 0 ||
        jc_get_id(c, o, "purchase_id", "pur_", d->purchase_id, false) < 0 ||
        jc_get_id(c, o, "negotiation_id", "neg_", d->negotiation_id, true) < 0 ||
        jc_get_id(c, o, "buyer_id", "agt_", d->buyer_id, false) < 0 ||
        jc_get_id(c, o, "seller_id", "agt_", d->seller_id, false) < 0 ||
        jc_get_text(c, o, "opened_by", &d->opened_by, false) < 0 ||
        jc_get_enum_raw(c, o, "reason", NAMES(model_dispute_reason_names), DSP_REASON_UNKNOWN,
                        &reason, d->reason_raw) < 0 ||
        jc_get_money(c, o, "claim_minor", &d->claim_minor, false) < 0 ||
        jc_get_currency(c, o, "currency", d->currency) < 0 ||
        jc_get_text(c, o, "text", &d->text, true) < 0 ||
        jc_get_enum_raw(c, o, "status", NAMES(model_dispute_status_names), DSP_UNKNOWN, &status,
                        d->status_raw) < 0 ||
        jc_get_time(c, o, "respond_by", &d->respond_by, true) < 0 ||
        jc_get_time(c, o, "created_at", &d->created_at, true) < 0)
        return -1;
    if (un && !json_is_null(un) && !json_is_boolean(un))
        return jc_fail(c, "unanswered: not a boolean");
    d->unanswered = json_is_true(un);
    d->reason = (model_dispute_reason)reason;
    d->status = (model_dispute_status)status;
    return dec_responses(c, o, d) < 0 ? -1 : dec_resolution(c, o, d);
}

/* An amount or count of the facts: null when not known (-1). */
static json_t *known(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

/* The facts of an evidence as an object (evidence.h, evidence_facts). */
static json_t *facts_json(const evidence_facts *f)
{
    json_t *o = json_object();
    const struct {
        const char *key;
        int64_t v;
    } nums[] = {{"claim_minor", f->claim_minor},
                {"offer_minor", f->offer_minor},
                {"total_minor", f->total_minor},
                {"refunded_minor", f->refunded_minor},
                {"refundable_minor", f->refundable_minor},
                {"bought_quantity", f->bought_qty},
                {"bought_unit_price_minor", f->bought_unit_minor},
                {"agreed_quantity", f->agreed_qty},
                {"agreed_unit_price_minor", f->agreed_unit_minor},
                {"agreed_total_minor", f->agreed_total_minor},
                {"flags_critical", (int64_t)f->flags_critical},
                {"flags_warning", (int64_t)f->flags_warning},
                {"messages", (int64_t)f->messages},
                {"messages_marked", (int64_t)f->marked},
                {"buyer_opened", f->buyer_opened},
                {"buyer_opened_refunded", f->buyer_opened_refunded},
                {"buyer_opened_rejected", f->buyer_opened_rejected},
                {"seller_against", f->seller_against},
                {"seller_against_refunded", f->seller_against_refunded},
                {"seller_against_rejected", f->seller_against_rejected}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        json_object_set_new(o, nums[i].key, known(nums[i].v));
    json_object_set_new(o, "quantity_differs", json_boolean(f->qty_differs));
    json_object_set_new(o, "unit_price_differs", json_boolean(f->price_differs));
    json_object_set_new(o, "ship_to_unverified", json_boolean(f->ship_to_unverified));
    json_t *rules = json_array();
    for (size_t i = 0; i < f->nflag_rules; i++)
        json_array_append_new(rules, json_string(f->flag_rules[i]));
    json_object_set_new(o, "flag_rules", rules);
    return o;
}

int json_print_evidence(FILE *f, const model_dispute *d, const evidence *e)
{
    static const char *const marks[] = {
        [EVM_PLAIN] = "plain", [EVM_HEAD] = "head", [EVM_MATTERS] = "matters", [EVM_WARN] = "warn",
        [EVM_CRIT] = "crit",   [EVM_DIM] = "dim",   [EVM_MONEY] = "money"};
    json_t *lines = json_array();
    for (size_t i = 0; i < e->n; i++) {
        char plain[sizeof e->lines[i].text];
        text_strip_marks(e->lines[i].text, plain, sizeof plain);
        json_array_append_new(lines, json_pack("{ss ss ss}", "section", e->lines[i].section, "mark",
                                               marks[e->lines[i].mark], "text", plain));
    }
    json_t *o =
        json_pack("{ss sI ss ss ss so so}", "dispute", d->id, "version", (json_int_t)d->version,
                  "status", model_dispute_status_label(d), "reason", model_dispute_reason_label(d),
                  "currency", d->currency, "facts", facts_json(&e->f), "lines", lines);
    int rc = o ? jc_write_ascii(f, o) : -1;
    json_decref(o);
    if (rc == 0)
        fputc('\n', f);
    return rc == 0 && !ferror(f) ? 0 : -1;
}
