// JavaScript heap per tunnel of the hub's IKE core (issue 10: memory per tunnel),
// IKEv1 and IKEv2: one hub node with N peers and N spoke nodes exchange datagrams
// in memory on a fake clock (as hub-timers.ts), then the spokes are dropped, the
// clock runs past every finished exchange's linger time and the collector runs, so
// what is left is the hub's steady state with N tunnels up. Bytes per tunnel =
// (heap with N tunnels up - heap of the same hub before any tunnel) / N, for the JS
// heap and for Buffer backing stores (outside V8's heap, in RSS). With a path
// as the last argument a heap snapshot of that state is written there.
// Needs --expose-gc. Not part of the test suite.
//
// BENCH_DPD_MINUTES=M adds a long-run figure: with DPD every 30 s on both ends,
// the clock runs M minutes with every tunnel idle (so DPD is all that happens),
// and the heap growth per tunnel over those minutes is printed, hub and spoke
// nodes together (what an SA gathers over its life that a fresh one lacks: the
// IKEv1 informational replay set once grew ~12 KB per SA in two hours of DPD).
//
//   node --expose-gc hub-memory.mjs [N] [snapshot-prefix]   (env BENCH_VERSIONS=1,2, BENCH_DPD_MINUTES)

import { randomBytes } from 'node:crypto';
import { writeHeapSnapshot } from 'node:v8';
import { IkeNodes } from '../../../firmware/src/ike/ike-nodes.ts';
import { spokePolicy, type HubTarget } from '../../../firmware/src/tools/loadgen/spoke-policy.ts';
import { hubPeers, InMemoryWire } from './in-memory-hub.ts';
import { HUB, spokePlan } from './plan.ts';

const gc = (globalThis as { gc?: () => void }).gc;

