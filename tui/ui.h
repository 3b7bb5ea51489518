/* ui.h: what the console's files share (internal to tui/; see app.h for the table).
 *
 * One `ui` value holds the whole console: the store and client it reads from, the
 * panes' positions, the mode (browsing, filter, command line, prompt, confirmation,
 * help), the status line and the decisions in flight. Every operator action is one
 * entry of the table in commands.c (a key, a command or both); keys are bound to entries
 * (keymap.c), decisions become requests (actions.c), and every outcome comes back through
 * the client, always from client_run; nothing here writes the store. Before a frame the
 * update step (view.c) computes what it shows (layout, counts, rows, detail); the
 * drawing functions take a `const ui *` and only read.
 */
#ifndef DEALDESK_TUI_UI_H
#define DEALDESK_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "api/client.h"
#include "api/config.h"
#include "api/decision.h"
#include "api/model.h"
#include "api/pages.h"
#include "widgets/widgets.h"

typedef enum ui_pane_id {
    PANE_PENDING,
    PANE_THREADS,
    PANE_LISTINGS,
    PANE_LEDGER,
    PANE_ALERTS,
    PANE_AGENTS,
    PANE_POLICIES,
    PANE_DISPUTES, /* tui/disputes.c (issue 17) */
    PANE_COUNT
} ui_pane_id;

typedef enum ui_mode {
    MODE_BROWSE,  /* tables and details */
    MODE_FILTER,  /* typing a filter after '/' */
    MODE_LINE,    /* readline: ':' command, or a prompt (reason, cap, halt) */
    MODE_CONFIRM, /* a y/N confirmation of a decision */
    MODE_HELP,    /* the help screen */
    MODE_ASK,     /* a y/N question that is not a decision (session.c) */
} ui_mode;

/* The questions of session.c. */
typedef enum ui_ask { ASK_NONE, ASK_RESEND, ASK_QUIT } ui_ask;

/* A pane's rows: borrowed pointers into the store, filtered and sorted. */
typedef struct ui_pane {
    widget_table table;
    const void **rows;
    size_t cap;
    uint64_t computed_gen;   /* ui.gen when rows were last computed */
    uint64_t computed_marks; /* ui.marks when rows were last computed */
    char filtered_by[128];   /* the filter the rows were computed with */
    char filter[128];
    int sort;          /* index into the pane's sort orders */
    bool detail;       /* the detail view is open (full screen at small sizes) */
    int detail_scroll; /* first line of the detail shown */
    char sel_id[80];   /* id of the selected row, kept across recomputes */
    /* history read from the server (a pane that pages, rows.c) */
    size_t asked;         /* rows of the query asked for at the last read */
    bool retry;           /* the operator asked again after a failure (a move, refresh) */
    page_state hist;      /* the query's state at the last read */
    bool hist_more;       /* the server has rows after the last shown */
    bool status_row;      /* the last row is the "loading…" or error row, not an object */
    char hist_error[160]; /* sanitised (PAGE_FAILED) */
    /* the search text of each of the store's rows (its cells as shown, lower case), made
     * once per version of the store and ui.marks, not once per key (rows.c row_text) */
    struct pane_text *texts; /* open addressing by row pointer; NULL: none yet */
    size_t texts_cap, texts_n;
    uint64_t texts_key;         /* texts_of: the store and the marks they were made under */
    struct pane_sorted *sorted; /* a paged pane's store rows, sorted, and the last filter's
                                   (rows.c sorted_rows); NULL: none yet */
} ui_pane;

/* A decision sent and not yet answered. */
typedef struct ui_inflight {
    uint64_t id;
    decision_action action;
    char subject[65];
    char label[32]; /* "approving…" */
} ui_inflight;

/* What a readline prompt is collecting for. */
typedef enum ui_line_purpose {
    LINE_COMMAND,
    LINE_VETO_REASON,
    LINE_CAP_PRICE,
    LINE_CAP_QTY,
    LINE_REFUND_REASON,
    LINE_PAUSE_REASON,
    LINE_HALT_REASON,
    LINE_HALT_CONFIRM,
    LINE_BATCH_VETO_REASON, /* one reason for every marked purchase (batch.c) */
    LINE_HALT_SCOPE,        /* H: the fleet, or the selection's category, seller or principal */
    LINE_DISPUTE_AMOUNT,    /* a partial refund's amount, as money (disputes.c) */
    LINE_DISPUTE_REASON,    /* a dispute's resolution: its reason */
} ui_line_purpose;

/* At most this many rows marked, decisions in flight, purchases kept with their outcome:
 * a batch of marks is sent at once (batch.c). */
#define UI_MAX_MARKS    128
#define UI_MAX_INFLIGHT UI_MAX_MARKS

/* One purchase of a batch decision: what the preview showed (the version and total the
 * decision is bound to), then what came of it. */
