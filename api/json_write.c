/* json_write.c: the JSON this program writes (see json.h): decision bodies, the ASCII
 * lines of tail and snapshot, the threads export. With json.c, the only file that
 * includes jansson. */
#include "api/json.h"
#include "api/json_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

char *json_decision_body(const decision_req *r)
{
    if (r->action == DEC_POLICY_REPLACE) /* the definition as it is (json_policy.c) */
        return strdup(r->policy);
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool reason = r->reason[0] != '\0';
    switch (r->action) {
        case DEC_APPROVE:
            json_object_set_new(o, "expected_total_minor", json_integer(r->expected_total_minor));
            if (reason)
                json_object_set_new(o, "comment", json_string(r->reason));
            break;
        case DEC_CAP:
        case DEC_NEG_CAP:
            if (r->max_unit_price_minor >= 0)
                json_object_set_new(o, "max_unit_price_minor",
                                    json_integer(r->max_unit_price_minor));
            if (r->max_quantity >= 0)
                json_object_set_new(o, "max_quantity", json_integer(r->max_quantity));
            if (reason && r->action == DEC_CAP)
                json_object_set_new(o, "reason", json_string(r->reason));
            break;
        case DEC_LIMITS:
            if (r->limits.spend_cap_minor >= 0)
                json_object_set_new(o, "spend_cap_minor", json_integer(r->limits.spend_cap_minor));
            if (r->limits.per_deal_max_minor >= 0)
                json_object_set_new(o, "per_deal_max_minor",
                                    json_integer(r->limits.per_deal_max_minor));
            if (r->limits.approval_threshold_minor >= 0)
                json_object_set_new(o, "approval_threshold_minor",
                                    json_integer(r->limits.approval_threshold_minor));
            if (r->limits.max_quantity >= 0)
                json_object_set_new(o, "max_quantity", json_integer(r->limits.max_quantity));
            break;
        case DEC_ACK:
            if (reason)
                json_object_set_new(o, "note", json_string(r->reason));
            break;
        case DEC_RESOLVE:
            json_object_set_new(o, "outcome", json_string(r->outcome));
            if (r->amount_minor >= 0)
                json_object_set_new(o, "amount_minor", json_integer(r->amount_minor));
            json_object_set_new(o, "reason", json_string(r->reason));
            break;
        case DEC_HALT_SCOPE:
            json_object_set_new(o, "reason", json_string(r->reason));
            json_object_set_new(o, "scope", json_pack("{s[s]}", r->scope_key, r->scope_value));
            break;
        case DEC_NEG_RELEASE:
        case DEC_POLICY_ENABLE:
        case DEC_POLICY_DISABLE:
        case DEC_RESUME:
        case DEC_FLEET_RESUME: break;
        default:
            if (reason)
                json_object_set_new(o, "reason", json_string(r->reason));
            break;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* Writes a JSON value with jansson's flags: the one place tail, snapshot and the export
 * print JSON. JSON_ENSURE_ASCII escapes everything above 0x7f (C1 controls included), and
 * jansson escapes the C0 controls, but leaves DEL (0x7f) raw; DEL can only stand inside
 * a string (key or value), so it is written as \u007F here. newline: end with one. */
static int write_json(FILE *f, json_t *v, size_t flags, bool newline)
{
    char *s = json_dumps(v, flags | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s)
        return -1;
    for (char *p = s, *del; *p; p = del + 1) {
        del = strchr(p, 0x7f);
        if (!del) {
            fputs(p, f);
            break;
        }
        fwrite(p, 1, (size_t)(del - p), f);
        fputs("\\u007F", f); /* upper case, as jansson writes its escapes */
    }
    if (newline)
        fputc('\n', f);
    free(s);
    return 0;
}

static int write_value(FILE *f, json_t *v, size_t flags)
{
    return write_json(f, v, flags, true);
}

int jc_write_ascii(FILE *f, json_t *v)
{
    return write_json(f, v, JSON_COMPACT | JSON_ENSURE_ASCII, false);
}

/* Prints a JSON value as one line of printable ASCII. */
static int print_value(FILE *f, json_t *v)
{
    return write_value(f, v, JSON_COMPACT | JSON_ENSURE_ASCII);
}

int json_print_event(FILE *f, const char *raw, size_t len)
{
    /* NUL allowed as the decoder allows it (jc_parse): an applied event is printed */
    json_t *root = json_loadb(raw, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_t *o = json_object();
    const char *keys[] = {"seq", "type", "at", "data"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(root, keys[i]);
        json_object_set(o, keys[i], v ? v : json_null());
    }
    int rc = print_value(f, o);
    json_decref(o);
    json_decref(root);
    return rc;
}

/* The index after the string that starts at s[i] ('"'), or len + 1 when it does not
 * end. */
static size_t string_end(const char *s, size_t i, size_t len)
{
    for (i++; i < len; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return len + 1;
}

/* The index after the (valid) JSON value that starts at s[i]: a string, an object or
 * array (brackets counted outside strings), or a literal or number (up to the next
 * delimiter); len + 1 when it does not end. */
static size_t value_end(const char *s, size_t i, size_t len)
{
    if (s[i] == '"')
        return string_end(s, i, len);
    if (s[i] != '{' && s[i] != '[') {
        while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ')
            i++;
        return i;
    }
    for (size_t depth = 0; i < len; i++) {
        if (s[i] == '"')
            i = string_end(s, i, len) - 1;
        else if (s[i] == '{' || s[i] == '[')
            depth++;
        else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
            return i + 1;
    }
    return len + 1;
}

/* The index of the first byte at or after i that is not a space. */
static size_t skip_spaces(const char *s, size_t i, size_t len)
{
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

bool json_event_verbatim(const char *raw, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)raw[i] < 0x20 || (unsigned char)raw[i] > 0x7e)
            return false; /* a control, DEL or non-ASCII: json_print_event escapes it */
    static const char *const keys[] = {"\"seq\"", "\"type\"", "\"at\"", "\"data\""};
    if (len < 2 || raw[0] != '{' || raw[len - 1] != '}')
        return false;
    size_t i = 1;
    for (size_t k = 0; k < 4; k++) {
        i = skip_spaces(raw, i, len);
        size_t kl = strlen(keys[k]);
        if (len - i < kl || memcmp(raw + i, keys[k], kl) != 0)
            return false; /* another key, another order, or a key written with escapes */
        i = skip_spaces(raw, i + kl, len);
        if (i >= len || raw[i] != ':')
            return false;
        i = skip_spaces(raw, i + 1, len);
        if (i >= len || (i = value_end(raw, i, len)) > len)
            return false;
        i = skip_spaces(raw, i, len);
        if (i >= len || raw[i] != (k < 3 ? ',' : '}'))
            return false;
        i++;
    }
    return i == len;
}

int json_print_event_decoded(FILE *f, const char *raw, size_t len)
{
    if (!json_event_verbatim(raw, len))
        return json_print_event(f, raw, len);
    fwrite(raw, 1, len, f);
    putc('\n', f);
    return 0;
}

int json_print_ascii(FILE *f, const char *raw, size_t len)
{
    json_t *root = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    if (!root)
        return -1;
    int rc = print_value(f, root);
    json_decref(root);
    return rc;
}

/* A sanitised text without its marks, as a JSON string ("" for none). */
static json_t *plain_string(const char *safe)
{
    size_t n = safe ? strlen(safe) + 1 : 1;
    char *plain = malloc(n);
    if (!plain)
        return NULL;
    text_strip_marks(safe ? safe : "", plain, n);
    json_t *v = json_string(plain);
    free(plain);
    return v;
}

/* An amount or quantity that is -1 when null. */
static json_t *int_or_null(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

/* One message of a thread, as the export writes it. */
static json_t *export_message(const model_message *m)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:I}", "seq", (json_int_t)m->seq, "from",
                     m->from, "kind", plain_string(model_msg_kind_label(m)), "unit_price_minor",
                     int_or_null(m->unit_price_minor), "quantity", int_or_null(m->quantity), "text",
                     plain_string(m->text.s), "at_ms", (json_int_t)m->at);
}

/* One thread and its messages, as the export writes it. */
static json_t *export_thread(const model_negotiation *g)
{
    json_t *msgs = json_array();
    for (size_t k = 0; msgs && k < g->nmessages; k++)
        if (json_array_append_new(msgs, export_message(&g->messages[k])) < 0) {
            json_decref(msgs);
            return NULL;
        }
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:I, s:o}", "id", g->id, "version",
                     (json_int_t)g->version, "listing_id", g->listing_id, "buyer_id", g->buyer_id,
                     "seller_id", g->seller_id, "status", plain_string(model_neg_status_label(g)),
                     "currency", g->currency, "message_count", (json_int_t)g->message_count,
                     "messages", msgs);
}

long json_write_threads(FILE *f, const store *st)
{
    size_t n;
    const model_negotiation *const *t = store_negotiations(st, &n);
    json_t *all = json_array();
    for (size_t i = 0; all && i < n; i++)
        if (json_array_append_new(all, export_thread(t[i])) < 0) {
            json_decref(all);
            all = NULL;
        }
    int rc = all ? write_value(f, all, JSON_INDENT(2)) : -1;
    json_decref(all);
    return rc < 0 ? -1 : (long)n;
}
