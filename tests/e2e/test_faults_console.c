/* test_faults_console.c: the console when things go wrong around it.
 *
 * - Two consoles (sup1 and sup2) deciding the same purchases at once, one approving and
 *   the other vetoing: exactly one outcome on the server, and each console shows it.
 * - Decisions landing on the deadline (marketd --decide-timeout 2): exactly one of
 *   "approved by the operator" or "expired", and the console shows which.
 * - The pseudo-terminal closed (an SSH link dropped) while idle and while a decision is
 *   in flight behind a stalled proxy: the process exits within 2 s and does not spin
 *   (its CPU time, read from /proc before it is reaped, is printed and bounded).
 * (The console under server faults: test_faults_console_server.c.)
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/e2e.h"
#include "tests/lib/faultproxy.h"

#define WAIT_MS 15000

/* How many decision records name subject. */
static int decisions_on(e2e_market *m, const char *subject)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/decisions?limit=1000", &r), 0);
    int n = 0;
    long long len = testjson_len(r.body, "items");
    for (long long i = 0; i < len; i++) {
        char p[64], id[72] = "";
        snprintf(p, sizeof p, "items.%lld.subject.id", i);
        testjson_str(r.body, p, id, sizeof id);
        n += !strcmp(id, subject);
    }
    testhttp_resp_free(&r);
    return n;
}

/* Quits a console with q and frees it. */
static void quit(vt *t)
{
    e2e_quit(t);
}

/* True when the screen tells of a conflict (409) or a changed version (412). */
static bool told_conflict(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "409") || vt_contains(t, "412");
}

/* Two operators decide the same purchases at the same moment. */
static void test_two_consoles_decide_at_once(void **state)
{
    (void)state;
    int64_t t_start = tproc_now_ms();
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, NULL), 0);
    int approved = 0, vetoed = 0;
    for (int k = 0; k < 3; k++) {
        char pur[65], neg[65], status[32];
        assert_int_equal(e2e_purchase(&m, "Tandem bike", "bikes", 81000 + k, 1, pur, neg), 0);
        vt *a = e2e_console_on(&m, pur, m.sup1_file, NULL);
        vt *b = e2e_console_on(&m, pur, m.sup2_file, NULL);
        /* a approves (confirmation open), b vetoes (reason typed, not yet sent) */
        vt_send(a, "a");
        assert_true(e2e_wait(a, "N no (default)", WAIT_MS));
        vt_send(b, "v");
        assert_true(e2e_wait(b, "reason:", WAIT_MS));
        vt_send(b, "both at once");
        assert_true(e2e_wait(b, "both at once", WAIT_MS)); /* typed: Enter sends it */
        /* now both, back to back (alternating who goes first) */
        if (k % 2) {
            vt_send(b, "\r");
            vt_send(a, "y");
        } else {
            vt_send(a, "y");
            vt_send(b, "\r");
        }
        /* Exactly one outcome on the server. */
        int64_t deadline = tproc_now_ms() + WAIT_MS;
        do {
            assert_int_equal(e2e_purchase_status(&m, pur, status, sizeof status, NULL), 0);
        } while (!strcmp(status, "pending_approval") && tproc_now_ms() < deadline &&
                 (tproc_nap(20), 1));
        /* an approval settles at once; let it */
        deadline = tproc_now_ms() + WAIT_MS;
        while (!strcmp(status, "approved") && tproc_now_ms() < deadline) {
            tproc_nap(20);
            assert_int_equal(e2e_purchase_status(&m, pur, status, sizeof status, NULL), 0);
        }
        bool won_a = !strcmp(status, "settled"), won_b = !strcmp(status, "vetoed");
        if (!won_a && !won_b)
            fail_msg("%s ended %s", pur, status);
        approved += won_a;
        vetoed += won_b;
        assert_int_equal(decisions_on(&m, pur), 1);
        /* Each console shows the server's outcome, and the loser was told. */
        const char *shown = won_a ? "settled" : "vetoed";
        assert_true(e2e_wait(a, shown, WAIT_MS));
        assert_true(e2e_wait(b, shown, WAIT_MS));
        vt *loser = won_a ? b : a;
        if (!vt_wait(loser, told_conflict, NULL, WAIT_MS)) {
            vt_dump(loser, "the operator who lost the race");
            fail_msg("the loser of the race for %s was not told (409 or 412)", pur);
        }
        /* and the winner has its own answer (the outcome on screen may be the event's,
         * which can land first): else q asks about a decision still unanswered */
        char done[96];
        snprintf(done, sizeof done, "%s %s: done", won_a ? "approve" : "veto", pur);
        assert_true(e2e_wait(won_a ? a : b, done, WAIT_MS));
        quit(a);
        quit(b);
    }
    printf(
        "two consoles (%lld ms): 3 purchases decided at once: %d approved (sup1 first), %d vetoed "
        "(sup2 first), each exactly one decision record\n",
        (long long)(tproc_now_ms() - t_start), approved, vetoed);
    e2e_market_stop(&m);
}

