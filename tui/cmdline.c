/* cmdline.c: the command line and prompts, on readline's callback interface so that the
 * stream keeps flowing while the operator types. curses owns the terminal: readline gets
 * its keys from us one byte at a time (rl_getc_function), writes nothing (its output
 * goes to /dev/null and its redisplay is ours), and never touches the terminal modes or
 * signals. History is kept in $XDG_STATE_HOME/dealdesk/history, merged on save (two
 * consoles at once both keep their lines); Tab completes commands, ids from the store,
 * export kinds and theme names. */
#include "tui/ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

static ui *cur;                 /* the console readline is serving */
static unsigned char queue[64]; /* bytes waiting for readline */
static size_t qhead, qlen;
static char *done_line; /* set by the line handler */
static bool have_done;
static char history_path[1024];
static int history_added; /* lines this session added to the history */
static char prompt_text[256];
static FILE *devnull;

/* readline's input: the next queued byte (EOF when none: readline is only called
 * when a byte is queued). */
static int getc_queued(FILE *f)
{
    (void)f;
    if (!qlen)
        return EOF;
    int c = queue[qhead];
    qhead = (qhead + 1) % sizeof queue;
    qlen--;
    return c;
}

/* readline asks whether more input is ready (to finish a key sequence). */
static int input_available(void)
{
    return qlen > 0;
}

/* readline must not touch the terminal modes: curses owns them. */
static void prep_noop(int meta)
{
    (void)meta;
}
static void deprep_noop(void) {}

/* readline's redisplay: ours happens in the frame. */
static void redisplay(void)
{
    if (cur)
        cur->dirty = true;
}

/* The line handler: only records (the loop acts after rl_callback_read_char). */
static void on_line(char *line)
{
    done_line = line;
    have_done = true;
}

/* Shows ambiguous completions on the status line instead of printing them. */
static void show_matches(char **matches, int n, int max)
{
    (void)max;
    if (!cur)
        return;
    char buf[400];
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 1; i <= n && used + 2 < sizeof buf; i++) {
        int k = snprintf(buf + used, sizeof buf - used, "%s%s", i > 1 ? "  " : "", matches[i]);
        if (k < 0 || (size_t)k >= sizeof buf - used)
            break;
        used += (size_t)k;
    }
    char safe[600];
    text_truncate(buf, 300, cur->mode_text, safe, sizeof safe);
    ui_status(cur, false, "%d matches: %s", n, safe);
}

/* Candidates for the word being completed: the table's commands (commands.c), or the
 * words its entry says its arguments take. */
static bool complete_commands;
static size_t cand_i;
static char **idlist;
static size_t nidlist;

/* Frees the collected id list. */
static void free_ids(void)
{
    for (size_t i = 0; i < nidlist; i++)
        free(idlist[i]);
    free(idlist);
    idlist = NULL;
    nidlist = 0;
}

/* Adds an id to the list of completion candidates. */
static void add_id(const char *id)
{
    char **n = realloc(idlist, (nidlist + 1) * sizeof *n);
    if (!n)
        return;
    idlist = n;
    idlist[nidlist] = strdup(id);
    if (idlist[nidlist])
        nidlist++;
}

/* Adds the purchases in status s. */
static void add_purchases(const store *st, model_purchase_status s)
{
    size_t n;
    const model_purchase *const *p = store_purchases(st, &n);
    for (size_t i = 0; i < n; i++)
        if (p[i]->status == s)
            add_id(p[i]->id);
}

/* Adds what an argument of kind arg can be. */
static void add_arg(const store *st, ui_arg arg)
{
    size_t n;
    switch (arg) {
        case ARG_NONE: break;
        case ARG_PENDING: add_purchases(st, PUR_PENDING); break;
        case ARG_SETTLED: add_purchases(st, PUR_SETTLED); break;
        case ARG_AGENT: {
            const model_agent *const *a = store_agents(st, &n);
            for (size_t i = 0; i < n; i++)
                add_id(a[i]->id);
            break;
        }
        case ARG_OPEN_ALERT: {
            const model_alert *const *a = store_alerts(st, &n);
            for (size_t i = 0; i < n; i++)
                if (a[i]->status == ALERT_OPEN)
                    add_id(a[i]->id);
            break;
        }
        case ARG_EXPORT:
            add_id("ledger");
            add_id("threads");
            break;
        case ARG_THEME:
            for (size_t i = 0; theme_builtin_names[i]; i++)
                add_id(theme_builtin_names[i]);
            break;
        case ARG_PANE:
            for (int i = 0; i < PANE_COUNT; i++)
                add_id(panes_name(i));
            break;
        case ARG_ON_OFF:
            add_id("on");
            add_id("off");
            break;
        case ARG_DISPUTE: {
            const model_dispute *const *d = store_disputes(st, &n);
            for (size_t i = 0; i < n; i++)
                if (d[i]->status != DSP_RESOLVED)
                    add_id(d[i]->id);
            static const char *const outcomes[] = {"refund", "partial", "reject"};
            for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
                add_id(outcomes[i]);
            break;
        }
        case ARG_POLICY: {
            static const char *const verbs[] = {"enable", "disable", "up", "down", "set"};
            for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
                add_id(verbs[i]);
            const model_policy *const *p = store_policies(st, &n);
            for (size_t i = 0; i < n; i++) { /* names as typed: marks stripped */
                char name[160];
                text_strip_marks(p[i]->name.s ? p[i]->name.s : p[i]->id, name, sizeof name);
                add_id(name);
            }
            break;
        }
    }
}