typedef enum ui_batch_result {
    BATCH_WAITING,
    BATCH_DONE,
    BATCH_FIRST, /* a first approval of two: the purchase still waits for a second person */
    BATCH_REFUSED,
    BATCH_UNKNOWN
} ui_batch_result;
typedef struct ui_batch_item {
    char id[MODEL_ID_MAX + 1];
    int64_t version, total_minor;
    char currency[4];
    uint64_t dec; /* client_decide's id (0: not sent) */
    ui_batch_result result;
    char why[96]; /* a refusal in words ("changed since shown") */
} ui_batch_item;

/* A batch decision on the marked purchases (batch.c): previewed in the confirmation box
 * (boxed), then sent one decision per purchase; the summary goes to the status line when
 * the last answer is in. */
typedef struct ui_batch {
    bool boxed; /* the confirmation box open is this batch's */
    decision_action action;
    char reason[501];
    ui_batch_item items[UI_MAX_MARKS];
    size_t n;
    size_t open; /* sent and not yet answered */
} ui_batch;

/* Where the parts of a frame go: the one layout rule (view.c, ui_layout_of), read by the
 * update step, the drawing, and the keys that scroll a detail filling the screen. */
typedef struct ui_layout {
    int rows, cols;
    bool too_small;           /* under 40x10: only a message is drawn */
    int top, height;          /* the pane area: below the header and the tabs, above the
                                 status line and the keys */
    bool detail_full;         /* the open detail fills the pane area (no room for both) */
    int table_h;              /* the table's rows, its heading included (0: detail_full) */
    int detail_top, detail_h; /* the detail's rows (detail_h 0: no detail shown) */
} ui_layout;

/* What the header counts, once per frame (view.c), for the header and the bell. */
typedef struct ui_counts {
    size_t pending;  /* purchases waiting for approval */
    int64_t nearest; /* the nearest of their deadlines (0: none) */
    size_t sev[3];   /* open alerts by severity */
} ui_counts;

/* The detail of the selection as lines, built by the update step (detail.c). */
typedef struct ui_detail ui_detail;

typedef struct ui {
    const config *cfg;
    store *st;
    client *cl;
    text_mode mode_text;
    bool read_only; /* --read-only, a viewer token or replay */
    bool colour;
    bool bell;           /* ring on a critical alert or a new pending purchase */
    char theme_name[64]; /* the theme asked for (":theme" changes it) */

    ui_pane panes[PANE_COUNT];
    int pane;
    ui_mode mode;
    uint64_t gen;          /* bumps when the store or the history read changed, and only
                              then */
    uint64_t marks;        /* bumps when this console's own marks on rows change (in
                              flight, decided here, the confirmation's subject) */
    uint64_t seen_changes; /* sum of the store's change counters at the last look */
    bool dirty;            /* something on screen must be redrawn */
    bool quit;
    int exit_code;

    /* status line */
    char status[512];
    bool status_error;
    int64_t status_at_ms;
    int64_t status_until_ms; /* when the line clears itself (UI_STATUS_*_MS after it was set) */

    /* readline prompt */
    ui_line_purpose line_purpose;
    int64_t line_started_ms; /* a status newer than this shows while the line is open */
    decision_req line_req;   /* the request being built by prompts */

    /* confirmation */
    decision_req confirm_req;
    char confirm_title[128];
    char confirm_lines[12][256];
    int confirm_n;
    int64_t confirm_version;   /* the version the confirmation is bound to (0: none) */
    uint64_t confirm_backtest; /* the backtest the confirmation shows (policies.c; 0: none) */
    uint64_t shown_backtest;   /* the one whose answer its lines show */

    /* a question of session.c */
    ui_ask ask;
    int64_t unattended_told; /* the unattended spell explained (session.c), 0 none */
    char ask_title[64];
    char ask_lines[3][320];

    ui_inflight inflight[UI_MAX_INFLIGHT];
    size_t ninflight;

    /* bell bookkeeping */
    size_t seen_pending;
    size_t seen_critical;
    bool bell_primed;
    int64_t bell_at_ms; /* last ring: at most one every 2 s under a flood */

    /* escalation at the terminal (notify.c; opt-in by config) */
    struct {
        bool primed;         /* the first snapshot was seen: what follows is new */
        int64_t alert_at;    /* the newest critical alert notified (its at) */
        int64_t purchase_at; /* the newest pending purchase notified (its created_at) */
        char title[96];      /* the terminal title last written ("" none) */
    } esc;

    /* purchases decided from this console: kept on the Pending pane with their outcome */
    char recent[UI_MAX_MARKS][MODEL_ID_MAX + 1];
    size_t nrecent;

    /* Pending rows marked for a batch decision, by purchase id (batch.c) */
    char marked[UI_MAX_MARKS][MODEL_ID_MAX + 1];
    size_t nmarked;
    ui_batch batch;

    /* the agents' scorecards (agents.c): when the last read was asked, the answer seen */
    int64_t stats_asked_ms;
    uint64_t stats_seen;

    /* the thread whose messages the detail showed last (client_fetch_thread watches it) */
    char watching[MODEL_ID_MAX + 1];

    /* purchase decided with a key: the Pending selection moves on from it in the update
     * step, unless the client refused the decision before sending it */
    uint64_t advance_id;
    char advance_from[MODEL_ID_MAX + 1];

    int help_scroll;
    char binding_warnings[512];
    client_status cs;     /* refreshed after the client ran, and for each frame */
    int64_t shown_lag_ms; /* stream lag measured when events were applied (idle keeps it) */
    ui_layout lay;        /* this frame's layout (view.c) */
    ui_counts counts;     /* this frame's counts (view.c) */
    ui_detail *detail;    /* this frame's detail lines (detail.c; owned) */
} ui;

