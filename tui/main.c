/* main.c: dealdesk's command line: the console, --demo, and the headless commands.
 *
 *   dealdesk [--url URL] [--token-file FILE] [--theme NAME] [--no-color] [--read-only]
 *   dealdesk --demo [--seed N] [--rate R]
 *   dealdesk tail [--after SEQ]
 *   dealdesk snapshot
 *   dealdesk approve|veto|cap|refund|pause|resume|halt|ack ...
 *   dealdesk replay FILE [--speed X] [--headless]
 *   dealdesk policies list|export FILE|import FILE
 *   dealdesk audit export FILE | verify FILE [--head HASH]
 *   dealdesk disputes show DSP [--json] | resolve DSP --outcome O [--amount A] --reason R
 *   dealdesk --record FILE ...
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/config.h"
#include "api/decision.h"
#include "api/money.h"
#include "api/text.h"
#include "tui/app.h"
#include "tui/demo.h"
#include "tui/headless.h"

#define DEALDESK_VERSION "0.1.0"

static const char usage_text[] =
    "usage: dealdesk [OPTIONS]                      the console\n"
    "       dealdesk --demo [--seed N] [--rate R]   a bundled marketd and fleet, attached\n"
    "       dealdesk tail [--after SEQ]             each event as a line of JSON\n"
    "       dealdesk snapshot                       the current state as JSON\n"
    "       dealdesk approve PUR[=TOTAL]... [--total AMOUNT] [--if-match V] [--comment TEXT]\n"
    "       dealdesk veto PUR... --reason TEXT [--if-match V]\n"
    "       dealdesk cap PUR [--max-price AMOUNT] [--max-quantity N] [--reason TEXT]\n"
    "       dealdesk refund PUR --reason TEXT\n"
    "       dealdesk pause AGT --reason TEXT    dealdesk resume AGT\n"
    "       dealdesk halt --reason TEXT         dealdesk ack ALR [--note TEXT]\n"
    "       dealdesk replay FILE [--speed X] [--headless]\n"
    "       dealdesk policies list | export FILE | import FILE\n"
    "       dealdesk audit export FILE | verify FILE [--head HASH]\n"
    "       dealdesk disputes show DSP [--json]     a dispute's evidence\n"
    "       dealdesk disputes resolve DSP --outcome refund|partial_refund|rejected\n"
    "                [--amount AMOUNT] --reason TEXT [--if-match V]\n"
    "\n"
    "options:\n"
    "  --url URL          the marketplace (DEALDESK_URL; default http://127.0.0.1:8642);\n"
    "                     repeated or A,B: instances of one market, the next taken\n"
    "                     when one fails\n"
    "  --token-file FILE  the bearer token, alone on the first line; mode 600\n"
    "                     (or DEALDESK_TOKEN, or token_file in the config file)\n"
    "  --config FILE      instead of $XDG_CONFIG_HOME/dealdesk/config\n"
    "  --theme NAME       colour theme       --no-color   no colours (or NO_COLOR)\n"
    "  --read-only        never send a decision\n"
    "  --insecure-http    allow the token over plain http:// to a host that is not\n"
    "                     loopback (a warning is printed; use https:// instead)\n"
    "  --record FILE      append the raw stream to FILE (replayable; created 0600)\n"
    "  --heartbeat S      the server's heartbeat period (3 silent periods = dead)\n"
    "  --help, --version\n"
    "\n"
    "Without --if-match a decision fetches the subject first and uses its version; approve\n"
    "without --total approves the total it fetched (and says so on stderr).\n"
    "approve and veto take several ids, each its own decision, one line each on stdout\n"
    "(PUR=TOTAL: the total you expect, as money in the purchase's currency; --total and\n"
    "--if-match are for one id); the exit code is 0 only when every one succeeded.\n"
    "Exit codes: 0 ok, 1 runtime failure or a refused decision (message on stderr),\n"
    "2 usage error.\n";

/* Prints a usage error and returns 2. */
static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "dealdesk: %s%s%s\nTry 'dealdesk --help'.\n", msg, arg ? ": " : "",
            arg ? arg : "");
    return 2;
}

