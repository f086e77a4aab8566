/*
 * crypto.c - the front end of crypto.h: checks lengths, chooses the
 * backend, places the IV, and hands the packet to the backend.
 */
#include "crypto_internal.h"
#include "crypto_kat.h"
#include "ossl_gcm_cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sl_crypto_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void sl_crypto_thread_prepare(void)
{
	sl_ossl_chacha_thread_prepare();
	sl_gcm_cache_thread_prepare();
}

void *sl_aead_state_new(sl_crypto_t *c, const sl_crypto_params_t *p, size_t size, char *err,
			size_t errlen)
{
	uint8_t *s = calloc(1, size);

	if (s == NULL) {
		sl_crypto_seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->be = s;
	c->be_size = size;
	memcpy(s, p->enc_key + c->enc_key_len, SL_AEAD_SALT_LEN);
	return s;
}

void sl_salt_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n)
{
	*p = c->be;
	*n = SL_AEAD_SALT_LEN;
}

static int check_params(const sl_crypto_params_t *p, const sl_alg_info_t **infop,
			char *err, size_t errlen)
{
	const sl_alg_info_t *info = sl_alg_info(p->alg);

	if (info == NULL) {
		sl_crypto_seterr(err, errlen, "unknown algorithm %d", (int)p->alg);
		return SL_CRYPTO_EINVAL;
	}
	size_t salt = info->aead ? SL_AEAD_SALT_LEN : 0;
	if (p->enc_key == NULL || p->enc_key_len < salt + info->enc_key_min ||
	    p->enc_key_len > salt + info->enc_key_max ||
	    (p->enc_key_len - salt - info->enc_key_min) % info->enc_key_step != 0) {
		sl_crypto_seterr(err, errlen, "bad encryption key length %zu", p->enc_key_len);
		return SL_CRYPTO_EINVAL;
	}
	if (info->aead) {
		if (p->auth_key != NULL || p->auth_key_len != 0) {
			sl_crypto_seterr(err, errlen, "AEAD takes no separate integrity key");
			return SL_CRYPTO_EINVAL;
		}
	} else if (p->auth_key == NULL || p->auth_key_len != info->auth_key_len) {
		/* RFC 2404 §3 and RFC 4868 §2.1.1 fix the key length. */
		sl_crypto_seterr(err, errlen, "bad integrity key length %zu (want %zu)",
				 p->auth_key_len, info->auth_key_len);
		return SL_CRYPTO_EINVAL;
	}
	*infop = info;
	return SL_CRYPTO_OK;
}

static int try_backend(sl_crypto_t *c, const sl_backend_ops_t *ops, sl_backend_t which,
		       const sl_crypto_params_t *p, char *err, size_t errlen)
{
	c->ops = ops;
	c->backend = which;
	c->be = NULL;
	c->driver[0] = '\0';
	int rc = ops->init(c, p, err, errlen);
	if (rc != SL_CRYPTO_OK) {
		if (c->be != NULL) {
			ops->fini(c);
			sl_wipe(c->be, c->be_size);
			free(c->be);
		}
		c->be = NULL;
		c->be_size = 0;
		c->ops = NULL;
	}
	return rc;
}

