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
    int height = n + 2;
    if (height > rows)
        height = rows;
    int top = (rows - height) / 2, left = (cols - width) / 2;
    unsigned long a = theme_attr(THEME_DIALOG);
    border_row(w, top, left, width, GLYPH_CORNER_TL, GLYPH_CORNER_TR, title);
    for (int i = 0; i < height - 2; i++) {
        int y = top + 1 + i;
        widget_fill(w, y, left, width, a);
        widget_text(w, y, left, 1, widget_glyph_str(GLYPH_VLINE), a);
        widget_text(w, y, left + 2, width - 4, lines[i], a);
        widget_text(w, y, left + width - 1, 1, widget_glyph_str(GLYPH_VLINE), a);
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
