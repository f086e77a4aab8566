// SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5) payload bodies as the chain
// sees them, before decryption:
//   SK:  | IV | encrypted (inner payloads | padding | pad length:8) | ICV |
//   SKF: | fragment number:16 | total fragments:16 | IV | encrypted | ICV |
// The IV and ICV lengths depend on the negotiated algorithms, so the split is
// done by encrypted.ts with the keys; here only the fixed part is checked.
// The generic header's next payload is the first inner payload's type (for
// SKF: in fragment 1 only, 0 in the others).

import { PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { SkfPayload, SkPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

/** RFC 7383 §2.5 puts no limit on Total Fragments; this daemon reassembles at most this many. */
export const MAX_FRAGMENTS = 64;

export function decodeSk(innerFirst: number, body: Buffer, base: number): WireResult<SkPayload> {
  if (body.length === 0) return fail('empty Encrypted payload', base, NotifyType.INVALID_SYNTAX);
  return ok({ type: PayloadType.SK, innerFirst, body: Buffer.from(body) });
}

export function decodeSkf(innerFirst: number, body: Buffer, base: number): WireResult<SkfPayload> {
  if (body.length < 5) return fail(`Encrypted Fragment body is ${body.length} bytes`, base, NotifyType.INVALID_SYNTAX);
  const fragmentNumber = body.readUInt16BE(0);
  const totalFragments = body.readUInt16BE(2);
  // RFC 7383 §2.6.1: fragment number 0, or greater than the total, is invalid.
  if (fragmentNumber === 0 || fragmentNumber > totalFragments) {
    return fail(`fragment ${fragmentNumber} of ${totalFragments}`, base, NotifyType.INVALID_SYNTAX);
  }
  if (totalFragments > MAX_FRAGMENTS) return fail(`${totalFragments} fragments, limit ${MAX_FRAGMENTS}`, base + 2, NotifyType.INVALID_SYNTAX);
  if (fragmentNumber !== 1 && innerFirst !== PayloadType.NONE) {
    return fail(`fragment ${fragmentNumber} names inner payload ${innerFirst}, only fragment 1 may`, base - 4, NotifyType.INVALID_SYNTAX);
  }
  return ok({ type: PayloadType.SKF, innerFirst, fragmentNumber, totalFragments, body: Buffer.from(body.subarray(4)) });
}

export function encodeSkfPrefix(p: Pick<SkfPayload, 'fragmentNumber' | 'totalFragments'>): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(p.fragmentNumber, 0);
  b.writeUInt16BE(p.totalFragments, 2);
  return b;
}
