// A min-heap of items keyed by their next deadline (milliseconds), with
// update and removal by item. The IKE nodes keep one entry per SA: a clock
// tick visits only the SAs whose deadline has come instead of every SA (a hub
// with 1,000 spokes did 1,000 SA walks per second, most of them finding
// nothing to do). O(log n) set/delete, O(k log n) for k due items.
//
// An item is in the heap at most once; `set` moves it, `delete` forgets it
// (SA death: nothing is left behind, `size` says so).

export class DeadlineHeap<T> {
  readonly #items: T[] = [];
  readonly #at: number[] = [];
  readonly #pos = new Map<T, number>();

  get size(): number {
    return this.#items.length;
  }

  has(item: T): boolean {
    return this.#pos.has(item);
  }

  /** The item's deadline, undefined when it is not in the heap. */
  deadlineOf(item: T): number | undefined {
    const i = this.#pos.get(item);
    return i === undefined ? undefined : this.#at[i];
  }

  /** The earliest deadline, Infinity when empty. */
  peek(): number {
    return this.#items.length === 0 ? Infinity : this.#at[0]!;
  }

  /** Insert the item or move it to a new deadline. */
  set(item: T, at: number): void {
    const i = this.#pos.get(item);
    if (i === undefined) {
      this.#items.push(item);
      this.#at.push(at);
      this.#pos.set(item, this.#items.length - 1);
      this.#up(this.#items.length - 1);
      return;
    }
    const old = this.#at[i]!;
    this.#at[i] = at;
    if (at < old) this.#up(i);
    else if (at > old) this.#down(i);
  }

  delete(item: T): boolean {
    const i = this.#pos.get(item);
    if (i === undefined) return false;
    this.#pos.delete(item);
    const lastItem = this.#items.pop()!;
    const lastAt = this.#at.pop()!;
    if (i < this.#items.length) {
      this.#items[i] = lastItem;
      this.#at[i] = lastAt;
      this.#pos.set(lastItem, i);
      this.#up(i);
      this.#down(this.#pos.get(lastItem)!);
    }
    return true;
  }

  /** Remove and return every item whose deadline is at or before `now`, earliest first. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    while (this.#items.length > 0 && this.#at[0]! <= now) {
      const item = this.#items[0]!;
      this.delete(item);
      due.push(item);
    }
    return due;
  }

  #swap(i: number, j: number): void {
    const a = this.#items[i]!;
    const b = this.#items[j]!;
    this.#items[i] = b;
    this.#items[j] = a;
    const t = this.#at[i]!;
    this.#at[i] = this.#at[j]!;
    this.#at[j] = t;
    this.#pos.set(b, i);
    this.#pos.set(a, j);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#at[parent]! <= this.#at[i]!) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#at[l]! < this.#at[m]!) m = l;
      if (r < n && this.#at[r]! < this.#at[m]!) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
