/*
 * tso.h - undoing the TUN device's TCP segmentation offload in user space.
 *
 * With IFF_VNET_HDR and TUNSETOFFLOAD(TSO) the kernel hands the engine TCP
 * "super packets" of up to 64 KiB with a virtio_net_hdr in front
 * (include/uapi/linux/virtio_net.h): one read instead of ~45.  ESP needs
 * real packets, so they are cut into MSS-sized segments here, each with a
 * correct IP header and a complete TCP checksum (RFC 9293 §3.1).
 */
#ifndef SL_TSO_H
#define SL_TSO_H

#include <stddef.h>
#include <stdint.h>

#define SL_VNET_HDR_LEN 10

/* virtio_net_hdr gso_type for UDP segmentation (Linux 6.2; the build host's
 * linux/virtio_net.h may predate it). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* The virtio_net_hdr fields we use, decoded (host byte order). */
typedef struct sl_vnet {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
} sl_vnet_t;

void sl_vnet_parse(const uint8_t *h, sl_vnet_t *v);

/* Complete a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): -1 when the
 * offsets do not fit the packet. */
int sl_csum_complete(uint8_t *pkt, size_t len, const sl_vnet_t *v);

/* Segment callback: write segment k (of len bytes) to the place returned by
 * get(ctx, &cap), then commit(ctx, len). */
typedef struct sl_tso_out {
	uint8_t *(*get)(void *ctx, size_t *cap);
	void (*commit)(void *ctx, size_t len);
	void *ctx;
} sl_tso_out_t;

/* Cut a TCP super packet into segments (a UDP one, GSO_UDP_L4, goes to
 * sl_uso_segment).  Returns the number of segments, -1 when the packet is
 * not a well-formed TCP/IPv4 or TCP/IPv6 packet. */
int sl_tso_segment(const uint8_t *pkt, size_t len, const sl_vnet_t *v, const sl_tso_out_t *out);

/* Cut a UDP super packet (VIRTIO_NET_HDR_GSO_UDP_L4: a UDP_SEGMENT sender's
 * train) into datagrams of gso_size payload bytes (the last may be
 * shorter), each with its own IP header, UDP length and a complete UDP
 * checksum (RFC 768; never 0 on the wire, RFC 8200 §8.1).  Returns the
 * number of datagrams, -1 when the packet is not UDP/IPv4 or UDP/IPv6
 * without IP options or extension headers. */
int sl_uso_segment(const uint8_t *pkt, size_t len, const sl_vnet_t *v, const sl_tso_out_t *out);

#endif
