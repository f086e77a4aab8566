// A whole IKEv2 message: header (§3.1) plus payload chain (§3.2). The raw
// bytes are kept: integrity and AEAD checks of an SK payload cover the
// message as received (§3.14), and responders cache requests' bytes (§2.1).

import { HEADER_LENGTH } from './constants.ts';
import { decodeHeader, writeHeader, type Header } from './header.ts';
import { decodePayloads, encodePayloads } from './payload-chain.ts';
import type { Payload } from './payloads.ts';
import { ok, type WireResult } from './result.ts';

export interface Message {
  header: Header;
  payloads: Payload[];
  /** Offset in `raw` of each payload's generic header. */
  offsets: number[];
  raw: Buffer;
}

/** Decodes one IKEv2 datagram. Never throws; errors carry a message offset. */
export function decodeMessage(buf: Buffer): WireResult<Message> {
  const h = decodeHeader(buf);
  if (!h.ok) return h;
  const chain = decodePayloads(h.value.next, buf.subarray(HEADER_LENGTH), HEADER_LENGTH);
  if (!chain.ok) return chain;
  return ok({ header: h.value, payloads: chain.value.payloads, offsets: chain.value.offsets.map((o) => o + HEADER_LENGTH), raw: buf });
}

export type HeaderFields = Omit<Header, 'next' | 'length'>;

/** Encodes a message (the length and first-payload fields are computed). */
export function encodeMessage(header: HeaderFields, payloads: readonly Payload[]): Buffer {
  const chain = encodePayloads(payloads);
  const out = Buffer.alloc(HEADER_LENGTH + chain.bytes.length);
  writeHeader(out, { ...header, next: chain.first, length: out.length });
  chain.bytes.copy(out, HEADER_LENGTH);
  return out;
}
