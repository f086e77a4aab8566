// Per-type dispatch between payload bodies (the bytes after the 4-byte
// generic header) and typed payloads. Opaque payloads (KE, HASH, SIG, NONCE,
// VID, CERT, CR; RFC 2408 §3.7-§3.16) are decoded here; structured ones in
// their own files.

import { NotifyType, PayloadType } from './constants.ts';
import { decodeDeleteBody, encodeDeleteBody } from './delete.ts';
import { decodeIdBody, encodeIdBody } from './identification.ts';
import { decodeNatDBody, decodeNatOaBody, encodeNatOaBody } from './nat-t.ts';
import { decodeNotifyBody, encodeNotifyBody } from './notify.ts';
import type { Payload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';
import { decodeSaBody, encodeSaBody } from './sa.ts';

/** RFC 2409 §5: "The length of nonce payload MUST be between 8 and 256 bytes inclusive." */
export const NONCE_MIN = 8;
export const NONCE_MAX = 256;

function nonEmpty(name: string, body: Buffer, base: number): WireResult<Buffer> {
  if (body.length === 0) return fail(`${name} payload is empty`, base, NotifyType.PAYLOAD_MALFORMED);
  return ok(Buffer.from(body));
}

/** Decodes the body of a top-level payload of type `type`; `base` is the
 * body's offset in the caller's buffer, for error reports. */
export function decodePayloadBody(type: number, body: Buffer, base: number): WireResult<Payload> {
  switch (type) {
    case PayloadType.SA:
      return decodeSaBody(body, base);
    case PayloadType.KE: {
      const d = nonEmpty('KE', body, base);
      return d.ok ? ok({ type, data: d.value }) : d;
    }
    case PayloadType.ID:
      return decodeIdBody(body, base);
    case PayloadType.CERT:
    case PayloadType.CR: {
      if (body.length < 1) return fail(`${type === PayloadType.CERT ? 'CERT' : 'CR'} body has no encoding byte`, base, NotifyType.PAYLOAD_MALFORMED);
      const rest = Buffer.from(body.subarray(1));
      return type === PayloadType.CERT
        ? ok({ type, encoding: body[0]!, data: rest })
        : ok({ type, encoding: body[0]!, authority: rest });
    }
    case PayloadType.HASH:
    case PayloadType.SIG: {
      const d = nonEmpty(type === PayloadType.HASH ? 'HASH' : 'SIG', body, base);
      return d.ok ? ok({ type, data: d.value }) : d;
    }
    case PayloadType.NONCE:
      if (body.length < NONCE_MIN || body.length > NONCE_MAX) {
        return fail(`nonce of ${body.length} bytes, must be ${NONCE_MIN}..${NONCE_MAX}`, base, NotifyType.PAYLOAD_MALFORMED);
      }
      return ok({ type, data: Buffer.from(body) });
    case PayloadType.NOTIFY:
      return decodeNotifyBody(body, base);
    case PayloadType.DELETE:
      return decodeDeleteBody(body, base);
    case PayloadType.VENDOR_ID:
      return ok({ type, data: Buffer.from(body) });
    case PayloadType.NAT_D:
    case PayloadType.NAT_D_DRAFT:
      return decodeNatDBody(type, body, base);
    case PayloadType.NAT_OA:
    case PayloadType.NAT_OA_DRAFT:
      return decodeNatOaBody(type, body, base);
    case PayloadType.PROPOSAL:
    case PayloadType.TRANSFORM:
      return fail(`payload type ${type} is only valid inside an SA payload`, base, NotifyType.INVALID_PAYLOAD_TYPE);
    default:
      // RFC 2408 §5.2: an unknown next payload type is INVALID-PAYLOAD-TYPE;
      // IKEv1 has no "critical" bit to let us skip it.
      return fail(`unknown payload type ${type}`, base, NotifyType.INVALID_PAYLOAD_TYPE);
  }
}

/** RFC 2408 §3.9/§3.10: one Cert Encoding byte, then the data. */
function withEncodingByte(encoding: number, data: Buffer): Buffer {
  const out = Buffer.alloc(1 + data.length);
  out.writeUInt8(encoding, 0);
  data.copy(out, 1);
  return out;
}

/** The body bytes of a typed payload. Throws RangeError on out-of-range fields. */
export function encodePayloadBody(p: Payload): Buffer {
  switch (p.type) {
    case PayloadType.SA:
      return encodeSaBody(p);
    case PayloadType.ID:
      return encodeIdBody(p);
    case PayloadType.CERT:
      return withEncodingByte(p.encoding, p.data);
    case PayloadType.CR:
      return withEncodingByte(p.encoding, p.authority);
    case PayloadType.KE:
    case PayloadType.HASH:
    case PayloadType.SIG:
    case PayloadType.NONCE:
    case PayloadType.VENDOR_ID:
      return p.data;
    case PayloadType.NOTIFY:
      return encodeNotifyBody(p);
    case PayloadType.DELETE:
      return encodeDeleteBody(p);
    case PayloadType.NAT_D:
    case PayloadType.NAT_D_DRAFT:
      return p.hash;
    case PayloadType.NAT_OA:
    case PayloadType.NAT_OA_DRAFT:
      return encodeNatOaBody(p);
  }
}
