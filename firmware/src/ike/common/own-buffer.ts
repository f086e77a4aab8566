// Small Buffers an SA keeps for its whole life (IVs, the last datagram for
// duplicate detection) must not be slices of Node's shared allocation pool:
// Buffer.from(buffer), Buffer.concat() and allocUnsafe() carve anything under
// 4 KB out of 8 KB slabs, and one live 16-byte IV keeps its whole slab
// resident. Heap snapshots of a hub with 1,000 tunnels showed hundreds of
// slabs pinned that way (issue 10, memory per tunnel).

/** A copy of `b` with its own backing store. */
export function ownCopy(b: Uint8Array): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  c.set(b);
  return c;
}
