/* session.c: the two questions about decisions that span sessions.
 *
 * At start, once the market and the operator are known (api/client.h, client_bound), the
 * decisions an earlier session left without an answer, for this market and operator
 * only, are shown and sent again with their keys only on y (N: discarded, never sent).
 * At quit, decisions of this session with an unknown outcome (in flight, or retrying
 * after an attempt that may have reached the server) are named and the quit asks first;
 * those kept are offered at the next start. Decisions never sent are settled as not sent
 * by the client and need no question.
 */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>

/* Shows the outcome of an earlier session's decision sent again. */
static void on_resent(void *ud, const decision_outcome *o)
{
    ui *u = ud;
    const char *what = o->action[0] ? o->action : "decision";
    const char *subj = o->subject[0] ? o->subject : "fleet";
    if (o->ok)
        ui_status(u, false, "earlier %s %s: done (%d%s)", what, subj, o->http_status,
                  o->replayed ? ", replayed: it had reached the server" : "");
    else if (o->http_status)
        ui_status(u, true, "earlier %s %s: %d %s %s", what, subj, o->http_status, o->error_code,
                  o->message);
    else
        ui_status(u, true, "earlier %s %s: %s", what, subj, o->message);
    u->marks++;
    u->dirty = true;
}

/* Opens the y/N box for kind with a title and up to three lines. */
static void ask(ui *u, ui_ask kind, const char *title, const char *l1, const char *l2)
{
    u->ask = kind;
    snprintf(u->ask_title, sizeof u->ask_title, "%s", title);
    snprintf(u->ask_lines[0], sizeof u->ask_lines[0], "%s", l1);
    snprintf(u->ask_lines[1], sizeof u->ask_lines[1], "%s", l2);
    snprintf(u->ask_lines[2], sizeof u->ask_lines[2], "y yes    N no (default)");
    u->mode = MODE_ASK;
    u->dirty = true;
}

void session_tick(ui *u)
{
    if (u->asked_unanswered || u->mode != MODE_BROWSE || !client_bound(u->cl))
        return;
    u->asked_unanswered = true;
    char list[200], l1[300];
    size_t n = client_unanswered(u->cl, list, sizeof list);
    if (n == 0)
        return;
    snprintf(l1, sizeof l1, "%zu decision%s from your last session ha%s no answer yet: %s", n,
             n == 1 ? "" : "s", n == 1 ? "s" : "ve", list);
    ask(u, ASK_RESEND, "Unanswered decisions", l1,
        n == 1 ? "send now (same key: at most once)? N discards it, never sent"
               : "send now (same keys: each at most once)? N discards them, never sent");
}

void session_quit(ui *u)
{
    char list[200], l1[300];
    size_t n = client_unknown_outcomes(u->cl, list, sizeof list);
    if (n == 0) {
        u->quit = true;
        return;
    }
    snprintf(l1, sizeof l1, "%zu decision%s ha%s no answer yet: %s", n, n == 1 ? "" : "s",
             n == 1 ? "s" : "ve", list);
    ask(u, ASK_QUIT, "Quit with decisions unanswered?", l1,
        n == 1 ? "quit anyway? it stays in the journal and is shown at the next start"
               : "quit anyway? they stay in the journal and are shown at the next start");
}

void session_ask_key(ui *u, wint_t ch, bool is_key)
{
    bool yes = !is_key && (ch == 'y' || ch == 'Y');
    ui_ask kind = u->ask;
    u->ask = ASK_NONE;
    u->mode = MODE_BROWSE;
    u->dirty = true;
    if (kind == ASK_QUIT) {
        if (yes)
            u->quit = true;
        else
            ui_status(u, false, "not quitting: waiting for the answers");
    } else if (kind == ASK_RESEND) {
        size_t n = client_unanswered(u->cl, NULL, 0);
        if (yes) {
            client_unanswered_send(u->cl, on_resent, u);
            ui_status(u, false, "sending %zu earlier decision%s again, no answer yet", n,
                      n == 1 ? "" : "s");
        } else {
            client_unanswered_discard(u->cl);
            ui_status(u, false,
                      "%zu earlier decision%s discarded, not sent again (one may have reached "
                      "the server before: look before deciding again)",
                      n, n == 1 ? "" : "s");
        }
    }
}

void session_draw(const ui *u, WINDOW *w, int cols)
{
    const char *lines[3] = {u->ask_lines[0], u->ask_lines[1], u->ask_lines[2]};
    widget_dialog(w, u->ask_title, lines, 3, cols - 4);
}
