/* policies.c: the Policies pane (issue 15; docs/api.md, Policies): its columns and rows,
 * the automatic decisions named as such ("approved by policy small-clean-books"), and
 * the policy decisions (enable, disable, a move in priority, a field changed), each
 * confirmed with the backtest of the whole set as it would be: POST /v1/policies/backtest
 * beside the stream (api/client_backtest.c), shown as "backtest running…" and then its
 * counts under the confirmation, where `y` stays the one key that sends it. */
#include "tui/ui.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_policy.h"
#include "api/money.h"

static const char *amount_currency(const ui *u, const model_policy *p);

/* ---- the pane ------------------------------------------------------------------------ */

/* Labels of the numeric conditions (model_policy_conds' order), before their values. */
static const char *const cond_labels[MODEL_POLICY_CONDS] = {
    "total>=", "total<=", "unit<=", "risk<=", "<", "spend/h<="};

void policies_match(const ui *u, const model_policy *p, char *out, size_t size)
{
    const char *cur = amount_currency(u, p);
    size_t used = 0;
    out[0] = '\0';
    if (p->currency[0])
        used += (size_t)snprintf(out, size, "%s", p->currency);
    for (int k = 0; k < MODEL_POLICY_CONDS && used + 1 < size; k++) {
        if (p->cond[k] < 0)
            continue;
        char v[64];
        if (model_policy_conds[k].money && cur[0])
            format_money(p->cond[k], cur, v, sizeof v);
        else
            snprintf(v, sizeof v, "%lld%s", (long long)p->cond[k],
                     model_policy_conds[k].money ? " minor" : "");
        int n = snprintf(out + used, size - used, "%s%s%s%s", used ? ", " : "", cond_labels[k], v,
                         !strcmp(model_policy_conds[k].key, "max_per_hour") ? "/h" : "");
        used += n > 0 ? (size_t)n : 0;
    }
    if (p->match_text.s && p->match_text.s[0] && used + 1 < size)
        snprintf(out + used, size - used, "%s%s", used ? ", " : "", p->match_text.s);
    if (!out[0])
        snprintf(out, size, "any purchase");
}

/* At 80 columns HITS/SHADOW drops first: what a policy matches matters more. */
const widget_column policies_cols[PLC_COUNT] = {
    [PLC_PRIO] = {.title = "PRIO", .width = 4, .right = true, .whole = true},
    [PLC_NAME] = {.title = "NAME", .width = 19},
    [PLC_MODE] = {.title = "MODE", .width = 6},
    [PLC_ENABLED] = {.title = "ENABLED", .width = 8},
    [PLC_ACTION] = {.title = "ACTION", .width = 7},
    [PLC_MATCH] = {.title = "MATCH", .width = 16, .flex = true},
    [PLC_HITS] = {.title = "HITS/SHADOW", .width = 11, .right = true, .whole = true, .drop = 1},
};
enum policy_sort { POS_PRIORITY, POS_NAME, POS_HITS };
/* "priority" is the order the market evaluates them in (lowest first, ties by creation). */
const char *const policies_sorts[] = {
    [POS_PRIORITY] = "priority", [POS_NAME] = "name", [POS_HITS] = "hits", NULL};

size_t policies_collect(const ui *u, const void ***rows, size_t *cap)
{
    size_t n;
    const model_policy *const *p = store_policies(u->st, &n);
    if (*cap < n + 1) {
        const void **r = realloc(*rows, (n + 1) * sizeof *r);
        if (!r)
            return 0;
        *rows = r;
        *cap = n + 1;
    }
    if (n)
        memcpy(*rows, p, n * sizeof *p);
    return n;
}

