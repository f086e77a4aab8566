/*
 * esp_in_batch.h - decapsulate a received batch (recvmmsg, a UDP GRO
 * train, raw ESP) with its opens in one crypto batch.
 *
 * Each AF_ALG open costs a sendmsg and a recvmsg when run alone; queued in
 * a crypto batch (crypto_batch.h) the opens of a received batch share
 * io_uring rounds.  RFC 4303 §3.4.3's order holds per packet: the
 * anti-replay pre-check before the ICV (when the packet is added), the
 * window update only after the ICV passed (at flush, packet by packet in
 * arrival order, so a duplicate within one batch is still a replay).
 * Drops are counted per reason in the worker's counters (and the SA's) as
 * sl_esp_decap counts them; authentic inner packets go to deliver() in
 * arrival order.  No allocation: the queue is part of the worker's state.
 */
#ifndef SL_ESP_IN_BATCH_H
#define SL_ESP_IN_BATCH_H

#include "esp.h"

#include <stdbool.h>

#define SL_ESP_RXQ_LEN 64 /* packets per flush: the crypto batch must hold this many */

/* An authentic, non-dummy inner packet (inside the received buffer). */
typedef void (*sl_esp_deliver_fn)(void *ctx, uint8_t *inner, size_t len);

typedef struct sl_esp_rxq {
	const sl_wctx_t *w;
	sl_sadb_t *db;
	struct sl_crypto_batch *batch; /* empty between flushes; NULL: every open at once */
	sl_esp_deliver_fn deliver;
	void *ctx;
	unsigned n;
	sl_esp_rx_t rx[SL_ESP_RXQ_LEN];
	sl_endpoint_t from[SL_ESP_RXQ_LEN];
	bool has_from[SL_ESP_RXQ_LEN];
} sl_esp_rxq_t;

/* Take one received ESP packet (SPI first; from: the outer source, or
 * NULL).  Dropped at once when it fails the checks before the ICV;
 * otherwise queued (the packet must stay in place until the flush), and
 * the queue flushes itself when full. */
void sl_esp_rxq_add(sl_esp_rxq_t *q, uint8_t encap, uint8_t *pkt, size_t len,
		    const sl_endpoint_t *from);
/* Run the queued opens, then finish each packet in order: drop (counted)
 * or deliver.  Call before the worker's next quiescent point. */
void sl_esp_rxq_flush(sl_esp_rxq_t *q);

#endif
