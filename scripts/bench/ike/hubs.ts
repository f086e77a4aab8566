// The two hubs under test, started in the hub namespace with the same
// policy: strongSwan charon (launcher: test/lib/strongswan.ts) and sitelinkd
// (launcher: test/netns/ike-sitelinkd.ts). Each reports its pid (for /proc
// samples) and how many spokes it sees with an IPsec SA pair up.

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { controlRequest } from '../../../firmware/src/control/client.ts';
import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';
import { Charon, CHARON } from '../../../test/lib/strongswan.ts';
import { Sitelinkd, sitelinkdPath } from '../../../test/netns/ike-sitelinkd.ts';
import { charonHubConf } from './charon-hub.ts';
import type { GroupSpec } from './plan.ts';
import { pidInNs } from './proc-stats.ts';
import { writeSitelinkdHub } from './sitelinkd-hub.ts';

export type HubKind = 'strongswan' | 'sitelinkd';

export interface RunningHub {
  pid: number;
  /** Spokes with an installed IPsec SA pair, as the hub reports them. */
  tunnelsUp(): Promise<number>;
  /** Hub-side remarks worth a line under the table (e.g. refused half-open main modes). */
  remarks(): string[];
  /** The hub's own V8 heap figures (sitelinkd's status), to split its RSS per tunnel. */
  heap?(): Promise<{ usedBytes: number; totalBytes: number } | undefined>;
  stop(): Promise<void>;
}

export interface HubSetup {
  ns: string;
  dir: string;
  spokes: readonly Spoke[];
  group: GroupSpec;
  pfs: boolean;
  /** IKE version of every connection (hub and spokes). */
  version: 1 | 2;
}

async function startCharon(s: HubSetup): Promise<RunningHub> {
  if (!existsSync(CHARON)) throw new Error(`${CHARON} is not installed`);
  // Log level 0 (control messages only): logging must not dominate the measurement.
  const c = await Charon.start(s.ns, path.join(s.dir, 'charon'), charonHubConf(s.spokes, s.group, s.pfs, s.version), process.env.BENCH_DEBUG ? 2 : 0);
  if (c.pid === undefined) throw new Error('charon has no pid');
  return {
    pid: c.pid,
    async tunnelsUp() {
      // One "INSTALLED, TUNNEL..." line per IPsec SA pair.
      const r = await c.swanctl(['--list-sas'], 120_000);
      if (process.env.BENCH_DEBUG) process.stderr.write(`swanctl: ${r.code} ${r.stdout.slice(0, 1500)} ${r.stderr}\n${c.log().slice(-6000)}\n`);
      return (r.stdout.match(/\bINSTALLED, TUNNEL/g) ?? []).length;
    },
    remarks: () => [],
    stop: () => c.stop(),
  };
}

async function startSitelinkd(s: HubSetup): Promise<RunningHub> {
  if (!existsSync(sitelinkdPath)) throw new Error(`${sitelinkdPath} is not built (npm run build)`);
  const dir = path.join(s.dir, 'sitelinkd');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = writeSitelinkdHub(dir, s.spokes, s.group, s.pfs, s.version);
  // Loading 1,000 peers takes a while on a loaded machine.
  const d = await Sitelinkd.start(s.ns, files, 180_000);
  const pid = pidInNs(s.ns, 'sitelinkd.cjs');
  if (pid === null) {
    await d.stop();
    throw new Error('sitelinkd started but its pid was not found');
  }
  return {
    pid,
    async tunnelsUp() {
      const st = await controlRequest(files.socket, 'status', {}, 30_000);
      return st.peers.filter((p) => p.state === 'up').length;
    },
    async heap() {
      const st = await controlRequest(files.socket, 'status', {}, 30_000);
      return st.process ? { usedBytes: st.process.heapUsedBytes, totalBytes: st.process.heapTotalBytes } : undefined;
    },
    remarks() {
      // ike-node.ts drops MM1s beyond HALF_OPEN_MAX half-open main modes (logged at warning).
      const refused = (d.logText().match(/half-open main modes/g) ?? []).length;
      return refused > 0 ? [`${refused} MM1 dropped by the half-open limit (spokes retransmit after 2 s)`] : [];
    },
    stop: () => d.stop(),
  };
}

export function startHub(kind: HubKind, s: HubSetup): Promise<RunningHub> {
  return kind === 'strongswan' ? startCharon(s) : startSitelinkd(s);
}
