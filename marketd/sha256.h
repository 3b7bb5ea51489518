/* sha256.h: SHA-256 (FIPS 180-4), for hashing agent tokens and request fingerprints. */
#ifndef DEALDESK_MARKETD_SHA256_H
#define DEALDESK_MARKETD_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t buf[64];
    size_t buflen;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);

/* Hashes len bytes and writes 64 lower-case hex digits and a NUL into hex. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
