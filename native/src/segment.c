/* segment.c - the segmentation loop TSO and USO share (segment.h). */
#include "segment.h"
#include "csum.h"

#include <string.h>

int sl_segment(const uint8_t *pkt, size_t len, bool v6, size_t l3, size_t hdr, size_t mss,
	       const sl_tso_out_t *out, sl_seg_fix_t fix)
{
	if (mss == 0 || hdr > len || l3 > hdr)
		return -1;
	size_t data = len - hdr;
	uint16_t id0 = v6 ? 0 : sl_get16(pkt + 4);
	int n = 0;
	for (size_t off = 0; off < data || (data == 0 && n == 0); off += mss, n++) {
		size_t seg = data - off < mss ? data - off : mss;
		size_t cap = 0;
		uint8_t *o = out->get(out->ctx, &cap);
		if (!o || cap < hdr + seg)
			return -1;
		memcpy(o, pkt, hdr);
		memcpy(o + hdr, pkt + hdr + off, seg);
		size_t l4len = hdr - l3 + seg;
		if (!v6) {
			sl_put16(o + 2, (uint16_t)(hdr + seg));
			sl_put16(o + 4, (uint16_t)(id0 + n)); /* as the kernel's GSO numbers them */
			sl_put16(o + 10, 0);
			sl_put16(o + 10, (uint16_t)~sl_csum_fold(sl_csum_add(o, l3, 0)));
		} else {
			sl_put16(o + 4, (uint16_t)l4len);
		}
		const sl_seg_piece_t piece = { .pkt = o, .l4 = o + l3, .l3 = l3, .l4len = l4len, .off = off,
					       .v6 = v6, .first = off == 0, .last = off + seg >= data };
		fix(&piece);
		out->commit(out->ctx, hdr + seg);
		if (data == 0)
			return 1; /* a bare header is one segment */
	}
	return n;
}
