// Limits on what unauthenticated datagrams can make us send. A first message
// of an exchange can carry any source address, so every reply to one may be
// aimed at a third party (reflection); and a retransmitted request is answered
// by resending our last reply, so copies of one captured request would be
// reflected 1:1 for as long as the exchange lives.
//
// - RepeatAnswers: a duplicate of the same request is answered again at most
//   `max` times (a real initiator retransmits a handful of times; RFC 2408
//   leaves the schedule to implementations, ours and strongSwan's stop at 5).
// - SourceRateLimit: token bucket per source address for replies to
//   unauthenticated requests; the table of sources is bounded (oldest
//   forgotten first).

export const REPEAT_ANSWERS_MAX = 3;

export class RepeatAnswers<K extends object> {
  readonly #seen = new WeakMap<K, { request: Buffer; answered: number }>();

  constructor(readonly max = REPEAT_ANSWERS_MAX) {}

  /** May `owner` answer this duplicate of `request` again? Counts the answer when yes.
   * A different request object (the exchange moved on) starts a new count. */
  allow(owner: K, request: Buffer): boolean {
    const s = this.#seen.get(owner);
    if (!s || s.request !== request) {
      this.#seen.set(owner, { request, answered: 1 });
      return this.max >= 1;
    }
    if (s.answered >= this.max) return false;
    s.answered++;
    return true;
  }
}

export interface RateLimit {
  /** Replies per second per source, sustained. */
  perSecond: number;
  /** Replies a quiet source may get at once. */
  burst: number;
  /** Sources remembered; beyond, the least recently seen is forgotten. */
  sources: number;
}

/** 20/s with bursts of 40 per address: far above what any real peer needs from us
 * before it has authenticated, far below a useful reflector. */
export const RESPONSE_RATE: RateLimit = { perSecond: 20, burst: 40, sources: 4096 };

export class SourceRateLimit {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly now: () => number,
    readonly limit: RateLimit = RESPONSE_RATE,
  ) {}

  /** Take one token for `source`; false when its bucket is empty. */
  allow(source: string): boolean {
    const now = this.now();
    let b = this.#buckets.get(source);
    if (b) {
      this.#buckets.delete(source); // re-insert: most recently seen last
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    } else {
      b = { tokens: this.limit.burst, at: now };
      if (this.#buckets.size >= this.limit.sources) {
        const lru = this.#buckets.keys().next();
        if (!lru.done) this.#buckets.delete(lru.value);
      }
    }
    this.#buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
