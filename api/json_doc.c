/* json_doc.c: the contract's documents read (see json.h): a snapshot, a page of a
 * thread's messages, a reset, whoami, a decision's answer; the seq and time of a
 * recorded event. Objects are decoded by json.c (json_int.h). */
#include "api/json.h"
#include "api/json_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/clock.h"
#include "api/money.h"

/* Decodes one object of a document on its own: its error is not the document's. */
static int decode_one(text_mode mode, model_kind kind, json_t *o, model_event *ev)
{
    jctx one = {.mode = mode};
    return jc_decode(&one, kind, o, ev);
}

/* The epoch (string or integer) as text. */
static int get_epoch(jctx *c, json_t *o, char *epoch, size_t size)
{
    json_t *v = json_object_get(o, "epoch");
    if (json_is_integer(v))
        snprintf(epoch, size, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < size &&
             text_valid_id(json_string_value(v), NULL))
        snprintf(epoch, size, "%s", json_string_value(v));
    else
        return jc_fail(c, "epoch: missing or not an id or integer");
    return 0;
}

json_result json_decode_reset(const char *data, size_t len, char *epoch, size_t epochsz,
                              int64_t *seq, char *err, size_t errsz)
{
    jctx c = {.err = err, .errsz = errsz};
    json_t *root = jc_parse(data, len, &c);
    if (!root)
        return JSON_BAD;
    int rc = get_epoch(&c, root, epoch, epochsz) < 0 ||
                     jc_get_int(&c, root, "seq", 0, INT64_MAX, seq, false, 0) < 0
                 ? -1
                 : 0;
    json_decref(root);
    return rc < 0 ? JSON_BAD : JSON_OK;
}

/* Loads every object of a snapshot array into the store. */
static json_result load_array(jctx *c, store *st, json_t *arr, model_kind kind, uint64_t *rejected)
{
    size_t i;
    json_t *o;
    if (!arr || json_is_null(arr))
        return JSON_OK;
    if (!json_is_array(arr)) {
        (*rejected)++;
        return JSON_OK;
    }
    json_array_foreach(arr, i, o)
    {
        model_event ev = {0};
        if (decode_one(c->mode, kind, o, &ev) < 0) {
            (*rejected)++;
            if (!c->failed && c->err)
                snprintf(c->err, c->errsz, "%s[%zu]: %s", model_kind_event_type(kind), i,
                         "outside the contract");
            continue;
        }
        store_result r = store_load(st, &ev);
        model_event_free(&ev);
        if (r == STORE_NOMEM)
            return JSON_NOMEM;
    }
    return JSON_OK;
}

/* A snapshot array's objects decoded before any is loaded (json_decode_snapshot: a bad
 * document changes nothing). */
typedef struct decoded {
    jctx *c;
    model_kind kind;
    uint64_t *rejected;
    model_event *ev;
    size_t n, cap;
    bool nomem;
} decoded;

/* Decodes one element of an array (jc_each's fn); one outside the contract is counted. */
static int collect(void *ud, json_t *o, size_t i)
{
    decoded *d = ud;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        model_event *ev = realloc(d->ev, cap * sizeof *ev);
        if (!ev) {
            d->nomem = true;
            return -1;
        }
        d->ev = ev;
        d->cap = cap;
    }
    memset(&d->ev[d->n], 0, sizeof d->ev[d->n]);
    if (decode_one(d->c->mode, d->kind, o, &d->ev[d->n]) < 0) {
        (*d->rejected)++;
        if (!d->c->failed && d->c->err)
            snprintf(d->c->err, d->c->errsz, "%s[%zu]: %s", model_kind_event_type(d->kind), i,
                     "outside the contract");
        return 0;
    }
    d->n++;
    return 0;
}

/* Frees what collect decoded (what the store took is empty by now). */
static void free_decoded(decoded *d)
{
    for (size_t i = 0; i < d->n; i++)
        model_event_free(&d->ev[i]);
    free(d->ev);
    d->ev = NULL;
    d->n = d->cap = 0;
}

/* Loads what collect decoded into the store, and frees it. */
static json_result load_decoded(store *st, decoded *d)
{
    json_result r = JSON_OK;
    for (size_t i = 0; i < d->n && r == JSON_OK; i++)
        if (store_load(st, &d->ev[i]) == STORE_NOMEM)
            r = JSON_NOMEM;
    free_decoded(d);
    return r;
}

/* The snapshot's `history` ({kind: {total}}): how many of each kind the server holds
 * (store_history_total). A total absent or not a count stays unknown (-1). */
static void load_history(store *st, json_t *h)
{
    static const struct {
        const char *key;
        model_kind kind;
    } kinds[] = {{"listings", MODEL_LISTING},   {"negotiations", MODEL_NEGOTIATION},
                 {"purchases", MODEL_PURCHASE}, {"alerts", MODEL_ALERT},
                 {"ledger", MODEL_LEDGER},      {"decisions", MODEL_DECISION},
                 {"disputes", MODEL_DISPUTE}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *t = json_object_get(json_object_get(h, kinds[i].key), "total");
        if (json_is_integer(t) && json_integer_value(t) >= 0)
            store_set_history_total(st, kinds[i].kind, json_integer_value(t));
    }
}

