// The next-payload chain (RFC 7296 §3.2): the header names the first payload
// type, each generic header names the one after it, 0 ends the chain. The
// Encrypted payload (SK, §3.14) and its fragments (SKF, RFC 7383 §2.5) must
// be last, and their next payload names the first payload *inside*, so the
// chain stops there. Decoding is bounded: at most MAX_PAYLOADS payloads,
// every length checked against the bytes left.

import { GENERIC_HEADER_LENGTH, PayloadType } from './constants.ts';
import { readGenericHeader, writeGenericHeader } from './generic-header.ts';
import { NotifyType } from './notify-types.ts';
import { decodePayloadBody, encodePayloadBody } from './payload-body.ts';
import type { Payload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAX_PAYLOADS = 64;

export interface DecodedChain {
  payloads: Payload[];
  /** Offset (in the decoded buffer) of each payload's generic header. */
  offsets: number[];
}

const endsChain = (type: number): boolean => type === PayloadType.SK || type === PayloadType.SKF;

/** Parses a payload chain starting with type `first` that fills `body` exactly. Never throws. */
export function decodePayloads(first: number, body: Buffer, base = 0): WireResult<DecodedChain> {
  const payloads: Payload[] = [];
  const offsets: number[] = [];
  let type = first;
  let pos = 0;
  while (type !== PayloadType.NONE) {
    if (payloads.length >= MAX_PAYLOADS) return fail(`more than ${MAX_PAYLOADS} payloads`, base + pos, NotifyType.INVALID_SYNTAX);
    if (pos >= body.length) return fail(`chain names payload type ${type} but the message ends`, base + pos, NotifyType.INVALID_SYNTAX);
    const h = readGenericHeader(body, pos, base, `payload ${payloads.length + 1} (type ${type})`);
    if (!h.ok) return h;
    const start = pos + GENERIC_HEADER_LENGTH;
    const p = decodePayloadBody(type, h.value.next, h.value.critical, body.subarray(start, pos + h.value.length), base + start);
    if (!p.ok) return p;
    payloads.push(p.value);
    offsets.push(pos);
    pos += h.value.length;
    if (endsChain(type)) {
      if (pos !== body.length)
        return fail(`${body.length - pos} bytes after the Encrypted payload, which must be last`, base + pos, NotifyType.INVALID_SYNTAX);
      break;
    }
    type = h.value.next;
  }
  if (pos !== body.length) return fail(`${body.length - pos} bytes after the last payload`, base + pos, NotifyType.INVALID_SYNTAX);
  return ok({ payloads, offsets });
}

export interface EncodedChain {
  /** Type of the first payload (0 for none): the header's or SK's next payload. */
  first: number;
  bytes: Buffer;
}

/** Encodes payloads with lengths and next-payload chaining. An SK/SKF payload
 * must be last and chains to its own innerFirst. Throws RangeError on a caller bug. */
export function encodePayloads(payloads: readonly Payload[]): EncodedChain {
  const bodies = payloads.map(encodePayloadBody);
  const bytes = Buffer.alloc(bodies.reduce((n, b) => n + GENERIC_HEADER_LENGTH + b.length, 0));
  let off = 0;
  payloads.forEach((p, i) => {
    const b = bodies[i]!;
    let next: number = payloads[i + 1]?.type ?? PayloadType.NONE;
    if (p.type === PayloadType.SK || p.type === PayloadType.SKF) {
      if (i !== payloads.length - 1) throw new RangeError('the Encrypted payload must be last');
      if ('innerFirst' in p) next = p.innerFirst;
    }
    writeGenericHeader(bytes, off, next, GENERIC_HEADER_LENGTH + b.length, 'opaque' in p ? p.critical : false);
    b.copy(bytes, off + GENERIC_HEADER_LENGTH);
    off += GENERIC_HEADER_LENGTH + b.length;
  });
  return { first: payloads[0]?.type ?? PayloadType.NONE, bytes };
}
