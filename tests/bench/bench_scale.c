/* bench_scale.c: the console against a market of 1M listings, 1M threads, 10M messages and
 * 10M ledger entries (issue 14; `make bench-scale`, never part of `make bench`).
 *
 * A real marketd runs on the fixture (tests/bench/scale/fixture.sh makes and caches it;
 * BENCH_SCALE_DB names it) on a free loopback port; the real build/dealdesk runs in a
 * 120x40 pty (tests/lib/vt). The working set: 2,000 agents, 500 pending purchases,
 * 1,000 open alerts, 20,000 open threads.
 *
 *   frame  from exec of dealdesk to the first screen whose header is true (live, "500
 *          pending", the 1,000 open alerts counted): median of 3 starts (goal < 300 ms).
 *   flood  the console's VmRSS during and after BENCH_SCALE_FLOOD_S seconds (default
 *          1800) of 5,000 events/s, sampled every BENCH_SCALE_SAMPLE_S (60): max and
 *          final (goal < 200 MB). The stream comes from tests/bench/scale/flood.c in
 *          front of marketd (everything else is marketd's own answer).
 *   keys   from writing a key to the pty to the screen showing the page's rows (no
 *          "loading" left, the list changed, the console quiet for 250 ms after):
 *          BENCH_SCALE_TRIALS (20) trials each of End on Threads/Ledger (history past
 *          the working set), a filter of a common word on Threads/Listings, a search of
 *          a rare lot number, and the next sort order: p95 (goal < 100 ms).
 *   tail   `dealdesk tail --after` against `jq -c .` over BENCH_SCALE_TAIL_N (200,000)
 *          of the fixture's events from far back (tests/bench/scale/tailjq.c).
 *
 * frame, flood and keys need a marketd that serves the working set (schema 4 or later:
 * issue 14's migration): against an older one the console would load the whole market,
 * so they are skipped with a message (BENCH_SCALE_FORCE=1 runs them anyway). keys is
 * skipped with a message while the console does not page history (its Threads pane does
 * not say "of 1,000,000").
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_scale [frame|flood|keys|tail]... (default all four). Needs BENCH_SCALE_DB,
 * DEALDESK_BIN and MARKETD_BIN (default build/...), TEST_TMP (default /tmp).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/bench/scale/flood.h"
#include "tests/bench/scale/scale.h"
#include "tests/bench/scale/tailjq.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"
#include "tests/lib/vt.h"

#define ROWS   40
#define COLS   120
#define SECRET "bench-scale-supervisor-7d1c5e"

void scale_bench_line(const char *section, const char *metric, double value, const char *unit,
                      const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static double env_num(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : dflt;
}

static const char *tmpdir(void)
{
    return getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
}

/* VmRSS of pid in bytes (-1 when unknown). */
static long long rss_bytes(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atoll(line + 6);
    if (f)
        fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* ---- marketd on the fixture ------------------------------------------------------------ */

/* Writes text to a new 0600 file. 0 or -1. */
static int private_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t n = strlen(text);
    int rc = fd >= 0 && write(fd, text, n) == (ssize_t)n ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Reads /v1/health into s->epoch and s->seq. 0 or -1. */
static int server_health(scale_server *s)
{
    char url[128];
    snprintf(url, sizeof url, "%s/v1/health", s->url);
    testhttp_resp r = {0};
    int rc = -1;
    if (testhttp("GET", url, NULL, NULL, NULL, &r) == 0 && r.status == 200) {
        json_t *j = json_loads(r.body, 0, NULL);
        const char *e = json_string_value(json_object_get(j, "epoch"));
        if (e) {
            snprintf(s->epoch, sizeof s->epoch, "%s", e);
            s->seq = (long long)json_integer_value(json_object_get(j, "seq"));
            rc = 0;
        }
        json_decref(j);
    }
    testhttp_resp_free(&r);
    return rc;
}

/* Starts marketd on db (its tokens and the console's token file in TEST_TMP) and waits
 * for its "listening on" line and /v1/health. 0 or -1. */
static int server_start(scale_server *s, const char *db)
{
    memset(s, 0, sizeof *s);
    char out[600];
    snprintf(s->tokens, sizeof s->tokens, "%s/scale-tokens", tmpdir());
    snprintf(s->token_file, sizeof s->token_file, "%s/scale-token", tmpdir());
    snprintf(out, sizeof out, "%s/scale-marketd.out", tmpdir());
    if (private_file(s->tokens, "bench supervisor " SECRET "\n") != 0 ||
        private_file(s->token_file, SECRET "\n") != 0) {
        perror(s->tokens);
        return -1;
    }
    unlink(out);
    const char *bin = getenv("MARKETD_BIN") ? getenv("MARKETD_BIN") : "build/marketd";
    s->pid = fork();
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        execl(bin, bin, "--listen", "127.0.0.1:0", "--db", db, "--tokens", s->tokens, (char *)NULL);
        _exit(127);
    }
    double end = tproc_now_s() + 900; /* a migration of the fixture, if fixture.sh did not */
    char text[4096];
    while (tproc_now_s() < end && waitpid(s->pid, NULL, WNOHANG) == 0) {
        tproc_slurp(out, text, sizeof text);
        const char *p = strstr(text, "listening on http://127.0.0.1:");
        if (p && strchr(p, '\n')) {
            s->port = atoi(p + strlen("listening on http://127.0.0.1:"));
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
            return server_health(s);
        }
        tproc_nap(50);
    }
    fprintf(stderr, "bench-scale: marketd did not start on %s\n", db);
    return -1;
}

