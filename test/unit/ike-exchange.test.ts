// IKEv1 main mode + quick mode between two in-memory sitelink nodes with
// the real crypto: keys must pair up (A's outbound = B's inbound), the
// initiator must refuse an altered MM2, a wrong PSK must end in
// AUTHENTICATION-FAILED, and retransmission must give up after five tries.

import t, { type Test } from 'tap';
import {
  decodeMessage,
  encodeMessage,
  ExchangeType,
  PayloadType,
  payloadsOfType,
  HashAlgorithm,
  Phase1Attr,
} from '../../firmware/src/ike/wire/index.ts';
import { RETRANSMIT_TRIES } from '../../firmware/src/ike/exchange/types.ts';
import { Harness } from './ike-exchange-harness.ts';
import { REKEY_INBOUND_LINGER_MS } from '../../firmware/src/ike/exchange/child-sa.ts';

function pairCheck(t: Test, h: Harness): void {
  const aOut = h.installs.A.find((s) => s.direction === 'out');
  const aIn = h.installs.A.find((s) => s.direction === 'in');
  const bOut = h.installs.B.find((s) => s.direction === 'out');
  const bIn = h.installs.B.find((s) => s.direction === 'in');
  t.ok(aOut && aIn && bOut && bIn, 'both sides installed an inbound and an outbound SA');
  if (!aOut || !aIn || !bOut || !bIn) return;
  t.equal(aOut.spi, bIn.spi, "A's outbound SPI is B's inbound SPI");
  t.equal(bOut.spi, aIn.spi, "B's outbound SPI is A's inbound SPI");
  t.not(aIn.spi, bIn.spi, 'each side chose its own SPI');
  t.ok(aOut.encKey.equals(bIn.encKey), 'A->B keys agree');
  t.ok(bOut.encKey.equals(aIn.encKey), 'B->A keys agree');
  t.not(aOut.encKey.toString('hex'), aIn.encKey.toString('hex'), 'directions have different keys');
  t.equal(aOut.encKey.length, 20, 'AES-128-GCM key + 4-byte salt');
  t.equal(aOut.algorithm, 'aes128gcm16');
  t.equal(aOut.localTs, '198.18.1.0/24');
  t.equal(bOut.localTs, '198.18.2.0/24');
  t.equal(aOut.lifetimeSeconds, 3600);
}

t.test('main mode + quick mode, no NAT', async (t) => {
  const h = new Harness();
  h.bringUp();
  t.same(h.failed, { A: [], B: [] }, 'no failures');
  const exchanges = h.wire.map((d) => (decodeMessage(d.data) as { ok: true; value: { header: { exchangeType: number } } }).value.header.exchangeType);
  t.same(exchanges, [2, 2, 2, 2, 2, 2, 32, 32, 32], 'six main mode and three quick mode messages');
  pairCheck(t, h);
  t.equal(h.installs.A[0]!.encap, 'none', 'no NAT: plain ESP');
  t.ok(h.wire.every((d) => d.src.port === 500 && d.dst.port === 500), 'everything on UDP 500');
  t.same(h.keepalives, { A: [], B: [] }, 'no keepalives without NAT');
  const st = h.a.status();
  t.equal(st[0]?.state, 'ESTABLISHED');
  t.equal(st[0]?.children.length, 1);
});

t.test('main mode + quick mode through a NAT: float to 4500, UDP encapsulation, keepalives', async (t) => {
  const h = new Harness({ nat: true });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  pairCheck(t, h);
  t.ok(h.wire.slice(0, 4).every((d) => d.dst.port === 500 || d.dst.port === 10500), 'MM1-MM4 on 500 (10500 = NAT mapping)');
  t.ok(h.wire.slice(4).every((d) => d.dst.port === 4500 || d.dst.port === 14500), 'MM5 onwards on 4500 (RFC 3947 §4)');
  const aOut = h.installs.A.find((s) => s.direction === 'out')!;
  const bOut = h.installs.B.find((s) => s.direction === 'out')!;
  t.equal(aOut.encap, 'udp');
  t.same(aOut.remote, { address: '198.51.100.2', port: 4500 });
  t.same(bOut.remote, { address: '198.51.100.1', port: 14500 }, "B sends to A's NAT mapping");
  t.same(h.keepalives.A, [20], 'the NATed side sends keepalives every 20 s');
  t.same(h.keepalives.B, [], 'the public side does not');
  const a = h.a.status()[0]!;
  t.equal(a.natLocal, true, 'A knows it is behind a NAT');
  t.equal(h.b.status()[0]!.natRemote, true, 'B knows A is behind a NAT');
  // Quick mode offered UDP-encapsulated tunnel (mode 3).
  t.ok(h.logs.B.some((l) => l.startsWith('QM2 accepted aes128gcm16')));
});

