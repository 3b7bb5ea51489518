/* draw.c: safe text drawing, fills, rules, glyphs, bars, sparklines, the status line. */
#include "widgets/widgets.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static text_mode mode = TEXT_UTF8;

static const char *const glyphs_utf8[GLYPH_COUNT] = {
    [GLYPH_HLINE] = "─",     [GLYPH_VLINE] = "│",     [GLYPH_POINTER] = "▶",
    [GLYPH_DOT] = "●",       [GLYPH_MIDDOT] = "·",    [GLYPH_CHECK] = "✓",
    [GLYPH_CROSS] = "✗",     [GLYPH_WARN] = "⚠",      [GLYPH_ARROW] = "→",
    [GLYPH_LARROW] = "←",    [GLYPH_TIMES] = "×",     [GLYPH_ELLIPSIS] = "…",
    [GLYPH_BAR_FULL] = "█",  [GLYPH_BAR_EMPTY] = "░", [GLYPH_CORNER_TL] = "┌",
    [GLYPH_CORNER_TR] = "┐", [GLYPH_CORNER_BL] = "└", [GLYPH_CORNER_BR] = "┘",
};
static const char *const glyphs_ascii[GLYPH_COUNT] = {
    [GLYPH_HLINE] = "-",     [GLYPH_VLINE] = "|",     [GLYPH_POINTER] = ">",
    [GLYPH_DOT] = "*",       [GLYPH_MIDDOT] = ".",    [GLYPH_CHECK] = "ok",
    [GLYPH_CROSS] = "x",     [GLYPH_WARN] = "!",      [GLYPH_ARROW] = "->",
    [GLYPH_LARROW] = "<-",   [GLYPH_TIMES] = "x",     [GLYPH_ELLIPSIS] = "~",
    [GLYPH_BAR_FULL] = "#",  [GLYPH_BAR_EMPTY] = ".", [GLYPH_CORNER_TL] = "+",
    [GLYPH_CORNER_TR] = "+", [GLYPH_CORNER_BL] = "+", [GLYPH_CORNER_BR] = "+",
};

/* Sets the drawing mode. */
void widget_set_mode(text_mode m)
{
    mode = m;
}

/* Returns the drawing mode. */
text_mode widget_mode(void)
{
    return mode;
}

/* Returns a glyph's text in the current mode (static). */
const char *widget_glyph_str(widget_glyph g)
{
    if (g < 0 || g >= GLYPH_COUNT)
        return "?";
    return mode == TEXT_UTF8 ? glyphs_utf8[g] : glyphs_ascii[g];
}

/* Draws bytes [s, s+n) that hold no control byte. */
static void put_run(WINDOW *w, const char *s, size_t n, unsigned long attr)
{
    if (n == 0)
        return;
    wattrset(w, (int)attr);
    waddnstr(w, s, (int)n);
}

/* Length of the valid UTF-8 sequence at p (2..4) that is not a C1 control, or 0 when
 * the bytes there are not one (or the mode is ASCII, where only ASCII is drawn). */
