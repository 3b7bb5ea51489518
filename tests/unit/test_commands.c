/* test_commands.c: the console's operator actions without a terminal: the table of
 * tui/commands.c is whole, every command of it parses and acts (and its bad arguments
 * change nothing), unknown commands are named, read-only refuses every decision from a
 * key and from the command line, the veto/cap/pause/halt/refund prompts take their
 * answers (or refuse them, sending nothing), and the help screen and the key bar are
 * generated from the table with the live bindings. The console's own ui, store and client
 * are used (the client bound to a market but never run: nothing leaves the process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tui/ui.h"

typedef struct fx {
    config cfg;
    ui u;
    char dir[512];
} fx;

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

static model_event fleet(int64_t seq, bool halted)
{
    model_event ev = {.seq = seq, .kind = MODEL_FLEET};
    ev.u.fleet.halted = halted;
    return ev;
}

/* A console on a market holding: pur_1 pending (v3, 2 x $20.00), pur_2 settled, agt_1
 * active, agt_2 paused, alr_1 open, alr_2 acknowledged, the fleet running. binds are
 * `bind` lines ("x quit"), NULL-terminated pairs. */
static fx *open_fx(const char *const *binds, bool read_only)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *tmp = getenv("TEST_TMP");
    snprintf(f->dir, sizeof f->dir, "%s/commands.XXXXXX", tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    config_init(&f->cfg);
    snprintf(f->cfg.url, sizeof f->cfg.url, "http://127.0.0.1:9");
    snprintf(f->cfg.journal_path, sizeof f->cfg.journal_path, "%s/journal", f->dir);
    f->cfg.no_stream = true; /* the client never connects: client_run is never called */
    f->cfg.read_only = read_only;
    for (size_t i = 0; binds && binds[i]; i += 2) {
        f->cfg.binds = realloc(f->cfg.binds, (f->cfg.nbinds + 1) * sizeof *f->cfg.binds);
        config_bind *b = &f->cfg.binds[f->cfg.nbinds++];
        *b = (config_bind){strdup(binds[i]), strdup(binds[i + 1]), strdup("/x/config"),
                           (int)(i / 2 + 1)};
    }
    ui *u = &f->u;
    u->cfg = &f->cfg;
    u->read_only = read_only;
    u->mode_text = TEXT_UTF8;
    snprintf(u->cs.role, sizeof u->cs.role, "supervisor");
    u->st = store_new();
    char err[512];
    u->cl = client_new(&f->cfg, u->st, err, sizeof err);
    assert_non_null(u->cl);
    assert_int_equal(client_bind(u->cl, "ep1", "sup1"), 0);
    keymap_init(&f->cfg, u->binding_warnings, sizeof u->binding_warnings);
    store_reset(u->st, "ep1", 0);
    put(u->st, agent(1, "agt_1", false));
    put(u->st, agent(2, "agt_2", true));
    put(u->st, purchase(3, "pur_1", PUR_PENDING, 3));
    put(u->st, purchase(4, "pur_2", PUR_SETTLED, 7));
    put(u->st, alert(5, "alr_1", ALERT_OPEN));
    put(u->st, alert(6, "alr_2", ALERT_ACKED));
    put(u->st, fleet(7, false));
    for (int p = 0; p < PANE_COUNT; p++) {
        u->panes[p].table.page = 10;
        panes_refresh(u, p, true);
    }
    return f;
}

