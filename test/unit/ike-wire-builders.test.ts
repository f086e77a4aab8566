// Message builders: MM1..MM4 built from typed inputs must equal strongSwan's
// captured bytes exactly (the encrypted messages are compared after
// decryption in ike-wire-decrypted.test.ts); every builder's output
// round-trips through encode/decode; DPD, delete and selector helpers.

import { fixture } from '../lib/paths.ts';
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcapUdp } from '../lib/pcap.ts';
import {
  AuthAlgorithm,
  AuthMethod,
  decodeMessage,
  decodePayloads,
  deleteIpsec,
  deleteIsakmp,
  DhGroup,
  dpdNotify,
  encodeMessage,
  encodePayloads,
  EncapsulationMode,
  EncryptionAlgorithm,
  EspTransformId,
  ExchangeType,
  HashAlgorithm,
  IdType,
  idPayload,
  informational,
  LifeType,
  mainMode1,
  mainMode2,
  mainMode3,
  mainMode4,
  mainMode5,
  mainMode6,
  NotifyType,
  parseDpd,
  PayloadType,
  payloadsOfType,
  ProtocolId,
  quickMode1,
  quickMode2,
  quickMode3,
  quickModeRest,
  trafficSelector,
  udpEncapsulationMode,
  VendorId,
  type CleartextMessage,
  type HeaderFields,
  type Payload,
  type Phase1Attributes,
} from '../../firmware/src/ike/wire/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pcapFile = fixture('pcaps', 'ikev1-main-quick-natt.pcap');

const strongswanSuite: Phase1Attributes = {
  encryption: EncryptionAlgorithm.AES_CBC,
  keyLength: 128,
  hash: HashAlgorithm.SHA2_256,
  group: DhGroup.MODP_2048,
  authMethod: AuthMethod.PRE_SHARED_KEY,
  lifetimes: [{ type: LifeType.SECONDS, duration: 15840 }],
  other: [],
};
const cookies = { initiatorCookie: Buffer.from('1111111111111111', 'hex'), responderCookie: Buffer.from('2222222222222222', 'hex') };

function roundTrip(t: Test, name: string, payloads: Payload[]): void {
  const enc = encodePayloads(payloads);
  const dec = decodePayloads(enc.first, enc.bytes);
  if (!dec.ok) {
    t.fail(`${name}: ${dec.reason}`);
    return;
  }
  t.same(dec.value.payloads, payloads, `${name} round-trips`);
}

t.test(
  'MM1..MM4 built from typed inputs equal the captured strongSwan bytes',
  { skip: existsSync(pcapFile) ? false : `SKIPPED: ${pcapFile} not found` },
  async (t) => {
    const msgs = readPcapUdp(pcapFile)
      .filter((r) => r.kind === 'ike')
      .slice(0, 4)
      .map((r) => {
        const d = decodeMessage(r.payload);
        if (!d.ok || d.value.encrypted) throw new Error('expected a cleartext message');
        return { bytes: r.payload, msg: d.value as CleartextMessage };
      });
    const header = (i: number): HeaderFields => msgs[i]!.msg.header;
    const ciscoFrag = Buffer.concat([VendorId.CISCO_FRAGMENTATION.bytes, Buffer.from('80000000', 'hex')]);
    const vids = [VendorId.XAUTH.bytes, VendorId.DPD.bytes, ciscoFrag, VendorId.NAT_T_RFC3947.bytes];

    const mm1 = encodeMessage(header(0), mainMode1({ transforms: [strongswanSuite] }, [...vids, VendorId.NAT_T_DRAFT_02_N.bytes]));
    t.equal(mm1.toString('hex'), msgs[0]!.bytes.toString('hex'), 'MM1');
    const mm2 = encodeMessage(header(1), mainMode2(strongswanSuite, 1, vids));
    t.equal(mm2.toString('hex'), msgs[1]!.bytes.toString('hex'), 'MM2');
    for (const i of [2, 3]) {
      const m = msgs[i]!.msg;
      const input = {
        ke: payloadsOfType(m.payloads, PayloadType.KE)[0]!.data,
        nonce: payloadsOfType(m.payloads, PayloadType.NONCE)[0]!.data,
        natD: { flavour: 'rfc' as const, hashes: payloadsOfType(m.payloads, PayloadType.NAT_D).map((n) => n.hash) },
      };
      const built = encodeMessage(header(i), i === 2 ? mainMode3(input) : mainMode4(input));
      t.equal(built.toString('hex'), msgs[i]!.bytes.toString('hex'), `MM${i + 1}`);
    }
  },
);

