/*
 * esp.h - ESP tunnel mode (RFC 4303) for one packet, no I/O.
 *
 * Buffer layout on encapsulation: the inner packet sits at
 * buf + SL_ESP_HEADROOM so SPI | seq | IV are written in front of it and the
 * trailer (padding, pad length, next header) and ICV behind it, in place.
 */
#ifndef SL_ESP_H
#define SL_ESP_H

#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "event.h"
#include "sa.h"
#include "sadb.h"

#define SL_ESP_HEADROOM 32  /* >= 8 (SPI, seq) + 16 (largest IV) */
#define SL_ESP_TAILROOM 128 /* >= block-1 padding + 2 trailer bytes + 32 ICV */

/* The worker's view: which crypto contexts to use, where to count, whom to tell. */
typedef struct sl_wctx {
	int worker;
	sl_counters_t *cnt;
	const sl_sink_t *sink;
	/* Set when this worker makes an SA dead, so that its keys get wiped
	 * (sl_sadb_reap) after a grace period; NULL = nobody reaps. */
	atomic_bool *reap;
	/* When set, sl_esp_encap queues the seal here (its entry is the
	 * batch's last) and the worker runs the batch before sending, so
	 * AF_ALG seals share syscall rounds (crypto_batch.h); NULL = seal now. */
	struct sl_crypto_batch *batch;
} sl_wctx_t;

/* This worker's block of the SA (counters, sequence run, lifetime credit). */
static inline sl_sa_worker_t *sl_esp_mine(const sl_wctx_t *w, sl_sa_t *sa)
{
	return &sa->w[w->worker];
}

/* Encapsulate the inner packet (inner_len bytes at buf + SL_ESP_HEADROOM;
 * nh = 4 or 41).  On SL_OK, *esp / *esp_len is the ESP packet inside buf. */
sl_drop_t sl_esp_encap(const sl_wctx_t *w, sl_sa_t *sa, uint8_t *buf, size_t cap,
		       size_t inner_len, uint8_t nh, uint8_t **esp, size_t *esp_len);

/* Verify and decrypt the ESP packet (SPI first) in place.  encap is how it
 * arrived (SL_ENCAP_UDP: from is the outer source, used for NAT following).
 * On SL_OK, *inner / *inner_len is the inner IP packet (inner_len 0 for a
 * dummy packet, RFC 4303 §2.6, which is consumed silently).  The caller is
 * an online SADB reader (no lock) and counts drops via sl_esp_count_drop. */
sl_drop_t sl_esp_decap(const sl_wctx_t *w, sl_sadb_t *db, uint8_t encap, uint8_t *pkt,
		       size_t len, const sl_endpoint_t *from, uint8_t **inner, size_t *inner_len);

/* The two halves of sl_esp_decap, for a worker that decapsulates a
 * received batch (esp_in_batch.h): begin does the checks before the ICV
 * (SPI, lengths, §3.4.3 anti-replay pre-check) and queues the open in b
 * (NULL: runs it now); after sl_crypto_batch_run, end takes its result
 * and does the rest (window update only for an authentic packet, NAT
 * following, trailer, selectors, lifetime).  Ends must come in the order
 * of the begins: each decides as if its packet had been handled after the
 * earlier ones (a duplicate within one batch is a replay).  rx holds what
 * begin found; the SA pointer in it is valid until the worker's next
 * quiescent point (sadb.h). */
typedef struct sl_esp_rx {
	sl_sa_t *sa;
	uint8_t *pkt;
	size_t plen;  /* encrypted payload bytes */
	uint64_t seq; /* the full (ESN-inferred) sequence number */
	int ticket;   /* the open's batch entry; without a batch, its result */
	uint8_t encap;
} sl_esp_rx_t;
struct sl_crypto_batch;
sl_drop_t sl_esp_decap_begin(const sl_wctx_t *w, sl_sadb_t *db, struct sl_crypto_batch *b,
			     uint8_t encap, uint8_t *pkt, size_t len, sl_esp_rx_t *rx);
sl_drop_t sl_esp_decap_end(const sl_wctx_t *w, const struct sl_crypto_batch *b, const sl_esp_rx_t *rx,
			   const sl_endpoint_t *from, uint8_t **inner, size_t *inner_len);

/* Mark the SA dead (no more traffic, RFC 4301 §4.4.2.1) and ask for its keys to be wiped. */
void sl_esp_kill(const sl_wctx_t *w, sl_sa_t *sa);

/* Record a drop in the worker's global counters. */
void sl_esp_count_drop(const sl_wctx_t *w, sl_drop_t why);

/* Count a packet against the SA's lifetime (RFC 4301 §4.4.2.1); fires soft /
 * hard once each.  false when the hard limit is hit (SA is now dead).
 * With limits set, each worker claims lifetime from the SA in shares (one
 * compare-and-swap per share, see esp_common.c): exact with one worker;
 * with several, the SA may die early by what the others hold unused, at
 * most an eighth of what was left when each took its share. */
bool sl_esp_account(const sl_wctx_t *w, sl_sa_t *sa, size_t bytes);

#endif
