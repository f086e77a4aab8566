// IKEv1 phase 1 encryption algorithms (RFC 2409 Appendix A "Encryption
// Algorithm" values; AES-CBC is value 7 with a Key Length attribute, RFC 3602
// §5 / IANA). ISAKMP encrypts message bodies in CBC mode with its own padding
// rules (see isakmp-crypto-state.ts), so these ciphers run without automatic
// padding and require whole blocks.
//
// Single DES: OpenSSL 3 moved DES-CBC to the legacy provider that node does
// not load. Three-key 3DES in EDE mode with K1 = K2 = K3 computes
// E_K(D_K(E_K(x))) = E_K(x), i.e. exactly single DES, so DES-CBC is built on
// des-ede3-cbc with the key repeated three times.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { wipe } from './secret.ts';

export const CipherId = {
  DES_CBC: 1,
  TRIPLE_DES_CBC: 5,
  AES_CBC: 7,
} as const;
export type CipherId = (typeof CipherId)[keyof typeof CipherId];

export interface Phase1Cipher {
  readonly id: CipherId;
  readonly name: string;
  readonly blockSize: number;
  /** Key length in bytes. */
  readonly keyLength: number;
  /** DES: 56-bit key, brute-forceable; policy opt-in only. */
  readonly weak: boolean;
  /** CBC-encrypt whole blocks. Throws if data is not a multiple of blockSize. */
  encrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
  /** CBC-decrypt whole blocks. Throws if data is not a multiple of blockSize. */
  decrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer;
}

function cbc(
  nodeName: string,
  blockSize: number,
  keyLength: number,
  expandKey: (key: Uint8Array) => Buffer,
): Pick<Phase1Cipher, 'encrypt' | 'decrypt'> {
  const check = (key: Uint8Array, iv: Uint8Array, data: Uint8Array): void => {
    if (key.length !== keyLength) throw new RangeError(`${nodeName}: key must be ${keyLength} bytes`);
    if (iv.length !== blockSize) throw new RangeError(`${nodeName}: IV must be ${blockSize} bytes`);
    if (data.length % blockSize !== 0) throw new RangeError(`${nodeName}: data is not a whole number of blocks`);
  };
  const run = (encrypting: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer => {
    check(key, iv, data);
    const k = expandKey(key);
    try {
      const c = encrypting ? createCipheriv(nodeName, k, iv) : createDecipheriv(nodeName, k, iv);
      c.setAutoPadding(false);
      return Buffer.concat([c.update(data), c.final()]);
    } finally {
      if (k !== key) wipe(k);
    }
  };
  return {
    encrypt: (key, iv, data) => run(true, key, iv, data),
    decrypt: (key, iv, data) => run(false, key, iv, data),
  };
}

const asBuffer = (k: Uint8Array): Buffer => (Buffer.isBuffer(k) ? k : Buffer.from(k));

function aes(bits: 128 | 192 | 256): Phase1Cipher {
  return {
    id: CipherId.AES_CBC,
    name: `aes${bits}-cbc`,
    blockSize: 16,
    keyLength: bits / 8,
    weak: false,
    ...cbc(`aes-${bits}-cbc`, 16, bits / 8, asBuffer),
  };
}

const TRIPLE_DES: Phase1Cipher = {
  id: CipherId.TRIPLE_DES_CBC,
  name: '3des-cbc',
  blockSize: 8,
  keyLength: 24,
  weak: false,
  ...cbc('des-ede3-cbc', 8, 24, asBuffer),
};

const DES: Phase1Cipher = {
  id: CipherId.DES_CBC,
  name: 'des-cbc',
  blockSize: 8,
  keyLength: 8,
  weak: true,
  ...cbc('des-ede3-cbc', 8, 8, (k) => Buffer.concat([k, k, k])),
};

/**
 * The cipher for an Encryption Algorithm attribute and (for AES) the Key
 * Length attribute in bits. AES without a Key Length attribute is refused:
 * RFC 3602 §5 requires the attribute for AES in IKE. Returns undefined for
 * unsupported combinations.
 */
export function cipherById(id: number, keyLengthBits?: number): Phase1Cipher | undefined {
  switch (id) {
    case CipherId.AES_CBC:
      if (keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256) return aes(keyLengthBits);
      return undefined;
    case CipherId.TRIPLE_DES_CBC:
      return keyLengthBits === undefined ? TRIPLE_DES : undefined;
    case CipherId.DES_CBC:
      return keyLengthBits === undefined ? DES : undefined;
    default:
      return undefined;
  }
}
