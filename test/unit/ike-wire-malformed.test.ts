// Malformed input: every rejection path returns { ok: false } with a precise
// reason, the offset of the offending field and the RFC 2408 §3.14.1 notify
// type a responder would use. Nothing here may throw.

import t, { type Test } from 'tap';
import {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  ExchangeType,
  NotifyType,
  PayloadType,
  type HeaderFields,
  type Payload,
  type WireResult,
} from '../../firmware/src/ike/wire/index.ts';

const hdr: HeaderFields = {
  initiatorCookie: Buffer.from('0102030405060708', 'hex'),
  responderCookie: Buffer.alloc(8),
  exchangeType: ExchangeType.MAIN,
  flags: 0,
  messageId: 0,
};

/** A message whose payload area is exactly `raw`, first payload `first`. */
function raw(first: number, rawPayloads: Buffer): Buffer {
  const m = encodeMessage(hdr, []);
  const out = Buffer.concat([m, rawPayloads]);
  out[16] = first;
  out.writeUInt32BE(out.length, 24);
  return out;
}

/** Generic header + body. */
function pl(next: number, body: Buffer, lengthOverride?: number): Buffer {
  const h = Buffer.alloc(4);
  h[0] = next;
  h.writeUInt16BE(lengthOverride ?? 4 + body.length, 2);
  return Buffer.concat([h, body]);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface Case {
  name: string;
  input: Buffer;
  reason: RegExp;
  offset: number;
  notify: number;
}

function expectFail(t: Test, c: Case, r: WireResult<unknown>): void {
  if (r.ok) {
    t.fail(`${c.name}: accepted`);
    return;
  }
  t.match(r.reason, c.reason, `${c.name}: reason "${r.reason}"`);
  t.equal(r.offset, c.offset, `${c.name}: offset`);
  t.equal(r.notify, c.notify, `${c.name}: notify`);
}

const good = encodeMessage(hdr, [{ type: PayloadType.VENDOR_ID, data: hex('4a131c81070358455c5728f20e95452f') }]);
const patched = (f: (b: Buffer) => void): Buffer => {
  const b = Buffer.from(good);
  f(b);
  return b;
};

// Transform (KEY_IKE, one TV attribute) inside a proposal inside an SA.
const transform = (next = 0, extra = ''): Buffer => pl(next, hex('0101 0000 8001 0007' + extra));
const proposal = (next: number, nTransforms: number, transforms: Buffer, spi = ''): Buffer =>
  pl(
    next,
    Buffer.concat([
      hex(`01 01 ${(spi.length / 2).toString(16).padStart(2, '0')} ${nTransforms.toString(16).padStart(2, '0')}` + spi),
      transforms,
    ]),
  );
const sa = (proposals: Buffer, doi = '00000001', sit = '00000001'): Buffer => pl(0, Buffer.concat([hex(doi + sit), proposals]));
const SA_AT = 28 + 4; // offset of the SA body in a one-SA message
const P_AT = SA_AT + 8; // first proposal
const T_AT = P_AT + 8; // first transform (no SPI)

const cases: Case[] = [
  { name: 'short datagram', input: good.subarray(0, 27), reason: /shorter than the 28-byte/, offset: 0, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'IKEv2 header', input: patched((b) => (b[17] = 0x20)), reason: /major version 2/, offset: 17, notify: NotifyType.INVALID_MAJOR_VERSION },
  { name: 'minor version 1', input: patched((b) => (b[17] = 0x11)), reason: /minor version 1, expected 0/, offset: 17, notify: NotifyType.INVALID_MINOR_VERSION },
  { name: 'unknown exchange', input: patched((b) => (b[18] = 99)), reason: /exchange type 99/, offset: 18, notify: NotifyType.INVALID_EXCHANGE_TYPE },
  { name: 'unused flag bit', input: patched((b) => (b[19] = 0x10)), reason: /flags 0x10/, offset: 19, notify: NotifyType.INVALID_FLAGS },
  { name: 'zero initiator cookie', input: patched((b) => b.fill(0, 0, 8)), reason: /initiator cookie is zero/, offset: 0, notify: NotifyType.INVALID_COOKIE },
  { name: 'header length too big', input: patched((b) => b.writeUInt32BE(b.length + 1, 24)), reason: /header length 49 but datagram has 48/, offset: 24, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  { name: 'truncated datagram', input: good.subarray(0, 40), reason: /header length 48 but datagram has 40/, offset: 24, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  { name: 'payload length < 4', input: raw(13, pl(0, Buffer.alloc(0), 3)), reason: /length 3 below minimum 4/, offset: 30, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'payload length beyond message', input: raw(13, pl(0, Buffer.alloc(4), 9)), reason: /length 9 exceeds the 8 bytes left/, offset: 30, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  { name: 'generic RESERVED set', input: patched((b) => (b[29] = 0x80)), reason: /RESERVED byte is 0x80/, offset: 29, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'unknown payload type', input: raw(50, pl(0, Buffer.alloc(4))), reason: /unknown payload type 50/, offset: 32, notify: NotifyType.INVALID_PAYLOAD_TYPE },
  { name: 'proposal at top level', input: raw(2, pl(0, Buffer.alloc(8))), reason: /type 2 is only valid inside an SA/, offset: 32, notify: NotifyType.INVALID_PAYLOAD_TYPE },
  { name: 'chain runs past the end', input: raw(13, pl(13, Buffer.alloc(4))), reason: /names payload type 13 but the message ends/, offset: 36, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  { name: 'bytes after the chain', input: raw(13, Buffer.concat([pl(0, Buffer.alloc(4)), Buffer.alloc(3)])), reason: /3 bytes after the last payload/, offset: 36, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  {
    name: '65 payloads',
    input: raw(13, Buffer.concat(Array.from({ length: 65 }, (_, i) => pl(i === 64 ? 0 : 13, Buffer.alloc(0))))),
    reason: /more than 64 payloads/,
    offset: 28 + 64 * 4,
    notify: NotifyType.PAYLOAD_MALFORMED,
  },
  // SA / proposal / transform (RFC 2408 §3.4-§3.6)
  { name: 'SA DOI 2', input: raw(1, sa(proposal(0, 1, transform()), '00000002')), reason: /DOI 2 not supported/, offset: SA_AT, notify: NotifyType.DOI_NOT_SUPPORTED },
  { name: 'SA secrecy situation', input: raw(1, sa(proposal(0, 1, transform()), undefined, '00000003')), reason: /situation 0x3/, offset: SA_AT + 4, notify: NotifyType.SITUATION_NOT_SUPPORTED },
  { name: 'SA body too short', input: raw(1, pl(0, hex('000000010000'))), reason: /SA body 6 bytes/, offset: SA_AT, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'proposal next payload 5', input: raw(1, sa(proposal(5, 1, transform()))), reason: /proposal next payload 5, expected 2 or 0/, offset: P_AT, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: 'zero transforms', input: raw(1, sa(proposal(0, 0, transform()))), reason: /zero transforms/, offset: P_AT + 7, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: '200 transforms claimed', input: raw(1, sa(proposal(0, 200, transform()))), reason: /claims 200 transforms, limit 64/, offset: P_AT + 7, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: 'fewer transforms than claimed', input: raw(1, sa(proposal(0, 2, transform(3)))), reason: /transform header truncated \(0 of 4 bytes\)/, offset: T_AT + 12, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'last transform says more follow', input: raw(1, sa(proposal(0, 1, transform(3)))), reason: /transform 1 of 1 has next payload 3, expected 0/, offset: T_AT, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: 'transform RESERVED2', input: raw(1, sa(proposal(0, 1, pl(0, hex('0101 0001 8001 0007'))))), reason: /RESERVED2 is 0x1/, offset: T_AT + 6, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: 'transform shorter than 8', input: raw(1, sa(proposal(0, 1, pl(0, hex('0101'))))), reason: /transform length 6 below minimum 8/, offset: T_AT + 2, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'TLV attribute overruns', input: raw(1, sa(proposal(0, 1, transform(0, '000c 0008 0000 0001')))), reason: /attribute type 12 length 8 exceeds the 4 bytes left/, offset: T_AT + 12, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'attribute truncated', input: raw(1, sa(proposal(0, 1, transform(0, '800b')))), reason: /attribute header truncated \(2 of 4 bytes\)/, offset: T_AT + 12, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: '33 attributes', input: raw(1, sa(proposal(0, 1, transform(0, '8001 0007'.repeat(32))))), reason: /more than 32 attributes/, offset: T_AT + 8 + 32 * 4, notify: NotifyType.BAD_PROPOSAL_SYNTAX },
  { name: 'SPI size beyond proposal', input: raw(1, sa(pl(0, hex('01 03 ff 01')))), reason: /SPI size 255 exceeds proposal length 8/, offset: P_AT + 6, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'bytes after last transform', input: raw(1, sa(pl(0, Buffer.concat([hex('01 01 00 01'), transform(), hex('0000')])))), reason: /2 bytes after the last transform of proposal 1/, offset: T_AT + 12, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  { name: 'bytes after last proposal', input: raw(1, sa(Buffer.concat([proposal(0, 1, transform()), hex('00000000')]))), reason: /4 bytes after the last proposal/, offset: T_AT + 12, notify: NotifyType.UNEQUAL_PAYLOAD_LENGTHS },
  {
    name: '65 proposals',
    input: raw(1, sa(Buffer.concat(Array.from({ length: 65 }, (_, i) => proposal(i === 64 ? 0 : 2, 1, transform()))))),
    reason: /more than 64 proposals/,
    offset: P_AT + 64 * 20,
    notify: NotifyType.BAD_PROPOSAL_SYNTAX,
  },
  // Other payload bodies
  { name: 'IPv4 ID of 5 bytes', input: raw(5, pl(0, hex('01000000 0a000001 00'))), reason: /ID type 1 data is 5 bytes, expected 4/, offset: 36, notify: NotifyType.INVALID_ID_INFORMATION },
  { name: 'unknown ID type', input: raw(5, pl(0, hex('4d000000 00'))), reason: /unknown ID type 77/, offset: 32, notify: NotifyType.INVALID_ID_INFORMATION },
  { name: 'empty FQDN', input: raw(5, pl(0, hex('02000000'))), reason: /empty name/, offset: 36, notify: NotifyType.INVALID_ID_INFORMATION },
  { name: 'ID body too short', input: raw(5, pl(0, hex('0200'))), reason: /ID body 2 bytes, need 4/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: '7-byte nonce', input: raw(10, pl(0, Buffer.alloc(7, 1))), reason: /nonce of 7 bytes, must be 8..256/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: '257-byte nonce', input: raw(10, pl(0, Buffer.alloc(257, 1))), reason: /nonce of 257 bytes/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'empty KE', input: raw(4, pl(0, Buffer.alloc(0))), reason: /KE payload is empty/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'empty HASH', input: raw(8, pl(0, Buffer.alloc(0))), reason: /HASH payload is empty/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'CERT without encoding', input: raw(6, pl(0, Buffer.alloc(0))), reason: /CERT body has no encoding byte/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'notify SPI overrun', input: raw(11, pl(0, hex('00000001 01 10 6002 0102'))), reason: /notify SPI size 16 exceeds the 2 bytes left/, offset: 37, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'notify too short', input: raw(11, pl(0, hex('00000001 01'))), reason: /notify body 5 bytes, need 8/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'delete count mismatch', input: raw(12, pl(0, hex('00000001 03 04 0003 01020304 05060708'))), reason: /3 SPIs of 4 bytes \(12\) but has 8 bytes/, offset: 38, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'delete SPI size 0', input: raw(12, pl(0, hex('00000001 03 00 0002'))), reason: /SPIs of size 0/, offset: 37, notify: NotifyType.INVALID_SPI },
  { name: 'empty NAT-D', input: raw(20, pl(0, Buffer.alloc(0))), reason: /empty hash/, offset: 32, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'NAT-OA reserved', input: raw(21, pl(0, hex('01000100 0a000001'))), reason: /NAT-OA RESERVED is 0x100/, offset: 33, notify: NotifyType.PAYLOAD_MALFORMED },
  { name: 'NAT-OA IPv4 with 16 bytes', input: raw(21, pl(0, Buffer.concat([hex('01000000'), Buffer.alloc(16)]))), reason: /ID type 1 with 16 address bytes/, offset: 32, notify: NotifyType.INVALID_ID_INFORMATION },
];

t.test('each malformed message is rejected precisely', async (t) => {
  for (const c of cases) {
    let r: WireResult<unknown>;
    try {
      r = decodeMessage(c.input);
    } catch (e) {
      t.fail(`${c.name}: threw ${String(e)}`);
      continue;
    }
    expectFail(t, c, r);
  }
});

t.test('the well-formed bases of the cases do decode', async (t) => {
  // Guards against cases that fail for an unintended reason.
  const bases: [string, Buffer][] = [
    ['VID', good],
    ['SA', raw(1, sa(proposal(0, 1, transform())))],
    ['SA two transforms', raw(1, sa(proposal(0, 2, Buffer.concat([transform(3), transform()]))))],
    ['64 proposals', raw(1, sa(Buffer.concat(Array.from({ length: 64 }, (_, i) => proposal(i === 63 ? 0 : 2, 1, transform())))))],
    ['64 payloads', raw(13, Buffer.concat(Array.from({ length: 64 }, (_, i) => pl(i === 63 ? 0 : 13, Buffer.alloc(0)))))],
    ['32 attributes', raw(1, sa(proposal(0, 1, transform(0, '8001 0007'.repeat(31)))))],
    ['IPv4 ID', raw(5, pl(0, hex('01000000 0a000001')))],
    ['8-byte nonce', raw(10, pl(0, Buffer.alloc(8, 1)))],
    ['256-byte nonce', raw(10, pl(0, Buffer.alloc(256, 1)))],
    ['delete', raw(12, pl(0, hex('00000001 03 04 0002 01020304 05060708')))],
    ['NAT-OA', raw(21, pl(0, hex('01000000 0a000001')))],
  ];
  for (const [name, b] of bases) {
    const r = decodeMessage(b);
    t.ok(r.ok, `${name}: ${r.ok ? 'ok' : r.reason}`);
  }
});

t.test('padding is only accepted where asked for, and bounded', async (t) => {
  const chain = pl(0, Buffer.alloc(20, 7));
  t.equal(decodePayloads(8, Buffer.concat([chain, Buffer.alloc(15)]), { allowPadding: true }).ok, true);
  const tooMuch = decodePayloads(8, Buffer.concat([chain, Buffer.alloc(256)]), { allowPadding: true, base: 28 });
  t.equal(tooMuch.ok, false);
  if (!tooMuch.ok) {
    t.match(tooMuch.reason, /256 bytes after the last payload/);
    t.equal(tooMuch.offset, 28 + 24);
  }
  const empty = decodePayloads(PayloadType.NONE, Buffer.alloc(0));
  t.same(empty.ok ? empty.value.payloads : null, [] as Payload[]);
});