t.test('main mode builders: shapes and round trips', async (t) => {
  const { keyLength: _unused, ...withoutKeyLength } = strongswanSuite;
  const second: Phase1Attributes = {
    ...withoutKeyLength,
    encryption: EncryptionAlgorithm.TRIPLE_DES_CBC,
    hash: HashAlgorithm.SHA1,
    group: DhGroup.MODP_1024,
  };
  const mm1 = mainMode1({ transforms: [strongswanSuite, second] });
  const sa = payloadsOfType(mm1, PayloadType.SA)[0]!;
  t.same(sa.proposals.map((p) => [p.number, p.protocol, p.spi.length]), [[1, ProtocolId.ISAKMP, 0]], 'one ISAKMP proposal');
  t.same(sa.proposals[0]!.transforms.map((x) => x.number), [1, 2], 'alternatives are transforms 1..n');
  roundTrip(t, 'MM1', mm1);
  const mm2 = mainMode2(second, 2);
  t.equal(payloadsOfType(mm2, PayloadType.SA)[0]!.proposals[0]!.transforms[0]!.number, 2, 'responder keeps the chosen transform number');
  roundTrip(t, 'MM2', mm2);
  const mm3 = mainMode3({
    ke: Buffer.alloc(128, 1),
    nonce: Buffer.alloc(16, 2),
    certRequests: [Buffer.alloc(0)],
    natD: { flavour: 'draft', hashes: [Buffer.alloc(20, 3), Buffer.alloc(20, 4)] },
  });
  t.same(mm3.map((p) => p.type), [PayloadType.KE, PayloadType.NONCE, PayloadType.CR, PayloadType.NAT_D_DRAFT, PayloadType.NAT_D_DRAFT]);
  roundTrip(t, 'MM3', mm3);
  roundTrip(t, 'MM4 without NAT-T', mainMode4({ ke: Buffer.alloc(32, 1), nonce: Buffer.alloc(32, 2) }));
  const id = idPayload({ idType: IdType.FQDN, name: 'gwA.lab' });
  const mm5 = mainMode5({ id, auth: { kind: 'hash', hash: Buffer.alloc(32, 5) }, initialContact: cookies });
  t.same(mm5.map((p) => p.type), [PayloadType.ID, PayloadType.HASH, PayloadType.NOTIFY]);
  const ic = payloadsOfType(mm5, PayloadType.NOTIFY)[0]!;
  t.equal(ic.notifyType, NotifyType.INITIAL_CONTACT);
  t.equal(ic.spi.toString('hex'), '11111111111111112222222222222222');
  roundTrip(t, 'MM5', mm5);
  const mm6 = mainMode6({ id, auth: { kind: 'signature', signature: Buffer.alloc(64, 6), certificates: [Buffer.alloc(100, 7)] } });
  t.same(mm6.map((p) => p.type), [PayloadType.ID, PayloadType.CERT, PayloadType.SIG]);
  t.equal(payloadsOfType(mm6, PayloadType.CERT)[0]!.encoding, 4, 'X.509 signature certificate');
  roundTrip(t, 'MM6', mm6);
});

t.test('quick mode builders', async (t) => {
  const esp = {
    protocol: ProtocolId.ESP,
    spi: Buffer.from('c0b7fb91', 'hex'),
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
      {
        id: EspTransformId.AES_CBC,
        attributes: {
          keyLength: 256,
          authAlgorithm: AuthAlgorithm.HMAC_SHA2_256,
          group: DhGroup.MODP_2048,
          encapsulationMode: EncapsulationMode.TUNNEL,
          lifetimes: [],
          other: [],
        },
      },
    ],
  };
  const ids = { initiator: trafficSelector('10.1.0.0/24'), responder: trafficSelector('10.2.0.0/24') };
  const rest = quickModeRest({ proposals: [esp], nonce: Buffer.alloc(32, 1), ke: Buffer.alloc(256, 2), ids });
  t.same(rest.map((p) => p.type), [PayloadType.SA, PayloadType.NONCE, PayloadType.KE, PayloadType.ID, PayloadType.ID]);
  const qm1 = quickMode1(Buffer.alloc(32, 9), {
    proposals: [esp, { ...esp, protocol: ProtocolId.AH, transforms: [{ id: 5, attributes: { lifetimes: [], other: [] } }] }],
    nonce: Buffer.alloc(32, 1),
    ids,
  });
  t.equal(qm1[0]!.type, PayloadType.HASH, 'HASH(1) first');
  t.same(payloadsOfType(qm1, PayloadType.SA)[0]!.proposals.map((p) => [p.number, p.protocol]), [[1, 3], [2, 2]]);
  roundTrip(t, 'QM1', qm1);
  const withRest = encodePayloads(qm1);
  t.equal(
    withRest.bytes.subarray(withRest.spans[1]!.offset).toString('hex'),
    encodePayloads(
      quickModeRest({
        proposals: [esp, { ...esp, protocol: ProtocolId.AH, transforms: [{ id: 5, attributes: { lifetimes: [], other: [] } }] }],
        nonce: Buffer.alloc(32, 1),
        ids,
      }),
    ).bytes.toString('hex'),
    'the bytes after HASH(1) are exactly the encoded rest the hash covers',
  );
  t.throws(() => quickMode2(Buffer.alloc(32), { proposals: [esp, esp], nonce: Buffer.alloc(32) }), RangeError);
  const qm2 = quickMode2(Buffer.alloc(32, 8), {
    proposals: [{ ...esp, transforms: [esp.transforms[0]!] }],
    nonce: Buffer.alloc(32, 3),
    ids,
    natOa: { flavour: 'draft', initiator: '100.64.0.2', responder: '2001:db8::2' },
  });
  t.same(
    qm2.map((p) => p.type),
    [
      PayloadType.HASH,
      PayloadType.SA,
      PayloadType.NONCE,
      PayloadType.ID,
      PayloadType.ID,
      PayloadType.NAT_OA_DRAFT,
      PayloadType.NAT_OA_DRAFT,
    ],
  );
  t.same(payloadsOfType(qm2, PayloadType.NAT_OA_DRAFT).map((p) => p.idType), [IdType.IPV4_ADDR, IdType.IPV6_ADDR]);
  roundTrip(t, 'QM2', qm2);
  t.same(quickMode3(Buffer.alloc(32, 7)).map((p) => p.type), [PayloadType.HASH]);
  t.throws(() => quickModeRest({ proposals: [{ ...esp, spi: Buffer.alloc(3) }], nonce: Buffer.alloc(16) }), /4 bytes/);
  t.equal(udpEncapsulationMode('draft', true), EncapsulationMode.UDP_TUNNEL_DRAFT);
  t.equal(udpEncapsulationMode('rfc', false), EncapsulationMode.UDP_TRANSPORT);
});

