/* e2e.c: the market builder and dealdesk launcher of e2e.h. */
#include "tests/lib/e2e.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

/* A fresh Idempotency-Key header. */
static void idem_header(char *out, size_t size)
{
    static unsigned counter;
    snprintf(out, size, "Idempotency-Key: e2e-%d-%u-%ld", (int)getpid(), ++counter, (long)rand());
}

/* POSTs JSON; returns status and the parsed body (owned, may be NULL). */
static int post(e2e_market *m, const char *token, const char *path, const char *if_match,
                json_t *body, json_t **out)
{
    char url[256], idem[96], ifm[64];
    snprintf(url, sizeof url, "%s%s", m->srv.url, path);
    idem_header(idem, sizeof idem);
    const char *headers[4] = {idem, "Content-Type: application/json", NULL, NULL};
    if (if_match) {
        snprintf(ifm, sizeof ifm, "If-Match: \"%s\"", if_match);
        headers[2] = ifm;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return -1;
    testhttp_resp r;
    int rc = testhttp("POST", url, token, headers, text, &r);
    free(text);
    if (rc < 0)
        return -1;
    if (out)
        *out = json_loads(r.body ? r.body : "", 0, NULL);
    int status = (int)r.status;
    testhttp_resp_free(&r);
    return status;
}

/* Copies a string member of a JSON object into out. */
static void get_str(json_t *obj, const char *key, char *out, size_t size)
{
    const char *s = json_string_value(json_object_get(obj, key));
    snprintf(out, size, "%s", s ? s : "");
}

/* Registers an agent; see e2e.h. */
int e2e_agent_new(e2e_market *m, const char *role, const char *name, size_t name_len,
                  e2e_agent *out)
{
    bool buyer = strcmp(role, "buyer") == 0;
    json_t *body =
        json_pack("{s:o, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I}, s:{s:[s,s]}, s:[s]}", "name",
                  json_stringn_nocheck(name, name_len), "principal",
                  buyer ? "Sam Buyer" : "Shop Ltd", "role", role, "currency", "USD", "limits",
                  "spend_cap_minor", (json_int_t)5000000, "per_deal_max_minor", (json_int_t)500000,
                  "approval_threshold_minor", (json_int_t)100, "max_quantity", (json_int_t)100,
                  "mandate", "categories", "bikes", "books", "addresses", "1 Main St");
    json_t *res = NULL;
    int st = post(m, TESTSRV_TOKEN_SUP1, "/v1/agents", NULL, body, &res);
    json_decref(body);
    if (st != 201 && st != 200) {
        json_decref(res);
        return -1;
    }
    get_str(json_object_get(res, "agent"), "id", out->id, sizeof out->id);
    get_str(res, "token", out->token, sizeof out->token);
    json_decref(res);
    return out->id[0] && out->token[0] ? 0 : -1;
}

/* Starts the market; see e2e.h. */
int e2e_market_start(e2e_market *m, const char *args)
{
    memset(m, 0, sizeof *m);
    if (testsrv_start(&m->srv, args) < 0)
        return -1;
    if (e2e_agent_new(m, "buyer", "buyer-e2e", 9, &m->buyer) < 0 ||
        e2e_agent_new(m, "seller", "seller-e2e", 10, &m->seller) < 0) {
        testsrv_stop(&m->srv);
        return -1;
    }
    char *f;
    if ((f = testsrv_token_file(&m->srv, TESTSRV_TOKEN_SUP1)))
        snprintf(m->sup1_file, sizeof m->sup1_file, "%s", f), free(f);
    if ((f = testsrv_token_file(&m->srv, TESTSRV_TOKEN_SUP2)))
        snprintf(m->sup2_file, sizeof m->sup2_file, "%s", f), free(f);
    if ((f = testsrv_token_file(&m->srv, TESTSRV_TOKEN_VIEW1)))
        snprintf(m->view_file, sizeof m->view_file, "%s", f), free(f);
    return 0;
}

void e2e_market_stop(e2e_market *m)
{
    testsrv_stop(&m->srv);
}

/* Starts the group's market (a static one) and hands it over as *state. */
int e2e_group_setup(void **state)
{
    static e2e_market m;
    if (e2e_market_start(&m, NULL) < 0)
        return -1;
    *state = &m;
    return 0;
}

/* Stops the group's market. */
int e2e_group_teardown(void **state)
{
    e2e_market_stop(*state);
    return 0;
}

/* Posts a listing. */
int e2e_listing(e2e_market *m, const e2e_agent *seller, const char *title, size_t title_len,
                const char *category, int64_t price_minor, int64_t qty, char *id_out)
{
    json_t *body =
        json_pack("{s:o, s:s, s:s, s:I, s:s, s:I}", "title", json_stringn_nocheck(title, title_len),
                  "description", "An item for the end-to-end tests.", "category", category,
                  "unit_price_minor", (json_int_t)price_minor, "currency", "USD", "quantity",
                  (json_int_t)qty);
    json_t *res = NULL;
    int st = post(m, seller->token, "/v1/listings", NULL, body, &res);
    json_decref(body);
    if (id_out)
        get_str(res, "id", id_out, 65);
    json_decref(res);
    return st;
}

/* Opens a negotiation. */
int e2e_offer(e2e_market *m, const e2e_agent *buyer, const char *listing_id, int64_t price_minor,
              int64_t qty, const char *text, size_t text_len, char *neg_out)
{
    json_t *body = json_pack("{s:s, s:I, s:I, s:o}", "listing_id", listing_id, "unit_price_minor",
                             (json_int_t)price_minor, "quantity", (json_int_t)qty, "text",
                             json_stringn_nocheck(text, text_len));
    json_t *res = NULL;
    int st = post(m, buyer->token, "/v1/negotiations", NULL, body, &res);
    json_decref(body);
    if (neg_out)
        get_str(json_object_get(res, "negotiation"), "id", neg_out, 65);
    json_decref(res);
    return st;
}

/* Accepts the terms on the table, as agent `seller` (the party that did not make them). */
int e2e_accept(e2e_market *m, const e2e_agent *seller, const char *neg_id, char *pur_out)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg_id);
    json_t *body = json_pack("{s:s, s:s}", "kind", "accept", "text", "Deal.");
    json_t *res = NULL;
    int st = post(m, seller->token, path, NULL, body, &res);
    json_decref(body);
    if (pur_out)
        get_str(json_object_get(res, "purchase"), "id", pur_out, 65);
    json_decref(res);
    return st;
}

