/* journal.c: the append-only, fsynced decision journal (see journal.h). */
#include "api/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <libgen.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/clock.h"

struct journal {
    int fd;
    int lockfd;  /* path.lock, flocked shared while open (compaction takes it exclusively) */
    int livefd;  /* path.live.<sid>, flocked exclusively while this session runs (-1 none) */
    char sid[9]; /* this session's id, in its keys ("" when it could not be made) */
    char path[4096];
};

/* The file that says session sid is running (flocked by it). */
static void live_path(const journal *j, const char *sid, char *out, size_t size)
{
    snprintf(out, size, "%s.live.%s", j->path, sid);
}

/* Starts this process's session: a fresh id and its flocked live file, so that other
 * processes can tell its unsettled entries (in flight, not left behind) from those of a
 * session that ended (journal_key_live). Best effort: without it keys carry no session. */
static void session_start(journal *j)
{
    char key[40], lp[4300];
    j->livefd = -1;
    if (journal_new_key(key, sizeof key) < 0)
        return;
    memcpy(j->sid, key + 3, 8);
    j->sid[8] = '\0';
    live_path(j, j->sid, lp, sizeof lp);
    int fd = open(lp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (fd >= 0) {
            unlink(lp);
            close(fd);
        }
        j->sid[0] = '\0';
        return;
    }
    j->livefd = fd;
}

/* Removes every path.live.* file: called with the lock held exclusively, when no session
 * runs (each holds the lock shared), so they are all left by processes that died. */
static void sweep_live_files(const char *path)
{
    char dir[4096], base[4096], prefix[4200];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(base, sizeof base, "%s", path);
    snprintf(prefix, sizeof prefix, "%s.live.", basename(base));
    DIR *d = opendir(dirname(dir));
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            unlinkat(dfd, e->d_name, 0);
    closedir(d);
}

/* Takes the journal's lock file: exclusively when no other process has the journal open
 * (then compacts it and sweeps the live files of sessions that died), and in every case
 * ends holding it shared, so that no one compacts (renames) the file under an open
 * descriptor. Returns the lock fd, or -1. */
static int lock_and_compact(const char *path)
{
    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s.lock", path);
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        journal_compact_file(path, clock_wall_ms()); /* best effort: the old file stays */
        sweep_live_files(path);
    }
    while (flock(fd, LOCK_SH) < 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

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
    int lockfd = lock_and_compact(path);
    if (lockfd < 0) {
        snprintf(err, errsz, "cannot lock the journal %s: %s", path, strerror(errno));
        return NULL;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open the journal %s: %s", path, strerror(errno));
        close(lockfd);
        return NULL;
    }
    /* A crash mid-write leaves a torn last line: end it, so that the next line is whole
     * (the torn one is then skipped as malformed). */
    off_t end = lseek(fd, 0, SEEK_END);
    char last = '\n';
    if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n' && write(fd, "\n", 1) != 1) {
        close(fd);
        close(lockfd);
        snprintf(err, errsz, "cannot repair the journal %s: %s", path, strerror(errno));
        return NULL;
    }
    journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(fd);
        close(lockfd);
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    j->fd = fd;
    j->lockfd = lockfd;
    snprintf(j->path, sizeof j->path, "%s", path);
    session_start(j);
    return j;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    if (j->livefd >= 0) {
        char lp[4300];
        live_path(j, j->sid, lp, sizeof lp);
        unlink(lp);
        close(j->livefd);
    }
    close(j->fd);
    close(j->lockfd);
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
    if (!field_ok(e->key) || !field_ok(e->action) || !field_ok(e->subject) || !field_ok(e->epoch) ||
        !field_ok(e->operator_name) || !field_ok(e->body) || !e->epoch[0] || !e->operator_name[0] ||
        !strcmp(e->epoch, "-") || !strcmp(e->operator_name, "-")) {
        errno = EINVAL; /* an entry is always bound to a market and an operator */
        return -1;
    }
    size_t need = strlen(e->body) + 400;
    char *line = malloc(need);
    if (!line)
        return -1;
    int n = snprintf(line, need - 12, "D\t%s\t%lld\t%s\t%s\t%lld\t%s\t%s\t%s", e->key,
                     (long long)e->at_ms, e->action, e->subject[0] ? e->subject : "-",
                     (long long)e->version, e->epoch, e->operator_name, e->body);
    int rc = n > 0 && (size_t)n < need - 12 ? write_line(j, line, seal(line, (size_t)n)) : -1;
    free(line);
    return rc;
}

