// KE payload (RFC 7296 §3.4): | DH group:16 | RESERVED:16 | key exchange data |
// The data length must match the group (checked by the exchange, which knows
// the group); here only the fixed part is bounds-checked.

import { PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { KePayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export function decodeKe(body: Buffer, base: number): WireResult<KePayload> {
  if (body.length < 4) return fail(`KE payload body is ${body.length} bytes, needs 4 before the data`, base, NotifyType.INVALID_SYNTAX);
  if (body.length === 4) return fail('KE payload carries no key exchange data', base + 4, NotifyType.INVALID_SYNTAX);
  return ok({ type: PayloadType.KE, group: body.readUInt16BE(0), data: Buffer.from(body.subarray(4)) });
}

export function encodeKe(p: Pick<KePayload, 'group' | 'data'>): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(p.group, 0);
  return Buffer.concat([head, p.data]);
}
