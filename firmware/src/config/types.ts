/**
 * The validated configuration model the daemon consumes.
 *
 * Produced by load.ts (parse + validate) from sitelink.conf and the secrets file;
 * every object here has passed validation, so consumers need no further checks.
 * Schema and syntax: docs/config.md.
 *
 * The policy model follows Windows IPsec policy, which IPsec administrators know:
 * a policy is a list of rules; a rule = filter list + filter action + tunnel endpoint
 * (a peer, which carries the authentication methods and key exchange settings).
 */
import type { EspAlgorithm, CryptoBackend } from '../dataplane/types.ts';
import type { Secret } from '../base/secret.ts';

/** Where a value came from, so later errors (and `explain`) can point at the file. */
export interface SourceRef {
  file: string;
  line: number;
}

// ---------------------------------------------------------------- filters

/** One side of a filter. "me" = any address of this gateway (counts as a host for weights). */
export type AddressSpec =
  | { kind: 'any' }
  | { kind: 'me' }
  | { kind: 'host'; address: string; family: 4 | 6 }
  | { kind: 'subnet'; address: string; prefix: number; family: 4 | 6 };

/** Inclusive port range. */
export type PortRange = [number, number];

export interface Filter {
  source: AddressSpec;
  destination: AddressSpec;
  /** IP protocol number; 0 = any. */
  protocol: number;
  /** Empty = any port. Only meaningful for TCP (6) and UDP (17). */
  sourcePorts: PortRange[];
  destinationPorts: PortRange[];
  /** Also match the reverse direction (source and destination swapped). */
  mirrored: boolean;
  description: string;
  at: SourceRef;
}

export interface FilterList {
  name: string;
  filters: Filter[];
  at: SourceRef;
}

// ---------------------------------------------------------------- filter actions

/** Diffie-Hellman groups (RFC 2409 §6, RFC 3526, RFC 5903, RFC 8031). 1 is weak. */
export type DhGroup = 1 | 2 | 14 | 15 | 16 | 19 | 20 | 21 | 31;

/** One ESP security method of a negotiate action (a quick mode proposal). */
export interface SecurityMethod {
  esp: EspAlgorithm;
  /** SA lifetime, default 3600 s. */
  lifetimeSeconds: number;
  /** SA lifetime in kilobytes, default 100000 KB. */
  lifetimeKilobytes: number;
}

export interface PermitAction {
  kind: 'permit';
  name: string;
  at: SourceRef;
}

export interface BlockAction {
  kind: 'block';
  name: string;
  at: SourceRef;
}

export interface NegotiateAction {
  kind: 'negotiate';
  name: string;
  /** Quick mode proposals in order of precedence (first = most preferred). */
  securityMethods: SecurityMethod[];
  /** Session key PFS: DH group for quick mode KE payloads, or null for no PFS. */
  pfsGroup: DhGroup | null;
  /** IKEv2 only: RFC 9370 additional key exchanges of each CREATE_CHILD_SA after the PFS group ("pfs = x25519-ke1_mlkem768"). */
  pfsAddKe?: { slot: number; ids: number[] }[];
  /**
   * Allow fallback to clear: if the peer is silent for 3 s, traffic flows unprotected on a
   * soft SA and secure negotiation is retried every 5 min. Never after a reply or an
   * authentication failure.
   */
  fallbackToClear: boolean;
  /** Accept unsecured inbound traffic, but always respond with IPsec. */
  acceptUnsecured: boolean;
  /** Interfaces unsecured inbound traffic is accepted on; empty = any interface (warned about). */
  acceptUnsecuredInterfaces: string[];
  /** Default response rule: answer a peer's quick mode with any of our methods. */
  defaultResponse: boolean;
  at: SourceRef;
}

export type FilterAction = PermitAction | BlockAction | NegotiateAction;

// ---------------------------------------------------------------- peers

/** IKE SA ciphers; the AEAD ones (RFC 5282, RFC 7634) exist only in IKEv2. */
export type IkeEncryption = 'aes128' | 'aes256' | '3des' | 'des' | IkeAeadEncryption;
export type IkeAeadEncryption = 'aes128gcm16' | 'aes256gcm16' | 'chacha20poly1305';
export type IkeIntegrity = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';

