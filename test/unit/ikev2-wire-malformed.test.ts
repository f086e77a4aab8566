// Malformed IKEv2 input: every decoder returns { ok: false } with a reason
// and the RFC 7296 notify a responder would send, and never throws, for
// named malformations, every truncation and a fixed budget of random
// mutations.

import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import {
  decodeMessage,
  encodeMessage,
  ExchangeType,
  HeaderFlag,
  NotifyType,
  openEncrypted,
  PayloadType,
  ProtocolId,
  TransformType,
  EncrId,
  sealMessage,
  notify,
  type HeaderFields,
  type Payload,
  type SkKeys,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { encrById, integById } from '../../firmware/src/ike/v2/crypto/transforms.ts';

const header: HeaderFields = {
  spiI: Buffer.alloc(8, 1),
  spiR: Buffer.alloc(8, 0),
  exchange: ExchangeType.IKE_SA_INIT,
  flags: HeaderFlag.INITIATOR,
  messageId: 0,
};
const payloads: Payload[] = [
  {
    type: PayloadType.SA,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.IKE,
        spi: Buffer.alloc(0),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 },
          { type: TransformType.DH, id: 14 },
        ],
      },
    ],
  },
  { type: PayloadType.KE, group: 14, data: Buffer.alloc(256, 7) },
  { type: PayloadType.NONCE, data: Buffer.alloc(32, 9) },
  notify(NotifyType.NAT_DETECTION_SOURCE_IP, Buffer.alloc(20, 3)),
  {
    type: PayloadType.TSI,
    selectors: [{ tsType: 7, protocol: 0, startPort: 0, endPort: 65535, startAddress: Buffer.alloc(4), endAddress: Buffer.alloc(4, 255) }],
  },
  { type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: [Buffer.alloc(4, 1)] },
];
const good = encodeMessage(header, payloads);

function expectFail(t: Test, buf: Buffer, reason: RegExp, notifyType?: number): void {
  const d = decodeMessage(buf);
  t.notOk(d.ok, `refused: ${reason}`);
  if (!d.ok) {
    t.match(d.reason, reason);
    if (notifyType !== undefined) t.equal(d.notify, notifyType);
  }
}

/** Offset of the payload of `type` in `good`. */
function at(type: number): number {
  const d = decodeMessage(good);
  if (!d.ok) throw new Error(d.reason);
  return d.value.offsets[d.value.payloads.findIndex((p) => p.type === type)]!;
}

t.test('header problems', async (t) => {
  expectFail(t, good.subarray(0, 20), /shorter than the 28-byte/, NotifyType.INVALID_SYNTAX);
  const v3 = Buffer.from(good);
  v3[17] = 0x30;
  expectFail(t, v3, /major version 3/, NotifyType.INVALID_MAJOR_VERSION);
  const v1 = Buffer.from(good);
  v1[17] = 0x10;
  expectFail(t, v1, /major version 1/);
  expectFail(t, Buffer.concat([good, Buffer.alloc(3)]), /header length/, NotifyType.INVALID_SYNTAX);
});

t.test('payload problems name INVALID_SYNTAX or UNSUPPORTED_CRITICAL_PAYLOAD', async (t) => {
  const critical = encodeMessage(header, [{ type: 199, opaque: true, critical: true, body: Buffer.from('x') }]);
  expectFail(t, critical, /unsupported critical payload type 199/, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
  const over = Buffer.from(good);
  over.writeUInt16BE(0xffff, at(PayloadType.KE) + 2);
  expectFail(t, over, /exceeds/, NotifyType.INVALID_SYNTAX);
  const shortNonce = encodeMessage(header, [{ type: PayloadType.NONCE, data: Buffer.alloc(16) }]);
  shortNonce.writeUInt16BE(4 + 8, 28 + 2);
  expectFail(t, fixLength(shortNonce.subarray(0, 28 + 12)), /nonce is 8 bytes/, NotifyType.INVALID_SYNTAX);
  const ts = Buffer.from(good);
  ts.writeUInt16BE(17, at(PayloadType.TSI) + 4 + 4 + 2);
  expectFail(t, ts, /selector 1 length 17/);
  const del = Buffer.from(good);
  del.writeUInt16BE(2, at(PayloadType.DELETE) + 4 + 2);
  expectFail(t, del, /Delete lists 2 SPIs/);
  const zeroTransforms = Buffer.from(good);
  zeroTransforms[at(PayloadType.SA) + 4 + 7] = 0;
  expectFail(t, zeroTransforms, /zero transforms/);
  const chain = Buffer.from(good);
  chain[at(PayloadType.DELETE)] = PayloadType.NONCE;
  expectFail(t, chain, /message ends/);
  const skNotLast = encodeMessage(header, [{ type: PayloadType.SK, innerFirst: 0, body: Buffer.alloc(40) }]);
  expectFail(t, fixLength(Buffer.concat([skNotLast, Buffer.from('00000008aaaaaaaa', 'hex')])), /must be last/);
  const skf0 = encodeMessage(header, [{ type: PayloadType.SKF, innerFirst: 0, fragmentNumber: 0, totalFragments: 2, body: Buffer.alloc(40) }]);
  expectFail(t, skf0, /fragment 0 of 2/);
  const skf3 = encodeMessage(header, [{ type: PayloadType.SKF, innerFirst: 0, fragmentNumber: 3, totalFragments: 2, body: Buffer.alloc(40) }]);
  expectFail(t, skf3, /fragment 3 of 2/);
});

function fixLength(b: Buffer): Buffer {
  const out = Buffer.from(b);
  out.writeUInt32BE(out.length, 24);
  return out;
}

t.test('every truncation (length field adjusted) is refused without throwing', async (t) => {
  let refused = 0;
  for (let n = 28; n < good.length; n++) {
    const d = decodeMessage(fixLength(good.subarray(0, n)));
    if (!d.ok) refused++;
  }
  t.equal(refused, good.length - 28);
});

t.test('random mutations never throw (fixed budget)', async (t) => {
  const keys: SkKeys = { encr: encrById(EncrId.AES_CBC, 128)!, integ: integById(12)!, encKey: randomBytes(16), integKey: randomBytes(32) };
  const sealed = sealMessage({ ...header, exchange: ExchangeType.IKE_AUTH, messageId: 1 }, [], payloads, keys, randomBytes(16));
  let opened = 0;
  for (let i = 0; i < 3000; i++) {
    const base = i % 2 === 0 ? good : sealed;
    const m = Buffer.from(base);
    const flips = 1 + (i % 4);
    for (let k = 0; k < flips; k++) m[28 + Math.floor(Math.random() * (m.length - 28))] = Math.floor(Math.random() * 256);
    const d = decodeMessage(m);
    if (d.ok && base === sealed && !m.equals(sealed) && openEncrypted(d.value, keys).ok) opened++;
  }
  t.equal(opened, 0, 'no mutated SK message passes the integrity check');
});
