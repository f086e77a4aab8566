/**
 * Expansion of the generic policy (rules -> filter lists -> filters) into specific
 * filters: one per direction (mirrored filters add the reverse), "me" optionally
 * resolved to this gateway's addresses, each with its weight (weight.ts), sorted so
 * the first match is the most specific.
 */
import type { AddressSpec, FilterAction, PortRange, Rule, SitelinkConfig } from '../config/types.ts';
import { parseIp } from '../base/address.ts';
import { filterWeight } from './weight.ts';

export interface SpecificFilter {
  /** Stable id: rule/filter-list/index/direction. */
  id: string;
  rule: string;
  action: FilterAction;
  /** Peer name for negotiate filters. */
  peer: string | null;
  source: AddressSpec;
  destination: AddressSpec;
  protocol: number;
  sourcePorts: PortRange[];
  destinationPorts: PortRange[];
  /** forward = as written (source = our side); mirror = the reverse direction. */
  direction: 'forward' | 'mirror';
  weight: number;
  /** Position in the file, for deterministic tie-breaking and for display. */
  order: { rule: number; filter: number };
  description: string;
}

export interface ExpandOptions {
  /** Resolve "me" to these addresses (one specific filter each); kept as "me" when absent. */
  localAddresses?: string[];
}

const ACTION_RANK: Record<FilterAction['kind'], number> = { block: 0, permit: 1, negotiate: 2 };

function resolveMe(a: AddressSpec, other: AddressSpec, locals: string[] | undefined): AddressSpec[] {
  if (a.kind !== 'me' || locals === undefined) return [a];
  const otherFamily = other.kind === 'host' || other.kind === 'subnet' ? other.family : null;
  const out: AddressSpec[] = [];
  for (const l of locals) {
    const ip = parseIp(l);
    if (ip && (otherFamily === null || ip.family === otherFamily)) out.push({ kind: 'host', address: l, family: ip.family });
  }
  return out;
}

function same(a: AddressSpec, b: AddressSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function expandRules(rules: Rule[], opts: ExpandOptions = {}): SpecificFilter[] {
  const out: SpecificFilter[] = [];
  rules.forEach((rule, ri) => {
    rule.filterList.filters.forEach((f, fi) => {
      const dirs: ('forward' | 'mirror')[] = f.mirrored ? ['forward', 'mirror'] : ['forward'];
      for (const direction of dirs) {
        const fwd = direction === 'forward';
        const src0 = fwd ? f.source : f.destination;
        const dst0 = fwd ? f.destination : f.source;
        const sp = fwd ? f.sourcePorts : f.destinationPorts;
        const dp = fwd ? f.destinationPorts : f.sourcePorts;
        // A mirror identical to its forward filter (e.g. any <-> any, no ports) adds nothing.
        if (!fwd && same(src0, dst0) && JSON.stringify(sp) === JSON.stringify(dp)) continue;
        for (const source of resolveMe(src0, dst0, opts.localAddresses)) {
          for (const destination of resolveMe(dst0, src0, opts.localAddresses)) {
            const spec = { source, destination, protocol: f.protocol, sourcePorts: sp, destinationPorts: dp };
            const srcMe = source.kind === 'host' && src0.kind === 'me' ? `/${source.address}` : '';
            const dstMe = destination.kind === 'host' && dst0.kind === 'me' ? `/${destination.address}` : '';
            out.push({
              id: `${rule.name}/${rule.filterList.name}/${fi}/${direction}${srcMe}${dstMe}`,
              rule: rule.name,
              action: rule.action,
              peer: rule.peer?.name ?? null,
              ...spec,
              direction,
              weight: filterWeight(spec),
              order: { rule: ri, filter: fi },
              description: f.description,
            });
          }
        }
      }
    });
  });
  return out.sort(compareSpecific);
}

/** Most specific first; ties: block > permit > negotiate, then file order, forward first. */
export function compareSpecific(a: SpecificFilter, b: SpecificFilter): number {
  return (
    b.weight - a.weight ||
    ACTION_RANK[a.action.kind] - ACTION_RANK[b.action.kind] ||
    a.order.rule - b.order.rule ||
    a.order.filter - b.order.filter ||
    (a.direction === b.direction ? 0 : a.direction === 'forward' ? -1 : 1)
  );
}

export function expandConfig(config: SitelinkConfig, opts: ExpandOptions = {}): SpecificFilter[] {
  return expandRules(config.rules, opts);
}
