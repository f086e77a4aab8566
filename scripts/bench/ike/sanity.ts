// The sanity row: strongSwan as the load generator against the strongSwan
// hub (no ike-loadgen). A spoke-side charon starts with the connections
// loaded but idle; reloading them with start_action = start initiates all
// at once. Completion is polled from the spoke charon every 100 ms, so
// tunnels/s is good to about 100 ms of wall time; no latency percentiles.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Charon } from '../../../test/lib/strongswan.ts';
import { sleep } from '../../../test/lib/wait.ts';
import { charonSpokesConf } from './charon-spokes.ts';
import { startHub, type HubSetup } from './hubs.ts';
import { sample } from './proc-stats.ts';
import type { Row } from './table.ts';

const installed = async (c: Charon): Promise<number> => ((await c.swanctl(['--list-sas'], 60_000)).stdout.match(/\bINSTALLED, TUNNEL/g) ?? []).length;

export async function measureSanityRow(s: HubSetup, spokeNs: string, timeoutS: number): Promise<Row> {
  const n = s.spokes.length;
  const row: Row = { hub: 'strongswan', loadgen: 'charon', version: s.version, group: s.group.name, spokes: n, load: null };
  let hub;
  let spokes: Charon | null = null;
  try {
    hub = await startHub('strongswan', s);
  } catch (e) {
    row.note = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160);
    return row;
  }
  try {
    const dir = path.join(s.dir, 'charon-spokes');
    spokes = await Charon.start(spokeNs, dir, charonSpokesConf(s.spokes, s.group, s.pfs, false, s.version), 0);
    if (spokes.pid === undefined) throw new Error('spoke charon has no pid');
    await sleep(1000);
    const before = sample(hub.pid);
    const gen0 = sample(spokes.pid);
    const conf = path.join(dir, 'swanctl.conf');
    writeFileSync(conf, charonSpokesConf(s.spokes, s.group, s.pfs, true, s.version), { mode: 0o600 });
    const t0 = performance.now();
    await spokes.swanctl(['--load-conns', '--file', conf]);
    let up = 0;
    while (performance.now() - t0 < timeoutS * 1000) {
      up = await installed(spokes);
      if (up >= n) break;
      await sleep(100);
    }
    const wallMs = performance.now() - t0;
    await sleep(1500);
    const after = sample(hub.pid);
    const gen1 = sample(spokes.pid);
    row.load = {
      spokes: n,
      established: up,
      failed: n - up,
      retransmits: Number.NaN,
      wallMs,
      tunnelsPerSecond: (up * 1000) / wallMs,
      p50Ms: Number.NaN,
      p95Ms: Number.NaN,
      maxMs: Number.NaN,
      cpuMs: gen1.cpuMs - gen0.cpuMs,
      failures: up < n ? [`${n - up}x not installed within ${timeoutS} s`] : [],
    };
    row.hubUp = await hub.tunnelsUp();
    const per = Math.max(1, up);
    row.rssPerTunnelKb = (after.rssKb - before.rssKb) / per;
    row.hubCpuMsPerTunnel = (after.cpuMs - before.cpuMs) / per;
    row.hwmMb = after.hwmKb / 1024;
    row.remarks = row.load.failures;
  } catch (e) {
    row.note = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 160);
  } finally {
    await spokes?.stop();
    await hub.stop();
  }
  return row;
}
