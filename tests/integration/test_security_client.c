/* test_security_client.c: dealdesk's side of security.
 *
 * - TLS: against a loopback TLS server with a self-signed certificate (openssl s_server,
 *   started here), every command refuses with a clear message naming the certificate
 *   problem; no flag, config setting or environment variable turns verification off;
 *   the token is never sent (the handshake fails first).
 * - A token file that group or others can read (or write) is refused, with a message
 *   that does not quote it; 0600 and 0400 are accepted.
 * - The token never appears in stdout, stderr, the journal, a --record file, crash
 *   output, or any file dealdesk writes: every file under $TEST_TMP except the token
 *   files themselves and the server's tokens file is searched for it. Mistakes that
 *   tend to echo a secret (the token pasted into the config file, a token file with
 *   junk, a wrong token) are tried on purpose.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

extern char **environ;

typedef struct run_result {
    int status;
    char out[16384];
    char err[16384];
} run_result;

/* Starts argv (argv[0] a path) with env_extra ("NAME=value", NULL-terminated, may be
 * NULL) added, stdout/stderr into files named after tag. */
static pid_t spawn_with(const char *const *argv, const char *const *env_extra, const char *tag)
{
    const char *tmp = getenv("TEST_TMP");
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/%s.out", tmp, tag);
    snprintf(ep, sizeof ep, "%s/%s.err", tmp, tag);
    const char *env[512];
    size_t n = 0;
    for (size_t i = 0; env_extra && env_extra[i] && n < 500; i++)
        env[n++] = env_extra[i];
    for (char **e = environ; *e && n < 511; e++)
        env[n++] = *e;
    env[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    const char *av[48];
    size_t na = 0;
    for (; argv[na] && na < 47; na++)
        av[na] = argv[na];
    av[na] = NULL;
    int rc =
        posix_spawn(&pid, av[0], &fa, NULL, (char *const *)(void *)av, (char *const *)(void *)env);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    return pid;
}

/* Runs dealdesk with args and env_extra to completion (30 s at most). */
static run_result run_env(const char *const *args, const char *const *env_extra)
{
    static int counter;
    run_result r = {0};
    const char *argv[40];
    size_t n = 0;
    argv[n++] = getenv("DEALDESK_BIN");
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char tag[32], p[600];
    snprintf(tag, sizeof tag, "sec-%d", ++counter);
    pid_t pid = spawn_with(argv, env_extra, tag);
    r.status = tproc_wait_child(pid, 30000);
    if (r.status < 0)
        fail_msg("dealdesk did not finish in 30 s");
    snprintf(p, sizeof p, "%s/%s.out", getenv("TEST_TMP"), tag);
    tproc_slurp(p, r.out, sizeof r.out);
    snprintf(p, sizeof p, "%s/%s.err", getenv("TEST_TMP"), tag);
    tproc_slurp(p, r.err, sizeof r.err);
    return r;
}

static run_result run(const char *const *args)
{
    return run_env(args, NULL);
}

/* Writes text to path with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    fchmod(fd, mode);
    close(fd);
}

/* ---- a TLS server with an untrusted certificate --------------------------- */

typedef struct tls_srv {
    pid_t pid;
    int port;
    char dir[600];
} tls_srv;

/* A free loopback port (bound and released: s_server binds it next). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

/* True when something accepts connections on 127.0.0.1:port. */
static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* The path of openssl, or NULL when it is not installed. */
static const char *openssl_path(void)
{
    static const char *const where[] = {"/usr/bin/openssl", "/usr/local/bin/openssl",
                                        "/bin/openssl"};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
        if (access(where[i], X_OK) == 0)
            return where[i];
    return NULL;
}

/* Makes a self-signed certificate for 127.0.0.1 and serves TLS on a free loopback port
 * with openssl s_server. Returns false when openssl is missing. */
static bool tls_start(tls_srv *t)
{
    const char *ossl = openssl_path();
    if (!ossl)
        return false;
    snprintf(t->dir, sizeof t->dir, "%s/tls-XXXXXX", getenv("TEST_TMP"));
    assert_non_null(mkdtemp(t->dir));
    char key[700], cert[700];
    snprintf(key, sizeof key, "%s/key.pem", t->dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", t->dir);
    const char *gen[] = {ossl,       "req",
                         "-x509",    "-newkey",
                         "rsa:2048", "-nodes",
                         "-keyout",  key,
                         "-out",     cert,
                         "-days",    "1",
                         "-subj",    "/CN=127.0.0.1",
                         "-addext",  "subjectAltName=IP:127.0.0.1",
                         NULL};
    assert_int_equal(tproc_wait_child(spawn_with(gen, NULL, "openssl-req"), 60000), 0);
    for (int attempt = 0; attempt < 5; attempt++) {
        t->port = free_port();
        char accept[64];
        snprintf(accept, sizeof accept, "127.0.0.1:%d", t->port);
        const char *srv[] = {ossl,   "s_server", "-accept", accept,   "-cert", cert,
                             "-key", key,        "-www",    "-quiet", NULL};
        t->pid = spawn_with(srv, NULL, "openssl-s_server");
        int64_t deadline = tproc_now_ms() + 10000;
        while (tproc_now_ms() < deadline && !port_open(t->port)) {
            if (waitpid(t->pid, NULL, WNOHANG) == t->pid) {
                t->pid = 0;
                break;
            }
            tproc_nap(20);
        }
        if (t->pid > 0 && port_open(t->port))
            return true;
        if (t->pid > 0) {
            kill(t->pid, SIGKILL);
            waitpid(t->pid, NULL, 0);
        }
    }
    fail_msg("openssl s_server did not start");
    return false;
}

/* Stops the TLS server (by its pid). */
static void tls_stop(tls_srv *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        if (tproc_wait_child(t->pid, 5000) < 0)
            waitpid(t->pid, NULL, WNOHANG);
        t->pid = 0;
    }
}

static testsrv srv;
static char *tok;

static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, "--heartbeat 1") < 0)
        return -1;
    tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    return tok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    free(tok);
    return 0;
}

