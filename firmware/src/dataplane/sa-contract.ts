/**
 * The one contract between the IKE daemon and the C ESP engine (native/): the
 * SA-install record every installer builds (IKEv1 quick mode and IKEv2 child
 * SAs through daemon/sa-spec.ts, sitelink-static's manual keys), and the
 * records the engine hands back: SA status, counters, worker notifications.
 *
 * Each is defined once, here. What goes in is validated once (validate.ts,
 * called by Dataplane.addSa); what comes back from the addon is parsed once,
 * here, at the boundary: a field missing, of the wrong type, unknown to this
 * file, or an algorithm the contract does not name is a DataplaneError naming
 * the field, never a silently substituted value. The addon exports its counter
 * names in order (counterFields) and its key lengths (espKeyLengths), so a unit
 * test (test/unit/dataplane-contract.test.ts) fails when C and TypeScript drift.
 *
 * Addresses are IP literals of either family (ipFamily): nothing here assumes IPv4.
 */
import { ipFamily } from '../base/ip-text.ts';
import { DataplaneError } from './error.ts';

/** ESP transforms the engine implements (names as strongSwan writes them; native/src/crypto/alg.c). */
export const ESP_ALGORITHMS = [
  'aes128gcm16',
  'aes256gcm16',
  'aes128-sha1',
  'aes256-sha1',
  'aes128-sha256',
  'aes256-sha256',
  '3des-sha1',
  'chacha20poly1305',
] as const;
export type EspAlgorithm = (typeof ESP_ALGORITHMS)[number];

export interface KeyLengths {
  enc: number;
  auth: number;
}

/**
 * Key lengths per transform. AEADs carry a 4-byte salt after the cipher key
 * (RFC 4106 §8.1, RFC 7634 §2); CBC suites use an HMAC key as long as the
 * hash output (RFC 2404 §3, RFC 4868 §2.1.1); 3DES keys are 24 bytes (RFC 2451).
 */
export const KEY_LENGTHS: Readonly<Record<EspAlgorithm, KeyLengths>> = {
  aes128gcm16: { enc: 20, auth: 0 },
  aes256gcm16: { enc: 36, auth: 0 },
  'aes128-sha1': { enc: 16, auth: 20 },
  'aes256-sha1': { enc: 32, auth: 20 },
  'aes128-sha256': { enc: 16, auth: 32 },
  'aes256-sha256': { enc: 32, auth: 32 },
  '3des-sha1': { enc: 24, auth: 20 },
  chacha20poly1305: { enc: 36, auth: 0 },
};

export function isAlgorithm(s: unknown): s is EspAlgorithm {
  return typeof s === 'string' && (ESP_ALGORITHMS as readonly string[]).includes(s);
}

export type CryptoBackend = 'auto' | 'afalg' | 'openssl';
export type Direction = 'in' | 'out';
/** RFC 3948 ESP-in-UDP, or raw ESP (IP protocol 50). */
export type Encap = 'udp' | 'none';

export interface Endpoint {
  /** IPv4 or IPv6 literal. */
  address: string;
  /** UDP port (0 for raw ESP). */
  port: number;
}

export interface TrafficSelector {
  /** CIDR, e.g. "198.18.1.0/24" or "2001:db8:1::/48"; "0.0.0.0/0" / "::/0" for any. */
  local: string;
  remote: string;
  /** IP protocol number, 0 = any. */
  protocol?: number;
  /** Port range on the remote side (inclusive), default any. */
  remotePorts?: [number, number];
  localPorts?: [number, number];
}

export interface SaLimits {
  softBytes?: bigint;
  hardBytes?: bigint;
  softPackets?: bigint;
  hardPackets?: bigint;
}

