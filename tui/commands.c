/* commands.c: every operator action as one entry of one table: its name, default keys,
 * help, usage, whether it is a decision, the panes whose key bar offers it, and its
 * handlers. The key dispatch (commands_do), the command line (commands_run), completion
 * (cmdline.c), the key bar and the help screen (commands_bar, commands_help) are all
 * generated from it; keymap.c binds keys to its entries. Decisions go to the same
 * functions from a key and from a command (actions.c), so a command is confirmed and
 * bound exactly like its key. Nothing here draws: app.c draws what this writes. */
#include "tui/ui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- reading a command line ---- */

/* Splits the next word off *s (in place); returns it or NULL (also for no line). */
static char *word(char **s)
{
    char *p = *s;
    if (!p)
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    char *start = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return start;
}

/* The rest of the line, trimmed (may be ""; NULL for no line). */
static char *rest(char **s)
{
    char *p = *s;
    if (!p)
        return NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        p[--n] = '\0';
    return p;
}

/* ---- the keys' handlers (browse mode) ---- */

static void key_pane(ui *u, int p)
{
    actions_switch_pane(u, p);
}

static void key_pane_step(ui *u, int step)
{
    actions_switch_pane(u, u->pane + step);
}

static void key_open(ui *u, int arg)
{
    (void)arg;
    ui_pane *pn = &u->panes[u->pane];
    pn->detail = true;
    pn->detail_scroll = 0;
    u->dirty = true;
    model_kind kind;
    const void *o = u->pane == PANE_PENDING ? panes_selected(u, &kind) : NULL;
    if (o && kind == MODEL_PURCHASE) /* Enter on a purchase claims it (moving does not) */
        twoperson_claim(u, o);
}

/* Closes the detail, else clears the filter. */
static void key_back(ui *u, int arg)
{
    (void)arg;
    ui_pane *pn = &u->panes[u->pane];
    if (pn->detail)
        pn->detail = false;
    else if (pn->filter[0]) {
        pn->filter[0] = '\0';
        panes_refresh(u, u->pane, true);
        ui_status(u, false, "filter cleared");
    }
    u->dirty = true;
}

static void key_filter(ui *u, int arg)
{
    (void)arg;
    u->mode = MODE_FILTER;
    u->dirty = true;
}

/* Sorts the current pane by its order `sort` and says so. */
static void sort_by(ui *u, int sort)
{
    ui_pane *pn = &u->panes[u->pane];
    pn->sort = sort;
    panes_refresh(u, u->pane, true);
    ui_status(u, false, "%s sorted by %s", panes_name(u->pane), panes_sort_name(u->pane, pn->sort));
}

static void key_sort(ui *u, int arg)
{
    (void)arg;
    sort_by(u, (u->panes[u->pane].sort + 1) % panes_sort_count(u->pane));
}

static void key_help(ui *u, int arg)
{
    (void)arg;
    u->mode = MODE_HELP;
    u->help_scroll = 0;
    u->dirty = true;
}

static void key_command(ui *u, int arg)
{
    (void)arg;
    cmdline_start(u, LINE_COMMAND, ":");
}

static void key_redraw(ui *u, int arg)
{
    (void)arg;
    clearok(curscr, TRUE);
    u->dirty = true;
}

/* Reads the current pane's history again from the server (after a failure, or to see
 * what changed in rows read earlier): the pane's kind is forgotten and asked afresh. */
static void key_refresh(ui *u, int arg)
{
    (void)arg;
    ui_pane *pn = &u->panes[u->pane];
    page_query q;
    if (!panes_query(u, u->pane, &q)) {
        ui_status(u, false, "%s shows what the market sent: nothing to read again",
                  panes_name(u->pane));
        return;
    }
    client_history_forget(u->cl, q.kind);
    pn->retry = true;
    panes_refresh(u, u->pane, true);
    ui_status(u, false, "%s: reading history again", panes_name(u->pane));
}

static void key_quit(ui *u, int arg)
{
    (void)arg;
    session_quit(u);
}

/* A decision's key is its command with nothing typed (cmd.run given NULL): it acts on
 * the selection and asks for the rest on the prompt line. */
