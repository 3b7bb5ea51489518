/* api.h: the marketplace as data and I/O — the one public header of api/.
 *
 * | file        | holds                                                                  |
 * |-------------|------------------------------------------------------------------------|
 * | model.h/.c  | the domain types (agents, listings, threads, purchases, ...) and the   |
 * |             | store's interface; freeing objects; the one table of enumeration names |
 * | store.c     | the store: collections indexed by id, ordered views, change counters; |
 * |             | its one mutator applies one event (pure: libc and model.h only)       |
 * | store_keep.c | the working set (issue 14): which events enter, the amortised sweep  |
 * |             | evicting closed objects, watched threads, history totals (store_int.h) |
 * | pages.h/.c  | history read a page at a time: the bounded cache of queries' rows     |
 * |             | (pure data; the client fills it)                                      |
 * | money.h/.c  | amounts as int64 minor units + ISO 4217 currency: parse, format, check |
 * | text.h/.c   | untrusted text made safe for a terminal (sanitise once, on the way in) |
 * | clock.h/.c  | the one monotonic and the one wall clock (ms); RFC 3339 times parsed  |
 * | sse.h/.c    | the WHATWG Server-Sent Events parser (bounded memory)                  |
 * | json.h/.c   | every JSON of the contract decoded and checked, field by field: the    |
 * |             | objects and one event (json*.c are the only files with jansson)       |
 * | json_doc.c  | whole documents read: snapshot, a page of messages, reset, whoami, a  |
 * |             | decision's answer (json_int.h: what the JSON files share)             |
 * | json_write.c | what is written as JSON: decision bodies, tail's and snapshot's      |
 * |             | ASCII lines, the threads export                                       |
 * | http.h/.c   | libcurl multi transfers and the program's one wait; one blocking GET  |
 * |             | for the headless commands and --demo (the only file with libcurl)      |
 * | client.h/.c | the connection state machine: snapshot, stream, re-sync, backoff; the |
 * |             | public API (client_int.h: what its files share)                        |
 * | client_util.c | jitter, the error line, the apply queue's items, state names      |
 * | client_req.c | decisions beside the stream (journal, retries) and thread history    |
 * | client_replay.c | recording the stream, and replaying a recording                   |
 * | client_pages.c | the requests of history pages (GET /v1/{kind}?...&after=)          |
 * | client_presence.c | a console's presence: POST /v1/presence on keys, the counts      |
 * | json_presence.c | the presence document (GET /v1/presence, presence.updated)         |
 * | json_dispute.c | a Dispute decoded (issue 17); a dispute's evidence printed as JSON   |
 * | decision.h/.c | decision requests as data: names, checks, paths                     |
 * | evidence.h/.c | a dispute's evidence as lines and figures: the one source of the    |
 * |             | Disputes pane's evidence view and `dealdesk disputes show` (pure)     |
 * | journal.h/.c  | the append-only, fsynced decision journal (idempotency keys)         |
 * | config.h/.c   | settings from flags, environment and the config file; the token file |
 *
 * Reading order: model.h, store.c, clock.c, sse.c, json.c, client.c (and http.c),
 * decision.c, journal.c, config.c. Nothing here includes curses.
 */
#ifndef DEALDESK_API_API_H
#define DEALDESK_API_API_H

#include "api/client.h"
#include "api/clock.h"
#include "api/config.h"
#include "api/decision.h"
#include "api/evidence.h"
#include "api/http.h"
#include "api/journal.h"
#include "api/json.h"
#include "api/model.h"
#include "api/money.h"
#include "api/pages.h"
#include "api/sse.h"
#include "api/text.h"

#endif