int sl_crypto_new(sl_crypto_t **out, const sl_crypto_params_t *p, sl_backend_t want,
		  char *err, size_t errlen)
{
	const sl_alg_info_t *info = NULL;
	int rc;

	if (out == NULL || p == NULL) {
		sl_crypto_seterr(err, errlen, "missing argument");
		return SL_CRYPTO_EINVAL;
	}
	*out = NULL;
	rc = check_params(p, &info, err, errlen);
	if (rc != SL_CRYPTO_OK)
		return rc;

	sl_crypto_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		sl_crypto_seterr(err, errlen, "out of memory");
		return SL_CRYPTO_EIO;
	}
	c->info = info;
	c->esn = p->esn;
	c->enc_key_len = p->enc_key_len - (info->aead ? SL_AEAD_SALT_LEN : 0);
	c->use = p->use;

	const sl_backend_ops_t *ossl = &sl_ossl_aead_ops;
	if (!info->aead)
		ossl = &sl_ossl_cbc_ops;
	else if (info->alg == SL_ALG_CHACHA20_POLY1305)
		ossl = &sl_ossl_chacha_ops;
	switch (want) {
	case SL_BACKEND_AFALG:
		rc = try_backend(c, &sl_afalg_ops, SL_BACKEND_AFALG, p, err, errlen);
		break;
	case SL_BACKEND_OPENSSL:
		rc = try_backend(c, ossl, SL_BACKEND_OPENSSL, p, err, errlen);
		break;
	case SL_BACKEND_AUTO:
		/* The kernel first: on a board it reaches the crypto engine.  (SAs
		 * decide by measurement before they get here: sa.c, probe.c.) */
		rc = SL_CRYPTO_ENOTSUP;
		if (sl_afalg_available())
			rc = try_backend(c, &sl_afalg_ops, SL_BACKEND_AFALG, p, err, errlen);
		if (rc != SL_CRYPTO_OK)
			rc = try_backend(c, ossl, SL_BACKEND_OPENSSL, p, err, errlen);
		break;
	default:
		sl_crypto_seterr(err, errlen, "unknown backend %d", (int)want);
		rc = SL_CRYPTO_EINVAL;
		break;
	}
	if (rc != SL_CRYPTO_OK) {
		sl_wipe(c, sizeof(*c));
		free(c);
		return rc;
	}
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*out = c;
	return SL_CRYPTO_OK;
}

void sl_crypto_wipe_keys(sl_crypto_t *c)
{
	if (c == NULL)
		return;
	if (c->ops != NULL && c->be != NULL && !c->dead)
		c->ops->fini(c);
	c->dead = true;
}

void sl_crypto_free(sl_crypto_t *c)
{
	if (c == NULL)
		return;
	sl_crypto_wipe_keys(c);
	if (c->be != NULL) {
		sl_wipe(c->be, c->be_size);
		free(c->be);
	}
	sl_wipe(c, sizeof(*c));
	free(c);
}

static int check_len(const sl_crypto_t *c, const uint8_t *pkt, size_t len)
{
	if (c == NULL || pkt == NULL)
		return SL_CRYPTO_EINVAL;
	if (c->dead || c->be == NULL)
		return SL_CRYPTO_EIO;
	/* An ESP payload always holds at least Pad Length and Next Header
	 * (RFC 4303 §2.4), and must end on the cipher's block boundary. */
	if (len == 0 || len > SL_CRYPTO_MAX_PAYLOAD || len % c->info->block_size != 0)
		return SL_CRYPTO_EINVAL;
	return SL_CRYPTO_OK;
}

/* The header carries the low half of the sequence number and is
 * authenticated, so it must already be right (RFC 4303 §2.2). */
static int check_seq(const sl_crypto_t *c, const uint8_t *pkt, uint64_t seq)
{
	if (sl_get_be32(pkt + 4) != (uint32_t)seq)
		return SL_CRYPTO_EINVAL;
	if (!c->esn && (seq >> 32) != 0)
		return SL_CRYPTO_EINVAL;
	return SL_CRYPTO_OK;
}

int sl_crypto_seal_prep(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq)
{
	int rc = check_len(c, pkt, payload_len);
	if (rc != SL_CRYPTO_OK)
		return rc;
	if (!sl_crypto_seals(c))
		return SL_CRYPTO_EINVAL;
	rc = check_seq(c, pkt, seq);
	if (rc != SL_CRYPTO_OK)
		return rc;

	uint8_t *iv = pkt + SL_ESP_HDR_LEN;
	if (c->info->aead) {
		/* RFC 4106 §3.1 / RFC 7634 §2: the IV only has to be unique per key;
		 * the 64-bit sequence number is, as long as the SA is rekeyed
		 * before it would wrap (RFC 4303 §3.3.3). */
		sl_put_be32(iv, (uint32_t)(seq >> 32));
		sl_put_be32(iv + 4, (uint32_t)seq);
		return SL_CRYPTO_OK;
	}
	return sl_ivpool_take(iv, c->info->iv_len);
}

