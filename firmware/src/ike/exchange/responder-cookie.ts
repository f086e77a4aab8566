// The IKEv1 responder cookie, derived from a secret, as RFC 2408 §2.5.3
// recommends (a fast hash over the peer's address and port and a locally
// generated secret: the anti-clogging token of Photuris, RFC 2522): CKY-R = first 8 bytes of HMAC-SHA256(secret, CKY-I | peer
// address | peer port | time window). We keep no state for an MM1 beyond a
// bounded record (mm1-records.ts), which a flood may evict before the real
// initiator's MM3 arrives; with this cookie an MM3 whose record is gone can
// still be recognised as the answer to an MM2 of ours (only who received that
// MM2, from that address and port, within the window, can echo it), and the
// initiator told to start again instead of being left to its retransmissions.
//
// One secret per window of COOKIE_WINDOW_MS, drawn when the window starts; the
// previous window's secret is still accepted, so a cookie is good for one to two
// windows (at least HALF_OPEN_TIMEOUT_MS, how long a record waits for its MM3).
// The secret of the window before that is wiped.

import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../crypto/secret.ts';
import type { RateLimit } from '../common/response-limit.ts';
import { HALF_OPEN_TIMEOUT_MS, type Endpoint } from './types.ts';

/** How long one secret makes cookies; it is accepted for one more window after. */
export const COOKIE_WINDOW_MS = HALF_OPEN_TIMEOUT_MS;

/** INVALID-COOKIE answers per source (an initiator needs one per lost exchange). */
export const INVALID_COOKIE_RATE: RateLimit = { perSecond: 2, burst: 5, sources: 1024 };

/** Our initiator starts a main mode again on an INVALID-COOKIE at most this often per peer. */
export const MAIN_MODE_RESTART_MS = 10_000;

interface Secret {
  window: number;
  key: Buffer;
}

/** CKY-R for (CKY-I, peer address, port) under `key` in `window`; never all zero
 * (RFC 2408 §3.1: a zero responder cookie means "not yet known"). */
function derive(key: Buffer, window: number, ckyI: Buffer, peer: Endpoint): Buffer {
  const addr = Buffer.from(peer.address, 'utf8');
  const fixed = Buffer.alloc(1 + 2 + 8);
  fixed.writeUInt8(addr.length & 0xff, 0);
  fixed.writeUInt16BE(peer.port & 0xffff, 1);
  fixed.writeDoubleBE(window, 3);
  const out = createHmac('sha256', key).update(ckyI).update(fixed).update(addr).digest().subarray(0, 8);
  if (out.every((b) => b === 0)) out[7] = 1;
  return Buffer.from(out);
}

export class ResponderCookies {
  readonly #now: () => number;
  readonly #random: (n: number) => Buffer;
  #current: Secret | null = null;
  #previous: Secret | null = null;

  constructor(now: () => number, random: (n: number) => Buffer) {
    this.#now = now;
    this.#random = random;
  }

  /** Our cookie for an MM1 with `ckyI` from `peer`, now. */
  make(ckyI: Buffer, peer: Endpoint): Buffer {
    const s = this.#rotate();
    return derive(s.key, s.window, ckyI, peer);
  }

  /** Did we give `ckyR` to `ckyI` at `peer` in this window or the one before? Constant time per secret. */
  isOurs(ckyI: Buffer, ckyR: Buffer, peer: Endpoint): boolean {
    const cur = this.#rotate();
    let ours = constantTimeEqual(derive(cur.key, cur.window, ckyI, peer), ckyR);
    const prev = this.#previous;
    if (prev) ours = constantTimeEqual(derive(prev.key, prev.window, ckyI, peer), ckyR) || ours;
    return ours;
  }

  /** Draws the secret of the current window when it starts; keeps the one before it only
   * if that was the previous window. A clock that went back keeps the newest secret. */
  #rotate(): Secret {
    const window = Math.floor(this.#now() / COOKIE_WINDOW_MS);
    const cur = this.#current;
    if (cur && window <= cur.window) return cur;
    this.#previous?.key.fill(0);
    this.#previous = null;
    if (cur && cur.window === window - 1) this.#previous = cur;
    else cur?.key.fill(0);
    const next = { window, key: this.#random(32) };
    this.#current = next;
    return next;
  }

  /** Forgets both secrets (wiped): every cookie given so far stops being ours. */
  clear(): void {
    this.#current?.key.fill(0);
    this.#previous?.key.fill(0);
    this.#current = null;
    this.#previous = null;
  }
}