/* Parses a non-negative integer; returns 0 or -1. */
static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

enum {
    OPT_URL = 256,
    OPT_TOKEN_FILE,
    OPT_THEME,
    OPT_NO_COLOR,
    OPT_READ_ONLY,
    OPT_RECORD,
    OPT_CONFIG,
    OPT_HEARTBEAT,
    OPT_DEMO,
    OPT_SEED,
    OPT_RATE,
    OPT_HELP,
    OPT_VERSION,
    OPT_AFTER,
    OPT_SPEED,
    OPT_HEADLESS,
    OPT_REASON,
    OPT_TOTAL,
    OPT_IF_MATCH,
    OPT_MAX_PRICE,
    OPT_MAX_QTY,
    OPT_INSECURE_HTTP,
    OPT_HEAD,
    OPT_JSON,
    OPT_OUTCOME,
    OPT_AMOUNT,
};

static const struct option long_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"theme", required_argument, NULL, OPT_THEME},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"insecure-http", no_argument, NULL, OPT_INSECURE_HTTP},
    {"record", required_argument, NULL, OPT_RECORD},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"demo", no_argument, NULL, OPT_DEMO},
    {"seed", required_argument, NULL, OPT_SEED},
    {"rate", required_argument, NULL, OPT_RATE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"after", required_argument, NULL, OPT_AFTER},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"headless", no_argument, NULL, OPT_HEADLESS},
    {"reason", required_argument, NULL, OPT_REASON},
    {"comment", required_argument, NULL, OPT_REASON},
    {"note", required_argument, NULL, OPT_REASON},
    {"total", required_argument, NULL, OPT_TOTAL},
    {"if-match", required_argument, NULL, OPT_IF_MATCH},
    {"max-price", required_argument, NULL, OPT_MAX_PRICE},
    {"max-quantity", required_argument, NULL, OPT_MAX_QTY},
    {"head", required_argument, NULL, OPT_HEAD},
    {"json", no_argument, NULL, OPT_JSON},
    {"outcome", required_argument, NULL, OPT_OUTCOME},
    {"amount", required_argument, NULL, OPT_AMOUNT},
    {NULL, 0, NULL, 0},
};

/* Refuses abbreviated long options (getopt_long takes "--insecure" for --insecure-http,
 * and a flag that merely looks like another program's must never change what is
 * accepted): every "--name" must be a whole name of long_opts. Returns 0, or 2 after the
 * usage error. */
static int exact_long_options(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (strncmp(a, "--", 2) != 0)
            continue;
        size_t n = strcspn(a + 2, "=");
        const struct option *o = long_opts;
        while (o->name && (strlen(o->name) != n || strncmp(o->name, a + 2, n) != 0))
            o++;
        if (!o->name)
            return usage_error("unknown option", a);
        if (o->has_arg == required_argument && a[2 + n] != '=')
            i++; /* its value, whatever it looks like */
    }
    return 0;
}

/* What the command line asked for beyond the config. */
typedef struct cmdline {
    const char *config_path;
    const char *token_file;
    const char *reason, *total, *max_price, *max_qty, *if_match, *after, *speed, *head;
    const char *outcome, *amount; /* disputes resolve */
    bool headless, json;
    bool help, version;
    const char *pos[257]; /* the words that are not options, in order: the command and its ids
                             (approve and veto take up to 256) */
    int npos;
} cmdline;

/* Parses a decimal integer within [lo, hi] (parse_i64). Returns 0 or -1. */
static int parse_bounded(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    return parse_i64(s, out) < 0 || *out < lo || *out > hi ? -1 : 0;
}

/* Copies a path or URL option into a field of size bytes; refuses one that does not fit.
 * Returns 0, or 2 after the usage error. */
static int set_text(char *field, size_t size, const char *arg, const char *too_long)
{
    if (strlen(arg) >= size)
        return usage_error(too_long, NULL);
    snprintf(field, size, "%s", arg);
    return 0;
}

/* Applies one option (or, as 1, one word) that getopt_long returned. Returns 0, or 2
 * after the usage error. */
