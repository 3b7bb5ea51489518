/* e2e.h: a small, real market for end-to-end tests of the console, and dealdesk in a pty.
 *
 * e2e_market_start() starts a real marketd (testsrv) and registers agents through the
 * API as the contract says (POST /v1/agents), then the tests trade through the agent
 * endpoints (listings, offers, accepts) so that every purchase, flag and alert on screen
 * was made by the real server. e2e_dealdesk() runs $DEALDESK_BIN in a vt against it.
 */
#ifndef DEALDESK_TESTS_E2E_H
#define DEALDESK_TESTS_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/testsrv.h"
#include "tests/lib/vt.h"

typedef struct e2e_agent {
    char id[65];
    char token[160];
} e2e_agent;

typedef struct e2e_market {
    testsrv srv;
    e2e_agent buyer;  /* mandate: bikes, books; max quantity 100; address "1 Main St" */
    e2e_agent seller; /* sells anything */
    char sup1_file[600], sup2_file[600], view_file[600]; /* token files */
} e2e_market;

/* Starts marketd (extra args, may be NULL) and registers buyer-e2e and seller-e2e.
 * Returns 0 or -1. */
int e2e_market_start(e2e_market *m, const char *args);
void e2e_market_stop(e2e_market *m);

/* cmocka group fixtures: e2e_group_setup starts one market (no extra arguments) for the
 * whole group and hands it to the tests as *state (returns 0, or -1 when it cannot);
 * e2e_group_teardown stops it. */
int e2e_group_setup(void **state);
int e2e_group_teardown(void **state);

/* Registers one more agent (role "buyer"/"seller", name may hold anything). */
int e2e_agent_new(e2e_market *m, const char *role, const char *name, size_t name_len,
                  e2e_agent *out);

/* Posts a listing as seller with the given raw title bytes (len bytes); writes its id.
 * Returns the HTTP status (201/200 ok), or -1. */
int e2e_listing(e2e_market *m, const e2e_agent *seller, const char *title, size_t title_len,
                const char *category, int64_t price_minor, int64_t qty, char *id_out);

/* Opens a negotiation as buyer on listing with an offer (text raw bytes); writes the
 * negotiation id. Returns the HTTP status or -1. */
int e2e_offer(e2e_market *m, const e2e_agent *buyer, const char *listing_id, int64_t price_minor,
              int64_t qty, const char *text, size_t text_len, char *neg_out);

/* The seller accepts the terms on the table; writes the purchase id (may be ""). */
int e2e_accept(e2e_market *m, const e2e_agent *seller, const char *neg_id, char *pur_out);

/* Listing + offer + accept in one: a purchase of qty at price (category decides flags:
 * "bikes" is in the buyer's mandate, "compute" is not). Returns 0 and the ids, or -1. */
int e2e_purchase(e2e_market *m, const char *title, const char *category, int64_t price_minor,
                 int64_t qty, char *pur_out, char *neg_out);

/* GETs /v1/purchases/ID as sup1 and copies the value of "status" (and "version"). */
int e2e_purchase_status(e2e_market *m, const char *pur_id, char *status, size_t size,
                        int64_t *version);

/* POSTs a supervisor decision as the operator with token (sup2 racing the console).
 * path like "/v1/purchases/pur_1/veto"; body JSON. Returns the HTTP status or -1. */
int e2e_decide(e2e_market *m, const char *token, const char *path, int64_t if_match,
               const char *body);

/* Sets the buyer's two_person_minor as sup1 (turning it on from off takes effect at once;
 * a change of a set limit waits for a second supervisor). Returns the HTTP status or -1. */
int e2e_set_two_person(e2e_market *m, int64_t minor);

/* Runs dealdesk against the market in a rows x cols pty with token_file and extra
 * arguments (NULL-terminated, may be NULL) and extra environment (may be NULL). */
vt *e2e_dealdesk(e2e_market *m, int rows, int cols, const char *token_file,
                 const char *const *extra_args, const char *const *env);

/* Like e2e_dealdesk, against url instead of the market's own (a faultproxy in front). */
vt *e2e_dealdesk_at(e2e_market *m, const char *url, int rows, int cols, const char *token_file,
                    const char *const *extra_args, const char *const *env);

/* Waits for text, and on failure dumps the screen to stderr. */
bool e2e_wait(vt *t, const char *needle, int timeout_ms);

/* Waits until the header names the operator and role ("sup1 · supervisor"): GET
 * /v1/whoami has answered, a request of its own that may land after the rows and the
 * live stream. Until then the console binds no decision to an operator and refuses it
 * ("not connected: nothing sent"), so a test waits for this before deciding. On failure
 * dumps the screen to stderr. */
bool e2e_wait_operator(vt *t, int timeout_ms);

/* Waits until one row of the screen holds every one of texts (NULL-terminated), so that
 * texts drawn in one row are asserted together, never half a row; on failure dumps the
 * screen to stderr. */
bool e2e_wait_row(vt *t, const char *const *texts, int timeout_ms);

/* Runs dealdesk (30 x 100, token_file, extra args or NULL) against the market, waits
 * for purchase pur and filters the list to it ("/" pur Enter) until its row shows, 15 s
 * each at most, and for the header to name the operator (e2e_wait_operator). Fails the
 * running cmocka test when it cannot. Returns the vt (owned). */
vt *e2e_console_on(e2e_market *m, const char *pur, const char *token_file, const char *const *args);

/* Quits the console ("q"), asserts that it exits with status 0 within 5 s and frees t. */
void e2e_quit(vt *t);

#endif