static int utf8_valid_len(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    if (mode != TEXT_UTF8)
        return 0;
    int len;
    unsigned cp;
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        len = 2;
        cp = u[0] & 0x1Fu;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        len = 3;
        cp = u[0] & 0x0Fu;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        len = 4;
        cp = u[0] & 0x07u;
    } else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (u[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
        return 0;
    return len;
}

/* True for bytes that continue a number across a cut: digits and the separators that
 * sit between digits ("13,333", "$20,000.00", "1:44"). */
static bool num_byte(char c)
{
    return (c >= '0' && c <= '9') || c == ',' || c == '.' || c == ':';
}

/* Where a cut of safe after plen bytes must move so that it does not fall inside a
 * number: before the number and the currency symbol or sign stuck to its front. Returns
 * plen when the cut is not inside a number. */
static size_t cut_before_number(const char *safe, size_t plen)
{
    const char *rest = safe + plen;
    bool digit_next = (rest[0] >= '0' && rest[0] <= '9') ||
                      ((rest[0] == ',' || rest[0] == '.' || rest[0] == '%' || rest[0] == ':') &&
                       plen > 0 && safe[plen - 1] >= '0' && safe[plen - 1] <= '9');
    if (plen == 0 || !digit_next)
        return plen;
    unsigned char last = (unsigned char)safe[plen - 1];
    bool symbol = last >= 0x80 || (last > ' ' && last < 0x7f && !(last >= 'a' && last <= 'z') &&
                                   !(last >= 'A' && last <= 'Z'));
    if (!symbol)
        return plen; /* "A|6000": a name that holds digits, not an amount */
    size_t j = plen;
    while (j > 0 && num_byte(safe[j - 1]))
        j--;
    /* one symbol or sign before it: "$", "-", or a multi-byte one ("€", "£") */
    if (j > 0 && (unsigned char)safe[j - 1] >= 0x80) {
        while (j > 0 && ((unsigned char)safe[j - 1] & 0xC0) == 0x80)
            j--;
        if (j > 0 && (unsigned char)safe[j - 1] >= 0xC0)
            j--;
    } else if (j > 0 && safe[j - 1] > ' ' && safe[j - 1] < 0x7f && safe[j - 1] != '(' &&
               !((safe[j - 1] | 0x20) >= 'a' && (safe[j - 1] | 0x20) <= 'z') &&
               !(safe[j - 1] >= '0' && safe[j - 1] <= '9')) {
        j--;
    }
    return j;
}

/* Cuts sanitised text to cols columns into buf like text_truncate, moving the cut out of
 * any number it would fall inside (the number gives way to the ellipsis whole). */
static int fit_text(const char *safe, int cols, char *buf, size_t size)
{
    int width = text_truncate(safe, cols, mode, buf, size);
    const char *el = mode == TEXT_UTF8 ? "\xE2\x80\xA6" : "~";
    size_t len = strlen(buf), ell = strlen(el);
    if (len < ell || strcmp(buf + len - ell, el) != 0)
        return width;
    size_t plen = len - ell;
    if (strncmp(safe, buf, plen) != 0 || safe[plen] == '\0')
        return width;
    size_t j = cut_before_number(safe, plen);
    if (j == plen)
        return width;
    memcpy(buf + j, el, ell + 1);
    return text_width(buf);
}

/* Draws sanitised text; see widgets.h. */
int widget_text(WINDOW *w, int y, int x, int cols, const char *safe, unsigned long attr)
{
    if (cols <= 0 || !safe)
        return 0;
    char buf[2048];
    int width = fit_text(safe, cols, buf, sizeof buf);
    if (wmove(w, y, x) == ERR)
        return 0;
    unsigned long cur = attr, mark = theme_attr(THEME_MARK);
    const char *run = buf;
    const char *p = buf;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x7f)
            continue;
        if (c >= 0x80) {
            int len = utf8_valid_len(p);
            if (len > 0) {
                p += len - 1;
                continue;
            }
            /* a cut or broken sequence (text cut by a caller's buffer): never emit it */
            put_run(w, run, (size_t)(p - run), cur);
            put_run(w, "?", 1, mark);
            run = p + 1;
            continue;
        }
        put_run(w, run, (size_t)(p - run), cur);
        if (c == (unsigned char)TEXT_MARK_ON)
            cur = mark;
        else if (c == (unsigned char)TEXT_MARK_OFF)
            cur = attr;
        else
            put_run(w, "?", 1, mark); /* cannot happen with sanitised text; never emit it */
        run = p + 1;
    }
    put_run(w, run, (size_t)(p - run), cur);
    wattrset(w, (int)attr);
    return width;
}

/* Draws sanitised text right-aligned in cols columns. */
int widget_text_right(WINDOW *w, int y, int x, int cols, const char *safe, unsigned long attr)
{
    if (cols <= 0 || !safe)
        return 0;
    int tw = text_width(safe);
    if (tw >= cols)
        return widget_text(w, y, x, cols, safe, attr);
    widget_fill(w, y, x, cols - tw, attr);
    return (cols - tw) + widget_text(w, y, x + cols - tw, tw, safe, attr);
}

/* Formats and draws the program's own text. */
int widget_printf(WINDOW *w, int y, int x, int cols, unsigned long attr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return widget_text(w, y, x, cols, buf, attr);
}

/* Fills cols columns with spaces. */
void widget_fill(WINDOW *w, int y, int x, int cols, unsigned long attr)
{
    if (cols <= 0 || wmove(w, y, x) == ERR)
        return;
    wattrset(w, (int)attr);
    static const char spaces[] = "                                                                ";
    while (cols > 0) {
        int n = cols < 64 ? cols : 64;
        waddnstr(w, spaces, n);
        cols -= n;
    }
}

