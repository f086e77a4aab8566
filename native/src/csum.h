/*
 * csum.h - the Internet checksum (RFC 1071) shared by TSO (which writes
 * checksums) and GRO (which verifies them before merging).
 */
#ifndef SL_CSUM_H
#define SL_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Add n bytes (big-endian 16-bit words, an odd last byte padded with zero)
 * to an unfolded running sum. */
uint64_t sl_csum_add(const uint8_t *p, size_t n, uint64_t sum);

/* Fold a running sum to 16 bits (not complemented). */
uint16_t sl_csum_fold(uint64_t sum);

/* TCP/UDP pseudo-header sum (RFC 9293 §3.1, RFC 8200 §8.1) of the IPv4 or
 * IPv6 packet p with l3 bytes of IP header and an l4len-byte transport
 * segment: addresses, protocol and length, unfolded. */
uint64_t sl_csum_pseudo(const uint8_t *p, bool v6, uint8_t proto, size_t l4len);

#endif
