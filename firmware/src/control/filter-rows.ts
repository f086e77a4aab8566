/** Specific filters (policy/expand.ts) as rows for the `filters` command. */
import type { AddressSpec, PortRange } from '../config/types.ts';
import type { SpecificFilter } from '../policy/expand.ts';
import { protocolName } from '../base/protocols.ts';
import type { FilterRow } from './protocol.ts';

function addr(a: AddressSpec): string {
  switch (a.kind) {
    case 'any':
      return 'any';
    case 'me':
      return 'me';
    case 'host':
      return a.address;
    case 'subnet':
      return `${a.address}/${a.prefix}`;
  }
}

function ports(p: PortRange[]): string {
  return p.length === 0 ? 'any' : p.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

export function filterRows(filters: SpecificFilter[]): FilterRow[] {
  return filters.map((f) => ({
    id: f.id,
    rule: f.rule,
    action: f.action.kind,
    peer: f.peer,
    source: addr(f.source),
    destination: addr(f.destination),
    protocol: protocolName(f.protocol),
    sourcePorts: ports(f.sourcePorts),
    destinationPorts: ports(f.destinationPorts),
    direction: f.direction,
    weight: f.weight,
  }));
}
