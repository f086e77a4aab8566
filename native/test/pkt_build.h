/*
 * pkt_build.h - what the checksum and segmentation tests (test_csum.c,
 * test_tso.c, test_uso.c) share: an RFC 1071 reference sum written
 * independently of csum.c, the pseudo-header sum, the IP header of a test
 * packet, and a segment collector for sl_tso_segment/sl_uso_segment.
 */
#ifndef SL_TEST_PKT_BUILD_H
#define SL_TEST_PKT_BUILD_H

#include "tso.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 1071 sum over byte pairs (an odd last byte padded with zero), added to
 * sum and folded; not complemented, so a valid packet sums to 0xffff. */
uint16_t rfc1071(const uint8_t *p, size_t n, uint64_t sum);

/* The TCP/UDP pseudo-header sum (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1) of
 * the IPv4 or IPv6 packet p for an l4len-byte transport segment, unfolded. */
uint32_t pkt_pseudo(const uint8_t *p, bool v6, uint8_t proto, size_t l4len);

/* The IP header of a tot-byte test packet carrying proto, from 198.18.1.5
 * to 198.18.2.9 (IPv4, ID id, no options, header checksum left 0) or from
 * 2001::1 to 2001::2 (IPv6), TTL 64.  Returns the header length. */
size_t pkt_ip_header(uint8_t *p, bool v6, uint8_t proto, size_t tot, uint16_t id);

/* Segments collected by seg_out: up to SEG_MAX of SEG_CAP bytes each, then
 * no room (get returns NULL).  Set nseg = 0 before each run. */
#define SEG_MAX 200
#define SEG_CAP 1600
extern uint8_t segs[SEG_MAX][SEG_CAP];
extern size_t seglen[SEG_MAX];
extern int nseg;
extern const sl_tso_out_t seg_out;

/* The segments of one run set aside by seg_keep(), to glue back (GRO) and to
 * compare a later run with: seg_same_as_kept() is true when segs[] holds as
 * many segments as were kept, byte for byte the same. */
extern uint8_t kept[SEG_MAX][SEG_CAP];
extern size_t keptlen[SEG_MAX];
extern int nkept;
void seg_keep(void);
bool seg_same_as_kept(void);

#endif
