/*
 * fuzz_replay.c - the anti-replay window with 64-bit ESN (RFC 4303 §3.4.3,
 * Appendix A2) against a plain reference model.
 *
 * Input: window size (2 bytes, cut to SL_REPLAY_MAX_WINDOW), ESN (1 byte,
 * bit 0), then 4-byte wire sequence numbers.  Each goes through infer and
 * check and, when fresh, update (what sl_esp_decap does for an authentic
 * packet).  Properties:
 *  - infer keeps the low 32 bits and never yields 0; with ESN and a full
 *    window the result lies in [top - W + 1, top - W + 2^32) (A2.2);
 *  - check agrees with the model: new numbers pass, numbers seen or left of
 *    the window fail, anything above the top passes;
 *  - top never decreases and equals the largest number accepted.
 */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#define MODEL_MAX 1024 /* accepted numbers remembered by the model */
#define SLOTS 4096      /* open addressing, at most a quarter full */

/* The model: every accepted number, in a hash set emptied per input by
 * bumping the generation. */
static uint64_t slot_seq[SLOTS];
static uint32_t slot_gen[SLOTS], gen;
static size_t nmodel;

static size_t slot_of(uint64_t s)
{
	size_t h = (size_t)((s * 0x9e3779b97f4a7c15ull) >> 52) & (SLOTS - 1);
	while (slot_gen[h] == gen && slot_seq[h] != s)
		h = (h + 1) & (SLOTS - 1);
	return h;
}

static bool model_seen(uint64_t s)
{
	return slot_gen[slot_of(s)] == gen;
}

static void model_add(uint64_t s)
{
	size_t h = slot_of(s);
	slot_gen[h] = gen;
	slot_seq[h] = s;
	nmodel++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	uint32_t window = (uint32_t)(data[0] << 8 | data[1]);
	bool esn = data[2] & 1;
	/* Exercise the largest window too: 0xffff means SL_REPLAY_MAX_WINDOW. */
	if (window == 0xffff)
		window = SL_REPLAY_MAX_WINDOW;
	sl_replay_t r;
	if (sl_replay_init(&r, window) != 0)
		abort(); /* every size up to the maximum must be accepted */
	nmodel = 0;
	gen++;
	uint64_t top = 0;
	for (size_t off = 3; off + 4 <= size && nmodel < MODEL_MAX; off += 4) {
		uint32_t lo = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
			      (uint32_t)data[off + 2] << 8 | data[off + 3];
		uint64_t seq;
		if (!sl_replay_infer(&r, esn, lo, &seq))
			continue;
		if ((uint32_t)seq != lo)
			abort();
		if (esn && window && r.top >= window) {
			uint64_t bottom = r.top - window + 1;
			if (seq < bottom || seq - bottom >= (1ull << 32))
				abort();
		}
		bool fresh = sl_replay_check(&r, seq);
		bool want;
		if (seq == 0)
			want = false;
		else if (window == 0 || seq > top)
			want = true;
		else
			want = top - seq < window && !model_seen(seq);
		if (fresh != want)
			abort();
		if (!fresh)
			continue;
		sl_replay_update(&r, seq);
		if (seq > top)
			top = seq;
		model_add(seq);
		if (r.top != top)
			abort();
	}
	sl_replay_free(&r);
	return 0;
}
