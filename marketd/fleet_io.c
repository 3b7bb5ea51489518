/* fleet_io.c: how the fleet talks to the market, and its small data structures.
 *
 * Every action goes through market_handle() with a JSON body, an
 * Idempotency-Key and the actor a real agent would be: nothing the fleet does
 * bypasses a rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/text.h"
#include "marketd/fleet_impl.h"

/* ---- the id map ---- */

static char tombstone[] = "";

/* FNV-1a hash of a string. */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Returns the slot of key, or the free slot where it would go; cap must be > 0.
 */
static size_t map_slot(const fl_map *m, const char *key, bool *found)
{
    size_t i = hash(key) & (m->cap - 1), first_free = (size_t)-1;
    for (;;) {
        char *k = m->keys[i];
        if (!k) {
            *found = false;
            return first_free != (size_t)-1 ? first_free : i;
        }
        if (k == tombstone) {
            if (first_free == (size_t)-1)
                first_free = i;
        } else if (strcmp(k, key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
}

/* Returns the value of key, or -1. */
int fl_map_get(const fl_map *m, const char *key)
{
    if (!m->cap || !key)
        return -1;
    bool found;
    size_t i = map_slot(m, key, &found);
    return found ? m->vals[i] : -1;
}

/* Rebuilds the map with capacity cap (a power of two), dropping tombstones. */
static int map_grow(fl_map *m, size_t cap)
{
    fl_map n = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(int)), cap, 0, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] && m->keys[i] != tombstone) {
            bool found;
            size_t j = map_slot(&n, m->keys[i], &found);
            n.keys[j] = m->keys[i];
            n.vals[j] = m->vals[i];
            n.used++;
            n.live++;
        }
    }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

/* Sets key to val. Returns 0 or -1 on out of memory. */
int fl_map_put(fl_map *m, const char *key, int val)
{
    if ((m->used + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while ((m->live + 1) * 4 > cap)
            cap *= 2;
        if (map_grow(m, cap) != 0)
            return -1;
    }
    bool found;
    size_t i = map_slot(m, key, &found);
    if (found) {
        m->vals[i] = val;
        return 0;
    }
    char *k = strdup(key);
    if (!k)
        return -1;
    if (m->keys[i] != tombstone)
        m->used++;
    m->keys[i] = k;
    m->vals[i] = val;
    m->live++;
    return 0;
}

/* Removes key if present. */
void fl_map_del(fl_map *m, const char *key)
{
    if (!m->cap || !key || !*key)
        return;
    bool found;
    size_t i = map_slot(m, key, &found);
    if (found) {
        free(m->keys[i]);
        m->keys[i] = tombstone;
        m->live--;
    }
}

/* Frees the map's storage. */
void fl_map_free(fl_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != tombstone)
            free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- JSON helpers ---- */

/* Copies string member key of obj into out; "" when absent. */
void fl_str(json_t *obj, const char *key, char *out, size_t size)
{
    const char *s = json_string_value(json_object_get(obj, key));
    snprintf(out, size, "%s", s ? s : "");
}

/* True when string member key of obj equals value. */
bool fl_str_is(json_t *obj, const char *key, const char *value)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && strcmp(s, value) == 0;
}

