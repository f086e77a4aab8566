// Decodes the strongSwan 5.9.8 IKEv2 capture (IKE_SA_INIT on 500, IKE_AUTH on
// 4500 across a NAT, PSK, ids gwA.lab/gwB.lab) with the IKEv2 codecs,
// decrypts both IKE_AUTH messages with the capture's Wireshark key table,
// and checks what strongSwan sent, byte-exact re-encoding of the cleartext
// messages and byte-exact re-sealing of the encrypted ones.

import { fixture } from '../lib/paths.ts';
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcapUdp } from '../lib/pcap.ts';
import {
  AuthMethod,
  EncrId,
  encodeMessage,
  ExchangeType,
  firstOfType,
  formatId,
  formatSelector,
  HeaderFlag,
  IdType,
  decodeMessage,
  NotifyType,
  openEncrypted,
  openMessage,
  PayloadType,
  payloadsOfType,
  ProtocolId,
  sealEncrypted,
  TransformType,
  type Message,
  type Payload,
  type SkKeys,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { encrById, integById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { natDetectionHash } from '../../firmware/src/ike/crypto/nat-d.ts';
import { hashById, HashId } from '../../firmware/src/ike/crypto/hash.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pcaps = path.dirname(fixture('pcaps', 'ikev2-natt.pcap'));
const pcapFile = path.join(pcaps, 'ikev2-natt.pcap');
const tableFile = path.join(pcaps, 'ikev2-natt.ikev2_decryption_table');

if (!existsSync(pcapFile) || !existsSync(tableFile)) {
  t.plan(0, `SKIPPED: capture not found at ${pcapFile} (shared/ must sit beside the repo)`);
} else {
  // Wireshark IKEv2 table: SPIi, SPIr, SK_ei, SK_er, "encr", SK_ai, SK_ar, "integ".
  const row = readFileSync(tableFile, 'utf8').trim().split('\n')[0]!.split(',');
  const hex = (i: number): Buffer => Buffer.from(row[i]!, 'hex');
  const encr = encrById(EncrId.AES_CBC, 128)!;
  const integ = integById(12)!;
  const keysI: SkKeys = { encr, integ, encKey: hex(2), integKey: hex(5) };
  const keysR: SkKeys = { encr, integ, encKey: hex(3), integKey: hex(6) };

  const records = readPcapUdp(pcapFile);
  const ike = records.filter((r) => r.kind === 'ike');
  const decoded: Message[] = ike.map((r) => {
    const d = decodeMessage(r.payload);
    if (!d.ok) throw new Error(`frame ${r.frame}: ${d.reason} at ${d.offset}`);
    return d.value;
  });
  const types = (ps: readonly Payload[]): string =>
    ps.map((p) => (p.type === PayloadType.NOTIFY && 'notifyType' in p ? `N(${p.notifyType})` : String(p.type))).join(' ');

  t.test('four IKE messages: IKE_SA_INIT on 500, IKE_AUTH on 4500 with the non-ESP marker', async (t) => {
    t.equal(ike.length, 4);
    t.same(ike.map((r) => [r.srcPort, r.dstPort]), [[500, 500], [500, 500], [4500, 4500], [4500, 4500]]);
    t.same(decoded.map((m) => m.header.exchange), [ExchangeType.IKE_SA_INIT, ExchangeType.IKE_SA_INIT, ExchangeType.IKE_AUTH, ExchangeType.IKE_AUTH]);
    t.same(decoded.map((m) => m.header.messageId), [0, 0, 1, 1]);
    t.same(decoded.map((m) => m.header.flags), [HeaderFlag.INITIATOR, HeaderFlag.RESPONSE, HeaderFlag.INITIATOR, HeaderFlag.RESPONSE]);
    t.equal(decoded[0]!.header.spiI.toString('hex'), row[0]);
    t.equal(decoded[0]!.header.spiR.toString('hex'), '0000000000000000');
    t.equal(decoded[1]!.header.spiR.toString('hex'), row[1]);
  });

  t.test('IKE_SA_INIT: SA, KE (group 14), nonce, NAT-D, RFC 7383/7427 notifies', async (t) => {
    const [req, resp] = [decoded[0]!, decoded[1]!];
    const n = NotifyType;
    t.equal(
      types(req.payloads),
      `33 34 40 N(${n.NAT_DETECTION_SOURCE_IP}) N(${n.NAT_DETECTION_DESTINATION_IP}) N(${n.IKEV2_FRAGMENTATION_SUPPORTED}) ` +
        `N(${n.SIGNATURE_HASH_ALGORITHMS}) N(${n.REDIRECT_SUPPORTED})`,
    );
    t.equal(
      types(resp.payloads),
      `33 34 40 N(${n.NAT_DETECTION_SOURCE_IP}) N(${n.NAT_DETECTION_DESTINATION_IP}) N(${n.IKEV2_FRAGMENTATION_SUPPORTED}) ` +
        `N(${n.SIGNATURE_HASH_ALGORITHMS}) N(${n.CHILDLESS_IKEV2_SUPPORTED}) N(${n.MULTIPLE_AUTH_SUPPORTED})`,
    );
    for (const m of [req, resp]) {
      const sa = firstOfType(m.payloads, PayloadType.SA)!;
      t.equal(sa.proposals.length, 1);
      const p = sa.proposals[0]!;
      t.equal(p.protocol, ProtocolId.IKE);
      t.equal(p.spi.length, 0);
      t.same(p.transforms.map((x) => [x.type, x.id, x.keyLength]), [
        [TransformType.ENCR, EncrId.AES_CBC, 128],
        [TransformType.INTEG, 12, undefined],
        [TransformType.PRF, 5, undefined],
        [TransformType.DH, 14, undefined],
      ]);
      const ke = firstOfType(m.payloads, PayloadType.KE)!;
      t.equal(ke.group, 14);
      t.equal(ke.data.length, 256);
      t.ok(firstOfType(m.payloads, PayloadType.NONCE)!.data.length >= 16);
    }
  });

  t.test('IKE_SA_INIT NAT-D hashes: SHA-1(SPIi | SPIr | IP | port), SPIr zero in the request (RFC 7296 §2.23)', async (t) => {
    const sha1 = hashById(HashId.SHA1)!;
    const req = decoded[0]!;
    const nd = payloadsOfType(req.payloads, PayloadType.NOTIFY);
    const dst = nd.find((p) => p.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP)!;
    const zero = Buffer.alloc(8);
    // The request went to the responder's real address: its destination hash matches.
    t.same(dst.data, natDetectionHash(sha1, req.header.spiI, zero, ike[0]!.dst, 500));
    // The source hash was computed over the private address (100.64.0.2), so it must not match what arrived.
    const src = nd.find((p) => p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP)!;
    t.notSame(src.data, natDetectionHash(sha1, req.header.spiI, zero, ike[0]!.src, 500), 'the NAT rewrote the source');
  });

  t.test('cleartext messages re-encode byte-exact', async (t) => {
    for (const i of [0, 1]) {
      const m = decoded[i]!;
      t.same(encodeMessage(m.header, m.payloads), ike[i]!.payload, `frame ${ike[i]!.frame}`);
    }
  });

  t.test('IKE_AUTH request decrypts with SK_ei/SK_ai: IDi, INITIAL_CONTACT, IDr, PSK AUTH, SA, TSi, TSr', async (t) => {
    const inner = openMessage(decoded[2]!, keysI);
    if (!inner.ok) throw new Error(inner.reason);
    const ps = inner.value;
    t.equal(types(ps.slice(0, 7)), `35 N(${NotifyType.INITIAL_CONTACT}) 36 39 33 44 45`);
    const idi = firstOfType(ps, PayloadType.IDI)!;
    t.equal(idi.idType, IdType.FQDN);
    t.equal(formatId(idi), 'gwA.lab');
    t.equal(formatId(firstOfType(ps, PayloadType.IDR)!), 'gwB.lab');
    const auth = firstOfType(ps, PayloadType.AUTH)!;
    t.equal(auth.method, AuthMethod.SHARED_KEY_MIC);
    t.equal(auth.data.length, 32, 'PSK AUTH is one PRF_HMAC_SHA2_256 output');
    const sa = firstOfType(ps, PayloadType.SA)!;
    t.equal(sa.proposals[0]!.protocol, ProtocolId.ESP);
    t.same(sa.proposals[0]!.transforms.map((x) => [x.type, x.id, x.keyLength]), [
      [TransformType.ENCR, EncrId.AES_GCM_16, 128],
      [TransformType.ESN, 0, undefined],
    ]);
    t.same(firstOfType(ps, PayloadType.TSI)!.selectors.map(formatSelector), ['10.1.0.0-10.1.0.255']);
    t.same(firstOfType(ps, PayloadType.TSR)!.selectors.map(formatSelector), ['10.2.0.0-10.2.0.255']);
  });

  t.test('IKE_AUTH response decrypts with SK_er/SK_ar; child SPIs are the ESP frames\' SPIs', async (t) => {
    const req = openMessage(decoded[2]!, keysI);
    const resp = openMessage(decoded[3]!, keysR);
    if (!req.ok || !resp.ok) throw new Error('decrypt failed');
    t.equal(types(resp.value.slice(0, 5)), '36 39 33 44 45');
    const spiI = firstOfType(req.value, PayloadType.SA)!.proposals[0]!.spi.readUInt32BE(0);
    const spiR = firstOfType(resp.value, PayloadType.SA)!.proposals[0]!.spi.readUInt32BE(0);
    const esp = records.filter((r) => r.kind === 'esp');
    // Traffic to the initiator carries the initiator's SPI, and vice versa.
    t.ok(esp.filter((r) => r.dst === ike[0]!.src).every((r) => r.payload.readUInt32BE(0) === spiI));
    t.ok(esp.filter((r) => r.dst === ike[0]!.dst).every((r) => r.payload.readUInt32BE(0) === spiR));
    t.equal(spiI, 0x5a7fa034);
    t.equal(spiR, 0x7130daa4);
  });

  t.test('the wrong direction\'s keys fail the integrity check, and so does one flipped bit', async (t) => {
    const wrong = openMessage(decoded[2]!, keysR);
    t.notOk(wrong.ok);
    if (!wrong.ok) t.match(wrong.reason, /integrity/);
    for (const at of [0, 20, 40, ike[2]!.payload.length - 1]) {
      const raw = Buffer.from(ike[2]!.payload);
      raw[at]! ^= 0x01;
      const d = decodeMessage(raw);
      const o = d.ok ? openMessage(d.value, keysI) : d;
      t.notOk(o.ok, `bit flip at ${at} rejected`);
    }
  });

  t.test('re-sealing the decrypted chain with the captured IV reproduces strongSwan\'s ciphertext', async (t) => {
    for (const [i, keys] of [[2, keysI], [3, keysR]] as const) {
      const m = decoded[i]!;
      const o = openEncrypted(m, keys);
      if (!o.ok) throw new Error(o.reason);
      const skOff = m.offsets[m.offsets.length - 1]! + 4;
      const iv = m.raw.subarray(skOff, skOff + 16);
      const again = sealEncrypted(m.header, [], o.value.innerFirst, o.value.chain, keys, Buffer.from(iv));
      t.equal(again.length, m.raw.length, `frame ${ike[i]!.frame}: same length (minimal CBC padding, §3.14)`);
      // Padding bytes are the sender's choice (§3.14: not checked by the receiver), so only the last
      // cipher block and the ICV may differ; where strongSwan needed no padding the datagram is identical.
      const tail = 16 + keys.integ!.icvLength;
      t.same(again.subarray(0, again.length - tail), m.raw.subarray(0, m.raw.length - tail), `frame ${ike[i]!.frame}: all blocks before the padding`);
      const d = decodeMessage(again);
      t.ok(d.ok && openMessage(d.value, keys).ok, `frame ${ike[i]!.frame}: our sealing verifies`);
    }
    const m4 = decoded[3]!;
    const o4 = openEncrypted(m4, keysR);
    if (!o4.ok) throw new Error(o4.reason);
    const skOff = m4.offsets[m4.offsets.length - 1]! + 4;
    t.same(
      sealEncrypted(m4.header, [], o4.value.innerFirst, o4.value.chain, keysR, Buffer.from(m4.raw.subarray(skOff, skOff + 16))),
      ike[3]!.payload,
      'frame 4 byte for byte',
    );
  });
}
