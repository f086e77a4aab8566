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
#include "crypto_batch.h"
#include "crypto_batch_checks.h"
#include "afalg_io.h"
#include "afalg_runners.h"

#include <time.h>

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

/* Fails request fail_at of each round without running it; the others go
 * through the plain runner. */
static unsigned fail_at;
static int failing_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	int sys = 0;
	(void)io;
	for (unsigned i = 0; i < n; i++) {
		if (i == fail_at % n) {
			ops[i].snd_res = -EIO;
			ops[i].rcv_res = -ECANCELED;
			continue;
		}
		sys += sl_afalg_io_plain.run(&sl_afalg_io_plain, &ops[i], 1);
	}
	return sys;
}
static sl_afalg_io_t failing_io = { .run = failing_run, .close = none_close, .max_ops = 32 };

/* A kernel that refuses io_uring at submission. */
static int refusals;
static int refusing_run(sl_afalg_io_t *io, sl_afalg_io_op_t *ops, unsigned n)
{
	(void)io;
	(void)ops;
	(void)n;
	refusals++;
	return -ENOSYS;
}
static sl_afalg_io_t refusing_io = { .run = refusing_run, .close = none_close, .max_ops = 32 };

/* The batched path for one transform: BATCH_SAS AF_ALG SAs against
 * OpenSSL twins. */
static void batched(sl_crypto_batch_t *b, const char *name, bool esn)
{
	uint8_t ek[BATCH_SAS][64], ak[BATCH_SAS][64];
	sl_crypto_t *s[BATCH_SAS] = { NULL }, *o[BATCH_SAS] = { NULL };
	char what[96];
	bool ok = true;

	snprintf(what, sizeof(what), "batched %s%s", name, esn ? " esn" : "");
	for (int k = 0; k < BATCH_SAS && ok; k++) {
		sl_crypto_params_t p = params_for(name, esn, ek[k], ak[k], 61 + (uint32_t)k);
		ok = make_ctx(&s[k], &p, SL_BACKEND_AFALG, what) == SL_CRYPTO_OK &&
		     make_ctx(&o[k], &p, SL_BACKEND_OPENSSL, what) == SL_CRYPTO_OK;
	}
	if (ok) {
		int before = test_failures;
		sl_crypto_batch_test_io(b, NULL);
		check_batch_cross(b, s, o, esn, what);

		/* One request per round fails: only its packet is lost, and its op
		 * socket (reset) serves the next batch. */
		static uint8_t pkt[24][PKT_MAX];
		int idx[24];
		fail_at = 5;
		sl_crypto_batch_test_io(b, &failing_io);
		sl_crypto_batch_clear(b);
		for (unsigned k = 0; k < 24; k++) {
			put_be32(pkt[k], 0x7000 + k % BATCH_SAS);
			put_be32(pkt[k] + 4, 50 + k);
			fill_pattern(pkt[k] + 8 + sl_crypto_iv_len(s[0]), 64, k);
			idx[k] = sl_crypto_batch_seal(b, s[k % BATCH_SAS], pkt[k], 64, 50 + k);
		}
		sl_crypto_batch_run(b);
		for (unsigned k = 0; k < 24; k++) {
			int rc = sl_crypto_batch_result(b, idx[k]);
			if (k == 5) {
				CHECK(rc == SL_CRYPTO_EIO, "%s: the failed request's result: %d", what, rc);
			} else {
				CHECK(rc == SL_CRYPTO_OK, "%s: request %u beside a failed one: %d", what, k, rc);
				CHECK(sl_crypto_open(o[k % BATCH_SAS], pkt[k], 64, 0) == SL_CRYPTO_OK,
				      "%s: OpenSSL rejects request %u beside a failed one", what, k);
			}
		}
		sl_crypto_batch_test_io(b, NULL);
		check_batch_cross(b, s, o, esn, what);

		/* io_uring refused: the same results, one request at a time. */
		sl_crypto_batch_t *r = sl_crypto_batch_new(BATCH_PKTS);
		CHECK(r != NULL, "batch_new");
		if (r != NULL) {
			int seen = refusals;
			sl_crypto_batch_test_io(r, &refusing_io);
			check_batch_cross(r, s, o, esn, what);
			sl_crypto_batch_stats_t st;
			sl_crypto_batch_stats(r, &st);
			CHECK(refusals == seen + 1 && !st.uring && st.afalg_requests > 0,
			      "%s: fallback after a refusal (%d refusals)", what, refusals - seen);
			sl_crypto_batch_free(r);
		}
		printf("  %-28s batched: %s\n", what, test_failures == before ? "ok" : "FAILED");
	}
	for (int k = 0; k < BATCH_SAS; k++) {
		sl_crypto_free(s[k]);
		sl_crypto_free(o[k]);
	}
}

