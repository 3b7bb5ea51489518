/* dialog.c: a centred box (confirmations, help) and the prompt line. */
#include "widgets/widgets.h"

#include <string.h>

/* Draws one border row: left corner, rule, right corner, with an optional title. */
static void border_row(WINDOW *w, int y, int x, int width, widget_glyph l, widget_glyph r,
                       const char *title)
{
    unsigned long a = theme_attr(THEME_DIALOG);
    widget_text(w, y, x, 1, widget_glyph_str(l), a);
    widget_hline(w, y, x + 1, width - 2, a);
    widget_text(w, y, x + width - 1, 1, widget_glyph_str(r), a);
    if (title && width > 6) {
        widget_text(w, y, x + 2, 1, " ", a);
        int tw = widget_text(w, y, x + 3, width - 6, title, theme_attr(THEME_DIALOG_TITLE));
        widget_text(w, y, x + 3 + tw, 1, " ", a);
    }
}

/* True when the cell at (y, x) holds nothing but a blank. */
static bool cell_blank(WINDOW *w, int y, int x)
{
    cchar_t cc;
    wchar_t wc[CCHARW_MAX + 1] = {0};
    attr_t at;
    short pair;
    if (mvwin_wch(w, y, x, &cc) == ERR || getcchar(&cc, wc, &at, &pair, NULL) == ERR)
        return true;
    return wc[0] == L' ' || wc[0] == 0;
}

/* Clears row y outside the box [left, left + width): a one-cell margin on each side,
 * and then the rest of whatever word (or wide character) the box's edge cut, so that no
 * fragment of the text underneath ("┘00", "│54") is left glued to the box. */
static void clear_beside(WINDOW *w, int y, int left, int width)
{
    int cols = getmaxx(w);
    unsigned long a = theme_attr(THEME_NORMAL);
    int x = left - 1;
    if (x >= 0) {
        bool cut = !cell_blank(w, y, x);
        widget_fill(w, y, x, 1, a);
        for (x--; cut && x >= 0 && !cell_blank(w, y, x); x--)
            widget_fill(w, y, x, 1, a);
    }
    x = left + width;
    if (x < cols) {
        bool cut = !cell_blank(w, y, x);
        widget_fill(w, y, x, 1, a);
        for (x++; cut && x < cols && !cell_blank(w, y, x); x++)
            widget_fill(w, y, x, 1, a);
    }
}

/* Draws a centred box; see widgets.h. */
int widget_dialog(WINDOW *w, const char *title, const char *const *lines, int n, int max_width)
{
    int rows = getmaxy(w), cols = getmaxx(w);
    int inner = title ? text_width(title) + 4 : 10;
    for (int i = 0; i < n; i++) {
        int lw = text_width(lines[i]);
        if (lw > inner)
            inner = lw;
    }
    int width = inner + 4;
    if (width > max_width)
        width = max_width;
    if (width > cols)
        width = cols;
    inner = width - 4 > 3 ? width - 4 : 3;
    /* lines wider than the box wrap, continued two columns in */
    int body = 0;
    for (int i = 0; i < n; i++)
        body += widget_wrap_count(lines[i], inner, inner - 2);
    int height = body + 2;
    if (height > rows)
        height = rows;
    int top = (rows - height) / 2, left = (cols - width) / 2;
    unsigned long a = theme_attr(THEME_DIALOG);
    for (int y = top; y < top + height; y++) {
        clear_beside(w, y, left, width);
        widget_fill(w, y, left, width, a);
    }
    border_row(w, top, left, width, GLYPH_CORNER_TL, GLYPH_CORNER_TR, title);
    int y = top + 1;
    for (int i = 0; i < n && y < top + height - 1; i++) {
        size_t off = 0, len = strlen(lines[i]);
        do {
            size_t next;
            bool first = off == 0;
            int room = first ? inner : inner - 2;
            size_t take = widget_wrap(lines[i] + off, room, &next);
            char part[1024];
            if (take >= sizeof part)
                take = sizeof part - 1;
            memcpy(part, lines[i] + off, take);
            part[take] = '\0';
            widget_text(w, y, left, 1, widget_glyph_str(GLYPH_VLINE), a);
            widget_text(w, y, left + (first ? 2 : 4), room, part, a);
            widget_text(w, y, left + width - 1, 1, widget_glyph_str(GLYPH_VLINE), a);
            off += next ? next : len - off;
            y++;
        } while (off < len && y < top + height - 1);
    }
    border_row(w, top + height - 1, left, width, GLYPH_CORNER_BL, GLYPH_CORNER_BR, NULL);
    return top;
}

/* Draws the prompt line; see widgets.h. The buffer is what the operator typed: it is
 * sanitised by the caller (it may hold anything pasted). */
void widget_prompt(WINDOW *w, int y, const char *prompt, const char *buffer, int point,
                   const char *hint)
{
    int cols = getmaxx(w);
    unsigned long a = theme_attr(THEME_STATUS);
    widget_fill(w, y, 0, cols, a);
    int x = 1 + widget_text(w, y, 1, cols * 2 / 3, prompt, theme_attr(THEME_KEYS) | A_BOLD);
    int hw = hint ? text_width(hint) : 0;
    if (hw > cols / 3)
        hw = 0;
    int room = cols - x - (hw ? hw + 2 : 1);
    if (room < 4)
        room = 4;
    /* width of the text before the cursor decides the scroll */
    char before[1024];
    size_t pl = (size_t)point < sizeof before ? (size_t)point : sizeof before - 1;
    memcpy(before, buffer, pl);
    before[pl] = '\0';
    int bw = text_width(before);
    const char *shown = buffer;
    int skip = bw - (room - 1);
    while (skip > 0 && *shown) { /* drop whole characters from the left */
        const char *next = shown + 1;
        while ((*next & 0xC0) == 0x80)
            next++;
        char one[8] = {0};
        memcpy(one, shown, (size_t)(next - shown) < 7 ? (size_t)(next - shown) : 7);
        skip -= text_width(one);
        bw -= text_width(one);
        shown = next;
    }
    widget_text(w, y, x, room, shown, a);
    if (hw)
        widget_text(w, y, cols - hw - 1, hw, hint, theme_attr(THEME_KEYS));
    wmove(w, y, x + (bw < room ? bw : room - 1));
}
