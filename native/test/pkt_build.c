/* pkt_build.c - packet builders and reference sums the C tests share (pkt_build.h). */
#include "pkt_build.h"

#include <string.h>

uint16_t rfc1071(const uint8_t *p, size_t n, uint64_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t pkt_pseudo(const uint8_t *p, bool v6, uint8_t proto, size_t l4len)
{
	uint32_t s = proto + (uint32_t)l4len;
	for (size_t i = v6 ? 8 : 12; i < (v6 ? 40u : 20u); i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

size_t pkt_ip_header(uint8_t *p, bool v6, uint8_t proto, size_t tot, uint16_t id)
{
	size_t l3 = v6 ? 40 : 20;
	memset(p, 0, l3);
	if (v6) {
		p[0] = 0x60;
		p[4] = (uint8_t)((tot - 40) >> 8);
		p[5] = (uint8_t)(tot - 40);
		p[6] = proto;
		p[7] = 64;
		p[8] = 0x20, p[9] = 0x01, p[23] = 1;
		p[24] = 0x20, p[25] = 0x01, p[39] = 2;
	} else {
		p[0] = 0x45;
		p[2] = (uint8_t)(tot >> 8);
		p[3] = (uint8_t)tot;
		p[4] = (uint8_t)(id >> 8), p[5] = (uint8_t)id;
		p[8] = 64;
		p[9] = proto;
		uint8_t a[8] = { 198, 18, 1, 5, 198, 18, 2, 9 };
		memcpy(p + 12, a, 8);
	}
	return l3;
}

uint8_t segs[SEG_MAX][SEG_CAP];
size_t seglen[SEG_MAX];
int nseg;

static uint8_t *seg_get(void *ctx, size_t *cap)
{
	(void)ctx;
	*cap = nseg < SEG_MAX ? sizeof(segs[0]) : 0;
	return nseg < SEG_MAX ? segs[nseg] : NULL;
}

static void seg_commit(void *ctx, size_t len)
{
	(void)ctx;
	seglen[nseg++] = len;
}

const sl_tso_out_t seg_out = { .get = seg_get, .commit = seg_commit };

uint8_t kept[SEG_MAX][SEG_CAP];
size_t keptlen[SEG_MAX];
int nkept;

void seg_keep(void)
{
	for (nkept = 0; nkept < nseg; nkept++) {
		memcpy(kept[nkept], segs[nkept], seglen[nkept]);
		keptlen[nkept] = seglen[nkept];
	}
}

bool seg_same_as_kept(void)
{
	if (nseg != nkept)
		return false;
	for (int k = 0; k < nseg; k++)
		if (seglen[k] != keptlen[k] || memcmp(segs[k], kept[k], keptlen[k]) != 0)
			return false;
	return true;
}
