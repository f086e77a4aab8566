// A Map that holds no table while it is empty. Per-SA maps such as an ISAKMP SA's
// quick modes are empty for most of an established SA's life, and an empty
// Map still keeps its hash table (~170 bytes in V8; issue 10, memory per tunnel):
// this one makes its Map at the first entry and drops it with the last.

const NONE: readonly never[] = [];

export class LazyMap<K, V> {
  #map: Map<K, V> | null = null;

  get size(): number {
    return this.#map?.size ?? 0;
  }

  get(key: K): V | undefined {
    return this.#map?.get(key);
  }

  has(key: K): boolean {
    return this.#map?.has(key) ?? false;
  }

  set(key: K, value: V): this {
    (this.#map ??= new Map()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    const map = this.#map;
    if (map === null || !map.delete(key)) return false;
    if (map.size === 0) this.#map = null;
    return true;
  }

  clear(): void {
    this.#map = null;
  }

  /** Values in insertion order, as Map.values(). */
  values(): IterableIterator<V> {
    return this.#map?.values() ?? NONE.values();
  }
}
