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
import type { DpdPolicy } from '../../../firmware/src/ike/exchange/types.ts';
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

/** One hub node with n peers and n spoke nodes on a fake clock, exchanging datagrams in
 * memory. The spokes are made by `connect`, after the hub, so a heap sample taken between
 * the two is the hub alone; `dropSpokes` lets them go with their datagrams. */
class HubLab {
  t = 1_000_000;
  /** Datagrams delivered so far, either way. */
  sent = 0;
  readonly hub: IkeNodes;
  readonly wire: InMemoryWire;
  #nodes: IkeNodes[] | null = null;
  readonly #spokes: ReturnType<typeof spokePlan>;
  readonly #target: HubTarget;
  readonly #dpd: DpdPolicy | null;
  readonly #env = { now: (): number => this.t, random: (k: number): Buffer => randomBytes(k), wallClock: (): Date => new Date(this.t) };

  constructor(n: number, version: 1 | 2, group: number, dpd: DpdPolicy | null) {
    this.#target = { address: HUB.address, id: HUB.id, subnet: HUB.subnet, group, pfsGroup: version === 1 ? group : null, version };
    this.#spokes = spokePlan(n);
    this.#dpd = dpd;
    this.hub = new IkeNodes(this.#env, hubPeers(this.#spokes, this.#target).map((p) => ({ ...p, dpd })));
    this.wire = new InMemoryWire(this.#spokes, (p) => {
      this.sent++;
      if (p.to === 'hub') return this.hub.receive(p.data, p.from, p.port);
      return this.#nodes ? this.#nodes[p.to]!.receive(p.data, p.from, p.port) : [];
    });
  }

  /** Makes the spokes and brings each one's tunnel up, one after the other. */
  connect(): void {
    const nodes = (this.#nodes = this.#spokes.map((s) => new IkeNodes(this.#env, [{ ...spokePolicy(s, this.#target), dpd: this.#dpd }])));
    for (let i = 0; i < nodes.length; i++) {
      this.wire.route(nodes[i]!.initiate(this.#spokes[i]!.id), i);
      this.wire.pump();
      this.t += 20;
      this.wire.route(this.hub.tick(), 'hub');
      this.wire.pump();
    }
  }

  dropSpokes(): void {
    this.#nodes = null;
    this.wire.queue.length = 0;
  }

  /** Advances the clock by `ms` and runs every node's timers, delivering what they send. */
  tick(ms: number): void {
    this.t += ms;
    this.wire.route(this.hub.tick(), 'hub');
    this.#nodes?.forEach((node, i) => this.wire.route(node.tick(), i));
    this.wire.pump();
  }
}

function measure(n: number, version: 1 | 2, group: number, snapshot: string | undefined): PerTunnel & { up: number; fresh: PerTunnel } {
  const lab = new HubLab(n, version, group, null);
  const base = heapUsed();
  lab.connect();
  // Right after the last tunnel (what bench:ike's RSS sample sees, 1.5 s later):
  // finished exchanges still linger for duplicates.
  lab.dropSpokes();
  lab.t += 1500;
  lab.hub.tick();
  const fresh = heapUsed();
  if (snapshot) writeHeapSnapshot(`${snapshot}-v${version}-${n}-fresh.heapsnapshot`);
  // Steady state: spokes gone (their datagrams too), finished exchanges past their linger.
  for (let k = 0; k < 40; k++) {
    lab.t += 1000;
    lab.hub.tick();
  }
  lab.wire.queue.length = 0;
  const after = heapUsed();
  if (snapshot) writeHeapSnapshot(`${snapshot}-v${version}-${n}.heapsnapshot`);
  if (lab.hub.status().length === 0) throw new Error('the hub has no SAs');
  const per = Math.max(1, lab.wire.up);
  return {
    heap: (after.heap - base.heap) / per,
    buffers: (after.buffers - base.buffers) / per,
    up: lab.wire.up,
    fresh: { heap: (fresh.heap - base.heap) / per, buffers: (fresh.buffers - base.buffers) / per },
  };
}

/** Heap growth per tunnel over `minutes` of DPD (every 30 s, both ends), hub and spokes together. */
function dpdDrift(n: number, version: 1 | 2, group: number, minutes: number): PerTunnel & { up: number; dpd: number } {
  const lab = new HubLab(n, version, group, { delaySeconds: 30, timeoutSeconds: 150, action: 'restart' });
  lab.connect();
  // Past the finished exchanges' linger time, then the reference point.
  for (let k = 0; k < 40; k++) lab.tick(1000);
  const start = heapUsed();
  const before = lab.sent;
  for (let k = 0; k < minutes * 12; k++) lab.tick(5000);
  const end = heapUsed();
  if (lab.hub.status().length === 0) throw new Error('the hub has no SAs');
  const per = Math.max(1, lab.wire.up);
  return { heap: (end.heap - start.heap) / per, buffers: (end.buffers - start.buffers) / per, up: lab.wire.up, dpd: (lab.sent - before) / per };
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
