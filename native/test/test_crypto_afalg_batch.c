/*
 * test_crypto_afalg_batch.c - the batching logic of the AF_ALG backend,
 * on any host (no AF_ALG needed):
 *   - the round planner: one request per lane per round, rounds bounded,
 *     every entry placed once, a context's entries in order;
 *   - both runners (io_uring and plain sendmsg + recvmsg) against fake op
 *     sockets (AF_UNIX socketpairs whose reply is written beforehand):
 *     results per request, a failed send cancels only its own read,
 *     the ring reused over many rounds, oversize rounds refused;
 *   - the batch API on OpenSSL contexts (which run when queued): results
 *     per entry, forgeries fail alone, bounds.
 * The real AF_ALG requests through the batch run in test_crypto_afalg
 * (the QEMU guest).
 */
#include "crypto.h"
#include "crypto_batch.h"
#include "crypto_batch_checks.h"
#include "afalg_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_planner(void)
{
	enum { N = 64, SETS = 5 };
	sl_lane_set_t sets[SETS] = { { .nlanes = 8 }, { .nlanes = 1 }, { .nlanes = 3 },
				     { .nlanes = 0 }, { .nlanes = 8 } };
	sl_lane_set_t *of[N];
	bool done[N] = { false };
	unsigned owner[N], pick[N], lane[N], last[SETS];
	unsigned rounds = 0, placed = 0, round_id = 0;

	for (unsigned i = 0; i < N; i++) {
		/* A skewed mix: set 0 gets most of the entries. */
		owner[i] = (i * 7 + i / 3) % 11 < 6 ? 0 : (i % SETS);
		of[i] = &sets[owner[i]];
		if (i % 13 == 5)
			of[i] = NULL; /* not AF_ALG: never planned */
	}
	for (unsigned s = 0; s < SETS; s++)
		last[s] = 0;
	bool seen[SETS][N];
	for (;;) {
		unsigned max = rounds % 2 ? 32 : 7;
		unsigned k = sl_batch_plan(of, done, N, ++round_id, max, pick, lane);
		if (k == 0)
			break;
		rounds++;
		CHECK(k <= max, "planner: round of %u over max %u", k, max);
		memset(seen, 0, sizeof(seen));
		for (unsigned j = 0; j < k; j++) {
			unsigned i = pick[j], s = owner[i];
			CHECK(i < N && !done[i] && of[i] != NULL, "planner: bad pick %u", i);
			CHECK(lane[j] < sets[s].nlanes, "planner: lane %u of %u", lane[j], sets[s].nlanes);
			CHECK(!seen[s][lane[j]], "planner: lane %u of set %u twice in a round", lane[j], s);
			seen[s][lane[j]] = true;
			CHECK(last[s] <= i + 1, "planner: set %u out of order", s);
			last[s] = i + 1;
			done[i] = true;
			placed++;
		}
		CHECK(rounds < 100, "planner: no progress");
		if (rounds >= 100)
			break;
	}
	unsigned want = 0;
	for (unsigned i = 0; i < N; i++) {
		bool plannable = of[i] != NULL && of[i]->nlanes > 0;
		want += plannable;
		CHECK(done[i] == plannable, "planner: entry %u %s", i, done[i] ? "placed without lanes" : "never placed");
	}
	CHECK(placed == want, "planner: placed %u of %u", placed, want);
	printf("  planner: %u entries in %u rounds (lanes 8/1/3/0/8, rounds of 7 or 32)\n", placed, rounds);
}

/* Fake op sockets: the reply waits in the socket before the round runs. */
static void check_runner(sl_afalg_io_t *io, const char *name)
{
	enum { N = 12 };
	int sv[N][2];
	char req[N][32], reply[N][48], got[N][64];
	struct iovec siov[N], riov[N];
	struct msghdr snd[N], rcv[N];
	sl_afalg_io_op_t ops[N];

	for (int pass = 0; pass < 40; pass++) { /* 40 x 24 SQEs: the ring wraps */
		unsigned n = pass % 3 == 0 ? N : (unsigned)(1 + pass % N);
		for (unsigned i = 0; i < n; i++) {
			if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv[i]) != 0) {
				CHECK(0, "%s: socketpair: %s", name, strerror(errno));
				return;
			}
			int rl = snprintf(reply[i], sizeof(reply[i]), "reply %d/%u with some length", pass, i);
			int ql = snprintf(req[i], sizeof(req[i]), "req %d/%u", pass, i);
			CHECK(write(sv[i][1], reply[i], (size_t)rl) == rl, "%s: prefill", name);
			siov[i] = (struct iovec){ req[i], (size_t)ql };
			riov[i] = (struct iovec){ got[i], sizeof(got[i]) };
			memset(&snd[i], 0, sizeof(snd[i]));
			memset(&rcv[i], 0, sizeof(rcv[i]));
			snd[i].msg_iov = &siov[i];
			snd[i].msg_iovlen = 1;
			rcv[i].msg_iov = &riov[i];
			rcv[i].msg_iovlen = 1;
			ops[i] = (sl_afalg_io_op_t){ .fd = sv[i][0], .snd = &snd[i], .rcv = &rcv[i] };
		}
		unsigned bad = (unsigned)pass % n;
		if (pass % 4 == 1)
			ops[bad].fd = -1; /* its send fails: its read must not run */
		int sys = io->run(io, ops, n);
		CHECK(sys > 0, "%s: run returned %d", name, sys);
		for (unsigned i = 0; i < n; i++) {
			if (pass % 4 == 1 && i == bad) {
				CHECK(ops[i].snd_res == -EBADF, "%s: bad fd send: %ld", name, ops[i].snd_res);
				CHECK(ops[i].rcv_res == -ECANCELED, "%s: read after a failed send: %ld", name,
				      ops[i].rcv_res);
			} else {
				CHECK(ops[i].snd_res == (long)siov[i].iov_len, "%s: pass %d op %u send %ld", name,
				      pass, i, ops[i].snd_res);
				CHECK(ops[i].rcv_res == (long)strlen(reply[i]) &&
					      memcmp(got[i], reply[i], strlen(reply[i])) == 0,
				      "%s: pass %d op %u read %ld", name, pass, i, ops[i].rcv_res);
				char peer[64];
				ssize_t pn = read(sv[i][1], peer, sizeof(peer));
				CHECK(pn == (ssize_t)siov[i].iov_len && memcmp(peer, req[i], (size_t)pn) == 0,
				      "%s: pass %d op %u: the peer got the wrong request", name, pass, i);
			}
			close(sv[i][0]);
			close(sv[i][1]);
		}
		if (pass == 0)
			printf("  %s: %u requests, %d syscalls\n", name, n, sys);
	}
	if (io->max_ops < 1u << 16) {
		CHECK(io->run(io, ops, io->max_ops + 1) == -EINVAL, "%s: oversize round accepted", name);
	}
}

