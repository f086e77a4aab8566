/*
 * test_esp_threads.c - two workers sealing and opening on the same SAs at
 * once, each with its own crypto context (as the engine runs them): every
 * authentic packet must verify, whatever the interleaving.
 */
#include "engine_check.h"
#include "esp.h"
#include "sadb.h"

#include <pthread.h>
#include <string.h>

#define PER_THREAD 20000

static sl_sadb_t db;
static sl_sa_t *out_sa;
static const char *alg_name;
static atomic_ulong bad, ok;

static size_t ipv4(uint8_t *p, size_t total, uint8_t fill)
{
	memset(p, fill, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[8] = 64;
	p[9] = 253;
	uint8_t src[4] = { 198, 18, 2, 5 }, dst[4] = { 198, 18, 1, 7 };
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	p[10] = p[11] = 0;
	p[4] = p[5] = p[6] = p[7] = 0;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	return total;
}

static void *worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	static sl_counters_t cnt[2];
	sl_wctx_t w = { .worker = idx, .cnt = &cnt[idx], .sink = NULL };
	uint8_t buf[2048], inner[1500];
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = ipv4(inner, 40 + (size_t)((i * 37 + idx) % 1400), (uint8_t)i);
		memcpy(buf + SL_ESP_HEADROOM, inner, n);
		uint8_t *esp, *got;
		size_t len, glen;
		sl_drop_t r = sl_esp_encap(&w, out_sa, buf, sizeof(buf), n, 4, &esp, &len);
		if (r == SL_OK)
			r = sl_esp_decap(&w, &db, SL_ENCAP_UDP, esp, len, &from, &got, &glen);
		if (r == SL_OK && glen == n && memcmp(got, inner, n) == 0)
			atomic_fetch_add(&ok, 1);
		else if (r != SL_DROP_REPLAY) /* far reordering between threads may leave the window */
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static void run(const char *alg)
{
	alg_name = alg;
	sl_alg_t a;
	size_t ek, ak;
	CHECK_EQ(sl_alg_parse(alg, &a, &ek, &ak), 0);
	uint8_t ekey[36], akey[32];
	for (int i = 0; i < 36; i++)
		ekey[i] = (uint8_t)(i * 7 + 1);
	for (int i = 0; i < 32; i++)
		akey[i] = (uint8_t)(i * 5 + 3);
	sl_sadb_init(&db);
	sl_sa_t *sas[2];
	for (int d = 0; d < 2; d++) {
		sl_sa_spec_t sp = { .spi = 0x4242, .dir = (uint8_t)d, .algorithm = alg, .enc_key = ekey,
				    .enc_key_len = ek, .auth_key = ak ? akey : NULL, .auth_key_len = ak,
				    .encap = SL_ENCAP_UDP, .esn = true, .replay_window = 65536,
				    .backend = SL_BACKEND_OPENSSL };
		sl_endpoint_parse(&sp.remote, "127.0.0.1", 4500);
		char err[200];
		sas[d] = sl_sa_new(&sp, 2, err, sizeof(err));
		CHECK(sas[d] != NULL);
		if (!sas[d])
			return;
		sl_sadb_add(&db, sas[d]);
	}
	out_sa = sas[SL_DIR_OUT];
	atomic_store(&bad, 0);
	atomic_store(&ok, 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&bad))
		fprintf(stderr, "%s: %lu bad of %lu\n", alg, atomic_load(&bad), atomic_load(&ok));
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(atomic_load(&ok) > PER_THREAD);
	sl_sadb_destroy(&db);
}

int main(void)
{
	run("aes128gcm16");
	run("aes128-sha256");
	run("chacha20poly1305");
	TEST_DONE("test_esp_threads");
}
