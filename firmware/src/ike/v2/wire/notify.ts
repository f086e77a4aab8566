// Notify payload (RFC 7296 §3.10):
//   | protocol ID:8 | SPI size:8 | notify message type:16 | SPI | notification data |
// Protocol ID and SPI are 0/empty unless the notify concerns a child SA (§3.10).
// Helpers for the notifies whose data has a structure: NAT_DETECTION_*
// (20-byte SHA-1, §2.23), SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4, a list of
// 16-bit hash ids), INVALID_KE_PAYLOAD (§3.10.1, the 16-bit group the
// responder wants), COOKIE (§2.6, 1..64 bytes).

import { PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { NotifyPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export function decodeNotify(body: Buffer, base: number): WireResult<NotifyPayload> {
  if (body.length < 4) return fail(`Notify body is ${body.length} bytes, needs 4`, base, NotifyType.INVALID_SYNTAX);
  const spiSize = body[1]!;
  if (4 + spiSize > body.length) return fail(`Notify SPI size ${spiSize} exceeds the payload`, base + 1, NotifyType.INVALID_SYNTAX);
  return ok({
    type: PayloadType.NOTIFY,
    protocol: body[0]!,
    notifyType: body.readUInt16BE(2),
    spi: Buffer.from(body.subarray(4, 4 + spiSize)),
    data: Buffer.from(body.subarray(4 + spiSize)),
  });
}

export function encodeNotify(p: Pick<NotifyPayload, 'protocol' | 'spi' | 'notifyType' | 'data'>): Buffer {
  if (p.spi.length > 255) throw new RangeError('notify SPI longer than 255 bytes');
  const head = Buffer.alloc(4);
  head[0] = p.protocol;
  head[1] = p.spi.length;
  head.writeUInt16BE(p.notifyType, 2);
  return Buffer.concat([head, p.spi, p.data]);
}

/** A notify about the IKE SA itself (protocol 0, no SPI). */
export function notify(notifyType: number, data: Buffer = Buffer.alloc(0)): NotifyPayload {
  return { type: PayloadType.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType, data };
}

/** RFC 7296 §3.10.1 INVALID_KE_PAYLOAD data: the accepted DH group, 2 bytes. */
export function invalidKeGroup(p: Pick<NotifyPayload, 'data'>): number | null {
  return p.data.length === 2 ? p.data.readUInt16BE(0) : null;
}

export function groupData(group: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(group, 0);
  return b;
}

/** RFC 7427 §4: SIGNATURE_HASH_ALGORITHMS carries 16-bit hash algorithm ids. */
export function signatureHashes(p: Pick<NotifyPayload, 'data'>): number[] | null {
  if (p.data.length % 2 !== 0) return null;
  const out: number[] = [];
  for (let i = 0; i < p.data.length; i += 2) out.push(p.data.readUInt16BE(i));
  return out;
}

export function signatureHashData(ids: readonly number[]): Buffer {
  const b = Buffer.alloc(ids.length * 2);
  ids.forEach((id, i) => b.writeUInt16BE(id, i * 2));
  return b;
}

/** RFC 7296 §2.6: a COOKIE is 1..64 bytes. */
export function validCookie(p: Pick<NotifyPayload, 'data'>): boolean {
  return p.data.length >= 1 && p.data.length <= 64;
}