/* ---- app.c ---- */
/* How long a status message stays: an error longer than a notice. A timer in the event
 * loop clears it (one frame, no redraws meanwhile); a pane switch or a new confirmation
 * clears it at once. */
#define UI_STATUS_INFO_MS  6000
#define UI_STATUS_ERROR_MS 20000
/* Sets the status line (printf-style; the text is the program's own). */
void ui_status(ui *u, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Clears the status line (a pane switch, a new confirmation, its lifetime over). */
void ui_status_clear(ui *u);
/* Current wall-clock time in ms since the epoch. */
int64_t ui_now_ms(void);

/* ---- view.c: the update step (between the client and the screen) ---- */
/* After each client_run: reads the client's status, bumps ui.gen when the store changed,
 * adopts a viewer role as read-only, and marks the screen dirty when the header would
 * change. Returns true when the store changed. */
bool view_after_client(ui *u);
/* Before a frame: the layout, the counts, the current pane's rows and placement, the
 * selection kept, the detail built (asking for a thread's history when it is shown).
 * The drawing then only reads. */
void view_prepare(ui *u, int rows, int cols);
/* The layout of a rows x cols screen for the current pane (the one rule). */
ui_layout ui_layout_of(const ui *u, int rows, int cols);
/* Counts pending purchases (and the nearest deadline) and open alerts by severity. */
ui_counts ui_count(const ui *u);

/* ---- header.c ---- */
/* The market's clock (ms since the epoch) that deadlines count against: the wall clock,
 * or in a replay the recording's (client_clock_ms). */
int64_t ui_clock_ms(const ui *u);
/* Draws the two header lines (connection, operator, fleet; u->counts). */
void header_draw(const ui *u, WINDOW *w);

/* ---- notify.c: escalation at the terminal (issue 16) ---- */
/* A notification's title and body are each cut to NOTIFY_TEXT_MAX - 1 bytes. */
#define NOTIFY_TEXT_MAX 200
/* Copies any bytes into out (max_bytes with the NUL) as text fit for an OSC string:
 * sanitised, no control byte, DEL or ';', cut on a character. Returns the length. */
size_t notify_clean(const char *in, char *out, size_t max_bytes, text_mode mode);
/* Builds the OSC 777 (ESC ] 777 ; notify ; TITLE ; BODY BEL) or OSC 9 (ESC ] 9 ; TITLE:
 * BODY BEL) notification of title and body (each through notify_clean) into out;
 * returns its length, 0 when off or when it does not fit. */
size_t notify_osc(char *out, size_t size, config_notify how, const char *title, const char *body,
                  text_mode mode);
/* "dealdesk · 3 pending · 1 critical" (the critical part only when there are some). */
void notify_title_text(size_t pending, size_t critical, text_mode mode, char *out, size_t size);
/* After a frame drawn with fresh counts (app.c, after doupdate): notifications for
 * what is new and the title when it changed. Nothing in replay. */
void notify_after_frame(ui *u);
/* At exit: clears the title it set and restores the terminal's own. */
void notify_done(ui *u);
/* The repeating bell: when it rings next (-1: not armed: off, :bell off, replay, or no
 * critical alert open); fire recounts and returns whether to ring. */
int64_t notify_bell_due(const ui *u);
bool notify_bell_fire(ui *u, int64_t now);

/* ---- panes.c: the seven panes as data ---- */
/* What a pane that pages from the server asks for under one of its sort orders: the
 * server's sort= (docs/api.md, Reading) that the pane's comparator agrees with, ties by
 * creation order in the same direction, and status=. sort NULL: that order has no
 * server sort, and the pane shows the rows the store holds. */
typedef struct pane_history {
    const char *sort;
    const char *status;
} pane_history;
/* One pane as a table of operations. */
typedef struct pane_ops {
    const char *name;
    model_kind kind; /* what its rows are */
    const widget_column *cols;
    int ncols;
    const char *const *sorts; /* sort order names, NULL-terminated */
    /* Fills rows with the pane's objects from the store (unfiltered, unsorted). */
    size_t (*collect)(const ui *u, const void ***rows, size_t *cap);
    /* Compares two rows under sort order `sort`. */
    int (*compare)(const ui *u, int sort, const void *a, const void *b);
    /* Fills one cell (col: one of the pane's column enum). */
    void (*cell)(const ui *u, const void *row, int col, char *buf, size_t size,
                 unsigned long *attr);
    /* The row's id (borrowed). */
    const char *(*id)(const void *row);
    /* A pane that pages: the query of each sort order (by its index; NULL: the pane
     * shows only what the store holds, as Pending and Agents do). */
    const pane_history *history;
    /* The store's version of a row read from the server, or NULL when not held. */
    const void *(*held)(const ui *u, const void *row);
    /* The selected row holds its place while the cursor rests (Pending): when the data
     * changes, what arrives or ranks higher goes in around it, never pushing it down
     * the screen; the order is recomputed whole once the cursor moves (rows.c). */
    bool hold;
} pane_ops;
/* The seven panes, by ui_pane_id. */
extern const pane_ops panes_ops[PANE_COUNT];
/* The in-flight label for subject id, or NULL. */
const char *panes_inflight_label(const ui *u, const char *id);
/* Where purchase p stands in the Pending queue ranked by what is at stake (severity
 * band, then total within a currency, then deadline): 1-based among the purchases
 * still pending, with how many there are in *of; 0 when p is not pending. */
size_t panes_pending_rank(const ui *u, const model_purchase *p, size_t *of);
/* The severity band of purchase p's flags: SEV_CRITICAL, SEV_WARNING, or -1 for none. */
int panes_pending_band(const model_purchase *p);

/* ---- twoperson.c: two-person approval and claims (issue 16) ---- */
/* "1 of 2 approvals (sup1)" for a purchase that needs two, else "" (into buf). */
const char *twoperson_approvals(const model_purchase *p, char *buf, size_t size);
/* True when pending purchase p waits for an approval this operator can give. */
bool twoperson_mine(const ui *u, const model_purchase *p);
/* "sup2 is reviewing" (into buf) when another supervisor claims p now, else NULL. */
const char *twoperson_reviewer(const ui *u, const model_purchase *p, char *buf, size_t size);
/* The Pending state of pending purchase p when it says more than "waiting": its
 * approvals ("you: " first when this operator can give one) or who reviews it. */
bool twoperson_state(const ui *u, const model_purchase *p, char *buf, size_t size);
/* The confirmation's line about p's approvals and another's claim (and, for a first
 * approval, a warning when fewer than two supervisors are watching); false: none. */
bool twoperson_confirm_line(const ui *u, const model_purchase *p, char *buf, size_t size);
/* Claims pending purchase p for this operator without waiting (api/client.h). */
void twoperson_claim(ui *u, const model_purchase *p);

/* ---- rows.c: a pane's rows ---- */
/* Recomputes the rows of pane p if the store, the history read, the marks or the filter
 * changed since, or the pane scrolled near the end of the history read (force: always);
 * the selection stays on its object. A pane that pages asks the client for its query's
 * rows: at least two screens past the top row (none while the last read failed, until
 * the operator moves or refreshes). */
void panes_refresh(ui *u, int p, bool force);
/* Computes pane p's rows from the store and res (its query's rows as read; NULL: the
 * store's only): merged by id (the store's version wins), filtered, sorted, cut at the
 * frontier (the last row read) while the server has more, and the status row last while
 * a page is on its way or failed. A filter of PAGES_Q_MIN+ characters searched the
 * server: the rows read are kept whatever their cells show. */
void panes_compute(ui *u, int p, const page_result *res);
/* Frees the search texts and sorted rows pane p holds (rows.c); the pane stays usable. */
void panes_texts_free(ui_pane *pn);
/* The query pane p makes now into q; false when it shows the store's rows only (a local
 * pane, a sort without a server sort, no client, a replay). */
bool panes_query(const ui *u, int p, page_query *q);
/* True when row is a pane's status row ("loading…", an error), not an object. */
bool panes_is_status_row(const void *row);
/* The objects among pane p's rows (its status row left out). */
size_t panes_objects(const ui *u, int p);
/* Places the current pane's table in the layout (page, scroll, widths) and notes the
 * selected object (the update step). */
void panes_place(ui *u);
/* Draws the current pane's table (and its detail when the layout has one). */
void panes_draw(const ui *u, WINDOW *w);
/* The name of a pane ("Pending"); static. */
const char *panes_name(int p);
/* The selected object of the current pane after a refresh (borrowed, may be NULL). */
const void *panes_selected(ui *u, model_kind *kind);
/* The same without a refresh (for the drawing and the update step's readers). */
const void *panes_current(const ui *u, model_kind *kind);
/* The name of the current sort order of pane p (static). */
const char *panes_sort_name(int p, int sort);
/* Number of sort orders of pane p. */
int panes_sort_count(int p);
/* The id of a row of pane p (borrowed). */
const char *panes_row_id(int p, const void *row);

/* ---- agents.c: the Agents pane and the agents' scorecards (issue 17) ---- */
enum agent_col {
    NC_AGENT,
    NC_NAME,
    NC_ROLE,
    NC_STATUS,
    NC_DEALS, /* NC_DEALS..NC_PACE: the scorecard's */
    NC_AMOUNT,
    NC_VS_REF,
    NC_TREND,
    NC_STOPPED,
    NC_AFTER,
    NC_FLAGS,
    NC_PACE,
    NC_SPEND_BAR,
    NC_SPENT,
    NC_CAP,
    NC_DEAL_MAX,
    NC_COUNT
};
extern const widget_column agents_cols[NC_COUNT];
extern const char *const agents_sorts[];
size_t agents_collect(const ui *u, const void ***rows, size_t *cap);
int agents_compare(const ui *u, int sort, const void *a, const void *b);
void agents_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                 unsigned long *attr);
const char *agents_row_id(const void *row);
/* Agent id's scorecard from the last read, or NULL. */
const stats_agent *agents_scorecard(const ui *u, const char *id);
/* True when scorecard s is a seller's (its amount is revenue; a low price is its loss). */
bool agents_is_seller(const stats_agent *s);
/* A median against the reference in words: +320 bp is "+3.2%". */
void agents_format_bp(int64_t bp, char *buf, size_t size);
/* A duration: "45s", "2m05s", "3h10m". */
void agents_format_ms(int64_t ms, char *buf, size_t size);
/* When the scorecards are next read (ms since the epoch; -1: not while the pane is hidden
 * or a read is on its way) and the read itself: a loop timer (app.c). */
