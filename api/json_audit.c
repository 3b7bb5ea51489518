/* json_audit.c: the audit chain's JSON on the console's side (api/json_audit.h). */
#include "api/json_audit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_canon.h"
#include "api/sha256.h"
#include "api/text.h"

/* True when s is 64 lower-case hex digits. */
static bool is_hash(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Copies a hash field (or "") into out[65]. */
static void hash_field(json_t *o, const char *key, char out[65])
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, 65, "%s", is_hash(s) ? s : "");
}

/* Reads a head object {n, hash, at}. */
static int head_of(json_t *o, audit_head *h)
{
    *h = (audit_head){0};
    json_t *n = json_object_get(o, "n");
    if (!json_is_object(o) || !json_is_integer(n) || json_integer_value(n) < 0)
        return -1;
    h->n = json_integer_value(n);
    hash_field(o, "hash", h->hash);
    const char *at = json_string_value(json_object_get(o, "at"));
    snprintf(h->at, sizeof h->at, "%s", at && strlen(at) < sizeof h->at ? at : "");
    return h->n == 0 || h->hash[0] ? 0 : -1;
}

int json_audit_head(const char *text, size_t len, audit_head *h)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    int rc = head_of(o, h);
    json_decref(o);
    return rc;
}

/* Checks entry o (a JSON object) into *e. */
static void check(json_t *o, audit_entry *e)
{
    *e = (audit_entry){0};
    json_t *n = json_object_get(o, "chain_n");
    e->n = json_is_integer(n) && json_integer_value(n) > 0 ? json_integer_value(n) : 0;
    const char *id = json_string_value(json_object_get(o, "id"));
    bool valid = id && (text_valid_id(id, "dec_") || text_valid_id(id, "led_"));
    snprintf(e->id, sizeof e->id, "%s", valid && strlen(id) < sizeof e->id ? id : "?");
    hash_field(o, "prev_hash", e->prev_hash);
    hash_field(o, "hash", e->hash);
    json_t *body = json_copy(o); /* shallow: the hash field left out */
    size_t len = 0;
    char *canon = NULL, hex[65];
    if (body && json_object_del(body, "hash") == 0)
        canon = json_canon(body, &len);
    if (canon && e->hash[0]) {
        sha256_hex(canon, len, hex);
        e->self_ok = strcmp(hex, e->hash) == 0;
    }
    free(canon);
    json_decref(body);
}

int json_audit_entry(const char *text, size_t len, audit_entry *e)
{
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    *e = (audit_entry){0};
    snprintf(e->id, sizeof e->id, "?");
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    check(o, e);
    json_decref(o);
    return 0;
}

int json_audit_page(const char *text, size_t len,
                    int (*fn)(void *ud, const char *line, const audit_entry *e), void *ud,
                    size_t *count)
{
    json_t *o = json_loadb(text, len, 0, NULL), *items = json_object_get(o, "items"), *it;
    size_t i;
    int rc = json_is_array(items) ? 0 : -1;
    *count = rc == 0 ? json_array_size(items) : 0;
    json_array_foreach(items, i, it)
    {
        if (rc != 0)
            break;
        audit_entry e;
        char *line = json_is_object(it) ? json_dumps(it, JSON_COMPACT) : NULL;
        if (!line) {
            rc = -1;
            break;
        }
        check(it, &e);
        rc = fn(ud, line, &e);
        free(line);
    }
    json_decref(o);
    return rc;
}

char *json_audit_header(const audit_head *h)
{
    json_t *o = json_pack("{si s{sI so so}}", "audit_export", AUDIT_EXPORT_VERSION, "head", "n",
                          (json_int_t)h->n, "hash", h->n ? json_string(h->hash) : json_null(), "at",
                          h->n ? json_string(h->at) : json_null());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

int json_audit_header_parse(const char *text, size_t len, audit_head *h)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    json_t *v = json_object_get(o, "audit_export");
    int rc = json_is_integer(v) && json_integer_value(v) == AUDIT_EXPORT_VERSION
                 ? head_of(json_object_get(o, "head"), h)
                 : -1;
    json_decref(o);
    return rc;
}
