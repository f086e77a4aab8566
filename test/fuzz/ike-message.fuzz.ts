// A datagram on UDP 500/4500 (after the non-ESP marker): the ISAKMP header
// and payload chain (RFC 2408 §3, RFC 2409). decodeMessage must never throw;
// a rejection names a reason and an offset inside the input; a cleartext
// message it accepts re-encodes to exactly the input (nothing it keeps is lost).
import { decodeMessage, encodeMessage } from '../../firmware/src/ike/wire/index.ts';
import { check, checkRejection } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  const r = decodeMessage(data);
  if (!r.ok) return checkRejection(r, data.length);
  if (r.value.encrypted) return;
  const again = encodeMessage(r.value.header, r.value.payloads);
  check(again.equals(data), 'accepted but re-encodes differently');
}