/* Creation order of two policy ids (marketd numbers them in order: the shorter is older). */
static int created(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

/* The market's order: priority, then creation. */
static int eval_order(const model_policy *x, const model_policy *y)
{
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return created(x->id, y->id);
}

int policies_compare(const ui *u, int sort, const void *a, const void *b)
{
    (void)u;
    const model_policy *x = a, *y = b;
    int r = 0;
    if (sort == POS_NAME)
        r = strcmp(x->name.s ? x->name.s : "", y->name.s ? y->name.s : "");
    else if (sort == POS_HITS)
        r = (y->hits + y->shadow_hits > x->hits + x->shadow_hits) -
            (y->hits + y->shadow_hits < x->hits + x->shadow_hits);
    return r ? r : eval_order(x, y);
}

void policies_cell(const ui *u, const void *row, int col, char *buf, size_t size,
                   unsigned long *attr)
{
    const model_policy *p = row;
    const char *fl = panes_inflight_label(u, p->id);
    switch (col) {
        case PLC_PRIO: snprintf(buf, size, "%lld", (long long)p->priority); break;
        case PLC_NAME: snprintf(buf, size, "%s", p->name.s ? p->name.s : ""); break;
        case PLC_MODE:
            snprintf(buf, size, "%s", p->mode_raw[0] ? p->mode_raw : p->shadow ? "shadow" : "live");
            if (p->shadow)
                *attr = theme_attr(THEME_DIM);
            break;
        case PLC_ENABLED:
            snprintf(buf, size, "%s", fl ? fl : p->enabled ? "enabled" : "disabled");
            *attr = theme_attr(fl ? THEME_INFLIGHT : p->enabled ? THEME_OK : THEME_WARN);
            break;
        case PLC_ACTION:
            snprintf(buf, size, "%s", p->action);
            if (!strcmp(p->action, "veto"))
                *attr = theme_attr(THEME_WARN);
            break;
        case PLC_MATCH: policies_match(u, p, buf, size); break;
        case PLC_HITS:
            snprintf(buf, size, "%lld/%lld", (long long)p->hits, (long long)p->shadow_hits);
            break;
        default: break;
    }
}

const char *policies_row_id(const void *row)
{
    return ((const model_policy *)row)->id;
}

/* ---- automatic decisions named as such --------------------------------------------- */

/* The name of policy id as the store holds it, else fallback (a purchase's copy), else the
 * id; marks stripped. */
static void policy_name(const ui *u, const char *id, const model_text *fallback, char *out,
                        size_t size)
{
    const model_policy *p = store_policy(u->st, id);
    const char *s = p && p->name.s ? p->name.s : fallback && fallback->s ? fallback->s : id;
    text_strip_marks(s, out, size);
}

const char *policies_decided_by(const ui *u, const model_purchase *p, char *out, size_t size)
{
    const char *by = p->decision.present ? p->decision.by.s : NULL;
    if (!by || strncmp(by, "policy:", 7) != 0)
        return NULL;
    char id[MODEL_ID_MAX + 1], name[160];
    text_strip_marks(by + 7, id, sizeof id);
    policy_name(u, id, strcmp(id, p->policy.id) == 0 ? &p->policy.name : NULL, name, sizeof name);
    const char *verb = !strcmp(p->decision.action, "approve") ? "approved"
                       : !strcmp(p->decision.action, "veto")  ? "vetoed"
                                                              : p->decision.action;
    snprintf(out, size, "%s by policy %s", verb, name);
    return out;
}

const model_purchase *policies_thread_purchase(const ui *u, const model_negotiation *n)
{
    if (n->status != NEG_AGREED && n->status != NEG_VETOED)
        return NULL;
    size_t np;
    const model_purchase *const *all = store_purchases(u->st, &np);
    for (size_t i = np; i-- > 0;) /* the newest first */
        if (!strcmp(all[i]->negotiation_id, n->id))
            return all[i]->decision.present && all[i]->decision.by.s &&
                           !strncmp(all[i]->decision.by.s, "policy:", 7)
                       ? all[i]
                       : NULL;
    return NULL;
}

/* ---- the backtest preview ------------------------------------------------------------ */

/* "812 ($41,234.00)" or "3 ($1.00 + €2.00)": a count and its totals per currency. */
static void counts_text(const policy_bt_counts *k, char *out, size_t size)
{
    int n = snprintf(out, size, "%lld", (long long)k->count);
    for (size_t i = 0; i < k->ncur && n > 0 && (size_t)n < size; i++) {
        char amt[48];
        format_money(k->total[i], k->currency[i], amt, sizeof amt);
        n += snprintf(out + n, size - (size_t)n, "%s%s", i ? " + " : " (", amt);
    }
    if (k->ncur && n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, ")");
}

int policies_preview(const client_backtest_state *bt, char lines[][256], int max)
{
    int n = 0;
    if (max < 4)
        return 0;
    if (!bt || !bt->id) {
        snprintf(lines[n++], 256, "no backtest: not connected to a market");
        return n;
    }
    if (!bt->done) {
        snprintf(lines[n++], 256, "backtest of the set as it would be: running%s",
                 widget_glyph_str(GLYPH_ELLIPSIS));
        return n;
    }
    if (!bt->ok) {
        snprintf(lines[n++], 256, "backtest failed: %.200s", bt->error);
        snprintf(lines[n++], 256, "(nothing is known of what it would do: y still sends it)");
        return n;
    }
    const policy_backtest *r = &bt->result;
    char a[96], v[96], rv[96];
    counts_text(&r->approve, a, sizeof a);
    counts_text(&r->veto, v, sizeof v);
    counts_text(&r->review, rv, sizeof rv);
    snprintf(lines[n++], 256,
             "backtest over the last %lld purchases: %lld differ from what happened",
             (long long)r->purchases, (long long)r->differ);
    snprintf(lines[n++], 256, "approve %.70s %s veto %.70s %s review %.70s", a,
             widget_glyph_str(GLYPH_MIDDOT), v, widget_glyph_str(GLYPH_MIDDOT), rv);
    if (!r->approved_but) {
        snprintf(lines[n++], 256,
                 "would approve none that a person vetoed, capped or refunded, or with a fault");
        return n;
    }
    snprintf(lines[n++], 256,
             "would approve %lld that a person vetoed, capped or refunded, or with a fault:",
             (long long)r->approved_but);
    size_t used = 0;
    lines[n][0] = '\0';
    for (size_t i = 0; i < r->nitems && used + 1 < 256; i++) {
        const policy_bt_item *it = &r->items[i];
        char amt[48];
        format_money(it->total_minor, it->currency, amt, sizeof amt);
        int k = snprintf(lines[n] + used, 256 - used, "%s%s %s %s%s%s", i ? "; " : "  ",
                         it->purchase_id, amt, it->outcome[0] ? it->outcome : "",
                         it->outcome[0] && it->fault[0] ? ", fault "
                         : it->fault[0]                 ? "fault "
                                                        : "",
                         it->fault);
        used += k > 0 ? (size_t)k : 0;
    }
    return ++n;
}

/* The confirmation's preview lines (1..4) from the client's last backtest. */
static void preview_lines(ui *u)
{
    const client_backtest_state *bt =
        u->cl && u->confirm_backtest ? client_backtest_last(u->cl) : NULL;
    char pv[4][256];
    int n = policies_preview(bt && bt->id == u->confirm_backtest ? bt : NULL, pv, 4);
    for (int i = 0; i < 4; i++)
        snprintf(u->confirm_lines[1 + i], 256, "%.255s", i < n ? pv[i] : "");
}

void policies_after_client(ui *u)
{
    if (u->mode != MODE_CONFIRM || !u->confirm_backtest || !u->cl)
        return;
    const client_backtest_state *bt = client_backtest_last(u->cl);
    if (bt->id != u->confirm_backtest || !bt->done || u->shown_backtest == bt->id)
        return;
    u->shown_backtest = bt->id;
    preview_lines(u);
    u->dirty = true;
}

/* ---- the decisions ------------------------------------------------------------------- */

/* The policy named name (as shown, marks stripped), or the selection on the Policies
 * pane when name is NULL; says why on the status line when there is none. */
static const model_policy *target(ui *u, const char *name)
{
    if (!name || !name[0]) {
        model_kind kind;
        const void *row = u->pane == PANE_POLICIES ? panes_selected(u, &kind) : NULL;
        if (row && kind == MODEL_POLICY)
            return row;
        ui_status(u, true, "select a policy first (pane 7), or name it");
        return NULL;
    }
    size_t n;
    const model_policy *const *all = store_policies(u->st, &n);
    for (size_t i = 0; i < n; i++) {
        char shown[160];
        text_strip_marks(all[i]->name.s ? all[i]->name.s : "", shown, sizeof shown);
        if (!strcmp(shown, name) || !strcmp(all[i]->id, name))
            return all[i];
    }
    char *safe = text_sanitize_str(name, u->mode_text, NULL, NULL), cut[100];
    text_strip_marks(safe ? safe : "?", cut, 64);
    free(safe);
    ui_status(u, true, "no policy named '%s' (the Policies pane lists them)", cut);
    return NULL;
}

/* Opens the confirmation of req, a change of p whose definition would then be def:
 * starts the backtest of the whole set with def in p's place; change says what changes. */
static void confirm_change(ui *u, const model_policy *p, decision_req *req, const char *def,
                           const char *verb, const char *change)
{
    size_t n;
    const model_policy *const *all = store_policies(u->st, &n);
    const char **defs = calloc(n ? n : 1, sizeof *defs);
    for (size_t i = 0; defs && i < n; i++)
        defs[i] = all[i] == p ? def : all[i]->def;
    char *body = defs ? json_policy_backtest_defs(defs, n, 0) : NULL;
    free(defs);
    u->confirm_backtest = u->cl ? client_backtest(u->cl, body) : 0;
    u->shown_backtest = 0;
    free(body);
    char name[160];
    text_strip_marks(p->name.s ? p->name.s : p->id, name, sizeof name);
    snprintf(u->confirm_title, sizeof u->confirm_title, "%s policy %.64s (version %lld)", verb,
             name, (long long)p->version);
    snprintf(u->confirm_lines[0], 256, "%s", change);
    preview_lines(u);
    snprintf(u->confirm_lines[5], 256, "%s?   y yes    N no (default)", verb);
    u->confirm_n = 6;
    req->if_match_version = p->version;
    actions_confirm(u, req, p->version);
}

void policies_toggle(ui *u, const char *name, int want)
{
    const model_policy *p = target(u, name);
    if (!p)
        return;
    bool enable = !p->enabled;
    if (want >= 0 && (want == 1) == p->enabled) {
        ui_status(u, true, "%s is already %s", p->id, p->enabled ? "enabled" : "disabled");
        return;
    }
    char *def = json_policy_def_set(p->def, "enabled", enable ? "true" : "false");
    if (!def) {
        ui_status(u, true, "out of memory: nothing sent");
        return;
    }
    decision_req r;
    decision_req_init(&r, enable ? DEC_POLICY_ENABLE : DEC_POLICY_DISABLE, p->id);
    char change[256], match[400];
    policies_match(u, p, match, sizeof match);
    snprintf(change, sizeof change, "%s %s: %s, priority %lld, %s %.100s",
             enable ? "enable" : "disable", p->id, p->shadow ? "shadow" : "live",
             (long long)p->priority, p->action, match);
    confirm_change(u, p, &r, def, enable ? "Enable" : "Disable", change);
    free(def);
}

/* Opens the confirmation of a replacement of p by def (its text in r.policy). */
static void confirm_replace(ui *u, const model_policy *p, char *def, const char *change)
{
    if (!def) {
        ui_status(u, true, "not valid: nothing changed");
        return;
    }
    decision_req r;
    decision_req_init(&r, DEC_POLICY_REPLACE, p->id);
    if (strlen(def) >= sizeof r.policy) {
        ui_status(u, true, "the policy is too long to change here (dealdesk policies import)");
        free(def);
        return;
    }
    snprintf(r.policy, sizeof r.policy, "%s", def);
    confirm_change(u, p, &r, def, "Change", change);
    free(def);
}

void policies_move(ui *u, const char *name, int dir)
{
    const model_policy *p = target(u, name), *nb = NULL;
    if (!p)
        return;
    size_t n;
    const model_policy *const *all = store_policies(u->st, &n);
    for (size_t i = 0; i < n; i++) { /* the neighbour in the market's order */
        int c = eval_order(all[i], p);
        if (all[i] != p && (dir < 0 ? c < 0 : c > 0) &&
            (!nb || (dir < 0 ? eval_order(all[i], nb) > 0 : eval_order(all[i], nb) < 0)))
            nb = all[i];
    }
    if (!nb) {
        ui_status(u, true, "already %s", dir < 0 ? "first" : "last");
        return;
    }
    int64_t prio = dir < 0 ? nb->priority - 1 : nb->priority + 1;
    if (prio < 0 || prio > 1000000) {
        ui_status(u, true, "no room: set the priority (:policy set NAME priority N)");
        return;
    }
    char value[32], nbname[160], change[256];
    snprintf(value, sizeof value, "%lld", (long long)prio);
    text_strip_marks(nb->name.s ? nb->name.s : nb->id, nbname, sizeof nbname);
    snprintf(change, sizeof change, "priority %lld %s %lld: %s %.120s", (long long)p->priority,
             widget_glyph_str(GLYPH_ARROW), (long long)prio, dir < 0 ? "before" : "after", nbname);
    confirm_replace(u, p, json_policy_def_set(p->def, "priority", value), change);
}

/* What `:policy set NAME FIELD VALUE` may change: each field's key in the definition and
 * how its value is read. */
typedef enum field_kind { F_TEXT, F_WORD, F_INT, F_MONEY, F_CURRENCY, F_LIST } field_kind;
static const struct field {
    const char *name, *key;
    field_kind kind;
    int64_t min, max;         /* F_INT */
    const char *const *words; /* F_WORD: the values allowed */
} fields[] = {
    {"name", "name", F_TEXT, 1, 64, NULL},
    {"reason", "reason", F_TEXT, 0, 500, NULL},
    {"priority", "priority", F_INT, 0, 1000000, NULL},
    {"action", "action", F_WORD, 0, 0, (const char *const[]){"approve", "veto", "review", NULL}},
    {"mode", "mode", F_WORD, 0, 0, (const char *const[]){"live", "shadow", NULL}},
    {"currency", "match.currency", F_CURRENCY, 0, 0, NULL},
    {"total_min", "match.total_min_minor", F_MONEY, 0, 0, NULL},
    {"total_max", "match.total_max_minor", F_MONEY, 0, 0, NULL},
    {"unit_price_max", "match.unit_price_max_minor", F_MONEY, 0, 0, NULL},
    {"max_spend_per_hour", "match.max_spend_per_hour_minor", F_MONEY, 0, 0, NULL},
    {"risk_max", "match.risk_max", F_INT, 0, 100, NULL},
    {"max_per_hour", "match.max_per_hour", F_INT, 1, 1000000000, NULL},
    {"agents", "match.agents", F_LIST, 0, 0, NULL},
    {"sellers", "match.sellers", F_LIST, 0, 0, NULL},
    {"principals", "match.principals", F_LIST, 0, 0, NULL},
    {"categories", "match.categories", F_LIST, 0, 0, NULL},
    {"flags_any", "match.flags_any", F_LIST, 0, 0, NULL},
    {"flags_none", "match.flags_none", F_LIST, 0, 0, NULL},
};

/* The currency a policy's amounts are typed in: its match's, else the one every agent
 * holds; "" when the agents hold several (then the match needs a currency first). */
static const char *amount_currency(const ui *u, const model_policy *p)
{
    if (p->currency[0])
        return p->currency;
    size_t n;
    const model_agent *const *ag = store_agents(u->st, &n);
    const char *cur = n ? ag[0]->currency : "";
    for (size_t i = 1; i < n; i++)
        if (strcmp(ag[i]->currency, cur) != 0)
            return "";
    return cur;
}

/* A list "a,b,c" of words (letters, digits, _ - . :) as JSON text into out; false when a
 * word is not one. */
static bool list_json(const char *value, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "[");
    const char *s = value;
    while (*s && used + 4 < size) {
        size_t len = strcspn(s, ",");
        if (!len || len > 64)
            return false;
        for (size_t i = 0; i < len; i++)
            if (!isalnum((unsigned char)s[i]) && !strchr("_-.:", s[i]))
                return false;
        int k = snprintf(out + used, size - used, "%s\"%.*s\"", used > 1 ? "," : "", (int)len, s);
        used += k > 0 ? (size_t)k : 0;
        s += len + (s[len] == ',');
    }
    if (*s || used + 2 > size)
        return false;
    snprintf(out + used, size - used, "]");
    return true;
}

