// A peer with remote = %any (ROAMING): its main mode is accepted from an
// address we were never told, and we never start one towards it.

import t from 'tap';
import { ROAMING } from '../../firmware/src/ike/exchange/types.ts';
import { Harness, NAT_PUBLIC } from './ike-exchange-harness.ts';

t.test('a roaming peer is accepted from any address, through the NAT', async (t) => {
  const h = new Harness({ nat: true, peerB: { remoteAddress: ROAMING } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.B.length, 2, 'B installed the pair');
  t.equal(h.b.status()[0]?.remote.address, NAT_PUBLIC, "B's ISAKMP SA is with the address the MM1 came from");
  t.equal(h.installs.B.find((s) => s.direction === 'out')?.remote.address, NAT_PUBLIC, 'ESP goes to where the peer is');
});

t.test('we never initiate towards a roaming peer', async (t) => {
  const h = new Harness({ peerB: { remoteAddress: ROAMING } });
  h.apply('B', h.b.initiate('gwA'));
  h.pump();
  t.equal(h.wire.length, 0, 'nothing was sent');
  t.ok(h.logs.B.some((l) => /not initiating to gwA: remote = %any/.test(l)), 'and the log says why');
});

t.test('without %any an unknown address is refused', async (t) => {
  const h = new Harness({ nat: true, peerB: { remoteAddress: '192.0.2.99' } });
  h.bringUp();
  t.equal(h.installs.B.length, 0);
  t.ok(h.logs.B.some((l) => /no peer configured for 198\.51\.100\.1/.test(l)));
});
