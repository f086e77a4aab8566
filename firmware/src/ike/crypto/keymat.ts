// Phase 2 keying material, RFC 2409 §5.5.
//
//   KEYMAT = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
// expanded when more is needed:
//   K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b)
//   K2 = prf(SKEYID_d, K1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) ...
//   KEYMAT = K1 | K2 | K3 ...
// One KEYMAT per SA, i.e. per direction: the SPI is the one the RECEIVING
// side chose (§5.5: "the SPI ... in the SA payload of the party receiving").
// protocol is the one-octet protocol ID (ESP = 3), SPI the 4-octet SPI.
//
// Splitting (RFC 4301/4303 practice, and what the Linux/strongSwan stacks
// do): encryption key first, then integrity key. For combined-mode ciphers
// the salt is the last 4 bytes of the cipher's share: RFC 4106 §8.1 (GCM),
// RFC 7634 §2 (ChaCha20-Poly1305).

import type { HashAlgorithm } from './hash.ts';
import { wipe } from './secret.ts';

export const PROTO_ESP = 3;
export const PROTO_AH = 2;

export interface KeymatInput {
  skeyidD: Uint8Array;
  protocol: number;
  /** 4-byte SPI chosen by the receiver of traffic under this SA. */
  spi: Uint8Array;
  niB: Uint8Array;
  nrB: Uint8Array;
  /** g(qm)^xy from a quick mode KE exchange (PFS), if any. */
  gqmxy?: Uint8Array;
}

export function keymat(prf: HashAlgorithm, x: KeymatInput, length: number): Buffer {
  if (x.spi.length !== 4) throw new RangeError('ESP/AH SPI must be 4 bytes');
  if (x.protocol < 0 || x.protocol > 255) throw new RangeError('protocol must be one octet');
  const tail: Uint8Array[] = [];
  if (x.gqmxy) tail.push(x.gqmxy);
  tail.push(Buffer.of(x.protocol), x.spi, x.niB, x.nrB);
  const blocks: Buffer[] = [];
  let have = 0;
  let prev: Buffer | undefined;
  while (have < length) {
    prev = prev ? prf.prf(x.skeyidD, prev, ...tail) : prf.prf(x.skeyidD, ...tail);
    blocks.push(prev);
    have += prev.length;
  }
  const all = Buffer.concat(blocks);
  const out = Buffer.from(all.subarray(0, length));
  wipe(all, ...blocks);
  return out;
}

export interface EspKeyLengths {
  /** Cipher key bytes, without salt (e.g. 16 for AES-128). 0 for NULL encryption. */
  encKey: number;
  /** Salt bytes: 4 for AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634), else 0. */
  salt: number;
  /** Integrity key bytes: 0 for combined-mode ciphers. */
  integKey: number;
}

export interface EspKeys {
  encKey: Buffer;
  salt: Buffer;
  integKey: Buffer;
}

export function espKeymatLength(l: EspKeyLengths): number {
  return l.encKey + l.salt + l.integKey;
}

/** Split KEYMAT: [encryption key | salt] then [integrity key]. */
export function splitEspKeymat(km: Buffer, l: EspKeyLengths): EspKeys {
  if (km.length < espKeymatLength(l)) throw new RangeError('KEYMAT shorter than the ESP keys need');
  const encKey = Buffer.from(km.subarray(0, l.encKey));
  const salt = Buffer.from(km.subarray(l.encKey, l.encKey + l.salt));
  const integKey = Buffer.from(km.subarray(l.encKey + l.salt, l.encKey + l.salt + l.integKey));
  return { encKey, salt, integKey };
}

export function espKeys(prf: HashAlgorithm, x: KeymatInput, l: EspKeyLengths): EspKeys {
  const km = keymat(prf, x, espKeymatLength(l));
  try {
    return splitEspKeymat(km, l);
  } finally {
    wipe(km);
  }
}

export function wipeEspKeys(k: EspKeys): void {
  wipe(k.encKey, k.salt, k.integKey);
}