/* Repeats one glyph cols times from (y, x). */
static void repeat_glyph(WINDOW *w, int y, int x, int cols, widget_glyph g, unsigned long attr)
{
    if (cols <= 0 || wmove(w, y, x) == ERR)
        return;
    wattrset(w, (int)attr);
    const char *s = widget_glyph_str(g);
    for (int i = 0; i < cols; i++)
        waddstr(w, s);
}

/* A horizontal rule. */
void widget_hline(WINDOW *w, int y, int x, int cols, unsigned long attr)
{
    repeat_glyph(w, y, x, cols, GLYPH_HLINE, attr);
}

/* How much of the bar is filled, in eighths; see widgets.h. */
int widget_bar_eighths(int cols, int64_t part, int64_t whole)
{
    if (cols <= 0 || whole <= 0 || part <= 0)
        return 0;
    if (part >= whole)
        return cols * 8;
    int64_t units = mode == TEXT_UTF8 ? (int64_t)cols * 8 : cols; /* ASCII: whole cells */
    int64_t e =
        part > INT64_MAX / (2 * units) ? units - 1 : (part * units * 2 + whole) / (2 * whole);
    if (e >= units)
        e = units - 1; /* short of the whole: never a full bar */
    return (int)(mode == TEXT_UTF8 ? e : e * 8);
}

/* The partial cells, one to seven eighths (UTF-8 only). */
static const char *const partial_blocks[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};

/* The bar as text; see widgets.h. */
const char *widget_bar_str(int cols, int64_t part, int64_t whole, char *out, size_t size)
{
    int e = widget_bar_eighths(cols, part, whole);
    size_t used = 0;
    if (size == 0)
        return out;
    out[0] = '\0';
    for (int i = 0; i < cols; i++) {
        const char *g = i < e / 8                 ? widget_glyph_str(GLYPH_BAR_FULL)
                        : i == e / 8 && e % 8 > 0 ? partial_blocks[e % 8]
                                                  : widget_glyph_str(GLYPH_BAR_EMPTY);
        size_t l = strlen(g);
        if (used + l + 1 > size)
            break;
        memcpy(out + used, g, l + 1);
        used += l;
    }
    return out;
}

/* A bar showing part of whole: the filled cells (and a partial one) in THEME_BAR_FILL,
 * the rest in THEME_BAR_EMPTY. */
void widget_bar(WINDOW *w, int y, int x, int cols, int64_t part, int64_t whole)
{
    if (cols <= 0)
        return;
    int e = widget_bar_eighths(cols, part, whole);
    int full = e / 8, partial = e % 8 ? 1 : 0;
    repeat_glyph(w, y, x, full, GLYPH_BAR_FULL, theme_attr(THEME_BAR_FILL));
    if (partial)
        widget_text(w, y, x + full, 1, partial_blocks[e % 8], theme_attr(THEME_BAR_FILL));
    repeat_glyph(w, y, x + full + partial, cols - full - partial, GLYPH_BAR_EMPTY,
                 theme_attr(THEME_BAR_EMPTY));
}

/* The length in bytes of the character at s (1 for a broken sequence), never past
 * the end of the string. */
static size_t char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if (s[i] == '\0')
            return i;
    return n;
}

/* The unit of sanitised text at s that is never split: one character, or a whole
 * placeholder with its marks. Returns its length in bytes; *w is its width. */
static size_t text_unit(const char *s, int *w)
{
    char one[8];
    if (*s == TEXT_MARK_ON) {
        const char *end = strchr(s, TEXT_MARK_OFF);
        size_t n = end ? (size_t)(end - s) + 1 : strlen(s);
        *w = 0;
        for (size_t i = 1; i < n;) {
            int cw;
            i += text_unit(s + i, &cw);
            *w += cw;
        }
        return n;
    }
    if (*s == TEXT_MARK_OFF) {
        *w = 0;
        return 1;
    }
    size_t n = char_len(s);
    memcpy(one, s, n);
    one[n] = '\0';
    *w = text_width(one);
    return n;
}

