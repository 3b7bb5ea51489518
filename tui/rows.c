/* rows.c: a pane's rows. They are borrowed pointers into the store and, for a pane that
 * pages (issue 14), into the client's pages of history (api/pages.h), recomputed only
 * when the store or the history read (ui.gen), this console's marks on them (ui.marks) or
 * the filter changed, or the pane scrolled near the end of what was read: collected,
 * merged with the rows read (the store's version wins), filtered on what the cells show
 * (a filter the server searched keeps what it found), sorted (qsort_r with the pane as
 * context), cut at the frontier (the last row read) while the server has more, ended by
 * the status row ("loading…", an error) while a page is on its way or failed, and the
 * selection found again by its id. The update step asks for more and places the table
 * (page, scroll, widths); the drawing then only reads. The panes themselves are panes.c. */
#define _GNU_SOURCE /* qsort_r */
#include "tui/ui.h"

#include <stdint.h>
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

/* A row's search text: its cells as shown, lower case, each ended by a unit separator
 * (a needle never matches across two cells). */
struct pane_text {
    const void *row; /* NULL: a free slot */
    char *text;
};

/* A paged pane's store rows (its 20,000 held threads), collected and sorted once per
 * texts_of and sort order, with each one's search text, and the indexes of those the
 * last filter kept, in order: a key of a filter filters these (one more character
 * narrows the kept ones), where it used to collect, filter and sort every held row. */
struct pane_sorted {
    uint64_t key; /* texts_of when made */
    int sort;
    bool made;
    const void **rows;
    size_t n, cap;
    const char **text; /* row_text of each (NULL: not made yet) */
    uint32_t *kept;    /* indexes into rows holding needle, in order */
    size_t nkept;
    char needle[128];     /* "": kept not made */
    const void **scratch; /* a merge's left run */
    size_t scratch_cap;
};

/* Frees the search texts only. */
static void texts_drop(ui_pane *pn)
{
    for (size_t i = 0; i < pn->texts_cap; i++)
        free(pn->texts[i].text);
    free(pn->texts);
    pn->texts = NULL;
    pn->texts_cap = pn->texts_n = 0;
}

/* Frees the search texts and the sorted rows; see ui.h. */
void panes_texts_free(ui_pane *pn)
{
    texts_drop(pn);
    struct pane_sorted *c = pn->sorted;
    if (c) {
        free(c->rows);
        free(c->text);
        free(c->kept);
        free(c->scratch);
        free(c);
    }
    pn->sorted = NULL;
}

/* The slot of row in the table (its own, or the free one it would take). */
static struct pane_text *text_slot(const ui_pane *pn, const void *row)
{
    size_t h = ((size_t)(uintptr_t)row >> 4) * 0x9E3779B97F4A7C15u;
    for (size_t i = h & (pn->texts_cap - 1);; i = (i + 1) & (pn->texts_cap - 1))
        if (!pn->texts[i].row || pn->texts[i].row == row)
            return &pn->texts[i];
}

/* The store's changes of every kind, the marks and the agents' scorecards read
 * (agents.c): a store row's cells change only with them (the history read is not in it:
 * its rows are formatted each time, their memory is reused). Not the store's seq: an
 * event that changes no object (presence.updated, a heartbeat's) would make every text
 * again, 20,000 rows formatted at the next key. */
static uint64_t texts_of(const ui *u)
{
    uint64_t s = u->marks * 7919u + u->stats_seen * 104729u;
    for (int k = 0; k < MODEL_KIND_COUNT; k++)
        s += store_changes(u->st, (model_kind)k) * (2 * (uint64_t)k + 1000003u);
    return s;
}

/* Drops the pane's texts when the store or the marks changed since they were made. */
static void texts_check(const ui *u, ui_pane *pn)
{
    uint64_t key = texts_of(u);
    if (pn->texts && pn->texts_key != key)
        texts_drop(pn); /* pn->sorted, made under the old key, is made again (sorted_rows) */
    pn->texts_key = key;
}

