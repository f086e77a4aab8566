// Key update after each additional key exchange (RFC 9370 §2.2.2) and the
// IKE_INTERMEDIATE authentication chain (RFC 9242 §3.3).
//
//   SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr)
//   {SK_d(n) | SK_ai(n) | SK_ar(n) | SK_ei(n) | SK_er(n) | SK_pi(n) | SK_pr(n)}
//              = prf+ (SKEYSEED(n), Ni | Nr | SPIi | SPIr)
// SK(n) is the n-th additional shared secret; the new keys protect the next
// exchange (the IKE_INTERMEDIATE that carried KE(n) is still under the old ones).
//
//   IntAuth_iN = prf(SK_pi, IntAuth_iN-1 | IntAuth_iN_A | IntAuth_iN_P)   (IntAuth_i0 empty)
//   IntAuth_rN = prf(SK_pr, IntAuth_rN-1 | IntAuth_rN_A | IntAuth_rN_P)
// over every IKE_INTERMEDIATE request (i) and response (r), SK_p being the key
// in force while that exchange ran. _A is the message from the IKE header to
// the end of the Encrypted payload's generic header, _P the inner payloads in
// plaintext; the IKE header's Length and the Encrypted payload's Payload Length
// count _A | _P only, as if the payloads were not encrypted (no IV, padding or
// ICV), and a fragmented message counts as the one message it carries (RFC 9242
// §3.3.1; strongSwan 6.1 computes the same, test/interop/strongswan6-ikev2-mlkem).
// AUTH then covers
//   ... | MACedIDFor[I|R] | IntAuth_iN | IntAuth_rN | IKE_AUTH_MID   (§3.3.2)

import { wipe } from '../../crypto/secret.ts';
import { GENERIC_HEADER_LENGTH, HEADER_LENGTH, PayloadType } from '../wire/constants.ts';
import { writeHeader } from '../wire/header.ts';
import type { HeaderFields } from '../wire/message.ts';
import { deriveIkeSaKeys, rekeySkeyseed, wipeIkeSaKeys, type IkeSaKeys } from './key-derivation.ts';
import type { EncrAlgorithm, IntegAlgorithm, PrfAlgorithm } from './transforms.ts';

export interface KeyUpdateInput {
  prf: PrfAlgorithm;
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  keys: IkeSaKeys;
  secret: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  spiI: Uint8Array;
  spiR: Uint8Array;
}

/** §2.2.2: the next generation of IKE SA keys; wipes the old keys and the additional secret. */
export function updateKeysAfterAddKe(x: KeyUpdateInput): IkeSaKeys {
  const seed = rekeySkeyseed(x.prf, x.keys.d, x.secret, x.ni, x.nr);
  try {
    return deriveIkeSaKeys({ prf: x.prf, encr: x.encr, integ: x.integ, skeyseed: seed, ni: x.ni, nr: x.nr, spiI: x.spiI, spiR: x.spiR });
  } finally {
    wipe(seed, x.secret);
    wipeIkeSaKeys(x.keys);
  }
}

/**
 * §3.3.1 IntAuth_*_A of an IKE_INTERMEDIATE message without unencrypted
 * payloads: its IKE header and the Encrypted payload's generic header, the
 * lengths counting `plainLength` bytes of inner payloads in clear.
 */
export function intAuthA(header: HeaderFields, innerFirst: number, plainLength: number): Buffer {
  const a = Buffer.alloc(HEADER_LENGTH + GENERIC_HEADER_LENGTH);
  writeHeader(a, { ...header, next: PayloadType.SK, length: HEADER_LENGTH + GENERIC_HEADER_LENGTH + plainLength });
  a[28] = innerFirst;
  a.writeUInt16BE(GENERIC_HEADER_LENGTH + plainLength, 30);
  return a;
}

export function nextIntAuth(prf: PrfAlgorithm, skP: Uint8Array, previous: Uint8Array, a: Uint8Array, p: Uint8Array): Buffer {
  return prf.prf(skP, previous, a, p);
}

/** §3.3.2: what AUTH covers after the MACedID when IKE_INTERMEDIATE exchanges took place. */
export function intAuthOctets(intAuthI: Uint8Array, intAuthR: Uint8Array, authMessageId: number): Buffer {
  const mid = Buffer.alloc(4);
  mid.writeUInt32BE(authMessageId >>> 0, 0);
  return Buffer.concat([intAuthI, intAuthR, mid]);
}
