/* json_state.c: the whole state as one line of ASCII JSON for `dealdesk snapshot` (see
 * json.h, json_print_state): the snapshot's members, with each list of history read
 * whole from the server a page at a time and printed as it comes, so that only one page
 * is in memory whatever the market's size; a large document read a member and an element
 * at a time (jc_parse_lazy, jc_each: the snapshot, json_doc.c); and a page of threads
 * with the listings they name (a staged snapshot's backfill, api/client_backfill.c). */
#include "api/json.h"
#include "api/json_int.h"

#include <stdlib.h>
#include <string.h>

/* The lists printed whole, by their member in the snapshot (ledger entries are in the
 * ledger member) and their list endpoint. */
static const struct {
    const char *member;
    const char *path;
    model_kind kind;
} lists[] = {
    {"listings", "listings", MODEL_LISTING},    {"negotiations", "negotiations", MODEL_NEGOTIATION},
    {"purchases", "purchases", MODEL_PURCHASE}, {"alerts", "alerts", MODEL_ALERT},
    {"decisions", "decisions", MODEL_DECISION}, {"disputes", "disputes", MODEL_DISPUTE},
    {"entries", "ledger", MODEL_LEDGER}};
#define NLISTS (sizeof lists / sizeof lists[0])
#define LEDGER (NLISTS - 1)

typedef struct pstate {
    FILE *f;
    json_page_fn fetch;
    void *ud;
    text_mode mode;
    uint64_t *rejected;
    char *err;
    size_t errsz;
} pstate;

/* Prints the items of one page, comma-separated (first: none printed yet); the next
 * cursor into next ("" on the last page). Returns 0 or -1. */