static void close_fx(fx *f)
{
    client_free(f->u.cl);
    store_free(f->u.st);
    for (int p = 0; p < PANE_COUNT; p++)
        free(f->u.panes[p].rows);
    config_free(&f->cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

/* True when nothing was sent and the console is back to browsing. */
static bool nothing_sent(const fx *f)
{
    return f->u.ninflight == 0 && client_pending_decisions(f->u.cl) == 0 &&
           f->u.mode == MODE_BROWSE;
}

/* Asserts the status line says want (a part of it) and is an error or not. */
#define assert_status(f, want, err)                                                                \
    do {                                                                                           \
        if (!strstr((f)->u.status, (want)))                                                        \
            fail_msg("status '%s' does not say '%s'", (f)->u.status, (want));                      \
        assert_int_equal((f)->u.status_error, (err));                                              \
    } while (0)

/* ---- the table ---- */

/* Every entry has a name of its own and what its parts need; commands are found by
 * name (and "q"), keys are not commands. */
static void test_table_is_whole(void **state)
{
    (void)state;
    for (int a = 0; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        assert_non_null(c);
        assert_non_null(c->name);
        for (int b = 0; b < a; b++)
            assert_string_not_equal(c->name, commands_get((ui_action)b)->name);
        if (a != ACT_NONE)
            assert_int_equal(c->on_key != NULL, c->key_help != NULL);
        if (c->keys)
            assert_non_null(c->on_key);
        if (c->usage) {
            assert_non_null(c->help);
            assert_int_equal(strncmp(c->usage, c->name, strlen(c->name)), 0);
            assert_true(c->on_command || c->on_key);
            assert_ptr_equal(commands_find(c->name), c);
        } else {
            assert_null(commands_find(c->name));
            assert_int_equal(c->arg, ARG_NONE);
        }
        if (c->bar)
            assert_true(c->panes && c->on_key);
        assert_true(c->on_key || c->usage || a == ACT_NONE);
    }
    assert_null(commands_get(ACT_COUNT));
    assert_ptr_equal(commands_find("q"), commands_get(ACT_QUIT));
    assert_null(commands_find("frobnicate"));
    assert_null(commands_find(""));
}

/* ---- every command, with good arguments ---- */

typedef struct cmd_case {
    ui_action action;
    const char *line;
    void (*prep)(fx *f);
    void (*check)(fx *f);
} cmd_case;

static void halted(fx *f)
{
    put(f->u.st, fleet(8, true));
}

static void confirm_is(const fx *f, decision_action a, const char *subject)
{
    assert_int_equal(f->u.mode, MODE_CONFIRM);
    assert_int_equal(f->u.confirm_req.action, a);
    assert_string_equal(f->u.confirm_req.subject_id, subject);
    assert_int_equal(f->u.ninflight, 0);
}

static void sent_is(const fx *f, decision_action a, const char *subject)
{
    assert_int_equal(f->u.ninflight, 1);
    assert_int_equal(f->u.inflight[0].action, a);
    assert_string_equal(f->u.inflight[0].subject, subject);
    assert_int_equal(client_pending_decisions(f->u.cl), 1);
    assert_int_equal(f->u.mode, MODE_BROWSE);
}

static void check_approve(fx *f)
{
    confirm_is(f, DEC_APPROVE, "pur_1");
    assert_int_equal(f->u.confirm_req.if_match_version, 3);
    assert_int_equal(f->u.confirm_req.expected_total_minor, 4000);
    assert_string_equal(f->u.confirm_title, "Approve pur_1 (version 3)");
}

static void check_veto(fx *f)
{
    sent_is(f, DEC_VETO, "pur_1");
    assert_string_equal(f->u.line_req.reason, "too pricey for a bike");
}

static void check_cap(fx *f)
{
    confirm_is(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, 150);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
}

static void check_refund(fx *f)
{
    confirm_is(f, DEC_REFUND, "pur_2");
    assert_string_equal(f->u.confirm_req.reason, "wrong item");
}

static void check_pause(fx *f)
{
    sent_is(f, DEC_PAUSE, "agt_1");
    assert_string_equal(f->u.line_req.reason, "over budget");
}

static void check_resume(fx *f)
{
    confirm_is(f, DEC_RESUME, "agt_2");
}

static void check_halt(fx *f)
{
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_HALT_CONFIRM);
    assert_string_equal(cmdline_prompt(), "type halt to stop every agent: ");
    assert_string_equal(f->u.line_req.reason, "market closed");
}

static void check_resume_fleet(fx *f)
{
    confirm_is(f, DEC_FLEET_RESUME, "");
}

static void check_ack(fx *f)
{
    sent_is(f, DEC_ACK, "alr_1");
    assert_string_equal(f->u.inflight[0].label, "acking…");
}

static void check_export(fx *f)
{
    assert_status(f, "exported 0 ledger entries to ", false);
    char path[600];
    snprintf(path, sizeof path, "%s/ledger.csv", f->dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
}

static void check_theme(fx *f)
{
    assert_status(f, "theme dark (no colour: attributes only)", false);
    assert_string_equal(f->u.theme_name, "dark");
}

static void check_filter(fx *f)
{
    assert_string_equal(f->u.panes[PANE_PENDING].filter, "pur_1");
    assert_status(f, "1 rows", false);
}

static void check_sort(fx *f)
{
    assert_int_equal(f->u.panes[PANE_PENDING].sort, 1 % panes_sort_count(PANE_PENDING));
    assert_status(f, "Pending sorted by ", false);
}

static void check_pane(fx *f)
{
    assert_int_equal(f->u.pane, PANE_LEDGER);
}

static void check_bell(fx *f)
{
    assert_true(f->u.bell);
    assert_status(f, "bell on", false);
}

static void check_help(fx *f)
{
    assert_int_equal(f->u.mode, MODE_HELP);
}

static void check_quit(fx *f)
{
    assert_true(f->u.quit);
}

/* (The export's line names a file in the fixture's folder: made in the test.) */
static const cmd_case good[] = {
    {ACT_APPROVE, "approve pur_1", NULL, check_approve},
    {ACT_VETO, "veto pur_1   too pricey for a bike  ", NULL, check_veto},
    {ACT_CAP, "cap pur_1 1.50 1", NULL, check_cap},
    {ACT_REFUND, "refund pur_2 wrong item", NULL, check_refund},
    {ACT_PAUSE, "pause agt_1 over budget", NULL, check_pause},
    {ACT_RESUME, "resume agt_2", NULL, check_resume},
    {ACT_HALT, "halt market closed", NULL, check_halt},
    {ACT_RESUME_FLEET, "resume-fleet", halted, check_resume_fleet},
    {ACT_ACK, "ack alr_1 seen it", NULL, check_ack},
    {ACT_EXPORT, "export ledger DIR/ledger.csv", NULL, check_export},
    {ACT_THEME, "theme dark", NULL, check_theme},
    {ACT_FILTER, "filter pur_1", NULL, check_filter},
    {ACT_SORT, "sort", NULL, check_sort},
    {ACT_PANE, "pane 4", NULL, check_pane},
    {ACT_BELL, "bell on", NULL, check_bell},
    {ACT_HELP, "help", NULL, check_help},
    {ACT_QUIT, "quit", NULL, check_quit},
};

/* Every command of the table runs with good arguments and does what it says. */
static void test_every_command(void **state)
{
    (void)state;
    bool covered[ACT_COUNT] = {false};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fx *f = open_fx(NULL, false);
        if (good[i].prep)
            good[i].prep(f);
        char line[800];
        if (good[i].action == ACT_EXPORT)
            snprintf(line, sizeof line, "export ledger %s/ledger.csv", f->dir);
        else
            snprintf(line, sizeof line, "%s", good[i].line);
        commands_run(&f->u, line);
        good[i].check(f);
        covered[good[i].action] = true;
        close_fx(f);
    }
    for (int a = 0; a < ACT_COUNT; a++)
        if (commands_get((ui_action)a)->usage && !covered[a])
            fail_msg("the command '%s' has no case here", commands_get((ui_action)a)->name);
}

/* Other forms: a named sort order, a pane by name, q, the bell toggled, a cap with no
 * price limit, an empty filter. */
static void test_command_forms(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    char line[100];
    snprintf(line, sizeof line, "sort %s", panes_sort_name(PANE_PENDING, 1));
    commands_run(&f->u, line);
    assert_int_equal(f->u.panes[PANE_PENDING].sort, 1);
    commands_run(&f->u, "pane AGENTS");
    assert_int_equal(f->u.pane, PANE_AGENTS);
    commands_run(&f->u, "bell");
    assert_true(f->u.bell);
    commands_run(&f->u, "bell off");
    assert_false(f->u.bell);
    commands_run(&f->u, "pane 1");
    commands_run(&f->u, "filter ");
    assert_string_equal(f->u.panes[PANE_PENDING].filter, "");
    commands_run(&f->u, "cap pur_1 - 1");
    confirm_is(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, -1);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
    f->u.mode = MODE_BROWSE;
    commands_run(&f->u, "q");
    assert_true(f->u.quit);
    close_fx(f);
}

/* ---- bad arguments and unknown commands: a clear message, nothing changes ---- */

typedef struct bad_case {
    const char *line;
    const char *says;
} bad_case;

static const bad_case bad[] = {
    {"approve pur_nope", "no such purchase"},
    {"approve pur_2", "pur_2 is settled, not waiting for approval"},
    {"veto pur_2 why", "not waiting for approval"},
    {"cap pur_1", "usage: cap PUR PRICE [QTY]"},
    {"cap pur_1 abc", "cap price 'abc': "},
    {"cap pur_1 1.50 0", "cap quantity must be a whole number above 0"},
    {"cap pur_1 1.50 2x", "cap quantity must be a whole number above 0"},
    {"cap pur_1 -", "cap needs a unit price or a quantity; not sent"},
    {"refund pur_1 why", "only a settled purchase can be refunded"},
    {"pause agt_nope lunch", "select an agent first (pane 6)"},
    {"resume agt_1", "is active: nothing to resume"},
    {"resume-fleet", "the fleet is running"},
    {"ack alr_2", "alr_2 is already acknowledged"},
    {"ack alr_nope", "select an alert first (pane 5)"},
    {"export", "usage: export ledger FILE.csv | export threads FILE.json"},
    {"export ledger", "usage: export ledger FILE.csv"},
    {"export books f.csv", "export ledger|threads FILE"},
    {"export ledger /nonexistent-dir/f.csv", "export ledger: No such file or directory"},
    {"theme nosuch", "nosuch"},
    {"sort bogus", "no sort order 'bogus' here"},
    {"frobnicate now", "unknown command 'frobnicate' (Tab completes, :help lists them)"},
    {"Approve pur_1", "unknown command 'Approve'"},
    {"frob\xe2\x80\xaenicate", "unknown command 'frob<U+202E>nicate'"},
};

static void test_bad_arguments(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx *f = open_fx(NULL, false);
        commands_run(&f->u, bad[i].line);
        char said[sizeof f->u.status]; /* a placeholder is marked for the screen */
        text_strip_marks(f->u.status, said, sizeof said);
        if (!strstr(said, bad[i].says) || !f->u.status_error)
            fail_msg("'%s' says '%s', not the error '%s'", bad[i].line, said, bad[i].says);
        assert_true(nothing_sent(f));
        assert_int_equal(f->u.pane, PANE_PENDING);
        close_fx(f);
    }
    fx *f = open_fx(NULL, false); /* the fleet halted: :halt says so */
    halted(f);
    commands_run(&f->u, "halt again");
    assert_status(f, "the fleet is already halted (:resume-fleet resumes it)", true);
    assert_true(nothing_sent(f));
    commands_run(&f->u, "pane 9"); /* no such pane: it stays */
    commands_run(&f->u, "pane nowhere");
    assert_int_equal(f->u.pane, PANE_PENDING);
    commands_run(&f->u, "pane 3"); /* no id, and no purchase selected */
    commands_run(&f->u, "approve");
    assert_status(f, "select a purchase first", true);
    assert_true(nothing_sent(f));
    f->u.status[0] = '\0';
    commands_run(&f->u, ""); /* an empty line does nothing */
    commands_run(&f->u, "   ");
    assert_string_equal(f->u.status, "");
    close_fx(f);
}

