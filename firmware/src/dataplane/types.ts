/**
 * The contract between the IKE daemon and the C ESP engine (native/).
 * Packets never cross into JavaScript: JS installs SAs, sends/receives IKE on the
 * engine's UDP 4500 socket, and reads events and counters.
 */

/** ESP transforms the engine implements (names as strongSwan writes them). */
export type EspAlgorithm =
  | 'aes128gcm16'
  | 'aes256gcm16'
  | 'aes128-sha1'
  | 'aes256-sha1'
  | 'aes128-sha256'
  | 'aes256-sha256'
  | '3des-sha1'
  | 'chacha20poly1305';

export type CryptoBackend = 'auto' | 'afalg' | 'openssl';

export interface Endpoint {
  address: string; // IPv4 or IPv6 literal
  port: number;    // UDP port (ignored for raw ESP)
}

export interface EngineOptions {
  /** TUN interface the engine creates and owns (e.g. "sl0"). */
  tun: string;
  /** Local address/port of the shared IKE/ESP-in-UDP socket (RFC 3948), default 0.0.0.0:4500. */
  listen?: Endpoint;
  /** Also open a raw IP proto 50 socket for non-encapsulated ESP. */
  rawEsp?: boolean;
  /** Worker threads moving packets (default: one per core). */
  workers?: number;
  /** TUN MTU (default 1400). */
  mtu?: number;
  /** Socket buffer size in bytes for the UDP socket (default 8 MiB). */
  socketBuffer?: number;
}

export interface TrafficSelector {
  /** CIDR, e.g. "198.18.1.0/24"; "0.0.0.0/0" for any. */
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

export interface SaSpec {
  spi: number;              // 32-bit, host order
  direction: 'in' | 'out';
  algorithm: EspAlgorithm;
  /** Cipher key; for AES-GCM and ChaCha20-Poly1305 followed by the 4-byte salt. */
  encKey: Buffer;
  /** Integrity key for the CBC suites; absent for AEADs. */
  authKey?: Buffer;
  local: Endpoint;
  remote: Endpoint;
  encap: 'udp' | 'none';    // RFC 3948 ESP-in-UDP, or raw ESP (IP proto 50)
  esn?: boolean;            // 64-bit extended sequence numbers (default false)
  replayWindow?: number;    // inbound only, packets (default 1024; 0 disables)
  backend?: CryptoBackend;  // default 'auto'
  limits?: SaLimits;
  /** Outbound only: which packets use this SA. The most specific selector wins. */
  selectors?: TrafficSelector[];
  /** Ties an inbound SA to its outbound twin, e.g. for NAT-mapping follow-up. */
  reqid?: number;
}

export interface SaCounters {
  packets: bigint;
  bytes: bigint;
  dropsReplay: bigint;
  dropsIcv: bigint;
  dropsMalformed: bigint;
  dropsPadding: bigint;
}

export interface SaStatus extends SaCounters {
  spi: number;
  direction: 'in' | 'out';
  algorithm: EspAlgorithm;
  backend: 'afalg' | 'openssl';
  /** Kernel driver from /proc/crypto (e.g. "gcm-aes-ce") or "openssl". */
  driver: string;
  /** With crypto-backend = auto: the start-up measurement that chose `backend`
   * (ns per seal, 64 and 1400 bytes; 0 = backend unavailable). */
  probe?: { afalgSmallNs: number; afalgMtuNs: number; opensslSmallNs: number; opensslMtuNs: number };
  /** Highest sequence number sent (out) or seen (in). */
  seq: bigint;
  local: Endpoint;
  remote: Endpoint;
  encap: 'udp' | 'none';
}

export interface GlobalCounters {
  rxPackets: bigint;       // from the network
  txPackets: bigint;       // to the network
  tunRxPackets: bigint;    // read from TUN
  tunTxPackets: bigint;    // written to TUN
  ikeRx: bigint;
  ikeTx: bigint;
  keepalivesRx: bigint;
  keepalivesTx: bigint;
  dropsReplay: bigint;
  dropsIcv: bigint;
  dropsBadSpi: bigint;
  dropsMalformed: bigint;
  dropsNoSa: bigint;       // outbound packet with no matching selector
  dropsPadding: bigint;
  /**
   * SA events / inbound IKE messages the engine had to discard because the
   * JS thread did not drain its notification queue in time (the data plane
   * never waits for JS). Optional here for compatibility with hand-built
   * objects; Dataplane.counters() always fills them.
   */
  eventsDropped?: bigint;
  ikeDropped?: bigint;
  /** Data-path syscalls and batch sizes (bench-dataplane's per-packet cost): TUN
   * reads/writes, recvmmsg/sendmmsg calls (sendmsg fallbacks included), messages they
   * moved, and the largest batch one call moved on any worker. */
  sysTunRead?: bigint;
  sysTunWrite?: bigint;
  sysRecv?: bigint;
  sysSend?: bigint;
  recvMsgs?: bigint;
  sendMsgs?: bigint;
  recvBatchMax?: bigint;
  sendBatchMax?: bigint;
}

export type SaEvent =
  | { type: 'soft'; spi: number; direction: 'in' | 'out'; reason: 'bytes' | 'packets' }
  | { type: 'hard'; spi: number; direction: 'in' | 'out'; reason: 'bytes' | 'packets' }
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
