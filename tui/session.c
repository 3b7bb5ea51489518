/* session.c: the two questions about decisions that span sessions.
 *
 * At start, once the market and the operator are known (api/client.h, client_bound), the
 * decisions an earlier session left without an answer, for this market and operator
 * only, are shown and sent again with their keys only on y; n or N discards them (never
 * sent); Esc keeps them in the journal, unanswered, to be asked about at the next start.
 * The box pops up by itself, so any other key (typed ahead for the table) is ignored and
 * the box stays. When the URL starts serving another market while the box is open, the
 * client drops the offer (api/client_req.c, client_bind_epoch): the box closes, or shows
 * that market's own entries.
 * At quit, decisions of this session with an unknown outcome (in flight, or retrying
 * after an attempt that may have reached the server) are named and the quit asks first;
 * those kept are offered at the next start. Decisions never sent are settled as not sent
 * by the client and need no question. Quitting the last present supervisor's console of a
 * market with the unattended switch on says what the market will do without it, and asks
 * (issue 16; docs/api.md, "Presence").
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

/* Opens the box for kind with a title and three lines. */
static void ask(ui *u, ui_ask kind, const char *title, const char *l1, const char *l2,
                const char *l3)
{
    u->ask = kind;
    snprintf(u->ask_title, sizeof u->ask_title, "%s", title);
    snprintf(u->ask_lines[0], sizeof u->ask_lines[0], "%s", l1);
    snprintf(u->ask_lines[1], sizeof u->ask_lines[1], "%s", l2);
    snprintf(u->ask_lines[2], sizeof u->ask_lines[2], "%s", l3);
    u->mode = MODE_ASK;
    u->dirty = true;
}

/* The first line of the start-up box for the client's offer into out; how many. */
static size_t offer_line(const ui *u, char *out, size_t size)
{
    char list[200];
    size_t n = client_unanswered(u->cl, list, sizeof list);
    snprintf(out, size, "%zu decision%s from your last session ha%s no answer yet: %s", n,
             n == 1 ? "" : "s", n == 1 ? "s" : "ve", list);
    return n;
}

/* Keeps an open start-up box true to the client's offer, which a market change replaces
 * (api/client_req.c, client_bind_epoch): closed when nothing is left, its line rewritten
 * when that market has entries of its own. */
static void offer_changed(ui *u)
{
    char l1[300];
    if (offer_line(u, l1, sizeof l1) == 0) {
        u->ask = ASK_NONE;
        u->mode = MODE_BROWSE;
        u->dirty = true;
        ui_status(u, false,
                  "another market here now: earlier decisions kept for their own market, "
                  "not sent");
    } else if (strcmp(l1, u->ask_lines[0]) != 0) {
        snprintf(u->ask_lines[0], sizeof u->ask_lines[0], "%s", l1);
        u->dirty = true;
    }
}

/* Explains, once, what the unattended switch did while nobody watched (issue 16): the
 * market restricting since a time, or the fleet halted by the market. On the status line,
 * at the start (a return) or whenever it happens. */
static void explain_unattended(ui *u)
{
    const model_fleet *f = store_fleet(u->st);
    if (!u->cs.snapshots || !f || !f->unattended_after_s)
        return;
    bool by_market = f->halted && f->by.s && strcmp(f->by.s, "market") == 0;
    int64_t key = f->unattended_since ? f->unattended_since : by_market ? f->updated_at : 0;
    if (!key || key == u->unattended_told)
        return;
    u->unattended_told = key;
    char span[24], at[16];
    header_span_words(f->unattended_after_s, span, sizeof span);
    format_clock(key, at, sizeof at);
    bool sup = strcmp(u->cs.role, "supervisor") == 0;
    if (by_market)
        ui_status(u, true,
                  "unwatched for %s: the market halted the fleet at %.5s; :resume-fleet resumes it",
                  span, at);
    else if (!f->unattended_halt)
        ui_status(u, true, "unattended since %.5s: no auto-approvals or new negotiations; %s", at,
                  sup ? "you lift it" : "a supervisor lifts it");
}

