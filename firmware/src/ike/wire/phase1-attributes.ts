// Phase 1 (ISAKMP SA) transform attributes, RFC 2409 Appendix A, plus the
// later IANA "IKE Attributes" registrations (AES RFC 3602, SHA-2 RFC 4868,
// ECDSA RFC 4754, ECP/brainpool groups RFC 5903/6932).

import { EcdsaAuthMethod } from '../common/wire-numbers.ts';
import { attributeInteger, integerAttribute, tv, type Attribute } from './attributes.ts';
import { LifetimeCollector, lifetimeAttributes, type Lifetime } from './lifetimes.ts';

export const Phase1Attr = {
  ENCRYPTION_ALGORITHM: 1,
  HASH_ALGORITHM: 2,
  AUTH_METHOD: 3,
  GROUP_DESCRIPTION: 4,
  GROUP_TYPE: 5,
  GROUP_PRIME: 6,
  GROUP_GENERATOR_ONE: 7,
  GROUP_GENERATOR_TWO: 8,
  GROUP_CURVE_A: 9,
  GROUP_CURVE_B: 10,
  LIFE_TYPE: 11,
  LIFE_DURATION: 12,
  PRF: 13,
  KEY_LENGTH: 14,
  FIELD_SIZE: 15,
  GROUP_ORDER: 16,
} as const;

export const EncryptionAlgorithm = {
  DES_CBC: 1,
  IDEA_CBC: 2,
  BLOWFISH_CBC: 3,
  RC5_R16_B64_CBC: 4,
  TRIPLE_DES_CBC: 5,
  CAST_CBC: 6,
  AES_CBC: 7,
  CAMELLIA_CBC: 8,
} as const;

export const HashAlgorithm = {
  MD5: 1,
  SHA1: 2,
  TIGER: 3,
  SHA2_256: 4,
  SHA2_384: 5,
  SHA2_512: 6,
} as const;

/** Authentication Method; 65001.. are the XAUTH values of draft-ietf-ipsec-isakmp-xauth. */
export const AuthMethod = {
  PRE_SHARED_KEY: 1,
  DSS_SIGNATURES: 2,
  RSA_SIGNATURES: 3,
  RSA_ENCRYPTION: 4,
  RSA_REVISED_ENCRYPTION: 5,
  ...EcdsaAuthMethod, // RFC 4754, the same numbers as IKEv2's
  XAUTH_INIT_PSK: 65001,
  XAUTH_RESP_PSK: 65002,
  XAUTH_INIT_RSA: 65005,
  XAUTH_RESP_RSA: 65006,
} as const;

/** Group Description (also used by IPsec DOI attribute 3, PFS group). */
export const DhGroup = {
  MODP_768: 1,
  MODP_1024: 2,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  MODP_1024_160: 22,
  MODP_2048_224: 23,
  MODP_2048_256: 24,
  ECP_192: 25,
  ECP_224: 26,
  BRAINPOOL_P224R1: 27,
  BRAINPOOL_P256R1: 28,
  BRAINPOOL_P384R1: 29,
  BRAINPOOL_P512R1: 30,
} as const;

/** Typed view of one phase 1 transform's attributes. Algorithm fields are
 * plain numbers (compare against the constants above) because unknown values
 * are legal on the wire and only policy decides whether to accept them. */
export interface Phase1Attributes {
  encryption?: number;
  keyLength?: number;
  hash?: number;
  authMethod?: number;
  group?: number;
  prf?: number;
  lifetimes: Lifetime[];
  /** Attributes not interpreted here (custom groups, field size, ...). */
  other: Attribute[];
}

type ScalarKey = 'encryption' | 'keyLength' | 'hash' | 'authMethod' | 'group' | 'prf';
const SCALARS: ReadonlyMap<number, ScalarKey> = new Map<number, ScalarKey>([
  [Phase1Attr.ENCRYPTION_ALGORITHM, 'encryption'],
  [Phase1Attr.KEY_LENGTH, 'keyLength'],
  [Phase1Attr.HASH_ALGORITHM, 'hash'],
  [Phase1Attr.AUTH_METHOD, 'authMethod'],
  [Phase1Attr.GROUP_DESCRIPTION, 'group'],
  [Phase1Attr.PRF, 'prf'],
]);

/** Interprets raw attributes; returns a reason string on malformed input
 * (duplicates, unreadable values, durations without a life type). */
export function parsePhase1Attributes(attrs: readonly Attribute[]): Phase1Attributes | string {
  const out: Phase1Attributes = { lifetimes: [], other: [] };
  const life = new LifetimeCollector();
  for (const a of attrs) {
    const key = SCALARS.get(a.type);
    if (key !== undefined) {
      const v = attributeInteger(a);
      if (v === null) return `phase 1 attribute ${a.type} value unreadable`;
      if (out[key] !== undefined) return `duplicate phase 1 attribute ${a.type}`;
      out[key] = v;
    } else if (a.type === Phase1Attr.LIFE_TYPE) life.type(a);
    else if (a.type === Phase1Attr.LIFE_DURATION) life.duration(a);
    else out.other.push(a);
  }
  life.finish();
  if (life.error !== null) return life.error;
  out.lifetimes = life.lifetimes;
  return out;
}

/** Raw attributes for a phase 1 transform, in the order strongSwan sends
 * them (encryption, key length, hash, group, auth, lifetimes). */
export function phase1AttributeList(p: Phase1Attributes): Attribute[] {
  const out: Attribute[] = [];
  if (p.encryption !== undefined) out.push(tv(Phase1Attr.ENCRYPTION_ALGORITHM, p.encryption));
  if (p.keyLength !== undefined) out.push(tv(Phase1Attr.KEY_LENGTH, p.keyLength));
  if (p.hash !== undefined) out.push(tv(Phase1Attr.HASH_ALGORITHM, p.hash));
  if (p.group !== undefined) out.push(tv(Phase1Attr.GROUP_DESCRIPTION, p.group));
  if (p.authMethod !== undefined) out.push(tv(Phase1Attr.AUTH_METHOD, p.authMethod));
  if (p.prf !== undefined) out.push(integerAttribute(Phase1Attr.PRF, p.prf));
  out.push(...lifetimeAttributes(Phase1Attr.LIFE_TYPE, Phase1Attr.LIFE_DURATION, p.lifetimes));
  out.push(...p.other);
  return out;
}
