/* demo.c: `dealdesk --demo`: the bundled marketd with a simulated fleet on a free
 * loopback port, a temporary database, a generated supervisor token in a 0600 file, the
 * default policy set (marketd --default-policies: a purchase every 10-20 s reaches the
 * presenter, every flagged one does; tests/bench/bench_policies.c), the unattended switch
 * on (--unattended 600:restrict: ten minutes unwatched, nothing approves itself); the
 * console attached
 * to it; marketd stopped and the folder removed on exit. */
#include "tui/demo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/clock.h"
#include "api/http.h"

#define DEMO_START_MS 20000 /* how long marketd may take to listen and be healthy */

/* Finds marketd: $MARKETD_BIN, else next to this executable. */
static int find_marketd(char *out, size_t size)
{
    const char *env = getenv("MARKETD_BIN");
    if (env && *env) {
        snprintf(out, size, "%s", env);
        return access(out, X_OK);
    }
    char self[PATH_MAX - 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, size, "%s/marketd", self);
    return access(out, X_OK);
}

/* Writes a fresh random secret (hex) into out. Returns 0 or -1. */
static int random_secret(char *out, size_t size)
{
    unsigned char raw[24];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, raw, sizeof raw);
    close(fd);
    if (n != (ssize_t)sizeof raw || size < 2 * sizeof raw + 1)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* Writes text to a new file with mode 0600. Returns 0 or -1. */
static int write_private(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int rc = close(fd);
    return (n == (ssize_t)len && rc == 0) ? 0 : -1;
}

/* Looks for "listening on http://127.0.0.1:PORT" in marketd's log; returns the port or 0. */
static int find_port(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    char line[512];
    int port = 0;
    while (!port && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening on http://127.0.0.1:");
        if (p)
            port = atoi(p + strlen("listening on http://127.0.0.1:"));
    }
    fclose(f);
    return port > 0 && port < 65536 ? port : 0;
}

/* One GET of /v1/health (through api/http.c, 1 s at most); true on 200. */
static bool healthy(const char *url)
{
    char full[1100], err[256], *body = NULL;
    long status = 0;
    snprintf(full, sizeof full, "%s/v1/health", url);
    int rc =
        http_request_sync("GET", full, NULL, NULL, 1000L, &status, &body, NULL, err, sizeof err);
    free(body);
    return rc == 0 && status == 200;
}

