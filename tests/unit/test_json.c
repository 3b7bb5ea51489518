/* test_json.c: decoding against the contract: good objects decode exactly, every value
 * outside the contract rejects the event with a message, hostile text is sanitised once,
 * snapshots skip bad objects, outcomes and request bodies round-trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/clock.h"
#include "api/json.h"
#include "api/money.h"

#define AT "2026-11-26T10:02:11.345Z"

static const char purchase_ok[] =
    "{\"id\":\"pur_1\",\"version\":3,\"negotiation_id\":\"neg_1\",\"listing_id\":\"lst_1\","
    "\"buyer_id\":\"agt_b\",\"seller_id\":\"agt_s\",\"unit_price_minor\":1250,\"quantity\":1000,"
    "\"total_minor\":1250000,\"currency\":\"USD\",\"ship_to\":\"1 Main St\","
    "\"status\":\"pending_approval\",\"flags\":[{\"rule\":\"quantity_vs_intent\","
    "\"severity\":\"critical\",\"detail\":\"1,000 against a usual 10\"}],\"risk_score\":88,"
    "\"decide_by\":\"2026-11-26T10:03:11.345Z\",\"default_on_timeout\":\"veto\","
    "\"decision\":null,\"created_at\":\"" AT "\",\"updated_at\":\"" AT "\"}";

/* Wraps an object as an event of type with seq. Returns a static buffer. */
static const char *event(const char *type, int seq, const char *data)
{
    static char buf[8192];
    snprintf(buf, sizeof buf, "{\"seq\":%d,\"type\":\"%.40s\",\"at\":\"" AT "\",\"data\":%.7000s}",
             seq, type, data);
    return buf;
}

/* Replaces the first occurrence of from by to in src (static result). */
static const char *subst(const char *src, const char *from, const char *to)
{
    static char buf[8192];
    const char *p = strstr(src, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - src), src, to, p + strlen(from));
    return buf;
}

