/* json.c: the contract's objects decoded into the model, field by field, and one event or
 * object (see json.h); whole documents are read in json_doc.c. */
#include "api/json.h"
#include "api/json_int.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/clock.h"
#include "api/money.h"

/* Records the first error ("field: what") and returns -1. */
int jc_fail(jctx *c, const char *fmt, ...)
{
    if (!c->failed && c->err && c->errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errsz, fmt, ap);
        va_end(ap);
    }
    c->failed = true;
    return -1;
}

/* ---- field readers: each returns 0, or -1 after jc_fail() ----------------------------- */

/* Reads key of o into *v: 1 when it holds a value, 0 when it is null or absent and that
 * is allowed (nullable), else -1 after jc_fail(). */
static int present(jctx *c, json_t *o, const char *key, bool nullable, json_t **v)
{
    *v = json_object_get(o, key);
    if (*v && !json_is_null(*v))
        return 1;
    return nullable ? 0 : jc_fail(c, "%s: missing", key);
}

/* An id with a prefix (NULL: any valid id). nullable: null/absent gives "". */
static int get_id(jctx *c, json_t *o, const char *key, const char *prefix, char *out, bool nullable)
{
    json_t *v;
    out[0] = '\0';
    int p = present(c, o, key, nullable, &v);
    if (p <= 0)
        return p;
    if (!json_is_string(v))
        return jc_fail(c, "%s: not a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v) || !text_valid_id(s, prefix))
        return jc_fail(c, "%s: not a valid %sid", key, prefix ? prefix : "");
    strcpy(out, s); /* text_valid_id bounds it to MODEL_ID_MAX */
    return 0;
}

/* Sanitises n bytes at s into t. */
static int text_of(jctx *c, const char *s, size_t n, const char *key, model_text *t)
{
    text_safe ts;
    if (text_sanitize(s, n, c->mode, &ts) < 0)
        return jc_fail(c, "%s: out of memory", key);
    t->s = ts.s;
    t->width = ts.width;
    t->flags = ts.flags;
    t->hidden = ts.hidden;
    return 0;
}

/* A text field. nullable: null/absent leaves t->s NULL. */
static int get_text(jctx *c, json_t *o, const char *key, model_text *t, bool nullable)
{
    json_t *v;
    memset(t, 0, sizeof *t);
    int p = present(c, o, key, nullable, &v);
    if (p <= 0)
        return p;
    if (json_is_string(v))
        return text_of(c, json_string_value(v), json_string_length(v), key, t);
    return jc_fail(c, "%s: not a string", key);
}

/* A string or, failing that, any JSON value as compact text: values that the contract
 * leaves open (ship_to, an address given as an object). */
static int get_loose_text(jctx *c, json_t *v, const char *key, model_text *t)
{
    memset(t, 0, sizeof *t);
    if (json_is_string(v))
        return text_of(c, json_string_value(v), json_string_length(v), key, t);
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    int rc = dump ? text_of(c, dump, strlen(dump), key, t) : jc_fail(c, "%s: out of memory", key);
    free(dump);
    return rc;
}

/* An integer within [min, max]. nullable: null/absent gives dflt. */
int jc_get_int(jctx *c, json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
               bool nullable, int64_t dflt)
{
    json_t *v;
    *out = dflt;
    int p = present(c, o, key, nullable, &v);
    if (p <= 0)
        return p;
    if (!json_is_integer(v))
        return jc_fail(c, "%s: not an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return jc_fail(c, "%s: out of range", key);
    *out = i;
    return 0;
}

/* An amount in minor units (0..MONEY_MAX_MINOR); nullable gives -1. */
static int get_money(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable)
{
    if (jc_get_int(c, o, key, 0, MONEY_MAX_MINOR, out, nullable, -1) < 0)
        return -1;
    if (*out >= 0 && !money_in_range(*out))
        return jc_fail(c, "%s: amount out of range", key);
    return 0;
}

/* A time; nullable gives 0. */
static int get_time(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable)
{
    json_t *v;
    *out = 0;
    int p = present(c, o, key, nullable, &v);
    if (p <= 0)
        return p;
    if (!json_is_string(v) || clock_parse_rfc3339(json_string_value(v), out) < 0)
        return jc_fail(c, "%s: not an RFC 3339 time", key);
    return 0;
}

/* One of names[0..n) → its index. */
static int get_enum(jctx *c, json_t *o, const char *key, const char *const *names, int n, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return jc_fail(c, "%s: missing or not a string", key);
    const char *s = json_string_value(v);
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return jc_fail(c, "%s: unknown value", key);
}

/* Copies a sanitised, mark-free version of a JSON string into out. */
void jc_safe_copy(json_t *v, text_mode mode, char *out, size_t size)
{
    out[0] = '\0';
    if (!json_is_string(v) || !size)
        return;
    text_safe ts;
    if (text_sanitize(json_string_value(v), json_string_length(v), mode, &ts) < 0)
        return;
    text_strip_marks(ts.s, out, size);
    text_safe_free(&ts);
}

/* One of names[0..n) → its index; a value this client does not know is kept: *out =
 * unknown and raw gets it as sent (sanitised, marks stripped; "?" when that leaves
 * nothing). raw is "" for a known value. Only a missing or non-string value fails. */
static int get_enum_raw(jctx *c, json_t *o, const char *key, const char *const *names, int n,
                        int unknown, int *out, model_raw raw)
{
    raw[0] = '\0';
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return jc_fail(c, "%s: missing or not a string", key);
    for (int i = 0; i < n; i++)
        if (strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
    *out = unknown;
    jc_safe_copy(v, c->mode, raw, sizeof(model_raw));
    if (!raw[0])
        snprintf(raw, sizeof(model_raw), "?");
    return 0;
}

/* A name the server may grow (a rule, a subject kind, a decision's action): any
 * non-empty string, kept as sent (sanitised, marks stripped). */
static int get_name(jctx *c, json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return jc_fail(c, "%s: missing or not a string", key);
    jc_safe_copy(v, c->mode, out, size);
    if (!out[0])
        snprintf(out, size, "?");
    return 0;
}

/* A currency code this build knows. */
static int get_currency(jctx *c, json_t *o, const char *key, char out[4])
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) != 3 ||
        !money_currency_valid(json_string_value(v)))
        return jc_fail(c, "%s: not a known currency", key);
    memcpy(out, json_string_value(v), 4);
    return 0;
}

