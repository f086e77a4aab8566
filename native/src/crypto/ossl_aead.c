/*
 * ossl_aead.c - AES-GCM (RFC 4106) on libcrypto's AEAD.  (ChaCha20-Poly1305
 * is composed in ossl_chacha.c: libcrypto's AEAD is slower for it.)
 *
 * nonce = salt (4, from the end of the key material) | IV (8) (RFC 4106 §4);
 * AAD = SPI | Seq low, or SPI | Seq high | Seq low with ESN (RFC 4106 §5);
 * the 16-byte tag is the ICV.
 */
#include "crypto_internal.h"
#include "ossl_gcm_cache.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16

/* An SA keeps its key, not a keyed context: the contexts are per thread
 * (ossl_gcm_cache.c), keyed from here when a packet of this SA needs one. */
typedef struct {
	uint8_t salt[SL_AEAD_SALT_LEN]; /* first, then the key: our key copies (keymat) */
	uint8_t key[32];
	uint64_t id; /* sl_gcm_cache_new_id */
	sl_gcm_hint_t hint[2]; /* the slot last keyed: [0] opening, [1] sealing */
} ossl_aead_t;
_Static_assert(offsetof(ossl_aead_t, salt) == 0, "sl_aead_state_new: the salt first");
_Static_assert(offsetof(ossl_aead_t, key) == SL_AEAD_SALT_LEN, "aead_keymat: salt and key adjoin");

static void aead_fini(sl_crypto_t *c)
{
	ossl_aead_t *s = c->be;

	/* Every thread's context still keyed for this SA is wiped too. */
	if (sl_crypto_seals(c))
		sl_gcm_cache_forget(sl_gcm_cache_tag(s->id, 1), c->enc_key_len);
	if (sl_crypto_opens(c))
		sl_gcm_cache_forget(sl_gcm_cache_tag(s->id, 0), c->enc_key_len);
	sl_wipe(s->salt, sizeof(s->salt));
	sl_wipe(s->key, sizeof(s->key));
}

static void aead_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n)
{
	*p = c->be;
	*n = SL_AEAD_SALT_LEN + c->enc_key_len;
}

static int aead_init(sl_crypto_t *c, const sl_crypto_params_t *p, char *err, size_t errlen)
{
	if (c->info->alg != SL_ALG_AES_GCM_16 || (c->enc_key_len != 16 && c->enc_key_len != 32)) {
		sl_crypto_seterr(err, errlen, "openssl: not an AES-GCM transform");
		return SL_CRYPTO_ENOTSUP;
	}
	ossl_aead_t *s = sl_aead_state_new(c, p, sizeof(*s), err, errlen);
	if (s == NULL)
		return SL_CRYPTO_EIO;
	memcpy(s->key, p->enc_key, c->enc_key_len);
	/* Nothing is keyed here: the first packet keys a slot of its worker's
	 * (the install thread would otherwise hold contexts it never uses). */
	s->id = sl_gcm_cache_new_id();
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

static int seal_with(const sl_crypto_t *c, const ossl_aead_t *s, EVP_CIPHER_CTX *x, uint8_t *pkt,
		     size_t len, uint32_t seq_hi)
{
	int outl = 0;
	uint8_t *payload = start(c, s, x, pkt, seq_hi);

	if (payload == NULL)
		return SL_CRYPTO_EIO;
	if (EVP_CipherUpdate(x, payload, &outl, payload, (int)len) != 1 || (size_t)outl != len)
		return SL_CRYPTO_EIO;
	if (EVP_CipherFinal_ex(x, payload + len, &outl) != 1 || outl != 0)
		return SL_CRYPTO_EIO;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, payload + len) != 1)
		return SL_CRYPTO_EIO;
	return SL_CRYPTO_OK;
}

static int open_with(const sl_crypto_t *c, const ossl_aead_t *s, EVP_CIPHER_CTX *x, uint8_t *pkt,
		     size_t len, uint32_t seq_hi)
{
	int outl = 0;
	uint8_t *payload = start(c, s, x, pkt, seq_hi);

	if (payload == NULL)
		return SL_CRYPTO_EIO;
	if (EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, payload + len) != 1)
		return SL_CRYPTO_EIO;
	if (EVP_CipherUpdate(x, payload, &outl, payload, (int)len) != 1 || (size_t)outl != len)
		return SL_CRYPTO_EIO;
	/* The tag check happens here, in constant time inside libcrypto. */
	if (EVP_CipherFinal_ex(x, payload + len, &outl) != 1)
		return SL_CRYPTO_EAUTH;
	return SL_CRYPTO_OK;
}

/* Seal or open with this thread's context keyed for the SA (held meanwhile). */
static int run(sl_crypto_t *c, int enc, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	ossl_aead_t *s = c->be;
	sl_gcm_slot_t *held;
	EVP_CIPHER_CTX *x = sl_gcm_cache_get(sl_gcm_cache_tag(s->id, enc), s->key, c->enc_key_len, enc,
					     &s->hint[enc != 0], &held);

	if (x == NULL)
		return SL_CRYPTO_EIO;
	int rc = enc ? seal_with(c, s, x, pkt, len, seq_hi) : open_with(c, s, x, pkt, len, seq_hi);
	sl_gcm_cache_put(held);
	return rc;
}

static int aead_seal(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	return run(c, 1, pkt, len, seq_hi);
}

static int aead_open(sl_crypto_t *c, uint8_t *pkt, size_t len, uint32_t seq_hi)
{
	return run(c, 0, pkt, len, seq_hi);
}

uint64_t sl_ossl_aead_tag(const sl_crypto_t *c, int enc)
{
	const ossl_aead_t *s = c->be;
	return s != NULL ? sl_gcm_cache_tag(s->id, enc) : 0;
}

const sl_backend_ops_t sl_ossl_aead_ops = {
	.name = "openssl",
	.init = aead_init,
	.seal = aead_seal,
	.open = aead_open,
	.fini = aead_fini,
	.keymat = aead_keymat,
};
