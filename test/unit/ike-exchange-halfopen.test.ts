// Half-open main modes are bounded per peer: a flood posing as the %any peer
// (anyone can) fills only that peer's slots, and a configured peer still gets
// through while the flood's half-open SAs are alive.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import { HALF_OPEN_MAX, ROAMING } from '../../firmware/src/ike/exchange/types.ts';
import { encodeMessage, ExchangeType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { Harness } from './ike-exchange-harness.ts';

t.test('a flood aimed at the %any peer does not block a configured peer', async (t) => {
  const h = new Harness();
  const gwA = h.b.peers()[0]!;
  // B also answers a roaming branch; it shares gwA's proposals, so every MM1 below is answered.
  h.apply('B', h.b.setPeers([gwA, { ...gwA, name: 'branch', remoteAddress: ROAMING }], []));
  const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha1', dhGroup: 14 }, 28800)] };
  const mm1 = (): Buffer =>
    encodeMessage({ initiatorCookie: randomBytes(8), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 }, mainMode1(offer));
  // Spoofed sources: 203.0.113.x are nobody's configured address, so they fall to %any.
  for (let i = 0; i < HALF_OPEN_MAX + 20; i++) h.b.receive(mm1(), { address: `203.0.113.${i % 250}`, port: 500 }, 500);
  const roaming = h.b.status().filter((s) => s.peer === 'branch');
  t.equal(roaming.length, HALF_OPEN_MAX, `the %any peer holds at most ${HALF_OPEN_MAX} half-open SAs`);
  t.equal(h.b.counters.halfOpenRefused, 20, 'the rest were refused and counted');
  h.bringUp();
  t.same(h.failed, { A: [], B: [] }, 'the configured peer gwA negotiates while the flood is held');
  t.equal(h.installs.B.length, 2, 'and its tunnel is installed');
});
