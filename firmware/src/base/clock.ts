// The daemon's monotonic clock: milliseconds since the process started, as
// performance.now() counts them. process.uptime() reads the same libuv clock without
// loading perf_hooks, whose ten modules stay in the heap for the process's life
// (issue 10: with fs/promises, about 0.3 MiB of a one-tunnel gateway's RSS).

/** Milliseconds since the process started (monotonic, sub-millisecond resolution). */
export function monotonicMs(): number {
  return process.uptime() * 1000;
}
