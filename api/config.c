/* config.c: flags, then environment, then the config file (see config.h). */
#include "api/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void config_init(config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heartbeat_s = 15;
    cfg->replay_speed = 1.0;
    cfg->stream_after = -1;
    cfg->bell = true;
    snprintf(cfg->theme, sizeof cfg->theme, "default");
    cfg->mode = text_mode_from_locale();
}

void config_free(config *cfg)
{
    for (size_t i = 0; i < cfg->nbinds; i++) {
        free(cfg->binds[i].key);
        free(cfg->binds[i].action);
        free(cfg->binds[i].file);
    }
    free(cfg->binds);
    cfg->binds = NULL;
    cfg->nbinds = 0;
    /* The token must not linger in freed memory. */
    volatile char *t = cfg->token;
    for (size_t i = 0; i < sizeof cfg->token; i++)
        t[i] = 0;
}

/* True when a token is usable: printable ASCII without spaces. */
static bool token_ok(const char *t)
{
    if (!*t)
        return false;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~')
            return false;
    return true;
}

int config_read_token_file(config *cfg, const char *path, char *err, size_t errsz)
{
    /* A FIFO or a device is refused before it is opened (open() would block on a FIFO
     * with no writer), and again after (O_NONBLOCK: it never waits), in case the path
     * changed in between. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errsz, "the token file %s is not a regular file", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open the token file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errsz, "the token file %s is not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        snprintf(err, errsz, "refusing the token file %s: it belongs to another user (uid %u)",
                 path, (unsigned)st.st_uid);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        snprintf(err, errsz,
                 "refusing the token file %s: group or others can access it "
                 "(mode %03o); run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 0777), path);
        return -1;
    }
    char buf[CONFIG_TOKEN_MAX + 2];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errsz, "cannot read the token file %s: %s", path, strerror(errno));
        return -1;
    }
    buf[n] = '\0';
    size_t len = strcspn(buf, "\r\n");
    if (len >= CONFIG_TOKEN_MAX) {
        snprintf(err, errsz, "the token in %s is too long", path);
        return -1;
    }
    buf[len] = '\0';
    if (!token_ok(buf)) {
        snprintf(err, errsz,
                 "the first line of the token file %s must hold the token alone "
                 "(no spaces or control characters)",
                 path);
        memset(buf, 0, sizeof buf);
        return -1;
    }
    memcpy(cfg->token, buf, len + 1);
    memset(buf, 0, sizeof buf);
    snprintf(cfg->token_file, sizeof cfg->token_file, "%s", path);
    return 0;
}

/* True when host (no brackets, no port) is a loopback address written as such: localhost,
 * 127.0.0.0/8, ::1 or ::ffff:127.x. Nothing is resolved (no DNS). */
static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(host, "localhost") || !strcasecmp(host, "localhost."))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

int config_url_host(const char *url, bool *plain_http, char *host, size_t size)
{
    const char *p = strstr(url, "://");
    if (!p)
        return -1;
    *plain_http = (size_t)(p - url) == 4 && !strncasecmp(url, "http", 4);
    p += 3;
    size_t auth = strcspn(p, "/?#"); /* the authority: [userinfo@]host[:port] */
    const char *at = memchr(p, '@', auth);
    while (at) { /* the last @ of the authority ends the userinfo */
        const char *next = memchr(at + 1, '@', auth - (size_t)(at + 1 - p));
        if (!next)
            break;
        at = next;
    }
    if (at) {
        auth -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    size_t n;
    if (*p == '[') {
        const char *close = memchr(p, ']', auth);
        if (!close)
            return -1;
        p++;
        n = (size_t)(close - p);
    } else {
        const char *colon = memchr(p, ':', auth);
        n = colon ? (size_t)(colon - p) : auth;
    }
    if (n == 0 || n >= size)
        return -1;
    memcpy(host, p, n);
    host[n] = '\0';
    return 0;
}

int config_check_transport(const config *cfg, char *msg, size_t msgsz)
{
    char host[256] = "";
    bool plain, clear = false;
    msg[0] = '\0';
    /* each URL the token may go to (several: the instances of one market) */
    for (int i = 0; i < (cfg->nurls > 1 ? cfg->nurls : 1) && !clear; i++) {
        const char *url = cfg->nurls > 1 ? cfg->urls[i] : cfg->url;
        clear = cfg->token[0] && config_url_host(url, &plain, host, sizeof host) == 0 && plain &&
                !host_is_loopback(host);
    }
    if (!clear)
        return 0;
    if (!cfg->insecure_http) {
        snprintf(msg, msgsz,
                 "refusing to send the token over plain http:// to %s (not a loopback "
                 "address): use https://, or --insecure-http to accept that anyone on the "
                 "way can read it",
                 host);
        return -1;
    }
    snprintf(msg, msgsz,
             "warning: --insecure-http: the token goes over plain http:// to %s, readable by "
             "anyone on the way",
             host);
    return 1;
}

/* Parses a boolean word; returns 0/1, or -1 when it is none. */
static int parse_bool(const char *v)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
        return 1;
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
        return 0;
    return -1;
}

