// Group 31, Curve25519 (RFC 8031). §2: the KE payload is the 32-byte
// X25519 public value; the shared secret is the 32-byte X25519 output.
// §2.1/RFC 7748 §6.1: a result of all zeros means the peer sent a low-order
// point and MUST be rejected.
//
// node:crypto (v20) imports X25519 keys only as PKCS#8/SPKI, so the raw
// 32-byte values are wrapped in their fixed DER prefixes (RFC 8410 §7/§10:
// id-X25519 is OID 1.3.101.110, bytes 06 03 2b 65 6e).

import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { DhError } from './dh-group.ts';
import type { DhGroup, DhKeyPair } from './dh-group.ts';

// SEQUENCE { SEQUENCE { OID 1.3.101.110 }, BIT STRING (0 unused bits) <32 bytes> }
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING <32 bytes> } }
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const LEN = 32;

function fromRaw(privateKey: Uint8Array): DhKeyPair {
  if (privateKey.length !== LEN) throw new DhError('curve25519 private key must be 32 bytes');
  const der = Buffer.concat([PKCS8_PREFIX, privateKey]);
  try {
    return keyPair(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  } finally {
    der.fill(0);
  }
}

function keyPair(privateKey: KeyObject): DhKeyPair {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    publicKey: Buffer.from(spki.subarray(spki.length - LEN)),
    computeSecret(peerPublic: Uint8Array): Buffer {
      if (peerPublic.length !== LEN) throw new DhError(`curve25519 public value is ${peerPublic.length} bytes, expected 32`);
      const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
      let shared: Buffer;
      try {
        shared = diffieHellman({ privateKey, publicKey });
      } catch {
        // OpenSSL itself refuses an all-zero X25519 result.
        throw new DhError('curve25519 shared secret is all zeros (low-order peer point)');
      }
      let acc = 0;
      for (const b of shared) acc |= b;
      if (acc === 0) throw new DhError('curve25519 shared secret is all zeros (low-order peer point)');
      return shared;
    },
  };
}

export const curve25519Group: DhGroup = {
  id: 31,
  name: 'curve25519',
  publicLength: LEN,
  weak: false,
  // RFC 7748 §5: any 32 bytes are a private key (X25519 clamps them itself).
  generate(random) {
    const raw = random(LEN);
    try {
      return fromRaw(raw);
    } finally {
      raw.fill(0);
    }
  },
  fromPrivateKey: fromRaw,
};
