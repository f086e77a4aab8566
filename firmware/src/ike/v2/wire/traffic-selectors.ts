// TSi / TSr payloads (RFC 7296 §3.13):
//   | number of TSs:8 | RESERVED:24 | traffic selectors... |
// Traffic selector (§3.13.1):
//   | TS type:8 | IP protocol ID:8 | selector length:16 | start port:16 | end port:16 |
//   | starting address | ending address |      (4 bytes each for type 7, 16 for type 8)
// Unknown TS types decode as errors: §3.13.1 defines only 7 and 8 and a
// selector we cannot read cannot be narrowed safely.

import { PayloadType, TsType } from './constants.ts';
import { formatIpv4, formatIpv6 } from '../../common/ip-address.ts';
import { NotifyType } from './notify-types.ts';
import type { TrafficSelector, TsPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';
import { ownCopy } from '../../common/own-buffer.ts';

export const MAX_SELECTORS = 64;

const addressLength = (tsType: number): number | undefined =>
  tsType === TsType.IPV4_ADDR_RANGE ? 4 : tsType === TsType.IPV6_ADDR_RANGE ? 16 : undefined;

export function decodeTs(type: TsPayload['type'], body: Buffer, base: number): WireResult<TsPayload> {
  if (body.length < 4) return fail(`TS payload body is ${body.length} bytes, needs 4`, base, NotifyType.INVALID_SYNTAX);
  const count = body[0]!;
  if (count === 0) return fail('TS payload with zero selectors', base, NotifyType.INVALID_SYNTAX);
  if (count > MAX_SELECTORS) return fail(`TS payload with ${count} selectors, limit ${MAX_SELECTORS}`, base, NotifyType.INVALID_SYNTAX);
  const selectors: TrafficSelector[] = [];
  let pos = 4;
  for (let i = 0; i < count; i++) {
    if (body.length - pos < 8) return fail(`selector ${i + 1} truncated`, base + pos, NotifyType.INVALID_SYNTAX);
    const tsType = body[pos]!;
    const length = body.readUInt16BE(pos + 2);
    const n = addressLength(tsType);
    if (n === undefined) return fail(`selector ${i + 1} has unknown TS type ${tsType}`, base + pos, NotifyType.INVALID_SYNTAX);
    if (length !== 8 + 2 * n)
      return fail(`selector ${i + 1} length ${length}, type ${tsType} needs ${8 + 2 * n}`, base + pos + 2, NotifyType.INVALID_SYNTAX);
    if (pos + length > body.length) return fail(`selector ${i + 1} exceeds the payload`, base + pos + 2, NotifyType.INVALID_SYNTAX);
    selectors.push({
      tsType,
      protocol: body[pos + 1]!,
      startPort: body.readUInt16BE(pos + 4),
      endPort: body.readUInt16BE(pos + 6),
      // Own memory: child SAs keep their selectors for life (ike/common/own-buffer.ts).
      startAddress: ownCopy(body.subarray(pos + 8, pos + 8 + n)),
      endAddress: ownCopy(body.subarray(pos + 8 + n, pos + 8 + 2 * n)),
    });
    pos += length;
  }
  if (pos !== body.length) return fail(`${body.length - pos} bytes after the last selector`, base + pos, NotifyType.INVALID_SYNTAX);
  return ok({ type, selectors });
}

export function encodeTs(p: Pick<TsPayload, 'selectors'>): Buffer {
  if (p.selectors.length === 0 || p.selectors.length > 255) throw new RangeError('TS payload needs 1..255 selectors');
  const parts = p.selectors.map((s) => {
    const n = addressLength(s.tsType);
    if (n === undefined || s.startAddress.length !== n || s.endAddress.length !== n)
      throw new RangeError('selector address length does not match its type');
    const head = Buffer.alloc(8);
    head[0] = s.tsType;
    head[1] = s.protocol;
    head.writeUInt16BE(8 + 2 * n, 2);
    head.writeUInt16BE(s.startPort, 4);
    head.writeUInt16BE(s.endPort, 6);
    return Buffer.concat([head, s.startAddress, s.endAddress]);
  });
  const head = Buffer.alloc(4);
  head[0] = p.selectors.length;
  return Buffer.concat([head, ...parts]);
}

/** `10.0.0.0-10.0.0.255[tcp/80-80]`-style text for logs and status. */
export function formatSelector(s: TrafficSelector): string {
  const f = (b: Buffer): string => (b.length === 4 ? formatIpv4(b) : formatIpv6(b));
  const ports = s.startPort === 0 && s.endPort === 0xffff ? '' : s.startPort === s.endPort ? `/${s.startPort}` : `/${s.startPort}-${s.endPort}`;
  const proto = s.protocol === 0 && ports === '' ? '' : `[${s.protocol}${ports}]`;
  return `${f(s.startAddress)}-${f(s.endAddress)}${proto}`;
}
