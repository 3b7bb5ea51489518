/* audit_cli.c: dealdesk audit export FILE | verify FILE [--head HASH] (headless.h;
 * docs/api.md, "Audit").
 *
 * export writes the market's audit chain as JSON lines: a first line naming the head it
 * was taken at ({"audit_export":1,"head":{n,hash,at}}), then entries 1..n in chain order,
 * read page by page (GET /v1/audit?after=N), so that no more than a page is in memory.
 *
 * verify reads an export and checks, in order: every entry's own hash (its content),
 * its place (chain_n) and its link (prev_hash) to the entry before it, that the file
 * reaches its header's head; then that head against the market's (GET /v1/audit/head,
 * or the market's entry at that place when the market has grown since), or against a
 * head hash the user gives. It names the first entry changed, removed, reordered or
 * inserted. A chain rewritten and re-hashed from scratch is whole in itself but cannot
 * end at the market's head: the first entry that differs from the market's is found by
 * a binary search over the market's entries (a changed entry changes every hash after
 * it). Exit 0 with one line when whole, 1 with the finding, as the other commands.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/json_audit.h"
#include "api/text.h"
#include "tui/headless.h"

#define AUDIT_PAGE 1000

/* One GET of path, waited for (30 s; api/http.c, http_request_sync): 0 with the status
 * and body (owned), or -1 after the message (a transport error). */
static int get(const config *cfg, const char *path, long *status, char **body, size_t *len)
{
    char url[1400], err[256] = "";
    snprintf(url, sizeof url, "%s%s", cfg->url, path);
    if (http_request_sync("GET", url, cfg->token[0] ? cfg->token : NULL, NULL, 30000L, status, body,
                          len, err, sizeof err) == 0)
        return 0;
    char *e = text_sanitize_str(err[0] ? err : "no answer", cfg->mode, NULL, NULL);
    fprintf(stderr, "dealdesk: audit: GET %s: %s\n", path, e ? e : "?");
    free(e);
    return -1;
}

/* GET that must answer 200: 0, or -1 after the message. */
static int get_ok(const config *cfg, const char *path, char **body, size_t *len)
{
    long status = 0;
    if (get(cfg, path, &status, body, len) != 0)
        return -1;
    if (status == 200)
        return 0;
    char *b = text_sanitize_str(*body, cfg->mode, NULL, NULL);
    fprintf(stderr, "dealdesk: audit: GET %s: HTTP %ld %.200s\n", path, status, b ? b : "");
    free(b);
    free(*body);
    *body = NULL;
    return -1;
}

/* The market's head. 0, or -1 after the message. */
static int market_head(const config *cfg, audit_head *h)
{
    char *body;
    size_t len;
    if (get_ok(cfg, "/v1/audit/head", &body, &len) != 0)
        return -1;
    int rc = json_audit_head(body, len, h);
    free(body);
    if (rc != 0)
        fprintf(stderr, "dealdesk: audit: the market's head does not read\n");
    return rc;
}

/* ---- export ------------------------------------------------------------------ */

typedef struct export_walk {
    FILE *f;
    int64_t want, last; /* the head's n; the last entry written */
    bool bad;
} export_walk;

static int write_line(void *ud, const char *line, const audit_entry *e)
{
    export_walk *w = ud;
    if (w->last >= w->want)
        return 1; /* past the head the export was taken at */
    if (fprintf(w->f, "%s\n", line) < 0)
        w->bad = true;
    w->last = e->n > w->last ? e->n : w->last + 1;
    return 0;
}

/* Writes the chain 1..h->n into f, page by page. 0, or -1 after the message. */
static int export_pages(const config *cfg, const audit_head *h, FILE *f)
{
    export_walk w = {f, h->n, 0, false};
    while (w.last < w.want && !w.bad) {
        char path[96], *body;
        size_t len, count = 0;
        snprintf(path, sizeof path, "/v1/audit?after=%lld&limit=%d", (long long)w.last, AUDIT_PAGE);
        if (get_ok(cfg, path, &body, &len) != 0)
            return -1;
        int64_t before = w.last;
        int rc = json_audit_page(body, len, write_line, &w, &count);
        free(body);
        if (rc < 0 || (count == 0 && w.last == before)) {
            fprintf(stderr,
                    "dealdesk: audit export: the market's chain ends at entry %lld, "
                    "before its head %lld\n",
                    (long long)w.last, (long long)w.want);
            return -1;
        }
    }
    return w.bad ? -1 : 0;
}

