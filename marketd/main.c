/* main.c: marketd, the reference marketplace server.
 *
 * Parses the command line, opens the market (SQLite), starts the HTTP server, prints
 * the one "listening on" line that tests and `dealdesk --demo` read, starts the
 * simulated fleet if asked, and runs a timer (expiry, heartbeats) until SIGTERM or
 * SIGINT. Signal handlers only record; the main thread acts.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "marketd/fleet.h"
#include "marketd/http.h"
#include "marketd/market.h"

static volatile sig_atomic_t stop_signal;

/* Records the signal; the main loop does the rest. */
static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Prints the usage text to f. */
static void usage(FILE *f)
{
    fputs("usage: marketd [--listen ADDR:PORT] [--db PATH|:memory:|URL] [--tokens FILE]\n"
          "               [--fleet N] [--rate R] [--seed N] [--faults P]\n"
          "               [--decide-timeout S] [--two-person-timeout S] [--claim-seconds S]\n"
          "               [--heartbeat S] [--agent-rate R]\n"
          "               [--agent-burst N] [--max-open-listings N] [--max-conns N]\n"
          "               [--max-conns-per-addr N] [--header-timeout S]\n"
          "               [--min-body-rate B] [--max-streams-per-token N]\n"
          "               [--stream-stall S] [--trusted-proxy ADDR]\n"
          "               [--policies FILE | --default-policies]\n"
          "               [--webhook URL ... --webhook-secret-file FILE]\n"
          "               [--unattended SECONDS[:restrict|halt]] [--presence-window S]\n"
          "               [--retain-events N|AGE]\n"
          "               [--dispute-window-days N] [--dispute-respond-seconds S]\n"
          "               [--verbose] [--help]\n"
          "\n"
          "The reference marketplace for dealdesk: the HTTP API of docs/api.md, its event\n"
          "stream, SQLite or PostgreSQL persistence, risk rules and an optional simulated\n"
          "fleet.\n"
          "\n"
          "  --listen ADDR:PORT    address to serve on (default 127.0.0.1:8080; port 0 picks\n"
          "                        a free port; the chosen one is printed on stdout)\n"
          "  --db PATH             SQLite database (default marketd.db; :memory: for none)\n"
          "  --db URL              PostgreSQL instead: postgresql://USER@HOST:PORT/DBNAME;\n"
          "                        the password from PGPASSWORD, PGPASSFILE or ~/.pgpass,\n"
          "                        never in the URL (refused)\n"
          "  --tokens FILE         operator tokens, lines NAME ROLE SECRET (ROLE supervisor\n"
          "                        or viewer); refused if group or others can read it\n"
          "  --fleet N             run a simulated fleet of N agents (default 0: none)\n"
          "  --rate R              pace of the fleet (default 1.0)\n"
          "  --seed N              seed of the fleet (default 1)\n"
          "  --faults P            probability in [0,1] that a simulated deal carries an\n"
          "                        injected fault (default 0.1)\n"
          "  --decide-timeout S    seconds a purchase waits for a decision (default 120)\n"
          "  --two-person-timeout S  seconds a two-person purchase waits (default 600)\n"
          "  --claim-seconds S     how long a supervisor's claim lasts (default 120)\n"
          "  --dispute-window-days N  days after settlement a dispute may be opened\n"
          "                        (default 30; 0: none may)\n"
          "  --dispute-respond-seconds S  seconds the other party has to respond to a\n"
          "                        dispute before it is marked unanswered (default 172800)\n"
          "  --heartbeat S         seconds between stream heartbeats (default 15)\n"
          "  --agent-rate R        requests a second each agent may make, sustained\n"
          "                        (default 50; 0 turns the limit off); past it: 429\n"
          "  --agent-burst N       requests each agent may make at once (default 1500)\n"
          "  --max-open-listings N open listings per seller (default 1000)\n"
          "  --max-conns N         connections in all (default 4096); at the limit the\n"
          "                        oldest one still sending its headers is closed; 1/16\n"
          "                        of them are kept for operators' tokens\n"
          "  --max-conns-per-addr N  connections of one client address (an IPv6 one: its\n"
          "                        /64), operators' aside (default 256); the same rule\n"
          "  --header-timeout S    seconds a connection has to send a request (its headers\n"
          "                        and body; default 10)\n"
          "  --min-body-rate B     bytes a second a request's body must arrive at, 2 s\n"
          "                        after its headers (default 1024; 0: no minimum)\n"
          "  --max-streams-per-token N  event streams of one operator token (default 128)\n"
          "  --stream-stall S      close a stream whose client reads nothing for S seconds\n"
          "                        while events wait (default 30; it resumes from its\n"
          "                        Last-Event-ID)\n"
          "  --trusted-proxy ADDR  a reverse proxy's address: its connections count under\n"
          "                        the client address it forwards in X-Forwarded-For\n"
          "  --policies FILE       install the policies of FILE ({\"policies\": [...]}, as\n"
          "                        dealdesk policies export writes it) before the fleet\n"
          "                        starts; nothing when one is invalid\n"
          "  --default-policies    install the default set (docs/api.md, \"Policies\")\n"
          "  --unattended SECONDS[:restrict|halt]  when no supervisor has been present\n"
          "                        (a console with keyboard input) for SECONDS: restrict\n"
          "                        (the default) stops automatic approvals and refuses new\n"
          "                        negotiations until one is back; halt halts the fleet\n"
          "  --presence-window S   keyboard input keeps a supervisor present for S seconds\n"
          "                        (default 600)\n"
          "  --retain-events N|AGE keep the newest N events, or those younger than AGE\n"
          "                        (a number and s, m, h or d: 7d); older ones are deleted\n"
          "                        and a stream resuming before them gets reset (default:\n"
          "                        every event is kept; may be given once of each kind)\n"
          "  --verbose             one line per request on stderr (never a token; bytes\n"
          "                        outside printable ASCII written as \\xHH)\n"
          "  --help                this text\n"
          "\n"
          "  --webhook URL         POST critical alerts, purchases with under 30 s left and\n"
          "                        unattended transitions to URL, signed (repeatable, up to 8)\n"
          "  --webhook-secret-file FILE  the webhooks' HMAC secret, on FILE's first line\n"
          "Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime failure, 2 on a usage error.\n",
          f);
}