/* Lanes come from the descriptor budget: 1 + SL_AFALG_MAX_LANES while
 * under half of it, then 2 (one lane), then none; a one-lane context
 * still works through the batch (one request per round). */
static void lanes_budget(sl_crypto_batch_t *b)
{
	uint8_t ek[64], ak[64];
	sl_crypto_params_t p = params_for("aes128gcm16", false, ek, ak, 123);
	sl_crypto_t *wide = NULL, *narrow = NULL, *none = NULL, *o = NULL;
	char err[160];
	int before = sl_afalg_fds_in_use();

	sl_afalg_set_fd_budget(2 * before + 100);
	CHECK(sl_crypto_new(&wide, &p, SL_BACKEND_AFALG, err, sizeof(err)) == SL_CRYPTO_OK, "lanes: %s", err);
	CHECK(sl_afalg_fds_in_use() == before + 9, "lanes: a context under half the budget took %d fds",
	      sl_afalg_fds_in_use() - before);
	sl_afalg_set_fd_budget(before + 13);
	CHECK(sl_crypto_new(&narrow, &p, SL_BACKEND_AFALG, err, sizeof(err)) == SL_CRYPTO_OK, "lanes: %s", err);
	CHECK(sl_afalg_fds_in_use() == before + 11, "lanes: a context over half the budget took %d fds",
	      sl_afalg_fds_in_use() - before - 9);
	sl_afalg_set_fd_budget(before + 11);
	CHECK(sl_crypto_new(&none, &p, SL_BACKEND_AFALG, err, sizeof(err)) == SL_CRYPTO_ENOTSUP && none == NULL,
	      "lanes: a context past the budget was made");
	sl_afalg_set_fd_budget(-1);
	CHECK(sl_crypto_new(&o, &p, SL_BACKEND_OPENSSL, err, sizeof(err)) == SL_CRYPTO_OK, "openssl: %s", err);

	if (narrow != NULL && o != NULL) {
		static uint8_t pkt[5][PKT_MAX];
		int idx[5];
		sl_crypto_batch_test_io(b, NULL);
		sl_crypto_batch_clear(b);
		for (unsigned k = 0; k < 5; k++) {
			put_be32(pkt[k] + 4, 9 + k);
			fill_pattern(pkt[k] + 16, 128, k);
			idx[k] = sl_crypto_batch_seal(b, narrow, pkt[k], 128, 9 + k);
		}
		sl_crypto_batch_stats_t st0, st1;
		sl_crypto_batch_stats(b, &st0);
		sl_crypto_batch_run(b);
		sl_crypto_batch_stats(b, &st1);
		for (unsigned k = 0; k < 5; k++)
			CHECK(sl_crypto_batch_result(b, idx[k]) == SL_CRYPTO_OK &&
				      sl_crypto_open(o, pkt[k], 128, 0) == SL_CRYPTO_OK,
			      "lanes: one-lane batch entry %u", k);
		CHECK(st1.rounds - st0.rounds == 5, "lanes: one lane, 5 packets in %llu rounds",
		      (unsigned long long)(st1.rounds - st0.rounds));
		sl_crypto_batch_clear(b);
	}
	sl_crypto_free(wide);
	sl_crypto_free(narrow);
	sl_crypto_free(o);
	CHECK(sl_afalg_fds_in_use() == before, "lanes: %d fds left in use", sl_afalg_fds_in_use() - before);
	printf("  descriptor budget: 9 fds per context under half of it, 2 above, refused past it\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define PERF_PKTS 64 /* a worker's batch */
#define PERF_SAS 4
#define PERF_REPS 3

static uint8_t perf_buf[PERF_PKTS][PKT_MAX];

/* Seal PERF_PKTS packets over nsa SAs, unbatched or through the batch
 * with runner io (NULL: the batch's own, io_uring).  Best of PERF_REPS;
 * writes ns and syscalls per packet. */
static void perf_one(sl_crypto_batch_t *b, sl_crypto_t **s, int nsa, size_t len, bool batch,
		     sl_afalg_io_t *io, double *ns, double *sys)
{
	uint64_t best = UINT64_MAX, seq = 1;
	sl_crypto_batch_stats_t st0, st1;
	sl_crypto_batch_test_io(b, io);
	sl_crypto_batch_stats(b, &st0);
	for (int r = 0; r < PERF_REPS; r++) {
		uint64_t t0 = now_ns();
		sl_crypto_batch_clear(b);
		for (unsigned k = 0; k < PERF_PKTS; k++, seq++) {
			put_be32(perf_buf[k] + 4, (uint32_t)seq);
			sl_crypto_t *c = s[k % (unsigned)nsa];
			int rc = batch ? sl_crypto_batch_seal(b, c, perf_buf[k], len, seq)
				       : sl_crypto_seal(c, perf_buf[k], len, seq);
			CHECK(rc >= 0, "perf: seal %d", rc);
		}
		if (batch) {
			sl_crypto_batch_run(b);
			for (unsigned k = 0; k < PERF_PKTS; k++)
				CHECK(sl_crypto_batch_result(b, (int)k) == SL_CRYPTO_OK, "perf: batched seal %u", k);
		}
		uint64_t dt = now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	sl_crypto_batch_stats(b, &st1);
	sl_crypto_batch_clear(b);
	*ns = (double)best / PERF_PKTS;
	/* The unbatched path is one sendmsg() and one recvmsg() per packet (afalg.c). */
	uint64_t req = st1.afalg_requests - st0.afalg_requests;
	*sys = !batch ? 2.0 : req ? (double)(st1.afalg_syscalls - st0.afalg_syscalls) / (double)req : 0;
}

/* Syscalls and time per sealed packet, a worker's batch of 64 packets over
 * 4 SAs (and over 1 SA for io_uring: rounds of SL_AFALG_MAX_LANES). */
static void perf(sl_crypto_batch_t *b, const char *name)
{
	uint8_t ek[64], ak[64];
	sl_crypto_t *s[PERF_SAS] = { NULL };
	bool have_aio = aio_ctx != 0 || aio_io_open() == 0;
	sl_crypto_batch_stats_t st;

	sl_crypto_batch_stats(b, &st);
	for (int k = 0; k < PERF_SAS; k++) {
		sl_crypto_params_t p = params_for(name, false, ek, ak, 91 + (uint32_t)k);
		if (make_ctx(&s[k], &p, SL_BACKEND_AFALG, name) != SL_CRYPTO_OK)
			goto out;
	}
	for (int sz = 0; sz < 2; sz++) {
		size_t bs = sl_crypto_block_size(s[0]);
		size_t len = ((sz ? 1400 : 64) + bs - 1) / bs * bs; /* CBC: whole blocks */
		double ns, sys;
		printf("  perf %-14s %4zu B:", name, len);
		perf_one(b, s, PERF_SAS, len, false, NULL, &ns, &sys);
		printf(" unbatched %.2f syscalls/pkt %.0f ns/pkt;", sys, ns);
		perf_one(b, s, PERF_SAS, len, true, &pool_io, &ns, &sys);
		printf(" op-fd pool %.2f %.0f;", sys, ns);
		if (have_aio) {
			perf_one(b, s, PERF_SAS, len, true, &aio_io, &ns, &sys);
			printf(" aio %.2f %.0f;", sys, ns);
		} else {
			printf(" aio unavailable;");
		}
		if (st.uring) {
			perf_one(b, s, PERF_SAS, len, true, NULL, &ns, &sys);
			printf(" io_uring %.2f %.0f; io_uring 1 SA", sys, ns);
			perf_one(b, s, 1, len, true, NULL, &ns, &sys);
			printf(" %.2f %.0f\n", sys, ns);
		} else {
			printf(" io_uring refused by this kernel\n");
		}
	}
out:
	sl_crypto_batch_test_io(b, NULL);
	for (int k = 0; k < PERF_SAS; k++)
		sl_crypto_free(s[k]);
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

	sl_crypto_batch_t *b = sl_crypto_batch_new(BATCH_PKTS > PERF_PKTS ? BATCH_PKTS : PERF_PKTS);
	CHECK(b != NULL, "sl_crypto_batch_new");
	if (b != NULL && transforms > 0) {
		sl_crypto_batch_stats_t st;
		sl_crypto_batch_stats(b, &st);
		printf("batched path (io_uring %s)\n", st.uring ? "in use" : "refused: plain fallback");
		for (size_t i = 0; i < NELEM(esp_vectors); i++)
			check_batch_vector(b, &esp_vectors[i], SL_BACKEND_AFALG);
		lanes_budget(b);
		for (size_t i = 0; i < NELEM(all_alg_names); i++)
			for (int esn = 0; esn <= 1; esn++)
				batched(b, all_alg_names[i], esn != 0);
		printf("syscalls and time per sealed packet (QEMU TCG times are emulator times, not a board's)\n");
		perf(b, "aes128gcm16");
		perf(b, "aes128-sha256");
	}
	sl_crypto_batch_free(b);

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