/* Collects the words the arguments of command cmd complete to ("": any id). */
static void collect_ids(const store *st, const char *cmd)
{
    free_ids();
    const ui_command *c = commands_find(cmd);
    if (c)
        add_arg(st, c->cmd.arg);
    else if (!cmd[0]) {
        add_arg(st, ARG_PENDING);
        add_arg(st, ARG_AGENT);
        add_arg(st, ARG_OPEN_ALERT);
    }
}

/* Sets up the candidates for the word of line that starts at start: the first word is a
 * command, the later ones the arguments of that command. */
static void candidates_for(const store *st, const char *line, int start)
{
    complete_commands = start == 0;
    if (!complete_commands) {
        char cmd[32] = "";
        sscanf(line, "%31s", cmd);
        collect_ids(st, cmd);
    }
}

/* readline generator over the commands of the table, or idlist. */
static char *generator(const char *text, int state)
{
    if (!state)
        cand_i = 0;
    size_t len = strlen(text);
    if (complete_commands) {
        while (cand_i < ACT_COUNT) {
            const ui_command *c = commands_get((ui_action)cand_i++);
            if (c->cmd.usage && strncmp(c->name, text, len) == 0)
                return strdup(c->name);
        }
    } else {
        while (cand_i < nidlist) {
            const char *c = idlist[cand_i++];
            if (strncmp(c, text, len) == 0)
                return strdup(c);
        }
    }
    return NULL;
}

/* Completion: the first word is a command, later ones its arguments. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    if (!cur || cur->line_purpose != LINE_COMMAND)
        return NULL;
    candidates_for(cur->st, rl_line_buffer, start);
    return rl_completion_matches(text, generator);
}

/* The completions of a word without readline; see ui.h. */
size_t cmdline_completions(const ui *u, const char *line, int start, const char *text, char ***out)
{
    candidates_for(u->st, line, start);
    size_t n = 0;
    char **words = NULL, *w;
    for (int state = 0; (w = generator(text, state)) != NULL; state++) {
        char **more = realloc(words, (n + 2) * sizeof *more);
        if (!more) {
            free(w);
            break;
        }
        words = more;
        words[n++] = w;
        words[n] = NULL;
    }
    free_ids();
    *out = words;
    return n;
}

/* Makes the folder of the history file (0700). */
static void make_state_dir(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0700);
            *s = '/';
        }
    mkdir(p, 0700);
}

/* Sets readline up; see ui.h. */
void cmdline_init(ui *u)
{
    cur = u;
    devnull = fopen("/dev/null", "w+");
    rl_instream = devnull;
    rl_outstream = devnull;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = prep_noop;
    rl_deprep_term_function = deprep_noop;
    rl_getc_function = getc_queued;
    rl_input_available_hook = input_available;
    rl_redisplay_function = redisplay;
    rl_attempted_completion_function = complete;
    rl_completion_display_matches_hook = show_matches;
    rl_readline_name = "dealdesk";
    rl_variable_bind("bell-style", "none");
    rl_variable_bind("show-all-if-ambiguous", "on");
    rl_variable_bind("enable-bracketed-paste", "off");
    using_history();
    stifle_history(1000);
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[900] = "";
    if (state && state[0] == '/')
        snprintf(dir, sizeof dir, "%s/dealdesk", state);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.local/state/dealdesk", home);
    if (dir[0]) {
        make_state_dir(dir);
        snprintf(history_path, sizeof history_path, "%s/history", dir);
        read_history(history_path);
    }
}

/* Saves the history merged with what other consoles saved since it was read: under an
 * exclusive flock of history.lock, the file is read again, this session's lines are
 * appended (the last 1000 kept), and the result is written to a new file renamed over
 * the old one (a crash leaves one or the other). */
static void save_history(void)
{
    int n = history_added < history_length ? history_added : history_length;
    char **mine = calloc((size_t)n + 1, sizeof *mine);
    if (!mine)
        return;
    for (int i = 0; i < n; i++) {
        HIST_ENTRY *h = history_get(history_base + history_length - n + i);
        mine[i] = h && h->line ? strdup(h->line) : NULL;
    }
    char lock[1100], tmp[1100];
    snprintf(lock, sizeof lock, "%s.lock", history_path);
    snprintf(tmp, sizeof tmp, "%s.%ld", history_path, (long)getpid());
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd >= 0)
        flock(lfd, LOCK_EX);
    clear_history();
    read_history(history_path);
    for (int i = 0; i < n; i++)
        if (mine[i])
            add_history(mine[i]);
    unlink(tmp);
    if (write_history(tmp) == 0 && chmod(tmp, 0600) == 0 && rename(tmp, history_path) == 0)
        history_added = 0;
    else
        unlink(tmp);
    if (lfd >= 0)
        close(lfd); /* releases the lock */
    for (int i = 0; i < n; i++)
        free(mine[i]);
    free(mine);
}

