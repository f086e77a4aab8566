// IKEv1 fragment messages (firmware/src/ike/wire/fragment.ts): the byte layout
// strongSwan uses, encode -> decode round trips, and malformed fragments
// rejected with reasons.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  ExchangeType,
  FRAGMENT_OVERHEAD,
  FRAGMENTATION_VENDOR_ID,
  MAX_FRAGMENTS,
  VendorId,
  announcesFragmentation,
  decodeFragment,
  decodeMessage,
  encodeFragments,
  isFragmentMessage,
  writeHeader,
} from '../../firmware/src/ike/wire/index.ts';

const ckyI = Buffer.from('0102030405060708', 'hex');
const ckyR = Buffer.from('1112131415161718', 'hex');

/** A fake encrypted main mode message of n bytes (header + opaque body). */
function bigMessage(n: number): Buffer {
  const buf = Buffer.concat([Buffer.alloc(28), randomBytes(n - 28)]);
  writeHeader(buf, { initiatorCookie: ckyI, responderCookie: ckyR, exchangeType: ExchangeType.MAIN, flags: 1, messageId: 0 }, 5, n);
  return buf;
}

t.test('layout of one fragment', async (t) => {
  const msg = bigMessage(100);
  const [f] = encodeFragments(msg, 7, 1000);
  t.ok(f);
  t.equal(f!.length, 28 + 8 + 100);
  t.same(f!.subarray(0, 16), Buffer.concat([ckyI, ckyR]), 'cookies of the SA');
  t.equal(f![16], 132, 'next payload: fragment');
  t.equal(f![17], 0x10, 'version 1.0');
  t.equal(f![18], ExchangeType.MAIN, 'exchange type identity protection');
  t.equal(f![19], 0, 'flags: not encrypted');
  t.equal(f!.readUInt32BE(20), 0, 'message ID 0');
  t.equal(f!.readUInt32BE(24), f!.length, 'header length');
  t.same([...f!.subarray(28, 36)], [0, 0, 0, 108, 0, 7, 1, 1], 'payload header, ID 7, number 1, last');
  t.same(f!.subarray(36), msg, 'data is the whole original datagram, header included');
  t.ok(isFragmentMessage(f!));
  t.notOk(isFragmentMessage(msg));
});

t.test('round trip: sizes, numbering, reassembly by concatenation', async (t) => {
  for (const [size, limit] of [
    [1500, 1252],
    [3000, 1248],
    [2000, 200],
    [1253, 1252],
  ] as const) {
    const msg = bigMessage(size);
    const frags = encodeFragments(msg, 1, limit);
    t.equal(frags.length, Math.ceil(size / (limit - FRAGMENT_OVERHEAD)), `${size} bytes at ${limit}: fragment count`);
    const parts: Buffer[] = [];
    frags.forEach((f, i) => {
      t.ok(f.length <= limit, 'within the limit');
      const d = decodeFragment(f);
      if (!d.ok) {
        t.fail(d.reason);
        return;
      }
      t.equal(d.value.number, i + 1);
      t.equal(d.value.last, i === frags.length - 1);
      t.equal(d.value.fragmentId, 1);
      t.same(d.value.initiatorCookie, ckyI);
      t.same(d.value.responderCookie, ckyR);
      parts.push(d.value.data);
    });
    t.same(Buffer.concat(parts), msg, 'concatenation restores the message');
    t.ok(decodeMessage(Buffer.concat(parts)).ok, 'and it decodes as a normal message');
  }
});

t.test('encoder refuses caller bugs', async (t) => {
  t.throws(() => encodeFragments(Buffer.alloc(10), 1, 500), RangeError);
  t.throws(() => encodeFragments(bigMessage(100), 1, FRAGMENT_OVERHEAD), RangeError);
  t.throws(() => encodeFragments(bigMessage(100), 0x10000, 500), RangeError);
  t.throws(() => encodeFragments(bigMessage(17 * 10 + 28), 1, FRAGMENT_OVERHEAD + 10), RangeError, 'more than 16 fragments');
  t.equal(encodeFragments(bigMessage(16 * 10), 1, FRAGMENT_OVERHEAD + 10).length, MAX_FRAGMENTS, '16 fragments is fine');
});

function fragment(mutate: (b: Buffer) => void): Buffer {
  const [f] = encodeFragments(bigMessage(60), 1, 1000);
  const b = Buffer.from(f!);
  mutate(b);
  return b;
}

t.test('malformed fragments are rejected with reasons', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    ['zero fragment number', fragment((b) => (b[34] = 0)), /fragment number 0/],
    ['number above 16', fragment((b) => (b[34] = 17)), /fragment number 17 above the limit of 16/],
    ['payload length longer than the datagram', fragment((b) => b.writeUInt16BE(b.readUInt16BE(30) + 1, 30)), /exceeds/],
    ['payload length shorter than the datagram', fragment((b) => b.writeUInt16BE(b.readUInt16BE(30) - 1, 30)), /fragment payload length \d+ but \d+ bytes follow/],
    ['payload length below the payload header', fragment((b) => b.writeUInt16BE(6, 30)), /below minimum 8/],
    ['another payload after it', fragment((b) => (b[28] = 13)), /must be the only payload/],
    ['reserved byte set', fragment((b) => (b[29] = 1)), /RESERVED/],
    ['header length mismatch', fragment((b) => b.writeUInt32BE(b.length + 4, 24)), /header length/],
    ['not a fragment at all', bigMessage(60), /not a fragment/],
    ['truncated payload header', fragment((b) => b.writeUInt32BE(30, 24)).subarray(0, 30), /truncated/],
  ];
  for (const [name, buf, reason] of cases) {
    const d = decodeFragment(buf);
    t.notOk(d.ok, name);
    if (!d.ok) t.match(d.reason, reason, name);
  }
  // Empty data: a payload of exactly its 8-byte header.
  const empty = Buffer.alloc(36);
  writeHeader(empty, { initiatorCookie: ckyI, responderCookie: ckyR, exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 }, 132, 36);
  empty.writeUInt16BE(8, 30);
  empty[34] = 1;
  empty[35] = 1;
  const d = decodeFragment(empty);
  t.notOk(d.ok);
  if (!d.ok) t.match(d.reason, /without data/);
  // racoon sets the E flag on fragments: tolerated.
  t.ok(decodeFragment(fragment((b) => (b[19] = 1))).ok, 'E flag tolerated');
});

t.test('fragmentation vendor ID', async (t) => {
  t.equal(FRAGMENT_VENDOR_ID_HEX, FRAGMENTATION_VENDOR_ID.toString('hex'), 'hash + 0x80000000 as strongSwan sends it');
  t.ok(announcesFragmentation(FRAGMENTATION_VENDOR_ID));
  t.ok(announcesFragmentation(VendorId.CISCO_FRAGMENTATION.bytes), 'bare hash (Windows)');
  t.notOk(announcesFragmentation(Buffer.from('4048b7d56ebce88525e7de7f00d6c2d340000000', 'hex')), 'base mode only');
  t.ok(announcesFragmentation(Buffer.from('4048b7d56ebce88525e7de7f00d6c2d3c0000000', 'hex')), 'Cisco: both bits');
  t.notOk(announcesFragmentation(Buffer.from('4048b7d56ebce88525e7de7f00d6c2d380', 'hex')), 'odd length');
  t.notOk(announcesFragmentation(VendorId.DPD.bytes));
});

const FRAGMENT_VENDOR_ID_HEX = '4048b7d56ebce88525e7de7f00d6c2d380000000';
