/* test_replay.c - anti-replay window and ESN inference (RFC 4303 §3.4.3, App. A2). */
#include "engine_check.h"
#include "replay.h"

#include <pthread.h>
#include <stdint.h>

/* What the engine does per packet: infer, check, (authenticate), update. */
static int accept_seq(sl_replay_t *r, bool esn, uint32_t lo, uint64_t *full)
{
	uint64_t seq;
	if (!sl_replay_infer(r, esn, lo, &seq) || !sl_replay_check(r, seq))
		return 0;
	if (!sl_replay_update(r, seq))
		return 0;
	if (full)
		*full = seq;
	return 1;
}

static void in_order_and_dups(uint32_t w)
{
	sl_replay_t r;
	CHECK_EQ(sl_replay_init(&r, w), 0);
	CHECK_EQ(accept_seq(&r, false, 0, NULL), 0); /* 0 is never valid */
	uint32_t top = 3 * w + 100;
	for (uint32_t i = 1; i <= top; i++)
		CHECK_EQ(accept_seq(&r, false, i, NULL), 1);
	CHECK_EQ(accept_seq(&r, false, top, NULL), 0);       /* duplicate of top */
	CHECK_EQ(accept_seq(&r, false, top - w / 2, NULL), 0); /* duplicate inside */
	CHECK_EQ(accept_seq(&r, false, top - w, NULL), 0);   /* left of window */
	sl_replay_free(&r);
}

static void out_of_order(uint32_t w)
{
	sl_replay_t r;
	CHECK_EQ(sl_replay_init(&r, w), 0);
	uint32_t top = 2 * w + 10000;
	CHECK_EQ(accept_seq(&r, false, top, NULL), 1);
	/* Everything inside the window but not yet seen is accepted exactly once. */
	uint32_t lo = top - w + 1;
	for (uint32_t s = top - 1; s > lo; s -= 7)
		CHECK_EQ(accept_seq(&r, false, s, NULL), 1);
	for (uint32_t s = top - 1; s > lo; s -= 7)
		CHECK_EQ(accept_seq(&r, false, s, NULL), 0);
	CHECK_EQ(accept_seq(&r, false, lo, NULL), 1);     /* oldest slot still inside */
	CHECK_EQ(accept_seq(&r, false, lo - 1, NULL), 0); /* exactly one too old */
	/* A big jump forward clears the bitmap: old bits must not linger. */
	uint32_t far = top + 3 * w + 13;
	CHECK_EQ(accept_seq(&r, false, far, NULL), 1);
	for (uint32_t s = far - 1; s > far - w; s -= 5)
		CHECK_EQ(accept_seq(&r, false, s, NULL), 1);
	/* A jump smaller than the window keeps the bits still inside it. */
	CHECK_EQ(accept_seq(&r, false, far + w / 2, NULL), 1);
	CHECK_EQ(accept_seq(&r, false, far, NULL), 0);
	CHECK_EQ(accept_seq(&r, false, far - 1, NULL), 0);
	sl_replay_free(&r);
}

