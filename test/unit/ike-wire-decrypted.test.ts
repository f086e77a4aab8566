// Parses the encrypted half of the strongSwan capture (MM5, MM6, QM1..QM3)
// after decrypting it with the lab-only key from the capture's Wireshark
// decryption table. The decryption here is a minimal test oracle (AES-128-CBC
// with the RFC 2409 Appendix B IV chain, SHA2-256 as negotiated in MM1), not
// the daemon's crypto code; it exists so decodePayloads is tested on real
// plaintext, including strongSwan's zero padding.

import { fixture } from '../lib/paths.ts';
import t from 'tap';
import { createDecipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcapUdp } from '../lib/pcap.ts';
import {
  decodeMessage,
  decodePayloads,
  describePayloads,
  Doi,
  EncapsulationMode,
  encodePayloads,
  EspTransformId,
  IdType,
  LifeType,
  NotifyType,
  parseIpsecAttributes,
  PayloadType,
  payloadsOfType,
  ProtocolId,
  idPayload,
  mainMode5,
  mainMode6,
  quickMode1,
  quickMode2,
  quickMode3,
  trafficSelector,
  udpEncapsulationMode,
  type EncryptedMessage,
  type Payload,
} from '../../firmware/src/ike/wire/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pcaps = path.dirname(fixture('pcaps', 'ikev1-main-quick-natt.pcap'));
const pcapFile = path.join(pcaps, 'ikev1-main-quick-natt.pcap');
const keyFile = path.join(pcaps, 'ikev1-main-quick-natt.ikev1_decryption_table');

