// A decrypted message body (RFC 2408 §3.2 payload chain after the header),
// as main mode 5/6, quick mode and informational exchanges see it once the
// IV and key fit: first byte = the header's next payload, the rest = body.
// Trailing padding is allowed here (RFC 2409 §5.3: the body is padded to the
// cipher block). Never throws; rejections carry a reason and an offset.
import { decodePayloads } from '../../firmware/src/ike/wire/index.ts';
import { check, checkRejection } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const body = data.subarray(1);
  const r = decodePayloads(data[0]!, body, { allowPadding: true });
  if (!r.ok) return checkRejection(r, body.length);
  check(r.value.payloads.length <= 64, 'more payloads than MAX_PAYLOADS');
}
