// IV derivation for ISAKMP encryption, RFC 2409 Appendix B.
//
// Phase 1: IV = hash(g^xi | g^xr) using the negotiated hash (not the PRF),
// truncated to the cipher block size. Later messages of the same exchange
// use the last ciphertext block of the previous message (CBC chaining).
//
// Phase 2 (quick mode) and informational exchanges: the first IV is
// hash(last phase 1 CBC output block | M-ID), M-ID as the 4 octets of the
// ISAKMP header, truncated to the block size; then CBC chaining per exchange.

import type { HashAlgorithm } from './hash.ts';

export function phase1Iv(hash: HashAlgorithm, blockSize: number, gxi: Uint8Array, gxr: Uint8Array): Buffer {
  return Buffer.from(hash.hash(gxi, gxr).subarray(0, blockSize));
}

export function messageIdBytes(messageId: number): Buffer {
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 0xffffffff) {
    throw new RangeError('message ID must be a 32-bit unsigned integer');
  }
  const b = Buffer.alloc(4);
  b.writeUInt32BE(messageId, 0);
  return b;
}

export function phase2Iv(
  hash: HashAlgorithm,
  blockSize: number,
  lastPhase1Block: Uint8Array,
  messageId: number,
): Buffer {
  return Buffer.from(hash.hash(lastPhase1Block, messageIdBytes(messageId)).subarray(0, blockSize));
}

/** The last cipher block of a ciphertext: the IV for the next message in a CBC chain. */
export function lastBlock(ciphertext: Uint8Array, blockSize: number): Buffer {
  if (ciphertext.length < blockSize) throw new RangeError('ciphertext shorter than one block');
  return Buffer.from(ciphertext.subarray(ciphertext.length - blockSize));
}
