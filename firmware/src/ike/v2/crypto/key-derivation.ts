// IKEv2 key derivation (RFC 7296 §2.13, §2.14, §2.17, §2.18).
//
//   prf+ (K,S) = T1 | T2 | T3 | ...   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)   (§2.13)
//   SKEYSEED   = prf(Ni | Nr, g^ir)                                                  (§2.14)
//   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
//   KEYMAT     = prf+(SK_d, [g^ir (new) |] Ni | Nr)                                  (§2.17)
//   rekeyed IKE SA: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)               (§2.18)
// With RFC 9370 additional key exchanges in IKE_FOLLOWUP_KE (RFC 9370 §2.2.4), their
// shared secrets SK(1)..SK(n) follow the nonces, g^ir (new) being SK(0):
//   SKEYSEED = prf(SK_d (old), SK(0) | Ni | Nr | SK(1) | ... | SK(n))
//   KEYMAT   = prf+(SK_d, SK(0) | Ni | Nr | SK(1) | ... | SK(n))
// Only HMAC PRFs are offered, whose key may be any length, so Ni | Nr is the
// key as is (§2.14's halving applies to fixed-key PRFs such as AES-XCBC).
// Intermediate values are wiped; callers wipe what they receive when the SA dies.

import { ownCopy } from '../../common/own-buffer.ts';
import { splitEspKeymat, type EspKeyLengths, type EspKeys } from '../../crypto/keymat.ts';
import { wipe } from '../../crypto/secret.ts';
import type { EncrAlgorithm, IntegAlgorithm, PrfAlgorithm } from './transforms.ts';

/** §2.13: prf+ is defined for at most 255 iterations. */
export function prfPlus(prf: PrfAlgorithm, key: Uint8Array, seed: Uint8Array, length: number): Buffer {
  if (length > 255 * prf.length) throw new RangeError(`prf+ cannot produce ${length} bytes with ${prf.name}`);
  const blocks: Buffer[] = [];
  let have = 0;
  let prev: Buffer = Buffer.alloc(0);
  for (let n = 1; have < length; n++) {
    prev = prf.prf(key, prev, seed, Buffer.of(n));
    blocks.push(prev);
    have += prev.length;
  }
  const all = Buffer.concat(blocks);
  const out = Buffer.from(all.subarray(0, length));
  wipe(all, ...blocks);
  return out;
}

export function skeyseed(prf: PrfAlgorithm, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array): Buffer {
  const key = Buffer.concat([ni, nr]);
  try {
    return prf.prf(key, gir);
  } finally {
    wipe(key);
  }
}

/** §2.18: SKEYSEED of a rekeyed IKE SA, with the old SA's PRF and SK_d; `followups`: SK(1)..SK(n) (RFC 9370 §2.2.4). */
export function rekeySkeyseed(
  oldPrf: PrfAlgorithm,
  oldSkD: Uint8Array,
  girNew: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  ...followups: Uint8Array[]
): Buffer {
  return oldPrf.prf(oldSkD, girNew, ni, nr, ...followups);
}

export interface IkeSaKeys {
  d: Buffer;
  /** Empty for AEAD ciphers (RFC 5282 §7: no integrity keys). */
  ai: Buffer;
  ar: Buffer;
  /** Encryption key plus salt for AEAD (RFC 5282 §7.1). */
  ei: Buffer;
  er: Buffer;
  pi: Buffer;
  pr: Buffer;
}

export interface IkeSaKeyInput {
  prf: PrfAlgorithm;
  encr: EncrAlgorithm;
  integ: IntegAlgorithm | undefined;
  skeyseed: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  spiI: Uint8Array;
  spiR: Uint8Array;
}

/** §2.14: the seven IKE SA keys, in wire order, from SKEYSEED. */
export function deriveIkeSaKeys(x: IkeSaKeyInput): IkeSaKeys {
  const a = x.integ?.keyLength ?? 0;
  const e = x.encr.keyMaterial;
  const p = x.prf.length;
  const sizes = [p, a, a, e, e, p, p];
  const seed = Buffer.concat([x.ni, x.nr, x.spiI, x.spiR]);
  const all = prfPlus(x.prf, x.skeyseed, seed, sizes.reduce((s, n) => s + n, 0));
  // Own memory: the keys live as long as the SA, a pool slice would pin an 8 KB slab
  // (ike/common/own-buffer.ts). SK_d, SK_a and SK_e share one store (views of it: one
  // backing store per SA instead of five); SK_pi/SK_pr get their own, as the SA drops
  // them after IKE_AUTH (exchange/state.ts shedAuthState).
  const kept = ownCopy(all.subarray(0, p + 2 * a + 2 * e));
  const parts: Buffer[] = [];
  let off = 0;
  for (const n of sizes) {
    parts.push(off < kept.length ? kept.subarray(off, off + n) : ownCopy(all.subarray(off, off + n)));
    off += n;
  }
  wipe(all, seed);
  const [d, ai, ar, ei, er, pi, pr] = parts as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  return { d, ai, ar, ei, er, pi, pr };
}

export function wipeIkeSaKeys(k: IkeSaKeys): void {
  wipe(k.d, k.ai, k.ar, k.ei, k.er, k.pi, k.pr);
}

export interface ChildKeys {
  /** Keys of the SA carrying initiator -> responder traffic (§2.17: taken first). */
  initiatorToResponder: EspKeys;
  responderToInitiator: EspKeys;
}

/**
 * §2.17: KEYMAT for one child SA pair. "All keys for SAs carrying data from
 * the initiator to the responder are taken before SAs going in the reverse
 * direction"; within one SA the encryption key (with its salt) comes before
 * the integrity key, as for ESP in IKEv1 (../../crypto/keymat.ts).
 */
export function deriveChildKeys(
  prf: PrfAlgorithm,
  skD: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  lengths: EspKeyLengths,
  girNew?: Uint8Array,
  followups: readonly Uint8Array[] = [],
): ChildKeys {
  const one = lengths.encKey + lengths.salt + lengths.integKey;
  // RFC 9370 §2.2.4: SK(1)..SK(n) of the IKE_FOLLOWUP_KE exchanges after the nonces.
  const seed = Buffer.concat([...(girNew ? [girNew, ni, nr] : [ni, nr]), ...followups]);
  const km = prfPlus(prf, skD, seed, 2 * one);
  try {
    return {
      initiatorToResponder: splitEspKeymat(km.subarray(0, one), lengths),
      responderToInitiator: splitEspKeymat(km.subarray(one), lengths),
    };
  } finally {
    wipe(km, seed);
  }
}