static void esn_wrap(void)
{
	sl_replay_t r;
	uint64_t full = 0;
	CHECK_EQ(sl_replay_init(&r, 1024), 0);
	/* Walk up to just below 2^32 (each step less than 2^32 - W ahead) ... */
	CHECK_EQ(accept_seq(&r, true, 1, NULL), 1);
	CHECK_EQ(accept_seq(&r, true, 0x80000000u, &full), 1);
	CHECK_EQ(full, 0x80000000ull);
	CHECK_EQ(accept_seq(&r, true, 0xFFFFFF00u, &full), 1);
	CHECK_EQ(full, 0xFFFFFF00ull);
	/* ... the low half wraps: seq_hi must become 1 (Case A, Seql < Bl). */
	CHECK_EQ(accept_seq(&r, true, 0x00000005u, &full), 1);
	CHECK_EQ(full, 0x100000005ull);
	/* A late packet from before the wrap is still inside the window
	 * (Case B, Seql >= Bl -> seq_hi = Th - 1). */
	CHECK_EQ(accept_seq(&r, true, 0xFFFFFF10u, &full), 1);
	CHECK_EQ(full, 0xFFFFFF10ull);
	CHECK_EQ(accept_seq(&r, true, 0xFFFFFF10u, NULL), 0); /* its replay */
	CHECK_EQ(accept_seq(&r, true, 0x00000005u, NULL), 0); /* replay after wrap */
	/* Below the window across the wrap (top 2^32+5, W 1024): Appendix A2.2
	 * alone reads it as 2^32 packets ahead; we call it too old. */
	uint64_t guess = 0;
	CHECK(!sl_replay_infer(&r, true, 0xFFFFF000u, &guess));
	sl_replay_t ra;
	CHECK_EQ(sl_replay_init(&ra, 1024), 0);
	CHECK_EQ(accept_seq(&ra, true, 1, NULL), 1);
	CHECK_EQ(accept_seq(&ra, true, 5000, NULL), 1);
	CHECK(!sl_replay_infer(&ra, true, 3000, &guess)); /* 2000 behind: too old, not 2^32 ahead */
	CHECK_EQ(accept_seq(&ra, true, 4500, &guess), 1);
	CHECK_EQ(guess, 4500);
	/* A forward jump of up to 2^31 is still accepted. */
	CHECK_EQ(accept_seq(&ra, true, 5000u + 0x7FFFFFF0u, &guess), 1);
	CHECK_EQ(guess, 5000ull + 0x7FFFFFF0ull);
	sl_replay_free(&ra);
	/* Without ESN the same low number is a plain (too old) 32-bit value. */
	sl_replay_t r32;
	CHECK_EQ(sl_replay_init(&r32, 1024), 0);
	CHECK_EQ(accept_seq(&r32, false, 0xFFFFFFFFu, &full), 1);
	CHECK_EQ(full, 0xFFFFFFFFull);
	CHECK_EQ(accept_seq(&r32, false, 1, NULL), 0);
	sl_replay_free(&r32);
	/* At the very start a huge low half cannot belong to subspace -1. */
	sl_replay_t r0;
	CHECK_EQ(sl_replay_init(&r0, 1024), 0);
	CHECK_EQ(accept_seq(&r0, true, 3, NULL), 1);
	CHECK_EQ(accept_seq(&r0, true, 0xFFFFFFF0u, NULL), 0);
	CHECK_EQ(accept_seq(&r0, true, 4, &full), 1);
	CHECK_EQ(full, 4);
	sl_replay_free(&r0);
	sl_replay_free(&r);
}

static void window_sizes(void)
{
	sl_replay_t r;
	CHECK(sl_replay_init(&r, SL_REPLAY_MAX_WINDOW + 1) != 0);
	sl_replay_free(&r);
	/* Window 0 disables replay checking (duplicates pass, 0 still refused). */
	CHECK_EQ(sl_replay_init(&r, 0), 0);
	CHECK_EQ(accept_seq(&r, false, 7, NULL), 1);
	CHECK_EQ(accept_seq(&r, false, 7, NULL), 1);
	CHECK_EQ(accept_seq(&r, false, 0, NULL), 0);
	sl_replay_free(&r);
	/* Window 1: only strictly increasing numbers. */
	CHECK_EQ(sl_replay_init(&r, 1), 0);
	CHECK_EQ(accept_seq(&r, false, 5, NULL), 1);
	CHECK_EQ(accept_seq(&r, false, 4, NULL), 0);
	CHECK_EQ(accept_seq(&r, false, 6, NULL), 1);
	sl_replay_free(&r);
}

/* Two workers receive every number of one SA (a duplicating network, the
 * second one with neighbours swapped): without a lock each number must be
 * accepted exactly once, the window's compare-and-swap deciding the races
 * between check and update. */
#define RACE_N (1u << 20)
static sl_replay_t race_r;
static atomic_uchar race_acc[RACE_N + 1];

static void *race_worker(void *arg)
{
	int idx = (int)(intptr_t)arg;
	for (uint32_t k = 1; k <= RACE_N; k++) {
		uint32_t s = idx && (k ^ 1) >= 1 && (k ^ 1) <= RACE_N ? k ^ 1 : k;
		uint64_t seq;
		if (sl_replay_infer(&race_r, false, s, &seq) && sl_replay_check(&race_r, seq) &&
		    sl_replay_update(&race_r, seq))
			atomic_fetch_add_explicit(&race_acc[s], 1, memory_order_relaxed);
	}
	return NULL;
}

static void two_workers(uint32_t w)
{
	CHECK_EQ(sl_replay_init(&race_r, w), 0);
	for (uint32_t i = 0; i <= RACE_N; i++)
		atomic_store(&race_acc[i], 0);
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, race_worker, (void *)(intptr_t)i);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	uint32_t once = 0;
	for (uint32_t i = 1; i <= RACE_N; i++)
		once += atomic_load(&race_acc[i]) == 1;
	CHECK_EQ(once, RACE_N);
	CHECK_EQ(sl_replay_top(&race_r), RACE_N);
	sl_replay_free(&race_r);
}

int main(void)
{
	two_workers(64);
	two_workers(1024);
	uint32_t sizes[] = { 32, 64, 100, 1024, 4096, SL_REPLAY_MAX_WINDOW };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		in_order_and_dups(sizes[i]);
		out_of_order(sizes[i]);
	}
	esn_wrap();
	window_sizes();
	TEST_DONE("test_replay");
}
