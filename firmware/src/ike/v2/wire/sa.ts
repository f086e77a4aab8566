// SA payload (RFC 7296 §3.3): a list of Proposal substructures, each a list
// of Transform substructures with attributes.
//   Proposal:  | last/more:8 (0 or 2) | RESERVED:8 | length:16 |
//              | proposal #:8 | protocol ID:8 | SPI size:8 | #transforms:8 | SPI | transforms...
//   Transform: | last/more:8 (0 or 3) | RESERVED:8 | length:16 |
//              | type:8 | RESERVED:8 | transform ID:16 | attributes...
//   Attribute: | AF:1 type:15 | length or value:16 | value (TLV only) |
// §3.3.5 defines one attribute, Key Length, always TV (AF = 1). An unknown
// attribute makes the transform unusable, not the message malformed, so it
// decodes into `unknownAttributes` and policy rejects the transform.

import { GENERIC_HEADER_LENGTH, PayloadType, TransformAttribute } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import { readGenericHeader, writeGenericHeader } from './generic-header.ts';
import type { Proposal, SaPayload, Transform } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAX_PROPOSALS = 64;
export const MAX_TRANSFORMS = 64;

const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;
const PROPOSAL_FIXED = GENERIC_HEADER_LENGTH + 4;
const TRANSFORM_FIXED = GENERIC_HEADER_LENGTH + 4;
const ATTRIBUTE_TV = 0x8000;

/** A decoded transform; `unknownAttributes` lists attribute types this daemon does not know. */
export interface DecodedTransform extends Transform {
  unknownAttributes?: number[];
}

function decodeAttributes(buf: Buffer, start: number, end: number, base: number, t: DecodedTransform): WireResult<void> {
  let pos = start;
  while (pos < end) {
    if (end - pos < 4) return fail('transform attribute truncated', base + pos, NotifyType.INVALID_SYNTAX);
    const word = buf.readUInt16BE(pos);
    const type = word & 0x7fff;
    if (word & ATTRIBUTE_TV) {
      const value = buf.readUInt16BE(pos + 2);
      if (type === TransformAttribute.KEY_LENGTH) {
        if (t.keyLength !== undefined) return fail('Key Length attribute repeated', base + pos, NotifyType.INVALID_SYNTAX);
        t.keyLength = value;
      } else (t.unknownAttributes ??= []).push(type);
      pos += 4;
    } else {
      const length = buf.readUInt16BE(pos + 2);
      if (pos + 4 + length > end) return fail(`attribute length ${length} exceeds the transform`, base + pos + 2, NotifyType.INVALID_SYNTAX);
      (t.unknownAttributes ??= []).push(type);
      pos += 4 + length;
    }
  }
  return ok(undefined);
}

function decodeProposal(buf: Buffer, off: number, length: number, base: number): WireResult<Proposal> {
  const end = off + length;
  const number = buf[off + 4]!;
  const protocol = buf[off + 5]!;
  const spiSize = buf[off + 6]!;
  const count = buf[off + 7]!;
  if (count === 0) return fail('proposal has zero transforms', base + off + 7, NotifyType.INVALID_SYNTAX);
  if (count > MAX_TRANSFORMS) return fail(`proposal claims ${count} transforms, limit ${MAX_TRANSFORMS}`, base + off + 7, NotifyType.INVALID_SYNTAX);
  if (off + PROPOSAL_FIXED + spiSize > end)
    return fail(`SPI size ${spiSize} exceeds proposal length ${length}`, base + off + 6, NotifyType.INVALID_SYNTAX);
  const spi = Buffer.from(buf.subarray(off + PROPOSAL_FIXED, off + PROPOSAL_FIXED + spiSize));
  const inner = buf.subarray(0, end);
  const transforms: DecodedTransform[] = [];
  let pos = off + PROPOSAL_FIXED + spiSize;
  for (let i = 0; i < count; i++) {
    const h = readGenericHeader(inner, pos, base, `transform ${i + 1}`, TRANSFORM_FIXED);
    if (!h.ok) return h;
    const want = i === count - 1 ? 0 : MORE_TRANSFORMS;
    if (h.value.next !== want)
      return fail(`transform ${i + 1} of ${count} says ${h.value.next}, expected ${want}`, base + pos, NotifyType.INVALID_SYNTAX);
    const t: DecodedTransform = { type: inner[pos + 4]!, id: inner.readUInt16BE(pos + 6) };
    const a = decodeAttributes(inner, pos + TRANSFORM_FIXED, pos + h.value.length, base, t);
    if (!a.ok) return a;
    transforms.push(t);
    pos += h.value.length;
  }
  if (pos !== end) return fail(`${end - pos} bytes after the last transform of proposal ${number}`, base + pos, NotifyType.INVALID_SYNTAX);
  return ok({ number, protocol, spi, transforms });
}

