/*
 * bench_crypto.c - seal/open throughput per transform and backend.  Not a
 * test (the CMake glob only picks test_*.c); build and run by hand:
 *
 *   gcc -std=c11 -O2 -D_GNU_SOURCE -Inative/src/crypto native/src/crypto/[a-z]*.c \
 *       native/test/bench_crypto.c -lcrypto -o /tmp/bench_crypto
 *   /tmp/bench_crypto [payload_bytes] [packets] [transform]
 *
 * Then AES-GCM sealing with the packets spread over 1, 64 and 1,000 SAs in
 * turn: the OpenSSL backend keys per-thread slots from each SA's key
 * (ossl_gcm_cache.c), so SAs beyond a thread's slots cost a re-key per packet.
 */
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint8_t pkt[70000], tmpl[70000];

static void bench(const char *name, sl_backend_t b, size_t len, long packets)
{
	uint8_t ek[64], ak[64];
	size_t ekl, akl;
	sl_alg_t alg;
	sl_crypto_t *c = NULL;
	char err[256];

	if (sl_alg_parse(name, &alg, &ekl, &akl) != 0)
		return;
	memset(ek, 0x42, sizeof(ek));
	memset(ak, 0x24, sizeof(ak));
	sl_crypto_params_t p = { .alg = alg, .enc_key = ek, .enc_key_len = ekl,
				 .auth_key = akl ? ak : NULL, .auth_key_len = akl, .esn = true };
	if (sl_crypto_new(&c, &p, b, err, sizeof(err)) != SL_CRYPTO_OK) {
		printf("%-18s %-8s unavailable: %s\n", name,
		       b == SL_BACKEND_AFALG ? "afalg" : "openssl", err);
		return;
	}
	size_t n = len - len % sl_crypto_block_size(c);
	size_t total = 8 + sl_crypto_iv_len(c) + n + sl_crypto_icv_len(c);
	memset(pkt, 0x5a, sizeof(pkt));

	double t0 = now();
	for (long i = 1; i <= packets; i++) {
		put_be32(pkt + 4, (uint32_t)i);
		if (sl_crypto_seal(c, pkt, n, (uint64_t)i) != SL_CRYPTO_OK) {
			printf("%s: seal failed\n", name);
			break;
		}
	}
	double seal_s = now() - t0;

	/* Open copies of one sealed packet (the copy is part of the cost). */
	memset(tmpl, 0x5a, sizeof(tmpl));
	put_be32(tmpl + 4, 1);
	if (sl_crypto_seal(c, tmpl, n, 1) != SL_CRYPTO_OK)
		printf("%s: seal failed\n", name);
	t0 = now();
	for (long i = 1; i <= packets; i++) {
		memcpy(pkt, tmpl, total);
		if (sl_crypto_open(c, pkt, n, 0) != SL_CRYPTO_OK) {
			printf("%s: open failed\n", name);
			break;
		}
	}
	double open_s = now() - t0;

	printf("%-17s %-8s %-44s seal %7.1f MB/s %8.0f pkt/s  open %7.1f MB/s\n", name,
	       sl_crypto_backend_name(c), sl_crypto_driver(c),
	       (double)n * (double)packets / seal_s / 1e6, (double)packets / seal_s,
	       (double)n * (double)packets / open_s / 1e6);
	sl_crypto_free(c);
}

/* ns per sealed packet with the packets of one thread spread over k SAs in turn. */
static double spread_ns(const char *name, size_t len, long packets, int k)
{
	uint8_t ek[64];
	size_t ekl, akl;
	sl_alg_t alg;
	char err[256];
	sl_crypto_t **c = calloc((size_t)k, sizeof(*c));
	double ns = -1;

	if (c == NULL || sl_alg_parse(name, &alg, &ekl, &akl) != 0 || akl != 0)
		goto out;
	for (int i = 0; i < k; i++) {
		memset(ek, 0x42 + i, sizeof(ek));
		sl_crypto_params_t p = { .alg = alg, .enc_key = ek, .enc_key_len = ekl, .esn = true,
					 .use = SL_CRYPTO_USE_SEAL };
		if (sl_crypto_new(&c[i], &p, SL_BACKEND_OPENSSL, err, sizeof(err)) != SL_CRYPTO_OK) {
			printf("%s: %s\n", name, err);
			goto out;
		}
	}
	size_t n = len - len % sl_crypto_block_size(c[0]);
	memset(pkt, 0x5a, sizeof(pkt));
	double t0 = now();
	for (long i = 1; i <= packets; i++) {
		put_be32(pkt + 4, (uint32_t)i);
		if (sl_crypto_seal(c[i % k], pkt, n, (uint64_t)i) != SL_CRYPTO_OK) {
			printf("%s: seal failed\n", name);
			goto out;
		}
	}
	ns = (now() - t0) / (double)packets * 1e9;
out:
	for (int i = 0; c != NULL && i < k; i++)
		sl_crypto_free(c[i]);
	free(c);
	return ns;
}

int main(int argc, char **argv)
{
	size_t len = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1400;
	long packets = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
	const char *only = argc > 3 ? argv[3] : NULL; /* one transform, e.g. under perf */
	const char *names[] = { "aes128gcm16", "aes256gcm16", "aes128-sha1", "aes256-sha1",
				"aes128-sha256", "aes256-sha256", "3des-sha1", "chacha20poly1305" };

	if (len < 16 || len > 65535 || packets <= 0) {
		fprintf(stderr, "usage: bench_crypto [payload_bytes 16..65535] [packets] [transform]\n");
		return 2;
	}
	printf("payload %zu bytes, %ld packets, ESN on\n", len, packets);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (only != NULL && strcmp(only, names[i]) != 0)
			continue;
		bench(names[i], SL_BACKEND_OPENSSL, len, packets);
		if (sl_afalg_available())
			bench(names[i], SL_BACKEND_AFALG, len, packets);
	}
	const int spread[] = { 1, 64, 1000 };
	for (int g = 0; g < 2; g++) {
		const char *name = g ? "aes256gcm16" : "aes128gcm16";
		if (only != NULL && strcmp(only, name) != 0)
			continue;
		double one = spread_ns(name, len, packets, 1);
		for (size_t i = 0; i < sizeof(spread) / sizeof(spread[0]); i++) {
			double ns = i ? spread_ns(name, len, packets, spread[i]) : one;
			printf("%-17s openssl  seal, packets over %4d SAs in turn: %6.0f ns/packet (%.2fx of 1 SA)\n",
			       name, spread[i], ns, one > 0 ? ns / one : 0);
		}
	}
	return 0;
}
