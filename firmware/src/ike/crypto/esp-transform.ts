// Key lengths of the ESP algorithms quick mode negotiates, to size and split
// KEYMAT (keymat.ts). Numbers: IPsec DOI ESP Transform IDs (RFC 2407
// §4.4.4, RFC 3602 §5 for AES-CBC = 12, RFC 4106 §8.1 for AES-GCM with
// 8/12/16-byte ICV = 18/19/20) and the Authentication Algorithm SA attribute
// (RFC 2407 §4.5 class 5: 1 HMAC-MD5, 2 HMAC-SHA; RFC 4868 §2.3 for
// HMAC-SHA2-256/384/512 = 5/6/7).

import type { EspKeyLengths } from './keymat.ts';

export const EspTransformId = {
  TRIPLE_DES: 3,
  NULL: 11,
  AES_CBC: 12,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
} as const;

export const EspAuthAlgorithm = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
} as const;

// RFC 2403/2404: the key is the full hash output; RFC 4868 §2.1 likewise.
const INTEG_KEY: ReadonlyMap<number, number> = new Map([
  [EspAuthAlgorithm.HMAC_MD5, 16],
  [EspAuthAlgorithm.HMAC_SHA1, 20],
  [EspAuthAlgorithm.HMAC_SHA2_256, 32],
  [EspAuthAlgorithm.HMAC_SHA2_384, 48],
  [EspAuthAlgorithm.HMAC_SHA2_512, 64],
]);

/**
 * Key material sizes for one ESP SA, or undefined when the combination is
 * not supported/valid: AES needs a 128/192/256 Key Length attribute; GCM
 * must not carry an Authentication Algorithm; CBC and NULL need one.
 */
export function espKeyLengths(transformId: number, keyLengthBits: number | undefined, authAlgorithm: number | undefined): EspKeyLengths | undefined {
  const integ = authAlgorithm === undefined ? undefined : INTEG_KEY.get(authAlgorithm);
  const aesBytes = keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256 ? keyLengthBits / 8 : undefined;
  switch (transformId) {
    case EspTransformId.AES_GCM_8:
    case EspTransformId.AES_GCM_12:
    case EspTransformId.AES_GCM_16:
      // RFC 4106 §8.1: key plus a 4-byte salt; combined mode, no integrity key.
      if (aesBytes === undefined || authAlgorithm !== undefined) return undefined;
      return { encKey: aesBytes, salt: 4, integKey: 0 };
    case EspTransformId.AES_CBC:
      if (aesBytes === undefined || integ === undefined) return undefined;
      return { encKey: aesBytes, salt: 0, integKey: integ };
    case EspTransformId.TRIPLE_DES:
      if (keyLengthBits !== undefined || integ === undefined) return undefined;
      return { encKey: 24, salt: 0, integKey: integ };
    case EspTransformId.NULL:
      if (keyLengthBits !== undefined || integ === undefined) return undefined;
      return { encKey: 0, salt: 0, integKey: integ };
    default:
      return undefined;
  }
}
