/**
 * A secret value (PSK, private key material) that cannot leak by accident: every way
 * JavaScript turns an object into text (String(), template literals, JSON.stringify,
 * util.inspect / console.log) prints "<redacted>". Only reveal() gives the bytes,
 * and wipe() zeroes them when the peer or SA goes away.
 */
import { timingSafeEqual } from 'node:crypto';

const REDACTED = '<redacted>';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

export class Secret {
  readonly #bytes: Buffer;
  #wiped = false;

  constructor(bytes: Buffer) {
    // Own copy, so wiping never touches a caller's buffer and vice versa.
    this.#bytes = Buffer.from(bytes);
  }

  /** The raw bytes; callers must not log or keep them longer than needed. */
  reveal(): Buffer {
    if (this.#wiped) throw new Error('secret was wiped');
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes.length;
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** Constant-time equality (lengths are not secret). */
  equals(other: Secret): boolean {
    if (this.#wiped || other.#wiped) return false;
    if (this.#bytes.length !== other.#bytes.length) return false;
    return timingSafeEqual(this.#bytes, other.#bytes);
  }

  /** Zero the bytes; the secret is unusable afterwards. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspectSymbol](): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }
}
