/*
 * selector.h - traffic selectors (RFC 4301 §4.4.1) and inner-packet flows.
 *
 * "local" is our side of the tunnel, "remote" the peer's.  For an outbound
 * packet local matches the source; for an inbound one, the destination.
 */
#ifndef SL_SELECTOR_H
#define SL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_prefix {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t len;    /* prefix length in bits */
	uint8_t addr[16];
} sl_prefix_t;

typedef struct sl_selector {
	sl_prefix_t local, remote;
	uint8_t proto; /* 0 = any */
	uint16_t lport_lo, lport_hi, rport_lo, rport_hi; /* inclusive; 0..65535 = any */
} sl_selector_t;

/* What the engine knows about an inner packet. */
typedef struct sl_flow {
	uint8_t family;
	uint8_t proto;
	uint16_t sport, dport; /* 0 when the protocol has no ports or a fragment */
	uint8_t src[16], dst[16];
} sl_flow_t;

/* "198.18.1.0/24", "2001:db8::/32"; host bits must be zero.  -1 when invalid. */
int sl_prefix_parse(sl_prefix_t *p, const char *cidr);
bool sl_prefix_contains(const sl_prefix_t *p, uint8_t family, const uint8_t *addr);

/* Outbound: local=src, remote=dst.  Inbound: local=dst, remote=src. */
bool sl_selector_match(const sl_selector_t *s, const sl_flow_t *f, bool inbound);
/* Ordering "most specific first": <0 when a is more specific than b.
 * Longer remote prefix, then longer local prefix, then a protocol, then
 * narrower port ranges. */
int sl_selector_cmp(const sl_selector_t *a, const sl_selector_t *b);
/* The policy's filter weight of a selector (firmware/src/policy/weight.ts):
 * 8 * (score(local) + score(remote)) + 4 with a protocol + 2 with remote
 * ports + 1 with local ports; score(/0) = 0, score(host) = 65, score(/p) =
 * 1 + p * 64 / bits. */
uint32_t sl_selector_weight(const sl_selector_t *s);

#endif