int64_t agents_stats_due(const ui *u, int64_t now);
void agents_stats_fire(ui *u, int64_t now);
/* After the client ran: new scorecards recompute the pane's rows. */
void agents_after_client(ui *u);
/* Agent a's scorecard as lines for its detail (at most max, 4 or more); how many. */
int agents_scorecard_lines(const ui *u, const model_agent *a, char lines[][256], int max);

/* ---- policies.c: the Policies pane, its decisions and their backtest preview ---- */
enum policy_col {
    PLC_PRIO,
    PLC_NAME,
    PLC_MODE,
    PLC_ENABLED,
    PLC_ACTION,
    PLC_MATCH,
    PLC_HITS,
    PLC_COUNT
};
extern const widget_column policies_cols[PLC_COUNT];
extern const char *const policies_sorts[];
size_t policies_collect(const ui *u, const void ***rows, size_t *cap);
int policies_compare(const ui *u, int sort, const void *a, const void *b);
void policies_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                   unsigned long *attr);
const char *policies_row_id(const void *row);
/* Policy p's match in words: its numeric conditions (amounts as money in its currency,
 * else in the one every agent holds) and its lists; "any purchase" when none. */
void policies_match(const ui *u, const model_policy *p, char *out, size_t size);
/* "approved by policy small-clean-books" when a policy decided purchase p (the name from
 * the store, else as the purchase carries it, else the id; sanitised), else NULL. */
