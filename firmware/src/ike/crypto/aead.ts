// AEAD primitives with an explicit 12-byte nonce: AES-GCM (RFC 5282 for IKEv2,
// RFC 4106 for ESP) and ChaCha20-Poly1305 (RFC 7634 for both). Both protocols
// build the nonce as salt(4) | IV(8), the salt being the last 4 bytes of the
// key material; callers pass key and salt split. Opening returns null on a
// bad tag (the caller drops the message) instead of throwing.

import { createCipheriv, createDecipheriv, type CipherGCMTypes, type CipherChaCha20Poly1305Types } from 'node:crypto';

export type AeadKind = 'aes-gcm' | 'chacha20-poly1305';

export interface AeadParams {
  kind: AeadKind;
  /** Cipher key without salt: 16/24/32 for AES-GCM, 32 for ChaCha20-Poly1305. */
  key: Uint8Array;
  /** 12 bytes: salt(4) | IV(8). */
  nonce: Uint8Array;
  aad: Uint8Array;
  /** Tag length in bytes: 8, 12 or 16 for AES-GCM (RFC 5282 §8), 16 for ChaCha20-Poly1305. */
  tagLength: number;
}

function algorithmName(kind: AeadKind, keyLength: number): CipherGCMTypes | CipherChaCha20Poly1305Types {
  if (kind === 'chacha20-poly1305') {
    if (keyLength !== 32) throw new RangeError('ChaCha20-Poly1305 key must be 32 bytes');
    return 'chacha20-poly1305';
  }
  if (keyLength === 16) return 'aes-128-gcm';
  if (keyLength === 24) return 'aes-192-gcm';
  if (keyLength === 32) return 'aes-256-gcm';
  throw new RangeError(`AES-GCM key must be 16, 24 or 32 bytes, not ${keyLength}`);
}

function check(p: AeadParams): void {
  if (p.nonce.length !== 12) throw new RangeError('AEAD nonce must be 12 bytes');
  const tags = p.kind === 'aes-gcm' ? [8, 12, 16] : [16];
  if (!tags.includes(p.tagLength)) throw new RangeError(`tag length ${p.tagLength} not valid for ${p.kind}`);
}

/** Encrypts and returns ciphertext | tag. Throws RangeError on caller bugs only. */
export function aeadSeal(p: AeadParams, plaintext: Uint8Array): Buffer {
  check(p);
  const c = createCipheriv(algorithmName(p.kind, p.key.length) as CipherGCMTypes, p.key, p.nonce, { authTagLength: p.tagLength });
  c.setAAD(p.aad, { plaintextLength: plaintext.length });
  const out = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([out, c.getAuthTag()]);
}

/** Verifies and decrypts ciphertext | tag; null when the tag does not verify or the input is shorter than a tag. */
export function aeadOpen(p: AeadParams, sealed: Uint8Array): Buffer | null {
  check(p);
  if (sealed.length < p.tagLength) return null;
  const split = sealed.length - p.tagLength;
  const d = createDecipheriv(algorithmName(p.kind, p.key.length) as CipherGCMTypes, p.key, p.nonce, { authTagLength: p.tagLength });
  d.setAuthTag(sealed.subarray(split));
  d.setAAD(p.aad, { plaintextLength: split });
  const out = d.update(sealed.subarray(0, split));
  try {
    return Buffer.concat([out, d.final()]);
  } catch {
    out.fill(0);
    return null;
  }
}