/* Parses a number in [lo, hi] for option name. Exits 2 when it is not one. */
static double num_arg(const char *name, const char *v, double lo, double hi)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "marketd: --%s wants a number from %g to %g, not '%s'\n", name, lo, hi, v);
        exit(2);
    }
    return x;
}

typedef struct ticker {
    market *m;
    http_server *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t thread;
} ticker;

/* The timer thread: expiry and heartbeats about every 100 ms. */
static void *tick_main(void *arg)
{
    ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        market_tick(t->m);
        http_tick(t->h);
        pthread_mutex_lock(&t->mu);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!t->stop)
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* What the command line asks for. */
typedef struct config {
    const char *db, *tokens;
    const char *policies; /* --policies FILE, or market_default_policies */
    int fleet_n, decide_timeout, two_person_timeout, claim_s;
    int dispute_window_days, dispute_respond_s; /* -1, 0: the defaults */
    double rate, faults, agent_rate;
    unsigned long long seed;
    int agent_burst, max_open;
    http_options ho;         /* listen, heartbeat, verbose and the limits of marketd/limits.h */
    const char *webhooks[8]; /* --webhook URL (repeatable) */
    int nwebhooks;
    const char *webhook_secret_file;
    int presence_window, unattended; /* seconds; 0: the default, off */
    bool unattended_halt;
    int64_t retain_count, retain_age_ms; /* --retain-events; 0: no bound */
} config;

/* Parses --retain-events N (a count) or AGE (a number and s, m, h or d) into cf. Exits 2
 * when it is neither. */