const char *policies_decided_by(const ui *u, const model_purchase *p, char *out, size_t size);
/* The purchase of thread n that a policy decided, or NULL (a scan of the held purchases). */
const model_purchase *policies_thread_purchase(const ui *u, const model_negotiation *n);
/* The decisions: enable or disable the policy named name (NULL: the selected one; want
 * 1 enable, 0 disable, -1 the other of what it is), move it up (-1) or down (+1) in priority, or
 * change one field (":policy set NAME FIELD VALUE"). Each opens a y/N confirmation showing the
 * backtest of the whole set as it would be; nothing is sent before y. */
void policies_toggle(ui *u, const char *name, int want);
void policies_move(ui *u, const char *name, int dir);
void policies_set(ui *u, const char *name, const char *field, const char *value);
/* After client_run: rewrites an open confirmation's preview when its backtest answered. */
void policies_after_client(ui *u);
/* Writes the preview of backtest bt (running, failed or its answer) into lines (at most
 * max of 256 bytes); returns how many. */
int policies_preview(const client_backtest_state *bt, char lines[][256], int max);

/* ---- disputes.c: the Disputes pane and its evidence view (issue 17) ---- */
enum dispute_col {
    DSC_DUE,
    DSC_MARK,
    DSC_DISPUTE,
    DSC_STATUS,
    DSC_REASON,
    DSC_CLAIM,
    DSC_BUYER,
    DSC_SELLER,
    DSC_AGE,
    DSC_COUNT
};
extern const widget_column disputes_cols[DSC_COUNT];
extern const char *const disputes_sorts[];
extern const pane_history disputes_history[];
size_t disputes_collect(const ui *u, const void ***rows, size_t *cap);
int disputes_compare(const ui *u, int sort, const void *a, const void *b);
void disputes_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                   unsigned long *attr);
const char *disputes_row_id(const void *row);
const void *disputes_held(const ui *u, const void *row);
/* The evidence view of dispute d (api/evidence.h: the one source, also of `dealdesk
 * disputes show`) as the detail's lines; asks for what it lacks (the thread's messages,
 * the parties' histories) without waiting. */
