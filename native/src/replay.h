/*
 * replay.h - the inbound anti-replay window (RFC 4303 §3.4.3) with 64-bit
 * extended sequence numbers (§2.2.1, Appendix A2).
 *
 * Lock-free, so two workers may receive on one SA without a lock on the
 * fast path.  The bitmap is a ring of 64-bit words in the manner of RFC
 * 6479, but each word carries its own block number: the low 32 bits are the
 * bitmap of 32 consecutive sequence numbers, the high 32 bits the (low 32
 * bits of the) block number seq >> 5 those bits belong to.  A word whose
 * tag is older than the block asked for is empty for it, so advancing the
 * window needs no clearing pass that could race with another worker setting
 * a bit: the compare-and-swap that sets a number's bit is the single point
 * where that number is accepted, and it can succeed once only (tags per
 * slot only grow; a slot taken by a newer block means the number is left
 * of the window).  `top` is an atomic maximum.
 *
 * Order per packet (§3.4.3): sl_replay_infer + sl_replay_check before the
 * ICV (cheap rejection, reads only), sl_replay_update after it (the
 * decision: false when another worker recorded the same number meanwhile).
 */
#ifndef SL_REPLAY_H
#define SL_REPLAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_REPLAY_MAX_WINDOW 65536u

typedef struct sl_replay {
	uint32_t window;  /* packets; 0 = checking disabled */
	uint32_t nblocks; /* power of two, >= window / 32 + 1 */
	_Atomic uint64_t top; /* highest authenticated sequence number, 0 = none yet */
	_Atomic uint64_t *bits; /* nblocks words: block tag << 32 | 32-bit bitmap */
} sl_replay_t;

/* Allocates the bitmap (never on the per-packet path).  -1 on bad size/ENOMEM. */
int sl_replay_init(sl_replay_t *r, uint32_t window);
void sl_replay_free(sl_replay_t *r);

/* The highest authenticated sequence number (0 = none yet). */
static inline uint64_t sl_replay_top(const sl_replay_t *r)
{
	return atomic_load_explicit(&((sl_replay_t *)r)->top, memory_order_relaxed);
}

/* Reconstruct the full 64-bit number from the 32 bits on the wire.  Without
 * ESN it is seq_lo itself.  With ESN, Appendix A2.2: the high half is the
 * one that puts seq_lo inside or above the window.  false when the number
 * would lie before sequence number 1 (cannot be valid). */
bool sl_replay_infer(const sl_replay_t *r, bool esn, uint32_t seq_lo, uint64_t *seq);

/* Before the ICV check (cheap rejection): true when seq is new (not seen,
 * not left of the window, not 0).  Reads only; any thread. */
bool sl_replay_check(const sl_replay_t *r, uint64_t seq);
/* Record an authenticated seq.  true when this call recorded it, false when
 * it was recorded already (by another worker since the check) or has left
 * the window meanwhile: then the packet is a replay.  Any thread. */
bool sl_replay_update(sl_replay_t *r, uint64_t seq);

#endif
