/* widgets.h: generic curses parts, knowing nothing of the marketplace.
 *
 * | file       | holds                                                            |
 * |------------|------------------------------------------------------------------|
 * | widgets.h  | this header                                                      |
 * | draw.c     | safe text drawing (marks -> THEME_MARK), fills, rules, glyphs,   |
 * |            | bars, the sparkline, the status line                             |
 * | table.c    | the virtualised table: column layout by priority, scrolling      |
 * | dialog.c   | a centred box for confirmations and help, and the prompt line    |
 *
 * Every string drawn goes through widget_text(): network text arrives sanitised
 * (api/text.h) with TEXT_MARK_ON/OFF around placeholders; widget_text() draws those
 * spans in THEME_MARK and never writes a mark or any other control byte. Strings are cut
 * to their columns with text_truncate(), so nothing can spill into a neighbour, and a cut
 * never falls inside a number: the whole number gives way to the ellipsis (a reader must
 * never take "$2…" for an amount). Where a number must be seen, text is wrapped instead
 * (widget_wrap) and table columns holding numbers grow to their widest value.
 */
#ifndef DEALDESK_WIDGETS_WIDGETS_H
#define DEALDESK_WIDGETS_WIDGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "api/text.h"
#include "themes/themes.h"

/* ---- draw.c ------------------------------------------------------------------------ */

/* Sets the text mode (UTF-8 or ASCII) for all drawing; call once after setlocale(). */
void widget_set_mode(text_mode mode);
text_mode widget_mode(void);

/* Glyphs that have an ASCII form. */
typedef enum widget_glyph {
    GLYPH_HLINE,     /* ─  - */
    GLYPH_VLINE,     /* │  | */
    GLYPH_POINTER,   /* ▶  > */
    GLYPH_DOT,       /* ●  * */
    GLYPH_MIDDOT,    /* ·  . */
    GLYPH_CHECK,     /* ✓  ok */
    GLYPH_CROSS,     /* ✗  x */
    GLYPH_WARN,      /* ⚠  ! */
    GLYPH_ARROW,     /* →  -> */
    GLYPH_LARROW,    /* ←  <- */
    GLYPH_TIMES,     /* ×  x */
    GLYPH_ELLIPSIS,  /* …  ~ */
    GLYPH_BAR_FULL,  /* █  # */
    GLYPH_BAR_EMPTY, /* ░  . */
    GLYPH_CORNER_TL,
    GLYPH_CORNER_TR,
    GLYPH_CORNER_BL,
    GLYPH_CORNER_BR,
    GLYPH_COUNT
} widget_glyph;

/* The glyph's text in the current mode (static). */
const char *widget_glyph_str(widget_glyph g);

/* Draws sanitised text at (y, x) in at most cols columns with attribute attr, marked
 * spans in THEME_MARK; text that does not fit is cut with an ellipsis, before any number
 * the cut would fall inside. Returns the columns drawn. Any control byte (which sanitised
 * text cannot hold) is drawn as '?'. */
int widget_text(WINDOW *w, int y, int x, int cols, const char *safe, unsigned long attr);

/* Like widget_text, right-aligned in cols columns (padding drawn in attr). */
int widget_text_right(WINDOW *w, int y, int x, int cols, const char *safe, unsigned long attr);

