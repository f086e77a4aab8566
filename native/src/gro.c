/* gro.c - user-space GRO of decrypted TCP segments and UDP datagrams for the TUN device. */
#include "gro.h"
#include "csum.h"
#include "tso.h"

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Header lengths and transport of a mergeable segment (TCP, or UDP when
 * udp_ok); false otherwise. */
static bool parse(const uint8_t *p, size_t len, bool udp_ok, bool *v6, uint8_t *proto, size_t *l3,
		  size_t *hdr)
{
	if (len < 28)
		return false;
	if ((p[0] >> 4) == 4) {
		/* No IP options, not a fragment (MF clear, offset 0). */
		if (p[0] != 0x45 || (rd16(p + 6) & 0x3fff) != 0 || rd16(p + 2) != len)
			return false;
		*v6 = false;
		*l3 = 20;
		*proto = p[9];
	} else if ((p[0] >> 4) == 6) {
		if (len < 48 || (size_t)rd16(p + 4) + 40 != len)
			return false;
		*v6 = true;
		*l3 = 40;
		*proto = p[6]; /* extension headers: not merged */
	} else {
		return false;
	}
	const uint8_t *t = p + *l3;
	if (*proto == IPPROTO_UDP && udp_ok) {
		/* A datagram with data whose UDP length is the packet's and that
		 * carries a checksum (an IPv4 zero "no checksum" could not be
		 * verified before merging, RFC 768). */
		if (*l3 + 8 >= len || rd16(t + 4) != len - *l3 || rd16(t + 6) == 0)
			return false;
		*hdr = *l3 + 8;
		return true;
	}
	if (*proto != IPPROTO_TCP || len < *l3 + 20)
		return false;
	size_t thl = (size_t)(t[12] >> 4) * 4;
	/* Flags: ACK required; only ACK and PSH allowed (no SYN/FIN/RST/URG/ECE/CWR). */
	if (thl < 20 || *l3 + thl >= len || (t[13] & 0x10) == 0 || (t[13] & ~0x18) != 0)
		return false;
	*hdr = *l3 + thl;
	return true;
}

/* The segment's own checksums hold: the IPv4 header's (RFC 791) and the TCP
 * or UDP checksum over the pseudo-header (RFC 9293 §3.1, RFC 768).  A merged packet goes to
 * the TUN with a fresh partial checksum (NEEDS_CSUM) that the kernel
 * completes without looking at the old ones, so a segment corrupted before
 * ESP protected it (or by a peer's bug) would be delivered as good data. */
static bool csum_ok(const uint8_t *p, size_t len, bool v6, uint8_t proto, size_t l3)
{
	if (!v6 && sl_csum_fold(sl_csum_add(p, l3, 0)) != 0xffff)
		return false;
	uint64_t ps = sl_csum_pseudo(p, v6, proto, len - l3);
	return sl_csum_fold(sl_csum_add(p + l3, len - l3, ps)) == 0xffff;
}

bool sl_gro_start(sl_gro_t *g, const uint8_t *pkt, size_t len)
{
	bool v6;
	uint8_t proto;
	size_t l3, hdr;
	g->len = 0;
	if (len > SL_GRO_MAX || !parse(pkt, len, g->udp, &v6, &proto, &l3, &hdr))
		return false;
	memcpy(g->buf + SL_VNET_HDR_LEN, pkt, len);
	g->len = len;
	g->v6 = v6;
	g->proto = proto;
	g->l3 = l3;
	g->hdr = hdr;
	g->mss = len - hdr;
	g->nseg = 1;
	g->head_ok = false;
	if (proto == IPPROTO_UDP) {
		g->next_seq = 0;
		g->closed = false;
		return true;
	}
	g->next_seq = rd32(pkt + l3 + 4) + (uint32_t)g->mss;
	/* PSH ends a train. */
	g->closed = (pkt[l3 + 13] & 0x08) != 0;
	return true;
}

