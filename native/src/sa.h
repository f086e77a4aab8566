/*
 * sa.h - one ESP security association (RFC 4301 §4.4.2 SAD entry).
 *
 * Immutable after creation except: remote endpoint (under replay_lock: the
 * owner changes it, or for inbound SAs the worker that sees the peer move),
 * the outbound destination (two slots, see sl_sa_dest), the atomics, and
 * the replay window (under replay_lock).
 */
#ifndef SL_SA_H
#define SL_SA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "crypto.h"
#include "replay.h"
#include "sa_spec.h"
#include "selector.h"

/* Where outbound packets of the SA go, as the engine's socket wants it. */
typedef struct sl_sa_dest {
	struct sockaddr_storage ss;
	socklen_t len;
} sl_sa_dest_t;

typedef struct sl_sa {
	struct sl_sa *next; /* SADB control hash chain (writer side only) */
	uint64_t gen;       /* order of installation: among equal selectors the newest wins */
	uint32_t spi;
	uint8_t dir, encap;
	bool esn;
	uint32_t reqid;
	sl_alg_t alg;
	char alg_name[32];
	sl_endpoint_t local, remote;
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

	pthread_spinlock_t replay_lock;
	sl_replay_t replay;

	_Atomic uint64_t seq_out; /* last sequence number handed out */
	uint64_t seq_max, seq_warn;

	uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets;
	atomic_bool soft_fired, hard_fired, overflow_fired, dead;
	atomic_bool keys_wiped; /* dead and its crypto contexts freed (keys zeroed) */

	_Atomic uint64_t packets, bytes, drops_replay, drops_icv, drops_malformed, drops_padding;
} sl_sa_t;

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

#endif
