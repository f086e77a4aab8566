// Stateless cookies against IKE_SA_INIT floods (RFC 7296 §2.6). Above a
// number of half-open SAs the responder answers a request without a valid
// COOKIE with just N(COOKIE) and keeps no state; a real initiator repeats its
// request with the cookie, which proves it receives at its address.
//   Cookie = <VersionIDofSecret> | HMAC-SHA256(secret, Ni | IPi | port | SPIi)
// The secret is replaced every SECRET_LIFETIME_MS; cookies made with the
// previous one are still accepted so a rotation does not fail an exchange in
// flight.

import { createHmac } from 'node:crypto';
import { constantTimeEqual, wipe } from '../../crypto/secret.ts';
import { ipToBytes } from '../../crypto/nat-d.ts';
import type { Endpoint, ExchangeEnv } from '../../exchange/types.ts';

export const SECRET_LIFETIME_MS = 300_000;
const VERSION_LENGTH = 4;

interface Secret {
  version: number;
  key: Buffer;
}

export class CookieJar {
  readonly #env: ExchangeEnv;
  #current: Secret;
  #previous: Secret | null = null;
  #rotatedAt: number;

  constructor(env: ExchangeEnv) {
    this.#env = env;
    this.#current = { version: env.random(4).readUInt32BE(0), key: env.random(32) };
    this.#rotatedAt = env.now();
  }

  #rotateIfDue(): void {
    const now = this.#env.now();
    if (now - this.#rotatedAt < SECRET_LIFETIME_MS) return;
    if (this.#previous) wipe(this.#previous.key);
    this.#previous = this.#current;
    this.#current = { version: (this.#current.version + 1) >>> 0, key: this.#env.random(32) };
    this.#rotatedAt = now;
  }

  #mac(s: Secret, ni: Buffer, from: Endpoint, spiI: Buffer): Buffer {
    const port = Buffer.alloc(2);
    port.writeUInt16BE(from.port, 0);
    const version = Buffer.alloc(VERSION_LENGTH);
    version.writeUInt32BE(s.version, 0);
    const h = createHmac('sha256', s.key).update(ni).update(ipToBytes(from.address)).update(port).update(spiI).digest();
    return Buffer.concat([version, h]);
  }

  make(ni: Buffer, from: Endpoint, spiI: Buffer): Buffer {
    this.#rotateIfDue();
    return this.#mac(this.#current, ni, from, spiI);
  }

  check(cookie: Buffer, ni: Buffer, from: Endpoint, spiI: Buffer): boolean {
    this.#rotateIfDue();
    if (cookie.length !== VERSION_LENGTH + 32) return false;
    const version = cookie.readUInt32BE(0);
    const s = version === this.#current.version ? this.#current : version === this.#previous?.version ? this.#previous : null;
    return s !== null && constantTimeEqual(this.#mac(s, ni, from, spiI), cookie);
  }
}
