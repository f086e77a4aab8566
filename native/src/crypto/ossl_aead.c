/*
 * ossl_aead.c - AES-GCM (RFC 4106) on libcrypto's AEAD.  (ChaCha20-Poly1305
 * is composed in ossl_chacha.c: libcrypto's AEAD is slower for it.)
 *
 * nonce = salt (4, from the end of the key material) | IV (8) (RFC 4106 §4);
 * AAD = SPI | Seq low, or SPI | Seq high | Seq low with ESN (RFC 4106 §5);
 * the 16-byte tag is the ICV.
 */
#include "crypto_internal.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16

typedef struct {
	uint8_t salt[SL_AEAD_SALT_LEN]; /* first: our only key copy (keymat) */
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
} ossl_aead_t;
_Static_assert(offsetof(ossl_aead_t, salt) == 0, "sl_aead_state_new and sl_salt_keymat: the salt first");

static const EVP_CIPHER *cipher_for(const sl_crypto_t *c)
{
	if (c->info->alg == SL_ALG_AES_GCM_16)
		return c->enc_key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	return NULL;
}

static EVP_CIPHER_CTX *keyed_ctx(const EVP_CIPHER *cipher, const uint8_t *key, int enc)
{
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	if (x == NULL)
		return NULL;
	if (EVP_CipherInit_ex(x, cipher, NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(x, NULL, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(x);
		return NULL;
	}
	return x;
}

static void aead_fini(sl_crypto_t *c)
{
	ossl_aead_t *s = c->be;

	EVP_CIPHER_CTX_free(s->enc); /* cleanses the key schedule */
	EVP_CIPHER_CTX_free(s->dec);
	s->enc = s->dec = NULL;
	sl_wipe(s->salt, sizeof(s->salt));
}

static int aead_init(sl_crypto_t *c, const sl_crypto_params_t *p, char *err, size_t errlen)
{
	const EVP_CIPHER *cipher = cipher_for(c);
	if (cipher == NULL) {
		sl_crypto_seterr(err, errlen, "openssl: not an AES-GCM transform");
		return SL_CRYPTO_ENOTSUP;
	}
	ossl_aead_t *s = sl_aead_state_new(c, p, sizeof(*s), err, errlen);
	if (s == NULL)
		return SL_CRYPTO_EIO;
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

/* Key the nonce and feed the AAD; returns the payload pointer or NULL. */
static uint8_t *start(const sl_crypto_t *c, const ossl_aead_t *s, EVP_CIPHER_CTX *x,
		      uint8_t *pkt, uint32_t seq_hi)
{
	uint8_t nonce[NONCE_LEN];
	uint8_t aad[12];
	size_t aad_len;
	int outl = 0;
	uint8_t *iv = pkt + SL_ESP_HDR_LEN;

	memcpy(nonce, s->salt, SL_AEAD_SALT_LEN);
	memcpy(nonce + SL_AEAD_SALT_LEN, iv, 8);
	memcpy(aad, pkt, 4); /* SPI */
	if (c->esn) {
		sl_put_be32(aad + 4, seq_hi);
		memcpy(aad + 8, pkt + 4, 4);
		aad_len = 12;
	} else {
		memcpy(aad + 4, pkt + 4, 4);
		aad_len = 8;
	}
	int ok = EVP_CipherInit_ex(x, NULL, NULL, NULL, nonce, -1) == 1 &&
		 EVP_CipherUpdate(x, NULL, &outl, aad, (int)aad_len) == 1;
	sl_wipe(nonce, sizeof(nonce));
	return ok ? iv + 8 : NULL;
}

static int aead_seal(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	ossl_aead_t *s = c->be;
	int outl = 0;
	uint8_t *payload = start(c, s, s->enc, pkt, seq_hi);

	if (payload == NULL)
		return SL_CRYPTO_EIO;
	if (EVP_CipherUpdate(s->enc, payload, &outl, payload, (int)len) != 1 || (size_t)outl != len)
		return SL_CRYPTO_EIO;
	if (EVP_CipherFinal_ex(s->enc, payload + len, &outl) != 1 || outl != 0)
		return SL_CRYPTO_EIO;
	if (EVP_CIPHER_CTX_ctrl(s->enc, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, payload + len) != 1)
		return SL_CRYPTO_EIO;
	return SL_CRYPTO_OK;
}

static int aead_open(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	ossl_aead_t *s = c->be;
	int outl = 0;
	uint8_t *payload = start(c, s, s->dec, pkt, seq_hi);

	if (payload == NULL)
		return SL_CRYPTO_EIO;
	if (EVP_CIPHER_CTX_ctrl(s->dec, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, payload + len) != 1)
		return SL_CRYPTO_EIO;
	if (EVP_CipherUpdate(s->dec, payload, &outl, payload, (int)len) != 1 || (size_t)outl != len)
		return SL_CRYPTO_EIO;
	/* The tag check happens here, in constant time inside libcrypto. */
	if (EVP_CipherFinal_ex(s->dec, payload + len, &outl) != 1)
		return SL_CRYPTO_EAUTH;
	return SL_CRYPTO_OK;
}

const sl_backend_ops_t sl_ossl_aead_ops = {
	.name = "openssl",
	.init = aead_init,
	.seal = aead_seal,
	.open = aead_open,
	.fini = aead_fini,
	.keymat = sl_salt_keymat,
};
