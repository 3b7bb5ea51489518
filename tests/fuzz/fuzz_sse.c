/* fuzz_sse.c: the SSE parser on arbitrary bytes. The same input fed whole and split at
 * two points derived from it must give the same events; every event's data is
 * NUL-terminated at datalen and within the limit; nothing leaks or overflows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/sse.h"

typedef struct rec {
    uint64_t hash; /* of every event's type, id and data, in order */
    size_t n;
} rec;

/* Mixes bytes into h (FNV-1a). */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void on_event(void *ud, const sse_event *ev)
{
    rec *r = ud;
    if (ev->data[ev->datalen] != '\0' || ev->datalen > 512)
        abort();
    r->hash = mix(r->hash, ev->type, strlen(ev->type) + 1);
    r->hash = mix(r->hash, ev->id, strlen(ev->id) + 1);
    r->hash = mix(r->hash, ev->data, ev->datalen);
    r->hash = mix(r->hash, "|", 1);
    r->n++;
}

/* Runs the input through a parser, cut at a and b. */
static rec run(const uint8_t *d, size_t n, size_t a, size_t b, int64_t *retry)
{
    rec r = {14695981039346656037ULL, 0};
    sse_parser *p = sse_new(512, on_event, &r);
    if (!p)
        abort();
    if (a > n)
        a = n;
    if (b < a)
        b = a;
    if (b > n)
        b = n;
    sse_feed(p, (const char *)d, a);
    sse_feed(p, (const char *)d + a, b - a);
    sse_feed(p, (const char *)d + b, n - b);
    *retry = sse_retry_ms(p);
    sse_free(p);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t r1, r2;
    rec whole = run(data, size, size, size, &r1);
    size_t a = size ? data[0] % (size + 1) : 0;
    size_t b = size > 1 ? a + data[1] % (size - a + 1) : a;
    rec split = run(data, size, a, b, &r2);
    if (whole.hash != split.hash || whole.n != split.n || r1 != r2)
        abort();
    return 0;
}
