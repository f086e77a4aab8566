/*
 * sadb.h - the SA database: inbound SAs by SPI, outbound SAs by selector.
 *
 * Two sides.  The control side (add, delete, update, status, reap) keeps the
 * SAs in hash chains under a mutex.  The data plane never takes that mutex:
 * every change builds a new immutable snapshot (snap.h: SPI table + selector
 * trie) and publishes it with one pointer store; workers load the pointer per
 * packet and are registered QSBR readers (qsbr.h).  The writer frees the old
 * snapshot, a deleted SA, or a dead SA's keys only after a grace period, so
 * an SA pointer a worker found stays valid until its next quiescent point.
 * No lock is held across crypto (AF_ALG syscalls included) or I/O.
 */
#ifndef SL_SADB_H
#define SL_SADB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "qsbr.h"
#include "sa.h"
#include "snap.h"

#define SL_SADB_BUCKETS 1024 /* power of two */
#define SL_SADB_MAX_BYPASS 65536

typedef struct sl_sadb {
	pthread_mutex_t lock; /* control side */
	sl_sa_t *in[SL_SADB_BUCKETS];
	sl_sa_t *out[SL_SADB_BUCKETS];
	size_t count, nin, nout;
	sl_selector_t *bypass; /* permit/block selectors (snap.h), control side */
	size_t nbypass;
	uint64_t next_gen;
	_Atomic(sl_snap_t *) snap;
	sl_qsbr_t qsbr;
	_Atomic uint64_t rebuilds; /* snapshots published (status, tests) */
} sl_sadb_t;

int sl_sadb_init(sl_sadb_t *db);
/* Frees (wipes) every SA.  No reader may be running. */
void sl_sadb_destroy(sl_sadb_t *db);

/* Data-plane readers (see qsbr.h): register once per thread. */
int sl_sadb_reader_register(sl_sadb_t *db);
void sl_sadb_reader_unregister(sl_sadb_t *db, int slot);
void sl_sadb_quiescent(sl_sadb_t *db, int slot);
void sl_sadb_offline(sl_sadb_t *db, int slot);
void sl_sadb_online(sl_sadb_t *db, int slot);

/* Fast path (an online reader, or a single-threaded caller): no lock. */
sl_sa_t *sl_sadb_lookup_in(sl_sadb_t *db, uint32_t spi);
/* Most specific outbound SA whose selector matches, skipping dead SAs.  Among
 * equally specific selectors the newest SA wins (a rekeyed SA takes over). */
sl_sa_t *sl_sadb_lookup_out(sl_sadb_t *db, const sl_flow_t *f);

/* Control side.  The plain calls take the mutex; none may be called by an
 * online reader (they wait for grace periods). */
/* Takes ownership on success; -1 when (spi, dir) exists, -2 on ENOMEM. */
int sl_sadb_add(sl_sadb_t *db, sl_sa_t *sa);
/* 0 when deleted (and wiped), -1 when absent, -2 on ENOMEM (nothing changed). */
int sl_sadb_del(sl_sadb_t *db, uint32_t spi, uint8_t dir);
/* Replace the bypass selectors (copied): 0, -1 when too many, -2 on ENOMEM
 * (the old ones stay). */
int sl_sadb_set_bypass(sl_sadb_t *db, const sl_selector_t *sels, size_t n);
/* Retarget an SA (sl_sa_set_remote) safely against the lock-free readers:
 * 0, -1 when absent, -2 when the address does not fit sock_family. */
int sl_sadb_set_remote(sl_sadb_t *db, uint32_t spi, uint8_t dir, const sl_endpoint_t *remote,
		       int sock_family);
/* Waits for a grace period, so no worker still uses a dead SA's crypto
 * contexts, then wipes the keys of every dead SA that still has them (the SA
 * itself stays until deleted: its status and counters remain readable).
 * Returns how many were wiped. */
size_t sl_sadb_reap(sl_sadb_t *db);

/* Control-side reads: hold the mutex around sl_sadb_find and the chains. */
void sl_sadb_lock(sl_sadb_t *db);
void sl_sadb_unlock(sl_sadb_t *db);
sl_sa_t *sl_sadb_find(sl_sadb_t *db, uint32_t spi, uint8_t dir);

#endif