/** The SA-install record: one direction of an ESP SA, as every installer hands it to Dataplane.addSa. */
export interface SaSpec {
  spi: number; // 32-bit, host order
  direction: Direction;
  algorithm: EspAlgorithm;
  /** Cipher key; for AES-GCM and ChaCha20-Poly1305 followed by the 4-byte salt. */
  encKey: Buffer;
  /** Integrity key for the CBC suites; absent for AEADs. */
  authKey?: Buffer;
  local: Endpoint;
  remote: Endpoint;
  encap: Encap;
  esn?: boolean; // 64-bit extended sequence numbers (default false)
  replayWindow?: number; // inbound only, packets (default 1024; 0 disables)
  backend?: CryptoBackend; // default 'auto'
  limits?: SaLimits;
  /** Outbound only: which packets use this SA. The most specific selector wins. */
  selectors?: TrafficSelector[];
  /** Ties an inbound SA to its outbound twin, e.g. for NAT-mapping follow-up. */
  reqid?: number;
}

/** The fields of SaSpec an IKE exchange decides (the rest is policy: daemon/sa-spec.ts). */
export type SaKeyed = Pick<SaSpec, 'spi' | 'direction' | 'algorithm' | 'encKey' | 'authKey' | 'local' | 'remote' | 'encap' | 'esn'>;

/** crypto-backend = auto: the start-up probe (native/src/crypto/probe.c), measured once per
 * transform, with the figures of the SA's direction: each backend timed on the path the data
 * plane takes (seals through a worker's batch, AF_ALG over io_uring where the kernel allows;
 * opens one by one as the inbound path runs them), ns per packet for 64- and 1400-byte
 * payloads (0 = unavailable), and the syscalls the backend made per packet, counted. */
export interface BackendProbe {
  op: 'seal' | 'open';
  choice: 'afalg' | 'openssl';
  reason: string;
  afalgSmallNs: number;
  afalgMtuNs: number;
  /** AF_ALG packets shared io_uring syscall rounds (false: a sendmsg and a recvmsg each). */
  afalgBatched: boolean;
  afalgSyscallsPerPacket: number;
  opensslSmallNs: number;
  opensslMtuNs: number;
  opensslSyscallsPerPacket: number;
}

export interface SaCounters {
  packets: bigint;
  bytes: bigint;
  dropsReplay: bigint;
  dropsIcv: bigint;
  dropsMalformed: bigint;
  dropsPadding: bigint;
}

/** One installed SA as the engine reports it (saStatus, listSas, addSa's result). */
export interface SaStatus extends SaCounters {
  spi: number;
  direction: Direction;
  algorithm: EspAlgorithm;
  backend: 'afalg' | 'openssl';
  /** Kernel driver from /proc/crypto (e.g. "gcm-aes-ce") or "openssl". */
  driver: string;
  /** With crypto-backend = auto: the start-up measurement that chose `backend`. */
  probe?: BackendProbe;
  /** Highest sequence number sent (out) or seen (in). */
  seq: bigint;
  local: Endpoint;
  remote: Endpoint;
  encap: Encap;
  esn: boolean;
  /** Hard limit reached or sequence numbers exhausted: the SA carries no more traffic. */
  dead: boolean;
  /** The engine already wiped a dead SA's keys (it stays listed until deleted). */
  keysWiped: boolean;
  reqid: number;
}

/**
 * The engine's global counters, in the order the addon's counters() writes
 * them and exports them as `counterFields` (native/binding/addon.cc EachCounter).
 */
export const ENGINE_COUNTER_FIELDS = [
  'rxPackets', // ESP from the network
  'txPackets', // ESP to the network
  'rxBytes',
  'txBytes',
  'tunRxPackets', // read from TUN
  'tunTxPackets', // written to TUN
  'ikeRx',
  'ikeTx',
  'keepalivesRx',
  'keepalivesTx',
  'dropsReplay',
  'dropsIcv',
  'dropsBadSpi',
  'dropsMalformed',
  'dropsNoSa', // outbound packet with no matching selector
  'dropsPadding',
  'dropsDead', // SA past its hard limit
  'dropsTxError',
  // Data-path syscalls and batch sizes (bench-dataplane's per-packet cost): TUN reads/writes,
  // recvmmsg/sendmmsg calls (sendmsg fallbacks included), messages they moved, largest batch.
  'sysTunRead',
  'sysTunWrite',
  'sysRecv',
  'sysSend',
  'recvMsgs',
  'sendMsgs',
  'recvBatchMax',
  'sendBatchMax',
  // Packets sealed or opened through AF_ALG and the syscalls they took (sitelinkctl sas).
  'afalgRequests',
  'afalgSyscalls',
  // Notifications the JS thread did not drain in time (the data plane never waits for JS).
  'eventsDropped',
  'ikeDropped',
] as const;
export type EngineCounterField = (typeof ENGINE_COUNTER_FIELDS)[number];
export type EngineCounters = { [K in EngineCounterField]: bigint };

