// IKEv2 codecs (RFC 7296 §3): every payload family round-trips through a
// whole message; SK payloads round-trip under each IKE SA cipher; fragments
// (RFC 7383) reassemble in any order.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  AuthMethod,
  CertEncoding,
  decodeMessage,
  EncrId,
  encodeMessage,
  ExchangeType,
  FragmentAssembly,
  HeaderFlag,
  IdType,
  IntegId,
  idFromText,
  notify,
  NotifyType,
  openEncrypted,
  openMessage,
  PayloadType,
  ProtocolId,
  sealFragments,
  sealMessage,
  TransformType,
  TsType,
  type HeaderFields,
  type Payload,
  type SkKeys,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { encrById, integById } from '../../firmware/src/ike/v2/crypto/transforms.ts';

const header: HeaderFields = {
  spiI: Buffer.from('0102030405060708', 'hex'),
  spiR: Buffer.from('1112131415161718', 'hex'),
  exchange: ExchangeType.IKE_AUTH,
  flags: HeaderFlag.INITIATOR,
  messageId: 1,
};

const inner: Payload[] = [
  { type: PayloadType.IDI, ...idFromText('gwA.lab') },
  notify(NotifyType.INITIAL_CONTACT),
  { type: PayloadType.IDR, ...idFromText('192.0.2.7') },
  { type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: randomBytes(300) },
  { type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data: randomBytes(40) },
  { type: PayloadType.AUTH, method: AuthMethod.SHARED_KEY_MIC, data: randomBytes(32) },
  {
    type: PayloadType.SA,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.ESP,
        spi: Buffer.from('c0ffee01', 'hex'),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
          { type: TransformType.ESN, id: 0 },
          { type: TransformType.ESN, id: 1 },
        ],
      },
      {
        number: 2,
        protocol: ProtocolId.ESP,
        spi: Buffer.from('c0ffee01', 'hex'),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 },
          { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 },
          { type: TransformType.DH, id: 19 },
          { type: TransformType.ESN, id: 0 },
        ],
      },
    ],
  },
  {
    type: PayloadType.TSI,
    selectors: [
      {
        tsType: TsType.IPV4_ADDR_RANGE,
        protocol: 0,
        startPort: 0,
        endPort: 65535,
        startAddress: Buffer.from([10, 1, 0, 0]),
        endAddress: Buffer.from([10, 1, 0, 255]),
      },
      {
        tsType: TsType.IPV6_ADDR_RANGE,
        protocol: 6,
        startPort: 443,
        endPort: 443,
        startAddress: Buffer.alloc(16, 1),
        endAddress: Buffer.alloc(16, 2),
      },
    ],
  },
  {
    type: PayloadType.TSR,
    selectors: [
      {
        tsType: TsType.IPV4_ADDR_RANGE,
        protocol: 17,
        startPort: 53,
        endPort: 53,
        startAddress: Buffer.from([10, 2, 0, 0]),
        endAddress: Buffer.from([10, 2, 255, 255]),
      },
    ],
  },
  {
    type: PayloadType.DELETE,
    protocol: ProtocolId.ESP,
    spiSize: 4,
    spis: [Buffer.from('01020304', 'hex'), Buffer.from('0a0b0c0d', 'hex')],
  },
  { type: PayloadType.DELETE, protocol: ProtocolId.IKE, spiSize: 0, spis: [] },
  { type: PayloadType.VENDOR_ID, data: Buffer.from('sitelink') },
  {
    type: PayloadType.NOTIFY,
    protocol: ProtocolId.ESP,
    spi: Buffer.from('01020304', 'hex'),
    notifyType: NotifyType.REKEY_SA,
    data: Buffer.alloc(0),
  },
  { type: 47, opaque: true, critical: false, body: Buffer.from('01000000', 'hex') },
  { type: 200, opaque: true, critical: false, body: Buffer.from('unknown, not critical') },
];

t.test('IKE_SA_INIT-shaped message round-trips', async (t) => {
  const payloads: Payload[] = [
    {
      type: PayloadType.SA,
      proposals: [
        {
          number: 1,
          protocol: ProtocolId.IKE,
          spi: Buffer.alloc(0),
          transforms: [
            { type: TransformType.ENCR, id: EncrId.CHACHA20_POLY1305 },
            { type: TransformType.PRF, id: 7 },
            { type: TransformType.DH, id: 31 },
          ],
        },
      ],
    },
    { type: PayloadType.KE, group: 31, data: randomBytes(32) },
    { type: PayloadType.NONCE, data: randomBytes(32) },
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, randomBytes(20)),
    notify(NotifyType.COOKIE, randomBytes(32)),
  ];
  const bytes = encodeMessage({ ...header, spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, messageId: 0 }, payloads);
  const d = decodeMessage(bytes);
  if (!d.ok) throw new Error(d.reason);
  t.same(d.value.payloads, payloads);
  t.equal(d.value.header.length, bytes.length);
  t.same(encodeMessage(d.value.header, d.value.payloads), bytes);
});

