// The contract of the IKEv1 exchange state machines: what they are told
// (policy, datagrams, clock ticks) and what they ask for (datagrams to send,
// SAs to install or delete, log records). No I/O happens in this folder; the
// daemon (firmware/src/daemon/) carries the actions out.

import type { KeyObject } from 'node:crypto';
import { ANY_REMOTE } from '../../base/address.ts';
import type { Secret } from '../../base/secret.ts';
import type { SignatureAuthMethod } from '../crypto/signature.ts';
import type { CertPolicy } from '../crypto/x509-verify.ts';
import type { EspAlgorithm, SaKeyed } from '../../dataplane/sa-contract.ts';
import type { FailureRecord } from '../../log/failure-record.ts';
import type { LogEvent } from '../../log/negotiation-log.ts';
import type { Identity } from '../wire/index.ts';

export interface Endpoint {
  address: string;
  port: number;
}

/** RFC 3947 §4: IKE moves from 500 to 4500 once NAT-T is in use. */
export const IKE_PORT = 500;
export const NATT_PORT = 4500;

/**
 * remoteAddress of a peer with a dynamic address (`remote = %any`): its MM1 is accepted
 * from any address no other peer has, and we never start a main mode towards it.
 */
export const ROAMING: typeof ANY_REMOTE = ANY_REMOTE;

/** One quick mode security method, in our order of preference. */
export interface EspMethod {
  esp: EspAlgorithm;
  lifetimeSeconds: number;
  lifetimeKilobytes: number;
}

/** One phase 1 proposal in config terms (converted to wire attributes by proposals.ts). */
export interface IkeMethod {
  /** The AEAD ciphers exist only in IKEv2 (RFC 5282); with them `integrity` names the PRF. */
  encryption: 'aes128' | 'aes256' | '3des' | 'des' | 'aes128gcm16' | 'aes256gcm16' | 'chacha20poly1305';
  integrity: 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';
  dhGroup: number;
  /** IKEv2 only: RFC 9370 additional key exchanges (e.g. ML-KEM), by ADDKE slot. */
  addKe?: AdditionalKe[];
}

/** One RFC 9370 ADDKE<slot> transform type (slot 1-7) and its alternatives in order of preference; 0 = NONE (optional). */
export interface AdditionalKe {
  slot: number;
  ids: number[];
}

/** A tunnel between two subnets: one pair of IPsec SAs (RFC 2409 §5.5 client IDs). */
export interface TunnelPolicy {
  name: string;
  /** CIDR on our side, e.g. "198.18.1.0/24". */
  local: string;
  remote: string;
  /** IP protocol and ports of the client IDs (RFC 2407 §4.6.2: one port per ID, 0 =
   * any); absent = the whole subnets. */
  ports?: PortSelector;
  methods: EspMethod[];
  /** The filter action these methods come from (for `explain`: which setting to change). */
  action?: string;
  /** The filter list whose filter this tunnel comes from (for `explain`). */
  filterList?: string;
  /** Quick mode PFS group (RFC 2409 §5.5), or null. */
  pfsGroup: number | null;
  /** IKEv2: RFC 9370 additional key exchanges of each CREATE_CHILD_SA after the PFS group, by ADDKE slot. */
  addKe?: AdditionalKe[];
  /** IKEv2 child SAs: extended sequence numbers (RFC 7296 §3.3.2); absent = "no". */
  esn?: 'no' | 'yes' | 'either';
  /**
   * Default response rule: as responder, also accept a peer's quick mode whose client IDs
   * lie inside this tunnel's subnets (narrower than ours), keyed for exactly those IDs.
   */
  defaultResponse?: boolean;
}

export interface PortSelector {
  protocol: number;
  localPort: number;
  remotePort: number;
}

export interface DpdPolicy {
  delaySeconds: number;
  timeoutSeconds: number;
  action: 'clear' | 'restart' | 'hold';
}

