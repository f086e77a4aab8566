/**
 * nftables enforcement of permit/block (and the clear-text side of negotiate) filters:
 * generates the whole `table inet sitelink` ruleset as text for `nft -f -`, which nft
 * applies atomically. Rules are emitted most specific first, so nft's first-match
 * order equals the weight order.
 *
 * Loopback, IKE (UDP 500/4500) and ESP are exempt first, as in Windows IPsec, so a
 * broad block or negotiate filter cannot cut the gateway off from its peers or itself.
 * So is IPv6 neighbour discovery (RFC 4861; what ARP is to IPv4, which nftables' inet
 * family never sees) and Packet Too Big (RFC 8201 path MTU discovery), without which
 * an IPv6 outer path or an IPv6 LAN would break under a broad filter.
 */
import type { AddressSpec, Exemption, PortRange, SitelinkConfig } from '../config/types.ts';
import type { SpecificFilter } from './expand.ts';
import { parseCidr } from '../base/address.ts';
import { routeMarkChains } from './route-marks.ts';

export const TABLE = 'sitelink';

/** Interval sets of remote subnets currently on a soft SA (fallback to clear): clear
 * traffic of fallback rules passes only to and from these (daemon/clear-fallback.ts). */
export const FALLBACK_SET = { 4: 'fallback4', 6: 'fallback6' } as const;

export interface NftOptions {
  /** TUN interface of the ESP engine: negotiate traffic may only pass through it. */
  tun: string;
  ikePort: number;
  nattPort: number;
  /** Exempt from every filter; absent = broadcast, multicast and DHCP (Windows' defaults). */
  exemptions?: readonly Exemption[];
  /** Remote subnets on a soft SA when the ruleset is (re)applied. */
  clearRemotes?: readonly string[];
}

export function nftOptionsOf(c: SitelinkConfig, clearRemotes: readonly string[] = []): NftOptions {
  const g = c.gateway;
  return { tun: g.tun, ikePort: g.ikePort, nattPort: g.nattPort, exemptions: g.exemptions, clearRemotes };
}

/** The nft set element command for one remote subnet on or off a soft SA. */
export function fallbackElement(op: 'add' | 'delete', cidr: string): string {
  const fam = parseCidr(cidr)?.addr.family === 6 ? 6 : 4;
  return `${op} element inet ${TABLE} ${FALLBACK_SET[fam]} { ${cidr} }\n`;
}

/** Exemption rules, in input and output (the gateway's own address configuration and
 * link-local protocols; forwarded traffic is not exempt). */
function exemptionRules(kinds: readonly Exemption[], chain: 'input' | 'output'): string[] {
  const out: string[] = [
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, packet-too-big } accept comment "IPv6 ND and PMTU"',
  ];
  if (kinds.includes('broadcast')) {
    const match = chain === 'input' ? 'fib daddr type broadcast' : 'ip daddr 255.255.255.255';
    out.push(`${match} accept comment "broadcast"`);
  }
  if (kinds.includes('multicast'))
    out.push('ip daddr 224.0.0.0/4 accept comment "multicast"', 'ip6 daddr ff00::/8 accept comment "multicast"');
  if (kinds.includes('dhcp'))
    out.push(
      'udp sport { 67, 68 } udp dport { 67, 68 } accept comment "DHCP"',
      'udp sport { 546, 547 } udp dport { 546, 547 } accept comment "DHCPv6"',
    );
  return out;
}

function family(f: SpecificFilter): 'ip' | 'ip6' | null {
  for (const a of [f.source, f.destination]) if (a.kind === 'host' || a.kind === 'subnet') return a.family === 4 ? 'ip' : 'ip6';
  return null;
}

function addrMatch(a: AddressSpec, side: 'saddr' | 'daddr', fam: 'ip' | 'ip6' | null): string | null {
  switch (a.kind) {
    case 'any':
      return null;
    case 'me':
      return `fib ${side} type local`;
    case 'host':
      return `${fam ?? (a.family === 4 ? 'ip' : 'ip6')} ${side} ${a.address}`;
    case 'subnet':
      return `${fam ?? (a.family === 4 ? 'ip' : 'ip6')} ${side} ${a.address}/${a.prefix}`;
  }
}

function portSet(ranges: PortRange[]): string {
  const items = ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`));
  return `{ ${items.join(', ')} }`;
}

const L4: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** The match part of a rule (no verdict). */
export function matchExpr(f: SpecificFilter): string {
  const fam = family(f);
  const parts: string[] = [];
  const s = addrMatch(f.source, 'saddr', fam);
  const d = addrMatch(f.destination, 'daddr', fam);
  if (s) parts.push(s);
  if (d) parts.push(d);
  if (f.protocol !== 0) {
    const l4 = L4[f.protocol];
    if (l4 && (f.sourcePorts.length > 0 || f.destinationPorts.length > 0)) {
      if (f.sourcePorts.length > 0) parts.push(`${l4} sport ${portSet(f.sourcePorts)}`);
      if (f.destinationPorts.length > 0) parts.push(`${l4} dport ${portSet(f.destinationPorts)}`);
    } else parts.push(`meta l4proto ${f.protocol}`);
  }
  return parts.join(' ');
}

function comment(f: SpecificFilter): string {
  // nft comments are limited to 128 bytes and must not contain quotes.
  return `comment "${`${f.id} w=${f.weight}`.replace(/"/g, '').slice(0, 120)}"`;
}