/* Saves history and frees readline's state. */
void cmdline_done(void)
{
    if (cur && cur->mode == MODE_LINE)
        rl_callback_handler_remove();
    if (history_path[0])
        save_history();
    free_ids();
    if (devnull)
        fclose(devnull);
    devnull = NULL;
    cur = NULL;
}

/* Starts a prompt; see ui.h. */
void cmdline_start(ui *u, ui_line_purpose purpose, const char *prompt)
{
    u->line_purpose = purpose;
    u->line_started_ms = ui_now_ms();
    u->mode = MODE_LINE;
    u->dirty = true;
    snprintf(prompt_text, sizeof prompt_text, "%s", prompt);
    have_done = false;
    qlen = 0;
    if (cur) /* set up by cmdline_init: the console, not a unit test */
        rl_callback_handler_install(prompt_text, on_line);
}

/* The prompt being shown; see ui.h. */
const char *cmdline_prompt(void)
{
    return prompt_text;
}

/* Queues bytes for readline. */
static void push(const char *s, size_t n)
{
    for (size_t i = 0; i < n && qlen < sizeof queue; i++) {
        queue[(qhead + qlen) % sizeof queue] = (unsigned char)s[i];
        qlen++;
    }
}

/* Feeds one key; see ui.h. */
void cmdline_key(ui *u, wint_t ch, bool is_key)
{
    if (!is_key && ch == 27) { /* Esc: cancel, nothing sent */
        rl_replace_line("", 0);
        rl_callback_handler_remove();
        u->mode = MODE_BROWSE;
        u->dirty = true;
        actions_line_done(u, NULL);
        return;
    }
    if (is_key) {
        const char *seq = NULL;
        switch (ch) {
            case KEY_LEFT: seq = "\033[D"; break;
            case KEY_RIGHT: seq = "\033[C"; break;
            case KEY_UP: seq = "\033[A"; break;
            case KEY_DOWN: seq = "\033[B"; break;
            case KEY_HOME: seq = "\001"; break;
            case KEY_END: seq = "\005"; break;
            case KEY_DC: seq = "\004"; break;
            case KEY_BACKSPACE: seq = "\177"; break;
            case KEY_ENTER: seq = "\n"; break;
            default: return;
        }
        push(seq, strlen(seq));
    } else {
        char mb[8];
        size_t n;
        if (ch < 0x80) {
            mb[0] = (char)ch;
            n = 1;
        } else {
            mbstate_t st;
            memset(&st, 0, sizeof st);
            n = wcrtomb(mb, (wchar_t)ch, &st);
            if (n == (size_t)-1)
                return;
        }
        if (ch == '\r')
            mb[0] = '\n';
        push(mb, n);
    }
    while (qlen > 0 && !have_done)
        rl_callback_read_char();
    qlen = 0;
    if (have_done) {
        have_done = false;
        char *line = done_line;
        done_line = NULL;
        rl_callback_handler_remove();
        u->mode = MODE_BROWSE;
        u->dirty = true;
        if (line && line[0] && u->line_purpose == LINE_COMMAND) {
            add_history(line);
            history_added++;
        }
        actions_line_done(u, line ? line : NULL);
        free(line);
    }
    u->dirty = true;
}

/* Draws the line being edited (sanitised: pasted text may hold anything). */
void cmdline_draw(const ui *u, WINDOW *w, int y)
{
    const char *buf = rl_line_buffer ? rl_line_buffer : "";
    size_t point = (size_t)(rl_point >= 0 ? rl_point : 0);
    size_t len = strlen(buf);
    if (point > len)
        point = len;
    char head[1024];
    snprintf(head, sizeof head, "%.*s", (int)point, buf);
    char *sa = text_sanitize_str(head, u->mode_text, NULL, NULL);
    char *sb = text_sanitize_str(buf + point, u->mode_text, NULL, NULL);
    char all[2200];
    snprintf(all, sizeof all, "%s%s", sa ? sa : "", sb ? sb : "");
    int pt = (int)strlen(sa ? sa : "");
    free(sa);
    free(sb);
    const char *hint = u->line_purpose == LINE_COMMAND ? "Tab complete · Enter run · Esc cancel"
                       : u->line_purpose == LINE_CAP_PRICE || u->line_purpose == LINE_CAP_QTY
                           ? "empty: no limit · Esc cancel"
                           : "Enter send · Esc cancel";
    widget_prompt(w, y, prompt_text, all, pt, hint);
}