/* Returns integer member key of obj, or dflt. */
int64_t fl_int(json_t *obj, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* ---- calls ---- */

/* Performs one request; see fleet_impl.h. */
int fl_call(fleet *f, const char *agent_id, const char *method, const char *path, json_t *body,
            const char *if_match, json_t **answer)
{
    market_actor a;
    memset(&a, 0, sizeof a);
    if (agent_id) {
        a.role = ROLE_AGENT;
        snprintf(a.agent_id, sizeof a.agent_id, "%s", agent_id);
        snprintf(a.name, sizeof a.name, "%s", agent_id);
    } else {
        a.role = ROLE_SUPERVISOR;
        snprintf(a.name, sizeof a.name, "fleet");
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char key[64];
    snprintf(key, sizeof key, "fl-%s-%llu", f->nonce, (unsigned long long)++f->keyno);
    market_request rq = {
        .method = method,
        .path = path,
        .query = NULL,
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .idempotency_key = strcmp(method, "POST") == 0 ? key : NULL,
        .if_match = if_match,
    };
    market_response rs = {0};
    market_handle(f->m, &a, &rq, &rs);
    free(text);
    if (answer)
        *answer = rs.body ? json_loads(rs.body, 0, NULL) : NULL;
    free(rs.body);
    if (agent_id && strcmp(method, "POST") == 0 && rs.status >= 200 && rs.status < 300)
        __atomic_add_fetch(&f->actions, 1, __ATOMIC_RELAXED);
    if (rs.status >= 400)
        f->errors++;
    return rs.status;
}

/* Builds the registration body of agent a. */
static json_t *agent_body(const fl_agent *a)
{
    json_t *cats = json_array(), *addrs = json_array();
    for (int i = 0; i < a->p.ncats; i++)
        json_array_append_new(cats, json_string(sim_category_name(a->p.cats[i])));
    for (int i = 0; i < a->p.naddresses; i++)
        json_array_append_new(addrs, json_string(a->p.addresses[i]));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:{s:o}, s:o}", "name", a->p.name,
        "principal", a->p.principal, "role", a->p.seller ? "seller" : "buyer", "currency", "USD",
        "limits", "spend_cap_minor", (json_int_t)a->p.spend_cap_minor, "per_deal_max_minor",
        (json_int_t)a->p.per_deal_max_minor, "approval_threshold_minor",
        (json_int_t)a->p.approval_threshold_minor, "max_quantity", (json_int_t)a->p.max_quantity,
        "mandate", "categories", cats, "addresses", addrs);
}

/* Registers every agent with a key derived from the seed, so that a restarted
 * marketd on the same database gets its agents back (an idempotent replay)
 * instead of twins. */