static void retain_arg(const char *v, config *cf)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    int64_t ms = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (end[0] == units[i].unit && end[1] == '\0')
            ms = units[i].ms;
    if (!isdigit((unsigned char)v[0]) || errno || n < 1 || n > 1000000000000LL || (*end && !ms)) {
        fprintf(stderr,
                "marketd: --retain-events wants a count (1000000) or an age (a number and s, "
                "m, h or d: 7d), not '%s'\n",
                v);
        exit(2);
    }
    if (ms)
        cf->retain_age_ms = (int64_t)n * ms;
    else
        cf->retain_count = (int64_t)n;
}

/* Parses --unattended SECONDS[:restrict|halt] into cf. Exits 2 when it is not that. */
static void unattended_arg(const char *v, config *cf)
{
    char secs[32];
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    snprintf(secs, sizeof secs, "%.*s", (int)(n < sizeof secs ? n : sizeof secs - 1), v);
    if (colon && strcmp(colon + 1, "restrict") != 0 && strcmp(colon + 1, "halt") != 0) {
        fprintf(stderr, "marketd: --unattended wants SECONDS[:restrict|halt], not '%s'\n", v);
        exit(2);
    }
    cf->unattended = (int)num_arg("unattended", secs, 1, 86400 * 30);
    cf->unattended_halt = colon && strcmp(colon + 1, "halt") == 0;
}

/* Reads the options into cf. Returns -1 to go on, or the exit status (--help, errors). */
static int parse_args(int argc, char **argv, config *cf)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"db", required_argument, NULL, 'd'},
        {"tokens", required_argument, NULL, 't'},
        {"fleet", required_argument, NULL, 'f'},
        {"rate", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"faults", required_argument, NULL, 'F'},
        {"decide-timeout", required_argument, NULL, 'D'},
        {"two-person-timeout", required_argument, NULL, '2'},
        {"claim-seconds", required_argument, NULL, 'c'},
        {"dispute-window-days", required_argument, NULL, 'w'},
        {"dispute-respond-seconds", required_argument, NULL, 'o'},
        {"heartbeat", required_argument, NULL, 'H'},
        {"max-conns", required_argument, NULL, 'C'},
        {"max-conns-per-addr", required_argument, NULL, 'A'},
        {"header-timeout", required_argument, NULL, 'T'},
        {"min-body-rate", required_argument, NULL, 'B'},
        {"max-streams-per-token", required_argument, NULL, 'S'},
        {"stream-stall", required_argument, NULL, 'L'},
        {"trusted-proxy", required_argument, NULL, 'P'},
        {"agent-rate", required_argument, NULL, 'R'},
        {"agent-burst", required_argument, NULL, 'b'},
        {"max-open-listings", required_argument, NULL, 'O'},
        {"policies", required_argument, NULL, 'p'},
        {"default-policies", no_argument, NULL, 'E'},
        {"webhook", required_argument, NULL, 'W'},
        {"webhook-secret-file", required_argument, NULL, 'K'},
        {"unattended", required_argument, NULL, 'U'},
        {"presence-window", required_argument, NULL, 'Y'},
        {"retain-events", required_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    http_options *ho = &cf->ho;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
            case 'l': ho->listen = optarg; break;
            case 'd': cf->db = optarg; break;
            case 't': cf->tokens = optarg; break;
            case 'f': cf->fleet_n = (int)num_arg("fleet", optarg, 0, 10000); break;
            case 'r': cf->rate = num_arg("rate", optarg, 0.001, 1000); break;
            case 's':
                cf->seed = (unsigned long long)num_arg("seed", optarg, 0, 9007199254740992.0);
                break;
            case 'F': cf->faults = num_arg("faults", optarg, 0, 1); break;
            case 'D':
                cf->decide_timeout = (int)num_arg("decide-timeout", optarg, 1, 86400 * 30);
                break;
            case '2':
                cf->two_person_timeout = (int)num_arg("two-person-timeout", optarg, 1, 86400 * 30);
                break;
            case 'c': cf->claim_s = (int)num_arg("claim-seconds", optarg, 1, 86400); break;
            case 'w':
                cf->dispute_window_days = (int)num_arg("dispute-window-days", optarg, 0, 3650);
                cf->dispute_window_days = cf->dispute_window_days ? cf->dispute_window_days : -1;
                break;
            case 'o':
                cf->dispute_respond_s =
                    (int)num_arg("dispute-respond-seconds", optarg, 1, 86400 * 365);
                break;
            case 'H': ho->heartbeat_s = (int)num_arg("heartbeat", optarg, 1, 3600); break;
            case 'C': ho->max_conns = (int)num_arg("max-conns", optarg, 1, 100000); break;
            case 'A':
                ho->max_conns_per_addr = (int)num_arg("max-conns-per-addr", optarg, 1, 100000);
                break;
            case 'T': ho->header_timeout_s = (int)num_arg("header-timeout", optarg, 1, 3600); break;
            case 'B':
                ho->min_body_rate = (int)num_arg("min-body-rate", optarg, 0, 1e9);
                ho->min_body_rate = ho->min_body_rate ? ho->min_body_rate : -1;
                break;
            case 'S':
                ho->max_streams_per_token =
                    (int)num_arg("max-streams-per-token", optarg, 1, 100000);
                break;
            case 'L': ho->stream_stall_s = (int)num_arg("stream-stall", optarg, 1, 3600); break;
            case 'P': ho->trusted_proxy = optarg; break;
            case 'R': cf->agent_rate = num_arg("agent-rate", optarg, 0, 1e6); break;
            case 'b': cf->agent_burst = (int)num_arg("agent-burst", optarg, 1, 1e6); break;
            case 'O': cf->max_open = (int)num_arg("max-open-listings", optarg, 1, 1e9); break;
            case 'p': cf->policies = optarg; break;
            case 'E': cf->policies = market_default_policies; break;
            case 'W':
                if (cf->nwebhooks == 8) {
                    fprintf(stderr, "marketd: --webhook: at most 8\n");
                    return 2;
                }
                cf->webhooks[cf->nwebhooks++] = optarg;
                break;
            case 'K': cf->webhook_secret_file = optarg; break;
            case 'U': unattended_arg(optarg, cf); break;
            case 'Y':
                cf->presence_window = (int)num_arg("presence-window", optarg, 1, 86400);
                break;
            case 'k': retain_arg(optarg, cf); break;
            case 'v': ho->verbose = true; break;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "marketd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Raises the open-files limit as far as allowed (many stream clients), ignores SIGPIPE,
 * and blocks SIGTERM and SIGINT (threads started later inherit that) with their handler
 * set; *old gets the mask before. */
static void setup_process(sigset_t *old)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, old);
}

