// Retransmission of the last message of an exchange we are waiting on.
// RFC 2408 leaves the schedule to implementations (RFC 2409 §5: "the
// retransmission timer"); we send again RETRANSMIT_TRIES times, doubling the
// wait each time, then give up and the caller fails the negotiation.

import { RETRANSMIT_BASE_MS, RETRANSMIT_TRIES, type Endpoint } from './types.ts';

export interface SentMessage {
  data: Buffer;
  to: Endpoint;
  localPort: number;
}

export type RetransmitTick = { kind: 'idle' } | { kind: 'resend'; message: SentMessage; attempt: number } | { kind: 'give-up' };

export class Retransmit {
  #last: SentMessage | null = null;
  #tries = 0;
  #nextAt: number | null = null;

  /** Remember a message; `expectReply` arms the timer (the last message of an exchange is not resent by timer). */
  sent(message: SentMessage, now: number, expectReply: boolean): void {
    this.#last = message;
    this.#tries = 0;
    this.#nextAt = expectReply ? now + RETRANSMIT_BASE_MS : null;
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

  /** Point the stored message at a new address (NAT-T float, peer moved). */
  redirect(to: Endpoint, localPort: number): void {
    if (this.#last) this.#last = { ...this.#last, to, localPort };
  }

  tick(now: number): RetransmitTick {
    if (this.#nextAt === null || this.#last === null || now < this.#nextAt) return { kind: 'idle' };
    if (this.#tries >= RETRANSMIT_TRIES) {
      this.#nextAt = null;
      return { kind: 'give-up' };
    }
    this.#tries++;
    this.#nextAt = now + RETRANSMIT_BASE_MS * 2 ** this.#tries;
    return { kind: 'resend', message: this.#last, attempt: this.#tries };
  }
}
