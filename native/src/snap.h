/*
 * snap.h - the data plane's immutable view of the SADB (one "snapshot").
 *
 * Built on the control path from the current SAs, published with one atomic
 * pointer store, never modified afterwards, freed after a grace period
 * (qsbr.h).  Lookups allocate nothing, take no lock and write nothing.
 *
 *  - Inbound: SPI -> SA, an open-addressing table at most half full
 *    (RFC 4303 §2.1: the SPI alone selects the SA of a unicast tunnel).
 *  - Outbound: RFC 4301 §4.4.1 selectors in a path-compressed binary trie per
 *    address family, keyed by the remote (destination) prefix.  Each node
 *    holds the selectors of exactly that remote prefix, most specific first
 *    (sl_selector_cmp, ties to the newest SA).  A lookup walks the
 *    destination's path once (at most 33 / 129 nodes) and then tries the
 *    nodes deepest first: the first selector that matches is the answer,
 *    which is the same answer as a scan of all selectors in
 *    most-specific-first order, without touching the other prefixes.
 *    (The layout follows the idea of WireGuard's allowedips trie; the code is
 *    our own.)
 *  - Bypass: selectors of permit/block filters (same trie layout, no SA).  A
 *    packet whose best SA selector is matched by a bypass selector of at least
 *    its weight (sl_selector_weight, the policy's filter weights; ties go to
 *    the bypass, the safer verdict) is not encrypted: the most specific
 *    filter's action is the only one applied (the daemon also routes such
 *    traffic past the TUN; this is the engine's own guard).
 */
#ifndef SL_SNAP_H
#define SL_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "sa.h"
#include "selector.h"

typedef struct sl_snap_node {
	uint8_t addr[16]; /* prefix, host bits zero */
	uint8_t len;      /* prefix length in bits */
	uint32_t child[2]; /* index + 1; 0 = none */
	uint32_t first, count; /* entries[first .. first + count) */
} sl_snap_node_t;

typedef struct sl_snap_entry {
	sl_selector_t sel;
	sl_sa_t *sa; /* NULL in the bypass trie */
	uint32_t weight;
} sl_snap_entry_t;

typedef struct sl_snap_trie {
	sl_snap_node_t *nodes;
	uint32_t nnodes;
	uint32_t root[2]; /* IPv4, IPv6: node index + 1; 0 = empty */
	sl_snap_entry_t *ent;
	uint32_t nent;
} sl_snap_trie_t;

typedef struct sl_snap_spi {
	uint32_t spi;
	sl_sa_t *sa; /* NULL = empty slot */
} sl_snap_spi_t;

typedef struct sl_snap {
	sl_snap_spi_t *in;
	unsigned in_bits; /* table size = 1 << in_bits */
	sl_snap_trie_t out, bypass;
} sl_snap_t;

/* Build from the inbound SAs ins[0..nin), outbound SAs outs[0..nout) (each
 * with its selectors; sa->gen orders equally specific ones) and the bypass
 * selectors byp[0..nbyp).  NULL when out of memory. */
sl_snap_t *sl_snap_build(sl_sa_t *const *ins, size_t nin, sl_sa_t *const *outs, size_t nout,
			 const sl_selector_t *byp, size_t nbyp);
void sl_snap_free(sl_snap_t *s);

sl_sa_t *sl_snap_find_in(const sl_snap_t *s, uint32_t spi);
/* The most specific live outbound SA for the flow, or NULL. */
sl_sa_t *sl_snap_lookup_out(const sl_snap_t *s, const sl_flow_t *f);

#endif
