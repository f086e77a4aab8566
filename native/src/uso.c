/* uso.c - user-space UDP segmentation of TUN super packets (GSO_UDP_L4). */
#include "csum.h"
#include "segment.h"
#include "tso.h"

#include <netinet/in.h>
#include <stdbool.h>

/* UDP's part of each datagram: its own length and checksum (RFC 768). */
static void udp_fix(const sl_seg_piece_t *p)
{
	uint8_t *u = p->l4;
	sl_put16(u + 4, (uint16_t)p->l4len);
	sl_put16(u + 6, 0);
	uint64_t ps = sl_csum_pseudo(p->pkt, p->v6, IPPROTO_UDP, p->l4len);
	uint16_t c = (uint16_t)~sl_csum_fold(sl_csum_add(u, p->l4len, ps));
	sl_put16(u + 6, c ? c : 0xffff); /* RFC 768: a computed 0 is sent as all ones */
}

int sl_uso_segment(const uint8_t *pkt, size_t len, const sl_vnet_t *v, const sl_tso_out_t *out)
{
	if (len < 1)
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
	/* An empty payload is one (empty) datagram, as for TCP's bare header. */
	return sl_segment(pkt, len, v6, l3, l3 + 8, v->gso_size, out, udp_fix);
}
