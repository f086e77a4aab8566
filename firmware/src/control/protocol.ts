/**
 * Control socket protocol: line-delimited JSON over a Unix stream socket.
 *
 *   request  : {"id":1,"command":"status","args":{}}\n
 *   response : {"id":1,"ok":true,"result":{...}}\n
 *            | {"id":1,"ok":false,"error":"no such peer \"x\""}\n
 *
 * One request per line; replies carry the request id and may come in any order.
 * bigint values travel as decimal strings. Everything a handler returns passes the
 * redaction layer (log/redact.ts) before it is written.
 */
import type { EspAlgorithm } from '../dataplane/types.ts';
import type { BackendProbe } from '../dataplane/sa-contract.ts';
import type { ExchangeCounters } from '../ike/exchange/context.ts';
import type { V2Counters } from '../ike/v2/exchange/context.ts';
import type { FailureRecord } from '../log/failure-record.ts';
import type { LogEntry } from '../log/negotiation-log.ts';
import type { HealthReport } from '../health/types.ts';

export const DEFAULT_SOCKET = '/run/sitelink/control.sock';
/** Longest accepted request line; a client sending more is cut off. */
export const MAX_LINE = 64 * 1024;

export const COMMANDS = [
  'status',
  'sas',
  'counters',
  'initiate',
  'terminate',
  'rekey',
  'reload',
  'check',
  'log',
  'health',
  'explain',
  'filters',
  'confirm',
  'history',
  'rollback',
] as const;
export type Command = (typeof COMMANDS)[number];

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Request {
  id: number;
  command: string;
  args: { [k: string]: Json };
}

/** Decodes one request line; throws Error with a message for the client when it is not a request. */
export function parseRequest(line: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error('request is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('request must be a JSON object');
  const o = v as { [k: string]: unknown };
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id)) throw new Error('request.id must be an integer');
  if (typeof o.command !== 'string') throw new Error('request.command must be a string');
  const args = o.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error('request.args must be an object');
  return { id: o.id, command: o.command, args: args as { [k: string]: Json } };
}

export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

// ---------------------------------------------------------------- results per command

export interface PeerSummary {
  name: string;
  /** Configured IKE version (`version` in the peer section). */
  ikeVersion?: 1 | 2;
  remote: string;
  state: 'down' | 'connecting' | 'up' | 'clear-fallback';
  mainModeSas: number;
  quickModeSas: number;
  /** One line, when the last attempt failed (details: explain). */
  lastError?: string;
}

/** status */
export interface StatusResult {
  version: string;
  pid: number;
  uptimeSeconds: number;
  configFile: string;
  /** ISO time of the last successful (re)load. */
  configLoaded: string;
  peers: PeerSummary[];
  /** Present while a reload --confirm waits for `sitelinkctl confirm`. */
  confirmPending?: ConfirmPending;
  /** The daemon process itself, for drift checks (npm run soak). */
  process?: ProcessInfo;
}

export interface ProcessInfo {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of Buffers and the native addon's JS-visible allocations. */
  externalBytes: number;
  /** Active timers (setTimeout/setInterval) and other libuv handles (sockets, child processes). */
  timers: number;
  handles: number;
}

/** A change applied with --confirm that reverts by itself at `deadline`. */
export interface ConfirmPending {
  /** ISO time the previous config comes back unless confirmed. */
  deadline: string;
  secondsLeft: number;
  /** History sequence number of the config that comes back. */
  revertTo: number;
}

export interface MainModeSaInfo {
  peer: string;
  /** IKE version of the SA (1: main mode, 2: RFC 7296 IKE SA). */
  version?: 1 | 2;
  state: 'negotiating' | 'established' | 'expiring';
  role: 'initiator' | 'responder';
  local: string;          // "addr:port"
  remote: string;
  localId: string;
  remoteId: string;
  /** Initiator/responder cookies (IKEv1) or SPIs (IKEv2), hex. Not secret. */
  cookies: string;
  proposal: string;       // e.g. "aes256-sha256-modp2048"
  /** Negotiated authentication method; '' while main mode has not chosen one yet. */
  auth: 'psk' | 'rsa-sig' | 'ecdsa-sig' | '';
  lifetimeSeconds: number;
  remainingSeconds: number;
  /** NAT-D results (RFC 3947 §3.2): is this side / the peer behind a NAT. */
  nat: { local: boolean; remote: boolean };
  /** Floated to UDP 4500. */
  natt: boolean;
  quickModes: number;
}

