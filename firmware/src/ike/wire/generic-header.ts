// RFC 2408 §3.2 generic payload header (shared codec: ../common/generic-header.ts):
//   | next payload:8 | RESERVED:8 | payload length:16 |   (length includes these 4 bytes)
// IKEv1 has no critical bit: the RESERVED octet must be 0.

import { type GenericHeader, readGenericHeader as readHeader } from '../common/generic-header.ts';
import { NotifyType } from './constants.ts';
import type { WireResult } from './result.ts';

export { writeGenericHeader } from '../common/generic-header.ts';
export type { GenericHeader } from '../common/generic-header.ts';

const RULES = { reservedMustBeZero: true, malformed: NotifyType.PAYLOAD_MALFORMED, overrun: NotifyType.UNEQUAL_PAYLOAD_LENGTHS } as const;

export function readGenericHeader(buf: Buffer, off: number, base: number, what: string, minLength?: number): WireResult<GenericHeader> {
  return readHeader<NotifyType>(RULES, buf, off, base, what, minLength);
}
