/* bench_disputes.c: the fleet's disputes after a sale (issue 17), and a scripted resolver
 * that reads only what the evidence view shows, against the simulation's ground truth.
 *
 *   fleet      a real marketd (tests/lib/testsrv) with the make demo fleet (--fleet 12
 *              --rate 2 --default-policies, tui/demo.c) runs for SECONDS while a
 *              supervisor script approves every purchase that waits (so deals settle and
 *              can be disputed); respond_by is 60 s (--dispute-respond-seconds 60) so the
 *              unanswered path shows within the run. Then the fleet is halted and its
 *              disputes counted: opened, justified and bad faith (GET /v1/sim/faults:
 *              dispute_justified, dispute_bad_faith with the purchase id), responded,
 *              with an offer, offers accepted, unanswered.
 *   resolver   for every dispute not resolved by an accepted offer, the real dealdesk
 *              ($DEALDESK_BIN, default build/dealdesk) prints `disputes show ID --json`
 *              (exactly the evidence view, tui/headless_disputes.c, and its "facts"); the
 *              rule below decides from that alone, and the verdict is applied with
 *              `dealdesk disputes resolve` (the resolution path, as a supervisor's
 *              decision). Each verdict is compared with the label: justified → refund
 *              expected, bad faith → rejected expected.
 *
 * The rule (uses only the --json evidence; the fleet's disputes are opened by the buyer):
 *   1. refund when the evidence shows a fault that fits: the agreed terms differ from
 *      what was bought (quantity_differs, unit_price_differs), the ship-to was
 *      unverified, or the purchase carried at purchase time a flag relevant to the reason
 *      (relevant[] below: e.g. wrong_quantity ← quantity_vs_intent, terms_drift);
 *   2. rejected when the terms are clean and the opener has a history of disputes
 *      (buyer_opened >= HISTORY_MANY other disputes) most of which were not refunded
 *      in full or in part;
 *   3. otherwise (clean terms, little history) partial_refund: the seller's offer when
 *      there is one, else half the claim (the benefit of the doubt; counted apart, as
 *      neither agreeing nor disagreeing).
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_disputes [SECONDS [AGENTS [RATE]]] (default 600 s, 12 agents at rate 2:
 * the make demo fleet; tests/bench/run.sh runs it for 60 s; the ten-minute
 * figure: build/bench/bench_disputes 600).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define HISTORY_MANY 2 /* other disputes opened by the buyer that make a clean claim doubtful */

static testsrv srv;
static char *tokfile;

static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* GETs path as sup1 and parses the answer (owned), or NULL. */
static json_t *get_json(const char *path)
{
    testhttp_resp r;
    json_t *j = NULL;
    if (testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r) == 0 && r.status == 200)
        j = json_loads(r.body, 0, NULL);
    testhttp_resp_free(&r);
    return j;
}

/* Every item of the list at base ("/v1/disputes?limit=1000"), paged to the end (owned). */
static json_t *all_of(const char *base)
{
    json_t *all = json_array();
    char path[300];
    snprintf(path, sizeof path, "%s", base);
    for (;;) {
        json_t *page = get_json(path);
        if (!page)
            break;
        json_array_extend(all, json_object_get(page, "items"));
        const char *next = json_string_value(json_object_get(page, "next"));
        if (next)
            snprintf(path, sizeof path, "%s&after=%s", base, next);
        json_decref(page);
        if (!next)
            break;
    }
    return all;
}

/* The supervisor script: approves every purchase waiting now, at the total it shows.
 * Returns how many were approved. */
static int approve_waiting(void)
{
    json_t *page = get_json("/v1/purchases?status=pending_approval&limit=100");
    int n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(page, "items"), i, p)
    {
        char path[160], body[96];
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", str(p, "id"));
        snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", num(p, "total_minor"));
        testhttp_resp a;
        testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, num(p, "version"), body, &a);
        n += a.status == 200;
        testhttp_resp_free(&a);
    }
    json_decref(page);
    return n;
}

/* Runs the real dealdesk with args (already shell-safe: ids, loopback URL, temp paths)
 * and returns its stdout (owned) and exit status. */
