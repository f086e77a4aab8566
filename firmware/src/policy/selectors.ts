/**
 * Negotiate rules -> tunnels with TrafficSelector lists for the ESP engine
 * (dataplane/types.ts). Selectors are written from our side: local = source of the
 * forward filter, remote = destination. The mirrored direction needs no selector of
 * its own: IPsec SAs come in pairs and the inbound SA checks the reverse.
 */
import type { AddressSpec, NegotiateAction, PortRange, Rule, SitelinkConfig } from '../config/types.ts';
import { parseIp } from '../base/address.ts';
import type { TrafficSelector } from '../dataplane/types.ts';
import { expandRules } from './expand.ts';

export interface Tunnel {
  rule: string;
  peer: string;
  action: NegotiateAction;
  /** Most specific first. */
  selectors: TrafficSelector[];
  /** Filters that could not become selectors (e.g. "me" with no known gateway address). */
  problems: string[];
}

function cidr(a: AddressSpec, otherFamily: 4 | 6): string | null {
  switch (a.kind) {
    case 'any':
      return otherFamily === 4 ? '0.0.0.0/0' : '::/0';
    case 'host':
      return `${a.address}/${a.family === 4 ? 32 : 128}`;
    case 'subnet':
      return `${a.address}/${a.prefix}`;
    case 'me':
      // expandRules resolved "me" when local addresses were given; otherwise unusable.
      return null;
  }
}

function fam(a: AddressSpec): 4 | 6 | null {
  return a.kind === 'host' || a.kind === 'subnet' ? a.family : null;
}

function ranges(r: PortRange[]): (PortRange | undefined)[] {
  return r.length === 0 ? [undefined] : r;
}

/**
 * `localAddresses` resolves "me"; without it, a rule's peer `local` address (if an IP)
 * is used, and filters still naming "me" are reported in `problems`.
 */
export function tunnelsOf(config: SitelinkConfig, localAddresses?: string[]): Tunnel[] {
  const tunnels: Tunnel[] = [];
  for (const rule of config.rules) {
    if (rule.action.kind !== 'negotiate' || !rule.peer) continue;
    const locals = localAddresses ?? (rule.peer.localAddress && parseIp(rule.peer.localAddress) ? [rule.peer.localAddress] : undefined);
    tunnels.push(tunnelOf(rule, rule.action, rule.peer.name, locals));
  }
  return tunnels;
}

function tunnelOf(rule: Rule, action: NegotiateAction, peer: string, localAddresses: string[] | undefined): Tunnel {
  const specific = expandRules([rule], localAddresses ? { localAddresses } : {});
  const problems: string[] = [];
  const selectors: TrafficSelector[] = [];
  for (const f of specific) {
    if (f.direction !== 'forward') continue;
    const family = fam(f.source) ?? fam(f.destination) ?? 4;
    const local = cidr(f.source, family);
    const remote = cidr(f.destination, family);
    if (local === null || remote === null) {
      problems.push(`${f.id}: "me" needs the gateway's address (set peers.${peer}.local)`);
      continue;
    }
    for (const lp of ranges(f.sourcePorts)) {
      for (const rp of ranges(f.destinationPorts)) {
        const ts: TrafficSelector = { local, remote };
        if (f.protocol !== 0) ts.protocol = f.protocol;
        if (lp) ts.localPorts = [lp[0], lp[1]];
        if (rp) ts.remotePorts = [rp[0], rp[1]];
        selectors.push(ts);
      }
    }
  }
  return { rule: rule.name, peer, action, selectors, problems };
}