/* True when a message names the certificate problem. */
static bool says_certificate(const char *err)
{
    return strstr(err, "certificate") || strstr(err, "SSL") || strstr(err, "TLS");
}

/* An untrusted certificate is refused by every command, whatever the environment says,
 * and there is no switch to turn verification off. */
static void test_untrusted_certificate_refused(void **state)
{
    (void)state;
    tls_srv t = {0};
    if (!tls_start(&t)) {
        printf("openssl is not installed: TLS test skipped\n");
        skip();
    }
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", t.port);
    /* One-shot commands: exit 1 with a clear message. */
    const char *const cmds[][8] = {
        {"snapshot", NULL},
        {"halt", "--reason", "tls drill", NULL},
        {"approve", "pur_1", "--total", "1.00", "--if-match", "1", NULL},
    };
    /* Environments that other tools honour to skip verification: none may work here. */
    static const char *const lax_env[] = {
        "DEALDESK_INSECURE=1", "DEALDESK_TLS_VERIFY=0",          "CURL_INSECURE=1",
        "GIT_SSL_NO_VERIFY=1", "NODE_TLS_REJECT_UNAUTHORIZED=0", "PYTHONHTTPSVERIFY=0",
        "CURL_CA_BUNDLE=",     "SSL_CERT_FILE=/dev/null",        NULL};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
        for (int lax = 0; lax < 2; lax++) {
            const char *args[16] = {"--url", url, "--token-file", tok};
            size_t n = 4;
            for (size_t i = 0; cmds[c][i]; i++)
                args[n++] = cmds[c][i];
            args[n] = NULL;
            run_result r = run_env(args, lax ? lax_env : NULL);
            if (r.status != 1 || !says_certificate(r.err))
                fail_msg("%s over untrusted TLS: exit %d, stderr: %s", cmds[c][0], r.status, r.err);
            assert_null(strstr(r.err, TESTSRV_TOKEN_SUP1));
            assert_null(strstr(r.out, TESTSRV_TOKEN_SUP1));
            if (c == 0 && lax == 0)
                printf("untrusted certificate: \"%.*s\"\n", (int)strcspn(r.err, "\n"), r.err);
        }
    }
    /* The stream: tail says why it cannot connect, and keeps refusing. */
    const char *tail[] = {getenv("DEALDESK_BIN"), "--url", url, "--token-file", tok, "tail", NULL};
    pid_t pid = spawn_with(tail, lax_env, "tls-tail");
    char ep[600], err[16384] = "";
    snprintf(ep, sizeof ep, "%s/tls-tail.err", getenv("TEST_TMP"));
    int64_t deadline = tproc_now_ms() + 15000;
    while (tproc_now_ms() < deadline && !says_certificate(err)) {
        tproc_nap(50);
        tproc_slurp(ep, err, sizeof err);
    }
    kill(pid, SIGTERM);
    assert_true(tproc_wait_child(pid, 10000) >= 0);
    char op[600], out[4096];
    snprintf(op, sizeof op, "%s/tls-tail.out", getenv("TEST_TMP"));
    tproc_slurp(op, out, sizeof out);
    if (!says_certificate(err))
        fail_msg("tail over untrusted TLS said: %s", err);
    assert_string_equal(out, ""); /* no event was accepted from it */
    assert_null(strstr(err, TESTSRV_TOKEN_SUP1));

    /* No option turns verification off (usage error, nothing sent). */
    static const char *const flags[] = {"--insecure",      "-k",
                                        "--no-verify",     "--tls-verify=no",
                                        "--no-tls-verify", "--cacert=/dev/null"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const char *args[] = {"--url", url, "--token-file", tok, flags[i], "snapshot", NULL};
        run_result r = run(args);
        if (r.status != 2)
            fail_msg("%s: exit %d (want 2, a usage error): %s", flags[i], r.status, r.err);
    }
    /* Nor does any config setting. */
    static const char *const settings[] = {"insecure = true", "tls_verify = false", "verify = no",
                                           "ssl_verify = 0", "cacert = /dev/null"};
    char cfgp[700];
    snprintf(cfgp, sizeof cfgp, "%s/lax.conf", t.dir);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "url = %s\n%s\n", url, settings[i]);
        write_file(cfgp, text, 0600);
        const char *args[] = {"--config", cfgp, "--token-file", tok, "snapshot", NULL};
        run_result r = run(args);
        if (r.status == 0)
            fail_msg("config \"%s\" let a self-signed server through: %s", settings[i], r.out);
        if (!strstr(r.err, "unknown setting"))
            fail_msg("config \"%s\": %s", settings[i], r.err);
    }
    tls_stop(&t);
}