void disputes_detail(ui *u, ui_detail *b, const model_dispute *d);
/* Resolves a dispute (id NULL: the selected one) with outcome "refund", "partial_refund" or
 * "rejected": asks what is missing (a partial refund's amount as money, the reason) on the
 * prompt line, then a y/N confirmation bound to the version seen. */
void disputes_resolve(ui *u, const char *id, const char *outcome, const char *amount,
                      const char *reason);
/* The answer to a LINE_DISPUTE_AMOUNT or LINE_DISPUTE_REASON prompt. */
void disputes_line_done(ui *u, const char *line);
/* "dispute now resolved partial_refund $50.00 (v3)" for an outcome's current dispute. */
void disputes_explain(const model_dispute *d, char *out, size_t size);

/* ---- position.c ---- */
/* Selects the row of pane p whose id is id (kept across recomputes); true when shown. */
bool panes_select_id(ui *u, int p, const char *id);
/* Records the row at pane p's table selection as its selected object (after a move). */
void panes_note_selection(ui *u, int p);
/* After a decision on purchase id: when the Pending selection is on it, moves it to the
 * next purchase still waiting (below it, else above), so the operator goes on down the
 * list instead of following the decided row. */
void panes_select_after_decision(ui *u, const char *id);
/* Draws the tabs and the current pane's title (rows shown, "12-33 of 140" with a mark
 * when rows are above, the sort order, the filter) on row y. */
void panes_draw_title(const ui *u, WINDOW *w, int y);

/* ---- format.c ---- */
/* Formats a countdown of ms as "m:ss", "h:mm:ss", "3d 04h" or, from 100 days, "26692d";
 * negative as "0:00". */
void format_countdown(int64_t ms, char *out, size_t size);
/* Formats a quantity with thousands grouping ("1,000") into out; returns out. */
const char *format_qty(int64_t q, char *out, size_t size);
/* Formats money with symbol. */
void format_money(int64_t minor, const char *currency, char *out, size_t size);
/* The limits of a cap in words: "unit price at most $2.00, any quantity" (a limit < 0
 * is none: "any unit price", "any quantity"). */
void format_cap(int64_t max_unit_price_minor, int64_t max_quantity, const char *currency, char *out,
                size_t size);
/* Formats a time (ms since the epoch) as HH:MM:SS UTC. */
void format_clock(int64_t ms, char *out, size_t size);
/* A span of seconds in words: "10 min", "90 s" (tui/header.c). */
void header_span_words(int64_t seconds, char *out, size_t size);
/* The display name of an agent id: its sanitised name, else the id (borrowed). */
const char *format_agent_name(const ui *u, const char *id);

/* ---- detail.c ---- */
/* Builds the detail of the current pane's selection for a width x height rectangle:
 * its lines, whether messages wrap, the scroll kept inside them; asks the client (once
 * per thread) for a shown thread's earlier messages. Returns the detail's rows. */
int detail_update(ui *u, int width, int height);
/* Draws the detail built by detail_update in (top, height) of w. */
void detail_draw(const ui *u, WINDOW *w, int top, int height);
/* The text of line i of the detail built last (borrowed; NULL past its end): what a
 * test reads without a screen. */
const char *detail_line(const ui *u, int i);
/* Frees the detail's lines. */
void detail_free(ui *u);
/* For a pane's own detail (disputes.c): appends a line of sanitised text in a role (soft:
 * a message, cut to one row when wrapping everything would not fit), and names the
 * thread shown (its messages are asked for). */
void detail_add_line(ui_detail *b, theme_role role, bool soft, const char *text);
void detail_show_thread(ui_detail *b, const model_negotiation *n);

/* ---- keymap.c ---- */
/* Every operator action: the index of its entry in the table of commands.c. The order is
 * the help screen's (keys in this order; commands in it too, decisions first). */
typedef enum ui_action {
    ACT_NONE, /* `bind KEY none` unbinds a key */
    ACT_UP,
    ACT_DOWN,
    ACT_PGUP,
    ACT_PGDN,
    ACT_HOME,
    ACT_END,
    ACT_NEXT_PANE,
    ACT_PREV_PANE,
    ACT_PANE1,
    ACT_PANE2,
    ACT_PANE3,
    ACT_PANE4,
    ACT_PANE5,
    ACT_PANE6,
    ACT_PANE7,
    ACT_PANE8,
    ACT_OPEN,
    ACT_BACK,
    ACT_EXPORT, /* a command only */
    ACT_THEME,  /* a command only */
    ACT_FILTER,
    ACT_SORT,
    ACT_PANE, /* a command only: ":pane N|NAME" */
    ACT_BELL, /* a command only */
    ACT_HELP,
    ACT_COMMAND,
    ACT_MARK,       /* batch.c: Space marks the row */
    ACT_MARK_ALL,   /* every row the filter shows */
    ACT_UNMARK_ALL, /* clears the marks */
    ACT_APPROVE,
    ACT_VETO,
    ACT_CAP,
    ACT_REFUND,
    ACT_PAUSE,
    ACT_RESUME, /* a command only (the key p toggles) */
    ACT_HALT,
    ACT_RESUME_FLEET, /* a command only (the key H toggles) */
    ACT_ACK,
    ACT_POLICY_TOGGLE, /* enable or disable the selected policy (tui/policies.c) */
    ACT_POLICY_UP,     /* move it up in priority */
    ACT_POLICY_DOWN,
    ACT_POLICY,          /* a command only: ":policy enable|disable|up|down|set ..." */
    ACT_DISPUTE_REFUND,  /* refund the dispute's claim (tui/disputes.c); ":resolve ..." */
    ACT_DISPUTE_PARTIAL, /* refund part of it (asks the amount) */
    ACT_DISPUTE_REJECT,  /* reject it (asks the reason) */
    ACT_RESOLVE,         /* a command only: ":resolve DSP refund|partial AMOUNT|reject REASON" */
    ACT_REDRAW,
    ACT_REFRESH,
    ACT_QUIT,
    ACT_COUNT
} ui_action;