/* A whole purchase. */
int e2e_purchase(e2e_market *m, const char *title, const char *category, int64_t price_minor,
                 int64_t qty, char *pur_out, char *neg_out)
{
    char lst[65] = "", neg[65] = "";
    int st = e2e_listing(m, &m->seller, title, strlen(title), category, price_minor, qty + 10, lst);
    if ((st != 200 && st != 201) || !lst[0])
        return -1;
    st = e2e_offer(m, &m->buyer, lst, price_minor, qty, "Would you take this?", 20, neg);
    if ((st != 200 && st != 201) || !neg[0])
        return -1;
    st = e2e_accept(m, &m->seller, neg, pur_out);
    if (neg_out)
        snprintf(neg_out, 65, "%s", neg);
    return (st == 200 || st == 201) && pur_out[0] ? 0 : -1;
}

/* Reads a purchase's status. */
int e2e_purchase_status(e2e_market *m, const char *pur_id, char *status, size_t size,
                        int64_t *version)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/purchases/%s", m->srv.url, pur_id);
    testhttp_resp r;
    if (testhttp("GET", url, TESTSRV_TOKEN_SUP1, NULL, NULL, &r) < 0)
        return -1;
    json_t *o = json_loads(r.body ? r.body : "", 0, NULL);
    testhttp_resp_free(&r);
    if (!o)
        return -1;
    get_str(o, "status", status, size);
    if (version)
        *version = (int64_t)json_integer_value(json_object_get(o, "version"));
    json_decref(o);
    return 0;
}

/* A supervisor decision over HTTP. */
int e2e_decide(e2e_market *m, const char *token, const char *path, int64_t if_match,
               const char *body)
{
    json_t *b = json_loads(body, 0, NULL);
    if (!b)
        return -1;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)if_match);
    int st = post(m, token, path, if_match > 0 ? v : NULL, b, NULL);
    json_decref(b);
    return st;
}

/* Sets the buyer's two_person_minor; see e2e.h. */
int e2e_set_two_person(e2e_market *m, int64_t minor)
{
    char path[160], body[64];
    snprintf(path, sizeof path, "/v1/agents/%s", m->buyer.id);
    testhttp_resp r;
    if (testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r) != 0)
        return -1;
    long long v = r.status == 200 ? testjson_int(r.body, "version") : 0;
    testhttp_resp_free(&r);
    if (v <= 0)
        return -1;
    strncat(path, "/limits", sizeof path - strlen(path) - 1);
    snprintf(body, sizeof body, "{\"two_person_minor\":%lld}", (long long)minor);
    return e2e_decide(m, TESTSRV_TOKEN_SUP1, path, v, body);
}

