/* bench_ingest.c: how fast dealdesk takes in a stream, and what the store costs.
 *
 *   ingest       1,000,000 realistic events (threads, offers, purchases, alerts, ledger)
 *                as SSE bytes, through parse + decode + store on one core: events/s
 *   json_loads   the same event payloads through a bare jansson json_loads/decref loop,
 *                for comparison (the floor any jansson decoder pays)
 *   memory       heap bytes per listing, per message and per ledger entry held in the
 *                store (glibc mallinfo2 before and after, realistic text lengths)
 *
 * Events are generated in batches of 50,000 outside the timed part. Usage:
 * bench_ingest [EVENTS] (default 1000000). With BENCH_PAYLOADS=FILE the payloads are also
 * written to FILE, one JSON line each (tests/bench/run.sh times `jq -c .` over them).
 */
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/json.h"
#include "api/model.h"
#include "api/sse.h"
#include "api/text.h"

#define BATCH 50000

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

/* Appends formatted text. */
static void add(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap ? b->cap * 2 : 1 << 20;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
}

/* CPU seconds of this process (one core: the bench is single-threaded). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const words[] = {"H100", "GPU",     "hours",  "bike",    "road",  "54cm",
                                    "API",  "credits", "lamp",   "vintage", "brass", "mint",
                                    "bulk", "block",   "tokens", "hybrid",  "Trek",  "FX"};

/* A phrase of n words (static buffer, rotated). */
static const char *phrase(uint64_t *rng, int n)
{
    static char out[4][512];
    static int k;
    char *o = out[k++ & 3];
    o[0] = '\0';
    for (int i = 0; i < n; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        strcat(o, words[(*rng >> 33) % (sizeof words / sizeof words[0])]);
        if (i + 1 < n)
            strcat(o, " ");
    }
    return o;
}

#define AT "\"2026-11-26T10:02:11.345Z\""

/* Appends one SSE event of seq to b; the mix is a live market's. Also appends its
 * JSON payload (one line) to payloads when not NULL. */
static void gen_event(buf *b, buf *payloads, int64_t seq, uint64_t *rng)
{
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    unsigned r = (unsigned)(*rng >> 40) % 100;
    long long id = (long long)((*rng >> 8) % 20000);
    long long ver = seq / 20000 + 1;
    const char *type;
    char data[2048];
    if (r < 40) {
        type = "negotiation.message";
        snprintf(data, sizeof data,
                 "{\"negotiation_id\":\"neg_%lld\",\"seq\":%lld,\"from\":\"agt_%lld\","
                 "\"kind\":\"counter\",\"unit_price_minor\":%lld,\"quantity\":10,\"text\":\"%s\","
                 "\"at\":" AT "}",
                 id, (long long)seq, id % 300, 1000 + id, phrase(rng, 9));
    } else if (r < 65) {
        type = "negotiation.updated";
        snprintf(data, sizeof data,
                 "{\"id\":\"neg_%lld\",\"version\":%lld,\"listing_id\":\"lst_%lld\",\"buyer_id\":"
                 "\"agt_%lld\",\"seller_id\":\"agt_%lld\",\"status\":\"open\",\"terms\":{"
                 "\"unit_price_minor\":%lld,\"quantity\":10},\"agreed_terms\":null,\"cap\":null,"
                 "\"currency\":\"USD\",\"message_count\":%lld,\"opened_at\":" AT
                 ",\"updated_at\":" AT "}",
                 id, (long long)seq, id, id % 300, (id + 1) % 300, 1000 + id, ver);
    } else if (r < 75) {
        type = "listing.updated";
        snprintf(data, sizeof data,
                 "{\"id\":\"lst_%lld\",\"version\":%lld,\"seller_id\":\"agt_%lld\",\"title\":"
                 "\"%s\",\"description\":\"%s\",\"category\":\"compute\",\"unit_price_minor\":"
                 "%lld,\"currency\":\"USD\",\"quantity\":100,\"reference_price_minor\":1200,"
                 "\"floor_minor\":900,\"status\":\"open\",\"created_at\":" AT ",\"updated_at\":" AT
                 "}",
                 id, (long long)seq, id % 300, phrase(rng, 4), phrase(rng, 18), 1000 + id);
    } else if (r < 85) {
        type = "purchase.updated";
        snprintf(data, sizeof data,
                 "{\"id\":\"pur_%lld\",\"version\":%lld,\"negotiation_id\":\"neg_%lld\","
                 "\"listing_id\":\"lst_%lld\",\"buyer_id\":\"agt_%lld\",\"seller_id\":\"agt_%lld\","
                 "\"unit_price_minor\":1250,\"quantity\":10,\"total_minor\":12500,\"currency\":"
                 "\"USD\",\"ship_to\":\"1 Main St, Springfield\",\"status\":\"pending_approval\","
                 "\"flags\":[{\"rule\":\"overpay\",\"severity\":\"warning\",\"detail\":\"%s\"}],"
                 "\"risk_score\":22,\"decide_by\":" AT ",\"default_on_timeout\":\"veto\","
                 "\"decision\":null,\"created_at\":" AT ",\"updated_at\":" AT "}",
                 id, (long long)seq, id, id, id % 300, (id + 1) % 300, phrase(rng, 6));
    } else if (r < 90) {
        type = "alert.updated";
        snprintf(data, sizeof data,
                 "{\"id\":\"alr_%lld\",\"version\":%lld,\"severity\":\"warning\",\"rule\":"
                 "\"overpay\",\"subject\":{\"kind\":\"purchase\",\"id\":\"pur_%lld\"},\"message\":"
                 "\"%s\",\"status\":\"open\",\"acked_by\":null,\"at\":" AT ",\"updated_at\":" AT
                 "}",
                 id, (long long)seq, id, phrase(rng, 7));
    } else if (r < 95) {
        type = "ledger.posted";
        snprintf(data, sizeof data,
                 "{\"id\":\"led_%lld\",\"seq\":%lld,\"kind\":\"settlement\",\"purchase_id\":"
                 "\"pur_%lld\",\"currency\":\"USD\",\"postings\":[{\"account\":\"agent:agt_%lld\","
                 "\"amount_minor\":-12500},{\"account\":\"agent:agt_%lld\",\"amount_minor\":12500}"
                 "],\"at\":" AT "}",
                 (long long)seq, (long long)seq, id, id % 300, (id + 1) % 300);
    } else {
        type = "agent.updated";
        snprintf(data, sizeof data,
                 "{\"id\":\"agt_%lld\",\"version\":%lld,\"name\":\"buyer-%lld\",\"principal\":"
                 "\"Sam Buyer\",\"role\":\"buyer\",\"status\":\"active\",\"currency\":\"USD\","
                 "\"limits\":{\"spend_cap_minor\":5000000,\"per_deal_max_minor\":500000,"
                 "\"approval_threshold_minor\":10000,\"max_quantity\":100},\"spent_minor\":%lld,"
                 "\"mandate\":{\"categories\":[\"compute\",\"bikes\"]},\"addresses\":[\"1 Main St, "
                 "Springfield\"],\"updated_at\":" AT "}",
                 id % 300, (long long)seq, id % 300, (long long)seq);
    }
    add(b,
        "id: e1:%lld\nevent: %s\ndata: {\"seq\":%lld,\"type\":\"%s\",\"at\":" AT
        ",\"data\":%s}\n\n",
        (long long)seq, type, (long long)seq, type, data);
    if (payloads)
        add(payloads, "{\"seq\":%lld,\"type\":\"%s\",\"at\":" AT ",\"data\":%s}\n", (long long)seq,
            type, data);
}

