/*
 * test_probe.c - crypto-backend = auto (probe.c): the choice from the
 * figures (pure, sl_probe_choose), and a real probe on this machine (no
 * timing asserted: only that it measured on the data plane's paths, counted
 * the syscalls, chose from its own figures and remembered them).
 */
#include "crypto.h"
#include "crypto_vectors.h"

#include <string.h>

static sl_probe_fig_t fig(uint32_t small, uint32_t mtu)
{
	return (sl_probe_fig_t){ .small_ns = small, .mtu_ns = mtu };
}

static void test_choose(void)
{
	char why[96];
	sl_probe_fig_t none = fig(0, 0), fast = fig(800, 1000), slow = fig(500, 3000);

	CHECK(sl_probe_choose(&fast, &slow, why, sizeof(why)) == SL_BACKEND_AFALG, "AF_ALG faster at MTU size");
	CHECK(strcmp(why, "af_alg faster at 1400 B: 1000 vs 3000 ns/packet") == 0, "reason: %s", why);
	/* Faster for small packets but slower for MTU-sized ones: MTU decides. */
	CHECK(sl_probe_choose(&slow, &fast, why, sizeof(why)) == SL_BACKEND_OPENSSL, "OpenSSL faster at MTU size");
	CHECK(strcmp(why, "openssl faster at 1400 B: 1000 vs 3000 ns/packet") == 0, "reason: %s", why);
	/* A tie keeps OpenSSL (no syscalls, no kernel descriptors). */
	CHECK(sl_probe_choose(&fast, &fast, why, sizeof(why)) == SL_BACKEND_OPENSSL, "tie: OpenSSL");
	CHECK(strcmp(why, "openssl as fast at 1400 B: 1000 vs 1000 ns/packet") == 0, "reason: %s", why);
	CHECK(sl_probe_choose(&none, &slow, why, sizeof(why)) == SL_BACKEND_OPENSSL, "no AF_ALG: OpenSSL");
	CHECK(strcmp(why, "af_alg unavailable") == 0, "reason: %s", why);
	CHECK(sl_probe_choose(&fast, &none, why, sizeof(why)) == SL_BACKEND_AFALG, "OpenSSL failed: AF_ALG");
	CHECK(strcmp(why, "openssl not measured") == 0, "reason: %s", why);
	CHECK(sl_probe_choose(&none, &none, why, sizeof(why)) == SL_BACKEND_OPENSSL, "nothing measured: OpenSSL");
	/* A short buffer truncates the reason, never overruns it. */
	char tiny[8];
	memset(tiny, 'x', sizeof(tiny));
	sl_probe_choose(&fast, &slow, tiny, sizeof(tiny));
	CHECK(tiny[7] == '\0' && strncmp(tiny, "af_alg ", 7) == 0, "truncated reason: %s", tiny);
	CHECK(sl_probe_choose(&fast, &slow, NULL, 0) == SL_BACKEND_AFALG, "no reason wanted: the same choice");
}

static void check_run(const sl_probe_t *p, const char *what)
{
	CHECK(p->done, "%s: probe ran", what);
	CHECK(p->openssl.small_ns > 0 && p->openssl.mtu_ns > 0, "%s: OpenSSL measured (%u, %u ns)", what,
	      p->openssl.small_ns, p->openssl.mtu_ns);
	CHECK(p->openssl.sys_milli == 0 && !p->openssl.batched, "%s: OpenSSL makes no AF_ALG syscalls", what);
	char why[SL_PROBE_REASON_LEN];
	CHECK(p->choice == sl_probe_choose(&p->afalg, &p->openssl, why, sizeof(why)),
	      "%s: the choice follows its own figures (%s)", what, why);
	if (!sl_afalg_available()) {
		CHECK(p->afalg.small_ns == 0 && p->afalg.mtu_ns == 0 && p->choice == SL_BACKEND_OPENSSL,
		      "%s: no AF_ALG here: OpenSSL chosen, AF_ALG not measured", what);
	} else {
		CHECK(p->afalg.mtu_ns > 0, "%s: AF_ALG measured", what);
		/* Unbatched, an AF_ALG packet is a sendmsg and a recvmsg. */
		CHECK(p->afalg.batched ? p->afalg.sys_milli < 2000 : p->afalg.sys_milli >= 2000,
		      "%s: AF_ALG syscalls per packet %.3f (%s)", what, p->afalg.sys_milli / 1000.0,
		      p->afalg.batched ? "batched" : "one by one");
	}
	printf("  %s %s: openssl %u / %u ns; af_alg %u / %u ns, %.3f syscalls/packet%s; %s\n", what,
	       p->open ? "open" : "seal", p->openssl.small_ns, p->openssl.mtu_ns, p->afalg.small_ns,
	       p->afalg.mtu_ns, p->afalg.sys_milli / 1000.0, p->afalg.batched ? " (io_uring batch)" : "",
	       why);
}


/* Field by field: the structs have padding bytes, which memcmp would compare
 * too (they differ between two stack copies under ASan). */
static bool same_fig(const sl_probe_fig_t *a, const sl_probe_fig_t *b)
{
	return a->small_ns == b->small_ns && a->mtu_ns == b->mtu_ns && a->sys_milli == b->sys_milli &&
	       a->batched == b->batched;
}

static bool same_probe(const sl_probe_t *a, const sl_probe_t *b)
{
	return a->done == b->done && a->open == b->open && a->choice == b->choice &&
	       same_fig(&a->afalg, &b->afalg) && same_fig(&a->openssl, &b->openssl);
}
static void test_probe(void)
{
	sl_probe_t out, in, again;
	sl_crypto_probe(SL_ALG_AES_GCM_16, 20, 0, true, false, &out);
	check_run(&out, "aes128gcm16 out");
	CHECK(!out.open, "an outbound SA gets the seal figures");
	sl_crypto_probe(SL_ALG_AES_GCM_16, 20, 0, true, true, &in);
	check_run(&in, "aes128gcm16 in");
	CHECK(in.open, "an inbound SA gets the open figures");
	/* Opens go through the worker's batch too (esp_in_batch.h): batched
	 * exactly when seals are (io_uring available). */
	CHECK(in.afalg.batched == out.afalg.batched, "opens timed %s, seals %s: the data plane batches both",
	      in.afalg.batched ? "batched" : "one by one", out.afalg.batched ? "batched" : "one by one");
	sl_crypto_probe(SL_ALG_AES_GCM_16, 20, 0, true, false, &again);
	CHECK(same_probe(&out, &again), "measured once per transform, then remembered");
	sl_crypto_probe(SL_ALG_AES_CBC_HMAC_SHA256_128, 16, 32, false, true, &in);
	check_run(&in, "aes128-sha256 in");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("choice from the figures\n");
	test_choose();
	printf("probe on this machine (timings are this machine's, under QEMU TCG the emulator's)\n");
	test_probe();
	if (test_failures != 0) {
		printf("%d check(s) FAILED\n", test_failures);
		return 1;
	}
	printf("all probe checks passed\n");
	return 0;
}
