// What one load-generator run reports (one JSON object on stdout).

export interface LoadResult {
  spokes: number;
  established: number;
  failed: number;
  /** Main mode + quick mode retransmissions by the spokes. */
  retransmits: number;
  /** First MM1 to last QM3 sent, milliseconds. */
  wallMs: number;
  tunnelsPerSecond: number;
  /** Per tunnel, MM1 sent to QM3 sent. */
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** CPU the load generator itself used (user + system), milliseconds. */
  cpuMs: number;
  failures: string[];
}

/** Nearest-rank percentile of an ascending list (0 for an empty one). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
