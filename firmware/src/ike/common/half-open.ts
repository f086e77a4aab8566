// Bounded state for responder exchanges that have not authenticated anyone yet
// (IKEv1 main mode before MM5, IKEv2 IKE_SA_INIT before IKE_AUTH). Anyone can
// send the first message with any source address, so this state must neither
// grow without bound nor go to whoever sends first:
//
// - one entry per (source address, source port, initiator cookie/SPI): a spoofed
//   first message with a fresh cookie is a new entry, never a reason to refuse
//   the real peer's own;
// - entries are grouped (per configured peer) and capped per group and in all;
//   when a group is full its OLDEST entry that has not proven a return path
//   gives way (when the whole table is full, the largest group's): a spoofer
//   that cannot receive never gets further than the first reply. Only if every
//   entry has proven one does the oldest of those go. A flood therefore only
//   shortens how long an unproven entry lives; the real peer, whose second
//   message comes back within one round trip, gets through.
//
// "Proven" is up to the protocol. IKEv1 keeps no SA before the initiator's MM3
// echoes our responder cookie (it received MM2): one table holds the compact
// records of the MM1s answered until then (exchange/mm1-records.ts), another
// the SAs from MM3 until authentication, proven from the start.

export interface HalfOpenLimits {
  /** Entries per group (peer). */
  perGroup: number;
  /** Entries in all. */
  total: number;
}

interface Entry<T> {
  key: string;
  group: string;
  proven: boolean;
  value: T;
}

/** The table key: (address, port, cookie). */
export function halfOpenKey(address: string, port: number, cookie: Buffer): string {
  return `${address}|${port}|${cookie.toString('hex')}`;
}

export class HalfOpenTable<T> {
  readonly limits: HalfOpenLimits;
  // Maps iterate in insertion order: the first entry is the oldest.
  readonly #all = new Map<string, Entry<T>>();
  readonly #groups = new Map<string, Map<string, Entry<T>>>();
  readonly #byValue = new Map<T, Entry<T>>();

  constructor(limits: HalfOpenLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.#all.size;
  }

  count(group: string): number {
    return this.#groups.get(group)?.size ?? 0;
  }

  get(key: string): T | undefined {
    return this.#all.get(key)?.value;
  }

  has(value: T): boolean {
    return this.#byValue.has(value);
  }

  isProven(value: T): boolean {
    return this.#byValue.get(value)?.proven ?? false;
  }

  /**
   * The entries that must go before one more of `group` fits (oldest unproven
   * first). The caller tears them down and calls remove() for each (or lets
   * add() drop them).
   */
  victims(group: string): T[] {
    const out: Entry<T>[] = [];
    const g = this.#groups.get(group);
    if (g && g.size >= this.limits.perGroup) {
      const v = oldest(g.values(), out);
      if (v) out.push(v);
    }
    if (this.#all.size - out.length >= this.limits.total) {
      // The largest group pays: a flood posing as one peer does not evict the others.
      let largest: Map<string, Entry<T>> | undefined;
      for (const x of this.#groups.values()) if (!largest || x.size > largest.size) largest = x;
      const v = largest ? oldest(largest.values(), out) : undefined;
      if (v) out.push(v);
    }
    return out.map((e) => e.value);
  }

  add(key: string, group: string, value: T): void {
    for (const v of this.victims(group)) this.remove(v);
    this.remove(value);
    const old = this.#all.get(key);
    if (old) this.remove(old.value);
    const e: Entry<T> = { key, group, proven: false, value };
    this.#all.set(key, e);
    let g = this.#groups.get(group);
    if (!g) this.#groups.set(group, (g = new Map()));
    g.set(key, e);
    this.#byValue.set(value, e);
  }

  /** The initiator showed it receives our replies: this entry gives way last. */
  prove(value: T): void {
    const e = this.#byValue.get(value);
    if (e) e.proven = true;
  }

  /** Removes entries oldest first (insertion order) for as long as `expired` says so. */
  removeOldest(expired: (value: T) => boolean): number {
    let n = 0;
    for (const e of this.#all.values()) {
      if (!expired(e.value)) break;
      this.remove(e.value);
      n++;
    }
    return n;
  }

  clear(): void {
    this.#all.clear();
    this.#groups.clear();
    this.#byValue.clear();
  }

  remove(value: T): void {
    const e = this.#byValue.get(value);
    if (!e) return;
    this.#byValue.delete(value);
    this.#all.delete(e.key);
    const g = this.#groups.get(e.group);
    g?.delete(e.key);
    if (g?.size === 0) this.#groups.delete(e.group);
  }
}

/** Oldest unproven entry not in `skip`, else the oldest of all not in `skip`. */
function oldest<T>(entries: Iterable<Entry<T>>, skip: readonly Entry<T>[]): Entry<T> | undefined {
  let first: Entry<T> | undefined;
  for (const e of entries) {
    if (skip.includes(e)) continue;
    if (!e.proven) return e;
    first ??= e;
  }
  return first;
}