int headless_audit_export(const config *cfg, const char *file)
{
    audit_head h;
    if (market_head(cfg, &h) != 0)
        return 1;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    char *header = json_audit_header(&h);
    FILE *f = header ? fopen(tmp, "w") : NULL;
    bool ok = f && fprintf(f, "%s\n", header) >= 0 && export_pages(cfg, &h, f) == 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, file) != 0)
        ok = false;
    free(header);
    if (!ok) {
        unlink(tmp);
        fprintf(stderr, "dealdesk: audit export: %s not written\n", file);
        return 1;
    }
    printf("exported %lld audit entries to %s (head %lld %.16s…)\n", (long long)h.n, file,
           (long long)h.n, h.n ? h.hash : "none");
    return 0;
}

/* ---- verify ------------------------------------------------------------------ */

/* One line of an export, checked (what the verdict needs of it, in binary). */
typedef struct rec {
    size_t line; /* its line in the file, from 1 (the header's) */
    int64_t n;   /* chain_n, 0 when not an entry */
    char id[24];
    unsigned char hash[32], prev[32];
    bool self_ok, has_hash, has_prev;
} rec;

typedef struct recs {
    audit_head header;
    rec *r;
    size_t n, cap;
} recs;

/* The value of a lower-case hex digit, or -1. */
static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 64 hex digits (or "") into 32 bytes: true when there were. */
static bool unhex(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64)
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* Appends line (len bytes) as a record. 0 or -1 (memory). */
static int rec_add(recs *s, const char *line, size_t len, size_t lineno)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        rec *nr = realloc(s->r, cap * sizeof *nr);
        if (!nr)
            return -1;
        s->r = nr;
        s->cap = cap;
    }
    rec *r = &s->r[s->n++];
    audit_entry e;
    *r = (rec){.line = lineno};
    if (json_audit_entry(line, len, &e) != 0)
        return 0; /* not an entry: n 0 */
    r->n = e.n;
    snprintf(r->id, sizeof r->id, "%.23s", e.id);
    r->self_ok = e.self_ok;
    r->has_hash = unhex(e.hash, r->hash);
    r->has_prev = unhex(e.prev_hash, r->prev);
    return 0;
}

/* Reads an export: its header into s->header and a record per entry line (an empty line
 * holds nothing and is passed over). 0; 1 with the verdict in out (no header); -1 after
 * the message (cannot read). */
static int read_export(const char *file, recs *s, char *out, size_t size)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "dealdesk: audit verify: cannot read %s\n", file);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    size_t lineno = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (lineno == 1 && json_audit_header_parse(line, (size_t)len, &s->header) != 0) {
            snprintf(out, size, "changed: line 1 is not the header of an audit export");
            rc = 1;
        } else if (lineno > 1 && len > 0 && rec_add(s, line, (size_t)len, lineno) != 0) {
            fprintf(stderr, "dealdesk: audit verify: out of memory\n");
            rc = -1;
        }
    }
    free(line);
    if (ferror(f) && rc == 0) {
        fprintf(stderr, "dealdesk: audit verify: cannot read %s\n", file);
        rc = -1;
    } else if (rc == 0 && lineno == 0) {
        snprintf(out, size, "changed: the file is empty, not an audit export");
        rc = 1;
    }
    fclose(f);
    return rc;
}

/* True when record r links to the entry before it, whose hash is prev. */
static bool links(const rec *r, const unsigned char prev[32])
{
    return r->has_prev && memcmp(r->prev, prev, 32) == 0;
}

/* The verdict on line i (entry k's place) holding a later entry: reordered when entry k
 * is further on, else removed. */
static void misplaced(const recs *s, size_t i, int64_t k, char *out, size_t size)
{
    for (size_t j = i + 1; j < s->n; j++)
        if (s->r[j].n == k) {
            snprintf(out, size, "reordered: entry %lld (%s) is at line %zu; its place is line %zu",
                     (long long)k, s->r[j].id, s->r[j].line, s->r[i].line);
            return;
        }
    snprintf(out, size, "removed: entry %lld (line %zu holds entry %lld, %s)", (long long)k,
             s->r[i].line, (long long)s->r[i].n, s->r[i].id);
}

