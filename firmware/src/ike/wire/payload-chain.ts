// The IKEv1 next-payload chain (RFC 2408 §3.1/§3.2) over the chain codec both
// versions share (../common/payload-chain.ts). IKEv1 specifics: no payload
// must be last, and decrypted bodies may end in cipher-block padding.

import { buildChain, type ChainRules, walkPayloads } from '../common/payload-chain.ts';
import { GENERIC_HEADER_LENGTH, NotifyType } from './constants.ts';
import { readGenericHeader } from './generic-header.ts';
import { decodePayloadBody, encodePayloadBody } from './payload-body.ts';
import type { Payload, PayloadSpan } from './payloads.ts';
import { ok, type WireResult } from './result.ts';

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

const RULES: ChainRules<Payload, NotifyType> = {
  maxPayloads: MAX_PAYLOADS,
  readHeader: readGenericHeader,
  decodeBody: (type, _header, body, base) => decodePayloadBody(type, body, base),
  lastOnly: () => undefined,
  notify: {
    tooMany: NotifyType.PAYLOAD_MALFORMED,
    ended: NotifyType.UNEQUAL_PAYLOAD_LENGTHS,
    trailing: NotifyType.UNEQUAL_PAYLOAD_LENGTHS,
  },
};

/** Parses a payload chain that starts with a payload of type `first`. Never throws. */
export function decodePayloads(first: number, body: Buffer, options: DecodePayloadsOptions = {}): WireResult<DecodedPayloads> {
  const r = walkPayloads(RULES, first, body, options.base ?? 0, options.allowPadding === true ? MAX_PADDING : 0);
  if (!r.ok) return r;
  return ok({
    payloads: r.value.items.map((i) => i.payload),
    spans: r.value.items.map((i) => ({ type: i.payload.type, offset: i.offset, length: i.length, body: i.body })),
    padding: r.value.padding,
  });
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
  const built = buildChain(payloads.map((p) => ({ type: p.type, body: encodePayloadBody(p) })));
  const spans = built.spans.map((s, i) => ({
    type: payloads[i]!.type,
    offset: s.offset,
    length: s.length,
    body: built.bytes.subarray(s.offset + GENERIC_HEADER_LENGTH, s.offset + s.length),
  }));
  return { first: built.first, bytes: built.bytes, spans };
}
