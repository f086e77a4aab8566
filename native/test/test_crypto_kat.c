/*
 * test_crypto_kat.c - the OpenSSL backend against published vectors, plus
 * round trips, forgery rejection, length checks, key wiping and the
 * no-allocation-per-packet rule.
 */
#include "crypto.h"
#include "crypto_kat.h"
#include "crypto_checks.h"
#include "crypto_vectors.h"
#include "ossl_alloc_count.h"
#include "afalg_proc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

static void test_names(void)
{
	for (size_t i = 0; i < NELEM(all_alg_names); i++) {
		sl_alg_t alg;
		size_t ek = 0, ak = 0;
		CHECK(sl_alg_parse(all_alg_names[i], &alg, &ek, &ak) == 0, "parse %s", all_alg_names[i]);
		const char *back = sl_alg_name(alg, ek);
		CHECK(back != NULL && strcmp(back, all_alg_names[i]) == 0, "name round trip %s -> %s",
		      all_alg_names[i], back ? back : "(null)");
	}
	sl_alg_t alg;
	size_t ek, ak;
	CHECK(sl_alg_parse("aes128gcm16", &alg, &ek, &ak) == 0 && alg == SL_ALG_AES_GCM_16 &&
		      ek == 20 && ak == 0, "aes128gcm16: key 16 + salt 4");
	CHECK(sl_alg_parse("3des-sha1", &alg, &ek, &ak) == 0 && ek == 24 && ak == 20, "3des-sha1 sizes");
	CHECK(sl_alg_parse("aes256-sha256", &alg, &ek, &ak) == 0 && ek == 32 && ak == 32, "aes256-sha256 sizes");
	CHECK(sl_alg_parse("chacha20poly1305", &alg, &ek, &ak) == 0 && ek == 36, "chacha sizes");
	CHECK(sl_alg_parse("aes192gcm16", &alg, &ek, &ak) == -1, "unknown name accepted");
	CHECK(sl_alg_parse(NULL, &alg, &ek, &ak) == -1, "NULL name accepted");
	CHECK(sl_alg_name(SL_ALG_AES_GCM_16, 16) != NULL &&
		      strcmp(sl_alg_name(SL_ALG_AES_GCM_16, 16), "aes128gcm16") == 0, "name without salt");
	CHECK(sl_alg_name(SL_ALG_AES_GCM_16, 24) == NULL, "AES-192 has no name here");
}

static void test_ct_and_wipe(void)
{
	uint8_t a[32], b[32];
	fill_pattern(a, sizeof(a), 5);
	memcpy(b, a, sizeof(b));
	CHECK(sl_ct_memcmp(a, b, sizeof(a)) == 0, "equal buffers differ");
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		CHECK(sl_ct_memcmp(a, b, sizeof(a)) != 0, "difference at %zu missed", i);
		b[i] ^= 0x80;
	}
	CHECK(sl_ct_memcmp(a, b, 0) == 0, "empty compare");
	sl_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK(a[i] == 0, "wipe left byte %zu", i);
}

static void test_hmac(void)
{
	for (size_t i = 0; i < NELEM(hmac_vectors); i++) {
		const hmac_vec_t *v = &hmac_vectors[i];
		uint8_t key[160], data[160], want[32], got[32];
		size_t kl = unhex(v->key, key, sizeof(key));
		size_t dl = unhex(v->data, data, sizeof(data));
		size_t ml = unhex(v->mac, want, sizeof(want));
		CHECK(sl_hmac_oneshot(v->md, key, kl, data, dl, got, ml) == SL_CRYPTO_OK, "%s", v->what);
		CHECK(memcmp(got, want, ml) == 0, "%s: MAC differs", v->what);
		/* The truncations ESP uses (RFC 2404 §2: 96 bits; RFC 4868 §2.1.1: 128). */
		size_t trunc = v->md == 1 ? 12 : 16;
		CHECK(sl_hmac_oneshot(v->md, key, kl, data, dl, got, trunc) == SL_CRYPTO_OK &&
			      memcmp(got, want, trunc) == 0, "%s: truncated MAC differs", v->what);
	}
	printf("  HMAC primitive: %zu published vectors\n", NELEM(hmac_vectors));
}