void session_tick(ui *u)
{
    explain_unattended(u);
    if (u->mode == MODE_ASK && u->ask == ASK_RESEND) {
        offer_changed(u);
        return;
    }
    if (u->mode != MODE_BROWSE || !client_bound(u->cl) || client_unanswered(u->cl, NULL, 0) == 0)
        return;
    char l1[300];
    size_t n = offer_line(u, l1, sizeof l1);
    ask(u, ASK_RESEND, "Unanswered decisions", l1,
        n == 1 ? "y send now (same key: applied at most once)    n discard (never sent)"
               : "y send now (same keys: each at most once)    n discard (never sent)",
        "Esc keep for the next start (not sent now)    other keys: ignored");
}

/* When this console is the last present supervisor's and the unattended switch is on
 * (and not acting yet): what the market does without it, into out; else false. */
static bool last_watcher(const ui *u, char *out, size_t size)
{
    const model_fleet *f = store_fleet(u->st);
    if (u->cfg->demo) /* the demo's market stops when its console quits */
        return false;
    if (!f || !f->unattended_after_s || f->unattended_since || !u->cs.presence_me ||
        u->cs.presence_supervisors != 1)
        return false;
    char span[24];
    header_span_words(f->unattended_after_s, span, sizeof span);
    snprintf(out, size,
             f->unattended_halt
                 ? "you are the last supervisor watching: %s after you leave, the market halts "
                   "the fleet (a person must resume it)"
                 : "you are the last supervisor watching: %s after you leave, nothing approves "
                   "itself and no new negotiation opens until a supervisor is back",
             span);
    return true;
}

void session_quit(ui *u)
{
    char list[200], l1[300], alone[240];
    size_t n = client_unknown_outcomes(u->cl, list, sizeof list);
    bool last = last_watcher(u, alone, sizeof alone);
    if (n == 0 && !last) {
        u->quit = true;
        return;
    }
    if (n == 0) {
        ask(u, ASK_QUIT, "Quit the last console watching?", alone, "quit anyway?",
            "y yes    N no (default)");
        return;
    }
    snprintf(l1, sizeof l1, "%zu decision%s ha%s no answer yet: %s", n, n == 1 ? "" : "s",
             n == 1 ? "s" : "ve", list);
    ask(u, ASK_QUIT, "Quit with decisions unanswered?", l1,
        last     ? alone
        : n == 1 ? "quit anyway? it stays in the journal and is shown at the next start"
                 : "quit anyway? they stay in the journal and are shown at the next start",
        "y yes    N no (default)");
}

/* Answers the start-up box: y sends, n/N discards, Esc keeps for the next start; any
 * other key is ignored (returns false: the box stays). */
static bool resend_key(ui *u, wint_t ch, bool is_key)
{
    if (is_key || (ch != 'y' && ch != 'n' && ch != 'N' && ch != 27))
        return false;
    size_t n = client_unanswered(u->cl, NULL, 0);
    const char *s = n == 1 ? "" : "s";
    if (ch == 'y') {
        client_unanswered_send(u->cl, on_resent, u);
        ui_status(u, false, "sending %zu earlier decision%s again, no answer yet", n, s);
    } else if (ch == 27) {
        client_unanswered_keep(u->cl);
        ui_status(u, false, "%zu earlier decision%s kept, not sent: asked again at the next start",
                  n, s);
    } else {
        client_unanswered_discard(u->cl);
        ui_status(u, false,
                  "%zu earlier decision%s discarded, not sent again (one may have reached "
                  "the server before: look before deciding again)",
                  n, s);
    }
    return true;
}

void session_ask_key(ui *u, wint_t ch, bool is_key)
{
    if (u->ask == ASK_RESEND && !resend_key(u, ch, is_key))
        return;
    bool yes = !is_key && (ch == 'y' || ch == 'Y');
    ui_ask kind = u->ask;
    u->ask = ASK_NONE;
    u->mode = MODE_BROWSE;
    u->dirty = true;
    if (kind == ASK_QUIT) {
        if (yes)
            u->quit = true;
        else if (client_unknown_outcomes(u->cl, NULL, 0))
            ui_status(u, false, "not quitting: waiting for the answers");
        else
            ui_status(u, false, "not quitting: still watching");
    }
}

void session_draw(const ui *u, WINDOW *w, int cols)
{
    const char *lines[3] = {u->ask_lines[0], u->ask_lines[1], u->ask_lines[2]};
    widget_dialog(w, u->ask_title, lines, 3, cols - 4);
}
