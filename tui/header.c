/* header.c: the two header lines, which say only what is known (the README: "the header is
 * always true"): the connection and why it is not live with its next try, who we are,
 * the fleet, what waits and the nearest deadline, open alerts. Until the market has been
 * read these show as unknown (`FLEET ?`, `pending ?`); after the stream is lost what the
 * store holds is shown but marked stale (`as of 14:02:11`, `FLEET RUNNING?`); a replay
 * says so, with its speed and position (`REPLAY 10× · event 120/450`). */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>

/* The market's clock (see ui.h). */
int64_t ui_clock_ms(const ui *u)
{
    return u->cl ? client_clock_ms(u->cl) : ui_now_ms();
}

/* True when the store holds a market that was read (a snapshot applied). */
static bool market_known(const ui *u)
{
    return u->cs.snapshots > 0;
}

/* True when what the store holds is no longer kept current: the stream failed after the
 * market was read (not the moment between a fresh snapshot and its stream). */
static bool market_stale(const ui *u)
{
    return market_known(u) && !u->cs.replay && u->cs.state != CONN_LIVE && u->cs.stale_since_ms > 0;
}

/* Money settled since UTC midnight (settlements minus refunds) in the ledger's first
 * currency; writes it formatted into out, or "" when nothing settled today. */
static void settled_today(const ui *u, char *out, size_t size)
{
    size_t n;
    const model_ledger_entry *e = store_ledger(u->st, &n);
    int64_t midnight = ui_clock_ms(u) / 86400000 * 86400000, sum = 0;
    const char *cur = NULL;
    for (size_t i = 0; i < n; i++) {
        if (e[i].at < midnight || (cur && strcmp(cur, e[i].currency) != 0))
            continue;
        cur = e[i].currency;
        for (size_t k = 0; k < e[i].npostings; k++)
            if (e[i].postings[k].amount_minor > 0)
                sum += e[i].refund ? -e[i].postings[k].amount_minor : e[i].postings[k].amount_minor;
    }
    out[0] = '\0';
    if (cur) {
        char amount[48];
        format_money(sum, cur, amount, sizeof amount);
        snprintf(out, size, " %s settled today %s %s", widget_glyph_str(GLYPH_MIDDOT), amount, cur);
    }
}

/* A replay's state: "REPLAY 10× · event 120/450", then "replay finished · event 450/450". */
static theme_role replay_text(const ui *u, char *out, size_t size)
{
    const char *dot = widget_glyph_str(GLYPH_MIDDOT);
    if (u->cs.state == CONN_OFFLINE) {
        snprintf(out, size, "replay finished %s event %llu/%llu", dot,
                 (unsigned long long)u->cs.replay_played, (unsigned long long)u->cs.replay_total);
        return THEME_DIM;
    }
    char speed[24];
    if (u->cs.replay_speed > 0)
        snprintf(speed, sizeof speed, "%g%s", u->cs.replay_speed, widget_glyph_str(GLYPH_TIMES));
    else
        snprintf(speed, sizeof speed, "max");
    snprintf(out, size, "REPLAY %s %s event %llu/%llu", speed, dot,
             (unsigned long long)u->cs.replay_played, (unsigned long long)u->cs.replay_total);
    return THEME_WARN;
}

/* The connection's state into out, and its colour: live with its lag, connecting, or
 * OFFLINE with the reason and when it tries again. */
static theme_role conn_text(const ui *u, char *out, size_t size)
{
    const client_status *cs = &u->cs;
    const char *dot = widget_glyph_str(GLYPH_DOT), *mid = widget_glyph_str(GLYPH_MIDDOT);
    if (cs->replay)
        return replay_text(u, out, size);
    if (cs->state == CONN_LIVE) {
        if (u->shown_lag_ms >= 1000)
            snprintf(out, size, "%s live %.1fs", dot, (double)u->shown_lag_ms / 1000.0);
        else
            snprintf(out, size, "%s live %lldms", dot, (long long)u->shown_lag_ms);
        return THEME_OK;
    }
    if (cs->reason == CONN_REASON_NONE) { /* the first attempt is on its way */
        snprintf(out, size, "%s connecting", dot);
        return THEME_WARN;
    }
    char why[32];
    if (cs->reason == CONN_REASON_HTTP && cs->http_status)
        snprintf(why, sizeof why, "HTTP %d", cs->http_status);
    else
        snprintf(why, sizeof why, "%s", client_reason_name(cs->reason));
    if (cs->auth_failed || cs->state == CONN_OFFLINE)
        snprintf(out, size, "OFFLINE %s %s not retrying", why, mid);
    else if (cs->next_retry_ms > 0)
        snprintf(out, size, "OFFLINE %s %s retry in %llds", why, mid,
                 (long long)((cs->next_retry_ms + 999) / 1000));
    else
        snprintf(out, size, "OFFLINE %s %s retrying%s", why, mid, widget_glyph_str(GLYPH_ELLIPSIS));
    return THEME_CRIT;
}

