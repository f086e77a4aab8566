// Policy identities (the shared Identity type) as IKEv2 ID payloads (RFC 7296
// §3.5). IKEv2 ID types 1, 2, 3, 5, 9, 10, 11 carry the same numbers and data
// as their IKEv1 counterparts (RFC 2407 §4.6.2.1), so the data encoding is
// shared; subnet and range IDs do not exist in IKEv2.

import { formatIpv4, formatIpv6 } from '../../common/ip-address.ts';
import { sameDn } from '../../crypto/distinguished-name.ts';
import type { PeerId } from '../../crypto/x509-verify.ts';
import { identityData } from '../../wire/identification.ts';
import type { Identity } from '../../wire/index.ts';
import { IdType } from '../wire/constants.ts';
import type { IdPayload } from '../wire/payloads.ts';

const V2_TYPES: ReadonlySet<number> = new Set(Object.values(IdType));

/** The ID payload fields for a policy identity, or null for IKEv1-only ID types. */
export function idOf(id: Identity): Pick<IdPayload, 'idType' | 'data'> | null {
  if (!V2_TYPES.has(id.idType)) return null;
  return { idType: id.idType, data: identityData(id) };
}

/** Same identity; distinguished names compare by attributes and values, not encoding (distinguished-name.ts). */
export function sameId(a: Pick<IdPayload, 'idType' | 'data'>, b: Pick<IdPayload, 'idType' | 'data'>): boolean {
  if (a.idType !== b.idType) return false;
  return a.idType === IdType.DER_ASN1_DN ? sameDn(a.data, b.data) : a.data.equals(b.data);
}

/** The peer's ID payload as the certificate check binds it (x509-verify.ts), or null for KEY_ID and the like. */
export function certPeerId(p: Pick<IdPayload, 'idType' | 'data'>): PeerId | null {
  switch (p.idType) {
    case IdType.IPV4_ADDR:
      return p.data.length === 4 ? { type: 'ipv4', value: formatIpv4(p.data) } : null;
    case IdType.IPV6_ADDR:
      return p.data.length === 16 ? { type: 'ipv6', value: formatIpv6(p.data) } : null;
    case IdType.FQDN:
      return { type: 'fqdn', value: p.data.toString('latin1') };
    case IdType.RFC822_ADDR:
      return { type: 'user_fqdn', value: p.data.toString('latin1') };
    case IdType.DER_ASN1_DN:
      return { type: 'der_asn1_dn', value: p.data };
    default:
      return null;
  }
}

/** The ID body AUTH covers (§2.15 RestOfInitIDPayload): type, three reserved bytes, data. */
export function idBody(p: Pick<IdPayload, 'idType' | 'data'>): Buffer {
  const head = Buffer.alloc(4);
  head[0] = p.idType;
  return Buffer.concat([head, p.data]);
}
