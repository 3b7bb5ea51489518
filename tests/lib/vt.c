/* vt.c: the pty + libvterm harness of vt.h. */
#include "tests/lib/vt.h"
#include "tests/lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vterm.h>

struct vt {
    pid_t pid;
    int master;
    int rows, cols;
    VTerm *term;
    VTermScreen *screen;
    unsigned char *out;
    size_t out_len, out_cap;
    int exit_status; /* -1 until reaped */
};

extern char **environ;

/* Sets up the child's environment: the current one plus env_extra. */
static void child_env(const char *const *env_extra)
{
    if (!getenv("TERM") || !env_extra)
        setenv("TERM", "xterm-256color", 1);
    setenv("TERM", "xterm-256color", 0);
    for (size_t i = 0; env_extra && env_extra[i]; i++) {
        const char *eq = strchr(env_extra[i], '=');
        if (!eq)
            continue;
        char name[128];
        size_t n = (size_t)(eq - env_extra[i]);
        if (n >= sizeof name)
            continue;
        memcpy(name, env_extra[i], n);
        name[n] = '\0';
        if (eq[1])
            setenv(name, eq + 1, 1);
        else
            unsetenv(name);
    }
    /* the harness is the terminal: no inherited size hints */
    unsetenv("LINES");
    unsetenv("COLUMNS");
}

/* Starts the program; see vt.h. */
vt *vt_spawn(int rows, int cols, const char *const *argv, const char *const *env_extra)
{
    vt *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rows = rows;
    t->cols = cols;
    t->exit_status = -1;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    pid_t pid = forkpty(&t->master, NULL, NULL, &ws);
    if (pid < 0) {
        free(t);
        return NULL;
    }
    if (pid == 0) {
        setenv("TERM", "xterm-256color", 1);
        child_env(env_extra);
        char *args[64];
        size_t n = 0;
        for (; argv[n] && n < 63; n++)
            args[n] = strdup(argv[n]);
        args[n] = NULL;
        execve(args[0], args, environ);
        _exit(127);
    }
    t->pid = pid;
    fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) | O_NONBLOCK);
    fcntl(t->master, F_SETFD, FD_CLOEXEC);
    t->term = vterm_new(rows, cols);
    vterm_set_utf8(t->term, 1);
    t->screen = vterm_obtain_screen(t->term);
    vterm_screen_reset(t->screen, 1);
    return t;
}

/* Appends to the capture. */
static void capture(vt *t, const unsigned char *b, size_t n)
{
    if (t->out_len + n > t->out_cap) {
        size_t nc = t->out_cap ? t->out_cap * 2 : 65536;
        while (nc < t->out_len + n)
            nc *= 2;
        unsigned char *o = realloc(t->out, nc);
        if (!o)
            return;
        t->out = o;
        t->out_cap = nc;
    }
    memcpy(t->out + t->out_len, b, n);
    t->out_len += n;
}

/* Writes libvterm's answers (terminal replies) back to the program. */
static void flush_replies(vt *t)
{
    char buf[256];
    size_t n;
    while ((n = vterm_output_read(t->term, buf, sizeof buf)) > 0) {
        ssize_t w = write(t->master, buf, n);
        (void)w;
    }
}

/* Reads output; see vt.h. */
long vt_pump(vt *t, int timeout_ms)
{
    if (t->master < 0)
        return -1;
    long total = 0;
    int64_t deadline = tproc_now_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - tproc_now_ms());
        if (left < 0)
            left = 0;
        struct pollfd p = {.fd = t->master, .events = POLLIN};
        int r = poll(&p, 1, total ? 0 : left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        unsigned char buf[65536];
        ssize_t n = read(t->master, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return total ? total : -1; /* EIO: the program closed the terminal */
        capture(t, buf, (size_t)n);
        vterm_input_write(t->term, (const char *)buf, (size_t)n);
        flush_replies(t);
        total += n;
    }
    return total;
}

