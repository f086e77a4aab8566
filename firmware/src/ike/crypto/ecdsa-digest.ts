// ECDSA over a caller-supplied digest (FIPS 186-4 §6.4), for IKEv1
// signatures where the "digest" is HASH_I/HASH_R itself (RFC 4754 §3) and the
// SIG payload is r | s, each left-padded to the curve size (§7).
//
// node:crypto always hashes before ECDSA (a null algorithm still means the
// key's default digest, SHA-256), so both operations go to OpenSSL's
// EVP_PKEY_sign/verify through the addon (native/src/crypto/ecdsa_digest.c):
// its scalar multiplication is constant time and the nonce is OpenSSL's.
// The private key crosses as PKCS #8 DER in a buffer that is zeroed after
// the call.

import type { KeyObject } from 'node:crypto';
import { loadNative } from '../../dataplane/native.ts';
import type { NativeAddon } from '../../dataplane/native.ts';

export type EcCurveName = 'prime256v1' | 'secp384r1' | 'secp521r1';

/** Bytes of r (and of s) per curve: the order size (RFC 4754 §7). */
export const EC_SIZE: Record<EcCurveName, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

type EcdsaAddon = Required<Pick<NativeAddon, 'ecdsaSignDigest' | 'ecdsaVerifyDigest'>>;

function addon(): EcdsaAddon {
  const a = loadNative();
  const { ecdsaSignDigest: sign, ecdsaVerifyDigest: verify } = a;
  if (typeof sign !== 'function' || typeof verify !== 'function') {
    throw new Error('the sitelink addon predates ECDSA signing (npm run build:native)');
  }
  return { ecdsaSignDigest: sign.bind(a), ecdsaVerifyDigest: verify.bind(a) };
}

function checkCurve(name: EcCurveName, key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== name) {
    throw new Error(`not an EC key on ${name}`);
  }
}

/** Sign `digest` as is; returns r | s, each EC_SIZE[name] bytes. */
export function ecdsaSignDigest(name: EcCurveName, privateKey: KeyObject, digest: Uint8Array): Buffer {
  checkCurve(name, privateKey);
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    return addon().ecdsaSignDigest(der, Buffer.from(digest), EC_SIZE[name]);
  } finally {
    der.fill(0);
  }
}

/** Verify an r | s signature over `digest` as is. Never throws on a bad signature or key. */
export function ecdsaVerifyDigest(name: EcCurveName, publicKey: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 2 * EC_SIZE[name]) return false;
  try {
    checkCurve(name, publicKey);
  } catch {
    return false;
  }
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return addon().ecdsaVerifyDigest(spki, Buffer.from(digest), Buffer.from(signature));
}
