/* esp_out.c - outbound ESP tunnel mode (RFC 4303 §3.1, §3.3). */
#include "esp.h"
#include "crypto_batch.h"

#include <string.h>

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Reserve a fresh run of sequence numbers for this worker (sa.h): one
 * compare-and-swap per run.  false when the SA has none left (§3.3.3: the
 * counter must never cycle; the SA is used up instead). */
static bool reserve(sl_sa_t *sa, sl_sa_worker_t *me)
{
	uint64_t r = atomic_load_explicit(&sa->seq_res, memory_order_relaxed);
	for (;;) {
		if (r >= sa->seq_max)
			return false;
		uint64_t last = sa->seq_max - r > sa->seq_chunk ? r + sa->seq_chunk : sa->seq_max;
		if (atomic_compare_exchange_weak_explicit(&sa->seq_res, &r, last, memory_order_relaxed,
							  memory_order_relaxed)) {
			me->seq_next = r + 1;
			me->seq_left = last - r;
			return true;
		}
	}
}

/* The next sequence number this worker sends, 0 when the SA ran out. */
static uint64_t next_seq(sl_sa_t *sa, sl_sa_worker_t *me)
{
	/* A run left behind by the others (this worker quiet while another
	 * sends) would reach the peer below its window: abandon it. */
	uint64_t res = atomic_load_explicit(&sa->seq_res, memory_order_relaxed);
	if ((me->seq_left == 0 || res - me->seq_next >= SL_SEQ_STALE) && !reserve(sa, me) &&
	    me->seq_left == 0)
		return 0; /* nothing reserved and nothing left to reserve */
	me->seq_left--;
	uint64_t seq = me->seq_next++; /* may wrap after UINT64_MAX: seq_left is 0 then */
	/* Increasing per worker: the status reads the maximum over workers. */
	atomic_store_explicit(&me->seq_sent, seq, memory_order_relaxed);
	return seq;
}

sl_drop_t sl_esp_encap(const sl_wctx_t *w, sl_sa_t *sa, uint8_t *buf, size_t cap,
		       size_t inner_len, uint8_t nh, uint8_t **esp, size_t *esp_len)
{
	if (atomic_load_explicit(&sa->dead, memory_order_relaxed))
		return SL_DROP_DEAD;
	/* §2.4: payload + pad length + next header end on a block boundary. */
	size_t body = inner_len + 2;
	size_t padded = (body + sa->block - 1) & ~(sa->block - 1);
	size_t padlen = padded - body;
	if (cap < SL_ESP_HEADROOM || SL_ESP_HEADROOM + padded + sa->icv_len > cap)
		return SL_DROP_MALFORMED;
	if (!sl_esp_account(w, sa, inner_len))
		return SL_DROP_DEAD;

	/* §3.3.3: strictly increasing, never reused; the counter must never
	 * cycle, the SA is used up instead. */
	uint64_t seq = next_seq(sa, sl_esp_mine(w, sa));
	if (seq == 0) {
		sl_esp_kill(w, sa);
		return SL_DROP_DEAD;
	}
	if (seq >= sa->seq_warn && !atomic_exchange(&sa->overflow_fired, true) && w->sink &&
	    w->sink->event) {
		sl_event_t ev = { .type = SL_EV_SEQ_OVERFLOW, .spi = sa->spi, .dir = SL_DIR_OUT,
				  .reqid = sa->reqid };
		w->sink->event(w->sink->ctx, &ev);
	}

	uint8_t *payload = buf + SL_ESP_HEADROOM;
	uint8_t *trailer = payload + inner_len;
	/* §2.4: default padding is the monotonic series 1, 2, 3, ... */
	for (size_t i = 0; i < padlen; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[padlen] = (uint8_t)padlen;
	trailer[padlen + 1] = nh;

	uint8_t *hdr = payload - sa->iv_len - 8;
	wr32(hdr, sa->spi);
	wr32(hdr + 4, (uint32_t)seq); /* §2.2.1: only the low 32 bits are sent */
	if (w->batch != NULL ? sl_crypto_batch_seal(w->batch, sa->ctx[w->worker], hdr, padded, seq) < 0
			     : sl_crypto_seal(sa->ctx[w->worker], hdr, padded, seq) != SL_CRYPTO_OK)
		return SL_DROP_TXERR;
	*esp = hdr;
	*esp_len = 8 + sa->iv_len + padded + sa->icv_len;
	return SL_OK;
}
