/**
 * "Allow fallback to clear" for a negotiate action (policy semantics, time injected so
 * it is pure and testable; the daemon drives it):
 *
 *  - a secure negotiation starts; if the peer stays silent for 3 s, traffic may flow
 *    unprotected on a soft SA, and secure negotiation is retried every 5 minutes;
 *  - once the peer has replied to an attempt (any message, even a refusal) or
 *    authentication failed, that attempt never falls back: the soft SA goes and
 *    traffic waits for (or is blocked without) a secure SA;
 *  - a secure SA replaces the soft SA.
 */
export const FALLBACK_SILENCE_MS = 3_000;
export const FALLBACK_RETRY_MS = 5 * 60_000;

export type FallbackState =
  | 'idle'
  | 'negotiating'   // secure attempt running, no verdict yet
  | 'clear'         // peer silent: soft SA, traffic in clear
  | 'secure'        // secure SA established
  | 'blocked';      // peer replied but negotiation failed / auth failed: no clear traffic

export class FallbackTracker {
  #state: FallbackState = 'idle';
  #attemptStart = 0;
  #replied = false;
  #nextRetry = Number.POSITIVE_INFINITY;

  constructor(
    readonly enabled: boolean,
    readonly silenceMs = FALLBACK_SILENCE_MS,
    readonly retryMs = FALLBACK_RETRY_MS,
  ) {}

  get state(): FallbackState {
    return this.#state;
  }

  /** A secure negotiation attempt begins (first try or a retry). */
  start(now: number): void {
    this.#attemptStart = now;
    this.#replied = false;
    // While on a soft SA, the clear path stays open during the retry and the next
    // retry is already scheduled; otherwise the silence timer decides.
    if (this.#state === 'clear') this.#nextRetry = now + this.retryMs;
    else {
      this.#state = 'negotiating';
      this.#nextRetry = Number.POSITIVE_INFINITY;
    }
  }

  /** Any message from the peer for this attempt. */
  peerReplied(): void {
    this.#replied = true;
    if (this.#state === 'clear') this.#state = 'negotiating';
  }

  /** Authentication failed (or the peer refused after replying): never clear. */
  failed(): void {
    this.#replied = true;
    this.#state = 'blocked';
    this.#nextRetry = Number.POSITIVE_INFINITY;
  }

  established(): void {
    this.#state = 'secure';
    this.#nextRetry = Number.POSITIVE_INFINITY;
  }

  /** Advance time; returns true when a secure retry should start now. */
  tick(now: number): boolean {
    if (this.#state === 'negotiating' && !this.#replied && this.enabled && now - this.#attemptStart >= this.silenceMs) {
      this.#state = 'clear';
      this.#nextRetry = this.#attemptStart + this.retryMs;
    }
    if (this.#state === 'clear' && now >= this.#nextRetry) {
      this.#nextRetry = now + this.retryMs;
      return true;
    }
    return false;
  }

  /** May traffic for this tunnel pass unprotected right now? */
  get clearAllowed(): boolean {
    return this.#state === 'clear';
  }
}