/* A token file readable or writable by group or others is refused, without quoting it;
 * 0600 and 0400 are accepted. */
static void test_token_file_modes(void **state)
{
    (void)state;
    char path[700];
    snprintf(path, sizeof path, "%s/mode-token", srv.dir);
    static const mode_t refused[] = {0644, 0640, 0604, 0660, 0606, 0620, 0602, 0666, 0777};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        write_file(path, TESTSRV_TOKEN_SUP1 "\n", refused[i]);
        const char *args[] = {"--url", srv.url, "--token-file", path, "snapshot", NULL};
        run_result r = run(args);
        if (r.status != 2 || !strstr(r.err, "group or others"))
            fail_msg("mode %04o: exit %d, stderr: %s", (unsigned)refused[i], r.status, r.err);
        assert_null(strstr(r.err, TESTSRV_TOKEN_SUP1));
        assert_string_equal(r.out, "");
    }
    static const mode_t ok[] = {0600, 0400};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        write_file(path, TESTSRV_TOKEN_SUP1 "\n", ok[i]);
        const char *args[] = {"--url", srv.url, "--token-file", path, "snapshot", NULL};
        run_result r = run(args);
        if (r.status != 0)
            fail_msg("mode %04o: exit %d, stderr: %s", (unsigned)ok[i], r.status, r.err);
        assert_non_null(strstr(r.out, "\"seq\""));
    }
    chmod(path, 0600);
    unlink(path);
}

/* ---- the token is nowhere ---------------------------------------------------- */

static const char *const secrets[] = {TESTSRV_TOKEN_SUP1, TESTSRV_TOKEN_SUP2, TESTSRV_TOKEN_VIEW1,
                                      "wr0ng-t0ken-5ecret-4471"};
static int leaks;
static int files_checked;
static char skip_a[700];

/* True when needle (n bytes) occurs in hay (len bytes). */
static bool contains(const char *hay, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

/* nftw callback: searches one regular file for every secret, except the files that are
 * meant to hold them (token files, the server's tokens file). */
static int search_file(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || !S_ISREG(sb->st_mode) || sb->st_size > 64 * 1024 * 1024)
        return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* the files meant to hold secrets: marketd's tokens files (this test's server and any
     * other test's left in $TEST_TMP) and the token files given to dealdesk */
    if (!strcmp(path, srv.tokens) || !strcmp(base, "tokens") || strstr(path, "/token-") ||
        strstr(path, "/tok-") || !strcmp(path, skip_a))
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *buf = malloc((size_t)sb->st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)sb->st_size, f) : 0;
    fclose(f);
    if (!buf)
        return 0;
    buf[n] = '\0';
    files_checked++;
    for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++)
        if (contains(buf, n, secrets[s], strlen(secrets[s]))) {
            fprintf(stderr, "secret %zu found in %s\n", s, path);
            leaks++;
        }
    free(buf);
    return 0;
}

/* Runs dealdesk in many ways (including mistakes) and then searches every output and
 * every file under $TEST_TMP for the tokens. */
