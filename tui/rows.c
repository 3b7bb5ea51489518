/* rows.c: a pane's rows. They are borrowed pointers into the store, recomputed only when
 * the store (ui.gen), this console's marks on them (ui.marks) or the filter changed:
 * collected, filtered on what the cells show, sorted (qsort_r with the pane as context),
 * and the selection found again by its id. The update step places the table (page,
 * scroll, widths); the drawing then only reads. The panes themselves are panes.c. */
#define _GNU_SOURCE /* qsort_r */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lower-cases ASCII letters in place (the filter folds case). */
static void ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* True when any cell of the row, as shown, holds needle (already lower case, ASCII
 * case folding): the filter searches what the operator sees. */
static bool row_matches(const ui *u, const pane_ops *ops, const void *row, const char *needle)
{
    for (int c = 0; c < ops->ncols; c++) {
        char cell[512];
        cell[0] = '\0';
        unsigned long a = 0;
        ops->cell(u, row, c, cell, sizeof cell, &a);
        ascii_lower(cell);
        if (strstr(cell, needle))
            return true;
    }
    return false;
}

/* The pane's name. */
const char *panes_name(int p)
{
    return (p >= 0 && p < PANE_COUNT) ? panes_ops[p].name : "?";
}

/* Number of sort orders. */
int panes_sort_count(int p)
{
    int n = 0;
    while (panes_ops[p].sorts[n])
        n++;
    return n;
}

/* Name of a sort order. */
const char *panes_sort_name(int p, int sort)
{
    return (sort >= 0 && sort < panes_sort_count(p)) ? panes_ops[p].sorts[sort] : "?";
}

/* What a sort compares under: the console, the pane and its order. */
typedef struct sort_ctx {
    const ui *u;
    const pane_ops *ops;
    int order;
} sort_ctx;

/* qsort_r adaptor. */
static int sort_cmp(const void *a, const void *b, void *arg)
{
    const sort_ctx *c = arg;
    return c->ops->compare(c->u, c->order, *(const void *const *)a, *(const void *const *)b);
}

/* Moves rows[from] up to rows[to] (to < from), the rows between one down: the selected
 * row keeps its screen row while new or re-ranked rows go in around it (pane_ops.hold). */
static void hold_row(const void **rows, size_t from, size_t to)
{
    const void *r = rows[from];
    memmove(&rows[to + 1], &rows[to], (from - to) * sizeof *rows);
    rows[to] = r;
}

/* Recomputes a pane's rows; see ui.h. */
void panes_refresh(ui *u, int p, bool force)
{
    ui_pane *pn = &u->panes[p];
    bool same_data = pn->computed_gen == u->gen && pn->computed_marks == u->marks && pn->rows;
    if (!force && same_data && strcmp(pn->filtered_by, pn->filter) == 0)
        return;
    const pane_ops *ops = &panes_ops[p];
    /* the same view of new data: what a resting cursor holds its place through */
    bool same_view = !force && strcmp(pn->filtered_by, pn->filter) == 0;
    char needle[128];
    snprintf(needle, sizeof needle, "%s", pn->filter);
    ascii_lower(needle);
    /* Typing one more character of a filter narrows the rows already shown (same data,
     * already sorted): no collect, no sort. */
    bool narrowing = same_data && !force && pn->filtered_by[0] &&
                     strncmp(pn->filter, pn->filtered_by, strlen(pn->filtered_by)) == 0;
    size_t n = narrowing ? pn->table.nrows : ops->collect(u, &pn->rows, &pn->cap);
    if (needle[0]) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (row_matches(u, ops, pn->rows[i], needle))
                pn->rows[k++] = pn->rows[i];
        n = k;
    }
    memcpy(pn->filtered_by, pn->filter, sizeof pn->filtered_by); /* same size, NUL inside */
    sort_ctx ctx = {u, ops, pn->sort};
    if (n > 1 && !narrowing)
        qsort_r(pn->rows, n, sizeof *pn->rows, sort_cmp, &ctx);
    pn->table.nrows = n;
    /* keep the selection on the same object */
    if (pn->sel_id[0]) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(ops->id(pn->rows[i]), pn->sel_id) == 0) {
                if (ops->hold && same_view && i > pn->table.sel)
                    hold_row(pn->rows, i, pn->table.sel);
                else
                    pn->table.sel = i;
                break;
            }
    }
    widget_table_clamp(&pn->table);
    if (n)
        snprintf(pn->sel_id, sizeof pn->sel_id, "%s", ops->id(pn->rows[pn->table.sel]));
    pn->computed_gen = u->gen;
    pn->computed_marks = u->marks;
}

