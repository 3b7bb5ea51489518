/* table.c: the virtualised table: only the visible rows are asked for and drawn. */
#include "widgets/widgets.h"

#include <string.h>

/* Computes column widths; see widgets.h. */
int widget_table_layout(const widget_column *cols, int ncols, int width, int *out)
{
    if (ncols > WIDGET_TABLE_MAX_COLS)
        ncols = WIDGET_TABLE_MAX_COLS;
    bool shown[WIDGET_TABLE_MAX_COLS];
    for (int i = 0; i < ncols; i++)
        shown[i] = true;
    for (;;) {
        int need = 0, n = 0;
        for (int i = 0; i < ncols; i++)
            if (shown[i]) {
                need += cols[i].width + (n ? 1 : 0);
                n++;
            }
        if (need <= width)
            break;
        int victim = -1;
        for (int i = 0; i < ncols; i++)
            if (shown[i] && cols[i].drop > 0 && (victim < 0 || cols[i].drop > cols[victim].drop))
                victim = i;
        if (victim < 0)
            break; /* nothing more to drop: the flex column shrinks below */
        shown[victim] = false;
    }
    int used = 0, n = 0, flex = -1;
    for (int i = 0; i < ncols; i++) {
        out[i] = shown[i] ? cols[i].width : 0;
        if (shown[i]) {
            used += cols[i].width + (n ? 1 : 0);
            n++;
            if (cols[i].flex && flex < 0)
                flex = i;
        }
    }
    int extra = width - used;
    if (flex >= 0 && extra > 0 && cols[flex].max > 0 && out[flex] + extra > cols[flex].max) {
        int last = -1;
        for (int i = 0; i < ncols; i++)
            if (out[i])
                last = i;
        int grow = cols[flex].max > out[flex] ? cols[flex].max - out[flex] : 0;
        out[flex] += grow;
        if (last >= 0)
            out[last] += extra - grow; /* wide screens: the last column gets the rest */
    } else if (flex >= 0) {
        out[flex] += extra; /* grows, or shrinks when nothing could be dropped */
    }
    if (flex >= 0 && out[flex] < 1)
        out[flex] = 1;
    return n;
}

/* Keeps the selection valid and visible. */
void widget_table_clamp(widget_table *t)
{
    if (t->nrows == 0) {
        t->sel = t->top = 0;
        return;
    }
    if (t->sel >= t->nrows)
        t->sel = t->nrows - 1;
    size_t page = t->page > 0 ? (size_t)t->page : 1;
    if (t->sel < t->top)
        t->top = t->sel;
    if (t->sel >= t->top + page)
        t->top = t->sel - page + 1;
    if (t->top + page > t->nrows)
        t->top = t->nrows > page ? t->nrows - page : 0;
}

/* Moves the selection by delta rows. */
void widget_table_move(widget_table *t, long delta)
{
    if (t->nrows == 0)
        return;
    if (delta < 0 && (size_t)(-delta) > t->sel)
        t->sel = 0;
    else if (delta > 0 && t->sel + (size_t)delta >= t->nrows)
        t->sel = t->nrows - 1;
    else
        t->sel = (size_t)((long)t->sel + delta);
    widget_table_clamp(t);
}

/* Draws the heading and visible rows. */
void widget_table_draw(WINDOW *w, int y, int x, int width, int height, widget_table *t,
                       const widget_column *cols, int ncols, widget_cell_fn cell,
                       widget_row_attr_fn row_attr, void *ud)
{
    if (height <= 0 || width <= 2)
        return;
    if (ncols > WIDGET_TABLE_MAX_COLS)
        ncols = WIDGET_TABLE_MAX_COLS;
    int widths[WIDGET_TABLE_MAX_COLS];
    /* one column on the left for the selection pointer */
    widget_table_layout(cols, ncols, width - 1, widths);
    unsigned long head = theme_attr(THEME_COLUMN);
    widget_fill(w, y, x, width, theme_attr(THEME_NORMAL));
    int cx = x + 1;
    for (int c = 0; c < ncols; c++) {
        if (!widths[c])
            continue;
        if (cols[c].right)
            widget_text_right(w, y, cx, widths[c], cols[c].title, head);
        else
            widget_text(w, y, cx, widths[c], cols[c].title, head);
        cx += widths[c] + 1;
    }
    t->page = height - 1;
    widget_table_clamp(t);
    for (int r = 0; r < height - 1; r++) {
        int ry = y + 1 + r;
        size_t row = t->top + (size_t)r;
        if (row >= t->nrows) {
            widget_fill(w, ry, x, width, theme_attr(THEME_NORMAL));
            continue;
        }
        bool selected = row == t->sel;
        unsigned long base = row_attr ? row_attr(ud, row) : theme_attr(THEME_NORMAL);
        if (selected)
            base = theme_attr(THEME_SELECTED);
        widget_fill(w, ry, x, width, base);
        if (selected)
            widget_text(w, ry, x, 1, widget_glyph_str(GLYPH_POINTER), base);
        cx = x + 1;
        for (int c = 0; c < ncols; c++) {
            if (!widths[c])
                continue;
            char buf[512];
            buf[0] = '\0';
            unsigned long a = base;
            cell(ud, row, c, buf, sizeof buf, &a);
            if (selected)
                a = base;
            if (cols[c].right)
                widget_text_right(w, ry, cx, widths[c], buf, a);
            else
                widget_text(w, ry, cx, widths[c], buf, a);
            cx += widths[c] + 1;
        }
    }
}
