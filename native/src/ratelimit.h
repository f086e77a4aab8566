/*
 * ratelimit.h - a per-second event budget for one thread (no atomics: each
 * worker owns its own).  Used where the network can make the engine emit an
 * event (an outbound packet with no SA), so that a flood costs at most
 * `max` events per second per worker, never an unbounded queue.
 */
#ifndef SL_RATELIMIT_H
#define SL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sl_rate {
	uint64_t sec;   /* the second the budget is for */
	uint32_t spent; /* events allowed in it */
} sl_rate_t;

static inline bool sl_rate_allow(sl_rate_t *r, uint64_t now_sec, uint32_t max)
{
	if (now_sec != r->sec) {
		r->sec = now_sec;
		r->spent = 0;
	}
	if (r->spent >= max)
		return false;
	r->spent++;
	return true;
}

#endif
