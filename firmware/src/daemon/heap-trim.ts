// Gives the memory that start-up freed back to the kernel (issue 10: RSS per gateway).
// Parsing the config, compiling the bundle and V8's optimizing compiler allocate and
// free through glibc malloc, which keeps freed pages in its arenas for reuse: on a
// one-tunnel gateway that is 4 MB of RSS nothing uses again (measured: 26.4 -> 22.2 MB
// anonymous after three minutes of one tunnel). The daemon's tick trims once start-up
// has settled and then every few minutes: malloc_trim walks only free chunks, well
// under a millisecond for a heap this size, and a page given back costs one fault if
// malloc wants it again.
import { loadNative, type NativeAddon } from '../dataplane/native.ts';

/** Seconds after the start before the first trim (the first negotiations are done). */
export const FIRST_TRIM_S = 30;
/** Seconds between trims after that. */
export const TRIM_EVERY_S = 300;
/** Seconds after the start at most before its memory is released (releaseStartMemory)
 * even while a start = start tunnel is still down (a peer that does not answer). */
export const START_SETTLE_LIMIT_S = 20;

/** Whether the tick number `tick` (seconds since the start) is one to trim at. */
export function trimDue(tick: number): boolean {
  return tick === FIRST_TRIM_S || (tick > FIRST_TRIM_S && (tick - FIRST_TRIM_S) % TRIM_EVERY_S === 0);
}

/**
 * A full V8 collection, when the launcher exposed one (--expose-gc in
 * usr/lib/sitelink/sitelinkd.node-flags); false without it. Once, when the start is
 * done: what parsing the config and the bundle's start left behind is garbage in
 * V8's old space, which its memory reducer would collect only after some seconds of
 * idling, while the first negotiations already run (bench:ike, one spoke: ~0.3 MiB).
 */
export function collectStartGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}

/**
 * Once, when the start is over (daemon.ts: every start = start tunnel up, or
 * START_SETTLE_LIMIT_S): V8's low-memory collection and a malloc trim through the
 * addon (addon.cc releaseMemory). Unlike the one full collection at ready, it
 * compacts V8's old space, shrinks the young generation and unmaps V8's pooled free
 * pages; bench:ike, one spoke: VmRSS 48.6-48.9 -> 46.6-46.7 MiB 1.5 s after the
 * tunnel. It costs several collections of event-loop time (~30 ms on this host,
 * ten times that on the emulated board), which is why it waits until the start's
 * negotiations are done instead of running at ready, when the first IKE_SA_INIT
 * is already out. An addon without it: the plain collection and trim.
 */
export function releaseStartMemory(): void {
  const addon = addonIfAny();
  if (addon?.releaseMemory) {
    addon.releaseMemory();
    return;
  }
  collectStartGarbage();
  trimHeap();
}

/** malloc_trim(0) through the engine addon; false when there is none (or no glibc). */
export function trimHeap(): boolean {
  const addon = addonIfAny();
  return addon?.trimHeap ? addon.trimHeap() : false;
}

/** The engine addon, or null where it cannot load (then there is nothing to trim). */
function addonIfAny(): NativeAddon | null {
  try {
    return loadNative();
  } catch {
    return null;
  }
}
