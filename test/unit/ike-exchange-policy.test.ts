// IKEv1 behaviour the seed policy documents specify (issue 17), between two in-memory
// nodes: session key PFS followed by a responder without it, the session key refresh
// limit (and master key PFS) enforced as responder, main mode SAs expiring without
// taking the IPsec SAs along, and a timed-out later quick mode leading to a new main mode.

import t from 'tap';
import { ExchangeType } from '../../firmware/src/ike/wire/index.ts';
import { Harness, tunnel } from './ike-exchange-harness.ts';

const twoA = [tunnel('198.18.1.0/24', '198.18.2.0/24', { name: 'lan' }), tunnel('198.18.1.0/24', '198.18.20.0/24', { name: 'extra' })];
const twoB = [tunnel('198.18.2.0/24', '198.18.1.0/24', { name: 'lan' }), tunnel('198.18.20.0/24', '198.18.1.0/24', { name: 'extra' })];
const outs = (h: Harness, side: 'A' | 'B', name?: string) => h.installs[side].filter((s) => s.direction === 'out' && (!name || s.tunnel === name));
const mainModes = (h: Harness) => h.wire.filter((d) => d.data[18] === ExchangeType.MAIN && d.data.subarray(8, 16).every((b) => b === 0));

t.test('session key PFS: the initiator uses it, the responder without it follows', async (t) => {
  const h = new Harness({ tunnelA: { pfsGroup: 14 }, tunnelB: { pfsGroup: null } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] }, 'no pfs-mismatch');
  const aOut = outs(h, 'A')[0];
  const bIn = h.installs.B.find((s) => s.direction === 'in');
  t.ok(aOut && bIn && aOut.spi === bIn.spi && aOut.encKey.equals(bIn.encKey), 'keys agree, so both used the PFS DH secret');
  t.ok(h.logs.B.some((l) => /^QM2 accepted/.test(l)));

  const req = new Harness({ tunnelA: { pfsGroup: null }, tunnelB: { pfsGroup: 14 } });
  req.bringUp();
  t.equal(req.failures.B[0]?.code, 'pfs-mismatch', 'a responder that requires PFS still refuses an initiator without it');
  const other = new Harness({ tunnelA: { pfsGroup: 14 }, tunnelB: { pfsGroup: 19 } });
  other.bringUp();
  t.equal(other.failures.B[0]?.code, 'pfs-mismatch', 'and a different group');
});

t.test('session key refresh limit and master key PFS are enforced as responder', async (t) => {
  // A has no limit and runs both quick modes under one main mode; B allows one per main mode.
  const h = new Harness({ peerA: { tunnels: twoA }, peerB: { tunnels: twoB, quickModeLimit: 1 } });
  h.bringUp();
  for (let i = 0; i < 10; i++) h.advance(1000);
  t.ok(h.logs.B.some((l) => /session key refresh limit \(1\) reached/.test(l)), 'B refused the second quick mode on the first main mode');
  t.equal(mainModes(h).length, 2, 'B started a fresh main mode');
  t.equal(outs(h, 'A', 'lan').length, 1);
  t.equal(outs(h, 'A', 'extra').length, 1, 'the second tunnel came up, under the fresh main mode');
  t.equal(outs(h, 'B', 'extra').length, 1);
  t.equal(h.b.status().filter((s) => s.state === 'ESTABLISHED').length, 1, 'the exhausted main mode was replaced (its pair moved over)');
});