bool sl_gro_append(sl_gro_t *g, const uint8_t *pkt, size_t len)
{
	if (g->len == 0 || g->closed || g->nseg >= SL_GRO_MAX_SEGS)
		return false;
	bool v6;
	uint8_t proto;
	size_t l3, hdr;
	if (!parse(pkt, len, g->udp, &v6, &proto, &l3, &hdr) || v6 != g->v6 || proto != g->proto ||
	    hdr != g->hdr)
		return false;
	size_t pay = len - hdr;
	if (pay > g->mss || g->len + pay > SL_GRO_MAX)
		return false;
	const uint8_t *h = g->buf + SL_VNET_HDR_LEN;
	if (!v6) {
		/* version/IHL/TOS, flags/fragment/TTL/protocol, addresses */
		if (memcmp(h, pkt, 2) != 0 || memcmp(h + 6, pkt + 6, 4) != 0 ||
		    memcmp(h + 12, pkt + 12, 8) != 0)
			return false;
	} else {
		if (memcmp(h, pkt, 4) != 0 || memcmp(h + 6, pkt + 6, 34) != 0)
			return false;
	}
	const uint8_t *ht = h + l3, *t = pkt + l3;
	if (proto == IPPROTO_UDP) {
		/* Same ports; every datagram but the last of the train has the
		 * first one's size (the UDP GSO contract: the receiver's stack cuts
		 * the train at gso_size, so datagram boundaries survive). */
		if (memcmp(ht, t, 4) != 0)
			return false;
	} else if (memcmp(ht, t, 4) != 0 || rd32(t + 4) != g->next_seq || memcmp(ht + 8, t + 8, 5) != 0 ||
		   memcmp(ht + 14, t + 14, 2) != 0 || memcmp(ht + 18, t + 18, hdr - l3 - 18) != 0) {
		/* TCP: ports, ack, data offset, window, urgent pointer, options
		 * all equal; sequence number continues the train. */
		return false;
	}
	/* Checksums last (the other tests are cheaper).  The head is verified
	 * at its first merge only, so a packet that travels alone is never
	 * summed here (sl_gro_finish writes it untouched and the kernel checks
	 * it).  A bad head closes the train: it is written alone.  A bad
	 * segment does not join: the caller writes the train and then the
	 * segment by itself (as the head of a train it cannot pass the head
	 * check), so it reaches the kernel unmerged and is dropped there. */
	if (!g->head_ok) {
		if (!csum_ok(h, g->len, v6, proto, l3)) {
			g->closed = true;
			return false;
		}
		g->head_ok = true;
	}
	if (!csum_ok(pkt, len, v6, proto, l3))
		return false;
	memcpy(g->buf + SL_VNET_HDR_LEN + g->len, pkt + hdr, pay);
	g->len += pay;
	g->nseg++;
	if (pay < g->mss)
		g->closed = true;
	if (proto == IPPROTO_UDP)
		return true;
	g->next_seq += (uint32_t)pay;
	uint8_t *flags = g->buf + SL_VNET_HDR_LEN + l3 + 13;
	*flags |= t[13] & 0x08;
	if (t[13] & 0x08)
		g->closed = true;
	return true;
}

size_t sl_gro_finish(sl_gro_t *g)
{
	uint8_t *v = g->buf, *p = g->buf + SL_VNET_HDR_LEN;
	size_t len = g->len;
	memset(v, 0, SL_VNET_HDR_LEN);
	g->len = 0;
	if (len == 0)
		return 0;
	if (g->nseg == 1)
		return SL_VNET_HDR_LEN + len; /* untouched, its own checksum intact */
	uint64_t sum = 0;
	size_t tcplen = len - g->l3; /* transport length, TCP or UDP */
	bool udp = g->proto == IPPROTO_UDP;
	if (udp)
		wr16(p + g->l3 + 4, (uint16_t)tcplen); /* the whole train's, as a GSO sender writes it */
	if (!g->v6) {
		wr16(p + 2, (uint16_t)len);
		wr16(p + 10, 0);
		for (size_t i = 0; i < 20; i += 2)
			sum += rd16(p + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		wr16(p + 10, (uint16_t)~sum);
		sum = 0;
		for (size_t i = 12; i < 20; i += 2)
			sum += rd16(p + i);
	} else {
		wr16(p + 4, (uint16_t)tcplen);
		for (size_t i = 8; i < 40; i += 2)
			sum += rd16(p + i);
	}
	/* CHECKSUM_PARTIAL convention: the field holds the folded pseudo-header
	 * sum (with the full transport length); whoever segments completes it. */
	sum += (uint64_t)g->proto + tcplen;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	uint16_t co = udp ? 6 : 16;
	wr16(p + g->l3 + co, (uint16_t)sum);
	v[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	v[1] = udp ? VIRTIO_NET_HDR_GSO_UDP_L4
		   : g->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	uint16_t hl = (uint16_t)g->hdr, gs = (uint16_t)g->mss, cs = (uint16_t)g->l3;
	v[2] = (uint8_t)hl, v[3] = (uint8_t)(hl >> 8);
	v[4] = (uint8_t)gs, v[5] = (uint8_t)(gs >> 8);
	v[6] = (uint8_t)cs, v[7] = (uint8_t)(cs >> 8);
	v[8] = (uint8_t)co, v[9] = (uint8_t)(co >> 8);
	return SL_VNET_HDR_LEN + len;
}
