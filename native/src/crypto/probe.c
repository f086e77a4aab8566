/*
 * probe.c - crypto-backend = auto by measurement (see crypto.h).
 *
 * A hardware engine behind AF_ALG only pays above some packet size, and
 * each AF_ALG operation costs syscalls, so "auto" does not prefer AF_ALG
 * blindly: the first SA of a transform times each backend with a throw-away
 * key on the path the data plane takes, at a small (64-byte) and an
 * MTU-sized (1400-byte) payload:
 *   - seals (outbound SAs) through a crypto batch of PROBE_BATCH packets,
 *     as a worker's flush does (crypto_batch.h): AF_ALG requests share
 *     io_uring rounds where the kernel allows, else go one by one; the cost
 *     per packet is the batch's time / PROBE_BATCH;
 *   - opens (inbound SAs) through the same kind of batch, as a worker
 *     decapsulates a received batch (esp_in_batch.h: the opens of a
 *     recvmmsg batch or UDP GRO train share io_uring rounds).
 * The syscalls are counted by the AF_ALG backend itself (this thread's
 * tally), not estimated.  The result, kept for the process, chooses per SA
 * from its direction's figures (sl_probe_choose).  Under QEMU's TCG the
 * figures are emulator timings, not hardware ones.
 */
#include "crypto_internal.h"
#include "crypto_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE_SLOTS 32
#define PROBE_BATCH 32 /* one worker batch's worth of one SA's packets */
#define ROUNDS 3
#define PKT_ROOM (SL_ESP_HDR_LEN + SL_MAX_IV_LEN + SL_PROBE_MTU + 64 + SL_MAX_ICV_LEN)

enum { SEAL, OPEN };
enum { AFALG, OSSL };

typedef struct {
	bool used;
	sl_alg_t alg;
	size_t enc_key_len;
	bool esn;
	sl_probe_fig_t fig[2][2]; /* [SEAL/OPEN][AFALG/OSSL] */
} slot_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot_t slots[PROBE_SLOTS];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t per_packet(uint64_t ns)
{
	uint64_t per = ns / PROBE_BATCH;
	return per == 0 ? 1 : per > UINT32_MAX ? UINT32_MAX : (uint32_t)per;
}

typedef struct {
	sl_crypto_t *c;
	sl_crypto_batch_t *b;
	uint8_t *pkt;   /* PROBE_BATCH packets of PKT_ROOM */
	uint8_t *saved; /* their sealed copies, for the opens */
	uint64_t seq;
} bench_t;

static uint8_t *pkt_at(uint8_t *base, int k)
{
	return base + (size_t)k * PKT_ROOM;
}

/* One batch of seals, as a worker's flush runs it; ns, 0 on failure. */
static uint64_t seal_batch(bench_t *x, size_t len)
{
	uint64_t t0 = now_ns();
	for (int k = 0; k < PROBE_BATCH; k++) {
		uint64_t seq = ++x->seq;
		sl_put_be32(pkt_at(x->pkt, k) + 4, (uint32_t)seq);
		if (sl_crypto_batch_seal(x->b, x->c, pkt_at(x->pkt, k), len, seq) < 0)
			return 0;
	}
	sl_crypto_batch_run(x->b);
	uint64_t dt = now_ns() - t0;
	bool ok = true;
	for (int k = 0; k < PROBE_BATCH; k++)
		ok = ok && sl_crypto_batch_result(x->b, k) == SL_CRYPTO_OK;
	sl_crypto_batch_clear(x->b);
	return ok ? dt : 0;
}

/* PROBE_BATCH opens of the packets sealed last, in one batch as a worker's
 * received batch runs them (esp_in_batch.h); ns, 0 on failure.  The
 * ciphertexts are restored before the clock starts. */
static uint64_t open_batch(bench_t *x, size_t len)
{
	memcpy(x->pkt, x->saved, (size_t)PROBE_BATCH * PKT_ROOM);
	uint64_t t0 = now_ns();
	for (int k = 0; k < PROBE_BATCH; k++) {
		if (sl_crypto_batch_open(x->b, x->c, pkt_at(x->pkt, k), len, 0) < 0)
			return 0;
	}
	sl_crypto_batch_run(x->b);
	uint64_t dt = now_ns() - t0;
	bool ok = true;
	for (int k = 0; k < PROBE_BATCH; k++)
		ok = ok && sl_crypto_batch_result(x->b, k) == SL_CRYPTO_OK;
	sl_crypto_batch_clear(x->b);
	return ok ? dt : 0;
}

/* Best of ROUNDS (the other processes on the box only add time), per
 * packet; 0 on failure.  Adds the timed packets' AF_ALG syscalls to *sys. */
static uint32_t best_of(bench_t *x, int dir, size_t len, uint64_t *sys)
{
	uint64_t best = UINT64_MAX;
	if (dir == OPEN) {
		/* Fresh ciphertexts of this size to open (not counted). */
		if (seal_batch(x, len) == 0)
			return 0;
		memcpy(x->saved, x->pkt, (size_t)PROBE_BATCH * PKT_ROOM);
	}
	uint64_t r0, s0, r1, s1;
	sl_afalg_thread_tally(&r0, &s0);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t dt = dir == SEAL ? seal_batch(x, len) : open_batch(x, len);
		if (dt == 0)
			return 0;
		if (dt < best)
			best = dt;
	}
	sl_afalg_thread_tally(&r1, &s1);
	*sys += s1 - s0;
	return per_packet(best);
}

