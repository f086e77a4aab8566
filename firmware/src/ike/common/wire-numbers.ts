// Wire numbers IKEv1 and IKEv2 share. RFC 7296 kept the ISAKMP framing sizes
// (§3.1 header, §3.2 generic payload header) and took the encryption transform
// IDs and certificate encodings over from the IKEv1 registries: IANA's IKEv2
// "Transform Type 1" values equal the "IPsec ESP Transform Identifiers" of
// RFC 2407 §4.4.4 for every cipher both define, and RFC 7296 §3.6 Certificate
// Encoding continues RFC 2408 §3.9's numbering; RFC 7296 §3.5 keeps the IKEv1
// numbers of the ID types it retains, and RFC 4754 gives the ECDSA
// authentication methods the same numbers in both. One table each, so the two
// versions cannot disagree on a number.

export type ValueOf<T> = T[keyof T];

/** RFC 2408 §3.1 / RFC 7296 §3.1: the fixed header is 28 bytes. */
export const HEADER_LENGTH = 28;
/** RFC 2408 §3.2 / RFC 7296 §3.2: every payload starts with a 4-byte generic header. */
export const GENERIC_HEADER_LENGTH = 4;

/** ESP transform IDs (RFC 2407 §4.4.4, phase 2) = IKEv2 Transform Type 1 IDs
 * (RFC 7296 §3.3.2; RFC 5282 GCM/CCM, RFC 7634 ChaCha20-Poly1305). */
export const EncrId = {
  DES: 2,
  TRIPLE_DES: 3,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_CCM_8: 14,
  AES_CCM_12: 15,
  AES_CCM_16: 16,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  NULL_AUTH_AES_GMAC: 21,
  CAMELLIA_CBC: 22,
  CHACHA20_POLY1305: 28,
} as const;
export type EncrId = ValueOf<typeof EncrId>;

/** Certificate Encoding: RFC 2408 §3.9 (1-10), extended by RFC 7296 §3.6 (11-13). */
export const CertEncoding = {
  PKCS7: 1,
  PGP: 2,
  DNS_SIGNED_KEY: 3,
  X509_SIGNATURE: 4,
  X509_KEY_EXCHANGE: 5,
  KERBEROS: 6,
  CRL: 7,
  ARL: 8,
  SPKI: 9,
  X509_ATTRIBUTE: 10,
  RAW_RSA_KEY: 11,
  HASH_URL_X509: 12,
  HASH_URL_X509_BUNDLE: 13,
} as const;
export type CertEncoding = ValueOf<typeof CertEncoding>;

/** ID Types both versions define, by RFC 2407 §4.6.2.1's numbers, which RFC 7296
 * §3.5 keeps. (3 is a user@domain name in both, named USER_FQDN by IKEv1 and
 * RFC822_ADDR by IKEv2; each version adds it under its own name.) */
export const CommonIdType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  IPV6_ADDR: 5,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
} as const;

/** RFC 4754 §3: the ECDSA authentication methods, one number for IKEv1's
 * Authentication Method attribute and IKEv2's Auth Method. */
export const EcdsaAuthMethod = {
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
} as const;
