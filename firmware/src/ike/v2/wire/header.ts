// RFC 7296 §3.1 IKE header, 28 bytes:
//   | IKE SA Initiator's SPI:64 | IKE SA Responder's SPI:64 |
//   | next payload:8 | MjVer:4 MnVer:4 | exchange type:8 | flags:8 |
//   | message ID:32 | length:32 |           (length covers the whole message)

import { ExchangeType, HEADER_LENGTH, HeaderFlag, IKEV2_VERSION } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import { fail, ok, type WireResult } from './result.ts';

export interface Header {
  spiI: Buffer;
  spiR: Buffer;
  next: number;
  exchange: number;
  /** Raw flags octet; see isInitiator/isResponse. */
  flags: number;
  messageId: number;
  length: number;
}

const KNOWN_EXCHANGES: ReadonlySet<number> = new Set(Object.values(ExchangeType));

export const isInitiator = (h: Pick<Header, 'flags'>): boolean => (h.flags & HeaderFlag.INITIATOR) !== 0;
export const isResponse = (h: Pick<Header, 'flags'>): boolean => (h.flags & HeaderFlag.RESPONSE) !== 0;

/**
 * Reads the header of an IKEv2 message held in `buf` (one UDP payload, the
 * RFC 3948 non-ESP marker already removed). Checks the version and that the
 * length field matches the datagram: RFC 7296 §3.1 names the length as the
 * whole message, and a mismatch means truncation or trailing garbage.
 * Unknown exchange types decode (the caller ignores them, §3.1 leaves
 * reserved values to be dropped); a major version above 2 is reported with
 * INVALID_MAJOR_VERSION as §2.5 requires.
 */
export function decodeHeader(buf: Buffer): WireResult<Header> {
  if (buf.length < HEADER_LENGTH) return fail(`message is ${buf.length} bytes, shorter than the 28-byte IKE header`, 0, NotifyType.INVALID_SYNTAX);
  const version = buf[17]!;
  if (version >> 4 !== 2) {
    return fail(`major version ${version >> 4}, only 2 is spoken here`, 17, version >> 4 > 2 ? NotifyType.INVALID_MAJOR_VERSION : undefined);
  }
  const length = buf.readUInt32BE(24);
  if (length !== buf.length) return fail(`header length ${length} but the datagram holds ${buf.length} bytes`, 24, NotifyType.INVALID_SYNTAX);
  return ok({
    spiI: Buffer.from(buf.subarray(0, 8)),
    spiR: Buffer.from(buf.subarray(8, 16)),
    next: buf[16]!,
    exchange: buf[18]!,
    flags: buf[19]!,
    messageId: buf.readUInt32BE(20),
    length,
  });
}

export function isKnownExchange(exchange: number): boolean {
  return KNOWN_EXCHANGES.has(exchange);
}

/** Writes the 28-byte header into out[0..28]. Throws RangeError on a caller bug. */
export function writeHeader(out: Buffer, h: Header): void {
  if (h.spiI.length !== 8 || h.spiR.length !== 8) throw new RangeError('IKE SPIs are 8 bytes');
  if (out.length < HEADER_LENGTH) throw new RangeError('buffer shorter than the IKE header');
  h.spiI.copy(out, 0);
  h.spiR.copy(out, 8);
  out[16] = h.next;
  out[17] = IKEV2_VERSION;
  out[18] = h.exchange;
  out[19] = h.flags;
  out.writeUInt32BE(h.messageId >>> 0, 20);
  out.writeUInt32BE(h.length >>> 0, 24);
}
