// The decoded shape of every IKEv2 payload (RFC 7296 §3.3-§3.16, RFC 7383
// §2.5). Bodies exclude the 4-byte generic header; lengths and next-payload
// chaining are the chain codec's business (payload-chain.ts).

import type { PayloadType } from './constants.ts';

export interface Transform {
  type: number;
  id: number;
  /** RFC 7296 §3.3.5 Key Length in bits, when present. */
  keyLength?: number;
}

export interface Proposal {
  number: number;
  protocol: number;
  /** Empty in IKE_SA_INIT, 8 bytes in an IKE SA rekey, 4 for ESP/AH. */
  spi: Buffer;
  transforms: Transform[];
}

export interface SaPayload {
  type: typeof PayloadType.SA;
  proposals: Proposal[];
}

export interface KePayload {
  type: typeof PayloadType.KE;
  group: number;
  data: Buffer;
}

export interface IdPayload {
  type: typeof PayloadType.IDI | typeof PayloadType.IDR;
  idType: number;
  data: Buffer;
}

export interface CertPayload {
  type: typeof PayloadType.CERT | typeof PayloadType.CERTREQ;
  encoding: number;
  /** CERT: the certificate; CERTREQ: concatenated SHA-1 hashes of trusted CA keys (§3.7). */
  data: Buffer;
}

export interface AuthPayload {
  type: typeof PayloadType.AUTH;
  method: number;
  data: Buffer;
}

export interface NoncePayload {
  type: typeof PayloadType.NONCE;
  data: Buffer;
}

export interface NotifyPayload {
  type: typeof PayloadType.NOTIFY;
  protocol: number;
  spi: Buffer;
  notifyType: number;
  data: Buffer;
}

export interface DeletePayload {
  type: typeof PayloadType.DELETE;
  protocol: number;
  /** 0 for IKE (the SA is the one the message travels in), 4 for ESP/AH. */
  spiSize: number;
  spis: Buffer[];
}

export interface VendorIdPayload {
  type: typeof PayloadType.VENDOR_ID;
  data: Buffer;
}

export interface TrafficSelector {
  tsType: number;
  /** IP protocol number, 0 = any. */
  protocol: number;
  startPort: number;
  endPort: number;
  /** 4 or 16 bytes each, per tsType. */
  startAddress: Buffer;
  endAddress: Buffer;
}

export interface TsPayload {
  type: typeof PayloadType.TSI | typeof PayloadType.TSR;
  selectors: TrafficSelector[];
}

/** RFC 7296 §3.14: IV | ciphertext | ICV, opened by encrypted.ts. */
export interface SkPayload {
  type: typeof PayloadType.SK;
  /** Type of the first payload inside (the SK generic header's next payload). */
  innerFirst: number;
  body: Buffer;
}

/** RFC 7383 §2.5: one fragment of an SK payload. */
export interface SkfPayload {
  type: typeof PayloadType.SKF;
  /** Type of the first inner payload in fragment 1, 0 in the others. */
  innerFirst: number;
  fragmentNumber: number;
  totalFragments: number;
  /** IV | ciphertext | ICV. */
  body: Buffer;
}

/** A payload this daemon does not interpret (CP, EAP, unknown non-critical types): kept verbatim. */
export interface OpaquePayload {
  type: number;
  opaque: true;
  critical: boolean;
  body: Buffer;
}

export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | TsPayload
  | SkPayload
  | SkfPayload
  | OpaquePayload;

export type KnownPayload = Exclude<Payload, OpaquePayload>;
/** The payload shape(s) carrying type T (IdPayload for IDI and IDR alike). */
export type PayloadOfType<T extends number> = KnownPayload extends infer P
  ? P extends { type: infer U }
    ? T extends U
      ? P
      : never
    : never
  : never;

export function isOpaque(p: Payload): p is OpaquePayload {
  return 'opaque' in p;
}

/** The payloads of one type, in message order. */
export function payloadsOfType<T extends KnownPayload['type']>(payloads: readonly Payload[], type: T): PayloadOfType<T>[] {
  return payloads.filter((p): p is PayloadOfType<T> => p.type === type && !isOpaque(p));
}

export function firstOfType<T extends KnownPayload['type']>(payloads: readonly Payload[], type: T): PayloadOfType<T> | undefined {
  return payloadsOfType(payloads, type)[0];
}