/* ---- read-only ---- */

/* Every decision of the table is refused read-only, from its key and its command, and
 * nothing is asked or sent; the rest still works. */
static void test_read_only_refuses_decisions(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, true);
    int refused = 0;
    for (int a = 1; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        if (!c->decision)
            continue;
        char line[100], want[100];
        if (c->usage) {
            snprintf(line, sizeof line, "%s pur_1 because", c->name);
            commands_run(&f->u, line);
            snprintf(want, sizeof want, "read-only: '%s' is unavailable", c->name);
            assert_status(f, want, true);
            assert_true(nothing_sent(f));
            refused++;
        }
        if (c->on_key) {
            commands_do(&f->u, (ui_action)a);
            snprintf(want, sizeof want, "read-only (--read-only): '%s' is unavailable", c->name);
            assert_status(f, want, true);
            assert_true(nothing_sent(f));
            refused++;
        }
    }
    assert_int_equal(refused, 9 + 7); /* nine decision commands, seven decision keys */
    commands_run(&f->u, "bell on");
    assert_true(f->u.bell);
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_THREADS);
    close_fx(f);

    f = open_fx(NULL, false); /* a viewer: the role says why */
    f->u.read_only = true;
    snprintf(f->u.cs.role, sizeof f->u.cs.role, "viewer");
    commands_do(&f->u, ACT_APPROVE);
    assert_status(f, "read-only (viewer): 'approve' is unavailable", true);
    assert_true(nothing_sent(f));
    close_fx(f);
}

