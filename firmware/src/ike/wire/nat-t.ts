// NAT traversal payloads, RFC 3947:
//   NAT-D  (§3.2): | HASH of address and port |
//   NAT-OA (§5.2): | ID type:8 | RESERVED:8 | RESERVED:16 | IPv4 or IPv6 address |
// The draft payload numbers 130/131 have the same bodies.

import { IdType, NotifyType } from './constants.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../common/ip-address.ts';
import type { NatDPayload, NatOaPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

const NAT_OA_FIXED = 4;

export function decodeNatDBody(type: NatDPayload['type'], body: Buffer, base: number): WireResult<NatDPayload> {
  if (body.length === 0) return fail('NAT-D payload has an empty hash', base, NotifyType.PAYLOAD_MALFORMED);
  return ok({ type, hash: Buffer.from(body) });
}

export function decodeNatOaBody(type: NatOaPayload['type'], body: Buffer, base: number): WireResult<NatOaPayload> {
  if (body.length < NAT_OA_FIXED) return fail(`NAT-OA body ${body.length} bytes, need ${NAT_OA_FIXED}`, base, NotifyType.PAYLOAD_MALFORMED);
  const idType = body[0]!;
  const reserved = body.readUIntBE(1, 3);
  if (reserved !== 0) return fail(`NAT-OA RESERVED is 0x${reserved.toString(16)}, must be 0`, base + 1, NotifyType.PAYLOAD_MALFORMED);
  const addr = body.subarray(NAT_OA_FIXED);
  if (idType === IdType.IPV4_ADDR && addr.length === 4) return ok({ type, idType, address: formatIpv4(addr) });
  if (idType === IdType.IPV6_ADDR && addr.length === 16) return ok({ type, idType, address: formatIpv6(addr) });
  return fail(`NAT-OA ID type ${idType} with ${addr.length} address bytes`, base, NotifyType.INVALID_ID_INFORMATION);
}

export function encodeNatOaBody(p: NatOaPayload): Buffer {
  const addr = p.idType === IdType.IPV4_ADDR ? parseIpv4(p.address) : parseIpv6(p.address);
  if (addr === null) throw new RangeError(`invalid NAT-OA address "${p.address}"`);
  const out = Buffer.alloc(NAT_OA_FIXED + addr.length);
  out.writeUInt8(p.idType, 0);
  addr.copy(out, NAT_OA_FIXED);
  return out;
}
