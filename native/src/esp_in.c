/* esp_in.c - inbound ESP tunnel mode (RFC 4303 §3.4). */
#include "esp.h"
#include "inner.h"
#include "crypto_batch.h"

#include <netinet/in.h>

static uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* RFC 3948 §3.5 / RFC 7296 §2.23: follow the peer's NAT mapping, from
 * authenticated packets only.  The compare is against this worker's copy
 * of the remote (refreshed when remote_gen moves), so the usual case, the
 * peer where it was, takes no lock.  true when the remote changed. */
static bool follow_peer(sl_sa_t *sa, sl_sa_worker_t *me, const sl_endpoint_t *from)
{
	uint32_t gen = atomic_load_explicit(&sa->remote_gen, memory_order_acquire);
	if (gen == me->remote_gen && sl_endpoint_eq(from, &me->remote))
		return false;
	bool moved = false;
	pthread_spin_lock(&sa->remote_lock);
	if (!sl_endpoint_eq(from, &sa->remote)) {
		sa->remote = *from;
		atomic_fetch_add(&sa->remote_gen, 1);
		moved = true;
	}
	me->remote = sa->remote;
	me->remote_gen = atomic_load_explicit(&sa->remote_gen, memory_order_relaxed);
	pthread_spin_unlock(&sa->remote_lock);
	return moved;
}

sl_drop_t sl_esp_decap_begin(const sl_wctx_t *w, sl_sadb_t *db, struct sl_crypto_batch *b,
			     uint8_t encap, uint8_t *pkt, size_t len, sl_esp_rx_t *rx)
{
	if (len < 8)
		return SL_DROP_MALFORMED;
	sl_sa_t *sa = sl_sadb_lookup_in(db, rd32(pkt));
	if (!sa)
		return SL_DROP_BADSPI; /* §3.4.2 */
	sl_sa_worker_t *me = sl_esp_mine(w, sa);
	if (sa->encap != encap) {
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}
	if (atomic_load_explicit(&sa->dead, memory_order_relaxed))
		return SL_DROP_DEAD;
	size_t overhead = 8 + sa->iv_len + sa->icv_len;
	if (len < overhead + sa->block || (len - overhead) % sa->block != 0) {
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}
	size_t plen = len - overhead;

	/* §3.4.3: reject replays before spending the ICV computation on them
	 * (the window is lock-free, replay.h). */
	uint64_t seq;
	if (!sl_replay_infer(&sa->replay, sa->esn, rd32(pkt + 4), &seq) ||
	    !sl_replay_check(&sa->replay, seq)) {
		SL_CNT_INC(me->drops_replay);
		return SL_DROP_REPLAY;
	}

	/* The ICV check: queued in the batch (AF_ALG: run with the others in
	 * shared syscall rounds; OpenSSL: run now), or run now without one. */
	int t = b != NULL ? sl_crypto_batch_open(b, sa->ctx[w->worker], pkt, plen, (uint32_t)(seq >> 32))
			  : sl_crypto_open(sa->ctx[w->worker], pkt, plen, (uint32_t)(seq >> 32));
	if (b != NULL && t < 0) {
		/* Refused when queued (bad length, wiped context): as a failed open. */
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}
	*rx = (sl_esp_rx_t){ .sa = sa, .pkt = pkt, .plen = plen, .seq = seq, .ticket = t, .encap = encap };
	return SL_OK;
}

sl_drop_t sl_esp_decap_end(const sl_wctx_t *w, const struct sl_crypto_batch *b, const sl_esp_rx_t *rx,
			   const sl_endpoint_t *from, uint8_t **inner, size_t *inner_len)
{
	sl_sa_t *sa = rx->sa;
	sl_sa_worker_t *me = sl_esp_mine(w, sa);
	uint64_t seq = rx->seq;
	uint8_t encap = rx->encap;
	size_t plen = rx->plen;

	/* Between the halves, earlier packets of the batch may have killed the
	 * SA (lifetime) or moved the window: decide as if this packet had been
	 * checked after them, one by one (the same drop, counted the same way;
	 * a duplicate within one batch is a replay here). */
	if (atomic_load_explicit(&sa->dead, memory_order_relaxed))
		return SL_DROP_DEAD;
	if (!sl_replay_check(&sa->replay, seq)) {
		SL_CNT_INC(me->drops_replay);
		return SL_DROP_REPLAY;
	}
	int rc = b != NULL ? sl_crypto_batch_result(b, rx->ticket) : rx->ticket;
	if (rc == SL_CRYPTO_EAUTH) {
		SL_CNT_INC(me->drops_icv);
		return SL_DROP_ICV; /* §3.4.4.1 */
	}
	if (rc != SL_CRYPTO_OK) {
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}

	/* Authenticated: record it in the window, which refuses it when a
	 * second worker recorded the same number meanwhile (§3.4.3: update
	 * only after the ICV), then follow a NAT mapping change. */
	if (!sl_replay_update(&sa->replay, seq)) {
		SL_CNT_INC(me->drops_replay);
		return SL_DROP_REPLAY;
	}
	if (encap == SL_ENCAP_UDP && from && follow_peer(sa, me, from) && w->sink && w->sink->event) {
		sl_event_t ev = { .type = SL_EV_PEER_MOVED, .spi = sa->spi, .dir = SL_DIR_IN,
				  .reqid = sa->reqid, .from = *from };
		w->sink->event(w->sink->ctx, &ev);
	}

	/* §2.4: trailer = padding | pad length | next header; padding must be 1, 2, 3, ... */
	uint8_t *payload = rx->pkt + 8 + sa->iv_len;
	uint8_t padlen = payload[plen - 2];
	uint8_t nh = payload[plen - 1];
	if ((size_t)padlen + 2 > plen) {
		SL_CNT_INC(me->drops_padding);
		return SL_DROP_PADDING;
	}
	size_t body = plen - 2 - padlen;
	for (size_t i = 0; i < padlen; i++) {
		if (payload[body + i] != (uint8_t)(i + 1)) {
			SL_CNT_INC(me->drops_padding);
			return SL_DROP_PADDING;
		}
	}
	if (nh == 59) { /* §2.6: dummy packet, discard silently */
		*inner = payload;
		*inner_len = 0;
		return SL_OK;
	}
	if (nh != IPPROTO_IPIP && nh != IPPROTO_IPV6) {
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}
	sl_flow_t f;
	long ilen = sl_inner_parse(payload, body, nh, &f);
	bool ok = ilen > 0;
	/* RFC 4301 §5.2: the inner header must match the SA's selectors. */
	if (ok && sa->nsels) {
		ok = false;
		for (size_t i = 0; i < sa->nsels && !ok; i++)
			ok = sl_selector_match(&sa->sels[i], &f, true);
	}
	if (!ok) {
		SL_CNT_INC(me->drops_malformed);
		return SL_DROP_MALFORMED;
	}
	if (!sl_esp_account(w, sa, (size_t)ilen))
		return SL_DROP_DEAD;
	*inner = payload;
	*inner_len = (size_t)ilen;
	return SL_OK;
}

sl_drop_t sl_esp_decap(const sl_wctx_t *w, sl_sadb_t *db, uint8_t encap, uint8_t *pkt,
		       size_t len, const sl_endpoint_t *from, uint8_t **inner, size_t *inner_len)
{
	sl_esp_rx_t rx;
	sl_drop_t why = sl_esp_decap_begin(w, db, NULL, encap, pkt, len, &rx);
	return why != SL_OK ? why : sl_esp_decap_end(w, NULL, &rx, from, inner, inner_len);
}