static char *dealdesk(const char *args, int *status)
{
    const char *bin = getenv("DEALDESK_BIN");
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "'%s' --url '%s' --token-file '%s' %s", bin, srv.url, tokfile, args);
    FILE *f = popen(cmd, "r");
    if (!f) {
        *status = -1;
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (size_t got; out && (got = fread(out + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *more = realloc(out, cap *= 2);
            if (!more)
                break;
            out = more;
        }
    }
    if (out)
        out[n] = '\0';
    *status = pclose(f);
    return out;
}

/* ---- the rule ------------------------------------------------------------------ */

/* The flags at purchase time that speak for a claim of each reason (marketd/risk.c's
 * rules); "other" takes any of them. */
static const char *const relevant[][5] = {
    {"not_received", "ship_to_unverified", NULL},
    {"wrong_quantity", "quantity_vs_intent", "terms_drift", "over_deal_max", NULL},
    {"not_as_described", "overpay", "hidden_text", NULL},
    {"unauthorized", "off_mandate", "duplicate", "over_deal_max", "budget"},
};

static bool fits(const char *reason, const char *rule)
{
    for (size_t i = 0; i < sizeof relevant / sizeof relevant[0]; i++)
        for (size_t k = 1; k < 5 && relevant[i][k]; k++)
            if (!strcmp(relevant[i][k], rule) &&
                (!strcmp(reason, "other") || !strcmp(relevant[i][0], reason)))
                return true;
    return false;
}

typedef struct verdict {
    char outcome[16]; /* refund, partial_refund, rejected */
    long long amount; /* for partial_refund */
    char why[160];
} verdict;

/* Decides from the evidence ev (the --json of `dealdesk disputes show`) alone. */
static verdict decide(json_t *ev)
{
    verdict v = {"", 0, ""};
    const char *reason = str(ev, "reason");
    json_t *f = json_object_get(ev, "facts");
    const char *fit = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(f, "flag_rules"), i, r)
    {
        if (!fit && fits(reason, json_string_value(r)))
            fit = json_string_value(r);
    }
    if (json_is_true(json_object_get(f, "quantity_differs")) ||
        json_is_true(json_object_get(f, "unit_price_differs")) ||
        json_is_true(json_object_get(f, "ship_to_unverified")) || fit) {
        snprintf(v.outcome, sizeof v.outcome, "refund");
        snprintf(v.why, sizeof v.why, "bench_disputes rule 1: the evidence shows %s",
                 fit ? fit : "the agreed terms or the ship-to differ");
        return v;
    }
    long long opened = num(f, "buyer_opened"), refunded = num(f, "buyer_opened_refunded");
    if (opened >= HISTORY_MANY && refunded * 2 <= opened) {
        snprintf(v.outcome, sizeof v.outcome, "rejected");
        snprintf(v.why, sizeof v.why,
                 "bench_disputes rule 2: clean terms; the buyer opened %lld other disputes, "
                 "%lld refunded",
                 opened, refunded);
        return v;
    }
    long long offer = num(f, "offer_minor"), claim = num(f, "claim_minor");
    snprintf(v.outcome, sizeof v.outcome, "partial_refund");
    v.amount = offer > 0 ? offer : claim / 2 > 0 ? claim / 2 : claim;
    snprintf(v.why, sizeof v.why, "bench_disputes rule 3: clean terms, little history: %s",
             offer > 0 ? "the seller's offer" : "half the claim");
    return v;
}

/* ---- counting and resolving ------------------------------------------------------ */

typedef struct tally {
    int opened, justified, bad_faith, unlabelled, responded, offers, accepted, unanswered;
    int judged, refund, partial, rejected, agree, just_rejected, bad_refunded, just_partial,
        bad_partial, show_failed, applied, apply_failed;
    double show_ms_max, show_ms_sum;
} tally;

/* The ground truth of each disputed purchase: 'j' justified, 'b' bad faith (owned). */
static json_t *labels(void)
{
    json_t *fs = get_json("/v1/sim/faults"), *by = json_object();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fs, "items"), i, f)
    {
        const char *k = str(f, "kind");
        if (!strcmp(k, "dispute_justified") || !strcmp(k, "dispute_bad_faith"))
            json_object_set_new(by, str(f, "purchase_id"), json_string(k[8] == 'j' ? "j" : "b"));
    }
    json_decref(fs);
    return by;
}

/* Shows dispute d with dealdesk, decides, compares with label, applies the verdict. */
static void judge(tally *t, json_t *d, char label)
{
    char args[400];
    int st;
    snprintf(args, sizeof args, "disputes show %s --json", str(d, "id"));
    double t0 = tproc_now_s();
    char *out = dealdesk(args, &st);
    double ms = (tproc_now_s() - t0) * 1000.0;
    json_t *ev = st == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    if (!ev) {
        t->show_failed++;
        return;
    }
    t->judged++;
    t->show_ms_sum += ms;
    t->show_ms_max = ms > t->show_ms_max ? ms : t->show_ms_max;
    verdict v = decide(ev);
    bool refund = !strcmp(v.outcome, "refund"), reject = !strcmp(v.outcome, "rejected");
    t->refund += refund;
    t->rejected += reject;
    t->partial += !refund && !reject;
    t->agree += (label == 'j' && refund) || (label == 'b' && reject);
    t->just_rejected += label == 'j' && reject;
    t->bad_refunded += label == 'b' && refund;
    t->just_partial += label == 'j' && !refund && !reject;
    t->bad_partial += label == 'b' && !refund && !reject;
    char amount[64] = "";
    if (!refund && !reject) {
        char a[40];
        money_format(a, sizeof a, v.amount, str(ev, "currency"), MONEY_FMT_NOGROUP);
        snprintf(amount, sizeof amount, " --amount %s", a);
    }
    snprintf(args, sizeof args, "disputes resolve %s --outcome %s%s --reason '%s' >/dev/null",
             str(d, "id"), v.outcome, amount, v.why);
    out = dealdesk(args, &st);
    free(out);
    if (st == 0)
        t->applied++;
    else
        t->apply_failed++;
    json_decref(ev);
}