json_result json_decode_snapshot(const char *body, size_t len, text_mode mode, store *st,
                                 uint64_t *rejected, char *err, size_t errsz)
{
    jctx c = {.mode = mode, .err = err, .errsz = errsz};
    static const struct {
        const char *key;
        model_kind kind;
    } arrays[] = {{"agents", MODEL_AGENT},
                  {"listings", MODEL_LISTING},
                  {"negotiations", MODEL_NEGOTIATION},
                  {"purchases", MODEL_PURCHASE},
                  {"alerts", MODEL_ALERT},
                  {"decisions", MODEL_DECISION},
                  {"claims", MODEL_CLAIM}, /* after the purchases they are kept with */
                  {"policies", MODEL_POLICY},
                  {"disputes", MODEL_DISPUTE}};
#define NARRAYS (sizeof arrays / sizeof arrays[0])
    /* the arrays are parsed an element at a time (jc_parse_lazy): the whole snapshot as
     * one tree was most of a large market's first frame (docs/benchmarks.md) */
    const char *keys[NARRAYS], *text[NARRAYS];
    size_t tlen[NARRAYS];
    decoded d[NARRAYS] = {{0}};
    for (size_t i = 0; i < NARRAYS; i++)
        keys[i] = arrays[i].key;
    json_t *root = jc_parse_lazy(body, len, &c, keys, NARRAYS, text, tlen);
    if (!root)
        return JSON_BAD;
    char epoch[64];
    int64_t seq;
    json_result r = JSON_BAD;
    if (!json_is_object(root) ? jc_fail(&c, "not a JSON object") < 0
                              : get_epoch(&c, root, epoch, sizeof epoch) < 0 ||
                                    jc_get_int(&c, root, "seq", 0, INT64_MAX, &seq, false, 0) < 0)
        goto done;
    if (err && errsz)
        err[0] = '\0';
    for (size_t i = 0; i < NARRAYS; i++) { /* all decoded before the store changes */
        d[i] = (decoded){.c = &c, .kind = arrays[i].kind, .rejected = rejected};
        if (text[i] && jc_each(text[i], tlen[i], &c, collect, &d[i]) < 0) {
            r = d[i].nomem ? JSON_NOMEM : JSON_BAD;
            goto done;
        }
    }
    store_reset(st, epoch, seq);
    for (size_t i = 0; i < NARRAYS; i++) {
        r = text[i] ? load_decoded(st, &d[i])
                    : load_array(&c, st, json_object_get(root, arrays[i].key), arrays[i].kind,
                                 rejected);
        if (r != JSON_OK)
            goto done;
    }
    json_t *ledger = json_object_get(root, "ledger");
    if (json_is_object(ledger)) {
        r = load_array(&c, st, json_object_get(ledger, "entries"), MODEL_LEDGER, rejected);
        if (r != JSON_OK)
            goto done;
        const char *acc;
        json_t *amt;
        json_object_foreach(json_object_get(ledger, "balances"), acc, amt)
        {
            if (!jc_valid_account(acc) || strlen(acc) >= MODEL_ID_MAX + 8 ||
                !json_is_integer(amt) || json_integer_value(amt) < -MONEY_MAX_MINOR ||
                json_integer_value(amt) > MONEY_MAX_MINOR) {
                (*rejected)++;
                continue;
            }
            if (store_set_balance(st, acc, json_integer_value(amt)) < 0) {
                r = JSON_NOMEM;
                goto done;
            }
        }
    }
    load_history(st, json_object_get(root, "history"));
    /* a staged snapshot's: some open threads are read after it (model.h) */
    store_set_live_more(
        st, json_is_true(json_object_get(json_object_get(root, "open_threads"), "more")));
    json_t *fleet = json_object_get(root, "fleet");
    if (fleet && !json_is_null(fleet)) {
        model_event ev = {0};
        if (decode_one(mode, MODEL_FLEET, fleet, &ev) == 0)
            store_load(st, &ev);
        else
            (*rejected)++;
        model_event_free(&ev);
    }
    r = JSON_OK;
done:
    for (size_t i = 0; i < NARRAYS; i++)
        free_decoded(&d[i]); /* what was not loaded */
    json_decref(root);
    return r;
#undef NARRAYS
}

json_result json_decode_messages(const char *body, size_t len, text_mode mode, store *st,
                                 uint64_t *rejected, int64_t *last_seq, bool *more)
{
    jctx c = {.mode = mode};
    json_t *root = jc_parse(body, len, &c);
    *more = false;
    if (!root)
        return JSON_BAD;
    json_t *items = json_object_get(root, "items");
    if (!json_is_array(items)) {
        json_decref(root);
        return JSON_BAD;
    }
    size_t i;
    json_t *o;
    json_result r = JSON_OK;
    json_array_foreach(items, i, o)
    {
        model_event ev = {0};
        if (decode_one(mode, MODEL_MESSAGE, o, &ev) < 0) {
            (*rejected)++;
            continue;
        }
        if (ev.u.message.seq > *last_seq)
            *last_seq = ev.u.message.seq;
        store_result sr = store_load(st, &ev);
        model_event_free(&ev);
        if (sr == STORE_NOMEM) {
            r = JSON_NOMEM;
            break;
        }
    }
    json_t *next = json_object_get(root, "next");
    *more = next && !json_is_null(next) && json_array_size(items) > 0;
    json_decref(root);
    return r;
}

