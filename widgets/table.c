/* table.c: the virtualised table: only the visible rows are asked for and drawn. */
#include "widgets/widgets.h"

#include <string.h>

/* The width a column asks for when columns are dropped: its preferred width, or for a
 * number column its widest value when that is wider. */
static int base_width(const widget_column *c, const int *widest, int i)
{
    return c->whole && widest && widest[i] > c->width ? widest[i] : c->width;
}

/* The flex column shrinks at most to this width to keep a column of numbers. */
#define FLEX_MIN 8

/* How much the shown flex text columns could give up before a column of numbers is
 * dropped (each down to FLEX_MIN). */
static int flex_slack(const widget_column *cols, int ncols, const int *widest, const bool *shown)
{
    int slack = 0;
    for (int i = 0; i < ncols; i++) {
        int b = base_width(&cols[i], widest, i);
        if (shown[i] && cols[i].flex && !cols[i].whole && b > FLEX_MIN)
            slack += b - FLEX_MIN;
    }
    return slack;
}

/* Shrinks the shown columns by deficit columns, the flex column first, then the other
 * text columns from the right, each down to `floor`; returns the deficit left. */
static int shrink_text(const widget_column *cols, int ncols, int *out, int deficit, int floor)
{
    for (int pass = 0; pass < 2 && deficit > 0; pass++)
        for (int i = ncols - 1; i >= 0 && deficit > 0; i--) {
            if (!out[i] || cols[i].whole || cols[i].flex != (pass == 0) || out[i] <= floor)
                continue;
            int give = out[i] - floor < deficit ? out[i] - floor : deficit;
            out[i] -= give;
            deficit -= give;
        }
    return deficit;
}

/* Grows text column i by up to `to` - out[i] columns of extra; returns what is left. */
static int grow_one(int *out, int i, int to, int extra)
{
    int grow = to - out[i] < extra ? to - out[i] : extra;
    if (grow > 0) {
        out[i] += grow;
        extra -= grow;
    }
    return extra;
}

/* Shares out the spare width among the text columns: each first gives up what it does
 * not need (wider than anything it has shown, its heading included); then the flex
 * column grows to its widest value (within its max), then the others one column at a
 * time (fairly) to theirs, then the flex column within its max. Returns what is left. */
static int grow_text(const widget_column *cols, int ncols, const int *widest, int *out, int extra)
{
    int flex = -1;
    for (int i = 0; i < ncols; i++) {
        if (!out[i] || cols[i].whole)
            continue;
        if (cols[i].flex && flex < 0)
            flex = i;
        if (widest && widest[i] > 0 && widest[i] < out[i]) {
            extra += out[i] - widest[i];
            out[i] = widest[i];
        }
    }
    if (flex >= 0 && widest) {
        int to =
            cols[flex].max > 0 && cols[flex].max < widest[flex] ? cols[flex].max : widest[flex];
        extra = grow_one(out, flex, to, extra);
    }
    bool grew = widest != NULL;
    while (extra > 0 && grew) {
        grew = false;
        for (int i = 0; i < ncols && extra > 0; i++)
            if (out[i] && !cols[i].whole && widest[i] > out[i]) {
                out[i]++;
                extra--;
                grew = true;
            }
    }
    if (flex >= 0 && cols[flex].max > 0)
        extra = grow_one(out, flex, cols[flex].max, extra);
    else if (flex >= 0)
        extra = grow_one(out, flex, out[flex] + extra, extra);
    return extra;
}

/* Computes column widths; see widgets.h. */
int widget_table_layout(const widget_column *cols, int ncols, int width, int *out)
{
    return widget_table_layout_fit(cols, ncols, NULL, width, out);
}

/* Computes column widths knowing the widest values; see widgets.h. */
int widget_table_layout_fit(const widget_column *cols, int ncols, const int *widest, int width,
                            int *out)
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
                need += base_width(&cols[i], widest, i) + (n ? 1 : 0);
                n++;
            }
        if (need <= width)
            break;
        int victim = -1;
        for (int i = 0; i < ncols; i++)
            if (shown[i] && cols[i].drop > 0 && (victim < 0 || cols[i].drop > cols[victim].drop))
                victim = i;
        if (victim < 0)
            break; /* nothing more to drop: text columns shrink below */
        if (cols[victim].whole && need - flex_slack(cols, ncols, widest, shown) <= width)
            break; /* a column of numbers stays when shrinking the flex text makes room */
        shown[victim] = false;
    }
    int used = 0, n = 0, last = -1;
    for (int i = 0; i < ncols; i++) {
        out[i] = shown[i] ? base_width(&cols[i], widest, i) : 0;
        if (shown[i]) {
            used += out[i] + (n ? 1 : 0);
            n++;
            last = i;
        }
    }
    int extra = width - used;
    if (extra < 0) {
        /* text gives way first; numbers are cut only when nothing else is left */
        int deficit = shrink_text(cols, ncols, out, -extra, 3);
        deficit = shrink_text(cols, ncols, out, deficit, 1);
        for (int i = ncols - 1; i >= 0 && deficit > 0; i--)
            if (out[i] > 1) {
                int give = out[i] - 1 < deficit ? out[i] - 1 : deficit;
                out[i] -= give;
                deficit -= give;
            }
        return n;
    }
    extra = grow_text(cols, ncols, widest, out, extra);
    if (last >= 0 && extra > 0 && !cols[last].right)
        out[last] += extra; /* wide screens: a text column last gets the rest; numbers on
                               the right stay next to their neighbours */
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

/* Keeps the running maximum of each column's width over the headings and the visible
 * rows (the rows of a page are asked for twice: cheap, and only the visible ones). */
static void measure(widget_table *t, const widget_column *cols, int ncols, widget_cell_fn cell,
                    void *ud)
{
    for (int c = 0; c < ncols; c++) {
        int tw = text_width(cols[c].title);
        if (tw > t->widest[c])
            t->widest[c] = tw;
    }
    for (size_t row = t->top; row < t->nrows && row < t->top + (size_t)t->page; row++)
        for (int c = 0; c < ncols; c++) {
            char buf[512];
            buf[0] = '\0';
            unsigned long a = 0;
            cell(ud, row, c, buf, sizeof buf, &a);
            int tw = text_width(buf);
            if (tw > t->widest[c])
                t->widest[c] = tw;
        }
}

/* Places the table in height rows; see widgets.h. */
void widget_table_place(widget_table *t, int height, const widget_column *cols, int ncols,
                        widget_cell_fn cell, void *ud)
{
    if (height <= 0)
        return;
    if (ncols > WIDGET_TABLE_MAX_COLS)
        ncols = WIDGET_TABLE_MAX_COLS;
    t->page = height - 1;
    widget_table_clamp(t);
    measure(t, cols, ncols, cell, ud);
}

/* Draws the heading and visible rows (placed by widget_table_place). */
void widget_table_draw(WINDOW *w, int y, int x, int width, int height, const widget_table *t,
                       const widget_column *cols, int ncols, widget_cell_fn cell,
                       widget_row_attr_fn row_attr, void *ud)
{
    if (height <= 0 || width <= 2)
        return;
    if (ncols > WIDGET_TABLE_MAX_COLS)
        ncols = WIDGET_TABLE_MAX_COLS;
    int widths[WIDGET_TABLE_MAX_COLS];
    /* one column on the left for the selection pointer */
    widget_table_layout_fit(cols, ncols, t->widest, width - 1, widths);
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
