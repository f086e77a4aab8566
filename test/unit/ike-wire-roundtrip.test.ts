// Encode -> decode round trips for every IKEv1 payload type, attribute
// forms, addresses and the header, with a few exact byte layouts checked
// against the RFC diagrams.

import t from 'tap';
import {
  AuthAlgorithm,
  AuthMethod,
  CertEncoding,
  decodeMessage,
  decodePayloads,
  DhGroup,
  Doi,
  EncapsulationMode,
  encodeEncryptedMessage,
  encodeMessage,
  encodePayloads,
  EncryptionAlgorithm,
  EspTransformId,
  ExchangeType,
  formatIpv6,
  HashAlgorithm,
  HeaderFlag,
  IdType,
  integerAttribute,
  IpsecAttr,
  ipsecAttributeList,
  IsakmpTransformId,
  LifeType,
  NotifyType,
  parseIpsecAttributes,
  parseIpv6,
  parsePhase1Attributes,
  PayloadType,
  phase1AttributeList,
  ProtocolId,
  Situation,
  type HeaderFields,
  type Payload,
} from '../../firmware/src/ike/wire/index.ts';

const hdr: HeaderFields = {
  initiatorCookie: Buffer.from('0102030405060708', 'hex'),
  responderCookie: Buffer.from('1112131415161718', 'hex'),
  exchangeType: ExchangeType.QUICK,
  flags: 0,
  messageId: 0xdeadbeef,
};
const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff));

const samples: Payload[] = [
  {
    type: PayloadType.SA,
    doi: Doi.IPSEC,
    situation: Situation.IDENTITY_ONLY,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.ISAKMP,
        spi: Buffer.alloc(0),
        transforms: [
          {
            number: 1,
            id: IsakmpTransformId.KEY_IKE,
            attributes: phase1AttributeList({
              encryption: EncryptionAlgorithm.AES_CBC,
              keyLength: 256,
              hash: HashAlgorithm.SHA2_512,
              group: DhGroup.ECP_256,
              authMethod: AuthMethod.ECDSA_SHA256_P256,
              lifetimes: [
                { type: LifeType.SECONDS, duration: 86400 },
                { type: LifeType.KILOBYTES, duration: 2 ** 40 },
              ],
              other: [],
            }),
          },
          { number: 2, id: IsakmpTransformId.KEY_IKE, attributes: [] },
        ],
      },
      {
        number: 2,
        protocol: ProtocolId.ESP,
        spi: Buffer.from('c0ffee01', 'hex'),
        transforms: [
          {
            number: 1,
            id: EspTransformId.AES_CBC,
            attributes: ipsecAttributeList({
              keyLength: 128,
              authAlgorithm: AuthAlgorithm.HMAC_SHA2_256,
              group: DhGroup.MODP_3072,
              encapsulationMode: EncapsulationMode.UDP_TUNNEL_DRAFT,
              esn: 1,
              lifetimes: [{ type: LifeType.SECONDS, duration: 3600 }],
              other: [{ type: 99, format: 'tlv', value: Buffer.from('xyz') }],
            }),
          },
        ],
      },
    ],
  },
  { type: PayloadType.KE, data: bytes(256, 3) },
  { type: PayloadType.ID, protocol: 17, port: 500, id: { idType: IdType.IPV4_ADDR, address: '192.0.2.1' } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.FQDN, name: 'gw.example' } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.USER_FQDN, name: 'ops@example.net' } },
  { type: PayloadType.ID, protocol: 6, port: 443, id: { idType: IdType.IPV4_ADDR_SUBNET, address: '10.0.0.0', mask: '255.0.0.0' } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.IPV4_ADDR_RANGE, start: '10.0.0.1', end: '10.0.0.9' } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.IPV6_ADDR, address: '2001:db8::1' } },
  {
    type: PayloadType.ID,
    protocol: 58,
    port: 0,
    id: { idType: IdType.IPV6_ADDR_SUBNET, address: '2001:db8:1::', mask: 'ffff:ffff:ffff::' },
  },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.IPV6_ADDR_RANGE, start: '::1', end: 'fe80::2:0:0:3' } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.DER_ASN1_DN, data: bytes(40, 9) } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.DER_ASN1_GN, data: bytes(12, 1) } },
  { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.KEY_ID, data: Buffer.from('key-1') } },
  { type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: bytes(300, 5) },
  { type: PayloadType.CR, encoding: CertEncoding.X509_SIGNATURE, authority: Buffer.alloc(0) },
  { type: PayloadType.CR, encoding: CertEncoding.X509_SIGNATURE, authority: bytes(30, 2) },
  { type: PayloadType.HASH, data: bytes(32, 11) },
  { type: PayloadType.SIG, data: bytes(64, 13) },
  { type: PayloadType.NONCE, data: bytes(16, 17) },
  {
    type: PayloadType.NOTIFY,
    doi: Doi.IPSEC,
    protocol: ProtocolId.ISAKMP,
    spi: bytes(16, 19),
    notifyType: NotifyType.DPD_R_U_THERE,
    data: Buffer.from('0000002a', 'hex'),
  },
  {
    type: PayloadType.NOTIFY,
    doi: Doi.IPSEC,
    protocol: ProtocolId.ESP,
    spi: Buffer.from('01020304', 'hex'),
    notifyType: NotifyType.RESPONDER_LIFETIME,
    data: bytes(8, 1),
  },
  {
    type: PayloadType.DELETE,
    doi: Doi.IPSEC,
    protocol: ProtocolId.ESP,
    spiSize: 4,
    spis: [Buffer.from('01020304', 'hex'), Buffer.from('a0b0c0d0', 'hex')],
  },
  { type: PayloadType.DELETE, doi: Doi.IPSEC, protocol: ProtocolId.ISAKMP, spiSize: 16, spis: [bytes(16, 23)] },
  { type: PayloadType.VENDOR_ID, data: bytes(16, 29) },
  { type: PayloadType.NAT_D, hash: bytes(20, 31) },
  { type: PayloadType.NAT_D_DRAFT, hash: bytes(20, 37) },
  { type: PayloadType.NAT_OA, idType: IdType.IPV4_ADDR, address: '100.64.0.2' },
  { type: PayloadType.NAT_OA_DRAFT, idType: IdType.IPV6_ADDR, address: 'fd00::64' },
];

