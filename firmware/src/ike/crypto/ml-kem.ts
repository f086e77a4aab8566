// ML-KEM (FIPS 203) through @noble/post-quantum (MIT, pinned in package.json),
// by the IKEv2 Transform Type 4 IDs of draft-ietf-ipsecme-ikev2-mlkem §7
// (ML-KEM-512 = 35, ML-KEM-768 = 36, ML-KEM-1024 = 37).
//
// A KEM is not a Diffie-Hellman: the initiator sends its encapsulation key,
// the responder answers with a ciphertext, and only the initiator's
// decapsulation recovers the shared secret (draft-ietf-ipsecme-ikev2-mlkem §2.2:
// KEi carries ek, KEr carries ct). Randomness is an input (d, z for KeyGen,
// m for Encaps; FIPS 203 §7.1, §7.2), so exchanges replay byte for byte in tests.

import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import type { RandomSource } from './dh-group.ts';
import { wipe } from './secret.ts';

export class KemError extends Error {
  override readonly name = 'KemError';
}

export interface KemKeyPair {
  /** The encapsulation key ek, sent in the initiator's KE payload. */
  readonly publicKey: Buffer;
  /** FIPS 203 §7.3 ML-KEM.Decaps of the responder's ciphertext; throws KemError on a wrong length. */
  decapsulate(cipherText: Uint8Array): Buffer;
  /** Wipe the decapsulation key. */
  wipe(): void;
}

export interface KemMethod {
  /** Transform Type 4 / ADDKE ID. */
  readonly id: number;
  readonly name: string;
  readonly publicKeyLength: number;
  readonly cipherTextLength: number;
  /** FIPS 203 §7.1 KeyGen with d | z drawn from `random`. */
  generate(random: RandomSource): KemKeyPair;
  /**
   * FIPS 203 §7.2 Encaps to the peer's ek with m drawn from `random`. The
   * input checks of §7.2 (length, modulus check) are the library's; a key
   * failing them throws KemError.
   */
  encapsulate(peerPublic: Uint8Array, random: RandomSource): { cipherText: Buffer; secret: Buffer };
}

type NobleKem = typeof ml_kem768;

function kem(id: number, name: string, impl: NobleKem, publicKeyLength: number, cipherTextLength: number): KemMethod {
  return {
    id,
    name,
    publicKeyLength,
    cipherTextLength,
    generate(random) {
      const seed = random(64);
      const { publicKey, secretKey } = impl.keygen(seed);
      wipe(seed);
      let dk: Uint8Array | null = secretKey;
      return {
        publicKey: Buffer.from(publicKey),
        decapsulate(ct) {
          if (dk === null) throw new KemError(`${name}: key already wiped`);
          if (ct.length !== cipherTextLength) throw new KemError(`${name} ciphertext is ${ct.length} bytes, expected ${cipherTextLength}`);
          return Buffer.from(impl.decapsulate(ct, dk));
        },
        wipe() {
          if (dk) dk.fill(0);
          dk = null;
        },
      };
    },
    encapsulate(peerPublic, random) {
      if (peerPublic.length !== publicKeyLength)
        throw new KemError(`${name} encapsulation key is ${peerPublic.length} bytes, expected ${publicKeyLength}`);
      const m = random(32);
      try {
        const { cipherText, sharedSecret } = impl.encapsulate(peerPublic, m);
        return { cipherText: Buffer.from(cipherText), secret: Buffer.from(sharedSecret) };
      } catch (e) {
        throw new KemError(`${name} encapsulation key rejected: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        wipe(m);
      }
    },
  };
}

const KEMS: ReadonlyMap<number, KemMethod> = new Map(
  [
    kem(35, 'mlkem512', ml_kem512, 800, 768),
    kem(36, 'mlkem768', ml_kem768, 1184, 1088),
    kem(37, 'mlkem1024', ml_kem1024, 1568, 1568),
  ].map((k) => [k.id, k] as const),
);

export function kemById(id: number): KemMethod | undefined {
  return KEMS.get(id);
}

/** By strongSwan's name ("mlkem768"). */
export function kemByName(name: string): KemMethod | undefined {
  return [...KEMS.values()].find((k) => k.name === name);
}
