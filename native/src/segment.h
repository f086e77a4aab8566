/*
 * segment.h - the loop TCP (tso.c) and UDP (uso.c) segmentation share: cut a
 * super packet's payload into gso_size pieces, each behind a copy of the
 * headers whose IP header is made right for the piece (IPv4 total length,
 * ID and header checksum; IPv6 payload length).  What differs per protocol,
 * the transport header (TCP sequence number, flags and checksum; UDP length
 * and checksum), is the caller's fix-up.
 */
#ifndef SL_SEGMENT_H
#define SL_SEGMENT_H

#include "tso.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void sl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t sl_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One piece as written: its IP header already fixed. */
typedef struct sl_seg_piece {
	uint8_t *pkt;  /* IP header, transport header, payload */
	uint8_t *l4;   /* the transport header (pkt + l3) */
	size_t l3;     /* IP header length */
	size_t l4len;  /* transport header + this piece's payload */
	size_t off;    /* where the payload starts in the super packet's payload */
	bool v6, first, last;
} sl_seg_piece_t;

/* Complete the transport header of one piece. */
typedef void (*sl_seg_fix_t)(const sl_seg_piece_t *p);

/* Cut pkt (len bytes: an l3-byte IP header, transport header up to hdr, then
 * the payload) into pieces of at most mss payload bytes, each written to
 * out and completed by fix.  A packet without payload (a pure ACK, an empty
 * datagram) is one piece.  Returns the number of pieces, -1 when mss is 0
 * or out has no room for a piece.  The caller has checked the headers. */
int sl_segment(const uint8_t *pkt, size_t len, bool v6, size_t l3, size_t hdr, size_t mss,
	       const sl_tso_out_t *out, sl_seg_fix_t fix);

#endif