export type SaEvent =
  | { type: 'soft'; spi: number; direction: Direction; reason: 'bytes' | 'packets' }
  | { type: 'hard'; spi: number; direction: Direction; reason: 'bytes' | 'packets' }
  /** Outbound sequence number about to run out (RFC 4303 §3.3.3): rekey now. */
  | { type: 'seq-overflow'; spi: number; direction: 'out' }
  /** An authenticated inbound packet came from a new outer address/port (NAT mapping changed). */
  | { type: 'peer-moved'; spi: number; reqid: number; from: Endpoint };

/**
 * An outbound packet routed to the engine found no SA (it was dropped and
 * counted in dropsNoSa): the inner addresses, ports (0 when the protocol has
 * none) and protocol, for start = trap. The engine reports at most 8 a second
 * per worker (native/src/event.h SL_NOSA_EVENTS_PER_SEC).
 */
export interface NoSaEvent {
  src: Endpoint;
  dst: Endpoint;
  protocol: number;
}

/** A worker notification, parsed. */
export type EngineNote =
  | { kind: 'ike'; msg: Buffer; from: Endpoint }
  | { kind: 'sa-event'; event: SaEvent }
  | { kind: 'no-sa'; event: NoSaEvent };

// ---- The encoded form addSa/setBypass take (flat, every default filled in) ----

export interface NativeSelector {
  local: string;
  remote: string;
  protocol: number;
  localPorts: [number, number];
  remotePorts: [number, number];
}

export interface NativeSaSpec {
  spi: number;
  direction: Direction;
  algorithm: EspAlgorithm;
  encKey: Buffer;
  authKey?: Buffer;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  encap: Encap;
  esn: boolean;
  replayWindow: number;
  backend: CryptoBackend;
  softBytes: bigint;
  hardBytes: bigint;
  softPackets: bigint;
  hardPackets: bigint;
  selectors: NativeSelector[];
  reqid: number;
}

export function encodeSelector(s: TrafficSelector): NativeSelector {
  return {
    local: s.local,
    remote: s.remote,
    protocol: s.protocol ?? 0,
    localPorts: s.localPorts ?? [0, 65535],
    remotePorts: s.remotePorts ?? [0, 65535],
  };
}

/** A validated SaSpec (validate.ts) in the addon's flat form. The key buffers are shared, not copied. */
export function encodeSaSpec(spec: SaSpec): NativeSaSpec {
  const l = spec.limits ?? {};
  const n: NativeSaSpec = {
    spi: spec.spi,
    direction: spec.direction,
    algorithm: spec.algorithm,
    encKey: spec.encKey,
    localAddress: spec.local.address,
    localPort: spec.local.port,
    remoteAddress: spec.remote.address,
    remotePort: spec.remote.port,
    encap: spec.encap,
    esn: spec.esn ?? false,
    replayWindow: spec.replayWindow ?? 1024,
    backend: spec.backend ?? 'auto',
    softBytes: l.softBytes ?? 0n,
    hardBytes: l.hardBytes ?? 0n,
    softPackets: l.softPackets ?? 0n,
    hardPackets: l.hardPackets ?? 0n,
    selectors: (spec.selectors ?? []).map(encodeSelector),
    reqid: spec.reqid ?? 0,
  };
  if (spec.authKey !== undefined && spec.authKey.length > 0) n.authKey = spec.authKey;
  return n;
}

// ---- Parsing what the addon returns ----

type Rec = Record<string, unknown>;

