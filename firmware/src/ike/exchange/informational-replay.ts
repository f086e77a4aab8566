// The message IDs of an ISAKMP SA's recent informational exchanges, so that a
// replayed DPD or Delete is ignored (RFC 2408 §3.1: message IDs are random 32-bit
// values, so the recent ones suffice).
//
// A fixed ring of the last INFO_SEEN_MAX IDs in one Uint32Array, made at the SA's
// first informational (issue 10: memory per tunnel). The Set it replaces held
// ~12 KB per SA once full (12,377 bytes measured: hash table, and a heap number
// for every ID past V8's small-integer range, half of all random IDs); the ring
// is 1 KB from the first informational on, and nothing before it. A lookup scans
// at most INFO_SEEN_MAX words, done before the message is decrypted.

/** How many informational message IDs an ISAKMP SA remembers. */
export const INFO_SEEN_MAX = 256;

export class InformationalReplay {
  #ids: Uint32Array | null = null;
  #next = 0;
  #count = 0;

  /** IDs remembered (at most INFO_SEEN_MAX). */
  get size(): number {
    return this.#count;
  }

  has(messageId: number): boolean {
    const ids = this.#ids;
    if (ids === null) return false;
    const id = messageId >>> 0;
    for (let i = 0; i < this.#count; i++) if (ids[i] === id) return true;
    return false;
  }

  /** Remembers `messageId`, forgetting the oldest once INFO_SEEN_MAX are held. */
  remember(messageId: number): void {
    const ids = (this.#ids ??= new Uint32Array(INFO_SEEN_MAX));
    ids[this.#next] = messageId >>> 0;
    this.#next = (this.#next + 1) % INFO_SEEN_MAX;
    if (this.#count < INFO_SEEN_MAX) this.#count++;
  }
}
