/* app.c: the console's one event loop, and the frame. A turn of the loop (loop_turn):
 * one wait (client_wait: libcurl's sockets, the terminal and the signal self-pipe) with
 * the timeout of the nearest timer; client_run() (events applied, outcomes delivered)
 * and the update step (view.c); signals and keys; the client again after keys (it sends
 * what they decided); the timers that are due; a frame when something changed. The
 * timers are data (a table: the frame's credit, the countdown's second, the status
 * line's lifetime, the scorecards' refresh while the Agents pane is shown: agents.c).
 * A frame is drawn only when something changed (or once a second while
 * a countdown is on screen), at most one per 34 ms on average with a credit of two
 * frames after a quiet spell, and at once for a key; view_prepare computes it and draw()
 * only reads. Signal handlers only write a byte to the self-pipe. */
#include "tui/app.h"
#include "tui/ui.h"

#include "api/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MS 34 /* at most 30 frames a second (29.4 when the stream never stops) */

static int sigpipe_fds[2] = {-1, -1};
static struct termios saved_tio;
static bool saved_tio_ok;
static char crash_restore[128]; /* rmcup, cnorm, sgr0 from terminfo, for a crash */
static size_t crash_restore_len;

/* Current time in ms since the epoch. */
int64_t ui_now_ms(void)
{
    return clock_wall_ms();
}

/* Sets the status line. */
void ui_status(ui *u, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->status, sizeof u->status, fmt, ap);
    va_end(ap);
    u->status_error = error;
    u->status_at_ms = ui_now_ms();
    u->status_until_ms = u->status_at_ms + (error ? UI_STATUS_ERROR_MS : UI_STATUS_INFO_MS);
    u->dirty = true;
}

/* Clears the status line; see ui.h. */
void ui_status_clear(ui *u)
{
    if (u->status[0])
        u->dirty = true;
    u->status[0] = '\0';
    u->status_error = false;
    u->status_until_ms = 0;
}

/* Signal handler: only records, through the self-pipe. */
static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (sigpipe_fds[1] >= 0) {
        ssize_t r = write(sigpipe_fds[1], &b, 1);
        (void)r;
    }
    errno = saved;
}

/* Crash handler: puts the terminal back (async-signal-safe calls only), then dies of
 * the same signal. */
