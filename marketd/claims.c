/* claims.c: a supervisor's claim on a pending purchase ("sup2 is reviewing").
 *
 * POST /v1/purchases/{id}/claim makes or renews a Claim {id, purchase_id, by, until,
 * status}: an object of its own (kind "claim", keyed by the purchase's id, with its own
 * claim.updated events), so that claiming never changes the purchase's version (every
 * other supervisor's If-Match on it stays good). A claim is active until its until (the
 * market's claim lifetime, --claim-seconds, after the last claim), when market_tick
 * marks it expired, or until any change of the purchase (a decision, a first approval,
 * expiry: mkt_update in db.c calls claims_release), which marks it released. A claim is
 * advisory: it refuses another supervisor's claim (409 claimed), never a decision.
 */
#include "marketd/mkt.h"

#include <stdint.h>
#include <string.h>

#include "api/text.h"

/* True when claim cl is active at ms now. */
static bool claim_live(json_t *cl, int64_t now)
{
    return cl && !strcmp(mkt_str(cl, "status"), "active") &&
           mkt_parse_time(mkt_str(cl, "until")) > now;
}

bool claims_post(mkt_ctx *c)
{
    market *m = c->m;
    const char *id = c->seg[1];
    if (!text_valid_id(id, "pur_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid purchase id");
    json_t *p = mkt_get(m, "purchase", id);
    if (!p)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such purchase");
    bool pending = !strcmp(mkt_str(p, "status"), "pending_approval");
    if (!pending) {
        bool r = mkt_fail(c, 409, "conflict", NULL, p, "the purchase is %s", mkt_str(p, "status"));
        json_decref(p);
        return r;
    }
    json_decref(p);
    json_t *cl = mkt_get(m, "claim", id);
    if (claim_live(cl, m->now) && strcmp(mkt_str(cl, "by"), c->a->name) != 0) {
        bool r = mkt_fail(c, 409, "claimed", NULL, cl, "%s is reviewing this purchase",
                          mkt_str(cl, "by"));
        json_decref(cl);
        return r;
    }
    bool fresh = !cl;
    if (fresh)
        cl = json_pack("{ss ss}", "id", id, "purchase_id", id);
    int64_t until = m->now + (int64_t)m->claim_s * 1000;
    json_object_set_new(cl, "by", json_string(c->a->name));
    json_object_set_new(cl, "until", mkt_time_json(until));
    json_object_set_new(cl, "status", json_string("active"));
    int rc = fresh ? mkt_create(m, "claim", cl, NULL) : mkt_update(m, "claim", cl);
    if (rc != 0) {
        json_decref(cl);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the claim");
    }
    if (m->claim_due == 0 || until < m->claim_due)
        m->claim_due = until;
    return mkt_ok(c, 200, cl);
}

int claims_release(market *m, json_t *p)
{
    json_t *cl = mkt_get(m, "claim", mkt_str(p, "id"));
    int rc = 0;
    if (cl && !strcmp(mkt_str(cl, "status"), "active")) {
        json_object_set_new(cl, "status", json_string("released"));
        rc = mkt_update(m, "claim", cl);
    }
    json_decref(cl);
    return rc;
}

/* Marks the active claims past their until expired (one transaction) and notes the next
 * until to look again at. */
static void expire_claims(market *m)
{
    json_t *live = json_array();
    int64_t next = INT64_MAX;
    bool ok = STORE(m->db, objects_working, "claim", "active", NULL, 0, mkt_collect, live) >= 0,
         began = false;
    size_t i;
    json_t *cl;
    json_array_foreach(live, i, cl)
    {
        int64_t until = mkt_parse_time(mkt_str(cl, "until"));
        if (!ok || until > m->now) {
            if (until < next)
                next = until;
            continue;
        }
        if (!began && !(ok = began = mkt_begin(m, true) == 0))
            continue;
        /* several instances: the claim as it is now (renewed elsewhere since the read?) */
        json_t *cur = m->shared ? mkt_get(m, "claim", mkt_str(cl, "id")) : json_incref(cl);
        if (cur && mkt_str(cur, "status") && strcmp(mkt_str(cur, "status"), "active") == 0 &&
            mkt_parse_time(mkt_str(cur, "until")) <= m->now) {
            json_object_set_new(cur, "status", json_string("expired"));
            ok = mkt_update(m, "claim", cur) == 0;
        }
        json_decref(cur);
    }
    if (ok && (!began || mkt_commit(m) == 0))
        m->claim_due = next;
    else if (m->in_tx)
        mkt_rollback(m);
    json_decref(live);
}

void claims_tick(market *m)
{
    /* a shared engine's claims may come from any instance: looked at every tick */
    if (m->shared || m->claim_due == 0 || m->now >= m->claim_due)
        expire_claims(m);
}
