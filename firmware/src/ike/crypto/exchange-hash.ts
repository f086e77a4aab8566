// Authentication hashes of IKEv1, RFC 2409.
//
// §5 (main/aggressive mode):
//   HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
//   HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
// SAi_b is the initiator's whole SA payload body (no generic header, also on
// the responder side); IDii_b/IDir_b are ID payload bodies.
//
// §5.5 (quick mode), "rest" = the message's payloads after the HASH payload,
// with their generic headers, as sent:
//   HASH(1) = prf(SKEYID_a, M-ID | rest)
//   HASH(2) = prf(SKEYID_a, M-ID | Ni_b | rest)
//   HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)
// §5.7 (informational): HASH(1) = prf(SKEYID_a, M-ID | N/D payload(s)).

import type { HashAlgorithm } from './hash.ts';
import { messageIdBytes } from './iv.ts';

export interface Phase1HashInput {
  /** Initiator's KE data g^xi and responder's g^xr, as carried in KE payloads. */
  gxi: Uint8Array;
  gxr: Uint8Array;
  ckyI: Uint8Array;
  ckyR: Uint8Array;
  /** Body of the initiator's SA payload. */
  saiB: Uint8Array;
}

export function hashI(prf: HashAlgorithm, skeyid: Uint8Array, x: Phase1HashInput, idiiB: Uint8Array): Buffer {
  return prf.prf(skeyid, x.gxi, x.gxr, x.ckyI, x.ckyR, x.saiB, idiiB);
}

export function hashR(prf: HashAlgorithm, skeyid: Uint8Array, x: Phase1HashInput, idirB: Uint8Array): Buffer {
  return prf.prf(skeyid, x.gxr, x.gxi, x.ckyR, x.ckyI, x.saiB, idirB);
}

export function quickModeHash1(prf: HashAlgorithm, skeyidA: Uint8Array, messageId: number, rest: Uint8Array): Buffer {
  return prf.prf(skeyidA, messageIdBytes(messageId), rest);
}

export function quickModeHash2(
  prf: HashAlgorithm,
  skeyidA: Uint8Array,
  messageId: number,
  niB: Uint8Array,
  rest: Uint8Array,
): Buffer {
  return prf.prf(skeyidA, messageIdBytes(messageId), niB, rest);
}

export function quickModeHash3(
  prf: HashAlgorithm,
  skeyidA: Uint8Array,
  messageId: number,
  niB: Uint8Array,
  nrB: Uint8Array,
): Buffer {
  return prf.prf(skeyidA, Buffer.of(0), messageIdBytes(messageId), niB, nrB);
}

export function informationalHash(
  prf: HashAlgorithm,
  skeyidA: Uint8Array,
  messageId: number,
  rest: Uint8Array,
): Buffer {
  return prf.prf(skeyidA, messageIdBytes(messageId), rest);
}
