// SA payload (RFC 2408 §3.4, IPsec DOI situation RFC 2407 §4.6.1) with its
// nested Proposal (§3.5) and Transform (§3.6) payloads:
//   SA body:        | DOI:32 | Situation:32 | proposals...
//   Proposal body:  | proposal #:8 | protocol:8 | SPI size:8 | #transforms:8 | SPI | transforms...
//   Transform body: | transform #:8 | transform ID:8 | RESERVED2:16 | attributes...
// Proposals chain with next payload 2, transforms with 3; the last of each
// chain has 0 and must end exactly at its parent's end.

import { attributesLength, decodeAttributes, writeAttributes } from './attributes.ts';
import { Doi, GENERIC_HEADER_LENGTH, NotifyType, PayloadType, Situation } from './constants.ts';
import { readGenericHeader, writeGenericHeader } from './generic-header.ts';
import type { Proposal, SaPayload, Transform } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAX_PROPOSALS = 64;
export const MAX_TRANSFORMS = 64;

const PROPOSAL_FIXED = GENERIC_HEADER_LENGTH + 4;
const TRANSFORM_FIXED = GENERIC_HEADER_LENGTH + 4;

function decodeTransform(buf: Buffer, off: number, length: number, base: number): WireResult<Transform> {
  const reserved2 = buf.readUInt16BE(off + 6);
  if (reserved2 !== 0) {
    return fail(`transform RESERVED2 is 0x${reserved2.toString(16)}, must be 0`, base + off + 6, NotifyType.BAD_PROPOSAL_SYNTAX);
  }
  const attrs = decodeAttributes(buf.subarray(off + TRANSFORM_FIXED, off + length), base + off + TRANSFORM_FIXED);
  if (!attrs.ok) return attrs;
  return ok({ number: buf[off + 4]!, id: buf[off + 5]!, attributes: attrs.value });
}