/* Sets the default bindings (the table's keys), then applies cfg's `bind KEY ACTION`
 * lines; conflicts and errors are written into warn (empty when none). */
void keymap_init(const config *cfg, char *warn, size_t warnsz);
/* The action bound to a key (wget_wch's result: is_key for KEY_* codes). */
ui_action keymap_lookup(wint_t ch, bool is_key);
/* Writes the keys bound to action a ("a", "Up k") into out. */
void keymap_keys_of(ui_action a, char *out, size_t size);

/* ---- commands.c ---- */
/* What the words after a command's name complete to (cmdline.c). */
typedef enum ui_arg {
    ARG_NONE,
    ARG_PENDING,    /* purchases waiting for approval */
    ARG_SETTLED,    /* settled purchases */
    ARG_AGENT,      /* agents */
    ARG_OPEN_ALERT, /* alerts not yet acknowledged */
    ARG_EXPORT,     /* ledger threads */
    ARG_THEME,      /* the built-in themes */
    ARG_PANE,       /* the panes' names */
    ARG_ON_OFF,     /* on off */
    ARG_POLICY,     /* policy's verbs, the policies' names and the fields of `policy set` */
    ARG_DISPUTE,    /* disputes not yet resolved */
} ui_arg;

/* One operator action: everything about it is here, and the key dispatch, the command
 * line, completion, the key bar and the help screen are generated from the table (its
 * order is ui_action's). A new action is a value of ui_action and an entry here. */
typedef struct ui_command {
    const char *name;  /* `bind KEY NAME` and ":NAME" */
    const char *alias; /* another name on the command line ("q"), or NULL */
    bool decision;     /* a decision: read-only refuses it */
    struct {
        const char *keys; /* default keys, space separated ("Up k"), or NULL */
        const char *help; /* what the key does; NULL when it has no key (a command only) */
        void (*run)(ui *u, int arg); /* the handler */
        int arg;                     /* passed to run */
    } key;
    struct {
        const char *usage; /* ":" usage ("cap PUR PRICE [QTY]"); NULL when not a command */
        const char *help;  /* what the command does */
        /* the handler, given the rest of the line, or NULL from a decision's key (its
         * command with nothing typed: the selection, and the prompts ask the rest); an
         * entry without one runs its key's handler */
        void (*run)(ui *u, char *args);
        ui_arg arg; /* what its arguments complete to */
    } cmd;
    struct {
        unsigned panes; /* the panes whose key bar offers it (bit 1u << ui_pane_id) */
        int place;      /* its place there (1 first, 0 never): a narrow bar cuts the last */
    } bar;
} ui_command;

/* The entry of action a (NULL out of range). */
const ui_command *commands_get(ui_action a);
/* The command named name (or by its alias) on the command line, or NULL. */
const ui_command *commands_find(const char *name);
/* Performs the action of a key in browse mode (read-only refuses a decision). */
void commands_do(ui *u, ui_action a);
/* Runs one command line (":approve pur_1"); unknown commands say so on the status line. */
void commands_run(ui *u, const char *line);

#define UI_HELP_WIDTH 160
#define UI_HELP_MAX   (2 * ACT_COUNT + 12)
/* Writes the help screen's lines (keys from the live keymap, commands, the config's
 * warnings; the demo's market first) into lines; returns how many. */
int commands_help(const ui *u, char lines[][UI_HELP_WIDTH], int max);

/* One item of the key bar: the first key bound to an action, and its name. */
typedef struct ui_bar_item {
    char key[16];
    const char *name;
} ui_bar_item;
/* The key bar of pane p, in its order: what the pane offers, then the ways around;
 * decisions left out when read-only, and actions without a key. Returns how many. */
size_t commands_bar(const ui *u, int p, ui_bar_item *out, size_t max);

