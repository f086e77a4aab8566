/*
 * ecdsa_digest.h - ECDSA over a caller-supplied digest, r | s encoded.
 *
 * IKEv1 signature authentication with ECDSA (RFC 4754 §3, §7) signs
 * HASH_I/HASH_R itself as the ECDSA "digest" (it is already the output of
 * HMAC with the curve's hash) and carries r | s, each left-padded to the
 * curve's order size, not DER. node:crypto always hashes before signing, so
 * IKE reaches OpenSSL's EVP_PKEY_sign/verify (no digest set: the input is
 * taken as the digest, FIPS 186-4 §6.4) through here. OpenSSL's ECDSA does
 * its scalar multiplications in constant time (unlike the JavaScript BigInt
 * code this replaces).
 */
#ifndef SL_ECDSA_DIGEST_H
#define SL_ECDSA_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Sign `digest` with the EC private key `pkcs8` (PKCS #8 DER). Writes r | s
 * to `rs`, which holds `rs_len` bytes: exactly twice the order size. Returns
 * 0, or -1 (not an EC key, wrong rs_len, OpenSSL failure).
 */
int sl_ecdsa_sign_digest(const uint8_t *pkcs8, size_t pkcs8_len, const uint8_t *digest, size_t digest_len,
			 uint8_t *rs, size_t rs_len);

/*
 * Verify r | s over `digest` with the EC public key `spki` (SubjectPublicKeyInfo
 * DER). Returns 1 valid, 0 invalid (including a wrong length or r, s out of
 * range), -1 when the key cannot be used.
 */
int sl_ecdsa_verify_digest(const uint8_t *spki, size_t spki_len, const uint8_t *digest, size_t digest_len,
			   const uint8_t *rs, size_t rs_len);

#endif
