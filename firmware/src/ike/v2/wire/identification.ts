// IDi / IDr payloads (RFC 7296 §3.5): | ID type:8 | RESERVED:24 | identification data |
// The body from the ID type on is "RestOfInitIDPayload" / "RestOfRespIDPayload"
// that AUTH covers (§2.15), so encodeId's output is exactly those octets.
// Text <-> bytes conversions for the address and name types live here too.

import { dnText } from '../../crypto/distinguished-name.ts';
import { IdType, PayloadType } from './constants.ts';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../../common/ip-address.ts';
import { NotifyType } from './notify-types.ts';
import type { IdPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export function decodeId(type: IdPayload['type'], body: Buffer, base: number): WireResult<IdPayload> {
  if (body.length < 5) return fail(`ID payload body is ${body.length} bytes, needs the 4-byte header and data`, base, NotifyType.INVALID_SYNTAX);
  const idType = body[0]!;
  const data = Buffer.from(body.subarray(4));
  if (idType === IdType.IPV4_ADDR && data.length !== 4) return fail(`ID_IPV4_ADDR with ${data.length} bytes`, base + 4, NotifyType.INVALID_SYNTAX);
  if (idType === IdType.IPV6_ADDR && data.length !== 16) return fail(`ID_IPV6_ADDR with ${data.length} bytes`, base + 4, NotifyType.INVALID_SYNTAX);
  return ok({ type, idType, data });
}

export function encodeId(p: Pick<IdPayload, 'idType' | 'data'>): Buffer {
  const head = Buffer.alloc(4);
  head[0] = p.idType;
  return Buffer.concat([head, p.data]);
}

/** A human-readable identity: `fqdn:gw.example`, `ipv4:192.0.2.1`, `email:a@b`, `dn:<hex>`, `keyid:<hex>`. */
export function formatId(p: Pick<IdPayload, 'idType' | 'data'>): string {
  switch (p.idType) {
    case IdType.IPV4_ADDR:
      return p.data.length === 4 ? formatIpv4(p.data) : `ipv4:?${p.data.toString('hex')}`;
    case IdType.IPV6_ADDR:
      return p.data.length === 16 ? formatIpv6(p.data) : `ipv6:?${p.data.toString('hex')}`;
    case IdType.FQDN:
      return printable(p.data);
    case IdType.RFC822_ADDR:
      return printable(p.data);
    case IdType.DER_ASN1_DN:
      return `dn:${dnText(p.data)}`;
    case IdType.KEY_ID:
      return `keyid:${p.data.toString('hex')}`;
    default:
      return `id${p.idType}:${p.data.toString('hex')}`;
  }
}

/** Text identities from the peer are shown only when printable ASCII; otherwise hex (no control bytes in logs). */
function printable(b: Buffer): string {
  return /^[\x20-\x7e]*$/.test(b.toString('latin1')) ? b.toString('latin1') : `hex:${b.toString('hex')}`;
}

/** Builds an ID from configuration text: an IP address becomes ID_IPV4/6_ADDR, `a@b` RFC822, anything else FQDN. */
export function idFromText(text: string): Pick<IdPayload, 'idType' | 'data'> {
  const v4 = parseIpv4(text);
  if (v4) return { idType: IdType.IPV4_ADDR, data: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : null;
  if (v6) return { idType: IdType.IPV6_ADDR, data: v6 };
  if (text.includes('@')) return { idType: IdType.RFC822_ADDR, data: Buffer.from(text, 'latin1') };
  return { idType: IdType.FQDN, data: Buffer.from(text, 'latin1') };
}