static void test_runners(void)
{
	check_runner(&sl_afalg_io_plain, "plain runner");
	sl_afalg_io_t u = { 0 };
	int rc = sl_afalg_uring_open(&u, SL_CRYPTO_BATCH_ROUND);
	if (rc != 0) {
		printf("  SKIP io_uring runner: the kernel refuses io_uring here (%s)\n", strerror(-rc));
		return;
	}
	check_runner(&u, "io_uring runner");
	u.close(&u);
}

static void test_batch_openssl(void)
{
	sl_crypto_batch_t *b = sl_crypto_batch_new(BATCH_PKTS);
	CHECK(b != NULL, "batch_new");
	if (b == NULL)
		return;
	CHECK(sl_crypto_batch_new(0) == NULL && sl_crypto_batch_new(5000) == NULL, "batch_new bounds");
	for (size_t i = 0; i < NELEM(esp_vectors); i++)
		check_batch_vector(b, &esp_vectors[i], SL_BACKEND_OPENSSL);

	for (size_t a = 0; a < NELEM(all_alg_names); a++) {
		for (int esn = 0; esn <= 1; esn++) {
			uint8_t ek[BATCH_SAS][64], ak[BATCH_SAS][64];
			sl_crypto_t *s[BATCH_SAS] = { NULL }, *o[BATCH_SAS] = { NULL };
			char what[96];
			snprintf(what, sizeof(what), "openssl batch %s%s", all_alg_names[a], esn ? " esn" : "");
			bool ok = true;
			for (int k = 0; k < BATCH_SAS; k++) {
				sl_crypto_params_t p = params_for(all_alg_names[a], esn, ek[k], ak[k], 31 + (uint32_t)k);
				ok = ok && make_ctx(&s[k], &p, SL_BACKEND_OPENSSL, what) == SL_CRYPTO_OK &&
				     make_ctx(&o[k], &p, SL_BACKEND_OPENSSL, what) == SL_CRYPTO_OK;
			}
			if (ok)
				check_batch_cross(b, s, o, esn, what);
			for (int k = 0; k < BATCH_SAS; k++) {
				sl_crypto_free(s[k]);
				sl_crypto_free(o[k]);
			}
		}
	}

	/* Bounds: a full batch refuses, results of unknown entries are EINVAL. */
	uint8_t ek[64], ak[64];
	sl_crypto_params_t p = params_for("aes128gcm16", false, ek, ak, 5);
	sl_crypto_t *c = NULL;
	if (make_ctx(&c, &p, SL_BACKEND_OPENSSL, "bounds") == SL_CRYPTO_OK) {
		static uint8_t pkts[BATCH_PKTS + 1][128];
		sl_crypto_batch_clear(b);
		for (unsigned k = 0; k <= BATCH_PKTS; k++) {
			put_be32(pkts[k] + 4, k + 1);
			int idx = sl_crypto_batch_seal(b, c, pkts[k], 64, k + 1);
			if (k < BATCH_PKTS)
				CHECK(idx == (int)k, "entry %u got index %d", k, idx);
			else
				CHECK(idx == SL_CRYPTO_EINVAL, "a full batch took entry %u (%d)", k, idx);
		}
		sl_crypto_batch_run(b);
		CHECK(sl_crypto_batch_result(b, BATCH_PKTS) == SL_CRYPTO_EINVAL &&
			      sl_crypto_batch_result(b, -1) == SL_CRYPTO_EINVAL,
		      "results of entries that do not exist");
		/* A dead context (keys wiped) is refused at queue time. */
		sl_crypto_batch_clear(b);
		sl_crypto_wipe_keys(c);
		put_be32(pkts[0] + 4, 1);
		CHECK(sl_crypto_batch_seal(b, c, pkts[0], 64, 1) == SL_CRYPTO_EIO,
		      "a wiped context queued a seal");
		sl_crypto_free(c);
	}
	sl_crypto_batch_stats_t st;
	sl_crypto_batch_stats(b, &st);
	CHECK(st.afalg_requests == 0, "OpenSSL entries counted as AF_ALG requests");
	printf("  batch API on OpenSSL contexts: %llu failed entries (the forgeries)\n",
	       (unsigned long long)st.failed);
	sl_crypto_batch_free(b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("round planner\n");
	test_planner();
	printf("runners against fake op sockets\n");
	test_runners();
	printf("batch API (OpenSSL contexts)\n");
	test_batch_openssl();
	if (test_failures != 0) {
		printf("%d check(s) FAILED\n", test_failures);
		return 1;
	}
	printf("all batch checks passed\n");
	return 0;
}
