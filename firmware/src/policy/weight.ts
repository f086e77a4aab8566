/**
 * Filter weights: how specific a filter is. The most specific filter decides a packet,
 * whatever the order of rules in the file (like Windows IPsec filter weights).
 *
 *   addressScore(any)          = 0
 *   addressScore(subnet /p)    = 1 + floor(p * 64 / bits)   (bits = 32 or 128: 1..64)
 *   addressScore(host or "me") = 65                          (more than any subnet)
 *
 *   weight = 8 * (addressScore(source) + addressScore(destination))
 *          + 4 if a protocol is given
 *          + 2 if destination ports are given
 *          + 1 if source ports are given
 *
 * Addresses dominate: the protocol/port part is at most 7 and one step of address score
 * is 8. Ports need a protocol (validation), so "protocol + ports" always beats "protocol".
 * Equal weights are broken by action (block > permit > negotiate: the safer verdict wins),
 * then by rule order, filter order, and forward before mirrored (see expand.ts).
 */
import type { AddressSpec, Filter } from '../config/types.ts';

export const HOST_SCORE = 65;

export function addressScore(a: AddressSpec): number {
  switch (a.kind) {
    case 'any':
      return 0;
    case 'me':
    case 'host':
      return HOST_SCORE;
    case 'subnet':
      return 1 + Math.floor((a.prefix * 64) / (a.family === 4 ? 32 : 128));
  }
}

export function filterWeight(f: Pick<Filter, 'source' | 'destination' | 'protocol' | 'sourcePorts' | 'destinationPorts'>): number {
  return (
    8 * (addressScore(f.source) + addressScore(f.destination)) +
    (f.protocol !== 0 ? 4 : 0) +
    (f.destinationPorts.length > 0 ? 2 : 0) +
    (f.sourcePorts.length > 0 ? 1 : 0)
  );
}