t.test('every payload type survives encode -> decode', async (t) => {
  const types = new Set(samples.map((p) => p.type));
  for (const ty of Object.values(PayloadType)) {
    if (ty === PayloadType.NONE || ty === PayloadType.PROPOSAL || ty === PayloadType.TRANSFORM) continue;
    t.ok(types.has(ty), `sample for payload type ${ty}`);
  }
  for (const p of samples) {
    const enc = encodePayloads([p]);
    t.equal(enc.first, p.type);
    const dec = decodePayloads(enc.first, enc.bytes);
    if (!dec.ok) {
      t.fail(`type ${p.type}: ${dec.reason}`);
      continue;
    }
    t.same(dec.value.payloads, [p], `type ${p.type}`);
    t.equal(dec.value.padding, 0);
  }
});

t.test('the whole list as one message: lengths and next-payload chain', async (t) => {
  const msg = encodeMessage(hdr, samples);
  t.equal(msg.readUInt32BE(24), msg.length, 'header length is the message length');
  t.equal(msg[16], PayloadType.SA);
  const d = decodeMessage(msg);
  if (!d.ok) return t.fail(d.reason);
  if (d.value.encrypted) return t.fail('encrypted?');
  t.same(d.value.payloads, samples);
  t.same(d.value.header, { ...hdr, nextPayload: PayloadType.SA, majorVersion: 1, minorVersion: 0, length: msg.length });
  // Walk the generic headers by hand: each names the next payload's type.
  let off = 28;
  samples.forEach((_p, i) => {
    t.equal(d.value.encrypted ? -1 : d.value.spans[i]!.offset + 28, off);
    t.equal(msg[off], samples[i + 1]?.type ?? 0, `payload ${i} next`);
    t.equal(msg[off + 1], 0, 'RESERVED');
    off += msg.readUInt16BE(off + 2);
  });
  t.equal(off, msg.length);
});

t.test('encrypted messages carry the body opaque', async (t) => {
  const body = bytes(48, 41);
  const msg = encodeEncryptedMessage({ ...hdr, flags: HeaderFlag.COMMIT }, PayloadType.HASH, body);
  t.equal(msg[19], HeaderFlag.ENCRYPTION | HeaderFlag.COMMIT);
  const d = decodeMessage(msg);
  if (!d.ok) return t.fail(d.reason);
  if (!d.value.encrypted) return t.fail('not encrypted');
  t.ok(d.value.body.equals(body));
  t.equal(d.value.header.nextPayload, PayloadType.HASH);
  t.throws(() => encodeMessage({ ...hdr, flags: HeaderFlag.ENCRYPTION }, []), RangeError);
});