/* A short word (rule names, actions, kinds): 1..size-1 of [a-z0-9_.]. */
int jc_get_word(jctx *c, json_t *o, const char *key, char *out, size_t size)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return jc_fail(c, "%s: missing or not a string", key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n >= size)
        return jc_fail(c, "%s: bad length", key);
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
            return jc_fail(c, "%s: not a word", key);
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* A table of model.h's names and its length, as get_enum and get_enum_raw take them. */
#define NAMES(table) (table), MODEL_NAMES_COUNT(table)

/* The readers above for the other decoders of the module (json_int.h). */
int jc_get_id(jctx *c, json_t *o, const char *key, const char *prefix, char *out, bool nullable)
{
    return get_id(c, o, key, prefix, out, nullable);
}
int jc_get_text(jctx *c, json_t *o, const char *key, model_text *t, bool nullable)
{
    return get_text(c, o, key, t, nullable);
}
int jc_get_money(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable)
{
    return get_money(c, o, key, out, nullable);
}
int jc_get_time(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable)
{
    return get_time(c, o, key, out, nullable);
}
int jc_get_enum_raw(jctx *c, json_t *o, const char *key, const char *const *names, int n,
                    int unknown, int *out, model_raw raw)
{
    return get_enum_raw(c, o, key, names, n, unknown, out, raw);
}
int jc_get_currency(jctx *c, json_t *o, const char *key, char out[4])
{
    return get_currency(c, o, key, out);
}

/* ---- objects ---------------------------------------------------------------------- */

/* Version (>= 1) and updated_at, common to every mutable object. */
static int get_head(jctx *c, json_t *o, const char *prefix, char *id, int64_t *version,
                    int64_t *updated_at)
{
    if (get_id(c, o, "id", prefix, id, false) < 0 ||
        jc_get_int(c, o, "version", 1, INT64_MAX, version, false, 0) < 0 ||
        get_time(c, o, "updated_at", updated_at, false) < 0)
        return -1;
    return 0;
}

