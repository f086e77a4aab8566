// Payload type -> body codec dispatch (one codec file per payload family).

import { PayloadType } from './constants.ts';
import { decodeAuth, encodeAuth } from './authentication.ts';
import { decodeCert, encodeCert } from './certificate.ts';
import { decodeDelete, encodeDelete } from './delete.ts';
import { decodeSk, decodeSkf, encodeSkfPrefix } from './encrypted-payload.ts';
import { decodeId, encodeId } from './identification.ts';
import { decodeKe, encodeKe } from './key-exchange.ts';
import { decodeNonce, encodeNonce } from './nonce.ts';
import { decodeNotify, encodeNotify } from './notify.ts';
import { NotifyType } from './notify-types.ts';
import type { Payload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';
import { decodeSa, encodeSa } from './sa.ts';
import { decodeTs, encodeTs } from './traffic-selectors.ts';
import { decodeVendorId, encodeVendorId } from './vendor-id.ts';

/**
 * Decodes the body of one payload. `next` is the generic header's next
 * payload (for SK/SKF the first inner payload). Unknown types are kept
 * opaque unless critical: RFC 7296 §2.5 makes an unknown critical payload
 * fatal with UNSUPPORTED_CRITICAL_PAYLOAD.
 */
export function decodePayloadBody(type: number, next: number, critical: boolean, body: Buffer, base: number): WireResult<Payload> {
  switch (type) {
    case PayloadType.SA:
      return decodeSa(body, base);
    case PayloadType.KE:
      return decodeKe(body, base);
    case PayloadType.IDI:
    case PayloadType.IDR:
      return decodeId(type, body, base);
    case PayloadType.CERT:
    case PayloadType.CERTREQ:
      return decodeCert(type, body, base);
    case PayloadType.AUTH:
      return decodeAuth(body, base);
    case PayloadType.NONCE:
      return decodeNonce(body, base);
    case PayloadType.NOTIFY:
      return decodeNotify(body, base);
    case PayloadType.DELETE:
      return decodeDelete(body, base);
    case PayloadType.VENDOR_ID:
      return decodeVendorId(body, base);
    case PayloadType.TSI:
    case PayloadType.TSR:
      return decodeTs(type, body, base);
    case PayloadType.SK:
      return decodeSk(next, body, base);
    case PayloadType.SKF:
      return decodeSkf(next, body, base);
    case PayloadType.CP:
    case PayloadType.EAP:
      return ok({ type, opaque: true, critical, body: Buffer.from(body) });
    default:
      if (critical) return fail(`unsupported critical payload type ${type}`, base - 4, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
      return ok({ type, opaque: true, critical, body: Buffer.from(body) });
  }
}

/** Encodes a payload body. Throws RangeError on a caller bug. */
export function encodePayloadBody(p: Payload): Buffer {
  if ('opaque' in p) return Buffer.from(p.body);
  switch (p.type) {
    case PayloadType.SA:
      return encodeSa(p);
    case PayloadType.KE:
      return encodeKe(p);
    case PayloadType.IDI:
    case PayloadType.IDR:
      return encodeId(p);
    case PayloadType.CERT:
    case PayloadType.CERTREQ:
      return encodeCert(p);
    case PayloadType.AUTH:
      return encodeAuth(p);
    case PayloadType.NONCE:
      return encodeNonce(p);
    case PayloadType.NOTIFY:
      return encodeNotify(p);
    case PayloadType.DELETE:
      return encodeDelete(p);
    case PayloadType.VENDOR_ID:
      return encodeVendorId(p);
    case PayloadType.TSI:
    case PayloadType.TSR:
      return encodeTs(p);
    case PayloadType.SK:
      return Buffer.from(p.body);
    case PayloadType.SKF:
      return Buffer.concat([encodeSkfPrefix(p), p.body]);
  }
}
