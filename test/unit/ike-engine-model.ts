// What two gateways' ESP engines hold, replayed from the install and delete actions of
// an exchange harness: finds the moments one side sends on an SA the other cannot
// receive (lost traffic) in tests of rekeys and collisions.
import type { Harness, NodeLike } from './ike-exchange-harness.ts';

/** A node whose status lists the IPsec SA pairs it holds (IKEv1 and IKEv2 alike). */
export interface PairHolder extends NodeLike {
  status(): { children: { inSpi: number; outSpi: number }[] }[];
}

/** Both sides hold pairs, and every pair A holds is mirrored at B (its SPIs swapped). */
export function samePairs<N extends PairHolder>(h: Harness<N>): boolean {
  const a = h.a.status().flatMap((s) => s.children);
  const b = h.b.status().flatMap((s) => s.children);
  return a.length > 0 && a.length === b.length && a.every((c) => b.some((x) => x.inSpi === c.outSpi && x.outSpi === c.inSpi));
}

/**
 * What each side's engine holds, replayed from the install/delete actions in the order
 * the nodes emitted them: inbound SPIs, and outbound SPIs in install order (the engine
 * sends on the newest of equally specific SAs, native/src/sadb.h). `gaps()` replays the
 * steps since the last call and returns those after which a side would send on an SA
 * the other side cannot receive (or has nothing to send on): lost traffic.
 */
export class EngineModel {
  readonly in = { A: new Set<number>(), B: new Set<number>() };
  readonly out: { A: number[]; B: number[] } = { A: [], B: [] };
  #seen = 0;
  constructor(readonly h: Harness<NodeLike>) {}
  sending(side: 'A' | 'B'): number | undefined {
    return this.out[side].at(-1);
  }
  /** Move the clock `times` by `ms` each, replaying as it goes: the gaps found on the way. */
  advance(times: number, ms: number): string[] {
    const bad: string[] = [];
    for (let i = 0; i < times; i++) {
      this.h.advance(ms);
      bad.push(...this.gaps());
    }
    return bad;
  }
  gaps(): string[] {
    const bad: string[] = [];
    for (; this.#seen < this.h.steps.length; this.#seen++) {
      const { side, actions } = this.h.steps[this.#seen]!;
      for (const a of actions) {
        if (a.kind === 'install' && a.sa.direction === 'in') this.in[side].add(a.sa.spi);
        else if (a.kind === 'install') this.out[side].push(a.sa.spi);
        else if (a.kind === 'delete' && a.direction === 'in') this.in[side].delete(a.spi);
        else if (a.kind === 'delete') this.out[side] = this.out[side].filter((x) => x !== a.spi);
      }
      for (const [from, to] of [['A', 'B'], ['B', 'A']] as const) {
        const spi = this.sending(from);
        if (spi !== undefined && this.in[to].has(spi)) continue;
        bad.push(`step ${this.#seen}: ${from} sends on ${spi?.toString(16) ?? 'nothing'}, ${to} cannot receive it`);
      }
    }
    return bad;
  }
}
