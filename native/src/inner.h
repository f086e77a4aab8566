/*
 * inner.h - sanity checks on the inner IP packet of a tunnel-mode SA.
 */
#ifndef SL_INNER_H
#define SL_INNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "selector.h"

/* Parse an IPv4/IPv6 packet of at most len bytes.  nh is the ESP next header
 * the packet came with (4 or 41), or 0 when read from TUN (version decides).
 * On success returns the packet's own length (<= len: RFC 4303 §2.7 TFC
 * padding may follow it) and fills f; -1 when malformed. */
long sl_inner_parse(const uint8_t *p, size_t len, uint8_t nh, sl_flow_t *f);

/* True for an IPv6 flow to a link-local unicast (fe80::/10) or a link- or
 * interface-local multicast (ff01::/16, ff02::/16) destination: traffic that
 * never leaves the link (RFC 4291 §2.5.6, §2.7), such as the router
 * solicitations and MLD reports the kernel sends on any IPv6 link. */
bool sl_flow_link_scoped(const sl_flow_t *f);

#endif
