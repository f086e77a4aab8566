// In-process cost of the hub's IKE bookkeeping as the number of tunnels grows
// (issue 16: timer and peer lookups that scale). One hub IkeNode with N peers
// and N spoke IkeNodes exchange datagrams in memory on a fake clock (no
// sockets, no engine), so only the IKE core is measured: hub milliseconds per
// tunnel set up (first and last tenth of the spokes: a cost that grows with
// the SAs already there shows as a difference), and hub milliseconds per
// clock tick with every tunnel up and idle. ecp256, no PFS: DH stays cheap so
// the bookkeeping is visible. Not part of the test suite.
//
//   npm run bench:ike-hub -- [N ...]      (default 300 1000)

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { IkeNode } from '../../../firmware/src/ike/exchange/ike-node.ts';
import { spokePolicy, type HubTarget } from '../../../firmware/src/tools/loadgen/spoke-policy.ts';
import { hubPeers, InMemoryWire } from './in-memory-hub.ts';
import { HUB, spokePlan } from './plan.ts';

function measure(n: number): { setupFirst: number; setupLast: number; tick: number; up: number } {
  let t = 1_000_000;
  const env = { now: (): number => t, random: (k: number): Buffer => randomBytes(k), wallClock: (): Date => new Date() };
  const target: HubTarget = { address: HUB.address, id: HUB.id, subnet: HUB.subnet, group: 19, pfsGroup: null };
  const spokes = spokePlan(n);
  const hub = new IkeNode(env, hubPeers(spokes, target));
  const nodes = spokes.map((s) => new IkeNode(env, [spokePolicy(s, target)]));
  let hubMs = 0;
  const wire = new InMemoryWire(spokes, (p) => {
    if (p.to !== 'hub') return nodes[p.to]!.receive(p.data, p.from, p.port);
    const s = performance.now();
    const out = hub.receive(p.data, p.from, p.port);
    hubMs += performance.now() - s;
    return out;
  });
  const tenth = Math.max(1, Math.floor(n / 10));
  let firstMs = 0;
  let lastMs = 0;
  for (let i = 0; i < n; i++) {
    const before = hubMs;
    wire.route(nodes[i]!.initiate(spokes[i]!.id), i);
    wire.pump();
    // A hub tick per tunnel (the daemon ticks once a second; here about as often as tunnels come up).
    t += 50;
    const s = performance.now();
    wire.route(hub.tick(), 'hub');
    hubMs += performance.now() - s;
    wire.pump();
    if (i < tenth) firstMs += hubMs - before;
    if (i >= n - tenth) lastMs += hubMs - before;
  }
  const ticks = 200;
  const s = performance.now();
  for (let k = 0; k < ticks; k++) {
    t += 1000;
    wire.route(hub.tick(), 'hub');
  }
  const tick = (performance.now() - s) / ticks;
  wire.pump();
  return { setupFirst: firstMs / tenth, setupLast: lastMs / tenth, tick, up: wire.up };
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length > 0 ? sizes : [300, 1000]) {
  const r = measure(n);
  process.stdout.write(
    `${n} spokes: ${r.up} up; hub ms per tunnel set up: first tenth ${r.setupFirst.toFixed(2)}, last tenth ${r.setupLast.toFixed(2)}; ` +
      `hub ms per tick with all up: ${r.tick.toFixed(3)}\n`,
  );
}
