// A budget for the replies a responder sends to first messages (IKEv1 MM1)
// before anyone has shown a return path (issue 10). Every answered MM1 costs a
// proposal choice, a cookie HMAC, an MM2 encoding, a record and a send (the
// send alone about as much as the rest); a spoofed flood faster than the daemon
// can do all that fills the kernel's receive buffer, and then the legitimate
// peer's own datagrams (its MM1, its MM3) are dropped with the flood's. So
// under pressure the responder answers at most so many MM1s per second:
//
// - in all (`total`) and per source (`perSource`), token buckets, so a flood
//   from one source cannot spend the others' share. The caller says what a
//   source is: the IKEv1 responder keeps one bucket per configured peer (a
//   flood spoofing one peer's address spends that peer's budget only, however
//   many peers share its prefix) and, for the %any peer, one per source prefix
//   (sourcePrefix: IPv4 /24, IPv6 /64);
// - an MM1 over the budget is shed before it is decoded: counted, never
//   answered. A real initiator retransmits its MM1 when no MM2 comes (RFC 2408
//   §5.1 leaves the schedule to implementations: Libreswan's first retry is
//   after 0.5 s, ours after 2 s, strongSwan's after 4 s);
// - a retransmission is recognised: the shed MM1s' (initiator cookie, source
//   address) are remembered in a fixed table of hashes (`memorySlots`, newer
//   overwrite older), and an MM1 seen there at least `minRetransmitMs` earlier
//   is answered from its own bucket (`retransmits`). A spoofer sending fresh
//   cookies never gets into that lane; the legitimate peer whose own address
//   is being spoofed (all its MM1s look like the flood's) is answered at its
//   first or second retransmission instead of by lottery.
//
// Messages past MM1 (MM3 echoing a cookie of ours) are never subject to this
// budget: they are checked against the record or the cookie secret and go on.
// Pure: the clock is given; tested in test/unit/ike-reply-budget.test.ts.

export interface Bucket {
  /** Tokens per second, sustained. */
  perSecond: number;
  /** Tokens a quiet bucket holds. */
  burst: number;
}

export interface ReplyBudgetLimits {
  /** MM2s to fresh MM1s per second, in all. */
  total: Bucket;
  /** MM2s to fresh MM1s per second per source (a configured peer, or a source prefix). */
  perSource: Bucket;
  /** Sources remembered; beyond, the least recently seen is forgotten (it starts full again). */
  sources: number;
  /** MM2s per second, in all, to retransmissions of MM1s shed before. */
  retransmits: Bucket;
  /** Slots of the table of shed MM1s (a power of two; 8 bytes each). */
  memorySlots: number;
  /** A copy sooner than this after the shed one is not taken for a retransmission. */
  minRetransmitMs: number;
}

/** Far above what a hub needs for spokes coming back (2,000 at once, then 500 a second,
 * and they retransmit), far below what a flood costs the daemon when every datagram is
 * answered (2,000/s on a busy 2-core host). One peer needs one MM2 per main mode. */
export const MM1_BUDGET: ReplyBudgetLimits = {
  total: { perSecond: 500, burst: 2000 },
  perSource: { perSecond: 50, burst: 100 },
  sources: 4096,
  retransmits: { perSecond: 50, burst: 50 },
  memorySlots: 16384,
  minRetransmitMs: 400,
};

export class TokenBucket {
  #tokens: number;
  #at: number;
  /** When ReplyBudget last moved it to the recent end of its LRU order. */
  movedAt: number;

  constructor(
    readonly limit: Bucket,
    now: number,
  ) {
    this.#tokens = limit.burst;
    this.#at = now;
    this.movedAt = now;
  }

