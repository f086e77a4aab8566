/**
 * Routing that follows the filter weights: two nft chains (in `table inet sitelink`,
 * nft.ts) classify every packet before the routing decision, most specific filter
 * first, exactly as the filter chains do, and mark it for the policy-routing rules of
 * dataplane/routes.ts:
 *
 *   permit / block filter         -> MARK_CLEAR: routed by main, never into the TUN, so a
 *                                    permit inside a negotiate rule's subnets stays clear
 *   negotiate, protocol or ports  -> MARK_TUN: into the TUN; only this traffic, since
 *                                    such a rule gets no whole-subnet route (other ports
 *                                    of the subnet are not swallowed and dropped)
 *   negotiate, addresses only     -> no mark: the remote subnet's route (table 152)
 *                                    takes it, and a soft SA (fallback to clear) can
 *                                    still remove that route
 *
 * Only the forward direction of negotiate filters is classified (the mirror is what
 * arrives decrypted from the TUN); traffic from the TUN, IKE/NAT-T and ESP are left
 * alone first, so the gateway's own tunnel traffic can never be marked into the TUN.
 */
import { MARK_CLEAR, MARK_TUN } from '../dataplane/routes.ts';
import type { SpecificFilter } from './expand.ts';

export interface RouteMarkOptions {
  tun: string;
  ikePort: number;
  nattPort: number;
}

/** Does this negotiate filter carry more than addresses (a protocol or ports)? */
export function narrowNegotiate(f: Pick<SpecificFilter, 'protocol' | 'sourcePorts' | 'destinationPorts'>): boolean {
  return f.protocol !== 0 || f.sourcePorts.length > 0 || f.destinationPorts.length > 0;
}

function verdict(f: SpecificFilter): string | null {
  if (f.action.kind !== 'negotiate') return `meta mark set 0x${MARK_CLEAR.toString(16)} return`;
  if (f.direction !== 'forward') return null;
  return narrowNegotiate(f) ? `meta mark set 0x${MARK_TUN.toString(16)} return` : 'return';
}

function comment(f: SpecificFilter): string {
  return `comment "${`route ${f.id} w=${f.weight}`.replace(/"/g, '').slice(0, 120)}"`;
}

/** The chain definitions, indented for the table body. */
export function routeMarkChains(filters: SpecificFilter[], o: RouteMarkOptions, matchExpr: (f: SpecificFilter) => string): string[] {
  const body: string[] = [
    `udp sport { ${o.ikePort}, ${o.nattPort} } return comment "IKE and NAT-T"`,
    `udp dport { ${o.ikePort}, ${o.nattPort} } return comment "IKE and NAT-T"`,
    'meta l4proto esp return comment "ESP"',
  ];
  // Nothing to classify without a negotiate rule: every route is main's.
  if (filters.some((f) => f.action.kind === 'negotiate')) {
    for (const f of filters) {
      const v = verdict(f);
      if (v === null) continue;
      const m = matchExpr(f);
      body.push(`${m === '' ? '' : `${m} `}${v} ${comment(f)}`);
    }
  }
  const lines: string[] = [];
  for (const [name, hook] of [
    ['route_pre', 'type filter hook prerouting priority mangle'],
    ['route_out', 'type route hook output priority mangle'],
  ] as const) {
    lines.push(`  chain ${name} {`, `    ${hook}; policy accept;`);
    if (name === 'route_pre') lines.push(`    iifname "${o.tun}" return comment "decrypted by the engine"`);
    else lines.push('    oifname "lo" return comment "loopback"');
    for (const b of body) lines.push(`    ${b}`);
    lines.push('  }');
  }
  return lines;
}
