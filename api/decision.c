/* decision.c: decision requests as data: names, checks and paths (see decision.h). */
#include "api/decision.h"

#include <stdio.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

/* One row per action: its name, the collection and verb of its path, the id prefix of
 * its subject ("" for the fleet), and whether a reason is required. */
static const struct action_info {
    const char *name;
    const char *collection;
    const char *verb;
    const char *prefix;
    bool needs_reason;
} actions[DEC_ACTION_COUNT] = {
    [DEC_APPROVE] = {"approve", "purchases", "approve", "pur_", false},
    [DEC_VETO] = {"veto", "purchases", "veto", "pur_", true},
    [DEC_CAP] = {"cap", "purchases", "cap", "pur_", false},
    [DEC_REFUND] = {"refund", "purchases", "refund", "pur_", true},
    [DEC_NEG_CAP] = {"neg_cap", "negotiations", "cap", "neg_", false},
    [DEC_NEG_HOLD] = {"hold", "negotiations", "hold", "neg_", true},
    [DEC_NEG_RELEASE] = {"release", "negotiations", "release", "neg_", false},
    [DEC_NEG_VETO] = {"neg_veto", "negotiations", "veto", "neg_", true},
    [DEC_PAUSE] = {"pause", "agents", "pause", "agt_", true},
    [DEC_RESUME] = {"resume", "agents", "resume", "agt_", false},
    [DEC_LIMITS] = {"limits", "agents", "limits", "agt_", false},
    [DEC_HALT] = {"halt", "fleet", "halt", "", true},
    [DEC_FLEET_RESUME] = {"fleet_resume", "fleet", "resume", "", false},
    [DEC_ACK] = {"ack", "alerts", "ack", "alr_", false},
    [DEC_HALT_SCOPE] = {"halt_scope", "halts", "", "", true}, /* POST /v1/halts */
    [DEC_RESOLVE] = {"resolve", "disputes", "resolve", "dsp_", true},
    [DEC_POLICY_ENABLE] = {"policy_enable", "policies", "enable", "pol_", false},
    [DEC_POLICY_DISABLE] = {"policy_disable", "policies", "disable", "pol_", false},
    [DEC_POLICY_REPLACE] = {"policy_replace", "policies", "", "pol_",
                            false}, /* POST /v1/policies/{id} */
};

void decision_req_init(decision_req *r, decision_action action, const char *subject_id)
{
    memset(r, 0, sizeof *r);
    r->action = action;
    if (subject_id)
        snprintf(r->subject_id, sizeof r->subject_id, "%s", subject_id);
    r->max_unit_price_minor = r->max_quantity = r->amount_minor = -1;
    r->limits.spend_cap_minor = r->limits.per_deal_max_minor = -1;
    r->limits.approval_threshold_minor = r->limits.max_quantity = -1;
}

const char *decision_action_name(decision_action a)
{
    return (unsigned)a < DEC_ACTION_COUNT ? actions[a].name : "?";
}

const char *decision_action_verb(decision_action a)
{
    if ((unsigned)a >= DEC_ACTION_COUNT)
        return "?";
    return actions[a].verb[0] ? actions[a].verb : "change"; /* a replacement's path has none */
}

int decision_action_from_name(const char *name)
{
    for (int i = 0; i < DEC_ACTION_COUNT; i++)
        if (strcmp(name, actions[i].name) == 0)
            return i;
    return -1;
}

model_kind decision_subject_kind(decision_action a)
{
    if ((unsigned)a >= DEC_ACTION_COUNT)
        return MODEL_KIND_COUNT;
    const char *p = actions[a].prefix;
    if (!strcmp(p, "pur_"))
        return MODEL_PURCHASE;
    if (!strcmp(p, "neg_"))
        return MODEL_NEGOTIATION;
    if (!strcmp(p, "agt_"))
        return MODEL_AGENT;
    if (!strcmp(p, "alr_"))
        return MODEL_ALERT;
    if (!strcmp(p, "pol_"))
        return MODEL_POLICY;
    if (!strcmp(p, "dsp_"))
        return MODEL_DISPUTE;
    return MODEL_FLEET;
}

/* A dispute's resolution (docs/api.md, Disputes): refund returns the claim and rejected
 * nothing (no amount), partial_refund the amount given (1 minor unit or more; the server
 * checks it against the claim). True after the message when it is not one. */
