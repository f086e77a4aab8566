/*
 * gro.h - coalescing decrypted TCP segments of one flow into a TUN super
 * packet (virtio_net_hdr with GSO), so the receiving stack handles one
 * 64 KiB packet instead of ~45: the mirror of tso.c.  With udp set (the
 * TUN took USO, Linux 6.2) also UDP datagrams of one flow and one size
 * (the last may be shorter) into a GSO_UDP_L4 train, the mirror of uso.c:
 * same addresses, ports and IP header fields, a UDP checksum present and
 * right in every datagram.
 *
 * Only plain bulk data merges: same addresses, ports, ACK, window and TCP
 * options, contiguous sequence numbers, flags ACK (PSH only on the last),
 * equal-size segments (the last may be shorter), no IP options/fragments,
 * and only segments whose own IPv4 header and TCP checksums are right: the
 * merged packet carries a fresh checksum, which must not vouch for data
 * that arrived corrupted (a bad segment is written unmerged instead).
 */
#ifndef SL_GRO_H
#define SL_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_GRO_MAX 65000
#define SL_GRO_MAX_SEGS 64

typedef struct sl_gro {
	uint8_t *buf;  /* SL_VNET_HDR_LEN + SL_GRO_MAX bytes, owned by the caller */
	size_t len;    /* packet bytes after the virtio header, 0 = empty */
	size_t l3, hdr, mss;
	uint32_t next_seq;   /* TCP only */
	int nseg;
	uint8_t proto;       /* IPPROTO_TCP or IPPROTO_UDP */
	bool udp;            /* set by the owner: UDP trains allowed */
	bool v6, closed;
	bool head_ok;  /* the first segment's checksums were verified */
} sl_gro_t;

/* Start a train with pkt (false: not mergeable, write it alone). */
bool sl_gro_start(sl_gro_t *g, const uint8_t *pkt, size_t len);
/* Append pkt to the train (false: does not continue it). */
bool sl_gro_append(sl_gro_t *g, const uint8_t *pkt, size_t len);
/* Finish the train: fixes lengths/checksums and writes the virtio header.
 * Returns the bytes to write from g->buf (header included) and empties g. */
size_t sl_gro_finish(sl_gro_t *g);

#endif
