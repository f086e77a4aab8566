// AUTH payload (RFC 7296 §3.8): | auth method:8 | RESERVED:24 | authentication data |
// For method 14 (RFC 7427 §3) the data starts with | ASN.1 length:8 | AlgorithmIdentifier |
// before the signature; signature.ts in the exchange splits that.

import { AuthMethod, PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { AuthPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export function decodeAuth(body: Buffer, base: number): WireResult<AuthPayload> {
  if (body.length < 5) return fail(`AUTH payload body is ${body.length} bytes, needs the 4-byte header and data`, base, NotifyType.INVALID_SYNTAX);
  return ok({ type: PayloadType.AUTH, method: body[0]!, data: Buffer.from(body.subarray(4)) });
}

export function encodeAuth(p: Pick<AuthPayload, 'method' | 'data'>): Buffer {
  const head = Buffer.alloc(4);
  head[0] = p.method;
  return Buffer.concat([head, p.data]);
}

/** RFC 7427 §3: AUTH data of method 14 = | length:8 | AlgorithmIdentifier (DER) | signature |. */
export function splitDigitalSignature(p: Pick<AuthPayload, 'method' | 'data'>): { algorithm: Buffer; signature: Buffer } | null {
  if (p.method !== AuthMethod.DIGITAL_SIGNATURE || p.data.length < 1) return null;
  const n = p.data[0]!;
  if (n === 0 || 1 + n >= p.data.length) return null;
  return { algorithm: p.data.subarray(1, 1 + n), signature: p.data.subarray(1 + n) };
}

export function joinDigitalSignature(algorithm: Buffer, signature: Buffer): Buffer {
  if (algorithm.length === 0 || algorithm.length > 255) throw new RangeError('AlgorithmIdentifier must be 1..255 bytes');
  return Buffer.concat([Buffer.from([algorithm.length]), algorithm, signature]);
}
