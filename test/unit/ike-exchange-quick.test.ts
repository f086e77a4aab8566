// Quick mode responder behaviour between two in-memory nodes:
// - the responder installs its inbound SA with QM2 (RFC 2409 §5.5: KEYMAT is known
//   once QM2 is sent) and the outbound one only on QM3, so ESP the initiator sends
//   right after QM2 is not dropped; an exchange that never completes removes it;
// - the default response rule (filter action `default-response`): client IDs inside
//   a tunnel's subnets are accepted and keyed for exactly those IDs.

import t, { type Test } from 'tap';
import { ExchangeType, NotifyType, ProtocolId, notify } from '../../firmware/src/ike/wire/index.ts';
import { sendInformational } from '../../firmware/src/ike/exchange/informational.ts';
import type { Action, ChildSaInstall, TunnelPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { Harness, tunnel, type Datagram } from './ike-exchange-harness.ts';

type Install = Extract<Action, { kind: 'install' }>;
const isInstall = (a: Action): a is Install => a.kind === 'install';
const isQuickSend = (a: Action): boolean => a.kind === 'send' && a.data.readUInt8(18) === ExchangeType.QUICK;
const directions = (actions: Action[]): string[] => actions.filter(isInstall).map((a) => a.sa.direction);
const isQuick = (d: Datagram): boolean => d.data.readUInt8(18) === ExchangeType.QUICK;

/** Drop every quick mode datagram from A after its first (QM1): QM3 never reaches B. */
function loseQm3(h: Harness): void {
  let qm1 = false;
  h.filter = (d) => {
    if (d.from !== 'A' || !isQuick(d)) return d.data;
    if (!qm1) {
      qm1 = true;
      return d.data;
    }
    return null;
  };
}

function onePairPerSide(t: Test, h: Harness): { aIn: ChildSaInstall; aOut: ChildSaInstall; bIn: ChildSaInstall; bOut: ChildSaInstall } {
  t.same(h.installs.A.map((s) => s.direction).sort(), ['in', 'out'], 'A: exactly one inbound and one outbound SA');
  t.same(h.installs.B.map((s) => s.direction).sort(), ['in', 'out'], 'B: exactly one inbound and one outbound SA');
  const pick = (l: ChildSaInstall[], d: 'in' | 'out'): ChildSaInstall => l.find((s) => s.direction === d)!;
  const r = { aIn: pick(h.installs.A, 'in'), aOut: pick(h.installs.A, 'out'), bIn: pick(h.installs.B, 'in'), bOut: pick(h.installs.B, 'out') };
  t.equal(r.aOut.spi, r.bIn.spi);
  t.equal(r.bOut.spi, r.aIn.spi);
  t.ok(r.aOut.encKey.equals(r.bIn.encKey), 'A->B keys agree');
  t.ok(r.bOut.encKey.equals(r.aIn.encKey), 'B->A keys agree');
  t.equal(r.aIn.reqid, r.aOut.reqid, 'A: one reqid for the pair');
  t.equal(r.bIn.reqid, r.bOut.reqid, 'B: one reqid for the pair');
  return r;
}

t.test('responder installs the inbound SA with QM2 and the outbound SA on QM3', async (t) => {
  const h = new Harness();
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  const qm2 = h.steps.findIndex((s) => s.side === 'B' && s.actions.some(isQuickSend));
  t.ok(qm2 >= 0, 'B sent QM2');
  const qm2Actions = h.steps[qm2]!.actions;
  t.same(directions(qm2Actions), ['in'], 'the step that sends QM2 installs the inbound SA only');
  t.ok(qm2Actions.findIndex(isInstall) < qm2Actions.findIndex(isQuickSend), 'the inbound SA is in place before QM2 leaves');
  const qm3 = h.steps.findIndex((s, i) => i > qm2 && s.side === 'A' && s.actions.some(isQuickSend));
  t.same(directions(h.steps[qm3]!.actions), ['in', 'out'], 'the initiator installs both directions when it sends QM3');
  const bOut = h.steps.findIndex((s) => s.side === 'B' && directions(s.actions).includes('out'));
  t.ok(bOut > qm3, "B's outbound SA only after QM3");
  t.same(directions(h.steps[bOut]!.actions), ['out'], 'QM3 adds the outbound SA alone');
  t.notOk(h.steps[bOut]!.actions.some(isQuickSend), 'and B sends nothing in reply');
  onePairPerSide(t, h);
  t.same(h.deletes, { A: [], B: [] });
  t.equal(h.b.status()[0]?.children.length, 1);
});

t.test('with PFS both halves of the responder pair use g^xy (kept from QM2 to QM3)', async (t) => {
  const h = new Harness({ tunnelA: { pfsGroup: 14 }, tunnelB: { pfsGroup: 14 } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  onePairPerSide(t, h);
});

t.test('a responder whose QM3 never arrives deletes its inbound SA when retransmission gives up', async (t) => {
  const h = new Harness();
  loseQm3(h);
  h.bringUp();
  t.same(h.installs.B.map((s) => s.direction), ['in'], 'inbound SA installed with QM2');
  const bIn = h.installs.B[0]!.spi;
  t.same(h.deletes.B, [], 'kept while QM2 is being retransmitted');
  for (let i = 0; i < 40 && h.failed.B.length === 0; i++) h.advance(10_000);
  t.match(h.failed.B[0], /no answer/, 'B gave up');
  t.same(h.deletes.B, [bIn], 'the pre-installed inbound SA was deleted');
  t.same(h.installs.B.map((s) => s.direction), ['in'], 'no outbound SA ever');
  t.equal(h.b.status()[0]?.children.length, 0, 'no pair recorded');
  t.ok(h.logs.B.some((l) => l.includes('unfinished quick mode')));
});

t.test('an error notify from the initiator against our QM2 deletes the pre-installed inbound SA at once', async (t) => {
  for (const which of ['our SPI', 'its SPI'] as const) {
    t.test(which, async (t) => {
      const h = new Harness();
      loseQm3(h);
      h.bringUp();
      const bIn = h.installs.B[0]!.spi;
      // A's side of the pair names B's inbound SPI as its outbound one.
      const aOut = h.installs.A.find((s) => s.direction === 'out')!;
      const aIn = h.installs.A.find((s) => s.direction === 'in')!;
      t.equal(aOut.spi, bIn);
      const spi = Buffer.alloc(4);
      spi.writeUInt32BE(which === 'our SPI' ? bIn : aIn.spi);
      // A refuses (as a peer that could not use our QM2 would): an encrypted
      // INVALID-ID-INFORMATION under the ISAKMP SA, sent the way A sends any notify.
      const aSa = h.a.sasOf('gwB')[0]!;
      sendInformational(h.a, aSa, [notify(NotifyType.INVALID_ID_INFORMATION, ProtocolId.ESP, spi)]);
      h.apply('A', h.a.tick());
      h.pump();
      t.same(h.deletes.B, [bIn], 'the inbound SA is deleted without waiting for retransmission to give up');
      t.match(h.failed.B[0], /peer refused our QM2 with INVALID_ID_INFORMATION/, 'and the quick mode failed with the reason');
      t.equal(h.b.status()[0]?.children.length, 0, 'no pair recorded');
      h.advance(60_000);
      t.same(h.deletes.B, [bIn], 'nothing more to delete later');
    });
  }
  t.test('an error notify naming an unrelated SPI changes nothing', async (t) => {
    const h = new Harness();
    loseQm3(h);
    h.bringUp();
    const spi = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    sendInformational(h.a, h.a.sasOf('gwB')[0]!, [notify(NotifyType.INVALID_ID_INFORMATION, ProtocolId.ESP, spi)]);
    h.apply('A', h.a.tick());
    h.pump();
    t.same(h.deletes.B, [], 'the inbound SA stays while QM2 is retransmitted');
    t.same(h.failed.B, []);
  });
});

t.test('ISAKMP SA teardown with QM3 outstanding deletes the pre-installed inbound SA', async (t) => {
  t.test('local terminate', async (t) => {
    const h = new Harness();
    loseQm3(h);
    h.bringUp();
    const bIn = h.installs.B[0]!.spi;
    h.apply('B', h.b.terminate('gwA'));
    t.same(h.deletes.B, [bIn]);
    t.equal(h.b.status().length, 0);
  });
  t.test('the peer deletes the ISAKMP SA', async (t) => {
    const h = new Harness();
    loseQm3(h);
    h.bringUp();
    const bIn = h.installs.B[0]!.spi;
    h.apply('A', h.a.terminate('gwB'));
    h.pump();
    t.same(h.deletes.B, [bIn], 'the ISAKMP Delete removed the inbound SA');
    t.equal(h.b.status().length, 0);
  });
  t.test('the ISAKMP SA expires', async (t) => {
    const h = new Harness({ peerA: { ikeLifetimeSeconds: 30, dpd: null }, peerB: { ikeLifetimeSeconds: 30, dpd: null } });
    loseQm3(h);
    h.bringUp();
    const bIn = h.installs.B[0]!.spi;
    // 31 s: before QM2 retransmission gives up, after the ISAKMP SA's lifetime.
    h.advance(31_000);
    t.same(h.failed.B, [], 'the quick mode had not given up yet');
    t.ok(h.logs.B.some((l) => l.includes('lifetime over')), 'the ISAKMP SA expired');
    t.ok(h.deletes.B.includes(bIn), 'deleted with the ISAKMP SA');
  });
});

t.test('rekey keeps make-before-break with the responder pre-installing', async (t) => {
  const h = new Harness();
  h.bringUp();
  const oldB = h.installs.B.slice();
  const start = h.steps.length;
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  t.same(h.failed, { A: [], B: [] });
  const steps = h.steps.slice(start);
  const newIn = steps.findIndex((s) => s.side === 'B' && directions(s.actions).includes('in'));
  const newOut = steps.findIndex((s) => s.side === 'B' && directions(s.actions).includes('out'));
  const oldGone = steps.findIndex((s) => s.side === 'B' && s.actions.some((a) => a.kind === 'delete' && oldB.some((o) => o.spi === a.spi)));
  t.ok(newIn >= 0 && newOut > newIn, 'B: new inbound at QM2, new outbound at QM3');
  t.ok(steps[newIn]!.actions.some(isQuickSend), 'the new inbound SA went in with QM2');
  t.ok(oldGone > newOut, "B deletes the old pair only after the new one is complete (on A's Delete)");
  const fresh = h.installs.B.slice(2);
  t.equal(fresh.length, 2);
  t.equal(fresh[0]!.reqid, fresh[1]!.reqid, 'new pair shares one reqid');
  t.not(fresh[0]!.reqid, oldB[0]!.reqid, 'a new reqid');
  t.equal(h.b.status()[0]?.children.length, 1);
  t.equal(h.a.status()[0]?.children.length, 1);
});

// ---------------------------------------------------------------- default response rule

const B_LAN = '198.18.2.0/24';

function drTunnel(name: string, remote: string, over: Partial<TunnelPolicy> = {}): TunnelPolicy {
  return tunnel(B_LAN, remote, { name, defaultResponse: true, ...over });
}

t.test('default response: a host inside our remote subnet is accepted and keyed for exactly that host', async (t) => {
  const h = new Harness({ tunnelA: { local: '198.18.1.7/32' }, tunnelB: { defaultResponse: true } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  const r = onePairPerSide(t, h);
  for (const s of [r.bIn, r.bOut]) {
    t.equal(s.localTs, B_LAN);
    t.equal(s.remoteTs, '198.18.1.7/32', 'B keyed the SA for the peer host only');
    t.equal(s.tunnel, 'lan~198.18.1.7/32', 'a derived policy name');
  }
  t.equal(r.aOut.localTs, '198.18.1.7/32');
  t.equal(h.b.status()[0]?.children[0]?.tunnel, 'lan~198.18.1.7/32');
  t.ok(h.logs.B.some((l) => l.includes('default response rule')));
});

t.test("default response: an address ID (ID_IPV4_ADDR), a narrower local side, the tunnel's PFS", async (t) => {
  const h = new Harness({ tunnelA: { local: '198.18.1.7', remote: '198.18.2.128/25' }, tunnelB: { defaultResponse: true, pfsGroup: 14 } });
  h.bringUp();
  t.match(h.failed.A[0] ?? '', /NO_PROPOSAL_CHOSEN/, "B answers with its own PFS setting (A offered none)");
  const h2 = new Harness({
    tunnelA: { local: '198.18.1.7', remote: '198.18.2.128/25', pfsGroup: 14 },
    tunnelB: { defaultResponse: true, pfsGroup: 14 },
  });
  h2.bringUp();
  t.same(h2.failed, { A: [], B: [] });
  const r = onePairPerSide(t, h2);
  t.equal(r.bIn.localTs, '198.18.2.128/25');
  t.equal(r.bIn.remoteTs, '198.18.1.7/32');
});

t.test('without default-response the same proposal is refused with INVALID-ID-INFORMATION', async (t) => {
  const h = new Harness({ tunnelA: { local: '198.18.1.7/32' } });
  h.bringUp();
  t.match(h.failed.B[0], /traffic selectors match no configured tunnel/);
  t.equal(h.failures.B[0]?.code, 'ts-mismatch');
  t.same(h.failures.B[0]?.offeredSelectors, [{ local: '198.18.1.7/32', remote: B_LAN }]);
  t.match(h.failed.A[0], /INVALID_ID_INFORMATION/);
  t.same(h.installs, { A: [], B: [] });
});

t.test('default response never accepts wider or partly overlapping selectors', async (t) => {
  for (const local of ['198.18.0.0/16', '198.18.0.0/23']) {
    const h = new Harness({ tunnelA: { local }, tunnelB: { defaultResponse: true } });
    h.bringUp();
    t.match(h.failed.A[0], /INVALID_ID_INFORMATION/, `${local} is refused`);
    t.same(h.installs.B, []);
  }
  const h = new Harness({ tunnelA: { local: '198.18.1.7/32', remote: '198.18.0.0/16' }, tunnelB: { defaultResponse: true } });
  h.bringUp();
  t.match(h.failed.A[0], /INVALID_ID_INFORMATION/, 'wider on our side is refused');
});

t.test('default response picks an exact match first, then the most specific tunnel', async (t) => {
  t.test('exact match wins', async (t) => {
    const exact = tunnel(B_LAN, '198.18.1.7/32', { name: 'exact' });
    const h = new Harness({ tunnelA: { local: '198.18.1.7/32' }, peerB: { tunnels: [drTunnel('wide', '198.18.1.0/24'), exact] } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(h.installs.B.every((s) => s.tunnel === 'exact'));
  });
  t.test('longest prefixes win among default-response tunnels', async (t) => {
    const h = new Harness({
      tunnelA: { local: '198.18.1.7/32' },
      peerB: {
        tunnels: [
          drTunnel('wide', '198.18.0.0/16'),
          drTunnel('narrow', '198.18.1.0/25', { methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 1800, lifetimeKilobytes: 100000 }] }),
          drTunnel('other', '198.18.1.128/25'),
        ],
      },
    });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(h.installs.B.every((s) => s.tunnel === 'narrow~198.18.1.7/32'));
    t.ok(h.installs.B.every((s) => s.lifetimeSeconds === 1800), "the chosen tunnel's methods answer");
  });
  t.test('a tunnel without default-response does not widen', async (t) => {
    const h = new Harness({
      tunnelA: { local: '198.18.1.7/32' },
      peerB: { tunnels: [tunnel(B_LAN, '198.18.1.0/24', { name: 'plain' }), drTunnel('dr', '198.18.0.0/16')] },
    });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(h.installs.B.every((s) => s.tunnel === 'dr~198.18.1.7/32'));
  });
});
