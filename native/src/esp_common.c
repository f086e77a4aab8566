/* esp_common.c - SA lifetime accounting and drop counting shared by both directions. */
#include "esp.h"

/* Largest lifetime share a worker takes at once: a compare-and-swap on
 * the SA's shared line per this many packets / bytes at most. */
#define SHARE_PACKETS 1024u
#define SHARE_BYTES (1024u * 1024u)

void sl_esp_count_drop(const sl_wctx_t *w, sl_drop_t why)
{
	if (why > SL_OK && why < SL_DROP__COUNT)
		SL_CNT_INC(w->cnt->drops[why]);
}

void sl_esp_kill(const sl_wctx_t *w, sl_sa_t *sa)
{
	atomic_store(&sa->dead, true);
	if (w->reap)
		atomic_store(w->reap, true);
}

static void fire(const sl_wctx_t *w, sl_sa_t *sa, sl_event_type_t type, sl_event_reason_t reason)
{
	if (!w->sink || !w->sink->event)
		return;
	sl_event_t ev = { .type = type, .spi = sa->spi, .dir = sa->dir, .reason = reason,
			  .reqid = sa->reqid };
	w->sink->event(w->sink->ctx, &ev);
}

/* Claim at least `need` units of one lifetime resource from the SA-wide
 * `used`, against `hard` (0 = none).  Returns the units granted (need plus
 * a share for later packets), 0 when the hard limit refuses.  The share
 * stays below soft until a packet itself reaches it, so the claim that
 * crosses soft is the one made for the packet that reaches it (*soft_hit):
 * with one worker soft and hard fire exactly where they did per packet. */
static uint64_t claim(_Atomic uint64_t *used, uint64_t need, uint64_t soft, uint64_t hard,
		      uint64_t share, bool *soft_hit)
{
	uint64_t u = atomic_load_explicit(used, memory_order_relaxed);
	for (;;) {
		if (hard && (u > hard || need > hard - u))
			return 0;
		uint64_t after = u + need;
		uint64_t extra = share;
		if (hard && (hard - after) / 8 < extra)
			extra = (hard - after) / 8; /* shrink near the end: little left unused */
		if (soft && after < soft && soft - 1 - after < extra)
			extra = soft - 1 - after;
		if (UINT64_MAX - after < extra)
			extra = UINT64_MAX - after;
		if (atomic_compare_exchange_weak_explicit(used, &u, after + extra, memory_order_relaxed,
							  memory_order_relaxed)) {
			*soft_hit = soft && u < soft && after >= soft;
			return need + extra;
		}
	}
}

static bool refuse(const sl_wctx_t *w, sl_sa_t *sa, sl_event_reason_t why)
{
	sl_esp_kill(w, sa);
	if (!atomic_exchange(&sa->hard_fired, true))
		fire(w, sa, SL_EV_HARD, why);
	return false;
}

bool sl_esp_account(const sl_wctx_t *w, sl_sa_t *sa, size_t bytes)
{
	sl_sa_worker_t *me = sl_esp_mine(w, sa);
	if (sa->limited && (me->credit_packets < 1 || me->credit_bytes < bytes)) {
		/* Out of this worker's share: claim more (rare).  A refused packet
		 * is not counted as carried. */
		bool soft_p = false, soft_b = false;
		if (me->credit_packets < 1) {
			uint64_t got = claim(&sa->life_packets, 1, sa->soft_packets, sa->hard_packets,
					     SHARE_PACKETS, &soft_p);
			if (!got)
				return refuse(w, sa, SL_REASON_PACKETS);
			me->credit_packets += got;
		}
		if (me->credit_bytes < bytes) {
			uint64_t got = claim(&sa->life_bytes, bytes - me->credit_bytes, sa->soft_bytes,
					     sa->hard_bytes, SHARE_BYTES, &soft_b);
			if (!got)
				return refuse(w, sa, SL_REASON_BYTES);
			me->credit_bytes += got;
		}
		if ((soft_p || soft_b) && !atomic_exchange(&sa->soft_fired, true))
			fire(w, sa, SL_EV_SOFT, soft_p ? SL_REASON_PACKETS : SL_REASON_BYTES);
	}
	if (sa->limited) {
		me->credit_packets -= 1;
		me->credit_bytes -= bytes;
	}
	/* Plain increments of this worker's own counters (no locked operation). */
	SL_CNT_INC(me->packets);
	SL_CNT_ADD(me->bytes, bytes);
	return true;
}
