// IKEv1 hash algorithms and their HMAC PRFs (RFC 2409 Appendix A, "Hash
// Algorithm" attribute values; RFC 4868 §2 for the SHA-2 family in IKE).
//
// RFC 2409 §5: when no PRF attribute is negotiated (the normal case, nobody
// deploys the PRF attribute) the PRF is the HMAC of the negotiated hash.

import { createHash, createHmac } from 'node:crypto';

export const HashId = {
  MD5: 1,
  SHA1: 2,
  SHA2_256: 4,
  SHA2_384: 5,
  SHA2_512: 6,
} as const;
export type HashId = (typeof HashId)[keyof typeof HashId];

export interface HashAlgorithm {
  readonly id: HashId;
  readonly name: string;
  /** node:crypto digest name. */
  readonly nodeName: 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** Output length in bytes of both the hash and its HMAC. */
  readonly length: number;
  /** MD5: collision attacks make it unfit for new deployments; policy opt-in only. */
  readonly weak: boolean;
  hash(...parts: Uint8Array[]): Buffer;
  /** prf(key, parts...) = HMAC-hash(key, parts concatenated). */
  prf(key: Uint8Array, ...parts: Uint8Array[]): Buffer;
}

function make(
  id: HashId,
  name: string,
  nodeName: HashAlgorithm['nodeName'],
  length: number,
  weak: boolean,
): HashAlgorithm {
  return {
    id,
    name,
    nodeName,
    length,
    weak,
    hash(...parts) {
      const h = createHash(nodeName);
      for (const p of parts) h.update(p);
      return h.digest();
    },
    prf(key, ...parts) {
      const h = createHmac(nodeName, key);
      for (const p of parts) h.update(p);
      return h.digest();
    },
  };
}

const HASHES: ReadonlyMap<number, HashAlgorithm> = new Map<number, HashAlgorithm>([
  [HashId.MD5, make(HashId.MD5, 'md5', 'md5', 16, true)],
  [HashId.SHA1, make(HashId.SHA1, 'sha1', 'sha1', 20, false)],
  [HashId.SHA2_256, make(HashId.SHA2_256, 'sha2-256', 'sha256', 32, false)],
  [HashId.SHA2_384, make(HashId.SHA2_384, 'sha2-384', 'sha384', 48, false)],
  [HashId.SHA2_512, make(HashId.SHA2_512, 'sha2-512', 'sha512', 64, false)],
]);

/** The hash for an RFC 2409 Appendix A Hash Algorithm value, or undefined if unsupported. */
export function hashById(id: number): HashAlgorithm | undefined {
  return HASHES.get(id);
}

export function supportedHashes(): HashAlgorithm[] {
  return [...HASHES.values()];
}
