/*
 * crypto_checks.h - checks run against one backend (or a pair), shared by
 * test_crypto_kat.c and test_crypto_afalg.c.  Each returns the number of
 * cases it could run; failures go through CHECK() (crypto_vectors.h).
 */
#ifndef SL_CRYPTO_CHECKS_H
#define SL_CRYPTO_CHECKS_H

#include "crypto.h"
#include "crypto_kat.h"
#include "crypto_vectors.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define PKT_MAX 2048

static inline const char *backend_str(sl_backend_t b)
{
	return b == SL_BACKEND_AFALG ? "afalg" : b == SL_BACKEND_OPENSSL ? "openssl" : "auto";
}

/* Create or report why not; ENOTSUP (kernel lacks it) is returned to the caller. */
static inline int make_ctx(sl_crypto_t **c, const sl_crypto_params_t *p, sl_backend_t b,
			   const char *what)
{
	char err[256] = "";
	int rc = sl_crypto_new(c, p, b, err, sizeof(err));

	if (rc == SL_CRYPTO_ENOTSUP) {
		printf("  %-8s %-52s not offered (%s)\n", backend_str(b), what, err);
		return rc;
	}
	CHECK(rc == SL_CRYPTO_OK, "%s on %s: sl_crypto_new: %d %s", what, backend_str(b), rc, err);
	return rc;
}

/* A published ESP packet: open it, compare the plaintext, seal it again
 * with the same IV and compare every byte. */
static inline int check_esp_vector(const esp_vec_t *v, sl_backend_t b)
{
	esp_pkt_t p;
	sl_crypto_t *c = NULL;
	uint8_t work[512];

	esp_pkt_load(&p, v);
	sl_crypto_params_t prm = esp_pkt_params(&p, v);
	if (make_ctx(&c, &prm, b, v->what) != SL_CRYPTO_OK)
		return 0;
	printf("  %-8s %-52s driver %s\n", backend_str(b), v->what, sl_crypto_driver(c));
	CHECK(sl_crypto_iv_len(c) == p.iv_len && sl_crypto_icv_len(c) == p.icv_len,
	      "%s: iv/icv lengths %zu/%zu", v->what, sl_crypto_iv_len(c), sl_crypto_icv_len(c));

	size_t total = esp_pkt_total(&p);
	memcpy(work, p.buf, total);
	int rc = sl_crypto_open(c, work, p.len, (uint32_t)(v->seq >> 32));
	CHECK(rc == SL_CRYPTO_OK, "%s: open of the published packet: %d", v->what, rc);
	if (rc == SL_CRYPTO_OK && p.have_plain)
		CHECK(memcmp(work + 8 + p.iv_len, p.plain, p.len) == 0, "%s: plaintext differs", v->what);

	/* Re-seal what open() gave (the published plaintext when there is one). */
	uint8_t plain[512];
	memcpy(plain, p.have_plain ? p.plain : work + 8 + p.iv_len, p.len);
	memset(work, 0xee, sizeof(work));
	memcpy(work, p.buf, 8);
	memcpy(work + 8 + p.iv_len, plain, p.len);
	rc = sl_crypto_seal_kat(c, work, p.len, v->seq, p.iv);
	CHECK(rc == SL_CRYPTO_OK, "%s: seal: %d", v->what, rc);
	CHECK(memcmp(work, p.buf, total) == 0, "%s: sealed packet differs from the published one",
	      v->what);

	/* With ESN the high half is authenticated: a wrong one must fail. */
	if (v->esn) {
		memcpy(work, p.buf, total);
		rc = sl_crypto_open(c, work, p.len, (uint32_t)(v->seq >> 32) ^ 1u);
		CHECK(rc == SL_CRYPTO_EAUTH, "%s: wrong Seq high accepted (%d)", v->what, rc);
	}
	sl_crypto_free(c);
	return 1;
}

/* Independent ICV: libcrypto's one-shot HMAC over SPI|Seq|IV|ct[|Seq high]. */
static inline void ref_icv(sl_alg_t alg, const uint8_t *key, size_t key_len, const uint8_t *pkt,
			   size_t covered, bool esn, uint32_t seq_hi, uint8_t *out)
{
	uint8_t buf[PKT_MAX + 4];
	unsigned int outl = 0;
	const EVP_MD *md = alg == SL_ALG_AES_CBC_HMAC_SHA256_128 ? EVP_sha256() : EVP_sha1();

	memcpy(buf, pkt, covered);
	if (esn)
		put_be32(buf + covered, seq_hi);
	HMAC(md, key, (int)key_len, buf, covered + (esn ? 4 : 0), out, &outl);
}

