/* position.c: where the operator is in a pane, and the line that says so. The selection
 * is an object (its id), never a row number: it stays on its row while rows arrive, leave
 * or re-sort (panes_refresh finds it again), and after a decision it moves on to the next
 * purchase still waiting. The pane's title on the tab line shows the rows in view
 * ("12-33 of 140", marked when rows are above), the sort order and the filter. */
#include "tui/ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

/* PAGES_Q_MIN as text, for the title. */
#define PAGES_Q_MIN_STR(x)  #x
#define PAGES_Q_MIN_XSTR(x) PAGES_Q_MIN_STR(x)
#define PAGES_Q_MIN_TEXT    PAGES_Q_MIN_XSTR(PAGES_Q_MIN)

/* Selects the row of pane p with the given id; see ui.h. */
bool panes_select_id(ui *u, int p, const char *id)
{
    ui_pane *pn = &u->panes[p];
    snprintf(pn->sel_id, sizeof pn->sel_id, "%s", id);
    panes_refresh(u, p, true);
    return pn->table.nrows && !panes_is_status_row(pn->rows[pn->table.sel]) &&
           strcmp(panes_row_id(p, pn->rows[pn->table.sel]), id) == 0;
}

/* Records the row at the table's selection as the selected object; see ui.h. */
void panes_note_selection(ui *u, int p)
{
    ui_pane *pn = &u->panes[p];
    if (pn->table.nrows == 0)
        return;
    if (panes_is_status_row(pn->rows[pn->table.sel]))
        pn->sel_id[0] = '\0'; /* at the end: the rows read next take its place */
    else
        snprintf(pn->sel_id, sizeof pn->sel_id, "%s", panes_row_id(p, pn->rows[pn->table.sel]));
}

/* True when a Pending row still waits for the operator (not decided, nothing in flight). */
static bool waiting(const ui *u, const void *row)
{
    const model_purchase *pu = row;
    return pu->status == PUR_PENDING && !panes_inflight_label(u, pu->id);
}

/* Moves the Pending selection off a purchase just decided; see ui.h. */
void panes_select_after_decision(ui *u, const char *id)
{
    ui_pane *pn = &u->panes[PANE_PENDING];
    panes_refresh(u, PANE_PENDING, true);
    if (strcmp(pn->sel_id, id) != 0 || pn->table.nrows == 0)
        return; /* the operator is elsewhere: leave the selection where it is */
    size_t at = pn->table.sel, n = pn->table.nrows;
    for (size_t i = at + 1; i < n; i++) /* the next waiting row below, in the shown order */
        if (waiting(u, pn->rows[i])) {
            panes_select_id(u, PANE_PENDING, panes_row_id(PANE_PENDING, pn->rows[i]));
            return;
        }
    for (size_t i = at; i-- > 0;) /* else the nearest one above */
        if (waiting(u, pn->rows[i])) {
            panes_select_id(u, PANE_PENDING, panes_row_id(PANE_PENDING, pn->rows[i]));
            return;
        }
}

/* The number of rows the pane counts in its title: with no filter, what the server
 * holds of a pane that pages (store_history_total, once known); else the rows shown.
 * *more is set when the server has rows past those. */
static int64_t title_total(const ui *u, int p, bool *more)
{
    const ui_pane *pn = &u->panes[p];
    int64_t shown = (int64_t)panes_objects(u, p);
    page_query q;
    *more = false;
    if (!panes_query(u, p, &q))
        return shown;
    int64_t total = pn->filter[0] ? -1 : store_history_total(u->st, panes_ops[p].kind);
    if (total >= shown)
        return total;
    *more = pn->hist_more && shown > 0;
    return shown;
}

/* What the title adds about the history: a sort order that orders only the rows held, a
 * filter too short for the server to search; on Threads, that the open threads a staged
 * snapshot left out are still being read (api/client_backfill.c). */
static const char *history_note(const ui *u, int p)
{
    const ui_pane *pn = &u->panes[p];
    page_query q;
    if (p == PANE_THREADS && u->cs.threads_loading)
        return "loading open threads";
    if (!panes_ops[p].history)
        return NULL;
    if (!panes_query(u, p, &q))
        return u->cl ? "held rows only" : NULL;
    if (pn->filter[0] && !q.q[0])
        return "type " PAGES_Q_MIN_TEXT " characters to search history";
    return NULL;
}