/* Makes room for one more text: a table at most half full. */
static bool texts_room(ui_pane *pn)
{
    if (pn->texts && (pn->texts_n + 1) * 2 <= pn->texts_cap)
        return true;
    size_t nc = pn->texts_cap ? pn->texts_cap * 2 : 1024;
    struct pane_text *t = calloc(nc, sizeof *t), *old = pn->texts;
    if (!t)
        return false;
    size_t oc = pn->texts_cap;
    pn->texts = t;
    pn->texts_cap = nc;
    for (size_t i = 0; i < oc; i++)
        if (old[i].row)
            *text_slot(pn, old[i].row) = old[i];
    free(old);
    return true;
}

/* Formats every cell of the row into text (lower case, each cell ended by 0x1f). */
static void format_text(const ui *u, const pane_ops *ops, const void *row, char *text, size_t size)
{
    size_t n = 0;
    text[0] = '\0';
    for (int c = 0; c < ops->ncols && n + 2 < size; c++) {
        unsigned long a = 0;
        ops->cell(u, row, c, text + n, size - n - 1, &a);
        ascii_lower(text + n);
        n += strlen(text + n);
        text[n++] = '\x1f';
        text[n] = '\0';
    }
}

/* A store row's search text, made once per texts_of (typing a filter formats each row
 * once, not once per key; texts_check first); NULL when out of memory. */
static const char *row_text(const ui *u, ui_pane *pn, const pane_ops *ops, const void *row)
{
    if (pn->texts) {
        struct pane_text *t = text_slot(pn, row);
        if (t->row)
            return t->text;
    }
    if (!texts_room(pn))
        return NULL;
    char text[4096];
    format_text(u, ops, row, text, sizeof text);
    struct pane_text *t = text_slot(pn, row);
    t->text = strdup(text);
    if (!t->text)
        return NULL;
    t->row = row;
    pn->texts_n++;
    return t->text;
}

/* True when any cell of the row, as shown, holds needle (already lower case, ASCII
 * case folding): the filter searches what the operator sees. stored: a row of the store
 * (its text is kept, texts_check first), else one of the history read (formatted now). */
