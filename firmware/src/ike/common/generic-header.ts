// The generic payload header both IKE versions put in front of every payload
// and of the proposal/transform substructures of an SA payload:
//   | next payload:8 | C:1 RESERVED:7 | payload length:16 |   (length includes these 4 bytes)
// The versions differ only in the second octet and in the notify a responder
// names for a malformation: RFC 2408 §3.2 (IKEv1) requires RESERVED to be 0;
// RFC 7296 §3.2 (IKEv2) defines the top bit as "critical" and says the other
// RESERVED bits "MUST be ignored on receipt". Each version passes its rules.

import { GENERIC_HEADER_LENGTH } from './wire-numbers.ts';
import { fail, ok, type WireResult } from './wire-result.ts';

export const CRITICAL_BIT = 0x80;

export interface GenericHeader {
  next: number;
  /** RFC 7296 §3.2 critical bit; always false for IKEv1. */
  critical: boolean;
  /** Whole payload length, header included. */
  length: number;
}

export interface GenericHeaderRules<N extends number> {
  /** IKEv1: a non-zero second octet is malformed. IKEv2: only the critical bit is read. */
  readonly reservedMustBeZero: boolean;
  /** Notify for a truncated header, a non-zero RESERVED octet or a length below the minimum. */
  readonly malformed: N;
  /** Notify for a length running past the bytes left. */
  readonly overrun: N;
}

/** Reads the generic header at buf[off]; `base` turns local offsets into
 * offsets of the caller's message; `what` names the payload in reasons. The
 * whole payload must fit in buf. Never throws. */
export function readGenericHeader<N extends number>(
  rules: GenericHeaderRules<N>,
  buf: Buffer,
  off: number,
  base: number,
  what: string,
  minLength = GENERIC_HEADER_LENGTH,
): WireResult<GenericHeader, N> {
  const left = buf.length - off;
  if (left < GENERIC_HEADER_LENGTH) return fail(`${what} header truncated (${left} of 4 bytes)`, base + off, rules.malformed);
  const second = buf[off + 1]!;
  if (rules.reservedMustBeZero && second !== 0) {
    return fail(`${what} RESERVED byte is 0x${second.toString(16)}, must be 0`, base + off + 1, rules.malformed);
  }
  const length = buf.readUInt16BE(off + 2);
  if (length < minLength) return fail(`${what} length ${length} below minimum ${minLength}`, base + off + 2, rules.malformed);
  if (length > left) return fail(`${what} length ${length} exceeds the ${left} bytes left`, base + off + 2, rules.overrun);
  return ok({ next: buf[off]!, critical: !rules.reservedMustBeZero && (second & CRITICAL_BIT) !== 0, length });
}

/** Writes a generic header. Throws RangeError on a caller bug (not peer input). */
export function writeGenericHeader(out: Buffer, off: number, next: number, length: number, critical = false): void {
  if (length > 0xffff) throw new RangeError(`payload length ${length} exceeds 65535`);
  out[off] = next;
  out[off + 1] = critical ? CRITICAL_BIT : 0;
  out.writeUInt16BE(length, off + 2);
}
