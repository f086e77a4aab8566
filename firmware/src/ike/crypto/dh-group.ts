// The shape every Diffie-Hellman group implementation shares. The KE payload
// carries `publicKey` verbatim (RFC 2409 §5 "g^xi"/"g^xr"), and the shared
// secret is what SKEYID derivation consumes as g^xy.

export interface DhKeyPair {
  /** Our public value in KE payload encoding, exactly `publicLength` bytes. */
  readonly publicKey: Buffer;
  /**
   * Validate the peer's KE payload value and compute g^xy in the group's
   * fixed-length encoding. Throws DhError on an invalid peer value.
   */
  computeSecret(peerPublic: Uint8Array): Buffer;
}

export interface DhGroup {
  /** IANA "Group Description" / Transform Type 4 number. */
  readonly id: number;
  readonly name: string;
  /** Length in bytes of the KE payload data and of the shared secret encoding. */
  readonly publicLength: number;
  /** Group 1 (768-bit MODP): breakable; policy must opt in explicitly. */
  readonly weak: boolean;
  /**
   * A fresh key pair whose private value is drawn from `random` (the
   * exchange's injected source: node:crypto's randomBytes in the daemon, a
   * seeded generator in tests so a run replays byte for byte).
   */
  generate(random: RandomSource): DhKeyPair;
  /** Deterministic key pair from a known private value, for known-answer tests. */
  fromPrivateKey(privateKey: Uint8Array): DhKeyPair;
}

/** `bytes` uniformly random bytes (ExchangeEnv.random). */
export type RandomSource = (bytes: number) => Buffer;

/** Rejection sampling gives up after this many draws (each fails with probability < 2^-31). */
export const MAX_DRAWS = 16;

export class DhError extends Error {
  override readonly name = 'DhError';
}

/** Big-endian unsigned integer of a byte string. */
export function bytesToBigInt(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

/** Left-pad with zeros to `length` bytes (secrets and public values are fixed width). */
export function leftPad(b: Buffer, length: number): Buffer {
  if (b.length === length) return b;
  if (b.length > length) throw new DhError(`value is ${b.length} bytes, longer than ${length}`);
  const out = Buffer.alloc(length);
  b.copy(out, length - b.length);
  return out;
}