/** Decodes an SA payload body. Never throws. */
export function decodeSa(body: Buffer, base: number): WireResult<SaPayload> {
  const proposals: Proposal[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (proposals.length >= MAX_PROPOSALS) return fail(`more than ${MAX_PROPOSALS} proposals`, base + pos, NotifyType.INVALID_SYNTAX);
    const h = readGenericHeader(body, pos, base, `proposal ${proposals.length + 1}`, PROPOSAL_FIXED);
    if (!h.ok) return h;
    const p = decodeProposal(body, pos, h.value.length, base);
    if (!p.ok) return p;
    proposals.push(p.value);
    pos += h.value.length;
    const last = pos >= body.length;
    if (h.value.next !== (last ? 0 : MORE_PROPOSALS)) {
      return fail(
        `proposal ${proposals.length} says ${h.value.next}, expected ${last ? 0 : MORE_PROPOSALS}`,
        base + pos - h.value.length,
        NotifyType.INVALID_SYNTAX,
      );
    }
  }
  if (proposals.length === 0) return fail('SA payload without proposals', base, NotifyType.INVALID_SYNTAX);
  return ok({ type: PayloadType.SA, proposals });
}

function encodeTransform(t: Transform, last: boolean): Buffer {
  const out = Buffer.alloc(TRANSFORM_FIXED + (t.keyLength === undefined ? 0 : 4));
  writeGenericHeader(out, 0, last ? 0 : MORE_TRANSFORMS, out.length);
  out[4] = t.type;
  out.writeUInt16BE(t.id, 6);
  if (t.keyLength !== undefined) {
    out.writeUInt16BE(ATTRIBUTE_TV | TransformAttribute.KEY_LENGTH, 8);
    out.writeUInt16BE(t.keyLength, 10);
  }
  return out;
}

/** Encodes an SA payload body. Throws RangeError on a caller bug (no proposals, an SPI over 255 bytes). */
export function encodeSa(sa: Pick<SaPayload, 'proposals'>): Buffer {
  if (sa.proposals.length === 0) throw new RangeError('SA payload needs a proposal');
  const parts = sa.proposals.map((p, i) => {
    if (p.transforms.length === 0 || p.transforms.length > 255) throw new RangeError('proposal needs 1..255 transforms');
    if (p.spi.length > 255) throw new RangeError('SPI longer than 255 bytes');
    const ts = p.transforms.map((t, j) => encodeTransform(t, j === p.transforms.length - 1));
    const head = Buffer.alloc(PROPOSAL_FIXED);
    const length = PROPOSAL_FIXED + p.spi.length + ts.reduce((n, b) => n + b.length, 0);
    writeGenericHeader(head, 0, i === sa.proposals.length - 1 ? 0 : MORE_PROPOSALS, length);
    head[4] = p.number;
    head[5] = p.protocol;
    head[6] = p.spi.length;
    head[7] = p.transforms.length;
    return Buffer.concat([head, p.spi, ...ts]);
  });
  return Buffer.concat(parts);
}