/* printf into a buffer and draw it with widget_text (for the program's own strings). */
int widget_printf(WINDOW *w, int y, int x, int cols, unsigned long attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Fills cols columns at (y, x) with spaces in attr. */
void widget_fill(WINDOW *w, int y, int x, int cols, unsigned long attr);

/* A horizontal rule of cols columns. */
void widget_hline(WINDOW *w, int y, int x, int cols, unsigned long attr);

/* How much of a bar of cols cells part/whole fills, in eighths of a cell: rounded to the
 * nearest eighth (UTF-8) or the nearest cell (ASCII), never more than the share is: a
 * tiny share is an empty bar (the caller prints the exact figure beside it) and a share
 * short of the whole is never a full bar. */
int widget_bar_eighths(int cols, int64_t part, int64_t whole);

/* The bar as text (full, partial and empty cells) into out; returns out. */
const char *widget_bar_str(int cols, int64_t part, int64_t whole, char *out, size_t size);

/* A bar of cols columns showing part/whole (clamped), in THEME_BAR_FILL/BAR_EMPTY. */
void widget_bar(WINDOW *w, int y, int x, int cols, int64_t part, int64_t whole);

/* Word wrap: the first line of sanitised text in at most cols columns, breaking at a
 * space; a word longer than a line is broken between characters, so nothing is cut and
 * no number is split unless it is wider than the line itself. Placeholders stay whole.
 * Returns the line's length in bytes (trailing spaces excluded); *next is the offset of
 * the next line (spaces skipped), strlen(safe) after the last. */
size_t widget_wrap(const char *safe, int cols, size_t *next);

/* The number of lines widget_wrap makes of safe: the first in first_cols columns, the
 * rest in cols (at least 1 for empty text). */
int widget_wrap_count(const char *safe, int first_cols, int cols);

/* Renders values as a sparkline of at most cols characters (▁..█, or " _.-=^" in ASCII
 * mode) into out; a long series is resampled to cols points. Returns the columns used. */
int widget_sparkline(const int64_t *values, size_t n, int cols, char *out, size_t size);

/* Renders amounts (a spend per span of time, oldest first) as a sparkline of at most cols
 * characters into out: adjacent spans are summed into each column, scaled from zero to
 * the largest column (its full block); a column with nothing is a blank, so an agent
 * that spent nothing shows nothing. Returns the columns used. */
int widget_sparkline_sum(const int64_t *amounts, size_t n, int cols, char *out, size_t size);

/* The status line: text on the left in attr, right on the right in THEME_STATUS. */
void widget_status(WINDOW *w, int y, const char *text, unsigned long attr, const char *right);

/* ---- table.c ----------------------------------------------------------------------- */

/* One column. Columns with the highest drop number are dropped first when the width
 * is short (0 = never dropped); a flex column takes the width that is left. A `whole`
 * column holds numbers (money, quantities, times): it is as wide as the widest value the
 * table has shown in it and the other columns give way (shrink, drop) first: before a
 * number column is dropped, the flex column shrinks (to 8 at least). On a wide
 * screen, text columns whose values were cut grow to their widest value. */
typedef struct widget_column {
    const char *title;
    int width;  /* preferred width (minimum for the flex column) */
    int drop;   /* drop order: higher goes first; 0 keeps */
    bool right; /* right-aligned (numbers, money) */
    bool flex;  /* takes the remaining width */
    int max;    /* flex only: the widest it grows beyond its widest value (0: no limit);
                   the rest goes to the last column shown when it is text */
    bool whole; /* numbers: never cut (see above) */
} widget_column;

#define WIDGET_TABLE_MAX_COLS 16

/* Fills a cell: writes sanitised text into buf (size bytes) and may set *attr (it is
 * preset to the row's attribute). row is an index into the table's rows. */
typedef void (*widget_cell_fn)(void *ud, size_t row, int col, char *buf, size_t size,
                               unsigned long *attr);
/* The attribute of a whole row (selected rows are drawn in THEME_SELECTED anyway). */
typedef unsigned long (*widget_row_attr_fn)(void *ud, size_t row);

/* A table's position: the rows themselves live with the caller. */
typedef struct widget_table {
    size_t nrows;
    size_t top;                        /* first visible row */
    size_t sel;                        /* selected row (meaningless when nrows == 0) */
    int page;                          /* visible rows at the last draw */
    int widest[WIDGET_TABLE_MAX_COLS]; /* widest cell drawn in each column so far (a cheap
                                          running maximum over every row shown) */
} widget_table;

/* Computes column widths for a total width: out[i] == 0 for a dropped column. Columns
 * are separated by one space. Returns the number of columns shown. */
int widget_table_layout(const widget_column *cols, int ncols, int width, int *out);

/* The same, knowing the widest value of each column (widest may be NULL: unknown): whole
 * columns are at least that wide, and spare width first goes to text columns narrower
 * than their widest value. */
int widget_table_layout_fit(const widget_column *cols, int ncols, const int *widest, int width,
                            int *out);

/* Keeps sel inside [0, nrows) and visible in a page of `page` rows. */
void widget_table_clamp(widget_table *t);

/* Moves the selection by delta rows (clamped); page moves pass +-page. */
void widget_table_move(widget_table *t, long delta);

/* Places the table in height rows (its heading included) before it is drawn: sets the
 * page, keeps the selection visible and measures the visible rows' values (widest). */
void widget_table_place(widget_table *t, int height, const widget_column *cols, int ncols,
                        widget_cell_fn cell, void *ud);

/* Draws the heading and the visible rows in the rectangle (y, x, width, height), as
 * placed by widget_table_place with the same height; only the visible rows' cells are
 * asked for, and the table is only read. */
void widget_table_draw(WINDOW *w, int y, int x, int width, int height, const widget_table *t,
                       const widget_column *cols, int ncols, widget_cell_fn cell,
                       widget_row_attr_fn row_attr, void *ud);

/* ---- dialog.c ---------------------------------------------------------------------- */

/* Draws a centred box titled title holding lines (sanitised text, n of them), at most
 * max_width wide; a line wider than the box wraps (never cut). The box covers every cell
 * it occupies and a one-cell margin around it, and clears the rest of any word or wide
 * character from underneath that its edges would cut, so no fragment ("┘00") shows
 * beside it. Returns the box's top row. */
int widget_dialog(WINDOW *w, const char *title, const char *const *lines, int n, int max_width);

/* Draws a prompt line at row y: prompt, then the edit buffer with the cursor at byte
 * offset point, scrolled so that the cursor is visible, and a hint on the right.
 * Leaves the curses cursor at the edit position. */
void widget_prompt(WINDOW *w, int y, const char *prompt, const char *buffer, int point,
                   const char *hint);

#endif
