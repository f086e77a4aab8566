/*
 * test_esp_threads.c - two workers sealing and opening on the same SAs at
 * once, each with its own crypto context (as the engine runs them): every
 * authentic packet must verify, whatever the interleaving; no outbound
 * sequence number is used twice (each worker's increase, RFC 4303 §3.3.3);
 * the per-worker counters sum exactly; the lock-free window accepts a
 * packet that both workers receive at once exactly once (§3.4.3); and a
 * quiet worker's numbers stay inside a 32-packet window (sa.h).
 * Build with -fsanitize=thread to check the fast path for data races.
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
static atomic_ulong bad, ok, replays;
/* Per thread: the sequence numbers it sent (in order) and the bytes it carried. */
static uint32_t sent[2][PER_THREAD];
static uint64_t sent_bytes[2];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

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
		if (r == SL_OK) {
			sent[idx][i] = rd32(esp + 4);
			sent_bytes[idx] += n;
			r = sl_esp_decap(&w, &db, SL_ENCAP_UDP, esp, len, &from, &got, &glen);
		} else {
			sent[idx][i] = 0;
		}
		if (r == SL_OK && glen == n && memcmp(got, inner, n) == 0)
			atomic_fetch_add(&ok, 1);
		else if (r == SL_DROP_REPLAY) /* far reordering between threads may leave the window */
			atomic_fetch_add(&replays, 1);
		else
			atomic_fetch_add(&bad, 1);
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* §3.3.3 across workers: each worker's numbers increase, none is used twice. */
static void check_seqs(void)
{
	static uint32_t all[2 * PER_THREAD];
	uint32_t top = 0;
	for (int t = 0; t < 2; t++) {
		for (int i = 0; i < PER_THREAD; i++) {
			CHECK(sent[t][i] != 0);
			if (i)
				CHECK(sent[t][i] > sent[t][i - 1]);
			all[t * PER_THREAD + i] = sent[t][i];
			if (sent[t][i] > top)
				top = sent[t][i];
		}
	}
	qsort(all, 2 * PER_THREAD, sizeof(all[0]), cmp_u32);
	int dups = 0;
	for (int i = 1; i < 2 * PER_THREAD; i++)
		dups += all[i] == all[i - 1];
	CHECK_EQ(dups, 0);
	CHECK_EQ(sl_sa_seq(out_sa), top);
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
	atomic_store(&replays, 0);
	sent_bytes[0] = sent_bytes[1] = 0;
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&bad))
		fprintf(stderr, "%s: %lu bad of %lu\n", alg, atomic_load(&bad), atomic_load(&ok));
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(atomic_load(&ok) > PER_THREAD);
	check_seqs();
	/* The per-worker counters, summed, are exact. */
	sl_sa_counts_t co = sl_sa_counts(sas[SL_DIR_OUT]), ci = sl_sa_counts(sas[SL_DIR_IN]);
	CHECK_EQ(co.packets, 2 * PER_THREAD);
	CHECK_EQ(co.bytes, sent_bytes[0] + sent_bytes[1]);
	CHECK_EQ(ci.packets, atomic_load(&ok));
	CHECK_EQ(ci.drops_replay, atomic_load(&replays));
	CHECK_EQ(ci.drops_icv + ci.drops_malformed + ci.drops_padding, 0);
	sl_sadb_destroy(&db);
}

static sl_sa_t *mk_sa(uint32_t spi, uint8_t dir, uint32_t window)
{
	uint8_t ekey[20];
	for (int i = 0; i < 20; i++)
		ekey[i] = (uint8_t)(i * 3 + 9);
	sl_sa_spec_t sp = { .spi = spi, .dir = dir, .algorithm = "aes128gcm16", .enc_key = ekey,
			    .enc_key_len = 20, .encap = SL_ENCAP_UDP, .esn = false,
			    .replay_window = window, .backend = SL_BACKEND_OPENSSL };
	sl_endpoint_parse(&sp.remote, "127.0.0.1", 4500);
	char err[200];
	sl_sa_t *sa = sl_sa_new(&sp, 2, err, sizeof(err));
	if (!sa)
		fprintf(stderr, "sl_sa_new: %s\n", err);
	return sa;
}

/* Both workers receive every packet (a duplicating network): each
 * authentic packet is accepted by exactly one of them (§3.4.3 without a
 * lock: the window's compare-and-swap decides). */
