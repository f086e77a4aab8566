/*
 * ossl_cbc.c - AES-CBC / 3DES-CBC with HMAC, encrypt-then-MAC as ESP does
 * it (RFC 4303 §3.3.2, §3.4.4), on libcrypto.
 *
 * ICV = HMAC(SPI | Seq low | IV | ciphertext [| Seq high]) truncated
 * (RFC 2404 §2: 96 bits of SHA-1; RFC 4868 §2.1.1: 128 bits of SHA-256).
 * With ESN the high half is appended to the MAC input only, never sent
 * (RFC 4303 §3.3.2.1).
 */
#include "crypto_internal.h"
#include "ossl_hmac.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	sl_hmac_t hmac; /* first: the key copies live here (keymat) */
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
} ossl_cbc_t;

static const EVP_CIPHER *cipher_for(const sl_crypto_t *c)
{
	switch (c->info->alg) {
	case SL_ALG_AES_CBC_HMAC_SHA1_96:
	case SL_ALG_AES_CBC_HMAC_SHA256_128:
		return c->enc_key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	case SL_ALG_3DES_CBC_HMAC_SHA1_96:
		return EVP_des_ede3_cbc();
	default:
		return NULL;
	}
}

static EVP_CIPHER_CTX *keyed_ctx(const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (x == NULL)
		return NULL;
	if (EVP_CipherInit_ex(x, cipher, NULL, key, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(x, 0) != 1) { /* ESP pads itself (RFC 4303 §2.4) */
		EVP_CIPHER_CTX_free(x);
		return NULL;
	}
	return x;
}

static void cbc_fini(sl_crypto_t *c)
{
	ossl_cbc_t *s = c->be;

	/* EVP_CIPHER_CTX_free cleanses the key schedule (OPENSSL_clear_free). */
	EVP_CIPHER_CTX_free(s->enc);
	EVP_CIPHER_CTX_free(s->dec);
	s->enc = s->dec = NULL;
	sl_wipe(&s->hmac, sizeof(s->hmac));
}

static int cbc_init(sl_crypto_t *c, const sl_crypto_params_t *p, char *err, size_t errlen)
{
	const EVP_CIPHER *cipher = cipher_for(c);
	if (cipher == NULL) {
		sl_crypto_seterr(err, errlen, "openssl: not a CBC transform");
		return SL_CRYPTO_ENOTSUP;
	}
	ossl_cbc_t *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		sl_crypto_seterr(err, errlen, "out of memory");
		return SL_CRYPTO_EIO;
	}
	c->be = s;
	c->be_size = sizeof(*s);

	int md = c->info->alg == SL_ALG_AES_CBC_HMAC_SHA256_128 ? 256 : 1;
	if (sl_hmac_init(&s->hmac, md, p->auth_key, p->auth_key_len) != 0) {
		sl_crypto_seterr(err, errlen, "openssl: HMAC set-up failed");
		return SL_CRYPTO_EIO;
	}
	/* Only the direction the context is for (params.use): each keyed
	 * EVP_CIPHER_CTX holds a key schedule of its own. */
	if (sl_crypto_seals(c))
		s->enc = keyed_ctx(cipher, p->enc_key, 1);
	if (sl_crypto_opens(c))
		s->dec = keyed_ctx(cipher, p->enc_key, 0);
	if ((sl_crypto_seals(c) && s->enc == NULL) || (sl_crypto_opens(c) && s->dec == NULL)) {
		sl_crypto_seterr(err, errlen, "openssl: cipher set-up failed");
		return SL_CRYPTO_EIO;
	}
	snprintf(c->driver, sizeof(c->driver), "openssl");
	return SL_CRYPTO_OK;
}

static void compute_icv(const sl_crypto_t *c, const ossl_cbc_t *s, const uint8_t *pkt,
			size_t len, uint32_t seq_hi, uint8_t *mac)
{
	uint8_t hi[4];
	size_t covered = SL_ESP_HDR_LEN + c->info->iv_len + len;

	sl_put_be32(hi, seq_hi);
	sl_hmac_mac2(&s->hmac, pkt, covered, c->esn ? hi : NULL, c->esn ? sizeof(hi) : 0, mac);
}

static int run_cipher(EVP_CIPHER_CTX *x, const uint8_t *iv, uint8_t *data, size_t len)
{
	int outl = 0;

	if (EVP_CipherInit_ex(x, NULL, NULL, NULL, iv, -1) != 1)
		return SL_CRYPTO_EIO;
	/* In place: libcrypto's CBC handles in == out. */
	if (EVP_CipherUpdate(x, data, &outl, data, (int)len) != 1 || (size_t)outl != len)
		return SL_CRYPTO_EIO;
	return SL_CRYPTO_OK;
}

static int cbc_seal(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	ossl_cbc_t *s = c->be;
	uint8_t *iv = pkt + SL_ESP_HDR_LEN;
	uint8_t *payload = iv + c->info->iv_len;
	uint8_t mac[SL_HMAC_MAX_LEN];

	int rc = run_cipher(s->enc, iv, payload, len);
	if (rc != SL_CRYPTO_OK)
		return rc;
	compute_icv(c, s, pkt, len, seq_hi, mac);
	memcpy(payload + len, mac, c->info->icv_len);
	sl_wipe(mac, sizeof(mac));
	return SL_CRYPTO_OK;
}

static int cbc_open(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	ossl_cbc_t *s = c->be;
	uint8_t *iv = pkt + SL_ESP_HDR_LEN;
	uint8_t *payload = iv + c->info->iv_len;
	uint8_t mac[SL_HMAC_MAX_LEN];

	/* Check before decrypting (RFC 4303 §3.4.4.1): nothing unauthenticated
	 * reaches the cipher, which also shuts out padding-oracle games. */
	compute_icv(c, s, pkt, len, seq_hi, mac);
	int bad = sl_ct_memcmp(mac, payload + len, c->info->icv_len);
	sl_wipe(mac, sizeof(mac));
	if (bad)
		return SL_CRYPTO_EAUTH;
	return run_cipher(s->dec, iv, payload, len);
}

static void cbc_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n)
{
	const ossl_cbc_t *s = c->be;

	*p = (const uint8_t *)&s->hmac;
	*n = sizeof(s->hmac);
}

const sl_backend_ops_t sl_ossl_cbc_ops = {
	.name = "openssl",
	.init = cbc_init,
	.seal = cbc_seal,
	.open = cbc_open,
	.fini = cbc_fini,
	.keymat = cbc_keymat,
};
