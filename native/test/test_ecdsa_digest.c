/* test_ecdsa_digest.c - ECDSA over a given digest (RFC 4754 §7 r | s form):
 * sign-then-verify on the three IKEv1 curves, the signature checked again by
 * OpenSSL's own DER verifier, and tampered inputs refused. */
#include "engine_check.h"
#include "ecdsa_digest.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

static void curve(const char *name, size_t n, size_t digest_len)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", name);
	CHECK(key != NULL);
	if (key == NULL)
		return;
	unsigned char *priv = NULL, *pub = NULL;
	int priv_len = i2d_PrivateKey(key, &priv);
	int pub_len = i2d_PUBKEY(key, &pub);
	CHECK(priv_len > 0 && pub_len > 0);

	uint8_t digest[64], rs[2 * 66], other[2 * 66];
	for (size_t i = 0; i < sizeof digest; i++)
		digest[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(sl_ecdsa_sign_digest(priv, (size_t)priv_len, digest, digest_len, rs, 2 * n), 0);
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, rs, 2 * n), 1);

	/* Same check by OpenSSL's verifier over the DER form: r | s is really (r, s). */
	ECDSA_SIG *sig = ECDSA_SIG_new();
	CHECK(ECDSA_SIG_set0(sig, BN_bin2bn(rs, (int)n, NULL), BN_bin2bn(rs + n, (int)n, NULL)) == 1);
	unsigned char *der = NULL;
	int der_len = i2d_ECDSA_SIG(sig, &der);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	CHECK(EVP_PKEY_verify_init(ctx) == 1);
	CHECK(EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, digest_len) == 1);
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);

	/* The nonce is fresh: a second signature differs and verifies too. */
	CHECK_EQ(sl_ecdsa_sign_digest(priv, (size_t)priv_len, digest, digest_len, other, 2 * n), 0);
	CHECK(memcmp(rs, other, 2 * n) != 0);
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, other, 2 * n), 1);

	/* Tampering: digest, r, s, length. */
	digest[0] ^= 1;
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, rs, 2 * n), 0);
	digest[0] ^= 1;
	rs[n - 1] ^= 1;
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, rs, 2 * n), 0);
	rs[n - 1] ^= 1;
	rs[2 * n - 1] ^= 1;
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, rs, 2 * n), 0);
	rs[2 * n - 1] ^= 1;
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, rs, 2 * n - 1), 0);
	/* r = 0 and s = 0 are out of range (FIPS 186-4 §6.4.2). */
	memset(other, 0, 2 * n);
	CHECK_EQ(sl_ecdsa_verify_digest(pub, (size_t)pub_len, digest, digest_len, other, 2 * n), 0);
	/* A wrong output size is refused, not truncated. */
	CHECK_EQ(sl_ecdsa_sign_digest(priv, (size_t)priv_len, digest, digest_len, other, 2 * n + 2), -1);
	/* Garbage keys are refused. */
	CHECK_EQ(sl_ecdsa_sign_digest(digest, sizeof digest, digest, digest_len, other, 2 * n), -1);
	CHECK_EQ(sl_ecdsa_verify_digest(digest, sizeof digest, digest, digest_len, rs, 2 * n), -1);

	OPENSSL_free(priv);
	OPENSSL_free(pub);
	EVP_PKEY_free(key);
}

int main(void)
{
	curve("P-256", 32, 32);
	curve("P-384", 48, 48);
	curve("P-521", 66, 64); /* HMAC-SHA-512 output on a 521-bit order */
	/* An RSA key is not an ECDSA key. */
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	unsigned char *der = NULL;
	int len = i2d_PrivateKey(rsa, &der);
	uint8_t d[32] = {1}, rs[64];
	CHECK_EQ(sl_ecdsa_sign_digest(der, (size_t)len, d, sizeof d, rs, sizeof rs), -1);
	OPENSSL_free(der);
	EVP_PKEY_free(rsa);
	TEST_DONE("test_ecdsa_digest");
}