t.test('exact layouts from the RFC diagrams', async (t) => {
  // RFC 2408 §3.14 notify: DOI, protocol, SPI size, type, SPI, data.
  const first = (type: number): Payload => samples.find((p) => p.type === type)!;
  const n = encodePayloads([first(PayloadType.NOTIFY)]).bytes;
  t.equal(n.toString('hex'), '00000020' + '00000001' + '01' + '10' + '8d28' + bytes(16, 19).toString('hex') + '0000002a');
  // RFC 3947 §5.2 NAT-OA: ID type, 3 reserved bytes, address.
  t.equal(encodePayloads([first(PayloadType.NAT_OA)]).bytes.toString('hex'), '0000000c' + '01000000' + '64400002');
  // RFC 2408 §3.15 delete: DOI, protocol, SPI size, count, SPIs.
  t.equal(encodePayloads([first(PayloadType.DELETE)]).bytes.toString('hex'), '00000014' + '00000001' + '03' + '04' + '0002' + '01020304a0b0c0d0');
  // RFC 2407 §4.6.2 ID: type, protocol, port, data.
  t.equal(encodePayloads([first(PayloadType.ID)]).bytes.toString('hex'), '0000000c' + '01' + '11' + '01f4' + 'c0000201');
});

t.test('attributes: TV and variable-length TLV durations', async (t) => {
  t.same(integerAttribute(12, 15840), { type: 12, format: 'tv', value: 15840 });
  t.same(integerAttribute(12, 86400), { type: 12, format: 'tlv', value: Buffer.from('00015180', 'hex') });
  t.same(integerAttribute(12, 2 ** 40), { type: 12, format: 'tlv', value: Buffer.from('0000010000000000', 'hex') });
  // A 3-byte duration and a 6-byte one are legal on the wire (RFC 2408 §3.3 variable length).
  const odd = parsePhase1Attributes([
    { type: 11, format: 'tv', value: LifeType.SECONDS },
    { type: 12, format: 'tlv', value: Buffer.from('015180', 'hex') },
    { type: 11, format: 'tv', value: LifeType.KILOBYTES },
    { type: 12, format: 'tlv', value: Buffer.from('000100000000', 'hex') },
  ]);
  t.same(typeof odd === 'string' ? odd : odd.lifetimes, [
    { type: LifeType.SECONDS, duration: 86400 },
    { type: LifeType.KILOBYTES, duration: 2 ** 32 },
  ]);
  const p1 = parsePhase1Attributes(phase1AttributeList({ encryption: 5, hash: 2, authMethod: 3, group: 2, prf: 1, lifetimes: [], other: [] }));
  t.same(p1, { encryption: 5, hash: 2, authMethod: 3, group: 2, prf: 1, lifetimes: [], other: [] });
  const p2 = parseIpsecAttributes([
    { type: IpsecAttr.ENCAPSULATION_MODE, format: 'tv', value: EncapsulationMode.TRANSPORT },
    { type: IpsecAttr.KEY_ROUNDS, format: 'tv', value: 12 },
  ]);
  t.same(p2, { encapsulationMode: 2, keyRounds: 12, lifetimes: [], other: [] });
});

t.test('attribute interpretation errors', async (t) => {
  t.equal(parsePhase1Attributes([{ type: 12, format: 'tv', value: 5 }]), 'life duration without a preceding life type');
  t.equal(parsePhase1Attributes([{ type: 11, format: 'tv', value: 1 }]), 'life type 1 has no life duration');
  t.equal(parsePhase1Attributes([{ type: 1, format: 'tv', value: 7 }, { type: 1, format: 'tv', value: 5 }]), 'duplicate phase 1 attribute 1');
  t.equal(
    parseIpsecAttributes([{ type: 1, format: 'tv', value: 1 }, { type: 2, format: 'tlv', value: Buffer.alloc(9, 0xff) }]),
    'life duration empty or larger than 2^53',
  );
  t.equal(parseIpsecAttributes([{ type: 6, format: 'tlv', value: Buffer.alloc(0) }]), 'IPsec attribute 6 value unreadable');
});

t.test('IPv6 text form is RFC 5952 and round-trips', async (t) => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:2:3:0:0:4', '1::2:3:0:0:4'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
  ];
  for (const [input, want] of cases) {
    const b = parseIpv6(input);
    if (b === null) {
      t.fail(`parse ${input}`);
      continue;
    }
    t.equal(formatIpv6(b), want);
    t.ok(parseIpv6(want)?.equals(b));
  }
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::']) t.equal(parseIpv6(bad), null, bad);
});
