// ECP groups 19, 20, 21 (RFC 5903). Encoding rules, RFC 5903 §7: the KE
// payload carries x | y, each left-padded to the field size, WITHOUT the
// SEC1 0x04 prefix. §9: the shared secret g^ir is the x coordinate only.
//
// Peer validation: both coordinates must be < p (a non-canonical encoding is
// refused), and OpenSSL's point decoding in ECDH.computeSecret rejects points
// that are not on the curve; the point at infinity cannot be encoded as x|y.

import { createECDH } from 'node:crypto';
import type { ECDH } from 'node:crypto';
import { DhError, MAX_DRAWS, bytesToBigInt } from './dh-group.ts';
import type { DhGroup, DhKeyPair } from './dh-group.ts';

interface Curve {
  id: number;
  name: string;
  nodeName: 'prime256v1' | 'secp384r1' | 'secp521r1';
  /** Field element length in bytes. */
  coord: number;
  /** Field prime (the well-known generalized-Mersenne forms from FIPS 186-4 D.1.2). */
  p: bigint;
}

const CURVES: readonly Curve[] = [
  { id: 19, name: 'ecp256', nodeName: 'prime256v1', coord: 32, p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n },
  { id: 20, name: 'ecp384', nodeName: 'secp384r1', coord: 48, p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n },
  { id: 21, name: 'ecp521', nodeName: 'secp521r1', coord: 66, p: 2n ** 521n - 1n },
];

function keyPair(c: Curve, ecdh: ECDH): DhKeyPair {
  const sec1 = ecdh.getPublicKey(undefined, 'uncompressed');
  return {
    publicKey: sec1.subarray(1), // drop 0x04: RFC 5903 §7
    computeSecret(peerPublic: Uint8Array): Buffer {
      if (peerPublic.length !== 2 * c.coord) {
        throw new DhError(`${c.name} public value is ${peerPublic.length} bytes, expected ${2 * c.coord}`);
      }
      const x = bytesToBigInt(peerPublic.subarray(0, c.coord));
      const y = bytesToBigInt(peerPublic.subarray(c.coord));
      if (x >= c.p || y >= c.p) throw new DhError(`${c.name} coordinate out of range`);
      let shared: Buffer;
      try {
        shared = ecdh.computeSecret(Buffer.concat([Buffer.of(0x04), peerPublic]));
      } catch {
        throw new DhError(`${c.name} public value is not a point on the curve`);
      }
      // node returns the x coordinate, padded to the field size: RFC 5903 §9.
      if (shared.length !== c.coord) throw new DhError(`${c.name} unexpected shared secret length`);
      return shared;
    },
  };
}

export function ecpGroups(): DhGroup[] {
  return CURVES.map((c) => ({
    id: c.id,
    name: c.name,
    publicLength: 2 * c.coord,
    weak: false,
    // FIPS 186-4 B.4.2 (testing candidates): draw field-size bytes, keep the order's bit
    // length (P-521: 521 bits, so the top byte keeps 1 bit), retry if not in [1, n-1];
    // node's setPrivateKey refuses exactly those.
    generate(random) {
      for (let i = 0; i < MAX_DRAWS; i++) {
        const raw = random(c.coord);
        if (c.id === 21) raw[0]! &= 0x01;
        const ecdh = createECDH(c.nodeName);
        try {
          ecdh.setPrivateKey(raw);
          return keyPair(c, ecdh);
        } catch {
          continue;
        } finally {
          raw.fill(0);
        }
      }
      throw new DhError(`${c.name}: the random source gave no valid private key in ${MAX_DRAWS} draws`);
    },
    fromPrivateKey(privateKey) {
      const ecdh = createECDH(c.nodeName);
      ecdh.setPrivateKey(Buffer.from(privateKey));
      return keyPair(c, ecdh);
    },
  }));
}
