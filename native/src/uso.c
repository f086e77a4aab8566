/* uso.c - user-space UDP segmentation of TUN super packets (GSO_UDP_L4). */
#include "csum.h"
#include "tso.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int sl_uso_segment(const uint8_t *pkt, size_t len, const sl_vnet_t *v, const sl_tso_out_t *out)
{
	if (len < 1 || v->gso_size == 0)
		return -1;
	bool v6;
	size_t l3;
	if ((pkt[0] >> 4) == 4) {
		/* No options (the kernel's UDP GSO never sends them), UDP. */
		if (len < 20 || pkt[0] != 0x45 || pkt[9] != IPPROTO_UDP)
			return -1;
		v6 = false;
		l3 = 20;
	} else if ((pkt[0] >> 4) == 6) {
		if (len < 40 || pkt[6] != IPPROTO_UDP)
			return -1;
		v6 = true;
		l3 = 40;
	} else {
		return -1;
	}
	size_t hdr = l3 + 8;
	if (len < hdr)
		return -1;
	size_t mss = v->gso_size, data = len - hdr;
	uint16_t id0 = v6 ? 0 : get16(pkt + 4);
	int n = 0;
	/* An empty payload is one (empty) datagram, as for TCP's bare header. */
	for (size_t off = 0; off < data || (data == 0 && n == 0); off += mss, n++) {
		size_t seg = data - off < mss ? data - off : mss;
		size_t cap = 0;
		uint8_t *o = out->get(out->ctx, &cap);
		if (!o || cap < hdr + seg)
			return -1;
		memcpy(o, pkt, hdr);
		memcpy(o + hdr, pkt + hdr + off, seg);
		size_t ulen = 8 + seg;
		if (!v6) {
			put16(o + 2, (uint16_t)(hdr + seg));
			put16(o + 4, (uint16_t)(id0 + n)); /* as the kernel's GSO numbers them */
			put16(o + 10, 0);
			put16(o + 10, (uint16_t)~sl_csum_fold(sl_csum_add(o, l3, 0)));
		} else {
			put16(o + 4, (uint16_t)ulen);
		}
		uint8_t *u = o + l3;
		put16(u + 4, (uint16_t)ulen);
		put16(u + 6, 0);
		uint16_t c = (uint16_t)~sl_csum_fold(sl_csum_add(u, ulen, sl_csum_pseudo(o, v6, IPPROTO_UDP, ulen)));
		put16(u + 6, c ? c : 0xffff); /* RFC 768: a computed 0 is sent as all ones */
		out->commit(out->ctx, hdr + seg);
		if (data == 0)
			return 1;
	}
	return n;
}
