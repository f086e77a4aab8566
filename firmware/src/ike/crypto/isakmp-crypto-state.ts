// Encryption state of one ISAKMP SA: the phase 1 cipher key and the CBC IV
// of every exchange in flight, keyed by message ID (RFC 2409 Appendix B).
//
// Message ID 0 is the phase 1 exchange: its first IV is hash(g^xi | g^xr),
// then each message's last ciphertext block is the next message's IV. Any
// other message ID (quick mode, informational) starts from
// hash(last phase 1 CBC block | M-ID) and then chains the same way.
//
// The state only moves forward on encrypt/decrypt. A retransmitted message
// must be recognised by the caller (byte-equal to the last one received)
// before decrypting, otherwise the chain would advance twice; likewise a
// message whose HASH fails should be followed by `restore(snapshot)`.
//
// Padding: CBC needs whole blocks, so the body is padded with zero octets
// (no pad-length byte), exactly as strongSwan does; the capture test
// re-encrypts strongSwan's MM5/MM6 bit for bit under this rule. The ISAKMP
// header Length (RFC 2408 §3.1) covers the whole message, padding included.
// Receivers take payload lengths from the payload chain and ignore trailing
// bytes, so decrypt returns the padded plaintext.

import { ownCopy } from '../common/own-buffer.ts';
import type { Phase1Cipher } from './cipher.ts';
import type { HashAlgorithm } from './hash.ts';
import { lastBlock, phase2Iv } from './iv.ts';
import { wipe } from './secret.ts';

export class IsakmpCryptoError extends Error {
  override readonly name = 'IsakmpCryptoError';
}

export type IvSnapshot = ReadonlyMap<number, Buffer>;

export class IsakmpCryptoState {
  readonly cipher: Phase1Cipher;
  readonly hash: HashAlgorithm;
  #key: Buffer;
  /** Message ID 0's IV, for the SA's life. */
  #phase1Iv: Buffer;
  /** The IVs of the quick modes and informationals in flight; null when there are
   * none, as on an idle SA (a Map's table is ~170 bytes: issue 10, memory per tunnel). */
  #exchanges: Map<number, Buffer> | null = null;
  #wiped = false;

  /**
   * @param encKey  the phase 1 encryption key (copied; see skeyid.ts)
   * @param phase1InitialIv  hash(g^xi | g^xr) truncated, from iv.ts
   */
  constructor(cipher: Phase1Cipher, hash: HashAlgorithm, encKey: Uint8Array, phase1InitialIv: Uint8Array) {
    if (encKey.length !== cipher.keyLength) throw new IsakmpCryptoError('encryption key length does not fit the cipher');
    if (phase1InitialIv.length !== cipher.blockSize) throw new IsakmpCryptoError('IV length does not fit the cipher');
    this.cipher = cipher;
    this.hash = hash;
    this.#key = ownCopy(encKey);
    this.#phase1Iv = ownCopy(phase1InitialIv);
  }

  /** The IV the next message of this exchange will use (a copy). */
  ivFor(messageId: number): Buffer {
    return Buffer.from(this.#currentIv(messageId));
  }

  /** Pad with zeros to whole blocks and encrypt; returns the ciphertext that follows the ISAKMP header. */
  encrypt(messageId: number, body: Uint8Array): Buffer {
    const bs = this.cipher.blockSize;
    const padded = Buffer.alloc(Math.max(bs, Math.ceil(body.length / bs) * bs));
    Buffer.from(body.buffer, body.byteOffset, body.length).copy(padded);
    const ct = this.cipher.encrypt(this.#key, this.#currentIv(messageId), padded);
    wipe(padded);
    this.#advance(messageId, ct);
    return ct;
  }

  /** Decrypt a message body (everything after the ISAKMP header). Returns plaintext including padding. */
  decrypt(messageId: number, ciphertext: Uint8Array): Buffer {
    const bs = this.cipher.blockSize;
    if (ciphertext.length === 0 || ciphertext.length % bs !== 0) {
      throw new IsakmpCryptoError(`encrypted body of ${ciphertext.length} bytes is not a whole number of ${bs}-byte blocks`);
    }
    const pt = this.cipher.decrypt(this.#key, this.#currentIv(messageId), ciphertext);
    this.#advance(messageId, ciphertext);
    return pt;
  }

  /** Copy of all IVs, to roll back after a message fails authentication. */
  snapshot(): IvSnapshot {
    const s = new Map<number, Buffer>([[0, Buffer.from(this.#phase1Iv)]]);
    for (const [k, v] of this.#exchanges ?? []) s.set(k, Buffer.from(v));
    return s;
  }

  restore(s: IvSnapshot): void {
    const phase1 = s.get(0);
    if (!phase1) throw new IsakmpCryptoError('IV snapshot without the phase 1 IV');
    this.#phase1Iv = ownCopy(phase1);
    this.#exchanges = null;
    for (const [k, v] of s) if (k !== 0) (this.#exchanges ??= new Map()).set(k, ownCopy(v));
  }

  /** Drop the IV of a finished quick mode / informational exchange. */
  forget(messageId: number): void {
    if (messageId === 0 || this.#exchanges === null) return;
    this.#exchanges.delete(messageId);
    if (this.#exchanges.size === 0) this.#exchanges = null;
  }

  /** Zero the key and IVs; the object is unusable afterwards. */
  wipe(): void {
    wipe(this.#key, this.#phase1Iv, ...(this.#exchanges?.values() ?? []));
    this.#exchanges = null;
    this.#wiped = true;
  }

  #currentIv(messageId: number): Buffer {
    if (this.#wiped) throw new IsakmpCryptoError('ISAKMP SA keys were wiped');
    if (messageId === 0) return this.#phase1Iv;
    const iv = this.#exchanges?.get(messageId);
    if (iv) return iv;
    const fresh = ownCopy(phase2Iv(this.hash, this.cipher.blockSize, this.#phase1Iv, messageId));
    (this.#exchanges ??= new Map()).set(messageId, fresh);
    return fresh;
  }

  #advance(messageId: number, ciphertext: Uint8Array): void {
    // Kept for the SA's life (message 0) or the exchange's: own memory, not a pool slice.
    const next = ownCopy(lastBlock(ciphertext, this.cipher.blockSize));
    if (messageId === 0) this.#phase1Iv = next;
    else (this.#exchanges ??= new Map()).set(messageId, next);
  }
}