/* The selected object of the current pane, without a refresh; see ui.h. */
const void *panes_current(const ui *u, model_kind *kind)
{
    const ui_pane *pn = &u->panes[u->pane];
    if (kind)
        *kind = panes_ops[u->pane].kind;
    if (pn->table.nrows == 0)
        return NULL;
    return pn->rows[pn->table.sel];
}

/* The selected object of the current pane. */
const void *panes_selected(ui *u, model_kind *kind)
{
    panes_refresh(u, u->pane, false);
    return panes_current(u, kind);
}

/* The id of a row of pane p (borrowed); see ui.h. */
const char *panes_row_id(int p, const void *row)
{
    return panes_ops[p].id(row);
}

/* Table callbacks: the ui and pane travel through ud. */
typedef struct cell_ctx {
    const ui *u;
    int pane;
} cell_ctx;

/* widget_cell_fn adaptor. */
static void cell_adaptor(void *ud, size_t row, int col, char *buf, size_t size, unsigned long *attr)
{
    const cell_ctx *c = ud;
    panes_ops[c->pane].cell(c->u, c->u->panes[c->pane].rows[row], col, buf, size, attr);
}

/* widget_row_attr_fn adaptor: in-flight rows stand out. */
static unsigned long row_attr_adaptor(void *ud, size_t row)
{
    const cell_ctx *c = ud;
    const char *id = panes_ops[c->pane].id(c->u->panes[c->pane].rows[row]);
    return panes_inflight_label(c->u, id) ? theme_attr(THEME_INFLIGHT) : theme_attr(THEME_NORMAL);
}

/* Places the current pane's table; see ui.h. */
void panes_place(ui *u)
{
    ui_pane *pn = &u->panes[u->pane];
    if (u->lay.table_h > 0) {
        cell_ctx ctx = {u, u->pane};
        widget_table_place(&pn->table, u->lay.table_h, panes_ops[u->pane].cols,
                           panes_ops[u->pane].ncols, cell_adaptor, &ctx);
    }
    panes_note_selection(u, u->pane);
}

/* Draws the current pane: table, and the detail below it when there is room or open. */
void panes_draw(const ui *u, WINDOW *w)
{
    const ui_pane *pn = &u->panes[u->pane];
    const ui_layout *l = &u->lay;
    int width = getmaxx(w);
    if (l->height <= 0)
        return;
    if (l->table_h > 0) {
        cell_ctx ctx = {u, u->pane};
        widget_table_draw(w, l->top, 0, width, l->table_h, &pn->table, panes_ops[u->pane].cols,
                          panes_ops[u->pane].ncols, cell_adaptor, row_attr_adaptor, &ctx);
        if (pn->table.nrows == 0) {
            const char *msg = pn->filter[0]          ? "no rows match the filter (Esc clears it)"
                              : u->cs.snapshots == 0 ? "waiting for the first snapshot…"
                                                     : "nothing here yet";
            widget_text(w, l->top + 2, 2, width - 4, msg, theme_attr(THEME_DIM));
        }
    }
    if (l->detail_h > 0) {
        if (!l->detail_full)
            widget_hline(w, l->detail_top - 1, 0, width, theme_attr(THEME_RULE));
        detail_draw(u, w, l->detail_top, l->detail_h);
    }
}