static int print_page(pstate *ps, size_t li, const char *body, size_t len, bool *first, char *next,
                      size_t nextsz)
{
    jctx c = {.mode = ps->mode, .err = ps->err, .errsz = ps->errsz};
    json_t *root = jc_parse(body, len, &c);
    json_t *items = json_object_get(root, "items"), *nx = json_object_get(root, "next");
    int rc = -1;
    if (!json_is_array(items) || (nx && !json_is_null(nx) && !json_is_string(nx))) {
        snprintf(ps->err, ps->errsz, "%s: a page outside the contract", lists[li].path);
        goto done;
    }
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
    {
        model_event ev = {0};
        jctx one = {.mode = ps->mode};
        if (jc_decode(&one, lists[li].kind, o, &ev) < 0)
            (*ps->rejected)++; /* printed as the server sent it, and counted */
        model_event_free(&ev);
        if (!*first)
            fputc(',', ps->f);
        *first = false;
        if (jc_write_ascii(ps->f, o) < 0)
            goto done;
    }
    const char *n = json_is_string(nx) ? json_string_value(nx) : "";
    if (strlen(n) >= nextsz || (n[0] && json_array_size(items) == 0)) {
        snprintf(ps->err, ps->errsz, "%s: a cursor outside the contract", lists[li].path);
        goto done;
    }
    snprintf(next, nextsz, "%s", n);
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* Prints `[...]`: every object of a list, page by page. Returns 0 or -1. */
static int print_list(pstate *ps, size_t li)
{
    char after[512] = "", next[512];
    bool first = true;
    fputc('[', ps->f);
    for (;;) {
        char *body = NULL;
        size_t len = 0;
        if (ps->fetch(ps->ud, lists[li].path, after, &body, &len, ps->err, ps->errsz) < 0)
            return -1;
        int rc = print_page(ps, li, body, len, &first, next, sizeof next);
        free(body);
        if (rc < 0)
            return -1;
        if (!next[0])
            break;
        if (strcmp(next, after) == 0) { /* a server that does not move on */
            snprintf(ps->err, ps->errsz, "%s: the cursor did not move", lists[li].path);
            return -1;
        }
        snprintf(after, sizeof after, "%s", next);
    }
    fputc(']', ps->f);
    return ferror(ps->f) ? -1 : 0;
}

/* The list a member of (the snapshot, or its ledger: in_ledger) stands for, or -1. */
static long list_of(const char *key, bool in_ledger)
{
    if (in_ledger)
        return strcmp(key, "entries") == 0 ? (long)LEDGER : -1;
    for (size_t i = 0; i < LEDGER; i++)
        if (strcmp(key, lists[i].member) == 0)
            return (long)i;
    return -1;
}

/* Prints an object's members, each list read whole in place of the snapshot's, then the
 * lists it lacks. Returns 0 or -1. */
static int print_members(pstate *ps, json_t *obj, bool in_ledger)
{
    bool seen[NLISTS] = {false}, first = true;
    const char *key;
    json_t *v;
    fputc('{', ps->f);
    json_object_foreach(obj, key, v)
    {
        json_t *k = json_string(key);
        if (!k)
            return -1;
        if (!first)
            fputc(',', ps->f);
        first = false;
        int rc = jc_write_ascii(ps->f, k);
        json_decref(k);
        fputc(':', ps->f);
        long li = list_of(key, in_ledger);
        if (rc == 0 && li >= 0) {
            seen[li] = true;
            rc = print_list(ps, (size_t)li);
        } else if (rc == 0 && !in_ledger && strcmp(key, "ledger") == 0) {
            seen[LEDGER] = true;
            rc = json_is_object(v) ? print_members(ps, v, true) : jc_write_ascii(ps->f, v);
        } else if (rc == 0) {
            rc = jc_write_ascii(ps->f, v);
        }
        if (rc < 0)
            return -1;
    }
    for (size_t i = in_ledger ? LEDGER : 0; i < NLISTS; i++) {
        if (seen[i])
            continue;
        bool wrap = i == LEDGER && !in_ledger; /* no ledger member at all */
        fprintf(ps->f, "%s\"%s\":%s", first ? "" : ",", wrap ? "ledger" : lists[i].member,
                wrap ? "{\"entries\":" : "");
        first = false;
        if (print_list(ps, i) < 0)
            return -1;
        if (wrap)
            fputc('}', ps->f);
    }
    fputc('}', ps->f);
    return 0;
}

int json_print_state(FILE *f, const char *snap, size_t len, text_mode mode, json_page_fn fetch,
                     void *ud, uint64_t *rejected, char *err, size_t errsz)
{
    jctx c = {.mode = mode, .err = err, .errsz = errsz};
    json_t *root = jc_parse(snap, len, &c);
    if (!json_is_object(root)) {
        if (root)
            snprintf(err, errsz, "the snapshot is not a JSON object");
        json_decref(root);
        return -1;
    }
    pstate ps = {f, fetch, ud, mode, rejected, err, errsz};
    int rc = print_members(&ps, root, false);
    json_decref(root);
    if (rc == 0)
        fputc('\n', f);
    return rc == 0 && !ferror(f) ? 0 : -1;
}

/* ---- a large document a member at a time (json_int.h) -------------------------------- */

#define LAZY_FLAGS                                                                                 \
    (JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

static size_t skip_ws(const char *s, size_t len, size_t p)
{
    while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r'))
        p++;
    return p;
}

/* The end (one past its ']') of the array at s[p], found by its brackets outside strings,
 * or 0. What lies inside is checked when its elements are parsed (jc_each). */
static size_t array_end(const char *s, size_t len, size_t p)
{
    int depth = 0;
    for (; p < len; p++) {
        if (s[p] == '"') {
            for (p++; p < len && s[p] != '"'; p++)
                p += s[p] == '\\';
            if (p >= len)
                return 0;
        } else if (s[p] == '[' || s[p] == '{') {
            depth++;
        } else if ((s[p] == ']' || s[p] == '}') && --depth == 0) {
            return p + 1;
        }
    }
    return 0;
}

/* One value at s[*p] parsed (*p moved past it), or NULL with the error recorded. */
static json_t *value_at(const char *s, size_t len, size_t *p, jctx *c)
{
    json_error_t je;
    json_t *v = json_loadb(s + *p, len - *p, LAZY_FLAGS, &je);
    if (!v)
        jc_fail(c, "not JSON: %s (line %d)", je.text, je.line);
    else
        *p += je.position;
    return v;
}

/* The index in lazy of key (klen bytes), or -1. */
static long lazy_of(const char *key, size_t klen, const char *const *lazy, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(lazy[i]) == klen && memcmp(lazy[i], key, klen) == 0)
            return (long)i;
    return -1;
}

/* Reads one member at s[*p] into root, or as text when it is lazy. 0 or -1. */
static int member_at(const char *s, size_t len, size_t *p, jctx *c, json_t *root,
                     const char *const *lazy, size_t n, const char **text, size_t *tlen)
{
    json_t *k = value_at(s, len, p, c);
    int rc = -1;
    if (!k || !json_is_string(k)) {
        if (k)
            jc_fail(c, "not JSON: a key expected");
        goto done;
    }
    const char *key = json_string_value(k);
    size_t klen = json_string_length(k);
    long li = lazy_of(key, klen, lazy, n);
    *p = skip_ws(s, len, *p);
    if (*p >= len || s[*p] != ':') {
        jc_fail(c, "not JSON: ':' expected");
        goto done;
    }
    *p = skip_ws(s, len, *p + 1);
    if (json_object_getn(root, key, klen) || (li >= 0 && text[li])) {
        jc_fail(c, "not JSON: duplicate object key");
        goto done;
    }
    if (li >= 0 && *p < len && s[*p] == '[') {
        size_t e = array_end(s, len, *p);
        if (!e) {
            jc_fail(c, "not JSON: an array without its end");
            goto done;
        }
        text[li] = s + *p;
        tlen[li] = e - *p;
        *p = e;
    } else {
        json_t *v = value_at(s, len, p, c);
        if (!v || json_object_setn_new(root, key, klen, v) < 0)
            goto done;
    }
    rc = 0;
done:
    json_decref(k);
    return rc;
}

json_t *jc_parse_lazy(const char *s, size_t len, jctx *c, const char *const *lazy, size_t n,
                      const char **text, size_t *tlen)
{
    for (size_t i = 0; i < n; i++) {
        text[i] = NULL;
        tlen[i] = 0;
    }
    size_t p = skip_ws(s, len, 0);
    if (p >= len || s[p] != '{')
        return jc_parse(s, len, c); /* not an object: as a whole (the caller refuses it) */
    json_t *root = json_object();
    if (!root) {
        jc_fail(c, "out of memory");
        return NULL;
    }
    p = skip_ws(s, len, p + 1);
    if (p < len && s[p] == '}') {
        p++;
    } else {
        for (;;) {
            if (member_at(s, len, &p, c, root, lazy, n, text, tlen) < 0)
                goto bad;
            p = skip_ws(s, len, p);
            if (p < len && s[p] == '}') {
                p++;
                break;
            }
            if (p >= len || s[p] != ',') {
                jc_fail(c, "not JSON: ',' or '}' expected");
                goto bad;
            }
            p = skip_ws(s, len, p + 1);
        }
    }
    if (skip_ws(s, len, p) == len)
        return root;
    jc_fail(c, "not JSON: the end of the text expected");
bad:
    json_decref(root);
    for (size_t i = 0; i < n; i++)
        text[i] = NULL;
    return NULL;
}

int jc_each(const char *s, size_t len, jctx *c, int (*fn)(void *ud, json_t *o, size_t i), void *ud)
{
    size_t p = skip_ws(s, len, 0);
    if (p >= len || s[p] != '[')
        return jc_fail(c, "not JSON: an array expected");
    p = skip_ws(s, len, p + 1);
    if (p < len && s[p] == ']')
        return skip_ws(s, len, p + 1) == len ? 0 : jc_fail(c, "not JSON: after the array");
    for (size_t i = 0;; i++) {
        json_t *o = value_at(s, len, &p, c);
        if (!o)
            return -1;
        int rc = fn(ud, o, i);
        json_decref(o);
        if (rc < 0)
            return -1;
        p = skip_ws(s, len, p);
        if (p < len && s[p] == ']')
            return skip_ws(s, len, p + 1) == len ? 0 : jc_fail(c, "not JSON: after the array");
        if (p >= len || s[p] != ',')
            return jc_fail(c, "not JSON: ',' or ']' expected");
        p = skip_ws(s, len, p + 1);
    }
}

/* ---- a page of threads with their listings (json.h) ----------------------------------- */

static const char *const page_arrays[] = {"items", "listings"};

json_result json_page_next(const char *body, size_t len, char *next, size_t nextsz)
{
    jctx c = {0};
    const char *text[2];
    size_t tlen[2];
    next[0] = '\0';
    json_t *root = jc_parse_lazy(body, len, &c, page_arrays, 2, text, tlen);
    json_t *nx = json_object_get(root, "next");
    json_result r = JSON_BAD;
    if (json_is_object(root) && text[0] && (!nx || json_is_null(nx))) {
        r = JSON_OK;
    } else if (json_is_object(root) && text[0] && json_is_string(nx) &&
               jc_cursor_ok(json_string_value(nx), nextsz)) {
        snprintf(next, nextsz, "%s", json_string_value(nx));
        r = JSON_OK;
    }
    json_decref(root);
    return r;
}

/* Rows of one kind decoded from an array's elements (jc_each's fn). */
typedef struct rows {
    text_mode mode;
    model_kind kind;
    model_event *ev;
    size_t n, cap;
    uint64_t *rejected;
} rows;

static int add_row(void *ud, json_t *o, size_t i)
{
    rows *r = ud;
    (void)i;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        model_event *ev = realloc(r->ev, cap * sizeof *ev);
        if (!ev)
            return -1;
        r->ev = ev;
        r->cap = cap;
    }
    jctx one = {.mode = r->mode};
    memset(&r->ev[r->n], 0, sizeof r->ev[r->n]);
    if (jc_decode(&one, r->kind, o, &r->ev[r->n]) < 0) { /* it freed what it decoded */
        memset(&r->ev[r->n], 0, sizeof r->ev[r->n]);
        (*r->rejected)++;
        return 0;
    }
    r->n++;
    return 0;
}

json_result json_decode_threads_page(const char *body, size_t len, text_mode mode,
                                     model_event **threads, size_t *nthreads,
                                     model_event **listings, size_t *nlistings, uint64_t *rejected)
{
    jctx c = {.mode = mode};
    const char *text[2];
    size_t tlen[2];
    rows r[2] = {{mode, MODEL_NEGOTIATION, NULL, 0, 0, rejected},
                 {mode, MODEL_LISTING, NULL, 0, 0, rejected}};
    json_t *root = jc_parse_lazy(body, len, &c, page_arrays, 2, text, tlen);
    json_result res = json_is_object(root) && text[0] ? JSON_OK : JSON_BAD;
    for (int i = 0; i < 2 && res == JSON_OK; i++)
        if (text[i] && jc_each(text[i], tlen[i], &c, add_row, &r[i]) < 0)
            res = c.failed ? JSON_BAD : JSON_NOMEM;
    json_decref(root);
    *threads = r[0].ev;
    *nthreads = r[0].n;
    *listings = r[1].ev;
    *nlistings = r[1].n;
    return res;
}
