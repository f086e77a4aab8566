/* esp_common.c - SA lifetime accounting and drop counting shared by both directions. */
#include "esp.h"

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

bool sl_esp_account(const sl_wctx_t *w, sl_sa_t *sa, size_t bytes)
{
	/* Check the hard limit before counting so a refused packet is not counted
	 * as carried; two workers may both pass at the edge, which the limit's
	 * purpose (bounding key use) tolerates by one packet per worker. */
	uint64_t p = atomic_load_explicit(&sa->packets, memory_order_relaxed) + 1;
	uint64_t b = atomic_load_explicit(&sa->bytes, memory_order_relaxed) + bytes;
	sl_event_reason_t hard = sa->hard_packets && p > sa->hard_packets ? SL_REASON_PACKETS
				 : sa->hard_bytes && b > sa->hard_bytes   ? SL_REASON_BYTES
									  : SL_REASON_NONE;
	if (hard != SL_REASON_NONE) {
		sl_esp_kill(w, sa);
		if (!atomic_exchange(&sa->hard_fired, true))
			fire(w, sa, SL_EV_HARD, hard);
		return false;
	}
	atomic_fetch_add_explicit(&sa->packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sa->bytes, bytes, memory_order_relaxed);
	sl_event_reason_t soft = sa->soft_packets && p >= sa->soft_packets ? SL_REASON_PACKETS
				 : sa->soft_bytes && b >= sa->soft_bytes   ? SL_REASON_BYTES
									   : SL_REASON_NONE;
	if (soft != SL_REASON_NONE && !atomic_load_explicit(&sa->soft_fired, memory_order_relaxed) &&
	    !atomic_exchange(&sa->soft_fired, true))
		fire(w, sa, SL_EV_SOFT, soft);
	return true;
}