static void key_decide(ui *u, int a)
{
    commands_get((ui_action)a)->cmd.run(u, NULL);
}

/* ---- the commands' handlers (the rest of the line in s; NULL from a decision's key) ---- */

/* Without an id, the marked purchases when there are marks (batch.c), else the
 * selection. */
static void cmd_approve(ui *u, char *s)
{
    char *id = word(&s);
    if (!id && batch_decide(u, DEC_APPROVE, NULL))
        return;
    actions_approve(u, id);
}

static void cmd_veto(ui *u, char *s)
{
    char *id = word(&s);
    if (!id && batch_decide(u, DEC_VETO, NULL))
        return;
    actions_veto(u, id, rest(&s));
}

static void cmd_cap(ui *u, char *s)
{
    char *id = word(&s), *price = word(&s), *qty = word(&s);
    if (!price && s) { /* typed without a price (the key asks for it) */
        ui_status(u, true, "usage: cap PUR PRICE [QTY]  (PRICE '-' for none)");
        return;
    }
    actions_cap(u, id, price, qty);
}

static void cmd_refund(ui *u, char *s)
{
    char *id = word(&s);
    actions_refund(u, id, rest(&s));
}

static void cmd_pause(ui *u, char *s)
{
    char *id = word(&s);
    actions_pause(u, id, rest(&s), 0);
}

static void cmd_resume(ui *u, char *s)
{
    actions_pause(u, word(&s), NULL, 1);
}

/* Asks exactly as H does: the reason, then the word "halt". */
static void cmd_halt(ui *u, char *s)
{
    const model_fleet *f = store_fleet(u->st);
    if (s && f && f->halted) /* typed; the key H resumes a halted fleet */
        ui_status(u, true, "the fleet is already halted (:resume-fleet resumes it)");
    else
        actions_halt(u, rest(&s));
}

static void cmd_resume_fleet(ui *u, char *s)
{
    (void)s;
    const model_fleet *f = store_fleet(u->st);
    if (!f || !f->halted)
        ui_status(u, true, "the fleet is running");
    else
        actions_halt(u, NULL);
}

static void cmd_ack(ui *u, char *s)
{
    char *id = word(&s);
    actions_ack(u, id, rest(&s));
}

static void cmd_export(ui *u, char *s)
{
    char *what = word(&s), *file = rest(&s);
    if (!what || !file[0]) {
        ui_status(u, true, "usage: export ledger FILE.csv | export threads FILE.json");
        return;
    }
    bool ledger = !strcmp(what, "ledger");
    if (!ledger && strcmp(what, "threads") != 0) {
        ui_status(u, true, "export ledger|threads FILE");
        return;
    }
    long n = ledger ? export_ledger_csv(u->st, file) : export_threads_json(u->st, file);
    /* the console holds the working set (issue 14): say so when the market holds more */
    int64_t all = store_history_total(u->st, ledger ? MODEL_LEDGER : MODEL_NEGOTIATION);
    if (n < 0)
        ui_status(u, true, "export %s: %s", what, strerror(errno));
    else if (all > n)
        ui_status(u, false,
                  "exported the %ld %s held (of %lld; `dealdesk snapshot` prints every one) to %s",
                  n, ledger ? "ledger entries" : "threads", (long long)all, file);
    else
        ui_status(u, false, "exported %ld %s to %s", n, ledger ? "ledger entries" : "threads",
                  file);
}

static void cmd_theme(ui *u, char *s)
{
    char *name = word(&s);
    theme t;
    char err[200];
    if (!name) {
        ui_status(u, false, "theme %s (default dark light monochrome high-contrast)",
                  theme_current_name());
    } else if (theme_load(name, &t, err, sizeof err) < 0) {
        ui_status(u, true, "%s", err);
    } else {
        theme_apply(&t, u->colour);
        snprintf(u->theme_name, sizeof u->theme_name, "%s", name);
        clearok(curscr, TRUE);
        ui_status(u, false, "theme %s%s", name, u->colour ? "" : " (no colour: attributes only)");
    }
}