static void test_every_alg(void)
{
	uint8_t ek[64], ak[64];

	for (size_t i = 0; i < NELEM(all_alg_names); i++) {
		for (int esn = 0; esn <= 1; esn++) {
			char what[64];
			snprintf(what, sizeof(what), "%s%s", all_alg_names[i], esn ? " esn" : "");
			sl_crypto_params_t p = params_for(all_alg_names[i], esn != 0, ek, ak, (uint32_t)i);
			sl_crypto_t *s = NULL, *o = NULL;
			if (make_ctx(&s, &p, SL_BACKEND_OPENSSL, what) != SL_CRYPTO_OK ||
			    make_ctx(&o, &p, SL_BACKEND_OPENSSL, what) != SL_CRYPTO_OK) {
				sl_crypto_free(s);
				continue;
			}
			CHECK(strcmp(sl_crypto_driver(s), "openssl") == 0, "%s: driver %s", what,
			      sl_crypto_driver(s));
			CHECK(sl_crypto_backend(s) == SL_BACKEND_OPENSSL, "%s: backend", what);
			check_roundtrip(s, o, esn != 0, what);
			/* One context may also open what it sealed. */
			check_roundtrip(s, s, esn != 0, what);
			check_tamper(s, o, esn != 0, what);
			sl_crypto_free(s);
			sl_crypto_free(o);
		}
	}
	printf("  round trips and forgery rejection: %zu transforms x ESN on/off\n", NELEM(all_alg_names));
}

/* ossl_chacha.c composes RFC 7634 from libcrypto's ChaCha20 and Poly1305
 * (for speed): it must give the bytes libcrypto's own AEAD gives, at every
 * payload length (block 0, partial last blocks, the Poly1305 split at 128)
 * and with ESN on and off. */
static int ref_chacha_seal(const uint8_t key[36], const uint8_t *aad, size_t aad_len,
			   const uint8_t iv[8], const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t nonce[12];
	int outl = 0, ok;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	memcpy(nonce, key + 32, 4);
	memcpy(nonce + 4, iv, 8);
	ok = x != NULL && EVP_EncryptInit_ex(x, EVP_chacha20_poly1305(), NULL, key, nonce) == 1 &&
	     EVP_EncryptUpdate(x, NULL, &outl, aad, (int)aad_len) == 1 &&
	     (len == 0 || EVP_EncryptUpdate(x, out, &outl, in, (int)len) == 1) &&
	     EVP_EncryptFinal_ex(x, out + len, &outl) == 1 &&
	     EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, 16, out + len) == 1;
	EVP_CIPHER_CTX_free(x);
	return ok;
}

static void test_chacha_vs_libcrypto(void)
{
	uint8_t ek[64], ak[64], pkt[PKT_MAX], want[PKT_MAX], plain[PKT_MAX], aad[12], iv[8];
	int cases = 0;

	for (int esn = 0; esn <= 1; esn++) {
		sl_crypto_params_t p = params_for("chacha20poly1305", esn != 0, ek, ak, 77);
		sl_crypto_t *c = NULL;
		if (make_ctx(&c, &p, SL_BACKEND_OPENSSL, "chacha20poly1305") != SL_CRYPTO_OK)
			continue;
		for (size_t len = 4; len + 8 + 8 + 16 <= PKT_MAX; len += (len < 320 || len > 1300) ? 4 : 60) {
			uint64_t seq = esn ? 0x0000000700000000ull + len : len;
			fill_pattern(plain, len, (uint32_t)len);
			fill_pattern(iv, sizeof(iv), (uint32_t)len * 3u);
			put_be32(pkt, 0xc0ffee00u);
			put_be32(pkt + 4, (uint32_t)seq);
			memcpy(pkt + 16, plain, len);
			memcpy(aad, pkt, 4);
			if (esn) {
				put_be32(aad + 4, (uint32_t)(seq >> 32));
				put_be32(aad + 8, (uint32_t)seq);
			} else {
				put_be32(aad + 4, (uint32_t)seq);
			}
			CHECK(ref_chacha_seal(p.enc_key, aad, esn ? 12 : 8, iv, plain, len, want),
			      "libcrypto's AEAD failed at %zu", len);
			CHECK(sl_crypto_seal_kat(c, pkt, len, seq, iv) == SL_CRYPTO_OK, "seal %zu", len);
			CHECK(memcmp(pkt + 16, want, len + 16) == 0,
			      "esn=%d len %zu: ciphertext or tag differs from libcrypto's AEAD", esn, len);
			CHECK(sl_crypto_open(c, pkt, len, (uint32_t)(seq >> 32)) == SL_CRYPTO_OK &&
				      memcmp(pkt + 16, plain, len) == 0,
			      "esn=%d len %zu: open", esn, len);
			cases++;
		}
		sl_crypto_free(c);
	}
	CHECK(cases > 400, "only %d ChaCha20-Poly1305 cases ran", cases);
	printf("  ChaCha20-Poly1305 as libcrypto's AEAD: %d lengths x ESN\n", cases / 2);
}