/* Writes keys. */
int vt_sendn(vt *t, const char *bytes, size_t n)
{
    size_t off = 0;
    int64_t deadline = tproc_now_ms() + 5000;
    while (off < n && tproc_now_ms() < deadline) {
        ssize_t w = write(t->master, bytes + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        else
            vt_pump(t, 5);
    }
    return off == n ? 0 : -1;
}

int vt_send(vt *t, const char *bytes)
{
    return vt_sendn(t, bytes, strlen(bytes));
}

/* Encodes a code point as UTF-8; returns the bytes written. */
static size_t put_utf8(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* One row as UTF-8. */
void vt_row(vt *t, int r, char *out, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return;
    for (int c = 0; c < t->cols; c++) {
        VTermScreenCell cell;
        memset(&cell, 0, sizeof cell);
        VTermPos pos = {.row = r, .col = c};
        if (!vterm_screen_get_cell(t->screen, pos, &cell))
            break;
        if (cell.width == 0) /* the right half of a wide character */
            continue;
        for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && (i == 0 || cell.chars[i]); i++) {
            uint32_t ch = cell.chars[i];
            if (i == 0 && ch == 0)
                ch = ' ';
            char b[4];
            size_t n = put_utf8(ch, b);
            if (used + n + 1 >= size)
                goto done;
            memcpy(out + used, b, n);
            used += n;
        }
    }
done:
    out[used] = '\0';
}

/* Parses the digits that end just before needle (and any spaces) on row r. */
long vt_number_before(vt *t, int r, const char *needle)
{
    char row[4096];
    vt_row(t, r, row, sizeof row);
    const char *p = strstr(row, needle);
    if (!p)
        return -1;
    while (p > row && p[-1] == ' ')
        p--;
    const char *e = p;
    while (p > row && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return p < e ? atol(p) : -1;
}
/* The whole screen as text. */
char *vt_screen(vt *t)
{
    size_t size = (size_t)t->rows * ((size_t)t->cols * 4 * VTERM_MAX_CHARS_PER_CELL + 2) + 1;
    char *s = malloc(size);
    if (!s)
        return NULL;
    size_t used = 0;
    for (int r = 0; r < t->rows && used + 2 < size; r++) {
        vt_row(t, r, s + used, size - used - 1);
        used += strlen(s + used);
        s[used++] = '\n';
    }
    s[used] = '\0';
    return s;
}

/* True when the screen holds needle. */
bool vt_contains(vt *t, const char *needle)
{
    char *s = vt_screen(t);
    bool found = s && strstr(s, needle);
    free(s);
    return found;
}

/* The row holding needle, or -1. */
int vt_find_row(vt *t, const char *needle)
{
    char row[4096];
    for (int r = 0; r < t->rows; r++) {
        vt_row(t, r, row, sizeof row);
        if (strstr(row, needle))
            return r;
    }
    return -1;
}

/* Waits for a predicate. */
bool vt_wait(vt *t, bool (*pred)(vt *t, void *ud), void *ud, int timeout_ms)
{
    int64_t deadline = tproc_now_ms() + timeout_ms;
    for (;;) {
        if (pred(t, ud))
            return true;
        int left = (int)(deadline - tproc_now_ms());
        if (left <= 0)
            return false;
        if (vt_pump(t, left < 50 ? left : 50) < 0)
            return pred(t, ud);
    }
}

/* vt_wait predicate for text. */
static bool has_text(vt *t, void *ud)
{
    return vt_contains(t, ud);
}

bool vt_wait_text(vt *t, const char *needle, int timeout_ms)
{
    return vt_wait(t, has_text, (void *)(uintptr_t)needle, timeout_ms);
}

/* Waits for quiet. */
bool vt_wait_quiet(vt *t, int quiet_ms, int timeout_ms)
{
    int64_t deadline = tproc_now_ms() + timeout_ms;
    while (tproc_now_ms() < deadline) {
        long n = vt_pump(t, quiet_ms);
        if (n == 0)
            return true;
        if (n < 0)
            return false;
    }
    return false;
}

/* Screen size. */
void vt_size(vt *t, int *rows, int *cols)
{
    *rows = t->rows;
    *cols = t->cols;
}

/* Resizes. */
void vt_resize(vt *t, int rows, int cols)
{
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    t->rows = rows;
    t->cols = cols;
    vterm_set_size(t->term, rows, cols);
    ioctl(t->master, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
}

/* The captured bytes. */
const unsigned char *vt_output(vt *t, size_t *len)
{
    *len = t->out_len;
    return t->out;
}

void vt_clear_output(vt *t)
{
    t->out_len = 0;
}

/* Checks a stream; see vt.h. */
const char *vt_check_stream(const unsigned char *b, size_t len, bool allow_shift)
{
    static char why[160];
    for (size_t i = 0; i < len;) {
        unsigned char c = b[i];
        if (c == 0x1b) {
            if (i + 1 >= len) {
                snprintf(why, sizeof why, "ESC at the very end (offset %zu)", i);
                return why;
            }
            unsigned char k = b[i + 1];
            if (k == '[') {
                size_t j = i + 2;
                while (j < len && b[j] >= 0x30 && b[j] <= 0x3f)
                    j++;
                while (j < len && b[j] >= 0x20 && b[j] <= 0x2f)
                    j++;
                if (j >= len || b[j] < 0x40 || b[j] > 0x7e) {
                    snprintf(why, sizeof why, "malformed CSI at offset %zu", i);
                    return why;
                }
                i = j + 1;
                continue;
            }
            if (k == '(' || k == ')') {
                if (i + 2 >= len || !strchr("0B", b[i + 2])) {
                    snprintf(why, sizeof why, "odd charset designation at offset %zu", i);
                    return why;
                }
                i += 3;
                continue;
            }
            if (strchr("78=>M", k)) {
                i += 2;
                continue;
            }
            snprintf(why, sizeof why, "ESC %c (0x%02x) at offset %zu is not one curses uses",
                     k >= 0x20 && k < 0x7f ? k : '?', k, i);
            return why;
        }
        if (allow_shift && (c == 0x0e || c == 0x0f)) {
            i++;
            continue;
        }
        if (c < 0x20 && c != '\r' && c != '\n' && c != '\b' && c != '\t') {
            snprintf(why, sizeof why, "control byte 0x%02x at offset %zu", c, i);
            return why;
        }
        if (c == 0x7f) {
            snprintf(why, sizeof why, "DEL at offset %zu", i);
            return why;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        /* UTF-8 */
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2, cp = c & 0x1Fu;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, cp = c & 0x0Fu;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, cp = c & 0x07u;
        else {
            snprintf(why, sizeof why, "byte 0x%02x at offset %zu is not UTF-8", c, i);
            return why;
        }
        if (i + n > len) {
            snprintf(why, sizeof why, "cut UTF-8 sequence at offset %zu", i);
            return why;
        }
        for (size_t k = 1; k < n; k++) {
            if ((b[i + k] & 0xC0) != 0x80) {
                snprintf(why, sizeof why, "invalid UTF-8 at offset %zu", i);
                return why;
            }
            cp = (cp << 6) | (b[i + k] & 0x3Fu);
        }
        if (cp >= 0x80 && cp <= 0x9f) {
            snprintf(why, sizeof why, "C1 control U+%04X at offset %zu", (unsigned)cp, i);
            return why;
        }
        i += n;
    }
    return NULL;
}

/* Sends a signal. */
void vt_kill(vt *t, int sig)
{
    if (t->pid > 0 && t->exit_status < 0)
        kill(t->pid, sig);
}

/* Closes the master side. */
void vt_hangup(vt *t)
{
    if (t->master >= 0)
        close(t->master);
    t->master = -1;
}

/* Waits for exit. */
int vt_wait_exit(vt *t, int timeout_ms)
{
    if (t->exit_status >= 0)
        return t->exit_status;
    int64_t deadline = tproc_now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(t->pid, &st, WNOHANG);
        if (r == t->pid) {
            t->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            vt_pump(t, 0);
            return t->exit_status;
        }
        if (tproc_now_ms() >= deadline)
            return -1;
        if (t->master >= 0)
            vt_pump(t, 20);
        else
            poll(NULL, 0, 20);
    }
}

pid_t vt_pid(vt *t)
{
    return t->pid;
}

/* Frees everything. */
void vt_free(vt *t)
{
    if (!t)
        return;
    if (t->exit_status < 0 && t->pid > 0) {
        kill(t->pid, SIGTERM);
        if (vt_wait_exit(t, 3000) < 0) {
            kill(t->pid, SIGKILL);
            waitpid(t->pid, NULL, 0);
        }
    }
    if (t->master >= 0)
        close(t->master);
    vterm_free(t->term);
    free(t->out);
    free(t);
}

/* Prints the screen. */
void vt_dump(vt *t, const char *label)
{
    char *s = vt_screen(t);
    fprintf(stderr, "---- %s (%dx%d) ----\n%s----\n", label, t->cols, t->rows, s ? s : "");
    free(s);
}
