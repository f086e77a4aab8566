// The indexes an IKE node keeps over its SAs so that nothing per datagram or
// per clock tick walks every SA: by peer (a hub's SA lookups for one spoke
// touch that spoke's one or two SAs, not the other 999) and by next timer
// deadline (a tick visits the SAs whose time has come).
//
// The exchange code mutates SAs in place (state, retransmit timers, children,
// even the peer of a `remote = %any` SA once its identity is known), so the
// node marks every SA it hands to the exchange code (`touch`) and the index
// recomputes, at the end of the call (`flush`), the deadlines of all SAs of
// each touched SA's peer: SAs depend on their siblings (a newer SA stops the
// rekey of an older one, children move between them), never on another
// peer's. `remove` drops every trace of an SA.
//
// Only SAs whose deadline does depend on their siblings (`dependsOnSiblings`;
// for IKEv1 the established ones) are recomputed along with a touched one:
// recomputing every SA of the peer made each spoofed MM1 posing as a peer
// cost O(n²) in that peer's half-open exchanges (256 of them: ~2 ms per MM1,
// so the daemon could read only a few hundred MM1/s and the kernel dropped the
// rest of a flood, the real peer's messages with it; issue 10).

import { DeadlineHeap } from './deadline-heap.ts';

export interface IndexedSa {
  peer: { name: string };
}

/** When the SA next needs the timers, given all SAs of its peer (itself included); Infinity: never. */
export type DeadlineOf<S> = (sa: S, peerSas: readonly S[]) => number;

/** Whether the SA's deadline may change when one of its siblings changes (default: always). */
export type DependsOnSiblings<S> = (sa: S) => boolean;

export class SaIndex<S extends IndexedSa> {
  readonly #deadlineOf: DeadlineOf<S>;
  readonly #dependsOnSiblings: DependsOnSiblings<S>;
  readonly #heap = new DeadlineHeap<S>();
  /** Per peer, its SAs in insertion order: an array, not a Set (a peer has one or two
   * SAs, and a one-entry Set's hash table is ~150 bytes more; issue 10, memory per
   * tunnel). Removal scans it: at most the half-open bound of one peer. */
  readonly #byPeer = new Map<string, S[]>();
  /** Per SA: the peer it is filed under and its insertion number (due SAs run in that order). */
  readonly #entries = new Map<S, { peer: string; seq: number }>();
  readonly #dirty = new Set<S>();
  #seq = 0;

  constructor(deadlineOf: DeadlineOf<S>, dependsOnSiblings: DependsOnSiblings<S> = () => true) {
    this.#deadlineOf = deadlineOf;
    this.#dependsOnSiblings = dependsOnSiblings;
  }

  /** SAs indexed. */
  get size(): number {
    return this.#entries.size;
  }

  /** SAs with a pending deadline (for tests: nothing may outlive its SA). */
  get scheduled(): number {
    return this.#heap.size;
  }

  /** Peers with an entry in the by-peer index (for tests: no empty buckets kept). */
  get peers(): number {
    return this.#byPeer.size;
  }

  has(sa: S): boolean {
    return this.#entries.has(sa);
  }

  /** The deadline the index holds for `sa` (after flush), undefined when none. */
  deadlineOf(sa: S): number | undefined {
    return this.#heap.deadlineOf(sa);
  }

  add(sa: S): void {
    if (this.#entries.has(sa)) return;
    this.#entries.set(sa, { peer: sa.peer.name, seq: this.#seq++ });
    this.#file(sa, sa.peer.name);
    this.#dirty.add(sa);
  }

  remove(sa: S): void {
    const e = this.#entries.get(sa);
    if (!e) return;
    this.#entries.delete(sa);
    this.#unfile(sa, e.peer);
    this.#heap.delete(sa);
    // Its siblings may depend on it (e.g. a newer SA that stopped a rekey).
    const sibling = this.#byPeer.get(e.peer)?.[0];
    if (sibling !== undefined) this.#dirty.add(sibling);
    this.#dirty.delete(sa);
  }

  /** The SA may have changed: recompute its peer's deadlines at the next flush. */
  touch(sa: S): void {
    if (this.#entries.has(sa)) this.#dirty.add(sa);
  }

  /** The SAs of one peer, oldest first (an SA whose peer changed is filed under the new
   * one at the next flush or refile). */
  ofPeer(peer: string): S[] {
    const list = this.#byPeer.get(peer);
    return list ? [...list] : [];
  }

  /** Recompute the deadlines of every touched SA, and of its siblings that depend on it. */
  flush(): void {
    if (this.#dirty.size === 0) return;
    const peers = new Set<string>();
    for (const sa of this.#dirty) {
      peers.add(sa.peer.name);
      const e = this.#entries.get(sa);
      if (e) peers.add(e.peer);
    }
    for (const sa of this.#dirty) this.refile(sa);
    const dirty = new Set(this.#dirty);
    this.#dirty.clear();
    for (const p of peers) {
      const list = this.#byPeer.get(p);
      if (!list) continue;
      const mine = [...list];
      for (const sa of mine) {
        if (!dirty.has(sa) && !this.#dependsOnSiblings(sa)) continue;
        const at = this.#deadlineOf(sa, mine);
        if (at === Infinity) this.#heap.delete(sa);
        else this.#heap.set(sa, at);
      }
    }
  }

  /** Flush, then take every SA whose deadline is at or before `now`, in insertion order.
   * They count as touched: the next flush schedules them again. */
  takeDue(now: number): S[] {
    this.flush();
    const due = this.#heap.takeDue(now);
    for (const sa of due) this.#dirty.add(sa);
    return due.sort((x, y) => this.#entries.get(x)!.seq - this.#entries.get(y)!.seq);
  }

  /** File the SA under its current peer now (a `remote = %any` SA learnt who it is). */
  refile(sa: S): void {
    const e = this.#entries.get(sa);
    if (!e || e.peer === sa.peer.name) return;
    this.#unfile(sa, e.peer);
    // The SAs left behind are rescheduled too (one of them marks the old peer).
    const sibling = this.#byPeer.get(e.peer)?.[0];
    if (sibling !== undefined) this.#dirty.add(sibling);
    e.peer = sa.peer.name;
    this.#file(sa, e.peer);
    this.#dirty.add(sa);
  }

  #file(sa: S, peer: string): void {
    // Never filed twice: add() skips a known SA, refile() unfiles it first.
    const list = this.#byPeer.get(peer);
    if (!list) this.#byPeer.set(peer, [sa]);
    else list.push(sa);
  }

  #unfile(sa: S, peer: string): void {
    const list = this.#byPeer.get(peer);
    if (!list) return;
    const at = list.indexOf(sa);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byPeer.delete(peer);
  }
}