static void server_stop(scale_server *s)
{
    if (s->pid > 0)
        tproc_stop_child(s->pid);
    s->pid = 0;
}

/* The database's schema version (PRAGMA user_version), or -1. */
static int schema_version(const char *db)
{
    sqlite3 *h = NULL;
    int v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return v;
}

/* ---- the console ------------------------------------------------------------------------- */

static char stats_path[600];

/* Events the console has applied so far (DEALDESK_STATS_FILE), or -1. */
static long long console_events(void)
{
    long long frames = -1, events = -1;
    FILE *fp = fopen(stats_path, "r");
    if (fp) {
        if (fscanf(fp, "frames %lld events %lld", &frames, &events) != 2)
            events = -1;
        fclose(fp);
    }
    return events;
}

/* Starts dealdesk in a 120x40 pty against url. */
vt *scale_console_start(const scale_server *s, const char *url)
{
    const char *bin = getenv("DEALDESK_BIN") ? getenv("DEALDESK_BIN") : "build/dealdesk";
    const char *argv[] = {bin, "--url", url, "--token-file", s->token_file, NULL};
    char stats_env[640];
    snprintf(stats_path, sizeof stats_path, "%s/scale-stats", tmpdir());
    unlink(stats_path);
    snprintf(stats_env, sizeof stats_env, "DEALDESK_STATS_FILE=%s", stats_path);
    const char *env[] = {"TERM=xterm-256color", "DEALDESK_URL=", "DEALDESK_TOKEN=", stats_env,
                         NULL};
    return vt_spawn(ROWS, COLS, argv, env);
}

void scale_console_quit(vt *t)
{
    vt_send(t, "q");
    if (vt_wait_exit(t, 10000) < 0)
        fprintf(stderr, "bench-scale: dealdesk did not exit on q\n");
    vt_free(t);
}

/* The header is true: connected (live), the pending count and the open alerts right. */
bool scale_header_true(vt *t, void *ud)
{
    (void)ud;
    char row0[1024];
    vt_row(t, 0, row0, sizeof row0);
    if (!strstr(row0, " live") || vt_number_before(t, 1, " pending") != SCALE_PENDING)
        return false;
    long sum = 0;
    static const char *const sev[] = {" critical", " warning", " info"};
    for (int i = 0; i < 3; i++) {
        long n = vt_number_before(t, 1, sev[i]);
        sum += n > 0 ? n : 0;
    }
    return sum == SCALE_ALERTS;
}

/* ---- frame: the first full frame ------------------------------------------------------- */

