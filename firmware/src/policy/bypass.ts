/**
 * permit/block filters as the engine's bypass selectors (native/src/snap.h): an
 * outbound packet whose SA selector such a filter matches with at least the same
 * weight is not encrypted, so the engine applies the most specific filter's action
 * even to traffic that reached its TUN. Written like the negotiate selectors
 * (selectors.ts): local = the filter's source, remote = its destination; both
 * directions of a mirrored filter; "me" that is not resolved to an address cannot be
 * a prefix and is left to routing and nftables.
 */
import type { AddressSpec, PortRange } from '../config/types.ts';
import type { TrafficSelector } from '../dataplane/types.ts';
import type { SpecificFilter } from './expand.ts';

/** The engine keeps at most this many (native SL_SADB_MAX_BYPASS). */
export const MAX_BYPASS = 65536;

function cidrs(a: AddressSpec, fam: 4 | 6): string[] | null {
  switch (a.kind) {
    case 'any':
      return [fam === 4 ? '0.0.0.0/0' : '::/0'];
    case 'host':
      return a.family === fam ? [`${a.address}/${fam === 4 ? 32 : 128}`] : [];
    case 'subnet':
      return a.family === fam ? [`${a.address}/${a.prefix}`] : [];
    case 'me':
      return null;
  }
}

function ranges(r: PortRange[]): (PortRange | undefined)[] {
  return r.length === 0 ? [undefined] : r;
}

export function bypassSelectorsOf(filters: readonly SpecificFilter[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const f of filters) {
    if (f.action.kind === 'negotiate') continue;
    for (const fam of [4, 6] as const) {
      const locals = cidrs(f.source, fam);
      const remotes = cidrs(f.destination, fam);
      if (locals === null || remotes === null) continue;
      for (const local of locals) {
        for (const remote of remotes) {
          for (const lp of ranges(f.sourcePorts)) {
            for (const rp of ranges(f.destinationPorts)) {
              const ts: TrafficSelector = { local, remote };
              if (f.protocol !== 0) ts.protocol = f.protocol;
              if (lp) ts.localPorts = [lp[0], lp[1]];
              if (rp) ts.remotePorts = [rp[0], rp[1]];
              if (out.length < MAX_BYPASS) out.push(ts);
            }
          }
        }
      }
    }
  }
  return out;
}
