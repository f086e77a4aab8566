// RFC 2408 §3.2 generic payload header, shared by top-level payloads and by
// the proposal/transform payloads nested in an SA:
//   | next payload:8 | RESERVED:8 | payload length:16 |   (length includes these 4 bytes)

import { GENERIC_HEADER_LENGTH, NotifyType } from './constants.ts';
import { fail, ok, type WireResult } from './result.ts';

export interface GenericHeader {
  next: number;
  /** Whole payload length, header included. */
  length: number;
}

/** Reads and validates the generic header at buf[off]; `base` turns local
 * offsets into offsets in the caller's buffer for error reports; `what` names
 * the payload in reasons. Requires the whole payload to fit in buf. */
export function readGenericHeader(
  buf: Buffer,
  off: number,
  base: number,
  what: string,
  minLength = GENERIC_HEADER_LENGTH,
): WireResult<GenericHeader> {
  const left = buf.length - off;
  if (left < GENERIC_HEADER_LENGTH) {
    return fail(`${what} header truncated (${left} of 4 bytes)`, base + off, NotifyType.PAYLOAD_MALFORMED);
  }
  const next = buf[off]!;
  const reserved = buf[off + 1]!;
  const length = buf.readUInt16BE(off + 2);
  if (reserved !== 0) {
    return fail(`${what} RESERVED byte is 0x${reserved.toString(16)}, must be 0`, base + off + 1, NotifyType.PAYLOAD_MALFORMED);
  }
  if (length < minLength) {
    return fail(`${what} length ${length} below minimum ${minLength}`, base + off + 2, NotifyType.PAYLOAD_MALFORMED);
  }
  if (length > left) {
    return fail(`${what} length ${length} exceeds the ${left} bytes left`, base + off + 2, NotifyType.UNEQUAL_PAYLOAD_LENGTHS);
  }
  return ok({ next, length });
}

export function writeGenericHeader(out: Buffer, off: number, next: number, length: number): void {
  if (length > 0xffff) throw new RangeError(`payload length ${length} exceeds 65535`);
  out.writeUInt8(next, off);
  out[off + 1] = 0;
  out.writeUInt16BE(length, off + 2);
}
