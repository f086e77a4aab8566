/**
 * @noble/post-quantum's ML-KEM as its own bundle, dist/sitelink-mlkem.mjs
 * (scripts/bundle.mjs), like health/sysinfo.ts: ml-kem.ts imports it only when a
 * configured peer's proposals name ML-KEM (loadMlKem()). Bundled into sitelinkd,
 * its code, the SHA-3 tables and the per-parameter-set precomputation were parsed
 * and built at start, ~4 MB of the daemon's one-tunnel RSS (issue 10) that a
 * gateway without post-quantum proposals never uses.
 */
export { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