/* True when the console shows the answer to its approval of the purchase ud: "approve
 * ID: done", "409 approve ID refused", "412 approve ID: ..." or another refusal. */
static bool approve_answered(vt *t, void *ud)
{
    char a[96], b[96];
    snprintf(a, sizeof a, "approve %s: ", (const char *)ud);
    snprintf(b, sizeof b, "approve %s refused", (const char *)ud);
    return vt_contains(t, a) || vt_contains(t, b);
}

/* True when the approve box is open, or the console says the purchase expired. */
static bool dialog_or_expired(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "N no (default)") || vt_contains(t, "is expired, not waiting");
}

/* Decisions sent around the moment the purchase expires. */
static void test_decisions_on_the_deadline(void **state)
{
    (void)state;
    int64_t t_start = tproc_now_ms();
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, "--decide-timeout 2"), 0);
    static const int offsets[] = {-400, -100, 0, 100, 400};
    int settled = 0, expired = 0;
    for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
        char pur[65], neg[65], status[32];
        vt *t = e2e_dealdesk(&m, 30, 100, m.sup1_file, NULL, NULL);
        assert_non_null(t);
        assert_true(e2e_wait(t, "live", WAIT_MS));
        assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
        int64_t made = tproc_now_ms();
        assert_int_equal(e2e_purchase(&m, "Racing bike", "bikes", 90000 + (int)k, 1, pur, neg), 0);
        vt_send(t, "/");
        vt_send(t, pur);
        vt_send(t, "\r");
        char want[80];
        snprintf(want, sizeof want, "%s v", pur);
        assert_true(e2e_wait(t, want, WAIT_MS)); /* its detail, pending or expired by now */
        vt_send(t, "a");
        /* the box opens, or (a console slower than the deadline) the purchase has expired
         * and nothing can be approved: either is a state, and both end below */
        if (!vt_wait(t, dialog_or_expired, NULL, WAIT_MS)) {
            vt_dump(t, "waiting for the approve box or the expiry");
            fail();
        }
        bool dialog = vt_contains(t, "N no (default)");
        int64_t aim = made + 2000 + offsets[k] - tproc_now_ms();
        if (aim > 0)
            tproc_nap((int)aim);
        if (dialog)
            vt_send(t, "y");
        int64_t deadline = tproc_now_ms() + WAIT_MS;
        do {
            tproc_nap(20);
            assert_int_equal(e2e_purchase_status(&m, pur, status, sizeof status, NULL), 0);
        } while ((!strcmp(status, "pending_approval") || !strcmp(status, "approved")) &&
                 tproc_now_ms() < deadline);
        int ndec = decisions_on(&m, pur);
        if (!strcmp(status, "settled")) {
            settled++;
            assert_int_equal(ndec, 1);
        } else if (!strcmp(status, "expired")) {
            expired++;
            assert_true(ndec <= 1); /* an expiry may be recorded; never an approval too */
        } else {
            fail_msg("%s at offset %d ms: %s", pur, offsets[k], status);
        }
        assert_true(e2e_wait(t, status, WAIT_MS));
        /* the approval's own answer, whichever it is (the status on screen may be the
         * event's, which can land first): else q asks about a decision unanswered */
        if (dialog && !vt_wait(t, approve_answered, pur, WAIT_MS)) {
            vt_dump(t, "waiting for the approval's answer");
            fail();
        }
        quit(t);
    }
    printf(
        "deadline (%lld ms): 5 approvals sent at -400..+400 ms around the deadline: %d settled, %d "
        "expired, none both\n",
        (long long)(tproc_now_ms() - t_start), settled, expired);
    assert_int_equal(settled + expired, 5);
    e2e_market_stop(&m);
}

