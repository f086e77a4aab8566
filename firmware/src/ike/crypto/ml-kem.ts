// ML-KEM (FIPS 203) through @noble/post-quantum (MIT, pinned in package.json),
// by the IKEv2 Transform Type 4 IDs of draft-ietf-ipsecme-ikev2-mlkem §7
// (ML-KEM-512 = 35, ML-KEM-768 = 36, ML-KEM-1024 = 37).
//
// A KEM is not a Diffie-Hellman: the initiator sends its encapsulation key,
// the responder answers with a ciphertext, and only the initiator's
// decapsulation recovers the shared secret (draft-ietf-ipsecme-ikev2-mlkem §2.2:
// KEi carries ek, KEr carries ct). Randomness is an input (d, z for KeyGen,
// m for Encaps; FIPS 203 §7.1, §7.2), so exchanges replay byte for byte in tests.
//
// The table (IDs, names, lengths) is here for config parsing, proposals and
// names; the implementation is ml-kem-noble.ts, its own bundle
// (dist/sitelink-mlkem.mjs), loaded by loadMlKem() only when a configured
// peer's proposals name ML-KEM (issue 10: ~4 MB of sitelinkd's RSS otherwise).
// The daemon awaits it before such a config takes effect (daemon.ts start,
// reload.ts), so the exchanges' synchronous generate/encapsulate find it.

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

type Noble = typeof import('./ml-kem-noble.ts');
type NobleKem = Noble['ml_kem768'];

let noble: Noble | null = null;
let loading: Promise<void> | null = null;

/**
 * Loads the ML-KEM implementation (once; later calls return the same promise).
 * A failed load (the bundle file missing) rejects and may be retried.
 */
export function loadMlKem(): Promise<void> {
  loading ??= import('./ml-kem-noble.ts').then(
    (m) => {
      noble = m;
    },
    (e: unknown) => {
      loading = null;
      throw new KemError(`ML-KEM implementation could not be loaded: ${e instanceof Error ? e.message : String(e)}`);
    },
  );
  return loading;
}

/** Whether loadMlKem() has completed. */
export function mlKemLoaded(): boolean {
  return noble !== null;
}

/** Whether any of these key exchange method IDs is an ML-KEM. */
export function namesMlKem(ids: Iterable<number>): boolean {
  for (const id of ids) if (KEMS.has(id)) return true;
  return false;
}

function implOf(pick: (n: Noble) => NobleKem, name: string): NobleKem {
  // Not a peer's fault: the caller skipped loadMlKem() for a config naming ML-KEM.
  if (noble === null) throw new Error(`${name}: the ML-KEM implementation is not loaded (loadMlKem)`);
  return pick(noble);
}

function kem(id: number, name: string, pick: (n: Noble) => NobleKem, publicKeyLength: number, cipherTextLength: number): KemMethod {
  return {
    id,
    name,
    publicKeyLength,
    cipherTextLength,
    generate(random) {
      const impl = implOf(pick, name);
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
      const impl = implOf(pick, name);
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
    kem(35, 'mlkem512', (n) => n.ml_kem512, 800, 768),
    kem(36, 'mlkem768', (n) => n.ml_kem768, 1184, 1088),
    kem(37, 'mlkem1024', (n) => n.ml_kem1024, 1568, 1568),
  ].map((k) => [k.id, k] as const),
);

export function kemById(id: number): KemMethod | undefined {
  return KEMS.get(id);
}

/** By strongSwan's name ("mlkem768"). */
export function kemByName(name: string): KemMethod | undefined {
  return [...KEMS.values()].find((k) => k.name === name);
}
