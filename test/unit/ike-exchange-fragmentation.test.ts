// IKEv1 fragmentation between two in-memory nodes with RSA certificates
// (4096-bit keys: MM5 and MM6 are about 2 KB) over a path that loses IP
// fragments (every datagram whose IPv4 packet exceeds 1280 bytes is dropped):
// the tunnel comes up because MM5/MM6 travel as fragments, and does not when
// one side does not announce the fragmentation vendor ID.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FRAGMENT_IP_DATAGRAM } from '../../firmware/src/ike/exchange/ike-node.ts';
import {
  FRAGMENTATION_VENDOR_ID,
  decodeFragment,
  decodeMessage,
  isFragmentMessage,
  PayloadType,
  payloadsOfType,
} from '../../firmware/src/ike/wire/index.ts';
import { Harness, type Datagram } from './ike-exchange-harness.ts';
import { gatewaySignatureAuth, makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

const skip = opensslSkipReason() ?? false;
const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-frag-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ipSize = (d: Datagram): number => d.data.length + 28 + (d.dst.port === 500 ? 0 : 4);

function harness(o: { fragmentationA?: boolean; fragmentationB?: boolean; nat?: boolean; maxDatagram?: number } = {}): Harness {
  return new Harness({
    peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 3) },
    peerB: { psk: null, signature: gatewaySignatureAuth(dir, 'gwB', 3) },
    maxDatagram: FRAGMENT_IP_DATAGRAM,
    ...o,
  });
}

t.test('IKEv1 fragmentation', { skip }, async (t) => {
  makeGatewayPki(dir, 4096);

  for (const nat of [false, true]) {
    t.test(`MM5/MM6 fragmented over a ${FRAGMENT_IP_DATAGRAM}-byte path${nat ? ' (NAT, port 4500)' : ''}`, async (t) => {
      const h = harness({ nat });
      h.bringUp();
      t.same(h.failed, { A: [], B: [] });
      t.equal(h.installs.A.length, 2, 'A installed its pair');
      t.equal(h.installs.B.length, 2, 'B installed its pair');
      const frags = h.wire.filter((d) => isFragmentMessage(d.data));
      t.ok(frags.some((d) => d.from === 'A'), 'A sent fragments (MM5)');
      t.ok(frags.some((d) => d.from === 'B'), 'B sent fragments (MM6)');
      t.ok(frags.every((d) => ipSize(d) <= FRAGMENT_IP_DATAGRAM), 'every fragment fits the path');
      if (nat) t.ok(frags.every((d) => d.dst.port === 4500 || d.dst.port === 14500), 'fragments go on port 4500');
      t.equal(h.tooBig.length, 0, 'nothing was lost');
      t.ok(h.a.counters.fragmentsSent >= 2 && h.b.counters.reassembled === 1 && h.a.counters.reassembled === 1);
      t.ok(h.logs.A.some((l) => /^FRAGMENTS sending \d+-byte message as \d+ fragments/.test(l)));
      t.ok(h.logs.B.some((l) => /^FRAGMENTS reassembled \d+ fragments/.test(l)));
      // MM1 and MM2 carry the vendor ID with strongSwan's capability bytes.
      const vids = (d: Datagram): Buffer[] => {
        const m = decodeMessage(d.data);
        return m.ok && !m.value.encrypted ? payloadsOfType(m.value.payloads, PayloadType.VENDOR_ID).map((v) => v.data) : [];
      };
      t.ok(vids(h.wire[0]!).some((v) => v.equals(FRAGMENTATION_VENDOR_ID)), 'MM1 announces fragmentation');
      t.ok(vids(h.wire[1]!).some((v) => v.equals(FRAGMENTATION_VENDOR_ID)), 'MM2 answers it');
      // The fragments of one message share cookies and a fragment ID, numbered from 1.
      const mm5 = frags.filter((d) => d.from === 'A').map((d) => decodeFragment(d.data));
      t.same(
        mm5.map((x) => (x.ok ? x.value.number : 0)),
        mm5.map((_, i) => i + 1),
      );
      t.ok(mm5.at(-1)?.ok && mm5.at(-1)!.ok && (mm5.at(-1) as { value: { last: boolean } }).value.last, 'the last one is flagged');
    });
  }

  t.test('without the peer announcing fragmentation the tunnel does not come up', async (t) => {
    for (const o of [{ fragmentationB: false }, { fragmentationA: false }]) {
      const h = harness(o);
      h.bringUp();
      for (let i = 0; i < 8; i++) h.advance(10_000);
      t.equal(h.wire.filter((d) => isFragmentMessage(d.data)).length, 0, `${JSON.stringify(o)}: no fragments`);
      t.ok(h.tooBig.length > 0, 'the large MM5 is lost on the path');
      t.equal(h.installs.A.length + h.installs.B.length, 0, 'no IPsec SAs');
      const vid = (d: Datagram): boolean => {
        const m = decodeMessage(d.data);
        return (
          m.ok &&
          !m.value.encrypted &&
          payloadsOfType(m.value.payloads, PayloadType.VENDOR_ID).some((v) => v.data.equals(FRAGMENTATION_VENDOR_ID))
        );
      };
      if (o.fragmentationB === false) t.notOk(vid(h.wire[1]!), 'B does not answer the vendor ID');
      else t.notOk(vid(h.wire[0]!), 'A does not announce it');
    }
  });

  t.test('a lost fragment: the retransmission resends the same fragments', async (t) => {
    const h = harness();
    let dropped = false;
    h.filter = (d) => {
      if (!dropped && d.from === 'A' && isFragmentMessage(d.data)) {
        const x = decodeFragment(d.data);
        if (x.ok && x.value.number === 2) {
          dropped = true;
          return null;
        }
      }
      return d.data;
    };
    h.bringUp();
    t.equal(h.installs.A.length, 0, 'not up yet: fragment 2 of MM5 was lost');
    h.advance(10_000);
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.installs.A.length, 2, 'up after the retransmission');
    const aFrags = h.wire.filter((d) => d.from === 'A' && isFragmentMessage(d.data));
    const n = aFrags.length / 2;
    t.ok(Number.isInteger(n) && n >= 2, 'the whole set was sent twice');
    t.ok(aFrags.slice(0, n).every((d, i) => d.data.equals(aFrags[n + i]!.data)), 'identical fragments (same fragment ID)');
  });

  t.test('a retransmitted MM5 (MM6 lost) is answered with the MM6 fragments again', async (t) => {
    const h = harness();
    let lost = 0;
    h.filter = (d) => (d.from === 'B' && isFragmentMessage(d.data) && lost++ < 1 ? null : d.data);
    h.bringUp();
    t.equal(h.installs.A.length, 0);
    h.advance(10_000);
    t.equal(h.installs.A.length, 2, 'A completes with the resent MM6');
    t.ok(h.b.counters.retransmitted >= 1);
  });

  t.test('fragments are refused without an ISAKMP SA', async (t) => {
    const h = harness();
    h.bringUp();
    const frag = h.wire.find((d) => d.from === 'A' && isFragmentMessage(d.data))!;
    const spoofed = Buffer.from(frag.data);
    spoofed[0] = spoofed[0]! ^ 0xff;
    const before = h.b.counters.fragmentsDropped;
    const out = h.b.receive(spoofed, { address: '198.51.100.1', port: 500 }, 500);
    t.equal(out.filter((a) => a.kind === 'send').length, 0);
    t.equal(h.b.counters.fragmentsDropped, before + 1);
  });
});
