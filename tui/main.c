/* main.c: dealdesk's command line: the console, --demo, and the headless commands.
 *
 *   dealdesk [--url URL] [--token-file FILE] [--theme NAME] [--no-color] [--read-only]
 *   dealdesk --demo [--seed N] [--rate R]
 *   dealdesk tail [--after SEQ]
 *   dealdesk snapshot
 *   dealdesk approve|veto|cap|refund|pause|resume|halt|ack ...
 *   dealdesk replay FILE [--speed X] [--headless]
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
    "       dealdesk approve PUR [--total AMOUNT] [--if-match V] [--comment TEXT]\n"
    "       dealdesk veto PUR --reason TEXT [--if-match V]\n"
    "       dealdesk cap PUR [--max-price AMOUNT] [--max-quantity N] [--reason TEXT]\n"
    "       dealdesk refund PUR --reason TEXT\n"
    "       dealdesk pause AGT --reason TEXT    dealdesk resume AGT\n"
    "       dealdesk halt --reason TEXT         dealdesk ack ALR [--note TEXT]\n"
    "       dealdesk replay FILE [--speed X] [--headless]\n"
    "\n"
    "options:\n"
    "  --url URL          the marketplace (DEALDESK_URL; default http://127.0.0.1:8642)\n"
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
    const char *reason, *total, *max_price, *max_qty, *if_match, *after, *speed;
    bool headless;
    bool help, version;
} cmdline;

/* Maps a command word to a decision action (-1 when it is not one). */
static int decision_command(const char *cmd)
{
    static const struct {
        const char *word;
        decision_action a;
    } map[] = {{"approve", DEC_APPROVE},
               {"veto", DEC_VETO},
               {"cap", DEC_CAP},
               {"refund", DEC_REFUND},
               {"pause", DEC_PAUSE},
               {"resume", DEC_RESUME},
               {"halt", DEC_HALT},
               {"ack", DEC_ACK},
               {"fleet-resume", DEC_FLEET_RESUME},
               {"hold", DEC_NEG_HOLD},
               {"release", DEC_NEG_RELEASE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(cmd, map[i].word) == 0)
            return (int)map[i].a;
    return -1;
}

/* Runs one decision command. */
static int run_decision(config *cfg, const cmdline *cl, decision_action a, char **pos, int npos)
{
    decision_req req;
    bool fleet = a == DEC_HALT || a == DEC_FLEET_RESUME;
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
    return headless_decide(cfg, &req, cl->total, cl->max_price);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    config cfg;
    config_init(&cfg);
    cmdline cl = {0};
    int rc = 0;
    char err[1024];
    int opt;
    opterr = 0;
    /* "-" in the optstring: words that are not options come back in order as 1, so that
     * options may stand anywhere ("dealdesk veto pur_1 --reason x" or the other way). */
    char *pos[8];
    int npos = 0;
    if ((rc = exact_long_options(argc, argv)) != 0)
        goto out;
    while (optind < argc) {
        /* ":" first (after "-"): a missing value comes back as ':', not as '?' */
        opt = getopt_long(argc, argv, "-:h", long_opts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
            case 1:
                if (npos == (int)(sizeof pos / sizeof pos[0])) {
                    rc = usage_error("too many arguments", optarg);
                    goto out;
                }
                pos[npos++] = optarg;
                break;
            case OPT_URL:
                if (strlen(optarg) >= sizeof cfg.url) {
                    rc = usage_error("--url is too long", NULL);
                    goto out;
                }
                snprintf(cfg.url, sizeof cfg.url, "%s", optarg);
                cfg.set |= CONFIG_SET_URL;
                break;
            case OPT_TOKEN_FILE: cl.token_file = optarg; break;
            case OPT_THEME:
                snprintf(cfg.theme, sizeof cfg.theme, "%s", optarg);
                cfg.set |= CONFIG_SET_THEME;
                break;
            case OPT_NO_COLOR:
                cfg.no_color = true;
                cfg.set |= CONFIG_SET_NO_COLOR;
                break;
            case OPT_READ_ONLY:
                cfg.read_only = true;
                cfg.set |= CONFIG_SET_READ_ONLY;
                break;
            case OPT_INSECURE_HTTP: cfg.insecure_http = true; break;
            case OPT_RECORD:
                if (strlen(optarg) >= sizeof cfg.record_file) {
                    rc = usage_error("--record path is too long", NULL);
                    goto out;
                }
                snprintf(cfg.record_file, sizeof cfg.record_file, "%s", optarg);
                break;
            case OPT_CONFIG: cl.config_path = optarg; break;
            case OPT_HEARTBEAT: {
                int64_t v;
                if (parse_i64(optarg, &v) < 0 || v < 1 || v > 3600) {
                    rc = usage_error("--heartbeat needs seconds between 1 and 3600", optarg);
                    goto out;
                }
                cfg.heartbeat_s = (int)v;
                cfg.set |= CONFIG_SET_HEARTBEAT;
                break;
            }
            case OPT_DEMO: cfg.demo = true; break;
            case OPT_SEED: {
                int64_t v;
                if (parse_i64(optarg, &v) < 0) {
                    rc = usage_error("--seed needs a non-negative integer", optarg);
                    goto out;
                }
                cfg.seed = (uint64_t)v;
                break;
            }
            case OPT_RATE: {
                int64_t v;
                if (parse_i64(optarg, &v) < 0 || v > 100000) {
                    rc = usage_error("--rate needs a non-negative integer", optarg);
                    goto out;
                }
                cfg.rate = (int)v;
                break;
            }
            case OPT_HELP:
            case 'h': cl.help = true; break;
            case OPT_VERSION: cl.version = true; break;
            case OPT_AFTER: cl.after = optarg; break;
            case OPT_SPEED: cl.speed = optarg; break;
            case OPT_HEADLESS: cl.headless = true; break;
            case OPT_REASON: cl.reason = optarg; break;
            case OPT_TOTAL: cl.total = optarg; break;
            case OPT_IF_MATCH: cl.if_match = optarg; break;
            case OPT_MAX_PRICE: cl.max_price = optarg; break;
            case OPT_MAX_QTY: cl.max_qty = optarg; break;
            case ':': rc = usage_error("this option needs a value", argv[optind - 1]); goto out;
            default: rc = usage_error("unknown option", argv[optind - 1]); goto out;
        }
    }
    if (cl.help) {
        fputs(usage_text, stdout);
        goto out;
    }
    if (cl.version) {
        printf("dealdesk %s\n", DEALDESK_VERSION);
        goto out;
    }
    if (cl.token_file) {
        if (config_read_token_file(&cfg, cl.token_file, err, sizeof err) < 0) {
            fprintf(stderr, "dealdesk: %s\n", err);
            rc = 2;
            goto out;
        }
        cfg.set |= CONFIG_SET_TOKEN;
    }
    if (config_resolve(&cfg, cl.config_path, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: %s\n", err);
        rc = 2;
        goto out;
    }
    const char *cmd = npos ? pos[0] : NULL;
    /* The token never goes in clear over the network: checked before any connection
     * (a replay and --demo's own loopback market connect nowhere else). */
    if (!cfg.demo && !(cmd && !strcmp(cmd, "replay"))) {
        int t = config_check_transport(&cfg, err, sizeof err);
        if (t != 0)
            fprintf(stderr, "dealdesk: %s\n", err);
        if (t < 0) {
            rc = 2;
            goto out;
        }
    }
    if (!cmd) {
        if (cfg.demo)
            rc = demo_run(&cfg);
        else
            rc = app_run(&cfg);
        goto out;
    }
    if (!strcmp(cmd, "tail")) {
        if (npos != 1) {
            rc = usage_error("tail takes no arguments", pos[1]);
            goto out;
        }
        if (cl.after && parse_i64(cl.after, &cfg.stream_after) < 0) {
            rc = usage_error("--after needs a seq (a non-negative integer)", cl.after);
            goto out;
        }
        rc = headless_tail(&cfg);
    } else if (!strcmp(cmd, "snapshot")) {
        rc = npos == 1 ? headless_snapshot(&cfg)
                       : usage_error("snapshot takes no arguments", pos[1]);
    } else if (!strcmp(cmd, "replay")) {
        if (npos != 2) {
            rc = usage_error("replay takes one FILE", NULL);
            goto out;
        }
        snprintf(cfg.replay_file, sizeof cfg.replay_file, "%s", pos[1]);
        if (cl.speed) {
            char *end;
            cfg.replay_speed = strtod(cl.speed, &end);
            if (*end || cfg.replay_speed < 0 || cfg.replay_speed > 1e6) {
                rc = usage_error("--speed needs a factor (0 = as fast as possible)", cl.speed);
                goto out;
            }
        }
        cfg.read_only = true;
        if (cl.headless || !isatty(STDOUT_FILENO))
            rc = headless_replay(&cfg);
        else
            rc = app_run(&cfg);
    } else {
        int a = decision_command(cmd);
        if (a < 0) {
            rc = usage_error("unknown command", cmd);
            goto out;
        }
        rc = run_decision(&cfg, &cl, (decision_action)a, pos + 1, npos - 1);
    }
out:
    config_free(&cfg);
    return rc;
}
