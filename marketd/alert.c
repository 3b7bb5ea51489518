/* alert.c: alerts, raised, grouped and resolved, so that a person can keep up with them.
 *
 * An alert is raised by a risk flag of a new purchase (risk_raise), a velocity breach
 * (risk_velocity) or a failed settlement (settle.c), always through risk_alert().
 *
 * Repeats group: the same rule at the same severity for the same agent (a purchase's
 * buyer, or the agent an alert is about), while an open alert of theirs was last raised
 * less than ten minutes ago, updates that alert (count, last_at, purchase_ids) instead
 * of adding another. The subject stays the first purchase (or the agent), and so does
 * the message; agent_id names the agent. An acknowledged or resolved alert takes no more
 * repeats: the next one is news and opens a new alert. A group holds at most
 * ALERT_GROUP_MAX purchases; the one after opens a new alert.
 *
 * An alert about purchases resolves when none of its purchases is still
 * pending_approval: mkt_update() (db.c) calls risk_resolve() for every purchase it
 * stores, the one place every change of a purchase's status passes (a decision, expiry,
 * settlement, a policy), so the alert's change commits with the purchase's.
 * Its status becomes `resolved` with `resolution` {purchase_id, purchase_status, by, at}:
 * the purchase whose change resolved it. docs/api.md states the object.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <string.h>

#define ALERT_GROUP_MS  (10 * 60 * 1000) /* ten minutes */
#define ALERT_GROUP_MAX 100              /* purchases in one alert at most */

/* The open (and, with acked, the acknowledged) alerts of agent_id, oldest first, into
 * arr. 0 or -1. */
static int agent_alerts(market *m, const char *agent_id, bool acked, json_t *arr)
{
    json_t *all = json_array();
    int rc = STORE(m->db, alerts_live, agent_id, mkt_collect, all) < 0 ? -1 : 0;
    size_t i;
    json_t *a;
    json_array_foreach(all, i, a)
    {
        const char *st = mkt_str(a, "status");
        if (st && (strcmp(st, "open") == 0 || (acked && strcmp(st, "acked") == 0)))
            json_array_append(arr, a);
    }
    json_decref(all);
    return rc;
}

/* True when the string array arr holds s. */
static bool has_id(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) &&
                                      strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

/* The open alert of agent_id that a repeat of (severity, rule) about kind joins, from
 * open (borrowed), or NULL: raised last less than ten minutes ago, with room left. */
static json_t *group_of(market *m, json_t *open, const char *severity, const char *rule,
                        const char *kind)
{
    char since[32];
    mkt_time_str(m->now - ALERT_GROUP_MS, since);
    size_t i;
    json_t *a;
    json_array_foreach(open, i, a)
    {
        const char *last = mkt_str(a, "last_at") ? mkt_str(a, "last_at") : mkt_str(a, "at");
        const char *akind = mkt_str(json_object_get(a, "subject"), "kind");
        if (strcmp(mkt_str(a, "rule"), rule) == 0 &&
            strcmp(mkt_str(a, "severity"), severity) == 0 && akind && strcmp(akind, kind) == 0 &&
            last && strcmp(last, since) > 0 &&
            json_array_size(json_object_get(a, "purchase_ids")) < ALERT_GROUP_MAX &&
            json_is_array(json_object_get(a, "purchase_ids")))
            return a;
    }
    return NULL;
}

/* Adds a repeat (about purchase pur, or none) to alert a and stores it. 0 or -1. */
static int group_add(market *m, json_t *a, const char *pur)
{
    json_object_set_new(a, "count", json_integer(mkt_int(a, "count") + 1));
    json_object_set_new(a, "last_at", mkt_time_json(m->now));
    json_t *ids = json_object_get(a, "purchase_ids");
    if (pur && !has_id(ids, pur))
        json_array_append_new(ids, json_string(pur));
    return mkt_update(m, "alert", a);
}