/* Installs the policies of --policies FILE (or the default set's text) before the fleet
 * trades. 0, or -1 after the message. */
static int install_policies(market *m, const char *what)
{
    char err[512], *text = NULL;
    size_t len = 0;
    bool builtin = what == market_default_policies;
    if (builtin) {
        len = strlen(what);
    } else {
        FILE *f = fopen(what, "rb");
        text = f ? malloc(1 << 20) : NULL;
        if (text)
            len = fread(text, 1, (1 << 20) - 1, f);
        if (f)
            fclose(f);
        if (!text) {
            fprintf(stderr, "marketd: --policies %s: cannot read it\n", what);
            return -1;
        }
    }
    int rc = market_load_policies(m, builtin ? what : text, len, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "marketd: --policies %s: %s: none installed\n",
                builtin ? "(default)" : what, err);
    free(text);
    return rc;
}

/* Starts the webhooks of --webhook with the secret of --webhook-secret-file (its first
 * line). 0, or -1 after the message. */
static int start_webhooks(market *m, const config *cf)
{
    if (cf->nwebhooks == 0)
        return 0;
    char secret[1024] = "", err[512];
    FILE *f = cf->webhook_secret_file ? fopen(cf->webhook_secret_file, "r") : NULL;
    if (f && !fgets(secret, sizeof secret, f))
        secret[0] = '\0';
    if (f)
        fclose(f);
    secret[strcspn(secret, "\r\n")] = '\0';
    int rc = -1;
    if (!secret[0])
        fprintf(stderr, "marketd: --webhook needs --webhook-secret-file FILE with the secret "
                        "on its first line\n");
    else if ((rc = market_webhooks(m, cf->webhooks, cf->nwebhooks, secret, strlen(secret), err,
                                   sizeof err)) != 0)
        fprintf(stderr, "marketd: %s\n", err);
    memset(secret, 0, sizeof secret);
    return rc;
}

