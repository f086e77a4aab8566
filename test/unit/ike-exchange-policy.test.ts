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

t.test('main mode expiry is independent of the IPsec SAs; either side rekeys before its own expiry', async (t) => {
  // B (the responder) has the shorter main mode lifetime.
  const h = new Harness({ peerB: { ikeLifetimeSeconds: 600 } });
  h.bringUp();
  const pairs = h.installs.A.length;
  for (let s = 0; s < 700; s += 10) h.advance(10_000);
  t.ok(mainModes(h).some((d) => d.from === 'B'), 'the responder started the new main mode before its own expiry');
  t.same(h.deletes, { A: [], B: [] }, 'no IPsec SA deleted');
  t.equal(h.installs.A.length, pairs, 'and none renegotiated: the pair moved to the new ISAKMP SA');
  t.equal(h.b.status().filter((s) => s.state === 'ESTABLISHED').length, 1);
  t.equal(h.b.status()[0]?.children.length, 1, 'the new ISAKMP SA holds the pair');

  // B cannot reach A while its main mode runs out: the IPsec SAs stay.
  const cut = new Harness({ peerB: { ikeLifetimeSeconds: 600 } });
  cut.bringUp();
  const spis = cut.installs.B.map((s) => s.spi);
  // (Only its main modes are lost: DPD still gets through, so the peer is not dead.)
  cut.filter = (d) => (d.from === 'B' && d.data[18] === ExchangeType.MAIN ? null : d.data);
  for (let s = 0; s < 700; s += 10) cut.advance(10_000);
  t.ok(cut.logs.B.some((l) => /ISAKMP SA lifetime over; its 1 IPsec SA pair\(s\) live on/.test(l)), 'B noted the expiry');
  t.same(cut.deletes.B.filter((x) => spis.includes(x)), [], "B kept its IPsec SAs past its main mode's lifetime");
  t.same(cut.deletes.A, [], 'and so did A');
  // Once the path is back, the pair's rekey runs a new main mode, which adopts the pair.
  cut.filter = (d) => d.data;
  for (let s = 0; s < 3000; s += 10) cut.advance(10_000);
  const live = cut.b.status().filter((s) => s.state === 'ESTABLISHED' && s.remainingSeconds > 0);
  t.equal(live.length, 1, 'B has a live ISAKMP SA again');
  t.ok((live[0]?.children.length ?? 0) >= 1, 'holding the pair(s)');
  t.equal(cut.b.status().length, 1, 'the retired ISAKMP SA is gone');
});

t.test('a second quick mode that times out: a new main mode is tried', async (t) => {
  const h = new Harness();
  h.bringUp();
  t.equal(mainModes(h).length, 1);
  // The peer lost the ISAKMP SA without telling us: our quick modes meet silence.
  h.filter = (d) => (d.from === 'A' && d.data[18] === ExchangeType.QUICK ? null : d.data);
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  for (let s = 0; s < 140; s += 2) h.advance(2_000);
  t.ok(h.logs.A.some((l) => /a later quick mode met silence: trying a new main mode/.test(l)));
  h.filter = (d) => d.data;
  for (let s = 0; s < 30; s += 2) h.advance(2_000);
  t.equal(mainModes(h).filter((d) => d.from === 'A').length, 2, 'a second main mode');
  t.equal(outs(h, 'A', 'lan').length, 2, 'the rekey went through under it');

  // The first quick mode of a fresh main mode timing out does not start another one.
  const first = new Harness();
  first.filter = (d) => (d.from === 'A' && d.data[18] === ExchangeType.QUICK ? null : d.data);
  first.bringUp();
  for (let s = 0; s < 140; s += 2) first.advance(2_000);
  t.equal(mainModes(first).length, 1, 'one main mode only');
});

t.test('lifetimes in kilobytes: negotiated down to the smaller one, and a soft limit rekeys the pair', async (t) => {
  const kb = (n: number) => [{ esp: 'aes128gcm16' as const, lifetimeSeconds: 3600, lifetimeKilobytes: n }];
  const h = new Harness({ tunnelA: { methods: kb(50_000) }, tunnelB: { methods: kb(2048) } });
  h.bringUp();
  t.same(
    h.installs.A.map((s) => s.lifetimeKilobytes),
    [2048, 2048],
    "the responder's smaller kilobyte lifetime is used by both sides (RESPONDER-LIFETIME)",
  );
  t.same(h.installs.B.map((s) => s.lifetimeKilobytes), [2048, 2048]);
  const out = outs(h, 'A')[0]!;
  h.apply('A', h.a.saLimit(out.spi, 'out', false));
  h.pump();
  t.equal(outs(h, 'A').length, 2, 'the soft byte limit (90% of 2048 KB in the engine) rekeyed the pair');
  t.ok(h.deletes.A.includes(out.spi), 'make-before-break: the old pair went after the new one was in');
});

t.test('session key refresh limit above 1: two quick modes per main mode, on both sides', async (t) => {
  const three = (local: string, remotes: string[]) => remotes.map((r, i) => tunnel(local, r, { name: `t${i}` }));
  for (const side of ['A', 'B'] as const) {
    const limit = { quickModeLimit: 2 };
    const h = new Harness({
      peerA: { tunnels: three('198.18.1.0/24', ['198.18.2.0/24', '198.18.3.0/24', '198.18.4.0/24']), ...(side === 'A' ? limit : {}) },
      peerB: {
        tunnels: ['198.18.2.0/24', '198.18.3.0/24', '198.18.4.0/24'].map((l, i) => tunnel(l, '198.18.1.0/24', { name: `t${i}` })),
        ...(side === 'B' ? limit : {}),
      },
    });
    h.bringUp();
    for (let i = 0; i < 5; i++) h.advance(1000);
    t.equal(outs(h, 'A').length, 3, `limit on ${side}: all three tunnels up`);
    t.equal(mainModes(h).length, 2, `limit on ${side}: a second main mode for the third quick mode`);
  }
});