/** Everything the exchanges need to know about one peer. */
export interface PeerPolicy {
  name: string;
  /** IKE version (config `version`): 1 = this folder's node, 2 = ../v2 (RFC 7296). Absent = 1. */
  ikeVersion?: 1 | 2;
  /** The peer's address as we see it (its public/NAT address), or ROAMING. */
  remoteAddress: string;
  /** Our address towards the peer (NAT-D hashes it, RFC 3947 §3.2); the daemon asks the routing table. */
  localAddress: string;
  localId: Identity;
  remoteId: Identity;
  /** Pre-shared key (RFC 2409 §5.4), for the `psk` method. */
  psk: Secret | null;
  /** Signature authentication (RFC 2409 §5.1, RFC 4754) when `auth` is absent. */
  signature?: SignatureAuth;
  /**
   * Authentication methods in order of precedence. Each phase 1 transform names one
   * (RFC 2409 Appendix A), so the initiator offers every proposal once per method and
   * the responder picks by its own precedence. Absent: `signature` if set, else the PSK.
   */
  auth?: PeerAuth[];
  ikeMethods: IkeMethod[];
  ikeLifetimeSeconds: number;
  /** IKEv2: a post-quantum preshared key (RFC 8784) from the secrets file; `required` refuses an IKE SA without it. */
  ppk?: PpkPolicy;
  /** IKEv2: largest IP datagram an IKE message may take before RFC 7383 fragmentation (default 1280). */
  fragmentSize?: number;
  /** Quick modes we start per ISAKMP SA before a fresh main mode (0 or absent = unlimited; 1 = master key PFS). */
  quickModeLimit?: number;
  allowWeak: boolean;
  natTraversal: 'auto' | 'force' | 'off';
  keepaliveSeconds: number;
  dpd: DpdPolicy | null;
  tunnels: TunnelPolicy[];
}

export interface PpkPolicy {
  /** PPK_ID sent in PPK_IDENTITY (RFC 8784 §5.1). */
  id: Buffer;
  key: Secret;
  required: boolean;
}

/** One phase 1 authentication method of a peer. */
export type PeerAuth = { kind: 'psk' } | { kind: 'signature'; signature: SignatureAuth };

export interface SignatureAuth {
  /** Phase 1 auth method: 3 RSA, 9/10/11 ECDSA P-256/384/521 (RFC 4754 §3). */
  method: SignatureAuthMethod;
  privateKey: KeyObject;
  /** Our certificate chain, DER, leaf first (sent in CERT payloads). */
  certificates: Buffer[];
  /** DER subject names of the CAs we trust, sent in CR payloads (RFC 2408 §3.10). */
  caSubjects: Buffer[];
  /** The evaluation time comes from ExchangeEnv.wallClock at each check. */
  trust: Omit<CertPolicy, 'now'>;
}

/**
 * Keys and parameters of one installed IPsec SA (one direction): the SA-install
 * record's negotiated fields (dataplane/sa-contract.ts SaKeyed: SPI, algorithm,
 * keys, outer endpoints, encapsulation, ESN) and what the daemon turns into its
 * limits and selectors (daemon/sa-spec.ts). IKEv1 quick mode and IKEv2 child SAs
 * both produce it.
 */
export interface ChildSaInstall extends SaKeyed {
  peer: string;
  tunnel: string;
  /** Identifies the pair; the same for the inbound and outbound SA. */
  reqid: number;
  localTs: string;
  remoteTs: string;
  /** Protocol and ports the pair was negotiated for (the tunnel's), if any. */
  ports?: PortSelector;
  lifetimeSeconds: number;
  lifetimeKilobytes: number;
}