static void test_token_appears_nowhere(void **state)
{
    (void)state;
    const char *tmp = getenv("TEST_TMP");
    testsrv_market m;
    assert_int_equal(testsrv_market_setup(&srv, &m, 0), 0);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &m, 50000, 1, pur), 0);
    /* A recorded tail, stopped, and replayed. */
    char rec[700];
    snprintf(rec, sizeof rec, "%s/stream.rec", tmp);
    const char *tail[] = {getenv("DEALDESK_BIN"),
                          "--url",
                          srv.url,
                          "--token-file",
                          tok,
                          "--record",
                          rec,
                          "tail",
                          "--after",
                          "0",
                          NULL};
    pid_t pid = spawn_with(tail, NULL, "leak-tail");
    char op[600], out[65536] = "";
    snprintf(op, sizeof op, "%s/leak-tail.out", tmp);
    int64_t deadline = tproc_now_ms() + 15000;
    while (tproc_now_ms() < deadline && !strstr(out, pur)) {
        tproc_nap(50);
        tproc_slurp(op, out, sizeof out);
    }
    assert_non_null(strstr(out, pur));
    /* Crash output: a fatal signal mid-run. */
    kill(pid, SIGSEGV);
    assert_true(tproc_wait_child(pid, 10000) >= 0);
    const char *replay[] = {"replay", rec, "--headless", "--speed", "1000", NULL};
    run_result r = run(replay);
    assert_int_equal(r.status, 0);

    /* Decisions that succeed, conflict, fail precondition and are refused. */
    const char *d1[] = {"--url", srv.url, "--token-file", tok, "veto", pur, "--reason", "no", NULL};
    assert_int_equal(run(d1).status, 0);
    const char *d2[] = {"--url", srv.url, "--token-file", tok, "approve", pur, NULL};
    assert_int_equal(run(d2).status, 1);
    char *vt = testsrv_token_file(&srv, TESTSRV_TOKEN_VIEW1);
    const char *d3[] = {"--url", srv.url, "--token-file", vt, "halt", "--reason", "x", NULL};
    assert_int_equal(run(d3).status, 1);
    free(vt);
    /* A wrong token: 401, and the message does not quote it. */
    char wrong[700];
    snprintf(wrong, sizeof wrong, "%s/tok-wrong", srv.dir);
    write_file(wrong, "wr0ng-t0ken-5ecret-4471\n", 0600);
    const char *d4[] = {"--url", srv.url, "--token-file", wrong, "snapshot", NULL};
    r = run(d4);
    assert_int_equal(r.status, 1);
    const char *d5[] = {"--url", srv.url, "--token-file", wrong, "halt", "--reason", "x", NULL};
    assert_true(run(d5).status != 0);
    /* The token through the environment. */
    const char *env[] = {"DEALDESK_TOKEN=" TESTSRV_TOKEN_SUP2, NULL};
    const char *d6[] = {"--url", srv.url, "snapshot", NULL};
    assert_int_equal(run_env(d6, env).status, 0);
    const char *d7[] = {"--url", "http://127.0.0.1:1", "snapshot", NULL};
    assert_int_equal(run_env(d7, env).status, 1); /* nobody there */
    /* Mistakes: the token pasted into the config file (as a line of its own, and as a
     * value); a token file with junk after the token; a token file with a space. */
    char cfgp[700];
    snprintf(cfgp, sizeof cfgp, "%s/pasted.conf", tmp);
    snprintf(skip_a, sizeof skip_a, "%s", cfgp);
    write_file(cfgp, "url = http://127.0.0.1:9\n" TESTSRV_TOKEN_SUP1 "\n", 0600);
    const char *m1[] = {"--config", cfgp, "snapshot", NULL};
    r = run(m1);
    assert_true(r.status != 0);
    write_file(cfgp, "token = " TESTSRV_TOKEN_SUP1 "\n", 0600);
    r = run(m1);
    assert_true(r.status != 0);
    /* (A token pasted as the value of token_file or url is quoted back as the bad path
     * or host, like a bad command-line argument: dealdesk cannot know it is a token.) */
    char junk[700];
    snprintf(junk, sizeof junk, "%s/tok-junk", srv.dir);
    write_file(junk, TESTSRV_TOKEN_SUP1 " trailing words\r\n\x1b[2J\n", 0600);
    const char *m2[] = {"--url", srv.url, "--token-file", junk, "snapshot", NULL};
    run(m2);
    write_file(junk, "  " TESTSRV_TOKEN_SUP1 "\t\n", 0600);
    run(m2);
    /* (A token typed by the user where a URL or an id belongs is echoed back as the bad
     * argument, like any other: that is the user's own typing, not dealdesk leaking it.) */
    leaks = 0;
    files_checked = 0;
    nftw(tmp, search_file, 32, FTW_PHYS);
    printf("token search: %d files under $TEST_TMP (outputs, journal, recording, config, "
           "crash output) searched for %zu secrets: %d found\n",
           files_checked, sizeof secrets / sizeof secrets[0], leaks);
    assert_true(files_checked >= 20);
    assert_int_equal(leaks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_untrusted_certificate_refused),
        cmocka_unit_test(test_token_file_modes),
        cmocka_unit_test(test_token_appears_nowhere),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
