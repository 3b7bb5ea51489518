/* bench_console.c: what the console's panes cost with a big store.
 *
 *   refresh      recomputing the Listings pane (collect, sort by recency) for N rows
 *   filter       the same with a filter typed (every row's cells searched)
 *   sort         re-sorting by price
 *   move         a page down (virtualised: independent of N)
 *
 * The store is filled with N listings from 200 sellers (store_load, as a snapshot does),
 * then each operation is timed over several runs; the median is printed in ms. A
 * frame at 30 frames/s has 33 ms. Usage: bench_console [N] (default 100000).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/model.h"
#include "api/text.h"
#include "tui/ui.h"
#include "tests/lib/proc.h"

/* A sanitised text field. */
static model_text mk(const char *s)
{
    model_text t = {0};
    t.s = text_sanitize_str(s, TEXT_UTF8, &t.flags, &t.width);
    return t;
}

/* Times fn over runs and returns the median in ms. */
static double median_ms(void (*fn)(ui *), ui *u, int runs)
{
    double t[16];
    for (int i = 0; i < runs; i++) {
        double a = tproc_now_s();
        fn(u);
        t[i] = (tproc_now_s() - a) * 1000.0;
    }
    qsort(t, (size_t)runs, sizeof t[0], tproc_cmp_double);
    return t[runs / 2];
}

static void op_refresh(ui *u)
{
    u->gen++;
    panes_refresh(u, PANE_LISTINGS, false);
}
static void op_filter(ui *u)
{
    snprintf(u->panes[PANE_LISTINGS].filter, sizeof u->panes[0].filter, "lamp 7");
    u->gen++;
    panes_refresh(u, PANE_LISTINGS, false);
    u->panes[PANE_LISTINGS].filter[0] = '\0';
}
static void op_sort(ui *u)
{
    u->panes[PANE_LISTINGS].sort = 1;
    panes_refresh(u, PANE_LISTINGS, true);
    u->panes[PANE_LISTINGS].sort = 0;
}
/* Typing "lamp 7" one character at a time, as an operator does. */
static void op_typing(ui *u)
{
    const char *word = "lamp 7";
    char *f = u->panes[PANE_LISTINGS].filter;
    for (size_t i = 1; i <= strlen(word); i++) {
        memcpy(f, word, i);
        f[i] = '\0';
        panes_refresh(u, PANE_LISTINGS, false);
    }
    f[0] = '\0';
    panes_refresh(u, PANE_LISTINGS, false);
}
static void op_move(ui *u)
{
    widget_table_move(&u->panes[PANE_LISTINGS].table, 25);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    static ui u;
    u.st = store_new();
    u.mode_text = TEXT_UTF8;
    store_reset(u.st, "bench", 0);
    for (int a = 0; a < 200; a++) {
        model_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = MODEL_AGENT;
        snprintf(ev.u.agent.id, sizeof ev.u.agent.id, "agt_%d", a);
        ev.u.agent.version = 1;
        char name[32];
        snprintf(name, sizeof name, "seller-%03d", a);
        ev.u.agent.name = mk(name);
        ev.u.agent.principal = mk("Shop Ltd");
        ev.u.agent.seller = true;
        memcpy(ev.u.agent.currency, "USD", 4);
        store_load(u.st, &ev);
        model_event_free(&ev);
    }
    for (long i = 0; i < n; i++) {
        model_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = MODEL_LISTING;
        model_listing *l = &ev.u.listing;
        snprintf(l->id, sizeof l->id, "lst_%ld", i + 1);
        snprintf(l->seller_id, sizeof l->seller_id, "agt_%ld", i % 200);
        char title[64];
        snprintf(title, sizeof title, "%s %ld", i % 3 ? "Road bike" : "Desk lamp", i);
        l->version = 1;
        l->title = mk(title);
        l->description = mk("A perfectly ordinary item.");
        l->category = mk(i % 3 ? "bikes" : "home");
        l->unit_price_minor = 1000 + (i * 7919) % 100000;
        memcpy(l->currency, "USD", 4);
        l->quantity = 1 + i % 9;
        l->floor_minor = -1;
        l->updated_at = 1700000000000 + i;
        store_load(u.st, &ev);
        model_event_free(&ev);
    }
    u.panes[PANE_LISTINGS].table.page = 25;
    printf("console panes with %ld listings (median of 7 runs)\n", n);
    printf("  %-8s %8.2f ms\n", "refresh", median_ms(op_refresh, &u, 7));
    printf("  %-8s %8.2f ms  (one filter over every row)\n", "filter", median_ms(op_filter, &u, 7));
    printf("  %-8s %8.2f ms  (6 keystrokes and Esc: whole typing)\n", "typing",
           median_ms(op_typing, &u, 7));
    printf("  %-8s %8.2f ms\n", "sort", median_ms(op_sort, &u, 7));
    printf("  %-8s %8.4f ms\n", "move", median_ms(op_move, &u, 7));
    for (int p = 0; p < PANE_COUNT; p++) {
        free(u.panes[p].rows);
        panes_texts_free(&u.panes[p]);
    }
    store_free(u.st);
    return 0;
}
