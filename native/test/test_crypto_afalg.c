/*
 * test_crypto_afalg.c - the kernel (AF_ALG) backend: the published vectors
 * of crypto_vectors.h, round trips and forgeries, and cross-backend runs
 * (seal in the kernel, open with OpenSSL, and back), so both backends are
 * shown to speak the same ESP.  Prints the kernel driver per transform.
 *
 * Standalone: runs wherever AF_ALG exists (the QEMU arm64 guest, a board).
 * Without AF_ALG it prints SKIPPED and exits 77 (ctest: skipped).
 */
#include "crypto.h"
#include "crypto_kat.h"
#include "crypto_checks.h"
#include "crypto_vectors.h"

#define EXIT_SKIP 77

static int cross(const char *name, bool esn, int *ran)
{
	uint8_t ek[64], ak[64];
	char what[96];
	sl_crypto_params_t p = params_for(name, esn, ek, ak, 77);
	sl_crypto_t *k = NULL, *o = NULL;

	snprintf(what, sizeof(what), "%s%s", name, esn ? " esn" : "");
	if (make_ctx(&k, &p, SL_BACKEND_AFALG, what) != SL_CRYPTO_OK)
		return 0;
	if (make_ctx(&o, &p, SL_BACKEND_OPENSSL, what) != SL_CRYPTO_OK) {
		sl_crypto_free(k);
		return 0;
	}
	printf("  %-24s kernel driver %s\n", what, sl_crypto_driver(k));
	CHECK(sl_crypto_backend(k) == SL_BACKEND_AFALG, "%s: backend", what);

	char w[128];
	snprintf(w, sizeof(w), "%s afalg->afalg", what);
	check_roundtrip(k, k, esn, w);
	snprintf(w, sizeof(w), "%s afalg->openssl", what);
	check_roundtrip(k, o, esn, w);
	snprintf(w, sizeof(w), "%s openssl->afalg", what);
	check_roundtrip(o, k, esn, w);
	snprintf(w, sizeof(w), "%s tamper (kernel opens)", what);
	check_tamper(o, k, esn, w);

	/* The largest payload: either the kernel takes it (and agrees with
	 * OpenSSL) or it fails cleanly, and the next packet must still work
	 * (a half-sent request must not stick to the socket). */
	static uint8_t big[65536 + 64];
	size_t bs = sl_crypto_block_size(k), ivl = sl_crypto_iv_len(k);
	size_t blen = 65535 - 65535 % bs;
	uint64_t bseq = esn ? 0x0000000300000044ull : 0x44;
	fill_pattern(big + 8 + ivl, blen, 5);
	put_be32(big, 0x4242);
	put_be32(big + 4, (uint32_t)bseq);
	int brc = sl_crypto_seal(k, big, blen, bseq);
	CHECK(brc == SL_CRYPTO_OK || brc == SL_CRYPTO_EIO, "%s: 64 KiB seal: %d", what, brc);
	if (brc == SL_CRYPTO_OK)
		CHECK(sl_crypto_open(o, big, blen, (uint32_t)(bseq >> 32)) == SL_CRYPTO_OK,
		      "%s: OpenSSL rejects the kernel's 64 KiB packet", what);
	else
		printf("  %-24s 64 KiB payload refused by the kernel (EIO)\n", what);
	snprintf(w, sizeof(w), "%s after 64 KiB", what);
	check_roundtrip(k, o, esn, w);

	/* Wiping closes the sockets: the context is dead afterwards. */
	sl_crypto_wipe_keys(k);
	uint8_t pkt[PKT_MAX] = { 0 };
	put_be32(pkt + 4, 1);
	CHECK(sl_crypto_seal(k, pkt, 16, 1) == SL_CRYPTO_EIO, "%s: sealing after wipe", what);
	sl_crypto_free(k);
	sl_crypto_free(o);
	(*ran)++;
	return 1;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!sl_afalg_available()) {
		printf("SKIPPED: AF_ALG not available on this kernel\n");
		return EXIT_SKIP;
	}

	int ran = 0;
	printf("ESP packet vectors (AF_ALG backend)\n");
	for (size_t i = 0; i < NELEM(esp_vectors); i++)
		ran += check_esp_vector(&esp_vectors[i], SL_BACKEND_AFALG);
	printf("CBC vectors through the CBC+HMAC transforms (AF_ALG backend)\n");
	for (size_t i = 0; i < NELEM(cbc_vectors); i++)
		ran += check_cbc_vector(&cbc_vectors[i], SL_BACKEND_AFALG);

	printf("cross-backend round trips and forgeries\n");
	int transforms = 0;
	for (size_t i = 0; i < NELEM(all_alg_names); i++)
		for (int esn = 0; esn <= 1; esn++)
			cross(all_alg_names[i], esn != 0, &transforms);
	ran += transforms;

	if (ran == 0) {
		printf("SKIPPED: AF_ALG works but the kernel offers none of the ESP transforms\n");
		return EXIT_SKIP;
	}
	printf("%d of %zu transform/ESN combinations offered by the kernel\n", transforms,
	       2 * NELEM(all_alg_names));
	if (test_failures != 0) {
		printf("%d check(s) FAILED\n", test_failures);
		return 1;
	}
	printf("all AF_ALG checks passed\n");
	return 0;
}