if (!existsSync(pcapFile) || !existsSync(keyFile)) {
  t.plan(0, `SKIPPED: capture or key table missing under ${pcaps}`);
} else {
  // Wireshark IKEv1 table: "<initiator cookie hex>,<encryption key hex>".
  const [cookieHex, keyHex] = readFileSync(keyFile, 'utf8').trim().split(',');
  const key = Buffer.from(keyHex ?? '', 'hex');
  const msgs = readPcapUdp(pcapFile)
    .filter((r) => r.kind === 'ike')
    .map((r) => {
      const d = decodeMessage(r.payload);
      if (!d.ok) throw new Error(d.reason);
      return d.value;
    });
  const enc = msgs.slice(4).map((m) => {
    if (!m.encrypted) throw new Error('expected encrypted');
    return m;
  });
  const ke = (i: number): Buffer => {
    const m = msgs[i]!;
    if (m.encrypted) throw new Error('expected clear');
    return payloadsOfType(m.payloads, PayloadType.KE)[0]!.data;
  };
  const cbc = (body: Buffer, iv: Buffer): Buffer => {
    const d = createDecipheriv('aes-128-cbc', key, iv);
    d.setAutoPadding(false);
    return Buffer.concat([d.update(body), d.final()]);
  };
  const lastBlock = (m: EncryptedMessage): Buffer => m.body.subarray(m.body.length - 16);
  // RFC 2409 Appendix B: phase 1 IV = HASH(g^xi | g^xr); then the last
  // ciphertext block of the previous message. Quick mode IV =
  // HASH(last phase 1 block | M-ID), then chained per message.
  const plain: Buffer[] = [];
  let iv: Buffer = createHash('sha256').update(ke(2)).update(ke(3)).digest().subarray(0, 16);
  for (const m of enc.slice(0, 2)) {
    plain.push(cbc(m.body, iv));
    iv = lastBlock(m);
  }
  const mid = Buffer.alloc(4);
  mid.writeUInt32BE(enc[2]!.header.messageId);
  iv = createHash('sha256').update(iv).update(mid).digest().subarray(0, 16);
  for (const m of enc.slice(2)) {
    plain.push(cbc(m.body, iv));
    iv = lastBlock(m);
  }
  const parse = (i: number) => {
    const r = decodePayloads(enc[i]!.header.nextPayload, plain[i]!, { allowPadding: true });
    if (!r.ok) throw new Error(`message ${i + 5}: ${r.reason} at ${r.offset}`);
    return r.value;
  };

  t.equal(cookieHex, msgs[0]!.header.initiatorCookie.toString('hex'), 'key table belongs to this capture');

  t.test('MM5: IDii FQDN gwA.lab, HASH_I, INITIAL-CONTACT', async (t) => {
    const d = parse(0);
    t.same(d.payloads.map((p) => p.type), [PayloadType.ID, PayloadType.HASH, PayloadType.NOTIFY]);
    t.equal(describePayloads(d.payloads), '[ ID HASH N(INITIAL-CONTACT) ]');
    const id = payloadsOfType(d.payloads, PayloadType.ID)[0]!;
    t.same(id, { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.FQDN, name: 'gwA.lab' } });
    t.equal(payloadsOfType(d.payloads, PayloadType.HASH)[0]!.data.length, 32);
    const n = payloadsOfType(d.payloads, PayloadType.NOTIFY)[0]!;
    t.equal(n.notifyType, NotifyType.INITIAL_CONTACT);
    t.equal(n.protocol, ProtocolId.ISAKMP);
    t.equal(n.doi, Doi.IPSEC);
    const cookies = Buffer.concat([enc[0]!.header.initiatorCookie, enc[0]!.header.responderCookie]);
    t.ok(n.spi.equals(cookies), 'ISAKMP notify SPI is both cookies (RFC 2408 §3.14)');
    t.equal(n.data.length, 0);
    t.ok(d.padding > 0 && d.padding < 16, `padding ${d.padding}`);
    t.ok(plain[0]!.subarray(plain[0]!.length - d.padding).every((b) => b === 0), 'strongSwan pads with zeros');
  });

  t.test('MM6: IDir FQDN gwB.lab, HASH_R', async (t) => {
    const d = parse(1);
    t.same(d.payloads.map((p) => p.type), [PayloadType.ID, PayloadType.HASH]);
    t.same(payloadsOfType(d.payloads, PayloadType.ID)[0]!.id, { idType: IdType.FQDN, name: 'gwB.lab' });
  });

  t.test('QM1/QM2: HASH, SA (ESP AES-GCM-16/128, UDP tunnel), Ni/Nr, IDci, IDcr', async (t) => {
    const spis: string[] = [];
    for (const i of [2, 3]) {
      const d = parse(i);
      t.same(d.payloads.map((p) => p.type), [PayloadType.HASH, PayloadType.SA, PayloadType.NONCE, PayloadType.ID, PayloadType.ID]);
      const sa = payloadsOfType(d.payloads, PayloadType.SA)[0]!;
      t.equal(sa.proposals.length, 1);
      const p = sa.proposals[0]!;
      t.equal(p.protocol, ProtocolId.ESP);
      t.equal(p.spi.length, 4);
      spis.push(p.spi.toString('hex'));
      t.equal(p.transforms.length, 1);
      t.equal(p.transforms[0]!.id, EspTransformId.AES_GCM_16);
      const a = parseIpsecAttributes(p.transforms[0]!.attributes);
      if (typeof a === 'string') return t.fail(a);
      t.equal(a.keyLength, 128);
      t.equal(a.encapsulationMode, EncapsulationMode.UDP_TUNNEL);
      t.same(a.lifetimes, [{ type: LifeType.SECONDS, duration: 3960 }]);
      t.equal(a.authAlgorithm, undefined, 'AEAD: no auth algorithm');
      const ids = payloadsOfType(d.payloads, PayloadType.ID);
      t.same(ids.map((x) => x.id), [
        { idType: IdType.IPV4_ADDR_SUBNET, address: '10.1.0.0', mask: '255.255.255.0' },
        { idType: IdType.IPV4_ADDR_SUBNET, address: '10.2.0.0', mask: '255.255.255.0' },
      ]);
      t.same(ids.map((x) => [x.protocol, x.port]), [[0, 0], [0, 0]]);
      t.equal(payloadsOfType(d.payloads, PayloadType.NONCE)[0]!.data.length, 32);
    }
    // The inbound SPIs each side chose are the ESP SPIs seen on the wire.
    t.same(spis.sort(), ['1488fa5e', 'c0b7fb91']);
  });

  t.test('QM3: HASH(3) only', async (t) => {
    const d = parse(4);
    t.same(d.payloads.map((p) => p.type), [PayloadType.HASH]);
    t.equal(payloadsOfType(d.payloads, PayloadType.HASH)[0]!.data.length, 32);
  });

  t.test('re-encoding each decrypted chain gives the plaintext minus padding', async (t) => {
    for (let i = 0; i < plain.length; i++) {
      const d = parse(i);
      const again = encodePayloads(d.payloads);
      t.equal(again.first, enc[i]!.header.nextPayload);
      t.equal(again.bytes.toString('hex'), plain[i]!.subarray(0, plain[i]!.length - d.padding).toString('hex'), `message ${i + 5}`);
      t.same(again.spans.map((s) => [s.offset, s.length]), d.spans.map((s) => [s.offset, s.length]));
    }
  });

  t.test('without allowPadding, padded plaintext is rejected', async (t) => {
    const r = decodePayloads(enc[0]!.header.nextPayload, plain[0]!);
    t.equal(r.ok, false);
    if (!r.ok) t.match(r.reason, /bytes after the last payload/);
  });

  t.test('builders reproduce strongSwan\'s MM5, MM6 and QM1..QM3 plaintext', async (t) => {
    const hashOf = (i: number): Buffer => payloadsOfType(parse(i).payloads, PayloadType.HASH)[0]!.data;
    const nonceOf = (i: number): Buffer => payloadsOfType(parse(i).payloads, PayloadType.NONCE)[0]!.data;
    const spiOf = (i: number): Buffer => payloadsOfType(parse(i).payloads, PayloadType.SA)[0]!.proposals[0]!.spi;
    const h = enc[0]!.header;
    const ids = { initiator: trafficSelector('10.1.0.0/24'), responder: trafficSelector('10.2.0.0/24') };
    const proposal = (spi: Buffer) => ({
      protocol: ProtocolId.ESP,
      spi,
      transforms: [
        {
          id: EspTransformId.AES_GCM_16,
          attributes: {
            keyLength: 128,
            encapsulationMode: udpEncapsulationMode('rfc', true),
            lifetimes: [{ type: LifeType.SECONDS, duration: 3960 }],
            other: [],
          },
        },
      ],
    });
    const built: Payload[][] = [
      mainMode5({
        id: idPayload({ idType: IdType.FQDN, name: 'gwA.lab' }),
        auth: { kind: 'hash', hash: hashOf(0) },
        initialContact: { initiatorCookie: h.initiatorCookie, responderCookie: h.responderCookie },
      }),
      mainMode6({ id: idPayload({ idType: IdType.FQDN, name: 'gwB.lab' }), auth: { kind: 'hash', hash: hashOf(1) } }),
      quickMode1(hashOf(2), { proposals: [proposal(spiOf(2))], nonce: nonceOf(2), ids }),
      quickMode2(hashOf(3), { proposals: [proposal(spiOf(3))], nonce: nonceOf(3), ids }),
      quickMode3(hashOf(4)),
    ];
    built.forEach((payloads, i) => {
      const d = parse(i);
      const e = encodePayloads(payloads);
      t.equal(e.first, enc[i]!.header.nextPayload);
      t.equal(e.bytes.toString('hex'), plain[i]!.subarray(0, plain[i]!.length - d.padding).toString('hex'), `message ${i + 5}`);
    });
  });
}