/** JS heap and ArrayBuffer backing stores (Buffers: keys, cached datagrams, and any 8 KB pool slab a small slice pins). */
function heapUsed(): { heap: number; buffers: number } {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

interface PerTunnel {
  heap: number;
  buffers: number;
}

function measure(n: number, version: 1 | 2, group: number, snapshot: string | undefined): PerTunnel & { up: number; fresh: PerTunnel } {
  let t = 1_000_000;
  const env = { now: (): number => t, random: (k: number): Buffer => randomBytes(k), wallClock: (): Date => new Date(t) };
  const target: HubTarget = { address: HUB.address, id: HUB.id, subnet: HUB.subnet, group, pfsGroup: version === 1 ? group : null, version };
  const spokes = spokePlan(n);
  const hub = new IkeNodes(env, hubPeers(spokes, target));
  const base = heapUsed();
  let nodes: IkeNodes[] | null = spokes.map((s) => new IkeNodes(env, [spokePolicy(s, target)]));
  const wire = new InMemoryWire(spokes, (p) => {
    if (p.to === 'hub') return hub.receive(p.data, p.from, p.port);
    return nodes ? nodes[p.to]!.receive(p.data, p.from, p.port) : [];
  });
  for (let i = 0; i < n; i++) {
    wire.route(nodes[i]!.initiate(spokes[i]!.id), i);
    wire.pump();
    t += 20;
    wire.route(hub.tick(), 'hub');
    wire.pump();
  }
  // Right after the last tunnel (what bench:ike's RSS sample sees, 1.5 s later):
  // finished exchanges still linger for duplicates.
  nodes = null;
  wire.queue.length = 0;
  t += 1500;
  hub.tick();
  const fresh = heapUsed();
  if (snapshot) writeHeapSnapshot(`${snapshot}-v${version}-${n}-fresh.heapsnapshot`);
  // Steady state: spokes gone (their datagrams too), finished exchanges past their linger.
  for (let k = 0; k < 40; k++) {
    t += 1000;
    hub.tick();
  }
  wire.queue.length = 0;
  const after = heapUsed();
  if (snapshot) writeHeapSnapshot(`${snapshot}-v${version}-${n}.heapsnapshot`);
  if (hub.status().length === 0) throw new Error('the hub has no SAs');
  const per = Math.max(1, wire.up);
  return {
    heap: (after.heap - base.heap) / per,
    buffers: (after.buffers - base.buffers) / per,
    up: wire.up,
    fresh: { heap: (fresh.heap - base.heap) / per, buffers: (fresh.buffers - base.buffers) / per },
  };
}

/** Heap growth per tunnel over `minutes` of DPD (every 30 s, both ends), hub and spokes together. */
function dpdDrift(n: number, version: 1 | 2, group: number, minutes: number): PerTunnel & { up: number; dpd: number } {
  let t = 1_000_000;
  const env = { now: (): number => t, random: (k: number): Buffer => randomBytes(k), wallClock: (): Date => new Date(t) };
  const target: HubTarget = { address: HUB.address, id: HUB.id, subnet: HUB.subnet, group, pfsGroup: version === 1 ? group : null, version };
  const dpd = { delaySeconds: 30, timeoutSeconds: 150, action: 'restart' as const };
  const spokes = spokePlan(n);
  const hub = new IkeNodes(env, hubPeers(spokes, target).map((p) => ({ ...p, dpd })));
  const nodes = spokes.map((s) => new IkeNodes(env, [{ ...spokePolicy(s, target), dpd }]));
  let sent = 0;
  const wire = new InMemoryWire(spokes, (p) => {
    sent++;
    return p.to === 'hub' ? hub.receive(p.data, p.from, p.port) : nodes[p.to]!.receive(p.data, p.from, p.port);
  });
  const tickAll = (): void => {
    wire.route(hub.tick(), 'hub');
    for (let i = 0; i < n; i++) wire.route(nodes[i]!.tick(), i);
    wire.pump();
  };
  for (let i = 0; i < n; i++) {
    wire.route(nodes[i]!.initiate(spokes[i]!.id), i);
    wire.pump();
  }
  // Past the finished exchanges' linger time, then the reference point.
  for (let k = 0; k < 40; k++) {
    t += 1000;
    tickAll();
  }
  const start = heapUsed();
  const before = sent;
  for (let k = 0; k < minutes * 12; k++) {
    t += 5000;
    tickAll();
  }
  const end = heapUsed();
  if (hub.status().length === 0) throw new Error('the hub has no SAs');
  const per = Math.max(1, wire.up);
  return { heap: (end.heap - start.heap) / per, buffers: (end.buffers - start.buffers) / per, up: wire.up, dpd: (sent - before) / per };
}

if (!gc) {
  process.stderr.write('hub-memory: run with node --expose-gc\n');
  process.exit(2);
}
const n = Number(process.argv[2] ?? 300);
const snapshot = process.argv[3];
// BENCH_VERSIONS as for bench:ike (1,2 by default).
const versions = (process.env.BENCH_VERSIONS ?? '1,2').split(',').map(Number).filter((v): v is 1 | 2 => v === 1 || v === 2);
const kib = (b: number): string => (b / 1024).toFixed(1);
for (const version of versions) {
  const r = measure(n, version, 14, snapshot);
  process.stdout.write(
    `IKEv${version}, ${n} spokes (modp2048${version === 1 ? ', PFS' : ''}): ${r.up} up; per tunnel: hub JS heap ${kib(r.heap)} KiB, ` +
      `Buffer backing stores ${kib(r.buffers)} KiB (1.5 s after the last tunnel, finished exchanges lingering: ` +
      `${kib(r.fresh.heap)} + ${kib(r.fresh.buffers)} KiB)\n`,
  );
  const minutes = Number(process.env.BENCH_DPD_MINUTES ?? 0);
  if (minutes > 0) {
    const d = dpdDrift(n, version, 14, minutes);
    process.stdout.write(
      `IKEv${version}, ${n} tunnels idle for ${minutes} min with DPD every 30 s (${d.dpd.toFixed(0)} datagrams per tunnel): ` +
        `heap growth per tunnel, hub and spoke nodes together: JS heap ${kib(d.heap)} KiB, Buffer backing stores ${kib(d.buffers)} KiB\n`,
    );
  }
}
