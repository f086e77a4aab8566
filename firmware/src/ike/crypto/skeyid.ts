// Phase 1 key derivation, RFC 2409 §5 and Appendix B.
//
//   pre-shared keys: SKEYID = prf(pre-shared-key, Ni_b | Nr_b)
//   signatures:      SKEYID = prf(Ni_b | Nr_b, g^xy)
//   SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
//   SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
//   SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)
//
// Ni_b/Nr_b are the nonce payload bodies (no generic header); the trailing
// 0/1/2 are single octets. (Public-key-encryption auth, §5.2/5.3, derives
// SKEYID from hash(Ni_b | Nr_b) and is deliberately not offered.)

import { ownCopy } from '../common/own-buffer.ts';
import type { HashAlgorithm } from './hash.ts';
import { wipe } from './secret.ts';

/** What an established ISAKMP SA still needs of its phase 1 keys. */
export interface EstablishedKeys {
  /** Derivation key for phase 2 KEYMAT (§5.5). */
  skeyidD: Buffer;
  /** Authentication key for phase 2 / informational HASH payloads. */
  skeyidA: Buffer;
}

export interface Phase1Keys extends EstablishedKeys {
  /** HASH_I/HASH_R (§5): main mode only. */
  skeyid: Buffer;
  /** Source of the phase 1 encryption key. */
  skeyidE: Buffer;
  /** The cipher key: SKEYID_e, expanded/truncated per Appendix B. */
  encKey: Buffer;
}

/** An ISAKMP cookie (SPI) is exactly 8 octets (RFC 2408 §3.1). */
function checkCookie(name: string, c: Uint8Array): void {
  if (c.length !== 8) throw new RangeError(`${name} must be 8 bytes`);
}

export function skeyidPreSharedKey(prf: HashAlgorithm, psk: Uint8Array, niB: Uint8Array, nrB: Uint8Array): Buffer {
  return prf.prf(psk, niB, nrB);
}

export function skeyidSignature(prf: HashAlgorithm, niB: Uint8Array, nrB: Uint8Array, gxy: Uint8Array): Buffer {
  const key = Buffer.concat([niB, nrB]);
  try {
    return prf.prf(key, gxy);
  } finally {
    wipe(key);
  }
}

/**
 * Appendix B: when the cipher needs more key than SKEYID_e holds,
 *   Ka = K1 | K2 | K3 ...,  K1 = prf(SKEYID_e, 0),  Kn = prf(SKEYID_e, K(n-1))
 * (the 0 is a single zero octet); the key is the first keyLength bytes.
 * When SKEYID_e is long enough its leading bytes are the key.
 */
export function expandEncryptionKey(prf: HashAlgorithm, skeyidE: Buffer, keyLength: number): Buffer {
  if (skeyidE.length >= keyLength) return Buffer.from(skeyidE.subarray(0, keyLength));
  const blocks: Buffer[] = [];
  let k: Buffer = prf.prf(skeyidE, Buffer.of(0));
  blocks.push(k);
  let have = k.length;
  while (have < keyLength) {
    k = prf.prf(skeyidE, k);
    blocks.push(k);
    have += k.length;
  }
  const all = Buffer.concat(blocks);
  const key = Buffer.from(all.subarray(0, keyLength));
  wipe(all, ...blocks);
  return key;
}

export function derivePhase1Keys(
  prf: HashAlgorithm,
  skeyid: Buffer,
  gxy: Uint8Array,
  ckyI: Uint8Array,
  ckyR: Uint8Array,
  encKeyLength: number,
): Phase1Keys {
  checkCookie('CKY-I', ckyI);
  checkCookie('CKY-R', ckyR);
  const skeyidD = prf.prf(skeyid, gxy, ckyI, ckyR, Buffer.of(0));
  const skeyidA = prf.prf(skeyid, skeyidD, gxy, ckyI, ckyR, Buffer.of(1));
  const skeyidE = prf.prf(skeyid, skeyidA, gxy, ckyI, ckyR, Buffer.of(2));
  // Kept for the SA's life: its own memory, not a slice of a shared pool slab (own-buffer.ts).
  const expanded = expandEncryptionKey(prf, skeyidE, encKeyLength);
  const encKey = ownCopy(expanded);
  wipe(expanded);
  return { skeyid, skeyidD, skeyidA, skeyidE, encKey };
}

export function wipePhase1Keys(k: Phase1Keys): void {
  wipe(k.skeyid, k.skeyidD, k.skeyidA, k.skeyidE, k.encKey);
}

/**
 * Main mode is over: SKEYID_d and SKEYID_a are copied into one buffer of their own
 * for the SA's life, everything else is wiped. SKEYID authenticated main mode only,
 * SKEYID_e only made the encryption key, and the SA's IsakmpCryptoState holds its
 * own copy of that; five separate buffers per tunnel were ~1 KB of heap and three
 * needless copies of key material (issue 10: memory per tunnel).
 */
export function keepEstablishedKeys(k: Phase1Keys): EstablishedKeys {
  const both = Buffer.allocUnsafeSlow(k.skeyidD.length + k.skeyidA.length);
  both.set(k.skeyidD, 0);
  both.set(k.skeyidA, k.skeyidD.length);
  wipePhase1Keys(k);
  return { skeyidD: both.subarray(0, k.skeyidD.length), skeyidA: both.subarray(k.skeyidD.length) };
}

export function wipeEstablishedKeys(k: EstablishedKeys): void {
  wipe(k.skeyidD, k.skeyidA);
}
