// RFC 7296 §3.2 generic payload header, shared by top-level payloads and by
// the proposal/transform substructures of an SA payload:
//   | next payload:8 | C:1 RESERVED:7 | payload length:16 |   (length includes these 4 bytes)
// The RESERVED bits "MUST be ignored on receipt" (§3.2), so only the critical
// bit is read.

import { GENERIC_HEADER_LENGTH } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import { fail, ok, type WireResult } from './result.ts';

export const CRITICAL_BIT = 0x80;

export interface GenericHeader {
  next: number;
  critical: boolean;
  /** Whole payload length, header included. */
  length: number;
}

/** Reads the generic header at buf[off]; `base` turns local offsets into
 * offsets of the caller's message; `what` names the payload in reasons. The
 * whole payload must fit in buf. */
export function readGenericHeader(
  buf: Buffer,
  off: number,
  base: number,
  what: string,
  minLength = GENERIC_HEADER_LENGTH,
): WireResult<GenericHeader> {
  const left = buf.length - off;
  if (left < GENERIC_HEADER_LENGTH) return fail(`${what} header truncated (${left} of 4 bytes)`, base + off, NotifyType.INVALID_SYNTAX);
  const length = buf.readUInt16BE(off + 2);
  if (length < minLength) return fail(`${what} length ${length} below minimum ${minLength}`, base + off + 2, NotifyType.INVALID_SYNTAX);
  if (length > left) return fail(`${what} length ${length} exceeds the ${left} bytes left`, base + off + 2, NotifyType.INVALID_SYNTAX);
  return ok({ next: buf[off]!, critical: (buf[off + 1]! & CRITICAL_BIT) !== 0, length });
}

export function writeGenericHeader(out: Buffer, off: number, next: number, length: number, critical = false): void {
  if (length > 0xffff) throw new RangeError(`payload length ${length} exceeds 65535`);
  out[off] = next;
  out[off + 1] = critical ? CRITICAL_BIT : 0;
  out.writeUInt16BE(length, off + 2);
}
