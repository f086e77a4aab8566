/* esp_in_batch.c - decapsulate a received batch (esp_in_batch.h). */
#include "esp_in_batch.h"
#include "crypto_batch.h"

void sl_esp_rxq_add(sl_esp_rxq_t *q, uint8_t encap, uint8_t *pkt, size_t len,
		    const sl_endpoint_t *from)
{
	if (q->n >= SL_ESP_RXQ_LEN)
		sl_esp_rxq_flush(q);
	unsigned i = q->n;
	sl_drop_t why = sl_esp_decap_begin(q->w, q->db, q->batch, encap, pkt, len, &q->rx[i]);
	if (why != SL_OK) {
		sl_esp_count_drop(q->w, why);
		return;
	}
	q->has_from[i] = from != NULL;
	if (from != NULL)
		q->from[i] = *from;
	q->n = i + 1;
}

void sl_esp_rxq_flush(sl_esp_rxq_t *q)
{
	if (q->n == 0)
		return;
	sl_crypto_batch_run(q->batch); /* NULL: the opens ran when added */
	for (unsigned i = 0; i < q->n; i++) {
		uint8_t *inner;
		size_t ilen;
		sl_drop_t why = sl_esp_decap_end(q->w, q->batch, &q->rx[i],
						 q->has_from[i] ? &q->from[i] : NULL, &inner, &ilen);
		if (why != SL_OK)
			sl_esp_count_drop(q->w, why);
		else if (ilen != 0) /* 0: a dummy packet (RFC 4303 §2.6), consumed */
			q->deliver(q->ctx, inner, ilen);
	}
	sl_crypto_batch_clear(q->batch);
	q->n = 0;
}