export type Action =
  /** Send an IKE datagram. localPort 4500 means the engine's NAT-T socket (non-ESP marker added there). */
  | { kind: 'send'; localPort: number; to: Endpoint; data: Buffer }
  | { kind: 'install'; sa: ChildSaInstall }
  | { kind: 'delete'; peer: string; direction: 'in' | 'out'; spi: number }
  /** NAT-T keepalives towards the peer (RFC 3948 §4), 0 = stop. */
  | { kind: 'keepalive'; to: Endpoint; seconds: number }
  /** Peer moved (NAT mapping change): outbound SAs follow. */
  | { kind: 'update-remote'; peer: string; spi: number; remote: Endpoint }
  | { kind: 'log'; event: LogEvent }
  /** A datagram of a negotiation with this peer arrived: it is alive (fallback-to-clear must not apply). */
  | { kind: 'heard'; peer: string }
  /** A main mode to this peer starts with no ISAKMP SA up or in progress (fallback-to-clear may apply). */
  | { kind: 'initiating'; peer: string }
  /** A phase 1 or phase 2 negotiation ended in failure (for `explain`). */
  | { kind: 'failed'; peer: string; phase: 'main' | 'quick'; reason: string; detail: FailureDetail };

/** The failure record without what only the daemon knows (time, message sequence). */
export type FailureDetail = Pick<FailureRecord, 'role' | 'offered' | 'acceptable'> &
  Partial<Omit<FailureRecord, 'peer' | 'time' | 'phase' | 'role' | 'reason' | 'exchange' | 'offered' | 'acceptable'>> & {
    code: FailureRecord['reason'];
  };

/**
 * Clocks and randomness, injected so tests can drive time and replay a run: every
 * random value of an exchange (cookies, SPIs, nonces, message IDs, IVs, DH private
 * keys) comes from `random`, and certificate checks read `wallClock`. Only the ECDSA
 * signature nonce is OpenSSL's own (ecdsa-digest.ts).
 */
export interface ExchangeEnv {
  /** Milliseconds, monotonic. */
  now(): number;
  random(bytes: number): Buffer;
  /** Calendar time, for certificate validity and CRL freshness. */
  wallClock(): Date;
}

/** Retransmission: RFC 2408 leaves it to the implementation; five retries with doubling back-off. */
export const RETRANSMIT_TRIES = 5;
export const RETRANSMIT_BASE_MS = 2000;
/**
 * Half-open main modes (responder SAs from MM3, which echoed our cookie, until MM5
 * authenticated the peer) are bounded in age and in number per peer, so a flood posing
 * as one peer (spoofing its address, or aimed at the %any peer, whom anyone can pose
 * as) cannot take the slots of the others. A full share evicts its oldest exchange
 * (ike/common/half-open.ts). Before MM3 an exchange is only a record of its MM1
 * (mm1-records.ts), bounded in bytes below.
 */
export const HALF_OPEN_MAX = 256;
/** And in number over all peers, to bound memory (about 4 KB each: 4 MB at most). */
export const HALF_OPEN_TOTAL_MAX = 1024;
/** MM1s answered without an SA, as compact records until their MM3 (mm1-records.ts),
 * bounded by what they keep: the MM1, our MM2 and MM1_RECORD_OVERHEAD_BYTES each. At
 * most 6 MiB in all (the old bound: 4,096 records of up to 1,500 bytes), of which one
 * peer's records take at most half: a flood posing as one peer (its address, or the
 * %any peer) evicts its own oldest records and leaves the others 3 MiB. A strongSwan
 * MM1 makes a record of ~650 bytes: ~4,800 per peer, over 2 s of a 2,000 MM1/s flood,
 * longer than an initiator takes from our MM2 to its MM3. */
export const MM1_RECORDS_BYTES = 6 * 1024 * 1024;
export const MM1_RECORDS_PEER_BYTES = 3 * 1024 * 1024;
/** What a record costs beyond the bytes it keeps: the record and endpoint objects, the
 * table's entries and hex keys, the Buffer headers (an estimate of V8's sizes). */
export const MM1_RECORD_OVERHEAD_BYTES = 320;
export const HALF_OPEN_TIMEOUT_MS = 30_000;