/* The verdict on line i holding an entry before k, the one expected there: a line
 * inserted. When it is a second entry k - 1 and the entry after it links to it, the
 * line before it (taken as entry k - 1) is the one inserted; else this one. */
static void repeated(const recs *s, size_t i, int64_t k, char *out, size_t size)
{
    const rec *r = &s->r[i], *nx = i + 1 < s->n ? &s->r[i + 1] : NULL;
    if (r->n == k - 1 && i > 0 && r->self_ok && r->has_hash && nx && nx->n == k &&
        links(nx, r->hash))
        snprintf(out, size,
                 "inserted: line %zu (%s) before entry %lld (%s) at line %zu, which entry %lld "
                 "links to",
                 s->r[i - 1].line, s->r[i - 1].id, (long long)r->n, r->id, r->line, (long long)k);
    else
        snprintf(out, size, "inserted: line %zu repeats entry %lld (%s) after entry %lld", r->line,
                 (long long)r->n, r->id, (long long)(k - 1));
}

/* Checks the chain inside the export: each entry's hash, place and link, up to the
 * header's head. 0 when whole, 1 with the verdict in out. */
static int chain_check(const recs *s, char *out, size_t size)
{
    unsigned char prev[32] = {0}; /* the genesis: 64 zeros */
    int64_t k = 1;
    for (size_t i = 0; i < s->n; i++, k++) {
        const rec *r = &s->r[i];
        size_t line = r->line;
        if (k > s->header.n) {
            snprintf(out, size, "inserted: line %zu (%s) is past the export's head, entry %lld",
                     line, r->id, (long long)s->header.n);
            return 1;
        }
        if (r->n == 0) {
            snprintf(out, size, "inserted: line %zu, entry %lld's place, is not an audit entry",
                     line, (long long)k);
            return 1;
        }
        if (r->n > k) {
            misplaced(s, i, k, out, size);
            return 1;
        }
        if (r->n < k) {
            repeated(s, i, k, out, size);
            return 1;
        }
        if (!r->self_ok || !links(r, prev)) {
            const rec *nx = i + 1 < s->n ? &s->r[i + 1] : NULL;
            if (nx && nx->n == k && nx->self_ok && links(nx, prev))
                snprintf(out, size, "inserted: line %zu (%s) before entry %lld (%s)", line, r->id,
                         (long long)k, nx->id);
            else
                snprintf(out, size, "changed: entry %lld (%s) at line %zu: %s", (long long)k, r->id,
                         line,
                         !r->self_ok ? "its content does not match its hash"
                                     : "it does not link to the entry before it");
            return 1;
        }
        memcpy(prev, r->hash, 32);
    }
    if (k - 1 < s->header.n) {
        snprintf(out, size,
                 "removed: entry %lld and after (the export ends at entry %lld; its head is "
                 "entry %lld)",
                 (long long)k, (long long)(k - 1), (long long)s->header.n);
        return 1;
    }
    unsigned char head[32];
    if (s->header.n > 0 && (!unhex(s->header.hash, head) || memcmp(head, prev, 32) != 0)) {
        snprintf(out, size,
                 "changed: the export's header names a head its entry %lld does not "
                 "have",
                 (long long)s->header.n);
        return 1;
    }
    return 0;
}

/* The hash of the entry numbered want, taken from a page. */
typedef struct hash_of {
    int64_t want;
    char *out;
} hash_of;

static int take_hash(void *ud, const char *line, const audit_entry *e)
{
    (void)line;
    hash_of *h = ud;
    if (e->n == h->want)
        snprintf(h->out, 65, "%s", e->hash);
    return 0;
}

/* The market's hash of entry n into out[65]. 0, or -1 after the message. */
static int market_hash(const config *cfg, int64_t n, char out[65])
{
    char path[96], *body;
    size_t len, count;
    snprintf(path, sizeof path, "/v1/audit?after=%lld&limit=1", (long long)(n - 1));
    if (get_ok(cfg, path, &body, &len) != 0)
        return -1;
    hash_of h = {n, out};
    out[0] = '\0';
    int rc = json_audit_page(body, len, take_hash, &h, &count);
    free(body);
    if (rc != 0 || !out[0]) {
        fprintf(stderr, "dealdesk: audit verify: the market has no entry %lld\n", (long long)n);
        return -1;
    }
    return 0;
}

