/* json_audit.h: the audit chain as the console reads it (docs/api.md, "Audit"): the
 * answers of GET /v1/audit/head and GET /v1/audit, and the lines of an export
 * (`dealdesk audit export|verify`, tui/audit_cli.c), each entry checked against its own
 * hash: SHA-256 of its canonical JSON (api/json_canon.h) without the hash field, the
 * same computation as marketd's (marketd/audit.c).
 */
#ifndef DEALDESK_API_JSON_AUDIT_H
#define DEALDESK_API_JSON_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the first line of an export says: {"audit_export": 1, "head": {n, hash, at}}. */
#define AUDIT_EXPORT_VERSION 1
/* The prev_hash of the first entry. */
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* A head: the chain's length and its last entry's hash (n 0, hash "" when empty). */
typedef struct audit_head {
    int64_t n;
    char hash[65];
    char at[32];
} audit_head;

/* One entry of the chain, checked. */
typedef struct audit_entry {
    int64_t n;          /* chain_n; 0 when absent or not a positive integer */
    char id[72];        /* its id when it is a valid one ("dec_12", "led_3"), else "?" */
    char prev_hash[65]; /* as carried ("" when absent or not 64 hex digits) */
    char hash[65];      /* as carried (likewise) */
    bool self_ok;       /* hash is the hash of the entry's content */
} audit_entry;

/* Reads {n, hash, at} (an answer of GET /v1/audit/head, or an export's "head"). 0, or
 * -1 when it is not one. */
int json_audit_head(const char *text, size_t len, audit_head *h);

/* Checks one entry (a JSON object, as exported or served) into *e. 0, or -1 when the
 * text is not a JSON object. */
int json_audit_entry(const char *text, size_t len, audit_entry *e);

/* Walks a page of GET /v1/audit ({items, next}): fn gets each item as one line of
 * compact JSON (without a newline) and its checked form, in order; a non-zero return
 * stops the walk and is returned. *count is how many items the page held. 0, the
 * non-zero of fn, or -1 when the page is not one. */
int json_audit_page(const char *text, size_t len,
                    int (*fn)(void *ud, const char *line, const audit_entry *e), void *ud,
                    size_t *count);

/* The first line of an export of the chain up to head h (owned, without a newline), or
 * NULL. */
char *json_audit_header(const audit_head *h);
/* Reads an export's first line into *h. 0, or -1 when it is not one. */
int json_audit_header_parse(const char *text, size_t len, audit_head *h);

#endif
