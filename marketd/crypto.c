/* crypto.c: SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto (a kept library, not code
 * of our own). The hashes are the standard ones, byte for byte what marketd's own
 * SHA-256 gave before it: the agent tokens stored as their hash stay valid
 * (tests/integration/test_marketd_webhooks.c, test_token_stored_before_still_works). */
#include "marketd/mkt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

/* Writes n bytes as lower-case hex and a NUL into hex. */
static void to_hex(const unsigned char *d, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int mkt_sha256(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(x, a, alen) == 1 && (!blen || EVP_DigestUpdate(x, b, blen) == 1) &&
             EVP_DigestFinal_ex(x, out, &n) == 1 && n == 32;
    EVP_MD_CTX_free(x);
    return ok ? 0 : -1;
}

void mkt_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[32];
    if (mkt_sha256(data, len, NULL, 0, d) != 0) {
        hex[0] = '\0'; /* matches no stored hash */
        return;
    }
    to_hex(d, 32, hex);
}

int mkt_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, d, &n) || n != 32)
        return -1;
    to_hex(d, 32, hex);
    return 0;
}
