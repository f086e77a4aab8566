/* replay.c - RFC 4303 §3.4.3 anti-replay window, ESN per Appendix A2. */
#include "replay.h"

#include <stdlib.h>

/* Window used for seq_hi inference when replay checking is disabled: the
 * inference needs some notion of "recent" (Appendix A2.2 uses W). */
#define SL_INFER_MIN_WINDOW 1024u

int sl_replay_init(sl_replay_t *r, uint32_t window)
{
	r->window = window;
	r->top = 0;
	r->bits = NULL;
	r->nblocks = 0;
	if (window > SL_REPLAY_MAX_WINDOW)
		return -1;
	if (window == 0)
		return 0;
	/* One spare block so the block holding the new top never overlaps the
	 * oldest block still inside the window. */
	uint32_t need = (window + 63) / 64 + 1;
	uint32_t n = 1;
	while (n < need)
		n <<= 1;
	r->bits = calloc(n, sizeof(uint64_t));
	if (!r->bits)
		return -1;
	r->nblocks = n;
	return 0;
}

void sl_replay_free(sl_replay_t *r)
{
	free(r->bits);
	r->bits = NULL;
	r->nblocks = 0;
}

bool sl_replay_infer(const sl_replay_t *r, bool esn, uint32_t seq_lo, uint64_t *seq)
{
	if (!esn) {
		*seq = seq_lo;
		return true;
	}
	uint32_t w = r->window ? r->window : SL_INFER_MIN_WINDOW;
	uint32_t th = (uint32_t)(r->top >> 32);
	uint32_t tl = (uint32_t)r->top;
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
	if (*seq > r->top && *seq - r->top > (1ull << 31))
		return false;
	return true;
}

bool sl_replay_check(const sl_replay_t *r, uint64_t seq)
{
	if (seq == 0)
		return false; /* §3.3.3: the first packet sent is 1 */
	if (r->window == 0 || seq > r->top)
		return true;
	if (r->top - seq >= r->window)
		return false; /* left of the window */
	uint64_t block = (seq >> 6) & (r->nblocks - 1);
	return !(r->bits[block] & (1ull << (seq & 63)));
}

void sl_replay_update(sl_replay_t *r, uint64_t seq)
{
	if (r->window == 0) {
		if (seq > r->top)
			r->top = seq;
		return;
	}
	uint64_t mask = r->nblocks - 1;
	if (seq > r->top) {
		uint64_t from = r->top >> 6, to = seq >> 6;
		uint64_t diff = to - from;
		if (diff > r->nblocks)
			diff = r->nblocks;
		for (uint64_t i = 1; i <= diff; i++)
			r->bits[(from + i) & mask] = 0;
		r->top = seq;
	}
	r->bits[(seq >> 6) & mask] |= 1ull << (seq & 63);
}
