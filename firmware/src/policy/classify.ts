/**
 * Packet classifier over specific filters: the first (most specific, see weight.ts)
 * filter that matches decides. Used by `sitelinkctl filters`/tests and by the daemon
 * to pick the tunnel for trapped traffic.
 */
import type { AddressSpec, PortRange } from '../config/types.ts';
import { inPrefix, parseIp, type IpAddr } from '../base/address.ts';
import { compareSpecific, type SpecificFilter } from './expand.ts';

export interface PacketInfo {
  source: string;
  destination: string;
  protocol: number;
  sourcePort?: number;
  destinationPort?: number;
}

function addrMatches(spec: AddressSpec, ip: IpAddr, locals: IpAddr[]): boolean {
  switch (spec.kind) {
    case 'any':
      return true;
    case 'me':
      return locals.some((l) => l.family === ip.family && l.value === ip.value);
    case 'host': {
      const h = parseIp(spec.address);
      return h !== null && h.family === ip.family && h.value === ip.value;
    }
    case 'subnet': {
      const n = parseIp(spec.address);
      return n !== null && inPrefix(ip, n, spec.prefix);
    }
  }
}

function portMatches(ranges: PortRange[], port: number | undefined): boolean {
  if (ranges.length === 0) return true;
  if (port === undefined) return false;
  return ranges.some(([lo, hi]) => port >= lo && port <= hi);
}

export function matches(f: SpecificFilter, p: PacketInfo, locals: IpAddr[] = []): boolean {
  const src = parseIp(p.source);
  const dst = parseIp(p.destination);
  if (!src || !dst) return false;
  return (
    addrMatches(f.source, src, locals) &&
    addrMatches(f.destination, dst, locals) &&
    (f.protocol === 0 || f.protocol === p.protocol) &&
    portMatches(f.sourcePorts, p.sourcePort) &&
    portMatches(f.destinationPorts, p.destinationPort)
  );
}

/** The deciding filter, or null (no rule: default permit, as without a policy). */
export function classify(filters: SpecificFilter[], p: PacketInfo, localAddresses: string[] = []): SpecificFilter | null {
  const locals = localAddresses.map(parseIp).filter((x): x is IpAddr => x !== null);
  let best: SpecificFilter | null = null;
  for (const f of filters) {
    if (!matches(f, p, locals)) continue;
    // Filters arrive sorted, but do not rely on the caller for correctness.
    if (best === null || compareSpecific(f, best) < 0) best = f;
  }
  return best;
}
