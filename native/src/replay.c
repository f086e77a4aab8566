/* replay.c - RFC 4303 §3.4.3 anti-replay window, ESN per Appendix A2, lock-free (see replay.h). */
#include "replay.h"

#include <stdlib.h>

/* Window used for seq_hi inference when replay checking is disabled: the
 * inference needs some notion of "recent" (Appendix A2.2 uses W). */
#define SL_INFER_MIN_WINDOW 1024u

#define BLOCK_SHIFT 5 /* 32 sequence numbers per word */
#define BLOCK_BITS (1u << BLOCK_SHIFT)

static inline uint64_t word(uint64_t block, uint32_t bits)
{
	return (uint64_t)(uint32_t)block << 32 | bits;
}

/* block minus the word's tag, exact while both lie within 2^31 blocks of
 * each other: every tag stays within nblocks of top (the sweep on advance)
 * and a number is never more than 2^32 ahead of top (Appendix A2 limits
 * ESN jumps to 2^31), so 32 bits of block number suffice. */
static inline int32_t age(uint64_t block, uint64_t w)
{
	return (int32_t)((uint32_t)block - (uint32_t)(w >> 32));
}

int sl_replay_init(sl_replay_t *r, uint32_t window)
{
	r->window = window;
	atomic_init(&r->top, 0);
	r->bits = NULL;
	r->nblocks = 0;
	if (window > SL_REPLAY_MAX_WINDOW)
		return -1;
	if (window == 0)
		return 0;
	/* One spare block so a slot is reused only by a block at least a whole
	 * window ahead: nblocks * 32 >= window + 32. */
	uint32_t need = (window + BLOCK_BITS - 1) / BLOCK_BITS + 1;
	uint32_t n = 1;
	while (n < need)
		n <<= 1;
	r->bits = calloc(n, sizeof(*r->bits)); /* all tag 0 (block 0), empty */
	if (!r->bits)
		return -1;
	r->nblocks = n;
	return 0;
}

void sl_replay_free(sl_replay_t *r)
{
	free((void *)r->bits);
	r->bits = NULL;
	r->nblocks = 0;
}

bool sl_replay_infer(const sl_replay_t *r, bool esn, uint32_t seq_lo, uint64_t *seq)
{
	if (!esn) {
		*seq = seq_lo;
		return true;
	}
	uint64_t top = sl_replay_top(r);
	uint32_t w = r->window ? r->window : SL_INFER_MIN_WINDOW;
	uint32_t th = (uint32_t)(top >> 32);
	uint32_t tl = (uint32_t)top;
	uint32_t bl = tl - w + 1; /* wraps in case B, as the RFC intends */
	uint32_t hi;
	if (tl >= w - 1) {
		/* Case A: the window lies within one 2^32 subspace. */
		hi = seq_lo >= bl ? th : th + 1;
		if (seq_lo < bl && th == UINT32_MAX)
			return false;
	} else {
		/* Case B: the window spans two subspaces. */
		if (seq_lo >= bl) {
			if (th == 0)
				return false; /* would be before the first packet */
			hi = th - 1;
		} else {
			hi = th;
		}
	}
	*seq = ((uint64_t)hi << 32) | seq_lo;
	/* A number "ahead" by more than 2^31 is far more likely a packet from
	 * just below the window (Case A guesses Th + 1 for it) than a jump of
	 * two billion packets: call it too old (a replay drop) instead of
	 * spending an ICV check that must fail and would count as forgery. */
	if (*seq > top && *seq - top > (1ull << 31))
		return false;
	return true;
}

bool sl_replay_check(const sl_replay_t *r, uint64_t seq)
{
	if (seq == 0)
		return false; /* §3.3.3: the first packet sent is 1 */
	uint64_t top = sl_replay_top(r);
	if (r->window == 0 || seq > top)
		return true;
	if (top - seq >= r->window)
		return false; /* left of the window */
	uint64_t block = seq >> BLOCK_SHIFT;
	uint64_t w = atomic_load_explicit(&r->bits[block & (r->nblocks - 1)], memory_order_relaxed);
	int32_t a = age(block, w);
	if (a != 0)
		return a > 0; /* slot still holds an older block: not seen; a newer one: too old */
	return !(w & (1u << (seq & (BLOCK_BITS - 1))));
}

/* After top moved from `from` to `to`: give the slots of the blocks passed
 * over their new block number (empty), so no slot keeps a tag far behind
 * top (see age()).  Only older tags are replaced: a slot another worker has
 * meanwhile given a block at least as new keeps it. */
static void sweep(sl_replay_t *r, uint64_t from, uint64_t to)
{
	uint64_t mask = r->nblocks - 1;
	uint64_t fb = from >> BLOCK_SHIFT, tb = to >> BLOCK_SHIFT;
	uint64_t b = tb - fb > r->nblocks ? tb - r->nblocks + 1 : fb + 1;
	for (; b < tb; b++) {
		_Atomic uint64_t *slot = &r->bits[b & mask];
		uint64_t w = atomic_load_explicit(slot, memory_order_relaxed);
		while (age(b, w) > 0 &&
		       !atomic_compare_exchange_weak_explicit(slot, &w, word(b, 0), memory_order_relaxed,
							      memory_order_relaxed))
			;
	}
}

bool sl_replay_update(sl_replay_t *r, uint64_t seq)
{
	uint64_t top = sl_replay_top(r);
	if (r->window != 0) {
		if (seq <= top && top - seq >= r->window)
			return false; /* the window moved past it since the check */
		uint64_t block = seq >> BLOCK_SHIFT;
		uint32_t bit = 1u << (seq & (BLOCK_BITS - 1));
		_Atomic uint64_t *slot = &r->bits[block & (r->nblocks - 1)];
		uint64_t w = atomic_load_explicit(slot, memory_order_relaxed), nw;
		do {
			int32_t a = age(block, w);
			if (a < 0)
				return false; /* slot taken by a block a window ahead */
			if (a == 0 && (w & bit))
				return false; /* recorded already: a replay */
			nw = a > 0 ? word(block, bit) : w | bit;
		} while (!atomic_compare_exchange_weak_explicit(slot, &w, nw, memory_order_relaxed,
								memory_order_relaxed));
	}
	/* Accepted: raise top (an atomic maximum). */
	while (seq > top) {
		if (atomic_compare_exchange_weak_explicit(&r->top, &top, seq, memory_order_relaxed,
							  memory_order_relaxed)) {
			if (r->window != 0)
				sweep(r, top, seq);
			break;
		}
	}
	return true;
}