type Chain = 'input' | 'forward' | 'output';

function rulesFor(f: SpecificFilter, chain: Chain, o: NftOptions): string[] {
  const m = matchExpr(f);
  const pre = m === '' ? '' : `${m} `;
  const c = comment(f);
  const a = f.action;
  if (a.kind === 'permit') return [`${pre}accept ${c}`];
  if (a.kind === 'block') return [`${pre}drop ${c}`];
  // negotiate: through the ESP engine's TUN only; in clear only when the action allows.
  // forward = as written (leaving towards the peer), mirror = arriving from it.
  const outbound = f.direction === 'forward';
  const out: string[] = [];
  if (chain !== 'output') out.push(`${pre}iifname "${o.tun}" accept ${c}`);
  if (chain !== 'input') out.push(`${pre}oifname "${o.tun}" accept ${c}`);
  // Fallback to clear: only while the remote subnet is on a soft SA (the daemon adds and
  // removes it in the set), in both directions. The remote side is the destination of
  // the forward filter and the source of the mirrored one.
  const remote = outbound ? f.destination : f.source;
  if (a.fallbackToClear) {
    const fam = remote.kind === 'host' || remote.kind === 'subnet' ? remote.family : null;
    for (const v of fam === null ? ([4, 6] as const) : [fam]) {
      out.push(`${pre}${v === 4 ? 'ip' : 'ip6'} ${outbound ? 'daddr' : 'saddr'} @${FALLBACK_SET[v]} accept ${c}`);
    }
  }
  // Accept unsecured: inbound only, and only on the listed interfaces when given.
  if (!outbound && a.acceptUnsecured && chain !== 'output') {
    const ifs = a.acceptUnsecuredInterfaces;
    const iif = ifs.length === 0 ? '' : `iifname { ${ifs.map((i) => `"${i}"`).join(', ')} } `;
    out.push(`${iif}${pre}accept ${c}`);
  }
  out.push(`${pre}drop ${c}`);
  return out;
}

export function generateRuleset(filters: SpecificFilter[], o: NftOptions): string {
  const ike = `{ ${o.ikePort}, ${o.nattPort} }`;
  const exempt = o.exemptions ?? ['broadcast', 'multicast', 'dhcp'];
  const chains: { name: Chain; exempt: string[] }[] = [
    {
      name: 'input',
      exempt: [
        'iifname "lo" accept comment "loopback"',
        `udp dport ${ike} accept comment "IKE and NAT-T"`,
        'meta l4proto esp accept comment "ESP"',
        ...exemptionRules(exempt, 'input'),
      ],
    },
    {
      name: 'output',
      exempt: [
        'oifname "lo" accept comment "loopback"',
        `udp sport ${ike} accept comment "IKE and NAT-T"`,
        'meta l4proto esp accept comment "ESP"',
        ...exemptionRules(exempt, 'output'),
      ],
    },
    { name: 'forward', exempt: [] },
  ];
  const lines: string[] = [
    '# generated by sitelink: do not edit, the daemon replaces it',
    // Declaring then deleting makes the replacement atomic within this one transaction,
    // whether or not the table existed before.
    `table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
  ];
  for (const v of [4, 6] as const) {
    const elems = (o.clearRemotes ?? []).filter((r) => (parseCidr(r)?.addr.family === 6 ? 6 : 4) === v);
    lines.push(`  set ${FALLBACK_SET[v]} {`, `    type ${v === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags interval;`);
    if (elems.length > 0) lines.push(`    elements = { ${elems.join(', ')} }`);
    lines.push('  }');
  }
  for (const ch of chains) {
    lines.push(`  chain ${ch.name} {`);
    lines.push(`    type filter hook ${ch.name} priority filter; policy accept;`);
    for (const e of ch.exempt) lines.push(`    ${e}`);
    for (const f of filters) for (const r of rulesFor(f, ch.name, o)) lines.push(`    ${r}`);
    lines.push('  }');
  }
  // Routing by weight (route-marks.ts): marks for the policy-routing rules.
  lines.push(...routeMarkChains(filters, o, matchExpr));
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Removes the table (at daemon stop). */
export function deleteRuleset(): string {
  return `table inet ${TABLE}\ndelete table inet ${TABLE}\n`;
}
