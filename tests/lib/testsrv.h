/* testsrv.h: a real marketd for tests, and a small libcurl HTTP helper.
 *
 * testsrv_start() runs $MARKETD_BIN on a free loopback port with its own database and
 * tokens file in a fresh folder under $TEST_TMP, reads its "listening on" line to learn
 * the port and waits until /v1/health answers. Every test that needs a server uses it;
 * nothing here is a stand-in for marketd.
 *
 * The tokens file holds three operators: sup1 and sup2 (supervisors) and view1 (viewer),
 * with the secrets below.
 */
#ifndef DEALDESK_TESTS_TESTSRV_H
#define DEALDESK_TESTS_TESTSRV_H

#include <stddef.h>
#include <sys/types.h>

#define TESTSRV_TOKEN_SUP1  "s3cr3t-sup1-7f3a9c0e51d24b86"
#define TESTSRV_TOKEN_SUP2  "s3cr3t-sup2-2b6e81d4a0c95f37"
#define TESTSRV_TOKEN_VIEW1 "s3cr3t-view1-93c1e5a7d2f04b68"

typedef struct testsrv {
    pid_t pid;        /* marketd's pid, 0 when not running */
    int port;         /* its loopback port */
    char url[64];     /* "http://127.0.0.1:PORT" (no trailing slash) */
    char dir[512];    /* scratch folder (removed by testsrv_stop) */
    char db[600];     /* dir/market.db, or on the PostgreSQL run (MARKETD_ENGINE=postgresql,
                         tests/lib/pgtest.h) the URL of a database of its own */
    char tokens[600]; /* dir/tokens (mode 0600) */
    char args[512];   /* the extra arguments, kept for testsrv_restart */
    int guest;        /* on another server's database (testsrv_start_on): left to it */
} testsrv;

/* Starts marketd with --listen 127.0.0.1:0 --db <dir>/market.db --tokens <file> plus
 * extra_args (space separated, e.g. "--fleet 8 --seed 1"; NULL for none). Waits up to
 * 20 s for the listening line and /v1/health. Returns 0, or -1 (with a message on
 * stderr and nothing left running). marketd is killed if the thread that started it
 * exits (PR_SET_PDEATHSIG), so a failed test never leaves a server behind: start and
 * restart servers from a thread that outlives them (normally the main thread). */
int testsrv_start(testsrv *s, const char *extra_args);

/* Starts another marketd on the database and the tokens of first (running or not:
 * several instances serving one market, issue 18) with a folder and a port of its own,
 * as testsrv_start does. Stopping it leaves the database (first's). 0 or -1. */
int testsrv_start_on(testsrv *s, const testsrv *first, const char *extra_args);

/* testsrv_start_on listening on 127.0.0.1:port (0: a free one): an instance that takes
 * over a dead one's port, or one whose URL was given before it started. */
int testsrv_start_on_port(testsrv *s, const testsrv *first, int port, const char *extra_args);

/* A loopback port free at the moment of the call (for a server started later). */
int testsrv_free_port(void);

/* Kills marketd with SIGKILL and reaps it (a crash: nothing is flushed or closed). */
void testsrv_kill9(testsrv *s);

/* Starts marketd again on the same port, database and tokens (after testsrv_kill9 or
 * a stop without removal). Retries the bind for a few seconds. Returns 0 or -1. */
int testsrv_restart(testsrv *s);

/* Sends SIGTERM, waits up to 10 s (then SIGKILL), reaps it and removes the folder. */
void testsrv_stop(testsrv *s);

/* Like testsrv_stop but leaves the folder (and so the database) in place; returns
 * marketd's exit status (its wait status decoded: exit code, or 128+signal). */
int testsrv_terminate(testsrv *s);

/* Writes token alone on the first line of a fresh 0600 file in the server's folder
 * (for dealdesk --token-file) and returns its path (owned; free()), or NULL. */
char *testsrv_token_file(testsrv *s, const char *token);

/* One HTTP answer: body and headers are owned, NUL-terminated (possibly empty). */
typedef struct testhttp_resp {
    long status;
    char *body;
    char *headers; /* the raw response header block, "Name: value\r\n" lines */
} testhttp_resp;

/* Performs one request with libcurl (10 s timeout). token may be NULL (no
 * Authorization); headers is a NULL-terminated list of "Name: value" strings or NULL;
 * body may be NULL. Returns 0 when an HTTP answer arrived (whatever its status), -1 on
 * a transport failure (then out->status is 0). Safe to call from several threads. */
int testhttp(const char *method, const char *url, const char *token, const char *const *headers,
             const char *body, testhttp_resp *out);

/* Frees the body and headers and zeroes *r. */
void testhttp_resp_free(testhttp_resp *r);

