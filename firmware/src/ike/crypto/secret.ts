// Handling rules for secret bytes: compare in constant time, wipe when done.
//
// Keys in this daemon live in plain Buffers (node:crypto takes them that
// way). The best we can do is overwrite them the moment an SA dies so a later
// heap dump or a reused pool slab does not carry them. Callers must not keep
// other references to a wiped buffer.

import { timingSafeEqual } from 'node:crypto';

/** Overwrite every byte with zero. Accepts undefined so callers can wipe optional fields. */
export function wipe(...buffers: (Buffer | Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

/**
 * Constant-time equality for ICVs, HASH payloads and NAT-D hashes.
 * A length mismatch is not secret (lengths come from the negotiated
 * algorithm) so it returns false early; equal lengths are compared without
 * data-dependent branches by timingSafeEqual.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