static bool resolve_invalid(const decision_req *r, char *err, size_t errsz)
{
    bool partial = strcmp(r->outcome, "partial_refund") == 0;
    if (!partial && strcmp(r->outcome, "refund") != 0 && strcmp(r->outcome, "rejected") != 0) {
        snprintf(err, errsz, "resolve needs an outcome: refund, partial_refund or rejected");
        return true;
    }
    if (partial && (r->amount_minor <= 0 || !money_in_range(r->amount_minor))) {
        snprintf(err, errsz, "a partial refund needs an amount above zero");
        return true;
    }
    if (!partial && r->amount_minor >= 0) {
        snprintf(err, errsz, "only a partial refund takes an amount");
        return true;
    }
    return false;
}

int decision_validate(const decision_req *r, char *err, size_t errsz)
{
    if ((unsigned)r->action >= DEC_ACTION_COUNT) {
        snprintf(err, errsz, "unknown action");
        return -1;
    }
    const struct action_info *a = &actions[r->action];
    if (a->prefix[0] && !text_valid_id(r->subject_id, a->prefix)) {
        snprintf(err, errsz, "%s needs a %s id", a->name, a->prefix);
        return -1;
    }
    if (!a->prefix[0] && r->subject_id[0]) {
        snprintf(err, errsz, "%s takes no subject", a->name);
        return -1;
    }
    if (a->needs_reason && r->reason[0] == '\0') {
        snprintf(err, errsz, "%s needs a reason", a->name);
        return -1;
    }
    if (strlen(r->reason) > 500) {
        snprintf(err, errsz, "the reason is longer than 500 characters");
        return -1;
    }
    if (r->action == DEC_POLICY_REPLACE &&
        (r->policy[0] != '{' || !memchr(r->policy, '\0', sizeof r->policy))) {
        snprintf(err, errsz, "replace needs the policy");
        return -1;
    }
    if (r->if_match_version < 0) {
        snprintf(err, errsz, "bad version");
        return -1;
    }
    if (r->action == DEC_APPROVE && !money_in_range(r->expected_total_minor)) {
        snprintf(err, errsz, "approve needs the expected total");
        return -1;
    }
    if (r->action == DEC_CAP || r->action == DEC_NEG_CAP) {
        if (r->max_unit_price_minor < 0 && r->max_quantity < 0) {
            snprintf(err, errsz, "a cap needs a max unit price or a max quantity");
            return -1;
        }
        if (r->max_unit_price_minor > MONEY_MAX_MINOR || r->max_quantity > MONEY_MAX_MINOR) {
            snprintf(err, errsz, "cap out of range");
            return -1;
        }
    }
    if (r->action == DEC_HALT_SCOPE &&
        (!r->scope_value[0] ||
         (strcmp(r->scope_key, "categories") != 0 && strcmp(r->scope_key, "sellers") != 0 &&
          strcmp(r->scope_key, "principals") != 0))) {
        snprintf(err, errsz, "a scoped halt needs a category, a seller or a principal");
        return -1;
    }
    if (r->action == DEC_RESOLVE && resolve_invalid(r, err, errsz))
        return -1;
    if (r->action == DEC_LIMITS) {
        const int64_t v[] = {r->limits.spend_cap_minor, r->limits.per_deal_max_minor,
                             r->limits.approval_threshold_minor, r->limits.max_quantity};
        bool any = false;
        for (size_t i = 0; i < 4; i++) {
            if (v[i] > MONEY_MAX_MINOR) {
                snprintf(err, errsz, "limit out of range");
                return -1;
            }
            any |= v[i] >= 0;
        }
        if (!any) {
            snprintf(err, errsz, "limits needs at least one limit");
            return -1;
        }
    }
    return 0;
}

int decision_path(const decision_req *r, char *out, size_t size)
{
    return decision_path_of(r->action, r->subject_id, out, size);
}

int decision_path_of(decision_action action, const char *subject, char *out, size_t size)
{
    if ((unsigned)action >= DEC_ACTION_COUNT)
        return -1;
    const struct action_info *a = &actions[action];
    int n = a->prefix[0] && a->verb[0]
                ? snprintf(out, size, "/v1/%s/%s/%s", a->collection, subject, a->verb)
            : a->prefix[0] ? snprintf(out, size, "/v1/%s/%s", a->collection, subject)
            : a->verb[0]   ? snprintf(out, size, "/v1/%s/%s", a->collection, a->verb)
                           : snprintf(out, size, "/v1/%s", a->collection);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

void decision_outcome_free(decision_outcome *o)
{
    if (o->has_current)
        model_event_free(&o->current);
    o->has_current = false;
}
