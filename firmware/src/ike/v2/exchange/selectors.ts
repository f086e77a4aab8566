// Traffic selectors (RFC 7296 §2.9) for the policy's tunnels: a tunnel's
// CIDRs (and protocol/ports) become TSi/TSr, and a responder narrows the
// initiator's selectors to what a tunnel allows. The engine installs one
// CIDR per side, so a narrowed result must be exactly one CIDR block.

import { ownCopy } from '../../common/own-buffer.ts';
import { cidrPrefix, formatPrefix, type Prefix } from '../../exchange/selector-match.ts';
import type { TunnelPolicy } from '../../exchange/types.ts';
import { TsType } from '../wire/constants.ts';
import type { TrafficSelector } from '../wire/payloads.ts';

function toBig(b: Buffer): bigint {
  return BigInt('0x' + b.toString('hex'));
}

function toBuf(v: bigint, length: number): Buffer {
  // Own memory: child SAs keep their selectors for life; Buffer.from would carve them
  // out of Node's 8 KB pool slabs and pin one per tunnel (ike/common/own-buffer.ts).
  return ownCopy(Buffer.from(v.toString(16).padStart(length * 2, '0'), 'hex'));
}

function prefixTs(p: Prefix, protocol: number, port: number | undefined): TrafficSelector {
  const n = p.address.length;
  const host = (1n << BigInt(n * 8 - p.bits)) - 1n;
  const start = toBig(p.address);
  const anyPort = port === undefined || port === 0;
  return {
    tsType: n === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE,
    protocol,
    startPort: anyPort ? 0 : port,
    endPort: anyPort ? 0xffff : port,
    startAddress: toBuf(start, n),
    endAddress: toBuf(start | host, n),
  };
}

/** Our side (local) and the peer's side (remote) of a tunnel as selectors. Throws on a malformed CIDR (config is validated). */
export function tunnelSelectors(t: TunnelPolicy): { local: TrafficSelector; remote: TrafficSelector } {
  const l = cidrPrefix(t.local);
  const r = cidrPrefix(t.remote);
  if (!l || !r) throw new RangeError(`tunnel ${t.name}: bad CIDR`);
  const proto = t.ports?.protocol ?? 0;
  return { local: prefixTs(l, proto, t.ports?.localPort), remote: prefixTs(r, proto, t.ports?.remotePort) };
}

/** The CIDR block a selector covers, or null when its range is not one block. */
export function selectorCidr(s: TrafficSelector): string | null {
  const n = s.startAddress.length;
  const start = toBig(s.startAddress);
  const end = toBig(s.endAddress);
  if (end < start) return null;
  const size = end - start + 1n;
  if ((size & (size - 1n)) !== 0n || (start & (size - 1n)) !== 0n) return null;
  const bits = n * 8 - (size.toString(2).length - 1);
  return formatPrefix({ family: n === 4 ? 4 : 6, address: s.startAddress, bits });
}

/** The intersection of two selectors (§2.9 narrowing), or null when they do not overlap. */
export function intersect(a: TrafficSelector, b: TrafficSelector): TrafficSelector | null {
  if (a.tsType !== b.tsType) return null;
  if (a.protocol !== 0 && b.protocol !== 0 && a.protocol !== b.protocol) return null;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return null;
  const start = [a.startAddress, b.startAddress].map(toBig).reduce((x, y) => (x > y ? x : y));
  const end = [a.endAddress, b.endAddress].map(toBig).reduce((x, y) => (x < y ? x : y));
  if (start > end) return null;
  const n = a.startAddress.length;
  return { tsType: a.tsType, protocol: a.protocol || b.protocol, startPort, endPort, startAddress: toBuf(start, n), endAddress: toBuf(end, n) };
}

export interface NarrowedTunnel {
  tunnel: TunnelPolicy;
  /** Initiator's side (TSi) and responder's side (TSr) as we answer them. */
  tsi: TrafficSelector;
  tsr: TrafficSelector;
}

/**
 * Responder: the first tunnel (policy order) whose selectors overlap the
 * initiator's TSi (its side, our remote) and TSr (our local) in one CIDR
 * block each. RFC 7296 §2.9 lets the responder narrow to a subset; the first
 * selector of each list may be the packet that triggered the request, so all
 * are tried in order.
 */
export function narrow(tunnels: readonly TunnelPolicy[], tsi: readonly TrafficSelector[], tsr: readonly TrafficSelector[]): NarrowedTunnel | null {
  for (const tunnel of tunnels) {
    const ours = tunnelSelectors(tunnel);
    for (const i of tsi) {
      const ni = intersect(i, ours.remote);
      if (!ni || selectorCidr(ni) === null) continue;
      for (const r of tsr) {
        const nr = intersect(r, ours.local);
        if (nr && selectorCidr(nr) !== null) return { tunnel, tsi: ni, tsr: nr };
      }
    }
  }
  return null;
}

/** Initiator: the responder's answer must lie inside what we offered (§2.9). */
export function withinOffer(offer: TrafficSelector, answer: readonly TrafficSelector[]): TrafficSelector | null {
  if (answer.length !== 1) return null;
  const a = answer[0]!;
  const i = intersect(offer, a);
  if (
    !i ||
    !i.startAddress.equals(a.startAddress) ||
    !i.endAddress.equals(a.endAddress) ||
    i.startPort !== a.startPort ||
    i.endPort !== a.endPort
  )
    return null;
  return selectorCidr(a) === null ? null : a;
}