/* ---- the prompts ---- */

/* Runs a key's action with the selection on id in pane p. */
static void key_on(fx *f, int p, const char *id, ui_action a)
{
    commands_do(&f->u, (ui_action)(ACT_PANE1 + p));
    assert_true(panes_select_id(&f->u, p, id));
    commands_do(&f->u, a);
}

static void test_veto_prompt(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    key_on(f, PANE_PENDING, "pur_1", ACT_VETO);
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_VETO_REASON);
    assert_string_equal(cmdline_prompt(), "veto pur_1  reason: ");
    f->u.mode = MODE_BROWSE; /* as cmdline_key does before handing the line over */
    actions_line_done(&f->u, "");
    assert_status(f, "a veto needs a reason; nothing was sent", true);
    assert_true(nothing_sent(f));
    commands_do(&f->u, ACT_VETO);
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, NULL); /* Esc */
    assert_status(f, "cancelled: nothing was sent", false);
    assert_true(nothing_sent(f));
    commands_do(&f->u, ACT_VETO);
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "too pricey");
    sent_is(f, DEC_VETO, "pur_1");
    assert_int_equal(f->u.inflight[0].id != 0, 1);
    close_fx(f);
}

/* Answers the cap prompts: price, then quantity. */
static void cap_answers(fx *f, const char *price, const char *qty)
{
    commands_do(&f->u, ACT_CAP);
    assert_int_equal(f->u.line_purpose, LINE_CAP_PRICE);
    assert_string_equal(cmdline_prompt(), "cap pur_1  max unit price (now $20.00): ");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, price);
    if (!qty)
        return;
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_CAP_QTY);
    assert_string_equal(cmdline_prompt(), "cap pur_1  max quantity (now 2): ");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, qty);
}