static void cmd_filter(ui *u, char *s)
{
    snprintf(u->panes[u->pane].filter, sizeof u->panes[0].filter, "%s", rest(&s));
    panes_refresh(u, u->pane, true);
    ui_status(u, false, "%zu rows", u->panes[u->pane].table.nrows);
}

/* The next sort order, or the one named. */
static void cmd_sort(ui *u, char *s)
{
    char *name = word(&s);
    if (!name) {
        key_sort(u, 0);
        return;
    }
    for (int i = panes_sort_count(u->pane) - 1; i >= 0; i--)
        if (!strcmp(panes_sort_name(u->pane, i), name)) {
            sort_by(u, i);
            return;
        }
    ui_status(u, true, "no sort order '%s' here", name);
}

static void cmd_pane(ui *u, char *s)
{
    char *p = word(&s);
    if (p && p[0] >= '1' && p[0] < '1' + PANE_COUNT && !p[1])
        actions_switch_pane(u, p[0] - '1');
    else if (p)
        for (int i = 0; i < PANE_COUNT; i++)
            if (!strcasecmp(panes_name(i), p))
                actions_switch_pane(u, i);
}

static void cmd_bell(ui *u, char *s)
{
    char *v = word(&s);
    u->bell = v ? !strcmp(v, "on") : !u->bell;
    ui_status(u, false, "bell %s", u->bell ? "on" : "off");
}

/* ":policy enable|disable|toggle|up|down [NAME]" and ":policy set NAME FIELD VALUE"
 * (tui/policies.c); a key passes NULL: the selected policy. */
static void cmd_policy(ui *u, char *s)
{
    char *verb = word(&s), *name = word(&s);
    if (!verb)
        ui_status(u, true,
                  "usage: policy enable|disable|up|down [NAME] | policy set NAME FIELD VALUE");
    else if (!strcmp(verb, "enable") || !strcmp(verb, "disable") || !strcmp(verb, "toggle"))
        policies_toggle(u, name, !strcmp(verb, "toggle") ? -1 : !strcmp(verb, "enable"));
    else if (!strcmp(verb, "up") || !strcmp(verb, "down"))
        policies_move(u, name, !strcmp(verb, "up") ? -1 : 1);
    else if (!strcmp(verb, "set")) {
        char *field = word(&s);
        policies_set(u, name, field, rest(&s));
    } else
        ui_status(u, true, "policy: enable, disable, up, down or set");
}

static void key_policy(ui *u, int how)
{
    if (how == 0)
        policies_toggle(u, NULL, -1);
    else
        policies_move(u, NULL, how);
}

/* The three ways to resolve a dispute, by the keys' arg (tui/disputes.c). */
static const char *const resolve_outcomes[] = {"refund", "partial_refund", "rejected"};

static void key_dispute(ui *u, int how)
{
    disputes_resolve(u, NULL, resolve_outcomes[how], NULL, NULL);
}

/* ":resolve DSP refund REASON", ":resolve DSP partial AMOUNT REASON", ":resolve DSP reject
 * REASON" (the outcome's own names are taken too). */
static void cmd_resolve(ui *u, char *s)
{
    char *id = word(&s), *how = word(&s);
    int o = -1;
    if (how && (!strcmp(how, "refund")))
        o = 0;
    else if (how && (!strcmp(how, "partial") || !strcmp(how, "partial_refund")))
        o = 1;
    else if (how && (!strcmp(how, "reject") || !strcmp(how, "rejected")))
        o = 2;
    if (!id || o < 0) {
        ui_status(u, true, "usage: resolve DSP refund|partial AMOUNT|reject REASON");
        return;
    }
    char *amount = o == 1 ? word(&s) : NULL;
    if (o == 1 && !amount) {
        ui_status(u, true, "usage: resolve DSP partial AMOUNT REASON (AMOUNT as money)");
        return;
    }
    disputes_resolve(u, id, resolve_outcomes[o], amount, rest(&s));
}

/* ---- the table ---- */

#define ON(p)         (1u << (p))
#define ON_EVERY_PANE ((1u << PANE_COUNT) - 1)

