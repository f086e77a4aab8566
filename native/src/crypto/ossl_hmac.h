/*
 * ossl_hmac.h - HMAC (RFC 2104) with the pad states computed once per key,
 * so a packet costs no allocation and two fewer compression blocks.
 */
#ifndef SL_OSSL_HMAC_H
#define SL_OSSL_HMAC_H

#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

#define SL_HMAC_MAX_LEN 32

typedef struct sl_hmac {
	int md; /* 1: SHA-1, 256: SHA-256 */
	union {
		struct { SHA_CTX in, out; } sha1;
		struct { SHA256_CTX in, out; } sha256;
	} st; /* hash states after absorbing K^ipad / K^opad: key-equivalent, wiped on free */
} sl_hmac_t;

/* md: 1 or 256.  Returns 0, or -1 for an unknown md. */
int sl_hmac_init(sl_hmac_t *h, int md, const uint8_t *key, size_t key_len);
/* Full-length MAC over a then b (b may be NULL/0) into mac[SL_HMAC_MAX_LEN]. */
void sl_hmac_mac2(const sl_hmac_t *h, const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen, uint8_t *mac);
size_t sl_hmac_len(const sl_hmac_t *h);

#endif