/* Counts the fleet's disputes and judges those not resolved by an offer. */
static void count_and_judge(tally *t)
{
    json_t *ds = all_of("/v1/disputes?limit=1000"), *lab = labels();
    size_t i;
    json_t *d;
    json_array_foreach(ds, i, d)
    {
        const char *l = str(lab, str(d, "purchase_id"));
        json_t *res = json_object_get(d, "resolution"), *rs = json_object_get(d, "responses");
        bool offered = false;
        size_t k;
        json_t *r;
        json_array_foreach(rs, k, r) offered |= json_is_integer(json_object_get(r, "offer_minor"));
        t->opened++;
        t->justified += *l == 'j';
        t->bad_faith += *l == 'b';
        t->unlabelled += !*l;
        t->responded += json_array_size(rs) > 0;
        t->offers += offered;
        t->accepted += !strcmp(str(res, "via"), "offer");
        t->unanswered += json_is_true(json_object_get(d, "unanswered"));
        if (*l && strcmp(str(d, "status"), "resolved") != 0)
            judge(t, d, *l);
    }
    json_decref(lab);
    json_decref(ds);
}

static void report(const tally *t, int agents, double rate, double minutes, int approved)
{
    printf("%d agents at rate %g for %.1f min (%d purchases approved by the script): %d "
           "disputes opened (%d justified, %d bad faith, %d unlabelled); %d responded, %d with "
           "an offer, %d offers accepted, %d unanswered at respond_by\n",
           agents, rate, minutes, approved, t->opened, t->justified, t->bad_faith, t->unlabelled,
           t->responded, t->offers, t->accepted, t->unanswered);
    printf("resolver (dealdesk disputes show --json only): %d judged: %d refund, %d partial, %d "
           "rejected; %d agree with the ground truth; justified rejected %d, bad faith refunded "
           "%d; partial on justified %d, on bad faith %d; %d applied with dealdesk disputes "
           "resolve (%d failed); %d evidence reads failed; evidence read mean %.0f ms, max %.0f "
           "ms\n",
           t->judged, t->refund, t->partial, t->rejected, t->agree, t->just_rejected,
           t->bad_refunded, t->just_partial, t->bad_partial, t->applied, t->apply_failed,
           t->show_failed, t->judged ? t->show_ms_sum / t->judged : 0, t->show_ms_max);
    bench_line("disputes", "opened", t->opened, "disputes", "-", "info");
    bench_line("disputes", "justified", t->justified, "disputes", "-", "info");
    bench_line("disputes", "bad faith", t->bad_faith, "disputes", "-", "info");
    bench_line("disputes", "responded", t->responded, "disputes", "-", "info");
    bench_line("disputes", "offers accepted", t->accepted, "disputes", "-", "info");
    bench_line("disputes", "unanswered at respond_by", t->unanswered, "disputes", "-", "info");
    bench_line("disputes", "judged by the resolver", t->judged, "disputes", "-", "info");
    bench_line("disputes", "resolver agrees with ground truth",
               t->judged ? 100.0 * t->agree / t->judged : 0, "%", "-", "info");
    bench_line("disputes", "justified rejected", t->just_rejected, "disputes", "0",
               t->just_rejected == 0 ? "met" : "missed");
    bench_line("disputes", "bad faith refunded", t->bad_refunded, "disputes", "0",
               t->bad_refunded == 0 ? "met" : "missed");
    bench_line("disputes", "partial (neither)", t->partial, "disputes", "-", "info");
    bench_line("disputes", "verdicts applied via dealdesk", t->applied, "disputes", "all judged",
               t->applied == t->judged ? "met" : "missed");
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 600;
    int agents = argc > 2 ? atoi(argv[2]) : 12;
    double rate = argc > 3 ? atof(argv[3]) : 2;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    if (!getenv("DEALDESK_BIN"))
        setenv("DEALDESK_BIN", "build/dealdesk", 1);
    char args[200];
    snprintf(args, sizeof args,
             "--fleet %d --rate %g --seed 3 --default-policies --dispute-respond-seconds 60",
             agents, rate);
    if (testsrv_start(&srv, args) != 0)
        return 1;
    /* dealdesk's journal and settings stay in the server's scratch folder */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/state", srv.dir);
    setenv("XDG_STATE_HOME", dir, 1);
    snprintf(dir, sizeof dir, "%s/config", srv.dir);
    setenv("XDG_CONFIG_HOME", dir, 1);
    tokfile = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    int approved = 0;
    double t0 = tproc_now_s();
    while (tproc_now_s() - t0 < secs) {
        approved += approve_waiting();
        tproc_nap(500);
    }
    double minutes = (tproc_now_s() - t0) / 60.0;
    testhttp_resp h;
    testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                 "{\"reason\":\"bench_disputes: counting\"}", &h);
    bool halted = h.status == 200;
    testhttp_resp_free(&h);
    tally t = {0};
    if (tokfile && halted)
        count_and_judge(&t);
    report(&t, agents, rate, minutes, approved);
    bool ok = tokfile && halted && t.show_failed == 0;
    free(tokfile);
    testsrv_stop(&srv);
    return ok ? 0 : 1;
}
