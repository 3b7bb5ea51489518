/* journal.c: the append-only, fsynced decision journal (see journal.h). */
#include "api/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct journal {
    int fd;
    char path[4096];
};

/* Creates every missing folder of path's parent (mode 0700). Returns 0 or -1. */
static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

journal *journal_open(const char *path, char *err, size_t errsz)
{
    if (strlen(path) >= sizeof((journal *)0)->path) {
        snprintf(err, errsz, "journal path too long");
        return NULL;
    }
    if (mkdirs(path) < 0) {
        snprintf(err, errsz, "cannot create the folders of %s: %s", path, strerror(errno));
        return NULL;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open the journal %s: %s", path, strerror(errno));
        return NULL;
    }
    /* A crash mid-write leaves a torn last line: end it, so that the next line is whole
     * (the torn one is then skipped as malformed). */
    off_t end = lseek(fd, 0, SEEK_END);
    char last = '\n';
    if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n' && write(fd, "\n", 1) != 1) {
        close(fd);
        snprintf(err, errsz, "cannot repair the journal %s: %s", path, strerror(errno));
        return NULL;
    }
    journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(fd);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    j->fd = fd;
    snprintf(j->path, sizeof j->path, "%s", path);
    return j;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free(j);
}

/* Writes one whole line (one write() on an O_APPEND file: lines never interleave) and
 * fsyncs. */
static int write_line(journal *j, const char *line, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(j->fd, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return fsync(j->fd);
}

/* FNV-1a of n bytes: the checksum that ends every line, so that a line torn by a crash
 * (and then ended by journal_open) is recognised and skipped. */
static uint32_t checksum(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Appends "\t<checksum>\n" to the n bytes of line (which has room for 11 more). */
static size_t seal(char *line, size_t n)
{
    uint32_t h = checksum(line, n);
    return n + (size_t)snprintf(line + n, 12, "\t%08x\n", h);
}

/* True when s holds no tab, CR or LF (fields must not break the line format). */
static bool field_ok(const char *s)
{
    return strpbrk(s, "\t\r\n") == NULL;
}

int journal_append(journal *j, const journal_entry *e)
{
    if (!field_ok(e->key) || !field_ok(e->action) || !field_ok(e->subject) || !field_ok(e->body)) {
        errno = EINVAL;
        return -1;
    }
    size_t need = strlen(e->body) + 256;
    char *line = malloc(need);
    if (!line)
        return -1;
    int n = snprintf(line, need - 12, "D\t%s\t%lld\t%s\t%s\t%lld\t%s", e->key, (long long)e->at_ms,
                     e->action, e->subject[0] ? e->subject : "-", (long long)e->version, e->body);
    int rc = n > 0 && (size_t)n < need - 12 ? write_line(j, line, seal(line, (size_t)n)) : -1;
    free(line);
    return rc;
}

/* Wall-clock ms. */
static int64_t now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int journal_settle(journal *j, const char *key, int http_status)
{
    if (!field_ok(key))
        return -1;
    char line[256];
    int n = snprintf(line, sizeof line - 12, "R\t%s\t%d\t%lld", key, http_status,
                     (long long)now_wall_ms());
    if (n < 0 || (size_t)n >= sizeof line - 12)
        return -1;
    return write_line(j, line, seal(line, (size_t)n));
}

void journal_entries_free(journal_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].body);
    free(e);
}

/* Splits line at tabs into at most max fields; returns how many. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t || n == max)
            break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

/* Parses a D line's fields into e (body duplicated). Returns 0 or -1. */
static int parse_d(char **f, journal_entry *e)
{
    memset(e, 0, sizeof *e);
    if (strlen(f[1]) > JOURNAL_KEY_MAX || strlen(f[3]) >= sizeof e->action ||
        strlen(f[4]) >= sizeof e->subject)
        return -1;
    char *end;
    e->at_ms = strtoll(f[2], &end, 10);
    if (*end)
        return -1;
    e->version = strtoll(f[5], &end, 10);
    if (*end)
        return -1;
    strcpy(e->key, f[1]);
    strcpy(e->action, f[3]);
    strcpy(e->subject, strcmp(f[4], "-") ? f[4] : "");
    e->body = strdup(f[6]);
    return e->body ? 0 : -1;
}

int journal_unsettled(journal *j, int64_t now_ms, journal_entry **out, size_t *n, size_t *bad)
{
    *out = NULL;
    *n = 0;
    size_t nbad = 0;
    FILE *f = fopen(j->path, "r");
    if (!f)
        return -1;
    journal_entry *v = NULL;
    size_t cap = 0, len = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t r;
    while ((r = getline(&line, &lcap, f)) > 0) {
        if (line[r - 1] != '\n') { /* a torn last line (crash mid-write): not an entry */
            nbad++;
            break;
        }
        line[r - 1] = '\0';
        if (r == 1)
            continue;
        char *tab = strrchr(line, '\t');
        char want[16];
        if (!tab || (snprintf(want, sizeof want, "%08x", checksum(line, (size_t)(tab - line))),
                     strcmp(tab + 1, want) != 0)) {
            nbad++; /* torn or edited */
            continue;
        }
        *tab = '\0';
        char *fld[7];
        size_t nf = split(line, fld, 7);
        if (nf == 7 && strcmp(fld[0], "D") == 0) {
            if (len == cap) {
                size_t nc = cap ? cap * 2 : 16;
                journal_entry *b = realloc(v, nc * sizeof *b);
                if (!b)
                    goto oom;
                v = b;
                cap = nc;
            }
            if (parse_d(fld, &v[len]) < 0) {
                nbad++;
                continue;
            }
            len++;
        } else if (nf == 4 && strcmp(fld[0], "R") == 0) {
            for (size_t i = 0; i < len; i++)
                if (strcmp(v[i].key, fld[1]) == 0) {
                    free(v[i].body);
                    memmove(&v[i], &v[i + 1], (len - i - 1) * sizeof *v);
                    len--;
                    break;
                }
        } else {
            nbad++;
        }
    }
    free(line);
    fclose(f);
    /* Too old to replay safely: settle as expired. */
    for (size_t i = 0; i < len;) {
        if (now_ms - v[i].at_ms > JOURNAL_REPLAY_WINDOW_MS) {
            journal_settle(j, v[i].key, 0);
            free(v[i].body);
            memmove(&v[i], &v[i + 1], (len - i - 1) * sizeof *v);
            len--;
        } else {
            i++;
        }
    }
    *out = v;
    *n = len;
    if (bad)
        *bad = nbad;
    return 0;
oom:
    free(line);
    fclose(f);
    journal_entries_free(v, len);
    return -1;
}

int journal_new_key(char *out, size_t size)
{
    unsigned char rnd[16];
    size_t got = 0;
    if (size < 36)
        return -1;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "dd_", 3);
    for (size_t i = 0; i < sizeof rnd; i++) {
        out[3 + 2 * i] = hex[rnd[i] >> 4];
        out[4 + 2 * i] = hex[rnd[i] & 15];
    }
    out[35] = '\0';
    return 0;
}
