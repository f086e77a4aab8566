// Random orders of rekeys between two in-memory nodes (IKEv1 or IKEv2): kilobyte soft
// limits (outbound or inbound, on one side or on both at once), operator rekeys and
// pauses of random length, then an hour of lifetimes in seconds, with each side's ESP
// engine replayed after every step (ike-engine-model.ts). The steps come from a
// generator of their own, seeded apart from the nodes' draws.
import type { Test } from 'tap';
import type { Action } from '../../firmware/src/ike/exchange/types.ts';
import { seededRandom } from '../lib/seeded-random.ts';
import type { Harness } from './ike-exchange-harness.ts';
import { EngineModel, samePairs, type PairHolder } from './ike-engine-model.ts';

/** What the walk drives on a node beyond the harness's calls. */
export interface RekeyingNode extends PairHolder {
  saLimit(spi: number, direction: 'in' | 'out', hard: boolean): Action[];
}

/** The walks' child SA proposal: lifetimes short enough for an hour to rekey often. */
export const WALK_METHODS = [{ esp: 'aes128gcm16' as const, lifetimeSeconds: 600, lifetimeKilobytes: 100000 }];
/** Steps per walk. */
export const WALK_STEPS = 40;
/** The fixed seed the suite walks; IKE_INTERLEAVING_SEED=<word> walks others. */
export const WALK_SEED = process.env['IKE_INTERLEAVING_SEED'] ?? 'interleavings';

export type Side = 'A' | 'B';

/** An operator's rekey on side `s`: its name for the trace, and the node's actions. */
export type Rekey = (s: Side) => { name: string; actions: Action[] };

export interface Walk {
  /** Steps after which a side sends on an SA the other cannot receive. */
  gaps: string[];
  /** What was done, in order (soft limits with the SPI, rekeys, waits). */
  trace: string[];
}

export function walkRekeys<N extends RekeyingNode>(h: Harness<N>, seed: string, steps: number, rekeys: Rekey[]): Walk {
  const draw = seededRandom(`${seed}/steps`);
  const pick = (n: number): number => draw(4).readUInt32BE(0) % n;
  h.bringUp();
  const engine = new EngineModel(h);
  engine.gaps(); // the bring-up: nothing to send on until the first pair is in
  const gaps: string[] = [];
  const trace: string[] = [];
  const node = (s: Side): RekeyingNode => (s === 'A' ? h.a : h.b);
  /** A soft limit on one of `s`'s SAs: the one it sends on, or an inbound one. */
  const soft = (s: Side): void => {
    const pairs = node(s)
      .status()
      .flatMap((x) => x.children);
    const inbound = pick(2) === 0 && pairs.length > 0;
    const spi = inbound ? pairs[pick(pairs.length)]!.inSpi : engine.sending(s);
    if (spi === undefined) return;
    trace.push(`${s} soft ${inbound ? 'in' : 'out'} ${spi.toString(16)}`);
    h.apply(s, node(s).saLimit(spi, inbound ? 'in' : 'out', false));
  };
  for (let step = 0; step < steps; step++) {
    const what = pick(6);
    if (what === 0) soft('A');
    else if (what === 1) soft('B');
    else if (what <= 3) {
      // Symmetric traffic: both sides reach their soft limits at the same instant.
      soft('A');
      soft('B');
    } else if (what === 4) {
      const s: Side = pick(2) === 0 ? 'A' : 'B';
      const r = rekeys[pick(rekeys.length)]!(s);
      trace.push(`${s} ${r.name}`);
      h.apply(s, r.actions);
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
  gaps.push(...engine.advance(360, 10_000));
  return { gaps, trace };
}

/** The checks after a walk. */
export function checkWalk<N extends RekeyingNode>(t: Test, h: Harness<N>, w: Walk, context: string): void {
  const pairs = h.a.status().flatMap((s) => s.children);
  t.same(w.gaps.slice(0, 3), [], `each side always sends on a pair the other can receive (${context}; steps: ${w.trace.join(', ')})`);
  t.same(h.failed, { A: [], B: [] }, 'no negotiation failed');
  t.ok(pairs.length > 0 && pairs.length <= 2, `one pair, or two from a last collision: ${pairs.length}`);
  t.ok(samePairs(h), 'both sides hold the same pairs');
}