t.test('initiator rejects an MM2 that is not one of its offers', async (t) => {
  const h = new Harness();
  h.filter = (d) => {
    const m = decodeMessage(d.data);
    if (d.from !== 'B' || !m.ok || m.value.encrypted || m.value.header.exchangeType !== ExchangeType.MAIN) return d.data;
    const sa = payloadsOfType(m.value.payloads, PayloadType.SA)[0];
    if (!sa) return d.data;
    // Swap the hash attribute to one A offered with a different cipher.
    for (const a of sa.proposals[0]!.transforms[0]!.attributes)
      if (a.type === Phase1Attr.HASH_ALGORITHM && a.format === 'tv') a.value = HashAlgorithm.SHA2_512;
    return encodeMessage(m.value.header, m.value.payloads);
  };
  h.bringUp();
  t.equal(h.failed.A.length, 1, 'A failed the negotiation');
  t.match(h.failed.A[0], /did not offer/);
  t.equal(h.installs.A.length, 0);
  t.equal(h.a.status().length, 0, 'the SA is gone');
});

t.test('responder with no matching transform answers NO-PROPOSAL-CHOSEN', async (t) => {
  const h = new Harness({ peerB: { ikeMethods: [{ encryption: '3des', integrity: 'sha1', dhGroup: 2 }] } });
  h.bringUp();
  t.match(h.failed.B[0], /no offered phase 1 transform/);
  t.match(h.failed.A[0], /NO_PROPOSAL_CHOSEN/, 'the initiator learns why');
});

t.test('wrong PSK ends in AUTHENTICATION-FAILED', async (t) => {
  const h = new Harness({ pskB: 'not-the-same' });
  h.bringUp();
  t.match(h.failed.B[0], /authentication failed/, 'responder refuses MM5');
  t.match(h.failed.A[0], /AUTHENTICATION_FAILED/, 'initiator is told');
  t.equal(h.installs.A.length + h.installs.B.length, 0);
  t.notOk(h.logs.A.concat(h.logs.B).some((l) => l.includes('lab-secret') || l.includes('not-the-same')), 'no PSK in the logs');
});

t.test('retransmits five times with back-off, then gives up', async (t) => {
  const h = new Harness();
  h.filter = (d) => (d.from === 'A' ? null : d.data);
  h.bringUp();
  const sendTimes: number[] = [h.clock.t];
  for (let i = 0; i < 200; i++) {
    const before = h.wire.length;
    h.advance(1000);
    if (h.wire.length > before) sendTimes.push(h.clock.t);
  }
  t.equal(h.wire.length, 1 + RETRANSMIT_TRIES, 'MM1 plus five retransmissions');
  const gaps = sendTimes.slice(1).map((x, i) => x - sendTimes[i]!);
  t.ok(gaps.every((g, i) => i === 0 || g > gaps[i - 1]!), `back-off grows: ${gaps.join(',')}`);
  t.same(h.failed.A, ['no answer from peer to MM1 (our proposals)']);
  t.equal(h.a.status().length, 0);
});