typedef struct sink {
    store *st;
    uint64_t applied, other;
} sink;

/* The parser's callback: decode and apply, as client.c does. */
static void on_event(void *ud, const sse_event *e)
{
    sink *k = ud;
    model_event ev;
    char err[128];
    if (json_decode_event(e->type, e->data, e->datalen, TEXT_UTF8, &ev, err, sizeof err) !=
        JSON_OK) {
        k->other++;
        return;
    }
    store_result r = store_apply(k->st, &ev);
    if (r == STORE_APPLIED || r == STORE_STALE)
        k->applied++;
    else
        k->other++;
    model_event_free(&ev);
}

/* Heap bytes in use. */
static size_t heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* Bytes per object of one kind: loads n objects made by make() into a fresh store (as a
 * snapshot does: store_load, which the working set's eviction leaves whole; messages into
 * STORE_WATCH_MAX watched threads, the only ones whose messages are kept). */
static double per_object(model_kind kind, size_t n)
{
    store *st = store_new();
    store_reset(st, "e", 0);
    uint64_t rng = 7;
    /* Messages need their threads, watched. */
    int64_t seq = 0;
    size_t nthreads = STORE_WATCH_MAX;
    if (kind == MODEL_MESSAGE) {
        for (size_t i = 0; i < nthreads; i++) {
            model_event ev = {.seq = ++seq, .kind = MODEL_NEGOTIATION};
            snprintf(ev.u.negotiation.id, sizeof ev.u.negotiation.id, "neg_%zu", i);
            ev.u.negotiation.version = 1;
            store_watch_thread(st, ev.u.negotiation.id);
            store_apply(st, &ev);
        }
    }
    size_t before = heap();
    char json[2048], err[128];
    for (size_t i = 0; i < n; i++) {
        const char *type;
        if (kind == MODEL_LISTING) {
            type = "listing.updated";
            snprintf(json, sizeof json,
                     "{\"seq\":%lld,\"type\":\"%s\",\"at\":" AT ",\"data\":{\"id\":\"lst_%zu\","
                     "\"version\":1,\"seller_id\":\"agt_%zu\",\"title\":\"%s\",\"description\":"
                     "\"%s\",\"category\":\"compute\",\"unit_price_minor\":1250,\"currency\":"
                     "\"USD\",\"quantity\":100,\"reference_price_minor\":1200,\"floor_minor\":900,"
                     "\"status\":\"open\",\"created_at\":" AT ",\"updated_at\":" AT "}}",
                     (long long)seq + 1, type, i, i % 300, phrase(&rng, 4), phrase(&rng, 18));
        } else if (kind == MODEL_MESSAGE) {
            type = "negotiation.message";
            snprintf(json, sizeof json,
                     "{\"seq\":%lld,\"type\":\"%s\",\"at\":" AT ",\"data\":{\"negotiation_id\":"
                     "\"neg_%zu\",\"seq\":%zu,\"from\":\"agt_1\",\"kind\":\"counter\","
                     "\"unit_price_minor\":1000,\"quantity\":10,\"text\":\"%s\",\"at\":" AT "}}",
                     (long long)seq + 1, type, i % nthreads, i / nthreads + 1, phrase(&rng, 9));
        } else {
            type = "ledger.posted";
            snprintf(json, sizeof json,
                     "{\"seq\":%lld,\"type\":\"%s\",\"at\":" AT ",\"data\":{\"id\":\"led_%zu\","
                     "\"seq\":%zu,\"kind\":\"settlement\",\"purchase_id\":\"pur_%zu\",\"currency\":"
                     "\"USD\",\"postings\":[{\"account\":\"agent:agt_%zu\",\"amount_minor\":-1},{"
                     "\"account\":\"agent:agt_%zu\",\"amount_minor\":1}],\"at\":" AT "}}",
                     (long long)seq + 1, type, i, i + 1, i, i % 300, (i + 1) % 300);
        }
        model_event ev;
        if (json_decode_event(type, json, strlen(json), TEXT_UTF8, &ev, err, sizeof err) !=
            JSON_OK) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        seq++;
        if (store_load(st, &ev) != STORE_APPLIED)
            exit(1);
        model_event_free(&ev);
    }
    double per = (double)(heap() - before) / (double)n;
    store_free(st);
    return per;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 1000000;
    sink k = {.st = store_new()};
    store_reset(k.st, "e1", 0);
    sse_parser *p = sse_new(0, on_event, &k);
    uint64_t rng = 42;
    int64_t seq = 0;
    double t_ingest = 0, t_json = 0;
    size_t bytes = 0;
    long done = 0;
    FILE *dump = getenv("BENCH_PAYLOADS") ? fopen(getenv("BENCH_PAYLOADS"), "w") : NULL;
    while (done < total) {
        long n = total - done < BATCH ? total - done : BATCH;
        buf b = {0}, pl = {0};
        for (long i = 0; i < n; i++)
            gen_event(&b, &pl, ++seq, &rng);
        bytes += b.len;
        double t0 = cpu_s();
        for (size_t off = 0; off < b.len; off += 16384) /* curl hands ~16 KiB chunks */
            sse_feed(p, b.s + off, b.len - off < 16384 ? b.len - off : 16384);
        t_ingest += cpu_s() - t0;
        /* The floor: jansson alone on the same payloads. */
        t0 = cpu_s();
        for (char *line = pl.s, *nl; line < pl.s + pl.len; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(pl.s + pl.len - line));
            json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
            if (!j)
                abort();
            json_decref(j);
        }
        t_json += cpu_s() - t0;
        if (dump && fwrite(pl.s, 1, pl.len, dump) != pl.len)
            abort();
        free(b.s);
        free(pl.s);
        done += n;
    }
    if (dump)
        fclose(dump);
    if (k.applied != (uint64_t)total) {
        fprintf(stderr, "bench: %llu applied, %llu other, of %ld\n", (unsigned long long)k.applied,
                (unsigned long long)k.other, total);
        return 1;
    }
    printf("ingest: %ld events (%.0f MB of SSE) through parse+decode+store in %.2f s CPU: "
           "%.0f events/s on one core\n",
           total, (double)bytes / 1e6, t_ingest, (double)total / t_ingest);
    printf("json_loads alone on the same payloads: %.2f s CPU: %.0f events/s (decode+store "
           "costs %.2fx a bare parse)\n",
           t_json, (double)total / t_json, t_ingest / t_json);
    size_t nl, nm = 0;
    const model_negotiation *const *negs = store_negotiations(k.st, &nl);
    for (size_t i = 0; i < nl; i++)
        nm += negs[i]->nmessages;
    printf("store after the run: %zu threads holding %zu messages; seq %lld\n", nl, nm,
           (long long)store_seq(k.st));
    sse_free(p);
    store_free(k.st);
    printf("memory: %.0f bytes per listing (title ~4 words, description ~18 words)\n",
           per_object(MODEL_LISTING, 100000));
    printf("memory: %.0f bytes per message (text ~9 words)\n", per_object(MODEL_MESSAGE, 200000));
    printf("memory: %.0f bytes per ledger entry (2 postings)\n", per_object(MODEL_LEDGER, 200000));
    printf("sizeof: model_listing %zu, model_message %zu, model_ledger_entry %zu, "
           "model_purchase %zu\n",
           sizeof(model_listing), sizeof(model_message), sizeof(model_ledger_entry),
           sizeof(model_purchase));
    return 0;
}
