/**
 * Negotiate rules -> tunnels with TrafficSelector lists for the ESP engine
 * (dataplane/types.ts). Selectors are written from our side: local = source of the
 * forward filter, remote = destination. The mirrored direction needs no selector of
 * its own: IPsec SAs come in pairs and the inbound SA checks the reverse.
 */
import type { AddressSpec, NegotiateAction, PortRange, SitelinkConfig } from '../config/types.ts';
import type { TrafficSelector } from '../dataplane/types.ts';
import { expandRules } from './expand.ts';

export interface Tunnel {
  rule: string;
  peer: string;
  action: NegotiateAction;
  /** Most specific first. */
  selectors: TrafficSelector[];
}

function cidr(a: AddressSpec, otherFamily: 4 | 6): string {
  switch (a.kind) {
    case 'any':
      return otherFamily === 4 ? '0.0.0.0/0' : '::/0';
    case 'host':
      return `${a.address}/${a.family === 4 ? 32 : 128}`;
    case 'subnet':
      return `${a.address}/${a.prefix}`;
    case 'me':
      // expandRules resolved "me" when local addresses were given; otherwise unusable.
      throw new Error('"me" in a negotiate filter needs the gateway addresses');
  }
}

function fam(a: AddressSpec): 4 | 6 | null {
  return a.kind === 'host' || a.kind === 'subnet' ? a.family : null;
}

function ranges(r: PortRange[]): (PortRange | undefined)[] {
  return r.length === 0 ? [undefined] : r;
}

export function tunnelsOf(config: SitelinkConfig, localAddresses: string[] = []): Tunnel[] {
  const specific = expandRules(config.rules, { localAddresses });
  const tunnels: Tunnel[] = [];
  for (const rule of config.rules) {
    if (rule.action.kind !== 'negotiate' || !rule.peer) continue;
    const selectors: TrafficSelector[] = [];
    for (const f of specific) {
      if (f.rule !== rule.name || f.direction !== 'forward') continue;
      const family = fam(f.source) ?? fam(f.destination) ?? 4;
      for (const lp of ranges(f.sourcePorts)) {
        for (const rp of ranges(f.destinationPorts)) {
          const ts: TrafficSelector = { local: cidr(f.source, family), remote: cidr(f.destination, family) };
          if (f.protocol !== 0) ts.protocol = f.protocol;
          if (lp) ts.localPorts = [lp[0], lp[1]];
          if (rp) ts.remotePorts = [rp[0], rp[1]];
          selectors.push(ts);
        }
      }
    }
    tunnels.push({ rule: rule.name, peer: rule.peer.name, action: rule.action, selectors });
  }
  return tunnels;
}