function bad(what: string, field: string, why: string): never {
  throw new DataplaneError(`engine ${what}: ${field} ${why} (addon and sa-contract.ts disagree)`);
}

function record(v: unknown, what: string, field: string): Rec {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(what, field, 'is not an object');
  return v as Rec;
}

/** Every key present is one of `known`: a field the addon added and the contract lacks is drift too. */
function onlyKnown(o: Rec, known: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) bad(what, k, 'is not in the contract');
}

function u32(o: Rec, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) bad(what, k, 'is not a 32-bit unsigned integer');
  return v;
}

function nonNegative(o: Rec, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) bad(what, k, 'is not a non-negative number');
  return v;
}

function big(o: Rec, k: string, what: string): bigint {
  const v = o[k];
  if (typeof v !== 'bigint' || v < 0n) bad(what, k, 'is not a non-negative bigint');
  return v;
}

function bool(o: Rec, k: string, what: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') bad(what, k, 'is not a boolean');
  return v;
}

function str(o: Rec, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== 'string') bad(what, k, 'is not a string');
  return v;
}

function oneOf<T extends string>(o: Rec, k: string, allowed: readonly T[], what: string): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) bad(what, k, `is ${JSON.stringify(v)}, not one of ${allowed.join(', ')}`);
  return v as T;
}

export function parseEndpoint(v: unknown, what: string, field: string): Endpoint {
  const o = record(v, what, field);
  onlyKnown(o, ['address', 'port'], `${what} ${field}`);
  const address = str(o, 'address', `${what} ${field}`);
  if (ipFamily(address) === 0) bad(what, `${field}.address`, 'is not an IP address');
  const port = u32(o, 'port', `${what} ${field}`);
  if (port > 65535) bad(what, `${field}.port`, 'is not a port');
  return { address, port };
}

const DIRECTIONS: readonly Direction[] = ['in', 'out'];
const ENCAPS: readonly Encap[] = ['udp', 'none'];
const PROBE_FIELDS = [
  'op', 'choice', 'reason', 'afalgSmallNs', 'afalgMtuNs', 'afalgBatched', 'afalgSyscallsPerPacket', 'opensslSmallNs',
  'opensslMtuNs', 'opensslSyscallsPerPacket',
] as const satisfies readonly (keyof BackendProbe)[];
const SA_STATUS_FIELDS = [
  'spi', 'direction', 'algorithm', 'backend', 'driver', 'probe', 'seq', 'packets', 'bytes', 'dropsReplay', 'dropsIcv',
  'dropsMalformed', 'dropsPadding', 'local', 'remote', 'encap', 'esn', 'dead', 'keysWiped', 'reqid',
] as const satisfies readonly (keyof SaStatus)[];

function parseProbe(v: unknown): BackendProbe {
  const w = 'SA status probe';
  const o = record(v, 'SA status', 'probe');
  onlyKnown(o, PROBE_FIELDS, w);
  return {
    op: oneOf(o, 'op', ['seal', 'open'] as const, w),
    choice: oneOf(o, 'choice', ['afalg', 'openssl'] as const, w),
    reason: str(o, 'reason', w),
    afalgSmallNs: u32(o, 'afalgSmallNs', w),
    afalgMtuNs: u32(o, 'afalgMtuNs', w),
    afalgBatched: bool(o, 'afalgBatched', w),
    afalgSyscallsPerPacket: nonNegative(o, 'afalgSyscallsPerPacket', w),
    opensslSmallNs: u32(o, 'opensslSmallNs', w),
    opensslMtuNs: u32(o, 'opensslMtuNs', w),
    opensslSyscallsPerPacket: nonNegative(o, 'opensslSyscallsPerPacket', w),
  };
}