/* True when the export's entry k (record k - 1) has the hash hex. */
static bool same_hash(const recs *s, int64_t k, const char *hex)
{
    unsigned char h[32];
    return unhex(hex, h) && memcmp(h, s->r[k - 1].hash, 32) == 0;
}

/* The first entry of 1..hi whose hash differs from the market's, entry hi's being known
 * to differ: a binary search (a changed entry changes every hash after it). The entry,
 * or -1 after the message. */
static int64_t first_differing(const config *cfg, const recs *s, int64_t hi)
{
    int64_t lo = 1;
    char hex[65];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (market_hash(cfg, mid, hex) != 0)
            return -1;
        if (same_hash(s, mid, hex))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Checks the export's end (entry N) against the market. 0 with what it matched in ok,
 * 1 with the verdict in out, -1 after the message. */
static int against_market(const config *cfg, const recs *s, char *out, size_t size, char *ok,
                          size_t oksize)
{
    audit_head mh;
    int64_t n = s->header.n;
    if (market_head(cfg, &mh) != 0)
        return -1;
    int64_t upto = n < mh.n ? n : mh.n; /* the last place both have */
    char hex[65] = "";
    if (upto > 0 && upto < mh.n && market_hash(cfg, upto, hex) != 0)
        return -1;
    if (upto > 0 && upto == mh.n)
        snprintf(hex, sizeof hex, "%s", mh.hash);
    if (upto > 0 && !same_hash(s, upto, hex)) {
        int64_t k = first_differing(cfg, s, upto);
        if (k < 0)
            return -1;
        snprintf(out, size,
                 "changed: entry %lld (%s) at line %lld differs from the market's entry %lld "
                 "(changed, and the chain re-hashed after it)",
                 (long long)k, s->r[k - 1].id, (long long)s->r[k - 1].line, (long long)k);
        return 1;
    }
    if (n > mh.n) {
        snprintf(out, size,
                 "inserted: entries %lld to %lld (from line %lld) are not in the market's chain, "
                 "which ends at entry %lld",
                 (long long)(mh.n + 1), (long long)n, (long long)s->r[mh.n].line, (long long)mh.n);
        return 1;
    }
    if (n == mh.n)
        snprintf(ok, oksize, "the market's head");
    else
        snprintf(ok, oksize, "the market's entry %lld (its head is now entry %lld)", (long long)n,
                 (long long)mh.n);
    return 0;
}

/* Checks the export's end against a head hash the user gives. 0 or 1 (verdict in out). */
static int against_given(const recs *s, const char *given, char *out, size_t size)
{
    unsigned char h[32];
    if (unhex(given, h))
        for (size_t i = 0; i < s->n; i++)
            if (memcmp(s->r[i].hash, h, 32) == 0) {
                if ((int64_t)i + 1 == s->header.n)
                    return 0;
                snprintf(out, size,
                         "inserted: entries %zu to %lld (from line %zu) are past the head given "
                         "(entry %zu)",
                         i + 2, (long long)s->header.n, s->r[i + 1].line, i + 1);
                return 1;
            }
    snprintf(out, size,
             "changed: no entry of the export has the head given: entry %lld (%s) is not it (the "
             "export was changed and re-hashed, or is of another market)",
             (long long)s->header.n, s->n ? s->r[s->n - 1].id : "none");
    return 1;
}

int headless_audit_verify(const config *cfg, const char *file, const char *head)
{
    recs s = {0};
    char verdict[600] = "", ok[160] = "the head given";
    char *f = text_sanitize_str(file, cfg->mode, NULL, NULL);
    int rc = read_export(file, &s, verdict, sizeof verdict);
    if (rc == 0)
        rc = chain_check(&s, verdict, sizeof verdict);
    if (rc == 0 && head)
        rc = against_given(&s, head, verdict, sizeof verdict);
    else if (rc == 0)
        rc = against_market(cfg, &s, verdict, sizeof verdict, ok, sizeof ok);
    if (rc == 0)
        printf("ok: %s holds audit entries 1 to %lld whole; entry %lld (%.16s…) is %s\n",
               f ? f : "?", (long long)s.header.n, (long long)s.header.n,
               s.header.n ? s.header.hash : "none", ok);
    else if (rc == 1)
        printf("%s: %s\n", f ? f : "?", verdict);
    free(f);
    free(s.r);
    return rc == 0 ? 0 : 1;
}