static void test_bad_input(void)
{
	uint8_t ek[64], ak[64], pkt[PKT_MAX];
	sl_crypto_t *c = NULL;
	char err[128];

	/* Key lengths. */
	sl_crypto_params_t p = params_for("aes128-sha1", false, ek, ak, 1);
	p.enc_key_len = 24; /* AES-192 is not offered */
	CHECK(sl_crypto_new(&c, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL && c == NULL,
	      "AES-192 key accepted");
	p = params_for("aes128-sha1", false, ek, ak, 1);
	p.auth_key_len = 16;
	CHECK(sl_crypto_new(&c, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL,
	      "short HMAC key accepted");
	p = params_for("aes128gcm16", false, ek, ak, 1);
	p.enc_key_len = 16; /* salt missing */
	CHECK(sl_crypto_new(&c, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL,
	      "GCM key without salt accepted");
	p = params_for("aes128gcm16", false, ek, ak, 1);
	p.auth_key = ak;
	p.auth_key_len = 20;
	CHECK(sl_crypto_new(&c, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL,
	      "AEAD with integrity key accepted");
	CHECK(strstr(err, "key") != NULL, "error text says why: '%s'", err);
	p.alg = (sl_alg_t)99;
	CHECK(sl_crypto_new(&c, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL,
	      "unknown algorithm accepted");
	CHECK(sl_crypto_new(NULL, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_EINVAL,
	      "NULL out accepted");

	/* Payload lengths and header consistency, per transform. */
	for (size_t i = 0; i < NELEM(all_alg_names); i++) {
		p = params_for(all_alg_names[i], false, ek, ak, 3);
		if (make_ctx(&c, &p, SL_BACKEND_OPENSSL, all_alg_names[i]) != SL_CRYPTO_OK)
			continue;
		size_t bs = sl_crypto_block_size(c);
		memset(pkt, 0, sizeof(pkt));
		put_be32(pkt + 4, 9);
		CHECK(sl_crypto_seal(c, pkt, 0, 9) == SL_CRYPTO_EINVAL, "%s: empty payload", all_alg_names[i]);
		CHECK(sl_crypto_seal(c, pkt, bs + 1, 9) == SL_CRYPTO_EINVAL, "%s: unaligned payload",
		      all_alg_names[i]);
		CHECK(sl_crypto_open(c, pkt, bs * 2 + 2, 0) == SL_CRYPTO_EINVAL, "%s: unaligned open",
		      all_alg_names[i]);
		CHECK(sl_crypto_seal(c, pkt, 70000 - 70000 % bs, 9) == SL_CRYPTO_EINVAL,
		      "%s: oversized payload", all_alg_names[i]);
		CHECK(sl_crypto_seal(c, pkt, bs, 10) == SL_CRYPTO_EINVAL,
		      "%s: header Seq disagrees with seq", all_alg_names[i]);
		CHECK(sl_crypto_seal(c, pkt, bs, 0x100000009ull) == SL_CRYPTO_EINVAL,
		      "%s: 64-bit seq without ESN", all_alg_names[i]);
		CHECK(sl_crypto_open(c, pkt, bs, 1) == SL_CRYPTO_EINVAL, "%s: Seq high without ESN",
		      all_alg_names[i]);
		CHECK(sl_crypto_seal(NULL, pkt, bs, 9) == SL_CRYPTO_EINVAL, "NULL context");
		CHECK(sl_crypto_seal(c, NULL, bs, 9) == SL_CRYPTO_EINVAL, "NULL packet");
		CHECK(sl_crypto_seal(c, pkt, bs, 9) == SL_CRYPTO_OK, "%s: minimal packet", all_alg_names[i]);
		sl_crypto_free(c);
	}
	sl_crypto_free(NULL); /* allowed */
}

static void test_backend_choice(void)
{
	uint8_t ek[64], ak[64];
	sl_crypto_params_t p = params_for("aes128gcm16", false, ek, ak, 4);
	sl_crypto_t *c = NULL;
	char err[256] = "";
	bool have = sl_afalg_available();

	printf("  AF_ALG available on this kernel: %s\n", have ? "yes" : "no");
	int rc = sl_crypto_new(&c, &p, SL_BACKEND_AUTO, err, sizeof(err));
	CHECK(rc == SL_CRYPTO_OK, "AUTO failed: %d %s", rc, err);
	if (rc == SL_CRYPTO_OK) {
		printf("  AUTO picked %s (driver %s)\n", sl_crypto_backend_name(c), sl_crypto_driver(c));
		if (!have)
			CHECK(sl_crypto_backend(c) == SL_BACKEND_OPENSSL, "AUTO without AF_ALG must be OpenSSL");
		sl_crypto_free(c);
	}
	if (!have) {
		c = NULL;
		rc = sl_crypto_new(&c, &p, SL_BACKEND_AFALG, err, sizeof(err));
		CHECK(rc == SL_CRYPTO_ENOTSUP && c == NULL, "AF_ALG forced without AF_ALG: %d", rc);
		CHECK(strstr(err, "af_alg") != NULL, "reason given: '%s'", err);
	}
}

static void test_wipe(void)
{
	uint8_t ek[64], ak[64], pkt[PKT_MAX];

	for (size_t i = 0; i < NELEM(all_alg_names); i++) {
		sl_crypto_params_t p = params_for(all_alg_names[i], true, ek, ak, 11);
		sl_crypto_t *c = NULL;
		if (make_ctx(&c, &p, SL_BACKEND_OPENSSL, all_alg_names[i]) != SL_CRYPTO_OK)
			continue;
		const uint8_t *km = NULL;
		size_t kn = 0, nonzero = 0;
		sl_crypto_test_keymat(c, &km, &kn);
		CHECK(km != NULL && kn > 0, "%s: no key copy reported", all_alg_names[i]);
		for (size_t k = 0; k < kn; k++)
			nonzero += km[k] != 0;
		CHECK(nonzero > 0, "%s: key copy already zero before the wipe", all_alg_names[i]);
		sl_crypto_wipe_keys(c);
		const uint8_t *km2 = NULL;
		size_t kn2 = 0;
		sl_crypto_test_keymat(c, &km2, &kn2);
		CHECK(km2 == km && kn2 == kn, "%s: key copy moved", all_alg_names[i]);
		for (size_t k = 0; k < kn; k++)
			CHECK(km[k] == 0, "%s: key byte %zu survived the wipe", all_alg_names[i], k);
		memset(pkt, 0, sizeof(pkt));
		put_be32(pkt + 4, 1);
		CHECK(sl_crypto_seal(c, pkt, 16, 1) == SL_CRYPTO_EIO, "%s: sealing after wipe", all_alg_names[i]);
		CHECK(sl_crypto_open(c, pkt, 16, 0) == SL_CRYPTO_EIO, "%s: opening after wipe", all_alg_names[i]);
		sl_crypto_free(c);
	}
}

/* The per-packet path allocates nothing from libcrypto (and we call no
 * allocator of our own there: checked by review; libcrypto is the risk). */
static void test_no_alloc(void)
{
	uint8_t ek[64], ak[64], pkt[PKT_MAX];

	for (size_t i = 0; i < NELEM(all_alg_names); i++) {
		sl_crypto_params_t p = params_for(all_alg_names[i], true, ek, ak, 21);
		sl_crypto_t *c = NULL;
		if (make_ctx(&c, &p, SL_BACKEND_OPENSSL, all_alg_names[i]) != SL_CRYPTO_OK)
			continue;
		size_t len = 1392;
		/* One packet each way first: AES-GCM's per-thread slots make their
		 * context at their first use (ossl_gcm_cache.c), once per slot. */
		put_be32(pkt, 0x1234);
		put_be32(pkt + 4, 1);
		CHECK(sl_crypto_seal(c, pkt, len, 1) == SL_CRYPTO_OK, "%s: first seal", all_alg_names[i]);
		CHECK(sl_crypto_open(c, pkt, len, 0) == SL_CRYPTO_OK, "%s: first open", all_alg_names[i]);
		long before = ossl_allocs;
		int bad = 0;
		for (uint64_t seq = 2; seq <= 2001; seq++) {
			put_be32(pkt, 0x1234);
			put_be32(pkt + 4, (uint32_t)seq);
			bad += sl_crypto_seal(c, pkt, len, seq) != SL_CRYPTO_OK;
			bad += sl_crypto_open(c, pkt, len, 0) != SL_CRYPTO_OK;
		}
		CHECK(bad == 0, "%s: %d failures in the allocation loop", all_alg_names[i], bad);
		CHECK(ossl_allocs == before, "%s: %ld libcrypto allocations in 4000 operations",
		      all_alg_names[i], ossl_allocs - before);
		sl_crypto_free(c);
	}
	printf("  no libcrypto allocation per packet: checked for every transform\n");
}

static void test_proc_parser(void)
{
	char path[] = "/tmp/sl-proc-crypto-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	const char sample[] =
		"name         : rfc4106(gcm(aes))\n"
		"driver       : rfc4106(gcm_base(ctr(aes-generic),ghash-generic))\n"
		"module       : kernel\n"
		"priority     : 100\n"
		"type         : aead\n"
		"\n"
		"name         : rfc4106(gcm(aes))\n"
		"driver       : rfc4106(gcm-aes-ce)\n"
		"priority     : 300\n"
		"\n"
		"name         : gcm(aes)\n"
		"driver       : gcm-aes-ce\n"
		"priority     : 400\n"
		"\n"
		"name         : rfc4106(gcm(aes))\n"
		"driver       : rfc4106-gcm-slowengine\n"
		"priority     : 200\n";
	CHECK(write(fd, sample, sizeof(sample) - 1) == (ssize_t)(sizeof(sample) - 1), "write sample");
	close(fd);
	char drv[64];
	CHECK(sl_afalg_proc_driver(path, "rfc4106(gcm(aes))", drv, sizeof(drv)) == 0 &&
		      strcmp(drv, "rfc4106(gcm-aes-ce)") == 0, "highest priority driver: got '%s'", drv);
	CHECK(sl_afalg_proc_driver(path, "gcm(aes)", drv, sizeof(drv)) == 0 &&
		      strcmp(drv, "gcm-aes-ce") == 0, "last entry without trailing blank line: '%s'", drv);
	CHECK(sl_afalg_proc_driver(path, "cbc(aes)", drv, sizeof(drv)) == -1, "absent algorithm found");
	unlink(path);
}

/* The AF_ALG descriptor budget: past it an explicit AF_ALG context is
 * refused with a clear reason and AUTO still gets a working context. */
static void test_afalg_budget(void)
{
	uint8_t key[20] = { 7 };
	sl_crypto_params_t p = { .alg = SL_ALG_AES_GCM_16, .enc_key = key, .enc_key_len = 20 };
	sl_crypto_t *c = NULL;
	char err[160] = "";
	int before = sl_afalg_fds_in_use();
	CHECK(sl_afalg_fd_budget() > 0, "default budget %d", sl_afalg_fd_budget());
	sl_afalg_set_fd_budget(1); /* less than one context needs */
	CHECK(sl_afalg_fd_budget() == 1, "budget set");
	int rc = sl_crypto_new(&c, &p, SL_BACKEND_AFALG, err, sizeof(err));
	CHECK(rc == SL_CRYPTO_ENOTSUP && c == NULL, "afalg over budget refused (rc %d)", rc);
	CHECK(strstr(err, "descriptor budget") != NULL, "reason names the budget: %s", err);
	CHECK(sl_afalg_fds_in_use() == before, "nothing leaked from the budget");
	rc = sl_crypto_new(&c, &p, SL_BACKEND_AUTO, err, sizeof(err));
	CHECK(rc == SL_CRYPTO_OK && c != NULL && sl_crypto_backend(c) == SL_BACKEND_OPENSSL,
	      "auto over budget falls back to OpenSSL");
	sl_crypto_free(c);
	sl_afalg_set_fd_budget(-1);
	CHECK(sl_afalg_fd_budget() > 1, "default restored");
}

int main(void)
{
	if (ossl_count_allocs() != 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("names\n");
	test_names();
	printf("AF_ALG descriptor budget\n");
	test_afalg_budget();
	printf("constant-time compare, wipe\n");
	test_ct_and_wipe();
	printf("HMAC\n");
	test_hmac();

	printf("ESP packet vectors (OpenSSL backend)\n");
	int n = 0;
	for (size_t i = 0; i < NELEM(esp_vectors); i++)
		n += check_esp_vector(&esp_vectors[i], SL_BACKEND_OPENSSL);
	CHECK(n == (int)NELEM(esp_vectors), "only %d of %zu ESP vectors ran", n, NELEM(esp_vectors));

	printf("CBC vectors through the CBC+HMAC transforms (OpenSSL backend)\n");
	n = 0;
	for (size_t i = 0; i < NELEM(cbc_vectors); i++)
		n += check_cbc_vector(&cbc_vectors[i], SL_BACKEND_OPENSSL);
	CHECK(n == 2 * (int)NELEM(cbc_vectors), "only %d CBC cases ran", n);

	printf("every transform\n");
	test_every_alg();
	printf("ChaCha20-Poly1305 composition\n");
	test_chacha_vs_libcrypto();
	printf("bad input\n");
	test_bad_input();
	printf("backend choice\n");
	test_backend_choice();
	printf("key wipe\n");
	test_wipe();
	printf("allocation\n");
	test_no_alloc();
	printf("/proc/crypto parser\n");
	test_proc_parser();

	if (test_failures != 0) {
		printf("%d check(s) FAILED\n", test_failures);
		return 1;
	}
	printf("all crypto KAT checks passed\n");
	return 0;
}