static void test_cap_prompts(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    key_on(f, PANE_PENDING, "pur_1", ACT_NONE);
    cap_answers(f, "abc", NULL);
    assert_status(f, "unit price: ", true);
    assert_status(f, "; nothing was sent", true);
    assert_true(nothing_sent(f));
    cap_answers(f, "1.50", "none");
    assert_status(f, "quantity must be a whole number above 0; nothing was sent", true);
    assert_true(nothing_sent(f));
    cap_answers(f, "1.50", "0");
    assert_status(f, "quantity must be a whole number above 0; nothing was sent", true);
    cap_answers(f, "", "");
    assert_status(f, "cap needs a unit price or a quantity; not sent", true);
    assert_true(nothing_sent(f));
    cap_answers(f, "", " 1 ");
    confirm_is(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, -1);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
    actions_confirm_key(&f->u, 'n', false);
    assert_status(f, "not capped: nothing was sent", false);
    assert_true(nothing_sent(f));
    cap_answers(f, "1.50", "");
    confirm_is(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, 150);
    assert_int_equal(f->u.confirm_req.max_quantity, -1);
    assert_int_equal(f->u.confirm_req.if_match_version, 3);
    actions_confirm_key(&f->u, 'y', false);
    sent_is(f, DEC_CAP, "pur_1");
    assert_string_equal(f->u.inflight[0].label, "capping…");
    close_fx(f);
}