export interface QuickModeSaInfo {
  peer: string;
  rule: string;
  algorithm: EspAlgorithm;
  pfs: string | null;     // "modp2048" or null
  /** 64-bit extended sequence numbers negotiated (RFC 4303 §2.2.1); always false for IKEv1. */
  esn: boolean;
  localTs: string[];
  remoteTs: string[];
  spiIn: number;
  spiOut: number;
  lifetimeSeconds: number;
  remainingSeconds: number;
  lifetimeKilobytes: number;
  bytesIn: string;        // decimal (bigint on the daemon side)
  bytesOut: string;
  packetsIn: string;
  packetsOut: string;
  /** Inbound packets of this SA dropped by reason (decimal). */
  dropsIn: { replay: string; icv: string; malformed: string; padding: string };
  encap: 'udp' | 'none';
  backend: 'afalg' | 'openssl' | 'unknown'; // the outbound SA's; unknown: the engine has no status for the SA
  driver: string;
  /** The inbound SA's backend (it may differ: auto chooses per SA from its direction's figures). */
  backendIn?: 'afalg' | 'openssl' | 'unknown';
  /** crypto-backend = auto: the start-up probe that chose `backend` (the outbound SA's seal
   * figures; ns per packet at 64 and 1400 bytes, 0 = backend unavailable; syscalls per
   * packet; why). Absent when the backend is configured. */
  probe?: BackendProbe;
  /** The same for the inbound SA (open figures). */
  probeIn?: BackendProbe;
}

/** sas */
export interface SasResult {
  mainMode: MainModeSaInfo[];
  quickMode: QuickModeSaInfo[];
  /** The live data plane's AF_ALG cost since start, summed over the workers (decimal):
   * packets sealed or opened through AF_ALG and the syscalls they took. */
  afalg?: { packets: string; syscalls: string };
}

/** counters: what the gateway dropped and why, since it started. Engine counts are
 * decimal strings (64-bit). */
export interface CountersResult {
  esp: {
    packets: { fromNetwork: string; toNetwork: string; fromTun: string; toTun: string };
    ike: { received: string; sent: string; dropped: string };
    keepalives: { received: string; sent: string };
    /** Packets dropped by the ESP engine, by reason. */
    drops: {
      replay: string;
      icv: string;
      badSpi: string;
      malformed: string;
      padding: string;
      noSa: string;
      deadSa: string;
      txError: string;
    };
    eventsDropped: string;
  };
  /** IKE datagrams and negotiations, both versions folded (ike/ike-nodes.ts). */
  ike: ExchangeCounters;
  /** IKEv2 alone, as its nodes count them; absent from older daemons. */
  ikev2?: V2Counters;
  /** The negotiation log's own bounds at work (log/negotiation-log.ts LogStats). */
  log?: { suppressed: number; bytesWritten: number; rotations: number; writeErrors: number; syslogDropped: number };
}

export interface FilterRow {
  id: string;
  rule: string;
  action: 'permit' | 'block' | 'negotiate';
  peer: string | null;
  source: string;
  destination: string;
  protocol: string;
  sourcePorts: string;
  destinationPorts: string;
  direction: 'forward' | 'mirror';
  weight: number;
}

/** filters */
export interface FiltersResult {
  filters: FilterRow[];
}

/** initiate / terminate / rekey / reload */
export interface ActionResult {
  message: string;
}

/** reload: what changed (config/diff.ts summary) */
export interface ReloadResult extends ActionResult {
  ok: boolean;
  errors: string[];
  peers?: { unchanged: string[]; changed: string[]; added: string[]; removed: string[] };
  tunnels?: { unchanged: string[]; changed: string[]; added: string[]; removed: string[] };
  /** reload --confirm / rollback --confirm: when it reverts unless confirmed. */
  confirm?: ConfirmPending;
}

/** history: the configs kept in the config store, newest (running) first. */
export interface HistoryResult {
  entries: { index: number; seq: number; saved: string; sha256: string; source: string; pending: boolean }[];
  confirmPending: ConfirmPending | null;
}

/** check (daemon side: validates the file it would reload) */
export interface CheckResult {
  ok: boolean;
  file: string;
  errors: string[];
  warnings: string[];
}

/** log */
export interface LogResult {
  entries: LogEntry[];
}

/** explain: null when no negotiation with the peer has failed */
export interface ExplainResult {
  record: FailureRecord | null;
}

export type { HealthReport };

export interface ResultOf {
  status: StatusResult;
  sas: SasResult;
  counters: CountersResult;
  initiate: ActionResult;
  terminate: ActionResult;
  rekey: ActionResult;
  reload: ReloadResult;
  check: CheckResult;
  log: LogResult;
  health: HealthReport;
  explain: ExplainResult;
  filters: FiltersResult;
  confirm: ActionResult;
  history: HistoryResult;
  rollback: ReloadResult;
}