/** An SA status object from the addon. An algorithm outside ESP_ALGORITHMS is an error, not a guess. */
export function parseSaStatus(v: unknown): SaStatus {
  const w = 'SA status';
  const o = record(v, w, 'status');
  onlyKnown(o, SA_STATUS_FIELDS, w);
  return {
    spi: u32(o, 'spi', w),
    direction: oneOf(o, 'direction', DIRECTIONS, w),
    algorithm: oneOf(o, 'algorithm', ESP_ALGORITHMS, w),
    backend: oneOf(o, 'backend', ['afalg', 'openssl'] as const, w),
    driver: str(o, 'driver', w),
    ...(o['probe'] !== undefined ? { probe: parseProbe(o['probe']) } : {}),
    seq: big(o, 'seq', w),
    packets: big(o, 'packets', w),
    bytes: big(o, 'bytes', w),
    dropsReplay: big(o, 'dropsReplay', w),
    dropsIcv: big(o, 'dropsIcv', w),
    dropsMalformed: big(o, 'dropsMalformed', w),
    dropsPadding: big(o, 'dropsPadding', w),
    local: parseEndpoint(o['local'], w, 'local'),
    remote: parseEndpoint(o['remote'], w, 'remote'),
    encap: oneOf(o, 'encap', ENCAPS, w),
    esn: bool(o, 'esn', w),
    dead: bool(o, 'dead', w),
    keysWiped: bool(o, 'keysWiped', w),
    reqid: u32(o, 'reqid', w),
  };
}

/** The addon's counters(): exactly ENGINE_COUNTER_FIELDS, each a bigint. */
export function parseCounters(v: unknown): EngineCounters {
  const w = 'counters';
  const o = record(v, w, 'counters');
  onlyKnown(o, ENGINE_COUNTER_FIELDS, w);
  const out: Partial<Record<EngineCounterField, bigint>> = {};
  for (const k of ENGINE_COUNTER_FIELDS) out[k] = big(o, k, w);
  return out as EngineCounters;
}

const REASONS = ['bytes', 'packets'] as const;

function parseSaEvent(o: Rec): EngineNote {
  const w = 'event';
  const type = oneOf(o, 'type', ['soft', 'hard', 'seq-overflow', 'peer-moved', 'no-sa'] as const, w);
  switch (type) {
    case 'soft':
    case 'hard':
      onlyKnown(o, ['type', 'spi', 'direction', 'reason'], w);
      return {
        kind: 'sa-event',
        event: { type, spi: u32(o, 'spi', w), direction: oneOf(o, 'direction', DIRECTIONS, w), reason: oneOf(o, 'reason', REASONS, w) },
      };
    case 'seq-overflow':
      onlyKnown(o, ['type', 'spi', 'direction'], w);
      return { kind: 'sa-event', event: { type, spi: u32(o, 'spi', w), direction: oneOf(o, 'direction', ['out'] as const, w) } };
    case 'peer-moved':
      onlyKnown(o, ['type', 'spi', 'reqid', 'from'], w);
      return { kind: 'sa-event', event: { type, spi: u32(o, 'spi', w), reqid: u32(o, 'reqid', w), from: parseEndpoint(o['from'], w, 'from') } };
    case 'no-sa': {
      // The addon sets spi on every event object; a no-SA event has none to give (0).
      onlyKnown(o, ['type', 'spi', 'src', 'dst', 'protocol'], w);
      const protocol = u32(o, 'protocol', w);
      if (protocol > 255) bad(w, 'protocol', 'is not an IP protocol number');
      return { kind: 'no-sa', event: { src: parseEndpoint(o['src'], w, 'src'), dst: parseEndpoint(o['dst'], w, 'dst'), protocol } };
    }
  }
}

/** A worker notification: ('ike', datagram, from) or ('sa-event', event object). */
export function parseEngineNote(kind: unknown, a: unknown, b: unknown): EngineNote {
  if (kind === 'ike') {
    if (!Buffer.isBuffer(a)) bad('notification', 'ike message', 'is not a Buffer');
    return { kind: 'ike', msg: a, from: parseEndpoint(b, 'notification', 'from') };
  }
  if (kind === 'sa-event') return parseSaEvent(record(a, 'event', 'event'));
  return bad('notification', 'kind', `${JSON.stringify(kind)} is not 'ike' or 'sa-event'`);
}
