/* sha256.h: SHA-256 (FIPS 180-4) in plain C, for the console's check of the audit chain
 * (api/json_audit.c): api/ links no crypto library (tools/check-layers.sh); marketd
 * hashes with OpenSSL (marketd/crypto.c), and tests/unit/test_json_canon.c checks that
 * the two agree.
 */
#ifndef DEALDESK_API_SHA256_H
#define DEALDESK_API_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    unsigned char buf[64];
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* SHA-256 of data as 64 lower-case hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
