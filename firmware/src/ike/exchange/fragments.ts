// Reassembly of IKEv1 fragments (wire/fragment.ts). Pure, clock injected.
//
// Fragments are unauthenticated until the reassembled message is checked by
// main mode, so everything here is bounded: at most REASSEMBLY_MAX_FRAGMENTS
// fragments and REASSEMBLY_MAX_BYTES bytes per message, at most
// REASSEMBLY_MAX_MESSAGES messages under reassembly (the oldest is dropped to
// make room), and a partial set is forgotten after REASSEMBLY_TIMEOUT_MS (a
// retransmission of the whole set will follow: strongSwan and Cisco resend all
// fragments of a message on their retransmit timer). Bad fragments are dropped
// and counted, never thrown. Sets are keyed by both cookies and the fragment
// ID: strongSwan uses fragment ID 1 for every message, so consecutive
// messages of one SA reuse the key once the previous set is complete.

import { MAX_FRAGMENTS, type IkeFragment } from '../wire/index.ts';

export const REASSEMBLY_MAX_FRAGMENTS = MAX_FRAGMENTS;
export const REASSEMBLY_MAX_BYTES = 16 * 1024;
export const REASSEMBLY_MAX_MESSAGES = 16;
export const REASSEMBLY_TIMEOUT_MS = 10_000;

/** The counters a reassembler increments (ExchangeCounters has them). */
export interface FragmentCounters {
  /** Fragments taken into a set (duplicates not included). */
  fragmentsReceived: number;
  /** Fragments ignored: duplicates, beyond the last one, sets over a bound, stale or evicted sets (their fragments). */
  fragmentsDropped: number;
  /** Messages put together from fragments. */
  reassembled: number;
}

export type FragmentOutcome =
  | { kind: 'incomplete' }
  | { kind: 'complete'; datagram: Buffer; fragments: number }
  | { kind: 'dropped'; reason: string };

interface PartialMessage {
  parts: Map<number, Buffer>;
  bytes: number;
  /** Number of the fragment flagged LAST, once seen. */
  last: number | null;
  startedAt: number;
}

export class Reassembler {
  readonly #now: () => number;
  readonly #counters: FragmentCounters;
  /** Insertion order = age: the first entry is the oldest set. */
  readonly #sets = new Map<string, PartialMessage>();

  constructor(now: () => number, counters: FragmentCounters) {
    this.#now = now;
    this.#counters = counters;
  }

  /** Messages under reassembly now. */
  get pending(): number {
    return this.#sets.size;
  }

  /** Bytes held in partial sets now. */
  get bufferedBytes(): number {
    let n = 0;
    for (const s of this.#sets.values()) n += s.bytes;
    return n;
  }

  add(f: IkeFragment): FragmentOutcome {
    const now = this.#now();
    this.#expire(now);
    if (f.number < 1 || f.number > REASSEMBLY_MAX_FRAGMENTS || f.data.length === 0) {
      return this.#drop(1, `fragment number ${f.number} with ${f.data.length} bytes is out of bounds`);
    }
    const key = `${f.initiatorCookie.toString('hex')}:${f.responderCookie.toString('hex')}:${f.fragmentId}`;
    let set = this.#sets.get(key);
    if (!set) {
      if (this.#sets.size >= REASSEMBLY_MAX_MESSAGES) {
        const [oldestKey, oldest] = this.#sets.entries().next().value as [string, PartialMessage];
        this.#sets.delete(oldestKey);
        this.#counters.fragmentsDropped += oldest.parts.size;
      }
      set = { parts: new Map(), bytes: 0, last: null, startedAt: now };
      this.#sets.set(key, set);
    }
    if (set.parts.has(f.number)) return this.#drop(1, `duplicate fragment ${f.number}`);
    if (set.last !== null && f.number > set.last) return this.#drop(1, `fragment ${f.number} after the last one (${set.last})`);
    if (f.last) {
      const beyond = [...set.parts.keys()].some((n) => n > f.number);
      if (set.last !== null || beyond) {
        // Two different ends for one message: not one sender's message; start over.
        this.#sets.delete(key);
        return this.#drop(set.parts.size + 1, `conflicting last fragment ${f.number}`);
      }
    }
    if (set.bytes + f.data.length > REASSEMBLY_MAX_BYTES) {
      this.#sets.delete(key);
      return this.#drop(set.parts.size + 1, `message larger than ${REASSEMBLY_MAX_BYTES} bytes`);
    }
    set.parts.set(f.number, f.data);
    set.bytes += f.data.length;
    if (f.last) set.last = f.number;
    this.#counters.fragmentsReceived++;
    if (set.last === null || set.parts.size !== set.last) return { kind: 'incomplete' };
    this.#sets.delete(key);
    const ordered: Buffer[] = [];
    for (let n = 1; n <= set.last; n++) {
      const part = set.parts.get(n);
      // As many parts as the last number, none of them numbered 0 or beyond it (checked on
      // arrival), means parts 1..last are all here; a gap would be a bug: drop the set.
      if (part === undefined) return this.#drop(set.parts.size, `fragment ${n} missing`);
      ordered.push(part);
    }
    this.#counters.reassembled++;
    return { kind: 'complete', datagram: Buffer.concat(ordered), fragments: set.last };
  }

  /** Forget the partial sets of an ISAKMP SA (it died). */
  discard(initiatorCookie: Buffer): void {
    const prefix = `${initiatorCookie.toString('hex')}:`;
    for (const k of [...this.#sets.keys()]) if (k.startsWith(prefix)) this.#sets.delete(k);
  }

  #expire(now: number): void {
    for (const [k, s] of this.#sets) {
      if (now - s.startedAt < REASSEMBLY_TIMEOUT_MS) continue;
      this.#sets.delete(k);
      this.#counters.fragmentsDropped += s.parts.size;
    }
  }

  #drop(n: number, reason: string): FragmentOutcome {
    this.#counters.fragmentsDropped += n;
    return { kind: 'dropped', reason };
  }
}
