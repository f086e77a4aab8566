/*
 * test_gcm_cache.c - the OpenSSL AES-GCM backend's per-thread keyed contexts
 * (ossl_gcm_cache.c): many more SAs than slots stay correct, re-keying a
 * slot allocates nothing, and a dead SA's key is wiped from every thread's
 * slots, including a thread other than the one that frees it.
 */
#include "crypto.h"
#include "crypto_checks.h"
#include "crypto_vectors.h"
#include "ossl_alloc_count.h"
#include "ossl_gcm_cache.h"

#include <openssl/crypto.h>
#include <pthread.h>

#define NSA 1500 /* sealers and openers: more than the 1,024 slots a key size has per thread */

static sl_crypto_t *sealer[NSA], *opener[NSA];

static void make_pairs(const char *alg)
{
	uint8_t ek[64], ak[64];
	for (int i = 0; i < NSA; i++) {
		sl_crypto_params_t p = params_for(alg, i & 1, ek, ak, 100 + (uint32_t)i);
		p.use = SL_CRYPTO_USE_SEAL;
		CHECK(make_ctx(&sealer[i], &p, SL_BACKEND_OPENSSL, alg) == SL_CRYPTO_OK, "%s %d", alg, i);
		p.use = SL_CRYPTO_USE_OPEN;
		CHECK(make_ctx(&opener[i], &p, SL_BACKEND_OPENSSL, alg) == SL_CRYPTO_OK, "%s %d", alg, i);
	}
}

/* Every SA in turn, several rounds: each packet is sealed by its SA and
 * opened by its peer context, and refused by the next SA's (another key). */
static int rounds(int n)
{
	uint8_t pkt[PKT_MAX], copy[PKT_MAX];
	int bad = 0;
	for (int r = 0; r < n; r++) {
		for (int i = 0; i < NSA; i++) {
			size_t len = 64 + (size_t)((i * 7 + r) % 50) * 4;
			memset(pkt, 0, sizeof(pkt));
			put_be32(pkt, 0x1000 + (uint32_t)i);
			put_be32(pkt + 4, (uint32_t)(r + 1));
			fill_pattern(pkt + 16, len, (uint32_t)(i + r));
			bad += sl_crypto_seal(sealer[i], pkt, len, (uint64_t)(r + 1)) != SL_CRYPTO_OK;
			memcpy(copy, pkt, sizeof(pkt));
			bad += sl_crypto_open(opener[(i + 1) % NSA], copy, len, 0) != SL_CRYPTO_EAUTH;
			bad += sl_crypto_open(opener[i], pkt, len, 0) != SL_CRYPTO_OK;
			uint8_t want[PKT_MAX];
			fill_pattern(want, len, (uint32_t)(i + r));
			bad += memcmp(pkt + 16, want, len) != 0;
		}
	}
	return bad;
}

static void *other_thread(void *arg)
{
	(void)arg;
	sl_crypto_thread_prepare();
	return (void *)(intptr_t)rounds(1);
}

static void free_all(void)
{
	for (int i = 0; i < NSA; i++) {
		sl_crypto_free(sealer[i]);
		sl_crypto_free(opener[i]);
		sealer[i] = opener[i] = NULL;
	}
}

static void test_size(const char *alg)
{
	make_pairs(alg);
	/* Warm: this thread's slots exist; from here on only re-keying. */
	CHECK(rounds(1) == 0, "%s: first round", alg);
	long before = ossl_allocs;
	CHECK(rounds(3) == 0, "%s: %d SAs through 1,024 slots", alg, NSA);
	CHECK(ossl_allocs == before, "%s: %ld libcrypto allocations while re-keying slots", alg,
	      ossl_allocs - before);

	/* A second thread, alive while the SAs die: its slots are wiped too. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0, "%s: thread", alg);
	void *rc = NULL;
	pthread_join(t, &rc);
	CHECK(rc == NULL, "%s: the other thread's round failed", alg);
	/* It ended: its slots left the registry with it.  One more packet here
	 * keys SA 0 in this thread's slots, the only ones left. */
	uint8_t pkt[PKT_MAX] = { 0 };
	put_be32(pkt, 0x1000);
	put_be32(pkt + 4, 9);
	CHECK(sl_crypto_seal(sealer[0], pkt, 64, 9) == SL_CRYPTO_OK, "%s: seal after the thread", alg);
	uint64_t first = sl_ossl_aead_tag(sealer[0], 1);
	CHECK(sl_gcm_cache_holding(first) == 1, "%s: key in %u slots, want 1 (this thread's)", alg,
	      sl_gcm_cache_holding(first));

	uint64_t tags[2 * NSA];
	for (int i = 0; i < NSA; i++) {
		tags[2 * i] = sl_ossl_aead_tag(sealer[i], 1);
		tags[2 * i + 1] = sl_ossl_aead_tag(opener[i], 0);
	}
	free_all();
	unsigned left = 0;
	for (int i = 0; i < 2 * NSA; i++)
		left += sl_gcm_cache_holding(tags[i]);
	CHECK(left == 0, "%s: %u slots still keyed for freed SAs", alg, left);
}

/* A thread that lives on while another frees the SA it used. */
static sl_crypto_t *shared_ctx;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;

static void *holder(void *arg)
{
	(void)arg;
	uint8_t pkt[PKT_MAX] = { 0 };
	put_be32(pkt, 0x4242);
	put_be32(pkt + 4, 1);
	int rc = sl_crypto_seal(shared_ctx, pkt, 64, 1);
	pthread_mutex_lock(&mu);
	phase = rc == SL_CRYPTO_OK ? 1 : -1;
	pthread_cond_broadcast(&cv);
	while (phase != 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void test_live_thread(void)
{
	uint8_t ek[64], ak[64];
	sl_crypto_params_t p = params_for("aes256gcm16", false, ek, ak, 77);
	p.use = SL_CRYPTO_USE_SEAL;
	CHECK(make_ctx(&shared_ctx, &p, SL_BACKEND_OPENSSL, "aes256gcm16") == SL_CRYPTO_OK, "live");
	uint64_t tag = sl_ossl_aead_tag(shared_ctx, 1);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, holder, NULL) == 0, "live: thread");
	pthread_mutex_lock(&mu);
	while (phase == 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	CHECK(phase == 1, "live: the thread's seal failed");
	/* The thread sealed: one slot there (installing keys none). */
	CHECK(sl_gcm_cache_holding(tag) == 1, "live: key in %u slots before free, want 1",
	      sl_gcm_cache_holding(tag));
	sl_crypto_free(shared_ctx);
	CHECK(sl_gcm_cache_holding(tag) == 0, "live: key in %u slots after free",
	      sl_gcm_cache_holding(tag));
	pthread_mutex_lock(&mu);
	phase = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
}

int main(void)
{
	if (ossl_count_allocs() != 0)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_size("aes128gcm16");
	test_size("aes256gcm16");
	test_live_thread();
	if (test_failures != 0) {
		printf("%d check(s) FAILED\n", test_failures);
		return 1;
	}
	printf("test_gcm_cache: ok\n");
	return 0;
}
