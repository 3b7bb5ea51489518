/* app.c: the console's one event loop. One wait (client_wait: libcurl's sockets, the
 * terminal and the signal self-pipe) with the timeout of the next timer; events are
 * applied by client_run(); a change marks the screen dirty; a frame is drawn only when
 * something changed (or once a second while a countdown is on screen), at most one per
 * 34 ms on average with a credit of two frames after a quiet spell, and at once for a
 * key. Signal handlers only write a byte to the self-pipe. */
#include "tui/app.h"
#include "tui/ui.h"

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
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Clears the status line when its lifetime is over; returns the ms until it will be
 * (-1: nothing to clear), for the loop's timeout. */
static int status_expire(ui *u, int64_t now)
{
    if (!u->status[0] || !u->status_until_ms)
        return -1;
    if (now >= u->status_until_ms) {
        ui_status_clear(u);
        return -1;
    }
    return (int)(u->status_until_ms - now);
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

/* Sum of the store's change counters and its position: changes when anything does. */
static uint64_t store_fingerprint(const store *st)
{
    uint64_t s = (uint64_t)store_seq(st) * 1000003u;
    for (int k = 0; k < MODEL_KIND_COUNT; k++)
        s += store_changes(st, (model_kind)k);
    return s;
}

/* Rings the bell (if on) when a new pending purchase or critical alert arrived. */
static void maybe_bell(ui *u)
{
    size_t pending, sev[3];
    int64_t nearest;
    header_count(u, &pending, &nearest, sev);
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

/* The help screen (commands_help: from the table and the live keymap), scrolled. */
static void draw_help(ui *u, WINDOW *w, int top, int height)
{
    int cols = getmaxx(w);
    char lines[UI_HELP_MAX][UI_HELP_WIDTH];
    int n = commands_help(u, lines, UI_HELP_MAX);
    if (u->help_scroll > n - height)
        u->help_scroll = n - height;
    if (u->help_scroll < 0)
        u->help_scroll = 0;
    for (int i = 0; i < height; i++) {
        widget_fill(w, top + i, 0, cols, theme_attr(THEME_NORMAL));
        int k = u->help_scroll + i;
        if (k < n)
            widget_text(w, top + i, 1, cols - 2, lines[k],
                        lines[k][0] != ' ' ? theme_attr(THEME_COLUMN) : theme_attr(THEME_NORMAL));
    }
}

/* Draws a whole frame into stdscr (curses sends only what changed). */
static void draw(ui *u)
{
    WINDOW *w = stdscr;
    int rows = getmaxy(w), cols = getmaxx(w);
    client_status_get(u->cl, &u->cs);
    if (!u->read_only && strcmp(u->cs.role, "viewer") == 0)
        u->read_only = true;
    werase(w);
    if (rows < 10 || cols < 40) {
        widget_text(w, 0, 0, cols, "dealdesk: terminal too small (80x24 or more)",
                    theme_attr(THEME_ERROR));
        wnoutrefresh(w);
        return;
    }
    header_draw(u, w); /* the tabs: panes_draw_title, after the table */
    int top = 3, height = rows - 5;
    if (u->mode == MODE_HELP)
        draw_help(u, w, top, height);
    else
        panes_draw(u, w, top, height);
    panes_draw_title(u, w, top - 1); /* after the table: it shows the table's position */
    widget_hline(w, rows - 2, 0, 0, theme_attr(THEME_RULE));
    bool cursor = false;
    if (u->mode == MODE_LINE) {
        cmdline_draw(u, w, rows - 2);
        cursor = true;
    } else if (u->mode == MODE_FILTER) {
        char line[300];
        snprintf(line, sizeof line, "/%s", u->panes[u->pane].filter);
        char right[64];
        snprintf(right, sizeof right, "%zu rows · Enter keep · Esc clear",
                 u->panes[u->pane].table.nrows);
        widget_prompt(w, rows - 2, "/", u->panes[u->pane].filter,
                      (int)strlen(u->panes[u->pane].filter), right);
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
    if (u->mode == MODE_CONFIRM) {
        const char *lines[8];
        char changed[160];
        int n = 0;
        for (int i = 0; i < u->confirm_n && n < 7; i++)
            lines[n++] = u->confirm_lines[i];
        const model_purchase *p = store_purchase(u->st, u->confirm_req.subject_id);
        if (u->confirm_version && p && p->version != u->confirm_version) {
            snprintf(changed, sizeof changed,
                     "CHANGED since shown: now v%lld %s; y will be refused", (long long)p->version,
                     model_purchase_status_label(p));
            lines[n++] = changed;
        }
        widget_dialog(w, u->confirm_title, lines, n, cols - 4);
    }
    if (u->mode == MODE_ASK)
        session_draw(u, w, cols);
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

/* True when something on screen counts down by the second. */
static bool countdown_visible(const ui *u)
{
    if (u->cs.next_retry_ms > 0 || u->ninflight)
        return true;
    size_t n;
    const model_purchase *const *p = store_purchases(u->st, &n);
    for (size_t i = 0; i < n; i++)
        if (p[i]->status == PUR_PENDING && p[i]->decide_by)
            return true;
    return false;
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

/* Runs the console; see app.h. */
int app_run(const config *cfg)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "dealdesk: the console needs a terminal (try `dealdesk tail`)\n");
        return 1;
    }
    setlocale(LC_ALL, "");
    static ui u; /* large; one per process */
    memset(&u, 0, sizeof u);
    u.cfg = cfg;
    u.mode_text = text_mode_from_locale();
    u.read_only = cfg->read_only || cfg->replay_file[0];
    u.bell = cfg->bell;
    snprintf(u.theme_name, sizeof u.theme_name, "%s", cfg->theme[0] ? cfg->theme : "default");
    u.st = store_new();
    if (!u.st) {
        fprintf(stderr, "dealdesk: out of memory\n");
        return 1;
    }
    char err[512];
    u.cl = client_new(cfg, u.st, err, sizeof err);
    if (!u.cl) {
        fprintf(stderr, "dealdesk: %s\n", err);
        store_free(u.st);
        return 1;
    }
    theme t;
    char theme_err[256] = "";
    if (theme_load(u.theme_name, &t, theme_err, sizeof theme_err) < 0)
        theme_load("default", &t, err, sizeof err);
    keymap_init(cfg, u.binding_warnings, sizeof u.binding_warnings);

    saved_tio_ok = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
    if (!getenv("ESCDELAY"))
        setenv("ESCDELAY", "25", 1);
    if (!initscr()) {
        fprintf(stderr, "dealdesk: cannot initialise the terminal\n");
        client_free(u.cl);
        store_free(u.st);
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
    u.colour = !cfg->no_color && has_colors();
    if (u.colour)
        start_color();
    theme_apply(&t, u.colour);
    widget_set_mode(u.mode_text);
    cmdline_init(&u);
    install_signals();
    if (theme_err[0])
        ui_status(&u, true, "%s; using default", theme_err);
    else if (u.binding_warnings[0])
        ui_status(&u, true, "config: %s", u.binding_warnings);
    else if (cfg->demo) {
        ui_status(&u, false, "demo token file: %s  (? help)", cfg->token_file);
        u.status_until_ms = 0; /* where the token is stays on screen until replaced */
    } else {
        ui_status(&u, false, "? help  : command  Tab next pane");
        u.status_until_ms = 0; /* a resting hint, not a message: it stays until replaced */
    }
    for (int p = 0; p < PANE_COUNT; p++)
        u.panes[p].table.page = 10;
    u.dirty = true;

    int64_t credit = 2 * FRAME_MS, credit_at = ui_now_ms(), next_tick = 0, status_seen = 0;
    uint64_t frames = 0;
    bool bell_due = false;
    while (!u.quit) {
        int64_t now = ui_now_ms();
        int timeout = client_next_timeout_ms(u.cl);
        if (u.dirty) {
            int64_t wait = FRAME_MS - frame_credit(credit, credit_at, now);
            int t2 = wait > 0 ? (int)wait : 0;
            if (timeout < 0 || t2 < timeout)
                timeout = t2;
        }
        if (countdown_visible(&u)) {
            if (next_tick <= now)
                next_tick = (now / 1000 + 1) * 1000;
            int t3 = (int)(next_tick - now);
            if (timeout < 0 || t3 < timeout)
                timeout = t3;
        }
        int t4 = status_expire(&u, now); /* the status line's own timer: idle stays idle */
        if (t4 >= 0 && (timeout < 0 || t4 < timeout))
            timeout = t4;
        int fds[2] = {STDIN_FILENO, sigpipe_fds[0]};
        unsigned ready = 0;
        client_wait(u.cl, fds, 2, timeout, &ready);
        client_run(u.cl);
        session_tick(&u);

        uint64_t fp = store_fingerprint(u.st);
        if (fp != u.seen_changes) {
            u.seen_changes = fp;
            u.gen++;
            u.dirty = true;
            client_status_get(u.cl, &u.cs);
            u.shown_lag_ms = u.cs.lag_ms; /* measured as the events land, not while idle */
            bell_due = true;
        } else {
            /* The header tells the connection's state and who we are even when no event
             * changed the store (a quiet market: connecting -> live, whoami's answer). */
            client_status cs;
            client_status_get(u.cl, &cs);
            if (cs.state != u.cs.state || strcmp(cs.role, u.cs.role) != 0 ||
                strcmp(cs.operator_name, u.cs.operator_name) != 0 ||
                strcmp(cs.last_error, u.cs.last_error) != 0) {
                u.cs = cs;
                u.dirty = true;
            }
        }
        if (ready & 2u)
            handle_signals(&u);
        if ((ready & 1u) && !u.quit && !read_keys(&u)) {
            u.quit = true;
            u.exit_code = 1;
        }
        now = ui_now_ms();
        status_expire(&u, now);
        if (next_tick && now >= next_tick && countdown_visible(&u)) {
            u.dirty = true;
            next_tick = (now / 1000 + 1) * 1000;
        }
        /* The frame limit is for the stream: a key, and a new status line (the answer to
         * the operator: a decision's outcome, an error), are shown at once and cost no
         * credit, so the server's answer to a decision confirmed with y shows as soon as
         * it lands (bench_decide). */
        bool keyed = (ready & 1u) != 0 || u.status_at_ms != status_seen;
        int64_t have = frame_credit(credit, credit_at, now);
        if (u.dirty && !u.quit && (keyed || have >= FRAME_MS)) {
            /* once per frame, not per batch of events: it counts every purchase and
             * alert (bench_live flood: a quarter of the console's CPU when per batch) */
            if (bell_due)
                maybe_bell(&u);
            bell_due = false;
            draw(&u);
            doupdate();
            stats_frame(&u, ++frames);
            status_seen = u.status_at_ms;
            if (!keyed) {
                credit = have - FRAME_MS;
                credit_at = now;
            }
            u.dirty = false;
        }
    }
    cmdline_done();
    endwin();
    remove_signals();
    client_free(u.cl);
    store_free(u.st);
    for (int p = 0; p < PANE_COUNT; p++)
        free(u.panes[p].rows);
    return u.exit_code;
}