/* CPU time (utime + stime, ms) of pid from /proc, or -1. Works on a zombie too. */
static long cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* fields after the name: state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

/* The process state letter from /proc (Z once it has exited), or 0. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] && p[2] ? p[2] : 0;
}

/* Closes the pty and measures until the process has exited (a zombie, not yet reaped):
 * the time, and the CPU it used meanwhile. */
static void hangup_and_measure(vt *t, int64_t *exit_ms, long *cpu_used)
{
    pid_t pid = vt_pid(t);
    long cpu0 = cpu_ms(pid);
    int64_t t0 = tproc_now_ms();
    vt_hangup(t);
    long last = cpu0;
    while (tproc_now_ms() - t0 < 10000) {
        char s = proc_state(pid);
        long c = cpu_ms(pid);
        if (c >= 0)
            last = c;
        if (s == 'Z' || s == 0)
            break;
        tproc_nap(5);
    }
    *exit_ms = tproc_now_ms() - t0;
    *cpu_used = last - cpu0;
    assert_true(vt_wait_exit(t, 5000) >= 0);
    vt_free(t);
}

/* The SSH link drops while idle, and while a decision is in flight. */
static void test_pty_closed_idle_and_mid_request(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, NULL), 0);
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(&m, "Unicycle", "bikes", 12000, 1, pur, neg), 0);
    /* idle */
    vt *t = e2e_console_on(&m, pur, m.sup1_file, NULL);
    vt_wait_quiet(t, 300, 3000);
    int64_t idle_ms;
    long idle_cpu;
    hangup_and_measure(t, &idle_ms, &idle_cpu);
    /* mid-request: the approval is held by a stalled proxy */
    faultproxy *fp = faultproxy_start(m.srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    t = e2e_dealdesk_at(&m, url, 30, 100, m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
    vt_send(t, "/");
    vt_send(t, pur);
    vt_send(t, "\r");
    vt_send(t, "a");
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    faultproxy_set(fp, FAULTPROXY_STALL, 0);
    vt_send(t, "y");
    assert_true(e2e_wait(t, "approving", WAIT_MS));
    int64_t busy_ms;
    long busy_cpu;
    hangup_and_measure(t, &busy_ms, &busy_cpu);
    faultproxy_stop(fp);
    printf("pty closed: idle -> exited in %lld ms using %ld ms CPU; mid-request -> exited in %lld "
           "ms using %ld ms CPU (limit 2000 ms)\n",
           (long long)idle_ms, idle_cpu, (long long)busy_ms, busy_cpu);
    assert_true(idle_ms < 2000);
    assert_true(busy_ms < 2000);
    /* not spinning: far less CPU than the time it took */
    assert_true(idle_cpu < 500);
    assert_true(busy_cpu < 500);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_consoles_decide_at_once),
        cmocka_unit_test(test_decisions_on_the_deadline),
        cmocka_unit_test(test_pty_closed_idle_and_mid_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