/* An array of strings into owned texts. */
static int get_text_array(jctx *c, json_t *arr, const char *key, model_text **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return jc_fail(c, "%s: not an array", key);
    size_t len = json_array_size(arr);
    if (len == 0)
        return 0;
    if (len > 4096)
        return jc_fail(c, "%s: too many items", key);
    *out = calloc(len, sizeof **out);
    if (!*out)
        return jc_fail(c, "%s: out of memory", key);
    for (size_t i = 0; i < len; i++) {
        if (get_loose_text(c, json_array_get(arr, i), key, &(*out)[i]) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

static int dec_agent(jctx *c, json_t *o, model_agent *a)
{
    int role = 0, status = 0;
    json_t *lim = json_object_get(o, "limits");
    json_t *mandate = json_object_get(o, "mandate");
    if (get_head(c, o, "agt_", a->id, &a->version, &a->updated_at) < 0 ||
        get_text(c, o, "name", &a->name, false) < 0 ||
        get_text(c, o, "principal", &a->principal, true) < 0 ||
        get_enum_raw(c, o, "role", NAMES(model_agent_role_names), 0, &role, a->role_raw) < 0 ||
        get_enum_raw(c, o, "status", NAMES(model_agent_status_names), 0, &status, a->status_raw) <
            0 ||
        get_currency(c, o, "currency", a->currency) < 0 ||
        get_money(c, o, "spent_minor", &a->spent_minor, false) < 0)
        return -1;
    a->seller = role == 1 && !a->role_raw[0];
    a->paused = status == 1 && !a->status_raw[0];
    if (!json_is_object(lim))
        return jc_fail(c, "limits: missing");
    if (get_money(c, lim, "spend_cap_minor", &a->limits.spend_cap_minor, true) < 0 ||
        get_money(c, lim, "per_deal_max_minor", &a->limits.per_deal_max_minor, true) < 0 ||
        get_money(c, lim, "approval_threshold_minor", &a->limits.approval_threshold_minor, true) <
            0 ||
        jc_get_int(c, lim, "max_quantity", 0, MONEY_MAX_MINOR, &a->limits.max_quantity, true, -1) <
            0)
        return -1;
    if (json_is_object(mandate) &&
        get_text_array(c, json_object_get(mandate, "categories"), "mandate.categories",
                       &a->categories, &a->ncategories) < 0)
        return -1;
    return get_text_array(c, json_object_get(o, "addresses"), "addresses", &a->addresses,
                          &a->naddresses);
}

static int dec_listing(jctx *c, json_t *o, model_listing *l)
{
    int status = 0;
    if (get_head(c, o, "lst_", l->id, &l->version, &l->updated_at) < 0 ||
        get_id(c, o, "seller_id", "agt_", l->seller_id, false) < 0 ||
        get_text(c, o, "title", &l->title, false) < 0 ||
        get_text(c, o, "description", &l->description, true) < 0 ||
        get_text(c, o, "category", &l->category, false) < 0 ||
        get_money(c, o, "unit_price_minor", &l->unit_price_minor, false) < 0 ||
        get_currency(c, o, "currency", l->currency) < 0 ||
        jc_get_int(c, o, "quantity", 0, MONEY_MAX_MINOR, &l->quantity, false, 0) < 0 ||
        get_money(c, o, "reference_price_minor", &l->reference_price_minor, true) < 0 ||
        get_money(c, o, "floor_minor", &l->floor_minor, true) < 0 ||
        get_enum_raw(c, o, "status", NAMES(model_listing_status_names), LISTING_UNKNOWN, &status,
                     l->status_raw) < 0 ||
        get_time(c, o, "created_at", &l->created_at, true) < 0)
        return -1;
    l->status = (model_listing_status)status;
    return 0;
}

/* terms {unit_price_minor, quantity} | null */
static int get_terms(jctx *c, json_t *o, const char *key, model_terms *t)
{
    json_t *v = json_object_get(o, key);
    memset(t, 0, sizeof *t);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return jc_fail(c, "%s: not an object", key);
    t->present = true;
    if (get_money(c, v, "unit_price_minor", &t->unit_price_minor, false) < 0 ||
        jc_get_int(c, v, "quantity", 0, MONEY_MAX_MINOR, &t->quantity, false, 0) < 0)
        return -1;
    return 0;
}

/* cap {max_unit_price_minor|null, max_quantity|null} | null */
static int get_cap(jctx *c, json_t *o, const char *key, model_cap *cap)
{
    json_t *v = json_object_get(o, key);
    cap->present = false;
    cap->max_unit_price_minor = cap->max_quantity = -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return jc_fail(c, "%s: not an object", key);
    cap->present = true;
    if (get_money(c, v, "max_unit_price_minor", &cap->max_unit_price_minor, true) < 0 ||
        jc_get_int(c, v, "max_quantity", 0, MONEY_MAX_MINOR, &cap->max_quantity, true, -1) < 0)
        return -1;
    return 0;
}

static int dec_negotiation(jctx *c, json_t *o, model_negotiation *n)
{
    int status = 0;
    if (get_head(c, o, "neg_", n->id, &n->version, &n->updated_at) < 0 ||
        get_id(c, o, "listing_id", "lst_", n->listing_id, false) < 0 ||
        get_id(c, o, "buyer_id", "agt_", n->buyer_id, false) < 0 ||
        get_id(c, o, "seller_id", "agt_", n->seller_id, false) < 0 ||
        get_enum_raw(c, o, "status", NAMES(model_neg_status_names), NEG_UNKNOWN, &status,
                     n->status_raw) < 0 ||
        get_terms(c, o, "terms", &n->terms) < 0 ||
        get_terms(c, o, "agreed_terms", &n->agreed_terms) < 0 ||
        get_cap(c, o, "cap", &n->cap) < 0 || get_currency(c, o, "currency", n->currency) < 0 ||
        jc_get_int(c, o, "message_count", 0, INT64_MAX, &n->message_count, true, 0) < 0 ||
        get_time(c, o, "opened_at", &n->opened_at, true) < 0)
        return -1;
    n->status = (model_neg_status)status;
    return 0;
}

static int dec_message(jctx *c, json_t *o, model_message *m)
{
    int kind = 0;
    if (get_id(c, o, "negotiation_id", "neg_", m->negotiation_id, false) < 0 ||
        jc_get_int(c, o, "seq", 1, INT64_MAX, &m->seq, false, 0) < 0 ||
        get_enum_raw(c, o, "kind", NAMES(model_msg_kind_names), MSG_UNKNOWN, &kind, m->kind_raw) <
            0)
        return -1;
    m->kind = (model_msg_kind)kind;
    /* A system message (or one of a kind this client does not know) may come from the
     * market rather than an agent. */
    bool agent_only = m->kind != MSG_SYSTEM && m->kind != MSG_UNKNOWN;
    if (get_id(c, o, "from", agent_only ? "agt_" : NULL, m->from, !agent_only) < 0 ||
        get_money(c, o, "unit_price_minor", &m->unit_price_minor, true) < 0 ||
        jc_get_int(c, o, "quantity", 0, MONEY_MAX_MINOR, &m->quantity, true, -1) < 0 ||
        get_text(c, o, "text", &m->text, true) < 0 || get_time(c, o, "at", &m->at, false) < 0)
        return -1;
    return 0;
}

/* approvals_required (absent: 1) and approvals [{by, at}] (absent: none) of a purchase. */
static int get_approvals(jctx *c, json_t *o, model_purchase *p)
{
    int64_t req = 1;
    if (jc_get_int(c, o, "approvals_required", 1, 2, &req, true, 1) < 0)
        return -1;
    p->approvals_required = (int)req;
    json_t *list = json_object_get(o, "approvals");
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list) || json_array_size(list) > 16)
        return jc_fail(c, "approvals: not an array of at most 16");
    p->napprovals = (int)json_array_size(list);
    for (size_t i = 0; i < json_array_size(list) && i < MODEL_APPROVALS_MAX; i++) {
        json_t *a = json_array_get(list, i);
        if (!json_is_object(a))
            return jc_fail(c, "approvals: not an object");
        if (get_text(c, a, "by", &p->approved_by[i], false) < 0)
            return -1;
    }
    return 0;
}

static int dec_purchase(jctx *c, json_t *o, model_purchase *p)
{
    int status = 0;
    int64_t risk = 0;
    if (get_head(c, o, "pur_", p->id, &p->version, &p->updated_at) < 0 ||
        get_id(c, o, "negotiation_id", "neg_", p->negotiation_id, true) < 0 ||
        get_id(c, o, "listing_id", "lst_", p->listing_id, false) < 0 ||
        get_id(c, o, "buyer_id", "agt_", p->buyer_id, false) < 0 ||
        get_id(c, o, "seller_id", "agt_", p->seller_id, false) < 0 ||
        get_money(c, o, "unit_price_minor", &p->unit_price_minor, false) < 0 ||
        jc_get_int(c, o, "quantity", 0, MONEY_MAX_MINOR, &p->quantity, false, 0) < 0 ||
        get_money(c, o, "total_minor", &p->total_minor, false) < 0 ||
        get_currency(c, o, "currency", p->currency) < 0 ||
        get_enum_raw(c, o, "status", NAMES(model_purchase_status_names), PUR_UNKNOWN, &status,
                     p->status_raw) < 0 ||
        jc_get_int(c, o, "risk_score", 0, 100, &risk, true, 0) < 0 ||
        get_time(c, o, "decide_by", &p->decide_by, true) < 0 ||
        get_time(c, o, "created_at", &p->created_at, true) < 0 ||
        get_money(c, o, "refunded_minor", &p->refunded_minor, true) < 0 ||
        get_id(c, o, "dispute_id", "dsp_", p->dispute_id, true) < 0)
        return -1;
    if (p->refunded_minor < 0)
        p->refunded_minor = 0; /* null or absent (a server before disputes): none */
    p->status = (model_purchase_status)status;
    p->risk_score = (int)risk;
    json_t *ship = json_object_get(o, "ship_to");
    if (ship && !json_is_null(ship) && get_loose_text(c, ship, "ship_to", &p->ship_to) < 0)
        return -1;
    json_t *dflt = json_object_get(o, "default_on_timeout");
    p->default_veto = !json_is_string(dflt) || strcmp(json_string_value(dflt), "veto") == 0;
    json_t *flags = json_object_get(o, "flags");
    if (flags && !json_is_null(flags)) {
        if (!json_is_array(flags) || json_array_size(flags) > 64)
            return jc_fail(c, "flags: not an array of at most 64");
        size_t nf = json_array_size(flags);
        if (nf) {
            p->flags = calloc(nf, sizeof *p->flags);
            if (!p->flags)
                return jc_fail(c, "flags: out of memory");
        }
        for (size_t i = 0; i < nf; i++) {
            json_t *f = json_array_get(flags, i);
            model_flag *fl = &p->flags[i];
            int sev = 0;
            if (!json_is_object(f))
                return jc_fail(c, "flags: not an object");
            p->nflags++;
            if (get_name(c, f, "rule", fl->rule, sizeof fl->rule) < 0 ||
                get_enum_raw(c, f, "severity", NAMES(model_severity_names), SEV_CRITICAL, &sev,
                             fl->severity_raw) < 0 ||
                get_text(c, f, "detail", &fl->detail, true) < 0)
                return -1;
            fl->severity = (model_severity)sev;
        }
    }
    json_t *d = json_object_get(o, "decision");
    if (d && !json_is_null(d)) {
        if (!json_is_object(d))
            return jc_fail(c, "decision: not an object");
        p->decision.present = true;
        if (get_name(c, d, "action", p->decision.action, sizeof p->decision.action) < 0 ||
            get_text(c, d, "by", &p->decision.by, true) < 0 ||
            get_time(c, d, "at", &p->decision.at, true) < 0 ||
            get_text(c, d, "reason", &p->decision.reason, true) < 0 ||
            get_cap(c, d, "cap", &p->decision.cap) < 0)
            return -1;
    }
    if (get_approvals(c, o, p) < 0)
        return -1;
    return jc_purchase_policies(c, o, p);
}

/* A Claim (marketd/claims.c): keyed by its purchase's id. */
static int dec_claim(jctx *c, json_t *o, model_claim *cl)
{
    json_t *st = json_object_get(o, "status");
    if (get_id(c, o, "purchase_id", "pur_", cl->purchase_id, false) < 0 ||
        jc_get_int(c, o, "version", 1, INT64_MAX, &cl->version, false, 0) < 0 ||
        get_text(c, o, "by", &cl->by, false) < 0 || get_time(c, o, "until", &cl->until, false) < 0)
        return -1;
    if (!json_is_string(st))
        return jc_fail(c, "status: not a string");
    cl->active = strcmp(json_string_value(st), "active") == 0;
    return 0;
}

/* subject {kind, id} */
static int get_subject(jctx *c, json_t *o, char *kind, size_t kindsz, char *id)
{
    json_t *s = json_object_get(o, "subject");
    kind[0] = id[0] = '\0';
    if (!s || json_is_null(s))
        return 0;
    if (!json_is_object(s))
        return jc_fail(c, "subject: not an object");
    if (get_name(c, s, "kind", kind, kindsz) < 0 || get_id(c, s, "id", NULL, id, true) < 0)
        return -1;
    return 0;
}

/* An alert's purchase_ids (absent or null: none) and resolution (absent or null: none). */
static int dec_alert_group(jctx *c, json_t *o, model_alert *a)
{
    json_t *ids = json_object_get(o, "purchase_ids");
    if (ids && !json_is_null(ids)) {
        size_t n = json_array_size(ids);
        if (!json_is_array(ids) || n > MODEL_ALERT_PURCHASES_MAX)
            return jc_fail(c, "purchase_ids: not an array of at most %d",
                           MODEL_ALERT_PURCHASES_MAX);
        if (n && !(a->purchase_ids = calloc(n, sizeof *a->purchase_ids)))
            return jc_fail(c, "purchase_ids: out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(ids, i);
            const char *id = json_string_value(v);
            if (!id || !text_valid_id(id, "pur_"))
                return jc_fail(c, "purchase_ids: not a purchase id");
            snprintf(a->purchase_ids[a->npurchase_ids++], sizeof(model_id), "%s", id);
        }
    }
    json_t *r = json_object_get(o, "resolution");
    if (!r || json_is_null(r))
        return 0;
    if (!json_is_object(r))
        return jc_fail(c, "resolution: not an object");
    if (get_id(c, r, "purchase_id", "pur_", a->resolved_purchase, true) < 0 ||
        get_name(c, r, "purchase_status", a->resolved_status, sizeof a->resolved_status) < 0 ||
        get_text(c, r, "by", &a->resolved_by, true) < 0 ||
        get_time(c, r, "at", &a->resolved_at, true) < 0)
        return -1;
    return 0;
}

static int dec_alert(jctx *c, json_t *o, model_alert *a)
{
    int sev = 0, status = 0;
    if (get_head(c, o, "alr_", a->id, &a->version, &a->updated_at) < 0 ||
        get_enum_raw(c, o, "severity", NAMES(model_severity_names), SEV_CRITICAL, &sev,
                     a->severity_raw) < 0 ||
        get_name(c, o, "rule", a->rule, sizeof a->rule) < 0 ||
        get_subject(c, o, a->subject_kind, sizeof a->subject_kind, a->subject_id) < 0 ||
        get_text(c, o, "message", &a->message, true) < 0 ||
        get_enum_raw(c, o, "status", NAMES(model_alert_status_names), ALERT_UNKNOWN, &status,
                     a->status_raw) < 0 ||
        get_text(c, o, "acked_by", &a->acked_by, true) < 0 ||
        get_time(c, o, "at", &a->at, true) < 0 ||
        get_id(c, o, "agent_id", "agt_", a->agent_id, true) < 0 ||
        jc_get_int(c, o, "count", 1, INT64_MAX, &a->count, true, 1) < 0 ||
        get_time(c, o, "last_at", &a->last_at, true) < 0 || dec_alert_group(c, o, a) < 0)
        return -1;
    if (!a->last_at)
        a->last_at = a->at;
    a->severity = (model_severity)sev;
    a->status = (model_alert_status)status;
    return 0;
}

/* "agent:<id>" and the like: a word, a colon, a valid id. */
bool jc_valid_account(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon - s > 16)
        return false;
    for (const char *p = s; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return false;
    return text_valid_id(colon + 1, NULL);
}

static int dec_ledger(jctx *c, json_t *o, model_ledger_entry *e)
{
    int kind = 0;
    if (get_id(c, o, "id", "led_", e->id, false) < 0 ||
        jc_get_int(c, o, "seq", 0, INT64_MAX, &e->seq, false, 0) < 0 ||
        get_enum_raw(c, o, "kind", NAMES(model_ledger_kind_names), 0, &kind, e->kind_raw) < 0 ||
        get_id(c, o, "purchase_id", "pur_", e->purchase_id, false) < 0 ||
        get_currency(c, o, "currency", e->currency) < 0 || get_time(c, o, "at", &e->at, false) < 0)
        return -1;
    e->refund = kind == 1 && !e->kind_raw[0];
    json_t *ps = json_object_get(o, "postings");
    size_t np = json_array_size(ps);
    if (!json_is_array(ps) || np < 2 || np > sizeof e->postings / sizeof e->postings[0])
        return jc_fail(c, "postings: not an array of 2..4");
    int64_t sum = 0;
    for (size_t i = 0; i < np; i++) {
        json_t *p = json_array_get(ps, i);
        json_t *acc = json_object_get(p, "account");
        if (!json_is_string(acc) || json_string_length(acc) >= sizeof e->postings[i].account ||
            !jc_valid_account(json_string_value(acc)))
            return jc_fail(c, "postings.account: not a valid account");
        strcpy(e->postings[i].account, json_string_value(acc));
        if (jc_get_int(c, p, "amount_minor", -MONEY_MAX_MINOR, MONEY_MAX_MINOR,
                       &e->postings[i].amount_minor, false, 0) < 0)
            return -1;
        sum += e->postings[i].amount_minor;
    }
    e->npostings = np;
    if (sum != 0)
        return jc_fail(c, "postings: do not sum to zero");
    return 0;
}

static int dec_decision(jctx *c, json_t *o, model_decision *d)
{
    if (get_id(c, o, "id", "dec_", d->id, false) < 0 ||
        get_name(c, o, "action", d->action, sizeof d->action) < 0 ||
        get_subject(c, o, d->subject_kind, sizeof d->subject_kind, d->subject_id) < 0 ||
        get_text(c, o, "by", &d->by, false) < 0 || get_time(c, o, "at", &d->at, false) < 0 ||
        get_text(c, o, "reason", &d->reason, true) < 0)
        return -1;
    return 0;
}

/* The fleet's unattended switch ({after_s, action, since|null}; absent or null: off). */
static int dec_unattended(jctx *c, json_t *u, model_fleet *f)
{
    if (!u || json_is_null(u))
        return 0;
    const char *action = json_string_value(json_object_get(u, "action"));
    if (!json_is_object(u) || !action || (strcmp(action, "halt") && strcmp(action, "restrict")))
        return jc_fail(c, "unattended: not {after_s, action, since}");
    f->unattended_halt = strcmp(action, "halt") == 0;
    if (jc_get_int(c, u, "after_s", 1, INT64_MAX / 1000, &f->unattended_after_s, false, 0) < 0 ||
        get_time(c, u, "since", &f->unattended_since, true) < 0)
        return -1;
    return 0;
}

static int dec_fleet(jctx *c, json_t *o, model_fleet *f)
{
    int status = 0;
    if (jc_get_int(c, o, "version", 1, INT64_MAX, &f->version, true, 0) < 0 ||
        get_enum(c, o, "status", NAMES(model_fleet_status_names), &status) < 0 ||
        get_text(c, o, "reason", &f->reason, true) < 0 || get_text(c, o, "by", &f->by, true) < 0 ||
        get_time(c, o, "updated_at", &f->updated_at, true) < 0)
        return -1;
    f->halted = status == 1;
    json_t *halts = json_object_get(o, "halts"); /* absent from an older server: none */
    f->halts =
        json_is_array(halts) && json_array_size(halts) < 100000 ? (int)json_array_size(halts) : 0;
    return dec_unattended(c, json_object_get(o, "unattended"), f);
}

/* Decodes an object of kind into ev->u (ev->kind set). On failure frees what was
 * decoded. */
int jc_decode(jctx *c, model_kind kind, json_t *o, model_event *ev)
{
    ev->kind = kind;
    if (!json_is_object(o))
        return jc_fail(c, "data: not an object");
    int rc = -1;
    switch (kind) {
        case MODEL_AGENT: rc = dec_agent(c, o, &ev->u.agent); break;
        case MODEL_LISTING: rc = dec_listing(c, o, &ev->u.listing); break;
        case MODEL_NEGOTIATION: rc = dec_negotiation(c, o, &ev->u.negotiation); break;
        case MODEL_MESSAGE: rc = dec_message(c, o, &ev->u.message); break;
        case MODEL_PURCHASE: rc = dec_purchase(c, o, &ev->u.purchase); break;
        case MODEL_ALERT: rc = dec_alert(c, o, &ev->u.alert); break;
        case MODEL_LEDGER: rc = dec_ledger(c, o, &ev->u.ledger); break;
        case MODEL_DECISION: rc = dec_decision(c, o, &ev->u.decision); break;
        case MODEL_FLEET: rc = dec_fleet(c, o, &ev->u.fleet); break;
        case MODEL_CLAIM: rc = dec_claim(c, o, &ev->u.claim); break;
        case MODEL_POLICY: rc = jc_dec_policy(c, o, &ev->u.policy); break;
        case MODEL_DISPUTE: rc = jc_dec_dispute(c, o, &ev->u.dispute); break;
        case MODEL_KIND_COUNT: rc = jc_fail(c, "kind: unknown"); break;
    }
    if (rc < 0)
        model_event_free(ev);
    return rc;
}

/* The kind of an event type, or -1. */
static int kind_of_type(const char *type)
{
    for (int k = 0; k < MODEL_KIND_COUNT; k++)
        if (strcmp(type, model_kind_event_type((model_kind)k)) == 0)
            return k;
    return -1;
}

/* Parses len bytes of JSON; NULL with err filled on failure. */
json_t *jc_parse(const char *s, size_t len, jctx *c)
{
    json_error_t je;
    json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!root)
        jc_fail(c, "not JSON: %s (line %d)", je.text, je.line);
    return root;
}