static bool row_matches(const ui *u, ui_pane *pn, const pane_ops *ops, const void *row,
                        const char *needle, bool stored)
{
    const char *text = stored ? row_text(u, pn, ops, row) : NULL;
    if (text)
        return strstr(text, needle) != NULL;
    char cell[4096];
    format_text(u, ops, row, cell, sizeof cell);
    return strstr(cell, needle) != NULL;
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

/* The status row's address: a row pointer that is no object. */
static const char status_row_mark;
#define STATUS_ROW ((const void *)&status_row_mark)

/* True for the status row; see ui.h. */
bool panes_is_status_row(const void *row)
{
    return row == STATUS_ROW;
}

/* The objects among a pane's rows; see ui.h. */
size_t panes_objects(const ui *u, int p)
{
    const ui_pane *pn = &u->panes[p];
    return pn->table.nrows - (pn->status_row && pn->table.nrows ? 1 : 0);
}

/* True when the filter is long enough for the server to search (q=). */
static bool searches_server(const char *filter)
{
    return strlen(filter) >= PAGES_Q_MIN;
}

/* The query of pane p; see ui.h. */
bool panes_query(const ui *u, int p, page_query *q)
{
    const pane_ops *ops = &panes_ops[p];
    const ui_pane *pn = &u->panes[p];
    if (!u->cl || u->cs.replay || !ops->history || pn->sort < 0 ||
        pn->sort >= panes_sort_count(p) || !ops->history[pn->sort].sort)
        return false; /* a replay has no server to read history from */
    memset(q, 0, sizeof *q);
    q->kind = ops->kind;
    snprintf(q->status, sizeof q->status, "%s", ops->history[pn->sort].status);
    snprintf(q->sort, sizeof q->sort, "%s", ops->history[pn->sort].sort);
    if (searches_server(pn->filter))
        snprintf(q->q, sizeof q->q, "%.*s", PAGES_Q_MAX, pn->filter);
    return true;
}

/* Grows the pane's row array to n rows. */
static bool reserve(ui_pane *pn, size_t n)
{
    if (n <= pn->cap)
        return true;
    size_t nc = pn->cap ? pn->cap : 256;
    while (nc < n)
        nc *= 2;
    const void **r = realloc(pn->rows, nc * sizeof *r);
    if (!r)
        return false;
    pn->rows = r;
    pn->cap = nc;
    return true;
}

/* Keeps the rows [0, n) the filter matches; returns how many. The first nstored are the
 * store's rows. */
static size_t filter_rows(const ui *u, ui_pane *pn, const pane_ops *ops, const void **rows,
                          size_t n, size_t nstored, const char *needle)
{
    size_t k = 0;
    texts_check(u, pn);
    for (size_t i = 0; i < n; i++)
        if (row_matches(u, pn, ops, rows[i], needle, i < nstored))
            rows[k++] = rows[i];
    return k;
}

/* Adds the rows read from the server after the n rows of the store: a row the store holds
 * is the store's (already among them, unless the filter left it out: a server search
 * found it, so it is added). Returns the rows in all. */
static size_t merge_read(ui *u, int p, const page_result *res, size_t n, const char *needle)
{
    const pane_ops *ops = &panes_ops[p];
    ui_pane *pn = &u->panes[p];
    if (!reserve(pn, n + res->nrows + 1))
        return n;
    texts_check(u, pn);
    for (size_t i = 0; i < res->nrows; i++) {
        const void *h = ops->held ? ops->held(u, res->rows[i]) : NULL;
        if (!h)
            pn->rows[n++] = res->rows[i];
        else if (needle[0] && !row_matches(u, pn, ops, h, needle, true))
            pn->rows[n++] = h;
    }
    return n;
}

/* The rows up to the frontier: those that sort after the last row read may have rows of
 * the server not yet read before them. */
static size_t cut_at_frontier(const ui *u, int p, const page_result *res, size_t n)
{
    if (!res || res->complete || res->nrows == 0)
        return n;
    const pane_ops *ops = &panes_ops[p];
    const void *frontier = res->rows[res->nrows - 1];
    int sort = u->panes[p].sort;
    size_t lo = 0, hi = n; /* the first row after the frontier (the rows are sorted) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ops->compare(u, sort, u->panes[p].rows[mid], frontier) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Moves rows[from] up to rows[to] (to < from), the rows between one down: the selected
 * row keeps its screen row while new or re-ranked rows go in around it (pane_ops.hold). */
static void hold_row(const void **rows, size_t from, size_t to)
{
    const void *r = rows[from];
    memmove(&rows[to + 1], &rows[to], (from - to) * sizeof *rows);
    rows[to] = r;
}

/* Finds the selection again by its id (kept at its place when it was the status row).
 * hold: the same view of new data on a pane whose resting cursor holds its place. */
static void keep_selection(ui *u, int p, bool hold)
{
    ui_pane *pn = &u->panes[p];
    size_t n = pn->table.nrows;
    if (pn->sel_id[0]) {
        for (size_t i = 0; i < n; i++)
            if (!panes_is_status_row(pn->rows[i]) &&
                strcmp(panes_ops[p].id(pn->rows[i]), pn->sel_id) == 0) {
                if (hold && i > pn->table.sel)
                    hold_row(pn->rows, i, pn->table.sel);
                else
                    pn->table.sel = i;
                break;
            }
    }
    widget_table_clamp(&pn->table);
    if (n && !panes_is_status_row(pn->rows[pn->table.sel]))
        snprintf(pn->sel_id, sizeof pn->sel_id, "%s", panes_ops[p].id(pn->rows[pn->table.sel]));
}

/* The pane's sorted store rows made (again when the store, the marks or the sort
 * changed since): false when out of memory. texts_check first. */
static bool sorted_made(const ui *u, ui_pane *pn, const pane_ops *ops)
{
    struct pane_sorted *c = pn->sorted;
    if (!c && !(c = pn->sorted = calloc(1, sizeof *c)))
        return false;
    if (c->made && c->key == pn->texts_key && c->sort == pn->sort)
        return true;
    c->made = false;
    c->n = ops->collect(u, &c->rows, &c->cap);
    sort_ctx ctx = {u, ops, pn->sort};
    if (c->n > 1)
        qsort_r(c->rows, c->n, sizeof *c->rows, sort_cmp, &ctx);
    const char **t = realloc(c->text, (c->n ? c->n : 1) * sizeof *t);
    uint32_t *k = t ? realloc(c->kept, (c->n ? c->n : 1) * sizeof *k) : NULL;
    if (t)
        c->text = t;
    if (!k)
        return false;
    c->kept = k;
    memset(c->text, 0, c->n * sizeof *c->text);
    c->key = pn->texts_key;
    c->sort = pn->sort;
    c->needle[0] = '\0';
    c->nkept = 0;
    c->made = true;
    return true;
}

/* True when sorted row i holds needle (its text made once, as row_matches). */
static bool sorted_matches(const ui *u, ui_pane *pn, const pane_ops *ops, size_t i,
                           const char *needle)
{
    struct pane_sorted *c = pn->sorted;
    if (!c->text[i])
        c->text[i] = row_text(u, pn, ops, c->rows[i]);
    return c->text[i] ? strstr(c->text[i], needle) != NULL
                      : row_matches(u, pn, ops, c->rows[i], needle, false);
}

/* Puts a paged pane's store rows holding needle ("" every one) into pn->rows, in the
 * pane's sort (struct pane_sorted): how many. A needle that extends the last one
 * filters the rows the last one kept. */
static size_t sorted_rows(const ui *u, ui_pane *pn, const pane_ops *ops, const char *needle)
{
    texts_check(u, pn);
    if (!sorted_made(u, pn, ops)) { /* out of memory: the slow way */
        size_t n = ops->collect(u, &pn->rows, &pn->cap);
        sort_ctx ctx = {u, ops, pn->sort};
        if (n > 1)
            qsort_r(pn->rows, n, sizeof *pn->rows, sort_cmp, &ctx);
        return needle[0] ? filter_rows(u, pn, ops, pn->rows, n, n, needle) : n;
    }
    struct pane_sorted *c = pn->sorted;
    if (!reserve(pn, c->n + 1))
        return 0;
    if (!needle[0]) {
        memcpy(pn->rows, c->rows, c->n * sizeof *pn->rows);
        return c->n;
    }
    size_t had = strlen(c->needle), k = 0;
    if (had && strncmp(needle, c->needle, had) == 0) { /* narrows the kept rows */
        for (size_t j = 0; j < c->nkept; j++)
            if (sorted_matches(u, pn, ops, c->kept[j], needle))
                c->kept[k++] = c->kept[j];
    } else {
        for (size_t i = 0; i < c->n; i++)
            if (sorted_matches(u, pn, ops, i, needle))
                c->kept[k++] = (uint32_t)i;
    }
    c->nkept = k;
    snprintf(c->needle, sizeof c->needle, "%s", needle);
    for (size_t j = 0; j < k; j++)
        pn->rows[j] = c->rows[c->kept[j]];
    return k;
}

/* Sorts rows [nleft, n) of the pane and merges them with rows [0, nleft), already sorted
 * (the store's rows and the ones read: a few hundred sorted, not the 20,000). */
static void merge_runs(const ui *u, ui_pane *pn, const pane_ops *ops, size_t nleft, size_t n)
{
    sort_ctx ctx = {u, ops, pn->sort};
    const void **r = pn->rows;
    if (n - nleft > 1)
        qsort_r(r + nleft, n - nleft, sizeof *r, sort_cmp, &ctx);
    if (nleft == 0 || n == nleft || sort_cmp(&r[nleft - 1], &r[nleft], &ctx) <= 0)
        return;
    struct pane_sorted *c = pn->sorted;
    if (c && c->scratch_cap < nleft) {
        const void **sc = realloc(c->scratch, nleft * sizeof *sc);
        if (sc) {
            c->scratch = sc;
            c->scratch_cap = nleft;
        }
    }
    if (!c || c->scratch_cap < nleft) { /* out of memory: the slow way */
        qsort_r(r, n, sizeof *r, sort_cmp, &ctx);
        return;
    }
    memcpy(c->scratch, r, nleft * sizeof *r);
    size_t a = 0, b = nleft, o = 0; /* o never passes b: the right run is read first */
    while (a < nleft && b < n)
        r[o++] = sort_cmp(&r[b], &c->scratch[a], &ctx) < 0 ? r[b++] : c->scratch[a++];
    while (a < nleft)
        r[o++] = c->scratch[a++];
}

/* The store's rows of pane p holding needle, sorted: how many (into pn->rows). */
static size_t store_rows(ui *u, int p, const char *needle)
{
    ui_pane *pn = &u->panes[p];
    const pane_ops *ops = &panes_ops[p];
    if (ops->history) /* a pane that pages: the held rows kept sorted (pane_sorted) */
        return sorted_rows(u, pn, ops, needle);
    size_t n = ops->collect(u, &pn->rows, &pn->cap);
    if (needle[0])
        n = filter_rows(u, pn, ops, pn->rows, n, n, needle);
    sort_ctx ctx = {u, ops, pn->sort};
    if (n > 1)
        qsort_r(pn->rows, n, sizeof *pn->rows, sort_cmp, &ctx);
    return n;
}

/* Computes a pane's rows (see ui.h); hold as keep_selection's. */
static void compute(ui *u, int p, const page_result *res, bool hold)
{
    ui_pane *pn = &u->panes[p];
    const pane_ops *ops = &panes_ops[p];
    char needle[128];
    snprintf(needle, sizeof needle, "%s", pn->filter);
    ascii_lower(needle);
    bool searched = res && searches_server(pn->filter);
    size_t n = store_rows(u, p, needle);
    if (res) {
        size_t nstored = n;
        n = merge_read(u, p, res, n, searched ? needle : "");
        if (needle[0] && !searched) /* the rows read, as the held ones */
            n = nstored + filter_rows(u, pn, ops, pn->rows + nstored, n - nstored, 0, needle);
        merge_runs(u, pn, ops, nstored, n);
    }
    n = cut_at_frontier(u, p, res, n);
    pn->hist = res ? res->state : PAGE_IDLE;
    pn->hist_more = res && !res->complete;
    snprintf(pn->hist_error, sizeof pn->hist_error, "%s",
             res && res->state == PAGE_FAILED ? res->error : "");
    pn->status_row = res && res->state != PAGE_IDLE && reserve(pn, n + 1);
    if (pn->status_row)
        pn->rows[n++] = STATUS_ROW;
    pn->table.nrows = n;
    keep_selection(u, p, hold);
}

/* Computes a pane's rows; see ui.h. */
void panes_compute(ui *u, int p, const page_result *res)
{
    compute(u, p, res, false);
}

/* The rows a pane wants read: two screens past its top row. */
static size_t pane_want(const ui_pane *pn)
{
    size_t page = pn->table.page > 0 ? (size_t)pn->table.page : 20;
    return pn->table.top + 2 * page;
}

/* Reads pane p's query from the client: first without asking (a failure is not asked
 * again by itself: a failing server would be asked in a loop), then asking for `want`
 * rows when the last read did not fail or the operator asked again, once the market has
 * been read. */
static void read_history(ui *u, int p, const page_query *q, size_t want, page_result *res)
{
    ui_pane *pn = &u->panes[p];
    client_history(u->cl, q, 0, res);
    if (u->cs.snapshots == 0 && !client_bound(u->cl)) /* the market not read yet */
        want = 0;
    if (want && (res->state != PAGE_FAILED || pn->retry)) {
        client_history(u->cl, q, want, res);
        /* the client pauses a second after a failure (api/client_pages.c): the
         * operator's ask is kept until it goes out */
        pn->retry = pn->retry && res->state == PAGE_FAILED;
    }
    pn->asked = want;
}

/* Recomputes a pane's rows; see ui.h. */
void panes_refresh(ui *u, int p, bool force)
{
    ui_pane *pn = &u->panes[p];
    page_query q;
    bool paged = panes_query(u, p, &q);
    /* a filter too short for the server filters what is held: nothing more is read */
    size_t want = paged && (!pn->filter[0] || q.q[0]) ? pane_want(pn) : 0;
    bool same_data = pn->computed_gen == u->gen && pn->computed_marks == u->marks && pn->rows;
    bool same_filter = strcmp(pn->filtered_by, pn->filter) == 0;
    if (!force && same_data && same_filter && want <= pn->asked && !pn->retry)
        return;
    /* Typing one more character of a filter narrows the rows already shown (same data,
     * already sorted): no collect, no sort. Not where the server searches. */
    if (!paged && !force && same_data && pn->filtered_by[0] &&
        strncmp(pn->filter, pn->filtered_by, strlen(pn->filtered_by)) == 0) {
        char needle[128];
        snprintf(needle, sizeof needle, "%s", pn->filter);
        ascii_lower(needle);
        size_t n = pn->table.nrows; /* a pane that does not page: the store's rows */
        pn->table.nrows = filter_rows(u, pn, &panes_ops[p], pn->rows, n, n, needle);
        keep_selection(u, p, false);
    } else {
        page_result res = {0};
        if (paged)
            read_history(u, p, &q, want, &res);
        /* the same view of new data: what a resting cursor holds its place through */
        bool hold = panes_ops[p].hold && !force && same_filter;
        compute(u, p, paged ? &res : NULL, hold);
    }
    memcpy(pn->filtered_by, pn->filter, sizeof pn->filtered_by); /* same size, NUL inside */
    pn->computed_gen = u->gen;
    pn->computed_marks = u->marks;
}

/* The selected object of the current pane, without a refresh; see ui.h. */
const void *panes_current(const ui *u, model_kind *kind)
{
    const ui_pane *pn = &u->panes[u->pane];
    if (kind)
        *kind = panes_ops[u->pane].kind;
    if (pn->table.nrows == 0 || panes_is_status_row(pn->rows[pn->table.sel]))
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
    const void *r = c->u->panes[c->pane].rows[row];
    if (!panes_is_status_row(r)) /* drawn across the row by panes_draw */
        panes_ops[c->pane].cell(c->u, r, col, buf, size, attr);
}

/* widget_row_attr_fn adaptor: in-flight rows stand out. */
static unsigned long row_attr_adaptor(void *ud, size_t row)
{
    const cell_ctx *c = ud;
    const void *r = c->u->panes[c->pane].rows[row];
    if (panes_is_status_row(r))
        return theme_attr(c->u->panes[c->pane].hist == PAGE_FAILED ? THEME_WARN : THEME_DIM);
    const char *id = panes_ops[c->pane].id(r);
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

/* The status row's text: "loading…", or why the read failed and how to ask again. */
static void status_row_text(const ui_pane *pn, char *out, size_t size)
{
    if (pn->hist == PAGE_FAILED) {
        char keys[64];
        keymap_keys_of(ACT_REFRESH, keys, sizeof keys);
        char *sp = strchr(keys, ' ');
        if (sp)
            *sp = '\0';
        const char *why = pn->hist_error[0] ? pn->hist_error : "failed";
        if (strncmp(why, "history: ", 9) == 0) /* the client's own prefix, said once */
            why += 9;
        snprintf(out, size, "history: %s (%s%s retries)", why, keys[0] ? keys : ":refresh",
                 keys[0] ? " or a move" : "");
    } else
        snprintf(out, size, "loading%s", widget_glyph_str(GLYPH_ELLIPSIS));
}

/* Draws the status row across the table's width when it is in view. */
static void status_row_draw(const ui *u, WINDOW *w, int width)
{
    const ui_pane *pn = &u->panes[u->pane];
    const widget_table *t = &pn->table;
    size_t last = t->nrows - 1;
    if (!pn->status_row || t->nrows == 0 || last < t->top ||
        last - t->top >= (size_t)(u->lay.table_h - 1))
        return;
    int y = u->lay.top + 1 + (int)(last - t->top);
    bool sel = t->sel == last;
    unsigned long a = sel ? theme_attr(THEME_SELECTED)
                          : theme_attr(pn->hist == PAGE_FAILED ? THEME_WARN : THEME_DIM);
    char text[256];
    status_row_text(pn, text, sizeof text);
    widget_fill(w, y, 0, width, a);
    if (sel)
        widget_text(w, y, 0, 1, widget_glyph_str(GLYPH_POINTER), a);
    widget_text(w, y, 2, width - 3, text, a);
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
        status_row_draw(u, w, width);
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
