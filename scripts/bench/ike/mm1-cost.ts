// In-process cost of one MM1 on an IKEv1 responder (issue 10: under a spoofed
// MM1 flood the daemon must read faster than the flood comes). One responder
// IkeNode, one peer; the MM1 is a real initiator's (a spoke IkeNode), sent
// again and again with a fresh initiator cookie each time (what a spoofed
// flood looks like: an MM2 and a record per datagram), and each one also once
// more as a copy (what an initiator whose MM2 was lost sends: the answer comes
// from the record). Prints microseconds per MM1 of either kind and the bytes
// the records keep. Then the same number again within one instant: over the
// reply budget (common/reply-budget.ts) they are shed from the header alone,
// and the microseconds per shed MM1 are printed too. Not part of the test suite.
//
//   bash scripts/bench-mm1 [N]      (N MM1s per round, default 20000)

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { IkeNode } from '../../../firmware/src/ike/exchange/ike-node.ts';
import { spokePolicy, type HubTarget } from '../../../firmware/src/tools/loadgen/spoke-policy.ts';
import { hubPeers } from './in-memory-hub.ts';
import { HUB, spokePlan } from './plan.ts';

function measure(n: number): { fresh: number; repeat: number; shed: number; records: number; bytes: number } {
  let t = 1_000_000;
  const env = { now: (): number => t, random: (k: number): Buffer => randomBytes(k), wallClock: (): Date => new Date() };
  const target: HubTarget = { address: HUB.address, id: HUB.id, subnet: HUB.subnet, group: 19, pfsGroup: null };
  const spokes = spokePlan(1);
  const spoke = spokes[0]!;
  const hub = new IkeNode(env, hubPeers(spokes, target));
  const initiator = new IkeNode(env, [spokePolicy(spoke, target)]);
  const mm1 = initiator.initiate(spoke.id).find((a) => a.kind === 'send');
  if (mm1?.kind !== 'send') throw new Error('the spoke sent no MM1');
  const from = { address: spoke.address, port: 500 };
  const copies = Array.from({ length: n }, () => {
    const c = Buffer.from(mm1.data);
    randomBytes(8).copy(c, 0);
    return c;
  });
  let freshMs = 0;
  let repeatMs = 0;
  let answered = 0;
  for (let i = 0; i < n; i++) {
    // 50 ms apart: the per-source budget for repeated answers (20/s) answers every copy
    // (no tick runs, so the records do not expire meanwhile).
    t += 50;
    let s = performance.now();
    const a = hub.receive(copies[i]!, from, 500);
    freshMs += performance.now() - s;
    s = performance.now();
    const b = hub.receive(copies[i]!, from, 500);
    repeatMs += performance.now() - s;
    answered += a.filter((x) => x.kind === 'send').length + b.filter((x) => x.kind === 'send').length;
  }
  if (answered !== 2 * n) throw new Error(`${answered} MM2s for ${2 * n} MM1s`);
  const sizes = hub.indexSizes();
  // A flood: n fresh MM1s in one instant; past the budget's burst each one is shed.
  const flood = copies.map((c) => {
    const f = Buffer.from(c);
    randomBytes(8).copy(f, 0);
    return f;
  });
  const refused = hub.counters.halfOpenRefused;
  const s = performance.now();
  for (const f of flood) hub.receive(f, from, 500);
  const shedMs = performance.now() - s;
  const shed = hub.counters.halfOpenRefused - refused;
  if (shed < n / 2) throw new Error(`only ${shed} of ${n} flooded MM1s were shed`);
  return {
    fresh: (freshMs * 1000) / n,
    repeat: (repeatMs * 1000) / n,
    shed: (shedMs * 1000) / n,
    records: sizes.answeredMm1s,
    bytes: sizes.answeredMm1Bytes,
  };
}

const n = Number(process.argv[2] ?? 20_000);
measure(Math.min(n, 2000)); // warm-up (JIT)
for (let round = 0; round < 3; round++) {
  const r = measure(n);
  console.log(
    `${n} MM1s: ${r.fresh.toFixed(1)} us per fresh MM1 (MM2 + record), ${r.repeat.toFixed(1)} us per copy (MM2 again); ` +
      `${r.shed.toFixed(1)} us per MM1 of a flood (shed over the budget); ${r.records} records, ${(r.bytes / r.records).toFixed(0)} bytes each`,
  );
}
