/* drop.h - drop reasons and the plain counter totals (no atomics: the C++ binding includes it). */
#ifndef SL_DROP_H
#define SL_DROP_H

#include <stdint.h>

/* Why a packet was dropped; also indexes the drop counters. */
typedef enum {
	SL_OK = 0,
	SL_DROP_REPLAY,
	SL_DROP_ICV,
	SL_DROP_BADSPI,
	SL_DROP_MALFORMED,
	SL_DROP_NOSA,
	SL_DROP_PADDING,
	SL_DROP_DEAD,     /* SA hit its hard limit or ran out of sequence numbers */
	SL_DROP_TXERR,    /* the kernel refused to send / write */
	SL_DROP__COUNT
} sl_drop_t;

/* A plain copy of the summed counters, for readers. */
typedef struct sl_counter_totals {
	uint64_t rx_packets, tx_packets, tun_rx_packets, tun_tx_packets;
	uint64_t rx_bytes, tx_bytes;
	uint64_t ike_rx, ike_tx, keepalives_rx, keepalives_tx;
	uint64_t drops[SL_DROP__COUNT];
	uint64_t sys_tun_read, sys_tun_write, sys_recv, sys_send;
	uint64_t recv_msgs, send_msgs, recv_batch_max, send_batch_max; /* max: over workers */
	uint64_t afalg_requests, afalg_syscalls; /* AF_ALG packets crypted, syscalls they took */
} sl_counter_totals_t;

#endif
