// Data attributes, RFC 2408 §3.3. Each attribute is either
//   TV  (AF=1): | 1 | type:15 | value:16 |                     (4 bytes)
//   TLV (AF=0): | 0 | type:15 | length:16 | value:length bytes |
// The raw form keeps the on-wire choice so decode+encode reproduces the
// captured bytes exactly; phase1-attributes.ts and ipsec-attributes.ts give
// the typed meaning.

import { NotifyType } from './constants.ts';
import { fail, ok, type WireResult } from './result.ts';

export type Attribute =
  | { type: number; format: 'tv'; value: number }
  | { type: number; format: 'tlv'; value: Buffer };

const AF_BIT = 0x8000;
const TYPE_MASK = 0x7fff;
/** More attributes than this in one transform is not a real peer. */
export const MAX_ATTRIBUTES = 32;

export function decodeAttributes(buf: Buffer, base: number): WireResult<Attribute[]> {
  const out: Attribute[] = [];
  let off = 0;
  while (off < buf.length) {
    if (out.length >= MAX_ATTRIBUTES) {
      return fail(`more than ${MAX_ATTRIBUTES} attributes`, base + off, NotifyType.BAD_PROPOSAL_SYNTAX);
    }
    if (off + 4 > buf.length) {
      return fail(`attribute header truncated (${buf.length - off} of 4 bytes)`, base + off, NotifyType.PAYLOAD_MALFORMED);
    }
    const word = buf.readUInt16BE(off);
    const type = word & TYPE_MASK;
    const second = buf.readUInt16BE(off + 2);
    if ((word & AF_BIT) !== 0) {
      out.push({ type, format: 'tv', value: second });
      off += 4;
      continue;
    }
    if (off + 4 + second > buf.length) {
      return fail(
        `attribute type ${type} length ${second} exceeds the ${buf.length - off - 4} bytes left`,
        base + off,
        NotifyType.PAYLOAD_MALFORMED,
      );
    }
    // Copy: callers may keep attributes after the packet buffer is reused.
    out.push({ type, format: 'tlv', value: Buffer.from(buf.subarray(off + 4, off + 4 + second)) });
    off += 4 + second;
  }
  return ok(out);
}

export function attributesLength(attrs: readonly Attribute[]): number {
  let n = 0;
  for (const a of attrs) n += a.format === 'tv' ? 4 : 4 + a.value.length;
  return n;
}

/** Writes attributes at `off`; returns the offset after them. Throws RangeError
 * on values that cannot be encoded (a programming error, not peer input). */
export function writeAttributes(out: Buffer, off: number, attrs: readonly Attribute[]): number {
  for (const a of attrs) {
    if (!Number.isInteger(a.type) || a.type < 0 || a.type > TYPE_MASK) {
      throw new RangeError(`attribute type ${a.type} out of range`);
    }
    if (a.format === 'tv') {
      if (!Number.isInteger(a.value) || a.value < 0 || a.value > 0xffff) {
        throw new RangeError(`TV attribute ${a.type} value ${a.value} does not fit 16 bits`);
      }
      out.writeUInt16BE(AF_BIT | a.type, off);
      out.writeUInt16BE(a.value, off + 2);
      off += 4;
    } else {
      if (a.value.length > 0xffff) throw new RangeError(`TLV attribute ${a.type} longer than 65535`);
      out.writeUInt16BE(a.type, off);
      out.writeUInt16BE(a.value.length, off + 2);
      a.value.copy(out, off + 4);
      off += 4 + a.value.length;
    }
  }
  return off;
}

/** Integer value of a basic or variable attribute (RFC 2408 §3.3: variable
 * values are big-endian integers of any length, e.g. life durations), or
 * null if it does not fit a safe JS integer. */
export function attributeInteger(a: Attribute): number | null {
  if (a.format === 'tv') return a.value;
  if (a.value.length === 0) return null;
  let v = 0;
  for (const byte of a.value) {
    v = v * 256 + byte;
    if (v > Number.MAX_SAFE_INTEGER) return null;
  }
  return v;
}

/** A basic (TV) attribute. */
export function tv(type: number, value: number): Attribute {
  return { type, format: 'tv', value };
}

/** A variable-length integer attribute: TV when the value fits 16 bits (as
 * strongSwan sends short life durations), else a 4- or 8-byte TLV. */
export function integerAttribute(type: number, value: number): Attribute {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`attribute ${type} value ${value} invalid`);
  if (value <= 0xffff) return { type, format: 'tv', value };
  const len = value <= 0xffffffff ? 4 : 8;
  const b = Buffer.alloc(len);
  let v = value;
  for (let i = len - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return { type, format: 'tlv', value: b };
}
