/* decision.h: operator decisions as data: what is asked, and what the server answered.
 *
 * A decision_req names an action on one subject; decision_path() and the JSON encoder
 * (api/json.h, json_decision_body) turn it into the request. The client (api/client.h)
 * journals it, sends it with its Idempotency-Key and If-Match, and hands back a
 * decision_outcome.
 */
#ifndef DEALDESK_API_DECISION_H
#define DEALDESK_API_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/model.h"

typedef enum decision_action {
    DEC_APPROVE,        /* purchases/{id}/approve {expected_total_minor} */
    DEC_VETO,           /* purchases/{id}/veto {reason} */
    DEC_CAP,            /* purchases/{id}/cap {max_unit_price_minor?, max_quantity?, reason?} */
    DEC_REFUND,         /* purchases/{id}/refund {reason} */
    DEC_NEG_CAP,        /* negotiations/{id}/cap {max_unit_price_minor?, max_quantity?} */
    DEC_NEG_HOLD,       /* negotiations/{id}/hold {reason} */
    DEC_NEG_RELEASE,    /* negotiations/{id}/release {} */
    DEC_NEG_VETO,       /* negotiations/{id}/veto {reason} */
    DEC_PAUSE,          /* agents/{id}/pause {reason} */
    DEC_RESUME,         /* agents/{id}/resume {} */
    DEC_LIMITS,         /* agents/{id}/limits {spend_cap_minor?, ...} (from limits) */
    DEC_HALT,           /* fleet/halt {reason} (no subject) */
    DEC_FLEET_RESUME,   /* fleet/resume {} (no subject) */
    DEC_ACK,            /* alerts/{id}/ack {note?} (note from reason) */
    DEC_POLICY_ENABLE,  /* policies/{id}/enable {} */
    DEC_POLICY_DISABLE, /* policies/{id}/disable {} */
    DEC_POLICY_REPLACE, /* policies/{id} {the whole policy} (from policy) */
    DEC_HALT_SCOPE,     /* halts {reason, scope: {scope_key: [scope_value]}} (no subject) */
    DEC_RESOLVE,        /* disputes/{id}/resolve {outcome, amount_minor?, reason} (issue 17) */
    DEC_ACTION_COUNT
} decision_action;

/* The longest policy definition a replacement sends (api/json_policy.h). */
#define DECISION_POLICY_MAX 4096

typedef struct decision_req {
    decision_action action;
    char subject_id[65];              /* "" for HALT / FLEET_RESUME */
    int64_t if_match_version;         /* the version the operator saw; 0 = send no If-Match */
    int64_t expected_total_minor;     /* APPROVE: the total the operator saw */
    int64_t max_unit_price_minor;     /* CAP / NEG_CAP: -1 none */
    int64_t max_quantity;             /* CAP / NEG_CAP: -1 none */
    model_limits limits;              /* LIMITS: each member -1 = unchanged */
    char reason[501];                 /* "" = none (required by VETO, REFUND, HOLD, PAUSE...) */
    char policy[DECISION_POLICY_MAX]; /* POLICY_REPLACE: the new definition (JSON) */
    char scope_key[16];               /* HALT_SCOPE: "categories", "sellers" or "principals" */
    char scope_value[201];            /* HALT_SCOPE: the one category, seller id or principal */
    char outcome[16];                 /* RESOLVE: "refund", "partial_refund" or "rejected" */
    int64_t amount_minor; /* RESOLVE: partial_refund's amount, in the dispute's currency; -1 none */
} decision_req;

/* Whether a decision reached the server (told apart when no answer came). */
typedef enum decision_delivery {
    DELIVERY_NOT_SENT, /* nothing left this machine: nothing happened */
    DELIVERY_UNKNOWN,  /* no answer, but a request may have reached the server */
    DELIVERY_ANSWERED, /* the server answered (http_status) */
} decision_delivery;

typedef struct decision_outcome {
    uint64_t id;     /* what client_decide() returned */
    int http_status; /* 0 when no answer could be had (see message and delivery) */
    decision_delivery delivery;
    bool ok;             /* 2xx */
    bool replayed;       /* Idempotent-Replayed: true (the first answer, given again) */
    char action[24];     /* the action's name and subject ("" for the fleet), set by the */
    char subject[65];    /* client for every outcome of a sent decision */
    char error_code[32]; /* the server's "error" ("" on success) */
    char message[512];   /* the server's message, sanitised, marks stripped */
    model_event current; /* the server's current object (409/412, or the 2xx body) */
    bool has_current;
} decision_outcome;

/* Called from client_run() with the final outcome (borrowed; valid during the call). */
typedef void (*decision_cb)(void *ud, const decision_outcome *out);

/* Sets the defaults of a request (caps and limits -1, no version). */
void decision_req_init(decision_req *r, decision_action action, const char *subject_id);

/* The action's name as typed on the command line and journaled ("approve", "neg_cap"...);
 * static. */
const char *decision_action_name(decision_action a);

/* The operator's word for the action, its verb ("approve", "resume" for fleet_resume,
 * "cap" for neg_cap), for messages a person reads; static. */
const char *decision_action_verb(decision_action a);

/* Looks an action up by name; returns -1 when unknown. */
int decision_action_from_name(const char *name);

/* Checks a request against the contract before anything is sent (ids, a reason where
 * one is required, at least one limit for caps, amounts in range). Returns 0, or -1 with
 * a message in err. */
int decision_validate(const decision_req *r, char *err, size_t errsz);

/* Writes the request path ("/v1/purchases/pur_1/approve") into out. Returns 0 or -1. */
int decision_path(const decision_req *r, char *out, size_t size);

/* The same for an action and subject id. */
int decision_path_of(decision_action action, const char *subject, char *out, size_t size);

/* The kind of object an action decides on (MODEL_FLEET for halt/resume). */
model_kind decision_subject_kind(decision_action a);

/* Frees what an outcome owns (its current object). */
void decision_outcome_free(decision_outcome *o);

#endif