/* Returns the value of response header name (case-insensitive) copied into out
 * (size bytes), or NULL when absent. */
char *testhttp_header(const testhttp_resp *r, const char *name, char *out, size_t size);

/* ---- conveniences on top of testhttp ---------------------------------------- */

/* Writes a fresh Idempotency-Key (unique in this process) into out[48]. */
void testsrv_key(char out[48]);

/* GET s->url + path with token (may be NULL). Returns like testhttp. */
int testsrv_get(testsrv *s, const char *token, const char *path, testhttp_resp *out);

/* POST body (NULL: empty) to s->url + path with token, a fresh Idempotency-Key and,
 * when version > 0, If-Match: "version". Returns like testhttp. */
int testsrv_post(testsrv *s, const char *token, const char *path, long long version,
                 const char *body, testhttp_resp *out);

/* The fleet's current version (GET /v1/fleet as sup1), for the If-Match of a halt or a
 * resume; 0 when it cannot be read (then the post goes without If-Match: 428). */
long long testsrv_fleet_version(testsrv *s);

/* A small market for tests: one seller with one listing, one buyer. */
typedef struct testsrv_market {
    char seller_id[72], buyer_id[72], listing_id[72];
    char seller_token[128], buyer_token[128];
} testsrv_market;

/* Registers (as sup1) a seller and a buyer in USD and lists "Trek FX 3 hybrid bike"
 * (category "bikes", 50000 minor units, quantity 1000, floor 30000). The buyer has
 * spend_cap_minor 100000000, per_deal_max_minor 10000000, max_quantity 100, the given
 * approval_threshold_minor, mandate ["bikes"] and the verified address
 * TESTSRV_ADDRESS. Returns 0 or -1. */
#define TESTSRV_ADDRESS "1 Main St, Springfield"
int testsrv_market_setup(testsrv *s, testsrv_market *t, long long approval_threshold_minor);

/* The buyer opens a negotiation on the listing at (price, qty) and the seller accepts
 * it: writes the purchase id into pur_id (72 bytes). Returns 0 or -1. */
int testsrv_market_purchase(testsrv *s, testsrv_market *t, long long price, long long qty,
                            char pur_id[72]);

/* Posts (as the seller) a fresh listing titled title in "bikes" at 50000 USD minor units
 * with quantity stock and floor 30000, keeps its id in t->listing_id, and makes a
 * purchase of qty on it at that price (testsrv_market_purchase). Returns 0 or -1. */
int testsrv_market_fresh_purchase(testsrv *s, testsrv_market *t, const char *title, long long stock,
                                  long long qty, char pur_id[72]);

/* Every item of the list at path ("/v1/listings", "/v1/listings?q=bike&sort=price") as
 * token reads it, page after page to the end, as a JSON array's text (owned), or NULL. */
char *testsrv_list(testsrv *s, const char *token, const char *path);

/* The whole state of the market as token reads it (owned JSON text; NULL when it cannot
 * be read): the snapshot, its working-set lists (listings, negotiations, purchases,
 * alerts, decisions, ledger.entries) replaced by every object of each list, paged to the
 * end, read again until no event came in between (a quiet market's truth). */
char *testsrv_state(testsrv *s, const char *token);

/* Replaces the database of s (marketd stopped: testsrv_terminate) with the one that the
 * SQL text in the file at path makes (an older marketd's database: tests/data/), mode
 * 0600. Returns 0 or -1. */
int testsrv_load_sql(testsrv *s, const char *path);

/* Runs SQL on the database of s (marketd stopped) whichever its engine: sqlite_sql on a
 * SQLite file, pg_sql on PostgreSQL. The rows it changed, or -1 (with a message). */
int testsrv_sql(testsrv *s, const char *sqlite_sql, const char *pg_sql);

/* The server's current event seq (GET /v1/health), or -1 while it does not answer. */
long long testsrv_seq(testsrv *s);

/* The value of the Prometheus metric name (a line "name value") in GET /metrics, or -1
 * when it is absent or the server does not answer. */
long long testsrv_metric(testsrv *s, const char *name);

/* ---- reading JSON answers ----------------------------------------------------- */

/* The value at a dotted path ("purchase.flags.0.rule": object keys and array
 * indexes) of a JSON text. testjson_int returns TESTJSON_NONE when it is absent or not
 * an integer; testjson_str copies a string (false when absent or not a string);
 * testjson_len gives an array's or object's size (-1 when absent); testjson_null is
 * true when the value is present and null. */
#define TESTJSON_NONE (-0x7fffffffffffffffLL - 1)
long long testjson_int(const char *json, const char *path);
int testjson_str(const char *json, const char *path, char *out, size_t size);
long long testjson_len(const char *json, const char *path);
int testjson_null(const char *json, const char *path);

#endif