int journal_settle(journal *j, const char *key, int http_status)
{
    if (!field_ok(key))
        return -1;
    char line[256];
    int n = snprintf(line, sizeof line - 12, "R\t%s\t%d\t%lld", key, http_status,
                     (long long)clock_wall_ms());
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

/* Copies a bound field ("-" in the file: none) into out. Returns 0 or -1 (too long). */
static int copy_field(const char *f, char *out, size_t size)
{
    if (strlen(f) >= size)
        return -1;
    strcpy(out, strcmp(f, "-") ? f : "");
    return 0;
}

/* Parses a D line's fields (nf 9, or 7 for lines of older versions: unbound) into e
 * (body duplicated). Returns 0 or -1. */
static int parse_d(char **f, size_t nf, journal_entry *e)
{
    memset(e, 0, sizeof *e);
    if (strlen(f[1]) > JOURNAL_KEY_MAX || strlen(f[3]) >= sizeof e->action)
        return -1;
    char *end;
    e->at_ms = strtoll(f[2], &end, 10);
    if (*end)
        return -1;
    e->version = strtoll(f[5], &end, 10);
    if (*end)
        return -1;
    if (copy_field(f[4], e->subject, sizeof e->subject) < 0)
        return -1;
    if (nf == 9 && (copy_field(f[6], e->epoch, sizeof e->epoch) < 0 ||
                    copy_field(f[7], e->operator_name, sizeof e->operator_name) < 0))
        return -1;
    strcpy(e->key, f[1]);
    strcpy(e->action, f[3]);
    e->body = strdup(f[nf - 1]);
    return e->body ? 0 : -1;
}

/* Checks a line (its newline removed) against its checksum, then splits it at tabs into
 * at most 9 fields (the checksum cut off). Returns the number of fields, 0 when the line
 * is torn or edited. */
static size_t check_split(char *line, char **f)
{
    char *tab = strrchr(line, '\t');
    char want[16];
    if (!tab)
        return 0;
    snprintf(want, sizeof want, "%08x", checksum(line, (size_t)(tab - line)));
    if (strcmp(tab + 1, want) != 0)
        return 0;
    *tab = '\0';
    return split(line, f, 9);
}

/* True for a D line's field count (9 now, 7 in older versions). */
static bool is_d(char **f, size_t nf)
{
    return (nf == 9 || nf == 7) && strcmp(f[0], "D") == 0;
}

/* True for a T line: "T <key> <session> <ms>" (the session took the entry over). */
static bool is_take_over(char **f, size_t nf)
{
    return nf == 4 && strcmp(f[0], "T") == 0 && strlen(f[2]) == 8 &&
           strspn(f[2], "0123456789abcdef") == 8;
}

/* Removes v[i] (its body freed). */
static void entry_remove(journal_entry *v, size_t *len, size_t i)
{
    free(v[i].body);
    memmove(&v[i], &v[i + 1], (*len - i - 1) * sizeof *v);
    (*len)--;
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
        char *fld[9];
        size_t nf = check_split(line, fld);
        if (is_d(fld, nf)) {
            if (len == cap) {
                size_t nc = cap ? cap * 2 : 16;
                journal_entry *b = realloc(v, nc * sizeof *b);
                if (!b)
                    goto oom;
                v = b;
                cap = nc;
            }
            if (parse_d(fld, nf, &v[len]) < 0) {
                nbad++;
                continue;
            }
            len++;
        } else if (nf == 4 && strcmp(fld[0], "R") == 0) {
            for (size_t i = 0; i < len; i++)
                if (strcmp(v[i].key, fld[1]) == 0) {
                    entry_remove(v, &len, i);
                    break;
                }
        } else if (is_take_over(fld, nf)) {
            for (size_t i = 0; i < len; i++)
                if (strcmp(v[i].key, fld[1]) == 0)
                    snprintf(v[i].taken_by, sizeof v[i].taken_by, "%s", fld[2]);
        } else {
            nbad++; /* torn, edited or unknown */
        }
    }
    free(line);
    fclose(f);
    /* Too old to re-send safely: settle as expired. */
    for (size_t i = 0; i < len;) {
        if (now_ms - v[i].at_ms > JOURNAL_REPLAY_WINDOW_MS) {
            journal_settle(j, v[i].key, JOURNAL_EXPIRED);
            entry_remove(v, &len, i);
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

/* One line of a journal being compacted. */
typedef struct cline {
    char *text; /* the whole line with its newline (owned) */
    char kind;  /* 'D', 'R', or 0 when malformed */
    char key[JOURNAL_KEY_MAX + 1];
    int64_t at_ms; /* D: when journaled */
    bool settled;  /* D: an R line follows */
    bool keep;
} cline;

/* Reads the lines of path into *out (owned). Returns the count, or -1. */
static long read_lines(FILE *f, cline **out)
{
    cline *v = NULL;
    size_t cap = 0, len = 0;
    char *line = NULL, *copy;
    size_t lcap = 0;
    ssize_t r;
    while ((r = getline(&line, &lcap, f)) > 0) {
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            cline *b = realloc(v, cap * sizeof *b);
            if (!b)
                goto oom;
            v = b;
        }
        cline *c = &v[len];
        memset(c, 0, sizeof *c);
        if (!(c->text = strdup(line)))
            goto oom;
        len++;
        if (line[r - 1] != '\n' || !(copy = strdup(line)))
            continue; /* torn: dropped */
        copy[r - 1] = '\0';
        char *fld[9];
        size_t nf = check_split(copy, fld);
        if ((is_d(fld, nf) || (nf == 4 && !strcmp(fld[0], "R")) || is_take_over(fld, nf)) &&
            strlen(fld[1]) <= JOURNAL_KEY_MAX) {
            c->kind = fld[0][0];
            strcpy(c->key, fld[1]);
            c->at_ms = c->kind == 'D' ? strtoll(fld[2], NULL, 10) : 0;
        }
        free(copy);
    }
    free(line);
    *out = v;
    return (long)len;
oom:
    free(line);
    for (size_t i = 0; i < len; i++)
        free(v[i].text);
    free(v);
    return -1;
}

/* Writes the kept lines to tmp, fsyncs, renames it over path and fsyncs the folder. */
static int write_compacted(const char *path, const cline *v, long n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.compact", path);
    /* A file left by a crash mid-compaction is not reused (its mode could be anything). */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(v[i].text), off = 0;
        while (v[i].keep && off < len) {
            ssize_t w = write(fd, v[i].text + off, len - off);
            if (w < 0 && errno != EINTR) {
                rc = -1;
                break;
            }
            off += w > 0 ? (size_t)w : 0;
        }
    }
    if (rc == 0)
        rc = fsync(fd);
    close(fd);
    if (rc == 0)
        rc = rename(tmp, path);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

long journal_compact_file(const char *path, int64_t now_ms)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    cline *v = NULL;
    long n = read_lines(f, &v);
    fclose(f);
    if (n < 0)
        return -1;
    /* Settled D lines (and their R and T lines) older than the window go, with malformed
     * lines and R and T lines whose entry is gone; unsettled entries always stay. */
    for (long i = 0; i < n; i++)
        if (v[i].kind == 'R')
            for (long k = 0; k < i; k++)
                if (v[k].kind == 'D' && !strcmp(v[k].key, v[i].key))
                    v[k].settled = true;
    long dropped = 0;
    for (long i = 0; i < n; i++) {
        if (v[i].kind == 'D')
            v[i].keep = !v[i].settled || now_ms - v[i].at_ms <= JOURNAL_IDEMPOTENCY_WINDOW_MS;
        for (long k = 0; (v[i].kind == 'R' || v[i].kind == 'T') && k < i; k++)
            if (v[k].kind == 'D' && v[k].keep && !strcmp(v[k].key, v[i].key))
                v[i].keep = true;
        dropped += !v[i].keep;
    }
    long rc = dropped && write_compacted(path, v, n) < 0 ? -1 : dropped;
    for (long i = 0; i < n; i++)
        free(v[i].text);
    free(v);
    return rc;
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

int journal_session_key(journal *j, char *out, size_t size)
{
    char rnd[40];
    if (!j->sid[0])
        return journal_new_key(out, size);
    if (size < 37 || journal_new_key(rnd, sizeof rnd) < 0)
        return -1;
    snprintf(out, size, "dd_%s_%.24s", j->sid, rnd + 3);
    return 0;
}

/* True when session sid (8 hex digits) is running: this one, or another process's. */
static bool session_live(journal *j, const char *sid)
{
    char lp[4300];
    if (strlen(sid) != 8 || strspn(sid, "0123456789abcdef") != 8)
        return false;
    if (!strcmp(sid, j->sid))
        return true;
    live_path(j, sid, lp, sizeof lp);
    int fd = open(lp, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    bool live = flock(fd, LOCK_EX | LOCK_NB) < 0;
    if (!live)
        unlink(lp); /* its session ended without closing (a crash): tidy up */
    close(fd);
    return live;
}

bool journal_key_live(journal *j, const char *key)
{
    char sid[9];
    if (strncmp(key, "dd_", 3) != 0 || strlen(key) < 13 || key[11] != '_')
        return false; /* a key without a session (older versions, tests) */
    memcpy(sid, key + 3, 8);
    sid[8] = '\0';
    return session_live(j, sid);
}

bool journal_entry_live(journal *j, const journal_entry *e)
{
    return e->taken_by[0] ? session_live(j, e->taken_by) : journal_key_live(j, e->key);
}

int journal_take_over(journal *j, const char *key)
{
    if (!j->sid[0] || !field_ok(key)) {
        errno = EINVAL; /* this session has no id to record */
        return -1;
    }
    char line[256];
    int n = snprintf(line, sizeof line - 12, "T\t%s\t%s\t%lld", key, j->sid,
                     (long long)clock_wall_ms());
    if (n < 0 || (size_t)n >= sizeof line - 12)
        return -1;
    return write_line(j, line, seal(line, (size_t)n));
}
