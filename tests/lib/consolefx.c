/* consolefx.c: a console without a terminal; see consolefx.h. */
#include "tests/lib/consolefx.h"

#include "api/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Applies ev and frees what the store did not take. */
static void put(store *st, model_event ev)
{
    store_apply(st, &ev);
    model_event_free(&ev);
}

static model_event purchase(int64_t seq, const char *id, model_purchase_status s, int64_t version)
{
    model_event ev = {.seq = seq, .kind = MODEL_PURCHASE};
    model_purchase *p = &ev.u.purchase;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->version = version;
    snprintf(p->listing_id, sizeof p->listing_id, "lst_1");
    snprintf(p->buyer_id, sizeof p->buyer_id, "agt_1");
    snprintf(p->seller_id, sizeof p->seller_id, "agt_s");
    p->unit_price_minor = 2000;
    p->quantity = 2;
    p->total_minor = 4000;
    memcpy(p->currency, "USD", 4);
    p->status = s;
    return ev;
}

static model_event agent(int64_t seq, const char *id, bool paused)
{
    model_event ev = {.seq = seq, .kind = MODEL_AGENT};
    snprintf(ev.u.agent.id, sizeof ev.u.agent.id, "%s", id);
    ev.u.agent.version = 5;
    ev.u.agent.paused = paused;
    memcpy(ev.u.agent.currency, "USD", 4);
    return ev;
}

static model_event alert(int64_t seq, const char *id, model_alert_status s)
{
    model_event ev = {.seq = seq, .kind = MODEL_ALERT};
    snprintf(ev.u.alert.id, sizeof ev.u.alert.id, "%s", id);
    ev.u.alert.version = 2;
    ev.u.alert.status = s;
    snprintf(ev.u.alert.subject_kind, sizeof ev.u.alert.subject_kind, "purchase");
    snprintf(ev.u.alert.subject_id, sizeof ev.u.alert.subject_id, "pur_1");
    return ev;
}

static model_event listing(int64_t seq, const char *id, const char *title)
{
    model_event ev = {.seq = seq, .kind = MODEL_LISTING};
    snprintf(ev.u.listing.id, sizeof ev.u.listing.id, "%s", id);
    ev.u.listing.version = 1;
    snprintf(ev.u.listing.seller_id, sizeof ev.u.listing.seller_id, "agt_s");
    ev.u.listing.title.s = strdup(title);
    ev.u.listing.unit_price_minor = 2000;
    ev.u.listing.quantity = 5;
    memcpy(ev.u.listing.currency, "USD", 4);
    return ev;
}

static model_event ledger(int64_t seq, const char *id, const char *purchase_id)
{
    model_event ev = {.seq = seq, .kind = MODEL_LEDGER};
    model_ledger_entry *e = &ev.u.ledger;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->seq = seq;
    snprintf(e->purchase_id, sizeof e->purchase_id, "%s", purchase_id);
    memcpy(e->currency, "USD", 4);
    e->postings[0] = (model_posting){"agent:agt_1", -4000};
    e->postings[1] = (model_posting){"agent:agt_s", 4000};
    e->npostings = 2;
    return ev;
}

static model_event fleet(int64_t seq, bool halted)
{
    model_event ev = {.seq = seq, .kind = MODEL_FLEET};
    ev.u.fleet.halted = halted;
    ev.u.fleet.version = halted ? 2 : 1; /* halted once by sup1, for a storm */
    if (halted) {
        ev.u.fleet.reason.s = strdup("storm");
        ev.u.fleet.by.s = strdup("sup1");
        ev.u.fleet.updated_at = 1796135375723; /* 2026-12-01T14:29:35.723Z */
    }
    return ev;
}

/* Adds the config's `bind` lines, as config.c reads them from "/x/config". */
static void add_binds(config *cfg, const char *const *binds)
{
    for (size_t i = 0; binds && binds[i]; i += 2) {
        config_bind *n = realloc(cfg->binds, (cfg->nbinds + 1) * sizeof *n);
        assert_non_null(n);
        cfg->binds = n;
        n[cfg->nbinds++] = (config_bind){strdup(binds[i]), strdup(binds[i + 1]),
                                         strdup("/x/config"), (int)(i / 2 + 1)};
    }
}

