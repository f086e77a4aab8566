// A refused rekey (RFC 7296 §2.8) is tried again a few times, after a
// randomised, growing delay (the spirit of §2.25's "retry after a random
// delay"), while the SA still has time before its hard lifetime. Past the
// bound the SA is left to expire; no tight loop against a peer that keeps
// refusing. TEMPORARY_FAILURE keeps its own short retry (child-exchange.ts,
// ike-rekey.ts). The per-SA field is `rekeyRetries`; the deadline index
// (deadline.ts, ike/common/deadline-heap.ts) wakes the SA at the new time.

import type { V2Context } from './context.ts';

/** Retries after a refusal, per SA. */
export const MAX_REKEY_RETRIES = 3;
/** First retry after 5 s (+ up to 100 % random), doubling each time. */
export const REKEY_RETRY_BASE_MS = 5_000;

/**
 * When to try the rekey again after refusal number `tries` (0 = the first
 * refusal), or null: the bound is reached, or the retry would not come before
 * `expiresAt` (the hard lifetime ends the SA then).
 */
export function rekeyRetryAt(ctx: V2Context, tries: number, expiresAt: number): number | null {
  if (tries >= MAX_REKEY_RETRIES) return null;
  const spread = 1 + ctx.env.random(1)[0]! / 255;
  const at = ctx.env.now() + REKEY_RETRY_BASE_MS * 2 ** tries * spread;
  return at < expiresAt ? at : null;
}