/* The fleet's label and colour: unknown until read, marked when stale. */
static const char *fleet_text(const ui *u, unsigned long *attr)
{
    const model_fleet *f = store_fleet(u->st);
    bool halted = f && f->halted;
    if (!market_known(u)) {
        *attr = theme_attr(THEME_WARN);
        return " FLEET ? ";
    }
    if (market_stale(u)) { /* the last we knew, not what is true now */
        *attr = theme_attr(THEME_WARN);
        return halted ? " FLEET HALTED? " : " FLEET RUNNING? ";
    }
    *attr = theme_attr(halted ? THEME_HALTED : THEME_RUNNING);
    return halted ? " FLEET HALTED " : " FLEET RUNNING ";
}

/* Line 0: dealdesk, the server, the connection, who we are; the fleet on the right. */
static void draw_line0(const ui *u, WINDOW *w, int cols, unsigned long h)
{
    unsigned long fa;
    const char *fleet = fleet_text(u, &fa);
    int fw = (int)strlen(fleet);
    widget_text(w, 0, cols - fw - 1, fw, fleet, fa);
    char conn[128];
    theme_role cr = conn_text(u, conn, sizeof conn);
    int x = 1;
    x += widget_text(w, 0, x, 9, "dealdesk", h | A_BOLD) + 2;
    int room = cols - fw - 2 - x;
    char server[80];
    text_truncate(u->cs.server[0] ? u->cs.server : "-", cols >= 100 ? 28 : 18, u->mode_text, server,
                  sizeof server);
    x += widget_text(w, 0, x, room, server, h) + 2;
    room = cols - fw - 2 - x;
    x += widget_text(w, 0, x, room, conn, theme_attr(cr)) + 2;
    room = cols - fw - 2 - x;
    char op[120];
    if (u->cs.operator_name[0])
        snprintf(op, sizeof op, "%s %s %s%s", u->cs.operator_name, widget_glyph_str(GLYPH_MIDDOT),
                 u->cs.role[0] ? u->cs.role : "role unknown", u->read_only ? " READ-ONLY" : "");
    else if (u->cs.replay)
        snprintf(op, sizeof op, "READ-ONLY");
    else /* the server did not say who we are (yet, or no /v1/whoami) */
        snprintf(op, sizeof op, "operator unknown%s", u->read_only ? " READ-ONLY" : "");
    widget_text(w, 0, x, room, op, u->read_only ? theme_attr(THEME_WARN) : h);
}

void header_span_words(int64_t seconds, char *out, size_t size)
{
    if (seconds >= 60 && seconds % 60 == 0)
        snprintf(out, size, "%lld min", (long long)(seconds / 60));
    else
        snprintf(out, size, "%lld s", (long long)seconds);
}

/* Who is watching and the unattended switch (issue 16): "1 watching" (supervisors
 * present, when known), then, when the switch is on, "unattended: restricting since
 * 10:02" while it acts, else (passive, only where it fits whole) "restricts after 10 min
 * unwatched" / "halts after ...". Returns the new x. */
static int draw_presence(const ui *u, WINDOW *w, int px, int cols, bool stale, bool passive)
{
    const model_fleet *f = store_fleet(u->st);
    const char *mid = widget_glyph_str(GLYPH_MIDDOT);
    char line[160], span[24], at[16];
    unsigned long dim = theme_attr(THEME_DIM), h = theme_attr(THEME_HEADER);
    if (!passive && u->cs.presence_supervisors >= 0) {
        snprintf(line, sizeof line, " %s %d watching", mid, u->cs.presence_supervisors);
        px += widget_text(w, 1, px, cols - px, line,
                          stale                             ? dim
                          : u->cs.presence_supervisors == 0 ? theme_attr(THEME_WARN)
                                                            : h);
    }
    if (!f || !f->unattended_after_s || (f->unattended_since != 0) == passive)
        return px;
    header_span_words(f->unattended_after_s, span, sizeof span);
    if (f->unattended_since) {
        format_clock(f->unattended_since, at, sizeof at);
        snprintf(line, sizeof line, "  unattended: %s since %.5s",
                 f->unattended_halt ? "halted" : "restricting", at);
        return px + widget_text(w, 1, px, cols - px, line, stale ? dim : theme_attr(THEME_CRIT));
    }
    snprintf(line, sizeof line, " %s %s after %s unwatched", mid,
             f->unattended_halt ? "halts" : "restricts", span);
    if (px + text_width(line) < cols)
        px += widget_text(w, 1, px, cols - px, line, dim);
    return px;
}

