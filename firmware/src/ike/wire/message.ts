// Whole ISAKMP messages: header + payload chain (cleartext), or header +
// opaque body when the E flag is set (RFC 2408 §3.1: everything after the
// header is encrypted). Decryption belongs to the crypto layer, which then
// calls decodePayloads(header.nextPayload, plaintext, { allowPadding: true }).

import { HEADER_LENGTH, HeaderFlag } from './constants.ts';
import { decodeHeader, isEncrypted, writeHeader, type HeaderFields, type IsakmpHeader } from './header.ts';
import { decodePayloads, encodePayloads } from './payload-chain.ts';
import type { Payload, PayloadSpan } from './payloads.ts';
import { ok, type WireResult } from './result.ts';

export interface CleartextMessage {
  encrypted: false;
  header: IsakmpHeader;
  payloads: Payload[];
  /** Spans are relative to the first byte after the header. */
  spans: PayloadSpan[];
}

export interface EncryptedMessage {
  encrypted: true;
  header: IsakmpHeader;
  /** Ciphertext after the header (a view into the input buffer). */
  body: Buffer;
}

export type DecodedMessage = CleartextMessage | EncryptedMessage;

/** Decodes one ISAKMP datagram (non-ESP marker already removed). Never
 * throws: bad input gives { ok: false, reason, offset }. */
export function decodeMessage(buf: Buffer): WireResult<DecodedMessage> {
  const h = decodeHeader(buf);
  if (!h.ok) return h;
  const header = h.value;
  const body = buf.subarray(HEADER_LENGTH, header.length);
  if (isEncrypted(header)) return ok({ encrypted: true, header, body });
  const chain = decodePayloads(header.nextPayload, body, { base: HEADER_LENGTH });
  if (!chain.ok) return chain;
  return ok({ encrypted: false, header, payloads: chain.value.payloads, spans: chain.value.spans });
}

/** Encodes a cleartext message. Throws RangeError if the E flag is set
 * (use encodeEncryptedMessage) or a payload cannot be encoded. */
export function encodeMessage(header: HeaderFields, payloads: readonly Payload[]): Buffer {
  if (isEncrypted(header)) throw new RangeError('E flag set: encrypt the payloads and use encodeEncryptedMessage');
  const chain = encodePayloads(payloads);
  const out = Buffer.alloc(HEADER_LENGTH + chain.bytes.length);
  writeHeader(out, header, chain.first, out.length);
  chain.bytes.copy(out, HEADER_LENGTH);
  return out;
}

/** Encodes a message whose body is already encrypted; `firstPayload` is the
 * type of the first (encrypted) payload. Sets the E flag. */
export function encodeEncryptedMessage(header: HeaderFields, firstPayload: number, ciphertext: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH + ciphertext.length);
  writeHeader(out, { ...header, flags: header.flags | HeaderFlag.ENCRYPTION }, firstPayload, out.length);
  ciphertext.copy(out, HEADER_LENGTH);
  return out;
}
