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
// ECDSA (auth methods 9/10/11, RFC 4754 §3): each method fixes a curve and
// a hash (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512). In IKEv1 that hash
// replaces the negotiated one for computing HASH_I/HASH_R: the PRF for the
// authentication hash becomes HMAC-SHA-256/384/512 (keyed with SKEYID as
// usual; SKEYID and the other keys keep the negotiated PRF), and HASH_I/R
// is then signed as the ECDSA digest without hashing again (ecdsa-digest.ts:
// OpenSSL through the addon, since node:crypto would hash it once more). The SIG payload
// is r | s, each left-padded to the curve size (§7, not DER). Measured
// against strongSwan 5.9.8 (test/unit/ike-crypto-strongswan-cert.test.ts:
// its logged HASH_I is HMAC-SHA-384 under method 10 with SHA-256 negotiated,
// and its SIG verifies as ECDSA over that value).

import { constants, privateEncrypt, publicDecrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { constantTimeEqual } from './secret.ts';
import { ecdsaSignDigest, ecdsaVerifyDigest } from './ecdsa-digest.ts';
import type { EcCurveName } from './ecdsa-digest.ts';
import { hashById, HashId } from './hash.ts';
import type { HashAlgorithm } from './hash.ts';

export const AuthMethod = {
  PRE_SHARED_KEY: 1,
  RSA_SIG: 3,
  ECDSA_256: 9,
  ECDSA_384: 10,
  ECDSA_521: 11,
} as const;
export type SignatureAuthMethod = 3 | 9 | 10 | 11;

const ECDSA: Record<9 | 10 | 11, { curve: EcCurveName; hash: HashId; size: number }> = {
  9: { curve: 'prime256v1', hash: HashId.SHA2_256, size: 32 },
  10: { curve: 'secp384r1', hash: HashId.SHA2_384, size: 48 },
  11: { curve: 'secp521r1', hash: HashId.SHA2_512, size: 66 },
};

/**
 * The PRF to compute HASH_I/HASH_R with (exchange-hash.ts) under an auth
 * method: the negotiated one, except for ECDSA where RFC 4754 §3 fixes it.
 */
export function authHashPrf(method: number, negotiated: HashAlgorithm): HashAlgorithm {
  if (method === 9 || method === 10 || method === 11) {
    const h = hashById(ECDSA[method].hash);
    if (!h) throw new SignatureError('SHA-2 hash missing');
    return h;
  }
  return negotiated;
}

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

/** The SIG payload data for HASH_I/HASH_R (computed with authHashPrf). */
export function signAuthHash(method: SignatureAuthMethod, privateKey: KeyObject, authHash: Uint8Array): Buffer {
  checkKey(method, privateKey);
  if (method === 3) return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, authHash);
  return ecdsaSignDigest(ECDSA[method].curve, privateKey, authHash);
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
    return ecdsaVerifyDigest(e.curve, publicKey, authHash, signature);
  } catch {
    return false;
  }
}
