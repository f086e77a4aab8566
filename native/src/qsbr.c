/* qsbr.c - grace periods for the lock-free SADB read side (see qsbr.h). */
#include "qsbr.h"

#include <sched.h>
#include <time.h>

void sl_qsbr_init(sl_qsbr_t *q)
{
	atomic_init(&q->gp, 1);
	for (int i = 0; i < SL_QSBR_MAX_READERS; i++) {
		atomic_init(&q->r[i].ctr, 0);
		atomic_init(&q->r[i].used, false);
	}
}

int sl_qsbr_register(sl_qsbr_t *q)
{
	for (int i = 0; i < SL_QSBR_MAX_READERS; i++) {
		bool expect = false;
		if (atomic_compare_exchange_strong(&q->r[i].used, &expect, true)) {
			sl_qsbr_online(q, i);
			return i;
		}
	}
	return -1;
}

void sl_qsbr_unregister(sl_qsbr_t *q, int slot)
{
	if (slot < 0 || slot >= SL_QSBR_MAX_READERS)
		return;
	sl_qsbr_offline(q, slot);
	atomic_store(&q->r[slot].used, false);
}

void sl_qsbr_quiescent(sl_qsbr_t *q, int slot)
{
	if (slot < 0 || slot >= SL_QSBR_MAX_READERS)
		return;
	/* Release: everything this reader did before is ordered before the
	 * writer's free.  The fence keeps the reader's next loads (snapshot
	 * pointer, dead flags) after the store, so a writer that sees the new
	 * number knows the reader will see what was published before it. */
	atomic_store_explicit(&q->r[slot].ctr, atomic_load(&q->gp), memory_order_seq_cst);
	atomic_thread_fence(memory_order_seq_cst);
}

void sl_qsbr_offline(sl_qsbr_t *q, int slot)
{
	if (slot < 0 || slot >= SL_QSBR_MAX_READERS)
		return;
	atomic_store_explicit(&q->r[slot].ctr, 0, memory_order_seq_cst);
}

void sl_qsbr_online(sl_qsbr_t *q, int slot)
{
	sl_qsbr_quiescent(q, slot);
}

void sl_qsbr_synchronize(sl_qsbr_t *q)
{
	uint64_t target = atomic_fetch_add(&q->gp, 1) + 1;
	for (int i = 0; i < SL_QSBR_MAX_READERS; i++) {
		if (!atomic_load(&q->r[i].used))
			continue;
		/* A batch is bounded (a few hundred packets), so this wait is too:
		 * spin briefly, then yield, then sleep so a slow reader is not
		 * starved of the core it needs to finish. */
		for (unsigned spin = 0;; spin++) {
			uint64_t c = atomic_load(&q->r[i].ctr);
			if (c == 0 || c >= target)
				break;
			if (spin < 64) {
				sched_yield();
			} else {
				struct timespec ts = { 0, 50 * 1000 };
				nanosleep(&ts, NULL);
			}
		}
	}
}
