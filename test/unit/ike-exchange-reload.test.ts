// Reload per tunnel at the IKEv1 node (issue 17): setPeers with a changed rule retires
// only that rule's SA pairs (Deletes sent), keeps the ISAKMP SA and the other pairs of
// the same peer, and the kept ISAKMP SA answers with the new tunnel list.

import t from 'tap';
import { Harness, tunnel } from './ike-exchange-harness.ts';

const two = (local: string, r1: string, r2: string) => [tunnel(local, r1, { name: 'lan' }), tunnel(local, r2, { name: 'extra' })];

t.test('a changed rule renegotiates only its own pairs', async (t) => {
  const h = new Harness({
    peerA: { tunnels: two('198.18.1.0/24', '198.18.2.0/24', '198.18.20.0/24') },
    peerB: { tunnels: two('198.18.2.0/24', '198.18.1.0/24', '198.18.1.0/24').map((x, i) => (i === 1 ? { ...x, local: '198.18.20.0/24' } : x)) },
  });
  h.bringUp();
  const outOf = (name: string) => h.installs.A.filter((s) => s.tunnel === name && s.direction === 'out').map((s) => s.spi);
  t.equal(outOf('lan').length, 1);
  t.equal(outOf('extra').length, 1);
  const isakmp = h.a.status().map((s) => s.cookies);

  // A's rule "extra" changes (another ESP method); "lan" does not.
  const pA = h.a.peers()[0]!;
  const longer = { ...pA.tunnels[1]!.methods[0]!, lifetimeSeconds: 1800 };
  const changed = { ...pA, tunnels: pA.tunnels.map((x) => (x.name === 'extra' ? { ...x, methods: [longer] } : x)) };
  h.apply('A', h.a.setPeers([changed], [], ['extra']));
  h.pump();
  const lanSpis = h.installs.A.filter((s) => s.tunnel === 'lan').map((s) => s.spi);
  t.notOk(lanSpis.some((spi) => h.deletes.A.includes(spi)), 'the pairs of the unchanged rule stay');
  const extraSpis = h.installs.A.filter((s) => s.tunnel === 'extra').map((s) => s.spi);
  t.ok(extraSpis.every((spi) => h.deletes.A.includes(spi)), 'the pairs of the changed rule are deleted');
  t.same(h.a.status().map((s) => s.cookies), isakmp, 'the ISAKMP SA stays');
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  t.equal(outOf('extra').length, 2, 'the changed rule comes back under the same ISAKMP SA');
  t.equal(outOf('lan').length, 1, 'the unchanged rule was not renegotiated');
  t.same(h.a.status().map((s) => s.cookies), isakmp, 'no new main mode');

  // B drops rule "extra": its kept ISAKMP SA must answer with the new list (refuse it).
  const pB = h.b.peers()[0]!;
  h.apply('B', h.b.setPeers([{ ...pB, tunnels: pB.tunnels.filter((x) => x.name !== 'extra') }], [], ['extra']));
  h.pump();
  const before = h.installs.B.length;
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  t.equal(h.installs.B.length, before, 'B no longer accepts the removed rule');
  t.match(h.failed.B.join('\n') + h.failed.A.join('\n'), /ID|selector|INVALID/i, 'refused');
});
