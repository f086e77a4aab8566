/*
 * ecdsa_digest.c - ECDSA over a caller-supplied digest for IKEv1 (RFC 4754).
 * See ecdsa_digest.h for why this is not done through node:crypto.
 */
#include "ecdsa_digest.h"
#include "crypto.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* The DER of an ECDSA-Sig-Value (RFC 3279 §2.2.3) for P-521: two INTEGERs of at
 * most 67 bytes each with their headers, in a SEQUENCE with a 2-byte length. */
#define SL_ECDSA_DER_MAX 160

static size_t ec_size(EVP_PKEY *key)
{
	if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return 0;
	int bits = EVP_PKEY_get_bits(key); /* the group order's bit length */
	return bits > 0 ? ((size_t)bits + 7) / 8 : 0;
}

static EVP_PKEY *load_private(const uint8_t *pkcs8, size_t len)
{
	const unsigned char *p = pkcs8;
	if (len == 0 || len > (size_t)0x7fffffff)
		return NULL;
	return d2i_AutoPrivateKey(NULL, &p, (long)len);
}

int sl_ecdsa_sign_digest(const uint8_t *pkcs8, size_t pkcs8_len, const uint8_t *digest, size_t digest_len,
			 uint8_t *rs, size_t rs_len)
{
	int ret = -1;
	EVP_PKEY *key = load_private(pkcs8, pkcs8_len);
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *sig = NULL;
	uint8_t der[SL_ECDSA_DER_MAX];
	size_t der_len = sizeof der;
	size_t n = ec_size(key);

	if (n == 0 || rs_len != 2 * n || digest_len == 0)
		goto out;
	ctx = EVP_PKEY_CTX_new(key, NULL);
	/* No signature digest set: EVP_PKEY_sign takes `digest` as the hash value. */
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, der, &der_len, digest, digest_len) != 1)
		goto out;
	const unsigned char *q = der;
	sig = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
	if (sig == NULL)
		goto out;
	const BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, rs, (int)n) != (int)n || BN_bn2binpad(s, rs + n, (int)n) != (int)n)
		goto out;
	ret = 0;
out:
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key); /* frees (and clears) the parsed private scalar */
	if (ret != 0 && rs != NULL)
		sl_wipe(rs, rs_len);
	return ret;
}

int sl_ecdsa_verify_digest(const uint8_t *spki, size_t spki_len, const uint8_t *digest, size_t digest_len,
			   const uint8_t *rs, size_t rs_len)
{
	int ret = -1;
	const unsigned char *p = spki;
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;

	if (spki_len == 0 || spki_len > (size_t)0x7fffffff)
		return -1;
	key = d2i_PUBKEY(NULL, &p, (long)spki_len);
	size_t n = ec_size(key);
	if (n == 0)
		goto out;
	ret = 0;
	if (rs_len != 2 * n || digest_len == 0)
		goto out;
	r = BN_bin2bn(rs, (int)n, NULL);
	s = BN_bin2bn(rs + n, (int)n, NULL);
	sig = ECDSA_SIG_new();
	if (r == NULL || s == NULL || sig == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		ret = -1;
		goto out;
	}
	r = s = NULL; /* owned by sig now */
	int der_len = i2d_ECDSA_SIG(sig, &der);
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (der_len <= 0 || ctx == NULL || EVP_PKEY_verify_init(ctx) != 1) {
		ret = -1;
		goto out;
	}
	/* OpenSSL rejects r or s outside [1, n-1] (FIPS 186-4 §6.4.2 step 1). */
	ret = EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, digest_len) == 1 ? 1 : 0;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ret;
}