int sl_crypto_seal(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq)
{
	int rc = sl_crypto_seal_prep(c, pkt, payload_len, seq);
	if (rc != SL_CRYPTO_OK)
		return rc;
	return c->ops->seal(c, pkt, payload_len, (uint32_t)(seq >> 32));
}

int sl_crypto_seal_kat(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint64_t seq,
		       const uint8_t *iv)
{
	int rc = check_len(c, pkt, payload_len);
	if (rc != SL_CRYPTO_OK)
		return rc;
	if (iv == NULL || !sl_crypto_seals(c))
		return SL_CRYPTO_EINVAL;
	rc = check_seq(c, pkt, seq);
	if (rc != SL_CRYPTO_OK)
		return rc;
	memmove(pkt + SL_ESP_HDR_LEN, iv, c->info->iv_len);
	return c->ops->seal(c, pkt, payload_len, (uint32_t)(seq >> 32));
}

int sl_crypto_open_prep(const sl_crypto_t *c, const uint8_t *pkt, size_t payload_len,
			uint32_t seq_hi)
{
	int rc = check_len(c, pkt, payload_len);
	if (rc != SL_CRYPTO_OK)
		return rc;
	if (!sl_crypto_opens(c))
		return SL_CRYPTO_EINVAL;
	if (!c->esn && seq_hi != 0)
		return SL_CRYPTO_EINVAL;
	return SL_CRYPTO_OK;
}

int sl_crypto_open_done(const sl_crypto_t *c, uint8_t *pkt, size_t payload_len, int rc)
{
	if (rc == SL_CRYPTO_EAUTH) {
		/* Whatever a backend decrypted before the check failed is
		 * unauthenticated: never let it out (RFC 4303 §3.4.4). */
		sl_wipe(pkt + SL_ESP_HDR_LEN + c->info->iv_len, payload_len);
	}
	return rc;
}

int sl_crypto_open(sl_crypto_t *c, uint8_t *pkt, size_t payload_len, uint32_t seq_hi)
{
	int rc = sl_crypto_open_prep(c, pkt, payload_len, seq_hi);
	if (rc != SL_CRYPTO_OK)
		return rc;
	return sl_crypto_open_done(c, pkt, payload_len, c->ops->open(c, pkt, payload_len, seq_hi));
}

size_t sl_crypto_iv_len(const sl_crypto_t *c)
{
	return c != NULL ? c->info->iv_len : 0;
}

size_t sl_crypto_icv_len(const sl_crypto_t *c)
{
	return c != NULL ? c->info->icv_len : 0;
}

size_t sl_crypto_block_size(const sl_crypto_t *c)
{
	return c != NULL ? c->info->block_size : 0;
}

sl_backend_t sl_crypto_backend(const sl_crypto_t *c)
{
	return c != NULL ? c->backend : SL_BACKEND_AUTO;
}

const char *sl_crypto_backend_name(const sl_crypto_t *c)
{
	if (c == NULL)
		return "none";
	return c->backend == SL_BACKEND_AFALG ? "afalg" : "openssl";
}

const char *sl_crypto_driver(const sl_crypto_t *c)
{
	if (c == NULL)
		return "none";
	return c->driver[0] != '\0' ? c->driver : sl_crypto_backend_name(c);
}

void sl_crypto_test_keymat(const sl_crypto_t *c, const uint8_t **p, size_t *n)
{
	*p = NULL;
	*n = 0;
	if (c != NULL && c->ops != NULL && c->be != NULL && c->ops->keymat != NULL)
		c->ops->keymat(c, p, n);
}
