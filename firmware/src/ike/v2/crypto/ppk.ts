// Post-quantum preshared keys (RFC 8784 §3): after IKE_SA_INIT, both sides
// mix the PPK into the keys that authenticate and that key the child SAs:
//   SK_d'  = prf+ (PPK, SK_d)
//   SK_pi' = prf+ (PPK, SK_pi)
//   SK_pr' = prf+ (PPK, SK_pr)
// each as long as the original (the PRF's key length). SK_e and SK_a are not
// changed (the IKE SA's own traffic stays protected by the DH secret alone);
// a rekeyed IKE SA inherits the PPK through SK_d (§2.18).
// PPK_IDENTITY (§5.1) carries a type octet: 1 PPK_ID_OPAQUE, 2 PPK_ID_FIXED
// (what strongSwan and Libreswan send), then the identity.

import { wipe } from '../../crypto/secret.ts';
import { prfPlus } from './key-derivation.ts';
import type { PrfAlgorithm } from './transforms.ts';

export const PpkIdType = { OPAQUE: 1, FIXED: 2 } as const;

export interface PpkKeys {
  d: Buffer;
  pi: Buffer;
  pr: Buffer;
}

export function derivePpkKeys(prf: PrfAlgorithm, ppk: Uint8Array, k: PpkKeys): PpkKeys {
  return {
    d: prfPlus(prf, ppk, k.d, k.d.length),
    pi: prfPlus(prf, ppk, k.pi, k.pi.length),
    pr: prfPlus(prf, ppk, k.pr, k.pr.length),
  };
}

export function wipePpkKeys(k: PpkKeys): void {
  wipe(k.d, k.pi, k.pr);
}

/** PPK_IDENTITY notify data for our PPK_ID (type FIXED). */
export function encodePpkId(id: Buffer): Buffer {
  return Buffer.concat([Buffer.from([PpkIdType.FIXED]), id]);
}

/** Whether a received PPK_IDENTITY names `id` (FIXED or OPAQUE with the same octets). */
export function ppkIdMatches(data: Buffer, id: Buffer): boolean {
  return data.length > 1 && (data[0] === PpkIdType.FIXED || data[0] === PpkIdType.OPAQUE) && data.subarray(1).equals(id);
}