static void test_pause_prompt(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    key_on(f, PANE_AGENTS, "agt_1", ACT_PAUSE);
    assert_int_equal(f->u.line_purpose, LINE_PAUSE_REASON);
    assert_string_equal(cmdline_prompt(), "pause agt_1  reason: ");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "");
    assert_status(f, "a pause needs a reason; nothing was sent", true);
    assert_true(nothing_sent(f));
    key_on(f, PANE_AGENTS, "agt_2", ACT_PAUSE); /* paused: p resumes, asked y/N */
    confirm_is(f, DEC_RESUME, "agt_2");
    assert_string_equal(f->u.confirm_title, "Resume agent agt_2");
    actions_confirm_key(&f->u, 'x', false);
    assert_status(f, "not resumed: nothing was sent", false);
    key_on(f, PANE_AGENTS, "agt_1", ACT_PAUSE);
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "lunch break");
    sent_is(f, DEC_PAUSE, "agt_1");
    assert_string_equal(f->u.line_req.reason, "lunch break");
    close_fx(f);
}

static void test_halt_and_refund_prompts(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    commands_do(&f->u, ACT_HALT);
    assert_int_equal(f->u.line_purpose, LINE_HALT_REASON);
    assert_string_equal(cmdline_prompt(), "HALT THE FLEET  reason: ");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "");
    assert_status(f, "a halt needs a reason; the fleet keeps running", true);
    commands_do(&f->u, ACT_HALT);
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "storm");
    assert_int_equal(f->u.line_purpose, LINE_HALT_CONFIRM);
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "HALT");
    assert_status(f, "not halted: you typed something other than 'halt'", true);
    assert_true(nothing_sent(f));
    commands_run(&f->u, "halt storm");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "halt");
    sent_is(f, DEC_HALT, "fleet");
    close_fx(f);

    f = open_fx(NULL, false);
    commands_run(&f->u, "refund pur_2");
    assert_int_equal(f->u.line_purpose, LINE_REFUND_REASON);
    assert_string_equal(cmdline_prompt(), "refund pur_2  reason: ");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "");
    assert_status(f, "a refund needs a reason; nothing was sent", true);
    assert_true(nothing_sent(f));
    commands_run(&f->u, "refund pur_2");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "broken");
    confirm_is(f, DEC_REFUND, "pur_2");
    assert_string_equal(f->u.confirm_req.reason, "broken");
    assert_int_equal(f->u.confirm_req.if_match_version, 7);
    close_fx(f);
}

/* A line typed at the command prompt runs as a command. */
static void test_command_prompt(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    commands_do(&f->u, ACT_COMMAND);
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_COMMAND);
    assert_string_equal(cmdline_prompt(), ":");
    f->u.mode = MODE_BROWSE;
    actions_line_done(&f->u, "pane 3");
    assert_int_equal(f->u.pane, PANE_LISTINGS);
    actions_line_done(&f->u, NULL); /* Esc on the command line: no message */
    assert_string_equal(f->u.status, "");
    close_fx(f);
}

/* ---- the help screen and the key bar ---- */

static int help_of(const fx *f, char lines[][UI_HELP_WIDTH])
{
    int n = commands_help(&f->u, lines, UI_HELP_MAX);
    assert_true(n > 0 && n < UI_HELP_MAX); /* everything fits */
    return n;
}

/* The line of the help that starts with want after its two spaces, or NULL. */
static const char *help_line(char lines[][UI_HELP_WIDTH], int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (strncmp(lines[i], want, strlen(want)) == 0)
            return lines[i];
    return NULL;
}

/* Every key of the table with its keys and help, every command with its usage. */
static void test_help_lists_the_table(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = help_of(f, lines);
    assert_string_equal(lines[0],
                        "Keys (from the keymap; remap with `bind KEY ACTION` in the config)");
    for (int a = 1; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        char want[UI_HELP_WIDTH];
        if (c->on_key) {
            snprintf(want, sizeof want, "  %-16s %-14s %s", c->keys, c->name, c->key_help);
            if (!help_line(lines, n, want))
                fail_msg("the help has no line '%s'", want);
        }
        if (c->usage) {
            snprintf(want, sizeof want, "  %-25s %s", c->usage, c->help);
            if (!help_line(lines, n, want))
                fail_msg("the help has no line '%s'", want);
        }
    }
    assert_non_null(help_line(lines, n, "  a                approve        approve the purchase"));
    assert_non_null(help_line(lines, n, "  q                quit           quit dealdesk"));
    assert_non_null(help_line(lines, n, "Commands (after ':')"));
    /* the decisions first among the commands */
    const char *first = help_line(lines, n, "  approve PUR  ");
    const char *export = help_line(lines, n, "  export ledger|threads F");
    assert_true(first && export && first < export);
    assert_null(help_line(lines, n, "Config:"));
    for (int i = 0; i < n; i++)
        assert_null(strstr(lines[i], "unavailable"));
    close_fx(f);
}