/* A movement key and a pane key: no command, not in the key bar. */
#define MOVE(n, k, h, how)                                                                         \
    {                                                                                              \
        .name = n, .key = { k, h, actions_move, how }                                              \
    }
#define PANE_KEY(n, k, h, p)                                                                       \
    {                                                                                              \
        .name = n, .key = { k, h, key_pane, p }                                                    \
    }

static const ui_command table[ACT_COUNT] = {
    [ACT_NONE] = {.name = "none", .key = {.help = "unbound"}},
    [ACT_UP] = MOVE("up", "Up k", "previous row", MOVE_UP),
    [ACT_DOWN] = MOVE("down", "Down j", "next row", MOVE_DOWN),
    [ACT_PGUP] = MOVE("page-up", "PgUp C-b", "previous page", MOVE_PAGE_UP),
    [ACT_PGDN] = MOVE("page-down", "PgDn C-f", "next page", MOVE_PAGE_DOWN),
    [ACT_HOME] = MOVE("home", "Home g", "first row", MOVE_HOME),
    [ACT_END] = MOVE("end", "End G", "last row", MOVE_END),
    [ACT_NEXT_PANE] = {.name = "next-pane", .key = {"Tab", "next pane", key_pane_step, 1}},
    [ACT_PREV_PANE] = {.name = "prev-pane", .key = {"BTab", "previous pane", key_pane_step, -1}},
    [ACT_PANE1] =
        PANE_KEY("pane-pending", "1", "Pending: purchases waiting for approval", PANE_PENDING),
    [ACT_PANE2] = PANE_KEY("pane-threads", "2", "Threads: negotiations", PANE_THREADS),
    [ACT_PANE3] = PANE_KEY("pane-listings", "3", "Listings", PANE_LISTINGS),
    [ACT_PANE4] = PANE_KEY("pane-ledger", "4", "Ledger: entries and balances", PANE_LEDGER),
    [ACT_PANE5] = PANE_KEY("pane-alerts", "5", "Alerts", PANE_ALERTS),
    [ACT_PANE6] = PANE_KEY("pane-agents", "6", "Agents: limits and spend", PANE_AGENTS),
    [ACT_PANE7] =
        PANE_KEY("pane-policies", "7", "Policies: what a person never needs to see", PANE_POLICIES),
    [ACT_PANE8] = PANE_KEY("pane-disputes", "8", "Disputes: after the sale, with the evidence",
                           PANE_DISPUTES),
    [ACT_OPEN] = {.name = "open",
                  .key = {"Enter Right l", "open the detail", key_open},
                  .bar = {ON_EVERY_PANE, 10}},
    [ACT_BACK] = {.name = "back",
                  .key = {"Esc Left h", "close the detail, clear the filter", key_back}},
    [ACT_EXPORT] = {.name = "export",
                    .cmd = {"export ledger|threads F", "ledger as CSV, threads as JSON", cmd_export,
                            ARG_EXPORT}},
    [ACT_THEME] = {.name = "theme",
                   .cmd = {"theme NAME", "default dark light monochrome high-contrast", cmd_theme,
                           ARG_THEME}},
    [ACT_FILTER] = {.name = "filter",
                    .key = {"/", "filter rows as you type", key_filter},
                    .cmd = {"filter TEXT", "filter the pane (empty clears)", cmd_filter},
                    .bar = {ON_EVERY_PANE, 11}},
    [ACT_SORT] = {.name = "sort",
                  .key = {"s", "next sort order", key_sort},
                  .cmd = {"sort [ORDER]", "next or named sort order", cmd_sort},
                  .bar = {ON_EVERY_PANE, 12}},
    [ACT_PANE] = {.name = "pane", .cmd = {"pane N|NAME", "switch pane", cmd_pane, ARG_PANE}},
    [ACT_BELL] = {.name = "bell",
                  .cmd = {"bell on|off", "bell on critical alerts / new pending", cmd_bell,
                          ARG_ON_OFF}},
    [ACT_HELP] = {.name = "help",
                  .key = {"? F1", "this help", key_help},
                  .cmd = {"help", "this help"},
                  .bar = {ON_EVERY_PANE, 14}},
    [ACT_COMMAND] = {.name = "command",
                     .key = {":", "command line (Tab completes)", key_command},
                     .bar = {ON_EVERY_PANE, 13}},
    /* marks serve decisions only: read-only offers none (batch.c) */
    [ACT_MARK] = {.name = "mark",
                  .decision = true,
                  .key = {"Space", "mark or unmark the purchase (a, v decide on the marks)",
                          batch_mark},
                  .bar = {ON(PANE_PENDING), 4}},
    [ACT_MARK_ALL] = {.name = "mark-all",
                      .decision = true,
                      .key = {"*", "mark every waiting purchase the filter shows", batch_mark_all},
                      .cmd = {"mark-all", "mark every waiting purchase the filter shows"}},
    [ACT_UNMARK_ALL] = {.name = "unmark-all",
                        .decision = true,
                        .key = {"u", "clear the marks", batch_unmark_all},
                        .cmd = {"unmark-all", "clear the marks"}},
    [ACT_APPROVE] = {.name = "approve",
                     .decision = true,
                     .key = {"a", "approve the purchase, or every marked one (confirm)", key_decide,
                             ACT_APPROVE},
                     .cmd = {"approve PUR", "approve (asks to confirm); no id: the marked ones",
                             cmd_approve, ARG_PENDING},
                     .bar = {ON(PANE_PENDING), 1}},
    [ACT_VETO] = {.name = "veto",
                  .decision = true,
                  .key = {"v", "veto the purchase, or every marked one (asks the reason)",
                          key_decide, ACT_VETO},
                  .cmd = {"veto PUR REASON", "veto with a reason; no id: the marked ones", cmd_veto,
                          ARG_PENDING},
                  .bar = {ON(PANE_PENDING), 2}},
    [ACT_CAP] = {.name = "cap",
                 .decision = true,
                 .key = {"c", "cap the purchase (asks the limits)", key_decide, ACT_CAP},
                 .cmd = {"cap PUR PRICE [QTY]", "cap unit price (money) and quantity", cmd_cap,
                         ARG_PENDING},
                 .bar = {ON(PANE_PENDING), 3}},
    [ACT_REFUND] = {.name = "refund",
                    .decision = true,
                    .key = {"R", "refund a settled purchase", key_decide, ACT_REFUND},
                    .cmd = {"refund PUR REASON", "refund a settled purchase (confirm)", cmd_refund,
                            ARG_SETTLED},
                    .bar = {ON(PANE_LEDGER), 4}},
    [ACT_PAUSE] = {.name = "pause",
                   .decision = true,
                   .key = {"p", "pause or resume the agent", key_decide, ACT_PAUSE},
                   .cmd = {"pause AGT REASON", "pause an agent", cmd_pause, ARG_AGENT},
                   .bar = {ON(PANE_THREADS) | ON(PANE_AGENTS), 5}},
    [ACT_RESUME] = {.name = "resume",
                    .decision = true,
                    .cmd = {"resume AGT", "resume an agent (confirm)", cmd_resume, ARG_AGENT}},
    [ACT_HALT] = {.name = "halt",
                  .decision = true,
                  .key = {"H",
                          "halt the fleet or the row's category, seller, principal (or resume)",
                          key_decide, ACT_HALT},
                  .cmd = {"halt REASON", "halt the whole fleet (type halt)", cmd_halt},
                  .bar = {ON(PANE_AGENTS), 6}},
    [ACT_RESUME_FLEET] = {.name = "resume-fleet",
                          .decision = true,
                          .cmd = {"resume-fleet", "resume the fleet (confirm)", cmd_resume_fleet}},
    [ACT_ACK] = {.name = "ack",
                 .decision = true,
                 .key = {"A", "acknowledge the alert", key_decide, ACT_ACK},
                 .cmd = {"ack ALR [NOTE]", "acknowledge an alert", cmd_ack, ARG_OPEN_ALERT},
                 .bar = {ON(PANE_ALERTS), 7}},
    [ACT_POLICY_TOGGLE] = {.name = "policy-toggle",
                           .decision = true,
                           .key = {"e", "enable or disable the policy (backtest, confirm)",
                                   key_policy, 0},
                           .bar = {ON(PANE_POLICIES), 1}},
    [ACT_POLICY_UP] = {.name = "policy-up",
                       .decision = true,
                       .key = {"K", "move the policy up in priority (confirm)", key_policy, -1},
                       .bar = {ON(PANE_POLICIES), 2}},
    [ACT_POLICY_DOWN] = {.name = "policy-down",
                         .decision = true,
                         .key = {"J", "move the policy down in priority (confirm)", key_policy, 1},
                         .bar = {ON(PANE_POLICIES), 3}},
    [ACT_POLICY] = {.name = "policy",
                    .decision = true,
                    .cmd = {"policy set NAME FIELD VALUE",
                            "change a policy (also: policy enable|disable|up|down NAME)",
                            cmd_policy, ARG_POLICY}},
    [ACT_DISPUTE_REFUND] = {.name = "refund-claim",
                            .decision = true,
                            .key = {"f", "refund the dispute's claim (asks the reason, confirm)",
                                    key_dispute, 0},
                            .bar = {ON(PANE_DISPUTES), 1}},
    [ACT_DISPUTE_PARTIAL] = {.name = "refund-part",
                             .decision = true,
                             .key = {"m", "refund part of the claim (asks the amount, as money)",
                                     key_dispute, 1},
                             .bar = {ON(PANE_DISPUTES), 2}},
    [ACT_DISPUTE_REJECT] = {.name = "reject-claim",
                            .decision = true,
                            .key = {"d", "reject the dispute's claim (asks the reason, confirm)",
                                    key_dispute, 2},
                            .bar = {ON(PANE_DISPUTES), 3}},
    [ACT_RESOLVE] = {.name = "resolve",
                     .decision = true,
                     .cmd = {"resolve DSP refund|partial AMOUNT|reject REASON",
                             "resolve a dispute as money (confirm)", cmd_resolve, ARG_DISPUTE}},
    [ACT_REDRAW] = {.name = "redraw", .key = {"C-l", "redraw the screen", key_redraw}},
    [ACT_REFRESH] = {.name = "refresh",
                     .key = {"r", "read the pane's history again (after a failure)", key_refresh},
                     .cmd = {"refresh", "read the pane's history from the market again"}},
    [ACT_QUIT] = {.name = "quit",
                  .alias = "q",
                  .key = {"q", "quit dealdesk", key_quit},
                  .cmd = {"quit", "leave dealdesk"},
                  .bar = {ON_EVERY_PANE, 15}},
};

