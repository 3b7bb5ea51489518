/* test_commands.c: the table of operator actions (tui/commands.c) without a terminal:
 * the table is whole; every command of it parses and acts, and its bad arguments change
 * nothing; Tab offers the commands and their arguments as the table says; unknown
 * commands are named; read-only refuses every decision from a key and
 * from the command line; the help screen and the key bar are generated from the table
 * with the live bindings (remaps and their conflicts). The console is tests/lib's
 * consolefx: the real ui, store, keymap and client, nothing leaving the process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/lib/consolefx.h"

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
            assert_int_equal(c->key.run != NULL, c->key.help != NULL);
        if (c->key.keys)
            assert_non_null(c->key.run);
        if (c->cmd.usage) {
            assert_non_null(c->cmd.help);
            assert_int_equal(strncmp(c->cmd.usage, c->name, strlen(c->name)), 0);
            assert_true(c->cmd.run || c->key.run);
            assert_ptr_equal(commands_find(c->name), c);
        } else {
            assert_null(commands_find(c->name));
            assert_int_equal(c->cmd.arg, ARG_NONE);
        }
        if (c->bar.place)
            assert_true(c->bar.panes && c->key.run);
        assert_true(c->key.run || c->cmd.usage || a == ACT_NONE);
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
    void (*prep)(consolefx *f);
    void (*check)(consolefx *f);
} cmd_case;

static void check_approve(consolefx *f)
{
    consolefx_confirming(f, DEC_APPROVE, "pur_1");
    assert_int_equal(f->u.confirm_req.if_match_version, 3);
    assert_int_equal(f->u.confirm_req.expected_total_minor, 4000);
    assert_string_equal(f->u.confirm_title, "Approve pur_1 (version 3)");
}

static void check_veto(consolefx *f)
{
    consolefx_sent(f, DEC_VETO, "pur_1");
    assert_string_equal(f->u.line_req.reason, "too pricey for a bike");
}

static void check_cap(consolefx *f)
{
    consolefx_confirming(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, 150);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
}

static void check_refund(consolefx *f)
{
    consolefx_confirming(f, DEC_REFUND, "pur_2");
    assert_string_equal(f->u.confirm_req.reason, "wrong item");
}

static void check_pause(consolefx *f)
{
    consolefx_sent(f, DEC_PAUSE, "agt_1");
    assert_string_equal(f->u.line_req.reason, "over budget");
}

static void check_resume(consolefx *f)
{
    consolefx_confirming(f, DEC_RESUME, "agt_2");
}

static void check_halt(consolefx *f)
{
    assert_int_equal(f->u.mode, MODE_LINE);
    assert_int_equal(f->u.line_purpose, LINE_HALT_CONFIRM);
    assert_string_equal(cmdline_prompt(), "type halt to stop every agent: ");
    assert_string_equal(f->u.line_req.reason, "market closed");
}

static void check_resume_fleet(consolefx *f)
{
    consolefx_confirming(f, DEC_FLEET_RESUME, "");
}

static void check_ack(consolefx *f)
{
    consolefx_sent(f, DEC_ACK, "alr_1");
    assert_string_equal(f->u.inflight[0].label, "acking…");
}

static void check_export(consolefx *f)
{
    consolefx_says(f, "exported 1 ledger entries to ", false);
    char path[600];
    snprintf(path, sizeof path, "%s/ledger.csv", f->dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
}

static void check_theme(consolefx *f)
{
    consolefx_says(f, "theme dark (no colour: attributes only)", false);
    assert_string_equal(f->u.theme_name, "dark");
}

static void check_filter(consolefx *f)
{
    assert_string_equal(f->u.panes[PANE_PENDING].filter, "pur_1");
    consolefx_says(f, "1 rows", false);
}

static void check_sort(consolefx *f)
{
    assert_int_equal(f->u.panes[PANE_PENDING].sort, 1 % panes_sort_count(PANE_PENDING));
    consolefx_says(f, "Pending sorted by ", false);
}

static void check_pane(consolefx *f)
{
    assert_int_equal(f->u.pane, PANE_LEDGER);
}

static void check_bell(consolefx *f)
{
    assert_true(f->u.bell);
    consolefx_says(f, "bell on", false);
}

/* On the Threads pane (it pages from the server): its history is read again. */
static void check_policy(consolefx *f)
{
    consolefx_confirming(f, DEC_POLICY_REPLACE, "pol_2");
    assert_non_null(strstr(f->u.confirm_req.policy, "\"total_max_minor\":50000"));
    assert_string_equal(f->u.confirm_lines[0], "total_max → $500.00");
}