int fl_register_agents(fleet *f, char *err, size_t errsz)
{
    for (int i = 0; i < f->nagents; i++) {
        if (i % 64 == 0 && fl_stopping(f)) {
            snprintf(err, errsz, "stopped");
            return -1;
        }
        fl_agent *a = &f->agents[i];
        json_t *body = agent_body(a);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        char key[96];
        snprintf(key, sizeof key, "fleet-%llu-agent-%d", (unsigned long long)f->opt.seed, i);
        market_actor sup;
        memset(&sup, 0, sizeof sup);
        sup.role = ROLE_SUPERVISOR;
        snprintf(sup.name, sizeof sup.name, "fleet");
        market_request rq = {.method = "POST",
                             .path = "/v1/agents",
                             .body = text,
                             .body_len = text ? strlen(text) : 0,
                             .idempotency_key = key};
        market_response rs = {0};
        market_handle(f->m, &sup, &rq, &rs);
        free(text);
        json_t *ans = rs.body ? json_loads(rs.body, 0, NULL) : NULL;
        json_t *ag = json_object_get(ans, "agent");
        fl_str(ag, "id", a->id, sizeof a->id);
        if (rs.status / 100 != 2 || !a->id[0]) {
            const char *b = rs.body ? rs.body : "";
            snprintf(err, errsz, "registering fleet agent %d failed: HTTP %d %.*s", i, rs.status,
                     (int)text_utf8_fit(b, strnlen(b, 200)), b);
            json_decref(ans);
            free(rs.body);
            return -1;
        }
        a->version = fl_int(ag, "version", 1);
        a->paused = fl_str_is(ag, "status", "paused");
        a->spent = fl_int(ag, "spent_minor", 0);
        json_t *lim = json_object_get(ag, "limits");
        a->spend_cap = fl_int(lim, "spend_cap_minor", a->p.spend_cap_minor);
        a->per_deal_max = fl_int(lim, "per_deal_max_minor", a->p.per_deal_max_minor);
        a->approval_threshold =
            fl_int(lim, "approval_threshold_minor", a->p.approval_threshold_minor);
        a->max_quantity = fl_int(lim, "max_quantity", a->p.max_quantity);
        a->cap_we_set = a->spend_cap;
        json_decref(ans);
        free(rs.body);
        if (fl_map_put(&f->agent_ids, a->id, i) != 0) {
            snprintf(err, errsz, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Posts one new listing of seller s. Returns its index, or -1. */
int fl_post_listing(fleet *f, int s, bool hidden)
{
    fl_agent *a = &f->agents[s];
    if (f->nlistings == f->listings_cap) {
        int cap = f->listings_cap ? f->listings_cap * 2 : 64;
        fl_listing *n = realloc(f->listings, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        f->listings = n;
        f->listings_cap = cap;
    }
    fl_listing *l = &f->listings[f->nlistings];
    memset(l, 0, sizeof *l);
    l->seller = s;
    sim_category c = a->p.cats[sim_rng_pick(&a->rng, (size_t)a->p.ncats)];
    sim_item_generate(&a->rng, c, &l->item);
    if (hidden)
        sim_fault_hide(&f->dyn, l->item.title, sizeof l->item.title);
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "title", l->item.title, "description",
                  l->item.description, "category", sim_category_name(c), "unit_price_minor",
                  (json_int_t)l->item.list_minor, "currency", "USD", "quantity",
                  (json_int_t)l->item.quantity, "floor_minor", (json_int_t)l->item.floor_minor);
    json_t *ans = NULL;
    int st = fl_call(f, a->id, "POST", "/v1/listings", body, NULL, &ans);
    json_t *obj = json_object_get(ans, "listing") ? json_object_get(ans, "listing") : ans;
    fl_str(obj, "id", l->id, sizeof l->id);
    if (st / 100 != 2 || !l->id[0]) {
        json_decref(ans);
        return -1;
    }
    /* The market sets its own reference (the category's median asking price); a
     * clean buyer never pays more than 1.45x of it, so the overpay rule stays
     * quiet. */
    l->market_ref = fl_int(obj, "reference_price_minor", l->item.reference_minor);
    l->stock = fl_int(obj, "quantity", l->item.quantity);
    l->hidden = hidden;
    l->open_pos = -1;
    json_decref(ans);
    if (fl_map_put(&f->listing_ids, l->id, f->nlistings) != 0)
        return -1;
    fl_listing_opened(f, f->nlistings);
    if (hidden)
        fl_fault(f, FAULT_HIDDEN_TEXT, NULL, NULL, l->id, a->id);
    return f->nlistings++;
}

/* Marks listing i open: its seller has one more, buyers may pick it. */
void fl_listing_opened(fleet *f, int i)
{
    fl_listing *l = &f->listings[i];
    if (l->open)
        return;
    if (f->nopen == f->open_cap) {
        int cap = f->open_cap ? f->open_cap * 2 : 64;
        int *n = realloc(f->open_list, (size_t)cap * sizeof *n);
        if (!n)
            return;
        f->open_list = n;
        f->open_cap = cap;
    }
    l->open = true;
    l->open_pos = f->nopen;
    f->open_list[f->nopen++] = i;
    f->agents[l->seller].open_listings++;
}

/* Marks listing i closed (sold or withdrawn). */
void fl_listing_closed(fleet *f, int i)
{
    fl_listing *l = &f->listings[i];
    if (!l->open)
        return;
    int last = f->open_list[--f->nopen];
    f->open_list[l->open_pos] = last;
    f->listings[last].open_pos = l->open_pos;
    l->open = false;
    l->open_pos = -1;
    f->agents[l->seller].open_listings--;
}

/* ---- pacing ---- */

/* Returns the earliest time a may send another message. */
double fl_pace_ready(const fl_agent *a, double now)
{
    double t = now > a->quiet_until ? now : a->quiet_until;
    if (a->sent_n > 0) {
        double last = a->sent[(a->sent_head + a->sent_n - 1) % FL_PACE_MSGS];
        if (last + FL_PACE_GAP > t)
            t = last + FL_PACE_GAP;
    }
    if (a->sent_n >= FL_PACE_MSGS) {
        double oldest = a->sent[a->sent_head]; /* the ring is full: head is the oldest */
        if (oldest + FL_PACE_WINDOW > t)
            t = oldest + FL_PACE_WINDOW;
    }
    return t;
}

/* Notes a message sent by a at now. */
void fl_pace_note(fl_agent *a, double now)
{
    if (a->sent_n < FL_PACE_MSGS) {
        a->sent[(a->sent_head + a->sent_n) % FL_PACE_MSGS] = now;
        a->sent_n++;
    } else {
        a->sent[a->sent_head] = now;
        a->sent_head = (a->sent_head + 1) % FL_PACE_MSGS;
    }
}

/* Records one injected fault as ground truth. */
void fl_fault(fleet *f, sim_fault k, const char *purchase, const char *neg, const char *listing,
              const char *agent)
{
    market_record_fault(f->m, sim_fault_name(k), purchase && *purchase ? purchase : NULL,
                        neg && *neg ? neg : NULL, listing && *listing ? listing : NULL, agent);
}
