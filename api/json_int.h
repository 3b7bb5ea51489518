/* json_int.h: what the files of the JSON module share (json.c decodes objects and fields;
 * json_doc.c reads whole documents with them). Not for use outside api/json*.c: it
 * names jansson's types. */
#ifndef DEALDESK_API_JSON_INT_H
#define DEALDESK_API_JSON_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api/json.h"

/* What every decoder carries: the text mode and where the first error goes. */
typedef struct jctx {
    text_mode mode;
    char *err;
    size_t errsz;
    bool failed;
} jctx;

/* Records the first error ("field: what") and returns -1. */
int jc_fail(jctx *c, const char *fmt, ...);

/* Parses len bytes of JSON (duplicate keys refused); NULL with the error recorded. */
json_t *jc_parse(const char *s, size_t len, jctx *c);

/* Whether a page's `next` is a cursor to send back: 1..size-1 printable ASCII bytes. */
bool jc_cursor_ok(const char *s, size_t size);

/* Parses a JSON object as jc_parse does, but leaves each member named in lazy (n names)
 * whose value is an array as text (text[i], tlen[i]; NULL when it is not there as an
 * array: then it is in the object, if at all), only scanned for its end: its elements are
 * parsed later one at a time (jc_each), so that a large document never stands as one tree
 * (json_state.c; the snapshot). NULL with the error recorded. */
json_t *jc_parse_lazy(const char *s, size_t len, jctx *c, const char *const *lazy, size_t n,
                      const char **text, size_t *tlen);

/* Parses each element of the JSON array text s on its own and gives it to fn (its tree is
 * freed after fn returns); fn returns 0, or -1 to stop. 0, or -1 (a syntax error recorded,
 * or fn's -1). */
int jc_each(const char *s, size_t len, jctx *c, int (*fn)(void *ud, json_t *o, size_t i), void *ud);

/* An integer field within [min, max]; nullable: null/absent gives dflt. 0 or -1. */
int jc_get_int(jctx *c, json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
               bool nullable, int64_t dflt);

/* json.c's field readers (see there): an id with a prefix (nullable: ""), a sanitised text
 * (nullable: s NULL), an amount (nullable: -1), an RFC 3339 time (nullable: 0), an
 * enumeration the server may grow (unknown kept in raw), a known currency. 0 or -1. */
int jc_get_id(jctx *c, json_t *o, const char *key, const char *prefix, char *out, bool nullable);
int jc_get_text(jctx *c, json_t *o, const char *key, model_text *t, bool nullable);
int jc_get_money(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable);
int jc_get_time(jctx *c, json_t *o, const char *key, int64_t *out, bool nullable);
int jc_get_enum_raw(jctx *c, json_t *o, const char *key, const char *const *names, int n,
                    int unknown, int *out, model_raw raw);
int jc_get_currency(jctx *c, json_t *o, const char *key, char out[4]);

/* A Dispute into d (json_dispute.c). 0, or -1 with the error recorded. */
int jc_dec_dispute(jctx *c, json_t *o, model_dispute *d);

/* A short word field (a role): 1..size-1 of [a-z0-9_.]. 0 or -1. */
int jc_get_word(jctx *c, json_t *o, const char *key, char *out, size_t size);

/* Copies a sanitised, mark-free version of a JSON string into out ("" for none). */
void jc_safe_copy(json_t *v, text_mode mode, char *out, size_t size);

/* True for a ledger account: "agent:<id>" and the like. */
bool jc_valid_account(const char *s);

/* Decodes an object of kind into ev (ev->kind set); on failure frees what was decoded
 * and returns -1. */
int jc_decode(jctx *c, model_kind kind, json_t *o, model_event *ev);

/* A Policy into p, and a purchase's `policy` and `policy_shadow` into p (json_policy.c).
 * 0, or -1 with the error recorded (the caller frees what was decoded). */
int jc_dec_policy(jctx *c, json_t *o, model_policy *p);
int jc_purchase_policies(jctx *c, json_t *o, model_purchase *p);

/* Writes a value as compact, printable ASCII JSON (no newline; json_write.c: the one
 * writer of the lines tail and snapshot print). Returns 0 or -1. */
int jc_write_ascii(FILE *f, json_t *v);

#endif
