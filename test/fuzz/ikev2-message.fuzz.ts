// An IKEv2 datagram (RFC 7296 §3: header and payload chain, SK/SKF bodies
// left sealed). decodeMessage must never throw and a rejection names a
// reason and an offset inside the input. What it accepts re-encodes, and
// encoding is stable: decoding the re-encoded bytes gives the same bytes
// again (nothing decoded can be written differently a second time).
import { decodeMessage, encodeMessage } from '../../firmware/src/ike/v2/wire/index.ts';
import { check, checkRejection } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  const r = decodeMessage(data);
  if (!r.ok) return checkRejection(r, data.length);
  const once = encodeMessage(r.value.header, r.value.payloads);
  const again = decodeMessage(once);
  check(again.ok, `re-encoded message no longer decodes: ${again.ok ? '' : again.reason}`);
  if (!again.ok) return;
  check(encodeMessage(again.value.header, again.value.payloads).equals(once), 're-encoding is not stable');
}
