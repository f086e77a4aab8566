// Two in-memory IKEv2 nodes (ike-exchange-harness.ts) and the check the IKEv2
// exchange tests end with: both ends hold the same IKE SA with one child pair
// whose keys agree, and nothing failed.

import type { Test } from 'tap';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

export const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> =>
  new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));

/** One IKE SA on each side, the same one, carrying one child pair whose keys agree, and no failure. Returns its SPIs. */
export function consistent(t: Test, h: Harness<Ikev2Node>, what: string): string {
  const a = h.a.status().filter((s) => s.state === 'ESTABLISHED');
  const b = h.b.status().filter((s) => s.state === 'ESTABLISHED');
  t.equal(a.length, 1, `${what}: A has one IKE SA`);
  t.equal(b.length, 1, `${what}: B has one IKE SA`);
  t.equal(a[0]?.spis, b[0]?.spis, `${what}: the same one`);
  t.equal(a[0]?.children.length, 1, `${what}: A has one child pair`);
  t.equal(b[0]?.children.length, 1, `${what}: B has one child pair`);
  const ca = a[0]?.children[0];
  const cb = b[0]?.children[0];
  t.equal(ca?.outSpi, cb?.inSpi, `${what}: the same pair`);
  t.equal(ca?.inSpi, cb?.outSpi);
  const aOut = h.installs.A.find((s) => s.direction === 'out' && s.spi === ca?.outSpi);
  const bIn = h.installs.B.find((s) => s.direction === 'in' && s.spi === cb?.inSpi);
  t.ok(aOut && bIn && aOut.encKey.equals(bIn.encKey), `${what}: whose keys agree`);
  t.same(h.failed, { A: [], B: [] }, `${what}: no failure`);
  return a[0]?.spis ?? '';
}

/**
 * The responder's inbound SA `inSpi` went into the engine before the answer that
 * announces it left (in the same step: no send before the install, one after), so
 * the initiator's first packets on the new pair find it.
 */
export function installedBeforeAnswer(t: Test, h: Harness<Ikev2Node>, side: 'A' | 'B', inSpi: number | undefined, what: string): void {
  const step = h.steps.find((s) => s.side === side && s.actions.some((x) => x.kind === 'install' && x.sa.direction === 'in' && x.sa.spi === inSpi));
  const acts = step?.actions ?? [];
  const at = acts.findIndex((x) => x.kind === 'install' && x.sa.direction === 'in' && x.sa.spi === inSpi);
  const sends = acts.flatMap((x, i) => (x.kind === 'send' ? [i] : []));
  t.ok(at >= 0 && sends.length > 0 && sends.every((i) => i > at), `${what}: ${side} installs its inbound SA before its answer leaves`);
}