/** One main mode (phase 1) proposal. */
export interface MainModeMethod {
  encryption: IkeEncryption;
  /** With an AEAD cipher this names the PRF alone ("aes256gcm16-prfsha384-ecp384"): no integrity transform. */
  integrity: IkeIntegrity;
  dhGroup: DhGroup;
  /** IKEv2 only: RFC 9370 additional key exchanges ("-ke1_mlkem768"), by ADDKE slot, alternatives in order (0 = none). */
  addKe?: { slot: number; ids: number[] }[];
}

export interface KeyExchangeSettings {
  /** Main mode proposals in order of precedence. */
  methods: MainModeMethod[];
  /** Main mode SA lifetime in seconds, default 480 min. */
  lifetimeSeconds: number;
  /** Session key refresh limit: quick modes per main mode SA; 0 = unlimited. */
  quickModeLimit: number;
  /** Master key PFS: a fresh main mode before every quick mode. */
  masterKeyPfs: boolean;
}

/** Authentication methods in order of precedence. */
export type AuthMethod =
  | { kind: 'psk' }
  | { kind: 'rsa-sig' | 'ecdsa-sig'; certificate: string; privateKey: string; ca: string };

export interface DpdSettings {
  /** Send R-U-THERE after this many idle seconds (RFC 3706). */
  delaySeconds: number;
  /** Declare the peer dead after this many seconds without an answer. */
  timeoutSeconds: number;
  /** What to do with the peer's SAs when it is dead. */
  action: 'clear' | 'restart' | 'hold';
}

/** Identity as sent in the IKE ID payload (RFC 2407 §4.6.2.1). */
export type PeerIdentity =
  | { kind: 'ipv4' | 'ipv6'; value: string }
  | { kind: 'fqdn'; value: string }
  | { kind: 'user-fqdn'; value: string }
  /** X.501 distinguished name, strongSwan-style text in DER order (`O=x, CN=y`); IKEv2 with certificates. */
  | { kind: 'dn'; value: string };


/** Revocation checking of the peer's certificate (RFC 5280 §6.3). */
export interface CrlSettings {
  /** 0 = off; 1 = refuse a certificate a validly signed CRL lists; 2 = also refuse without a current CRL. */
  level: 0 | 1 | 2;
  /** CRL files (absolute paths) and distribution point URLs (http://, https://). */
  sources: string[];
}

/** Tunnel endpoint settings + authentication + key exchange: one IKE peer. */
export interface Peer {
  name: string;
  /** Remote gateway address (IPv4/IPv6 literal or DNS name), or ANY_REMOTE. */
  remoteAddress: string;
  /** Local gateway address; null = any (chosen by routing). */
  localAddress: string | null;
  localId: PeerIdentity;
  remoteId: PeerIdentity;
  /** IKE version: 1 (RFC 2409) or 2 (RFC 7296). */
  ikeVersion: 1 | 2;
  /** Main mode only: `mode = aggressive` is refused by the validator (not implemented). */
  exchangeMode: 'main';
  auth: AuthMethod[];
  /** Present when auth includes psk (resolved from the secrets file by remote id). */
  psk: Secret | null;
  /** Certificate revocation checking (signature authentication only). */
  crl: CrlSettings;
  /** IKEv2 post-quantum preshared key (RFC 8784): its PPK_ID, whether it is required, the key from the secrets file's ppk section. */
  ppk: { id: string; required: boolean } | null;
  ppkKey: Secret | null;
  /** IKEv2: largest IP datagram of an IKE message before RFC 7383 fragmentation; null = 1280. */
  fragmentSize: number | null;
  keyExchange: KeyExchangeSettings;
  /** null = DPD disabled. */
  dpd: DpdSettings | null;
  /** NAT traversal (RFC 3947/3948): auto = when NAT-D says so, force = always encapsulate. */
  natTraversal: 'auto' | 'force' | 'off';
  /** NAT-T keepalive interval in seconds (RFC 3948 §4), 0 = off. */
  keepaliveSeconds: number;
  /** Start the tunnel at daemon start, on traffic, or only when the peer does. */
  start: 'start' | 'trap' | 'none';
  /** Explicit allow-weak switch: permits DES, MD5, DH group 1 and aggressive mode. */
  allowWeak: boolean;
  /** IKEv2 child SAs: 64-bit extended sequence numbers (RFC 4303 §2.2.1): no, yes, or either (offer ESN, take NO_ESN). */
  esn: 'no' | 'yes' | 'either';
  at: SourceRef;
}

