/* view.c: the update step, between the client and the screen. After the client has run,
 * view_after_client reads its status, notes whether the store changed (ui.gen: the store
 * changed, and nothing else) and adopts a viewer role as read-only. Before a frame,
 * view_prepare computes everything the frame shows that is not in the store: the layout
 * (ui_layout_of, the one rule), the header's counts, the current pane's rows, its
 * table's page and scroll, the selection kept on its object, the detail's lines (and a
 * shown thread's history asked for). The drawing (app.c) then only reads. */
#include "tui/ui.h"

#include <string.h>

/* Sum of the store's change counters, its position and the history read (a page that
 * arrived, failed or was dropped): changes when anything a pane shows does. */
static uint64_t store_fingerprint(const store *st, const client *cl)
{
    uint64_t s = (uint64_t)store_seq(st) * 1000003u;
    for (int k = 0; k < MODEL_KIND_COUNT; k++)
        s += store_changes(st, (model_kind)k);
    if (cl)
        s += client_history_changes(cl) * 7919u;
    return s;
}

/* Reads the client after it ran; see ui.h. */
bool view_after_client(ui *u)
{
    bool changed = false;
    uint64_t fp = store_fingerprint(u->st, u->cl);
    if (fp != u->seen_changes) {
        u->seen_changes = fp;
        u->gen++;
        u->dirty = true;
        client_status_get(u->cl, &u->cs);
        u->shown_lag_ms = u->cs.lag_ms; /* measured as the events land, not while idle */
        batch_prune(u);                 /* a mark on a purchase no longer waiting drops by itself */
        changed = true;
    } else {
        /* The header tells the connection's state and who we are even when no event
         * changed the store (a quiet market: connecting -> live, whoami's answer). */
        client_status cs;
        client_status_get(u->cl, &cs);
        if (cs.state != u->cs.state || strcmp(cs.role, u->cs.role) != 0 ||
            strcmp(cs.operator_name, u->cs.operator_name) != 0 ||
            strcmp(cs.last_error, u->cs.last_error) != 0) {
            u->cs = cs;
            u->dirty = true;
        }
    }
    if (!u->read_only && strcmp(u->cs.role, "viewer") == 0) {
        u->read_only = true; /* a viewer token: every decision visibly unavailable */
        u->dirty = true;
    }
    policies_after_client(u); /* a backtest's answer under its confirmation */
    agents_after_client(u);   /* new scorecards */
    if (u->advance_from[0]) { /* a decision went out: on to the next waiting purchase */
        panes_select_after_decision(u, u->advance_from);
        u->advance_from[0] = '\0';
        u->advance_id = 0;
    }
    return changed;
}

/* The layout; see ui.h. Below 20 rows of pane area the table and the detail do not both
 * fit: Enter gives the detail the whole area. Otherwise the table takes two fifths (six
 * rows when the detail is open) and the detail the rest. */
ui_layout ui_layout_of(const ui *u, int rows, int cols)
{
    ui_layout l = {.rows = rows, .cols = cols, .top = 3, .height = rows - 5};
    l.too_small = rows < 10 || cols < 40;
    const ui_pane *pn = &u->panes[u->pane];
    bool split = l.height >= 20; /* room for table and detail together */
    if (pn->detail && !split) {
        l.detail_full = true;
        l.detail_top = l.top;
        l.detail_h = l.height;
        return l;
    }
    l.table_h = l.height;
    if (split && pn->table.nrows > 0) {
        l.table_h = pn->detail ? 6 : l.height * 2 / 5;
        if (l.table_h < 6)
            l.table_h = 6;
    }
    if (split && l.table_h < l.height) {
        l.detail_top = l.top + l.table_h + 1; /* below a rule */
        l.detail_h = l.height - l.table_h - 1;
    }
    return l;
}

/* Counts what waits and the open alerts; see ui.h. */
ui_counts ui_count(const ui *u)
{
    ui_counts c = {0};
    size_t n;
    const model_purchase *const *p = store_purchases(u->st, &n);
    for (size_t i = 0; i < n; i++)
        if (p[i]->status == PUR_PENDING) {
            c.pending++;
            if (p[i]->decide_by && (!c.nearest || p[i]->decide_by < c.nearest))
                c.nearest = p[i]->decide_by;
        }
    const model_alert *const *a = store_alerts(u->st, &n);
    for (size_t i = 0; i < n; i++)
        if (a[i]->status == ALERT_OPEN && a[i]->severity <= SEV_CRITICAL)
            c.sev[a[i]->severity]++;
    return c;
}

/* Prepares a frame; see ui.h. */
void view_prepare(ui *u, int rows, int cols)
{
    if (u->cl)
        client_status_get(u->cl, &u->cs);
    u->counts = ui_count(u);
    u->lay = ui_layout_of(u, rows, cols);
    if (u->lay.too_small || u->mode == MODE_HELP)
        return;
    panes_refresh(u, u->pane, false);
    u->lay = ui_layout_of(u, rows, cols); /* the split depends on whether rows are shown */
    panes_place(u);
    panes_refresh(u, u->pane, false); /* placed near the end of the history read: more */
    panes_place(u);
    if (u->lay.detail_h > 0)
        detail_update(u, cols, u->lay.detail_h);
}