/* Read-only marks every decision key unavailable; the demo's market comes first. */
static void test_help_read_only_and_demo(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, true);
    f->cfg.demo = true;
    snprintf(f->cfg.token_file, sizeof f->cfg.token_file, "/tmp/demo/token");
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = help_of(f, lines);
    assert_string_equal(lines[0], "Demo (its market and token file are removed when you quit)");
    assert_non_null(help_line(lines, n, "  token file  /tmp/demo/token"));
    int marked = 0;
    for (int i = 0; i < n; i++)
        marked += strstr(lines[i], "  [unavailable: read-only]") != NULL;
    assert_int_equal(marked, 7);
    assert_non_null(strstr(help_line(lines, n, "  v "), "[unavailable: read-only]"));
    close_fx(f);
}

/* Remapped keys show in the help and the key bar; conflicts are reported. */
static void test_remaps_show(void **state)
{
    (void)state;
    static const char *const binds[] = {"x",    "quit", "s",       "help", "z",    "approve", "a",
                                        "none", "F5",   "nothing", "C-",   "sort", NULL};
    fx *f = open_fx(binds, false);
    assert_string_equal(f->u.binding_warnings,
                        "config:2: key s was 'sort', now 'help'; config:4: key a was 'approve', "
                        "now 'none'; config:5: unknown action 'nothing'; config:6: unknown key "
                        "'C-'");
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = help_of(f, lines);
    assert_non_null(help_line(lines, n, "  q x              quit"));
    assert_non_null(help_line(lines, n, "  s ? F1           help"));
    assert_non_null(help_line(lines, n, "  (unbound)        sort"));
    assert_non_null(help_line(lines, n, "  z                approve"));
    assert_non_null(help_line(lines, n, "Config: config:2: key s was 'sort'"));
    ui_bar_item bar[ACT_COUNT];
    size_t nb = commands_bar(&f->u, PANE_PENDING, bar, ACT_COUNT);
    const char *want[][2] = {{"z", "approve"}, {"v", "veto"},    {"c", "cap"},  {"Enter", "open"},
                             {"/", "filter"},  {":", "command"}, {"s", "help"}, {"q", "quit"}};
    assert_int_equal(nb, sizeof want / sizeof want[0]); /* sort has no key: not offered */
    for (size_t i = 0; i < nb; i++) {
        assert_string_equal(bar[i].key, want[i][0]);
        assert_string_equal(bar[i].name, want[i][1]);
    }
    close_fx(f);

    static const char *const twice[] = {"x", "quit", "x", "help", NULL};
    f = open_fx(twice, false);
    assert_string_equal(f->u.binding_warnings, "config:2: key x bound twice; 'help' wins");
    close_fx(f);
    static const char *const lost[] = {"q", "none", "?", "none", "F1", "none", NULL};
    f = open_fx(lost, false);
    assert_non_null(strstr(f->u.binding_warnings, "'quit' has no key; 'help' has no key"));
    close_fx(f);
}

/* Each pane's bar: what the pane offers first, then the ways around; read-only without
 * the decisions; every entry with a place in the bar shows on its panes. */
