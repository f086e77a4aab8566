// Identity comparisons (RFC 2407 §4.6.2). Phase 1 IDs are compared on type
// and data only (peers differ in the protocol/port they put in); quick mode
// client IDs on everything, since they are the traffic selectors.

import { dnText } from '../crypto/distinguished-name.ts';
import { encodePayloadBody, idPayload, IdType, type IdPayload, type Identity } from '../wire/index.ts';

export function sameIdentity(a: Identity, b: Identity): boolean {
  return encodePayloadBody(idPayload(a)).equals(encodePayloadBody(idPayload(b)));
}

export function sameIdPayload(a: IdPayload, b: IdPayload): boolean {
  return encodePayloadBody(a).equals(encodePayloadBody(b));
}

/** Short text for logs (identities are not secret). */
export function describeIdentity(id: Identity): string {
  if ('name' in id) return id.name;
  if ('mask' in id) return `${id.address}/${id.mask}`;
  if ('start' in id) return `${id.start}-${id.end}`;
  if ('address' in id) return id.address;
  if (id.idType === IdType.DER_ASN1_DN) return dnText(id.data);
  return `${id.data.length}-byte id type ${id.idType}`;
}
