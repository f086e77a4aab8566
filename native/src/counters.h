/*
 * counters.h - global counters, one block per worker so no two cores write
 * the same cache line; readers sum the blocks (relaxed atomics: exact per
 * counter, not a snapshot across counters).
 */
#ifndef SL_COUNTERS_H
#define SL_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "drop.h"

typedef struct sl_counters {
	_Atomic uint64_t rx_packets, tx_packets, tun_rx_packets, tun_tx_packets;
	_Atomic uint64_t rx_bytes, tx_bytes;
	_Atomic uint64_t ike_rx, ike_tx, keepalives_rx, keepalives_tx;
	_Atomic uint64_t drops[SL_DROP__COUNT];
	/* Per-packet cost (bench-dataplane): data-path syscalls and the batch
	 * sizes they reached. */
	_Atomic uint64_t sys_tun_read, sys_tun_write, sys_recv, sys_send;
	_Atomic uint64_t recv_msgs, send_msgs, recv_batch_max, send_batch_max;
	/* The worker thread's AF_ALG tally (sl_afalg_thread_tally): packets
	 * sealed or opened through AF_ALG and the syscalls they took. */
	_Atomic uint64_t afalg_requests, afalg_syscalls;
} __attribute__((aligned(64))) sl_counters_t;

/* Single writer per block: a relaxed load+store is enough and avoids a locked op. */
#define SL_CNT_ADD(field, n)                                                            \
	atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + \
						(uint64_t)(n), memory_order_relaxed)
#define SL_CNT_INC(field) SL_CNT_ADD(field, 1)
#define SL_CNT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)
#define SL_CNT_MAX(field, v)                                                            \
	do {                                                                            \
		if ((uint64_t)(v) > SL_CNT_GET(field))                                  \
			atomic_store_explicit(&(field), (uint64_t)(v), memory_order_relaxed); \
	} while (0)

#endif
