// Several rounds of the same measurement: the row with the median tunnels/s
// stands for all, with the range of every round's rate beside it (100
// tunnels take well under a second, so one round is noisy), and the range of
// the hub's RSS and high-water mark (one spoke: the figure issue 10's one-tunnel goal reads).

import type { Row } from './table.ts';

const rate = (r: Row): number => r.load?.tunnelsPerSecond ?? 0;

export function medianRow(rounds: readonly Row[]): Row {
  if (rounds.length === 0) throw new Error('medianRow: no rounds');
  const sorted = [...rounds].sort((a, b) => rate(a) - rate(b));
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (rounds.length === 1) return mid;
  const hwm = rounds.map((r) => r.hwmMb).filter((x): x is number => x !== undefined);
  const rss = rounds.map((r) => r.rssMb).filter((x): x is number => x !== undefined);
  return {
    ...mid,
    rateRange: [rate(sorted[0]!), rate(sorted[sorted.length - 1]!)],
    ...(hwm.length > 1 ? { hwmRange: [Math.min(...hwm), Math.max(...hwm)] as [number, number] } : {}),
    ...(rss.length > 1 ? { rssRange: [Math.min(...rss), Math.max(...rss)] as [number, number] } : {}),
  };
}
