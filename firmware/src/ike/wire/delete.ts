// Delete payload body, RFC 2408 §3.15:
//   | DOI:32 | protocol ID:8 | SPI size:8 | # of SPIs:16 | SPIs (# x SPI size) |
// The SPI list must exactly fill the payload.

import { NotifyType, PayloadType } from './constants.ts';
import type { DeletePayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

const DELETE_FIXED = 8;

export function decodeDeleteBody(body: Buffer, base: number): WireResult<DeletePayload> {
  if (body.length < DELETE_FIXED) {
    return fail(`delete body ${body.length} bytes, need ${DELETE_FIXED}`, base, NotifyType.PAYLOAD_MALFORMED);
  }
  const spiSize = body[5]!;
  const count = body.readUInt16BE(6);
  const want = DELETE_FIXED + spiSize * count;
  if (want !== body.length) {
    return fail(
      `delete carries ${count} SPIs of ${spiSize} bytes (${want - DELETE_FIXED}) but has ${body.length - DELETE_FIXED} bytes`,
      base + 6,
      NotifyType.PAYLOAD_MALFORMED,
    );
  }
  if (count > 0 && spiSize === 0) return fail('delete lists SPIs of size 0', base + 5, NotifyType.INVALID_SPI);
  const spis: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const off = DELETE_FIXED + i * spiSize;
    spis.push(Buffer.from(body.subarray(off, off + spiSize)));
  }
  return ok({ type: PayloadType.DELETE, doi: body.readUInt32BE(0), protocol: body[4]!, spiSize, spis });
}

export function encodeDeleteBody(p: DeletePayload): Buffer {
  for (const s of p.spis) {
    if (s.length !== p.spiSize) throw new RangeError(`delete SPI of ${s.length} bytes, spiSize is ${p.spiSize}`);
  }
  const out = Buffer.alloc(DELETE_FIXED + p.spiSize * p.spis.length);
  out.writeUInt32BE(p.doi, 0);
  out.writeUInt8(p.protocol, 4);
  out.writeUInt8(p.spiSize, 5);
  out.writeUInt16BE(p.spis.length, 6);
  p.spis.forEach((s, i) => s.copy(out, DELETE_FIXED + i * p.spiSize));
  return out;
}
