// RFC 7296 §3.2 generic payload header (shared codec: ../../common/generic-header.ts):
//   | next payload:8 | C:1 RESERVED:7 | payload length:16 |   (length includes these 4 bytes)
// The RESERVED bits "MUST be ignored on receipt" (§3.2), so only the critical
// bit is read; every malformation is INVALID_SYNTAX.

import { type GenericHeader, readGenericHeader as readHeader } from '../../common/generic-header.ts';
import { NotifyType } from './notify-types.ts';
import type { WireResult } from './result.ts';

export { CRITICAL_BIT, writeGenericHeader } from '../../common/generic-header.ts';
export type { GenericHeader } from '../../common/generic-header.ts';

const RULES = { reservedMustBeZero: false, malformed: NotifyType.INVALID_SYNTAX, overrun: NotifyType.INVALID_SYNTAX } as const;

export function readGenericHeader(buf: Buffer, off: number, base: number, what: string, minLength?: number): WireResult<GenericHeader> {
  return readHeader<NotifyType>(RULES, buf, off, base, what, minLength);
}
