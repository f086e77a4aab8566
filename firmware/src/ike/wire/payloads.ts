// Typed IKEv1 payloads (RFC 2408 §3.4-§3.16, RFC 2407 §4.6, RFC 3947 §3.2/§5.2).
// The `type` discriminant is the on-wire payload type number, so a payload
// list maps one-to-one onto the next-payload chain. Byte fields are Buffers
// owned by the payload (decoders copy out of the packet).

import type { Attribute } from './attributes.ts';
import type { IdType, PayloadType } from './constants.ts';

/** RFC 2408 §3.6 Transform payload, inside a proposal. */
export interface Transform {
  /** Transform # (1-based, as sent). */
  number: number;
  /** Transform ID: IsakmpTransformId (phase 1) or EspTransformId/AhTransformId (phase 2). */
  id: number;
  attributes: Attribute[];
}

/** RFC 2408 §3.5 Proposal payload, inside an SA payload. Proposals sharing a
 * number are ANDed (e.g. AH+ESP), distinct numbers are alternatives. */
export interface Proposal {
  number: number;
  /** ProtocolId (ISAKMP in phase 1, ESP/AH/IPCOMP in phase 2). */
  protocol: number;
  /** Empty in phase 1 (RFC 2409 §5: SPI size 0 or 16 is allowed), 4 bytes for ESP/AH. */
  spi: Buffer;
  transforms: Transform[];
}

/** RFC 2408 §3.4 + RFC 2407 §4.6.1 (IPsec DOI, situation without labelled domains). */
export interface SaPayload {
  type: typeof PayloadType.SA;
  doi: number;
  situation: number;
  proposals: Proposal[];
}

export interface KePayload {
  type: typeof PayloadType.KE;
  data: Buffer;
}

/** RFC 2407 §4.6.2.1 identification data, typed by ID type. Addresses are
 * text (dotted IPv4, RFC 5952 IPv6); names are ASCII carried as latin1 so
 * any byte round-trips. */
export type Identity =
  | { idType: typeof IdType.IPV4_ADDR | typeof IdType.IPV6_ADDR; address: string }
  | { idType: typeof IdType.IPV4_ADDR_SUBNET | typeof IdType.IPV6_ADDR_SUBNET; address: string; mask: string }
  | { idType: typeof IdType.IPV4_ADDR_RANGE | typeof IdType.IPV6_ADDR_RANGE; start: string; end: string }
  | { idType: typeof IdType.FQDN | typeof IdType.USER_FQDN; name: string }
  | { idType: typeof IdType.DER_ASN1_DN | typeof IdType.DER_ASN1_GN | typeof IdType.KEY_ID; data: Buffer };

/** RFC 2407 §4.6.2: ID type, IP protocol, port, data. Phase 1 IDs carry
 * protocol 0/17 and port 0/500; phase 2 IDs (IDci/IDcr) select traffic. */
export interface IdPayload {
  type: typeof PayloadType.ID;
  protocol: number;
  port: number;
  id: Identity;
}

/** RFC 2408 §3.9 */
export interface CertPayload {
  type: typeof PayloadType.CERT;
  encoding: number;
  data: Buffer;
}

/** RFC 2408 §3.10: the authority may be empty (any CA). */
export interface CertRequestPayload {
  type: typeof PayloadType.CR;
  encoding: number;
  authority: Buffer;
}

export interface HashPayload {
  type: typeof PayloadType.HASH;
  data: Buffer;
}

export interface SigPayload {
  type: typeof PayloadType.SIG;
  data: Buffer;
}

export interface NoncePayload {
  type: typeof PayloadType.NONCE;
  data: Buffer;
}

/** RFC 2408 §3.14. For ISAKMP-SA notifies (e.g. INITIAL-CONTACT, DPD) the SPI
 * is the 16 bytes of both cookies; for IPsec SAs the 4-byte SPI. */
export interface NotifyPayload {
  type: typeof PayloadType.NOTIFY;
  doi: number;
  protocol: number;
  spi: Buffer;
  /** NotifyType value (open-ended: private types are legal). */
  notifyType: number;
  data: Buffer;
}

/** RFC 2408 §3.15: all SPIs have spiSize bytes; spiSize is explicit so an
 * empty list still encodes. */
export interface DeletePayload {
  type: typeof PayloadType.DELETE;
  doi: number;
  protocol: number;
  spiSize: number;
  spis: Buffer[];
}

export interface VendorIdPayload {
  type: typeof PayloadType.VENDOR_ID;
  data: Buffer;
}

/** RFC 3947 §3.2 NAT-D (20), or the draft number (130). */
export interface NatDPayload {
  type: typeof PayloadType.NAT_D | typeof PayloadType.NAT_D_DRAFT;
  hash: Buffer;
}

/** RFC 3947 §5.2 NAT-OA (21), or the draft number (131): an IPv4 or IPv6 address. */
export interface NatOaPayload {
  type: typeof PayloadType.NAT_OA | typeof PayloadType.NAT_OA_DRAFT;
  idType: typeof IdType.IPV4_ADDR | typeof IdType.IPV6_ADDR;
  address: string;
}

export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertRequestPayload
  | HashPayload
  | SigPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | NatDPayload
  | NatOaPayload;

/** Where a payload sat in the decoded bytes; the crypto layer hashes raw
 * bodies (SAi_b, IDii_b in RFC 2409 §5) and payload spans (quick mode HASH). */
export interface PayloadSpan {
  type: Payload['type'];
  /** Offset of the generic header, relative to the start of the payload chain. */
  offset: number;
  /** Total payload length including the 4-byte generic header. */
  length: number;
  /** The body without the generic header (a view into the decoded buffer). */
  body: Buffer;
}

/** The payload interface for a payload type number (NAT-D covers 20 and 130). */
export type PayloadOfType<T extends Payload['type']> = Payload extends infer P
  ? P extends { type: infer U }
    ? T extends U
      ? P
      : never
    : never
  : never;

/** Narrowing filter: payloads of one type, e.g. payloadsOfType(list, PayloadType.NAT_D). */
export function payloadsOfType<T extends Payload['type']>(payloads: readonly Payload[], type: T): PayloadOfType<T>[] {
  return payloads.filter((p): p is PayloadOfType<T> => p.type === type);
}