/* Whether a cursor is one to send back: 1..size-1 printable ASCII bytes (it goes into a
 * URL, percent-encoded, and never to the screen). */
bool jc_cursor_ok(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n == 0 || n >= size)
        return false;
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e)
            return false;
    return true;
}

json_result json_decode_page(model_kind kind, const char *body, size_t len, text_mode mode,
                             model_event **rows, size_t *nrows, char *next, size_t nextsz,
                             int64_t *seq, uint64_t *rejected, char *err, size_t errsz)
{
    jctx c = {.mode = mode, .err = err, .errsz = errsz};
    *rows = NULL;
    *nrows = 0;
    next[0] = '\0';
    *seq = 0;
    json_t *root = jc_parse(body, len, &c);
    if (!root)
        return JSON_BAD;
    json_t *items = json_object_get(root, "items"), *nx = json_object_get(root, "next");
    json_result r = JSON_BAD;
    if (!json_is_array(items)) {
        jc_fail(&c, "items: missing or not an array");
        goto done;
    }
    if (nx && !json_is_null(nx)) {
        if (!json_is_string(nx) || !jc_cursor_ok(json_string_value(nx), nextsz)) {
            jc_fail(&c, "next: not a cursor");
            goto done;
        }
        snprintf(next, nextsz, "%s", json_string_value(nx));
    }
    int64_t s = 0; /* the market's seq, when the server says (optional) */
    if (jc_get_int(&c, root, "seq", 0, INT64_MAX, &s, true, 0) == 0)
        *seq = s;
    else if (err && errsz)
        err[0] = '\0'; /* a seq outside the contract is only not known */
    r = JSON_NOMEM;
    *rows = calloc(json_array_size(items) ? json_array_size(items) : 1, sizeof **rows);
    if (!*rows)
        goto done;
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        if (decode_one(mode, kind, o, &(*rows)[*nrows]) < 0) {
            memset(&(*rows)[*nrows], 0, sizeof **rows);
            (*rejected)++;
            continue;
        }
        (*nrows)++;
    }
    r = JSON_OK;
done:
    json_decref(root);
    return r;
}

void json_decode_error(const char *body, size_t len, text_mode mode, char *code, size_t codesz,
                       char *field, size_t fieldsz)
{
    jctx c = {.mode = mode};
    code[0] = field[0] = '\0';
    json_t *root = body && len ? jc_parse(body, len, &c) : NULL;
    if (!root)
        return;
    jc_safe_copy(json_object_get(root, "error"), mode, code, codesz);
    jc_safe_copy(json_object_get(root, "field"), mode, field, fieldsz);
    json_decref(root);
}

json_result json_decode_whoami(const char *body, size_t len, text_mode mode, char *name,
                               size_t namesz, char *role, size_t rolesz)
{
    jctx c = {.mode = mode};
    json_t *root = jc_parse(body, len, &c);
    if (!root)
        return JSON_BAD;
    jc_safe_copy(json_object_get(root, "name"), mode, name, namesz);
    if (jc_get_word(&c, root, "role", role, rolesz) < 0)
        snprintf(role, rolesz, "unknown");
    json_decref(root);
    return JSON_OK;
}

void json_decode_outcome(const char *body, size_t len, model_kind kind, text_mode mode,
                         decision_outcome *o)
{
    jctx c = {.mode = mode};
    json_t *root = body && len ? jc_parse(body, len, &c) : NULL;
    if (!root)
        return;
    json_t *cur = root;
    if (!o->ok) {
        jc_safe_copy(json_object_get(root, "message"), mode, o->message, sizeof o->message);
        /* any code, known or not, is shown as sent (sanitised) */
        jc_safe_copy(json_object_get(root, "error"), mode, o->error_code, sizeof o->error_code);
        cur = json_object_get(root, "current");
    }
    if (kind < MODEL_KIND_COUNT && json_is_object(cur)) {
        if (decode_one(mode, kind, cur, &o->current) == 0)
            o->has_current = true;
    }
    json_decref(root);
}

int64_t json_peek_seq(const char *raw, size_t len)
{
    json_t *root = json_loadb(raw, len, 0, NULL);
    json_t *v = json_object_get(root, "seq");
    int64_t seq = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(root);
    return seq;
}

int64_t json_peek_at(const char *raw, size_t len)
{
    json_t *root = json_loadb(raw, len, 0, NULL);
    json_t *v = json_object_get(root, "at");
    int64_t at = -1;
    if (!json_is_string(v) || clock_parse_rfc3339(json_string_value(v), &at) < 0)
        at = -1;
    json_decref(root);
    return at;
}