/* Starts the timer thread t (m and h set). */
static void ticker_start(ticker *t)
{
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&t->thread, NULL, tick_main, t);
}

/* Stops and joins the timer thread t. */
static void ticker_stop(ticker *t)
{
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

/* Prints the URL clients use: the listening host, with a wildcard shown as loopback. */
static void print_url(const char *listen, int port)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "[::]") == 0)
        snprintf(host, sizeof host, "[::1]");
    printf("marketd: listening on http://%s:%d\n", host, port);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    config cf = {.db = "marketd.db",
                 .decide_timeout = 120,
                 .rate = 1.0,
                 .faults = 0.1,
                 .seed = 1,
                 .agent_rate = MARKET_AGENT_RATE,
                 .agent_burst = MARKET_AGENT_BURST,
                 .max_open = MARKET_MAX_OPEN_LISTINGS,
                 .ho = {.listen = "127.0.0.1:8080", .heartbeat_s = 15}};
    int rc = parse_args(argc, argv, &cf);
    if (rc >= 0)
        return rc;
    sigset_t old;
    setup_process(&old);

    char err[512];
    market_options mo = {.db_path = cf.db,
                         .decide_timeout_s = cf.decide_timeout,
                         .two_person_timeout_s = cf.two_person_timeout,
                         .claim_s = cf.claim_s,
                         .dispute_window_days = cf.dispute_window_days,
                         .dispute_respond_s = cf.dispute_respond_s,
                         .tokens_path = cf.tokens,
                         .agent_rate = cf.agent_rate > 0 ? cf.agent_rate : -1,
                         .agent_burst = cf.agent_burst,
                         .max_open_listings = cf.max_open,
                         .presence_window_s = cf.presence_window,
                         .unattended_s = cf.unattended,
                         .unattended_halt = cf.unattended_halt};
    market *m = market_open(&mo, err, sizeof err);
    if (!m) {
        fprintf(stderr, "marketd: %s\n", err);
        return 1;
    }
    market_retain(m, cf.retain_count, cf.retain_age_ms);
    if (!cf.tokens)
        fprintf(stderr, "marketd: no --tokens file: only agents can authenticate\n");
    if (start_webhooks(m, &cf) != 0) {
        market_close(m);
        return 1;
    }
    http_server *h = http_start(m, &cf.ho, err, sizeof err);
    if (!h) {
        fprintf(stderr, "marketd: %s\n", err);
        market_close(m);
        return 1;
    }
    ticker t = {.m = m, .h = h};
    ticker_start(&t);

    fleet *fl = NULL;
    bool failed = cf.policies && install_policies(m, cf.policies) != 0;
    if (failed)
        goto shutdown;
    if (cf.fleet_n > 0) {
        fleet_options fo = {
            .size = cf.fleet_n, .rate = cf.rate, .seed = cf.seed, .faults = cf.faults};
        fl = fleet_start(m, &fo, err, sizeof err);
        if (!fl) {
            fprintf(stderr, "marketd: the fleet did not start: %s\n", err);
            goto shutdown; /* clean shutdown, exit 1 */
        }
    }
    print_url(cf.ho.listen, http_port(h));
    if (cf.ho.verbose)
        fprintf(stderr, "marketd: epoch %s, seq %lld, database %s\n", market_epoch(m),
                (long long)market_seq(m), cf.db);

    /* Wait for SIGTERM/SIGINT: only this thread takes them, and only inside sigsuspend,
     * so a signal cannot slip in between the check and the wait. */
    sigset_t waitmask = old;
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    while (!stop_signal)
        sigsuspend(&waitmask);
    fprintf(stderr, "marketd: %s, shutting down\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
shutdown:
    fleet_stop(fl);
    ticker_stop(&t);
    http_stop(h);
    market_close(m);
    return failed || (cf.fleet_n > 0 && !fl) ? 1 : 0;
}