/* Runs dealdesk in a pty. */
vt *e2e_dealdesk(e2e_market *m, int rows, int cols, const char *token_file,
                 const char *const *extra_args, const char *const *env)
{
    return e2e_dealdesk_at(m, m->srv.url, rows, cols, token_file, extra_args, env);
}

/* Runs dealdesk in a pty against url. */
vt *e2e_dealdesk_at(e2e_market *m, const char *url, int rows, int cols, const char *token_file,
                    const char *const *extra_args, const char *const *env)
{
    (void)m;
    const char *bin = getenv("DEALDESK_BIN");
    if (!bin)
        return NULL;
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    argv[n++] = "--url";
    argv[n++] = url;
    argv[n++] = "--token-file";
    argv[n++] = token_file;
    for (size_t i = 0; extra_args && extra_args[i] && n < 30; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    const char *envs[24];
    size_t k = 0;
    envs[k++] = "LANG=C.UTF-8";
    envs[k++] = "LC_ALL=C.UTF-8";
    envs[k++] = "DEALDESK_TOKEN=";
    envs[k++] = "DEALDESK_URL=";
    envs[k++] = "NO_COLOR=";
    for (size_t i = 0; env && env[i] && k < 23; i++)
        envs[k++] = env[i];
    envs[k] = NULL;
    return vt_spawn(rows, cols, argv, envs);
}

/* Waits for text, dumping the screen on failure. */
bool e2e_wait(vt *t, const char *needle, int timeout_ms)
{
    if (vt_wait_text(t, needle, timeout_ms))
        return true;
    char label[160];
    snprintf(label, sizeof label, "screen while waiting for '%s'", needle);
    vt_dump(t, label);
    return false;
}

/* The texts one row must hold (NULL-terminated). */
typedef struct row_texts {
    const char *const *texts;
} row_texts;

/* True when one row of the screen holds every text of ud (a row_texts). */
static bool one_row_holds(vt *t, void *ud)
{
    const char *const *texts = ((const row_texts *)ud)->texts;
    int rows, cols;
    vt_size(t, &rows, &cols);
    for (int r = 0; r < rows; r++) {
        char row[4096];
        vt_row(t, r, row, sizeof row);
        int i = 0;
        while (texts[i] && strstr(row, texts[i]))
            i++;
        if (!texts[i])
            return true;
    }
    return false;
}

bool e2e_wait_row(vt *t, const char *const *texts, int timeout_ms)
{
    row_texts w = {texts};
    if (vt_wait(t, one_row_holds, &w, timeout_ms))
        return true;
    fprintf(stderr, "no row ever held all of:");
    for (int i = 0; texts[i]; i++)
        fprintf(stderr, " '%s'", texts[i]);
    fprintf(stderr, "\n");
    vt_dump(t, "screen");
    return false;
}

/* True when the header names the operator and role: GET /v1/whoami has answered. */
static bool operator_known(vt *t, void *ud)
{
    (void)ud;
    char row[2048];
    vt_row(t, 0, row, sizeof row);
    return strstr(row, "\xc2\xb7 supervisor") || strstr(row, "\xc2\xb7 viewer");
}

bool e2e_wait_operator(vt *t, int timeout_ms)
{
    if (vt_wait(t, operator_known, NULL, timeout_ms))
        return true;
    vt_dump(t, "screen while waiting for the header to name the operator");
    return false;
}

/* Starts a console with only pur on screen (filtered to it). */
vt *e2e_console_on(e2e_market *m, const char *pur, const char *token_file, const char *const *args)
{
    vt *t = e2e_dealdesk(m, 30, 100, token_file, args, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, 15000));
    vt_send(t, "/");
    vt_send(t, pur);
    vt_send(t, "\r");
    char want[80];
    snprintf(want, sizeof want, "%s v", pur);
    assert_true(e2e_wait(t, want, 15000));
    assert_true(e2e_wait_operator(t, 15000)); /* ready to decide: bound to its operator */
    return t;
}

void e2e_quit(vt *t)
{
    vt_send(t, "q");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
}