/* The entry of an action; see ui.h. */
const ui_command *commands_get(ui_action a)
{
    return a >= 0 && a < ACT_COUNT ? &table[a] : NULL;
}

/* A command by name or alias; see ui.h. */
const ui_command *commands_find(const char *name)
{
    for (int a = 0; a < ACT_COUNT; a++)
        if (table[a].cmd.usage &&
            (!strcmp(table[a].name, name) || (table[a].alias && !strcmp(table[a].alias, name))))
            return &table[a];
    return NULL;
}

/* ---- dispatch ---- */

/* A decision before the market and the operator are known is refused before any prompt
 * or box opens (client_decide would refuse it too, after the operator had confirmed it);
 * true when refused, with the reason on the status line. */
static bool refused_unbound(ui *u, const ui_command *c)
{
    if (!c->decision || !u->cl || client_bound(u->cl))
        return false;
    ui_status(u, true, "%s: not connected: nothing sent (the market has not been read yet)",
              c->name);
    return true;
}

/* Performs a key's action; see ui.h. */
void commands_do(ui *u, ui_action a)
{
    const ui_command *c = commands_get(a);
    if (!c || !c->key.run)
        return;
    if (c->decision && u->read_only) {
        ui_status(u, true, "read-only (%s): '%s' is unavailable",
                  u->cfg && u->cfg->read_only ? "--read-only" : u->cs.role, c->name);
        return;
    }
    if (refused_unbound(u, c))
        return;
    c->key.run(u, c->key.arg);
}

