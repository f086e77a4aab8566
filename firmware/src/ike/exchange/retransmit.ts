// Retransmission of the last message of an exchange we are waiting on.
// RFC 2408 leaves the schedule to implementations (RFC 2409 §5: "the
// retransmission timer"); we send again `tries` times, doubling the wait each
// time from `baseMs`, then give up and the caller fails the negotiation. The
// default (2 s, 5 tries: give-up after 126 s) comes from types.ts; gateway
// settings can change it (config: retransmit-timeout, retransmit-tries).

import type { Datagram } from '../common/send-path.ts';
import { RETRANSMIT_BASE_MS, RETRANSMIT_TRIES, type Endpoint } from './types.ts';

export interface RetransmitSchedule {
  /** Wait before the first retransmission; doubled before each further one. */
  baseMs: number;
  /** Retransmissions before giving up. */
  tries: number;
}

export const DEFAULT_RETRANSMIT: RetransmitSchedule = { baseMs: RETRANSMIT_BASE_MS, tries: RETRANSMIT_TRIES };

/** The message kept for resending: it goes out again through ike/common/send-path.ts. */
export type SentMessage = Datagram;

export type RetransmitTick = { kind: 'idle' } | { kind: 'resend'; message: SentMessage; attempt: number } | { kind: 'give-up' };

export class Retransmit {
  readonly #schedule: RetransmitSchedule;
  #last: SentMessage | null = null;
  #tries = 0;
  #nextAt: number | null = null;

  constructor(schedule: RetransmitSchedule = DEFAULT_RETRANSMIT) {
    this.#schedule = schedule;
  }

  /** Remember a message; `expectReply` arms the timer (the last message of an exchange is not resent by timer). */
  sent(message: SentMessage, now: number, expectReply: boolean): void {
    this.#last = message;
    this.#tries = 0;
    this.#nextAt = expectReply ? now + this.#schedule.baseMs : null;
  }

  /** The reply arrived: stop the timer but keep the message for duplicate requests. */
  answered(): void {
    this.#nextAt = null;
  }

  stop(): void {
    this.#nextAt = null;
    this.#last = null;
  }

  get last(): SentMessage | null {
    return this.#last;
  }

  /** When tick() next has something to do (resend or give up), null when idle. */
  get nextAt(): number | null {
    return this.#last === null ? null : this.#nextAt;
  }

  /** Point the stored message at a new address (NAT-T float, peer moved). */
  redirect(to: Endpoint, localPort: number): void {
    if (this.#last) this.#last = { ...this.#last, to, localPort };
  }

  tick(now: number): RetransmitTick {
    if (this.#nextAt === null || this.#last === null || now < this.#nextAt) return { kind: 'idle' };
    if (this.#tries >= this.#schedule.tries) {
      this.#nextAt = null;
      return { kind: 'give-up' };
    }
    this.#tries++;
    this.#nextAt = now + this.#schedule.baseMs * 2 ** this.#tries;
    return { kind: 'resend', message: this.#last, attempt: this.#tries };
  }
}