/* Stops marketd: SIGTERM, up to 5 s, then SIGKILL; always reaps it. */
static void stop_marketd(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int64_t deadline = clock_mono_ms() + 5000;
    while (clock_mono_ms() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        poll(NULL, 0, 20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Removes the demo folder and what the demo put in it. */
static void remove_dir(const char *dir)
{
    static const char *const files[] = {
        "market.db",   "market.db-wal", "market.db-shm", "market.db-journal", "tokens", "token",
        "marketd.log", "journal",       "journal.lock",  "journal.compact",   NULL};
    char p[PATH_MAX];
    for (size_t i = 0; files[i]; i++) {
        if (snprintf(p, sizeof p, "%s/%s", dir, files[i]) < (int)sizeof p)
            unlink(p);
    }
    rmdir(dir);
}

/* Says where the demo's market is and how to reach it from another terminal, on
 * stderr before the screen takes over (the console's help screen repeats it). */
static void say_where(const config *cfg, const char *marketd)
{
    fprintf(stderr,
            "dealdesk --demo: %s at %s with a simulated fleet (removed when you quit)\n"
            "  supervisor token file: %s\n"
            "  from another terminal: dealdesk --url %s --token-file %s tail\n",
            marketd, cfg->url, cfg->token_file, cfg->url, cfg->token_file);
}

/* The demo's folder and the files in it. */
typedef struct demo_dir {
    char dir[1024];
    char tokens[PATH_MAX], token[PATH_MAX], db[PATH_MAX], log[PATH_MAX];
} demo_dir;

/* Makes the demo's folder under $TMPDIR with a fresh supervisor token: marketd's tokens
 * file and the console's token file (both 0600). Returns 0, or -1 after the message
 * (and with nothing left behind). */
static int make_dir(demo_dir *d)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(d->dir, sizeof d->dir, "%.900s/dealdesk-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(d->dir)) {
        fprintf(stderr, "dealdesk: --demo: cannot make a folder: %s\n", strerror(errno));
        return -1;
    }
    char secret[64], line[200], tokline[80];
    snprintf(d->tokens, sizeof d->tokens, "%s/tokens", d->dir);
    snprintf(d->token, sizeof d->token, "%s/token", d->dir);
    snprintf(d->db, sizeof d->db, "%s/market.db", d->dir);
    snprintf(d->log, sizeof d->log, "%s/marketd.log", d->dir);
    if (random_secret(secret, sizeof secret) < 0) {
        fprintf(stderr, "dealdesk: --demo: no randomness for a token\n");
        remove_dir(d->dir);
        return -1;
    }
    snprintf(line, sizeof line, "# dealdesk --demo\ndemo supervisor %s\n", secret);
    snprintf(tokline, sizeof tokline, "%s\n", secret);
    if (write_private(d->tokens, line) < 0 || write_private(d->token, tokline) < 0) {
        fprintf(stderr, "dealdesk: --demo: cannot write the token files: %s\n", strerror(errno));
        remove_dir(d->dir);
        return -1;
    }
    return 0;
}

/* Starts marketd on a free loopback port, its output into the log; it dies with us.
 * Returns its pid, or -1 after the message. */
static pid_t spawn_marketd(const config *cfg, const char *marketd, const demo_dir *d)
{
    char seed[32], rate[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)(cfg->seed ? cfg->seed : 1));
    snprintf(rate, sizeof rate, "%d", cfg->rate > 0 ? cfg->rate : 2);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "dealdesk: --demo: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0); /* the terminal's ^C and hangup are ours to handle, not marketd's */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        int in = open("/dev/null", O_RDONLY);
        int out = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (in < 0 || out < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        execl(marketd, marketd, "--listen", "127.0.0.1:0", "--db", d->db, "--tokens", d->tokens,
              "--fleet", "12", "--seed", seed, "--rate", rate, "--default-policies", "--unattended",
              "600:restrict", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits (DEMO_START_MS at most) until marketd says its port and answers /v1/health
 * with 200; sets cfg->url. *pid becomes 0 when marketd exited. Returns true when healthy,
 * else false after the message and the first lines of its log. */
static bool wait_healthy(config *cfg, pid_t *pid, const char *log)
{
    int port = 0;
    int64_t deadline = clock_mono_ms() + DEMO_START_MS;
    while (clock_mono_ms() < deadline) {
        int status;
        if (waitpid(*pid, &status, WNOHANG) == *pid) {
            *pid = 0;
            break;
        }
        if (!port)
            port = find_port(log);
        if (port) {
            snprintf(cfg->url, sizeof cfg->url, "http://127.0.0.1:%d", port);
            cfg->nurls = 0; /* this one URL, whatever --url said (api/config.h) */
            if (healthy(cfg->url))
                return true;
        }
        poll(NULL, 0, 50);
    }
    fprintf(stderr, "dealdesk: --demo: marketd did not become healthy (log: %s)\n", log);
    FILE *f = fopen(log, "r");
    if (f) {
        char l[256];
        for (int i = 0; i < 10 && fgets(l, sizeof l, f); i++)
            fprintf(stderr, "  %s", l);
        fclose(f);
    }
    return false;
}

/* Runs the demo; see demo.h. */
int demo_run(config *cfg)
{
    char marketd[PATH_MAX];
    if (find_marketd(marketd, sizeof marketd) < 0) {
        fprintf(stderr, "dealdesk: --demo needs marketd next to dealdesk (or MARKETD_BIN)\n");
        return 1;
    }
    demo_dir d = {0};
    if (make_dir(&d) < 0)
        return 1;
    pid_t pid = spawn_marketd(cfg, marketd, &d);
    if (pid < 0 || !wait_healthy(cfg, &pid, d.log)) {
        stop_marketd(pid);
        remove_dir(d.dir);
        return 1;
    }
    char err[256];
    int rc;
    if (config_read_token_file(cfg, d.token, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: --demo: %s\n", err);
        rc = 1;
    } else {
        if (snprintf(cfg->journal_path, sizeof cfg->journal_path, "%s/journal", d.dir) >=
            (int)sizeof cfg->journal_path)
            cfg->journal_path[0] = '\0';
        snprintf(cfg->token_file, sizeof cfg->token_file, "%s", d.token);
        say_where(cfg, marketd);
        rc = app_run(cfg); /* its help screen (?) and first status line say it again */
    }
    stop_marketd(pid);
    remove_dir(d.dir);
    fprintf(stderr, "dealdesk --demo: marketd at %s stopped; its folder and token removed\n",
            cfg->url);
    return rc;
}