/* True once the Threads pane holds every open thread: its title no longer says so. */
static bool backfill_done(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "of 1,000,000") && !vt_contains(t, "loading open threads");
}

static int run_frame(const scale_server *s)
{
    double ms[3], all[3];
    long long rss[3];
    for (int i = 0; i < 3; i++) {
        double t0 = tproc_now_s();
        vt *t = scale_console_start(s, s->url);
        if (!t || !vt_wait(t, scale_header_true, NULL, 300000)) {
            fprintf(stderr, "bench-scale frame: the header did not come true\n");
            if (t) {
                vt_dump(t, "frame");
                scale_console_quit(t);
            }
            return -1;
        }
        ms[i] = (tproc_now_s() - t0) * 1000;
        vt_wait_quiet(t, 300, 3000);
        rss[i] = rss_bytes(vt_pid(t));
        /* the rest of the working set: the open threads a staged snapshot left out, read
         * after the first frame (api/client_backfill.c) until Threads' title stops saying
         * "loading open threads" */
        vt_send(t, "2");
        all[i] = vt_wait(t, backfill_done, NULL, 120000) ? (tproc_now_s() - t0) * 1000 : -1;
        printf("frame: start %d: first full frame (live, %ld pending, %ld open alerts) %.0f ms; "
               "RSS %.1f MiB; every open thread held at %.0f ms\n",
               i + 1, SCALE_PENDING, SCALE_ALERTS, ms[i], (double)rss[i] / 1048576.0, all[i]);
        scale_console_quit(t);
    }
    double sorted[3] = {ms[0], ms[1], ms[2]};
    qsort(sorted, 3, sizeof sorted[0], tproc_cmp_double);
    scale_bench_line("scale", "first full frame, 1M-thread market (median of 3)", sorted[1], "ms",
                     "< 300 ms", sorted[1] < 300 ? "met" : "missed");
    scale_bench_line("scale", "console RSS after the first frame", (double)rss[2] / 1048576.0,
                     "MiB", "-", "info");
    double done[3] = {all[0], all[1], all[2]};
    qsort(done, 3, sizeof done[0], tproc_cmp_double);
    scale_bench_line("scale", "every open thread held (median of 3)", done[1], "ms", "-", "info");
    return 0;
}

/* Appends what libcurl received to a growing string. */
static size_t grow(char *p, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t have = *buf ? strlen(*buf) : 0, add = size * n;
    char *b = realloc(*buf, have + add + 1);
    if (!b)
        return 0;
    memcpy(b + have, p, add);
    b[have + add] = '\0';
    *buf = b;
    return add;
}

/* The number of an id ("neg_123": 123), or 0. */
static long id_num(json_t *o, const char *key)
{
    const char *id = json_string_value(json_object_get(o, key));
    const char *u = id ? strchr(id, '_') : NULL;
    return u ? atol(u + 1) : 0;
}

/* True when object o's status is st. */
static bool status_is(json_t *o, const char *st)
{
    const char *v = json_string_value(json_object_get(o, "status"));
    return v && strcmp(v, st) == 0;
}

/* Reads marketd's snapshot (however long it takes) into the flood's working set: open
 * threads, pending purchases, open alerts. 0 or -1. */
