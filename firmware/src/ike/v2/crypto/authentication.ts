// AUTH payload contents (RFC 7296 §2.15).
//
//   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
//   ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR
//   MACedIDForI = prf(SK_pi, RestOfInitIDPayload)      (the IDi body: type, reserved, data)
//   MACedIDForR = prf(SK_pr, RestOfRespIDPayload)
//   PSK:  AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
// After IKE_INTERMEDIATE exchanges (RFC 9242 §3.3.2) the octets end with
// IntAuth_iN | IntAuth_rN | IKE_AUTH_MID.
// RealMessage1/2 are the IKE_SA_INIT request/response exactly as sent
// (a retried request after a COOKIE or INVALID_KE is the one that counts).
// Signatures (RFC 7427) sign the same octets; that lives with the signers.

import { constantTimeEqual, wipe } from '../../crypto/secret.ts';
import type { PrfAlgorithm } from './transforms.ts';

const KEY_PAD = Buffer.from('Key Pad for IKEv2', 'latin1');

export interface SignedOctetsInput {
  prf: PrfAlgorithm;
  /** The sender's own IKE_SA_INIT message, as sent. */
  realMessage: Uint8Array;
  /** The peer's nonce data (Nr for the initiator's AUTH, Ni for the responder's). */
  peerNonce: Uint8Array;
  /** SK_pi for the initiator's AUTH, SK_pr for the responder's. */
  skP: Uint8Array;
  /** The sender's ID payload body (RestOfInitIDPayload / RestOfRespIDPayload). */
  idBody: Uint8Array;
  /** RFC 9242 §3.3.2: IntAuth_iN | IntAuth_rN | IKE_AUTH_MID after IKE_INTERMEDIATE exchanges. */
  intAuth?: Uint8Array | undefined;
}

export function signedOctets(x: SignedOctetsInput): Buffer {
  return Buffer.concat([x.realMessage, x.peerNonce, x.prf.prf(x.skP, x.idBody), ...(x.intAuth ? [x.intAuth] : [])]);
}

/** §2.15 shared-key AUTH data. */
export function pskAuth(prf: PrfAlgorithm, secret: Uint8Array, octets: Uint8Array): Buffer {
  const key = prf.prf(secret, KEY_PAD);
  try {
    return prf.prf(key, octets);
  } finally {
    wipe(key);
  }
}

/** Constant-time check of a peer's PSK AUTH data. */
export function verifyPskAuth(prf: PrfAlgorithm, secret: Uint8Array, octets: Uint8Array, received: Uint8Array): boolean {
  const want = pskAuth(prf, secret, octets);
  try {
    return constantTimeEqual(want, received);
  } finally {
    wipe(want);
  }
}
