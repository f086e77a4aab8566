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

export function modpGroup(
  id: number,
  nodeName: 'modp1' | 'modp2' | 'modp5' | 'modp14' | 'modp15' | 'modp16',
  weak: boolean,
): DhGroup {
  const ref = getDiffieHellman(nodeName);
  const prime = ref.getPrime();
  const generator = ref.getGenerator();
  const p = bytesToBigInt(prime);
  const length = prime.length;
  const fromPrivate = (privateKey: Uint8Array): DhKeyPair => {
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
    // A full-length exponent, as OpenSSL picks for an unnamed prime (bits(p) - 1): every
    // MODP prime starts with 64 one bits (RFC 2409 §6, RFC 3526), so clearing the top bit
    // keeps x below p; x <= 1 is redrawn.
    generate(random) {
      for (let i = 0; i < MAX_DRAWS; i++) {
        const raw = random(length);
        raw[0]! &= 0x7f;
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
