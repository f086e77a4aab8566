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
  #ivs = new Map<number, Buffer>();
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
    this.#ivs.set(0, ownCopy(phase1InitialIv));
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
    return new Map([...this.#ivs].map(([k, v]) => [k, Buffer.from(v)]));
  }

  restore(s: IvSnapshot): void {
    this.#ivs = new Map([...s].map(([k, v]) => [k, ownCopy(v)]));
  }

  /** Drop the IV of a finished quick mode / informational exchange. */
  forget(messageId: number): void {
    if (messageId !== 0) this.#ivs.delete(messageId);
  }

  /** Zero the key and IVs; the object is unusable afterwards. */
  wipe(): void {
    wipe(this.#key, ...this.#ivs.values());
    this.#ivs.clear();
    this.#wiped = true;
  }

  #currentIv(messageId: number): Buffer {
    if (this.#wiped) throw new IsakmpCryptoError('ISAKMP SA keys were wiped');
    const iv = this.#ivs.get(messageId);
    if (iv) return iv;
    const base = this.#ivs.get(0);
    if (!base) throw new IsakmpCryptoError('no phase 1 IV');
    const fresh = ownCopy(phase2Iv(this.hash, this.cipher.blockSize, base, messageId));
    this.#ivs.set(messageId, fresh);
    return fresh;
  }

  #advance(messageId: number, ciphertext: Uint8Array): void {
    // Kept for the SA's life (message 0) or the exchange's: own memory, not a pool slice.
    this.#ivs.set(messageId, ownCopy(lastBlock(ciphertext, this.cipher.blockSize)));
  }
}
