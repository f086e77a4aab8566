// Phase 2 (IPsec SA) transform attributes, RFC 2407 §4.5, plus RFC 3947 §5.1
// (UDP encapsulation modes 3/4 and the draft values 61443/61444), RFC 4868
// (HMAC-SHA-2) and RFC 4304 (extended sequence numbers).

import { attributeInteger, tv, type Attribute } from './attributes.ts';
import { LifetimeCollector, lifetimeAttributes, type Lifetime } from './lifetimes.ts';

export const IpsecAttr = {
  SA_LIFE_TYPE: 1,
  SA_LIFE_DURATION: 2,
  GROUP_DESCRIPTION: 3,
  ENCAPSULATION_MODE: 4,
  AUTH_ALGORITHM: 5,
  KEY_LENGTH: 6,
  KEY_ROUNDS: 7,
  COMPRESS_DICTIONARY_SIZE: 8,
  COMPRESS_PRIVATE_ALGORITHM: 9,
  ECN_TUNNEL: 10,
  EXTENDED_SEQUENCE_NUMBER: 11,
} as const;

export const EncapsulationMode = {
  TUNNEL: 1,
  TRANSPORT: 2,
  UDP_TUNNEL: 3,
  UDP_TRANSPORT: 4,
  /** draft-ietf-ipsec-nat-t-ike-00..03 values, still sent by old peers. */
  UDP_TUNNEL_DRAFT: 61443,
  UDP_TRANSPORT_DRAFT: 61444,
} as const;

export const AuthAlgorithm = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  DES_MAC: 3,
  KPDK: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  HMAC_RIPEMD: 8,
  AES_XCBC_MAC: 9,
  SIG_RSA: 10,
  AES_128_GMAC: 11,
  AES_192_GMAC: 12,
  AES_256_GMAC: 13,
} as const;

/** RFC 4304 §2: attribute 11 value 1 means 64-bit sequence numbers. */
export const ESN_64BIT = 1;

export interface IpsecAttributes {
  keyLength?: number;
  authAlgorithm?: number;
  group?: number;
  encapsulationMode?: number;
  keyRounds?: number;
  esn?: number;
  lifetimes: Lifetime[];
  other: Attribute[];
}

type ScalarKey = 'keyLength' | 'authAlgorithm' | 'group' | 'encapsulationMode' | 'keyRounds' | 'esn';
const SCALARS: ReadonlyMap<number, ScalarKey> = new Map<number, ScalarKey>([
  [IpsecAttr.KEY_LENGTH, 'keyLength'],
  [IpsecAttr.AUTH_ALGORITHM, 'authAlgorithm'],
  [IpsecAttr.GROUP_DESCRIPTION, 'group'],
  [IpsecAttr.ENCAPSULATION_MODE, 'encapsulationMode'],
  [IpsecAttr.KEY_ROUNDS, 'keyRounds'],
  [IpsecAttr.EXTENDED_SEQUENCE_NUMBER, 'esn'],
]);

export function parseIpsecAttributes(attrs: readonly Attribute[]): IpsecAttributes | string {
  const out: IpsecAttributes = { lifetimes: [], other: [] };
  const life = new LifetimeCollector();
  for (const a of attrs) {
    const key = SCALARS.get(a.type);
    if (key !== undefined) {
      const v = attributeInteger(a);
      if (v === null) return `IPsec attribute ${a.type} value unreadable`;
      if (out[key] !== undefined) return `duplicate IPsec attribute ${a.type}`;
      out[key] = v;
    } else if (a.type === IpsecAttr.SA_LIFE_TYPE) life.type(a);
    else if (a.type === IpsecAttr.SA_LIFE_DURATION) life.duration(a);
    else out.other.push(a);
  }
  life.finish();
  if (life.error !== null) return life.error;
  out.lifetimes = life.lifetimes;
  return out;
}

/** Raw attributes in the order strongSwan 5.9 sends them for ESP (key
 * length, auth, group, encapsulation mode, lifetimes, ESN). */
export function ipsecAttributeList(p: IpsecAttributes): Attribute[] {
  const out: Attribute[] = [];
  if (p.keyLength !== undefined) out.push(tv(IpsecAttr.KEY_LENGTH, p.keyLength));
  if (p.authAlgorithm !== undefined) out.push(tv(IpsecAttr.AUTH_ALGORITHM, p.authAlgorithm));
  if (p.group !== undefined) out.push(tv(IpsecAttr.GROUP_DESCRIPTION, p.group));
  if (p.encapsulationMode !== undefined) out.push(tv(IpsecAttr.ENCAPSULATION_MODE, p.encapsulationMode));
  if (p.keyRounds !== undefined) out.push(tv(IpsecAttr.KEY_ROUNDS, p.keyRounds));
  out.push(...lifetimeAttributes(IpsecAttr.SA_LIFE_TYPE, IpsecAttr.SA_LIFE_DURATION, p.lifetimes));
  if (p.esn !== undefined) out.push(tv(IpsecAttr.EXTENDED_SEQUENCE_NUMBER, p.esn));
  out.push(...p.other);
  return out;
}
