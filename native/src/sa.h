/*
 * sa.h - one ESP security association (RFC 4301 §4.4.2 SAD entry).
 *
 * Immutable after creation except: the remote endpoint (under remote_lock,
 * rare: the owner changes it, or for inbound SAs the worker that sees the
 * peer move), the outbound destination (two slots, see sl_sa_dest), the
 * atomics, the replay window (lock-free, replay.h) and the per-worker
 * blocks.
 *
 * Per-packet state never makes two workers write one cache line when they
 * need not: each worker has its own block (sl_sa_worker_t, cache-line
 * aligned) for the SA's counters, its reserved run of outbound sequence
 * numbers and its share of the lifetime; readers sum the blocks.  What is
 * necessarily shared (the inbound window, the sequence reservation, the
 * lifetime claims) sits on lines of its own, away from the read-mostly
 * fields every worker reads per packet.
 */
#ifndef SL_SA_H
#define SL_SA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "counters.h"
#include "crypto.h"
#include "replay.h"
#include "sa_spec.h"
#include "selector.h"

/* Where outbound packets of the SA go, as the engine's socket wants it: an
 * IPv4 or IPv6 address (28 bytes at most, where a sockaddr_storage takes 128
 * in each of an SA's two slots). */
typedef struct sl_sa_dest {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} ss;
	socklen_t len;
} sl_sa_dest_t;

/*
 * Outbound sequence numbers (RFC 4303 §3.3.3: strictly increasing, never
 * reused, never cycled) without an atomic per packet: a worker reserves a
 * run of seq_chunk numbers with one compare-and-swap on seq_res and hands
 * them out alone.  Per worker the numbers increase; across workers the
 * peer sees them interleaved, which its anti-replay window accepts when
 * the spread stays well inside it.  Two bounds keep it there:
 *  - seq_chunk = SL_SEQ_SPAN / workers, so one round of reservations by all
 *    workers spans SL_SEQ_SPAN (16) numbers;
 *  - a worker whose next number is SL_SEQ_STALE (24) or more behind the
 *    highest reserved one (a quiet flow on this worker while another
 *    worker's flow runs ahead) abandons the rest of its run and reserves a
 *    fresh one.  The peer's window top is at most seq_res, so every packet
 *    leaves within 24 of it: inside the smallest window a receiver must
 *    support (32, RFC 4303 §3.4.3; 64 is the default) with room for some
 *    reordering on the way.
 * Abandoned numbers are never sent: the peer sees them as lost packets.
 */
#define SL_SEQ_SPAN 16u
#define SL_SEQ_STALE 24u

/* One worker's share of an SA: one cache line pair, written by that worker only. */
typedef struct sl_sa_worker {
	/* Counted by the owning worker with SL_CNT_ADD (a plain load and store),
	 * summed by readers (sl_sa_counts). */
	_Atomic uint64_t packets, bytes, drops_replay, drops_icv, drops_malformed, drops_padding;
	_Atomic uint64_t seq_sent; /* highest sequence number this worker sent */
	/* Private to the owning worker. */
	uint64_t seq_next, seq_left;           /* reserved run: next number, how many left */
	uint64_t credit_packets, credit_bytes; /* lifetime claimed (life_*) but not used yet */
	uint32_t remote_gen;                   /* remote_gen when `remote` was copied */
	sl_endpoint_t remote;                  /* copy of the SA's remote, for NAT following */
} __attribute__((aligned(64))) sl_sa_worker_t;

typedef struct sl_sa {
	/* Read-mostly: every worker reads these per packet. */
	struct sl_sa *next; /* SADB control hash chain (writer side only) */
	uint64_t gen;       /* order of installation: among equal selectors the newest wins */
	uint32_t spi;
	uint8_t dir, encap;
	bool esn;
	bool limited;       /* any lifetime limit set: packets are claimed against life_* */
	uint32_t reqid;
	uint32_t seq_chunk; /* outbound numbers reserved at a time (SL_SEQ_SPAN / workers) */
	int nworkers;       /* entries in w[] */
	size_t alloc_size;
	sl_alg_t alg;
	char alg_name[32];
	sl_endpoint_t local;
	/* Outbound destination: workers read dests[cur] without a lock; a
	 * change writes the other slot, flips cur, and waits for a grace period
	 * (sl_sadb_set_remote) before the old slot may be written again. */
	sl_sa_dest_t dests[2];
	atomic_int cur_dest;
	int nctx; /* 0 once the keys are wiped (sl_sa_wipe_keys) */
	sl_crypto_t *ctx[SL_MAX_WORKERS]; /* one per worker: contexts are single-threaded */
	/* Copied at creation so status still reads them after the keys are wiped. */
	char backend_name[16];
	char driver[64];
	sl_probe_t probe; /* done when crypto-backend = auto chose by measurement */
	size_t iv_len, icv_len, block;
	sl_selector_t *sels;
	size_t nsels;
	uint64_t seq_max, seq_warn;
	uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
	atomic_bool soft_fired, hard_fired, overflow_fired, dead;
	atomic_bool keys_wiped; /* dead and its crypto contexts freed (keys zeroed) */
	_Atomic uint32_t remote_gen; /* bumped (under remote_lock) whenever remote changes */

	/* Shared and written per packet (inbound): the window's top and bitmap pointer. */
	_Alignas(64) sl_replay_t replay;

	/* Shared, written once per reserved run / lifetime claim. */
	_Alignas(64) _Atomic uint64_t seq_res; /* highest outbound number reserved by any worker */
	_Atomic uint64_t life_packets, life_bytes; /* lifetime claimed by the workers */

	/* Rare: the remote endpoint. */
	_Alignas(64) pthread_spinlock_t remote_lock;
	sl_endpoint_t remote;

	sl_sa_worker_t w[]; /* nworkers */
} sl_sa_t;

/* Plain sums of the per-worker counters. */
typedef struct sl_sa_counts {
	uint64_t packets, bytes, drops_replay, drops_icv, drops_malformed, drops_padding;
} sl_sa_counts_t;

/* Creates the SA with nctx crypto contexts.  NULL on error (reason in err). */
sl_sa_t *sl_sa_new(const sl_sa_spec_t *spec, int nctx, char *err, size_t errlen);
/* Wipes keys (sl_crypto_free) and frees. */
void sl_sa_free(sl_sa_t *sa);
/* Frees (and so wipes) the crypto contexts of a dead SA.  The caller must
 * have waited for a grace period after the SA died (sl_sadb_reap): workers
 * use sa->ctx[] only after seeing dead == false, between quiescent points. */
void sl_sa_wipe_keys(sl_sa_t *sa);
/* Point the SA at a new remote; sock_family is the engine socket's (0 = none
 * yet).  Writes the spare destination slot and publishes it: the caller
 * serialises changes and waits for a grace period between two of them. */
int sl_sa_set_remote(sl_sa_t *sa, const sl_endpoint_t *remote, int sock_family);
/* The current outbound destination (lock-free read). */
static inline const sl_sa_dest_t *sl_sa_dest(const sl_sa_t *sa)
{
	return &sa->dests[atomic_load_explicit(&sa->cur_dest, memory_order_acquire) & 1];
}
/* The highest sequence number sent (out) or authenticated (in). */
uint64_t sl_sa_seq(sl_sa_t *sa);
/* The per-worker counters summed (exact per counter, not a snapshot across them). */
sl_sa_counts_t sl_sa_counts(const sl_sa_t *sa);
/* A copy of the current remote endpoint. */
sl_endpoint_t sl_sa_remote(sl_sa_t *sa);

#endif
