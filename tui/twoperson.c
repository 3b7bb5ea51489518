/* twoperson.c: what the console says of two-person approval and claims (issue 16).
 *
 * A purchase at or above its buyer's two_person_minor needs two supervisors' approvals
 * (docs/api.md, Two-person approval): the console shows "1 of 2 approvals (sup1)", and
 * marks the purchases waiting for an approval this operator can give: their Pending
 * state starts "you:", which the pane's filter finds (/you:). A supervisor's claim
 * ("sup2 is reviewing", docs/api.md, Claims) is shown on the purchase and said in the
 * confirmation before deciding it; opening the approve box or the detail of a purchase
 * claims it (twoperson_claim, a request that is not waited for).
 */
#include <stdio.h>
#include <string.h>

#include "tui/ui.h"

/* This console's operator name ("" until whoami answered). */
static const char *me(const ui *u)
{
    return u->cs.operator_name;
}

const char *twoperson_approvals(const model_purchase *p, char *buf, size_t size)
{
    buf[0] = '\0';
    if (p->approvals_required < 2)
        return buf;
    int n = p->napprovals;
    if (n <= 0) {
        snprintf(buf, size, "0 of %d approvals", p->approvals_required);
        return buf;
    }
    char names[160] = "";
    for (int i = 0; i < n && i < MODEL_APPROVALS_MAX; i++) {
        size_t k = strlen(names);
        snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "",
                 p->approved_by[i].s ? p->approved_by[i].s : "?");
    }
    snprintf(buf, size, "%d of %d approvals (%s)", n, p->approvals_required, names);
    return buf;
}

bool twoperson_mine(const ui *u, const model_purchase *p)
{
    return me(u)[0] && model_awaits_approval_by(p, me(u));
}

const char *twoperson_reviewer(const ui *u, const model_purchase *p, char *buf, size_t size)
{
    const char *by = model_claimed_by_other(p, me(u), ui_clock_ms(u));
    if (!by)
        return NULL;
    snprintf(buf, size, "%s is reviewing", by);
    return buf;
}

bool twoperson_state(const ui *u, const model_purchase *p, char *buf, size_t size)
{
    char ap[200], rv[96];
    if (p->status != PUR_PENDING)
        return false;
    if (p->approvals_required >= 2) {
        twoperson_approvals(p, ap, sizeof ap);
        snprintf(buf, size, "%s%s", twoperson_mine(u, p) ? "you: " : "", ap);
        return true;
    }
    if (twoperson_reviewer(u, p, rv, sizeof rv)) {
        snprintf(buf, size, "%s", rv);
        return true;
    }
    return false;
}

bool twoperson_confirm_line(const ui *u, const model_purchase *p, char *buf, size_t size)
{
    char ap[200], rv[96];
    const char *who = twoperson_reviewer(u, p, rv, sizeof rv);
    bool two = p->approvals_required >= 2 && p->status == PUR_PENDING;
    if (two)
        twoperson_approvals(p, ap, sizeof ap);
    if (!who && !two)
        return false;
    bool first = two && p->napprovals + 1 < p->approvals_required;
    /* presence known and under two: a second approval may not come before the deadline */
    int watching = u->cs.presence_supervisors;
    char few[96] = "";
    if (first && watching >= 0 && watching < 2)
        snprintf(few, sizeof few, "; %d supervisor%s watching: a second may not come in time",
                 watching, watching == 1 ? "" : "s");
    snprintf(buf, size, "%s%s%s%s%s", who ? rv : "", who ? ": decide anyway? " : "", two ? ap : "",
             !two    ? ""
             : first ? ", yours is the first: it stays pending"
                     : ", yours settles it",
             few);
    return true;
}

void twoperson_claim(ui *u, const model_purchase *p)
{
    /* only a pending purchase, and not one another supervisor is reviewing (the server
     * would refuse it: 409 claimed); renewing this operator's own claim is fine */
    if (!u->cl || p->status != PUR_PENDING || model_claimed_by_other(p, me(u), ui_clock_ms(u)))
        return;
    client_claim(u->cl, p->id);
}
