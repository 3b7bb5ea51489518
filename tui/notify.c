/* notify.c: escalation at the terminal for when nobody is looking at the screen (issue
 * 16), each opt-in by a config key (api/config.c): bell_repeat rings the bell again every
 * N seconds while a critical alert is open (not acknowledged, not resolved); notify sends
 * a desktop notification through the terminal (OSC 777 or OSC 9) for a new critical
 * alert and a new pending purchase; title shows the pending count in the terminal title
 * (OSC 2). The bytes go to the terminal after a frame's doupdate (app.c), never in
 * replay, and only ever as the program's own words plus network text made safe by
 * notify_clean. */
#include "tui/ui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies in (any bytes: network text, sanitised or not) into out as text fit for an OSC
 * string: sanitised (api/text.h: no control, ESC or C1 code point survives, only as a
 * visible placeholder), its marks removed, every byte below 0x20, DEL and ';' dropped,
 * and cut at max_bytes without splitting a character. Returns the length. */
size_t notify_clean(const char *in, char *out, size_t max_bytes, text_mode mode)
{
    char pre[NOTIFY_TEXT_MAX * 4 + 1];
    if (!max_bytes)
        return 0;
    text_strip_marks(in ? in : "", pre, sizeof pre); /* bounded before the work */
    char *safe = text_sanitize_str(pre, mode, NULL, NULL);
    size_t o = 0;
    for (const char *p = safe ? safe : ""; *p && o + 1 < max_bytes; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || c == ';')
            continue; /* marks (0x01, 0x02) are below 0x20 too */
        out[o++] = (char)c;
    }
    free(safe);
    o = text_utf8_fit(out, o);
    out[o] = '\0';
    return o;
}

/* Builds the notification's escape sequence into out; see ui.h. */
size_t notify_osc(char *out, size_t size, config_notify how, const char *title, const char *body,
                  text_mode mode)
{
    char t[NOTIFY_TEXT_MAX], b[NOTIFY_TEXT_MAX];
    notify_clean(title, t, sizeof t, mode);
    notify_clean(body, b, sizeof b, mode);
    int n = 0;
    if (how == CONFIG_NOTIFY_OSC777)
        n = snprintf(out, size, "\033]777;notify;%s;%s\a", t, b);
    else if (how == CONFIG_NOTIFY_OSC9)
        n = snprintf(out, size, "\033]9;%s: %s\a", t, b);
    else if (size)
        out[0] = '\0';
    return n > 0 && (size_t)n < size ? (size_t)n : 0; /* never half a sequence */
}

/* The terminal title's text for the counts; see ui.h. */
void notify_title_text(size_t pending, size_t critical, text_mode mode, char *out, size_t size)
{
    const char *dot = mode == TEXT_UTF8 ? " \xc2\xb7 " : " - ";
    if (critical)
        snprintf(out, size, "dealdesk%s%zu pending%s%zu critical", dot, pending, dot, critical);
    else
        snprintf(out, size, "dealdesk%s%zu pending", dot, pending);
}

/* Writes all of buf to the terminal (after doupdate: curses has flushed its own). */
static void tty_write(const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

/* True when escalation may write at all: a console on a live market, not a replay. */
static bool escalation_on(const ui *u)
{
    return !u->cfg->replay_file[0];
}

/* The newest critical open alert after the watermark (and how many there are); NULL
 * when none. Moves the watermark past them. */
static const model_alert *new_critical(ui *u, size_t *count)
{
    size_t n;
    const model_alert *newest = NULL;
    const model_alert *const *a = store_alerts(u->st, &n);
    int64_t mark = u->esc.alert_at;
    *count = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i]->status == ALERT_OPEN && a[i]->severity == SEV_CRITICAL && a[i]->at > mark) {
            ++*count;
            if (!newest || a[i]->at > newest->at)
                newest = a[i];
            if (a[i]->at > u->esc.alert_at)
                u->esc.alert_at = a[i]->at;
        }
    return newest;
}