static void check_resolve(consolefx *f)
{
    consolefx_confirming(f, DEC_RESOLVE, "dsp_1");
    assert_string_equal(f->u.confirm_req.outcome, "partial_refund");
    assert_int_equal(f->u.confirm_req.amount_minor, 1250);
    assert_int_equal(f->u.confirm_req.if_match_version, 1);
    assert_string_equal(f->u.confirm_req.reason, "the quantity was a typo");
    assert_string_equal(f->u.confirm_title, "Refund part of dsp_1 (version 1)");
}

static void on_threads(consolefx *f)
{
    commands_do(&f->u, ACT_PANE2);
}

static void check_refresh(consolefx *f)
{
    assert_int_equal(f->u.pane, PANE_THREADS);
    consolefx_says(f, "Threads: reading history again", false);
}

static void check_help(consolefx *f)
{
    assert_int_equal(f->u.mode, MODE_HELP);
}

static void check_mark_all(consolefx *f)
{
    assert_int_equal(f->u.nmarked, 1); /* pur_1: the one waiting purchase */
    assert_true(batch_is_marked(&f->u, "pur_1"));
    consolefx_says(f, "marked 1 more, 1 in all", false);
}

static void check_unmark_all(consolefx *f)
{
    assert_int_equal(f->u.nmarked, 0);
    consolefx_says(f, "1 mark cleared", false);
}

/* One mark to clear. */
static void mark_one(consolefx *f)
{
    commands_run(&f->u, "mark-all");
}

static void check_quit(consolefx *f)
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
    {ACT_RESUME_FLEET, "resume-fleet", consolefx_halt_fleet, check_resume_fleet},
    {ACT_ACK, "ack alr_1 seen it", NULL, check_ack},
    {ACT_POLICY, "policy set small-clean-books total_max 500.00", consolefx_policies, check_policy},
    {ACT_RESOLVE, "resolve dsp_1 partial 12.50 the quantity was a typo", consolefx_dispute,
     check_resolve},
    {ACT_EXPORT, "export ledger DIR/ledger.csv", NULL, check_export},
    {ACT_THEME, "theme dark", NULL, check_theme},
    {ACT_FILTER, "filter pur_1", NULL, check_filter},
    {ACT_SORT, "sort", NULL, check_sort},
    {ACT_PANE, "pane 4", NULL, check_pane},
    {ACT_BELL, "bell on", NULL, check_bell},
    {ACT_HELP, "help", NULL, check_help},
    {ACT_REFRESH, "refresh", on_threads, check_refresh},
    {ACT_MARK_ALL, "mark-all", NULL, check_mark_all},
    {ACT_UNMARK_ALL, "unmark-all", mark_one, check_unmark_all},
    {ACT_QUIT, "quit", NULL, check_quit},
};

/* Every command of the table runs with good arguments and does what it says. */
static void test_every_command(void **state)
{
    (void)state;
    bool covered[ACT_COUNT] = {false};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        consolefx *f = consolefx_open(NULL, false);
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
        consolefx_close(f);
    }
    for (int a = 0; a < ACT_COUNT; a++)
        if (commands_get((ui_action)a)->cmd.usage && !covered[a])
            fail_msg("the command '%s' has no case here", commands_get((ui_action)a)->name);
}

/* Other forms: a named sort order, a pane by name, q, the bell toggled, a cap with no
 * price limit, an empty filter. */
static void test_command_forms(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
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
    consolefx_confirming(f, DEC_CAP, "pur_1");
    assert_int_equal(f->u.confirm_req.max_unit_price_minor, -1);
    assert_int_equal(f->u.confirm_req.max_quantity, 1);
    f->u.mode = MODE_BROWSE;
    commands_run(&f->u, "q");
    assert_true(f->u.quit);
    consolefx_close(f);
}

/* ---- completion ---- */

/* The words Tab offers for text (the word of line from start), joined by spaces. */
static void offered(const consolefx *f, const char *line, int start, const char *text, char *out,
                    size_t size)
{
    char **w;
    size_t n = cmdline_completions(&f->u, line, start, text, &w);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (used < size)
            used += (size_t)snprintf(out + used, size - used, "%s%s", i ? " " : "", w[i]);
        free(w[i]);
    }
    free(w);
}

/* Tab offers every command of the table (and no key), and for its arguments what its
 * entry says they are, from the store. */