/* A block cipher vector through a CBC transform: the payload encrypts to
 * the published ciphertext, the ICV matches an independent HMAC, open()
 * gives the plaintext back.  Run without and with ESN. */
static inline int check_cbc_vector(const cbc_vec_t *v, sl_backend_t b)
{
	uint8_t key[32], iv[16], plain[256], cipher[256], akey[32];
	size_t key_len = unhex(v->enc_key, key, sizeof(key));
	size_t iv_len = unhex(v->iv, iv, sizeof(iv));
	size_t len = unhex(v->plain, plain, sizeof(plain));
	size_t clen = unhex(v->cipher, cipher, sizeof(cipher));
	size_t akey_len = v->alg == SL_ALG_AES_CBC_HMAC_SHA256_128 ? 32 : 20;
	int ran = 0;

	if (len != clen) {
		fprintf(stderr, "%s: plaintext/ciphertext lengths differ\n", v->what);
		exit(2);
	}
	fill_pattern(akey, akey_len, 99);
	for (int esn = 0; esn <= 1; esn++) {
		sl_crypto_params_t prm = {
			.alg = v->alg, .enc_key = key, .enc_key_len = key_len,
			.auth_key = akey, .auth_key_len = akey_len, .esn = esn != 0,
		};
		sl_crypto_t *c = NULL;
		if (make_ctx(&c, &prm, b, v->what) != SL_CRYPTO_OK)
			continue;
		if (esn == 0)
			printf("  %-8s %-52s driver %s\n", backend_str(b), v->what, sl_crypto_driver(c));
		uint64_t seq = esn ? 0x0000000500000007ull : 7;
		uint8_t pkt[PKT_MAX], ref[32];
		size_t icv = sl_crypto_icv_len(c);

		put_be32(pkt, 0xc0ffee01);
		put_be32(pkt + 4, (uint32_t)seq);
		memcpy(pkt + 8 + iv_len, plain, len);
		int rc = sl_crypto_seal_kat(c, pkt, len, seq, iv);
		CHECK(rc == SL_CRYPTO_OK, "%s esn=%d: seal: %d", v->what, esn, rc);
		CHECK(memcmp(pkt + 8, iv, iv_len) == 0, "%s: IV not placed", v->what);
		CHECK(memcmp(pkt + 8 + iv_len, cipher, len) == 0, "%s esn=%d: ciphertext differs",
		      v->what, esn);
		ref_icv(v->alg, akey, akey_len, pkt, 8 + iv_len + len, esn != 0, (uint32_t)(seq >> 32), ref);
		CHECK(memcmp(pkt + 8 + iv_len + len, ref, icv) == 0, "%s esn=%d: ICV differs from HMAC",
		      v->what, esn);
		rc = sl_crypto_open(c, pkt, len, (uint32_t)(seq >> 32));
		CHECK(rc == SL_CRYPTO_OK, "%s esn=%d: open: %d", v->what, esn, rc);
		CHECK(memcmp(pkt + 8 + iv_len, plain, len) == 0, "%s esn=%d: decrypt differs", v->what, esn);
		sl_crypto_free(c);
		ran++;
	}
	return ran;
}

/* Seal with `s`, open with `o` (possibly another backend): random sizes,
 * sequence numbers around the 32-bit boundary. */
