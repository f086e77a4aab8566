// The next-payload chain (RFC 2408 §3.1/§3.2): the header names the first
// payload type, each generic header names the one after it, 0 ends the
// chain. Decoding is bounded: at most MAX_PAYLOADS payloads, every length
// checked against the bytes left.

import { GENERIC_HEADER_LENGTH, NotifyType, PayloadType } from './constants.ts';
import { readGenericHeader, writeGenericHeader } from './generic-header.ts';
import { decodePayloadBody, encodePayloadBody } from './payload-body.ts';
import type { Payload, PayloadSpan } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAX_PAYLOADS = 64;
/** Encrypted bodies are padded to the cipher block (RFC 2409 §5.3); the pad
 * length byte convention caps padding at 255 bytes. strongSwan pads with zeros. */
export const MAX_PADDING = 255;

export interface DecodedPayloads {
  payloads: Payload[];
  spans: PayloadSpan[];
  /** Bytes after the last payload (only when allowPadding). */
  padding: number;
}

export interface DecodePayloadsOptions {
  /** Accept up to MAX_PADDING trailing bytes after the chain ends (decrypted bodies). */
  allowPadding?: boolean;
  /** Offset of `body` in the whole message, so error offsets are message offsets. */
  base?: number;
}

/** Parses a payload chain that starts with a payload of type `first`. Never throws. */
export function decodePayloads(first: number, body: Buffer, options: DecodePayloadsOptions = {}): WireResult<DecodedPayloads> {
  const base = options.base ?? 0;
  const payloads: Payload[] = [];
  const spans: PayloadSpan[] = [];
  let type = first;
  let pos = 0;
  while (type !== PayloadType.NONE) {
    if (payloads.length >= MAX_PAYLOADS) {
      return fail(`more than ${MAX_PAYLOADS} payloads`, base + pos, NotifyType.PAYLOAD_MALFORMED);
    }
    if (pos >= body.length) {
      return fail(`chain names payload type ${type} but the message ends`, base + pos, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
    }
    const h = readGenericHeader(body, pos, base, `payload ${payloads.length + 1} (type ${type})`);
    if (!h.ok) return h;
    const bodyStart = pos + GENERIC_HEADER_LENGTH;
    const inner = body.subarray(bodyStart, pos + h.value.length);
    const p = decodePayloadBody(type, inner, base + bodyStart);
    if (!p.ok) return p;
    payloads.push(p.value);
    spans.push({ type: p.value.type, offset: pos, length: h.value.length, body: inner });
    pos += h.value.length;
    type = h.value.next;
  }
  const left = body.length - pos;
  if (left > 0 && !(options.allowPadding === true && left <= MAX_PADDING)) {
    return fail(`${left} bytes after the last payload`, base + pos, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
  }
  return ok({ payloads, spans, padding: left });
}

export interface EncodedPayloads {
  /** Type of the first payload (0 for an empty list): the header's next payload. */
  first: number;
  bytes: Buffer;
  spans: PayloadSpan[];
}

/** Encodes payloads with correct lengths and next-payload chaining. Throws
 * RangeError on unencodable input (a caller bug, not peer input). */
export function encodePayloads(payloads: readonly Payload[]): EncodedPayloads {
  const bodies = payloads.map(encodePayloadBody);
  const total = bodies.reduce((n, b) => n + GENERIC_HEADER_LENGTH + b.length, 0);
  const bytes = Buffer.alloc(total);
  const spans: PayloadSpan[] = [];
  let off = 0;
  payloads.forEach((p, i) => {
    const b = bodies[i]!;
    const next = payloads[i + 1]?.type ?? PayloadType.NONE;
    const length = GENERIC_HEADER_LENGTH + b.length;
    writeGenericHeader(bytes, off, next, length);
    b.copy(bytes, off + GENERIC_HEADER_LENGTH);
    spans.push({ type: p.type, offset: off, length, body: bytes.subarray(off + GENERIC_HEADER_LENGTH, off + length) });
    off += length;
  });
  return { first: payloads[0]?.type ?? PayloadType.NONE, bytes, spans };
}