static void test_completion(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    char got[600];
    size_t commands = 0;
    for (int a = 0; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        offered(f, c->name, 0, c->name, got, sizeof got);
        bool has = false; /* the name is one of the words offered */
        for (char *w = got; (w = strstr(w, c->name)) != NULL; w++)
            has |= (w == got || w[-1] == ' ') && (!w[strlen(c->name)] || w[strlen(c->name)] == ' ');
        assert_int_equal(has, c->cmd.usage != NULL);
        commands += c->cmd.usage != NULL;
    }
    char **w;
    size_t n = cmdline_completions(&f->u, "", 0, "", &w);
    assert_int_equal(n, commands);
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
    static const struct {
        const char *line, *text, *want;
    } cases[] = {
        {"pa", "pa", "pane pause"},
        {"re", "re", "refund resume resume-fleet resolve refresh"},
        {"up", "up", ""},
        {"approve ", "", "pur_1"},
        {"veto p", "p", "pur_1"},
        {"cap ", "", "pur_1"},
        {"refund ", "", "pur_2"},
        {"pause ", "agt", "agt_1 agt_2"},
        {"resume ", "", "agt_1 agt_2"},
        {"ack ", "", "alr_1"},
        {"export ", "", "ledger threads"},
        {"pane ", "L", "Listings Ledger"},
        {"bell ", "", "on off"},
        {"halt ", "", ""},
        {"q ", "", ""},
        {"frob ", "", ""},
        {" ", "", "pur_1 agt_1 agt_2 alr_1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int start = (int)(strlen(cases[i].line) - strlen(cases[i].text)); /* the last word */
        offered(f, cases[i].line, start, cases[i].text, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("'%s' Tab offers '%s', not '%s'", cases[i].line, got, cases[i].want);
    }
    n = cmdline_completions(&f->u, "theme ", 6, "", &w);
    size_t themes = 0;
    while (theme_builtin_names[themes])
        themes++;
    assert_int_equal(n, themes);
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
    consolefx_close(f);
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
        consolefx *f = consolefx_open(NULL, false);
        commands_run(&f->u, bad[i].line);
        consolefx_says(f, bad[i].says, true);
        assert_true(consolefx_nothing_sent(f));
        assert_int_equal(f->u.pane, PANE_PENDING);
        consolefx_close(f);
    }
    consolefx *f = consolefx_open(NULL, false); /* the fleet halted: :halt says so */
    consolefx_halt_fleet(f);
    commands_run(&f->u, "halt again");
    consolefx_says(f, "the fleet is already halted (:resume-fleet resumes it)", true);
    assert_true(consolefx_nothing_sent(f));
    commands_run(&f->u, "pane 9"); /* no such pane: it stays */
    commands_run(&f->u, "pane nowhere");
    assert_int_equal(f->u.pane, PANE_PENDING);
    commands_run(&f->u, "pane 3"); /* no id, and no purchase selected */
    commands_run(&f->u, "approve");
    consolefx_says(f, "select a purchase first", true);
    assert_true(consolefx_nothing_sent(f));
    f->u.status[0] = '\0';
    commands_run(&f->u, ""); /* an empty line does nothing */
    commands_run(&f->u, "   ");
    assert_string_equal(f->u.status, "");
    consolefx_close(f);
}

/* ---- read-only ---- */

/* Every decision of the table is refused read-only, from its key and its command, and
 * nothing is asked or sent; the rest still works. */
static void test_read_only_refuses_decisions(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, true);
    int refused = 0;
    for (int a = 1; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        if (!c->decision)
            continue;
        char line[100], want[100];
        if (c->cmd.usage) {
            snprintf(line, sizeof line, "%s pur_1 because", c->name);
            commands_run(&f->u, line);
            snprintf(want, sizeof want, "read-only: '%s' is unavailable", c->name);
            consolefx_says(f, want, true);
            assert_true(consolefx_nothing_sent(f));
            refused++;
        }
        if (c->key.run) {
            commands_do(&f->u, (ui_action)a);
            snprintf(want, sizeof want, "read-only (--read-only): '%s' is unavailable", c->name);
            consolefx_says(f, want, true);
            assert_true(consolefx_nothing_sent(f));
            refused++;
        }
    }
    /* thirteen decision commands, sixteen decision keys (the marks serve decisions only;
     * the policies' e K J and :policy, issue 15; the disputes' f m d and :resolve, issue 17) */
    assert_int_equal(refused, 13 + 16);
    commands_run(&f->u, "bell on");
    assert_true(f->u.bell);
    commands_do(&f->u, ACT_NEXT_PANE);
    assert_int_equal(f->u.pane, PANE_THREADS);
    consolefx_close(f);

    f = consolefx_open(NULL, false); /* a viewer: the role says why */
    f->u.read_only = true;
    snprintf(f->u.cs.role, sizeof f->u.cs.role, "viewer");
    commands_do(&f->u, ACT_APPROVE);
    consolefx_says(f, "read-only (viewer): 'approve' is unavailable", true);
    assert_true(consolefx_nothing_sent(f));
    consolefx_close(f);
}

/* ---- the help screen and the key bar ---- */

