// Delete payload (RFC 7296 §3.11):
//   | protocol ID:8 | SPI size:8 | number of SPIs:16 | SPIs |
// Deleting the IKE SA: protocol 1, SPI size 0, no SPIs. ESP/AH: 4-byte SPIs.

import { PayloadType, ProtocolId } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { DeletePayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MAX_DELETE_SPIS = 256;

export function decodeDelete(body: Buffer, base: number): WireResult<DeletePayload> {
  if (body.length < 4) return fail(`Delete body is ${body.length} bytes, needs 4`, base, NotifyType.INVALID_SYNTAX);
  const protocol = body[0]!;
  const spiSize = body[1]!;
  const count = body.readUInt16BE(2);
  if (protocol === ProtocolId.IKE ? spiSize !== 0 || count !== 0 : spiSize !== 4) {
    return fail(`Delete for protocol ${protocol} with SPI size ${spiSize} and ${count} SPIs`, base + 1, NotifyType.INVALID_SYNTAX);
  }
  if (count > MAX_DELETE_SPIS) return fail(`Delete lists ${count} SPIs, limit ${MAX_DELETE_SPIS}`, base + 2, NotifyType.INVALID_SYNTAX);
  if (4 + count * spiSize !== body.length) {
    return fail(`Delete lists ${count} SPIs of ${spiSize} bytes but carries ${body.length - 4}`, base + 2, NotifyType.INVALID_SYNTAX);
  }
  const spis: Buffer[] = [];
  for (let i = 0; i < count; i++) spis.push(Buffer.from(body.subarray(4 + i * spiSize, 4 + (i + 1) * spiSize)));
  return ok({ type: PayloadType.DELETE, protocol, spiSize, spis });
}

export function encodeDelete(p: Pick<DeletePayload, 'protocol' | 'spiSize' | 'spis'>): Buffer {
  const head = Buffer.alloc(4);
  head[0] = p.protocol;
  head[1] = p.spiSize;
  head.writeUInt16BE(p.spis.length, 2);
  for (const s of p.spis) if (s.length !== p.spiSize) throw new RangeError('SPI length differs from SPI size');
  return Buffer.concat([head, ...p.spis]);
}
