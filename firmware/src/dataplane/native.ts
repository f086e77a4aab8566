/**
 * Finding and loading the ESP engine addon (native/, built by cmake-js) at
 * run time. It is never bundled: the path is resolved when the engine opens.
 *
 * Order: $SITELINK_NATIVE, then native/build/Release/sitelink_native.node in
 * the nearest ancestor directory of the running file (works from
 * firmware/src/dataplane/ and from dist/), then the board's
 * /usr/lib/sitelink/sitelink_native.node.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSaSpec, NativeSelector } from './sa-contract.ts';

export type { NativeSaSpec, NativeSelector } from './sa-contract.ts';

export interface NativeEndpoint {
  address: string;
  port: number;
}

export interface NativeEngineOptions {
  tun: string;
  listenAddress: string;
  listenPort: number;
  rawEsp: boolean;
  workers: number;
  mtu: number;
  socketBuffer: number;
}

/** Worker notifications: ('ike', msg, from) or ('sa-event', event); parseEngineNote reads them. */
export type NativeCallback = (kind: unknown, a: unknown, b?: unknown) => void;

/**
 * The addon's raw interface. What it returns is `unknown` on purpose: the SA
 * status, counters and notifications are parsed once, in sa-contract.ts, where
 * their one schema lives; what it takes is sa-contract.ts's encoded SA spec.
 */
export interface NativeEngine {
  /** The new SA's status object (parseSaStatus). */
  addSa(spec: NativeSaSpec): unknown;
  updateRemote(spi: number, dir: 'in' | 'out', remote: NativeEndpoint): boolean;
  deleteSa(spi: number, dir: 'in' | 'out'): boolean;
  /** A status object (parseSaStatus) or null. */
  saStatus(spi: number, dir: 'in' | 'out'): unknown;
  /** An array of status objects. */
  listSas(): unknown;
  /** parseCounters reads it. */
  counters(): unknown;
  sendIke(msg: Buffer, to: NativeEndpoint): void;
  setKeepalive(to: NativeEndpoint, seconds: number): void;
  /** Selectors of permit/block filters the engine must not encrypt (native/src/snap.h). */
  setBypass(selectors: NativeSelector[]): void;
  workers(): number;
  close(): void;
}

export interface NativeAddon {
  Engine: new (opts: NativeEngineOptions, cb: NativeCallback) => NativeEngine;
  afalgAvailable(): boolean;
  abiVersion: number;
  /** The names counters() writes, in its order (the C side of ENGINE_COUNTER_FIELDS). */
  counterFields: readonly string[];
  /** The engine's key lengths for an ESP transform name (salt included for AEADs), or null if it has none. */
  espKeyLengths(name: string): { enc: number; auth: number } | null;
  /** malloc_trim(0): freed malloc memory back to the kernel (absent from older addons). */
  trimHeap?(): boolean;
  /** V8's low-memory collection, then malloc_trim(0) (absent from older addons). */
  releaseMemory?(): boolean;
  /** ECDSA over a given digest, r | s of 2*size bytes (native/binding/ecdsa.cc; absent from older addons). */
  ecdsaSignDigest?(pkcs8: Buffer, digest: Buffer, size: number): Buffer;
  ecdsaVerifyDigest?(spki: Buffer, digest: Buffer, rs: Buffer): boolean;
}

const ADDON_REL = path.join('native', 'build', 'Release', 'sitelink_native.node');
const BOARD_PATH = '/usr/lib/sitelink/sitelink_native.node';

/** Candidate paths in the order they are tried (exported for tests and error messages). */
export function addonCandidates(fromFile: string = fileURLToPath(import.meta.url)): string[] {
  const out: string[] = [];
  const env = process.env['SITELINK_NATIVE'];
  if (env) out.push(env);
  let dir = path.dirname(fromFile);
  for (let i = 0; i < 6; i++) {
    out.push(path.join(dir, ADDON_REL));
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  out.push(BOARD_PATH);
  return out;
}

let cached: NativeAddon | undefined;

/** The build of the addon that links its own libcrypto, next to `file` (native/CMakeLists.txt). */
export function libcryptoVariant(file: string): string {
  return file.replace(/\.node$/, '_libcrypto.node');
}

/**
 * Loads `file`, which takes its OpenSSL symbols from the process (bound at load:
 * -z now). A Node that does not export OpenSSL 3's symbols refuses it at dlopen
 * ("undefined symbol"), never mid-run: then the build linking its own libcrypto
 * (more memory, same engine) is loaded instead, with a warning saying why.
 */
export function requireAddon(file: string, req: (id: string) => unknown): NativeAddon {
  try {
    return req(file) as NativeAddon;
  } catch (e) {
    const fallback = libcryptoVariant(file);
    if (!/undefined symbol/.test((e as Error).message) || fallback === file || !existsSync(fallback)) throw e;
    process.emitWarning(`${file}: ${(e as Error).message}; loading ${fallback} (its own libcrypto) instead`);
    return req(fallback) as NativeAddon;
  }
}

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  // With $SITELINK_NATIVE set, only that file counts: a silent fallback would hide a wrong path.
  const env = process.env['SITELINK_NATIVE'];
  const found = env ? env : candidates.find((p) => existsSync(p));
  if (!found || !existsSync(found)) {
    throw new Error(`sitelink ESP engine addon not found; tried: ${candidates.join(', ')} (npm run build:native)`);
  }
  const mod = requireAddon(found, createRequire(import.meta.url));
  if (typeof mod.Engine !== 'function' || mod.abiVersion !== 1 || !Array.isArray(mod.counterFields)) {
    throw new Error(`${found} is not a compatible sitelink engine addon`);
  }
  cached = mod;
  return mod;
}
