/* sse.h: a Server-Sent Events parser that follows the WHATWG rules exactly.
 *
 * Bytes go in, in chunks split anywhere (inside a line, a CRLF, a UTF-8 character); whole
 * events come out through a callback. Line ends are LF, CR or CRLF (a CR at the end of
 * one chunk and its LF at the start of the next count once); a UTF-8 BOM at the very
 * start is skipped; lines starting with ':' are comments; `data` lines are joined with
 * LF; `id` sets the last event id unless its value holds a NUL; `retry` is taken only
 * when it is all ASCII digits; an event without `event:` has the type "message"; a
 * partial event at the end of the stream is discarded (sse_reset drops it).
 *
 * Memory is bounded: a line longer than the limit is cut and ignored, and the event it
 * belonged to (when it was a data line) is dropped; an event whose data grows past the
 * limit is dropped; both are counted. The parser never holds more than about twice
 * the limit.
 */
#ifndef DEALDESK_API_SSE_H
#define DEALDESK_API_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_DEFAULT_MAX_EVENT (256u * 1024u) /* bytes of data per event */
#define SSE_MAX_ID            256            /* bytes of an id; longer ids are ignored */

/* One dispatched event; every pointer is borrowed and valid only during the callback.
 * data is NUL-terminated (it may also hold NULs: use datalen). */
typedef struct sse_event {
    const char *type; /* "message" when the event had no type */
    const char *data;
    size_t datalen;
    const char *id; /* the last event id ("" when none was ever set) */
} sse_event;

typedef void (*sse_event_fn)(void *ud, const sse_event *ev);

typedef struct sse_parser sse_parser;

/* Returns a new parser (owned; NULL on out of memory) that calls fn for each event.
 * max_event bounds the data of one event (0 = SSE_DEFAULT_MAX_EVENT). */
sse_parser *sse_new(size_t max_event, sse_event_fn fn, void *ud);
void sse_free(sse_parser *p);

/* Feeds len bytes. Events complete in them are dispatched before it returns. Returns 0,
 * or -1 when memory ran out (the parser is then reset). */
int sse_feed(sse_parser *p, const char *buf, size_t len);

/* Starts a new stream (a reconnection): discards a partial line and event and expects a
 * BOM again. The last event id and the retry time are kept, as the standard says. */
void sse_reset(sse_parser *p);

/* The last event id (borrowed; "" when none). */
const char *sse_last_id(const sse_parser *p);

/* The reconnection time from the last valid `retry:` field in ms, or -1 when none. */
int64_t sse_retry_ms(const sse_parser *p);

/* Events dropped for size, and lines cut for size (counters since sse_new). */
uint64_t sse_dropped_events(const sse_parser *p);
uint64_t sse_dropped_lines(const sse_parser *p);

#endif
