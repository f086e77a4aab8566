/*
 * qsbr.h - quiescent-state-based reclamation: the read side of the SADB
 * takes no lock and never writes shared memory per packet.
 *
 * Each data-plane thread registers as a reader.  Between two batches it
 * announces a quiescent state (it holds no pointer into shared snapshots or
 * SAs), and before blocking in epoll_wait it goes offline (it holds none for
 * as long as it sleeps).  A writer that has unpublished something calls
 * sl_qsbr_synchronize(): it returns once every reader has been offline or
 * quiescent since the call began, so nothing unpublished before the call can
 * still be in use and it may be freed (or its keys wiped).
 *
 * Cost on the read side: one seq_cst store + fence per batch, none per packet.
 */
#ifndef SL_QSBR_H
#define SL_QSBR_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SL_QSBR_MAX_READERS 32

typedef struct sl_qsbr_reader {
	/* 0 = offline; otherwise the grace-period number seen at the last
	 * quiescent state.  One cache line each: workers never share a line. */
	alignas(64) _Atomic uint64_t ctr;
	atomic_bool used;
} sl_qsbr_reader_t;

typedef struct sl_qsbr {
	alignas(64) _Atomic uint64_t gp;
	sl_qsbr_reader_t r[SL_QSBR_MAX_READERS];
} sl_qsbr_t;

void sl_qsbr_init(sl_qsbr_t *q);
/* A free reader slot (online from now on), or -1 when all are taken. */
int sl_qsbr_register(sl_qsbr_t *q);
void sl_qsbr_unregister(sl_qsbr_t *q, int slot);
/* The reader holds no shared pointer at this point. */
void sl_qsbr_quiescent(sl_qsbr_t *q, int slot);
void sl_qsbr_offline(sl_qsbr_t *q, int slot);
void sl_qsbr_online(sl_qsbr_t *q, int slot);
/* Wait until every online reader has passed a quiescent state.  Must not be
 * called by a reader that is online (it would wait for itself). */
void sl_qsbr_synchronize(sl_qsbr_t *q);

#endif
