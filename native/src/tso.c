/* tso.c - user-space TCP segmentation of TUN super packets, checksum completion. */
#include "tso.h"
#include "csum.h"
#include "segment.h"

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <netinet/in.h>

void sl_vnet_parse(const uint8_t *h, sl_vnet_t *v)
{
	/* Little-endian on every host we build for (TUNSETVNETLE not needed). */
	v->flags = h[0];
	v->gso_type = h[1];
	v->hdr_len = (uint16_t)(h[2] | h[3] << 8);
	v->gso_size = (uint16_t)(h[4] | h[5] << 8);
	v->csum_start = (uint16_t)(h[6] | h[7] << 8);
	v->csum_offset = (uint16_t)(h[8] | h[9] << 8);
}

int sl_csum_complete(uint8_t *pkt, size_t len, const sl_vnet_t *v)
{
	if (!(v->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	size_t start = v->csum_start, at = (size_t)v->csum_start + v->csum_offset;
	if (start >= len || at + 2 > len)
		return -1;
	/* The field holds the pseudo-header sum already; sum over it as is.  A
	 * result of 0 is written as all ones, as the kernel does
	 * (skb_checksum_help): the same for TCP, and for UDP a 0 would mean "no
	 * checksum" (RFC 768), which IPv6 forbids (RFC 8200 §8.1). */
	uint16_t c = (uint16_t)~sl_csum_fold(sl_csum_add(pkt + start, len - start, 0));
	sl_put16(pkt + at, c ? c : 0xffff);
	return 0;
}

/* TCP's part of each segment (RFC 9293 §3.1): the sequence number advanced
 * by the payload before it, FIN and PSH only on the last segment, CWR only
 * on the first (RFC 3168 §6.1.2), and the checksum over the new length. */
static void tcp_fix(const sl_seg_piece_t *p)
{
	uint8_t *tcp = p->l4;
	uint32_t seq = (((uint32_t)tcp[4] << 24) | ((uint32_t)tcp[5] << 16) | ((uint32_t)tcp[6] << 8) | tcp[7]) +
		       (uint32_t)p->off;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	if (!p->last)
		tcp[13] &= (uint8_t)~0x09;
	if (!p->first)
		tcp[13] &= (uint8_t)~0x80;
	uint64_t ps = sl_csum_pseudo(p->pkt, p->v6, IPPROTO_TCP, p->l4len);
	sl_put16(tcp + 16, 0);
	sl_put16(tcp + 16, (uint16_t)~sl_csum_fold(sl_csum_add(tcp, p->l4len, ps)));
}

int sl_tso_segment(const uint8_t *pkt, size_t len, const sl_vnet_t *v, const sl_tso_out_t *out)
{
	uint8_t type = v->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (type == VIRTIO_NET_HDR_GSO_UDP_L4)
		return sl_uso_segment(pkt, len, v, out);
	if (len < 1)
		return -1;
	bool v4 = (pkt[0] >> 4) == 4;
	size_t l3;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 && v4) {
		if (len < 20)
			return -1;
		l3 = (size_t)(pkt[0] & 0x0f) * 4;
		if (l3 < 20 || pkt[9] != IPPROTO_TCP)
			return -1;
	} else if (type == VIRTIO_NET_HDR_GSO_TCPV6 && (pkt[0] >> 4) == 6) {
		if (len < 40 || pkt[6] != IPPROTO_TCP) /* extension headers: not offered by our stack */
			return -1;
		l3 = 40;
	} else {
		return -1;
	}
	if (len < l3 + 20)
		return -1;
	size_t thl = (size_t)(pkt[l3 + 12] >> 4) * 4;
	size_t hdr = l3 + thl;
	if (thl < 20 || hdr > len)
		return -1;
	return sl_segment(pkt, len, !v4, l3, hdr, v->gso_size, out, tcp_fix);
}
