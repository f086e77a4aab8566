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
//
// Each entry has a cost (1 unless given): the limits bound the sum of the
// costs, so a table of records of varying size is bounded in bytes.

export interface HalfOpenLimits {
  /** Cost per group (peer): entries, or bytes when entries are added with their size. */
  perGroup: number;
  /** Cost in all. */
  total: number;
}

interface Entry<T> {
  key: string;
  group: string;
  proven: boolean;
  cost: number;
  value: T;
}

interface Group<T> {
  entries: Map<string, Entry<T>>;
  cost: number;
}

/** The table key: (address, port, cookie). */
export function halfOpenKey(address: string, port: number, cookie: Buffer): string {
  return `${address}|${port}|${cookie.toString('hex')}`;
}

export class HalfOpenTable<T> {
  readonly limits: HalfOpenLimits;
  // Maps iterate in insertion order: the first entry is the oldest.
  readonly #all = new Map<string, Entry<T>>();
  readonly #groups = new Map<string, Group<T>>();
  readonly #byValue = new Map<T, Entry<T>>();
  #cost = 0;

  constructor(limits: HalfOpenLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.#all.size;
  }

  count(group: string): number {
    return this.#groups.get(group)?.entries.size ?? 0;
  }

  /** The sum of the entries' costs, in all or of one group. */
  cost(group?: string): number {
    return group === undefined ? this.#cost : (this.#groups.get(group)?.cost ?? 0);
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
   * The entries that must go before one more of `group` costing `cost` fits
   * (oldest unproven first). The caller tears them down and calls remove() for
   * each (or lets add() drop them).
   */
  victims(group: string, cost = 1): T[] {
    const out: Entry<T>[] = [];
    const freed = new Map<Group<T>, number>();
    const take = (g: Group<T>): boolean => {
      const v = oldest(g.entries.values(), out);
      if (!v) return false;
      out.push(v);
      freed.set(g, (freed.get(g) ?? 0) + v.cost);
      return true;
    };
    const left = (g: Group<T>): number => g.cost - (freed.get(g) ?? 0);
    const g = this.#groups.get(group);
    while (g && left(g) > 0 && left(g) + cost > this.limits.perGroup) {
      if (!take(g)) break;
    }
    let total = this.#cost - out.reduce((n, e) => n + e.cost, 0);
    while (total > 0 && total + cost > this.limits.total) {
      // The largest group pays: a flood posing as one peer does not evict the others.
      let largest: Group<T> | undefined;
      for (const x of this.#groups.values()) if (!largest || left(x) > left(largest)) largest = x;
      const before = out.length;
      if (!largest || !take(largest)) break;
      total -= out[before]!.cost;
    }
    return out.map((e) => e.value);
  }

  add(key: string, group: string, value: T, cost = 1): void {
    for (const v of this.victims(group, cost)) this.remove(v);
    this.remove(value);
    const old = this.#all.get(key);
    if (old) this.remove(old.value);
    const e: Entry<T> = { key, group, proven: false, cost, value };
    this.#all.set(key, e);
    let g = this.#groups.get(group);
    if (!g) this.#groups.set(group, (g = { entries: new Map(), cost: 0 }));
    g.entries.set(key, e);
    g.cost += cost;
    this.#cost += cost;
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
    this.#cost = 0;
  }

  remove(value: T): void {
    const e = this.#byValue.get(value);
    if (!e) return;
    this.#byValue.delete(value);
    this.#all.delete(e.key);
    this.#cost -= e.cost;
    const g = this.#groups.get(e.group);
    if (!g) return;
    g.entries.delete(e.key);
    g.cost -= e.cost;
    if (g.entries.size === 0) this.#groups.delete(e.group);
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
