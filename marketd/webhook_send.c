/* webhook_send.c: one webhook POST with libcurl (the only file of marketd that links it:
 * tools/check-layers.sh), signed as Stripe signs its webhooks:
 *
 *   Dealdesk-Event-Id:  the event's id (a receiver drops a repeat: delivery is at least
 *                       once)
 *   Dealdesk-Signature: t=TIMESTAMP,v1=HEX, HEX the HMAC-SHA256 under the secret of
 *                       "TIMESTAMP.BODY" (TIMESTAMP: Unix seconds when sent), so that a
 *                       receiver checks the body and refuses an old replay
 *
 * Any 2xx answer is a delivery; anything else (no answer in 10 s, a refused connection,
 * another status) a failure, retried by marketd/webhook.c. Redirects are not followed.
 */
#include "marketd/mkt.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEND_TIMEOUT_MS    10000
#define CONNECT_TIMEOUT_MS 2000

int webhook_send_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* Discards the receiver's answer. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Writes the signature header for body at time ts into out (size bytes). 0 or -1. */
static int signature(const char *body, const char *secret, size_t secretlen, long long ts,
                     char *out, size_t size)
{
    size_t blen = strlen(body);
    char *signed_text = malloc(blen + 32), hex[65];
    if (!signed_text)
        return -1;
    int n = snprintf(signed_text, 32, "%lld.", ts);
    memcpy(signed_text + n, body, blen);
    int rc = mkt_hmac_sha256_hex(secret, secretlen, signed_text, (size_t)n + blen, hex);
    free(signed_text);
    if (rc == 0)
        snprintf(out, size, "Dealdesk-Signature: t=%lld,v1=%s", ts, hex);
    return rc;
}

int webhook_send(const char *url, const char *event_id, const char *body, const char *secret,
                 size_t secretlen)
{
    char sig[160], idh[160];
    if (!url || !event_id || !body ||
        signature(body, secret, secretlen, (long long)time(NULL), sig, sizeof sig) != 0)
        return -1;
    snprintf(idh, sizeof idh, "Dealdesk-Event-Id: %s", event_id);
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    struct curl_slist *hd = NULL;
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, idh);
    hd = curl_slist_append(hd, sig);
    hd = curl_slist_append(hd, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)SEND_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "marketd-webhook/1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return rc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}