t.test('traffic selectors from CIDR text', async (t) => {
  t.same(trafficSelector('10.1.0.0/24').id, { idType: IdType.IPV4_ADDR_SUBNET, address: '10.1.0.0', mask: '255.255.255.0' });
  t.same(trafficSelector('10.1.0.0/20', 17, 1701).id, { idType: IdType.IPV4_ADDR_SUBNET, address: '10.1.0.0', mask: '255.255.240.0' });
  t.same([trafficSelector('10.1.0.0/20', 17, 1701).protocol, trafficSelector('10.1.0.0/20', 17, 1701).port], [17, 1701]);
  t.same(trafficSelector('0.0.0.0/0').id, { idType: IdType.IPV4_ADDR_SUBNET, address: '0.0.0.0', mask: '0.0.0.0' });
  t.same(trafficSelector('192.0.2.7').id, { idType: IdType.IPV4_ADDR, address: '192.0.2.7' });
  t.same(trafficSelector('2001:db8:1::/48').id, { idType: IdType.IPV6_ADDR_SUBNET, address: '2001:db8:1::', mask: 'ffff:ffff:ffff::' });
  t.same(trafficSelector('2001:db8::/61').id, { idType: IdType.IPV6_ADDR_SUBNET, address: '2001:db8::', mask: 'ffff:ffff:ffff:fff8::' });
  t.throws(() => trafficSelector('10.1.0.1/24'), /host bits/);
  t.throws(() => trafficSelector('10.1.0.0/33'), /prefix length/);
  t.throws(() => trafficSelector('10.1.0/24'), /invalid address/);
});

t.test('informational: DPD and delete', async (t) => {
  const ping = dpdNotify('r-u-there', cookies, 0x01020304);
  t.same(parseDpd(ping), { kind: 'r-u-there', sequence: 0x01020304, spi: Buffer.concat([cookies.initiatorCookie, cookies.responderCookie]) });
  // RFC 3706 §5 layout: DOI 1, protocol 1, SPI size 16, type 36136, cookies, sequence.
  t.equal(
    encodePayloads([ping]).bytes.toString('hex'),
    '00000020' + '00000001' + '01' + '10' + '8d28' + '11111111111111112222222222222222' + '01020304',
  );
  const ack = dpdNotify('r-u-there-ack', cookies, 0xffffffff);
  t.equal(ack.notifyType, NotifyType.DPD_R_U_THERE_ACK);
  t.equal(parseDpd(ack)?.sequence, 0xffffffff);
  t.equal(parseDpd({ ...ack, data: Buffer.alloc(3) }), null, 'short sequence is not DPD');
  t.equal(parseDpd({ ...ack, notifyType: NotifyType.INITIAL_CONTACT }), null);
  t.throws(() => dpdNotify('r-u-there', cookies, 2 ** 32), RangeError);
  const info = informational(Buffer.alloc(20, 1), [ping]);
  roundTrip(t, 'DPD informational', info);
  const msg = encodeMessage(
    { ...cookies, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0x55 },
    informational(Buffer.alloc(20, 1), [deleteIsakmp(cookies)]),
  );
  const d = decodeMessage(msg);
  t.ok(d.ok && !d.value.encrypted && d.value.payloads[1]?.type === PayloadType.DELETE);
  const del = deleteIpsec(ProtocolId.ESP, [Buffer.from('1488fa5e', 'hex')]);
  t.same([del.protocol, del.spiSize, del.spis.length], [ProtocolId.ESP, 4, 1]);
  roundTrip(t, 'IPsec delete', informational(Buffer.alloc(20, 2), [del]));
  t.throws(() => deleteIpsec(ProtocolId.ESP, [Buffer.alloc(16)]), RangeError);
  t.throws(() => informational(Buffer.alloc(20), []), RangeError);
});