static void on_crash(int sig)
{
    if (saved_tio_ok)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    if (crash_restore_len) {
        ssize_t r = write(STDOUT_FILENO, crash_restore, crash_restore_len);
        (void)r;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Appends a terminfo string to the crash-restore bytes. */
static void add_restore(const char *cap)
{
    char *s = tigetstr(cap);
    if (!s || s == (char *)-1)
        return;
    size_t n = strlen(s);
    if (crash_restore_len + n < sizeof crash_restore) {
        memcpy(crash_restore + crash_restore_len, s, n);
        crash_restore_len += n;
    }
}

/* Installs the handlers: signals that end the session or resize go to the pipe. */
static int install_signals(void)
{
    if (pipe(sigpipe_fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(sigpipe_fds[i], F_SETFL, fcntl(sigpipe_fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(sigpipe_fds[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    int sigs[] = {SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCONT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    int crash[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
    return 0;
}

/* Restores default dispositions and closes the pipe. */
static void remove_signals(void)
{
    int sigs[] = {SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCONT,
                  SIGSEGV,  SIGBUS, SIGFPE,  SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    for (int i = 0; i < 2; i++)
        if (sigpipe_fds[i] >= 0)
            close(sigpipe_fds[i]);
    sigpipe_fds[0] = sigpipe_fds[1] = -1;
}

/* Rings the bell (if on) when a new pending purchase or critical alert arrived (from
 * this frame's counts). */
static void maybe_bell(ui *u)
{
    size_t pending = u->counts.pending, *sev = u->counts.sev;
    int64_t now = ui_now_ms();
    if (u->bell_primed && u->bell && now - u->bell_at_ms >= 2000 &&
        (pending > u->seen_pending || sev[SEV_CRITICAL] > u->seen_critical)) {
        beep();
        u->bell_at_ms = now;
    }
    if (u->cs.snapshots > 0)
        u->bell_primed = true;
    u->seen_pending = pending;
    u->seen_critical = sev[SEV_CRITICAL];
}

/* The key bar of the current pane (commands_bar: from the table and the live keymap),
 * as many items as fit. */
static void draw_hints(const ui *u, WINDOW *w, int y)
{
    int cols = getmaxx(w);
    unsigned long a = theme_attr(THEME_KEYS);
    widget_fill(w, y, 0, cols, a);
    char right[48];
    snprintf(right, sizeof right, "%u ev/s", (unsigned)u->cs.events_per_s);
    int rw = (int)strlen(right);
    int x = 1, limit = cols - rw - 2;
    if (u->mode == MODE_HELP) {
        widget_text(w, y, 1, limit - 1, "j/k scroll  any other key closes the help", a);
        widget_text_right(w, y, cols - rw - 1, rw, right, a);
        return;
    }
    if (u->read_only)
        x += widget_text(w, y, x, limit - x, "READ-ONLY ", theme_attr(THEME_WARN)) + 1;
    ui_bar_item items[ACT_COUNT];
    size_t n = commands_bar(u, u->pane, items, ACT_COUNT);
    for (size_t i = 0; i < n; i++) {
        int kw = (int)strlen(items[i].key), iw = kw + 1 + (int)strlen(items[i].name);
        if (x + iw + 2 > limit)
            break;
        widget_text(w, y, x, iw, items[i].key, a | A_BOLD);
        widget_text(w, y, x + kw + 1, iw, items[i].name, a);
        x += iw + 2;
    }
    widget_text_right(w, y, cols - rw - 1, rw, right, a);
}

/* Keeps the help's scroll inside its lines (commands_help: from the table and the live
 * keymap), in the update step before a frame. */
static void help_clamp(ui *u, int height)
{
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = commands_help(u, lines, UI_HELP_MAX);
    if (u->help_scroll > n - height)
        u->help_scroll = n - height;
    if (u->help_scroll < 0)
        u->help_scroll = 0;
}

/* The help screen. */
static void draw_help(const ui *u, WINDOW *w, int top, int height)
{
    int cols = getmaxx(w);
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = commands_help(u, lines, UI_HELP_MAX);
    for (int i = 0; i < height; i++) {
        widget_fill(w, top + i, 0, cols, theme_attr(THEME_NORMAL));
        int k = u->help_scroll + i;
        if (k < n)
            widget_text(w, top + i, 1, cols - 2, lines[k],
                        lines[k][0] != ' ' ? theme_attr(THEME_COLUMN) : theme_attr(THEME_NORMAL));
    }
}

/* Draws the status line (or the line being typed) and the keys on the last two rows;
 * returns true when the cursor belongs there (it is left at its place). */
static bool draw_bottom(const ui *u, WINDOW *w, int rows)
{
    bool cursor = false;
    const ui_pane *pn = &u->panes[u->pane];
    if (u->mode == MODE_LINE) {
        cmdline_draw(u, w, rows - 2);
        cursor = true;
    } else if (u->mode == MODE_FILTER) {
        char right[64];
        snprintf(right, sizeof right, "%zu rows · Enter keep · Esc clear", pn->table.nrows);
        widget_prompt(w, rows - 2, "/", pn->filter, (int)strlen(pn->filter), right);
        cursor = true;
    } else {
        widget_status(w, rows - 2, u->status,
                      theme_attr(u->status_error ? THEME_ERROR : THEME_STATUS), NULL);
    }
    int cy = getcury(w), cx = getcurx(w);
    if (u->mode == MODE_LINE && u->status[0] && u->status_at_ms >= u->line_started_ms)
        widget_status(w, rows - 1, u->status, /* completions, errors while typing */
                      theme_attr(u->status_error ? THEME_ERROR : THEME_KEYS), NULL);
    else
        draw_hints(u, w, rows - 1);
    wmove(w, cy, cx);
    return cursor;
}

/* The confirmation box, saying so when its purchase changed since it was shown. */
static void draw_confirm(const ui *u, WINDOW *w, int cols)
{
    const char *lines[14];
    char changed[256];
    int n = 0;
    for (int i = 0; i < u->confirm_n && n < 13; i++)
        lines[n++] = u->confirm_lines[i];
    if (u->batch.boxed) { /* a batch: the marked purchases that changed since shown */
        batch_changed(u, changed, sizeof changed);
        if (changed[0])
            lines[n++] = changed;
        widget_dialog(w, u->confirm_title, lines, n, cols - 4);
        return;
    }
    const model_purchase *p = store_purchase(u->st, u->confirm_req.subject_id);
    const model_policy *pol = store_policy(u->st, u->confirm_req.subject_id);
    const model_dispute *dsp = store_dispute(u->st, u->confirm_req.subject_id);
    if (u->confirm_version && p && p->version != u->confirm_version) {
        snprintf(changed, sizeof changed, "CHANGED since shown: now v%lld %s; y will be refused",
                 (long long)p->version, model_purchase_status_label(p));
        lines[n++] = changed;
    } else if (u->confirm_version && pol && pol->version != u->confirm_version) {
        snprintf(changed, sizeof changed, "CHANGED since shown: now v%lld %s; y will be refused",
                 (long long)pol->version, pol->enabled ? "enabled" : "disabled");
        lines[n++] = changed;
    } else if (u->confirm_version && dsp && dsp->version != u->confirm_version) {
        snprintf(changed, sizeof changed, "CHANGED since shown: now v%lld %s; y will be refused",
                 (long long)dsp->version, model_dispute_status_label(dsp));
        lines[n++] = changed;
    }
    widget_dialog(w, u->confirm_title, lines, n, cols - 4);
}

/* Draws a whole frame into stdscr from what view_prepare computed, reading only (curses
 * sends only what changed). */
static void draw(const ui *u)
{
    WINDOW *w = stdscr;
    const ui_layout *l = &u->lay;
    werase(w);
    if (l->too_small) {
        widget_text(w, 0, 0, l->cols, "dealdesk: terminal too small (80x24 or more)",
                    theme_attr(THEME_ERROR));
        wnoutrefresh(w);
        return;
    }
    header_draw(u, w);
    if (u->mode == MODE_HELP)
        draw_help(u, w, l->top, l->height);
    else
        panes_draw(u, w);
    panes_draw_title(u, w, l->top - 1);
    widget_hline(w, l->rows - 2, 0, 0, theme_attr(THEME_RULE));
    bool cursor = draw_bottom(u, w, l->rows);
    int cy = getcury(w), cx = getcurx(w);
    if (u->mode == MODE_CONFIRM)
        draw_confirm(u, w, l->cols);
    if (u->mode == MODE_ASK)
        session_draw(u, w, l->cols);
    if (cursor) {
        wmove(w, cy, cx);
        curs_set(1);
    } else {
        curs_set(0);
    }
    wnoutrefresh(w);
}

/* Handles a key in filter mode: the filter is applied as it is typed. */
static void filter_key(ui *u, wint_t ch, bool is_key)
{
    ui_pane *pn = &u->panes[u->pane];
    size_t len = strlen(pn->filter);
    if ((!is_key && ch == 27)) {
        pn->filter[0] = '\0';
        u->mode = MODE_BROWSE;
    } else if ((!is_key && (ch == '\n' || ch == '\r')) || (is_key && ch == KEY_ENTER)) {
        u->mode = MODE_BROWSE;
    } else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
        while (len > 0 && (pn->filter[len - 1] & 0xC0) == 0x80)
            len--;
        if (len > 0)
            len--;
        pn->filter[len] = '\0';
    } else if (!is_key && ch >= 0x20 && ch != 0x7f) {
        char mb[8];
        mbstate_t st;
        memset(&st, 0, sizeof st);
        size_t n = wcrtomb(mb, (wchar_t)ch, &st);
        if (n != (size_t)-1 && len + n + 1 < sizeof pn->filter) {
            memcpy(pn->filter + len, mb, n);
            pn->filter[len + n] = '\0';
        }
    } else {
        return;
    }
    pn->table.sel = 0;
    pn->sel_id[0] = '\0';
    panes_refresh(u, u->pane, false); /* narrows when a character was added */
    u->dirty = true;
}

/* Dispatches one key by mode. */
static void handle_key(ui *u, wint_t ch, bool is_key)
{
    u->dirty = true;
    client_presence_input(u->cl); /* a person is here (reported at most once a minute) */
    switch (u->mode) {
        case MODE_LINE: cmdline_key(u, ch, is_key); return;
        case MODE_FILTER: filter_key(u, ch, is_key); return;
        case MODE_CONFIRM: actions_confirm_key(u, ch, is_key); return;
        case MODE_ASK: session_ask_key(u, ch, is_key); return;
        case MODE_HELP: {
            ui_action a = keymap_lookup(ch, is_key);
            if (a == ACT_UP)
                u->help_scroll--;
            else if (a == ACT_DOWN)
                u->help_scroll++;
            else if (a == ACT_PGUP)
                u->help_scroll -= 10;
            else if (a == ACT_PGDN)
                u->help_scroll += 10;
            else
                u->mode = MODE_BROWSE;
            return;
        }
        case MODE_BROWSE: break;
    }
    ui_action a = keymap_lookup(ch, is_key);
    if (a != ACT_NONE)
        commands_do(u, a);
}

/* Adopts the terminal's new size. */
static void handle_resize(ui *u)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
        is_term_resized(ws.ws_row, ws.ws_col))
        resizeterm(ws.ws_row, ws.ws_col); /* queues one KEY_RESIZE, handled below */
    for (int p = 0; p < PANE_COUNT; p++)
        widget_table_clamp(&u->panes[p].table);
    clearok(curscr, TRUE);
    u->dirty = true;
}

/* True when something on screen counts down by the second (this frame's counts). */
static bool countdown_visible(const ui *u)
{
    return u->cs.next_retry_ms > 0 || u->ninflight || u->counts.nearest;
}

/* Reads every key curses has; returns false when the terminal is gone (end of input). */
static bool read_keys(ui *u)
{
    int avail = 0;
    if (ioctl(STDIN_FILENO, FIONREAD, &avail) == 0 && avail == 0) {
        /* readable with nothing to read: end of input (the link dropped) */
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r <= 0)
            return false;
        ungetch((unsigned char)c);
    }
    wint_t ch;
    int rc;
    int budget = 256;
    while (budget-- > 0 && (rc = wget_wch(stdscr, &ch)) != ERR) {
        if (rc == KEY_CODE_YES && ch == KEY_RESIZE) { /* curses has resized already */
            for (int p = 0; p < PANE_COUNT; p++)
                widget_table_clamp(&u->panes[p].table);
            u->dirty = true;
            continue;
        }
        handle_key(u, ch, rc == KEY_CODE_YES);
        if (u->quit)
            break;
    }
    return true;
}

/* Drains the self-pipe and acts on the signals. */
static void handle_signals(ui *u)
{
    unsigned char b[32];
    ssize_t n;
    while ((n = read(sigpipe_fds[0], b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (b[i] == SIGWINCH || b[i] == SIGCONT)
                handle_resize(u);
            else {
                u->quit = true;
                u->exit_code = b[i] == SIGHUP ? 1 : 0;
            }
        }
}

/* Opt-in counters for the benchmarks (tests/bench/bench_live.c): when DEALDESK_STATS_FILE
 * is set, the frames drawn and the events applied are rewritten in place (one pwrite)
 * after each frame, so a bench can read them at any moment. Nothing otherwise. */
static void stats_frame(const ui *u, uint64_t frames)
{
    static int fd = -2;
    if (fd == -2) {
        const char *path = getenv("DEALDESK_STATS_FILE");
        fd = path && path[0] ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    }
    if (fd < 0)
        return;
    char line[80];
    int n = snprintf(line, sizeof line, "frames %14llu events %14llu\n", (unsigned long long)frames,
                     (unsigned long long)u->cs.events);
    if (pwrite(fd, line, (size_t)n, 0) < 0) {
        close(fd);
        fd = -1;
    }
}

/* Frame credit in ms at now: earned at one frame per FRAME_MS since credit_at, kept up
 * to two frames' worth. A burst of two lets the server's answer to a decision and the
 * event that follows it show as they land (bench_decide), while a flood still gets one
 * frame per FRAME_MS. */
static int64_t frame_credit(int64_t credit, int64_t credit_at, int64_t now)
{
    int64_t c = credit + (now - credit_at);
    return c > 2 * FRAME_MS ? 2 * FRAME_MS : c;
}

/* The loop's state besides the ui: the frame credit, the countdown's next second, what
 * the last frame showed. */
typedef struct loop {
    ui *u;
    int64_t credit, credit_at; /* frame credit (frame_credit) */
    int64_t next_tick;         /* the next whole second while a countdown is shown */
    int64_t status_seen;       /* status_at_ms of the status line last drawn */
    uint64_t frames;
    bool bell_due; /* the store changed since the bell last looked */
} loop;

/* A timer of the loop, as data: when it is due (ms since the epoch; -1: not armed) and
 * what it does then (NULL: it only wakes the loop, for the frame at the end of a turn). */
typedef struct loop_timer {
    int64_t (*due)(const loop *l, int64_t now);
    void (*fire)(loop *l, int64_t now);
} loop_timer;

/* A frame waits for its credit while something is to be redrawn. */
static int64_t frame_due(const loop *l, int64_t now)
{
    if (!l->u->dirty)
        return -1;
    int64_t wait = FRAME_MS - frame_credit(l->credit, l->credit_at, now);
    return now + (wait > 0 ? wait : 0);
}

/* A countdown on screen: a frame at each whole second. */
static int64_t tick_due(const loop *l, int64_t now)
{
    (void)now;
    return countdown_visible(l->u) ? l->next_tick : -1;
}

static void tick_fire(loop *l, int64_t now)
{
    l->u->dirty = true;
    l->next_tick = (now / 1000 + 1) * 1000;
}

/* The status line clears itself when its lifetime is over: idle stays idle. */
static int64_t status_due(const loop *l, int64_t now)
{
    (void)now;
    const ui *u = l->u;
    return u->status[0] && u->status_until_ms ? u->status_until_ms : -1;
}

static void status_fire(loop *l, int64_t now)
{
    (void)now;
    ui_status_clear(l->u);
}

/* The bell again while a critical alert is open (config bell_repeat; notify.c). */
static int64_t bell_repeat_due(const loop *l, int64_t now)
{
    (void)now;
    return notify_bell_due(l->u);
}

static void bell_repeat_fire(loop *l, int64_t now)
{
    if (notify_bell_fire(l->u, now))
        beep();
}

/* The agents' scorecards, read while the Agents pane is shown (agents.c). */
static int64_t stats_due(const loop *l, int64_t now)
{
    return agents_stats_due(l->u, now);
}

static void stats_fire(loop *l, int64_t now)
{
    agents_stats_fire(l->u, now);
}

static const loop_timer timers[] = {
    {frame_due, NULL},
    {stats_due, stats_fire},
    {tick_due, tick_fire},
    {status_due, status_fire},
    {bell_repeat_due, bell_repeat_fire},
};

/* The wait's timeout: the client's next timer or the loop's nearest one (-1: none). */
static int loop_timeout(const loop *l, int64_t now)
{
    int timeout = client_next_timeout_ms(l->u->cl);
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        int64_t due = timers[i].due(l, now);
        if (due < 0)
            continue;
        int t = due > now ? (int)(due - now) : 0;
        if (timeout < 0 || t < timeout)
            timeout = t;
    }
    return timeout;
}

/* Fires the timers that are due. */
static void fire_timers(loop *l, int64_t now)
{
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) {
        int64_t due = timers[i].due(l, now);
        if (timers[i].fire && due >= 0 && due <= now)
            timers[i].fire(l, now);
    }
}

/* Draws a frame when something changed and there is credit for it. The frame limit is
 * for the stream: a key, and a new status line (the answer to the operator: a decision's
 * outcome, an error), are shown at once and cost no credit, so the server's answer to a
 * decision confirmed with y shows as soon as it lands (bench_decide). */
static void maybe_frame(loop *l, int64_t now, bool keyed)
{
    ui *u = l->u;
    keyed = keyed || u->status_at_ms != l->status_seen;
    int64_t have = frame_credit(l->credit, l->credit_at, now);
    if (!u->dirty || u->quit || !(keyed || have >= FRAME_MS))
        return;
    view_prepare(u, getmaxy(stdscr), getmaxx(stdscr));
    if (u->mode == MODE_HELP)
        help_clamp(u, u->lay.height);
    /* once per frame, not per batch of events: it counts every purchase and alert
     * (bench_live flood: a quarter of the console's CPU when per batch) */
    bool looked = l->bell_due;
    if (looked)
        maybe_bell(u);
    l->bell_due = false;
    draw(u);
    doupdate();
    if (looked)
        notify_after_frame(u); /* after doupdate: curses' bytes are out */
    stats_frame(u, ++l->frames);
    l->status_seen = u->status_at_ms;
    if (!keyed) {
        l->credit = have - FRAME_MS;
        l->credit_at = now;
    }
    u->dirty = false;
}

/* After the client ran: the questions of session.c, then the update step. */
static void after_client(loop *l)
{
    session_tick(l->u);
    if (view_after_client(l->u))
        l->bell_due = true;
}

/* One turn of the loop: the one wait, the client (events and outcomes first, so that
 * keys act on what they bring), signals and keys, the client again when keys were read
 * (it sends what they decided; a refusal comes back at once), the timers, a frame. */
static void loop_turn(loop *l)
{
    ui *u = l->u;
    int fds[2] = {STDIN_FILENO, sigpipe_fds[0]};
    unsigned ready = 0;
    client_wait(u->cl, fds, 2, loop_timeout(l, ui_now_ms()), &ready);
    client_run(u->cl);
    after_client(l);
    if (ready & 2u)
        handle_signals(u);
    if ((ready & 1u) && !u->quit && !read_keys(u)) {
        u->quit = true;
        u->exit_code = 1;
    }
    if (ready & 1u) {
        client_run(u->cl);
        after_client(l);
    }
    int64_t now = ui_now_ms();
    fire_timers(l, now);
    maybe_frame(l, now, (ready & 1u) != 0);
}

/* Creates the ui's store and client from cfg; returns 0, or 1 with a message on stderr. */
static int ui_open(ui *u, const config *cfg)
{
    memset(u, 0, sizeof *u);
    u->cfg = cfg;
    u->mode_text = text_mode_from_locale();
    u->read_only = cfg->read_only || cfg->replay_file[0];
    u->bell = cfg->bell;
    snprintf(u->theme_name, sizeof u->theme_name, "%s", cfg->theme[0] ? cfg->theme : "default");
    u->st = store_new();
    if (!u->st) {
        fprintf(stderr, "dealdesk: out of memory\n");
        return 1;
    }
    char err[512];
    u->cl = client_new(cfg, u->st, err, sizeof err);
    if (!u->cl) {
        fprintf(stderr, "dealdesk: %s\n", err);
        store_free(u->st);
        return 1;
    }
    return 0;
}

/* Frees what ui_open and the panes hold. */
static void ui_close(ui *u)
{
    client_free(u->cl);
    store_free(u->st);
    for (int p = 0; p < PANE_COUNT; p++) {
        free(u->panes[p].rows);
        panes_texts_free(&u->panes[p]);
    }
    detail_free(u);
}

/* Takes the terminal: curses, the crash restore bytes, colours and theme, readline and
 * the signals. Returns 0, or 1 when the terminal cannot be initialised. */
static int terminal_open(ui *u, const theme *t)
{
    saved_tio_ok = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    if (!getenv("ESCDELAY"))
        setenv("ESCDELAY", "25", 1);
    if (!initscr()) {
        fprintf(stderr, "dealdesk: cannot initialise the terminal\n");
        return 1;
    }
    set_escdelay(25);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    curs_set(0);
    add_restore("rmcup");
    add_restore("cnorm");
    add_restore("sgr0");
    u->colour = !u->cfg->no_color && has_colors();
    if (u->colour)
        start_color();
    theme_apply(t, u->colour);
    widget_set_mode(u->mode_text);
    cmdline_init(u);
    install_signals();
    return 0;
}

/* The first status line: a problem with the config, else where the demo's token is, else
 * a resting hint (both stay until replaced). */
static void first_status(ui *u, const char *theme_err)
{
    if (theme_err[0])
        ui_status(u, true, "%s; using default", theme_err);
    else if (u->binding_warnings[0])
        ui_status(u, true, "config: %s", u->binding_warnings);
    else if (u->cfg->demo) {
        ui_status(u, false, "demo token file: %s  (? help)", u->cfg->token_file);
        u->status_until_ms = 0; /* where the token is stays on screen until replaced */
    } else {
        ui_status(u, false, "? help  : command  Tab next pane");
        u->status_until_ms = 0; /* a resting hint, not a message: it stays until replaced */
    }
}

/* Runs the console; see app.h. */
int app_run(const config *cfg)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "dealdesk: the console needs a terminal (try `dealdesk tail`)\n");
        return 1;
    }
    setlocale(LC_ALL, "");
    static ui u; /* large; one per process */
    if (ui_open(&u, cfg) != 0)
        return 1;
    theme t;
    char theme_err[256] = "";
    if (theme_load(u.theme_name, &t, theme_err, sizeof theme_err) < 0) {
        char err[256];
        theme_load("default", &t, err, sizeof err);
    }
    keymap_init(cfg, u.binding_warnings, sizeof u.binding_warnings);
    if (terminal_open(&u, &t) != 0) {
        ui_close(&u);
        return 1;
    }
    first_status(&u, theme_err);
    for (int p = 0; p < PANE_COUNT; p++)
        u.panes[p].table.page = 10;
    u.dirty = true;

    loop l = {.u = &u, .credit = 2 * FRAME_MS, .credit_at = ui_now_ms()};
    while (!u.quit)
        loop_turn(&l);

    cmdline_done();
    endwin();
    notify_done(&u);
    remove_signals();
    ui_close(&u);
    return u.exit_code;
}