int risk_alert(market *m, const char *severity, const char *rulename, json_t *p,
               const char *agent_id, const char *message)
{
    const char *pur = p ? mkt_str(p, "id") : NULL, *kind = p ? "purchase" : "agent";
    const char *agent = p ? mkt_str(p, "buyer_id") : agent_id;
    if (!agent || (p && !pur))
        return -1;
    json_t *open = json_array();
    int rc = agent_alerts(m, agent, false, open);
    json_t *g = rc == 0 ? group_of(m, open, severity, rulename, kind) : NULL;
    if (g) {
        rc = group_add(m, g, pur);
        json_decref(open);
        return rc;
    }
    json_decref(open);
    char aid[72];
    if (rc != 0 || mkt_new_id(m, "alr_", aid) != 0)
        return -1;
    json_t *a = json_pack(
        "{ss sI ss ss s{ss ss} ss ss ss sn so sI so s[] sn}", "id", aid, "version", 1, "severity",
        severity, "rule", rulename, "subject", "kind", kind, "id", pur ? pur : agent, "agent_id",
        agent, "message", message, "status", "open", "acked_by", "at", mkt_time_json(m->now),
        "count", (json_int_t)1, "last_at", mkt_time_json(m->now), "purchase_ids", "resolution");
    if (a && pur)
        json_array_append_new(json_object_get(a, "purchase_ids"), json_string(pur));
    rc = a ? mkt_create(m, "alert", a, NULL) : -1;
    if (rc == 0 && strcmp(severity, "critical") == 0) /* escalated (marketd/webhook.c) */
        rc = webhook_enqueue(m, "alert.critical", a);
    json_decref(a);
    return rc;
}

int risk_raise(market *m, json_t *p)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(p, "flags"), i, f)
    {
        if (risk_alert(m, mkt_str(f, "severity"), mkt_str(f, "rule"), p, NULL,
                       mkt_str(f, "detail")) != 0)
            return -1;
    }
    /* a purchase decided as it was made (a policy) never waits: its alerts resolve now */
    return risk_resolve(m, p);
}

/* True when a purchase of alert a other than p (already out of pending) still waits for
 * a decision. Newest first: the ones still pending are the latest. */
static bool any_pending(market *m, json_t *a, const char *p)
{
    json_t *ids = json_object_get(a, "purchase_ids");
    for (size_t i = json_array_size(ids); i-- > 0;) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id || strcmp(id, p) == 0)
            continue;
        json_t *o = mkt_get(m, "purchase", id);
        bool pending = o && strcmp(mkt_str(o, "status"), "pending_approval") == 0;
        json_decref(o);
        if (pending)
            return true;
    }
    return false;
}

/* Resolves alert a by purchase p's change and stores it. 0 or -1. */
static int resolve(market *m, json_t *a, json_t *p)
{
    json_t *dec = json_object_get(p, "decision");
    const char *by = json_is_object(dec) ? mkt_str(dec, "by") : NULL;
    json_object_set_new(a, "status", json_string("resolved"));
    json_object_set_new(a, "resolution",
                        json_pack("{ss ss so so}", "purchase_id", mkt_str(p, "id"),
                                  "purchase_status", mkt_str(p, "status"), "by",
                                  by ? json_string(by) : json_null(), "at", mkt_time_json(m->now)));
    return mkt_update(m, "alert", a);
}

int risk_resolve(market *m, json_t *p)
{
    const char *st = mkt_str(p, "status"), *id = mkt_str(p, "id"), *buyer = mkt_str(p, "buyer_id");
    /* only a flagged purchase raised alerts while it waited */
    if (!st || !id || !buyer || strcmp(st, "pending_approval") == 0 ||
        json_array_size(json_object_get(p, "flags")) == 0)
        return 0;
    json_t *live = json_array();
    int rc = agent_alerts(m, buyer, true, live);
    size_t i;
    json_t *a;
    json_array_foreach(live, i, a)
    {
        if (rc == 0 && has_id(json_object_get(a, "purchase_ids"), id) && !any_pending(m, a, id))
            rc = resolve(m, a, p);
    }
    json_decref(live);
    return rc;
}