t.test('every payload family round-trips in the clear', async (t) => {
  const bytes = encodeMessage(header, inner);
  const d = decodeMessage(bytes);
  if (!d.ok) throw new Error(d.reason);
  t.same(d.value.payloads, inner);
  t.same(encodeMessage(d.value.header, d.value.payloads), bytes);
});

function keysFor(id: number, bits: number | undefined, integId: number | undefined): SkKeys {
  const encr = encrById(id, bits)!;
  const integ = integId === undefined ? undefined : integById(integId)!;
  return { encr, integ, encKey: randomBytes(encr.keyMaterial), integKey: integ ? randomBytes(integ.keyLength) : undefined };
}

const suites: [string, SkKeys][] = [
  ['aes128-cbc + hmac-sha256-128', keysFor(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128)],
  ['aes256-cbc + hmac-sha512-256', keysFor(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_512_256)],
  ['aes192-cbc + hmac-sha384-192', keysFor(EncrId.AES_CBC, 192, IntegId.HMAC_SHA2_384_192)],
  ['aes128-gcm-16', keysFor(EncrId.AES_GCM_16, 128, undefined)],
  ['aes256-gcm-16', keysFor(EncrId.AES_GCM_16, 256, undefined)],
  ['aes256-gcm-8', keysFor(EncrId.AES_GCM_8, 256, undefined)],
  ['chacha20-poly1305', keysFor(EncrId.CHACHA20_POLY1305, undefined, undefined)],
];

for (const [name, keys] of suites) {
  t.test(`SK payload round-trips under ${name}; tampering anywhere is refused`, async (t) => {
    const bytes = sealMessage(header, [], inner, keys, randomBytes(keys.encr.ivLength));
    if (keys.encr.blockSize > 1)
      t.equal((bytes.length - 28 - 4 - keys.encr.ivLength - (keys.integ?.icvLength ?? 0)) % keys.encr.blockSize, 0, 'whole blocks');
    const d = decodeMessage(bytes);
    if (!d.ok) throw new Error(d.reason);
    t.equal(d.value.payloads.length, 1);
    const o = openMessage(d.value, keys);
    if (!o.ok) throw new Error(o.reason);
    t.same(o.value, inner);
    for (const at of [0, 18, 19, 27, 29, 33, 40, bytes.length - 20, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 0x80;
      const bd = decodeMessage(bad);
      t.notOk(bd.ok && openMessage(bd.value, keys).ok, `flip at ${at}`);
    }
    const other = keysFor(keys.encr.id, keys.encr.keyLengthBits, keys.integ?.id);
    t.notOk(openMessage(d.value, other).ok, 'another key fails');
  });
}

t.test('RFC 7383 fragments: each fragment verifies alone; reassembly in any order, duplicates ignored', async (t) => {
  for (const [name, keys] of [suites[0]!, suites[3]!]) {
    const frags = sealFragments(header, inner, keys, 200, () => randomBytes(keys.encr.ivLength));
    t.ok(frags.length > 3, `${name}: ${frags.length} fragments`);
    t.ok(frags.every((f) => f.length <= 200), 'each within the limit');
    const opened = frags.map((f) => {
      const d = decodeMessage(f);
      if (!d.ok) throw new Error(d.reason);
      t.equal(d.value.payloads[0]!.type, PayloadType.SKF);
      const o = openEncrypted(d.value, keys);
      if (!o.ok) throw new Error(o.reason);
      return o.value;
    });
    const a = new FragmentAssembly();
    const order = opened.map((_, i) => i).reverse();
    let result: Payload[] | undefined;
    for (const i of [order[0]!, ...order]) {
      const r = a.add(opened[i]!);
      if (!r.ok) throw new Error(r.reason);
      if (r.value.done) result = r.value.payloads;
    }
    t.same(result, inner, `${name}: reassembled`);
    const b = new FragmentAssembly();
    b.add(opened[0]!);
    const lie = { ...opened[1]!, fragment: { fragmentNumber: 2, totalFragments: 99 } };
    t.notOk(b.add(lie).ok, 'a fragment disagreeing on the total is refused');
  }
});