static int apply_option(int opt, const char *arg, config *cfg, cmdline *cl)
{
    int64_t v;
    switch (opt) {
        case 1:
            if (cl->npos == (int)(sizeof cl->pos / sizeof cl->pos[0]))
                return usage_error("too many arguments", arg);
            cl->pos[cl->npos++] = arg;
            return 0;
        case OPT_URL: { /* repeated: several instances of one market, as a comma list */
            char list[sizeof cfg->url];
            int n = snprintf(list, sizeof list, "%s%s%s", cfg->set.url ? cfg->url : "",
                             cfg->set.url ? "," : "", arg);
            cfg->set.url = true;
            return set_text(cfg->url, sizeof cfg->url, n < 0 ? "" : list, "--url is too long");
        }
        case OPT_TOKEN_FILE: cl->token_file = arg; return 0;
        case OPT_THEME:
            snprintf(cfg->theme, sizeof cfg->theme, "%s", arg);
            cfg->set.theme = true;
            return 0;
        case OPT_NO_COLOR:
            cfg->no_color = true;
            cfg->set.no_color = true;
            return 0;
        case OPT_READ_ONLY:
            cfg->read_only = true;
            cfg->set.read_only = true;
            return 0;
        case OPT_INSECURE_HTTP: cfg->insecure_http = true; return 0;
        case OPT_RECORD:
            return set_text(cfg->record_file, sizeof cfg->record_file, arg,
                            "--record path is too long");
        case OPT_CONFIG: cl->config_path = arg; return 0;
        case OPT_HEARTBEAT:
            if (parse_bounded(arg, 1, 3600, &v) < 0)
                return usage_error("--heartbeat needs seconds between 1 and 3600", arg);
            cfg->heartbeat_s = (int)v;
            cfg->set.heartbeat = true;
            return 0;
        case OPT_DEMO: cfg->demo = true; return 0;
        case OPT_SEED:
            if (parse_bounded(arg, 0, INT64_MAX, &v) < 0)
                return usage_error("--seed needs a non-negative integer", arg);
            cfg->seed = (uint64_t)v;
            return 0;
        case OPT_RATE:
            if (parse_bounded(arg, 0, 100000, &v) < 0)
                return usage_error("--rate needs a non-negative integer", arg);
            cfg->rate = (int)v;
            return 0;
        case OPT_HELP:
        case 'h': cl->help = true; return 0;
        case OPT_VERSION: cl->version = true; return 0;
        case OPT_AFTER: cl->after = arg; return 0;
        case OPT_SPEED: cl->speed = arg; return 0;
        case OPT_HEAD: cl->head = arg; return 0;
        case OPT_HEADLESS: cl->headless = true; return 0;
        case OPT_REASON: cl->reason = arg; return 0;
        case OPT_TOTAL: cl->total = arg; return 0;
        case OPT_IF_MATCH: cl->if_match = arg; return 0;
        case OPT_MAX_PRICE: cl->max_price = arg; return 0;
        case OPT_MAX_QTY: cl->max_qty = arg; return 0;
        case OPT_JSON: cl->json = true; return 0;
        case OPT_OUTCOME: cl->outcome = arg; return 0;
        case OPT_AMOUNT: cl->amount = arg; return 0;
        default: return -1; /* the caller names the option */
    }
}

/* Parses the whole command line into cfg and cl. Returns 0, or 2 after the usage error. */
static int parse_args(int argc, char **argv, config *cfg, cmdline *cl)
{
    int rc = exact_long_options(argc, argv);
    opterr = 0;
    while (rc == 0 && optind < argc) {
        /* "-" first in the optstring: words that are not options come back in order as 1,
         * so that options may stand anywhere ("dealdesk veto pur_1 --reason x" or the
         * other way); ":" next: a missing value comes back as ':', not as '?' */
        int opt = getopt_long(argc, argv, "-:h", long_opts, NULL);
        if (opt == -1)
            break;
        if (opt == ':')
            return usage_error("this option needs a value", argv[optind - 1]);
        rc = apply_option(opt, optarg, cfg, cl);
        if (rc < 0)
            return usage_error("unknown option", argv[optind - 1]);
    }
    return rc;
}

