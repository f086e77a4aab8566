/*
 * sadb.h - the SA database: inbound SAs by SPI, outbound SAs by selector.
 *
 * Concurrency: a writer-preferring rwlock.  Workers hold the read lock while
 * they process one batch (never across a syscall), so an SA pointer found
 * under the lock stays valid until the worker releases it; add/update/delete
 * take the write lock, and delete frees (and wipes) the SA only once no
 * worker can still hold it.
 */
#ifndef SL_SADB_H
#define SL_SADB_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sa.h"

#define SL_SADB_BUCKETS 1024 /* power of two */

typedef struct sl_out_entry {
	const sl_selector_t *sel;
	sl_sa_t *sa;
} sl_out_entry_t;

typedef struct sl_sadb {
	pthread_rwlock_t lock;
	sl_sa_t *in[SL_SADB_BUCKETS];
	sl_sa_t *out[SL_SADB_BUCKETS];
	/* Outbound selectors, most specific first (rebuilt on change). */
	sl_out_entry_t *sel;
	size_t nsel, capsel;
	size_t count;
} sl_sadb_t;

int sl_sadb_init(sl_sadb_t *db);
/* Frees (wipes) every SA. */
void sl_sadb_destroy(sl_sadb_t *db);

void sl_sadb_rdlock(sl_sadb_t *db);
void sl_sadb_wrlock(sl_sadb_t *db);
void sl_sadb_unlock(sl_sadb_t *db);

/* The *_locked calls need the write lock held; the plain ones take it. */
/* Takes ownership on success; -1 when (spi, dir) exists, -2 on ENOMEM. */
int sl_sadb_add(sl_sadb_t *db, sl_sa_t *sa);
/* 0 when deleted (and wiped), -1 when absent. */
int sl_sadb_del(sl_sadb_t *db, uint32_t spi, uint8_t dir);

/* Takes the write lock, so no worker holds an SA pointer, and wipes the keys
 * of every dead SA that still has them (the SA itself stays until deleted:
 * its status and counters remain readable).  Returns how many were wiped. */
size_t sl_sadb_reap(sl_sadb_t *db);

/* Read lock held. */
sl_sa_t *sl_sadb_find(sl_sadb_t *db, uint32_t spi, uint8_t dir);
/* Most specific outbound SA whose selector matches, skipping dead SAs.  Among
 * equally specific selectors the newest SA wins (a rekeyed SA takes over). */
sl_sa_t *sl_sadb_lookup_out(sl_sadb_t *db, const sl_flow_t *f);

#endif
