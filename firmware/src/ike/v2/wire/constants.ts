// IKEv2 wire numbers (RFC 7296 §3 and the IANA "Internet Key Exchange
// Version 2 (IKEv2) Parameters" registry). Only values this daemon reads or
// writes are named; anything else is carried as a plain number.

import { CommonIdType, EcdsaAuthMethod, type ValueOf } from '../../common/wire-numbers.ts';

/** RFC 7296 §3.1 header, §3.2 generic payload header (sizes as in IKEv1); the
 * Transform Type 1 IDs and Certificate Encodings shared with IKEv1. */
export { CertEncoding, EncrId, GENERIC_HEADER_LENGTH, HEADER_LENGTH } from '../../common/wire-numbers.ts';
/** RFC 7296 §3.1: Major Version 2, Minor Version 0. */
export const IKEV2_VERSION = 0x20;

/** RFC 7296 §3.1 Exchange Type; RFC 9242 IKE_INTERMEDIATE; RFC 9370 §2.2.2 IKE_FOLLOWUP_KE. */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_INTERMEDIATE: 43,
  IKE_FOLLOWUP_KE: 44,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;

/** RFC 7296 §3.1 header flags (bits 3, 4, 5 of the flags octet). */
export const HeaderFlag = {
  INITIATOR: 0x08,
  VERSION: 0x10,
  RESPONSE: 0x20,
} as const;

/** RFC 7296 §3.2 Next Payload values; RFC 7383 §2.5 SKF. */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDI: 35,
  IDR: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR_ID: 43,
  TSI: 44,
  TSR: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  SKF: 53,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;

/** RFC 7296 §3.3.1 Protocol ID (proposals, notifies, deletes). */
export const ProtocolId = {
  IKE: 1,
  AH: 2,
  ESP: 3,
} as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;

/** RFC 7296 §3.3.2 Transform Type; RFC 9370 §2.2.1 Additional Key Exchange 1-7 (types 6-12). */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  /** "Key Exchange Method (KE)" since RFC 9370. */
  DH: 4,
  ESN: 5,
  ADDKE1: 6,
  ADDKE7: 12,
} as const;
export type TransformType = ValueOf<typeof TransformType>;

/** RFC 9370 §2.2.1: ADDKE<n> is transform type 5 + n. */
export const addKeType = (slot: number): number => TransformType.ADDKE1 + slot - 1;

/**
 * Transform Type 4 / ADDKE IDs of the post-quantum KEMs (IANA "Transform Type 4 -
 * Key Exchange Method Transform IDs", draft-ietf-ipsecme-ikev2-mlkem §7); 0 is NONE
 * (RFC 9370 §2.2.1: an optional additional key exchange).
 */
export const KeMethodId = {
  NONE: 0,
  ML_KEM_512: 35,
  ML_KEM_768: 36,
  ML_KEM_1024: 37,
} as const;

/** Transform Type 2 (IANA): RFC 7296 §3.3.2, RFC 4868. */
export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  AES128_XCBC: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
} as const;

/** Transform Type 3 (IANA): RFC 7296 §3.3.2, RFC 4868. */
export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  AES_XCBC_96: 5,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;

/** Transform Type 5: RFC 7296 §3.3.2. */
export const EsnId = {
  NO_ESN: 0,
  ESN: 1,
} as const;

/** RFC 7296 §3.3.5: the only transform attribute defined, Key Length in bits (TV format). */
export const TransformAttribute = {
  KEY_LENGTH: 14,
} as const;

/** RFC 7296 §3.5 ID Type: IKEv1's numbers (../../common/wire-numbers.ts). */
export const IdType = {
  ...CommonIdType,
  RFC822_ADDR: 3,
} as const;
export type IdType = ValueOf<typeof IdType>;

/** RFC 7296 §3.8 Auth Method; RFC 4754 ECDSA (shared with IKEv1); RFC 7427 §3 Digital Signature. */
export const AuthMethod = {
  RSA_SIGNATURE: 1,
  SHARED_KEY_MIC: 2,
  DSS_SIGNATURE: 3,
  ...EcdsaAuthMethod,
  DIGITAL_SIGNATURE: 14,
} as const;
export type AuthMethod = ValueOf<typeof AuthMethod>;

/** RFC 7296 §3.13.1 TS Type. */
export const TsType = {
  IPV4_ADDR_RANGE: 7,
  IPV6_ADDR_RANGE: 8,
} as const;
export type TsType = ValueOf<typeof TsType>;