/* Strips leading and trailing blanks in place; returns the start. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Keeps a `bind KEY ACTION` line. Returns 0 or -1 (memory). */
static int add_bind(config *cfg, const char *key, const char *action, const char *file, int line)
{
    config_bind *b = realloc(cfg->binds, (cfg->nbinds + 1) * sizeof *b);
    if (!b)
        return -1;
    cfg->binds = b;
    config_bind *nb = &b[cfg->nbinds];
    nb->key = strdup(key);
    nb->action = strdup(action);
    nb->file = strdup(file);
    nb->line = line;
    if (!nb->key || !nb->action || !nb->file) {
        free(nb->key);
        free(nb->action);
        free(nb->file);
        return -1;
    }
    cfg->nbinds++;
    return 0;
}

/* Applies one `key = value` of the file unless a flag or the environment set it. */
/* The escalation keys (issue 16): bell_repeat = off|on|SECONDS (on: every
 * CONFIG_BELL_REPEAT_DEFAULT_S), notify = off|osc777|osc9, title = on|off. */
static int escalation_setting(config *cfg, const char *key, const char *val, const char *file,
                              int line, char *err, size_t errsz)
{
    int b = parse_bool(val);
    if (!strcmp(key, "title")) {
        if (b < 0)
            goto bad;
        cfg->title = b;
    } else if (!strcmp(key, "notify")) {
        if (!strcmp(val, "osc777"))
            cfg->notify = CONFIG_NOTIFY_OSC777;
        else if (!strcmp(val, "osc9"))
            cfg->notify = CONFIG_NOTIFY_OSC9;
        else if (b == 0)
            cfg->notify = CONFIG_NOTIFY_OFF;
        else
            goto bad;
    } else {
        char *end;
        long v = strtol(val, &end, 10); /* a number is seconds (0: off), before on/off */
        if (end != val && !*end && v >= 0 && v <= 3600)
            cfg->bell_repeat_s = (int)v;
        else if (end == val && b >= 0)
            cfg->bell_repeat_s = b ? CONFIG_BELL_REPEAT_DEFAULT_S : 0;
        else
            goto bad;
    }
    return 0;
bad:
    snprintf(err, errsz, "%s:%d: %s must be %s, not \"%s\"", file, line, key,
             !strcmp(key, "title")    ? "on or off"
             : !strcmp(key, "notify") ? "off, osc777 or osc9"
                                      : "off, on or seconds (0 to 3600)",
             val);
    return -1;
}

static int file_setting(config *cfg, const char *key, const char *val, const char *file, int line,
                        bool *token_file_set, char *err, size_t errsz)
{
    int b;
    if (!strcmp(key, "url")) {
        if (!cfg->set.url) {
            if (strlen(val) >= sizeof cfg->url)
                goto too_long;
            snprintf(cfg->url, sizeof cfg->url, "%s", val);
        }
    } else if (!strcmp(key, "token_file")) {
        if (!cfg->set.token) {
            char path[CONFIG_PATH_MAX];
            if (val[0] == '~' && val[1] == '/' && getenv("HOME"))
                snprintf(path, sizeof path, "%s%s", getenv("HOME"), val + 1);
            else
                snprintf(path, sizeof path, "%s", val);
            char e2[512];
            if (config_read_token_file(cfg, path, e2, sizeof e2) < 0) {
                snprintf(err, errsz, "%s:%d: %s", file, line, e2);
                return -1;
            }
            *token_file_set = true;
        }
    } else if (!strcmp(key, "theme")) {
        if (!cfg->set.theme) {
            if (strlen(val) >= sizeof cfg->theme)
                goto too_long;
            snprintf(cfg->theme, sizeof cfg->theme, "%s", val);
        }
    } else if (!strcmp(key, "no_color") || !strcmp(key, "read_only") || !strcmp(key, "bell")) {
        if ((b = parse_bool(val)) < 0) {
            snprintf(err, errsz, "%s:%d: %s must be true or false, not \"%s\"", file, line, key,
                     val);
            return -1;
        }
        if (!strcmp(key, "no_color") && !cfg->set.no_color)
            cfg->no_color = cfg->no_color || b;
        else if (!strcmp(key, "read_only") && !cfg->set.read_only)
            cfg->read_only = b;
        else if (!strcmp(key, "bell") && !cfg->set.bell)
            cfg->bell = b;
    } else if (!strcmp(key, "heartbeat")) {
        char *end;
        long v = strtol(val, &end, 10);
        if (*end || end == val || v < 1 || v > 3600) {
            snprintf(err, errsz, "%s:%d: heartbeat must be seconds between 1 and 3600", file, line);
            return -1;
        }
        if (!cfg->set.heartbeat)
            cfg->heartbeat_s = (int)v;
    } else if (!strcmp(key, "bell_repeat") || !strcmp(key, "notify") || !strcmp(key, "title")) {
        return escalation_setting(cfg, key, val, file, line, err, errsz);
    } else if (!strcmp(key, "token")) {
        snprintf(err, errsz,
                 "%s:%d: put the token in a file of its own (mode 600) and name it with "
                 "token_file",
                 file, line);
        return -1;
    } else {
        snprintf(err, errsz,
                 "%s:%d: unknown setting \"%s\" (known: url, token_file, theme, no_color, "
                 "read_only, bell, heartbeat, bell_repeat, notify, title, bind)",
                 file, line, key);
        return -1;
    }
    return 0;
too_long:
    snprintf(err, errsz, "%s:%d: %s is too long", file, line, key);
    return -1;
}

