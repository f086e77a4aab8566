// The result table: one row per hub, IKE version and DH group, ratios against the
// strongSwan row of the same version and group.

import type { LoadResult } from '../../../firmware/src/tools/loadgen/stats.ts';

export interface Row {
  hub: string;
  /** 'ike-loadgen' unless told otherwise (the strongSwan sanity row says 'charon'). */
  loadgen?: string;
  version: 1 | 2;
  group: string;
  spokes: number;
  /** null with `note` when the hub could not be measured. */
  load: LoadResult | null;
  note?: string;
  hubUp?: number;
  rssPerTunnelKb?: number;
  hubCpuMsPerTunnel?: number;
  hwmMb?: number;
  /** Hub VmRSS (MiB) at the sample with all tunnels up. */
  rssMb?: number;
  remarks?: string[];
  /** Lowest and highest tunnels/s over the rounds (rounds.ts). */
  rateRange?: [number, number];
  /** Lowest and highest hub high-water mark (MiB) over the rounds. */
  hwmRange?: [number, number];
  /** Lowest and highest hub VmRSS (MiB) over the rounds. */
  rssRange?: [number, number];
}

const HEAD = [
  'hub',
  'spokes by',
  'IKE',
  'group',
  'tunnels',
  'tunnels/s',
  'rate vs sS',
  'p50 ms',
  'p95 ms',
  'fail',
  'retx',
  'RSS/tunnel KiB',
  'RSS vs sS',
  'hub CPU ms/tun',
  'loadgen CPU ms/tun',
  'hub RSS MiB',
  'hub HWM MiB',
  'hub sees up',
];

const fmt = (x: number | undefined, digits = 1): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b <= 0 ? '-' : `${(a / b).toFixed(2)}x`;
}

export function renderTable(rows: readonly Row[]): string {
  const ref = (r0: Row): Row | undefined =>
    rows.find((r) => r.group === r0.group && r.version === r0.version && r.hub === 'strongswan' && r.loadgen === undefined && r.load !== null);
  const cells = rows.map((r): string[] => {
    const by = r.loadgen ?? 'ike-loadgen';
    const v = `v${r.version}`;
    if (r.load === null) return [r.hub, by, v, r.group, `0/${r.spokes}`, `not available: ${r.note ?? 'unknown'}`];
    const base = ref(r);
    const mine = r !== base;
    return [
      r.hub,
      by,
      v,
      r.group,
      `${r.load.established}/${r.spokes}`,
      r.rateRange ? `${fmt(r.load.tunnelsPerSecond)} (${r.rateRange[0].toFixed(0)}-${r.rateRange[1].toFixed(0)})` : fmt(r.load.tunnelsPerSecond),
      mine ? ratio(r.load.tunnelsPerSecond, base?.load?.tunnelsPerSecond) : '1.00x',
      fmt(r.load.p50Ms, 0),
      fmt(r.load.p95Ms, 0),
      String(r.load.failed),
      Number.isNaN(r.load.retransmits) ? '-' : String(r.load.retransmits),
      fmt(r.rssPerTunnelKb),
      mine ? ratio(r.rssPerTunnelKb, base?.rssPerTunnelKb) : '1.00x',
      fmt(r.hubCpuMsPerTunnel, 2),
      fmt(r.load.cpuMs / Math.max(1, r.load.established), 2),
      r.rssRange ? `${fmt(r.rssMb)} (${fmt(r.rssRange[0])}-${fmt(r.rssRange[1])})` : fmt(r.rssMb),
      r.hwmRange ? `${fmt(r.hwmMb)} (${fmt(r.hwmRange[0])}-${fmt(r.hwmRange[1])})` : fmt(r.hwmMb),
      r.hubUp === undefined ? '-' : String(r.hubUp),
    ];
  });
  const widths = HEAD.map((h, i) => Math.max(h.length, ...cells.filter((c) => c.length === HEAD.length).map((c) => c[i]!.length)));
  const line = (c: readonly string[]): string => `| ${c.map((x, i) => (c.length === HEAD.length ? x.padEnd(widths[i]!) : x)).join(' | ')} |`;
  const remarks = rows.flatMap((r) => (r.remarks ?? []).map((x) => `  ${r.hub}/v${r.version}/${r.group}: ${x}`));
  return [
    line(HEAD),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
    ...(remarks.length > 0 ? ['', ...remarks] : []),
  ].join('\n');
}
