// ISAKMP / IKEv1 wire constants: RFC 2408 (ISAKMP), RFC 2407 (IPsec DOI),
// RFC 3947 (NAT-T), RFC 3706 (DPD). Attribute constants live in
// phase1-attributes.ts and ipsec-attributes.ts; vendor IDs in vendor-ids.ts.

import { CommonIdType, EncrId, type ValueOf } from '../common/wire-numbers.ts';

export { CertEncoding, GENERIC_HEADER_LENGTH, HEADER_LENGTH } from '../common/wire-numbers.ts';

/** Next Payload values: RFC 2408 §3.1, RFC 3947 §3.2/§5.2 (20, 21) and the
 * draft-ietf-ipsec-nat-t-ike-02/03 private values (130, 131) that older peers
 * still send after negotiating a draft NAT-T vendor ID. */
export const PayloadType = {
  NONE: 0,
  SA: 1,
  PROPOSAL: 2,
  TRANSFORM: 3,
  KE: 4,
  ID: 5,
  CERT: 6,
  CR: 7,
  HASH: 8,
  SIG: 9,
  NONCE: 10,
  NOTIFY: 11,
  DELETE: 12,
  VENDOR_ID: 13,
  NAT_D: 20,
  NAT_OA: 21,
  NAT_D_DRAFT: 130,
  NAT_OA_DRAFT: 131,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;

/** Next Payload value of the proprietary IKEv1 fragmentation extension (Cisco,
 * strongSwan, Libreswan, racoon; no RFC, see fragment.ts). Kept out of
 * PayloadType on purpose: a fragment payload never appears in a payload chain
 * decodePayloads() walks, only alone in a fragment message. */
export const FRAGMENT_PAYLOAD_TYPE = 132;

/** RFC 2408 §3.1 Exchange Type, RFC 2409 §9 (quick mode 32, new group 33);
 * 6 is the Transaction exchange of the Mode Config draft (draft-ietf-ipsec-isakmp-mode-cfg). */
export const ExchangeType = {
  BASE: 1,
  MAIN: 2, // Identity Protection
  AUTH_ONLY: 3,
  AGGRESSIVE: 4,
  INFORMATIONAL: 5,
  TRANSACTION: 6,
  QUICK: 32,
  NEW_GROUP: 33,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;

/** RFC 2408 §3.1 Flags. The other five bits are unused and must be zero. */
export const HeaderFlag = {
  ENCRYPTION: 0x01,
  COMMIT: 0x02,
  AUTH_ONLY: 0x04,
} as const;
export const HEADER_FLAGS_MASK = 0x07;

/** Domain of Interpretation: RFC 2408 §3.4 (0 = generic ISAKMP), RFC 2407 §4.2. */
export const Doi = {
  ISAKMP: 0,
  IPSEC: 1,
} as const;

/** RFC 2407 §4.2 IPsec Situation bits. Only SIT_IDENTITY_ONLY is used in practice;
 * SECRECY and INTEGRITY add labelled-domain fields (§4.6.1) that we do not parse. */
export const Situation = {
  IDENTITY_ONLY: 0x01,
  SECRECY: 0x02,
  INTEGRITY: 0x04,
} as const;

/** RFC 2407 §4.4.1 IPsec Security Protocol Identifiers. */
export const ProtocolId = {
  ISAKMP: 1,
  AH: 2,
  ESP: 3,
  IPCOMP: 4,
} as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;

/** RFC 2407 §4.4.1 ISAKMP transform identifiers (phase 1). */
export const IsakmpTransformId = {
  KEY_IKE: 1,
} as const;

/** RFC 2407 §4.4.4 ESP transform identifiers: the table IKEv2 shares (../common/wire-numbers.ts). */
export const EspTransformId = EncrId;
export type EspTransformId = ValueOf<typeof EspTransformId>;

/** RFC 2407 §4.4.3 AH transform identifiers (RFC 4868 adds SHA-2). */
export const AhTransformId = {
  MD5: 2,
  SHA: 3,
  DES: 4,
  SHA2_256: 5,
  SHA2_384: 6,
  SHA2_512: 7,
} as const;

/** RFC 2407 §4.6.2.1 Identification Type values (those IKEv2 kept: ../common/wire-numbers.ts). */
export const IdType = {
  ...CommonIdType,
  USER_FQDN: 3,
  IPV4_ADDR_SUBNET: 4,
  IPV6_ADDR_SUBNET: 6,
  IPV4_ADDR_RANGE: 7,
  IPV6_ADDR_RANGE: 8,
} as const;
export type IdType = ValueOf<typeof IdType>;

/** Notify Message Types: RFC 2408 §3.14.1 (errors 1..30, status 16384),
 * RFC 2407 §4.6.3 (IPsec DOI status), RFC 3706 §5 (DPD). Open-ended: peers
 * send private values, so payloads carry a plain number. */
export const NotifyType = {
  INVALID_PAYLOAD_TYPE: 1,
  DOI_NOT_SUPPORTED: 2,
  SITUATION_NOT_SUPPORTED: 3,
  INVALID_COOKIE: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_MINOR_VERSION: 6,
  INVALID_EXCHANGE_TYPE: 7,
  INVALID_FLAGS: 8,
  INVALID_MESSAGE_ID: 9,
  INVALID_PROTOCOL_ID: 10,
  INVALID_SPI: 11,
  INVALID_TRANSFORM_ID: 12,
  ATTRIBUTES_NOT_SUPPORTED: 13,
  NO_PROPOSAL_CHOSEN: 14,
  BAD_PROPOSAL_SYNTAX: 15,
  PAYLOAD_MALFORMED: 16,
  INVALID_KEY_INFORMATION: 17,
  INVALID_ID_INFORMATION: 18,
  INVALID_CERT_ENCODING: 19,
  INVALID_CERTIFICATE: 20,
  CERT_TYPE_UNSUPPORTED: 21,
  INVALID_CERT_AUTHORITY: 22,
  INVALID_HASH_INFORMATION: 23,
  AUTHENTICATION_FAILED: 24,
  INVALID_SIGNATURE: 25,
  ADDRESS_NOTIFICATION: 26,
  NOTIFY_SA_LIFETIME: 27,
  CERTIFICATE_UNAVAILABLE: 28,
  UNSUPPORTED_EXCHANGE_TYPE: 29,
  UNEQUAL_PAYLOAD_LENGTHS: 30,
  CONNECTED: 16384,
  RESPONDER_LIFETIME: 24576,
  REPLAY_STATUS: 24577,
  INITIAL_CONTACT: 24578,
  DPD_R_U_THERE: 36136,
  DPD_R_U_THERE_ACK: 36137,
} as const;
export type NotifyType = ValueOf<typeof NotifyType>;
