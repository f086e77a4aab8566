// Decodes every IKEv1 message of the strongSwan capture (MM1..MM6, QM1..QM3)
// and checks what strongSwan 5.9.8 actually sent, byte-exact re-encoding of
// the cleartext messages, and agreement with tshark's ISAKMP dissector.

import { fixture } from '../lib/paths.ts';
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcapUdp } from '../lib/pcap.ts';
import {
  AuthMethod,
  decodeMessage,
  describeMessage,
  DhGroup,
  Doi,
  encodeMessage,
  EncryptionAlgorithm,
  ExchangeType,
  HashAlgorithm,
  HeaderFlag,
  NotifyType,
  identifyVendorId,
  IsakmpTransformId,
  LifeType,
  natTraversalFlavour,
  parsePhase1Attributes,
  PayloadType,
  ProtocolId,
  Situation,
  type CleartextMessage,
  type DecodedMessage,
  type Payload,
  type PayloadOfType,
  payloadsOfType,
} from '../../firmware/src/ike/wire/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = path.resolve(repoRoot, '..', 'shared');
const pcapFile = fixture('pcaps', 'ikev1-main-quick-natt.pcap');
const ikev2File = fixture('pcaps', 'ikev2-natt.pcap');

if (!existsSync(pcapFile)) {
  t.plan(0, `SKIPPED: capture not found at ${pcapFile} (shared/ must sit beside the repo)`);
} else {
  const ike = readPcapUdp(pcapFile).filter((r) => r.kind === 'ike');
  const decoded = ike.map((r) => {
    const d = decodeMessage(r.payload);
    if (!d.ok) throw new Error(`frame ${r.frame}: ${d.reason} at ${d.offset}`);
    return d.value;
  });
  const clear = (i: number): CleartextMessage => {
    const d = decoded[i]!;
    if (d.encrypted) throw new Error(`message ${i + 1} unexpectedly encrypted`);
    return d;
  };
  const ofType = <T extends Payload['type']>(m: CleartextMessage, type: T): PayloadOfType<T>[] => payloadsOfType(m.payloads, type);

  t.test('nine IKE messages: MM1..MM4 clear, MM5..QM3 encrypted', async (t) => {
    t.equal(ike.length, 9);
    t.same(decoded.map((d) => d.encrypted), [false, false, false, false, true, true, true, true, true]);
    const { MAIN, QUICK } = ExchangeType;
    t.same(decoded.map((d) => d.header.exchangeType), [MAIN, MAIN, MAIN, MAIN, MAIN, MAIN, QUICK, QUICK, QUICK]);
    const icookie = decoded[0]!.header.initiatorCookie;
    const rcookie = decoded[1]!.header.responderCookie;
    t.equal(decoded[0]!.header.responderCookie.toString('hex'), '0000000000000000', 'MM1 has no responder cookie');
    for (const d of decoded) {
      t.ok(d.header.initiatorCookie.equals(icookie));
      t.equal(d.header.majorVersion, 1);
      t.equal(d.header.minorVersion, 0);
    }
    for (const d of decoded.slice(1)) t.ok(d.header.responderCookie.equals(rcookie));
  });

  t.test('MM1/MM2: one ISAKMP proposal AES-128-CBC/SHA2-256/MODP-2048/PSK', async (t) => {
    for (const i of [0, 1]) {
      const m = clear(i);
      const [sa, ...more] = ofType(m, PayloadType.SA);
      t.equal(more.length, 0);
      if (sa === undefined) return t.fail('no SA');
      t.equal(m.payloads[0]!.type, PayloadType.SA, 'SA comes first');
      t.equal(sa.doi, Doi.IPSEC);
      t.equal(sa.situation, Situation.IDENTITY_ONLY);
      t.equal(sa.proposals.length, 1);
      const p = sa.proposals[0]!;
      t.equal(p.protocol, ProtocolId.ISAKMP);
      t.equal(p.spi.length, 0);
      t.equal(p.transforms.length, 1);
      t.equal(p.transforms[0]!.id, IsakmpTransformId.KEY_IKE);
      const a = parsePhase1Attributes(p.transforms[0]!.attributes);
      if (typeof a === 'string') return t.fail(a);
      t.equal(a.encryption, EncryptionAlgorithm.AES_CBC);
      t.equal(a.keyLength, 128);
      t.equal(a.hash, HashAlgorithm.SHA2_256);
      t.equal(a.group, DhGroup.MODP_2048);
      t.equal(a.authMethod, AuthMethod.PRE_SHARED_KEY);
      t.same(a.lifetimes, [{ type: LifeType.SECONDS, duration: 15840 }]);
      t.same(a.other, []);
    }
  });

  t.test('MM1/MM2 vendor IDs', async (t) => {
    const names = (i: number): (string | null)[] => ofType(clear(i), PayloadType.VENDOR_ID).map((v) => identifyVendorId(v.data));
    t.same(names(0), ['XAUTH', 'DPD', 'CISCO_FRAGMENTATION', 'NAT_T_RFC3947', 'NAT_T_DRAFT_02_N']);
    t.same(names(1), ['XAUTH', 'DPD', 'CISCO_FRAGMENTATION', 'NAT_T_RFC3947']);
    t.equal(natTraversalFlavour(ofType(clear(1), PayloadType.VENDOR_ID).map((v) => v.data)), 'rfc');
  });

  t.test('MM3/MM4: KE for MODP-2048, 32-byte nonce, two RFC 3947 NAT-D', async (t) => {
    for (const i of [2, 3]) {
      const m = clear(i);
      t.same(m.payloads.map((p) => p.type), [PayloadType.KE, PayloadType.NONCE, PayloadType.NAT_D, PayloadType.NAT_D]);
      t.equal(ofType(m, PayloadType.KE)[0]!.data.length, 256, 'group 14 public value is 256 bytes');
      t.equal(ofType(m, PayloadType.NONCE)[0]!.data.length, 32);
      const natd = ofType(m, PayloadType.NAT_D);
      t.equal(natd.length, 2);
      for (const n of natd) t.equal(n.hash.length, 32, 'SHA2-256 NAT-D hash');
      t.notOk(natd[0]!.hash.equals(natd[1]!.hash));
      t.same(m.spans.map((s) => s.length), [260, 36, 36, 36]);
    }
  });

  t.test('re-encoding MM1..MM4 reproduces the captured bytes', async (t) => {
    for (const i of [0, 1, 2, 3]) {
      const m = clear(i);
      const again = encodeMessage(m.header, m.payloads);
      t.equal(again.toString('hex'), ike[i]!.payload.toString('hex'), `message ${i + 1}`);
    }
  });

  t.test('MM5..QM3: encrypted, body a whole number of AES blocks, on port 4500', async (t) => {
    const qmId = decoded[6]!.header.messageId;
    t.not(qmId, 0, 'quick mode has a non-zero message ID');
    decoded.slice(4).forEach((d, j) => {
      const i = j + 4;
      if (!d.encrypted) return t.fail('not encrypted');
      t.equal(d.header.flags & HeaderFlag.ENCRYPTION, HeaderFlag.ENCRYPTION);
      t.equal(d.body.length % 16, 0, `message ${i + 1} body ${d.body.length} is a multiple of 16`);
      t.equal(d.body.length, ike[i]!.payload.length - 28);
      t.equal(d.header.messageId, i < 6 ? 0 : qmId);
      t.equal(d.header.nextPayload, i < 6 ? PayloadType.ID : PayloadType.HASH);
      t.ok(ike[i]!.nonEspMarker && ike[i]!.dstPort === 4500, 'floated to 4500 with a non-ESP marker');
    });
  });

  t.test('log summaries name payloads, never contents', async (t) => {
    t.same(decoded.map(describeMessage), [
      'main mid=0 [ SA V V V V V ] 180 bytes',
      'main mid=0 [ SA V V V V ] 160 bytes',
      'main mid=0 [ KE No NAT-D NAT-D ] 396 bytes',
      'main mid=0 [ KE No NAT-D NAT-D ] 396 bytes',
      'main mid=0 encrypted 108 bytes',
      'main mid=0 encrypted 92 bytes',
      'quick mid=7cdcfa6a encrypted 188 bytes',
      'quick mid=7cdcfa6a encrypted 188 bytes',
      'quick mid=7cdcfa6a encrypted 76 bytes',
    ]);
  });

  t.test('IKEv2 messages are refused as major version 2', { skip: existsSync(ikev2File) ? false : `SKIPPED: ${ikev2File} not found` }, async (t) => {
    const v2 = readPcapUdp(ikev2File).filter((r) => r.kind === 'ike');
    t.ok(v2.length >= 4, `${v2.length} IKEv2 messages`);
    for (const r of v2) {
      const d = decodeMessage(r.payload);
      t.same(d.ok ? null : [d.notify, d.offset], [NotifyType.INVALID_MAJOR_VERSION, 17], `frame ${r.frame}`);
    }
  });

  // tshark's dissector is an independent reading of the same bytes.
  let tshark: string | null = null;
  let tsharkError = '';
  try {
    tshark = execFileSync(
      'tshark',
      ['-r', pcapFile, '-Y', 'isakmp', '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=|',
        ...['frame.number', 'isakmp.ispi', 'isakmp.rspi', 'isakmp.nextpayload', 'isakmp.exchangetype',
          'isakmp.flags', 'isakmp.messageid', 'isakmp.length', 'isakmp.vid_bytes'].flatMap((f) => ['-e', f])],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
    );
  } catch (e) {
    tsharkError = (e as Error).message.split('\n')[0] ?? '';
  }

  t.test('header fields agree with tshark', { skip: tshark === null ? `SKIPPED: tshark not runnable here (${tsharkError})` : false }, async (t) => {
    const out = tshark ?? '';
    const rows = out.trim().split('\n').map((l) => l.split('\t'));
    t.equal(rows.length, decoded.length);
    rows.forEach((row, i) => {
      const [frame, ispi, rspi, next, exch, flags, mid, len, vids] = row;
      const d: DecodedMessage = decoded[i]!;
      t.equal(Number(frame), ike[i]!.frame);
      t.equal(ispi, d.header.initiatorCookie.toString('hex'));
      t.equal(rspi, d.header.responderCookie.toString('hex'));
      t.equal(Number(exch), d.header.exchangeType);
      t.equal(Number(flags), d.header.flags);
      t.equal(Number(mid), d.header.messageId);
      t.equal(Number(len), d.header.length);
      // tshark lists the header's next payload, then every generic header's
      // next payload in order, nested proposals/transforms included.
      const chain = (next ?? '').split('|').map(Number);
      t.equal(chain[0], d.header.nextPayload);
      if (!d.encrypted) {
        const ours: number[] = [d.header.nextPayload];
        d.payloads.forEach((p, k) => {
          ours.push(d.payloads[k + 1]?.type ?? 0);
          if (p.type === PayloadType.SA) {
            p.proposals.forEach((pr, pi) => {
              ours.push(pi < p.proposals.length - 1 ? 2 : 0);
              pr.transforms.forEach((_tr, ti) => ours.push(ti < pr.transforms.length - 1 ? 3 : 0));
            });
          }
        });
        t.same(chain, ours, `frame ${frame} next-payload chain`);
        const ourVids = d.payloads.flatMap((p) => (p.type === PayloadType.VENDOR_ID ? [p.data.toString('hex')] : []));
        t.same(vids === undefined || vids === '' ? [] : vids.split('|'), ourVids);
      }
    });
  });
}