#define DUPS 4000
#define DUP_LEN 96
static uint8_t dup_pkt[2][DUPS][DUP_LEN + 64];
static size_t dup_len[DUPS];
static atomic_int dup_ok[DUPS];

static void *dup_worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	static sl_counters_t cnt[2];
	sl_wctx_t w = { .worker = idx, .cnt = &cnt[idx] };
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	for (int k = 0; k < DUPS; k++) {
		/* Worker 1 takes neighbours swapped: out of order, inside the window. */
		int i = idx && (k ^ 1) < DUPS ? k ^ 1 : k;
		uint8_t *got;
		size_t glen;
		if (sl_esp_decap(&w, &db, SL_ENCAP_UDP, dup_pkt[idx][i], dup_len[i], &from, &got, &glen) == SL_OK)
			atomic_fetch_add(&dup_ok[i], 1);
	}
	return NULL;
}

static void dup_race(void)
{
	sl_sadb_init(&db);
	sl_sa_t *o = mk_sa(0x5151, SL_DIR_OUT, 0), *in = mk_sa(0x5151, SL_DIR_IN, 64);
	CHECK(o && in);
	if (!o || !in)
		return;
	sl_sadb_add(&db, o);
	sl_sadb_add(&db, in);
	static sl_counters_t c0;
	sl_wctx_t w0 = { .worker = 0, .cnt = &c0 };
	uint8_t buf[512], inner[DUP_LEN];
	for (int i = 0; i < DUPS; i++) {
		size_t n = ipv4(inner, DUP_LEN, (uint8_t)i);
		memcpy(buf + SL_ESP_HEADROOM, inner, n);
		uint8_t *esp;
		size_t len;
		CHECK_EQ(sl_esp_encap(&w0, o, buf, sizeof(buf), n, 4, &esp, &len), SL_OK);
		CHECK(len <= sizeof(dup_pkt[0][0]));
		memcpy(dup_pkt[0][i], esp, len);
		memcpy(dup_pkt[1][i], esp, len);
		dup_len[i] = len;
		atomic_store(&dup_ok[i], 0);
	}
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, dup_worker, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	int once = 0;
	for (int i = 0; i < DUPS; i++)
		once += atomic_load(&dup_ok[i]) == 1;
	CHECK_EQ(once, DUPS);
	sl_sa_counts_t c = sl_sa_counts(in);
	CHECK_EQ(c.packets, DUPS);
	CHECK_EQ(c.drops_replay, DUPS);
	CHECK_EQ(sl_sa_seq(in), DUPS);
	sl_sadb_destroy(&db);
}

/* Worker 1 carries a packet now and then while worker 0 carries bulk on
 * the same SA: its numbers must stay inside the peer's window (32, the
 * smallest a receiver must support, RFC 4303 §3.4.3), not age in a run
 * reserved long ago. */
static void quiet_worker(void)
{
	sl_sadb_init(&db);
	sl_sa_t *o = mk_sa(0x6161, SL_DIR_OUT, 0), *in = mk_sa(0x6161, SL_DIR_IN, 32);
	CHECK(o && in);
	if (!o || !in)
		return;
	sl_sadb_add(&db, o);
	sl_sadb_add(&db, in);
	static sl_counters_t c[2];
	sl_wctx_t w[2] = { { .worker = 0, .cnt = &c[0] }, { .worker = 1, .cnt = &c[1] } };
	sl_endpoint_t from;
	sl_endpoint_parse(&from, "127.0.0.1", 4500);
	uint8_t buf[512], inner[100];
	int accepted = 0, total = 0;
	for (int round = 0; round < 50; round++) {
		for (int k = 0; k < 1 + round % 40; k++) {
			int who = k == 0 ? 1 : 0;
			size_t n = ipv4(inner, sizeof(inner), (uint8_t)k);
			memcpy(buf + SL_ESP_HEADROOM, inner, n);
			uint8_t *esp, *got;
			size_t len, glen;
			CHECK_EQ(sl_esp_encap(&w[who], o, buf, sizeof(buf), n, 4, &esp, &len), SL_OK);
			total++;
			accepted += sl_esp_decap(&w[who], &db, SL_ENCAP_UDP, esp, len, &from, &got, &glen) == SL_OK;
		}
	}
	CHECK_EQ(accepted, total);
	sl_sadb_destroy(&db);
}

int main(void)
{
	dup_race();
	quiet_worker();
	run("aes128gcm16");
	run("aes128-sha256");
	run("chacha20poly1305");
	TEST_DONE("test_esp_threads");
}