/* Word wrap; see widgets.h. */
size_t widget_wrap(const char *safe, int cols, size_t *next)
{
    size_t n = strlen(safe), i = 0, brk = 0;
    bool have_brk = false, word = false;
    int w = 0;
    if (cols < 1)
        cols = 1;
    while (i < n) {
        if (safe[i] == ' ' && word) {
            brk = i; /* the line may end before this space */
            have_brk = true;
        } else if (safe[i] != ' ') {
            word = true;
        }
        int uw;
        size_t ul = text_unit(safe + i, &uw);
        if (w + uw > cols) {
            size_t end = safe[i] == ' ' ? i : have_brk ? brk : i > 0 ? i : ul;
            size_t nx = end;
            while (nx < n && safe[nx] == ' ')
                nx++;
            while (end > 0 && safe[end - 1] == ' ')
                end--;
            *next = nx;
            return end;
        }
        w += uw;
        i += ul;
    }
    *next = n;
    while (n > 0 && safe[n - 1] == ' ')
        n--;
    return n;
}

/* Counts wrapped lines; see widgets.h. */
int widget_wrap_count(const char *safe, int first_cols, int cols)
{
    size_t off = 0, len = strlen(safe);
    int lines = 0;
    do {
        size_t next;
        widget_wrap(safe + off, lines ? cols : first_cols, &next);
        off += next ? next : len - off; /* always progresses */
        lines++;
    } while (off < len);
    return lines;
}

/* Renders a sparkline; see widgets.h. */
/* The glyph of a sparkline's level 0..7 (-1: a blank), as text. */
static const char *spark_glyph(int level, char one[2])
{
    static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[8] = {'_', '.', ',', '-', '~', '=', '*', '^'};
    one[0] = level < 0 ? ' ' : ascii[level];
    one[1] = '\0';
    return level >= 0 && mode == TEXT_UTF8 ? blocks[level] : one;
}

int widget_sparkline(const int64_t *values, size_t n, int cols, char *out, size_t size)
{
    if (size == 0)
        return 0;
    out[0] = '\0';
    if (n == 0 || cols <= 0)
        return 0;
    int pts = (size_t)cols < n ? cols : (int)n;
    int64_t lo = values[0], hi = values[0];
    for (size_t i = 1; i < n; i++) {
        if (values[i] < lo)
            lo = values[i];
        if (values[i] > hi)
            hi = values[i];
    }
    size_t used = 0;
    int drawn = 0;
    for (int i = 0; i < pts; i++) {
        size_t idx = pts == 1 ? n - 1 : (size_t)((double)i * (double)(n - 1) / (pts - 1) + 0.5);
        int level = hi == lo ? 3 : (int)((values[idx] - lo) * 7 / (hi - lo));
        char one[2];
        const char *s = spark_glyph(level, one);
        size_t l = strlen(s);
        if (used + l + 1 > size)
            break;
        memcpy(out + used, s, l);
        used += l;
        drawn++;
    }
    out[used] = '\0';
    return drawn;
}

int widget_sparkline_sum(const int64_t *amounts, size_t n, int cols, char *out, size_t size)
{
    if (size == 0)
        return 0;
    out[0] = '\0';
    int pts = n == 0 || cols <= 0 ? 0 : (size_t)cols < n ? cols : (int)n;
    int64_t sums[256] = {0}, hi = 0;
    if (pts > 256)
        pts = 256;
    for (int i = 0; i < pts; i++) {
        for (size_t k = (size_t)i * n / (size_t)pts; k < (size_t)(i + 1) * n / (size_t)pts; k++)
            sums[i] += amounts[k] > 0 ? amounts[k] : 0;
        if (sums[i] > hi)
            hi = sums[i];
    }
    size_t used = 0;
    int drawn = 0;
    for (int i = 0; i < pts; i++) {
        /* (sums[i] * 8 - 1) / hi without overflow: the highest span is the full block */
        int level = sums[i] <= 0 ? -1 : (int)((double)sums[i] * 8 / (double)hi - 1e-9);
        char one[2];
        const char *s = spark_glyph(level > 7 ? 7 : level, one);
        size_t l = strlen(s);
        if (used + l + 1 > size)
            break;
        memcpy(out + used, s, l);
        used += l;
        drawn++;
    }
    out[used] = '\0';
    return drawn;
}

/* The status line: left text and a right-hand note. */
void widget_status(WINDOW *w, int y, const char *text, unsigned long attr, const char *right)
{
    int cols = getmaxx(w);
    unsigned long base = theme_attr(THEME_STATUS);
    widget_fill(w, y, 0, cols, base);
    int rw = right ? text_width(right) : 0;
    if (rw > cols / 2)
        rw = cols / 2;
    int left = cols - 1 - (rw ? rw + 1 : 0);
    if (text)
        widget_text(w, y, 1, left, text, attr);
    if (rw)
        widget_text_right(w, y, cols - rw - 1, rw, right, base);
}