static int help_of(const consolefx *f, char lines[][UI_HELP_WIDTH])
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
    consolefx *f = consolefx_open(NULL, false);
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = help_of(f, lines);
    assert_string_equal(lines[0],
                        "Keys (from the keymap; remap with `bind KEY ACTION` in the config)");
    for (int a = 1; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        char want[UI_HELP_WIDTH];
        if (c->key.run) {
            snprintf(want, sizeof want, "  %-16s %-14s %s", c->key.keys, c->name, c->key.help);
            if (!help_line(lines, n, want))
                fail_msg("the help has no line '%s'", want);
        }
        if (c->cmd.usage) {
            snprintf(want, sizeof want, "  %-25s %s", c->cmd.usage, c->cmd.help);
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
    consolefx_close(f);
}

/* Read-only marks every decision key unavailable; the demo's market comes first. */
static void test_help_read_only_and_demo(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, true);
    f->cfg.demo = true;
    snprintf(f->cfg.token_file, sizeof f->cfg.token_file, "/tmp/demo/token");
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = help_of(f, lines);
    assert_string_equal(lines[0], "Demo (its market and token file are removed when you quit)");
    assert_non_null(help_line(lines, n, "  token file  /tmp/demo/token"));
    int marked = 0;
    for (int i = 0; i < n; i++)
        marked += strstr(lines[i], "  [unavailable: read-only]") != NULL;
    assert_int_equal(marked, 16);
    assert_non_null(strstr(help_line(lines, n, "  v "), "[unavailable: read-only]"));
    consolefx_close(f);
}

/* Remapped keys show in the help and the key bar; conflicts are reported. */
static void test_remaps_show(void **state)
{
    (void)state;
    static const char *const binds[] = {"x",    "quit", "s",       "help", "z",    "approve", "a",
                                        "none", "F5",   "nothing", "C-",   "sort", NULL};
    consolefx *f = consolefx_open(binds, false);
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
    const char *want[][2] = {{"z", "approve"},  {"v", "veto"},     {"c", "cap"},
                             {"Space", "mark"}, {"Enter", "open"}, {"/", "filter"},
                             {":", "command"},  {"s", "help"},     {"q", "quit"}};
    assert_int_equal(nb, sizeof want / sizeof want[0]); /* sort has no key: not offered */
    for (size_t i = 0; i < nb; i++) {
        assert_string_equal(bar[i].key, want[i][0]);
        assert_string_equal(bar[i].name, want[i][1]);
    }
    consolefx_close(f);

    static const char *const twice[] = {"x", "quit", "x", "help", NULL};
    f = consolefx_open(twice, false);
    assert_string_equal(f->u.binding_warnings, "config:2: key x bound twice; 'help' wins");
    consolefx_close(f);
    static const char *const lost[] = {"q", "none", "?", "none", "F1", "none", NULL};
    f = consolefx_open(lost, false);
    assert_non_null(strstr(f->u.binding_warnings, "'quit' has no key; 'help' has no key"));
    consolefx_close(f);
}

/* Each pane's bar: what the pane offers first, then the ways around; read-only without
 * the decisions; every entry with a place in the bar shows on its panes. */
static void test_key_bar(void **state)
{
    (void)state;
    static const char *const want[PANE_COUNT] = {
        [PANE_PENDING] = "a approve v veto c cap Space mark ",
        [PANE_THREADS] = "p pause ",
        [PANE_LISTINGS] = "",
        [PANE_LEDGER] = "R refund ",
        [PANE_ALERTS] = "A ack ",
        [PANE_AGENTS] = "p pause H halt ",
        [PANE_POLICIES] = "e policy-toggle K policy-up J policy-down ",
        [PANE_DISPUTES] = "f refund-claim m refund-part d reject-claim ",
    };
    const char *ways = "Enter open / filter s sort : command ? help q quit ";
    for (int ro = 0; ro < 2; ro++) {
        consolefx *f = consolefx_open(NULL, ro);
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
                assert_int_equal(shown, c->bar.place && (c->bar.panes & (1u << p)) &&
                                            !(ro && c->decision));
            }
        }
        consolefx_close(f);
    }
    consolefx *f = consolefx_open(NULL, false); /* a short list: the first ones */
    ui_bar_item bar[2];
    assert_int_equal(commands_bar(&f->u, PANE_AGENTS, bar, 2), 2);
    assert_string_equal(bar[1].name, "halt");
    consolefx_close(f);
}

/* Keys reach their entries: a pane key, the movement keys, open and back. */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_is_whole),
        cmocka_unit_test(test_every_command),
        cmocka_unit_test(test_command_forms),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_read_only_refuses_decisions),
        cmocka_unit_test(test_help_lists_the_table),
        cmocka_unit_test(test_help_read_only_and_demo),
        cmocka_unit_test(test_remaps_show),
        cmocka_unit_test(test_key_bar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