function decodeProposal(buf: Buffer, off: number, length: number, base: number): WireResult<Proposal> {
  const number = buf[off + 4]!;
  const protocol = buf[off + 5]!;
  const spiSize = buf[off + 6]!;
  const count = buf[off + 7]!;
  if (count === 0) return fail('proposal has zero transforms', base + off + 7, NotifyType.BAD_PROPOSAL_SYNTAX);
  if (count > MAX_TRANSFORMS) {
    return fail(`proposal claims ${count} transforms, limit ${MAX_TRANSFORMS}`, base + off + 7, NotifyType.BAD_PROPOSAL_SYNTAX);
  }
  const end = off + length;
  if (off + PROPOSAL_FIXED + spiSize > end) {
    return fail(`proposal SPI size ${spiSize} exceeds proposal length ${length}`, base + off + 6, NotifyType.PAYLOAD_MALFORMED);
  }
  const spi = Buffer.from(buf.subarray(off + PROPOSAL_FIXED, off + PROPOSAL_FIXED + spiSize));
  const transforms: Transform[] = [];
  let pos = off + PROPOSAL_FIXED + spiSize;
  const inner = buf.subarray(0, end);
  for (let i = 0; i < count; i++) {
    const h = readGenericHeader(inner, pos, base, 'transform', TRANSFORM_FIXED);
    if (!h.ok) return h;
    const last = i === count - 1;
    const wantNext = last ? PayloadType.NONE : PayloadType.TRANSFORM;
    if (h.value.next !== wantNext) {
      return fail(
        `transform ${i + 1} of ${count} has next payload ${h.value.next}, expected ${wantNext}`,
        base + pos,
        NotifyType.BAD_PROPOSAL_SYNTAX,
      );
    }
    const t = decodeTransform(inner, pos, h.value.length, base);
    if (!t.ok) return t;
    transforms.push(t.value);
    pos += h.value.length;
  }
  if (pos !== end) {
    return fail(`${end - pos} bytes after the last transform of proposal ${number}`, base + pos, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
  }
  return ok({ number, protocol, spi, transforms });
}

/** Decodes an SA payload body; `base` is the body's offset for error reports. */
export function decodeSaBody(body: Buffer, base: number): WireResult<SaPayload> {
  if (body.length < 8) return fail(`SA body ${body.length} bytes, need 8 for DOI and situation`, base, NotifyType.PAYLOAD_MALFORMED);
  const doi = body.readUInt32BE(0);
  if (doi !== Doi.IPSEC) return fail(`SA DOI ${doi} not supported (only IPsec DOI 1)`, base, NotifyType.DOI_NOT_SUPPORTED);
  const situation = body.readUInt32BE(4);
  // RFC 2407 §4.6.1: secrecy/integrity situations append labelled-domain data we do not parse.
  if ((situation & ~Situation.IDENTITY_ONLY) !== 0) {
    return fail(`SA situation 0x${situation.toString(16)} not supported`, base + 4, NotifyType.SITUATION_NOT_SUPPORTED);
  }
  const proposals: Proposal[] = [];
  let pos = 8;
  for (;;) {
    if (proposals.length >= MAX_PROPOSALS) {
      return fail(`more than ${MAX_PROPOSALS} proposals`, base + pos, NotifyType.BAD_PROPOSAL_SYNTAX);
    }
    const h = readGenericHeader(body, pos, base, 'proposal', PROPOSAL_FIXED);
    if (!h.ok) return h;
    if (h.value.next !== PayloadType.PROPOSAL && h.value.next !== PayloadType.NONE) {
      return fail(`proposal next payload ${h.value.next}, expected 2 or 0`, base + pos, NotifyType.BAD_PROPOSAL_SYNTAX);
    }
    const p = decodeProposal(body, pos, h.value.length, base);
    if (!p.ok) return p;
    proposals.push(p.value);
    pos += h.value.length;
    if (h.value.next === PayloadType.NONE) break;
  }
  if (pos !== body.length) {
    return fail(`${body.length - pos} bytes after the last proposal`, base + pos, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
  }
  return ok({ type: PayloadType.SA, doi, situation, proposals });
}

function transformLength(t: Transform): number {
  return TRANSFORM_FIXED + attributesLength(t.attributes);
}

function proposalLength(p: Proposal): number {
  return PROPOSAL_FIXED + p.spi.length + p.transforms.reduce((n, t) => n + transformLength(t), 0);
}

/** Encodes an SA payload body. Throws RangeError on unencodable input
 * (e.g. more than 255 transforms), which is a caller bug. */
export function encodeSaBody(sa: SaPayload): Buffer {
  if (sa.proposals.length === 0) throw new RangeError('SA payload needs at least one proposal');
  const total = 8 + sa.proposals.reduce((n, p) => n + proposalLength(p), 0);
  const out = Buffer.alloc(total);
  out.writeUInt32BE(sa.doi, 0);
  out.writeUInt32BE(sa.situation, 4);
  let off = 8;
  sa.proposals.forEach((p, pi) => {
    if (p.transforms.length === 0 || p.transforms.length > 255) throw new RangeError('proposal needs 1..255 transforms');
    if (p.spi.length > 255) throw new RangeError('SPI longer than 255 bytes');
    const plen = proposalLength(p);
    writeGenericHeader(out, off, pi === sa.proposals.length - 1 ? PayloadType.NONE : PayloadType.PROPOSAL, plen);
    out.writeUInt8(p.number, off + 4);
    out.writeUInt8(p.protocol, off + 5);
    out[off + 6] = p.spi.length;
    out[off + 7] = p.transforms.length;
    p.spi.copy(out, off + PROPOSAL_FIXED);
    let t = off + PROPOSAL_FIXED + p.spi.length;
    p.transforms.forEach((tr, ti) => {
      const tlen = transformLength(tr);
      writeGenericHeader(out, t, ti === p.transforms.length - 1 ? PayloadType.NONE : PayloadType.TRANSFORM, tlen);
      out.writeUInt8(tr.number, t + 4);
      out.writeUInt8(tr.id, t + 5);
      out.writeUInt16BE(0, t + 6);
      writeAttributes(out, t + TRANSFORM_FIXED, tr.attributes);
      t += tlen;
    });
    off += plen;
  });
  return out;
}
