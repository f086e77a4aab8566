// Signature authentication for IKEv1 main mode.
//
// RSA (auth method 3): RFC 2409 §5.1 signs HASH_I/HASH_R itself. Deployed
// IKEv1 (and RFC 2409's reading of PKCS #1) uses a PKCS#1 v1.5 type 1 block
// over the raw hash WITHOUT a DigestInfo wrapper, because the PRF output is
// not tied to one hash OID. node's sign(null, ...) would still add a
// SHA-256 DigestInfo, so the raw RSA operations are used instead:
// privateEncrypt with RSA_PKCS1_PADDING builds the type 1 block (00 01 FF..
// 00 | data), publicDecrypt checks and strips it; the recovered hash is then
// compared in constant time.
//
// ECDSA (auth methods 9/10/11, RFC 4754 §3/§7): the signed data is HASH_I/R,
// hashed with SHA-256/384/512 for P-256/384/521, and the signature payload
// is r | s, each left-padded to the curve size (not DER).

import { constants, privateEncrypt, publicDecrypt, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { constantTimeEqual } from './secret.ts';

export const AuthMethod = {
  PRE_SHARED_KEY: 1,
  RSA_SIG: 3,
  ECDSA_256: 9,
  ECDSA_384: 10,
  ECDSA_521: 11,
} as const;
export type SignatureAuthMethod = 3 | 9 | 10 | 11;

const ECDSA: Record<9 | 10 | 11, { curve: string; digest: string; size: number }> = {
  9: { curve: 'prime256v1', digest: 'sha256', size: 32 },
  10: { curve: 'secp384r1', digest: 'sha384', size: 48 },
  11: { curve: 'secp521r1', digest: 'sha512', size: 66 },
};

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

/** Throws SignatureError when the key does not fit the negotiated auth method. */
function checkKey(method: SignatureAuthMethod, key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (method === 3) {
    if (type !== 'rsa') throw new SignatureError('RSA signature auth needs an RSA key');
    return;
  }
  const want = ECDSA[method];
  if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== want.curve) {
    throw new SignatureError(`auth method ${method} needs an EC key on ${want.curve}`);
  }
}

/** The SIG payload data for HASH_I/HASH_R. */
export function signAuthHash(method: SignatureAuthMethod, privateKey: KeyObject, authHash: Uint8Array): Buffer {
  checkKey(method, privateKey);
  if (method === 3) return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, authHash);
  const e = ECDSA[method];
  return cryptoSign(e.digest, authHash, { key: privateKey, dsaEncoding: 'ieee-p1363' });
}

/** Verify a peer's SIG payload over our computation of its HASH_I/HASH_R. Never throws on a bad signature. */
export function verifyAuthHash(
  method: SignatureAuthMethod,
  publicKey: KeyObject,
  authHash: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    checkKey(method, publicKey);
  } catch {
    return false;
  }
  try {
    if (method === 3) {
      const modulusBytes = Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      if (signature.length !== modulusBytes) return false;
      const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return constantTimeEqual(recovered, authHash);
    }
    const e = ECDSA[method];
    if (signature.length !== 2 * e.size) return false;
    return cryptoVerify(e.digest, authHash, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
