// Identification payload body, RFC 2407 §4.6.2 (the IPsec DOI layout of
// RFC 2408 §3.8):  | ID type:8 | protocol ID:8 | port:16 | identification data |
// Address ID types have fixed data lengths (§4.6.2.2-§4.6.2.12); a wrong
// length is INVALID-ID-INFORMATION.

import { IdType, NotifyType, PayloadType } from './constants.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../common/ip-address.ts';
import type { IdPayload, Identity } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

const ID_FIXED = 4;

function decodeIdentity(idType: number, d: Buffer, base: number): WireResult<Identity> {
  const want = (n: number): WireResult<null> =>
    d.length === n ? ok(null) : fail(`ID type ${idType} data is ${d.length} bytes, expected ${n}`, base, NotifyType.INVALID_ID_INFORMATION);
  switch (idType) {
    case IdType.IPV4_ADDR: {
      const w = want(4);
      return w.ok ? ok({ idType, address: formatIpv4(d) }) : w;
    }
    case IdType.IPV6_ADDR: {
      const w = want(16);
      return w.ok ? ok({ idType, address: formatIpv6(d) }) : w;
    }
    case IdType.IPV4_ADDR_SUBNET: {
      const w = want(8);
      return w.ok ? ok({ idType, address: formatIpv4(d.subarray(0, 4)), mask: formatIpv4(d.subarray(4)) }) : w;
    }
    case IdType.IPV6_ADDR_SUBNET: {
      const w = want(32);
      return w.ok ? ok({ idType, address: formatIpv6(d.subarray(0, 16)), mask: formatIpv6(d.subarray(16)) }) : w;
    }
    case IdType.IPV4_ADDR_RANGE: {
      const w = want(8);
      return w.ok ? ok({ idType, start: formatIpv4(d.subarray(0, 4)), end: formatIpv4(d.subarray(4)) }) : w;
    }
    case IdType.IPV6_ADDR_RANGE: {
      const w = want(32);
      return w.ok ? ok({ idType, start: formatIpv6(d.subarray(0, 16)), end: formatIpv6(d.subarray(16)) }) : w;
    }
    case IdType.FQDN:
    case IdType.USER_FQDN:
      if (d.length === 0) return fail(`ID type ${idType} has an empty name`, base, NotifyType.INVALID_ID_INFORMATION);
      return ok({ idType, name: d.toString('latin1') });
    case IdType.DER_ASN1_DN:
    case IdType.DER_ASN1_GN:
    case IdType.KEY_ID:
      if (d.length === 0) return fail(`ID type ${idType} has empty data`, base, NotifyType.INVALID_ID_INFORMATION);
      return ok({ idType, data: Buffer.from(d) });
    default:
      return fail(`unknown ID type ${idType}`, base - ID_FIXED, NotifyType.INVALID_ID_INFORMATION);
  }
}

export function decodeIdBody(body: Buffer, base: number): WireResult<IdPayload> {
  if (body.length < ID_FIXED) return fail(`ID body ${body.length} bytes, need ${ID_FIXED}`, base, NotifyType.PAYLOAD_MALFORMED);
  const id = decodeIdentity(body[0]!, body.subarray(ID_FIXED), base + ID_FIXED);
  if (!id.ok) return id;
  return ok({ type: PayloadType.ID, protocol: body[1]!, port: body.readUInt16BE(2), id: id.value });
}

function address(parse: (s: string) => Buffer | null, s: string): Buffer {
  const b = parse(s);
  if (b === null) throw new RangeError(`invalid address "${s}" in ID`);
  return b;
}

/** The identification data bytes (no ID type/protocol/port) of an identity. */
export function identityData(id: Identity): Buffer {
  switch (id.idType) {
    case IdType.IPV4_ADDR:
      return address(parseIpv4, id.address);
    case IdType.IPV6_ADDR:
      return address(parseIpv6, id.address);
    case IdType.IPV4_ADDR_SUBNET:
      return Buffer.concat([address(parseIpv4, id.address), address(parseIpv4, id.mask)]);
    case IdType.IPV6_ADDR_SUBNET:
      return Buffer.concat([address(parseIpv6, id.address), address(parseIpv6, id.mask)]);
    case IdType.IPV4_ADDR_RANGE:
      return Buffer.concat([address(parseIpv4, id.start), address(parseIpv4, id.end)]);
    case IdType.IPV6_ADDR_RANGE:
      return Buffer.concat([address(parseIpv6, id.start), address(parseIpv6, id.end)]);
    case IdType.FQDN:
    case IdType.USER_FQDN:
      return Buffer.from(id.name, 'latin1');
    case IdType.DER_ASN1_DN:
    case IdType.DER_ASN1_GN:
    case IdType.KEY_ID:
      return id.data;
  }
}

export function encodeIdBody(p: IdPayload): Buffer {
  const data = identityData(p.id);
  const out = Buffer.alloc(ID_FIXED + data.length);
  out.writeUInt8(p.id.idType, 0);
  out.writeUInt8(p.protocol, 1);
  out.writeUInt16BE(p.port, 2);
  data.copy(out, ID_FIXED);
  return out;
}