t.test('a lost MM6 is recovered: initiator retransmits MM5, responder answers again', async (t) => {
  const h = new Harness();
  let dropped = false;
  h.filter = (d) => {
    const m = decodeMessage(d.data);
    if (!dropped && d.from === 'B' && m.ok && m.value.encrypted && m.value.header.exchangeType === ExchangeType.MAIN) {
      dropped = true;
      return null;
    }
    return d.data;
  };
  h.bringUp();
  t.equal(h.installs.A.length, 0, 'stuck after the lost MM6');
  h.advance(2500);
  t.ok(dropped);
  t.same(h.failed, { A: [], B: [] });
  pairCheck(t, h);
});

t.test('quick mode with mismatched ESP: NO-PROPOSAL-CHOSEN, ISAKMP SA stays', async (t) => {
  const h = new Harness({ tunnelB: { methods: [{ esp: 'aes256-sha256', lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }] } });
  h.bringUp();
  t.match(h.failed.B[0], /no offered ESP transform/);
  t.match(h.failed.A[0], /NO_PROPOSAL_CHOSEN/);
  t.equal(h.a.status()[0]?.state, 'ESTABLISHED');
});

t.test('quick mode with traffic selectors the responder does not have: INVALID-ID-INFORMATION', async (t) => {
  const h = new Harness({ tunnelB: { remote: '198.18.9.0/24' } });
  h.bringUp();
  t.match(h.failed.B[0], /traffic selectors/);
  t.match(h.failed.A[0], /INVALID_ID_INFORMATION/);
});

t.test('PFS and responder lifetime', async (t) => {
  const h = new Harness({
    tunnelA: { pfsGroup: 14, methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }] },
    tunnelB: { pfsGroup: 14, methods: [{ esp: 'aes128gcm16', lifetimeSeconds: 1200, lifetimeKilobytes: 100000 }] },
  });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.A[0]?.lifetimeSeconds, 1200, 'initiator took RESPONDER-LIFETIME');
  t.equal(h.installs.B[0]?.lifetimeSeconds, 1200);
  const aOut = h.installs.A.find((s) => s.direction === 'out')!;
  const bIn = h.installs.B.find((s) => s.direction === 'in')!;
  t.ok(aOut.encKey.equals(bIn.encKey), 'PFS keys agree');
});

t.test('rekey before expiry is make-before-break', async (t) => {
  const h = new Harness();
  h.bringUp();
  const first = h.installs.A.slice();
  for (let s = 0; s < 3300; s += 10) h.advance(10_000);
  t.ok(h.installs.A.length >= 4, 'a second pair was installed');
  const firstDelete = h.deletes.A.indexOf(first[0]!.spi);
  t.ok(firstDelete >= 0, 'the old pair was deleted');
  t.equal(h.b.status()[0]?.children.length, 1, 'B holds only the new pair');
  t.equal(h.a.status()[0]?.children.length, 1, 'A holds only the new pair');
  const newA = h.installs.A.slice(2);
  t.ok(newA.every((s) => s.spi !== first[0]!.spi && s.spi !== first[1]!.spi), 'fresh SPIs');
  t.same(h.failed, { A: [], B: [] });
});

t.test('terminate sends Deletes; the peer removes its SAs', async (t) => {
  const h = new Harness();
  h.bringUp();
  h.apply('A', h.a.terminate('gwB'));
  h.pump();
  t.equal(h.deletes.A.length, 2);
  t.equal(h.deletes.B.length, 2, 'B deleted both directions on the Delete');
  t.equal(h.b.status().length, 0, 'B dropped the ISAKMP SA too');
});

t.test('DPD: R-U-THERE is acknowledged; a silent peer is declared dead', async (t) => {
  const h = new Harness();
  h.bringUp();
  h.advance(31_000);
  t.ok(h.logs.A.some((l) => l.startsWith('R-U-THERE ')), 'A probed');
  t.ok(h.logs.B.some((l) => l.startsWith('R-U-THERE-ACK')), 'B answered');
  h.filter = (d) => (d.from === 'B' ? null : d.data);
  for (let i = 0; i < 20; i++) h.advance(10_000);
  t.ok(h.failed.A.includes('dead peer'), 'A declared B dead');
  t.ok(h.deletes.A.length >= 2, 'and removed the IPsec SAs');
});

