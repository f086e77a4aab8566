// Notification payload body, RFC 2408 §3.14:
//   | DOI:32 | protocol ID:8 | SPI size:8 | notify message type:16 | SPI | notification data |
// DPD (RFC 3706 §5) is a notify with protocol ISAKMP, the two cookies as a
// 16-byte SPI and a 4-byte sequence number as data.

import { NotifyType, PayloadType } from './constants.ts';
import type { NotifyPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

const NOTIFY_FIXED = 8;

export function decodeNotifyBody(body: Buffer, base: number): WireResult<NotifyPayload> {
  if (body.length < NOTIFY_FIXED) {
    return fail(`notify body ${body.length} bytes, need ${NOTIFY_FIXED}`, base, NotifyType.PAYLOAD_MALFORMED);
  }
  const spiSize = body[5]!;
  if (NOTIFY_FIXED + spiSize > body.length) {
    return fail(`notify SPI size ${spiSize} exceeds the ${body.length - NOTIFY_FIXED} bytes left`, base + 5, NotifyType.PAYLOAD_MALFORMED);
  }
  return ok({
    type: PayloadType.NOTIFY,
    doi: body.readUInt32BE(0),
    protocol: body[4]!,
    notifyType: body.readUInt16BE(6),
    spi: Buffer.from(body.subarray(NOTIFY_FIXED, NOTIFY_FIXED + spiSize)),
    data: Buffer.from(body.subarray(NOTIFY_FIXED + spiSize)),
  });
}

export function encodeNotifyBody(p: NotifyPayload): Buffer {
  const out = Buffer.alloc(NOTIFY_FIXED + p.spi.length + p.data.length);
  out.writeUInt32BE(p.doi, 0);
  out.writeUInt8(p.protocol, 4);
  out.writeUInt8(p.spi.length, 5);
  out.writeUInt16BE(p.notifyType, 6);
  p.spi.copy(out, NOTIFY_FIXED);
  p.data.copy(out, NOTIFY_FIXED + p.spi.length);
  return out;
}
