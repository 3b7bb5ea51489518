/* json.h: every JSON of the contract, decoded into the model or encoded from requests.
 *
 * The only file of api/ that includes jansson. Every string from the network is
 * sanitised here, once (api/text.h, in the mode chosen at start-up), and every value is
 * checked against the contract: ids (text_valid_id with their prefix), amounts
 * (integers within money_in_range; postings may be negative), currencies
 * (money_currency_valid), enumerations and times. A value outside the contract rejects
 * the whole object with a message naming the field; nothing is "repaired".
 *
 * The server grows new names, so a status, kind, role, severity, rule or error code
 * this client does not know is not outside the contract: the object is kept, its enum
 * holds *_UNKNOWN (or a documented safe value) and the value is kept as sent, sanitised
 * (model_raw in api/model.h), for the screen to show. An unknown purchase status is
 * never decidable; an unknown severity counts as critical. Refused still are the values
 * that change what a decision means: a currency this build does not know (every amount
 * of the object is in it) and an unknown fleet status (whether `halt` or `resume` is the
 * decision at hand).
 */
#ifndef DEALDESK_API_JSON_H
#define DEALDESK_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api/decision.h"
#include "api/evidence.h"
#include "api/model.h"
#include "api/text.h"

/* Results of the decoders. */
typedef enum json_result {
    JSON_OK = 0,
    JSON_BAD = -1,     /* not JSON, or outside the contract (err says which field) */
    JSON_UNKNOWN = -2, /* a well-formed event of a type this client does not know */
    JSON_NOMEM = -3
} json_result;

/* Decodes the data of one stream event ({seq, type, at, data}) into *out (which then
 * owns its strings: model_event_free). type is the SSE event type, which must agree with
 * the JSON's. */
json_result json_decode_event(const char *type, const char *data, size_t len, text_mode mode,
                              model_event *out, char *err, size_t errsz);

/* Decodes a presence document ({supervisors: [{name, consoles, since, last_seen}],
 * viewers}, GET /v1/presence) or a presence.updated event holding one as its data: how
 * many supervisors are present, how many viewers watch, and whether operator me (a
 * sanitised name; may be "") is among the supervisors (api/json_presence.c). */
json_result json_decode_presence(const char *json, size_t len, const char *me, int *supervisors,
                                 int *viewers, bool *me_present);

/* Decodes a `reset` event's data ({epoch, seq}). epoch gets the epoch as text. */
json_result json_decode_reset(const char *data, size_t len, char *epoch, size_t epochsz,
                              int64_t *seq, char *err, size_t errsz);

/* Decodes a whole snapshot into st: store_reset() to its epoch and seq, then every
 * object with store_load() and the balances. Objects outside the contract are skipped
 * and counted in *rejected; a snapshot that is not JSON or lacks epoch/seq is JSON_BAD
 * (and st is left untouched). */
json_result json_decode_snapshot(const char *body, size_t len, text_mode mode, store *st,
                                 uint64_t *rejected, char *err, size_t errsz);

/* Decodes a page of a thread's messages ({items, next}) into st with store_load().
 * Rejected items are counted in *rejected; *last_seq gets the highest message seq seen
 * and *more whether `next` says there is another page. */
json_result json_decode_messages(const char *body, size_t len, text_mode mode, store *st,
                                 uint64_t *rejected, int64_t *last_seq, bool *more);

/* Decodes a page of a list (GET /v1/{kind}: {items, next, seq?}) of a kind: *rows gets
 * the items within the contract (an owned array of *nrows events of that kind: each
 * model_event_free, then free the array; also on JSON_BAD it may be set), the others are
 * counted in *rejected; next gets the cursor of the next page ("" on the last: `next`
 * null), a cursor that is not 1..nextsz-1 printable ASCII bytes is JSON_BAD; *seq the
 * market's seq when the answer has one, else 0. */
json_result json_decode_page(model_kind kind, const char *body, size_t len, text_mode mode,
                             model_event **rows, size_t *nrows, char *next, size_t nextsz,
                             int64_t *seq, uint64_t *rejected, char *err, size_t errsz);

/* A page of threads with the listings they name (GET /v1/negotiations?include=listings: a
 * staged snapshot's backfill, api/client_backfill.c), parsed an element at a time.
 * json_page_next: only its `next` into next ("" on the last page; JSON_BAD when it is not
 * a cursor, as json_decode_page says), read without decoding the items, so that the next
 * page can be asked for first. json_decode_threads_page: the items (MODEL_NEGOTIATION)
 * and the listings (MODEL_LISTING) within the contract, as json_decode_page gives its
 * items (owned arrays; each model_event_free, then free; set also on JSON_BAD), the others
 * counted in *rejected. */
