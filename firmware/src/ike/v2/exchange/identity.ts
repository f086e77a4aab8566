// Policy identities (the shared Identity type) as IKEv2 ID payloads (RFC 7296
// §3.5). IKEv2 ID types 1, 2, 3, 5, 9, 10, 11 carry the same numbers and data
// as their IKEv1 counterparts (RFC 2407 §4.6.2.1), so the data encoding is
// shared; subnet and range IDs do not exist in IKEv2.

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

export function sameId(a: Pick<IdPayload, 'idType' | 'data'>, b: Pick<IdPayload, 'idType' | 'data'>): boolean {
  return a.idType === b.idType && a.data.equals(b.data);
}

/** The ID body AUTH covers (§2.15 RestOfInitIDPayload): type, three reserved bytes, data. */
export function idBody(p: Pick<IdPayload, 'idType' | 'data'>): Buffer {
  const head = Buffer.alloc(4);
  head[0] = p.idType;
  return Buffer.concat([head, p.data]);
}