/* The newest pending purchase after the watermark (and how many); moves the watermark. */
static const model_purchase *new_pending(ui *u, size_t *count)
{
    size_t n;
    const model_purchase *newest = NULL;
    const model_purchase *const *p = store_purchases(u->st, &n);
    int64_t mark = u->esc.purchase_at;
    *count = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i]->status == PUR_PENDING && p[i]->created_at > mark) {
            ++*count;
            if (!newest || p[i]->created_at > newest->created_at)
                newest = p[i];
            if (p[i]->created_at > u->esc.purchase_at)
                u->esc.purchase_at = p[i]->created_at;
        }
    return newest;
}

/* One notification for what is new since the last look: at most one critical alert and
 * one purchase per frame ("and N more" says the rest), so a flood cannot flood the
 * desktop. Before the first snapshot nothing is new: only the watermarks move. */
static void notify_new(ui *u)
{
    size_t na, np;
    const model_alert *a = new_critical(u, &na);
    const model_purchase *p = new_pending(u, &np);
    bool primed = u->esc.primed;
    u->esc.primed = u->cs.snapshots > 0;
    if (!primed || u->cfg->notify == CONFIG_NOTIFY_OFF)
        return;
    char body[NOTIFY_TEXT_MAX * 2], seq[NOTIFY_TEXT_MAX * 3];
    if (a) {
        char more[48] = "";
        if (na > 1)
            snprintf(more, sizeof more, " (and %zu more)", na - 1);
        snprintf(body, sizeof body, "%s%s", a->message.s ? a->message.s : "", more);
        size_t n = notify_osc(seq, sizeof seq, u->cfg->notify, "dealdesk critical alert", body,
                              u->mode_text);
        tty_write(seq, n);
    }
    if (p) {
        char total[64], more[48] = "";
        format_money(p->total_minor, p->currency, total, sizeof total);
        if (np > 1)
            snprintf(more, sizeof more, " (and %zu more)", np - 1);
        snprintf(body, sizeof body, "%s waits for approval: %s%s", p->id, total, more);
        size_t n = notify_osc(seq, sizeof seq, u->cfg->notify, "dealdesk purchase waiting", body,
                              u->mode_text);
        tty_write(seq, n);
    }
}

/* The title, written only when its text changed; the first write saves the terminal's
 * own title on its stack (xterm's CSI 22 t) for notify_done to restore. */
static void title_update(ui *u)
{
    char text[96], seq[128];
    notify_title_text(u->counts.pending, u->counts.sev[SEV_CRITICAL], u->mode_text, text,
                      sizeof text);
    if (!strcmp(text, u->esc.title))
        return;
    int n = snprintf(seq, sizeof seq, "%s\033]2;%s\a", u->esc.title[0] ? "" : "\033[22;0t", text);
    tty_write(seq, (size_t)n);
    snprintf(u->esc.title, sizeof u->esc.title, "%s", text);
}

/* After a frame whose counts were fresh; see ui.h. */
void notify_after_frame(ui *u)
{
    if (!escalation_on(u))
        return;
    notify_new(u);
    if (u->cfg->title && u->esc.primed)
        title_update(u);
}

/* At exit: the title cleared and the terminal's own restored; see ui.h. */
void notify_done(ui *u)
{
    if (u->esc.title[0])
        tty_write("\033]2;\a\033[23;0t", 13);
    u->esc.title[0] = '\0';
}

/* The repeating bell's next ring; see ui.h. */
int64_t notify_bell_due(const ui *u)
{
    if (!escalation_on(u) || u->cfg->bell_repeat_s <= 0 || !u->bell || !u->bell_primed ||
        u->counts.sev[SEV_CRITICAL] == 0)
        return -1;
    return u->bell_at_ms + (int64_t)u->cfg->bell_repeat_s * 1000;
}

/* Rings when a critical alert is still open by the store (the frame's counts may lag
 * an acknowledgement that landed in this turn); see ui.h. */
bool notify_bell_fire(ui *u, int64_t now)
{
    u->bell_at_ms = now;
    u->counts.sev[SEV_CRITICAL] = ui_count(u).sev[SEV_CRITICAL];
    return u->counts.sev[SEV_CRITICAL] > 0;
}
