// IKEv1 rekeys in random interleavings between two in-memory nodes: kilobyte soft limits
// (outbound or inbound, on one side or on both at once), operator rekeys, pauses of
// random length, with session key refresh limits 0-3 on each side, then an hour of
// lifetimes in seconds (pairs 600 s, ISAKMP SAs 1200 s). At every step each side must
// send on a pair the other side can receive (the engine model), nothing may fail, and
// both sides must end with the same pairs, at most two. The fixed sequences of
// ike-exchange-lifecycle.test.ts cover the collisions found so far; this walks the
// orders nobody thought of. The seeds are fixed, so the suite always walks the same
// orders (and a failure replays as it is); IKE_INTERLEAVING_SEED=<word> walks others.
//
// With a session key refresh limit (quick-mode-limit 1-3) on either side, some orders
// still leave a side sending on a pair the other deleted, or a quick mode unanswered
// under an ISAKMP SA the peer has just replaced: those runs are marked todo (found on
// 2026-12-06, not fixed yet). Without the limit (the default) every order passes.
import t from 'tap';
import { seededRandom } from '../lib/seeded-random.ts';
import { Harness } from './ike-exchange-harness.ts';
import { EngineModel } from './ike-engine-model.ts';

const RUNS = 24;
const STEPS = 40;
const methods = [{ esp: 'aes128gcm16' as const, lifetimeSeconds: 600, lifetimeKilobytes: 100000 }];

type Side = 'A' | 'B';

const SEED = process.env['IKE_INTERLEAVING_SEED'] ?? 'interleavings';

for (let run = 0; run < RUNS + 15; run++) {
  // RUNS orders without a limit, then one for each other pair of limits 0-3. The steps
  // come from a generator of their own, so that the nodes' draws stay as they are.
  const combo = Math.max(0, run - RUNS + 1);
  const limits = { A: combo % 4, B: Math.floor(combo / 4) };
  // Run all the same: each check is made and reported, a failing one as "not ok # TODO".
  const known = limits.A > 0 || limits.B > 0 ? { todo: 'with a refresh limit some orders still lose traffic (top of the file)' } : {};
  t.test(`interleaving ${run} (quick-mode-limit A ${limits.A}, B ${limits.B})`, async (t) => {
    const h = new Harness({
      seed: `${SEED}/${run}`,
      peerA: { quickModeLimit: limits.A, ikeLifetimeSeconds: 1200 },
      peerB: { quickModeLimit: limits.B, ikeLifetimeSeconds: 1200 },
      tunnelA: { methods },
      tunnelB: { methods },
    });
    const draw = seededRandom(`${h.seed}/steps`);
    const pick = (n: number): number => draw(4).readUInt32BE(0) % n;
    h.bringUp();
    const engine = new EngineModel(h);
    engine.gaps(); // the bring-up: nothing to send on until the first pair is in
    const gaps: string[] = [];
    const node = (s: Side): Harness['a'] => (s === 'A' ? h.a : h.b);
    const trace: string[] = [];
    /** A soft limit on one of `s`'s SAs: the one it sends on, or an inbound one. */
    const soft = (s: Side): void => {
      const pairs = node(s).status().flatMap((x) => x.children);
      const inbound = pick(2) === 0 && pairs.length > 0;
      const spi = inbound ? pairs[pick(pairs.length)]!.inSpi : engine.sending(s);
      if (spi === undefined) return;
      trace.push(`${s} soft ${inbound ? 'in' : 'out'} ${spi.toString(16)}`);
      h.apply(s, node(s).saLimit(spi, inbound ? 'in' : 'out', false));
    };
    for (let step = 0; step < STEPS; step++) {
      const what = pick(6);
      if (what === 0) soft('A');
      else if (what === 1) soft('B');
      else if (what <= 3) {
        // Symmetric traffic: both sides reach their soft limits at the same instant.
        soft('A');
        soft('B');
      } else if (what === 4) {
        const s: Side = pick(2) === 0 ? 'A' : 'B';
        trace.push(`${s} rekey`);
        h.apply(s, node(s).rekey(s === 'A' ? 'gwB' : 'gwA'));
      } else {
        const ms = 100 * pick(80);
        trace.push(`wait ${ms} ms`);
        h.advance(ms);
      }
      h.pump();
      gaps.push(...engine.gaps().map((g) => `${g} (after ${trace.at(-1) ?? 'the start'})`));
      h.advance(pick(4) * 500);
      gaps.push(...engine.gaps());
    }
    for (let i = 0; i < 360; i++) {
      h.advance(10_000);
      gaps.push(...engine.gaps());
    }
    const pairs = h.a.status().flatMap((s) => s.children);
    const mirrored = h.b.status().flatMap((s) => s.children);
    const context = `limits A ${limits.A} B ${limits.B}; steps: ${trace.join(', ')}`;
    t.same(gaps.slice(0, 3), [], `each side always sends on a pair the other can receive (${context})`, known);
    t.same(h.failed, { A: [], B: [] }, 'no negotiation failed', known);
    t.ok(pairs.length > 0 && pairs.length <= 2, `one pair, or two from a last collision: ${pairs.length}`, known);
    t.ok(
      pairs.length === mirrored.length && pairs.every((c) => mirrored.some((x) => x.inSpi === c.outSpi && x.outSpi === c.inSpi)),
      'both sides hold the same pairs',
      known,
    );
    t.same(h.a.timerIndexErrors(), [], 'timer index of A', known);
    t.same(h.b.timerIndexErrors(), [], 'timer index of B', known);
  });
}