/* ---- actions.c ---- */
/* The movement keys: a row, a page or to an end (the table's key_arg of each). */
typedef enum ui_move {
    MOVE_UP,
    MOVE_DOWN,
    MOVE_PAGE_UP,
    MOVE_PAGE_DOWN,
    MOVE_HOME,
    MOVE_END
} ui_move;
/* Moves the selection (or scrolls the detail when it fills the screen). */
void actions_move(ui *u, int how);
/* Switches to pane p (wraps around). */
void actions_switch_pane(ui *u, int p);
/* Decisions, from a key (id NULL: the selection) or a command (id given). Each asks what
 * is missing (reason, limits) on the prompt line and confirms money actions; nothing is
 * sent until then. resume > 0 forces a resume of the agent. */
void actions_approve(ui *u, const char *id);
void actions_veto(ui *u, const char *id, const char *reason);
void actions_cap(ui *u, const char *id, const char *price, const char *qty);
void actions_refund(ui *u, const char *id, const char *reason);
void actions_pause(ui *u, const char *id, const char *reason, int resume);
void actions_halt(ui *u, const char *reason);
void actions_ack(ui *u, const char *id, const char *note);
/* Handles the answer to a readline prompt (line NULL: cancelled). */
void actions_line_done(ui *u, const char *line);
/* Opens the y/N confirmation of req (title and lines already set), bound to version. */
void actions_confirm(ui *u, const decision_req *req, int64_t version);
/* Handles a key in confirm mode. */
void actions_confirm_key(ui *u, wint_t ch, bool is_key);

/* Sends req as every decision of the console goes (validated, journaled and sent by the
 * client, its subject in flight with label, a purchase kept on the Pending pane with its
 * outcome). cb NULL: the outcome goes to the status line and the Pending selection moves
 * on; else to cb (batch.c). Returns the decision's id, 0 when nothing went (the status
 * line says why). */
uint64_t actions_send(ui *u, const decision_req *req, const char *label, decision_cb cb);
/* Takes the decision of outcome o out of the in-flight list (its answer came); true when
 * it was there. */
bool actions_landed(ui *u, const decision_outcome *o);

/* ---- batch.c: marks and batch decisions ---- */
/* True when purchase id is marked. */
bool batch_is_marked(const ui *u, const char *id);
/* The keys: Space marks or unmarks the selected Pending row, mark-all marks every
 * waiting row the filter shows, unmark-all clears the marks (arg unused). */
void batch_mark(ui *u, int arg);
void batch_mark_all(ui *u, int arg);
void batch_unmark_all(ui *u, int arg);
/* Drops the marks of purchases no longer waiting for approval (the update step, after
 * the store changed). */
void batch_prune(ui *u);
/* Approve (reason NULL) or veto the marked purchases when there are marks on the
 * Pending pane: a veto asks its one reason first, then one preview box (count, totals
 * per currency, flags by rule, the five largest). Returns false when there are no marks
 * here (the caller decides on the selection). */
bool batch_decide(ui *u, decision_action a, const char *reason);
/* The answer to the batch's box: yes sends one decision per purchase. */
void batch_confirm(ui *u, bool yes);
/* The box's warning when marked purchases changed since the preview ("" when none). */
void batch_changed(const ui *u, char *out, size_t size);

/* ---- cmdline.c ---- */
/* Sets up readline (callback interface, history file, completion); call once. */
void cmdline_init(ui *u);
/* Saves history and removes readline's handler. */
void cmdline_done(void);
/* Starts reading a line with prompt (purpose is kept in u); readline takes the keys only
 * once cmdline_init has set it up (a unit test drives prompts without it). */
void cmdline_start(ui *u, ui_line_purpose purpose, const char *prompt);
/* The prompt of the line being read (static). */
const char *cmdline_prompt(void);
/* The words Tab offers for text, the word of the command line line that starts at start
 * (0: a command of the table; later: an argument of that command, from its entry's arg
 * and the store), as readline gets them; *out is a malloc'ed NULL-terminated array of
 * malloc'ed words (NULL when none). Returns how many. */
size_t cmdline_completions(const ui *u, const char *line, int start, const char *text, char ***out);
/* Feeds one key from curses; returns when handled. */
void cmdline_key(ui *u, wint_t ch, bool is_key);
/* Draws the line at row y. */
void cmdline_draw(const ui *u, WINDOW *w, int y);

/* ---- session.c ---- */
/* Asks, once the market and operator are known, about an earlier session's decisions
 * that have no answer (call every loop turn; cheap). */
void session_tick(ui *u);
/* Quits, or first asks when decisions of this session have an unknown outcome. */
void session_quit(ui *u);
/* Handles a key in MODE_ASK (the quit box: y yes, anything else no; the start-up box: y,
 * n/N or Esc, other keys ignored). */
void session_ask_key(ui *u, wint_t ch, bool is_key);
/* Draws the question box. */
void session_draw(const ui *u, WINDOW *w, int cols);

/* ---- export.c ---- */
/* Writes the ledger as CSV to path; returns entries written or -1 (errno set). */
long export_ledger_csv(const store *st, const char *path);
/* Writes every thread with its messages as JSON to path; returns threads or -1. */
long export_threads_json(const store *st, const char *path);

#endif