consolefx *consolefx_open(const char *const *binds, bool read_only)
{
    return consolefx_open_as(binds, read_only, true);
}

consolefx *consolefx_open_as(const char *const *binds, bool read_only, bool bound)
{
    consolefx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TEST_TMP");
    snprintf(f->dir, sizeof f->dir, "%s/console.XXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    config_init(&f->cfg);
    snprintf(f->cfg.url, sizeof f->cfg.url, "http://127.0.0.1:9");
    snprintf(f->cfg.journal_path, sizeof f->cfg.journal_path, "%s/journal", f->dir);
    f->cfg.no_stream = true; /* and client_run is never called: no connection */
    f->cfg.read_only = read_only;
    add_binds(&f->cfg, binds);
    ui *u = &f->u;
    u->cfg = &f->cfg;
    u->read_only = read_only;
    u->mode_text = TEXT_UTF8;
    snprintf(u->cs.role, sizeof u->cs.role, "supervisor");
    u->st = store_new();
    char err[512];
    u->cl = client_new(&f->cfg, u->st, err, sizeof err);
    if (!u->cl)
        fail_msg("client_new: %s", err);
    if (bound)
        assert_int_equal(client_bind(u->cl, "ep1", "sup1"), 0);
    keymap_init(&f->cfg, u->binding_warnings, sizeof u->binding_warnings);
    store_reset(u->st, "ep1", 0);
    int64_t seq = 0; /* each event the next in the stream (a repeat would be dropped) */
    put(u->st, listing(++seq, "lst_1", "Gravel bike"));
    put(u->st, agent(++seq, "agt_1", false));
    put(u->st, agent(++seq, "agt_2", true));
    put(u->st, purchase(++seq, "pur_1", PUR_PENDING, 3));
    /* pur_2 and alr_2 are seen while waiting or open, then closed: the store takes a
     * closed object it does not hold only from a snapshot (its working set, model.h) */
    put(u->st, purchase(++seq, "pur_2", PUR_PENDING, 6));
    put(u->st, purchase(++seq, "pur_2", PUR_SETTLED, 7));
    put(u->st, alert(++seq, "alr_1", ALERT_OPEN));
    model_event open2 = alert(++seq, "alr_2", ALERT_OPEN);
    open2.u.alert.version = 1;
    put(u->st, open2);
    put(u->st, alert(++seq, "alr_2", ALERT_ACKED));
    put(u->st, fleet(++seq, false));
    put(u->st, ledger(++seq, "led_1", "pur_2"));
    for (int p = 0; p < PANE_COUNT; p++) {
        u->panes[p].table.page = 10;
        panes_refresh(u, p, true);
    }
    return f;
}

void consolefx_close(consolefx *f)
{
    client_free(f->u.cl);
    store_free(f->u.st);
    for (int p = 0; p < PANE_COUNT; p++) {
        free(f->u.panes[p].rows);
        panes_texts_free(&f->u.panes[p]);
    }
    config_free(&f->cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

void consolefx_halt_fleet(consolefx *f)
{
    put(f->u.st, fleet(store_seq(f->u.st) + 1, true));
}

bool consolefx_nothing_sent(const consolefx *f)
{
    return f->u.ninflight == 0 && client_pending_decisions(f->u.cl) == 0 &&
           f->u.mode == MODE_BROWSE;
}

void consolefx_says(const consolefx *f, const char *want, bool error)
{
    char said[sizeof f->u.status]; /* a placeholder is marked for the screen */
    text_strip_marks(f->u.status, said, sizeof said);
    if (!strstr(said, want) || f->u.status_error != error)
        fail_msg("the status line says '%s' (%s), not the %s '%s'", said,
                 f->u.status_error ? "an error" : "a notice", error ? "error" : "notice", want);
}

void consolefx_confirming(const consolefx *f, decision_action a, const char *subject)
{
    assert_int_equal(f->u.mode, MODE_CONFIRM);
    assert_int_equal(f->u.confirm_req.action, a);
    assert_string_equal(f->u.confirm_req.subject_id, subject);
    assert_int_equal(f->u.ninflight, 0);
}

void consolefx_sent(const consolefx *f, decision_action a, const char *subject)
{
    assert_int_equal(f->u.ninflight, 1);
    assert_int_equal(f->u.inflight[0].action, a);
    assert_string_equal(f->u.inflight[0].subject, subject);
    assert_int_equal(client_pending_decisions(f->u.cl), 1);
    assert_int_equal(f->u.mode, MODE_BROWSE);
}

void consolefx_key_on(consolefx *f, int p, const char *id, ui_action a)
{
    commands_do(&f->u, (ui_action)(ACT_PANE1 + p));
    assert_true(panes_select_id(&f->u, p, id));
    commands_do(&f->u, a);
}

void consolefx_answer(consolefx *f, const char *line)
{
    f->u.mode = MODE_BROWSE; /* cmdline_key closes the line before handing it over */
    actions_line_done(&f->u, line);
}

/* Adds a dispute; see consolefx.h. */
void consolefx_dispute(consolefx *f)
{
    char data[1200], err[200];
    long long seq = (long long)store_seq(f->u.st) + 1;
    snprintf(data, sizeof data,
             "{\"seq\":%lld,\"type\":\"dispute.updated\",\"at\":\"2026-01-01T00:00:00Z\","
             "\"data\":{\"id\":\"dsp_1\",\"version\":1,\"purchase_id\":\"pur_2\","
             "\"negotiation_id\":null,\"buyer_id\":\"agt_1\",\"seller_id\":\"agt_2\","
             "\"opened_by\":\"agt_1\",\"reason\":\"wrong_quantity\",\"claim_minor\":3000,"
             "\"currency\":\"USD\",\"text\":\"asked for 1, got 3\",\"status\":\"open\","
             "\"response\":null,\"responses\":[],\"resolution\":null,\"unanswered\":false,"
             "\"respond_by\":\"2999-01-01T00:00:00Z\",\"created_at\":\"2026-01-01T00:00:00Z\","
             "\"updated_at\":\"2026-01-01T00:00:00Z\"}}",
             seq);
    model_event ev;
    assert_int_equal(
        json_decode_event("dispute.updated", data, strlen(data), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    assert_int_equal(store_apply(f->u.st, &ev), STORE_APPLIED);
    model_event_free(&ev);
}

/* Adds marketd's default policies; see consolefx.h. */
void consolefx_policies(consolefx *f)
{
    static const char *const pols[] = {
        "\"id\":\"pol_1\",\"name\":\"flagged-to-a-person\",\"priority\":10,\"mode\":\"live\","
        "\"action\":\"review\",\"match\":{\"flags_any\":[\"overpay\",\"budget\"]},\"hits\":0",
        "\"id\":\"pol_2\",\"name\":\"small-clean-books\",\"priority\":20,\"mode\":\"live\","
        "\"action\":\"approve\",\"match\":{\"currency\":\"USD\",\"total_max_minor\":100000,"
        "\"risk_max\":0,\"max_per_hour\":60},\"hits\":7",
        "\"id\":\"pol_3\",\"name\":\"large-to-a-person\",\"priority\":30,\"mode\":\"live\","
        "\"action\":\"review\",\"match\":{\"total_min_minor\":100001},\"hits\":0",
        "\"id\":\"pol_4\",\"name\":\"overpay-veto-shadow\",\"priority\":40,\"mode\":\"shadow\","
        "\"action\":\"veto\",\"reason\":\"overpay\",\"match\":{\"flags_any\":[\"overpay\"]},"
        "\"shadow_hits\":2",
    };
    for (size_t i = 0; i < sizeof pols / sizeof pols[0]; i++) {
        char data[800], err[200];
        long long seq = (long long)store_seq(f->u.st) + 1;
        snprintf(data, sizeof data,
                 "{\"seq\":%lld,\"type\":\"policy.updated\",\"at\":\"2026-01-01T00:00:00Z\","
                 "\"data\":{%s,\"version\":1,\"enabled\":true,"
                 "\"updated_at\":\"2026-01-01T00:00:00Z\"}}",
                 seq, pols[i]);
        model_event ev;
        assert_int_equal(json_decode_event("policy.updated", data, strlen(data), TEXT_UTF8, &ev,
                                           err, sizeof err),
                         JSON_OK);
        assert_int_equal(store_apply(f->u.st, &ev), STORE_APPLIED);
        model_event_free(&ev);
    }
}