/* The JSON text of value for field f of p into out; false with the reason on the status
 * line. "-" is null: the condition (or the reason) taken away. */
static bool field_value(ui *u, const model_policy *p, const struct field *f, const char *value,
                        char *out, size_t size)
{
    bool clear = !strcmp(value, "-");
    if (clear && (!strncmp(f->key, "match.", 6) || f->kind == F_TEXT)) {
        if (!strcmp(f->name, "name")) {
            ui_status(u, true, "a policy must have a name");
            return false;
        }
        snprintf(out, size, "null");
        return true;
    }
    switch (f->kind) {
        case F_INT: {
            char *end;
            long long v = strtoll(value, &end, 10);
            if (!*value || *end || v < f->min || v > f->max) {
                ui_status(u, true, "%s: a whole number from %lld to %lld", f->name,
                          (long long)f->min, (long long)f->max);
                return false;
            }
            snprintf(out, size, "%lld", v);
            return true;
        }
        case F_MONEY: {
            const char *cur = amount_currency(u, p);
            int64_t minor;
            money_err e = cur[0] ? money_parse(value, cur, &minor) : MONEY_UNKNOWN_CURRENCY;
            if (e != MONEY_OK) {
                ui_status(u, true, "%s: %s", f->name,
                          cur[0] ? money_strerror(e)
                                 : "the agents hold several currencies: set the currency first");
                return false;
            }
            snprintf(out, size, "%lld", (long long)minor);
            return true;
        }
        case F_CURRENCY:
            if (!money_currency_valid(value)) {
                ui_status(u, true, "currency: not a currency code (USD, EUR, ...)");
                return false;
            }
            snprintf(out, size, "\"%s\"", value);
            return true;
        case F_WORD:
            for (size_t i = 0; f->words[i]; i++)
                if (!strcmp(value, f->words[i])) {
                    snprintf(out, size, "\"%s\"", value);
                    return true;
                }
            ui_status(u, true, "%s: one of %s%s%s", f->name, f->words[0], f->words[1] ? ", " : "",
                      f->words[1] ? f->words[1] : "");
            return false;
        case F_LIST:
            if (!list_json(value, out, size)) {
                ui_status(u, true, "%s: words separated by commas (no spaces)", f->name);
                return false;
            }
            return true;
        case F_TEXT: break;
    }
    return false;
}