json_result json_page_next(const char *body, size_t len, char *next, size_t nextsz);
json_result json_decode_threads_page(const char *body, size_t len, text_mode mode,
                                     model_event **threads, size_t *nthreads,
                                     model_event **listings, size_t *nlistings, uint64_t *rejected);

/* The code and the `field` of an error answer ({error, message, field?}), sanitised, "" for
 * none. */
void json_decode_error(const char *body, size_t len, text_mode mode, char *code, size_t codesz,
                       char *field, size_t fieldsz);

/* Decodes one object of a kind (a GET /v1/{kind}/{id} answer, an error's `current`). */
json_result json_decode_object(model_kind kind, const char *body, size_t len, text_mode mode,
                               model_event *out, char *err, size_t errsz);

/* Decodes GET /v1/whoami ({name, role}): name sanitised, marks stripped. */
json_result json_decode_whoami(const char *body, size_t len, text_mode mode, char *name,
                               size_t namesz, char *role, size_t rolesz);

/* Fills an outcome from a decision's answer: error code, sanitised message, and the
 * `current` object (or, on 2xx, the body itself) decoded as kind. */
void json_decode_outcome(const char *body, size_t len, model_kind kind, text_mode mode,
                         decision_outcome *o);

/* Encodes a decision's body. Returns an owned string, or NULL (memory). */
char *json_decision_body(const decision_req *r);

/* Prints one event as one line of ASCII JSON {seq, type, at, data} (every control and
 * non-ASCII character escaped, so nothing can act on a terminal). Returns 0, or -1 when
 * raw is not a JSON object. */
int json_print_event(FILE *f, const char *raw, size_t len);

/* Whether an event's JSON, as received, is already what json_print_event prints, up to
 * spaces and the spelling of numbers and escapes: every byte printable ASCII (no control,
 * DEL or byte above 0x7e, so nothing to escape), and exactly the keys "seq", "type", "at",
 * "data" in that order, each once. raw must be valid JSON (json_decode_event accepted
 * it): the values are skipped, not checked. */
bool json_event_verbatim(const char *raw, size_t len);

/* Prints an event json_decode_event accepted as one line: its text as received when
 * json_event_verbatim says so (no parse, no encode: `dealdesk tail`'s speed), else
 * through json_print_event. Returns 0, or -1 as json_print_event. */
int json_print_event_decoded(FILE *f, const char *raw, size_t len);

/* Prints a JSON document as one line of ASCII JSON (keys in their order). Returns 0 or
 * -1 when it is not JSON. */
int json_print_ascii(FILE *f, const char *raw, size_t len);

/* Reads one page of a list for json_print_state: GET /v1/{path}?limit=1000 (and
 * &after=AFTER, percent-encoded, unless after is ""); the answer's body in *body (owned,
 * malloc'ed). Returns 0, or -1 with a message in err (nothing more is printed). */
typedef int (*json_page_fn)(void *ud, const char *path, const char *after, char **body, size_t *len,
                            char *err, size_t errsz);

/* Prints the whole state for `dealdesk snapshot` as one line of ASCII JSON: the members of
 * the snapshot snap (epoch, seq, fleet, agents, ledger.balances, history, and any member
 * this build does not know) in their order, each list of history (listings,
 * negotiations, purchases, alerts, decisions, ledger.entries) replaced by every object
 * the server holds, in creation order, read page by page with fetch and printed as it
 * comes (one page in memory at a time). Objects outside the contract are printed as sent
 * and counted in *rejected. Returns 0, or -1 with err (the line is then incomplete). */
int json_print_state(FILE *f, const char *snap, size_t len, text_mode mode, json_page_fn fetch,
                     void *ud, uint64_t *rejected, char *err, size_t errsz);

/* Prints the evidence of dispute d (api/evidence.h) as one line of ASCII JSON: {dispute,
 * version, status, reason, currency, facts: {amounts in minor units, counts; null when not
 * known}, lines: [{section, mark, text}]}: the lines are the evidence view's, text without
 * its marks. Returns 0 or -1. */
int json_print_evidence(FILE *f, const model_dispute *d, const evidence *e);

/* Writes every thread of the store with its messages (`:export threads`) as a JSON array,
 * text without its marks; amounts in minor units, times as at_ms. Returns the number of
 * threads, or -1 (memory). */
long json_write_threads(FILE *f, const store *st);

/* Reads the time "at" of a document in ms since the epoch (clock_parse_rfc3339), or -1. */
int64_t json_peek_at(const char *raw, size_t len);

/* Reads the integer "seq" of a document, or -1 (for the record file and replay). */
int64_t json_peek_seq(const char *raw, size_t len);

#endif
