// The IKEv2 transforms this daemon implements for the IKE SA itself (RFC 7296
// §3.3.2 transform types 1-3), mapped onto the shared primitives in
// ../../crypto: AES-CBC from cipher.ts, HMAC from hash.ts, AEAD from aead.ts.
// DH groups (type 4) come straight from ../../crypto/dh.ts by IANA number,
// which IKEv1 and IKEv2 share.

import { aeadOpen, aeadSeal, type AeadKind } from '../../crypto/aead.ts';
import { CipherId, cipherById } from '../../crypto/cipher.ts';
import { HashId, hashById, type HashAlgorithm } from '../../crypto/hash.ts';
import { EncrId, IntegId, PrfId } from '../wire/constants.ts';

/** The Encrypted payload's cipher (§3.14): CBC with a separate integrity transform, or AEAD (RFC 5282). */
export interface EncrAlgorithm {
  readonly id: number;
  /** Key Length attribute in bits (RFC 7296 §3.3.5), undefined for fixed-key ciphers. */
  readonly keyLengthBits: number | undefined;
  readonly name: string;
  readonly aead: boolean;
  /** SK_e length: cipher key plus salt (RFC 5282 §7.1: AES-GCM keys carry a 4-byte salt; RFC 7634 §2 likewise). */
  readonly keyMaterial: number;
  readonly ivLength: number;
  /** Plaintext alignment: 16 for CBC, 1 for AEAD (RFC 5282 §3: no alignment needed). */
  readonly blockSize: number;
  /** AEAD tag length; 0 for CBC (the integrity transform supplies the ICV). */
  readonly tagLength: number;
  readonly weak: boolean;
  /** CBC: encrypt whole blocks. AEAD: seal, returns ciphertext | tag. */
  encrypt(keyMaterial: Uint8Array, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer;
  /** CBC: decrypt whole blocks. AEAD: open ciphertext | tag, null on a bad tag. */
  decrypt(keyMaterial: Uint8Array, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Buffer | null;
}

export interface IntegAlgorithm {
  readonly id: number;
  readonly name: string;
  readonly keyLength: number;
  /** Truncated ICV length (RFC 4868 §2.3 for SHA-2: half the hash). */
  readonly icvLength: number;
  readonly weak: boolean;
  mac(key: Uint8Array, data: Uint8Array): Buffer;
}

export interface PrfAlgorithm {
  readonly id: number;
  readonly name: string;
  /** prf output length, also the preferred key length (RFC 7296 §2.13; SK_d, SK_pi, SK_pr have this length). */
  readonly length: number;
  readonly weak: boolean;
  prf(key: Uint8Array, ...parts: Uint8Array[]): Buffer;
}

function cbcAlgorithm(bits: 128 | 192 | 256): EncrAlgorithm {
  const c = cipherById(CipherId.AES_CBC, bits);
  if (c === undefined) throw new Error('AES-CBC missing from the shared cipher table');
  return {
    id: EncrId.AES_CBC,
    keyLengthBits: bits,
    name: `aes${bits}`,
    aead: false,
    keyMaterial: bits / 8,
    ivLength: 16,
    blockSize: 16,
    tagLength: 0,
    weak: false,
    encrypt: (k, iv, _aad, p) => c.encrypt(k, iv, p),
    decrypt: (k, iv, _aad, ct) => c.decrypt(k, iv, ct),
  };
}

function aeadAlgorithm(id: number, kind: AeadKind, bits: number, tagLength: number, name: string): EncrAlgorithm {
  const keyBytes = bits / 8;
  const split = (km: Uint8Array, iv: Uint8Array): { key: Uint8Array; nonce: Buffer } => {
    if (km.length !== keyBytes + 4) throw new RangeError(`${name}: key material must be ${keyBytes + 4} bytes`);
    if (iv.length !== 8) throw new RangeError(`${name}: IV must be 8 bytes`);
    return { key: km.subarray(0, keyBytes), nonce: Buffer.concat([km.subarray(keyBytes), iv]) };
  };
  return {
    id,
    keyLengthBits: kind === 'aes-gcm' ? bits : undefined,
    name,
    aead: true,
    keyMaterial: keyBytes + 4,
    ivLength: 8,
    blockSize: 1,
    tagLength,
    weak: false,
    encrypt: (km, iv, aad, p) => aeadSeal({ kind, ...split(km, iv), aad, tagLength }, p),
    decrypt: (km, iv, aad, ct) => aeadOpen({ kind, ...split(km, iv), aad, tagLength }, ct),
  };
}

const GCM_IDS: ReadonlyMap<number, number> = new Map([
  [EncrId.AES_GCM_8, 8],
  [EncrId.AES_GCM_12, 12],
  [EncrId.AES_GCM_16, 16],
]);

/** The encryption transform for an ID and Key Length attribute, or undefined when unsupported. */
export function encrById(id: number, keyLengthBits: number | undefined): EncrAlgorithm | undefined {
  const aesBits = keyLengthBits === 128 || keyLengthBits === 192 || keyLengthBits === 256 ? keyLengthBits : undefined;
  if (id === EncrId.AES_CBC) return aesBits === undefined ? undefined : cbcAlgorithm(aesBits);
  const tag = GCM_IDS.get(id);
  if (tag !== undefined) return aesBits === undefined ? undefined : aeadAlgorithm(id, 'aes-gcm', aesBits, tag, `aes${aesBits}gcm${tag}`);
  // RFC 7634 §3: ChaCha20-Poly1305 has a fixed 256-bit key and no Key Length attribute.
  if (id === EncrId.CHACHA20_POLY1305)
    return keyLengthBits === undefined ? aeadAlgorithm(id, 'chacha20-poly1305', 256, 16, 'chacha20poly1305') : undefined;
  return undefined;
}

function hashOrThrow(id: HashId): HashAlgorithm {
  const h = hashById(id);
  if (h === undefined) throw new Error(`hash ${id} missing from the shared table`);
  return h;
}

const INTEG: ReadonlyMap<number, { hash: HashId; icv: number; name: string }> = new Map([
  [IntegId.HMAC_SHA1_96, { hash: HashId.SHA1, icv: 12, name: 'sha1' }],
  [IntegId.HMAC_SHA2_256_128, { hash: HashId.SHA2_256, icv: 16, name: 'sha256' }],
  [IntegId.HMAC_SHA2_384_192, { hash: HashId.SHA2_384, icv: 24, name: 'sha384' }],
  [IntegId.HMAC_SHA2_512_256, { hash: HashId.SHA2_512, icv: 32, name: 'sha512' }],
]);

/** RFC 7296 §3.3.2 / RFC 4868 §2: the HMAC key is the full hash length, the ICV truncated. */
export function integById(id: number): IntegAlgorithm | undefined {
  const spec = INTEG.get(id);
  if (spec === undefined) return undefined;
  const h = hashOrThrow(spec.hash);
  return {
    id,
    name: spec.name,
    keyLength: h.length,
    icvLength: spec.icv,
    weak: false,
    mac: (key, data) => h.prf(key, data).subarray(0, spec.icv),
  };
}

const PRF: ReadonlyMap<number, { hash: HashId; name: string }> = new Map([
  [PrfId.HMAC_SHA1, { hash: HashId.SHA1, name: 'prfsha1' }],
  [PrfId.HMAC_SHA2_256, { hash: HashId.SHA2_256, name: 'prfsha256' }],
  [PrfId.HMAC_SHA2_384, { hash: HashId.SHA2_384, name: 'prfsha384' }],
  [PrfId.HMAC_SHA2_512, { hash: HashId.SHA2_512, name: 'prfsha512' }],
]);

export function prfById(id: number): PrfAlgorithm | undefined {
  const spec = PRF.get(id);
  if (spec === undefined) return undefined;
  const h = hashOrThrow(spec.hash);
  return { id, name: spec.name, length: h.length, weak: false, prf: (key, ...parts) => h.prf(key, ...parts) };
}
