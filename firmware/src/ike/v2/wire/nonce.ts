// Nonce payload (RFC 7296 §3.9): the nonce data only, 16..256 bytes (§2.10:
// "at least 128 bits and at least half the key size of the negotiated PRF").

import { PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { NoncePayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const MIN_NONCE = 16;
export const MAX_NONCE = 256;

export function decodeNonce(body: Buffer, base: number): WireResult<NoncePayload> {
  if (body.length < MIN_NONCE || body.length > MAX_NONCE) {
    return fail(`nonce is ${body.length} bytes, must be ${MIN_NONCE}..${MAX_NONCE}`, base, NotifyType.INVALID_SYNTAX);
  }
  return ok({ type: PayloadType.NONCE, data: Buffer.from(body) });
}

export function encodeNonce(p: Pick<NoncePayload, 'data'>): Buffer {
  if (p.data.length < MIN_NONCE || p.data.length > MAX_NONCE) throw new RangeError('nonce must be 16..256 bytes');
  return Buffer.from(p.data);
}