static inline int check_roundtrip(sl_crypto_t *s, sl_crypto_t *o, bool esn, const char *what)
{
	uint8_t pkt[PKT_MAX], plain[PKT_MAX];
	size_t bs = sl_crypto_block_size(s), ivl = sl_crypto_iv_len(s), icv = sl_crypto_icv_len(s);
	const uint64_t seqs[] = { 1, 2, 0xfffffffeull, esn ? 0x100000000ull : 0xffffffffull,
				  esn ? 0xabcdef0012345678ull : 0x7fffffffull };
	uint8_t prev_iv[16] = { 0 };

	for (size_t i = 0; i < NELEM(seqs); i++) {
		size_t len = bs * (1 + (i * 37) % 90); /* up to 1440 bytes */
		uint64_t seq = seqs[i];

		fill_pattern(plain, len, (uint32_t)(i + 1));
		put_be32(pkt, 0x01000000u + (uint32_t)i);
		put_be32(pkt + 4, (uint32_t)seq);
		memcpy(pkt + 8 + ivl, plain, len);
		int rc = sl_crypto_seal(s, pkt, len, seq);
		CHECK(rc == SL_CRYPTO_OK, "%s: seal seq %llx: %d", what, (unsigned long long)seq, rc);
		if (icv == 16 && bs == 4) {
			/* AEAD: IV is the sequence number (RFC 4106 §3.1). */
			uint8_t want[8];
			put_be32(want, (uint32_t)(seq >> 32));
			put_be32(want + 4, (uint32_t)seq);
			CHECK(memcmp(pkt + 8, want, 8) == 0, "%s: AEAD IV is not the sequence number", what);
		} else {
			CHECK(memcmp(pkt + 8, prev_iv, ivl) != 0, "%s: CBC IV repeated", what);
			memcpy(prev_iv, pkt + 8, ivl);
		}
		CHECK(memcmp(pkt + 8 + ivl, plain, len) != 0, "%s: payload not encrypted", what);
		rc = sl_crypto_open(o, pkt, len, (uint32_t)(seq >> 32));
		CHECK(rc == SL_CRYPTO_OK, "%s: open seq %llx: %d", what, (unsigned long long)seq, rc);
		CHECK(memcmp(pkt + 8 + ivl, plain, len) == 0, "%s: round trip differs", what);
	}
	return 1;
}

/* Flip one bit in every byte of header, IV, payload and ICV in turn:
 * each must be rejected, and the payload must not come out. */
static inline int check_tamper(sl_crypto_t *s, sl_crypto_t *o, bool esn, const char *what)
{
	uint8_t pkt[PKT_MAX], orig[PKT_MAX], plain[128];
	size_t bs = sl_crypto_block_size(s), ivl = sl_crypto_iv_len(s), icv = sl_crypto_icv_len(s);
	size_t len = bs * (bs == 4 ? 13 : (bs == 8 ? 5 : 3));
	uint64_t seq = esn ? 0x0000000200000010ull : 0x10;
	size_t total = 8 + ivl + len + icv;
	int rejected = 0;

	fill_pattern(plain, len, 1234);
	put_be32(orig, 0x0badcafe);
	put_be32(orig + 4, (uint32_t)seq);
	memcpy(orig + 8 + ivl, plain, len);
	CHECK(sl_crypto_seal(s, orig, len, seq) == SL_CRYPTO_OK, "%s: seal for tamper test", what);
	for (size_t i = 0; i < total; i++) {
		memcpy(pkt, orig, total);
		pkt[i] ^= (uint8_t)(1u << (i % 8));
		int rc = sl_crypto_open(o, pkt, len, (uint32_t)(seq >> 32));
		CHECK(rc == SL_CRYPTO_EAUTH, "%s: flipped byte %zu accepted (%d)", what, i, rc);
		if (rc == SL_CRYPTO_EAUTH)
			rejected++;
		/* RFC 4303 §3.4.4: nothing of a forged packet may be used. */
		bool leaked = false;
		for (size_t k = 0; k + 4 <= len; k++)
			if (memcmp(pkt + 8 + ivl + k, plain + k, 4) == 0)
				leaked = true;
		CHECK(!leaked, "%s: plaintext of a forged packet left in the buffer (byte %zu)", what, i);
	}
	/* The untouched packet still opens. */
	memcpy(pkt, orig, total);
	CHECK(sl_crypto_open(o, pkt, len, (uint32_t)(seq >> 32)) == SL_CRYPTO_OK,
	      "%s: untouched packet rejected", what);
	if (esn) {
		memcpy(pkt, orig, total);
		CHECK(sl_crypto_open(o, pkt, len, (uint32_t)(seq >> 32) + 1) == SL_CRYPTO_EAUTH,
		      "%s: wrong Seq high accepted", what);
	}
	return rejected == (int)total;
}

#endif
