/* hold.c: holds, kept as a set of holders per object.
 *
 * An agent is `paused`, and a negotiation `held`, for as long as anything holds it. Each
 * holder is named in the object's `held_by` array (docs/api.md, "Holds"):
 *
 *   "fleet"            the fleet halt: every agent and every open negotiation;
 *   "pause:<agent id>" a supervisor's pause of that agent: the agent itself and its open
 *                      negotiations, on both sides, so that its counterparties cannot
 *                      trade with it either;
 *   "hold"             a supervisor's hold of one negotiation.
 *
 *   "halt:<halt id>"   a scoped halt (marketd/halt.c): the open negotiations in its scope.
 *
 * A release removes only its own holder,
 * and an object reopens (`active`, `open`) only when its last holder is gone: resuming
 * the fleet leaves an agent that a supervisor paused during the halt paused, with its
 * threads held. The holders live in the object's JSON, so that every reader (answers,
 * events, the snapshot) sees who holds what, and each change is one versioned update.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <string.h>

#include "api/text.h"

/* The status of a held object of kind, and of an unheld one. */
static const char *held_status(const char *kind)
{
    return strcmp(kind, "agent") == 0 ? "paused" : "held";
}
static const char *free_status(const char *kind)
{
    return strcmp(kind, "agent") == 0 ? "active" : "open";
}

/* The held_by array of obj (borrowed), created empty when absent. */
static json_t *holders(json_t *obj)
{
    json_t *hb = json_object_get(obj, "held_by");
    if (!json_is_array(hb)) {
        hb = json_array();
        json_object_set_new(obj, "held_by", hb);
    }
    return hb;
}

bool hold_has(json_t *obj, const char *holder)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(obj, "held_by"), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), holder) == 0)
            return true;
    }
    return false;
}

void hold_describe(json_t *obj, char *out, size_t size)
{
    size_t n = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(json_object_get(obj, "held_by"), i, v)
    {
        const char *h = json_string_value(v);
        if (!h || n >= size)
            continue;
        const char *sep = n ? ", " : "";
        int w;
        if (strcmp(h, "fleet") == 0)
            w = snprintf(out + n, size - n, "%sthe fleet halt", sep);
        else if (strncmp(h, "pause:", 6) == 0)
            w = snprintf(out + n, size - n, "%sthe pause of %s", sep, h + 6);
        else if (strcmp(h, "hold") == 0)
            w = snprintf(out + n, size - n, "%sa supervisor's hold", sep);
        else if (strncmp(h, "halt:", 5) == 0)
            w = snprintf(out + n, size - n, "%sthe halt %s", sep, h + 5);
        else
            w = snprintf(out + n, size - n, "%s%s", sep, h);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n >= size && size > 0) /* cut, but never inside a character */
        out[text_utf8_fit(out, size - 1)] = '\0';
}

/* True when obj can be held: any agent, and a negotiation still being negotiated. */
static bool holdable(const char *kind, json_t *obj)
{
    const char *st = mkt_str(obj, "status");
    return strcmp(kind, "agent") == 0 || (st && (!strcmp(st, "open") || !strcmp(st, "held")));
}

int hold_add(market *m, const char *kind, json_t *obj, const char *holder, const char *text)
{
    if (!holdable(kind, obj) || hold_has(obj, holder))
        return 0;
    json_array_append_new(holders(obj), json_string(holder));
    json_object_set_new(obj, "status", json_string(held_status(kind)));
    if (text && strcmp(kind, "negotiation") == 0 && trade_system_message(m, obj, text) != 0)
        return -1;
    return mkt_update(m, kind, obj) == 0 ? 1 : -1;
}

int hold_remove(market *m, const char *kind, json_t *obj, const char *holder, const char *text)
{
    json_t *hb = holders(obj);
    size_t i;
    json_t *v;
    bool found = false;
    json_array_foreach(hb, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), holder) == 0) {
            json_array_remove(hb, i);
            found = true;
            break;
        }
    }
    if (!found)
        return 0;
    bool last = json_array_size(hb) == 0;
    if (last)
        json_object_set_new(obj, "status", json_string(free_status(kind)));
    if (text && strcmp(kind, "negotiation") == 0) {
        char still[400], msg[600];
        hold_describe(obj, still, sizeof still);
        snprintf(msg, sizeof msg, "%s%s%s%s", text, last ? "" : " Still held by ", still,
                 last ? "" : ".");
        if (trade_system_message(m, obj, msg) != 0)
            return -1;
    }
    return mkt_update(m, kind, obj) == 0 ? 1 : -1;
}

int hold_threads(market *m, const char *agent_id, const char *holder, const char *text)
{
    json_t *items = json_array();
    int rc = STORE(m->db, threads_live, agent_id, mkt_collect, items) < 0 ? -1 : 0;
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        if (rc == 0 && hold_add(m, "negotiation", o, holder, text) < 0)
            rc = -1;
    }
    json_decref(items);
    return rc;
}

int hold_release(market *m, const char *kind, const char *holder, const char *text)
{
    json_t *items = json_array();
    int rc = STORE(m->db, objects_held_by, kind, held_status(kind), holder, mkt_collect, items) < 0
                 ? -1
                 : 0;
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        if (rc == 0 && hold_remove(m, kind, o, holder, text) < 0)
            rc = -1;
    }
    json_decref(items);
    return rc;
}

int hold_inherit(market *m, json_t *neg)
{
    static const char *const sides[] = {"buyer_id", "seller_id"};
    json_t *hb = holders(neg);
    for (int s = 0; s < 2; s++) {
        json_t *ag = mkt_get(m, "agent", mkt_str(neg, sides[s]));
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(ag, "held_by"), i, v)
        {
            if (json_is_string(v) && !hold_has(neg, json_string_value(v)))
                json_array_append(hb, v);
        }
        json_decref(ag);
    }
    if (halt_inherit(m, neg, hb) != 0)
        return -1;
    if (json_array_size(hb) == 0)
        return 0;
    json_object_set_new(neg, "status", json_string("held"));
    char who[400], msg[450];
    hold_describe(neg, who, sizeof who);
    snprintf(msg, sizeof msg, "Held by %s.", who);
    return trade_system_message(m, neg, msg);
}
