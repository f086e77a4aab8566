// bench-ike orchestrator (started by scripts/bench-ike, which bundles this
// file and the load generator): namespaces, spoke plan, one row per IKE version,
// DH group and hub, the table. Env: BENCH_SPOKES (100), BENCH_VERSIONS (1,2: IKEv1
// main mode + quick mode, IKEv2 IKE_SA_INIT + IKE_AUTH), BENCH_GROUPS (modp2048,ecp256),
// BENCH_HUBS (strongswan,sitelinkd), BENCH_PFS (yes), BENCH_CONCURRENCY (32),
// BENCH_TIMEOUT (seconds per row, 120), BENCH_ROUNDS (3, median shown),
// BENCH_SANITY (yes: also strongSwan spokes against the strongSwan hub),
// BENCH_DEBUG (charon log level 2 and its log tail on stderr).
// BENCH_LOADGEN, BENCH_PREFIX and BENCH_WORKDIR are set by the bash entry.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HubKind } from './hubs.ts';
import { measureRow } from './measure.ts';
import { GROUPS, spokePlan, writeSpokeFile, type GroupSpec } from './plan.ts';
import { medianRow } from './rounds.ts';
import { measureSanityRow } from './sanity.ts';
import { renderTable, type Row } from './table.ts';
import { Topology } from './topology.ts';

function intEnv(name: string, dflt: number): number {
  const v = process.env[name];
  const n = v === undefined || v === '' ? dflt : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

function listEnv<T>(name: string, dflt: string, pick: (s: string) => T | undefined): T[] {
  return (process.env[name] || dflt).split(',').map((s) => {
    const v = pick(s.trim());
    if (v === undefined) throw new Error(`${name}: unknown "${s}"`);
    return v;
  });
}

async function main(): Promise<void> {
  const spokesN = intEnv('BENCH_SPOKES', 100);
  const groups = listEnv<GroupSpec>('BENCH_GROUPS', 'modp2048,ecp256', (s) => GROUPS[s]);
  const versions = listEnv<1 | 2>('BENCH_VERSIONS', '1,2', (s) => (s === '1' ? 1 : s === '2' ? 2 : undefined));
  const hubs = listEnv<HubKind>('BENCH_HUBS', 'strongswan,sitelinkd', (s) => (s === 'strongswan' || s === 'sitelinkd' ? s : undefined));
  const pfs = (process.env.BENCH_PFS ?? 'yes') !== 'no';
  const concurrency = intEnv('BENCH_CONCURRENCY', 32);
  const timeoutS = intEnv('BENCH_TIMEOUT', 120);
  const rounds = intEnv('BENCH_ROUNDS', 3);
  const sanity = (process.env.BENCH_SANITY ?? 'yes') !== 'no' && hubs.includes('strongswan');
  const script = process.env.BENCH_LOADGEN;
  if (!script) throw new Error('BENCH_LOADGEN (the bundled load generator) is not set: run scripts/bench-ike');
  const topo = new Topology(process.env.BENCH_PREFIX ?? `slike${process.pid}`);
  // Private work dir (PSKs, configs); the bash entry passes one it removes even on ^C.
  const dir = mkdtempSync(path.join(process.env.BENCH_WORKDIR ?? tmpdir(), 'sl-bench-ike-'));
  const rows: Row[] = [];
  try {
    const spokes = spokePlan(spokesN);
    const spokeFile = path.join(dir, 'spokes.txt');
    writeSpokeFile(spokeFile, spokes);
    await topo.up(spokes, dir);
    process.stderr.write(
      `bench-ike: ${spokesN} spokes, concurrency ${concurrency}, PFS ${pfs ? 'on' : 'off'}, groups ${groups.map((g) => g.name).join(',')}, ` +
        `IKE versions ${versions.join(',')}\n`,
    );
    for (const [version, group] of versions.flatMap((v) => groups.map((g) => [v, g] as const))) {
      const setup = { ns: topo.hubNs, dir, spokes, group, pfs, version };
      const what = `v${version} / ${group.name}`;
      // Rounds interleave the hubs, so a slow spell of the machine hits all of them.
      const byHub = new Map<string, Row[]>();
      const keep = (key: string, r: Row): void => {
        byHub.set(key, [...(byHub.get(key) ?? []), r]);
      };
      for (let round = 1; round <= rounds; round++) {
        for (const hub of hubs) {
          process.stderr.write(`bench-ike: ${hub} / ${what}, round ${round}/${rounds} ...\n`);
          keep(hub, await measureRow(hub, setup, { ns: topo.spokeNs, script, spokeFile, concurrency, timeoutS }));
        }
        if (sanity) {
          process.stderr.write(`bench-ike: strongswan / ${what} with strongSwan spokes (sanity), round ${round}/${rounds} ...\n`);
          keep('sanity', await measureSanityRow(setup, topo.spokeNs, timeoutS));
        }
      }
      for (const rs of byHub.values()) rows.push(medianRow(rs));
    }
  } finally {
    await topo.down();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\nIKEv1 main mode + quick mode / IKEv2 IKE_SA_INIT + IKE_AUTH (PSK, aes128-sha256 / ESP aes128gcm16` +
      `${pfs ? ', IKEv1 quick mode PFS same group' : ''}), one hub, ` +
      `${spokesN} spokes, ${concurrency} negotiations in flight, same load generator (ike-loadgen) for every hub\n\n`,
  );
  process.stdout.write(`${renderTable(rows)}\n\n`);
  process.stdout.write(
    'tunnels/s: established tunnels / wall time from the first MM1 (IKE_SA_INIT) to the last QM3 sent (IKE_AUTH response received); ' +
      `${rounds > 1 ? `median of ${rounds} rounds (range)` : 'one round'}. p50/p95: per tunnel MM1 -> QM3 (IKE_SA_INIT -> IKE_AUTH).\n`,
  );
  process.stdout.write(
    'RSS/tunnel: hub VmRSS with all tunnels up minus VmRSS after config load, per tunnel. hub CPU: utime+stime of the hub per tunnel.\n',
  );
  process.stdout.write('Load generator and hub share the same 2 cores; "hub sees up" is the hub\'s own count of spokes with an IPsec SA pair.\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench-ike: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