static int read_workset(const scale_server *s, scale_workset *ws)
{
    char url[128], auth[128], *body = NULL;
    snprintf(url, sizeof url, "%s/v1/snapshot", s->url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", SECRET);
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, grow);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    json_t *j = rc == CURLE_OK && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    if (!j)
        return -1;
    json_t *negs = json_object_get(j, "negotiations"), *purs = json_object_get(j, "purchases"),
           *alrs = json_object_get(j, "alerts"), *o;
    size_t nn = json_array_size(negs) + 1, np = json_array_size(purs) + 1,
           na = json_array_size(alrs) + 1, i;
    *ws = (scale_workset){0};
    ws->open = calloc(nn, sizeof(long)), ws->open_lst = calloc(nn, sizeof(long));
    ws->open_msgs = calloc(nn, sizeof(long));
    ws->pend = calloc(np, sizeof(long)), ws->pend_neg = calloc(np, sizeof(long));
    ws->pend_lst = calloc(np, sizeof(long));
    ws->alr = calloc(na, sizeof(long)), ws->alr_pur = calloc(na, sizeof(long));
    json_array_foreach(negs, i, o) if (status_is(o, "open"))
    {
        ws->open[ws->nopen] = id_num(o, "id");
        ws->open_lst[ws->nopen] = id_num(o, "listing_id");
        ws->open_msgs[ws->nopen++] = (long)json_integer_value(json_object_get(o, "message_count"));
    }
    json_array_foreach(purs, i, o) if (status_is(o, "pending_approval"))
    {
        ws->pend[ws->npend] = id_num(o, "id");
        ws->pend_neg[ws->npend] = id_num(o, "negotiation_id");
        ws->pend_lst[ws->npend++] = id_num(o, "listing_id");
    }
    json_array_foreach(alrs, i, o) if (status_is(o, "open"))
    {
        ws->alr[ws->nalr] = id_num(o, "id");
        ws->alr_pur[ws->nalr++] = id_num(json_object_get(o, "subject"), "id");
    }
    json_decref(j);
    return 0;
}

static void workset_free(scale_workset *ws)
{
    free(ws->open), free(ws->open_lst), free(ws->open_msgs);
    free(ws->pend), free(ws->pend_neg), free(ws->pend_lst);
    free(ws->alr), free(ws->alr_pur);
}

/* ---- flood: memory under 5,000 events/s --------------------------------------------------- */

/* Pumps the console for secs seconds, dropping the captured output. Bytes read, or -1. */
static long long pump_for(vt *t, double secs)
{
    double end = tproc_now_s() + secs;
    long long bytes = 0;
    while (tproc_now_s() < end) {
        long r = vt_pump(t, 20);
        if (r < 0)
            return -1;
        bytes += r;
        size_t cap;
        vt_output(t, &cap);
        if (cap > (4u << 20))
            vt_clear_output(t);
    }
    return bytes;
}

