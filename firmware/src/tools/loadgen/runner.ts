// Drives N spokes against one hub: every spoke is its own IKE node (one peer,
// the hub; IKEv1 or IKEv2 by the policy's version) on its own source address, so
// the hub sees N distinct peers. At most `concurrency` negotiations run at once; a
// tunnel counts as established when the spoke installs its outbound IPsec SA
// (IKEv1: QM2 received, QM3 sent; IKEv2: the IKE_AUTH response received).

import { performance } from 'node:perf_hooks';
import { IkeNodes } from '../../ike/ike-nodes.ts';
import { systemEnv } from '../../ike/system-env.ts';
import type { Action } from '../../ike/exchange/types.ts';
import { spokePolicy, type HubTarget } from './spoke-policy.ts';
import type { Spoke } from './spokes.ts';
import { percentile, round1, type LoadResult } from './stats.ts';
import { SpokeTransport } from './transport.ts';

const TICK_MS = 200;

interface Run {
  spoke: Spoke;
  node: IkeNodes;
  transport: SpokeTransport;
  startedAt: number;
  doneAt: number | null;
  failure: string | null;
}

export interface RunOptions {
  concurrency: number;
  timeoutMs: number;
}

export interface LoadRun {
  result: LoadResult;
  /** Keeps answering the hub (QM2 retransmits, DPD) until closed. */
  close(): void;
}

export async function runLoad(spokes: readonly Spoke[], hub: HubTarget, opts: RunOptions): Promise<LoadRun> {
  const env = systemEnv;
  const runs: Run[] = [];
  let finished = 0;
  let next = 0;
  let wake: (() => void) | null = null;

  const finish = (r: Run, failure: string | null): void => {
    if (r.doneAt !== null || r.failure !== null) return;
    if (failure === null) r.doneAt = performance.now();
    else r.failure = failure;
    finished++;
    startNext();
    if (finished === runs.length) wake?.();
  };

  const apply = (r: Run, actions: Action[]): void => {
    for (const a of actions) {
      if (a.kind === 'send') r.transport.send(a.data, a.to, a.localPort);
      else if (a.kind === 'install') {
        a.sa.encKey.fill(0);
        a.sa.authKey?.fill(0);
        if (a.sa.direction === 'out') finish(r, null);
      } else if (a.kind === 'failed') finish(r, `${a.phase} mode: ${a.reason}`);
    }
  };

  for (const s of spokes) {
    const node = new IkeNodes(env, [spokePolicy(s, hub)]);
    const holder: { run?: Run } = {};
    const transport = await SpokeTransport.open(s.address, (data, from, port) => {
      if (holder.run) apply(holder.run, holder.run.node.receive(data, from, port));
    });
    holder.run = { spoke: s, node, transport, startedAt: 0, doneAt: null, failure: null };
    runs.push(holder.run);
  }

  function startNext(): void {
    while (next < runs.length && next - finished < opts.concurrency) {
      const r = runs[next++]!;
      r.startedAt = performance.now();
      apply(r, r.node.initiate(r.spoke.id));
    }
  }

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ticker = setInterval(() => {
    for (const r of runs) if (r.startedAt > 0) apply(r, r.node.tick());
  }, TICK_MS);
  const done = new Promise<void>((resolve) => {
    wake = resolve;
  });
  startNext();
  if (runs.length > 0) await Promise.race([done, new Promise((resolve) => setTimeout(resolve, opts.timeoutMs))]);
  const cpu = process.cpuUsage(cpu0);

  for (const r of runs) if (r.doneAt === null && r.failure === null) r.failure = r.startedAt > 0 ? 'timed out' : 'never started';
  const ok = runs.filter((r) => r.doneAt !== null);
  const lat = ok.map((r) => r.doneAt! - r.startedAt).sort((a, b) => a - b);
  const last = ok.reduce((m, r) => Math.max(m, r.doneAt!), t0);
  const wallMs = last - t0;
  const reasons = new Map<string, number>();
  for (const r of runs) if (r.failure !== null) reasons.set(r.failure, (reasons.get(r.failure) ?? 0) + 1);
  const result: LoadResult = {
    spokes: runs.length,
    established: ok.length,
    failed: runs.length - ok.length,
    retransmits: runs.reduce((n, r) => n + r.node.counters.retransmitted, 0),
    wallMs: round1(wallMs),
    tunnelsPerSecond: wallMs > 0 ? round1((ok.length * 1000) / wallMs) : 0,
    p50Ms: round1(percentile(lat, 50)),
    p95Ms: round1(percentile(lat, 95)),
    maxMs: round1(lat[lat.length - 1] ?? 0),
    cpuMs: round1((cpu.user + cpu.system) / 1000),
    failures: [...reasons].map(([why, n]) => `${n}x ${why}`),
  };
  return {
    result,
    close(): void {
      clearInterval(ticker);
      for (const r of runs) r.transport.close();
    },
  };
}