// ---------------------------------------------------------------- rules

/** A rule: filter list + filter action + tunnel endpoint (peer; required for negotiate). */
export interface Rule {
  name: string;
  filterList: FilterList;
  action: FilterAction;
  /** Tunnel endpoint; non-null exactly when action.kind === 'negotiate'. */
  peer: Peer | null;
  /** Tunnel mode (the only mode site links use); kept explicit for the status output. */
  mode: 'tunnel';
  at: SourceRef;
}

// ---------------------------------------------------------------- global settings

export interface LogSettings {
  /** Negotiation log file; the previous one is rotated to `<file>.sav` at start. */
  file: string;
  /** Also send to syslog (/dev/log) when it exists. */
  syslog: boolean;
  level: 'error' | 'warning' | 'info' | 'debug';
  /** Size cap of the log file in kilobytes: at the cap it becomes `<file>.sav` and a new
   * one starts, so the log takes at most twice this much space. */
  maxKilobytes: number;
}

/** Traffic kinds exempt from every filter (as in Windows IPsec), so a broad block or
 * negotiate filter does not cut address configuration and link-local protocols. */
export type Exemption = 'broadcast' | 'multicast' | 'dhcp';

export interface GatewaySettings {
  /** Default local identity for peers that set none. */
  id: PeerIdentity | null;
  /** Addresses the IKE sockets bind to (UDP 500 and 4500). */
  listen: string;
  ikePort: number;
  nattPort: number;
  /** Control socket path (its directory is created with mode 0700). */
  controlSocket: string;
  /** Path of the secrets file (must be mode 0600, owned by root or the current user). */
  secretsFile: string;
  /** TUN device the ESP engine creates. */
  tun: string;
  mtu: number;
  cryptoBackend: CryptoBackend;
  /** ESP engine worker threads; 0 = one per core. */
  workers: number;
  /** Announce and use IKEv1 fragmentation (Cisco/strongSwan extension) in main mode. */
  fragmentation: boolean;
  /** IKE retransmission: first wait (seconds, doubled each time) and number of retries. */
  retransmitTimeoutSeconds: number;
  retransmitTries: number;
  /** CRL distribution points: whole-request timeout and refresh interval, seconds. */
  crlTimeoutSeconds: number;
  crlRefreshSeconds: number;
  /** Exempt from all filters (policy/nft.ts); default all three, `none` = empty. */
  exemptions: Exemption[];
  log: LogSettings;
}

export interface SitelinkConfig {
  /** The configuration file this came from. */
  file: string;
  gateway: GatewaySettings;
  /** Keyed by peer name, in file order. */
  peers: Map<string, Peer>;
  filterLists: Map<string, FilterList>;
  filterActions: Map<string, FilterAction>;
  /** Rules in file order (order does not decide matching: weights do, see policy/). */
  rules: Rule[];
}

// ---------------------------------------------------------------- errors

/** One validation error: file, line and dotted field path plus what was expected. */
export interface ConfigError {
  file: string;
  line: number;
  /** Dotted path, e.g. "peers.hq.proposals". */
  field: string;
  message: string;
}

/** Result of loading: either a config or every error found (never just the first). */
export type LoadResult =
  | { ok: true; config: SitelinkConfig; warnings: ConfigError[] }
  | { ok: false; errors: ConfigError[]; warnings: ConfigError[] };

/** Renders an error the way the CLI prints it: `file:line: field: message`. */
export function formatConfigError(e: ConfigError): string {
  const base = e.file.split('/').pop() ?? e.file;
  // Line 0 = about the file as a whole (unreadable, wrong mode).
  return e.line > 0 ? `${base}:${e.line}: ${e.field}: ${e.message}` : `${e.file}: ${e.message}`;
}
