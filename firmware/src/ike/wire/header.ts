// ISAKMP header, RFC 2408 §3.1 (28 bytes):
//   0  initiator cookie (8)
//   8  responder cookie (8)
//   16 next payload (1) | 17 major:4 minor:4 | 18 exchange type (1) | 19 flags (1)
//   20 message ID (4)
//   24 length (4), whole message including this header

import { ExchangeType, HEADER_FLAGS_MASK, HEADER_LENGTH, HeaderFlag, NotifyType } from './constants.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAJOR_VERSION = 1;
export const MINOR_VERSION = 0;

/** What a sender chooses; next payload and length follow from the payloads. */
export interface HeaderFields {
  initiatorCookie: Buffer;
  responderCookie: Buffer;
  exchangeType: ExchangeType;
  /** HeaderFlag bits. */
  flags: number;
  messageId: number;
  /** Defaults to 0; RFC 2408 §3.1 says implementations of this version set 0. */
  minorVersion?: number;
}

export interface IsakmpHeader extends HeaderFields {
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  length: number;
}

const EXCHANGE_TYPES: ReadonlySet<number> = new Set<number>(Object.values(ExchangeType));

function isExchangeType(v: number): v is ExchangeType {
  return EXCHANGE_TYPES.has(v);
}

export function isEncrypted(h: Pick<HeaderFields, 'flags'>): boolean {
  return (h.flags & HeaderFlag.ENCRYPTION) !== 0;
}

/** Decodes and validates the header of a whole datagram `buf` (its length
 * field must equal buf.length). Never throws. */
export function decodeHeader(buf: Buffer): WireResult<IsakmpHeader> {
  if (buf.length < HEADER_LENGTH) {
    return fail(`message of ${buf.length} bytes is shorter than the ${HEADER_LENGTH}-byte ISAKMP header`, 0, NotifyType.PAYLOAD_MALFORMED);
  }
  const initiatorCookie = Buffer.from(buf.subarray(0, 8));
  // RFC 2408 §2.5.3: cookies are non-zero; an all-zero initiator cookie is never valid.
  if (initiatorCookie.every((b) => b === 0)) return fail('initiator cookie is zero', 0, NotifyType.INVALID_COOKIE);
  const version = buf[17]!;
  const majorVersion = version >> 4;
  const minorVersion = version & 0x0f;
  if (majorVersion !== MAJOR_VERSION) {
    return fail(`ISAKMP major version ${majorVersion}, expected ${MAJOR_VERSION}`, 17, NotifyType.INVALID_MAJOR_VERSION);
  }
  // RFC 2408 §3.1: implementations SHOULD never accept a minor version larger than their own (0).
  if (minorVersion > MINOR_VERSION) {
    return fail(`ISAKMP minor version ${minorVersion}, expected ${MINOR_VERSION}`, 17, NotifyType.INVALID_MINOR_VERSION);
  }
  const exchangeType = buf[18]!;
  if (!isExchangeType(exchangeType)) return fail(`unknown exchange type ${exchangeType}`, 18, NotifyType.INVALID_EXCHANGE_TYPE);
  const flags = buf[19]!;
  if ((flags & ~HEADER_FLAGS_MASK) !== 0) {
    return fail(`header flags 0x${flags.toString(16)} set unused bits`, 19, NotifyType.INVALID_FLAGS);
  }
  const length = buf.readUInt32BE(24);
  if (length !== buf.length) {
    return fail(`header length ${length} but datagram has ${buf.length} bytes`, 24, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
  }
  return ok({
    initiatorCookie,
    responderCookie: Buffer.from(buf.subarray(8, 16)),
    nextPayload: buf[16]!,
    majorVersion,
    minorVersion,
    exchangeType,
    flags,
    messageId: buf.readUInt32BE(20),
    length,
  });
}

/** Writes a header for a message of `length` bytes into out[0..28). */
export function writeHeader(out: Buffer, h: HeaderFields, nextPayload: number, length: number): void {
  if (h.initiatorCookie.length !== 8 || h.responderCookie.length !== 8) throw new RangeError('cookies must be 8 bytes');
  const minor = h.minorVersion ?? MINOR_VERSION;
  if (minor < 0 || minor > 15) throw new RangeError(`minor version ${minor} out of range`);
  if ((h.flags & ~HEADER_FLAGS_MASK) !== 0) throw new RangeError(`flags 0x${h.flags.toString(16)} set unused bits`);
  h.initiatorCookie.copy(out, 0);
  h.responderCookie.copy(out, 8);
  out.writeUInt8(nextPayload, 16);
  out.writeUInt8((MAJOR_VERSION << 4) | minor, 17);
  out.writeUInt8(h.exchangeType, 18);
  out.writeUInt8(h.flags, 19);
  out.writeUInt32BE(h.messageId, 20);
  out.writeUInt32BE(length, 24);
}