t.test('malformed and unknown datagrams are dropped and counted', async (t) => {
  const h = new Harness();
  h.bringUp();
  const before = h.b.counters.malformed;
  h.apply('B', h.b.receive(Buffer.from('garbage that is not isakmp at all'), { address: '198.51.100.1', port: 500 }, 500));
  t.equal(h.b.counters.malformed, before + 1);
  const m = h.wire[7]!;
  const tampered = Buffer.from(m.data);
  tampered[tampered.length - 1]! ^= 0xff;
  const out = h.b.receive(tampered, { address: '198.51.100.1', port: 500 }, 500);
  // Only records: log lines and the 'heard' report the fallback-to-clear driver counts.
  t.same(out.filter((a) => a.kind !== 'log' && a.kind !== 'heard'), [], 'nothing sent, installed or deleted in reply to garbage');
  t.equal(h.b.status()[0]?.state, 'ESTABLISHED', 'SA unaffected');
});

t.test('failure details name the cause for `sitelinkctl explain`', async (t) => {
  const psk = new Harness({ pskB: 'other' });
  psk.bringUp();
  t.equal(psk.failures.B[0]?.code, 'authentication-failed');
  t.equal(psk.failures.A[0]?.code, 'authentication-failed', 'the initiator maps the notify');

  const p1 = new Harness({ peerB: { ikeMethods: [{ encryption: '3des', integrity: 'sha1', dhGroup: 2 }] } });
  p1.bringUp();
  const r = p1.failures.B[0]!;
  t.equal(r.code, 'no-proposal-chosen');
  t.same(r.offered, ['aes256-sha256-modp2048', 'aes128-sha1-modp2048'], "the peer's offer in config notation");
  t.same(r.acceptable, ['3des-sha1-modp1024']);
  t.equal(r.configField, 'peers.gwA.proposals');

  // The responder requires PFS the initiator does not offer (the reverse is accepted).
  const pfs = new Harness({ tunnelB: { pfsGroup: 14 } });
  pfs.bringUp();
  const q = pfs.failures.B[0]!;
  t.equal(q.code, 'pfs-mismatch');
  t.equal(q.offeredPfs, null);
  t.equal(q.requiredPfs, 'modp2048');
  t.equal(q.configField, 'filter-actions.secure.pfs');

  const ts = new Harness({ tunnelB: { remote: '198.18.9.0/24' } });
  ts.bringUp();
  const s = ts.failures.B[0]!;
  t.equal(s.code, 'ts-mismatch');
  t.same(s.offeredSelectors, [{ local: '198.18.1.0/24', remote: '198.18.2.0/24' }], "the peer's selectors as CIDR");
  t.same(s.acceptableSelectors, [{ local: '198.18.2.0/24', remote: '198.18.9.0/24' }]);

  const id = new Harness({ peerB: { remoteId: { idType: 2, name: 'someone-else.lab' } } });
  id.bringUp();
  t.equal(id.failures.B[0]?.code, 'id-mismatch');
  t.equal(id.failures.B[0]?.receivedId, 'gwA.lab');
  t.equal(id.failures.B[0]?.expectedId, 'someone-else.lab');
});

t.test('operator rekey renegotiates now, keeping traffic keyed throughout', async (t) => {
  const h = new Harness();
  h.bringUp();
  const first = h.installs.A.map((s) => s.spi);
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  t.equal(h.installs.A.length, 4, 'a new pair was installed');
  const oldIn = h.installs.A.find((s) => s.direction === 'in')!.spi;
  const oldOut = h.installs.A.find((s) => s.direction === 'out')!.spi;
  t.ok(h.deletes.A.includes(oldOut), 'then the old outbound SA was deleted');
  t.notOk(h.deletes.A.includes(oldIn), 'the old inbound SA lingers for ESP the peer sent before QM3');
  t.equal(h.a.status()[0]?.children.length, 1, 'status shows only the new pair');
  h.advance(REKEY_INBOUND_LINGER_MS + 1000);
  t.ok(first.every((spi) => h.deletes.A.includes(spi)), 'after the linger the whole old pair is gone');
  t.equal(h.b.status()[0]?.children.length, 1);
});
