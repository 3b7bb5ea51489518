/* fuzz_decode.c: the decoder and the store on arbitrary JSON. The first byte picks what
 * the rest is: an event of one of the known types (then applied to a store), a
 * snapshot, a reset, a decision's answer. Whatever is accepted must satisfy the
 * contract's invariants; nothing may crash, leak or hand raw control bytes on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/money.h"
#include "api/text.h"

/* Aborts when sanitised text could act on a terminal. */
static void check_text(const model_text *t)
{
    if (!t->s)
        return;
    for (const unsigned char *p = (const unsigned char *)t->s; *p; p++)
        if ((*p < 0x20 && *p != TEXT_MARK_ON && *p != TEXT_MARK_OFF) || *p == 0x7f ||
            (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            abort();
}

/* Checks what the contract promises about a decoded event. */
static void check_event(const model_event *ev)
{
    switch (ev->kind) {
        case MODEL_LISTING:
            if (!text_valid_id(ev->u.listing.id, "lst_") ||
                !money_in_range(ev->u.listing.unit_price_minor) ||
                !money_currency_valid(ev->u.listing.currency))
                abort();
            check_text(&ev->u.listing.title);
            check_text(&ev->u.listing.description);
            break;
        case MODEL_PURCHASE:
            if (!text_valid_id(ev->u.purchase.id, "pur_") ||
                !money_in_range(ev->u.purchase.total_minor))
                abort();
            check_text(&ev->u.purchase.ship_to);
            for (size_t i = 0; i < ev->u.purchase.nflags; i++)
                check_text(&ev->u.purchase.flags[i].detail);
            break;
        case MODEL_MESSAGE: check_text(&ev->u.message.text); break;
        case MODEL_LEDGER: {
            int64_t sum = 0;
            for (size_t i = 0; i < ev->u.ledger.npostings; i++)
                sum += ev->u.ledger.postings[i].amount_minor;
            if (sum != 0)
                abort();
            break;
        }
        case MODEL_AGENT:
            check_text(&ev->u.agent.name);
            for (size_t i = 0; i < ev->u.agent.naddresses; i++)
                check_text(&ev->u.agent.addresses[i]);
            break;
        default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {
        "agent.updated",       "listing.updated",   "negotiation.updated",
        "negotiation.message", "purchase.updated",  "alert.updated",
        "ledger.posted",       "decision.recorded", "fleet.updated"};
    unsigned sel = data[0];
    const char *json = (const char *)data + 1;
    size_t len = size - 1;
    char err[256];
    text_mode mode = (sel & 0x80) ? TEXT_ASCII : TEXT_UTF8;
    sel &= 0x7f;
    if (sel < 9 * 4) {
        model_event ev;
        if (json_decode_event(types[sel % 9], json, len, mode, &ev, err, sizeof err) == JSON_OK) {
            check_event(&ev);
            store *st = store_new();
            store_reset(st, "e", ev.seq - 1);
            if (ev.kind == MODEL_MESSAGE) {
                model_event neg = {.seq = ev.seq - 1, .kind = MODEL_NEGOTIATION};
                memcpy(neg.u.negotiation.id, ev.u.message.negotiation_id, sizeof(model_id));
                neg.u.negotiation.version = 1;
                store_watch_thread(st, ev.u.message.negotiation_id); /* its messages kept */
                store_load(st, &neg);
            }
            store_apply(st, &ev);
            model_event_free(&ev);
            store_free(st);
        }
    } else if (sel < 100) {
        store *st = store_new();
        uint64_t rejected = 0;
        json_decode_snapshot(json, len, mode, st, &rejected, err, sizeof err);
        size_t n;
        const model_listing *const *l = store_listings(st, &n);
        for (size_t i = 0; i < n; i++)
            check_text(&l[i]->title);
        store_free(st);
    } else if (sel < 110) {
        char epoch[64];
        int64_t seq;
        json_decode_reset(json, len, epoch, sizeof epoch, &seq, err, sizeof err);
    } else {
        decision_outcome o = {.http_status = 409};
        json_decode_outcome(json, len, (model_kind)(sel % (MODEL_KIND_COUNT + 1)), mode, &o);
        for (const unsigned char *p = (const unsigned char *)o.message; *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                abort();
        if (o.has_current)
            check_event(&o.current);
        decision_outcome_free(&o);
    }
    return 0;
}