/* Line 1 before the market has been read: every count unknown, and why. */
static void draw_unknown_counts(const ui *u, WINDOW *w, int cols, unsigned long h)
{
    char line[400];
    const char *mid = widget_glyph_str(GLYPH_MIDDOT);
    snprintf(line, sizeof line, "pending ? %s alerts ? %s market not read yet%s%.250s", mid, mid,
             u->cs.last_error[0] ? ": " : "", u->cs.last_error);
    widget_text(w, 1, 1, cols - 2, line, h);
}

/* Line 1: what waits (and the nearest deadline), open alerts, the halt reason, money
 * settled today; all dimmed after an "as of" time when the stream was lost. */
static void draw_counts(const ui *u, WINDOW *w, int cols, unsigned long h)
{
    bool stale = market_stale(u);
    size_t pending = u->counts.pending;
    int64_t nearest = u->counts.nearest;
    const size_t *sev = u->counts.sev; /* counted once per frame (view.c) */
    char next[24] = "", line[256];
    if (pending && nearest) {
        char cd[16];
        format_countdown(nearest - ui_clock_ms(u), cd, sizeof cd);
        snprintf(next, sizeof next, " (next %s)", cd);
    }
    unsigned long dim = theme_attr(THEME_DIM);
    int px = 1;
    if (stale) {
        char at[16];
        format_clock(u->cs.stale_since_ms, at, sizeof at);
        snprintf(line, sizeof line, "as of %s %s ", at, widget_glyph_str(GLYPH_MIDDOT));
        px += widget_text(w, 1, px, cols - px, line, theme_attr(THEME_WARN));
    }
    snprintf(line, sizeof line, "%zu pending%s", pending, next);
    px += widget_text(w, 1, px, cols - px, line,
                      stale     ? dim
                      : pending ? theme_attr(THEME_WARN) | A_BOLD
                                : h);
    snprintf(line, sizeof line, " %s alerts ", widget_glyph_str(GLYPH_MIDDOT));
    px += widget_text(w, 1, px, cols - px, line, stale ? dim : h);
    snprintf(line, sizeof line, "%zu critical", sev[SEV_CRITICAL]);
    px += widget_text(w, 1, px, cols - px, line,
                      stale               ? dim
                      : sev[SEV_CRITICAL] ? theme_attr(THEME_CRIT)
                                          : h);
    if (sev[SEV_INFO])
        snprintf(line, sizeof line, " %zu warning %zu info", sev[SEV_WARNING], sev[SEV_INFO]);
    else
        snprintf(line, sizeof line, " %zu warning", sev[SEV_WARNING]);
    px += widget_text(w, 1, px, cols - px, line,
                      stale              ? dim
                      : sev[SEV_WARNING] ? theme_attr(THEME_WARN)
                                         : h);
    const model_fleet *f = store_fleet(u->st);
    if (f && f->halted && f->reason.s && px + 10 < cols) { /* why the fleet stopped first */
        unsigned long a = stale ? dim : theme_attr(THEME_CRIT);
        px += widget_text(w, 1, px, cols - px, "  halted: ", a);
        px += widget_text(w, 1, px, cols - px - 1, f->reason.s, a);
    }
    if (f && f->halts > 0 && px + 16 < cols) { /* scoped halts: part of the market stopped */
        char hl[48];
        snprintf(hl, sizeof hl, "  %d scoped halt%s", f->halts, f->halts == 1 ? "" : "s");
        px += widget_text(w, 1, px, cols - px, hl, stale ? dim : theme_attr(THEME_WARN));
    }
    px = draw_presence(u, w, px, cols, stale, false); /* who watches, after why it stopped */
    char today[96];
    settled_today(u, today, sizeof today);
    if (today[0] && px + text_width(today) < cols) /* only whole, never cut */
        px += widget_text(w, 1, px, cols - px, today, stale ? dim : h);
    draw_presence(u, w, px, cols, stale, true);
}

void header_draw(const ui *u, WINDOW *w)
{
    int cols = getmaxx(w);
    unsigned long h = theme_attr(THEME_HEADER);
    widget_fill(w, 0, 0, cols, h);
    widget_fill(w, 1, 0, cols, h);
    draw_line0(u, w, cols, h);
    if (market_known(u))
        draw_counts(u, w, cols, h);
    else
        draw_unknown_counts(u, w, cols, h);
}
