/*
 * ossl_hmac.c - HMAC-SHA-1 / HMAC-SHA-256 over libcrypto's SHA block code.
 *
 * libcrypto 3.0's EVP digest and EVP_MAC paths allocate on every re-init
 * (EVP_DigestInit_ex, EVP_MD_CTX_copy_ex and EVP_MAC_init(NULL key) all
 * reach the provider's newctx/dupctx: measured with CRYPTO_set_mem_functions).
 * The SHA*_CTX structures are plain values: the K^ipad and K^opad states
 * are computed once per SA and copied by assignment per packet.  These calls
 * are marked deprecated in 3.0 (still supported and asm accelerated), hence
 * the suppression, confined to this file.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "ossl_hmac.h"
#include "crypto.h"
#include "crypto_kat.h"

#include <openssl/opensslconf.h>
#include <string.h>

#ifdef OPENSSL_NO_DEPRECATED_3_0
#error "libcrypto built without the SHA*_Init API (no-deprecated): HMAC needs it"
#endif

#define HMAC_BLOCK 64 /* SHA-1 and SHA-256 block size (RFC 2104 §2, B = 64) */

int sl_hmac_init(sl_hmac_t *h, int md, const uint8_t *key, size_t key_len)
{
	uint8_t k[HMAC_BLOCK];
	uint8_t pad[HMAC_BLOCK];

	memset(h, 0, sizeof(*h));
	if (md != 1 && md != 256)
		return -1;
	h->md = md;

	/* RFC 2104 §2: keys longer than B are hashed first, shorter ones zero padded. */
	memset(k, 0, sizeof(k));
	if (key_len > HMAC_BLOCK) {
		if (md == 1)
			SHA1(key, key_len, k);
		else
			SHA256(key, key_len, k);
	} else if (key_len > 0) {
		memcpy(k, key, key_len);
	}

	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = (uint8_t)(k[i] ^ 0x36);
	if (md == 1) {
		SHA1_Init(&h->st.sha1.in);
		SHA1_Update(&h->st.sha1.in, pad, HMAC_BLOCK);
	} else {
		SHA256_Init(&h->st.sha256.in);
		SHA256_Update(&h->st.sha256.in, pad, HMAC_BLOCK);
	}
	for (size_t i = 0; i < HMAC_BLOCK; i++)
		pad[i] = (uint8_t)(k[i] ^ 0x5c);
	if (md == 1) {
		SHA1_Init(&h->st.sha1.out);
		SHA1_Update(&h->st.sha1.out, pad, HMAC_BLOCK);
	} else {
		SHA256_Init(&h->st.sha256.out);
		SHA256_Update(&h->st.sha256.out, pad, HMAC_BLOCK);
	}
	sl_wipe(k, sizeof(k));
	sl_wipe(pad, sizeof(pad));
	return 0;
}

size_t sl_hmac_len(const sl_hmac_t *h)
{
	return h->md == 1 ? SHA_DIGEST_LENGTH : SHA256_DIGEST_LENGTH;
}

void sl_hmac_mac2(const sl_hmac_t *h, const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen, uint8_t *mac)
{
	uint8_t inner[SL_HMAC_MAX_LEN];

	if (h->md == 1) {
		SHA_CTX w = h->st.sha1.in;
		SHA1_Update(&w, a, alen);
		if (blen > 0)
			SHA1_Update(&w, b, blen);
		SHA1_Final(inner, &w);
		w = h->st.sha1.out;
		SHA1_Update(&w, inner, SHA_DIGEST_LENGTH);
		SHA1_Final(mac, &w);
		sl_wipe(&w, sizeof(w));
	} else {
		SHA256_CTX w = h->st.sha256.in;
		SHA256_Update(&w, a, alen);
		if (blen > 0)
			SHA256_Update(&w, b, blen);
		SHA256_Final(inner, &w);
		w = h->st.sha256.out;
		SHA256_Update(&w, inner, SHA256_DIGEST_LENGTH);
		SHA256_Final(mac, &w);
		sl_wipe(&w, sizeof(w));
	}
	sl_wipe(inner, sizeof(inner));
}

int sl_hmac_oneshot(int md, const uint8_t *key, size_t key_len, const uint8_t *data,
		    size_t data_len, uint8_t *mac, size_t mac_len)
{
	sl_hmac_t h;
	uint8_t full[SL_HMAC_MAX_LEN];

	if (sl_hmac_init(&h, md, key, key_len) != 0 || mac_len > sl_hmac_len(&h))
		return SL_CRYPTO_EINVAL;
	sl_hmac_mac2(&h, data, data_len, NULL, 0, full);
	memcpy(mac, full, mac_len);
	sl_wipe(&h, sizeof(h));
	sl_wipe(full, sizeof(full));
	return SL_CRYPTO_OK;
}