static int run_flood(const scale_server *s)
{
    double secs = env_num("BENCH_SCALE_FLOOD_S", 1800), every = env_num("BENCH_SCALE_SAMPLE_S", 60);
    scale_flood f;
    scale_workset ws;
    if (read_workset(s, &ws) != 0) {
        fprintf(stderr, "bench-scale flood: cannot read marketd's snapshot\n");
        return -1;
    }
    printf("flood: the snapshot's working set: %ld open threads, %ld pending purchases, %ld open "
           "alerts\n",
           ws.nopen, ws.npend, ws.nalr);
    int started = scale_flood_start(&f, s->port, s->epoch, s->seq, &ws, 5000, secs);
    workset_free(&ws);
    if (started < 0)
        return -1;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    vt *t = scale_console_start(s, url);
    if (!t || !vt_wait(t, scale_header_true, NULL, 300000) || atomic_load(&f.streams) < 1) {
        fprintf(stderr, "bench-scale flood: the console did not come up\n");
        if (t) {
            vt_dump(t, "flood");
            scale_console_quit(t);
        }
        scale_flood_stop(&f);
        return -1;
    }
    vt_wait_quiet(t, 300, 5000);
    pid_t pid = vt_pid(t);
    long long r0 = rss_bytes(pid), rmax = r0;
    double c0 = tproc_cpu_ns(pid), t0 = tproc_now_s();
    printf("flood: %.0f s at 5,000 events/s; RSS before %.1f MiB\n", secs, (double)r0 / 1048576.0);
    atomic_store(&f.go, 1);
    bool alive = true;
    while (alive && !atomic_load(&f.script_done)) {
        alive = pump_for(t, every) >= 0;
        long long r = rss_bytes(pid);
        rmax = r > rmax ? r : rmax;
        printf("flood: %4.0f s: %ld events sent, %lld applied; RSS %.1f MiB\n", tproc_now_s() - t0,
               atomic_load(&f.sent), console_events(), (double)r / 1048576.0);
        fflush(stdout);
    }
    double c1 = tproc_cpu_ns(pid), el = tproc_now_s() - t0;
    /* the final figure once the console has applied everything sent */
    long sent = atomic_load(&f.sent);
    double w0 = tproc_now_s();
    while (alive && console_events() < sent && tproc_now_s() - w0 < 120)
        alive = pump_for(t, 0.2) >= 0;
    long long applied = console_events();
    bool caught_up = alive && applied >= sent && scale_header_true(t, NULL);
    long long r1 = rss_bytes(pid);
    rmax = r1 > rmax ? r1 : rmax;
    printf("flood: %ld events in %.0f s (%.0f/s); the console applied %lld%s; its CPU %.1f%% of "
           "a core; RSS max %.1f MiB, final %.1f MiB\n",
           sent, f.end > f.start ? f.end - f.start : el,
           sent / (f.end > f.start ? f.end - f.start : el), applied,
           caught_up ? " (caught up, header true)" : " (NOT caught up)", (c1 - c0) / 1e9 / el * 100,
           (double)rmax / 1048576.0, (double)r1 / 1048576.0);
    char metric[96];
    snprintf(metric, sizeof metric, "console RSS max, %.0f s of 5,000 ev/s", secs);
    scale_bench_line("scale", metric, (double)rmax / 1048576.0, "MiB", "< 200 MB (30 min)",
                     caught_up && rmax < 200e6 ? "met" : "missed");
    snprintf(metric, sizeof metric, "console RSS final, %.0f s of 5,000 ev/s", secs);
    scale_bench_line("scale", metric, (double)r1 / 1048576.0, "MiB", "< 200 MB (30 min)",
                     caught_up && r1 < 200e6 ? "met" : "missed");
    scale_bench_line("scale", "console CPU under the flood", (c1 - c0) / 1e9 / el * 100,
                     "% of a core", "-", "info");
    if (alive)
        scale_console_quit(t);
    else
        vt_free(t);
    scale_flood_stop(&f);
    return caught_up ? 0 : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const char *db = getenv("BENCH_SCALE_DB");
    if (!db || !*db) {
        fprintf(stderr, "bench_scale: BENCH_SCALE_DB must name the fixture (make bench-scale "
                        "makes it: tests/bench/scale/fixture.sh)\n");
        return 2;
    }
    scale_server s;
    if (server_start(&s, db) != 0) {
        server_stop(&s);
        return 1;
    }
    int version = schema_version(db);
    bool working_set = version >= 4 || getenv("BENCH_SCALE_FORCE");
    printf("bench-scale: marketd on %s (schema %d), seq %lld, %s\n", db, version, s.seq, s.url);
    int rc = 0;
    for (int i = 1; i <= (argc > 1 ? argc - 1 : 4); i++) {
        const char *what =
            argc > 1 ? argv[i] : (const char *[]){"frame", "flood", "keys", "tail"}[i - 1];
        bool console = strcmp(what, "tail") != 0;
        if (console && !working_set) {
            printf("%s: skipped: marketd's schema is %d, before issue 14's migration: its "
                   "snapshot would hand the console the whole 1M-thread market "
                   "(BENCH_SCALE_FORCE=1 runs it anyway)\n",
                   what, version);
            continue;
        }
        if (strcmp(what, "frame") == 0)
            rc |= run_frame(&s) != 0;
        else if (strcmp(what, "flood") == 0)
            rc |= run_flood(&s) != 0;
        else if (strcmp(what, "keys") == 0)
            rc |= scale_run_keys(&s) != 0;
        else if (strcmp(what, "tail") == 0) {
            long n = (long)env_num("BENCH_SCALE_TAIL_N", 200000);
            long long after = s.seq > 3 * n ? s.seq / 2 : 0; /* far back, in the mix */
            rc |= scale_tail_vs_jq(s.port, SECRET, s.token_file, after, n, tmpdir()) != 0;
        } else {
            fprintf(stderr, "usage: bench_scale [frame|flood|keys|tail]...\n");
            rc = 2;
            break;
        }
    }
    server_stop(&s);
    return rc;
}