  /** Tokens available at `now` (refilled since the last call, at most `burst`). */
  available(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.perSecond);
      this.#at = now;
    }
    return this.#tokens;
  }

  /** Take one token; false when there is none. */
  take(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The source prefix a budget is kept for: IPv4 /24 ("a.b.c"), IPv6 /64 (first four hextets). */
export function sourcePrefix(address: string): string {
  if (!address.includes(':')) {
    const dot = address.lastIndexOf('.');
    return dot < 0 ? address : address.slice(0, dot);
  }
  const [head = '', tail] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  if (h.length >= 4 || tail === undefined) return h.slice(0, 4).join(':');
  // "::" stands for the zero groups up to eight in all.
  const t = tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.slice(0, 4).join(':');
}

/** FNV-1a over a string's UTF-16 units, then a salt: not cryptographic, only spread. */
function hashString(s: string, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A 32-bit mix (murmur3's finaliser). */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Recently shed first messages, by (cookie, source address): a direct-mapped table of
 * 32-bit tags and times (no allocation per datagram; allocated at the first shed).
 * A newer entry overwrites an older one in its slot, so at R sheds per second an entry
 * survives t seconds with probability exp(-R t / slots). A false match (two entries
 * with the same slot and tag, 1 in 2^32) only answers one MM1 from the lane.
 */
export class ShedMemory {
  #table: { tags: Uint32Array; times: Float64Array } | null = null;
  readonly #mask: number;
  readonly #salt: number;

  constructor(
    slots: number,
    salt: number,
  ) {
    if (slots < 1 || (slots & (slots - 1)) !== 0) throw new Error(`ShedMemory slots must be a power of two, not ${slots}`);
    this.#mask = slots - 1;
    this.#salt = salt >>> 0;
  }

  #slot(cookie: Buffer, address: string): { index: number; tag: number } {
    const a = hashString(address, this.#salt);
    const c0 = cookie.length >= 4 ? cookie.readUInt32LE(0) : 0;
    const c1 = cookie.length >= 8 ? cookie.readUInt32LE(4) : 0;
    // Both from all eight cookie bytes and the address, mixed differently.
    const index = mix(c0 ^ mix(c1 ^ a)) & this.#mask;
    // Never 0: an empty slot matches nothing.
    const tag = (mix(c1 ^ mix(c0 ^ Math.imul(a, 0x9e3779b1))) | 1) >>> 0;
    return { index, tag };
  }

  remember(cookie: Buffer, address: string, now: number): void {
    this.#table ??= { tags: new Uint32Array(this.#mask + 1), times: new Float64Array(this.#mask + 1) };
    const { index, tag } = this.#slot(cookie, address);
    if (this.#table.tags[index] === tag) return; // seen before: keep when it was first shed
    this.#table.tags[index] = tag;
    this.#table.times[index] = now;
  }

  /** When this (cookie, address) was shed, if it is still remembered. */
  shedAt(cookie: Buffer, address: string): number | undefined {
    if (this.#table === null) return undefined;
    const { index, tag } = this.#slot(cookie, address);
    return this.#table.tags[index] === tag ? this.#table.times[index] : undefined;
  }

  forget(cookie: Buffer, address: string): void {
    if (this.#table === null) return;
    const { index, tag } = this.#slot(cookie, address);
    if (this.#table.tags[index] === tag) this.#table.tags[index] = 0;
  }
}

export type Admission = 'answer' | 'retransmit' | 'shed';

export class ReplyBudget {
  readonly #now: () => number;
  readonly limits: ReplyBudgetLimits;
  readonly #total: TokenBucket;
  readonly #lane: TokenBucket;
  /** Per source, least recently seen first (Map insertion order). */
  readonly #sources = new Map<string, TokenBucket>();
  readonly #memory: ShedMemory;

  constructor(now: () => number, limits: ReplyBudgetLimits = MM1_BUDGET, salt = 0) {
    this.#now = now;
    this.limits = limits;
    this.#total = new TokenBucket(limits.total, now());
    this.#lane = new TokenBucket(limits.retransmits, now());
    this.#memory = new ShedMemory(limits.memorySlots, salt);
  }

  /**
   * May a first message with initiator cookie `cookie` from `address` be answered now?
   * `source`: whose budget it spends (a peer's name; default: the address's prefix,
   * sourcePrefix, as "net <prefix>", which no peer name has: names have no spaces).
   * 'answer' (within the budgets), 'retransmit' (over them, but a retransmission of one
   * shed earlier, answered from the retransmission lane) or 'shed' (remembered, so that
   * its retransmission is recognised).
   */
  admit(cookie: Buffer, address: string, source?: string): Admission {
    const now = this.#now();
    if (this.#total.available(now) >= 1 && this.#source(source ?? `net ${sourcePrefix(address)}`, now).take(now)) {
      this.#total.take(now);
      return 'answer';
    }
    const at = this.#memory.shedAt(cookie, address);
    if (at !== undefined && now - at >= this.limits.minRetransmitMs && this.#lane.take(now)) {
      this.#memory.forget(cookie, address);
      return 'retransmit';
    }
    this.#memory.remember(cookie, address, now);
    return 'shed';
  }

  /** The bucket of `source`, made most recently seen (at most once a second: a flood from
   * one source does not reorder the map per datagram); a new one starts full. */
  #source(source: string, now: number): TokenBucket {
    let b = this.#sources.get(source);
    if (b) {
      if (now - b.movedAt < 1000) return b;
      b.movedAt = now;
      this.#sources.delete(source);
    } else {
      b = new TokenBucket(this.limits.perSource, now);
      if (this.#sources.size >= this.limits.sources) {
        const lru = this.#sources.keys().next();
        if (!lru.done) this.#sources.delete(lru.value);
      }
    }
    this.#sources.set(source, b);
    return b;
  }
}