static void test_key_bar(void **state)
{
    (void)state;
    static const char *const want[PANE_COUNT] = {
        [PANE_PENDING] = "a approve v veto c cap ",
        [PANE_THREADS] = "p pause ",
        [PANE_LISTINGS] = "",
        [PANE_LEDGER] = "R refund ",
        [PANE_ALERTS] = "A ack ",
        [PANE_AGENTS] = "p pause H halt ",
    };
    const char *ways = "Enter open / filter s sort : command ? help q quit ";
    for (int ro = 0; ro < 2; ro++) {
        fx *f = open_fx(NULL, ro);
        for (int p = 0; p < PANE_COUNT; p++) {
            ui_bar_item bar[ACT_COUNT];
            size_t nb = commands_bar(&f->u, p, bar, ACT_COUNT);
            char got[300] = "", exp[300];
            for (size_t i = 0; i < nb; i++) {
                size_t len = strlen(got);
                snprintf(got + len, sizeof got - len, "%.15s %.20s ", bar[i].key, bar[i].name);
            }
            snprintf(exp, sizeof exp, "%s%s", ro ? "" : want[p], ways);
            assert_string_equal(got, exp);
            for (int a = 1; a < ACT_COUNT; a++) { /* each entry of the bar, on its panes */
                const ui_command *c = commands_get((ui_action)a);
                bool shown = false;
                for (size_t i = 0; i < nb; i++)
                    shown |= bar[i].name == c->name;
                assert_int_equal(shown, c->bar && (c->panes & (1u << p)) && !(ro && c->decision));
            }
        }
        close_fx(f);
    }
    fx *f = open_fx(NULL, false); /* a short list: the first ones */
    ui_bar_item bar[2];
    assert_int_equal(commands_bar(&f->u, PANE_AGENTS, bar, 2), 2);
    assert_string_equal(bar[1].name, "halt");
    close_fx(f);
}

/* Keys reach their entries: a pane key, the movement keys, open and back. */
static void test_keys_dispatch(void **state)
{
    (void)state;
    fx *f = open_fx(NULL, false);
    commands_do(&f->u, keymap_lookup('6', false));
    assert_int_equal(f->u.pane, PANE_AGENTS);
    assert_int_equal(keymap_lookup(KEY_BTAB, true), ACT_PREV_PANE);
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_PENDING);
    commands_do(&f->u, ACT_PREV_PANE);
    assert_int_equal(f->u.pane, PANE_AGENTS);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.nrows, 2);
    commands_do(&f->u, keymap_lookup('G', false));
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 1);
    commands_do(&f->u, keymap_lookup(KEY_UP, true));
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 0);
    commands_do(&f->u, ACT_PGDN);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 1);
    commands_do(&f->u, ACT_HOME);
    assert_int_equal(f->u.panes[PANE_AGENTS].table.sel, 0);
    commands_do(&f->u, keymap_lookup('\r', false)); /* Enter, as a terminal sends it */
    assert_true(f->u.panes[PANE_AGENTS].detail);
    commands_do(&f->u, ACT_BACK);
    assert_false(f->u.panes[PANE_AGENTS].detail);
    commands_do(&f->u, ACT_FILTER);
    assert_int_equal(f->u.mode, MODE_FILTER);
    f->u.mode = MODE_BROWSE;
    snprintf(f->u.panes[PANE_AGENTS].filter, sizeof f->u.panes[0].filter, "agt_2");
    commands_do(&f->u, ACT_BACK);
    assert_status(f, "filter cleared", false);
    commands_do(&f->u, keymap_lookup('s', false));
    assert_status(f, "Agents sorted by ", false);
    commands_do(&f->u, keymap_lookup(KEY_F(1), true));
    assert_int_equal(f->u.mode, MODE_HELP);
    f->u.mode = MODE_BROWSE;
    commands_do(&f->u, ACT_NONE); /* unbound: nothing */
    commands_do(&f->u, ACT_COUNT);
    commands_do(&f->u, keymap_lookup('q', false));
    assert_true(f->u.quit);
    close_fx(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_whole),
        cmocka_unit_test(test_every_command),
        cmocka_unit_test(test_command_forms),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_read_only_refuses_decisions),
        cmocka_unit_test(test_veto_prompt),
        cmocka_unit_test(test_cap_prompts),
        cmocka_unit_test(test_pause_prompt),
        cmocka_unit_test(test_halt_and_refund_prompts),
        cmocka_unit_test(test_command_prompt),
        cmocka_unit_test(test_help_lists_the_table),
        cmocka_unit_test(test_help_read_only_and_demo),
        cmocka_unit_test(test_remaps_show),
        cmocka_unit_test(test_key_bar),
        cmocka_unit_test(test_keys_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
