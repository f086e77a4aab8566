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

export interface NativeEndpoint {
  address: string;
  port: number;
}

/** crypto-backend = auto: ns per seal of 64- and 1400-byte payloads per backend (0 =
 * unavailable), measured once per transform at start-up (native/src/crypto/probe.c). */
export interface BackendProbe {
  afalgSmallNs: number;
  afalgMtuNs: number;
  opensslSmallNs: number;
  opensslMtuNs: number;
}

/** The raw object the addon's saStatus()/listSas() return. */
export interface NativeSaStatus {
  spi: number;
  direction: 'in' | 'out';
  algorithm: string;
  backend: string;
  driver: string;
  probe?: BackendProbe;
  seq: bigint;
  packets: bigint;
  bytes: bigint;
  dropsReplay: bigint;
  dropsIcv: bigint;
  dropsMalformed: bigint;
  dropsPadding: bigint;
  local: NativeEndpoint;
  remote: NativeEndpoint;
  encap: 'udp' | 'none';
  esn: boolean;
  dead: boolean;
  /** Dead and its crypto contexts already wiped (absent from older addons). */
  keysWiped?: boolean;
  reqid: number;
}

export interface NativeSelector {
  local: string;
  remote: string;
  protocol: number;
  localPorts: [number, number];
  remotePorts: [number, number];
}

/** What addSa() takes: the SaSpec flattened for the C++ side. */
export interface NativeSaSpec {
  spi: number;
  direction: 'in' | 'out';
  algorithm: string;
  encKey: Buffer;
  authKey?: Buffer;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  encap: 'udp' | 'none';
  esn: boolean;
  replayWindow: number;
  backend: string;
  softBytes: bigint;
  hardBytes: bigint;
  softPackets: bigint;
  hardPackets: bigint;
  selectors: NativeSelector[];
  reqid: number;
}

export interface NativeCounters {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  tunRxPackets: bigint;
  tunTxPackets: bigint;
  ikeRx: bigint;
  ikeTx: bigint;
  keepalivesRx: bigint;
  keepalivesTx: bigint;
  dropsReplay: bigint;
  dropsIcv: bigint;
  dropsBadSpi: bigint;
  dropsMalformed: bigint;
  dropsNoSa: bigint;
  dropsPadding: bigint;
  dropsDead: bigint;
  dropsTxError: bigint;
  /** Absent from addons built before these counters existed. */
  eventsDropped?: bigint;
  ikeDropped?: bigint;
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

/** Worker notifications: ('ike', msg, from) or ('sa-event', event). */
export type NativeCallback = (kind: string, a: unknown, b?: unknown) => void;

export interface NativeEngine {
  addSa(spec: NativeSaSpec): NativeSaStatus;
  updateRemote(spi: number, dir: 'in' | 'out', remote: NativeEndpoint): boolean;
  deleteSa(spi: number, dir: 'in' | 'out'): boolean;
  saStatus(spi: number, dir: 'in' | 'out'): NativeSaStatus | null;
  listSas(): NativeSaStatus[];
  counters(): NativeCounters;
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

export function loadNative(): NativeAddon {
  if (cached) return cached;
  const candidates = addonCandidates();
  // With $SITELINK_NATIVE set, only that file counts: a silent fallback would hide a wrong path.
  const env = process.env['SITELINK_NATIVE'];
  const found = env ? env : candidates.find((p) => existsSync(p));
  if (!found || !existsSync(found)) {
    throw new Error(`sitelink ESP engine addon not found; tried: ${candidates.join(', ')} (npm run build:native)`);
  }
  const require = createRequire(import.meta.url);
  const mod = require(found) as NativeAddon;
  if (typeof mod.Engine !== 'function' || mod.abiVersion !== 1) {
    throw new Error(`${found} is not a compatible sitelink engine addon`);
  }
  cached = mod;
  return mod;
}