/* Reads the config file. missing_ok: a missing file is not an error. */
static int load_file(config *cfg, const char *path, bool missing_ok, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (missing_ok && errno == ENOENT)
            return 0;
        snprintf(err, errsz, "cannot read the config file %s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    bool token_file_set = false;
    while (getline(&buf, &cap, f) > 0) {
        lineno++;
        char *l = trim(buf);
        if (!*l || *l == '#')
            continue;
        if (!strncmp(l, "bind", 4) && (l[4] == ' ' || l[4] == '\t')) {
            char *k = trim(l + 5);
            size_t kl = strcspn(k, " \t");
            if (!k[kl]) {
                snprintf(err, errsz, "%s:%d: bind needs a key and an action", path, lineno);
                rc = -1;
                break;
            }
            k[kl] = '\0';
            char *action = trim(k + kl + 1);
            if (!*action) {
                snprintf(err, errsz, "%s:%d: bind needs a key and an action", path, lineno);
                rc = -1;
                break;
            }
            if (add_bind(cfg, k, action, path, lineno) < 0) {
                snprintf(err, errsz, "out of memory");
                rc = -1;
                break;
            }
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            snprintf(err, errsz, "%s:%d: expected \"key = value\"", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(l), *val = trim(eq + 1);
        /* Allow "quoted values". */
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        if (file_setting(cfg, key, val, path, lineno, &token_file_set, err, errsz) < 0) {
            rc = -1;
            break;
        }
    }
    free(buf);
    fclose(f);
    return rc;
}

int config_resolve(config *cfg, const char *path, char *err, size_t errsz)
{
    /* The environment. */
    const char *u = getenv("DEALDESK_URL");
    if (u && *u && !cfg->set.url) {
        if (strlen(u) >= sizeof cfg->url) {
            snprintf(err, errsz, "DEALDESK_URL is too long");
            return -1;
        }
        snprintf(cfg->url, sizeof cfg->url, "%s", u);
        cfg->set.url = true;
    }
    const char *t = getenv("DEALDESK_TOKEN");
    if (t && *t && !cfg->set.token) {
        if (strlen(t) >= sizeof cfg->token || !token_ok(t)) {
            snprintf(err, errsz,
                     "DEALDESK_TOKEN is not a usable token (too long, spaces or "
                     "control characters)");
            return -1;
        }
        snprintf(cfg->token, sizeof cfg->token, "%s", t);
        cfg->set.token = true;
    }
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc && !cfg->set.no_color) {
        cfg->no_color = true;
        cfg->set.no_color = true;
    }
    /* The file. */
    char def[CONFIG_PATH_MAX];
    bool missing_ok = path == NULL;
    if (!path) {
        const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
        if (x && *x)
            snprintf(def, sizeof def, "%s/dealdesk/config", x);
        else if (h && *h)
            snprintf(def, sizeof def, "%s/.config/dealdesk/config", h);
        else
            return 0;
        path = def;
    }
    if (load_file(cfg, path, missing_ok, err, errsz) < 0)
        return -1;
    if (!cfg->url[0])
        snprintf(cfg->url, sizeof cfg->url, "http://127.0.0.1:8642");
    return config_split_urls(cfg, err, errsz);
}

int config_split_urls(config *cfg, char *err, size_t errsz)
{
    char list[sizeof cfg->url];
    snprintf(list, sizeof list, "%s", cfg->url);
    cfg->nurls = 0;
    for (char *p = list, *end; p; p = end ? end + 1 : NULL) {
        end = strchr(p, ',');
        if (end)
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '/'))
            p[--n] = '\0';
        if (!n) {
            snprintf(err, errsz, "an empty URL in the list \"%.200s\"", cfg->url);
            return -1;
        }
        if (cfg->nurls == CONFIG_URLS_MAX) {
            snprintf(err, errsz, "at most %d URLs of one market", CONFIG_URLS_MAX);
            return -1;
        }
        snprintf(cfg->urls[cfg->nurls++], sizeof cfg->urls[0], "%s", p);
    }
    snprintf(cfg->url, sizeof cfg->url, "%s", cfg->urls[0]);
    return 0;
}

int config_journal_path(const config *cfg, char *out, size_t size)
{
    if (cfg->journal_path[0]) {
        snprintf(out, size, "%s", cfg->journal_path);
        return 0;
    }
    const char *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");
    int n;
    if (x && *x == '/')
        n = snprintf(out, size, "%s/dealdesk/journal", x);
    else if (h && *h)
        n = snprintf(out, size, "%s/.local/state/dealdesk/journal", h);
    else
        return -1;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
