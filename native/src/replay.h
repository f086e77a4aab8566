/*
 * replay.h - the inbound anti-replay window (RFC 4303 §3.4.3) with 64-bit
 * extended sequence numbers (§2.2.1, Appendix A2).
 *
 * The bitmap is a ring of 64-bit blocks (the layout of RFC 6479): advancing
 * the window clears whole blocks, so check and update cost O(1) per packet
 * (at most nblocks word stores when the window jumps far ahead).
 * The caller serialises access (the SA's replay lock).
 */
#ifndef SL_REPLAY_H
#define SL_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define SL_REPLAY_MAX_WINDOW 65536u

typedef struct sl_replay {
	uint32_t window;  /* packets; 0 = checking disabled */
	uint32_t nblocks; /* power of two, covers window + one spare block */
	uint64_t top;     /* highest authenticated sequence number, 0 = none yet */
	uint64_t *bits;
} sl_replay_t;

/* Allocates the bitmap (never on the per-packet path).  -1 on bad size/ENOMEM. */
int sl_replay_init(sl_replay_t *r, uint32_t window);
void sl_replay_free(sl_replay_t *r);

/* Reconstruct the full 64-bit number from the 32 bits on the wire.  Without
 * ESN it is seq_lo itself.  With ESN, Appendix A2.2: the high half is the
 * one that puts seq_lo inside or above the window.  false when the number
 * would lie before sequence number 1 (cannot be valid). */
bool sl_replay_infer(const sl_replay_t *r, bool esn, uint32_t seq_lo, uint64_t *seq);

/* Before the ICV check (cheap rejection) and again under the lock after it:
 * true when seq is new (not seen, not left of the window, not 0). */
bool sl_replay_check(const sl_replay_t *r, uint64_t seq);
/* Record an authenticated seq (call only after check() passed under the same lock). */
void sl_replay_update(sl_replay_t *r, uint64_t seq);

#endif
