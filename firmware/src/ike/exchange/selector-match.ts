// Traffic selector containment for the default response rule: as responder we
// may accept quick mode client IDs (IDci/IDcr, RFC 2409 §5.5; ID types of
// RFC 2407 §4.6.2) that lie inside one of our tunnels' subnets and key the SAs
// for exactly those IDs. Pure functions over address prefixes; the choice of
// tunnel is made in quick-mode.ts.

import { IdType, formatIpv4, formatIpv6, parseIpv4, parseIpv6, type IdPayload } from '../wire/index.ts';

/** An address prefix: `bits` leading bits of `address` (4 or 16 bytes, host bits zero). */
export interface Prefix {
  family: 4 | 6;
  address: Buffer;
  bits: number;
}

/** Leading one bits of a mask, or -1 when the mask is not contiguous. */
function maskBits(mask: Buffer): number {
  let bits = 0;
  let i = 0;
  for (; i < mask.length && mask[i] === 0xff; i++) bits += 8;
  if (i === mask.length) return bits;
  const b = mask.readUInt8(i);
  let lead = 0;
  while (lead < 8 && (b & (0x80 >> lead)) !== 0) lead++;
  if (((b << lead) & 0xff) !== 0) return -1;
  for (let j = i + 1; j < mask.length; j++) if (mask[j] !== 0) return -1;
  return bits + lead;
}

/** Whether the bits after `bits` are all zero. */
function hostBitsZero(address: Buffer, bits: number): boolean {
  for (let i = 0; i < address.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const hostMask = 0xff >> keep;
    if ((address.readUInt8(i) & hostMask) !== 0) return false;
  }
  return true;
}

function prefixOf(address: Buffer, bits: number): Prefix | null {
  if (bits < 0 || bits > address.length * 8 || !hostBitsZero(address, bits)) return null;
  return { family: address.length === 4 ? 4 : 6, address, bits };
}

function parseAddress(text: string): Buffer | null {
  return parseIpv4(text) ?? parseIpv6(text);
}

/** A tunnel's CIDR ("198.18.1.0/24", or a bare address = host). Null if malformed or host bits are set. */
export function cidrPrefix(cidr: string): Prefix | null {
  const [addr = '', lenText] = cidr.split('/');
  const address = parseAddress(addr);
  if (!address) return null;
  if (lenText === undefined) return prefixOf(address, address.length * 8);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  return prefixOf(address, Number(lenText));
}

/**
 * The prefix a quick mode client ID names (RFC 2407 §4.6.2.2-§4.6.2.12): an address
 * is a host prefix, a subnet needs a contiguous mask and no host bits, a range only
 * counts when it is exactly one CIDR block. Anything else (names, DNs, odd ranges): null.
 */
export function idPrefix(p: IdPayload): Prefix | null {
  const id = p.id;
  switch (id.idType) {
    case IdType.IPV4_ADDR:
    case IdType.IPV6_ADDR: {
      const a = id.idType === IdType.IPV4_ADDR ? parseIpv4(id.address) : parseIpv6(id.address);
      return a ? prefixOf(a, a.length * 8) : null;
    }
    case IdType.IPV4_ADDR_SUBNET:
    case IdType.IPV6_ADDR_SUBNET: {
      const v4 = id.idType === IdType.IPV4_ADDR_SUBNET;
      const a = v4 ? parseIpv4(id.address) : parseIpv6(id.address);
      const m = v4 ? parseIpv4(id.mask) : parseIpv6(id.mask);
      return a && m ? prefixOf(a, maskBits(m)) : null;
    }
    case IdType.IPV4_ADDR_RANGE:
    case IdType.IPV6_ADDR_RANGE: {
      const v4 = id.idType === IdType.IPV4_ADDR_RANGE;
      const start = v4 ? parseIpv4(id.start) : parseIpv6(id.start);
      const end = v4 ? parseIpv4(id.end) : parseIpv6(id.end);
      if (!start || !end) return null;
      // start..end is one CIDR block iff start ^ end is a run of trailing ones
      // and start has zeros there (end then has ones).
      const diff = Buffer.alloc(start.length);
      if (start.length !== end.length) return null;
      for (let i = 0; i < start.length; i++) diff[i] = start.readUInt8(i) ^ end.readUInt8(i);
      const inverted = Buffer.from(diff.map((b) => ~b & 0xff));
      const bits = maskBits(inverted);
      if (bits < 0) return null;
      for (let i = 0; i < start.length; i++) if ((start.readUInt8(i) & diff.readUInt8(i)) !== 0) return null;
      return prefixOf(start, bits);
    }
    default:
      return null;
  }
}

/** `inner` lies wholly inside `outer` (equal counts): same family, at least as long, same leading bits. */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.bits < outer.bits) return false;
  const full = Math.floor(outer.bits / 8);
  for (let i = 0; i < full; i++) if (outer.address[i] !== inner.address[i]) return false;
  const rest = outer.bits % 8;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (outer.address.readUInt8(full) & m) === (inner.address.readUInt8(full) & m);
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.bits === b.bits && a.address.equals(b.address);
}

/** CIDR text, always with the length ("198.18.2.7/32"). */
export function formatPrefix(p: Prefix): string {
  return `${p.family === 4 ? formatIpv4(p.address) : formatIpv6(p.address)}/${p.bits}`;
}

/** What the default response rule needs of a tunnel. */
export interface SelectorPolicy {
  local: string;
  remote: string;
  defaultResponse?: boolean;
}

export interface DefaultResponseMatch<T extends SelectorPolicy> {
  tunnel: T;
  /** The peer's IDcr: our side, narrowed. */
  local: Prefix;
  /** The peer's IDci: its side, narrowed. */
  remote: Prefix;
}

/**
 * Default response rule: among the tunnels with `defaultResponse`, the most specific
 * one whose subnets contain the peer's client IDs (IDci inside our remote, IDcr
 * inside our local). Our client IDs carry protocol and port 0 (any), so the peer's
 * must too: a port-narrowed selector cannot be keyed by our subnet-only SAs. Null
 * when none contains both (wider or partly overlapping selectors are refused).
 */
export function matchDefaultResponse<T extends SelectorPolicy>(
  tunnels: readonly T[],
  idci: IdPayload,
  idcr: IdPayload,
): DefaultResponseMatch<T> | null {
  if (idci.protocol !== 0 || idci.port !== 0 || idcr.protocol !== 0 || idcr.port !== 0) return null;
  const remote = idPrefix(idci);
  const local = idPrefix(idcr);
  if (!remote || !local) return null;
  let best: { match: DefaultResponseMatch<T>; bits: number } | null = null;
  for (const t of tunnels) {
    if (!t.defaultResponse) continue;
    const ourLocal = cidrPrefix(t.local);
    const ourRemote = cidrPrefix(t.remote);
    if (!ourLocal || !ourRemote) continue;
    if (!prefixContains(ourLocal, local) || !prefixContains(ourRemote, remote)) continue;
    // Every candidate contains the same selectors, so per side the candidates' prefixes
    // are nested: longer prefixes are more specific. First configured wins a tie.
    const bits = ourLocal.bits + ourRemote.bits;
    if (!best || bits > best.bits) best = { match: { tunnel: t, local, remote }, bits };
  }
  return best?.match ?? null;
}