/* Reads the token file named on the command line, then the environment and the config
 * file. Returns 0, or 2 after the message. */
static int resolve_config(config *cfg, const cmdline *cl)
{
    char err[1024];
    if (cl->token_file) {
        if (config_read_token_file(cfg, cl->token_file, err, sizeof err) < 0) {
            fprintf(stderr, "dealdesk: %s\n", err);
            return 2;
        }
        cfg->set.token = true;
    }
    if (config_resolve(cfg, cl->config_path, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: %s\n", err);
        return 2;
    }
    return 0;
}

/* A headless command: its word, what runs it and, for a decision, its action. */
typedef struct subcommand {
    const char *word;
    int (*run)(config *cfg, const cmdline *cl, const struct subcommand *sc);
    decision_action action;
    bool offline; /* connects to no market (no transport check) */
} subcommand;

/* Splits "pur_12=535.00" into its id (into id, 65 bytes) and the expected total (*total,
 * NULL without "="). Returns 0, or 2 after the usage error. */
static int split_id(const char *word, char id[65], const char **total)
{
    const char *eq = strchr(word, '=');
    size_t n = eq ? (size_t)(eq - word) : strlen(word);
    if (n == 0 || n > 64 || (eq && !eq[1]))
        return usage_error("an id is PUR or PUR=TOTAL", word);
    snprintf(id, 65, "%.*s", (int)n, word);
    *total = eq ? eq + 1 : NULL;
    return 0;
}

/* `approve PUR[=TOTAL]…` and `veto PUR… --reason R` with several ids (or one carrying its
 * total, which is --total): each id its own decision (headless_decide_many). Returns -1
 * when the command line is a single decision after all (run_decision goes on), else the
 * exit code. */
static int run_several(config *cfg, const cmdline *cl, decision_action a, const char **total)
{
    const char *const *pos = cl->pos + 1;
    int npos = cl->npos - 1;
    static char ids[256][65];
    const char *idp[256], *totals[256];
    for (int i = 0; i < npos; i++) {
        int rc = split_id(pos[i], ids[i], &totals[i]);
        if (rc)
            return rc;
        if (totals[i] && a != DEC_APPROVE)
            return usage_error("only approve takes an expected total (PUR=TOTAL)", pos[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(ids[j], ids[i]))
                return usage_error("an id given twice", ids[i]);
        idp[i] = ids[i];
    }
    if (npos == 1) { /* one id: the single decision, PUR=TOTAL being --total */
        if (totals[0] && cl->total)
            return usage_error("give the total once: PUR=TOTAL or --total", pos[0]);
        if (totals[0])
            *total = totals[0];
        return -1;
    }
    if (cl->total || cl->if_match)
        return usage_error("with several ids, give each its total as PUR=TOTAL (no --total or "
                           "--if-match)",
                           NULL);
    if (a == DEC_VETO && !(cl->reason && cl->reason[0]))
        return usage_error("veto needs --reason (one for every id)", NULL);
    if (cl->reason && strlen(cl->reason) > 500)
        return usage_error("the reason is longer than 500 characters", NULL);
    return headless_decide_many(cfg, a, idp, totals, npos, cl->reason);
}

/* Runs one decision command. */
static int run_decision(config *cfg, const cmdline *cl, const subcommand *sc)
{
    decision_action a = sc->action;
    const char *const *pos = cl->pos + 1;
    int npos = cl->npos - 1;
    decision_req req;
    bool fleet = a == DEC_HALT || a == DEC_FLEET_RESUME;
    const char *total = cl->total;
    char one[65];
    const char *onep[1] = {one};
    if ((a == DEC_APPROVE || a == DEC_VETO) && npos >= 1) {
        int rc = run_several(cfg, cl, a, &total);
        if (rc >= 0)
            return rc;
        const char *t;
        split_id(pos[0], one, &t); /* checked by run_several */
        pos = onep;
    }
    if (npos != (fleet ? 0 : 1))
        return usage_error(fleet ? "this command takes no id" : "this command takes one id",
                           decision_action_name(a));
    decision_req_init(&req, a, fleet ? NULL : pos[0]);
    req.expected_total_minor = -1;
    if (cl->reason) {
        if (strlen(cl->reason) > 500)
            return usage_error("the reason is longer than 500 characters", NULL);
        snprintf(req.reason, sizeof req.reason, "%s", cl->reason);
    }
    if (cl->if_match &&
        (parse_i64(cl->if_match, &req.if_match_version) < 0 || req.if_match_version < 1))
        return usage_error("--if-match needs a version (a positive integer)", cl->if_match);
    if (cl->max_qty && parse_i64(cl->max_qty, &req.max_quantity) < 0)
        return usage_error("--max-quantity needs a non-negative integer", cl->max_qty);
    if (a == DEC_CAP && req.max_quantity < 0 && !cl->max_price)
        return usage_error("cap needs --max-price or --max-quantity", NULL);
    if (cl->total && a != DEC_APPROVE)
        return usage_error("--total belongs to approve", NULL);
    return headless_decide(cfg, &req, total, cl->max_price);
}

/* dealdesk tail [--after SEQ] */
static int run_tail(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    if (cl->npos != 1)
        return usage_error("tail takes no arguments", cl->pos[1]);
    if (cl->after && parse_i64(cl->after, &cfg->stream_after) < 0)
        return usage_error("--after needs a seq (a non-negative integer)", cl->after);
    return headless_tail(cfg);
}

/* dealdesk snapshot */
static int run_snapshot(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    if (cl->npos != 1)
        return usage_error("snapshot takes no arguments", cl->pos[1]);
    return headless_snapshot(cfg);
}

/* dealdesk replay FILE [--speed X] [--headless]: the console, or lines of JSON when
 * stdout is not a terminal. */
static int run_replay(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    if (cl->npos != 2)
        return usage_error("replay takes one FILE", NULL);
    snprintf(cfg->replay_file, sizeof cfg->replay_file, "%s", cl->pos[1]);
    if (cl->speed) {
        char *end;
        cfg->replay_speed = strtod(cl->speed, &end);
        if (*end || cfg->replay_speed < 0 || cfg->replay_speed > 1e6)
            return usage_error("--speed needs a factor (0 = as fast as possible)", cl->speed);
    }
    cfg->read_only = true;
    if (cl->headless || !isatty(STDOUT_FILENO))
        return headless_replay(cfg);
    return app_run(cfg);
}

/* dealdesk policies list | export FILE | import FILE */
static int run_policies(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    const char *what = cl->npos > 1 ? cl->pos[1] : "";
    if (!strcmp(what, "list") && cl->npos == 2)
        return headless_policies_list(cfg);
    if (!strcmp(what, "export") && cl->npos == 3)
        return headless_policies_export(cfg, cl->pos[2]);
    if (!strcmp(what, "import") && cl->npos == 3)
        return headless_policies_import(cfg, cl->pos[2]);
    return usage_error("policies takes list, export FILE or import FILE",
                       cl->npos > 1 ? what : NULL);
}

/* dealdesk audit export FILE | verify FILE [--head HASH] (tui/audit_cli.c) */
static int run_audit(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    const char *what = cl->npos > 1 ? cl->pos[1] : "";
    if (!strcmp(what, "export") && cl->npos == 3 && !cl->head)
        return headless_audit_export(cfg, cl->pos[2]);
    if (cl->head && (strlen(cl->head) != 64 || strspn(cl->head, "0123456789abcdef") != 64))
        return usage_error("--head needs a hash: 64 lower-case hex digits", cl->head);
    if (!strcmp(what, "verify") && cl->npos == 3)
        return headless_audit_verify(cfg, cl->pos[2], cl->head);
    return usage_error("audit takes export FILE or verify FILE [--head HASH]",
                       cl->npos > 1 ? what : NULL);
}

/* dealdesk disputes show DSP [--json] | resolve DSP --outcome O [--amount A] --reason R
 * [--if-match V]: the evidence (tui/headless_disputes.c), or the resolve decision, sent as
 * every one-shot decision is (headless_decide: bound, journaled, If-Match the version read;
 * --amount is money in the dispute's currency). */
static int run_disputes(config *cfg, const cmdline *cl, const subcommand *sc)
{
    (void)sc;
    const char *what = cl->npos > 1 ? cl->pos[1] : "";
    if (!strcmp(what, "show") && cl->npos == 3)
        return headless_disputes_show(cfg, cl->pos[2], cl->json);
    if (strcmp(what, "resolve") != 0 || cl->npos != 3)
        return usage_error("disputes takes show DSP [--json] or resolve DSP --outcome ...",
                           cl->npos > 1 ? what : NULL);
    decision_req req;
    decision_req_init(&req, DEC_RESOLVE, cl->pos[2]);
    if (!cl->outcome || strlen(cl->outcome) >= sizeof req.outcome)
        return usage_error("resolve needs --outcome refund, partial_refund or rejected", NULL);
    snprintf(req.outcome, sizeof req.outcome, "%s", cl->outcome);
    if (!cl->reason || !cl->reason[0] || strlen(cl->reason) > 500)
        return usage_error("resolve needs --reason (at most 500 characters)", NULL);
    snprintf(req.reason, sizeof req.reason, "%s", cl->reason);
    if ((cl->amount != NULL) != !strcmp(cl->outcome, "partial_refund"))
        return usage_error("--amount goes with partial_refund, and only with it", NULL);
    if (cl->if_match &&
        (parse_i64(cl->if_match, &req.if_match_version) < 0 || req.if_match_version < 1))
        return usage_error("--if-match needs a version (a positive integer)", cl->if_match);
    return headless_decide(cfg, &req, NULL, cl->amount);
}

static const subcommand subcommands[] = {
    {"tail", run_tail, 0, false},
    {"snapshot", run_snapshot, 0, false},
    {"replay", run_replay, 0, true},
    {"policies", run_policies, 0, false},
    {"audit", run_audit, 0, false},
    {"disputes", run_disputes, 0, false},
    {"approve", run_decision, DEC_APPROVE, false},
    {"veto", run_decision, DEC_VETO, false},
    {"cap", run_decision, DEC_CAP, false},
    {"refund", run_decision, DEC_REFUND, false},
    {"pause", run_decision, DEC_PAUSE, false},
    {"resume", run_decision, DEC_RESUME, false},
    {"halt", run_decision, DEC_HALT, false},
    {"ack", run_decision, DEC_ACK, false},
    {"fleet-resume", run_decision, DEC_FLEET_RESUME, false},
    {"hold", run_decision, DEC_NEG_HOLD, false},
    {"release", run_decision, DEC_NEG_RELEASE, false},
};

/* The subcommand named word, or NULL. */
static const subcommand *find_subcommand(const char *word)
{
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(word, subcommands[i].word) == 0)
            return &subcommands[i];
    return NULL;
}

/* Runs what the command line asked for, once it is parsed. Returns the exit code. */
static int run(config *cfg, const cmdline *cl)
{
    if (cl->help) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (cl->version) {
        printf("dealdesk %s\n", DEALDESK_VERSION);
        return 0;
    }
    int rc = resolve_config(cfg, cl);
    if (rc)
        return rc;
    const char *cmd = cl->npos ? cl->pos[0] : NULL;
    const subcommand *sc = cmd ? find_subcommand(cmd) : NULL;
    /* The token never goes in clear over the network: checked before any connection
     * (a replay and --demo's own loopback market connect nowhere else). */
    if (!cfg->demo && !(sc && sc->offline)) {
        char err[1024];
        int t = config_check_transport(cfg, err, sizeof err);
        if (t != 0)
            fprintf(stderr, "dealdesk: %s\n", err);
        if (t < 0)
            return 2;
    }
    cfg->console = !cmd; /* the console reports presence; tail and commands do not */
    if (!cmd)
        return cfg->demo ? demo_run(cfg) : app_run(cfg);
    if (!sc)
        return usage_error("unknown command", cmd);
    return sc->run(cfg, cl, sc);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    config cfg;
    config_init(&cfg);
    cmdline cl = {0};
    int rc = parse_args(argc, argv, &cfg, &cl);
    if (rc == 0)
        rc = run(&cfg, &cl);
    config_free(&cfg);
    return rc;
}
