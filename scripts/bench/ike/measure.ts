// One row: start a hub, sample it, bring up every spoke's tunnel with the
// load generator (run in the spoke namespace), sample the hub again with all
// tunnels up, ask the hub how many it sees, stop both.

import { spawn } from 'node:child_process';
import type { LoadResult } from '../../../firmware/src/tools/loadgen/stats.ts';
import { sleep, waitForLine } from '../../../test/lib/wait.ts';
import { startHub, type HubKind, type HubSetup } from './hubs.ts';
import { HUB } from './plan.ts';
import { dumpProc, sample } from './proc-stats.ts';
import type { Row } from './table.ts';

export interface LoadgenSetup {
  ns: string;
  script: string;
  spokeFile: string;
  concurrency: number;
  timeoutS: number;
}

function runLoadgen(g: LoadgenSetup, s: HubSetup): { result: Promise<LoadResult>; stop: () => void; stderr: () => string } {
  const args = [
    'netns', 'exec', g.ns, process.execPath, g.script,
    '--spokes', g.spokeFile, '--hub', HUB.address, '--hub-id', HUB.id, '--hub-subnet', HUB.subnet,
    '--group', String(s.group.id), '--pfs', s.pfs ? String(s.group.id) : 'none',
    '--concurrency', String(g.concurrency), '--timeout', String(g.timeoutS), '--linger', '600', '--version', String(s.version),
  ];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const result = waitForLine(child.stdout, /^\{/, (g.timeoutS + 60) * 1000).then((l) => JSON.parse(l) as LoadResult);
  return { result, stop: () => child.kill('SIGTERM'), stderr: () => err.slice(-2000) };
}

function settleMs(): number {
  const v = process.env.BENCH_HUB_SETTLE_S;
  if (v === undefined || v === '') return 1500;
  const s = Number(v);
  if (!Number.isFinite(s) || s < 1.5 || s > 3600) throw new Error(`BENCH_HUB_SETTLE_S=${v}: seconds, 1.5 to 3600`);
  return s * 1000;
}

export async function measureRow(kind: HubKind, s: HubSetup, g: LoadgenSetup): Promise<Row> {
  const row: Row = { hub: kind, version: s.version, group: s.group.name, spokes: s.spokes.length, load: null };
  let hub;
  try {
    hub = await startHub(kind, s);
  } catch (e) {
    row.note = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160);
    return row;
  }
  const lg = { stop: (): void => undefined, stderr: (): string => '' };
  try {
    await sleep(1000);
    const before = sample(hub.pid);
    // The same dump at the baseline: the two files' mappings (V8's pages, malloc's
    // heap and arenas) side by side say where the RSS per tunnel went.
    if (process.env.BENCH_HUB_SMAPS) dumpProc(hub.pid, process.env.BENCH_HUB_SMAPS, `${kind}-v${s.version}-${s.group.name}-before`);
    // Opt-in (BENCH_HUB_HEAP=yes): the status requests are work of the hub's own that
    // its RSS would count (the control server's buffers, the status reply).
    const heapBefore = process.env.BENCH_HUB_HEAP === 'yes' ? await hub.heap?.() : undefined;
    const run = runLoadgen(g, s);
    lg.stop = run.stop;
    lg.stderr = run.stderr;
    const load = await run.result;
    // The hub installs on QM3, a moment after the spoke sent it. BENCH_HUB_SETTLE_S
    // samples later instead: after the daemon's first malloc trim (30 s) and V8's
    // memory reducer, RSS is the steady state's, not the start's garbage.
    await sleep(settleMs());
    const after = sample(hub.pid);
    if (process.env.BENCH_HUB_SMAPS) dumpProc(hub.pid, process.env.BENCH_HUB_SMAPS, `${kind}-v${s.version}-${s.group.name}`);
    row.load = load;
    row.hubUp = await hub.tunnelsUp();
    const n = Math.max(1, load.established);
    row.rssPerTunnelKb = (after.rssKb - before.rssKb) / n;
    row.hubCpuMsPerTunnel = (after.cpuMs - before.cpuMs) / n;
    row.hwmMb = after.hwmKb / 1024;
    row.rssMb = after.rssKb / 1024;
    row.remarks = [...load.failures, ...hub.remarks()];
    // How much of the RSS per tunnel is V8's heap (used, and committed with its garbage
    // and free pages) and how much is outside it (ESP engine SAs, malloc), at the same sample.
    const heapAfter = heapBefore ? await hub.heap?.() : undefined;
    if (heapBefore && heapAfter) {
      const kib = (b: number): string => (b / 1024 / n).toFixed(1);
      row.remarks.push(
        `V8 heap per tunnel at the sample: used ${kib(heapAfter.usedBytes - heapBefore.usedBytes)} KiB, ` +
          `committed ${kib(heapAfter.totalBytes - heapBefore.totalBytes)} KiB (of the RSS per tunnel)`,
      );
    }
  } catch (e) {
    row.note = `${(e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160)} ${lg.stderr().split('\n')[0] ?? ''}`.trim();
  } finally {
    lg.stop();
    await hub.stop();
  }
  return row;
}
