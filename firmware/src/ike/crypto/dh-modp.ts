// MODP Diffie-Hellman groups: RFC 2409 §6.1/6.2 (groups 1, 2), RFC 3526
// (5, 14, 15, 16). node:crypto ships these primes as 'modpN', so no prime is
// transcribed here.
//
// Peer validation (RFC 2409 does not require it; NIST SP 800-56A §5.6.2.3.1
// and common practice do): the value must be exactly the prime's length and
// 1 < y < p-1, which rejects 0, 1 and p-1 (the small-subgroup values).

import { getDiffieHellman, createDiffieHellman } from 'node:crypto';
import type { DiffieHellman } from 'node:crypto';
import { DhError, MAX_DRAWS, bytesToBigInt, leftPad } from './dh-group.ts';
import type { DhGroup, DhKeyPair } from './dh-group.ts';

function keyPair(dh: DiffieHellman, length: number, p: bigint): DhKeyPair {
  return {
    publicKey: leftPad(dh.getPublicKey(), length),
    computeSecret(peerPublic: Uint8Array): Buffer {
      if (peerPublic.length !== length) {
        throw new DhError(`MODP public value is ${peerPublic.length} bytes, expected ${length}`);
      }
      const y = bytesToBigInt(peerPublic);
      if (y <= 1n || y >= p - 1n) throw new DhError('MODP public value out of range (1 < y < p-1)');
      // g^xy is used with leading zeros kept (RFC 2409 §5 treats it as the
      // full-width group element; node may return it shorter).
      return leftPad(dh.computeSecret(Buffer.from(peerPublic)), length);
    },
  };
}

/** Prime lengths in bytes (RFC 2409 §6.1/6.2, RFC 3526 §2-5), known before the group is built. */
const PRIME_BYTES = { modp1: 96, modp2: 128, modp5: 192, modp14: 256, modp15: 384, modp16: 512 } as const;

export function modpGroup(id: number, nodeName: keyof typeof PRIME_BYTES, weak: boolean): DhGroup {
  const length = PRIME_BYTES[nodeName];
  // The prime comes from node:crypto on first use, not when the group table is
  // made at start: getDiffieHellman runs OpenSSL's DH_check, which tests for
  // primality the primes of groups OpenSSL does not know by name (modp1, modp2):
  // 0.4 + 0.6 s of every sitelinkd start under QEMU's TCG, before the first IKE packet.
  let params: { prime: Buffer; generator: Buffer; p: bigint } | undefined;
  const group = (): { prime: Buffer; generator: Buffer; p: bigint } => {
    if (params === undefined) {
      const ref = getDiffieHellman(nodeName);
      const prime = ref.getPrime();
      if (prime.length !== length) throw new DhError(`${nodeName}: node:crypto's prime is ${prime.length} bytes, expected ${length}`);
      params = { prime, generator: ref.getGenerator(), p: bytesToBigInt(prime) };
    }
    return params;
  };
  const exponentBits = privateExponentBits(length * 8);
  const fromPrivate = (privateKey: Uint8Array): DhKeyPair => {
    const { prime, generator, p } = group();
    const dh = createDiffieHellman(prime, generator);
    dh.setPrivateKey(Buffer.from(privateKey));
    // setPrivateKey does not derive the public value; generateKeys() keeps
    // an existing private key and computes g^x from it.
    dh.generateKeys();
    return keyPair(dh, length, p);
  };
  return {
    id,
    name: nodeName,
    publicLength: length,
    weak,
    // A private exponent of twice the group's security strength (RFC 3526 §8; NIST SP
    // 800-56A rev. 3 §5.6.1.1.1 for safe-prime groups; what OpenSSL draws for these named
    // groups), not a full-length one: a 2047-bit exponent made each modp2048 key pair and
    // shared secret ~9x the work (a bench:ike hub spent most of its CPU there). Padded
    // to the prime's length with leading zeros, it stays far below p; x <= 1 is redrawn.
    generate(random) {
      const bytes = Math.ceil(exponentBits / 8);
      for (let i = 0; i < MAX_DRAWS; i++) {
        const raw = Buffer.alloc(length);
        const drawn = random(bytes);
        drawn.copy(raw, length - bytes);
        drawn.fill(0);
        raw[length - bytes]! &= 0xff >> (bytes * 8 - exponentBits);
        try {
          if (bytesToBigInt(raw) > 1n) return fromPrivate(raw);
        } finally {
          raw.fill(0);
        }
      }
      throw new DhError(`${nodeName}: the random source gave no valid private key in ${MAX_DRAWS} draws`);
    },
    fromPrivateKey: fromPrivate,
  };
}

/**
 * Bits of the private exponent for a MODP prime of `primeBits`: twice the security
 * strength (NIST SP 800-57 part 1 table 2; RFC 3526 §8 asks for at least that),
 * the values OpenSSL uses for the same named groups (ffc_dh named groups).
 */
export function privateExponentBits(primeBits: number): number {
  const strength: [number, number][] = [
    [8192, 200],
    [6144, 176],
    [4096, 152],
    [3072, 128],
    [2048, 112],
    [1536, 96],
    [1024, 80],
  ];
  for (const [bits, s] of strength) if (primeBits >= bits) return 2 * s;
  return Math.min(primeBits - 1, 160);
}