/* Time one backend both ways; figures stay zero where it cannot run. */
static void measure(const sl_crypto_params_t *p, sl_backend_t be, sl_probe_fig_t *seal, sl_probe_fig_t *open)
{
	char err[128];
	bench_t x = { 0 };
	if (sl_crypto_new(&x.c, p, be, err, sizeof(err)) != SL_CRYPTO_OK)
		return;
	x.b = sl_crypto_batch_new(PROBE_BATCH);
	x.pkt = calloc(PROBE_BATCH, PKT_ROOM);
	x.saved = calloc(PROBE_BATCH, PKT_ROOM);
	if (x.b != NULL && x.pkt != NULL && x.saved != NULL) {
		size_t bs = sl_crypto_block_size(x.c);
		size_t small = (SL_PROBE_SMALL + bs - 1) / bs * bs, mtu = (SL_PROBE_MTU + bs - 1) / bs * bs;
		sl_probe_fig_t *f[2] = { seal, open };
		seal_batch(&x, small); /* warm up (key schedule, sockets, ring) */
		for (int dir = SEAL; dir <= OPEN; dir++) {
			uint64_t sys = 0;
			uint32_t ns_small = best_of(&x, dir, small, &sys);
			uint32_t ns_mtu = ns_small ? best_of(&x, dir, mtu, &sys) : 0;
			if (ns_mtu == 0)
				continue;
			/* The batch falls back to one by one if the kernel refuses io_uring. */
			sl_crypto_batch_stats_t st;
			sl_crypto_batch_stats(x.b, &st);
			*f[dir] = (sl_probe_fig_t){
				.small_ns = ns_small,
				.mtu_ns = ns_mtu,
				.sys_milli = (uint32_t)(sys * 1000 / (2ull * ROUNDS * PROBE_BATCH)),
				.batched = be == SL_BACKEND_AFALG && st.uring,
			};
		}
	}
	free(x.pkt);
	free(x.saved);
	sl_crypto_batch_free(x.b);
	sl_crypto_free(x.c);
}

sl_backend_t sl_probe_choose(const sl_probe_fig_t *afalg, const sl_probe_fig_t *openssl, char *reason,
			     size_t reason_len)
{
	sl_backend_t b;
	if (afalg->mtu_ns == 0 && openssl->mtu_ns == 0) {
		b = SL_BACKEND_OPENSSL;
		snprintf(reason, reason_len, "neither backend measured: openssl");
	} else if (afalg->mtu_ns == 0) {
		b = SL_BACKEND_OPENSSL;
		snprintf(reason, reason_len, "af_alg unavailable");
	} else if (openssl->mtu_ns == 0) {
		b = SL_BACKEND_AFALG;
		snprintf(reason, reason_len, "openssl not measured");
	} else {
		/* MTU-sized packets are the bulk of tunnel traffic; a tie keeps
		 * OpenSSL (no syscalls, no kernel descriptors). */
		b = afalg->mtu_ns < openssl->mtu_ns ? SL_BACKEND_AFALG : SL_BACKEND_OPENSSL;
		const sl_probe_fig_t *w = b == SL_BACKEND_AFALG ? afalg : openssl;
		const sl_probe_fig_t *l = b == SL_BACKEND_AFALG ? openssl : afalg;
		snprintf(reason, reason_len, "%s %s at %d B: %u vs %u ns/packet", b == SL_BACKEND_AFALG ? "af_alg" : "openssl",
			 w->mtu_ns == l->mtu_ns ? "as fast" : "faster", SL_PROBE_MTU, w->mtu_ns, l->mtu_ns);
	}
	return b;
}

void sl_crypto_probe(sl_alg_t alg, size_t enc_key_len, size_t auth_key_len, bool esn, bool inbound,
		     sl_probe_t *out)
{
	pthread_mutex_lock(&lock);
	slot_t *s = NULL;
	for (int i = 0; i < PROBE_SLOTS && s == NULL; i++) {
		if (slots[i].used && slots[i].alg == alg && slots[i].enc_key_len == enc_key_len && slots[i].esn == esn)
			s = &slots[i];
	}
	slot_t fresh = { .used = true, .alg = alg, .enc_key_len = enc_key_len, .esn = esn };
	if (s == NULL) {
		/* Not a secret: the probe's contexts never carry traffic. */
		uint8_t ek[64] = { 0x5a }, ak[64] = { 0xa5 };
		sl_crypto_params_t p = { .alg = alg, .enc_key = ek, .enc_key_len = enc_key_len,
					 .auth_key = auth_key_len ? ak : NULL, .auth_key_len = auth_key_len,
					 .esn = esn };
		if (enc_key_len <= sizeof(ek) && auth_key_len <= sizeof(ak)) {
			if (sl_afalg_available())
				measure(&p, SL_BACKEND_AFALG, &fresh.fig[SEAL][AFALG], &fresh.fig[OPEN][AFALG]);
			measure(&p, SL_BACKEND_OPENSSL, &fresh.fig[SEAL][OSSL], &fresh.fig[OPEN][OSSL]);
		}
		for (int i = 0; i < PROBE_SLOTS && s == NULL; i++) {
			if (!slots[i].used) {
				slots[i] = fresh;
				s = &slots[i];
			}
		}
		if (s == NULL)
			s = &fresh; /* table full: measured, not kept */
	}
	int dir = inbound ? OPEN : SEAL;
	sl_probe_t r = { .done = true, .open = inbound, .afalg = s->fig[dir][AFALG], .openssl = s->fig[dir][OSSL] };
	pthread_mutex_unlock(&lock);
	r.choice = sl_probe_choose(&r.afalg, &r.openssl, NULL, 0);
	*out = r;
}