void policies_set(ui *u, const char *name, const char *field, const char *value)
{
    if (!name || !field || !value || !value[0]) {
        ui_status(u, true, "usage: policy set NAME FIELD VALUE  ('-' takes a condition away)");
        return;
    }
    const model_policy *p = target(u, name);
    if (!p)
        return;
    const struct field *f = NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strcmp(fields[i].name, field))
            f = &fields[i];
    if (!f) {
        ui_status(u, true,
                  "no field '%.32s': name reason priority action mode currency "
                  "total_min total_max unit_price_max max_spend_per_hour risk_max max_per_hour "
                  "agents sellers principals categories flags_any flags_none",
                  field);
        return;
    }
    char json[1800];
    char *def = NULL;
    if (f->kind == F_TEXT && strcmp(value, "-") != 0) {
        if (strlen(value) < (size_t)f->min || strlen(value) > (size_t)f->max * 4) {
            ui_status(u, true, "%s: %lld to %lld characters", f->name, (long long)f->min,
                      (long long)f->max);
            return;
        }
        def = json_policy_def_set_text(p->def, f->key, value);
    } else if (field_value(u, p, f, value, json, sizeof json)) {
        def = json_policy_def_set(p->def, f->key, json);
    } else
        return;
    char *safe = text_sanitize_str(value, u->mode_text, NULL, NULL), shown[200], change[256];
    text_strip_marks(safe ? safe : "?", shown, sizeof shown);
    free(safe);
    if (f->kind == F_MONEY && strcmp(value, "-") != 0) /* an amount is read as money */
        format_money(strtoll(json, NULL, 10), amount_currency(u, p), shown, sizeof shown);
    snprintf(change, sizeof change, "%s %s %.150s", f->name, widget_glyph_str(GLYPH_ARROW),
             !strcmp(value, "-") ? "(none)" : shown);
    confirm_replace(u, p, def, change);
}