/* Says that a typed command is unknown (sanitised: it was typed or pasted). */
static void unknown(ui *u, const char *cmd)
{
    char *safe = text_sanitize_str(cmd, u->mode_text, NULL, NULL);
    char shown[160];
    text_truncate(safe ? safe : "?", 30, u->mode_text, shown, sizeof shown);
    free(safe);
    ui_status(u, true, "unknown command '%s' (Tab completes, :help lists them)", shown);
}

/* Runs one command line; see ui.h. */
void commands_run(ui *u, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *s = buf;
    char *cmd = word(&s);
    if (!cmd)
        return;
    const ui_command *c = commands_find(cmd);
    if (!c)
        unknown(u, cmd);
    else if (c->decision && u->read_only)
        ui_status(u, true, "read-only: '%s' is unavailable", c->name);
    else if (refused_unbound(u, c))
        return;
    else if (c->cmd.run)
        c->cmd.run(u, s);
    else
        c->key.run(u, c->key.arg);
}

/* ---- what the screen shows of the table ---- */

/* Writes the help screen's lines; see ui.h. */
int commands_help(const ui *u, char lines[][UI_HELP_WIDTH], int max)
{
    const int W = UI_HELP_WIDTH;
    int n = 0;
    if (u->cfg && u->cfg->demo && n + 5 <= max) { /* where the demo's market is (demo.c) */
        snprintf(lines[n++], W, "Demo (its market and token file are removed when you quit)");
        snprintf(lines[n++], W, "  market      %.140s", u->cfg->url);
        snprintf(lines[n++], W, "  token file  %.140s", u->cfg->token_file);
        snprintf(lines[n++], W, "  paste       dealdesk --url %.30s --token-file %.80s tail",
                 u->cfg->url, u->cfg->token_file);
        snprintf(lines[n++], W, "%s", "");
    }
    if (n < max)
        snprintf(lines[n++], W,
                 "Keys (from the keymap; remap with `bind KEY ACTION` in the config)");
    for (int a = 1; a < ACT_COUNT && n < max; a++) {
        if (!table[a].key.run)
            continue;
        char keys[64];
        keymap_keys_of((ui_action)a, keys, sizeof keys);
        snprintf(lines[n++], W, "  %-16s %-14s %s%s", keys[0] ? keys : "(unbound)", table[a].name,
                 table[a].key.help,
                 u->read_only && table[a].decision ? "  [unavailable: read-only]" : "");
    }
    if (n + 2 <= max) {
        snprintf(lines[n++], W, "%s", "");
        snprintf(lines[n++], W, "Commands (after ':')");
    }
    for (int pass = 0; pass < 2; pass++) /* the decisions first: what the operator is for */
        for (int a = 1; a < ACT_COUNT && n < max; a++)
            if (table[a].cmd.usage && table[a].decision == (pass == 0))
                snprintf(lines[n++], W, "  %-25s %s", table[a].cmd.usage, table[a].cmd.help);
    if (u->binding_warnings[0] && n < max)
        snprintf(lines[n++], W, "Config: %.140s", u->binding_warnings);
    return n;
}

/* The key bar of a pane; see ui.h. */
size_t commands_bar(const ui *u, int p, ui_bar_item *out, size_t max)
{
    size_t n = 0;
    for (int place = 1; place <= ACT_COUNT && n < max; place++)
        for (int a = 1; a < ACT_COUNT && n < max; a++) {
            const ui_command *c = &table[a];
            if (c->bar.place != place || !(c->bar.panes & ON(p)) || (u->read_only && c->decision))
                continue;
            char keys[64];
            keymap_keys_of((ui_action)a, keys, sizeof keys);
            char *sp = strchr(keys, ' ');
            if (sp)
                *sp = '\0';
            if (!keys[0])
                continue;
            snprintf(out[n].key, sizeof out[n].key, "%.15s", keys); /* names are shorter */
            out[n++].name = c->name;
        }
    return n;
}