/* Writes the pane's position, order and filter ("↑ 12-33 of 1,400 · by opened · /bike")
 * into out, led by what to type to search the history when the filter is too short for
 * the server; *above is set when rows are scrolled off the top. */
static void title_info(const ui *u, int p, char *out, size_t size, bool *above)
{
    const ui_pane *pn = &u->panes[p];
    const widget_table *t = &pn->table;
    size_t objects = panes_objects(u, p);
    size_t page = t->page > 0 ? (size_t)t->page : 1;
    bool more;
    char total[32];
    int64_t all = title_total(u, p, &more);
    money_format_count(total, sizeof total, all);
    if (more)
        snprintf(total + strlen(total), sizeof total - strlen(total), "+");
    char pos[96];
    *above = t->top > 0 && t->top < t->nrows;
    if (t->nrows > page || t->top > 0 || all > (int64_t)objects) {
        size_t last = t->top + page < objects ? t->top + page : objects;
        snprintf(pos, sizeof pos, "%s%zu-%zu of %s",
                 *above ? (u->mode_text == TEXT_ASCII ? "^ " : "\xe2\x86\x91 ") : "",
                 objects ? t->top + 1 : 0, last, total);
    } else {
        snprintf(pos, sizeof pos, "%s row%s", total, all == 1 ? "" : "s");
    }
    const char *dot = widget_glyph_str(GLYPH_MIDDOT);
    /* what to type to search the history goes first: at 80 columns the rest is cut */
    const char *note = history_note(u, p);
    const char *sort = panes_sort_name(p, pn->sort);
    char marked[48] = ""; /* the marks of a batch decision, first too (batch.c) */
    if (p == PANE_PENDING && u->nmarked)
        snprintf(marked, sizeof marked, "%zu marked %s ", u->nmarked, dot);
    int n = note ? snprintf(out, size, "%s%s %s %s %s by %s", marked, note, dot, pos, dot, sort)
                 : snprintf(out, size, "%s%s %s by %s", marked, pos, dot, sort);
    if (pn->filter[0] && n >= 0 && (size_t)n < size) {
        char *safe = text_sanitize_str(pn->filter, u->mode_text, NULL, NULL);
        char shown[96];
        text_truncate(safe ? safe : "?", 24, u->mode_text, shown, sizeof shown);
        free(safe);
        snprintf(out + n, size - (size_t)n, " %s /%s", dot, shown);
    }
}

/* Draws the tabs and the current pane's title on row y; see ui.h. When they do not all fit
 * with the title, the other panes' tabs shrink to their numbers, the last ones first and
 * only as many as needed (at 80 columns all of them), so that the title always fits. */
void panes_draw_title(const ui *u, WINDOW *w, int y)
{
    int cols = getmaxx(w);
    char info[320];
    bool above;
    title_info(u, u->pane, info, sizeof info, &above);
    int iw = text_width(info);
    int full = 1;
    for (int p = 0; p < PANE_COUNT; p++) /* " 1 Pending " and the space after it */
        full += (int)strlen(panes_name(p)) + 5;
    bool compact[PANE_COUNT] = {false};
    for (int p = PANE_COUNT - 1; p >= 0 && full + iw + 3 > cols; p--)
        if (p != u->pane) {
            compact[p] = true;
            full -= (int)strlen(panes_name(p)) + 1;
        }
    widget_fill(w, y, 0, cols, theme_attr(THEME_NORMAL));
    int tx = 1;
    for (int p = 0; p < PANE_COUNT && tx < cols; p++) {
        char tab[40];
        if (compact[p])
            snprintf(tab, sizeof tab, " %d ", p + 1);
        else
            snprintf(tab, sizeof tab, " %d %s ", p + 1, panes_name(p));
        tx += widget_text(w, y, tx, cols - tx, tab,
                          theme_attr(p == u->pane ? THEME_TAB_ACTIVE : THEME_TAB)) +
              1;
    }
    int room = cols - tx - 2;
    if (room <= 2)
        return;
    char shown[360];
    text_truncate(info, room, u->mode_text, shown, sizeof shown);
    widget_text_right(w, y, tx, cols - tx - 1, shown, theme_attr(above ? THEME_WARN : THEME_DIM));
}
