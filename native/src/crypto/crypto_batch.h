/*
 * crypto_batch.h - seal/open several packets per syscall round.
 *
 * Each AF_ALG operation costs a sendmsg() and a recvmsg().  A worker that
 * holds a batch of packets queues them here and runs the batch once: the
 * AF_ALG requests go to the kernel in rounds, one io_uring_enter per round
 * (afalg_uring.c), a round holding up to one request per op socket of each
 * SA (SL_AFALG_MAX_LANES) and at most SL_CRYPTO_BATCH_ROUND requests in all.
 * Requests of OpenSSL contexts run when queued, exactly as sl_crypto_seal /
 * sl_crypto_open would.  Where the kernel refuses io_uring the batch runs
 * its AF_ALG requests one by one (sendmsg + recvmsg) and says so in its stats.
 *
 * Packets must stay in place, untouched, from queueing until run returns.
 * A failed entry fails alone: its result says why, the others are unaffected.
 * A batch belongs to one thread (like the contexts it is handed) and
 * allocates only in sl_crypto_batch_new.
 */
#ifndef SL_CRYPTO_BATCH_H
#define SL_CRYPTO_BATCH_H

#include "crypto.h"

#define SL_CRYPTO_BATCH_ROUND 32 /* requests per io_uring_enter */

typedef struct sl_crypto_batch sl_crypto_batch_t;

/* Room for cap entries (1..4096); NULL when out of memory or cap is bad.
 * Sets up the io_uring (1 descriptor, not from the AF_ALG budget). */
sl_crypto_batch_t *sl_crypto_batch_new(unsigned cap);
void sl_crypto_batch_free(sl_crypto_batch_t *b);

/* Queue a seal (the IV is placed now, as sl_crypto_seal does) or an open.
 * Returns the entry's index (>= 0), or an SL_CRYPTO_E* code when nothing
 * was queued (bad arguments, batch full: the caller drops the packet). */
int sl_crypto_batch_seal(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t payload_len,
			 uint64_t seq);
int sl_crypto_batch_open(sl_crypto_batch_t *b, sl_crypto_t *c, uint8_t *pkt, size_t payload_len,
			 uint32_t seq_hi);
/* Run every queued entry; afterwards each has its result. */
void sl_crypto_batch_run(sl_crypto_batch_t *b);
/* An entry's result after run: SL_CRYPTO_OK or an SL_CRYPTO_E* code
 * (EAUTH: forged, its payload wiped as sl_crypto_open does). */
int sl_crypto_batch_result(const sl_crypto_batch_t *b, int idx);
unsigned sl_crypto_batch_len(const sl_crypto_batch_t *b);
/* Forget the entries (results included) for the next batch. */
void sl_crypto_batch_clear(sl_crypto_batch_t *b);

typedef struct sl_crypto_batch_stats {
	uint64_t afalg_requests; /* AF_ALG entries run */
	uint64_t afalg_syscalls; /* syscalls they took (io_uring_enter, or sendmsg + recvmsg) */
	uint64_t rounds;
	uint64_t failed;         /* entries that failed (any backend) */
	bool uring;              /* false: the kernel refused io_uring, requests run one by one */
} sl_crypto_batch_stats_t;
void sl_crypto_batch_stats(const sl_crypto_batch_t *b, sl_crypto_batch_stats_t *out);

/* The round planner (pure, unit-tested): a context's lanes, and which it
 * has handed out in the current round. */
typedef struct sl_lane_set {
	unsigned nlanes;
	unsigned round, used;
} sl_lane_set_t;
/* Choose the next round among entries [0, n) not yet done: in order, each
 * entry whose set still has a lane free in round `round`, at most max.
 * Writes the chosen entries to pick[] and their lanes to lane[]; returns
 * how many.  A set with no lanes never gets an entry. */
unsigned sl_batch_plan(sl_lane_set_t *const *sets, const bool *done, unsigned n, unsigned round,
		       unsigned max, unsigned *pick, unsigned *lane);

#endif
