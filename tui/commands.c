/* commands.c: the command line's commands (":approve pur_1", ":export ledger f.csv"):
 * parsing and dispatch. Decisions go to the same functions as their keys (actions.c),
 * so a command is confirmed and bound exactly like the key. */
#include "tui/ui.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const actions_commands[] = {
    "approve", "veto",  "cap",    "refund", "pause", "resume", "halt", "resume-fleet", "ack",
    "export",  "theme", "filter", "sort",   "pane",  "bell",   "help", "quit",         NULL};
const char *const actions_command_help[] = {
    "approve PUR               approve (asks to confirm)",
    "veto PUR REASON           veto with a reason",
    "cap PUR PRICE [QTY]       cap unit price (money) and quantity",
    "refund PUR REASON         refund a settled purchase (confirm)",
    "pause AGT REASON          pause an agent",
    "resume AGT                resume an agent (confirm)",
    "halt REASON               halt the whole fleet (type halt)",
    "resume-fleet              resume the fleet (confirm)",
    "ack ALR [NOTE]            acknowledge an alert",
    "export ledger|threads F   ledger as CSV, threads as JSON",
    "theme NAME                default dark light monochrome high-contrast",
    "filter TEXT               filter the pane (empty clears)",
    "sort [ORDER]              next or named sort order",
    "pane N|NAME               switch pane",
    "bell on|off               bell on critical alerts / new pending",
    "help                      this help",
    "quit                      leave dealdesk",
    NULL};

/* Splits the next word off *s (in place); returns it or NULL. */
static char *word(char **s)
{
    char *p = *s;
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

/* The rest of the line, trimmed (may be ""). */
static char *rest(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        p[--n] = '\0';
    return p;
}

/* Runs one command line; see ui.h. */
void actions_command(ui *u, const char *line)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", line);
    char *s = buf;
    char *cmd = word(&s);
    if (!cmd)
        return;
    bool decision = !strcmp(cmd, "approve") || !strcmp(cmd, "veto") || !strcmp(cmd, "cap") ||
                    !strcmp(cmd, "refund") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume") ||
                    !strcmp(cmd, "halt") || !strcmp(cmd, "resume-fleet") || !strcmp(cmd, "ack");
    if (decision && u->read_only) {
        ui_status(u, true, "read-only: '%s' is unavailable", cmd);
        return;
    }
    if (!strcmp(cmd, "approve")) {
        actions_approve(u, word(&s));
    } else if (!strcmp(cmd, "veto")) {
        char *id = word(&s);
        actions_veto(u, id, rest(&s));
    } else if (!strcmp(cmd, "cap")) {
        char *id = word(&s), *price = word(&s), *qty = word(&s);
        if (!price) {
            ui_status(u, true, "usage: cap PUR PRICE [QTY]  (PRICE '-' for none)");
            return;
        }
        actions_cap(u, id, price, qty);
    } else if (!strcmp(cmd, "refund")) {
        char *id = word(&s);
        actions_refund(u, id, rest(&s));
    } else if (!strcmp(cmd, "pause")) {
        char *id = word(&s);
        actions_pause(u, id, rest(&s), 0);
    } else if (!strcmp(cmd, "resume")) {
        actions_pause(u, word(&s), NULL, 1);
    } else if (!strcmp(cmd, "halt")) { /* asks exactly as H does: the reason, then "halt" */
        const model_fleet *f = store_fleet(u->st);
        if (f && f->halted)
            ui_status(u, true, "the fleet is already halted (:resume-fleet resumes it)");
        else
            actions_halt(u, rest(&s));
    } else if (!strcmp(cmd, "resume-fleet")) {
        const model_fleet *f = store_fleet(u->st);
        if (!f || !f->halted)
            ui_status(u, true, "the fleet is running");
        else
            actions_halt(u, NULL);
    } else if (!strcmp(cmd, "ack")) {
        char *id = word(&s);
        actions_ack(u, id, rest(&s));
    } else if (!strcmp(cmd, "export")) {
        char *what = word(&s), *file = rest(&s);
        if (!what || !file[0]) {
            ui_status(u, true, "usage: export ledger FILE.csv | export threads FILE.json");
            return;
        }
        long n;
        if (!strcmp(what, "ledger"))
            n = export_ledger_csv(u->st, file);
        else if (!strcmp(what, "threads"))
            n = export_threads_json(u->st, file);
        else {
            ui_status(u, true, "export ledger|threads FILE");
            return;
        }
        if (n < 0)
            ui_status(u, true, "export %s: %s", what, strerror(errno));
        else
            ui_status(u, false, "exported %ld %s to %s", n,
                      !strcmp(what, "ledger") ? "ledger entries" : "threads", file);
    } else if (!strcmp(cmd, "theme")) {
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
            ui_status(u, false, "theme %s%s", name,
                      u->colour ? "" : " (no colour: attributes only)");
        }
    } else if (!strcmp(cmd, "filter")) {
        snprintf(u->panes[u->pane].filter, sizeof u->panes[0].filter, "%s", rest(&s));
        panes_refresh(u, u->pane, true);
        ui_status(u, false, "%zu rows", u->panes[u->pane].table.nrows);
    } else if (!strcmp(cmd, "sort")) {
        char *name = word(&s);
        ui_pane *pn = &u->panes[u->pane];
        if (!name)
            pn->sort = (pn->sort + 1) % panes_sort_count(u->pane);
        else {
            int found = -1;
            for (int i = 0; i < panes_sort_count(u->pane); i++)
                if (!strcmp(panes_sort_name(u->pane, i), name))
                    found = i;
            if (found < 0) {
                ui_status(u, true, "no sort order '%s' here", name);
                return;
            }
            pn->sort = found;
        }
        panes_refresh(u, u->pane, true);
        ui_status(u, false, "%s sorted by %s", panes_name(u->pane),
                  panes_sort_name(u->pane, pn->sort));
    } else if (!strcmp(cmd, "pane")) {
        char *p = word(&s);
        if (p && isdigit((unsigned char)p[0]) && p[0] >= '1' && p[0] <= '6' && !p[1])
            actions_switch_pane(u, p[0] - '1');
        else if (p)
            for (int i = 0; i < PANE_COUNT; i++)
                if (!strcasecmp(panes_name(i), p))
                    actions_switch_pane(u, i);
    } else if (!strcmp(cmd, "bell")) {
        char *v = word(&s);
        u->bell = v ? !strcmp(v, "on") : !u->bell;
        ui_status(u, false, "bell %s", u->bell ? "on" : "off");
    } else if (!strcmp(cmd, "help")) {
        actions_do(u, ACT_HELP);
    } else if (!strcmp(cmd, "quit") || !strcmp(cmd, "q")) {
        session_quit(u);
    } else {
        char *safe = text_sanitize_str(cmd, u->mode_text, NULL, NULL); /* typed or pasted */
        char shown[160];
        text_truncate(safe ? safe : "?", 30, u->mode_text, shown, sizeof shown);
        free(safe);
        ui_status(u, true, "unknown command '%s' (Tab completes, :help lists them)", shown);
    }
}