static void test_purchase_decodes(void **state)
{
    (void)state;
    model_event ev;
    char err[256] = "";
    const char *e = event("purchase.updated", 7, purchase_ok);
    assert_int_equal(
        json_decode_event("purchase.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    assert_int_equal(ev.seq, 7);
    assert_int_equal(ev.kind, MODEL_PURCHASE);
    const model_purchase *p = &ev.u.purchase;
    assert_string_equal(p->id, "pur_1");
    assert_int_equal(p->version, 3);
    assert_int_equal(p->total_minor, 1250000);
    assert_int_equal(p->quantity, 1000);
    assert_string_equal(p->currency, "USD");
    assert_int_equal(p->status, PUR_PENDING);
    assert_int_equal(p->nflags, 1);
    assert_string_equal(p->flags[0].rule, "quantity_vs_intent");
    assert_int_equal(p->flags[0].severity, SEV_CRITICAL);
    assert_string_equal(p->ship_to.s, "1 Main St");
    assert_int_equal(p->risk_score, 88);
    assert_true(p->default_veto);
    assert_false(p->decision.present);
    int64_t at;
    assert_int_equal(clock_parse_rfc3339(AT, &at), 0);
    assert_int_equal(p->updated_at, at);
    assert_int_equal(p->decide_by - at, 60000);
    model_event_free(&ev);
}

/* Each mutation of a good purchase must be rejected, with a message naming the field. */
static void test_contract_rejections(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *field;
    } bad[] = {
        {"\"pur_1\"", "\"lst_1\"", "id"},
        {"\"pur_1\"", "\"pur_1;rm\"", "id"},
        {"\"pur_1\"", "\"\"", "id"},
        {"\"agt_b\"", "\"agt_\\u0000b\"", "buyer_id"},
        {"\"unit_price_minor\":1250", "\"unit_price_minor\":12.5", "unit_price_minor"},
        {"\"unit_price_minor\":1250", "\"unit_price_minor\":-1", "unit_price_minor"},
        {"\"unit_price_minor\":1250", "\"unit_price_minor\":\"1250\"", "unit_price_minor"},
        {"\"total_minor\":1250000", "\"total_minor\":1000000000000001", "total_minor"},
        {"\"total_minor\":1250000", "\"total_minor\":1e3", "total_minor"},
        {"\"USD\"", "\"usd\"", "currency"},
        {"\"USD\"", "\"XXQ\"", "currency"},
        {"\"status\":\"pending_approval\"", "\"status\":5", "status"},
        {"\"status\":\"pending_approval\"", "\"status\":null", "status"},
        {"\"version\":3", "\"version\":0", "version"},
        {"\"severity\":\"critical\"", "\"severity\":[]", "severity"},
        {"\"rule\":\"quantity_vs_intent\"", "\"rule\":\"\"", "rule"},
        {"\"risk_score\":88", "\"risk_score\":101", "risk_score"},
        {"\"updated_at\":\"" AT "\"", "\"updated_at\":\"yesterday\"", "updated_at"},
        {"\"updated_at\":\"" AT "\"", "\"updated_at\":\"2026-13-26T10:02:11Z\"", "updated_at"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char obj[8192];
        snprintf(obj, sizeof obj, "%s", subst(purchase_ok, bad[i].from, bad[i].to));
        const char *e = event("purchase.updated", 1, obj);
        model_event ev;
        char err[256] = "";
        json_result r =
            json_decode_event("purchase.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err);
        if (r != JSON_BAD)
            fail_msg("mutation %zu (%s -> %s) was accepted", i, bad[i].from, bad[i].to);
        if (!strstr(err, bad[i].field) && !strstr(err, "not JSON"))
            fail_msg("mutation %zu: message \"%s\" does not name %s", i, err, bad[i].field);
    }
    /* An integer too big for int64 is not JSON jansson accepts: still a counted reject. */
    const char *e =
        event("purchase.updated", 1,
              subst(purchase_ok, "\"quantity\":1000", "\"quantity\":99999999999999999999"));
    model_event ev;
    char err[256];
    assert_int_equal(json_decode_event(NULL, e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
                     JSON_BAD);
    /* The SSE type and the JSON type must agree. */
    e = event("purchase.updated", 1, purchase_ok);
    assert_int_equal(
        json_decode_event("alert.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_BAD);
    /* An unknown type is not an error of the contract. */
    e = event("auction.updated", 1, "{}");
    assert_int_equal(
        json_decode_event("auction.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_UNKNOWN);
    assert_int_equal(ev.seq, 1);
}

/* Decodes data as an event of type; asserts JSON_OK. */
static void decode_ok(const char *type, const char *data, model_event *ev)
{
    char err[256] = "";
    const char *e = event(type, 1, data);
    if (json_decode_event(type, e, strlen(e), TEXT_UTF8, ev, err, sizeof err) != JSON_OK)
        fail_msg("%s was dropped: %s", type, err);
}

/* A grouped alert, resolved (issue 15): count, last_at, purchase_ids, agent_id and
 * resolution decoded; a purchase id that is not one refuses the alert. */
static void test_alert_group_decodes(void **state)
{
    (void)state;
    static const char grouped[] =
        "{\"id\":\"alr_7\",\"version\":4,\"severity\":\"critical\",\"rule\":\"off_mandate\","
        "\"subject\":{\"kind\":\"purchase\",\"id\":\"pur_3\"},\"agent_id\":\"agt_9\","
        "\"message\":\"m\",\"status\":\"resolved\",\"acked_by\":null,\"at\":\"" AT "\","
        "\"count\":3,\"last_at\":\"2026-11-26T10:09:00.000Z\","
        "\"purchase_ids\":[\"pur_3\",\"pur_5\",\"pur_8\"],\"resolution\":{\"purchase_id\":"
        "\"pur_8\",\"purchase_status\":\"expired\",\"by\":\"market\",\"at\":\"" AT "\"},"
        "\"updated_at\":\"" AT "\"}";
    model_event ev;
    decode_ok("alert.updated", grouped, &ev);
    model_alert *a = &ev.u.alert;
    assert_int_equal(a->status, ALERT_RESOLVED);
    assert_string_equal(model_alert_status_label(a), "resolved");
    assert_string_equal(a->status_raw, "");
    assert_int_equal(a->count, 3);
    assert_true(a->last_at > a->at);
    assert_string_equal(a->agent_id, "agt_9");
    assert_int_equal(a->npurchase_ids, 3);
    assert_string_equal(a->purchase_ids[0], "pur_3");
    assert_string_equal(a->purchase_ids[2], "pur_8");
    assert_string_equal(a->resolved_purchase, "pur_8");
    assert_string_equal(a->resolved_status, "expired");
    assert_string_equal(a->resolved_by.s, "market");
    assert_true(a->resolved_at > 0);
    model_event_free(&ev);
    /* an open one: no resolution */
    char open[sizeof grouped];
    snprintf(open, sizeof open, "%s",
             subst(grouped, "\"status\":\"resolved\"", "\"status\":\"open\""));
    decode_ok("alert.updated",
              subst(open,
                    "\"resolution\":{\"purchase_id\":\"pur_8\",\"purchase_status\":\"expired\","
                    "\"by\":\"market\",\"at\":\"" AT "\"}",
                    "\"resolution\":null"),
              &ev);
    assert_int_equal(ev.u.alert.status, ALERT_OPEN);
    assert_int_equal(ev.u.alert.resolved_at, 0);
    assert_null(ev.u.alert.resolved_by.s);
    model_event_free(&ev);
    static const char *const bad[][2] = {{"\"pur_5\"", "\"lst_5\""},
                                         {"\"count\":3", "\"count\":0"},
                                         {"\"count\":3", "\"count\":\"3\""},
                                         {"\"purchase_ids\":[", "\"purchase_ids\":[7,"},
                                         {"\"agent_id\":\"agt_9\"", "\"agent_id\":7"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *e = event("alert.updated", 1, subst(grouped, bad[i][0], bad[i][1]));
        char err[256];
        if (json_decode_event(NULL, e, strlen(e), TEXT_UTF8, &ev, err, sizeof err) != JSON_BAD)
            fail_msg("alert mutation %zu was accepted", i);
        if (strstr(err, "not JSON"))
            fail_msg("alert mutation %zu is not JSON: %s", i, err);
    }
}

/* The server grows new values (issue 12): an unknown status, kind, rule, severity or
 * error code keeps the object and the value as sent, sanitised; an unknown purchase
 * status is never a decidable one; a currency or fleet status still is refused. */
static void test_unknown_values_kept(void **state)
{
    (void)state;
    model_event ev;
    /* a purchase status and a flag this client does not know */
    char obj[8192];
    snprintf(obj, sizeof obj, "%s",
             subst(purchase_ok, "\"pending_approval\"", "\"on_hold\\u001b[2J\""));
    snprintf(obj, sizeof obj, "%s", subst(obj, "\"quantity_vs_intent\"", "\"Price Spike\""));
    snprintf(obj, sizeof obj, "%s", subst(obj, "\"critical\"", "\"severe\""));
    decode_ok("purchase.updated", obj, &ev);
    const model_purchase *p = &ev.u.purchase;
    assert_int_equal(p->status, PUR_UNKNOWN);
    assert_true(p->status != PUR_PENDING && p->status != PUR_SETTLED); /* nothing to decide */
    assert_non_null(strstr(model_purchase_status_label(p), "on_hold"));
    assert_null(strchr(model_purchase_status_label(p), 0x1b));
    assert_null(strchr(p->status_raw, TEXT_MARK_ON));
    assert_int_equal(p->nflags, 1);
    assert_string_equal(p->flags[0].rule, "Price Spike");
    assert_int_equal(p->flags[0].severity, SEV_CRITICAL); /* counted on the safe side */
    assert_string_equal(model_flag_severity_label(&p->flags[0]), "severe");
    assert_int_equal(p->total_minor, 1250000);
    model_event_free(&ev);
    /* a decision's action this client does not know */
    decode_ok("purchase.updated",
              subst(purchase_ok, "\"decision\":null",
                    "\"decision\":{\"action\":\"Auto-Approve\",\"by\":\"market\",\"at\":\"" AT
                    "\",\"reason\":null,\"cap\":null}"),
              &ev);
    assert_string_equal(ev.u.purchase.decision.action, "Auto-Approve");
    model_event_free(&ev);
    /* known values have no raw text */
    decode_ok("purchase.updated", purchase_ok, &ev);
    assert_string_equal(ev.u.purchase.status_raw, "");
    assert_string_equal(model_purchase_status_label(&ev.u.purchase), "pending_approval");
    model_event_free(&ev);

    /* an alert in a status this client does not know, about a rule it does not know */
    static const char alert[] =
        "{\"id\":\"alr_1\",\"version\":2,\"severity\":\"warning\",\"rule\":\"price_spike\","
        "\"subject\":{\"kind\":\"listing\",\"id\":\"lst_1\"},\"message\":\"m\","
        "\"status\":\"snoozed\",\"acked_by\":null,\"at\":\"" AT "\",\"updated_at\":\"" AT "\"}";
    decode_ok("alert.updated", alert, &ev);
    assert_int_equal(ev.u.alert.status, ALERT_UNKNOWN);
    assert_string_equal(model_alert_status_label(&ev.u.alert), "snoozed");
    /* an alert from before grouping: one of itself, last raised when raised */
    assert_int_equal(ev.u.alert.count, 1);
    assert_int_equal(ev.u.alert.last_at, ev.u.alert.at);
    assert_int_equal(ev.u.alert.npurchase_ids, 0);
    assert_string_equal(ev.u.alert.rule, "price_spike");
    assert_string_equal(ev.u.alert.subject_kind, "listing");
    model_event_free(&ev);

    /* a negotiation status and a message kind */
    static const char neg[] =
        "{\"id\":\"neg_1\",\"version\":1,\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_b\","
        "\"seller_id\":\"agt_s\",\"status\":\"escrow\",\"terms\":null,\"agreed_terms\":null,"
        "\"cap\":null,\"currency\":\"USD\",\"message_count\":1,\"updated_at\":\"" AT "\"}";
    decode_ok("negotiation.updated", neg, &ev);
    assert_int_equal(ev.u.negotiation.status, NEG_UNKNOWN);
    assert_string_equal(model_neg_status_label(&ev.u.negotiation), "escrow");
    model_event_free(&ev);
    static const char msg[] =
        "{\"negotiation_id\":\"neg_1\",\"seq\":2,\"from\":\"market\",\"kind\":\"escrow_hold\","
        "\"unit_price_minor\":null,\"quantity\":null,\"text\":\"t\",\"at\":\"" AT "\"}";
    decode_ok("negotiation.message", msg, &ev);
    assert_int_equal(ev.u.message.kind, MSG_UNKNOWN);
    assert_string_equal(model_msg_kind_label(&ev.u.message), "escrow_hold");
    model_event_free(&ev);

    /* an error code this client does not know, with a current object it does not either */
    char body[8192];
    snprintf(body, sizeof body,
             "{\"error\":\"Rate-Limited\\u0007\",\"message\":\"slow down\",\"current\":%s}",
             subst(purchase_ok, "pending_approval", "disputed"));
    decision_outcome o = {.http_status = 429};
    json_decode_outcome(body, strlen(body), MODEL_PURCHASE, TEXT_UTF8, &o);
    assert_non_null(strstr(o.error_code, "Rate-Limited"));
    assert_null(strchr(o.error_code, 0x07));
    assert_true(o.has_current);
    assert_int_equal(o.current.u.purchase.status, PUR_UNKNOWN);
    assert_string_equal(model_purchase_status_label(&o.current.u.purchase), "disputed");
    decision_outcome_free(&o);

    /* refused still: what would change a decision's meaning */
    char err[256] = "";
    const char *e = event("purchase.updated", 1, subst(purchase_ok, "\"USD\"", "\"XXQ\""));
    assert_int_equal(
        json_decode_event("purchase.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_BAD);
    /* the Fleet's active scoped halts are counted (issue 16) */
    e = event("fleet.updated", 1,
              "{\"version\":3,\"status\":\"running\",\"reason\":null,\"by\":null,"
              "\"updated_at\":\"" AT "\",\"halts\":[{\"id\":\"hlt_1\"},{\"id\":\"hlt_2\"}]}");
    assert_int_equal(
        json_decode_event("fleet.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err), JSON_OK);
    assert_int_equal(ev.u.fleet.halts, 2);
    model_event_free(&ev);
    e = event("fleet.updated", 1,
              "{\"status\":\"draining\",\"reason\":null,\"by\":null,\"updated_at\":\"" AT "\"}");
    assert_int_equal(
        json_decode_event("fleet.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_BAD);
}

static void test_hostile_text_sanitised(void **state)
{
    (void)state;
    const char *listing =
        "{\"id\":\"lst_9\",\"version\":1,\"seller_id\":\"agt_s\","
        "\"title\":\"Lamp\\u001b]52;c;cm0gLXJmIH4K\\u0007 mint\\u202e\\u0000x\\u009b\","
        "\"description\":null,\"category\":\"home\",\"unit_price_minor\":1200,"
        "\"currency\":\"JPY\",\"quantity\":1,\"reference_price_minor\":1000,\"floor_minor\":null,"
        "\"status\":\"open\",\"created_at\":\"" AT "\",\"updated_at\":\"" AT "\"}";
    const char *e = event("listing.updated", 2, listing);
    model_event ev;
    char err[256];
    assert_int_equal(
        json_decode_event("listing.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    const model_listing *l = &ev.u.listing;
    for (const unsigned char *p = (const unsigned char *)l->title.s; *p; p++) {
        assert_true(*p != 0x1b && *p != 0x07);
        assert_false(*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F); /* no C1 code point */
        if (*p < 0x20)
            assert_true(*p == TEXT_MARK_ON || *p == TEXT_MARK_OFF);
    }
    assert_true(l->title.flags & TEXT_F_ESCAPE);
    assert_true(l->title.flags & TEXT_F_BIDI);
    assert_true(l->title.hidden >= 3);
    assert_null(l->description.s);
    assert_int_equal(l->floor_minor, -1);
    model_event_free(&ev);
}

static void test_snapshot_skips_bad_objects(void **state)
{
    (void)state;
    char snap[16384];
    snprintf(snap, sizeof snap,
             "{\"epoch\":\"e1\",\"seq\":41,\"fleet\":{\"status\":\"halted\",\"reason\":\"x\","
             "\"by\":\"sup1\",\"updated_at\":\"" AT "\"},\"agents\":[],\"listings\":[],"
             "\"negotiations\":[],\"purchases\":[%s,%s],\"alerts\":[],"
             "\"ledger\":{\"entries\":[{\"id\":\"led_1\",\"seq\":1,\"kind\":\"settlement\","
             "\"purchase_id\":\"pur_1\",\"currency\":\"USD\",\"postings\":[{\"account\":"
             "\"agent:agt_b\",\"amount_minor\":-500},{\"account\":\"agent:agt_s\","
             "\"amount_minor\":500}],\"at\":\"" AT "\"},{\"id\":\"led_2\",\"seq\":2,\"kind\":"
             "\"settlement\",\"purchase_id\":\"pur_1\",\"currency\":\"USD\",\"postings\":[{"
             "\"account\":\"agent:agt_b\",\"amount_minor\":-5},{\"account\":\"agent:agt_s\","
             "\"amount_minor\":6}],\"at\":\"" AT "\"}],\"balances\":{\"agent:agt_b\":-500,"
             "\"agent:agt_s\":500}},\"decisions\":[]}",
             purchase_ok, subst(purchase_ok, "\"pur_1\"", "\"pur_2<script>\""));
    store *st = store_new();
    uint64_t rejected = 0;
    char err[256];
    assert_int_equal(
        json_decode_snapshot(snap, strlen(snap), TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_OK);
    assert_int_equal(rejected, 2); /* the bad id, and led_2 whose postings do not sum to 0 */
    assert_string_equal(store_epoch(st), "e1");
    assert_int_equal(store_seq(st), 41);
    assert_non_null(store_purchase(st, "pur_1"));
    size_t n;
    store_purchases(st, &n);
    assert_int_equal(n, 1);
    store_ledger(st, &n);
    assert_int_equal(n, 1);
    assert_int_equal(store_balance(st, "agent:agt_b"), -500);
    assert_true(store_fleet(st)->halted);
    /* Not JSON: the store is left alone. */
    assert_int_equal(
        json_decode_snapshot("{\"epoch\":", 10, TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_BAD);
    assert_int_equal(store_seq(st), 41);
    store_free(st);
}

static void test_outcome_and_bodies(void **state)
{
    (void)state;
    char body[8192];
    snprintf(body, sizeof body,
             "{\"error\":\"conflict\",\"message\":\"vetoed by sup2\\u001b[2J\",\"current\":%s}",
             subst(purchase_ok, "pending_approval", "vetoed"));
    decision_outcome o = {.http_status = 409};
    json_decode_outcome(body, strlen(body), MODEL_PURCHASE, TEXT_UTF8, &o);
    assert_string_equal(o.error_code, "conflict");
    assert_null(strchr(o.message, 0x1b));
    assert_non_null(strstr(o.message, "vetoed by sup2"));
    assert_true(o.has_current);
    assert_int_equal(o.current.u.purchase.status, PUR_VETOED);
    decision_outcome_free(&o);

    decision_req r;
    decision_req_init(&r, DEC_APPROVE, "pur_1");
    r.expected_total_minor = 1250000;
    char *b = json_decision_body(&r);
    assert_string_equal(b, "{\"expected_total_minor\":1250000}");
    free(b);
    decision_req_init(&r, DEC_CAP, "pur_1");
    r.max_quantity = 10;
    snprintf(r.reason, sizeof r.reason, "qty \"typo\"\n");
    b = json_decision_body(&r);
    assert_string_equal(b, "{\"max_quantity\":10,\"reason\":\"qty \\\"typo\\\"\\n\"}");
    free(b);
    char path[128];
    assert_int_equal(decision_path(&r, path, sizeof path), 0);
    assert_string_equal(path, "/v1/purchases/pur_1/cap");
    decision_req_init(&r, DEC_HALT, NULL);
    assert_int_equal(decision_path(&r, path, sizeof path), 0);
    assert_string_equal(path, "/v1/fleet/halt");
    char err[128];
    assert_int_equal(decision_validate(&r, err, sizeof err), -1); /* halt needs a reason */
    decision_req_init(&r, DEC_VETO, "neg_1");
    snprintf(r.reason, sizeof r.reason, "x");
    assert_int_equal(decision_validate(&r, err, sizeof err), -1); /* wrong prefix */
}

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(clock_parse_rfc3339("2026-11-26T10:02:11.345Z", &ms), 0);
    assert_int_equal(ms, 1795687331345LL);
    assert_int_equal(clock_parse_rfc3339("2026-11-26T12:02:11.345+02:00", &ms), 0);
    assert_int_equal(ms, 1795687331345LL);
    assert_int_equal(clock_parse_rfc3339("2000-02-29T00:00:00.5Z", &ms), 0);
    assert_int_equal(ms, 951782400500LL);
    assert_int_equal(clock_parse_rfc3339("2026-11-26T10:02:11", &ms), -1);
    assert_int_equal(clock_parse_rfc3339("2026-11-26T10:02:11.Z", &ms), -1);
    assert_int_equal(clock_parse_rfc3339("2026-11-26T10:02:11Zjunk", &ms), -1);
}

static void test_print_event_is_ascii(void **state)
{
    (void)state;
    const char raw[] = "{\"data\":{\"t\":\"\\u001b[31m\xc3\xa9\xe2\x80\xae\"},\"at\":\"x\","
                       "\"type\":\"listing.updated\",\"seq\":5,\"extra\":1}";
    FILE *f = tmpfile();
    assert_int_equal(json_print_event(f, raw, strlen(raw)), 0);
    rewind(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "{\"seq\":5,\"type\":\"listing.updated\",\"at\":\"x\",\"data\":"
                              "{\"t\":\"\\u001B[31m\\u00E9\\u202E\"}}\n");
}

/* Every known name decodes to its value and shows as itself: json.c reads the same
 * table that model.c labels with (one table per enumeration, no holes). */
static void test_names_one_table(void **state)
{
    (void)state;
    const struct {
        const char *const *names;
        int n;
    } tables[] = {
        {model_purchase_status_names, MODEL_NAMES_COUNT(model_purchase_status_names)},
        {model_neg_status_names, MODEL_NAMES_COUNT(model_neg_status_names)},
        {model_listing_status_names, MODEL_NAMES_COUNT(model_listing_status_names)},
        {model_msg_kind_names, MODEL_NAMES_COUNT(model_msg_kind_names)},
        {model_alert_status_names, MODEL_NAMES_COUNT(model_alert_status_names)},
        {model_severity_names, MODEL_NAMES_COUNT(model_severity_names)},
        {model_agent_role_names, 2},
        {model_agent_status_names, 2},
        {model_ledger_kind_names, 2},
        {model_fleet_status_names, 2},
        {model_kind_event_types, MODEL_KIND_COUNT},
    };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (int i = 0; i < tables[t].n; i++) {
            assert_non_null(tables[t].names[i]);
            for (int j = 0; j < i; j++)
                assert_string_not_equal(tables[t].names[i], tables[t].names[j]);
        }
    for (int i = 0; i < MODEL_NAMES_COUNT(model_purchase_status_names); i++) {
        char quoted[40];
        snprintf(quoted, sizeof quoted, "\"%s\"", model_purchase_status_names[i]);
        const char *e =
            event("purchase.updated", 1, subst(purchase_ok, "\"pending_approval\"", quoted));
        model_event ev;
        char err[256] = "";
        assert_int_equal(
            json_decode_event("purchase.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
            JSON_OK);
        assert_int_equal(ev.u.purchase.status, i);
        assert_string_equal(model_purchase_status_label(&ev.u.purchase),
                            model_purchase_status_names[i]);
        model_event_free(&ev);
    }
    assert_string_equal(model_kind_event_type(MODEL_KIND_COUNT), "?");
}

/* A Policy (policy.updated): its fields, its match kept as numbers and words (hostile text
 * sanitised), its definition with the server's defaults; a purchase's policy and
 * policy_shadow; a policy outside the contract refused. */
static void test_policy_decodes(void **state)
{
    (void)state;
    static const char pol[] =
        "{\"id\":\"pol_2\",\"version\":3,\"name\":\"small\\u001b[31m-books\",\"enabled\":true,"
        "\"mode\":\"shadow\",\"priority\":20,\"action\":\"approve\",\"reason\":null,"
        "\"match\":{\"total_max_minor\":100000,\"risk_max\":0,\"currency\":\"EUR\","
        "\"flags_none\":[\"overpay\"],\"max_per_hour\":null},\"hits\":12,\"shadow_hits\":4,"
        "\"created_at\":\"" AT "\",\"updated_at\":\"" AT "\"}";
    model_event ev;
    char err[256] = "";
    const char *e = event("policy.updated", 4, pol);
    assert_int_equal(
        json_decode_event("policy.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    assert_int_equal(ev.kind, MODEL_POLICY);
    const model_policy *p = &ev.u.policy;
    assert_string_equal(p->id, "pol_2");
    assert_int_equal(p->version, 3);
    assert_true(p->enabled);
    assert_true(p->shadow);
    assert_int_equal(p->priority, 20);
    assert_string_equal(p->action, "approve");
    assert_null(p->reason.s);
    assert_null(strchr(p->name.s, '\x1b')); /* the escape is a placeholder now */
    assert_true(p->name.flags & TEXT_F_ESCAPE);
    assert_string_equal(p->currency, "EUR");
    assert_int_equal(p->cond[1], 100000); /* total_max_minor */
    assert_int_equal(p->cond[3], 0);      /* risk_max */
    assert_int_equal(p->cond[4], -1);     /* max_per_hour: null is no condition */
    assert_string_equal(p->match_text.s, "flags_none overpay");
    assert_int_equal(p->hits, 12);
    assert_int_equal(p->shadow_hits, 4);
    assert_non_null(strstr(p->def, "\"match\":{\"currency\":\"EUR\",\"flags_none\":[\"overpay\"],"
                                   "\"risk_max\":0,\"total_max_minor\":100000}"));
    assert_null(strstr(p->def, "hits"));
    model_event_free(&ev);
    static const char *const bad[] = {"\"pol_2\"", "\"enabled\":true", "\"match\":{"};
    static const char *const worse[] = {"\"agt_2\"", "\"enabled\":\"yes\"", "\"match\":[{"};
    for (size_t i = 0; i < 3; i++) {
        e = event("policy.updated", 4, subst(pol, bad[i], worse[i]));
        assert_int_equal(
            json_decode_event("policy.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
            JSON_BAD);
    }
    e = event("purchase.updated", 5,
              subst(purchase_ok, "\"decision\":null",
                    "\"decision\":null,\"policy\":{\"id\":\"pol_3\",\"name\":\"large\","
                    "\"action\":\"review\"},\"policy_shadow\":[{\"policy_id\":\"pol_4\","
                    "\"name\":\"shadow-veto\",\"action\":\"veto\"}]"));
    assert_int_equal(
        json_decode_event("purchase.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    assert_string_equal(ev.u.purchase.policy.id, "pol_3");
    assert_string_equal(ev.u.purchase.policy.name.s, "large");
    assert_string_equal(ev.u.purchase.policy.action, "review");
    assert_int_equal(ev.u.purchase.npolicy_shadow, 1);
    assert_string_equal(ev.u.purchase.policy_shadow[0].id, "pol_4");
    assert_string_equal(ev.u.purchase.policy_shadow[0].name.s, "shadow-veto");
    assert_string_equal(ev.u.purchase.policy_shadow[0].action, "veto");
    model_event_free(&ev);
}

/* The threads export: one JSON array, every thread with its messages, text without its
 * marks (a control shows as its visible placeholder), null amounts as null. */
static void test_write_threads(void **state)
{
    (void)state;
    static const char snap[] =
        "{\"epoch\":\"e1\",\"seq\":5,\"negotiations\":[{\"id\":\"neg_1\",\"version\":4,"
        "\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_b\",\"seller_id\":\"agt_s\","
        "\"status\":\"agreed\",\"terms\":null,\"agreed_terms\":null,\"cap\":null,"
        "\"currency\":\"USD\",\"message_count\":2,\"updated_at\":\"" AT "\"}]}";
    static const char page[] =
        "{\"items\":[{\"negotiation_id\":\"neg_1\",\"seq\":1,\"from\":\"agt_b\",\"kind\":"
        "\"offer\",\"unit_price_minor\":1250,\"quantity\":3,\"text\":\"hi \\u001b[31m\\\"x\\\"\","
        "\"at\":\"" AT "\"},{\"negotiation_id\":\"neg_1\",\"seq\":2,\"from\":\"market\","
        "\"kind\":\"system\",\"unit_price_minor\":null,\"quantity\":null,\"text\":null,"
        "\"at\":\"" AT "\"}],\"next\":null}";
    store *st = store_new();
    uint64_t rejected = 0;
    int64_t last = 0;
    bool more;
    char err[256];
    assert_int_equal(
        json_decode_snapshot(snap, strlen(snap), TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_OK);
    /* the client watches a thread whose messages it reads (client_fetch_thread; model.h) */
    assert_int_equal(store_watch_thread(st, "neg_1"), 0);
    assert_int_equal(
        json_decode_messages(page, strlen(page), TEXT_UTF8, st, &rejected, &last, &more), JSON_OK);
    assert_int_equal(rejected, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(json_write_threads(f, st), 1);
    fclose(f);
    assert_null(strchr(buf, TEXT_MARK_ON));
    assert_null(strchr(buf, TEXT_MARK_OFF));
    assert_null(strchr(buf, 0x1b));
    assert_non_null(strstr(buf, "\"id\": \"neg_1\""));
    assert_non_null(strstr(buf, "\"status\": \"agreed\""));
    assert_non_null(strstr(buf, "\"message_count\": 2"));
    assert_non_null(strstr(buf, "\"unit_price_minor\": 1250"));
    assert_non_null(strstr(buf, "\"unit_price_minor\": null"));
    assert_non_null(strstr(buf, "\"quantity\": null"));
    assert_non_null(strstr(buf, "\"text\": \"hi \xe2\x90\x9b[31m\\\"x\\\"\""));
    assert_non_null(strstr(buf, "\"text\": \"\""));
    assert_non_null(strstr(buf, "\"kind\": \"system\""));
    /* and it is JSON that this program reads back */
    FILE *sink = fopen("/dev/null", "w");
    assert_non_null(sink);
    assert_int_equal(json_print_ascii(sink, buf, len), 0);
    fclose(sink);
    free(buf);
    store_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_purchase_decodes),
        cmocka_unit_test(test_contract_rejections),
        cmocka_unit_test(test_unknown_values_kept),
        cmocka_unit_test(test_alert_group_decodes),
        cmocka_unit_test(test_hostile_text_sanitised),
        cmocka_unit_test(test_snapshot_skips_bad_objects),
        cmocka_unit_test(test_outcome_and_bodies),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_print_event_is_ascii),
        cmocka_unit_test(test_names_one_table),
        cmocka_unit_test(test_write_threads),
        cmocka_unit_test(test_policy_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