json_result json_decode_event(const char *type, const char *data, size_t len, text_mode mode,
                              model_event *out, char *err, size_t errsz)
{
    jctx c = {.mode = mode, .err = err, .errsz = errsz};
    memset(out, 0, sizeof *out);
    json_t *root = jc_parse(data, len, &c);
    if (!root)
        return JSON_BAD;
    json_result r = JSON_BAD;
    const char *jt = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root)) {
        jc_fail(&c, "event: not an object");
        goto done;
    }
    if (!jt || (type && strcmp(jt, type) != 0)) {
        jc_fail(&c, "type: missing or not the SSE event type");
        goto done;
    }
    if (jc_get_int(&c, root, "seq", 1, INT64_MAX, &out->seq, false, 0) < 0 ||
        get_time(&c, root, "at", &out->at, false) < 0)
        goto done;
    int kind = kind_of_type(jt);
    if (kind < 0) {
        r = JSON_UNKNOWN;
        jc_fail(&c, "type: unknown event type");
        goto done;
    }
    int64_t ev_seq = out->seq, ev_at = out->at;
    if (jc_decode(&c, (model_kind)kind, json_object_get(root, "data"), out) == 0)
        r = JSON_OK;
    out->seq = ev_seq; /* dec_kind clears the event when it fails */
    out->at = ev_at;
done:
    json_decref(root);
    if (r != JSON_OK) {
        int64_t seq = out->seq;
        memset(out, 0, sizeof *out);
        out->seq = seq; /* the caller may still want to know where it was */
    }
    return r;
}

json_result json_decode_object(model_kind kind, const char *body, size_t len, text_mode mode,
                               model_event *out, char *err, size_t errsz)
{
    jctx c = {.mode = mode, .err = err, .errsz = errsz};
    memset(out, 0, sizeof *out);
    json_t *root = jc_parse(body, len, &c);
    if (!root)
        return JSON_BAD;
    int rc = jc_decode(&c, kind, root, out);
    json_decref(root);
    return rc < 0 ? JSON_BAD : JSON_OK;
}
